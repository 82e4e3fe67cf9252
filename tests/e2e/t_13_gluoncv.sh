#!/usr/bin/env bash
# GluonCV and MXNet model zoos on the mount: $MXNET_HOME/models is the
# mount, the models come as the zoos ship them (<name>-<hash8>.zip holding
# <name>-<hash8>.params, SHA-1 of the .params pinned), and the loaders
# (replayed step by step by loaders.py) lock, verify and load them.  The
# *.lock files they need are virtual and empty, flock works between
# processes and users, nothing else is writable, nothing is stored.
. "$(dirname "$0")/lib.sh"

LOADERS=$(nobody_copy "$E2E_DIR/loaders.py")   # also run as nobody
setup_origin

# zoo_model NAME SIZE — SIZE random bytes as NAME-<hash8>.params, zipped
# (deflated) at $WWW/gluon/models/NAME-<hash8>.zip; prints the SHA-1.
zoo_model() {
	"$PY" - "$1" "$2" "$WWW/gluon/models" <<-'EOF' || bail "zoo_model $1"
		import hashlib, os, sys, zipfile
		name, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
		data = os.urandom(size)
		sha1 = hashlib.sha1(data).hexdigest()
		base = '%s-%s' % (name, sha1[:8])
		os.makedirs(out, exist_ok=True)
		with zipfile.ZipFile(os.path.join(out, base + '.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
		    z.writestr(base + '.params', data)
		print(sha1)
	EOF
}

# cfg_zoo_model ID NAME SIZE SHA1 — the zoo's form: the .params is a member
# of the zip, mounted at the top (the loaders' root).
cfg_zoo_model() {
	local f=$2-${4:0:8}
	cat >>"$CFG" <<-EOF

		[model $1]
		source = gluon
		path = $f.params
		url = gluon/models/$f.zip
		archive = zip
		member = $f.params
		size = $3
		sha1 = $4
	EOF
}

size_1_3m() { echo $((1048576 + RANDOM * 64 + RANDOM % 64)); }

# Real names from the GluonCV 0.10 / MXNet 1.9.1 tables; our own bytes.
z_r18=$(size_1_3m); s_r18=$(zoo_model resnet18_v1 "$z_r18")
z_mob=$(size_1_3m); s_mob=$(zoo_model mobilenet1.0 "$z_mob")
z_sq=$(size_1_3m); s_sq=$(zoo_model squeezenet1.0 "$z_sq")
z_nob=$(size_1_3m); s_nob=$(zoo_model vgg11 "$z_nob")
# The mirror serves other bytes than the ones pinned.
z_bad=$(size_1_3m); s_bad=$(zoo_model alexnet "$z_bad")
"$PY" - "$WWW/gluon/models/alexnet-${s_bad:0:8}" "$z_bad" <<-'EOF' || bail "tampered zip"
	import os, sys, zipfile
	with zipfile.ZipFile(sys.argv[1] + '.zip', 'w', zipfile.ZIP_DEFLATED) as z:
	    z.writestr(os.path.basename(sys.argv[1]) + '.params', os.urandom(int(sys.argv[2])))
EOF
# A plain model in a subdirectory, and one whose name ends in .lock.
s_sub=$(add_model zoo/sub/a.bin 5000)
s_held=$(add_model zoo/held.lock 300)

cfg_begin
cfg_source gluon allow_sha1=yes
cfg_zoo_model r18 resnet18_v1 "$z_r18" "$s_r18"
cfg_zoo_model mob mobilenet1.0 "$z_mob" "$s_mob"
cfg_zoo_model sq squeezenet1.0 "$z_sq" "$s_sq"
cfg_zoo_model nob vgg11 "$z_nob" "$s_nob"
cfg_zoo_model bad alexnet "$z_bad" "$s_bad"
cfg_model sub gluon zoo/sub/a.bin zoo/sub/a.bin 5000 "$s_sub"
cfg_model held gluon zoo/held.lock zoo/held.lock 300 "$s_held"

export MXNET_HOME=$T/mxnet
ROOT=$MXNET_HOME/models
mkdir -p "$ROOT"
chmod 0755 "$MXNET_HOME"
mount_or_bail "$CFG" "$ROOT" -o allow_other
export GLUON_MODEL_LOCK_TIMEOUT=$((20 * SLOW))

loader() { timeout -k 2 $((60 * SLOW)) "$PY" "$LOADERS" "$@" 2>>"$T/logs/loaders.err"; }
loader_nobody() {
	timeout -k 2 $((60 * SLOW)) setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PY" "$LOADERS" "$@" 2>>"$T/logs/loaders.err"
}
P_r18=$ROOT/resnet18_v1-${s_r18:0:8}.params

# ---------------------------------------------------------------- lock files

assert_eq "root directory is 0777" "$(stat -c %a "$ROOT")" 777
assert_eq "subdirectories are 0777" "$(stat -c %a "$ROOT/zoo") $(stat -c %a "$ROOT/zoo/sub")" "777 777"
assert_eq "models stay 0444" "$(stat -c %a "$P_r18")" 444

L=$ROOT/resnet18_v1-${s_r18:0:8}.lock
assert_errno "lock file create (open 'a')" OK open "$L" "O_WRONLY|O_CREAT|O_APPEND"
assert_eq "lock file: regular, 0666, empty, owned by its creator" \
	"$(stat -c '%F %a %s %u' "$L")" "regular empty file 666 0 0"
assert_eq "writes are accepted in full and discarded" "$("$PY" - "$L" <<-'EOF'
	import os, sys
	fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
	n = os.write(fd, b'x' * 100000)
	m = os.pwrite(fd, b'y' * 10, 5)
	st = os.fstat(fd).st_size
	os.close(fd)
	print(n, m, st, os.stat(sys.argv[1]).st_size, len(open(sys.argv[1], 'rb').read()))
EOF
)" "100000 10 0 0 0"
assert_errno "re-creating an existing lock file opens it" OK open "$L" "O_RDWR|O_CREAT"
assert_errno "O_EXCL on an existing lock file is EEXIST" EEXIST open "$L" "O_WRONLY|O_CREAT|O_EXCL"
assert_errno "O_TRUNC on a lock file" OK open "$L" "O_WRONLY|O_TRUNC"
assert_errno "truncate a lock file" OK truncate "$L" 0
assert_errno "touch a lock file" OK utime "$L"
assert_eq "its mtime is what touch set" "$(stat -c %Y "$L")" 0
assert_errno "chmod a lock file is accepted ..." OK chmod "$L" 600
assert_eq "... and it stays 0666" "$(stat -c %a "$L")" 666
assert_errno "chown a lock file is EROFS" EROFS chown "$L" 1 1
assert_errno "rename a lock file is EROFS" EROFS rename "$L" "$ROOT/other.lock"
assert_errno "link a lock file is EROFS" EROFS link "$L" "$ROOT/other.lock"
assert_errno "setxattr on a lock file is EROFS" EROFS setxattr "$L" user.test
assert_errno "lock file in a subdirectory" OK open "$ROOT/zoo/sub/a.lock" "O_WRONLY|O_CREAT|O_APPEND"
assert_eq "readdir lists lock files after the models" "$(ls -U "$ROOT/zoo/sub" | tr '\n' ' ')" "a.bin a.lock "
assert_errno "unlink a lock file" OK unlink "$ROOT/zoo/sub/a.lock"
assert_errno "it is gone" ENOENT stat "$ROOT/zoo/sub/a.lock"
assert_eq "and gone from the listing" "$(ls -A "$ROOT/zoo/sub" | tr '\n' ' ')" "a.bin "
assert_errno "it can be created again" OK open "$ROOT/zoo/sub/a.lock" "O_WRONLY|O_CREAT|O_EXCL"
assert_eq "an open lock file unlinked by another process: fstat says nlink 0" "$("$PY" - "$ROOT/zoo/u.lock" <<-'EOF'
	import os, sys
	fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
	os.unlink(sys.argv[1])
	st = os.fstat(fd)
	os.write(fd, b'pid')
	os.close(fd)
	print(st.st_nlink, st.st_size)
EOF
)" "0 0"

