#!/usr/bin/env bash
# modelfsctl pin: downloads once, prints a config section whose size and
# digests are those of the origin's bytes (a plain file, a zip member, a
# zip folder), which modelfsctl check accepts and modelfs serves; it
# changes nothing else; failures exit 1, usage errors 2.  Also: the
# scripts/gluoncv2ini output for the real GluonCV/MXNet table passes check.
. "$(dirname "$0")/lib.sh"

setup_origin
CTL=$MFS_BIN/modelfsctl
PIN_TMP=$T/pin-tmp   # TMPDIR for pin: must stay empty (O_TMPFILE)
mkdir -p "$PIN_TMP" "$T/cwd"

# pin NAME ARGS... — runs modelfsctl pin from an empty directory with
# TMPDIR=$PIN_TMP; stdout in $T/NAME.out, stderr in $T/NAME.err, status in RC.
pin() {
	local name=$1
	shift
	(cd "$T/cwd" && TMPDIR=$PIN_TMP timeout -k 2 $((60 * SLOW)) "$CTL" pin "$@") \
		>"$T/$name.out" 2>"$T/$name.err" </dev/null
	RC=$?
}

# val NAME KEY — the value of the first "KEY = VALUE" line of $T/NAME.out.
val() { sed -n "s/^$2 = //p" "$T/$1.out" | head -1; }

sha1_of() { sha1sum <"$1" | cut -d' ' -f1; }

nothing_changed() { # NAME
	assert_eq "$1: TMPDIR left empty" "$(ls -A "$PIN_TMP")" ""
	assert_eq "$1: working directory left empty" "$(ls -A "$T/cwd")" ""
	if [ -e "$STORE" ]; then not_ok "$1: no store created" "$(ls -la "$STORE")"
	else ok "$1: no store created"; fi
}

# ---------------------------------------------------------------- a plain file

SIZE=1234567
sha=$(add_model zoo/x.params $SIZE)
sha1=$(sha1_of "$WWW/zoo/x.params")
pin plain "$ORIGIN/zoo/x.params" --path zoo/x.params --ca-file "$T/ca.pem"
assert_eq "plain: exit 0" "$RC" 0
assert_eq "plain: nothing on stderr" "$(cat "$T/plain.err")" ""
assert_eq "plain: size" "$(val plain size)" $SIZE
assert_eq "plain: sha256 is sha256sum's" "$(val plain sha256)" "$sha"
assert_eq "plain: no sha1 without --sha1" "$(grep -c '^sha1\|^allow_sha1' "$T/plain.out")" 0
assert_eq "plain: source CHANGEME without --source" "$(val plain source)" CHANGEME
assert_eq "plain: path" "$(val plain path)" zoo/x.params
assert_eq "plain: url" "$(val plain url)" "$ORIGIN/zoo/x.params"
assert_eq "plain: section id from the path" "$(grep '^\[' "$T/plain.out")" "[model x.params]"
assert_match "plain: first comment names the URL and the time" "$(head -1 "$T/plain.out")" \
	"^; pinned by modelfsctl pin from $ORIGIN/zoo/x.params on 20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$"
assert_match "plain: second comment asks for a review" "$(sed -n 2p "$T/plain.out")" \
	"^; review before trusting: these digests are whatever the server sent just now$"
assert_eq "plain: exactly 8 lines" "$(wc -l <"$T/plain.out")" 8
assert_eq "plain: one GET" "$(origin_hits /zoo/x.params)" 1
nothing_changed plain

pin sha1 "$ORIGIN/zoo/x.params" --path zoo/x.params --ca-file "$T/ca.pem" --sha1 --source zoo
assert_eq "--sha1: exit 0" "$RC" 0
assert_eq "--sha1: sha1 is sha1sum's" "$(val sha1 sha1)" "$sha1"
assert_eq "--sha1: sha256 too" "$(val sha1 sha256)" "$sha"
assert_eq "--sha1: allow_sha1 = yes" "$(val sha1 allow_sha1)" yes
assert_eq "--sha1: source" "$(val sha1 source)" zoo
assert_eq "--sha1: one more GET" "$(origin_hits /zoo/x.params)" 2
nothing_changed sha1

