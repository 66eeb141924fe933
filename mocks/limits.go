package mocks

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
)

// inFlight bounds the memory held by messages being received, SMTP DATA
// and IMAP APPEND literals together, whatever the number of connections:
// each message is buffered whole before it is stored (go-smtp streams DATA
// to the session; imapmemserver keeps bytes), so without a global bound N
// clients stalled mid-message hold N times the message size limit.
type inFlight struct {
	mu   sync.Mutex
	used int64
	max  int64
}

// take reserves n bytes; false when that would exceed the budget.
func (b *inFlight) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *inFlight) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// inUse is the reserved total, for tests.
func (b *inFlight) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// errSMTPBusy is RFC 5321's 452 "insufficient system storage" (RFC 3463
// X.3.1 "mail system full"): temporary, the client retries later.
func errSMTPBusy(max int64) error {
	return smtpErr(452, smtp.EnhancedCode{4, 3, 1}, "insufficient system storage: messages being received exceed the mock's in-flight budget of %d bytes; try again later", max)
}

// errIMAPBusy is the IMAP counterpart (RFC 5530 LIMIT).
func errIMAPBusy(max int64) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit,
		Text: fmt.Sprintf("Messages being received exceed the in-flight budget of %d bytes; try again later", max)}
}

// dataChunk is the reservation step while DATA streams in.
const dataChunk = 64 << 10

// spooled is a message received whole, with free room before it for the
// trace headers the mock prepends (Return-Path, Received, conformance,
// Message-ID): prepending then copies nothing, so an accepted message is
// held once, not once per step of the accept path.
type spooled struct {
	buf  []byte // buf[head:] is the message
	head int
}

// raw is the message as received (line ends made CRLF).
func (m *spooled) raw() []byte { return m.buf[m.head:] }

// prepend returns p followed by the message, in place when p fits the
// room (the message bytes are not moved; raw stays valid).
func (m *spooled) prepend(p string) []byte {
	if len(p) > m.head {
		return slices.Concat([]byte(p), m.raw())
	}
	start := m.head - len(p)
	copy(m.buf[start:], p)
	return m.buf[start:]
}

// readBudgeted reads r whole, reserving its size in b as it arrives (after
// credit, what MAIL FROM SIZE= reserved already), and returns the message
// with head bytes of free room before it, and how much to give back once
// it is stored. Bare LF line ends become CRLF in the same copy: go-smtp
// accepts bare LF in DATA, and IMAP clients expect CRLF (RFC 9051 §2.2).
// Past the budget it discards the rest of r (the client is still sending)
// and returns errSMTPBusy with nothing reserved, credit included.
func (b *inFlight) readBudgeted(r io.Reader, credit int64, head int) (*spooled, int64, error) {
	var chunks [][]byte
	held, n, bare := credit, int64(0), int64(0)
	var prev byte
	fail := func(err error) (*spooled, int64, error) {
		b.give(held)
		return nil, 0, err
	}
	for {
		if n+dataChunk > held {
			if !b.take(dataChunk) {
				io.Copy(io.Discard, r)
				return fail(errSMTPBusy(b.max))
			}
			held += dataChunk
		}
		c := make([]byte, dataChunk)
		k, err := readFull(r, c)
		bare += bareLFs(c[:k], prev)
		if k > 0 {
			prev = c[k-1]
		}
		chunks = append(chunks, c[:k])
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
	}
	// One contiguous copy, the only one the accept path makes: the
	// chunks are garbage after it (dropped as they are copied). The
	// reservation is trimmed, or grown, to that copy.
	size := int64(head) + n + bare
	if size > held {
		if !b.take(size - held) {
			return fail(errSMTPBusy(b.max))
		}
	} else {
		b.give(held - size)
	}
	held = size
	out := make([]byte, head, size)
	prev = 0
	for i, c := range chunks {
		out = appendCRLF(out, c, prev)
		if len(c) > 0 {
			prev = c[len(c)-1]
		}
		chunks[i] = nil
	}
	return &spooled{buf: out, head: head}, held, nil
}

// bareLFs counts the LFs of c not preceded by CR; prev is the byte before
// c (0 at the start of the message).
func bareLFs(c []byte, prev byte) int64 {
	var k int64
	for i := 0; ; i++ {
		j := bytes.IndexByte(c[i:], '\n')
		if j < 0 {
			return k
		}
		i += j
		before := prev
		if i > 0 {
			before = c[i-1]
		}
		if before != '\r' {
			k++
		}
	}
}

// appendCRLF appends c to out with a CR before every bare LF.
func appendCRLF(out, c []byte, prev byte) []byte {
	for len(c) > 0 {
		i := bytes.IndexByte(c, '\n')
		if i < 0 {
			return append(out, c...)
		}
		before := prev
		if i > 0 {
			before = c[i-1]
		}
		out = append(out, c[:i]...)
		if before != '\r' {
			out = append(out, '\r')
		}
		out = append(out, '\n')
		prev, c = '\n', c[i+1:]
	}
	return out
}

// readFull fills p unless r ends first, returning r's own error: unlike
// io.ReadFull, a connection cut mid-DATA (io.ErrUnexpectedEOF from
// go-smtp) stays distinct from the end of the message (io.EOF).
func readFull(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
