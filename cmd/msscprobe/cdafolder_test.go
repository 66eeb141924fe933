package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cdaFolder copies fixtures into DIR/sortie, as an editor's output folder.
func cdaFolder(t *testing.T, dir string, names ...string) string {
	t.Helper()
	out := filepath.Join(dir, "sortie")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		copyFile(t, fx(n), filepath.Join(out, n))
	}
	return out
}

// TestCDACheckRealFolder: an XML file that is not a CDA document is listed
// apart, passes, and is out of the DS 4.1 share; --production makes a test
// INS an error that says why.
func TestCDACheckRealFolder(t *testing.T) {
	dir := cdaFolder(t, t.TempDir(), "qualified.xml", "qualified-test.xml", "not-cda.xml")
	code, out, errs := runCLI(t, "", nil, "cda", "check", dir)
	wantExit(t, code, exitOK, out, errs)
	wantContains(t, out, "Pas des documents CDA (hors part DS 4.1) :\n  "+filepath.Join(dir, "not-cda.xml")+"\n",
		"2 documents — ", "part avec INS qualifié : 100,0 % (et 1 fichier qui n'est pas un document CDA, hors part)")
	if strings.Contains(out, "not-cda.xml : ") {
		t.Errorf("the non-CDA file is listed among the documents:\n%s", out)
	}

	code, out, errs = runCLI(t, "", nil, "cda", "check", "--format", "json", dir)
	wantExit(t, code, exitOK, out, errs)
	var rep struct {
		Summary struct {
			Total          int            `json:"total"`
			ByStatus       map[string]int `json:"by_status"`
			QualifiedShare float64        `json:"qualified_share"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Total != 2 || rep.Summary.ByStatus["not-cda"] != 1 || rep.Summary.QualifiedShare != 1 {
		t.Errorf("summary %+v, want total 2, not-cda 1, share 1", rep.Summary)
	}

	code, out, errs = runCLI(t, "", nil, "cda", "check", "--production", dir)
	wantExit(t, code, exitFailed, out, errs)
	wantContains(t, out, "qualified-test.xml : INS qualifié (test), REFUSÉ avec --production",
		"erreur INS-012 [ClinicalDocument/recordTarget/patientRole/id[1]] : INS 279035121518989 (OID 1.2.250.1.213.1.4.10) : identité fictive")
	if strings.Contains(out, "avertissement INS-011") {
		t.Errorf("--production still shows the test INS as a warning:\n%s", out)
	}
	_, enOut, _ := runCLI(t, "", nil, "cda", "check", "--production", "--lang", "en", dir)
	wantContains(t, enOut, "REFUSED with --production", "error INS-012")

	// Only non-CDA files: nothing counts for DS 4.1, so it does not pass.
	only := cdaFolder(t, t.TempDir(), "not-cda.xml")
	code, out, errs = runCLI(t, "", nil, "cda", "check", only)
	wantExit(t, code, exitFailed, out, errs)
}

// TestCDACheckJUnitNames: test case names are relative to the folder given,
// whatever its absolute location, so CI tools follow a document from run
// to run.
func TestCDACheckJUnitNames(t *testing.T) {
	var runs [][]string
	for range 2 {
		dir := cdaFolder(t, t.TempDir(), "qualified.xml", "xdm-ok.zip")
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "", nil, "cda", "check", "--format", "junit", abs)
		wantExit(t, code, exitOK, out, errs)
		var doc struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testsuite>testcase"`
		}
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range doc.Cases {
			names = append(names, c.Name)
		}
		runs = append(runs, names)
	}
	want := []string{"sortie/qualified.xml", "sortie/xdm-ok.zip!IHE_XDM/SUBSET01/DOC0001.XML"}
	if !slices.Equal(runs[0], want) || !slices.Equal(runs[1], want) {
		t.Errorf("JUnit names %v then %v, want %v both times", runs[0], runs[1], want)
	}
	if got := junitName(`C:\out\a.xml`, []string{`C:\out`}); got != "C:\\out\\a.xml" && got != "out/a.xml" {
		t.Errorf("junitName with a Windows path = %q", got)
	}
}

// TestCDACheckEML: an .eml given to cda check (or found in a folder) has
// its IHE_XDM.ZIP attachments checked; without one it says so.
func TestCDACheckEML(t *testing.T) {
	dir := t.TempDir()
	zip, err := os.ReadFile(fx("xdm-ok.zip"))
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: medecin@hopital.test.mssante.fr\r\nTo: 279035121518989@patient.mssante.fr\r\nSubject: CR\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n" +
		"--B\r\nContent-Type: application/zip; name=\"IHE_XDM.ZIP\"\r\nContent-Disposition: attachment; filename=\"IHE_XDM.ZIP\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(zip) + "\r\n--B--\r\n"
	eml := filepath.Join(dir, "envoi.eml")
	plain := filepath.Join(dir, "sans-piece-jointe.eml")
	if err := os.WriteFile(eml, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("From: a@b.fr\r\nSubject: x\r\n\r\nbonjour\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", nil, "cda", "check", eml)
	wantExit(t, code, exitOK, out, errs)
	wantContains(t, out, eml+"!IHE_XDM.ZIP!IHE_XDM/SUBSET01/DOC0001.XML : INS qualifié (test)")

	// An ordinary mail carries no CDA: listed apart, out of the DS 4.1
	// share, not a failure of the folder.
	code, out, errs = runCLI(t, "", nil, "cda", "check", dir)
	wantExit(t, code, exitOK, out, errs)
	wantContains(t, out, "Pas des documents CDA (hors part DS 4.1) :\n  "+plain, "part avec INS qualifié : 100,0 %")
	code, out, errs = runCLI(t, "", nil, "cda", "check", "--format", "json", plain)
	wantExit(t, code, exitFailed, out, errs)
	wantContains(t, out, `"status": "not-cda"`, "CDA-006", "pas de pièce jointe IHE_XDM.ZIP")
}

// TestCDACheckInterruptedShowsResults: Ctrl-C while an input is still being
// read prints what was checked, then exits 130 saying the results are
// partial.
func TestCDACheckInterruptedShowsResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe() // standard input that never ends
	defer pw.Close()
	var out, errb bytes.Buffer
	go func() { time.Sleep(500 * time.Millisecond); cancel() }()
	code := run(ctx, []string{"cda", "check", "--jobs", "2", fx("qualified.xml"), "-"},
		&env{stdin: pr, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	if code != exitSignals {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitSignals, out.String(), errb.String())
	}
	wantContains(t, out.String(), "qualified.xml : INS qualifié", "1 document — ")
	wantContains(t, errb.String(), "interrompu : résultats partiels ci-dessus (1 document CDA vérifié)")
}
