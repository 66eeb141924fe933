package cda

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates: an upper bound on the heap it
// adds at its peak.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// inject puts extra inside the first element named at of the qualified.xml
// fixture.
func inject(t *testing.T, at string, extra []byte) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("<"+at))
	if i < 0 {
		t.Fatalf("no <%s in the fixture", at)
	}
	i += bytes.IndexByte(b[i:], '>') + 1
	return append(append(append([]byte(nil), b[:i]...), extra...), b[i:]...)
}

// The header tree is bounded (CDA-005): 30 MiB of elements inside
// recordTarget, within the default --max-size, took 1.68 GB as a tree.
func TestHeaderTreeBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   []byte
		rule  string
		bound uint64
	}{
		{"30 MiB of elements in recordTarget", inject(t, "recordTarget", bytes.Repeat([]byte("<x/>"), 30<<20/4)), "CDA-005", 50 << 20},
		{"attributes in recordTarget", inject(t, "patientRole", []byte("<x "+attrs(0, maxRecordTargetNodes)+"/>")), "CDA-005", 50 << 20},
		{"elements in the title", inject(t, "title", bytes.Repeat([]byte("<b/>"), maxHeaderNodes)), "CDA-005", 50 << 20},
		{"30 MiB of text in recordTarget", inject(t, "recordTarget", append(append([]byte("<x>"), bytes.Repeat([]byte("A"), 30<<20)...), "</x>"...)), "CDA-005", 50 << 20},
		{"30 MiB attribute value in the title", inject(t, "title", append(append([]byte(`<b a="`), bytes.Repeat([]byte("A"), 30<<20)...), `"/>`...)), "CDA-005", 50 << 20},
		{"just under the recordTarget bound", inject(t, "patientRole", bytes.Repeat([]byte("<x/>"), maxRecordTargetNodes-200)), "", 50 << 20},
		// The body is cut before the tree is built: any size passes.
		{"elements in the body", inject(t, "component", bytes.Repeat([]byte("<x/>"), 4<<20)), "", 50 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var docs []Document
			alloc := allocated(func() { docs = CheckBytes("doc.xml", tc.doc, Options{}) })
			got := rulesOf(docs[0])
			if has := strings.Contains(strings.Join(got, " "), "CDA-005"); has != (tc.rule != "") {
				t.Errorf("rules %v, want CDA-005: %v", got, tc.rule != "")
			}
			if tc.rule == "" && docs[0].INS == nil {
				t.Errorf("the INS was not read: %v", got)
			}
			if alloc > tc.bound {
				t.Errorf("%d bytes checked with %d MB allocated, bound %d MB", len(tc.doc), alloc>>20, tc.bound>>20)
			}
			t.Logf("%d bytes: %d KB allocated, %v", len(tc.doc), alloc>>10, got)
		})
	}
}

