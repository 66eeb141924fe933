package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
	"github.com/msscprobe/msscprobe/trust"
)

// Problem codes. They are stable: scripts may match on them
// (docs/evidence-format.md §Verification).
const (
	CodeLayout              = "layout"
	CodeUnsafePath          = "unsafe-path"
	CodeUnsafeEntry         = "unsafe-entry"
	CodeDuplicateEntry      = "duplicate-entry"
	CodeEntryTooLarge       = "entry-too-large"
	CodeTooManyEntries      = "too-many-entries"
	CodeZipStructure        = "zip-structure"
	CodeZipField            = "zip-field"
	CodeManifestMissing     = "manifest-missing"
	CodeManifestInvalid     = "manifest-invalid"
	CodeFileMissing         = "file-missing"
	CodeFileUnlisted        = "file-unlisted"
	CodeDigestMismatch      = "digest-mismatch"
	CodeSignatureMissing    = "signature-missing"
	CodeSignatureInvalid    = "signature-invalid"
	CodeSignerExpired       = "signer-expired"
	CodeSignerUntrusted     = "signer-untrusted"
	CodeSignerEphemeral     = "signer-ephemeral"
	CodeSignerNotChecked    = "signer-not-checked"
	CodeTimestampInvalid    = "timestamp-invalid"
	CodeTimestampUntrusted  = "timestamp-untrusted"
	CodeTimestampNotChecked = "timestamp-not-checked"
	CodeResultsInvalid      = "results-invalid"
	CodeReportInvalid       = "report-invalid"
	CodeVerdictMismatch     = "verdict-mismatch"
)

// warningCodes leave the bundle valid: they limit what it proves.
var warningCodes = map[string]bool{CodeSignerEphemeral: true, CodeSignerNotChecked: true, CodeTimestampNotChecked: true}

// Problem is one thing wrong with (error) or limiting (warning) a bundle.
type Problem struct {
	Code     string         `json:"code"`
	Severity check.Severity `json:"severity"`
	File     string         `json:"file,omitempty"`
	Message  check.Text     `json:"message"`
}

func problem(code, file, fr, en string, args ...any) Problem {
	sev := check.Error
	if warningCodes[code] {
		sev = check.Warning
	}
	return Problem{Code: code, Severity: sev, File: file, Message: check.Textf(fr, en, args...)}
}

// cmsMismatch words a CMS verification error for the report: the
// library's digest mismatch is a multi-line English dump, the commonest
// tamper case, so it is said in the reader's language on one line.
func cmsMismatch(err error, fr, en string) check.Text {
	if md := (*pkcs7.MessageDigestMismatchError)(nil); errors.As(err, &md) {
		return check.Text{FR: fr, EN: en}
	}
	return check.Text{FR: check.ErrorText(err, check.FR), EN: check.ErrorText(err, check.EN)}
}

// VerifyOptions controls Verify.
type VerifyOptions struct {
	// Roots anchors the signer's chain; nil reports the signer as not
	// checked (a warning).
	Roots *x509.CertPool
	// TSARoots anchors the timestamp authority; nil reports the timestamp
	// as not anchored (a warning).
	TSARoots *x509.CertPool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Anchors classify the signer (IGC-Santé production or TEST, …) and
	// say whose structure it is (signer.go); nil skips that.
	Anchors *trust.Anchors
	// Context, when set, stops the reading of members when it ends;
	// Verify then returns its error.
	Context context.Context
}

// Signer describes the certificate that signed the manifest.
type Signer struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
	// Trusted is true when the chain verified against VerifyOptions.Roots.
	Trusted bool `json:"trusted"`
}

// Timestamp describes a verified RFC 3161 signature timestamp.
type Timestamp struct {
	Time     time.Time `json:"time"`
	TSA      string    `json:"tsa"`
	Anchored bool      `json:"anchored"`
}

