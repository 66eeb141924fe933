package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/trust"
)

// Secrets used against the mock; tests assert they never leak.
const (
	testPassword = "S3cret-Pa55word-of-the-probe"
	testToken    = "psc-bearer-token-ABCDEF0123456789"
	citizenPass  = "citizen-Pa55word-xyz"
	testCitizen  = "279035121518989@patient.mssante.fr"
	testAccount  = "medecin@hopital.test.mssante.fr"
)

// testEnv is a running mock and the probe configuration aimed at it.
type testEnv struct {
	op   *mocks.Operator
	dir  string
	env  map[string]string
	yaml map[string]string // top-level YAML blocks, overridable per test
}

func startMock(t testing.TB, mc mocks.Config) *testEnv {
	t.Helper()
	if mc.Accounts == nil {
		mc.Accounts = []mocks.Account{{Address: testAccount, Password: testPassword, Token: testToken, ClientCert: true}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	op, err := mocks.Start(ctx, mc)
	if err != nil {
		cancel()
		t.Fatalf("mocks.Start: %v", err)
	}
	t.Cleanup(func() { op.Close(); cancel() })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), op.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	te := &testEnv{op: op, dir: dir, env: map[string]string{"PROBE_PASSWORD": testPassword, "PROBE_TOKEN": testToken, "CITIZEN_PASSWORD": citizenPass}}
	te.yaml = map[string]string{
		"establishment": "{name: \"Hôpital de test\", finess: \"000000000\", address: " + testAccount + "}",
		"smtp":          server(op.SMTPAddr(), "starttls"),
		"imap":          server(op.IMAPAddr(), "starttls"),
		"auth":          "{mechanism: plain, username: " + testAccount + ", password_env: PROBE_PASSWORD}",
		"trust":         "{ca_file: ca.pem}",
		"timeouts":      "{step: 5s, reply: 5s}",
	}
	return te
}

func server(addr, mode string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("{host: %s, port: %s, tls: %s}", host, port, mode)
}

// config writes probe.yaml and loads it.
func (te *testEnv) config(t testing.TB) Config {
	t.Helper()
	var b strings.Builder
	for _, k := range []string{"establishment", "smtp", "imap", "auth", "trust", "target", "attach", "message", "reply", "timeouts"} {
		if v, ok := te.yaml[k]; ok {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	path := filepath.Join(te.dir, "probe.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v\n%s", err, b.String())
	}
	return cfg
}

func (te *testEnv) run(t *testing.T, ctx context.Context) *Result {
	t.Helper()
	cfg := te.config(t)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, Options{ToolVersion: "test", Getenv: func(k string) string { return te.env[k] }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// checkStatus finds a check by ID in any step.
func checkStatus(res *Result, id string) (Check, bool) {
	for _, s := range res.Steps {
		for _, c := range s.Checks {
			if c.ID == id {
				return c, true
			}
		}
	}
	return Check{}, false
}

func dump(res *Result) string {
	var b strings.Builder
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "%s %s\n", s.Status, s.ID)
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "   %s %s %s\n", c.Status, c.ID, c.Message.EN)
		}
	}
	return b.String()
}

func TestHappyPathEveryAuthAndTLSMode(t *testing.T) {
	for _, tlsMode := range []string{"starttls", "implicit"} {
		for _, mech := range []string{MechPlain, MechLogin, MechXOAuth2, MechCertificate, "certificate-p12"} {
			t.Run(tlsMode+"/"+mech, func(t *testing.T) {
				te := startMock(t, mocks.Config{})
				if tlsMode == "implicit" {
					te.yaml["smtp"] = server(te.op.SMTPSAddr(), "implicit")
					te.yaml["imap"] = server(te.op.IMAPSAddr(), "implicit")
				}
				te.yaml["auth"] = te.authBlock(t, mech)
				res := te.run(t, context.Background())
				if !res.Met {
					t.Fatalf("not met:\n%s", dump(res))
				}
				if c, _ := checkStatus(res, RuleCorrelation); c.Status != Pass {
					t.Errorf("correlation %s", c.Status)
				}
				if res.QueueID == "" || res.ReplyLatency <= 0 || len(res.SMTP.PeerChain) == 0 || res.IMAP.TLSVersion == "" {
					t.Errorf("missing facts: queue %q latency %v chain %d imap tls %q", res.QueueID, res.ReplyLatency, len(res.SMTP.PeerChain), res.IMAP.TLSVersion)
				}
				if tlsMode == "starttls" {
					if c, _ := checkStatus(res, RuleSMTPCleartext); c.Status != Pass {
						t.Errorf("cleartext MAIL check: %s %s", c.Status, c.Message.EN)
					}
				}
			})
		}
	}
}

