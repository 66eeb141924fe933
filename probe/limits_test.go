package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/mocks"
)

// TestGuardBounds: the guard's accounting, byte by byte, on both
// protocols: lines, replies (reset by a command), literals skipped but
// bounded on their announcement, and the step budget across connections.
func TestGuardBounds(t *testing.T) {
	lim := Limits{SMTPLine: 16, SMTPReply: 40, IMAPLine: 64, IMAPReply: 100, IMAPLiteral: 100, Step: 400}
	for _, tc := range []struct {
		name  string
		imap  bool
		reads []string // "C" alone is a client command
		want  string   // in the refusal, "" for none
	}{
		{"smtp short lines", false, []string{"250-a\r\n", "250 b\r\n"}, ""},
		{"smtp line split across reads", false, []string{"250-aaaaaaa", "aaaaaaaaaa\r\n"}, "a line longer than 16 bytes"},
		{"smtp endless continuation", false, []string{"250-aaaaaaaa\r\n", "250-aaaaaaaa\r\n", "250-aaaaaaaa\r\n", "250-aaaaaaaa\r\n"}, "a reply larger than"},
		{"smtp command resets the reply", false, []string{"250-aaaaaaaa\r\n", "250 aaaaaaaaa\r\n", "C", "250-aaaaaaaa\r\n", "250 aaaaaaaaa\r\n"}, ""},
		{"imap literal not a line", true, []string{"* 1 FETCH (BODY[] {90}\r\n", strings.Repeat("x", 90), ")\r\n"}, ""},
		{"imap binary literal", true, []string{"* 1 FETCH (BINARY[] ~{90}\r\n", strings.Repeat("x", 90), ")\r\n"}, ""},
		{"imap literal too large", true, []string{"* 1 FETCH (BODY[] {101}\r\n"}, "a literal announced at 101 bytes"},
		{"imap literal overflowing int64", true, []string{"* 1 FETCH (BODY[] {99999999999999999999}\r\n"}, "a literal announced at 9223372036854775807 bytes"},
		{"imap literal announced across reads", true, []string{"* 1 FETCH (BODY[] {1", "01}\r", "\n"}, "a literal announced at 101"},
		{"imap greeting with parenthesised text", true, []string{"* OK [CAPABILITY IMAP4rev1 IDLE] Dovecot (Debian) ready.\r\n"}, ""},
		{"imap CAPABILITY with (", true, []string{"* OK [CAPABILITY(v1 STARTTLS] hi\r\n"}, `a CAPABILITY list holding "("`},
		{"imap CAPABILITY ( across reads", true, []string{"* capabil", "ity IMAP4rev1 (x\r\n"}, `a CAPABILITY list holding "("`},
		{"imap long line", true, []string{strings.Repeat("* ", 33)}, "a line longer than"},
		{"imap step budget", true, []string{"* 1 FETCH (BODY[] {90}\r\n", strings.Repeat("x", 90), ")\r\n", "C",
			"* 2 FETCH (BODY[] {90}\r\n", strings.Repeat("x", 90), ")\r\n", "C",
			"* 3 FETCH (BODY[] {90}\r\n", strings.Repeat("x", 90), ")\r\n", "C",
			"* 4 FETCH (BODY[] {90}\r\n", strings.Repeat("x", 90), ")\r\n"}, "more than 400 bytes during the step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := smtpRules
			if tc.imap {
				rules = imapRules
			}
			cn := &connector{rules: rules, limits: lim, budget: &stepBudget{}, tr: newTranscript(tc.imap, time.Now())}
			g := cn.guard(nil, &tcpConn{})
			var got *refusal
			for _, r := range tc.reads {
				if r == "C" {
					g.command()
					continue
				}
				// Small reads: bounds must hold across read boundaries.
				for b := []byte(r); len(b) > 0 && got == nil; b = b[min(7, len(b)):] {
					got = g.check(b[:min(7, len(b))])
				}
			}
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("refused: %s", got.msg.EN)
			case tc.want != "" && (got == nil || !strings.Contains(got.msg.EN, tc.want)):
				t.Errorf("got %v, want a refusal containing %q", got, tc.want)
			case got != nil && !strings.Contains(got.msg.EN, "not a conforming") || got != nil && !strings.Contains(got.msg.FR, "conforme"):
				t.Errorf("refusal does not say the server is not conforming: %+v", got.msg)
			}
		})
	}
}

// heapPeak samples the Go heap until the returned function is called,
// which returns the peak growth over the heap at the start.
func heapPeak() func() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak - base
	}
}

// countWriter counts what a hostile server managed to send.
type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// stream writes chunk to w until the reader goes away or total is sent.
func stream(w io.Writer, chunk string, total int64) {
	b := []byte(strings.Repeat(chunk, max(1, 32<<10/len(chunk))))
	for sent := int64(0); sent < total; sent += int64(len(b)) {
		if _, err := w.Write(b); err != nil {
			return
		}
	}
}