// --max-size is capped: a stream is never read past MaxSizeLimit.
func TestMaxSizeCapped(t *testing.T) {
	if o := (Options{MaxSize: 100 << 30}).withDefaults(); o.MaxSize != MaxSizeLimit {
		t.Errorf("MaxSize 100 GiB became %d, want %d", o.MaxSize, MaxSizeLimit)
	}
	if _, err := Check(t.Context(), []string{"/dev/zero"}, Options{MaxSize: 100 << 30}, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
}

// A stream (standard input, a named pipe) over --max-size is read once, in
// chunks, up to the bound: bytes.Buffer doubling to MaxSize+1 took four
// times MaxSize (1 GB of RSS at 256 MiB). Within the bound it is read whole.
func TestStreamReadWithinMaxSize(t *testing.T) {
	const max = 64 << 20
	zeros := func(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }
	var rep *Report
	alloc := allocated(func() {
		var err error
		rep, err = Check(t.Context(), []string{"-"}, Options{MaxSize: max, Stdin: zeros(max + 10<<20)}, nil)
		if err != nil {
			t.Fatal(err)
		}
	})
	if len(rep.Documents) != 1 || !slices.Contains(rulesOf(rep.Documents[0]), "CDA-004") {
		t.Fatalf("documents %+v, want CDA-004", rep.Documents)
	}
	if alloc > max+max/4 {
		t.Errorf("a stream over %d MiB read with %d MB allocated", max>>20, alloc>>20)
	}
	t.Logf("%d MB allocated", alloc>>20)
	doc, err := os.ReadFile(filepath.Join(fixtures, "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Check(t.Context(), []string{"-"}, Options{MaxSize: int64(len(doc)), Stdin: bytes.NewReader(doc)}, nil)
	if err != nil || len(rep.Documents) != 1 || rep.Documents[0].INS == nil {
		t.Errorf("a stream of exactly --max-size: %v %+v", err, rep)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// rawXDM rewrites xdm-ok.zip member by member, letting each member's name
// in the local header and in the central directory differ.
func rawXDM(t *testing.T, local, central func(string) string, extra map[string][]byte) []byte {
	t.Helper()
	b := rezip(t, "xdm-ok.zip", func(s string) string { return s }, nil)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		var data bytes.Buffer
		data.ReadFrom(rc)
		rc.Close()
		add(f.Name, data.Bytes())
	}
	for name, data := range extra {
		add(name, data)
	}
	zw.Close()
	res := out.Bytes()
	// Rename in place: local header names at offset 30, central at 46;
	// same lengths keep every offset valid.
	for _, f := range zr.File {
		for _, sig := range []struct {
			magic string
			at    int
			ren   func(string) string
		}{{"PK\x03\x04", 30, local}, {"PK\x01\x02", 46, central}} {
			name := sig.ren(f.Name)
			if len(name) != len(f.Name) {
				t.Fatalf("rename %q → %q changes the length", f.Name, name)
			}
			for i := 0; ; {
				j := bytes.Index(res[i:], []byte(sig.magic))
				if j < 0 {
					break
				}
				i += j
				if i+sig.at+len(f.Name) <= len(res) && string(res[i+sig.at:i+sig.at+len(f.Name)]) == f.Name {
					copy(res[i+sig.at:], name)
				}
				i += 4
			}
		}
	}
	return res
}

// Archives an extractor would read otherwise than this checker: XDM-005.
func TestXDMNamesRefused(t *testing.T) {
	same := func(s string) string { return s }
	const doc = "IHE_XDM/SUBSET01/DOC0001.XML"
	other := []byte("<ClinicalDocument/>")
	for _, tc := range []struct {
		name string
		zip  []byte
		want string
	}{
		{"duplicate name", rawXDM(t, same, same, map[string][]byte{doc: other}), "same file"},
		{"names equal ignoring case", rawXDM(t, same, same, map[string][]byte{strings.ToLower(doc): other}), "same file"},
		{"local name climbing", rawXDM(t, func(s string) string {
			if s == doc {
				return "../../../../../../../etc/x.X" // as long as doc
			}
			return s
		}, same, nil), "local header"},
		{"control", rawXDM(t, same, same, nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs := CheckBytes("x.zip", tc.zip, Options{})
			var msgs []string
			for _, d := range docs {
				for _, f := range d.Findings {
					if f.Rule == RuleUnsafeArchive.ID {
						msgs = append(msgs, f.Message.EN)
					}
				}
			}
			joined := strings.Join(msgs, "\n")
			if tc.want == "" && len(msgs) > 0 || tc.want != "" && !strings.Contains(joined, tc.want) {
				t.Errorf("XDM-005 findings %q, want %q", msgs, tc.want)
			}
		})
	}
}

// A METADATA.XML of more than maxMetadataNodes is not built into a tree.
func TestXDMMetadataBounded(t *testing.T) {
	const meta = "IHE_XDM/SUBSET01/METADATA.XML"
	huge := append([]byte("<r>"), bytes.Repeat([]byte("<x/>"), maxMetadataNodes+1)...)
	huge = append(huge, "</r>"...)
	z := rezip(t, "xdm-ok.zip", func(s string) string { return s }, map[string][]byte{meta: huge})
	var docs []Document
	alloc := allocated(func() { docs = CheckBytes("x.zip", z, Options{}) })
	if len(docs) != 1 || !strings.Contains(strings.Join(rulesOf(docs[0]), " "), "XDM-005") {
		t.Errorf("docs %+v, want XDM-005", docs)
	}
	if alloc > 50<<20 {
		t.Errorf("%d MB allocated", alloc>>20)
	}
}

// An archive of half a million one-letter directory records (25 MB, under
// the default --max-size) is refused from its count before archive/zip
// builds a record for each (XDM-005).
func TestXDMDirectoryCountedFirst(t *testing.T) {
	const n = 1 << 19
	record := make([]byte, 47)
	copy(record, "PK\x01\x02\x14\x00\x14\x00")
	record[28], record[46] = 1, 'a'
	local := []byte("PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00b")
	end := []byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1f\x00\x00\x00\x00\x00")
	z := append(append(local, bytes.Repeat(record, n)...), end...)
	var docs []Document
	alloc := allocated(func() { docs = CheckBytes("x.zip", z, Options{}) })
	if len(docs) != 1 || !strings.Contains(strings.Join(rulesOf(docs[0]), " "), "XDM-005") {
		t.Fatalf("docs %+v, want XDM-005", docs)
	}
	if alloc > 50<<20 {
		t.Errorf("%d-byte archive: %d MB allocated", len(z), alloc>>20)
	}
	t.Logf("%d-byte archive: %d KB allocated: %s", len(z), alloc>>10, docs[0].Findings[0].Message.EN)
}
