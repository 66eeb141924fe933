package trust

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckFINESS: the FINESS shape, placeholders and the Luhn key.
func TestCheckFINESS(t *testing.T) {
	for _, tc := range []struct{ in, want, wantFR string }{
		{"750712184", "", ""}, // AP-HP (FINESS juridique)
		{"010000016", "", ""},
		{"000000000", "placeholder", "valeur fictive"},
		{"999999999", "placeholder", "valeur fictive"},
		{"123456789", "placeholder", "valeur fictive"},
		{"750712185", "check digit", "clé de contrôle fausse"},
		{"75071218", "not 9 characters", "ne fait pas 9 caractères"},
		{"2A0000011", "", ""}, // Corsica: shape only
		{"2C0000011", "not digits", "pas fait de chiffres"},
	} {
		err := CheckFINESS(tc.in)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckFINESS(%q) = %v, want %q", tc.in, err, tc.want)
		}
		// verify prints the reason in the reader's language.
		var fe *FINESSError
		if err != nil && (!errors.As(err, &fe) || !strings.Contains(fe.Msg.FR, tc.wantFR) || !strings.Contains(fe.Msg.FR, tc.in)) {
			t.Errorf("CheckFINESS(%q): French %+v, want %q", tc.in, fe, tc.wantFR)
		}
	}
}
