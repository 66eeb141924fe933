package mocks

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks/internal/smtpd"
)

// Operator is a running mock MSSanté operator. All methods are safe for
// concurrent use.
type Operator struct {
	cfg      Config
	pki      *pki
	psc      *pscIssuer
	pkiWeb   *web // HTTP: CRLs, OCSP, CA certificates (web.go)
	pscWeb   *web // HTTP: Pro Santé Connect issuer
	apiWeb   *web // HTTP API and page (httpapi.go)
	tlsConf  *tls.Config
	faults   *faults
	limits   *limiters
	rec      *recorder
	store    *store
	threads  *threads
	verdicts verdicts
	receipts receiptIndex
	accounts map[string]Account
	inflight *inFlight // memory of messages being received

	smtpServers []*smtpd.Server
	// listeners are closed by shutdown itself: go-smtp's Server.Close only
	// closes the listeners Serve has registered, so a Close that runs before
	// the Serve goroutine starts would leave Accept blocked forever.
	listeners  []net.Listener
	imapServer *imapserver.Server
	addrs      map[string]string // listener name -> address

	serving sync.WaitGroup
	pending pendingMail
	done    chan struct{} // closed when shutdown starts: ends fault delays

	closeOnce sync.Once
	closeErr  error
	stopCtx   func() bool
}

// Listener names, also used in events.
const (
	lnSMTP  = "smtp"
	lnSMTPS = "smtps"
	lnIMAP  = "imap"
	lnIMAPS = "imaps"
	lnPKI   = "pki" // HTTP: CRLs, OCSP, CA certificates
	lnPSC   = "psc" // HTTP: Pro Santé Connect issuer
)

// Start validates cfg, opens the store, binds every listener and serves
// until ctx is done or Close is called. When Start returns, every enabled
// listener accepts connections.
func Start(ctx context.Context, cfg Config) (*Operator, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, check.Errorf("configuration du mock : %w", "mock configuration: %w", err)
	}
	o := &Operator{cfg: c, rec: newRecorder(c.Log), accounts: map[string]Account{}, addrs: map[string]string{}, done: make(chan struct{}),
		inflight: &inFlight{max: c.MaxInFlightBytes}}
	if o.faults, err = newFaults(c.Faults); err != nil {
		return nil, check.Errorf("configuration du mock : %w", "mock configuration: %w", err)
	}
	if o.limits, err = newLimiters(c.RateLimits); err != nil {
		return nil, check.Errorf("configuration du mock : %w", "mock configuration: %w", err)
	}
	for _, a := range append(append([]Account(nil), c.Accounts...), c.CitizenAccounts...) {
		o.accounts[a.Address] = a
	}
	if err = o.startPKI(); err != nil {
		return nil, err
	}
	// Until Start succeeds (stopCtx set last), a failure closes the HTTP
	// listeners startPKI opened.
	defer func() {
		if o.stopCtx == nil {
			o.stopWeb()
		}
	}()
	if o.tlsConf, err = o.serverTLS(); err != nil {
		return nil, err
	}
	o.threads = newThreads()
	if o.store, err = openStore(c.StoreDir, o.observe, func(msg check.Text) {
		o.rec.add(Event{Proto: "mock", Kind: KindWarn, Detail: msg.EN, Text: &msg})
	}); err != nil {
		return nil, err
	}
	for _, a := range append(append([]Account(nil), c.Accounts...), c.CitizenAccounts...) {
		if _, err := o.store.user(a.Address, true); err != nil {
			o.store.close()
			return nil, err
		}
	}
	if _, err := o.store.user(o.autoReplyAddr(), true); err != nil {
		o.store.close()
		return nil, err
	}
	// The HTTP API binds first: o.addrs is written only before any
	// listener serves.
	if err := o.listenHTTP(); err != nil {
		o.shutdown()
		return nil, err
	}
	if err := o.listen(); err != nil {
		o.shutdown()
		return nil, err
	}
	o.stopCtx = context.AfterFunc(ctx, func() { o.close() })
	return o, nil
}

// serverTLS builds the TLS configuration of every listener: TLS 1.2
// minimum (research mssante.md §2, SC.MSS/CONF.01), client certificates
// from the mock CA accepted when given, and the certificate a tls-* fault
// asks for.
func (o *Operator) serverTLS() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	switch {
	case o.faults.configured(FaultTLSExpired):
		cert, err = o.pki.faultyCert(FaultTLSExpired)
	case o.faults.configured(FaultTLSSelfSigned):
		cert, err = o.pki.faultyCert(FaultTLSSelfSigned)
	case o.faults.configured(FaultTLSWrongHost):
		cert, err = o.pki.faultyCert(FaultTLSWrongHost)
	case o.faults.configured(FaultTLSRevoked):
		cert, err = o.pki.faultyCert(FaultTLSRevoked)
	case o.cfg.CertFile != "":
		cert, err = loadKeyPair(o.cfg.CertFile, o.cfg.KeyFile)
	default:
		cert, err = o.pki.issue(o.pki.serverRequest())
	}
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    o.pki.pool,
	}
	if o.faults.configured(FaultTLSLegacy) {
		// An explicit MinVersion enables TLS 1.0/1.1 on a Go server
		// without GODEBUG=tls10server=1 (that setting only changes the
		// default); TLS 1.0/1.1 need the CBC-SHA suites, which Go still
		// implements. See docs/mock.md.
		conf.MinVersion, conf.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		conf.CipherSuites = []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		}
	}
	return conf, nil
}

