#!/usr/bin/env bash
# Load benchmark of the mock operator against a reference run in the same
# script: 50 concurrent clients x 100 messages (2 KB bodies) over SMTP
# STARTTLS+AUTH, each message counted once visible over IMAP (bench/mockload,
# the same generator for every run).
#   1. msscprobe mock serve, in memory, then with --store, both with the
#      MSSanté conformance verdict on every message (the default,
#      --conformance warn), then --store with --conformance off to show
#      what the verdict costs (goal with --store and conformance on:
#      >= 6,500 msgs/s, 4x the Mailpit figure cited in docs/mock.md);
#   2. reference: real Postfix submission + Dovecot IMAP (testdata/realmail),
#      the same job done by production-grade servers;
#   3. ratios mock/reference of msgs/s (goal: >= 2,800 msgs/s; its
#      cited Mailpit figure cannot be reproduced here, Mailpit is not
#      installable).
#
# The reference is a private realmail instance made for this run only
# (REALMAIL_DIR under /tmp, ports BASE+587 and BASE+143 with BASE
# BENCH_REALMAIL_PORT_BASE, default 20000, so it never touches the test
# instance) with REALMAIL_EXTRA_ACCOUNTS=clients mailboxes, stopped and
# removed at exit. Postfix limits that would throttle or refuse 50 clients
# from one address are set for that instance only (postconf + reload):
#   smtpd_client_connection_count_limit=0, smtpd_client_connection_rate_limit=0,
#   smtpd_client_message_rate_limit=0, smtpd_client_recipient_rate_limit=0,
#   smtpd_client_auth_rate_limit=0   (anvil; loopback is in mynetworks and
#                                     exempt already, set anyway)
#   default_process_limit=200        (50 smtpd + 50 lmtp under the limit)
#   lmtp_destination_concurrency_limit=<clients>  (default 20; Postfix's
#                                     qmgr asks for more under this load)
#   qmgr_clog_warn_time=0            (no warning noise in the log)
# Dovecot defaults suffice (imap-login process_limit 100, 10 connections per
# user and IP; each client holds one IMAP connection). Durability is left as
# shipped: Postfix fsyncs each queue file, Dovecot (mail_fsync=optimized)
# each delivery. Measured on tmpfs the rate was the same, so the disk is not
# what limits it here. The reference's lost count is the generator's (IMAP)
# and is cross-checked with Postfix's own log (status=sent/deferred/bounced)
# and queue.
#
# The reference needs root (it installs Debian postfix and dovecot when
# missing and starts them); otherwise it is skipped with the reason.
# Usage: bench/mock.sh [clients] [messages-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${1:-50}
PER=${2:-100}
REF_BASE=${BENCH_REALMAIL_PORT_BASE:-20000}
realmail=$PWD/testdata/realmail/realmail.sh
tmp=$(mktemp -d)
server_pid="" ref_dir=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "$ref_dir" ]; then
		REALMAIL_DIR=$ref_dir REALMAIL_PORT_BASE=$REF_BASE "$realmail" stop >>"$tmp/realmail.log" 2>&1 || true
		rm -rf "$ref_dir"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/msscprobe" ./cmd/msscprobe
go build -o "$tmp/mockload" ./bench/mockload
for i in $(seq -w 1 "$CLIENTS"); do
	echo "bench$i@hopital.test.mssante.fr pw-$i-$RANDOM$RANDOM"
done >"$tmp/accounts"

declare -A rate
failed=0

# load LABEL SMTP IMAP CA ACCOUNTS runs the generator, prints its line and
# keeps its rate; a run with lost/duplicated messages or errors fails the
# script at the end (after the other runs).
load() {
	local label=$1 out rc=0
	out=$("$tmp/mockload" -smtp "$2" -imap "$3" -ca "$4" -accounts "$5" \
		-clients "$CLIENTS" -messages "$PER" -size 2048) || rc=$?
	printf '%-10s %s\n' "$label" "$out"
	rate[$label]=$(sed -n 's/.* rate=\([0-9]*\) msgs\/s.*/\1/p' <<<"$out")
	[ "$rc" = 0 ] || failed=1
}

