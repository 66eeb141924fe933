package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

// Options tune CheckBytes and Check; the zero value gives the defaults.
type Options struct {
	// MaxSize is the largest message read (0: DefaultMaxSize); a larger
	// message gets MSS-027 and is not checked further.
	MaxSize int64
	// MaxParts and MaxDepth bound the MIME walk (0: DefaultMaxParts,
	// DefaultMaxDepth).
	MaxParts, MaxDepth int
	// CitizenDomain is the MSS citoyenne domain (default patient.mssante.fr).
	CitizenDomain string
	// Recipients, when set, are the envelope recipients (RCPT TO): they
	// replace To, Cc and Bcc for the recipient rules, as in the mock.
	Recipients []string
	// CDA tunes the checks of the documents inside IHE_XDM.ZIP.
	CDA cda.Options
	// Jobs is the number of messages checked in parallel by Check (0: all
	// cores, at most cda.MaxJobs()).
	Jobs int
	// Stdin is read for the input "-"; nil means os.Stdin.
	Stdin io.Reader
}

// Defaults of Options.
const (
	DefaultCitizenDomain = "patient.mssante.fr"
	// AutoReplyLocalPart is the MSS citoyenne test mailbox (research
	// mssante.md §6): a citizen address that is not a matricule INS.
	AutoReplyLocalPart = "reponse.automatique-test"
	// XDMName is the attachment name MSSanté receivers look for.
	XDMName = "IHE_XDM.ZIP"
)

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.CitizenDomain == "" {
		o.CitizenDomain = DefaultCitizenDomain
	}
	return o
}

// Result is the verdict on one message.
type Result struct {
	// Name is the file, "-" for standard input, or "file#N" for the Nth
	// message of an mbox.
	Name       string          `json:"name"`
	MessageID  string          `json:"message_id,omitempty"`
	Subject    string          `json:"subject,omitempty"`
	From       string          `json:"from,omitempty"`
	Recipients []string        `json:"recipients,omitempty"`
	Size       int             `json:"size"`
	Passed     bool            `json:"passed"`
	Findings   []check.Finding `json:"findings"`
	// Documents are the CDA documents found in IHE_XDM.ZIP attachments,
	// as package cda checked them (their findings are also in Findings).
	Documents []cda.Document `json:"documents,omitempty"`
}

// checker accumulates the findings of one message.
type checker struct {
	o   Options
	r   *Result
	msg *Message
	// unusable is set when an IHE XDM archive could not be read: its
	// documents are unknown, so the X-MSS-CODECDA/X-MSS-INS values cannot
	// be judged (the archive's own findings say why).
	unusable bool
}

func (c *checker) add(f check.Finding) { c.r.Findings = append(c.r.Findings, f) }

// CheckBytes checks one message held in memory against every rule.
func CheckBytes(name string, raw []byte, opts Options) Result {
	r := Result{Name: name, Size: len(raw), Findings: []check.Finding{}}
	(&checker{o: opts.withDefaults(), r: &r}).run(raw)
	r.Passed = check.Worst(r.Findings) != check.Error
	return r
}

func (c *checker) run(raw []byte) {
	o, r := c.o, c.r
	if len(raw) > MaxMessageBytes {
		c.add(RuleTotalSize.Newf("", "%d octets, plus que les 25 Mo (%d octets) acceptés par Mon espace santé : le message serait rejeté",
			"%d bytes, more than the 25 MB (%d bytes) Mon espace santé accepts: the message would bounce", len(raw), MaxMessageBytes))
	}
	if int64(len(raw)) > o.MaxSize {
		c.add(RuleUnreadable.Newf("", "plus de %d octets, la limite de lecture : le message n'est pas vérifié plus avant",
			"more than %d bytes, the read limit: the message is not checked further", o.MaxSize))
		return
	}
	m, err := Parse(raw, o.MaxParts, o.MaxDepth)
	if m == nil {
		// The parser's error quotes the bad line with its line end, which
		// oneLine would show as two U+FFFD.
		c.add(RuleUnreadable.Newf("", "en-tête illisible : %s", "unreadable header: %s", oneLine(strings.TrimSpace(err.Error()))))
		return
	}
	c.msg = m
	if err != nil {
		c.add(RuleUnreadable.Newf("", "structure MIME : %s ; les parties lues sont vérifiées", "MIME structure: %s; the parts read are checked", oneLine(err.Error())))
	}
	h := m.Header
	r.MessageID = oneLine(h.Get("Message-Id"))
	r.Subject = decodeHeader(h.Get("Subject"))
	r.From = oneLine(h.Get("From"))
	c.headers(h)
	recipients := c.recipients(h)
	r.Recipients = recipients
	c.textParts()
	docs := c.attachments(recipients)
	c.mssHeaders(h, docs)
	c.citizens(recipients, docs)
	if len(docs) > 0 {
		c.subject(r.Subject)
	}
}

