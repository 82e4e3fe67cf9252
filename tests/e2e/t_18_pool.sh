#!/usr/bin/env bash
# Bounded concurrency: 200 distinct cold models opened at once all read
# back verified, while the daemon never runs more threads than the README
# states (main + 16 FUSE workers + one hasher per CPU + 4 per fetcher)
# and never more downloads at once than max_fetches; then the same after a
# remount, where every open re-hashes the store (the hash pool's bound).
. "$(dirname "$0")/lib.sh"

N=200
SIZE=1100000   # more than one 1 MiB block, so hashwrite's threads run
# Paced so that downloads overlap long enough to be seen side by side.
origin_conf 'location /paced/ { limit_rate 16m; }'
setup_origin
mkdir -p "$WWW/paced"
"$PY" - "$WWW/paced" "$N" "$SIZE" >"$T/sums" <<'EOF' || bail "making models"
import hashlib, os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    b = os.urandom(size)
    open(os.path.join(d, "m%03d.bin" % i), "wb").write(b)
    print("%03d" % i, hashlib.sha256(b).hexdigest())
EOF

# read_all LABEL BOUND — reads all N models at once (one thread each) while
# sampling the daemon's thread count; checks bytes and the bound.
read_all() {
	local label=$1 bound=$2 pid good maxthreads
	pid=$(daemon_pid "$STORE")
	"$PY" - "$MNT/zoo" "$T/sums" "$pid" >"$T/result" 2>&1 <<'EOF'
import hashlib, os, sys, threading, time
mnt, sums, pid = sys.argv[1], sys.argv[2], sys.argv[3]
want = dict(line.split() for line in open(sums))
good, bad, most = [0], [], [0]
lock = threading.Lock()
stop = threading.Event()
def sample():
    while not stop.is_set():
        try:
            for line in open("/proc/%s/status" % pid):
                if line.startswith("Threads:"):
                    most[0] = max(most[0], int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
def read(i):
    try:
        with open(os.path.join(mnt, "m%s.bin" % i), "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        ok = h == want[i]
    except OSError as e:
        ok, h = False, str(e)
    with lock:
        if ok:
            good[0] += 1
        else:
            bad.append((i, h))
s = threading.Thread(target=sample)
s.start()
ts = [threading.Thread(target=read, args=(i,)) for i in want]
for t in ts:
    t.start()
for t in ts:
    t.join()
stop.set()
s.join()
print("good", good[0])
print("bad", len(bad), bad[:3])
print("threads", most[0])
EOF
	good=$(awk '$1 == "good" { print $2 }' "$T/result")
	maxthreads=$(awk '$1 == "threads" { print $2 }' "$T/result")
	diag "$label: $(tr '\n' ' ' <"$T/result")"
	assert_eq "$label: all $N models read back verified" "$good" "$N"
	assert_ge "$label: the thread count was sampled" "${maxthreads:-0}" 1
	assert_le "$label: daemon threads stay within the bound" "${maxthreads:-999}" "$bound"
}

paced_gets() {
	sleep 0.2
	awk '$1 == "GET" && $2 ~ /^\/paced\// { n++ } END { print n + 0 }' "$T/nginx/access.log"
}

# The most downloads in flight at once, from the audit log's own times.
most_at_once() {
	"$PY" - "$AUDIT" <<'EOF'
import json, sys
ev = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "fetch_start":
        ev.append((e["ts"], 1))
    elif e["event"] in ("fetch_ok", "fetch_failed"):
        ev.append((e["ts"], -1))
n = most = 0
# At equal times an end comes first: its slot is free for the next start.
for ts, d in sorted(ev):
    n += d
    most = max(most, n)
print(most)
EOF
}

CPUS=$(nproc)
for FETCHES in 4 2; do
	rm -rf "$STORE"
	cfg_begin max_fetches="$FETCHES"
	cfg_source zoo
	while read -r i sha; do
		cfg_model "m$i" zoo "zoo/m$i.bin" "paced/m$i.bin" "$SIZE" "$sha"
	done <"$T/sums"
	BOUND=$((1 + 16 + CPUS + 4 * FETCHES))
	gets0=$(paced_gets)
	mount_or_bail "$CFG" "$MNT"
	read_all "cold, max_fetches=$FETCHES" "$BOUND"
	assert_eq "max_fetches=$FETCHES: one GET per model" "$(($(paced_gets) - gets0))" "$N"
	assert_eq "max_fetches=$FETCHES: $N verify_ok" "$(audit_count verify_ok '*')" "$N"
	most=$(most_at_once)
	assert_le "max_fetches=$FETCHES: at most $FETCHES downloads at once" "$most" "$FETCHES"
	assert_ge "max_fetches=$FETCHES: downloads ran side by side" "$most" 2
	unmount_fs "$MNT"
done

# After a remount every first open re-hashes the store: the hash pool's
# bound, no network.
gets0=$(paced_gets)
mount_or_bail "$CFG" "$MNT"
read_all "remount (re-hash)" "$((1 + 16 + CPUS + 4 * 2))"
assert_eq "remount: no GET" "$(($(paced_gets) - gets0))" 0
assert_eq "remount: $N more verify_ok, from the store" "$(audit_count verify_ok '*')" "$((2 * N))"
unmount_fs "$MNT"

# An open queued behind the only fetcher stays interruptible: a reader
# killed there exits at once, and its model, which nobody waits for any
# more, is never downloaded.
rm -rf "$STORE"
origin_conf 'location /slow/ { limit_rate 256k; }'
stop_origin
start_origin
s_slow=$(add_model slow/big.bin 1048576)
s_next=$(add_model slow/next.bin 100000)
cfg_begin max_fetches=1
cfg_source zoo
cfg_model big zoo zoo/big.bin slow/big.bin 1048576 "$s_slow"
cfg_model next zoo zoo/next.bin slow/next.bin 100000 "$s_next"
mount_or_bail "$CFG" "$MNT"
bg timeout $((60 * SLOW)) cat "$MNT/zoo/big.bin" >"$T/big.out"
first=$BG
for i in $(seq 50); do
	[ "$(audit_count fetch_start zoo/big.bin)" -ge 1 ] && break
	sleep 0.1
done
assert_eq "queued: the first download holds the only fetcher" "$(audit_count fetch_start zoo/big.bin)" 1
bg sh -c 'cat "$1" >/dev/null 2>&1 & echo $! >"$2"; wait' sh "$MNT/zoo/next.bin" "$T/victim.pid"
sleep 0.5
victim=$(cat "$T/victim.pid")
assert_killed_promptly "queued: a reader killed in the queue exits promptly" "$victim"
if proc_gone "$first"; then
	not_ok "queued: the first download was still in flight" "it finished too soon: the check proves nothing"
else
	ok "queued: the first download was still in flight"
fi
wait "$first"
assert_eq "queued: the first reader got the origin bytes" "$(sha256_of "$T/big.out")" "$s_slow"
sleep 1
assert_eq "queued: the abandoned model was never fetched" "$(audit_count fetch_start zoo/next.bin)" 0
assert_eq "queued: no GET for it" "$(origin_hits /slow/next.bin)" 0
assert_eq "queued: a new open of it is served" "$(sysop read "$MNT/zoo/next.bin")" "$s_next"
unmount_fs "$MNT"
