package mocks

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"
)

// SASL mechanisms offered after TLS. go-sasl has no LOGIN or XOAUTH2
// server (go-smtp #194, research tools.md B3), so both are written here.
const (
	mechPlain    = "PLAIN"
	mechLogin    = "LOGIN"
	mechXOAuth2  = "XOAUTH2"
	mechExternal = "EXTERNAL"
)

var errBadSASL = errors.New("malformed SASL response")

// loginServer implements the LOGIN mechanism as Exchange and Postfix do:
// "Username:" then "Password:" challenges (an initial response is the
// user name, as sent by sasl.NewLoginClient).
type loginServer struct {
	step int
	user string
	auth func(user, password string) error
}

func (s *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte("Username:"), false, nil
		}
		s.user, s.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		s.user, s.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		s.step = 3
		return nil, true, s.auth(s.user, string(resp))
	}
	return nil, false, errBadSASL
}

// bearerServer implements the bearer-token mechanisms: Google's XOAUTH2,
// the mechanism of the MSSanté client spec with a Pro Santé Connect token
// (research mssante.md §2, CONF.07), and OAUTHBEARER (RFC 7628). On
// failure it sends the mechanism's JSON error challenge, waits for the
// client's response (empty for XOAUTH2, %x01 for OAUTHBEARER), then fails.
type bearerServer struct {
	step      int
	failed    error
	parse     func(resp []byte) (user, token string, err error)
	challenge []byte
	auth      func(user, token string) error
}

// xoauth2Error is the XOAUTH2 challenge sent on a bad token (base64-encoded
// by the protocol layer), as observed on the ANS formation environment.
const xoauth2Error = `{"status":"401","schemes":"bearer","scope":"mail"}`

func (s *bearerServer) Next(resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte{}, false, nil
		}
		fallthrough
	case 1:
		s.step = 2
		user, token, err := s.parse(resp)
		if err == nil {
			err = s.auth(user, token)
			if err == nil {
				return nil, true, nil
			}
		}
		s.failed = err
		return s.challenge, false, nil
	case 2:
		s.step = 3
		return nil, true, s.failed
	}
	return nil, false, errBadSASL
}

// parseXOAuth2 reads "user=U^Aauth=Bearer T^A^A".
func parseXOAuth2(resp []byte) (user, token string, err error) {
	for _, field := range strings.Split(string(resp), "\x01") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		switch k {
		case "user":
			user = v
		case "auth":
			scheme, t, ok := strings.Cut(v, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return "", "", errBadSASL
			}
			token = t
		}
	}
	if user == "" || token == "" {
		return "", "", errBadSASL
	}
	return user, token, nil
}

// externalServer implements EXTERNAL (RFC 4422 appendix A): the identity
// is the verified TLS client certificate; the optional authzid must name
// the same mailbox.
type externalServer struct {
	step int
	auth func(authzid string) error
}

func (s *externalServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case s.step == 0 && resp == nil:
		s.step = 1
		return []byte{}, false, nil
	case s.step < 2:
		s.step = 2
		return nil, true, s.auth(string(resp))
	}
	return nil, false, errBadSASL
}

// strictSASL passes a mechanism's errors through bad, which keeps the
// protocol's own answers (from check) and turns the others, a malformed
// client response, into a syntax error: go-smtp would answer those with
// 454, a temporary failure clients retry forever.
type strictSASL struct {
	sasl.Server
	bad func(error) error
}

func (s strictSASL) Next(resp []byte) ([]byte, bool, error) {
	challenge, done, err := s.Server.Next(resp)
	if err != nil {
		err = s.bad(err)
	}
	return challenge, done, err
}

// saslFor returns the server side of mech, nil when mech is not one of
// offered (a mechanism that was not advertised is refused, RFC 4954 §4).
// check verifies a (user, secret) pair of the given kind and returns the
// protocol's own error; bad maps the other errors, see strictSASL.
func (o *Operator) saslFor(mech string, offered []string, check func(kind, user, secret string) error, bad func(error) error) sasl.Server {
	if !slices.Contains(offered, mech) {
		return nil
	}
	var srv sasl.Server
	switch mech {
	case mechPlain:
		srv = sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && !strings.EqualFold(identity, user) {
				return check(mechPlain, identity, "\x00mismatch")
			}
			return check(mechPlain, user, pass)
		})
	case mechLogin:
		srv = &loginServer{auth: func(u, p string) error { return check(mechLogin, u, p) }}
	case mechXOAuth2:
		srv = &bearerServer{parse: parseXOAuth2, challenge: []byte(xoauth2Error), auth: func(u, t string) error { return check(mechXOAuth2, u, t) }}
	case mechOAuthBearer:
		// Its challenge names this operator's issuer.
		srv = &bearerServer{parse: parseOAuthBearer, challenge: o.oauthChallenge(), auth: func(u, t string) error { return check(mechOAuthBearer, u, t) }}
	case mechExternal:
		srv = &externalServer{auth: func(z string) error { return check(mechExternal, z, "") }}
	default:
		return nil
	}
	return strictSASL{srv, bad}
}
