#!/usr/bin/env bash
# bench/message.sh — how fast `msscprobe message check` checks MSSanté
# messages, against a reference run in the same script.
#
# Messages (bench/msggen): 2 KB of UTF-8 text + an IHE_XDM.ZIP of about
# 50 KB (a CDA embedding a PDF rendering, packaged by the probe's BuildXDM),
# all headers set, to the patient's citizen address: every rule runs.
# Goal: >= 1,000 messages/s on 2 cores.
#
# Reference: Python 3's standard library doing a subset of the same job on
# the same files with as many worker processes as cores (email parser,
# base64 decoding, zipfile with every member read and SHA-1 hashed, and
# METADATA.XML plus the CDA parsed by xml.etree): what a hand-written
# checker would at least do. It checks no rule, so the ratio is a lower
# bound of what the rules cost.
#
# Usage: bench/message.sh [N]      N messages (default 2000)
# Needs: go, python3, GNU time (/usr/bin/time, Debian "time").
set -euo pipefail

n=${1:-2000}
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v python3 >/dev/null || { echo "bench/message.sh: python3 missing (Debian python3)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench/message.sh: /usr/bin/time missing (Debian time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/msscprobe" ./cmd/msscprobe && go build -o "$work/msggen" ./bench/msggen)
(cd "$repo" && "$work/msggen" -n "$n" -out "$work/msgs")
cores=$(nproc)
echo "cores: $cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work"/msgs/*.eml >/dev/null # page cache

cat >"$work/ref.py" <<'PY'
import email, email.policy, hashlib, io, os, sys, zipfile
import xml.etree.ElementTree as ET
from multiprocessing import Pool

def one(path):
    with open(path, 'rb') as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    n = 0
    for part in msg.walk():
        if part.get_filename() == 'IHE_XDM.ZIP':
            z = zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True)))
            for name in z.namelist():
                data = z.read(name)
                hashlib.sha1(data).hexdigest()
                if name.upper().endswith('.XML'):
                    ET.fromstring(data)
                    n += 1
        elif part.get_content_maintype() == 'text':
            part.get_content()
    return n

if __name__ == '__main__':
    d = sys.argv[1]
    files = sorted(os.path.join(d, f) for f in os.listdir(d))
    with Pool(int(sys.argv[2])) as p:
        docs = sum(p.map(one, files, chunksize=16))
    print(len(files), docs)
PY

run() { # prints "seconds maxrss_kb cpu_seconds": best wall time of 3, highest RSS, CPU (user+sys) of the best run; exit 1 (non-conforming) accepted
	local best="" rss=0 cpu="" s m u y
	for _ in 1 2 3; do
		/usr/bin/time -o "$work/time" -f '%e %M %U %S' "$@" >/dev/null 2>&1 || [ $? -eq 1 ]
		read -r s m u y < <(tail -n 1 "$work/time")
		if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; cpu=$(awk "BEGIN{print $u + $y}"); fi
		[ "$m" -gt "$rss" ] && rss=$m
	done
	echo "$best $rss $cpu"
}

# The checker must find every message conforming: a broken generator or
# rule would otherwise be measured as speed.
"$work/msscprobe" message check --format json "$work/msgs" >"$work/check.json" || {
	echo "bench/message.sh: some generated message does not conform:" >&2
	grep -m 5 '"rule"' "$work/check.json" >&2
	exit 1
}
read -r ms ms_rss ms_cpu < <(run "$work/msscprobe" message check --format json "$work/msgs")
read -r m1 _ m1_cpu < <(run "$work/msscprobe" message check --jobs 1 --format json "$work/msgs")
read -r py py_rss py_cpu < <(run python3 "$work/ref.py" "$work/msgs" "$cores")

# Wall-clock rates depend on what else runs on the machine (see the load
# average above); CPU seconds do not, so the script also gives the rate per
# CPU-second and what 2 dedicated cores make of it.
awk -v n="$n" -v ms="$ms" -v m1="$m1" -v py="$py" -v mr="$ms_rss" -v pr="$py_rss" -v mc="$ms_cpu" -v pc="$py_cpu" 'BEGIN {
	if (ms <= 0) ms = 0.01; if (m1 <= 0) m1 = 0.01; if (py <= 0) py = 0.01; if (mc <= 0) mc = 0.01; if (pc <= 0) pc = 0.01
	printf "msscprobe message check:      %6.2f s  %7.0f msgs/s  peak RSS %5.1f MB  CPU %6.2f s = %5.0f msgs per CPU-second\n", ms, n / ms, mr / 1024, mc, n / mc
	printf "  same with --jobs 1:         %6.2f s  %7.0f msgs/s\n", m1, n / m1
	printf "python3 email+zipfile+etree:  %6.2f s  %7.0f msgs/s  peak RSS %5.1f MB  CPU %6.2f s = %5.0f msgs per CPU-second\n", py, n / py, pr / 1024, pc, n / pc
	printf "ratio (msscprobe / python3): wall %.2f, CPU %.2f\n", py / ms, pc / mc
	printf "goal >= 1,000 msgs/s on 2 cores: wall %s (%.0f msgs/s), 2 dedicated cores from CPU time %s (%.0f msgs/s)\n", (n / ms >= 1000) ? "met" : "NOT met", n / ms, (2 * n / mc >= 1000) ? "met" : "NOT met", 2 * n / mc
}'
