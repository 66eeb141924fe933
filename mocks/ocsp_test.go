package mocks

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspQuery asks the mock's responder about cert (issued by issuer) with
// POST or GET and parses the answer, checking its signature by issuer.
func ocspQuery(t *testing.T, op *Operator, cert, issuer *x509.Certificate, get bool) *ocsp.Response {
	t.Helper()
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	var code int
	var body []byte
	if get {
		code, body = httpGet(t, op.PKI().OCSPURL+"/"+url.PathEscape(base64.StdEncoding.EncodeToString(req)))
	} else {
		code, body = httpDo(t, http.MethodPost, op.PKI().OCSPURL, "application/ocsp-request", req)
	}
	if code != http.StatusOK {
		t.Fatalf("OCSP HTTP %d: %s", code, body)
	}
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		t.Fatalf("OCSP response: %v", err)
	}
	return resp
}

// TestOCSPResponder: good for an issued certificate, revoked once Revoke
// ran (with its time), unknown for a serial number never issued; the
// intermediate is answered for by the root; a foreign issuer gets
// "unauthorized"; GET and POST (RFC 6960 appendix A) give the same.
func TestOCSPResponder(t *testing.T) {
	op := startOp(t, testConfig())
	info := op.PKI()
	signer, err := op.IssueCert(CertRequest{Profile: ProfileOrgSign, CommonName: "signer"})
	if err != nil {
		t.Fatal(err)
	}
	revokedAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := op.Revoke(signer.Leaf, revokedAt); err != nil {
		t.Fatal(err)
	}
	never := *info.Server
	never.SerialNumber = big.NewInt(42)
	for _, get := range []bool{false, true} {
		for _, tc := range []struct {
			name          string
			cert, issuer  *x509.Certificate
			want          int
			wantRevokedAt time.Time
		}{
			{"server", info.Server, info.Organisations, ocsp.Good, time.Time{}},
			{"org auth", info.OrgAuth.Leaf, info.Organisations, ocsp.Good, time.Time{}},
			{"revoked signer", signer.Leaf, info.Organisations, ocsp.Revoked, revokedAt},
			{"never issued", &never, info.Organisations, ocsp.Unknown, time.Time{}},
			{"intermediate", info.Organisations, info.Root, ocsp.Good, time.Time{}},
		} {
			r := ocspQuery(t, op, tc.cert, tc.issuer, get)
			if r.Status != tc.want || !r.RevokedAt.Equal(tc.wantRevokedAt) || r.SerialNumber.Cmp(tc.cert.SerialNumber) != 0 {
				t.Errorf("GET=%v %s: status %d revoked at %s, want %d %s", get, tc.name, r.Status, r.RevokedAt, tc.want, tc.wantRevokedAt)
			}
			if !r.NextUpdate.After(time.Now()) || r.ThisUpdate.After(time.Now()) {
				t.Errorf("%s: thisUpdate %s nextUpdate %s", tc.name, r.ThisUpdate, r.NextUpdate)
			}
		}
	}
	// SHA-256 issuer hashes (x/crypto and openssl default to SHA-1).
	req256, err := ocsp.CreateRequest(info.Server, info.Organisations, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	_, body256 := httpDo(t, http.MethodPost, info.OCSPURL, "application/ocsp-request", req256)
	if r, err := ocsp.ParseResponseForCert(body256, info.Server, info.Organisations); err != nil || r.Status != ocsp.Good {
		t.Errorf("SHA-256 request: %v", err)
	}
	// A certificate of another CA: the responder is not authoritative.
	self := mustSelfSigned(t, op)
	req, _ := ocsp.CreateRequest(self, self, nil)
	if _, body := httpDo(t, http.MethodPost, info.OCSPURL, "application/ocsp-request", req); !bytes.Equal(body, ocsp.UnauthorizedErrorResponse) {
		t.Errorf("foreign issuer: %x", body)
	}
	if _, body := httpDo(t, http.MethodPost, info.OCSPURL, "application/ocsp-request", []byte("not DER")); !bytes.Equal(body, ocsp.MalformedRequestErrorResponse) {
		t.Errorf("garbage: %x", body)
	}
	// GET with the base64 not URL-encoded, and with "//" in it (which a
	// ServeMux would redirect): still answered.
	req, _ = ocsp.CreateRequest(info.Server, info.Organisations, nil)
	for _, path := range []string{base64.StdEncoding.EncodeToString(req), "/" + base64.StdEncoding.EncodeToString(req)} {
		code, body := httpGet(t, info.OCSPURL+"/"+path)
		if r, err := ocsp.ParseResponseForCert(body, info.Server, info.Organisations); code != 200 || err != nil || r.Status != ocsp.Good {
			t.Errorf("GET unescaped %q: %d %v", path, code, err)
		}
	}
	if code, _ := httpDo(t, http.MethodPut, info.OCSPURL, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", code)
	}
}

func fetchCRL(t *testing.T, u string, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	code, body := httpGet(t, u)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, code, body)
	}
	crl, err := x509.ParseRevocationList(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	return crl
}

func crlHas(crl *x509.RevocationList, c *x509.Certificate) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