func (o *Operator) listen() error {
	type spec struct {
		name, addr string
	}
	specs := []spec{{lnSMTP, o.cfg.ListenSMTP}, {lnSMTPS, o.cfg.ListenSMTPS}, {lnIMAP, o.cfg.ListenIMAP}, {lnIMAPS, o.cfg.ListenIMAPS}}
	starttls := o.tlsConf
	if o.faults.configured(FaultStartTLSMissing) {
		starttls = nil
	}
	var imapLns []net.Listener
	for _, s := range specs {
		if strings.EqualFold(s.addr, "off") {
			continue
		}
		raw, err := net.Listen("tcp", s.addr)
		if err != nil {
			return check.Errorf("écoute %s sur %s : %w", "listen %s on %s: %w", s.name, s.addr, err)
		}
		o.addrs[s.name] = raw.Addr().String()
		o.listeners = append(o.listeners, raw)
		var ln net.Listener = raw
		switch s.name {
		case lnSMTPS:
			ln = tls.NewListener(raw, o.tlsConf) // go-smtp bounds the handshake with its timeouts
		case lnIMAP:
			ln = gateListener{Listener: raw, starttls: starttls, preAuth: preAuthTimeout, cmdTimeout: gateCmdTimeout}
		case lnIMAPS:
			// imapserver sets no deadline before its greeting, which runs
			// the handshake: a client that never sends a ClientHello
			// would hold the connection forever.
			ln = gateListener{Listener: tls.NewListener(deadlineListener{raw, handshakeTimeout}, o.tlsConf), secure: true, preAuth: preAuthTimeout, cmdTimeout: gateCmdTimeout}
		}
		switch s.name {
		case lnSMTP, lnSMTPS:
			srv := o.newSMTPServer(s.name, starttls)
			o.smtpServers = append(o.smtpServers, srv)
			ln = &faultListener{Listener: ln, o: o, name: s.name}
			o.serve(func() error { return srv.Serve(ln) })
		default:
			imapLns = append(imapLns, ln)
		}
	}
	if len(imapLns) > 0 {
		o.imapServer = o.newIMAPServer()
		for _, ln := range imapLns {
			o.serve(func() error { return o.imapServer.Serve(ln) })
		}
	}
	return nil
}

func (o *Operator) serve(f func() error) {
	o.serving.Add(1)
	go func() {
		defer o.serving.Done()
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtp.ErrServerClosed) {
			o.rec.add(Event{Proto: "mock", Kind: "error", Detail: err.Error()})
		}
	}()
}

// handshakeTimeout bounds what a connection may do before a server sets
// its own deadlines (the implicit TLS handshake of IMAPS); a variable so
// tests can shorten it.
var handshakeTimeout = 30 * time.Second

// deadlineListener gives every accepted connection a first deadline.
type deadlineListener struct {
	net.Listener
	d time.Duration
}

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.SetDeadline(time.Now().Add(l.d))
	}
	return c, err
}

// sleep waits d, or less when the operator shuts down, so that a delay
// fault never outlives Close.
func (o *Operator) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-o.done:
	}
}

// Addresses of the listeners ("127.0.0.1:port"), "" when disabled.
func (o *Operator) SMTPAddr() string  { return o.addrs[lnSMTP] }
func (o *Operator) SMTPSAddr() string { return o.addrs[lnSMTPS] }
func (o *Operator) IMAPAddr() string  { return o.addrs[lnIMAP] }
func (o *Operator) IMAPSAddr() string { return o.addrs[lnIMAPS] }

// CACertPEM returns the PEM of the mock's root CA, the one certificate a
// client trusts: its ORGANISATIONS CA signs the server certificate (sent
// with it in the handshake) and the client certificates (see PKI).
func (o *Operator) CACertPEM() []byte { return append([]byte(nil), o.pki.caPEM...) }

// Accounts returns the establishment accounts then the citizen accounts,
// with their secrets (the generated default password included).
func (o *Operator) Accounts() []Account {
	return append(append([]Account(nil), o.cfg.Accounts...), o.cfg.CitizenAccounts...)
}

