package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (CI installs it)", tool)
		}
	}
}

// docScript returns the shell commands that docs/evidence-format.md gives
// for verifying a bundle with standard tools, exactly as written there.
func docScript(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/evidence-format.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	begin, end := strings.Index(s, "<!-- openssl-verify:begin -->"), strings.Index(s, "<!-- openssl-verify:end -->")
	if begin < 0 || end < begin {
		t.Fatal("openssl-verify markers missing from docs/evidence-format.md")
	}
	block := s[begin:end]
	i, j := strings.Index(block, "```sh\n"), strings.LastIndex(block, "```")
	return block[i+len("```sh\n") : j]
}

func runDocScript(t *testing.T, script string, bundle []byte, caPEM []byte) (string, error) {
	t.Helper()
	dir := t.TempDir()
	bpath, capath := filepath.Join(dir, "bundle.zip"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(bpath, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capath, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BUNDLE="+bpath, "CA="+capath, "TMPDIR="+dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The README's promise: a bundle verifies with openssl alone, and a
// tampered one does not.
func TestOpenSSLVerifiesAsDocumented(t *testing.T) {
	needTools(t, "openssl", "unzip", "awk")
	script := docScript(t)
	pki := validPKI(t)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.root.Raw})
	good := writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
	out, err := runDocScript(t, script, good, caPEM)
	if err != nil || !strings.Contains(out, "CMS Verification successful") || !strings.Contains(out, "Bundle OK") {
		t.Fatalf("documented commands failed on a good bundle: %v\n%s", err, out)
	}

	fs := members(t, good)
	for i, f := range fs {
		if f.name == "results.json" {
			fs[i].data = bytes.Replace(f.data, []byte(`"ps41_met": true`), []byte(`"ps41_met": false`), 1)
		}
	}
	if out, err := runDocScript(t, script, rezip(t, fs), caPEM); err == nil || !strings.Contains(out, "MODIFIED: results.json") {
		t.Errorf("tampered bundle passed the documented commands:\n%s", out)
	}
	other := validPKI(t)
	wrongCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.root.Raw})
	if out, err := runDocScript(t, script, good, wrongCA); err == nil || strings.Contains(out, "Bundle OK") {
		t.Errorf("wrong CA passed the documented commands:\n%s", out)
	}
	// The ESS attribute and SHA-256 are what openssl sees.
	sig := filepath.Join(t.TempDir(), "sig.p7s")
	for _, f := range fs {
		if f.name == nameSignature {
			os.WriteFile(sig, f.data, 0o600)
		}
	}
	dump, err := exec.Command("openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", sig).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sha256", "id-smime-aa-signingCertificateV2", "signingTime"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("openssl cms -print lacks %q", want)
		}
	}
	if strings.Contains(string(dump), "sha1") {
		t.Error("SHA-1 in the signature (smallstep/pkcs7 default not overridden)")
	}
}