mock() { # label, extra mock serve flags...
	local label=$1
	shift
	"$tmp/msscprobe" mock serve --accounts "$tmp/accounts" --ca-out "$tmp/ca.pem" \
		--listen-smtps off --listen-imaps off "$@" >"$tmp/serve.out" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 100); do grep -q '^ready$' "$tmp/serve.out" && break; sleep 0.1; done
	grep -q '^ready$' "$tmp/serve.out" || { cat "$tmp/serve.out"; exit 1; }
	local smtp imap
	smtp=$(awk '$1=="listen" && $2=="smtp" {print $3}' "$tmp/serve.out")
	imap=$(awk '$1=="listen" && $2=="imap" {print $3}' "$tmp/serve.out")
	load "$label" "$smtp" "$imap" "$tmp/ca.pem" "$tmp/accounts"
	# CPU seconds of the mock process (utime+stime, /proc/PID/stat fields
	# 14-15): unlike msgs/s, they do not depend on what else runs here.
	local ticks
	ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$((CLIENTS * PER))" -v l="$label" \
		'BEGIN { printf "%-10s mock process CPU %.2f s = %.0f msgs per CPU-second\n", "", t / hz, n / (t / hz) }'
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

echo "== msscprobe mock serve, $CLIENTS clients x $PER messages (load average $(cut -d' ' -f1-3 /proc/loadavg))"
mock memory
mock store --store "$tmp/store"
rm -rf "$tmp/store"
mock store-off --store "$tmp/store" --conformance off

# reference_skip REASON: why there is no reference figure.
reference_skip() {
	echo "== reference SKIPPED, no ratio: $1"
}

# reference runs the same load against Postfix + Dovecot; returns 1 after
# printing why when they cannot run.
reference() {
	if [ "$(id -u)" != 0 ]; then
		reference_skip "not root (testdata/realmail installs and starts Postfix and Dovecot: run as root on Debian)"
		return 1
	fi
	if ! command -v postconf >/dev/null || ! command -v dovecot >/dev/null; then
		command -v apt-get >/dev/null || { reference_skip "Postfix/Dovecot not installed and no apt-get"; return 1; }
	fi
	ref_dir=$(mktemp -d /tmp/msscprobe-realmail-bench.XXXXXX)
	export REALMAIL_DIR=$ref_dir REALMAIL_PORT_BASE=$REF_BASE REALMAIL_EXTRA_ACCOUNTS=$CLIENTS
	if ! "$realmail" start >"$tmp/realmail.log" 2>&1; then
		reference_skip "realmail.sh start failed: $(grep 'error:' "$tmp/realmail.log" | tail -n 1)"
		return 1
	fi
	# Bench instance only: see the header for why each limit.
	local pf=$ref_dir/postfix
	if ! postconf -c "$pf" -e smtpd_client_connection_count_limit=0 smtpd_client_connection_rate_limit=0 \
		smtpd_client_message_rate_limit=0 smtpd_client_recipient_rate_limit=0 smtpd_client_auth_rate_limit=0 \
		default_process_limit=200 lmtp_destination_concurrency_limit="$CLIENTS" qmgr_clog_warn_time=0 ||
		! touch -d "@$(($(date +%s) - 10))" "$pf/main.cf" || # Postfix rereads a file modified this second (realservers.md)
		! postfix -c "$pf" reload >>"$tmp/realmail.log" 2>&1; then
		reference_skip "could not set the bench limits with postconf; see the log above"
		return 1
	fi
	sleep 1 # the master restarts qmgr with the new limits
	eval "$("$realmail" env)"
	echo "== reference: Postfix $(postconf -h -d mail_version) submission + Dovecot $(dovecot --version | cut -d' ' -f1) IMAP, same generator (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	load postfix "$REALMAIL_HOST:$REALMAIL_SUBMISSION_PORT" "$REALMAIL_HOST:$REALMAIL_IMAP_PORT" \
		"$REALMAIL_CA_CERT" "$REALMAIL_EXTRA_ACCOUNTS_FILE"
	# Cross-check of "lost" from the servers' side: this fresh instance
	# delivered nothing else.
	local log=$REALMAIL_POSTFIX_LOG queued
	queued=$(postqueue -c "$pf" -p 2>/dev/null | grep -cE '^[0-9A-F]{6,}' || true)
	printf '%-10s postfix log: %d delivered (status=sent), %d deferred, %d bounced; %d still queued\n' "" \
		"$(grep -c 'status=sent' "$log" || true)" "$(grep -c 'status=deferred' "$log" || true)" \
		"$(grep -c 'status=bounced' "$log" || true)" "$queued"
}

if reference && [ "${rate[postfix]:-0}" != 0 ]; then
	echo "== ratios, msgs/s mock / Postfix+Dovecot"
	for label in memory store; do
		awk -v a="${rate[$label]}" -v b="${rate[postfix]}" -v l="$label" \
			'BEGIN { printf "%-10s %.1fx  (%d / %d)\n", l, a / b, a, b }'
	done
fi
exit "$failed"
