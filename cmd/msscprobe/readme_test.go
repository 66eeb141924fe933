package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

// readmeCommands returns every msscprobe command line in README.md's sh
// blocks ("go run ./cmd/msscprobe" counts as msscprobe), comments removed.
func readmeCommands(t *testing.T) (cmds []string, openssl string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	inSh := false
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "```sh"):
			inSh = true
		case strings.HasPrefix(l, "```"):
			inSh = false
		case inSh && (strings.HasPrefix(l, "msscprobe ") || strings.HasPrefix(l, "go run ./cmd/msscprobe ")):
			if i := strings.Index(l, " # "); i >= 0 {
				l = strings.TrimSpace(l[:i])
			}
			cmds = append(cmds, strings.Join(strings.Fields(l), " "))
		}
	}
	return cmds, markedBlock(t, string(b), "openssl-verify")
}

// markedBlock returns the text between <!-- NAME:begin --> and <!-- NAME:end -->.
func markedBlock(t *testing.T, doc, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<!-- ` + name + `:begin -->(.*?)<!-- ` + name + `:end -->`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no %s block", name)
	}
	return m[1]
}

// readmeStep runs one README command in the sandbox and checks its effect.
type readmeStep struct {
	cmd   string
	setup func(t *testing.T, sb *sandbox)
	check func(t *testing.T, sb *sandbox, code int, stdout, stderr string)
}

// sandbox is the working directory the README commands run in, as a user's
// would be: a probe.yaml pointing at a (mock) operator, documents, a signer.
type sandbox struct {
	dir    string
	signer *testSigner
	op     *mocks.Operator
	getenv func(string) string
}

func TestREADMECommands(t *testing.T) {
	steps := []readmeStep{
		{cmd: "go run ./cmd/msscprobe demo", check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			wantContains(t, out, "PS 4.1 ATTEINT", "TEST — PS 4.1 atteint contre un opérateur de test")
		}},
		{cmd: "msscprobe init > probe.yaml", check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			if _, err := probe.LoadConfig(filepath.Join(sb.dir, "probe.yaml")); err != nil {
				t.Errorf("the template does not load: %v", err)
			}
		}},
		{cmd: "msscprobe probe --config probe.yaml --out preuve-ps41.pdf", setup: editConfig,
			check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
				wantExit(t, code, 0, out, errs)
				wantContains(t, out, "PS 4.1 ATTEINT")
				wantFile(t, sb, "preuve-ps41.pdf")
			}},
		{cmd: "msscprobe verify preuve-ps41.pdf", check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			wantContains(t, out, "Verdict", "Établissement", "Date du test", "Testé", "Empreinte", "Signé par")
			wantHeadline(t, out, "TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1, autorité « "+mocks.RootCAName+" ») — dossier intègre, signé par une clé éphémère (identité non prouvée)")
		}},
		{cmd: "msscprobe probe --config probe.yaml --out preuve-ps41.pdf --sign-p12 etablissement.p12 --sign-p12-password-env P12_PASSWORD",
			setup: func(t *testing.T, sb *sandbox) {
				copyFile(t, sb.signer.p12File, filepath.Join(sb.dir, "etablissement.p12"))
				copyFile(t, sb.signer.rootFile, filepath.Join(sb.dir, "racines.pem"))
			},
			check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
				wantExit(t, code, 0, out, errs)
				wantFile(t, sb, "preuve-ps41.pdf")
			}},
		{cmd: "msscprobe verify preuve-ps41.pdf --ca racines.pem", check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			wantContains(t, out, "Hôpital de test")
			wantHeadline(t, out, "TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1, autorité « "+mocks.RootCAName+" ») — dossier intègre, signé par Hôpital de test (identité vérifiée)")
			if strings.Contains(out, "éphémère") {
				t.Errorf("a bundle signed with the PKCS#12 certificate is reported ephemeral:\n%s", out)
			}
		}},
		{cmd: "msscprobe verify --format csv candidatures/ > verification.csv", setup: func(t *testing.T, sb *sandbox) {
			// The same deliverable filed twice under two names.
			copyFile(t, filepath.Join(sb.dir, "preuve-ps41.pdf"), filepath.Join(sb.dir, "candidatures", "ch-a.pdf"))
			copyFile(t, filepath.Join(sb.dir, "preuve-ps41.pdf"), filepath.Join(sb.dir, "candidatures", "ch-b.pdf"))
		}, check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			f, err := os.Open(filepath.Join(sb.dir, "verification.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil || len(recs) != 3 {
				t.Fatalf("verification.csv: %v, %d records", err, len(recs))
			}
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			for i, r := range recs[1:] {
				if r[col["environnement"]] != "TEST" || r[col["intégrité"]] != "intègre" || r[col["recevable"]] != "non" ||
					!strings.Contains(r[col["raisons"]], "environnement de test") || !strings.Contains(r[col["même exécution que"]], []string{"ch-b.pdf", "ch-a.pdf"}[i]) {
					t.Errorf("row %d: %q", i+1, r)
				}
			}
		}},
		{cmd: "msscprobe cda check documents/", setup: func(t *testing.T, sb *sandbox) {
			copyFile(t, "demodata/cda-demo.xml", filepath.Join(sb.dir, "documents", "sous-dossier", "lettre.xml"))
		}, check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			wantContains(t, out, "lettre.xml")
		}},
		{cmd: "msscprobe mock serve --listen-smtp 127.0.0.1:3587 --listen-imap 127.0.0.1:3143 --ca-out mock-ca.pem --password-out mock-password.txt",
			check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
				// Run by runServe: the probe against it met PS 4.1.
				if !strings.Contains(out, "met=true") {
					t.Errorf("probe against the README's mock serve: %s", out)
				}
			}},
		{cmd: "msscprobe mock serve --listen-smtp 127.0.0.1:3587 --listen-imap 127.0.0.1:3143 --ca-out mock-ca.pem --password-out mock-password.txt --fault rcpt=550",
			check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
				if !strings.Contains(out, "met=false") || !strings.Contains(out, "SMTP-SUB-002=fail") {
					t.Errorf("probe against the faulty mock should fail at RCPT: %s", out)
				}
			}},
		{cmd: "msscprobe cda check --format junit sortie/ > cda-junit.xml", setup: func(t *testing.T, sb *sandbox) {
			copyFile(t, "demodata/cda-demo.xml", filepath.Join(sb.dir, "sortie", "doc1.xml"))
		}, check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 0, out, errs)
			b, _ := os.ReadFile(filepath.Join(sb.dir, "cda-junit.xml"))
			var s check.JUnitSuites
			if err := xml.Unmarshal(b, &s); err != nil || s.Tests != 1 || s.Failures != 0 {
				t.Errorf("cda-junit.xml: %v, %+v\n%s", err, s, b)
			}
		}},
		{cmd: "msscprobe message check --format junit messages/ > message-junit.xml", setup: func(t *testing.T, sb *sandbox) {
			copyFile(t, "../../testdata/messages/good-citizen-xdm.eml", filepath.Join(sb.dir, "messages", "1.eml"))
			copyFile(t, "../../testdata/messages/bad-hash.eml", filepath.Join(sb.dir, "messages", "2.eml"))
		}, check: func(t *testing.T, sb *sandbox, code int, out, errs string) {
			wantExit(t, code, 1, out, errs)
			b, _ := os.ReadFile(filepath.Join(sb.dir, "message-junit.xml"))
			var s check.JUnitSuites
			if err := xml.Unmarshal(b, &s); err != nil || s.Tests != 2 || s.Failures != 1 || !bytes.Contains(b, []byte("MSS-014")) {
				t.Errorf("message-junit.xml: %v, %+v\n%s", err, s, b)
			}
		}},
	}

	cmds, openssl := readmeCommands(t)
	var known []string
	for _, s := range steps {
		known = append(known, s.cmd)
	}
	for _, c := range cmds {
		if !slices.Contains(known, c) {
			t.Errorf("README command has no test here: %q", c)
		}
	}
	for _, k := range known {
		if !slices.Contains(cmds, k) {
			t.Errorf("tested command is not in README.md any more: %q", k)
		}
	}
	spec, err := os.ReadFile("../../docs/evidence-format.md")
	if err != nil {
		t.Fatal(err)
	}
	// docs/evidence-format.md's block is run verbatim by the evidence tests.
	if markedBlock(t, string(spec), "openssl-verify") != openssl {
		t.Error("README.md's openssl verification differs from docs/evidence-format.md's (which is the tested one)")
	}

	sb := newSandbox(t)
	for _, s := range steps {
		t.Run(s.cmd, func(t *testing.T) {
			if s.setup != nil {
				s.setup(t, sb)
			}
			if strings.HasPrefix(s.cmd, "msscprobe mock serve ") {
				out := runServe(t, sb, s.cmd)
				s.check(t, sb, 0, out, "")
				return
			}
			code, out, errs := sb.run(t, s.cmd)
			s.check(t, sb, code, out, errs)
		})
	}
}

func newSandbox(t *testing.T) *sandbox {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("TMPDIR", dir) // demo's default temporary directory stays inside
	op, err := mocks.Start(t.Context(), mocks.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	sb := &sandbox{dir: dir, signer: newTestSigner(t), op: op}
	sb.getenv = func(k string) string {
		switch k {
		case "MSSCPROBE_PASSWORD":
			return op.Accounts()[0].Password
		case "P12_PASSWORD":
			return sb.signer.p12Password
		}
		return ""
	}
	return sb
}

// run executes a README command line in-process: "go run ./cmd/msscprobe"
// and "msscprobe" both mean the CLI, "> FILE" redirects standard output.
func (sb *sandbox) run(t *testing.T, line string) (int, string, string) {
	t.Helper()
	args := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(line, "go run ./cmd/msscprobe "), "msscprobe "))
	redirect := ""
	if i := slices.Index(args, ">"); i >= 0 {
		redirect, args = args[i+1], args[:i]
	}
	code, out, errs := runCLI(t, "", sb.getenv, args...)
	if redirect != "" {
		if err := os.WriteFile(filepath.Join(sb.dir, redirect), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return code, out, errs
}

// editConfig does what the guide asks the user to do by hand after init:
// point probe.yaml at the operator (here the mock) and its CA.
func editConfig(t *testing.T, sb *sandbox) {
	writeProbeConfig(t, filepath.Join(sb.dir, "probe.yaml"), sb.op.SMTPAddr(), sb.op.IMAPAddr(), sb.op.CACertPEM(), sb.op.Accounts()[0].Address, "MSSCPROBE_PASSWORD")
}

func writeProbeConfig(t *testing.T, path, smtpAddr, imapAddr string, caPEM []byte, address, passwordEnv string) {
	t.Helper()
	cfg := probeYAML("Hôpital de test", address, smtpAddr, imapAddr,
		fmt.Sprintf("auth: {mechanism: plain, username: %s, password_env: %s}\ntimeouts: {step: 10s, reply: 10s}\n", address, passwordEnv))
	for name, data := range map[string][]byte{"ca.pem": caPEM, filepath.Base(path): cfg} {
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runServe runs a README `mock serve` line until it prints "ready", then
// probes it as an editor's software would (CA and password from the files
// the command wrote) and returns "met=BOOL CHECK=STATUS ...".
func runServe(t *testing.T, sb *sandbox, line string) string {
	t.Helper()
	args := strings.Fields(strings.TrimPrefix(line, "msscprobe "))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out := &lineWatcher{ready: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, &env{stdin: strings.NewReader(""), stdout: out, stderr: &errb, getenv: sb.getenv})
	}()
	select {
	case <-out.ready:
	case code := <-done:
		t.Fatalf("mock serve exited %d before ready:\n%s\n%s", code, out.String(), errb.String())
	case <-ctx.Done():
		t.Fatalf("mock serve not ready in time:\n%s", out.String())
	}
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("mock serve did not stop when cancelled")
		}
	}()
	pw, err := os.ReadFile(filepath.Join(sb.dir, "mock-password.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(sb.dir, "mock-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(sb.dir, "editor", "probe.yaml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o755)
	writeProbeConfig(t, cfgPath, "127.0.0.1:3587", "127.0.0.1:3143", ca, mocks.DefaultAccountLocalPart+"@"+mocks.DefaultEstablishmentDomain, "MOCK_PW")
	cfg, err := probe.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "MOCK_PW" {
			return strings.TrimSpace(string(pw))
		}
		return ""
	}
	res, err := probe.Run(ctx, cfg, probe.Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	summary := []string{"met=" + strconv.FormatBool(res.Met)}
	for _, st := range res.Steps {
		for _, c := range st.Checks {
			summary = append(summary, c.ID+"="+string(c.Status))
		}
	}
	return strings.Join(summary, " ")
}

// lineWatcher collects output and closes ready at a line "ready".
type lineWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	seen  bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.seen {
		sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				w.seen = true
				close(w.ready)
				break
			}
		}
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func wantExit(t *testing.T, code, want int, out, errs string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, out, errs)
	}
}

func wantContains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// wantHeadline checks verify's first line, the answer a reviewer reads.
func wantHeadline(t *testing.T, out, want string) {
	t.Helper()
	if got, _, _ := strings.Cut(out, "\n"); got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
}

func wantFile(t *testing.T, sb *sandbox, name string) {
	t.Helper()
	if fi, err := os.Stat(filepath.Join(sb.dir, name)); err != nil || fi.Size() == 0 {
		t.Errorf("%s not written: %v", name, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if !filepath.IsAbs(from) {
		from = filepath.Join(testDir, from)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testDir is the package directory, captured before tests change directory.
var testDir, _ = os.Getwd()
