package zipdir

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// Records counts what archive/zip reads, capped at limit+1.
func TestRecords(t *testing.T) {
	archive := func(n int, comment string, z64 bool) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		for i := range n {
			if _, err := w.CreateRaw(&zip.FileHeader{Name: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		w.SetComment(comment)
		w.Close()
		if !z64 {
			return b.Bytes()
		}
		// The same directory through a zip64 end record and its locator,
		// the end record's offset set to 0xffffffff (APPNOTE 4.3.14-16).
		le := binary.LittleEndian
		out := b.Bytes()
		end := bytes.Clone(out[len(out)-22:])
		out = out[:len(out)-22]
		z := make([]byte, 56+20)
		le.PutUint32(z[0:], 0x06064b50)
		le.PutUint64(z[4:], 44)
		le.PutUint64(z[24:], uint64(n))
		le.PutUint64(z[32:], uint64(n))
		le.PutUint64(z[40:], uint64(le.Uint32(end[12:])))
		le.PutUint64(z[48:], uint64(le.Uint32(end[16:])))
		le.PutUint32(z[56:], 0x07064b50)
		le.PutUint64(z[64:], uint64(len(out)))
		le.PutUint32(z[72:], 1)
		le.PutUint32(end[16:], 0xffffffff)
		return append(append(out, z...), end...)
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		limit int
		want  int
	}{
		{"empty archive", archive(0, "", false), 10, 0},
		{"five records", archive(5, "", false), 10, 5},
		{"capped", archive(50, "", false), 10, 11},
		{"with a comment", archive(5, "PK\x05\x06 not the end record", false), 10, 5},
		{"zip64", archive(5, "", true), 10, 5},
		{"not a zip", []byte("hello"), 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Records(bytes.NewReader(tc.b), int64(len(tc.b)), tc.limit); got != tc.want {
				t.Errorf("Records = %d, want %d", got, tc.want)
			}
			if zr, err := zip.NewReader(bytes.NewReader(tc.b), int64(len(tc.b))); err == nil && tc.want <= tc.limit && len(zr.File) != tc.want {
				t.Errorf("archive/zip reads %d records, Records %d", len(zr.File), tc.want)
			}
		})
	}
}
