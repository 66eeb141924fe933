package evidence

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

func writeDeliverable(t *testing.T, res *probe.Result, opts Options) []byte {
	t.Helper()
	return written(t, WriteDeliverable, res, opts)
}

// buildFor builds the container and what goes into the deliverable, so a
// test can change one part and sign the PDF as a dishonest signer would.
func buildFor(t *testing.T, res *probe.Result, opts Options) *built {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	b, err := build(context.Background(), res, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pdfOf(t *testing.T, b *built) []byte {
	t.Helper()
	pdf, err := b.deliverable(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

func verifyPDF(t *testing.T, b []byte, opts VerifyOptions) *Verification {
	t.Helper()
	v, err := VerifyDeliverable(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("VerifyDeliverable: %v", err)
	}
	return v
}

func TestDeliverableVerifies(t *testing.T) {
	pki := validPKI(t)
	b := writeDeliverable(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
	v := verifyPDF(t, b, VerifyOptions{Roots: pki.pool()})
	if !v.Valid || !v.Deliverable || v.Container != ContainerName || v.Signer == nil || !v.Signer.Trusted {
		t.Fatalf("valid %v deliverable %v container %q signer %+v problems %v", v.Valid, v.Deliverable, v.Container, v.Signer, v.Problems)
	}
	if len(v.Problems) != 0 {
		t.Errorf("problems on a good deliverable: %v", v.Problems)
	}
	if typ := DSType(b); typ != TypePDF || DSCheck(b) != nil {
		t.Errorf("DS would see %s: %v", typ, DSCheck(b))
	}
	// The fixture records no MSSanté environment: TEST, orange, not
	// acceptable, whatever the signer.
	if v.Colour() != Orange || !strings.HasPrefix(v.Headline(check.FR), "TEST — PS 4.1 atteint") {
		t.Errorf("colour %s, headline %q", v.Colour(), v.Headline(check.FR))
	}
	if ok, why := v.Acceptable(); ok || len(why) == 0 {
		t.Errorf("a test run is acceptable: %v %v", ok, why)
	}
	files, err := ExtractEmbedded(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{ContainerName, "results.json", "junit.xml", "transcripts_smtp.log", "messages_sent.eml", "tls_smtp-chain.pem", "cda_report.json"} {
		if len(files[n]) == 0 {
			t.Errorf("%s not embedded", n)
		}
	}
}

// The outcome, in order, with the colours of the rule: green only for met +
// MSSanté + trusted signer; orange for TEST or an unverifiable signer; red
// for not met or not intact.
func TestOutcomeHeadlineAndColour(t *testing.T) {
	pki := validPKI(t)
	mss := func(met bool) *probe.Result {
		r := loadResult(t)
		r.Environment = probe.Environment{Kind: probe.EnvMSSante}
		r.Met = met
		return r
	}
	for _, tc := range []struct {
		name     string
		res      *probe.Result
		signed   bool
		roots    bool
		colour   Colour
		fr, en   string
		accepted bool
	}{
		{"met mssante trusted", mss(true), true, true, Green,
			"PS 4.1 ATTEINT — environnement MSSanté — dossier intègre, signé par Hôpital Sainte-Émilie de Test (identité vérifiée)",
			"PS 4.1 MET — MSSanté environment — evidence intact, signed by Hôpital Sainte-Émilie de Test (identity verified)", true},
		{"met mssante unverified", mss(true), true, false, Orange,
			"PS 4.1 ATTEINT — environnement MSSanté — dossier intègre, signé par Hôpital Sainte-Émilie de Test (identité non vérifiable)",
			"PS 4.1 MET — MSSanté environment — evidence intact, signed by Hôpital Sainte-Émilie de Test (identity not verifiable)", false},
		{"not met mssante", mss(false), true, true, Red,
			"PS 4.1 NON ATTEINT — environnement MSSanté — dossier intègre",
			"PS 4.1 NOT MET — MSSanté environment — evidence intact", false},
		{"test ephemeral", loadResult(t), false, false, Orange,
			"TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1) — dossier intègre, signé par une clé éphémère (identité non prouvée)",
			"TEST — PS 4.1 met against a test operator (127.0.0.1) — evidence intact, signed with an ephemeral key (identity not proven)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.signed {
				opts.Signer, opts.Chain = pki.key, pki.chain
			}
			vo := VerifyOptions{}
			if tc.roots {
				vo.Roots = pki.pool()
			}
			v := verifyPDF(t, writeDeliverable(t, tc.res, opts), vo)
			if v.Colour() != tc.colour || !strings.HasPrefix(v.Headline(check.FR), tc.fr) || !strings.HasPrefix(v.Headline(check.EN), tc.en) {
				t.Errorf("colour %s\n%s\n%s", v.Colour(), v.Headline(check.FR), v.Headline(check.EN))
			}
			if ok, why := v.Acceptable(); ok != tc.accepted {
				t.Errorf("acceptable %v, %v", ok, why)
			}
		})
	}
}

// pdfHole returns the span of the signature value (the ByteRange's gap).
func pdfHole(t *testing.T, b []byte) (int, int) {
	t.Helper()
	m := anyByteRange.FindSubmatch(b)
	if m == nil {
		t.Fatal("no ByteRange")
	}
	return atoi(m[2]), atoi(m[3])
}

// incrementalUpdate appends a well-formed revision adding an annotation
// to page 1, as a PDF editor would.
func incrementalUpdate(t *testing.T, b []byte) []byte {
	t.Helper()
	pr, err := openPDF(b)
	if err != nil {
		t.Fatal(err)
	}
	size := pr.trailer["Size"].(int64)
	start := bytes.LastIndex(b, []byte("startxref"))
	prev := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(b[start+len("startxref"):])), "%%EOF"))
	out := bytes.Clone(b)
	off := len(out)
	out = fmt.Appendf(out, "%d 0 obj\n<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (ajout) >>\nendobj\n", size)
	x := len(out)
	out = fmt.Appendf(out, "xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root 1 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", size, off, size+1, prev, x)
	return out
}

// Every change is refused, naming what changed.
func TestDeliverableTamper(t *testing.T) {
	pki := validPKI(t)
	good := writeDeliverable(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
	other := loadResult(t)
	other.Token = "another-run"
	otherPDF := writeDeliverable(t, other, Options{Signer: pki.key, Chain: pki.chain})
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x01
		return b
	}
	start, end := pdfHole(t, good)
	for _, tc := range []struct {
		name string
		b    func() []byte
		want string
	}{
		{"byte flipped after the header", func() []byte { return flip(20) }, CodePDFSignatureInvalid},
		{"byte flipped in the middle", func() []byte { return flip(len(good) / 3) }, CodePDFSignatureInvalid},
		{"byte flipped before the signature", func() []byte { return flip(start - 200) }, CodePDFSignatureInvalid},
		{"ByteRange altered", func() []byte { return flip(start - 40) }, CodePDFByteRange},
		{"byte flipped near the end", func() []byte { return flip(len(good) - 60) }, CodePDFSignatureInvalid},
		{"bytes appended", func() []byte { return append(bytes.Clone(good), "\n% note\n"...) }, CodePDFUpdated},
		{"incremental update adding an annotation", func() []byte { return incrementalUpdate(t, good) }, CodePDFUpdated},
		{"signature copied from another deliverable", func() []byte {
			b := bytes.Clone(good)
			os, oe := pdfHole(t, otherPDF)
			if oe-os != end-start {
				t.Fatal("signature spaces differ")
			}
			copy(b[start:end], otherPDF[os:oe])
			return b
		}, CodePDFSignatureInvalid},
		{"embedded file replaced and re-signed", func() []byte {
			bd := buildFor(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
			for i := range bd.files {
				if bd.files[i].name == "junit.xml" {
					bd.files[i].data = append(bytes.Clone(bd.files[i].data), ' ')
				}
			}
			return pdfOf(t, bd)
		}, CodePDFEmbeddedMismatch},
		{"embedded file added and re-signed", func() []byte {
			bd := buildFor(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
			bd.files = append(bd.files, file{"extra.txt", []byte("ajouté")})
			return pdfOf(t, bd)
		}, CodePDFEmbeddedMismatch},
		{"embedded file left out and re-signed", func() []byte {
			bd := buildFor(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
			bd.files = remove(bd.files, "transcripts/smtp.log")
			return pdfOf(t, bd)
		}, CodePDFEmbeddedMismatch},
		{"container swapped for another run's", func() []byte {
			bd := buildFor(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
			bd.container = buildFor(t, other, Options{Signer: pki.key, Chain: pki.chain}).container
			return pdfOf(t, bd)
		}, CodeVerdictMismatch},
		{"PDF signed by another key than the container", func() []byte {
			bd := buildFor(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
			o := validPKI(t)
			bd.signer, bd.chain = o.key, o.chain
			return pdfOf(t, bd)
		}, CodePDFSignerMismatch},
		{"the unsigned report alone", func() []byte { return buildFor(t, loadResult(t), Options{}).report }, CodePDFSignatureMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifyPDF(t, tc.b(), VerifyOptions{Roots: pki.pool()})
			if v.Valid || !hasCode(v, tc.want) {
				t.Errorf("valid %v, problems %v, want %s", v.Valid, v.Problems, tc.want)
			}
			if v.Colour() != Red || !strings.Contains(v.Headline(check.FR), "DOSSIER NON INTÈGRE") {
				t.Errorf("headline %q colour %s", v.Headline(check.FR), v.Colour())
			}
			checkProblemsReadable(t, v)
		})
	}
	if _, err := VerifyDeliverable(bytes.NewReader([]byte("PK\x03\x04")), 4, VerifyOptions{}); err == nil {
		t.Error("a zip was taken for a PDF")
	}
}

// hostilePDF lays objects out with a correct cross-reference table, the
// first object being the catalog.
func hostilePDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// sigReserve and sigPlaceholder are a signature dictionary to fill.
const sigReserve = 4096

var sigPlaceholder = "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 " + byteRangeFill + " " + byteRangeFill + " " + byteRangeFill + "] /Contents <" + strings.Repeat("0", 2*sigReserve) + "> >>"

// signedCatalog is a catalog whose form field 2 is signed by object 3;
// extra is added to the catalog, names is its EmbeddedFiles tree (object 4).
func signedCatalog(extra, names string) []string {
	return []string{"<< /Type /Catalog /AcroForm << /Fields [2 0 R] >> /Names << /EmbeddedFiles 4 0 R >> " + extra + " >>",
		"<< /FT /Sig /V 3 0 R >>", sigPlaceholder, names}
}

// signedHostile is a hostile PDF with a valid signature over all of it,
// as anyone can make with a key of their own, so the verifier parses past
// the signature.
func signedHostile(t testing.TB, objs ...string) []byte {
	t.Helper()
	return signBytes(t, hostilePDF(objs...))
}

// signBytes fills the signature placeholder of pdf with an ephemeral key.
func signBytes(t testing.TB, pdf []byte) []byte {
	t.Helper()
	key, chain, err := ephemeralSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := fillSignature(context.Background(), pdf, sigReserve, &built{signer: key, chain: chain}, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zlibBomb is a FlateDecode stream inflating to n zero bytes.
func zlibBomb(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		zw.Write(chunk[:k])
		n -= k
	}
	zw.Close()
	return buf.Bytes()
}

// A hostile PDF is refused with a named error within 1 s and well under
// 200 MB, before or after a valid signature.
func TestDeliverableHostile(t *testing.T) {
	bomb := zlibBomb(t, 1<<24)
	for _, tc := range []struct {
		name string
		pdf  func() []byte
		want string // in the problem's text
	}{
		{"deep array nesting", func() []byte {
			return signedHostile(t, signedCatalog("/Deep "+strings.Repeat("[", 1<<20), "<< >>")...)
		}, "nesting deeper"},
		{"deep dictionary nesting", func() []byte {
			return signedHostile(t, signedCatalog("/Deep "+strings.Repeat("<< /A ", 1<<18), "<< >>")...)
		}, "nesting deeper"},
		// Depth and items bounds multiply: a signed catalog of 4,000 arrays
		// of 4,095 empty arrays (33 MB) took 2 s and 575 MB, one of 32 MB
		// of small dictionaries 8 s and 1.7 GB.
		{"a million empty arrays", func() []byte {
			return signedHostile(t, signedCatalog("/Wide ["+strings.Repeat("["+strings.Repeat("[]", 4095)+"]", 256)+"]", "<< >>")...)
		}, "values"},
		{"a million small dictionaries", func() []byte {
			return signedHostile(t, signedCatalog("/Wide ["+strings.Repeat("<< /a ["+strings.Repeat("<</a 1>>", 4000)+"] >>", 256)+"]", "<< >>")...)
		}, "values"},
		{"9 MiB of strings", func() []byte {
			return signedHostile(t, signedCatalog("/S [("+strings.Repeat("A", 5<<20)+") <"+strings.Repeat("41", 4<<20)+">]", "<< >>")...)
		}, "strings of more than"},
		{"reference loop in the form field", func() []byte {
			objs := signedCatalog("", "<< >>")
			objs[1] = "<< /FT /Sig /V 2 0 R >>"
			return signedHostile(t, objs...)
		}, "PAdES"},
		{"reference loop in the name tree", func() []byte {
			return signedHostile(t, append(signedCatalog("", "<< /Kids [5 0 R] >>"), "<< /Kids [5 0 R 5 0 R] >>")...)
		}, "deeper than"},
		{"2 GB declared stream", func() []byte {
			return signedHostile(t, append(signedCatalog("", "<< /Names [(a.asice) 5 0 R] >>"), "<< /EF << /F 6 0 R >> >>",
				"<< /Length 2147483648 >>\nstream\nabc\nendstream")...)
		}, "past the end"},
		{"deflate bomb declared as 1 GB", func() []byte {
			return signedHostile(t, append(signedCatalog("", "<< /Names [(a.asice) 5 0 R] >>"), "<< /EF << /F 6 0 R >> >>",
				fmt.Sprintf("<< /Length %d /Filter /FlateDecode /Params << /Size %d >> >>\nstream\n%s\nendstream", len(bomb), 1<<30, bomb))...)
		}, "inflate to more than"},
		{"16 MB deflate bomb declared as 1000 bytes", func() []byte {
			return signedHostile(t, append(signedCatalog("", "<< /Names [(a.asice) 5 0 R] >>"), "<< /EF << /F 6 0 R >> >>",
				fmt.Sprintf("<< /Length %d /Filter /FlateDecode /Params << /Size 1000 >> >>\nstream\n%s\nendstream", len(bomb), bomb))...)
		}, "more than its declared"},
		{"huge object stream", func() []byte {
			return signedHostile(t, append(signedCatalog("", "<< >>"), "<< /Type /ObjStm /N 1000000000 /First 0 /Length 0 >>\nstream\n\nendstream")...)
		}, ".asice containers"},
		{"cross-reference stream", func() []byte {
			return bytes.Replace(hostilePDF("<< >>"), []byte("xref\n0 2"), []byte("XRef\n0 2"), 1)
		}, "signature"},
		{"huge cross-reference subsection", func() []byte {
			return signBytes(t, bytes.Replace(hostilePDF(signedCatalog("", "<< >>")...), []byte("xref\n0 5"), []byte("xref\n0 4000000000"), 1))
		}, "oversized cross-reference"},
		{"many indirections", func() []byte {
			var refs []string
			for i := range 5000 {
				refs = append(refs, fmt.Sprintf("%d 0 R", 5+i%2))
			}
			objs := signedCatalog("", "<< >>")
			objs[0] = "<< /Type /Catalog /AcroForm << /Fields [2 0 R " + strings.Join(refs, " ") + "] >> >>"
			return signedHostile(t, append(objs, "<< /FT /Tx >>", "<< /FT /Tx >>")...)
		}, "more than"},
		{"truncated", func() []byte { return buildFor(t, loadResult(t), Options{}).report[:5000] }, "no PDF signature"},
		{"signed but truncated xref", func() []byte {
			b := hostilePDF(signedCatalog("", "<< >>")...)
			return signBytes(t, bytes.Replace(b, []byte("startxref\n"), []byte("startxref\n9"), 1))
		}, "startxref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdf := tc.pdf()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			v, err := VerifyDeliverable(bytes.NewReader(pdf), int64(len(pdf)), VerifyOptions{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("error %v, want a problem", err)
			}
			if v.Valid || !strings.Contains(fmt.Sprint(v.Problems), tc.want) {
				t.Errorf("problems %v, want one saying %q", v.Problems, tc.want)
			}
			if took > timeBound(time.Second) {
				t.Errorf("took %v", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
				t.Errorf("allocated %d MB", alloc>>20)
			}
		})
	}
}

// Independent tools: poppler's pdfsig says the signature is valid and
// covers the whole document; pdfdetach lists and extracts the embedded
// files; the extracted container passes the openssl script of
// docs/evidence-format.md.
func TestDeliverableWithPoppler(t *testing.T) {
	needTools(t, "pdfsig", "pdfdetach", "openssl", "unzip")
	pki := validPKI(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "preuve.pdf")
	if err := os.WriteFile(good, writeDeliverable(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfsig", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature is Valid.") || !strings.Contains(string(out), "Total document signed") ||
		!strings.Contains(string(out), "ETSI.CAdES.detached") || !strings.Contains(string(out), "SHA-256") {
		t.Errorf("pdfsig: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(good)
	b[len(b)/2] ^= 1
	bad := filepath.Join(dir, "modifie.pdf")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("pdfsig", bad).CombinedOutput(); strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig accepts a modified file:\n%s", out)
	}
	list, err := exec.Command("pdfdetach", "-list", good).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfdetach -list: %v\n%s", err, list)
	}
	for _, n := range []string{ContainerName, "results.json", "transcripts_imap.log", "messages_reply.eml"} {
		if !strings.Contains(string(list), n) {
			t.Errorf("pdfdetach -list lacks %s:\n%s", n, list)
		}
	}
	// As docs/evidence-format.md says: the container is number 1.
	if !strings.Contains(string(list), "1: "+ContainerName+"\n") {
		t.Errorf("the container is not number 1:\n%s", list)
	}
	asice := filepath.Join(dir, "extrait.asice")
	if out, err := exec.Command("pdfdetach", "-save", "1", "-o", asice, good).CombinedOutput(); err != nil {
		t.Fatalf("pdfdetach -save 1: %v\n%s", err, out)
	}
	container, err := os.ReadFile(asice)
	if err != nil {
		t.Fatal(err)
	}
	if DSType(container) != TypeASiCE {
		t.Errorf("the extracted container is %s", DSType(container))
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.root.Raw})
	if out, err := runDocScript(t, docScript(t), container, caPEM); err != nil || !strings.Contains(out, "Bundle OK") {
		t.Errorf("openssl script on the extracted container: %v\n%s", err, out)
	}
}

// The démarches-simplifiées rule: type from the first bytes (ASiC-E before
// plain zip, whatever the name), and the 20 MB limit.
func TestDSCheck(t *testing.T) {
	container := writeBundle(t, loadResult(t), Options{})
	plain := rezip(t, []file{{"a.txt", []byte("x")}})
	for _, tc := range []struct {
		name  string
		data  []byte
		typ   string
		warns int
	}{
		{"deliverable", writeDeliverable(t, loadResult(t), Options{}), TypePDF, 0},
		{"bare container", container, TypeASiCE, 1},
		{"plain zip", plain, TypeZIP, 0},
		{"other", []byte("hello"), TypeOther, 1},
		{"PDF over 20 MB", append([]byte("%PDF-1.7\n"), make([]byte, DSMaxUpload)...), TypePDF, 1},
	} {
		if typ, w := DSType(tc.data), DSCheck(tc.data); typ != tc.typ || len(w) != tc.warns {
			t.Errorf("%s: type %s, warnings %v", tc.name, typ, w)
		}
	}
}

// The band on page 1 is green, orange or red by the rule, and says TEST
// for a run against a test operator.
func TestReportBand(t *testing.T) {
	needTools(t, "pdftoppm", "pdftotext")
	pki := validPKI(t)
	mss := loadResult(t)
	mss.Environment = probe.Environment{Kind: probe.EnvMSSante}
	notMet := loadResult(t)
	notMet.Met = false
	for _, tc := range []struct {
		name  string
		res   *probe.Result
		roots *x509.CertPool
		rgb   [3]uint8
		text  string
	}{
		{"green", mss, pki.pool(), [3]uint8{0x1b, 0x7a, 0x3a}, "PS 4.1 ATTEINT — environnement MSSanté"},
		{"orange", loadResult(t), pki.pool(), [3]uint8{0xb8, 0x5c, 0x00}, "TEST — PS 4.1 atteint contre un opérateur de test"},
		{"red", notMet, pki.pool(), [3]uint8{0xb0, 0x1e, 0x1e}, "TEST — PS 4.1 NON ATTEINT"},
		{"orange when the signer is not verifiable", mss, nil, [3]uint8{0xb8, 0x5c, 0x00}, "identité non vérifiable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "preuve.pdf")
			if err := os.WriteFile(p, writeDeliverable(t, tc.res, Options{Signer: pki.key, Chain: pki.chain, SignerRoots: tc.roots}), 0o600); err != nil {
				t.Fatal(err)
			}
			text, _ := exec.Command("pdftotext", "-l", "1", p, "-").Output()
			if !strings.Contains(strings.Join(strings.Fields(string(text)), " "), tc.text) {
				t.Errorf("page 1 lacks %q:\n%s", tc.text, text)
			}
			ppm, err := exec.Command("pdftoppm", "-r", "72", "-f", "1", "-l", "1", p).Output()
			if err != nil {
				t.Fatal(err)
			}
			img, w := ppmPixels(t, ppm)
			// The band: the first run of 20 rows of one non-white colour
			// near the right margin, below the title.
			x := int(pageW - margin - 2)
			at := func(y int) [3]uint8 { px := img[3*(y*w+x):]; return [3]uint8{px[0], px[1], px[2]} }
			var got [3]uint8
			for y := 40; y < 400; y++ {
				if c := at(y); c != [3]uint8{255, 255, 255} && c == at(y+10) && c == at(y+20) {
					got = c
					break
				}
			}
			if got != tc.rgb {
				t.Errorf("band colour %v, want %v", got, tc.rgb)
			}
		})
	}
}

// With --tsa the deliverable is PAdES B-T: the PDF's CMS and the
// container's each carry a timestamp over their signature.
func TestDeliverableTimestamped(t *testing.T) {
	tsa := startTSA(t)
	pki := validPKI(t)
	b := writeDeliverable(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain, TSAURL: tsa.URL})
	if n := tsa.Requests.Load(); n != 2 {
		t.Errorf("TSA served %d requests, want 2 (container and PDF)", n)
	}
	roots := x509.NewCertPool()
	roots.AddCert(tsa.Root)
	v := verifyPDF(t, b, VerifyOptions{Roots: pki.pool(), TSARoots: roots})
	if !v.Valid || len(v.Problems) > 0 || v.Timestamp == nil || !v.Timestamp.Anchored {
		t.Errorf("valid %v problems %v timestamp %+v", v.Valid, v.Problems, v.Timestamp)
	}
	if _, err := exec.LookPath("pdfsig"); err == nil {
		p := filepath.Join(t.TempDir(), "preuve.pdf")
		os.WriteFile(p, b, 0o600)
		if out, _ := exec.Command("pdfsig", p).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
			t.Errorf("pdfsig:\n%s", out)
		}
	}
}

// TestTestedInWords: page 1's sentence on what was tested agrees with
// itself: a message never accepted is not said to have been sent.
func TestTestedInWords(t *testing.T) {
	accepted := loadResult(t)
	accepted.Met, accepted.Sent = false, time.Now()
	refused := loadResult(t)
	refused.Met, refused.Sent = false, time.Time{}
	for _, tc := range []struct {
		name      string
		res       *probe.Result
		lang      check.Lang
		want, not string
	}{
		{"met", loadResult(t), check.FR, "a été envoyé depuis", "n'a pas pu"},
		{"accepted, no reply", accepted, check.FR, "a été accepté mais aucune réponse", "n'a pas pu"},
		{"refused", refused, check.FR, "devait partir de la messagerie", "a été envoyé"},
		{"refused, English", refused, check.EN, "was to go from the mailbox", "was sent"},
	} {
		if s := testedInWords(tc.res, tc.lang); !strings.Contains(s, tc.want) || strings.Contains(s, tc.not) {
			t.Errorf("%s: %q, want %q and not %q", tc.name, s, tc.want, tc.not)
		}
	}
}

// A deliverable at the size limit is held once: the signed bytes are moved
// in place over the signature value, not copied (with a 63 MiB container
// inflated too, the copy made it 206 MB of RSS).
func TestDeliverableHeldOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 60 MB deliverable")
	}
	pad := bytes.Repeat([]byte("0123456789abcdf\n"), 60<<20/16)
	pdf := signedHostile(t, append(signedCatalog("", "<< >>"), fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(pad), pad))...)
	pad = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, err := VerifyDeliverable(bytes.NewReader(pdf), int64(len(pdf)), VerifyOptions{})
	runtime.ReadMemStats(&after)
	if err != nil || v.Valid {
		t.Fatalf("err %v, valid %v", err, v != nil && v.Valid)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(pdf))*5/4 {
		t.Errorf("a %d-byte deliverable verified with %d MB allocated", len(pdf), alloc>>20)
	}
	for _, p := range v.Problems {
		if p.Code == CodePDFSignatureInvalid || p.Code == CodePDFByteRange {
			t.Errorf("problem %s: %s", p.Code, p.Message.EN)
		}
	}
}