# ---------------------------------------------------------------- zips

# make_zip ZIP DIR [reverse] — zips the files under DIR (names relative to
# DIR), with directory entries, deflated; in name order, or reversed.
make_zip() {
	"$PY" - "$1" "$2" "${3:-}" <<-'EOF'
		import os, sys, zipfile
		out, top, rev = sys.argv[1], sys.argv[2], sys.argv[3] == "reverse"
		with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
		    for root, dirs, files in sorted(os.walk(top)):
		        rel = os.path.relpath(root, top)
		        if rel != ".":
		            z.write(root, rel + "/")
		        for f in sorted(files, reverse=rev):
		            z.write(os.path.join(root, f), os.path.normpath(os.path.join(rel, f)))
	EOF
}

# m.zip is laid out like a GluonCV zip (one .params); two.zip has more.
mkdir -p "$T/src/m" "$T/src/two" "$T/src/fn/20180402-114759"
head -c 300000 /dev/urandom >"$T/src/m/m-0123abcd.params"
make_zip "$WWW/zoo/m.zip" "$T/src/m" || bail "make_zip m.zip"
cp "$T/src/m/m-0123abcd.params" "$T/src/two/"
echo "not the model" >"$T/src/two/README.txt"
make_zip "$WWW/zoo/two.zip" "$T/src/two" || bail "make_zip two.zip"
FN=$T/src/fn/20180402-114759
FILES=(20180402-114759.pb model-20180402-114759.ckpt-275.data-00000-of-00001
	model-20180402-114759.ckpt-275.index model-20180402-114759.meta)
for i in "${!FILES[@]}"; do head -c $((5000 + 7777 * i)) /dev/urandom >"$FN/${FILES[$i]}"; done
# Stored in reverse order: pin sorts the file lines itself.
make_zip "$WWW/zoo/20180402-114759.zip" "$T/src/fn" reverse || bail "make_zip facenet"
assert_eq "the folder zip lists its members out of order" \
	"$(unzip -Z1 "$WWW/zoo/20180402-114759.zip" | tail -1)" "20180402-114759/${FILES[0]}"

pin member "$ORIGIN/zoo/m.zip" --path zoo/m-0123abcd.params --ca-file "$T/ca.pem" --source zoo \
	--archive zip --member m-0123abcd.params --sha1
assert_eq "zip member: exit 0" "$RC" 0
assert_eq "zip member: nothing on stderr" "$(cat "$T/member.err")" ""
assert_eq "zip member: archive = zip" "$(val member archive)" zip
assert_eq "zip member: member" "$(val member member)" m-0123abcd.params
assert_eq "zip member: size of the member" "$(val member size)" 300000
assert_eq "zip member: sha256 of the member" "$(val member sha256)" "$(sha256_of "$T/src/m/m-0123abcd.params")"
assert_eq "zip member: sha1 of the member" "$(val member sha1)" "$(sha1_of "$T/src/m/m-0123abcd.params")"
assert_eq "zip member: allow_sha1" "$(val member allow_sha1)" yes
assert_eq "zip member: archive_size" "$(val member archive_size)" "$(stat -c %s "$WWW/zoo/m.zip")"
assert_eq "zip member: archive_sha256" "$(val member archive_sha256)" "$(sha256_of "$WWW/zoo/m.zip")"
assert_eq "zip member: no file lines" "$(grep -c '^file' "$T/member.out")" 0
assert_eq "zip member: one GET" "$(origin_hits /zoo/m.zip)" 1
nothing_changed "zip member"

pin dir "$ORIGIN/zoo/20180402-114759.zip" --path facenet/20180402-114759 --ca-file "$T/ca.pem" \
	--source zoo --archive zip --member-prefix 20180402-114759/
