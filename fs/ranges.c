/* ranges — see include/ranges.h. */
#include "ranges.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "digest.h"
#include "log.h"
#include "pagecache.h"

#define HASH_STEP (1u << 20)   /* bytes read back and hashed at a time */
#define POLL_MS 50             /* how often the hasher looks at the caller's cancel */

struct ranges;

struct part {
	struct ranges *rg;
	unsigned no;               /* from 1 */
	uint64_t begin, end;       /* [begin, end) of the body */
	uint64_t done;             /* bytes of it written, from begin (under rg->lock) */
	char *held;                /* bytes received after those, not yet written: */
	size_t nheld;              /* up to the end of their page-cache unit */
	bool told;                 /* it set rg->ranged */
	unsigned attempts;
	int rc;
	char err[320];
	pthread_t thread;
	bool running;
};

struct ranges {
	const struct mfs_download *d;
	off_t origin;              /* the fd's offset where the body starts */
	struct mfs_cancel stop;    /* fired by a caller's cancel or the first failure */
	pthread_mutex_t lock;      /* done, ranged, failed; and the hook */
	pthread_cond_t moved;
	bool ranged;               /* part 1 got a 206: the others may start */
	bool failed;
	struct part *parts;
	unsigned n;
};

static int write_all(int fd, const char *buf, size_t len, off_t at)
{
	while (len) {
		ssize_t w = pwrite(fd, buf, len, at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		buf += w;
		len -= (size_t)w;
		at += w;
	}
	return 0;
}

/* Writes what the part holds; done moves on.  -errno. */
static int flush(struct part *p)
{
	struct ranges *rg = p->rg;
	int rc;

	if (!p->nheld)
		return 0;
	rc = write_all(rg->d->fd, p->held, p->nheld, rg->origin + (off_t)(p->begin + p->done));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&rg->lock);
	p->done += p->nheld;
	pthread_cond_broadcast(&rg->moved);
	pthread_mutex_unlock(&rg->lock);
	p->nheld = 0;
	return 0;
}

/* Bytes are held until they reach the end of their 2 MiB unit of the file
 * (or of the part), then written in one pwrite (pagecache.h). */
static int on_body(void *arg, const void *buf, size_t len)
{
	struct part *p = arg;
	struct ranges *rg = p->rg;
	const char *b = buf;
	int rc;

	if (mfs_cancel_fired(&rg->stop))
		return -ECANCELED;
	if (!p->told) {
		pthread_mutex_lock(&rg->lock);
		rg->ranged = true;
		pthread_cond_broadcast(&rg->moved);
		pthread_mutex_unlock(&rg->lock);
		p->told = true;
	}
	while (len) {
		uint64_t left = p->end - p->begin - p->done;
		size_t cap = mfs_pagecache_room(rg->origin + (off_t)(p->begin + p->done),
						 rg->d->write_unit), n;

		if (cap > left)
			cap = (size_t)left;
		if (cap <= p->nheld)
			return -EFBIG;     /* (fetch bounds the body to the range) */
		n = cap - p->nheld < len ? cap - p->nheld : len;
		memcpy(p->held + p->nheld, b, n);
		p->nheld += n;
		b += n;
		len -= n;
		if (p->nheld == cap && (rc = flush(p)) < 0)
			return rc;
	}
	return 0;
}

/* fetch's restart: a 200 to a range request (to the first part's, or to
 * a resume after the server changed its mind). */
static int whole_body(void *arg)
{
	(void)arg;
	return -ERANGE;
}

/* Tells the caller's hook about a retry (one at a time). */
static void retrying(struct part *p, const struct mfs_download_retry *r)
{
	struct ranges *rg = p->rg;

	mfs_debug("fetch %s: part %u (bytes %" PRIu64 "-%" PRIu64 ") try %u failed (%s); "
		  "again in %ld ms", r->url, p->no, p->begin, p->end - 1, r->attempt, r->error,
		  r->delay_ms);
	if (!rg->d->retrying)
		return;
	pthread_mutex_lock(&rg->lock);
	rg->d->retrying(rg->d->retrying_arg, r);
	pthread_mutex_unlock(&rg->lock);
}

/* One part: its range from get.url, retried and resumed, then from each
 * alternative URL in turn. */
