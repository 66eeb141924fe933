package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

// personalValues lists, for documents whose INS has a production OID (.8
// NIR, .9 NIA: real patients, research cda-ins.md §1), the INS value and
// the patient's birth names and birth date, longest first. The probe puts
// the names and date in the message subject (Ref#2 ECO.2.1.3), so they
// travel in headers, check messages and reports. Test and demo OIDs (.10,
// .11) are fictitious identities. Names shorter than 3 characters are not
// masked on their own: they would mask unrelated text everywhere.
func personalValues(rep *cda.Report) []string {
	if rep == nil {
		return nil
	}
	var vals []string
	for _, d := range rep.Documents {
		if d.INS == nil {
			continue
		}
		if k, ok := cda.KindOf(d.INS.OID); !ok || k.Fictitious() || d.INS.Value == "" {
			continue
		}
		vals = append(vals, d.INS.Value)
		if m := d.Meta; m != nil {
			for _, v := range []string{m.BirthFamily, strings.ToUpper(m.BirthFamily), m.BirthGiven, m.BirthTime, m.BirthTime[:min(8, len(m.BirthTime))]} {
				if v = strings.TrimSpace(v); utf8.RuneCountInString(v) >= 3 && !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
			}
		}
	}
	slices.SortStableFunc(vals, func(a, b string) int { return len(b) - len(a) })
	return vals
}

// mask replaces every value in vals by as many stars as it has characters.
func mask(s string, vals []string) string {
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, strings.Repeat("*", utf8.RuneCountInString(v)))
	}
	return s
}

// maskedReport copies rep with every value in vals replaced by stars, in
// the INS, the patient's names and birth date and the finding messages, so
// the CDA results can enter the bundle without the patient's identity.
func maskedReport(rep *cda.Report, vals []string) *cda.Report {
	if rep == nil {
		return nil
	}
	mask := func(s string) string { return mask(s, vals) }
	out := *rep
	out.Documents = make([]cda.Document, len(rep.Documents))
	for i, d := range rep.Documents {
		if d.INS != nil {
			c := *d.INS
			c.Value = mask(c.Value)
			d.INS = &c
		}
		fs := make([]check.Finding, len(d.Findings))
		for j, f := range d.Findings {
			f.Message = check.Text{FR: mask(f.Message.FR), EN: mask(f.Message.EN)}
			f.Location = mask(f.Location)
			fs[j] = f
		}
		d.Findings = fs
		if d.Meta != nil {
			m := *d.Meta
			m.BirthFamily, m.BirthGiven, m.BirthTime = mask(m.BirthFamily), mask(m.BirthGiven), mask(m.BirthTime)
			d.Meta = &m
		}
		out.Documents[i] = d
	}
	return &out
}

// keptMediaTypes are leaf parts that carry the exchange's meaning (text,
// delivery and disposition notifications) rather than a document.
var keptMediaTypes = map[string]bool{
	"text/plain":                       true,
	"text/html":                        true,
	"message/delivery-status":          true,
	"message/disposition-notification": true,
	"text/rfc822-headers":              true,
}

// withholdAttachments rewrites a raw message so that every part that may
// carry the document (any attachment, any non-text leaf, an embedded
// message/rfc822 as bounces carry) is replaced by a short text naming its
// type, size and SHA-256. Headers and text parts are kept byte for byte,
// except those that, once decoded (RFC 2047 words, quoted-printable,
// base64), show a value of vals: these are rewritten decoded, masked.
func withholdAttachments(raw []byte, vals []string) ([]byte, error) {
	var out bytes.Buffer
	if err := rewriteEntity(&out, bufio.NewReader(bytes.NewReader(raw)), vals, 0); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// decodedText is how a reader sees header text: unfolded, RFC 2047 words
// decoded (adjacent words joined).
func decodedText(s string) string {
	s = strings.NewReplacer("\r\n ", " ", "\r\n\t", " ", "\n ", " ", "\n\t", " ").Replace(s)
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func containsAny(s string, vals []string) bool {
	return slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(s, v) })
}

