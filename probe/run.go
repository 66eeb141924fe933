package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/trust"
)

// Options are the run's environment.
type Options struct {
	ToolVersion string
	// Getenv reads the secrets the configuration names (os.Getenv in the
	// CLI); nil reads nothing.
	Getenv   func(string) string
	Observer Observer
	// Now is the clock for certificate checks; nil is time.Now.
	Now func() time.Time
	// Resolver looks up server names; nil is net.DefaultResolver.
	Resolver *net.Resolver
	// Limits bounds what servers may send; zero fields are DefaultLimits.
	Limits Limits
	// Trust classifies the servers (anchors, whitelist, address classes);
	// nil is the built-in IGC-Santé anchors, system roots and whitelist
	// snapshot. Tests inject a mock PKI as IGC-Santé here, never the CLI.
	Trust *trust.Policy
	// AllowProductionINSToTestMailbox lets a document with a production
	// INS go to the auto-reply test mailbox (refused otherwise).
	AllowProductionINSToTestMailbox bool
}

// Run performs the PS 4.1 round trip. It returns a Result even when checks
// fail or the run is cancelled (Interrupted is then set); the error is only
// for what prevents running at all (invalid configuration, unreadable
// secrets or trust roots).
func Run(ctx context.Context, cfg Config, opts Options) (*Result, error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if err := cfg.Validate(opts.Getenv); err != nil {
		return nil, err
	}
	extra, err := loadRoots(cfg)
	if err != nil {
		return nil, err
	}
	policy := trust.Policy{}
	if opts.Trust != nil {
		policy = *opts.Trust
	}
	if policy.Anchors == nil {
		policy.Anchors = trust.Default()
	}
	// trust.ca_file adds roots to the IGC-Santé anchors and the system's.
	policy.Anchors = policy.Anchors.WithExtra(extra...)
	creds, err := loadCredentials(cfg, "auth", cfg.Auth, opts.Getenv)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, opts: opts, anchors: policy.Anchors, policy: &policy, creds: creds}
	if m := cfg.Reply.Mailbox; cfg.Reply.Mode == ReplyMailbox {
		if r.citizen, err = loadCredentials(cfg, "reply.mailbox.auth", m.Auth, opts.Getenv); err != nil {
			return nil, err
		}
	}
	plan, err := r.preflightAttachment()
	if err != nil {
		return nil, err
	}
	r.run(ctx, plan)
	return r.res, nil
}

// preflightAttachment reads and checks the attachment before anything is
// sent, and refuses real patient data for the test mailbox: the auto-reply
// mailbox is a shared test facility, not a patient's.
func (r *runner) preflightAttachment() (*attachmentPlan, error) {
	cfg := r.cfg
	if cfg.Attach == "" {
		return nil, nil
	}
	data, err := os.ReadFile(cfg.Path(cfg.Attach))
	if err != nil {
		return nil, cfg.keyError("attach", "%v", "%v", unwrapPathError(err))
	}
	plan, err := checkAttachment(cfg.Path(cfg.Attach), data, cfg.Establishment, r.opts.ToolVersion, time.Now())
	if err != nil {
		return nil, cfg.keyError("attach", "inutilisable : %v. Corrigez le document (msscprobe cda check %s) ou retirez attach", "unusable: %v. Fix the document (msscprobe cda check %s) or remove attach", err, cfg.Attach)
	}
	if ins := productionINS(plan.report); ins != "" && strings.EqualFold(cfg.Target, DefaultTarget) && !r.opts.AllowProductionINSToTestMailbox {
		return nil, cfg.keyError("attach", "%s porte un INS de production (OID %s, un vrai patient) et target est la boîte de réponse automatique de test %s : "+
			"utilisez un document avec un INS de test (OID 1.2.250.1.213.1.4.10), ou, seulement si le patient est d'accord, --allow-production-ins-to-test-mailbox",
			"%s carries a production INS (OID %s, a real patient) and target is the auto-reply test mailbox %s: "+
				"use a document with a test INS (OID 1.2.250.1.213.1.4.10), or, only if the patient agreed, --allow-production-ins-to-test-mailbox", cfg.Attach, ins, DefaultTarget)
	}
	return plan, nil
}

