/* quota — see include/quota.h. */
#include "quota.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void mfs_quota_init(struct mfs_quota *q, struct mfs_store *st, uint64_t max)
{
	q->st = st;
	q->max = max;
	q->reserved = 0;
	pthread_mutex_init(&q->lock, NULL);
}

void mfs_quota_release(struct mfs_quota *q)
{
	pthread_mutex_destroy(&q->lock);
}

/* Bytes that must go for `bytes` more to fit (0: it fits). */
static uint64_t overflow(const struct mfs_quota *q, uint64_t used, uint64_t bytes)
{
	uint64_t want = used + q->reserved + bytes;

	return want > q->max ? want - q->max : 0;
}

int mfs_quota_reserve(struct mfs_quota *q, uint64_t bytes, const struct mfs_quota_hooks *h,
		      char *why, size_t whylen)
{
	struct mfs_store_object *objs = NULL;
	uint64_t used = 0, need, freeable = 0;
	ssize_t n = 0;
	int rc = 0;

	if (q->max == 0)
		return 0;
	pthread_mutex_lock(&q->lock);
	if (bytes > q->max) {
		mfs_seterr(why, whylen, "%" PRIu64 " bytes do not fit in store_max (%" PRIu64 ")",
			   bytes, q->max);
		rc = -ENOSPC;
		goto out_unlock;
	}
	n = mfs_store_list_objects(q->st, &objs, &used);
	if (n < 0) {
		rc = (int)n;
		mfs_seterr(why, whylen, "cannot list the store's objects: %s", strerror(-rc));
		goto out_unlock;
	}
	need = overflow(q, used, bytes);
	/* Count first, evict second: a reservation that cannot fit must not
	 * disturb anything. */
	for (ssize_t i = 0; need && i < n; i++) {
		if (!h->busy(h->arg, objs[i].name))
			freeable += objs[i].size;
	}
	if (freeable < need) {
		mfs_seterr(why, whylen, "%" PRIu64 " bytes do not fit in store_max (%" PRIu64 "): %"
			   PRIu64 " used, %" PRIu64 " reserved, %" PRIu64 " of it in use",
			   bytes, q->max, used, q->reserved, used - freeable);
		rc = -ENOSPC;
		goto out_unlock;
	}
	for (ssize_t i = 0; need && i < n; i++) {
		struct stat was;
		int erc;

		if (h->busy(h->arg, objs[i].name))
			continue;
		erc = mfs_store_evict(q->st, objs[i].name, &was);
		if (erc < 0 && erc != -ENOENT) {
			mfs_warn("cannot evict '%s': %s", objs[i].name, strerror(-erc));
			continue;
		}
		need = objs[i].size >= need ? 0 : need - objs[i].size;
		if (erc == 0)
			h->evicted(h->arg, objs[i].name, objs[i].size, &was);
	}
	if (need) {
		/* An eviction failed: what was freed stays freed. */
		mfs_seterr(why, whylen, "could not free enough of the store for %" PRIu64 " bytes",
			   bytes);
		rc = -ENOSPC;
		goto out_unlock;
	}
	q->reserved += bytes;
out_unlock:
	pthread_mutex_unlock(&q->lock);
	free(objs);
	return rc;
}

void mfs_quota_unreserve(struct mfs_quota *q, uint64_t bytes)
{
	if (q->max == 0)
		return;
	pthread_mutex_lock(&q->lock);
	q->reserved = bytes > q->reserved ? 0 : q->reserved - bytes;
	pthread_mutex_unlock(&q->lock);
}
