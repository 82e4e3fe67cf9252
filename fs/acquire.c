/* verify — see include/verify.h. */
#include "verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extract.h"
#include "fetch.h"
#include "hashwrite.h"
#include "log.h"

#define HEX_MAX (2 * MFS_DIGEST_MAX + 1)

struct hexpair {
	char expected[HEX_MAX];
	char actual[HEX_MAX];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void audit(const struct mfs_verify_ctx *c, const struct mfs_model *m, const char *event,
		  enum mfs_algo algo, const struct hexpair *hx, int64_t bytes, int64_t ms,
		  const char *error)
{
	struct mfs_audit_event ev = {
		.event = event,
		.path = m->path,
		.url = m->url,
		.algo = hx ? mfs_algo_name(algo) : NULL,
		.expected = hx ? hx->expected : NULL,
		.actual = hx && hx->actual[0] ? hx->actual : NULL,
		.error = error,
		.bytes = bytes,
		.ms = ms,
	};

	if (c->audit)
		mfs_audit_write(c->audit, &ev);
}

/* Compares what was hashed with what is declared; fills `hx` with the
 * algorithm that decides (the first mismatch, else the strongest). */
static bool judge(const struct mfs_digests *want, uint64_t want_size,
		  const struct mfs_digests *got, uint64_t bytes, enum mfs_algo *algo,
		  struct hexpair *hx)
{
	bool ok = mfs_digests_match(want, got, algo);

	if (ok)
		*algo = mfs_algo_strongest(want->mask);
	mfs_hex_encode(want->d[*algo], mfs_algo_len(*algo), hx->expected);
	if (got->mask & MFS_ALGO_BIT(*algo))
		mfs_hex_encode(got->d[*algo], mfs_algo_len(*algo), hx->actual);
	else
		hx->actual[0] = '\0';
	return ok && bytes == want_size;
}

static void object_name(const struct mfs_verify_ctx *c, size_t mi, char *buf, size_t len)
{
	mfs_model_object_name(&c->cfg->models[mi], buf, len);
}

int mfs_verify_stored(const struct mfs_verify_ctx *c, size_t mi)
{
	const struct mfs_model *m = &c->cfg->models[mi];
	char object[16 + HEX_MAX];
	struct mfs_digests got = { 0 };
	struct hexpair hx;
	enum mfs_algo algo = mfs_algo_strongest(m->digests.mask);
	uint64_t bytes = 0;
	int64_t t0 = now_ms();
	char err[128] = "";
	int fd, rc;

	object_name(c, mi, object, sizeof(object));
	fd = mfs_store_open_object(c->store, object);
	if (fd == -ENOENT)
		return -ENOENT;
	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot open stored object: %s", strerror(-fd));
	} else {
		rc = mfs_digest_fd(fd, m->digests.mask, &got, &bytes);
		if (rc < 0)
			snprintf(err, sizeof(err), "cannot hash stored object: %s", strerror(-rc));
		else if (judge(&m->digests, m->size, &got, bytes, &algo, &hx)) {
			audit(c, m, "verify_ok", algo, &hx, (int64_t)bytes, now_ms() - t0, NULL);
			mfs_info("verified '%s' from the store", m->path);
			return fd;
		} else if (bytes != m->size)
			snprintf(err, sizeof(err), "size %llu, expected %llu",
				 (unsigned long long)bytes, (unsigned long long)m->size);
		else
			snprintf(err, sizeof(err), "%s mismatch", mfs_algo_name(algo));
		close(fd);
	}
	judge(&m->digests, m->size, &got, bytes, &algo, &hx);
	audit(c, m, "store_corrupt", algo, &hx, (int64_t)bytes, now_ms() - t0, err);
	mfs_warn("stored object for '%s' is corrupt (%s); quarantined, fetching again",
		 m->path, err);
	rc = mfs_store_quarantine_object(c->store, object, NULL, 0);
	if (rc < 0 && rc != -ENOENT)
		mfs_err("cannot quarantine object '%s': %s", object, strerror(-rc));
	return -ENOENT;
}

