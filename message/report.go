package message

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/msscprobe/msscprobe/check"
)

// SchemaVersion identifies the JSON shape of Report.
const SchemaVersion = "msscprobe.message/v1"

// Report is the result of checking one or more messages.
type Report struct {
	Schema   string   `json:"schema"`
	Messages []Result `json:"messages"`
	Summary  Summary  `json:"summary"`
}

// Summary counts messages.
type Summary struct {
	Total  int `json:"total"`
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

// Summarize counts passing and failing messages.
func Summarize(rs []Result) Summary {
	s := Summary{Total: len(rs)}
	for i := range rs {
		if rs[i].Passed {
			s.Passed++
		} else {
			s.Failed++
		}
	}
	return s
}

// Passed is the exit-0 verdict: at least one message, all conforming.
func (r *Report) Passed() bool { return r.Summary.Total > 0 && r.Summary.Failed == 0 }

// FirstError returns the first error finding, for a one-line verdict (an
// SMTP refusal, a JUnit failure message).
func (r *Result) FirstError() (check.Finding, bool) {
	for _, f := range r.Findings {
		if f.Severity == check.Error {
			return f, true
		}
	}
	return check.Finding{}, false
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes one line per message and one per finding, in lang.
func WriteText(w io.Writer, r *Report, l check.Lang) error {
	var b strings.Builder
	sep := map[check.Lang]string{check.FR: " : ", check.EN: ": "}[l]
	verdict := map[bool]check.Text{true: {FR: "conforme", EN: "conforming"}, false: {FR: "non conforme", EN: "not conforming"}}
	for _, m := range r.Messages {
		line := oneLine(m.Name) + sep + verdict[m.Passed].In(l)
		if m.MessageID != "" {
			line += " " + m.MessageID
		}
		b.WriteString(line + "\n")
		for _, f := range m.Findings {
			line := fmt.Sprintf("  %s %s", f.Severity.Label(l), f.Rule)
			if f.Location != "" {
				line += " [" + f.Location + "]"
			}
			b.WriteString(oneLine(line+sep+f.Message.In(l)) + " (" + oneLine(f.Source) + ")\n")
		}
	}
	s := r.Summary
	if l == check.EN {
		fmt.Fprintf(&b, "%d message(s): %d conforming, %d not conforming\n", s.Total, s.Passed, s.Failed)
	} else {
		fmt.Fprintf(&b, "%d message(s) : %d conforme(s), %d non conforme(s)\n", s.Total, s.Passed, s.Failed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit renders one test case per message, failing exactly when the
// message does not conform; suite names the run (e.g. "msscprobe message
// check", "msscprobe mock").
func JUnit(suite string, rs []Result, l check.Lang) *check.JUnitSuites {
	su := check.JUnitSuite{Name: suite}
	for i := range rs {
		m := &rs[i]
		name := m.Name
		if m.MessageID != "" && !strings.Contains(name, m.MessageID) {
			name += " " + m.MessageID
		}
		c := check.JUnitCase{ClassName: "message", Name: oneLine(name)}
		var body strings.Builder
		for _, f := range m.Findings {
			fmt.Fprintf(&body, "%s %s [%s] %s (%s)\n", f.Severity.Label(l), f.Rule, f.Location, f.Message.In(l), f.Source)
		}
		if f, bad := m.FirstError(); bad {
			c.Failure = &check.JUnitMessage{Message: f.Rule + " " + f.Message.In(l), Type: f.Rule, Body: body.String()}
		} else if body.Len() > 0 {
			c.SystemOut = body.String()
		}
		su.Cases = append(su.Cases, c)
	}
	return &check.JUnitSuites{Name: "msscprobe", Suites: []check.JUnitSuite{su}}
}
