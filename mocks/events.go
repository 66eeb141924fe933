package mocks

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// Event is one recorded transaction step. Credentials never appear: AUTH
// events carry the mechanism and the account, not the secret.
type Event struct {
	Time      time.Time `json:"time"`
	Proto     string    `json:"proto"`              // smtp, imap, mail (internal delivery), store
	Listener  string    `json:"listener,omitempty"` // smtp, smtps, imap, imaps
	Kind      string    `json:"kind"`               // connect, auth, mail, rcpt, data, deliver, auto-reply, mdn, dsn, fault, login, append, idle, close (IMAP connection end), ...
	Remote    string    `json:"remote,omitempty"`
	User      string    `json:"user,omitempty"`
	From      string    `json:"from,omitempty"`
	To        []string  `json:"to,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Code      int       `json:"code,omitempty"` // SMTP reply code when there is one
	Rule      string    `json:"rule,omitempty"` // MSSanté rule behind a refusal or warning
	Fault     string    `json:"fault,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	// Verdict ("pass" or "fail") is the MSSanté conformance verdict of a
	// conformance event; Rule is then its first error and Detail lists the
	// rule IDs (the findings themselves are in Operator.Verdicts, so that
	// the event record stays small).
	Verdict string `json:"verdict,omitempty"`
	// Text is Detail in French and English, for what is shown to a
	// person in the UI language (the start-up recovery warnings).
	Text *check.Text `json:"text,omitempty"`
}

// Event kinds of the internal mail flow, for tests filtering Events().
const (
	KindDeliver   = "deliver"
	KindAutoReply = "auto-reply"
	KindMDN       = "mdn"
	KindDSN       = "dsn"
	KindWarn      = "warn"
	KindFault     = "fault"
)

// maxEvents bounds memory for long-running mocks: the oldest events are
// dropped from Events() (the JSON log keeps everything).
const maxEvents = 1 << 17

type recorder struct {
	mu     sync.Mutex
	events []Event
	start  int
	// dropped counts the events dropped from the front since the last
	// clear, so that event number n is events[start+n-dropped].
	dropped int
	log     *json.Encoder
}

func newRecorder(w io.Writer) *recorder {
	r := &recorder{}
	if w != nil {
		r.log = json.NewEncoder(w)
	}
	return r
}

func (r *recorder) add(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events)-r.start >= maxEvents {
		r.start++
		r.dropped++
		if r.start > maxEvents {
			r.events = append([]Event(nil), r.events[r.start:]...)
			r.start = 0
		}
	}
	r.events = append(r.events, e)
	if r.log != nil {
		// A failing log writer must not break mail flow; the in-memory
		// record is kept.
		_ = r.log.Encode(e)
	}
}

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events[r.start:]...)
}

// Events returns the recorded transactions, oldest first.
func (o *Operator) Events() []Event { return o.rec.snapshot() }

// since returns at most limit events numbered from n (the first event
// recorded is 0), and the number of the next one; events already dropped
// are skipped.
func (r *recorder) since(n, limit int) ([]Event, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = max(n, r.dropped)
	i := r.start + n - r.dropped
	j := min(len(r.events), i+limit)
	if i >= j {
		return []Event{}, min(n, r.dropped+len(r.events)-r.start)
	}
	return append([]Event(nil), r.events[i:j]...), n + j - i
}

// clear forgets every event (the JSON log keeps them).
func (r *recorder) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.start, r.dropped = nil, 0, 0
}
