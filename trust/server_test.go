package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/msscprobe/msscprobe/internal/testpki"
)

const testDomain = "ch-exemple.mssante.fr"

func testWhitelist(t testing.TB, dn string) *Whitelist {
	t.Helper()
	xml := `<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema">
<DateDeGeneration>2026-01-02T03:04:05Z</DateDeGeneration><ListeDomaines>
<Domaine><Nom>` + testDomain + `</Nom><Description>d</Description><DNCertificatOperateur>` + dn + `</DNCertificatOperateur>
<ResponsableContact>x</ResponsableContact><SupportContact>y</SupportContact><DateMAJ>2026-01-01T00:00:00Z</DateMAJ></Domaine>
</ListeDomaines></ListeBlancheMSSante>`
	w, err := ParseWhitelist(strings.NewReader(xml), "test.xml")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func public(netip.Addr) string { return AddrPublic }

func decision(c Class, rule string) Decision {
	for _, d := range c.Decisions {
		if d.Rule == rule {
			return d
		}
	}
	return Decision{}
}

// TestClassify: one case per decision of the offline classification.
func TestClassify(t *testing.T) {
	root := testpki.Root(t, "MOCK RACINE IGC-SANTE")
	org := root.Sub(t, "MOCK AC IGC-SANTE ORGANISATIONS")
	other := testpki.Root(t, "Autre AC")
	host := "smtp.operateur.test"
	leaf, _ := org.ServSSL(t, host, nil)
	noPolicy, _ := org.ServSSL(t, host, func(c *x509.Certificate) { c.Policies = nil })
	noServer, _ := org.ServSSL(t, host, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		c.KeyUsage = x509.KeyUsageDigitalSignature
	})
	foreign, _ := other.ServSSL(t, host, nil)
	dn := "CN=" + host + ",OU=318751275100020,O=OPERATEUR DE TEST,ST=Paris (75),C=FR"
	prod := NewAnchors([]*x509.Certificate{root.Cert, org.Cert}, nil, nil)
	test := NewAnchors(nil, []*x509.Certificate{root.Cert, org.Cert}, nil)
	state := func(certs ...*x509.Certificate) tls.ConnectionState {
		return tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, PeerCertificates: certs}
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		srv    Server
		rule   int
		want   string // outcome of rule
		text   string
		check  func(Class) bool
	}{
		{"prod anchor", Policy{Anchors: prod}, Server{State: state(leaf, org.Cert)}, 1, Pass, "IGC-Santé production", func(c Class) bool { return c.Anchor == AnchorProd && c.AnchorName == "MOCK RACINE IGC-SANTE" }},
		{"prod anchor, leaf only", Policy{Anchors: prod}, Server{State: state(leaf)}, 1, Pass, "IGC-Santé production", func(c Class) bool { return c.Anchor == AnchorProd }},
		{"test anchor", Policy{Anchors: test}, Server{State: state(leaf)}, 1, Warn, "IGC-Santé TEST", func(c Class) bool { return c.Anchor == AnchorTest }},
		{"private anchor", Policy{Anchors: NewAnchors(nil, nil, nil).WithExtra(other.Cert)}, Server{State: state(foreign)}, 1, Warn, "private authority", func(c Class) bool { return c.Anchor == AnchorPrivate }},
		{"no anchor", Policy{Anchors: prod}, Server{State: state(foreign)}, 1, Warn, `issuer "Autre AC"`, func(c Class) bool { return c.Anchor == AnchorNone && c.AnchorName == "Autre AC" }},
		{"serv ssl", Policy{Anchors: prod}, Server{State: state(leaf)}, 2, Pass, "SERV SSL profile for " + host, func(c Class) bool { return c.ServSSL }},
		{"serv ssl no policy", Policy{Anchors: prod}, Server{State: state(noPolicy)}, 2, Warn, "policy 1.2.250.1.213.1.7.1.1.2.5.1 missing", func(c Class) bool { return !c.ServSSL }},
		{"serv ssl key usage", Policy{Anchors: prod}, Server{State: state(noServer)}, 2, Warn, "keyEncipherment", func(c Class) bool { return !c.ServSSL }},
		{"serv ssl other host", Policy{Anchors: prod}, Server{Name: "imap.ailleurs.test", State: state(leaf)}, 2, Warn, "matches imap.ailleurs.test", func(c Class) bool { return !c.ServSSL }},
		{"serv ssl test policy", Policy{Anchors: test}, Server{State: state(leaf)}, 2, Warn, "policy 1.2.250.1.213.1.7.2.1.1.1.1 missing", func(c Class) bool { return !c.ServSSL }},
		{"loopback", Policy{Anchors: prod}, Server{Addr: "127.0.0.1:587", State: state(leaf)}, 4, Warn, "Loopback address (127.0.0.1:587)", func(c Class) bool { return c.Address == AddrLoopback }},
		{"private address", Policy{Anchors: prod}, Server{Addr: "[fd00::1]:587", State: state(leaf)}, 4, Warn, "Private address", func(c Class) bool { return c.Address == AddrPrivate }},
		{"cgn address", Policy{Anchors: prod}, Server{Addr: "100.64.1.1:587", State: state(leaf)}, 4, Warn, "Private address", func(c Class) bool { return c.Address == AddrPrivate }},
		{"public address", Policy{Anchors: prod}, Server{Addr: "193.50.1.1:587", State: state(leaf)}, 4, Pass, "Public address", func(c Class) bool { return c.Address == AddrPublic }},
		{"loopback injected as public", Policy{Anchors: prod, AddressClass: public}, Server{Addr: "127.0.0.1:587", State: state(leaf)}, 4, Pass, "Public address", func(c Class) bool { return c.Address == AddrPublic }},
		{"trust space", Policy{Anchors: prod}, Server{MailDomain: testDomain, State: state(leaf)}, 5, Pass, "listed (whitelist of 2026-01-02)", func(c Class) bool { return c.TrustSpace }},
		{"trust space DN differs", Policy{Anchors: prod, Whitelist: testWhitelist(t, "CN=autre.test,OU=1,O=X,ST=Paris (75),C=FR")}, Server{MailDomain: testDomain, State: state(leaf)}, 5, Warn, "is not its operator's", func(c Class) bool { return !c.TrustSpace }},
		{"trust space domain absent", Policy{Anchors: prod}, Server{MailDomain: "ailleurs.fr", State: state(leaf)}, 5, Warn, "not in the whitelist", func(c Class) bool { return !c.TrustSpace }},
		// The hint to give a newer list is for the embedded snapshot only.
		{"domain absent from the given list", Policy{Anchors: prod}, Server{MailDomain: "ailleurs.fr", State: state(leaf)}, 5, Warn, "outside the trust space", func(c Class) bool {
			return !c.TrustSpace && !strings.Contains(fmt.Sprint(c.Decisions), "--whitelist")
		}},
		{"domain absent from the snapshot", Policy{Anchors: prod, Whitelist: Snapshot()}, Server{MailDomain: "ailleurs.fr", State: state(leaf)}, 5, Warn, "a newer list: --whitelist", func(c Class) bool { return !c.TrustSpace }},
		{"tls 1.3", Policy{Anchors: prod}, Server{State: state(leaf)}, 6, Pass, "TLS 1.3", func(c Class) bool { return c.TLSAcceptable }},
		{"tls 1.2 gcm", Policy{Anchors: prod}, Server{State: tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, PeerCertificates: []*x509.Certificate{leaf}}}, 6, Pass, "accepted", func(c Class) bool { return c.TLSAcceptable }},
		{"tls 1.2 cbc", Policy{Anchors: prod}, Server{State: tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, PeerCertificates: []*x509.Certificate{leaf}}}, 6, Warn, "not in the accepted list", func(c Class) bool { return !c.TLSAcceptable }},
		{"tls 1.2 rsa kex", Policy{Anchors: prod}, Server{State: tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_RSA_WITH_AES_128_GCM_SHA256, PeerCertificates: []*x509.Certificate{leaf}}}, 6, Warn, "not in the accepted list", func(c Class) bool { return !c.TLSAcceptable }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.policy.Whitelist == nil {
				tc.policy.Whitelist = testWhitelist(t, dn)
			}
			tc.srv.Proto, tc.srv.Now = "SMTP", time.Now()
			if tc.srv.Name == "" {
				tc.srv.Name = host
			}
			if tc.srv.Addr == "" {
				tc.srv.Addr = "127.0.0.1:587"
			}
			c := Classify(&tc.policy, tc.srv)
			d := decision(c, RuleID("SMTP", tc.rule))
			if d.Outcome != tc.want || !strings.Contains(d.Message.EN, tc.text) || !tc.check(c) {
				t.Errorf("%s = %s %q (class %+v), want %s containing %q", RuleID("SMTP", tc.rule), d.Outcome, d.Message.EN, c, tc.want, tc.text)
			}
			if c.Revocation != RevUnknown {
				t.Errorf("offline classification says revocation %s", c.Revocation)
			}
		})
	}
}

