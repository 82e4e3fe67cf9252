#!/usr/bin/env bash
# Lock files between users (issue #9 §7).  Every user of an allow_other
# mount can create *.lock files, so (1) each uid has a share of the lock
# file table (MFS_LOCKFILES_PER_UID = 512): one user creating lock files
# until refused gets EDQUOT and leaves everybody else's GluonCV loads
# working, and only 8 users at their caps fill the table (ENOSPC); and
# (2) lock files keep working between users under fs.protected_regular =
# 0, 1 and 2 (stock Debian sets 2): directories are 0777 rather than
# sticky 01777, so the kernel's sticky-directory O_CREAT check never
# refuses user B's open(lock, 'a') of user A's lock file, and modelfs
# itself keeps a user from unlinking another's lock file or any model.
#
# Changes fs.protected_regular (global to the host) for a few seconds per
# value and always puts the old value back, in the EXIT trap too.
. "$(dirname "$0")/lib.sh"

LOADERS=$(nobody_copy "$E2E_DIR/loaders.py")   # run as other users
PER_UID=512
TABLE=4096
UA=65534 # nobody
UB=65533 # no passwd entry needed: setpriv takes a bare uid

OLD_PR=$(cat /proc/sys/fs/protected_regular) || bail "cannot read fs.protected_regular"
# Through /proc/sys itself: procps (sysctl) is not on a minimal Debian.
restore_pr() {
	[ "$(cat /proc/sys/fs/protected_regular)" = "$OLD_PR" ] ||
		echo "$OLD_PR" >/proc/sys/fs/protected_regular
}
trap 'rc=$?; restore_pr; (exit $rc); cleanup' EXIT
set_pr() {
	echo "$1" 2>"$T/logs/sysctl" >/proc/sys/fs/protected_regular ||
		bail "cannot set fs.protected_regular to $1: $(cat "$T/logs/sysctl")"
}

# as_user UID SECONDS CMD... — CMD as that user (root: as is), bounded.
as_user() {
	local u=$1 secs=$2
	shift 2
	if [ "$u" = 0 ]; then
		timeout -k 2 "$secs" "$@"
	else
		timeout -k 2 "$secs" setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
	fi
}
op_as() { # UID OP ARGS... — lib.sh's syscall, as UID
	local u=$1
	shift
	as_user "$u" $((30 * SLOW)) "$PY" -c "$SYSOP_PY" "$@" 2>&1 || { [ $? = 124 ] && echo TIMEOUT; }
}
assert_errno_as() { # NAME UID WANT OP ARGS...
	local name=$1 u=$2 want=$3 got
	shift 3
	got=$(op_as "$u" "$@")
	if printf '%s\n' "$got" | grep -Eqx -- "$want"; then ok "$name"
	else not_ok "$name" "(as $u) $* gave $got, want $want"; fi
}
loader_as() { # UID NAME SHA1 [loaders.py options]
	local u=$1
	shift
	as_user "$u" $((60 * SLOW)) "$PY" "$LOADERS" gluoncv "$@" 2>>"$T/logs/loaders.err"
}

# Lock-library steps other than GluonCV's (which loaders.py replays,
# portalocker included):
#   filelock PATH — filelock 3.x UnixFileLock: O_RDWR|O_TRUNC, O_CREAT
#     only if the file is missing, fchmod (PermissionError ignored), flock.
#   soft PATH — filelock's SoftFileLock: O_EXCL create, unlink to release.
#   fill DIR PREFIX N — creates PREFIX0.lock ... as open(.., 'a') does,
#     prints "MADE ERRNO=COUNT...".
#   linger PATH NEW — holds PATH open, unlinks it, creates NEW (prints its
#     errno), closes PATH, retries NEW for up to 5 s (prints OK or errno).
LOCKOP_PY='
import errno, fcntl, os, sys, time
op, a = sys.argv[1], sys.argv[2:]
def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))
def create(p):
    os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