assert_eq "zip folder: exit 0" "$RC" 0
assert_eq "zip folder: nothing on stderr" "$(cat "$T/dir.err")" ""
assert_eq "zip folder: section id" "$(grep '^\[' "$T/dir.out")" "[model 20180402-114759]"
assert_eq "zip folder: member_prefix" "$(val dir member_prefix)" 20180402-114759/
want=
for f in "${FILES[@]}"; do
	want+="file = $f $(stat -c %s "$FN/$f") sha256:$(sha256_of "$FN/$f")"$'\n'
done
assert_eq "zip folder: one file line per member, sorted, with size and sha256" \
	"$(grep '^file = ' "$T/dir.out")" "${want%$'\n'}"
assert_eq "zip folder: no size/sha256 keys of its own" "$(grep -c '^size\|^sha256' "$T/dir.out")" 0
assert_eq "zip folder: archive_size" "$(val dir archive_size)" "$(stat -c %s "$WWW/zoo/20180402-114759.zip")"
assert_eq "zip folder: archive_sha256" "$(val dir archive_sha256)" "$(sha256_of "$WWW/zoo/20180402-114759.zip")"
assert_eq "zip folder: one GET" "$(origin_hits /zoo/20180402-114759.zip)" 1
nothing_changed "zip folder"

pin dirsha1 "$ORIGIN/zoo/20180402-114759.zip" --path facenet/20180402-114759 --ca-file "$T/ca.pem" \
	--source zoo --archive zip --member-prefix 20180402-114759/ --sha1
f=${FILES[3]}
assert_eq "zip folder --sha1: sha1 on the file line" \
	"$(grep "^file = $f " "$T/dirsha1.out")" \
	"file = $f $(stat -c %s "$FN/$f") sha256:$(sha256_of "$FN/$f") sha1:$(sha1_of "$FN/$f")"
assert_eq "zip folder --sha1: allow_sha1" "$(val dirsha1 allow_sha1)" yes

# ---------------------------------------------------------------- the sections work

cfg_begin
cfg_source zoo
for n in sha1 member dir; do
	echo >>"$CFG"
	cat "$T/$n.out" >>"$CFG"
done
check "pinned sections pass modelfsctl check" "$CTL" check "$CFG"
mount_or_bail "$CFG" "$MNT"
assert_eq "mounted: the plain pin serves the origin's bytes" \
	"$(sysop read "$MNT/zoo/x.params")" "$sha"
assert_eq "mounted: the member pin serves the member's bytes" \
	"$(sysop read "$MNT/zoo/m-0123abcd.params")" "$(sha256_of "$T/src/m/m-0123abcd.params")"
assert_eq "mounted: the folder pin lists the members" \
	"$(ls "$MNT/facenet/20180402-114759" | tr '\n' ' ')" "$(printf '%s ' "${FILES[@]}")"
for f in "${FILES[0]}" "${FILES[3]}"; do
	assert_eq "mounted: the folder pin serves $f" \
		"$(sysop read "$MNT/facenet/20180402-114759/$f")" "$(sha256_of "$FN/$f")"
done
unmount_fs "$MNT"

# ---------------------------------------------------------------- errors

pin e404 "$ORIGIN/zoo/missing.params" --path zoo/missing.params --ca-file "$T/ca.pem"
assert_eq "404: exit 1" "$RC" 1
assert_match "404: says so" "$(cat "$T/e404.err")" "^modelfsctl: pin: .*404"
assert_eq "404: nothing on stdout" "$(cat "$T/e404.out")" ""

pin notzip "$ORIGIN/zoo/x.params" --path zoo/x.params --ca-file "$T/ca.pem" --archive zip --member x
assert_eq "--archive zip on a non-zip: exit 1" "$RC" 1
assert_match "--archive zip on a non-zip: says why" "$(cat "$T/notzip.err")" "^modelfsctl: pin: "
assert_eq "--archive zip on a non-zip: nothing on stdout" "$(cat "$T/notzip.out")" ""

pin nomember "$ORIGIN/zoo/m.zip" --path zoo/y.params --ca-file "$T/ca.pem" --archive zip --member y.params
assert_eq "--member not in the archive: exit 1" "$RC" 1
assert_eq "--member not in the archive: says so" "$(cat "$T/nomember.err")" \
	"modelfsctl: pin: member 'y.params' is not in the archive"
