package mocks

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// imapGate sits between a client and imapserver on the plaintext side of
// TLS and refuses, at once and with a reason, what imapserver (go-imap
// v2.0.0-beta.8) mishandles:
//   - a synchronizing literal over 4096 bytes outside APPEND: imapserver
//     refuses it but then waits for the end of the command line, which the
//     client (waiting for "+") never sends, and answers NO [SERVERBUG] after
//     its 30 s read timeout;
//   - a mailbox name that is not valid UTF-8, holds a control character or
//     is malformed modified UTF-7 (RFC 3501 §5.1.3): imapserver answers
//     NO [SERVERBUG];
//   - before login: more than preAuthMaxBytes, or a connection older than
//     preAuthTimeout (imapserver's 30 s deadline is per command, so a
//     client sending a NOOP every 29 s, or a slow literal, stayed forever).
//
// To see plaintext after STARTTLS the gate does STARTTLS itself (imapserver
// would wrap the connection in TLS below the gate): imapserver runs with no
// TLS configuration and InsecureAuth, and the gate keeps what that changes
// true to RFC 9051 §6.2.1 and RFC 3501 §6.2.3: before TLS it offers
// STARTTLS and LOGINDISABLED instead of AUTH=, refuses LOGIN and
// AUTHENTICATE with NO [PRIVACYREQUIRED], and drops what a client pipelined
// after STARTTLS (command injection).
type imapGate struct {
	net.Conn              // the connection imapserver reads: TCP, then TLS
	raw          net.Conn // as accepted, closed without the lock
	rbuf         []byte
	starttls     *tls.Config // offered before TLS; nil: not offered
	secure       bool        // TLS under the gate
	preAuthUntil time.Time
	cmdTimeout   time.Duration // gateCmdTimeout when the listener started

	mu        sync.Mutex // everything below, and writes
	authed    bool
	closed    bool
	in        []byte // filtered bytes for imapserver
	line      []byte // client command line being assembled
	lit       int64  // client literal bytes passing through
	syncLit   int64  // announced synchronizing literal, until "+" or an answer
	syncTag   string
	cont      bool   // line continues a command after a literal
	hold      []byte // a mailbox command with literals, until it is whole
	holdTag   string
	holdName  string
	holdLit   int64 // literal bytes still to add to hold
	preBytes  int64
	outLine   []byte // server line being assembled before TLS (capabilities)
	deadlineR time.Time
	// cmdStart is when the command the gate or imapserver is still
	// waiting to complete began (zero: none): imapserver's own 30 s
	// command deadline cannot see a command the gate holds (it is idle
	// for 35 minutes once logged in), and it answers a literal left
	// unfinished with NO [SERVERBUG]; the gate enforces the deadline.
	cmdStart  time.Time
	litAppend bool // the literal passing through is an APPEND's (imapserver's 5 min literal deadline)
}

// Gate bounds, variables so tests can shorten them.
var (
	preAuthTimeout  = 60 * time.Second
	preAuthMaxBytes = int64(64 << 10)
	// gateCmdTimeout is the time a client has to complete a command once
	// it started it (go-imap's cmdReadTimeout).
	gateCmdTimeout = 30 * time.Second
)

const (
	bufferedLiteralMax = 4096     // imapserver's limit outside APPEND
	gateLineMax        = 64 << 10 // over imapserver's 50 KiB command limit
)

func newIMAPGate(c net.Conn, starttls *tls.Config, secure bool, preAuth, cmdTimeout time.Duration) *imapGate {
	return &imapGate{Conn: c, raw: c, starttls: starttls, secure: secure, preAuthUntil: time.Now().Add(preAuth), cmdTimeout: cmdTimeout}
}

// gateListener wraps every accepted connection in a gate.
type gateListener struct {
	net.Listener
	starttls *tls.Config
	secure   bool
	// preAuth and cmdTimeout are preAuthTimeout and gateCmdTimeout when the
	// listener started: a later test changing them does not reach the
	// connections of an operator still being served.
	preAuth, cmdTimeout time.Duration
}

