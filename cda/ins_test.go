package cda

import (
	"errors"
	"testing"
)

func TestParseMatricule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		// ANS test identity PAT-TROIS Dominique (research cda-ins.md §3.2).
		{"279035121518989", nil},
		{"277076322082910", nil},
		// python-stdnum vectors, Corsica included.
		{"253072B07300470", nil},
		{"253072A07300443", nil},
		{"186022A21532523", nil},
		{"295109912611193", nil},
		{"295109912611199", ErrMatriculeKey},
		// Keys that official ANS examples get wrong.
		{"221042545611404", ErrMatriculeKey},
		{"224027511583555", ErrMatriculeKey},
		// Shape errors.
		{"253072a07300443", ErrMatriculeFormat},
		{"2790351215189", ErrMatriculeFormat},
		{"2790351215189890", ErrMatriculeFormat},
		{"27903512151898X", ErrMatriculeFormat},
		{"2790A5121518989", ErrMatriculeFormat},
		{" 279035121518989", ErrMatriculeFormat},
		{"", ErrMatriculeFormat},
	} {
		_, err := ParseMatricule(tc.in)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ParseMatricule(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestControlKey(t *testing.T) {
	for body, want := range map[string]string{
		"2790351215189": "89",
		"2210425456114": "83",
		"253072B073004": "70",
		"253072B07300":  "",
		"25307xB073004": "",
	} {
		if got := ControlKey(body); got != want {
			t.Errorf("ControlKey(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestMatriculeParts(t *testing.T) {
	m, err := ParseMatricule("279035121518989")
	if err != nil {
		t.Fatal(err)
	}
	if m.Sex() != '2' || m.YearMonth() != "7903" || m.Birthplace() != "51215" {
		t.Errorf("parts = %c %s %s", m.Sex(), m.YearMonth(), m.Birthplace())
	}
}

func TestKindOf(t *testing.T) {
	for oid, want := range map[string]Kind{OIDInsNIR: KindNIR, OIDInsNIA: KindNIA, OIDInsTest: KindTest, OIDInsDemo: KindDemo} {
		if got, ok := KindOf(oid); !ok || got != want {
			t.Errorf("KindOf(%s) = %q, %v", oid, got, ok)
		}
	}
	for _, oid := range []string{OIDNSSNIR, "1.2.250.1.213.1.4.2", "1.2.3.4"} {
		if _, ok := KindOf(oid); ok {
			t.Errorf("KindOf(%s) accepted a non-INS OID", oid)
		}
	}
}
