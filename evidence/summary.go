package evidence

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
	"github.com/msscprobe/msscprobe/trust"
)

// WriteText prints the verification as a short summary for a reviewer.
// The first line is the outcome (Headline): PS 4.1, environment, integrity,
// signer; then what is wrong, who signed, when, what was tested.
func (v *Verification) WriteText(w io.Writer, lang check.Lang) error {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	var b strings.Builder
	b.WriteString(v.Headline(lang) + "\n")
	if v.Environment.Kind != probe.EnvMSSante && v.Verdict.FR != "" {
		for _, r := range v.Environment.Reasons {
			fmt.Fprintf(&b, "  TEST%s%s\n", t(" : ", ": "), r.In(lang))
		}
		if len(v.Environment.Reasons) == 0 {
			b.WriteString(t("  TEST : aucun environnement MSSanté enregistré dans ce dossier\n", "  TEST: no MSSanté environment recorded in this evidence\n"))
		}
	}
	for _, p := range v.Problems {
		where := ""
		if p.File != "" {
			where = p.File + t(" : ", ": ")
		}
		fmt.Fprintf(&b, "  %s [%s] %s%s\n", p.Severity.Label(lang), p.Code, where, p.Message.In(lang))
	}
	if v.Verdict.FR != "" && !v.Valid {
		b.WriteString(t("Ce que le dossier déclare ci-dessous n'est pas fiable : il a été modifié ou n'est pas correctement signé.\n",
			"What the bundle states below cannot be relied on: it was modified or is not properly signed.\n"))
	}
	if v.Verdict.FR != "" {
		fmt.Fprintf(&b, "%-22s %s\n", t("Verdict :", "Verdict:"), v.Verdict.In(lang))
		fmt.Fprintf(&b, "%-22s %s", t("Établissement :", "Establishment:"), v.Establishment.Name)
		if v.Establishment.FINESS != "" {
			fmt.Fprintf(&b, " (FINESS %s)", v.Establishment.FINESS)
		}
		fmt.Fprintf(&b, ", %s\n", v.Establishment.Address)
		fmt.Fprintf(&b, "%-22s %s\n", t("Date du test :", "Test date:"), v.Date.UTC().Format("2006-01-02 15:04:05 UTC"))
		fmt.Fprintf(&b, "%-22s %s → %s\n", t("Testé :", "Tested:"), strings.Join(v.Servers, ", "), v.Target)
		fmt.Fprintf(&b, "%-22s %s\n", t("Empreinte :", "Fingerprint:"), groupHex(v.Fingerprint))
	}
	if v.Signer != nil {
		who := v.Signer.Subject
		switch {
		case v.Ephemeral:
			who = t("clé éphémère (intégrité seulement, identité non prouvée)", "ephemeral key (integrity only, identity not proven)")
		case v.Signer.Trusted:
			who += t(" (rattaché aux autorités fournies)", " (chains to the given roots)")
		default:
			who += t(" (identité non vérifiée)", " (identity not checked)")
		}
		fmt.Fprintf(&b, "%-22s %s\n", t("Signé par :", "Signed by:"), who)
		if !v.SigningTime.IsZero() {
			fmt.Fprintf(&b, "%-22s %s\n", t("Signé le (déclaré) :", "Signed (stated):"), v.SigningTime.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
	}
	if v.Timestamp != nil {
		fmt.Fprintf(&b, "%-22s %s (%s)\n", t("Horodaté le :", "Timestamped:"), v.Timestamp.Time.UTC().Format("2006-01-02 15:04:05 UTC"), v.Timestamp.TSA)
	}
	if v.PersonalDataWithheld {
		b.WriteString(t("Document à INS de production non inclus (données personnelles).\n", "Document with a production INS not included (personal data).\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// testBed lists what shows a run was not on the MSSanté trust space at a
// glance: the loopback or private addresses dialled, and the server
// certificates' roots other than IGC-Santé production.
func testBed(p *probe.Result) (addrs, anchors []string) {
	for _, e := range []probe.Endpoint{p.SMTP, p.IMAP} {
		host := e.Host
		if h, _, err := net.SplitHostPort(e.Addr); err == nil {
			host = h
		}
		ip := net.ParseIP(host)
		switch {
		case e.Class != nil && e.Class.Address != "public" && e.Class.Address != "":
		case e.Class == nil && ip != nil && (ip.IsLoopback() || ip.IsPrivate()):
		default:
			continue
		}
		if host != "" && !slices.Contains(addrs, host) {
			addrs = append(addrs, host)
		}
	}
	for _, e := range []probe.Endpoint{p.SMTP, p.IMAP} {
		if e.Class != nil && e.Class.Anchor != trust.AnchorProd && e.Class.AnchorName != "" && !slices.Contains(anchors, e.Class.AnchorName) {
			anchors = append(anchors, e.Class.AnchorName)
		}
	}
	return addrs, anchors
}
