#!/usr/bin/env bash
# -d raises the log level: each open of a model says what it did (fetched,
# verified the stored object, served at once, failed) and how long it
# took, and libfuse's own trace goes through the same log.  Without -d
# none of it is printed.
. "$(dirname "$0")/lib.sh"

setup_origin
sha_a=$(add_model zoo/a.bin 300000)
sha_b=$(add_model zoo/b.bin 1000)
cfg_begin
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 300000 "$sha_a"
cfg_model gone zoo zoo/gone.bin zoo/gone.bin 1000 "$sha_b"

# n_lines LOG ERE — lines of LOG matching ERE.
n_lines() { grep -Ec -- "$2" "$1"; }

mount_or_bail "$CFG" "$MNT" -f -d
LOG=$MOUNT_ERR
assert_eq "first open: the bytes" "$(sysop read "$MNT/zoo/a.bin")" "$sha_a"
assert_eq "second open: the bytes" "$(sysop read "$MNT/zoo/a.bin")" "$sha_a"
assert_errno "a model the origin lacks: EIO" EIO open "$MNT/zoo/gone.bin" O_RDONLY
unmount_fs "$MNT" || not_ok "clean unmount" "see diagnostics"
wait_gone "$FG_PID" $((10 * SLOW))
assert_eq "-d: the first open was fetched, with its time" \
	"$(n_lines "$LOG" "^modelfs: debug: open 'zoo/a.bin': fetched and verified in [0-9]+\.[0-9]{3} ms$")" 1
assert_eq "-d: the second was served at once" \
	"$(n_lines "$LOG" "^modelfs: debug: open 'zoo/a.bin': served from the store \(verified earlier in this mount\) in [0-9]+\.[0-9]{3} ms$")" 1
assert_eq "-d: the failed open says so" \
	"$(n_lines "$LOG" "^modelfs: debug: open 'zoo/gone.bin': failed \(Input/output error\) after [0-9]+\.[0-9]{3} ms$")" 1
assert_ge "-d: libfuse's request trace is in the same log" \
	"$(n_lines "$LOG" '^modelfs: debug: unique: [0-9]+, opcode: OPEN \(')" 3

# After a remount the first open re-hashes the store's object.
mount_or_bail "$CFG" "$MNT" -f -d
LOG=$MOUNT_ERR
assert_eq "after remount: the bytes" "$(sysop read "$MNT/zoo/a.bin")" "$sha_a"
unmount_fs "$MNT" || not_ok "clean unmount" "see diagnostics"
wait_gone "$FG_PID" $((10 * SLOW))
assert_eq "-d after remount: verified the stored object" \
	"$(n_lines "$LOG" "^modelfs: debug: open 'zoo/a.bin': verified the stored object in [0-9]+\.[0-9]{3} ms$")" 1

# Without -d: no debug line at all (the info lines stay).
mount_or_bail "$CFG" "$MNT" -f
LOG=$MOUNT_ERR
assert_eq "without -d: the bytes" "$(sysop read "$MNT/zoo/a.bin")" "$sha_a"
unmount_fs "$MNT" || not_ok "clean unmount" "see diagnostics"
wait_gone "$FG_PID" $((10 * SLOW))
assert_eq "without -d: no debug line" "$(n_lines "$LOG" '^modelfs: debug:')" 0
assert_ge "without -d: info lines still" "$(n_lines "$LOG" '^modelfs: info:')" 1
