#!/usr/bin/env bash
# SIGHUP reloads the config without a remount: a new model shows at once
# (even a name the kernel had cached as missing), a removed one leaves the
# listing while a reader that had it open keeps reading its verified
# bytes, a changed pin is verified on the next open with a new download,
# an unchanged model keeps its inode and stays verified (no new GET).  A
# broken config, or one that changes what a reload cannot (store), is
# refused: the mount serves the previous config unchanged, stderr names
# FILE:LINE, the audit log has reload_failed.  Readers waiting on
# downloads while the config flips get verified bytes.  A daemonized
# modelfs reloads on SIGHUP too (systemd's ExecReload).  Eviction under
# store_max spares an object that only a reader of a replaced config
# holds.  A download held at the origin across a reload is not started
# again by the new config: its open waits for it (one GET) and is served
# the same object while the old config's reader holds it open (FUSE
# passthrough failed that open with EIO).
. "$(dirname "$0")/lib.sh"

origin_conf 'location /load/ { limit_rate 512k; }'
setup_origin
S=3000000
a_sha=$(add_model zoo/a.bin 4000)
b_sha=$(add_model zoo/b.bin $S)
c1_sha=$(add_model zoo/c.bin 5000)
keep_sha=$(add_model zoo/keep.bin 6000)
new_sha=$(add_model zoo/new.bin 7000)
x_sha=$(add_model other/x.bin 8000)

# config B_LINE C_SHA EXTRA — the config with b (if B_LINE is yes), c
# pinned to C_SHA, and EXTRA (yes: new.bin and other/x.bin).
config() {
	cfg_begin
	cfg_source zoo
	cfg_model a zoo zoo/a.bin "${A_URL:-zoo/a.bin}" 4000 "$a_sha"
	[ "$1" = yes ] && cfg_model b zoo zoo/b.bin zoo/b.bin $S "$b_sha"
	cfg_model c zoo zoo/c.bin zoo/c.bin 5000 "$2"
	cfg_model keep zoo zoo/keep.bin zoo/keep.bin 6000 "$keep_sha"
	if [ "$3" = yes ]; then
		cfg_model new zoo zoo/new.bin zoo/new.bin 7000 "$new_sha"
		cfg_model x zoo other/x.bin other/x.bin 8000 "$x_sha"
	fi
}

# reloaded N — waits (up to 10 s) for the Nth reload or reload_failed
# event in all; prints how many there are.
reloaded() {
	local i n
	for i in $(seq $((100 * SLOW))); do
		n=$(($(audit_count reload '*') + $(audit_count reload_failed '*')))
		[ "$n" -ge "$1" ] && break
		sleep 0.1
	done
	echo "$n"
}

config yes "$c1_sha" no
mount_or_bail "$CFG" "$MNT" -f
PID=$FG_PID

assert_eq "before: keep reads" "$(sysop read "$MNT/zoo/keep.bin")" "$keep_sha"
assert_eq "before: c reads (its first pin)" "$(sysop read "$MNT/zoo/c.bin")" "$c1_sha"
assert_eq "before: a reads" "$(sysop read "$MNT/zoo/a.bin")" "$a_sha"
a_ino=$(stat -c %i "$MNT/zoo/a.bin")
keep_ino=$(stat -c %i "$MNT/zoo/keep.bin")
c_ino=$(stat -c %i "$MNT/zoo/c.bin")
zoo_ino=$(stat -c %i "$MNT/zoo")
# The kernel now caches these misses for a day.
assert_errno "before: new.bin is ENOENT" ENOENT stat "$MNT/zoo/new.bin"
assert_errno "before: other/ is ENOENT" ENOENT stat "$MNT/other"

# A reader of b: opens, reads 1 MB, waits for $T/go, reads the rest.
READER_PY='
import hashlib, os, sys, time
f, ready, go = sys.argv[1:]
h = hashlib.sha256()
with open(f, "rb", buffering=0) as fh:
    h.update(fh.read(1 << 20))
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.05)
    while True:
        b = fh.read(1 << 20)
        if not b:
            break
        h.update(b)
print(h.hexdigest())
'
"$PY" -c "$READER_PY" "$MNT/zoo/b.bin" "$T/ready" "$T/go" >"$T/reader.out" 2>&1 &
READER=$!
BG_PIDS+=("$READER")
for i in $(seq $((100 * SLOW))); do [ -e "$T/ready" ] && break; sleep 0.1; done
assert_eq "a reader holds b open" "$([ -e "$T/ready" ] && echo yes)" yes

