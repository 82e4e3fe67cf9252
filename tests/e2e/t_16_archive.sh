#!/usr/bin/env bash
# Zip sources end to end, and zips as hostile input: every bad archive
# fails the open with EIO, is audited, puts nothing in objects/ and
# leaves the bytes in quarantine/.
. "$(dirname "$0")/lib.sh"

setup_origin
mkdir -p "$WWW/z"

# mkzip OUT SPEC... — SPEC is NAME=FILE (a file's bytes), NAME@LINK (a
# symlink entry to LINK), or NAME%N (N zero bytes, deflated: a bomb).
MKZIP_PY='
import sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for spec in sys.argv[2:]:
        if "@" in spec:
            name, target = spec.split("@", 1)
            zi = zipfile.ZipInfo(name)
            zi.external_attr = (0o120777 << 16)
            z.writestr(zi, target)
        elif "%" in spec:
            name, n = spec.split("%", 1)
            z.writestr(name, b"\0" * int(n))
        else:
            name, path = spec.split("=", 1)
            z.write(path, name)
'
mkzip() { "$PY" -W ignore -c "$MKZIP_PY" "$@" || bail "mkzip $1"; }

# hostile OUT KIND FILE — a zip of FILE as p.params that unzip and Python
# read otherwise than libarchive's seekable reader (which once served
# p.params from all of them):
#   shared  the central directory also lists n.params at p.params's header
#   hidden  a local entry n.params follows that the directory does not list
#   dup     the central directory lists p.params twice, at one local header
#   rename  the central directory names "../p.par" over local "p.params"
HOSTILE_PY='
import struct, sys, zipfile
out, kind, path = sys.argv[1:]
data = open(path, "rb").read()
with zipfile.ZipFile(out, "w") as z:
    z.writestr("p.params", data, zipfile.ZIP_STORED)
    if kind in ("shared", "hidden"):
        z.writestr("n.params", data[:1000], zipfile.ZIP_STORED)
    if kind == "shared":
        z.getinfo("n.params").header_offset = 0
    if kind == "hidden":
        z.filelist = [i for i in z.filelist if i.filename != "n.params"]
d = bytearray(open(out, "rb").read())
e = d.rfind(b"PK\5\6")
cd = struct.unpack_from("<I", d, e + 16)[0]
if kind == "dup":
    d[cd:cd] = d[cd:e]
    e = d.rfind(b"PK\5\6")
    struct.pack_into("<HHI", d, e + 8, 2, 2, 2 * struct.unpack_from("<I", d, e + 12)[0])
if kind == "rename":
    d[cd + 46:cd + 54] = b"../p.par"
open(out, "wb").write(d)
'
hostile() { "$PY" -W ignore -c "$HOSTILE_PY" "$@" || bail "hostile $1"; }

# Every model gets its own member bytes: objects are content-addressed, so
# a shared digest would be served from the store without any download.
P_SIZE=700000
newp() { # NAME — $T/NAME.params, random; sets SHA[NAME]
	head -c $P_SIZE /dev/urandom >"$T/$1.params"
	SHA[$1]=$(sha256_of "$T/$1.params")
}
declare -A SHA
for n in good extra dotdot link missing bomb swapped corrupt notzip sizewrong \
	cdshared cdhidden cddup cdrename; do newp $n; done
head -c 5000 /dev/urandom >"$T/q.bin"
Q_SHA=$(sha256_of "$T/q.bin")
P_SHA1=$(sha1sum <"$T/good.params" | cut -d' ' -f1)

# archive_model NAME ZIP [KEY=VALUE...] — one-member model of NAME.params.
archive_model() {
	local name=$1 zip=$2
	shift 2
	cfg_model "$name" zoo "$name.params" "z/$zip" $P_SIZE "${SHA[$name]}" archive=zip \
		member=p.params "$@"
}

