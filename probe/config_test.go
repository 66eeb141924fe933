package probe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTemplateLoads(t *testing.T) {
	for _, tpl := range []string{Template, TemplateFR} {
		cfg, err := ParseConfig([]byte(tpl), "probe.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(func(k string) string { return map[string]string{"MSSCPROBE_PASSWORD": "x"}[k] }); err != nil {
			t.Fatal(err)
		}
		if cfg.SMTP.Port != 587 || cfg.IMAP.TLS != TLSStartTLS || cfg.Target != DefaultTarget || cfg.Timeouts.Reply.D() != 5*time.Minute {
			t.Errorf("template values: %+v", cfg)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte("smtp: {host: a, tls: implicit}\nimap: {host: b}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.Port != 465 || cfg.IMAP.Port != 143 || cfg.Reply.Mode != ReplyAuto || cfg.Auth.Mechanism != MechPlain ||
		cfg.Timeouts.Step.D() != DefaultStepTimeout || cfg.Message.NIL == "" {
		t.Errorf("defaults: %+v", cfg)
	}
}

// TestConfigErrors: every error names the file, the line and the key, and
// says what is wrong.
func TestConfigErrors(t *testing.T) {
	base := "establishment: {name: H, address: a@b.fr}\nsmtp: {host: h}\nimap: {host: h}\nauth: {username: u, password_env: PW}\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top", base + "tagret: x@y.fr\n", "p.yaml:5: tagret: unknown key"},
		{"unknown nested", "smtp: {host: h, prot: 25}\n", "p.yaml:1: smtp.prot: unknown key (known keys: host, port, server_name, tls)"},
		{"secret inline", "auth: {password: hunter2}\n", "auth.password: unknown key (secrets are never written"},
		{"port type", "smtp: {host: h, port: abc}\n", `smtp.port: "abc" is not a whole number`},
		{"duration", "timeouts: {step: 30}\n", `timeouts.step: "30" is not a positive duration`},
		{"bool", "message: {mdn: maybe}\n", `message.mdn: "maybe" is not true or false`},
		{"mapping", "smtp: localhost\n", "smtp: want a mapping"},
		{"syntax", "smtp: {host: h}\nimap: {host: [\n", "p.yaml:2: did not find expected node content"},
		{"tab", "smtp:\n\thost: h\n", "p.yaml:2: found character that cannot start any token (a tab: YAML indents with spaces only)"},
		{"duplicate", "smtp: {host: a}\nimap: {host: b}\nsmtp: {host: c}\n", "p.yaml:3: smtp: given twice (first at line 1): keep one"},
		{"duplicate nested", "auth:\n  username: a\n  username: b\n", "p.yaml:3: auth.username: given twice (first at line 2)"},
		{"quoted port", "smtp: {host: h, port: \"587\"}\n", `p.yaml:1: smtp.port: "587": write the number without quotes`},
		{"empty", "", "empty configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "p.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "establishment: {name: H, address: a@b.fr}\nsmtp: {host: h}\nimap: {host: h}\n"
	env := func(k string) string { return map[string]string{"PW": "x"}[k] }
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"ok env", base + "auth: {username: u, password_env: PW}\n", ""},
		{"ok file", base + "auth: {username: u, password_file: pw.txt}\n", ""},
		{"env unset", base + "auth: {username: u, password_env: NOPE}\n", "p.yaml:4: auth.password_env: environment variable NOPE is not set"},
		{"no secret", base + "auth: {username: u}\n", "auth: give password_env"},
		{"both", base + "auth: {username: u, password_env: PW, password_file: pw.txt}\n", "not both"},
		{"missing file", base + "auth: {username: u, password_file: nope.txt}\n", "auth.password_file: " + filepath.Join(dir, "nope.txt")},
		{"token_cmd and token_env", base + "auth: {mechanism: xoauth2, username: u, token_env: PW, token_cmd: psc-token}\n", "auth.token_cmd: give one of token_env, token_file or token_cmd"},
		{"token_cmd with plain", base + "auth: {username: u, password_env: PW, token_cmd: psc-token}\n", "auth.token_cmd: not used with mechanism plain"},
		{"token_cmd ok", base + "auth: {mechanism: xoauth2, username: u, token_cmd: psc-token}\n", ""},
		{"unused key", base + "auth: {username: u, password_env: PW, token_env: PW}\n", "auth.token_env: not used with mechanism plain"},
		{"mechanism", base + "auth: {mechanism: cram-md5, username: u}\n", `auth.mechanism: "cram-md5": want plain, login, xoauth2 or certificate`},
		{"cert half", base + "auth: {mechanism: certificate, cert_file: pw.txt}\n", "auth.key_file: required"},
		{"tls", "establishment: {name: H, address: a@b.fr}\nsmtp: {host: h, tls: none}\nimap: {host: h}\nauth: {username: u, password_env: PW}\n", `smtp.tls: "none": want starttls or implicit`},
		{"port range", "establishment: {name: H, address: a@b.fr}\nsmtp: {host: h, port: 70000}\nimap: {host: h}\nauth: {username: u, password_env: PW}\n", "smtp.port: 70000 is not a TCP port"},
		{"host with port", "establishment: {name: H, address: a@b.fr}\nsmtp: {host: \"h:25\"}\nimap: {host: h}\nauth: {username: u, password_env: PW}\n", "smtp.host"},
		{"address", "establishment: {name: H, address: \"H <a@b.fr>\"}\nsmtp: {host: h}\nimap: {host: h}\nauth: {username: u, password_env: PW}\n", "establishment.address"},
		{"mode", base + "auth: {username: u, password_env: PW}\nreply: {mode: echo}\n", `reply.mode: "echo"`},
		{"mailbox missing", base + "auth: {username: u, password_env: PW}\nreply: {mode: mailbox}\n", "reply.mailbox: required"},
		{"mailbox target", base + "auth: {username: u, password_env: PW}\nreply: {mode: mailbox, mailbox: {smtp: {host: c}, imap: {host: c}, auth: {username: c, password_env: PW}}}\n", "target: in mailbox mode"},
		{"finess", "establishment: {name: H, finess: \"12\", address: a@b.fr}\nsmtp: {host: h}\nimap: {host: h}\nauth: {username: u, password_env: PW}\n", "establishment.finess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.yaml), filepath.Join(dir, "p.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate(env)
			if tc.want == "" {
				if err != nil {
					t.Errorf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRunConfigErrors: what Run reads at start (trust roots, secrets,
// client certificates, the attachment) fails with file:line: key: problem,
// and no secret in the text.
func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"garbage.pem": "not a certificate\n", "empty.txt": "\n", "garbage.p12": "not pkcs12"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := "establishment: {name: H, address: a@b.fr}\nsmtp: {host: 127.0.0.1}\nimap: {host: 127.0.0.1}\n"
	env := func(k string) string { return map[string]string{"PW": "p12-Secret-Pa55"}[k] }
	for _, tc := range []struct{ name, yaml, want string }{
		{"ca not PEM", base + "auth: {username: u, password_env: PW}\ntrust: {ca_file: garbage.pem}\n", "p.yaml:5: trust.ca_file: " + filepath.Join(dir, "garbage.pem") + " holds no PEM certificate"},
		{"empty password file", base + "auth: {username: u, password_file: empty.txt}\n", "p.yaml:4: auth.password_file: " + filepath.Join(dir, "empty.txt") + " is empty"},
		{"cert not PEM", base + "auth: {mechanism: certificate,\n  cert_file: garbage.pem, key_file: garbage.pem}\n", "p.yaml:5: auth.cert_file: " + filepath.Join(dir, "garbage.pem") + " with auth.key_file"},
		{"p12 garbage", base + "auth: {mechanism: certificate, p12_file: garbage.p12, p12_password_env: PW}\n", "p.yaml:4: auth.p12_file: " + filepath.Join(dir, "garbage.p12")},
		{"attach dir", base + "auth: {username: u, password_env: PW}\nattach: empty.txt/x\n", "p.yaml:5: attach: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.yaml), filepath.Join(dir, "p.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Run(context.Background(), cfg, Options{Getenv: env})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "p12-Secret-Pa55") {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDocsListEveryRule keeps docs/probe.md in step with the catalog.
func TestDocsListEveryRule(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "probe.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules.Rules() {
		if !strings.Contains(string(doc), "`"+r.ID+"`") {
			t.Errorf("docs/probe.md does not mention %s", r.ID)
		}
	}
}