# c's origin bytes change, and its pin with them; a moves to another url
# (same pin); b goes; new.bin and other/x.bin come.
c2_sha=$(add_model zoo/c.bin 5000)
cp "$WWW/zoo/a.bin" "$WWW/zoo/a-moved.bin"
A_URL=zoo/a-moved.bin config no "$c2_sha" yes
kill -HUP "$PID"
assert_eq "SIGHUP: reloaded (audited)" "$(reloaded 1)" 1
assert_eq "the reload event" "$(audit_count reload '*')" 1
assert_eq "the daemon is still running" "$(proc_gone "$PID" || echo running)" running
assert_eq "still mounted" "$(is_mounted "$MNT" && echo yes)" yes

assert_eq "a new model shows at once (the cached miss was dropped)" \
	"$(stat -c %s "$MNT/zoo/new.bin" 2>&1)" 7000
assert_eq "a new directory shows at once" "$(stat -c %s "$MNT/other/x.bin" 2>&1)" 8000
assert_eq "the listing is the new config's" "$(ls "$MNT/zoo" | tr '\n' ' ')" \
	"a.bin c.bin keep.bin new.bin "
assert_eq "the root lists the new directory" "$(ls "$MNT" | tr '\n' ' ')" "other zoo "
assert_errno "a removed model is ENOENT" ENOENT stat "$MNT/zoo/b.bin"
assert_errno "... and cannot be opened" ENOENT read "$MNT/zoo/b.bin"
assert_eq "the new model reads" "$(sysop read "$MNT/zoo/new.bin")" "$new_sha"
assert_eq "... after one GET" "$(origin_hits /zoo/new.bin)" 1
assert_eq "other/x.bin reads" "$(sysop read "$MNT/other/x.bin")" "$x_sha"

# The reader of the removed model finishes with the bytes it opened.
touch "$T/go"
wait "$READER"
assert_eq "the reader of the removed model read its verified bytes to the end" \
	"$(cat "$T/reader.out")" "$b_sha"
assert_eq "b was downloaded once" "$(origin_hits /zoo/b.bin)" 1

# Unchanged: the same inode, still verified (no GET); changed: a new inode,
# verified against the new pin with a new download.
assert_eq "an unchanged model keeps its inode" "$(stat -c %i "$MNT/zoo/keep.bin")" "$keep_ino"
assert_eq "its directory keeps its inode" "$(stat -c %i "$MNT/zoo")" "$zoo_ino"
assert_eq "the unchanged model reads" "$(sysop read "$MNT/zoo/keep.bin")" "$keep_sha"
assert_eq "... without a new GET" "$(origin_hits /zoo/keep.bin)" 1
assert_eq "... served as verified (status)" \
	"$("$PY" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.modelfs.state").decode())' \
		"$MNT/zoo/keep.bin" 2>&1)" verified
assert_ne "a changed model has a new inode" "$(stat -c %i "$MNT/zoo/c.bin")" "$c_ino"
assert_eq "the changed model reads its new bytes" "$(sysop read "$MNT/zoo/c.bin")" "$c2_sha"
assert_eq "... verified with a new GET" "$(origin_hits /zoo/c.bin)" 2
assert_eq "... against the new pin" "$(audit_field verify_ok zoo/c.bin actual)" "$c2_sha"
assert_ne "a model whose url changed has a new inode" "$(stat -c %i "$MNT/zoo/a.bin")" "$a_ino"
assert_eq "it reads" "$(sysop read "$MNT/zoo/a.bin")" "$a_sha"
assert_eq "... verified again (the store's object, against its pin)" \
	"$(audit_count verify_ok zoo/a.bin)" 2
assert_eq "... with no GET: the store had the bytes its pin names" \
	"$(origin_hits /zoo/a-moved.bin) $(origin_hits /zoo/a.bin)" "0 1"

# A broken config: refused, the mount unchanged, FILE:LINE said.
cp "$CFG" "$T/good.ini"
printf '\n[model broken]\nsource = zoo\npath = zoo/broken.bin\nurl = x\nsize = lots\n' >>"$CFG"
line=$(grep -n '^size = lots' "$CFG" | cut -d: -f1)
kill -HUP "$PID"
assert_eq "a broken config: reload_failed (audited)" "$(reloaded 2)" 2
assert_eq "one reload_failed" "$(audit_count reload_failed '*')" 1
assert_match "reload_failed says FILE:LINE" "$(audit_field reload_failed '*' error)" \
	"$(basename "$CFG"):$line: "
