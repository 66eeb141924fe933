package probe

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 replies (research tools.md §B4)
	"github.com/emersion/go-message/mail"

	"github.com/msscprobe/msscprobe/cda"
)

// Header names of the MSSanté client specification (Ref#2 v1.0.1 §3.8,
// research mssante.md §2).
const (
	hdrNIL     = "X-MSS-NIL"
	hdrCodeCDA = "X-MSS-CODECDA"
	hdrINS     = "X-MSS-INS"
	// hdrMES is never set: "X-MSS-MES: FIN" forbids the citizen's reply,
	// which is exactly what the probe needs (Ref#2 ECO.2.2.8).
	hdrMES = "X-MSS-MES"
)

// newToken returns a unique probe token: it goes in the subject and body
// so a reply can be correlated even when a client drops In-Reply-To.
func newToken() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "MSSCPROBE-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]), nil
}

// attachmentPlan is the IHE_XDM.ZIP to attach and what the CDA check said.
type attachmentPlan struct {
	info    *Attachment // the file as configured
	zip     []byte      // what is attached, named XDMName
	report  *cda.Report
	codeCDA string // X-MSS-CODECDA
	ins     string // X-MSS-INS: O or N
	subject string // XDM/1.0/DDM+<libellé> <NOM> <prénom> <date>
}

// checkAttachment reads the configured CDA document or IHE_XDM.ZIP, checks
// it with the CDA checker and, for a bare CDA, packages it as XDM. The
// returned error says what to fix and is reported under MSG-002.
func checkAttachment(path string, data []byte, sender EstablishmentConfig, toolVersion string, now time.Time) (*attachmentPlan, error) {
	p := &attachmentPlan{info: &Attachment{Name: filepath.Base(path), Raw: data}}
	isZip := bytes.HasPrefix(data, []byte("PK\x03\x04"))
	rep := checkDocument(path, data)
	p.report = rep
	if len(rep.Documents) == 0 {
		return nil, fmt.Errorf("%s: no CDA document found", path)
	}
	var docErrs []string
	for _, d := range rep.Documents {
		for _, f := range d.Findings {
			if blocksAttachment(f.Rule) {
				docErrs = append(docErrs, fmt.Sprintf("%s %s: %s", d.Path, f.Rule, f.Message.FR))
			}
		}
	}
	if len(docErrs) > 0 {
		return nil, fmt.Errorf("the document cannot be sent as is: %s", strings.Join(docErrs, "; "))
	}
	first := rep.Documents[0]
	if isZip {
		p.zip = data
	} else {
		var err error
		p.zip, err = BuildXDM(XDMInput{CDA: data, Doc: first, Sender: sender, ToolVersion: toolVersion, Now: now})
		if err != nil {
			return nil, err
		}
	}
	p.codeCDA, p.ins = cda.MSSHeaders(rep.Documents)
	p.subject = xdmSubject(first.Meta)
	return p, nil
}

// checkDocument runs the CDA checker on a CDA document or an XDM archive.
func checkDocument(name string, data []byte) *cda.Report {
	docs := cda.CheckBytes(name, data, cda.Options{})
	return &cda.Report{Schema: cda.SchemaVersion, Documents: docs, Summary: cda.Summarize(docs)}
}

// blocksAttachment lists the findings that make an attachment unusable:
// an unreadable CDA (CDA-*) or a broken XDM package (XDM-*). INS findings
// only turn X-MSS-INS to N.
func blocksAttachment(rule string) bool {
	return strings.HasPrefix(rule, "CDA-") || strings.HasPrefix(rule, "XDM-")
}

