package probe

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/msscprobe/msscprobe/check"
)

// Limits bounds what a server may send, so that a broken or hostile server
// cannot make the probe buffer without end: the client libraries read a
// whole line, a whole multi-line reply and a whole IMAP literal into
// memory before returning (go-smtp through net/textproto, imapclient for
// FETCH bodies). The bounds are enforced below the libraries, on the
// plaintext side of TLS, so a library never sees a byte past one.
// Exceeding one closes the connection and fails the step on SMTP-LIM-001
// or IMAP-LIM-001. Zero fields take the defaults (docs/probe.md, "Limits").
type Limits struct {
	// SMTPLine is the longest SMTP reply line, CRLF included: RFC 5321
	// §4.5.3.1.5 sets 512 octets, doubled and rounded as go-smtp's client
	// does (it fails past 2000 with a bare "too long a line"; this bound
	// trips first and names the server's fault).
	SMTPLine int
	// SMTPReply is the largest SMTP reply, all its lines together (a
	// multi-line EHLO answer is a few hundred bytes).
	SMTPReply int
	// IMAPLine is the longest IMAP response line outside literals (a UID
	// SEARCH answer lists one number per new message).
	IMAPLine int
	// IMAPReply is what an IMAP server may send between two commands of
	// the probe, outside literals (untagged data, IDLE updates).
	IMAPReply int
	// IMAPLiteral is the largest IMAP literal: it holds one message, and
	// MSSanté caps messages at 25 MB (research mssante.md §1). A larger
	// literal is refused on its announcement, before any of it is read.
	IMAPLiteral int64
	// Step is everything the servers may send during one step, on every
	// connection (a reconnect included), literals included.
	Step int64
}

// DefaultLimits are the bounds used when Options.Limits is zero.
var DefaultLimits = Limits{
	SMTPLine:    2000,
	SMTPReply:   64 << 10,
	IMAPLine:    1 << 20,
	IMAPReply:   4 << 20,
	IMAPLiteral: 32 << 20,
	Step:        128 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	orDefault(&l.SMTPLine, d.SMTPLine)
	orDefault(&l.SMTPReply, d.SMTPReply)
	orDefault(&l.IMAPLine, d.IMAPLine)
	orDefault(&l.IMAPReply, d.IMAPReply)
	orDefault(&l.IMAPLiteral, d.IMAPLiteral)
	orDefault(&l.Step, d.Step)
	return l
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// stepBudget counts the bytes servers sent during the running step, on
// every guarded connection, and keeps the first bound each protocol
// exceeded so the step records it.
type stepBudget struct {
	used atomic.Int64
	mu   sync.Mutex
	trip map[string]*refusal // rule ID → first bound exceeded in this step
}

// start begins a step: a fresh byte count, no bound exceeded yet.
func (b *stepBudget) start() {
	b.used.Store(0)
	b.mu.Lock()
	b.trip = nil
	b.mu.Unlock()
}

func (b *stepBudget) tripped(rule string, r *refusal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.trip == nil {
		b.trip = map[string]*refusal{}
	}
	if b.trip[rule] == nil {
		b.trip[rule] = r
	}
}

// report records on s the bounds exceeded during the step: the server is
// not conforming, whatever check the operation in flight failed on.
func (b *stepBudget) report(s *stepRec) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range []string{RuleSMTPLimits, RuleIMAPLimits} {
		if r := b.trip[id]; r != nil {
			s.fail(id, r.msg)
		}
	}
}

// tcpConn is a connection the probe opened; a guard above it that trips
// stores why here, so that bounded reports the bound rather than the
// library's view of a closed connection.
type tcpConn struct {
	net.Conn
	trip atomic.Pointer[refusal]
	// budget and rule are the guard's, set before the connection is used.
	budget *stepBudget
	rule   string
}

// tripped returns why a guard on c closed it, if one did, and records the
// bound on the running step. The guard records it too when it trips, but
// imapclient reads on its own goroutine, so a trip can fall between two
// steps (the CAPABILITY it requests by itself after a greeting without
// one, answered after imap-connect ended) and the next step's start would
// forget it: the step whose operation meets the closed connection is the
// one that must say the server is not conforming.
func tripped(c any) *refusal {
	t, ok := c.(*tcpConn)
	if !ok {
		return nil
	}
	r := t.trip.Load()
	if r != nil && t.budget != nil {
		t.budget.tripped(t.rule, r)
	}
	return r
}

// guard enforces Limits on the bytes a server sends on the plaintext side
// of one connection. Reads are checked before they reach the transcript
// or the client library; writes (the probe's commands) start a new reply.
type guard struct {
	net.Conn
	lim  Limits
	imap bool
	// lineMax and replyMax are the protocol's bounds in lim.
	lineMax, replyMax int
	rule              string
	name              string
	raw               *tcpConn
	budget            *stepBudget
	tr                *transcript

	mu    sync.Mutex
	line  int    // bytes of the current line
	reply int    // bytes since the last command, outside literals
	lit   int64  // literal bytes still expected
	tail  []byte // end of the current line, to spot a literal's {N}
	caps  bool   // inside a CAPABILITY list on this line
	err   *refusal
}

