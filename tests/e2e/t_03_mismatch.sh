#!/usr/bin/env bash
# A digest mismatch fails the open with EIO, stores nothing, keeps the
# bytes in quarantine/ and says expected vs. actual in the audit log.
. "$(dirname "$0")/lib.sh"

setup_origin
real=$(add_model zoo/bad.params 50000)
wrong=$(printf 'not the model' | sha256sum | cut -d' ' -f1)
good=$(add_model zoo/good.params 777)
cfg_begin failure_backoff=1 failure_backoff_max=1
cfg_source zoo
cfg_model bad zoo zoo/bad.params zoo/bad.params 50000 "$wrong"
cfg_model good zoo zoo/good.params zoo/good.params 777 "$good"
mount_or_bail "$CFG" "$MNT"

F=$MNT/zoo/bad.params
assert_errno "open of a mismatching file is EIO" EIO read "$F"
assert_eq "one GET" "$(origin_hits /zoo/bad.params)" 1
assert_eq "nothing in objects/" "$(ls -A "$STORE/objects" 2>&1)" ""
assert_eq "staging/ empty" "$(ls -A "$STORE/staging" 2>&1)" ""
assert_eq "one file in quarantine/" "$(count_files "$STORE/quarantine")" 1
q=$(find "$STORE/quarantine" -type f | head -1)
if [ -n "$q" ]; then
	assert_same_bytes "quarantine holds the fetched bytes" "$q" "$WWW/zoo/bad.params"
else
	not_ok "quarantine holds the fetched bytes" "quarantine/ empty"
fi

assert_eq "audit: verify_failed" "$(audit_count verify_failed zoo/bad.params)" 1
assert_eq "audit: expected is the configured digest" "$(audit_field verify_failed zoo/bad.params expected)" "$wrong"
assert_eq "audit: actual is the real digest" "$(audit_field verify_failed zoo/bad.params actual)" "$real"
assert_eq "audit: algo" "$(audit_field verify_failed zoo/bad.params algo)" sha256
assert_eq "audit: url" "$(audit_field verify_failed zoo/bad.params url)" "$ORIGIN/zoo/bad.params"
assert_eq "audit: no verify_ok for it" "$(audit_count verify_ok zoo/bad.params)" 0

# Fail closed, not cached forever: a later open tries again (once the
# back-off is over: 1 s, in whole seconds rounded up; t_26 tests it).
sleep 2.1
assert_errno "a later open is EIO again" EIO read "$F"
assert_eq "the later open fetched again (2 GETs)" "$(origin_hits /zoo/bad.params)" 2
assert_eq "still nothing in objects/" "$(ls -A "$STORE/objects" 2>&1)" ""
assert_eq "two verify_failed" "$(audit_count verify_failed zoo/bad.params)" 2

# Metadata still answers, and other models are unaffected.
assert_eq "stat still gives the configured size" "$(stat -c %s "$F")" 50000
assert_eq "another model still reads" "$(sysop read "$MNT/zoo/good.params")" "$good"
