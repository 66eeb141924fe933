package mocks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// A mock Pro Santé Connect (PSC) token issuer. MSSanté personal and
// organisational mailboxes authenticate with SASL XOAUTH2 carrying a PSC
// access token (Ségur SC.MSS/CONF.07; research mssante.md §2), and clients
// must refresh it (CONF.10/11). The real PSC is a Keycloak realm
// (auth.esante.gouv.fr/auth/realms/esante-wallet); the mock serves the same
// paths on its own HTTP listener (ListenPSC): OIDC discovery, JWKS and a token endpoint
// (RFC 6749) with the password and refresh_token grants. Access tokens are
// short-lived ES256 JWTs; refresh tokens are opaque, single use (each
// refresh returns a new one) and kept in memory only.
const (
	pscRealmPath     = "/auth/realms/esante-wallet"
	pscDiscoveryPath = pscRealmPath + "/.well-known/openid-configuration"
	pscTokenPath     = pscRealmPath + "/protocol/openid-connect/token"
	pscJWKSPath      = pscRealmPath + "/protocol/openid-connect/certs"
	// pscOfflineIssuer is the issuer of tokens minted with PSCToken when
	// the issuer's listener is off.
	pscOfflineIssuer = "urn:msscprobe:mock:psc"
)

// PSCConfig configures the mock Pro Santé Connect issuer. The zero value
// is usable.
type PSCConfig struct {
	// ClientID and ClientSecret authenticate the token endpoint's client
	// (HTTP Basic or form parameters, RFC 6749 §2.3.1). Defaults
	// "msscprobe-mock" and a generated secret.
	ClientID, ClientSecret string
	// Audience is the aud of access tokens, which the mock's SMTP and
	// IMAP require. Default "mssante-mock".
	Audience string
	// TokenTTL is the access token lifetime (default 5 minutes);
	// RefreshTTL the refresh token lifetime (default 30 minutes).
	TokenTTL, RefreshTTL time.Duration
}

func (c PSCConfig) normalize() (PSCConfig, error) {
	if c.ClientID == "" {
		c.ClientID = "msscprobe-mock"
	}
	if c.ClientSecret == "" {
		s, err := generateSecret()
		if err != nil {
			return c, err
		}
		c.ClientSecret = s
	}
	if c.Audience == "" {
		c.Audience = "mssante-mock"
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 5 * time.Minute
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 30 * time.Minute
	}
	if c.TokenTTL < 0 || c.RefreshTTL < 0 {
		return c, fmt.Errorf("Pro Santé Connect token lifetimes must be positive (access %s, refresh %s)", c.TokenTTL, c.RefreshTTL)
	}
	return c, nil
}

// PSCInfo is what a client of the mock issuer needs (Operator.PSC).
type PSCInfo struct {
	// Issuer is the iss of the tokens; DiscoveryURL, TokenURL and JWKSURL
	// are "" when its listener is off.
	Issuer, DiscoveryURL, TokenURL, JWKSURL string
	ClientID, ClientSecret, Audience        string
	TokenTTL, RefreshTTL                    time.Duration
}

// maxRefreshTokens bounds the refresh tokens kept; expired ones are
// dropped first.
const maxRefreshTokens = 10000

type refreshGrant struct {
	subject, clientID string
	expires           time.Time
}

type pscIssuer struct {
	conf   PSCConfig
	info   PSCInfo
	key    *ecdsa.PrivateKey
	kid    string
	signer jose.Signer
	rec    *recorder

	mu      sync.Mutex
	refresh map[string]refreshGrant // SHA-256 of the token -> grant
}

func newPSC(conf PSCConfig, base string, rec *recorder) (*pscIssuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Pro Santé Connect key: %w", err)
	}
	kidSum := sha256.Sum256(elliptic.MarshalCompressed(elliptic.P256(), key.X, key.Y))
	p := &pscIssuer{conf: conf, key: key, kid: base64.RawURLEncoding.EncodeToString(kidSum[:12]), rec: rec,
		refresh: map[string]refreshGrant{}}
	p.info = PSCInfo{Issuer: pscOfflineIssuer, ClientID: conf.ClientID, ClientSecret: conf.ClientSecret,
		Audience: conf.Audience, TokenTTL: conf.TokenTTL, RefreshTTL: conf.RefreshTTL}
	if base != "" {
		p.info.Issuer = base + pscRealmPath
		p.info.DiscoveryURL, p.info.TokenURL, p.info.JWKSURL = base+pscDiscoveryPath, base+pscTokenPath, base+pscJWKSPath
	}
	p.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		return nil, fmt.Errorf("Pro Santé Connect signer: %w", err)
	}
	return p, nil
}