assert_match "stderr says FILE:LINE and that the previous config is served" \
	"$(cat "$MOUNT_ERR")" "reload failed, still serving the previous config: .*$(basename "$CFG"):$line: "
assert_eq "the mount still serves the previous config" "$(ls "$MNT/zoo" | tr '\n' ' ')" \
	"a.bin c.bin keep.bin new.bin "
assert_errno "the broken config's model is not there" ENOENT stat "$MNT/zoo/broken.bin"
assert_eq "a model still reads" "$(sysop read "$MNT/zoo/a.bin")" "$a_sha"

# A reload cannot move the store.
cp "$T/good.ini" "$CFG"
sed -i "s|^store = .*|store = $T/other-store|" "$CFG"
kill -HUP "$PID"
assert_eq "another store: refused" "$(reloaded 3)" 3
assert_eq "two reload_failed" "$(audit_count reload_failed '*')" 2
assert_match "... saying store cannot change" "$(audit_field reload_failed '*' error)" \
	"store cannot change while mounted"
assert_eq "... and nothing was made there" "$([ -e "$T/other-store" ] && echo made || echo no)" no
assert_eq "the mount still serves" "$(sysop read "$MNT/zoo/new.bin")" "$new_sha"

# Back to the first config: b returns (under a new inode), the rest goes.
config yes "$c1_sha" no
kill -HUP "$PID"
assert_eq "reloaded again" "$(reloaded 4)" 4
assert_eq "b is back" "$(sysop read "$MNT/zoo/b.bin")" "$b_sha"
assert_errno "new.bin is gone again" ENOENT stat "$MNT/zoo/new.bin"
assert_errno "other/ is gone" ENOENT stat "$MNT/other"
assert_eq "c is back to its first pin (its object is still in the store: no GET)" \
	"$(sysop read "$MNT/zoo/c.bin")" "$c1_sha"
# (The origin serves c2's bytes now: a GET would have failed the pin.)
assert_eq "... no GET" "$(origin_hits /zoo/c.bin)" 2

# Reloads under load: readers of cold models (opens waiting on downloads,
# reads in flight) while the config flips ten times; every reader gets
# the verified bytes, and the daemon stays up (the sanitizer pass checks
# what the retired generations leave).
declare -A LOAD
for i in 1 2 3 4 5 6; do LOAD[$i]=$(add_model load/l$i.bin 400000); done
load_config() { # EXTRA (yes: new.bin too)
	config yes "$c1_sha" "$1"
	for i in 1 2 3 4 5 6; do cfg_model l$i zoo load/l$i.bin load/l$i.bin 400000 "${LOAD[$i]}"; done
}
load_config no
kill -HUP "$PID"
base=$(reloaded 5)
assert_eq "the load models are in" "$base" 5
pids=()
for r in $(seq 18); do
	i=$((r % 6 + 1))
	sysop read "$MNT/load/l$i.bin" >"$T/load.$r" &
	pids+=($!)
done
for k in $(seq 10); do
	if [ $((k % 2)) = 1 ]; then load_config yes; else load_config no; fi
	kill -HUP "$PID"
	sleep 0.05
done
still=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && still=$((still + 1)); done
assert_ge "readers were still waiting when the reloads ended (the test overlaps them)" "$still" 1
wait "${pids[@]}"
bad=0
for r in $(seq 18); do
	i=$((r % 6 + 1))
	[ "$(cat "$T/load.$r")" = "${LOAD[$i]}" ] || bad=$((bad + 1))
done
assert_eq "18 readers during 10 reloads: all got the verified bytes" "$bad" 0
# (SIGHUPs that arrive while one reload runs may count as one.)
sleep 1
assert_ge "the reloads happened" "$(reloaded 0)" $((base + 1))
assert_eq "the daemon is still running" "$(proc_gone "$PID" || echo running)" running
assert_eq "and serves the last config" "$(sysop read "$MNT/load/l1.bin")" "${LOAD[1]}"

unmount_fs "$MNT"
wait "$PID"
assert_eq "the daemon exits 0 after reloads" "$?" 0

# A daemonized modelfs (no -f), given the config by a relative path (it
# runs in / once daemonized): SIGHUP reloads it too.
config no "$c1_sha" no
cd "$(dirname "$CFG")" || bail "cd"
mount_or_bail "$(basename "$CFG")" "$MNT"
cd / || bail "cd /"
dpid=$(daemon_pid "$STORE")
config no "$c1_sha" yes
n=$(($(audit_count reload '*') + 1))
kill -HUP "$dpid"
for i in $(seq $((100 * SLOW))); do
	[ "$(audit_count reload '*')" -ge $n ] && break
	sleep 0.1
