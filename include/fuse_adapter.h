/* fuse_adapter — the thin layer between the kernel's FUSE requests and
 * the catalog (metadata) and the scheduler (verified bytes).  With
 * fuse_lockfiles.h it is the FUSE edge: the only code that includes
 * fuse_lowlevel.h.
 *
 * Each request is dispatched once: a request on an inode in the lock
 * file table's range, or on a lock file name in a catalog directory that
 * no catalog entry has, goes to fuse_lockfiles.h; everything else is the
 * catalog's, answered here.  Each handler unpacks, calls, replies.
 *
 * Answers: lookup/getattr/readdir/statfs from the catalog, never the
 * network; open of a model asks the scheduler and, when it must wait,
 * is answered later from a pool thread (no FUSE thread blocks); reads go
 * to the verified backing fd, by FUSE passthrough when the kernel takes
 * it, else spliced from it; every write path is EROFS; an open
 * interrupted while waiting is answered EINTR.  Under -d each open of a
 * model logs what it did (served at once, re-hashed the store's object,
 * or fetched) and how long it took, and libfuse's own messages go to the
 * same log.
 *
 * Generations (generations.h): each request that reads the tree uses the
 * current generation's catalog and scheduler for its whole run; an open
 * file keeps the generation it was opened in until it is released, so a
 * reload never changes what an fd reads.  Lock files live outside the
 * generations, at inode numbers (1 << 48 and up) no catalog reaches.
 *
 * Lock files (lock_files): directories are then 0777 (not sticky: see
 * fuse_lockfiles.h), so that a non-root loader's create reaches the daemon
 * (default_permissions checks the mode first), which still answers EROFS
 * to everything else.
 * A catalog entry wins over a lock file of the same name.  Lock files are
 * listed by readdir after the models. */
#ifndef MFS_FUSE_ADAPTER_H
#define MFS_FUSE_ADAPTER_H

#include <stdbool.h>

#include "generations.h"

struct mfs_mount_opts {
	const char *mountpoint;
	const char *fuse_opts;   /* comma-separated -o options for libfuse, may be NULL */
	bool foreground;
	bool debug;
	bool lock_files;         /* virtual *.lock files, directories 0777 */
	bool passthrough;        /* ask the kernel for FUSE passthrough (passthrough.h) */
	struct mfs_metrics *metrics; /* may be NULL: opens' waits are observed there */
	/* Called in the (daemonized, if not foreground) process once the
	 * mount is ready and before requests are served; may be NULL. */
	void (*ready)(void *arg);
	void *ready_arg;
	/* SIGHUP: the generation that replaces `cur` (the config read again;
	 * its scheduler's opts.owner the generation itself), or NULL to keep
	 * `cur`, having said why.  NULL `reload`: SIGHUP is ignored. */
	struct mfs_generation *(*reload)(void *arg, const struct mfs_generation *cur);
	/* Frees a generation nobody uses any more (stops its scheduler). */
	void (*retire)(void *arg, struct mfs_generation *gen);
	void *gen_arg;
};

/* Mounts `*gen` (its scheduler's opts.owner must be `*gen`), daemonizes
 * unless foreground (the parent exits 0 once the mount is ready), serves
 * requests until unmounted or SIGTERM/SIGINT, and unmounts.  SIGHUP
 * reloads (generations.h): the new tree shows at once (the kernel's
 * cached entries of what changed are dropped), open files keep what they
 * were opened as, and replaced generations are retired once unused.
 * Before it unmounts, every open still waiting is answered.  On return
 * *gen is the current generation, the caller's to free (its scheduler
 * stopped); every other one was retired.  Returns 0 on a clean unmount,
 * -EINVAL for bad fuse options, -ENOMEM, -EIO if the mount or the session
 * failed. */
int mfs_fuse_run(const struct mfs_mount_opts *mo, struct mfs_generation **gen);

#endif