// productionINS returns the OID of the first production INS (.8 NIR, .9
// NIA) in rep, "" when none.
func productionINS(rep *cda.Report) string {
	if rep == nil {
		return ""
	}
	for _, d := range rep.Documents {
		if d.INS == nil {
			continue
		}
		if k, ok := cda.KindOf(d.INS.OID); ok && !k.Fictitious() {
			return d.INS.OID
		}
	}
	return ""
}

type runner struct {
	cfg     Config
	opts    Options
	anchors *trust.Anchors // IGC-Santé, trust.ca_file and system roots
	policy  *trust.Policy
	creds   *credentials
	citizen *credentials
	res     *Result
	smtpTr  *transcript
	imapTr  *transcript
	failed  string // first step whose failure stops the dependent ones
	budget  stepBudget
}

func (r *runner) run(ctx context.Context, plan *attachmentPlan) {
	start := time.Now()
	r.res = &Result{
		Schema:      SchemaVersion,
		ToolVersion: r.opts.ToolVersion,
		Establishment: Establishment{
			Name: r.cfg.Establishment.Name, FINESS: r.cfg.Establishment.FINESS, Address: r.cfg.Establishment.Address,
		},
		Target:        r.cfg.Target,
		ReplyMode:     r.cfg.Reply.Mode,
		AuthMechanism: r.cfg.Auth.Mechanism,
		Started:       start,
	}
	r.smtpTr, r.imapTr = newTranscript(false, start), newTranscript(true, start)
	r.imapTr.secrets = r.smtpTr.secrets // registered once, scrubbed everywhere (step messages too)
	for _, c := range []*credentials{r.creds, r.citizen} {
		if c != nil {
			c.scrub = r.smtpTr.addSecret
			for _, s := range c.secrets() {
				r.smtpTr.addSecret(s)
			}
		}
	}
	defer func() {
		r.res.Finished = time.Now()
		r.res.SMTPTranscript = r.smtpTr.Bytes()
		r.res.IMAPTranscript = r.imapTr.Bytes()
		if ctx.Err() != nil {
			r.res.Interrupted = true
		}
	}()

	var msg *outgoing
	msgOK := r.step(ctx, StepMessage, nil, func(s *stepRec) {
		msg = r.buildMessage(s, plan)
	})

	var smtpS *smtpSession
	defer func() { smtpS.close() }()
	// Nothing is sent, not even a login, unless the message is ready.
	smtpOK := r.stepIf(ctx, msgOK, StepSMTPConnect, []string{"transcripts/smtp.log", "tls/smtp-chain.pem"}, func(s *stepRec) {
		smtpS, _ = smtpOpen(ctx, s, r.classified(r.connector(smtpRules, "smtp", r.cfg.SMTP, r.smtpTr, r.creds)), &r.res.SMTP)
	})
	smtpOK = smtpOK && r.step(ctx, StepSMTPAuth, []string{"transcripts/smtp.log"}, func(s *stepRec) {
		smtpAuth(ctx, s, smtpS, r.creds, r.timeout())
	})

	var imapS *imapSession
	defer func() { imapS.close() }()
	imapOK := r.stepIf(ctx, msgOK, StepIMAPConnect, []string{"transcripts/imap.log", "tls/imap-chain.pem"}, func(s *stepRec) {
		imapS, _ = imapOpen(ctx, s, r.classified(r.connector(imapRules, "imap", r.cfg.IMAP, r.imapTr, r.creds)), &r.res.IMAP)
	})
	imapOK = imapOK && r.step(ctx, StepIMAPAuth, []string{"transcripts/imap.log"}, func(s *stepRec) {
		imapS.login(ctx, s, r.creds)
	})

	var sent *submitResult
	sentOK := r.stepIf(ctx, msgOK && smtpOK, StepSubmit, []string{"transcripts/smtp.log", "messages/sent.eml"}, func(s *stepRec) {
		sent, _ = smtpSubmit(ctx, s, smtpS, r.cfg.Establishment.Address, r.cfg.Target, r.res.Token, msg.raw, r.timeout())
		if sent != nil {
			r.res.QueueID, r.res.Sent = sent.queue, sent.at
		}
	})
	// QUIT goes beside the wait for the reply: the latency runs from the
	// end of DATA to the reply being seen, and a server slow to answer QUIT
	// (RFC 5321 §4.1.1.10) must not hold back the first look at INBOX.
	quitDone := make(chan struct{})
	if sent != nil {
		go func(ss *smtpSession) { defer close(quitDone); ss.quit(ctx, r.timeout()) }(smtpS)
	} else {
		close(quitDone)
	}
	endSMTP := func() { <-quitDone; smtpS.close() }

	if r.cfg.Reply.Mode == ReplyMailbox {
		endSMTP() // the citizen's reply writes to the same SMTP transcript
		sentOK = r.stepIf(ctx, sentOK, StepCitizenReply, []string{"transcripts/smtp.log", "transcripts/imap.log"}, func(s *stepRec) {
			r.citizenReply(ctx, s, msg)
		})
	}
	r.stepIf(ctx, sentOK && imapOK, StepReception, []string{"transcripts/imap.log", "messages/reply.eml"}, func(s *stepRec) {
		r.receive(ctx, s, imapS, msg, sent)
	})
	endSMTP()
	imapS.logout(ctx)
	r.verdict(ctx)
}

