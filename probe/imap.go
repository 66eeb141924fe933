package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/msscprobe/msscprobe/check"
)

// pollInterval is how often the mailbox is searched when the server has no
// IDLE.
const pollInterval = 2 * time.Second

// maxFetch bounds how many new messages one scan fetches, so a busy
// mailbox cannot stall the probe.
const maxFetch = 50

// imapSession is a logged-in IMAP client with INBOX selected.
type imapSession struct {
	c       *imapclient.Client
	raw     net.Conn
	timeout time.Duration
	rules   imapAuthRules
	// newMail is signalled (never blocking) when the server reports a new
	// message count; the handler runs on the client's reader goroutine and
	// must not call the client (research tools.md §B1, go-imap #668).
	newMail chan struct{}
	uidNext imap.UID
	idle    bool

	// For reconnect: how to connect and log in again, and what was seen.
	cn          *connector
	cr          *credentials
	uidValidity uint32
	reconnected bool
}

type imapAuthRules struct{ mech, auth, inbox, idle string }

var establishmentIMAP = imapAuthRules{RuleIMAPAuthMech, RuleIMAPAuth, RuleIMAPInbox, RuleIMAPIdle}

func (is *imapSession) close() {
	if is != nil {
		is.raw.Close()
	}
}

func imapOpen(ctx context.Context, s *stepRec, cn *connector, ep *Endpoint) (*imapSession, bool) {
	d, ok := cn.open(ctx, s, ep)
	if !ok {
		return nil, false
	}
	is := &imapSession{raw: d.raw, timeout: cn.timeout, rules: establishmentIMAP, newMail: make(chan struct{}, 1), cn: cn}
	is.c = imapclient.New(d.conn, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(m *imapclient.UnilateralDataMailbox) {
				if m.NumMessages != nil {
					is.signal()
				}
			},
		},
	})
	var greetErr error
	err := bounded(ctx, cn.timeout, d.raw, func() error { greetErr = is.c.WaitGreeting(); return greetErr })
	if err != nil {
		is.close()
		s.fail(RuleIMAPTCP, textf("Session IMAP refusée ou interrompue (accueil) : %s.%s", "IMAP session refused or broken (greeting): %s.%s", errText(err), retryHint(err)))
		return nil, false
	}
	if !s.has(RuleIMAPTCP) {
		s.pass(RuleIMAPTCP, check.Textf("Session IMAP ouverte", "IMAP session opened"))
	}
	return is, true
}

func (is *imapSession) signal() {
	select {
	case is.newMail <- struct{}{}:
	default:
	}
}

