package probe

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/mocks"
)

// BenchmarkRoundTrip runs b.N whole probe runs against the mock on
// loopback (bench/probe.sh runs it 100 times) and reports p50/p95 of the
// whole run, of send→reply latency, and of the delay between the mock
// delivering the auto-reply to INBOX (its event time) and the probe seeing
// it; runs-through-IDLE counts runs that waited in IDLE (with no delay the
// reply is often in INBOX before the first scan). The auto-reply
// delay comes from MSSCPROBE_BENCH_DELAY (default 0).
func BenchmarkRoundTrip(b *testing.B) {
	delay, err := time.ParseDuration(envOr("MSSCPROBE_BENCH_DELAY", "0s"))
	if err != nil {
		b.Fatal(err)
	}
	te := startMock(b, mocks.Config{AutoReplyDelay: delay})
	cfg := te.config(b)
	getenv := func(k string) string { return te.env[k] }
	var runs, replies, detect []time.Duration
	idle := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), cfg, Options{ToolVersion: "bench", Getenv: getenv})
		if err != nil || !res.Met {
			b.Fatalf("run %d: err %v\n%s", i, err, dump(res))
		}
		runs = append(runs, res.Duration())
		replies = append(replies, res.ReplyLatency)
		if bytes.Contains(res.IMAPTranscript, []byte(" IDLE\n")) {
			idle++
		}
		seen := res.Sent.Add(res.ReplyLatency)
		for _, ev := range te.op.Events() {
			if ev.Kind == mocks.KindAutoReply && strings.Contains(ev.Detail, res.MessageID) {
				detect = append(detect, seen.Sub(ev.Time))
				break
			}
		}
	}
	b.StopTimer()
	report := func(name string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(ds[(len(ds)*95)/100].Microseconds())/1000, name+"-p95-ms")
	}
	report("run", runs)
	report("send-reply", replies)
	report("deliver-seen", detect)
	b.ReportMetric(float64(idle), "runs-through-IDLE")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
