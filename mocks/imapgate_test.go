package mocks

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// dialPlainIMAP connects to the STARTTLS port and reads the greeting.
func dialPlainIMAP(t *testing.T, op *Operator) (*rawIMAP, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", op.IMAPAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := newRawIMAP(t, c)
	return r, r.line()
}

// startTLS upgrades r after a STARTTLS the server accepted.
func (r *rawIMAP) startTLS(op *Operator) {
	r.t.Helper()
	tc := tls.Client(r.c, clientTLS(op))
	if err := tc.Handshake(); err != nil {
		r.t.Fatalf("handshake: %v", err)
	}
	r.c, r.br = tc, bufio.NewReader(tc)
}

// TestIMAPStartTLSByTheGate: before TLS the server offers STARTTLS and
// LOGINDISABLED and no mechanism, refuses LOGIN, and drops commands
// pipelined after STARTTLS; after it, login works.
func TestIMAPStartTLSByTheGate(t *testing.T) {
	op := startOp(t, testConfig())
	r, greeting := dialPlainIMAP(t, op)
	if !strings.Contains(greeting, "STARTTLS LOGINDISABLED]") || strings.Contains(greeting, "AUTH=") {
		t.Errorf("greeting before TLS: %q", greeting)
	}
	if got := r.cmd("a LOGIN "+doctor+" "+pw, ""); got != "a NO [PRIVACYREQUIRED] TLS is required to authenticate" {
		t.Errorf("LOGIN before TLS: %q", got)
	}
	if got := r.cmd("b AUTHENTICATE PLAIN", ""); !strings.HasPrefix(got, "b NO [PRIVACYREQUIRED]") {
		t.Errorf("AUTHENTICATE before TLS: %q", got)
	}
	fmt.Fprintf(r.c, "c CAPABILITY\r\n")
	if caps := r.line(); !strings.Contains(caps, "STARTTLS LOGINDISABLED") || strings.Contains(caps, "AUTH=") {
		t.Errorf("CAPABILITY before TLS: %q", caps)
	}
	r.line()
	// A command pipelined after STARTTLS is never run.
	fmt.Fprintf(r.c, "s STARTTLS\r\ninjected LOGOUT\r\n")
	if got := r.line(); got != "s OK Begin TLS negotiation now" {
		t.Fatalf("STARTTLS: %q", got)
	}
	r.startTLS(op)
	fmt.Fprintf(r.c, "d CAPABILITY\r\n")
	if caps := r.line(); !strings.Contains(caps, "AUTH=PLAIN") || strings.Contains(caps, "STARTTLS") || strings.Contains(caps, "LOGINDISABLED") {
		t.Errorf("CAPABILITY after TLS: %q", caps)
	}
	if got := r.line(); !strings.HasPrefix(got, "d OK") {
		t.Errorf("CAPABILITY after TLS ends with %q (an injected command answered?)", got)
	}
	if got := r.cmd("e STARTTLS", ""); !strings.HasPrefix(got, "e BAD") {
		t.Errorf("second STARTTLS: %q", got)
	}
	if got := r.cmd("f LOGIN "+doctor+" "+pw, ""); !strings.HasPrefix(got, "f OK") {
		t.Errorf("LOGIN after TLS: %q", got)
	}
}

// TestIMAPHugeLiteralAnsweredAtOnce: a literal over 4096 bytes outside
// APPEND, before or after login, on either port, is refused at once (not
// after imapserver's 30 s read timeout with NO [SERVERBUG]), and the
// connection goes on; a non-synchronizing one ends the connection.
func TestIMAPHugeLiteralAnsweredAtOnce(t *testing.T) {
	op := startOp(t, testConfig())
	starttls := func(t *testing.T) *rawIMAP {
		r, _ := dialPlainIMAP(t, op)
		if got := r.cmd("s STARTTLS", ""); !strings.HasPrefix(got, "s OK") {
			t.Fatalf("STARTTLS: %q", got)
		}
		r.startTLS(op)
		return r
	}
	for _, tc := range []struct {
		name string
		dial func(*testing.T) *rawIMAP
	}{
		{"imaps", func(t *testing.T) *rawIMAP { return dialRawIMAP(t, op, "") }},
		{"starttls", starttls},
		{"logged in", func(t *testing.T) *rawIMAP { return dialRawIMAP(t, op, doctor) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.dial(t)
			start := time.Now()
			if got := r.cmd("a LOGIN {2147483648}", ""); !strings.HasPrefix(got, "a NO [TOOBIG]") {
				t.Errorf("LOGIN {2147483648}: %q", got)
			}
			if got := r.cmd("b CREATE {99999999999999999999}", ""); !strings.HasPrefix(got, "b NO [TOOBIG]") {
				t.Errorf("CREATE {huge}: %q", got)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %s", d)
			}
			if got := r.cmd("c NOOP", ""); !strings.HasPrefix(got, "c OK") {
				t.Errorf("NOOP after the refusals: %q", got)
			}
			fmt.Fprintf(r.c, "d LOGIN {2147483648+}\r\n")
			if got := r.line(); !strings.HasPrefix(got, "* BYE [LIMIT]") {
				t.Errorf("non-synchronizing huge literal: %q", got)
			}
			if _, err := r.br.ReadString('\n'); err == nil {
				t.Error("connection still open after BYE")
			}
		})
	}
}

