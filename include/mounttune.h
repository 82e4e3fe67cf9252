/* mounttune — kernel-side tuning of a mounted FUSE filesystem that needs
 * no FUSE API: the read-ahead window of the mount's backing device info
 * (bdi).  The kernel sends READs of at most read_ahead_kb for sequential
 * reads.  512 KiB, not 1 MiB: a spliced reply needs a pipe of the reply
 * plus a header page, and /proc/sys/fs/pipe-max-size (1 MiB by default)
 * stops 1 MiB replies from being spliced.  A first read of a verified
 * 512 MiB model through the mount measured 0.20-0.29 s at 512, 0.34-0.36 s
 * at 1024 and 0.27-0.59 s at the default 128.  It must be set after the
 * kernel processed the FUSE INIT reply, which sets it too. */
#ifndef MFS_MOUNTTUNE_H
#define MFS_MOUNTTUNE_H

#include <stddef.h>

#define MFS_READ_AHEAD_KB 512

/* Finds the "MAJOR:MINOR" of the mount at `mountpoint` (an absolute,
 * canonical path) in a mountinfo file (normally /proc/self/mountinfo),
 * taking the last such mount.  Returns 0 with `bdi` filled, -ENOENT if it
 * is not mounted, -errno if the file cannot be read, -ENAMETOOLONG if
 * `bdi` is too small. */
int mfs_mount_find_bdi(const char *mountinfo, const char *mountpoint, char *bdi, size_t len);

/* Writes `kb` to /sys/class/bdi/<bdi of mountpoint>/read_ahead_kb.
 * Returns 0 or -errno (the mount works either way, only slower). */
int mfs_mount_set_readahead(const char *mountpoint, unsigned kb);

#endif
