package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/trust"
)

// expiryWarning is the remaining certificate lifetime under which the
// expiry check warns, early enough to renew an IGC Santé server certificate.
const expiryWarning = 30 * 24 * time.Hour

// protoRules names the connection checks of one protocol.
type protoRules struct {
	name                                    string // "SMTP" or "IMAP"
	dns, tcp, startTLS, version, chain, exp string
	limits                                  string // the rule a server breaks by exceeding Limits
}

var (
	smtpRules = protoRules{"SMTP", RuleSMTPDNS, RuleSMTPTCP, RuleSMTPStartTLS, RuleSMTPTLSVersion, RuleSMTPChain, RuleSMTPExpiry, RuleSMTPLimits}
	imapRules = protoRules{"IMAP", RuleIMAPDNS, RuleIMAPTCP, RuleIMAPStartTLS, RuleIMAPTLSVersion, RuleIMAPChain, RuleIMAPExpiry, RuleIMAPLimits}
)

// errStep is returned by bounded operations that the step deadline or the
// run's cancellation cut short; its text says which.
type errStep struct {
	timeout     time.Duration
	interrupted bool
}

func (e *errStep) Error() string { return e.text().EN }

func (e *errStep) text() check.Text {
	if e.interrupted {
		return check.Text{FR: "exécution interrompue", EN: "interrupted"}
	}
	return check.Textf("pas de réponse en %s (timeouts.step)", "no answer within %s (timeouts.step)", e.timeout)
}

// refusal is a server answer or behaviour that ends a session, with a
// message that says what to fix.
type refusal struct{ msg check.Text }

func (r *refusal) Error() string { return r.msg.EN }

// errText renders an error for a check message in both languages: our own
// deadline and cancellation, the server closing the connection, and SMTP
// answers with their code.
func errText(err error) check.Text {
	var es *errStep
	var rf *refusal
	switch {
	case errors.As(err, &es):
		return es.text()
	case errors.As(err, &rf):
		return rf.msg
	case closedByPeer(err):
		return check.Text{FR: "le serveur a fermé la connexion", EN: "the server closed the connection"}
	}
	msg := strings.TrimPrefix(smtpErrText(err), "imap: ")
	return check.Text{FR: msg, EN: msg}
}

// retryHint is what to do after a server stopped answering or went away;
// nothing for a cancelled run or a server's explicit answer.
func retryHint(err error) check.Text {
	var es *errStep
	if errors.As(err, &es) && es.interrupted {
		return check.Text{}
	}
	switch {
	case errors.As(err, &es):
		return check.Text{FR: " Relancez ; si cela se répète, voyez avec l'opérateur (ou augmentez timeouts.step).",
			EN: " Run again; if it happens again, ask the operator (or raise timeouts.step)."}
	case closedByPeer(err):
		return check.Text{FR: " Relancez ; si cela se répète, voyez avec l'opérateur.", EN: " Run again; if it happens again, ask the operator."}
	}
	return check.Text{}
}

// closedByPeer reports whether err means the server went away. A closed
// connection that bounded did not close (it returns *errStep then) was
// closed by the client library after the server's end of stream.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// bounded runs fn under the step deadline. go-smtp and imapclient take no
// context (research tools.md §B1, §B3), so when the deadline passes or the
// run is cancelled the connection is closed, which unblocks them; the
// connection is then unusable, and the error says why.
func bounded(ctx context.Context, d time.Duration, c io.Closer, fn func() error) error {
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	stop := context.AfterFunc(sctx, func() { c.Close() })
	err := fn()
	if r := tripped(c); r != nil {
		// A guard closed the connection: say which bound, not "closed".
		stop()
		return r
	}
	var ne net.Error
	if !stop() || (errors.As(err, &ne) && ne.Timeout()) {
		// Closed by us, or the library's own read deadline (go-smtp
		// CommandTimeout, set to the same value) fired first.
		return &errStep{timeout: d, interrupted: ctx.Err() != nil}
	}
	return err
}

