package mocks

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/msscprobe/msscprobe/mocks/internal/imapmem"
)

func journalLine(t testing.TB, r record) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// storeWithJournal is a configuration whose store holds content as the
// journal of addr.
func storeWithJournal(t *testing.T, addr, content string) (Config, string) {
	t.Helper()
	cfg := testConfig()
	cfg.StoreDir = t.TempDir()
	path := filepath.Join(cfg.StoreDir, journalName(addr))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

// TestJournalRecoversFromKills: every state a kill can leave a journal in
// lets the mock start, keeps what was acknowledged, takes deliveries again,
// and says what it dropped.
func TestJournalRecoversFromKills(t *testing.T) {
	user := journalLine(t, record{Op: opUser, Addr: nurse})
	inboxRec := journalLine(t, record{Op: opCreate, Mbox: "INBOX"})
	sent := journalLine(t, record{Op: opCreate, Mbox: "Sent", Attr: defaultMailboxes[1].attr})
	kept := "From: a@x\r\nMessage-ID: <kept@x>\r\n\r\nkept\r\n"
	app := journalLine(t, record{Op: opAppend, Mbox: "INBOX", Size: int64(len(kept))}) + kept + "\n"
	for _, tc := range []struct {
		name    string
		content string
		kept    int    // messages of nurse after the restart, before the new delivery
		warn    string // in the warning event, "" for none
		warnFR  string // in its French text
	}{
		{"empty file", "", 0, "empty journal", "journal vide"},
		{"torn first record", user[:10], 0, "journal with only a torn record header of 10 bytes", "journal ne contenant qu'un en-tête d'enregistrement tronqué de 10 octets"},
		{"user record only", user, 0, "mailbox INBOX missing", "dossier INBOX absent"},
		{"user and INBOX only", user + inboxRec, 0, "mailbox Sent missing", "dossier Sent absent"},
		{"torn setup record", user + inboxRec[:7], 0, "torn record header of 7 bytes", "en-tête d'enregistrement tronqué de 7 octets"},
		{"torn last header", user + inboxRec + sent + app + app[:15], 1, "torn record header of 15 bytes", "en-tête d'enregistrement tronqué de 15 octets"},
		{"torn last message", user + inboxRec + sent + app + app[:len(app)-9], 1, "torn message", "message tronqué"},
		{"whole", user + inboxRec + sent + app, 1, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, path := storeWithJournal(t, nurse, tc.content)
			op := startOp(t, cfg)
			if _, err := os.Stat(path + ".torn"); (err == nil) != (tc.kept == 0 && strings.Contains(tc.warn, "journal")) {
				t.Errorf("%s.torn exists: %v", path, err == nil)
			}
			var warns, warnsFR []string
			for _, e := range eventsOf(op, KindWarn) {
				warns = append(warns, e.Detail)
				// The French text is French throughout: no English
				// detail inside it.
				if e.Text == nil || e.Text.EN != e.Detail {
					t.Fatalf("warning %q without its French and English text: %+v", e.Detail, e.Text)
				}
				fr := strings.ReplaceAll(strings.ReplaceAll(e.Text.FR, path+".torn", ""), path, "")
				for _, en := range []string{"torn", "missing", "cut off", "acknowledged", "journal with"} {
					if strings.Contains(fr, en) {
						t.Errorf("French warning with English %q in it: %s", en, e.Text.FR)
					}
				}
				warnsFR = append(warnsFR, e.Text.FR)
			}
			if !strings.Contains(strings.Join(warnsFR, "\n"), tc.warnFR) {
				t.Errorf("French warnings %q, want one with %q", warnsFR, tc.warnFR)
			}
			switch {
			case tc.warn == "" && len(warns) > 0:
				t.Errorf("warnings for a whole journal: %q", warns)
			case tc.warn != "" && !strings.Contains(strings.Join(warns, "\n"), tc.warn):
				t.Errorf("warnings %q, want one with %q", warns, tc.warn)
			}
			if got := inbox(t, op, nurse); len(got) != tc.kept {
				t.Fatalf("INBOX has %d messages after restart, want %d", len(got), tc.kept)
			}
			c := mustSMTP(t, op, doctor)
			if err := send(c, doctor, []string{nurse}, msg(doctor, nurse, "<after@x>", "s", ""), nil); err != nil {
				t.Fatalf("delivery after recovery: %v", err)
			}
			op.Close()
			// The recovered journal replays cleanly, with everything.
			op2 := startOp(t, cfg)
			if got := inbox(t, op2, nurse); len(got) != tc.kept+1 {
				t.Errorf("after a second restart INBOX has %d messages, want %d", len(got), tc.kept+1)
			}
			if w := eventsOf(op2, KindWarn); len(w) != 0 {
				t.Errorf("second restart still warns: %v", w[0].Detail)
			}
		})
	}
}