// Verification is the outcome of Verify.
type Verification struct {
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems"`
	// Signer is nil when the signature could not be read.
	Signer    *Signer `json:"signer,omitempty"`
	Ephemeral bool    `json:"ephemeral_signer"`
	// SigningTime is the time the signer states (CMS signingTime).
	SigningTime time.Time  `json:"signing_time,omitzero"`
	Timestamp   *Timestamp `json:"timestamp,omitempty"`
	// The run, from results.json (zero when it could not be read).
	PS41Met              bool                `json:"ps41_met"`
	Verdict              check.Text          `json:"verdict"`
	Establishment        probe.Establishment `json:"establishment"`
	Date                 time.Time           `json:"date,omitzero"`
	Target               string              `json:"target,omitempty"`
	Servers              []string            `json:"servers,omitempty"`
	PersonalDataWithheld bool                `json:"personal_data_withheld"`
	// Fingerprint is the SHA-256 of results.json, also printed in report.pdf.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Token is the run's probe token: two files with the same token or
	// fingerprint record the same run.
	Token string `json:"token,omitempty"`
	// Environment is the run's environment as results.json records it;
	// anything but probe.EnvMSSante (an empty kind from an older bundle
	// too) reads as a test bed.
	Environment probe.Environment `json:"environment"`
	// TestAddresses and TestAnchors show a test bed at a glance: loopback
	// or private addresses dialled, server roots other than IGC-Santé
	// production.
	TestAddresses []string `json:"test_addresses,omitempty"`
	TestAnchors   []string `json:"test_anchors,omitempty"`
	Files         []string `json:"files,omitempty"`
	// Deliverable is true for a PDF deliverable; Container names the
	// ASiC-E container embedded in it.
	Deliverable bool   `json:"deliverable"`
	Container   string `json:"container,omitempty"`

	pdfSigner string            // SHA-256 of the PDF signer's certificate
	digests   map[string][]byte // manifest: file name → SHA-256
	// Identity is who the signer is as IGC-Santé certifies it (signer.go).
	Identity *SignerIdentity `json:"signer_identity,omitempty"`

	signerCert  *x509.Certificate   // the signer, once its signature verified
	signerChain []*x509.Certificate // the other certificates of the CMS
	signedAt    time.Time           // when its validity is judged
}

func (v *Verification) add(p ...Problem) { v.Problems = append(v.Problems, p...) }

// Verify checks a bundle: container layout, every digest, no file missing
// or added, the CMS signature and its ESS attribute, the signer chain, the
// timestamp, and that results.json and report.pdf agree. It returns an
// error only when r is not a readable ZIP; everything else is a Problem.
// Nothing is written to disk.
func Verify(r io.ReaderAt, size int64, opts VerifyOptions) (*Verification, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	v := &Verification{}
	members, first, probs, err := readBundle(ctx, r, size)
	if err != nil {
		return nil, err
	}
	v.add(probs...)
	if len(probs) == 0 {
		v.verifyContent(members, first, opts, now())
	}
	v.finish()
	return v, nil
}

func (v *Verification) verifyContent(members []member, first *zip.File, opts VerifyOptions, now time.Time) {
	byName := map[string][]byte{} // the members in keptCaps
	sums := map[string][sha256.Size]byte{}
	for _, m := range members {
		if m.data != nil {
			byName[m.name] = m.data
		}
		sums[m.name] = m.sum
		v.Files = append(v.Files, m.name)
	}
	if first == nil || first.Name != nameMimetype || first.Method != zip.Store || first.Flags&0x8 != 0 || len(first.Extra) != 0 || !bytes.Equal(byName[nameMimetype], []byte(mimetypeASiCE)) || dataOffset(first) != 38 {
		v.add(problem(CodeLayout, nameMimetype, "la première entrée doit être « mimetype », non compressée, sans champ extra ni descripteur de données, contenant %s", "the first entry must be \"mimetype\", stored, with no extra field or data descriptor, holding %s", mimetypeASiCE))
	}
	manifest, ok := byName[nameManifest]
	if !ok {
		v.add(problem(CodeManifestMissing, nameManifest, "manifeste absent", "manifest missing"))
	} else if refs, err := parseManifest(manifest); err != nil {
		v.add(problem(CodeManifestInvalid, nameManifest, "manifeste invalide : %v", "invalid manifest: %v", err))
	} else {
		v.checkDigests(refs, sums)
		v.digests = map[string][]byte{}
		for _, r := range refs {
			v.digests[r.URI] = r.Digest
		}
	}
	sig, ok := byName[nameSignature]
	if !ok {
		v.add(problem(CodeSignatureMissing, nameSignature, "signature absente", "signature missing"))
	} else if manifest != nil {
		v.checkSignature(sig, manifest, opts, now)
	}
	v.checkResults(byName)
	v.checkSignerIdentity(opts)
}

func (v *Verification) checkDigests(refs []manifestRef, sums map[string][sha256.Size]byte) {
	listed := map[string]bool{}
	for _, r := range refs {
		listed[r.URI] = true
		sum, ok := sums[r.URI]
		if !ok {
			v.add(problem(CodeFileMissing, r.URI, "fichier listé dans le manifeste mais absent de l'archive", "file listed in the manifest but missing from the archive"))
			continue
		}
		if !bytes.Equal(sum[:], r.Digest) {
			v.add(problem(CodeDigestMismatch, r.URI, "contenu modifié : l'empreinte SHA-256 ne correspond pas au manifeste", "content modified: SHA-256 digest does not match the manifest"))
		}
	}
	for _, n := range v.Files {
		if !containerFile(n) && !listed[n] {
			v.add(problem(CodeFileUnlisted, n, "fichier ajouté : absent du manifeste signé", "added file: not in the signed manifest"))
		}
	}
}

