package probe

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/msscprobe/msscprobe/mocks"
)

// openIMAP logs the test account into the mock as the probe does.
func openIMAP(t *testing.T, te *testEnv, s *stepRec) *imapSession {
	t.Helper()
	cfg := te.config(t)
	r := &runner{cfg: cfg, anchors: testAnchors(t, cfg), opts: Options{Now: time.Now}}
	cr := &credentials{key: "auth", mech: MechPlain, username: testAccount, password: testPassword}
	is, ok := imapOpen(context.Background(), s, r.connector(imapRules, "imap", cfg.IMAP, newTranscript(true, time.Now()), cr), &Endpoint{})
	if !ok || !is.login(context.Background(), s, cr) {
		t.Fatalf("IMAP login: %s", dump(&Result{Steps: []Step{*s.step}}))
	}
	t.Cleanup(is.close)
	return is
}

// TestReconnectContinuesFromUIDNext: a message delivered while the
// connection is down is still found after the reconnect, because the scan
// goes on from the UIDNEXT recorded before the drop, not from the new
// session's; and a second drop is not retried.
func TestReconnectContinuesFromUIDNext(t *testing.T) {
	te := startMock(t, mocks.Config{})
	s := &stepRec{step: &Step{}}
	is := openIMAP(t, te, s)
	before := is.uidNext

	// The server drops the connection; meanwhile a reply is delivered.
	is.raw.Close()
	other := openIMAP(t, te, &stepRec{step: &Step{}})
	msg := "From: a@patient.mssante.fr\r\nSubject: during the outage\r\n\r\nhello\r\n"
	app := other.c.Append("INBOX", int64(len(msg)), nil)
	if _, err := io.WriteString(app, msg); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	if err := is.reconnect(ctx, s, io.ErrUnexpectedEOF); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	if c, _ := checkStatus(&Result{Steps: []Step{*s.step}}, RuleIMAPReconnect); c.Status != Warn || !strings.Contains(c.Message.EN, fmt.Sprintf("from UID %d", before)) {
		t.Errorf("%s %s %q", RuleIMAPReconnect, c.Status, c.Message.EN)
	}
	news, err := is.scan(ctx)
	if err != nil || len(news) != 1 || news[0].uid != before {
		t.Fatalf("scan after reconnect: %d messages, err %v", len(news), err)
	}

	// A second drop of IDLE: reconnected again, the probe polls instead,
	// with a warning that says so, and still finds new mail.
	is.raw.Close()
	if err := is.reconnect(ctx, s, io.ErrUnexpectedEOF); err != nil {
		t.Fatalf("second drop: %v", err)
	}
	if c, _ := checkStatus(&Result{Steps: []Step{*s.step}}, RuleIMAPReconnect); c.Status != Warn || !strings.Contains(c.Message.EN, "now polls INBOX every") || is.idle {
		t.Errorf("second drop: %s %s %q, idle %v", RuleIMAPReconnect, c.Status, c.Message.EN, is.idle)
	}
	app = other.c.Append("INBOX", int64(len(msg)), nil)
	io.WriteString(app, msg)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := is.wait(ctx, time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatalf("wait while polling: %v", err)
	}
	if news, err := is.scan(ctx); err != nil || len(news) != 1 {
		t.Fatalf("scan while polling: %d messages, err %v", len(news), err)
	}

	// A drop while polling ends the wait, saying so.
	is.raw.Close()
	err = is.reconnect(ctx, s, io.ErrUnexpectedEOF)
	if err == nil || !strings.Contains(errText(err).EN, "lost again after reconnecting") {
		t.Errorf("drop while polling: %v", err)
	}
	// A server's NO is not a lost connection.
	fresh := openIMAP(t, te, &stepRec{step: &Step{}})
	if err := fresh.reconnect(ctx, s, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "no"}); err == nil || fresh.reconnected {
		t.Errorf("reconnect after NO: %v", err)
	}
}
