#!/usr/bin/env bash
# Prefetch of a folder model (issue 13 §2): with [modelfs] prefetch = yes,
# the first open of a file of a folder queues its other files.  Each file
# is fetched once (the loader's next open joins the prefetch under way),
# the others arrive verified without being opened, each audited with
# "prefetch":true; a prefetched file that fails verification fails its own
# later open with EIO (backing off: no second download) while the others
# are served; prefetches stay within max_fetches (1 here: the origin never
# serves two at once) and wait behind an open of another model; a folder
# with prefetch = no fetches nothing extra, until a reload (SIGHUP) turns
# it on; a signed folder's prefetched files pass the same signature gate.
. "$(dirname "$0")/lib.sh"

make_ca ca
make_cert ca server
mkdir -p "$WWW/m" "$WWW/p" "$WWW/sg"
s_cfg=$(add_model m/config.json 700)
s1=$(add_model m/s1.bin 32768)
s2=$(add_model m/s2.bin 32768)
s3=$(add_model m/s3.bin 32768)
s4=$(add_model m/s4.bin 32768)
head -c 32768 /dev/urandom >"$WWW/m/s3.bin"  # tampered: s3 fails its pin
s_x=$(add_model x.bin 32768)
s_pa=$(add_model p/a.json 300)
s_pb=$(add_model p/b.bin 4000)
s_ga=$(add_model sg/a.bin 3000)
s_gb=$(add_model sg/b.bin 5000)
openssl ecparam -name prime256v1 -genkey -noout -out "$T/sign.key" 2>/dev/null &&
	openssl ec -in "$T/sign.key" -pubout -out "$T/sign.pub" 2>/dev/null || bail "signing key"
"$PY" "$E2E_DIR/mkbundle.py" --dir "$WWW/sg" --key "$T/sign.key" --out "$WWW/sg.sig" \
	a.bin b.bin || bail mkbundle

# Each shard and x.bin come at 64 KiB/s (half a second each): an open
# finds the prefetch of its file under way.
slow='{"rate": 65536}'
py_origin org "$WWW" --rules "{\"/m/s1.bin\": [$slow], \"/m/s2.bin\": [$slow],
	\"/m/s3.bin\": [$slow], \"/m/s4.bin\": [$slow], \"/x.bin\": [$slow]}"

config() { # PLAIN_PREFETCH ("" to leave the key out)
	cfg_begin prefetch=yes max_fetches=1 failure_backoff=600
	cfg_source org "url=$PY_ORIGIN/"
	{
		printf '\n[model m]\nsource = org\npath = m\nurl = m/\n'
		printf 'file = config.json 700 sha256:%s\n' "$s_cfg"
		printf 'file = s%s.bin 32768 sha256:%s\n' 1 "$s1" 2 "$s2" 3 "$s3" 4 "$s4"
		printf '\n[model plain]\nsource = org\npath = plain\nurl = p/\n'
		printf 'file = a.json 300 sha256:%s\nfile = b.bin 4000 sha256:%s\n' "$s_pa" "$s_pb"
		[ -z "$1" ] || printf 'prefetch = %s\n' "$1"
		printf '\n[model signed]\nsource = org\npath = signed\nurl = sg/\nsignature = sg.sig\n'
		printf 'public_key = %s\nfile = a.bin 3000\nfile = b.bin 5000\n' "$T/sign.pub"
	} >>"$CFG"
	cfg_model x org x.bin x.bin 32768 "$s_x"
}
config no
mount_or_bail "$CFG" "$MNT"

