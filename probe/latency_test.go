package probe

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/mocks"
)

// TestReplyLatencyExcludesSlowQUIT: the reply latency runs from the end of
// DATA (the server's 250 to the final ".", RFC 5321 §4.1.1.4) to the reply
// being seen, so a submission server slow to answer QUIT does not add its
// delay to it. The server here is written by hand (go-smtp's server answers
// QUIT before any hook runs): it relays the message to the mock, whose
// auto-reply lands in the INBOX at once, then takes quitDelay to answer QUIT.
func TestReplyLatencyExcludesSlowQUIT(t *testing.T) {
	const quitDelay = 3 * time.Second
	te := startMock(t, mocks.Config{})
	cfg := testPKI(t, te)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(te.op.CACertPEM())
	relay := func(from, to string, data []byte) error {
		c, err := smtp.DialStartTLS(te.op.SMTPAddr(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
		if err != nil {
			return err
		}
		defer c.Close()
		c.CommandTimeout, c.SubmissionTimeout = 5*time.Second, 5*time.Second
		if err := c.Auth(sasl.NewPlainClient("", testAccount, testPassword)); err != nil {
			return err
		}
		return c.SendMail(from, []string{to}, strings.NewReader(string(data)))
	}
	quitAsked := make(chan time.Time, 4)
	te.yaml["smtp"] = rawServer(t, "starttls", func(c net.Conn) {
		smtpUntil(c, "250-STARTTLS\r\n", func(verb string) string {
			if verb != "STARTTLS" {
				return "530 5.7.0 STARTTLS first\r\n"
			}
			io.WriteString(c, "220 go ahead\r\n")
			slowQuitSession(c, cfg, relay, quitDelay, quitAsked)
			return ""
		})
	})
	start := time.Now()
	res := te.run(t, t.Context())
	elapsed := time.Since(start)
	if !res.Met {
		t.Fatalf("PS 4.1 not met:\n%s", dump(res))
	}
	select {
	case <-quitAsked:
	default:
		t.Fatal("the probe never sent QUIT: the test did not exercise a slow QUIT")
	}
	if elapsed < quitDelay {
		t.Errorf("run took %s, less than the QUIT delay %s: the server's QUIT answer was not waited for", elapsed, quitDelay)
	}
	if res.ReplyLatency <= 0 || res.ReplyLatency >= quitDelay/2 {
		t.Errorf("reply latency %s with a %s QUIT answer and an immediate auto-reply: it includes the wait for QUIT", res.ReplyLatency, quitDelay)
	}
}

// slowQuitSession speaks the submission after STARTTLS, relays the message
// when DATA ends, answers 250 at once and waits quitDelay before 221.
func slowQuitSession(c net.Conn, cfg *tls.Config, relay func(from, to string, data []byte) error, quitDelay time.Duration, quitAsked chan<- time.Time) {
	var from, to string
	arg := func(line string) string {
		line = line[strings.IndexByte(line, '<')+1:]
		return line[:strings.IndexByte(line, '>')]
	}
	tlsCommands(c, cfg, func(tc *tls.Conn, br *bufio.Reader, verb, line string) bool {
		switch verb {
		case "EHLO":
			io.WriteString(tc, "250-slowquit\r\n250 AUTH PLAIN\r\n")
		case "AUTH":
			io.WriteString(tc, "235 2.7.0 ok\r\n")
		case "MAIL":
			from = arg(line)
			io.WriteString(tc, "250 ok\r\n")
		case "RCPT":
			to = arg(line)
			io.WriteString(tc, "250 ok\r\n")
		case "DATA":
			io.WriteString(tc, "354 go\r\n")
			var data strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return false
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			if err := relay(from, to, []byte(data.String())); err != nil {
				io.WriteString(tc, "451 4.3.0 relay: "+strings.ReplaceAll(err.Error(), "\r\n", " ")+"\r\n")
				return true
			}
			io.WriteString(tc, "250 2.0.0 queued as SLOWQUIT1\r\n")
		case "QUIT":
			quitAsked <- time.Now()
			time.Sleep(quitDelay)
			io.WriteString(tc, "221 bye\r\n")
			return false
		default:
			io.WriteString(tc, "250 ok\r\n")
		}
		return true
	})
}
