package mocks

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/message"
)

// delivery is an accepted message and what happened to each recipient.
type delivery struct {
	from      string
	mailOpts  smtp.MailOptions
	header    textproto.Header
	stored    []byte // as delivered: trace headers + message
	messageID string
	delivered []rcpt
	failed    []failure
	// conformance is the verdict of the MSSanté message rules (conform),
	// nil when the message was not checked; it is kept with the stored
	// message (Operator.receipts) for the HTTP API.
	conformance *Conformance
}

type failure struct {
	rcpt
	err *smtp.SMTPError
}

// accept applies the DATA-time rules to each recipient and delivers the
// message to those that pass. When every recipient is refused, the first
// refusal is the SMTP answer; otherwise the message is accepted and the
// refused recipients get a DSN (RFC 3464), as an MTA does after 250.
func (o *Operator) accept(from string, rcpts []rcpt, opts *smtp.MailOptions, msg *spooled, received string) (*delivery, error) {
	raw := msg.raw()
	if len(rcpts) == 0 {
		return nil, smtpErr(503, smtp.EnhancedCode{5, 5, 1}, "RCPT first")
	}
	h, err := readHeader(raw)
	if err != nil {
		return nil, smtpErr(554, smtp.EnhancedCode{5, 6, 0}, "message header unreadable: %v", err)
	}
	v := o.conform(from, rcpts, raw)
	if err := o.refusal(v); err != nil {
		o.recordVerdict(v, msgID(h.Get("Message-Id")), false)
		return nil, err
	}
	d := &delivery{from: from, mailOpts: *opts, header: h}
	d.messageID = msgID(h.Get("Message-Id"))
	var extra string
	if d.messageID == "" {
		// Submission servers add a missing Message-ID (RFC 6409 §8.3):
		// replies must be able to refer to it.
		d.messageID = newMessageID(domainOf(from))
		extra = "Message-ID: " + d.messageID + "\r\n"
		d.header.Set("Message-Id", d.messageID)
	}
	refs := append(message.MsgIDs(h.Get("In-Reply-To")), message.MsgIDs(h.Get("References"))...)
	for _, r := range rcpts {
		if err := o.dataRules(from, r.addr, h, refs); err != nil {
			d.failed = append(d.failed, failure{r, err})
			continue
		}
		d.delivered = append(d.delivered, r)
	}
	if len(d.delivered) == 0 {
		o.recordVerdict(v, d.messageID, false)
		return nil, d.failed[0].err
	}
	o.recordVerdict(v, d.messageID, true)
	d.conformance = conformanceOf(v)
	// In place: the message is held once from DATA to the mailbox (the
	// in-memory store keeps this very slice).
	d.stored = msg.prepend("Return-Path: <" + from + ">\r\n" + received + conformanceLine(v) + extra)
	if f, ok := o.faults.fireFor(FaultBounce, from, rcptAddrs(d.delivered)); ok {
		o.rec.add(Event{Proto: "mail", Kind: KindFault, Fault: f.String(), MessageID: d.messageID})
		for _, r := range d.delivered {
			d.failed = append(d.failed, failure{r, smtpErr(f.Code, smtp.EnhancedCode{5, 1, 1}, "mock fault bounce: delivery to <%s> failed after acceptance", r.addr)})
		}
		d.delivered = nil
		return d, nil
	}
	var ok []rcpt
	for _, r := range d.delivered {
		if _, err := o.store.deliver(r.addr, "INBOX", d.stored, nil); err != nil {
			d.failed = append(d.failed, failure{r, smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "mailbox of <%s> unavailable: %v", r.addr, err)})
			continue
		}
		ok = append(ok, r)
		o.rec.add(Event{Proto: "mail", Kind: KindDeliver, From: from, To: []string{r.addr}, MessageID: d.messageID})
	}
	d.delivered = ok
	if len(ok) == 0 {
		return nil, d.failed[0].err
	}
	o.receipts.add(d.stored, &receipt{At: time.Now().UTC(), From: from, To: rcptAddrs(ok), MessageID: d.messageID, Conformance: d.conformance})
	return d, nil
}

// dataRules are the MSSanté rules that need the message header.
func (o *Operator) dataRules(from, to string, h textproto.Header, refs []string) *smtp.SMTPError {
	if o.isCitizen(to) && !message.HasNIL(h) {
		if o.cfg.NILMode == NILRefuse {
			return smtpErr(550, smtp.EnhancedCode{5, 6, 0}, "[%s] X-MSS-NIL header missing: every MSSanté message must carry the software reference (Ref#2 ECO.2.4.3)", RuleNIL)
		}
		o.rec.add(Event{Proto: "mail", Kind: KindWarn, Rule: RuleNIL, From: from, To: []string{to}, MessageID: msgID(h.Get("Message-Id")),
			Detail: "X-MSS-NIL header missing (Ref#2 ECO.2.4.3); accepted in warn mode"})
	}
	if o.isCitizen(from) && !o.isCitizen(to) {
		if rule, err := o.threads.mayReply(from, to, refs); err != nil {
			return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "[%s] %v", rule, err)
		}
	}
	return nil
}

