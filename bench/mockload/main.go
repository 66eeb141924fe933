// Command mockload is the load generator of bench/mock.sh: C concurrent
// clients each submit N messages over SMTP STARTTLS+AUTH to their own
// mailbox on a running "msscprobe mock serve", and a message counts only
// once it is visible over IMAP. It prints msgs/s and the number of
// messages lost or duplicated.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type account struct{ addr, pass string }

func main() {
	smtpAddr := flag.String("smtp", "", "submission address (STARTTLS)")
	imapAddr := flag.String("imap", "", "IMAP address (STARTTLS)")
	caFile := flag.String("ca", "", "CA certificate PEM of the mock")
	accFile := flag.String("accounts", "", `accounts file ("address password" per line)`)
	clients := flag.Int("clients", 50, "concurrent SMTP clients")
	perClient := flag.Int("messages", 100, "messages per client")
	size := flag.Int("size", 2048, "body size in bytes")
	timeout := flag.Duration("timeout", 5*time.Minute, "deadline for sending and for the messages to become visible; a message not visible by then counts as lost")
	flag.Parse()
	if err := run(*smtpAddr, *imapAddr, *caFile, *accFile, *clients, *perClient, *size, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mockload:", err)
		os.Exit(1)
	}
}

func run(smtpAddr, imapAddr, caFile, accFile string, clients, perClient, size int, timeout time.Duration) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no certificate", caFile)
	}
	host, _, _ := net.SplitHostPort(smtpAddr)
	// One shared config: its session cache gives TLS resumption, as a real
	// client pool would.
	conf := &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(256)}
	accs, err := readAccounts(accFile)
	if err != nil {
		return err
	}
	// The IMAP connections outlive the send deadline by a margin, so that
	// messages still missing at the deadline are counted as lost rather
	// than ending the run without figures.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	body := strings.Repeat(strings.Repeat("x", 76)+"\r\n", size/78+1)[:size]

	// Baselines, so messages from earlier runs are not counted.
	base := make([]uint32, clients)
	imaps := make([]*imapclient.Client, clients)
	for i := range clients {
		a := accs[i%len(accs)]
		c, err := imapclient.DialStartTLS(imapAddr, &imapclient.Options{TLSConfig: conf})
		if err != nil {
			return fmt.Errorf("IMAP: %w", err)
		}
		context.AfterFunc(ctx, func() { c.Close() })
		defer c.Close()
		if err := c.Login(a.addr, a.pass).Wait(); err != nil {
			return fmt.Errorf("IMAP login %s: %w", a.addr, err)
		}
		imaps[i] = c
	}
	if len(accs) < clients {
		return fmt.Errorf("need %d accounts, file has %d", clients, len(accs))
	}
	for i, c := range imaps {
		n, err := count(c)
		if err != nil {
			return err
		}
		base[i] = n
	}

	var sendErrs atomic.Int64
	errOnce := sync.Once{}
	var firstErr error
	sendCtx, cancelSend := context.WithTimeout(ctx, timeout)
	defer cancelSend()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := client(sendCtx, smtpAddr, conf, accs[i], run, i, perClient, body); err != nil {
				if sendCtx.Err() != nil {
					err = fmt.Errorf("sending stopped at the %s deadline: %w", timeout, err)
				}
				sendErrs.Add(1)
				errOnce.Do(func() { firstErr = err })
				return
			}
			// Visible over IMAP: poll until the mailbox holds them all,
			// every 2 ms at first, then a tenth of the time waited so far
			// (at most 100 ms). The added latency stays under ~10% of the
			// wait, and a slow server (the Postfix+Dovecot reference takes
			// ~50 s) is not slowed further by 50 clients polling it 500
			// times a second each.
			sent := time.Now()
			for sendCtx.Err() == nil {
				n, err := count(imaps[i])
				if err != nil || n-base[i] >= uint32(perClient) {
					return
				}
				time.Sleep(min(max(time.Since(sent)/10, 2*time.Millisecond), 100*time.Millisecond))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "mockload: %d clients failed, first error: %v\n", sendErrs.Load(), firstErr)
	}

	// Exactly once: every Message-ID of this run, once.
	seen := map[string]int{}
	for _, c := range imaps {
		ids, err := runIDs(c, run)
		if err != nil {
			return err
		}
		for _, id := range ids {
			seen[id]++
		}
	}
	total := clients * perClient
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	lost := total - len(seen)
	fmt.Printf("clients=%d messages=%d body=%dB elapsed=%s rate=%.0f msgs/s lost=%d duplicated=%d\n",
		clients, total, size, elapsed.Round(time.Millisecond), float64(len(seen))/elapsed.Seconds(), lost, dups)
	if lost != 0 || dups != 0 || firstErr != nil {
		return fmt.Errorf("%d lost, %d duplicated", lost, dups)
	}
	return nil
}

func client(ctx context.Context, addr string, conf *tls.Config, a account, run string, i, n int, body string) error {
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClientStartTLS(conn, conf)
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = time.Minute, time.Minute
	if err := c.Hello("mockload.test"); err != nil {
		return err
	}
	if err := c.Auth(sasl.NewPlainClient("", a.addr, a.pass)); err != nil {
		return err
	}
	for j := range n {
		if err := c.Mail(a.addr, nil); err != nil {
			return err
		}
		if err := c.Rcpt(a.addr, nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		// A conforming message (Date, Message-ID, X-MSS-NIL, UTF-8 text),
		// so the mock's conformance verdict runs every rule.
		fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: load %d/%d\r\nDate: %s\r\nMessage-ID: <%s.%d.%d@mockload.test>\r\nX-MSS-NIL: mockload\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
			a.addr, a.addr, i, j, time.Now().Format(time.RFC1123Z), run, i, j, body)
		if err := w.Close(); err != nil {
			return err
		}
	}
	return c.Quit()
}

func count(c *imapclient.Client) (uint32, error) {
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, err
	}
	return *st.NumMessages, nil
}

func runIDs(c *imapclient.Client, run string) ([]string, error) {
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, err
	}
	if sel.NumMessages == 0 { // "1:*" is an error on an empty mailbox (Dovecot)
		return nil, nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range msgs {
		if m.Envelope != nil && strings.HasPrefix(m.Envelope.MessageID, run+".") {
			ids = append(ids, m.Envelope.MessageID)
		}
	}
	return ids, nil
}

func readAccounts(path string) ([]account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []account
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && !strings.HasPrefix(fs[0], "#") {
			out = append(out, account{fs[0], fs[1]})
		}
	}
	return out, sc.Err()
}