try:
    if op == "filelock":
        fl = os.O_RDWR | os.O_TRUNC
        if not os.path.exists(a[0]):
            fl |= os.O_CREAT
        fd = os.open(a[0], fl, 0o644)
        try:
            os.fchmod(fd, 0o644)
        except PermissionError:
            pass
        fcntl.flock(fd, fcntl.LOCK_EX)
        nlink = os.fstat(fd).st_nlink
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        print("OK" if nlink == 1 else "nlink %d" % nlink)
    elif op == "soft":
        fd = os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC, 0o644)
        os.close(fd)
        os.unlink(a[0])
        print("OK")
    elif op == "fill":
        made, errs = 0, {}
        for i in range(int(a[2])):
            try:
                create(os.path.join(a[0], "%s%d.lock" % (a[1], i)))
                made += 1
            except OSError as e:
                errs[name(e)] = errs.get(name(e), 0) + 1
        print(made, " ".join("%s=%d" % kv for kv in sorted(errs.items())))
    elif op == "linger":
        fd = os.open(a[0], os.O_RDWR)
        os.unlink(a[0])
        try:
            create(a[1])
            first = "OK"
        except OSError as e:
            first = name(e)
        os.close(fd)
        end = time.time() + 5
        while True:
            try:
                create(a[1])
                print(first, "OK")
                break
            except OSError as e:
                if time.time() > end:
                    print(first, name(e))
                    break
                time.sleep(0.05)
except OSError as e:
    print(name(e))
'
lockop_as() { # UID OP ARGS...
	local u=$1
	shift
	as_user "$u" $((120 * SLOW)) "$PY" -c "$LOCKOP_PY" "$@" 2>&1 || { [ $? = 124 ] && echo TIMEOUT; }
}

setup_origin

# gluon_model NAME — random bytes as gluon/NAME-<hash8>.params at the
# origin; prints "SIZE SHA1".
gluon_model() {
	"$PY" - "$1" "$WWW/gluon" <<-'EOF' || bail "gluon_model $1"
		import hashlib, os, random, sys
		data = os.urandom(random.randint(100000, 300000))
		sha1 = hashlib.sha1(data).hexdigest()
		os.makedirs(sys.argv[2], exist_ok=True)
		with open(os.path.join(sys.argv[2], '%s-%s.params' % (sys.argv[1], sha1[:8])), 'wb') as f:
		    f.write(data)
		print(len(data), sha1)
	EOF
}

NAMES=(resnet18_v1 mobilenet1.0 squeezenet1.0)
declare -A SIZE SHA1
cfg_begin
cfg_source gluon allow_sha1=yes
for n in "${NAMES[@]}"; do
	read -r SIZE[$n] SHA1[$n] < <(gluon_model "$n")
	f=$n-${SHA1[$n]:0:8}.params
	cfg_model "$n" gluon "$f" "gluon/$f" "${SIZE[$n]}" "" "sha1=${SHA1[$n]}"
done
s_sub=$(add_model zoo/sub/a.bin 5000)
cfg_model sub gluon zoo/sub/a.bin zoo/sub/a.bin 5000 "$s_sub"

export MXNET_HOME=$T/mxnet
ROOT=$MXNET_HOME/models
mkdir -p "$ROOT"
chmod 0755 "$MXNET_HOME"
mount_or_bail "$CFG" "$ROOT" -o allow_other
export GLUON_MODEL_LOCK_TIMEOUT=$((20 * SLOW))

params() { echo "$ROOT/$1-${SHA1[$1]:0:8}.params"; }
lockf() { echo "$ROOT/$1-${SHA1[$1]:0:8}.lock"; }
want_ok() { echo "ok $(params "$1") ${SHA1[$1]} lock_retries=0"; }

# A real sticky world-writable directory on the host, as the control that
# the kernel really applies the value we set.
STICKY=$T/sticky
mkdir -m 1777 "$STICKY"
as_user $UA 10 touch "$STICKY/a.lock" || bail "touch as $UA in $STICKY"
chmod 0666 "$STICKY/a.lock"
# Where the lock holder (a user) says it holds the lock.
FLAGS=$T/flags
mkdir -m 0777 "$FLAGS"