// The PDF carries the verdict and the key facts, with accents intact, in
// both languages.
func TestReportText(t *testing.T) {
	needTools(t, "pdftotext")
	failed := loadResult(t)
	failed.Met = false
	failed.Steps[3].Status = "fail"
	failed.Steps[3].Checks[0].Status = "fail"
	failed.Steps[3].Checks[0].Message = check.Text{FR: "Aucune réponse corrélée reçue en 5 min", EN: "No correlated reply within 5 min"}
	for _, tc := range []struct {
		name string
		res  func() Options
		met  bool
		lang check.Lang
		want []string
	}{
		{"fr met ephemeral", func() Options { return Options{} }, true, check.FR, []string{
			"TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1)", "Hôpital Sainte-Émilie de Test", "010000016", "probe@hopital.test.mssante.fr",
			"2026-05-04 10:00:00 UTC", "2,5 s", "SMTP 127.0.0.1:587 (STARTTLS, TLS 1.3)", "IMAP 127.0.0.1:143",
			"Réception de la réponse", "réussi", "INS qualifié", "clé éphémère", "Détail des vérifications",
			"SMTP-TLS-001", "[Ref#2", "INS de production", "***************"}},
		{"fr test bed with its reasons", func() Options { return Options{} }, true, check.FR, []string{
			"TEST — PS 4.1 atteint contre un opérateur de test", "Pourquoi « TEST »", "serveur SMTP sur une adresse de bouclage"}},
		{"en not met", func() Options { return Options{Lang: check.EN} }, false, check.EN, []string{
			"TEST — PS 4.1 NOT MET", "No correlated reply within 5 min", "Establishment", "failed", "ephemeral key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := loadResult(t)
			if !tc.met {
				res = failed
			}
			if strings.Contains(tc.name, "reasons") {
				for _, r := range []string{"serveur SMTP sur une adresse de bouclage (127.0.0.1)", "serveur IMAP sur une adresse de bouclage (127.0.0.1)",
					"certificat du serveur SMTP émis par une autorité privée", "certificat du serveur IMAP émis par une autorité privée",
					"destinataire hors de patient.mssante.fr", "réponse non reçue de patient.mssante.fr"} {
					res.Environment.Reasons = append(res.Environment.Reasons, check.Text{FR: r, EN: r})
				}
				res.Environment.Kind = probe.EnvTest
			}
			fs := members(t, writeBundle(t, res, tc.res()))
			var pdf []byte
			for _, f := range fs {
				if f.name == nameReport {
					pdf = f.data
				}
			}
			p := filepath.Join(t.TempDir(), "report.pdf")
			if err := os.WriteFile(p, pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdftotext", "-layout", p, "-").CombinedOutput()
			if err != nil {
				t.Fatalf("pdftotext: %v\n%s", err, out)
			}
			text := string(out)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("report lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, testNIR) {
				t.Error("report shows the production INS")
			}
			first, _ := exec.Command("pdftotext", "-f", "1", "-l", "1", p, "-").Output()
			if !strings.Contains(string(first), tc.want[0]) {
				t.Errorf("outcome not on page 1:\n%s", first)
			}
			// Page 1 is the whole one-page report: it ends with the
			// fingerprint and how to verify.
			for _, w := range []string{"msscprobe verify", groupHex(fmt.Sprintf("%x", sha256.Sum256(resultsOf(t, fs))))[:8]} {
				if !strings.Contains(string(first), w) {
					t.Errorf("page 1 lacks %q:\n%s", w, first)
				}
			}
			// Page 1 is for a reviewer: no raw server reply, no rule IDs,
			// and in French no English words of the details.
			unwanted := []string{"SMTP-", "No correlated", "STARTTLS"}
			if tc.lang == check.FR {
				unwanted = append(unwanted, "passed", "failed", "Establishment", "UTC")
			}
			for _, u := range unwanted {
				if strings.Contains(string(first), u) {
					t.Errorf("page 1 shows %q:\n%s", u, first)
				}
			}
			// A server reply such as "250 2.0.0 Ok" (RFC 3463 enhanced
			// code); a bare "250 " would also match the hex fingerprint.
			if m := smtpReply.FindString(string(first)); m != "" {
				t.Errorf("page 1 shows a server reply %q:\n%s", m, first)
			}
		})
	}
}

var smtpReply = regexp.MustCompile(`\b[2-5][0-9][0-9][ -][2-5]\.[0-9]{1,3}\.[0-9]{1,3}\b`)

// Nothing on any page rises above or falls below the margins or runs off
// the right edge, the verdict sits inside its banner (not clipped at its
// top edge), and a label never leaves a page nearly empty by breaking
// away from its value: every page but the last is at least half full.
func TestReportLayout(t *testing.T) {
	needTools(t, "pdftotext")
	res := loadResult(t)
	for i := range res.Steps { // enough checks for several page breaks
		for range 3 {
			res.Steps[i].Checks = append(res.Steps[i].Checks, res.Steps[i].Checks...)
		}
	}
	var pdf []byte
	for _, f := range members(t, writeBundle(t, res, Options{})) {
		if f.name == nameReport {
			pdf = f.data
		}
	}
	p := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-bbox", p, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	word := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
	pages := strings.Split(string(out), "<page ")[1:]
	if len(pages) < 3 {
		t.Fatalf("%d pages, want several", len(pages))
	}
	num := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	var prevBottom, verdictTop, verdictBottom float64
	var bottoms []float64 // of the words of page 1, in order
	for i, pg := range pages {
		bottom := 0.0
		for _, m := range word.FindAllStringSubmatch(pg, -1) {
			x0, y0, x1, y1 := num(m[1]), num(m[2]), num(m[3]), num(m[4])
			if y0 < margin-1 || y1 > pageH-margin+1 || x0 < margin-1 || x1 > pageW-margin+1 {
				t.Errorf("page %d: %q at (%.0f,%.0f)-(%.0f,%.0f) outside the margins", i+1, m[5], x0, y0, x1, y1)
			}
			if i == 0 && m[5] == "TEST" && verdictTop == 0 && len(bottoms) > 0 {
				verdictTop, verdictBottom, prevBottom = y0, y1, bottoms[len(bottoms)-1] // the subtitle's last word
			}
			bottoms = append(bottoms, y1)
			bottom = max(bottom, y1)
		}
		if i < len(pages)-1 && bottom < pageH/2 {
			t.Errorf("page %d is nearly empty (text ends at %.0f of %.0f)", i+1, bottom, pageH)
		}
	}
	// The verdict's text box lies inside the coloured banner: the pixels
	// just above and below it are the banner's, not the white page.
	if verdictTop == 0 || prevBottom >= verdictTop {
		t.Fatalf("verdict not found below the subtitle on page 1")
	}
	needTools(t, "pdftoppm")
	ppm, err := exec.Command("pdftoppm", "-r", "72", "-f", "1", "-l", "1", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	img, w := ppmPixels(t, ppm)
	x := int(margin) + 4
	for _, y := range []int{int(verdictTop) - 2, int(verdictBottom) + 2} {
		if px := img[3*(y*w+x):][:3]; px[0] > 200 && px[1] > 200 && px[2] > 200 {
			t.Errorf("page 1 is white at (%d,%d), next to the verdict text: the text is not inside its banner", x, y)
		}
	}
}

// ppmPixels returns the RGB bytes and width of a binary PPM (P6, 8 bits).
func ppmPixels(t *testing.T, ppm []byte) ([]byte, int) {
	t.Helper()
	f := strings.Fields(string(ppm[:min(len(ppm), 32)]))
	if len(f) < 4 || f[0] != "P6" || f[3] != "255" {
		t.Fatalf("not an 8-bit P6 PPM: %q", f)
	}
	w, _ := strconv.Atoi(f[1])
	h, _ := strconv.Atoi(f[2])
	return ppm[len(ppm)-3*w*h:], w
}

// resultsOf returns results.json from a bundle's members.
func resultsOf(t *testing.T, fs []file) []byte {
	t.Helper()
	for _, f := range fs {
		if f.name == nameResults {
			return f.data
		}
	}
	t.Fatal("no results.json")
	return nil
}