func (v *Verification) checkSignature(sig, manifest []byte, opts VerifyOptions, now time.Time) {
	bad := func(fr, en string, args ...any) {
		v.add(problem(CodeSignatureInvalid, nameSignature, fr, en, args...))
	}
	p7, err := parseCMS(sig)
	if err != nil {
		bad("signature CMS illisible : %v", "unreadable CMS signature: %v", err)
		return
	}
	cert, err := soleSigner(p7)
	if err != nil {
		bad("%v", "%v", err)
		return
	}
	si := p7.Signers[0]
	fp := sha256.Sum256(cert.Raw)
	v.Signer = &Signer{Subject: cert.Subject.String(), Issuer: cert.Issuer.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, SHA256: hex.EncodeToString(fp[:])}
	v.Ephemeral = IsEphemeral(cert)
	_ = p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &v.SigningTime)
	p7.Content = manifest
	if err := p7.Verify(); err != nil {
		var st *pkcs7.SigningTimeNotValidError
		if errors.As(err, &st) {
			v.add(problem(CodeSignerExpired, nameSignature, "certificat du signataire hors de sa période de validité à la date de signature (%s, valide du %s au %s)",
				"signer certificate outside its validity period at signing time (%s, valid %s to %s)", day(st.SigningTime), day(st.NotBefore), day(st.NotAfter)))
			return
		}
		bad("la signature ne correspond pas au manifeste : %v", "the signature does not match the manifest: %v",
			cmsMismatch(err, "son empreinte SHA-256 n'est pas celle que la signature atteste", "its SHA-256 digest is not the one the signature attests"))
		return
	}
	if err := checkESS(p7, cert); err != nil {
		bad("%v", "%v", err)
		return
	}

	at := now
	var token []byte
	for _, a := range si.UnauthenticatedAttributes {
		if a.Type.Equal(oidSignatureTimeStamp) {
			token = a.Value.Bytes // the SET's content: one TimeStampToken
		}
	}
	// Only an anchored timestamp may move the validation time into the
	// past: anyone can make a TSA that states any time, so an unanchored
	// one must not rescue an expired signer (docs/evidence-format.md §6).
	if ts := v.verifyTimestamp(token, si.EncryptedDigest, opts.TSARoots); ts != nil && ts.Anchored {
		at = ts.Time
	}
	v.signerCert, v.signerChain, v.signedAt = cert, p7.Certificates, at
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		p := problem(CodeSignerExpired, nameSignature, "certificat du signataire expiré ou pas encore valide au %s (valide du %s au %s)",
			"signer certificate expired or not yet valid on %s (valid %s to %s)", day(at), day(cert.NotBefore), day(cert.NotAfter))
		if v.Timestamp != nil && !v.Timestamp.Anchored {
			p.Message.FR += " ; l'horodatage n'est retenu que rattaché à une autorité fournie (--tsa-ca)"
			p.Message.EN += "; the timestamp counts only when anchored in the given roots (--tsa-ca)"
		}
		v.add(p)
		return
	}
	if v.Ephemeral {
		v.add(problem(CodeSignerEphemeral, nameSignature, "signé avec une clé éphémère : le dossier prouve l'intégrité des fichiers, pas l'identité de son auteur",
			"signed with an ephemeral key: the bundle proves the files' integrity, not who made it"))
	}
	if opts.Roots == nil {
		if !v.Ephemeral && opts.Anchors == nil {
			v.add(problem(CodeSignerNotChecked, nameSignature, "aucune autorité de confiance fournie (--ca) : identité du signataire non vérifiée",
				"no trust anchor given (--ca): signer identity not checked"))
		}
		return
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: opts.Roots, Intermediates: certPool(p7.Certificates), CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		v.add(problem(CodeSignerUntrusted, nameSignature, "le signataire (%s) ne se rattache pas aux autorités fournies : %v",
			"the signer (%s) does not chain to the given roots: %v", cert.Subject, err))
		return
	}
	v.Signer.Trusted = true
}

// soleSigner returns the certificate of a CMS's one signer, which must
// have used SHA-256 (docs/evidence-format.md §META-INF/signature.p7s); the error is bilingual.
func soleSigner(p7 *pkcs7.PKCS7) (*x509.Certificate, error) {
	if len(p7.Signers) != 1 {
		return nil, check.Errorf("%d signataires, un seul attendu", "%d signers, want exactly one", len(p7.Signers))
	}
	if alg := p7.Signers[0].DigestAlgorithm.Algorithm; !alg.Equal(pkcs7.OIDDigestAlgorithmSHA256) {
		return nil, check.Errorf("algorithme d'empreinte %v, SHA-256 attendu", "digest algorithm %v, want SHA-256", alg)
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return nil, check.Errorf("certificat du signataire absent", "signer certificate missing")
	}
	return cert, nil
}

