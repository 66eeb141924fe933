package cda

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/check"
)

const fixtures = "../testdata/cda"

// fixtureOpts makes oversize.xml (6 KiB) exceed the limit (4 KiB).
var fixtureOpts = Options{MaxSize: 4 << 10}

func rulesOf(d Document) []string {
	var ids []string
	for _, f := range d.Findings {
		ids = append(ids, f.Rule)
	}
	sort.Strings(ids)
	return ids
}

// TestFixtures asserts the status and the exact rule list of every fixture:
// one at least per rule and per status.
func TestFixtures(t *testing.T) {
	const t11 = "INS-011"
	for _, tc := range []struct {
		file   string
		status Status
		rules  []string
		opts   *Options
	}{
		{"qualified.xml", StatusQualified, nil, nil},
		{"qualified-nia.xml", StatusQualified, nil, nil},
		{"qualified-corsica.xml", StatusQualified, nil, nil},
		{"qualified-test.xml", StatusQualifiedTest, []string{t11}, nil},
		{"qualified-demo.xml", StatusQualifiedTest, []string{t11}, nil},
		{"prefixed.xml", StatusQualifiedTest, []string{t11}, nil},
		{"autopresentable.xml", StatusQualifiedTest, []string{t11}, nil},
		{"latin1.xml", StatusQualifiedTest, []string{t11}, nil},
		{"bom.xml", StatusQualifiedTest, []string{t11}, nil},
		{"same-ins-twice.xml", StatusQualifiedTest, []string{t11}, nil},
		{"sex-unknown.xml", StatusQualifiedTest, []string{t11}, nil},
		{"no-ins.xml", StatusNoINS, []string{"INS-001"}, nil},
		{"nss-nir-only.xml", StatusNoINS, []string{"INS-001"}, nil},
		{"guardian-ins.xml", StatusNoINS, []string{"INS-001"}, nil},
		{"several-ins.xml", StatusNotQualified, []string{"INS-002", t11}, nil},
		{"bad-format.xml", StatusNotQualified, []string{"INS-003", t11}, nil},
		{"bad-corsica-lower.xml", StatusNotQualified, []string{"INS-003"}, nil},
		{"bad-key.xml", StatusNotQualified, []string{"INS-004", t11}, nil},
		{"missing-traits.xml", StatusNotQualified, []string{"INS-005", "INS-005", "INS-005", "INS-005", "INS-005", "INS-005", t11}, nil},
		{"birth-partial.xml", StatusQualifiedTest, []string{"INS-006", t11}, nil},
		{"sex-mismatch.xml", StatusQualifiedTest, []string{"INS-007", t11}, nil},
		{"birth-mismatch.xml", StatusQualifiedTest, []string{"INS-008", t11}, nil},
		{"place-mismatch.xml", StatusQualifiedTest, []string{"INS-009", t11}, nil},
		{"given-mismatch.xml", StatusQualifiedTest, []string{"INS-010", t11}, nil},
		{"two-record-targets.xml", StatusNotQualified, []string{"HDR-001", t11}, nil},
		{"two-names.xml", StatusQualifiedTest, []string{"HDR-002", t11}, nil},
		{"qualifier-sp.xml", StatusQualifiedTest, []string{"HDR-003", "HDR-003", "HDR-003", t11}, nil},
		{"malformed.xml", StatusInvalid, []string{"CDA-001"}, nil},
		{"not-cda.xml", StatusNotCDA, []string{"CDA-006"}, nil},
		{"wrong-namespace.xml", StatusInvalid, []string{"CDA-002"}, nil},
		{"xxe.xml", StatusInvalid, []string{"CDA-003"}, nil},
		{"billion-laughs.xml", StatusInvalid, []string{"CDA-003"}, nil},
		{"oversize.xml", StatusInvalid, []string{"CDA-004"}, &fixtureOpts},
		{"not-xdm.zip", StatusInvalid, []string{"XDM-001"}, nil},
		{"zip-slip.zip", StatusInvalid, []string{"XDM-005"}, nil},
		{"zip-bomb.zip", StatusInvalid, []string{"XDM-005"}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			opts := Options{}
			if tc.opts != nil {
				opts = *tc.opts
			}
			r, err := Check(context.Background(), []string{filepath.Join(fixtures, tc.file)}, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Documents) != 1 {
				t.Fatalf("%d documents, want 1", len(r.Documents))
			}
			d := r.Documents[0]
			if got := rulesOf(d); d.Status != tc.status || !slices.Equal(got, tc.rules) {
				t.Errorf("status %s rules %v, want %s %v\nfindings: %+v", d.Status, got, tc.status, tc.rules, d.Findings)
			}
			for _, f := range d.Findings {
				if r, ok := Rules.Lookup(f.Rule); !ok || r.Severity != f.Severity || f.Message.FR == "" || f.Message.EN == "" || f.Source == "" {
					t.Errorf("finding %+v does not match its catalog rule", f)
				}
			}
		})
	}
}

