package check

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func TestParseLang(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Lang
		err  bool
	}{
		{"", FR, false}, {"fr", FR, false}, {"EN", EN, false}, {" en ", EN, false}, {"de", "", true},
	} {
		got, err := ParseLang(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLang(%q) = %q, %v; want %q, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestTextFallsBackToFrench(t *testing.T) {
	if got := (Text{FR: "bonjour"}).In(EN); got != "bonjour" {
		t.Errorf("In(EN) with no English = %q", got)
	}
	if got := Textf("%d document", "%d doc", 3).In(EN); got != "3 doc" {
		t.Errorf("Textf EN = %q", got)
	}
}

func TestWorst(t *testing.T) {
	for _, tc := range []struct {
		in   []Severity
		want Severity
	}{
		{nil, ""}, {[]Severity{Info}, Info}, {[]Severity{Info, Error, Warning}, Error}, {[]Severity{Warning, Info}, Warning},
	} {
		var fs []Finding
		for _, s := range tc.in {
			fs = append(fs, Finding{Severity: s})
		}
		if got := Worst(fs); got != tc.want {
			t.Errorf("Worst(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCatalogRejectsDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate rule ID accepted")
		}
	}()
	NewCatalog(Rule{ID: "X-1"}, Rule{ID: "X-1"})
}

func TestJUnitTotals(t *testing.T) {
	s := &JUnitSuites{Suites: []JUnitSuite{{Name: "a", Cases: []JUnitCase{
		{Name: "ok", Time: 0.5},
		{Name: "bad", Failure: &JUnitMessage{Message: "m", Body: "ctl\x01char"}},
		{Name: "skip", Skipped: &JUnitMessage{}},
	}}}}
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	var back JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("output is not XML: %v\n%s", err, buf.String())
	}
	if back.Tests != 3 || back.Failures != 1 || back.Skipped != 1 || back.Suites[0].Time != 0.5 {
		t.Errorf("totals = %+v", back)
	}
	if !strings.HasPrefix(buf.String(), "<?xml") {
		t.Error("no XML declaration")
	}
}

// TestTextfRendersTextArguments: a Text argument is written in each
// message's own language, other arguments as they are.
func TestTextfRendersTextArguments(t *testing.T) {
	got := Textf("échec : %s (%d)", "failure: %s (%d)", Text{FR: "délai dépassé", EN: "timed out"}, 3)
	if got.FR != "échec : délai dépassé (3)" || got.EN != "failure: timed out (3)" {
		t.Errorf("%+v", got)
	}
}