// dialResult is a connection ready for a client library.
type dialResult struct {
	conn  net.Conn // plaintext side, recorded; greeting replayed after STARTTLS
	raw   net.Conn // the TCP connection, to close on cancellation
	state tls.ConnectionState
}

// connector opens connections with the checks of one protocol.
type connector struct {
	rules     protoRules
	srv       Server
	tlsConfig *tls.Config    // RootCAs, client certificate; ServerName set per server
	anchors   *trust.Anchors // what server chains must end at
	// classify, when set, records the server's classification once its
	// certificate is seen (verified: the chain check passed); false
	// refuses the server (a revoked certificate).
	classify func(ctx context.Context, s *stepRec, ep *Endpoint, st tls.ConnectionState, name string, verified bool) bool
	tr       *transcript
	timeout  time.Duration
	ehloName string
	mailFrom string // for the cleartext MAIL test (SMTP STARTTLS only)
	now      func() time.Time
	// key is the configuration key of the server ("smtp",
	// "reply.mailbox.imap"), named in what-to-fix messages.
	key      string
	resolver *net.Resolver
	limits   Limits      // what the server may send (zero: DefaultLimits)
	budget   *stepBudget // the running step's byte count, shared by its connections
}

// resolve is the DNS check. An IP literal needs no resolution.
func (cn *connector) resolve(ctx context.Context, s *stepRec) ([]string, bool) {
	host := cn.srv.Host
	if ip := net.ParseIP(host); ip != nil {
		s.pass(cn.rules.dns, check.Textf("%s est une adresse IP : pas de résolution DNS", "%s is an IP address: no DNS lookup", host))
		return []string{host}, true
	}
	lctx, cancel := context.WithTimeout(ctx, cn.timeout)
	defer cancel()
	addrs, err := cn.resolver.LookupHost(lctx, host)
	if err != nil {
		s.fail(cn.rules.dns, check.Textf("Le nom %s ne se résout pas (%v) : vérifiez %s.host et la configuration DNS.",
			"Host name %s does not resolve (%v): check %s.host and DNS.", host, err, cn.key))
		return nil, false
	}
	s.pass(cn.rules.dns, check.Textf("%s → %s", "%s → %s", host, strings.Join(addrs, ", ")))
	return addrs, true
}

