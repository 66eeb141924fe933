package probe

import (
	"bytes"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/check"
)

// TestVerdictLineSaysTest: the text report's last line marks a run on a
// test bed TEST, in both languages, and says nothing more for a run on
// the MSSanté trust space or an older result without an environment.
func TestVerdictLineSaysTest(t *testing.T) {
	for _, tc := range []struct {
		env  string
		met  bool
		lang check.Lang
		want string
	}{
		{EnvTest, true, check.FR, "Verdict : PS 4.1 ATTEINT (réponse en 0s, durée totale 0s) — TEST : pas l'espace de confiance MSSanté réel (ENV-001)"},
		{EnvTest, false, check.EN, "Verdict: PS 4.1 NOT MET (total 0s) — TEST: not the real MSSanté trust space (ENV-001)"},
		{EnvMSSante, true, check.FR, "Verdict : PS 4.1 ATTEINT (réponse en 0s, durée totale 0s)"},
		{"", false, check.FR, "Verdict : PS 4.1 NON ATTEINT (durée totale 0s)"},
	} {
		r := &Result{Met: tc.met, Environment: Environment{Kind: tc.env}}
		var b bytes.Buffer
		if err := r.WriteText(&b, tc.lang); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if last := lines[len(lines)-1]; last != tc.want {
			t.Errorf("%s met=%v: last line %q, want %q", tc.env, tc.met, last, tc.want)
		}
	}
}
