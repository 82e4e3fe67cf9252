#!/usr/bin/env bash
# Sources that misbehave (issue 10 §1-2), against origins that do it on
# purpose (origin.py): 503s and a 429 with Retry-After are retried on the
# same URL; a body cut mid-way, or stalled, is resumed with Range/If-Range
# and no byte is downloaded twice; a server without ranges, or whose file
# changed, starts over; a tampered mirror is quarantined and the next one
# used; a dead first URL, or a 404, falls over to the mirror; when every
# URL fails the open fails; a trickle above low_speed_limit fails once
# min_rate_after has passed (20 s here, not the default minute; more than
# the 11 s or so that low_speed_time takes to cut the stalled body, which
# must be resumed, not judged); every try is audited with its URL, and
# the events of one open share an open_id.
. "$(dirname "$0")/lib.sh"

setup_origin
S=300000
CUT=100000
for m in m503 mra mcut mstall mnr mchg mtamper mdead m404 mall mr0; do
	eval "s_$m=\$(add_model $m.bin $S)"
done
# a 1 MB model trickling at 1.5 KB/s: about 11 minutes if left alone
s_slow=$(add_model slow.bin 1000000)
mkdir -p "$T/tampered"
cp "$WWW/mtamper.bin" "$T/tampered/mtamper.bin"
printf 'X' | dd of="$T/tampered/mtamper.bin" bs=1 seek=4242 conv=notrunc status=none

rules='{
 "/m503.bin": [{"status": 503}, {"status": 503}],
 "/mra.bin": [{"status": 429, "retry_after": "2"}],
 "/mcut.bin": [{"cut": '$CUT'}],
 "/mstall.bin": [{"stall": '$CUT'}],
 "/mchg.bin": [{"cut": '$CUT'}, {"etag": "\"changed\""}],
 "/m404.bin": [{"status": 404}],
 "/mall.bin": [{"status": 404}],
 "/mr0.bin": [{"status": 503}],
 "/slow.bin": [{"rate": 1536}]
}'
py_origin flaky "$WWW" --rules "$rules"
FLAKY=$PY_ORIGIN
py_origin noranges "$WWW" --no-ranges --rules '{"/mnr.bin": [{"cut": '$CUT'}]}'
NORANGES=$PY_ORIGIN
py_origin tampered "$T/tampered"
TAMPERED=$PY_ORIGIN
DEAD=https://127.0.0.1:$(free_port)

cfg_begin min_rate_after=20
cfg_source flaky "url=$FLAKY/"
cfg_source noranges "url=$NORANGES/"
cfg_source tampered "url=$TAMPERED/" "mirrors=$ORIGIN/"
cfg_source dead "url=$DEAD/" "mirrors=$ORIGIN/"
cfg_source f404 "url=$FLAKY/" "mirrors=$ORIGIN/"
cfg_source none "url=$FLAKY/" "mirrors=$DEAD/"
cfg_source once "url=$FLAKY/" retries=0
for m in m503 mra mcut mstall mchg; do
	eval "cfg_model $m flaky $m.bin $m.bin $S \$s_$m"
done
cfg_model mnr noranges mnr.bin mnr.bin $S "$s_mnr"
cfg_model mtamper tampered mtamper.bin mtamper.bin $S "$s_mtamper"
cfg_model mdead dead mdead.bin mdead.bin $S "$s_mdead"
cfg_model m404 f404 m404.bin m404.bin $S "$s_m404"
cfg_model mall none mall.bin mall.bin $S "$s_mall"
cfg_model mr0 once mr0.bin mr0.bin $S "$s_mr0"
cfg_model slow flaky slow.bin slow.bin 1000000 "$s_slow"
mount_or_bail "$CFG" "$MNT"

# The trickle takes min_rate_after to be judged: open it first, in the background.
t_slow0=$(now_ms)
(timeout -k 2 300 "$PY" -c "$SYSOP_PY" read "$MNT/slow.bin" >"$T/slow.out" 2>&1
	now_ms >"$T/slow.end") &
SLOW_PID=$!
BG_PIDS+=("$SLOW_PID")

# trail PATH — one line per audit event of PATH:
# "EVENT URL ATTEMPT RESUMED_FROM OPEN_ID" ("-" for a missing field).
trail() {
	"$PY" - "$AUDIT" "$1" <<-'EOF'
		import json, sys
		for line in open(sys.argv[1]):
		    e = json.loads(line)
		    if e.get("path", "").lstrip("/") != sys.argv[2]:
		        continue
		    print(" ".join(str(e.get(k, "-")) for k in
		                   ("event", "url", "attempt", "resumed_from", "open_id")))
	EOF
}
# ids PATH — the distinct open_ids of PATH's fetch events.
ids() { trail "$1" | awk '$1 ~ /^(fetch|verify)_/ { print $5 }' | sort -u | tr '\n' ' '; }
# sent NAME URI — body bytes NAME's server sent for URI, in all.
sent() { py_log "$1" "$2" | awk '{ n += $4 } END { print n + 0 }'; }

