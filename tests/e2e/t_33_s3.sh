#!/usr/bin/env bash
# S3-compatible sources (issue 10 §4) against a real S3 server that checks
# SigV4 (npm's @20minutes/s3rver, tests/e2e/s3): credentials from a shared
# credentials file (a chosen profile) or the environment, a session token,
# a large object in parallel ranges; a wrong secret, a missing token and
# no credentials at all fail the open with EIO and a clear audited reason;
# no secret ever shows in the audit log, the daemon's log, the status
# xattrs or modelfsctl status; a mirror of an S3 source gets no signature.
. "$(dirname "$0")/lib.sh"

S3DIR=$E2E_DIR/s3
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	bail "node and npm are needed (scripts/deps test)"
npm_ci "$S3DIR" || bail "npm ci failed: $(tail -5 "$T/logs/npm.out")"

setup_origin
KEY_ID=AKIAMODELFSTEST0001
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYmodelfsKEY
TOKEN=FwoGZXIvYXdzEJr//////////wEaDmodelfsSessionToken+abc/def=
WRONG=wJalrXUtnFEMI/K7MDENG+bPxRfiCYmodelfsBAD

# s3_server NAME ARGS... — server.js over HTTPS; its port in $S3_PORT,
# its request log $T/logs/NAME.log.
s3_server() {
	local name=$1 pid i
	shift
	rm -f "$T/logs/$name.port"
	node "$S3DIR/server.js" --dir "$T/$name-data" --cert "$T/server.pem" --key "$T/server.key" \
		--port 0 --ready "$T/logs/$name.port" --log "$T/logs/$name.log" --silent "$@" \
		</dev/null >"$T/logs/$name.out" 2>&1 &
	pid=$!
	BG_PIDS+=("$pid")
	for i in $(seq 100); do
		[ -s "$T/logs/$name.port" ] && { S3_PORT=$(cat "$T/logs/$name.port"); return 0; }
		proc_gone "$pid" && break
		sleep 0.1
	done
	bail "s3 server $name did not start: $(tail -5 "$T/logs/$name.out")"
}
# s3_log NAME KEY — "STATUS ERR AUTH AK TOKEN RANGE" of each GET of /models/v1/KEY
s3_log() {
	awk -v u="/models/v1/$2" '$1 == "GET" && $2 == u {
		print $3, substr($4, 5), substr($5, 6), substr($6, 4), substr($7, 7), substr($8, 7) }' \
		"$T/logs/$1.log" 2>/dev/null
}

mkdir -p "$T/src"
for m in a b e t bad anon tok miss; do
	head -c 200000 /dev/urandom >"$T/src/$m.bin"
	eval "s_$m=\$(sha256_of "$T/src/$m.bin")"
done
head -c $((8 << 20)) /dev/urandom >"$T/src/big.bin"
s_big=$(sha256_of "$T/src/big.bin")
mkdir -p "$T/mirror"
cp "$T/src/miss.bin" "$T/mirror/miss.bin"
rm "$T/src/miss.bin"                 # not in the bucket: the mirror has it

s3_server s3 --bucket models --upload-from "$T/src" --prefix v1/ \
	--access-key "$KEY_ID" --secret-key "$SECRET"
S3=$S3_PORT
s3_server s3tok --bucket models --upload-from "$T/src" --prefix v1/ \
	--access-key "$KEY_ID" --secret-key "$SECRET" --session-token "$TOKEN"
S3TOK=$S3_PORT
py_origin mirror "$T/mirror"
MIRROR=$PY_ORIGIN

umask 077
cat >"$T/aws-credentials" <<EOF
# an AWS shared-credentials file
[default]
aws_access_key_id = $KEY_ID
aws_secret_access_key = $WRONG

[modelfs]
aws_access_key_id = $KEY_ID
aws_secret_access_key = $SECRET

[withtoken]
aws_access_key_id=$KEY_ID
aws_secret_access_key=$SECRET
aws_session_token=$TOKEN
EOF
umask 022

s3src() { # NAME PORT KEY=VALUE...
	local name=$1 port=$2
	shift 2
	cfg_source "$name" url=s3://models/v1/ "s3_endpoint=https://127.0.0.1:$port" s3_path_style=yes \
		s3_region=eu-west-1 "$@"
}
cfg_begin connections=4 parallel_min=1M
s3src file $S3 "s3_credentials=$T/aws-credentials" s3_profile=modelfs
s3src wrong $S3 "s3_credentials=$T/aws-credentials"
s3src tok $S3TOK "s3_credentials=$T/aws-credentials" s3_profile=withtoken
s3src notok $S3TOK "s3_credentials=$T/aws-credentials" s3_profile=modelfs
s3src anon $S3
s3src mirrored $S3 "s3_credentials=$T/aws-credentials" s3_profile=modelfs "mirrors=$MIRROR/"
cfg_model a file a.bin a.bin 200000 "$s_a"
cfg_model big file big.bin big.bin $((8 << 20)) "$s_big"
cfg_model bad wrong bad.bin bad.bin 200000 "$s_bad"
cfg_model t tok t.bin t.bin 200000 "$s_t"
cfg_model tok notok tok.bin tok.bin 200000 "$s_tok"
cfg_model anon anon anon.bin anon.bin 200000 "$s_anon"
cfg_model miss mirrored miss.bin miss.bin 200000 "$s_miss"
out=$("$MFS_BIN/modelfsctl" check "$CFG" 2>&1)
assert_match "check shows the bucket and its base" "$out" \
	"source file: s3://models/v1/ at https://127.0.0.1:$S3/models/v1/"
