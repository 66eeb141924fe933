package mocks

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSilentClientsAreCut: a client that connects and never speaks (or
// never starts its TLS handshake) must not hold a connection forever.
func TestSilentClientsAreCut(t *testing.T) {
	defer func(s, h time.Duration) { smtpReadTimeout, handshakeTimeout = s, h }(smtpReadTimeout, handshakeTimeout)
	smtpReadTimeout, handshakeTimeout = 300*time.Millisecond, 300*time.Millisecond
	op := startOp(t, testConfig())
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"smtp", op.SMTPAddr(), "421 4.4.2"},
		{"smtps no handshake", op.SMTPSAddr(), ""},
		{"imaps no handshake", op.IMAPSAddr(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var got strings.Builder
			br := bufio.NewReader(c)
			for {
				l, err := br.ReadString('\n')
				got.WriteString(l)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatalf("connection still open after 10 s (read %q)", got.String())
					}
					break
				}
			}
			if !strings.Contains(got.String(), tc.want) {
				t.Errorf("server said %q, want %q before closing", got.String(), tc.want)
			}
		})
	}
}

// rawIMAP is an IMAPS connection spoken to by hand.
type rawIMAP struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// dialRawIMAP connects over IMAPS and logs in as user ("": stays
// unauthenticated).
// newRawIMAP speaks IMAP on c, closed at the end of the test, with a
// deadline so that a silent server fails the test instead of hanging it.
func newRawIMAP(t *testing.T, c net.Conn) *rawIMAP {
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawIMAP{t: t, c: c, br: bufio.NewReader(c)}
}

func dialRawIMAP(t *testing.T, op *Operator, user string) *rawIMAP {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.IMAPSAddr(), clientTLS(op))
	if err != nil {
		t.Fatal(err)
	}
	r := newRawIMAP(t, c)
	r.line() // greeting
	if user == "" {
		return r
	}
	if got := r.cmd("L LOGIN "+user+" "+pw, ""); !strings.HasPrefix(got, "L OK") {
		t.Fatalf("LOGIN: %s", got)
	}
	return r
}

func (r *rawIMAP) line() string {
	r.t.Helper()
	l, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatalf("IMAP read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command (and literal after a continuation request) and
// returns the tagged reply, or the continuation the server did not expect
// to send.
func (r *rawIMAP) cmd(line, literal string) string {
	r.t.Helper()
	tag, _, _ := strings.Cut(line, " ")
	fmt.Fprintf(r.c, "%s\r\n", line)
	for {
		l := r.line()
		switch {
		case strings.HasPrefix(l, "+") && literal != "":
			fmt.Fprintf(r.c, "%s\r\n", literal)
			literal = ""
		case strings.HasPrefix(l, "+"):
			return l
		case strings.HasPrefix(l, tag+" "):
			return l
		}
	}
}

func TestIMAPCommandsThatWouldBreakDelivery(t *testing.T) {
	op := startOp(t, testConfig())
	r := dialRawIMAP(t, op, doctor)
	for _, tc := range []struct{ line, literal, want string }{
		{"a DELETE INBOX", "", "a NO [CANNOT]"},
		{"b RENAME INBOX Old", "", "b NO [CANNOT]"},
		{"c DELETE inbox", "", "c NO [CANNOT]"},
		{"d APPEND Nope {3}", "abc", "d NO [TRYCREATE] No such mailbox"},
		{"e APPEND INBOX {99999999}", "", "e NO [TOOBIG]"},
		{"f SELECT Nope", "", "f NO [NONEXISTENT]"},
		{"g DELETE Nope", "", "g NO"},
		{"h FETCH 1 (FLAGS)", "", "h BAD"},
		{"i CREATE Archives", "", "i OK"},
	} {
		if got := r.cmd(tc.line, tc.literal); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.line, got, tc.want)
		}
	}
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{doctor}, msg(doctor, doctor, "<after@x>", "s", ""), nil); err != nil {
		t.Fatalf("delivery after the refused commands: %v", err)
	}
	if n := countMailbox(t, op, doctor, "INBOX"); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}

// TestMalformedAuth: unadvertised mechanisms get 504, malformed SASL
// responses a syntax error (not go-smtp's 454, which clients retry), and
// nothing the client sent is logged.
func TestMalformedAuth(t *testing.T) {
	var log strings.Builder
	cfg := testConfig()
	cfg.Log = &log
	op := startOp(t, cfg)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const marker = "S3CRET-MARKER"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), clientTLS(op))
	if err != nil {
		t.Fatal(err)
	}
	got := smtpDialogue(t, c, "EHLO client.test",
		"AUTH EXTERNAL", // no client certificate: not offered
		"AUTH CRAM-MD5",
		"AUTH PLAIN "+b64(marker),
		"AUTH XOAUTH2 "+b64("user="+doctor+"\x01"+marker), "",
		"AUTH LOGIN "+b64(doctor), b64(marker),
	)
	for i, want := range []string{"220", "250", "504 5.5.4", "504 5.5.4", "501 5.5.2", "334", "501 5.5.2", "334", "535 5.7.8"} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("reply %d = %q, want %s", i, got[i], want)
		}
	}
	r := dialRawIMAP(t, op, "")
	for _, tc := range []struct{ line, want string }{
		{"a AUTHENTICATE EXTERNAL", "a NO"},
		{"b AUTHENTICATE PLAIN " + b64(marker), "b BAD"},
		{"c AUTHENTICATE PLAIN " + b64("\x00"+doctor+"\x00"+marker), "c NO [AUTHENTICATIONFAILED]"},
	} {
		if got := r.cmd(tc.line, ""); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.line, got, tc.want)
		}
	}
	if ev := eventsOf(op, "auth"); len(ev) < 4 {
		t.Errorf("SMTP AUTH failures recorded: %+v", ev)
	}
	if strings.Contains(log.String(), marker) || strings.Contains(log.String(), b64(marker)) {
		t.Errorf("the log holds what the client sent as a secret:\n%s", log.String())
	}
}

