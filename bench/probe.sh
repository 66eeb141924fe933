#!/usr/bin/env bash
# 100 whole probe round trips against the embedded mock on loopback
# (STARTTLS SMTP + AUTH PLAIN, DSN, STARTTLS IMAP, IDLE), twice:
#   1. auto-reply delay 0: whole run p50 (target < 100 ms);
#   2. auto-reply delay 50 ms: the reply arrives while the probe idles, so
#      deliver-seen (mock delivery to INBOX -> probe sees it) measures IDLE
#      detection (target < 10 ms); runs-through-IDLE counts runs that idled.
# Metrics are printed by BenchmarkRoundTrip (probe/bench_test.go):
#   run-p50/p95-ms          whole Run(), message build to verdict
#   send-reply-p50/p95-ms   end of DATA -> correlated reply seen
#   deliver-seen-p50/p95-ms auto-reply appended to INBOX -> probe sees it
# Usage: bench/probe.sh [RUNS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-100}"
for delay in 0s 50ms; do
	echo "== auto-reply delay ${delay}, ${runs} round trips"
	MSSCPROBE_BENCH_DELAY="$delay" go test -run '^$' -bench '^BenchmarkRoundTrip$' -benchtime "${runs}x" -count 1 ./probe/ |
		awk '/^BenchmarkRoundTrip/ { for (i = 3; i < NF; i += 2) printf "  %-22s %s\n", $(i+1), $i }'
done