mkzip "$WWW/z/good.zip" "p.params=$T/good.params"
mkzip "$WWW/z/extra.zip" "p.params=$T/extra.params" "q.bin=$T/q.bin"
mkzip "$WWW/z/dotdot.zip" "p.params=$T/dotdot.params" "../evil=$T/q.bin"
mkzip "$WWW/z/link.zip" "p.params=$T/link.params" "evil@/etc/passwd"
mkzip "$WWW/z/missing.zip" "q.bin=$T/q.bin"
mkzip "$WWW/z/bomb.zip" "p.params%10000000"
head -c $P_SIZE /dev/urandom >"$T/other.params"
mkzip "$WWW/z/swapped.zip" "p.params=$T/other.params"
mkzip "$WWW/z/corrupt.zip" "p.params=$T/corrupt.params"
# Flip bytes inside the compressed data: the CRC no longer matches.
printf '\xff\xff\xff\xff' | dd of="$WWW/z/corrupt.zip" bs=1 seek=40000 conv=notrunc status=none
head -c 4096 /dev/urandom >"$WWW/z/notzip.zip"
mkzip "$WWW/z/sizewrong.zip" "p.params=$T/sizewrong.params"
hostile "$WWW/z/cdshared.zip" shared "$T/cdshared.params"
hostile "$WWW/z/cdhidden.zip" hidden "$T/cdhidden.params"
hostile "$WWW/z/cddup.zip" dup "$T/cddup.params"
hostile "$WWW/z/cdrename.zip" rename "$T/cdrename.params"
GOOD_ZIP_SHA=$(sha256_of "$WWW/z/good.zip")
GOOD_ZIP_SIZE=$(stat -c %s "$WWW/z/good.zip")
# The same archive under another model whose archive pin is wrong.
SHA[pinwrong]=${SHA[good]}

cfg_begin failure_backoff=1 failure_backoff_max=1
cfg_source zoo allow_sha1=yes
archive_model good good.zip sha1="$P_SHA1" archive_size="$GOOD_ZIP_SIZE" archive_sha256="$GOOD_ZIP_SHA"
archive_model pinwrong good.zip archive_sha256="$Q_SHA"
for n in extra dotdot link missing bomb swapped corrupt notzip cdshared cdhidden cddup cdrename; do
	archive_model $n $n.zip
done
archive_model sizewrong sizewrong.zip archive_size=$(($(stat -c %s "$WWW/z/sizewrong.zip") - 1))
mount_or_bail "$CFG" "$MNT"

check_refused() { # NAME ERROR-REGEX
	local name=$1 re=$2 before
	before=$(count_files "$STORE/quarantine")
	assert_errno "$name: open fails EIO" EIO read "$MNT/$name.params"
	local err
	err="$(audit_field fetch_failed "$name.params" error)$(audit_field verify_failed "$name.params" error)"
	assert_match "$name: audited ($re)" "$err" "$re"
	assert_eq "$name: quarantined" "$(count_files "$STORE/quarantine")" $((before + 1))
}
check_refused pinwrong "sha256 mismatch"
assert_eq "good: size from the config before any fetch" "$(stat -c %s "$MNT/good.params")" $P_SIZE
assert_eq "good: member bytes served" "$(sysop read "$MNT/good.params")" "${SHA[good]}"
# (pinwrong downloaded the same zip once before)
assert_eq "good: one download of the zip" "$(origin_hits /z/good.zip)" 2
assert_eq "good: the member is stored by its own digest" \
	"$(ls "$STORE/objects")" "sha256-${SHA[good]}"
assert_eq "good: sha1 and sha256 both checked (verify_ok)" "$(audit_count verify_ok good.params)" 1

check_refused extra "unlisted member 'q.bin'"
check_refused dotdot "'\.\./evil'"
check_refused link "evil"
check_refused missing "(unlisted member 'q.bin'|missing)"
check_refused bomb "(larger|limit|more than)"
check_refused swapped "does not match"
check_refused corrupt "zip"
check_refused notzip "zip"
# Each of these held the right p.params for libarchive: refused all the
# same, because unzip and Python read them otherwise.
check_refused cdshared "entries 'p\.params' and 'n\.params' overlap"
check_refused cdhidden "local entry 'n\.params' at offset [0-9]+ is not in the central directory"
check_refused cddup "central directory lists 'p\.params' twice"
check_refused cdrename "central directory names '\.\./p\.par' but its local header names 'p\.params'"
assert_eq "swapped: verify_failed names expected and actual" \
	"$(audit_field verify_failed swapped.params expected) $(audit_field verify_failed swapped.params actual)" \
	"${SHA[swapped]} $(sha256_of "$T/other.params")"
assert_errno "sizewrong: a zip longer than archive_size fails EIO" EIO read "$MNT/sizewrong.params"
assert_match "sizewrong: audited as too large" \
	"$(audit_field fetch_failed sizewrong.params error)" 'larger'
assert_eq "nothing but the good member in objects/" "$(ls "$STORE/objects")" "sha256-${SHA[good]}"
assert_eq "staging/ empty after all of it" "$(ls -A "$STORE/staging")" ""
# After its back-off (1 s, rounded up; t_26 tests it):
sleep 2.1
assert_errno "a refused archive is tried again on the next open" EIO read "$MNT/extra.params"
assert_eq "extra: two downloads after two opens" "$(origin_hits /z/extra.zip)" 2
