#!/usr/bin/env bash
# Failures must not become a full disk or a storm: a model whose origin
# serves wrong bytes, opened in a loop, costs one download per back-off
# period (failure_backoff, doubling up to failure_backoff_max), not one
# per open; quarantine/ keeps only the newest copies within
# quarantine_max (each one dropped audited); modelfsctl fetch shares the
# back-off and says until when; a fixed origin is served once the
# back-off ends, and the record of failures is gone.  What backs off is
# the failing source, not the bytes: the same model from another url is
# served meanwhile.
. "$(dirname "$0")/lib.sh"

setup_origin
S=200000
good=$(add_model zoo/m.bin $S)
cp "$WWW/zoo/m.bin" "$T/good.bin"
head -c $S /dev/urandom >"$T/bad.bin"
cp "$T/bad.bin" "$WWW/zoo/m.bin"        # the origin now serves wrong bytes
ok_sha=$(add_model zoo/ok.bin 1000)
cfg_begin failure_backoff=3 failure_backoff_max=8 quarantine_max=450000
cfg_source zoo
cfg_model m zoo zoo/m.bin zoo/m.bin $S "$good"
cfg_model ok zoo zoo/ok.bin zoo/ok.bin 1000 "$ok_sha"
mount_or_bail "$CFG" "$MNT"

# loop N — N opens of m at once after another; prints the EIO count.
loop() {
	local i n=0
	for i in $(seq "$1"); do [ "$(sysop read "$MNT/zoo/m.bin")" = EIO ] && n=$((n + 1)); done
	echo "$n"
}
qbytes() { du -sb --apparent-size "$STORE/quarantine" | cut -f1; }

# wait_backoff — until the recorded back-off ("COUNT UNTIL", UNTIL in
# whole seconds) has passed: the checks wait on the record, not on a
# guess of how long the opens before took on a busy machine.
wait_backoff() {
	local until
	until=$(awk '{ print $2 }' "$STORE"/state/*.fail 2>/dev/null | head -1)
	[ -n "$until" ] || return 0
	while [ "$(date +%s)" -le "$until" ]; do sleep 0.2; done
}

assert_eq "10 opens in a row: all EIO" "$(loop 10)" 10
assert_eq "... from one GET: the others failed at once (back-off)" "$(origin_hits /zoo/m.bin)" 1
assert_eq "one verify_failed" "$(audit_count verify_failed zoo/m.bin)" 1
assert_match "the failures are recorded in the store" "$(cat "$STORE"/state/*.fail 2>&1)" "^1 [0-9]+$"
assert_eq "another model is not held back" "$(sysop read "$MNT/zoo/ok.bin")" "$ok_sha"

# modelfsctl fetch shares the back-off and says until when.
"$MFS_BIN/modelfsctl" fetch "$CFG" zoo/m.bin >"$T/fetch.out" 2>&1
assert_eq "modelfsctl fetch during the back-off: exit 1" "$?" 1
assert_match "modelfsctl fetch says it is backing off, until when" "$(cat "$T/fetch.out")" \
	"FAIL  zoo/m.bin .*backing off until [0-9]{4}-[0-9]{2}-[0-9]{2}T"
assert_eq "modelfsctl fetch did not download either" "$(origin_hits /zoo/m.bin)" 1

wait_backoff
assert_eq "after the back-off (3 s): the next open tries again (and fails)" "$(loop 5)" 5
assert_eq "two GETs now" "$(origin_hits /zoo/m.bin)" 2
assert_match "two failures in a row" "$(cat "$STORE"/state/*.fail 2>&1)" "^2 [0-9]+$"
assert_eq "right after: held back (the period doubled to 6 s)" "$(loop 3)" 3
assert_eq "no third GET yet" "$(origin_hits /zoo/m.bin)" 2
wait_backoff
assert_eq "after 6 s: tried again" "$(loop 2)" 2
assert_eq "three GETs" "$(origin_hits /zoo/m.bin)" 3

# Three copies of 200000 bytes, quarantine_max 450000: the oldest dropped.
assert_eq "quarantine/ keeps two copies" "$(count_files "$STORE/quarantine")" 2
assert_le "quarantine/ stays within quarantine_max" "$(qbytes)" 450000
assert_eq "the drop is audited" "$(audit_count quarantine_drop '*')" 1
assert_eq "its size" "$(audit_field quarantine_drop '*' bytes)" $S

# The origin is fixed: once the back-off ends (the third failure reached
# the cap, 8 s), the model is served and the record of failures is gone.
cp "$T/good.bin" "$WWW/zoo/m.bin"
assert_eq "fixed, but still within the back-off: EIO at once" "$(loop 1)" 1
assert_eq "... without a GET" "$(origin_hits /zoo/m.bin)" 3
wait_backoff
assert_eq "after the back-off: the fixed origin's model is served" \
	"$(sysop read "$MNT/zoo/m.bin")" "$good"
assert_eq "four GETs in all" "$(origin_hits /zoo/m.bin)" 4
assert_eq "the record of failures is gone" "$(ls "$STORE/state" | grep -c '\.fail$')" 0
unmount_fs "$MNT"

# The back-off holds back a failing source, not the bytes: the same model
# from another url is served meanwhile.
m3=$(add_model zoo/mirror3.bin 3000)
head -c 3000 /dev/urandom >"$WWW/zoo/m3.bin"
cfg_model m3 zoo zoo/m3.bin zoo/m3.bin 3000 "$m3"
cfg_model mirror3 zoo zoo/mirror3.bin zoo/mirror3.bin 3000 "$m3"
mount_or_bail "$CFG" "$MNT"
assert_eq "a source serving wrong bytes: EIO" "$(sysop read "$MNT/zoo/m3.bin")" EIO
assert_eq "... and it is backing off" "$(sysop read "$MNT/zoo/m3.bin") $(origin_hits /zoo/m3.bin)" "EIO 1"
assert_eq "the same bytes from another url are served meanwhile" \
	"$(sysop read "$MNT/zoo/mirror3.bin")" "$m3"
unmount_fs "$MNT"