// pscClaims are the Keycloak claims of a PSC access token the mock uses
// besides the registered ones.
type pscClaims struct {
	Type              string `json:"typ"`
	AuthorizedParty   string `json:"azp"`
	Scope             string `json:"scope"`
	PreferredUsername string `json:"preferred_username"`
}

// mint signs an access token for subject (a mailbox address of the mock).
// A negative ttl gives a token that has already expired.
func (p *pscIssuer) mint(subject, clientID string, now time.Time, ttl time.Duration) (string, error) {
	jti, err := generateSecret()
	if err != nil {
		return "", err
	}
	iat := now
	if ttl < 0 {
		iat = now.Add(2 * ttl) // iat before exp
	}
	std := jwt.Claims{Issuer: p.info.Issuer, Subject: subject, Audience: jwt.Audience{p.conf.Audience},
		IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(now.Add(ttl)), ID: jti}
	extra := pscClaims{Type: "Bearer", AuthorizedParty: clientID, Scope: "openid scope_all", PreferredUsername: subject}
	return jwt.Signed(p.signer).Claims(std).Claims(extra).Serialize()
}

// Reasons an access token is refused, recorded in events.
var (
	errTokenMalformed = errors.New("not a signed JWT")
	errTokenSignature = errors.New("signature does not verify with the issuer's key")
	errTokenExpired   = errors.New("expired")
	errTokenNotYet    = errors.New("not yet valid")
	errTokenAudience  = errors.New("wrong audience")
	errTokenIssuer    = errors.New("wrong issuer")
	errTokenType      = errors.New("not an access token")
	errTokenSubject   = errors.New("issued for another mailbox")
)

// maxTokenLen bounds what is parsed: real PSC tokens are about 2 KB.
const maxTokenLen = 16 << 10

// verify checks an access token presented for user: ES256 signature by
// the issuer's key, issuer, audience, expiry (no leeway: an expired token
// is refused), type, and subject = user.
func (p *pscIssuer) verify(user, token string, now time.Time) error {
	if len(token) > maxTokenLen {
		return errTokenMalformed
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return errTokenMalformed
	}
	var std jwt.Claims
	var extra pscClaims
	if err := tok.Claims(&p.key.PublicKey, &std, &extra); err != nil {
		return errTokenSignature
	}
	if std.Expiry == nil {
		return errTokenExpired
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: p.info.Issuer, AnyAudience: jwt.Audience{p.conf.Audience}, Time: now}, 0)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return errTokenExpired
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return errTokenNotYet
	case errors.Is(err, jwt.ErrInvalidAudience):
		return errTokenAudience
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return errTokenIssuer
	case err != nil:
		return fmt.Errorf("invalid claims: %w", err)
	}
	if extra.Type != "Bearer" {
		return errTokenType
	}
	if !strings.EqualFold(std.Subject, strings.TrimSpace(user)) {
		return errTokenSubject
	}
	return nil
}

// tokenSubject reads the subject of a token without verifying it: the
// OAUTHBEARER authzid is optional (RFC 7628 §3.1), the mailbox then comes
// from the token, which verify checks afterwards.
func tokenSubject(token string) string {
	if len(token) > maxTokenLen {
		return ""
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return ""
	}
	var std jwt.Claims
	if tok.UnsafeClaimsWithoutVerification(&std) != nil {
		return ""
	}
	return std.Subject
}

func (p *pscIssuer) newRefresh(g refreshGrant, now time.Time) (string, error) {
	tok, err := generateSecret()
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refresh) >= maxRefreshTokens {
		for k, v := range p.refresh {
			if !now.Before(v.expires) {
				delete(p.refresh, k)
			}
		}
	}
	if len(p.refresh) >= maxRefreshTokens {
		return "", errors.New("too many live refresh tokens")
	}
	p.refresh[hashToken(tok)] = g
	return tok, nil
}

// useRefresh consumes a refresh token: it is valid once.
func (p *pscIssuer) useRefresh(tok, clientID string, now time.Time) (refreshGrant, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := hashToken(tok)
	g, ok := p.refresh[k]
	if !ok {
		return g, errors.New("unknown or already used refresh token")
	}
	delete(p.refresh, k)
	if !now.Before(g.expires) {
		return g, errors.New("refresh token expired")
	}
	if g.clientID != clientID {
		return g, errors.New("refresh token issued to another client")
	}
	return g, nil
}

func hashToken(t string) string {
	s := sha256.Sum256([]byte(t))
	return hex.EncodeToString(s[:])
}

func (p *pscIssuer) register(mux *http.ServeMux, checkPassword func(user, password string) (string, bool)) {
	mux.HandleFunc(pscDiscoveryPath, p.handleDiscovery)
	// Convenience: discovery at the root as well.
	mux.HandleFunc("/.well-known/openid-configuration", p.handleDiscovery)
	mux.HandleFunc(pscJWKSPath, p.handleJWKS)
	mux.HandleFunc(pscTokenPath, func(w http.ResponseWriter, r *http.Request) { p.handleToken(w, r, checkPassword) })
}

