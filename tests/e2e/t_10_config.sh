#!/usr/bin/env bash
# A bad config is refused at start with FILE:LINE: and exit status 2, by
# modelfs (which mounts nothing) and by modelfsctl check.
. "$(dirname "$0")/lib.sh"

make_ca ca
H64=$(printf x | sha256sum | cut -d' ' -f1)
H40=$(printf x | sha1sum | cut -d' ' -f1)
rep() { printf "%${2}s" '' | tr ' ' "$1"; }

# write_case NAME TEMPLATE — writes $T/NAME.ini from TEMPLATE, where a
# line starting "@@" is where the error is, and "@?" marks a line that is
# also acceptable (e.g. the section header for a check made when the
# section ends).  Sets CASE_NAME, CASE_FILE and CASE_LINES (an ERE, "9|6").
write_case() {
	CASE_NAME=$1
	CASE_FILE=$T/$1.ini
	CASE_LINES=$(awk -v out="$CASE_FILE" '
		substr($0, 1, 2) == "@@" { want = want "|" NR; $0 = substr($0, 3) }
		substr($0, 1, 2) == "@?" { alt = alt "|" NR; $0 = substr($0, 3) }
		{ print > out }
		END { print substr(want alt, 2) }' <<<"$2")
}

# base NAME — the head of a valid config (7 lines; [model a] is line 6).
base() {
	cat <<-EOF
		[modelfs]
		store = $T/store-$1
		[source zoo]
		url = https://127.0.0.1:1/zoo/
		ca_file = $T/ca.pem
		[model a]
		source = zoo
	EOF
}
model_tail() { # PATH
	printf 'path = %s\nurl = a.bin\nsize = 10\nsha256 = %s\n' "$1" "$H64"
}

# refused — runs both programs on the current case.
refused() {
	local name=$CASE_NAME rc err mnt=$T/mnt-$CASE_NAME
	mkdir -p "$mnt"
	err=$(timeout -k 2 $((10 * SLOW)) "$MFS_BIN/modelfs" "$CASE_FILE" "$mnt" 2>&1 </dev/null)
	rc=$?
	assert_eq "$name: modelfs exits 2" "$rc" 2
	if printf '%s\n' "$err" | grep -Eq "$CASE_FILE:($CASE_LINES):"; then
		ok "$name: modelfs says $name.ini:($CASE_LINES):"
	else
		not_ok "$name: modelfs says $name.ini:($CASE_LINES):" "stderr: $err"
	fi
	if is_mounted "$mnt"; then
		MOUNTS+=("$mnt")
		not_ok "$name: nothing mounted" "$(mount_line "$mnt")"
	else
		ok "$name: nothing mounted"
	fi
	if [ -e "$T/store-$name" ]; then not_ok "$name: no store created" "$(ls -la "$T/store-$name")"
	else ok "$name: no store created"; fi

	err=$(timeout -k 2 $((10 * SLOW)) "$MFS_BIN/modelfsctl" check "$CASE_FILE" 2>&1 </dev/null)
	rc=$?
	assert_eq "$name: modelfsctl check exits 2" "$rc" 2
	if printf '%s\n' "$err" | grep -Eq "$CASE_FILE:($CASE_LINES):"; then
		ok "$name: modelfsctl check says $name.ini:($CASE_LINES):"
	else
		not_ok "$name: modelfsctl check says $name.ini:($CASE_LINES):" "output: $err"
	fi
}

write_case unknown_key "$(base unknown_key; model_tail zoo/a.bin; echo "@@colour = blue")"
refused

# inih calls the handler only for keys: the header or its first key.
write_case unknown_section "$(base unknown_section; model_tail zoo/a.bin
	echo "@?[sauce x]"; echo "@@url = https://x/")"
refused

write_case bad_hex "$(base bad_hex; echo "path = zoo/a.bin"; echo "url = a.bin"; echo "size = 10"
	echo "@@sha256 = $(rep z 64)")"
refused

write_case short_hex "$(base short_hex; echo "path = zoo/a.bin"; echo "url = a.bin"; echo "size = 10"
	echo "@@sha256 = ${H64:1}")"
refused

write_case bad_size "$(base bad_size; echo "path = zoo/a.bin"; echo "url = a.bin"; echo "@@size = 12abc"
	echo "sha256 = $H64")"
refused

write_case dup_path "$(base dup_path; model_tail zoo/a.bin
	echo "@?[model b]"; echo "source = zoo"; echo "@@path = zoo/a.bin"
	echo "url = b.bin"; echo "size = 10"; echo "sha256 = ${H64%?}0")"