// verifyTimestamp verifies the signature-time-stamp token when present
// and returns it, nil when absent or invalid.
func (v *Verification) verifyTimestamp(token, signature []byte, roots *x509.CertPool) *Timestamp {
	if token == nil {
		return nil
	}
	info, p7, err := checkTimestamp(token, signature)
	if err != nil {
		v.add(problem(CodeTimestampInvalid, nameSignature, "horodatage invalide : %v", "invalid timestamp: %v", err))
		return nil
	}
	tsa := p7.GetOnlySigner()
	ts := &Timestamp{Time: info.GenTime, TSA: tsa.Subject.String()}
	if roots == nil {
		v.add(problem(CodeTimestampNotChecked, nameSignature, "autorité d'horodatage non rattachée à une autorité de confiance (--tsa-ca)",
			"timestamp authority not checked against a trust anchor (--tsa-ca)"))
	} else {
		if _, err := tsa.Verify(x509.VerifyOptions{Roots: roots, Intermediates: certPool(p7.Certificates), CurrentTime: info.GenTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
			v.add(problem(CodeTimestampUntrusted, nameSignature, "l'autorité d'horodatage (%s) ne se rattache pas aux autorités fournies : %v",
				"the timestamp authority (%s) does not chain to the given roots: %v", tsa.Subject, err))
			return nil
		}
		ts.Anchored = true
	}
	v.Timestamp = ts
	return ts
}

func (v *Verification) checkResults(byName map[string][]byte) {
	data, ok := byName[nameResults]
	if !ok {
		v.add(problem(CodeResultsInvalid, nameResults, "results.json absent", "results.json missing"))
		return
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil || res.Schema != SchemaResults || res.Probe == nil {
		v.add(problem(CodeResultsInvalid, nameResults, "illisible ou schéma autre que %s", "unreadable or schema other than %s", SchemaResults))
		return
	}
	p := res.Probe
	v.PS41Met, v.Verdict, v.Establishment, v.Date, v.Target = res.PS41Met, verdictText(res.PS41Met), p.Establishment, p.Started, p.Target
	v.PersonalDataWithheld = res.PersonalDataWithheld
	v.Token, v.Environment = p.Token, p.Environment
	v.TestAddresses, v.TestAnchors = testBed(p)
	for _, e := range []struct {
		proto string
		probe.Endpoint
	}{{"SMTP", p.SMTP}, {"IMAP", p.IMAP}} {
		if e.Host != "" {
			v.Servers = append(v.Servers, fmt.Sprintf("%s %s:%d", e.proto, e.Host, e.Port))
		}
	}
	sum := sha256.Sum256(data)
	v.Fingerprint = hex.EncodeToString(sum[:])
	if res.PS41Met != p.Met {
		v.add(problem(CodeVerdictMismatch, nameResults, "results.json se contredit sur le verdict PS 4.1", "results.json contradicts itself on the PS 4.1 verdict"))
	}
	pdf, ok := byName[nameReport]
	if !ok {
		v.add(problem(CodeReportInvalid, nameReport, "report.pdf absent", "report.pdf missing"))
		return
	}
	subject, err := pdfInfoSubject(pdf)
	if err != nil {
		v.add(problem(CodeReportInvalid, nameReport, "verdict du rapport illisible : %v", "cannot read the report's verdict: %v", err))
		return
	}
	if want := pdfSubject(res.PS41Met, p.Token, v.Fingerprint); subject != want {
		v.add(problem(CodeVerdictMismatch, nameReport, "le rapport PDF et results.json ne concordent pas (rapport : %q)", "report.pdf and results.json disagree (report: %q)", subject))
	}
}

// pdfInfoSubject reads /Subject from the report's document information
// dictionary with the deliverable's bounded reader (pdfread.go).
func pdfInfoSubject(pdf []byte) (string, error) {
	pr, err := openPDF(pdf)
	if err != nil {
		return "", err
	}
	s, err := pdfInfoText(pr, "Subject")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(s, pdfSubjectPrefix+";") {
		return "", fmt.Errorf("/Subject %q is not a msscprobe verdict", s)
	}
	return s, nil
}

// certPool holds certificates given with a signer (a CMS's, a chain's
// tail) as intermediates.
func certPool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// dataOffset is where f's content starts, -1 when unknown.
func dataOffset(f *zip.File) int64 {
	off, err := f.DataOffset()
	if err != nil {
		return -1
	}
	return off
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
