package mocks

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks/internal/imapmem"
)

// store holds every mailbox. imapmemserver keeps the messages in memory and
// serves IMAP (including IDLE notification: an append wakes idling
// sessions at once). With a directory, every mutation is also appended to a
// per-user journal that is replayed at start: replaying the same operations
// in the same order reproduces the same UIDs and UIDVALIDITY values, so
// clients' caches stay valid across a restart.
//
// Durability: a journal record is written (write(2), no user-space
// buffering) before the mutation is acknowledged (SMTP 250, IMAP OK), so it
// survives a crash of the mock process; files are fsync'd every second and
// on Close, so a clean shutdown loses nothing and a power loss loses at
// most the last second.
type store struct {
	dir      string
	onAppend func(owner, mailbox string, raw []byte) // thread bookkeeping, also run on replay
	warn     func(check.Text)                        // what replay dropped or redid

	mu     sync.RWMutex
	users  map[string]*mailUser
	closed bool

	stopSync chan struct{}
	syncDone chan struct{}
}

// mailUser is one mailbox owner. mu orders mutations with their journal
// records so that replay reproduces the live state exactly.
type mailUser struct {
	addr string
	mem  *imapmem.User

	mu     sync.Mutex
	j      *os.File
	dirty  bool
	closed bool // journal closed: no more mutations (see store.close)
}

// errStoreClosed refuses a mutation that could no longer be journaled, so
// nothing is acknowledged that a restart would lose.
var errStoreClosed = errors.New("mailbox store closed")

// Standard mailboxes every user gets.
var defaultMailboxes = []struct {
	name string
	attr imap.MailboxAttr
}{{"INBOX", ""}, {"Sent", imap.MailboxAttrSent}}

// record is one journal entry. An append record is followed by Size bytes
// of message and a newline.
type record struct {
	Op    string            `json:"op"`
	Mbox  string            `json:"mbox,omitempty"`
	To    string            `json:"to,omitempty"`
	Attr  imap.MailboxAttr  `json:"attr,omitempty"`
	On    bool              `json:"on,omitempty"`
	Flags []imap.Flag       `json:"flags,omitempty"`
	Store imap.StoreFlagsOp `json:"store,omitempty"`
	UIDs  imap.UIDSet       `json:"uids,omitempty"`
	Time  time.Time         `json:"time,omitzero"`
	Size  int64             `json:"size,omitempty"`
	Addr  string            `json:"addr,omitempty"`
}

const (
	opUser    = "user"
	opCreate  = "create"
	opDelete  = "delete"
	opRename  = "rename"
	opSub     = "subscribe"
	opAppend  = "append"
	opStore   = "store"
	opExpunge = "expunge"
	opCopy    = "copy"
	opMove    = "move"
)

func openStore(dir string, onAppend func(owner, mailbox string, raw []byte), warn func(check.Text)) (*store, error) {
	if warn == nil {
		warn = func(check.Text) {}
	}
	s := &store{dir: dir, onAppend: onAppend, warn: warn, users: map[string]*mailUser{}}
	if dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store directory %s: %w", dir, err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		u, err := s.replay(name)
		if err != nil {
			for _, u := range s.users {
				u.j.Close()
			}
			return nil, err
		}
		if u != nil {
			s.users[u.addr] = u
		}
	}
	s.stopSync, s.syncDone = make(chan struct{}), make(chan struct{})
	go s.syncLoop()
	return s, nil
}

// journalName maps an address to a file name: readable when the address
// is made of safe characters, hex otherwise.
func journalName(addr string) string {
	safe := addr != "" && !strings.HasPrefix(addr, ".")
	for _, c := range addr {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("@.-_+", c)) {
			safe = false
			break
		}
	}
	if safe {
		return addr + ".journal"
	}
	return "x-" + hex.EncodeToString([]byte(addr)) + ".journal"
}

// apply performs a journal record on the in-memory user.
func (u *mailUser) apply(r record, body []byte) error {
	switch r.Op {
	case opCreate:
		var opts *imap.CreateOptions
		if r.Attr != "" {
			opts = &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{r.Attr}}
		}
		return u.mem.Create(r.Mbox, opts)
	case opDelete:
		return u.mem.Delete(r.Mbox)
	case opRename:
		return u.mem.Rename(r.Mbox, r.To, nil)
	case opSub:
		if r.On {
			return u.mem.Subscribe(r.Mbox)
		}
		return u.mem.Unsubscribe(r.Mbox)
	case opAppend:
		_, err := u.mem.Append(r.Mbox, bytesLiteral(body), &imap.AppendOptions{Flags: r.Flags, Time: r.Time})
		return err
	}
	sess := imapmem.NewUserSession(u.mem)
	defer sess.Close()
	if _, err := sess.Select(r.Mbox, nil); err != nil {
		return err
	}
	switch r.Op {
	case opStore:
		return sess.Store(nil, r.UIDs, &imap.StoreFlags{Op: r.Store, Silent: true, Flags: r.Flags}, nil)
	case opExpunge:
		return sess.Expunge(nil, &r.UIDs)
	case opCopy:
		_, err := sess.Copy(r.UIDs, r.To)
		return err
	case opMove:
		// MOVE = copy, then expunge the sources (RFC 6851 §3.3); the
		// flags copied are those before \Deleted is set, as in imapmem.
		if _, err := sess.Copy(r.UIDs, r.To); err != nil {
			return err
		}
		if err := sess.Store(nil, r.UIDs, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil); err != nil {
			return err
		}
		return sess.Expunge(nil, &r.UIDs)
	}
	return fmt.Errorf("unknown operation %q", r.Op)
}

