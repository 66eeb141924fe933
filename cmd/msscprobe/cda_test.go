package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

const cdaFixtures = "../../testdata/cda"

func fx(name string) string { return filepath.Join(cdaFixtures, name) }

func TestCDACheckExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"cda", "check", fx("qualified.xml")}, exitOK, "INS qualifié"},
		{[]string{"cda", "check", fx("qualified-test.xml")}, exitOK, "INS qualifié (test) : 1"},
		{[]string{"cda", "check", "--production", fx("qualified-test.xml")}, exitFailed, "erreur INS-012"},
		// DS 4.1 counts real patients: a test INS refused by --production is
		// out of the qualified share.
		{[]string{"cda", "check", "--production", fx("qualified-test.xml"), fx("qualified.xml")}, exitFailed, "part avec INS qualifié : 50,0 %"},
		{[]string{"cda", "check", fx("qualified-test.xml"), fx("qualified.xml")}, exitOK, "part avec INS qualifié : 100,0 %"},
		{[]string{"cda", "check", "--production", fx("qualified.xml"), fx("qualified-nia.xml")}, exitOK, "part avec INS qualifié : 100,0 %"},
		{[]string{"cda", "check", fx("two-names.xml")}, exitFailed, "HDR-002"},
		{[]string{"cda", "check", fx("no-ins.xml")}, exitFailed, "sans INS"},
		{[]string{"cda", "check", "--lang", "en", fx("bad-key.xml")}, exitFailed, "INS not qualified"},
		{[]string{"cda", "check", "--lang", "en", "--jobs", "1", fx("qualified.xml"), fx("xxe.xml")}, exitFailed, "2 documents — qualified INS: 1, qualified INS (test): 0, INS not qualified: 0, no INS: 0, invalid CDA: 1; qualified INS share: 50.0%"},
		{[]string{"cda", "check", "--max-size", "4KiB", fx("oversize.xml")}, exitFailed, "CDA-004"},
		{[]string{"cda", "check", fx("xdm-ok.zip")}, exitOK, "xdm-ok.zip!IHE_XDM/SUBSET01/DOC0001.XML"},
	} {
		code, out, errs := runCLI(t, "", nil, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("%v: code %d, want %d; stdout %q does not contain %q; stderr %q", tc.args, code, tc.code, out, tc.out, errs)
		}
		if errs != "" && code != exitUsage {
			t.Errorf("%v: stderr %q (progress must stay off when stderr is not a terminal)", tc.args, errs)
		}
	}
}

func TestCDACheckUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"cda", "check"}, "attend CHEMIN..."},
		{[]string{"cda", "check", "/nonexistent/doc.xml"}, "/nonexistent/doc.xml"},
		{[]string{"cda", "check", "--format", "yaml", fx("qualified.xml")}, "--format"},
		{[]string{"cda", "check", "--lang", "de", fx("qualified.xml")}, "fr ou en attendu"},
		{[]string{"cda", "check", "--max-size", "lots", fx("qualified.xml")}, "--max-size"},
		{[]string{"cda", "check", "--max-size", "2000G", fx("qualified.xml")}, "de 1 octet à 1024GiB"},
		{[]string{"cda", "check", "--jobs", "-1", fx("qualified.xml")}, "--jobs"},
		{[]string{"cda", "check", t.TempDir()}, "aucun fichier *.xml, *.zip ou *.eml"},
	} {
		code, out, errs := runCLI(t, "", nil, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.err) || out != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q (want %q)", tc.args, code, out, errs, tc.err)
		}
	}
}

