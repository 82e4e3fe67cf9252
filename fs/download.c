/* download — see include/download.h. */
#include "download.h"

#include <errno.h>
#include <string.h>

#include "hashwrite.h"
#include "log.h"

struct run {
	const struct mfs_download *d;
	struct mfs_hashwrite *w;
};

static int on_body(void *arg, const void *buf, size_t len)
{
	struct run *r = arg;

	if (mfs_cancel_fired(r->d->get.cancel))
		return -ECANCELED;
	return mfs_hashwrite_put(r->w, buf, len);
}

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct run *r = arg;

	r->d->progress(r->d->progress_arg, done, total);
}

int mfs_download_run(const struct mfs_download *d, struct mfs_download_result *out, char *err,
		     size_t errlen)
{
	struct mfs_fetch_req req = d->get;
	struct mfs_hasher *h = NULL;
	struct run r = { .d = d };
	char msg[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if (d->mask) {
		rc = mfs_hasher_new(d->mask, &h);
		if (rc < 0) {
			mfs_seterr(err, errlen, "cannot start hashing: %s",
				   strerror_r(-rc, msg, sizeof(msg)));
			return rc;
		}
	}
	rc = mfs_hashwrite_new(d->fd, h, &r.w);
	if (rc < 0) {
		mfs_seterr(err, errlen, "cannot start writing: %s", strerror_r(-rc, msg, sizeof(msg)));
		goto out_free_hasher;
	}
	req.sink = on_body;
	req.progress = d->progress ? on_progress : NULL;
	req.arg = &r;
	rc = mfs_fetch(&req, &out->bytes, err, errlen);
	if (rc < 0)
		goto out_free_hashwrite;
	rc = mfs_hashwrite_finish(r.w);
	if (rc < 0) {
		mfs_seterr(err, errlen, "cannot write or hash the body: %s",
			   strerror_r(-rc, msg, sizeof(msg)));
		goto out_free_hashwrite;
	}
	if (h) {
		rc = mfs_hasher_final(h, &out->digests);
		if (rc < 0)
			mfs_seterr(err, errlen, "hashing failed");
	}
out_free_hashwrite:
	mfs_hashwrite_free(r.w);
out_free_hasher:
	mfs_hasher_free(h);
	return rc;
}
