package trust

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Attr is one attribute of a distinguished name.
type Attr struct{ Type, Value string }

// dnTypes names the attribute types found in operator DNs (RFC 4514 §3,
// plus the e-mail address some certificates carry).
var dnTypes = map[string]string{
	"2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.8": "ST", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.5": "SERIALNUMBER", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID", "1.2.840.113549.1.9.1": "EMAILADDRESS", "2.5.4.97": "ORGANIZATIONIDENTIFIER",
}

var dnAliases = map[string]string{"S": "ST", "E": "EMAILADDRESS", "EMAIL": "EMAILADDRESS"}

// ParseDN parses an RFC 4514 string such as the whitelist's
// "CN=smtps1.ens.atos-infogerance.fr,OU=318003502400041,O=CNAM,ST=Paris (75),C=FR".
// Escapes (\, \+ \\ and \XX) are decoded; multi-valued RDNs (+) are split.
func ParseDN(s string) ([]Attr, error) {
	var out []Attr
	var cur strings.Builder
	var typ string
	inValue := false
	flush := func() error {
		v := strings.TrimSpace(cur.String())
		if !inValue || typ == "" {
			return fmt.Errorf("%q: want TYPE=value pairs separated by commas", s)
		}
		out = append(out, Attr{Type: typ, Value: v})
		cur.Reset()
		typ, inValue = "", false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%q: dangling backslash", s)
			}
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b, _ := hex.DecodeString(s[i+1 : i+3])
				cur.Write(b)
				i += 2
			} else {
				cur.WriteByte(s[i+1])
				i++
			}
		case c == '=' && !inValue:
			t := strings.ToUpper(strings.TrimSpace(cur.String()))
			if a, ok := dnAliases[t]; ok {
				t = a
			}
			if t == "" || strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" {
				return nil, fmt.Errorf("%q: attribute type %q is not a name or an OID", s, t)
			}
			typ, inValue = t, true
			cur.Reset()
		case (c == ',' || c == '+' || c == ';') && inValue:
			if err := flush(); err != nil {
				return nil, err
			}
		default:
			cur.WriteByte(c)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// SubjectAttrs lists the attributes of a certificate's subject in the same
// vocabulary as ParseDN; unknown types are written as their OID.
func SubjectAttrs(c *x509.Certificate) []Attr {
	var out []Attr
	for _, n := range c.Subject.Names {
		t, ok := dnTypes[n.Type.String()]
		if !ok {
			t = n.Type.String()
		}
		out = append(out, Attr{Type: t, Value: strings.TrimSpace(fmt.Sprint(n.Value))})
	}
	return out
}

// SameDN reports whether two DNs have the same attributes, whatever their
// order (the whitelist writes the RDNs in reverse), values compared without
// regard to case.
func SameDN(a, b []Attr) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	key := func(x Attr) string { return x.Type + "=" + strings.ToLower(x.Value) }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i], kb[i] = key(a[i]), key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
