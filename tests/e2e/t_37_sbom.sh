#!/usr/bin/env bash
# modelfsctl sbom (issue 14): a CycloneDX 1.6 document of what a config
# serves, valid against the official schema (tests/data/cyclonedx, with
# Debian's python3-jsonschema) for several configs: plain, SHA-1,
# zip-member, zip-directory, folder-of-files and signed models (the real
# OpenSSF Model Signing bundles of tests/data/oms).  Every digest, URL and
# size in it equals the config's (read by sbom_check.py on its own).  With
# --store it says what the store holds, with no network: verified (and
# when), absent, quarantined (a tampered file, a tampered zip), partial
# (a folder with one file fetched), a signed model's kept bundle and its
# signer (key, and keyless: identity, issuer, Rekor entry).  The same config and store give the same document but for the
# timestamp and the serial number.  A bad config exits 2 with FILE:LINE.
. "$(dirname "$0")/lib.sh"

CTL=$MFS_BIN/modelfsctl
SCHEMA=$REPO/tests/data/cyclonedx
CHECK=$E2E_DIR/sbom_check.py
# A copy: the config names its keys, and one check runs modelfsctl as
# nobody on it.
OMS=$(nobody_copy "$REPO/tests/data/oms")
KEYS=$OMS/scripts/tests/keys/certificate

if ! "$PY" -c 'import jsonschema' 2>/dev/null; then
	"$REPO/scripts/deps" test >"$T/logs/deps.out" 2>&1 ||
		bail "python3-jsonschema is needed (scripts/deps test): $(tail -3 "$T/logs/deps.out")"
fi

setup_origin
mkdir -p "$WWW/oms"
cp -r "$OMS"/scripts/tests/v1.1.0-elliptic-key "$OMS"/scripts/tests/v1.1.0-certificate \
	"$OMS"/scripts/tests/v1.1.0-sigstore "$WWW/oms/"

s_plain=$(add_model zoo/plain.bin 3000)
x_plain=$(sha512sum <"$WWW/zoo/plain.bin" | cut -d' ' -f1)
add_model zoo/old.params 1500 >/dev/null
h_old=$(sha1sum <"$WWW/zoo/old.params" | cut -d' ' -f1)
s_later=$(add_model zoo/later.bin 700)
add_model zoo/bad.bin 900 >/dev/null
s_wrong=$(printf 'not these bytes' | sha256sum | cut -d' ' -f1)
# zips: one member; a directory of two
mkdir -p "$T/z/net" "$T/z/dir/sub"
head -c 2000 /dev/urandom >"$T/z/net/net.params"
head -c 1000 /dev/urandom >"$T/z/dir/a.pb"
head -c 500 /dev/urandom >"$T/z/dir/sub/b.meta"
(cd "$T/z/net" && zip -qX "$WWW/zoo/net.zip" net.params) || bail "zip net"
(cd "$T/z" && zip -qX "$WWW/zoo/dir.zip" dir/a.pb dir/sub/b.meta) || bail "zip dir"
# the same shape, other bytes (objects are shared by content)
mkdir -p "$T/z2/dir/sub"
head -c 1000 /dev/urandom >"$T/z2/dir/a.pb"
head -c 500 /dev/urandom >"$T/z2/dir/sub/b.meta"
(cd "$T/z2" && zip -qX "$WWW/zoo/dir2.zip" dir/a.pb dir/sub/b.meta) || bail "zip dir2"
s_a2=$(sha256_of "$T/z2/dir/a.pb")
x_b2=$(sha512sum <"$T/z2/dir/sub/b.meta" | cut -d' ' -f1)
s_net=$(sha256_of "$T/z/net/net.params")
s_a=$(sha256_of "$T/z/dir/a.pb")
x_b=$(sha512sum <"$T/z/dir/sub/b.meta" | cut -d' ' -f1)
s_netzip=$(sha256_of "$WWW/zoo/net.zip")
x_dirzip=$(sha512sum <"$WWW/zoo/dir.zip" | cut -d' ' -f1)
# a folder of files
s_c=$(add_model repo/bert/config.json 300)
s_w=$(add_model repo/bert/weights.bin 4000)