// TestRevocation: CRL and OCSP answers on loopback; every failure to get a
// trustworthy answer is "unknown", never "good".
func TestRevocation(t *testing.T) {
	root := testpki.Root(t, "MOCK RACINE")
	org := root.Sub(t, "MOCK ORGANISATIONS")
	other := testpki.Root(t, "Intrus")
	now := time.Now()
	var revoked atomic.Pointer[big.Int]
	crl := func(ca *testpki.CA, next time.Time) []byte {
		var entries []x509.RevocationListEntry
		if s := revoked.Load(); s != nil {
			entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Hour)})
		}
		der, err := x509.CreateRevocationList(nil, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: next, RevokedCertificateEntries: entries}, ca.Cert, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/good.crl", func(w http.ResponseWriter, _ *http.Request) { w.Write(crl(org, now.Add(time.Hour))) })
	mux.HandleFunc("/stale.crl", func(w http.ResponseWriter, _ *http.Request) { w.Write(crl(org, now.Add(-time.Minute))) })
	mux.HandleFunc("/intrus.crl", func(w http.ResponseWriter, _ *http.Request) { w.Write(crl(other, now.Add(time.Hour))) })
	mux.HandleFunc("/garbage.crl", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("not a CRL")) })
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/ocsp", func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		req, err := ocsp.ParseRequest(body[:n])
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}
		if s := revoked.Load(); s != nil && s.Cmp(req.SerialNumber) == 0 {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, now.Add(-time.Hour), ocsp.KeyCompromise
		}
		der, err := ocsp.CreateResponse(org.Cert, org.Cert, tmpl, org.Key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(der)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	leafWith := func(crls []string, ocsps ...string) *x509.Certificate {
		c, _ := org.ServSSL(t, "smtp.test", func(c *x509.Certificate) {
			for i := range crls {
				crls[i] = srv.URL + crls[i]
			}
			for i := range ocsps {
				ocsps[i] = srv.URL + ocsps[i]
			}
			c.CRLDistributionPoints, c.OCSPServer = crls, ocsps
		})
		return c
	}
	for _, tc := range []struct {
		name    string
		leaf    *x509.Certificate
		revoke  bool
		want    string
		why     string
		timeout time.Duration
	}{
		{"crl good", leafWith([]string{"/good.crl"}), false, RevGood, "", 0},
		{"crl revoked", leafWith([]string{"/good.crl"}), true, RevRevoked, "", 0},
		{"ocsp good", leafWith(nil, "/ocsp"), false, RevGood, "", 0},
		{"ocsp revoked", leafWith(nil, "/ocsp"), true, RevRevoked, "", 0},
		{"ocsp unreachable, crl answers", leafWith([]string{"/good.crl"}, "/missing"), true, RevRevoked, "", 0},
		{"stale crl", leafWith([]string{"/stale.crl"}), false, RevUnknown, "expired CRL", 0},
		{"crl from another ca", leafWith([]string{"/intrus.crl"}), false, RevUnknown, `CRL not signed by "MOCK ORGANISATIONS"`, 0},
		{"not a crl", leafWith([]string{"/garbage.crl"}), false, RevUnknown, "not a CRL", 0},
		{"http 404", leafWith([]string{"/missing.crl"}), false, RevUnknown, "HTTP 404", 0},
		{"no answer in time", leafWith([]string{"/hang"}), false, RevUnknown, "no answer in time", 200 * time.Millisecond},
		{"ldap only", leafWith(nil), false, RevUnknown, "names no CRL distribution point", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			revoked.Store(nil)
			if tc.revoke {
				revoked.Store(tc.leaf.SerialNumber)
			}
			d := tc.timeout
			if d == 0 {
				d = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), d)
			defer cancel()
			start := time.Now()
			r := (&Policy{}).CheckRevocation(ctx, tc.leaf, org.Cert, now)
			if r.Status != tc.want || !strings.Contains(r.Why.EN, tc.why) {
				t.Errorf("revocation %s (%s, %q), want %s with %q", r.Status, r.Source, r.Why.EN, tc.want, tc.why)
			}
			if time.Since(start) > d+time.Second {
				t.Errorf("took %s, deadline %s", time.Since(start), d)
			}
		})
	}
}

