#!/usr/bin/env bash
# Signed models against bundles the test makes itself (mkbundle.py, with
# openssl): a good key bundle and a good certificate bundle are served;
# refused, each with EIO on every file, one signature_failed saying why,
# and nothing fetched or written outside the store: a payload signed with
# the wrong hash for its curve, a key on another curve than the one
# configured, a wrong subject digest, a resource named "../x", a leaf
# certificate without digitalSignature or codeSigning, a leaf from
# another CA, a chain whose CA had expired at the leaf's notBefore; and a
# manifest of shards: served, or, with a byte changed, refused naming the
# shard.
. "$(dirname "$0")/lib.sh"

setup_origin
mkdir -p "$WWW/m"
head -c 5000 /dev/urandom >"$WWW/m/a.bin"
head -c 7000 /dev/urandom >"$WWW/m/b.bin"
MK="$PY $E2E_DIR/mkbundle.py --dir $WWW/m"
key() { openssl ecparam -name "$1" -genkey -noout -out "$T/$2.key" 2>/dev/null &&
	openssl ec -in "$T/$2.key" -pubout -out "$T/$2.pub" 2>/dev/null; }
key prime256v1 p256
key secp384r1 p384

# A CA (P-256) and leaves: one for signing, one with neither usage.
mkca() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$T/$1.key" -out "$T/$1.pem" -subj "/CN=$1" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
		>/dev/null 2>&1 || bail "mkca $1"
}
mkleaf() { # CA NAME KEYUSAGE_EXT
	printf 'basicConstraints=CA:FALSE\n%s\nsubjectAltName=email:%s@example.com\n' "$3" "$2" >"$T/$2.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$2.key" -out "$T/$2.csr" -subj "/CN=$2" >/dev/null 2>&1 &&
	openssl x509 -req -in "$T/$2.csr" -CA "$T/$1.pem" -CAkey "$T/$1.key" -CAcreateserial \
		-days 1 -extfile "$T/$2.ext" -out "$T/$2.pem" >/dev/null 2>&1 || bail "mkleaf $2"
}
mkca ca1
mkca ca2
# A CA valid in January 2025 and a leaf it signed for March 2025: at the
# leaf's notBefore (the time the chain is checked at), the CA had expired.
mkdir -p "$T/oca/db"
touch "$T/oca/db/index"
echo 01 >"$T/oca/db/serial"
printf '%s\n' "[ca]" "default_ca = c" "[c]" "dir = $T/oca" "database = $T/oca/db/index" \
	"serial = $T/oca/db/serial" "new_certs_dir = $T/oca" "default_md = sha256" "policy = p" \
	"unique_subject = no" "[p]" "commonName = supplied" "[v3ca]" \
	"basicConstraints = critical,CA:TRUE" "keyUsage = critical,keyCertSign" "[leaf]" \
	"basicConstraints = CA:FALSE" "keyUsage = critical,digitalSignature" >"$T/oca/ca.cnf"
{
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/oldca.key" -out "$T/oldca.csr" -subj /CN=oldca &&
	openssl ca -batch -config "$T/oca/ca.cnf" -selfsign -keyfile "$T/oldca.key" \
		-in "$T/oldca.csr" -startdate 20250101000000Z -enddate 20250201000000Z \
		-extensions v3ca -out "$T/oldca.pem" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/late.key" -out "$T/late.csr" -subj /CN=late &&
	openssl ca -batch -config "$T/oca/ca.cnf" -cert "$T/oldca.pem" -keyfile "$T/oldca.key" \
		-in "$T/late.csr" -startdate 20250301000000Z -enddate 20250401000000Z \
		-extensions leaf -out "$T/late.pem"
} >"$T/logs/oca" 2>&1 || bail "openssl ca: $(tail -3 "$T/logs/oca")"
mkleaf ca1 signer "keyUsage=critical,digitalSignature"
mkleaf ca1 nousage "keyUsage=critical,keyEncipherment"
mkleaf ca2 stranger "keyUsage=critical,digitalSignature"

# the same files, one byte of a.bin changed in its second 2048-byte shard
mkdir -p "$WWW/m2"
cp "$WWW/m/a.bin" "$WWW/m/b.bin" "$WWW/m2/"
printf 'X' | dd of="$WWW/m2/a.bin" bs=1 seek=3000 conv=notrunc status=none
cmp -s "$WWW/m/a.bin" "$WWW/m2/a.bin" && printf 'Y' | dd of="$WWW/m2/a.bin" bs=1 seek=3000 conv=notrunc status=none

