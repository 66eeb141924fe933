package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// runCLI runs msscprobe in-process with captured output.
func runCLI(t *testing.T, stdin string, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: getenv})
	return code, out.String(), errb.String()
}

func TestVersionAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "msscprobe "},
		{[]string{"--help"}, 0, "msscprobe demo"},
	} {
		code, out, errs := runCLI(t, "", nil, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("%v: code %d, stdout %q, stderr %q", tc.args, code, out, errs)
		}
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	code, _, errs := runCLI(t, "", nil, "version", "--nope")
	if code != exitUsage || !strings.Contains(errs, "--nope") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
}

// TestInterruptedSaysSo: a cancelled run (Ctrl-C) exits 130 with a plain
// message, not the library's "context canceled".
func TestInterruptedSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	pr, pw := io.Pipe() // standard input that never ends
	defer pw.Close()
	code := run(ctx, []string{"cda", "check", "-"}, &env{stdin: pr, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	if code != exitSignals || !strings.HasPrefix(errb.String(), "msscprobe: interrompu") || strings.Contains(errb.String(), "context") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
