package evidence

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A bounded reader for the PDF deliverable, and only for the plain form
// WriteDeliverable produces: one revision, a classic cross-reference table,
// no object or cross-reference streams, no encryption (ISO 32000-1 §7.5).
// It follows only the paths the verifier asks for (trailer → Root →
// AcroForm / Names, Info), so a hostile file cannot make it walk a page
// tree, a reference loop or a deep structure: nesting, the number of
// objects resolved, table sizes and decompressed sizes are all capped, and
// nothing recurses past pdfMaxDepth. Anything outside the form is an
// error naming what was found; the pdfcpu and digitorus readers were not
// used here because their parsers recurse without bound and read every
// object (docs/evidence-format.md §PDF deliverable).

// Limits of the reader.
const (
	pdfMaxSize     = 64 << 20 // bytes of a deliverable
	pdfMaxDepth    = 24       // nesting of arrays and dictionaries
	pdfMaxObjects  = 100000   // cross-reference entries
	pdfMaxResolves = 4096     // indirect objects read per verification
	pdfMaxItems    = 4096     // entries in one array or dictionary
	// pdfMaxValues bounds the values parsed in one verification: the depth
	// and items bounds multiply (4,096 arrays of 4,096 empty arrays fit in
	// 33 MB), and 32 MB of small dictionaries in a signed catalog took 8 s
	// and 1.7 GB. A deliverable's catalog, form, signature and file
	// specifications hold a few hundred.
	pdfMaxValues = 100000
	// pdfMaxStrings bounds the bytes of all strings decoded in one
	// verification: the signature's /Contents is at most 1 MiB of CMS
	// (2 MiB of hex), the other strings are names and dates; 60 MB of
	// strings in a signed catalog took 317 MB of RSS.
	pdfMaxStrings   = 8 << 20
	pdfMaxDecoded   = 64 << 20 // decompressed bytes of all embedded files
	pdfMaxEmbedded  = 256      // embedded files
	pdfMaxTreeDepth = 8        // levels of the EmbeddedFiles name tree
)

type (
	pdfName  string
	pdfDict  map[string]any
	pdfArray []any
	pdfRef   struct{ num, gen int }
	// pdfString is a decoded string with the byte span of its token.
	pdfString struct {
		s          []byte
		start, end int
		hex        bool
	}
	// pdfStream is a stream's dictionary and the span of its raw data.
	pdfStream struct {
		dict       pdfDict
		start, end int
	}
)