// login authenticates, selects INBOX and records UIDNEXT, the first UID a
// reply can have.
func (is *imapSession) login(ctx context.Context, s *stepRec, cr *credentials) bool {
	var caps imap.CapSet
	if err := bounded(ctx, is.timeout, is.raw, func() error {
		caps = is.c.Caps()
		if caps == nil {
			return errors.New("no CAPABILITY answer")
		}
		if cr.mech == MechCertificate && !caps.Has("AUTH=EXTERNAL") {
			// Capabilities in an implicit-TLS greeting may be computed
			// before the server saw the client certificate: ask again.
			var err error
			caps, err = is.c.Capability().Wait()
			return err
		}
		return nil
	}); err != nil {
		s.fail(is.rules.mech, textf("Capacités IMAP illisibles : %s", "Cannot read IMAP capabilities: %s", errText(err)))
		return false
	}
	if !cr.fetchToken(ctx, s, is.rules.auth, is.timeout) {
		return false
	}
	client, mech := saslFor(cr, caps.Has("AUTH=EXTERNAL"))
	var run func() error
	switch {
	case cr.mech == MechLogin || (cr.mech == MechPlain && !caps.Has("AUTH=PLAIN")):
		// LOGIN command (RFC 9051 §6.2.3); the library sends it even when
		// the server forbids it, so check first (research tools.md §B1).
		if caps.Has(imap.CapLoginDisabled) {
			s.fail(is.rules.mech, check.Textf("Le serveur IMAP interdit LOGIN (LOGINDISABLED) et ne propose pas AUTH=PLAIN : changez auth.mechanism.",
				"The IMAP server forbids LOGIN (LOGINDISABLED) and offers no AUTH=PLAIN: change auth.mechanism."))
			return false
		}
		mech = "LOGIN (commande)"
		run = func() error { return is.c.Login(cr.username, cr.password).Wait() }
	case client == nil:
		if is.c.State() != imap.ConnStateAuthenticated {
			s.fail(is.rules.mech, check.Textf("Le serveur IMAP ne propose pas AUTHENTICATE EXTERNAL et n'a pas authentifié la session par le certificat client.",
				"The IMAP server offers no AUTHENTICATE EXTERNAL and did not authenticate the session by the client certificate."))
			return false
		}
		s.skip(is.rules.mech, check.Textf("Session authentifiée par le certificat client", "Session authenticated by the client certificate"))
	case !caps.Has(imap.Cap("AUTH=" + mech)):
		s.fail(is.rules.mech, check.Textf("Le serveur IMAP ne propose pas AUTH=%s : changez auth.mechanism ou activez %s sur le serveur.",
			"The IMAP server does not offer AUTH=%s: change auth.mechanism or enable %s on the server.", mech, mech))
		return false
	default:
		run = func() error { return is.c.Authenticate(client) }
	}
	if run != nil {
		s.pass(is.rules.mech, check.Textf("Mécanisme %s utilisé", "Mechanism %s used", mech))
		err := bounded(ctx, is.timeout, is.raw, run)
		var ie *imap.Error
		switch {
		case err == nil:
		case !errors.As(err, &ie):
			s.fail(is.rules.auth, textf("Authentification IMAP (%s) interrompue : %s.%s", "IMAP authentication (%s) broken off: %s.%s", mech, errText(err), retryHint(err)))
			return false
		default:
			msg := errText(err).EN
			if x, isX := client.(*xoauth2Client); isX && x.serverErr != "" {
				msg += " ; " + x.serverErr
			}
			s.fail(is.rules.auth, textf("Authentification IMAP refusée pour %s : %s. Vérifiez l'identifiant et le secret (%s).",
				"IMAP authentication refused for %s: %s. Check the user name and the secret (%s).", cr.username, msg, secretHint(cr)))
			return false
		}
		s.pass(is.rules.auth, check.Textf("Authentifié en tant que %s", "Authenticated as %s", cr.username))
	}
	var data *imap.SelectData
	if err := bounded(ctx, is.timeout, is.raw, func() error {
		var err error
		data, err = is.c.Select("INBOX", nil).Wait()
		return err
	}); err != nil {
		s.fail(is.rules.inbox, textf("Impossible d'ouvrir INBOX : %s.%s", "Cannot select INBOX: %s.%s", errText(err), retryHint(err)))
		return false
	}
	is.uidNext, is.uidValidity, is.cr = data.UIDNext, data.UIDValidity, cr
	s.pass(is.rules.inbox, check.Textf("INBOX ouverte (%d messages)", "INBOX selected (%d messages)", data.NumMessages))
	is.idle = is.c.Caps().Has(imap.CapIdle) || is.c.Caps().Has(imap.CapIMAP4rev2)
	if is.idle {
		s.pass(is.rules.idle, check.Textf("IDLE proposé : la réponse sera vue dès son arrivée", "IDLE offered: the reply is seen as soon as it arrives"))
	} else {
		s.fail(is.rules.idle, check.Textf("IDLE non proposé : la boîte sera interrogée toutes les %s", "No IDLE: the mailbox is polled every %s", pollInterval))
	}
	return true
}

// drain forgets pending new-mail signals; called before a scan, so that
// mail arriving during the scan wakes the next wait.
func (is *imapSession) drain() {
	select {
	case <-is.newMail:
	default:
	}
}

