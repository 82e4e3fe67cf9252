#!/usr/bin/env bash
# Parallel ranged downloads (issue 10 §5): a file of at least
# parallel_min bytes is fetched as `connections` ranged GETs at once,
# written at their offsets and hashed in order; a smaller one is one GET;
# a server without ranges costs one aborted GET and is then read as one
# stream; a part cut mid-way resumes its own range (no byte twice); parts
# a URL refuses go on from the mirror, which serves the other ranges;
# a tampered range fails the whole (nothing served).
. "$(dirname "$0")/lib.sh"

setup_origin
S=$((8 << 20))
P=$((S / 4))
for m in big one nr cut mix bad; do
	eval "s_$m=\$(add_model $m.bin $S)"
done
s_small=$(add_model small.bin 500000)
mkdir -p "$T/tampered"
cp "$WWW/bad.bin" "$T/tampered/bad.bin"
# a flipped byte in the third quarter
printf 'X' | dd of="$T/tampered/bad.bin" bs=1 seek=$((2 * P + 12345)) conv=notrunc status=none

py_origin noranges "$WWW" --no-ranges
NORANGES=$PY_ORIGIN
py_origin flaky "$WWW" --rules '{
 "/cut.bin": [{"cut": 100000}],
 "/mix.bin": [{}, {"status": 404}, {"status": 404}, {"status": 404}]
}'
FLAKY=$PY_ORIGIN
py_origin tampered "$T/tampered"
TAMPERED=$PY_ORIGIN

cfg_begin connections=4 parallel_min=1M
cfg_source zoo
cfg_source noranges "url=$NORANGES/"
cfg_source flaky "url=$FLAKY/" "mirrors=$ORIGIN/"
cfg_source tampered "url=$TAMPERED/"
cfg_source single connections=1
cfg_model big zoo big.bin big.bin $S "$s_big"
cfg_model small zoo small.bin small.bin 500000 "$s_small"
cfg_model one single one.bin one.bin $S "$s_one"
cfg_model nr noranges nr.bin nr.bin $S "$s_nr"
cfg_model cut flaky cut.bin cut.bin $S "$s_cut"
cfg_model mix flaky mix.bin mix.bin $S "$s_mix"
cfg_model bad tampered bad.bin bad.bin $S "$s_bad"
mount_or_bail "$CFG" "$MNT"

# nginx_log URI — "STATUS BYTES" of each GET of URI
nginx_log() { sleep 0.2; awk -v u="$1" '$1 == "GET" && $2 == u { print $3, $4 }' "$T/nginx/access.log"; }

assert_eq "8 MiB, connections = 4: read ok" "$(sysop read "$MNT/big.bin")" "$s_big"
assert_eq "8 MiB: four 206s of 2 MiB" "$(nginx_log /big.bin | sort | uniq -c | awk '{ print $1, $2, $3 }')" \
	"4 206 $P"
assert_eq "8 MiB: fetch_ok once, verify_ok once" \
	"$(audit_count fetch_ok big.bin) $(audit_count verify_ok big.bin)" "1 1"

assert_eq "below parallel_min: read ok" "$(sysop read "$MNT/small.bin")" "$s_small"
assert_eq "below parallel_min: one 200" "$(nginx_log /small.bin)" "200 500000"

assert_eq "connections = 1 on the source: read ok" "$(sysop read "$MNT/one.bin")" "$s_one"
assert_eq "connections = 1: one GET, a 200" "$(nginx_log /one.bin)" "200 $S"

assert_eq "no ranges: read ok" "$(sysop read "$MNT/nr.bin")" "$s_nr"
assert_eq "no ranges: the first GET asked a range and was dropped, then one stream" \
	"$(py_log noranges /nr.bin | awk '{ printf "%s %s|", $3, $5 }')" "200 bytes=0-$((P - 1))|200 -|"
assert_eq "no ranges: the second sent the whole file" \
	"$(py_log noranges /nr.bin | awk 'NR == 2 { print $4 }')" $S

assert_eq "a part cut mid-way: read ok" "$(sysop read "$MNT/cut.bin")" "$s_cut"
assert_eq "a part cut mid-way: it resumed its own range" \
	"$(py_log flaky /cut.bin | awk '{ print $5 }' | grep -c "^bytes=100000-$((P - 1))$")" 1
assert_eq "a part cut mid-way: 5 GETs, no byte twice" \
	"$(py_log flaky /cut.bin | awk '{ n++; b += $4 } END { print n, b }')" "5 $S"
assert_match "a part cut mid-way: the retry names the part" \
	"$(audit_field fetch_retry cut.bin error)" '^part 1: .*from where it stopped'

assert_eq "parts the url refuses: read ok" "$(sysop read "$MNT/mix.bin")" "$s_mix"
assert_eq "parts the url refuses: the url served one range, the mirror three" \
	"$(py_log flaky /mix.bin | awk '{ print $3 }' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }') $(nginx_log /mix.bin | awk '$1 == 206' | wc -l)" \
	"206:1 404:3  3"
assert_eq "parts the url refuses: three fetch_retry, each going on from the mirror" \
	"$(grep '"fetch_retry"' "$AUDIT" | grep -c "going on from $ORIGIN/mix.bin")" 3
assert_eq "parts the url refuses: verify_ok with the url" "$(audit_field verify_ok mix.bin url)" \
	"$FLAKY/mix.bin"

assert_errno "a tampered range: EIO" EIO read "$MNT/bad.bin"
assert_eq "a tampered range: verify_failed" "$(audit_count verify_failed bad.bin)" 1
assert_eq "a tampered range: four ranged GETs" "$(py_log tampered /bad.bin | awk '$3 == 206' | wc -l)" 4
assert_eq "a tampered range: the whole body quarantined" \
	"$(cmp "$STORE"/quarantine/* "$T/tampered/bad.bin" && echo same)" same
if [ -e "$STORE/objects/sha256-$s_bad" ]; then not_ok "a tampered range: nothing stored"
else ok "a tampered range: nothing stored"; fi
