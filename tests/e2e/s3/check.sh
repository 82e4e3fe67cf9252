#!/usr/bin/env bash
# Smoke test of the S3 test server (server.js over npm @20minutes/s3rver):
# makes a throwaway CA and server certificate, starts the server over HTTPS
# on 127.0.0.1, and checks with curl's SigV4 signing that it serves objects
# to signed requests and rejects bad or missing signatures.
#
#   bash tests/e2e/s3/check.sh        (installs node_modules with npm ci if absent)
#
# Prints "ok N - ..." / "not ok N - ..." lines, "# ..." notes on s3rver's
# quirks, and a closing "N passed, N failed" line; exits 1 on any failure.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REGION=us-east-1
SIGV4="aws:amz:$REGION:s3"
BUCKET=models
AK=S3RVER           # s3rver's built-in key pair, used by the first server
SK=S3RVER
AK2=AKIDMODELFSTEST # custom pair and token, used by the second server
SK2='wJalr/XUtnFEMI+K7MDENG/bPxRfiCYTESTKEY'
TOK2='FwoGZXIvYXdzE//test+token/=='

pass=0 fail=0 n=0
ok()     { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
# check DESC CONDITION: CONDITION is a string of shell, run with eval
check()  { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
note()   { echo "# $*"; }

T=$(mktemp -d /tmp/modelfs-s3check.XXXXXX)
PIDS=()
# S3CHECK_KEEP=1 keeps $T (certificates, logs, data) for a look afterwards
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "${S3CHECK_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

command -v node >/dev/null || { echo "not ok 1 - node not found (apt-get install nodejs npm)"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -f "$HERE/node_modules/@20minutes/s3rver/package.json" ]; then
  note "installing node_modules: npm ci --prefix $HERE"
  if ! npm ci --prefix "$HERE" --no-audit --no-fund --loglevel=error >"$T/npm.log" 2>&1; then
    cat "$T/npm.log"; echo "not ok 1 - npm ci"; echo "0 passed, 1 failed"; exit 1
  fi
fi
note "s3rver $(node -p "require('$HERE/node_modules/@20minutes/s3rver/package.json').version"), node $(node -v), $(curl --version | head -1 | cut -d' ' -f1-2)"

# ---- a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) ------
# *.s3.localhost is there too, only so that the virtual-hosted-style probe
# below reaches s3rver instead of failing in TLS.
mkcerts() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=modelfs test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/server.key" -out "$T/server.csr" -subj "/CN=localhost" &&
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.s3.localhost" \
    "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$T/ext.cnf" &&
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -CAcreateserial -days 2 -extfile "$T/ext.cnf" -out "$T/server.pem"
}
mkcerts >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; echo "not ok 1 - openssl"; echo "0 passed, 1 failed"; exit 1; }

# ---- objects -----------------------------------------------------------
mkdir -p "$T/src/sub/deeper"
head -c 300000 /dev/urandom >"$T/src/model.bin"
printf 'hello s3\n' >"$T/src/sub/deeper/small.txt"
printf 'odd key\n' >"$T/src/sub/sp ace+plus.txt"
: >"$T/src/empty.bin"

# start_server NAME ARGS... : starts server.js, waits for its ready file,
# sets PORT; the log is $T/NAME.log, stdout/stderr $T/NAME.out
start_server() {
  local name=$1; shift
  local t0 t1 i
  t0=$(date +%s%N)
  node "$HERE/server.js" --dir "$T/$name.data" --cert "$T/server.pem" --key "$T/server.key" \
    --ready "$T/$name.ready" --log "$T/$name.log" "$@" >"$T/$name.out" 2>&1 &
  PIDS+=($!)
  local pid=$!
  for i in $(seq 300); do
    [ -s "$T/$name.ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$T/$name.ready" ]; then
    cat "$T/$name.out"; return 1
  fi
  t1=$(date +%s%N)
  PORT=$(cat "$T/$name.ready")
  note "$name: $(head -1 "$T/$name.out") (ready after $(( (t1 - t0) / 1000000 )) ms)"
}

# s3 CREDS [curl args...] : signed request; body to $T/body, headers to
# $T/hdr, prints the status code. libcurl 7.88 does not add the
# x-amz-content-sha256 header that S3 (and s3rver) require, so it is given
# here (and signed by curl, as every x-amz-* header given is).
s3() {
  local creds=$1; shift
  curl -sS --cacert "$T/ca.pem" --aws-sigv4 "$SIGV4" --user "$creds" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@"
}
hdr() { tr -d '\r' <"$T/hdr" | sed -n "s/^$1: //Ip" | tail -1; }
body_has() { grep -q "$1" "$T/body"; }
errcode() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$T/body" | head -1; }

start_server s1 --bucket "$BUCKET" --upload-from "$T/src" --silent ||
  { echo "not ok 1 - server start"; echo "0 passed, 1 failed"; exit 1; }
P1=$PORT
U="https://127.0.0.1:$P1/$BUCKET"

