package cda

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCorpus checks the ANS example documents (shared/corpus/cda, listed in
// SOURCES.md) and asserts the status the rules give each one, from the
// per-file observations of SOURCES.md: bad keys make the INS not qualified;
// COG/YYMM mismatches are warnings; SP qualifiers are HDR-003 errors that
// leave the status alone.
func TestCorpus(t *testing.T) {
	dir, ok := sharedPath("corpus/cda")
	if !ok {
		skipWithoutShared(t, dir)
	}
	v3, v241 := "ansforge-TestContenuCDA-3-0/", "ansforge-TestContenuCDA-2-41/"
	want := map[string]struct {
		status Status
		rules  []string // errors and coherence warnings, INS-011 left out
	}{
		v241 + "CR-BIO_2021.01_PDF.xml":              {StatusQualified, []string{"HDR-003", "INS-010"}},
		v241 + "CSE-CS8_2021.01.xml":                 {StatusNotQualified, []string{"INS-004", "INS-005", "INS-005", "INS-008"}},
		v241 + "DOC_NON_STRUCTURE_CDA-R1.xml":        {StatusQualified, []string{"HDR-003", "INS-010"}},
		v241 + "F-PRC-DCI_1.4.xml":                   {StatusNotQualified, []string{"INS-004", "INS-005", "INS-005"}},
		v241 + "LDL-SES_2020.01.xml":                 {StatusQualified, []string{"HDR-003", "INS-010"}},
		v241 + "OBP-SCE_2021.01.xml":                 {StatusNotQualified, []string{"INS-004", "INS-005", "INS-005"}},
		v241 + "OPH-BRE_2021.01.xml":                 {StatusNotQualified, []string{"HDR-003", "INS-004", "INS-005", "INS-009"}},
		v241 + "VSM_1.4.xml":                         {StatusQualified, []string{"HDR-003", "INS-010"}},
		v3 + "BIO-CR-BIO_2023.01_Electrophorese.xml": {StatusQualifiedTest, []string{"INS-009"}},
		v3 + "CSE-CS24_2025.01.xml":                  {StatusNotQualified, []string{"INS-004", "INS-009"}},
		v3 + "CSE-CS8_2024.01.xml":                   {StatusNotQualified, []string{"INS-004", "INS-009"}},
		v3 + "CSE-CS8_2025.01.xml":                   {StatusNotQualified, []string{"INS-004", "INS-008", "INS-009"}},
		v3 + "CSE-CS9_2024.01.xml":                   {StatusNotQualified, []string{"INS-004", "INS-008", "INS-009"}},
		v3 + "CSE-MDE_2023.01.xml":                   {StatusNotQualified, []string{"INS-004"}},
		v3 + "OBP-SAP_2024.01.xml":                   {StatusQualified, []string{"INS-009"}},
		// The mother's INS under guardian must not be taken for the child's.
		v3 + "OBP-SNE_2024.01.xml":                     {StatusNotQualified, []string{"INS-004", "INS-009"}},
		v3 + "SDM-MR_2024.01_nouveau-ne.xml":           {StatusNotQualified, []string{"INS-004"}},
		v3 + "SDM-MR_2024.01_patiente-enceinte.xml":    {StatusQualifiedTest, []string{"INS-009"}},
		v3 + "eDISP-MED_2024.01.xml":                   {StatusQualified, []string{"HDR-003", "INS-009", "INS-010"}},
		v3 + "BIO-CR-BIO_2021.01_Auto-Presentable.xml": {StatusQualifiedTest, nil},
	}
	r, err := Check(context.Background(), []string{dir}, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Documents) != 44 {
		t.Errorf("%d documents, SOURCES.md lists 44", len(r.Documents))
	}
	for _, d := range r.Documents {
		rel, _ := filepath.Rel(dir, d.Path)
		rel = filepath.ToSlash(rel)
		w, listed := want[rel]
		if !listed {
			// Every other file has the consistent ANS test identity.
			w.status = StatusQualifiedTest
		}
		var got []string
		for _, id := range rulesOf(d) {
			if id != "INS-011" {
				got = append(got, id)
			}
		}
		if d.Status != w.status || !slices.Equal(got, w.rules) {
			t.Errorf("%s: %s %v, want %s %v", rel, d.Status, got, w.status, w.rules)
		}
		if d.Meta == nil || d.Code == "" {
			t.Errorf("%s: no header metadata", rel)
		}
	}
}

// sharedPath locates rel in the project's shared research folder:
// $MSSCPROBE_SHARED, else shared/ beside the repository. Its corpora (public
// ANS examples, listed with their sources in corpus/SOURCES.md there) are
// not in the repository; ok is false when the folder is absent.
func sharedPath(rel string) (path string, ok bool) {
	base := os.Getenv("MSSCPROBE_SHARED")
	if base == "" {
		base = filepath.Join("..", "..", "shared")
	}
	path = filepath.Join(base, rel)
	_, err := os.Stat(path)
	return path, err == nil
}

// skipWithoutShared is the message of a test that needs a shared corpus.
func skipWithoutShared(t *testing.T, path string) {
	t.Helper()
	t.Skipf("%s absent: this test reads the ANS examples of the project's shared research folder (../shared beside the repository, or $MSSCPROBE_SHARED; see README.md), which are not in the repository", path)
}
