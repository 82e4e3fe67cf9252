#!/usr/bin/env bash
# Daemon lifecycle: ready on return, one daemon per store, stale staging
# cleared (but not another process's download), SIGTERM/SIGINT and
# fusermount3 -u unmount; modelfsctl fetch warms the store.
. "$(dirname "$0")/lib.sh"

setup_origin
s_a=$(add_model zoo/a.bin 20000)
s_b=$(add_model zoo/b.bin 20001)
s_c=$(add_model zoo/c.bin 20002)
s_d=$(add_model zoo/d.bin 20003)
cfg_begin
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 20000 "$s_a"
cfg_model b zoo zoo/b.bin zoo/b.bin 20001 "$s_b"
cfg_model c zoo zoo/c.bin zoo/c.bin 20002 "$s_c"
cfg_model d zoo zoo/d.bin zoo/d.bin 20003 "$s_d"

mount_or_bail "$CFG" "$MNT"
assert_eq "the mount is ready when modelfs returns" "$MOUNT_IMMEDIATE" 1
pid=$(daemon_pid "$STORE")
if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = modelfs ]; then
	ok "daemon.lock holds the daemon's pid"
else
	not_ok "daemon.lock holds the daemon's pid" "daemon.lock: '$(cat "$STORE/daemon.lock" 2>&1)'"
fi
assert_eq "reads" "$(sysop read "$MNT/zoo/a.bin")" "$s_a"

mkdir -p "$T/mnt2"
err=$(timeout $((20 * SLOW)) "$MFS_BIN/modelfs" "$CFG" "$T/mnt2" 2>&1 </dev/null)
rc=$?
if is_mounted "$T/mnt2"; then MOUNTS+=("$T/mnt2"); fi
assert_eq "a second daemon on the store exits 1" "$rc" 1
assert_match "a second daemon says the store is already in use" "$err" 'already'
if is_mounted "$T/mnt2"; then not_ok "the second daemon mounted nothing" "$(mount_line "$T/mnt2")"
else ok "the second daemon mounted nothing"; fi
assert_eq "the first mount still serves" "$(sysop read "$MNT/zoo/a.bin")" "$s_a"

if [ -n "$pid" ]; then
	kill -TERM "$pid"
	for i in $(seq $((50 * SLOW))); do is_mounted "$MNT" || break; sleep 0.1; done
	if is_mounted "$MNT"; then not_ok "SIGTERM unmounts" "still in /proc/mounts"; else ok "SIGTERM unmounts"; fi
	if wait_gone "$pid" $((10 * SLOW)); then ok "SIGTERM: the daemon exits"
	else not_ok "SIGTERM: the daemon exits" "pid $pid still running"; fi
	MOUNTS=()
else
	not_ok "SIGTERM unmounts" "no daemon pid"
fi

# Start-up clears leftovers in staging/, but not a download another
# process holds (flock) right now.
mkdir -p "$STORE/staging"
echo stale >"$STORE/staging/stale.part"
echo busy >"$STORE/staging/busy.part"
bg "$PY" -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)' "$STORE/staging/busy.part" >"$T/holder.out"
holder=$BG
for i in $(seq 50); do grep -q locked "$T/holder.out" && break; sleep 0.1; done
mount_or_bail "$CFG" "$MNT"
assert_eq "a stale staging file is removed at start" "$(ls "$STORE/staging/stale.part" 2>/dev/null)" ""
assert_eq "a staging file locked by another process is kept" "$(cat "$STORE/staging/busy.part" 2>&1)" busy
kill "$holder" 2>/dev/null

# fusermount3 -u works and the daemon goes away.
pid=$(daemon_pid "$STORE")
out=$(fusermount3 -u "$MNT" 2>&1)
assert_eq "fusermount3 -u succeeds" "$?" 0
if is_mounted "$MNT"; then not_ok "fusermount3 -u unmounts" "$(mount_line "$MNT")"; else ok "fusermount3 -u unmounts"; fi
if [ -n "$pid" ] && wait_gone "$pid" $((10 * SLOW)); then ok "the daemon exits after fusermount3 -u"
else not_ok "the daemon exits after fusermount3 -u" "pid '$pid'"; fi
MOUNTS=()

# Foreground mode: SIGINT unmounts and exits 0.
if mount_fs "$CFG" "$MNT" -f; then
	ok "modelfs -f mounts"
	assert_eq "-f: reads" "$(sysop read "$MNT/zoo/a.bin")" "$s_a"
	kill -INT "$FG_PID"
	if wait_gone "$FG_PID" $((10 * SLOW)); then
		wait "$FG_PID"
		assert_eq "-f: SIGINT exits 0" "$?" 0
	else
		not_ok "-f: SIGINT exits 0" "still running"
	fi
	if is_mounted "$MNT"; then not_ok "-f: SIGINT unmounts" "$(mount_line "$MNT")"; else ok "-f: SIGINT unmounts"; fi
	MOUNTS=()
