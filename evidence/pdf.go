package evidence

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"fmt"
	"path"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris on every host

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
	// Trusted is true when the signer chains to Options.SignerRoots.
	Trusted bool
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

// reportTitle is the document title of the report and the deliverable.
func reportTitle(res *Results) string {
	return check.Text{FR: "Preuve PS 4.1 – ", EN: "PS 4.1 evidence – "}.In(res.Lang) + res.Probe.Establishment.Name
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
// details (docs/evidence-format.md §PDF deliverable).
func renderReport(res *Results, sig reportSigner, resultsSHA256 string) ([]byte, error) {
	p := res.Probe
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	gp.SetCompressLevel(flate.DefaultCompression)
	if err := gp.AddTTFFontData("go", goregular.TTF); err != nil {
		return nil, err
	}
	if err := gp.AddTTFFontData("gob", gobold.TTF); err != nil {
		return nil, err
	}
	d := &pdfDoc{gp: gp, lang: res.Lang}
	gp.SetInfo(gopdf.PdfInfo{
		Title:        reportTitle(res),
		Subject:      pdfSubject(res.PS41Met, p.Token, resultsSHA256),
		Creator:      "msscprobe " + p.ToolVersion,
		Producer:     "msscprobe",
		CreationDate: res.Generated,
	})
	d.newPage()

	d.font(true, 16)
	d.para(d.t("Preuve d'échange avec la messagerie citoyenne MSSanté", "Evidence of exchange with MSSanté citizen messaging"))
	d.font(false, 10)
	d.para(d.t("SUN-ES volet 2, prérequis PS 4.1 : envoyer un message de test à une messagerie citoyenne et en recevoir la réponse.",
		"SUN-ES part 2, prerequisite PS 4.1: sending a test message to a citizen mailbox and receiving its reply."))
	d.y += 8

	// The band states the outcome first, in this order: PS 4.1, the
	// environment, integrity, the signer; green only for met on the
	// MSSanté trust space with a trusted signer.
	addrs, anchors := testBed(p)
	o := outcome{known: true, met: res.PS41Met, mssante: p.Environment.Kind == probe.EnvMSSante, addrs: addrs, anchors: anchors,
		intact: true, ephemeral: sig.Ephemeral, trusted: sig.Trusted, signer: sig.Cert.Subject.CommonName}
	result, env, integrity, signer := o.parts(d.lang)
	r, g, b := bandRGB(o.colour())
	gp.SetFillColor(r, g, b)
	top := d.y
	gp.SetTextColor(255, 255, 255)
	d.font(true, 15)
	first := d.wrap(colW-24, result+" — "+env)
	d.font(false, 10)
	second := d.wrap(colW-24, strings.ToUpper(integrity[:1])+integrity[1:]+", "+signer)
	bandH := 14 + float64(len(first))*15*1.35 + float64(len(second))*10*1.35
	if err := gp.Rectangle(margin, top, pageW-margin, top+bandH, "F", 0, 0); err != nil {
		return nil, err
	}
	d.y = top + 6
	d.font(true, 15)
	d.text(margin+12, colW-24, strings.Join(first, "\n"))
	d.font(false, 10)
	d.text(margin+12, colW-24, strings.Join(second, "\n"))
	gp.SetTextColor(0, 0, 0)
	d.y = top + bandH + 8
	d.font(false, 10)
	if why := verdictReason(p, d.lang); why != "" {
		d.para(why)
	}
	if !o.mssante {
		d.font(true, 10)
		d.para(d.t("Pourquoi « TEST » : ce test n'a pas été fait avec un opérateur réel de l'espace de confiance MSSanté.",
			"Why \"TEST\": this test was not made with a real operator of the MSSanté trust space."))
		d.font(false, 10)
		for _, reason := range p.Environment.Reasons {
			d.para("• " + reason.In(d.lang))
		}
		if len(p.Environment.Reasons) == 0 {
			d.para("• " + d.t("aucun environnement MSSanté n'est enregistré dans ce dossier", "no MSSanté environment is recorded in this evidence"))
		}
	}
	d.y += 4

	d.font(false, 10)
	d.kv(d.t("Établissement", "Establishment"), p.Establishment.Name)
	d.kv("FINESS", orDash(p.Establishment.FINESS))
	d.kv(d.t("Date et heure", "Date and time"), parisTime(p.Started, d.lang))
	d.kv(d.t("Ce qui a été testé", "What was tested"), testedInWords(p, d.lang))

	if p.Document != nil {
		d.heading(d.t("Document médical de test joint", "Attached test medical document"))
		for _, doc := range p.Document.Documents {
			d.kv(doc.Status.Label(d.lang), path.Base(doc.Path))
		}
		if res.PersonalDataWithheld {
			d.para(d.t("Le document porte un INS de production : il n'est pas copié dans ce dossier de preuve et l'INS est masqué ; seuls les résultats du contrôle le sont.",
				"The document carries a production INS: it is not copied into this evidence and the INS is masked; only the check results are."))
		}
	}

	d.heading(d.t("Signature", "Signature"))
	if sig.Ephemeral {
		d.para(d.t("Signé avec une clé éphémère : ce document prouve seulement que son contenu n'a pas été modifié depuis sa création, pas l'identité de celui qui l'a produit.",
			"Signed with an ephemeral key: this document only proves that its content was not modified since it was made, not who made it."))
	} else {
		d.kv(d.t("Signé par", "Signed by"), sig.Cert.Subject.CommonName)
		d.kv(d.t("Autorité", "Authority"), sig.Cert.Issuer.CommonName)
	}
	ts := check.Text{FR: "aucun (date déclarée par le signataire)", EN: "none (date stated by the signer)"}
	if sig.TSA {
		ts = check.Text{FR: "jeton d'une autorité d'horodatage", EN: "token from a time-stamping authority"}
	}
	d.kv(d.t("Horodatage", "Timestamp"), ts.In(d.lang))
	d.kv(d.t("Empreinte", "Fingerprint"), groupHex(resultsSHA256))
	d.kv(d.t("Comment vérifier", "How to verify"), d.t(
		"Ouvrez le panneau « Signatures » de votre lecteur PDF : la signature doit être valide et couvrir tout le document. Les fichiers de preuve sont joints à ce PDF (panneau « Pièces jointes »). Vérification complète : msscprobe verify <fichier.pdf>",
		"Open your PDF reader's \"Signatures\" panel: the signature must be valid and cover the whole document. The evidence files are attached to this PDF (\"Attachments\" panel). Full check: msscprobe verify <file.pdf>"))

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
	d.kv(d.t("Date (UTC)", "Date (UTC)"), p.Started.UTC().Format("2006-01-02 15:04:05")+" UTC")
	d.kv(d.t("Durée", "Duration"), formatDuration(p.Duration(), d.lang))
	d.kv(d.t("Adresse d'envoi", "Sender address"), p.Establishment.Address)
	d.kv(d.t("Destinataire", "Recipient"), p.Target)
	d.kv(d.t("Serveur d'envoi", "Submission server"), endpointLine(p.SMTP, "SMTP"))
	d.kv(d.t("Serveur de réception", "Mailbox server"), endpointLine(p.IMAP, "IMAP"))
	if p.ReplyLatency > 0 {
		d.kv(d.t("Délai de réponse", "Reply latency"), formatDuration(p.ReplyLatency, d.lang))
	}
	env := p.Environment.Kind
	if env == "" {
		env = "–"
	}
	d.kv(d.t("Environnement", "Environment"), env)
	for _, ep := range []struct {
		name string
		e    probe.Endpoint
	}{{"SMTP", p.SMTP}, {"IMAP", p.IMAP}} {
		if c := ep.e.Class; c != nil {
			d.kv(d.t("Classement ", "Classification ")+ep.name, fmt.Sprintf("anchor=%s (%s), serv_ssl=%t, revocation=%s, address=%s, trust_space=%t, tls_acceptable=%t",
				c.Anchor, orDash(c.AnchorName), c.ServSSL, c.Revocation, c.Address, c.TrustSpace, c.TLSAcceptable))
		}
	}
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

// verdictReason says in words why PS 4.1 is not met: the first failing
// step, by its title (the check's own message, which may quote a server,
// stays on the detail pages).
func verdictReason(p *probe.Result, lang check.Lang) string {
	if p.Met {
		return ""
	}
	if p.Interrupted {
		return check.Text{FR: "Exécution interrompue avant la fin.", EN: "Run interrupted before the end."}.In(lang)
	}
	for _, st := range p.Steps {
		if st.Status == probe.Fail {
			return check.Text{FR: "Étape en échec : ", EN: "Failed step: "}.In(lang) + st.Title.In(lang) + check.Text{FR: " (détail en page 2).", EN: " (details on page 2)."}.In(lang)
		}
	}
	return ""
}

// bandRGB is the band's colour, dark enough for white text.
func bandRGB(c Colour) (r, g, b uint8) {
	switch c {
	case Green:
		return 0x1b, 0x7a, 0x3a
	case Orange:
		return 0xb8, 0x5c, 0x00
	}
	return 0xb0, 0x1e, 0x1e
}

// paris is the reviewer's time zone (time/tzdata makes it available on
// hosts without a zone database).
var paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.UTC
	}
	return l
}()

