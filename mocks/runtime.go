package mocks

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/msscprobe/msscprobe/check"
)

// Run-time control of a running operator (Go API, and the HTTP API of
// mock serve --listen-http).

// FaultState is a configured fault and how many times it fired.
type FaultState struct {
	Fault Fault
	Fired int
}

// ErrStartOnlyFault refuses to set or clear at run time a fault that shapes
// the listeners when the mock starts.
var ErrStartOnlyFault = errors.New("fault fixed at start")

// Faults returns the faults in effect and their trigger counts.
func (o *Operator) Faults() []FaultState {
	fs := o.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]FaultState, len(fs.list))
	for i, f := range fs.list {
		out[i] = FaultState{Fault: f, Fired: fs.fired[i]}
	}
	return out
}

// SetFaults replaces the run-time faults with list; counters and
// greylisting state start again. The start-only faults (starttls-missing,
// tls-*) configured at start stay, and list may not name one
// (ErrStartOnlyFault).
func (o *Operator) SetFaults(list []Fault) error {
	var keep []Fault
	fs := o.faults
	for _, f := range list {
		if err := f.validate(); err != nil {
			return err
		}
		if startOnlyFaults[f.Name] {
			return tagged{check.Errorf("%s change les écouteurs : seulement au démarrage du mock", "%s changes the listeners and can only be given when the mock starts", f.Name), ErrStartOnlyFault}
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.list {
		if startOnlyFaults[f.Name] {
			keep = append(keep, f)
		}
	}
	fs.restartLocked(append(keep, list...))
	o.rec.add(Event{Proto: "mock", Kind: "faults", Detail: fmt.Sprintf("%d faults set at run time", len(list))})
	return nil
}

// RateLimits returns the rate limits in effect.
func (o *Operator) RateLimits() []RateLimit { return o.limits.snapshot() }

// SetRateLimits replaces the rate limits; every bucket starts full.
func (o *Operator) SetRateLimits(list []RateLimit) error {
	if err := o.limits.set(list); err != nil {
		return err
	}
	o.rec.add(Event{Proto: "mock", Kind: "rate-limits", Detail: fmt.Sprintf("%d rate limits set at run time", len(list))})
	return nil
}

// Reset empties every mailbox (journaled, so a restart with StoreDir
// keeps them empty; UIDVALIDITY stays and UIDs keep growing, so clients'
// caches stay valid), drops the auto-replies still waiting, the thread
// state, the receipts, the conformance verdicts and the events, and puts the faults and rate limits
// back as configured at start.
func (o *Operator) Reset() error {
	o.pending.cancel()
	o.store.mu.RLock()
	users := make([]*mailUser, 0, len(o.store.users))
	for _, u := range o.store.users {
		users = append(users, u)
	}
	o.store.mu.RUnlock()
	var errs []error
	for _, u := range users {
		errs = append(errs, u.empty())
	}
	o.threads.mu.Lock()
	o.threads.pairs = map[string]*thread{}
	o.threads.mu.Unlock()
	o.receipts.clear()
	o.verdicts.mu.Lock()
	o.verdicts.list, o.verdicts.dropped = nil, 0
	o.verdicts.mu.Unlock()
	fs := o.faults
	fs.mu.Lock()
	fs.restartLocked(append([]Fault(nil), o.cfg.Faults...))
	fs.mu.Unlock()
	errs = append(errs, o.limits.set(o.cfg.RateLimits))
	o.rec.clear()
	o.rec.add(Event{Proto: "mock", Kind: "reset"})
	return errors.Join(errs...)
}

// empty deletes the user's own mailboxes and expunges INBOX and Sent,
// through journaled records.
func (u *mailUser) empty() error {
	for _, name := range u.mem.Mailboxes() {
		keep := false
		for _, m := range defaultMailboxes {
			keep = keep || m.name == name
		}
		if !keep {
			if err := u.do(record{Op: opDelete, Mbox: name}, nil); err != nil {
				return err
			}
			continue
		}
		msgs, err := u.mem.Messages(name, 0, 0)
		if err != nil || len(msgs) == 0 {
			continue
		}
		var uids imap.UIDSet
		for _, m := range msgs {
			uids.AddNum(m.UID)
		}
		if err := u.do(record{Op: opStore, Mbox: name, Store: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, UIDs: uids}, nil); err != nil {
			return err
		}
		if err := u.do(record{Op: opExpunge, Mbox: name, UIDs: uids}, nil); err != nil {
			return err
		}
	}
	for _, m := range defaultMailboxes {
		if _, err := u.mem.Status(m.name, &imap.StatusOptions{}); err != nil {
			if err := u.do(record{Op: opCreate, Mbox: m.name, Attr: m.attr}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// cancel drops the deliveries still waiting (Reset); those running finish.
func (p *pendingMail) cancel() {
	p.mu.Lock()
	for t := range p.timers {
		t.Stop()
		delete(p.timers, t)
	}
	p.mu.Unlock()
	p.inflight.Wait()
}