assert_eq "directories are 0777, not sticky" \
	"$(stat -c %a "$ROOT" "$ROOT/zoo" "$ROOT/zoo/sub" | tr '\n' ' ')" "777 777 777 "
assert_eq "models stay 0444" "$(stat -c %a "$(params resnet18_v1)")" 444

# ---------------------------------------------------------------- protected_regular 0, 1, 2

USERS=($UA $UB 0)
for pr in 0 1 2; do
	set_pr "$pr"
	assert_eq "pr=$pr: fs.protected_regular is $pr" "$(cat /proc/sys/fs/protected_regular)" "$pr"
	# On the host the kernel refuses another user's O_CREAT open in a
	# sticky world-writable directory under 1 and 2, even root's.
	if [ "$pr" = 0 ]; then want=OK; else want=EACCES; fi
	assert_errno_as "pr=$pr: control: $UB's O_CREAT open of $UA's file in a sticky /tmp-like directory" \
		$UB "$want" open "$STICKY/a.lock" "O_WRONLY|O_CREAT|O_APPEND"
	assert_errno_as "pr=$pr: control: root's, too" 0 "$want" open "$STICKY/a.lock" "O_WRONLY|O_CREAT|O_APPEND"

	# Each user creates one model's lock file (GluonCV's get_model_file),
	# and the other two load that model through it.
	for i in 0 1 2; do
		c=${USERS[$i]} n=${NAMES[$i]} L=$(lockf "${NAMES[$i]}")
		assert_eq "pr=$pr: $c: GluonCV creates $n's lock file and loads" \
			"$(loader_as "$c" "$n" "${SHA1[$n]}")" "$(want_ok "$n")"
		assert_eq "pr=$pr: the lock file is $c's, 0666, empty" "$(stat -c '%u %a %s' "$L")" "$c 666 0"
		for u in "${USERS[@]}"; do
			[ "$u" = "$c" ] && continue
			assert_eq "pr=$pr: $u: GluonCV open(lock, 'a') + flock of $c's lock file, loads" \
				"$(loader_as "$u" "$n" "${SHA1[$n]}")" "$(want_ok "$n")"
			assert_eq "pr=$pr: $u: filelock on $c's lock file" "$(lockop_as "$u" filelock "$L")" OK
			assert_errno_as "pr=$pr: $u cannot unlink $c's lock file" "$u" \
				"$([ "$u" = 0 ] && echo OK || echo EPERM)" unlink "$L"
			if [ "$u" = 0 ]; then
				# root may, like in a sticky directory; put it back as c's
				assert_errno_as "pr=$pr: $c re-creates it" "$c" OK open "$L" "O_WRONLY|O_CREAT|O_EXCL"
			fi
		done
		assert_eq "pr=$pr: still $c's" "$(stat -c %u "$L" 2>&1)" "$c"
	done

	# Several users at once, on one lock file: A holds it for a second, B
	# and root wait on LOCK_NB retries, all load.
	n=${NAMES[0]}
	rm -f "$FLAGS/held"
	op_as $UA unlink "$(lockf "$n")" >/dev/null
	bg loader_as $UA "$n" "${SHA1[$n]}" --hold 1 --locked "$FLAGS/held" >"$T/a.out"
	pa=$BG
	for _ in $(seq $((100 * SLOW))); do [ -e "$FLAGS/held" ] && break; sleep 0.05; done
	bg loader_as $UB "$n" "${SHA1[$n]}" >"$T/b.out"
	pb=$BG
	bg loader_as 0 "$n" "${SHA1[$n]}" >"$T/r.out"
	prt=$BG
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	wait "$prt"; rr=$?
	assert_eq "pr=$pr: at once: $UA holds the lock and loads" "$ra $(cat "$T/a.out")" "0 $(want_ok "$n")"
	assert_match "pr=$pr: at once: $UB waits on LOCK_NB and loads" "$rb $(cat "$T/b.out")" \
		"^0 ok $(params "$n") ${SHA1[$n]} lock_retries=[1-9][0-9]*\$"
	assert_match "pr=$pr: at once: root waits on LOCK_NB and loads" "$rr $(cat "$T/r.out")" \
		"^0 ok $(params "$n") ${SHA1[$n]} lock_retries=[1-9][0-9]*\$"
	# All three race to create a lock file none of them has made yet.
	n=${NAMES[1]}
	op_as $UB unlink "$(lockf "$n")" >/dev/null
	for u in "${USERS[@]}"; do bg loader_as "$u" "$n" "${SHA1[$n]}" >"$T/race.$u"; done
	wait "${BG_PIDS[@]: -3}"
	assert_eq "pr=$pr: three users racing to create one lock file all load" \
		"$(cat "$T/race.$UA" "$T/race.$UB" "$T/race.0" | sed 's/ lock_retries=.*//' | sort | uniq -c |
			awk '{ $1 = $1; print }')" "3 ok $(params "$n") ${SHA1[$n]}"

	assert_eq "pr=$pr: $UB: SoftFileLock (O_EXCL create, unlink) twice" \
		"$(lockop_as $UB soft "$ROOT/zoo/soft.lock") $(lockop_as $UB soft "$ROOT/zoo/soft.lock")" "OK OK"
	assert_errno_as "pr=$pr: $UA: SoftFileLock where $UB released it" $UA OK \
		open "$ROOT/zoo/soft.lock" "O_WRONLY|O_CREAT|O_EXCL"
	assert_errno_as "pr=$pr: $UA unlinks its own lock file" $UA OK unlink "$ROOT/zoo/soft.lock"

	# Models stay out of every user's reach.
	P=$(params "${NAMES[2]}")
	assert_errno_as "pr=$pr: $UA: unlink a model is EROFS" $UA EROFS unlink "$P"
	assert_errno_as "pr=$pr: $UA: unlink a model in a subdirectory is EROFS" $UA EROFS unlink "$ROOT/zoo/sub/a.bin"
	assert_errno_as "pr=$pr: $UA: rename a model is EROFS" $UA EROFS rename "$P" "$ROOT/x.params"
	assert_errno_as "pr=$pr: $UA: rename a lock file onto a model is EROFS" $UA EROFS \
		rename "$(lockf "${NAMES[0]}")" "$P"
	assert_errno_as "pr=$pr: $UA: rename another's lock file is EROFS" $UA EROFS \
		rename "$(lockf "${NAMES[1]}")" "$ROOT/y.lock"
	assert_errno_as "pr=$pr: $UA: open a model O_WRONLY|O_CREAT is EACCES" $UA EACCES \
		open "$P" "O_WRONLY|O_CREAT"
	assert_errno_as "pr=$pr: $UA: create a non-lock file is EROFS" $UA EROFS open "$ROOT/n.zip" "O_WRONLY|O_CREAT"
	assert_errno_as "pr=$pr: $UA: mkdir is EROFS" $UA EROFS mkdir "$ROOT/d"
	assert_errno_as "pr=$pr: $UA: rmdir is EROFS" $UA EROFS rmdir "$ROOT/zoo/sub"
	assert_eq "pr=$pr: the model is unchanged" "$(sha1sum <"$P" | cut -d' ' -f1) $(stat -c '%a %s' "$P")" \
		"${SHA1[${NAMES[2]}]} 444 ${SIZE[${NAMES[2]}]}"

	# Each creator removes its own, so that the next round creates anew.
	for i in 0 1 2; do
		c=${USERS[$i]}
		[ "$i" = 1 ] && c=$(stat -c %u "$(lockf "${NAMES[1]}")") # whoever won the race
		assert_errno_as "pr=$pr: $c unlinks its lock file" "$c" OK unlink "$(lockf "${NAMES[$i]}")"
	done
	assert_eq "pr=$pr: no lock file left" "$(ls "$ROOT" "$ROOT/zoo" | grep -c '\.lock$')" 0
	restore_pr
