# tests/e2e/lib.sh — the end-to-end harness every tests/e2e/t_*.sh sources.
#
#   . "$(dirname "$0")/lib.sh"
#   setup_origin                       # CA, server cert, nginx on loopback
#   sha=$(add_model zoo/a.bin 65536)   # random bytes in the docroot
#   cfg_begin; cfg_source zoo; cfg_model a zoo zoo/a.bin zoo/a.bin 65536 "$sha"
#   mount_fs "$CFG" "$MNT" || bail "mount failed"
#   assert_errno "write is EROFS" EROFS open "$MNT/zoo/a.bin" O_WRONLY
#
# Every test prints "ok - NAME" or "not ok - NAME: DETAIL" (one line each;
# further diagnostics are "#" lines) and exits non-zero if any failed or
# none ran.  An EXIT trap always unmounts every mount the test made, stops
# nginx and every daemon it started (by their pids only) and turns any
# sanitizer report into a failure.
#
# Environment:
#   MFS_BIN       directory with modelfs and modelfsctl (default: build)
#   MFS_E2E_TMP   where per-test temp dirs go (default: /tmp)
#   MFS_KEEP=1    keep the temp dir even when every check passed

set -u
set -o pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)

MFS_BIN=${MFS_BIN:-$REPO/build}
case $MFS_BIN in /*) ;; *) MFS_BIN=$REPO/$MFS_BIN ;; esac
export MFS_BIN

# /usr/bin/python3 also works for user nobody (a pyenv shim under /root
# would not).
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

PASSED=0
FAILED=0
MOUNTS=()      # mountpoints we mounted
DAEMONS=()     # pids of modelfs daemons we started
BG_PIDS=()     # background helpers (readers, lock holders)
NGINX_PID=

if [ "$(id -u)" != 0 ]; then
	echo "not ok - $TEST_NAME: the end-to-end tests must run as root (they mount)"
	exit 1
fi

mkdir -p "${MFS_E2E_TMP:-/tmp}"
T=$(mktemp -d "${MFS_E2E_TMP:-/tmp}/mfs-$TEST_NAME.XXXXXX") || exit 1
# Traversable (not listable) so user nobody can reach mountpoints in it;
# the store inside keeps its own 0700.
chmod 0711 "$T"
export T
STORE=$T/store
MNT=$T/mnt
CFG=$T/models.ini
AUDIT=$STORE/audit.jsonl
WWW=$T/www
mkdir -p "$WWW" "$T/nginx/tmp" "$T/logs"

SAN=0
case $(basename "$MFS_BIN") in *san*) SAN=1 ;; esac
if [ "$SAN" = 0 ] && [ -x "$MFS_BIN/modelfs" ] &&
	ldd "$MFS_BIN/modelfs" 2>/dev/null | grep -Eq 'lib(a|ub)san'; then
	SAN=1
fi
if [ "$SAN" = 1 ]; then
	export ASAN_OPTIONS="log_path=$T/asan:detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="log_path=$T/ubsan:print_stacktrace=1:halt_on_error=1"
	# Sanitized binaries are slower; bounds in the tests scale by this.
	SLOW=2
else
	SLOW=1
fi

# ---------------------------------------------------------------- reporting

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

# not_ok NAME DETAIL — the first line of DETAIL goes on the result line,
# the rest as "#" comment lines.
not_ok() {
	local name=$1 detail=${2:-}
	FAILED=$((FAILED + 1))
	local first rest
	first=${detail%%$'\n'*}
	echo "not ok - $name${first:+: $first}"
	if [ "$first" != "$detail" ]; then
		rest=${detail#*$'\n'}
		printf '%s\n' "$rest" | sed 's/^/#   /'
	fi
}

diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

# bail DETAIL — a step the rest of the test depends on failed.
bail() {
	not_ok "$TEST_NAME setup" "$1"
	exit 1
}

assert_eq() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

assert_ne() { # NAME GOT UNWANTED
	if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', which it must not be"; fi
}

assert_match() { # NAME STRING ERE
	if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1" "'$2' does not match /$3/"; fi
}

assert_le() { # NAME GOT MAX
	if [ "$2" -le "$3" ] 2>/dev/null; then ok "$1"; else not_ok "$1" "got $2, want <= $3"; fi
}

assert_ge() { # NAME GOT MIN
	if [ "$2" -ge "$3" ] 2>/dev/null; then ok "$1"; else not_ok "$1" "got $2, want >= $3"; fi
}

# check NAME CMD... — passes if CMD exits 0.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then ok "$name"; else not_ok "$name" "'$*' exited $rc"$'\n'"$out"; fi
}

# assert_same_bytes NAME GOT_FILE WANT_FILE
assert_same_bytes() {
	local out
	if [ ! -f "$2" ]; then not_ok "$1" "$2 missing"; return; fi
	if out=$(cmp -- "$2" "$3" 2>&1); then
		ok "$1"
	else
		not_ok "$1" "bytes differ: $out (sizes $(stat -c %s "$2") vs $(stat -c %s "$3"))"
	fi
}

# ---------------------------------------------------------------- syscalls

# One system call done by python3, printing OK (or a digest for the
# sha256 ops) or the errno name.  Bounded by a timeout (prints TIMEOUT).
SYSOP_PY='
import errno, hashlib, mmap, os, stat, sys
op, a = sys.argv[1], sys.argv[2:]
def flags(s):
    v = 0
    for f in s.split("|"):
        v |= getattr(os, f)
    return v
def sha_fd(fd):
    h = hashlib.sha256()
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return h.hexdigest()
        h.update(b)
def run():
    if op == "open":
        os.close(os.open(a[0], flags(a[1]), 0o644))
    elif op == "read":
        fd = os.open(a[0], os.O_RDONLY)
        try:
            return sha_fd(fd)
        finally:
            os.close(fd)
    elif op == "mmap":
        fd = os.open(a[0], os.O_RDONLY)
        try:
            m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
            h = hashlib.sha256(m).hexdigest()
            m.close()
            return h
        finally:
            os.close(fd)
    elif op == "stat": os.stat(a[0])
    elif op == "listdir": os.listdir(a[0])
    elif op == "mkdir": os.mkdir(a[0], 0o755)
    elif op == "rmdir": os.rmdir(a[0])
    elif op == "unlink": os.unlink(a[0])
    elif op == "rename": os.rename(a[0], a[1])
    elif op == "link": os.link(a[0], a[1])
    elif op == "symlink": os.symlink(a[0], a[1])
    elif op == "mknod": os.mknod(a[0], 0o644 | stat.S_IFREG)
    elif op == "truncate": os.truncate(a[0], int(a[1]))
    elif op == "chmod": os.chmod(a[0], int(a[1], 8))
    elif op == "chown": os.chown(a[0], int(a[1]), int(a[2]))
    elif op == "utime": os.utime(a[0], (0, 0))
    elif op == "setxattr": os.setxattr(a[0], a[1], b"x")
    elif op == "removexattr": os.removexattr(a[0], a[1])
    else: raise SystemExit("sysop: unknown op " + op)
try:
    r = run()
    print(r if r else "OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
'

sysop() { # OP ARGS...
	timeout -k 2 $((30 * SLOW)) "$PY" -c "$SYSOP_PY" "$@" 2>&1 || { [ $? = 124 ] && echo TIMEOUT; }
}

# nobody_copy PATH [NAME] — copies PATH (a file or a directory) to
# $T/ro/NAME (default: its base name), readable by everyone (and
# runnable, where it was), and prints the copy's path.  What a test runs
# or reads as user nobody comes from such a copy: a checkout in a 0700
# home (root's /root, where a fresh machine's root clones) is out of
# nobody's reach, and so are the build's programs in it.
nobody_copy() {
	local dst=$T/ro/${2:-$(basename "$1")}
	mkdir -p "$(dirname "$dst")" && chmod 0755 "$T/ro" &&
		cp -R --preserve=mode "$1" "$dst" && chmod -R a+rX "$dst" ||
		bail "cannot copy $1 to $dst for user nobody"
	echo "$dst"
}

# npm_ci DIR — installs DIR's locked packages (npm ci) into
# DIR/node_modules, unless an earlier run finished that (its marker
# DIR/node_modules/.modelfs-complete).  Both e2e lanes may ask at once:
# one installs, the other waits for it.  A failed install leaves no
# node_modules behind, so nobody later takes a partial one for done.
# npm's output is in $T/logs/npm.out; returns npm's failure.
npm_ci() {
	local done_mark=$1/node_modules/.modelfs-complete
	[ -e "$done_mark" ] && return 0
	(
		flock 9
		[ -e "$done_mark" ] && exit 0
		rm -rf "$1/node_modules"
		if timeout 300 npm ci --prefix "$1" --no-audit --no-fund >"$T/logs/npm.out" 2>&1; then
			touch "$done_mark"
		else
			rm -rf "$1/node_modules"
			exit 1
		fi
	) 9>"$1/.install.lock"
}

# The same, as user nobody.
sysop_nobody() {
	timeout -k 2 $((30 * SLOW)) setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PY" -c "$SYSOP_PY" "$@" 2>&1 || { [ $? = 124 ] && echo TIMEOUT; }
}

# assert_errno NAME WANT OP ARGS... — WANT is an errno name, OK, or
# alternatives like "EACCES|EROFS".
assert_errno() {
	local name=$1 want=$2 got
	shift 2
	got=$(sysop "$@")
	if printf '%s\n' "$got" | grep -Eqx -- "$want"; then ok "$name"
	else not_ok "$name" "$* gave $got, want $want"; fi
}

assert_errno_nobody() {
	local name=$1 want=$2 got
	shift 2
	got=$(sysop_nobody "$@")
	if printf '%s\n' "$got" | grep -Eqx -- "$want"; then ok "$name"
	else not_ok "$name" "(as nobody) $* gave $got, want $want"; fi
}

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- TLS

# make_ca NAME — $T/NAME.pem (certificate) and $T/NAME.key.
make_ca() {
	local n=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$n.key" -out "$T/$n.pem" -days 2 -subj "/CN=modelfs test CA $n" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$T/logs/openssl.$n" 2>&1 ||
		bail "make_ca $n: $(cat "$T/logs/openssl.$n")"
}

# make_cert CA NAME — $T/NAME.pem signed by CA for 127.0.0.1 and localhost.
make_cert() {
	local ca=$1 n=$2
	cat >"$T/$n.ext" <<-EOF
		basicConstraints=CA:FALSE
		keyUsage=critical,digitalSignature,keyEncipherment
		extendedKeyUsage=serverAuth
		subjectAltName=IP:127.0.0.1,DNS:localhost
	EOF
	{
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$T/$n.key" -out "$T/$n.csr" -subj "/CN=127.0.0.1" &&
		openssl x509 -req -in "$T/$n.csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" \
			-CAcreateserial -days 2 -extfile "$T/$n.ext" -out "$T/$n.pem"
	} >"$T/logs/openssl.$n" 2>&1 || bail "make_cert $n: $(cat "$T/logs/openssl.$n")"
}

# ---------------------------------------------------------------- origin

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# origin_conf TEXT — adds nginx directives (location blocks) to the HTTPS
# server; call before start_origin.  nginx variables work, and
# $mfs_http_port is the plain-HTTP server's port:
#   origin_conf 'location /slow/ { limit_rate 200; }'
#   origin_conf 'location = /old.bin { return 302 /zoo/new.bin; }'
#   origin_conf 'location = /x { return 302 http://127.0.0.1:$mfs_http_port/x; }'
origin_conf() { printf '%s\n' "$1" >>"$T/nginx/extra.conf"; }

# start_origin — nginx serving $WWW over HTTPS at $ORIGIN (https://127.0.0.1:PORT)
# with the certificate "server", and plain HTTP at $ORIGIN_HTTP.  Keeps
# its ports across a stop_origin/start_origin.  Access logs: one line
# "METHOD URI STATUS BYTES" per request, unbuffered.
start_origin() {
	touch "$T/nginx/extra.conf"
	local try
	for try in 1 2 3 4 5; do
		ORIGIN_PORT=${ORIGIN_PORT:-$(free_port)}
		ORIGIN_HTTP_PORT=${ORIGIN_HTTP_PORT:-$(free_port)}
		cat >"$T/nginx/nginx.conf" <<-EOF
			user root;
			daemon off;
			master_process on;
			worker_processes 1;
			pid $T/nginx/nginx.pid;
			error_log $T/nginx/error.log info;
			events { worker_connections 512; }
			http {
			    default_type application/octet-stream;
			    log_format mfs '\$request_method \$request_uri \$status \$body_bytes_sent';
			    access_log $T/nginx/access.log mfs;
			    client_body_temp_path $T/nginx/tmp/body;
			    proxy_temp_path $T/nginx/tmp/proxy;
			    fastcgi_temp_path $T/nginx/tmp/fastcgi;
			    uwsgi_temp_path $T/nginx/tmp/uwsgi;
			    scgi_temp_path $T/nginx/tmp/scgi;
			    sendfile on;
			    server {
			        listen 127.0.0.1:$ORIGIN_PORT ssl;
			        server_name localhost;
			        ssl_certificate $T/server.pem;
			        ssl_certificate_key $T/server.key;
			        root $WWW;
			        set \$mfs_http_port $ORIGIN_HTTP_PORT;
			        location = /__ping { return 204; }
			        include $T/nginx/extra.conf;
			    }
			    server {
			        listen 127.0.0.1:$ORIGIN_HTTP_PORT;
			        root $WWW;
			        access_log $T/nginx/http-access.log mfs;
			        location = /__ping { return 204; }
			    }
			}
		EOF
		nginx -t -q -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" \
			>"$T/logs/nginx-t" 2>&1 || bail "nginx config: $(cat "$T/logs/nginx-t")"
		nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" \
			</dev/null >>"$T/logs/nginx.out" 2>&1 &
		NGINX_PID=$!
		local i
		for i in $(seq 50); do
			if curl -s -o /dev/null --cacert "$T/ca.pem" "https://127.0.0.1:$ORIGIN_PORT/__ping" &&
				curl -s -o /dev/null "http://127.0.0.1:$ORIGIN_HTTP_PORT/__ping"; then
				ORIGIN=https://127.0.0.1:$ORIGIN_PORT
				ORIGIN_HTTP=http://127.0.0.1:$ORIGIN_HTTP_PORT
				return 0
			fi
			proc_gone "$NGINX_PID" && break
			sleep 0.1
		done
		stop_origin
		# Probably lost a race for the port: pick new ones.
		unset ORIGIN_PORT ORIGIN_HTTP_PORT
	done
	bail "nginx did not start: $(tail -5 "$T/nginx/error.log" 2>/dev/null)"
}

stop_origin() {
	[ -n "$NGINX_PID" ] || return 0
	kill -TERM "$NGINX_PID" 2>/dev/null
	local i
	wait_gone "$NGINX_PID" 5 || kill -KILL "$NGINX_PID" 2>/dev/null
	wait "$NGINX_PID" 2>/dev/null
	NGINX_PID=
}

# setup_origin — CA "ca", server certificate, nginx started.
setup_origin() {
	make_ca ca
	make_cert ca server
	start_origin
}

# origin_hits URI — GET requests for URI in the HTTPS access log (nginx
# logs a request when it ends; give it a moment to finish writing).
origin_hits() {
	sleep 0.2
	awk -v u="$1" '$1 == "GET" && $2 == u { n++ } END { print n + 0 }' "$T/nginx/access.log" 2>/dev/null || echo 0
}

# origin_http_hits URI — the same for the plain-HTTP server.
origin_http_hits() {
	sleep 0.2
	awk -v u="$1" '$1 == "GET" && $2 == u { n++ } END { print n + 0 }' "$T/nginx/http-access.log" 2>/dev/null || echo 0
}

# origin_total — every request but the harness's own pings.
origin_total() {
	sleep 0.2
	awk '$2 != "/__ping" { n++ } END { print n + 0 }' "$T/nginx/access.log" 2>/dev/null || echo 0
}

# py_origin NAME ROOT [origin.py options...] — tests/e2e/origin.py, an
# origin that misbehaves on purpose (see its --rules), over HTTPS with the
# certificate "server", on a free port: its base URL is left in
# $PY_ORIGIN, its request log is $T/logs/NAME.log.  Stopped by the trap.
py_origin() {
	local name=$1 root=$2 port try i pid
	shift 2
	for try in 1 2 3 4 5; do
		port=$(free_port)
		rm -f "$T/logs/$name.ready"
		"$PY" "$E2E_DIR/origin.py" --port "$port" --root "$root" --log "$T/logs/$name.log" \
			--cert "$T/server.pem" --key "$T/server.key" --ready "$T/logs/$name.ready" "$@" \
			</dev/null >>"$T/logs/$name.out" 2>&1 &
		pid=$!
		BG_PIDS+=("$pid")
		for i in $(seq 50); do
			if [ -s "$T/logs/$name.ready" ]; then
				PY_ORIGIN=https://127.0.0.1:$port
				return 0
			fi
			proc_gone "$pid" && break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
	done
	bail "origin.py $name did not start: $(tail -3 "$T/logs/$name.out")"
}

# py_log NAME URI — the GET lines for URI in NAME's request log:
# "GET URI STATUS BYTES RANGE IF_RANGE CACHE_CONTROL EPOCH_MS AUTH START_MS"
# (EPOCH_MS: when it ended).
py_log() { awk -v u="$2" '$1 == "GET" && $2 == u' "$T/logs/$1.log" 2>/dev/null; }
# py_hits NAME URI — how many.
py_hits() { py_log "$1" "$2" | wc -l; }

# add_model NAME SIZE — SIZE random bytes at $WWW/NAME; prints the sha256.
add_model() {
	mkdir -p "$(dirname "$WWW/$1")"
	head -c "$2" /dev/urandom >"$WWW/$1" || bail "add_model $1"
	sha256_of "$WWW/$1"
}

sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- config

# cfg_begin [FILE] [KEY=VALUE...] — starts a config with a [modelfs]
# section (store $STORE, fast timeouts); KEY=VALUE lines are added or
# override the defaults.  Later cfg_* calls append to the same FILE.
cfg_begin() {
	CFG_FILE=$CFG
	if [ $# -gt 0 ] && [[ $1 != *=* ]]; then CFG_FILE=$1; shift; fi
	local -A kv=([store]=$STORE [connect_timeout]=3 [low_speed_limit]=1024 [low_speed_time]=5)
	local order=(store connect_timeout low_speed_limit low_speed_time) arg k
	for arg in "$@"; do
		k=${arg%%=*}
		[ -n "${kv[$k]+x}" ] || order+=("$k")
		kv[$k]=${arg#*=}
	done
	{
		echo "[modelfs]"
		for k in "${order[@]}"; do echo "$k = ${kv[$k]}"; done
	} >"$CFG_FILE"
}

# cfg_source NAME [KEY=VALUE...] — url defaults to $ORIGIN/, ca_file to $T/ca.pem.
cfg_source() {
	local name=$1
	shift
	local -A kv=([url]=${ORIGIN:-https://127.0.0.1:1}/ [ca_file]=$T/ca.pem)
	local order=(url ca_file) arg k
	for arg in "$@"; do
		k=${arg%%=*}
		[ -n "${kv[$k]+x}" ] || order+=("$k")
		kv[$k]=${arg#*=}
	done
	{
		echo
		echo "[source $name]"
		for k in "${order[@]}"; do echo "$k = ${kv[$k]}"; done
	} >>"$CFG_FILE"
}

# cfg_model NAME SOURCE PATH URL SIZE SHA256 [KEY=VALUE...]
cfg_model() {
	local name=$1 src=$2 path=$3 url=$4 size=$5 sha=$6
	shift 6
	{
		echo
		echo "[model $name]"
		echo "source = $src"
		echo "path = $path"
		echo "url = $url"
		echo "size = $size"
		[ -z "$sha" ] || echo "sha256 = $sha"
		local arg
		for arg in "$@"; do echo "${arg%%=*} = ${arg#*=}"; done
	} >>"$CFG_FILE"
}

# cfg_get FILE KEY — first value of KEY (for store / audit_log).
cfg_get() {
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\\([^;]*[^;[:space:]]\\).*/\\1/p" "$1" | head -1
}

