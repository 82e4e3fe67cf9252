#!/usr/bin/env bash
# Every write path is EROFS for root (who gets past the mode bits); other
# users are refused by the kernel (EACCES) or the daemon (EROFS) and can
# read with -o allow_other.  Mount flags: nosuid, nodev, default_permissions.
. "$(dirname "$0")/lib.sh"

setup_origin
s_a=$(add_model zoo/a.bin 10000)
s_u=$(add_model zoo/untouched.bin 10001)
cfg_begin
cfg_source zoo
cfg_model a zoo zoo/a.bin zoo/a.bin 10000 "$s_a"
cfg_model u zoo zoo/untouched.bin zoo/untouched.bin 10001 "$s_u"
mount_or_bail "$CFG" "$MNT"

opts=$(mount_line "$MNT" | awk '{ print $4 }')
diag "mount options: $opts"
for o in nosuid nodev default_permissions; do
	assert_match "mounted with $o" ",$opts," ",$o,"
done
if [[ ",$opts," == *,allow_other,* ]]; then not_ok "no allow_other unless asked" "$opts"
else ok "no allow_other unless asked"; fi
assert_errno_nobody "without allow_other other users are refused" EACCES stat "$MNT/zoo/a.bin"

# Write-style opens of a model never read must not fetch it.
U=$MNT/zoo/untouched.bin
assert_errno "unverified file: open O_WRONLY is EROFS" EROFS open "$U" O_WRONLY
assert_errno "unverified file: open O_RDWR is EROFS" EROFS open "$U" O_RDWR
assert_errno "unverified file: open O_WRONLY|O_TRUNC is EROFS" EROFS open "$U" "O_WRONLY|O_TRUNC"
assert_errno "unverified file: truncate is EROFS" EROFS truncate "$U" 0
assert_eq "write attempts did not fetch" "$(origin_hits /zoo/untouched.bin)" 0

F=$MNT/zoo/a.bin
assert_eq "root reads" "$(sysop read "$F")" "$s_a"
assert_errno "open O_WRONLY is EROFS" EROFS open "$F" O_WRONLY
assert_errno "open O_RDWR is EROFS" EROFS open "$F" O_RDWR
assert_errno "open O_WRONLY|O_APPEND is EROFS" EROFS open "$F" "O_WRONLY|O_APPEND"
assert_errno "open O_RDONLY|O_TRUNC is EROFS" EROFS open "$F" "O_RDONLY|O_TRUNC"
assert_errno "open O_WRONLY|O_TRUNC is EROFS" EROFS open "$F" "O_WRONLY|O_TRUNC"
assert_errno "create a new file is EROFS" EROFS open "$MNT/zoo/new.bin" "O_WRONLY|O_CREAT"
assert_errno "create in the root is EROFS" EROFS open "$MNT/new.bin" "O_RDWR|O_CREAT|O_EXCL"
assert_errno "mknod is EROFS" EROFS mknod "$MNT/zoo/node"
assert_errno "mkdir is EROFS" EROFS mkdir "$MNT/zoo/newdir"
assert_errno "unlink is EROFS" EROFS unlink "$F"
assert_errno "rmdir is EROFS" EROFS rmdir "$MNT/zoo"
assert_errno "rename is EROFS" EROFS rename "$F" "$MNT/zoo/b.bin"
assert_errno "rename a directory is EROFS" EROFS rename "$MNT/zoo" "$MNT/zoo2"
assert_errno "link is EROFS" EROFS link "$F" "$MNT/zoo/hard.bin"
assert_errno "symlink is EROFS" EROFS symlink a.bin "$MNT/zoo/sym.bin"
assert_errno "truncate is EROFS" EROFS truncate "$F" 0
assert_errno "chmod is EROFS" EROFS chmod "$F" 644
assert_errno "chmod of a directory is EROFS" EROFS chmod "$MNT/zoo" 755
assert_errno "chown is EROFS" EROFS chown "$F" 1 1
assert_errno "utime is EROFS" EROFS utime "$F"
assert_errno "setxattr is EROFS" EROFS setxattr "$F" user.test
assert_errno "removexattr is EROFS" EROFS removexattr "$F" user.test
assert_eq "file unchanged" "$(sysop read "$F")" "$s_a"
assert_eq "size unchanged" "$(stat -c %s "$F")" 10000
assert_eq "still one GET" "$(origin_hits /zoo/a.bin)" 1
unmount_fs "$MNT"

# Other users, with allow_other.
mount_or_bail "$CFG" "$MNT" -o allow_other
opts=$(mount_line "$MNT" | awk '{ print $4 }')
diag "mount options: $opts"
for o in nosuid nodev default_permissions allow_other; do
	assert_match "allow_other mount has $o" ",$opts," ",$o,"
done
assert_eq "nobody reads a verified file" "$(sysop_nobody read "$F")" "$s_a"
assert_eq "nobody reads an unverified file (fetches it)" "$(sysop_nobody read "$U")" "$s_u"
assert_eq "nobody lists a directory" "$(setpriv --reuid=65534 --regid=65534 --clear-groups ls "$MNT/zoo" | tr '\n' ' ')" \
	"a.bin untouched.bin "
W='EACCES|EROFS'
assert_errno_nobody "nobody: open O_WRONLY refused" "$W" open "$F" O_WRONLY
assert_errno_nobody "nobody: open O_RDWR|O_TRUNC refused" "$W" open "$F" "O_RDWR|O_TRUNC"
assert_errno_nobody "nobody: create refused" "$W" open "$MNT/zoo/new.bin" "O_WRONLY|O_CREAT"
assert_errno_nobody "nobody: mkdir refused" "$W" mkdir "$MNT/newdir"
# Directories are 0777 (for lock files): modelfs itself refuses the unlink
# or rename of a model with EROFS (a kernel with a sticky bit would say
# EPERM first).
assert_errno_nobody "nobody: unlink refused" "EPERM|$W" unlink "$F"
assert_errno_nobody "nobody: rename refused" "EPERM|$W" rename "$F" "$MNT/zoo/x.bin"
assert_errno_nobody "nobody: truncate refused" "$W" truncate "$F" 0
assert_errno_nobody "nobody: chmod refused" "EPERM|$W" chmod "$F" 666
assert_errno_nobody "nobody: setxattr refused" "EPERM|$W" setxattr "$F" user.test
assert_eq "file unchanged" "$(sysop read "$F")" "$s_a"
