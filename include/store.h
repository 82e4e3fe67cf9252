/* store — the private, content-addressed backing store.
 *
 *   <store>/            0700
 *     objects/<name>    verified objects, 0444, named by digest
 *     staging/          downloads in flight (flock'ed by their writer)
 *     quarantine/       bytes that failed verification, kept for forensics
 *                       (the newest, within a bound: mfs_store_trim_quarantine)
 *     state/<name>.used when the object was last opened (its mtime)
 *     state/<key>.fail  failures of a download: "COUNT UNTIL" (a back-off,
 *                       seconds since the epoch), shared by every process;
 *                       the key is the object and a digest of its source
 *     daemon.lock       held (flock) by the one daemon using this store
 *
 * Every file is opened relative to a directory fd with O_NOFOLLOW; nothing
 * outside the store is touched. */
#ifndef MFS_STORE_H
#define MFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "digest.h"

struct mfs_store {
	char *path;
	int dirfd;
	int objects_fd;
	int staging_fd;
	int quarantine_fd;
	int state_fd;
	int lock_fd; /* -1 unless mfs_store_lock_daemon succeeded */
};

#define MFS_STAGING_NAME_MAX 256

/* Bytes an object name takes at most: "sha512-", 128 hex digits, NUL. */
#define MFS_STORE_OBJECT_NAME_MAX (sizeof("sha512-") - 1 + 2 * MFS_DIGEST_MAX + 1)

/* Names the object that holds the bytes with digests `d`: "<algo>-<hex>"
 * of the strongest digest set (sha512 > sha256 > sha1), lowercase hex.
 * Writes at most `len` bytes into buf, NUL included (the name is cut if
 * len < MFS_STORE_OBJECT_NAME_MAX); "" if d->mask is 0. */
void mfs_store_object_name(const struct mfs_digests *d, char *buf, size_t len);
/* Names the object of a file signed in shards: "shards-" and the SHA-256
 * of every shard's start, end (64-bit big-endian) and digest, in order.
 * Its bytes are those whose shards match (mfs_digest_shards). */
void mfs_store_shards_name(const struct mfs_shard *s, size_t n, char *buf, size_t len);

/* Names what a zip of model section `section` is staged and quarantined
 * as: "archive-" and the section id (its members are objects of their
 * own).  Cut to fit `len`. */
void mfs_store_archive_name(const char *section, char *buf, size_t len);
/* The key (mfs_store_put_bundle) a signed model's bundle is kept under:
 * "sig-" and 16 hex digits of the SHA-256 of the bundle's url and the
 * model section's id, each with its NUL (per model: another model may
 * trust the same bundle otherwise).  `len` >= 21.  -EINVAL if `len` is
 * too small, -ENOMEM or -EIO from the hasher. */
int mfs_store_bundle_key(const char *url, const char *section, char *key, size_t len);

/* Opens (creating if needed, mode 0700) the store at `path` and its four
 * subdirectories.  Refuses a path that is a symlink.  -errno on failure. */
int mfs_store_open(struct mfs_store *st, const char *path);
/* Closes every fd (and so drops the daemon lock); safe on a zeroed store. */
void mfs_store_release(struct mfs_store *st);

/* Takes the store's daemon lock.  -EBUSY if another process holds it; then
 * *holder gets that process's pid if known (else 0). */
int mfs_store_lock_daemon(struct mfs_store *st, long *holder);

/* Rewrites the pid in the held daemon lock file (after daemonizing).
 * -EINVAL if the lock is not held, -errno on a write failure. */
int mfs_store_note_pid(struct mfs_store *st);

/* Removes staging files that no live writer holds (a crash's leftovers);
 * files another process is still writing are left alone.  Returns how many
 * were removed, or -errno. */
int mfs_store_clear_staging(struct mfs_store *st);

/* Creates a new staging file for object `object` and returns its fd
 * (O_RDWR, 0600, flock'ed exclusively for as long as it is open); its name
 * goes to `name` (MFS_STAGING_NAME_MAX bytes).  -errno on failure. */
int mfs_store_stage(struct mfs_store *st, const char *object, char *name, size_t len);
/* Makes a verified staging file the object: fchmod 0444 and rename into
 * objects/.  Never replaces an object that is there (readers may hold it):
 * -EEXIST, and the staging file stays.  When `sync` is true the data is
 * fsync'ed first.  The fd stays valid and names the object.  -EINVAL (a
 * bad name, or the staging name is not the file `fd` is open on), other
 * -errno. */
int mfs_store_commit(struct mfs_store *st, int fd, const char *staging_name,
		     const char *object, bool sync);
