package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// expiryWarning is the remaining certificate lifetime under which the
// expiry check warns (issue 4).
const expiryWarning = 30 * 24 * time.Hour

// protoRules names the connection checks of one protocol.
type protoRules struct {
	name                                    string // "SMTP" or "IMAP"
	dns, tcp, startTLS, version, chain, exp string
}

var (
	smtpRules = protoRules{"SMTP", RuleSMTPDNS, RuleSMTPTCP, RuleSMTPStartTLS, RuleSMTPTLSVersion, RuleSMTPChain, RuleSMTPExpiry}
	imapRules = protoRules{"IMAP", RuleIMAPDNS, RuleIMAPTCP, RuleIMAPStartTLS, RuleIMAPTLSVersion, RuleIMAPChain, RuleIMAPExpiry}
)

// errStep is returned by bounded operations that the step deadline or the
// run's cancellation cut short; its text says which.
type errStep struct {
	timeout     time.Duration
	interrupted bool
}

func (e *errStep) Error() string {
	if e.interrupted {
		return "interrupted"
	}
	return fmt.Sprintf("no answer within %s (timeouts.step)", e.timeout)
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
	tlsConfig *tls.Config // RootCAs, client certificate; ServerName set per server
	tr        *transcript
	timeout   time.Duration
	ehloName  string
	mailFrom  string // for the cleartext MAIL test (SMTP STARTTLS only)
	now       func() time.Time
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
	addrs, err := net.DefaultResolver.LookupHost(lctx, host)
	if err != nil {
		s.fail(cn.rules.dns, check.Textf("Le nom %s ne se résout pas (%v) : vérifiez %s.host et la configuration DNS.",
			"Host name %s does not resolve (%v): check %s.host and DNS.", host, err, strings.ToLower(cn.rules.name)))
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
	if cn.rules.name == "SMTP" && cn.srv.TLS == TLSStartTLS {
		cn.cleartextMail(ctx, s, addrs)
	}
	raw, err := cn.dialTCP(ctx, addrs)
	if err != nil {
		s.fail(cn.rules.tcp, check.Textf("Connexion TCP à %s:%d impossible (%v) : vérifiez %s.port, le pare-feu et que le service écoute.",
			"Cannot connect to %s:%d over TCP (%v): check %s.port, firewalls, and that the service listens.",
			cn.srv.Host, cn.srv.Port, err, strings.ToLower(cn.rules.name)))
		return nil, false
	}
	ep.Addr = raw.RemoteAddr().String()
	cn.tr.note("connection to %s (%s)", ep.Addr, cn.srv.TLS)
	rec := recConn{Conn: raw, t: cn.tr}
	if cn.srv.TLS == TLSStartTLS {
		err := bounded(ctx, cn.timeout, raw, func() error { return cn.startTLS(rec, s) })
		if err != nil {
			raw.Close()
			if !s.has(cn.rules.tcp) {
				s.fail(cn.rules.tcp, check.Textf("Session %s interrompue avant TLS : %v", "%s session broken before TLS: %v", cn.rules.name, err))
			} else if !s.has(cn.rules.startTLS) {
				s.fail(cn.rules.startTLS, check.Textf("STARTTLS interrompu : %v", "STARTTLS broken: %v", err))
			}
			return nil, false
		}
	} else {
		s.pass(cn.rules.tcp, check.Textf("Connecté à %s", "Connected to %s", ep.Addr))
	}

	cfg := cn.tlsConfig.Clone()
	cfg.ServerName = cn.srv.ServerName
	if cfg.ServerName == "" {
		cfg.ServerName = cn.srv.Host
	}
	// Verification is done below, after the handshake, so that the chain is
	// recorded even when it is invalid; nothing is sent before it passes.
	roots := cfg.RootCAs
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
	if !cn.verifyChain(s, st, roots, cfg.ServerName) {
		raw.Close()
		return nil, false
	}
	conn := net.Conn(recConn{Conn: tc, t: cn.tr})
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
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		s.fail(cn.rules.startTLS, check.Textf("Négociation TLS interrompue", "TLS handshake interrupted"))
	case strings.Contains(msg, "protocol version"):
		s.pass(cn.rules.startTLS, check.Textf("TLS demandé", "TLS requested"))
		s.fail(cn.rules.version, check.Textf("Le serveur %s n'accepte pas TLS 1.2 ou plus (%v) : activez TLS 1.2 et 1.3 sur le serveur.",
			"The %s server does not accept TLS 1.2 or later (%v): enable TLS 1.2 and 1.3 on the server.", cn.rules.name, err))
	default:
		s.fail(cn.rules.startTLS, check.Textf("Négociation TLS avec le serveur %s impossible : %v", "TLS handshake with the %s server failed: %v", cn.rules.name, err))
	}
}

