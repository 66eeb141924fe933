package mocks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
	Error            string `json:"error"`
}

// tokenRequest posts a form to the token endpoint; basic selects HTTP
// Basic client authentication, otherwise the client credentials go in the
// form.
func tokenRequest(t *testing.T, op *Operator, form url.Values, secret string, basic bool) (int, tokenResponse, http.Header) {
	t.Helper()
	p := op.PSC()
	if !basic {
		form.Set("client_id", p.ClientID)
		form.Set("client_secret", secret)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("token response: %v", err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control %q (RFC 6749 §5.1: no-store)", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, tr, resp.Header
}

func passwordGrant(t *testing.T, op *Operator, user string) tokenResponse {
	t.Helper()
	code, tr, _ := tokenRequest(t, op, url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}, op.PSC().ClientSecret, true)
	if code != http.StatusOK || tr.AccessToken == "" || tr.RefreshToken == "" {
		t.Fatalf("password grant: %d %+v", code, tr)
	}
	return tr
}

func refreshGrantReq(t *testing.T, op *Operator, refresh string) (int, tokenResponse) {
	t.Helper()
	code, tr, _ := tokenRequest(t, op, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, op.PSC().ClientSecret, false)
	return code, tr
}

// TestPSCDiscoveryAndJWKS: the discovery document names the endpoints; a
// token verifies with the published key and carries the PSC claims.
func TestPSCDiscoveryAndJWKS(t *testing.T) {
	op := startOp(t, testConfig())
	p := op.PSC()
	if !strings.HasPrefix(p.Issuer, "http://"+op.PSCAddr()+"/auth/realms/esante-wallet") || p.ClientSecret == "" {
		t.Fatalf("PSC info %+v", p)
	}
	for _, u := range []string{p.DiscoveryURL, "http://" + op.PSCAddr() + "/.well-known/openid-configuration"} {
		code, body := httpGet(t, u)
		var d map[string]any
		if code != http.StatusOK || json.Unmarshal(body, &d) != nil {
			t.Fatalf("discovery %s: %d %s", u, code, body)
		}
		if d["issuer"] != p.Issuer || d["token_endpoint"] != p.TokenURL || d["jwks_uri"] != p.JWKSURL {
			t.Errorf("discovery %v", d)
		}
	}
	code, body := httpGet(t, p.JWKSURL)
	var set jose.JSONWebKeySet
	if code != http.StatusOK || json.Unmarshal(body, &set) != nil || len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS: %d %s", code, body)
	}
	tok := passwordGrant(t, op, doctor)
	parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Headers[0].KeyID != set.Keys[0].KeyID {
		t.Errorf("kid %q, JWKS %q", parsed.Headers[0].KeyID, set.Keys[0].KeyID)
	}
	var std jwt.Claims
	var extra pscClaims
	if err := parsed.Claims(set.Keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}
	if std.Issuer != p.Issuer || std.Subject != doctor || !std.Audience.Contains(p.Audience) || extra.AuthorizedParty != p.ClientID || extra.Type != "Bearer" {
		t.Errorf("claims %+v %+v", std, extra)
	}
	if life := std.Expiry.Time().Sub(std.IssuedAt.Time()); life != p.TokenTTL || tok.ExpiresIn != int(p.TokenTTL/time.Second) {
		t.Errorf("lifetime %s, expires_in %d, want %s", life, tok.ExpiresIn, p.TokenTTL)
	}
}

