package zipdir

import (
	"encoding/binary"
	"io"
)

// Records counts the central directory records from the offset the end
// record gives (through the zip64 end record when there is one, APPNOTE
// 4.3.14-15), the way archive/zip reads them, and stops after limit+1: a
// result over limit means more than limit. It is 0 when there is no end
// record, which archive/zip then reports.
func Records(r io.ReaderAt, size int64, limit int) int {
	le16, le32 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint32
	tail := make([]byte, min(size, 22+0xffff))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return 0
	}
	// The last end record whose comment fits in the file, as archive/zip.
	i := len(tail) - 22
	for ; i >= 0; i-- {
		if le32(tail[i:]) == 0x06054b50 && i+22+int(le16(tail[i+20:])) <= len(tail) {
			break
		}
	}
	if i < 0 {
		return 0
	}
	pos, n := int64(le32(tail[i+16:])), 0
	if pos == 0xffffffff && i >= 20 && le32(tail[i-20:]) == 0x07064b50 {
		var z [56]byte
		if _, err := r.ReadAt(z[:], int64(binary.LittleEndian.Uint64(tail[i-12:]))); err != nil || le32(z[:]) != 0x06064b50 {
			return 0
		}
		pos = int64(binary.LittleEndian.Uint64(z[48:]))
	}
	var h [46]byte
	for ; n <= limit; n++ {
		if _, err := r.ReadAt(h[:], pos); err != nil || le32(h[:]) != 0x02014b50 {
			break
		}
		pos += 46 + int64(le16(h[28:])) + int64(le16(h[30:])) + int64(le16(h[32:]))
	}
	return n
}