refused

write_case dotdot "$(base dotdot; echo "@@path = zoo/../a.bin"; echo "url = a.bin"; echo "size = 10"
	echo "sha256 = $H64")"
refused

write_case absolute "$(base absolute; echo "@@path = /zoo/a.bin"; echo "url = a.bin"; echo "size = 10"
	echo "sha256 = $H64")"
refused

write_case missing_digest "$(base missing_digest | sed 's/^\[model a\]/@@[model a]/'
	echo "path = zoo/a.bin"; echo "url = a.bin"; echo "size = 10")"
refused

write_case unknown_source "$(base unknown_source | sed -e 's/^\[model a\]/@?[model a]/' -e 's/^source = zoo$/@@source = nope/'
	model_tail zoo/a.bin)"
refused

write_case http_url "$(base http_url; model_tail zoo/a.bin
	echo "@?[source web]"; echo "@@url = http://127.0.0.1:1/"
	echo "[model w]"; echo "source = web"; echo "path = w.bin"; echo "url = w.bin"; echo "size = 1"
	echo "sha256 = ${H64%?}3")"
refused

write_case sha1_only "$(base sha1_only; model_tail zoo/a.bin
	echo "@?[model s]"; echo "source = zoo"; echo "path = s.bin"
	echo "url = s.bin"; echo "size = 1"; echo "@@sha1 = $H40")"
refused

# 200 characters on one line: inih cuts it at 199; the error must name the
# long line itself, not the line inih makes of the rest.
write_case long_line "$(base long_line; echo "@@path = zoo/$(rep a 189)"; echo "url = a.bin"
	echo "size = 10"; echo "sha256 = $H64")"
assert_eq "(harness) the long line is 200 characters" "$(sed -n 8p "$CASE_FILE" | tr -d '\n' | wc -c)" 200
refused

write_case long_comment "$(base long_comment; model_tail zoo/a.bin; echo "@@; $(rep c 198)")"
assert_eq "(harness) the long comment is 200 characters" "$(tail -1 "$CASE_FILE" | tr -d '\n' | wc -c)" 200
refused

# A 49-character section name would be cut silently by a longer one:
# refused (the header, or the first key, where inih reports the section).
sec49="model $(rep m 43)"
write_case long_section "$(base long_section; model_tail zoo/a.bin
	echo "@@[$sec49]"; echo "@?source = zoo"; echo "path = m.bin"
	echo "url = m.bin"; echo "size = 1"; echo "sha256 = ${H64%?}1")"
assert_eq "(harness) the section name is 49 characters" "${#sec49}" 49
refused

# A good config: inline comments, a 48-character section name.
sec48="model $(rep g 42)"
GOOD=$T/good.ini
cat >"$GOOD" <<EOF
; models for the test
[modelfs]
store = $T/store-good        ; where verified objects live
connect_timeout = 5

[source zoo]
url = https://127.0.0.1:1/zoo/
ca_file = $T/ca.pem

[model a]
source = zoo
path = zoo/a.bin             ; mount path
url = a.bin
size = 10
sha256 = $H64

[$sec48]
source = zoo
path = zoo/sub/g.bin
url = g.bin
size = 20
sha256 = ${H64%?}2
EOF
out=$(timeout $((10 * SLOW)) "$MFS_BIN/modelfsctl" check "$GOOD" 2>&1)
rc=$?
assert_eq "good config: modelfsctl check exits 0" "$rc" 0
diag "modelfsctl check: $out"
assert_match "good config: summary gives the model count" "$out" '(^|[^0-9])2([^0-9]|$)'
assert_match "good config: summary gives the total bytes" "$out" '(^|[^0-9])30([^0-9]|$)'
if mount_fs "$GOOD" "$T/mnt-good"; then
	ok "good config mounts"
	assert_eq "good config: listing" "$(cd "$T/mnt-good" && find . -type f | sort | tr '\n' ' ')" \
		"./zoo/a.bin ./zoo/sub/g.bin "
	assert_eq "inline comment not part of the path" "$(stat -c %s "$T/mnt-good/zoo/a.bin")" 10
	CFG=$GOOD unmount_fs "$T/mnt-good"
else
	not_ok "good config mounts" "$(cat "$MOUNT_ERR")"
fi

# The shipped examples stay valid.
for ex in "$REPO"/config/*.ini; do
	out=$("$MFS_BIN/modelfsctl" check "$ex" 2>&1)
	rc=$?
	assert_eq "config/$(basename "$ex") passes modelfsctl check" "$rc" 0
	[ "$rc" = 0 ] || diag "$out"
done
