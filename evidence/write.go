package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

// SchemaResults identifies the shape of results.json.
const SchemaResults = "msscprobe.evidence/v1"

// Options controls Write.
type Options struct {
	// Lang is the language of report.pdf; French when empty.
	Lang check.Lang
	// Signer and Chain (leaf first, then intermediates) sign the manifest.
	// With a nil Chain an ephemeral self-signed key is made and the bundle
	// proves integrity only.
	Signer crypto.Signer
	Chain  []*x509.Certificate
	// TSAURL, when set, is an RFC 3161 time-stamping authority asked for a
	// timestamp over the signature.
	TSAURL string
	// SignerRoots are the roots a signer must chain to for page 1's band
	// to call its identity verified (green is possible only then); nil
	// leaves it "not verifiable".
	SignerRoots *x509.CertPool
	// IncludePersonalData copies an attached document even when it carries
	// a production INS, and keeps the INS values unmasked.
	IncludePersonalData bool
	// Now is the clock (time.Now when nil), for the report's generation time.
	Now func() time.Time
}

// Results is the content of results.json.
type Results struct {
	Schema    string     `json:"schema"`
	Generated time.Time  `json:"generated"`
	Lang      check.Lang `json:"lang"`
	// PS41Met repeats Probe.Met; Verify checks they agree, and agree with
	// the verdict recorded in report.pdf.
	PS41Met bool       `json:"ps41_met"`
	Verdict check.Text `json:"verdict"`
	// EphemeralSigner is true when no signing key was given.
	EphemeralSigner bool `json:"ephemeral_signer"`
	// PersonalDataWithheld is true when the attached document carried a
	// production INS and was left out, INS values masked.
	PersonalDataWithheld bool          `json:"personal_data_withheld"`
	Probe                *probe.Result `json:"probe"`
}

// Write builds a signed evidence bundle (the bare ASiC-E container) for res
// and writes it to w. See docs/evidence-format.md for the layout.
func Write(ctx context.Context, w io.Writer, res *probe.Result, opts Options) error {
	b, err := build(ctx, res, opts)
	if err != nil {
		return err
	}
	_, err = w.Write(b.container)
	return err
}

// built is a signed container and what went into it, so that the PDF
// deliverable can embed the same files and be signed by the same key.
type built struct {
	files     []file // data files, sorted by name, as listed in the manifest
	container []byte
	report    []byte // report.pdf
	results   *Results
	signer    crypto.Signer
	chain     []*x509.Certificate
	// fingerprint is the SHA-256 of results.json, in hexadecimal.
	fingerprint string
}