// TestIMAPInvalidMailboxNames: names imapserver cannot decode get BAD with
// the reason, never NO [SERVERBUG]; valid ones still work.
func TestIMAPInvalidMailboxNames(t *testing.T) {
	op := startOp(t, testConfig())
	r := dialRawIMAP(t, op, doctor)
	for _, tc := range []struct{ line, literal, want string }{
		// Names sent as literals are judged too.
		{"t CREATE {2}", "\xff\xfe", "t BAD Invalid mailbox name: not valid UTF-8"},
		{"u CREATE {4}", "Lit1", "u OK"},
		{"v SELECT {3+}\r\n\x01ab", "", "v BAD Invalid mailbox name: control character"},
		{"a CREATE \"\xff\xfe\"", "", "a BAD Invalid mailbox name: not valid UTF-8"},
		{"b SELECT \"\xff\"", "", "b BAD Invalid mailbox name: not valid UTF-8"},
		{"c RENAME Sent \"\xc3\x28\"", "", "c BAD Invalid mailbox name: not valid UTF-8"},
		{"d SUBSCRIBE \"\xff\"", "", "d BAD Invalid mailbox name"},
		{"e STATUS \"\xff\" (MESSAGES)", "", "e BAD Invalid mailbox name"},
		{"f DELETE \"\xff\"", "", "f BAD Invalid mailbox name"},
		{"g CREATE \"a\x01b\"", "", "g BAD Invalid mailbox name: control character"},
		{"h CREATE \"&Jjo\"", "", `h BAD Invalid mailbox name: modified UTF-7 shift "&" not ended by "-"`},
		{"i CREATE \"&AGE-\"", "", "i BAD Invalid mailbox name: printable ASCII encoded in modified UTF-7"},
		{"j CREATE \"&2D0-\"", "", "j BAD Invalid mailbox name: bad UTF-16 in modified UTF-7"},
		{"k COPY 1 \"\xff\"", "", "k BAD Invalid mailbox name"},
		{"l UID MOVE 1 \"\xff\"", "", "l BAD Invalid mailbox name"},
		{"m LIST \"\" \"\xff\"", "", "m BAD Invalid mailbox name"},
		{"n APPEND \"\xff\" {3}", "", "n BAD Invalid mailbox name"},
		{"o CREATE \"Caf&AOk-\"", "", "o OK"},
		{"p CREATE \"a&-b\"", "", "p OK"},
		{"q CREATE \"&ZeVnLIqe-\"", "", "q OK"},
		{"r SELECT inbox", "", "r OK"},
		{"s LIST \"\" \"*\"", "", "s OK"},
	} {
		got := r.cmd(tc.line, tc.literal)
		if !strings.HasPrefix(got, tc.want) || strings.Contains(got, "SERVERBUG") {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
	// RENAME with both names as literals, the second one invalid.
	fmt.Fprintf(r.c, "w RENAME {4}\r\n")
	if got := r.line(); !strings.HasPrefix(got, "+") {
		t.Fatalf("RENAME {4}: %q", got)
	}
	fmt.Fprintf(r.c, "Lit1 {2}\r\n")
	if got := r.line(); !strings.HasPrefix(got, "+") {
		t.Fatalf("second literal: %q", got)
	}
	fmt.Fprintf(r.c, "\xff\xfe\r\n")
	if got := r.line(); got != "w BAD Invalid mailbox name: not valid UTF-8" {
		t.Errorf("RENAME to an invalid literal name: %q", got)
	}
	if got := r.cmd("x RENAME {4}", "Lit1 Lit2"); !strings.HasPrefix(got, "x OK") {
		t.Errorf("RENAME from a literal name: %q", got)
	}
}

// TestPreAuthCutOff: before login a connection lives at most
// preAuthTimeout whatever it does (a NOOP every few moments, a silent
// literal), and sends at most preAuthMaxBytes.
func TestPreAuthCutOff(t *testing.T) {
	defer func(d time.Duration) { preAuthTimeout = d }(preAuthTimeout)
	preAuthTimeout = 700 * time.Millisecond
	op := startOp(t, testConfig())
	closedWithin := func(t *testing.T, r *rawIMAP, d time.Duration, keepBusy bool) {
		t.Helper()
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			io.Copy(io.Discard, r.br)
		}()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if e := time.Since(start); e > d {
					t.Errorf("closed after %s, want within %s", e, d)
				}
				return
			case <-tick.C:
				if keepBusy {
					fmt.Fprintf(r.c, "n NOOP\r\n")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("connection still open after 10 s")
			}
		}
	}
	t.Run("NOOP keep-alive", func(t *testing.T) {
		closedWithin(t, dialRawIMAP(t, op, ""), 3*time.Second, true)
	})
	t.Run("silent literal", func(t *testing.T) {
		r := dialRawIMAP(t, op, "")
		if got := r.cmd("a LOGIN {10}", ""); !strings.HasPrefix(got, "+") {
			t.Fatalf("LOGIN {10}: %q", got)
		}
		closedWithin(t, r, 3*time.Second, false)
	})
	t.Run("logged in is not cut", func(t *testing.T) {
		r := dialRawIMAP(t, op, doctor)
		time.Sleep(2 * preAuthTimeout)
		if got := r.cmd("a NOOP", ""); !strings.HasPrefix(got, "a OK") {
			t.Errorf("NOOP after the pre-login time: %q", got)
		}
	})
	t.Run("bytes before login", func(t *testing.T) {
		preAuthTimeout = time.Minute // read by the operator's Start
		r := dialRawIMAP(t, startOp(t, testConfig()), "")
		go fmt.Fprint(r.c, strings.Repeat("n NOOP\r\n", int(preAuthMaxBytes)/8+10))
		var last string
		for {
			l, err := r.br.ReadString('\n')
			if err != nil {
				break
			}
			last = l
		}
		if !strings.HasPrefix(last, "* BYE [LIMIT] more than") {
			t.Errorf("last line %q", last)
		}
	})
}

