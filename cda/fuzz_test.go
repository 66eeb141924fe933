package cda

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzCheck feeds the checker arbitrary bytes, seeded with every fixture:
// it must never panic, always give a status, its scanner must never accept
// XML that etree refuses, and the reduced header must give the verdict of
// the whole document.
func FuzzCheck(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(fixtures, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 { // the zip bomb's 40 MiB member would slow every seed run
			f.Add(b)
		}
	}
	opts := Options{MaxSize: 1 << 20, MaxArchiveTotal: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs := CheckBytes("fuzz", data, opts)
		if len(docs) == 0 {
			t.Fatal("no document")
		}
		for _, d := range docs {
			if d.Status == "" {
				t.Fatalf("no status: %+v", d)
			}
		}
		if text, serr := toUTF8(data); serr == nil {
			header, serr := scan(text, maxDepth)
			if serr == nil && !etreeAccepts(text) {
				t.Fatalf("scanner accepted what etree refuses: %q", data)
			}
			if serr == nil {
				sameAsFullParse(t, text, header)
			}
		}
	})
}

// sameAsFullParse checks that the rules give the same result on the header
// the scanner kept as on the whole document.
func sameAsFullParse(t *testing.T, text, header []byte) {
	t.Helper()
	var short, full Document
	checkTree(&short, text, header, 0)
	checkTree(&full, text, text, 0)
	if !reflect.DeepEqual(short, full) {
		t.Fatalf("the reduced header changes the result:\n%+v\nwhole document:\n%+v\ninput %q", short, full, text)
	}
}

// TestReducedHeaderSameResult runs the FuzzCheck property on every fixture
// and every ANS example of the shared corpus (when present).
func TestReducedHeaderSameResult(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.xml"))
	dir, ok := sharedPath("corpus/cda")
	if !ok {
		t.Logf("%s absent: only the fixtures are checked (the ANS examples come from the project's shared research folder; see README.md)", dir)
	}
	corpus, _ := filepath.Glob(filepath.Join(dir, "*", "*.xml"))
	for _, f := range append(files, corpus...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text, serr := toUTF8(b)
		if serr != nil {
			continue
		}
		if header, serr := scan(text, maxDepth); serr == nil {
			sameAsFullParse(t, text, header)
		}
	}
}

// FuzzXDM feeds the XDM reader arbitrary archives, seeded with the XDM
// fixtures: never a panic; a refusal always comes with a finding; whatever
// it accepts has members whose local headers name them as the central
// directory does, and no member read past the size bound.
func FuzzXDM(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(fixtures, "*.zip"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) <= 64<<10 {
			f.Add(b)
		}
	}
	opts := Options{MaxSize: 1 << 20, MaxArchiveTotal: 4 << 20}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		x, findings := ReadXDM(data, opts)
		if x == nil && len(findings) == 0 && IsZip(data) {
			t.Fatalf("refused without a finding: %q", data)
		}
		if x == nil {
			return
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("accepted an unreadable zip: %v", err)
		}
		if f := localMismatch(data, zr); f != nil {
			t.Fatalf("accepted a zip with %s", f.Message.EN)
		}
		for _, s := range x.Subsets {
			for _, e := range s.Entries {
				if e.MemberSize > opts.MaxSize {
					t.Fatalf("member of %d bytes read past the %d limit", e.MemberSize, opts.MaxSize)
				}
			}
		}
	})
}
