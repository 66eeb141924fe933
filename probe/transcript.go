package probe

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// redacted replaces credentials in transcripts.
const redacted = "[redacted]"

// transcript records one protocol's exchanges as "C:"/"S:" lines with
// credentials redacted. The client libraries' DebugWriters cannot be used:
// they mix both directions and log AUTH payloads and LOGIN passwords in
// clear (research tools.md §D, "Both libraries' DebugWriters log
// credentials"). A transcript instead sits on the plaintext side of the
// connection (above TLS) and knows which side wrote each byte.
type transcript struct {
	mu      sync.Mutex
	imap    bool
	start   time.Time
	out     bytes.Buffer
	secrets *secrets // shared by a run's transcripts

	partial [2][]byte // incomplete line per direction
	literal [2]int    // IMAP literal bytes still expected per direction
	litSize [2]int

	smtpAuth  bool   // client lines are SASL responses
	smtpData  bool   // client is sending the message
	dataBytes int    // bytes of message seen in DATA
	imapAuth  string // tag of a LOGIN/AUTHENTICATE whose client data is redacted
}

const (
	fromClient = 0
	fromServer = 1
)

func newTranscript(imap bool, start time.Time) *transcript {
	return &transcript{imap: imap, start: start, secrets: &secrets{}}
}

// secrets are the values a run's transcripts and step messages scrub:
// registered once, shared by the SMTP and IMAP transcripts.
type secrets struct {
	mu    sync.Mutex
	plain []string
	hexRE []*regexp.Regexp // each secret hex-encoded, any letter case
}

// addSecret registers a secret to scrub wherever it appears, plainly,
// inside base64 (a SASL payload) or hex-encoded in upper, lower or mixed
// case (a server dumping what it received), in case a server echoes it or
// a mechanism is unknown to the line rules. Secrets are registered before
// any connection opens.
func (t *transcript) addSecret(s string) {
	if len(s) < 3 {
		return
	}
	ss := t.secrets
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.plain = append(ss.plain, s)
	ss.hexRE = append(ss.hexRE, regexp.MustCompile("(?i)"+hex.EncodeToString([]byte(s))))
}

// note writes an annotation line (connection opened, TLS established).
func (t *transcript) note(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.emit("#", fmt.Sprintf(format, args...))
}

// Bytes returns the transcript so far, with unfinished lines flushed.
func (t *transcript) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	for dir := range t.partial {
		if len(t.partial[dir]) > 0 {
			t.line(dir, string(t.partial[dir]))
			t.partial[dir] = nil
		}
	}
	return bytes.Clone(t.out.Bytes())
}

var base64RE = regexp.MustCompile(`[A-Za-z0-9+/]{4,}={0,2}`)

// scrub replaces the registered secrets in text, and base64 words that
// decode to something holding one.
func (t *transcript) scrub(text string) string {
	ss := t.secrets
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.plain {
		text = strings.ReplaceAll(text, s, redacted)
	}
	for _, re := range ss.hexRE {
		text = re.ReplaceAllLiteralString(text, redacted)
	}
	return base64RE.ReplaceAllStringFunc(text, func(w string) string {
		b, err := base64.StdEncoding.DecodeString(w)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(w, "="))
		}
		for _, s := range ss.plain {
			if err == nil && bytes.Contains(b, []byte(s)) {
				return redacted
			}
		}
		return w
	})
}

func (t *transcript) emit(prefix, text string) {
	text = t.scrub(text)
	fmt.Fprintf(&t.out, "%8.3f %s %s\n", time.Since(t.start).Seconds(), prefix, text)
}

// record takes bytes as they crossed the connection.
func (t *transcript) record(dir int, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		if n := t.literal[dir]; n > 0 {
			take := min(n, len(p))
			t.literal[dir] -= take
			p = p[take:]
			if t.literal[dir] == 0 {
				what := fmt.Sprintf("[literal, %d bytes]", t.litSize[dir])
				if dir == fromClient && t.imapAuth != "" {
					what = redacted
				}
				t.emit(prefixOf(dir), what)
			}
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.partial[dir] = append(t.partial[dir], p...)
			return
		}
		line := string(append(t.partial[dir], p[:i]...))
		t.partial[dir] = nil
		p = p[i+1:]
		t.line(dir, strings.TrimSuffix(line, "\r"))
	}
}