type pdfReader struct {
	b        []byte
	xref     map[int]int64
	trailer  pdfDict
	resolves int
	values   int // parsed by object, against pdfMaxValues
	strings  int // bytes of decoded strings, against pdfMaxStrings
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

// skip moves past white space and comments.
func (r *pdfReader) skip(p int) int {
	for p < len(r.b) {
		switch c := r.b[p]; {
		case isPDFSpace(c):
			p++
		case c == '%':
			for p < len(r.b) && r.b[p] != '\n' && r.b[p] != '\r' {
				p++
			}
		default:
			return p
		}
	}
	return p
}

// regular reads a run of regular characters (a number or keyword).
func (r *pdfReader) regular(p int) (string, int) {
	s := p
	for p < len(r.b) && !isPDFSpace(r.b[p]) && !isPDFDelim(r.b[p]) {
		p++
	}
	return string(r.b[s:p]), p
}

// object parses one direct object at p (after white space), returning it
// and the position after it.
func (r *pdfReader) object(p, depth int) (any, int, error) {
	if depth > pdfMaxDepth {
		return nil, p, fmt.Errorf("nesting deeper than %d at byte %d", pdfMaxDepth, p)
	}
	if r.values++; r.values > pdfMaxValues {
		return nil, p, fmt.Errorf("more than %d values at byte %d", pdfMaxValues, p)
	}
	p = r.skip(p)
	if p >= len(r.b) {
		return nil, p, fmt.Errorf("unexpected end of file")
	}
	switch c := r.b[p]; {
	case c == '<' && p+1 < len(r.b) && r.b[p+1] == '<':
		return r.dict(p+2, depth)
	case c == '<':
		return r.hexString(p)
	case c == '(':
		return r.literal(p)
	case c == '[':
		var a pdfArray
		p++
		for {
			p = r.skip(p)
			if p < len(r.b) && r.b[p] == ']' {
				return a, p + 1, nil
			}
			if len(a) >= pdfMaxItems {
				return nil, p, fmt.Errorf("array of more than %d items at byte %d", pdfMaxItems, p)
			}
			o, np, err := r.object(p, depth+1)
			if err != nil {
				return nil, np, err
			}
			a, p = append(a, o), np
		}
	case c == '/':
		return r.name(p)
	case c == ')' || c == '>' || c == ']' || c == '{' || c == '}':
		return nil, p, fmt.Errorf("unexpected %q at byte %d", c, p)
	}
	tok, np := r.regular(p)
	switch tok {
	case "true":
		return true, np, nil
	case "false":
		return false, np, nil
	case "null":
		return nil, np, nil
	}
	if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
		// An indirect reference "num gen R"?
		q := r.skip(np)
		gen, q2 := r.regular(q)
		if g, err := strconv.Atoi(gen); err == nil && g >= 0 && g < 65536 {
			q3 := r.skip(q2)
			if kw, q4 := r.regular(q3); kw == "R" && n >= 0 && n < pdfMaxObjects {
				return pdfRef{int(n), g}, q4, nil
			}
		}
		return n, np, nil
	}
	if f, err := strconv.ParseFloat(tok, 64); err == nil {
		return f, np, nil
	}
	if tok == "" {
		return nil, p, fmt.Errorf("unexpected byte %q at %d", r.b[p], p)
	}
	return nil, p, fmt.Errorf("unexpected token %.20q at byte %d", tok, p)
}

func (r *pdfReader) dict(p, depth int) (any, int, error) {
	d := pdfDict{}
	for {
		p = r.skip(p)
		if p+1 < len(r.b) && r.b[p] == '>' && r.b[p+1] == '>' {
			return d, p + 2, nil
		}
		if len(d) >= pdfMaxItems {
			return nil, p, fmt.Errorf("dictionary of more than %d entries at byte %d", pdfMaxItems, p)
		}
		k, np, err := r.object(p, depth+1)
		if err != nil {
			return nil, np, err
		}
		key, ok := k.(pdfName)
		if !ok {
			return nil, p, fmt.Errorf("dictionary key is not a name at byte %d", p)
		}
		v, np, err := r.object(np, depth+1)
		if err != nil {
			return nil, np, err
		}
		if _, dup := d[string(key)]; dup {
			return nil, p, fmt.Errorf("key /%s twice in one dictionary at byte %d", key, p)
		}
		d[string(key)], p = v, np
	}
}

func (r *pdfReader) name(p int) (any, int, error) {
	var out []byte
	p++
	for p < len(r.b) && !isPDFSpace(r.b[p]) && !isPDFDelim(r.b[p]) {
		c := r.b[p]
		if c == '#' && p+2 < len(r.b) {
			v, err := strconv.ParseUint(string(r.b[p+1:p+3]), 16, 8)
			if err != nil {
				return nil, p, fmt.Errorf("bad name escape at byte %d", p)
			}
			out, p = append(out, byte(v)), p+3
			continue
		}
		out, p = append(out, c), p+1
	}
	return pdfName(out), p, nil
}