cfg_begin
cfg_source zoo "mirrors=$ORIGIN/mirror1/ $ORIGIN/mirror2/"
cfg_source weak allow_sha1=yes
cfg_source hf
cfg_source key "public_key=$KEYS/signing-key-pub.pem"
cfg_source cert "certificate_chain=$KEYS/ca-cert.pem"
cfg_model plain zoo zoo/plain.bin zoo/plain.bin 3000 "$s_plain" "sha512=$x_plain"
cfg_model old weak zoo/old.params zoo/old.params 1500 "" "sha1=$h_old"
cfg_model later zoo zoo/later.bin zoo/later.bin 700 "$s_later"
cfg_model bad zoo zoo/bad.bin zoo/bad.bin 900 "$s_wrong"
cfg_model net zoo net.params zoo/net.zip 2000 "$s_net" archive=zip member=net.params \
	archive_size="$(stat -c %s "$WWW/zoo/net.zip")" "archive_sha256=$s_netzip"
cat >>"$CFG" <<EOF

[model dir]
source = zoo
path = facenet/dir
url = zoo/dir.zip
archive = zip
member_prefix = dir/
archive_sha512 = $x_dirzip
file = a.pb 1000 sha256:$s_a
file = sub/b.meta 500 sha512:$x_b

[model dir2]
source = zoo
path = facenet/dir2
url = zoo/dir2.zip
archive = zip
member_prefix = dir/
archive_sha256 = $s_wrong
file = a.pb 1000 sha256:$s_a2
file = sub/b.meta 500 sha512:$x_b2

[model bert]
source = hf
path = nlp/bert
url = repo/bert/
file = config.json 300 sha256:$s_c
file = weights.bin 4000 sha256:$s_w

[model signed]
source = key
path = signed/key
url = oms/v1.1.0-elliptic-key/
signature = oms/v1.1.0-elliptic-key/model.sig
file = signme-1 $(stat -c %s "$WWW/oms/v1.1.0-elliptic-key/signme-1")
file = signme-2 $(stat -c %s "$WWW/oms/v1.1.0-elliptic-key/signme-2")

[model signedcert]
source = cert
path = signed/cert
url = oms/v1.1.0-certificate/
signature = oms/v1.1.0-certificate/model.sig
file = signme-1 $(stat -c %s "$WWW/oms/v1.1.0-certificate/signme-1")
file = signme-2 $(stat -c %s "$WWW/oms/v1.1.0-certificate/signme-2")
EOF

# A second, minimal config: one SHA-1 model of a source with no mirrors.
CFG2=$T/small.ini
cfg_begin "$CFG2" store="$T/store2"
cfg_source weak allow_sha1=yes
cfg_model old weak zoo/old.params zoo/old.params 1500 "" "sha1=$h_old"

valid() { # NAME DOC...
	local out
	if out=$("$PY" "$E2E_DIR/cdx_validate.py" "$SCHEMA" "${@:2}" 2>&1); then ok "$1"
	else not_ok "$1" "$out"; fi
}
flat() { # DOC: its facts (worked out once per document)
	[ -s "$1.flat" ] || "$PY" "$CHECK" flat "$1" >"$1.flat"
	cat "$1.flat"
}
fact() { flat "$1" | grep -F -- "$2"; }         # DOC PREFIX: the facts that start so
prop_of() { flat "$1" | awk -v r="$2" -v n="$3" '$1 == r && $2 == "prop" && $3 == n { print $4 }'; }

# ---------------------------------------------------------------- the config alone

check "sbom CONFIG" "$CTL" sbom "$CFG" -o "$T/doc.json"
"$CTL" sbom "$CFG2" >"$T/small.json" 2>"$T/logs/small.err"
assert_eq "sbom of the small config to stdout: exit 0" "$?" 0
valid "both documents are valid CycloneDX 1.6" "$T/doc.json" "$T/small.json"
assert_eq "the store is not created by sbom (with or without --store)" \
	"$("$CTL" sbom "$CFG" --store >/dev/null 2>&1; echo $?) $(ls -d "$STORE" 2>&1 | grep -c 'No such')" "0 1"

assert_eq "every digest, URL and size equals the config's" \
	"$(flat "$T/doc.json" | grep -E '^[^ ]+ (hash|url|size) ' | sort)" \
	"$("$PY" "$CHECK" expect "$CFG" | sort)"
assert_eq "the same for the small config" \
	"$(flat "$T/small.json" | grep -E '^[^ ]+ (hash|url|size) ' | sort)" \
	"$("$PY" "$CHECK" expect "$CFG2" | sort)"