mkdir -p "$WWW/sig"
$MK --key "$T/p256.key" --out "$WWW/sig/good.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/p256.key" --hash sha384 --out "$WWW/sig/hash.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/p256.key" --out "$WWW/sig/curve.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/p256.key" --bad-root --out "$WWW/sig/root.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/p256.key" --rename b.bin=../b.bin --out "$WWW/sig/dotdot.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/p256.key" --shards 2048 --out "$WWW/sig/shards.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/signer.key" --cert "$T/signer.pem" --out "$WWW/sig/cert.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/nousage.key" --cert "$T/nousage.pem" --out "$WWW/sig/nousage.sig" a.bin b.bin ||
	bail mkbundle
$MK --key "$T/late.key" --cert "$T/late.pem" --out "$WWW/sig/expired.sig" a.bin b.bin || bail mkbundle
$MK --key "$T/stranger.key" --cert "$T/stranger.pem" --out "$WWW/sig/stranger.sig" a.bin b.bin ||
	bail mkbundle

cfg_begin
cfg_source p256 "public_key=$T/p256.pub"
cfg_source p384 "public_key=$T/p384.pub"
cfg_source ca "certificate_chain=$T/ca1.pem" "certificate_identity=signer@example.com"
cfg_source oldca "certificate_chain=$T/oldca.pem"
model() { # NAME SOURCE BUNDLE [DIR]
	printf '\n[model %s]\nsource = %s\npath = %s\nurl = %s/\nsignature = sig/%s\nfile = a.bin 5000\nfile = b.bin 7000\n' \
		"$1" "$2" "$1" "${4:-m}" "$3" >>"$CFG"
}
model good p256 good.sig
model hash p256 hash.sig
model curve p384 curve.sig
model root p256 root.sig
model dotdot p256 dotdot.sig
model cert ca cert.sig
model nousage ca nousage.sig
model stranger ca stranger.sig
model expired oldca expired.sig
model shardbad p256 shards.sig m2
model shards p256 shards.sig
mount_or_bail "$CFG" "$MNT"

assert_same_bytes "a good key bundle (P-256): a.bin served" "$MNT/good/a.bin" "$WWW/m/a.bin"
assert_same_bytes "a good key bundle: b.bin served" "$MNT/good/b.bin" "$WWW/m/b.bin"
assert_same_bytes "a good certificate bundle: served" "$MNT/cert/b.bin" "$WWW/m/b.bin"
# shards first, while the store has no object of theirs
assert_errno "signed in shards, a byte changed: EIO" EIO read "$MNT/shardbad/a.bin"
assert_match "... verify_failed names the shard" "$(audit_field verify_failed shardbad/a.bin error)" \
	'shard 2 of 3 \(bytes 2048-4095\)'
assert_same_bytes "... its sibling is served" "$MNT/shardbad/b.bin" "$WWW/m2/b.bin"
assert_same_bytes "signed in shards: a.bin served" "$MNT/shards/a.bin" "$WWW/m/a.bin"
assert_same_bytes "signed in shards: b.bin served" "$MNT/shards/b.bin" "$WWW/m/b.bin"
assert_eq "signed in shards: stored under the shards' name" \
	"$(ls "$STORE/objects" | grep -c '^shards-')" 2
assert_match "... the signer and its identity" "$(audit_field signature_ok cert signer)" 'CN=signer'

refused() { # NAME ERE
	assert_errno "$1: a.bin EIO" EIO read "$MNT/$1/a.bin"
	assert_errno "$1: b.bin EIO" EIO read "$MNT/$1/b.bin"
	assert_eq "$1: one signature_failed" "$(audit_count signature_failed "$1")" 1
	assert_match "$1: it says why" "$(audit_field signature_failed "$1" error)" "$2"
}
refused hash 'signature'
refused curve 'signature|key'
refused root 'subject digest'
refused dotdot "'\\.\\.'"
refused nousage 'usage'
refused stranger 'chain'
refused expired 'expired'
# (a.bin and b.bin for "good"; a.bin again for "shards": b.bin's shard
# object came from m2/, which has the same b.bin)
assert_eq "refused: only their bundles were fetched, no file (3 GETs, by the good ones)" \
	"$(sleep 0.2; awk '$1 == "GET" && $2 ~ /^\/m\//' "$T/nginx/access.log" | wc -l)" 3
assert_eq "nothing written outside the store" \
	"$(find "$T" -xdev -newer "$CFG" -type f ! -path "$STORE/*" ! -path "$T/logs/*" ! -path "$T/nginx/*" | wc -l)" 0

# pin --signature of a manifest of shards (the files next to the bundle):
# one file line per file.
cp "$WWW/sig/shards.sig" "$WWW/m/model.sig"
pin=$("$MFS_BIN/modelfsctl" pin --signature "$ORIGIN/m/model.sig" --public-key "$T/p256.pub" \
	--path pinned --ca-file "$T/ca.pem" 2>&1)
assert_eq "pin --signature, shards: one file line per file" \
	"$(printf '%s\n' "$pin" | grep '^file = ' | tr '\n' '|')" "file = a.bin 5000|file = b.bin 7000|"