// TestJournalCorruptRecords: records no crash can write are named errors
// (file and offset), never a panic or an allocation of the declared size.
func TestJournalCorruptRecords(t *testing.T) {
	user := journalLine(t, record{Op: opUser, Addr: nurse})
	for _, tc := range []struct{ name, content, want string }{
		{"negative size", user + `{"op":"append","mbox":"INBOX","size":-5}` + "\nabc\n", "message size -5 out of range"},
		{"absurd size", user + `{"op":"append","mbox":"INBOX","size":9000000000000000000}` + "\nabc\n", "message size 9000000000000000000 out of range"},
		{"garbage line", "garbage\n", "corrupt journal at byte 0"},
		{"first record not the user", journalLine(t, record{Op: opCreate, Mbox: "INBOX"}), "first record must name the user"},
		{"message without its newline", user + `{"op":"append","mbox":"INBOX","size":3}` + "\nabcX" + journalLine(t, record{Op: opCreate, Mbox: "A"}), "not followed by a newline"},
		{"endless header", user + strings.Repeat("x", maxJournalHeader+10), "record header longer than"},
		{"unknown operation", user + journalLine(t, record{Op: "explode"}), "at byte 58: replay explode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, path := storeWithJournal(t, nurse, tc.content)
			op, err := Start(t.Context(), cfg)
			if err == nil {
				op.Close()
				t.Fatal("started on a corrupt journal")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want the path and %q", err, tc.want)
			}
		})
	}
}

// FuzzJournalReplay: whatever bytes a journal holds, reading it returns
// records, a torn tail or a named error; never a panic, and never an
// allocation beyond the input's size.
func FuzzJournalReplay(f *testing.F) {
	user := journalLine(f, record{Op: opUser, Addr: nurse})
	kept := "Subject: x\r\n\r\nx\r\n"
	app := journalLine(f, record{Op: opAppend, Mbox: "INBOX", Size: int64(len(kept))}) + kept + "\n"
	for _, s := range []string{
		"", user, user + journalLine(f, record{Op: opCreate, Mbox: "INBOX"}) + app,
		user + app[:20], user + `{"op":"append","size":-1}` + "\n",
		user + journalLine(f, record{Op: opStore, Mbox: "INBOX", Flags: []imap.Flag{imap.FlagSeen}}),
		user + journalLine(f, record{Op: opMove, Mbox: "INBOX", To: "Sent"}),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var u *mailUser
		good, torn, err := readJournal(bytes.NewReader(data), int64(len(data)), func(r record, body []byte) error {
			if int64(len(body)) > int64(len(data)) {
				t.Fatalf("a %d-byte body from %d bytes of journal", len(body), len(data))
			}
			if u == nil {
				if r.Op != opUser {
					return errCorruptJournal
				}
				u = &mailUser{addr: r.Addr, mem: imapmem.NewUser(r.Addr, "")}
				return nil
			}
			return u.apply(r, body)
		})
		if good < 0 || good > int64(len(data)) {
			t.Fatalf("good part %d of %d bytes", good, len(data))
		}
		if err != nil && torn.EN != "" {
			t.Fatalf("both torn (%s) and an error (%v)", torn, err)
		}
		if err != nil && !errors.Is(err, errCorruptJournal) && !strings.Contains(err.Error(), "replay") {
			t.Fatalf("unnamed error %v", err)
		}
	})
}
