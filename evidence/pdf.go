package evidence

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

// reportSigner is what the report says about the signature.
type reportSigner struct {
	Cert      *x509.Certificate
	Ephemeral bool
	TSA       bool
}

// pdfSubjectPrefix starts the PDF's Info /Subject, which records the
// verdict for Verify: "msscprobe-evidence/v1; ps41=met|not-met;
// token=<probe token>; results-sha256=<hex>" (docs/evidence-format.md
// §Report).
const pdfSubjectPrefix = "msscprobe-evidence/v1"

func pdfSubject(met bool, token, resultsSHA256 string) string {
	v := "not-met"
	if met {
		v = "met"
	}
	return fmt.Sprintf("%s; ps41=%s; token=%s; results-sha256=%s", pdfSubjectPrefix, v, token, resultsSHA256)
}

// A4 in points, and the text column.
const (
	pageW, pageH = 595.0, 842.0
	margin       = 50.0
	colW         = pageW - 2*margin
	labelW       = 150.0
)

// pdfDoc lays text out top to bottom, breaking pages as needed. y is the
// top of the next line; page counts the pages started.
type pdfDoc struct {
	gp   *gopdf.GoPdf
	lang check.Lang
	y    float64
	size float64
	page int
	err  error
}

func (d *pdfDoc) t(fr, en string) string {
	if d.lang == check.EN {
		return en
	}
	return fr
}

func (d *pdfDoc) font(bold bool, size float64) {
	fam := "go"
	if bold {
		fam = "gob"
	}
	d.size = size
	if err := d.gp.SetFont(fam, "", size); err != nil && d.err == nil {
		d.err = err
	}
}

func (d *pdfDoc) newPage() {
	d.gp.AddPage()
	d.y = margin
	d.page++
}

func (d *pdfDoc) lineHeight() float64 { return d.size * 1.35 }

// wrap splits s into the lines that fit width w in the current font.
func (d *pdfDoc) wrap(w float64, s string) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		if strings.TrimSpace(para) == "" {
			out = append(out, "")
			continue
		}
		lines, err := d.gp.SplitTextWithWordWrap(para, w)
		if err != nil {
			// A word wider than the column: fall back to hard breaks.
			if lines, err = d.gp.SplitText(para, w); err != nil && d.err == nil {
				d.err = err
			}
		}
		out = append(out, lines...)
	}
	return out
}

// text writes s wrapped in a column of width w starting at x.
func (d *pdfDoc) text(x, w float64, s string) {
	lh := d.lineHeight()
	for _, l := range d.wrap(w, s) {
		if d.y+lh > pageH-margin {
			d.newPage()
		}
		// gopdf's Text draws on the baseline: put it one font size below
		// the line's top so nothing rises above y.
		d.gp.SetXY(x, d.y+d.size)
		if l != "" {
			if err := d.gp.Text(l); err != nil && d.err == nil {
				d.err = err
			}
		}
		d.y += lh
	}
}

func (d *pdfDoc) para(s string) { d.text(margin, colW, s) }

// kv writes a label in bold and its value beside it, on a new page when
// the pair would not fit on this one (unless it is longer than a page).
func (d *pdfDoc) kv(label, value string) {
	d.font(true, d.size)
	n := len(d.wrap(labelW-8, label))
	d.font(false, d.size)
	n = max(n, len(d.wrap(colW-labelW, value)))
	if need := float64(n) * d.lineHeight(); d.y+need > pageH-margin && need <= pageH-2*margin {
		d.newPage()
	}
	y, page := d.y, d.page
	d.font(true, d.size)
	d.text(margin, labelW-8, label)
	end := d.y
	d.y = y
	d.font(false, d.size)
	d.text(margin+labelW, colW-labelW, value)
	if d.page == page {
		d.y = max(d.y, end)
	}
}

