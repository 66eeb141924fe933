package probe

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

// TestTranscriptRedaction feeds protocol exchanges, split at awkward
// places, and checks that credentials never come out while the rest does.
func TestTranscriptRedaction(t *testing.T) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00user@x.fr\x00hunter2-secret"))
	for _, tc := range []struct {
		name   string
		imap   bool
		c2s    []string // client writes, interleaved with server replies
		s2c    []string
		hidden []string
		shown  []string
	}{
		{
			name:   "smtp plain ir",
			c2s:    []string{"EHLO x\r\n", "AUTH PLAIN " + plain + "\r\n", "MAIL FROM:<a@b>\r\n"},
			s2c:    []string{"250 ok\r\n", "235 2.7.0 ok\r\n", "250 ok\r\n"},
			hidden: []string{plain, "hunter2"},
			shown:  []string{"C: AUTH PLAIN [redacted]", "C: MAIL FROM:<a@b>", "S: 235 2.7.0 ok"},
		},
		{
			name:   "smtp login challenges",
			c2s:    []string{"AUTH LOGIN\r\n", "dXNlcg==\r\n", "aHVudGVyMi1zZWNyZXQ=\r\n", "QUIT\r\n"},
			s2c:    []string{"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "535 5.7.8 no\r\n", "221 bye\r\n"},
			hidden: []string{"aHVudGVyMi1zZWNyZXQ="},
			shown:  []string{"C: AUTH LOGIN", "S: 535 5.7.8 no", "C: QUIT"},
		},
		{
			name:   "smtp data folded",
			c2s:    []string{"DATA\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n", "QUIT\r\n"},
			s2c:    []string{"354 go\r\n", "250 queued as ABC\r\n", "221 bye\r\n"},
			hidden: []string{"Subject: x", "body"},
			shown:  []string{"[message, ", "C: .", "queued as ABC"},
		},
		{
			name:   "imap login quoted",
			imap:   true,
			c2s:    []string{`T1 LOGIN "user@x.fr" "hunter2-secret"` + "\r\n", "T2 SELECT INBOX\r\n"},
			s2c:    []string{"T1 OK done\r\n", "T2 OK selected\r\n"},
			hidden: []string{"hunter2"},
			shown:  []string{"C: T1 LOGIN [redacted]", "C: T2 SELECT INBOX"},
		},
		{
			name:   "imap login literal",
			imap:   true,
			c2s:    []string{"T1 LOGIN user {14}\r\n", "hunter2-secret\r\n", "T2 NOOP\r\n"},
			s2c:    []string{"+ go\r\n", "T1 OK done\r\n", "T2 OK\r\n"},
			hidden: []string{"hunter2"},
			shown:  []string{"C: T1 LOGIN user [redacted]", "C: T2 NOOP"},
		},
		{
			name:   "imap authenticate",
			imap:   true,
			c2s:    []string{"T1 AUTHENTICATE PLAIN\r\n", plain + "\r\n", "T2 NOOP\r\n"},
			s2c:    []string{"+ \r\n", "T1 OK\r\n", "T2 OK\r\n"},
			hidden: []string{plain},
			shown:  []string{"C: T1 AUTHENTICATE PLAIN", "C: T2 NOOP"},
		},
		{
			name:   "imap fetch literal folded",
			imap:   true,
			c2s:    []string{"T3 UID FETCH 1 (BODY.PEEK[])\r\n"},
			s2c:    []string{"* 1 FETCH (UID 1 BODY[] {11}\r\nhello world)\r\nT3 OK\r\n"},
			hidden: []string{"hello world"},
			shown:  []string{"[literal, 11 bytes]", "S: )", "S: T3 OK"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTranscript(tc.imap, time.Now())
			tr.addSecret("hunter2-secret")
			for i, c := range tc.c2s {
				// split every write in two to exercise partial lines
				tr.record(fromClient, []byte(c[:len(c)/2]))
				tr.record(fromClient, []byte(c[len(c)/2:]))
				if i < len(tc.s2c) {
					tr.record(fromServer, []byte(tc.s2c[i]))
				}
			}
			out := string(tr.Bytes())
			for _, h := range tc.hidden {
				if strings.Contains(out, h) {
					t.Errorf("%q leaked:\n%s", h, out)
				}
			}
			for _, s := range tc.shown {
				if !strings.Contains(out, s) {
					t.Errorf("%q missing:\n%s", s, out)
				}
			}
		})
	}
}

func TestQueueID(t *testing.T) {
	for in, want := range map[string]string{
		"2.0.0 Ok: queued as 4Bx1Yz":       "4Bx1Yz",
		"Queued mail for delivery, id=AB1": "AB1",
		"2.0.0 OK: queued":                 "OK: queued",
		"ok":                               "ok",
	} {
		if got := queueID(in); got != want {
			t.Errorf("queueID(%q) = %q, want %q", in, got, want)
		}
	}
}

// answeringConn answers every write at once, as a fast server read on
// another goroutine would, before Write returns.
type answeringConn struct {
	net.Conn
	t      *transcript
	answer string
}

func (c answeringConn) Write(p []byte) (int, error) {
	tag, _, _ := strings.Cut(string(p), " ")
	c.t.record(fromServer, []byte(tag+" "+c.answer+"\r\n"))
	return len(p), nil
}

// TestTranscriptAnswerBeforeWriteReturns: an answer recorded before the
// command's Write returns does not leave the transcript redacting every
// later client line (flaky "[redacted]" IMAP logs in the demo).
func TestTranscriptAnswerBeforeWriteReturns(t *testing.T) {
	tr := newTranscript(true, time.Now())
	c := recConn{Conn: answeringConn{t: tr, answer: "OK done"}, t: tr}
	for _, cmd := range []string{"T2 AUTHENTICATE PLAIN AGhlbGxvAHNlY3JldA==\r\n", "T3 IDLE\r\n", "DONE\r\n"} {
		if _, err := c.Write([]byte(cmd)); err != nil {
			t.Fatal(err)
		}
	}
	out := string(tr.Bytes())
	if !strings.Contains(out, "C: T3 IDLE") || !strings.Contains(out, "C: DONE") || strings.Contains(out, "AGhlbGxv") {
		t.Errorf("transcript:\n%s", out)
	}
}
