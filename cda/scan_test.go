package cda

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// countingReader counts the bytes handed out, to prove the size limit.
type countingReader struct {
	data []byte
	n    int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= len(c.data) {
		return 0, io.EOF
	}
	k := copy(p, c.data[c.n:])
	c.n += k
	return k, nil
}

// etreeAccepts is the reference the scanner must never be laxer than.
func etreeAccepts(b []byte) bool {
	d := etree.NewDocument()
	d.ReadSettings = readSettings
	return d.ReadFromBytes(b) == nil && d.Root() != nil
}

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		dtd  bool
		line int
	}{
		{`<a/>`, true, false, 0},
		{`<?xml version="1.0"?><a x='1' y="&lt;&#233;&#x20AC;">t&amp;<![CDATA[<x>]]><!-- c --><?pi data?></a>`, true, false, 0},
		{"<a>\n<b></a>", false, false, 2},
		{`<a x="1" x="2"/>`, false, false, 1},
		{`<a>&nbsp;</a>`, false, false, 1},
		{`<a>&#0;</a>`, false, false, 1},
		{`<a>& b</a>`, false, false, 1},
		{`<a><!-- a -- b --></a>`, false, false, 1},
		{`<a>]]></a>`, false, false, 1},
		{"<a>\x01</a>", false, false, 1},
		{"<a>\xff</a>", false, false, 1},
		{`<a x=1/>`, false, false, 1},
		{`<a x="<"/>`, false, false, 1},
		{`<a/><b/>`, false, false, 1},
		{`<a/>text`, false, false, 1},
		{`<a>`, false, false, 1},
		{``, false, false, 1},
		{"<a/>\n<?xml version='1.0'?>", false, false, 2},
		{"<!DOCTYPE a>\n<a/>", false, true, 1},
		{"<a><!ENTITY x 'y'></a>", false, true, 1},
		{`<a b="1"c="2"/>`, false, false, 1},
		{strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1), false, false, 1},
		// Leading zeros are allowed in character references.
		{`<a>&#0000000065;&#x000000000041;</a>`, true, false, 0},
		{`<a>&#x110000;</a>`, false, false, 1},
		{`<a>&#99999999999999999999;</a>`, false, false, 1},
		// Non-ASCII names: only what encoding/xml (under etree) accepts.
		{`<é ñ="1" a·b="2"/>`, true, false, 0},
		{`<ª/>`, false, false, 1},
		{`<aª/>`, false, false, 1},
		{"<a>\n<b ª='1'/></a>", false, false, 2},
		{"<a>\n&ª;</a>", false, false, 2},
		// Duplicates are found past the first attributes too.
		{"<a" + attrs(0, 40) + ` a3=""/>`, false, false, 1},
		{"<a" + attrs(0, 40) + "/>", true, false, 0},
	} {
		_, err := scan([]byte(tc.in), maxDepth)
		if (err == nil) != tc.ok {
			t.Errorf("scan(%.40q): err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if line, _ := lineCol([]byte(tc.in), err.off); err.dtd != tc.dtd || line != tc.line {
				t.Errorf("scan(%.40q): dtd=%v line %d, want dtd=%v line %d", tc.in, err.dtd, line, tc.dtd, tc.line)
			}
		}
		if tc.ok && !etreeAccepts([]byte(tc.in)) {
			t.Errorf("scan accepted %.40q that etree refuses", tc.in)
		}
	}
}

// attrs writes the attributes a<from>="" ... a<to-1>="".
func attrs(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, ` a%d=""`, i)
	}
	return b.String()
}

// TestScanManyAttributes: the duplicate-attribute check stays linear (it
// was quadratic: 100,000 attributes took 48 s, a 32 MiB file hours).
func TestScanManyAttributes(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"<a" + attrs(0, 300000) + "/>", true},
		{"<a" + attrs(0, 300000) + ` a299999=""/>`, false},
		{"<a" + attrs(0, 300000) + "><b" + attrs(0, 300000) + "/></a>", true},
	} {
		done := make(chan *scanError, 1)
		go func() { _, err := scan([]byte(tc.in), maxDepth); done <- err }()
		select {
		case err := <-done:
			if (err == nil) != tc.ok {
				t.Errorf("%d bytes: err %v, want ok=%v", len(tc.in), err, tc.ok)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%d bytes: scan still running after 30 s", len(tc.in))
		}
	}
}

// TestScanNamesNeverLaxer tries every character of the first Unicode
// planes' common blocks in element and attribute names: whatever the
// scanner accepts, etree must parse (the scanner used unicode.IsLetter and
// accepted ª, µ, º and ~100,000 other characters etree refuses).
func TestScanNamesNeverLaxer(t *testing.T) {
	for r := rune(0x80); r < 0x3100; r++ {
		for _, in := range []string{"<" + string(r) + "/>", "<a" + string(r) + "/>", "<a " + string(r) + "='1'/>", "<a b" + string(r) + "='1'/>"} {
			if _, err := scan([]byte(in), maxDepth); err == nil && !etreeAccepts([]byte(in)) {
				t.Errorf("scan accepted %q (%U) that etree refuses", in, r)
			}
		}
	}
}

// TestHeaderReduction checks that the reduced header keeps what rules read
// and closes the xsl:stylesheet wrapper, and that without ClinicalDocument
// only the root's start tag is parsed (a 27 MB export took 5 s and 490 MB).
func TestHeaderReduction(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<x:stylesheet xmlns:x="http://www.w3.org/1999/XSL/Transform"><d><ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1"/><author><id root="2"/></author><recordTarget/><component><b/></component></ClinicalDocument></d><x:template/></x:stylesheet>`,
			`<x:stylesheet xmlns:x="http://www.w3.org/1999/XSL/Transform"><d><ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1"/><recordTarget/></ClinicalDocument></d></x:stylesheet>`},
		{"<?xml version=\"1.0\"?>\n<!-- c --><e:export xmlns:e=\"urn:x\" a=\"1\" ><row/><row/></e:export>",
			"<?xml version=\"1.0\"?>\n<!-- c --><e:export xmlns:e=\"urn:x\" a=\"1\" />"},
		{`<export a="/"/>`, `<export a="/"/>`},
	} {
		h, err := scan([]byte(tc.in), maxDepth)
		if err != nil {
			t.Fatal(err)
		}
		if string(h) != tc.want {
			t.Errorf("header\n%s\nwant\n%s", h, tc.want)
		}
	}
	d := CheckBytes("x.xml", []byte(`<e:export xmlns:e="urn:x"><row>ClinicalDocument</row></e:export>`), Options{})[0]
	if len(d.Findings) != 1 || d.Findings[0].Rule != "CDA-002" || !strings.Contains(d.Findings[0].Message.EN, "{urn:x}export") {
		t.Errorf("non-CDA root: %+v", d.Findings)
	}
}