func TestXDMFixtures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		paths []string
		rules [][]string
	}{
		{"xdm-ok.zip", []string{"xdm-ok.zip!IHE_XDM/SUBSET01/DOC0001.XML"}, [][]string{{"INS-011"}}},
		// Subset folder other than SUBSET01, entry named by its id only.
		{"xdm-ss-folder.zip", []string{"xdm-ss-folder.zip!IHE_XDM/SS000001/doc0001.xml"}, [][]string{{"INS-011"}}},
		{"xdm-missing.zip", []string{"xdm-missing.zip!IHE_XDM/SUBSET01/DOC0001.XML", "xdm-missing.zip!IHE_XDM/SUBSET01/DOC0002.XML"},
			[][]string{{"INS-011"}, {"XDM-002"}}},
		{"xdm-bad-patientid.zip", []string{"xdm-bad-patientid.zip!IHE_XDM/SUBSET01/DOC0001.XML"}, [][]string{{"INS-011", "XDM-003"}}},
		{"xdm-mismatch.zip", []string{"xdm-mismatch.zip!IHE_XDM/SUBSET01/DOC0001.XML"}, [][]string{{"INS-011", "XDM-004"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			wantDocs(t, CheckBytes(tc.file, data, Options{}), tc.paths, tc.rules)
		})
	}
}

// wantDocs compares the paths and the sorted rule IDs of docs.
func wantDocs(t *testing.T, docs []Document, paths []string, rules [][]string) {
	t.Helper()
	var gotPaths []string
	var gotRules [][]string
	for _, d := range docs {
		gotPaths = append(gotPaths, d.Path)
		gotRules = append(gotRules, rulesOf(d))
	}
	if !slices.Equal(gotPaths, paths) || !reflect.DeepEqual(gotRules, rules) {
		t.Errorf("paths %q rules %v, want %q %v", gotPaths, gotRules, paths, rules)
	}
}

func TestReadXDM(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "xdm-ok.zip"))
	if err != nil {
		t.Fatal(err)
	}
	x, fs := ReadXDM(data, Options{})
	if x == nil {
		t.Fatalf("findings %v", fs)
	}
	want := []XDMSubset{{Dir: "IHE_XDM/SUBSET01", SubmissionSetPatientID: "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH",
		Entries: []XDMEntry{{ID: "Document01", URI: "DOC0001.XML", MimeType: "text/xml", UniqueID: "1.2.250.1.999.1.1^DOC-0001",
			PatientID: "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH", Member: "IHE_XDM/SUBSET01/DOC0001.XML", MemberSize: -1}}}}
	for i := range x.Subsets {
		for j := range x.Subsets[i].Entries {
			x.Subsets[i].Entries[j].file = nil
		}
	}
	if !reflect.DeepEqual(x.Subsets, want) {
		t.Errorf("got %+v\nwant %+v", x.Subsets, want)
	}
	for _, bad := range []string{"zip-slip.zip", "not-xdm.zip"} {
		data, _ := os.ReadFile(filepath.Join(fixtures, bad))
		if x, fs := ReadXDM(data, Options{}); x != nil || len(fs) != 1 {
			t.Errorf("%s: got %+v, %v", bad, x, fs)
		}
	}
}

func TestParsePatientID(t *testing.T) {
	for _, tc := range []struct {
		in, value, oid string
		ok             bool
	}{
		{"279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH", "279035121518989", "1.2.250.1.213.1.4.10", true},
		{"279035121518989^^^&1.2.250.1.213.1.4.10&ISO^PI", "", "", false},
		{"279035121518989^^^&1.2.250.1.213.1.4.10&ISO", "", "", false},
		{"279035121518989^^^1.2.250.1.213.1.4.10^NH", "", "", false},
		{"279035121518989^^^&1.2..3&ISO^NH", "", "", false},
		{"279035121518989^^^&1.2.3&DNS^NH", "", "", false},
		{"^^^&1.2.3&ISO^NH", "", "", false},
		{"", "", "", false},
	} {
		v, oid, problem := ParsePatientID(tc.in)
		if v != tc.value || oid != tc.oid || (problem == nil) != tc.ok {
			t.Errorf("ParsePatientID(%q) = %q, %q, %v", tc.in, v, oid, problem)
		}
	}
}

func TestUnsafeArchiveLimits(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "xdm-ok.zip"))
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"entries": {MaxArchiveEntries: 2},
		"total":   {MaxArchiveTotal: 100},
	} {
		docs := CheckBytes("a.zip", data, o)
		if len(docs) != 1 || !slices.Equal(rulesOf(docs[0]), []string{"XDM-005"}) {
			t.Errorf("%s: %+v", name, docs)
		}
	}
}