assert_eq "--member not in the archive: nothing on stdout" "$(cat "$T/nomember.out")" ""

pin others "$ORIGIN/zoo/two.zip" --path zoo/m.params --ca-file "$T/ca.pem" --archive zip \
	--member m-0123abcd.params
assert_eq "--member of a zip holding other files: exit 1" "$RC" 1
assert_match "--member of a zip holding other files: says why" "$(cat "$T/others.err")" \
	"^modelfsctl: pin: the archive holds 1 file besides 'm-0123abcd.params' \\(e.g. 'README.txt'\\).*without --member$"
assert_eq "--member of a zip holding other files: nothing on stdout" "$(cat "$T/others.out")" ""

pin outside "$ORIGIN/zoo/m.zip" --path zoo/m --ca-file "$T/ca.pem" --archive zip --member-prefix sub/
assert_eq "a member outside --member-prefix: exit 1" "$RC" 1
assert_match "a member outside --member-prefix: says so" "$(cat "$T/outside.err")" \
	"^modelfsctl: pin: member '.*' is outside --member-prefix 'sub/'$"

pin toobig "$ORIGIN/zoo/x.params" --path zoo/x.params --ca-file "$T/ca.pem" --max-size 1000
assert_eq "a body over --max-size: exit 1" "$RC" 1
assert_match "a body over --max-size: says so" "$(cat "$T/toobig.err")" "larger than 1000 bytes"

pin badca "$ORIGIN/zoo/x.params" --path zoo/x.params
assert_eq "an untrusted certificate: exit 1" "$RC" 1
assert_eq "failures: TMPDIR left empty" "$(ls -A "$PIN_TMP")" ""
assert_eq "failures: working directory left empty" "$(ls -A "$T/cwd")" ""

hits_usage=$(origin_total)
pin nopath "$ORIGIN/zoo/x.params" --ca-file "$T/ca.pem"
assert_eq "missing --path: exit 2" "$RC" 2
assert_eq "missing --path: says so" "$(cat "$T/nopath.err")" "modelfsctl: pin: --path MOUNTPATH is required"
pin nourl --path zoo/x.params
assert_eq "missing URL: exit 2" "$RC" 2
pin badpath "$ORIGIN/zoo/x.params" --path ../x.params
assert_eq "a bad --path: exit 2" "$RC" 2
pin badopt "$ORIGIN/zoo/x.params" --path x --frobnicate
assert_eq "an unknown option: exit 2" "$RC" 2
assert_eq "an unknown option: says which" "$(cat "$T/badopt.err")" "modelfsctl: pin: unknown option '--frobnicate'"
pin badarchive "$ORIGIN/zoo/m.zip" --path x --archive tar
assert_eq "--archive tar: exit 2" "$RC" 2
pin memberonly "$ORIGIN/zoo/m.zip" --path x --member a
assert_eq "--member without --archive: exit 2" "$RC" 2
pin both "$ORIGIN/zoo/m.zip" --path x --archive zip --member a --member-prefix b/
assert_eq "--member with --member-prefix: exit 2" "$RC" 2
pin noslash "$ORIGIN/zoo/m.zip" --path x --archive zip --member-prefix b
assert_eq "--member-prefix without a trailing '/': exit 2" "$RC" 2
pin http "$ORIGIN_HTTP/zoo/x.params" --path x
assert_eq "http:// without --allow-http: exit 2" "$RC" 2
pin maxsize "$ORIGIN/zoo/x.params" --path x --max-size 12k
assert_eq "a bad --max-size: exit 2" "$RC" 2
assert_eq "usage errors download nothing" "$(origin_total)" "$hits_usage"
assert_eq "usage errors print nothing" "$(cat "$T"/{nopath,nourl,badpath,badopt,badarchive,memberonly,both,noslash,http,maxsize}.out)" ""

