#!/usr/bin/env bash
# Proxies and fleets (issue 10 §3), with a real caching Squid in front of
# a plain-HTTP mirror: three daemons with separate stores cost one GET
# per model at the origin; a cache poisoned with a bad copy is got past
# with one Cache-Control: no-cache retry (and the cache is healed for the
# next host); `proxy = none` ignores the environment, which applies
# without the key; modelfsctl fetch and pin go through the same proxy; a
# dead proxy fails the open, and bad proxy keys are config errors.
. "$(dirname "$0")/lib.sh"

command -v squid >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
command -v squid >/dev/null 2>&1 || bail "squid is not installed (scripts/deps test)"

setup_origin

# ---------------------------------------------------------------- squid
SQ=$T/squid
SQUID_PID=
start_squid() {
	local try i
	mkdir -p "$SQ"
	# Squid drops root for user proxy: its logs must be writable by it.
	chown proxy: "$SQ" 2>/dev/null || chmod 0777 "$SQ"
	for try in 1 2 3; do
		SQUID_PORT=$(free_port)
		cat >"$SQ/squid.conf" <<-EOF
			http_port 127.0.0.1:$SQUID_PORT
			pid_filename $SQ/squid.pid
			cache_log $SQ/cache.log
			logformat mfs %rm %ru %Ss %>Hs %{Cache-Control}>h
			access_log stdio:$SQ/access.log mfs
			cache_mem 64 MB
			maximum_object_size_in_memory 16 MB
			maximum_object_size 16 MB
			# Fresh for a day whatever Last-Modified says; a client's
			# no-cache still reloads (no ignore-reload).
			refresh_pattern . 1440 100% 10080 override-lastmod
			http_access allow localhost
			http_access deny all
			coredump_dir $SQ
			shutdown_lifetime 0 seconds
			pinger_enable off
			netdb_filename none
			cache_effective_user proxy
		EOF
		squid -N -f "$SQ/squid.conf" </dev/null >>"$T/logs/squid.out" 2>&1 &
		SQUID_PID=$!
		BG_PIDS+=("$SQUID_PID")
		for i in $(seq 100); do
			if curl -s -o /dev/null -x "http://127.0.0.1:$SQUID_PORT" "$ORIGIN_HTTP/__ping"; then
				PROXY=http://127.0.0.1:$SQUID_PORT
				return 0
			fi
			proc_gone "$SQUID_PID" && break
			sleep 0.1
		done
		kill "$SQUID_PID" 2>/dev/null
	done
	bail "squid did not start: $(tail -5 "$SQ/cache.log" "$T/logs/squid.out" 2>/dev/null)"
}
# squid_gets URL — the proxy's GETs of URL: "STATUS_CODE/CACHE_RESULT" each
squid_log() { sleep 0.2; awk -v u="$1" '$1 == "GET" && $2 == u { print $3 }' "$SQ/access.log" 2>/dev/null; }
squid_gets() { squid_log "$1" | wc -l; }
start_squid
# a port nothing listens on, for a dead proxy
DEADP=http://127.0.0.1:$(free_port)

for m in a b c p q r s n; do
	eval "s_$m=\$(add_model $m.bin 300000)"
done

# The poisoned cache: the proxy holds a bad copy of p, the origin is fixed.
head -c 300000 /dev/urandom >"$T/bad-p.bin"
cp "$WWW/p.bin" "$T/good-p.bin"
cp "$T/bad-p.bin" "$WWW/p.bin"
curl -s -o /dev/null -x "$PROXY" "$ORIGIN_HTTP/p.bin" || bail "could not poison the cache"
cp "$T/good-p.bin" "$WWW/p.bin"
assert_eq "the proxy serves the bad copy of p from its cache" \
	"$(curl -s -x "$PROXY" "$ORIGIN_HTTP/p.bin" | sha256sum | cut -d' ' -f1)" \
	"$(sha256_of "$T/bad-p.bin")"
assert_eq "... without asking the origin again" "$(origin_http_hits /p.bin)" 1

