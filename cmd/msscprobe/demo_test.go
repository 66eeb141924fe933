package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/mocks"
)

func TestDemo(t *testing.T) {
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"fr", []string{"PS 4.1 ATTEINT", "TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1, autorité « " + mocks.RootCAName + " ») — dossier intègre", "msscprobe verify ", "X-MSS-INS: O", "(msscprobe message check) : <"}},
		{"en", []string{"PS 4.1 MET", "TEST — PS 4.1 met against a test operator (127.0.0.1, authority \"" + mocks.RootCAName + "\") — evidence intact", "msscprobe verify ", "(msscprobe message check): <"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			dir := t.TempDir()
			code, out, errs := runCLI(t, "", nil, "demo", "--out", dir, "--lang", tc.lang)
			if code != 0 {
				t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, f := range []string{"probe.yaml", "ca.pem", "cda-demo.xml", "msscprobe-demo.pdf"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("demo did not write %s: %v", f, err)
				}
			}
			// Exactly one deliverable, and it is the PDF.
			if pdfs, _ := filepath.Glob(filepath.Join(dir, "*.pdf")); len(pdfs) != 1 {
				t.Errorf("demo wrote %d PDFs, want 1", len(pdfs))
			}
			if zips, _ := filepath.Glob(filepath.Join(dir, "*.zip")); len(zips) != 0 {
				t.Errorf("demo wrote %v besides the PDF", zips)
			}
			// The PDF the demo announces verifies again on its own, and
			// evidence made against the mock reads TEST in text and JSON.
			deliverable := filepath.Join(dir, "msscprobe-demo.pdf")
			code, vout, verrs := runCLI(t, "", nil, "verify", "--lang", tc.lang, deliverable)
			if code != 0 || !strings.HasPrefix(vout, "TEST — ") {
				t.Errorf("verify %s: exit %d\n%s%s", deliverable, code, vout, verrs)
			}
			code, vout, verrs = runCLI(t, "", nil, "verify", "--format", "json", "--strict", deliverable)
			var rows []struct {
				Environment, Colour string
				Acceptable          bool
			}
			if err := json.Unmarshal([]byte(vout), &rows); err != nil || len(rows) != 1 || code != exitFailed ||
				rows[0].Environment != "test" || rows[0].Colour != "orange" || rows[0].Acceptable {
				t.Errorf("verify --strict --format json: exit %d, %v, %+v\n%s", code, err, rows, verrs)
			}
			data, err := os.ReadFile(deliverable)
			if err != nil {
				t.Fatal(err)
			}
			files, err := evidence.ExtractEmbedded(data)
			if err != nil {
				t.Fatal(err)
			}
			// The reply came while the probe was in IDLE.
			imapLog := files["transcripts_imap.log"]
			if !bytes.Contains(imapLog, []byte(" IDLE")) || !bytes.Contains(imapLog, []byte("DONE")) {
				t.Errorf("the reply was not awaited through IDLE; imap.log:\n%s", imapLog)
			}
			if _, err := exec.LookPath("pdftotext"); err == nil {
				page1, _ := exec.Command("pdftotext", "-l", "1", deliverable, "-").Output()
				if !strings.Contains(string(page1), "TEST —") {
					t.Errorf("page 1 does not read TEST:\n%s", page1)
				}
			}
			// The configuration names the password's variable, never the value.
			cfg, _ := os.ReadFile(filepath.Join(dir, "probe.yaml"))
			if !strings.Contains(string(cfg), "password_env: "+demoPasswordEnv) {
				t.Errorf("probe.yaml does not read the password from %s:\n%s", demoPasswordEnv, cfg)
			}
		})
	}
}

// TestDemoOutIsAFile checks a bad --out is a usage error naming it.
func TestDemoOutIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "", nil, "demo", "--out", f)
	if code != exitUsage || !strings.Contains(errs, f) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
