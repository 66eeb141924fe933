package trust

import (
	"crypto/x509"
	"strings"

	"github.com/msscprobe/msscprobe/check"
)

// Structure identifier kinds, by the prefix digit of the subject OU of
// IGC-Santé organisation certificates (corpus igc-sante/SOURCES.md: "3" +
// SIRET for ANS; "1" + FINESS for establishments). The other prefixes are
// kept as seen.
const (
	IDFINESS = "FINESS"
	IDSIRET  = "SIRET"
	IDOther  = "other"
)

// StructureID is the structure identifier of an organisation certificate.
type StructureID struct {
	Raw  string `json:"raw"`  // the OU as written
	Kind string `json:"kind"` // IDFINESS, IDSIRET, IDOther
	ID   string `json:"id"`   // without the prefix digit
}

// StructureIDOf finds the structure identifier in cert's subject OU: a
// prefix digit, then 9 characters (FINESS, prefix 1) or 14 digits (SIRET,
// prefix 3). ok is false when no OU has that shape.
func StructureIDOf(cert *x509.Certificate) (StructureID, bool) {
	for _, ou := range cert.Subject.OrganizationalUnit {
		ou = strings.TrimSpace(ou)
		if len(ou) < 2 || ou[0] < '0' || ou[0] > '9' || strings.Trim(ou[1:], "0123456789AB") != "" {
			continue
		}
		s := StructureID{Raw: ou, Kind: IDOther, ID: ou[1:]}
		switch {
		case ou[0] == '1' && len(ou) == 10:
			s.Kind = IDFINESS
		case ou[0] == '3' && len(ou) == 15 && strings.Trim(ou[1:], "0123456789") == "":
			s.Kind = IDSIRET
		}
		return s, true
	}
	return StructureID{}, false
}

// CheckFINESS says what is wrong with a FINESS number: its shape (9
// characters, digits or 2A/2B for Corsica at the start), a placeholder
// (one repeated character, 123456789), or its check digit (Luhn over the
// 9 digits, as for SIREN). nil when it is plausible. Corsican numbers have
// no Luhn check here: their key is computed on a département code this
// tool cannot confirm. The error is a *FINESSError.
func CheckFINESS(f string) error {
	bad := func(fr, en string) error { return &FINESSError{check.Textf(fr, en, f)} }
	if len(f) != 9 {
		return bad("%q ne fait pas 9 caractères", "%q is not 9 characters")
	}
	corsica := strings.HasPrefix(f, "2A") || strings.HasPrefix(f, "2B")
	body := f
	if corsica {
		body = f[2:]
	}
	if strings.Trim(body, "0123456789") != "" {
		return bad("%q n'est pas fait de chiffres (2A/2B admis au début)", "%q is not digits (2A/2B allowed at the start)")
	}
	if strings.Count(f, f[:1]) == 9 || f == "123456789" || f == "987654321" {
		return bad("%q est une valeur fictive, pas le FINESS d'un établissement", "%q is a placeholder, not an establishment's FINESS")
	}
	if !corsica && !Luhn(f) {
		return bad("%q a une clé de contrôle fausse (Luhn)", "%q fails its check digit (Luhn)")
	}
	return nil
}

// FINESSError says, in French and English, what is wrong with a FINESS:
// verify's report is read in either language.
type FINESSError struct{ Msg check.Text }

func (e *FINESSError) Error() string { return e.Msg.EN }

// Luhn reports whether the digits of s pass the Luhn check.
func Luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