# (a) path style, right credentials
st=$(s3 "$AK:$SK" "$U/model.bin")
check "path-style GET, right credentials -> 200 ($st)" '[ "$st" = 200 ]'
check "GET body is the object's bytes" 'cmp -s "$T/body" "$T/src/model.bin"'
md5=$(md5sum <"$T/src/model.bin" | cut -d' ' -f1)
etag=$(hdr ETag)
check "ETag is the quoted MD5 ($etag)" '[ "$etag" = "\"$md5\"" ]'
check "Content-Length 300000, Accept-Ranges bytes" '[ "$(hdr Content-Length)" = 300000 -a "$(hdr Accept-Ranges)" = bytes ]'
st=$(s3 "$AK:$SK" "$U/sub/deeper/small.txt")
check "nested key sub/deeper/small.txt -> 200 and its bytes" '[ "$st" = 200 ] && cmp -s "$T/body" "$T/src/sub/deeper/small.txt"'
st=$(s3 "$AK:$SK" "$U/sub/sp%20ace%2Bplus.txt")
check "key with space and + (RFC 3986 encoded in the URL) -> 200 ($st)" '[ "$st" = 200 ] && cmp -s "$T/body" "$T/src/sub/sp ace+plus.txt"'
st=$(s3 "$AK:$SK" "$U/sub/sp%20ace+plus.txt")
note "same key with a raw + in the URL -> $st $(errcode) (encode every reserved character)"
st=$(s3 "$AK:$SK" "$U/empty.bin")
check "empty object -> 200, Content-Length 0 ($st)" '[ "$st" = 200 -a "$(hdr Content-Length)" = 0 ]'
st=$(s3 "$AK:$SK" -I "$U/model.bin")
check "HEAD -> 200 with Content-Length 300000 ($st)" '[ "$st" = 200 -a "$(hdr Content-Length)" = 300000 ]'

