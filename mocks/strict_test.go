package mocks

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSMTPSequenceAndSyntax: commands out of sequence get 503 (RFC 5321
// §4.2.4, §4.3.2), syntax errors 501 (RFC 4954 §4, RFC 3207 §4), and a
// BDAT chunk refused for its place is read and thrown away, not taken for
// commands.
func TestSMTPSequenceAndSyntax(t *testing.T) {
	op := startOp(t, testConfig())
	dial := func() net.Conn {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), clientTLS(op))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + doctor + "\x00" + pw))
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"before EHLO", []string{"MAIL FROM:<" + doctor + ">", "RCPT TO:<" + nurse + ">", "DATA", "AUTH PLAIN " + auth},
			[]string{"220", "503 5.5.1", "503 5.5.1", "503 5.5.1", "503 5.5.1"}},
		{"transaction order", []string{"EHLO client.test", "AUTH PLAIN " + auth, "RCPT TO:<" + nurse + ">", "DATA",
			"MAIL FROM:<" + doctor + ">", "DATA", "BDAT 6\r\nQUIT", "NOOP"},
			[]string{"220", "250", "235", "503 5.5.1", "503 5.5.1", "250", "503 5.5.1", "503 5.5.1", "250"}},
		{"parameters", []string{"EHLO client.test", "AUTH PLAIN " + auth, "MAIL FROM:<" + doctor + "> BOGUS=1", "MAIL FROM:<" + doctor + "> AUTH=<not-an-address", "MAIL FROM:<" + doctor + ">", "RCPT TO:<" + nurse + "> BOGUS=1"},
			[]string{"220", "250", "235", "555 5.5.4", "501 5.5.4", "250", "555 5.5.4"}},
		{"nested MAIL", []string{"EHLO client.test", "AUTH PLAIN " + auth, "MAIL FROM:<" + doctor + ">", "MAIL FROM:<" + doctor + ">", "RSET", "MAIL FROM:<" + doctor + ">"},
			[]string{"220", "250", "235", "250", "503 5.5.1", "250", "250"}},
		{"syntax", []string{"EHLO client.test", "AUTH", "AUTH PLAIN not*base64", "AUTH LOGIN", "%%%", "STARTTLS", "MAIL TO:<x@y.fr>"},
			[]string{"220", "250", "501 5.5.4", "501 5.5.2", "334", "501 5.5.2", "503 5.5.1", "501 5.5.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := smtpDialogue(t, dial(), tc.lines...)
			for i, want := range tc.want {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("reply %d to %q = %q, want %s", i, append([]string{"(greeting)"}, tc.lines...)[i], got[i], want)
				}
			}
		})
	}
	// AUTH within a transaction opened by a client certificate login.
	cert, err := op.IssueClientCert(nurse)
	if err != nil {
		t.Fatal(err)
	}
	conf := clientTLS(op)
	conf.Certificates = []tls.Certificate{cert}
	cc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), conf)
	if err != nil {
		t.Fatal(err)
	}
	got := smtpDialogue(t, cc, "EHLO client.test", "MAIL FROM:<"+nurse+">", "AUTH PLAIN "+auth, "RSET", "AUTH PLAIN "+auth)
	for i, want := range []string{"220", "250", "250", "503 5.5.1", "250", "235"} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("AUTH in a transaction: reply %d = %q, want %s", i, got[i], want)
		}
	}
	// STARTTLS with an argument is a syntax error, and the session stays
	// in clear (upstream go-smtp started TLS).
	r := rawSMTP(t, op.SMTPAddr(), "EHLO client.test", "STARTTLS now", "NOOP")
	for i, want := range []string{"220", "250", "501 5.5.4", "250"} {
		if !strings.HasPrefix(r[i], want) {
			t.Errorf("STARTTLS with an argument: reply %d = %q, want %s", i, r[i], want)
		}
	}
}

// TestOversizeBDATReadBeforeRefusal: a BDAT chunk over the size limit is
// read to its end and thrown away before the 552, as an oversize DATA
// block is; the session then goes on.
func TestOversizeBDATReadBeforeRefusal(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 1000
	op := startOp(t, cfg)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), clientTLS(op))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	reply := func() string { return smtpReply(t, br) }
	reply()
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + doctor + "\x00" + pw))
	for _, l := range []string{"EHLO client.test", "AUTH PLAIN " + auth, "MAIL FROM:<" + doctor + ">", "RCPT TO:<" + nurse + ">"} {
		fmt.Fprintf(c, "%s\r\n", l)
		if r := reply(); !strings.HasPrefix(r, "2") {
			t.Fatalf("%s: %s", l, r)
		}
	}
	// 2,400 bytes of chunk made of command lines, one line longer than
	// the 2,000-byte command limit: none may be taken for a command.
	chunk := strings.Repeat("QUIT\r\n", 50) + strings.Repeat("x", 2100) + "\r\n"
	fmt.Fprintf(c, "BDAT %d LAST\r\n%s", len(chunk)+300, chunk)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if l, err := br.ReadString('\n'); err == nil {
		t.Fatalf("answered %q before the chunk was complete", l)
	} else if ne := (net.Error)(nil); !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprint(c, strings.Repeat("z", 300))
	if r := reply(); !strings.HasPrefix(r, "552 5.3.4") {
		t.Errorf("oversize BDAT: %q, want 552 5.3.4", r)
	}
	fmt.Fprint(c, "NOOP\r\n")
	if r := reply(); !strings.HasPrefix(r, "250") {
		t.Errorf("after the refused chunk: %q, want 250 (the chunk was taken for commands?)", r)
	}
	if n := countMailbox(t, op, nurse, "INBOX"); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

// smtpReply reads one SMTP reply, multi-line or not, and returns its
// first line.
func smtpReply(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var first string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if first == "" {
			first = strings.TrimSpace(l)
		}
		if len(l) < 4 || l[3] != '-' {
			return first
		}
	}
}

// TestReply421Closes: a 421, from a fault or a rate limit, closes the
// connection (RFC 5321 §3.8); other codes keep the session.
func TestReply421Closes(t *testing.T) {
	op := faultOp(t, "mail=421#1,from="+doctor, "mail=451#1,from="+nurse)
	n := mustSMTP(t, op, nurse)
	if err := send(n, nurse, []string{patientA}, msg(nurse, patientA, "<c1@test>", "c", ""), nil); smtpCode(err) != 451 {
		t.Fatalf("first message of %s: %v, want 451", nurse, err)
	}
	if err := n.Noop(); err != nil {
		t.Errorf("the session should go on after 451: %v", err)
	}
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<c2@test>", "c", ""), nil); smtpCode(err) != 421 {
		t.Fatalf("first message of %s: %v, want 421", doctor, err)
	}
	if err := c.Noop(); err == nil {
		t.Error("connection still open after 421")
	}
}
