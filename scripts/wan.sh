# scripts/wan.sh — a WAN-like link between two network namespaces, for
# benchmarks.  Source it from bash (it is not a program); run as root.
#
# Why: over a real network one TCP stream moves at most one receive window
# per round trip (a 1 MiB window and 50 ms: about 20 MB/s), however fast
# the link; several streams move several windows.  Loopback has no round
# trip to speak of, so a benchmark on it cannot show that limit, nor what
# parallel connections buy.  The usual tool, netem, is not in every kernel
# we run on, so this builds the link from parts that are:
#
#   server netns  WAN_SRV_IP (10.77.0.1) --TUN--+
#                                               delayline (root netns,
#   client netns  WAN_CLI_IP (10.77.0.2) --TUN--+ RTT/2 each way)
#
# scripts/delayline.c (built here with cc) creates the two TUN devices and
# forwards every packet after a fixed delay; each device is moved into its
# namespace.  In the client namespace TCP's buffers are pinned (min =
# default = max = RMEM, so auto-tuning cannot grow them): a window per
# connection, as a client host tuned for a WAN would have.  The devices'
# MTU is 65000 (WAN_MTU to change it) so that the delay line moves few,
# large packets and is not the bottleneck, and so that the window is close
# to RMEM: the kernel advertises the buffer times payload / memory used,
# and at MTU 1500 the same 1 MiB gives about 12 MB/s at 50 ms instead of
# 17.  WAN_QUEUE_MIB (default 32) is the delay line's buffer per
# direction, beyond which it drops packets.
#
#   . scripts/wan.sh
#   trap wan_down EXIT
#   wan_up /var/tmp/somedir 50 1048576   # DIR [RTT_MS [RMEM_BYTES]]
#   wan_srv nginx -c ...                 # runs in the server namespace
#   wan_cli curl https://$WAN_SRV_IP/... # runs in the client namespace
#   wan_down                             # idempotent
#
# wan_up exports WAN_SRV_NS, WAN_CLI_NS (namespace names), WAN_SRV_IP,
# WAN_CLI_IP and WAN_DELAY_PID (the delay line's pid).  It returns non-zero
# (having undone what it did) if something fails, with the reason on stderr.
#
# wan_srv and wan_cli enter the NETWORK namespace only (nsenter --net), not
# a mount namespace as `ip netns exec` would: a FUSE file system mounted by
# a daemon started with wan_cli is visible to everyone in the root mount
# namespace.  (`ip netns exec` also bind-mounts /etc/netns/NAME files; not
# needed here: addresses are used, not names.)  `wan_srv CMD &` leaves $!
# the pid of a subshell, not of CMD; to stop a background server by its
# pid, start it as `nsenter --net=/run/netns/$WAN_SRV_NS -- CMD &` (nsenter
# execs CMD) or use its pid file.

WAN_MTU=${WAN_MTU:-65000}
WAN_QUEUE_MIB=${WAN_QUEUE_MIB:-32}
_WAN_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/delayline.c

_wan_err() { echo "wan: $*" >&2; }

# _wan_no_ipv6 NS DEV — the link carries IPv4 only: otherwise the first
# device up sends router and multicast listener chatter at a peer still
# down (lost, counted by delayline), and keeps sending some later on.
_wan_no_ipv6() {
	[ -d /proc/sys/net/ipv6 ] || return 0
	nsenter --net="/run/netns/$1" -- sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
}

