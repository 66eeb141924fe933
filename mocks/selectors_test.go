package mocks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseFaultSelectors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Fault
	}{
		{"rcpt=550,to=" + patientB, Fault{Name: FaultRcpt, Code: 550, To: patientB}},
		{"mail=451#1,from=Infirmiere@Hopital.test.mssante.fr", Fault{Name: FaultMail, Code: 451, Count: 1, From: nurse}},
		{"data=554@0.5,to=" + patientA + ",from=" + nurse, Fault{Name: FaultData, Code: 554, Probability: 0.5, To: patientA, From: nurse}},
		{"greylist=1,to=" + patientA, Fault{Name: FaultGreylist, Count: 1, To: patientA}},
		{"delay-rcpt=1s,to=" + patientA, Fault{Name: FaultDelayRcpt, Delay: time.Second, To: patientA}},
	} {
		got, err := ParseFault(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back, err := ParseFault(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v %v", got.String(), back, err)
		}
	}
	for _, bad := range []string{
		"connect=421,to=" + patientA, "auth=535,from=" + nurse, "mail=550,to=" + patientA, "no-reply,from=" + nurse,
		"rcpt=550,to=not-an-address", "rcpt=550,to=", "rcpt=550,cc=" + patientA, "rcpt=550,to=<" + patientA + ">",
		"rcpt=550,to=" + strings.Repeat("a", 700) + "@x.fr",
	} {
		_, err := ParseFault(bad)
		if err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		} else if !errors.Is(err, ErrFaultSpec) {
			t.Errorf("ParseFault(%q) error %v does not wrap ErrFaultSpec", bad, err)
		}
	}
}

// TestFaultSelectors: a fault selecting a recipient or a sender hits only
// that transaction, deterministically.
func TestFaultSelectors(t *testing.T) {
	op := faultOp(t, "rcpt=550,to="+patientB, "mail=451,from="+nurse)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<s1@test>", "a", ""), nil); err != nil {
		t.Errorf("to %s: %v (the fault selects %s only)", patientA, err, patientB)
	}
	for range 2 {
		if err := send(c, doctor, []string{patientB}, msg(doctor, patientB, "<s2@test>", "b", ""), nil); smtpCode(err) != 550 || !strings.Contains(err.Error(), "mock fault rcpt=550,to="+patientB) {
			t.Errorf("to %s: %v, want 550 from the fault", patientB, err)
		}
	}
	n := mustSMTP(t, op, nurse)
	if err := send(n, nurse, []string{patientA}, msg(nurse, patientA, "<s3@test>", "c", ""), nil); smtpCode(err) != 451 {
		t.Errorf("MAIL FROM %s: %v, want 451 from the fault", nurse, err)
	}
	states := op.Faults()
	if len(states) != 2 || states[0].Fired != 2 || states[1].Fired != 1 {
		t.Errorf("fault counters %+v, want 2 and 1", states)
	}
}

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RateLimit
	}{
		{"client=5/s", RateLimit{Scope: RateClient, Messages: 5, Per: time.Second, Code: 451}},
		{"account=100/h,burst=10,code=421", RateLimit{Scope: RateAccount, Messages: 100, Per: time.Hour, Burst: 10, Code: 421}},
		{"Client=3/10s", RateLimit{Scope: RateClient, Messages: 3, Per: 10 * time.Second, Code: 451}},
	} {
		got, err := ParseRateLimit(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRateLimit(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back, err := ParseRateLimit(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v %v", got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "client", "client=5", "ip=5/s", "client=0/s", "client=x/s", "client=5/fortnight",
		"client=5/s,code=550", "client=5/s,burst=-1", "client=5/s,colour=red", "client=5/0s", "client=5/48h", strings.Repeat("x", 300)} {
		if _, err := ParseRateLimit(bad); !errors.Is(err, ErrRateLimitSpec) {
			t.Errorf("ParseRateLimit(%q) = %v, want an ErrRateLimitSpec", bad, err)
		}
	}
}

// TestTokenBucket drives the limiter with a fake clock: burst, refusal,
// refill at the configured rate, one bucket per key.
func TestTokenBucket(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l, err := newLimiters([]RateLimit{{Scope: RateAccount, Messages: 2, Per: time.Minute, Burst: 3}})
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return now }
	for i := range 3 {
		if _, limited := l.take("127.0.0.1", doctor); limited {
			t.Fatalf("message %d refused within the burst of 3", i+1)
		}
	}
	if _, limited := l.take("127.0.0.1", doctor); !limited {
		t.Fatal("4th message accepted beyond the burst")
	}
	if _, limited := l.take("127.0.0.1", nurse); limited {
		t.Error("another account shares the bucket")
	}
	if _, limited := l.take("127.0.0.1", ""); limited {
		t.Error("an account limit applied to a session without account")
	}
	now = now.Add(29 * time.Second) // 0.97 token
	if _, limited := l.take("127.0.0.1", doctor); !limited {
		t.Error("accepted before a whole token came back")
	}
	now = now.Add(2 * time.Second) // 1.03 tokens
	if _, limited := l.take("127.0.0.1", doctor); limited {
		t.Error("refused after 31 s at 2 messages a minute")
	}
}

// TestRateLimitSMTP: per account 451 keeps the session, per client 421
// closes the connection.
func TestRateLimitSMTP(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimits = []RateLimit{{Scope: RateAccount, Messages: 2, Per: time.Hour}}
	op := startOp(t, cfg)
	c := mustSMTP(t, op, doctor)
	for i := range 2 {
		if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<r@test>", "r", ""), nil); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<r@test>", "r", ""), nil)
	if smtpCode(err) != 451 || !strings.Contains(err.Error(), RuleRateLimit) {
		t.Errorf("3rd message: %v, want 451 [%s]", err, RuleRateLimit)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("the session should go on after a 451: %v", err)
	}
	if err := send(mustSMTP(t, op, nurse), nurse, []string{patientA}, msg(nurse, patientA, "<r@test>", "r", ""), nil); err != nil {
		t.Errorf("another account: %v", err)
	}

	if err := op.SetRateLimits([]RateLimit{{Scope: RateClient, Messages: 1, Per: time.Hour, Code: 421}}); err != nil {
		t.Fatal(err)
	}
	c = mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<r@test>", "r", ""), nil); err != nil {
		t.Fatalf("first message after SetRateLimits: %v", err)
	}
	err = send(c, doctor, []string{patientA}, msg(doctor, patientA, "<r@test>", "r", ""), nil)
	if smtpCode(err) != 421 {
		t.Errorf("2nd message from the client: %v, want 421", err)
	}
	if err := c.Noop(); err == nil {
		t.Error("connection still open after 421")
	}
	if n := len(eventsOf(op, KindFault)); n != 2 {
		t.Errorf("%d fault events, want one per refusal", n)
	}
}
