#!/usr/bin/env bash
# Bounds on what comes from outside: the body size, and redirects (HTTPS
# only, at most 5, only to allowed hosts).
. "$(dirname "$0")/lib.sh"

# /hopN/x redirects to /hop(N-1)/x; /hop0/ holds real files.
for i in 1 2 3 4 5 6; do
	origin_conf "location ~ ^/hop$i/(.*)\$ { return 302 /hop$((i - 1))/\$1; }"
done
origin_conf 'location ~ ^/moved/(.*)$ { return 302 /zoo/$1; }'
origin_conf 'location ~ ^/tohttp/(.*)$ { return 302 http://127.0.0.1:$mfs_http_port/zoo/$1; }'
origin_conf 'location ~ ^/tolocalhost/(.*)$ { return 302 https://localhost:$server_port/zoo/$1; }'
# the same host on another port (another service there)
origin_conf 'location ~ ^/toport/(.*)$ { return 302 https://localhost:$mfs_http_port/zoo/$1; }'
setup_origin

# Larger than declared: the digest given is that of the first SIZE bytes,
# so only the size bound can catch it.
head -c 20000 /dev/urandom >"$T/big"
mkdir -p "$WWW/zoo" "$WWW/hop0"
cp "$T/big" "$WWW/zoo/big.bin"
s_big=$(head -c 15000 "$T/big" | sha256sum | cut -d' ' -f1)
# Shorter than declared: the digest is that of the full declared bytes.
head -c 20000 /dev/urandom >"$T/short"
head -c 15000 "$T/short" >"$WWW/zoo/short.bin"
s_short=$(sha256_of "$T/short")

s_moved=$(add_model zoo/moved.bin 4000)
s_http=$(add_model zoo/http.bin 4001)
s_hop5=$(add_model hop0/five.bin 4002)
s_hop6=$(add_model hop0/six.bin 4003)
s_lh=$(add_model zoo/lh.bin 4004)
s_lh2=$(add_model zoo/lh2.bin 4005)
s_port=$(add_model zoo/port.bin 4006)
s_noport=$(add_model zoo/noport.bin 4007)

cfg_begin
cfg_source zoo
# entries compare host and port: "localhost" alone means its https port, 443
cfg_source zoolh "redirect_hosts=localhost:$ORIGIN_PORT"
cfg_source zoolh443 redirect_hosts=localhost
cfg_model big zoo zoo/big.bin zoo/big.bin 15000 "$s_big"
cfg_model short zoo zoo/short.bin zoo/short.bin 20000 "$s_short"
cfg_model moved zoo r/moved.bin moved/moved.bin 4000 "$s_moved"
cfg_model http zoo r/http.bin tohttp/http.bin 4001 "$s_http"
cfg_model hop5 zoo r/five.bin hop5/five.bin 4002 "$s_hop5"
cfg_model hop6 zoo r/six.bin hop6/six.bin 4003 "$s_hop6"
cfg_model lh zoo r/lh.bin tolocalhost/lh.bin 4004 "$s_lh"
cfg_model lh2 zoolh r/lh2.bin tolocalhost/lh2.bin 4005 "$s_lh2"
cfg_model port zoolh r/port.bin toport/port.bin 4006 "$s_port"
cfg_model noport zoolh443 r/noport.bin tolocalhost/noport.bin 4007 "$s_noport"
mount_or_bail "$CFG" "$MNT"

nothing_stored() { # NAME SHA
	if [ -e "$STORE/objects/sha256-$2" ]; then not_ok "$1: nothing stored" "objects/sha256-$2 exists"
	else ok "$1: nothing stored"; fi
}

assert_errno "body larger than size: EIO" EIO read "$MNT/zoo/big.bin"
assert_eq "body larger than size: fetch_failed" "$(audit_count fetch_failed zoo/big.bin)" 1
assert_match "body larger than size: error says larger" \
	"$(audit_field fetch_failed zoo/big.bin error)" '[Ll]arger'
nothing_stored "body larger than size" "$s_big"

assert_errno "body shorter than size: EIO" EIO read "$MNT/zoo/short.bin"
assert_eq "body shorter than size: fetch_failed" "$(audit_count fetch_failed zoo/short.bin)" 1
nothing_stored "body shorter than size" "$s_short"

assert_eq "redirect to the same host over https: read ok" "$(sysop read "$MNT/r/moved.bin")" "$s_moved"
assert_eq "redirect followed once" "$(origin_hits /moved/moved.bin) $(origin_hits /zoo/moved.bin)" "1 1"

assert_errno "redirect to http:// refused: EIO" EIO read "$MNT/r/http.bin"
assert_eq "redirect to http:// not followed" "$(origin_http_hits /zoo/http.bin)" 0
assert_eq "redirect to http://: fetch_failed" "$(audit_count fetch_failed r/http.bin)" 1
nothing_stored "redirect to http://" "$s_http"

assert_eq "5 redirects: read ok" "$(sysop read "$MNT/r/five.bin")" "$s_hop5"
assert_eq "5 redirects: reached the file once" "$(origin_hits /hop0/five.bin)" 1

assert_errno "6 redirects: EIO" EIO read "$MNT/r/six.bin"
assert_eq "6 redirects: the file was never requested" "$(origin_hits /hop0/six.bin)" 0
assert_match "6 redirects: error mentions redirects" \
	"$(audit_field fetch_failed r/six.bin error)" '[Rr]edirect'
nothing_stored "6 redirects" "$s_hop6"

assert_errno "redirect to a host not allowed: EIO" EIO read "$MNT/r/lh.bin"
assert_eq "redirect to a host not allowed: not followed" "$(origin_hits /zoo/lh.bin)" 0
nothing_stored "redirect to a host not allowed" "$s_lh"
assert_eq "redirect to a host in redirect_hosts: read ok" "$(sysop read "$MNT/r/lh2.bin")" "$s_lh2"
assert_eq "redirect to a host in redirect_hosts: followed" "$(origin_hits /zoo/lh2.bin)" 1
assert_errno "redirect to an allowed host on another port: EIO" EIO read "$MNT/r/port.bin"
assert_match "redirect to an allowed host on another port: error says so" \
	"$(audit_field fetch_failed r/port.bin error)" 'port not allowed'
nothing_stored "redirect to an allowed host on another port" "$s_port"
assert_errno "redirect_hosts without a port means 443: EIO" EIO read "$MNT/r/noport.bin"
assert_eq "redirect_hosts without a port means 443: not followed" "$(origin_hits /zoo/noport.bin)" 0
nothing_stored "redirect_hosts without a port means 443" "$s_noport"
