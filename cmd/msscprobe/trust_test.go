package main

import (
	"archive/zip"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/internal/testpki"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

// TestProbePreflight: every local input is checked before the first
// connection; each refusal exits 2 naming the flag or key, and nothing
// reaches the server.
func TestProbePreflight(t *testing.T) {
	addr, dialled := testpki.CountingListener(t)
	dir := t.TempDir()
	s := newTestSigner(t)
	org := testpki.Root(t, "MOCK RACINE").Sub(t, "MOCK ORGANISATIONS")
	now := time.Now()
	expired, expiredKey := org.OrgSign(t, "CH EXEMPLE", "1010000016", func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-72*time.Hour), now.Add(-24*time.Hour) })
	testpki.WritePEM(t, filepath.Join(dir, "expired.pem"), nil, expired)
	testpki.WritePEM(t, filepath.Join(dir, "expired.key"), expiredKey)
	authCli, authKey := org.OrgSign(t, "CH EXEMPLE", "1010000016", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} })
	testpki.WritePEM(t, filepath.Join(dir, "authcli.pem"), nil, authCli)
	testpki.WritePEM(t, filepath.Join(dir, "authcli.key"), authKey)
	os.WriteFile(filepath.Join(dir, "garbage.xml"), []byte("<html/>"), 0o600)
	os.WriteFile(filepath.Join(dir, "bad.xml"), []byte("<not-cda/>"), 0o600)
	prodINS, err := os.ReadFile("../../testdata/cda/qualified.xml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "prod.xml"), prodINS, 0o600)
	os.WriteFile(filepath.Join(dir, "ca.pem"), s.rootPEM, 0o600)
	config := func(rest string) string {
		p := filepath.Join(dir, "probe.yaml")
		yaml := probeYAML("Hôpital de test", "medecin@hopital.test.mssante.fr", addr, addr, "auth: {mechanism: plain, username: u, password_env: CLI_PW}\n"+rest)
		if err := os.WriteFile(p, yaml, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"CLI_PW": cliPassword, "P12_OK": s.p12Password, "P12_WRONG": "not-the-password"}
	out := filepath.Join(dir, "preuve.zip")
	for _, tc := range []struct {
		name string
		rest string // configuration lines
		args []string
		want string
	}{
		{"out is a folder", "", []string{"--out", dir}, "--out " + dir + " is a folder"},
		{"out not writable", "", []string{"--out", filepath.Join(dir, "nope", "b.zip")}, "--out " + filepath.Join(dir, "nope", "b.zip") + ": cannot write in"},
		{"p12 wrong password", "", []string{"--out", out, "--sign-p12", s.p12File, "--sign-p12-password-env", "P12_WRONG"}, "wrong password"},
		{"p12 password unset", "", []string{"--out", out, "--sign-p12", s.p12File, "--sign-p12-password-env", "P12_UNSET"}, "environment variable P12_UNSET is not set"},
		{"p12 missing", "", []string{"--out", out, "--sign-p12", filepath.Join(dir, "none.p12"), "--sign-p12-password-env", "P12_OK"}, "--sign-p12: stat " + filepath.Join(dir, "none.p12") + ": no such file"},
		{"expired signer", "", []string{"--out", out, "--sign-cert", filepath.Join(dir, "expired.pem"), "--sign-key", filepath.Join(dir, "expired.key")}, "--sign-cert: certificate \"SIGNATURE CH EXEMPLE\" expired on"},
		{"signer for other uses", "", []string{"--out", out, "--sign-cert", filepath.Join(dir, "authcli.pem"), "--sign-key", filepath.Join(dir, "authcli.key")}, "ORG SIGN"},
		{"tsa url", "", []string{"--out", out, "--tsa", "ftp://tsa.example/"}, `--tsa "ftp://tsa.example/": want an http:// or https:// URL`},
		{"expired signer, in French", "", []string{"--lang", "fr", "--out", out, "--sign-cert", filepath.Join(dir, "expired.pem"), "--sign-key", filepath.Join(dir, "expired.key")}, "a expiré le"},
		{"whitelist missing", "", []string{"--whitelist", filepath.Join(dir, "none.xml")}, "--whitelist: stat " + filepath.Join(dir, "none.xml") + ": no such file"},
		{"whitelist not a whitelist", "", []string{"--whitelist", filepath.Join(dir, "garbage.xml")}, "--whitelist: " + filepath.Join(dir, "garbage.xml") + ": root element"},
		{"attachment unusable", "attach: bad.xml\n", nil, "attach: unusable"},
		{"production INS to the test mailbox", "attach: prod.xml\n", nil, "--allow-production-ins-to-test-mailbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"probe", "--lang", "en", "-c", config(tc.rest)}, tc.args...)
			code, stdout, stderr := runCLI(t, "", func(k string) string { return env[k] }, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want 2 and %q\n%s", code, stderr, tc.want, stdout)
			}
			if strings.Contains(stderr+stdout, s.p12Password) {
				t.Error("the PKCS#12 password leaked")
			}
			if n := dialled.Load(); n != 0 {
				t.Fatalf("%d connections before the refusal", n)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a bundle was written")
			}
		})
	}
}