// TestPSCTokenEndpoint: RFC 6749 errors, and refresh tokens that work once.
func TestPSCTokenEndpoint(t *testing.T) {
	op := startOp(t, testConfig())
	secret := op.PSC().ClientSecret
	for _, tc := range []struct {
		name   string
		form   url.Values
		secret string
		basic  bool
		code   int
		err    string
	}{
		{"password, Basic", url.Values{"grant_type": {"password"}, "username": {doctor}, "password": {pw}}, secret, true, 200, ""},
		{"password, form", url.Values{"grant_type": {"password"}, "username": {nurse}, "password": {pw}}, secret, false, 200, ""},
		{"wrong client secret", url.Values{"grant_type": {"password"}, "username": {doctor}, "password": {pw}}, "nope", true, 401, "invalid_client"},
		{"wrong password", url.Values{"grant_type": {"password"}, "username": {doctor}, "password": {"nope"}}, secret, false, 400, "invalid_grant"},
		{"unknown user", url.Values{"grant_type": {"password"}, "username": {"who@hopital.test.mssante.fr"}, "password": {pw}}, secret, false, 400, "invalid_grant"},
		{"client_credentials", url.Values{"grant_type": {"client_credentials"}}, secret, true, 400, "unsupported_grant_type"},
		{"no grant_type", url.Values{}, secret, true, 400, "invalid_request"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, secret, true, 400, "invalid_grant"},
	} {
		code, tr, h := tokenRequest(t, op, tc.form, tc.secret, tc.basic)
		if code != tc.code || tr.Error != tc.err {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, tr.Error, tc.code, tc.err)
		}
		if code == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	if code, _ := httpGet(t, op.PSC().TokenURL); code != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %d", code)
	}
	first := passwordGrant(t, op, doctor)
	code, second := refreshGrantReq(t, op, first.RefreshToken)
	if code != 200 || second.AccessToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh: %d %+v", code, second)
	}
	if code, tr := refreshGrantReq(t, op, first.RefreshToken); code != 400 || tr.Error != "invalid_grant" {
		t.Errorf("refresh token used twice: %d %+v", code, tr)
	}
	if code, _ := refreshGrantReq(t, op, second.RefreshToken); code != 200 {
		t.Errorf("rotated refresh token: %d", code)
	}
	for _, e := range op.Events() {
		for _, s := range []string{pw, secret, first.AccessToken, first.RefreshToken, second.RefreshToken} {
			if strings.Contains(e.Detail+e.User, s) {
				t.Errorf("event leaks a secret: %+v", e)
			}
		}
	}
}

// recordingClient is XOAUTH2 or OAUTHBEARER that keeps the server's
// error challenge and answers it as the mechanisms require.
type recordingClient struct {
	mech, user, token string
	challenge         []byte
}

func (c *recordingClient) Start() (string, []byte, error) {
	if c.mech == mechOAuthBearer {
		return c.mech, []byte("n,a=" + c.user + ",\x01auth=Bearer " + c.token + "\x01\x01"), nil
	}
	return c.mech, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *recordingClient) Next(ch []byte) ([]byte, error) {
	c.challenge = ch
	if c.mech == mechOAuthBearer {
		return []byte("\x01"), nil // RFC 7628 §3.2.3
	}
	return []byte{}, nil
}

