/* fuse_lockfiles — the FUSE side of the virtual `*.lock` files, whose
 * table is lockfiles.h.  Part of the FUSE edge (it includes
 * fuse_lowlevel.h); the adapter (fuse_adapter.h) dispatches to it once:
 *   - by inode range: every request on an inode the table owns
 *     (mfs_lockfiles_owns) goes to `mfs_fuse_lock_ops`;
 *   - by name: lookup, create and unlink in a catalog directory of a name
 *     that is a lock file name (mfs_lockfiles_name_ok) and no catalog
 *     entry go to the same table's handlers.
 *
 * What they answer: lock files may be created, opened in any mode,
 * truncated and touched by anyone, and unlinked by their creator or root
 * (else EPERM); they are always empty (writes are accepted and discarded,
 * reads return nothing, I/O bypasses the page cache), 0666 and owned by
 * their creator, and flock on them is the kernel's own.  A create past
 * the creator's share of the table is EDQUOT, past the table's bound
 * ENOSPC (lockfiles.h).  Their entries and attributes are never cached
 * (they come and go); an unknown lock name is an uncached ENOENT.
 * Directories and everything else stay with the catalog; a request that
 * makes no sense on a lock file (readdir) gets ENOTDIR.
 *
 * Between users.  With default_permissions the kernel lets a create
 * through to us only if the caller may write and search the directory,
 * so with lock files on the adapter shows catalog directories 0777.  Not
 * 01777 like /tmp: in a sticky world-writable directory the kernel's
 * fs.protected_regular check (may_create_in_sticky, fs/namei.c; 2 on
 * stock Debian, 1 with systemd's defaults) refuses an O_CREAT open of an
 * existing regular file owned by neither the opener nor the directory's
 * owner with EACCES, even for root, so user B's GluonCV `open(lock, 'a')`
 * of user A's lock file would fail.  Measured here on Linux 6.18, three uids, each
 * creating a lock file that the other two open:
 *   01777, owner the creator (before): GluonCV's open fails EACCES for
 *     the other users under protected_regular 1 and 2;
 *   01777, owner root (the directories' owner): every open works, but no
 *     user can unlink even their own lock file (sticky: EPERM), which
 *     wedges SoftFileLock-style locks (O_EXCL create, unlink to release)
 *     forever and pins every user's share of the table;
 *   0777, owner the creator, unlink checked here: GluonCV, portalocker,
 *     filelock and SoftFileLock work for every user under 0, 1 and 2; a
 *     user cannot unlink another's lock file (EPERM, from us), nor unlink,
 *     rename or replace a model (EROFS, as for root).
 * The third is what this module and the adapter do.  Nothing a lock file
 * holds can be planted or leaked (it is always empty, writes go nowhere),
 * which is what protected_regular guards against in /tmp; the cost is
 * that `ls -ld` shows 0777 without the sticky bit, although modelfs
 * enforces the sticky bit's rule itself. */
#ifndef MFS_FUSE_LOCKFILES_H
#define MFS_FUSE_LOCKFILES_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "lockfiles.h"

/* The handlers for lock-file requests (libfuse's signatures). */
extern const struct fuse_lowlevel_ops mfs_fuse_lock_ops;

/* The lock file table of the mount that `req` belongs to.  Defined by
 * the adapter, which owns the session's data. */
struct mfs_lockfiles *mfs_fuse_lock_table(fuse_req_t req);

#endif