# A model whose name ends in .lock is a model.
H=$ROOT/zoo/held.lock
assert_eq "a model named *.lock is the model" "$(sysop read "$H")" "$s_held"
assert_errno "creating it with O_EXCL is EEXIST" EEXIST open "$H" "O_WRONLY|O_CREAT|O_EXCL"
assert_errno "opening it to append is EROFS" EROFS open "$H" "O_WRONLY|O_CREAT|O_APPEND"
assert_errno "unlinking it is EROFS" EROFS unlink "$H"
assert_errno "truncating it is EROFS" EROFS truncate "$H" 0
assert_eq "it is unchanged" "$(sysop read "$H") $(stat -c '%a %s' "$H")" "$s_held 444 300"

# Nothing else became writable.
assert_errno "'.lock' is no lock file" EROFS open "$ROOT/.lock" "O_WRONLY|O_CREAT"
assert_errno "'x.lock.tmp' is no lock file" EROFS open "$ROOT/x.lock.tmp" "O_WRONLY|O_CREAT"
assert_errno "creating a .params is EROFS" EROFS open "$ROOT/new-12345678.params" "O_WRONLY|O_CREAT"
assert_errno "creating a .zip is EROFS" EROFS open "$ROOT/new-12345678.zip" "O_WRONLY|O_CREAT|O_TRUNC"
assert_errno "mkdir is EROFS" EROFS mkdir "$ROOT/d"
assert_errno "mkdir x.lock is EROFS" EROFS mkdir "$ROOT/d.lock"
assert_errno "mknod x.lock is EROFS" EROFS mknod "$ROOT/n.lock"
assert_errno "symlink x.lock is EROFS" EROFS symlink a "$ROOT/s.lock"
assert_errno "rmdir is EROFS" EROFS rmdir "$ROOT/zoo/sub"
assert_errno "open a model O_WRONLY is EROFS" EROFS open "$P_r18" O_WRONLY
assert_errno "unlink a model is EROFS" EROFS unlink "$P_r18"
assert_errno "rename a model is EROFS" EROFS rename "$P_r18" "$ROOT/x.params"
assert_errno "rename a model to *.lock is EROFS" EROFS rename "$P_r18" "$ROOT/x.lock"
assert_errno "link a model is EROFS" EROFS link "$P_r18" "$ROOT/x.lock"
assert_errno "truncate a model is EROFS" EROFS truncate "$P_r18" 0
assert_errno "chmod a model is EROFS" EROFS chmod "$P_r18" 644
assert_errno "chmod a directory is EROFS" EROFS chmod "$ROOT/zoo" 755
assert_errno "utime a model is EROFS" EROFS utime "$P_r18"
assert_eq "write attempts fetched nothing" "$(origin_hits "/gluon/models/resnet18_v1-${s_r18:0:8}.zip")" 0

