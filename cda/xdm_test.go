package cda

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rezip copies the archive src, renaming members with rename and replacing
// the content of those named in replace (by their new name).
func rezip(t *testing.T, src string, rename func(string) string, replace map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(fixtures, src))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		name := rename(f.Name)
		b, ok := replace[name]
		if !ok {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(rc); err != nil {
				t.Fatal(err)
			}
			rc.Close()
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestXDMOddArchives: member names as various tools write them, and
// members that are not what METADATA.XML says.
func TestXDMOddArchives(t *testing.T) {
	same := func(s string) string { return s }
	inner, err := os.ReadFile(filepath.Join(fixtures, "xdm-ok.zip"))
	if err != nil {
		t.Fatal(err)
	}
	const doc, meta = "IHE_XDM/SUBSET01/DOC0001.XML", "IHE_XDM/SUBSET01/METADATA.XML"
	for _, tc := range []struct {
		desc    string
		rename  func(string) string
		replace map[string][]byte
		paths   []string
		rules   [][]string
	}{
		// Old .NET ZipFile wrote backslashes: they used to make XDM-001.
		{"backslashes", func(s string) string { return strings.ReplaceAll(s, "/", `\`) }, nil,
			[]string{`x.zip!IHE_XDM\SUBSET01\DOC0001.XML`}, [][]string{{"INS-011"}}},
		{"top folder", func(s string) string { return "export/" + s }, nil,
			[]string{"x.zip!export/" + doc}, [][]string{{"INS-011"}}},
		{"dot slash", func(s string) string { return "./" + s }, nil,
			[]string{"x.zip!./" + doc}, [][]string{{"INS-011"}}},
		{"lower case", strings.ToLower, nil,
			[]string{"x.zip!" + strings.ToLower(doc)}, [][]string{{"INS-011"}}},
		// A nested zip is a member like any other: not opened.
		{"nested zip", same, map[string][]byte{doc: inner},
			[]string{"x.zip!" + doc}, [][]string{{"CDA-001"}}},
		{"metadata not XML", same, map[string][]byte{meta: []byte("%PDF-1.4\n")},
			[]string{"x.zip!" + meta}, [][]string{{"CDA-001"}}},
		{"metadata with a DTD", same, map[string][]byte{meta: []byte(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`)},
			[]string{"x.zip!" + meta}, [][]string{{"CDA-003"}}},
		{"empty document", same, map[string][]byte{doc: nil},
			[]string{"x.zip!" + doc}, [][]string{{"CDA-001"}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			wantDocs(t, CheckBytes("x.zip", rezip(t, "xdm-ok.zip", tc.rename, tc.replace), Options{}), tc.paths, tc.rules)
		})
	}
}
