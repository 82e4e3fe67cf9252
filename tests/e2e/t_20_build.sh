#!/usr/bin/env bash
# The README's build, as on a fresh machine, the first time:
#   1. root, a clean copy of the tree (nothing beside it), the libraries'
#      -dev packages "missing" until scripts/deps installs them: one
#      `make` builds (the flags are read only after deps ran);
#   2. a non-root user with the build packages: `make` builds and never
#      runs apt-get;
#   3. a non-root user without them: `make` stops, names the missing
#      packages and how to install them, and never runs apt-get.
# apt-get, dpkg-query and pkg-config are stand-ins on PATH that play the
# machine before and after the install; the compiler and libraries are
# this machine's.  (Builds at -O0 to stay quick; the daemon is not run, so
# the sanitizer pass runs only the case that compiles nothing.)
. "$(dirname "$0")/lib.sh"

# copy_tree DIR — the tree as a clone of it would have it (tracked and
# new, not ignored, files), alone in DIR.
copy_tree() {
	mkdir -p "$1"
	(cd "$REPO" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf - --) |
		tar -xf - -C "$1" || bail "copying the tree"
}

# fake_tools DIR STATE — apt-get that logs and "installs" (touches STATE),
# dpkg-query and pkg-config that know nothing until STATE exists.
fake_tools() {
	local d=$1 state=$2
	mkdir -p "$d"
	cat >"$d/apt-get" <<-EOF
		#!/bin/sh
		echo "apt-get \$*" >>"$d/apt.log"
		case " \$* " in *" install "*) touch "$state" ;; esac
		exit 0
	EOF
	cat >"$d/dpkg-query" <<-EOF
		#!/bin/sh
		[ -e "$state" ] && exec /usr/bin/dpkg-query "\$@"
		echo "dpkg-query: no packages found" >&2
		exit 1
	EOF
	cat >"$d/pkg-config" <<-EOF
		#!/bin/sh
		[ -e "$state" ] && exec /usr/bin/pkg-config "\$@"
		echo "Package fuse3 was not found in the pkg-config search path." >&2
		exit 1
	EOF
	chmod 0755 "$d" "$d"/*
}

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp)

if [ "$SAN" = 0 ]; then
	# 1. root, fresh: deps installs, then the same make builds.
	copy_tree "$T/src1"
	fake_tools "$T/fake1" "$T/installed1"
	PATH="$T/fake1:$PATH" make -C "$T/src1" CFLAGS=-O0 -j2 build/modelfs build/modelfsctl \
		>"$T/logs/make1" 2>&1
	rc=$?
	[ $rc = 0 ] || diag "$(tail -15 "$T/logs/make1")"
	assert_eq "fresh, as root: one make builds" "$rc" 0
	check "fresh, as root: modelfs and modelfsctl built" \
		test -x "$T/src1/build/modelfs" -a -x "$T/src1/build/modelfsctl"
	assert_match "fresh, as root: scripts/deps installed the build packages" \
		"$(cat "$T/fake1/apt.log" 2>/dev/null)" "install .*libfuse3-dev.*libinih-dev"
	assert_eq "fresh, as root: the daemon runs" \
		"$("$T/src1/build/modelfs" --version 2>&1 | cut -d' ' -f1)" modelfs

	# 2. non-root, with the packages: builds, no apt-get.
	copy_tree "$T/src2"
	chown -R 65534:65534 "$T/src2"
	fake_tools "$T/fake2" "$T/installed2"
	touch "$T/installed2"
	"${NOBODY[@]}" PATH="$T/fake2:$PATH" make -C "$T/src2" CFLAGS=-O0 -j2 build/modelfs \
		build/modelfsctl >"$T/logs/make2" 2>&1
	rc=$?
	[ $rc = 0 ] || diag "$(tail -15 "$T/logs/make2")"
	assert_eq "non-root with the build packages: make builds" "$rc" 0
	check "non-root: modelfs built" test -x "$T/src2/build/modelfs"
	assert_eq "non-root: apt-get never ran" "$(cat "$T/fake2/apt.log" 2>/dev/null)" ""
fi

# 3. non-root, without the packages: a clear refusal, no apt-get.
copy_tree "$T/src3"
chown -R 65534:65534 "$T/src3"
fake_tools "$T/fake3" "$T/installed3"
"${NOBODY[@]}" PATH="$T/fake3:$PATH" make -C "$T/src3" CFLAGS=-O0 build/modelfs \
	>"$T/logs/make3" 2>&1
rc=$?
assert_ne "non-root without the build packages: make fails" "$rc" 0
assert_match "non-root without them: the missing packages are named" \
	"$(cat "$T/logs/make3")" "scripts/deps: missing packages:.*libfuse3-dev"
assert_match "non-root without them: how to install them" \
	"$(cat "$T/logs/make3")" "as root: apt-get install .*libarchive-dev"
assert_eq "non-root without them: apt-get never ran" "$(cat "$T/fake3/apt.log" 2>/dev/null)" ""
check "non-root without them: nothing was compiled" test ! -e "$T/src3/build/fs/modelfs.o"
