package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

// testSigner is a root CA and a leaf signer with their files on disk.
type testSigner struct {
	dir                                  string
	rootPEM, certPEM, keyPEM, p12        []byte
	rootFile, certFile, keyFile, p12File string
	p12Password                          string
	keyDER                               []byte
}

func newTestSigner(t *testing.T) *testSigner {
	t.Helper()
	mk := func(tmpl, parent *x509.Certificate, pub any, priv *ecdsa.PrivateKey) *x509.Certificate {
		tmpl.SerialNumber, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	root := mk(&x509.Certificate{Subject: pkix.Name{CommonName: "IGC Santé TEST"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 48),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}, nil, rootKey.Public(), rootKey)
	leaf := mk(&x509.Certificate{Subject: pkix.Name{CommonName: "Hôpital de test", Organization: []string{"FINESS 010000016"}}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}, root, key.Public(), rootKey)
	s := &testSigner{dir: t.TempDir(), p12Password: "p12-Pässwörd-do-not-leak-91c2"}
	s.keyDER, _ = x509.MarshalPKCS8PrivateKey(key)
	s.rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
	s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	s.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: s.keyDER})
	var err error
	if s.p12, err = pkcs12.Modern.Encode(key, leaf, []*x509.Certificate{root}, s.p12Password); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path *string
		name string
		data []byte
	}{{&s.rootFile, "root.pem", s.rootPEM}, {&s.certFile, "cert.pem", s.certPEM}, {&s.keyFile, "key.pem", s.keyPEM}, {&s.p12File, "signer.p12", s.p12}} {
		*f.path = filepath.Join(s.dir, f.name)
		if err := os.WriteFile(*f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// handResult is the hand-built result of testdata/evidence (no network).
func handResult(t *testing.T) *probe.Result {
	t.Helper()
	b, err := os.ReadFile("../../testdata/evidence/result.json")
	if err != nil {
		t.Fatal(err)
	}
	var res probe.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

// writeWithFlags parses args as the bundle flags of a throw-away command
// and writes res.
func writeWithFlags(t *testing.T, res *probe.Result, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	cmd := newVersionCmd(&env{})
	bf := addBundleFlags(&env{}, cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return bf.write(context.Background(), &env{getenv: getenv, stderr: io.Discard, stdout: io.Discard}, res, check.FR)
}

func TestBundleFlagsSigners(t *testing.T) {
	s := newTestSigner(t)
	pwFile := filepath.Join(s.dir, "p12.pass")
	os.WriteFile(pwFile, []byte(s.p12Password+"\n"), 0o600)
	env := func(k string) string {
		if k == "SIGN_P12_PW" {
			return s.p12Password
		}
		return ""
	}
	for _, tc := range []struct {
		name    string
		args    []string
		trusted bool
		eph     bool
		err     string
	}{
		{"PEM", []string{"--sign-cert", s.certFile, "--sign-key", s.keyFile}, true, false, ""},
		{"P12 password env", []string{"--sign-p12", s.p12File, "--sign-p12-password-env", "SIGN_P12_PW"}, true, false, ""},
		{"P12 password file", []string{"--sign-p12", s.p12File, "--sign-p12-password-file", pwFile}, true, false, ""},
		{"ephemeral", nil, false, true, ""},
		{"P12 wrong password", []string{"--sign-p12", s.p12File, "--sign-p12-password-env", "NOPE"}, false, false, "NOPE is not set"},
		{"P12 bad password", []string{"--sign-p12", s.p12File, "--sign-p12-password-file", s.certFile}, false, false, "wrong password"},
		{"P12 without password", []string{"--sign-p12", s.p12File}, false, false, "password-protected: give the password with --sign-p12-password-env"},
		{"cert without key", []string{"--sign-cert", s.certFile}, false, false, "go together"},
		{"key mismatch", []string{"--sign-cert", s.rootFile, "--sign-key", s.keyFile}, false, false, "--sign-cert"},
		{"both kinds", []string{"--sign-p12", s.p12File, "--sign-cert", s.certFile, "--sign-key", s.keyFile}, false, false, "excludes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "b.zip")
			path, err := writeWithFlags(t, handResult(t), env, append(tc.args, "--out", out)...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if _, statErr := os.Stat(out); statErr == nil {
					t.Error("a bundle was written despite the error")
				}
				return
			}
			if err != nil || path != out {
				t.Fatalf("write: %q, %v", path, err)
			}
			code, stdout, stderr := runCLI(t, "", nil, "verify", "--ca", s.rootFile, "--format", "json", out)
			var rows []struct {
				Verification evidence.Verification `json:"verification"`
			}
			if jerr := json.Unmarshal([]byte(stdout), &rows); jerr != nil || len(rows) != 1 {
				t.Fatalf("json: %v\n%s\n%s", jerr, stdout, stderr)
			}
			v := rows[0].Verification
			if v.Ephemeral != tc.eph || (v.Signer != nil && v.Signer.Trusted) != tc.trusted || (code == 0) != tc.trusted {
				t.Errorf("code %d, ephemeral %v, signer %+v, problems %v", code, v.Ephemeral, v.Signer, v.Problems)
			}
		})
	}
	if path, err := writeWithFlags(t, handResult(t), nil); path != "" || err != nil {
		t.Errorf("no --out: %q, %v", path, err)
	}
}

func TestBundleFlagsRefuseEncryptedPEM(t *testing.T) {
	s := newTestSigner(t)
	enc := filepath.Join(s.dir, "enc.pem")
	os.WriteFile(enc, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), 0o600)
	_, err := writeWithFlags(t, handResult(t), nil, "--out", filepath.Join(s.dir, "x.zip"), "--sign-cert", s.certFile, "--sign-key", enc)
	if err == nil || !strings.Contains(err.Error(), "encrypted PEM") {
		t.Errorf("err = %v", err)
	}
}

func TestVerifyCommand(t *testing.T) {
	s := newTestSigner(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.zip")
	if _, err := writeWithFlags(t, handResult(t), nil, "--out", good, "--sign-cert", s.certFile, "--sign-key", s.keyFile); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.zip")
	tamper(t, good, tampered, "results.json")
	other := newTestSigner(t)
	garbage := filepath.Join(dir, "garbage.zip")
	os.WriteFile(garbage, []byte("not a zip"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"valid fr", []string{"verify", "--ca", s.rootFile, good}, 0, []string{"dossier intègre, signé par Hôpital de test (identité vérifiée)\n", "PS 4.1 atteint", "Hôpital Sainte-Émilie de Test", "rattaché aux autorités fournies"}},
		{"valid en", []string{"verify", "--ca", s.rootFile, "--lang", "en", good}, 0, []string{"evidence intact, signed by Hôpital de test (identity verified)\n", "PS 4.1 met"}},
		// Without --ca the built-in IGC-Santé anchors still judge the signer.
		{"no --ca", []string{"verify", good}, 0, []string{"signer-unverifiable", "identité non vérifiable", "ne se rattache pas à l'IGC-Santé"}},
		{"wrong CA", []string{"verify", "--ca", other.rootFile, good}, 1, []string{"NON INTÈGRE", "signer-untrusted"}},
		{"tampered", []string{"verify", "--ca", s.rootFile, tampered}, 1, []string{"digest-mismatch", "results.json"}},
		{"json", []string{"verify", "--format", "json", good}, 0, []string{`"valid": true`, `"code": "signer-unverifiable"`, `"anchor": "none"`}},
		{"garbage", []string{"verify", garbage}, 2, nil},
		{"missing file", []string{"verify", filepath.Join(dir, "nope.zip")}, 2, nil},
		{"bad --ca", []string{"verify", "--ca", good, good}, 2, nil},
		{"bad format", []string{"verify", "--format", "xml", good}, 2, nil},
	} {
		code, stdout, stderr := runCLI(t, "", nil, tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, stdout, stderr)
		}
		for _, w := range tc.out {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, stdout)
			}
		}
	}
}