/* Unlinks a staging file that is being abandoned (fetch failed). */
int mfs_store_discard(struct mfs_store *st, const char *staging_name);
/* Moves a staging file to quarantine/<object>.<time>.<pid>.  The name used
 * goes to `qname` if non-NULL (MFS_STAGING_NAME_MAX bytes). */
int mfs_store_quarantine_staged(struct mfs_store *st, const char *staging_name,
				const char *object, char *qname, size_t len);
/* Moves objects/<object> to quarantine/ the same way (found corrupt),
 * if it is still the file `fd` is open on (-1: whatever is there):
 * -ESTALE if another file took its name meanwhile (it stays). */
int mfs_store_quarantine_object(struct mfs_store *st, const char *object, int fd,
				char *qname, size_t len);

/* Opens objects/<object> read-only with O_NOFOLLOW; -ENOENT if absent,
 * -EINVAL if it is not a regular file. */
int mfs_store_open_object(struct mfs_store *st, const char *object);

/* Looks at objects/<object> without opening it (lstat): 0 with *sb, or
 * -ENOENT, -EINVAL (not a regular file: never an object), -errno. */
int mfs_store_stat_object(struct mfs_store *st, const char *object, struct stat *sb);

/* The copies of `name` (an object, or an archive's mfs_store_archive_name)
 * in quarantine/, named as mfs_store_quarantine_* name them
 * (<name>.<time>.<pid>.<seq>): how many in *count, and the newest one's
 * <time> (seconds since the epoch, when it was quarantined) in *newest
 * (0 if none).  0 or -errno; -EINVAL for a name no object can have. */
int mfs_store_quarantined(struct mfs_store *st, const char *name, unsigned *count,
			  time_t *newest);

/* One object in objects/. */
struct mfs_store_object {
	char name[MFS_STORE_OBJECT_NAME_MAX];
	uint64_t size;       /* bytes it takes (st_size) */
	struct timespec used; /* last opened (mfs_store_note_use), else its mtime */
};

/* Lists the regular files in objects/ into *out (malloc'd, the caller's;
 * NULL when empty), sorted by `used`, oldest first, and *total gets the
 * sum of their sizes.  Returns how many, or -errno. */
ssize_t mfs_store_list_objects(struct mfs_store *st, struct mfs_store_object **out,
			       uint64_t *total);

/* Records that `object` was opened just now (state/<object>.used): it
 * survives restarts and is what eviction orders by.  -errno. */
int mfs_store_note_use(struct mfs_store *st, const char *object);

/* Removes objects/<object> (making room) and its state files; *was (may
 * be NULL) gets what it was (its inode, for whoever still registers it).
 * Readers holding it open keep their bytes.  0, -ENOENT, or -errno. */
int mfs_store_evict(struct mfs_store *st, const char *object, struct stat *was);

/* The failures recorded under `name` (the caller's key: the scheduler's
 * is the object and a digest of its source): 0 with *count and *until (a
 * back-off end, seconds since the epoch) set, -ENOENT if none, -errno. */
int mfs_store_get_failure(struct mfs_store *st, const char *object, unsigned *count,
			  time_t *until);
/* Records `count` failures and a back-off until `until` (atomically
 * replaced); mfs_store_clear_failure forgets them.  -errno. */
int mfs_store_set_failure(struct mfs_store *st, const char *object, unsigned count,
			  time_t until);
int mfs_store_clear_failure(struct mfs_store *st, const char *object);

/* A signed model's verified bundle, kept as state/<key>.bundle (written
 * whole, fsynced, renamed into place), so that a restart verifies it
 * again with no network.  get: its bytes into `buf`, which must hold
 * max + 1 bytes (one more tells a larger file: -EFBIG); the count, or
 * -ENOENT, -errno.  drop: gone (absent is fine). */
int mfs_store_put_bundle(struct mfs_store *st, const char *key, const void *data, size_t len);
ssize_t mfs_store_get_bundle(struct mfs_store *st, const char *key, void *buf, size_t max);
int mfs_store_drop_bundle(struct mfs_store *st, const char *key);

/* Keeps quarantine/ within `max` bytes: the newest files (by mtime) are
 * kept as long as they fit, the first that does not and all older ones
 * are deleted, `dropped(arg, name, bytes)` told of each
 * (may be NULL).  Serialised across processes (flock on the directory).
 * Returns how many were deleted, or -errno. */
int mfs_store_trim_quarantine(struct mfs_store *st, uint64_t max,
			      void (*dropped)(void *arg, const char *name, uint64_t bytes),
			      void *arg);

#endif
