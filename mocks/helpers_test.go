package mocks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Test identities: matricules INS with valid keys (ANS test examples,
// research mssante.md §6).
const (
	patientA = "279035121518989@patient.mssante.fr"
	patientB = "162018885045327@patient.mssante.fr"
	autoRep  = "reponse.automatique-test@patient.mssante.fr"
	doctor   = "dr.house@hopital.test.mssante.fr"
	nurse    = "infirmiere@hopital.test.mssante.fr"
	pw       = "s3cret-pw"
)

func testConfig() Config {
	return Config{
		Accounts: []Account{
			{Address: doctor, Password: pw, Token: "psc-token-1"},
			{Address: nurse, Password: pw, ClientCert: true},
		},
		CitizenAccounts: []Account{{Address: patientA, Password: pw}},
	}
}

func startOp(t testing.TB, cfg Config) *Operator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	op, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { op.Close() })
	return op
}

func clientTLS(op *Operator) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(op.CACertPEM())
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// dialSMTP connects over STARTTLS (or implicit TLS when implicit) and
// completes the handshake with EHLO, as research tools.md B3 advises.
func dialSMTP(t testing.TB, op *Operator, conf *tls.Config, implicit bool) (*smtp.Client, error) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	var c *smtp.Client
	if implicit {
		conn, err := tls.DialWithDialer(&d, "tcp", op.SMTPSAddr(), conf)
		if err != nil {
			return nil, err
		}
		c = smtp.NewClient(conn)
	} else {
		conn, err := d.Dial("tcp", op.SMTPAddr())
		if err != nil {
			return nil, err
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		if conf == nil {
			c = smtp.NewClient(conn)
		} else if c, err = smtp.NewClientStartTLS(conn, conf); err != nil {
			return nil, err
		}
	}
	c.CommandTimeout, c.SubmissionTimeout = 20*time.Second, 20*time.Second
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		return nil, err
	}
	return c, nil
}

func mustSMTP(t testing.TB, op *Operator, user string) *smtp.Client {
	t.Helper()
	c, err := dialSMTP(t, op, clientTLS(op), false)
	if err != nil {
		t.Fatalf("dial SMTP: %v", err)
	}
	if user != "" {
		if err := c.Auth(sasl.NewPlainClient("", user, pw)); err != nil {
			t.Fatalf("AUTH as %s: %v", user, err)
		}
	}
	return c
}

// msg builds a small message; extra header lines end with CRLF.
func msg(from, to, id, subject, extra string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: %s\r\nDate: %s\r\nX-MSS-NIL: msscprobe-test\r\n%sContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n",
		from, to, subject, id, time.Now().Format(time.RFC1123Z), extra)
}

// openData runs a transaction up to DATA; the caller writes the message
// and closes the writer.
func openData(c *smtp.Client, from string, to []string, ropts *smtp.RcptOptions) (io.WriteCloser, error) {
	if err := c.Mail(from, nil); err != nil {
		return nil, err
	}
	for _, r := range to {
		if err := c.Rcpt(r, ropts); err != nil {
			c.Reset()
			return nil, err
		}
	}
	return c.Data()
}

// send runs one transaction and returns the SMTP error, if any.
func send(c *smtp.Client, from string, to []string, body string, ropts *smtp.RcptOptions) error {
	w, err := openData(c, from, to, ropts)
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

func smtpCode(err error) int {
	if se, ok := err.(*smtp.SMTPError); ok {
		return se.Code
	}
	return 0
}

func dialIMAP(t testing.TB, op *Operator, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = clientTLS(op)
	c, err := imapclient.DialStartTLS(op.IMAPAddr(), opts)
	if err != nil {
		t.Fatalf("IMAP STARTTLS: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func loginIMAP(t testing.TB, op *Operator, user string) *imapclient.Client {
	t.Helper()
	c := dialIMAP(t, op, nil)
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN %s: %v", user, err)
	}
	return c
}

// fetchAll returns every message of mailbox, raw.
func fetchAll(t testing.TB, c *imapclient.Client, mailbox string) []string {
	t.Helper()
	data, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", mailbox, err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.FindBodySection(sec)))
	}
	return out
}

// inbox logs in as user and returns the raw messages of INBOX.
func inbox(t testing.TB, op *Operator, user string) []string {
	t.Helper()
	return fetchAll(t, loginIMAP(t, op, user), "INBOX")
}

func withHeader(msgs []string, header string) []string {
	var out []string
	for _, m := range msgs {
		if strings.Contains(m, header) {
			out = append(out, m)
		}
	}
	return out
}

func eventsOf(op *Operator, kind string) []Event {
	var out []Event
	for _, e := range op.Events() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// countMailbox counts the messages of a mailbox straight from the store
// (for mailboxes without a login).
func countMailbox(t testing.TB, op *Operator, addr, mailbox string) int {
	t.Helper()
	u, err := op.store.user(addr, false)
	if err != nil || u == nil {
		t.Fatalf("no mailbox for %s: %v", addr, err)
	}
	st, err := u.mem.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		t.Fatalf("status %s %s: %v", addr, mailbox, err)
	}
	return int(*st.NumMessages)
}

func plain(user string) sasl.Client { return sasl.NewPlainClient("", user, pw) }

func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	return httpDo(t, http.MethodGet, u, "", nil)
}

func httpDo(t *testing.T, method, u, ctype string, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