mount_or_bail "$CFG" "$MNT"

assert_eq "credentials file, profile modelfs: read ok" "$(sysop read "$MNT/a.bin")" "$s_a"
assert_eq "... one GET, signed with SigV4 by the key id" "$(s3_log s3 a.bin)" \
	"200 - sigv4 $KEY_ID no -"

assert_eq "8 MiB object: read ok" "$(sysop read "$MNT/big.bin")" "$s_big"
assert_eq "8 MiB object: four signed ranged GETs" \
	"$(s3_log s3 big.bin | awk '{ print $1, $3 }' | sort | uniq -c | awk '{ print $1, $2, $3 }')" \
	"4 206 sigv4"

assert_errno "a wrong secret: EIO" EIO read "$MNT/bad.bin"
assert_eq "a wrong secret: the audit says SignatureDoesNotMatch" \
	"$(audit_field fetch_failed bad.bin error)" "HTTP 403 (SignatureDoesNotMatch)"
assert_eq "a wrong secret: not retried (a 403)" "$(s3_log s3 bad.bin | wc -l)" 1

assert_eq "a session token: read ok" "$(sysop read "$MNT/t.bin")" "$s_t"
assert_eq "a session token: sent" "$(s3_log s3tok t.bin)" "200 - sigv4 $KEY_ID yes -"
assert_errno "a server that wants a token, none given: EIO" EIO read "$MNT/tok.bin"
assert_match "... the audit names the S3 error" "$(audit_field fetch_failed tok.bin error)" \
	'^HTTP 403 \(InvalidAccessKeyId\)$'

assert_errno "no credentials at all: EIO" EIO read "$MNT/anon.bin"
assert_eq "no credentials: the request went unsigned" "$(s3_log s3 anon.bin)" \
	"403 AccessDenied none - no -"
assert_eq "no credentials: the audit says AccessDenied" \
	"$(audit_field fetch_failed anon.bin error)" "HTTP 403 (AccessDenied)"

assert_eq "not in the bucket: read from the https mirror" "$(sysop read "$MNT/miss.bin")" "$s_miss"
assert_eq "... after the bucket's NoSuchKey" "$(s3_log s3 miss.bin | cut -d' ' -f1-2)" "404 NoSuchKey"
assert_eq "... the mirror served it, and got no Authorization header" \
	"$(py_log mirror /miss.bin | awk '{ print $3, $9 }')" "200 -"

# Environment credentials (no s3_credentials), in a daemon of their own.
cfg_begin "$T/env.ini" "store=$T/store-env"
s3src env $S3
cfg_model e env e.bin e.bin 200000 "$s_e"
AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET mount_fs "$T/env.ini" "$T/mnt-env" ||
	bail "mount env failed: $(cat "$MOUNT_ERR")"
assert_eq "credentials from the environment: read ok" "$(sysop read "$T/mnt-env/e.bin")" "$s_e"
assert_eq "... signed" "$(s3_log s3 e.bin)" "200 - sigv4 $KEY_ID no -"

# modelfsctl fetch, with the credentials file.
cfg_begin "$T/ctl.ini" "store=$T/store-ctl"
s3src file $S3 "s3_credentials=$T/aws-credentials" s3_profile=modelfs
cfg_model b file b.bin b.bin 200000 "$s_b"
out=$("$MFS_BIN/modelfsctl" fetch "$T/ctl.ini" 2>&1)
assert_eq "modelfsctl fetch from S3: exit 0" "$?" 0
[ -f "$T/store-ctl/objects/sha256-$s_b" ] && ok "modelfsctl fetch from S3: stored" ||
	not_ok "modelfsctl fetch from S3: stored" "$out"

# No secret anywhere it could leak.
status=$("$MFS_BIN/modelfsctl" status "$MNT" --json 2>&1)
xattrs=$(for f in a bad tok anon; do
	"$PY" -c 'import os, sys
for n in os.listxattr(sys.argv[1]):
    print(n, os.getxattr(sys.argv[1], n))' "$MNT/$f.bin" 2>&1; done)
for s in "$SECRET" "$WRONG" "$TOKEN"; do
	leaks=$(grep -rlF -- "$s" "$STORE" "$T/store-env" "$T/store-ctl" "$T"/logs/modelfs.* 2>/dev/null)
	assert_eq "no secret in the audit logs, stores or daemon logs (${s:0:6}...)" "$leaks" ""
	case "$status$xattrs$out" in
	*"$s"*) not_ok "no secret in modelfsctl status, the xattrs or fetch's output (${s:0:6}...)" ;;
	*) ok "no secret in modelfsctl status, the xattrs or fetch's output (${s:0:6}...)" ;;
	esac
done
assert_match "modelfsctl status still says why (the S3 code)" "$status" 'SignatureDoesNotMatch'
