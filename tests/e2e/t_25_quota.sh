#!/usr/bin/env bash
# store_max: downloads reserve their bytes; the least recently opened
# objects nobody holds open are evicted to make room (audited, the space
# really freed: the daemon keeps no handle on them, passthrough backing
# ids included); one held open is never evicted and keeps reading right;
# recency survives a restart; a model larger than store_max evicts nothing
# and fails with ENOSPC (store_full); modelfsctl fetch honours the same
# bound.  A real full disk fails that open with ENOSPC, leaves no partial
# file, and the daemon goes on serving.
. "$(dirname "$0")/lib.sh"

setup_origin
S=300000
declare -A SHA
for n in a b c d e held; do SHA[$n]=$(add_model "zoo/$n.bin" $S); done
SHA[big]=$(add_model zoo/big.bin 1200000)
cfg_begin store_max=1M
cfg_source zoo
for n in a b c d e held; do cfg_model "$n" zoo "zoo/$n.bin" "zoo/$n.bin" $S "${SHA[$n]}"; done
cfg_model big zoo zoo/big.bin zoo/big.bin 1200000 "${SHA[big]}"

objects() { count_files "$STORE/objects"; }
store_bytes() { du -sb --apparent-size "$STORE/objects" | cut -f1; }
rd() { sysop read "$MNT/zoo/$1.bin"; }
# evicted NAME — evict events naming zoo/NAME.bin
evicted() { audit_count evict "zoo/$1.bin"; }

mount_or_bail "$CFG" "$MNT"
PID=$(daemon_pid "$STORE")

# A reader holds "held" open for the whole test, then reads it.
mkfifo "$T/go"
"$PY" - "$MNT/zoo/held.bin" "$T/go" >"$T/held.out" 2>&1 <<'EOF' &
import hashlib, sys
f = open(sys.argv[1], "rb")
print("open", flush=True)
open(sys.argv[2]).read()          # wait for the go
print(hashlib.sha256(f.read()).hexdigest(), flush=True)
EOF
HELD_PID=$!
BG_PIDS+=("$HELD_PID")
for i in $(seq 50); do grep -q open "$T/held.out" && break; sleep 0.1; done
assert_eq "a reader holds 'held' open" "$(head -1 "$T/held.out")" open

assert_eq "a: bytes" "$(rd a)" "${SHA[a]}"; sleep 1.1
assert_eq "b: bytes" "$(rd b)" "${SHA[b]}"; sleep 1.1
# Three objects of 300000 bytes (held, a, b): 900000 of the 1048576.
assert_eq "three objects, nothing evicted yet" "$(objects) $(audit_count evict '*')" "3 0"
assert_eq "c: bytes (room made)" "$(rd c)" "${SHA[c]}"
assert_eq "c evicted the least recently opened free object, a" "$(evicted a)" 1
assert_eq "a's eviction says the bytes freed" "$(audit_field evict zoo/a.bin bytes)" $S
assert_eq "held was not evicted" "$(evicted held)" 0
sleep 1.1
assert_eq "b again: served from its object" "$(rd b)" "${SHA[b]}"; sleep 1.1
assert_eq "d: bytes" "$(rd d)" "${SHA[d]}"
assert_eq "d evicted c (b was opened since)" "$(evicted c) $(evicted b)" "1 0"
assert_eq "a again: fetched again" "$(rd a)" "${SHA[a]}"
assert_eq "a: two GETs in all" "$(origin_hits /zoo/a.bin)" 2
assert_le "the store stays within store_max" "$(store_bytes)" 1048576
assert_eq "held still not evicted" "$(evicted held)" 0
# The space is really freed: the daemon holds no deleted object.
assert_eq "no deleted object held by the daemon" \
	"$(ls -l "/proc/$PID/fd" 2>/dev/null | grep -c 'objects/.*(deleted)')" 0

# Larger than store_max: ENOSPC, audited, nothing disturbed.
before=$(ls "$STORE/objects" | sort | tr '\n' ' ')
assert_errno "a model larger than store_max: ENOSPC" ENOSPC open "$MNT/zoo/big.bin" O_RDONLY
assert_eq "store_full audited" "$(audit_count store_full zoo/big.bin)" 1
assert_eq "it evicted nothing" "$(ls "$STORE/objects" | sort | tr '\n' ' ')" "$before"
assert_eq "and downloaded nothing" "$(origin_hits /zoo/big.bin)" 0

