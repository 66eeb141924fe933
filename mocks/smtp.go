package mocks

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/mocks/internal/smtpd"
	"golang.org/x/text/unicode/norm"
)

// smtpLog records go-smtp's internal errors (TLS handshakes of broken
// clients, I/O) as events instead of the standard logger.
type smtpLog struct {
	rec  *recorder
	name string
}

func (l smtpLog) Printf(format string, v ...any) {
	l.rec.add(Event{Proto: "smtp", Listener: l.name, Kind: "error", Detail: fmt.Sprintf(format, v...)})
}
func (l smtpLog) Println(v ...any) {
	l.rec.add(Event{Proto: "smtp", Listener: l.name, Kind: "error", Detail: strings.TrimSpace(fmt.Sprintln(v...))})
}

// smtpReadTimeout is the server timeout of RFC 5321 §4.5.3.2.7 (5
// minutes) for each command line, the DATA block and the implicit TLS
// handshake; a variable so tests can shorten it.
var smtpReadTimeout = 5 * time.Minute

func (o *Operator) newSMTPServer(name string, starttls *tls.Config) *smtpd.Server {
	s := smtpd.NewServer(smtpd.BackendFunc(func(c *smtpd.Conn) (smtp.Session, error) { return o.newSMTPSession(name, c) }))
	s.Domain = "localhost"
	s.TLSConfig = starttls
	// AUTH before TLS must get 530 (RFC 4954 §6), which go-smtp cannot
	// say itself (it answers 523 5.7.10): the session refuses instead, and
	// offers no mechanism in cleartext.
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = o.cfg.MaxMessageBytes
	s.MaxRecipients = 100
	s.EnableDSN = true
	s.EnableSMTPUTF8 = true
	s.ReadTimeout = smtpReadTimeout
	s.WriteTimeout = time.Minute
	s.ErrorLog = smtpLog{o.rec, name}
	return s
}

// faultListener applies the connect and delay-connect faults before
// go-smtp greets.
type faultListener struct {
	net.Listener
	o    *Operator
	name string
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.o.rec.add(Event{Proto: "smtp", Listener: l.name, Kind: "connect", Remote: c.RemoteAddr().String()})
		if f, ok := l.o.faults.fire(FaultConnect); ok {
			l.o.rec.add(Event{Proto: "smtp", Listener: l.name, Kind: KindFault, Fault: f.String(), Code: f.Code, Remote: c.RemoteAddr().String()})
			go l.refuse(c, f)
			continue
		}
		if f, ok := l.o.faults.fire(FaultDelayConnect); ok {
			l.o.rec.add(Event{Proto: "smtp", Listener: l.name, Kind: KindFault, Fault: f.String(), Remote: c.RemoteAddr().String()})
			return &delayedConn{Conn: c, delay: f.Delay, sleep: l.o.sleep}, nil
		}
		return c, nil
	}
}

// delayedConn holds its first write (the greeting) for delay.
type delayedConn struct {
	net.Conn
	delay time.Duration
	sleep func(time.Duration)
	once  sync.Once
}

func (c *delayedConn) Write(b []byte) (int, error) {
	c.once.Do(func() { c.sleep(c.delay) })
	return c.Conn.Write(b)
}

// refuse greets with the connect fault's code. After 554 the server must
// wait for QUIT and answer 503 meanwhile (RFC 5321 §3.1); after 421 it
// closes (§3.8).
func (l *faultListener) refuse(c net.Conn, f Fault) {
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-l.o.done:
		case <-finished:
		}
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(smtpReadTimeout))
	ec := faultCode(f)
	fmt.Fprintf(c, "%d %d.%d.%d mock fault %s: connection refused\r\n", f.Code, ec[0], ec[1], ec[2], f)
	if f.Code < 500 {
		return
	}
	br := bufio.NewReader(c)
	for range 100 {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(smtpReadTimeout))
		if strings.EqualFold(strings.TrimSpace(line), "QUIT") {
			fmt.Fprint(c, "221 2.0.0 Bye\r\n")
			return
		}
		fmt.Fprint(c, "503 5.5.1 Bad sequence of commands: this server refused the connection\r\n")
	}
}

