package probe

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// The fuzz targets feed what a server sends to the probe's readers: the
// plaintext preamble (greeting, EHLO/CAPABILITY, STARTTLS answer) and the
// client libraries behind the limits guard. Whatever the bytes, a reader
// returns within its deadline without panicking, and the guard never lets
// a line past its bound reach a library. Seeds run with `go test`; a
// campaign is `go test -run '^$' -fuzz FuzzSMTPReplies -fuzztime 10m ./probe`
// (likewise FuzzIMAPResponses).

// fuzzLimits are small, so that the fuzzer reaches every bound quickly.
var fuzzLimits = Limits{SMTPLine: 200, SMTPReply: 1000, IMAPLine: 300, IMAPReply: 2000, IMAPLiteral: 500, Step: 8000}

// fakeServer answers every line the client sends with the next part of
// script (parts separated by "\n--\n"; "$TAG" is the command's tag), and
// closes after the last part, or when the client sends nothing for a
// moment (it waits for the rest of a line that will never come).
func fakeServer(c net.Conn, script []byte) {
	defer c.Close()
	parts := bytes.Split(script, []byte("\n--\n"))
	if _, err := c.Write(parts[0]); err != nil {
		return
	}
	br := bufio.NewReader(io.LimitReader(c, 1<<20))
	for _, p := range parts[1:] {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		tag, _, _ := strings.Cut(line, " ")
		if _, err := c.Write(bytes.ReplaceAll(p, []byte("$TAG"), []byte(tag))); err != nil {
			return
		}
	}
}

// fuzzConn is a guarded client end of a pipe to fakeServer.
func fuzzConn(t *testing.T, proto protoRules, script []byte) (*connector, net.Conn, *tcpConn) {
	client, server := net.Pipe()
	go fakeServer(server, script)
	raw := &tcpConn{Conn: client}
	cn := &connector{rules: proto, limits: fuzzLimits, budget: &stepBudget{}, tr: newTranscript(proto.name == "IMAP", time.Now()),
		timeout: time.Second, ehloName: "fuzz.test", mailFrom: "a@fuzz.test", key: strings.ToLower(proto.name)}
	t.Cleanup(func() { raw.Close() })
	return cn, recConn{Conn: cn.guard(raw, raw), t: cn.tr}, raw
}

func FuzzSMTPReplies(f *testing.F) {
	for _, s := range []string{
		"220 hi\r\n\n--\n250-hi\r\n250-STARTTLS\r\n250 8BITMIME\r\n\n--\n220 go\r\n",
		"220 hi\r\n\n--\n250-hi\r\n250 AUTH PLAIN\r\n\n--\n250 ok\r\n\n--\n250 ok\r\n\n--\n354 go\r\n\n--\n250 2.0.0 queued as X\r\n",
		"220-a\r\n220-b\r\n220 c\r\n\n--\n250-" + strings.Repeat("x", 300) + "\r\n",
		"220 hi\r\n\n--\n" + strings.Repeat("250-PIPELINING\r\n", 100),
		"554 no\r\n", "220", "\r\n\r\n", "220 hi\n--\n250 ok\n--\n999 what\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		// The plaintext preamble up to STARTTLS.
		cn, c, raw := fuzzConn(t, smtpRules, script)
		var cmd string
		s := &stepRec{step: &Step{}}
		checkBounded(t, func() error {
			return bounded(context.Background(), time.Second, raw, func() error { return cn.startTLS(c, s, &cmd) })
		})
		// The library behind the guard, as after TLS.
		cn, c, raw = fuzzConn(t, smtpRules, script)
		sc := smtp.NewClient(c)
		sc.CommandTimeout, sc.SubmissionTimeout = time.Second, time.Second
		checkBounded(t, func() error {
			return bounded(context.Background(), time.Second, raw, func() error {
				if err := sc.Hello("fuzz.test"); err != nil {
					return err
				}
				if err := sc.Mail("a@fuzz.test", nil); err != nil {
					return err
				}
				if err := sc.Rcpt("b@fuzz.test", nil); err != nil {
					return err
				}
				w, err := sc.Data()
				if err != nil {
					return err
				}
				w.Write([]byte("Subject: x\r\n\r\nx\r\n"))
				_, err = w.CloseWithResponse()
				return err
			})
		})
	})
}

func FuzzIMAPResponses(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n\n--\n$TAG OK begin\r\n",
		"* OK hi\r\n\n--\n* CAPABILITY IMAP4rev1 STARTTLS\r\n$TAG OK\r\n\n--\n$TAG OK go\r\n",
		"* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n\n--\n* 2 EXISTS\r\n* OK [UIDVALIDITY 1] v\r\n* OK [UIDNEXT 3] n\r\n$TAG OK [READ-WRITE] done\r\n\n--\n* SEARCH 1 2\r\n$TAG OK\r\n\n--\n* 1 FETCH (UID 1 BODY[] {5}\r\nhello)\r\n* 2 FETCH (UID 2 BODY[] {600}\r\n",
		"* OK hi\r\n\n--\n* 1 FETCH (UID 1 BODY[] ~{3}\r\nabc)\r\n$TAG OK\r\n",
		"* OK hi\r\n\n--\n* 1 FETCH (UID 1 BODY[] {99999999999999999999}\r\n",
		"* OK hi\r\n\n--\n* " + strings.Repeat("a", 400) + "\r\n",
		"* PREAUTH x\r\n", "* BYE x\r\n", "* OK", "+ \r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		cn, c, raw := fuzzConn(t, imapRules, script)
		var cmd string
		s := &stepRec{step: &Step{}}
		checkBounded(t, func() error {
			return bounded(context.Background(), time.Second, raw, func() error { return cn.startTLS(c, s, &cmd) })
		})
		_, c, raw = fuzzConn(t, imapRules, script)
		ic := imapclient.New(c, nil)
		defer ic.Close()
		checkBounded(t, func() error {
			return bounded(context.Background(), time.Second, raw, func() error {
				if err := ic.WaitGreeting(); err != nil {
					return err
				}
				if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
					return err
				}
				var set imap.UIDSet
				set.AddRange(1, 0)
				if _, err := ic.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait(); err != nil {
					return err
				}
				sec := &imap.FetchItemBodySection{Peek: true}
				msgs, err := ic.Fetch(imap.UIDSetNum(1, 2), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
				for _, m := range msgs {
					if n := len(m.FindBodySection(sec)); n > int(fuzzLimits.IMAPLiteral) {
						t.Errorf("a %d-byte body passed the %d-byte literal bound", n, fuzzLimits.IMAPLiteral)
					}
				}
				return err
			})
		})
	})
}

// checkBounded runs op and fails when it outlives its 1 s deadline by far:
// a reader that ignores the deadline or spins.
func checkBounded(t *testing.T, op func() error) {
	t.Helper()
	start := time.Now()
	err := op()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s (error %v)", d, err)
	}
}