done
assert_eq "fs.protected_regular is back to $OLD_PR" "$(cat /proc/sys/fs/protected_regular)" "$OLD_PR"

# ---------------------------------------------------------------- one user exhausts its share

# (At the host's value of fs.protected_regular.)
assert_eq "$UA creates lock files until refused: $PER_UID, then EDQUOT" \
	"$(lockop_as $UA fill "$ROOT/zoo" a 600)" "$PER_UID EDQUOT=88"
assert_eq "$UA's share is per user, not per directory: EDQUOT in another one" \
	"$(lockop_as $UA fill "$ROOT/zoo/sub" a 3)" "0 EDQUOT=3"
assert_eq "the table holds $UA's $PER_UID" "$(ls "$ROOT/zoo" | grep -c '\.lock$')" "$PER_UID"
n=${NAMES[0]}
assert_eq "$UA at its cap: its own GluonCV load fails creating the lock file (EDQUOT)" \
	"$(loader_as $UA "$n" "${SHA1[$n]}")" "error EDQUOT $(lockf "$n")"
n=${NAMES[1]}
assert_eq "$UB's GluonCV load still creates its lock file and loads" \
	"$(loader_as $UB "$n" "${SHA1[$n]}")" "$(want_ok "$n")"
n=${NAMES[2]}
assert_eq "root's too" "$(loader_as 0 "$n" "${SHA1[$n]}")" "$(want_ok "$n")"
n=${NAMES[1]}
assert_eq "$UA at its cap still loads through $UB's existing lock file" \
	"$(loader_as $UA "$n" "${SHA1[$n]}")" "$(want_ok "$n")"
