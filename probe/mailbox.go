package probe

import (
	"bytes"
	"context"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/msscprobe/msscprobe/check"
)

// citizenReply plays the citizen in mailbox mode: it logs into the citizen
// test mailbox, waits for the probe's message, and answers it from there
// with In-Reply-To/References, as a citizen's client would.
func (r *runner) citizenReply(ctx context.Context, s *stepRec, msg *outgoing) {
	m := r.cfg.Reply.Mailbox
	r.imapTr.note("citizen test mailbox %s", r.cfg.Target)
	var ep Endpoint
	is, ok := imapOpen(ctx, s, r.connector(imapRules, "reply.mailbox.imap", m.IMAP, r.imapTr, r.citizen), &ep)
	if !ok {
		return
	}
	defer is.logout(ctx)
	if !is.login(ctx, s, r.citizen) {
		return
	}
	until := time.Now().Add(r.cfg.Timeouts.Reply.D())
	r.opts.Observer.Waiting(check.Textf("En attente du message dans la boîte citoyenne %s…", "Waiting for the message in citizen mailbox %s…", r.cfg.Target), until)
	var got *fetched
	for {
		is.drain()
		var err error
		if got, err = is.findByMessageID(ctx, "<"+msg.messageID+">"); err != nil {
			if err = is.reconnect(ctx, s, err); err == nil {
				continue
			}
			s.fail(RuleCitizenReceived, textf("Recherche dans la boîte citoyenne impossible : %s", "Cannot search the citizen mailbox: %s", errText(err)))
			return
		}
		if got != nil || ctx.Err() != nil || !time.Now().Before(until) {
			break
		}
		if err := is.wait(ctx, until); err != nil {
			if err = is.reconnect(ctx, s, err); err == nil {
				continue
			}
			s.fail(RuleCitizenReceived, textf("Attente interrompue : %s", "Wait broken: %s", errText(err)))
			return
		}
	}
	if got == nil && ctx.Err() != nil {
		s.fail(RuleCitizenReceived, check.Textf("Attente du message interrompue", "Wait for the message interrupted"))
		return
	}
	if got == nil {
		s.fail(RuleCitizenReceived, check.Textf("Le message <%s> n'est pas arrivé dans la boîte %s en %s : vérifiez l'acheminement vers le domaine citoyen.",
			"Message <%s> did not reach mailbox %s within %s: check routing to the citizen domain.", msg.messageID, r.cfg.Target, r.cfg.Timeouts.Reply.D()))
		return
	}
	s.pass(RuleCitizenReceived, check.Textf("Message reçu dans la boîte citoyenne (UID %d)", "Message received in the citizen mailbox (UID %d)", got.uid))

	reply, err := buildCitizenReply(r.cfg, msg)
	if err != nil {
		s.fail(RuleCitizenReplied, check.Textf("Réponse impossible à construire : %v", "Cannot build the reply: %v", err))
		return
	}
	r.smtpTr.note("citizen test mailbox %s replies", r.cfg.Target)
	ss, ok := smtpOpen(ctx, s, r.connector(smtpRules, "reply.mailbox.smtp", m.SMTP, r.smtpTr, r.citizen), &ep)
	if !ok {
		return
	}
	defer ss.close()
	if !smtpAuth(ctx, s, ss, r.citizen, r.timeout()) {
		return
	}
	if _, ok := smtpSubmit(ctx, s, ss, r.cfg.Target, r.cfg.Establishment.Address, "", reply, r.timeout()); !ok {
		return
	}
	ss.quit(ctx, r.timeout())
	s.pass(RuleCitizenReplied, check.Textf("Réponse envoyée de %s à %s", "Reply sent from %s to %s", r.cfg.Target, r.cfg.Establishment.Address))
}

// buildCitizenReply answers msg from the target address.
func buildCitizenReply(cfg Config, msg *outgoing) ([]byte, error) {
	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Address: cfg.Target}})
	h.SetAddressList("To", []*mail.Address{{Address: cfg.Establishment.Address}})
	h.SetSubject("RE: " + msg.subject)
	if err := h.GenerateMessageIDWithHostname(domainOf(cfg.Target)); err != nil {
		return nil, err
	}
	h.SetMsgIDList("In-Reply-To", []string{msg.messageID})
	h.SetMsgIDList("References", []string{msg.messageID})
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	var buf bytes.Buffer
	if err := writePart(mail.CreateSingleInlineWriter(&buf, h))([]byte("Réponse de test (msscprobe, mode mailbox).\n")); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
