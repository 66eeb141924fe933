package message

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheckBytes feeds the message parser and every rule arbitrary bytes,
// seeded with the crafted corpus: never a panic, a verdict consistent with
// the findings, never more parts than the limit, and every finding with a
// rule, both texts and a source, and a bounded size.
func FuzzCheckBytes(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	opts := Options{MaxSize: 1 << 20, MaxParts: 50, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := Parse(data, opts.MaxParts, opts.MaxDepth); m != nil && len(m.Parts) > opts.MaxParts {
			t.Fatalf("%d parts past the limit %d (err %v)", len(m.Parts), opts.MaxParts, err)
		}
		r := CheckBytes("fuzz.eml", data, opts)
		hasError := false
		for _, f := range r.Findings {
			if f.Rule == "" || f.Message.FR == "" || f.Message.EN == "" || f.Source == "" {
				t.Fatalf("incomplete finding %+v", f)
			}
			if len(f.Message.FR)+len(f.Message.EN)+len(f.Location) > 8<<10 {
				t.Fatalf("finding %s of %d bytes: quoted values must be clipped", f.Rule, len(f.Message.FR)+len(f.Message.EN)+len(f.Location))
			}
			hasError = hasError || f.Severity == "error"
		}
		if r.Passed == hasError {
			t.Fatalf("passed %v with error findings %v", r.Passed, hasError)
		}
	})
}
