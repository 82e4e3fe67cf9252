#!/usr/bin/env bash
# Fitting the host's tools: the mount's source is the config and its type
# fuse.modelfs, so `mount -a` over a mounted /etc/fstab entry is a no-op
# (config paths with a space and a comma included); a reader in its own
# user namespace (bwrap, like a rootless container) gets through only with
# allow_other; a remount reaches a container only through rslave
# propagation (HostToContainer), and a private copy keeps the old daemon
# and the store lock; the daemon run by a non-root user (fusermount3,
# spliced reads, no read-ahead change, allow_other only with
# user_allow_other, fstab setuid=USER); `modelfsctl check` warns when the
# store is not usable by its user.
#
# Runs in a mount namespace of its own (unshare -m, private): what it
# mounts over /usr/local/bin, /dev/fuse and /etc/fuse.conf to play the
# host is seen by this test only.
if [ -z "${MFS_T23_NS:-}" ] && [ "$(id -u)" = 0 ]; then
	exec unshare --mount --propagation private env MFS_T23_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

[ "${MFS_T23_NS:-}" = 1 ] || bail "cannot enter a mount namespace of its own (unshare -m)"

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# The programs as nobody runs them (the build may sit in a 0700 home).
NBIN=$(dirname "$(nobody_copy "$MFS_BIN/modelfs" bin/modelfs)")
nobody_copy "$MFS_BIN/modelfsctl" bin/modelfsctl >/dev/null
setup_origin
s_a=$(add_model zoo/a.bin 200000)

# A config path with a space and a comma: both must survive libfuse's
# option parsing (fsname) and /etc/fstab's escaping.
mkdir -p "$T/conf dir"
CFG="$T/conf dir/models,v1.ini"
cfg_begin
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 200000 "$s_a"
chmod 0644 "$CFG"
REAL_CFG=$(realpath "$CFG")

# ------------------------------------------------------------ /etc/fstab, mount -a

# mount(8) drops PATH before it runs mount.fuse3, whose /bin/sh then finds
# `modelfs` on its default PATH (/usr/local/bin, where `make install`
# puts it): here /usr/local/bin is this build, in this namespace only.
mkdir -p "$T/localbin"
ln -s "$NBIN/modelfs" "$T/localbin/modelfs"   # fstab's setuid=nobody runs it too
mount --bind "$T/localbin" /usr/local/bin || bail "cannot bind $T/localbin on /usr/local/bin"
mount --help 2>&1 | grep -q -- '--fstab' || bail "this mount(8) has no -T/--fstab"

# fstab_line SOURCE — an fstab line for SOURCE at $MNT (\040 for a blank).
fstab_line() {
	printf '%s %s fuse.modelfs allow_other,nofail,_netdev 0 0\n' \
		"$(printf '%s' "$1" | sed 's/\\/\\134/g; s/ /\\040/g; s/\t/\\011/g')" "$MNT"
}
count_mounts() { awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l; }

mkdir -p "$MNT"
fstab_line "$CFG" >"$T/fstab"
diag "fstab: $(cat "$T/fstab")"
out=$(timeout -k 2 $((30 * SLOW)) mount -a -T "$T/fstab" 2>&1)
assert_eq "mount -a mounts the fstab entry (exit 0)" "$?" 0
if is_mounted "$MNT"; then
	MOUNTS+=("$MNT")
	pid=$(daemon_pid "$STORE") && DAEMONS+=("$pid")
	ok "mount -a: mounted"
else
	bail "mount -a mounted nothing: $out"
fi
assert_eq "findmnt: the source is the config's path" "$(findmnt -n -o SOURCE "$MNT")" "$REAL_CFG"
assert_eq "findmnt: the type is fuse.modelfs" "$(findmnt -n -o FSTYPE "$MNT")" fuse.modelfs
assert_eq "mount -a: reads (as nobody, allow_other)" "$(sysop_nobody read "$MNT/zoo/a.bin")" "$s_a"
out=$(timeout -k 2 $((30 * SLOW)) mount -a -T "$T/fstab" 2>&1)
rc=$?
assert_eq "a second mount -a exits 0" "$rc" 0
assert_eq "a second mount -a says nothing" "$out" ""
assert_eq "a second mount -a leaves exactly one mount" "$(count_mounts)" 1
assert_eq "a second mount -a keeps the same daemon" "$(daemon_pid "$STORE")" "$pid"
out=$(timeout -k 2 $((30 * SLOW)) mount -a -v -T "$T/fstab" 2>&1)
assert_match "mount -a -v: already mounted" "$out" 'already mounted'
unmount_fs "$MNT"

