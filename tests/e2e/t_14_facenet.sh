#!/usr/bin/env bash
# Facenet on the mount: a directory model backed by one zip
# (20180402-114759.zip holding a 20180402-114759/ folder), and a replay of
# facenet.load_model()'s filesystem steps (src/facenet.py + TensorFlow):
# list the directory (exactly one *.meta), access(checkpoint) -> ENOENT,
# the model-*.ckpt-N regex, read the .meta, pread the .index and .data at
# random offsets, and read st_size bytes of the frozen .pb.
. "$(dirname "$0")/lib.sh"

setup_origin
M=20180402-114759
SRC=$T/src/$M
mkdir -p "$SRC" "$WWW/facenet"
head -c 2100000 /dev/urandom >"$SRC/$M.pb"
head -c 18122 /dev/urandom >"$SRC/model-$M.meta"
head -c 22032 /dev/urandom >"$SRC/model-$M.ckpt-275.index"
head -c 3145731 /dev/urandom >"$SRC/model-$M.ckpt-275.data-00000-of-00001"
# Zipped as the release is: a folder entry, then the four files, deflated.
(cd "$T/src" && "$PY" - "$M" "$WWW/facenet/$M.zip" <<'PY'
import os, sys, zipfile
d, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(d + "/")
    for f in sorted(os.listdir(d)):
        z.write(os.path.join(d, f))
PY
) || bail "cannot build the zip"

cfg_begin
cfg_source facenet "url=$ORIGIN/facenet/"
{
	echo
	echo "[model facenet-$M]"
	echo "source = facenet"
	echo "path = facenet/$M"
	echo "url = $M.zip"
	echo "archive = zip"
	echo "member_prefix = $M/"
	for f in "$SRC"/*; do
		echo "file = $(basename "$f") $(stat -c %s "$f") sha256:$(sha256_of "$f")"
	done
} >>"$CFG"
mount_or_bail "$CFG" "$MNT"
DIR=$MNT/facenet/$M

# The replay, step by step; prints one line per step.
FACENET_PY='
import os, random, re, sys
d, src = sys.argv[1], sys.argv[2]
files = os.listdir(d)
metas = [s for s in files if s.endswith(".meta")]
print("metas", len(metas))
try:
    os.stat(os.path.join(d, "checkpoint"))
    print("checkpoint present")
except FileNotFoundError:
    print("checkpoint ENOENT")
print("access", os.access(os.path.join(d, "checkpoint"), os.F_OK))
max_step, ckpt = -1, None
for f in files:
    m = re.match(r"(^model-[\w\- ]+.ckpt-(\d+))", f)
    if m is not None and len(m.groups()) >= 2 and int(m.groups()[1]) > max_step:
        max_step, ckpt = int(m.groups()[1]), m.groups()[0]
print("ckpt", ckpt, max_step)
def same(a, b):
    return "same" if a == b else "DIFFERENT"
with open(os.path.join(d, metas[0]), "rb") as f:
    print("meta", same(f.read(), open(os.path.join(src, metas[0]), "rb").read()))
rng = random.Random(1)
for suffix in (".index", ".data-00000-of-00001"):
    name = ckpt + suffix
    fd = os.open(os.path.join(d, name), os.O_RDONLY)
    ref = open(os.path.join(src, name), "rb").read()
    ok = True
    for _ in range(64):
        off = rng.randrange(0, len(ref))
        n = rng.randrange(1, 70000)
        ok &= os.pread(fd, n, off) == ref[off:off + n]
    ok &= os.pread(fd, 10, len(ref)) == b""
    os.close(fd)
    print("pread" + suffix, "same" if ok else "DIFFERENT")
pb = [s for s in files if s.endswith(".pb")][0]
size = os.stat(os.path.join(d, pb)).st_size
with open(os.path.join(d, pb), "rb") as f:
    data = f.read(size)
print("pb", size, same(data, open(os.path.join(src, pb), "rb").read()))
'

listing=$(ls -l "$DIR" | awk 'NR > 1 { print $1, $5, $9 }' | tr '\n' ';')
want=""
for f in "$SRC"/*; do want+="-r--r--r-- $(stat -c %s "$f") $(basename "$f");"; done
assert_eq "the directory lists the four files with exact sizes" "$listing" "$want"
assert_eq "listing and stat download nothing" "$(origin_total)" 0

out=$(timeout $((60 * SLOW)) "$PY" -c "$FACENET_PY" "$DIR" "$SRC" 2>&1)
assert_match "exactly one .meta" "$out" 'metas 1'
assert_match "checkpoint: stat gives ENOENT" "$out" 'checkpoint ENOENT'
assert_match "checkpoint: access() is false" "$out" 'access False'
assert_match "the ckpt regex finds model-$M.ckpt-275" "$out" "ckpt model-$M.ckpt-275 275"
assert_match ".meta reads back exactly" "$out" 'meta same'
assert_match ".index random preads match" "$out" 'pread.index same'
assert_match ".data random preads match" "$out" 'pread.data-00000-of-00001 same'
assert_match ".pb: st_size bytes read match" "$out" "pb $(stat -c %s "$SRC/$M.pb") same"
assert_eq "the archive was downloaded once for all four files" "$(origin_hits "/facenet/$M.zip")" 1

for f in "$SRC"/*; do
	s=$(sha256_of "$f")
	if [ -f "$STORE/objects/sha256-$s" ]; then ok "object for $(basename "$f") stored"
	else not_ok "object for $(basename "$f") stored" "$(list_dir "$STORE/objects")"; fi
	assert_eq "verify_ok audited for $(basename "$f")" \
		"$(audit_count verify_ok "facenet/$M/$(basename "$f")")" 1
done
assert_eq "four objects, no archive kept" "$(count_files "$STORE/objects")" 4
assert_eq "staging/ empty" "$(ls -A "$STORE/staging")" ""
assert_eq "quarantine/ empty" "$(ls -A "$STORE/quarantine")" ""
assert_errno "a name the archive does not list is ENOENT" ENOENT stat "$DIR/checkpoint"

# Restart: the members are verified from the store, no network.
unmount_fs "$MNT"
stop_origin
mount_or_bail "$CFG" "$MNT"
out=$(timeout $((60 * SLOW)) "$PY" -c "$FACENET_PY" "$DIR" "$SRC" 2>&1)
assert_match "after a restart without the origin: .pb reads" "$out" "pb $(stat -c %s "$SRC/$M.pb") same"
assert_match "after a restart without the origin: .data preads" "$out" 'pread.data-00000-of-00001 same'