func (r *pdfReader) hexString(p int) (any, int, error) {
	start := p
	end := bytes.IndexByte(r.b[p:], '>')
	if end < 0 {
		return nil, p, fmt.Errorf("unterminated hex string at byte %d", p)
	}
	end += p
	if r.strings += (end - p) / 2; r.strings > pdfMaxStrings {
		return nil, p, fmt.Errorf("strings of more than %d bytes in all at byte %d", pdfMaxStrings, p)
	}
	digits := make([]byte, 0, end-p)
	for _, c := range r.b[p+1 : end] {
		switch {
		case isPDFSpace(c):
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits = append(digits, c)
		default:
			return nil, p, fmt.Errorf("bad hex string at byte %d", p)
		}
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	s := make([]byte, len(digits)/2)
	for i := range s {
		v, _ := strconv.ParseUint(string(digits[2*i:2*i+2]), 16, 8)
		s[i] = byte(v)
	}
	return pdfString{s: s, start: start, end: end + 1, hex: true}, end + 1, nil
}

// literal decodes a (string) with its escapes (ISO 32000-1 §7.3.4.2).
func (r *pdfReader) literal(p int) (any, int, error) {
	start := p
	var out []byte
	level := 0
	for p++; p < len(r.b); p++ {
		c := r.b[p]
		switch c {
		case '(':
			level++
		case ')':
			if level == 0 {
				return pdfString{s: out, start: start, end: p + 1}, p + 1, nil
			}
			level--
		case '\\':
			p++
			if p >= len(r.b) {
				break
			}
			switch e := r.b[p]; e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				if e == '\r' && p+1 < len(r.b) && r.b[p+1] == '\n' {
					p++
				}
				continue
			default:
				if e >= '0' && e <= '7' {
					v := 0
					for k := 0; k < 3 && p < len(r.b) && r.b[p] >= '0' && r.b[p] <= '7'; k++ {
						v = v*8 + int(r.b[p]-'0')
						p++
					}
					p--
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		if r.strings++; r.strings > pdfMaxStrings {
			return nil, p, fmt.Errorf("strings of more than %d bytes in all at byte %d", pdfMaxStrings, start)
		}
		out = append(out, c)
	}
	return nil, p, fmt.Errorf("unterminated string at byte %d", start)
}

// openPDF reads the cross-reference table and trailer of a deliverable.
func openPDF(b []byte) (*pdfReader, error) {
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) && !bytes.HasPrefix(b, []byte("%PDF-2.")) {
		return nil, errors.New("not a PDF file (no %PDF- header)")
	}
	r := &pdfReader{b: b, xref: map[int]int64{}}
	tail := b[max(0, len(b)-1024):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return nil, errors.New("no startxref near the end of the file")
	}
	p := len(b) - len(tail) + i + len("startxref")
	tok, p := r.regular(r.skip(p))
	off, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || off < 0 || off >= int64(len(b)) {
		return nil, fmt.Errorf("startxref %q is not an offset in the file", tok)
	}
	if rest := bytes.TrimSpace(b[p:]); string(rest) != "%%EOF" {
		return nil, errors.New("the file does not end with its %%EOF marker")
	}
	p = int(off)
	if !bytes.HasPrefix(b[p:], []byte("xref")) {
		return nil, errors.New("no classic cross-reference table at startxref (cross-reference streams are not in the deliverable's form)")
	}
	p += 4
	for {
		p = r.skip(p)
		if bytes.HasPrefix(b[p:], []byte("trailer")) {
			p += len("trailer")
			break
		}
		first, np := r.regular(p)
		count, np2 := r.regular(r.skip(np))
		f, err1 := strconv.Atoi(first)
		n, err2 := strconv.Atoi(count)
		if err1 != nil || err2 != nil || f < 0 || n < 0 || f+n > pdfMaxObjects || len(r.xref)+n > pdfMaxObjects {
			return nil, fmt.Errorf("malformed or oversized cross-reference subsection at byte %d", p)
		}
		p = r.skip(np2)
		if p+20*n > len(b) {
			return nil, errors.New("cross-reference table runs past the end of the file")
		}
		for k := range n {
			e := b[p+20*k : p+20*k+20]
			o, err := strconv.ParseInt(string(e[0:10]), 10, 64)
			if err != nil || e[10] != ' ' || e[16] != ' ' {
				return nil, fmt.Errorf("malformed cross-reference entry at byte %d", p+20*k)
			}
			if e[17] == 'n' {
				r.xref[f+k] = o
			}
		}
		p += 20 * n
	}
	t, _, err := r.object(p, 0)
	if err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	d, ok := t.(pdfDict)
	if !ok {
		return nil, errors.New("trailer is not a dictionary")
	}
	r.trailer = d
	return r, nil
}

// resolve returns the object o refers to (o itself when direct).
func (r *pdfReader) resolve(o any) (any, error) {
	ref, ok := o.(pdfRef)
	if !ok {
		return o, nil
	}
	r.resolves++
	if r.resolves > pdfMaxResolves {
		return nil, fmt.Errorf("more than %d indirect objects followed", pdfMaxResolves)
	}
	off, ok := r.xref[ref.num]
	if !ok {
		return nil, fmt.Errorf("object %d not in the cross-reference table", ref.num)
	}
	if off >= int64(len(r.b)) {
		return nil, fmt.Errorf("object %d at offset %d, past the end of the file", ref.num, off)
	}
	p := int(off)
	num, p := r.regular(r.skip(p))
	gen, p := r.regular(r.skip(p))
	kw, p := r.regular(r.skip(p))
	if num != strconv.Itoa(ref.num) || gen != strconv.Itoa(ref.gen) || kw != "obj" {
		return nil, fmt.Errorf("object %d is not at its cross-reference offset %d", ref.num, off)
	}
	v, p, err := r.object(p, 0)
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", ref.num, err)
	}
	p = r.skip(p)
	if d, ok := v.(pdfDict); ok && bytes.HasPrefix(r.b[p:], []byte("stream")) {
		return r.stream(ref.num, d, p+len("stream"))
	}
	if !bytes.HasPrefix(r.b[p:], []byte("endobj")) {
		return nil, fmt.Errorf("object %d: no endobj", ref.num)
	}
	return v, nil
}

func (r *pdfReader) stream(num int, d pdfDict, p int) (any, error) {
	if bytes.HasPrefix(r.b[p:], []byte("\r\n")) {
		p += 2
	} else if bytes.HasPrefix(r.b[p:], []byte("\n")) {
		p++
	} else {
		return nil, fmt.Errorf("object %d: stream keyword not followed by an end of line", num)
	}
	n, ok := d["Length"].(int64)
	if !ok {
		return nil, fmt.Errorf("object %d: stream /Length is not a direct integer", num)
	}
	if n < 0 || n > int64(len(r.b)-p) {
		return nil, fmt.Errorf("object %d: stream /Length %d runs past the end of the file", num, n)
	}
	end := p + int(n)
	q := r.skip(end)
	if !bytes.HasPrefix(r.b[q:], []byte("endstream")) {
		return nil, fmt.Errorf("object %d: no endstream after /Length bytes", num)
	}
	return pdfStream{dict: d, start: p, end: end}, nil
}

// dictAt resolves o to a dictionary.
func (r *pdfReader) dictAt(o any, what string) (pdfDict, error) {
	v, err := r.resolve(o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	d, ok := v.(pdfDict)
	if !ok {
		return nil, fmt.Errorf("%s is not a dictionary", what)
	}
	return d, nil
}

// decode returns a stream's data, inflated when /FlateDecode, never more
// than limit bytes.
func (r *pdfReader) decode(s pdfStream, limit int64) ([]byte, error) {
	raw := r.b[s.start:s.end]
	switch f := s.dict["Filter"].(type) {
	case nil:
		if int64(len(raw)) > limit {
			return nil, errors.New("embedded files over the size limit")
		}
		return raw, nil
	case pdfName:
		if f != "FlateDecode" || s.dict["DecodeParms"] != nil {
			return nil, fmt.Errorf("stream filter /%s not in the deliverable's form", f)
		}
	default:
		return nil, errors.New("stream filter chain not in the deliverable's form")
	}
	// The embedded file's declared size (ISO 32000-1 §7.11.4.1, /Params
	// /Size) is required: the output is allocated once, at that size, and
	// must inflate to exactly that, so a bomb costs no more memory than
	// the limit.
	params, _ := s.dict["Params"].(pdfDict)
	size, ok := params["Size"].(int64)
	if !ok || size < 0 {
		return nil, errors.New("embedded file without its /Params /Size")
	}
	if size > limit {
		return nil, fmt.Errorf("embedded files inflate to more than %d bytes", pdfMaxDecoded)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("inflating a stream: %w", err)
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("inflating a stream: %d bytes declared: %w", size, err)
	}
	if n, _ := zr.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("embedded file inflates to more than its declared %d bytes", size)
	}
	return out, nil
}
