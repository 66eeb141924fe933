package mocks

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// waitInFlight waits until the operator holds at least n bytes of
// messages being received.
func waitInFlight(t *testing.T, op *Operator, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); op.inflight.inUse() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d bytes, want at least %d", op.inflight.inUse(), n)
		}
	}
}

func body(n int) string {
	line := strings.Repeat("x", 76) + "\r\n"
	return strings.Repeat(line, n/len(line))
}

// TestInFlightBudget: DATA and APPEND count against one budget; beyond it
// DATA gets 452 4.3.1 and APPEND NO [LIMIT], and both work again once the
// message holding the budget is stored.
func TestInFlightBudget(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 1 << 20
	cfg.MaxInFlightBytes = 1536 << 10
	op := startOp(t, cfg)

	// A sender stalled mid-DATA with 900 KB sent.
	a := mustSMTP(t, op, doctor)
	w, err := openData(a, doctor, []string{nurse}, nil)
	if err != nil {
		t.Fatal(err)
	}
	head := msg(doctor, nurse, "<stalled@x>", "stalled", "")
	if _, err := w.Write([]byte(head + body(900<<10))); err != nil {
		t.Fatal(err)
	}
	waitInFlight(t, op, 850<<10)

	big := msg(doctor, nurse, "<second@x>", "second", "") + body(700<<10)
	b := mustSMTP(t, op, doctor)
	if err := send(b, doctor, []string{nurse}, big, nil); smtpCode(err) != 452 || !strings.Contains(err.Error(), "in-flight budget") {
		t.Errorf("second DATA over the budget: %v, want 452", err)
	}
	ic := loginIMAP(t, op, doctor)
	if err := appendIMAP(ic, big); err == nil || !strings.Contains(err.Error(), "LIMIT") {
		t.Errorf("APPEND over the budget: %v, want NO [LIMIT]", err)
	}

	if err := w.Close(); err != nil {
		t.Fatalf("stalled DATA, finished: %v", err)
	}
	if err := send(b, doctor, []string{nurse}, big, nil); err != nil {
		t.Errorf("DATA once the budget is free: %v", err)
	}
	if err := appendIMAP(ic, big); err != nil {
		t.Errorf("APPEND once the budget is free: %v", err)
	}
	if n := op.inflight.inUse(); n != 0 {
		t.Errorf("%d bytes still reserved", n)
	}
}