// imapFake speaks IMAP over STARTTLS well enough for a login, SELECT and
// UID SEARCH finding UID 1; fetch answers UID FETCH.
func imapFake(cfg *tls.Config, caps string, fetch func(w io.Writer, tag string)) func(net.Conn) {
	return func(c net.Conn) {
		tc := imapStartTLSServer(c, cfg)
		if tc == nil {
			return
		}
		br := bufio.NewReader(tc)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(strings.ToUpper(line) + " X X")
			tag := strings.Fields(line)[0]
			switch {
			case f[1] == "CAPABILITY":
				io.WriteString(tc, "* CAPABILITY "+caps+"\r\n"+tag+" OK done\r\n")
			case f[1] == "SELECT":
				io.WriteString(tc, "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 1] n\r\n"+tag+" OK [READ-WRITE] SELECT completed\r\n")
			case f[1] == "UID" && f[2] == "SEARCH":
				io.WriteString(tc, "* SEARCH 1\r\n"+tag+" OK done\r\n")
			case f[1] == "UID" && f[2] == "FETCH":
				fetch(tc, tag)
				return
			case f[1] == "LOGOUT":
				io.WriteString(tc, "* BYE bye\r\n"+tag+" OK done\r\n")
				return
			default:
				io.WriteString(tc, tag+" OK done\r\n")
			}
		}
	}
}

// imapStartTLSServer answers the probe's STARTTLS and returns the TLS
// connection; nil when the probe went away.
func imapStartTLSServer(c net.Conn, cfg *tls.Config) *tls.Conn {
	io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] hostile\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil
	}
	tag, _, _ := strings.Cut(line, " ")
	io.WriteString(c, tag+" OK begin TLS\r\n")
	tc := tls.Server(c, cfg)
	if tc.Handshake() != nil {
		return nil
	}
	return tc
}

// TestHostileStreams: servers that, after TLS, stream an endless line, an
// endless multi-line reply or a 1 GiB literal fail the step on the limits
// rule, within the step deadline, with the heap bounded, and the literal is
// neither read nor fetched again on a reconnect.
func TestHostileStreams(t *testing.T) {
	const step = 3 * time.Second
	var fetches, sent atomic.Int64
	smtpAfterTLS := func(after func(w io.Writer)) func(*testing.T, *testEnv) string {
		return func(t *testing.T, te *testEnv) string {
			cfg := testPKI(t, te)
			return rawServer(t, "starttls", func(c net.Conn) {
				smtpUntil(c, "250-STARTTLS\r\n", func(verb string) string {
					if verb != "STARTTLS" {
						return "530 5.7.0 STARTTLS first\r\n"
					}
					io.WriteString(c, "220 go ahead\r\n")
					tc := tls.Server(c, cfg)
					if tc.Handshake() != nil {
						return ""
					}
					if _, err := bufio.NewReader(tc).ReadString('\n'); err == nil { // EHLO
						after(countWriter{tc, &sent})
					}
					return ""
				})
			})
		}
	}
	for _, tc := range []struct {
		name  string
		proto string
		srv   func(*testing.T, *testEnv) string
		id    string // the operation's check
		msg   string
		limit string // in the limits check
	}{
		{"smtp endless line after STARTTLS", "smtp", smtpAfterTLS(func(w io.Writer) { stream(w, "250-", 4<<30) }),
			RuleSMTPTCP, "SMTP session refused or broken after TLS", "a line longer than 2000 bytes"},
		{"smtp endless EHLO continuation lines", "smtp", smtpAfterTLS(func(w io.Writer) { stream(w, "250-PIPELINING\r\n", 4<<30) }),
			RuleSMTPTCP, "SMTP session refused or broken after TLS", "a reply larger than 64 KiB"},
		{"imap endless line after STARTTLS", "imap", func(t *testing.T, te *testEnv) string {
			cfg := testPKI(t, te)
			return rawServer(t, "starttls", func(c net.Conn) {
				if tc := imapStartTLSServer(c, cfg); tc != nil {
					go io.Copy(io.Discard, tc)
					stream(countWriter{tc, &sent}, "* OK aaaaaaaaaaaaaaaa", 4<<30)
				}
			})
		}, RuleIMAPAuthMech, "Cannot read IMAP capabilities", "a line longer than 1 MiB"},
		{"imap 1 GiB FETCH literal", "imap", func(t *testing.T, te *testEnv) string {
			cfg := testPKI(t, te)
			return rawServer(t, "starttls", imapFake(cfg, "IMAP4rev1 AUTH=PLAIN SASL-IR", func(w io.Writer, tag string) {
				fetches.Add(1)
				cw := countWriter{w, &sent}
				io.WriteString(cw, "* 1 FETCH (UID 1 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" BODY[] {1073741824}\r\n")
				stream(cw, "0123456789abcdef", 1<<30)
			}))
		}, RuleReply, "Cannot read INBOX while waiting", "a literal announced at 1073741824 bytes (maximum 32 MiB)"},
		// imapclient spins for ever on this without reading: only the
		// guard keeps the deadline.
		{"imap CAPABILITY with a parenthesis", "imap", func(t *testing.T, te *testEnv) string {
			return rawServer(t, "starttls", imapFake(testPKI(t, te), "(IMAP4rev1 AUTH=PLAIN", nil))
		}, RuleIMAPAuthMech, "Cannot read IMAP capabilities", `a CAPABILITY list holding "("`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fetches.Store(0)
			sent.Store(0)
			te := startMock(t, mocks.Config{})
			te.yaml[tc.proto] = tc.srv(t, te)
			te.yaml["timeouts"] = "{step: " + step.String() + ", reply: 5s}"
			peak := heapPeak()
			res := te.run(t, context.Background())
			grew := peak()
			if grew > 64<<20 {
				t.Errorf("heap grew by %d MiB", grew>>20)
			}
			t.Logf("run %s, heap +%d KiB, server sent %d KiB", res.Duration().Round(time.Millisecond), grew>>10, sent.Load()>>10)
			if d := res.Duration(); d > 2*step {
				t.Errorf("run took %s with a %s step deadline", d, step)
			}
			lim := RuleSMTPLimits
			if tc.proto == "imap" {
				lim = RuleIMAPLimits
			}
			if c, _ := checkStatus(res, lim); c.Status != Fail || !strings.Contains(c.Message.EN, tc.limit) || !strings.Contains(c.Message.EN, "not a conforming") {
				t.Errorf("%s = %s %q, want fail with %q\n%s", lim, c.Status, c.Message.EN, tc.limit, dump(res))
			}
			if c, _ := checkStatus(res, tc.id); c.Status != Fail || !strings.Contains(c.Message.EN, tc.msg) || !strings.Contains(c.Message.EN, tc.limit) {
				t.Errorf("%s = %s %q, want fail with %q and %q\n%s", tc.id, c.Status, c.Message.EN, tc.msg, tc.limit, dump(res))
			}
			if n := fetches.Load(); n > 1 {
				t.Errorf("FETCH served %d times: the probe reconnected to a non-conforming server", n)
			}
			if res.Met {
				t.Error("met")
			}
			checkMessages(t, res)
		})
	}
}

