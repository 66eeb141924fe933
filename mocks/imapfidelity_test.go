package mocks

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// exchange sends one tagged command and returns the untagged lines and
// the tagged status, failing unless it is OK.
func (r *rawIMAP) exchange(line string) ([]string, string) {
	r.t.Helper()
	fmt.Fprintf(r.c, "X %s\r\n", line)
	var out []string
	for {
		l := r.line()
		if strings.HasPrefix(l, "X ") {
			if !strings.HasPrefix(l, "X OK") {
				r.t.Fatalf("%s: %s", line, l)
			}
			return out, l
		}
		out = append(out, l)
	}
}

func grepLines(lines []string, re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, l := range lines {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// TestIMAPFidelity checks what sync clients (mbsync, offlineimap) rely on:
// RFC 9051 flag spelling, SELECT FLAGS/PERMANENTFLAGS, FLAGS returned with
// an implicit \Seen, RFC 6851 MOVE expunges and LIST attributes.
func TestIMAPFidelity(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, nurse)
	for i := range 3 {
		if err := send(c, nurse, []string{doctor}, msg(nurse, doctor, fmt.Sprintf("<fid%d@test>", i), "fidelite", ""), nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	r := dialRawIMAP(t, op, doctor)
	r.exchange(`CREATE "Archives/2026"`)

	lines, _ := r.exchange("SELECT INBOX")
	for _, want := range []string{
		`* FLAGS (\Answered \Deleted \Draft \Flagged \Seen)`,
		`* OK [PERMANENTFLAGS (\Answered \Deleted \Draft \Flagged \Seen \*)]`,
	} {
		if len(grepLines(lines, regexp.QuoteMeta(want))) != 1 {
			t.Errorf("SELECT: no %q in %q", want, lines)
		}
	}

	lines, _ = r.exchange(`STORE 1 +FLAGS (\FLAGGED $EnAttente)`)
	if got := grepLines(lines, `^\* 1 FETCH`); len(got) != 1 || !strings.Contains(got[0], `\Flagged`) || !strings.Contains(got[0], `$EnAttente`) {
		t.Errorf("STORE answer %q: want \\Flagged and $EnAttente as spelled", lines)
	}
	lines, _ = r.exchange("SELECT INBOX")
	if len(grepLines(lines, regexp.QuoteMeta(`* FLAGS ($EnAttente \Answered`))) != 1 {
		t.Errorf("SELECT after a keyword: %q", lines)
	}

	lines, _ = r.exchange("FETCH 2 BODY[]")
	if got := grepLines(lines, `^\* 2 FETCH .*FLAGS \(\\Seen\)`); len(got) != 1 {
		t.Errorf("FETCH BODY[] setting \\Seen must return FLAGS (\\Seen): %q", lines)
	}

	lines, _ = r.exchange(`UID MOVE 1:2 "Archives/2026"`)
	if got := grepLines(lines, `EXPUNGE$`); len(got) != 2 {
		t.Errorf("UID MOVE of 2 messages: want 2 EXPUNGE, got %q", lines)
	}
	if got := grepLines(lines, `^\* 0 EXPUNGE`); len(got) != 0 {
		t.Errorf("UID MOVE sent sequence number 0: %q", lines)
	}
	if len(grepLines(lines, `COPYUID`)) != 1 {
		t.Errorf("UID MOVE without COPYUID: %q", lines)
	}
	lines, _ = r.exchange(`UID FETCH 1:* (FLAGS)`)
	if len(lines) != 1 {
		t.Errorf("after MOVE the INBOX still shows %q", lines)
	}

	lines, _ = r.exchange(`LIST "" "*"`)
	for _, want := range []string{
		`* LIST (\Noselect \HasChildren) "/" "Archives"`,
		`* LIST (\HasNoChildren) "/" "Archives/2026"`,
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\Sent \HasNoChildren) "/" "Sent"`,
	} {
		if len(grepLines(lines, "^"+regexp.QuoteMeta(want)+"$")) != 1 {
			t.Errorf("LIST: no %q in %q", want, lines)
		}
	}
	r.exchange(`SELECT "Archives/2026"`)
	lines, _ = r.exchange("FETCH 1:* (FLAGS)")
	if got := grepLines(lines, `\\Flagged.*\$EnAttente|\$EnAttente.*\\Flagged`); len(got) != 1 {
		t.Errorf("flags after MOVE: %q", lines)
	}
}
