package mocks

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/emersion/go-message/textproto"

	"github.com/msscprobe/msscprobe/message"
)

// MSSanté rule identifiers carried by events and refusal texts. The
// message-content ones are package message's, the same as message check.
const (
	RuleTrustSpace   = "MOCK-TRUST"     // sender domain in the ANS whitelist (research mssante.md §1, §5)
	RuleCitizenFirst = "MOCK-CIT-FIRST" // a citizen cannot start a conversation (ENS Messagerie; research mssante.md §1)
	RuleThreadClosed = "MOCK-FIN"       // X-MSS-MES: FIN or [FIN] subject closes replies (Ref#2 ECO.2.2.8, ENS v1.3 §7)
	RuleSender       = "MOCK-SENDER"    // MAIL FROM must be the authenticated mailbox
)

var (
	RuleCitizenAddress = message.RuleCitizenAddress.ID // local part = valid matricule INS (Ref#2 ECO.3.1.1, ECO.2.2.6)
	RuleSize           = message.RuleTotalSize.ID      // total message ≤ 25 MB (ENS Messagerie v1.3 §6)
	RuleNIL            = message.RuleNIL.ID            // X-MSS-NIL on every message (Ref#2 ECO.2.4.3)
)

// threads remembers, per (citizen, professional) pair, the messages the
// professional sent and whether each still accepts a reply. It is rebuilt
// from the citizens' INBOX on replay, so it survives a restart with --store.
type threads struct {
	mu    sync.Mutex
	pairs map[string]*thread
}

type thread struct {
	closed map[string]bool // Message-ID -> replies refused
	open   int
}

func newThreads() *threads { return &threads{pairs: map[string]*thread{}} }

func pairKey(citizen, pro string) string {
	return strings.ToLower(citizen) + "\x00" + strings.ToLower(pro)
}

// observe is the store's append hook: a message landing in a citizen's
// INBOX from a professional opens (or closes) a thread.
func (o *Operator) observe(owner, mailbox string, raw []byte) {
	if mailbox != "INBOX" || !o.isCitizen(owner) {
		return
	}
	h, err := readHeader(raw)
	if err != nil {
		return
	}
	var pros []string
	for _, f := range []string{"Return-Path", "From", "Reply-To"} {
		for _, a := range headerAddrs(h, f) {
			if !o.isCitizen(a) {
				pros = append(pros, a)
			}
		}
	}
	closes, closesAll := message.ClosesReplies(h)
	o.threads.record(owner, pros, msgID(h.Get("Message-Id")), closes, closesAll)
}

func (t *threads) record(citizen string, pros []string, id string, closed, closeAll bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, pro := range pros {
		k := pairKey(citizen, pro)
		th := t.pairs[k]
		if th == nil {
			th = &thread{closed: map[string]bool{}}
			t.pairs[k] = th
		}
		if closeAll {
			for m, c := range th.closed {
				if !c {
					th.closed[m] = true
					th.open--
				}
			}
		}
		if id == "" {
			id = fmt.Sprintf("\x00anonymous-%d", len(th.closed))
		}
		if was, seen := th.closed[id]; seen {
			if !was {
				th.open--
			}
		}
		th.closed[id] = closed
		if !closed {
			th.open++
		}
	}
}

var (
	errCitizenFirst = errors.New("a citizen cannot start a conversation with a professional")
	errThreadClosed = errors.New("the professional closed this conversation (X-MSS-MES: FIN or [FIN] subject)")
)

// mayReply says whether citizen may write to pro; refs are the Message-IDs
// of In-Reply-To and References (nil when not known yet, at RCPT time).
func (t *threads) mayReply(citizen, pro string, refs []string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	th := t.pairs[pairKey(citizen, pro)]
	if th == nil {
		return RuleCitizenFirst, errCitizenFirst
	}
	for _, r := range refs {
		if closed, ok := th.closed[r]; ok {
			if closed {
				return RuleThreadClosed, errThreadClosed
			}
			return "", nil
		}
	}
	if th.open == 0 {
		return RuleThreadClosed, errThreadClosed
	}
	return "", nil
}

// citizenAddressError explains why addr is not a citizen mailbox of the
// mock, or returns nil (the rule lives in package message).
func (o *Operator) citizenAddressError(addr string) error {
	if strings.EqualFold(localOf(addr), AutoReplyLocalPart) {
		return nil
	}
	if err := message.CheckCitizenAddress(addr); err != nil {
		return fmt.Errorf("%s is not a citizen address: %w", addr, err)
	}
	return nil
}

func readHeader(raw []byte) (textproto.Header, error) {
	return textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
}

// headerAddrs returns the lower-case addresses of a header, nil when
// missing or unparsable.
func headerAddrs(h textproto.Header, key string) []string {
	v := h.Get(key)
	if v == "" {
		return nil
	}
	list, err := mail.ParseAddressList(v)
	if err != nil {
		// Return-Path: <> and the like.
		a := strings.ToLower(strings.Trim(strings.TrimSpace(v), "<>"))
		if strings.Contains(a, "@") {
			return []string{a}
		}
		return nil
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, strings.ToLower(a.Address))
	}
	return out
}

// msgID returns the first <...> token of a Message-ID header, brackets
// included.
func msgID(v string) string {
	ids := message.MsgIDs(v)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// maxWhitelistBytes bounds the whitelist read (the full 2025 list is about
// 4 MB).
const maxWhitelistBytes = 64 << 20

// LoadWhitelist reads the domain names of an ANS whitelist
// (listeblanchemssante.xml: ListeBlancheMSSante/ListeDomaines/Domaine/Nom,
// research mssante.md §5), lower-case, sorted and without duplicates. Use
// it for Config.TrustedDomains. The list is streamed; a file cut after
// </ListeDomaines> (as the 2025-03 snapshot in the corpus, which lacks the
// root end tag) is accepted because every entry is there, a file cut
// earlier is an error.
func LoadWhitelist(r io.Reader) ([]string, error) {
	dec := xml.NewDecoder(io.LimitReader(r, maxWhitelistBytes))
	var path []string
	var nom strings.Builder
	seen := map[string]bool{}
	var out []string
	listDone := false
	for {
		tok, err := dec.Token()
		if err == io.EOF || (err != nil && listDone) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("whitelist: %w (after %d domains)", err, len(out))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 && t.Name.Local != "ListeBlancheMSSante" {
				return nil, fmt.Errorf("whitelist: root element is %s, not ListeBlancheMSSante", t.Name.Local)
			}
			path = append(path, t.Name.Local)
			nom.Reset()
		case xml.CharData:
			if strings.Join(path, "/") == "ListeBlancheMSSante/ListeDomaines/Domaine/Nom" {
				nom.Write(t)
			}
		case xml.EndElement:
			switch strings.Join(path, "/") {
			case "ListeBlancheMSSante/ListeDomaines/Domaine/Nom":
				if d := normDomain(nom.String()); d != "" && !seen[d] {
					seen[d] = true
					out = append(out, d)
				}
			case "ListeBlancheMSSante/ListeDomaines":
				listDone = true
			}
			path = path[:len(path)-1]
		}
	}
	if !listDone {
		return nil, fmt.Errorf("whitelist: no complete ListeBlancheMSSante/ListeDomaines element (file truncated or not a whitelist)")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("whitelist: no ListeDomaines/Domaine/Nom entry")
	}
	sort.Strings(out)
	return out, nil
}

// LoadWhitelistFile is LoadWhitelist on a file.
func LoadWhitelistFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("whitelist: %w", err)
	}
	defer f.Close()
	d, err := LoadWhitelist(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}