# The fstab names the config through a symlink: libmount compares the
# canonical paths, and so does the source modelfs gives.
ln -s "conf dir/models,v1.ini" "$T/link.ini"
fstab_line "$T/link.ini" >"$T/fstab"
timeout -k 2 $((30 * SLOW)) mount -a -T "$T/fstab" >/dev/null 2>&1
assert_eq "through a symlink: mount -a exits 0" "$?" 0
is_mounted "$MNT" && MOUNTS+=("$MNT")
assert_eq "through a symlink: the source is the canonical path" \
	"$(findmnt -n -o SOURCE "$MNT")" "$REAL_CFG"
timeout -k 2 $((30 * SLOW)) mount -a -T "$T/fstab" >/dev/null 2>&1
assert_eq "through a symlink: a second mount -a exits 0" "$?" 0
assert_eq "through a symlink: exactly one mount" "$(count_mounts)" 1
unmount_fs "$MNT"

# A relative config path still gives an absolute source.
out=$(cd "$T/conf dir" && timeout -k 2 $((30 * SLOW)) "$MFS_BIN/modelfs" "models,v1.ini" "$MNT" 2>&1)
assert_eq "relative config path: mounts" "$?" 0
is_mounted "$MNT" && MOUNTS+=("$MNT")
assert_eq "relative config path: the source is absolute" "$(findmnt -n -o SOURCE "$MNT")" "$REAL_CFG"
unmount_fs "$MNT"

# ------------------------------------------------------------ user namespaces (bwrap)

# A reader in a user namespace of its own, like a rootless or
# --userns/--uidmap container: bwrap run by host user nobody, uid 1000
# inside.  FUSE lets through only the mount's owner unless allow_other.
userns_ok=0
if ! command -v bwrap >/dev/null; then
	not_ok "bwrap is installed (scripts/deps test)" "no bwrap"
elif ! $NOBODY bwrap --unshare-user --uid 1000 --gid 1000 --bind / / true 2>"$T/logs/bwrap"; then
	diag "unprivileged user namespaces are off here: $(cat "$T/logs/bwrap")"
	ok "user namespaces # SKIP unprivileged user namespaces are not available"
else
	userns_ok=1
fi
if [ $userns_ok = 1 ]; then
	BW="$NOBODY bwrap --unshare-user --uid 1000 --gid 1000"
	mount_or_bail "$CFG" "$MNT"
	out=$($BW --bind / / cat "$MNT/zoo/a.bin" 2>&1 >/dev/null)
	rc=$?
	assert_ne "no allow_other: a user-namespaced reader fails" "$rc" 0
	assert_match "no allow_other: with EACCES" "$out" 'Permission denied'
	out=$($BW --ro-bind / / --ro-bind "$MNT" /mnt true 2>&1)
	rc=$?
	assert_ne "no allow_other: the container cannot even bind the mount" "$rc" 0
	assert_match "no allow_other: bwrap cannot look at it (EACCES)" "$out" \
		"Can't get type of source $MNT: Permission denied"
	# A user namespace whose uid maps to the mount's owner (root here: a
	# rootful container without a uid map) is that owner to FUSE.
	got=$(bwrap --unshare-user --uid 1000 --gid 1000 --bind / / sha256sum "$MNT/zoo/a.bin" 2>&1 | cut -d' ' -f1)
	assert_eq "no allow_other: a namespace mapped to the owner reads" "$got" "$s_a"
	unmount_fs "$MNT"

	mount_or_bail "$CFG" "$MNT" -o allow_other
	got=$($BW --bind / / sha256sum "$MNT/zoo/a.bin" 2>&1 | cut -d' ' -f1)
	assert_eq "allow_other: a user-namespaced reader reads" "$got" "$s_a"
	got=$($BW --ro-bind / / --ro-bind "$MNT" /mnt sha256sum /mnt/zoo/a.bin 2>&1 | cut -d' ' -f1)
	assert_eq "allow_other: bound into the container (at /mnt), it reads" "$got" "$s_a"
	diag "inside the namespace: $($BW --bind / / stat -c '%A uid=%u gid=%g' "$MNT/zoo/a.bin" 2>&1)"
	unmount_fs "$MNT"
