package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/internal/testpki"
	"github.com/msscprobe/msscprobe/mocks"
)

// rawServer serves every loopback connection with handle until the test
// ends; it returns "{host: 127.0.0.1, port: N, tls: mode}".
func rawServer(t *testing.T, mode string, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return server(ln.Addr().String(), mode)
}

// testPKI is a CA and a server certificate for 127.0.0.1, for servers the
// tests write themselves; the CA is added to ca.pem next to the mock's.
func testPKI(t *testing.T, te *testEnv) *tls.Config {
	t.Helper()
	ca := testpki.Root(t, "hostile test CA")
	leafKey := testpki.Key(t)
	leaf := testpki.Issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, leafKey.Public(), leafKey)
	pems := append(te.op.CACertPEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})...)
	if err := os.WriteFile(filepath.Join(te.dir, "ca.pem"), pems, 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw}, PrivateKey: leafKey}}}
}

// smtpUntil greets, answers EHLO with exts and then each command with
// answer(verb); answer returning "" stalls.
func smtpUntil(c net.Conn, exts string, answer func(verb string) string) {
	io.WriteString(c, "220 hostile ESMTP\r\n")
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		if verb == "EHLO" {
			io.WriteString(c, "250-hostile\r\n"+exts+"250 8BITMIME\r\n")
			continue
		}
		a := answer(verb)
		if a == "" {
			io.Copy(io.Discard, c)
			return
		}
		if _, err := io.WriteString(c, a); err != nil || verb == "QUIT" {
			return
		}
	}
}

// smtpServeTLS speaks just enough SMTP after STARTTLS for a submission;
// authAnswer answers the AUTH line (nil: accept).
func smtpServeTLS(c net.Conn, cfg *tls.Config, authAnswer func(line string) string) {
	tlsCommands(c, cfg, func(tc *tls.Conn, br *bufio.Reader, verb, line string) bool {
		switch verb {
		case "EHLO":
			io.WriteString(tc, "250-hostile\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n")
		case "AUTH":
			if authAnswer != nil {
				io.WriteString(tc, authAnswer(line))
				return true
			}
			io.WriteString(tc, "235 2.7.0 ok\r\n")
		case "DATA":
			io.WriteString(tc, "354 go\r\n")
			for l, err := br.ReadString('\n'); l != ".\r\n"; l, err = br.ReadString('\n') {
				if err != nil {
					return false
				}
			}
			io.WriteString(tc, "250 2.0.0 queued as HOSTILE1\r\n")
		case "QUIT":
			io.WriteString(tc, "221 bye\r\n")
			return false
		default:
			io.WriteString(tc, "250 ok\r\n")
		}
		return true
	})
}

// tlsCommands does the server's TLS handshake on c, then hands each
// command line to handle with its upper-case verb, until handle returns
// false or the connection ends.
func tlsCommands(c net.Conn, cfg *tls.Config, handle func(tc *tls.Conn, br *bufio.Reader, verb, line string) bool) {
	tc := tls.Server(c, cfg)
	if tc.Handshake() != nil {
		return
	}
	br := bufio.NewReader(tc)
	for {
		line, err := br.ReadString('\n')
		if err != nil || !handle(tc, br, strings.ToUpper(strings.Fields(line + " x")[0]), line) {
			return
		}
	}
}