static void *run_part(void *arg)
{
	struct part *p = arg;
	struct ranges *rg = p->rg;
	const struct mfs_download *d = rg->d;
	struct mfs_fetch_req req = d->get;
	struct mfs_fetch_info info;
	char validator[sizeof(info.validator)] = "";
	const char *const *alt = d->alt_urls;
	unsigned tries = 0;
	int rc, wrc;

	req.cancel = &rg->stop;
	req.sink = on_body;
	req.arg = p;
	req.progress = NULL;
	req.restart = whole_body;
	for (;;) {
		struct mfs_download_retry retry;
		uint64_t done;

		pthread_mutex_lock(&rg->lock);
		done = p->done;
		pthread_mutex_unlock(&rg->lock);
		/* A try that failed after its last byte came: nothing is left. */
		if (done == p->end - p->begin) {
			rc = 0;
			break;
		}
		req.offset = p->begin + done;
		req.range_end = p->end;
		/* A resume names what it continues; a part's first try, and a
		 * new URL, take whatever is there: the digest of the whole
		 * judges it. */
		req.if_range = done && validator[0] ? validator : NULL;
		tries++;
		p->attempts++;
		rc = mfs_fetch(&req, &info, p->err, sizeof(p->err));
		/* What came before a cut is written: the resume asks for the
		 * rest only. */
		wrc = flush(p);
		if (wrc < 0) {
			char msg[128];

			mfs_seterr(p->err, sizeof(p->err), "sink: %s",
				   strerror_r(-wrc, msg, sizeof(msg)));
			rc = wrc;
			break;
		}
		if (info.validator[0] && !validator[0])
			memcpy(validator, info.validator, sizeof(validator));
		if (rc == 0 || rc == -ECANCELED || rc == -ERANGE)
			break;
		if (!info.transient || tries > d->retries) {
			/* This URL gave up on the part: the next one, if any. */
			if (!alt || !*alt || mfs_cancel_fired(&rg->stop))
				break;
			retry = (struct mfs_download_retry){
				.attempt = tries, .error = p->err, .url = req.url, .part = p->no,
				.next_url = *alt,
			};
			retrying(p, &retry);
			req.url = *alt++;
			/* The other URLs are mirrors: no S3 signature, no
			 * credentials go there (acquire signs only the source's
			 * own URLs). */
			req.aws_sigv4 = req.aws_userpwd = req.aws_token = NULL;
			validator[0] = '\0';
			tries = 0;
			continue;
		}
		retry = (struct mfs_download_retry){
			.attempt = tries, .error = p->err, .url = req.url, .part = p->no,
			.resume_from = p->begin + p->done,
			.delay_ms = mfs_backoff_ms(d->base_delay_ms, tries, info.retry_after),
		};
		retrying(p, &retry);
		if (mfs_backoff_wait(&rg->stop, retry.delay_ms) < 0) {
			rc = -ECANCELED;
			break;
		}
	}
	p->rc = rc;
	pthread_mutex_lock(&rg->lock);
	if (rc < 0 && !rg->failed) {
		rg->failed = true;
		mfs_cancel_fire(&rg->stop);
	}
	pthread_cond_broadcast(&rg->moved);
	pthread_mutex_unlock(&rg->lock);
	return NULL;
}

static bool is_failed(struct ranges *rg)
{
	bool failed;

	pthread_mutex_lock(&rg->lock);
	failed = rg->failed;
	pthread_mutex_unlock(&rg->lock);
	return failed;
}

static int start_part(struct part *p)
{
	int rc;

	p->held = malloc(MFS_PAGECACHE_UNIT);
	if (!p->held) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		p->rc = -ENOMEM;
		return -ENOMEM;
	}
	rc = pthread_create(&p->thread, NULL, run_part, p);
	if (rc) {
		snprintf(p->err, sizeof(p->err), "cannot start a thread: %s", strerror(rc));
		p->rc = -rc;
		return -rc;
	}
	p->running = true;
	return 0;
}

/* Bytes of the body written without a gap from its start. */
static uint64_t contiguous(const struct ranges *rg)
{
	uint64_t have = 0;

	for (unsigned i = 0; i < rg->n; i++) {
		const struct part *p = &rg->parts[i];

		have = p->begin + p->done;
		if (p->begin + p->done < p->end)
			break;
	}
	return have;
}

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Waits until part 1 knows whether the server serves ranges (or it
 * failed).  Checks the caller's cancel meanwhile. */
static void await_first(struct ranges *rg)
{
	struct timespec ts;

	pthread_mutex_lock(&rg->lock);
	while (!rg->ranged && !rg->failed) {
		if (mfs_cancel_fired(rg->d->get.cancel))
			mfs_cancel_fire(&rg->stop);
		deadline(&ts, POLL_MS);
		pthread_cond_timedwait(&rg->moved, &rg->lock, &ts);
	}
	pthread_mutex_unlock(&rg->lock);
}

/* Hashes the body in order as it arrives; returns once it is all hashed
 * (0) or a part failed (-1). */
