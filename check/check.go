package check

import (
	"fmt"
	"strings"
)

// Lang selects the language of human-facing text. French is the default
// because the reports are read by French hospitals and regional agencies.
type Lang string

const (
	FR Lang = "fr"
	EN Lang = "en"
)

// ParseLang accepts "fr" or "en" (case-insensitive); the empty string is French.
func ParseLang(s string) (Lang, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "fr":
		return FR, nil
	case "en":
		return EN, nil
	}
	return "", fmt.Errorf("language %q: want fr or en", s)
}

// Text is a message in both languages.
type Text struct {
	FR string `json:"fr"`
	EN string `json:"en"`
}

// In returns the text in lang, falling back to French.
func (t Text) In(lang Lang) string {
	if lang == EN && t.EN != "" {
		return t.EN
	}
	return t.FR
}

// Textf formats both languages with the same arguments; an argument that
// is itself a Text is rendered in each message's own language, and an
// error as ErrorText writes it in that language.
func Textf(fr, en string, args ...any) Text {
	return Text{FR: fmt.Sprintf(fr, inLang(args, FR)...), EN: fmt.Sprintf(en, inLang(args, EN)...)}
}

// JoinTexts lists ts in each language, French with its spaced
// semicolon (" ; "), English with "; ".
func JoinTexts(ts []Text) Text {
	fr, en := make([]string, len(ts)), make([]string, len(ts))
	for i, t := range ts {
		fr[i], en[i] = t.FR, t.EN
	}
	return Text{FR: strings.Join(fr, " ; "), EN: strings.Join(en, "; ")}
}

func inLang(args []any, l Lang) []any {
	var out []any
	for i, a := range args {
		if t, ok := a.(Text); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = t.In(l)
		}
		// An error argument is said in each language as ErrorText says it.
		if err, ok := a.(error); ok && err != nil {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = ErrorText(err, l)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// Severity orders findings: an error fails the subject, a warning is
// reported but does not, info is context.
type Severity string

const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Rank orders severities for sorting and thresholds.
func (s Severity) Rank() int {
	switch s {
	case Error:
		return 2
	case Warning:
		return 1
	}
	return 0
}

// Label is the severity as a word in lang.
func (s Severity) Label(lang Lang) string {
	if lang == EN {
		return string(s)
	}
	switch s {
	case Error:
		return "erreur"
	case Warning:
		return "avertissement"
	}
	return "info"
}

// Rule is one check: a stable ID that never changes meaning, its default
// severity, what it checks in both languages, and the rule it implements
// (an ANS or MSSanté reference, an RFC, or "msscprobe" for our own checks).
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Title    Text     `json:"title"`
	Source   string   `json:"source"`
}

// Finding is one occurrence of a rule on a subject.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  Text     `json:"message"`
	// Location points into the subject: an XPath-like path, "line:col", an
	// archive member, or a protocol step.
	Location string `json:"location,omitempty"`
	Source   string `json:"source,omitempty"`
}

// New makes a finding of rule r with its default severity.
func (r Rule) New(msg Text, location string) Finding {
	return Finding{Rule: r.ID, Severity: r.Severity, Message: msg, Location: location, Source: r.Source}
}

// Newf is New with both messages formatted from the same arguments.
func (r Rule) Newf(location, fr, en string, args ...any) Finding {
	return r.New(Textf(fr, en, args...), location)
}

// Worst returns the highest severity among findings, or "" when there are none.
func Worst(fs []Finding) Severity {
	var w Severity
	for _, f := range fs {
		if w == "" || f.Severity.Rank() > w.Rank() {
			w = f.Severity
		}
	}
	return w
}

// Catalog is a set of rules indexed by ID, so that a package declares its
// rules once and documentation can list them.
type Catalog struct {
	rules []Rule
	byID  map[string]Rule
}

// NewCatalog panics on a duplicate ID: that is a programming error caught by
// any test that loads the package.
func NewCatalog(rules ...Rule) *Catalog {
	c := &Catalog{byID: make(map[string]Rule, len(rules))}
	for _, r := range rules {
		if _, dup := c.byID[r.ID]; dup {
			panic("check: duplicate rule ID " + r.ID)
		}
		c.byID[r.ID] = r
		c.rules = append(c.rules, r)
	}
	return c
}

// Rules lists the rules in declaration order.
func (c *Catalog) Rules() []Rule { return append([]Rule(nil), c.rules...) }

// Lookup returns the rule with that ID.
func (c *Catalog) Lookup(id string) (Rule, bool) {
	r, ok := c.byID[id]
	return r, ok
}