// headers applies the RFC 5322 and MSSanté header rules.
func (c *checker) headers(h textproto.Header) {
	if !HasNIL(h) {
		c.add(RuleNIL.Newf("X-MSS-NIL", "en-tête X-MSS-NIL absent ou vide : chaque message MSSanté porte la référence du logiciel sur convergence.esante.gouv.fr",
			"X-MSS-NIL header missing or empty: every MSSanté message carries the software reference on convergence.esante.gouv.fr"))
	}
	switch ids := h.Values("Message-Id"); {
	case len(ids) == 0:
		c.add(RuleMessageID.Newf("Message-ID", "Message-ID absent : les réponses et accusés ne pourraient pas s'y rattacher",
			"Message-ID missing: replies and notifications could not refer to the message"))
	case len(ids) > 1:
		c.add(RuleMessageID.Newf("Message-ID", "%d en-têtes Message-ID (un seul permis)", "%d Message-ID headers (one allowed)", len(ids)))
	default:
		if got, err := ParseMsgIDs(ids[0]); err != nil || len(got) != 1 {
			c.add(RuleMessageID.Newf("Message-ID", "Message-ID « %s » mal formé : forme attendue <gauche@droite>",
				"malformed Message-ID %q: expected form <left@right>", oneLine(ids[0])))
		}
	}
	switch ds := h.Values("Date"); {
	case len(ds) == 0:
		c.add(RuleDate.Newf("Date", "en-tête Date absent", "Date header missing"))
	case len(ds) > 1:
		c.add(RuleDate.Newf("Date", "%d en-têtes Date (un seul permis)", "%d Date headers (one allowed)", len(ds)))
	default:
		if !validDate(ds[0]) {
			c.add(RuleDate.Newf("Date", "Date « %s » illisible (RFC 5322 §3.3)", "unreadable Date %q (RFC 5322 §3.3)", oneLine(ds[0])))
		}
	}
	switch fs := h.Values("From"); {
	case len(fs) == 0:
		c.add(RuleFrom.Newf("From", "en-tête From absent", "From header missing"))
	case len(fs) > 1:
		c.add(RuleFrom.Newf("From", "%d en-têtes From (un seul permis)", "%d From headers (one allowed)", len(fs)))
	default:
		if _, err := parseAddressList(fs[0]); err != nil {
			c.add(RuleFrom.Newf("From", "From « %s » mal formé : %s", "malformed From %q: %s", oneLine(fs[0]), oneLine(err.Error())))
		}
	}
	for _, k := range []string{"In-Reply-To", "References"} {
		for _, v := range h.Values(k) {
			if _, err := ParseMsgIDs(v); err != nil {
				c.add(RuleThreading.Newf(k, "%s « %s » mal formé : %s (liste de <identifiants>)", "malformed %s %q: %s (a list of <ids>)", k, oneLine(v), oneLine(err.Error())))
			}
		}
	}
	for _, v := range h.Values("X-Mss-Mes") {
		if v != "FIN" {
			c.add(RuleMES.Newf("X-MSS-MES", "X-MSS-MES vaut « %s » : seule la valeur exacte FIN (en majuscules) est définie et ferme les réponses",
				"X-MSS-MES is %q: only the exact value FIN (capitals) is defined and closes replies", oneLine(v)))
		}
	}
	for _, v := range h.Values("Disposition-Notification-To") {
		if _, err := parseAddressList(v); err != nil {
			c.add(RuleDNT.Newf("Disposition-Notification-To", "Disposition-Notification-To « %s » mal formé : %s",
				"malformed Disposition-Notification-To %q: %s", oneLine(v), oneLine(err.Error())))
		}
	}
}