// craft signs claims with the mock issuer's key (or another key).
func craft(t *testing.T, signer jose.Signer, std jwt.Claims, typ string) string {
	t.Helper()
	s, err := jwt.Signed(signer).Claims(std).Claims(pscClaims{Type: typ}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPSCTokenAuth: SMTP and IMAP accept the issuer's access tokens with
// XOAUTH2 and OAUTHBEARER, and refuse expired, forged, foreign-audience,
// foreign-issuer, non-access and other-mailbox tokens with the JSON 401
// challenge, recording why.
func TestPSCTokenAuth(t *testing.T) {
	op := startOp(t, testConfig())
	p := op.PSC()
	good := passwordGrant(t, op, doctor).AccessToken
	expired, err := op.PSCToken(doctor, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newPSC(PSCConfig{Audience: p.Audience, TokenTTL: time.Minute}, "", op.rec)
	if err != nil {
		t.Fatal(err)
	}
	other.info.Issuer = p.Issuer // same claims, another key
	forged, err := other.mint(doctor, p.ClientID, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(iss, aud string) jwt.Claims {
		return jwt.Claims{Issuer: iss, Subject: doctor, Audience: jwt.Audience{aud}, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}
	}
	for _, tc := range []struct {
		name, user, token, reason string
	}{
		{"valid", doctor, good, ""},
		{"static token still accepted", doctor, "psc-token-1", ""},
		{"expired", doctor, expired, errTokenExpired.Error()},
		{"signed by another key", doctor, forged, errTokenSignature.Error()},
		{"other audience", doctor, craft(t, op.psc.signer, claims(p.Issuer, "another-operator"), "Bearer"), errTokenAudience.Error()},
		{"other issuer", doctor, craft(t, op.psc.signer, claims("https://auth.esante.gouv.fr/auth/realms/esante-wallet", p.Audience), "Bearer"), errTokenIssuer.Error()},
		{"not an access token", doctor, craft(t, op.psc.signer, claims(p.Issuer, p.Audience), "Refresh"), errTokenType.Error()},
		{"token of another mailbox", nurse, good, errTokenSubject.Error()},
		{"not a JWT", doctor, "stale", errTokenMalformed.Error()},
	} {
		for _, mech := range []string{mechXOAuth2, mechOAuthBearer} {
			t.Run(tc.name+" "+mech, func(t *testing.T) {
				c, err := dialSMTP(t, op, clientTLS(op), false)
				if err != nil {
					t.Fatal(err)
				}
				rc := &recordingClient{mech: mech, user: tc.user, token: tc.token}
				err = c.Auth(rc)
				if tc.reason == "" {
					if err != nil {
						t.Fatalf("SMTP AUTH %s: %v", mech, err)
					}
					return
				}
				if smtpCode(err) != 535 {
					t.Fatalf("SMTP AUTH %s: %v, want 535", mech, err)
				}
				var ch map[string]string
				if err := json.Unmarshal(rc.challenge, &ch); err != nil {
					t.Fatalf("challenge %q: %v", rc.challenge, err)
				}
				switch mech {
				case mechXOAuth2:
					if string(rc.challenge) != xoauth2Error {
						t.Errorf("XOAUTH2 challenge %s", rc.challenge)
					}
				case mechOAuthBearer:
					if ch["status"] != "invalid_token" || ch["openid-configuration"] != p.DiscoveryURL {
						t.Errorf("OAUTHBEARER challenge %s", rc.challenge)
					}
				}
				found := false
				for _, e := range op.Events() {
					if e.Proto == "psc" && e.Kind == "verify" && e.User == tc.user && strings.HasSuffix(e.Detail, ": "+tc.reason) {
						found = true
					}
					if strings.Contains(e.Detail, tc.token) {
						t.Errorf("event leaks the token: %+v", e)
					}
				}
				if !found && tc.token != "stale" {
					t.Errorf("no event says %q", tc.reason)
				}
			})
		}
	}
	// IMAP AUTHENTICATE with both mechanisms.
	for _, cl := range []sasl.Client{&recordingClient{mech: mechXOAuth2, user: doctor, token: good},
		sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: doctor, Token: good})} {
		c := dialIMAP(t, op, nil)
		if err := c.Authenticate(cl); err != nil {
			t.Errorf("IMAP AUTHENTICATE: %v", err)
		}
		c.Close()
	}
	c := dialIMAP(t, op, nil)
	defer c.Close()
	if err := c.Authenticate(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: doctor, Token: expired})); err == nil {
		t.Error("IMAP accepted an expired token")
	}
}

// TestPSCExpiryThenRefresh: a token that was accepted is refused once it
// has expired, with the 401 challenge; the refresh grant gives one that is
// accepted again (Ségur SC.MSS/CONF.10/11).
func TestPSCExpiryThenRefresh(t *testing.T) {
	cfg := testConfig()
	cfg.PSC.TokenTTL = time.Second
	op := startOp(t, cfg)
	tok := passwordGrant(t, op, doctor)
	login := func(token string) (error, []byte) {
		c, err := dialSMTP(t, op, clientTLS(op), false)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rc := &recordingClient{mech: mechXOAuth2, user: doctor, token: token}
		return c.Auth(rc), rc.challenge
	}
	if err, _ := login(tok.AccessToken); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	// exp has a one-second resolution: wait until it has surely passed.
	time.Sleep(2100 * time.Millisecond)
	err, ch := login(tok.AccessToken)
	if smtpCode(err) != 535 || string(ch) != xoauth2Error {
		t.Fatalf("expired token: %v, challenge %q", err, ch)
	}
	code, next := refreshGrantReq(t, op, tok.RefreshToken)
	if code != 200 {
		t.Fatalf("refresh: %d %+v", code, next)
	}
	if err, _ := login(next.AccessToken); err != nil {
		t.Fatalf("refreshed token: %v", err)
	}
}