/* One download into a staging file, hashed in the write path. */
struct download {
	const struct mfs_verify_ctx *c;
	const struct mfs_source *src;
	const char *url;
	uint64_t size;
	bool size_is_max;
	unsigned mask;                  /* 0: nothing to hash */
	const char *object;             /* names the staging file */
	size_t progress_model;
	int fd;
	char staging[MFS_STAGING_NAME_MAX];
	struct mfs_hasher *h;
	struct mfs_hashwrite *w;
	struct mfs_digests got;
	uint64_t bytes;
	char err[256];
};

static int dl_sink(void *arg, const void *buf, size_t len)
{
	struct download *d = arg;

	if (d->c->stopping && atomic_load(d->c->stopping))
		return -ECANCELED;
	return mfs_hashwrite_put(d->w, buf, len);
}

static void dl_progress(void *arg, uint64_t done, uint64_t total)
{
	struct download *d = arg;

	if (d->c->progress)
		d->c->progress(d->c->progress_arg, d->progress_model, done, total);
}

/* Returns 0 with d->fd open on the staged bytes (the caller commits,
 * quarantines or discards d->staging and closes it), or -EIO with d->err;
 * nothing is left behind then. */
static int download(struct download *d)
{
	const struct mfs_config *cfg = d->c->cfg;
	int rc;

	d->h = NULL;
	d->w = NULL;
	d->fd = mfs_store_stage(d->c->store, d->object, d->staging, sizeof(d->staging));
	if (d->fd < 0) {
		snprintf(d->err, sizeof(d->err), "cannot create staging file: %s", strerror(-d->fd));
		return -EIO;
	}
	if (d->mask) {
		rc = mfs_hasher_new(d->mask, &d->h);
		if (rc < 0) {
			snprintf(d->err, sizeof(d->err), "cannot start hashing: %s", strerror(-rc));
			goto out_discard;
		}
	}
	rc = mfs_hashwrite_new(d->fd, d->h, &d->w);
	if (rc < 0) {
		snprintf(d->err, sizeof(d->err), "cannot start hashing: %s", strerror(-rc));
		goto out_discard;
	}
	struct mfs_fetch_req req = {
		.url = d->url,
		.ca_file = d->src->ca_file,
		.allow_http = d->src->allow_http,
		.redirect_hosts = (const char *const *)d->src->redirect_hosts,
		.size = d->size,
		.size_is_max = d->size_is_max,
		.connect_timeout = cfg->connect_timeout,
		.low_speed_limit = cfg->low_speed_limit,
		.low_speed_time = cfg->low_speed_time,
		.sink = dl_sink,
		.progress = dl_progress,
		.arg = d,
	};
	rc = mfs_fetch(&req, &d->bytes, d->err, sizeof(d->err));
	if (rc < 0)
		goto out_discard;
	rc = mfs_hashwrite_finish(d->w);
	if (rc < 0) {
		snprintf(d->err, sizeof(d->err), "cannot write or hash the body: %s", strerror(-rc));
		goto out_discard;
	}
	mfs_hashwrite_free(d->w);
	d->w = NULL;
	if (d->h) {
		rc = mfs_hasher_final(d->h, &d->got);
		if (rc < 0) {
			snprintf(d->err, sizeof(d->err), "hashing failed: %s", strerror(-rc));
			goto out_discard;
		}
	}
	mfs_hasher_free(d->h);
	d->h = NULL;
	return 0;

out_discard:
	mfs_hashwrite_free(d->w);
	d->w = NULL;
	mfs_hasher_free(d->h);
	d->h = NULL;
	mfs_store_discard(d->c->store, d->staging);
	close(d->fd);
	d->fd = -1;
	return -EIO;
}

/* Moves rejected staged bytes to quarantine/; names the file in `err`. */
static void quarantine(const struct mfs_verify_ctx *c, const char *staging, const char *object,
		       char *note, size_t len)
{
	char qname[MFS_STAGING_NAME_MAX] = "";
	int rc = mfs_store_quarantine_staged(c->store, staging, object, qname, sizeof(qname));

	if (rc < 0) {
		mfs_err("cannot quarantine '%s': %s", staging, strerror(-rc));
		mfs_store_discard(c->store, staging);
		snprintf(note, len, "bytes discarded");
	} else {
		snprintf(note, len, "bytes kept in quarantine/%s", qname);
	}
}

