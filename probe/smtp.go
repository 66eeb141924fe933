package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/check"
)

// xoauth2Client is the SASL XOAUTH2 mechanism (the Pro Santé Connect mode
// of Ségur SC.MSS/CONF.07; go-sasl has only OAUTHBEARER). On failure the
// server sends a base64 JSON challenge, answered with an empty line; the
// JSON is kept for the error message (research mssante.md §2: the ANS
// formation server answers {"status":"401",...} to a stale token).
type xoauth2Client struct {
	user, token string
	serverErr   string
}

func (x *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	x.serverErr = string(challenge)
	return []byte{}, nil
}

// saslFor returns the SASL client for a mechanism; nil for certificate
// logins without SASL EXTERNAL.
func saslFor(c *credentials, external bool) (sasl.Client, string) {
	switch c.mech {
	case MechPlain:
		return sasl.NewPlainClient("", c.username, c.password), "PLAIN"
	case MechLogin:
		return sasl.NewLoginClient(c.username, c.password), "LOGIN"
	case MechXOAuth2:
		return &xoauth2Client{user: c.username, token: c.token}, "XOAUTH2"
	}
	if external {
		return sasl.NewExternalClient(c.username), "EXTERNAL"
	}
	return nil, ""
}

// smtpSession is an authenticated-or-not SMTP client over TLS.
type smtpSession struct {
	c   *smtp.Client
	raw net.Conn
}

func (ss *smtpSession) close() {
	if ss != nil {
		ss.raw.Close()
	}
}

// smtpOpen connects and greets; in implicit TLS the server greeting is read
// here, so a refusal belongs to the connection step.
func smtpOpen(ctx context.Context, s *stepRec, cn *connector, ep *Endpoint) (*smtpSession, bool) {
	d, ok := cn.open(ctx, s, ep)
	if !ok {
		return nil, false
	}
	c := smtp.NewClient(d.conn)
	c.CommandTimeout, c.SubmissionTimeout = cn.timeout, cn.timeout
	ss := &smtpSession{c: c, raw: d.raw}
	if err := bounded(ctx, cn.timeout, d.raw, func() error { return c.Hello(cn.ehloName) }); err != nil {
		ss.close()
		s.fail(RuleSMTPTCP, textf("Session SMTP refusée ou interrompue après TLS (accueil, EHLO) : %s.%s", "SMTP session refused or broken after TLS (greeting, EHLO): %s.%s", errText(err), retryHint(err)))
		return nil, false
	}
	if !s.has(RuleSMTPTCP) {
		s.pass(RuleSMTPTCP, check.Textf("Session SMTP ouverte", "SMTP session opened"))
	}
	return ss, true
}

// smtpErrText renders a server answer with its code and text.
func smtpErrText(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		s := fmt.Sprintf("%d", se.Code)
		if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
			s += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		return s + " " + se.Message
	}
	return err.Error()
}

