package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"fr", []string{"PS 4.1 ATTEINT", "DOSSIER DE PREUVE VALIDE", "msscprobe verify ", "X-MSS-INS: O"}},
		{"en", []string{"PS 4.1 MET", "msscprobe verify "}},
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
			for _, f := range []string{"probe.yaml", "ca.pem", "cda-demo.xml", "msscprobe-demo-bundle.zip"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("demo did not write %s: %v", f, err)
				}
			}
			// The bundle the demo announces verifies again on its own.
			bundle := filepath.Join(dir, "msscprobe-demo-bundle.zip")
			if code, vout, verrs := runCLI(t, "", nil, "verify", bundle); code != 0 {
				t.Errorf("verify %s: exit %d\n%s%s", bundle, code, vout, verrs)
			}
			// The reply came while the probe was in IDLE.
			zr, err := zip.OpenReader(bundle)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			var imapLog []byte
			for _, f := range zr.File {
				if f.Name == "transcripts/imap.log" {
					rc, _ := f.Open()
					imapLog, _ = io.ReadAll(rc)
					rc.Close()
				}
			}
			if !bytes.Contains(imapLog, []byte(" IDLE")) || !bytes.Contains(imapLog, []byte("DONE")) {
				t.Errorf("the reply was not awaited through IDLE; imap.log:\n%s", imapLog)
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