int mfs_verify_fetch(const struct mfs_verify_ctx *c, size_t mi)
{
	const struct mfs_model *m = &c->cfg->models[mi];
	char object[16 + HEX_MAX], note[MFS_STAGING_NAME_MAX + 32], err[MFS_STAGING_NAME_MAX + 64];
	struct download d = {
		.c = c, .src = m->source, .url = m->url, .size = m->size,
		.mask = m->digests.mask, .object = object, .progress_model = mi,
	};
	struct hexpair hx;
	enum mfs_algo algo;
	int64_t t0 = now_ms();
	int rc;

	object_name(c, mi, object, sizeof(object));
	audit(c, m, "fetch_start", 0, NULL, (int64_t)m->size, -1, NULL);
	if (download(&d) < 0) {
		audit(c, m, "fetch_failed", 0, NULL, (int64_t)d.bytes, now_ms() - t0, d.err);
		mfs_err("fetch '%s' failed: %s", m->path, d.err);
		return -EIO;
	}
	audit(c, m, "fetch_ok", 0, NULL, (int64_t)d.bytes, now_ms() - t0, NULL);
	if (!judge(&m->digests, m->size, &d.got, d.bytes, &algo, &hx)) {
		quarantine(c, d.staging, object, note, sizeof(note));
		snprintf(err, sizeof(err), "%s mismatch; %s", mfs_algo_name(algo), note);
		audit(c, m, "verify_failed", algo, &hx, (int64_t)d.bytes, now_ms() - t0, err);
		mfs_err("verify '%s' failed: %s expected %s, got %s (from %s)", m->path,
			mfs_algo_name(algo), hx.expected, hx.actual, m->url);
		close(d.fd);
		return -EIO;
	}
	rc = mfs_store_commit(c->store, d.fd, d.staging, object, c->fsync);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot commit to the store: %s", strerror(-rc));
		audit(c, m, "fetch_failed", 0, NULL, (int64_t)d.bytes, now_ms() - t0, err);
		mfs_err("fetch '%s' failed: %s", m->path, err);
		mfs_store_discard(c->store, d.staging);
		close(d.fd);
		return -EIO;
	}
	audit(c, m, "verify_ok", algo, &hx, (int64_t)m->size, now_ms() - t0, NULL);
	if (m->weak)
		mfs_warn("'%s' is verified by SHA-1 only (weak)", m->path);
	mfs_info("fetched and verified '%s' (%llu bytes, %lld ms)", m->path,
		 (unsigned long long)m->size, (long long)(now_ms() - t0));
	return d.fd;
}

/* One listed member of the archive being walked. */
struct member {
	const char *name;               /* member name in the archive */
	size_t mi;                      /* index into cfg->models */
	int todo;                       /* position in todo[]; -1: bytes skipped */
	bool seen, ended, ok;
	int fd;                         /* staging fd of a wanted member */
	char staging[MFS_STAGING_NAME_MAX];
	char object[16 + HEX_MAX];
	struct mfs_hasher *h;
	struct mfs_hashwrite *w;        /* its bytes go there, until on_end */
	uint64_t bytes;
	enum mfs_algo algo;
	struct hexpair hx;
};

struct walk {
	const struct mfs_verify_ctx *c;
	struct member *m;               /* sorted by name */
	size_t n;
};

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int on_entry(void *arg, const char *name, int64_t size, uint64_t *limit)
{
	struct walk *w = arg;
	struct member key = { .name = name }, *mb;
	int rc;

	mb = bsearch(&key, w->m, w->n, sizeof(*w->m), cmp_member);
	if (!mb)
		return -ENOENT;
	mb->seen = true;
	*limit = w->c->cfg->models[mb->mi].size;
	if (mb->todo < 0)
		return (int)(mb - w->m);
	mb->fd = mfs_store_stage(w->c->store, mb->object, mb->staging, sizeof(mb->staging));
	if (mb->fd < 0)
		return mb->fd;
	rc = mfs_hasher_new(w->c->cfg->models[mb->mi].digests.mask, &mb->h);
	if (rc == 0)
		rc = mfs_hashwrite_new(mb->fd, mb->h, &mb->w);
	return rc < 0 ? rc : (int)(mb - w->m);
}

