package mocks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// Fault names. Phase faults answer an SMTP code on a phase; delay faults
// sleep before answering; the others change behaviour. Faults apply to the
// servers the establishment talks to (SMTP submission and IMAP).
const (
	FaultConnect = "connect" // connect=CODE: greeting replaced by CODE, connection closed
	FaultAuth    = "auth"    // auth=CODE
	FaultMail    = "mail"    // mail=CODE
	FaultRcpt    = "rcpt"    // rcpt=CODE
	FaultData    = "data"    // data=CODE: after the message was read

	FaultGreylist = "greylist"  // greylist=N: 451 4.7.1 the first N tries of each sender/recipient pair
	FaultDropData = "drop-data" // connection closed in the middle of DATA

	FaultDelayConnect = "delay-connect" // delay-<phase>=DURATION
	FaultDelayEHLO    = "delay-ehlo"
	FaultDelayAuth    = "delay-auth"
	FaultDelayMail    = "delay-mail"
	FaultDelayRcpt    = "delay-rcpt"
	FaultDelayData    = "delay-data"

	FaultNoReply          = "no-reply"             // the citizen side never answers
	FaultReplyNoInReplyTo = "reply-no-in-reply-to" // answers without In-Reply-To/References
	FaultBounce           = "bounce"               // bounce[=CODE]: accepted (250), then a DSN reports failure
	FaultStartTLSMissing  = "starttls-missing"     // STARTTLS not offered (SMTP and IMAP)
	FaultTLSExpired       = "tls-expired"          // server certificate expired
	FaultTLSSelfSigned    = "tls-self-signed"      // server certificate not issued by the CA
	FaultTLSWrongHost     = "tls-wrong-host"       // certificate for wrong-host.invalid
	FaultTLSLegacy        = "tls-legacy"           // only TLS 1.0 and 1.1 (see docs/mock.md)
	FaultTLSRevoked       = "tls-revoked"          // server certificate revoked (CRL and OCSP say so)
	FaultOCSPDown         = "ocsp-down"            // the OCSP responder answers HTTP 503
	FaultCRLDown          = "crl-down"             // the CRL distribution point answers HTTP 503
	FaultIMAPIdleDrop     = "imap-idle-drop"       // IMAP connection closed when IDLE starts
)

// Fault is one injected failure. Code is an SMTP reply code for phase
// faults (and bounce); Probability in (0,1] makes the fault random (0 means
// always); Delay is the sleep of delay-* faults; Count bounds how many
// times the fault fires (0 = unlimited), except for greylist where it is the
// number of refused tries per sender/recipient pair. To and From, when set,
// select the transactions the fault applies to: only that recipient (one
// of the message's recipients for data, bounce, drop-data and delay-data),
// only that envelope sender.
type Fault struct {
	Name        string
	Code        int
	Probability float64
	Delay       time.Duration
	Count       int
	To          string
	From        string
}

// Faults that may select by recipient (to=) and by sender (from=): those
// that happen once the envelope is known.
var (
	toSelectable = map[string]bool{FaultRcpt: true, FaultData: true, FaultGreylist: true, FaultBounce: true,
		FaultDelayRcpt: true, FaultDelayData: true, FaultDropData: true}
	fromSelectable = map[string]bool{FaultMail: true, FaultRcpt: true, FaultData: true, FaultGreylist: true, FaultBounce: true,
		FaultDelayMail: true, FaultDelayRcpt: true, FaultDelayData: true, FaultDropData: true}
)

// startOnlyFaults shape the listeners when the mock starts (certificate,
// STARTTLS offer, TLS versions); they cannot be set or cleared at run time.
var startOnlyFaults = map[string]bool{FaultStartTLSMissing: true, FaultTLSExpired: true, FaultTLSSelfSigned: true,
	FaultTLSWrongHost: true, FaultTLSLegacy: true, FaultTLSRevoked: true}

// maxFaultSpec bounds a fault specification (flag, YAML or HTTP API).
const maxFaultSpec = 600

// ErrFaultSpec is wrapped by every ParseFault error.
var ErrFaultSpec = errors.New("bad fault specification")

var phaseFaults = map[string]bool{FaultConnect: true, FaultAuth: true, FaultMail: true, FaultRcpt: true, FaultData: true}

var flagFaults = map[string]bool{
	FaultDropData: true, FaultNoReply: true, FaultReplyNoInReplyTo: true, FaultStartTLSMissing: true,
	FaultTLSExpired: true, FaultTLSSelfSigned: true, FaultTLSWrongHost: true, FaultTLSLegacy: true,
	FaultIMAPIdleDrop: true, FaultTLSRevoked: true, FaultOCSPDown: true, FaultCRLDown: true,
}

