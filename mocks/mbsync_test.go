package mocks

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestMbsyncTwice syncs a mailbox with a real client, mbsync (Debian
// isync, installed by .ci/run), twice: flags set on either side survive,
// and mbsync warns about nothing (it warned "unknown system flag" when the
// mock lower-cased \Seen).
func TestMbsyncTwice(t *testing.T) {
	bin, err := exec.LookPath("mbsync")
	if err != nil {
		t.Skip("mbsync not installed (Debian package isync; .ci/run installs it)")
	}
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, nurse)
	for i := range 2 {
		if err := send(c, nurse, []string{doctor}, msg(nurse, doctor, fmt.Sprintf("<sync%d@test>", i), fmt.Sprintf("sync %d", i), ""), nil); err != nil {
			t.Fatal(err)
		}
	}
	ic := loginIMAP(t, op, doctor)
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := ic.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, op.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	// mbsync 1.4 matches the certificate against DNS names only: the mock
	// certificate names localhost, which resolves to the loopback.
	_, port, _ := net.SplitHostPort(op.IMAPSAddr())
	host := "localhost"
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`IMAPAccount mock
Host %s
Port %s
User %s
Pass %s
SSLType IMAPS
CertificateFile %s

IMAPStore far
Account mock

MaildirStore near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel mock
Far :far:
Near :near:
Patterns *
Create Near
Sync All
SyncState *
`, host, port, doctor, pw, ca, mail, mail)
	rc := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-c", rc, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
		if low := strings.ToLower(string(out)); strings.Contains(low, "warning") || strings.Contains(low, "unknown") || strings.Contains(low, "error") {
			t.Errorf("mbsync complained:\n%s", out)
		}
	}
	run()
	files := maildirFiles(t, filepath.Join(mail, "INBOX"))
	if len(files) != 2 {
		t.Fatalf("after the first sync INBOX has %d messages, want 2: %v", len(files), files)
	}
	flagged := 0
	for _, f := range files {
		if strings.Contains(flagsOf(f), "F") {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("want one message flagged locally, got files %v", files)
	}
	// Mark the other message read locally (maildir info "S").
	for _, f := range files {
		if !strings.Contains(flagsOf(f), "F") {
			if err := os.Rename(f, f+"S"); err != nil {
				t.Fatal(err)
			}
		}
	}
	run()
	run() // a third pass must find nothing to do and still say nothing
	msgs, err := ic.Fetch(imap.UIDSetNum(1, 2), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		got[m.UID] = m.Flags
	}
	if !hasFlag(got[1], imap.FlagFlagged) || hasFlag(got[1], imap.FlagSeen) {
		t.Errorf("UID 1 flags on the server %v, want \\Flagged only", got[1])
	}
	if !hasFlag(got[2], imap.FlagSeen) || hasFlag(got[2], imap.FlagFlagged) {
		t.Errorf("UID 2 flags on the server %v, want \\Seen only", got[2])
	}
	if files := maildirFiles(t, filepath.Join(mail, "INBOX")); len(files) != 2 {
		t.Errorf("after syncing again INBOX has %v", files)
	}
}

func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatalf("maildir: %v", err)
		}
		for _, e := range ents {
			out = append(out, filepath.Join(dir, sub, e.Name()))
		}
	}
	return out
}

// flagsOf returns the maildir info flags of a file name ("2,FS" -> "FS").
func flagsOf(name string) string {
	if _, info, ok := strings.Cut(filepath.Base(name), ":2,"); ok {
		return info
	}
	return ""
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}
