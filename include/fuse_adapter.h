/* fuse_adapter — the thin layer between the kernel's FUSE requests and
 * the catalog (metadata) and gate (verified bytes).  The only module that
 * includes fuse_lowlevel.h.
 *
 * Answers: lookup/getattr/readdir/statfs from the catalog, never the
 * network; open of a file asks the gate and, when it must wait for a
 * download, is answered later from the gate's worker (no FUSE thread
 * blocks); reads go to the verified backing fd, by FUSE passthrough when
 * the kernel takes it, else spliced from it; every write path is
 * EROFS; an open interrupted while waiting is answered EINTR.
 *
 * Lock files (lock_files): `*.lock` names may be created, opened for
 * writing, truncated, touched and unlinked in every directory of the tree
 * (see lockfiles.h); they are always empty (writes are accepted and
 * discarded), 0666 and owned by their creator, and flock on them is the
 * kernel's own.  Directories are then 01777, like /tmp, so that a
 * non-root loader's create reaches the daemon (default_permissions checks
 * the mode first), which still answers EROFS to everything else.  A
 * catalog entry wins over a lock file of the same name.  Lock files are
 * listed by readdir after the models. */
#ifndef MFS_FUSE_ADAPTER_H
#define MFS_FUSE_ADAPTER_H

#include <stdbool.h>

#include "catalog.h"
#include "gate.h"

struct mfs_mount_opts {
	const char *mountpoint;
	const char *fuse_opts;   /* comma-separated -o options for libfuse, may be NULL */
	bool foreground;
	bool debug;
	bool lock_files;         /* virtual *.lock files, directories 01777 */
	bool passthrough;        /* ask the kernel for FUSE passthrough (passthrough.h) */
	/* Called in the (daemonized, if not foreground) process once the
	 * mount is ready and before requests are served; may be NULL. */
	void (*ready)(void *arg);
	void *ready_arg;
};

/* Mounts, daemonizes unless foreground (the parent exits 0 once the mount
 * is ready), serves requests until unmounted or SIGTERM/SIGINT/SIGHUP,
 * stops the gate, and unmounts.  Returns 0 on a clean unmount, -EINVAL for
 * bad fuse options, -ENOMEM, -EIO if the mount or the session failed. */
int mfs_fuse_run(const struct mfs_mount_opts *mo, const struct mfs_catalog *cat,
		 struct mfs_gate *gate);

#endif