func (d *pdfDoc) heading(s string) {
	if d.y > pageH-margin-60 {
		d.newPage()
	}
	d.y += 6
	d.font(true, 12)
	d.para(s)
	d.font(false, 9.5)
	d.y += 2
}

// renderReport renders the human report: page one at a glance, then the
// details (issue 5 "The report").
func renderReport(res *Results, sig reportSigner, resultsSHA256 string) ([]byte, error) {
	p := res.Probe
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	gp.SetCompressLevel(9)
	if err := gp.AddTTFFontData("go", goregular.TTF); err != nil {
		return nil, err
	}
	if err := gp.AddTTFFontData("gob", gobold.TTF); err != nil {
		return nil, err
	}
	d := &pdfDoc{gp: gp, lang: res.Lang}
	gp.SetInfo(gopdf.PdfInfo{
		Title:        d.t("Preuve PS 4.1 – ", "PS 4.1 evidence – ") + p.Establishment.Name,
		Subject:      pdfSubject(res.PS41Met, p.Token, resultsSHA256),
		Creator:      "msscprobe " + p.ToolVersion,
		Producer:     "msscprobe",
		CreationDate: res.Generated,
	})
	d.newPage()

	d.font(true, 16)
	d.para(d.t("Preuve d'échange avec la messagerie citoyenne MSSanté", "Evidence of exchange with MSSanté citizen messaging"))
	d.font(false, 10)
	d.para(d.t("SUN-ES volet 2, prérequis PS 4.1 : envoi d'un message de test à une messagerie citoyenne et réception d'une réponse.",
		"SUN-ES part 2, prerequisite PS 4.1: sending a test message to a citizen mailbox and receiving a reply."))
	d.y += 8

	// Verdict banner.
	r, g, b := uint8(0x1b), uint8(0x7a), uint8(0x3a)
	if !res.PS41Met {
		r, g, b = 0xb0, 0x1e, 0x1e
	}
	gp.SetFillColor(r, g, b)
	const bannerH = 40.0
	top := d.y
	if err := gp.Rectangle(margin, top, pageW-margin, top+bannerH, "F", 0, 0); err != nil {
		return nil, err
	}
	gp.SetTextColor(255, 255, 255)
	d.font(true, 18)
	d.y = top + 8 // capitals centred in the banner
	d.text(margin+12, colW-24, strings.ToUpper(res.Verdict.In(d.lang)))
	gp.SetTextColor(0, 0, 0)
	d.y = top + bannerH + 8
	d.font(false, 10)
	if why := verdictReason(p, d.lang); why != "" {
		d.para(why)
	}
	d.y += 4

	d.font(false, 10)
	d.kv(d.t("Établissement", "Establishment"), p.Establishment.Name)
	d.kv("FINESS", orDash(p.Establishment.FINESS))
	d.kv(d.t("Adresse d'envoi", "Sender address"), p.Establishment.Address)
	d.kv(d.t("Destinataire", "Recipient"), p.Target)
	d.kv(d.t("Date (UTC)", "Date (UTC)"), p.Started.UTC().Format("2006-01-02 15:04:05")+" UTC")
	d.kv(d.t("Durée", "Duration"), formatDuration(p.Duration(), d.lang))
	d.kv(d.t("Serveur d'envoi", "Submission server"), endpointLine(p.SMTP, "SMTP"))
	d.kv(d.t("Serveur de réception", "Mailbox server"), endpointLine(p.IMAP, "IMAP"))
	if p.ReplyLatency > 0 {
		d.kv(d.t("Délai de réponse", "Reply latency"), formatDuration(p.ReplyLatency, d.lang))
	}

	d.heading(d.t("Étapes", "Steps"))
	for _, st := range p.Steps {
		d.kv(statusLabel(st.Status, d.lang), fmt.Sprintf("%s (%s)", st.Title.In(d.lang), formatDuration(st.Duration, d.lang)))
	}

	if p.Document != nil {
		d.heading(d.t("Document CDA joint", "Attached CDA document"))
		for _, doc := range p.Document.Documents {
			d.kv(doc.Status.Label(d.lang), path.Base(doc.Path))
		}
		if res.PersonalDataWithheld {
			d.para(d.t("Le document porte un INS de production : il n'est pas copié dans ce dossier de preuve et l'INS est masqué ; seuls les résultats du contrôle le sont.",
				"The document carries a production INS: it is not copied into this evidence bundle and the INS is masked; only the check results are."))
		}
	}

	d.heading(d.t("Signature du dossier de preuve", "Signature of this evidence bundle"))
	if sig.Ephemeral {
		d.font(true, 10)
		d.para(d.t("Signé avec une clé éphémère : ce dossier prouve seulement que les fichiers n'ont pas été modifiés depuis sa création, pas l'identité de celui qui l'a produit.",
			"Signed with an ephemeral key: this bundle only proves that its files were not modified since it was made, not who made it."))
		d.font(false, 10)
	} else {
		d.kv(d.t("Signataire", "Signer"), sig.Cert.Subject.String())
		d.kv(d.t("Émetteur", "Issuer"), sig.Cert.Issuer.String())
	}
	ts := check.Text{FR: "aucun (date déclarée par le signataire)", EN: "none (date stated by the signer)"}
	if sig.TSA {
		ts = check.Text{FR: "jeton RFC 3161 d'une autorité d'horodatage", EN: "RFC 3161 token from a time-stamping authority"}
	}
	d.kv(d.t("Horodatage", "Timestamp"), ts.In(d.lang))
	d.kv(d.t("Empreinte", "Fingerprint"), groupHex(resultsSHA256))
	d.kv(d.t("Vérifier", "Verify"), "msscprobe verify <"+d.t("fichier", "file")+">")

	details(d, res)
	if d.err != nil {
		return nil, d.err
	}
	var out bytes.Buffer
	if _, err := gp.WriteTo(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// details is everything after the first page.
func details(d *pdfDoc, res *Results) {
	p := res.Probe
	d.newPage()
	d.font(true, 14)
	d.para(d.t("Détail des vérifications", "Check details"))
	d.font(false, 9.5)
	d.kv(d.t("Jeton de test", "Probe token"), orDash(p.Token))
	d.kv("Message-ID", orDash(p.MessageID))
	d.kv(d.t("Identifiant de file", "Queue ID"), orDash(p.QueueID))
	d.kv(d.t("Authentification", "Authentication"), orDash(p.AuthMechanism))
	d.kv(d.t("Mode de réponse", "Reply mode"), orDash(p.ReplyMode))
	d.kv(d.t("Version de l'outil", "Tool version"), orDash(p.ToolVersion))
	if p.Interrupted {
		d.para(d.t("Exécution interrompue : résultat partiel.", "Run interrupted: partial result."))
	}
	for _, st := range p.Steps {
		d.heading(fmt.Sprintf("%s – %s", st.Title.In(d.lang), statusLabel(st.Status, d.lang)))
		for _, c := range st.Checks {
			line := fmt.Sprintf("%s : %s", c.ID, c.Message.In(d.lang))
			if c.Source != "" {
				line += " [" + c.Source + "]"
			}
			if len(c.Evidence) > 0 {
				line += " → " + strings.Join(c.Evidence, ", ")
			}
			d.kv(statusLabel(c.Status, d.lang), line)
		}
	}
	if p.Document != nil {
		for _, doc := range p.Document.Documents {
			d.heading(fmt.Sprintf("CDA %s – %s", path.Base(doc.Path), doc.Status.Label(d.lang)))
			if doc.INS != nil {
				d.kv("INS", fmt.Sprintf("%s (%s, OID %s)", doc.INS.Value, doc.INS.Kind, doc.INS.OID))
			}
			for _, f := range doc.Findings {
				d.kv(f.Severity.Label(d.lang), fmt.Sprintf("%s : %s", f.Rule, f.Message.In(d.lang)))
			}
		}
	}
	if len(p.Messages) > 0 {
		d.heading(d.t("Messages échangés", "Messages exchanged"))
		for _, m := range p.Messages {
			v := fmt.Sprintf("%s\n%s %s\n%s %s", orDash(m.MessageID), d.t("De :", "From:"), orDash(m.From), d.t("Objet :", "Subject:"), orDash(m.Subject))
			if !m.Received.IsZero() {
				v += "\n" + d.t("Reçu : ", "Received: ") + m.Received.UTC().Format(time.RFC3339)
			}
			d.kv(m.Kind, v)
		}
	}
	for _, ep := range []struct {
		name string
		e    probe.Endpoint
	}{{"SMTP", p.SMTP}, {"IMAP", p.IMAP}} {
		if len(ep.e.PeerChain) == 0 {
			continue
		}
		d.heading(d.t("Certificats présentés par le serveur ", "Certificates presented by the server ") + ep.name)
		for i, der := range ep.e.PeerChain {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				d.kv(fmt.Sprint(i), d.t("certificat illisible", "unreadable certificate"))
				continue
			}
			d.kv(fmt.Sprint(i), fmt.Sprintf("%s\n%s %s\n%s %s", c.Subject, d.t("émis par", "issued by"), c.Issuer,
				d.t("valide jusqu'au", "valid until"), c.NotAfter.UTC().Format("2006-01-02")))
		}
	}
	d.heading(d.t("Comment vérifier ce dossier", "How to verify this bundle"))
	d.para(d.t("1. msscprobe verify <fichier> [--ca autorites.pem] contrôle l'intégrité, la signature, l'horodatage et la cohérence de ce rapport avec results.json.\n2. Sans msscprobe : voir docs/evidence-format.md (openssl cms -verify).",
		"1. msscprobe verify <file> [--ca roots.pem] checks integrity, signature, timestamp and that this report agrees with results.json.\n2. Without msscprobe: see docs/evidence-format.md (openssl cms -verify)."))
}

// verdictReason says in one sentence why PS 4.1 is not met: the first
// failing check.
func verdictReason(p *probe.Result, lang check.Lang) string {
	if p.Met {
		return ""
	}
	if p.Interrupted {
		return check.Text{FR: "Exécution interrompue avant la fin.", EN: "Run interrupted before the end."}.In(lang)
	}
	for _, st := range p.Steps {
		for _, c := range st.Checks {
			if c.Status == probe.Fail {
				return c.ID + " : " + c.Message.In(lang)
			}
		}
	}
	return ""
}

var statusLabels = map[probe.Status]check.Text{
	probe.Pass: {FR: "réussi", EN: "passed"},
	probe.Fail: {FR: "échec", EN: "failed"},
	probe.Warn: {FR: "avertissement", EN: "warning"},
	probe.Skip: {FR: "non exécuté", EN: "skipped"},
}

// label words a status for people, or shows it raw when unknown.
func label[S ~string](labels map[S]check.Text, s S, lang check.Lang) string {
	if t, ok := labels[s]; ok {
		return t.In(lang)
	}
	return string(s)
}

func statusLabel(s probe.Status, lang check.Lang) string { return label(statusLabels, s, lang) }

func endpointLine(e probe.Endpoint, proto string) string {
	if e.Host == "" {
		return "–"
	}
	s := fmt.Sprintf("%s %s:%d (%s", proto, e.Host, e.Port, strings.ToUpper(e.TLS))
	if e.TLSVersion != "" {
		s += ", " + e.TLSVersion
	}
	return s + ")"
}

func formatDuration(d time.Duration, lang check.Lang) string {
	var s string
	switch {
	case d < time.Second:
		s = fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		s = fmt.Sprintf("%.1f s", d.Seconds())
	default:
		s = fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	if lang != check.EN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

func groupHex(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 8 {
		parts = append(parts, strings.ToUpper(h[i:min(i+8, len(h))]))
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
