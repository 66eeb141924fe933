package mocks

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
	"github.com/msscprobe/msscprobe/mocks/internal/imapmem"
)

type imapLog struct{ rec *recorder }

func (l imapLog) Printf(format string, v ...any) {
	l.rec.add(Event{Proto: "imap", Kind: "error", Detail: fmt.Sprintf(format, v...)})
}

func (o *Operator) newIMAPServer() *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return o.newIMAPSession(c), nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
			imap.CapUIDPlus: {}, imap.CapMove: {}, imap.CapNamespace: {}, imap.CapIdle: {},
			imap.CapSpecialUse: {}, imap.CapChildren: {},
		},
		Logger: imapLog{o.rec},
		// The gate under every connection does STARTTLS and refuses
		// authentication before TLS (imapGate): imapserver sees only
		// plaintext, always over TLS once a client may log in.
		InsecureAuth: true,
	})
}

// imapSession serves one IMAP connection. Reads go straight to the
// imapmem session; every mutation goes through the user's store so
// that it is journaled (see store).
type imapSession struct {
	*imapmem.UserSession // nil until authenticated

	o        *Operator
	conn     *imapserver.Conn
	listener string
	remote   string
	box      *mailUser
	// selectedName is the selected mailbox: imapmem does not expose
	// it and journal records need it.
	selectedName string
}

func (o *Operator) newIMAPSession(c *imapserver.Conn) *imapSession {
	s := &imapSession{o: o, conn: c, remote: c.NetConn().RemoteAddr().String(), listener: lnIMAP}
	if la, ok := c.NetConn().LocalAddr().(*net.TCPAddr); ok && la.String() == o.addrs[lnIMAPS] {
		s.listener = lnIMAPS
	}
	s.event(Event{Kind: "connect"})
	return s
}

func (s *imapSession) event(e Event) {
	e.Proto, e.Listener, e.Remote = "imap", s.listener, s.remote
	if e.User == "" && s.box != nil {
		e.User = s.box.addr
	}
	s.o.rec.add(e)
}

func (s *imapSession) Close() error {
	s.event(Event{Kind: "close"})
	if s.UserSession != nil {
		return s.UserSession.Close()
	}
	return nil
}

var errIMAPAuth = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Authentication failed"}

// loginAs opens the mailbox of an authenticated account.
func (s *imapSession) loginAs(addr, how string) error {
	u, err := s.o.store.user(addr, true)
	if err != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: err.Error()}
	}
	s.box = u
	s.UserSession = imapmem.NewUserSession(u.mem)
	if g := gateOf(s.conn.NetConn()); g != nil {
		g.authenticated()
	}
	s.event(Event{Kind: "login", Detail: how})
	return nil
}

func (s *imapSession) Login(username, password string) error {
	addr, ok := s.o.checkCredential(mechPlain, username, password)
	if !ok {
		s.event(Event{Kind: "login", User: strings.ToLower(username), Detail: "LOGIN failed"})
		return errIMAPAuth
	}
	return s.loginAs(addr, "LOGIN")
}

func (s *imapSession) AuthenticateMechanisms() []string {
	mechs := []string{mechPlain, mechLogin, mechXOAuth2, mechOAuthBearer}
	if st, ok := tlsState(s.conn.NetConn()); ok && certAddress(st) != "" {
		mechs = append(mechs, mechExternal)
	}
	return mechs
}

func (s *imapSession) Authenticate(mech string) (sasl.Server, error) {
	srv := s.o.saslFor(mech, s.AuthenticateMechanisms(), func(kind, user, secret string) error {
		addr, ok := "", false
		if kind == mechExternal {
			if st, isTLS := tlsState(s.conn.NetConn()); isTLS {
				addr = s.o.certAccount(st)
			}
			ok = addr != "" && (user == "" || strings.EqualFold(user, addr))
		} else {
			addr, ok = s.o.checkCredential(kind, user, secret)
		}
		if !ok {
			s.event(Event{Kind: "login", User: strings.ToLower(user), Detail: kind + " failed"})
			return errIMAPAuth
		}
		return s.loginAs(addr, kind)
	}, func(err error) error {
		var ie *imap.Error
		if errors.As(err, &ie) {
			return err
		}
		s.event(Event{Kind: "login", Detail: mech + " malformed response"})
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Malformed " + mech + " response"}
	})
	if srv == nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
	}
	return srv, nil
}

