package evidence

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// rawEntry is one member of a hand-built zip, with every field a hostile
// producer controls. Zero values give what writeZip writes.
type rawEntry struct {
	name      string
	localName string // "" means name
	data      []byte
	deflate   bool
	// compressed, when set, is data already deflated.
	compressed []byte
	version    uint16 // version needed, 0 means 20
	flags      uint16
	creator    uint16 // host system in the high byte
	extAttrs   uint32 // external attributes (Unix mode << 16)
	localXtra  []byte // extra field in the local header only
	cdXtra     []byte // extra field in the central directory only
}

// rawZip lays entries out back to back, then the central directory and the
// end record, like writeZip but with whatever fields the entries say.
func rawZip(t *testing.T, entries []rawEntry) []byte {
	t.Helper()
	var out, cd bytes.Buffer
	le := binary.LittleEndian
	for _, e := range entries {
		body, method := e.data, uint16(0)
		if e.compressed != nil {
			body, method = e.compressed, 8
		} else if e.deflate {
			var z bytes.Buffer
			fw, _ := flate.NewWriter(&z, flate.DefaultCompression)
			fw.Write(e.data)
			fw.Close()
			body, method = z.Bytes(), 8
		}
		version := e.version
		if version == 0 {
			version = 20
		}
		local := e.localName
		if local == "" {
			local = e.name
		}
		off := out.Len()
		h := make([]byte, 30)
		le.PutUint32(h, 0x04034b50)
		le.PutUint16(h[4:], version)
		le.PutUint16(h[6:], e.flags)
		le.PutUint16(h[8:], method)
		le.PutUint32(h[14:], crc32.ChecksumIEEE(e.data))
		le.PutUint32(h[18:], uint32(len(body)))
		le.PutUint32(h[22:], uint32(len(e.data)))
		le.PutUint16(h[26:], uint16(len(local)))
		le.PutUint16(h[28:], uint16(len(e.localXtra)))
		out.Write(h)
		out.WriteString(local)
		out.Write(e.localXtra)
		out.Write(body)
		c := make([]byte, 46)
		le.PutUint32(c, 0x02014b50)
		le.PutUint16(c[4:], e.creator|20)
		copy(c[6:], h[4:26])
		le.PutUint16(c[28:], uint16(len(e.name)))
		le.PutUint16(c[30:], uint16(len(e.cdXtra)))
		le.PutUint32(c[38:], e.extAttrs)
		le.PutUint32(c[42:], uint32(off))
		cd.Write(c)
		cd.WriteString(e.name)
		cd.Write(e.cdXtra)
	}
	cdOff := out.Len()
	out.Write(cd.Bytes())
	end := make([]byte, 22)
	le.PutUint32(end, 0x06054b50)
	le.PutUint16(end[8:], uint16(len(entries)))
	le.PutUint16(end[10:], uint16(len(entries)))
	le.PutUint32(end[12:], uint32(cd.Len()))
	le.PutUint32(end[16:], uint32(cdOff))
	out.Write(end)
	return out.Bytes()
}

// signedEntries turns data files into a whole bundle's entries: mimetype,
// the files, and a manifest over them signed by pki, so that only the
// zip-level twist under test is wrong. manifestFiles, when not nil, are the
// files the manifest lists instead.
func signedEntries(t *testing.T, pki *signerPKI, data []rawEntry, manifestFiles []file) []rawEntry {
	t.Helper()
	if manifestFiles == nil {
		for _, e := range data {
			manifestFiles = append(manifestFiles, file{e.name, e.data})
		}
	}
	manifest := renderManifest(manifestFor(manifestFiles))
	sig, err := signDetached(context.Background(), manifest, pki.key, pki.chain, "")
	if err != nil {
		t.Fatal(err)
	}
	all := append([]rawEntry{{name: nameMimetype, data: []byte(mimetypeASiCE)}}, data...)
	return append(all, rawEntry{name: nameManifest, data: manifest, deflate: true}, rawEntry{name: nameSignature, data: sig, deflate: true})
}
