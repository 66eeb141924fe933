package mocks

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// TestPageInChromium renders the page in headless Chromium (Debian
// chromium, installed by .ci/run) as a person would see it: the DOM after
// rendering carries the verdicts and the French findings, and a screenshot
// is drawn (set MSSCPROBE_SCREENSHOT_DIR to keep it).
func TestPageInChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium not installed (Debian package chromium; .ci/run installs it)")
	}
	op := httpOp(t)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<p1@test>", "Compte rendu d’hospitalisation", ""), nil); err != nil {
		t.Fatal(err)
	}
	if err := send(c, doctor, []string{patientB}, msg(doctor, patientB, "<p2@test>", "Résultats de biologie", ""), nil); err != nil {
		t.Fatal(err)
	}
	setVerdict(t, op, patientA, nonConforming)
	// A warning quoting a long OID and hash, as real findings do (MSS-014,
	// INS-011): it must wrap inside the table, not push it off the page.
	setVerdict(t, op, patientB, &Conformance{Conforms: true, Findings: []check.Finding{{
		Rule: "INS-011", Severity: check.Warning, Source: "research cda-ins.md §1",
		Message: check.Text{FR: "OID " + strings.Repeat("1.2.250.1.213.1.4.10.", 8) + " SHA-1 " + strings.Repeat("b72ab9cbaf29401766eb66ea941c4821c2442813", 3)},
	}}, Count: 1})

	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		profile, err := os.MkdirTemp(dir, "profile")
		if err != nil {
			t.Fatal(err)
		}
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + profile}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	url := "http://" + op.HTTPAddr() + "/"
	dom := string(run("--dump-dom", url))
	for _, want := range []string{
		"Opérateur MSSanté simulé", "2 messages affichés : <span class=\"non-conforming\">1 non conforme</span>, 0 non vérifié.", patientA, patientB, "Compte rendu d’hospitalisation",
		">non conforme<", ">conforme<", "MSG-NIL-001", "erreur : En-tête X-MSS-NIL absent", "Ref#2 v1.0.1 ECO.2.4.3",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script>alert") {
		t.Error("message text reached the DOM as markup")
	}
	shot := filepath.Join(dir, "page.png")
	run("--screenshot="+shot, "--window-size=1280,720", "--hide-scrollbars", url)
	b, err := os.ReadFile(shot)
	if err != nil || len(b) < 1000 || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Fatalf("screenshot: %d bytes, %v", len(b), err)
	}
	// What a person sees in a narrow window: the table fits, so the right
	// margin (the body's 1.5em) stays blank; an overflowing table would
	// draw its borders and text through it.
	narrow := filepath.Join(dir, "narrow.png")
	run("--screenshot="+narrow, "--window-size=900,720", "--hide-scrollbars", url)
	if x, y, ok := inkInRightMargin(t, narrow, 16); ok {
		t.Errorf("the table overflows a 900 px window: ink at (%d,%d) in the right margin", x, y)
	}
	if keep := os.Getenv("MSSCPROBE_SCREENSHOT_DIR"); keep != "" {
		if err := os.WriteFile(filepath.Join(keep, "mock-page.png"), b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// inkInRightMargin reports the first pixel that is not white in the
// rightmost width columns of a PNG screenshot.
func inkInRightMargin(t *testing.T, path string, width int) (x, y int, found bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Max.X - width; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}