# The expectation itself is not empty: spot-check what it must contain.
assert_eq "plain: SHA-256 and SHA-512, weakest first" "$(fact "$T/doc.json" 'model:plain hash')" \
	"model:plain hash SHA-256 $s_plain
model:plain hash SHA-512 $x_plain"
assert_eq "plain: the url, then every mirror" "$(fact "$T/doc.json" 'model:plain url')" \
	"model:plain url distribution $ORIGIN/zoo/plain.bin
model:plain url distribution $ORIGIN/mirror1/zoo/plain.bin
model:plain url distribution $ORIGIN/mirror2/zoo/plain.bin"
assert_eq "old: SHA-1 only, and said to be weak" \
	"$(fact "$T/doc.json" 'model:old hash') $(prop_of "$T/doc.json" model:old modelfs:weak)" \
	"model:old hash SHA-1 $h_old sha1"
assert_eq "net: the member, its archive as the ancestor (pinned sha256, size)" \
	"$(prop_of "$T/doc.json" model:net modelfs:member) $(fact "$T/doc.json" 'archive:net hash') $(fact "$T/doc.json" 'archive:net size')" \
	"net.params archive:net hash SHA-256 $s_netzip archive:net size $(stat -c %s "$WWW/zoo/net.zip")"
assert_eq "dir: a file component per member, with size and digest" \
	"$(fact "$T/doc.json" 'model:dir/' | grep -E ' (type|hash|size) ')" \
	"model:dir/a.pb type file
model:dir/a.pb hash SHA-256 $s_a
model:dir/a.pb size 1000
model:dir/sub/b.meta type file
model:dir/sub/b.meta hash SHA-512 $x_b
model:dir/sub/b.meta size 500"
assert_eq "bert (a folder): each file has its own URL" "$(fact "$T/doc.json" 'model:bert/weights.bin url')" \
	"model:bert/weights.bin url distribution $ORIGIN/repo/bert/weights.bin"
assert_eq "every model is a machine-learning-model, config order" \
	"$(flat "$T/doc.json" | awk '$1 ~ /^model:[^\/]*$/ && $2 == "type" { print $1, $3 }' | tr '\n' ' ')" \
	"model:plain machine-learning-model model:old machine-learning-model model:later machine-learning-model model:bad machine-learning-model model:net machine-learning-model model:dir machine-learning-model model:dir2 machine-learning-model model:bert machine-learning-model model:signed machine-learning-model model:signedcert machine-learning-model "
assert_eq "path, size and source of a model" \
	"$(prop_of "$T/doc.json" model:plain modelfs:path) $(fact "$T/doc.json" 'model:plain size') $(prop_of "$T/doc.json" model:plain modelfs:source)" \
	"zoo/plain.bin model:plain size 3000 zoo"
assert_eq "the subject: the config's absolute path and SHA-256" \
	"$(flat "$T/doc.json" | grep '^config ' | grep -v dependsOn)" \
	"config type file