pin allowhttp "$ORIGIN_HTTP/zoo/x.params" --path zoo/x.params --allow-http
assert_eq "http:// with --allow-http: exit 0" "$RC" 0
assert_eq "http:// with --allow-http: sha256" "$(val allowhttp sha256)" "$sha"
assert_eq "http:// with --allow-http: one GET on the http server" "$(origin_http_hits /zoo/x.params)" 1

# ---------------------------------------------------------------- scripts/gluoncv2ini

TABLE=$REPO/scripts/data/gluoncv_model_sha1.json
GEN=$REPO/scripts/gluoncv2ini
if [ ! -f "$TABLE" ]; then
	not_ok "gluoncv2ini: the real table" "$TABLE is missing"
else
	# Sizes for a few, as pinning against a mirror would give them.
	printf '# params_file\tsize\nalexnet-44335d1f.params\t244398584\nmobilenet1.0-efbb2ca3.params\t17036574\n' \
		>"$T/sizes.tsv"
	"$PY" "$GEN" "$TABLE" --mirror https://mirror.example/ --source gluon --sizes "$T/sizes.tsv" \
		>"$T/gluon.ini" 2>"$T/gluon.err"
	assert_eq "gluoncv2ini: exit 0" "$?" 0
	cfg_begin "$T/gluon-all.ini"
	cat "$T/gluon.ini" >>"$T/gluon-all.ini"
	check "gluoncv2ini: the whole table passes modelfsctl check" "$CTL" check "$T/gluon-all.ini"
	out=$("$CTL" check "$T/gluon-all.ini" 2>&1)
	assert_match "gluoncv2ini: the two sized models are live" "$out" ": ok: 2 models, 1 sources"
	assert_eq "gluoncv2ini: the rest are commented out, each with a note" \
		"$(grep -c '^; size unknown: pin it' "$T/gluon.ini")" \
		"$(($("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len({e["params_file"] for t in d.values() for e in t}))' "$TABLE") - 2))"
	assert_eq "gluoncv2ini: no line over 199 characters" \
		"$(awk 'length($0) > 199' "$T/gluon.ini" | wc -l)" 0
	# has_line FILE LINE — FILE holds exactly LINE as a whole line.
	has_line() { grep -qxF -- "$2" "$1"; }
	sed -n '/^\[model alexnet-44335d1f\]$/,/^$/p' "$T/gluon.ini" >"$T/alexnet.sec"
	for l in "source = gluon" "path = alexnet-44335d1f.params" \
		"url = gluon/models/alexnet-44335d1f.zip" "archive = zip" \
		"member = alexnet-44335d1f.params" "size = 244398584" \
		"sha1 = 44335d1f0046b328243b32a26a4fbd62d9057b45"; do
		if has_line "$T/alexnet.sec" "$l"; then ok "gluoncv2ini: alexnet: $l"
		else not_ok "gluoncv2ini: alexnet: $l" "$(cat "$T/alexnet.sec")"; fi
	done
	assert_eq "gluoncv2ini: the source section" \
		"$(sed -n '/^\[source /,/^$/p' "$T/gluon.ini")" \
		"[source gluon]"$'\n'"url = https://mirror.example/"$'\n'"allow_sha1 = yes"
	# resnet50_v1 differs between the tables: both files, two sections.
	assert_eq "gluoncv2ini: a model whose file differs per table gets one section per file" \
		"$(grep -c '^; resnet50_v1 (' "$T/gluon.ini")" 2

	# Uncommenting every section must also give a valid config (with
	# sizes made up here): the commented ones are complete.
	sed -e 's/^; size unknown: pin it.*$//' -e 's/^; \(\[model \|source = \|path = \|url = \|archive = \|member = \|sha1 = \)/\1/' \
		-e 's/^; size = SIZE$/size = 1/' "$T/gluon.ini" >"$T/gluon-uncommented.ini"
	cfg_begin "$T/gluon-all2.ini"
	cat "$T/gluon-uncommented.ini" >>"$T/gluon-all2.ini"
	out=$("$CTL" check "$T/gluon-all2.ini" 2>&1)
	assert_match "gluoncv2ini: every commented section is valid once sized" "$out" \
		"ok: $(grep -c '^\[model ' "$T/gluon-uncommented.ini") models"

	"$PY" "$GEN" "$TABLE" --mirror https://mirror.example/ --names no_such_model >/dev/null 2>&1
	assert_eq "gluoncv2ini: an unknown --names entry is an error" "$?" 2