# ---------------------------------------------------------------- mounts

is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; }

mount_line() { awk -v m="$1" '$2 == m' /proc/mounts; }

# Pid written in <store>/daemon.lock, if any.
daemon_pid() {
	local pid
	pid=$(tr -dc '0-9' <"$1/daemon.lock" 2>/dev/null)
	[ -n "$pid" ] && echo "$pid"
}

MOUNT_SEQ=0
# mount_fs CONFIG MNT [MODELFS OPTIONS...] — runs modelfs (daemon mode
# unless -f is given), waits for the mount.  Returns modelfs's status (or 1
# if it exited 0 but no mount appeared); its stderr is in $MOUNT_ERR.
# Daemon mode sets MOUNT_IMMEDIATE=1 if the mount was there as soon as
# modelfs returned; -f sets FG_PID.
mount_fs() {
	local cfg=$1 mnt=$2 rc i store pid
	shift 2
	mkdir -p "$mnt"
	MOUNT_SEQ=$((MOUNT_SEQ + 1))
	MOUNT_ERR=$T/logs/modelfs.$MOUNT_SEQ.err
	store=$(cfg_get "$cfg" store)
	local fg=0 a
	for a in "$@"; do [ "$a" = -f ] || [ "$a" = -d ] && fg=1; done
	if [ $fg = 1 ]; then
		# A background job of a script starts with SIGINT ignored;
		# modelfs must still stop on it (t_12 sends SIGINT).
		"$MFS_BIN/modelfs" "$@" "$cfg" "$mnt" </dev/null \
			>"$T/logs/modelfs.$MOUNT_SEQ.out" 2>"$MOUNT_ERR" &
		pid=$!
		DAEMONS+=("$pid")
		FG_PID=$pid
		for i in $(seq $((100 * SLOW))); do
			is_mounted "$mnt" && break
			proc_gone "$pid" && break
			sleep 0.1
		done
		if ! is_mounted "$mnt"; then
			wait "$pid" 2>/dev/null
			rc=$?
			[ $rc != 0 ] || rc=1
			return $rc
		fi
	else
		timeout -k 5 $((30 * SLOW)) "$MFS_BIN/modelfs" "$@" "$cfg" "$mnt" </dev/null \
			>"$T/logs/modelfs.$MOUNT_SEQ.out" 2>"$MOUNT_ERR"
		rc=$?
		[ $rc = 0 ] || return $rc
		# modelfs must return only once the mount is ready.
		if is_mounted "$mnt"; then MOUNT_IMMEDIATE=1; else MOUNT_IMMEDIATE=0; fi
		for i in $(seq $((50 * SLOW))); do
			is_mounted "$mnt" && break
			sleep 0.1
		done
		is_mounted "$mnt" || return 1
		pid=$(daemon_pid "$store") && DAEMONS+=("$pid")
	fi
	MOUNTS+=("$mnt")
	return 0
}