// TestClassifyServerRevoked: a revoked server certificate fails rule 3
// through ClassifyServer, with the CRL named.
func TestClassifyServerRevoked(t *testing.T) {
	root := testpki.Root(t, "MOCK RACINE")
	org := root.Sub(t, "MOCK ORGANISATIONS")
	var leaf *x509.Certificate
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		der, _ := x509.CreateRevocationList(nil, &x509.RevocationList{Number: big.NewInt(2), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: leaf.SerialNumber, RevocationTime: time.Now()}}}, org.Cert, org.Key)
		w.Write(der)
	}))
	defer srv.Close()
	leaf, _ = org.ServSSL(t, "smtp.test", func(c *x509.Certificate) { c.CRLDistributionPoints = []string{srv.URL + "/org.crl"} })
	p := &Policy{Anchors: NewAnchors([]*x509.Certificate{root.Cert, org.Cert}, nil, nil), Whitelist: testWhitelist(t, "CN=x,C=FR")}
	c := p.ClassifyServer(t.Context(), Server{Proto: "IMAP", Name: "smtp.test", Addr: "127.0.0.1:143", Now: time.Now(), Revocation: true, Timeout: 5 * time.Second,
		State: tls.ConnectionState{Version: tls.VersionTLS13, PeerCertificates: []*x509.Certificate{leaf}}})
	d := decision(c, "IMAP-TRUST-003")
	if c.Revocation != RevRevoked || d.Outcome != Fail || !strings.Contains(d.Message.EN, "REVOKED (crl "+srv.URL+"/org.crl") {
		t.Errorf("class %+v, decision %+v", c, d)
	}
	if len(c.Decisions) != 6 {
		t.Errorf("%d decisions, want 6", len(c.Decisions))
	}
}

