/* status — what a model is up to, as the mount's extended attributes tell
 * it to any user who can see the file (no open, no fetch), and as
 * `modelfsctl status` reads it back:
 *
 *   user.modelfs.state    absent | fetching | verified | failed
 *   user.modelfs.digest   the pinned digest, "<algo>:<hex>" (the strongest)
 *   user.modelfs.url      where it is fetched from
 *   user.modelfs.fetched  bytes received so far while fetching; the size
 *                         once verified; else 0
 *   user.modelfs.error    the last failure's reason, with the back-off's
 *                         end if opens are held back ("...; backing off
 *                         until 2026-12-06T05:24:48Z"); only when there
 *                         is one
 *
 * Values are text without a trailing NUL or newline.  No FUSE here. */
#ifndef MFS_STATUS_H
#define MFS_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "scheduler.h"

#define MFS_STATUS_PREFIX "user.modelfs."

/* "absent", "fetching", "verified", "failed". */
const char *mfs_status_state_name(enum mfs_model_state state);

/* The value of attribute `name` of model `m` in state `st`, written to
 * `buf` (not NUL-terminated) if it fits in `len`.  Returns its length
 * (also when it does not fit: the caller compares, as getxattr does),
 * or -ENODATA for a name that model has no attribute of. */
ssize_t mfs_status_get(const struct mfs_model *m, const struct mfs_sched_status *st,
		       const char *name, char *buf, size_t len);

/* The names of the attributes model `m` in state `st` has, each followed
 * by a NUL, written to `buf` if they fit in `len`.  Returns their length
 * (as listxattr). */
size_t mfs_status_list(const struct mfs_sched_status *st, char *buf, size_t len);

/* A model file's status as read back through the mount. */
struct mfs_status_row {
	char state[16];
	uint64_t fetched;
	char error[600];      /* "" if none */
};

/* Reads the attributes of `path` (a file in a modelfs mount; no open, no
 * fetch).  0; -ENODATA if it has none (a lock file, not a model); -errno
 * of getxattr. */
int mfs_status_read(const char *path, struct mfs_status_row *row);

#endif
