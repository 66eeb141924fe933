package mocks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Fault
	}{
		{"rcpt=550", Fault{Name: FaultRcpt, Code: 550}},
		{"rcpt=550@0.3", Fault{Name: FaultRcpt, Code: 550, Probability: 0.3}},
		{"auth=454#2", Fault{Name: FaultAuth, Code: 454, Count: 2}},
		{"greylist=2", Fault{Name: FaultGreylist, Count: 2}},
		{"delay-mail=2s", Fault{Name: FaultDelayMail, Delay: 2 * time.Second}},
		{"bounce", Fault{Name: FaultBounce, Code: 550}},
		{"no-reply", Fault{Name: FaultNoReply}},
		{"TLS-Expired", Fault{Name: FaultTLSExpired}},
	} {
		got, err := ParseFault(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := ParseFault(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v %v", got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "rcpt", "rcpt=250", "rcpt=abc", "rcpt=550@2", "rcpt=550#0", "greylist=0",
		"delay-mail=soon", "delay-mail=-1s", "no-reply=1", "explode", "delay-quit=1s"} {
		if _, err := ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
	if _, err := Start(t.Context(), Config{Faults: []Fault{{Name: "nope"}}}); err == nil {
		t.Error("Start accepted an unknown fault")
	}
}

func faultOp(t *testing.T, spec ...string) *Operator {
	t.Helper()
	cfg := testConfig()
	for _, s := range spec {
		f, err := ParseFault(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Faults = append(cfg.Faults, f)
	}
	return startOp(t, cfg)
}

func TestPhaseFaults(t *testing.T) {
	for _, tc := range []struct {
		fault string
		code  int
		ec    smtp.EnhancedCode
	}{
		{"auth=454", 454, smtp.EnhancedCode{4, 7, 0}},
		{"auth=535", 535, smtp.EnhancedCode{5, 7, 8}},
		{"mail=451", 451, smtp.EnhancedCode{4, 3, 0}},
		{"rcpt=550", 550, smtp.EnhancedCode{5, 3, 0}},
		{"data=554", 554, smtp.EnhancedCode{5, 3, 0}},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			op := faultOp(t, tc.fault)
			c, err := dialSMTP(t, op, clientTLS(op), false)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Auth(plain(doctor))
			if err == nil {
				err = send(c, doctor, []string{patientA}, msg(doctor, patientA, "<f@x>", "s", ""), nil)
			}
			if se, ok := err.(*smtp.SMTPError); !ok || se.Code != tc.code || se.EnhancedCode != tc.ec {
				t.Fatalf("got %v, want %d %v", err, tc.code, tc.ec)
			}
			if ev := eventsOf(op, KindFault); len(ev) != 1 || ev[0].Code != tc.code {
				t.Errorf("fault events %+v", ev)
			}
			if countMailbox(t, op, doctor, "INBOX") != 0 {
				t.Error("auto-reply despite the fault")
			}
		})
	}
}

func TestConnectFault(t *testing.T) {
	op := faultOp(t, "connect=554#1")
	// 554: the server waits for QUIT and answers 503 meanwhile (RFC 5321 §3.1).
	got := rawSMTP(t, op.SMTPAddr(), "EHLO client.test", "MAIL FROM:<"+doctor+">", "QUIT")
	for i, want := range []string{"554 5.3.2", "503 5.5.1", "503 5.5.1", "221"} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("reply %d = %q, want %s", i, got[i], want)
		}
	}
	if _, err := dialSMTP(t, op, clientTLS(op), false); err != nil {
		t.Fatalf("second connection (count 1 exhausted): %v", err)
	}
	// 421: the server closes at once (RFC 5321 §3.8).
	op = faultOp(t, "connect=421")
	c, err := net.DialTimeout("tcp", op.SMTPAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(b), "421 4.3.2 ") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("connect=421: %q then %v, want one 421 line then EOF", b, err)
	}
}

func TestFaultProbabilityAndCount(t *testing.T) {
	op := faultOp(t, "rcpt=450#1", "mail=451@0.5")
	c := mustSMTP(t, op, doctor)
	mailFails := 0
	for range 40 {
		if err := c.Mail(doctor, nil); err != nil {
			mailFails++
		}
		c.Reset()
	}
	if mailFails == 0 || mailFails == 40 {
		t.Errorf("mail=451@0.5 failed %d/40 times", mailFails)
	}
	var codes []int
	for range 2 {
		for c.Mail(doctor, nil) != nil {
		}
		codes = append(codes, smtpCode(c.Rcpt(patientA, nil)))
		c.Reset()
	}
	if codes[0] != 450 || codes[1] != 0 {
		t.Errorf("rcpt=450#1 gave %v", codes)
	}
}

func TestGreylist(t *testing.T) {
	op := faultOp(t, "greylist=2")
	c := mustSMTP(t, op, doctor)
	for i, want := range []int{451, 451, 0} {
		err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<g@x>", "s", ""), nil)
		if smtpCode(err) != want {
			t.Fatalf("try %d: %v, want %d", i+1, err, want)
		}
	}
}

func TestDropData(t *testing.T) {
	op := faultOp(t, "drop-data")
	c := mustSMTP(t, op, doctor)
	err := send(c, doctor, []string{autoRep}, msg(doctor, autoRep, "<drop@x>", "s", "")+strings.Repeat("x", 4096), nil)
	var se *smtp.SMTPError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("DATA over a dropped connection: %v", err)
	}
	if countMailbox(t, op, autoRep, "INBOX") != 0 || countMailbox(t, op, doctor, "INBOX") != 0 {
		t.Error("a dropped message was delivered")
	}
}

