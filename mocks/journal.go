package mocks

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/emersion/go-imap/v2"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks/internal/imapmem"
)

// Journal bounds: a record header is a line of JSON, a few hundred bytes
// (a UID set of a STORE is bounded by the IMAP command size, 50 KiB in
// go-imap); an append record's message is at most the configured message
// size, far under maxJournalMessage. A record beyond them is corrupt, and
// nothing is allocated for it.
const (
	maxJournalHeader  = 1 << 20
	maxJournalMessage = 1 << 30
)

// errCorruptJournal marks a journal that cannot have been left by a
// crash: the mock refuses to start rather than guess.
var errCorruptJournal = errors.New("corrupt journal")

// readJournal reads journal records from r (size bytes in all) and passes
// each whole one to apply. It stops at a torn record at the end (what a
// kill in the middle of a write leaves) and returns the length of the good
// part and a description of what was cut, "" when nothing was. A record
// that no crash can produce (bad JSON on a complete line, a negative or
// absurd size, a message not followed by its newline, a header longer than
// maxJournalHeader) is an errCorruptJournal naming its offset.
func readJournal(r io.Reader, size int64, apply func(rec record, body []byte) error) (good int64, torn check.Text, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := readLine(br, maxJournalHeader)
		switch {
		case err == io.EOF && len(line) == 0:
			return good, check.Text{}, nil
		case err == io.EOF:
			return good, check.Textf("en-tête d'enregistrement tronqué de %d octets à l'octet %d", "torn record header of %d bytes at byte %d", len(line), good), nil
		case errors.Is(err, errLineTooLong):
			return good, check.Text{}, fmt.Errorf("%w at byte %d: record header longer than %d bytes", errCorruptJournal, good, maxJournalHeader)
		case err != nil:
			return good, check.Text{}, err
		}
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			return good, check.Text{}, fmt.Errorf("%w at byte %d: %v", errCorruptJournal, good, err)
		}
		end := good + int64(len(line))
		var body []byte
		if rec.Op == opAppend {
			switch left := size - end; {
			case rec.Size < 0 || rec.Size > maxJournalMessage:
				return good, check.Text{}, fmt.Errorf("%w at byte %d: message size %d out of range (0 to %d)", errCorruptJournal, good, rec.Size, int64(maxJournalMessage))
			case rec.Size+1 > left:
				return good, check.Textf("message tronqué à l'octet %d (%d octets écrits sur %d)", "torn message at byte %d (%d of %d bytes written)", good, max(left, 0), rec.Size+1), nil
			}
			body = make([]byte, rec.Size+1)
			if _, err := io.ReadFull(br, body); err != nil {
				// The file shrank under us: as torn.
				return good, check.Textf("message tronqué à l'octet %d", "torn message at byte %d", good), nil
			}
			if body[rec.Size] != '\n' {
				return good, check.Text{}, fmt.Errorf("%w at byte %d: message of %d bytes not followed by a newline", errCorruptJournal, good, rec.Size)
			}
			body = body[:rec.Size]
			end += rec.Size + 1
		}
		if err := apply(rec, body); err != nil {
			return good, check.Text{}, fmt.Errorf("at byte %d: replay %s: %w", good, rec.Op, err)
		}
		good = end
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads up to and including '\n', at most limit bytes.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > limit {
			return line, errLineTooLong
		}
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// replay rebuilds one user from its journal, recovering from whatever a
// kill can leave, and logging through warn what it dropped or redid:
//   - a torn last record is cut off (it was never acknowledged: the write
//     completes before the 250 or OK);
//   - an empty journal, or one whose first record is torn, held nothing
//     acknowledged: it is set aside as <name>.torn and the user is
//     recreated by the caller; replay returns nil then;
//   - a journal cut during the user's setup (the user record alone, or
//     only some default mailboxes) gets the missing default mailboxes, so
//     deliveries work.
//
// Anything else unreadable is an error naming the file and offset.
func (s *store) replay(path string) (*mailUser, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	var u *mailUser
	setupOnly := true
	good, torn, err := readJournal(f, st.Size(), func(r record, body []byte) error {
		if u == nil {
			if r.Op != opUser || r.Addr == "" {
				return fmt.Errorf("%w: first record must name the user", errCorruptJournal)
			}
			u = &mailUser{addr: r.Addr, mem: imapmem.NewUser(r.Addr, "")}
			return nil
		}
		if r.Op != opCreate || !isDefaultMailbox(r.Mbox) {
			setupOnly = false
		}
		if err := u.apply(r, body); err != nil {
			return err
		}
		if r.Op == opAppend && s.onAppend != nil {
			s.onAppend(u.addr, r.Mbox, body)
		}
		return nil
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if u == nil {
		f.Close()
		what := check.Text{FR: "journal vide", EN: "empty journal"}
		if torn.EN != "" {
			what = check.Text{FR: "journal ne contenant qu'un " + torn.FR, EN: "journal with only a " + torn.EN}
		}
		if err := os.Rename(path, path+".torn"); err != nil {
			return nil, fmt.Errorf("store %s: %s, cannot set it aside: %w", path, what.EN, err)
		}
		s.warn(check.Textf("stockage %s : %s (rien n'en avait été acquitté) : mis de côté sous %s.torn ; la boîte est recréée vide",
			"store %s: %s (nothing was acknowledged from it): set aside as %s.torn; the mailbox is recreated empty", path, what, path))
		return nil, nil
	}
	if torn.EN != "" {
		s.warn(check.Textf("stockage %s : %s retiré (un arrêt brutal pendant cette écriture ; il n'avait jamais été acquitté)",
			"store %s: %s cut off (a crash during that write; it was never acknowledged)", path, torn))
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("store %s: cut torn tail: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	u.j = f
	if setupOnly {
		for _, m := range defaultMailboxes {
			if _, err := u.mem.Status(m.name, &imap.StatusOptions{}); err == nil {
				continue
			}
			if err := u.do(record{Op: opCreate, Mbox: m.name, Attr: m.attr}, nil); err != nil {
				f.Close()
				return nil, fmt.Errorf("store %s: create %s after an interrupted setup: %w", path, m.name, err)
			}
			s.warn(check.Textf("stockage %s : dossier %s absent (un arrêt brutal pendant la création de l'utilisateur) : créé",
				"store %s: mailbox %s missing (a crash while the user was set up): created", path, m.name))
		}
	}
	return u, nil
}

func isDefaultMailbox(name string) bool {
	for _, m := range defaultMailboxes {
		if m.name == name {
			return true
		}
	}
	return false
}