# mount_or_bail CONFIG MNT [OPTIONS...]
mount_or_bail() {
	mount_fs "$@" || bail "modelfs $* failed ($?): $(cat "$MOUNT_ERR" 2>/dev/null)"
}

# proc_gone PID — true once PID has exited (a zombie not yet reaped counts).
proc_gone() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

# wait_gone PID SECONDS — 0 once PID has exited.
wait_gone() {
	local i
	for i in $(seq $(($2 * 10))); do
		proc_gone "$1" && return 0
		sleep 0.1
	done
	proc_gone "$1"
}

# unmount_fs MNT — fusermount3 -u (retried while busy), then waits for
# the daemon to exit.  Returns non-zero if a lazy unmount or kill was needed.
unmount_fs() {
	local mnt=$1 rc=0 i pid store
	store=$(cfg_get "$CFG" store)
	pid=$(daemon_pid "$store")
	for i in $(seq 20); do
		is_mounted "$mnt" || break
		fusermount3 -u "$mnt" 2>/dev/null && break
		sleep 0.2
	done
	if is_mounted "$mnt"; then
		diag "fusermount3 -u $mnt kept failing; umount -l"
		umount -l "$mnt" 2>/dev/null
		rc=1
	fi
	local m rest=()
	for m in "${MOUNTS[@]}"; do [ "$m" = "$mnt" ] || rest+=("$m"); done
	MOUNTS=("${rest[@]}")
	if [ -n "$pid" ] && is_our_daemon "$pid"; then
		if ! wait_gone "$pid" $((10 * SLOW)); then
			diag "daemon $pid still running after unmount; SIGTERM"
			kill -TERM "$pid" 2>/dev/null
			wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null
			rc=1
		fi
	fi
	return $rc
}