// TestProbeReportBeforeBundleFailure: when the timestamp authority is
// unreachable after the run, the report is still printed and the evidence
// is written without a timestamp rather than lost; the probe says why and
// exits 1.
func TestProbeReportBeforeBundleFailure(t *testing.T) {
	cfg, getenv := probeSetup(t)
	dead, _ := testpki.CountingListener(t)
	out := filepath.Join(t.TempDir(), "b.zip")
	code, stdout, stderr := runCLI(t, "", getenv, "probe", "-c", cfg, "--lang", "en", "--out", out, "--tsa", "http://"+dead+"/tsa")
	if code != exitFailed || !strings.Contains(stdout, "Verdict: PS 4.1 MET") || !strings.Contains(stderr, "no timestamp") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the evidence was lost: %v", err)
	}
	// By default the reason is French, and said once.
	code, _, stderr = runCLI(t, "", getenv, "probe", "-c", cfg, "--out", out, "--tsa", "http://"+dead+"/tsa")
	if code != exitFailed || strings.Count(stderr, "horodatage "+"http://"+dead) != 1 || len(englishIn(stderr)) > 0 {
		t.Errorf("French: exit %d, English %q, stderr:\n%s", code, englishIn(stderr), stderr)
	}
}

// TestProbeAllowProductionINS: the flag lets a production-INS document go
// to the test mailbox, and the run says so (MSG-004).
func TestProbeAllowProductionINS(t *testing.T) {
	cfg, getenv := probeSetup(t)
	data, err := os.ReadFile("../../testdata/cda/qualified.xml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(filepath.Dir(cfg), "prod.xml"), data, 0o600)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("attach: prod.xml\n")
	f.Close()
	code, stdout, _ := runCLI(t, "", getenv, "probe", "-c", cfg, "--lang", "en", "--allow-production-ins-to-test-mailbox")
	if code != exitOK || !strings.Contains(stdout, "MSG-004") || !strings.Contains(stdout, "allowed by --allow-production-ins-to-test-mailbox") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
}

// TestProbeWhitelistFlag: --whitelist replaces the built-in snapshot; the
// trust-space check names the list's date.
func TestProbeWhitelistFlag(t *testing.T) {
	cfg, getenv := probeSetup(t)
	wl := filepath.Join(t.TempDir(), "liste.xml")
	os.WriteFile(wl, []byte(`<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema">
<DateDeGeneration>2026-11-30T08:00:00Z</DateDeGeneration><ListeDomaines><Domaine><Nom>hopital.test.mssante.fr</Nom>
<DNCertificatOperateur>CN=smtp.operateur.fr,OU=318751275100020,O=OPERATEUR,ST=Paris (75),C=FR</DNCertificatOperateur></Domaine></ListeDomaines></ListeBlancheMSSante>`), 0o600)
	code, stdout, _ := runCLI(t, "", getenv, "probe", "-c", cfg, "--lang", "en", "--whitelist", wl)
	if code != exitOK || !strings.Contains(stdout, "Domain hopital.test.mssante.fr listed (whitelist of 2026-11-30) but certificate") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
	_, stdout, _ = runCLI(t, "", getenv, "probe", "-c", cfg, "--lang", "en")
	if !strings.Contains(stdout, "is not in the whitelist of 2025-03-13") {
		t.Errorf("built-in snapshot:\n%s", stdout)
	}
}

// TestMockEvidenceReadsTEST: a run against the mock is TEST in the text
// report, the JSON result and the signed results.json, with its reasons.
func TestMockEvidenceReadsTEST(t *testing.T) {
	cfg, getenv := probeSetup(t)
	out := filepath.Join(t.TempDir(), "b.zip")
	code, stdout, _ := runCLI(t, "", getenv, "probe", "-c", cfg, "--out", out)
	if code != exitOK || !strings.Contains(stdout, "ENV-001") || !strings.Contains(stdout, "TEST : ce n'est pas l'espace de confiance MSSanté réel") ||
		!strings.Contains(stdout, mocks.RootCAName) {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	_, js, _ := runCLI(t, "", getenv, "probe", "-c", cfg, "--format", "json")
	var res probe.Result
	if err := json.Unmarshal([]byte(js), &res); err != nil || res.Environment.Kind != probe.EnvTest || len(res.Environment.Reasons) == 0 || res.SMTP.Class == nil {
		t.Errorf("json environment %+v class %+v (%v)", res.Environment, res.SMTP.Class, err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "results.json" {
			continue
		}
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		var signed struct {
			Probe probe.Result `json:"probe"`
		}
		if err := json.Unmarshal(b, &signed); err != nil || signed.Probe.Environment.Kind != probe.EnvTest {
			t.Errorf("signed results.json environment %+v (%v)", signed.Probe.Environment, err)
		}
		return
	}
	t.Error("no results.json in the bundle")
}

// TestVerifySignerIdentity: a bundle signed with the mock's ORG SIGN
// certificate is intact; verify says the signer does not chain to
// IGC-Santé, that its structure is not the run's FINESS, and that the
// run's FINESS is a placeholder.
func TestVerifySignerIdentity(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op, err := mocks.Start(ctx, mocks.Config{Accounts: []mocks.Account{{Address: "medecin@hopital.test.mssante.fr", Password: cliPassword}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	dir := t.TempDir()
	sign := op.PKI().OrgSign
	var chain []*x509.Certificate
	for _, der := range sign.Certificate {
		c, _ := x509.ParseCertificate(der)
		chain = append(chain, c)
	}
	testpki.WritePEM(t, filepath.Join(dir, "sign.pem"), nil, chain...)
	testpki.WritePEM(t, filepath.Join(dir, "sign.key"), sign.PrivateKey.(crypto.Signer))
	testpki.WritePEM(t, filepath.Join(dir, "root.pem"), nil, op.Roots()...)
	os.WriteFile(filepath.Join(dir, "ca.pem"), op.CACertPEM(), 0o600)
	cfg := filepath.Join(dir, "probe.yaml")
	os.WriteFile(cfg, probeYAML("Hôpital de test", "medecin@hopital.test.mssante.fr", op.SMTPAddr(), op.IMAPAddr(),
		"auth: {mechanism: plain, username: medecin@hopital.test.mssante.fr, password_env: CLI_PW}\ntimeouts: {step: 2s, reply: 5s}\n"), 0o600)
	getenv := func(k string) string { return map[string]string{"CLI_PW": cliPassword}[k] }
	bundle := filepath.Join(dir, "b.zip")
	if code, out, errs := runCLI(t, "", getenv, "probe", "-c", cfg, "--out", bundle, "--sign-cert", filepath.Join(dir, "sign.pem"), "--sign-key", filepath.Join(dir, "sign.key")); code != exitOK {
		t.Fatalf("probe: exit %d\n%s%s", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{nil, []string{"signer-unverifiable", "signer-not-establishment", "FINESS 010000016, not the establishment FINESS 000000000", "finess-invalid", "placeholder"}, nil},
		// With --ca the headline says "identité vérifiée": the warning
		// says IGC-Santé does not vouch, not "identité non vérifiable".
		{[]string{"--ca", filepath.Join(dir, "root.pem")}, []string{`"trusted": true`, `"anchor": "private"`, `"kind": "FINESS"`, "signer-unverifiable",
			"identity verified", "chains to an added root (--ca", "se rattache à une racine ajoutée"}, []string{"identité non vérifiable", "identity not verifiable"}},
	} {
		args := append(append([]string{"verify", "--lang", "en", "--format", "json"}, tc.args...), bundle)
		code, out, errs := runCLI(t, "", nil, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d\n%s%s", tc.args, code, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("%v: output says %q:\n%s", tc.args, w, out)
			}
		}
	}
}
