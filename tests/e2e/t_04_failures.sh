#!/usr/bin/env bash
# Transfer failures fail the open with EIO within a bounded time, are
# audited, and leave nothing in objects/.
. "$(dirname "$0")/lib.sh"

origin_conf 'location /slow/ { limit_rate 200; }'
setup_origin
make_ca other
dead_port=$(free_port)

s_ref=$(add_model zoo/refused.bin 1000)
s_404=$(sha256sum </dev/null | cut -d' ' -f1)
s_ca=$(add_model zoo/wrongca.bin 2000)
s_slow=$(add_model slow/stall.bin 65536)
s_ok=$(add_model zoo/ok.bin 3000)

cfg_begin connect_timeout=3 low_speed_limit=1024 low_speed_time=2 failure_backoff=1 \
	failure_backoff_max=1
cfg_source zoo
cfg_source dead "url=https://127.0.0.1:$dead_port/"
cfg_source otherca "ca_file=$T/other.pem"
cfg_model refused dead zoo/refused.bin zoo/refused.bin 1000 "$s_ref"
cfg_model missing zoo zoo/missing.bin zoo/missing.bin 10 "$s_404"
cfg_model wrongca otherca zoo/wrongca.bin zoo/wrongca.bin 2000 "$s_ca"
cfg_model stall zoo slow/stall.bin slow/stall.bin 65536 "$s_slow"
cfg_model ok zoo zoo/ok.bin zoo/ok.bin 3000 "$s_ok"
mount_or_bail "$CFG" "$MNT"

# timed_eio NAME PATH MAX_SECONDS
timed_eio() {
	local t0 got ms
	t0=$(now_ms)
	got=$(sysop read "$MNT/$2")
	ms=$(($(now_ms) - t0))
	assert_eq "$1: EIO" "$got" EIO
	assert_le "$1: failed within $3 s (took ${ms} ms)" "$ms" $(($3 * 1000 * SLOW))
	assert_ge "$1: audited fetch_failed" "$(audit_count fetch_failed "$2")" 1
	assert_match "$1: fetch_failed has an error" "$(audit_field fetch_failed "$2" error)" '.'
	assert_eq "$1: no verify_ok" "$(audit_count verify_ok "$2")" 0
}

timed_eio "connection refused" zoo/refused.bin 15
assert_eq "connection refused: fetch_failed url" "$(audit_field fetch_failed zoo/refused.bin url)" \
	"https://127.0.0.1:$dead_port/zoo/refused.bin"

timed_eio "HTTP 404" zoo/missing.bin 15
assert_match "HTTP 404: error mentions 404" "$(audit_field fetch_failed zoo/missing.bin error)" '404'
assert_eq "HTTP 404: one GET" "$(origin_hits /zoo/missing.bin)" 1

timed_eio "certificate from another CA" zoo/wrongca.bin 15
assert_eq "certificate from another CA: no HTTP request made" "$(origin_hits /zoo/wrongca.bin)" 0

# 200 bytes/s against low_speed_limit 1024 for 2 s: aborted after about
# 2-3 s (the whole file would take 5 minutes).
timed_eio "stalled transfer" slow/stall.bin 15

assert_eq "nothing in objects/" "$(ls -A "$STORE/objects" 2>&1)" ""
assert_eq "staging/ empty" "$(ls -A "$STORE/staging" 2>&1)" ""
assert_eq "nothing quarantined (no bytes were verified wrong)" "$(ls -A "$STORE/quarantine" 2>&1)" ""

# A failure is not remembered as verified, and it does not wedge the mount.
assert_eq "a good model still reads" "$(sysop read "$MNT/zoo/ok.bin")" "$s_ok"
# After the back-off (1 s, rounded up; t_26 tests it):
sleep 2.1
timed_eio "refused again on the next open" zoo/refused.bin 15
assert_ge "the next open tried again" "$(audit_count fetch_start zoo/refused.bin)" 2