assert_errno_as "$UA frees one of its own ..." $UA OK unlink "$ROOT/zoo/a0.lock"
assert_errno_as "... and may create one again" $UA OK open "$ROOT/zoo/a0.lock" "O_WRONLY|O_CREAT|O_EXCL"
assert_errno_as "... but not two" $UA EDQUOT open "$ROOT/zoo/b0.lock" "O_WRONLY|O_CREAT|O_EXCL"
assert_eq "an unlinked lock file held open still counts; once closed it does not" \
	"$(lockop_as $UA linger "$ROOT/zoo/a1.lock" "$ROOT/zoo/b1.lock")" "EDQUOT OK"

# ---------------------------------------------------------------- 8 users fill the table

# UA holds 512 and UB and root one each: 7 more users at their caps leave
# room for none.
fills=
for u in $(seq 60001 60007); do fills+="$(lockop_as "$u" fill "$ROOT/zoo" "u$u-" $((PER_UID + 1)))/"; done
assert_eq "7 more users create until refused: 6 reach their share, the 7th the table's end" "$fills" \
	"$(for _ in 1 2 3 4 5 6; do printf '%s EDQUOT=1/' $PER_UID; done; echo "$((PER_UID - 2)) ENOSPC=3/")"
assert_eq "the table is full: $TABLE lock files" "$(ls "$ROOT" "$ROOT/zoo" | grep -c '\.lock$')" "$TABLE"
assert_errno_as "a 9th user's new lock file is ENOSPC" 60008 ENOSPC open "$ROOT/c.lock" "O_WRONLY|O_CREAT"
n=${NAMES[2]}
assert_eq "the 9th user still loads through an existing lock file" \
	"$(loader_as 60008 "$n" "${SHA1[$n]}")" "$(want_ok "$n")"
assert_eq "nothing was fetched twice" \
	"$(for n in "${NAMES[@]}"; do origin_hits "/gluon/$(basename "$(params "$n")")"; done | tr '\n' ' ')" "1 1 1 "
assert_eq "no lock file anywhere in the store" \
	"$(find "$STORE" -name '*.lock*' ! -path "$STORE/daemon.lock" | wc -l)" 0
unmount_fs "$ROOT" || not_ok "clean unmount with a full table" "see the diagnostics above"
assert_eq "lock files do not outlive the mount" "$(ls -A "$ROOT" | wc -l)" 0