else
	not_ok "modelfs -f mounts" "$(cat "$MOUNT_ERR")"
fi

# modelfsctl fetch warms the store without mounting.
out=$(timeout $((30 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$CFG" zoo/b.bin 2>&1)
assert_eq "modelfsctl fetch PATH exits 0" "$?" 0
if [ -f "$STORE/objects/sha256-$s_b" ]; then ok "modelfsctl fetch PATH stores the object"
else not_ok "modelfsctl fetch PATH stores the object" "$out"; fi
assert_eq "modelfsctl fetch PATH fetched only that model" "$(origin_hits /zoo/c.bin)" 0
assert_eq "modelfsctl fetch audits verify_ok" "$(audit_count verify_ok zoo/b.bin)" 1
out=$(timeout $((30 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$CFG" zoo/nope.bin 2>&1)
assert_eq "modelfsctl fetch of an unknown path exits 2" "$?" 2
out=$(timeout $((30 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$CFG" zoo/c.bin 2>&1)
assert_eq "modelfsctl fetch of c exits 0" "$?" 0
hits_before="$(origin_hits /zoo/a.bin) $(origin_hits /zoo/b.bin) $(origin_hits /zoo/c.bin)"
assert_eq "each of a, b, c fetched once so far" "$hits_before" "1 1 1"

mount_or_bail "$CFG" "$MNT"
assert_eq "warmed: b reads" "$(sysop read "$MNT/zoo/b.bin")" "$s_b"
assert_eq "warmed: c reads" "$(sysop read "$MNT/zoo/c.bin")" "$s_c"
assert_eq "warmed: a reads" "$(sysop read "$MNT/zoo/a.bin")" "$s_a"
assert_eq "warmed: no new GETs" \
	"$(origin_hits /zoo/a.bin) $(origin_hits /zoo/b.bin) $(origin_hits /zoo/c.bin)" "$hits_before"

# modelfsctl fetch while the daemon serves the same store.
out=$(timeout $((30 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$CFG" zoo/d.bin 2>&1)
assert_eq "modelfsctl fetch while mounted exits 0" "$?" 0
assert_eq "while mounted: d reads" "$(sysop read "$MNT/zoo/d.bin")" "$s_d"
assert_eq "while mounted: d fetched once" "$(origin_hits /zoo/d.bin)" 1
unmount_fs "$MNT"

# A bad digest: modelfsctl fetch fails (and still stores the good one).
s_e=$(add_model zoo/e.bin 3000)
add_model zoo/f.bin 3001 >/dev/null
s_f_wrong=$(printf 'not f' | sha256sum | cut -d' ' -f1)
BAD=$T/bad.ini
cfg_begin "$BAD"
cfg_source zoo
cfg_model e zoo zoo/e.bin zoo/e.bin 3000 "$s_e"
cfg_model f zoo zoo/f.bin zoo/f.bin 3001 "$s_f_wrong"
out=$(timeout $((30 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$BAD" 2>&1)
# (Exactly 1, as documented: a crash is non-zero too.)
assert_eq "modelfsctl fetch with a bad digest exits 1" "$?" 1
assert_eq "the bad digest is audited" "$(audit_count verify_failed zoo/f.bin)" 1
if [ -f "$STORE/objects/sha256-$s_e" ]; then ok "the good model of that config is stored"
else not_ok "the good model of that config is stored" "$(ls "$STORE/objects")"; fi
out=$(timeout $((30 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$BAD" zoo/f.bin 2>&1)
assert_eq "modelfsctl fetch of just the bad model exits 1" "$?" 1

# /etc/fstab style: mount(8) runs mount.fuse3 with a standard PATH
# (/usr/local/bin among it), which runs "modelfs CONFIG MNT -o OPTS" and must
# come back with the mount ready.  Called directly here, with our PATH,
# so the test installs nothing outside its temp dir.
mkdir -p "$T/bin"
ln -sf "$MFS_BIN/modelfs" "$T/bin/modelfs"
out=$(PATH="$T/bin:$PATH" timeout $((30 * SLOW)) mount.fuse3 "$CFG" "$MNT" -t modelfs -o rw,dev,suid,allow_other 2>&1)
assert_eq "mount.fuse3 -t modelfs exits 0" "$?" 0
if is_mounted "$MNT"; then
	MOUNTS+=("$MNT")
	ok "mount.fuse3 -t modelfs mounts"
	assert_match "mount.fuse3: allow_other passed on" "$(mount_line "$MNT")" 'allow_other'
	assert_match "mount.fuse3: still nosuid,nodev despite suid,dev" "$(mount_line "$MNT")" 'nosuid,nodev'
	assert_eq "mount.fuse3: reads as nobody" "$(sysop_nobody read "$MNT/zoo/a.bin")" "$s_a"
	unmount_fs "$MNT"
else
	not_ok "mount.fuse3 -t modelfs mounts" "$out"
fi
