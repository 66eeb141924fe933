package mocks

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Interoperability with the tools users reach for (research tools.md A):
// curl and swaks, run when installed (CI installs Debian curl, swaks and
// libnet-ssleay-perl). Credentials go through files, never argv.

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCurlRoundTrip(t *testing.T) {
	curl := lookTool(t, "curl")
	op := startOp(t, testConfig())
	ca := writeFile(t, "ca.pem", op.CACertPEM())
	netrc := writeFile(t, "netrc", []byte("machine 127.0.0.1 login "+doctor+" password "+pw+"\n"))
	common := []string{"--silent", "--show-error", "--max-time", "20", "--ssl-reqd", "--cacert", ca, "--netrc-file", netrc}
	for i, url := range []string{"smtp://" + op.SMTPAddr(), "smtps://" + op.SMTPSAddr()} {
		id := []string{"<curl-1@hopital.test.mssante.fr>", "<curl-2@hopital.test.mssante.fr>"}[i]
		eml := writeFile(t, "m.eml", []byte(msg(doctor, autoRep, id, "curl", "")))
		runTool(t, curl, append(common, "--mail-from", doctor, "--mail-rcpt", autoRep, "--upload-file", eml, url)...)
	}
	// The correlated replies, read over IMAP STARTTLS and IMAPS.
	for i, url := range []string{"imap://" + op.IMAPAddr() + "/INBOX;UID=1", "imaps://" + op.IMAPSAddr() + "/INBOX;UID=2"} {
		out := runTool(t, curl, append(common, url)...)
		want := []string{"In-Reply-To: <curl-1@hopital.test.mssante.fr>", "In-Reply-To: <curl-2@hopital.test.mssante.fr>"}[i]
		if !strings.Contains(out, want) || !strings.Contains(out, "From: ") {
			t.Errorf("%s: reply lacks %q:\n%s", url, want, out)
		}
	}
	// curl without TLS is refused with 530 before MAIL.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eml := writeFile(t, "m.eml", []byte(msg(doctor, autoRep, "<curl-3@x>", "curl", "")))
	out, err := exec.CommandContext(ctx, curl, "--silent", "--show-error", "--max-time", "10", "--mail-from", doctor, "--mail-rcpt", autoRep,
		"--upload-file", eml, "smtp://"+op.SMTPAddr()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "530") {
		t.Errorf("cleartext curl: %v %s", err, out)
	}
}

func TestSwaksClientCertificate(t *testing.T) {
	swaks := lookTool(t, "swaks")
	op := startOp(t, testConfig())
	cert, err := op.IssueClientCert(nurse)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	keyFile := writeFile(t, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))
	ca := writeFile(t, "ca.pem", op.CACertPEM())
	host, port, _ := strings.Cut(op.SMTPAddr(), ":")
	out := runTool(t, swaks, "--server", host, "--port", port, "--tls", "--tls-verify", "--tls-ca-path", ca,
		"--tls-cert", certFile, "--tls-key", keyFile, "--from", nurse, "--to", autoRep,
		"--header", "Message-Id: <swaks-1@hopital.test.mssante.fr>", "--header", "X-MSS-NIL: swaks", "--timeout", "20")
	if !strings.Contains(out, "250") {
		t.Fatalf("swaks:\n%s", out)
	}
	if r := withHeader(inbox(t, op, nurse), "In-Reply-To: <swaks-1@hopital.test.mssante.fr>"); len(r) != 1 {
		t.Fatalf("reply to the swaks message: %d\n%s", len(r), out)
	}
}