// afterAccept sends what an accepted message triggers: DSNs, MDNs and
// auto-replies.
func (o *Operator) afterAccept(d *delivery) {
	var failed []failure
	for _, f := range d.failed {
		// No NOTIFY means FAILURE (RFC 3461 §4.1); NOTIFY=SUCCESS alone
		// or NEVER asks for no failure report.
		if len(f.opts.Notify) == 0 || slices.Contains(f.opts.Notify, smtp.DSNNotifyFailure) {
			failed = append(failed, f)
		}
	}
	if len(failed) > 0 {
		o.sendDSN(d, failed, nil)
	}
	var success []rcpt
	for _, r := range d.delivered {
		if slices.Contains(r.opts.Notify, smtp.DSNNotifySuccess) {
			success = append(success, r)
		}
	}
	if len(success) > 0 {
		o.sendDSN(d, nil, success)
	}
	for _, r := range d.delivered {
		if !o.isCitizen(r.addr) {
			continue
		}
		if dnt := headerAddrs(d.header, "Disposition-Notification-To"); len(dnt) > 0 {
			o.sendMDN(d, r.addr, dnt[0])
		}
		if r.addr == o.autoReplyAddr() || o.cfg.AutoReplyCitizens {
			o.scheduleReply(d, r.addr)
		}
	}
}

// replyTarget is where a citizen's answer goes: an MSS Reply-To (ENS
// Messagerie v1.3 §9, research mssante.md §1), else From, else the
// envelope sender.
func (o *Operator) replyTarget(d *delivery) string {
	for _, a := range headerAddrs(d.header, "Reply-To") {
		if o.trusted(a) {
			return a
		}
	}
	if f := headerAddrs(d.header, "From"); len(f) > 0 {
		return f[0]
	}
	return d.from
}

func (o *Operator) scheduleReply(d *delivery, citizen string) {
	target := o.replyTarget(d)
	if f, ok := o.faults.fire(FaultNoReply); ok {
		o.rec.add(Event{Proto: "mail", Kind: KindFault, Fault: f.String(), From: citizen, To: []string{target}, MessageID: d.messageID})
		return
	}
	if rule, err := o.threads.mayReply(citizen, target, []string{d.messageID}); err != nil {
		o.rec.add(Event{Proto: "mail", Kind: KindAutoReply, Rule: rule, From: citizen, To: []string{target}, MessageID: d.messageID,
			Detail: "no auto-reply: " + err.Error()})
		return
	}
	_, noRef := o.faults.fire(FaultReplyNoInReplyTo)
	o.pending.after(o.cfg.AutoReplyDelay, func() { o.sendReply(d, citizen, target, noRef) })
}

func (o *Operator) sendReply(d *delivery, citizen, target string, noRef bool) {
	id := newMessageID(o.cfg.CitizenDomain)
	subject := strings.TrimSpace(d.header.Get("Subject"))
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", citizen)
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", "Réponse automatique MSS citoyenne (mock)"), citizen)
	fmt.Fprintf(&b, "To: <%s>\r\n", target)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", id)
	if !noRef {
		refs := strings.Join(append(message.MsgIDs(d.header.Get("References")), d.messageID), " ")
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", d.messageID, refs)
	}
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "Réponse automatique de la boîte de test %s.\r\nMessage reçu : %s\r\n\r\nAutomatic reply of the mock MSS citoyenne test mailbox.\r\n", citizen, d.messageID)
	raw := b.Bytes()
	detail := "In-Reply-To " + d.messageID
	if noRef {
		detail = "fault reply-no-in-reply-to: no In-Reply-To/References"
	}
	o.deliverGenerated(KindAutoReply, citizen, target, id, raw, detail)
	if _, err := o.store.deliver(citizen, "Sent", raw, []imap.Flag{imap.FlagSeen}); err != nil {
		o.rec.add(Event{Proto: "mail", Kind: "error", From: citizen, Detail: "copy to Sent: " + err.Error()})
	}
}

// deliverGenerated puts a message made by the mock (reply, MDN, DSN) in a
// local mailbox; other destinations are recorded as undeliverable.
func (o *Operator) deliverGenerated(kind, from, to, id string, raw []byte, detail string) {
	e := Event{Proto: "mail", Kind: kind, From: from, To: []string{to}, MessageID: id, Detail: detail}
	u, err := o.store.user(to, false)
	if err == nil && u == nil {
		err = fmt.Errorf("no local mailbox for <%s>", to)
	}
	if err == nil {
		_, err = u.appendMsg("INBOX", raw, nil, time.Now(), o.store.onAppend)
	}
	if err != nil {
		e.Detail = strings.TrimSpace(detail + "; undeliverable: " + err.Error())
		e.Code = 550
	}
	o.rec.add(e)
}

