#!/usr/bin/env bash
# The PDF deliverable: what writing it adds to a probe run, and how fast an
# ARS verifies a folder of them, with poppler's pdfsig run on the same
# folder in the same script as the reference.
#
# 1. Write: WRITES calls of evidence.WriteDeliverable (the signed PDF with
#    the container and every evidence file embedded) and of evidence.Write
#    (the bare container, what a run wrote before) on the fixture run
#    testdata/evidence; p50/p95 in ms (target: the PDF adds < 100 ms).
# 2. Verify: N distinct deliverables written to a temporary folder, then
#    "msscprobe verify --format csv FOLDER" with GOMAXPROCS=2 (2 cores):
#    files/s (target >= 50) and peak RSS (bounded: files are verified one
#    per core, at most 64 MiB each).
# 3. Reference: pdfsig (PDF signature only, no container, no embedded file)
#    on the same files, two at a time (xargs -P 2): files/s, and the ratio
#    msscprobe / pdfsig.
# Needs poppler-utils (pdfsig) and GNU time for RSS; the reference is
# skipped, saying why, when pdfsig is missing.
# Usage: bench/evidence.sh [N [WRITES]]   (defaults 1000 and 50)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
writes="${2:-50}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/msscprobe" ./cmd/msscprobe
go build -o "$tmp/evidencegen" ./bench/evidencegen

echo "== write: ${writes} writes of the same run (ms)"
GOMAXPROCS=2 "$tmp/evidencegen" -write "$writes"

echo "== verify: ${n} deliverables, msscprobe verify --format csv, GOMAXPROCS=2"
"$tmp/evidencegen" -out "$tmp/folder" -n "$n"
du -sh "$tmp/folder" | awk '{print "  folder size " $1}'
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
timed() { # prints elapsed seconds and max RSS (KB) of the command
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || true
		cat "$tmp/time"
	else
		local s e
		s=$(date +%s.%N)
		"$@" >"$tmp/out" 2>"$tmp/err" || true
		e=$(date +%s.%N)
		awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f 0\n", e - s }'
	fi
}
read -r secs rss < <(GOMAXPROCS=2 timed "$tmp/msscprobe" verify --format csv "$tmp/folder")
rows=$(($(wc -l <"$tmp/out") - 1))
intact=$(grep -c ',intègre,' "$tmp/out" || true)
echo "  msscprobe verify: ${rows} rows (${intact} intact) in ${secs} s: $(rate "$rows" "$secs") files/s, peak RSS $((rss / 1024)) MB"
if [ "$rows" != "$n" ] || [ "$intact" != "$n" ]; then
	echo "  UNEXPECTED: want ${n} intact rows"; head -3 "$tmp/out"; cat "$tmp/err"; exit 1
fi

if ! command -v pdfsig >/dev/null; then
	echo "== reference SKIPPED, no ratio: pdfsig not installed (Debian poppler-utils)"
	exit 0
fi
echo "== reference: pdfsig on the same ${n} files, 2 at a time"
read -r rsecs _ < <(timed sh -c "ls '$tmp/folder'/*.pdf | xargs -P 2 -n 50 sh -c 'for f; do pdfsig \"\$f\" >/dev/null 2>&1; done' _")
echo "  pdfsig: ${n} files in ${rsecs} s: $(rate "$n" "$rsecs") files/s"
awk -v a="$secs" -v b="$rsecs" 'BEGIN { printf "  ratio msscprobe/pdfsig throughput: %.2f (msscprobe also verifies the container and every embedded file)\n", b / a }'
