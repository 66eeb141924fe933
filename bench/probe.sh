#!/usr/bin/env bash
# PS 4.1 round trips against the mock operator on loopback, and the same
# round trip done by standard tools in the same run as a reference.
#
# 1. Library: RUNS whole probe.Run round trips against the embedded mock
#    (STARTTLS SMTP + AUTH PLAIN, DSN, STARTTLS IMAP, IDLE), twice:
#      auto-reply delay 0: whole run p50 (target < 100 ms);
#      auto-reply delay 50 ms: the reply arrives while the probe idles, so
#      deliver-seen (mock delivery to INBOX -> probe sees it) measures IDLE
#      detection (target < 10 ms); runs-through-IDLE counts runs that idled.
#    Metrics are printed by BenchmarkRoundTrip (probe/bench_test.go):
#      run-p50/p95-ms          whole Run(), message build to verdict
#      send-reply-p50/p95-ms   end of DATA -> correlated reply seen
#      deliver-seen-p50/p95-ms auto-reply appended to INBOX -> probe sees it
# 2. Reference: one "msscprobe mock serve" process (auto-reply delay 0),
#    REF_RUNS round trips each, alternated so that machine load hits both:
#      msscprobe probe   the CLI, start to exit (exit 0 = PS 4.1 met);
#      swaks + curl      swaks submits over STARTTLS + AUTH PLAIN to
#                        reponse.automatique-test@patient.mssante.fr with a
#                        unique Message-ID, then curl polls IMAP (STARTTLS)
#                        with SEARCH HEADER In-Reply-To until the correlated
#                        reply is there; swaks start to the finding poll.
#    Both are whole processes (start-up included) against the same mock, so
#    the ratio swaks+curl / msscprobe compares like with like.
#    Secrets: the mock generates the password into a 0600 file
#    (--password-out); msscprobe reads it through password_file, swaks from
#    its environment (SWAKS_OPT_auth_password: swaks has no password-file
#    option, and the environment, unlike argv, is readable only by the
#    same user), curl from a 0600 netrc file.
#    Needs swaks + libnet-ssleay-perl and curl (Debian; installed when
#    missing and root, otherwise the reference is skipped with the reason).
# Usage: bench/probe.sh [RUNS [REF_RUNS]]   (defaults 100 and 30)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-100}"
ref_runs="${2:-30}"
for delay in 0s 50ms; do
	echo "== library: auto-reply delay ${delay}, ${runs} round trips (probe.Run against the embedded mock)"
	MSSCPROBE_BENCH_DELAY="$delay" go test -run '^$' -bench '^BenchmarkRoundTrip$' -benchtime "${runs}x" -count 1 ./probe/ |
		awk '/^BenchmarkRoundTrip/ { for (i = 3; i < NF; i += 2) printf "  %-22s %s\n", $(i+1), $i }'
done

# tools_missing prints what the reference lacks, after installing it when
# root with apt.
tools_missing() {
	local have=1
	command -v swaks >/dev/null && command -v curl >/dev/null && perl -MNet::SSLeay -e1 2>/dev/null || have=0
	if ((!have)) && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		{ apt-get install -y -qq --no-install-recommends swaks libnet-ssleay-perl curl ||
			{ apt-get update -qq && apt-get install -y -qq --no-install-recommends swaks libnet-ssleay-perl curl; }; } >/dev/null 2>&1 || true
	fi
	command -v swaks >/dev/null || echo "swaks not installed (Debian swaks)"
	perl -MNet::SSLeay -e1 2>/dev/null || echo "Net::SSLeay not installed (Debian libnet-ssleay-perl; swaks needs it for TLS)"
	command -v curl >/dev/null || echo "curl not installed (Debian curl)"
}
missing=$(tools_missing)
if [ -n "$missing" ]; then
	echo "== reference SKIPPED, no ratio: ${missing//$'\n'/; } (installed automatically when run as root with apt)"
	exit 0
fi

tmp=$(mktemp -d)
server_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/msscprobe" ./cmd/msscprobe
"$tmp/msscprobe" mock serve --ca-out "$tmp/ca.pem" --password-out "$tmp/password" --auto-reply-delay 0 \
	--listen-smtps off --listen-imaps off >"$tmp/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q '^ready$' "$tmp/serve.out" && break; sleep 0.1; done
grep -q '^ready$' "$tmp/serve.out" || { cat "$tmp/serve.out"; exit 1; }
smtp=$(awk '$1=="listen" && $2=="smtp" {print $3}' "$tmp/serve.out")
imap=$(awk '$1=="listen" && $2=="imap" {print $3}' "$tmp/serve.out")
user=$(awk '$1=="account" {print $2; exit}' "$tmp/serve.out")
target=$(awk '$1=="auto-reply" {print $2}' "$tmp/serve.out")
host=${smtp%:*}