// smtpAuth authenticates with the configured mechanism. The connection is
// always TLS by now: this package has no plaintext mode.
func smtpAuth(ctx context.Context, s *stepRec, ss *smtpSession, cr *credentials, timeout time.Duration) bool {
	ok, adv := ss.c.Extension("AUTH")
	offered := strings.Fields(strings.ToUpper(adv))
	has := func(m string) bool {
		for _, o := range offered {
			if o == m {
				return true
			}
		}
		return false
	}
	if !cr.fetchToken(ctx, s, RuleSMTPAuth, timeout) {
		return false
	}
	client, mech := saslFor(cr, has("EXTERNAL"))
	if client == nil {
		// Certificate without SASL EXTERNAL: the TLS client certificate is
		// the login, and the submission step shows whether it was accepted.
		s.skip(RuleSMTPAuthMech, check.Textf("Pas d'AUTH EXTERNAL proposé : l'authentification repose sur le certificat client TLS",
			"No AUTH EXTERNAL offered: authentication relies on the TLS client certificate"))
		s.pass(RuleSMTPAuth, check.Textf("Certificat client présenté pendant la négociation TLS", "Client certificate presented during the TLS handshake"))
		return true
	}
	if !ok || !has(mech) {
		s.fail(RuleSMTPAuthMech, check.Textf("Le serveur SMTP ne propose pas AUTH %s (il propose : %q) : changez auth.mechanism ou activez %s sur le serveur.",
			"The SMTP server does not offer AUTH %s (it offers: %q): change auth.mechanism or enable %s on the server.", mech, adv, mech))
		return false
	}
	s.pass(RuleSMTPAuthMech, check.Textf("AUTH %s proposé (%s)", "AUTH %s offered (%s)", mech, adv))
	err := bounded(ctx, timeout, ss.raw, func() error { return ss.c.Auth(client) })
	var se *smtp.SMTPError
	switch {
	case err == nil:
	case !errors.As(err, &se):
		s.fail(RuleSMTPAuth, textf("AUTH %s interrompue : %s.%s", "AUTH %s broken off: %s.%s", mech, errText(err), retryHint(err)))
		return false
	case se.Code/100 == 4:
		s.fail(RuleSMTPAuth, check.Textf("AUTH %s refusée temporairement : %s. Un code 4xx est temporaire (serveur d'authentification indisponible) : relancez dans quelques minutes.",
			"AUTH %s temporarily refused: %s. A 4xx code is temporary (authentication backend unavailable): run again in a few minutes.", mech, smtpErrText(err)))
		return false
	default:
		msg := smtpErrText(err)
		if x, isX := client.(*xoauth2Client); isX && x.serverErr != "" {
			msg += " ; " + x.serverErr
		}
		s.fail(RuleSMTPAuth, textf("Authentification %s refusée pour %s : %s. Vérifiez l'identifiant et le secret (%s).",
			"%s authentication refused for %s: %s. Check the user name and the secret (%s).", mech, cr.username, msg, secretHint(cr)))
		return false
	}
	s.pass(RuleSMTPAuth, check.Textf("Authentifié par %s en tant que %s", "Authenticated with %s as %s", mech, cr.username))
	return true
}

// secretHint names the keys holding the secret of a login.
func secretHint(c *credentials) check.Text {
	switch c.mech {
	case MechXOAuth2:
		return check.Textf("%[1]s.token_env / %[1]s.token_file ; un jeton Pro Santé Connect expire vite", "%[1]s.token_env / %[1]s.token_file; a Pro Santé Connect token expires quickly", c.key)
	case MechCertificate:
		return check.Textf("%[1]s.cert_file / %[1]s.p12_file", "%[1]s.cert_file / %[1]s.p12_file", c.key)
	}
	return check.Textf("%[1]s.password_env / %[1]s.password_file", "%[1]s.password_env / %[1]s.password_file", c.key)
}

