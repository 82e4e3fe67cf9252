#!/usr/bin/env bash
# metrics_file: the daemon writes the Prometheus text format for
# node_exporter's textfile collector, valid for promtool, at mount, then
# within 10 s of a change, and at unmount; the counters, gauges and the
# open-wait histogram say what happened.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || bail "promtool missing (Debian's prometheus package; scripts/deps)"
setup_origin
a=$(add_model zoo/a.bin 300000)
b=$(add_model zoo/b.bin 300000)
good=$(add_model zoo/bad.bin 4000)
head -c 4000 /dev/urandom >"$WWW/zoo/bad.bin"
PROM=$T/prom/modelfs.prom
mkdir -p "$T/prom"
cfg_begin metrics_file="$PROM" store_max=500K
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 300000 "$a"
cfg_model b zoo zoo/b.bin zoo/b.bin 300000 "$b"
cfg_model bad zoo zoo/bad.bin zoo/bad.bin 4000 "$good"

metric() { awk -v k="$1" '$1 == k { print $2 }' "$PROM" 2>/dev/null; }

mount_or_bail "$CFG" "$MNT"
check "at mount: the file is there" test -f "$PROM"
check "at mount: promtool accepts it" promtool check metrics <"$PROM"
assert_eq "at mount: every model absent" "$(metric 'modelfs_models{state="absent"}')" 3
assert_eq "at mount: store_max" "$(metric modelfs_store_max_bytes)" $((500 * 1024))
assert_eq "world-readable, for node_exporter" "$(stat -c %a "$PROM")" 644

assert_eq "a: bytes" "$(sysop read "$MNT/zoo/a.bin")" "$a"
assert_errno "bad: EIO" EIO open "$MNT/zoo/bad.bin" O_RDONLY
# Within 10 s (and a little) of the change the file says so.
for i in $(seq 130); do
	[ "$(metric 'modelfs_fetches_total{result="ok"}')" = 1 ] && break
	sleep 0.1
done
assert_eq "within 10 s: one fetch ok" "$(metric 'modelfs_fetches_total{result="ok"}')" 1
assert_eq "within 10 s: one failed (its digest)" "$(metric 'modelfs_fetches_total{result="failed"}')" 1
check "within 10 s: promtool accepts it" promtool check metrics <"$PROM"

assert_eq "b: bytes (evicts a)" "$(sysop read "$MNT/zoo/b.bin")" "$b"
unmount_fs "$MNT"
check "at unmount: promtool accepts it" promtool check metrics <"$PROM"
assert_eq "fetches ok" "$(metric 'modelfs_fetches_total{result="ok"}')" 2
assert_eq "fetches failed" "$(metric 'modelfs_fetches_total{result="failed"}')" 1
assert_eq "verify failures" "$(metric modelfs_verify_failures_total)" 1
assert_eq "bytes fetched" "$(metric modelfs_fetch_bytes_total)" 604000
assert_eq "one eviction (store_max)" "$(metric modelfs_evictions_total)" 1
assert_eq "store bytes: b alone" "$(metric modelfs_store_bytes)" 300000
assert_eq "models: verified" "$(metric 'modelfs_models{state="verified"}')" 1
assert_eq "models: failed" "$(metric 'modelfs_models{state="failed"}')" 1
assert_eq "models: absent (a, evicted)" "$(metric 'modelfs_models{state="absent"}')" 1
assert_eq "three opens waited" "$(metric modelfs_open_wait_seconds_count)" 3
assert_eq "all within 300 s" "$(metric 'modelfs_open_wait_seconds_bucket{le="300"}')" 3
assert_eq "no temporary file left" "$(ls "$T/prom" | tr '\n' ' ')" "modelfs.prom "

# A flipped byte in the store: counted as store_corrupt at the next open.
chmod u+w "$STORE"/objects/*
printf 'X' | dd of="$(ls "$STORE"/objects/* | head -1)" bs=1 seek=10 conv=notrunc 2>/dev/null
mount_or_bail "$CFG" "$MNT"
sysop read "$MNT/zoo/b.bin" >/dev/null
unmount_fs "$MNT"
assert_eq "a stored object found changed: store_corrupt" "$(metric modelfs_store_corrupt_total)" 1
