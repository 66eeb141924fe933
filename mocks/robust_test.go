package mocks

import (
	"bufio"
	"crypto/tls"
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

// rawIMAP is a logged-in IMAPS connection spoken to by hand.
type rawIMAP struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRawIMAP(t *testing.T, op *Operator, user string) *rawIMAP {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", op.IMAPSAddr(), clientTLS(op))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &rawIMAP{t: t, c: c, br: bufio.NewReader(c)}
	r.line() // greeting
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
