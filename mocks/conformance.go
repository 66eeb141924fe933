package mocks

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
)

// Conformance modes: every message received over SMTP is checked against
// the MSSanté message rules of package message; the verdict is recorded in
// a "conformance" event, in the stored copy (header ConformanceHeader) and
// in Verdicts. Refuse also answers 550 5.6.0 "[MSS-xxx] …" to a message
// with an error finding; off checks nothing.
const (
	ConformanceWarn   = "warn"
	ConformanceRefuse = "refuse"
	ConformanceOff    = "off"
	KindConformance   = "conformance"
	// ConformanceHeader is prepended to the stored message (with
	// Return-Path and Received), so the verdict survives a restart with
	// StoreDir and is visible to IMAP clients: "pass", or "fail" followed
	// by the IDs of the error rules.
	ConformanceHeader = "X-Msscprobe-Conformance"
)

// Bounds of what the verdict record keeps: the findings of one message in
// events and verdicts (the count says how many there were), and the number
// of verdicts kept (the oldest are dropped, Verdicts says how many).
// A verdict is then at most about 5 KB (message values quoted in findings
// are clipped by package message), so a hostile client cannot make the
// record hold more than about 80 MB.
const (
	maxVerdictFindings = 5
	maxVerdicts        = 1 << 14
	maxVerdictName     = 300
)

// Verdict is the conformance verdict on one message received by the mock.
type Verdict struct {
	Time     time.Time      `json:"time"`
	From     string         `json:"from"`
	To       []string       `json:"to"`
	Accepted bool           `json:"accepted"` // false when refused for conformance
	Result   message.Result `json:"result"`   // findings capped at 5, FindingCount says how many
	// FindingCount is the number of findings before the cap.
	FindingCount int `json:"finding_count"`
}

type verdicts struct {
	mu      sync.Mutex
	list    []Verdict
	dropped int
}

func (v *verdicts) add(x Verdict) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.list) >= maxVerdicts {
		n := len(v.list) / 2
		v.list = append(v.list[:0:0], v.list[n:]...)
		v.dropped += n
	}
	v.list = append(v.list, x)
}

// Verdicts returns the conformance verdicts of the messages received so
// far, oldest first, and how many older ones were dropped to bound memory.
func (o *Operator) Verdicts() ([]Verdict, int) {
	o.verdicts.mu.Lock()
	defer o.verdicts.mu.Unlock()
	return append([]Verdict(nil), o.verdicts.list...), o.verdicts.dropped
}

// conform checks a received message (nil when conformance is off).
func (o *Operator) conform(from string, rcpts []rcpt, raw []byte) *Verdict {
	if o.cfg.Conformance == ConformanceOff {
		return nil
	}
	to := rcptAddrs(rcpts)
	name := from + " → " + strings.Join(to, ", ")
	if len(name) > maxVerdictName {
		name = strings.ToValidUTF8(name[:maxVerdictName], "") + "…"
	}
	res := message.CheckBytes(name, raw, message.Options{
		Recipients: to, CitizenDomain: o.cfg.CitizenDomain, MaxSize: max(o.cfg.MaxMessageBytes, message.DefaultMaxSize),
		// A received archive may expand to at most 128 MiB (XDM-005 beyond):
		// a client cannot make the mock decompress more per message.
		CDA: cda.Options{MaxArchiveTotal: 128 << 20}})
	v := &Verdict{Time: time.Now().UTC(), From: from, To: to, Result: res, FindingCount: len(res.Findings)}
	// Errors first, so the kept findings say why the message fails.
	sort.SliceStable(v.Result.Findings, func(i, j int) bool {
		return v.Result.Findings[i].Severity.Rank() > v.Result.Findings[j].Severity.Rank()
	})
	v.Result.Findings = slices.Clip(v.Result.Findings[:min(len(res.Findings), maxVerdictFindings)])
	v.Result.Documents = nil // the findings say what matters; documents would hold CDA metadata
	return v
}

// refusal is the 550 of refuse mode, or nil.
func (o *Operator) refusal(v *Verdict) *smtp.SMTPError {
	if v == nil || v.Result.Passed || o.cfg.Conformance != ConformanceRefuse {
		return nil
	}
	f, _ := v.Result.FirstError()
	return smtpErr(550, smtp.EnhancedCode{5, 6, 0}, "[%s] %s (%s)", f.Rule, f.Message.EN, f.Source)
}

// recordVerdict keeps the verdict and adds its event; messageID is the
// one delivered (the mock adds a missing Message-ID).
func (o *Operator) recordVerdict(v *Verdict, messageID string, accepted bool) {
	if v == nil {
		return
	}
	v.Accepted = accepted
	if v.Result.MessageID == "" {
		v.Result.MessageID = messageID
	}
	o.verdicts.add(*v)
	e := Event{Proto: "mail", Kind: KindConformance, From: v.From, To: v.To, MessageID: messageID,
		Verdict: verdictWord(v.Result.Passed),
		Detail:  fmt.Sprintf("%d finding(s)%s", v.FindingCount, ruleList(v.Result.Findings))}
	if f, bad := v.Result.FirstError(); bad {
		e.Rule = f.Rule
	}
	if !accepted {
		e.Code = 550
	}
	o.rec.add(e)
}

// ruleList names the rules of the kept findings, for the event's detail.
func ruleList(fs []check.Finding) string {
	var ids []string
	for _, f := range fs {
		if !containsStr(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return ": " + strings.Join(ids, " ")
}

func verdictWord(passed bool) string {
	if passed {
		return "pass"
	}
	return "fail"
}

// conformanceLine is the header line prepended to the stored message.
func conformanceLine(v *Verdict) string {
	if v == nil {
		return ""
	}
	if v.Result.Passed {
		return ConformanceHeader + ": pass\r\n"
	}
	var ids []string
	for _, f := range v.Result.Findings {
		if f.Severity == check.Error && !containsStr(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	return ConformanceHeader + ": fail " + strings.Join(ids, " ") + "\r\n"
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// VerdictResults turns verdicts into message results for a report (one
// JUnit test case per message received).
func VerdictResults(vs []Verdict) []message.Result {
	out := make([]message.Result, len(vs))
	for i, v := range vs {
		out[i] = v.Result
		if !v.Accepted {
			out[i].Name += " (refused)"
		}
	}
	return out
}