config hash SHA-256 $(sha256_of "$CFG")"
"$PY" - "$T/doc.json" "$CFG" >"$T/meta.out" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
m = d["metadata"]
t = m["tools"]["components"][0]
print(m["component"]["name"] == sys.argv[2], t["name"], bool(re.fullmatch(r"\d+\.\d+\.\d+", t["version"])),
      bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["timestamp"])),
      d["specVersion"], d["bomFormat"],
      bool(re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", d["serialNumber"])))
EOF
assert_eq "metadata: subject path, tool modelfs and version, UTC timestamp; a v4 serial" \
	"$(cat "$T/meta.out")" "True modelfs True True 1.6 CycloneDX True"
assert_eq "signed: the bundle (attestation), key and certificate trust from the config" \
	"$(fact "$T/doc.json" 'model:signed url attestation' | head -1) $(prop_of "$T/doc.json" model:signed modelfs:signature:method) $(prop_of "$T/doc.json" model:signed modelfs:signature:public_key) $(prop_of "$T/doc.json" model:signedcert modelfs:signature:method) $(prop_of "$T/doc.json" model:signedcert modelfs:signature:certificate_chain)" \
	"model:signed url attestation $ORIGIN/oms/v1.1.0-elliptic-key/model.sig key $KEYS/signing-key-pub.pem certificate $KEYS/ca-cert.pem"
assert_eq "no store state without --store" "$(grep -c 'modelfs:store:' "$T/doc.json")" 0

# ---------------------------------------------------------------- determinism

"$CTL" sbom "$CFG" -o "$T/doc2.json" || not_ok "second run"
assert_ne "two runs: serial numbers differ" \
	"$(grep serialNumber "$T/doc.json")" "$(grep serialNumber "$T/doc2.json")"
assert_eq "two runs: the same document but timestamp and serial" \
	"$("$PY" "$CHECK" strip "$T/doc.json" | md5sum)" "$("$PY" "$CHECK" strip "$T/doc2.json" | md5sum)"

# ---------------------------------------------------------------- --store

"$CTL" sbom "$CFG" --store -o "$T/empty.json" 2>"$T/logs/empty.err"
assert_eq "--store with no store yet: every file absent" \
	"$(flat "$T/empty.json" | awk '$3 == "modelfs:store:state" { print $4 }' | sort | uniq -c | awk '{ print $1, $2 }')" \
	"20 absent"
t0=$(date +%s)
"$CTL" fetch "$CFG" zoo/plain.bin zoo/old.params zoo/bad.bin net.params facenet/dir/a.pb \
	facenet/dir2/a.pb nlp/bert/config.json signed/key/signme-1 >"$T/logs/fetch.out" 2>&1
assert_eq "fetch: 6 verified, 2 failed (bad, dir2)" "$(tail -1 "$T/logs/fetch.out")" \
	"6 of 8 models verified, 2 failed"
t1=$(date +%s)

# A keyless (Sigstore) signed model, in a config and store of its own: its
# trust in the document; with --store, its kept bundle verified again
# offline and the signer it names.
CFG3=$T/keyless.ini
cfg_begin "$CFG3" store="$T/store3"
cfg_source sig "sigstore_trusted_root=$OMS/sigstore-python-trust/trusted_root.production.json" \
	"identity=stefanb@us.ibm.com" "oidc_issuer=https://sigstore.verify.ibm.com/oauth2"
printf '\n[model keyless]\nsource = sig\npath = signed/keyless\nurl = oms/v1.1.0-sigstore/\nsignature = oms/v1.1.0-sigstore/model.sig\nfile = signme-1 %s\nfile = signme-2 %s\n' \
	"$(stat -c %s "$WWW/oms/v1.1.0-sigstore/signme-1")" "$(stat -c %s "$WWW/oms/v1.1.0-sigstore/signme-2")" >>"$CFG3"
"$CTL" fetch "$CFG3" signed/keyless/signme-1 >"$T/logs/fetch3.out" 2>&1
"$CTL" sbom "$CFG3" --store -o "$T/keyless.json" 2>"$T/logs/keyless.err"
assert_eq "keyless: sbom --store exits 0" "$?" 0
valid "the keyless document is valid CycloneDX 1.6" "$T/keyless.json"
assert_eq "keyless: the trust from the config" \
	"$(prop_of "$T/keyless.json" model:keyless modelfs:signature:method) $(prop_of "$T/keyless.json" model:keyless modelfs:signature:identity) $(prop_of "$T/keyless.json" model:keyless modelfs:signature:oidc_issuer)" \
	"keyless stefanb@us.ibm.com https://sigstore.verify.ibm.com/oauth2"
assert_match "keyless: the kept bundle verified again; the signer, its issuer and Rekor entry" \
	"$(prop_of "$T/keyless.json" model:keyless modelfs:signature:state) $(flat "$T/keyless.json" | grep 'model:keyless prop modelfs:signature:signer')" \
	"^verified model:keyless prop modelfs:signature:signer keyless stefanb@us.ibm.com \(issuer https://sigstore.verify.ibm.com/oauth2, https://rekor.sigstore.dev index 598151086, "
assert_eq "keyless: its files' signed SHA-256, one verified" \
	"$(fact "$T/keyless.json" 'model:keyless/signme-1 hash') $(prop_of "$T/keyless.json" model:keyless/signme-1 modelfs:store:state)" \
	"model:keyless/signme-1 hash SHA-256 $(sha256_of "$WWW/oms/v1.1.0-sigstore/signme-1") verified"

stop_origin      # no network from here on
hits=$(wc -l <"$T/nginx/access.log")
"$CTL" sbom "$CFG" --store -o "$T/store.json" 2>"$T/logs/store.err"
assert_eq "sbom --store: exit 0, nothing on stderr" "$? $(cat "$T/logs/store.err")" "0 "
valid "the --store document is valid CycloneDX 1.6" "$T/store.json" "$T/empty.json"
st() { prop_of "$T/store.json" "$1" modelfs:store:state; }
assert_eq "verified: plain, old (SHA-1), net (zip member), dir (both members)" \
	"$(st model:plain) $(st model:old) $(st model:net) $(st model:dir/a.pb) $(st model:dir/sub/b.meta) $(st model:dir)" \
	"verified verified verified verified verified verified"
assert_eq "absent: a model never fetched" "$(st model:later)" absent
assert_eq "quarantined: a tampered file" \
	"$(st model:bad) $(prop_of "$T/store.json" model:bad modelfs:store:quarantined)" "quarantined 1"
assert_eq "quarantined: the members of a tampered zip, and the model" \
	"$(st model:dir2/a.pb) $(st model:dir2/sub/b.meta) $(st model:dir2)" "quarantined quarantined quarantined"
assert_eq "partial: a folder with one of two files fetched" \
	"$(st model:bert/config.json) $(st model:bert/weights.bin) $(st model:bert)" "verified absent partial"
assert_eq "the object a verified model is stored as (named by its strongest digest)" \
	"$(prop_of "$T/store.json" model:plain modelfs:store:object) $(ls "$STORE/objects" | grep -c "^sha512-$x_plain$")" \
	"sha512-$x_plain 1"
va=$(prop_of "$T/store.json" model:plain modelfs:store:verified_at)
va_s=$(date -u -d "$va" +%s 2>/dev/null || echo 0)
if [ "$va_s" -ge "$t0" ] && [ "$va_s" -le "$t1" ]; then ok "verified_at is when fetch committed it ($va)"
else not_ok "verified_at is when fetch committed it" "$va not in [$t0, $t1]"; fi
qa=$(prop_of "$T/store.json" model:bad modelfs:store:quarantined_at)
qa_s=$(date -u -d "$qa" +%s 2>/dev/null || echo 0)
if [ "$qa_s" -ge "$t0" ] && [ "$qa_s" -le "$t1" ]; then ok "quarantined_at is when fetch refused it ($qa)"
else not_ok "quarantined_at is when fetch refused it" "$qa not in [$t0, $t1]"; fi

# Signed: the kept bundle (its digest), verified again offline, the signer.
kept=$(ls "$STORE/state/"*.bundle 2>/dev/null)
assert_eq "one kept bundle (the key-signed model's)" "$(printf '%s\n' "$kept" | grep -c .)" 1
assert_eq "signed: the attestation carries the kept bundle's SHA-256 (= the origin's bundle)" \
	"$(fact "$T/store.json" 'model:signed url attestation' | head -1)" \
	"model:signed url attestation $ORIGIN/oms/v1.1.0-elliptic-key/model.sig SHA-256:$(sha256_of "$WWW/oms/v1.1.0-elliptic-key/model.sig")"
assert_eq "... and that is the kept copy's" "$(sha256_of "$kept")" \
	"$(sha256_of "$WWW/oms/v1.1.0-elliptic-key/model.sig")"
assert_eq "signed: verified again from the store; the signer is the configured key" \
	"$(prop_of "$T/store.json" model:signed modelfs:signature:state) $(prop_of "$T/store.json" model:signed modelfs:signature:signer)" \
	"verified key"
assert_match "... with the key and the bundle's hint named" \
	"$(flat "$T/store.json" | grep 'model:signed prop modelfs:signature:signer')" \
	"signer key $KEYS/signing-key-pub.pem \(hint [0-9a-f]{16}\)$"
assert_eq "signed: its files' signed SHA-256 are listed, one fetched, one absent" \
	"$(fact "$T/store.json" 'model:signed/signme-1 hash') $(st model:signed/signme-1) $(fact "$T/store.json" 'model:signed/signme-2 hash') $(st model:signed/signme-2) $(st model:signed)" \
	"model:signed/signme-1 hash SHA-256 $(sha256_of "$WWW/oms/v1.1.0-elliptic-key/signme-1") verified model:signed/signme-2 hash SHA-256 $(sha256_of "$WWW/oms/v1.1.0-elliptic-key/signme-2") absent partial"
assert_eq "signedcert: no kept bundle: absent, no signed digest known" \
	"$(prop_of "$T/store.json" model:signedcert modelfs:signature:state) $(st model:signedcert/signme-1) $(fact "$T/store.json" 'model:signedcert/signme-1 hash' | wc -l)" \
	"absent absent 0"
assert_eq "--store: no request reached the origin (it is stopped, and nothing tried)" \
	"$(wc -l <"$T/nginx/access.log")" "$hits"
assert_eq "--store: still every configured digest, URL and size" \
	"$(flat "$T/store.json" | grep -E '^[^ ]+ (hash|url|size) ' | sed 's/ SHA-256:[0-9a-f]*$//' |
		grep -v '^model:signed/signme-[12] hash' | sort)" \
	"$("$PY" "$CHECK" expect "$CFG" | sort)"
