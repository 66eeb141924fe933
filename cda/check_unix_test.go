//go:build unix

package cda

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckFolderSpecialFiles: folders are walked for regular files only
// (a FIFO named *.xml used to block Check for ever, deaf to ^C), symbolic
// links to files are followed, and a folder given as a symbolic link is
// walked (it used to be "no *.xml or *.zip file in this folder").
func TestCheckFolderSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(fixtures, "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(dir, "docs")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(docs, "sub"), 0o755),
		os.WriteFile(filepath.Join(docs, "a.xml"), data, 0o644),
		syscall.Mkfifo(filepath.Join(docs, "fifo.xml"), 0o644),
		os.Symlink("a.xml", filepath.Join(docs, "link.xml")),
		os.Symlink("sub", filepath.Join(docs, "dir-link.xml")),
		os.Symlink("docs", filepath.Join(dir, "share")),
		os.MkdirAll(filepath.Join(dir, "broken"), 0o755),
		os.Symlink("nowhere.xml", filepath.Join(dir, "broken", "dangling.xml")),
	} {
		if err != nil {
			t.Skip("cannot build the folder:", err)
		}
	}
	for _, tc := range []struct {
		in    string
		paths []string // nil: Check fails naming errIn
		errIn string
	}{
		{docs, []string{"docs/a.xml", "docs/link.xml"}, ""},
		{filepath.Join(dir, "share"), []string{"share/a.xml", "share/link.xml"}, ""},
		{filepath.Join(dir, "share") + "/", []string{"share/a.xml", "share/link.xml"}, ""},
		{filepath.Join(dir, "broken"), nil, "dangling.xml"},
	} {
		type result struct {
			r   *Report
			err error
		}
		done := make(chan result, 1)
		go func() {
			r, err := Check(context.Background(), []string{tc.in}, Options{}, nil)
			done <- result{r, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Check still running after 10 s", tc.in)
		}
		if tc.paths == nil {
			if res.err == nil || !strings.Contains(res.err.Error(), tc.errIn) {
				t.Errorf("%s: err %v, want one naming %s", tc.in, res.err, tc.errIn)
			}
			continue
		}
		if res.err != nil {
			t.Errorf("%s: %v", tc.in, res.err)
			continue
		}
		var got []string
		for _, d := range res.r.Documents {
			rel, _ := filepath.Rel(dir, d.Path)
			got = append(got, rel)
			if d.Status != StatusQualified {
				t.Errorf("%s: %s", d.Path, d.Status)
			}
		}
		if !slices.Equal(got, tc.paths) {
			t.Errorf("%s: documents %v, want %v", tc.in, got, tc.paths)
		}
	}
}
