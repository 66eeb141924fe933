package mocks

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// rawSMTP runs a cleartext dialogue and returns each reply's first line.
func rawSMTP(t *testing.T, addr string, lines ...string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return smtpDialogue(t, c, lines...)
}

// smtpDialogue speaks lines on c and returns each reply's first line,
// the greeting first.
func smtpDialogue(t *testing.T, c net.Conn, lines ...string) []string {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	read := func() string { return smtpReply(t, br) }
	out := []string{read()}
	for _, l := range lines {
		fmt.Fprintf(c, "%s\r\n", l)
		out = append(out, read())
	}
	return out
}

func TestRefusedBeforeTLS(t *testing.T) {
	op := startOp(t, testConfig())
	r := rawSMTP(t, op.SMTPAddr(), "EHLO client.test", "AUTH PLAIN AGRyLmhvdXNlQGhvcGl0YWwudGVzdC5tc3NhbnRlLmZyAHMzY3JldC1wdw==", "MAIL FROM:<"+doctor+">")
	for i, want := range []string{"220", "250", "530", "530"} {
		if !strings.HasPrefix(r[i], want) {
			t.Errorf("reply %d = %q, want %s", i, r[i], want)
		}
	}
	// IMAP: LOGIN before STARTTLS is refused (PRIVACYREQUIRED/LOGINDISABLED).
	c, err := imapclient.DialInsecure(op.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(doctor, pw).Wait(); err == nil {
		t.Error("IMAP LOGIN accepted in cleartext")
	}
}

// xoauth2Client is the client side of XOAUTH2 (go-sasl has none).
type xoauth2Client struct{ user, token string }

func (c xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}
func (c xoauth2Client) Next([]byte) ([]byte, error) { return []byte{}, nil }

// externalClient is SASL EXTERNAL with an empty authorization identity.
type externalClient struct{}

func (externalClient) Start() (string, []byte, error) { return "EXTERNAL", []byte{}, nil }
func (externalClient) Next([]byte) ([]byte, error)    { return []byte{}, nil }

func TestSMTPAuthMechanisms(t *testing.T) {
	op := startOp(t, testConfig())
	for _, tc := range []struct {
		name string
		c    sasl.Client
		code int
	}{
		{"plain", sasl.NewPlainClient("", doctor, pw), 0},
		{"login", sasl.NewLoginClient(doctor, pw), 0},
		{"xoauth2", xoauth2Client{doctor, "psc-token-1"}, 0},
		{"plain bad password", sasl.NewPlainClient("", doctor, "nope"), 535},
		{"login bad password", sasl.NewLoginClient(doctor, "nope"), 535},
		{"xoauth2 bad token", xoauth2Client{doctor, "stale"}, 535},
		{"plain unknown user", sasl.NewPlainClient("", "who@hopital.test.mssante.fr", pw), 535},
		{"plain authzid of someone else", sasl.NewPlainClient(nurse, doctor, pw), 535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dialSMTP(t, op, clientTLS(op), false)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Auth(tc.c)
			if got := smtpCode(err); got != tc.code {
				t.Fatalf("AUTH: %v (code %d), want code %d", err, got, tc.code)
			}
		})
	}
	for _, e := range op.Events() {
		if strings.Contains(e.Detail+e.User, pw) || strings.Contains(e.Detail, "psc-token-1") || strings.Contains(e.Detail, "stale") {
			t.Errorf("event leaks a secret: %+v", e)
		}
	}
}

