#!/usr/bin/env bash
# The first open fetches, verifies and stores; later opens are served from
# the verified object without another request.
. "$(dirname "$0")/lib.sh"

SIZE=1234567
setup_origin
sha=$(add_model zoo/resnet50.params $SIZE)
sha_b=$(add_model zoo/b.bin 3000)
cfg_begin
cfg_source zoo
cfg_model resnet50 zoo zoo/resnet50.params zoo/resnet50.params $SIZE "$sha"
cfg_model b zoo zoo/b.bin zoo/b.bin 3000 "$sha_b"
mount_or_bail "$CFG" "$MNT"

F=$MNT/zoo/resnet50.params
timeout $((30 * SLOW)) cat "$F" >"$T/got"
assert_eq "first read succeeds" "$?" 0
assert_same_bytes "first read returns exactly the origin bytes" "$T/got" "$WWW/zoo/resnet50.params"
assert_eq "one origin GET" "$(origin_hits /zoo/resnet50.params)" 1

obj=$STORE/objects/sha256-$sha
if [ -f "$obj" ]; then ok "object stored as objects/sha256-<hex>"; else
	not_ok "object stored as objects/sha256-<hex>" "$(list_dir "$STORE/objects")"; fi
assert_eq "object mode 0444" "$(stat -c %a "$obj" 2>&1)" 444
assert_same_bytes "object holds the verified bytes" "$obj" "$WWW/zoo/resnet50.params"
assert_eq "only that object in objects/" "$(ls "$STORE/objects" | tr '\n' ' ')" "sha256-$sha "
assert_eq "staging/ empty" "$(ls -A "$STORE/staging" 2>&1)" ""
assert_eq "quarantine/ empty" "$(ls -A "$STORE/quarantine" 2>&1)" ""
assert_eq "store directory 0700" "$(stat -c %a "$STORE")" 700

timeout $((30 * SLOW)) cat "$F" >"$T/got2"
assert_same_bytes "second read returns the same bytes" "$T/got2" "$WWW/zoo/resnet50.params"
assert_eq "second read needs no new GET" "$(origin_hits /zoo/resnet50.params)" 1

# Partial reads at offsets, and a shared mapping (numpy.memmap, safetensors).
dd if="$F" bs=4096 skip=77 count=3 status=none >"$T/part"
dd if="$WWW/zoo/resnet50.params" bs=4096 skip=77 count=3 status=none >"$T/part.want"
assert_same_bytes "read at an offset" "$T/part" "$T/part.want"
tail -c 100 "$F" >"$T/tail"
tail -c 100 "$WWW/zoo/resnet50.params" >"$T/tail.want"
assert_same_bytes "read of the last bytes" "$T/tail" "$T/tail.want"
assert_eq "MAP_SHARED mmap reads the verified bytes" "$(sysop mmap "$F")" "$sha"
assert_eq "still one GET" "$(origin_hits /zoo/resnet50.params)" 1

ev=$(audit_events zoo/resnet50.params)
assert_eq "audit: fetch_start, fetch_ok, verify_ok in order" "$ev" "fetch_start fetch_ok verify_ok"
assert_eq "audit: fetch_ok bytes" "$(audit_field fetch_ok zoo/resnet50.params bytes)" $SIZE
assert_eq "audit: fetch_start url" "$(audit_field fetch_start zoo/resnet50.params url)" \
	"$ORIGIN/zoo/resnet50.params"

# The other model was never opened: never fetched.
assert_eq "an unopened model is not fetched" "$(origin_hits /zoo/b.bin)" 0
assert_eq "sha256sum through the mount" "$(sha256sum <"$MNT/zoo/b.bin" | cut -d' ' -f1)" "$sha_b"
assert_eq "b: one GET" "$(origin_hits /zoo/b.bin)" 1