func (l gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newIMAPGate(c, l.starttls, l.secure, l.preAuth, l.cmdTimeout), nil
}

// gateOf finds the gate under an imapserver connection.
func gateOf(c net.Conn) *imapGate {
	for c != nil {
		switch x := c.(type) {
		case *imapGate:
			return x
		case *tls.Conn:
			c = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// tlsState is the TLS state of an imapserver connection, if it is TLS.
func tlsState(c net.Conn) (tls.ConnectionState, bool) {
	if g := gateOf(c); g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		if tc, ok := g.Conn.(*tls.Conn); ok {
			return tc.ConnectionState(), true
		}
		return tls.ConnectionState{}, false
	}
	if tc, ok := c.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// authenticated lifts the pre-login bounds.
func (g *imapGate) authenticated() {
	g.mu.Lock()
	g.authed = true
	d := g.connDeadline()
	g.mu.Unlock()
	g.Conn.SetReadDeadline(d)
}

func (g *imapGate) capDeadline(t time.Time) time.Time {
	if g.authed {
		return t
	}
	if t.IsZero() || t.After(g.preAuthUntil) {
		return g.preAuthUntil
	}
	return t
}

// readDeadline records the read deadline imapserver asks for and returns
// the connection and the deadline to set on it.
func (g *imapGate) readDeadline(t time.Time) (net.Conn, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deadlineR = t
	return g.Conn, g.connDeadline()
}

// connDeadline is the read deadline of the connection under the gate:
// imapserver's, or the end of the command being completed; before login
// never past the pre-login cut-off. g.mu is held.
func (g *imapGate) connDeadline() time.Time {
	if !g.cmdStart.IsZero() {
		return g.capDeadline(g.cmdStart.Add(g.cmdTimeout))
	}
	return g.capDeadline(g.deadlineR)
}

// track notes whether a command is under way, starting or ending its
// deadline; g.mu is held.
func (g *imapGate) track() {
	appendLit := g.litAppend && (g.lit > 0 || g.syncLit > 0)
	busy := !appendLit && (len(g.line) > 0 || g.cont || g.hold != nil || g.syncLit > 0 || g.lit > 0)
	switch {
	case busy && g.cmdStart.IsZero():
		g.cmdStart = time.Now()
	case !busy && !g.cmdStart.IsZero():
		g.cmdStart = time.Time{}
	default:
		return
	}
	g.Conn.SetReadDeadline(g.connDeadline())
}

// stalled reports whether a read timed out because the client left a
// command unfinished past gateCmdTimeout; g.mu is held.
func (g *imapGate) stalled(err error) bool {
	var ne net.Error
	return !g.closed && !g.cmdStart.IsZero() && errors.As(err, &ne) && ne.Timeout() &&
		!time.Now().Before(g.cmdStart.Add(g.cmdTimeout))
}

func (g *imapGate) SetDeadline(t time.Time) error {
	c, r := g.readDeadline(t)
	if err := c.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(r)
}

func (g *imapGate) SetReadDeadline(t time.Time) error {
	c, r := g.readDeadline(t)
	return c.SetReadDeadline(r)
}

func (g *imapGate) SetWriteDeadline(t time.Time) error {
	g.mu.Lock()
	c := g.Conn
	g.mu.Unlock()
	return c.SetWriteDeadline(t)
}

// Close closes the accepted connection without waiting for the lock, which
// a STARTTLS handshake in progress holds.
func (g *imapGate) Close() error { return g.raw.Close() }

// errGateClosed ends imapserver's read after the gate said BYE.
var errGateClosed = errors.New("imap gate: connection closed after BYE")

func (g *imapGate) Read(p []byte) (int, error) {
	if g.rbuf == nil {
		g.rbuf = make([]byte, 16<<10) // imapserver reads from one goroutine at a time
	}
	buf := g.rbuf
	for {
		g.mu.Lock()
		if len(g.in) > 0 {
			// The rest moves to the front so that the array is reused:
			// reslicing it away made every 16 KiB of an APPEND literal a
			// new allocation, as much garbage as the literal itself.
			n := copy(p, g.in)
			g.in = g.in[:copy(g.in, g.in[n:])]
			g.mu.Unlock()
			return n, nil
		}
		c, closed := g.Conn, g.closed
		g.mu.Unlock()
		if closed {
			return 0, errGateClosed
		}
		n, err := c.Read(buf)
		if n > 0 {
			if ferr := g.filter(buf[:n]); ferr != nil {
				return 0, ferr
			}
		}
		if err != nil {
			g.mu.Lock()
			if g.stalled(err) {
				// The client stopped mid-command: say so (RFC 9051
				// §7.1.5 BYE), rather than imapserver's NO [SERVERBUG].
				ferr := g.close(fmt.Sprintf("* BYE Command not completed within %s: the client stopped sending", g.cmdTimeout))
				g.mu.Unlock()
				return 0, ferr
			}
			pending := len(g.in) > 0
			g.mu.Unlock()
			if !pending {
				return 0, err
			}
		}
	}
}

// filter takes bytes from the client; g.mu is not held.
func (g *imapGate) filter(b []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.track()
	if !g.authed {
		g.preBytes += int64(len(b))
		if g.preBytes > preAuthMaxBytes {
			return g.bye(fmt.Sprintf("more than %d bytes before login", preAuthMaxBytes))
		}
	}
	for len(b) > 0 {
		if g.holdLit > 0 {
			b = literalBytes(&g.hold, &g.holdLit, b)
			continue
		}
		if g.lit > 0 {
			b = literalBytes(&g.in, &g.lit, b)
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			g.line = append(g.line, b...)
			if len(g.line) > gateLineMax {
				return g.bye(fmt.Sprintf("command line longer than %d bytes", gateLineMax))
			}
			return nil
		}
		g.line = append(g.line, b[:i+1]...)
		b = b[i+1:]
		line := g.line
		g.line = nil
		if len(line) > gateLineMax {
			return g.bye(fmt.Sprintf("command line longer than %d bytes", gateLineMax))
		}
		startTLS, err := g.command(line)
		if err != nil {
			return err
		}
		if startTLS {
			// Anything pipelined after STARTTLS is dropped (RFC 9051
			// §6.2.1: no command injection before the handshake).
			return g.handshake()
		}
	}
	return nil
}

// literalBytes moves up to *left bytes of a literal from b to *dst and
// returns the rest of b.
func literalBytes(dst *[]byte, left *int64, b []byte) []byte {
	k := int(min(*left, int64(len(b))))
	*dst = append(*dst, b[:k]...)
	*left -= int64(k)
	return b[k:]
}

// command judges one client line: passes it to imapserver, or answers it
// itself. It reports whether the line was an accepted STARTTLS.
func (g *imapGate) command(line []byte) (bool, error) {
	cont := g.cont
	g.litAppend = false
	text := strings.TrimRight(string(line), "\r\n")
	size, nonSync, hasLit := trailingLiteral(text)
	g.cont = hasLit
	if cont {
		// The rest of a command after a literal: its tag and name are
		// with imapserver already (or held here); only bounds apply.
		if hasLit && size > bufferedLiteralMax {
			return false, g.bye(fmt.Sprintf("literal of %d bytes inside a command (at most %d)", size, bufferedLiteralMax))
		}
		if g.hold != nil {
			return false, g.holdMore(line, size, nonSync, hasLit)
		}
		g.pass(line, size, nonSync, hasLit, "")
		return false, nil
	}
	tag, rest, _ := strings.Cut(text, " ")
	name, args, _ := strings.Cut(rest, " ")
	name = strings.ToUpper(name)
	if name == "UID" {
		sub, a, _ := strings.Cut(args, " ")
		name, args = "UID "+strings.ToUpper(sub), a
	}
	refuse := func(resp string) (bool, error) {
		g.cont = false
		return false, g.reply(tag + " " + resp)
	}
	if tag == "" || !utf8.ValidString(tag+name) {
		// imapserver answers the syntax error itself.
		g.pass(line, size, nonSync, hasLit, tag)
		return false, nil
	}
	switch {
	case !g.secure && name == "STARTTLS" && g.starttls != nil && strings.TrimSpace(args) == "":
		g.cont = false
		return true, g.reply(tag + " OK Begin TLS negotiation now")
	case name == "STARTTLS" && g.secure:
		return refuse("BAD STARTTLS not available: TLS is already active")
	case name == "STARTTLS":
		return refuse("NO STARTTLS not supported")
	case !g.secure && (name == "LOGIN" || name == "AUTHENTICATE"):
		if hasLit && nonSync {
			return false, g.bye("credentials sent in cleartext")
		}
		return refuse("NO [PRIVACYREQUIRED] TLS is required to authenticate")
	case hasLit && nonSync && size > bufferedLiteralMax && name != "APPEND":
		return false, g.bye(fmt.Sprintf("non-synchronizing literal of %d bytes (LITERAL- allows %d)", size, bufferedLiteralMax))
	case hasLit && size > bufferedLiteralMax && name != "APPEND":
		return refuse(fmt.Sprintf("NO [TOOBIG] Literals are limited to %d bytes for this command (%d announced)", bufferedLiteralMax, size))
	case hasLit && nonSync && !g.authed && size > bufferedLiteralMax:
		return false, g.bye(fmt.Sprintf("literal of %d bytes before login", size))
	}
	if hasLit && name != "APPEND" && mailboxArgs(name) != nil {
		// A mailbox name may be in a literal: the command is held until
		// whole, so that it can be judged before imapserver sees it.
		g.hold, g.holdTag, g.holdName = nil, tag, name
		return false, g.holdMore(line, size, nonSync, hasLit)
	}
	if why := badMailboxArgs(name, args); why != "" {
		if hasLit && nonSync {
			return false, g.bye(why)
		}
		return refuse("BAD Invalid mailbox name: " + why)
	}
	g.litAppend = name == "APPEND"
	g.pass(line, size, nonSync, hasLit, tag)
	return false, nil
}

// holdMore adds a line of a held command. Literals are collected by the
// gate, which answers "+" itself, and handed on as non-synchronizing ones
// (at most 4096 bytes here, which LITERAL- allows), so imapserver sends no
// "+" of its own. Once the command is whole it is judged; g.mu is held.
func (g *imapGate) holdMore(line []byte, size int64, nonSync, hasLit bool) error {
	if hasLit && !nonSync {
		i := bytes.LastIndexByte(line, '}')
		line = append(append(append([]byte(nil), line[:i]...), '+'), line[i:]...)
	}
	g.hold = append(g.hold, line...)
	if len(g.hold) > 2*gateLineMax {
		return g.bye(fmt.Sprintf("command longer than %d bytes", 2*gateLineMax))
	}
	if hasLit {
		g.holdLit = size
		if !nonSync {
			return g.reply("+ Ready for literal data")
		}
		return nil
	}
	cmd := g.hold
	g.hold = nil
	_, args, _ := strings.Cut(string(cmd), " ")
	_, args, _ = strings.Cut(args, " ") // the command name
	if strings.HasPrefix(g.holdName, "UID ") {
		_, args, _ = strings.Cut(args, " ")
	}
	if why := badMailboxArgs(g.holdName, strings.TrimRight(args, "\r\n")); why != "" {
		return g.reply(g.holdTag + " BAD Invalid mailbox name: " + why)
	}
	g.in = append(g.in, cmd...)
	return nil
}

// pass hands a line to imapserver and arms the literal that follows it.
func (g *imapGate) pass(line []byte, size int64, nonSync, hasLit bool, tag string) {
	g.in = append(g.in, line...)
	switch {
	case hasLit && nonSync:
		g.lit = size
	case hasLit:
		g.syncLit, g.syncTag = size, tag
	}
}

// reply writes a response line of the gate's own; g.mu is held.
func (g *imapGate) reply(s string) error {
	_, err := g.Conn.Write([]byte(s + "\r\n"))
	return err
}

// bye ends the connection with a reason; g.mu is held.
func (g *imapGate) bye(why string) error {
	return g.close("* BYE [LIMIT] " + why)
}

// close writes a last response line and ends the connection; g.mu is
// held.
func (g *imapGate) close(last string) error {
	g.reply(last)
	g.closed = true
	g.raw.Close()
	return fmt.Errorf("imap gate: %s: %w", strings.TrimPrefix(last, "* BYE "), errGateClosed)
}

// handshake runs the TLS handshake of STARTTLS and puts TLS under the
// gate; g.mu is held.
func (g *imapGate) handshake() error {
	g.line, g.cont = nil, false
	tc := tls.Server(g.Conn, g.starttls)
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		g.closed = true
		g.raw.Close()
		return fmt.Errorf("imap gate: STARTTLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	tc.SetReadDeadline(g.connDeadline())
	g.Conn, g.secure = tc, true
	return nil
}

func (g *imapGate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.syncLit > 0 {
		switch {
		case bytes.HasPrefix(p, []byte("+")):
			g.lit, g.syncLit = g.syncLit, 0
		case g.syncTag != "" && bytes.HasPrefix(p, []byte(g.syncTag+" ")):
			g.syncLit = 0
		}
		g.track()
	}
	if g.secure {
		return g.Conn.Write(p)
	}
	// Before TLS, capability lists are those of a server that wants TLS
	// first: whole lines are rewritten (imapserver writes whole lines; a
	// partial one waits for its end).
	g.outLine = append(g.outLine, p...)
	var out []byte
	for {
		i := bytes.IndexByte(g.outLine, '\n')
		if i < 0 {
			break
		}
		out = append(out, preTLSCaps(string(g.outLine[:i+1]), g.starttls != nil)...)
		g.outLine = g.outLine[i+1:]
	}
	if len(out) > 0 {
		if _, err := g.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// preTLSCaps rewrites the capability list in a line ("* CAPABILITY ...",
// "[CAPABILITY ...]"): no AUTH= mechanism, LOGINDISABLED, and STARTTLS
// when offered.
func preTLSCaps(line string, starttls bool) string {
	i := strings.Index(strings.ToUpper(line), "CAPABILITY ")
	if i < 0 {
		return line
	}
	start := i + len("CAPABILITY ")
	end := strings.IndexAny(line[start:], "]\r\n")
	if end < 0 {
		return line
	}
	end += start
	var caps []string
	for _, c := range strings.Fields(line[start:end]) {
		u := strings.ToUpper(c)
		if strings.HasPrefix(u, "AUTH=") || u == "STARTTLS" || u == "LOGINDISABLED" {
			continue
		}
		caps = append(caps, c)
	}
	if starttls {
		caps = append(caps, "STARTTLS")
	}
	caps = append(caps, "LOGINDISABLED")
	return line[:start] + strings.Join(caps, " ") + line[end:]
}

// trailingLiteral reads a literal announced at the end of a command line:
// "{N}" or "{N+}" (RFC 7888), "~{N}" (RFC 3516). A size too large for
// int64 is reported as the largest one.
func trailingLiteral(text string) (size int64, nonSync, ok bool) {
	if !strings.HasSuffix(text, "}") {
		return 0, false, false
	}
	open := strings.LastIndexByte(text, '{')
	if open < 0 {
		return 0, false, false
	}
	digits := text[open+1 : len(text)-1]
	if strings.HasSuffix(digits, "+") {
		digits, nonSync = digits[:len(digits)-1], true
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		n = 1<<63 - 1
	}
	return n, nonSync, true
}

// mailboxArgs says which arguments of a command are mailbox names
// (RFC 9051 §6.3, §6.4); -1 for none.
func mailboxArgs(name string) []int {
	switch name {
	case "CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "SELECT", "EXAMINE", "STATUS", "APPEND":
		return []int{0}
	case "RENAME", "LIST", "LSUB":
		return []int{0, 1}
	case "COPY", "MOVE", "UID COPY", "UID MOVE":
		return []int{1}
	}
	return nil
}

// badMailboxArgs returns why a mailbox argument of a command would make
// imapserver fail (it decodes every name as modified UTF-7), "" when none
// would.
func badMailboxArgs(name, args string) string {
	want := mailboxArgs(name)
	if want == nil {
		return ""
	}
	for i := 0; i <= want[len(want)-1]; i++ {
		var arg string
		var ok bool
		arg, args, ok = nextAString(args)
		if !ok {
			return ""
		}
		for _, w := range want {
			if w == i {
				if why := badMailboxName(arg); why != "" {
					return why
				}
			}
		}
	}
	return ""
}

// nextAString takes one atom, quoted string or literal ("{N}" or "{N+}",
// CRLF, N bytes) from s; ok is false for anything else, or a literal whose
// bytes s does not hold.
func nextAString(s string) (arg, rest string, ok bool) {
	s = strings.TrimLeft(s, " ")
	if s == "" || s[0] == '(' {
		return "", "", false
	}
	if s[0] == '{' {
		end := strings.Index(s, "}")
		if end < 0 {
			return "", "", false
		}
		n, err := strconv.Atoi(strings.TrimSuffix(s[1:end], "+"))
		body, crlf := strings.CutPrefix(s[end+1:], "\r\n")
		if !crlf {
			body, crlf = strings.CutPrefix(s[end+1:], "\n")
		}
		if err != nil || n < 0 || !crlf || len(body) < n {
			return "", "", false
		}
		return body[:n], body[n:], true
	}
	if s[0] != '"' {
		end := strings.IndexAny(s, " (")
		if end < 0 {
			end = len(s)
		}
		return s[:end], s[end:], true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// badMailboxName says why imapserver cannot decode a mailbox name, ""
// when it can: valid UTF-8, no control character, and well-formed
// modified UTF-7 (RFC 3501 §5.1.3: "&" starts base64 of UTF-16 ended by
// "-", "&-" is "&").
func badMailboxName(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return ""
	}
	if !utf8.ValidString(name) {
		return "not valid UTF-8"
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "control character"
	}
	prevShift := false
	for i := 0; i < len(name); i++ {
		if name[i] != '&' {
			prevShift = false
			continue
		}
		end := strings.IndexByte(name[i+1:], '-')
		if end < 0 {
			return `modified UTF-7 shift "&" not ended by "-"`
		}
		enc := name[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			prevShift = false
			continue
		}
		if prevShift {
			return "two modified UTF-7 shifts in a row"
		}
		prevShift = true
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 == 1 || len(raw) == 0 {
			return "bad modified UTF-7 base64"
		}
		u := make([]uint16, len(raw)/2)
		for j := range u {
			u[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for j := 0; j < len(u); j++ {
			r := rune(u[j])
			switch {
			case utf16.IsSurrogate(r):
				if j+1 == len(u) || utf16.DecodeRune(r, rune(u[j+1])) == utf8.RuneError {
					return "bad UTF-16 in modified UTF-7"
				}
				j++
			case r >= 0x20 && r <= 0x7e:
				return "printable ASCII encoded in modified UTF-7"
			}
		}
	}
	return ""
}