// faultCode is the enhanced status code (RFC 3463) of a fault reply: X.3.2
// "system not accepting network messages" on connect, X.7.0 on AUTH (as
// 454 4.7.0 in RFC 4954 §6; 535 is 5.7.8), X.3.0 otherwise.
func faultCode(f Fault) smtp.EnhancedCode {
	class := 4
	if f.Code >= 500 {
		class = 5
	}
	switch {
	case f.Name == FaultConnect:
		return smtp.EnhancedCode{class, 3, 2}
	case f.Name == FaultAuth && f.Code == 535:
		return smtp.EnhancedCode{5, 7, 8}
	case f.Name == FaultAuth:
		return smtp.EnhancedCode{class, 7, 0}
	}
	return smtp.EnhancedCode{class, 3, 0}
}

// smtpErr builds a reply whose text is US-ASCII, as RFC 5321 §4.2 has it
// (textstring: HT and 32-126): rule texts and sources quoted in it
// ("MSSanté", "§", « ») are transliterated, so a strict client does not
// reject the reply.
func smtpErr(code int, ec smtp.EnhancedCode, format string, args ...any) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: asciiText(fmt.Sprintf(format, args...))}
}

// asciiText drops accents (é → e) and replaces the other non-ASCII
// characters with an ASCII look-alike or "?".
func asciiText(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
		case r == '«' || r == '»' || r == '“' || r == '”':
			b.WriteByte('"')
		case r == '‘' || r == '’':
			b.WriteByte('\'')
		case r == '§':
			b.WriteString("sec.")
		case r == '…':
			b.WriteString("...")
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func faultErr(f Fault, phase string) *smtp.SMTPError {
	return smtpErr(f.Code, faultCode(f), "mock fault %s: %s refused", f.String(), phase)
}

type rcpt struct {
	addr string
	opts smtp.RcptOptions
}

type smtpSession struct {
	o        *Operator
	conn     *smtpd.Conn
	listener string
	remote   string
	tls      bool
	user     string // authenticated mailbox
	from     string
	mailOpts smtp.MailOptions
	rcpts    []rcpt
	held     int64 // in-flight budget taken by the message being received
	// prepaid is the in-flight budget reserved by MAIL FROM SIZE=, not yet
	// used. Atomic: go-smtp's Server.Close calls Logout from another
	// goroutine while DATA may be running.
	prepaid atomic.Int64
}

func (o *Operator) newSMTPSession(name string, c *smtpd.Conn) (smtp.Session, error) {
	s := &smtpSession{o: o, conn: c, listener: name, remote: c.Conn().RemoteAddr().String()}
	s.delay(FaultDelayEHLO)
	st, ok := c.TLSConnectionState()
	s.tls = ok
	if ok {
		// Applicative mailboxes: a verified client certificate logs in
		// without AUTH (research mssante.md §2, APP mailboxes).
		if addr := o.certAccount(st); addr != "" {
			s.user = addr
			s.event(Event{Kind: "auth", User: addr, Detail: "TLS client certificate"})
		}
	}
	return s, nil
}

func (s *smtpSession) event(e Event) {
	e.Proto, e.Listener, e.Remote = "smtp", s.listener, s.remote
	if e.User == "" {
		e.User = s.user
	}
	s.o.rec.add(e)
}

// delay applies a delay-* fault.
func (s *smtpSession) delay(name string) { s.delayFor(name, "", nil) }

// delayFor applies a delay-* fault that may select the envelope.
func (s *smtpSession) delayFor(name, from string, to []string) {
	if f, ok := s.o.faults.fireFor(name, from, to); ok {
		s.event(Event{Kind: KindFault, Fault: f.String()})
		s.o.sleep(f.Delay)
	}
}

// phaseFault applies a phase-code fault.
func (s *smtpSession) phaseFault(name string) error { return s.phaseFaultFor(name, "", nil) }

// phaseFaultFor applies a phase-code fault that may select the envelope.
func (s *smtpSession) phaseFaultFor(name, from string, to []string) error {
	if f, ok := s.o.faults.fireFor(name, from, to); ok {
		s.event(Event{Kind: KindFault, Fault: f.String(), Code: f.Code})
		return faultErr(f, name)
	}
	return nil
}

var errNeedTLS = smtpErr(530, smtp.EnhancedCode{5, 7, 0}, "Must issue a STARTTLS command first")

func (s *smtpSession) AuthMechanisms() []string {
	if !s.tls {
		return nil
	}
	mechs := []string{mechPlain, mechLogin, mechXOAuth2, mechOAuthBearer}
	if st, _ := s.conn.TLSConnectionState(); certAddress(st) != "" {
		mechs = append(mechs, mechExternal)
	}
	return mechs
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	s.delay(FaultDelayAuth)
	if !s.tls {
		s.event(Event{Kind: "auth", Code: 530, Detail: mech + " before TLS"})
		return nil, errNeedTLS
	}
	if err := s.phaseFault(FaultAuth); err != nil {
		return nil, err
	}
	srv := s.o.saslFor(mech, s.AuthMechanisms(), func(kind, user, secret string) error {
		addr, ok := "", false
		if kind == mechExternal {
			st, _ := s.conn.TLSConnectionState()
			addr = s.o.certAccount(st)
			ok = addr != "" && (user == "" || strings.EqualFold(user, addr))
		} else {
			addr, ok = s.o.checkCredential(kind, user, secret)
		}
		if !ok {
			// The user name is logged, never the secret.
			s.event(Event{Kind: "auth", User: strings.ToLower(user), Code: 535, Detail: kind + " failed"})
			return smtpErr(535, smtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid")
		}
		s.user = addr
		s.event(Event{Kind: "auth", Code: 235, Detail: kind})
		return nil
	}, func(err error) error {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return err
		}
		s.event(Event{Kind: "auth", Code: 501, Detail: mech + " malformed response"})
		return smtpErr(501, smtp.EnhancedCode{5, 5, 2}, "Malformed %s response", mech)
	})
	if srv == nil {
		s.event(Event{Kind: "auth", Code: 504, Detail: mech + " not offered"})
		return nil, smtpErr(504, smtp.EnhancedCode{5, 5, 4}, "Unrecognized authentication type %s", mech)
	}
	return srv, nil
}

func (s *smtpSession) Reset() {
	s.from, s.rcpts, s.mailOpts = "", nil, smtp.MailOptions{}
	s.releasePrepaid()
}

func (s *smtpSession) Logout() error {
	s.releasePrepaid()
	return nil
}

// reserveSize reserves the message size a client declared (RFC 1870):
// past the in-flight budget, MAIL gets 452 4.3.1 (RFC 1870 §6.2) before
// any byte of the message is sent.
func (s *smtpSession) reserveSize(opts *smtp.MailOptions) error {
	if opts == nil || opts.Size <= 0 {
		return nil
	}
	if !s.o.inflight.take(opts.Size) {
		return errSMTPBusy(s.o.inflight.max)
	}
	s.prepaid.Store(opts.Size)
	return nil
}

func (s *smtpSession) releasePrepaid() {
	s.o.inflight.give(s.prepaid.Swap(0))
}

func (s *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	s.delayFor(FaultDelayMail, from, nil)
	err := s.mail(from, opts)
	if err == nil {
		if err = s.reserveSize(opts); err != nil {
			s.Reset()
		}
	}
	e := Event{Kind: "mail", From: from, Code: 250}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e.Code, e.Detail = se.Code, se.Message
	}
	s.event(e)
	return err
}