# (b) wrong secret, wrong key id
st=$(s3 "$AK:wrong-secret" "$U/model.bin")
check "wrong secret -> 403 SignatureDoesNotMatch ($st $(errcode))" '[ "$st" = 403 ] && body_has "<Code>SignatureDoesNotMatch</Code>"'
st=$(s3 "NOSUCHKEYID:$SK" "$U/model.bin")
check "unknown access key id -> 403 InvalidAccessKeyId ($st $(errcode))" '[ "$st" = 403 ] && body_has "<Code>InvalidAccessKeyId</Code>"'
st=$(curl -sS --cacert "$T/ca.pem" --aws-sigv4 "aws:amz:eu-west-1:s3" --user "$AK:$SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -o "$T/body" -w '%{http_code}' "$U/model.bin")
note "other region in the signature (eu-west-1) -> $st (s3rver takes the region from the request and does not check it)"

# (c) unsigned; signed but without x-amz-content-sha256
st=$(curl -sS --cacert "$T/ca.pem" -o "$T/body" -w '%{http_code}' "$U/model.bin")
check "unsigned GET -> 403 AccessDenied ($st $(errcode))" '[ "$st" = 403 ] && body_has "<Code>AccessDenied</Code>"'
st=$(curl -sS --cacert "$T/ca.pem" --aws-sigv4 "$SIGV4" --user "$AK:$SK" -o "$T/body" -w '%{http_code}' "$U/model.bin")
check "signed GET without x-amz-content-sha256 -> 400 InvalidRequest ($st $(errcode))" '[ "$st" = 400 ] && body_has "x-amz-content-sha256"'

# (d) a session token is not checked by s3rver: signed with it -> accepted
st=$(s3 "$AK:$SK" -H "x-amz-security-token: anything" "$U/sub/deeper/small.txt")
check "x-amz-security-token (signed) ignored by default -> 200 ($st)" '[ "$st" = 200 ]'

# (e) Range
st=$(s3 "$AK:$SK" -r 1000-1999 "$U/model.bin")
check "Range bytes=1000-1999 -> 206 ($st)" '[ "$st" = 206 ]'
check "Content-Range bytes 1000-1999/300000 ($(hdr Content-Range))" '[ "$(hdr Content-Range)" = "bytes 1000-1999/300000" ]'
check "range body is bytes 1000..1999" 'cmp -s "$T/body" <(tail -c +1001 "$T/src/model.bin" | head -c 1000)'
st=$(s3 "$AK:$SK" -r 299990- "$U/model.bin")
check "open range bytes=299990- -> 206, 10 bytes ($st $(hdr Content-Range))" '[ "$st" = 206 -a "$(stat -c %s "$T/body")" = 10 ]'
st=$(s3 "$AK:$SK" -r 400000-400010 "$U/model.bin")
check "range past the end -> 416 InvalidRange ($st)" '[ "$st" = 416 ] && body_has InvalidRange'
st=$(s3 "$AK:$SK" -r 0-0 "$U/model.bin")
note "quirk: bytes=0-0 -> $st, Content-Range '$(hdr Content-Range)', $(stat -c %s "$T/body") bytes (S3 sends 1 byte)"
st=$(s3 "$AK:$SK" -r -100 "$U/model.bin")
note "quirk: suffix bytes=-100 -> $st, Content-Range '$(hdr Content-Range)' (S3 sends the last 100 bytes)"

# (f) missing key, missing bucket
st=$(s3 "$AK:$SK" "$U/no/such/key.bin")
check "missing key -> 404 NoSuchKey ($st)" '[ "$st" = 404 ] && body_has "<Code>NoSuchKey</Code>"'
st=$(s3 "$AK:$SK" "https://127.0.0.1:$P1/nosuchbucket/model.bin")
check "missing bucket -> 404 NoSuchBucket ($st)" '[ "$st" = 404 ] && body_has "<Code>NoSuchBucket</Code>"'

# listing (not needed by modelfs; query values must be encoded by the client)
st=$(s3 "$AK:$SK" "https://127.0.0.1:$P1/$BUCKET?list-type=2&prefix=sub%2Fdeeper%2F")
check "ListObjectsV2 prefix=sub/deeper/ -> 200 listing small.txt ($st)" '[ "$st" = 200 ] && body_has "<Key>sub/deeper/small.txt</Key>"'

# virtual-hosted style: report only
st=$(s3 "$AK:$SK" --resolve "$BUCKET.s3.localhost:$P1:127.0.0.1" "https://$BUCKET.s3.localhost:$P1/model.bin")
note "virtual-hosted https://$BUCKET.s3.localhost:$P1/model.bin -> $st $(errcode) (s3rver signs vhost requests over /BUCKET/KEY: SigV4 fails; use path style)"
st=$(s3 "$AK:$SK" -k --resolve "$BUCKET.localhost:$P1:127.0.0.1" "https://$BUCKET.localhost:$P1/model.bin")
note "virtual-hosted https://$BUCKET.localhost:$P1/model.bin -> $st $(errcode)"
st=$(s3 "$AK:$SK" "https://localhost:$P1/$BUCKET/sub/deeper/small.txt")
check "path style via https://localhost:P -> 200 ($st)" '[ "$st" = 200 ]'

# per-request log
L=$T/s1.log
check "log has one line per request" '[ "$(wc -l <"$L")" -ge 20 ]'
c=$(grep -c "^GET /$BUCKET/model.bin 200 " "$L")   # right credentials, and eu-west-1
check "log: 2 successful full GETs of model.bin ($c)" '[ "$c" = 2 ]'
c=$(grep -c "^GET /$BUCKET/model.bin 206 .*range=bytes=1000-1999 " "$L")
check "log: the 206 range GET with its range ($c)" '[ "$c" = 1 ]'
c=$(grep -c "^GET /$BUCKET/model.bin 403 err=SignatureDoesNotMatch auth=sigv4 ak=$AK " "$L")
check "log: the SignatureDoesNotMatch GET ($c)" '[ "$c" = 1 ]'
c=$(grep -c "^GET /$BUCKET/model.bin 403 err=AccessDenied auth=none " "$L")
check "log: the unsigned GET ($c)" '[ "$c" = 1 ]'

# ---- a second server: custom key pair and a required session token ------
start_server s2 --bucket b2 --upload-from "$T/src" --prefix "v1/" \
  --access-key "$AK2" --secret-key "$SK2" --session-token "$TOK2" ||
  not_ok "second server start"
U2="https://127.0.0.1:$PORT/b2"
st=$(s3 "$AK2:$SK2" -H "x-amz-security-token: $TOK2" "$U2/v1/model.bin")
check "custom key pair + right session token, prefixed key -> 200 ($st)" '[ "$st" = 200 ] && cmp -s "$T/body" "$T/src/model.bin"'
st=$(s3 "$AK2:$SK2" "$U2/v1/model.bin")
check "session token missing -> 403 InvalidAccessKeyId ($st $(errcode))" '[ "$st" = 403 ]'
st=$(s3 "$AK2:$SK2" -H "x-amz-security-token: wrong" "$U2/v1/model.bin")
check "wrong session token -> 400 InvalidToken ($st $(errcode))" '[ "$st" = 400 ] && body_has InvalidToken'
st=$(s3 "$AK2:wrong" -H "x-amz-security-token: $TOK2" "$U2/v1/model.bin")
check "custom key, wrong secret -> 403 SignatureDoesNotMatch ($st)" '[ "$st" = 403 ] && body_has SignatureDoesNotMatch'
st=$(s3 "$AK:$SK" -H "x-amz-security-token: $TOK2" "$U2/v1/model.bin")
check "built-in S3RVER pair no longer accepted -> 403 InvalidAccessKeyId ($st)" '[ "$st" = 403 ] && body_has InvalidAccessKeyId'
c=$(grep -c "token=yes" "$T/s2.log")
check "log records the token header (token=yes on $c lines)" '[ "$c" = 4 ]'

# plain-TLS sanity: the server certificate is checked against our CA
st=$(curl -sS -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P1/$BUCKET/model.bin" 2>/dev/null)
check "without --cacert, TLS verification fails (code 000: $st)" '[ "$st" = 000 ]'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