func (cn *connector) guard(c net.Conn, raw *tcpConn) *guard {
	lim := cn.limits.withDefaults()
	g := &guard{Conn: c, lim: lim, imap: cn.rules.name == "IMAP", rule: cn.rules.limits, name: cn.rules.name, raw: raw, budget: cn.budget, tr: cn.tr,
		lineMax: lim.SMTPLine, replyMax: lim.SMTPReply}
	if g.imap {
		g.lineMax, g.replyMax = lim.IMAPLine, lim.IMAPReply
	}
	if g.budget == nil {
		g.budget = &stepBudget{}
	}
	if raw != nil {
		raw.budget, raw.rule = g.budget, g.rule
	}
	return g
}

func (g *guard) Write(p []byte) (int, error) {
	g.command()
	return g.Conn.Write(p)
}

// command starts a new reply: the probe sent something.
func (g *guard) command() {
	g.mu.Lock()
	g.reply = 0
	g.mu.Unlock()
}

func (g *guard) Read(p []byte) (int, error) {
	g.mu.Lock()
	err := g.err
	g.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, rerr := g.Conn.Read(p)
	if n == 0 {
		return 0, rerr
	}
	g.mu.Lock()
	err = g.check(p[:n])
	g.mu.Unlock()
	if err != nil {
		// Nothing of the offending read reaches the library: it gets the
		// refusal, and the connection is closed so no goroutine blocks on it.
		g.tr.note("%s", err.msg.EN)
		g.raw.trip.CompareAndSwap(nil, err)
		g.budget.tripped(g.rule, err)
		g.raw.Close()
		return 0, err
	}
	return n, rerr
}

// check accounts for p; g.mu is held. The error is sticky.
func (g *guard) check(p []byte) *refusal {
	if used := g.budget.used.Add(int64(len(p))); used > g.lim.Step {
		g.err = g.over(textf("plus de %s pendant l'étape", "more than %s during the step", kib(int(g.lim.Step))))
		return g.err
	}
	for len(p) > 0 {
		if g.lit > 0 {
			k := int(min(g.lit, int64(len(p))))
			g.lit -= int64(k)
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i+1]
		}
		p = p[len(seg):]
		g.line += len(seg)
		g.reply += len(seg)
		if g.line > g.lineMax {
			g.err = g.over(textf("une ligne de plus de %s", "a line longer than %s", kib(g.lineMax)))
			return g.err
		}
		if g.reply > g.replyMax {
			g.err = g.over(textf("une réponse de plus de %s", "a reply larger than %s", kib(g.replyMax)))
			return g.err
		}
		if !g.imap {
			if i >= 0 {
				g.line = 0
			}
			continue
		}
		from := len(g.tail)
		g.tail = append(g.tail, seg...)
		if r := g.capabilities(from); r != nil {
			g.err = r
			return r
		}
		if len(g.tail) > 64 {
			g.tail = append(g.tail[:0], g.tail[len(g.tail)-32:]...)
		}
		if i < 0 {
			continue
		}
		if n, ok := literalSize(g.tail); ok {
			if n > g.lim.IMAPLiteral {
				g.err = g.over(textf("un littéral annoncé de %d octets (maximum %s)", "a literal announced at %d bytes (maximum %s)", n, kib(int(g.lim.IMAPLiteral))))
				return g.err
			}
			g.lit = n
		}
		g.line, g.tail, g.caps = 0, g.tail[:0], false
	}
	return nil
}

// capabilities refuses a "(" inside a CAPABILITY list, looking at the
// bytes of g.tail from index from on. A capability is an atom (RFC 9051
// §9: "(" is an atom-special), and imapclient (beta.8, capability.go)
// loops for ever without reading on "CAPABILITY (", so no deadline could
// end it: the byte must never reach it. The list ends at "]" in a
// response code ("[CAPABILITY ...] Dovecot (Debian) ready" is fine).
func (g *guard) capabilities(from int) *refusal {
	const word = "CAPABILITY"
	for j := from; j < len(g.tail); j++ {
		switch c := g.tail[j]; {
		case g.caps && c == ']':
			g.caps = false
		case g.caps && c == '(':
			return g.over(check.Textf("une liste CAPABILITY contenant « ( » (RFC 9051 §9 : une capacité est un atome)",
				"a CAPABILITY list holding \"(\" (RFC 9051 §9: a capability is an atom)"))
		case j+1 >= len(word) && bytes.EqualFold(g.tail[j+1-len(word):j+1], []byte(word)):
			g.caps = true
		}
	}
	return nil
}

func (g *guard) over(what check.Text) *refusal {
	return &refusal{textf("Le serveur %s a envoyé %s (limites de la sonde, docs/probe.md) : ce n'est pas un serveur %s conforme ; la connexion est fermée.",
		"The %s server sent %s (probe limits, docs/probe.md): not a conforming %s server; the connection is closed.", g.name, what, g.name)}
}

// kib renders a size in the unit that divides it.
func kib(n int) check.Text {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return check.Textf("%d Mio", "%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return check.Textf("%d Kio", "%d KiB", n>>10)
	}
	return check.Textf("%d octets", "%d bytes", n)
}

// literalSize reads the size of a literal announced at the end of an IMAP
// line ("{123}\r\n", "~{123}\r\n" for BINARY, RFC 9051 §4.3). A size too
// large for int64 is reported as the largest one, so it is refused.
func literalSize(line []byte) (int64, bool) {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	digits := line[open+1 : len(line)-1]
	if len(digits) == 0 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return 1<<63 - 1, true
	}
	return n, true
}