// TestPSCCurl: curl gets a token (client secret and password from files,
// never argv) and submits a message with it (curl picks OAUTHBEARER).
func TestPSCCurl(t *testing.T) {
	curl := lookTool(t, "curl")
	op := startOp(t, testConfig())
	p := op.PSC()
	u, _ := url.Parse(p.TokenURL)
	netrc := writeFile(t, "netrc", []byte("machine "+u.Hostname()+" login "+p.ClientID+" password "+p.ClientSecret+"\n"))
	form := writeFile(t, "form", []byte(url.Values{"grant_type": {"password"}, "username": {doctor}, "password": {pw}}.Encode()))
	out := runTool(t, curl, "--silent", "--show-error", "--fail", "--max-time", "10", "--netrc-file", netrc, "--data", "@"+form, p.TokenURL)
	var tr tokenResponse
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("curl token: %v\n%s", err, out)
	}
	conf := writeFile(t, "curlrc", []byte("oauth2-bearer = \""+tr.AccessToken+"\"\nuser = \""+doctor+"\"\n"))
	eml := writeFile(t, "m.eml", []byte(msg(doctor, autoRep, "<curl-psc@hopital.test.mssante.fr>", "curl PSC", "")))
	ca := writeFile(t, "ca.pem", op.CACertPEM())
	runTool(t, curl, "--silent", "--show-error", "--max-time", "20", "--ssl-reqd", "--cacert", ca, "-K", conf,
		"--mail-from", doctor, "--mail-rcpt", autoRep, "--upload-file", eml, "smtp://"+op.SMTPAddr())
	if r := withHeader(inbox(t, op, doctor), "In-Reply-To: <curl-psc@hopital.test.mssante.fr>"); len(r) != 1 {
		t.Fatalf("reply to the curl message: %d", len(r))
	}
	var mech string
	for _, e := range op.Events() {
		if e.Kind == "auth" && e.Code == 235 {
			mech = e.Detail
		}
	}
	if mech != mechOAuthBearer && mech != mechXOAuth2 {
		t.Errorf("curl logged in with %q", mech)
	}
}

// TestParseOAuthBearer: the RFC 7628 §3.1 client response.
func TestParseOAuthBearer(t *testing.T) {
	for _, tc := range []struct {
		in, user, token string
		ok              bool
	}{
		{"n,a=dr@h.fr,\x01host=h\x01port=587\x01auth=Bearer T1\x01\x01", "dr@h.fr", "T1", true},
		{"y,a=a=2Cb=3Dc@h.fr,\x01auth=bearer T2\x01\x01", "a,b=c@h.fr", "T2", true},
		{"n,,\x01auth=Bearer T3\x01\x01", "", "T3", true}, // no authzid, T3 is not a JWT: no subject
		{"p=tls-unique,a=dr@h.fr,\x01auth=Bearer T\x01\x01", "", "", false},
		{"n,a=dr@h.fr,\x01host=h\x01\x01", "", "", false},
		{"n,a=dr@h.fr,\x01auth=Basic T\x01\x01", "", "", false},
		{"n,a=dr@h.fr,\x01auth=Bearer T", "", "", false},
		{"n,u=dr@h.fr,\x01auth=Bearer T\x01\x01", "", "", false},
		{"", "", "", false},
	} {
		user, token, err := parseOAuthBearer([]byte(tc.in))
		if (err == nil) != tc.ok || user != tc.user || token != tc.token {
			t.Errorf("%q: %q %q %v", tc.in, user, token, err)
		}
	}
}

// FuzzParseOAuthBearer: any client response is parsed without panic, and
// a token found is never empty.
func FuzzParseOAuthBearer(f *testing.F) {
	f.Add([]byte("n,a=dr@h.fr,\x01auth=Bearer T\x01\x01"))
	f.Add([]byte("n,,\x01auth=Bearer eyJ.eyJ.x\x01\x01"))
	f.Add([]byte("y,a==2C,\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, token, err := parseOAuthBearer(b); err == nil && token == "" {
			t.Errorf("%q: no error and no token", b)
		}
	})
}
