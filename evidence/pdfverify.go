package evidence

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/msscprobe/msscprobe/check"
)

// Problem codes of the PDF deliverable (docs/evidence-format.md
// §Verification); the container inside keeps its own codes.
const (
	CodePDFStructure        = "pdf-structure"
	CodePDFTooLarge         = "pdf-too-large"
	CodePDFUpdated          = "pdf-updated"
	CodePDFByteRange        = "pdf-byterange"
	CodePDFSignatureMissing = "pdf-signature-missing"
	CodePDFSignatureInvalid = "pdf-signature-invalid"
	CodePDFSignerMismatch   = "pdf-signer-mismatch"
	CodePDFContainerMissing = "pdf-container-missing"
	CodePDFEmbeddedMismatch = "pdf-embedded-mismatch"
)

// pdfLabel is the File of problems about the PDF itself.
const pdfLabel = "PDF"

// IsPDF reports whether data starts like a PDF file.
func IsPDF(head []byte) bool { return bytes.HasPrefix(head, []byte("%PDF-")) }

// VerifyDeliverable checks a PDF deliverable: the PAdES signature covers
// the whole file but its own value, nothing follows it, the CMS digest and
// signature are right; the embedded ASiC-E container verifies in full
// (Verify) and is signed by the same certificate; every embedded file is
// the container's; the verdict recorded in the PDF is the container's. It
// returns an error only when r is not a PDF; everything else is a Problem.
func VerifyDeliverable(r io.ReaderAt, size int64, opts VerifyOptions) (*Verification, error) {
	v := &Verification{Deliverable: true}
	if size > pdfMaxSize {
		v.add(problem(CodePDFTooLarge, pdfLabel, "le fichier fait %d octets, au-delà de la limite de %d", "the file is %d bytes, over the %d limit", size, pdfMaxSize))
		v.finish()
		return v, nil
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if !IsPDF(b) {
		return nil, errors.New("not a PDF file (no %PDF- header)")
	}
	v.verifyPDF(b, opts)
	v.finish()
	return v, nil
}

// finish sets Valid from the problems' severities.
func (v *Verification) finish() {
	v.Valid = true
	for _, p := range v.Problems {
		if p.Severity == check.Error {
			v.Valid = false
		}
	}
}

var anyByteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]`)

func (v *Verification) verifyPDF(b []byte, opts VerifyOptions) {
	pdfProblem := func(code, fr, en string, args ...any) {
		v.add(problem(code, pdfLabel, fr, en, args...))
	}
	rng, ok := v.checkSignedBytes(b)
	if !ok {
		return
	}
	// The bytes are the signer's. Now read them as the deliverable's form,
	// with bounds: anyone can sign a hostile file with a key of their own.
	pr, err := openPDF(b)
	if err != nil {
		pdfProblem(CodePDFStructure, "n'est pas un livrable msscprobe lisible : %v", "not a readable msscprobe deliverable: %v", err)
		return
	}
	for _, k := range []string{"Prev", "XRefStm"} {
		if _, ok := pr.trailer[k]; ok {
			pdfProblem(CodePDFUpdated, "le fichier a plusieurs révisions (/%s) : il a été modifié après sa création", "the file has several revisions (/%s): it was modified after it was made", k)
			return
		}
	}
	if _, ok := pr.trailer["Encrypt"]; ok {
		pdfProblem(CodePDFStructure, "document chiffré", "encrypted document")
		return
	}
	root, err := pr.dictAt(pr.trailer["Root"], "catalog")
	if err == nil {
		err = v.checkSignatureField(pr, root, rng)
	}
	if err != nil {
		pdfProblem(CodePDFStructure, "n'est pas un livrable msscprobe lisible : %v", "not a readable msscprobe deliverable: %v", err)
		return
	}
	if len(v.Problems) > 0 {
		return
	}
	embedded, err := embeddedFiles(pr, root)
	if err != nil {
		pdfProblem(CodePDFStructure, "fichiers joints illisibles : %v", "unreadable embedded files: %v", err)
		return
	}
	subject, _ := pdfInfoText(pr, "Subject")
	v.checkContainer(embedded, subject, opts)
}

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}

// checkSignedBytes finds the one signature's ByteRange in the raw bytes,
// before any parsing a modified file could defeat, and checks that it
// covers the whole file but the signature value, that nothing follows it,
// and that the CMS signs exactly those bytes (ISO 32000-1 §12.8.1, ETSI EN
// 319 142-1 §5.1). A flipped byte anywhere is named here as a change.
func (v *Verification) checkSignedBytes(b []byte) (rng [4]int, ok bool) {
	bad := func(code, fr, en string, args ...any) ([4]int, bool) {
		v.add(problem(code, pdfLabel, fr, en, args...))
		return rng, false
	}
	ms := anyByteRange.FindAllSubmatch(b, 8)
	for _, m := range ms {
		if end := atoi(m[3]) + atoi(m[4]); end < len(b) && end > 0 {
			return bad(CodePDFUpdated, "%d octets ajoutés après la partie signée (mise à jour incrémentale ou ajout) : le fichier a été modifié après sa signature",
				"%d bytes added after the signed part (incremental update or appended data): the file was modified after it was signed", len(b)-end)
		}
	}
	switch {
	case len(ms) == 0:
		return bad(CodePDFSignatureMissing, "aucune signature PDF", "no PDF signature")
	case len(ms) > 1:
		return bad(CodePDFSignatureMissing, "%d signatures PDF, une seule attendue", "%d PDF signatures, want exactly one", len(ms))
	}
	for i := range rng {
		rng[i] = atoi(ms[0][i+1])
	}
	if rng[0] != 0 || rng[1] >= rng[2] || rng[2]+rng[3] != len(b) || b[rng[1]] != '<' || b[rng[2]-1] != '>' {
		return bad(CodePDFByteRange, "la signature ne couvre pas tout le fichier hors sa propre valeur (ByteRange %v)", "the signature does not cover the whole file but its own value (ByteRange %v)", rng)
	}
	value := b[rng[1]+1 : rng[2]-1]
	if len(value) > 2*maxCMSSize+2 || len(value)%2 != 0 {
		return bad(CodePDFSignatureInvalid, "valeur de signature de %d caractères", "signature value of %d characters", len(value))
	}
	raw := make([]byte, len(value)/2)
	if _, err := hex.Decode(raw, value); err != nil {
		return bad(CodePDFSignatureInvalid, "valeur de signature : %v", "signature value: %v", err)
	}
	der, err := cmsFromContents(raw)
	if err != nil {
		return bad(CodePDFSignatureInvalid, "valeur de signature : %v", "signature value: %v", err)
	}
	// The signed bytes are the file without its signature value: moved
	// over the value and back rather than copied, so a 64 MiB deliverable
	// is not held twice (a signed one with a 64 MiB container peaked at
	// 206 MB of RSS).
	hole := bytes.Clone(b[rng[1]:rng[2]])
	copy(b[rng[1]:], b[rng[2]:])
	cert, err := verifyDetachedCMS(der, b[:rng[1]+rng[3]])
	copy(b[rng[2]:], b[rng[1]:rng[1]+rng[3]])
	copy(b[rng[1]:], hole)
	if err != nil {
		return bad(CodePDFSignatureInvalid, "fichier modifié après sa signature, ou signature d'un autre fichier : %v", "file modified after it was signed, or a signature of another file: %v",
			cmsMismatch(err, "les octets signés n'ont plus l'empreinte SHA-256 que la signature atteste", "the signed bytes no longer have the SHA-256 digest the signature attests"))
	}
	fp := sha256.Sum256(cert.Raw)
	v.pdfSigner = hex.EncodeToString(fp[:])
	return rng, true
}

// checkSignatureField finds the one signature field and checks that its
// dictionary is PAdES and that its ByteRange and Contents are the ones
// checkSignedBytes verified. Structural errors are returned; defects are
// added as problems.
func (v *Verification) checkSignatureField(pr *pdfReader, root pdfDict, rng [4]int) error {
	bad := func(code, fr, en string, args ...any) error {
		v.add(problem(code, pdfLabel, fr, en, args...))
		return nil
	}
	acro, err := pr.dictAt(root["AcroForm"], "AcroForm")
	if err != nil {
		return bad(CodePDFSignatureMissing, "aucun champ de signature (%v)", "no signature field (%v)", err)
	}
	fieldsObj, err := pr.resolve(acro["Fields"])
	if err != nil {
		return err
	}
	fields, _ := fieldsObj.(pdfArray)
	var sigs []pdfDict
	for _, f := range fields {
		fd, err := pr.dictAt(f, "form field")
		if err != nil {
			return err
		}
		if fd["FT"] != pdfName("Sig") {
			continue
		}
		sd, err := pr.dictAt(fd["V"], "signature dictionary")
		if err != nil {
			return err
		}
		sigs = append(sigs, sd)
	}
	if len(sigs) != 1 {
		return bad(CodePDFSignatureMissing, "%d champs de signature, un seul attendu", "%d signature fields, want exactly one", len(sigs))
	}
	sd := sigs[0]
	if sd["Filter"] != pdfName(sigFilter) || sd["SubFilter"] != pdfName(sigSubFilter) {
		return bad(CodePDFSignatureInvalid, "signature PDF d'un autre type que PAdES (%v, %v)", "PDF signature of a type other than PAdES (%v, %v)", sd["Filter"], sd["SubFilter"])
	}
	br, _ := sd["ByteRange"].(pdfArray)
	contents, ok := sd["Contents"].(pdfString)
	for i := range br {
		if n, isInt := br[i].(int64); !isInt || len(br) != 4 || n != int64(rng[i]) {
			ok = false
		}
	}
	if !ok || len(br) != 4 || !contents.hex || contents.start != rng[1] || contents.end != rng[2] {
		return bad(CodePDFByteRange, "le champ de signature ne désigne pas la partie signée du fichier", "the signature field does not name the signed part of the file")
	}
	return nil
}

// cmsFromContents cuts the DER CMS out of the zero-padded /Contents value
// and checks it is DER (definite lengths only) within der.go's bounds and
// maxCMSSize.
func cmsFromContents(c []byte) ([]byte, error) {
	end, err := derPrefix(c)
	if err != nil {
		return nil, err
	}
	if end > maxCMSSize {
		return nil, fmt.Errorf("%w: CMS of %d bytes, over the %d limit", ErrCMSLimit, end, maxCMSSize)
	}
	for _, z := range c[end:] {
		if z != 0 {
			return nil, errors.New("bytes after the CMS structure")
		}
	}
	return c[:end], nil
}

// verifyDetachedCMS checks a detached CMS SignedData over content: one
// signer, SHA-256, the messageDigest and signature, the ESS
// signing-certificate-v2 naming the signer (ETSI EN 319 142-1 §6.3).
func verifyDetachedCMS(der, content []byte) (*x509.Certificate, error) {
	p7, err := parseCMS(der)
	if err != nil {
		return nil, fmt.Errorf("unreadable CMS: %w", err)
	}
	if len(p7.Content) != 0 {
		return nil, errors.New("the CMS is not detached")
	}
	cert, err := soleSigner(p7)
	if err != nil {
		return nil, err
	}
	p7.Content = content
	if err := p7.Verify(); err != nil {
		return nil, fmt.Errorf("the signed bytes or the signature do not match: %w", err)
	}
	if err := checkESS(p7, cert); err != nil {
		return nil, err
	}
	// A signature timestamp (B-T) must be a valid token over this
	// signature; whether its authority is trusted is judged on the
	// container's, which carries the same kind of token.
	si := p7.Signers[0]
	for _, a := range si.UnauthenticatedAttributes {
		if a.Type.Equal(oidSignatureTimeStamp) {
			if _, _, err := checkTimestamp(a.Value.Bytes, si.EncryptedDigest); err != nil {
				return nil, fmt.Errorf("signature timestamp: %w", err)
			}
		}
	}
	return cert, nil
}

// embeddedFiles walks the EmbeddedFiles name tree (ISO 32000-1 §7.7.4,
// §7.9.6) and returns each file's name and data.
func embeddedFiles(pr *pdfReader, root pdfDict) (map[string][]byte, error) {
	names, err := pr.dictAt(root["Names"], "catalog /Names")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	budget := int64(pdfMaxDecoded)
	var walk func(node any, depth int) error
	walk = func(node any, depth int) error {
		if depth > pdfMaxTreeDepth {
			return fmt.Errorf("name tree deeper than %d", pdfMaxTreeDepth)
		}
		d, err := pr.dictAt(node, "EmbeddedFiles node")
		if err != nil {
			return err
		}
		if kids, err := pr.resolve(d["Kids"]); err != nil {
			return err
		} else if ka, ok := kids.(pdfArray); ok {
			for _, k := range ka {
				if err := walk(k, depth+1); err != nil {
					return err
				}
			}
		}
		nv, err := pr.resolve(d["Names"])
		if err != nil {
			return err
		}
		na, _ := nv.(pdfArray)
		if len(na)%2 != 0 {
			return errors.New("odd /Names array")
		}
		for i := 0; i < len(na); i += 2 {
			key, ok := na[i].(pdfString)
			if !ok {
				return errors.New("name tree key is not a string")
			}
			name := pdfTextString(key.s)
			if _, dup := out[name]; dup {
				return fmt.Errorf("embedded file %q twice", name)
			}
			if len(out) >= pdfMaxEmbedded {
				return fmt.Errorf("more than %d embedded files", pdfMaxEmbedded)
			}
			fs, err := pr.dictAt(na[i+1], "file specification")
			if err != nil {
				return err
			}
			ef, err := pr.dictAt(fs["EF"], "file specification /EF")
			if err != nil {
				return err
			}
			so, err := pr.resolve(ef["F"])
			if err != nil {
				return err
			}
			st, ok := so.(pdfStream)
			if !ok {
				return fmt.Errorf("embedded file %q is not a stream", name)
			}
			data, err := pr.decode(st, budget)
			if err != nil {
				return err
			}
			budget -= int64(len(data))
			out[name] = data
		}
		return nil
	}
	return out, walk(names["EmbeddedFiles"], 0)
}

// pdfTextString decodes a PDF text string: UTF-16BE with a BOM, or bytes
// read as Latin-1 (PDFDocEncoding agrees with it on printable ASCII and
// Latin-1 letters).
func pdfTextString(b []byte) string {
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		u := make([]uint16, (len(b)-2)/2)
		for k := range u {
			u[k] = uint16(b[2+2*k])<<8 | uint16(b[3+2*k])
		}
		return string(utf16.Decode(u))
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// pdfInfoText reads a text entry of the document information dictionary.
func pdfInfoText(pr *pdfReader, key string) (string, error) {
	info, err := pr.dictAt(pr.trailer["Info"], "document information")
	if err != nil {
		return "", err
	}
	s, ok := info[key].(pdfString)
	if !ok {
		return "", fmt.Errorf("no /%s", key)
	}
	return pdfTextString(s.s), nil
}

// checkContainer verifies the embedded container and checks that it and
// the PDF agree: same signer, same files, same verdict.
func (v *Verification) checkContainer(embedded map[string][]byte, subject string, opts VerifyOptions) {
	var containers []string
	for n := range embedded {
		if strings.HasSuffix(strings.ToLower(n), ".asice") {
			containers = append(containers, n)
		}
	}
	if len(containers) != 1 {
		v.add(problem(CodePDFContainerMissing, pdfLabel, "%d conteneurs .asice joints, un seul attendu", "%d .asice containers embedded, want exactly one", len(containers)))
		return
	}
	name := containers[0]
	data := embedded[name]
	cv, err := Verify(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		v.add(problem(CodePDFContainerMissing, name, "conteneur joint illisible : %v", "unreadable embedded container: %v", err))
		return
	}
	pdfSigner := v.pdfSigner
	problems := v.Problems
	*v = *cv
	v.Deliverable, v.Container, v.pdfSigner = true, name, pdfSigner
	for i := range v.Problems {
		v.Problems[i].File = name + "/" + v.Problems[i].File
	}
	v.Problems = append(problems, v.Problems...)
	if v.Signer == nil || v.Signer.SHA256 != pdfSigner {
		v.add(problem(CodePDFSignerMismatch, pdfLabel, "le PDF et le conteneur joint ne sont pas signés par le même certificat", "the PDF and the embedded container are not signed by the same certificate"))
	}
	if v.digests != nil {
		byEmbedded := map[string]string{}
		for m := range v.digests {
			byEmbedded[embeddedName(m)] = m
		}
		var names []string
		for n := range embedded {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if n == name {
				continue
			}
			m, ok := byEmbedded[n]
			if !ok {
				v.add(problem(CodePDFEmbeddedMismatch, n, "fichier joint au PDF absent du dossier signé", "file embedded in the PDF but not in the signed container"))
				continue
			}
			if sum := sha256.Sum256(embedded[n]); !bytes.Equal(sum[:], v.digests[m]) {
				v.add(problem(CodePDFEmbeddedMismatch, n, "fichier joint au PDF différent de celui du dossier signé", "file embedded in the PDF differs from the signed container's"))
			}
		}
		var members []string
		for m := range v.digests {
			members = append(members, m)
		}
		sort.Strings(members)
		for _, m := range members {
			if _, ok := embedded[embeddedName(m)]; !ok && m != nameReport {
				v.add(problem(CodePDFEmbeddedMismatch, m, "fichier du dossier signé absent des fichiers joints au PDF", "file of the signed container not embedded in the PDF"))
			}
		}
	}
	if v.Fingerprint != "" {
		if want := pdfSubject(v.PS41Met, v.Token, v.Fingerprint); subject != want {
			v.add(problem(CodeVerdictMismatch, pdfLabel, "les pages du PDF et le conteneur joint ne concordent pas (PDF : %q)", "the PDF's pages and the embedded container disagree (PDF: %q)", subject))
		}
	}
}

// ExtractEmbedded returns the files embedded in a PDF deliverable, by
// attachment name, read with the same bounds as VerifyDeliverable. It does
// not check the signature: use VerifyDeliverable for that.
func ExtractEmbedded(pdf []byte) (map[string][]byte, error) {
	if len(pdf) > pdfMaxSize {
		return nil, fmt.Errorf("the file is %d bytes, over the %d limit", len(pdf), pdfMaxSize)
	}
	pr, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	root, err := pr.dictAt(pr.trailer["Root"], "catalog")
	if err != nil {
		return nil, err
	}
	return embeddedFiles(pr, root)
}