# Other users: the create reaches the daemon through the 0777 directory.
assert_errno_nobody "nobody creates a lock file" OK open "$ROOT/zoo/n.lock" "O_WRONLY|O_CREAT|O_APPEND"
assert_eq "nobody owns it" "$(stat -c '%u %g %a' "$ROOT/zoo/n.lock")" "65534 65534 666"
assert_errno_nobody "nobody appends to root's lock file" OK open "$L" "O_WRONLY|O_APPEND"
assert_errno_nobody "nobody cannot unlink root's lock file (modelfs: not its creator)" EPERM unlink "$L"
assert_errno_nobody "nobody cannot chmod root's lock file" EPERM chmod "$L" 600
assert_errno_nobody "nobody unlinks its own lock file" OK unlink "$ROOT/zoo/n.lock"
assert_errno_nobody "nobody: other creates are EROFS" EROFS open "$ROOT/zoo/n.params" "O_WRONLY|O_CREAT"
assert_errno_nobody "nobody: mkdir is EROFS" EROFS mkdir "$ROOT/d"
assert_errno_nobody "nobody: writing a model is refused" "EACCES|EROFS" open "$P_r18" O_WRONLY
assert_errno_nobody "nobody: unlinking a model is refused" "EPERM|EROFS" unlink "$P_r18"
assert_errno_nobody "nobody: renaming a model is refused" "EPERM|EROFS" rename "$P_r18" "$ROOT/x.params"

