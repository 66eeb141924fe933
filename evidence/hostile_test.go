package evidence

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Bounds promised for hostile CMS input (docs/evidence-format.md §Limits):
// any input up to 1 MB parses or fails in under a second and 50 MB.
const (
	cmsTimeBound  = time.Second
	cmsAllocBound = 50 << 20
)

// measure runs f and returns how long it took and the bytes it allocated,
// an upper bound on the heap it added at its peak.
func measure(f func()) (time.Duration, uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.TotalAlloc - before.TotalAlloc
}

// timeBound is cmsTimeBound, stretched under the race detector.
func timeBound(d time.Duration) time.Duration {
	if raceEnabled {
		return 10 * d
	}
	return d
}

// nestedBER builds levels of SEQUENCEs alternating a length that covers the
// rest with one that ends right after the child's header, so each child
// runs past its parent: smallstep/pkcs7's BER-to-DER conversion parses each
// level twice (2.1 GB and 5.8 s at 122 bytes, out of memory at 154).
func nestedBER(levels int) []byte {
	inner := []byte{0x02, 0x00}
	for i := levels - 1; i >= 0; i-- {
		if i%2 == 1 {
			inner = append([]byte{0x30, 0x02}, inner...)
			continue
		}
		inner = append(derHeader(0x30, len(inner)), inner...)
	}
	return inner
}

func derHeader(tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{tag, byte(n)}
	case n < 0x100:
		return []byte{tag, 0x81, byte(n)}
	case n < 0x10000:
		return []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
}

// deepDER is valid DER: depth SEQUENCEs around an OCTET STRING of size
// bytes.
func deepDER(depth, size int) []byte {
	b := append(derHeader(0x04, size), make([]byte, size)...)
	for range depth - 1 {
		b = append(derHeader(0x30, len(b)), b...)
	}
	return b
}

// wideDER is one SEQUENCE of about 1 MB holding empty objects of tag:
// the most objects a megabyte can hold.
func wideDER(tag byte) []byte {
	body := bytes.Repeat([]byte{tag, 0}, (1<<20-8)/2)
	return append(derHeader(0x30, len(body)), body...)
}

// wideDERn is one SEQUENCE holding n empty SEQUENCEs.
func wideDERn(n int) []byte {
	body := bytes.Repeat([]byte{0x30, 0}, n)
	return append(derHeader(0x30, len(body)), body...)
}

func TestParseCMSBounded(t *testing.T) {
	random := make([]byte, 1<<20)
	rand.Read(random)
	random[0] = 0x30
	// early: refused by the DER check, before smallstep/pkcs7 sees it.
	for _, tc := range []struct {
		name  string
		b     []byte
		early bool
	}{
		{"nested BER, 122 bytes", nestedBER(60), true},
		{"nested BER, 158 bytes", nestedBER(75), true},
		{"indefinite length", []byte{0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00}, true},
		{"long form for a short length", []byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x00}, true},
		{"trailing bytes", []byte{0x30, 0x03, 0x02, 0x01, 0x00, 0xff}, true},
		{"too deep", deepDER(maxDERDepth+1, 10), true},
		{"deepest allowed", deepDER(maxDERDepth, maxDERCopy/maxDERDepth-200), false},
		{"1 MB nested 32 deep", deepDER(maxDERDepth, 1<<20-200), true},
		{"1 MB of random bytes", random, true},
		{"1 MB of empty objects", wideDER(0x05), true},
		{"1 MB of empty SEQUENCEs", wideDER(0x30), true},
		{"most objects allowed", wideDERn(maxDERObjects - 1), false},
		{"over 1 MiB", deepDER(2, maxCMSSize), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := len(tc.b); strings.HasPrefix(tc.name, "nested BER") && (n < 120 || n > 160) {
				t.Fatalf("built %d bytes", n)
			}
			var err error
			d, alloc := measure(func() { _, err = parseCMS(tc.b) })
			if err == nil {
				t.Fatal("parsed")
			}
			if early := errors.Is(err, ErrNotDER) || errors.Is(err, ErrCMSLimit); early != tc.early {
				t.Errorf("error %v: refused before the library %v, want %v", err, early, tc.early)
			}
			if d > timeBound(cmsTimeBound) || alloc > cmsAllocBound {
				t.Errorf("%d bytes: %v and %d MB allocated, bound %v and %d MB", len(tc.b), d, alloc>>20, cmsTimeBound, cmsAllocBound>>20)
			}
			t.Logf("%d bytes: %v, %d KB allocated: %v", len(tc.b), d, alloc>>10, err)
		})
	}
}