cat >"$tmp/probe.yaml" <<EOF
establishment: {name: "bench/probe.sh", finess: "010000016", address: "$user"}
smtp: {host: "$host", port: ${smtp##*:}, tls: starttls}
imap: {host: "$host", port: ${imap##*:}, tls: starttls}
auth: {mechanism: plain, username: "$user", password_file: "$tmp/password"}
trust: {ca_file: "$tmp/ca.pem"}
target: "$target"
reply: {mode: auto}
timeouts: {step: 10s, reply: 30s}
EOF
(
	umask 077
	printf 'machine %s login %s password %s\n' "$host" "$user" "$(<"$tmp/password")" >"$tmp/netrc"
)

# now_us: microseconds, without a fork (the separator follows the locale).
now_us() { echo "${EPOCHREALTIME//[^0-9]/}"; }

# probe_run: one msscprobe probe process; prints its duration in µs.
probe_run() {
	local t0
	t0=$(now_us)
	"$tmp/msscprobe" probe -c "$tmp/probe.yaml" --format json >"$tmp/probe.json" 2>"$tmp/probe.err" || {
		echo "bench/probe.sh: msscprobe probe failed (PS 4.1 not met):" >&2
		cat "$tmp/probe.err" >&2
		exit 1
	}
	echo $(($(now_us) - t0))
}

# tools_run N: swaks submits, curl polls until the reply naming the message
# in In-Reply-To is found (10 s at most); prints duration in µs and polls.
tools_run() {
	local t0 token polls=0 deadline found
	t0=$(now_us)
	token=bench-$1-$t0
	SWAKS_OPT_auth_password=$(<"$tmp/password") swaks --server "$host" --port "${smtp##*:}" --tls \
		--tls-verify --tls-ca-path "$tmp/ca.pem" --auth PLAIN --auth-user "$user" --from "$user" --to "$target" \
		--header "Subject: PS 4.1 bench $token" --header "Message-Id: <$token@${user#*@}>" \
		--header "X-MSS-NIL: bench" --body "bench/probe.sh reference round trip" >"$tmp/swaks.log" 2>&1 || {
		echo "bench/probe.sh: swaks failed:" >&2
		cat "$tmp/swaks.log" >&2
		exit 1
	}
	deadline=$((t0 + 10000000))
	while :; do
		polls=$((polls + 1))
		found=$(curl -sS --max-time 5 --netrc-file "$tmp/netrc" --ssl-reqd --cacert "$tmp/ca.pem" \
			"imap://$imap/INBOX?HEADER%20In-Reply-To%20$token" | tr -d '\r' | sed -n 's/^\* SEARCH *//p') || {
			echo "bench/probe.sh: curl IMAP search failed" >&2
			exit 1
		}
		[ -z "$found" ] || break
		(($(now_us) < deadline)) || { echo "bench/probe.sh: no reply to <$token@${user#*@}> within 10 s" >&2; exit 1; }
	done
	echo "$(($(now_us) - t0)) $polls"
}

# pct FILE: p50 and p95 in ms of the µs values in column 1 (same index rule
# as BenchmarkRoundTrip: sorted[n/2], sorted[n*95/100]).
pct() {
	sort -n "$1" | awk '{ v[NR-1] = $1 } END { printf "%.1f %.1f\n", v[int(NR/2)] / 1000, v[int(NR*95/100)] / 1000 }'
}

echo "== reference: msscprobe mock serve (auto-reply delay 0), ${ref_runs} round trips each, alternated (load average $(cut -d' ' -f1-3 /proc/loadavg))"
: >"$tmp/probe.us"
: >"$tmp/tools.us"
for ((i = 1; i <= ref_runs; i++)); do
	probe_run >>"$tmp/probe.us"
	tools_run "$i" >>"$tmp/tools.us"
done
read -r p50 p95 < <(pct "$tmp/probe.us")
read -r t50 t95 < <(pct "$tmp/tools.us")
polls=$(awk '{ s += $2 } END { printf "%.2f", s / NR }' "$tmp/tools.us")
printf '  %-34s p50 %7.1f ms  p95 %7.1f ms\n' "msscprobe probe (CLI process)" "$p50" "$p95"
printf '  %-34s p50 %7.1f ms  p95 %7.1f ms  (%s curl polls per run)\n' "swaks + curl (processes)" "$t50" "$t95" "$polls"
awk -v a="$t50" -v b="$p50" -v c="$t95" -v d="$p95" \
	'BEGIN { printf "  ratio swaks+curl / msscprobe        p50 %.1fx  p95 %.1fx\n", a / b, c / d }'
