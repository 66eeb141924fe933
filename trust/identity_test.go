package trust

import (
	"strings"
	"testing"
)

// TestCheckFINESS: the FINESS shape, placeholders and the Luhn key.
func TestCheckFINESS(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"750712184", ""}, // AP-HP (FINESS juridique)
		{"010000016", ""},
		{"000000000", "placeholder"},
		{"999999999", "placeholder"},
		{"123456789", "placeholder"},
		{"750712185", "check digit"},
		{"75071218", "not 9 characters"},
		{"2A0000011", ""}, // Corsica: shape only
		{"2C0000011", "not digits"},
	} {
		err := CheckFINESS(tc.in)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckFINESS(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