func TestClientCertificateLogin(t *testing.T) {
	op := startOp(t, testConfig())
	if _, err := op.IssueClientCert("nobody@hopital.test.mssante.fr"); err == nil {
		t.Error("issued a certificate for an unknown mailbox")
	}
	cert, err := op.IssueClientCert(nurse)
	if err != nil {
		t.Fatal(err)
	}
	conf := clientTLS(op)
	conf.Certificates = []tls.Certificate{cert}
	// SMTP: the certificate logs in without AUTH (implicit TLS listener).
	c, err := dialSMTP(t, op, conf, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(c, nurse, []string{doctor}, msg(nurse, doctor, "<cert-1@x>", "cert", ""), nil); err != nil {
		t.Fatalf("send with client certificate: %v", err)
	}
	// SMTP AUTH EXTERNAL on STARTTLS.
	c2, err := dialSMTP(t, op, conf, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Auth(externalClient{}); err != nil {
		t.Fatalf("AUTH EXTERNAL: %v", err)
	}
	// IMAP AUTHENTICATE EXTERNAL.
	ic, err := imapclient.DialStartTLS(op.IMAPAddr(), &imapclient.Options{TLSConfig: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Authenticate(externalClient{}); err != nil {
		t.Fatalf("IMAP AUTHENTICATE EXTERNAL: %v", err)
	}
	// The doctor's account does not allow certificates.
	dcert, err := op.IssueClientCert(doctor)
	if err != nil {
		t.Fatal(err)
	}
	conf.Certificates = []tls.Certificate{dcert}
	c3, err := dialSMTP(t, op, conf, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c3.Mail(doctor, nil); smtpCode(err) != 530 {
		t.Errorf("MAIL with a certificate of a password-only account: %v, want 530", err)
	}
}

func TestIMAPAuthMechanisms(t *testing.T) {
	op := startOp(t, testConfig())
	for _, tc := range []struct {
		name string
		c    sasl.Client
		ok   bool
	}{
		{"plain", sasl.NewPlainClient("", doctor, pw), true},
		{"login", sasl.NewLoginClient(doctor, pw), true},
		{"xoauth2", xoauth2Client{doctor, "psc-token-1"}, true},
		{"xoauth2 bad token", xoauth2Client{doctor, "stale"}, false},
		{"plain bad password", sasl.NewPlainClient("", doctor, "x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialIMAP(t, op, nil)
			if err := c.Authenticate(tc.c); (err == nil) != tc.ok {
				t.Fatalf("AUTHENTICATE: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	c := dialIMAP(t, op, nil)
	if err := c.Login(doctor, "wrong-"+pw).Wait(); err == nil {
		t.Error("LOGIN with a wrong password accepted")
	}
	for _, e := range op.Events() {
		if s := fmt.Sprintf("%+v", e); strings.Contains(s, pw) || strings.Contains(s, "psc-token-1") || strings.Contains(s, "stale") {
			t.Errorf("event leaks a secret: %s", s)
		}
	}
}

func TestRecipientRules(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	if err := c.Mail(doctor, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rcpt, want string
		code       int
	}{
		{patientA, "", 0},
		{autoRep, "", 0},
		{"279035121518988@patient.mssante.fr", "control key", 550},
		{"27903512151898@patient.mssante.fr", "15-character", 550},
		{"jean.dupont@patient.mssante.fr", "matricule INS", 550},
		{"unknown@hopital.test.mssante.fr", "no such mailbox", 550},
		{"someone@example.org", "relay denied", 550},
	} {
		err := c.Rcpt(tc.rcpt, nil)
		if smtpCode(err) != tc.code || (tc.want != "" && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("RCPT %s: %v, want %d %q", tc.rcpt, err, tc.code, tc.want)
		}
	}
	if err := c.Mail(nurse, nil); smtpCode(err) != 503 && smtpCode(err) != 553 {
		t.Errorf("MAIL as someone else: %v", err)
	}
	c.Reset()
	if err := c.Mail(nurse, nil); smtpCode(err) != 553 {
		t.Errorf("MAIL FROM another mailbox: %v, want 553", err)
	}
}

func TestTrustSpace(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedDomains = []string{"autre-hopital.mssante.fr", "patient.mssante.fr"}
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<t-1@x>", "s", ""), nil)
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), RuleTrustSpace) {
		t.Fatalf("untrusted sender domain: %v, want 550 %s", err, RuleTrustSpace)
	}
	// Establishment-to-establishment mail is not a citizen rule.
	if err := send(c, doctor, []string{nurse}, msg(doctor, nurse, "<t-2@x>", "s", ""), nil); err != nil {
		t.Fatalf("internal mail: %v", err)
	}
}

func TestLoadWhitelist(t *testing.T) {
	doms, err := LoadWhitelistFile(filepath.Join("..", "testdata", "mocks", "listeblanche-extrait.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(doms, ",") != "hopital.test.mssante.fr,mssante.apicrypt.org,patient.mssante.fr" {
		t.Errorf("domains %v", doms)
	}
	for _, bad := range []string{"<html/>", "<ListeBlancheMSSante/>", "not xml", "<ListeBlancheMSSante><ListeDomaines><Domaine><Nom>a.fr</Nom></Domaine>"} {
		if _, err := LoadWhitelist(strings.NewReader(bad)); err == nil {
			t.Errorf("LoadWhitelist(%q) accepted", bad)
		}
	}
	base := os.Getenv("MSSCPROBE_SHARED")
	if base == "" {
		base = filepath.Join("..", "..", "shared")
	}
	real := filepath.Join(base, "corpus", "whitelist", "listeblanchemssante.xml")
	if _, err := os.Stat(real); err != nil {
		t.Skipf("%s absent: this part reads the ANS whitelist of the project's shared research folder (../shared beside the repository, or $MSSCPROBE_SHARED; see README.md), which is not in the repository", real)
	}
	doms, err = LoadWhitelistFile(real)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range doms {
		found = found || d == "patient.mssante.fr"
	}
	if !found || len(doms) < 100 {
		t.Errorf("real whitelist: %d domains, patient.mssante.fr found=%v", len(doms), found)
	}
}

func TestCitizenCannotWriteFirstAndMayReply(t *testing.T) {
	op := startOp(t, testConfig())
	cit := mustSMTP(t, op, patientA)
	err := send(cit, patientA, []string{doctor}, msg(patientA, doctor, "<c-1@x>", "Bonjour docteur", ""), nil)
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), RuleCitizenFirst) {
		t.Fatalf("citizen writing first: %v, want 550 %s", err, RuleCitizenFirst)
	}
	err = send(cit, patientA, []string{patientB}, msg(patientA, patientB, "<c-2@x>", "s", ""), nil)
	if smtpCode(err) != 550 {
		t.Fatalf("citizen to citizen: %v, want 550", err)
	}
	doc := mustSMTP(t, op, doctor)
	if err := send(doc, doctor, []string{patientA}, msg(doctor, patientA, "<d-1@x>", "Résultats", ""), nil); err != nil {
		t.Fatal(err)
	}
	if err := send(cit, patientA, []string{doctor}, msg(patientA, doctor, "<c-3@x>", "Re: Résultats", "In-Reply-To: <d-1@x>\r\n"), nil); err != nil {
		t.Fatalf("citizen reply: %v", err)
	}
	if got := withHeader(inbox(t, op, doctor), "Message-ID: <c-3@x>"); len(got) != 1 {
		t.Fatalf("reply delivered %d times", len(got))
	}
	// The citizen reads the message over IMAP.
	if got := withHeader(inbox(t, op, patientA), "Message-ID: <d-1@x>"); len(got) != 1 {
		t.Fatalf("citizen INBOX has %d copies of the message", len(got))
	}
}

func TestThreadClosedByFIN(t *testing.T) {
	op := startOp(t, testConfig())
	doc := mustSMTP(t, op, doctor)
	cit := mustSMTP(t, op, patientA)
	reply := func(ref, id string) error {
		return send(cit, patientA, []string{doctor}, msg(patientA, doctor, id, "Re", "In-Reply-To: "+ref+"\r\n"), nil)
	}
	for _, m := range []struct{ id, subject, extra string }{
		{"<open-1@x>", "ouvert", ""},
		{"<fin-1@x>", "fermé", "X-MSS-MES: FIN\r\n"},
	} {
		if err := send(doc, doctor, []string{patientA}, msg(doctor, patientA, m.id, m.subject, m.extra), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := reply("<fin-1@x>", "<r-1@x>"); smtpCode(err) != 550 || !strings.Contains(err.Error(), RuleThreadClosed) {
		t.Fatalf("reply to X-MSS-MES: FIN message: %v, want 550 %s", err, RuleThreadClosed)
	}
	if err := reply("<open-1@x>", "<r-2@x>"); err != nil {
		t.Fatalf("reply to an open message: %v", err)
	}
	// [FIN] subject closes every earlier message of the pair.
	if err := send(doc, doctor, []string{patientA}, msg(doctor, patientA, "<fin-2@x>", "[FIN] fin de conversation", ""), nil); err != nil {
		t.Fatal(err)
	}
	if err := reply("<open-1@x>", "<r-3@x>"); smtpCode(err) != 550 || !strings.Contains(err.Error(), RuleThreadClosed) {
		t.Fatalf("reply after [FIN]: %v, want 550 %s", err, RuleThreadClosed)
	}
}

func TestAutoReplyHonoursFIN(t *testing.T) {
	op := startOp(t, testConfig())
	doc := mustSMTP(t, op, doctor)
	if err := send(doc, doctor, []string{autoRep}, msg(doctor, autoRep, "<nofin@x>", "fin", "X-MSS-MES: FIN\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, op, doctor)); n != 0 {
		t.Fatalf("auto-reply to a closed message: %d messages", n)
	}
	ev := eventsOf(op, KindAutoReply)
	if len(ev) != 1 || ev[0].Rule != RuleThreadClosed {
		t.Fatalf("events %+v", ev)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 10000
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	big := msg(doctor, patientA, "<big@x>", "big", "") + strings.Repeat("0123456789\r\n", 1000)
	err := send(c, doctor, []string{patientA}, big, nil)
	if smtpCode(err) != 552 || !strings.Contains(err.Error(), RuleSize) {
		t.Fatalf("oversized message: %v, want 552 %s", err, RuleSize)
	}
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<small@x>", "s", ""), nil); err != nil {
		t.Fatalf("small message after refusal: %v", err)
	}
	if d := DefaultMaxMessageBytes; d != 25<<20 {
		t.Errorf("default limit %d", d)
	}
}

func TestNILWarnOrRefuse(t *testing.T) {
	noNIL := func(id string) string {
		return strings.Replace(msg(doctor, patientA, id, "s", ""), "X-MSS-NIL: msscprobe-test\r\n", "", 1)
	}
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, noNIL("<nil-1@x>"), nil); err != nil {
		t.Fatalf("warn mode: %v", err)
	}
	if w := eventsOf(op, KindWarn); len(w) != 1 || w[0].Rule != RuleNIL {
		t.Fatalf("warn events %+v", w)
	}
	cfg := testConfig()
	cfg.NILMode = NILRefuse
	op2 := startOp(t, cfg)
	c2 := mustSMTP(t, op2, doctor)
	if err := send(c2, doctor, []string{patientA}, noNIL("<nil-2@x>"), nil); smtpCode(err) != 550 || !strings.Contains(err.Error(), RuleNIL) {
		t.Fatalf("refuse mode: %v", err)
	}
	// Mixed recipients: the professional gets it, the citizen a DSN.
	if err := send(c2, doctor, []string{nurse, patientA}, noNIL("<nil-3@x>"), nil); err != nil {
		t.Fatalf("mixed recipients: %v", err)
	}
	dsn := withHeader(inbox(t, op2, doctor), "report-type=delivery-status")
	if len(dsn) != 1 || !strings.Contains(dsn[0], "Action: failed") || !strings.Contains(dsn[0], "Final-Recipient: rfc822; "+patientA) {
		t.Fatalf("DSN for the refused citizen: %q", dsn)
	}
	if len(inbox(t, op2, nurse)) != 1 {
		t.Error("the professional recipient did not get the message")
	}
}

func TestMDN(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientB}, msg(doctor, patientB, "<mdn-1@x>", "accusé", "Disposition-Notification-To: <"+doctor+">\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	mdn := withHeader(inbox(t, op, doctor), "report-type=disposition-notification")
	if len(mdn) != 1 {
		t.Fatalf("%d MDNs", len(mdn))
	}
	for _, want := range []string{"Original-Message-ID: <mdn-1@x>", "Disposition: automatic-action/MDN-sent-automatically; processed",
		"Final-Recipient: rfc822;" + patientB, "Content-Type: message/rfc822"} {
		if !strings.Contains(mdn[0], want) {
			t.Errorf("MDN lacks %q", want)
		}
	}
}

func TestDSNNotifySuccess(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	ropts := &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess}}
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<dsn-1@x>", "s", ""), ropts); err != nil {
		t.Fatal(err)
	}
	dsn := withHeader(inbox(t, op, doctor), "report-type=delivery-status")
	if len(dsn) != 1 || !strings.Contains(dsn[0], "Action: delivered") || !strings.Contains(dsn[0], "Status: 2.0.0") {
		t.Fatalf("success DSN: %q", dsn)
	}
}

func TestAutoReplyToReplyToAndDelay(t *testing.T) {
	cfg := testConfig()
	cfg.AutoReplyDelay = 200 * time.Millisecond
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{autoRep}, msg(doctor, autoRep, "<rt-2@x>", "s", "Reply-To: <"+nurse+">\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, op, nurse)); n != 0 {
		t.Fatalf("reply before its delay: %d", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(inbox(t, op, nurse)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no reply to the Reply-To mailbox")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(inbox(t, op, doctor)) != 0 {
		t.Error("reply went to From despite an MSS Reply-To")
	}
}

func TestAutoReplyCitizens(t *testing.T) {
	cfg := testConfig()
	cfg.AutoReplyCitizens = true
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientB}, msg(doctor, patientB, "<ac-1@x>", "s", ""), nil); err != nil {
		t.Fatal(err)
	}
	if r := withHeader(inbox(t, op, doctor), "In-Reply-To: <ac-1@x>"); len(r) != 1 || !strings.Contains(r[0], patientB) {
		t.Fatalf("citizen auto-reply: %d", len(r))
	}
}

// TestDSNNotify: a recipient refused after DATA gets a failure DSN only
// when its NOTIFY asks for one (RFC 3461 §4.1), with its ENVID and ORCPT.
func TestDSNNotify(t *testing.T) {
	cfg := testConfig()
	cfg.NILMode = NILRefuse
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	noNIL := strings.Replace(msg(doctor, patientA, "<n@x>", "s", ""), "X-MSS-NIL: msscprobe-test\r\n", "", 1)
	for i, tc := range []struct {
		notify []smtp.DSNNotify
		dsn    bool
	}{
		{nil, true},
		{[]smtp.DSNNotify{smtp.DSNNotifyFailure}, true},
		{[]smtp.DSNNotify{smtp.DSNNotifySuccess}, false},
		{[]smtp.DSNNotify{smtp.DSNNotifyDelayed}, false},
		{[]smtp.DSNNotify{smtp.DSNNotifyNever}, false},
	} {
		envid := fmt.Sprintf("env-%d", i)
		if err := c.Mail(doctor, &smtp.MailOptions{EnvelopeID: envid}); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(nurse, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(patientA, &smtp.RcptOptions{Notify: tc.notify, OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "orig+" + patientA}); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(noNIL))
		if err := w.Close(); err != nil {
			t.Fatalf("NOTIFY %v: %v", tc.notify, err)
		}
		var got []string
		for _, m := range withHeader(inbox(t, op, doctor), "report-type=delivery-status") {
			if strings.Contains(m, fmt.Sprintf("env-%d", i)) {
				got = append(got, m)
			}
		}
		if len(got) != map[bool]int{true: 1}[tc.dsn] {
			t.Errorf("NOTIFY %v: %d DSNs, want DSN=%v", tc.notify, len(got), tc.dsn)
			continue
		}
		if tc.dsn && (!strings.Contains(got[0], "Original-Envelope-Id: "+envid+"\r\n") || !strings.Contains(got[0], "Original-Recipient: rfc822; orig+"+patientA+"\r\n")) {
			t.Errorf("DSN lacks ENVID or ORCPT:\n%s", got[0])
		}
	}
}