func (r *runner) timeout() time.Duration { return r.cfg.Timeouts.Step.D() }

func (r *runner) connector(rules protoRules, key string, srv Server, tr *transcript, cr *credentials) *connector {
	cfg := &tls.Config{}
	if cr.cert != nil {
		cfg.Certificates = []tls.Certificate{*cr.cert}
	}
	return &connector{
		rules: rules, srv: srv, tlsConfig: cfg, anchors: r.anchors, tr: tr, timeout: r.timeout(),
		ehloName: domainOf(r.cfg.Establishment.Address), mailFrom: r.cfg.Establishment.Address, now: r.opts.Now, key: key, resolver: r.opts.Resolver,
		limits: r.opts.Limits, budget: &r.budget,
	}
}

// step runs fn as one step, unless the run was interrupted.
func (r *runner) step(ctx context.Context, id string, evidence []string, fn func(*stepRec)) bool {
	return r.stepIf(ctx, true, id, evidence, fn)
}

// stepIf runs fn as step id when cond holds; otherwise the step is
// recorded as skipped, saying why. It returns whether the step passed
// (warnings allowed).
func (r *runner) stepIf(ctx context.Context, cond bool, id string, evidence []string, fn func(*stepRec)) bool {
	st := Step{ID: id, Title: stepTitles[id], Started: time.Now()}
	s := &stepRec{step: &st, evidence: evidence}
	r.opts.Observer.StepStarted(st)
	switch {
	case ctx.Err() != nil:
		s.skip(RuleNotRun, check.Textf("Non exécutée : exécution interrompue", "Not run: the run was interrupted"))
	case !cond:
		s.skip(RuleNotRun, check.Textf("Non exécutée : une étape précédente a échoué (%s)", "Not run: an earlier step failed (%s)", r.failed))
	default:
		r.budget.start()
		fn(s)
		r.budget.report(s)
		if ctx.Err() != nil && s.ok() {
			s.add(RuleNotRun, Fail, check.Textf("Étape interrompue", "Step interrupted"))
		}
	}
	st.Duration = time.Since(st.Started)
	st.Status = worst(st.Checks)
	// Messages quote server answers, which may echo what we sent.
	for i := range st.Checks {
		m := &st.Checks[i].Message
		m.FR, m.EN = r.smtpTr.scrub(m.FR), r.smtpTr.scrub(m.EN)
	}
	if st.Status == Fail && r.failed == "" {
		r.failed = id
	}
	r.res.Steps = append(r.res.Steps, st)
	r.opts.Observer.StepFinished(st)
	return cond && ctx.Err() == nil && st.Status != Fail
}

