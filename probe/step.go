package probe

import (
	"slices"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// Step IDs, in run order.
const (
	StepMessage      = "message"
	StepSMTPConnect  = "smtp-connect"
	StepSMTPAuth     = "smtp-auth"
	StepIMAPConnect  = "imap-connect"
	StepIMAPAuth     = "imap-auth"
	StepSubmit       = "submit"
	StepCitizenReply = "citizen-reply"
	StepReception    = "reception"
	StepVerdict      = "verdict"
)

var stepTitles = map[string]check.Text{
	StepMessage:      {FR: "Message de test", EN: "Test message"},
	StepSMTPConnect:  {FR: "Connexion SMTP (DNS, TCP, TLS)", EN: "SMTP connection (DNS, TCP, TLS)"},
	StepSMTPAuth:     {FR: "Authentification SMTP", EN: "SMTP authentication"},
	StepIMAPConnect:  {FR: "Connexion IMAP (DNS, TCP, TLS)", EN: "IMAP connection (DNS, TCP, TLS)"},
	StepIMAPAuth:     {FR: "Authentification IMAP et INBOX", EN: "IMAP authentication and INBOX"},
	StepSubmit:       {FR: "Envoi à l'adresse citoyenne", EN: "Submission to the citizen address"},
	StepCitizenReply: {FR: "Réponse depuis la boîte citoyenne de test", EN: "Reply from the citizen test mailbox"},
	StepReception:    {FR: "Réception de la réponse", EN: "Reply reception"},
	StepVerdict:      {FR: "Verdict PS 4.1", EN: "PS 4.1 verdict"},
}

// stepRec records the checks of one running step.
type stepRec struct {
	step     *Step
	evidence []string // pointers added to every check of the step
}

// add records a check. A step holds one check per rule (JUnit names are
// rule IDs, and GitLab keeps only the first of duplicates): a later
// outcome of the same rule replaces an earlier one unless that one is
// worse, e.g. a session that connected and then broke after TLS.
func (s *stepRec) add(id string, st Status, msg check.Text) {
	r, _ := Rules.Lookup(id)
	c := Check{ID: id, Status: st, Message: msg, Source: r.Source, Evidence: s.evidence}
	i := slices.IndexFunc(s.step.Checks, func(c Check) bool { return c.ID == id })
	switch {
	case i < 0:
		s.step.Checks = append(s.step.Checks, c)
	case statusRank[st] >= statusRank[s.step.Checks[i].Status]:
		s.step.Checks[i] = c
	}
}

// textf is check.Textf, which renders check.Text arguments (such as
// errText) in the message's own language.
func textf(fr, en string, args ...any) check.Text { return check.Textf(fr, en, args...) }

func (s *stepRec) pass(id string, msg check.Text) { s.add(id, Pass, msg) }
func (s *stepRec) skip(id string, msg check.Text) { s.add(id, Skip, msg) }

// fail records a negative outcome: fail for error rules, warn for warning
// rules, so that a warning never costs the verdict.
func (s *stepRec) fail(id string, msg check.Text) {
	r, _ := Rules.Lookup(id)
	if r.Severity == check.Error {
		s.add(id, Fail, msg)
		return
	}
	s.add(id, Warn, msg)
}

// has reports whether a check with that ID was recorded.
func (s *stepRec) has(id string) bool {
	for _, c := range s.step.Checks {
		if c.ID == id {
			return true
		}
	}
	return false
}

// ok reports whether no check failed so far.
func (s *stepRec) ok() bool { return worst(s.step.Checks) != Fail }

// statusRank orders statuses fail > warn > pass > skip.
var statusRank = map[Status]int{Skip: 0, Pass: 1, Warn: 2, Fail: 3}

// worst returns the worst status of cs.
func worst(cs []Check) Status {
	w := Skip
	for _, c := range cs {
		if statusRank[c.Status] > statusRank[w] {
			w = c.Status
		}
	}
	return w
}

// Observer follows a run for live progress. Methods are called from the
// goroutine running Run and must return quickly.
type Observer interface {
	StepStarted(s Step)
	StepFinished(s Step)
	// Waiting is called when the probe starts waiting (for the reply, or
	// for the operator in manual mode), with what it waits for and until
	// when.
	Waiting(what check.Text, until time.Time)
}

type nopObserver struct{}

func (nopObserver) StepStarted(Step)              {}
func (nopObserver) StepFinished(Step)             {}
func (nopObserver) Waiting(check.Text, time.Time) {}