// authBlock returns the auth: YAML for a mechanism, writing cert files.
func (te *testEnv) authBlock(t *testing.T, mech string) string {
	t.Helper()
	switch mech {
	case MechPlain, MechLogin:
		return "{mechanism: " + mech + ", username: " + testAccount + ", password_env: PROBE_PASSWORD}"
	case MechXOAuth2:
		return "{mechanism: xoauth2, username: " + testAccount + ", token_env: PROBE_TOKEN}"
	}
	cert, err := te.op.IssueClientCert(testAccount)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if mech == MechCertificate {
		writePEM(t, filepath.Join(te.dir, "client.pem"), "CERTIFICATE", cert.Certificate[0])
		writePEM(t, filepath.Join(te.dir, "client.key"), "PRIVATE KEY", key)
		return "{mechanism: certificate, username: " + testAccount + ", cert_file: client.pem, key_file: client.key}"
	}
	p12 := encodeP12(t, cert, "p12-Pa55")
	if err := os.WriteFile(filepath.Join(te.dir, "client.p12"), p12, 0o600); err != nil {
		t.Fatal(err)
	}
	te.env["P12_PASSWORD"] = "p12-Pa55"
	return "{mechanism: certificate, username: " + testAccount + ", p12_file: client.p12, p12_password_env: P12_PASSWORD}"
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func encodeP12(t *testing.T, cert tls.Certificate, pass string) []byte {
	t.Helper()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkcs12.Modern2023.Encode(cert.PrivateKey, leaf, nil, pass)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMockFaults: every fault of the mock gives the right failing check
// with a message that says what to fix, and no run hangs (each run is
// bounded by a short step and reply timeout and a 30 s context).
func TestMockFaults(t *testing.T) {
	for _, tc := range []struct {
		fault  string
		id     string
		status Status
		msg    string // substring of the English message
		met    bool
	}{
		{"connect=554", RuleSMTPTCP, Fail, "refuses the session", false},
		{"auth=535", RuleSMTPAuth, Fail, "Check the user name and the secret", false},
		{"mail=550", RuleSMTPMail, Fail, "establishment.address", false},
		{"rcpt=550", RuleSMTPRcpt, Fail, "Check the citizen address", false},
		{"data=554", RuleSMTPData, Fail, "554", false},
		{"greylist=1", RuleSMTPRcpt, Fail, "temporary", false},
		{"drop-data", RuleSMTPData, Fail, "DATA broken off: the server closed the connection", false},
		{"delay-connect=5s", RuleSMTPTCP, Fail, "sends no greeting: no answer within 300ms (timeouts.step). If this port uses implicit TLS (465)", false},
		{"delay-ehlo=5s", RuleSMTPStartTLS, Fail, "SMTP session broken during EHLO: no answer within 300ms", false},
		{"delay-auth=5s", RuleSMTPAuth, Fail, "AUTH PLAIN broken off: no answer within 300ms", false},
		{"delay-mail=5s", RuleSMTPMail, Fail, "MAIL broken off: no answer within 300ms", false},
		{"delay-rcpt=5s", RuleSMTPRcpt, Fail, "RCPT broken off: no answer within 300ms", false},
		{"delay-data=5s", RuleSMTPData, Fail, "DATA broken off: no answer within 300ms", false},
		{"no-reply", RuleReply, Fail, "No correlated reply within", false},
		{"reply-no-in-reply-to", RuleCorrelation, Warn, "linked only by token", true},
		{"bounce", RuleNoBounce, Fail, "Non-delivery report", false},
		{"starttls-missing", RuleSMTPStartTLS, Fail, "does not offer STARTTLS", false},
		{"tls-expired", RuleSMTPChain, Fail, "not valid now", false},
		{"tls-self-signed", RuleSMTPChain, Fail, "does not chain to a trusted root", false},
		{"tls-wrong-host", RuleSMTPChain, Fail, "does not cover the name", false},
		{"tls-legacy", RuleSMTPTLSVersion, Fail, "TLS 1.2 or later", false},
		// One drop: one reconnect, the reply is still found (a warning).
		{"imap-idle-drop#1", RuleIMAPReconnect, Warn, "lost while waiting (the server closed the connection); reconnected once, waiting on from UID", true},
		// Every IDLE dropped: after the second drop the probe polls (the
		// mock drops only IDLE), with a warning.
		{"imap-idle-drop", RuleIMAPReconnect, Warn, "lost twice while waiting in IDLE (the server closed the connection); reconnected, the probe now polls INBOX every", true},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			f, err := mocks.ParseFault(tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			mc := mocks.Config{Faults: []mocks.Fault{f}}
			if strings.HasPrefix(tc.fault, "imap-idle-drop") {
				mc.AutoReplyDelay = 300 * time.Millisecond // the reply must come while idling
			}
			te := startMock(t, mc)
			te.yaml["timeouts"] = "{step: 300ms, reply: 1s}"
			start := time.Now()
			res := te.run(t, context.Background())
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("run took %s", d)
			}
			c, ok := checkStatus(res, tc.id)
			if !ok || c.Status != tc.status || !strings.Contains(c.Message.EN, tc.msg) || c.Message.FR == "" {
				t.Errorf("%s = %s %q, want %s containing %q\n%s", tc.id, c.Status, c.Message.EN, tc.status, tc.msg, dump(res))
			}
			if res.Met != tc.met {
				t.Errorf("met = %v\n%s", res.Met, dump(res))
			}
			// The chain is recorded even when it is refused (evidence).
			if strings.HasPrefix(tc.fault, "tls-") && tc.fault != "tls-legacy" && (len(res.SMTP.PeerChain) == 0 || len(res.IMAP.PeerChain) == 0) {
				t.Error("server chain not recorded")
			}
			checkMessages(t, res)
		})
	}
}