// tamper copies a bundle, flipping one byte of entry name.
func tamper(t *testing.T, src, dst, name string) {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == name {
			data[len(data)/2] ^= 1
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method})
		w.Write(data)
	}
	zw.Close()
	os.WriteFile(dst, buf.Bytes(), 0o600)
}

// Round trip: a real probe run against the mock operator, bundled with a
// PKCS#12 signer and a timestamp, verified by `msscprobe verify` and by
// openssl; no secret (mailbox password, PKCS#12 password, private key)
// appears in any byte of the bundle or of the output.
func TestRoundTripProbeBundleVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	op, err := mocks.Start(ctx, mocks.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	tsa, err := mocks.StartTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct := op.Accounts()[0]
	dir := t.TempDir()
	s := newTestSigner(t)
	getenv := func(k string) string {
		switch k {
		case "RT_MAILBOX_PASSWORD":
			return acct.Password
		case "RT_P12_PASSWORD":
			return s.p12Password
		}
		return ""
	}
	res := runMockProbe(ctx, t, op, fmt.Sprintf("{mechanism: plain, username: %q, password_env: RT_MAILBOX_PASSWORD}", acct.Address), getenv)
	out := filepath.Join(dir, "bundle.zip")
	if _, err := writeWithFlags(t, res, getenv, "--out", out, "--sign-p12", s.p12File, "--sign-p12-password-env", "RT_P12_PASSWORD", "--tsa", tsa.URL); err != nil {
		t.Fatal(err)
	}
	tsaRoot := filepath.Join(dir, "tsa-root.pem")
	os.WriteFile(tsaRoot, tsa.RootPEM, 0o600)
	code, stdout, stderr := runCLI(t, "", getenv, "verify", "--ca", s.rootFile, "--tsa-ca", tsaRoot, out)
	if code != 0 || !strings.Contains(stdout, "PS 4.1 atteint") || !strings.Contains(stdout, "Horodaté le") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}

	bundle, _ := os.ReadFile(out)
	scan := [][]byte{bundle, []byte(stdout), []byte(stderr)}
	zr, _ := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	names := map[string]bool{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		scan = append(scan, data)
		names[f.Name] = true
	}
	for _, want := range []string{"transcripts/smtp.log", "transcripts/imap.log", "messages/sent.eml", "messages/reply.eml", "tls/smtp-chain.pem", "cda/report.json", "cda/cda.xml"} {
		if !names[want] {
			t.Errorf("bundle lacks %s (has %v)", want, names)
		}
	}
	plain := "\x00" + acct.Address + "\x00" + acct.Password
	secrets := map[string][]byte{
		"mailbox password":         []byte(acct.Password),
		"AUTH PLAIN payload":       []byte(base64.StdEncoding.EncodeToString([]byte(plain))),
		"p12 password":             []byte(s.p12Password),
		"private key (PKCS#8 DER)": s.keyDER,
		"private key (PEM)":        s.keyPEM,
		"PKCS#12 file":             s.p12,
	}
	for what, secret := range secrets {
		for _, data := range scan {
			if bytes.Contains(data, secret) {
				t.Errorf("%s found in the bundle or the output", what)
			}
		}
	}

	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	ex := t.TempDir()
	for _, n := range []string{"META-INF/signature.p7s", "META-INF/ASiCManifest.xml"} {
		f, _ := zr.Open(n)
		data, _ := io.ReadAll(f)
		os.WriteFile(filepath.Join(ex, filepath.Base(n)), data, 0o600)
	}
	o, err := exec.CommandContext(ctx, "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", filepath.Join(ex, "signature.p7s"),
		"-content", filepath.Join(ex, "ASiCManifest.xml"), "-CAfile", s.rootFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	if err != nil || !strings.Contains(string(o), "CMS Verification successful") {
		t.Errorf("openssl cms -verify: %v\n%s", err, o)
	}
}

