#!/usr/bin/env bash
# modelfsctl verify (scrub): re-hashes stored objects with no network,
# quarantines and audits a corrupt one (exit 1), reports models never
# fetched as absent (exit 0), refuses a bad config or path (exit 2); run
# beside a mounted daemon, what it quarantined is fetched again on the
# next open, and the daemon never serves the object it held verified.
. "$(dirname "$0")/lib.sh"

CTL=$MFS_BIN/modelfsctl
setup_origin
s_a=$(add_model zoo/a.bin 300000)
s_b=$(add_model zoo/b.bin 200001)
s_c=$(add_model zoo/c.bin 1002)
cfg_begin
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 300000 "$s_a"
cfg_model b zoo zoo/b.bin zoo/b.bin 200001 "$s_b"
cfg_model c zoo zoo/c.bin zoo/c.bin 1002 "$s_c"
OBJ_A=$STORE/objects/sha256-$s_a
OBJ_B=$STORE/objects/sha256-$s_b

verify() { # ARGS... — sets OUT and RC
	OUT=$(timeout -k 2 $((60 * SLOW)) "$CTL" verify "$@" 2>&1)
	RC=$?
}

# flip FILE OFFSET — inverts one byte of a (0444, root-owned) store object
# in place, as bit rot or a stray write would.
flip() {
	chmod u+w "$1" && "$PY" - "$1" "$2" <<-'PY' && chmod 0444 "$1"
		import sys
		with open(sys.argv[1], "r+b") as f:
		    f.seek(int(sys.argv[2]))
		    b = f.read(1)
		    f.seek(int(sys.argv[2]))
		    f.write(bytes([b[0] ^ 0xff]))
	PY
}

# A store that does not exist yet: every model absent, nothing created.
verify "$CFG"
assert_eq "no store yet: exit 0" "$RC" 0
assert_match "no store yet: a is absent" "$OUT" '^absent +zoo/a\.bin '
if [ -e "$STORE" ]; then not_ok "no store yet: verify creates nothing" "$(ls -la "$STORE")"
else ok "no store yet: verify creates nothing"; fi

out=$(timeout $((60 * SLOW)) "$CTL" fetch "$CFG" zoo/a.bin zoo/b.bin 2>&1) ||
	bail "modelfsctl fetch failed: $out"
gets=$(origin_total)

# All good: ok lines with bytes and time, c absent, exit 0, no network.
verify "$CFG"
diag "$OUT"
assert_eq "all good: exit 0" "$RC" 0
assert_match "all good: an ok line for a with bytes and time" "$OUT" \
	'^ok +zoo/a\.bin  300000 bytes  [0-9.]+ s  [0-9.]+ MB/s'
assert_match "all good: an ok line for b" "$OUT" '^ok +zoo/b\.bin  200001 bytes '
assert_match "a model never fetched is reported absent" "$OUT" '^absent +zoo/c\.bin '
assert_match "all good: the summary" "$OUT" '2 of 3 models verified, 0 corrupt, 1 absent'
assert_eq "all good: verify_ok audited for a" "$(audit_count verify_ok zoo/a.bin)" 2
assert_eq "verify uses no network" "$(origin_total)" "$gets"
assert_eq "verify fetched nothing (c still absent)" "$(ls "$STORE/objects" | grep -c "$s_c")" 0

# Only the paths named.
verify "$CFG" /zoo/a.bin
assert_eq "verify PATH: exit 0" "$RC" 0
assert_eq "verify PATH: one line and the summary" "$(printf '%s\n' "$OUT" | wc -l)" 2
assert_match "verify PATH: that model" "$OUT" '^ok +zoo/a\.bin '

# One byte of b flipped at rest.
flip "$OBJ_B" 100000 || bail "cannot flip a byte of $OBJ_B"
cp "$OBJ_B" "$T/b.tampered"
nq=$(count_files "$STORE/quarantine")
verify "$CFG"
diag "$OUT"
assert_eq "flipped byte: exit 1" "$RC" 1
assert_match "flipped byte: a CORRUPT line for b" "$OUT" \
	'^CORRUPT +zoo/b\.bin  200001 bytes  [0-9.]+ s  digest mismatch; quarantined'
assert_match "flipped byte: a is still ok" "$OUT" '^ok +zoo/a\.bin '
assert_match "flipped byte: the summary" "$OUT" '1 of 3 models verified, 1 corrupt, 1 absent'
assert_eq "flipped byte: store_corrupt audited" "$(audit_count store_corrupt zoo/b.bin)" 1
assert_eq "flipped byte: the audit names expected and actual" \
	"$(audit_field store_corrupt zoo/b.bin expected) $(audit_field store_corrupt zoo/b.bin actual)" \
	"$s_b $(sha256_of "$T/b.tampered")"
