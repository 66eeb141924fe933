#!/usr/bin/env bash
# bench/hostile.sh — time and peak RSS of msscprobe on the hostile inputs
# that once took gigabytes, next to a reference tool reading the same bytes
# in the same run:
#   - verify on a 2.6 MB bundle of three 64 MiB members (600 MB of RSS when
#     every member was held in memory), against `unzip -t` (which
#     decompresses every member too);
#   - verify on a bundle whose signature.p7s is 158 bytes of nested BER
#     (out of memory in the CMS library), against `openssl cms -cmsout`
#     parsing the same signature;
#   - cda check on a document with 30 MiB of elements inside recordTarget
#     (1.68 GB), against `xmllint --stream --noout`.
# Goal: each msscprobe run under 100 MB of RSS and a few seconds.
#
# Usage: bench/hostile.sh
# Needs: go, unzip, openssl, xmllint (Debian libxml2-utils), GNU time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
for t in unzip openssl xmllint /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench/hostile.sh: $t missing" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/msscprobe" ./cmd/msscprobe && go run ./bench/hostilegen -out "$work" -cda testdata/cda/qualified.xml)
unzip -p "$work/nested-ber.zip" META-INF/signature.p7s > "$work/nested.p7s"

# measure LABEL CMD...: one line "LABEL seconds peak-RSS"; any exit status
# is accepted (the inputs are refused on purpose).
measure() {
	local label=$1
	shift
	/usr/bin/time -o "$work/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
	read -r s m < <(tail -n 1 "$work/time")
	printf '%-44s %6.2f s  peak RSS %7.1f MB\n' "$label" "$s" "$(echo "$m / 1024" | bc -l)"
	echo "$m" > "$work/last"
}
ratio() { echo "scale=2; $(cat "$work/mine") / $(cat "$work/last")" | bc; }

measure "msscprobe verify, 3 x 64 MiB members" "$work/msscprobe" verify "$work/big-members.zip"
cp "$work/last" "$work/mine"
measure "unzip -t, same bundle" unzip -tq "$work/big-members.zip"
echo "  RSS ratio msscprobe/unzip: $(ratio)"
measure "msscprobe verify, nested-BER signature" "$work/msscprobe" verify "$work/nested-ber.zip"
cp "$work/last" "$work/mine"
measure "openssl cms -cmsout, same signature" openssl cms -cmsout -inform DER -in "$work/nested.p7s" -noout
echo "  RSS ratio msscprobe/openssl: $(ratio)"
measure "msscprobe cda check, 30 MiB in recordTarget" "$work/msscprobe" cda check "$work/recordtarget.xml"
cp "$work/last" "$work/mine"
measure "xmllint --stream --noout, same document" xmllint --stream --noout "$work/recordtarget.xml"
echo "  RSS ratio msscprobe/xmllint: $(ratio)"
