package probe

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// Message kinds (Message.Kind).
const (
	KindSent   = "sent"
	KindReply  = "reply"
	KindMDN    = "mdn"
	KindDSN    = "dsn"
	KindBounce = "bounce"
)

// Correlation methods.
const (
	corrHeader = "header" // In-Reply-To or References names our Message-ID
	corrToken  = "token"  // only the probe token links it
)

// incoming is a received message as the probe understands it.
type incoming struct {
	kind        string
	correlation string // "" when the message is not about our probe
	from        string // address only
	subject     string
	messageID   string
	// detail is the DSN action/diagnostic or the MDN disposition.
	detail string
}

// maxHeaderBytes bounds header parsing of untrusted mail.
const maxHeaderBytes = 1 << 20

// classify reads a received message and relates it to ours: a reply is
// correlated by In-Reply-To/References (RFC 5322 §3.6.4) or, failing that,
// by the token; reports are recognised by their MIME type (RFC 3464 DSN,
// RFC 8098 MDN) or as bounces by their usual subject and sender
// ("Undelivered Mail Returned to Sender", research mssante.md §1).
func classify(raw []byte, ourID, token string) incoming {
	var in incoming
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		if bytes.Contains(raw, []byte(token)) || bytes.Contains(raw, []byte(ourID)) {
			in.kind, in.correlation = KindReply, corrToken
		}
		return in
	}
	h := mail.Header{Header: e.Header}
	in.subject, _ = h.Subject()
	in.messageID, _ = h.MessageID()
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		in.from = from[0].Address
	}
	inReplyTo, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	for _, id := range append(inReplyTo, refs...) {
		if id == ourID {
			in.correlation = corrHeader
		}
	}
	if in.correlation == "" && (strings.Contains(in.subject, token) || bytes.Contains(raw, []byte(token)) || bytes.Contains(raw, []byte(ourID))) {
		in.correlation = corrToken
	}

	ct, params, _ := e.Header.ContentType()
	switch {
	case ct == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status"):
		in.kind = KindDSN
		action, diag := dsnFields(e)
		in.detail = action
		if diag != "" {
			in.detail += ": " + diag
		}
		if action == "failed" {
			in.kind = KindBounce
		}
	case ct == "multipart/report" && strings.EqualFold(params["report-type"], "disposition-notification"):
		in.kind, in.detail = KindMDN, mdnDisposition(e)
	case isBounceSubject(in.subject) || isDaemon(in.from):
		in.kind = KindBounce
	default:
		in.kind = KindReply
	}
	// A report quotes our message: its Message-ID or token makes it ours.
	if in.kind != KindReply && in.correlation == corrToken {
		in.correlation = corrHeader
	}
	return in
}

func isBounceSubject(s string) bool {
	s = strings.ToLower(s)
	for _, p := range []string{"undelivered mail", "undeliverable", "delivery status notification (failure)", "mail delivery failed", "non remis", "non-remise"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func isDaemon(from string) bool {
	local, _, _ := strings.Cut(strings.ToLower(from), "@")
	return local == "mailer-daemon" || local == "postmaster"
}

// dsnFields returns the worst per-recipient Action of a delivery-status
// part (failed > delayed > delivered/relayed/expanded) and its
// Diagnostic-Code.
func dsnFields(e *message.Entity) (action, diag string) {
	rank := map[string]int{"failed": 3, "delayed": 2}
	forEachPart(e, func(ct string, body io.Reader) {
		if ct != "message/delivery-status" && ct != "message/global-delivery-status" {
			return
		}
		tr := textproto.NewReader(bufio.NewReader(io.LimitReader(body, maxHeaderBytes)))
		for {
			h, err := tr.ReadMIMEHeader()
			if a := strings.ToLower(strings.TrimSpace(h.Get("Action"))); a != "" && (action == "" || rank[a] > rank[action]) {
				action, diag = a, strings.TrimSpace(h.Get("Diagnostic-Code"))
			}
			if err != nil {
				return
			}
		}
	})
	return action, diag
}

func mdnDisposition(e *message.Entity) string {
	var disp string
	forEachPart(e, func(ct string, body io.Reader) {
		if ct != "message/disposition-notification" {
			return
		}
		h, _ := textproto.NewReader(bufio.NewReader(io.LimitReader(body, maxHeaderBytes))).ReadMIMEHeader()
		disp = strings.TrimSpace(h.Get("Disposition"))
	})
	return disp
}

func forEachPart(e *message.Entity, fn func(ct string, body io.Reader)) {
	mr := e.MultipartReader()
	if mr == nil {
		return
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		ct, _, _ := p.Header.ContentType()
		fn(ct, p.Body)
	}
}

// domainOf returns the domain of an address, lower-cased.
func domainOf(addr string) string {
	return strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
}
