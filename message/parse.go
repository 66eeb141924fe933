package message

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// Limits of the parser. A hostile message cannot make it hold more than
// about MaxSize bytes of decoded parts (each part is decoded from the raw
// message, which is at most MaxSize), nor walk more than MaxParts parts or
// MaxDepth nested multiparts.
const (
	DefaultMaxSize  = 64 << 20 // larger than the 25 MB rule so that MSS-027 can say by how much
	DefaultMaxParts = 1000
	DefaultMaxDepth = 20
	MaxHeaderBytes  = 1 << 20  // one header block
	MaxMessageBytes = 25 << 20 // ENS Messagerie v1.3 §6 (research mssante.md §1)
)

// Named parser errors; wrapped with the part path where they occur.
var (
	ErrTooLarge       = errors.New("message larger than the size limit")
	ErrTooManyParts   = errors.New("too many MIME parts")
	ErrTooDeep        = errors.New("multipart nesting too deep")
	ErrHeaderTooLarge = errors.New("header block too large")
)

// Message is a parsed MIME message: its top-level header and its leaf
// parts in order.
type Message struct {
	Header textproto.Header
	Size   int
	Parts  []Part
}

// Part is one leaf MIME part.
type Part struct {
	Path        string // "1", "2.1", ... ("1" for a single-part message)
	MediaType   string // lower case, "text/plain" when absent (RFC 2045 §5.2)
	Params      map[string]string
	Disposition string // lower case, "" when absent
	Filename    string
	Encoding    string // Content-Transfer-Encoding, lower case
	// Body is the part after transfer decoding (no charset conversion).
	Body []byte
	// Err says why the part could not be decoded (Body then holds what
	// was decoded before the problem).
	Err error
}

// IsAttachment tells a part given as a file from a message body.
func (p *Part) IsAttachment() bool {
	return p.Disposition == "attachment" || p.Filename != "" && !strings.HasPrefix(p.MediaType, "text/")
}

type limits struct{ maxParts, maxDepth int }

// Parse reads raw as an Internet message (RFC 5322, MIME RFC 2045-2046).
// It returns the message read so far and an error when the header is
// unreadable (Message nil), when a limit is hit (ErrTooManyParts,
// ErrTooDeep, ErrHeaderTooLarge) or when the multipart structure is
// broken; part-level decoding problems are in Part.Err.
func Parse(raw []byte, maxParts, maxDepth int) (*Message, error) {
	if maxParts <= 0 {
		maxParts = DefaultMaxParts
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	h, body, err := readHeader(raw)
	if err != nil {
		return nil, err
	}
	m := &Message{Header: h, Size: len(raw)}
	err = walk(m, h, body, "", 0, limits{maxParts, maxDepth})
	return m, err
}

// readHeader reads one header block, refusing more than MaxHeaderBytes.
func readHeader(b []byte) (textproto.Header, []byte, error) {
	end := headerEnd(b)
	if end < 0 {
		if len(b) > MaxHeaderBytes {
			return textproto.Header{}, nil, ErrHeaderTooLarge
		}
		end = len(b)
	} else if end > MaxHeaderBytes {
		return textproto.Header{}, nil, ErrHeaderTooLarge
	}
	h, err := textproto.ReadHeader(bufio.NewReaderSize(bytes.NewReader(b[:end]), min(end+1, 4096)))
	if err != nil && !errors.Is(err, io.EOF) {
		return h, nil, fmt.Errorf("header: %w", err)
	}
	return h, b[end:], nil
}

// headerEnd returns the index just past the blank line ending the header,
// or -1.
func headerEnd(b []byte) int {
	if bytes.HasPrefix(b, []byte("\r\n")) {
		return 2
	}
	if bytes.HasPrefix(b, []byte("\n")) {
		return 1
	}
	i, j := bytes.Index(b, []byte("\r\n\r\n")), bytes.Index(b, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i+1 <= j):
		return i + 4
	case j >= 0:
		return j + 2
	}
	return -1
}

