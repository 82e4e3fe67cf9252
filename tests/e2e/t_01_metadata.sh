#!/usr/bin/env bash
# Metadata comes from the config alone: exact sizes, modes, implied
# directories, no origin traffic, ENOENT for what is not listed.
. "$(dirname "$0")/lib.sh"

setup_origin
s1=$(add_model zoo/resnet50.params 12345)
s2=$(add_model zoo/vision/deep/facenet.pb 70001)
s3=$(add_model top.bin 1)
s4=$(add_model other/m.bin 4096)

# lock_files = no: the strict read-only tree (with lock files on, the
# default, directories are 0777 so a loader's *.lock create reaches us;
# checked at the end).
cfg_begin lock_files=no
cfg_source zoo
cfg_model resnet50 zoo zoo/resnet50.params zoo/resnet50.params 12345 "$s1"
cfg_model facenet zoo zoo/vision/deep/facenet.pb zoo/vision/deep/facenet.pb 70001 "$s2"
cfg_model top zoo top.bin top.bin 1 "$s3"
cfg_model other zoo other/m.bin other/m.bin 4096 "$s4"
mount_or_bail "$CFG" "$MNT"

ls_out=$(timeout 20 ls -lR "$MNT" 2>&1)
assert_eq "ls -lR succeeds" "$?" 0
assert_match "ls -lR shows the file 0444 with its size" "$ls_out" '-r--r--r-- .* 12345 .*resnet50\.params'
assert_match "ls -lR shows directories 0555" "$ls_out" 'dr-xr-xr-x .* vision'

got=$(cd "$MNT" && timeout 20 find . -mindepth 1 -printf '%y %m %s %p\n' | sort)
want=$(sort <<'W'
d 555 0 ./other
d 555 0 ./zoo
d 555 0 ./zoo/vision
d 555 0 ./zoo/vision/deep
f 444 1 ./top.bin
f 444 12345 ./zoo/resnet50.params
f 444 4096 ./other/m.bin
f 444 70001 ./zoo/vision/deep/facenet.pb
W
)
# Directory sizes are not part of the contract: compare files exactly and
# directories by type, mode and path.
norm() { awk '$1 == "d" { $3 = 0 } { print }'; }
assert_eq "tree: implied directories, exact sizes, modes" "$(norm <<<"$got")" "$(norm <<<"$want")"

assert_eq "root directory is 0555" "$(stat -c %a "$MNT")" 555
assert_eq "files owned by root" "$(stat -c %u:%g "$MNT/top.bin")" 0:0
assert_eq "directory nlink is 2 + subdirectories" "$(stat -c %h "$MNT/zoo")" 3
assert_eq "leaf directory nlink is 2" "$(stat -c %h "$MNT/zoo/vision/deep")" 2
assert_eq "readdir of a leaf directory" "$(ls -a "$MNT/zoo/vision/deep" | tr '\n' ' ')" ". .. facenet.pb "
assert_eq "regular file type" "$(stat -c %F "$MNT/zoo/resnet50.params")" "regular file"
assert_eq "stat -L size" "$(stat -L -c %s "$MNT/zoo/vision/deep/facenet.pb")" 70001
assert_eq "st_blocks covers the size (du, tar --sparse)" \
	"$(( $(stat -c '%b * %B' "$MNT/zoo/vision/deep/facenet.pb") >= 70001 ))" 1

assert_errno "unknown file is ENOENT" ENOENT stat "$MNT/zoo/nope.params"
assert_errno "unknown directory is ENOENT" ENOENT stat "$MNT/nodir"
assert_errno "unknown path deep is ENOENT" ENOENT stat "$MNT/zoo/vision/nope/x"
assert_errno "prefix of a name is ENOENT" ENOENT stat "$MNT/zoo/resnet50"
assert_errno "file used as directory is ENOTDIR" ENOTDIR stat "$MNT/top.bin/x"
assert_errno "listing an unknown directory is ENOENT" ENOENT listdir "$MNT/nodir"
assert_errno "a file is not listable" ENOTDIR listdir "$MNT/top.bin"

assert_eq "no origin request for ls/stat/find" "$(origin_total)" 0
assert_eq "nothing fetched into the store" "$(count_files "$STORE/objects")" 0
audit_n=$(audit_count fetch_start '*')
assert_eq "no fetch in the audit log" "$audit_n" 0

# The default (lock_files = yes): directories 0777, files still 0444.
unmount_fs "$MNT"
sed -i '/^lock_files/d' "$CFG"
mount_or_bail "$CFG" "$MNT"
assert_eq "lock files on: directories are 0777" "$(stat -c %a "$MNT" "$MNT/zoo/vision")" "777
777"
assert_eq "lock files on: files stay 0444" "$(stat -c %a "$MNT/zoo/resnet50.params")" 444
assert_eq "still no origin request" "$(origin_total)" 0

# The first request after INIT raised the mount's read-ahead to 512 KiB
# (larger READs than the default 128 KiB, still small enough to splice).
dev=$(awk -v m="$MNT" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
assert_eq "read-ahead of the mount raised to 512 KiB" "$(cat "/sys/class/bdi/$dev/read_ahead_kb" 2>&1)" 512

# statfs: the models' total size in 4 KiB blocks (86443 bytes -> 22), one
# file count per node, read-only.
assert_eq "statfs: blocks, block size, inodes" "$(stat -f -c '%b %S %c' "$MNT")" "22 4096 9"