// wait blocks until the server reports new mail (IDLE) or the poll
// interval passes, or until, or ctx ends.
func (is *imapSession) wait(ctx context.Context, until time.Time) error {
	left := time.Until(until)
	if left <= 0 {
		return nil
	}
	if !is.idle {
		t := time.NewTimer(min(left, pollInterval))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return nil
	}
	var idle *imapclient.IdleCommand
	if err := bounded(ctx, is.timeout, is.raw, func() error {
		var err error
		idle, err = is.c.Idle()
		return err
	}); err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-is.newMail:
		is.signal() // keep it for drain/scan ordering
	case <-t.C:
	case <-ctx.Done():
		return nil // no DONE: the run ends, and logout closes at once
	case <-is.c.Closed():
	}
	return bounded(context.WithoutCancel(ctx), is.timeout, is.raw, func() error {
		if err := idle.Close(); err != nil {
			return fmt.Errorf("IDLE: %w", err)
		}
		if err := idle.Wait(); err != nil {
			return fmt.Errorf("IDLE: %w", err)
		}
		return nil
	})
}

// reconnect replaces a connection that broke while the probe waited (the
// server or a NAT dropped it, or it went silent): it connects, logs in and
// selects INBOX again, and goes on from the UIDNEXT recorded before, so a
// reply delivered meanwhile is still found. Servers may close idle
// sessions (RFC 9051 §5.4, after 30 minutes at least) and network devices
// drop idle connections sooner, so one drop is a warning, not a failure.
// It is done once per session, recorded as a warning on s; a second drop
// reconnects once more and falls back to polling (warning too), a drop
// while polling ends the wait; the new
// connection's own checks are kept aside. It returns why the wait cannot
// go on, nil when it can. A server's NO/BAD answer and the run's
// cancellation are returned as is.
func (is *imapSession) reconnect(ctx context.Context, s *stepRec, cause error) error {
	var es *errStep
	var ie *imap.Error
	var rf *refusal
	switch {
	// A refusal (a bound exceeded) is the server's doing: connecting again
	// would only have it send the same thing again.
	case ctx.Err() != nil, errors.As(cause, &ie), errors.As(cause, &es) && es.interrupted, errors.As(cause, &rf):
		return cause
	case is.reconnected && !is.idle:
		return &refusal{textf("connexion IMAP de nouveau coupée après la reconnexion (%s) : le serveur ou un équipement réseau coupe les connexions en attente ; voyez avec l'opérateur ou l'équipe réseau",
			"IMAP connection lost again after reconnecting (%s): the server or a network device drops waiting connections; ask the operator or the network team", errText(cause))}
	}
	is.cn.tr.note("connection lost while waiting (%s): reconnecting once", cause)
	is.close()
	scratch := &stepRec{step: &Step{}}
	n, ok := imapOpen(ctx, scratch, is.cn, &Endpoint{})
	if ok && !n.login(ctx, scratch, is.cr) {
		n.close()
		ok = false
	}
	if !ok {
		why := check.Text{}
		if i := slices.IndexFunc(scratch.step.Checks, func(c Check) bool { return c.Status == Fail }); i >= 0 {
			why = scratch.step.Checks[i].Message
		}
		return &refusal{textf("connexion IMAP coupée pendant l'attente (%s), et la reconnexion a échoué : %s",
			"IMAP connection lost while waiting (%s), and reconnecting failed: %s", errText(cause), why)}
	}
	uidNext, sameBox := is.uidNext, n.uidValidity == is.uidValidity
	again := is.reconnected
	// The new session's new-mail handler signals n.newMail, which the copy
	// shares.
	*is = *n
	is.reconnected = true
	if again {
		// IDLE dropped a second time: the server or a middlebox cuts
		// connections that wait. Short poll commands (RFC 9051 §6.1.2
		// NOOP/UID SEARCH) keep the connection busy, so the probe goes on
		// polling instead of failing; a drop while polling ends the wait.
		is.idle = false
		if sameBox {
			is.uidNext = uidNext
		}
		s.fail(RuleIMAPReconnect, textf("Connexion IMAP coupée deux fois pendant l'attente en IDLE (%s) ; reconnecté, la sonde interroge maintenant INBOX toutes les %s au lieu d'attendre en IDLE. Le serveur ou un équipement réseau coupe les connexions en attente : voyez avec l'opérateur ou l'équipe réseau.",
			"IMAP connection lost twice while waiting in IDLE (%s); reconnected, the probe now polls INBOX every %s instead of waiting in IDLE. The server or a network device drops waiting connections: ask the operator or the network team.", errText(cause), pollInterval))
		return nil
	}
	if !sameBox {
		s.fail(RuleIMAPReconnect, textf("Connexion IMAP coupée pendant l'attente (%s) ; reconnecté, mais UIDVALIDITY a changé : une réponse arrivée pendant la coupure peut être manquée.",
			"IMAP connection lost while waiting (%s); reconnected, but UIDVALIDITY changed: a reply delivered during the outage may be missed.", errText(cause)))
		return nil
	}
	is.uidNext = uidNext
	s.fail(RuleIMAPReconnect, textf("Connexion IMAP coupée pendant l'attente (%s) ; reconnecté une fois, attente reprise à partir de l'UID %d. Si cela se répète, voyez avec l'opérateur (délai d'inactivité IMAP, équipement réseau).",
		"IMAP connection lost while waiting (%s); reconnected once, waiting on from UID %d. If it happens again, ask the operator (IMAP idle timeout, network device).", errText(cause), uidNext))
	return nil
}

