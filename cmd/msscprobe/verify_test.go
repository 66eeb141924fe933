package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

// writeOut writes res with the bundle flags args and returns what the
// command printed on stderr.
func writeOut(t *testing.T, res *probe.Result, args ...string) (string, error) {
	t.Helper()
	cmd := newVersionCmd(&env{})
	bf := addBundleFlags(&env{}, cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	_, err := bf.write(context.Background(), &env{getenv: func(string) string { return "" }, stderr: &stderr, stdout: &bytes.Buffer{}}, res, check.FR)
	return stderr.String(), err
}

// --out chooses the form by its extension; the démarches-simplifiées
// self-check warns about the bare container, never about the PDF.
func TestOutForms(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, out string
		usage     bool
		warn      string
	}{
		{"pdf", "preuve.pdf", false, ""},
		{"PDF upper case", "PREUVE.PDF", false, ""},
		{"asice", "preuve.asice", false, "application/vnd.etsi.asic-e+zip, type qu'il refuse"},
		{"zip is still ASiC-E by content", "preuve.zip", false, "application/vnd.etsi.asic-e+zip"},
		{"other extension", "preuve.txt", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.out)
			stderr, err := writeOut(t, handResult(t), "--out", out)
			if tc.usage {
				var ee *exitError
				if err == nil || !strings.Contains(err.Error(), "--out") || !errors.As(err, &ee) || ee.code != exitUsage {
					t.Errorf("err %v, want a usage error naming --out", err)
				}
				if _, serr := os.Stat(out); serr == nil {
					t.Error("a file was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.warn == "" && stderr != "" || tc.warn != "" && !strings.Contains(stderr, tc.warn) {
				t.Errorf("stderr %q, want %q", stderr, tc.warn)
			}
			if code, vout, verrs := runCLI(t, "", nil, "verify", out); code != exitOK {
				t.Errorf("verify: exit %d\n%s%s", code, vout, verrs)
			}
		})
	}
}

// An ARS batch: folders walked, one line per file and a summary, a table
// with the same run flagged in both rows, exit 1 when one file is not
// intact, --strict refusing test-bed evidence.
func TestVerifyBatch(t *testing.T) {
	s := newTestSigner(t)
	dir := t.TempDir()
	folder := filepath.Join(dir, "candidatures")
	sub := filepath.Join(folder, "ars-bfc")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(folder, "ch-a.pdf")
	if _, err := writeOut(t, handResult(t), "--out", a, "--sign-cert", s.certFile, "--sign-key", s.keyFile); err != nil {
		t.Fatal(err)
	}
	other := handResult(t)
	other.Token = "autre-execution"
	b := filepath.Join(sub, "ch-b.asice")
	if _, err := writeOut(t, other, "--out", b, "--sign-cert", s.certFile, "--sign-key", s.keyFile); err != nil {
		t.Fatal(err)
	}
	dup := filepath.Join(sub, "ch-a-copie.pdf")
	copyFile(t, a, dup)
	os.WriteFile(filepath.Join(folder, "notes.txt"), []byte("ignored"), 0o600)

	code, out, errs := runCLI(t, "", nil, "verify", "--ca", s.rootFile, folder)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, w := range []string{a + " : TEST — PS 4.1 atteint", b + " : TEST", "MÊME EXÉCUTION que : " + dup, "MÊME EXÉCUTION que : " + a,
		"3 fichiers vérifiés : 3 intègres, 0 non intègres ou illisibles ; 0 recevables"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "notes.txt") {
		t.Errorf("a .txt file was verified:\n%s", out)
	}
	if code, _, _ := runCLI(t, "", nil, "verify", "--strict", "--ca", s.rootFile, folder); code != exitFailed {
		t.Errorf("--strict on test-bed evidence: exit %d, want 1", code)
	}

	// A modified file in the folder: exit 1, its row says what changed.
	bad := filepath.Join(sub, "ch-c.pdf")
	data, _ := os.ReadFile(a)
	data[len(data)/2] ^= 1
	os.WriteFile(bad, data, 0o600)
	code, out, errs = runCLI(t, "", nil, "verify", "--format", "csv", "--lang", "en", "--ca", s.rootFile, folder)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 5 {
		t.Fatalf("csv: %v, %d records\n%s", err, len(recs), out)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"file", "establishment", "FINESS", "test date (UTC)", "PS 4.1", "environment", "integrity", "signer", "fingerprint", "acceptable", "reasons", "same run as", "problems"} {
		if _, ok := col[h]; !ok {
			t.Errorf("no column %q in %q", h, recs[0])
		}
	}
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		rows[r[col["file"]]] = r
	}
	if r := rows[bad]; r[col["integrity"]] != "NOT INTACT" || !strings.Contains(r[col["problems"]], "pdf-signature-invalid") || r[col["acceptable"]] != "no" {
		t.Errorf("modified row: %q", r)
	}
	if r := rows[a]; r[col["integrity"]] != "intact" || r[col["environment"]] != "TEST" || r[col["FINESS"]] != "010000016" ||
		!strings.Contains(r[col["same run as"]], dup) || !strings.Contains(r[col["reasons"]], "test environment") {
		t.Errorf("row of %s: %q", a, r)
	}
	if r := rows[b]; r[col["same run as"]] != "" {
		t.Errorf("another run flagged: %q", r)
	}

	// JSON: the same table, stable values.
	code, out, _ = runCLI(t, "", nil, "verify", "--format", "json", "--ca", s.rootFile, a, b)
	var table []struct {
		File, Kind, PS41, Environment, Colour string
		Intact, Acceptable                    bool
		SameRunAs                             []string `json:"same_run_as"`
	}
	if err := json.Unmarshal([]byte(out), &table); err != nil || code != exitOK || len(table) != 2 ||
		table[0].Kind != "pdf" || table[1].Kind != "asice" || table[0].PS41 != "met" || table[0].Environment != "test" ||
		table[0].Colour != "orange" || !table[0].Intact || table[0].Acceptable {
		t.Errorf("json: exit %d, %v, %+v", code, err, table)
	}

	// Bad inputs: a missing path, a folder with nothing to verify, a
	// single file that is neither PDF nor ZIP (2); the same inside a batch
	// is a row (1).
	empty := filepath.Join(dir, "vide")
	os.MkdirAll(empty, 0o755)
	junk := filepath.Join(dir, "junk.pdf")
	os.WriteFile(junk, []byte("hello"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", filepath.Join(dir, "absent.pdf")}, exitUsage, "absent.pdf"},
		{[]string{"verify", empty}, exitUsage, "aucun fichier .pdf, .asice ou .zip"},
		{[]string{"verify", junk}, exitUsage, "junk.pdf"},
		{[]string{"verify", junk, a}, exitFailed, ""},
	} {
		code, out, errs := runCLI(t, "", nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d\n%s%s", tc.args, code, out, errs)
		}
	}
}
