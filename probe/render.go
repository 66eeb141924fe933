package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// WriteJSON writes the result as indented JSON (schema SchemaVersion).
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// StatusLabel is a fixed-width status word for text output.
func StatusLabel(s Status, lang check.Lang) string {
	fr := map[Status]string{Pass: "OK", Fail: "ÉCHEC", Warn: "AVERT", Skip: "NON FAIT"}
	en := map[Status]string{Pass: "OK", Fail: "FAIL", Warn: "WARN", Skip: "SKIP"}
	if lang == check.EN {
		return en[s]
	}
	return fr[s]
}

// ms rounds a duration for people.
func ms(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// WriteText writes the human report: header, each step with its checks,
// then the verdict.
func (r *Result) WriteText(w io.Writer, lang check.Lang) error {
	t := func(fr, en string) string {
		if lang == check.EN {
			return en
		}
		return fr
	}
	var b strings.Builder
	fmt.Fprintf(&b, "msscprobe %s — %s\n", r.ToolVersion, t("prérequis SUN-ES PS 4.1 (échange avec la messagerie citoyenne MSSanté)",
		"SUN-ES prerequisite PS 4.1 (exchange with MSSanté citizen messaging)"))
	e := r.Establishment
	fmt.Fprintf(&b, "%s %s", t("Établissement :", "Establishment:"), e.Name)
	if e.FINESS != "" {
		fmt.Fprintf(&b, " (FINESS %s)", e.FINESS)
	}
	fmt.Fprintf(&b, " <%s>\n", e.Address)
	fmt.Fprintf(&b, "%s %s (%s %s, %s %s)\n", t("Destinataire :", "Target:"), r.Target, t("réponse", "reply"), r.ReplyMode, t("authentification", "authentication"), r.AuthMechanism)
	for _, ep := range []struct {
		name string
		e    Endpoint
	}{{"SMTP", r.SMTP}, {"IMAP", r.IMAP}} {
		if ep.e.Host == "" {
			continue
		}
		fmt.Fprintf(&b, "%s : %s:%d (%s", ep.name, ep.e.Host, ep.e.Port, ep.e.TLS)
		if ep.e.TLSVersion != "" {
			fmt.Fprintf(&b, ", %s", ep.e.TLSVersion)
		}
		b.WriteString(")\n")
	}
	b.WriteString("\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "[%-8s] %s (%s)\n", StatusLabel(s.Status, lang), s.Title.In(lang), ms(s.Duration))
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "    %-8s %-13s %s\n", StatusLabel(c.Status, lang), c.ID, c.Message.In(lang))
		}
	}
	b.WriteString("\n")
	if r.Interrupted {
		b.WriteString(t("Exécution interrompue : résultat partiel.\n", "Run interrupted: partial result.\n"))
	}
	if r.Met {
		fmt.Fprintf(&b, "%s (%s %s, %s %s)", t("Verdict : PS 4.1 ATTEINT", "Verdict: PS 4.1 MET"),
			t("réponse en", "reply in"), ms(r.ReplyLatency), t("durée totale", "total"), ms(r.Duration()))
	} else {
		fmt.Fprintf(&b, "%s (%s %s)", t("Verdict : PS 4.1 NON ATTEINT", "Verdict: PS 4.1 NOT MET"), t("durée totale", "total"), ms(r.Duration()))
	}
	// The last line is what a hurried reader keeps: a test bed says so
	// there too, as the evidence's headline does (ENV-001).
	if r.Environment.Kind == EnvTest {
		b.WriteString(t(" — TEST : pas l'espace de confiance MSSanté réel (ENV-001)", " — TEST: not the real MSSanté trust space (ENV-001)"))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit renders the run as one test suite, one test case per check
// (classname probe.<step>, name = rule ID: unique within a step, as
// GitLab keeps only the first of duplicate names). Warnings pass with
// their message in system-out.
func (r *Result) JUnit(lang check.Lang) *check.JUnitSuites {
	su := check.JUnitSuite{
		Name:      "msscprobe.probe",
		Timestamp: r.Started.UTC().Format(time.RFC3339),
		Properties: []check.JUnitProperty{
			{Name: "establishment", Value: r.Establishment.Address},
			{Name: "target", Value: r.Target},
			{Name: "reply_mode", Value: r.ReplyMode},
			{Name: "ps41_met", Value: fmt.Sprint(r.Met)},
			{Name: "token", Value: r.Token},
		},
	}
	for _, s := range r.Steps {
		for i, c := range s.Checks {
			jc := check.JUnitCase{ClassName: "probe." + s.ID, Name: c.ID}
			if rule, ok := Rules.Lookup(c.ID); ok {
				jc.Name = c.ID + " " + rule.Title.In(lang)
			}
			if i == 0 {
				jc.Time = s.Duration.Seconds()
			}
			msg := c.Message.In(lang)
			switch c.Status {
			case Fail:
				jc.Failure = &check.JUnitMessage{Message: msg, Type: c.ID, Body: c.Source}
			case Skip:
				jc.Skipped = &check.JUnitMessage{Message: msg}
			case Warn:
				jc.SystemOut = "warning: " + msg
			default:
				jc.SystemOut = msg
			}
			su.Cases = append(su.Cases, jc)
		}
	}
	return &check.JUnitSuites{Name: "msscprobe probe", Suites: []check.JUnitSuite{su}}
}