// TestMisbehavingServers: servers that go silent, stall mid-command, send
// garbage, close at the wrong moment or get the TLS mode wrong end each
// run within its deadlines, on the right failing check, with a message
// that says what to fix, in both languages.
func TestMisbehavingServers(t *testing.T) {
	closedPort := func(*testing.T, *testEnv) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		return server(ln.Addr().String(), "starttls")
	}
	smtp := func(mode, exts string, answer func(string) string) func(*testing.T, *testEnv) string {
		return func(t *testing.T, _ *testEnv) string {
			return rawServer(t, mode, func(c net.Conn) { smtpUntil(c, exts, answer) })
		}
	}
	raw := func(mode string, handle func(net.Conn)) func(*testing.T, *testEnv) string {
		return func(t *testing.T, _ *testEnv) string { return rawServer(t, mode, handle) }
	}
	starttls := "250-STARTTLS\r\n"
	for _, tc := range []struct {
		name   string
		proto  string // "smtp" or "imap": the block the server replaces
		srv    func(*testing.T, *testEnv) string
		id     string
		status Status
		msg    string // in the English message
	}{
		{"smtp silent", "smtp", raw("starttls", func(c net.Conn) { io.Copy(io.Discard, c) }),
			RuleSMTPTCP, Fail, "sends no greeting: no answer within 300ms (timeouts.step). If this port uses implicit TLS (465), set smtp.tls: implicit"},
		{"smtp closes at once", "smtp", raw("starttls", func(net.Conn) {}),
			RuleSMTPTCP, Fail, "SMTP session broken during the greeting: the server closed the connection"},
		{"smtp garbage", "smtp", raw("starttls", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") }),
			RuleSMTPTCP, Fail, "does not speak SMTP"},
		{"smtp endless garbage", "smtp", raw("starttls", func(c net.Conn) {
			for b := make([]byte, 4096); ; {
				if _, err := c.Write(b); err != nil {
					return
				}
			}
		}), RuleSMTPTCP, Fail, "more than 64 KiB"},
		{"smtp greeting refused", "smtp", raw("starttls", func(c net.Conn) { io.WriteString(c, "554 5.7.1 no service for you\r\n") }),
			RuleSMTPTCP, Fail, "refuses the session: 554 5.7.1 no service for you"},
		{"smtp stalls at STARTTLS", "smtp", smtp("starttls", starttls, func(string) string { return "" }),
			RuleSMTPStartTLS, Fail, "SMTP session broken during STARTTLS: no answer within 300ms"},
		{"smtp STARTTLS refused", "smtp", smtp("starttls", starttls, func(string) string { return "454 4.7.0 TLS not available\r\n" }),
			RuleSMTPStartTLS, Fail, "STARTTLS refused: 454 4.7.0 TLS not available"},
		{"smtp no STARTTLS", "smtp", smtp("starttls", "", func(string) string { return "" }),
			RuleSMTPStartTLS, Fail, "does not offer STARTTLS: enable STARTTLS on port"},
		// Without STARTTLS, accepting MAIL in clear is still reported.
		{"smtp no STARTTLS, MAIL accepted", "smtp", smtp("starttls", "", func(string) string { return "250 ok\r\n" }),
			RuleSMTPCleartext, Warn, "accepts MAIL FROM without TLS"},
		{"smtp closes after STARTTLS", "smtp", raw("starttls", func(c net.Conn) {
			smtpUntil(c, starttls, func(string) string { c.Write([]byte("220 go ahead\r\n")); c.Close(); return "" })
		}), RuleSMTPStartTLS, Fail, "closed the connection during the TLS handshake"},
		{"smtp STARTTLS then no TLS", "smtp", smtp("starttls", starttls, func(string) string { return "220 go ahead\r\n" }),
			RuleSMTPStartTLS, Fail, "accepted STARTTLS but did not negotiate TLS"},
		{"smtp STARTTLS injection", "smtp", smtp("starttls", starttls, func(string) string { return "220 go ahead\r\n250 injected\r\n" }),
			RuleSMTPStartTLS, Fail, "command injection"},
		{"smtp implicit on a STARTTLS port", "smtp", smtp("implicit", starttls, func(string) string { return "" }),
			RuleSMTPStartTLS, Fail, "answers in cleartext (\"220 h\"), not TLS: this port expects STARTTLS, set smtp.tls: starttls"},
		{"smtp STARTTLS on an implicit port", "smtp", func(t *testing.T, te *testEnv) string { return server(te.op.SMTPSAddr(), "starttls") },
			RuleSMTPTCP, Fail, "set smtp.tls: implicit"},
		{"smtp port closed", "smtp", closedPort, RuleSMTPTCP, Fail, "connection refused): check smtp.port, firewalls"},
		{"smtp accepts MAIL before STARTTLS", "smtp", func(t *testing.T, te *testEnv) string {
			cfg := testPKI(t, te)
			return rawServer(t, "starttls", func(c net.Conn) {
				smtpUntil(c, starttls, func(verb string) string {
					switch verb {
					case "STARTTLS":
						io.WriteString(c, "220 go ahead\r\n")
						smtpServeTLS(c, cfg, nil)
						return ""
					case "QUIT":
						return "221 bye\r\n"
					}
					return "250 ok\r\n"
				})
			})
		}, RuleSMTPCleartext, Warn, "accepts MAIL FROM without TLS (250 ok): require STARTTLS"},

		{"imap silent", "imap", raw("starttls", func(c net.Conn) { io.Copy(io.Discard, c) }),
			RuleIMAPTCP, Fail, "IMAP server sends no greeting"},
		{"imap garbage", "imap", raw("starttls", func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n") }),
			RuleIMAPTCP, Fail, "does not speak IMAP (greeting \"SSH-2.0-OpenSSH_9.2\"): check imap.host and imap.port"},
		{"imap BYE", "imap", raw("starttls", func(c net.Conn) { io.WriteString(c, "* BYE too many connections\r\n") }),
			RuleIMAPTCP, Fail, "refuses the session: * BYE too many connections"},
		{"imap no STARTTLS", "imap", raw("starttls", func(c net.Conn) {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
			io.Copy(io.Discard, c)
		}), RuleIMAPStartTLS, Fail, "does not offer STARTTLS: enable STARTTLS on port"},
		{"imap stalls at STARTTLS", "imap", raw("starttls", func(c net.Conn) {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")
			io.Copy(io.Discard, c)
		}), RuleIMAPStartTLS, Fail, "IMAP session broken during STARTTLS: no answer within 300ms"},
		{"imap PREAUTH in clear", "imap", raw("starttls", func(c net.Conn) { io.WriteString(c, "* PREAUTH welcome\r\n") }),
			RuleIMAPStartTLS, Fail, "pre-authenticates the session without TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startMock(t, mocks.Config{})
			te.yaml[tc.proto] = tc.srv(t, te)
			te.yaml["timeouts"] = "{step: 300ms, reply: 1s}"
			res := te.run(t, context.Background())
			if d := res.Duration(); d > 3*time.Second {
				t.Errorf("run took %s", d)
			}
			c, ok := checkStatus(res, tc.id)
			if !ok || c.Status != tc.status || !strings.Contains(c.Message.EN, tc.msg) {
				t.Errorf("%s = %s %q, want %s containing %q\n%s", tc.id, c.Status, c.Message.EN, tc.status, tc.msg, dump(res))
			}
			if res.Met {
				t.Error("met")
			}
			checkMessages(t, res)
		})
	}
}

