/* download — see include/download.h. */
#include "download.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "hashwrite.h"
#include "ranges.h"
#include "log.h"

struct run {
	const struct mfs_download *d;
	off_t origin;                 /* the fd's offset where the body starts */
	struct mfs_hasher *h;
	struct mfs_hashwrite *w;
	uint64_t have;                /* body bytes in the file and the hash */
};

static int on_body(void *arg, const void *buf, size_t len)
{
	struct run *r = arg;
	int rc;

	if (mfs_cancel_fired(r->d->get.cancel))
		return -ECANCELED;
	rc = mfs_hashwrite_put(r->w, buf, len);
	if (rc == 0)
		r->have += len;
	return rc;
}

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct run *r = arg;

	r->d->progress(r->d->progress_arg, done, total);
}

/* A fresh file and hash from the body's first byte (`again`: what an
 * earlier try wrote is cut off).  -errno. */
static int begin(struct run *r, bool again)
{
	const struct mfs_download *d = r->d;
	int rc;

	mfs_hashwrite_free(r->w);
	r->w = NULL;
	mfs_hasher_free(r->h);
	r->h = NULL;
	r->have = 0;
	if (again && d->fd >= 0 &&
	    (ftruncate(d->fd, r->origin) < 0 || lseek(d->fd, r->origin, SEEK_SET) < 0))
		return -errno;
	if (d->mask) {
		rc = mfs_hasher_new(d->mask, &r->h);
		if (rc < 0)
			return rc;
	}
	return mfs_hashwrite_new(d->fd, r->h, d->write_unit, &r->w);
}

/* fetch's restart: the server sent the whole body again. */
static int start_over(void *arg)
{
	return begin(arg, true);
}

int mfs_download_run(const struct mfs_download *d, struct mfs_download_result *out, char *err,
		     size_t errlen)
{
	struct mfs_fetch_req req = d->get;
	struct mfs_fetch_info info;
	struct run r = { .d = d };
	char msg[128], validator[sizeof(info.validator)] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	if (d->fd < 0 && !d->mask) {
		mfs_seterr(err, errlen, "nothing to do: neither a file nor a digest");
		return -EINVAL;
	}
	r.origin = d->fd >= 0 ? lseek(d->fd, 0, SEEK_CUR) : 0;
	if (r.origin < 0)
		r.origin = 0;
	if (d->connections > 1 && d->fd >= 0 && !d->get.size_is_max &&
	    d->get.size >= d->parallel_min && d->get.size >= d->connections) {
		rc = mfs_ranges_run(d, out, err, errlen);
		if (rc != -ERANGE)
			return rc;
		mfs_info("%s: ranges not honoured; one stream instead", d->get.url);
		if (ftruncate(d->fd, r.origin) < 0 || lseek(d->fd, r.origin, SEEK_SET) < 0) {
			rc = -errno;
			mfs_seterr(err, errlen, "cannot start over: %s",
				   strerror_r(-rc, msg, sizeof(msg)));
			return rc;
		}
		memset(out, 0, sizeof(*out));
	}
	rc = begin(&r, false);
	if (rc < 0) {
		mfs_seterr(err, errlen, "cannot start writing and hashing: %s",
			   strerror_r(-rc, msg, sizeof(msg)));
		goto out_free;
	}
	req.sink = on_body;
	req.progress = d->progress ? on_progress : NULL;
	req.restart = start_over;
	req.arg = &r;
	for (;;) {
		struct mfs_download_retry retry;

		/* Resume only what a validator pins down; else from the start. */
		req.offset = r.have && validator[0] ? r.have : 0;
		req.if_range = req.offset ? validator : NULL;
		if (r.have && !req.offset && (rc = begin(&r, true)) < 0) {
			mfs_seterr(err, errlen, "cannot start over: %s",
				   strerror_r(-rc, msg, sizeof(msg)));
			break;
		}
		out->attempts++;
		rc = mfs_fetch(&req, &info, err, errlen);
		out->resumed_from = info.start;
		out->status = info.status;
		if (info.validator[0] && (info.start == 0 || !validator[0]))
			memcpy(validator, info.validator, sizeof(validator));
		if (rc == 0 || !info.transient || out->attempts > d->retries)
			break;
		retry = (struct mfs_download_retry){
			.attempt = out->attempts,
			.error = err,
			.url = req.url,
			.resume_from = r.have && validator[0] ? r.have : 0,
			.delay_ms = mfs_backoff_ms(d->base_delay_ms, out->attempts, info.retry_after),
		};
		mfs_debug("fetch %s: try %u failed (%s); again in %ld ms%s", req.url, retry.attempt,
			  err, retry.delay_ms, retry.resume_from ? ", resuming" : "");
		if (d->retrying)
			d->retrying(d->retrying_arg, &retry);
		if (mfs_backoff_wait(req.cancel, retry.delay_ms) < 0) {
			mfs_seterr(err, errlen, "cancelled");
			rc = -ECANCELED;
			break;
		}
	}
	out->bytes = r.have;
	if (rc < 0)
		goto out_free;
	rc = mfs_hashwrite_finish(r.w);
	if (rc < 0) {
		mfs_seterr(err, errlen, "cannot write or hash the body: %s",
			   strerror_r(-rc, msg, sizeof(msg)));
		goto out_free;
	}
	if (r.h) {
		rc = mfs_hasher_final(r.h, &out->digests);
		if (rc < 0)
			mfs_seterr(err, errlen, "hashing failed");
	}
out_free:
	mfs_hashwrite_free(r.w);
	mfs_hasher_free(r.h);
	return rc;
}