# wait_audit N EVENT PATH... — waits (up to 10 s) until each PATH has N
# EVENT events.
wait_audit() {
	local n=$1 ev=$2 i p done_
	shift 2
	for i in $(seq $((100 * SLOW))); do
		done_=1
		for p in "$@"; do [ "$(audit_count "$ev" "$p")" -ge "$n" ] || done_=0; done
		[ $done_ = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

# A folder without prefetch: its first open fetches that file alone.
assert_eq "prefetch = no: a.json read" "$(sysop read "$MNT/plain/a.json")" "$s_pa"

# The loader: config.json, then the first shard at once; meanwhile
# another model is opened (x.bin).
assert_eq "config.json read" "$(sysop read "$MNT/m/config.json")" "$s_cfg"
sysop read "$MNT/x.bin" >"$T/x.out" &
XPID=$!
BG_PIDS+=("$XPID")
assert_eq "s1, opened while its prefetch is queued or under way: read" \
	"$(sysop read "$MNT/m/s1.bin")" "$s1"
wait "$XPID"
assert_eq "x.bin, opened meanwhile: read" "$(cat "$T/x.out")" "$s_x"

# The others arrive without being opened.
wait_audit 1 verify_ok m/s2.bin m/s4.bin && wait_audit 1 verify_failed m/s3.bin ||
	diag "prefetches not all done: $(audit_events '*')"
assert_eq "s2, s4: in the store, never opened" \
	"$(ls "$STORE/objects" | grep -cE "$s2|$s4")" 2
assert_eq "s2: fetch_start and verify_ok say prefetch" \
	"$(audit_field fetch_start m/s2.bin prefetch) $(audit_field verify_ok m/s2.bin prefetch)" \
	"True True"
assert_eq "config.json (opened): no prefetch in its events" \
	"$(audit_field fetch_start m/config.json prefetch)$(audit_field verify_ok m/config.json prefetch)" ""
assert_eq "s3: verify_failed, a prefetch, bytes to quarantine/" \
	"$(audit_count verify_failed m/s3.bin) $(audit_field verify_failed m/s3.bin prefetch) $(ls "$STORE/quarantine" | wc -l)" \
	"1 True 1"

# Later opens: s2 and s4 from what the prefetch verified, s3 fails alone.
assert_eq "s2 read" "$(sysop read "$MNT/m/s2.bin")" "$s2"
assert_errno "s3, the prefetch failed: its open is EIO" EIO read "$MNT/m/s3.bin"
assert_eq "s4 read" "$(sysop read "$MNT/m/s4.bin")" "$s4"
assert_match "s3 backs off: one failure recorded in the store" \
	"$(cat "$STORE/state/sha256-$s3".*.fail 2>&1)" "^1 [0-9]+$"
assert_eq "each file one GET" \
	"$(for f in config.json s1.bin s2.bin s3.bin s4.bin; do py_hits org "/m/$f"; done | tr '\n' ' ')" \
	"1 1 1 1 1 "
assert_eq "x.bin one GET" "$(py_hits org /x.bin)" 1

# The bound: never two GETs at once (max_fetches = 1), from the origin's
# request times (start, end; an end sorts before a start in the same ms).
most=$(awk '$1 == "GET" { print $10, 1; print $8, 0 }' "$T/logs/org.log" | sort -k1,1n -k2,2n |
	awk '{ n += $2 ? 1 : -1; if (n > m) m = n } END { print m + 0 }')
assert_eq "at most max_fetches (1) downloads at once" "$most" 1
# x.bin was opened after the four prefetches were queued: in one queue
# it would go last, after all four.  Before it go only the prefetch under
# way when it was opened and s1 (opened too, and so moved up): two shards
# start after it (one, should its open come after a prefetch ended).
x_start=$(py_log org /x.bin | awk '{ print $10 }')
assert_ge "an open goes before queued prefetches: shards started after x.bin" \
	"$(awk -v x="${x_start:-0}" '$1 == "GET" && $2 ~ /^\/m\/s/ && $10 > x { n++ } END { print n + 0 }' \
		"$T/logs/org.log")" 1

assert_eq "prefetch = no: b.bin never fetched nor audited" \
	"$(py_hits org /p/b.bin) $(audit_events plain/b.bin)" "0 "

# A signed folder: its first open verifies the bundle once, then b.bin is
# prefetched against its signed digest.
assert_same_bytes "signed: a.bin read" "$MNT/signed/a.bin" "$WWW/sg/a.bin"
wait_audit 1 verify_ok signed/b.bin || diag "signed b.bin not prefetched: $(audit_events '*')"
assert_eq "signed: b.bin prefetched (verify_ok, prefetch) through one signature_ok" \
	"$(audit_field verify_ok signed/b.bin prefetch) $(audit_count signature_ok '*') $(py_hits org /sg.sig)" \
	"True 1 1"
assert_same_bytes "signed: b.bin read" "$MNT/signed/b.bin" "$WWW/sg/b.bin"
assert_eq "signed: one GET each" "$(py_hits org /sg/a.bin) $(py_hits org /sg/b.bin)" "1 1"

# A reload that turns prefetch on for plain: its next open (a.json is
# verified already) prefetches b.bin.
config ""
PID=$(daemon_pid "$STORE") || bail "no daemon pid"
kill -HUP "$PID"
for i in $(seq $((100 * SLOW))); do [ "$(audit_count reload '*')" -ge 1 ] && break; sleep 0.1; done
assert_eq "SIGHUP: reloaded" "$(audit_count reload '*') $(audit_count reload_failed '*')" "1 0"
assert_eq "plain: a.json read again" "$(sysop read "$MNT/plain/a.json")" "$s_pa"
wait_audit 1 verify_ok plain/b.bin || diag "plain b.bin not prefetched: $(audit_events plain/b.bin)"
assert_eq "after the reload: b.bin prefetched, one GET" \
	"$(audit_field fetch_start plain/b.bin prefetch) $(py_hits org /p/b.bin) $(py_hits org /p/a.json)" \
	"True 1 1"
assert_eq "b.bin read" "$(sysop read "$MNT/plain/b.bin")" "$s_pb"
