package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseLimits: a hostile message stops the walk with a named error
// instead of consuming memory or time.
func TestParseLimits(t *testing.T) {
	nested := func(depth int) []byte {
		var b bytes.Buffer
		b.WriteString("From: a@b.test\r\n")
		for i := range depth {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nx\r\n")
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		return b.Bytes()
	}
	many := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString("From: a@b.test\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n")
		for range n {
			b.WriteString("--z\r\nContent-Type: text/plain\r\n\r\nx\r\n")
		}
		b.WriteString("--z--\r\n")
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"depth ok", nested(DefaultMaxDepth - 1), nil},
		{"too deep", nested(DefaultMaxDepth + 1), ErrTooDeep},
		{"parts ok", many(DefaultMaxParts), nil},
		{"too many parts", many(DefaultMaxParts + 1), ErrTooManyParts},
		{"header too large", append([]byte("X-Long: "+strings.Repeat("a", MaxHeaderBytes)+"\r\n\r\n"), "body"...), ErrHeaderTooLarge},
		{"part header too large", []byte("Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nX: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n\r\nx\r\n--z--\r\n"), ErrHeaderTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.raw, 0, 0)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			r := CheckBytes(tc.name, tc.raw, Options{})
			if got := r.Findings[len(r.Findings)-1]; tc.want != nil && !slicesHas(r, RuleUnreadable.ID) {
				t.Errorf("no MSS-001, last finding %+v", got)
			}
		})
	}
}

func slicesHas(r Result, id string) bool {
	for _, f := range r.Findings {
		if f.Rule == id {
			return true
		}
	}
	return false
}

// TestSplitMultipart: delimiters only at line starts and followed by white
// space, a look-alike boundary is content, preamble and epilogue dropped.
func TestSplitMultipart(t *testing.T) {
	body := "preamble\r\n--b\r\nA\r\n--bX not a delimiter\r\n--b  \r\nB\n--b--\r\nepilogue"
	parts, err := splitMultipart([]byte(body), "b")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || string(parts[0]) != "A\r\n--bX not a delimiter" || string(parts[1]) != "B" {
		t.Errorf("parts %q", parts)
	}
	if _, err := splitMultipart([]byte("no delimiter"), "b"); err == nil {
		t.Error("no part: no error")
	}
	if parts, err := splitMultipart([]byte("--b\r\nA\r\n"), "b"); err == nil || len(parts) != 1 {
		t.Errorf("unclosed: %q %v", parts, err)
	}
}

// TestTotalSize: over 25 MB is MSS-027; over the read limit the message
// is not parsed.
func TestTotalSize(t *testing.T) {
	base := []byte("From: a@b.test\r\nDate: Thu, 01 Jan 2026 12:00:00 +0100\r\nMessage-ID: <s@b.test>\r\nX-MSS-NIL: X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=x.bin\r\n\r\n")
	raw := append(base, bytes.Repeat([]byte("a"), MaxMessageBytes)...)
	r := CheckBytes("big.eml", raw, Options{})
	if got := ruleSet(r.Findings); strings.Join(got, " ") != "MSS-027" || r.Passed {
		t.Errorf("rules %v passed %v", got, r.Passed)
	}
	r = CheckBytes("big.eml", raw, Options{MaxSize: 1 << 20})
	if got := ruleSet(r.Findings); strings.Join(got, " ") != "MSS-001 MSS-027" {
		t.Errorf("over the read limit: rules %v", got)
	}
}

func TestDecodeBase64(t *testing.T) {
	for in, want := range map[string]string{
		"SGVsbG8h\r\n":          "Hello!",
		" SGVs bG8h \r\nIQ==\n": "Hello!!",
		"SGVs\tbG8hIQ==":        "Hello!!",
		"":                      "",
	} {
		got, err := decodeBase64([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := decodeBase64([]byte("SGVsbG8h!!\r\n")); err == nil {
		t.Error("invalid base64: no error")
	}
}

// TestQuotedValuesBounded: a huge header value does not make a huge
// finding or result field.
func TestQuotedValuesBounded(t *testing.T) {
	long := strings.Repeat("é", 100000)
	raw := []byte("From: " + long + "\r\nMessage-ID: " + long + "\r\nSubject: " + long + "\r\n\r\nx\r\n")
	r := CheckBytes("long.eml", raw, Options{})
	if len(r.Subject) > 2*maxValue+10 || len(r.MessageID) > 2*maxValue+10 {
		t.Errorf("subject %d bytes, message-id %d bytes", len(r.Subject), len(r.MessageID))
	}
	for _, f := range r.Findings {
		if len(f.Message.FR) > 1000 || len(f.Message.EN) > 1000 {
			t.Errorf("%s: %d bytes", f.Rule, len(f.Message.EN))
		}
	}
	if !strings.HasSuffix(r.Subject, "…") {
		t.Errorf("clipped subject does not say so: %q", r.Subject[len(r.Subject)-10:])
	}
}

// TestUnreadableHeaderText: the MSS-001 text quotes the bad header line
// without its line end, not as replacement characters.
func TestUnreadableHeaderText(t *testing.T) {
	for _, raw := range []string{"garbage no headers\r\n", "garbage no headers\n"} {
		r := CheckBytes("bad.eml", []byte(raw), Options{})
		if len(r.Findings) != 1 || r.Findings[0].Rule != RuleUnreadable.ID {
			t.Fatalf("%q: findings %+v, want one MSS-001", raw, r.Findings)
		}
		if en := r.Findings[0].Message.EN; strings.ContainsRune(en, utf8.RuneError) || !strings.HasSuffix(en, "garbage no headers") {
			t.Errorf("%q: MSS-001 text %q", raw, en)
		}
	}
}

// TestMbox: messages split at "From " lines, ">From " unescaped, a
// message over the read limit reported without being held, a line longer
// than the read buffer kept whole.
func TestMbox(t *testing.T) {
	long := strings.Repeat("a", 200<<10)
	mbox := "From a@b Thu Jan  1 00:00:00 2026\nSubject: one\n\n>From the start\nX-Long: " + long + "\n\n" +
		"From a@b Thu Jan  1 00:00:00 2026\nSubject: big\n\n" + strings.Repeat("b", 300<<10) + "\n\n" +
		"From a@b Thu Jan  1 00:00:00 2026\nSubject: three\n\nbody\n"
	var got []string
	var raws [][]byte
	var bigs []int64
	err := readMbox("box", bufio.NewReaderSize(strings.NewReader(mbox), 64<<10), 256<<10, func(name string, raw []byte, big int64) bool {
		got = append(got, name)
		raws = append(raws, raw)
		bigs = append(bigs, big)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "box#1 box#2 box#3" {
		t.Fatalf("messages %v", got)
	}
	if !bytes.Contains(raws[0], []byte("\nFrom the start\n")) || !bytes.Contains(raws[0], []byte(long)) || bigs[0] != 0 {
		t.Errorf("message 1: %d bytes, big %d", len(raws[0]), bigs[0])
	}
	if raws[1] != nil || bigs[1] <= 256<<10 {
		t.Errorf("message 2 over the limit: %d bytes held, big %d", len(raws[1]), bigs[1])
	}
	if string(raws[2]) != "Subject: three\n\nbody" {
		t.Errorf("message 3: %q", raws[2])
	}
	if err := readMbox("empty", bufio.NewReader(strings.NewReader("no from line\n")), 1<<20, func(string, []byte, int64) bool { return true }); err == nil {
		t.Error("mbox without a From line: no error")
	}
}