// TestInFlightSizeDeclared: a size declared in MAIL FROM (RFC 1870) is
// reserved there, so a second sender is refused before sending anything,
// and RSET gives the reservation back.
func TestInFlightSizeDeclared(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 1 << 20
	cfg.MaxInFlightBytes = 1536 << 10
	op := startOp(t, cfg)
	a, b := mustSMTP(t, op, doctor), mustSMTP(t, op, doctor)
	if err := a.Mail(doctor, &smtp.MailOptions{Size: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if n := op.inflight.inUse(); n != 1<<20 {
		t.Errorf("reserved %d after MAIL SIZE=%d", n, 1<<20)
	}
	if err := b.Mail(doctor, &smtp.MailOptions{Size: 1 << 20}); smtpCode(err) != 452 {
		t.Errorf("second MAIL SIZE over the budget: %v, want 452", err)
	}
	if err := a.Reset(); err != nil {
		t.Fatal(err)
	}
	if n := op.inflight.inUse(); n != 0 {
		t.Errorf("reserved %d after RSET", n)
	}
	raw := msg(doctor, nurse, "<sized@x>", "sized", "") + body(600<<10)
	if err := b.Mail(doctor, &smtp.MailOptions{Size: int64(len(raw))}); err != nil {
		t.Fatalf("MAIL once the budget is free: %v", err)
	}
	if err := b.Rcpt(nurse, nil); err != nil {
		t.Fatal(err)
	}
	w, err := b.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(raw))
	if err := w.Close(); err != nil {
		t.Errorf("DATA within the declared size: %v", err)
	}
	if n := op.inflight.inUse(); n != 0 {
		t.Errorf("reserved %d after the message was stored", n)
	}
}

// appendIMAP appends raw to INBOX.
func appendIMAP(c *imapclient.Client, raw string) error {
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// TestInFlightMemoryBounded: eight clients stalled mid-DATA with 3.5 MB
// sent each hold no more than the budget (4 MiB here), not 8 × 3.5 MB.
func TestInFlightMemoryBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 4 << 20
	cfg.MaxInFlightBytes = 4 << 20
	op := startOp(t, cfg)
	payload := []byte(msg(doctor, nurse, "<big@x>", "big", "") + body(3500<<10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	release := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := mustSMTP(t, op, doctor)
			w, err := openData(c, doctor, []string{nurse}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			w.Write(payload)
			<-release
			err = w.Close()
			mu.Lock()
			codes[smtpCode(err)]++
			mu.Unlock()
		}()
	}
	// Let every client push what it can: until the reservations stop
	// moving.
	waitInFlight(t, op, 1<<20)
	for last := int64(-1); op.inflight.inUse() != last; time.Sleep(200 * time.Millisecond) {
		last = op.inflight.inUse()
	}
	runtime.ReadMemStats(&ms)
	grew := int64(ms.HeapAlloc) - int64(base)
	close(release)
	wg.Wait()
	t.Logf("heap +%d KiB with 8 clients stalled mid-DATA; answers %v", grew>>10, codes)
	if grew > 16<<20 {
		t.Errorf("heap grew by %d MiB, budget 4 MiB", grew>>20)
	}
	// Reservations grow as data arrives, so clients racing for the budget
	// may all hit it: each is refused, none holds memory.
	if codes[0]+codes[452] != 8 || codes[452] < 1 {
		t.Errorf("answers %v: want 250 or 452 each, some 452", codes)
	}
	if n := op.inflight.inUse(); n != 0 {
		t.Errorf("%d bytes still reserved", n)
	}
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{nurse}, string(payload), nil); err != nil {
		t.Errorf("a message alone after the crowd: %v", err)
	}
}

// TestPreAuthAppendRefusedAtOnce: before login an APPEND literal is
// refused before the continuation, not read for minutes and then refused.
func TestPreAuthAppendRefusedAtOnce(t *testing.T) {
	op := startOp(t, testConfig())
	r := dialRawIMAP(t, op, "")
	start := time.Now()
	if got := r.cmd("a APPEND INBOX {25000000}", ""); !strings.HasPrefix(got, "a NO [TOOBIG]") {
		t.Errorf("pre-auth APPEND: %q", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %s", d)
	}
}

// TestInFlightMemoryBoundedCompleted: four concurrent clients whose
// messages (3.5 MB, within the 16 MiB budget together) go through to the
// mailbox make the heap peak at the stored messages plus at most twice
// the in-flight budget, and allocate about twice each message: accepting
// it (CRLF, trace headers, conformance, journal, mailbox) holds it once,
// not once per step.
func TestInFlightMemoryBoundedCompleted(t *testing.T) {
	const budget = 16 << 20
	cfg := testConfig()
	cfg.MaxMessageBytes = 4 << 20
	cfg.MaxInFlightBytes = budget
	cfg.StoreDir = t.TempDir() // the journal path too
	op := startOp(t, cfg)
	// Bare LF line ends: the stored copy gets CRLF.
	payload := []byte(strings.ReplaceAll(msg(doctor, nurse, "", "big", "")+body(3500<<10), "\r\n", "\n"))
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // the heap then follows what is live
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapAlloc)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if h := int64(m.HeapAlloc); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	const clients = 4
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := mustSMTP(t, op, doctor)
			err := c.Mail(doctor, nil)
			if err == nil {
				err = c.Rcpt(nurse, nil)
			}
			if err == nil {
				var w io.WriteCloser
				if w, err = c.Data(); err == nil {
					w.Write(payload) // streamed: the client copies nothing whole
					err = w.Close()
				}
			}
			mu.Lock()
			codes[smtpCode(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The client streams payload; the server reads it in 64 KiB chunks
	// and copies it once, with CRLF and room for the trace headers. The
	// accept path (conformance, headers, journal, mailbox) copies
	// nothing more.
	perMsg := int64(after.TotalAlloc-ms.TotalAlloc) / clients
	t.Logf("allocated %d KiB per client for a %d KiB message", perMsg>>10, len(payload)>>10)
	if limit := int64(len(payload))*5/2 + 1<<20; perMsg > limit {
		t.Errorf("allocated %d KiB per client for a %d KiB message, want at most %d KiB: more than the read chunks and one copy", perMsg>>10, len(payload)>>10, limit>>10)
	}
	stored := int64(0)
	for _, m := range inbox(t, op, nurse) {
		stored += int64(len(m))
	}
	over := peak.Load() - base - stored
	t.Logf("heap peak +%d MiB over %d MiB stored, budget %d MiB; answers %v", over>>20, stored>>20, budget>>20, codes)
	if codes[0] != clients {
		t.Fatalf("answers %v: want every message accepted", codes)
	}
	if over > 2*budget+4<<20 {
		t.Errorf("heap peaked %d MiB above the stored messages, budget %d MiB", over>>20, budget>>20)
	}
	if n := op.inflight.inUse(); n != 0 {
		t.Errorf("%d bytes still reserved", n)
	}
}

// TestAppendLiteralAllocatedOnce: an APPEND literal stalled before its
// end costs the buffer it is read into, reserved against the budget, and
// nothing more (the gate once reallocated every 16 KiB that passed).
func TestAppendLiteralAllocatedOnce(t *testing.T) {
	op := startOp(t, testConfig())
	r := dialRawIMAP(t, op, doctor)
	const n = 8 << 20
	payload := []byte(strings.Repeat("x", n-1024))
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	if got := r.cmd(fmt.Sprintf("a APPEND INBOX {%d}", n), ""); !strings.HasPrefix(got, "+") {
		t.Fatalf("APPEND: %q", got)
	}
	if _, err := r.c.Write(payload); err != nil {
		t.Fatal(err)
	}
	waitInFlight(t, op, n)
	time.Sleep(300 * time.Millisecond) // the literal bytes reach the server
	runtime.ReadMemStats(&b)
	alloc := int64(b.TotalAlloc - a.TotalAlloc)
	t.Logf("allocated %d KiB for a %d KiB literal stalled before its end", alloc>>10, n>>10)
	if alloc > n+n/4 {
		t.Errorf("allocated %d KiB for a %d KiB literal", alloc>>10, n>>10)
	}
}
