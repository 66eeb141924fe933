package mocks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestConcurrentSendersExactlyOnce: 50 senders x 100 messages, each to its
// own mailbox and to a shared one; every message lands exactly once.
func TestConcurrentSendersExactlyOnce(t *testing.T) {
	const senders, per = 50, 100
	cfg := Config{}
	for i := range senders {
		cfg.Accounts = append(cfg.Accounts, Account{Address: fmt.Sprintf("s%02d@hopital.test.mssante.fr", i), Password: pw})
	}
	op := startOp(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := cfg.Accounts[i].Address
			errs <- sendMany(t, op, from, from, per, func(j int) string { return fmt.Sprintf("<%d.%d@load>", i, j) })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range cfg.Accounts {
		ids := map[string]int{}
		c := loginIMAP(t, op, a.Address)
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			ids[m.Envelope.MessageID]++
		}
		if len(ids) != per || len(msgs) != per {
			t.Fatalf("%s: %d messages, %d distinct, want %d", a.Address, len(msgs), len(ids), per)
		}
		for j := range per {
			if ids[fmt.Sprintf("%d.%d@load", i, j)] != 1 {
				t.Fatalf("%s: message %d.%d seen %d times", a.Address, i, j, ids[fmt.Sprintf("%d.%d@load", i, j)])
			}
		}
		c.Logout().Wait()
	}
}

// sendMany submits n messages from one session, Message-IDs from id.
func sendMany(t *testing.T, op *Operator, from, to string, n int, id func(int) string) error {
	c, err := dialSMTP(t, op, clientTLS(op), false)
	if err == nil {
		err = c.Auth(plain(from))
	}
	for j := 0; err == nil && j < n; j++ {
		err = send(c, from, []string{to}, msg(from, to, id(j), "load", ""), nil)
	}
	return err
}

// TestRestartWithStoreLosesNothing exercises every journaled operation,
// restarts, and compares what IMAP shows.
func TestRestartWithStoreLosesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.StoreDir = dir
	cfg.AutoReplyDelay = time.Hour // still pending at Close
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	for i := range 5 {
		if err := send(c, doctor, []string{nurse}, msg(doctor, nurse, fmt.Sprintf("<p%d@x>", i), "persist", ""), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(c, doctor, []string{autoRep}, msg(doctor, autoRep, "<pending@x>", "pending", ""), nil); err != nil {
		t.Fatal(err)
	}
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<closed@x>", "fin", "X-MSS-MES: FIN\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	ic := loginIMAP(t, op, nurse)
	if err := ic.Create("Archives", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// Read message 1 (sets \Seen), flag 2, move 3, delete+expunge 4.
	sec := &imap.FetchItemBodySection{}
	if _, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := ic.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Move(imap.UIDSetNum(3), "Archives").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := ic.Store(imap.UIDSetNum(4), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := ic.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	body := msg(nurse, doctor, "<sent@x>", "copie", "")
	ac := ic.Append("Sent", int64(len(body)), nil)
	ac.Write([]byte(body))
	ac.Close()
	if _, err := ac.Wait(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, op, nurse)
	ic.Logout().Wait()
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.AutoReplyDelay = 0
	op2 := startOp(t, cfg)
	if after := snapshot(t, op2, nurse); after != before {
		t.Fatalf("state changed across restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The auto-reply pending at Close was delivered, once.
	if r := withHeader(inbox(t, op2, doctor), "In-Reply-To: <pending@x>"); len(r) != 1 {
		t.Fatalf("pending auto-reply: %d copies", len(r))
	}
	// The closed thread is still closed.
	cit := mustSMTP(t, op2, patientA)
	err := send(cit, patientA, []string{doctor}, msg(patientA, doctor, "<late@x>", "Re", "In-Reply-To: <closed@x>\r\n"), nil)
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), RuleThreadClosed) {
		t.Fatalf("reply to a thread closed before the restart: %v", err)
	}
}

// snapshot renders each mailbox as IMAP sees it: UIDVALIDITY, UIDs, flags
// and Message-IDs.
func snapshot(t *testing.T, op *Operator, user string) string {
	t.Helper()
	c := loginIMAP(t, op, user)
	defer func() { c.Logout().Wait() }()
	var b strings.Builder
	for _, mbox := range []string{"INBOX", "Sent", "Archives"} {
		data, err := c.Select(mbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("SELECT %s: %v", mbox, err)
		}
		fmt.Fprintf(&b, "%s uidvalidity=%d uidnext=%d n=%d\n", mbox, data.UIDValidity, data.UIDNext, data.NumMessages)
		if data.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, Envelope: true, InternalDate: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			fmt.Fprintf(&b, "  uid=%d flags=%v id=%s date=%s\n", m.UID, m.Flags, m.Envelope.MessageID, m.InternalDate.UTC().Format(time.RFC3339Nano))
		}
	}
	return b.String()
}

func TestStoreTornTailAndCorruption(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.StoreDir = dir
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{nurse}, msg(doctor, nurse, "<kept@x>", "s", ""), nil); err != nil {
		t.Fatal(err)
	}
	op.Close()
	path := filepath.Join(dir, journalName(nurse))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of an append record.
	f.WriteString(`{"op":"append","mbox":"INBOX","size":500}` + "\nFrom: half")
	f.Close()
	op2 := startOp(t, cfg)
	if got := inbox(t, op2, nurse); len(got) != 1 || !strings.Contains(got[0], "<kept@x>") {
		t.Fatalf("after torn tail: %d messages", len(got))
	}
	op2.Close()
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	if _, err := Start(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt journal: %v", err)
	}
}

// TestCloseEndsDelayFaults: a session sleeping in a delay fault ends with
// Close instead of acting, much later, on a closed operator.
func TestCloseEndsDelayFaults(t *testing.T) {
	op := faultOp(t, "delay-data=1h")
	c := mustSMTP(t, op, doctor)
	go send(c, doctor, []string{nurse}, msg(doctor, nurse, "<late@x>", "s", ""), nil)
	waitEvent(t, op, func(e Event) bool { return e.Kind == KindFault })
	start := time.Now()
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, op, func(e Event) bool { return e.Kind == "data" })
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the delayed DATA ended %s after Close", d)
	}
	if n := countMailbox(t, op, nurse, "INBOX"); n != 0 {
		t.Errorf("%d messages delivered after Close", n)
	}
}

