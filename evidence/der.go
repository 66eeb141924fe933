package evidence

import (
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"
)

// Bounds on the CMS objects verify (the bundle's signature.p7s, the PDF
// deliverable's /Contents) and the TSA client read
// (docs/evidence-format.md §Limits). A signature with its chain and a
// timestamp token is a few kilobytes; CMS SignedData with a timestamp
// token inside nests about 20 levels deep.
const (
	maxCMSSize  = 1 << 20
	maxDERDepth = 32
	// maxDERCopy bounds the bytes smallstep/pkcs7 copies when it re-encodes
	// the input (it copies each constructed object's content once per
	// level): the sum of the lengths of all constructed objects. A
	// timestamped signature of 2 KB, 20 levels deep, costs about 40 KB; a
	// megabyte nested 32 levels deep would cost 32 MB.
	maxDERCopy = 8 << 20
	// maxDERObjects bounds the objects the library builds (about 180 bytes
	// each): a timestamped signature holds a few hundred, a 1 MB run of
	// empty objects half a million (90 MB).
	maxDERObjects = 20000
)

// ErrNotDER is wrapped by parseCMS for input that is not strict DER, and
// ErrCMSLimit for DER over one of the bounds above.
var (
	ErrNotDER   = errors.New("not DER")
	ErrCMSLimit = errors.New("CMS over the limits")
)

// parseCMS parses a CMS ContentInfo after checking, in one linear pass with
// the bounds above, that it is at most maxCMSSize bytes of DER (X.690 §10:
// definite, minimal lengths; every child inside its parent; nothing after
// the outer object). smallstep/pkcs7 converts BER to DER first, and on
// objects whose declared length ends before their child's its converter
// re-parses each level twice: about 150 bytes of such nesting took gigabytes
// and crashed the process. RFC 5652 §1.2 only asks receivers to accept BER
// for content, and the writer and RFC 3161 TSAs send DER.
func parseCMS(b []byte) (*pkcs7.PKCS7, error) {
	if len(b) > maxCMSSize {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrCMSLimit, len(b), maxCMSSize)
	}
	if err := checkDER(b); err != nil {
		return nil, err
	}
	return pkcs7.Parse(b)
}

// checkDER reports whether b is exactly one DER object, nested at most
// maxDERDepth deep. Each byte is read once.
func checkDER(b []byte) error {
	end, err := derPrefix(b)
	if err != nil {
		return err
	}
	if end != len(b) {
		return fmt.Errorf("%w: %d bytes after the object", ErrNotDER, len(b)-end)
	}
	return nil
}

// derPrefix checks the DER object at the start of b within the bounds
// above and returns where it ends; what follows is the caller's to judge
// (a PDF /Contents value pads the CMS with zeros).
func derPrefix(b []byte) (int, error) {
	var c derCost
	return derObject(b, 0, 1, &c)
}

// derCost adds up what the library will do with the input: objects, and
// the content lengths of constructed objects (bytes it copies).
type derCost struct{ objects, copied int }

// derObject checks the object at off and returns where it ends.
func derObject(b []byte, off, depth int, c *derCost) (int, error) {
	bad := func(what string) (int, error) { return 0, fmt.Errorf("%w: %s at offset %d", ErrNotDER, what, off) }
	over := func(what string) (int, error) {
		return 0, fmt.Errorf("%w: %s at offset %d", ErrCMSLimit, what, off)
	}
	if depth > maxDERDepth {
		return over(fmt.Sprintf("nested deeper than %d levels", maxDERDepth))
	}
	if c.objects++; c.objects > maxDERObjects {
		return over(fmt.Sprintf("more than %d objects", maxDERObjects))
	}
	if off >= len(b) {
		return bad("truncated tag")
	}
	constructed := b[off]&0x20 != 0
	i := off + 1
	if b[off]&0x1f == 0x1f { // high tag number form, base-128
		n := 0
		for {
			if i >= len(b) {
				return bad("truncated tag")
			}
			if n == 0 && b[i] == 0x80 {
				return bad("tag number with a leading zero")
			}
			if n++; n > 4 {
				return bad("tag number too long")
			}
			if b[i]&0x80 == 0 {
				i++
				break
			}
			i++
		}
	}
	if i >= len(b) {
		return bad("truncated length")
	}
	l := int(b[i])
	i++
	switch {
	case l == 0x80:
		return bad("indefinite length (BER)")
	case l > 0x80:
		n := l & 0x7f
		if n > 4 {
			return bad("length field too long")
		}
		if i+n > len(b) {
			return bad("length field beyond the end of its parent")
		}
		if b[i] == 0 {
			return bad("length with a leading zero")
		}
		l = 0
		for k := 0; k < n; k++ {
			l = l<<8 | int(b[i+k])
		}
		i += n
		if l < 0x80 {
			return bad("length not in its shortest form")
		}
	}
	if l > len(b)-i {
		return bad("length beyond the end of its parent")
	}
	end := i + l
	if !constructed {
		return end, nil
	}
	if b[off]&0xc0 == 0 && b[off]&0x1f != 0x10 && b[off]&0x1f != 0x11 {
		return bad("constructed string (BER)") // X.690 §10.2: primitive in DER
	}
	if c.copied += l; c.copied > maxDERCopy {
		return over(fmt.Sprintf("nested content over %d bytes in all", maxDERCopy))
	}
	for i < end {
		next, err := derObject(b[:end], i, depth+1, c)
		if err != nil {
			return 0, err
		}
		i = next
	}
	return end, nil
}
