/* lockfiles — the one mutable corner of the mount: virtual, always empty
 * `*.lock` files that loaders create next to the models (GluonCV opens
 * <root>/<name>-<hash8>.lock for appending and flocks it before it looks
 * at the weights; filelock and portalocker do the same).
 *
 * A table of nodes, each a name in a catalog directory with an inode
 * number of its own (from `first_ino` up, never reused, so they stay above
 * the catalog's range and a stale kernel inode can never name a new file).
 * Nothing is stored anywhere: a lock file has no bytes, writes to it are
 * the adapter's business to discard.  Locking itself is the kernel's
 * (flock is done locally for a FUSE filesystem without a flock op).
 *
 * Nodes follow the FUSE lookup-count rule: every create or lookup that
 * returns a node counts one reference, mfs_lockfiles_forget drops them.
 * An unlinked node leaves its directory at once but stays answerable by
 * ino (nlink 0) while references remain, so fstat() on a lock file another
 * process removed still works (filelock checks st_nlink after flock).
 *
 * No FUSE types here; every function is thread-safe. */
#ifndef MFS_LOCKFILES_H
#define MFS_LOCKFILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Bounds on nodes (unlinked ones still referenced included).  Every user
 * of the mount may create lock files, so the table is bounded (4096
 * nodes, each under 400 bytes with its name), and so is each user's share
 * of it: a node is charged to its creator's uid until it is freed, and
 * one uid holds at most MFS_LOCKFILES_PER_UID of them.  One user (or 7) filling their
 * shares leaves the rest of the table to everybody else: only 8 distinct
 * uids at their caps fill it.  Opening an existing lock file, whoever
 * created it, needs no node, so a full table or share never stops a
 * loader whose lock file exists.
 *
 * Why a per-uid share rather than lock names tied to the catalog's models
 * (only `<model>.lock` or `<model stem>.lock`): it keeps every `*.lock`
 * name working (filelock and portalocker users name their locks freely,
 * e.g. `download.lock` or `model.bin.lock`), while tying names would still
 * need a per-uid bound for nodes that linger unlinked behind open fds (a
 * user can create, hold, unlink and re-create one name without end).
 * 512 is twice the whole GluonCV + MXNet zoo (253 models) per user, and a
 * user's own lock files are theirs to unlink to free the share. */
#define MFS_LOCKFILES_MAX 4096
#define MFS_LOCKFILES_PER_UID (MFS_LOCKFILES_MAX / 8)
#define MFS_LOCKFILES_NAME_MAX 255

struct mfs_lockfiles;

/* What a lock node answers to stat (mode 0666, size 0 are implied). */
struct mfs_lockfile_attr {
	uint64_t ino;
	uint64_t parent;
	uid_t uid;                 /* the creator */
	gid_t gid;
	unsigned int nlink;        /* 1; 0 once unlinked */
	struct timespec atime, mtime, ctime;
};

/* True if `name` is a lock file name: ends in ".lock", is not ".lock"
 * itself, has no '/' and at most MFS_LOCKFILES_NAME_MAX bytes. */
bool mfs_lockfiles_name_ok(const char *name);

/* An empty table whose inode numbers start at `first_ino` (> 0).
 * -EINVAL, -ENOMEM.  *out owned by the caller (mfs_lockfiles_free). */
int mfs_lockfiles_new(uint64_t first_ino, struct mfs_lockfiles **out);
/* Frees the table and every node.  NULL is a no-op. */
void mfs_lockfiles_free(struct mfs_lockfiles *lf);

/* True if `ino` is in the table's range (>= first_ino), whether or not a
 * node has it now: such an ino is never a catalog node. */
bool mfs_lockfiles_owns(const struct mfs_lockfiles *lf, uint64_t ino);

/* Creates lock file `name` in directory `parent` owned by uid/gid (and
 * charged to uid), or finds the existing one whoever created it (an
 * existing one with `excl` is -EEXIST).  The caller checks that `parent`
 * is a directory and that `name` is no catalog entry.  On success fills
 * *attr, counts one reference and returns 1 if it created the node, 0 if
 * it existed.  Errors: -EINVAL (not a lock file name), -EEXIST, -EDQUOT
 * (uid already has MFS_LOCKFILES_PER_UID nodes), -ENOSPC (the table has
 * MFS_LOCKFILES_MAX), -ENOMEM.  The caps only refuse new nodes. */
int mfs_lockfiles_create(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			 uid_t uid, gid_t gid, bool excl, struct mfs_lockfile_attr *attr);

/* Finds lock file `name` in `parent`: fills *attr, counts one reference,
 * returns 0; or -ENOENT. */
int mfs_lockfiles_lookup(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			 struct mfs_lockfile_attr *attr);

/* Drops `nlookup` references of `ino`; an unlinked node without
 * references is freed.  Unknown inos are ignored. */
void mfs_lockfiles_forget(struct mfs_lockfiles *lf, uint64_t ino, uint64_t nlookup);

/* Attributes of node `ino` (linked or not): 0, or -ENOENT. */
int mfs_lockfiles_getattr(struct mfs_lockfiles *lf, uint64_t ino, struct mfs_lockfile_attr *attr);

/* Sets the access and/or modification time of `ino` (NULL: unchanged;
 * ctime becomes now if either is set) and fills *attr.  0, or -ENOENT. */
int mfs_lockfiles_set_times(struct mfs_lockfiles *lf, uint64_t ino, const struct timespec *atime,
			    const struct timespec *mtime, struct mfs_lockfile_attr *attr);

/* Removes lock file `name` from `parent` on behalf of `uid` (the node
 * lingers while it has references, still charged to its creator).  Only
 * its creator or root (uid 0, the owner of every catalog directory) may:
 * the sticky bit's rule, enforced here because the directories are not
 * shown sticky (see fuse_lockfiles.h).  0, -ENOENT, or -EPERM. */
int mfs_lockfiles_unlink(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			 uid_t uid);

/* Calls fn(arg, ino, name) for each lock file in `parent` with an ino >=
 * `from_ino`, in ino order (= creation order, stable under unlinks), with
 * the table locked: `fn` must not call back into it.  A non-zero return
 * of `fn` stops the walk and is returned; else 0. */
int mfs_lockfiles_list(struct mfs_lockfiles *lf, uint64_t parent, uint64_t from_ino,
		       int (*fn)(void *arg, uint64_t ino, const char *name), void *arg);

/* Nodes in the table, unlinked ones still referenced included. */
size_t mfs_lockfiles_count(struct mfs_lockfiles *lf);

/* Nodes charged to `uid` (its share in use), the same way. */
size_t mfs_lockfiles_count_uid(struct mfs_lockfiles *lf, uid_t uid);

#endif
