package mocks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	setVerdict(t, op, patientB, &Conformance{Conforms: true})

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
	if keep := os.Getenv("MSSCPROBE_SCREENSHOT_DIR"); keep != "" {
		if err := os.WriteFile(filepath.Join(keep, "mock-page.png"), b, 0o644); err != nil {
			t.Error(err)
		}
	}
}