fi

# The documented workflow end to end, on a tiny table of our own: pin every
# zip on the mirror for its size (the loop at the top of the script, plus
# --ca-file), generate, mount, and the loader's file name serves the bytes.
mkdir -p "$T/gl/z1" "$T/gl/z2" "$WWW/gluon/models"
head -c 100000 /dev/urandom >"$T/gl/good.params"
head -c 5000 /dev/urandom >"$T/gl/other.params"
g1=$(sha1_of "$T/gl/good.params")
o1=$(sha1_of "$T/gl/other.params")
GOOD=tinynet-${g1:0:8}.params
BADF=othernet-${o1:0:8}.params
cp "$T/gl/good.params" "$T/gl/z1/$GOOD"
make_zip "$WWW/gluon/models/${GOOD%.params}.zip" "$T/gl/z1" || bail "make_zip $GOOD"
# The mirror's othernet zip holds other bytes than the table's SHA-1 names.
head -c 5000 /dev/urandom >"$T/gl/z2/$BADF"
make_zip "$WWW/gluon/models/${BADF%.params}.zip" "$T/gl/z2" || bail "make_zip $BADF"
S3=https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/models
cat >"$T/gl/table.json" <<EOF
{"gluoncv_test": [
 {"name": "tinynet", "sha1": "$g1", "params_file": "$GOOD", "url": "$S3/${GOOD%.params}.zip"},
 {"name": "othernet", "sha1": "$o1", "params_file": "$BADF", "url": "$S3/${BADF%.params}.zip"}
]}
EOF
"$PY" "$GEN" "$T/gl/table.json" --mirror "$ORIGIN/" --list |
	while IFS=$'\t' read -r params url sha1; do
		TMPDIR=$PIN_TMP "$CTL" pin "$url" --path "$params" --archive zip --ca-file "$T/ca.pem" \
			--member "$params" --sha1 >"$T/gl/$params.pin" || continue
		grep -qx "sha1 = $sha1" "$T/gl/$params.pin" || { echo "$params: SHA-1 differs" >&2; continue; }
		printf '%s\t%s\n' "$params" "$(sed -n 's/^size = //p' "$T/gl/$params.pin")"
	done >"$T/gl/sizes.tsv" 2>"$T/gl/loop.err"
assert_eq "workflow: the loop sizes the good model only" "$(cat "$T/gl/sizes.tsv")" "$GOOD"$'\t'100000
assert_eq "workflow: the loop reports the mirror's wrong file" "$(cat "$T/gl/loop.err")" "$BADF: SHA-1 differs"
assert_eq "workflow: one GET per zip" \
	"$(origin_hits "/gluon/models/${GOOD%.params}.zip") $(origin_hits "/gluon/models/${BADF%.params}.zip")" "1 1"
"$PY" "$GEN" "$T/gl/table.json" --mirror "$ORIGIN/" --sizes "$T/gl/sizes.tsv" >"$T/gl/gen.ini"
assert_eq "workflow: the generator succeeds" "$?" 0
STORE=$T/store-gl
CFG=$T/gl/models.ini
cfg_begin
# The test origin needs its CA: one line after the source's url.
sed "s|^url = $ORIGIN/\$|&\nca_file = $T/ca.pem|" "$T/gl/gen.ini" >>"$CFG"
check "workflow: the generated config passes check" "$CTL" check "$CFG"
mount_or_bail "$CFG" "$T/mnt-gl"
assert_eq "workflow: only the sized model is mounted" "$(ls "$T/mnt-gl")" "$GOOD"
assert_eq "workflow: the loader's file name serves the verified bytes" \
	"$(sysop read "$T/mnt-gl/$GOOD")" "$(sha256_of "$T/gl/good.params")"
unmount_fs "$T/mnt-gl"