echo go >"$T/go"
wait "$HELD_PID"
assert_eq "the held reader read the right bytes throughout" "$(tail -1 "$T/held.out")" "${SHA[held]}"
unmount_fs "$MNT"

# Recency survives a restart: b was opened last of a, b, d before... so
# after a remount the first eviction takes the oldest.
ls -l --time-style=+%s.%N "$STORE/state" >"$T/state.ls" 2>&1
mount_or_bail "$CFG" "$MNT"
oldest=$("$PY" - "$STORE" <<'EOF'
import os, sys
st = sys.argv[1]
objs = os.listdir(os.path.join(st, "objects"))
def used(o):
    p = os.path.join(st, "state", o + ".used")
    return os.stat(p).st_mtime_ns if os.path.exists(p) else os.stat(os.path.join(st, "objects", o)).st_mtime_ns
print(min(objs, key=used))
EOF
)
n_before=$(audit_count evict '*')
assert_eq "e after the remount: bytes" "$(rd e)" "${SHA[e]}"
assert_eq "it evicted one object" "$(($(audit_count evict '*') - n_before))" 1
check "the one evicted is the least recently opened before the restart" \
	test ! -e "$STORE/objects/$oldest"
unmount_fs "$MNT"

# modelfsctl fetch keeps the same bound.
"$MFS_BIN/modelfsctl" fetch "$CFG" zoo/a.bin zoo/b.bin zoo/c.bin zoo/d.bin >"$T/fetch.out" 2>&1
assert_eq "modelfsctl fetch of four 300000-byte models: all verified" "$?" 0
assert_le "modelfsctl fetch stayed within store_max" "$(store_bytes)" 1048576
"$MFS_BIN/modelfsctl" fetch "$CFG" zoo/big.bin >"$T/fetch2.out" 2>&1
assert_eq "modelfsctl fetch of a model larger than store_max: exit 1" "$?" 1
assert_match "it says why" "$(cat "$T/fetch2.out")" "FAIL  zoo/big.bin  No space left on device: store full"

# ---------------------------------------------------------------- a real full disk

FULL=$T/full
mkdir -p "$FULL"
mount -t tmpfs -o size=1m tmpfs "$FULL" || bail "cannot mount a small tmpfs"
MOUNTS+=("$FULL")
SHA[small]=$(add_model zoo/small.bin 100000)
SHA[huge]=$(add_model zoo/huge.bin 3000000)
cfg_begin "$T/full.ini" store="$FULL/store" audit_log="$T/full-audit.jsonl"
cfg_source zoo
cfg_model small zoo zoo/small.bin zoo/small.bin 100000 "${SHA[small]}"
cfg_model huge zoo zoo/huge.bin zoo/huge.bin 3000000 "${SHA[huge]}"
CFG_SAVED=$CFG
CFG=$T/full.ini
mount_or_bail "$CFG" "$MNT"
assert_eq "full disk: a small model first" "$(rd small)" "${SHA[small]}"
assert_errno "full disk: the open fails with ENOSPC" ENOSPC open "$MNT/zoo/huge.bin" O_RDONLY
assert_eq "full disk: no partial file left in staging/" "$(count_files "$FULL/store/staging")" 0
AUDIT_FILE=$T/full-audit.jsonl
assert_match "full disk: fetch_failed says why" "$(audit_field fetch_failed zoo/huge.bin error)" \
	"No space left on device"
unset AUDIT_FILE
assert_eq "full disk: the daemon still serves the other model" "$(rd small)" "${SHA[small]}"
assert_errno "full disk: a second try fails the same (no back-off: not the origin's fault)" \
	ENOSPC open "$MNT/zoo/huge.bin" O_RDONLY
assert_eq "full disk: it was tried again" "$(origin_hits /zoo/huge.bin)" 2
unmount_fs "$MNT"
CFG=$CFG_SAVED