// sendMDN answers Disposition-Notification-To with an automatic
// "processed" MDN (RFC 8098; structure of the ANS guide, research
// mssante.md §4): text, message/disposition-notification, then the
// original message.
func (o *Operator) sendMDN(d *delivery, citizen, to string) {
	id := newMessageID(o.cfg.CitizenDomain)
	boundary := "mdn-" + randomHex(12)
	var b bytes.Buffer
	b.Grow(len(d.stored) + 4096) // one allocation, not doublings of a whole message
	fmt.Fprintf(&b, "Return-Path: <>\r\nFrom: <%s>\r\nTo: <%s>\r\n", citizen, to)
	fmt.Fprintf(&b, "Subject: Accusé de traitement : %s\r\n", strings.TrimSpace(d.header.Get("Subject")))
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: %s\r\nIn-Reply-To: %s\r\nReferences: %s\r\n", time.Now().Format(time.RFC1123Z), id, d.messageID, d.messageID)
	fmt.Fprintf(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Le message %s a été traité automatiquement par la boîte %s.\r\n\r\n", d.messageID, citizen)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/disposition-notification\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-UA: localhost; msscprobe mock\r\nOriginal-Recipient: rfc822;%s\r\nFinal-Recipient: rfc822;%s\r\n", citizen, citizen)
	fmt.Fprintf(&b, "Original-Message-ID: %s\r\nDisposition: automatic-action/MDN-sent-automatically; processed\r\n\r\n", d.messageID)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary)
	b.Write(d.stored)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	o.deliverGenerated(KindMDN, citizen, to, id, b.Bytes(), "processed, Original-Message-ID "+d.messageID)
}

// sendDSN reports failed or delivered recipients (RFC 3464) to the
// envelope sender.
func (o *Operator) sendDSN(d *delivery, failed []failure, success []rcpt) {
	if d.from == "" {
		return // never bounce a bounce
	}
	postmaster := "MAILER-DAEMON@" + o.cfg.EstablishmentDomains[0]
	id := newMessageID(o.cfg.EstablishmentDomains[0])
	boundary := "dsn-" + randomHex(12)
	subject, text := "Successful Mail Delivery Report", "Votre message a été distribué. / Your message was delivered.\r\n"
	if len(failed) > 0 {
		// The subject MES uses for its non-delivery reports (ENS v1.3 §6).
		subject, text = "Undelivered Mail Returned to Sender", "Votre message n'a pas pu être distribué. / Your message could not be delivered.\r\n"
	}
	var b bytes.Buffer
	if len(failed) > 0 && d.mailOpts.Return == smtp.DSNReturnFull {
		b.Grow(len(d.stored) + 8192) // one allocation, not doublings of a whole message
	}
	fmt.Fprintf(&b, "Return-Path: <>\r\nFrom: Mail Delivery System <%s>\r\nTo: <%s>\r\nSubject: %s\r\n", postmaster, d.from, subject)
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: %s\r\nIn-Reply-To: %s\r\nReferences: %s\r\n", time.Now().Format(time.RFC1123Z), id, d.messageID, d.messageID)
	fmt.Fprintf(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", boundary, text)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; localhost\r\n", boundary)
	if d.mailOpts.EnvelopeID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\r\n", d.mailOpts.EnvelopeID)
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	perRcpt := func(r rcpt, action, status, diag string) {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\n", r.addr)
		if r.opts.OriginalRecipient != "" {
			fmt.Fprintf(&b, "Original-Recipient: %s; %s\r\n", orDefault(strings.ToLower(string(r.opts.OriginalRecipientType)), "rfc822"), r.opts.OriginalRecipient)
		}
		fmt.Fprintf(&b, "Action: %s\r\nStatus: %s\r\n", action, status)
		if diag != "" {
			fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\r\n", diag)
		}
	}
	var to []string
	for _, f := range failed {
		ec := f.err.EnhancedCode
		perRcpt(f.rcpt, "failed", fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2]), fmt.Sprintf("%d %d.%d.%d %s", f.err.Code, ec[0], ec[1], ec[2], f.err.Message))
		to = append(to, f.addr)
	}
	for _, r := range success {
		perRcpt(r, "delivered", "2.0.0", "")
		to = append(to, r.addr)
	}
	// Full content only for failures with RET=FULL (RFC 3461 §4.3).
	if len(failed) > 0 && d.mailOpts.Return == smtp.DSNReturnFull {
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary)
		b.Write(d.stored)
	} else {
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
		b.Write(headerPart(d.stored))
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	action := "delivered"
	if len(failed) > 0 {
		action = "failed"
	}
	o.deliverGenerated(KindDSN, "", d.from, id, b.Bytes(), action+" for "+strings.Join(to, ", ")+"; original "+d.messageID)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// headerPart returns the header block of a message, final blank line
// included.
func headerPart(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+4]
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return raw[:i+2]
	}
	return raw
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newMessageID(domain string) string {
	if domain == "" {
		domain = "localhost"
	}
	return "<" + randomHex(12) + "@" + domain + ">"
}
