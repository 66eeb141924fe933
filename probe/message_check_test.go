package probe

import (
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/message"
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
