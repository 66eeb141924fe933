package probe

import (
	"context"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/internal/testpki"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/trust"
)

// igcMock is the mock operator with its IGC-Santé-shaped test PKI (SERV SSL
// for localhost, CRL and OCSP on loopback), and the policy that makes the
// probe take that PKI for IGC-Santé production and loopback for a public
// address (Go API only).
type igcMock struct {
	*testEnv
	policy *trust.Policy
	leaf   *x509.Certificate
}

func startIGCMock(t *testing.T, faults ...string) *igcMock {
	t.Helper()
	var mc mocks.Config
	for _, f := range faults {
		ft, err := mocks.ParseFault(f)
		if err != nil {
			t.Fatal(err)
		}
		mc.Faults = append(mc.Faults, ft)
	}
	m := &igcMock{testEnv: startMock(t, mc)}
	m.leaf = m.op.PKI().Server
	delete(m.yaml, "trust")
	m.yaml["smtp"] = strings.Replace(server(m.op.SMTPAddr(), "starttls"), "}", ", server_name: localhost}", 1)
	m.yaml["imap"] = strings.Replace(server(m.op.IMAPAddr(), "starttls"), "}", ", server_name: localhost}", 1)
	wl, err := trust.ParseWhitelist(strings.NewReader(`<ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema"><DateDeGeneration>2026-01-01T00:00:00Z</DateDeGeneration><ListeDomaines>
<Domaine><Nom>hopital.test.mssante.fr</Nom><DNCertificatOperateur>`+m.leaf.Subject.String()+`</DNCertificatOperateur></Domaine></ListeDomaines></ListeBlancheMSSante>`), "wl.xml")
	if err != nil {
		t.Fatal(err)
	}
	m.policy = &trust.Policy{
		Anchors:      trust.NewAnchors(m.op.Roots(), nil, nil),
		Whitelist:    wl,
		AddressClass: func(netip.Addr) string { return trust.AddrPublic },
	}
	return m
}

