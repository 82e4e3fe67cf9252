/* unpack — see include/unpack.h. */
#include "unpack.h"

#include <errno.h>
#include <string.h>

#include "hashwrite.h"

/* The member being received: extract.h hands members out one at a time,
 * each from entry to end. */
struct run {
	const struct mfs_unpack_ops *ops;
	void *arg;
	const struct mfs_cancel *cancel;
	struct mfs_hasher *h;
	struct mfs_hashwrite *w;   /* NULL: the member is walked over */
};

static void drop_member(struct run *r)
{
	mfs_hashwrite_free(r->w);
	r->w = NULL;
	mfs_hasher_free(r->h);
	r->h = NULL;
}

static int on_entry(void *arg, const char *name, int64_t size, uint64_t *limit)
{
	struct run *r = arg;
	struct mfs_unpack_member m = { .fd = -1 };
	int id, rc;

	drop_member(r);
	id = r->ops->entry(r->arg, name, size, &m);
	if (id < 0)
		return id;
	*limit = m.limit;
	if (m.fd < 0 && !m.mask)
		return id;
	if (m.mask) {
		rc = mfs_hasher_new(m.mask, &r->h);
		if (rc < 0)
			return rc;
	}
	rc = mfs_hashwrite_new(m.fd, r->h, 0, &r->w);
	return rc < 0 ? rc : id;
}

static int on_data(void *arg, int id, const void *buf, size_t len)
{
	struct run *r = arg;

	if (mfs_cancel_fired(r->cancel))
		return -ECANCELED;
	return r->w ? mfs_hashwrite_put(r->w, buf, len) : 0;
}

static int on_end(void *arg, int id, uint64_t bytes)
{
	struct run *r = arg;
	struct mfs_digests got;
	int rc = 0;

	memset(&got, 0, sizeof(got));
	if (r->w)
		rc = mfs_hashwrite_finish(r->w);
	if (rc == 0 && r->h)
		rc = mfs_hasher_final(r->h, &got);
	drop_member(r);
	return rc < 0 ? rc : r->ops->end(r->arg, id, bytes, &got);
}

int mfs_unpack_run(int fd, const struct mfs_extract_limits *lim, const struct mfs_unpack_ops *ops,
		   void *arg, const struct mfs_cancel *cancel, char *err, size_t errlen)
{
	const struct mfs_extract_ops xops = { on_entry, on_data, on_end };
	struct run r = { .ops = ops, .arg = arg, .cancel = cancel };
	int rc;

	rc = mfs_extract_fd(fd, MFS_EXTRACT_ZIP, lim, &xops, &r, err, errlen);
	drop_member(&r);
	return rc;
}
