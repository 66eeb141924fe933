package trust

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/internal/testpki"
)

// FuzzClassify feeds arbitrary certificates, whitelist DNs, host names and
// addresses to the offline classification: it must never panic, never
// call a server "public" unless its address is, never find a trust space
// for an unlisted domain, and always give its six rules' decisions but the
// revocation one.
func FuzzClassify(f *testing.F) {
	root := testpki.Root(f, "MOCK RACINE")
	org := root.Sub(f, "MOCK ORGANISATIONS")
	leaf, _ := org.ServSSL(f, "smtp.test", nil)
	f.Add(leaf.Raw, "CN=smtp.test,OU=318751275100020,O=OPERATEUR DE TEST,ST=Paris (75),C=FR", "smtp.test", "127.0.0.1:587", testDomain)
	f.Add(org.Cert.Raw, `CN=a\,b+OU=x\2C,O=\"q\"`, "1.2.3.4", "[::1]:143", "autre.fr")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, "=", "", "garbage", "")
	anchors := NewAnchors([]*x509.Certificate{root.Cert, org.Cert}, nil, nil)
	f.Fuzz(func(t *testing.T, der []byte, dn, host, addr, domain string) {
		attrs, err := ParseDN(dn)
		if err == nil && len(attrs) == 0 {
			t.Fatalf("ParseDN(%q) gave no attribute and no error", dn)
		}
		var wl *Whitelist
		if err == nil && !strings.ContainsAny(dn, "\t\r\n") && domain != "" && !strings.ContainsAny(domain, "\t\r\n") {
			wl = &Whitelist{Generated: time.Unix(0, 0)}
			wl.add(Entry{Domain: domain, OperatorDN: dn})
		} else {
			wl = &Whitelist{Generated: time.Unix(0, 0)}
			wl.add(Entry{Domain: "listed.example", OperatorDN: "CN=x"})
		}
		var certs []*x509.Certificate
		if c, err := x509.ParseCertificate(der); err == nil {
			certs = append(certs, c)
			if s, ok := StructureIDOf(c); ok && (s.Raw == "" || s.Kind == IDFINESS && len(s.ID) != 9) {
				t.Fatalf("structure %+v", s)
			}
		}
		p := &Policy{Anchors: anchors, Whitelist: wl}
		c := Classify(p, Server{Proto: "SMTP", Name: host, Addr: addr, MailDomain: domain, Now: time.Now(),
			State: tls.ConnectionState{Version: tls.VersionTLS12, PeerCertificates: certs}})
		if c.Address == AddrPublic && !strings.Contains(addr, ".") && !strings.Contains(addr, ":") {
			t.Fatalf("address %q classified public", addr)
		}
		if c.TrustSpace && len(wl.Lookup(domain)) == 0 {
			t.Fatalf("trust space for unlisted domain %q", domain)
		}
		if c.Revocation != RevUnknown {
			t.Fatalf("offline revocation %s", c.Revocation)
		}
		want := 2
		if len(certs) > 0 {
			want = 5
		}
		if len(c.Decisions) != want {
			t.Fatalf("%d decisions, want %d: %+v", len(c.Decisions), want, c.Decisions)
		}
		for i := 1; i < len(c.Decisions); i++ {
			if c.Decisions[i-1].Rule > c.Decisions[i].Rule {
				t.Fatalf("decisions out of order: %+v", c.Decisions)
			}
		}
	})
}

// FuzzParseWhitelist: any input is a whitelist or an error naming the
// file, never a panic; a parsed list has a date and entries.
func FuzzParseWhitelist(f *testing.F) {
	f.Add(`<ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema"><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines><Domaine><Nom>a.mssante.fr</Nom><DNCertificatOperateur>CN=x,C=FR</DNCertificatOperateur></Domaine></ListeDomaines>`)
	f.Add(`<ListeBlancheMSSante xmlns="x"/>`)
	f.Fuzz(func(t *testing.T, in string) {
		w, err := ParseWhitelist(strings.NewReader(in), "f.xml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.xml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if w.Generated.IsZero() || w.Len() == 0 {
			t.Fatalf("parsed list without date or entries: %+v", w)
		}
	})
}