// TestSecretsEchoedInHex: a server that quotes the password hex-encoded
// (lower, upper or mixed case) in its refusal does not get it into check
// messages or transcripts.
func TestSecretsEchoedInHex(t *testing.T) {
	lower := hex.EncodeToString([]byte(testPassword))
	mixed := []byte(strings.ToUpper(lower))
	for i := 0; i < len(mixed); i += 2 {
		mixed[i] = strings.ToLower(string(mixed[i]))[0]
	}
	te := startMock(t, mocks.Config{})
	cfg := testPKI(t, te)
	te.yaml["smtp"] = rawServer(t, "starttls", func(c net.Conn) {
		smtpUntil(c, "250-STARTTLS\r\n", func(verb string) string {
			if verb != "STARTTLS" {
				return "530 5.7.0 STARTTLS first\r\n"
			}
			io.WriteString(c, "220 go ahead\r\n")
			smtpServeTLS(c, cfg, func(string) string {
				return "535-5.7.8 bad password " + lower + "\r\n535-5.7.8 i.e. " + strings.ToUpper(lower) + "\r\n535 5.7.8 or " + string(mixed) + "\r\n"
			})
			return ""
		})
	})
	te.yaml["timeouts"] = "{step: 1s, reply: 1s}"
	res := te.run(t, context.Background())
	c, _ := checkStatus(res, RuleSMTPAuth)
	if c.Status != Fail || !strings.Contains(c.Message.EN, "bad password "+redacted) {
		t.Errorf("%s %q\n%s", c.Status, c.Message.EN, res.SMTPTranscript)
	}
	if !strings.Contains(string(res.SMTPTranscript), "bad password "+redacted) {
		t.Errorf("transcript does not show the redacted echo:\n%s", res.SMTPTranscript)
	}
	assertNoSecret(t, res, testPassword)
}

// TestHostileSlowDrip: a server that, after TLS, sends an answer one byte
// at a time, never reaching a bound, is cut by the step deadline.
func TestHostileSlowDrip(t *testing.T) {
	te := startMock(t, mocks.Config{})
	cfg := testPKI(t, te)
	te.yaml["imap"] = rawServer(t, "starttls", func(c net.Conn) {
		tc := imapStartTLSServer(c, cfg)
		if tc == nil {
			return
		}
		go io.Copy(io.Discard, tc)
		io.WriteString(tc, "* OK ")
		for {
			if _, err := io.WriteString(tc, "a"); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	te.yaml["timeouts"] = "{step: 500ms, reply: 1s}"
	res := te.run(t, context.Background())
	c, _ := checkStatus(res, RuleIMAPAuthMech)
	if c.Status != Fail || !strings.Contains(c.Message.EN, "no answer within 500ms") || res.Duration() > 3*time.Second {
		t.Errorf("%s = %s %q in %s\n%s", RuleIMAPAuthMech, c.Status, c.Message.EN, res.Duration(), dump(res))
	}
}