// validDate reads an RFC 5322 date: the common form first (net/mail tries
// a dozen layouts and builds an error for each miss, a quarter of the cost
// of checking a small message), then everything net/mail accepts.
func validDate(v string) bool {
	if _, err := time.Parse(time.RFC1123Z, strings.TrimSpace(v)); err == nil {
		return true
	}
	_, err := mail.ParseDate(v)
	return err == nil
}

// recipients are the envelope recipients when known, else To, Cc and Bcc.
func (c *checker) recipients(h textproto.Header) []string {
	if len(c.o.Recipients) > 0 {
		out := make([]string, 0, len(c.o.Recipients))
		for _, a := range c.o.Recipients {
			out = append(out, strings.ToLower(strings.TrimSpace(a)))
		}
		return out
	}
	var out []string
	for _, k := range []string{"To", "Cc", "Bcc"} {
		for _, v := range h.Values(k) {
			list, err := parseAddressList(v)
			if err != nil {
				continue // not a rule of its own: the recipient rules see what parses
			}
			for _, a := range list {
				if addr := strings.ToLower(a.Address); !slices.Contains(out, addr) {
					out = append(out, addr)
				}
			}
		}
	}
	return out
}

// textParts applies ECO.2.2.3: text bodies in UTF-8.
func (c *checker) textParts() {
	for i := range c.msg.Parts {
		p := &c.msg.Parts[i]
		if !strings.HasPrefix(p.MediaType, "text/") || p.IsAttachment() {
			continue
		}
		loc := "part " + p.Path + " (" + p.MediaType + ")"
		cs := strings.ToLower(p.Params["charset"])
		switch {
		case cs == "utf-8" || cs == "utf8":
			if !utf8.Valid(p.Body) {
				c.add(RuleUTF8.Newf(loc, "la partie se déclare en UTF-8 mais contient des octets invalides en UTF-8",
					"the part is labelled UTF-8 but holds bytes that are not valid UTF-8"))
			}
		case (cs == "" || cs == "us-ascii") && isASCII(p.Body):
		case cs == "" || cs == "us-ascii":
			c.add(RuleUTF8.Newf(loc, "octets non ASCII sans charset=utf-8 : déclarer Content-Type: %s; charset=utf-8 et encoder le texte en UTF-8",
				"non-ASCII bytes without charset=utf-8: declare Content-Type: %s; charset=utf-8 and encode the text in UTF-8", p.MediaType))
		default:
			c.add(RuleUTF8.Newf(loc, "charset « %s » : les parties texte d'un message MSSanté sont en UTF-8",
				"charset %q: the text parts of an MSSanté message are in UTF-8", oneLine(cs)))
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// attachments finds the IHE_XDM.ZIP archives (and bare CDA documents),
// checks them with package cda and applies the XDM rules. It returns the
// CDA documents of usable archives.
func (c *checker) attachments(recipients []string) []cda.Document {
	var docs []cda.Document
	citizen, pro := false, false
	for _, a := range recipients {
		if c.isCitizen(a) {
			citizen = true
		} else {
			pro = true
		}
	}
	for i := range c.msg.Parts {
		p := &c.msg.Parts[i]
		name := path.Base(strings.ReplaceAll(p.Filename, "\\", "/"))
		isXDMName := strings.EqualFold(name, XDMName)
		if !isXDMName && !p.IsAttachment() {
			continue
		}
		loc := "part " + p.Path
		if p.Err != nil {
			c.add(RuleUnreadable.Newf(loc, "pièce jointe « %s » non décodable : %s", "attachment %q cannot be decoded: %s", oneLine(name), oneLine(p.Err.Error())))
			continue
		}
		switch {
		case cda.IsZip(p.Body):
		case isXDMName:
			c.add(cda.RuleNotXDM.Newf(loc, "la pièce jointe %s n'est pas une archive zip", "the attachment %s is not a zip archive", XDMName))
			c.unusable = true
			continue
		case looksCDA(p.Body):
			c.add(RuleBareCDA.Newf(loc, "document CDA « %s » joint tel quel : l'envoyer dans une archive IHE_XDM.ZIP (METADATA.XML, INDEX.HTM, README.TXT)",
				"CDA document %q attached as is: send it inside an IHE_XDM.ZIP archive (METADATA.XML, INDEX.HTM, README.TXT)", oneLine(name)))
			continue
		default:
			continue
		}
		if name == "" || name == "." {
			name = XDMName
		}
		x, ds := cda.CheckXDM(name, p.Body, c.o.CDA)
		if x == nil && !isXDMName {
			continue // some other zip
		}
		if !isXDMName {
			c.add(RuleXDMName.Newf(loc, "archive IHE XDM jointe sous le nom « %s » : la nommer IHE_XDM.ZIP pour que les logiciels destinataires l'intègrent",
				"IHE XDM archive attached as %q: name it IHE_XDM.ZIP so that receiving software integrates it", oneLine(name)))
		}
		for _, d := range ds {
			for _, f := range d.Findings {
				if f.Location == "" {
					f.Location = d.Path
				} else {
					f.Location = d.Path + " " + f.Location
				}
				c.add(f)
			}
		}
		c.r.Documents = append(c.r.Documents, ds...)
		if x == nil {
			c.unusable = true
			continue
		}
		c.xdm(name, x, ds, citizen, pro)
		docs = append(docs, ds...)
	}
	return docs
}

// looksCDA spots an XML document naming ClinicalDocument in its first
// kilobytes (a bare CDA attachment).
func looksCDA(b []byte) bool {
	head := bytes.TrimLeft(b[:min(len(b), 4096)], "\xef\xbb\xbf \t\r\n")
	return bytes.HasPrefix(head, []byte("<")) && bytes.Contains(head, []byte("ClinicalDocument"))
}

// xdm applies the archive and DocumentEntry rules to one usable archive.
func (c *checker) xdm(name string, x *cda.XDM, docs []cda.Document, citizen, pro bool) {
	if len(x.Subsets) > 1 {
		var dirs []string
		for _, s := range x.Subsets {
			dirs = append(dirs, s.Dir)
		}
		c.add(RuleSubsets.Newf(name, "%d sous-dossiers (%s) : une archive MSSanté a un seul SUBSET01",
			"%d subset folders (%s): an MSSanté archive has a single SUBSET01", len(x.Subsets), strings.Join(dirs, ", ")))
	} else if d := path.Base(x.Subsets[0].Dir); d != "SUBSET01" {
		c.add(RuleSubsetName.Newf(name+"!"+x.Subsets[0].Dir, "sous-dossier « %s » au lieu de SUBSET01", "subset folder %q instead of SUBSET01", oneLine(d)))
	}
	// The archive root is the folder holding IHE_XDM/ (a producer may
	// have zipped a parent folder).
	root := path.Dir(path.Dir(x.Subsets[0].Dir))
	prefix := ""
	if root != "." {
		prefix = root + "/"
	}
	for _, want := range []struct {
		file string
		rule check.Rule
	}{{"INDEX.HTM", RuleIndex}, {"README.TXT", RuleReadme}} {
		if !slices.ContainsFunc(x.Members, func(m string) bool { return strings.EqualFold(m, prefix+want.file) }) {
			c.add(want.rule.Newf(name, "%s absent à la racine de l'archive (support de média IHE XDM)", "%s missing at the archive root (IHE XDM media)", prefix+want.file))
		}
	}
	byPath := make(map[string]*cda.Document, len(docs))
	for i := range docs {
		byPath[docs[i].Path] = &docs[i]
	}
	patients := map[string]bool{}
	for _, s := range x.Subsets {
		if v, _, bad := cda.ParsePatientID(s.SubmissionSetPatientID); bad == nil {
			patients[strings.ToUpper(v)] = true
		}
		for i := range s.Entries {
			e := &s.Entries[i]
			loc := name + "!" + s.Dir + "/METADATA.XML DocumentEntry " + oneLine(e.ID)
			if v, _, bad := cda.ParsePatientID(e.PatientID); bad == nil {
				patients[strings.ToUpper(v)] = true
			}
			c.entryDigest(loc, e)
			if d := byPath[name+"!"+e.Member]; e.Member != "" && d != nil {
				if d.INS != nil {
					patients[strings.ToUpper(d.INS.Value)] = true
				}
				if d.Meta != nil {
					c.entryMeta(loc, e, d.Meta)
				}
			}
			c.visibility(loc, e, citizen, pro)
		}
	}
	if len(patients) > 1 {
		ids := make([]string, 0, len(patients))
		for p := range patients {
			ids = append(ids, p)
		}
		slices.Sort(ids)
		c.add(RuleOnePatient.Newf(name, "patients %s dans la même archive : une archive IHE_XDM.ZIP concerne un seul patient",
			"patients %s in the same archive: an IHE_XDM.ZIP archive concerns a single patient", oneLine(strings.Join(ids, ", "))))
	}
}

func (c *checker) entryDigest(loc string, e *cda.XDMEntry) {
	switch {
	case e.Hash == "":
		c.add(RuleHash.Newf(loc, "slot hash absent (SHA-1 hexadécimal du fichier attendu)", "hash slot missing (the file's SHA-1 in hex expected)"))
	case e.MemberSHA1 != "" && !strings.EqualFold(e.Hash, e.MemberSHA1):
		c.add(RuleHash.Newf(loc, "hash %s mais le SHA-1 de %s est %s", "hash %s but the SHA-1 of %s is %s", oneLine(e.Hash), oneLine(e.Member), e.MemberSHA1))
	}
	n, err := strconv.ParseInt(e.Size, 10, 64)
	switch {
	case e.Size == "":
		c.add(RuleSize.Newf(loc, "slot size absent (taille du fichier en octets attendue)", "size slot missing (the file's size in bytes expected)"))
	case err != nil || n < 0:
		c.add(RuleSize.Newf(loc, "size « %s » n'est pas un nombre d'octets", "size %q is not a byte count", oneLine(e.Size)))
	case e.MemberSize >= 0 && n != e.MemberSize:
		c.add(RuleSize.Newf(loc, "size %d mais %s fait %d octets", "size %d but %s is %d bytes", n, oneLine(e.Member), e.MemberSize))
	}
}

// entryMeta compares a DocumentEntry with the header of its CDA document.
func (c *checker) entryMeta(loc string, e *cda.XDMEntry, m *cda.Meta) {
	uid := m.IDRoot
	if m.IDExtension != "" {
		uid += "^" + m.IDExtension
	}
	if uid != "" && e.UniqueID != uid {
		c.add(RuleUniqueID.Newf(loc, "uniqueId « %s » au lieu de « %s » (id du document CDA, root^extension)",
			"uniqueId %q instead of %q (the CDA document id, root^extension)", oneLine(e.UniqueID), oneLine(uid)))
	}
	if m.Code != "" && e.TypeCode != m.Code {
		c.add(RuleTypeCode.Newf(loc, "typeCode « %s » au lieu de « %s » (code du document CDA)",
			"typeCode %q instead of %q (the CDA document code)", oneLine(e.TypeCode), oneLine(m.Code)))
	}
	if len(e.SourcePatientInfo) == 0 {
		c.add(RuleSourcePatientInfo.Newf(loc, "slot sourcePatientInfo absent (PID-5, PID-7, PID-8 attendus)", "sourcePatientInfo slot missing (PID-5, PID-7, PID-8 expected)"))
		return
	}
	for _, v := range e.SourcePatientInfo {
		field, val, _ := strings.Cut(v, "|")
		if got, want, ok := pidAgrees(field, val, m); !ok {
			c.add(RuleSourcePatientInfo.Newf(loc, "sourcePatientInfo %s « %s » au lieu de « %s » (traits de l'en-tête CDA)",
				"sourcePatientInfo %s %q instead of %q (the CDA header traits)", field, oneLine(got), oneLine(want)))
		}
	}
}

// pidAgrees compares one sourcePatientInfo field with the CDA traits:
// PID-5 birth name (NOM^Prénom, type L; a used name ^D is not compared),
// PID-7 birth date (to the day), PID-8 sex. Traits the CDA lacks are not
// compared (the CDA rules report them).
func pidAgrees(field, val string, m *cda.Meta) (got, want string, ok bool) {
	switch field {
	case "PID-5":
		comps := strings.Split(val, "^")
		if len(comps) >= 7 && comps[6] == "D" || m.BirthFamily == "" {
			return "", "", true
		}
		got = strings.Join(comps[:min(2, len(comps))], "^")
		want = m.BirthFamily + "^" + m.BirthGiven
		return got, want, strings.EqualFold(strings.TrimSpace(got), want)
	case "PID-7":
		n := min(len(m.BirthTime), 8)
		return val, m.BirthTime, n == 0 || len(val) >= n && val[:n] == m.BirthTime[:n]
	case "PID-8":
		return val, m.Gender, m.Gender == "" || strings.EqualFold(val, m.Gender)
	}
	return "", "", true
}

// Confidentiality codes of the French XDS metadata (JDV_J58, research
// message-rules.md §3-4).
const (
	confInvisiblePatient = "INVISIBLE_PATIENT"
	confInvisibleLegal   = "INVISIBLE_REP_LEGAUX"
	confSecret           = "CONNEXION_SECRETE"
)

// visibility applies the patient-visibility rules of the ANS guide: a
// document reaches the patient's mailbox only when visible to them.
func (c *checker) visibility(loc string, e *cda.XDMEntry, citizen, pro bool) {
	if !citizen {
		return
	}
	for _, code := range e.Confidentiality {
		switch code {
		case confInvisiblePatient:
			c.add(RuleInvisiblePatient.Newf(loc, "confidentialité INVISIBLE_PATIENT mais le message va au patient : retirer le document ou le destinataire patient",
				"confidentiality INVISIBLE_PATIENT but the message goes to the patient: remove the document or the patient recipient"))
		case confInvisibleLegal:
			if pro {
				c.add(RuleInvisibleLegal.Newf(loc, "confidentialité INVISIBLE_REP_LEGAUX dans un message au patient et à un professionnel : seul un envoi au patient seul le permet",
					"confidentiality INVISIBLE_REP_LEGAUX in a message to the patient and a professional: only a patient-only send allows it"))
			}
		case confSecret:
			c.add(RuleSecret.Newf(loc, "confidentialité CONNEXION_SECRETE mais le message va au patient", "confidentiality CONNEXION_SECRETE but the message goes to the patient"))
		}
	}
}

// mssHeaders applies ECO.2.4.1 and ECO.2.4.2 against the documents.
func (c *checker) mssHeaders(h textproto.Header, docs []cda.Document) {
	wantCodes, wantINS := cda.MSSHeaders(docs)
	codes, hasCodes := h.Get("X-Mss-Codecda"), h.Has("X-Mss-Codecda")
	ins, hasINS := strings.TrimSpace(h.Get("X-Mss-Ins")), h.Has("X-Mss-Ins")
	if c.unusable {
		return
	}
	if len(docs) == 0 {
		if hasCodes {
			c.add(RuleCodeCDA.Newf("X-MSS-CODECDA", "X-MSS-CODECDA « %s » alors que le message ne porte aucun document CDA dans un IHE_XDM.ZIP : l'omettre",
				"X-MSS-CODECDA %q although the message carries no CDA document in an IHE_XDM.ZIP: omit it", oneLine(codes)))
		}
		if hasINS {
			c.add(RuleINSHeader.Newf("X-MSS-INS", "X-MSS-INS « %s » alors que le message ne porte aucun document CDA : l'omettre",
				"X-MSS-INS %q although the message carries no CDA document: omit it", oneLine(ins)))
		}
		return
	}
	switch {
	case !hasCodes:
		c.add(RuleCodeCDA.Newf("X-MSS-CODECDA", "X-MSS-CODECDA absent : attendu « %s » (codes des documents CDA)", "X-MSS-CODECDA missing: expected %q (the CDA documents' codes)", oneLine(wantCodes)))
	case !slices.Equal(codeSet(codes), codeSet(wantCodes)):
		c.add(RuleCodeCDA.Newf("X-MSS-CODECDA", "X-MSS-CODECDA « %s » au lieu de « %s » (codes des documents CDA de l'IHE_XDM.ZIP)",
			"X-MSS-CODECDA %q instead of %q (the codes of the CDA documents in IHE_XDM.ZIP)", oneLine(codes), oneLine(wantCodes)))
	}
	switch {
	case !hasINS:
		c.add(RuleINSHeader.Newf("X-MSS-INS", "X-MSS-INS absent : attendu %s", "X-MSS-INS missing: expected %s", wantINS))
	case ins != wantINS:
		why := check.Text{FR: "chaque document porte un INS qualifié", EN: "every document carries a qualified INS"}
		if wantINS == "N" {
			why = check.Text{FR: "un document au moins ne porte pas d'INS qualifié", EN: "at least one document carries no qualified INS"}
		}
		c.add(RuleINSHeader.New(check.Text{FR: fmt.Sprintf("X-MSS-INS « %s » au lieu de %s : %s", oneLine(ins), wantINS, why.FR),
			EN: fmt.Sprintf("X-MSS-INS %q instead of %s: %s", oneLine(ins), wantINS, why.EN)}, "X-MSS-INS"))
	}
}

// codeSet splits a comma-separated code list into its sorted distinct
// values (the header names a set: order and repeats do not matter).
func codeSet(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// citizens applies ECO.3.1.1 and ECO.2.2.6 to each citizen recipient.
func (c *checker) citizens(recipients []string, docs []cda.Document) {
	for _, a := range recipients {
		if !c.isCitizen(a) {
			continue
		}
		local := a[:strings.LastIndexByte(a, '@')]
		if strings.EqualFold(local, AutoReplyLocalPart) {
			continue
		}
		if err := CheckCitizenAddress(a); err != nil {
			c.add(RuleCitizenAddress.Newf(oneLine(a), "%s : %s", "%s: %s", oneLine(a), oneLine(err.Error())))
			continue
		}
		for _, d := range docs {
			if d.Meta == nil {
				continue
			}
			switch {
			case d.INS == nil || d.Status != cda.StatusQualified && d.Status != cda.StatusQualifiedTest:
				c.add(RuleCitizenINS.Newf(oneLine(a), "le document %s n'a pas d'INS qualifié (%s) : une adresse de messagerie citoyenne se construit à partir de l'INS qualifié",
					"document %s has no qualified INS (%s): a citizen address is built from the qualified INS", oneLine(d.Path), d.Status))
			case !strings.EqualFold(local, d.INS.Value):
				c.add(RuleCitizenINS.Newf(oneLine(a), "adresse %s mais le patient du document %s a l'INS %s : le message irait à un autre patient",
					"address %s but the patient of document %s has INS %s: the message would go to another patient", oneLine(a), oneLine(d.Path), d.INS.Value))
			}
		}
	}
}

// subject applies the ECO.2.1.3 form as a warning.
func (c *checker) subject(s string) {
	rest, ok := strings.CutPrefix(s, "XDM/1.0/DDM+")
	if ok && strings.TrimSpace(rest) != "" {
		return
	}
	c.add(RuleSubject.Newf("Subject", "objet « %s » : forme attendue XDM/1.0/DDM+<libellé du document> <NOM> <prénom> <date>",
		"subject %q: expected form XDM/1.0/DDM+<document label> <NAME> <given name> <date>", oneLine(s)))
}

func (c *checker) isCitizen(addr string) bool {
	i := strings.LastIndexByte(addr, '@')
	return i > 0 && strings.EqualFold(addr[i+1:], c.o.CitizenDomain)
}

// CheckCitizenAddress says why addr is not <matricule INS>@… (Ref#2
// ECO.3.1.1: the local part is the 15-character matricule INS with its
// control key), or returns nil. The domain is not checked.
func CheckCitizenAddress(addr string) error {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return errors.New("no @ in the address")
	}
	if _, err := cda.ParseMatricule(addr[:i]); err != nil {
		return fmt.Errorf("the local part must be the 15-character matricule INS with its control key (Ref#2 ECO.3.1.1): %w", err)
	}
	return nil
}

// ParseMsgIDs reads a list of <msg-id> (RFC 5322 §3.6.4), allowing
// folding white space and comments between them.
func ParseMsgIDs(v string) ([]string, error) {
	var out []string
	s := v
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			break
		}
		if s[0] == '(' {
			depth, i := 0, 0
			for ; i < len(s); i++ {
				if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if i == len(s) {
				return out, errors.New("unclosed comment")
			}
			s = s[i+1:]
			continue
		}
		if s[0] != '<' {
			return out, fmt.Errorf("%q does not start with <", clip(s))
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			return out, errors.New("missing >")
		}
		id := s[1:j]
		l, r, ok := strings.Cut(id, "@")
		if !ok || l == "" || r == "" || strings.ContainsAny(id, " \t\r\n<") || strings.Count(id, "@") != 1 {
			return out, fmt.Errorf("<%s> is not <left@right>", clip(id))
		}
		out = append(out, s[:j+1])
		s = s[j+1:]
	}
	if len(out) == 0 {
		return nil, errors.New("empty")
	}
	return out, nil
}

// MsgIDs returns the <…> identifiers of a header value, brackets included,
// leniently (for threading, never for verdicts).
func MsgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		out = append(out, v[i:i+j+1])
		v = v[i+j+1:]
	}
}

