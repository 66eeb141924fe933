package mocks

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestAutoReplyRoundTrip(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	id := "<rt-1@hopital.test.mssante.fr>"
	if err := send(c, doctor, []string{autoRep}, msg(doctor, autoRep, id, "Test PS 4.1", ""), nil); err != nil {
		t.Fatalf("send: %v", err)
	}
	replies := withHeader(inbox(t, op, doctor), "In-Reply-To: "+id)
	if len(replies) != 1 {
		t.Fatalf("want 1 reply with In-Reply-To %s, got %d", id, len(replies))
	}
	r := replies[0]
	for _, want := range []string{"References: " + id, "<" + autoRep + ">", "Subject: Re: Test PS 4.1"} {
		if !strings.Contains(r, want) {
			t.Errorf("reply lacks %q:\n%s", want, r)
		}
	}
	if n := countMailbox(t, op, autoRep, "Sent"); n != 1 {
		t.Errorf("auto-reply copies in the citizen's Sent: %d, want 1", n)
	}
}

func TestIdleWakesOnDelivery(t *testing.T) {
	op := startOp(t, Config{Accounts: testConfig().Accounts, AutoReplyDelay: 50 * time.Millisecond})
	updates := make(chan uint32, 16)
	ic := dialIMAP(t, op, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				updates <- *d.NumMessages
			}
		},
	}})
	if err := ic.Login(doctor, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := ic.Idle()
	if err != nil {
		t.Fatal(err)
	}
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{autoRep}, msg(doctor, autoRep, "<idle-1@hopital.test.mssante.fr>", "idle", ""), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-updates:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no IDLE notification for the auto-reply")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := ic.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Fatalf("STATUS after IDLE: %v %v", st, err)
	}
}