// Config returns the effective configuration, defaults filled in.
func (o *Operator) Config() Config { return o.cfg }

// Mailboxes returns the addresses that have a mailbox, sorted.
func (o *Operator) Mailboxes() []string {
	o.store.mu.RLock()
	defer o.store.mu.RUnlock()
	out := make([]string, 0, len(o.store.users))
	for a := range o.store.users {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (o *Operator) accountByAddr(addr string) (Account, bool) {
	a, ok := o.accounts[strings.ToLower(addr)]
	return a, ok
}

// checkCredential verifies a secret of the given SASL kind for user and
// returns the canonical address.
func (o *Operator) checkCredential(kind, user, secret string) (string, bool) {
	a, ok := o.accountByAddr(strings.TrimSpace(user))
	if !ok {
		return "", false
	}
	var want string
	switch kind {
	case mechPlain, mechLogin:
		want = a.Password
	case mechXOAuth2, mechOAuthBearer:
		// A Pro Santé Connect access token from the mock issuer, or the
		// account's static token.
		if subtle.ConstantTimeCompare([]byte(secret), []byte(a.Token)) != 1 && o.checkToken(kind, a.Address, secret) {
			return a.Address, true
		}
		want = a.Token
	default:
		return "", false
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		return "", false
	}
	return a.Address, true
}

// certAccount returns the account a verified client certificate logs in,
// "" when none may.
func (o *Operator) certAccount(st tls.ConnectionState) string {
	addr := certAddress(st)
	if a, ok := o.accountByAddr(addr); ok && a.ClientCert {
		return a.Address
	}
	return ""
}

func (o *Operator) autoReplyAddr() string { return AutoReplyLocalPart + "@" + o.cfg.CitizenDomain }

func (o *Operator) isEstablishment(addr string) bool {
	d := domainOf(addr)
	for _, e := range o.cfg.EstablishmentDomains {
		if d == e {
			return true
		}
	}
	return false
}

func (o *Operator) isCitizen(addr string) bool { return domainOf(addr) == o.cfg.CitizenDomain }

func (o *Operator) trusted(addr string) bool {
	d := domainOf(addr)
	for _, t := range o.cfg.TrustedDomains {
		if d == t {
			return true
		}
	}
	return false
}

// Close stops the listeners, delivers the auto-replies still waiting for
// their delay (so a restart loses none), then closes the store.
func (o *Operator) Close() error {
	o.stopCtx()
	return o.close()
}

// close is Close for the context's AfterFunc, which may run while Start
// is still setting stopCtx.
func (o *Operator) close() error {
	o.closeOnce.Do(func() { o.closeErr = o.shutdown() })
	return o.closeErr
}

func (o *Operator) shutdown() error {
	errs := []error{o.stopWeb()}
	for _, s := range o.smtpServers {
		errs = append(errs, s.Close())
	}
	for _, l := range o.listeners {
		errs = append(errs, l.Close())
	}
	o.serving.Wait()
	// imapserver's Close waits on a WaitGroup that Serve adds to: called
	// while a Serve goroutine is still starting, that is a data race, so
	// it runs once every Serve has returned, to close the connections.
	if o.imapServer != nil {
		errs = append(errs, o.imapServer.Close())
	}
	// Delay faults end once the connections are closed, so a session
	// woken here cannot read more from its client.
	close(o.done)
	o.pending.flush()
	errs = append(errs, o.store.close())
	var out []error
	for _, e := range errs {
		if e != nil && !errors.Is(e, net.ErrClosed) && !errors.Is(e, smtp.ErrServerClosed) {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// pendingMail holds delayed deliveries (auto-replies) so Close can run them
// instead of losing them.
type pendingMail struct {
	mu       sync.Mutex
	timers   map[*time.Timer]func()
	inflight sync.WaitGroup
	closed   bool
}

// after runs f once d has passed; with no delay, or after Close, f runs
// before after returns.
func (p *pendingMail) after(d time.Duration, f func()) {
	p.mu.Lock()
	if p.closed || d <= 0 {
		p.mu.Unlock()
		f()
		return
	}
	defer p.mu.Unlock()
	if p.timers == nil {
		p.timers = map[*time.Timer]func(){}
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		p.mu.Lock()
		_, ok := p.timers[t]
		delete(p.timers, t)
		if ok {
			p.inflight.Add(1)
		}
		p.mu.Unlock()
		if ok {
			defer p.inflight.Done()
			f()
		}
	})
	p.timers[t] = f
}

// flush runs the deliveries still waiting and waits for those running.
func (p *pendingMail) flush() {
	p.mu.Lock()
	p.closed = true
	var run []func()
	for t, f := range p.timers {
		if t.Stop() {
			run = append(run, f)
		}
		delete(p.timers, t)
	}
	p.mu.Unlock()
	for _, f := range run {
		f()
	}
	p.inflight.Wait()
}