# flock between processes on one lock file: the kernel's, across users.
assert_eq "flock: LOCK_NB fails while another process holds it, then succeeds" "$("$PY" - "$L" <<-'EOF'
	import fcntl, os, subprocess, sys, time
	f = open(sys.argv[1], 'a')
	fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
	probe = ('import fcntl, sys\n'
	         'f = open(sys.argv[1], "a")\n'
	         'try:\n'
	         '    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB); print("got")\n'
	         'except BlockingIOError:\n'
	         '    print("busy")\n')
	def other():
	    return subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
	                           sys.executable, '-c', probe, sys.argv[1]],
	                          capture_output=True, text=True).stdout.strip()
	a = other()
	fcntl.flock(f.fileno(), fcntl.LOCK_UN)
	print(a, other())
EOF
)" "busy got"

# ---------------------------------------------------------------- GluonCV 0.10

out=$(loader gluoncv resnet18_v1 "$s_r18")
assert_eq "GluonCV: get_model_file + load (first use fetches)" "$out" "ok $P_r18 $s_r18 lock_retries=0"
out=$(loader gluoncv resnet18_v1 "$s_r18")
assert_eq "GluonCV: again, from the verified copy" "$out" "ok $P_r18 $s_r18 lock_retries=0"

# Two loaders at once: the first holds the lock about a second, the second
# retries LOCK_NB until it gets it; both load the same verified bytes.
P_mob=$ROOT/mobilenet1.0-${s_mob:0:8}.params
bg loader gluoncv mobilenet1.0 "$s_mob" --hold 1 --locked "$T/a.locked" >"$T/a.out"
pa=$BG
for i in $(seq $((100 * SLOW))); do [ -e "$T/a.locked" ] && break; sleep 0.05; done
t0=$(now_ms)
bg loader gluoncv mobilenet1.0 "$s_mob" >"$T/b.out"
pb=$BG
wait "$pb"; rb=$?
el=$(($(now_ms) - t0))
wait "$pa"; ra=$?
assert_eq "GluonCV x2: the lock holder succeeds" "$ra $(cat "$T/a.out")" "0 ok $P_mob $s_mob lock_retries=0"
assert_match "GluonCV x2: the other waited on LOCK_NB retries and succeeds" "$rb $(cat "$T/b.out")" \
	"^0 ok $P_mob $s_mob lock_retries=[1-9][0-9]*\$"
assert_ge "GluonCV x2: the second waited for the first's hold of 1 s (ms)" "$el" 900

# As another user, with a lock file that exists (root's) and a new one.
out=$(loader_nobody gluoncv resnet18_v1 "$s_r18")
assert_eq "GluonCV as nobody, existing lock file" "$out" "ok $P_r18 $s_r18 lock_retries=0"
P_nob=$ROOT/vgg11-${s_nob:0:8}.params
out=$(loader_nobody gluoncv vgg11 "$s_nob")
assert_eq "GluonCV as nobody, creating the lock file (first use fetches)" "$out" "ok $P_nob $s_nob lock_retries=0"
assert_eq "nobody's lock file" "$(stat -c '%u %a %s' "$ROOT/vgg11-${s_nob:0:8}.lock")" "65534 666 0"

# A table entry that does not match the served file: GluonCV finds a
# mismatch, wants to download the zip again and cannot write it.
wrong=${s_r18:0:8}$(printf '%032d' 0)
out=$(loader gluoncv resnet18_v1 "$wrong")
assert_eq "GluonCV, table hash mismatch: dies creating the zip with EROFS" "$out" \
	"error EROFS $ROOT/resnet18_v1-${s_r18:0:8}.zip"
assert_match "... after it logged the mismatch" "$(tail -1 "$T/logs/loaders.err")" "^Mismatch in the content"
out=$(loader_nobody gluoncv resnet18_v1 "$wrong")
assert_eq "the same as nobody" "$out" "error EROFS $ROOT/resnet18_v1-${s_r18:0:8}.zip"
# (resnet50_v1's real table entry; the mount does not have it)
out=$(loader gluoncv resnet50_v1 cc729d95031ca98cf2ff362eb57dee4d9994e4b2)
assert_eq "GluonCV, model not in the mount: dies creating the zip with EROFS" "$out" \
	"error EROFS $ROOT/resnet50_v1-cc729d95.zip"