func prefixOf(dir int) string {
	if dir == fromClient {
		return "C:"
	}
	return "S:"
}

var literalRE = regexp.MustCompile(`\{(\d+)\+?\}$`)

func (t *transcript) line(dir int, line string) {
	if t.imap {
		if m := literalRE.FindStringSubmatch(line); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
				t.literal[dir], t.litSize[dir] = n, n
			}
		}
		t.emit(prefixOf(dir), t.redactIMAP(dir, line))
		return
	}
	if text, ok := t.redactSMTP(dir, line); ok {
		t.emit(prefixOf(dir), text)
	}
}

// redactSMTP hides SASL payloads (RFC 4954: the AUTH initial response and
// every client line answering a 334 challenge) and folds the message body
// into one line; ok is false for lines folded away.
func (t *transcript) redactSMTP(dir int, line string) (string, bool) {
	if dir == fromServer {
		switch {
		case strings.HasPrefix(line, "334"):
		case strings.HasPrefix(line, "354"):
			t.smtpData, t.dataBytes = true, 0
		default:
			t.smtpAuth = false
		}
		return line, true
	}
	if t.smtpData {
		if line == "." {
			t.smtpData = false
			return fmt.Sprintf("[message, %d bytes: see the sent message]\n%8s C: .", t.dataBytes, ""), true
		}
		t.dataBytes += len(line) + 2
		return "", false
	}
	if t.smtpAuth {
		return redacted, true
	}
	if f := strings.Fields(line); len(f) >= 1 && strings.EqualFold(f[0], "AUTH") {
		t.smtpAuth = true
		if len(f) > 2 {
			return f[0] + " " + f[1] + " " + redacted, true
		}
	}
	return line, true
}

// redactIMAP hides LOGIN passwords and AUTHENTICATE payloads (RFC 9051
// §6.2.2-6.2.3), including when they travel as literals.
func (t *transcript) redactIMAP(dir int, line string) string {
	f := strings.Fields(line)
	if dir == fromServer {
		if t.imapAuth != "" && len(f) > 0 && f[0] == t.imapAuth {
			t.imapAuth = ""
		}
		return line
	}
	if t.imapAuth != "" {
		return redacted
	}
	if len(f) < 2 {
		return line
	}
	switch strings.ToUpper(f[1]) {
	case "LOGIN":
		t.imapAuth = f[0]
		if len(f) >= 3 && !strings.HasPrefix(f[2], "{") && !strings.HasPrefix(f[2], `"`) {
			return f[0] + " " + f[1] + " " + f[2] + " " + redacted
		}
		return f[0] + " " + f[1] + " " + redacted
	case "AUTHENTICATE":
		t.imapAuth = f[0]
		if len(f) > 3 {
			return f[0] + " " + f[1] + " " + f[2] + " " + redacted
		}
	}
	return line
}

// recConn records the plaintext crossing a connection into a transcript.
type recConn struct {
	net.Conn
	t *transcript
}

func (c recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.record(fromServer, p[:n])
	return n, err
}

// Write records before writing: the server's answer, read on another
// goroutine, may otherwise be recorded first, and the redaction state
// (an AUTHENTICATE ended by its tagged answer) would go wrong.
func (c recConn) Write(p []byte) (int, error) {
	c.t.record(fromClient, p)
	return c.Conn.Write(p)
}

// greetedConn replays a greeting before the connection's own bytes. After
// a STARTTLS done by this package, the client library is handed the TLS
// connection and expects the server greeting it would read on a new
// connection; the server sends none after STARTTLS, so a local one stands in.
// It sits above the recorder, so transcripts never show it.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func withGreeting(c net.Conn, greeting string) net.Conn {
	return &greetedConn{Conn: c, r: io.MultiReader(strings.NewReader(greeting), c)}
}

func (c *greetedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