done
assert_eq "daemonized: SIGHUP reloaded" "$(audit_count reload '*')" $n
assert_eq "daemonized: the new model reads" "$(sysop read "$MNT/zoo/new.bin")" "$new_sha"
unmount_fs "$MNT"

# Eviction after a reload: an object only a reader of the replaced config
# holds is not evicted to make room (store_max) for the new one's model.
rm -rf "$STORE"
p_sha=$(add_model evict/p.bin 1000000)
q_sha=$(add_model evict/q.bin 1000000)
evict_config() { # WITH_P
	cfg_begin store_max=1500000
	cfg_source zoo
	[ "$1" = yes ] && cfg_model p zoo evict/p.bin evict/p.bin 1000000 "$p_sha"
	cfg_model q zoo evict/q.bin evict/q.bin 1000000 "$q_sha"
}
evict_config yes
mount_or_bail "$CFG" "$MNT" -f
PID=$FG_PID
rm -f "$T/ready" "$T/go"
"$PY" -c "$READER_PY" "$MNT/evict/p.bin" "$T/ready" "$T/go" >"$T/reader2.out" 2>&1 &
READER=$!
BG_PIDS+=("$READER")
for i in $(seq $((100 * SLOW))); do [ -e "$T/ready" ] && break; sleep 0.1; done
assert_eq "a reader holds p open" "$([ -e "$T/ready" ] && echo yes)" yes
want=$(($(reloaded 0) + 1))
evict_config no
kill -HUP "$PID"
assert_eq "p removed by a reload" "$(reloaded $want)" $want
assert_errno "q cannot fit: p's reader (of the old config) holds it" ENOSPC read "$MNT/evict/q.bin"
assert_eq "p's object is still in the store" \
	"$([ -e "$STORE/objects/sha256-$p_sha" ] && echo yes)" yes
touch "$T/go"
wait "$READER"
assert_eq "p's reader read its verified bytes" "$(cat "$T/reader2.out")" "$p_sha"
# The old config is retired once its reader is gone; p may go now.
for i in $(seq $((50 * SLOW))); do
	[ "$(sysop read "$MNT/evict/q.bin")" = "$q_sha" ] && break
	sleep 0.1
done
assert_eq "then q fits: p was evicted" "$(sysop read "$MNT/evict/q.bin")" "$q_sha"
assert_eq "p's object is gone" "$([ -e "$STORE/objects/sha256-$p_sha" ] && echo yes || echo no)" no
assert_eq "the eviction is audited (by object: no model names it now)" \
	"$(audit_count evict "objects/sha256-$p_sha")" 1
unmount_fs "$MNT"

# A reload while an unchanged model is being downloaded: the new config's
# open waits for that download (one GET) and is served the object it
# committed, the inode the old config's reader holds open.  (A second
# download replaced that object; with FUSE passthrough the kernel then
# refused whichever open came second, as one inode cannot have two
# backing files: EIO, and no error logged.)
rm -rf "$STORE"
h_sha=$(add_model held/h.bin 100000)
py_origin held "$WWW" --rules "{\"/held/h.bin\": [{\"hold\": \"$T/release\"}]}"
cfg_begin low_speed_time=60
cfg_source held "url=$PY_ORIGIN/"
cfg_model h held held/h.bin held/h.bin 100000 "$h_sha"
mount_or_bail "$CFG" "$MNT" -f
PID=$FG_PID
# HOLDER_PY FILE READY GO — opens and reads FILE, makes READY, holds it
# open until GO exists; prints its sha256, or the errno of the open.
HOLDER_PY='
import errno, hashlib, os, sys, time
f, ready, go = sys.argv[1:]
try:
    fd = os.open(f, os.O_RDONLY)
except OSError as e:
    open(ready, "w").close()
    sys.exit(print(errno.errorcode[e.errno]))
h = hashlib.sha256()
while True:
    b = os.read(fd, 1 << 20)
    if not b:
        break
    h.update(b)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
os.close(fd)
print(h.hexdigest())
'
rm -f "$T/go"
"$PY" -c "$HOLDER_PY" "$MNT/held/h.bin" "$T/ready.old" "$T/go" >"$T/held.old" 2>&1 &
OLD_READER=$!
BG_PIDS+=("$OLD_READER")
for i in $(seq $((100 * SLOW))); do [ -e "$T/release.held" ] && break; sleep 0.1; done
assert_eq "the download is under way (held by the origin)" \
	"$([ -e "$T/release.held" ] && echo yes)" yes