// dialTCP tries each address in turn.
func (cn *connector) dialTCP(ctx context.Context, addrs []string) (net.Conn, error) {
	var errs []error
	for _, a := range addrs {
		dctx, cancel := context.WithTimeout(ctx, cn.timeout)
		c, err := (&net.Dialer{}).DialContext(dctx, "tcp", net.JoinHostPort(a, strconv.Itoa(cn.srv.Port)))
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, &errStep{interrupted: true}
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// open runs DNS, TCP, STARTTLS (or implicit TLS) and the TLS checks, and
// returns a connection on which only TLS-protected bytes flow from now on.
func (cn *connector) open(ctx context.Context, s *stepRec, ep *Endpoint) (*dialResult, bool) {
	ep.Host, ep.Port, ep.TLS = cn.srv.Host, cn.srv.Port, cn.srv.TLS
	addrs, ok := cn.resolve(ctx, s)
	if !ok {
		return nil, false
	}
	tcp, err := cn.dialTCP(ctx, addrs)
	if err != nil {
		s.fail(cn.rules.tcp, check.Textf("Connexion TCP à %s:%d impossible (%v) : vérifiez %s.port, le pare-feu et que le service écoute.",
			"Cannot connect to %s:%d over TCP (%v): check %s.port, firewalls, and that the service listens.",
			cn.srv.Host, cn.srv.Port, err, cn.key))
		return nil, false
	}
	raw := &tcpConn{Conn: tcp}
	ep.Addr = raw.RemoteAddr().String()
	cn.tr.note("connection to %s (%s)", ep.Addr, cn.srv.TLS)
	if cn.rules.name == "SMTP" && cn.srv.TLS == TLSStartTLS {
		// After the session, secured or not, and only if the server
		// greeted it: a server that does not answer costs one step
		// deadline, not two.
		defer func() {
			if i := slices.IndexFunc(s.step.Checks, func(c Check) bool { return c.ID == cn.rules.tcp }); i >= 0 && s.step.Checks[i].Status == Pass {
				cn.cleartextMail(ctx, s, addrs)
			} else {
				s.skip(RuleSMTPCleartext, check.Textf("Test MAIL FROM en clair non fait : pas de session SMTP", "Cleartext MAIL FROM test not run: no SMTP session"))
			}
		}()
	}
	rec := recConn{Conn: raw, t: cn.tr}
	if cn.srv.TLS == TLSStartTLS {
		var cmd string
		var heard, implicit atomic.Bool
		done := make(chan struct{})
		go cn.watchImplicitTLS(ctx, raw, &heard, &implicit, done)
		err := bounded(ctx, cn.timeout, raw, func() error { return cn.startTLS(heardConn{rec, &heard}, s, &cmd) })
		close(done)
		if err != nil {
			raw.Close()
			if implicit.Load() {
				s.fail(cn.rules.tcp, check.Textf("Le port %d ne dit rien en clair mais répond à une négociation TLS : il est en TLS implicite, pas en STARTTLS. Mettez %s.tls: implicit (ou utilisez le port STARTTLS %d).",
					"Port %d says nothing in plaintext but answers a TLS handshake: it uses implicit TLS, not STARTTLS. Set %s.tls: implicit (or use the STARTTLS port %d).",
					cn.srv.Port, cn.key, map[string]int{"SMTP": 587, "IMAP": 143}[cn.rules.name]))
				return nil, false
			}
			cn.preambleFailed(s, cmd, err)
			return nil, false
		}
	} else {
		// The greeting comes after TLS: smtpOpen/imapOpen replace this
		// check if it is refused.
		s.pass(cn.rules.tcp, check.Textf("Connecté à %s", "Connected to %s", ep.Addr))
	}
	cfg := cn.tlsConfig.Clone()
	cfg.ServerName = cn.srv.ServerName
	if cfg.ServerName == "" {
		cfg.ServerName = cn.srv.Host
	}
	// Verification is done below, after the handshake, so that the chain is
	// recorded even when it is invalid; nothing is sent before it passes.
	cfg.InsecureSkipVerify = true
	cfg.MinVersion = tls.VersionTLS12 // Ségur SC.MSS/CONF.01
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, cn.timeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		cn.handshakeFailed(ctx, s, err)
		return nil, false
	}
	st := tc.ConnectionState()
	ep.TLSVersion, ep.CipherSuite = tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
	for _, c := range st.PeerCertificates {
		ep.PeerChain = append(ep.PeerChain, c.Raw)
	}
	cn.tr.note("TLS established: %s, %s, server certificate %q", ep.TLSVersion, ep.CipherSuite, subjectOf(st))
	if cn.srv.TLS == TLSStartTLS {
		s.pass(cn.rules.startTLS, check.Textf("STARTTLS proposé et utilisé avant toute autre commande", "STARTTLS offered and used before any other command"))
	} else {
		s.pass(cn.rules.startTLS, check.Textf("TLS implicite dès la connexion", "Implicit TLS from the first byte"))
	}
	s.pass(cn.rules.version, check.Textf("%s négocié (%s)", "%s negotiated (%s)", ep.TLSVersion, ep.CipherSuite))
	ok = cn.verifyChain(s, st, cfg.ServerName)
	if cn.classify != nil && len(st.PeerCertificates) > 0 && !cn.classify(ctx, s, ep, st, cfg.ServerName, ok) {
		ok = false
	}
	if !ok {
		raw.Close()
		return nil, false
	}

	// The guard sits under the recorder: bytes past a bound reach neither
	// the transcript nor the client library.
	conn := net.Conn(recConn{Conn: cn.guard(tc, raw), t: cn.tr})
	if cn.srv.TLS == TLSStartTLS {
		if cn.rules.name == "SMTP" {
			conn = withGreeting(conn, "220 msscprobe STARTTLS done\r\n")
		} else {
			conn = withGreeting(conn, "* OK msscprobe STARTTLS done\r\n")
		}
	}
	return &dialResult{conn: conn, raw: raw, state: st}, true
}

func subjectOf(st tls.ConnectionState) string {
	if len(st.PeerCertificates) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.String()
}

func (cn *connector) handshakeFailed(ctx context.Context, s *stepRec, err error) {
	var rh tls.RecordHeaderError
	switch {
	case ctx.Err() != nil:
		s.fail(cn.rules.startTLS, check.Textf("Négociation TLS interrompue", "TLS handshake interrupted"))
	case strings.Contains(err.Error(), "protocol version"):
		s.pass(cn.rules.startTLS, check.Textf("TLS demandé", "TLS requested"))
		s.fail(cn.rules.version, check.Textf("Le serveur %s n'accepte pas TLS 1.2 ou plus (%v) : activez TLS 1.2 et 1.3 sur le serveur.",
			"The %s server does not accept TLS 1.2 or later (%v): enable TLS 1.2 and 1.3 on the server.", cn.rules.name, err))
	case errors.Is(err, context.DeadlineExceeded):
		hint := check.Text{}
		if cn.srv.TLS == TLSImplicit {
			hint = check.Textf(" Si ce port attend STARTTLS (587, 143), mettez %s.tls: starttls.", " If this port expects STARTTLS (587, 143), set %s.tls: starttls.", cn.key)
		}
		s.fail(cn.rules.startTLS, textf("Le serveur %s ne répond pas à la négociation TLS (%s).%s", "The %s server does not answer the TLS handshake (%s).%s",
			cn.rules.name, (&errStep{timeout: cn.timeout}).text(), hint))
	case errors.As(err, &rh) && cn.srv.TLS == TLSImplicit:
		s.fail(cn.rules.startTLS, check.Textf("Le serveur %s répond en clair (%q), pas en TLS : ce port attend STARTTLS, mettez %s.tls: starttls (ou donnez le port TLS implicite, 465 ou 993).",
			"The %s server answers in cleartext (%q), not TLS: this port expects STARTTLS, set %s.tls: starttls (or give the implicit TLS port, 465 or 993).",
			cn.rules.name, rh.RecordHeader[:], cn.key))
	case errors.As(err, &rh):
		s.fail(cn.rules.startTLS, check.Textf("Le serveur %s a accepté STARTTLS mais n'a pas négocié TLS (il a envoyé %q) : corrigez sa configuration TLS.",
			"The %s server accepted STARTTLS but did not negotiate TLS (it sent %q): fix its TLS configuration.", cn.rules.name, rh.RecordHeader[:]))
	case closedByPeer(err):
		s.fail(cn.rules.startTLS, check.Textf("Le serveur %s a fermé la connexion pendant la négociation TLS : il refuse nos versions ou suites TLS, ou exige un certificat client (voir ses journaux).",
			"The %s server closed the connection during the TLS handshake: it refuses our TLS versions or cipher suites, or requires a client certificate (see its logs).", cn.rules.name))
	default:
		s.fail(cn.rules.startTLS, check.Textf("Négociation TLS avec le serveur %s impossible : %v", "TLS handshake with the %s server failed: %v", cn.rules.name, err))
	}
}

// verifyChain checks the chain against the configured roots (system roots
// when none) and the server name, then the remaining lifetime (Ref#2
// ECO.1.1.5: the operator's certificate must not be expired).
func (cn *connector) verifyChain(s *stepRec, st tls.ConnectionState, name string) bool {
	certs := st.PeerCertificates
	if len(certs) == 0 {
		s.fail(cn.rules.chain, check.Textf("Le serveur n'a présenté aucun certificat", "The server presented no certificate"))
		return false
	}
	leaf := certs[0]
	now := cn.now()
	_, err := cn.anchors.Verify(leaf, certs[1:], x509.VerifyOptions{DNSName: name, CurrentTime: now})
	if err != nil {
		var hostErr x509.HostnameError
		var unknown x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(err, &hostErr):
			s.fail(cn.rules.chain, check.Textf("Le certificat du serveur %s ne couvre pas le nom %s (%v) : installez un certificat pour ce nom, ou corrigez %s.server_name.",
				"The %s certificate does not cover the name %s (%v): install a certificate for that name, or fix %s.server_name.",
				cn.rules.name, name, err, strings.ToLower(cn.rules.name)))
		case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
			s.fail(cn.rules.chain, check.Textf("Le certificat du serveur %s n'est pas valide à cette date (valide du %s au %s) : renouvelez-le.",
				"The %s certificate is not valid now (valid from %s to %s): renew it.",
				cn.rules.name, leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly)))
		case errors.As(err, &unknown):
			s.fail(cn.rules.chain, check.Textf("Le certificat du serveur %s (émis par %q) ne remonte pas à une autorité de confiance : installez la chaîne complète sur le serveur, ou donnez l'autorité dans trust.ca_file.",
				"The %s certificate (issued by %q) does not chain to a trusted root: install the full chain on the server, or give the CA in trust.ca_file.",
				cn.rules.name, leaf.Issuer.String()))
		default:
			s.fail(cn.rules.chain, check.Textf("Certificat du serveur %s refusé : %v", "%s certificate rejected: %v", cn.rules.name, err))
		}
		return false
	}
	s.pass(cn.rules.chain, check.Textf("Certificat %q valide pour %s, émis par %q", "Certificate %q valid for %s, issued by %q",
		leaf.Subject.String(), name, leaf.Issuer.String()))
	left := leaf.NotAfter.Sub(now)
	if left < expiryWarning {
		s.fail(cn.rules.exp, check.Textf("Le certificat du serveur %s expire le %s (dans %d jours) : renouvelez-le.",
			"The %s certificate expires on %s (in %d days): renew it.", cn.rules.name, leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
	} else {
		s.pass(cn.rules.exp, check.Textf("Expire le %s", "Expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	return true
}

// startTLS speaks the protocol's plaintext preamble up to STARTTLS on c
// and reads the server's consent. It records the TCP check once the server
// greeted us; failures are returned (a *refusal when the server said no)
// and recorded by preambleFailed, with *cmd naming the command in flight.
func (cn *connector) startTLS(c net.Conn, s *stepRec, cmd *string) error {
	if cn.rules.name == "SMTP" {
		return cn.smtpStartTLS(c, s, cmd)
	}
	return cn.imapStartTLS(c, s, cmd)
}

// implicitTLSAfter is how long a STARTTLS port may stay silent before the
// probe checks, on a second connection, whether it is an implicit-TLS port
// (465, 993) configured as starttls: such a server waits for a TLS
// ClientHello and would otherwise only time out at the step deadline.
const implicitTLSAfter = 3 * time.Second

// heardConn notes that the server sent something.
type heardConn struct {
	net.Conn
	heard *atomic.Bool
}

func (c heardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.heard.Store(true)
	}
	return n, err
}

// watchImplicitTLS waits implicitTLSAfter; if the server has sent nothing
// by then and answers a TLS handshake on a second connection to the same
// address, it marks the port implicit and closes the silent connection, so
// that the step ends at once with the fix.
func (cn *connector) watchImplicitTLS(ctx context.Context, raw net.Conn, heard, implicit *atomic.Bool, done <-chan struct{}) {
	t := time.NewTimer(implicitTLSAfter)
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
		return
	case <-ctx.Done():
		return
	}
	if heard.Load() {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, implicitTLSAfter)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(hctx, "tcp", raw.RemoteAddr().String())
	if err != nil {
		return
	}
	defer c.Close()
	name := cn.srv.ServerName
	if name == "" {
		name = cn.srv.Host
	}
	// Only to learn whether TLS is spoken: nothing is sent after it.
	tc := tls.Client(c, &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10})
	err = tc.HandshakeContext(hctx)
	// A TLS alert from the server ("remote error: tls: …") is TLS too.
	if (err == nil || strings.Contains(err.Error(), "remote error: tls:")) && !heard.Load() {
		cn.tr.note("no greeting after %s; a TLS handshake on %s succeeds: implicit-TLS port", implicitTLSAfter, raw.RemoteAddr())
		implicit.Store(true)
		raw.Close()
	}
}

// preambleFailed records why the session ended before TLS: on the TCP
// check while the server has not greeted us, else on the STARTTLS check.
func (cn *connector) preambleFailed(s *stepRec, cmd string, err error) {
	var rf *refusal
	var es *errStep
	greeted := s.has(cn.rules.tcp)
	id := cn.rules.startTLS
	if !greeted {
		id = cn.rules.tcp
	}
	during := check.Textf("%s", "%s", cmd)
	if cmd == "" {
		during = check.Text{FR: "l'accueil", EN: "the greeting"}
	}
	switch {
	case errors.As(err, &rf):
		s.fail(id, rf.msg)
	case !greeted && errors.As(err, &es) && !es.interrupted:
		s.fail(id, textf("Le serveur %s n'envoie pas d'accueil : %s. Si ce port est en TLS implicite (%d), mettez %s.tls: implicit ; sinon vérifiez que c'est bien un serveur %s.",
			"The %s server sends no greeting: %s. If this port uses implicit TLS (%d), set %s.tls: implicit; otherwise check that it is an %s server.",
			cn.rules.name, es.text(), map[string]int{"SMTP": 465, "IMAP": 993}[cn.rules.name], cn.key, cn.rules.name))
	default:
		s.fail(id, textf("Session %s interrompue pendant %s : %s.%s", "%s session broken during %s: %s.%s", cn.rules.name, during, errText(err), retryHint(err)))
	}
}

// preambleLimit bounds what a server may send before TLS, so that a broken
// or hostile server cannot make the probe buffer without end.
const preambleLimit = 64 << 10

// limitedReader fails with a refusal past its limit.
type limitedReader struct {
	r    io.Reader
	left int
	name string
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, &refusal{check.Textf("Le serveur %s envoie plus de %d Kio sans suivre le protocole : ce n'est pas un serveur %s conforme (vérifiez l'hôte et le port).",
			"The %s server sends more than %d KiB without following the protocol: not a conforming %s server (check host and port).", l.name, preambleLimit>>10, l.name)}
	}
	n, err := l.r.Read(p[:min(len(p), l.left)])
	l.left -= n
	return n, err
}

