package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

const cliPassword = "Cli-Secret-Pa55word-42"

// probeSetup starts a mock and writes probe.yaml for it.
func probeSetup(t *testing.T, faults ...string) (cfgPath string, getenv func(string) string) {
	t.Helper()
	cfgPath, getenv, _ = probeMock(t, faults...)
	return cfgPath, getenv
}

// probeMock is probeSetup that also returns the mock, to watch its events.
func probeMock(t *testing.T, faults ...string) (cfgPath string, getenv func(string) string, op *mocks.Operator) {
	t.Helper()
	mc := mocks.Config{Accounts: []mocks.Account{{Address: "medecin@hopital.test.mssante.fr", Password: cliPassword}}}
	for _, f := range faults {
		ft, err := mocks.ParseFault(f)
		if err != nil {
			t.Fatal(err)
		}
		mc.Faults = append(mc.Faults, ft)
	}
	ctx, cancel := context.WithCancel(context.Background())
	op, err := mocks.Start(ctx, mc)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close(); cancel() })
	dir := t.TempDir()
	yaml := probeYAML("Hôpital de test", "medecin@hopital.test.mssante.fr", op.SMTPAddr(), op.IMAPAddr(),
		"auth: {mechanism: plain, username: medecin@hopital.test.mssante.fr, password_env: CLI_PW}\ntimeouts: {step: 2s, reply: 2s}\n")
	for name, data := range map[string][]byte{"ca.pem": op.CACertPEM(), "probe.yaml": yaml} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "probe.yaml"), func(k string) string { return map[string]string{"CLI_PW": cliPassword}[k] }, op
}

func TestProbeCommandFormatsAndExitCodes(t *testing.T) {
	cfg, getenv := probeSetup(t)
	code, out, errs := runCLI(t, "", getenv, "probe", "--config", cfg)
	// Off a terminal, progress never reaches stderr.
	if code != exitOK || !strings.Contains(out, "Verdict : PS 4.1 ATTEINT") || strings.Contains(out, cliPassword) || errs != "" {
		t.Errorf("text: code %d\n%s\nstderr %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", getenv, "probe", "--config", cfg, "--lang", "en")
	if code != exitOK || !strings.Contains(out, "Verdict: PS 4.1 MET") {
		t.Errorf("text en: code %d\n%s", code, out)
	}
	code, out, errs = runCLI(t, "", getenv, "probe", "-c", cfg, "--format", "json")
	var res probe.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitOK || !res.Met || res.Schema != probe.SchemaVersion || errs != "" {
		t.Errorf("json: code %d err %v met %v stderr %q", code, err, res.Met, errs)
	}
	code, out, _ = runCLI(t, "", getenv, "probe", "-c", cfg, "--format", "junit")
	var ju check.JUnitSuites
	if err := xml.Unmarshal([]byte(out), &ju); err != nil || code != exitOK || ju.Failures != 0 || ju.Tests < 10 {
		t.Errorf("junit: code %d err %v %+v", code, err, ju)
	}
}

func TestProbeCommandNotMet(t *testing.T) {
	cfg, getenv := probeSetup(t, "rcpt=550")
	code, out, _ := runCLI(t, "", getenv, "probe", "--config", cfg, "--format", "junit")
	if code != exitFailed || !strings.Contains(out, "SMTP-SUB-002") || !strings.Contains(out, "<failure") {
		t.Errorf("code %d\n%s", code, out)
	}
}

// TestProbeCommandConfigErrors: exit 2 with a message naming the key.
func TestProbeCommandConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("smtp: {host: h, tls: none}\nimap: {host: h}\nfoo: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := probeSetup(t)
	for _, tc := range []struct {
		args   []string
		getenv func(string) string
		want   string
	}{
		{[]string{"probe"}, nil, "--config est obligatoire"},
		{[]string{"probe", "-c", filepath.Join(dir, "missing.yaml")}, nil, "missing.yaml"},
		{[]string{"probe", "-c", bad}, nil, "bad.yaml:3 : foo : clé inconnue"},
		{[]string{"probe", "-c", cfg}, nil, "auth.password_env : la variable d'environnement CLI_PW n'est pas définie"},
		{[]string{"probe", "-c", cfg, "--format", "xml"}, nil, "--format"},
		{[]string{"probe", "-c", cfg, "--lang", "de"}, nil, "fr ou en attendu"},
	} {
		code, out, errs := runCLI(t, "", tc.getenv, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("%v: code %d stderr %q stdout %q", tc.args, code, errs, out)
		}
	}
}

// TestInitTemplateLoads: the written template parses and validates once
// its password variable is set, and probe accepts it up to the network.
func TestInitTemplateLoads(t *testing.T) {
	code, out, _ := runCLI(t, "", nil, "init")
	if code != exitOK {
		t.Fatalf("code %d", code)
	}
	path := filepath.Join(t.TempDir(), "probe.yaml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := probe.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(func(k string) string { return map[string]string{"MSSCPROBE_PASSWORD": "x"}[k] }); err != nil {
		t.Fatal(err)
	}
}

// TestProbeCommandInterrupted: Ctrl-C while waiting for the reply prints
// the partial result (text or JSON, on stdout) and exits 130.
func TestProbeCommandInterrupted(t *testing.T) {
	cfg, getenv, op := probeMock(t, "no-reply")
	for _, format := range []string{"text", "json"} {
		// Ctrl-C once the probe waits for the reply: the mock delivered
		// the message, then saw an IDLE. A fixed delay assumed a fast
		// machine: under -race on a loaded one the submission was not
		// over yet and the partial result had no queue ID.
		ctx, cancel := context.WithCancel(context.Background())
		seen := len(op.Events())
		cancelled := make(chan time.Time, 1)
		go func() {
			defer cancel()
			for limit := time.Now().Add(30 * time.Second); time.Now().Before(limit) && ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
				delivered := false
				for _, ev := range op.Events()[seen:] {
					delivered = delivered || ev.Kind == mocks.KindDeliver
					if delivered && ev.Kind == "idle" {
						cancelled <- time.Now()
						return
					}
				}
			}
		}()
		var out, errb bytes.Buffer
		code := run(ctx, []string{"probe", "-c", cfg, "--format", format}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv})
		end := time.Now()
		cancel()
		var at time.Time
		select {
		case at = <-cancelled:
		default:
			t.Fatalf("%s: the run ended (code %d) before it waited for the reply; stderr %q\n%s", format, code, errb.String(), out.String())
		}
		// Interrupted, the run stops at once: 1.5 s is margin for -race
		// on a loaded machine, the step and reply deadlines are 2 s.
		if d := end.Sub(at); code != exitSignals || d > 1500*time.Millisecond {
			t.Errorf("%s: code %d %s after the interruption, stderr %q", format, code, d, errb.String())
		}
		var res probe.Result
		switch {
		case format == "text" && (!strings.Contains(out.String(), "Exécution interrompue : résultat partiel.") || !strings.Contains(out.String(), "SMTP-SUB-003")):
			t.Errorf("text:\n%s", out.String())
		case format == "json" && (json.Unmarshal(out.Bytes(), &res) != nil || !res.Interrupted || res.QueueID == ""):
			t.Errorf("json: %s", out.String())
		}
	}
}