// TestBareLFIsStoredAsCRLF: a body with bare LF line ends (accepted by
// go-smtp, and "\n.\n" does not end DATA) is delivered with CRLF, so
// IMAP clients get a well-formed message.
func TestBareLFIsStoredAsCRLF(t *testing.T) {
	op := startOp(t, testConfig())
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), clientTLS(op))
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + doctor + "\x00" + pw))
	got := smtpDialogue(t, c, "EHLO client.test", "AUTH PLAIN "+auth, "MAIL FROM:<"+doctor+">", "RCPT TO:<"+nurse+">", "DATA",
		"Subject: bare\nMessage-ID: <bare@x>\n\nline 1\n.\nline 3\r\n.")
	if !strings.HasPrefix(got[len(got)-1], "250") {
		t.Fatalf("DATA: %q", got)
	}
	m := inbox(t, op, nurse)
	if len(m) != 1 {
		t.Fatalf("%d messages", len(m))
	}
	if want := "Subject: bare\r\nMessage-ID: <bare@x>\r\n\r\nline 1\r\n.\r\nline 3\r\n"; !strings.HasSuffix(m[0], want) {
		t.Errorf("stored message:\n%q", m[0])
	}
}

// TestClientDisconnectsMidCommand: a client gone in the middle of DATA or
// of an APPEND literal leaves nothing behind, and the mock keeps serving.
func TestClientDisconnectsMidCommand(t *testing.T) {
	cfg := testConfig()
	cfg.StoreDir = t.TempDir()
	op := startOp(t, cfg)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.SMTPSAddr(), clientTLS(op))
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + doctor + "\x00" + pw))
	smtpDialogue(t, c, "EHLO client.test", "AUTH PLAIN "+auth, "MAIL FROM:<"+doctor+">", "RCPT TO:<"+nurse+">", "DATA")
	// smtpDialogue closed the connection after the 354: the body never came.
	r := dialRawIMAP(t, op, nurse)
	if got := r.cmd("a APPEND INBOX {100}", ""); !strings.HasPrefix(got, "+") {
		t.Fatalf("APPEND: %q", got)
	}
	fmt.Fprint(r.c, "From: half a message")
	r.c.Close()
	waitEvent(t, op, func(e Event) bool { return e.Kind == "data" })
	waitEvent(t, op, func(e Event) bool { return e.Proto == "imap" && e.Kind == "close" })
	if n := countMailbox(t, op, nurse, "INBOX"); n != 0 {
		t.Fatalf("%d messages after two aborted submissions", n)
	}
	mc := mustSMTP(t, op, doctor)
	if err := send(mc, doctor, []string{nurse}, msg(doctor, nurse, "<whole@x>", "s", ""), nil); err != nil {
		t.Fatal(err)
	}
	op.Close()
	if got := inbox(t, startOp(t, cfg), nurse); len(got) != 1 || !strings.Contains(got[0], "<whole@x>") {
		t.Fatalf("after restart: %d messages", len(got))
	}
}

// TestCopyMoveOfNothing: COPY, MOVE or STORE naming no message answer a
// plain OK (imapmemserver alone wrote a COPYUID with empty sets, which
// clients cannot parse), and a missing destination still gets TRYCREATE.
func TestCopyMoveOfNothing(t *testing.T) {
	op := startOp(t, testConfig())
	r := dialRawIMAP(t, op, doctor)
	for _, tc := range []struct{ line, want string }{
		{"a CREATE Archives", "a OK"},
		{"b SELECT INBOX", "b OK"},
		{"c MOVE 1 Archives", "c OK"},
		{"d UID MOVE 77 Archives", "d OK"},
		{"e COPY 1 Archives", "e OK"},
		{"f UID COPY 99 Archives", "f OK"},
		{"g UID MOVE 99 Nope", "g NO [TRYCREATE]"},
		{"h UID STORE 99 +FLAGS (\\Seen)", "h OK"},
		{"i NOOP", "i OK"},
	} {
		if got := r.cmd(tc.line, ""); !strings.HasPrefix(got, tc.want) || strings.Contains(got, "SERVERBUG") {
			t.Errorf("%s: %q, want %q", tc.line, got, tc.want)
		}
	}
}