static int follow(struct ranges *rg, struct mfs_hasher *h, char *buf, char *err, size_t errlen)
{
	const struct mfs_download *d = rg->d;
	uint64_t hashed = 0, size = d->get.size;
	struct timespec ts;
	char msg[128];
	bool failed;

	while (hashed < size) {
		uint64_t have = 0;

		pthread_mutex_lock(&rg->lock);
		while (!rg->failed && (have = contiguous(rg)) <= hashed) {
			if (mfs_cancel_fired(d->get.cancel))
				mfs_cancel_fire(&rg->stop);
			deadline(&ts, POLL_MS);
			pthread_cond_timedwait(&rg->moved, &rg->lock, &ts);
		}
		failed = rg->failed;
		pthread_mutex_unlock(&rg->lock);
		if (failed)
			return -1;
		while (hashed < have) {
			size_t len = have - hashed < HASH_STEP ? (size_t)(have - hashed) : HASH_STEP;
			ssize_t r = pread(d->fd, buf, len, rg->origin + (off_t)hashed);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || (h && mfs_hasher_update(h, buf, (size_t)r) < 0)) {
				mfs_seterr(err, errlen, "cannot read back and hash the body: %s",
					   r < 0 ? strerror_r(errno, msg, sizeof(msg)) : "short read");
				mfs_cancel_fire(&rg->stop);
				return -2;
			}
			hashed += (uint64_t)r;
		}
		if (d->progress)
			d->progress(d->progress_arg, hashed, size);
	}
	return 0;
}

int mfs_ranges_run(const struct mfs_download *d, struct mfs_download_result *out, char *err,
		   size_t errlen)
{
	struct ranges rg = { .d = d, .n = d->connections };
	struct mfs_hasher *h = NULL;
	uint64_t size = d->get.size, step;
	char *buf = NULL;
	int rc = 0, followed;

	memset(out, 0, sizeof(*out));
	if (d->fd < 0 || d->get.size_is_max || rg.n < 2 || size < rg.n) {
		mfs_seterr(err, errlen, "bad parallel download request");
		return -EINVAL;
	}
	rg.origin = lseek(d->fd, 0, SEEK_CUR);
	if (rg.origin < 0)
		rg.origin = 0;
	rg.parts = calloc(rg.n, sizeof(*rg.parts));
	buf = malloc(HASH_STEP);
	if (!rg.parts || !buf || (d->mask && mfs_hasher_new(d->mask, &h) < 0)) {
		mfs_seterr(err, errlen, "out of memory");
		free(rg.parts);
		free(buf);
		return -ENOMEM;
	}
	mfs_cancel_init(&rg.stop);
	pthread_mutex_init(&rg.lock, NULL);
	pthread_cond_init(&rg.moved, NULL);
	step = (size + rg.n - 1) / rg.n;
	for (unsigned i = 0; i < rg.n; i++) {
		struct part *p = &rg.parts[i];

		p->rg = &rg;
		p->no = i + 1;
		p->begin = step * i < size ? step * i : size;
		p->end = step * (i + 1) < size ? step * (i + 1) : size;
	}
	/* (A last part can be empty only when size < n * step - step.) */
	while (rg.n > 1 && rg.parts[rg.n - 1].begin == rg.parts[rg.n - 1].end)
		rg.n--;

	if (start_part(&rg.parts[0]) == 0) {
		await_first(&rg);
		for (unsigned i = 1; i < rg.n && !is_failed(&rg); i++) {
			if (start_part(&rg.parts[i]) < 0) {
				pthread_mutex_lock(&rg.lock);
				rg.failed = true;
				mfs_cancel_fire(&rg.stop);
				pthread_mutex_unlock(&rg.lock);
			}
		}
	} else {
		rg.failed = true;
	}
	followed = is_failed(&rg) ? -1 : follow(&rg, h, buf, err, errlen);

	for (unsigned i = 0; i < rg.n; i++) {
		struct part *p = &rg.parts[i];

		if (p->running)
			pthread_join(p->thread, NULL);
		free(p->held);
		out->attempts += p->attempts;
		out->bytes += p->done;
	}
	if (followed == -2) {
		rc = -EIO;
	} else if (followed == -1) {
		/* The first part that failed for its own reason, not because
		 * another stopped it. */
		const struct part *bad = NULL;

		for (unsigned i = 0; i < rg.n; i++) {
			if (rg.parts[i].rc < 0 && (!bad || (bad->rc == -ECANCELED && rg.parts[i].rc != -ECANCELED)))
				bad = &rg.parts[i];
		}
		rc = bad ? bad->rc : -EIO;
		if (rc == -ECANCELED && !mfs_cancel_fired(d->get.cancel))
			rc = -EIO;
		if (rc == -ERANGE)
			mfs_seterr(err, errlen, "ranges not honoured");
		else if (bad && bad->no == 1 && !rg.ranged)
			mfs_seterr(err, errlen, "%s", bad->err);
		else if (bad)
			mfs_seterr(err, errlen, "part %u of %u (bytes %" PRIu64 "-%" PRIu64 "): %s",
				   bad->no, rg.n, bad->begin, bad->end - 1, bad->err);
		else
			mfs_seterr(err, errlen, "cannot start the parts");
	} else if (h && mfs_hasher_final(h, &out->digests) < 0) {
		mfs_seterr(err, errlen, "hashing failed");
		rc = -EIO;
	}
	out->status = rc == 0 ? 206 : 0;
	out->parts = rc == 0 ? rg.n : 0;
	mfs_hasher_free(h);
	pthread_cond_destroy(&rg.moved);
	pthread_mutex_destroy(&rg.lock);
	mfs_cancel_release(&rg.stop);
	free(rg.parts);
	free(buf);
	return rc;
}