// ClosesReplies says whether a professional's message closes the citizen's
// replies: "X-MSS-MES: FIN" closes replies to that message (Ref#2
// ECO.2.2.8), a subject starting with [FIN] closes every earlier message
// too (ENS Messagerie v1.3 §7, research mssante.md §1).
func ClosesReplies(h textproto.Header) (this, all bool) {
	all = strings.HasPrefix(strings.TrimSpace(h.Get("Subject")), "[FIN]")
	return all || strings.TrimSpace(h.Get("X-Mss-Mes")) == "FIN", all
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	// Unknown charsets are read as is: the address syntax is what matters.
	return input, nil
}}

func parseAddressList(v string) ([]*mail.Address, error) {
	p := mail.AddressParser{WordDecoder: wordDecoder}
	return p.ParseList(v)
}

func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		d = v
	}
	return oneLine(d)
}

// maxValue bounds a value quoted from a message in a finding or a result
// field: a hostile 1 MB header must not make a 1 MB report line.
const maxValue = 200

// oneLine keeps values read from a message on one harmless, bounded line.
func oneLine(s string) string {
	cut := false
	if len(s) > maxValue {
		i := maxValue
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s, cut = s[:i], true
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return utf8.RuneError
		}
		return r
	}, s)
	if cut {
		s += "…"
	}
	return s
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// HasNIL tells whether the header carries a non-empty X-MSS-NIL (Ref#2
// ECO.2.4.3).
func HasNIL(h textproto.Header) bool { return strings.TrimSpace(h.Get("X-Mss-Nil")) != "" }
