package mocks

import (
	"encoding/json"
	"strings"
)

// mechOAuthBearer is RFC 7628, the standard form of XOAUTH2, offered next
// to it for clients that only speak the standard (go-sasl's client). Its
// server is bearerServer (sasl.go) with the RFC 7628 §3.2.2 challenge.
const mechOAuthBearer = "OAUTHBEARER"

// parseOAuthBearer reads the RFC 7628 §3.1 client response:
// gs2-header kvsep *(key=value kvsep) kvsep, with kvsep %x01, e.g.
// "n,a=user@example.com,\x01host=h\x01port=587\x01auth=Bearer T\x01\x01".
// Channel binding ("p=") is not supported, as RFC 7628 §3.1 allows.
// Without an authzid the mailbox is the token's subject, which the
// verification then checks.
func parseOAuthBearer(resp []byte) (user, token string, err error) {
	header, rest, ok := strings.Cut(string(resp), "\x01")
	if !ok || !strings.HasSuffix(rest, "\x01") {
		return "", "", errBadSASL
	}
	parts := strings.Split(header, ",")
	if len(parts) != 3 || (parts[0] != "n" && parts[0] != "y") || parts[2] != "" {
		return "", "", errBadSASL
	}
	if a := parts[1]; a != "" {
		if !strings.HasPrefix(a, "a=") {
			return "", "", errBadSASL
		}
		user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(a[2:])
	}
	for _, kv := range strings.Split(rest, "\x01") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "auth" {
			scheme, t, ok := strings.Cut(v, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || t == "" {
				return "", "", errBadSASL
			}
			token = t
		}
	}
	if token == "" {
		return "", "", errBadSASL
	}
	if user == "" {
		user = tokenSubject(token)
	}
	return user, token, nil
}

// oauthChallenge is the RFC 7628 §3.2.2 error sent on a refused token.
func (o *Operator) oauthChallenge() []byte {
	v := map[string]string{"status": "invalid_token", "scope": "openid scope_all"}
	if u := o.psc.info.DiscoveryURL; u != "" {
		v["openid-configuration"] = u
	}
	b, _ := json.Marshal(v)
	return b
}
