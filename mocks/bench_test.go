package mocks

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// BenchmarkIdleWake measures how long an IMAP client idling on INBOX waits
// for EXISTS after the SMTP client ends DATA (the probe needs < 10 ms):
//
//	go test -run '^$' -bench IdleWake ./mocks
func BenchmarkIdleWake(b *testing.B) {
	op := startOp(b, testConfig())
	updates := make(chan struct{}, 1024)
	ic := dialIMAP(b, op, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				updates <- struct{}{}
			}
		},
	}})
	if err := ic.Login(doctor, pw).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	idle, err := ic.Idle()
	if err != nil {
		b.Fatal(err)
	}
	defer idle.Close()
	c := mustSMTP(b, op, doctor)
	var worst, total time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w, err := openData(c, doctor, []string{doctor}, nil)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprint(w, msg(doctor, doctor, fmt.Sprintf("<idle-%d@x>", i), "idle", ""))
		start := time.Now()
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-updates:
		case <-time.After(10 * time.Second):
			b.Fatal("no EXISTS")
		}
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/wake")
	b.ReportMetric(float64(worst.Microseconds()), "µs-worst")
}
