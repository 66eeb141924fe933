#!/usr/bin/env bash
# Load benchmark of the mock operator: 50 concurrent clients x 100 messages
# (2 KB bodies) over SMTP STARTTLS+AUTH, each message counted once visible
# over IMAP; in memory, then with --store. Prints msgs/s and lost messages.
# Usage: bench/mock.sh [clients] [messages-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${1:-50}
PER=${2:-100}
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/msscprobe" ./cmd/msscprobe
go build -o "$tmp/mockload" ./bench/mockload
for i in $(seq -w 1 "$CLIENTS"); do
  echo "bench$i@hopital.test.mssante.fr pw-$i-$RANDOM$RANDOM"
done > "$tmp/accounts"

bench() { # label, extra mock serve flags...
  local label=$1; shift
  "$tmp/msscprobe" mock serve --accounts "$tmp/accounts" --ca-out "$tmp/ca.pem" \
    --listen-smtps off --listen-imaps off "$@" > "$tmp/serve.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q '^ready$' "$tmp/serve.out" && break; sleep 0.1; done
  grep -q '^ready$' "$tmp/serve.out" || { cat "$tmp/serve.out"; exit 1; }
  local smtp imap
  smtp=$(awk '$1=="listen" && $2=="smtp" {print $3}' "$tmp/serve.out")
  imap=$(awk '$1=="listen" && $2=="imap" {print $3}' "$tmp/serve.out")
  printf '%-10s ' "$label"
  "$tmp/mockload" -smtp "$smtp" -imap "$imap" -ca "$tmp/ca.pem" -accounts "$tmp/accounts" \
    -clients "$CLIENTS" -messages "$PER" -size 2048
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

bench memory
bench store --store "$tmp/store"