// runMockProbe runs the probe with the demo CDA against op, logging in as
// its first account with the YAML auth mapping given; PS 4.1 must be met.
func runMockProbe(ctx context.Context, t *testing.T, op *mocks.Operator, auth string, getenv func(string) string) *probe.Result {
	t.Helper()
	acct := op.Accounts()[0]
	dir := t.TempDir()
	cda, err := os.ReadFile("demodata/cda-demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	cfgYAML := probeYAML("Hôpital de test", acct.Address, op.SMTPAddr(), op.IMAPAddr(), fmt.Sprintf(`auth: %s
target: %s@%s
attach: cda.xml
reply: {mode: auto}
timeouts: {step: 10s, reply: 20s}
`, auth, mocks.AutoReplyLocalPart, op.Config().CitizenDomain))
	for name, data := range map[string][]byte{"ca.pem": op.CACertPEM(), "cda.xml": cda, "probe.yaml": cfgYAML} {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	cfg, err := probe.LoadConfig(filepath.Join(dir, "probe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := probe.Run(ctx, cfg, probe.Options{ToolVersion: "test", Getenv: getenv})
	if err != nil || !res.Met {
		t.Fatalf("probe against the mock (%s): met=%v err=%v", auth, res != nil && res.Met, err)
	}
	return res
}

// LOGIN sends the password alone in base64 and XOAUTH2 a bearer token:
// neither, in any form, reaches a byte of the bundle.
func TestBundleHoldsNoMailboxSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const pw, token = "Mailbox-Pässword-7d1e", "psc-bearer-token-0b9f3a"
	addr := mocks.DefaultAccountLocalPart + "@hopital.test.mssante.fr"
	op, err := mocks.Start(ctx, mocks.Config{Accounts: []mocks.Account{{Address: addr, Password: pw, Token: token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	getenv := func(k string) string { return map[string]string{"RT_PW": pw, "RT_TOKEN": token}[k] }
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		mech    string
		auth    string
		secrets []string
	}{
		{"login", fmt.Sprintf("{mechanism: login, username: %q, password_env: RT_PW}", addr), []string{pw, b64([]byte(pw))}},
		{"xoauth2", fmt.Sprintf("{mechanism: xoauth2, username: %q, token_env: RT_TOKEN}", addr),
			[]string{token, b64([]byte("user=" + addr + "\x01auth=Bearer " + token + "\x01\x01"))}},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			res := runMockProbe(ctx, t, op, tc.auth, getenv)
			out := filepath.Join(t.TempDir(), "b.zip")
			if _, err := writeWithFlags(t, res, getenv, "--out", out); err != nil {
				t.Fatal(err)
			}
			bundle, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			scan := [][]byte{bundle}
			zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range zr.File {
				rc, _ := f.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				scan = append(scan, data)
			}
			for _, secret := range tc.secrets {
				for _, data := range scan {
					if bytes.Contains(data, []byte(secret)) {
						t.Errorf("%q found in the bundle", secret)
					}
				}
			}
		})
	}
}