# wan_up DIR [RTT_MS] [RMEM_BYTES] — DIR gets the delayline binary and its log.
wan_up() {
	local dir=${1:?usage: wan_up DIR [RTT_MS] [RMEM_BYTES]} rtt=${2:-50} rmem=${3:-1048576}
	local oneway tun_s=mfs-s$$ tun_c=mfs-c$$ i

	[[ $rtt =~ ^[0-9]+([.][0-9]+)?$ ]] || { _wan_err "bad RTT_MS '$rtt'"; return 1; }
	[[ $rmem =~ ^[0-9]+$ ]] && [ "$rmem" -ge 4096 ] || { _wan_err "bad RMEM_BYTES '$rmem'"; return 1; }
	[ -z "${WAN_DELAY_PID:-}" ] || { _wan_err "already up (delay line pid $WAN_DELAY_PID)"; return 1; }
	mkdir -p "$dir" || return 1
	cc -std=c11 -O2 -Wall -Wextra -Werror -o "$dir/delayline" "$_WAN_SRC" -lpthread ||
		{ _wan_err "cannot build $_WAN_SRC"; return 1; }

	export WAN_SRV_NS=mfs-wan-srv-$$ WAN_CLI_NS=mfs-wan-cli-$$
	export WAN_SRV_IP=10.77.0.1 WAN_CLI_IP=10.77.0.2
	oneway=$(awk -v r="$rtt" 'BEGIN { printf "%g", r / 2 }')

	# Started directly, not in a subshell: $! is delayline itself, a child
	# of the caller's shell, which wan_down can stop and wait for.
	"$dir/delayline" -d "$oneway" -q "$WAN_QUEUE_MIB" "$tun_s" "$tun_c" </dev/null >"$dir/delayline.out" 2>"$dir/delayline.log" &
	export WAN_DELAY_PID=$!
	for i in $(seq 50); do
		grep -qx ready "$dir/delayline.out" 2>/dev/null && break
		_wan_alive "$WAN_DELAY_PID" || break
		sleep 0.1
	done
	if ! grep -qx ready "$dir/delayline.out" 2>/dev/null; then
		_wan_err "delayline did not start: $(cat "$dir/delayline.log")"
		wan_down
		return 1
	fi

	# Every step checked: a half-built link would measure something else.
	if ! {
		ip netns add "$WAN_SRV_NS" &&
		ip netns add "$WAN_CLI_NS" &&
		ip link set "$tun_s" netns "$WAN_SRV_NS" &&
		ip link set "$tun_c" netns "$WAN_CLI_NS" &&
		ip -n "$WAN_SRV_NS" link set lo up &&
		ip -n "$WAN_CLI_NS" link set lo up &&
		_wan_no_ipv6 "$WAN_SRV_NS" "$tun_s" &&
		_wan_no_ipv6 "$WAN_CLI_NS" "$tun_c" &&
		ip -n "$WAN_SRV_NS" link set "$tun_s" mtu "$WAN_MTU" up &&
		ip -n "$WAN_CLI_NS" link set "$tun_c" mtu "$WAN_MTU" up &&
		ip -n "$WAN_SRV_NS" addr add "$WAN_SRV_IP" peer "$WAN_CLI_IP" dev "$tun_s" &&
		ip -n "$WAN_CLI_NS" addr add "$WAN_CLI_IP" peer "$WAN_SRV_IP" dev "$tun_c"
	}; then
		_wan_err "cannot set up the namespaces"
		wan_down
		return 1
	fi

	# tcp_rmem and tcp_wmem are per network namespace (Linux >= 4.15): a
	# new namespace starts with a copy of the root namespace's values, and
	# these writes do not reach the root namespace (nor the server's).
	# wmem only bounds what the client sends (requests); pinned too so
	# that an upload would see the same window.
	if ! {
		wan_cli sysctl -q -w net.ipv4.tcp_rmem="$rmem $rmem $rmem" &&
		wan_cli sysctl -q -w net.ipv4.tcp_wmem="$rmem $rmem $rmem" &&
		[ "$(wan_cli cat /proc/sys/net/ipv4/tcp_rmem)" = "$(printf '%s\t%s\t%s' "$rmem" "$rmem" "$rmem")" ]
	}; then
		_wan_err "cannot pin tcp_rmem/tcp_wmem in $WAN_CLI_NS"
		wan_down
		return 1
	fi

	# The link works, both ways, before anyone measures over it.
	wan_rtt >/dev/null ||
		{ _wan_err "no answer over the link: $(cat "$dir/delayline.log")"; wan_down; return 1; }
}

# wan_rtt — prints the round trip in ms, client to server, as TCP sees it:
# the time from a SYN to the RST of a closed port (9, discard) on the
# server.  No ping needed (iputils-ping is not always installed), and it
# is the handshake every connection pays.  Fails if nothing comes back.
wan_rtt() {
	wan_cli python3 - "$WAN_SRV_IP" <<-'EOF'
		import socket, sys, time
		best = None
		for _ in range(5):
		    s = socket.socket()
		    s.settimeout(5)
		    t0 = time.perf_counter()
		    try:
		        s.connect((sys.argv[1], 9))
		    except ConnectionRefusedError:
		        t = time.perf_counter() - t0
		        best = t if best is None else min(best, t)
		    except OSError:
		        pass
		    s.close()
		if best is None:
		    sys.exit(1)
		print("%.1f" % (best * 1000))
	EOF
}

# wan_srv CMD... / wan_cli CMD... — CMD in the server / client netns.
wan_srv() { nsenter --net="/run/netns/$WAN_SRV_NS" -- "$@"; }
wan_cli() { nsenter --net="/run/netns/$WAN_CLI_NS" -- "$@"; }

# _wan_alive PID — running, not a zombie (kill -0 succeeds on a zombie
# that a caller's shell, having disowned it, has not reaped yet).
_wan_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# wan_down — stops the delay line (closing its fds deletes the TUN devices)
# and deletes the namespaces.  Safe to call twice, or before wan_up.
# Processes still inside a namespace keep it alive (without its name);
# stop them first.
wan_down() {
	local pid=${WAN_DELAY_PID:-}

	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 30); do _wan_alive "$pid" || break; sleep 0.1; done
		_wan_alive "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	WAN_DELAY_PID=
	[ -z "${WAN_SRV_NS:-}" ] || ip netns delete "$WAN_SRV_NS" 2>/dev/null
	[ -z "${WAN_CLI_NS:-}" ] || ip netns delete "$WAN_CLI_NS" 2>/dev/null
	return 0
}
