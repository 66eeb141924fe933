#!/usr/bin/env bash
# bench/cda.sh — how fast `msscprobe cda check` checks CDA documents compared
# with `xmllint --noout` merely parsing the same files, in the same run.
#
# Goal: docs/s ratio msscprobe/xmllint >= 1.0 on 2 cores, peak RSS
# of msscprobe < 200 MB.
#
# Usage: bench/cda.sh [N]      N documents (default 2000), from testdata/cda
#                              and ../shared/corpus/cda when present.
# Needs: go, xmllint (Debian libxml2-utils, installed here when missing and
# running as root), GNU time (/usr/bin/time, Debian "time").
set -euo pipefail

n=${1:-2000}
repo=$(cd "$(dirname "$0")/.." && pwd)
corpus="$repo/../shared/corpus/cda"

need() { # command package
	command -v "$1" >/dev/null 2>&1 && return
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
	fi
	command -v "$1" >/dev/null 2>&1 || { echo "bench/cda.sh: $1 missing (Debian package $2)" >&2; exit 2; }
}
need xmllint libxml2-utils
[ -x /usr/bin/time ] || need /usr/bin/time time

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin="$work/msscprobe"
(cd "$repo" && go build -o "$bin" ./cmd/msscprobe)

# Sources: well-formed fixtures (the DTD and malformed ones would measure
# error paths, not parsing) and every ANS example of the shared corpus.
srcs=()
for f in "$repo"/testdata/cda/*.xml; do
	case "$(basename "$f")" in xxe.xml | billion-laughs.xml | malformed.xml) continue ;; esac
	srcs+=("$f")
done
if [ -d "$corpus" ]; then
	while IFS= read -r f; do srcs+=("$f"); done < <(find "$corpus" -name '*.xml' | sort)
fi
# Copy the sources once, then the whole set in rounds: a few cp calls
# instead of one per document (forks dominate on small machines).
docs="$work/docs"
mkdir -p "$docs/r000"
k=0
for f in "${srcs[@]}"; do
	k=$((k + 1))
	printf '%s\0%s\0' "$f" "$docs/r000/$(printf %03d "$k")-$(basename "$f")"
done | xargs -0 -n 2 -P 4 cp
chmod -R u+w "$docs"
per=${#srcs[@]}
rounds=$(((n + per - 1) / per))
for ((r = 1; r < rounds; r++)); do
	cp -r "$docs/r000" "$docs/$(printf r%03d "$r")"
done
n=$((rounds * per))
bytes=$(du -sb "$docs" | cut -f1)
cores=$(nproc)
echo "corpus: $n documents, $((bytes / 1024 / 1024)) MiB (${#srcs[@]} distinct sources), $cores cores"

# Warm the page cache so that both tools read from memory.
find "$docs" -type f -exec cat {} + >/dev/null

# run CMD...: prints "seconds maxrss_kb", the best time and the highest
# RSS of 3 runs. Exit status 1 is accepted: msscprobe exits 1 when some
# document fails, which the corpus is built to contain.
run() {
	local best="" rss=0 s m
	for _ in 1 2 3; do
		/usr/bin/time -o "$work/time" -f '%e %M' "$@" >/dev/null 2>&1 || [ $? -eq 1 ]
		read -r s m < <(tail -n 1 "$work/time") # GNU time may first note the exit status
		if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
		[ "$m" -gt "$rss" ] && rss=$m
	done
	echo "$best $rss"
}

read -r ms ms_rss < <(run "$bin" cda check --format json "$docs")
read -r m1 _ < <(run "$bin" cda check --jobs 1 --format json "$docs")
read -r xl xl_rss < <(run sh -c 'find "$1" -name "*.xml" -print0 | xargs -0 xmllint --noout' sh "$docs")

awk -v n="$n" -v ms="$ms" -v m1="$m1" -v xl="$xl" -v mr="$ms_rss" -v xr="$xl_rss" 'BEGIN {
	if (ms <= 0) ms = 0.01; if (m1 <= 0) m1 = 0.01; if (xl <= 0) xl = 0.01
	printf "msscprobe cda check: %6.2f s  %8.0f docs/s  peak RSS %5.1f MB\n", ms, n / ms, mr / 1024
	printf "  same with --jobs 1: %6.2f s  %8.0f docs/s (ratio %.2f on one core)\n", m1, n / m1, xl / m1
	printf "xmllint --noout:     %6.2f s  %8.0f docs/s  peak RSS %5.1f MB\n", xl, n / xl, xr / 1024
	printf "ratio (msscprobe docs/s / xmllint docs/s): %.2f (goal >= 1.0)\n", xl / ms
	printf "peak RSS goal < 200 MB: %s\n", (mr / 1024 < 200) ? "met" : "NOT met"
}'
