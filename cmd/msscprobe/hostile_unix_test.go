//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// usageWithin runs the CLI in English and fails the test when it has not
// returned within 5 seconds (a blocking open or an endless read).
func usageWithin(t *testing.T, args []string) (code int, stderr string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, _, stderr = runCLI(t, "", nil, append([]string{"--lang", "en"}, args...)...)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%v: still running after 5 s", args)
	}
	return code, stderr
}

// verify and its --ca/--tsa-ca, and probe's --whitelist and signer files, read regular files only, refused without
// blocking: a FIFO hung verify for ever (deaf to ^C), /dev/zero as --ca was
// read until memory ran out.
func TestVerifyRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "bundle.zip")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	fifoDir := filepath.Join(dir, "fifos")
	if err := os.Mkdir(fifoDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "x.zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "real.zip")
	if _, err := writeWithFlags(t, handResult(t), nil, "--out", bundle); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "probe.yaml")
	if err := os.WriteFile(config, []byte("establishment: {name: H, address: a@hopital.test.mssante.fr}\n"+
		"smtp: {host: 127.0.0.1, port: 1, tls: starttls}\nimap: {host: 127.0.0.1, port: 1, tls: starttls}\n"+
		"auth: {mechanism: plain, username: u, password_env: PW}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hugePEM := filepath.Join(dir, "huge.pem")
	if err := os.WriteFile(hugePEM, make([]byte, maxPEMFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"FIFO bundle", []string{"verify", fifo}, "named pipe"},
		{"device bundle", []string{"verify", "/dev/zero"}, "character device"},
		// In a folder a FIFO is never opened: only regular files are taken.
		{"folder holding only a FIFO", []string{"verify", fifoDir}, "no .pdf, .asice or .zip file"},
		{"--ca device", []string{"verify", "--ca", "/dev/zero", bundle}, "--ca /dev/zero: not a regular file (character device)"},
		{"--ca FIFO", []string{"verify", "--ca", fifo, bundle}, "named pipe"},
		{"--tsa-ca FIFO", []string{"verify", "--tsa-ca", fifo, bundle}, "--tsa-ca"},
		{"--ca over the limit", []string{"verify", "--ca", hugePEM, bundle}, "4194304"},
		{"probe --whitelist FIFO", []string{"probe", "-c", config, "--whitelist", fifo}, "--whitelist: not a regular file (named pipe)"},
		{"probe --sign-p12 FIFO", []string{"probe", "-c", config, "--out", filepath.Join(dir, "p.pdf"), "--sign-p12", fifo}, "--sign-p12 " + fifo + ": not a regular file (named pipe)"},
		{"probe --sign-key FIFO", []string{"probe", "-c", config, "--out", filepath.Join(dir, "p.pdf"), "--sign-cert", config, "--sign-key", fifo}, "--sign-key " + fifo + ": not a regular file (named pipe)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, errs := usageWithin(t, tc.args)
			if code != exitUsage || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %q", code, errs, exitUsage, tc.want)
			}
		})
	}
}

// probe --tsa against a TSA that answers with nested BER (it crashed the
// probe while writing the bundle, losing the evidence): the bundle is
// written without a timestamp and verifies, the failure is said, exit 1.
func TestProbeHostileTSAKeepsTheBundle(t *testing.T) {
	token := []byte{0x02, 0x00}
	for i := 74; i >= 0; i-- {
		if i%2 == 1 {
			token = append([]byte{0x30, 0x02}, token...)
		} else if len(token) < 0x80 {
			token = append([]byte{0x30, byte(len(token))}, token...)
		} else {
			token = append([]byte{0x30, 0x81, byte(len(token))}, token...)
		}
	}
	body := append([]byte{0x30, 0x81, byte(5 + len(token)), 0x30, 0x03, 0x02, 0x01, 0x00}, token...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	defer srv.Close()
	cfg, getenv := probeSetup(t)
	out := filepath.Join(t.TempDir(), "bundle.zip")
	code, stdout, stderr := runCLI(t, "", getenv, "probe", "--lang", "en", "--config", cfg, "--out", out, "--tsa", srv.URL)
	if code != exitFailed || !strings.Contains(stdout, "PS 4.1 MET") || !strings.Contains(stderr, "not DER") || !strings.Contains(stderr, "written without") {
		t.Errorf("probe: exit %d\n%s\nstderr %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", nil, "verify", "--lang", "en", out)
	if code != exitOK {
		t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
}

// cda check never reads a stream without bound: --max-size is capped and a
// device named on the command line is refused at once.
func TestCDACheckBounded(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cda", "check", "--max-size", "100GiB", "/dev/zero"}, "at most 256MiB"},
		{[]string{"cda", "check", "/dev/zero"}, "not a regular file"},
	} {
		code, errs := usageWithin(t, tc.args)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d naming %q", tc.args, code, errs, exitUsage, tc.want)
		}
	}
}