// journal appends r (and body) to the user's journal; u.mu must be held.
func (u *mailUser) journal(r record, body []byte) error {
	if err := u.writable(); err != nil {
		return err
	}
	if u.j == nil {
		return nil
	}
	hdr, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// Written from the caller's bytes, not a copy of them: a message is
	// held once in memory. A crash between the writes leaves a torn last
	// record, which recovery drops.
	bufs := [][]byte{append(hdr, '\n')}
	if r.Op == opAppend {
		bufs = append(bufs, body, []byte{'\n'})
	}
	if err := writeAll(u.j, bufs); err != nil {
		return fmt.Errorf("store journal for %s: %w", u.addr, err)
	}
	u.dirty = true
	return nil
}

// writable says whether a mutation may start; u.mu must be held.
func (u *mailUser) writable() error {
	if u.closed {
		return errStoreClosed
	}
	return nil
}

// do applies r live and journals it, atomically with respect to the user's
// other mutations.
func (u *mailUser) do(r record, body []byte) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.writable(); err != nil {
		return err
	}
	if err := u.apply(r, body); err != nil {
		return err
	}
	return u.journal(r, body)
}

// user returns the mailbox owner addr, creating it with INBOX and Sent when
// create is set.
func (s *store) user(addr string, create bool) (*mailUser, error) {
	s.mu.RLock()
	u := s.users[addr]
	s.mu.RUnlock()
	if u != nil || !create {
		return u, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[addr]; u != nil {
		return u, nil
	}
	if s.closed {
		return nil, errStoreClosed
	}
	u = &mailUser{addr: addr, mem: imapmem.NewUser(addr, "")}
	if s.dir != "" {
		f, err := os.OpenFile(filepath.Join(s.dir, journalName(addr)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: create mailbox of %s: %w", addr, err)
		}
		u.j = f
	}
	if err := u.journal(record{Op: opUser, Addr: addr}, nil); err != nil {
		return nil, err
	}
	for _, m := range defaultMailboxes {
		if err := u.do(record{Op: opCreate, Mbox: m.name, Attr: m.attr}, nil); err != nil {
			return nil, err
		}
	}
	s.users[addr] = u
	return u, nil
}

// deliver appends raw to the mailbox of addr (created when missing) and
// returns the UID. IMAP sessions idling on it are woken at once.
func (s *store) deliver(addr, mailbox string, raw []byte, flags []imap.Flag) (imap.UID, error) {
	u, err := s.user(addr, true)
	if err != nil {
		return 0, err
	}
	return u.appendMsg(mailbox, raw, flags, time.Now(), s.onAppend)
}

func (u *mailUser) appendMsg(mailbox string, raw []byte, flags []imap.Flag, t time.Time, onAppend func(owner, mailbox string, raw []byte)) (imap.UID, error) {
	r := record{Op: opAppend, Mbox: mailbox, Flags: flags, Time: t.UTC().Truncate(time.Millisecond), Size: int64(len(raw))}
	u.mu.Lock()
	defer u.mu.Unlock()
	// Journal first: if the disk refuses, nothing becomes visible and the
	// client gets an error, so a retry cannot duplicate the message.
	if _, err := u.mem.Status(mailbox, &imap.StatusOptions{}); err != nil {
		return 0, err
	}
	if err := u.journal(r, raw); err != nil {
		return 0, err
	}
	data, err := u.mem.Append(mailbox, bytesLiteral(raw), &imap.AppendOptions{Flags: flags, Time: r.Time})
	if err != nil {
		return 0, err
	}
	if onAppend != nil {
		onAppend(u.addr, mailbox, raw)
	}
	return data.UID, nil
}

func (s *store) syncLoop() {
	defer close(s.syncDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stopSync:
			return
		case <-t.C:
			s.syncAll()
		}
	}
}

func (s *store) syncAll() error {
	s.mu.RLock()
	users := make([]*mailUser, 0, len(s.users))
	for _, u := range s.users {
		users = append(users, u)
	}
	s.mu.RUnlock()
	var errs []error
	for _, u := range users {
		u.mu.Lock()
		if u.j != nil && u.dirty {
			if err := u.j.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("store sync %s: %w", u.addr, err))
			}
			u.dirty = false
		}
		u.mu.Unlock()
	}
	return errors.Join(errs...)
}

// close fsyncs and closes every journal.
func (s *store) close() error {
	if s.dir == "" {
		return nil
	}
	close(s.stopSync)
	<-s.syncDone
	err := s.syncAll()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, u := range s.users {
		u.mu.Lock()
		if u.j != nil {
			err = errors.Join(err, u.j.Close())
			u.j = nil
		}
		u.closed = true
		u.mu.Unlock()
	}
	return err
}

// literal adapts a byte slice to imap.LiteralReader; Bytes lets the
// in-memory mailbox keep the slice itself rather than a copy.
type literal struct {
	*bytes.Reader
	b []byte
}

func writeAll(w io.Writer, bufs [][]byte) error {
	for _, b := range bufs {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (l literal) Bytes() []byte { return l.b }

func bytesLiteral(b []byte) literal { return literal{bytes.NewReader(b), b} }