func (s *smtpSession) mail(from string, opts *smtp.MailOptions) error {
	if !s.tls {
		return errNeedTLS
	}
	if s.user == "" {
		return smtpErr(530, smtp.EnhancedCode{5, 7, 0}, "Authentication required")
	}
	if err := s.phaseFaultFor(FaultMail, from, nil); err != nil {
		return err
	}
	if !strings.EqualFold(from, s.user) {
		return smtpErr(553, smtp.EnhancedCode{5, 7, 1}, "[%s] sender <%s> is not the authenticated mailbox %s", RuleSender, from, s.user)
	}
	if err := s.rateLimited(); err != nil {
		return err
	}
	s.from = strings.ToLower(from)
	if opts != nil {
		s.mailOpts = *opts
	}
	return nil
}

func (s *smtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	to = strings.ToLower(strings.TrimSpace(to))
	s.delayFor(FaultDelayRcpt, s.from, []string{to})
	err := s.rcpt(to)
	e := Event{Kind: "rcpt", From: s.from, To: []string{to}, Code: 250}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e.Code, e.Detail = se.Code, se.Message
		e.Rule = ruleOf(se.Message)
	}
	s.event(e)
	if err != nil {
		return err
	}
	for _, r := range s.rcpts {
		if r.addr == to {
			return nil // the same mailbox twice gets one copy
		}
	}
	r := rcpt{addr: to}
	if opts != nil {
		r.opts = *opts
	}
	s.rcpts = append(s.rcpts, r)
	return nil
}

// ruleOf extracts the "[RULE]" prefix of a refusal text.
func ruleOf(msg string) string {
	if strings.HasPrefix(msg, "[") {
		if i := strings.IndexByte(msg, ']'); i > 0 {
			return msg[1:i]
		}
	}
	return ""
}