"$CTL" sbom "$CFG" --store -o "$T/store2.json" 2>/dev/null
assert_eq "--store, two runs: the same document but timestamp and serial" \
	"$("$PY" "$CHECK" strip "$T/store.json" | md5sum)" "$("$PY" "$CHECK" strip "$T/store2.json" | md5sum)"
assert_eq "--store wrote nothing to the audit log" "$(audit_count signature_ok signed/key)" 1

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$(nobody_copy "$CTL")" sbom "$CFG" --store 2>&1 >/dev/null)
assert_match "--store by a user who cannot open the store: exit 1, says why" "$? $out" \
	"^1 modelfsctl: cannot open store '$STORE': Permission denied"

# The trust changed (another key): the kept bundle no longer verifies.
openssl ecparam -name prime256v1 -genkey -noout -out "$T/other.key" 2>/dev/null
openssl ec -in "$T/other.key" -pubout -out "$T/other.pub" 2>/dev/null
sed "s#^public_key = .*#public_key = $T/other.pub#" "$CFG" >"$T/otherkey.ini"
"$CTL" sbom "$T/otherkey.ini" --store -o "$T/refused.json" 2>"$T/logs/refused.err"
assert_eq "another key: exit 0, the kept bundle refused, its files unknown (absent)" \
	"$? $(prop_of "$T/refused.json" model:signed modelfs:signature:state) $(prop_of "$T/refused.json" model:signed/signme-1 modelfs:store:state)" \
	"0 refused absent"