// checkMessages holds for every result: one check per rule in a step (JUnit
// names), both languages filled, and no English error text in French.
func checkMessages(t *testing.T, res *Result) {
	t.Helper()
	for _, s := range res.Steps {
		seen := map[string]bool{}
		for _, c := range s.Checks {
			if seen[c.ID] {
				t.Errorf("step %s: %s twice\n%s", s.ID, c.ID, dump(res))
			}
			seen[c.ID] = true
			if c.Message.FR == "" || c.Message.EN == "" {
				t.Errorf("%s: empty message %+v", c.ID, c.Message)
			}
			for _, en := range []string{"no answer within", "broken off", "closed the connection", "interrupted"} {
				if strings.Contains(c.Message.FR, en) {
					t.Errorf("%s: English %q in French message %q", c.ID, en, c.Message.FR)
				}
			}
		}
	}
}

// observerFunc adapts a Waiting callback to Observer.
type observerFunc func(what string)

func (observerFunc) StepStarted(Step)                       {}
func (observerFunc) StepFinished(Step)                      {}
func (f observerFunc) Waiting(what check.Text, _ time.Time) { f(what.EN) }

// TestSecretsNeverLeak: passwords and tokens (right or wrong, plain or
// base64, as SASL payloads) appear in no output, transcript or message the
// probe produces.
func TestSecretsNeverLeak(t *testing.T) {
	wrong := "Wrong-Secret-Value-987"
	for _, tc := range []struct{ mech, secret, env string }{
		{MechPlain, testPassword, "PROBE_PASSWORD"},
		{MechLogin, testPassword, "PROBE_PASSWORD"},
		{MechXOAuth2, testToken, "PROBE_TOKEN"},
		{MechPlain, wrong, "PROBE_PASSWORD"},
		{MechXOAuth2, wrong, "PROBE_TOKEN"},
	} {
		t.Run(tc.mech+"/"+tc.secret[:5], func(t *testing.T) {
			te := startMock(t, mocks.Config{})
			te.yaml["auth"] = te.authBlock(t, tc.mech)
			te.env[tc.env] = tc.secret
			res := te.run(t, context.Background())
			if res.Met != (tc.secret != wrong) {
				t.Fatalf("met = %v\n%s", res.Met, dump(res))
			}
			assertNoSecret(t, res, tc.secret)
			if !bytes.Contains(res.SMTPTranscript, []byte("AUTH")) || !bytes.Contains(res.SMTPTranscript, []byte(redacted)) {
				t.Errorf("SMTP transcript lacks the redacted AUTH:\n%s", res.SMTPTranscript)
			}
		})
	}
}