func (r *runner) buildMessage(s *stepRec, plan *attachmentPlan) *outgoing {
	token, err := newToken()
	if err != nil {
		s.fail(RuleMessage, check.Textf("Jeton aléatoire impossible : %v", "Cannot draw a random token: %v", err))
		return nil
	}
	r.res.Token = token
	now := time.Now()
	if plan != nil {
		r.res.Attachment, r.res.Document = plan.info, plan.report
		s.pass(RuleAttachment, check.Textf("%s joint (%d octets) ; X-MSS-CODECDA: %s", "%s attached (%d bytes); X-MSS-CODECDA: %s", XDMName, len(plan.zip), plan.codeCDA))
		if plan.ins == "O" {
			s.pass(RuleINS, check.Textf("X-MSS-INS: O (INS qualifié)", "X-MSS-INS: O (qualified INS)"))
		} else {
			s.fail(RuleINS, check.Textf("X-MSS-INS: N : le document n'a pas d'INS qualifié ; le destinataire ne pourra pas l'intégrer automatiquement (voir msscprobe cda check).",
				"X-MSS-INS: N: the document has no qualified INS; the receiver cannot file it automatically (see msscprobe cda check)."))
		}
		if oid := productionINS(plan.report); oid != "" && strings.EqualFold(r.cfg.Target, DefaultTarget) {
			s.fail(RuleTestMailboxINS, check.Textf("Document à INS de production (OID %s) envoyé à la boîte de test %s : autorisé par --allow-production-ins-to-test-mailbox",
				"Document with a production INS (OID %s) sent to test mailbox %s: allowed by --allow-production-ins-to-test-mailbox", oid, DefaultTarget))
		} else {
			s.pass(RuleTestMailboxINS, check.Textf("Pas d'INS de production vers la boîte de test", "No production INS to the test mailbox"))
		}
	}
	msg, err := buildMessage(r.cfg, token, now, plan)
	if err != nil {
		s.fail(RuleMessage, check.Textf("Message impossible à construire : %v", "Cannot build the message: %v", err))
		return nil
	}
	r.res.MessageID = msg.messageID
	r.res.Messages = append(r.res.Messages, Message{Kind: KindSent, MessageID: msg.messageID, From: r.cfg.Establishment.Address, Subject: msg.subject, Raw: msg.raw})
	var hs []string
	for _, k := range []string{hdrNIL, hdrCodeCDA, hdrINS, "Disposition-Notification-To"} {
		if v, ok := msg.headers[k]; ok {
			hs = append(hs, k+": "+v)
		}
	}
	s.pass(RuleMessage, check.Textf("Message-ID <%s>, objet « %s », %s", "Message-ID <%s>, subject %q, %s", msg.messageID, msg.subject, strings.Join(hs, ", ")))
	return msg
}