// FuzzIMAPGate: whatever a client sends, the gate never panics, hands
// imapserver no line longer than its bound, and keeps what it buffers
// bounded.
func FuzzIMAPGate(f *testing.F) {
	for _, s := range []string{
		"a LOGIN u p\r\n", "a STARTTLS\r\nb NOOP\r\n", "a LOGIN {2147483648}\r\n", "a LOGIN {5+}\r\nuser pass\r\n",
		"a CREATE \"\xff\"\r\n", "a CREATE \"&Jjo\"\r\n", "a APPEND INBOX {3+}\r\nabc\r\n", "a RENAME \"a\\\"b\" c\r\n",
		"a UID COPY 1:* \"&AOk-\"\r\n", "a LIST \"\" \"%\"\r\n", "DONE\r\n", strings.Repeat("x", 70000),
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, secure bool) {
		client, server := net.Pipe()
		defer client.Close()
		go io.Copy(io.Discard, client)
		g := newIMAPGate(server, nil, secure, time.Minute, gateCmdTimeout)
		g.authed = !secure
		for len(data) > 0 {
			k := min(len(data), 1000)
			err := g.filter(data[:k])
			data = data[k:]
			if err != nil {
				return // the gate said BYE
			}
			if len(g.line) > gateLineMax || len(g.in) > gateLineMax+1000 {
				t.Fatalf("buffers: line %d, in %d", len(g.line), len(g.in))
			}
			for _, l := range bytes.SplitAfter(g.in, []byte("\n")) {
				if g.lit == 0 && len(l) > gateLineMax {
					t.Fatalf("a %d-byte line passed", len(l))
				}
			}
			g.in = g.in[:0]
		}
	})
}

// TestIMAPCommandDeadline: a client that starts a command and stops is
// told so and closed after the per-command deadline, before and after
// login, whether the gate holds the command or imapserver waits for its
// literal; an idle logged-in client is not cut.
func TestIMAPCommandDeadline(t *testing.T) {
	defer func(d time.Duration) { gateCmdTimeout = d }(gateCmdTimeout)
	gateCmdTimeout = 500 * time.Millisecond
	op := startOp(t, testConfig())
	cases := []struct {
		name, user, line, literal string
	}{
		{"held mailbox literal after login", doctor, "a SELECT {10}", "INB"},
		{"partial line after login", doctor, "", "a NOO"},
		{"login literal before login", "", "a LOGIN {100}", "abc"},
		{"partial line before login", "", "", "a CAPA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRawIMAP(t, op, tc.user)
			if tc.line != "" {
				if got := r.cmd(tc.line, ""); !strings.HasPrefix(got, "+") {
					t.Fatalf("%s: %q", tc.line, got)
				}
			}
			start := time.Now()
			fmt.Fprint(r.c, tc.literal)
			rest, _ := io.ReadAll(r.br)
			if d := time.Since(start); d > 5*gateCmdTimeout {
				t.Errorf("closed after %s, deadline %s", d, gateCmdTimeout)
			}
			if !strings.HasPrefix(string(rest), "* BYE Command not completed within 500ms") || strings.Contains(string(rest), "SERVERBUG") {
				t.Errorf("answer %q", rest)
			}
		})
	}
	t.Run("idle after login is not cut", func(t *testing.T) {
		r := dialRawIMAP(t, op, doctor)
		time.Sleep(3 * gateCmdTimeout)
		if got := r.cmd("a NOOP", ""); !strings.HasPrefix(got, "a OK") {
			t.Errorf("NOOP after idling: %q", got)
		}
		if got := r.cmd("b APPEND INBOX {12}", "Subject: x\r\n"); !strings.HasPrefix(got, "b OK") {
			t.Errorf("APPEND: %q", got)
		}
	})
}