if [ -e "$OBJ_B" ]; then not_ok "flipped byte: the object left objects/" "still there"
else ok "flipped byte: the object left objects/"; fi
assert_eq "flipped byte: one more file in quarantine/" "$(count_files "$STORE/quarantine")" $((nq + 1))
found=no
for f in "$STORE"/quarantine/*; do cmp -s "$f" "$T/b.tampered" && found=yes; done
assert_eq "flipped byte: quarantine/ holds the flipped bytes" "$found" yes
assert_eq "flipped byte: no network" "$(origin_total)" "$gets"

# Once quarantined, b is simply absent.
verify "$CFG"
assert_eq "after the quarantine: exit 0" "$RC" 0
assert_match "after the quarantine: b is absent" "$OUT" '^absent +zoo/b\.bin '

# A wrong size is corrupt too.
chmod u+w "$OBJ_A" && printf x >>"$OBJ_A" && chmod 0444 "$OBJ_A"
verify "$CFG" zoo/a.bin
assert_eq "an object one byte too long: exit 1" "$RC" 1
assert_match "an object one byte too long: CORRUPT, wrong size" "$OUT" \
	'^CORRUPT +zoo/a\.bin  300001 bytes  [0-9.]+ s  wrong size; quarantined'

# Bad input: exit 2, a clear message, nothing touched.
verify "$CFG" zoo/nope.bin
assert_eq "an unknown path: exit 2" "$RC" 2
assert_match "an unknown path: says so" "$OUT" "no model at path 'zoo/nope.bin'"
printf '[modelfs]\nstore = %s\nbogus = 1\n' "$T/store-bad" >"$T/bad.ini"
verify "$T/bad.ini"
assert_eq "a bad config: exit 2" "$RC" 2
assert_match "a bad config: FILE:LINE" "$OUT" "$T/bad.ini:3:"
if [ -e "$T/store-bad" ]; then not_ok "a bad config: no store created" "$(ls -la "$T/store-bad")"
else ok "a bad config: no store created"; fi
verify "$T/missing.ini"
assert_eq "a missing config: exit 2" "$RC" 2
OUT=$(timeout 10 "$CTL" verify 2>&1)
assert_eq "verify without a config: exit 2" "$?" 2

# Beside a mounted daemon on the same store.
out=$(timeout $((60 * SLOW)) "$CTL" fetch "$CFG" zoo/a.bin zoo/b.bin 2>&1) ||
	bail "modelfsctl fetch (again) failed: $out"
mount_or_bail "$CFG" "$MNT"
assert_eq "mounted: a reads" "$(sysop read "$MNT/zoo/a.bin")" "$s_a"
assert_eq "mounted: b reads" "$(sysop read "$MNT/zoo/b.bin")" "$s_b"
hits_a=$(origin_hits /zoo/a.bin)
hits_b=$(origin_hits /zoo/b.bin)
corrupt_a=$(audit_count store_corrupt zoo/a.bin)

# A byte of a flipped while the daemon holds a verified; the scrub finds
# it and moves it away; the next open through the mount fetches a again.
flip "$OBJ_A" 150000 || bail "cannot flip a byte of $OBJ_A"
verify "$CFG" zoo/a.bin
assert_eq "mounted, flipped byte: verify exits 1" "$RC" 1
assert_match "mounted, flipped byte: CORRUPT" "$OUT" '^CORRUPT +zoo/a\.bin '
timeout $((30 * SLOW)) cat "$MNT/zoo/a.bin" >"$T/a.got"
assert_eq "mounted, after the scrub: the open succeeds" "$?" 0
assert_same_bytes "mounted, after the scrub: the origin's bytes are served" "$T/a.got" "$WWW/zoo/a.bin"
assert_eq "mounted, after the scrub: fetched again (one more GET)" \
	"$(origin_hits /zoo/a.bin)" $((hits_a + 1))
assert_eq "mounted, after the scrub: store_corrupt audited once (by the scrub)" \
	"$(audit_count store_corrupt zoo/a.bin)" $((corrupt_a + 1))
assert_same_bytes "mounted, after the scrub: objects/ holds good bytes again" "$OBJ_A" "$WWW/zoo/a.bin"

# What the scrub does to the daemon's object, without a change of its
# bytes: renamed into quarantine/ while the daemon holds it verified.  The
# next open must not be answered from the fd the daemon held.
mv "$OBJ_B" "$STORE/quarantine/moved-by-test" || bail "cannot move $OBJ_B"
assert_eq "mounted, object renamed away: b reads" "$(sysop read "$MNT/zoo/b.bin")" "$s_b"
assert_eq "mounted, object renamed away: fetched again (one more GET)" \
	"$(origin_hits /zoo/b.bin)" $((hits_b + 1))
if [ -f "$OBJ_B" ]; then ok "mounted, object renamed away: objects/ has it again"
else not_ok "mounted, object renamed away: objects/ has it again" "$(ls "$STORE/objects")"; fi

verify "$CFG"
assert_eq "mounted, at the end: verify exits 0" "$RC" 0
assert_match "mounted, at the end: summary" "$OUT" '2 of 3 models verified, 0 corrupt, 1 absent'
unmount_fs "$MNT"
