package mocks

import (
	"fmt"
	"io"
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

// readBudgeted reads r whole, reserving its size in b as it arrives (after
// credit, what MAIL FROM SIZE= reserved already), and returns the bytes and
// how much to give back once they are stored. Past the budget it discards
// the rest of r (the client is still sending) and returns errSMTPBusy with
// nothing reserved, credit included.
func (b *inFlight) readBudgeted(r io.Reader, credit int64) ([]byte, int64, error) {
	var chunks [][]byte
	held, n := credit, int64(0)
	fail := func(err error) ([]byte, int64, error) {
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
		chunks = append(chunks, c[:k])
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
	}
	// One contiguous copy; the chunks are garbage after it, so the
	// reservation is trimmed to the copy.
	out := make([]byte, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	b.give(held - n)
	return out, n, nil
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