func (s *smtpSession) rcpt(to string) error {
	if s.from == "" {
		return smtpErr(503, smtp.EnhancedCode{5, 5, 1}, "MAIL first")
	}
	if err := s.phaseFaultFor(FaultRcpt, s.from, []string{to}); err != nil {
		return err
	}
	if s.o.faults.greylisted(s.from, to) {
		s.event(Event{Kind: KindFault, Fault: FaultGreylist, Code: 451, To: []string{to}})
		return smtpErr(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted (mock fault), please try again later")
	}
	return s.o.route(s.from, to)
}

// route applies the address rules of one recipient (RCPT time).
func (o *Operator) route(from, to string) error {
	switch {
	case o.isCitizen(to):
		if err := o.citizenAddressError(to); err != nil {
			return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "[%s] %v", RuleCitizenAddress, err)
		}
		if o.isCitizen(from) {
			return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "[%s] a citizen mailbox cannot write to another citizen", RuleCitizenFirst)
		}
		if !o.trusted(from) {
			return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "[%s] sender domain %s is not in the MSSanté trust space (ANS whitelist)", RuleTrustSpace, domainOf(from))
		}
		return nil
	case o.isEstablishment(to):
		if u, _ := o.store.user(to, false); u == nil {
			return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "<%s>: no such mailbox", to)
		}
		if o.isCitizen(from) {
			if rule, err := o.threads.mayReply(from, to, nil); err != nil {
				return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "[%s] %v", rule, err)
			}
		}
		return nil
	}
	return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "relay denied: domain %s is not served by this mock operator", domainOf(to))
}

func (s *smtpSession) Data(r io.Reader) error {
	defer func() { s.o.inflight.give(s.held); s.held = 0 }()
	to := rcptAddrs(s.rcpts)
	s.delayFor(FaultDelayData, s.from, to)
	received := s.receivedLine()
	msg, err := s.readData(r, to, traceRoom(s.from, received))
	if err == nil {
		err = s.phaseFaultFor(FaultData, s.from, to)
	}
	var res *delivery
	if err == nil {
		res, err = s.o.accept(s.from, s.rcpts, &s.mailOpts, msg, received)
	}
	size := 0
	if msg != nil {
		size = len(msg.raw())
	}
	e := Event{Kind: "data", From: s.from, To: to, Code: 250, Detail: fmt.Sprintf("%d bytes", size)}
	if res != nil {
		e.MessageID = res.messageID
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e.Code, e.Detail, e.Rule = se.Code, se.Message, ruleOf(se.Message)
	} else if err != nil {
		e.Code, e.Detail = 451, err.Error()
	}
	s.event(e)
	if res != nil {
		s.o.afterAccept(res)
	}
	return err
}

// traceRoom is the room left before a received message for the header
// lines accept prepends: Return-Path and Received (known now), the
// conformance line (at most maxVerdictFindings rule IDs) and a
// Message-ID the mock may add.
func traceRoom(from, received string) int {
	return len("Return-Path: <"+from+">\r\n") + len(received) + 1024
}

func rcptAddrs(rs []rcpt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.addr
	}
	return out
}

func (s *smtpSession) readData(r io.Reader, to []string, room int) (*spooled, error) {
	if _, ok := s.o.faults.fireFor(FaultDropData, s.from, to); ok {
		s.event(Event{Kind: KindFault, Fault: FaultDropData})
		io.CopyN(io.Discard, r, 512)
		s.conn.Close()
		return nil, errors.New("mock fault drop-data: connection dropped during DATA")
	}
	// Held against the operator's in-flight budget until Data returns,
	// that is until the message is stored and what it triggers is sent.
	credit := s.prepaid.Swap(0)
	msg, held, err := s.o.inflight.readBudgeted(r, credit, room)
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return nil, smtpErr(552, smtp.EnhancedCode{5, 3, 4}, "[%s] message exceeds the MSSanté limit of %d bytes", RuleSize, s.o.cfg.MaxMessageBytes)
		}
		return nil, err
	}
	s.held += held
	return msg, nil
}

func (s *smtpSession) receivedLine() string {
	with := "ESMTPS"
	if s.user != "" {
		with = "ESMTPSA"
	}
	return fmt.Sprintf("Received: from %s (%s)\r\n\tby localhost (msscprobe mock) with %s;\r\n\t%s\r\n",
		s.conn.Hostname(), s.remote, with, time.Now().Format(time.RFC1123Z))
}

var _ smtp.AuthSession = (*smtpSession)(nil)