static int on_data(void *arg, int id, const void *buf, size_t len)
{
	struct walk *w = arg;
	struct member *mb = &w->m[id];

	if (mb->todo < 0)
		return 0;
	if (w->c->stopping && atomic_load(w->c->stopping))
		return -ECANCELED;
	return mfs_hashwrite_put(mb->w, buf, len);
}

static int on_end(void *arg, int id, uint64_t bytes)
{
	struct walk *w = arg;
	struct member *mb = &w->m[id];
	const struct mfs_model *m = &w->c->cfg->models[mb->mi];
	struct mfs_digests got;
	int rc;

	mb->bytes = bytes;
	if (mb->todo < 0)
		return 0;
	rc = mfs_hashwrite_finish(mb->w);
	mfs_hashwrite_free(mb->w);
	mb->w = NULL;
	if (rc < 0)
		return rc;
	rc = mfs_hasher_final(mb->h, &got);
	if (rc < 0)
		return rc;
	mb->ended = true;
	mb->ok = judge(&m->digests, m->size, &got, bytes, &mb->algo, &mb->hx);
	return 0;
}

/* Audits one failure line for every wanted member; the member that caused
 * it gets its own reason. */
static void reject_all(const struct walk *w, const char *why, int64_t t0)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct member *mb = &w->m[i];
		const struct mfs_model *m = &w->c->cfg->models[mb->mi];
		char err[1600];

		if (mb->todo < 0)
			continue;
		if (mb->ended && !mb->ok) {
			snprintf(err, sizeof(err), "%s mismatch in member '%s'; %s",
				 mfs_algo_name(mb->algo), mb->name, why);
			audit(w->c, m, "verify_failed", mb->algo, &mb->hx, (int64_t)mb->bytes,
			      now_ms() - t0, err);
			mfs_err("verify '%s' failed: %s", m->path, err);
		} else {
			audit(w->c, m, "fetch_failed", 0, NULL, -1, now_ms() - t0, why);
			mfs_err("fetch '%s' failed: %s", m->path, why);
		}
	}
}