// preambleConn is a textproto connection on c whose reads are limited.
func preambleConn(c net.Conn, name string) *textproto.Conn {
	return textproto.NewConn(struct {
		io.Reader
		io.WriteCloser
	}{&limitedReader{r: c, left: preambleLimit, name: name}, c})
}

// smtpGreeting reads the 220 greeting (RFC 5321 §4.2).
func (cn *connector) smtpGreeting(tp *textproto.Conn) (string, error) {
	_, greeting, err := tp.ReadResponse(220)
	var te *textproto.Error
	var pe textproto.ProtocolError
	switch {
	case errors.As(err, &te):
		return "", &refusal{check.Textf("Le serveur SMTP refuse la session : %d %s", "The SMTP server refuses the session: %d %s", te.Code, te.Msg)}
	case errors.As(err, &pe):
		return "", &refusal{check.Textf("Le serveur ne parle pas SMTP (%s) : vérifiez %s.host et %s.port.",
			"The server does not speak SMTP (%s): check %s.host and %s.port.", pe, cn.key, cn.key)}
	case err != nil:
		return "", err
	}
	return firstLine(greeting), nil
}

// smtpEHLO sends EHLO and returns the extension keywords.
func (cn *connector) smtpEHLO(tp *textproto.Conn) (map[string]bool, error) {
	id, err := tp.Cmd("EHLO %s", cn.ehloName)
	if err != nil {
		return nil, err
	}
	tp.StartResponse(id)
	_, ehlo, err := tp.ReadResponse(250)
	tp.EndResponse(id)
	var te *textproto.Error
	if errors.As(err, &te) {
		return nil, &refusal{check.Textf("Le serveur SMTP refuse EHLO %s : %d %s", "The SMTP server refuses EHLO %s: %d %s", cn.ehloName, te.Code, te.Msg)}
	}
	if err != nil {
		return nil, err
	}
	ext := map[string]bool{}
	for _, l := range strings.Split(ehlo, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			ext[strings.ToUpper(f[0])] = true
		}
	}
	return ext, nil
}

