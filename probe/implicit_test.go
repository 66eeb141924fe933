package probe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/mocks"
)

// TestImplicitTLSPortAsStartTLS: an implicit-TLS port configured as
// starttls is recognised within seconds, with the fix, not after the 30 s
// step deadline; for SMTP and IMAP.
func TestImplicitTLSPortAsStartTLS(t *testing.T) {
	te := startMock(t, mocks.Config{})
	for _, tc := range []struct{ key, addr, rule, port string }{
		{"smtp", te.op.SMTPSAddr(), RuleSMTPTCP, "587"},
		{"imap", te.op.IMAPSAddr(), RuleIMAPTCP, "143"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			te.yaml["smtp"] = server(te.op.SMTPAddr(), "starttls")
			te.yaml["imap"] = server(te.op.IMAPAddr(), "starttls")
			te.yaml[tc.key] = server(tc.addr, "starttls")
			te.yaml["timeouts"] = "{step: 30s, reply: 5s}"
			start := time.Now()
			res, err := Run(context.Background(), te.config(t), Options{Getenv: func(k string) string { return te.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			c, _ := checkStatus(res, tc.rule)
			if c.Status != Fail || !strings.Contains(c.Message.EN, "uses implicit TLS, not STARTTLS. Set "+tc.key+".tls: implicit (or use the STARTTLS port "+tc.port+")") {
				t.Errorf("%s %s %q\n%s", tc.rule, c.Status, c.Message.EN, dump(res))
			}
			if took > 10*time.Second {
				t.Errorf("recognised after %s, want about 3 s", took)
			}
		})
	}
}
