#!/usr/bin/env bash
# How verified bytes are served.  With FUSE passthrough (the default, when
# the kernel offers it) no READ reaches the daemon, and read, pread near
# the end and MAP_SHARED mmap give the origin's bytes; with
# `passthrough = no` the same bytes come through spliced READs.  Listings
# are READDIRPLUS: `ls -l` + `stat` of a directory of 40 models costs no
# LOOKUP per entry, and lock files listed with them are still right.
# The daemon runs in the foreground with -d: its libfuse debug log names
# every request it got.
. "$(dirname "$0")/lib.sh"

setup_origin
SIZE=3145739   # 3 MiB + 11: not a multiple of the page size
sha=$(add_model zoo/big.params $SIZE)
N=40
declare -A fsha fsize
for i in $(seq -w 1 $N); do
	fsize[$i]=$((1000 + 10#$i * 37))
	fsha[$i]=$(add_model "dir/f$i.bin" "${fsize[$i]}")
done

write_cfg() { # [modelfs] KEY=VALUE...
	cfg_begin "$@"
	cfg_source zoo
	cfg_model big zoo zoo/big.params zoo/big.params $SIZE "$sha"
	local i
	for i in $(seq -w 1 $N); do
		cfg_model "f$i" zoo "dir/f$i.bin" "dir/f$i.bin" "${fsize[$i]}" "${fsha[$i]}"
	done
}

# requests LOG OPCODE — how many requests of OPCODE the daemon logged.
requests() { grep -c "opcode: $2 (" "$1"; }

TAIL_PY='
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
got = os.pread(fd, 100, size - 50) + os.pread(fd, 10, size)
want = open(sys.argv[2], "rb").read()[-50:]
print("OK" if got == want else "DIFFER")
'

# Drops the kernel's cached pages of a file (without passthrough the
# daemon stored the model there at its first open: then reads are READs).
EVICT_PY='
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
'

# read_checks LABEL — bytes by read, by mmap, and the tail by pread; the
# second read after the kernel's cache of the file was dropped.
read_checks() {
	assert_eq "$1: read gives the origin's bytes" "$(sysop read "$MNT/zoo/big.params")" "$sha"
	$PY -c "$EVICT_PY" "$MNT/zoo/big.params"
	assert_eq "$1: read again, same bytes" "$(sysop read "$MNT/zoo/big.params")" "$sha"
	assert_eq "$1: MAP_SHARED mmap gives the origin's bytes" \
		"$(sysop mmap "$MNT/zoo/big.params")" "$sha"
	assert_eq "$1: pread across the end gives the last 50 bytes, then nothing" \
		"$($PY -c "$TAIL_PY" "$MNT/zoo/big.params" "$WWW/zoo/big.params" 2>&1)" OK
	assert_eq "$1: a small model's bytes" "$(sysop read "$MNT/dir/f07.bin")" "${fsha[07]}"
}

# ---------------------------------------------------------------- passthrough

write_cfg
mount_or_bail "$CFG" "$MNT" -f -d
LOG=$MOUNT_ERR
read_checks passthrough

# Listing: READDIRPLUS answers names and attributes together.
lookups0=$(requests "$LOG" LOOKUP)
listing=$(ls -l "$MNT/dir" 2>&1)
assert_eq "ls -l lists every model" "$(printf '%s\n' "$listing" | grep -c ' f[0-9]*\.bin$')" $N
sizes_ok=1
for i in $(seq -w 1 $N); do
	[ "$(stat -c %s "$MNT/dir/f$i.bin")" = "${fsize[$i]}" ] || { sizes_ok=0; diag "f$i: wrong size"; }
done
assert_eq "stat gives every declared size" $sizes_ok 1
# "dir" itself is looked up; its 40 entries came with the listing.
assert_le "ls -l and 40 stats: no LOOKUP per entry" $(( $(requests "$LOG" LOOKUP) - lookups0 )) 1
assert_eq "modes from the listing are the catalog's" \
	"$(stat -c %a "$MNT/dir/f01.bin") $(stat -c %a "$MNT/dir")" "444 777"
# Lock files are listed by name only; a stat looks them up.
assert_errno "a lock file can be created" OK open "$MNT/dir/f01.bin.lock" "O_WRONLY|O_CREAT"
assert_eq "the listing has the lock file, empty and 0666" \
	"$(ls -l "$MNT/dir" | awk '$NF == "f01.bin.lock" { print $1, $5 }')" "-rw-rw-rw- 0"
assert_errno "the lock file can be removed" OK unlink "$MNT/dir/f01.bin.lock"
assert_eq "after unlink it is no longer listed" "$(ls "$MNT/dir" | grep -c lock)" 0

unmount_fs "$MNT" || not_ok "clean unmount" "see diagnostics"
# The debug log is complete once the daemon has exited.
wait_gone "$FG_PID" $((10 * SLOW))

assert_ge "READDIRPLUS requests were made" "$(requests "$LOG" READDIRPLUS)" 1
assert_eq "no plain READDIR" "$(requests "$LOG" READDIR)" 0

if grep -q "the kernel does not offer FUSE passthrough" "$LOG"; then
	diag "this kernel has no FUSE passthrough (Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH):"
	diag "reads are spliced; the passthrough checks below are skipped"
	assert_ge "without passthrough, reads are spliced READs" "$(requests "$LOG" READ)" 1
else
	assert_eq "the daemon negotiated passthrough" \
		"$(grep -c 'FUSE passthrough negotiated' "$LOG")" 1
	assert_eq "no object was refused passthrough" "$(grep -c 'passthrough refused' "$LOG")" 0
	assert_ge "every open reached the daemon" "$(requests "$LOG" OPEN)" 5
	assert_eq "no READ reached the daemon: the kernel read the store" \
		"$(requests "$LOG" READ)" 0
fi
assert_eq "the origin served the big model once" "$(origin_hits /zoo/big.params)" 1

# ---------------------------------------------------------------- changed while open

# A store object changed under a reader that holds it open: that reader's
# descriptor sees the change (README: root on the host), but no new open
# is answered with the changed bytes.  Under passthrough the kernel keeps
# the old backing file while it is open, so the new open fails closed
# (EIO) until the holder closes; then the re-fetched object is served.
TAMPER_PY='
import glob, hashlib, os, sys
mnt, store = sys.argv[1], sys.argv[2]
def sha_of(fd):
    return hashlib.sha256(os.pread(fd, 1 << 22, 0)).hexdigest()
fd = os.open(mnt, os.O_RDONLY)
print("held", sha_of(fd))
obj = [p for p in glob.glob(store + "/objects/*") if os.path.getsize(p) == os.fstat(fd).st_size][0]
os.chmod(obj, 0o644)
w = os.open(obj, os.O_WRONLY)
os.pwrite(w, b"EVIL", 0)
os.close(w)
try:
    fd2 = os.open(mnt, os.O_RDONLY)
    print("second", sha_of(fd2))
    os.close(fd2)
except OSError as e:
    print("second", "EIO" if e.errno == 5 else e.errno)
os.close(fd)
fd3 = os.open(mnt, os.O_RDONLY)
print("third", sha_of(fd3))
'
write_cfg
mount_or_bail "$CFG" "$MNT"
out=$($PY -c "$TAMPER_PY" "$MNT/zoo/big.params" "$STORE" 2>&1)
assert_eq "changed while open: the first open was verified" "$(echo "$out" | awk '/^held/ { print $2 }')" "$sha"
assert_match "changed while open: a second open fails closed or gets verified bytes" \
	"$(echo "$out" | awk '/^second/ { print $2 }')" "^(EIO|$sha)$"
assert_eq "changed while open: after the holder closed, the verified bytes" \
	"$(echo "$out" | awk '/^third/ { print $2 }')" "$sha"
assert_eq "changed while open: the changed object was quarantined" \
	"$(audit_count store_corrupt zoo/big.params)" 1
assert_eq "changed while open: fetched again once" "$(origin_hits /zoo/big.params)" 2
unmount_fs "$MNT" || not_ok "clean unmount (changed while open)" "see diagnostics"

# ---------------------------------------------------------------- passthrough = no

write_cfg passthrough=no
mount_or_bail "$CFG" "$MNT" -f -d
LOG=$MOUNT_ERR
read_checks "passthrough = no"
unmount_fs "$MNT" || not_ok "clean unmount (passthrough = no)" "see diagnostics"
wait_gone "$FG_PID" $((10 * SLOW))
assert_eq "passthrough = no: nothing negotiated" \
	"$(grep -c 'FUSE passthrough negotiated' "$LOG")" 0
assert_ge "passthrough = no: the first opens stored the models into the kernel's cache" \
	"$(grep -c 'NOTIFY: code=4 ' "$LOG")" 2
assert_ge "passthrough = no: reads past the kernel's cache are READs to the daemon" \
	"$(requests "$LOG" READ)" 3
assert_eq "passthrough = no: the store was used, no new download" \
	"$(origin_hits /zoo/big.params)" 2

# ---------------------------------------------------------------- store on a stacked file system

# The kernel refuses a backing file on a stacked file system (overlayfs,
# like a container's root file system): such objects are served by
# spliced READs instead, every open of them alike, with the same bytes.
OVL=$T/ovl
mkdir -p "$OVL/lower" "$OVL/upper" "$OVL/work" "$OVL/merged"
if mount -t overlay overlay -o "lowerdir=$OVL/lower,upperdir=$OVL/upper,workdir=$OVL/work" \
	"$OVL/merged" 2>"$T/logs/overlay.err"; then
	write_cfg "store=$OVL/merged/store"
	mount_or_bail "$CFG" "$MNT" -f -d
	LOG=$MOUNT_ERR
	read_checks "store on overlayfs"
	unmount_fs "$MNT" || not_ok "clean unmount (store on overlayfs)" "see diagnostics"
	wait_gone "$FG_PID" $((10 * SLOW))
	if grep -q "FUSE passthrough negotiated" "$LOG"; then
		assert_eq "store on overlayfs: the kernel's refusal is logged once" \
			"$(grep -c 'FUSE passthrough refused' "$LOG")" 1
		assert_ge "store on overlayfs: reads are READs to the daemon" \
			"$(requests "$LOG" READ)" 3
	fi
	assert_eq "store on overlayfs: one more download (a new store)" \
		"$(origin_hits /zoo/big.params)" 3
	umount "$OVL/merged" || umount -l "$OVL/merged"
else
	diag "overlayfs cannot be mounted here ($(cat "$T/logs/overlay.err")): skipped"
fi
