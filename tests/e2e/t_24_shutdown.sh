#!/usr/bin/env bash
# Prompt shutdown: the daemon exits within 0.5 s of the unmount, even with
# a download in flight (aborted: a stalled transfer is woken, not waited
# for), leaves no staging file behind, and an immediate remount on the
# same store works, as systemd's restart does it.
. "$(dirname "$0")/lib.sh"

# About 500 s to download if left alone (low_speed_limit 1024 B/s is met).
origin_conf 'location /slow/ { limit_rate 2k; }'
setup_origin
sha=$(add_model slow/big.bin 1048576)
sha_q=$(add_model zoo/q.bin 5000)
cfg_begin low_speed_limit=1024 low_speed_time=30
cfg_source zoo
cfg_model big zoo zoo/big.bin slow/big.bin 1048576 "$sha"
cfg_model q zoo zoo/q.bin zoo/q.bin 5000 "$sha_q"

# gone_within PID MS — 0 if PID exits (a zombie counts) within MS ms; sets WAITED.
gone_within() {
	local t0
	t0=$(now_ms)
	while ! proc_gone "$1" && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.01; done
	WAITED=$(($(now_ms) - t0))
	proc_gone "$1" && [ "$WAITED" -le "$2" ]
}

LIMIT=$((500 * SLOW))

# Idle: unmount, then at once mount again, five times.
fails=0
for i in 1 2 3 4 5; do
	mount_fs "$CFG" "$MNT" || { fails=$((fails + 1)); diag "mount $i: $(cat "$MOUNT_ERR")"; continue; }
	pid=$(daemon_pid "$STORE")
	fusermount3 -u "$MNT"
	gone_within "$pid" "$LIMIT" || { fails=$((fails + 1)); diag "idle exit $i took ${WAITED} ms"; }
done
assert_eq "idle: five unmount-and-mount rounds, each exit within ${LIMIT} ms" "$fails" 0

# A download in flight: its reader is gone (killed), the download goes on
# for the store until the unmount.
mount_or_bail "$CFG" "$MNT"
pid=$(daemon_pid "$STORE")
assert_eq "a verified model first" "$(sysop read "$MNT/zoo/q.bin")" "$sha_q"
bg sh -c 'cat "$1" >/dev/null 2>&1 & echo $! >"$2"; wait' sh "$MNT/zoo/big.bin" "$T/reader.pid"
for i in $(seq 50); do
	[ "$(audit_count fetch_start zoo/big.bin)" -ge 1 ] && break
	sleep 0.1
done
assert_eq "the slow download started" "$(audit_count fetch_start zoo/big.bin)" 1
kill -KILL "$(cat "$T/reader.pid")"
sleep 0.3
assert_ge "the download is still in flight (a staging file)" "$(count_files "$STORE/staging")" 1
t0=$(now_ms)
fusermount3 -u "$MNT" || diag "fusermount3 -u failed"
if gone_within "$pid" "$LIMIT"; then
	ok "with a download in flight: the daemon exits within ${LIMIT} ms (${WAITED} ms)"
else
	not_ok "with a download in flight: the daemon exits within ${LIMIT} ms" "took ${WAITED} ms"
fi
mount_fs "$CFG" "$MNT"
assert_eq "an immediate remount on the same store works" "$?" 0
assert_eq "the store is clean: no staging file left" "$(count_files "$STORE/staging")" 0
assert_eq "the aborted download is audited" "$(audit_field fetch_failed zoo/big.bin error)" "cancelled"
assert_eq "the remounted daemon serves" "$(sysop read "$MNT/zoo/q.bin")" "$sha_q"
unmount_fs "$MNT"