func TestMeta(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	d := CheckBytes("q.xml", data, Options{})[0]
	want := Meta{IDRoot: "1.2.250.1.999.1.1", IDExtension: "DOC-0001", Title: "Lettre de liaison de test", Code: "11490-0",
		CodeSystem: "2.16.840.1.113883.6.1", DisplayName: "Lettre de liaison", EffectiveTime: "20260101120000+0100",
		ConfidentialityCode: "N", ConfidentialityCodeSystem: "2.16.840.1.113883.5.25", LanguageCode: "fr-FR",
		BirthFamily: "TESTMSSCPROBE", BirthGiven: "JEAN", BirthTime: "19850712", Gender: "M"}
	if d.Meta == nil || *d.Meta != want {
		t.Errorf("meta = %+v", d.Meta)
	}
	if d.INS == nil || *d.INS != (INS{OID: OIDInsNIR, Value: "185077505612323", Kind: KindNIR}) {
		t.Errorf("ins = %+v", d.INS)
	}
}

func TestMSSHeaders(t *testing.T) {
	q := Document{Status: StatusQualified, Code: "11490-0"}
	qt := Document{Status: StatusQualifiedTest, Code: "11502-2"}
	no := Document{Status: StatusNoINS, Code: "11490-0"}
	bad := Document{Status: StatusInvalid}
	for _, tc := range []struct {
		docs      []Document
		code, ins string
	}{
		{nil, "", ""},
		{[]Document{q, qt}, "11490-0,11502-2", "O"},
		{[]Document{q, no}, "11490-0,11490-0", "N"},
		{[]Document{bad}, "", "N"},
	} {
		if c, i := MSSHeaders(tc.docs); c != tc.code || i != tc.ins {
			t.Errorf("MSSHeaders(%v) = %q, %q; want %q, %q", tc.docs, c, i, tc.code, tc.ins)
		}
	}
}

func TestPassed(t *testing.T) {
	warn := check.Finding{Rule: "INS-011", Severity: check.Warning}
	errF := check.Finding{Rule: "HDR-003", Severity: check.Error}
	for _, tc := range []struct {
		docs       []Document
		test, prod bool
	}{
		{nil, false, false},
		{[]Document{{Status: StatusQualified}}, true, true},
		{[]Document{{Status: StatusQualifiedTest, Findings: []check.Finding{warn}}}, true, false},
		{[]Document{{Status: StatusQualified, Findings: []check.Finding{errF}}}, false, false},
		{[]Document{{Status: StatusQualified}, {Status: StatusNoINS}}, false, false},
	} {
		r := Report{Documents: tc.docs}
		if r.Passed(false) != tc.test || r.Passed(true) != tc.prod {
			t.Errorf("%+v: Passed = %v/%v, want %v/%v", tc.docs, r.Passed(false), r.Passed(true), tc.test, tc.prod)
		}
	}
}

// TestCheckOrderAndInputs walks the fixture folder with several job counts:
// same documents in the same (sorted) order, and a summary that adds up.
func TestCheckOrderAndInputs(t *testing.T) {
	var first []string
	for _, jobs := range []int{1, 2, 7} {
		r, err := Check(context.Background(), []string{fixtures}, Options{Jobs: jobs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, d := range r.Documents {
			paths = append(paths, d.Path)
		}
		if first == nil {
			first = paths
			if !sort.StringsAreSorted(paths) {
				t.Errorf("not in lexical order: %v", paths)
			}
		} else if !slices.Equal(paths, first) {
			t.Errorf("jobs=%d order differs", jobs)
		}
		total := 0
		for _, n := range r.Summary.ByStatus {
			total += n
		}
		if r.Schema != SchemaVersion || r.Summary.Total != len(r.Documents)-r.Summary.ByStatus[StatusNotCDA] || total != len(r.Documents) || len(r.Summary.ByStatus) != len(Statuses) {
			t.Errorf("summary %+v", r.Summary)
		}
	}
}

func TestCheckStdinAndErrors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	r, err := Check(context.Background(), []string{"-"}, Options{Stdin: bytesReader(data)}, func(int) { calls++ })
	if err != nil || len(r.Documents) != 1 || r.Documents[0].Status != StatusQualified || r.Documents[0].Path != "-" || calls != 1 {
		t.Fatalf("stdin: %v %+v calls=%d", err, r, calls)
	}
	// Standard input over the limit: CDA-004, and no more than limit+1 bytes read.
	src := &countingReader{data: data}
	r, err = Check(context.Background(), []string{"-"}, Options{Stdin: src, MaxSize: 100}, nil)
	if err != nil || !slices.Equal(rulesOf(r.Documents[0]), []string{"CDA-004"}) || src.n > 101 {
		t.Errorf("oversize stdin: %v, read %d bytes", err, src.n)
	}
	empty := t.TempDir()
	for _, in := range [][]string{{"/nonexistent/x.xml"}, {empty}, {"-", "-"}, nil} {
		if _, err := Check(context.Background(), in, Options{Stdin: bytesReader(data)}, nil); err == nil {
			t.Errorf("%v: no error", in)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, []string{fixtures}, Options{}, nil); err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestRulesDocumented keeps docs/cda.md in step with the catalog.
func TestRulesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/cda.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules.Rules() {
		if !strings.Contains(string(doc), "| "+r.ID+" | "+string(r.Severity)+" |") {
			t.Errorf("docs/cda.md does not list %s as %s", r.ID, r.Severity)
		}
	}
}