# -- 503, 503, then the file: three tries of one URL, one open
assert_eq "503 twice: read ok" "$(sysop read "$MNT/m503.bin")" "$s_m503"
assert_eq "503 twice: 3 GETs" "$(py_hits flaky /m503.bin)" 3
assert_eq "503 twice: two fetch_retry, tries 1 and 2, then fetch_ok on try 3" \
	"$(trail m503.bin | awk '$1 == "fetch_retry" || $1 == "fetch_ok" { printf "%s:%s ", $1, $3 }')" \
	"fetch_retry:1 fetch_retry:2 fetch_ok:3 "
assert_eq "503 twice: each retry names the URL" \
	"$(trail m503.bin | awk '$1 == "fetch_retry" { print $2 }' | sort -u)" "$FLAKY/m503.bin"
assert_match "503 twice: the retry says why" "$(audit_field fetch_retry m503.bin error)" '503'
assert_match "503 twice: every event of the open has one open_id" "$(ids m503.bin)" '^[0-9a-f]{16} $'

# -- 429 with Retry-After: 2
assert_eq "429 Retry-After 2: read ok" "$(sysop read "$MNT/mra.bin")" "$s_mra"
assert_eq "429 Retry-After 2: 2 GETs" "$(py_hits flaky /mra.bin)" 2
gap=$(py_log flaky /mra.bin | awk 'NR == 1 { a = $8 } NR == 2 { print $8 - a }')
assert_ge "429 Retry-After 2: the second GET waited the 2 s asked" "$gap" 1900
assert_match "429 Retry-After 2: the audit says so" "$(audit_field fetch_retry mra.bin error)" \
	'429.*again in 2\.0 s'

# -- cut after 100000 bytes: resumed with Range and If-Range
assert_eq "cut mid-body: read ok" "$(sysop read "$MNT/mcut.bin")" "$s_mcut"
assert_eq "cut mid-body: 2 GETs" "$(py_hits flaky /mcut.bin)" 2
assert_eq "cut mid-body: the second asks bytes=$CUT- with If-Range the first's ETag" \
	"$(py_log flaky /mcut.bin | awk 'NR == 2 { print $3, $5, $6 }')" \
	"206 bytes=$CUT- \"$(printf %s "$s_mcut" | head -c 16)\""
assert_eq "cut mid-body: no byte sent twice" "$(sent flaky /mcut.bin)" $S
assert_eq "cut mid-body: fetch_ok says resumed_from=$CUT" \
	"$(audit_field fetch_ok mcut.bin resumed_from) $(audit_field fetch_ok mcut.bin attempt)" "$CUT 2"
assert_match "cut mid-body: the retry says it resumes" "$(audit_field fetch_retry mcut.bin error)" \
	'from where it stopped'
assert_eq "cut mid-body: stored once" "$(ls "$STORE/objects" | grep -c "$s_mcut")" 1

# -- stalled after 100000 bytes: the low-speed check ends it, then a resume
assert_eq "stall mid-body: read ok" "$(sysop read "$MNT/mstall.bin")" "$s_mstall"
assert_eq "stall mid-body: 2 GETs, the second from $CUT" \
	"$(py_log flaky /mstall.bin | awk '{ printf "%s ", $5 }')" "- bytes=$CUT- "
assert_eq "stall mid-body: resumed_from=$CUT" "$(audit_field fetch_ok mstall.bin resumed_from)" $CUT

# -- a server without ranges answers 200: the file starts over
assert_eq "cut, no ranges: read ok" "$(sysop read "$MNT/mnr.bin")" "$s_mnr"
assert_eq "cut, no ranges: 2 GETs, the second a whole 200" \
	"$(py_log noranges /mnr.bin | awk 'NR == 2 { print $3, $4 }')" "200 $S"
assert_eq "cut, no ranges: no resumed_from" "$(audit_field fetch_ok mnr.bin resumed_from)" ""

# -- the file changed under the cut (If-Range no longer matches): a 200 again
assert_eq "cut, then changed: read ok" "$(sysop read "$MNT/mchg.bin")" "$s_mchg"
assert_eq "cut, then changed: the resume got a whole 200" \
	"$(py_log flaky /mchg.bin | awk 'NR == 2 { print $3, $4, $5 }')" "200 $S bytes=$CUT-"

