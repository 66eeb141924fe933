package cda

import (
	"errors"
	"fmt"
	"strconv"
)

// INS assigning-authority OIDs carried in recordTarget/patientRole/id/@root
// (research cda-ins.md §1: TestContenuCDA 3.0 template 1.2.250.1.213.1.1.1.1
// enumerates exactly .8/.9/.10/.11; FR Core Patient INS slices).
const (
	OIDInsNIR  = "1.2.250.1.213.1.4.8"  // INS-NIR, production
	OIDInsNIA  = "1.2.250.1.213.1.4.9"  // INS-NIA, production, temporary number
	OIDInsTest = "1.2.250.1.213.1.4.10" // INS-NIR de test: fictitious identity
	OIDInsDemo = "1.2.250.1.213.1.4.11" // INS-NIR de démonstration: fictitious identity
	// OIDNSSNIR is the NIR used as social-security number: not an INS, and
	// must never be taken for one (CSE-CS24 example carries both).
	OIDNSSNIR = "1.2.250.1.213.1.4.13"
)

// Kind classifies an INS by its OID.
type Kind string

const (
	KindNIR  Kind = "nir"
	KindNIA  Kind = "nia"
	KindTest Kind = "test"
	KindDemo Kind = "demo"
)

// KindOf returns the kind of INS that oid designates, or false when oid is
// not an INS authority (a local identifier, or the NSS-NIR).
func KindOf(oid string) (Kind, bool) {
	switch oid {
	case OIDInsNIR:
		return KindNIR, true
	case OIDInsNIA:
		return KindNIA, true
	case OIDInsTest:
		return KindTest, true
	case OIDInsDemo:
		return KindDemo, true
	}
	return "", false
}

// Fictitious reports whether the kind names a test or demo identity.
func (k Kind) Fictitious() bool { return k == KindTest || k == KindDemo }

// Errors returned by ParseMatricule; callers test them with errors.Is.
var (
	ErrMatriculeFormat = errors.New("not a 15-character matricule INS")
	ErrMatriculeKey    = errors.New("wrong control key")
)

// Matricule is a syntactically valid 15-character matricule INS
// (13-character NIR or NIA followed by a 2-digit key).
type Matricule string

// ParseMatricule checks the shape ^[0-9]{5}([0-9]{2}|2A|2B)[0-9]{8}$ and the
// control key. Lower-case 2a/2b are refused: ANS examples and the INSi
// téléservice use upper case. The caller trims white space.
func ParseMatricule(s string) (Matricule, error) {
	if !matriculeShape(s) {
		return "", fmt.Errorf("%q: %w (want 13 digits, Corsica 2A/2B allowed at positions 6-7, then a 2-digit key)", s, ErrMatriculeFormat)
	}
	want := ControlKey(s[:13])
	if got := s[13:]; got != want {
		return "", fmt.Errorf("%q: %w %s, expected %s", s, ErrMatriculeKey, got, want)
	}
	return Matricule(s), nil
}

func matriculeShape(s string) bool {
	if len(s) != 15 {
		return false
	}
	for i := 0; i < 15; i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			continue
		}
		// Corsica: département 2A or 2B at 0-based indices 5-6.
		if i == 6 && s[5] == '2' && (c == 'A' || c == 'B') {
			continue
		}
		return false
	}
	return true
}

// ControlKey computes the 2-digit key of a 13-character NIR/NIA body:
// 97 − (N mod 97), with 2A read as 19 and 2B as 18 (research cda-ins.md §3.2,
// python-stdnum fr.nir). body must have the matricule shape's first 13
// characters; any other input yields "".
func ControlKey(body string) string {
	if len(body) != 13 || !matriculeShape(body+"00") {
		return ""
	}
	digits := body
	switch body[5:7] {
	case "2A":
		digits = body[:5] + "19" + body[7:]
	case "2B":
		digits = body[:5] + "18" + body[7:]
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%02d", 97-n%97)
}

// Sex returns the first character: 1 male, 2 female for a NIR; temporary
// numbers may use other digits.
func (m Matricule) Sex() byte { return m[0] }

// YearMonth returns positions 2-5 (YYMM of birth).
func (m Matricule) YearMonth() string { return string(m[1:5]) }

// Birthplace returns positions 6-10: the COG of the birth commune, or 99 and
// the INSEE country code for people born abroad.
func (m Matricule) Birthplace() string { return string(m[5:10]) }