# host_cfg N [SOURCE KEY=VALUE...] — $T/hN.ini, store $T/hN, models a b c p q r.
host_cfg() {
	local n=$1 m
	shift
	cfg_begin "$T/h$n.ini" "store=$T/h$n"
	cfg_source mirror "url=$ORIGIN_HTTP/" allow_http=yes "$@"
	for m in a b c p q r; do
		eval "cfg_model $m mirror $m.bin $m.bin 300000 \$s_$m"
	done
}
for n in 1 2 3; do
	host_cfg $n "proxy=$PROXY"
	mount_fs "$T/h$n.ini" "$T/m$n" || bail "mount h$n failed: $(cat "$MOUNT_ERR")"
done

# -- p first, on host 1: the cached bad copy, then one no-cache retry
assert_eq "poisoned cache: host 1 reads p" "$(sysop read "$T/m1/p.bin")" "$s_p"
assert_eq "poisoned cache: the bad copy was refused, then one more GET of the same URL" \
	"$(AUDIT_FILE=$T/h1/audit.jsonl audit_events p.bin)" \
	"fetch_start fetch_ok verify_failed fetch_start fetch_ok verify_ok"
assert_eq "poisoned cache: both from the same URL" \
	"$(AUDIT_FILE=$T/h1/audit.jsonl audit_field verify_failed p.bin url) $(AUDIT_FILE=$T/h1/audit.jsonl audit_field verify_ok p.bin url)" \
	"$ORIGIN_HTTP/p.bin $ORIGIN_HTTP/p.bin"
assert_eq "poisoned cache: the retry said no-cache" \
	"$(awk -v u="$ORIGIN_HTTP/p.bin" '$2 == u { print $5 }' "$SQ/access.log" | tail -1)" "no-cache"
assert_eq "poisoned cache: the bad copy is in host 1's quarantine/" \
	"$(cat "$T"/h1/quarantine/* | sha256sum | cut -d' ' -f1)" "$(sha256_of "$T/bad-p.bin")"
assert_eq "poisoned cache: the origin saw one more GET (2 in all)" "$(origin_http_hits /p.bin)" 2
assert_eq "healed cache: host 2 reads p" "$(sysop read "$T/m2/p.bin")" "$s_p"
assert_eq "healed cache: host 2 refused nothing" \
	"$(AUDIT_FILE=$T/h2/audit.jsonl audit_count verify_failed p.bin)" 0
assert_eq "healed cache: no GET at the origin for host 2" "$(origin_http_hits /p.bin)" 2

# -- a fleet: every model on all three hosts, one GET each at the origin
for n in 1 2 3; do
	for m in a b c; do
		eval "want=\$s_$m"
		assert_eq "host $n reads $m through the proxy" "$(sysop read "$T/m$n/$m.bin")" "$want"
	done
done
for m in a b c; do
	assert_eq "$m: one GET at the origin for three hosts" "$(origin_http_hits /$m.bin)" 1
	assert_eq "$m: three GETs at the proxy, two of them cache hits" \
		"$(squid_gets "$ORIGIN_HTTP/$m.bin") $(squid_log "$ORIGIN_HTTP/$m.bin" | grep -c HIT)" "3 2"
done
for n in 1 2 3; do
	assert_eq "host $n stored a, b and c" \
		"$(ls "$T/h$n/objects" | grep -cE "$s_a|$s_b|$s_c")" 3
done

# -- modelfsctl fetch goes through the same proxy
out=$(timeout $((60 * SLOW)) "$MFS_BIN/modelfsctl" fetch "$T/h3.ini" r.bin 2>&1)
assert_eq "modelfsctl fetch through the proxy: exit 0" "$?" 0
assert_eq "modelfsctl fetch: the GET went through the proxy" "$(squid_gets "$ORIGIN_HTTP/r.bin")" 1
[ -f "$T/h3/objects/sha256-$s_r" ] && ok "modelfsctl fetch: stored" ||
	not_ok "modelfsctl fetch: stored" "$out"