# The mirror's zip holds other bytes than pinned: modelfs refuses them.
out=$(loader gluoncv alexnet "$s_bad")
assert_eq "GluonCV, tampered zip at the origin: its check_sha1 open fails EIO" "$out" \
	"error EIO $ROOT/alexnet-${s_bad:0:8}.params"

# ---------------------------------------------------------------- MXNet 1.9.1

P_sq=$ROOT/squeezenet1.0-${s_sq:0:8}.params
out=$(loader mxnet squeezenet1.0 "$s_sq")
assert_eq "MXNet: get_model_file + load (first use fetches)" "$out" "ok $P_sq $s_sq lock_retries=0"
out=$(loader_nobody mxnet squeezenet1.0 "$s_sq")
assert_eq "MXNet as nobody" "$out" "ok $P_sq $s_sq lock_retries=0"
out=$(loader mxnet resnet18_v1 "$s_r18")
assert_eq "MXNet on GluonCV's file" "$out" "ok $P_r18 $s_r18 lock_retries=0"
out=$(loader mxnet squeezenet1.0 "${s_sq:0:8}$(printf '%032d' 1)")
assert_match "MXNet, table hash mismatch: dies creating its temporary zip with EROFS" "$out" \
	"^error EROFS $ROOT/squeezenet1.0-${s_sq:0:8}\\.zip\\.[0-9a-f-]{36}\$"

# ---------------------------------------------------------------- origin and store

for m in "resnet18_v1-${s_r18:0:8}" "mobilenet1.0-${s_mob:0:8}" "squeezenet1.0-${s_sq:0:8}" \
	"vgg11-${s_nob:0:8}"; do
	assert_eq "exactly one download of $m.zip" "$(origin_hits "/gluon/models/$m.zip")" 1
done
assert_eq "no other requests (alexnet's zip and zoo/held.lock once each)" "$(origin_total)" 6
want=$({ printf 'sha1-%s\n' "$s_r18" "$s_mob" "$s_sq" "$s_nob"; echo "sha256-$s_held"; } |
	sort | tr '\n' ' ')
assert_eq "store objects: the verified models, nothing else" \
	"$(ls -A "$STORE/objects" | sort | tr '\n' ' ')" "$want"
assert_eq "no lock file anywhere in the store" \
	"$(find "$STORE" -name '*.lock*' ! -path "$STORE/daemon.lock" | wc -l)" 0
assert_eq "nothing in staging" "$(ls -A "$STORE/staging" | wc -l)" 0
unmount_fs "$ROOT"
assert_eq "nothing under the mountpoint" "$(ls -A "$ROOT" | wc -l)" 0

# ---------------------------------------------------------------- lock_files = no

cfg_begin lock_files=no
cfg_source gluon allow_sha1=yes
cfg_zoo_model r18 resnet18_v1 "$z_r18" "$s_r18"
mount_or_bail "$CFG" "$ROOT" -o allow_other
assert_eq "lock_files = no: directories 0555" "$(stat -c %a "$ROOT")" 555
assert_eq "lock files do not outlive the mount" "$(ls -A "$ROOT" | tr '\n' ' ')" \
	"resnet18_v1-${s_r18:0:8}.params "
assert_errno "lock_files = no: a lock create is EROFS" EROFS open "$L" "O_WRONLY|O_CREAT|O_APPEND"
assert_errno_nobody "lock_files = no: nobody's lock create is refused" "EACCES|EROFS" \
	open "$L" "O_WRONLY|O_CREAT|O_APPEND"
out=$(loader gluoncv resnet18_v1 "$s_r18")
assert_eq "lock_files = no: GluonCV dies on its lock file, as on any read-only mount" "$out" \
	"error EROFS $L"
out=$(loader mxnet resnet18_v1 "$s_r18")
assert_eq "lock_files = no: MXNet needs none" "$out" "ok $P_r18 $s_r18 lock_retries=0"
assert_eq "still one download of resnet18_v1" "$(origin_hits "/gluon/models/resnet18_v1-${s_r18:0:8}.zip")" 1