// assertNoSecret fails when secret, plain, hex-encoded or in a base64 SASL payload,
// appears in the transcripts, messages, JSON, text or JUnit of res.
func assertNoSecret(t *testing.T, res *Result, secret string) {
	t.Helper()
	var all bytes.Buffer
	all.Write(res.SMTPTranscript)
	all.Write(res.IMAPTranscript)
	for _, m := range res.Messages {
		all.Write(m.Raw)
	}
	if err := res.WriteJSON(&all); err != nil {
		t.Fatal(err)
	}
	for _, l := range []check.Lang{check.FR, check.EN} {
		res.WriteText(&all, l)
		res.JUnit(l).Write(&all)
	}
	forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + testAccount + "\x00" + secret)),
		base64.StdEncoding.EncodeToString([]byte("user=" + testAccount + "\x01auth=Bearer " + secret + "\x01\x01"))}
	forms = append(forms, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))))
	for _, f := range forms {
		if bytes.Contains(all.Bytes(), []byte(f)) {
			t.Errorf("secret form %q leaked", f)
		}
	}
}

// TestInterruptGivesPartialResult: cancelling while waiting for the reply
// ends the run at once with Interrupted set and the steps done so far.
func TestInterruptGivesPartialResult(t *testing.T) {
	f, _ := mocks.ParseFault("no-reply")
	te := startMock(t, mocks.Config{Faults: []mocks.Fault{f}})
	te.yaml["timeouts"] = "{step: 5s, reply: 1m}"
	cfg := te.config(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := observerFunc(func(string) { time.AfterFunc(100*time.Millisecond, cancel) })
	start := time.Now()
	res, err := Run(ctx, cfg, Options{Getenv: func(k string) string { return te.env[k] }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	if !res.Interrupted || res.Met || res.QueueID == "" {
		t.Errorf("interrupted %v met %v queue %q\n%s", res.Interrupted, res.Met, res.QueueID, dump(res))
	}
	if c, _ := checkStatus(res, RuleReply); c.Status != Fail {
		t.Errorf("reply check %s", c.Status)
	}
}

// TestMailboxMode: the probe logs into the citizen test mailbox, finds its
// message and replies from there.
func TestMailboxMode(t *testing.T) {
	te := startMock(t, mocks.Config{CitizenAccounts: []mocks.Account{{Address: testCitizen, Password: citizenPass}}})
	te.yaml["target"] = testCitizen
	te.yaml["reply"] = fmt.Sprintf("{mode: mailbox, mailbox: {smtp: %s, imap: %s, auth: {mechanism: plain, username: %s, password_env: CITIZEN_PASSWORD}}}",
		server(te.op.SMTPAddr(), "starttls"), server(te.op.IMAPAddr(), "starttls"), testCitizen)
	res := te.run(t, context.Background())
	if !res.Met {
		t.Fatalf("not met:\n%s", dump(res))
	}
	for _, id := range []string{RuleCitizenReceived, RuleCitizenReplied, RuleCorrelation} {
		if c, _ := checkStatus(res, id); c.Status != Pass {
			t.Errorf("%s = %s", id, c.Status)
		}
	}
	if bytes.Contains(res.IMAPTranscript, []byte(citizenPass)) || bytes.Contains(res.SMTPTranscript, []byte(citizenPass)) {
		t.Error("citizen password leaked")
	}
}

// TestManualMode: the operator is told what to do; here the "operator"
// replies from the citizen mailbox when told.
func TestManualMode(t *testing.T) {
	te := startMock(t, mocks.Config{CitizenAccounts: []mocks.Account{{Address: testCitizen, Password: citizenPass}}})
	te.yaml["target"] = testCitizen
	te.yaml["reply"] = "{mode: manual}"
	cfg := te.config(t)
	var told string
	var mu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	obs := observerFunc(func(what string) {
		mu.Lock()
		told = what
		mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); replyAsCitizen(t, te, cfg) }()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := Run(ctx, cfg, Options{Getenv: func(k string) string { return te.env[k] }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(told, "Now reply, from mailbox "+testCitizen) {
		t.Errorf("instruction %q", told)
	}
	if !out.Met {
		t.Fatalf("not met:\n%s", dump(out))
	}
}

// replyAsCitizen answers the probe's message as a person would: it finds
// the newest message in the citizen INBOX and replies to it through the
// citizen's own logins (the mailbox-mode code path).
func replyAsCitizen(t *testing.T, te *testEnv, cfg Config) {
	ctx := context.Background()
	host, port, _ := net.SplitHostPort(te.op.IMAPAddr())
	ip, _ := strconv.Atoi(port)
	_, sport, _ := net.SplitHostPort(te.op.SMTPAddr())
	sp, _ := strconv.Atoi(sport)
	cfg.Reply.Mailbox = &MailboxConfig{SMTP: Server{Host: host, Port: sp, TLS: TLSStartTLS}, IMAP: Server{Host: host, Port: ip, TLS: TLSStartTLS}}
	r := &runner{cfg: cfg, anchors: testAnchors(t, cfg), opts: Options{Now: time.Now, Observer: nopObserver{}},
		citizen: &credentials{mech: MechPlain, username: testCitizen, password: citizenPass},
		smtpTr:  newTranscript(false, time.Now()), imapTr: newTranscript(true, time.Now())}
	s := &stepRec{step: &Step{}}
	is, ok := imapOpen(ctx, s, r.connector(imapRules, "reply.mailbox.imap", cfg.Reply.Mailbox.IMAP, r.imapTr, r.citizen), &Endpoint{})
	if !ok || !is.login(ctx, s, r.citizen) {
		t.Errorf("citizen IMAP: %+v", s.step.Checks)
		return
	}
	is.uidNext = 1
	var news []fetched
	for i := 0; i < 100 && len(news) == 0; i++ {
		news, _ = is.scan(ctx)
		time.Sleep(10 * time.Millisecond)
	}
	is.logout(ctx)
	if len(news) == 0 {
		t.Error("no message in the citizen mailbox")
		return
	}
	mr, err := mail.CreateReader(bytes.NewReader(news[len(news)-1].raw))
	if err != nil {
		t.Error(err)
		return
	}
	id, _ := mr.Header.MessageID()
	subj, _ := mr.Header.Subject()
	r.citizenReply(ctx, s, &outgoing{messageID: id, subject: subj})
	if !s.ok() {
		t.Errorf("citizen reply: %+v", s.step.Checks)
	}
}

// TestAttachCDAEndToEnd: a CDA travels as IHE_XDM.ZIP with the MSSanté
// headers, and the result carries the document's check.
func TestAttachCDAEndToEnd(t *testing.T) {
	te := startMock(t, mocks.Config{})
	data, err := os.ReadFile(filepath.Join("..", "testdata", "cda", "qualified-test.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(te.dir, "doc.xml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	te.yaml["attach"] = "doc.xml"
	te.yaml["message"] = "{nil: REF-42, mdn: true}"
	res := te.run(t, context.Background())
	if !res.Met || res.Document == nil || res.Attachment == nil || res.Attachment.Name != "doc.xml" {
		t.Fatalf("met %v document %v attachment %v\n%s", res.Met, res.Document != nil, res.Attachment, dump(res))
	}
	sent := string(res.Messages[0].Raw)
	for _, want := range []string{"X-Mss-Ins: O", "X-Mss-Codecda: ", "X-Mss-Nil: REF-42", "Disposition-Notification-To:", "IHE_XDM.ZIP", "XDM/1.0/DDM+"} {
		if !strings.Contains(sent, want) {
			t.Errorf("sent message lacks %q", want)
		}
	}
	// The mock answers NOTIFY=SUCCESS with a "delivered" DSN before the
	// auto-reply: it is recognised and listed.
	if c, _ := checkStatus(res, RuleReports); c.Status != Pass || !strings.Contains(c.Message.EN, "DSN delivered") {
		t.Errorf("%s %s %q", RuleReports, c.Status, c.Message.EN)
	}
}

// TestCertificateExpiryWarning: under 30 days left is a warning, and the
// verdict stands.
func TestCertificateExpiryWarning(t *testing.T) {
	te := startMock(t, mocks.Config{})
	first := te.run(t, context.Background())
	leaf, err := x509.ParseCertificate(first.SMTP.PeerChain[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg := te.config(t)
	res, err := Run(context.Background(), cfg, Options{Getenv: func(k string) string { return te.env[k] },
		Now: func() time.Time { return leaf.NotAfter.Add(-10 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := checkStatus(res, RuleSMTPExpiry)
	if c.Status != Warn || !strings.Contains(c.Message.EN, "renew it") || !res.Met {
		t.Errorf("%s %q met %v", c.Status, c.Message.EN, res.Met)
	}
}

// testAnchors trusts the configuration's trust.ca_file alone.
func testAnchors(t *testing.T, cfg Config) *trust.Anchors {
	t.Helper()
	extra, err := loadRoots(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return trust.NewAnchors(nil, nil, nil).WithExtra(extra...)
}