func walk(m *Message, h textproto.Header, body []byte, path string, depth int, lim limits) error {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt == "" {
		mt, params = "text/plain", map[string]string{}
		if v := h.Get("Content-Type"); v != "" && err != nil {
			// A parameter error still gives the media type.
			if t, _, _ := strings.Cut(v, ";"); strings.Contains(t, "/") {
				mt = strings.ToLower(strings.TrimSpace(t))
			}
		}
	}
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= lim.maxDepth {
			return fmt.Errorf("part %s: %w (limit %d)", orRoot(path), ErrTooDeep, lim.maxDepth)
		}
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("part %s: multipart without boundary", orRoot(path))
		}
		parts, err := splitMultipart(body, boundary)
		for i, pb := range parts {
			if len(m.Parts) >= lim.maxParts {
				return fmt.Errorf("%w (limit %d)", ErrTooManyParts, lim.maxParts)
			}
			ph, pbody, herr := readHeader(pb)
			if herr != nil {
				return fmt.Errorf("part %s: %w", sub(path, i+1), herr)
			}
			if werr := walk(m, ph, pbody, sub(path, i+1), depth+1, lim); werr != nil {
				return werr
			}
		}
		if err != nil {
			return fmt.Errorf("part %s: %w", orRoot(path), err)
		}
		return nil
	}
	if len(m.Parts) >= lim.maxParts {
		return fmt.Errorf("%w (limit %d)", ErrTooManyParts, lim.maxParts)
	}
	p := Part{Path: orOne(path), MediaType: mt, Params: params,
		Encoding: strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))}
	if d, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		p.Disposition, p.Filename = d, dp["filename"]
	}
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	p.Body, p.Err = decode(p.Encoding, body)
	m.Parts = append(m.Parts, p)
	return nil
}

// splitMultipart cuts a multipart body at its delimiter lines (RFC 2046
// §5.1.1) without copying: every part is a sub-slice of body, so nesting
// costs no memory. It returns the parts found and an error when the
// structure is broken (no part, no closing delimiter).
func splitMultipart(body []byte, boundary string) ([][]byte, error) {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // start of the current part's content
	for pos := 0; pos <= len(body); {
		// The next line starting with the delimiter.
		k := pos
		if !(k == 0 || body[k-1] == '\n') || !bytes.HasPrefix(body[k:], delim) {
			i := bytes.Index(body[pos:], append([]byte("\n"), delim...))
			if i < 0 {
				break
			}
			k = pos + i + 1
		}
		after := body[k+len(delim):]
		closing := bytes.HasPrefix(after, []byte("--"))
		rest := after
		if closing {
			rest = after[2:]
		}
		eol := bytes.IndexByte(rest, '\n')
		line := rest
		if eol >= 0 {
			line = rest[:eol]
		}
		if len(bytes.Trim(line, " \t\r")) != 0 {
			// "--boundaryX": not a delimiter, keep looking.
			pos = k + len(delim)
			continue
		}
		if start >= 0 {
			end := k
			// The line break before the delimiter belongs to it.
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if closing {
			return parts, nil
		}
		if eol < 0 {
			break
		}
		start = len(body) - len(rest) + eol + 1
		pos = start
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:])
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("multipart without any part (boundary %q not found)", boundary)
	}
	return parts, fmt.Errorf("multipart without closing delimiter --%s--", boundary)
}

func decode(enc string, b []byte) ([]byte, error) {
	switch enc {
	case "", "7bit", "8bit", "binary":
		return b, nil
	case "base64":
		return decodeBase64(b)
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			return out, fmt.Errorf("%s: %w", enc, err)
		}
		return out, nil
	}
	return b, fmt.Errorf("unknown Content-Transfer-Encoding %q", enc)
}

// decodeBase64 decodes in one pass into one buffer: white space (line
// breaks, stray spaces) is dropped first, then the standard decoder runs on
// the whole text (a streaming decoder costs twice as much on attachments).
func decodeBase64(b []byte) ([]byte, error) {
	clean := make([]byte, 0, len(b))
	for len(b) > 0 {
		// Line by line: white space is at line ends (CRLF), rarely inside.
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.Trim(line, " \t\r")
		if bytes.IndexByte(line, ' ') >= 0 || bytes.IndexByte(line, '\t') >= 0 {
			line = bytes.Join(bytes.Fields(line), nil)
		}
		clean = append(clean, line...)
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return out[:n], fmt.Errorf("base64: %w", err)
	}
	return out[:n], nil
}

func sub(path string, i int) string {
	if path == "" {
		return fmt.Sprint(i)
	}
	return fmt.Sprintf("%s.%d", path, i)
}

func orOne(p string) string {
	if p == "" {
		return "1"
	}
	return p
}

func orRoot(p string) string {
	if p == "" {
		return "racine/root"
	}
	return p
}