func build(ctx context.Context, res *probe.Result, opts Options) (*built, error) {
	if res == nil {
		return nil, errors.New("evidence: no probe result")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	lang := opts.Lang
	if lang == "" {
		lang = check.FR
	}
	signer, chain := opts.Signer, opts.Chain
	ephemeral := len(chain) == 0
	if ephemeral {
		var err error
		// The real clock, not opts.Now: the CMS signingTime is always real.
		if signer, chain, err = ephemeralSigner(time.Now()); err != nil {
			return nil, fmt.Errorf("evidence: ephemeral key: %w", err)
		}
	} else if signer == nil {
		return nil, errors.New("evidence: a certificate chain was given without its key")
	}

	personal := personalValues(res.Document)
	withhold := len(personal) > 0 && !opts.IncludePersonalData
	files, err := dataFiles(res, lang, withhold, personal)
	if err != nil {
		return nil, err
	}
	r := *res
	if withhold {
		r.Document = maskedReport(res.Document, personal)
		for i := range files {
			files[i].data = []byte(mask(string(files[i].data), personal))
		}
	}
	results := Results{
		Schema: SchemaResults, Generated: now().UTC(), Lang: lang,
		PS41Met: res.Met, Verdict: verdictText(res.Met),
		EphemeralSigner: ephemeral, PersonalDataWithheld: withhold, Probe: &r,
	}
	resultsJSON, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: results.json: %w", err)
	}
	resultsJSON = append(resultsJSON, '\n')
	if withhold {
		// The subject, check messages and message list repeat the
		// patient's names and birth date (personalValues).
		resultsJSON = []byte(mask(string(resultsJSON), personal))
	}
	// The report is drawn from results.json as written, so the two show
	// the same facts.
	var shown Results
	if err := json.Unmarshal(resultsJSON, &shown); err != nil {
		return nil, fmt.Errorf("evidence: results.json: %w", err)
	}
	sum := sha256.Sum256(resultsJSON)
	rs := reportSigner{Cert: chain[0], Ephemeral: ephemeral, TSA: opts.TSAURL != ""}
	if !ephemeral && opts.SignerRoots != nil {
		_, err := chain[0].Verify(x509.VerifyOptions{Roots: opts.SignerRoots, Intermediates: certPool(chain[1:]), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		rs.Trusted = err == nil
	}
	pdf, err := renderReport(&shown, rs, hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, fmt.Errorf("evidence: report.pdf: %w", err)
	}
	files = append(files, file{nameResults, resultsJSON}, file{nameReport, pdf})
	if withhold {
		if err := noneContains(files, personal); err != nil {
			return nil, err
		}
	}

	manifest := renderManifest(manifestFor(files))
	sig, err := signDetached(ctx, manifest, signer, chain, opts.TSAURL)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	all := []file{{nameMimetype, []byte(mimetypeASiCE)}}
	byName := map[string][]byte{}
	for _, f := range files {
		byName[f.name] = f.data
	}
	for _, n := range sortedNames(files) {
		all = append(all, file{n, byName[n]})
	}
	all = append(all, file{nameManifest, manifest}, file{nameSignature, sig})
	mtime := res.Finished
	if mtime.IsZero() {
		mtime = results.Generated
	}
	var zbuf bytes.Buffer
	if err := writeZip(&zbuf, all, mtime); err != nil {
		return nil, err
	}
	return &built{
		files: all[1 : len(all)-2], container: zbuf.Bytes(), report: pdf, results: &shown,
		signer: signer, chain: chain, fingerprint: hex.EncodeToString(sum[:]),
	}, nil
}

// Names of the data files (docs/evidence-format.md §Layout).
const (
	nameReport  = "report.pdf"
	nameResults = "results.json"
	nameJUnit   = "junit.xml"
	nameCDA     = "cda/report.json"
)

// dataFiles renders everything but results.json and report.pdf.
func dataFiles(res *probe.Result, lang check.Lang, withhold bool, personal []string) ([]file, error) {
	var junit bytes.Buffer
	if err := res.JUnit(lang).Write(&junit); err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", nameJUnit, err)
	}
	files := []file{{nameJUnit, junit.Bytes()}}
	var err error
	for _, t := range []struct {
		name string
		data []byte
	}{{"transcripts/smtp.log", res.SMTPTranscript}, {"transcripts/imap.log", res.IMAPTranscript}} {
		if len(t.data) == 0 {
			continue
		}
		data := t.data
		if withhold {
			data = withholdTranscriptBodies(data)
		}
		files = append(files, file{t.name, data})
	}
	count := map[string]int{}
	for _, m := range res.Messages {
		if len(m.Raw) == 0 {
			continue
		}
		kind := safeKind(m.Kind)
		count[kind]++
		name := "messages/" + kind + ".eml"
		if count[kind] > 1 {
			name = fmt.Sprintf("messages/%s-%d.eml", kind, count[kind])
		}
		raw := m.Raw
		if withhold {
			if raw, err = withholdAttachments(m.Raw, personal); err != nil {
				return nil, fmt.Errorf("evidence: %s: %w", name, err)
			}
		}
		files = append(files, file{name, raw})
	}
	for _, ep := range []struct {
		name  string
		chain [][]byte
	}{{"tls/smtp-chain.pem", res.SMTP.PeerChain}, {"tls/imap-chain.pem", res.IMAP.PeerChain}} {
		if len(ep.chain) == 0 {
			continue
		}
		var b bytes.Buffer
		for _, der := range ep.chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der}) // a bytes.Buffer never fails
		}
		files = append(files, file{ep.name, b.Bytes()})
	}
	if res.Document != nil {
		rep := res.Document
		if withhold {
			rep = maskedReport(rep, personal)
		}
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("evidence: %s: %w", nameCDA, err)
		}
		files = append(files, file{nameCDA, append(b, '\n')})
	}
	if a := res.Attachment; a != nil && !withhold {
		files = append(files, file{"cda/" + safeFileName(a.Name), a.Raw})
	}
	return files, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeKind(k string) string {
	k = unsafeChars.ReplaceAllString(strings.ToLower(k), "-")
	if k == "" || k == "-" {
		return "message"
	}
	return k
}

// safeFileName keeps the base name in a portable alphabet and never lets it
// collide with the CDA report.
func safeFileName(name string) string {
	n := unsafeChars.ReplaceAllString(path.Base(strings.ReplaceAll(name, "\\", "/")), "_")
	n = strings.TrimLeft(n, ".-") // no hidden file, no name read as an option
	if n == "" || n == "report.json" {
		n = "document" + path.Ext(n)
	}
	return n
}

// noneContains refuses to build a bundle in which a production INS or the
// patient's names or birth date would survive the withholding, as bytes or
// as decoded header text: fail closed rather than leak.
func noneContains(files []file, personal []string) error {
	for _, f := range files {
		if containsAny(string(f.data), personal) || containsAny(decodedText(string(f.data)), personal) {
			return fmt.Errorf("evidence: %s still holds personal data (production INS, patient name or birth date) after withholding it; not writing the bundle (use --include-personal-data to keep it deliberately)", f.name)
		}
	}
	return nil
}

func verdictText(met bool) check.Text {
	if met {
		return check.Text{FR: "PS 4.1 atteint", EN: "PS 4.1 met"}
	}
	return check.Text{FR: "PS 4.1 non atteint", EN: "PS 4.1 not met"}
}
