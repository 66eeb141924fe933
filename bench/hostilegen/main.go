// Command hostilegen writes the hostile inputs of bench/hostile.sh into a
// folder: a valid evidence bundle of 2–3 MB holding three 64 MiB messages
// (every member within verify's caps), a small bundle whose signature.p7s
// is 158 bytes of nested BER, and a CDA document with 30 MiB
// of elements inside recordTarget (under cda check's default --max-size).
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/probe"
)

func main() {
	out := flag.String("out", ".", "folder to write the inputs to")
	cda := flag.String("cda", "testdata/cda/qualified.xml", "CDA document to inflate")
	flag.Parse()
	if err := run(*out, *cda); err != nil {
		fmt.Fprintln(os.Stderr, "hostilegen:", err)
		os.Exit(2)
	}
}

func run(out, cdaPath string) error {
	// One random byte in 256: deflate shrinks it about 100 times, under
	// verify's ratio bound of 200.
	big := make([]byte, 64<<20)
	noise := make([]byte, len(big)/256)
	rand.Read(noise)
	for i, c := range noise {
		big[i*256] = c
	}
	res := &probe.Result{Met: true, Token: "bench"}
	for _, kind := range []string{"sent", "reply", "dsn"} {
		res.Messages = append(res.Messages, probe.Message{Kind: kind, Raw: big})
	}
	var bundle bytes.Buffer
	if err := evidence.Write(context.Background(), &bundle, res, evidence.Options{}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "big-members.zip"), bundle.Bytes(), 0o644); err != nil {
		return err
	}
	var small bytes.Buffer
	if err := evidence.Write(context.Background(), &small, &probe.Result{Met: true, Token: "bench"}, evidence.Options{}); err != nil {
		return err
	}
	nested, err := withSignature(small.Bytes(), nestedBER(75))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "nested-ber.zip"), nested, 0o644); err != nil {
		return err
	}
	doc, err := os.ReadFile(cdaPath)
	if err != nil {
		return err
	}
	i := bytes.Index(doc, []byte("<recordTarget>"))
	if i < 0 {
		return fmt.Errorf("%s: no <recordTarget>", cdaPath)
	}
	i += len("<recordTarget>")
	inflated := append(append(append([]byte(nil), doc[:i]...), bytes.Repeat([]byte("<x/>"), 30<<20/4)...), doc[i:]...)
	return os.WriteFile(filepath.Join(out, "recordtarget.xml"), inflated, 0o644)
}

// withSignature copies bundle entry by entry, raw, replacing the content
// of META-INF/signature.p7s.
func withSignature(bundle, sig []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		if f.Name == "META-INF/signature.p7s" {
			// No Modified: archive/zip would add an extra field, which
			// verify refuses before it reads the signature.
			//lint:ignore SA1019 Modified would add the extra field, see above.
			fh := zip.FileHeader{Name: f.Name, Method: zip.Deflate, ModifiedDate: f.ModifiedDate, ModifiedTime: f.ModifiedTime}
			w, err := zw.CreateHeader(&fh)
			if err != nil {
				return nil, err
			}
			w.Write(sig)
			continue
		}
		r, err := f.OpenRaw()
		if err != nil {
			return nil, err
		}
		fh := f.FileHeader
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(w, r); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// nestedBER alternates SEQUENCE lengths that cover the rest with lengths
// that end right after the child's header (see evidence/hostile_test.go).
func nestedBER(levels int) []byte {
	inner := []byte{0x02, 0x00}
	for i := levels - 1; i >= 0; i-- {
		switch {
		case i%2 == 1:
			inner = append([]byte{0x30, 0x02}, inner...)
		case len(inner) < 0x80:
			inner = append([]byte{0x30, byte(len(inner))}, inner...)
		default:
			inner = append([]byte{0x30, 0x81, byte(len(inner))}, inner...)
		}
	}
	return inner
}
