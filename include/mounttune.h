/* mounttune — kernel-side tuning of a mounted FUSE filesystem that needs
 * no FUSE API: the read-ahead window of the mount's backing device info
 * (bdi).  The kernel sends READs of at most read_ahead_kb for sequential
 * reads; the default 128 KiB costs 20-40% against 1 MiB here.  It must be
 * set after the kernel processed the FUSE INIT reply, which sets it too. */
#ifndef MFS_MOUNTTUNE_H
#define MFS_MOUNTTUNE_H

#include <stddef.h>

#define MFS_READ_AHEAD_KB 1024

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