var delayFaults = map[string]bool{
	FaultDelayConnect: true, FaultDelayEHLO: true, FaultDelayAuth: true,
	FaultDelayMail: true, FaultDelayRcpt: true, FaultDelayData: true,
}

// ParseFault parses the --fault syntax:
//
//	NAME[=VALUE][@PROBABILITY][#COUNT][,to=ADDRESS][,from=ADDRESS]
//
// e.g. "rcpt=550", "rcpt=550@0.3", "auth=535#1", "greylist=2",
// "delay-mail=2s", "bounce=550", "no-reply", "tls-expired",
// "rcpt=550,to=279035121518989@patient.mssante.fr". Errors wrap
// ErrFaultSpec.
func ParseFault(s string) (Fault, error) {
	f, err := parseFault(s)
	if err != nil {
		return Fault{}, tagged{err, ErrFaultSpec}
	}
	return f, nil
}

func parseFault(s string) (Fault, error) {
	if len(s) > maxFaultSpec {
		return Fault{}, check.Errorf("panne de %d octets : au plus %d", "fault of %d bytes: at most %d", len(s), maxFaultSpec)
	}
	spec, selectors, _ := strings.Cut(strings.TrimSpace(s), ",")
	var f Fault
	if selectors != "" {
		for _, sel := range strings.Split(selectors, ",") {
			key, addr, _ := strings.Cut(strings.TrimSpace(sel), "=")
			addr = strings.ToLower(strings.TrimSpace(addr))
			if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || !strings.Contains(addr, "@") {
				return Fault{}, check.Errorf("panne %q : sélecteur %q : to=ADRESSE ou from=ADRESSE attendu, avec une adresse de messagerie",
					"fault %q: selector %q: want to=ADDRESS or from=ADDRESS with a mail address", s, sel)
			}
			switch strings.ToLower(key) {
			case "to":
				f.To = addr
			case "from":
				f.From = addr
			default:
				return Fault{}, check.Errorf("panne %q : sélecteur %q inconnu (to= ou from= attendu)", "fault %q: unknown selector %q (want to= or from=)", s, key)
			}
		}
	}
	if i := strings.LastIndexByte(spec, '#'); i >= 0 {
		n, err := strconv.Atoi(spec[i+1:])
		if err != nil || n < 1 {
			return Fault{}, check.Errorf("panne %q : le nombre après # doit être un entier positif", "fault %q: count after # must be a positive integer", s)
		}
		f.Count, spec = n, spec[:i]
	}
	if i := strings.LastIndexByte(spec, '@'); i >= 0 {
		p, err := strconv.ParseFloat(spec[i+1:], 64)
		if err != nil || p <= 0 || p > 1 {
			return Fault{}, check.Errorf("panne %q : la probabilité après @ doit être dans ]0,1]", "fault %q: probability after @ must be in (0,1]", s)
		}
		f.Probability, spec = p, spec[:i]
	}
	name, value, hasValue := strings.Cut(spec, "=")
	f.Name = strings.ToLower(strings.TrimSpace(name))
	switch {
	case phaseFaults[f.Name] || f.Name == FaultBounce:
		if !hasValue {
			if f.Name != FaultBounce {
				return Fault{}, check.Errorf("panne %q : %s=CODE attendu (un code SMTP de 400 à 599)", "fault %q: want %s=CODE (an SMTP code 400-599)", s, f.Name)
			}
			value = "550"
		}
		code, err := strconv.Atoi(value)
		if err != nil || code < 400 || code > 599 {
			return Fault{}, check.Errorf("panne %q : le code SMTP doit être de 400 à 599", "fault %q: SMTP code must be 400-599", s)
		}
		f.Code = code
	case f.Name == FaultGreylist:
		n, err := strconv.Atoi(value)
		if !hasValue || err != nil || n < 1 {
			return Fault{}, check.Errorf("panne %q : greylist=N attendu, N >= 1 essais refusés", "fault %q: want greylist=N with N >= 1 refused tries", s)
		}
		f.Count = n
	case delayFaults[f.Name]:
		d, err := time.ParseDuration(value)
		if !hasValue || err != nil || d <= 0 {
			return Fault{}, check.Errorf("panne %q : %s=DURÉE attendu, par exemple 2s", "fault %q: want %s=DURATION, e.g. 2s", s, f.Name)
		}
		f.Delay = d
	case flagFaults[f.Name]:
		if hasValue {
			return Fault{}, check.Errorf("panne %q : %s ne prend pas de valeur", "fault %q: %s takes no value", s, f.Name)
		}
	default:
		return Fault{}, check.Errorf("panne %q : nom de panne inconnu %q (voir msscprobe mock serve --help)", "fault %q: unknown fault name %q (see msscprobe mock serve --help)", s, f.Name)
	}
	if f.To != "" && !toSelectable[f.Name] {
		return Fault{}, check.Errorf("panne %q : %s ne peut pas choisir un destinataire (to= vaut pour rcpt, data, greylist, bounce, drop-data, delay-rcpt, delay-data)",
			"fault %q: %s cannot select a recipient (to= applies to rcpt, data, greylist, bounce, drop-data, delay-rcpt, delay-data)", s, f.Name)
	}
	if f.From != "" && !fromSelectable[f.Name] {
		return Fault{}, check.Errorf("panne %q : %s ne peut pas choisir un expéditeur (from= vaut pour mail, rcpt, data, greylist, bounce, drop-data, delay-mail, delay-rcpt, delay-data)",
			"fault %q: %s cannot select a sender (from= applies to mail, rcpt, data, greylist, bounce, drop-data, delay-mail, delay-rcpt, delay-data)", s, f.Name)
	}
	return f, nil
}

