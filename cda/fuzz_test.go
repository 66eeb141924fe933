package cda

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck feeds the checker arbitrary bytes, seeded with every fixture:
// it must never panic, always give a status, and its scanner must never
// accept XML that etree refuses.
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
			if _, serr := scan(text, maxDepth); serr == nil && !etreeAccepts(text) {
				t.Fatalf("scanner accepted what etree refuses: %q", data)
			}
		}
	})
}