func (m *igcMock) run(t *testing.T, opts Options) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.ToolVersion, opts.Getenv = "test", func(k string) string { return m.env[k] }
	res, err := Run(ctx, m.config(t), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// TestEnvironmentMSSante: with the test PKI injected as IGC-Santé
// production and loopback as public, every classification passes and the
// run is "mssante" (the only way to get there without the real service).
func TestEnvironmentMSSante(t *testing.T) {
	m := startIGCMock(t)
	res := m.run(t, Options{Trust: m.policy})
	if !res.Met || res.Environment.Kind != EnvMSSante || len(res.Environment.Reasons) != 0 {
		t.Fatalf("met %v environment %+v\n%s", res.Met, res.Environment, dump(res))
	}
	for _, ep := range []Endpoint{res.SMTP, res.IMAP} {
		want := ServerClass{Anchor: trust.AnchorProd, AnchorName: mocks.RootCAName, ServSSL: true, Revocation: trust.RevGood,
			RevocationSource: "ocsp " + m.op.PKI().OCSPURL, Address: trust.AddrPublic, TrustSpace: true, TLSAcceptable: true}
		if ep.Class == nil || *ep.Class != want {
			t.Errorf("%s class %+v, want %+v", ep.Host, ep.Class, want)
		}
	}
	for _, id := range []string{"SMTP-TRUST-001", "SMTP-TRUST-002", "SMTP-TRUST-003", "SMTP-TRUST-004", "SMTP-TRUST-005", "SMTP-TRUST-006",
		"IMAP-TRUST-001", "IMAP-TRUST-002", "IMAP-TRUST-003", "IMAP-TRUST-004", "IMAP-TRUST-005", "IMAP-TRUST-006", RuleEnvironment} {
		if c, ok := checkStatus(res, id); !ok || c.Status != Pass || c.Source == "" {
			t.Errorf("%s: %+v", id, c)
		}
	}
}

// TestEnvironmentTestBed: the plain mock (its own CA from trust.ca_file,
// loopback) is a TEST environment, and says why.
func TestEnvironmentTestBed(t *testing.T) {
	te := startMock(t, mocks.Config{})
	res := te.run(t, context.Background())
	if !res.Met || res.Environment.Kind != EnvTest {
		t.Fatalf("met %v environment %+v", res.Met, res.Environment)
	}
	var reasons []string
	for _, r := range res.Environment.Reasons {
		reasons = append(reasons, r.EN)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{`SMTP: authority "` + mocks.RootCAName + `" (private authority), not IGC-Santé production`,
		"SMTP: certificate without the SERV SSL profile", "SMTP: loopback address 127.0.0.1:", "IMAP: loopback address"} {
		if !strings.Contains(all, want) {
			t.Errorf("reasons lack %q:\n%s", want, all)
		}
	}
	if c, _ := checkStatus(res, RuleEnvironment); c.Status != Warn || !strings.HasPrefix(c.Message.EN, "TEST: not the real MSSanté trust space") {
		t.Errorf("%s: %+v", RuleEnvironment, c)
	}
	// The mock's SERV SSL certificate is for localhost: dialled as
	// 127.0.0.1 it is not the profile for that name.
	if c := res.SMTP.Class; c == nil || c.Anchor != trust.AnchorPrivate || c.Address != trust.AddrLoopback || c.ServSSL || c.TrustSpace {
		t.Errorf("SMTP class %+v", c)
	}
}

// TestEnvironmentNotCitizenTarget: IGC-Santé servers but a target outside
// patient.mssante.fr is TEST.
func TestEnvironmentNotCitizenTarget(t *testing.T) {
	m := startIGCMock(t)
	m.yaml["target"] = "279035121518989@citoyen.test.fr"
	m.yaml["timeouts"] = "{step: 5s, reply: 1s}"
	res := m.run(t, Options{Trust: m.policy})
	if res.Environment.Kind != EnvTest || len(res.Environment.Reasons) == 0 || !strings.Contains(res.Environment.Reasons[0].EN, "is not on patient.mssante.fr") {
		t.Errorf("environment %+v", res.Environment)
	}
}

// TestRevokedServerRefused: a revoked server certificate fails the
// connection before any login is sent (Ref#2 ECO.1.1.6).
func TestRevokedServerRefused(t *testing.T) {
	m := startIGCMock(t)
	if err := m.op.Revoke(m.leaf, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	res := m.run(t, Options{Trust: m.policy})
	c, _ := checkStatus(res, "SMTP-TRUST-003")
	if res.Met || c.Status != Fail || !strings.Contains(c.Message.EN, "REVOKED (ocsp "+m.op.PKI().OCSPURL) {
		t.Fatalf("met %v, %+v", res.Met, c)
	}
	if res.SMTP.Class.Revocation != trust.RevRevoked || strings.Contains(string(res.SMTPTranscript), "AUTH") {
		t.Errorf("class %+v; transcript:\n%s", res.SMTP.Class, res.SMTPTranscript)
	}
}

// TestRevocationFallbackAndUnreachable: with the OCSP responder down the
// CRL answers; with both down the status is "unknown", a warning, never
// "good"; the mock's tls-revoked fault is caught.
func TestRevocationFallbackAndUnreachable(t *testing.T) {
	for _, tc := range []struct {
		faults []string
		status Status
		rev    string
		text   string
	}{
		{[]string{mocks.FaultOCSPDown}, Pass, trust.RevGood, "Not revoked (crl "},
		{[]string{mocks.FaultOCSPDown, mocks.FaultCRLDown}, Warn, trust.RevUnknown, "HTTP 503"},
		{[]string{mocks.FaultTLSRevoked}, Fail, trust.RevRevoked, "REVOKED"},
	} {
		m := startIGCMock(t, tc.faults...)
		res := m.run(t, Options{Trust: m.policy})
		c, _ := checkStatus(res, "IMAP-TRUST-003")
		if tc.status == Fail {
			c, _ = checkStatus(res, "SMTP-TRUST-003")
		}
		if c.Status != tc.status || !strings.Contains(c.Message.EN, tc.text) || res.SMTP.Class.Revocation != tc.rev || res.Met != (tc.status != Fail) {
			t.Errorf("%v: met %v, %+v, class %+v", tc.faults, res.Met, c, res.SMTP.Class)
		}
	}
}

// TestProductionINSToTestMailbox: a real patient's document is refused
// for the auto-reply test mailbox before anything is sent, unless allowed.
func TestProductionINSToTestMailbox(t *testing.T) {
	te := startMock(t, mocks.Config{})
	data, err := os.ReadFile(filepath.Join("..", "testdata", "cda", "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(te.dir, "doc.xml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	te.yaml["attach"] = "doc.xml"
	mockSMTP := te.yaml["smtp"]
	dialled := listenCounting(t, te)
	_, err = Run(context.Background(), te.config(t), Options{Getenv: func(k string) string { return te.env[k] }})
	if err == nil || !strings.Contains(err.Error(), "attach: doc.xml carries a production INS (OID 1.2.250.1.213.1.4.8") ||
		!strings.Contains(err.Error(), "--allow-production-ins-to-test-mailbox") {
		t.Fatalf("err = %v", err)
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("%d connections before the refusal", n)
	}
	te.yaml["smtp"] = mockSMTP
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, te.config(t), Options{Getenv: func(k string) string { return te.env[k] }, AllowProductionINSToTestMailbox: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := checkStatus(res, RuleTestMailboxINS); !res.Met || c.Status != Warn || !strings.Contains(c.Message.EN, "allowed by --allow-production-ins-to-test-mailbox") {
		t.Errorf("met %v, %+v", res.Met, c)
	}
}

// TestUnusableAttachmentSendsNothing: an attachment that cannot be sent is
// a configuration error before any connection.
func TestUnusableAttachmentSendsNothing(t *testing.T) {
	te := startMock(t, mocks.Config{})
	if err := os.WriteFile(filepath.Join(te.dir, "doc.xml"), []byte("<not-cda/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	te.yaml["attach"] = "doc.xml"
	dialled := listenCounting(t, te)
	_, err := Run(context.Background(), te.config(t), Options{Getenv: func(k string) string { return te.env[k] }})
	if err == nil || !strings.Contains(err.Error(), "attach: unusable") {
		t.Fatalf("err = %v", err)
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("%d connections before the refusal", n)
	}
}

// listenCounting points te's SMTP server at a loopback listener that
// counts connections.
func listenCounting(t *testing.T, te *testEnv) *atomic.Int32 {
	addr, n := testpki.CountingListener(t)
	te.yaml["smtp"] = server(addr, "starttls")
	return n
}
