package mocks

import (
	"errors"
	"fmt"
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
			return fmt.Errorf("%w: %s changes the listeners and can only be given when the mock starts", ErrStartOnlyFault, f.Name)
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.list {
		if startOnlyFaults[f.Name] {
			keep = append(keep, f)
		}
	}
	fs.list = append(keep, list...)
	fs.fired = make([]int, len(fs.list))
	fs.greylist = map[string]int{}
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