// TestUnresolvableHost: a name that does not resolve (.invalid, answered
// NXDOMAIN by a loopback DNS server so that nothing leaves the machine)
// fails the DNS check, naming the key to fix.
func TestUnresolvableHost(t *testing.T) {
	te := startMock(t, mocks.Config{})
	te.yaml["smtp"] = "{host: smtp.hopital.invalid, port: 587}"
	cfg := te.config(t)
	res, err := Run(context.Background(), cfg, Options{Getenv: func(k string) string { return te.env[k] }, Resolver: nxdomainResolver(t)})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := checkStatus(res, RuleSMTPDNS)
	if c.Status != Fail || !strings.Contains(c.Message.EN, "smtp.hopital.invalid does not resolve") || !strings.Contains(c.Message.EN, "check smtp.host") {
		t.Errorf("%s %q\n%s", c.Status, c.Message.EN, dump(res))
	}
}

// nxdomainResolver answers every query NXDOMAIN from a loopback UDP server.
func nxdomainResolver(t *testing.T) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// Same ID and question; QR, RD, RA, RCODE=3 (NXDOMAIN).
			binary.BigEndian.PutUint16(buf[2:], 0x8183)
			pc.WriteTo(buf[:n], addr)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// imapProxy terminates STARTTLS itself and relays to the mock's implicit
// TLS port, passing every server line through edit (nil: stall).
func imapProxy(t *testing.T, te *testEnv, edit func(line string) (string, bool)) string {
	cfg := testPKI(t, te)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(te.op.CACertPEM())
	return rawServer(t, "starttls", func(c net.Conn) {
		io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] proxy\r\n")
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		tag, _, _ := strings.Cut(line, " ")
		io.WriteString(c, tag+" OK begin TLS\r\n")
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		up, err := tls.Dial("tcp", te.op.IMAPSAddr(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Error(err)
			return
		}
		defer up.Close()
		ur := bufio.NewReader(up)
		if _, err := ur.ReadString('\n'); err != nil { // the upstream greeting
			return
		}
		go io.Copy(up, tc)
		for {
			line, err := ur.ReadString('\n')
			if err != nil {
				return
			}
			out, ok := edit(line)
			if !ok {
				io.Copy(io.Discard, tc)
				return
			}
			if _, err := io.WriteString(tc, out); err != nil {
				return
			}
		}
	})
}