func (s *imapSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.UserSession.Select(name, options)
	if err == nil {
		s.selectedName = name
	}
	return data, err
}

func (s *imapSession) Unselect() error {
	s.selectedName = ""
	return s.UserSession.Unselect()
}

func (s *imapSession) Create(name string, options *imap.CreateOptions) error {
	r := record{Op: opCreate, Mbox: strings.TrimRight(name, "/")}
	if options != nil && len(options.SpecialUse) == 1 {
		r.Attr = options.SpecialUse[0]
	}
	return s.box.do(r, nil)
}

// errKeepInbox refuses DELETE INBOX (an error by RFC 9051 §6.3.4) and
// RENAME INBOX (its special semantics are not implemented): either would
// leave the account without the mailbox every delivery goes to.
var errKeepInbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted or renamed"}

func (s *imapSession) Delete(name string) error {
	if strings.EqualFold(name, "INBOX") {
		return errKeepInbox
	}
	return s.box.do(record{Op: opDelete, Mbox: name}, nil)
}

func (s *imapSession) Rename(name, newName string, _ *imap.RenameOptions) error {
	if strings.EqualFold(name, "INBOX") {
		return errKeepInbox
	}
	return s.box.do(record{Op: opRename, Mbox: name, To: strings.TrimRight(newName, "/")}, nil)
}

func (s *imapSession) Subscribe(name string) error {
	return s.box.do(record{Op: opSub, Mbox: name, On: true}, nil)
}

func (s *imapSession) Unsubscribe(name string) error {
	return s.box.do(record{Op: opSub, Mbox: name}, nil)
}

func (s *imapSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	// The literal's size is known before its bytes: reserve it against the
	// operator's in-flight budget (imapserver discards the literal when
	// this refuses), and read it into one buffer of that size.
	size := r.Size()
	if !s.o.inflight.take(size) {
		s.event(Event{Kind: "append", Detail: fmt.Sprintf("%s: %d bytes refused, in-flight budget exhausted", mailbox, size)})
		return nil, errIMAPBusy(s.o.inflight.max)
	}
	defer s.o.inflight.give(size)
	buf := make([]byte, size)
	// The literal reader ends with a plain EOF when the client goes away
	// mid-literal: never store the truncated message.
	if n, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("APPEND literal cut after %d of %d bytes: %w", n, size, err)
	}
	t := time.Now()
	var flags []imap.Flag
	if options != nil {
		flags = options.Flags
		if !options.Time.IsZero() {
			t = options.Time
		}
	}
	uid, err := s.box.appendMsg(mailbox, buf, flags, t, s.o.store.onAppend)
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeNonExistent {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	} else if err != nil {
		return nil, err
	}
	s.event(Event{Kind: "append", Detail: fmt.Sprintf("%s UID %d, %d bytes", mailbox, uid, len(buf))})
	st, _ := s.box.mem.Status(mailbox, &imap.StatusOptions{UIDValidity: true})
	return &imap.AppendData{UID: uid, UIDValidity: st.UIDValidity}, nil
}

// AppendLimit makes APPEND refuse a literal over the message size limit
// before reading it (imapserver's default is 100 MiB, buffered in memory).
// Before login it is 0: imapserver reads an APPEND literal (for up to 5
// minutes) before it checks that the client is logged in, so any
// non-empty one is refused at once (NO [TOOBIG]) instead.
func (s *imapSession) AppendLimit() uint32 {
	if s.box == nil {
		return 0
	}
	return uint32(min(s.o.cfg.MaxMessageBytes, math.MaxUint32))
}