// parisTime words t in Europe/Paris time, e.g. "04/05/2026 à 12:01 (heure de Paris)".
func parisTime(t time.Time, lang check.Lang) string {
	l := t.In(paris)
	if lang == check.EN {
		return l.Format("2006-01-02 at 15:04") + " (Paris time)"
	}
	return l.Format("02/01/2006 à 15:04") + " (heure de Paris)"
}

// testedInWords says what the run did without protocol jargon.
func testedInWords(p *probe.Result, lang check.Lang) string {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	sent := p.Met || !p.Sent.IsZero()
	opening := check.Text{FR: "Un message de test a été envoyé depuis la messagerie %s à l'adresse %s",
		EN: "A test message was sent from the mailbox %s to the address %s"}
	if !sent {
		// Not "was sent … could not be sent": the sentence must not
		// contradict itself on a failed run.
		opening = check.Text{FR: "Un message de test devait partir de la messagerie %s vers l'adresse %s",
			EN: "A test message was to go from the mailbox %s to the address %s"}
	}
	s := fmt.Sprintf(opening.In(lang), orDash(p.Establishment.Address), orDash(p.Target))
	if p.Document != nil {
		s += t(", avec un document médical de test joint", ", with a test medical document attached")
	}
	switch {
	case p.Met && p.ReplyLatency > 0:
		s += fmt.Sprintf(t(" ; la réponse est arrivée %s plus tard.", "; the reply arrived %s later."), formatDuration(p.ReplyLatency, lang))
	case p.Met:
		s += t(" ; la réponse est arrivée.", "; the reply arrived.")
	case sent:
		s += t(" ; le message a été accepté mais aucune réponse n'est arrivée.", "; the message was accepted but no reply arrived.")
	default:
		s += t(" ; il n'a pas pu être envoyé.", "; it could not be sent.")
	}
	return s
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
