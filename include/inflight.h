/* inflight — the downloads under way in this process, by key (a store
 * object's name, an archive's url): one at a time per key, whichever
 * scheduler asks.  A reload (generations.h) gives the new config a
 * scheduler of its own while the replaced one's downloads go on; an
 * unchanged model asked for in both would otherwise be downloaded twice,
 * and the second commit would replace the object the first one's readers
 * hold, so that one mount inode has two store inodes open at once, which
 * the kernel refuses (FUSE passthrough: the later open fails with EIO).
 * The one that waited looks in the store again before downloading.
 *
 * A flight is a struct mfs_flight embedded in the caller's own object (no
 * allocation); its key must stay valid while it is held.  No I/O. */
#ifndef MFS_INFLIGHT_H
#define MFS_INFLIGHT_H

#include "cancel.h"

struct mfs_flight {
	const char *key;
	struct mfs_flight *next;   /* the table's */
};

struct mfs_inflight;

/* An empty table.  -ENOMEM.  *out owned by the caller. */
int mfs_inflight_new(struct mfs_inflight **out);
/* Frees the table (no flight may be held any more).  NULL is a no-op. */
void mfs_inflight_free(struct mfs_inflight *t);

/* Holds `key` as flight `f` if no other flight holds it: 0, or -EBUSY
 * (nothing held).  A NULL table holds nothing: 0. */
int mfs_inflight_try(struct mfs_inflight *t, struct mfs_flight *f, const char *key);
/* Holds `key` as flight `f`, waiting while another flight holds it.
 * 0 once held; -ECANCELED (not held) if `cancel` (may be NULL) fired
 * before: a waiter looks at it when it starts and whenever
 * mfs_inflight_wake is called.  A NULL table holds nothing: 0 at once. */
int mfs_inflight_take(struct mfs_inflight *t, struct mfs_flight *f, const char *key,
		      const struct mfs_cancel *cancel);
/* Lets go of flight `f` (held by mfs_inflight_take on the same table; a
 * NULL table: no-op), waking those waiting for its key. */
void mfs_inflight_give(struct mfs_inflight *t, struct mfs_flight *f);
/* Wakes every waiter to look at its cancel again (call it after firing
 * one).  NULL is a no-op. */
void mfs_inflight_wake(struct mfs_inflight *t);

#endif