is_our_daemon() {
	local p
	for p in "${DAEMONS[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

# assert_killed_promptly NAME PID — SIGKILLs PID (a reader blocked in the
# mount) and checks that it is gone within 2 s (FUSE_INTERRUPT honoured).
assert_killed_promptly() {
	local name=$1 pid=$2 t0 ms
	if proc_gone "$pid"; then
		not_ok "$name" "the reader exited before it was killed"
		return
	fi
	kill -KILL "$pid"
	t0=$(now_ms)
	while ! proc_gone "$pid" && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.05; done
	ms=$(($(now_ms) - t0))
	if proc_gone "$pid"; then
		assert_le "$name (${ms} ms)" "$ms" $((2000 * SLOW))
	else
		not_ok "$name" "still in state $(awk '{ print $3 }' "/proc/$pid/stat") after 10 s"
	fi
}

# bg CMD... — runs CMD in the background, remembered for cleanup; sets BG.
bg() {
	"$@" &
	BG=$!
	BG_PIDS+=("$BG")
}

# ---------------------------------------------------------------- store and audit

# count_files DIR — regular files directly in DIR (0 if DIR is missing).
count_files() { find "$1" -mindepth 1 -maxdepth 1 -type f 2>/dev/null | wc -l; }

list_dir() { ls -la "$1" 2>&1; }

AUDIT_PY='
import json, sys
file, op, a = sys.argv[1], sys.argv[2], sys.argv[3:]
evs = []
try:
    for line in open(file, encoding="utf-8"):
        try:
            evs.append(json.loads(line))
        except ValueError:
            pass
except FileNotFoundError:
    pass
def norm(p):
    return (p or "").lstrip("/")
def sel(event, path):
    return [e for e in evs if e.get("event") == event and (path == "*" or norm(e.get("path")) == norm(path))]
if op == "count":
    print(len(sel(a[0], a[1])))
elif op == "field":
    s = sel(a[0], a[1])
    v = s[-1].get(a[2]) if s else None
    print("" if v is None else v)
elif op == "events":
    print(" ".join(e.get("event", "?") for e in evs if a[0] == "*" or norm(e.get("path")) == norm(a[0])))
'

# audit_count EVENT PATH ("*" for any path)
audit_count() { "$PY" -c "$AUDIT_PY" "${AUDIT_FILE:-$AUDIT}" count "$1" "$2"; }
# audit_field EVENT PATH FIELD — FIELD of the last such event ("" if none)
audit_field() { "$PY" -c "$AUDIT_PY" "${AUDIT_FILE:-$AUDIT}" field "$1" "$2" "$3"; }
# audit_events PATH — the events for PATH, in order, space-separated
audit_events() { "$PY" -c "$AUDIT_PY" "${AUDIT_FILE:-$AUDIT}" events "$1"; }

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? p m i
	trap - EXIT INT TERM HUP
	# Forget the jobs, so that bash prints no "Killed" notices for them.
	disown -a 2>/dev/null
	for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for m in "${MOUNTS[@]}"; do
		for i in 1 2 3 4 5; do
			is_mounted "$m" || break
			fusermount3 -u "$m" 2>/dev/null && break
			sleep 0.2
		done
		is_mounted "$m" && umount -l "$m" 2>/dev/null
	done
	# Any other mount left under $T (a mount_fs that was never recorded).
	awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts | while read -r m; do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for p in "${DAEMONS[@]}"; do
		wait_gone "$p" $((5 * SLOW)) && continue
		kill -TERM "$p" 2>/dev/null
		wait_gone "$p" 3 || kill -KILL "$p" 2>/dev/null
	done
	stop_origin

	local f
	for f in "$T"/asan.* "$T"/ubsan.*; do
		[ -e "$f" ] || continue
		not_ok "sanitizer report" "$(basename "$f")"$'\n'"$(head -c 20000 "$f")"
	done

	if [ $PASSED = 0 ] && [ $FAILED = 0 ]; then
		not_ok "$TEST_NAME" "no checks ran (exit status $rc)"
	fi
	if [ $rc != 0 ] && [ $FAILED = 0 ]; then
		not_ok "$TEST_NAME" "script exited $rc"
	fi
	echo "# $TEST_NAME: $PASSED passed, $FAILED failed (MFS_BIN=$MFS_BIN)"
	if [ $FAILED != 0 ]; then
		for f in "$T"/logs/modelfs.*.err; do
			[ -s "$f" ] || continue
			echo "# --- $f"
			tail -20 "$f" | sed 's/^/#   /'
		done
	fi
	if [ $FAILED != 0 ] || [ "${MFS_KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	elif awk -v t="$T/" 'index($2, t) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		echo "# a mount is still under $T; not removing it"
	else
		rm -rf --one-file-system "$T"
	fi
	[ $FAILED = 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