// A signature.p7s of nested BER makes the bundle invalid, named, quickly.
func TestVerifyNestedBERSignature(t *testing.T) {
	pki := validPKI(t)
	entries := signedEntries(t, pki, []rawEntry{{name: "junit.xml", data: []byte("<testsuites/>\n")}}, nil)
	entries[len(entries)-1].data = nestedBER(75)
	b := rawZip(t, entries)
	var v *Verification
	d, alloc := measure(func() { v = verifyBytes(t, b, VerifyOptions{}) })
	named := false
	for _, p := range v.Problems {
		named = named || p.Code == CodeSignatureInvalid && strings.Contains(p.Message.EN, "not DER")
	}
	if v.Valid || !named {
		t.Errorf("valid=%v %v, want %s saying not DER", v.Valid, v.Problems, CodeSignatureInvalid)
	}
	if d > timeBound(cmsTimeBound) || alloc > cmsAllocBound {
		t.Errorf("%v and %d MB allocated", d, alloc>>20)
	}
}

// A TSA answering a granted status with a hostile token: Write fails with
// ErrTimestamp, promptly and within bounds, and never crashes.
func TestHostileTSA(t *testing.T) {
	resp := func(token []byte) []byte {
		status, _ := asn1.Marshal(pkiStatusInfo{Status: 0})
		body := append(status, token...)
		return append(derHeader(0x30, len(body)), body...)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"nested BER token", resp(nestedBER(75)), "not DER"},
		{"indefinite-length token", resp([]byte{0x30, 0x80, 0x00, 0x00}), "not a TimeStampResp"},
		{"answer over the limit", bytes.Repeat([]byte{0x30}, maxTSAResponse+10), "over the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/timestamp-reply")
				w.Write(tc.body)
			}))
			defer srv.Close()
			var err error
			d, alloc := measure(func() {
				err = Write(context.Background(), &bytes.Buffer{}, loadResult(t), Options{TSAURL: srv.URL, Now: fixedNow})
			})
			if !errors.Is(err, ErrTimestamp) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrTimestamp saying %q", err, tc.want)
			}
			// Writing a whole bundle (PDF included) allocates on its own.
			if d > timeBound(5*time.Second) || alloc > 2*cmsAllocBound {
				t.Errorf("%v and %d MB allocated", d, alloc>>20)
			}
		})
	}
}

// Members are streamed through SHA-256: a small bundle declaring three
// 64 MiB members (within every cap) verifies without holding them (it took
// 600 MB of RSS when every member was read into memory).
func TestVerifyStreamsMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("deflates 64 MiB")
	}
	big := make([]byte, maxEntrySize)
	noise := make([]byte, len(big)/256)
	rand.Read(noise)
	for i, c := range noise {
		big[i*256] = c // one random byte in 256: about 1/100 compressed
	}
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	fw.Write(big)
	fw.Close()
	var data []rawEntry
	for _, n := range []string{"messages/a.eml", "messages/b.eml", "messages/c.eml"} {
		data = append(data, rawEntry{name: n, data: big, compressed: z.Bytes()})
	}
	pki := validPKI(t)
	b := rawZip(t, signedEntries(t, pki, data, nil))
	big, noise = nil, nil
	t.Logf("bundle of %d bytes, 3 members of %d bytes", len(b), maxEntrySize)
	var v *Verification
	_, alloc := measure(func() { v = verifyBytes(t, b, VerifyOptions{Roots: pki.pool()}) })
	for _, p := range v.Problems {
		if p.Code == CodeDigestMismatch || p.Code == CodeZipStructure || p.Code == CodeEntryTooLarge || p.Code == CodeSignatureInvalid {
			t.Errorf("problem %s: %s", p.Code, p.Message.EN)
		}
	}
	if alloc > cmsAllocBound {
		t.Errorf("verify allocated %d MB for a %d-byte bundle", alloc>>20, len(b))
	}
	t.Logf("verify allocated %d KB", alloc>>10)
}