// uids resolves a sequence or UID set of the selected mailbox to UIDs, as
// this session sees it.
func (s *imapSession) uids(numSet imap.NumSet) (imap.UIDSet, error) {
	c := &imap.SearchCriteria{}
	switch ns := numSet.(type) {
	case imap.SeqSet:
		c.SeqNum = []imap.SeqSet{ns}
	case imap.UIDSet:
		c.UID = []imap.UIDSet{ns}
	}
	data, err := s.UserSession.Search(imapserver.NumKindUID, c, &imap.SearchOptions{})
	if err != nil {
		return nil, err
	}
	set, _ := data.All.(imap.UIDSet)
	return set, nil
}

// mutate runs f with the user's store lock held and journals r (with UIDs
// resolved from numSet) when f succeeds; f does not run when numSet names
// no message.
func (s *imapSession) mutate(numSet imap.NumSet, r record, f func() error) error {
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	if err := s.box.writable(); err != nil {
		return err
	}
	uids, err := s.uids(numSet)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		// imapmemserver would answer a COPY or MOVE of nothing with a
		// COPYUID of empty sets, a syntax error that breaks clients.
		if _, err := s.box.mem.Status(r.To, &imap.StatusOptions{}); r.To != "" && err != nil {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
		}
		return nil
	}
	if err := f(); err != nil {
		return err
	}
	r.Mbox, r.UIDs = s.selectedName, uids
	return s.box.journal(r, nil)
}

func (s *imapSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	return s.mutate(numSet, record{Op: opStore, Store: flags.Op, Flags: flags.Flags}, func() error {
		return s.UserSession.Store(w, numSet, flags, options)
	})
}

func (s *imapSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	var data *imap.CopyData
	err := s.mutate(numSet, record{Op: opCopy, To: dest}, func() error {
		var err error
		data, err = s.UserSession.Copy(numSet, dest)
		return err
	})
	return data, err
}

func (s *imapSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	return s.mutate(numSet, record{Op: opMove, To: dest}, func() error {
		return s.UserSession.Move(w, numSet, dest)
	})
}

func (s *imapSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	c := &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDeleted}}
	if uids != nil {
		c.UID = []imap.UIDSet{*uids}
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	if err := s.box.writable(); err != nil {
		return err
	}
	data, err := s.UserSession.Search(imapserver.NumKindUID, c, &imap.SearchOptions{})
	if err != nil {
		return err
	}
	gone, _ := data.All.(imap.UIDSet)
	if err := s.UserSession.Expunge(w, uids); err != nil {
		return err
	}
	if len(gone) == 0 {
		return nil
	}
	return s.box.journal(record{Op: opExpunge, Mbox: s.selectedName, UIDs: gone}, nil)
}

// Fetch of a non-peek body section sets \Seen: it is done here as a
// journaled STORE so it survives a restart, then the fetch runs in peek
// mode.
func (s *imapSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	seen := false
	for _, bs := range options.BodySection {
		if !bs.Peek {
			seen = true
		}
	}
	if seen {
		flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
		if err := s.Store(nil, numSet, flags, nil); err != nil {
			return err
		}
		// The \Seen just set is returned with the body (RFC 9051 §6.4.5):
		// the silent STORE above told only the other sessions.
		opts := *options
		opts.Flags = true
		opts.BodySection = make([]*imap.FetchItemBodySection, len(options.BodySection))
		for i, bs := range options.BodySection {
			peek := *bs
			peek.Peek = true
			opts.BodySection[i] = &peek
		}
		options = &opts
	}
	return s.UserSession.Fetch(w, numSet, options)
}

func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if f, ok := s.o.faults.fire(FaultIMAPIdleDrop); ok {
		s.event(Event{Kind: KindFault, Fault: f.String()})
		s.conn.NetConn().Close()
		return fmt.Errorf("mock fault %s: connection dropped during IDLE", f.Name)
	}
	s.event(Event{Kind: "idle"})
	return s.UserSession.Idle(w, stop)
}

var _ imapserver.SessionIMAP4rev2 = (*imapSession)(nil)
var _ imapserver.SessionSASL = (*imapSession)(nil)
var _ imapserver.SessionAppendLimit = (*imapSession)(nil)
