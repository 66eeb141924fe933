package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// syncBuffer is a goroutine-safe stdout for a running command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveMock runs "mock serve" until the returned stop is called; it waits
// for "ready".
func serveMock(t *testing.T, args ...string) (out *syncBuffer, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"mock", "serve"}, args...), &env{stdin: strings.NewReader(""), stdout: out, stderr: errb, getenv: func(string) string { return "" }})
	}()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(out.String(), "\nready\n") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("mock serve exited %d before ready:\n%s\n%s", code, out, errb)
		case <-deadline:
			cancel()
			t.Fatalf("mock serve not ready:\n%s", out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	stopped := false
	stop = func() (int, string) {
		if stopped {
			return 0, ""
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code, errb.String()
		case <-time.After(20 * time.Second):
			t.Fatal("mock serve did not stop")
		}
		return 0, ""
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// submissionClient connects to the "listen smtp" address printed in out
// over STARTTLS, trusting the CA file ca, and says EHLO.
func submissionClient(t *testing.T, out, ca string) *smtp.Client {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := net.DialTimeout("tcp", listenAddr(out, "smtp"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClientStartTLS(conn, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c.CommandTimeout, c.SubmissionTimeout = 10*time.Second, 10*time.Second
	if err := c.Hello("t.test"); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

func listenAddr(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "listen" && f[1] == name {
			return f[2]
		}
	}
	return ""
}

func TestMockServeDefaultAccount(t *testing.T) {
	dir := t.TempDir()
	ca, pwFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("old"), 0o644) // must end up 0600
	out, stop := serveMock(t, "--ca-out", ca, "--password-out", pwFile, "--listen-imaps", "off", "--fault", "greylist=1")
	for _, want := range []string{"listen smtp ", "listen smtps ", "listen imap ", "account medecin@hopital.test.mssante.fr (mot de passe généré dans " + pwFile,
		"auto-reply reponse.automatique-test@patient.mssante.fr", "fault greylist=1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "listen imaps") {
		t.Error("imaps listed although off")
	}
	st, err := os.Stat(pwFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", st, err)
	}
	b, _ := os.ReadFile(pwFile)
	password := strings.TrimSpace(string(b))
	if password == "" || strings.Contains(out.String(), password) {
		t.Fatal("generated password missing from its file, or printed")
	}
	// Submit with the printed CA and the generated password.
	c := submissionClient(t, out.String(), ca)
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "medecin@hopital.test.mssante.fr", password)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("medecin@hopital.test.mssante.fr", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("reponse.automatique-test@patient.mssante.fr", nil); err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("greylist fault from the command line: %v", err)
	}
	c.Close()
	code, errs := stop()
	if code != 0 || !strings.Contains(out.String(), "stopped") {
		t.Errorf("stop: code %d, stderr %q, out %q", code, errs, out)
	}
}

func TestMockServeAccountsFileAndConfig(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts")
	os.WriteFile(accounts, []byte("# test accounts\ndr@clinique.test.mssante.fr Secret-Pass-1 token=tok-XYZ\napp@clinique.test.mssante.fr - client-cert\n"), 0o600)
	cfg := filepath.Join(dir, "mock.yaml")
	os.WriteFile(cfg, []byte("establishment_domains: [clinique.test.mssante.fr]\naccounts: "+accounts+"\nfaults: [no-reply]\nnil_mode: refuse\nauto_reply_delay: 250ms\nstore: "+filepath.Join(dir, "store")+"\n"), 0o600)
	out, _ := serveMock(t, "--config", cfg, "--fault", "rcpt=550@0.5")
	s := out.String()
	for _, want := range []string{"account dr@clinique.test.mssante.fr (mot de passe du fichier de comptes, jeton XOAUTH2)",
		"account app@clinique.test.mssante.fr (certificat client)", "fault no-reply", "fault rcpt=550@0.5", "store ",
		"auto-reply reponse.automatique-test@patient.mssante.fr (délai 250ms)", "listen smtps ", "(soumission, TLS implicite)",
		"(CRL, OCSP, certificats d'AC)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// The keywords stay (scripts read them); what a person reads is French.
	if w := englishIn(s); len(w) > 0 {
		t.Errorf("mock serve output shows English %q by default:\n%s", w, s)
	}
	if strings.Contains(s, "Secret-Pass-1") || strings.Contains(s, "tok-XYZ") {
		t.Errorf("a secret from the accounts file was printed:\n%s", s)
	}
}

func TestMockServeBadInput(t *testing.T) {
	dir := t.TempDir()
	badAccounts := filepath.Join(dir, "a")
	os.WriteFile(badAccounts, []byte("lonely@x.fr\n"), 0o600)
	badYAML := filepath.Join(dir, "c.yaml")
	os.WriteFile(badYAML, []byte("listen_smpt: 1\n"), 0o600)
	badDelay := filepath.Join(dir, "d.yaml")
	os.WriteFile(badDelay, []byte("auto_reply_delay: soon\n"), 0o600)
	otherDomain := filepath.Join(dir, "other")
	os.WriteFile(otherDomain, []byte("dr@clinique.test.mssante.fr pw\n"), 0o600)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o600)
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--fault", "explode"}, "nom de panne inconnu"},
		{[]string{"--auto-reply-delay", "soon"}, `--auto-reply-delay "soon" : une durée`},
		{[]string{"--auto-reply-delay", "-1s"}, "--auto-reply-delay -1s : ne doit pas être négatif"},
		{[]string{"--config", badDelay}, "d.yaml:1 : valeur `soon` ; attendu : une durée"},
		{[]string{"--config", missing}, "--config"},
		{[]string{"--accounts", missing}, "fichier de comptes"},
		{[]string{"--accounts", badAccounts}, "ligne 1"},
		{[]string{"--accounts", otherDomain}, "dr@clinique.test.mssante.fr"},
		{[]string{"--citizen-accounts", otherDomain}, "hors du domaine citoyen"},
		{[]string{"--config", badYAML}, `c.yaml:1 : clé inconnue "listen_smpt" (les clés sont les options longues`},
		{[]string{"--nil-mode", "maybe"}, "mode NIL"},
		{[]string{"--max-message-bytes", "-5"}, "-5"},
		{[]string{"--establishment-domain", "x_y"}, `"x_y"`},
		{[]string{"--listen-smtp", "127.0.0.1:99999"}, "écoute smtp"},
		{[]string{"--whitelist", missing}, "--whitelist"},
		{[]string{"--cert", missing, "--key", missing}, missing},
		{[]string{"--store", notDir}, notDir},
		{[]string{"--log", filepath.Join(missing, "log")}, "--log"},
		{[]string{"--ca-out", filepath.Join(missing, "ca.pem")}, "--ca-out"},
		{[]string{"--password-out", filepath.Join(missing, "pw")}, "--password-out"},
		{[]string{"extra-argument"}, "extra-argument"},
		{[]string{"--rate-limit", "client=5/fortnight"}, `--rate-limit : limite de débit "client=5/fortnight" : unité "fortnight"`},
		{[]string{"--rate-limit", "client=5/s,code=550"}, "code 550"},
		{[]string{"--listen-http", "0.0.0.0:8025"}, "--listen-http : configuration du mock : adresse d'écoute HTTP \"0.0.0.0:8025\" : seule une adresse de boucle locale"},
		{[]string{"--listen-http", "8025"}, "HÔTE:PORT"},
		{[]string{"--conformance", "maybe"}, `--conformance : "maybe" : warn, refuse ou off attendu`},
		{[]string{"--fault", "connect=421,to=279035121518989@patient.mssante.fr"}, "ne peut pas choisir un destinataire"},
	} {
		code, _, errs := runCLI(t, "", nil, append([]string{"mock", "serve"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, stderr %q, want %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestMockServeFirstConnectionGetsConnectFault: "ready" is printed without
// connecting to the listeners, so the first client, not the mock itself,
// meets a connect fault and the event log starts with that client.
func TestMockServeFirstConnectionGetsConnectFault(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	out, stop := serveMock(t, "--fault", "connect=554#1", "--log", logFile)
	c, err := net.DialTimeout("tcp", listenAddr(out.String(), "smtp"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	greeting, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(greeting, "554 ") {
		t.Errorf("first connection greeted with %q, want the 554 fault", greeting)
	}
	c.Close()
	stop()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"kind":"connect"`); n != 1 {
		t.Errorf("%d connect events, want the client's only:\n%s", n, b)
	}
}

// TestMockServeSignals runs the real main() in a child process, sends it
// SIGINT or SIGTERM with an auto-reply still waiting for its delay, and
// checks it exits 0 after "stopped" and that the restarted mock (same
// --store) still has the message and the reply.
func TestMockServeSignals(t *testing.T) {
	if args := os.Getenv("MSSCPROBE_MOCK_CHILD"); args != "" {
		os.Args = append([]string{"msscprobe"}, strings.Split(args, "\x1f")...)
		main()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			accounts, ca, store := filepath.Join(dir, "accounts"), filepath.Join(dir, "ca.pem"), filepath.Join(dir, "store")
			os.WriteFile(accounts, []byte("medecin@hopital.test.mssante.fr pw-1\n"), 0o600)
			args := []string{"mock", "serve", "--accounts", accounts, "--ca-out", ca, "--store", store, "--auto-reply-delay", "1h",
				"--listen-smtps", "off", "--listen-imaps", "off"}
			cmd := exec.Command(exe, "-test.run=^TestMockServeSignals$")
			cmd.Env = append(os.Environ(), "MSSCPROBE_MOCK_CHILD="+strings.Join(args, "\x1f"))
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { cmd.Process.Kill(); <-exited }()
			for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "\nready\n"); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("child not ready:\n%s", out)
				}
			}
			c := submissionClient(t, out.String(), ca)
			body := "From: <medecin@hopital.test.mssante.fr>\r\nTo: <reponse.automatique-test@patient.mssante.fr>\r\nSubject: s\r\nMessage-ID: <sig@x>\r\nX-MSS-NIL: t\r\n\r\nx\r\n"
			err := c.Auth(sasl.NewPlainClient("", "medecin@hopital.test.mssante.fr", "pw-1"))
			if err == nil {
				err = c.SendMail("medecin@hopital.test.mssante.fr", []string{"reponse.automatique-test@patient.mssante.fr"}, strings.NewReader(body))
			}
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Process.Signal(sig)
			select {
			case err := <-exited:
				exited <- err
				if err != nil || !strings.HasSuffix(out.String(), "stopped\n") {
					t.Fatalf("after %s: %v\n%s", sig, err, out)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("still running 20 s after %s", sig)
			}
			again, _ := serveMock(t, "--accounts", accounts, "--store", store, "--listen-smtps", "off", "--listen-imaps", "off")
			ic, err := imapclient.DialStartTLS(listenAddr(again.String(), "imap"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer ic.Close()
			if err := ic.Login("medecin@hopital.test.mssante.fr", "pw-1").Wait(); err != nil {
				t.Fatal(err)
			}
			sel, err := ic.Select("INBOX", nil).Wait()
			if err != nil || sel.NumMessages != 1 {
				t.Fatalf("INBOX after restart: %v %v, want the auto-reply pending at %s", sel, err, sig)
			}
		})
	}
}