// verifyChain checks the chain against the configured roots (system roots
// when none) and the server name, then the remaining lifetime (Ref#2
// ECO.1.1.5: the operator's certificate must not be expired).
func (cn *connector) verifyChain(s *stepRec, st tls.ConnectionState, roots *x509.CertPool, name string) bool {
	certs := st.PeerCertificates
	if len(certs) == 0 {
		s.fail(cn.rules.chain, check.Textf("Le serveur n'a présenté aucun certificat", "The server presented no certificate"))
		return false
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := cn.now()
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: now})
	if err != nil {
		var hostErr x509.HostnameError
		var unknown x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(err, &hostErr):
			s.fail(cn.rules.chain, check.Textf("Le certificat de %s ne couvre pas le nom %s (%v) : installez un certificat pour ce nom, ou corrigez %s.server_name.",
				"The %s certificate does not cover the name %s (%v): install a certificate for that name, or fix %s.server_name.",
				cn.rules.name, name, err, strings.ToLower(cn.rules.name)))
		case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
			s.fail(cn.rules.chain, check.Textf("Le certificat de %s n'est pas valide à cette date (valide du %s au %s) : renouvelez-le.",
				"The %s certificate is not valid now (valid from %s to %s): renew it.",
				cn.rules.name, leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly)))
		case errors.As(err, &unknown):
			s.fail(cn.rules.chain, check.Textf("Le certificat de %s (émis par %q) ne remonte pas à une autorité de confiance : installez la chaîne complète sur le serveur, ou donnez l'autorité dans trust.ca_file.",
				"The %s certificate (issued by %q) does not chain to a trusted root: install the full chain on the server, or give the CA in trust.ca_file.",
				cn.rules.name, leaf.Issuer.String()))
		default:
			s.fail(cn.rules.chain, check.Textf("Certificat de %s refusé : %v", "%s certificate rejected: %v", cn.rules.name, err))
		}
		return false
	}
	s.pass(cn.rules.chain, check.Textf("Certificat %q valide pour %s, émis par %q", "Certificate %q valid for %s, issued by %q",
		leaf.Subject.String(), name, leaf.Issuer.String()))
	left := leaf.NotAfter.Sub(now)
	if left < expiryWarning {
		s.fail(cn.rules.exp, check.Textf("Le certificat de %s expire le %s (dans %d jours) : renouvelez-le.",
			"The %s certificate expires on %s (in %d days): renew it.", cn.rules.name, leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
	} else {
		s.pass(cn.rules.exp, check.Textf("Expire le %s", "Expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	return true
}

// startTLS speaks the protocol's plaintext preamble up to STARTTLS on c
// and reads the server's consent. Failures before STARTTLS is accepted
// are recorded on the step.
func (cn *connector) startTLS(c net.Conn, s *stepRec) error {
	if cn.rules.name == "SMTP" {
		return cn.smtpStartTLS(c, s)
	}
	return cn.imapStartTLS(c, s)
}

// smtpPreamble reads the greeting and sends EHLO; it returns the greeting
// and the EHLO keywords.
func (cn *connector) smtpPreamble(tp *textproto.Conn) (string, map[string]bool, error) {
	_, greeting, err := tp.ReadResponse(220)
	if err != nil {
		return "", nil, fmt.Errorf("greeting refused: %w", err)
	}
	id, err := tp.Cmd("EHLO %s", cn.ehloName)
	if err != nil {
		return greeting, nil, err
	}
	tp.StartResponse(id)
	_, ehlo, err := tp.ReadResponse(250)
	tp.EndResponse(id)
	if err != nil {
		return greeting, nil, fmt.Errorf("EHLO refused: %w", err)
	}
	ext := map[string]bool{}
	for _, l := range strings.Split(ehlo, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			ext[strings.ToUpper(f[0])] = true
		}
	}
	return firstLine(greeting), ext, nil
}

func (cn *connector) connected(s *stepRec, c net.Conn, greeting string) {
	s.pass(cn.rules.tcp, check.Textf("Connecté à %s ; accueil : %s", "Connected to %s; greeting: %s", c.RemoteAddr(), greeting))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (cn *connector) smtpStartTLS(c net.Conn, s *stepRec) error {
	tp := textproto.NewConn(c)
	greeting, ext, err := cn.smtpPreamble(tp)
	if err != nil {
		s.fail(cn.rules.tcp, check.Textf("Le serveur SMTP refuse la session : %v", "The SMTP server refuses the session: %v", err))
		return err
	}
	cn.connected(s, c, greeting)
	if !ext["STARTTLS"] {
		s.fail(cn.rules.startTLS, check.Textf("Le serveur SMTP ne propose pas STARTTLS : activez STARTTLS sur le port %d (ou utilisez smtp.tls: implicit si le port est en TLS implicite).",
			"The SMTP server does not offer STARTTLS: enable STARTTLS on port %d (or set smtp.tls: implicit for an implicit-TLS port).", cn.srv.Port))
		return errors.New("STARTTLS not offered")
	}
	id, err := tp.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	tp.StartResponse(id)
	_, msg, err := tp.ReadResponse(220)
	tp.EndResponse(id)
	if err != nil {
		s.fail(cn.rules.startTLS, check.Textf("STARTTLS refusé : %v %s", "STARTTLS refused: %v %s", err, msg))
		return err
	}
	if tp.R.Buffered() > 0 {
		// RFC 3207 §4.2: nothing may follow the 220 before the handshake
		// (STARTTLS command injection).
		return errors.New("server sent data after STARTTLS 220")
	}
	return nil
}

func (cn *connector) imapStartTLS(c net.Conn, s *stepRec) error {
	br := bufio.NewReader(c)
	greeting, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("no greeting: %w", err)
	}
	greeting = strings.TrimRight(greeting, "\r\n")
	switch {
	case strings.HasPrefix(greeting, "* PREAUTH"):
		cn.connected(s, c, greeting)
		s.fail(cn.rules.startTLS, check.Textf("Le serveur IMAP authentifie la session sans TLS (PREAUTH) : refusé.", "The IMAP server pre-authenticates the session without TLS (PREAUTH): refused."))
		return errors.New("PREAUTH in cleartext")
	case !strings.HasPrefix(greeting, "* OK"):
		s.fail(cn.rules.tcp, check.Textf("Le serveur IMAP refuse la session : %s", "The IMAP server refuses the session: %s", greeting))
		return errors.New("greeting refused")
	}
	cn.connected(s, c, greeting)
	caps := greeting
	if !strings.Contains(strings.ToUpper(greeting), "[CAPABILITY") {
		if caps, err = imapCommand(c, br, "P0 CAPABILITY"); err != nil {
			return err
		}
	}
	if !strings.Contains(strings.ToUpper(caps), " STARTTLS") {
		s.fail(cn.rules.startTLS, check.Textf("Le serveur IMAP ne propose pas STARTTLS : activez STARTTLS sur le port %d (ou utilisez imap.tls: implicit si le port est en TLS implicite).",
			"The IMAP server does not offer STARTTLS: enable STARTTLS on port %d (or set imap.tls: implicit for an implicit-TLS port).", cn.srv.Port))
		return errors.New("STARTTLS not offered")
	}
	if _, err := imapCommand(c, br, "P1 STARTTLS"); err != nil {
		s.fail(cn.rules.startTLS, check.Textf("STARTTLS refusé : %v", "STARTTLS refused: %v", err))
		return err
	}
	if br.Buffered() > 0 {
		// RFC 3207/9051: nothing may follow the OK before the handshake
		// (STARTTLS command injection).
		return errors.New("server sent data after STARTTLS OK")
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
				return all.String(), errors.New(strings.TrimSpace(line))
			}
			return all.String(), nil
		}
	}
}

// cleartextMail opens a separate plaintext connection and tries MAIL FROM
// before STARTTLS, then RSET/QUIT: a submission server must refuse it (530)
// so that no client can send in clear (testssl.sh #1832, research tools.md
// §A). It runs before the real session and never goes past MAIL.
func (cn *connector) cleartextMail(ctx context.Context, s *stepRec, addrs []string) {
	raw, err := cn.dialTCP(ctx, addrs)
	if err != nil {
		s.skip(RuleSMTPCleartext, check.Textf("Test MAIL FROM en clair non fait : %v", "Cleartext MAIL FROM test not run: %v", err))
		return
	}
	defer raw.Close()
	cn.tr.note("separate cleartext connection to %s: MAIL FROM must be refused before STARTTLS", raw.RemoteAddr())
	tp := textproto.NewConn(recConn{Conn: raw, t: cn.tr})
	var code int
	var msg string
	err = bounded(ctx, cn.timeout, raw, func() error {
		if _, _, err := cn.smtpPreamble(tp); err != nil {
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
		s.skip(RuleSMTPCleartext, check.Textf("Test MAIL FROM en clair non concluant : %v", "Cleartext MAIL FROM test inconclusive: %v", err))
	case code/100 == 2:
		s.fail(RuleSMTPCleartext, check.Textf("Le serveur accepte MAIL FROM sans TLS (%d %s) : exigez STARTTLS avant toute transaction sur le port de soumission.",
			"The server accepts MAIL FROM without TLS (%d %s): require STARTTLS before any transaction on the submission port.", code, msg))
	default:
		s.pass(RuleSMTPCleartext, check.Textf("MAIL FROM refusé sans TLS : %d %s", "MAIL FROM refused without TLS: %d %s", code, msg))
	}
}
