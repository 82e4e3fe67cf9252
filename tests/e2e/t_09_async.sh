#!/usr/bin/env bash
# Opens waiting for a download hold no FUSE worker: with a slow download
# and more waiters than libfuse has workers (10 by default; 24 waiters
# also beat a loop configured for 16 or 20), metadata and verified
# files still answer at once; a waiting reader killed with SIGKILL exits
# at once (FUSE_INTERRUPT honoured); every waiter then gets the bytes, from
# one GET.
. "$(dirname "$0")/lib.sh"

# 1 MiB at 128 KiB/s: about 8 s in flight (low_speed_limit is 1024 B/s).
origin_conf 'location /slow/ { limit_rate 128k; }'
setup_origin
s_slow=$(add_model slow/big.bin 1048576)
s_fast=$(add_model zoo/fast.bin 100000)
s_new=$(add_model zoo/new.bin 50000)
cfg_begin low_speed_limit=1024 low_speed_time=5
cfg_source zoo
cfg_model big zoo zoo/big.bin slow/big.bin 1048576 "$s_slow"
cfg_model fast zoo zoo/fast.bin zoo/fast.bin 100000 "$s_fast"
cfg_model new zoo zoo/new.bin zoo/new.bin 50000 "$s_new"
cfg_model cold zoo cold/c.bin zoo/new.bin 4321 "$s_new"
mount_or_bail "$CFG" "$MNT"
SLOWF=$MNT/zoo/big.bin
NWAIT=22   # waiters besides the first reader and the one killed

assert_eq "verified file read before" "$(sysop read "$MNT/zoo/fast.bin")" "$s_fast"

# timed NAME MAX_MS CMD... — CMD must succeed within MAX_MS; sets OUT.
timed() {
	local name=$1 max=$(($2 * SLOW)) t0 ms rc
	shift 2
	t0=$(now_ms)
	OUT=$(timeout 10 "$@" 2>&1)
	rc=$?
	ms=$(($(now_ms) - t0))
	if [ $rc != 0 ]; then not_ok "$name" "'$*' exited $rc after ${ms} ms: $OUT"
	elif [ $ms -gt "$max" ]; then not_ok "$name" "took ${ms} ms (max ${max})"
	else ok "$name (${ms} ms)"; fi
}

readers=()
bg timeout $((60 * SLOW)) cat "$SLOWF" >"$T/out.0" 2>"$T/err.0"
readers+=("$BG")
first=$BG
for i in $(seq 50); do
	[ "$(audit_count fetch_start zoo/big.bin)" -ge 1 ] && break
	sleep 0.1
done
assert_eq "download started" "$(audit_count fetch_start zoo/big.bin)" 1
for i in $(seq 1 $NWAIT); do
	bg timeout $((60 * SLOW)) cat "$SLOWF" >"$T/out.$i" 2>"$T/err.$i"
	readers+=("$BG")
done
# The victim runs under a shell of its own, so that its death by SIGKILL
# is not reported as a job of this script.
bg sh -c 'cat "$1" >"$2" 2>/dev/null & echo $! >"$3"; wait' sh "$SLOWF" "$T/out.killed" "$T/victim.pid"
sleep 0.5
victim=$(cat "$T/victim.pid")

# Names never looked up before, so the kernel cannot answer from its cache.
timed "stat of a new name answers during the download" 2000 stat -c %s "$MNT/cold/c.bin"
assert_eq "stat gives the size" "$OUT" 4321
timed "stat answers during the download" 2000 stat -c %s "$SLOWF"
timed "ls -l answers during the download" 2000 ls -l "$MNT/zoo"
timed "find answers during the download" 2000 find "$MNT"
timed "a verified file reads during the download" 2000 sha256sum "$MNT/zoo/fast.bin"
assert_eq "the verified file's bytes" "${OUT%% *}" "$s_fast"
timed "another model downloads alongside" 3000 sha256sum "$MNT/zoo/new.bin"
assert_eq "the other model's bytes" "${OUT%% *}" "$s_new"

if proc_gone "$first"; then
	not_ok "the download was still in flight during the checks" "it finished too soon: the checks above prove nothing"
else
	ok "the download was still in flight during the checks"
fi

assert_killed_promptly "a reader killed with SIGKILL while waiting exits promptly" "$victim"
LAST=$((NWAIT + 1))
bg timeout $((60 * SLOW)) cat "$SLOWF" >"$T/out.$LAST" 2>"$T/err.$LAST"
readers+=("$BG")


fails=0
for p in "${readers[@]}"; do wait "$p" || fails=$((fails + 1)); done
assert_eq "all $((LAST + 1)) waiting readers succeeded" "$fails" 0
same=0
for i in $(seq 0 $LAST); do cmp -s "$T/out.$i" "$WWW/slow/big.bin" && same=$((same + 1)); done
assert_eq "all $((LAST + 1)) got the origin bytes" "$same" $((LAST + 1))
assert_eq "one GET for the slow file" "$(origin_hits /slow/big.bin)" 1
assert_eq "one fetch_start for the slow file" "$(audit_count fetch_start zoo/big.bin)" 1
assert_eq "one verify_ok for the slow file" "$(audit_count verify_ok zoo/big.bin)" 1
assert_eq "staging/ empty" "$(ls -A "$STORE/staging" 2>&1)" ""