func baseName(p string) string { return p[strings.LastIndexAny(p, `/\`)+1:] }

// receive waits for the correlated reply on the establishment's INBOX.
func (r *runner) receive(ctx context.Context, s *stepRec, is *imapSession, msg *outgoing, sent *submitResult) {
	until := time.Now().Add(r.cfg.Timeouts.Reply.D())
	r.opts.Observer.Waiting(r.waitingText(), until)
	var reports []check.Text
	for {
		is.drain()
		news, err := is.scan(ctx)
		if err != nil {
			if err = is.reconnect(ctx, s, err); err != nil {
				s.fail(RuleReply, textf("Lecture de INBOX impossible pendant l'attente : %s", "Cannot read INBOX while waiting: %s", errText(err)))
				return
			}
			continue
		}
		// Every message of the batch is classified before any verdict: a
		// DSN or MDN fetched together with the reply, after it, still
		// counts for RCV-005 and goes into the evidence (RFC 3464, RFC 8098).
		var first *incoming // the reply or the bounce, whichever came first
		for _, f := range news {
			in := classify(f.raw, msg.messageID, r.res.Token)
			if in.correlation == "" || in.messageID == msg.messageID {
				continue
			}
			r.res.Messages = append(r.res.Messages, Message{Kind: in.kind, MessageID: in.messageID, From: in.from, Subject: in.subject, Received: f.received, Raw: f.raw})
			switch in.kind {
			case KindDSN, KindMDN:
				reports = append(reports, ackText(&in))
				continue
			}
			if first == nil {
				first = &in
				if in.kind != KindBounce {
					r.res.ReplyLatency = time.Since(sent.at)
				}
			}
		}
		if in := first; in != nil {
			if in.kind == KindBounce {
				s.fail(RuleReply, check.Textf("Pas de réponse : un avis de non-remise est revenu à la place", "No reply: a non-delivery report came back instead"))
				s.fail(RuleNoBounce, check.Textf("Avis de non-remise de %s : « %s » %s. Vérifiez l'adresse citoyenne et que la messagerie du patient est ouverte.",
					"Non-delivery report from %s: %q %s. Check the citizen address and that the patient's messaging is open.", in.from, in.subject, in.detail))
				r.reportsCheck(s, reports)
				return
			}
			s.pass(RuleReply, check.Textf("Réponse reçue de %s en %s : « %s »", "Reply received from %s in %s: %q", in.from, r.res.ReplyLatency.Round(time.Millisecond), in.subject))
			if in.correlation == corrHeader {
				s.pass(RuleCorrelation, check.Textf("In-Reply-To/References citent <%s>", "In-Reply-To/References name <%s>", msg.messageID))
			} else {
				s.fail(RuleCorrelation, check.Textf("La réponse ne cite pas <%s> dans In-Reply-To/References ; reliée seulement par le jeton %s. Le client qui répond doit conserver ces en-têtes.",
					"The reply does not name <%s> in In-Reply-To/References; linked only by token %s. The replying client must keep these headers.", msg.messageID, r.res.Token))
			}
			if want := domainOf(r.cfg.Target); domainOf(in.from) == want {
				s.pass(RuleReplyDomain, check.Textf("Expéditeur %s, domaine %s", "Sender %s, domain %s", in.from, want))
			} else {
				s.fail(RuleReplyDomain, check.Textf("La réponse vient de %s, pas du domaine %s de l'adresse citoyenne.",
					"The reply comes from %s, not from the citizen address's domain %s.", in.from, want))
			}
			s.pass(RuleNoBounce, check.Textf("Aucun avis de non-remise", "No non-delivery report"))
			r.reportsCheck(s, reports)
			return
		}
		if ctx.Err() != nil {
			s.fail(RuleReply, check.Textf("Attente de la réponse interrompue", "Wait for the reply interrupted"))
			return
		}
		if !time.Now().Before(until) {
			hint := r.noReplyHint()
			s.fail(RuleReply, check.Text{
				FR: fmt.Sprintf("Aucune réponse corrélée en %s. %s", r.cfg.Timeouts.Reply.D(), hint.FR),
				EN: fmt.Sprintf("No correlated reply within %s. %s", r.cfg.Timeouts.Reply.D(), hint.EN)})
			s.pass(RuleNoBounce, check.Textf("Aucun avis de non-remise reçu", "No non-delivery report received"))
			r.reportsCheck(s, reports)
			return
		}
		if err := is.wait(ctx, until); err != nil {
			if err = is.reconnect(ctx, s, err); err != nil {
				s.fail(RuleReply, textf("Attente de la réponse interrompue : %s", "Wait for the reply broken: %s", errText(err)))
				return
			}
		}
	}
}

func (r *runner) reportsCheck(s *stepRec, reports []check.Text) {
	if len(reports) == 0 {
		s.skip(RuleReports, check.Textf("Aucun accusé (DSN/MDN) reçu", "No acknowledgement (DSN/MDN) received"))
		return
	}
	s.pass(RuleReports, check.Textf("Accusés reçus : %s", "Acknowledgements received: %s", check.JoinTexts(reports)))
}

// dsnActionFR and mdnTypeFR say in French the DSN Action (RFC 3464 §2.3.3)
// and the MDN disposition type (RFC 8098 §3.2.6); other values stay as sent.
var (
	dsnActionFR = map[string]string{"delivered": "remis", "relayed": "relayé", "expanded": "remis à une liste", "delayed": "retardé", "failed": "en échec"}
	mdnTypeFR   = map[string]string{"displayed": "affiché", "processed": "traité", "deleted": "supprimé", "dispatched": "transmis", "denied": "refusé", "failed": "en échec"}
)

// ackText describes a DSN or MDN in both languages; the English keeps the
// report's own words.
func ackText(in *incoming) check.Text {
	en := fmt.Sprintf("%s %s (%s)", strings.ToUpper(in.kind), in.detail, in.from)
	fr := en
	switch in.kind {
	case KindDSN:
		action, rest, _ := strings.Cut(in.detail, ":")
		if w, ok := dsnActionFR[strings.ToLower(strings.TrimSpace(action))]; ok {
			if rest != "" {
				w += " :" + rest
			}
			fr = fmt.Sprintf("DSN %s (%s)", w, in.from)
		}
	case KindMDN:
		mode, typ, _ := strings.Cut(in.detail, ";")
		typ, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(typ)), "/")
		if w, ok := mdnTypeFR[typ]; ok {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(mode)), "automatic-action") {
				w += " automatiquement"
			}
			fr = fmt.Sprintf("MDN %s (%s)", w, in.from)
		}
	}
	return check.Text{FR: fr, EN: en}
}

func (r *runner) waitingText() check.Text {
	switch r.cfg.Reply.Mode {
	case ReplyManual:
		return check.Textf("Répondez maintenant, depuis la boîte %s, au message « %s » reçu par %s (sans changer l'objet). En attente de la réponse…",
			"Now reply, from mailbox %s, to the message %q received by %s (keep the subject). Waiting for the reply…",
			r.cfg.Target, r.res.Messages[0].Subject, r.cfg.Target)
	case ReplyMailbox:
		return check.Textf("En attente de la réponse de la boîte citoyenne de test %s…", "Waiting for the reply of citizen test mailbox %s…", r.cfg.Target)
	}
	return check.Textf("En attente de la réponse automatique de %s…", "Waiting for the automatic reply from %s…", r.cfg.Target)
}

func (r *runner) noReplyHint() check.Text {
	switch r.cfg.Reply.Mode {
	case ReplyManual:
		return check.Text{FR: "Personne n'a répondu depuis la boîte citoyenne : relancez et répondez pendant l'attente (timeouts.reply).",
			EN: "Nobody replied from the citizen mailbox: run again and reply while the probe waits (timeouts.reply)."}
	case ReplyMailbox:
		return check.Text{FR: "La réponse envoyée depuis la boîte citoyenne n'est pas arrivée : vérifiez le routage du domaine citoyen vers l'établissement.",
			EN: "The reply sent from the citizen mailbox did not arrive: check routing from the citizen domain to the establishment."}
	}
	return check.Text{FR: "Le répondeur de test n'a pas répondu : vérifiez que target est bien la boîte de réponse automatique et que l'opérateur achemine les réponses vers l'adresse de l'établissement.",
		EN: "The test auto-responder did not answer: check that target is the auto-reply mailbox and that the operator routes replies to the establishment's address."}
}

// verdict: PS 4.1 is met only when the message was accepted and a
// correlated reply came back, with no failing check on the way.
func (r *runner) verdict(ctx context.Context) {
	st := Step{ID: StepVerdict, Title: stepTitles[StepVerdict], Started: time.Now()}
	s := &stepRec{step: &st}
	replied := false
	for _, step := range r.res.Steps {
		for _, c := range step.Checks {
			if c.ID == RuleReply && c.Status == Pass {
				replied = true
			}
		}
	}
	var failedSteps []string
	for _, step := range r.res.Steps {
		if step.Status == Fail {
			failedSteps = append(failedSteps, step.ID)
		}
	}
	switch {
	case ctx.Err() != nil:
		s.fail(RuleVerdict, check.Textf("PS 4.1 non atteint : exécution interrompue avant la fin", "PS 4.1 not met: the run was interrupted"))
	case replied && len(failedSteps) == 0:
		r.res.Met = true
		s.pass(RuleVerdict, check.Textf("PS 4.1 atteint : message accepté (file %s) et réponse corrélée reçue en %s",
			"PS 4.1 met: message accepted (queue %s) and correlated reply received in %s", r.res.QueueID, r.res.ReplyLatency.Round(time.Millisecond)))
	case len(failedSteps) > 0:
		s.fail(RuleVerdict, check.Textf("PS 4.1 non atteint : échec à l'étape %s", "PS 4.1 not met: failure at step %s", strings.Join(failedSteps, ", ")))
	default:
		s.fail(RuleVerdict, check.Textf("PS 4.1 non atteint : aucune réponse corrélée", "PS 4.1 not met: no correlated reply"))
	}
	r.environment(s)
	st.Status = worst(st.Checks)
	r.res.Steps = append(r.res.Steps, st)
	r.opts.Observer.StepStarted(st)
	r.opts.Observer.StepFinished(st)
}