# -- a tampered first URL: quarantined, never asked again, the mirror serves
assert_eq "tampered url: read ok from the mirror" "$(sysop read "$MNT/mtamper.bin")" "$s_mtamper"
assert_eq "tampered url: 1 GET there, 1 at the mirror" \
	"$(py_hits tampered /mtamper.bin) $(origin_hits /mtamper.bin)" "1 1"
assert_eq "tampered url: verify_failed names it" "$(audit_field verify_failed mtamper.bin url)" \
	"$TAMPERED/mtamper.bin"
assert_eq "tampered url: verify_ok names the mirror" "$(audit_field verify_ok mtamper.bin url)" \
	"$ORIGIN/mtamper.bin"
assert_eq "tampered url: its bytes are in quarantine/" \
	"$(cat "$STORE"/quarantine/* | cmp - "$T/tampered/mtamper.bin" && echo same)" same
assert_match "tampered url: one open_id for both URLs" "$(ids mtamper.bin)" '^[0-9a-f]{16} $'
assert_eq "tampered url: event order" "$(trail mtamper.bin | awk '{ printf "%s ", $1 }')" \
	"fetch_start fetch_ok verify_failed fetch_start fetch_ok verify_ok "

# -- a dead first URL: retried (connect refused is transient), then the mirror
assert_eq "dead url: read ok from the mirror" "$(sysop read "$MNT/mdead.bin")" "$s_mdead"
assert_eq "dead url: 3 tries there, then the mirror" \
	"$(trail mdead.bin | awk '{ printf "%s:%s ", $1, $3 }')" \
	"fetch_start:- fetch_retry:1 fetch_retry:2 fetch_failed:3 fetch_start:- fetch_ok:- verify_ok:- "
assert_eq "dead url: fetch_failed names it" "$(audit_field fetch_failed mdead.bin url)" \
	"$DEAD/mdead.bin"
assert_eq "dead url: 1 GET at the mirror" "$(origin_hits /mdead.bin)" 1

# -- a 404 is not retried: the next URL at once
assert_eq "404: read ok from the mirror" "$(sysop read "$MNT/m404.bin")" "$s_m404"
assert_eq "404: 1 GET at the url, 1 at the mirror" \
	"$(py_hits flaky /m404.bin) $(origin_hits /m404.bin)" "1 1"
assert_eq "404: no fetch_retry" "$(audit_count fetch_retry m404.bin)" 0

# -- every URL fails: EIO, and the reason says how many
assert_errno "all URLs fail: EIO" EIO read "$MNT/mall.bin"
assert_eq "all URLs fail: fetch_failed for each" \
	"$(trail mall.bin | awk '$1 == "fetch_failed" { printf "%s ", $2 }')" "$FLAKY/mall.bin $DEAD/mall.bin "
assert_match "all URLs fail: the reason counts them" \
	"$("$PY" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.modelfs.error").decode())' \
		"$MNT/mall.bin" 2>&1)" '^2 URLs failed; the last: .*connect'
assert_eq "all URLs fail: nothing stored" "$(ls "$STORE/objects" | grep -c "$s_mall")" 0

# -- retries = 0 on the source: one try
assert_errno "retries=0: a 503 fails the open" EIO read "$MNT/mr0.bin"
assert_eq "retries=0: 1 GET" "$(py_hits flaky /mr0.bin)" 1

# -- different opens have different open_ids
assert_eq "open_ids differ between opens" \
	"$(for m in m503 mra mcut mtamper mdead; do ids $m.bin; done | wc -w)" 5
assert_eq "... and are all distinct" \
	"$(for m in m503 mra mcut mtamper mdead; do ids $m.bin; done | tr ' ' '\n' | sort -u | grep -c .)" 5

# -- the trickle: EIO from the min_rate check, after min_rate_after (20 s),
#    long before the default 60 s would have let it be judged
wait "$SLOW_PID" 2>/dev/null
assert_eq "1 MB at 1.5 KB/s: EIO" "$(cat "$T/slow.out")" EIO
elapsed=$(($(cat "$T/slow.end") - t_slow0))
diag "the trickle failed after $elapsed ms"
assert_le "1 MB at 1.5 KB/s: failed well before the default 60 s" "$elapsed" 50000
assert_match "1 MB at 1.5 KB/s: the reason names min_rate" \
	"$(audit_field fetch_failed slow.bin error)" 'min_rate'
# the origin logs the request once its next write finds the peer gone
for i in $(seq 50); do [ "$(py_hits flaky /slow.bin)" = 0 ] || break; sleep 0.1; done
assert_eq "1 MB at 1.5 KB/s: not retried" "$(py_hits flaky /slow.bin)" 1