// xdmSubject is the subject form of Ref#2 ECO.2.1.3:
// XDM/1.0/DDM+<libellé> <NOM> <prénom> <date de naissance>.
func xdmSubject(m *cda.Meta) string {
	if m == nil {
		return "XDM/1.0/DDM"
	}
	label := m.Title
	if label == "" {
		label = m.DisplayName
	}
	parts := []string{label, strings.ToUpper(m.BirthFamily), m.BirthGiven}
	if len(m.BirthTime) >= 8 {
		parts = append(parts, m.BirthTime[:8])
	}
	var kept []string
	for _, s := range parts {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			kept = append(kept, s)
		}
	}
	return "XDM/1.0/DDM+" + strings.Join(kept, " ")
}

// outgoing is the built test message.
type outgoing struct {
	raw       []byte
	messageID string // without angle brackets
	subject   string
	headers   map[string]string // the MSSanté headers set, for the report
}

// buildMessage writes the test message with go-message: From, To, Date,
// Message-ID, a subject carrying the token, X-MSS-NIL on every mail
// (Ref#2 ECO.2.4.3), X-MSS-CODECDA/X-MSS-INS when a CDA travels
// (ECO.2.4.1/2.4.2), Disposition-Notification-To on request (ECO.2.3.2),
// and never X-MSS-MES.
func buildMessage(cfg Config, token string, now time.Time, att *attachmentPlan) (*outgoing, error) {
	domain := cfg.Establishment.Address[strings.LastIndexByte(cfg.Establishment.Address, '@')+1:]
	out := &outgoing{
		messageID: strings.ToLower(token) + "@" + domain,
		headers:   map[string]string{hdrNIL: cfg.Message.NIL},
	}
	out.subject = "msscprobe PS 4.1 : message de test [" + token + "]"
	if att != nil {
		out.subject = att.subject + " [" + token + "]"
		out.headers[hdrINS] = att.ins
		if att.codeCDA != "" {
			out.headers[hdrCodeCDA] = att.codeCDA
		}
	}

	var h mail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*mail.Address{{Name: cfg.Establishment.Name, Address: cfg.Establishment.Address}})
	h.SetAddressList("To", []*mail.Address{{Address: cfg.Target}})
	h.SetMessageID(out.messageID)
	h.SetSubject(out.subject)
	for _, k := range []string{hdrNIL, hdrCodeCDA, hdrINS} {
		if v, ok := out.headers[k]; ok {
			h.Set(k, v)
		}
	}
	if cfg.Message.MDN {
		h.SetAddressList("Disposition-Notification-To", []*mail.Address{{Address: cfg.Establishment.Address}})
		out.headers["Disposition-Notification-To"] = cfg.Establishment.Address
	}

	var buf bytes.Buffer
	body := []byte(messageBody(cfg, token))
	if att == nil {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		if err := writePart(mail.CreateSingleInlineWriter(&buf, h))(body); err != nil {
			return nil, err
		}
	} else {
		mw, err := mail.CreateWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		var ih mail.InlineHeader
		ih.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		if err := writePart(mw.CreateSingleInline(ih))(body); err != nil {
			return nil, err
		}
		var ah mail.AttachmentHeader
		ah.SetContentType("application/zip", nil)
		ah.SetFilename(XDMName)
		if err := writePart(mw.CreateAttachment(ah))(att.zip); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	}
	out.raw = buf.Bytes()
	return out, nil
}

// writePart returns a function writing data to a just-created part and
// closing it, carrying the creation error.
func writePart(w io.WriteCloser, err error) func([]byte) error {
	return func(data []byte) error {
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		return w.Close()
	}
}

func messageBody(cfg Config, token string) string {
	return fmt.Sprintf(`Bonjour,

Ceci est un message de test envoyé par %s avec msscprobe, pour vérifier le
prérequis SUN-ES PS 4.1 (échange de messages avec la messagerie citoyenne
MSSanté de Mon espace santé). Merci d'y répondre sans modifier l'objet.

This is a test message sent by %s with msscprobe to check SUN-ES
prerequisite PS 4.1. Please reply to it without changing the subject.

Jeton / token : %s
`, cfg.Establishment.Name, cfg.Establishment.Name, token)
}
