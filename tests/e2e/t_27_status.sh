#!/usr/bin/env bash
# Status without a shell on the store: every model file answers extended
# attributes (state, digest, url, fetched, error) with no open and no
# fetch, to root and to any user who can see the file, before, during and
# after a fetch, and after a failure; `modelfsctl status` prints them per
# model (and as JSON) and exits 1 when a model failed.
. "$(dirname "$0")/lib.sh"

origin_conf 'location /slow/ { limit_rate 256k; }'
setup_origin
sha=$(add_model slow/big.bin 1048576)
good=$(add_model zoo/bad.bin 5000)
head -c 5000 /dev/urandom >"$WWW/zoo/bad.bin"
cfg_begin failure_backoff=30
cfg_source zoo
cfg_model big zoo zoo/big.bin slow/big.bin 1048576 "$sha"
cfg_model bad zoo zoo/bad.bin zoo/bad.bin 5000 "$good"
mount_or_bail "$CFG" "$MNT" -o allow_other

XATTR_PY='
import os, sys
path, names = sys.argv[1], sys.argv[2:]
try:
    have = sorted(os.listxattr(path))
    out = ["list=" + ",".join(n[len("user.modelfs."):] for n in have)]
    for n in names:
        try:
            out.append(n + "=" + os.getxattr(path, "user.modelfs." + n).decode())
        except OSError as e:
            out.append(n + "=" + os.strerror(e.errno))
    print("\n".join(out))
except OSError as e:
    print("error=" + os.strerror(e.errno))
'
# xa FILE NAME — one attribute (as root), or the error.
xa() { "$PY" -c "$XATTR_PY" "$MNT/$1" "$2" | sed -n "s/^$2=//p"; }
xa_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" -c "$XATTR_PY" "$MNT/$1" "$2" |
		sed -n "s/^$2=//p"
}
xlist() { "$PY" -c "$XATTR_PY" "$MNT/$1" | sed -n 's/^list=//p'; }

assert_eq "before: state absent" "$(xa zoo/big.bin state)" absent
assert_eq "before: the pinned digest" "$(xa zoo/big.bin digest)" "sha256:$sha"
assert_eq "before: the url" "$(xa zoo/big.bin url)" "$ORIGIN/slow/big.bin"
assert_eq "before: nothing fetched" "$(xa zoo/big.bin fetched)" 0
assert_eq "before: no error attribute" "$(xlist zoo/big.bin)" "digest,fetched,state,url"
assert_eq "before: as another user too" "$(xa_nobody zoo/big.bin state)" absent
assert_eq "reading attributes fetched nothing" "$(origin_total)" 0

bg timeout $((60 * SLOW)) cat "$MNT/zoo/big.bin" >"$T/big.out"
reader=$BG
for i in $(seq 100); do
	f=$(xa zoo/big.bin fetched)
	[ "${f:-0}" -gt 0 ] && break
	sleep 0.1
done
assert_eq "during: state fetching" "$(xa zoo/big.bin state)" fetching
assert_ge "during: some bytes fetched" "$(xa zoo/big.bin fetched)" 1
assert_eq "during: as another user too" "$(xa_nobody zoo/big.bin state)" fetching
wait "$reader"
assert_eq "after: state verified" "$(xa zoo/big.bin state)" verified
assert_eq "after: fetched is the size" "$(xa zoo/big.bin fetched)" 1048576
assert_eq "after: as another user too" "$(xa_nobody zoo/big.bin state)" verified

assert_errno "a model whose origin is wrong: EIO" EIO open "$MNT/zoo/bad.bin" O_RDONLY
assert_eq "failed: state failed" "$(xa zoo/bad.bin state)" failed
assert_match "failed: the error says why and until when it backs off" "$(xa zoo/bad.bin error)" \
	"^sha256 mismatch; bytes kept in quarantine/.*; backing off until [0-9-]+T[0-9:]+Z$"
assert_eq "failed: the error attribute is listed" "$(xlist zoo/bad.bin)" "digest,error,fetched,state,url"
assert_match "failed: as another user too" "$(xa_nobody zoo/bad.bin error)" "sha256 mismatch"
assert_eq "an unknown attribute: ENODATA" "$(xa zoo/big.bin nosuch)" "No data available"
assert_eq "a directory has none" "$("$PY" -c "$XATTR_PY" "$MNT/zoo" | sed -n 's/^list=//p')" ""
assert_errno "attributes cannot be set: EROFS" EROFS setxattr "$MNT/zoo/big.bin" user.modelfs.state

# modelfsctl status: a row per model file (lock files are not models).
assert_errno "a lock file" OK open "$MNT/zoo/x.lock" "O_WRONLY|O_CREAT"
"$MFS_BIN/modelfsctl" status "$MNT" >"$T/status.out" 2>&1
assert_eq "status: exit 1, a model failed" "$?" 1
assert_eq "status: a header and two rows" "$(wc -l <"$T/status.out")" 3
assert_match "status: the verified row" "$(grep 'zoo/big.bin' "$T/status.out")" \
	"^zoo/big.bin +1048576 +verified +1048576 *$"
assert_match "status: the failed row says why" "$(grep 'zoo/bad.bin' "$T/status.out")" \
	"^zoo/bad.bin +5000 +failed +0 +sha256 mismatch; .*backing off until"
setpriv --reuid=65534 --regid=65534 --clear-groups "$MFS_BIN/modelfsctl" status "$MNT" --json \
	>"$T/status.json" 2>&1
assert_eq "status --json as another user: exit 1" "$?" 1
assert_eq "status --json: the objects" "$("$PY" -c '
import json, sys
rows = json.load(open(sys.argv[1]))
print(" ".join("%s:%s:%d:%d:%s" % (r["path"], r["state"], r["size"], r["fetched"],
    "none" if r["error"] is None else "error") for r in rows))
print(sorted(rows[0].keys()))' "$T/status.json")" \
	"zoo/bad.bin:failed:5000:0:error zoo/big.bin:verified:1048576:1048576:none
['error', 'fetched', 'path', 'size', 'state']"
"$MFS_BIN/modelfsctl" status "$T" >"$T/status2.out" 2>&1
assert_eq "status of a directory with no model: exit 2" "$?" 2