fi

# ------------------------------------------------------------ mount propagation

# Two "containers" (mount namespaces made while the mount is there): one
# whose mounts are slaves of the host's (rslave; Kubernetes'
# mountPropagation: HostToContainer), one private (a plain bind).  The
# host then unmounts and mounts again, as a restart of modelfs does.
P=$T/host
mkdir -p "$P"
mount --bind "$P" "$P" && mount --make-shared "$P" || bail "cannot make $P a shared mount"
PM=$P/models
mount_or_bail "$CFG" "$PM" -o allow_other
old=$(daemon_pid "$STORE")
bg unshare --mount --propagation slave sleep 600
slave=$BG
bg unshare --mount --propagation private sleep 600
private=$BG
for i in $(seq 50); do
	[ "$(readlink /proc/$slave/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] &&
		[ "$(readlink /proc/$private/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && break
	sleep 0.1
done
in_ns() { local pid=$1; shift; nsenter -t "$pid" -m "$@"; }
read_in() { in_ns "$1" sha256sum "$PM/zoo/a.bin" 2>&1 | cut -d' ' -f1; }
assert_eq "rslave container reads" "$(read_in "$slave")" "$s_a"
assert_eq "private container reads" "$(read_in "$private")" "$s_a"
fusermount3 -u "$PM"
assert_eq "host: fusermount3 -u succeeds" "$?" 0
MOUNTS=("${MOUNTS[@]/$PM/}")
sleep 1
if proc_gone "$old"; then not_ok "a private container's copy keeps the old daemon running" "it exited"
else ok "a private container's copy keeps the old daemon running"; fi
assert_eq "... and it still serves that container" "$(read_in "$private")" "$s_a"
assert_eq "the rslave container saw the unmount" "$(in_ns "$slave" awk -v m="$PM" '$5 == m' /proc/self/mountinfo | wc -l)" 0
mount_fs "$CFG" "$PM" -o allow_other
assert_eq "host: no remount while the old daemon holds the store (exit 1)" "$?" 1
assert_match "host: ... it says which daemon" "$(cat "$MOUNT_ERR")" "already used by another modelfs daemon \\(pid $old\\)"
kill "$private"
if wait_gone "$old" $((10 * SLOW)); then ok "the old daemon exits once that container is gone"
else not_ok "the old daemon exits once that container is gone" "pid $old still running"; fi
mount_or_bail "$CFG" "$PM" -o allow_other
assert_eq "after the remount, the rslave container reads the new mount" "$(read_in "$slave")" "$s_a"
assert_eq "... one mount there" "$(in_ns "$slave" awk -v m="$PM" '$5 == m' /proc/self/mountinfo | wc -l)" 1
kill "$slave"
unmount_fs "$PM"
umount "$P"

# ------------------------------------------------------------ the daemon as a non-root user

FM=$(command -v fusermount3)
if [ -n "$FM" ] && [ -u "$FM" ]; then ok "fusermount3 is setuid root"
else not_ok "fusermount3 is setuid root" "$(ls -l "$FM" 2>&1)"; fi

N=$T/nobody
mkdir -p "$N/mnt"
chown -R 65534:65534 "$N"
NCFG=$N/models.ini
cfg_begin "$NCFG" store="$N/store"
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 200000 "$s_a"
chmod 0644 "$NCFG"
printf '[modelfs]\n\n[source zoo]\nurl = https://127.0.0.1:1/\n' >"$T/default-store.ini"
chmod 0644 "$T/default-store.ini"
if [ "$SAN" = 1 ]; then
	# Reports of processes run as nobody go where nobody can write.
	NSAN="env ASAN_OPTIONS=log_path=$N/asan:detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=log_path=$N/ubsan:print_stacktrace=1:halt_on_error=1"
else
	NSAN=env
fi

# run_nobody NAME ARGS... — modelfs as nobody (daemon mode, which returns
# once mounted); status in RC, stderr in OUT.
run_nobody() {
	shift
	OUT=$($NOBODY $NSAN timeout -k 2 $((30 * SLOW)) "$NBIN/modelfs" "$@" 2>&1 </dev/null)
	RC=$?
}
# own_fuse_conf TEXT — /etc/fuse.conf as fusermount3 reads it, in this
# namespace (bound once, then rewritten in place: a mount stacked on it
# would pin the file).
own_fuse_conf() {
	printf '%s\n' "$1" >"$T/fuse.conf"
	if [ "$(stat -c %i /etc/fuse.conf 2>/dev/null)" != "$(stat -c %i "$T/fuse.conf")" ]; then
		mount --bind "$T/fuse.conf" /etc/fuse.conf || bail "cannot bind a fuse.conf"
	fi
}
own_fuse_conf "# nothing allowed"

# The default store is root's.
run_nobody default "$T/default-store.ini" "$N/mnt"
assert_eq "nobody, default store: modelfs exits 1" "$RC" 1
assert_match "nobody, default store: cannot open it" "$OUT" "cannot open store '/var/lib/modelfs': Permission denied"

# /dev/fuse: udev makes it 0666 on a Debian host; without udev (this
# sandbox) it may be 0600, and then no user can mount.
fuse_mode=$(stat -c %a /dev/fuse)
diag "/dev/fuse here: $(ls -l /dev/fuse)"
if [ $((0$fuse_mode & 06)) != 6 ]; then
	run_nobody no-dev "$NCFG" "$N/mnt"
	assert_eq "/dev/fuse $fuse_mode: nobody cannot mount (exit 1)" "$RC" 1
	assert_match "/dev/fuse $fuse_mode: libfuse says why" "$OUT" 'failed to open /dev/fuse: Permission denied'
	mkdir -p "$T/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$T/dev" || bail "cannot mount a tmpfs for /dev/fuse"
	mknod -m 0666 "$T/dev/fuse" c "$((0x$(stat -c %t /dev/fuse)))" "$((0x$(stat -c %T /dev/fuse)))" ||
		bail "mknod /dev/fuse"
	mount --bind "$T/dev/fuse" /dev/fuse || bail "cannot bind a 0666 /dev/fuse"
fi

# Mounted by nobody: through fusermount3, owned by nobody, only nobody
# reads (no allow_other).
$NOBODY $NSAN "$NBIN/modelfs" -f "$NCFG" "$N/mnt" </dev/null >/dev/null 2>"$T/logs/nobody.err" &
npid=$!
DAEMONS+=("$npid")
for i in $(seq $((100 * SLOW))); do is_mounted "$N/mnt" && break; proc_gone "$npid" && break; sleep 0.1; done
if is_mounted "$N/mnt"; then
	MOUNTS+=("$N/mnt")
	ok "nobody mounts (fusermount3)"
	line=$(mount_line "$N/mnt")
	assert_match "nobody's mount is owned by uid 65534" "$line" 'user_id=65534'
	assert_eq "nobody's mount: the source is the config" "$(findmnt -n -o SOURCE "$N/mnt")" "$NCFG"
	assert_eq "nobody's mount: type fuse.modelfs" "$(findmnt -n -o FSTYPE "$N/mnt")" fuse.modelfs
	assert_eq "nobody reads a verified model" "$(sysop_nobody read "$N/mnt/zoo/a.bin")" "$s_a"
	assert_errno "root cannot read nobody's mount without allow_other" EACCES read "$N/mnt/zoo/a.bin"
	AUDIT_FILE=$N/store/audit.jsonl assert_eq "nobody's daemon audits verify_ok" \
		"$(AUDIT_FILE=$N/store/audit.jsonl audit_count verify_ok zoo/a.bin)" 1
	assert_eq "nobody's store is nobody's, 0700" "$(stat -c '%u %a' "$N/store")" "65534 700"
	$NOBODY fusermount3 -u "$N/mnt"
	assert_eq "nobody unmounts with fusermount3 -u" "$?" 0
	if wait_gone "$npid" $((10 * SLOW)); then
		wait "$npid"
		assert_eq "nobody's daemon exits 0 after the unmount" "$?" 0
	else
		not_ok "nobody's daemon exits 0 after the unmount" "still running"
	fi
	MOUNTS=("${MOUNTS[@]/$N\/mnt/}")
	log=$(cat "$T/logs/nobody.err")
	diag "$log"
	assert_match "nobody: the read-ahead stays (needs root)" "$log" \
		"cannot raise read-ahead of '$N/mnt' to [0-9]+ KiB: Permission denied"
	assert_match "nobody: no passthrough (needs CAP_SYS_ADMIN): reads are spliced" "$log" \
		'passthrough.*reads are spliced'
	if printf '%s' "$log" | grep -q 'passthrough refused by the kernel'; then
		assert_match "nobody: the kernel refused passthrough with EPERM" "$log" \
			'passthrough refused by the kernel \(Operation not permitted\)'
	fi
else
	not_ok "nobody mounts (fusermount3)" "$(cat "$T/logs/nobody.err")"
fi

# allow_other as a user needs user_allow_other in /etc/fuse.conf.
run_nobody allow_other -o allow_other "$NCFG" "$N/mnt"
assert_eq "nobody, allow_other without user_allow_other: exit 1" "$RC" 1
assert_match "nobody, allow_other without user_allow_other: fusermount3 says why" "$OUT" \
	"allow_other only allowed if 'user_allow_other' is set"
if is_mounted "$N/mnt"; then MOUNTS+=("$N/mnt"); not_ok "... and nothing is mounted" "$(mount_line "$N/mnt")"
else ok "... and nothing is mounted"; fi
own_fuse_conf user_allow_other
run_nobody allow_other -o allow_other "$NCFG" "$N/mnt"
assert_eq "nobody, allow_other with user_allow_other: mounts" "$RC" 0
if is_mounted "$N/mnt"; then
	MOUNTS+=("$N/mnt")
	npid=$(daemon_pid "$N/store") && DAEMONS+=("$npid")
	assert_eq "... root reads it" "$(sysop read "$N/mnt/zoo/a.bin")" "$s_a"
	got=$(setpriv --reuid=1000 --regid=1000 --clear-groups sha256sum "$N/mnt/zoo/a.bin" 2>&1 | cut -d' ' -f1)
	assert_eq "... uid 1000 reads it" "$got" "$s_a"
	$NOBODY fusermount3 -u "$N/mnt"
	assert_eq "... nobody unmounts it" "$?" 0
	[ -n "$npid" ] && wait_gone "$npid" $((10 * SLOW))
	MOUNTS=("${MOUNTS[@]/$N\/mnt/}")
fi

# /etc/fstab for a daemon run by a user: mount.fuse3's setuid=USER.
printf '%s %s fuse.modelfs setuid=nobody,allow_other,nofail,_netdev 0 0\n' "$NCFG" "$N/mnt" >"$T/fstab.user"
out=$($NSAN timeout -k 2 $((30 * SLOW)) mount -a -T "$T/fstab.user" 2>&1)
assert_eq "fstab setuid=nobody: mount -a exits 0" "$?" 0
if is_mounted "$N/mnt"; then
	MOUNTS+=("$N/mnt")
	npid=$(daemon_pid "$N/store") && DAEMONS+=("$npid")
	assert_eq "fstab setuid=nobody: the daemon runs as uid 65534" \
		"$(awk '$1 == "Uid:" { print $2 }' "/proc/$npid/status" 2>&1)" 65534
	assert_match "fstab setuid=nobody: the mount is nobody's" "$(mount_line "$N/mnt")" 'user_id=65534'
	assert_eq "fstab setuid=nobody: root reads (allow_other)" "$(sysop read "$N/mnt/zoo/a.bin")" "$s_a"
	timeout -k 2 $((30 * SLOW)) mount -a -T "$T/fstab.user" >/dev/null 2>&1
	assert_eq "fstab setuid=nobody: a second mount -a exits 0" "$?" 0
	assert_eq "fstab setuid=nobody: one mount" "$(awk -v m="$N/mnt" '$5 == m' /proc/self/mountinfo | wc -l)" 1
	umount "$N/mnt"
	assert_eq "fstab setuid=nobody: root unmounts it" "$?" 0
	[ -n "$npid" ] && wait_gone "$npid" $((10 * SLOW))
	MOUNTS=("${MOUNTS[@]/$N\/mnt/}")
else
	not_ok "fstab setuid=nobody: mounted" "$out"
fi

# ------------------------------------------------------------ modelfsctl check: is the store usable?

check_as() { # WHO CONFIG — sets OUT and RC
	local who=$1
	shift
	if [ "$who" = root ]; then
		OUT=$(timeout $((10 * SLOW)) "$MFS_BIN/modelfsctl" check "$@" 2>&1)
	else
		OUT=$($NOBODY $NSAN timeout $((10 * SLOW)) "$NBIN/modelfsctl" check "$@" 2>&1)
	fi
	RC=$?
}
no_store_warning() { # NAME
	if printf '%s\n' "$OUT" | grep -q '^warning: store'; then not_ok "$1" "$OUT"; else ok "$1"; fi
}

check_as root "$CFG"
assert_eq "check as root, usable store: exit 0" "$RC" 0
no_store_warning "check as root, usable store: no warning"

check_as nobody "$T/default-store.ini"
assert_eq "check as nobody, default store: exit 0 (the config is valid)" "$RC" 0
assert_match "check as nobody, default store: the config is ok" "$OUT" ': ok: 0 models'
assert_match "check as nobody, default store: warns" "$OUT" \
	"^warning: store '/var/lib/modelfs' is not usable by uid 65534: "
if [ ! -e /var/lib/modelfs ]; then
	assert_match "check as nobody, default store: cannot create it" "$OUT" \
		"not usable by uid 65534: cannot create it in '/var/lib': Permission denied"
fi

check_as nobody "$NCFG"
assert_eq "check as nobody, a store of nobody's: exit 0" "$RC" 0
no_store_warning "check as nobody, a store of nobody's: no warning"

check_as nobody "$CFG"
assert_eq "check as nobody, root's store: exit 0" "$RC" 0
assert_match "check as nobody, root's store: belongs to uid 0" "$OUT" \
	"^warning: store '$STORE' is not usable by uid 65534: '$STORE' belongs to uid 0"

mkdir -p "$T/other-store"
chown 65534:65534 "$T/other-store"
cfg_begin "$T/other.ini" store="$T/other-store"
check_as root "$T/other.ini"
assert_eq "check as root, a store of nobody's: exit 0" "$RC" 0
assert_match "check as root, a store of nobody's: belongs to uid 65534" "$OUT" \
	"^warning: store '$T/other-store' is not usable by uid 0: '$T/other-store' belongs to uid 65534"
mkdir -p "$T/mnt-other"
err=$(timeout $((20 * SLOW)) "$MFS_BIN/modelfs" "$T/other.ini" "$T/mnt-other" 2>&1 </dev/null)
assert_eq "... and the daemon refuses that store indeed (exit 1)" "$?" 1
is_mounted "$T/mnt-other" && MOUNTS+=("$T/mnt-other")

: >"$T/afile"
cfg_begin "$T/file.ini" store="$T/afile/store"
check_as root "$T/file.ini"
assert_eq "check as root, store under a file: exit 0" "$RC" 0
assert_match "check as root, store under a file: not a directory" "$OUT" \
	"^warning: store '$T/afile/store' is not usable by uid 0: cannot create it: '$T/afile' is not a directory"

cfg_begin "$T/audit.ini" store="$N/store" audit_log=/proc/modelfs-no/audit.jsonl
check_as nobody "$T/audit.ini"
assert_eq "check as nobody, audit log where it cannot be written: exit 0" "$RC" 0
assert_match "check as nobody, audit log where it cannot be written: warns" "$OUT" \
	"^warning: audit log '/proc/modelfs-no/audit.jsonl' is not writable by uid 65534: "

# Sanitizer reports of the processes run as nobody, for lib.sh to find.
for f in "$N"/asan.* "$N"/ubsan.*; do
	[ -e "$f" ] || continue
	b=$(basename "$f")
	cp "$f" "$T/${b%%.*}.nobody.${b#*.}"
done
true