// writePSCJSON answers JSON that no cache keeps (RFC 6749 §5.1 for tokens).
func writePSCJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (p *pscIssuer) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	writePSCJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.info.Issuer,
		"token_endpoint":                        p.info.TokenURL,
		"jwks_uri":                              p.info.JWKSURL,
		"grant_types_supported":                 []string{"password", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
		"scopes_supported":                      []string{"openid", "scope_all"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "azp", "scope", "preferred_username"},
	})
}

func (p *pscIssuer) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writePSCJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig"},
	}})
}

// tokenError answers an RFC 6749 §5.2 error.
func (p *pscIssuer) tokenError(w http.ResponseWriter, r *http.Request, status int, code, desc, user string) {
	p.rec.add(Event{Proto: lnPSC, Kind: "token", Remote: r.RemoteAddr, User: user, Code: status, Detail: code + ": " + desc})
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="esante-wallet"`)
	}
	writePSCJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (p *pscIssuer) handleToken(w http.ResponseWriter, r *http.Request, checkPassword func(user, password string) (string, bool)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.tokenError(w, r, http.StatusMethodNotAllowed, "invalid_request", "use POST", "")
		return
	}
	if err := r.ParseForm(); err != nil {
		p.tokenError(w, r, http.StatusBadRequest, "invalid_request", "unreadable form", "")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: form-urlencoded before Basic encoding.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(p.conf.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.conf.ClientSecret)) != 1 {
		p.tokenError(w, r, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret", "")
		return
	}
	now := time.Now()
	var subject, grant string
	switch grant = r.PostForm.Get("grant_type"); grant {
	case "password":
		user := r.PostForm.Get("username")
		addr, ok := checkPassword(user, r.PostForm.Get("password"))
		if !ok {
			p.tokenError(w, r, http.StatusBadRequest, "invalid_grant", "invalid user credentials", strings.ToLower(user))
			return
		}
		subject = addr
	case "refresh_token":
		g, err := p.useRefresh(r.PostForm.Get("refresh_token"), id, now)
		if err != nil {
			p.tokenError(w, r, http.StatusBadRequest, "invalid_grant", err.Error(), "")
			return
		}
		subject = g.subject
	case "":
		p.tokenError(w, r, http.StatusBadRequest, "invalid_request", "grant_type missing", "")
		return
	default:
		p.tokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", "supported: password, refresh_token", "")
		return
	}
	access, err := p.mint(subject, id, now, p.conf.TokenTTL)
	var refresh string
	if err == nil {
		refresh, err = p.newRefresh(refreshGrant{subject: subject, clientID: id, expires: now.Add(p.conf.RefreshTTL)}, now)
	}
	if err != nil {
		p.tokenError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", err.Error(), subject)
		return
	}
	p.rec.add(Event{Proto: lnPSC, Kind: "token", Remote: r.RemoteAddr, User: subject, Code: http.StatusOK, Detail: grant + " grant"})
	writePSCJSON(w, http.StatusOK, map[string]any{
		"access_token":       access,
		"token_type":         "Bearer",
		"expires_in":         int(p.conf.TokenTTL / time.Second),
		"refresh_token":      refresh,
		"refresh_expires_in": int(p.conf.RefreshTTL / time.Second),
		"scope":              "openid scope_all",
	})
}

// PSC returns the mock Pro Santé Connect issuer's URLs and client
// credentials (see docs/mock.md).
func (o *Operator) PSC() PSCInfo { return o.psc.info }

// PSCToken mints an access token for the mailbox address as the token
// endpoint would; a negative ttl gives a token that has already expired
// (to test a client's refresh). The address must be an account.
func (o *Operator) PSCToken(address string, ttl time.Duration) (string, error) {
	a, ok := o.accountByAddr(strings.TrimSpace(address))
	if !ok {
		return "", fmt.Errorf("Pro Santé Connect token: %q is not an account of this mock", address)
	}
	return o.psc.mint(a.Address, o.psc.conf.ClientID, time.Now(), ttl)
}

// checkPassword is the password grant's check: a mailbox and its password.
func (o *Operator) checkPassword(user, password string) (string, bool) {
	return o.checkCredential(mechPlain, user, password)
}

// checkToken accepts a PSC access token for the account addr, and records
// why one was refused (never the token).
func (o *Operator) checkToken(mech, addr, token string) bool {
	err := o.psc.verify(addr, token, time.Now())
	if err != nil {
		o.rec.add(Event{Proto: lnPSC, Kind: "verify", User: addr, Detail: mech + " token refused: " + err.Error()})
	}
	return err == nil
}
