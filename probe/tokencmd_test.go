package probe

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/mocks"
)

// TestTokenCmd: auth.token_cmd runs before each login (SMTP and IMAP), its
// output is the XOAUTH2 bearer token, and the token never reaches the
// result, the transcripts or the messages; a failing command fails the
// login with how it ended, nothing of its output.
func TestTokenCmd(t *testing.T) {
	for _, tc := range []struct {
		name, cmd string
		met       bool
		want      string // in SMTP-AUTH-002's message
	}{
		{"token", "echo run >> runs.log; cat token.txt", true, "Authenticated"},
		{"exit status", "echo oops-" + testToken + " >&2; exit 3", false, "auth.token_cmd gave no token: exit status 3"},
		{"empty", "true", false, "auth.token_cmd gave no token: empty output"},
		{"not a token", "echo 'two words'", false, "not a bearer token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startMock(t, mocks.Config{})
			if err := os.WriteFile(filepath.Join(te.dir, "token.txt"), []byte(testToken+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd, _ := json.Marshal(tc.cmd)
			te.yaml["auth"] = "{mechanism: xoauth2, username: " + testAccount + ", token_cmd: " + string(cmd) + "}"
			res := te.run(t, context.Background())
			c, _ := checkStatus(res, RuleSMTPAuth)
			if res.Met != tc.met || !strings.Contains(c.Message.EN, tc.want) {
				t.Fatalf("met %v, %s %q", res.Met, c.Status, c.Message.EN)
			}
			js, _ := json.Marshal(res)
			for _, where := range []string{string(js), string(res.SMTPTranscript), string(res.IMAPTranscript)} {
				if strings.Contains(where, testToken) {
					t.Errorf("token leaked:\n%s", where)
				}
			}
			if tc.met {
				runs, _ := os.ReadFile(filepath.Join(te.dir, "runs.log"))
				if n := strings.Count(string(runs), "run"); n != 2 {
					t.Errorf("token_cmd ran %d times, want 2 (SMTP and IMAP logins)", n)
				}
			}
		})
	}
}
