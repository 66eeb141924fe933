package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealMailProbe runs `msscprobe probe` against real Postfix and Dovecot
// (docs/realmail.md): submission and IMAP in STARTTLS and implicit TLS,
// the citizen side answering through a Pigeonhole sieve vacation script, and
// the probe's mailbox reply mode. Every run must meet PS 4.1 and write a
// signed bundle that `msscprobe verify` accepts. The servers come from
// testdata/realmail/realmail.sh (docs/realmail.md); without them the test
// skips, unless MSSCPROBE_REQUIRE_REALMAIL=1 (CI) makes that a failure.
func TestRealMailProbe(t *testing.T) {
	rm := startRealMail(t)
	cda, err := filepath.Abs("demodata/cda-demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSigner(t)
	starttls := realMailEndpoints{"starttls", rm.port(t, "REALMAIL_SUBMISSION_PORT"), "starttls", rm.port(t, "REALMAIL_IMAP_PORT")}
	implicit := realMailEndpoints{"implicit", rm.port(t, "REALMAIL_SUBMISSIONS_PORT"), "implicit", rm.port(t, "REALMAIL_IMAPS_PORT")}
	for _, tc := range []struct {
		name      string
		endpoints realMailEndpoints
		mechanism string
		attach    string
		mailbox   bool // reply from the citizen mailbox instead of the auto-responder
		want      []string
	}{
		// SMTP-TLS-005: Postfix submission refuses MAIL before STARTTLS.
		// RCV-002: Pigeonhole's vacation reply names our Message-ID in
		// In-Reply-To and References.
		{"starttls vacation", starttls, "plain", cda, false,
			[]string{"SMTP-TLS-001", "SMTP-TLS-002", "SMTP-TLS-003", "SMTP-TLS-005", "SMTP-AUTH-002", "SMTP-SUB-003", "SMTP-SUB-004",
				"IMAP-TLS-001", "IMAP-TLS-003", "IMAP-AUTH-002", "IMAP-IDLE-001", "MSG-002", "RCV-001", "RCV-002", "RCV-003", "RCV-004", "PS41-001"}},
		{"implicit vacation", implicit, "login", "", false,
			[]string{"SMTP-TLS-001", "SMTP-TLS-003", "SMTP-AUTH-002", "IMAP-TLS-001", "IMAP-TLS-003", "IMAP-AUTH-002",
				"RCV-001", "RCV-002", "RCV-003", "PS41-001"}},
		{"starttls mailbox", starttls, "plain", "", true,
			[]string{"SMTP-AUTH-002", "IMAP-AUTH-002", "MBX-001", "MBX-002", "RCV-001", "RCV-002", "RCV-003", "PS41-001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "probe.yaml")
			if err := os.WriteFile(cfg, []byte(rm.config(t, tc.endpoints, tc.mechanism, tc.attach, tc.mailbox)), 0o600); err != nil {
				t.Fatal(err)
			}
			bundle := filepath.Join(dir, "bundle.zip")
			code, stdout, stderr := runCLI(t, "", nil, "probe", "--config", cfg, "--format", "json", "--lang", "en",
				"--out", bundle, "--sign-cert", s.certFile, "--sign-key", s.keyFile)
			var res struct {
				Met   bool `json:"ps41_met"`
				Steps []struct {
					Checks []struct {
						ID      string `json:"id"`
						Status  string `json:"status"`
						Message struct {
							EN string `json:"en"`
						} `json:"message"`
					} `json:"checks"`
				} `json:"steps"`
			}
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("probe: exit %d, JSON on stdout: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
			}
			status := map[string]string{}
			var notPassed strings.Builder
			for _, st := range res.Steps {
				for _, c := range st.Checks {
					status[c.ID] = c.Status
					if c.Status != "pass" {
						fmt.Fprintf(&notPassed, "  %-13s %-4s %s\n", c.ID, c.Status, c.Message.EN)
					}
				}
			}
			if code != exitOK || !res.Met {
				t.Fatalf("probe: exit %d, ps41_met %v; checks not passed:\n%sstderr:\n%s", code, res.Met, notPassed.String(), stderr)
			}
			for _, id := range tc.want {
				if status[id] != "pass" {
					t.Errorf("check %s: status %q, want pass; checks not passed:\n%s", id, status[id], notPassed.String())
				}
			}

			vcode, vout, verr := runCLI(t, "", nil, "verify", "--ca", s.rootFile, "--lang", "en", bundle)
			if vcode != exitOK || !strings.Contains(vout, "evidence intact") || !strings.Contains(vout, "PS 4.1 met") {
				t.Errorf("verify: exit %d\n%s%s", vcode, vout, verr)
			}
			rm.assertNoSecret(t, bundle, stdout, stderr, vout, verr)
		})
	}
}

// realMailEndpoints are the TLS modes and ports of one run.
type realMailEndpoints struct {
	smtpTLS  string
	smtpPort int
	imapTLS  string
	imapPort int
}

// config writes the probe configuration for one run: the establishment
// mailbox probes the auto-responding citizen mailbox, or, in mailbox mode,
// the citizen mailbox without auto-responder that the probe answers from.
// Passwords are given by file (realmail.sh writes them), never inline.
func (rm *realMail) config(t *testing.T, ep realMailEndpoints, mechanism, attach string, mailbox bool) string {
	t.Helper()
	host := rm.get(t, "REALMAIL_HOST")
	servers := fmt.Sprintf("smtp: {host: %q, port: %d, tls: %s}\nimap: {host: %q, port: %d, tls: %s}\n",
		host, ep.smtpPort, ep.smtpTLS, host, ep.imapPort, ep.imapTLS)
	var b strings.Builder
	fmt.Fprintf(&b, "establishment: {name: \"Hôpital de test realmail\", finess: \"010000016\", address: %q}\n", rm.get(t, "REALMAIL_PROBE_ADDRESS"))
	b.WriteString(servers)
	fmt.Fprintf(&b, "auth: {mechanism: %s, username: %q, password_file: %q}\n", mechanism, rm.get(t, "REALMAIL_PROBE_ADDRESS"), rm.get(t, "REALMAIL_PROBE_PASSWORD_FILE"))
	fmt.Fprintf(&b, "trust: {ca_file: %q}\n", rm.get(t, "REALMAIL_CA_CERT"))
	if attach != "" {
		fmt.Fprintf(&b, "attach: %q\n", attach)
	}
	if mailbox {
		fmt.Fprintf(&b, "target: %q\nreply:\n  mode: mailbox\n  mailbox:\n", rm.get(t, "REALMAIL_REPLIER_ADDRESS"))
		for _, line := range strings.Split(strings.TrimSpace(servers), "\n") {
			b.WriteString("    " + line + "\n")
		}
		fmt.Fprintf(&b, "    auth: {mechanism: plain, username: %q, password_file: %q}\n", rm.get(t, "REALMAIL_REPLIER_ADDRESS"), rm.get(t, "REALMAIL_REPLIER_PASSWORD_FILE"))
	} else {
		fmt.Fprintf(&b, "target: %q\nreply: {mode: auto}\n", rm.get(t, "REALMAIL_CITIZEN_ADDRESS"))
	}
	b.WriteString("timeouts: {step: 10s, reply: 30s}\n")
	return b.String()
}

// assertNoSecret fails when a mailbox password, or its base64 form, shows
// in the outputs or in any file of the bundle.
func (rm *realMail) assertNoSecret(t *testing.T, bundle string, outputs ...string) {
	t.Helper()
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", bundle, err)
	}
	texts := map[string][]byte{"bundle.zip": data}
	for i, o := range outputs {
		texts[fmt.Sprintf("output #%d", i)] = []byte(o)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		texts[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"REALMAIL_PROBE_PASSWORD_FILE", "REALMAIL_REPLIER_PASSWORD_FILE"} {
		pw, err := os.ReadFile(rm.get(t, key))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{string(pw), base64.StdEncoding.EncodeToString(pw)} {
			for name, text := range texts {
				if bytes.Contains(text, []byte(secret)) {
					t.Errorf("a password from %s appears in %s", key, name)
				}
			}
		}
	}
}
