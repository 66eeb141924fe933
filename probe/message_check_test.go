package probe

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
	"github.com/msscprobe/msscprobe/mocks"
)

// TestProbeMessagesConform: what the probe sends passes `message check`,
// with and without a document (each CDA fixture packaged by BuildXDM, or
// sent as the user's own IHE_XDM.ZIP), to the citizen test mailbox and to
// the patient's own address.
func TestProbeMessagesConform(t *testing.T) {
	for _, tc := range []struct{ fixture, target string }{
		{"", DefaultTarget},
		{"qualified-test.xml", DefaultTarget},
		{"qualified-test.xml", "279035121518989@patient.mssante.fr"},
		{"qualified.xml", "185077505612323@patient.mssante.fr"},
		{"qualified-corsica.xml", DefaultTarget},
		{"prefixed.xml", DefaultTarget},
		{"autopresentable.xml", DefaultTarget},
	} {
		t.Run(tc.fixture+"→"+tc.target, func(t *testing.T) {
			cfg := Config{Establishment: sender, Target: tc.target, Message: MessageConfig{NIL: "REF-NIL-42", MDN: true}}
			var plan *attachmentPlan
			if tc.fixture != "" {
				var err error
				plan, err = checkAttachment(tc.fixture, readFixture(t, tc.fixture), sender, "test", time.Now())
				if err != nil {
					t.Fatal(err)
				}
			}
			out, err := buildMessage(cfg, "MSSCPROBE-TOKEN1", time.Now(), plan)
			if err != nil {
				t.Fatal(err)
			}
			r := message.CheckBytes("probe.eml", out.raw, message.Options{})
			for _, f := range r.Findings {
				if f.Severity != "info" && f.Rule != "INS-011" {
					t.Errorf("%s %s [%s] %s", f.Severity, f.Rule, f.Location, f.Message.EN)
				}
			}
			if !r.Passed {
				t.Error("message does not pass")
			}
			if plan == nil {
				return
			}
			// The same archive sent again, as a user-provided IHE_XDM.ZIP.
			again, err := checkAttachment(XDMName, plan.zip, sender, "test", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			out, err = buildMessage(cfg, "MSSCPROBE-TOKEN2", time.Now(), again)
			if err != nil {
				t.Fatal(err)
			}
			if r := message.CheckBytes("probe-xdm.eml", out.raw, message.Options{}); !r.Passed {
				t.Errorf("user XDM: %+v", r.Findings)
			}
		})
	}
}

// TestProbeThroughRefusingMock: the whole probe run, with and without a
// document, against a mock that refuses any non-conforming message (550):
// PS 4.1 is met, and the mock's verdict on every message the probe sent
// is a pass.
func TestProbeThroughRefusingMock(t *testing.T) {
	for _, attach := range []string{"", "qualified-test.xml"} {
		t.Run("attach="+attach, func(t *testing.T) {
			te := startMock(t, mocks.Config{Conformance: mocks.ConformanceRefuse})
			if attach != "" {
				if err := os.WriteFile(filepath.Join(te.dir, "doc.xml"), readFixture(t, attach), 0o600); err != nil {
					t.Fatal(err)
				}
				te.yaml["attach"] = "doc.xml"
			}
			te.yaml["message"] = "{nil: REF-42, mdn: true}"
			res := te.run(t, context.Background())
			if !res.Met {
				t.Fatalf("not met\n%s", dump(res))
			}
			vs, _ := te.op.Verdicts()
			n := 0
			for _, v := range vs {
				if v.From != testAccount {
					continue
				}
				n++
				if !v.Accepted || !v.Result.Passed {
					t.Errorf("verdict on %s: %+v", v.Result.MessageID, v.Result.Findings)
				}
			}
			if n == 0 {
				t.Error("no verdict on the probe's message")
			}
		})
	}
}

// TestRuleIDsDistinct: a finding's rule ID names one rule across the
// probe, cda and message catalogs (reports mix them).
func TestRuleIDsDistinct(t *testing.T) {
	seen := map[string]string{}
	for name, c := range map[string]*check.Catalog{"probe": Rules, "cda": cda.Rules, "message": message.Rules} {
		for _, r := range c.Rules() {
			if other, dup := seen[r.ID]; dup {
				t.Errorf("rule %s in both %s and %s", r.ID, other, name)
			}
			seen[r.ID] = name
		}
	}
}