func (cn *connector) connected(s *stepRec, c net.Conn, greeting string) {
	s.pass(cn.rules.tcp, check.Textf("Connecté à %s ; accueil : %s", "Connected to %s; greeting: %s", c.RemoteAddr(), greeting))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (cn *connector) smtpStartTLS(c net.Conn, s *stepRec, cmd *string) error {
	tp := preambleConn(c, "SMTP")
	greeting, err := cn.smtpGreeting(tp)
	if err != nil {
		return err
	}
	cn.connected(s, c, greeting)
	*cmd = "EHLO"
	ext, err := cn.smtpEHLO(tp)
	if err != nil {
		return err
	}
	if !ext["STARTTLS"] {
		return &refusal{check.Textf("Le serveur SMTP ne propose pas STARTTLS : activez STARTTLS sur le port %d (ou mettez %s.tls: implicit si le port est en TLS implicite).",
			"The SMTP server does not offer STARTTLS: enable STARTTLS on port %d (or set %s.tls: implicit for an implicit-TLS port).", cn.srv.Port, cn.key)}
	}
	*cmd = "STARTTLS"
	id, err := tp.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	tp.StartResponse(id)
	_, _, err = tp.ReadResponse(220)
	tp.EndResponse(id)
	var te *textproto.Error
	if errors.As(err, &te) {
		return &refusal{check.Textf("STARTTLS refusé : %d %s", "STARTTLS refused: %d %s", te.Code, te.Msg)}
	}
	if err != nil {
		return err
	}
	if tp.R.Buffered() > 0 {
		// RFC 3207 §4.2: nothing may follow the 220 before the handshake
		// (STARTTLS command injection).
		return errInjection
	}
	return nil
}

var errInjection = &refusal{check.Text{
	FR: "Le serveur envoie des données entre l'acceptation de STARTTLS et la négociation TLS (injection de commandes, RFC 3207 §4.2) : corrigez le serveur.",
	EN: "The server sends data between accepting STARTTLS and the TLS handshake (command injection, RFC 3207 §4.2): fix the server.",
}}

func (cn *connector) imapStartTLS(c net.Conn, s *stepRec, cmd *string) error {
	br := bufio.NewReader(&limitedReader{r: c, left: preambleLimit, name: "IMAP"})
	greeting, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	greeting = strings.TrimRight(greeting, "\r\n")
	switch {
	case strings.HasPrefix(greeting, "* PREAUTH"):
		cn.connected(s, c, greeting)
		return &refusal{check.Textf("Le serveur IMAP authentifie la session sans TLS (PREAUTH) : refusé.", "The IMAP server pre-authenticates the session without TLS (PREAUTH): refused.")}
	case strings.HasPrefix(greeting, "* BYE"):
		return &refusal{check.Textf("Le serveur IMAP refuse la session : %s", "The IMAP server refuses the session: %s", greeting)}
	case !strings.HasPrefix(greeting, "* OK"):
		return &refusal{check.Textf("Le serveur ne parle pas IMAP (accueil %q) : vérifiez %s.host et %s.port.",
			"The server does not speak IMAP (greeting %q): check %s.host and %s.port.", greeting, cn.key, cn.key)}
	}
	cn.connected(s, c, greeting)
	caps := greeting
	if !strings.Contains(strings.ToUpper(greeting), "[CAPABILITY") {
		*cmd = "CAPABILITY"
		if caps, err = imapCommand(c, br, "P0 CAPABILITY"); err != nil {
			return err
		}
	}
	if !strings.Contains(strings.ToUpper(caps), " STARTTLS") {
		return &refusal{check.Textf("Le serveur IMAP ne propose pas STARTTLS : activez STARTTLS sur le port %d (ou mettez %s.tls: implicit si le port est en TLS implicite).",
			"The IMAP server does not offer STARTTLS: enable STARTTLS on port %d (or set %s.tls: implicit for an implicit-TLS port).", cn.srv.Port, cn.key)}
	}
	*cmd = "STARTTLS"
	if _, err := imapCommand(c, br, "P1 STARTTLS"); err != nil {
		return err
	}
	if br.Buffered() > 0 {
		// RFC 9051 §6.2.1: nothing may follow the OK before the handshake
		// (STARTTLS command injection).
		return errInjection
	}
	return nil
}

// imapCommand sends one tagged command and returns the untagged lines and
// the tagged line, failing on NO/BAD.
func imapCommand(w io.Writer, br *bufio.Reader, cmd string) (string, error) {
	tag, _, _ := strings.Cut(cmd, " ")
	if _, err := io.WriteString(w, cmd+"\r\n"); err != nil {
		return "", err
	}
	var all strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return all.String(), err
		}
		all.WriteString(line)
		if strings.HasPrefix(line, tag+" ") {
			if f := strings.Fields(line); len(f) < 2 || !strings.EqualFold(f[1], "OK") {
				return all.String(), &refusal{check.Textf("Le serveur IMAP refuse %s : %s", "The IMAP server refuses %s: %s", cmd[len(tag)+1:], strings.TrimSpace(line))}
			}
			return all.String(), nil
		}
	}
}