// fetched is one new message.
type fetched struct {
	uid      imap.UID
	raw      []byte
	received time.Time
}

// scan fetches messages with UID >= uidNext (at most maxFetch) and moves
// uidNext past them.
func (is *imapSession) scan(ctx context.Context) ([]fetched, error) {
	var out []fetched
	err := bounded(ctx, is.timeout, is.raw, func() error {
		var set imap.UIDSet
		set.AddRange(is.uidNext, 0)
		data, err := is.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("SEARCH: %w", err)
		}
		var uids []imap.UID
		for _, u := range data.AllUIDs() {
			// "n:*" also matches the last message when it is below n.
			if u >= is.uidNext && len(uids) < maxFetch {
				uids = append(uids, u)
			}
		}
		if len(uids) == 0 {
			return nil
		}
		sec := &imap.FetchItemBodySection{Peek: true}
		msgs, err := is.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			return fmt.Errorf("FETCH: %w", err)
		}
		for _, m := range msgs {
			out = append(out, fetched{uid: m.UID, raw: m.FindBodySection(sec), received: m.InternalDate})
			if m.UID >= is.uidNext {
				is.uidNext = m.UID + 1
			}
		}
		return nil
	})
	return out, err
}

// findByMessageID searches INBOX for a message by its Message-ID header.
func (is *imapSession) findByMessageID(ctx context.Context, id string) (*fetched, error) {
	var out *fetched
	err := bounded(ctx, is.timeout, is.raw, func() error {
		data, err := is.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("SEARCH: %w", err)
		}
		uids := data.AllUIDs()
		if len(uids) == 0 {
			return nil
		}
		sec := &imap.FetchItemBodySection{Peek: true}
		msgs, err := is.c.Fetch(imap.UIDSetNum(uids[0]), &imap.FetchOptions{UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			return fmt.Errorf("FETCH: %w", err)
		}
		if len(msgs) > 0 {
			out = &fetched{uid: msgs[0].UID, raw: msgs[0].FindBodySection(sec), received: msgs[0].InternalDate}
		}
		return nil
	})
	return out, err
}

func (is *imapSession) logout(ctx context.Context) {
	if is == nil {
		return
	}
	bounded(ctx, is.timeout, is.raw, func() error { return is.c.Logout().Wait() })
	is.close()
}
