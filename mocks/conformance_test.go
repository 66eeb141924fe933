package mocks

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/message"
)

func corpusMessage(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "messages", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConformanceWarn: every received message gets a verdict in its
// event, in the stored copy and in Verdicts; a non-conforming one is
// still delivered in warn mode.
func TestConformanceWarn(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	good := msg(doctor, nurse, "<good-1@x>", "s", "")
	bad := msg(doctor, nurse, "<bad-1@x>", "s", "X-MSS-MES: fin\r\n")
	for _, m := range []string{good, bad} {
		if err := send(c, doctor, []string{nurse}, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	ev := eventsOf(op, KindConformance)
	if len(ev) != 2 || ev[0].Verdict != "pass" || ev[1].Verdict != "fail" || ev[1].Rule != message.RuleMES.ID || ev[1].MessageID != "<bad-1@x>" || !strings.Contains(ev[1].Detail, "MSS-028") {
		t.Fatalf("conformance events %+v", ev)
	}
	vs, dropped := op.Verdicts()
	if len(vs) != 2 || dropped != 0 || !vs[0].Result.Passed || vs[1].Result.Passed || !vs[1].Accepted {
		t.Fatalf("verdicts %+v", vs)
	}
	stored := inbox(t, op, nurse)
	if len(stored) != 2 || !strings.Contains(stored[0], ConformanceHeader+": pass\r\n") || !strings.Contains(stored[1], ConformanceHeader+": fail MSS-028\r\n") {
		t.Fatalf("stored copies %q", stored)
	}
	var junit bytes.Buffer
	if err := message.JUnit("msscprobe mock", VerdictResults(vs), "en").Write(&junit); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `tests="2" failures="1"`) || !strings.Contains(junit.String(), "MSS-028") {
		t.Errorf("report %s", junit.String())
	}
}

// TestConformanceRefuse: refuse mode answers 550 with the rule ID, stores
// nothing, records the refusal; a conforming message with an IHE_XDM.ZIP
// for the patient passes.
func TestConformanceRefuse(t *testing.T) {
	cfg := testConfig()
	cfg.Conformance = ConformanceRefuse
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	bad := corpusMessage(t, "bad-invisible-patient.eml")
	err := send(c, doctor, []string{patientA}, bad, nil)
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "["+message.RuleInvisiblePatient.ID+"]") {
		t.Fatalf("non-conforming message: %v, want 550 [%s]", err, message.RuleInvisiblePatient.ID)
	}
	// The rule's source is French ("ANS IG « Transmission … », règles de
	// gestion MSSanté"): the reply carries it in US-ASCII (RFC 5321 §4.2).
	for _, r := range err.Error() {
		if r >= 0x80 {
			t.Fatalf("550 reply text not US-ASCII (%q): %v", r, err)
		}
	}
	if !strings.Contains(err.Error(), "en HL7v2 \", regles de gestion MSSante (visibilite patient)") {
		t.Errorf("550 reply lost the rule's source: %v", err)
	}
	if n := countMailbox(t, op, patientA, "INBOX"); n != 0 {
		t.Fatalf("%d messages stored after a refusal", n)
	}
	vs, _ := op.Verdicts()
	if len(vs) != 1 || vs[0].Accepted {
		t.Fatalf("verdicts %+v", vs)
	}
	if ev := eventsOf(op, KindConformance); len(ev) != 1 || ev[0].Code != 550 {
		t.Fatalf("events %+v", ev)
	}
	if err := send(c, doctor, []string{patientA}, corpusMessage(t, "good-citizen-xdm.eml"), nil); err != nil {
		t.Fatalf("conforming message refused: %v", err)
	}
	if n := countMailbox(t, op, patientA, "INBOX"); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestConformanceOff checks nothing and records nothing.
func TestConformanceOff(t *testing.T) {
	cfg := testConfig()
	cfg.Conformance = ConformanceOff
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{nurse}, msg(doctor, nurse, "<x-1@x>", "s", "X-MSS-MES: fin\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if vs, _ := op.Verdicts(); len(vs) != 0 || len(eventsOf(op, KindConformance)) != 0 {
		t.Fatalf("verdicts %+v", vs)
	}
	if _, err := Start(t.Context(), Config{Conformance: "maybe"}); err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Fatalf("bad mode: %v", err)
	}
}

// TestConformanceHostileMessage: a message nested past the parser's
// limits is still answered (warn mode delivers it) with an MSS-001
// verdict naming the limit.
func TestConformanceHostileMessage(t *testing.T) {
	op := startOp(t, testConfig())
	c := mustSMTP(t, op, doctor)
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(msg(doctor, nurse, "<deep@x>", "s", ""), "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"))
	for i := range 200 {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "\r\n\r\n--b" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "\r\n")
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nx\r\n")
	if err := send(c, doctor, []string{nurse}, b.String(), nil); err != nil {
		t.Fatal(err)
	}
	vs, _ := op.Verdicts()
	if len(vs) != 1 || vs[0].Result.Passed {
		t.Fatalf("verdicts %+v", vs)
	}
	if f, _ := vs[0].Result.FirstError(); f.Rule != message.RuleUnreadable.ID || !strings.Contains(f.Message.EN, "too deep") {
		t.Errorf("first error %+v", f)
	}
}