// Verify stops reading when its context ends (^C).
func TestVerifyHonoursContext(t *testing.T) {
	b := writeBundle(t, loadResult(t), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(bytes.NewReader(b), int64(len(b)), VerifyOptions{Context: ctx}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// A central directory of half a million one-letter records (25 MB, under
// the 512 MiB file cap) is refused from its count before archive/zip builds
// a record for each, with or without a zip64 end record.
func TestVerifyCountsDirectoryFirst(t *testing.T) {
	const n = 1 << 19
	le := binary.LittleEndian
	mimetype := []byte("application/vnd.etsi.asic-e+zip")
	local := make([]byte, 30, 30+8+len(mimetype))
	le.PutUint32(local[0:], 0x04034b50)
	le.PutUint16(local[4:], 20)
	le.PutUint32(local[14:], crc32.ChecksumIEEE(mimetype))
	le.PutUint32(local[18:], uint32(len(mimetype)))
	le.PutUint32(local[22:], uint32(len(mimetype)))
	le.PutUint16(local[26:], 8)
	local = append(append(local, "mimetype"...), mimetype...)
	record := make([]byte, 47)
	le.PutUint32(record[0:], 0x02014b50)
	le.PutUint16(record[4:], 20)
	le.PutUint16(record[6:], 20)
	le.PutUint16(record[28:], 1)
	record[46] = 'a'
	dir := bytes.Repeat(record, n)
	end := func(records uint16, offset uint32) []byte {
		e := make([]byte, 22)
		le.PutUint32(e[0:], 0x06054b50)
		le.PutUint16(e[8:], records)
		le.PutUint16(e[10:], records)
		le.PutUint32(e[12:], uint32(len(dir)))
		le.PutUint32(e[16:], offset)
		return e
	}
	plain := slices.Concat(local, dir, end(n&0xffff, uint32(len(local))))
	z64 := make([]byte, 56+20)
	le.PutUint32(z64[0:], 0x06064b50)
	le.PutUint64(z64[4:], 44)
	le.PutUint16(z64[12:], 45)
	le.PutUint16(z64[14:], 45)
	le.PutUint64(z64[24:], n)
	le.PutUint64(z64[32:], n)
	le.PutUint64(z64[40:], uint64(len(dir)))
	le.PutUint64(z64[48:], uint64(len(local)))
	le.PutUint32(z64[56:], 0x07064b50)
	le.PutUint64(z64[64:], uint64(len(local)+len(dir)))
	le.PutUint32(z64[72:], 1)
	zip64 := slices.Concat(local, dir, z64, end(0xffff, 0xffffffff))
	dir = nil
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"end record", plain}, {"zip64 end record", zip64}} {
		t.Run(tc.name, func(t *testing.T) {
			var v *Verification
			d, alloc := measure(func() { v = verifyBytes(t, tc.b, VerifyOptions{}) })
			if got := codes(v); !slices.Contains(got, CodeTooManyEntries) {
				t.Errorf("problems %v, want %s", got, CodeTooManyEntries)
			}
			if d > timeBound(cmsTimeBound) || alloc > cmsAllocBound {
				t.Errorf("%d-byte archive: %v and %d MB allocated", len(tc.b), d, alloc>>20)
			}
			t.Logf("%d-byte archive: %v, %d KB allocated", len(tc.b), d, alloc>>10)
		})
	}
}
