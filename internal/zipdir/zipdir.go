package zipdir

import (
	"encoding/binary"
	"io"
)

// Records counts the central directory records from where Start finds
// them, the way archive/zip reads them, and stops after limit+1: a result
// over limit means more than limit. It is 0 when there is no end record,
// which archive/zip then reports.
func Records(r io.ReaderAt, size int64, limit int) int {
	pos, ok := Start(r, size)
	if !ok {
		return 0
	}
	le16, le32 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint32
	var h [46]byte
	n := 0
	for ; n <= limit; n++ {
		if _, err := r.ReadAt(h[:], pos); err != nil || le32(h[:]) != 0x02014b50 {
			break
		}
		pos += 46 + int64(le16(h[28:])) + int64(le16(h[30:])) + int64(le16(h[32:]))
	}
	return n
}

// Start returns the offset of the central directory that the end record
// gives (through the zip64 end record when there is one, APPNOTE
// 4.3.14-16): the last end record whose comment fits in the file, which is
// the one archive/zip reads whenever it opens the archive. ok is false when
// there is none.
func Start(r io.ReaderAt, size int64) (pos int64, ok bool) {
	le16, le32 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint32
	tail := make([]byte, min(size, 22+0xffff))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return 0, false
	}
	i := len(tail) - 22
	for ; i >= 0; i-- {
		if le32(tail[i:]) == 0x06054b50 && i+22+int(le16(tail[i+20:])) <= len(tail) {
			break
		}
	}
	if i < 0 {
		return 0, false
	}
	pos = int64(le32(tail[i+16:]))
	if pos == 0xffffffff && i >= 20 && le32(tail[i-20:]) == 0x07064b50 {
		var z [56]byte
		if _, err := r.ReadAt(z[:], int64(binary.LittleEndian.Uint64(tail[i-12:]))); err != nil || le32(z[:]) != 0x06064b50 {
			return 0, false
		}
		pos = int64(binary.LittleEndian.Uint64(z[48:]))
	}
	return pos, true
}