assert_match "... and says why" \
	"$(flat "$T/refused.json" | grep 'model:signed prop modelfs:signature:reason')" \
	"reason signature \(key method\): no configured key matches the bundle's key hint [0-9a-f]{16}$"
assert_eq "... and leaves the kept bundle alone (read-only)" "$(ls "$STORE/state/"*.bundle 2>/dev/null)" "$kept"
valid "the refused document is valid CycloneDX 1.6" "$T/refused.json"

# ---------------------------------------------------------------- refusals

printf '[modelfs]\nstore = %s\n\n[source s]\nurl = %s/\nbogus = 1\n' "$T/s3" "$ORIGIN" >"$T/bad.ini"
out=$("$CTL" sbom "$T/bad.ini" 2>&1 >/dev/null)
assert_eq "a bad config: exit 2" "$?" 2
assert_match "... with FILE:LINE: message" "$out" "^$T/bad.ini:6: .*bogus"
out=$("$CTL" sbom "$T/nonexistent.ini" 2>&1 >/dev/null)
assert_eq "a missing config: exit 2, FILE: message" "$? ${out%%:*}" "2 $T/nonexistent.ini"
"$CTL" sbom >/dev/null 2>&1
assert_eq "no CONFIG: usage, exit 2" "$?" 2
"$CTL" sbom "$CFG" --bogus >/dev/null 2>&1
assert_eq "an unknown option: exit 2" "$?" 2
"$CTL" sbom "$CFG" -o >/dev/null 2>&1
assert_eq "-o without FILE: exit 2" "$?" 2
out=$("$CTL" sbom "$CFG" -o "$T/no/such/dir/x.json" 2>&1)
assert_match "an unwritable -o: exit 1, says why" "$? $out" "^1 .*No such file"
printf '[modelfs]\nstore = %s\n\n[source s]\nurl = %s/\n\n[model m]\nsource = s\npath = a\xff.bin\nurl = a.bin\nsize = 1\nsha256 = %s\n' \
	"$T/s4" "$ORIGIN" "$s_plain" >"$T/latin1.ini"
if "$CTL" check "$T/latin1.ini" >/dev/null 2>&1; then
	out=$("$CTL" sbom "$T/latin1.ini" 2>&1 >/dev/null)
	assert_match "a path that is not UTF-8: exit 2, says so (the byte escaped)" "$? $out" \
		"^2 modelfsctl: sbom: 'a\\\\xff\\.bin' is not valid UTF-8"
else
	ok "a path that is not UTF-8 is refused by the config already"
fi