// cleartextMail opens a separate plaintext connection and tries MAIL FROM
// before STARTTLS, then RSET/QUIT: a submission server must refuse it (530)
// so that no client can send in clear (testssl.sh #1832, research tools.md
// §A). It runs once the real session is secured and never goes past MAIL.
func (cn *connector) cleartextMail(ctx context.Context, s *stepRec, addrs []string) {
	raw, err := cn.dialTCP(ctx, addrs)
	if err != nil {
		s.skip(RuleSMTPCleartext, check.Textf("Test MAIL FROM en clair non fait : %v", "Cleartext MAIL FROM test not run: %v", err))
		return
	}
	defer raw.Close()
	cn.tr.note("separate cleartext connection to %s: MAIL FROM must be refused before STARTTLS", raw.RemoteAddr())
	tp := preambleConn(recConn{Conn: raw, t: cn.tr}, "SMTP")
	var code int
	var msg string
	err = bounded(ctx, cn.timeout, raw, func() error {
		if _, err := cn.smtpGreeting(tp); err != nil {
			return err
		}
		if _, err := cn.smtpEHLO(tp); err != nil {
			return err
		}
		id, err := tp.Cmd("MAIL FROM:<%s>", cn.mailFrom)
		if err != nil {
			return err
		}
		tp.StartResponse(id)
		code, msg, err = tp.ReadResponse(0)
		tp.EndResponse(id)
		if err != nil && code == 0 {
			return err
		}
		if code/100 == 2 {
			tp.Cmd("RSET")
			tp.ReadResponse(250)
		}
		tp.Cmd("QUIT")
		tp.ReadResponse(221)
		return nil
	})
	switch {
	case err != nil:
		s.skip(RuleSMTPCleartext, textf("Test MAIL FROM en clair non concluant : %s", "Cleartext MAIL FROM test inconclusive: %s", errText(err)))
	case code/100 == 2:
		s.fail(RuleSMTPCleartext, check.Textf("Le serveur accepte MAIL FROM sans TLS (%d %s) : exigez STARTTLS avant toute transaction sur le port de soumission.",
			"The server accepts MAIL FROM without TLS (%d %s): require STARTTLS before any transaction on the submission port.", code, msg))
	default:
		s.pass(RuleSMTPCleartext, check.Textf("MAIL FROM refusé sans TLS : %d %s", "MAIL FROM refused without TLS: %d %s", code, msg))
	}
}