# -- without the key, the environment's proxy applies; proxy = none ignores it
host_cfg 4
http_proxy=$PROXY mount_fs "$T/h4.ini" "$T/m4" || bail "mount h4 failed: $(cat "$MOUNT_ERR")"
assert_eq "http_proxy in the environment: read ok" "$(sysop read "$T/m4/q.bin")" "$s_q"
assert_eq "http_proxy in the environment: the GET went through the proxy" \
	"$(squid_gets "$ORIGIN_HTTP/q.bin")" 1
host_cfg 5 proxy=none
http_proxy=$DEADP https_proxy=$DEADP all_proxy=$DEADP mount_fs "$T/h5.ini" "$T/m5" ||
	bail "mount h5 failed: $(cat "$MOUNT_ERR")"
assert_eq "proxy = none with a dead proxy in the environment: read ok" \
	"$(sysop read "$T/m5/q.bin")" "$s_q"
assert_eq "proxy = none: straight to the origin" \
	"$(squid_gets "$ORIGIN_HTTP/q.bin") $(origin_http_hits /q.bin)" "1 2"

# -- a dead proxy: the open fails (after its retries), nothing stored
host_cfg 6 "proxy=$DEADP" retries=1
mount_fs "$T/h6.ini" "$T/m6" || bail "mount h6 failed: $(cat "$MOUNT_ERR")"
assert_errno "dead proxy: EIO" EIO read "$T/m6/a.bin"
assert_eq "dead proxy: tried twice (retries = 1)" \
	"$(AUDIT_FILE=$T/h6/audit.jsonl audit_count fetch_retry a.bin)" 1
assert_match "dead proxy: the reason names the proxy" \
	"$(AUDIT_FILE=$T/h6/audit.jsonl audit_field fetch_failed a.bin error)" '[Pp]roxy|connect'

# -- pin: --proxy, the environment, --proxy none
out=$("$MFS_BIN/modelfsctl" pin "$ORIGIN_HTTP/s.bin" --path s --allow-http --proxy "$PROXY" 2>&1)
assert_eq "pin --proxy: exit 0" "$?" 0
assert_match "pin --proxy: the digest" "$out" "sha256 = $s_s"
assert_eq "pin --proxy: through the proxy" "$(squid_gets "$ORIGIN_HTTP/s.bin")" 1
out=$(http_proxy=$PROXY "$MFS_BIN/modelfsctl" pin "$ORIGIN_HTTP/s.bin" --path s --allow-http 2>&1)
assert_eq "pin with http_proxy: through the proxy" "$(squid_gets "$ORIGIN_HTTP/s.bin")" 2
out=$(http_proxy=$DEADP "$MFS_BIN/modelfsctl" pin "$ORIGIN_HTTP/n.bin" --path n --allow-http \
	--proxy none 2>&1)
assert_match "pin --proxy none ignores the environment" "$out" "sha256 = $s_n"
out=$("$MFS_BIN/modelfsctl" pin "$ORIGIN_HTTP/s.bin" --path s --allow-http --proxy ftp://x 2>&1)
assert_eq "pin --proxy ftp://x: exit 2" "$?" 2
assert_match "pin --proxy ftp://x: says why" "$out" "bad --proxy 'ftp://x'"

# -- bad proxy keys
bad_key() { # NAME VALUE ERE
	cfg_begin "$T/bad.ini"
	cfg_source zoo "proxy=$2"
	local out rc
	out=$("$MFS_BIN/modelfsctl" check "$T/bad.ini" 2>&1)
	rc=$?
	assert_eq "$1: exit 2" "$rc" 2
	assert_match "$1: FILE:LINE: why" "$out" "$T/bad.ini:[0-9]+: .*$3"
}
bad_key "proxy = ftp://host" ftp://host:21 "bad proxy 'ftp://host:21'"
bad_key "proxy with credentials" http://u:pw@127.0.0.1:3128 "credentials in proxy"
bad_key "proxy without a host" http:// "bad proxy"
bad_key "proxy = yes" yes "bad proxy 'yes'"