// maskHeader rewrites, decoded and masked, each field of h that shows a
// value of vals (such fields move to the top of the header).
func maskHeader(h *textproto.Header, vals []string) {
	var keys []string
	for f := h.Fields(); f.Next(); {
		if containsAny(decodedText(f.Value()), vals) && !slices.Contains(keys, f.Key()) {
			keys = append(keys, f.Key())
		}
	}
	for _, k := range keys {
		var values []string
		for f := h.FieldsByKey(k); f.Next(); {
			v := f.Value()
			if d := decodedText(v); containsAny(d, vals) {
				v = mime.QEncoding.Encode("utf-8", mask(d, vals))
			}
			values = append(values, v)
		}
		h.Del(k)
		for i := len(values) - 1; i >= 0; i-- { // Add prepends
			h.Add(k, values[i])
		}
	}
}

// maskedBody returns body unchanged when, decoded per cte, it shows no
// value of vals; otherwise the decoded text masked, to be sent as 8bit.
func maskedBody(body []byte, cte string, vals []string) ([]byte, bool) {
	var text []byte
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		text, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	case "base64":
		text, _ = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, body))))
	default:
		text = body
	}
	if d := decodedText(string(text)); containsAny(d, vals) {
		return []byte(mask(d, vals)), true
	}
	return body, false
}

func rewriteEntity(w io.Writer, r *bufio.Reader, vals []string, depth int) error {
	if depth > 20 {
		return fmt.Errorf("MIME nesting deeper than 20")
	}
	h, err := textproto.ReadHeader(r)
	if err != nil {
		return fmt.Errorf("reading MIME header: %w", err)
	}
	maskHeader(&h, vals)
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "" {
		mt = "text/plain"
	}
	disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		if err := textproto.WriteHeader(w, h); err != nil {
			return err
		}
		b := params["boundary"]
		mr := textproto.NewMultipartReader(r, b)
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("reading MIME part: %w", err)
			}
			var part bytes.Buffer
			if err := textproto.WriteHeader(&part, p.Header); err != nil {
				return err
			}
			if _, err := io.Copy(&part, p); err != nil {
				return err
			}
			delim := "\r\n--" + b + "\r\n"
			if i == 0 {
				delim = delim[2:]
			}
			if _, err := io.WriteString(w, delim); err != nil {
				return err
			}
			if err := rewriteEntity(w, bufio.NewReader(&part), vals, depth+1); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "\r\n--"+b+"--\r\n")
		return err
	case keptMediaTypes[mt] && disp != "attachment":
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		body, masked := maskedBody(body, h.Get("Content-Transfer-Encoding"), vals)
		if masked {
			h.Set("Content-Transfer-Encoding", "8bit")
		}
		if err := textproto.WriteHeader(w, h); err != nil {
			return err
		}
		_, err = w.Write(body)
		return err
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "8bit")
	if err := textproto.WriteHeader(w, h); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "[msscprobe] Partie retirée du dossier de preuve (données personnelles : INS de production) / part withheld (personal data: production INS).\r\nType: %s, %d octets/bytes (encodés/encoded), SHA-256: %x\r\n", mt, len(body), sum)
	return err
}

// base64Line is a line whose last field looks like a base64 body line (a
// message body being transferred), whatever prefix the transcript adds.
var base64Line = regexp.MustCompile(`(?:^|\s)[A-Za-z0-9+/]{40,}={0,2}\r?$`)

// withholdTranscriptBodies replaces each run of base64 body lines in a
// transcript by one line saying how many were removed: that is where an
// attached document travels during DATA or FETCH.
func withholdTranscriptBodies(t []byte) []byte {
	var out bytes.Buffer
	lines := bytes.SplitAfter(t, []byte("\n"))
	run := 0
	flush := func() {
		if run > 0 {
			fmt.Fprintf(&out, "[msscprobe] %d lignes base64 retirées (données personnelles) / %d base64 lines withheld (personal data)\n", run, run)
			run = 0
		}
	}
	for _, l := range lines {
		if base64Line.Match(bytes.TrimRight(l, "\n")) {
			run++
			continue
		}
		flush()
		out.Write(l)
	}
	flush()
	return out.Bytes()
}
