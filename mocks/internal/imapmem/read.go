package imapmem

import (
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
)

// MessageInfo describes a stored message for readers outside IMAP. Raw is
// the stored message itself, shared: callers must not modify it (stored
// messages are immutable).
type MessageInfo struct {
	UID   imap.UID
	Flags []imap.Flag
	Time  time.Time
	Size  int64
	Raw   []byte
}

// Mailboxes returns the names of the user's mailboxes, sorted.
func (u *User) Mailboxes() []string {
	u.mutex.Lock()
	defer u.mutex.Unlock()
	out := make([]string, 0, len(u.mailboxes))
	for name := range u.mailboxes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Messages lists the messages of mailbox name in UID order, at most limit
// of them after UID after (limit <= 0: all).
func (u *User) Messages(name string, after imap.UID, limit int) ([]MessageInfo, error) {
	mbox, err := u.mailbox(name)
	if err != nil {
		return nil, err
	}
	mbox.mutex.Lock()
	defer mbox.mutex.Unlock()
	var out []MessageInfo
	i := sort.Search(len(mbox.l), func(i int) bool { return mbox.l[i].uid > after })
	for _, msg := range mbox.l[i:] {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, msg.info())
	}
	return out, nil
}

// Message returns one message; ok is false when there is no such UID.
func (u *User) Message(name string, uid imap.UID) (info MessageInfo, ok bool, err error) {
	mbox, err := u.mailbox(name)
	if err != nil {
		return MessageInfo{}, false, err
	}
	mbox.mutex.Lock()
	defer mbox.mutex.Unlock()
	// UIDs grow along the list (RFC 9051 §2.3.1.1).
	i := sort.Search(len(mbox.l), func(i int) bool { return mbox.l[i].uid >= uid })
	if i < len(mbox.l) && mbox.l[i].uid == uid {
		return mbox.l[i].info(), true, nil
	}
	return MessageInfo{}, false, nil
}

func (msg *message) info() MessageInfo {
	return MessageInfo{UID: msg.uid, Flags: msg.flagList(), Time: msg.t, Size: int64(len(msg.buf)), Raw: msg.buf}
}
