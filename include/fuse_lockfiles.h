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
 * truncated, touched and unlinked; they are always empty (writes are
 * accepted and discarded, reads return nothing, I/O bypasses the page
 * cache), 0666 and owned by their creator, and flock on them is the
 * kernel's own.  Their entries and attributes are never cached (they come
 * and go); an unknown lock name is an uncached ENOENT.  Directories and
 * everything else stay with the catalog; a request that makes no sense
 * on a lock file (readdir) gets ENOTDIR. */
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
