/* quota — keeps a store within `store_max` bytes.  Before a download
 * starts, the bytes it will store are reserved; if the objects in the
 * store plus every reservation would pass the bound, the least recently
 * opened objects that are not busy (held open by a reader, being
 * re-hashed: the caller says) are evicted, oldest first, until the new
 * one fits.  When even evicting every free object would not make room,
 * or the one download is larger than the bound, nothing is evicted and
 * the reservation is refused.
 *
 * Recency is the store's (mfs_store_note_use), so it survives restarts.
 * The objects are counted afresh from objects/ at every reservation, so
 * objects another process (modelfsctl fetch) added or removed count too;
 * reservations are this process's own. */
#ifndef MFS_QUOTA_H
#define MFS_QUOTA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct mfs_quota {
	struct mfs_store *st;
	uint64_t max;         /* 0: no bound, nothing is ever evicted */
	uint64_t reserved;
	pthread_mutex_t lock;
};

/* What the caller knows about objects, asked during a reservation (with
 * whatever lock the caller holds around mfs_quota_reserve). */
struct mfs_quota_hooks {
	/* True if `object` must not be evicted now. */
	bool (*busy)(void *arg, const char *object);
	/* `object` (`bytes`, the inode `was`) was evicted: forget it, audit it. */
	void (*evicted)(void *arg, const char *object, uint64_t bytes, const struct stat *was);
	void *arg;
};

void mfs_quota_init(struct mfs_quota *q, struct mfs_store *st, uint64_t max);
void mfs_quota_release(struct mfs_quota *q);

/* Reserves `bytes` for a download, evicting as described above.  0; or
 * -ENOSPC with a one-line reason in `why` (nothing was evicted then), or
 * -errno of reading the store. */
int mfs_quota_reserve(struct mfs_quota *q, uint64_t bytes, const struct mfs_quota_hooks *h,
		      char *why, size_t whylen);

/* Ends a reservation (the download's object, if it was committed, now
 * counts among the store's objects). */
void mfs_quota_unreserve(struct mfs_quota *q, uint64_t bytes);

#endif