// String renders the fault back in ParseFault syntax.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.Name)
	switch {
	case f.Name == FaultGreylist:
		fmt.Fprintf(&b, "=%d", f.Count)
	case f.Code != 0:
		fmt.Fprintf(&b, "=%d", f.Code)
	case f.Delay != 0:
		fmt.Fprintf(&b, "=%s", f.Delay)
	}
	if f.Probability > 0 {
		fmt.Fprintf(&b, "@%g", f.Probability)
	}
	if f.Count > 0 && f.Name != FaultGreylist {
		fmt.Fprintf(&b, "#%d", f.Count)
	}
	if f.To != "" {
		b.WriteString(",to=" + f.To)
	}
	if f.From != "" {
		b.WriteString(",from=" + f.From)
	}
	return b.String()
}

func (f Fault) validate() error {
	_, err := ParseFault(f.String())
	return err
}

// faults is the runtime state of the configured faults.
type faults struct {
	mu       sync.Mutex
	list     []Fault
	fired    []int
	greylist map[string]int // sender\x00recipient -> tries refused so far
}

func newFaults(list []Fault) (*faults, error) {
	for _, f := range list {
		if err := f.validate(); err != nil {
			return nil, err
		}
	}
	fs := &faults{}
	fs.restartLocked(list)
	return fs, nil
}

// restartLocked puts list in effect with its trigger counters and the
// greylisting state starting again; fs.mu is held (or fs not shared yet).
func (fs *faults) restartLocked(list []Fault) {
	fs.list = list
	fs.fired = make([]int, len(list))
	fs.greylist = map[string]int{}
}

// fire reports whether the fault named name triggers now, and returns it.
// Probability and Count are honoured; each trigger counts once. Faults
// with a selector never fire here: see fireFor.
func (fs *faults) fire(name string) (Fault, bool) { return fs.fireFor(name, "", nil) }

// fireFor is fire for a transaction of sender from to recipients to: a
// fault with To fires when one of to is that address, with From when from
// is.
func (fs *faults) fireFor(name, from string, to []string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.list {
		if f.Name != name || !f.selects(from, to) {
			continue
		}
		if f.Count > 0 && fs.fired[i] >= f.Count {
			continue
		}
		if f.Probability > 0 && rand.Float64() >= f.Probability {
			continue
		}
		fs.fired[i]++
		return f, true
	}
	return Fault{}, false
}

func (f Fault) selects(from string, to []string) bool {
	if f.From != "" && !strings.EqualFold(f.From, from) {
		return false
	}
	if f.To == "" {
		return true
	}
	for _, t := range to {
		if strings.EqualFold(f.To, t) {
			return true
		}
	}
	return false
}

// configured reports whether a fault named name is in the list; it is for
// faults fixed at start (TLS certificate, STARTTLS offer).
func (fs *faults) configured(name string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.list {
		if f.Name == name {
			return true
		}
	}
	return false
}

// greylisted reports whether this try of the pair must get 451.
func (fs *faults) greylisted(from, to string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.list {
		if f.Name != FaultGreylist || !f.selects(from, []string{to}) {
			continue
		}
		key := strings.ToLower(from) + "\x00" + strings.ToLower(to)
		if fs.greylist[key] < f.Count {
			fs.greylist[key]++
			return true
		}
	}
	return false
}

// tagged makes errors.Is(err, tag) hold for err without changing its text
// in either language: the sentinel names the kind of error, the text says
// what is wrong.
type tagged struct{ err, tag error }

func (t tagged) Error() string                  { return t.err.Error() }
func (t tagged) ErrorIn(lang check.Lang) string { return check.ErrorText(t.err, lang) }
func (t tagged) Unwrap() []error                { return []error{t.err, t.tag} }
