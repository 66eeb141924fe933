package mocks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestResetAndFlagsSurviveRestart: with StoreDir, keyword spelling and a
// Reset are journaled like any change: after a restart the mailboxes are
// as they were (empty after the reset, the UIDs going on, a keyword as the
// client spelled it).
func TestResetAndFlagsSurviveRestart(t *testing.T) {
	cfg := testConfig()
	cfg.StoreDir = t.TempDir()
	start := func() *Operator {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		op, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	op := start()
	c := mustSMTP(t, op, nurse)
	for i := range 3 {
		if err := send(c, nurse, []string{doctor}, msg(nurse, doctor, fmt.Sprintf("<rs%d@test>", i), "r", ""), nil); err != nil {
			t.Fatal(err)
		}
	}
	r := dialRawIMAP(t, op, doctor)
	r.exchange(`CREATE "Projets/2026"`)
	r.exchange("SELECT INBOX")
	r.exchange(`STORE 3 +FLAGS ($AValider)`)
	if err := op.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := send(c, nurse, []string{doctor}, msg(nurse, doctor, "<rs-after@test>", "r", ""), nil); err != nil {
		t.Fatal(err)
	}
	r = dialRawIMAP(t, op, doctor)
	r.exchange("SELECT INBOX")
	r.exchange(`STORE 1 +FLAGS ($AValider \FLAGGED)`)
	op.Close()

	op = start()
	defer op.Close()
	r = dialRawIMAP(t, op, doctor)
	lines, _ := r.exchange("SELECT INBOX")
	if len(grepLines(lines, `^\* 1 EXISTS$`)) != 1 || len(grepLines(lines, `UIDNEXT 5\]`)) != 1 {
		t.Errorf("INBOX after reset and restart: %q (want 1 message, UIDNEXT 5)", lines)
	}
	lines, _ = r.exchange("FETCH 1 (UID FLAGS)")
	if len(lines) != 1 || !strings.Contains(lines[0], "UID 4 ") || !strings.Contains(lines[0], `$AValider`) || !strings.Contains(lines[0], `\Flagged`) {
		t.Errorf("after restart: %q", lines)
	}
	lines, _ = r.exchange(`LIST "" "*"`)
	if len(grepLines(lines, "Projets")) != 0 {
		t.Errorf("a mailbox deleted by the reset came back: %q", lines)
	}
}
