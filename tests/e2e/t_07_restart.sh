#!/usr/bin/env bash
# After a remount the store serves without the network, but only after
# re-hashing: an object tampered with at rest is quarantined and refetched.
. "$(dirname "$0")/lib.sh"

setup_origin
sha=$(add_model zoo/m.params 300000)
cfg_begin
cfg_source zoo
cfg_model m zoo zoo/m.params zoo/m.params 300000 "$sha"
mount_or_bail "$CFG" "$MNT"
F=$MNT/zoo/m.params
OBJ=$STORE/objects/sha256-$sha

assert_eq "first read" "$(sysop read "$F")" "$sha"
assert_eq "first read: one GET" "$(origin_hits /zoo/m.params)" 1
unmount_fs "$MNT"
assert_eq "unmounted cleanly" "$?" 0

# Restart with the origin down: the store alone must serve.
stop_origin
mount_or_bail "$CFG" "$MNT"
assert_eq "remount, origin down: read returns the bytes" "$(sysop read "$F")" "$sha"
assert_eq "remount: re-verified (second verify_ok)" "$(audit_count verify_ok zoo/m.params)" 2
assert_eq "remount: no new fetch_start" "$(audit_count fetch_start zoo/m.params)" 1
assert_eq "remount: no new GET" "$(origin_hits /zoo/m.params)" 1
unmount_fs "$MNT"

# Tamper with the object at rest: flip one byte in the middle.
cp "$OBJ" "$T/tampered"
"$PY" - "$T/tampered" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(150000)
    b = f.read(1)
    f.seek(150000)
    f.write(bytes([b[0] ^ 0xff]))
PY
chmod u+w "$OBJ" && cat "$T/tampered" >"$OBJ" && chmod 0444 "$OBJ"
assert_ne "object tampered" "$(sha256_of "$OBJ")" "$sha"

start_origin
mount_or_bail "$CFG" "$MNT"
timeout $((30 * SLOW)) cat "$F" >"$T/got"
assert_eq "tampered store: read succeeds" "$?" 0
assert_same_bytes "tampered store: read returns the ORIGINAL bytes" "$T/got" "$WWW/zoo/m.params"
assert_eq "tampered store: store_corrupt audited" "$(audit_count store_corrupt zoo/m.params)" 1
assert_eq "tampered store: refetched with one new GET" "$(origin_hits /zoo/m.params)" 2
q=$(find "$STORE/quarantine" -type f 2>/dev/null)
found=no
for f in $q; do cmp -s "$f" "$T/tampered" && found=yes; done
assert_eq "tampered object moved to quarantine/" "$found" yes
assert_same_bytes "objects/ holds the good bytes again" "$OBJ" "$WWW/zoo/m.params"
assert_eq "object mode 0444 again" "$(stat -c %a "$OBJ")" 444
assert_eq "staging/ empty" "$(ls -A "$STORE/staging" 2>&1)" ""