void mfs_verify_archive(const struct mfs_verify_ctx *c, const struct mfs_archive *a,
			const size_t *todo, size_t n, int *fds)
{
	char object[64 + 16], why[1024] = "", note[MFS_STAGING_NAME_MAX + 32];
	struct walk w = { .c = c, .n = a->nmembers };
	struct download d = {
		.c = c, .src = a->source, .url = a->url, .object = object,
		.size = a->size ? a->size : a->max_size, .size_is_max = a->size == 0,
		.mask = a->digests.mask, .progress_model = n ? todo[0] : 0,
	};
	struct mfs_extract_limits lim = { .max_entries = 2 * a->nmembers + 64 };
	const struct mfs_extract_ops ops = { on_entry, on_data, on_end };
	int64_t t0 = now_ms();
	bool all_ok;
	int rc;

	for (size_t i = 0; i < n; i++)
		fds[i] = -EIO;
	snprintf(object, sizeof(object), "archive-%.60s", a->name);
	w.m = calloc(a->nmembers ? a->nmembers : 1, sizeof(*w.m));
	if (!w.m) {
		mfs_err("archive '%s': out of memory", a->name);
		return;
	}
	for (size_t i = 0; i < a->nmembers; i++) {
		struct member *mb = &w.m[i];

		mb->mi = a->members[i];
		mb->name = c->cfg->models[mb->mi].member;
		mb->todo = -1;
		mb->fd = -1;
		lim.max_total += c->cfg->models[mb->mi].size;
		for (size_t t = 0; t < n; t++) {
			if (todo[t] == mb->mi)
				mb->todo = (int)t;
		}
		if (mb->todo >= 0) {
			object_name(c, mb->mi, mb->object, sizeof(mb->object));
			audit(c, &c->cfg->models[mb->mi], "fetch_start", 0, NULL,
			      (int64_t)c->cfg->models[mb->mi].size, -1, NULL);
		}
	}
	qsort(w.m, w.n, sizeof(*w.m), cmp_member);

	if (download(&d) < 0) {
		snprintf(why, sizeof(why), "archive %s: %s", a->url, d.err);
		reject_all(&w, why, t0);
		goto out_free;
	}
	if (a->digests.mask) {
		enum mfs_algo algo;
		struct hexpair hx;

		if (!judge(&a->digests, a->size ? a->size : d.bytes, &d.got, d.bytes, &algo, &hx)) {
			quarantine(c, d.staging, object, note, sizeof(note));
			snprintf(why, sizeof(why), "archive %s: %s mismatch (expected %s, got %s); %s",
				 a->url, mfs_algo_name(algo), hx.expected, hx.actual, note);
			reject_all(&w, why, t0);
			goto out_close_archive;
		}
	}
	for (size_t i = 0; i < w.n; i++) {
		if (w.m[i].todo >= 0)
			audit(c, &c->cfg->models[w.m[i].mi], "fetch_ok", 0, NULL, (int64_t)d.bytes,
			      now_ms() - t0, NULL);
	}

	rc = mfs_extract_fd(d.fd, MFS_EXTRACT_ZIP, &lim, &ops, &w, why, sizeof(why));
	all_ok = rc == 0;
	for (size_t i = 0; all_ok && i < w.n; i++) {
		struct member *mb = &w.m[i];

		if (mb->todo < 0)
			continue;
		if (!mb->seen) {
			snprintf(why, sizeof(why), "member '%s' is missing from the archive", mb->name);
			all_ok = false;
		} else if (!mb->ok) {
			snprintf(why, sizeof(why), "member '%s' does not match its pin", mb->name);
			all_ok = false;
		}
	}
	if (!all_ok) {
		char reason[sizeof(why) + sizeof(note) + 32];

		/* One bad member condemns the archive: a directory model is
		 * served whole or not at all. */
		quarantine(c, d.staging, object, note, sizeof(note));
		snprintf(reason, sizeof(reason), "archive refused: %s; %s", why, note);
		reject_all(&w, reason, t0);
		goto out_close_archive;
	}
	for (size_t i = 0; i < w.n; i++) {
		struct member *mb = &w.m[i];
		const struct mfs_model *m = &c->cfg->models[mb->mi];
		char err[128];

		if (mb->todo < 0)
			continue;
		rc = mfs_store_commit(c->store, mb->fd, mb->staging, mb->object, c->fsync);
		if (rc < 0) {
			snprintf(err, sizeof(err), "cannot commit to the store: %s", strerror(-rc));
			audit(c, m, "fetch_failed", 0, NULL, (int64_t)mb->bytes, now_ms() - t0, err);
			mfs_err("fetch '%s' failed: %s", m->path, err);
			continue;
		}
		audit(c, m, "verify_ok", mb->algo, &mb->hx, (int64_t)mb->bytes, now_ms() - t0, NULL);
		if (m->weak)
			mfs_warn("'%s' is verified by SHA-1 only (weak)", m->path);
		fds[mb->todo] = mb->fd;
		mb->fd = -1;
	}
	mfs_store_discard(c->store, d.staging);
	mfs_info("fetched archive %s and verified %zu members (%lld ms)", a->url, n,
		 (long long)(now_ms() - t0));
out_close_archive:
	close(d.fd);
out_free:
	for (size_t i = 0; i < w.n; i++) {
		if (w.m[i].fd >= 0) {
			mfs_store_discard(c->store, w.m[i].staging);
			close(w.m[i].fd);
		}
		mfs_hashwrite_free(w.m[i].w);
		mfs_hasher_free(w.m[i].h);
	}
	free(w.m);
}
