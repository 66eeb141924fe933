package probe

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/mocks"
)

// TestBatchAfterReplyClassified: the reply and a success DSN arrive in the
// same fetched batch, the DSN after the reply. The DSN is still classified:
// RCV-005 lists it and it is among the result's messages (so the evidence
// bundle has messages/dsn.eml).
func TestBatchAfterReplyClassified(t *testing.T) {
	f, _ := mocks.ParseFault("no-reply")
	te := startMock(t, mocks.Config{Faults: []mocks.Fault{f}})
	te.yaml["timeouts"] = "{step: 2s, reply: 5s}"
	cfg := te.config(t)
	reply := "From: reponse.automatique-test@patient.mssante.fr\r\nSubject: Re: test\r\nIn-Reply-To: <{ID}>\r\n\r\nbien reçu\r\n"
	dsn := "From: MAILER-DAEMON@mssante.fr\r\nSubject: Successful Mail Delivery Report\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\ndelivered\r\n" +
		"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mssante.fr\r\n\r\nFinal-Recipient: rfc822; reponse.automatique-test@patient.mssante.fr\r\nAction: delivered\r\nStatus: 2.0.0\r\n" +
		"\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ID}>\r\n\r\n--B--\r\n"
	appended := false
	obs := observerFunc(func(string) {
		if appended {
			return
		}
		appended = true
		var id string
		for _, e := range te.op.Events() {
			if e.Kind == mocks.KindDeliver && e.MessageID != "" {
				id = strings.Trim(e.MessageID, "<>")
			}
		}
		// Both are in INBOX before the probe's first scan: one batch, the
		// reply first.
		is := openIMAP(t, te, &stepRec{step: &Step{}})
		for _, raw := range []string{reply, dsn} {
			msg := strings.ReplaceAll(raw, "{ID}", id)
			app := is.c.Append("INBOX", int64(len(msg)), nil)
			io.WriteString(app, msg)
			app.Close()
			if _, err := app.Wait(); err != nil {
				t.Error(err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, Options{Getenv: func(k string) string { return te.env[k] }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Met {
		t.Fatalf("not met\n%s", dump(res))
	}
	// French says the DSN action in French (the English keeps RFC 3464's word).
	if c, _ := checkStatus(res, RuleReports); !strings.Contains(c.Message.FR, "DSN remis (") {
		t.Errorf("RCV-005 in French: %q", c.Message.FR)
	}
	if c, _ := checkStatus(res, RuleReports); c.Status != Pass || !strings.Contains(c.Message.EN, "DSN delivered") {
		t.Errorf("%s %s %q, want the DSN fetched after the reply listed\n%s", RuleReports, c.Status, c.Message.EN, dump(res))
	}
	// The mock's own DSN may come before the reply; the one appended
	// after the reply must be kept too.
	var after bool
	for _, m := range res.Messages {
		after = after || m.Kind == KindDSN && strings.EqualFold(m.From, "MAILER-DAEMON@mssante.fr")
	}
	if !after {
		t.Errorf("the DSN fetched after the reply is not among the messages\n%s", dump(res))
	}
	checkMessages(t, res)
}