// TestStoreRefusesWritesAfterClose: once the journals are closed nothing
// can be acknowledged that a restart would lose.
func TestStoreRefusesWritesAfterClose(t *testing.T) {
	cfg := testConfig()
	cfg.StoreDir = t.TempDir()
	op := startOp(t, cfg)
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{nurse, patientB} {
		if _, err := op.store.deliver(addr, "INBOX", []byte(msg(doctor, addr, "<x@x>", "s", "")), nil); err == nil {
			t.Errorf("delivery to %s accepted after Close", addr)
		}
	}
	u, _ := op.store.user(nurse, false)
	if err := u.do(record{Op: opCreate, Mbox: "Late"}, nil); err == nil {
		t.Error("CREATE accepted after Close")
	}
}

// waitEvent waits up to 10 s for an event matching ok.
func waitEvent(t *testing.T, op *Operator, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range op.Events() {
			if ok(e) {
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("expected event not recorded")
	return Event{}
}

// TestOneMailboxConcurrentlyThenRestart: SMTP deliveries, IMAP APPENDs,
// flag changes and MOVEs race on one mailbox; every message is there
// exactly once, and the journal replays to the same state.
func TestOneMailboxConcurrentlyThenRestart(t *testing.T) {
	const senders, per, appends = 8, 20, 20
	cfg := testConfig()
	cfg.StoreDir = t.TempDir()
	op := startOp(t, cfg)
	if err := loginIMAP(t, op, nurse).Create("Archives", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, senders+2)
	for i := range senders {
		wg.Go(func() {
			errs <- sendMany(t, op, doctor, nurse, per, func(j int) string { return fmt.Sprintf("<s%d.%d@x>", i, j) })
		})
	}
	wg.Go(func() { // APPENDs
		c := loginIMAP(t, op, nurse)
		var err error
		for j := 0; err == nil && j < appends; j++ {
			body := msg(nurse, nurse, fmt.Sprintf("<a%d@x>", j), "a", "")
			ac := c.Append("INBOX", int64(len(body)), nil)
			ac.Write([]byte(body))
			ac.Close()
			_, err = ac.Wait()
		}
		errs <- err
	})
	wg.Go(func() { // flags and moves on whatever is there
		c := loginIMAP(t, op, nurse)
		_, err := c.Select("INBOX", nil).Wait()
		for j := 0; err == nil && j < 20; j++ {
			err = c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
			if err == nil {
				_, err = c.Move(imap.SeqSetNum(1), "Archives").Wait()
			}
			time.Sleep(5 * time.Millisecond)
		}
		errs <- err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int{}
	c := loginIMAP(t, op, nurse)
	for _, mbox := range []string{"INBOX", "Archives"} {
		for _, m := range fetchAll(t, c, mbox) {
			h, err := readHeader([]byte(m))
			if err != nil {
				t.Fatal(err)
			}
			ids[h.Get("Message-Id")]++
		}
	}
	if len(ids) != senders*per+appends {
		t.Errorf("%d distinct messages, want %d", len(ids), senders*per+appends)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
	before := snapshot(t, op, nurse)
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, startOp(t, cfg), nurse); after != before {
		t.Fatalf("state changed across restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
