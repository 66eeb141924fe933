package probe

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestTokenCmdProSanteConnect: against the mock's Pro Santé Connect
// issuer, a stale token is refused with the 401 challenge, and token_cmd,
// run before each login, brings a fresh one: an expired token for SMTP,
// then a valid one for IMAP, fails SMTP only.
func TestTokenCmdProSanteConnect(t *testing.T) {
	te := startMock(t, mocks.Config{})
	mint := func(name string, ttl time.Duration) {
		tok, err := te.op.PSCToken(testAccount, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(te.dir, name), []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A token file is read once: expired, both logins fail.
	mint("stale.txt", -time.Minute)
	te.yaml["auth"] = "{mechanism: xoauth2, username: " + testAccount + ", token_file: stale.txt}"
	res := te.run(t, context.Background())
	if c, _ := checkStatus(res, RuleSMTPAuth); res.Met || c.Status != Fail || !strings.Contains(c.Message.EN, `"status":"401"`) {
		t.Errorf("stale token: met %v, %s %q", res.Met, c.Status, c.Message.EN)
	}
	// token_cmd gives the n-th token at the n-th login.
	mint("tok0", -time.Minute)
	mint("tok1", time.Minute)
	te.yaml["auth"] = `{mechanism: xoauth2, username: ` + testAccount + `, token_cmd: "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; cat tok$n"}`
	res = te.run(t, context.Background())
	smtpAuth, _ := checkStatus(res, RuleSMTPAuth)
	imapAuth, _ := checkStatus(res, RuleIMAPAuth)
	if smtpAuth.Status != Fail || imapAuth.Status != Pass {
		t.Errorf("SMTP %s %q, IMAP %s %q", smtpAuth.Status, smtpAuth.Message.EN, imapAuth.Status, imapAuth.Message.EN)
	}
}

// TestTokenCmdIssuerScript: the token script of docs/mock-pki.md, which
// asks the mock issuer's token endpoint, works as auth.token_cmd, and each
// login gets its own token (skipped without curl).
func TestTokenCmdIssuerScript(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed: the token script needs it")
	}
	te := startMock(t, mocks.Config{PSC: mocks.PSCConfig{TokenTTL: 30 * time.Second}})
	psc := te.op.PSC()
	for name, v := range map[string]string{"pw.txt": testPassword, "psc.txt": psc.ClientSecret} {
		if err := os.WriteFile(filepath.Join(te.dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
set -e
umask 077
cd "$(dirname "$0")"
printf 'machine 127.0.0.1 login ` + psc.ClientID + ` password %s\n' "$(cat psc.txt)" > netrc
printf 'grant_type=password&username=medecin%%40hopital.test.mssante.fr&password=%s' "$(cat pw.txt)" > form
curl -sf --max-time 10 --netrc-file netrc --data @form ` + psc.TokenURL + ` | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
`
	if err := os.WriteFile(filepath.Join(te.dir, "token.sh"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	te.yaml["auth"] = "{mechanism: xoauth2, username: " + testAccount + ", token_cmd: ./token.sh}"
	res := te.run(t, context.Background())
	if !res.Met {
		t.Fatalf("not met:\n%s", dump(res))
	}
	grants := 0
	for _, e := range te.op.Events() {
		if e.Proto == "psc" && e.Kind == "token" {
			grants++
		}
	}
	if grants != 2 {
		t.Errorf("%d token grants, want 2 (one per login)", grants)
	}
}
