package probe

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/mocks"
)

const (
	ourID, ourToken = "msscprobe-abc@hopital.test.mssante.fr", "MSSCPROBE-ABC"
	dsnHead         = "Reporting-MTA: dns; mx\r\n\r\n" // per-message fields, then per-recipient
)

// TestClassify: replies, reports and bounces are told apart and related to
// our message (RFC 3464 DSN, RFC 8098 MDN, usual bounce forms).
func TestClassify(t *testing.T) {
	report := func(typ, ct, fields string) string {
		return "From: MAILER-DAEMON@patient.mssante.fr\r\nSubject: report\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=" + typ + "; boundary=B\r\n\r\n" +
			"--B\r\nContent-Type: text/plain\r\n\r\nabout <" + ourID + ">\r\n" +
			"--B\r\nContent-Type: " + ct + "\r\n\r\n" + fields + "\r\n--B--\r\n"
	}
	for _, tc := range []struct {
		name, raw, kind, corr, detail string
	}{
		{"reply by header", "From: R <reponse.automatique-test@patient.mssante.fr>\r\nSubject: Re: x\r\nIn-Reply-To: <" + ourID + ">\r\n\r\nok\r\n",
			KindReply, corrHeader, ""},
		{"reply by References", "From: a@patient.mssante.fr\r\nSubject: Re: x\r\nReferences: <other@x> <" + ourID + ">\r\n\r\nok\r\n",
			KindReply, corrHeader, ""},
		{"reply by token", "From: a@patient.mssante.fr\r\nSubject: Re: [" + ourToken + "]\r\n\r\nok\r\n", KindReply, corrToken, ""},
		{"unrelated", "From: a@patient.mssante.fr\r\nSubject: hello\r\n\r\nok\r\n", KindReply, "", ""},
		{"DSN delivered", report("delivery-status", "message/delivery-status", dsnHead+"Final-Recipient: rfc822; x@patient.mssante.fr\r\nAction: delivered\r\nStatus: 2.0.0"),
			KindDSN, corrHeader, "delivered"},
		{"DSN failed", report("delivery-status", "message/delivery-status", dsnHead+"Final-Recipient: rfc822; x@patient.mssante.fr\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 unknown"),
			KindBounce, corrHeader, "failed: smtp; 550 unknown"},
		{"MDN", report("disposition-notification", "message/disposition-notification", "Final-Recipient: rfc822; x@patient.mssante.fr\r\nDisposition: automatic-action/MDN-sent-automatically; displayed"),
			KindMDN, corrHeader, "automatic-action/MDN-sent-automatically; displayed"},
		{"plain bounce", "From: MAILER-DAEMON@mx.patient.mssante.fr\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nMessage-ID: <" + ourID + ">\r\n",
			KindBounce, corrHeader, ""},
		{"unparsable", "not a header line at all\r\n" + ourToken, KindReply, corrToken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := classify([]byte(tc.raw), ourID, ourToken)
			if in.kind != tc.kind || in.correlation != tc.corr || in.detail != tc.detail {
				t.Errorf("got kind %q corr %q detail %q", in.kind, in.correlation, in.detail)
			}
		})
	}
}

// appendOnWait delivers raw (with {ID} standing for the sent Message-ID) to
// the establishment INBOX once the probe waits for the reply.
func appendOnWait(t *testing.T, te *testEnv, raw string) (Observer, *sync.WaitGroup) {
	var wg sync.WaitGroup
	return observerFunc(func(string) {
		var id string
		for _, e := range te.op.Events() {
			if e.Kind == mocks.KindDeliver && e.MessageID != "" {
				id = strings.Trim(e.MessageID, "<>")
			}
		}
		msg := strings.ReplaceAll(raw, "{ID}", id)
		is := openIMAP(t, te, &stepRec{step: &Step{}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := is.c.Append("INBOX", int64(len(msg)), nil)
			io.WriteString(app, msg)
			app.Close()
			if _, err := app.Wait(); err != nil {
				t.Error(err)
			}
		}()
	}), &wg
}

// TestReplyChecks: a correlated reply from another domain fails RCV-003
// (and the verdict); an MDN before the reply is listed under RCV-005.
func TestReplyChecks(t *testing.T) {
	f, _ := mocks.ParseFault("no-reply")
	for _, tc := range []struct {
		name, raw, id string
		status        Status
		msg           string
		met           bool
	}{
		{"wrong domain", "From: someone@elsewhere.example\r\nSubject: Re: test\r\nIn-Reply-To: <{ID}>\r\n\r\nhi\r\n",
			RuleReplyDomain, Fail, "comes from someone@elsewhere.example, not from the citizen address's domain patient.mssante.fr", false},
		{"MDN listed", "From: reponse.automatique-test@patient.mssante.fr\r\nSubject: read\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=disposition-notification; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nread\r\n" +
			"--B\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; x@patient.mssante.fr\r\nOriginal-Message-ID: <{ID}>\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--B--\r\n",
			RuleReports, Pass, "MDN manual-action/MDN-sent-manually; displayed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startMock(t, mocks.Config{Faults: []mocks.Fault{f}})
			te.yaml["timeouts"] = "{step: 2s, reply: 1s}"
			cfg := te.config(t)
			obs, wg := appendOnWait(t, te, tc.raw)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := Run(ctx, cfg, Options{Getenv: func(k string) string { return te.env[k] }, Observer: obs})
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			c, _ := checkStatus(res, tc.id)
			if c.Status != tc.status || !strings.Contains(c.Message.EN, tc.msg) || res.Met != tc.met {
				t.Errorf("%s %s %q met %v\n%s", tc.id, c.Status, c.Message.EN, res.Met, dump(res))
			}
			checkMessages(t, res)
		})
	}
}
