#!/usr/bin/env bash
# Signed models (issue 11): the real OpenSSF Model Signing bundles of
# model_signing v0.2.0-v1.1.0 (tests/data/oms) verify through the mount,
# key and certificate methods, folder and single-file forms, and the
# specification's valid vectors; their files are served byte-exact, the
# bundle fetched once per model and kept in the store, so a restart with
# the origin down serves them again.  Refused, each with EIO on every file
# and an audited signature_failed: another key, a changed payload, a file
# the config lists but the bundle does not sign, a signed file the config
# does not list, the wrong certificate identity, the spec's invalid
# vectors, a keyless bundle.  A file whose bytes differ from its signed
# digest fails alone; its siblings are served.
. "$(dirname "$0")/lib.sh"

OMS=$REPO/tests/data/oms
KEYS=$OMS/scripts/tests/keys/certificate
setup_origin
mkdir -p "$WWW/oms" "$WWW/spec"
cp -r "$OMS"/scripts/tests/v* "$WWW/oms/"
cp -r "$OMS"/ossf-model-signing-spec/test-vectors/v1.0/* "$WWW/spec/"

# Another P-384 key: the wrong one.
openssl ecparam -name secp384r1 -genkey -noout -out "$T/other.key" 2>/dev/null
openssl ec -in "$T/other.key" -pubout -out "$T/other.pub" 2>/dev/null

# A bundle whose payload has one byte changed (still valid JSON).
"$PY" - "$WWW/oms/v1.1.0-elliptic-key/model.sig" "$WWW/spec/changed.sig" <<'EOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
p = base64.b64decode(b["dsseEnvelope"]["payload"])
p = p.replace(b"signme-1", b"signme-X", 1)
b["dsseEnvelope"]["payload"] = base64.b64encode(p).decode()
json.dump(b, open(sys.argv[2], "w"))
EOF
# A folder whose second file was changed after signing.
# a file next to the signed ones that the bundle does not sign
printf 'not signed\n' >"$WWW/oms/v1.1.0-elliptic-key/extra.bin"
mkdir -p "$WWW/tampered"
cp "$WWW/oms/v1.1.0-elliptic-key/"* "$WWW/tampered/"
printf 'signme-X' >"$WWW/tampered/signme-2"     # same size, other bytes

size_of() { stat -c %s "$WWW/$1"; }
# signed NAME SOURCE PATH URL SIGNATURE FILE... (a folder) / signed1 NAME SOURCE PATH URL SIGNATURE
signed() {
	local name=$1 src=$2 path=$3 url=$4 sig=$5 f
	shift 5
	{
		printf '\n[model %s]\nsource = %s\npath = %s\nurl = %s\nsignature = %s\n' \
			"$name" "$src" "$path" "$url" "$sig"
		for f in "$@"; do echo "file = $f $(size_of "${url}$f")"; done
	} >>"$CFG"
}
signed1() {
	printf '\n[model %s]\nsource = %s\npath = %s\nurl = %s\nsize = %s\nsignature = %s\n' \
		"$1" "$2" "$3" "$4" "$(size_of "$4")" "$5" >>"$CFG"
}

cfg_begin
cfg_source key "public_key=$KEYS/signing-key-pub.pem"
cfg_source cert "certificate_chain=$KEYS/ca-cert.pem"
cfg_source otherkey "public_key=$T/other.pub"
cfg_source who "certificate_chain=$KEYS/ca-cert.pem" "certificate_identity=someone@example.com"
for v in v1.0.1 v1.1.0; do
	signed "k$v" key "key/$v" "oms/$v-elliptic-key/" "oms/$v-elliptic-key/model.sig" signme-1 signme-2
done
for v in v0.3.1 v1.0.0; do
	signed1 "k1$v" key "key1/$v" "oms/$v-elliptic-key/signme-1" "oms/$v-elliptic-key/model.sig"
done
for v in v0.2.0 v0.3.1 v1.0.0 v1.0.1 v1.1.0; do
	signed "c$v" cert "cert/$v" "oms/$v-certificate/" "oms/$v-certificate/model.sig" signme-1 signme-2
done
signed speckey key spec/key oms/v1.1.0-elliptic-key/ spec/valid/key.bundle.json signme-1 signme-2
signed speccert cert spec/cert oms/v1.1.0-elliptic-key/ spec/valid/certificate.bundle.json \
	signme-1 signme-2
signed tampered key tampered tampered/ tampered/model.sig signme-1 signme-2
signed wrongkey otherkey bad/wrongkey oms/v1.1.0-elliptic-key/ oms/v1.1.0-elliptic-key/model.sig \
	signme-1 signme-2
signed changed key bad/changed oms/v1.1.0-elliptic-key/ spec/changed.sig signme-1 signme-2
signed extra key bad/extra oms/v1.1.0-elliptic-key/ oms/v1.1.0-elliptic-key/model.sig \
	signme-1 signme-2 extra.bin
signed missing key bad/missing oms/v1.1.0-elliptic-key/ oms/v1.1.0-elliptic-key/model.sig signme-1
signed identity who bad/identity oms/v1.1.0-certificate/ oms/v1.1.0-certificate/model.sig \
	signme-1 signme-2
signed keyless key bad/keyless oms/v1.1.0-sigstore/ oms/v1.1.0-sigstore/model.sig signme-1 signme-2
for inv in invalid/empty invalid/missing-envelope invalid/missing-verification-material \
	invalid/missing-tlog-entries invalid-payload/wrong-predicate; do
	n=$(basename "$inv")
	signed "inv-$n" key "bad/$n" oms/v1.1.0-elliptic-key/ "spec/$inv.bundle.json" signme-1 signme-2
done
mount_or_bail "$CFG" "$MNT"

assert_eq "listed without network" "$(ls "$MNT/key/v1.1.0" | tr '\n' ' ') $(origin_total)" \
	"signme-1 signme-2  0"

# same FILE_IN_MOUNT FILE_IN_WWW NAME
same() {
	if cmp -s "$MNT/$1" "$WWW/$2"; then ok "$3: served byte-exact"
	else not_ok "$3: served byte-exact" "$(sysop read "$MNT/$1")"; fi
}
# First, while the store has no copy of signme-2 (objects are shared by
# content): a signed folder whose origin serves other bytes for one file.
same tampered/signme-1 oms/v1.1.0-elliptic-key/signme-1 "tampered folder: the untouched file"
assert_errno "tampered folder: the changed file is EIO" EIO read "$MNT/tampered/signme-2"
assert_eq "tampered folder: verify_failed for it alone" \
	"$(audit_count verify_failed tampered/signme-2) $(audit_count verify_failed tampered/signme-1)" "1 0"
for v in v1.0.1 v1.1.0; do
	same "key/$v/signme-1" "oms/$v-elliptic-key/signme-1" "key $v signme-1"
	same "key/$v/signme-2" "oms/$v-elliptic-key/signme-2" "key $v signme-2"
	assert_eq "key $v: the bundle fetched once for two files" \
		"$(origin_hits "/oms/$v-elliptic-key/model.sig")" 1
done
for v in v0.3.1 v1.0.0; do
	same "key1/$v" "oms/$v-elliptic-key/signme-1" "key $v, one file named '.'"
done
for v in v0.2.0 v0.3.1 v1.0.0 v1.0.1 v1.1.0; do
	same "cert/$v/signme-1" "oms/$v-certificate/signme-1" "certificate $v signme-1"
	same "cert/$v/signme-2" "oms/$v-certificate/signme-2" "certificate $v signme-2"
done
same spec/key/signme-2 oms/v1.1.0-elliptic-key/signme-2 "spec key vector"
same spec/cert/signme-1 oms/v1.1.0-elliptic-key/signme-1 "spec certificate vector"
assert_match "signature_ok names the signer (key)" "$(audit_field signature_ok key/v1.1.0 signer)" \
	'signing-key-pub.pem'
assert_match "signature_ok names the signer (certificate)" \
	"$(audit_field signature_ok cert/v1.1.0 signer)" 'intermediate-ca'


# refused NAME PATH ERE — both files EIO, one signature_failed naming why
refused() {
	assert_errno "$1: signme-1 EIO" EIO read "$MNT/$2/signme-1"
	assert_errno "$1: signme-2 EIO" EIO read "$MNT/$2/signme-2"
	assert_match "$1: signature_failed says why" "$(audit_field signature_failed "$2" error)" "$3"
	assert_eq "$1: no file fetched" "$(ls "$STORE/objects" | wc -l)" "$objects"
}
objects=$(ls "$STORE/objects" | wc -l)
refused "another key" bad/wrongkey 'signature'
refused "a changed payload" bad/changed 'signature'
assert_errno "a file the bundle does not sign: EIO" EIO read "$MNT/bad/extra/signme-1"
assert_match "... named" "$(audit_field signature_failed bad/extra error)" "not signed: 'extra.bin'"
assert_errno "a signed file the config does not list: EIO" EIO read "$MNT/bad/missing/signme-1"
assert_match "... named" "$(audit_field signature_failed bad/missing error)" \
	"signed but not in the config: 'signme-2'"
refused "the wrong certificate identity" bad/identity 'identity|SAN|someone@example.com'
refused "a keyless bundle" bad/keyless 'keyless'
for n in empty missing-envelope missing-verification-material missing-tlog-entries \
	wrong-predicate; do
	refused "spec invalid vector $n" "bad/$n" '.'
done
assert_eq "nothing written outside the store" \
	"$(find "$T" -xdev -newer "$CFG" -type f ! -path "$STORE/*" ! -path "$T/logs/*" ! -path "$T/nginx/*" | wc -l)" 0

# pin --signature: verify the bundle, size the files with HEAD, print a section.
gets_before=$(awk '$1 == "GET" && $2 ~ /signme/' "$T/nginx/access.log" | wc -l)
pin=$("$MFS_BIN/modelfsctl" pin --signature "$ORIGIN/oms/v1.0.1-elliptic-key/model.sig" \
	--public-key "$KEYS/signing-key-pub.pem" --path pinned/v101 --source key --ca-file "$T/ca.pem" 2>&1)
assert_eq "pin --signature: exit 0" "$?" 0
assert_match "pin --signature: the folder url" "$pin" "url = $ORIGIN/oms/v1.0.1-elliptic-key/"
assert_match "pin --signature: a file line per signed file, sizes by HEAD" \
	"$(printf '%s\n' "$pin" | grep '^file = ' | tr '\n' '|')" \
	"^file = signme-1 $(size_of oms/v1.0.1-elliptic-key/signme-1)\|file = signme-2 $(size_of oms/v1.0.1-elliptic-key/signme-2)\|$"
assert_eq "pin --signature: HEAD requests, no weights downloaded" \
	"$(sleep 0.2; awk '$1 == "HEAD" && $2 ~ /v1.0.1-elliptic-key\/signme/' "$T/nginx/access.log" | wc -l) $(awk '$1 == "GET" && $2 ~ /signme/' "$T/nginx/access.log" | wc -l)" \
	"2 $gets_before"
printf '%s\n' "$pin" >>"$CFG"
assert_eq "pin --signature: the section passes check" \
	"$("$MFS_BIN/modelfsctl" check "$CFG" >/dev/null 2>&1; echo $?)" 0
out=$("$MFS_BIN/modelfsctl" pin --signature "$ORIGIN/oms/v1.1.0-certificate/model.sig" \
	--certificate-chain "$KEYS/ca-cert.pem" --path pinned/cert --ca-file "$T/ca.pem" 2>&1)
assert_eq "pin --signature, certificate method: exit 0" "$?" 0
out=$("$MFS_BIN/modelfsctl" pin --signature "$ORIGIN/oms/v1.1.0-elliptic-key/model.sig" \
	--public-key "$T/other.pub" --path x --ca-file "$T/ca.pem" 2>&1)
assert_eq "pin --signature with another key: exit 1" "$?" 1
assert_match "... says why" "$out" 'no configured key matches'
out=$("$MFS_BIN/modelfsctl" pin --signature "$ORIGIN/oms/v1.0.0-elliptic-key/model.sig" \
	--public-key "$KEYS/signing-key-pub.pem" --path x --ca-file "$T/ca.pem" 2>&1)
assert_match "pin --signature of a file named '.': refused, says why" "$out" "'\.'"
out=$("$MFS_BIN/modelfsctl" pin --signature "$ORIGIN/oms/v1.1.0-elliptic-key/model.sig" --path x 2>&1)
assert_eq "pin --signature without trust: exit 2" "$?" 2

# A restart with the origin down: the kept bundles verify again, offline.
unmount_fs "$MNT"
stop_origin
mount_or_bail "$CFG" "$MNT"
same "key/v1.1.0/signme-1" "oms/v1.1.0-elliptic-key/signme-1" "after a restart, origin down: key"
same "cert/v1.0.0/signme-2" "oms/v1.0.0-certificate/signme-2" "after a restart, origin down: certificate"
assert_errno "a pinned section never opened: its bundle cannot be fetched now" EIO \
	read "$MNT/pinned/v101/signme-1"
assert_match "... from the bundle kept in the store" \
	"$(audit_field signature_ok key/v1.1.0 error)" 'kept in the store'

# The scrub verifies the kept bundle again (offline) for the digests.
out=$("$MFS_BIN/modelfsctl" verify "$CFG" key/v1.1.0/signme-1 cert/v1.1.0/signme-2 bad/wrongkey/signme-1 2>&1)
assert_match "verify: a signed file's object re-hashed against the signed digest" "$out" \
	'ok +key/v1.1.0/signme-1'
assert_match "verify: the certificate method too" "$out" 'ok +cert/v1.1.0/signme-2'
assert_match "verify: a model whose bundle never verified is absent, not corrupt" "$out" \
	'absent +bad/wrongkey/signme-1'
