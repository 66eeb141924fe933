package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

// productionINS lists the INS values of documents whose INS has a
// production OID (.8 NIR, .9 NIA): real patients (research cda-ins.md §1).
// Test and demo OIDs (.10, .11) are fictitious identities.
func productionINS(rep *cda.Report) []string {
	if rep == nil {
		return nil
	}
	var vals []string
	for _, d := range rep.Documents {
		if d.INS == nil {
			continue
		}
		if k, ok := cda.KindOf(d.INS.OID); ok && !k.Fictitious() && d.INS.Value != "" {
			vals = append(vals, d.INS.Value)
		}
	}
	return vals
}

// maskedReport copies rep with every value in ins replaced by stars, in
// the INS fields and in finding messages, so the CDA results can enter the
// bundle without the patient's number.
func maskedReport(rep *cda.Report, ins []string) *cda.Report {
	if rep == nil {
		return nil
	}
	mask := func(s string) string {
		for _, v := range ins {
			s = strings.ReplaceAll(s, v, strings.Repeat("*", len(v)))
		}
		return s
	}
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
// type, size and SHA-256. Headers and text parts are kept byte for byte.
func withholdAttachments(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := rewriteEntity(&out, bufio.NewReader(bytes.NewReader(raw)), 0); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func rewriteEntity(w io.Writer, r *bufio.Reader, depth int) error {
	if depth > 20 {
		return fmt.Errorf("MIME nesting deeper than 20")
	}
	h, err := textproto.ReadHeader(r)
	if err != nil {
		return fmt.Errorf("reading MIME header: %w", err)
	}
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
			if err := rewriteEntity(w, bufio.NewReader(&part), depth+1); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "\r\n--"+b+"--\r\n")
		return err
	case keptMediaTypes[mt] && disp != "attachment":
		if err := textproto.WriteHeader(w, h); err != nil {
			return err
		}
		_, err := io.Copy(w, r)
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
	_, err = fmt.Fprintf(w, "[msscprobe] Partie retirée du bundle (données personnelles : INS de production) / part withheld (personal data: production INS).\r\nType: %s, %d octets/bytes (encodés/encoded), SHA-256: %x\r\n", mt, len(body), sum)
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