// TestTLSRevokedFault: under tls-revoked the SMTP/IMAP certificate is a
// valid SERV SSL that the CRL lists and OCSP calls revoked; each CRL is
// signed by its CA, fresh and numbered upwards.
func TestTLSRevokedFault(t *testing.T) {
	cfg := testConfig()
	cfg.Faults = []Fault{{Name: FaultTLSRevoked}}
	op := startOp(t, cfg)
	info := op.PKI()
	if _, err := info.Server.Verify(x509.VerifyOptions{Roots: rootPool(info), Intermediates: orgPool(info)}); err != nil {
		t.Fatalf("revoked certificate is otherwise valid: %v", err)
	}
	first := fetchCRL(t, info.CRLURL, info.Organisations)
	if !crlHas(first, info.Server) || crlHas(first, info.OrgAuth.Leaf) {
		t.Errorf("CRL entries %v", first.RevokedCertificateEntries)
	}
	if !first.NextUpdate.After(time.Now()) {
		t.Errorf("CRL nextUpdate %s", first.NextUpdate)
	}
	if second := fetchCRL(t, info.CRLURL, info.Organisations); second.Number.Cmp(first.Number) <= 0 {
		t.Errorf("CRL number %s after %s", second.Number, first.Number)
	}
	if rootCRL := fetchCRL(t, info.RootCRLURL, info.Root); len(rootCRL.RevokedCertificateEntries) != 0 {
		t.Errorf("root CRL lists %d", len(rootCRL.RevokedCertificateEntries))
	}
	if r := ocspQuery(t, op, info.Server, info.Organisations, false); r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise {
		t.Errorf("OCSP status %d reason %d", r.Status, r.RevocationReason)
	}
	// The CA certificates named by AIA caIssuers.
	if code, body := httpGet(t, info.CAIssuersURL); code != http.StatusOK || !bytes.Equal(body, info.Organisations.Raw) {
		t.Errorf("caIssuers: %d", code)
	}
}

func rootPool(info PKIInfo) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(info.Root)
	return p
}

func orgPool(info PKIInfo) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(info.Organisations)
	return p
}

// TestRevocationDownFaults: ocsp-down and crl-down make the services
// answer 503, counted (#1) like every fault.
func TestRevocationDownFaults(t *testing.T) {
	cfg := testConfig()
	cfg.Faults = []Fault{{Name: FaultOCSPDown, Count: 1}, {Name: FaultCRLDown}}
	op := startOp(t, cfg)
	info := op.PKI()
	req, _ := ocsp.CreateRequest(info.Server, info.Organisations, nil)
	if code, _ := httpDo(t, http.MethodPost, info.OCSPURL, "application/ocsp-request", req); code != http.StatusServiceUnavailable {
		t.Errorf("ocsp-down: %d", code)
	}
	if r := ocspQuery(t, op, info.Server, info.Organisations, false); r.Status != ocsp.Good {
		t.Errorf("after ocsp-down#1: %d", r.Status)
	}
	for i := 0; i < 2; i++ {
		if code, _ := httpGet(t, info.CRLURL); code != http.StatusServiceUnavailable {
			t.Errorf("crl-down try %d: %d", i, code)
		}
	}
	var faults int
	for _, e := range op.Events() {
		if e.Proto == lnPKI && e.Kind == KindFault {
			faults++
		}
	}
	if faults != 3 {
		t.Errorf("%d fault events, want 3", faults)
	}
}

// TestOpenSSLRevocation: openssl ocsp and openssl crl, fetched with curl,
// agree with the mock: good, then revoked; the CRL verifies.
func TestOpenSSLRevocation(t *testing.T) {
	openssl := lookTool(t, "openssl")
	curl := lookTool(t, "curl")
	op := startOp(t, testConfig())
	info := op.PKI()
	pemOf := func(c *x509.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	root := writeFile(t, "root.pem", pemOf(info.Root))
	org := writeFile(t, "org.pem", pemOf(info.Organisations))
	leaf := writeFile(t, "leaf.pem", pemOf(info.Server))
	ocspArgs := []string{"ocsp", "-issuer", org, "-cert", leaf, "-url", info.OCSPURL, "-CAfile", root, "-no_nonce", "-timeout", "10"}
	if out := runTool(t, openssl, ocspArgs...); !strings.Contains(out, leaf+": good") || !strings.Contains(out, "Response verify OK") {
		t.Errorf("openssl ocsp before revocation:\n%s", out)
	}
	if err := op.Revoke(info.Server, time.Now()); err != nil {
		t.Fatal(err)
	}
	if out := runTool(t, openssl, ocspArgs...); !strings.Contains(out, leaf+": revoked") || !strings.Contains(out, "Reason: keyCompromise") {
		t.Errorf("openssl ocsp after revocation:\n%s", out)
	}
	crl := writeFile(t, "org.crl", nil)
	runTool(t, curl, "--silent", "--show-error", "--fail", "--max-time", "10", "--output", crl, info.CRLURL)
	out := runTool(t, openssl, "crl", "-inform", "DER", "-in", crl, "-CAfile", writeFile(t, "chain.pem", append(pemOf(info.Root), pemOf(info.Organisations)...)), "-noout", "-text")
	serial := strings.ToUpper(info.Server.SerialNumber.Text(16))
	if !strings.Contains(out, "verify OK") || !strings.Contains(strings.ToUpper(strings.ReplaceAll(out, ":", "")), serial) {
		t.Errorf("openssl crl does not verify or list %s:\n%s", serial, out)
	}
}