func TestDelayFaults(t *testing.T) {
	for _, name := range []string{"connect", "ehlo", "auth", "mail", "rcpt", "data"} {
		t.Run(name, func(t *testing.T) {
			op := faultOp(t, "delay-"+name+"=150ms")
			start := time.Now()
			c, err := dialSMTP(t, op, clientTLS(op), false)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Auth(plain(doctor)); err != nil {
				t.Fatal(err)
			}
			if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<d@x>", "s", ""), nil); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("transaction took %s despite delay-%s=150ms", d, name)
			}
		})
	}
}

func TestReplyFaults(t *testing.T) {
	op := faultOp(t, "no-reply")
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{autoRep}, msg(doctor, autoRep, "<nr@x>", "s", ""), nil); err != nil {
		t.Fatal(err)
	}
	if n := countMailbox(t, op, doctor, "INBOX"); n != 0 {
		t.Errorf("no-reply: %d messages", n)
	}
	op2 := faultOp(t, "reply-no-in-reply-to")
	c2 := mustSMTP(t, op2, doctor)
	if err := send(c2, doctor, []string{autoRep}, msg(doctor, autoRep, "<nirt@x>", "s", ""), nil); err != nil {
		t.Fatal(err)
	}
	got := inbox(t, op2, doctor)
	if len(got) != 1 || strings.Contains(got[0], "In-Reply-To") || strings.Contains(got[0], "References") {
		t.Fatalf("reply-no-in-reply-to: %q", got)
	}
}

func TestBounceFault(t *testing.T) {
	op := faultOp(t, "bounce=550")
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<b@x>", "s", ""), nil); err != nil {
		t.Fatalf("bounce is accepted first: %v", err)
	}
	dsn := withHeader(inbox(t, op, doctor), "Undelivered Mail Returned to Sender")
	if len(dsn) != 1 || !strings.Contains(dsn[0], "Action: failed") || !strings.Contains(dsn[0], "Diagnostic-Code: smtp; 550") {
		t.Fatalf("bounce DSN: %q", dsn)
	}
	if countMailbox(t, op, patientA, "INBOX") != 0 {
		t.Error("bounced message delivered")
	}
}

func TestStartTLSMissing(t *testing.T) {
	op := faultOp(t, "starttls-missing")
	c, err := dialSMTP(t, op, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered")
	}
	if err := c.Mail(doctor, nil); smtpCode(err) != 530 {
		t.Errorf("MAIL without TLS: %v", err)
	}
	if _, err := imapclient.DialStartTLS(op.IMAPAddr(), &imapclient.Options{TLSConfig: clientTLS(op)}); err == nil {
		t.Error("IMAP STARTTLS succeeded")
	}
	// Implicit TLS still works.
	if _, err := dialSMTP(t, op, clientTLS(op), true); err != nil {
		t.Errorf("SMTPS: %v", err)
	}
}

func TestTLSCertificateFaults(t *testing.T) {
	for _, tc := range []struct {
		fault string
		check func(error) bool
	}{
		{"tls-expired", func(err error) bool {
			var e x509.CertificateInvalidError
			return errors.As(err, &e) && e.Reason == x509.Expired
		}},
		{"tls-self-signed", func(err error) bool {
			var e x509.UnknownAuthorityError
			return errors.As(err, &e)
		}},
		{"tls-wrong-host", func(err error) bool {
			var e x509.HostnameError
			return errors.As(err, &e)
		}},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			op := faultOp(t, tc.fault)
			_, err := dialSMTP(t, op, clientTLS(op), false)
			if !tc.check(err) {
				t.Errorf("SMTP STARTTLS: %v", err)
			}
			_, err = imapclient.DialTLS(op.IMAPSAddr(), &imapclient.Options{TLSConfig: clientTLS(op)})
			if !tc.check(err) {
				t.Errorf("IMAPS: %v", err)
			}
		})
	}
}

func TestTLSLegacy(t *testing.T) {
	op := faultOp(t, "tls-legacy")
	if _, err := dialSMTP(t, op, clientTLS(op), true); err == nil {
		t.Fatal("TLS 1.2 client connected to a tls-legacy server")
	}
	old := clientTLS(op)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), old)
	if err != nil {
		t.Fatalf("TLS 1.1 client: %v", err)
	}
	defer conn.Close()
	if v := conn.ConnectionState().Version; v != tls.VersionTLS11 {
		t.Errorf("negotiated %s", tls.VersionName(v))
	}
}

func TestDefaultTLSIsAtLeast12(t *testing.T) {
	op := startOp(t, testConfig())
	old := clientTLS(op)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), old); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}

func TestIMAPIdleDrop(t *testing.T) {
	op := faultOp(t, "imap-idle-drop")
	c := loginIMAP(t, op, doctor)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err == nil {
		select {
		case <-c.Closed():
		case <-time.After(10 * time.Second):
			t.Fatal("connection still open during IDLE")
		}
		idle.Close()
	}
	if ev := eventsOf(op, KindFault); len(ev) != 1 || ev[0].Fault != FaultIMAPIdleDrop {
		t.Errorf("events %+v", ev)
	}
}