// TestIMAPWithoutIDLE: without IDLE the mailbox is polled, with a warning,
// and the reply is still found.
func TestIMAPWithoutIDLE(t *testing.T) {
	te := startMock(t, mocks.Config{AutoReplyDelay: 300 * time.Millisecond})
	te.yaml["imap"] = imapProxy(t, te, func(line string) (string, bool) {
		if strings.Contains(line, "CAPABILITY") {
			line = strings.NewReplacer(" IDLE", "", " IMAP4rev2", "").Replace(line)
		}
		return line, true
	})
	te.yaml["timeouts"] = "{step: 2s, reply: 5s}"
	res := te.run(t, context.Background())
	if !res.Met {
		t.Fatalf("not met:\n%s", dump(res))
	}
	if c, _ := checkStatus(res, RuleIMAPIdle); c.Status != Warn || !strings.Contains(c.Message.EN, "polled every 2s") {
		t.Errorf("%s %s %q", RuleIMAPIdle, c.Status, c.Message.EN)
	}
	if strings.Contains(string(res.IMAPTranscript), " IDLE\n") {
		t.Error("IDLE sent to a server that does not offer it")
	}
}

// TestIMAPStallsMidCommand: a server that stops answering after login
// (SELECT) fails the INBOX check within the step deadline.
func TestIMAPStallsMidCommand(t *testing.T) {
	te := startMock(t, mocks.Config{})
	te.yaml["imap"] = imapProxy(t, te, func(line string) (string, bool) {
		return line, !strings.Contains(line, "SELECT completed") && !strings.Contains(line, "FLAGS (")
	})
	te.yaml["timeouts"] = "{step: 300ms, reply: 1s}"
	res := te.run(t, context.Background())
	c, _ := checkStatus(res, RuleIMAPInbox)
	if c.Status != Fail || !strings.Contains(c.Message.EN, "Cannot select INBOX: no answer within 300ms") || res.Duration() > 3*time.Second {
		t.Errorf("%s %q in %s\n%s", c.Status, c.Message.EN, res.Duration(), dump(res))
	}
	checkMessages(t, res)
}

// TestInterruptWhileServerSilent: cancellation (Ctrl-C) while a server
// does not answer ends the run at once, with a partial result that says it
// was interrupted.
func TestInterruptWhileServerSilent(t *testing.T) {
	te := startMock(t, mocks.Config{})
	te.yaml["smtp"] = rawServer(t, "starttls", func(c net.Conn) { io.Copy(io.Discard, c) })
	te.yaml["timeouts"] = "{step: 30s, reply: 1m}"
	cfg := te.config(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := Run(ctx, cfg, Options{Getenv: func(k string) string { return te.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := checkStatus(res, RuleSMTPTCP)
	if !res.Interrupted || res.Duration() > 5*time.Second || c.Status != Fail || !strings.Contains(c.Message.EN, "interrupted") {
		t.Errorf("interrupted %v in %s; %s %q\n%s", res.Interrupted, res.Duration(), c.Status, c.Message.EN, dump(res))
	}
	checkMessages(t, res)
}

// TestSecretsEchoedByServer: a server that quotes the AUTH payload in its
// refusal does not make the secret appear in check messages or outputs.
func TestSecretsEchoedByServer(t *testing.T) {
	for _, mech := range []string{MechPlain, MechLogin, MechXOAuth2} {
		t.Run(mech, func(t *testing.T) {
			te := startMock(t, mocks.Config{})
			cfg := testPKI(t, te)
			secret := testPassword
			if mech == MechXOAuth2 {
				secret = testToken
			}
			te.yaml["auth"] = te.authBlock(t, mech)
			te.yaml["smtp"] = rawServer(t, "starttls", func(c net.Conn) {
				smtpUntil(c, "250-STARTTLS\r\n", func(verb string) string {
					if verb != "STARTTLS" {
						return "530 5.7.0 STARTTLS first\r\n"
					}
					io.WriteString(c, "220 go ahead\r\n")
					smtpServeTLS(c, cfg, func(line string) string {
						if mech == MechLogin {
							return "535 5.7.8 no such user " + secret + "\r\n"
						}
						return "535 5.7.8 rejected: " + strings.TrimSpace(line) + "\r\n"
					})
					return ""
				})
			})
			te.yaml["timeouts"] = "{step: 1s, reply: 1s}"
			res := te.run(t, context.Background())
			c, _ := checkStatus(res, RuleSMTPAuth)
			if c.Status != Fail || !strings.Contains(c.Message.EN, redacted) {
				t.Errorf("%s %q\n%s\n%s", c.Status, c.Message.EN, dump(res), res.SMTPTranscript)
			}
			assertNoSecret(t, res, secret)
		})
	}
}