func TestCDACheckStdin(t *testing.T) {
	data, err := os.ReadFile(fx("qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, string(data), nil, "cda", "check", "-")
	if code != exitOK || !strings.HasPrefix(out, "- : INS qualifié (INS 185077505612323") {
		t.Errorf("code %d, stdout %q", code, out)
	}
}

func TestCDACheckJSON(t *testing.T) {
	code, out, _ := runCLI(t, "", nil, "cda", "check", "--format", "json", cdaFixtures)
	if code != exitFailed {
		t.Errorf("code %d", code)
	}
	var r cda.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if r.Schema != cda.SchemaVersion || r.Summary.Total != len(r.Documents)-r.Summary.ByStatus[cda.StatusNotCDA] || len(r.Documents) < 40 {
		t.Errorf("schema %q, summary %+v, %d documents", r.Schema, r.Summary, len(r.Documents))
	}
	// The documented field names (docs/cda.md).
	var raw struct {
		Documents []map[string]json.RawMessage `json:"documents"`
		Summary   map[string]json.RawMessage   `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"total", "by_status", "qualified_share"} {
		if _, ok := raw.Summary[k]; !ok {
			t.Errorf("summary has no %q", k)
		}
	}
	for _, d := range raw.Documents {
		if strings.HasSuffix(string(d["path"]), `qualified.xml"`) {
			for _, k := range []string{"path", "status", "ins", "document_code", "findings", "meta"} {
				if _, ok := d[k]; !ok {
					t.Errorf("document has no %q", k)
				}
			}
		}
	}
}

func TestCDACheckJUnit(t *testing.T) {
	code, out, _ := runCLI(t, "", nil, "cda", "check", "--format", "junit", "--lang", "en", fx("qualified.xml"), fx("bad-key.xml"))
	if code != exitFailed {
		t.Errorf("code %d", code)
	}
	var s check.JUnitSuites
	if err := xml.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if s.Tests != 2 || s.Failures != 1 || s.Suites[0].Cases[1].Failure == nil || !strings.Contains(s.Suites[0].Cases[1].Failure.Message, "INS-004") {
		t.Errorf("junit %+v", s)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"32MiB": 32 << 20, "500KB": 500 << 10, "1048576": 1 << 20, "2g": 2 << 30, " 4 KiB ": 4 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "1TiB", "abc", "9999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// TestCDACheckText: plural agreement, and names or values from the inputs
// can neither break lines nor send terminal escapes.
func TestCDACheckText(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(fx("qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "a\x1b[2J\nb.xml")
	empty := filepath.Join(dir, "empty.xml")
	if err := os.WriteFile(odd, data, 0o644); err != nil {
		t.Skip("file names with control characters:", err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		lines []string // the whole output, line by line
	}{
		{[]string{fx("qualified.xml")}, []string{
			fx("qualified.xml") + " : INS qualifié (INS 185077505612323, OID 1.2.250.1.213.1.4.8) [code 11490-0]",
			"1 document — INS qualifié : 1, INS qualifié (test) : 0, INS non qualifié : 0, sans INS : 0, CDA invalide : 0 ; part avec INS qualifié : 100,0 %"}},
		{[]string{"--lang", "en", odd}, []string{
			filepath.Join(dir, "a\uFFFD[2J\uFFFDb.xml") + ": qualified INS (INS 185077505612323, OID 1.2.250.1.213.1.4.8) [code 11490-0]",
			"1 document — qualified INS: 1, qualified INS (test): 0, INS not qualified: 0, no INS: 0, invalid CDA: 0; qualified INS share: 100.0%"}},
		{[]string{empty}, []string{
			empty + " : CDA invalide",
			"  erreur CDA-001 [1:1] : XML mal formé ligne 1 colonne 1 : document vide ; corriger le générateur du document",
			"1 document — INS qualifié : 0, INS qualifié (test) : 0, INS non qualifié : 0, sans INS : 0, CDA invalide : 1 ; part avec INS qualifié : 0,0 %"}},
	} {
		_, out, _ := runCLI(t, "", nil, append([]string{"cda", "check"}, tc.args...)...)
		if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, tc.lines) {
			t.Errorf("%q:\n%s\nwant\n%s", tc.args, strings.Join(got, "\n"), strings.Join(tc.lines, "\n"))
		}
	}
	for _, tc := range []struct {
		lang  check.Lang
		total int
		want  string
	}{
		{check.FR, 0, "0 document — "}, {check.EN, 0, "0 documents — "},
		{check.FR, 2, "2 documents — "}, {check.EN, 1, "1 document — "},
	} {
		if got := summaryLine(cda.Summarize(make([]cda.Document, tc.total)), tc.lang); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %d: %q", tc.lang, tc.total, got)
		}
	}
}