var (
	queuedRE   = regexp.MustCompile(`(?i)(?:queued as|id=|queue id:?)\s*<?([A-Za-z0-9._@-]+)`)
	enhancedRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\s+`)
)

// queueID extracts the queue id from a DATA answer such as "2.0.0 Ok:
// queued as 4Bx1"; the whole text, without its enhanced status code, when
// the server uses another form.
func queueID(text string) string {
	if m := queuedRE.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return enhancedRE.ReplaceAllString(strings.TrimSpace(text), "")
}

// submitResult is what the server said about the message.
type submitResult struct {
	queue string
	at    time.Time // end of DATA: the reply latency starts here
}

// smtpSubmit sends MAIL, RCPT and DATA. DSN NOTIFY (RFC 3461) is requested
// when the server offers DSN; go-smtp only sends the parameters then.
func smtpSubmit(ctx context.Context, s *stepRec, ss *smtpSession, from, to, envID string, raw []byte, timeout time.Duration) (*submitResult, bool) {
	dsn, _ := ss.c.Extension("DSN")
	mailOpts := &smtp.MailOptions{}
	var rcptOpts *smtp.RcptOptions
	if dsn {
		mailOpts.Return, mailOpts.EnvelopeID = smtp.DSNReturnHeaders, envID
		rcptOpts = &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed}}
	}
	var res submitResult
	var phase string
	err := bounded(ctx, timeout, ss.raw, func() error {
		phase = "MAIL"
		if err := ss.c.Mail(from, mailOpts); err != nil {
			return err
		}
		s.pass(RuleSMTPMail, check.Textf("MAIL FROM:<%s> accepté", "MAIL FROM:<%s> accepted", from))
		phase = "RCPT"
		if err := ss.c.Rcpt(to, rcptOpts); err != nil {
			return err
		}
		s.pass(RuleSMTPRcpt, check.Textf("RCPT TO:<%s> accepté", "RCPT TO:<%s> accepted", to))
		phase = "DATA"
		w, err := ss.c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		resp, err := w.CloseWithResponse()
		if err != nil {
			return err
		}
		res.at = time.Now()
		res.queue = queueID(resp.StatusText)
		return nil
	})
	if err != nil {
		text := smtpErrText(err)
		id := map[string]string{"MAIL": RuleSMTPMail, "RCPT": RuleSMTPRcpt}[phase]
		if id == "" {
			id = RuleSMTPData
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			s.fail(id, textf("%s interrompu : %s. Le message n'a pas été accepté.%s",
				"%s broken off: %s. The message was not accepted.%s", phase, errText(err), retryHint(err)))
			return nil, false
		}
		if se.Code/100 == 4 {
			s.fail(id, check.Textf("%s refusé temporairement : %s. Un code 4xx (liste grise, surcharge) est temporaire : relancez la sonde dans quelques minutes.",
				"%s temporarily refused: %s. A 4xx code (greylisting, overload) is temporary: run the probe again in a few minutes.", phase, text))
			return nil, false
		}
		switch phase {
		case "MAIL":
			s.fail(RuleSMTPMail, check.Textf("MAIL FROM:<%s> refusé : %s. Vérifiez que establishment.address est une adresse de la boîte authentifiée et que son domaine est dans l'espace de confiance MSSanté.",
				"MAIL FROM:<%s> refused: %s. Check that establishment.address belongs to the authenticated mailbox and that its domain is in the MSSanté trust space.", from, text))
		case "RCPT":
			s.fail(RuleSMTPRcpt, check.Textf("RCPT TO:<%s> refusé : %s. Vérifiez l'adresse citoyenne (target : matricule INS de 15 caractères avec sa clé, @patient.mssante.fr).",
				"RCPT TO:<%s> refused: %s. Check the citizen address (target: 15-character INS matricule with its key, @patient.mssante.fr).", to, text))
		default:
			s.fail(RuleSMTPData, check.Textf("Message refusé (DATA) : %s. Le code et le texte du serveur disent ce qu'il reproche au message.",
				"Message refused (DATA): %s. The server's code and text say what it objects to.", text))
		}
		return nil, false
	}
	s.pass(RuleSMTPData, check.Textf("Message accepté, identifiant de file : %s", "Message accepted, queue id: %s", res.queue))
	if dsn {
		s.pass(RuleSMTPDSN, check.Textf("DSN proposé : NOTIFY=SUCCESS,FAILURE,DELAY demandé", "DSN offered: NOTIFY=SUCCESS,FAILURE,DELAY requested"))
	} else {
		s.skip(RuleSMTPDSN, check.Textf("Le serveur ne propose pas DSN : pas d'accusé de réception demandé", "The server does not offer DSN: no delivery receipt requested"))
	}
	return &res, true
}

// quit ends the session once the message is accepted; a failed QUIT
// changes nothing. The caller sends it: the probe's own submission sends it
// while the reply is awaited, so that a server slow to answer QUIT does not
// delay seeing the reply nor add to its latency.
func (ss *smtpSession) quit(ctx context.Context, timeout time.Duration) {
	bounded(ctx, timeout, ss.raw, ss.c.Quit)
}