// TestHostileNames: a name taken from a certificate cannot carry control
// characters or bidi overrides into reports, and is bounded.
func TestHostileNames(t *testing.T) {
	root := testpki.Root(t, "Evil\r\nCA\u202e"+strings.Repeat("x", 300))
	leaf, _ := root.ServSSL(t, "smtp.test", nil)
	ch := NewAnchors(nil, nil, nil).Classify([]*x509.Certificate{leaf}, time.Now(), x509.ExtKeyUsageServerAuth)
	if ch.Kind != AnchorNone || strings.ContainsAny(ch.Name, "\r\n\u202e") || len([]rune(ch.Name)) > 129 || !strings.HasPrefix(ch.Name, "Evil??CA?") {
		t.Errorf("name %q", ch.Name)
	}
}

// TestRevocationURLBound: a certificate naming many responders costs at
// most maxURLs requests of each kind.
func TestRevocationURLBound(t *testing.T) {
	org := testpki.Root(t, "R").Sub(t, "ORG")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	leaf, _ := org.ServSSL(t, "smtp.test", func(c *x509.Certificate) {
		for i := range 50 {
			c.OCSPServer = append(c.OCSPServer, fmt.Sprintf("%s/ocsp/%d", srv.URL, i))
			c.CRLDistributionPoints = append(c.CRLDistributionPoints, fmt.Sprintf("%s/crl/%d", srv.URL, i))
		}
	})
	r := (&Policy{}).CheckRevocation(t.Context(), leaf, org.Cert, time.Now())
	if r.Status != RevUnknown || hits.Load() != 2*maxURLs {
		t.Errorf("status %s after %d requests, want unknown after %d", r.Status, hits.Load(), 2*maxURLs)
	}
}

// TestAnchorsVerifyErrors: Verify names the real defect of a chain that
// reaches a system root (a wrong host name), not the absence of our own
// roots; and it tries IGC-Santé and the user's roots first.
func TestAnchorsVerifyErrors(t *testing.T) {
	public := testpki.Root(t, "Public Root")
	own := testpki.Root(t, "Own Root")
	sys := x509.NewCertPool()
	sys.AddCert(public.Cert)
	a := NewAnchors(nil, nil, sys).WithExtra(own.Cert)
	pubLeaf, _ := public.ServSSL(t, "smtp.public.test", nil)
	ownLeaf, _ := own.ServSSL(t, "smtp.own.test", nil)
	var host x509.HostnameError
	if _, err := a.Verify(pubLeaf, nil, x509.VerifyOptions{DNSName: "other.test"}); !errors.As(err, &host) {
		t.Errorf("public leaf, wrong name: %v", err)
	}
	if _, err := a.Verify(pubLeaf, nil, x509.VerifyOptions{DNSName: "smtp.public.test"}); err != nil {
		t.Errorf("public leaf: %v", err)
	}
	if _, err := a.Verify(ownLeaf, nil, x509.VerifyOptions{DNSName: "smtp.own.test"}); err != nil {
		t.Errorf("own leaf: %v", err)
	}
	stranger, _ := testpki.Root(t, "Stranger").ServSSL(t, "x.test", nil)
	var unknown x509.UnknownAuthorityError
	if _, err := a.Verify(stranger, nil, x509.VerifyOptions{DNSName: "x.test"}); !errors.As(err, &unknown) {
		t.Errorf("stranger: %v", err)
	}
	if ch := a.Classify([]*x509.Certificate{pubLeaf}, time.Now(), x509.ExtKeyUsageServerAuth); ch.Kind != AnchorPublic || ch.Name != "Public Root" {
		t.Errorf("public classification %+v", ch)
	}
}