want=$(($(reloaded 0) + 1))
kill -HUP "$PID"
assert_eq "reloaded, h unchanged" "$(reloaded $want)" $want
"$PY" -c "$HOLDER_PY" "$MNT/held/h.bin" "$T/ready.new" "$T/go" >"$T/held.new" 2>&1 &
NEW_READER=$!
BG_PIDS+=("$NEW_READER")
for i in $(seq $((100 * SLOW))); do
	grep -q "'held/h.bin': waiting for the same download under way" "$MOUNT_ERR" && break
	sleep 0.1
done
assert_match "the new config's open waits for the old one's download" "$(cat "$MOUNT_ERR")" \
	"'held/h.bin': waiting for the same download under way"
touch "$T/release"
for i in $(seq $((100 * SLOW))); do [ -e "$T/ready.old" ] && [ -e "$T/ready.new" ] && break; sleep 0.1; done
touch "$T/go"
wait "$OLD_READER" "$NEW_READER"
assert_eq "the old config's reader got the verified bytes" "$(cat "$T/held.old")" "$h_sha"
assert_eq "the new config's reader too, while the old one held it open" \
	"$(cat "$T/held.new")" "$h_sha"
assert_eq "one GET" "$(py_hits held /held/h.bin)" 1
assert_eq "... and the object it committed verified again (from the store)" \
	"$(audit_count verify_ok held/h.bin)" 2
unmount_fs "$MNT"

# One object, two downloads that do not know of each other: a plain model
# and a zip member with one pin (a file and an archive).  The later commit
# does not replace the object the earlier one's reader holds (with FUSE
# passthrough a new open of the plain model then got EIO): it is served
# the stored object, verified from the store.  No reload needed.
rm -rf "$STORE"
s_sha=$(add_model same/p.bin 100000)
"$PY" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z: z.write(sys.argv[2], "m.bin")' \
	"$WWW/same/z.zip" "$WWW/same/p.bin" || bail "cannot make same/z.zip"
py_origin same "$WWW" --rules "{\"/same/z.zip\": [{\"hold\": \"$T/release-z\"}]}"
cfg_begin low_speed_time=60
cfg_source same "url=$PY_ORIGIN/"
cfg_model p same same/p.bin same/p.bin 100000 "$s_sha"
cfg_model z same same/z.bin same/z.zip 100000 "$s_sha" archive=zip member=m.bin
mount_or_bail "$CFG" "$MNT" -f
sysop read "$MNT/same/z.bin" >"$T/same.z" &
Z_READER=$!
BG_PIDS+=("$Z_READER")
for i in $(seq $((100 * SLOW))); do [ -e "$T/release-z.held" ] && break; sleep 0.1; done
assert_eq "z's archive download is under way (held by the origin)" \
	"$([ -e "$T/release-z.held" ] && echo yes)" yes
rm -f "$T/go"
"$PY" -c "$HOLDER_PY" "$MNT/same/p.bin" "$T/ready.p" "$T/go" >"$T/same.p" 2>&1 &
P_READER=$!
BG_PIDS+=("$P_READER")
for i in $(seq $((100 * SLOW))); do [ -e "$T/ready.p" ] && break; sleep 0.1; done
ino=$(stat -c %i "$STORE/objects/sha256-$s_sha" 2>/dev/null)
assert_ne "p committed the object and its reader holds it" "${ino:-none}" none
touch "$T/release-z"
wait "$Z_READER"
assert_eq "z's reader got the verified bytes" "$(cat "$T/same.z")" "$s_sha"
assert_eq "z's download did not replace the object" \
	"$(stat -c %i "$STORE/objects/sha256-$s_sha")" "$ino"
assert_match "... it served the stored one" "$(cat "$MOUNT_ERR")" \
	"'same/z.bin': the store had its object already; serving that one"
assert_eq "a new open of p, while p's reader holds it, reads the bytes" \
	"$(sysop read "$MNT/same/p.bin")" "$s_sha"
touch "$T/go"
wait "$P_READER"
assert_eq "p's reader read the bytes to the end" "$(cat "$T/same.p")" "$s_sha"
assert_eq "two downloads (one file, one archive)" \
	"$(( $(py_hits same /same/p.bin) + $(py_hits same /same/z.zip) ))" 2
assert_eq "nothing quarantined" "$(count_files "$STORE/quarantine")" 0
unmount_fs "$MNT"
