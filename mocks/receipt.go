package mocks

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// Conformance is the verdict of the MSSanté message rules on a message the
// mock received: Conforms is false when a finding has error severity.
type Conformance struct {
	Conforms bool            `json:"conforms"`
	Findings []check.Finding `json:"findings"` // the first ones, errors first
	// Count is how many findings the check gave (Findings keeps 5).
	Count int `json:"finding_count"`
}

// receipt is what the mock knows of a message it accepted over SMTP
// beyond the stored bytes: the envelope and the conformance verdict. It is
// keyed by the SHA-256 of the stored message, which is the same in every
// recipient's mailbox and survives IMAP COPY and MOVE.
type receipt struct {
	At          time.Time
	From        string
	To          []string
	MessageID   string
	Conformance *Conformance // nil: the message was not checked
}

// maxReceived bounds the records kept (the oldest go first); messages
// whose record is gone are listed without envelope nor verdict.
const maxReceived = 1 << 16

type receiptIndex struct {
	mu    sync.Mutex
	m     map[[32]byte]*receipt
	order [][32]byte
}

func (x *receiptIndex) add(stored []byte, r *receipt) {
	key := sha256.Sum256(stored)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[[32]byte]*receipt{}
	}
	if _, ok := x.m[key]; !ok {
		x.order = append(x.order, key)
	}
	x.m[key] = r
	for len(x.order) > maxReceived {
		delete(x.m, x.order[0])
		x.order = x.order[1:]
	}
}

func (x *receiptIndex) get(stored []byte) *receipt {
	key := sha256.Sum256(stored)
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.m[key]
}

func (x *receiptIndex) clear() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.m, x.order = nil, nil
}

// conformanceOf is what the HTTP API shows of a verdict (nil: unchecked).
func conformanceOf(v *Verdict) *Conformance {
	if v == nil {
		return nil
	}
	return &Conformance{Conforms: v.Result.Passed, Findings: v.Result.Findings, Count: v.FindingCount}
}
