/* acquire — see include/acquire.h. */
#include "acquire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "download.h"
#include "log.h"
#include "unpack.h"

#define HEX_MAX (2 * MFS_DIGEST_MAX + 1)
#define OBJECT_MAX MFS_STORE_OBJECT_NAME_MAX

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

static void audit(const struct mfs_acquire_ctx *c, const struct mfs_model *m, const char *event,
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

static void object_name(const struct mfs_acquire_ctx *c, size_t mi, char *buf, size_t len)
{
	mfs_store_object_name(&c->cfg->models[mi].digests, buf, len);
}

static void quarantine_dropped(void *arg, const char *name, uint64_t bytes)
{
	const struct mfs_acquire_ctx *c = arg;
	char path[MFS_STAGING_NAME_MAX + 16];
	struct mfs_audit_event ev = {
		.event = "quarantine_drop", .path = path, .bytes = (int64_t)bytes, .ms = -1,
		.error = "over quarantine_max: the oldest copies go first",
	};

	snprintf(path, sizeof(path), "quarantine/%s", name);
	if (c->audit)
		mfs_audit_write(c->audit, &ev);
	mfs_info("dropped %s (%llu bytes) to keep quarantine/ within quarantine_max", path,
		 (unsigned long long)bytes);
}

/* Keeps quarantine/ within its bound after something was put there. */
static void trim_quarantine(const struct mfs_acquire_ctx *c)
{
	int rc = mfs_store_trim_quarantine(c->store, c->cfg->quarantine_max, quarantine_dropped,
					   (void *)c);

	if (rc < 0)
		mfs_err("cannot trim quarantine/: %s", strerror(-rc));
}

int mfs_acquire_stored(const struct mfs_acquire_ctx *c, size_t mi)
{
	const struct mfs_model *m = &c->cfg->models[mi];
	char object[OBJECT_MAX];
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
		rc = mfs_digest_fd(fd, m->digests.mask, c->cancel, &got, &bytes);
		if (rc == -ECANCELED) {
			/* A stop, not a fault of the object. */
			close(fd);
			return rc;
		}
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
	}
	judge(&m->digests, m->size, &got, bytes, &algo, &hx);
	audit(c, m, "store_corrupt", algo, &hx, (int64_t)bytes, now_ms() - t0, err);
	mfs_warn("stored object for '%s' is corrupt (%s); quarantined, fetching again",
		 m->path, err);
	/* Only the inode that was hashed: another process may have put a
	 * good object in its place meanwhile. */
	rc = mfs_store_quarantine_object(c->store, object, fd, NULL, 0);
	if (fd >= 0)
		close(fd);
	if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
		mfs_err("cannot quarantine object '%s': %s", object, strerror(-rc));
	else if (rc == 0)
		trim_quarantine(c);
	return -EBADMSG;
}

/* Reports the transfer progress of model `model` to the context's
 * callback. */
struct progress {
	const struct mfs_acquire_ctx *c;
	size_t model;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	const struct progress *p = arg;

	p->c->progress(p->c->progress_arg, p->model, done, total);
}

/* What a failed download says to the opener: the store's disk is full,
 * the work was cancelled (stop), or anything else. */
static int failure(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT ? -ENOSPC : rc == -ECANCELED ? -ECANCELED : -EIO;
}

/* Copies `reason` to the caller's `why`. */
static void tell(char *why, size_t len, const char *reason)
{
	if (why && len)
		snprintf(why, len, "%s", reason);
}

/* A download into a staging file of its own. */
struct staged {
	int fd;
	char name[MFS_STAGING_NAME_MAX];
	struct mfs_download_result got;
	char err[256];
};

/* Downloads `url` of source `src` (exactly `size` bytes, or at most with
 * `size_is_max`) into a new staging file for `object`, computing the
 * digests in `mask`.  Returns 0 with s->fd open on the staged bytes (the
 * caller commits, quarantines or discards s->name, and closes s->fd), or
 * failure()'s errno with s->err; nothing is left behind then. */
static int stage_download(const struct mfs_acquire_ctx *c, const struct mfs_source *src,
			  const char *url, uint64_t size, bool size_is_max, unsigned mask,
			  const char *object, size_t progress_model, struct staged *s)
{
	const struct mfs_config *cfg = c->cfg;
	struct progress p = { .c = c, .model = progress_model };
	struct mfs_download d = {
		.get = {
			.url = url,
			.ca_file = src->ca_file,
			.allow_http = src->allow_http,
			.redirect_hosts = (const char *const *)src->redirect_hosts,
			.size = size,
			.size_is_max = size_is_max,
			.connect_timeout = cfg->connect_timeout,
			.low_speed_limit = cfg->low_speed_limit,
			.low_speed_time = cfg->low_speed_time,
			.cancel = c->cancel,
		},
		.mask = mask,
		.progress = c->progress ? on_progress : NULL,
		.progress_arg = &p,
	};

	int rc;

	memset(&s->got, 0, sizeof(s->got));
	s->fd = mfs_store_stage(c->store, object, s->name, sizeof(s->name));
	if (s->fd < 0) {
		snprintf(s->err, sizeof(s->err), "cannot create staging file: %s", strerror(-s->fd));
		return failure(s->fd);
	}
	d.fd = s->fd;
	rc = mfs_download_run(&d, &s->got, s->err, sizeof(s->err));
	if (rc < 0) {
		/* At once: on a full disk the partial file is what fills it. */
		mfs_store_discard(c->store, s->name);
		close(s->fd);
		s->fd = -1;
		return failure(rc);
	}
	return 0;
}

/* Moves rejected staged bytes to quarantine/; says where in `note`. */
static void quarantine(const struct mfs_acquire_ctx *c, const char *staging, const char *object,
		       char *note, size_t len)
{
	char qname[MFS_STAGING_NAME_MAX] = "";
	int rc = mfs_store_quarantine_staged(c->store, staging, object, qname, sizeof(qname));

	if (rc < 0) {
		mfs_err("cannot quarantine '%s': %s", staging, strerror(-rc));
		mfs_store_discard(c->store, staging);
		snprintf(note, len, "bytes discarded");
		return;
	}
	snprintf(note, len, "bytes kept in quarantine/%s", qname);
	trim_quarantine(c);
}

int mfs_acquire_fetch(const struct mfs_acquire_ctx *c, size_t mi, char *why, size_t whylen)
{
	const struct mfs_model *m = &c->cfg->models[mi];
	char object[OBJECT_MAX], note[MFS_STAGING_NAME_MAX + 32], err[MFS_STAGING_NAME_MAX + 64];
	struct staged s;
	struct hexpair hx;
	enum mfs_algo algo;
	int64_t t0 = now_ms();
	int rc;

	object_name(c, mi, object, sizeof(object));
	audit(c, m, "fetch_start", 0, NULL, (int64_t)m->size, -1, NULL);
	rc = stage_download(c, m->source, m->url, m->size, false, m->digests.mask, object, mi, &s);
	if (rc < 0) {
		audit(c, m, "fetch_failed", 0, NULL, (int64_t)s.got.bytes, now_ms() - t0, s.err);
		mfs_err("fetch '%s' failed: %s", m->path, s.err);
		tell(why, whylen, s.err);
		return rc;
	}
	audit(c, m, "fetch_ok", 0, NULL, (int64_t)s.got.bytes, now_ms() - t0, NULL);
	if (!judge(&m->digests, m->size, &s.got.digests, s.got.bytes, &algo, &hx)) {
		quarantine(c, s.name, object, note, sizeof(note));
		snprintf(err, sizeof(err), "%s mismatch; %s", mfs_algo_name(algo), note);
		audit(c, m, "verify_failed", algo, &hx, (int64_t)s.got.bytes, now_ms() - t0, err);
		mfs_err("verify '%s' failed: %s expected %s, got %s (from %s)", m->path,
			mfs_algo_name(algo), hx.expected, hx.actual, m->url);
		tell(why, whylen, err);
		close(s.fd);
		return -EBADMSG;
	}
	rc = mfs_store_commit(c->store, s.fd, s.name, object, c->fsync);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot commit to the store: %s", strerror(-rc));
		audit(c, m, "fetch_failed", 0, NULL, (int64_t)s.got.bytes, now_ms() - t0, err);
		mfs_err("fetch '%s' failed: %s", m->path, err);
		tell(why, whylen, err);
		mfs_store_discard(c->store, s.name);
		close(s.fd);
		return failure(rc);
	}
	audit(c, m, "verify_ok", algo, &hx, (int64_t)m->size, now_ms() - t0, NULL);
	if (m->weak)
		mfs_warn("'%s' is verified by SHA-1 only (weak)", m->path);
	mfs_info("fetched and verified '%s' (%llu bytes, %lld ms)", m->path,
		 (unsigned long long)m->size, (long long)(now_ms() - t0));
	return s.fd;
}

/* One listed member of the archive being walked. */
struct member {
	const char *name;               /* member name in the archive */
	size_t mi;                      /* index into cfg->models */
	int todo;                       /* position in todo[]; -1: bytes walked over */
	bool seen, ended, ok;
	int fd;                         /* staging fd of a wanted member */
	char staging[MFS_STAGING_NAME_MAX];
	char object[OBJECT_MAX];
	uint64_t bytes;
	enum mfs_algo algo;
	struct hexpair hx;
};

struct walk {
	const struct mfs_acquire_ctx *c;
	struct member *m;               /* sorted by name */
	size_t n;
};

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int on_entry(void *arg, const char *name, int64_t size, struct mfs_unpack_member *um)
{
	struct walk *w = arg;
	struct member key = { .name = name }, *mb;
	const struct mfs_model *m;

	mb = bsearch(&key, w->m, w->n, sizeof(*w->m), cmp_member);
	if (!mb)
		return -ENOENT;
	m = &w->c->cfg->models[mb->mi];
	mb->seen = true;
	um->limit = m->size;
	if (mb->todo >= 0) {
		mb->fd = mfs_store_stage(w->c->store, mb->object, mb->staging, sizeof(mb->staging));
		if (mb->fd < 0)
			return mb->fd;
		um->fd = mb->fd;
		um->mask = m->digests.mask;
	}
	return (int)(mb - w->m);
}

static int on_end(void *arg, int id, uint64_t bytes, const struct mfs_digests *got)
{
	struct walk *w = arg;
	struct member *mb = &w->m[id];
	const struct mfs_model *m = &w->c->cfg->models[mb->mi];

	mb->bytes = bytes;
	if (mb->todo < 0)
		return 0;
	mb->ended = true;
	mb->ok = judge(&m->digests, m->size, got, bytes, &mb->algo, &mb->hx);
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

/* A todo entry by model index, for finding each member's position. */
struct wanted {
	size_t mi;
	int pos;
};

static int cmp_wanted(const void *a, const void *b)
{
	size_t x = ((const struct wanted *)a)->mi, y = ((const struct wanted *)b)->mi;

	return x < y ? -1 : x > y;
}

/* Fills w->m with the archive's members, marks those in todo[] (and
 * audits their fetch_start), and sorts them by name.  -ENOMEM. */
static int list_members(struct walk *w, const struct mfs_archive *a, const size_t *todo, size_t n,
			uint64_t *total)
{
	const struct mfs_config *cfg = w->c->cfg;
	struct wanted *want = malloc((n ? n : 1) * sizeof(*want));

	w->m = calloc(a->nmembers ? a->nmembers : 1, sizeof(*w->m));
	if (!want || !w->m) {
		free(want);
		return -ENOMEM;
	}
	for (size_t t = 0; t < n; t++)
		want[t] = (struct wanted){ .mi = todo[t], .pos = (int)t };
	qsort(want, n, sizeof(*want), cmp_wanted);
	*total = 0;
	for (size_t i = 0; i < a->nmembers; i++) {
		struct member *mb = &w->m[i];
		struct wanted key = { .mi = a->members[i] }, *hit;

		mb->mi = a->members[i];
		mb->name = cfg->models[mb->mi].member;
		mb->fd = -1;
		*total += cfg->models[mb->mi].size;
		hit = bsearch(&key, want, n, sizeof(*want), cmp_wanted);
		mb->todo = hit ? hit->pos : -1;
		if (hit) {
			object_name(w->c, mb->mi, mb->object, sizeof(mb->object));
			audit(w->c, &cfg->models[mb->mi], "fetch_start", 0, NULL,
			      (int64_t)cfg->models[mb->mi].size, -1, NULL);
		}
	}
	w->n = a->nmembers;
	qsort(w->m, w->n, sizeof(*w->m), cmp_member);
	free(want);
	return 0;
}

void mfs_acquire_archive(const struct mfs_acquire_ctx *c, const struct mfs_archive *a,
			 const size_t *todo, size_t n, int *fds, char *refusal, size_t refusallen)
{
	char object[64 + 16], why[1024] = "", note[MFS_STAGING_NAME_MAX + 32];
	struct walk w = { .c = c };
	struct mfs_extract_limits lim = { .max_entries = 2 * a->nmembers + 64 };
	const struct mfs_unpack_ops ops = { on_entry, on_end };
	struct staged s;
	int64_t t0 = now_ms();
	bool all_ok;
	int rc;

	for (size_t i = 0; i < n; i++)
		fds[i] = -EIO;
	snprintf(object, sizeof(object), "archive-%.60s", a->name);
	if (list_members(&w, a, todo, n, &lim.max_total) < 0) {
		mfs_err("archive '%s': out of memory", a->name);
		goto out_free;
	}
	rc = stage_download(c, a->source, a->url, a->size ? a->size : a->max_size, a->size == 0,
			    a->digests.mask, object, n ? todo[0] : 0, &s);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			fds[i] = rc;
		snprintf(why, sizeof(why), "archive %s: %s", a->url, s.err);
		reject_all(&w, why, t0);
		goto out_free;
	}
	if (a->digests.mask) {
		enum mfs_algo algo;
		struct hexpair hx;

		if (!judge(&a->digests, a->size ? a->size : s.got.bytes, &s.got.digests, s.got.bytes,
			   &algo, &hx)) {
			quarantine(c, s.name, object, note, sizeof(note));
			snprintf(why, sizeof(why), "archive %s: %s mismatch (expected %s, got %s); %s",
				 a->url, mfs_algo_name(algo), hx.expected, hx.actual, note);
			for (size_t i = 0; i < n; i++)
				fds[i] = -EBADMSG;
			reject_all(&w, why, t0);
			goto out_close_archive;
		}
	}
	for (size_t i = 0; i < w.n; i++) {
		if (w.m[i].todo >= 0)
			audit(c, &c->cfg->models[w.m[i].mi], "fetch_ok", 0, NULL,
			      (int64_t)s.got.bytes, now_ms() - t0, NULL);
	}

	rc = mfs_unpack_run(s.fd, &lim, &ops, &w, c->cancel, why, sizeof(why));
	if (failure(rc) != -EIO) {
		/* A full disk or a stop, not a hostile archive: nothing to keep. */
		for (size_t i = 0; i < n; i++)
			fds[i] = failure(rc);
		mfs_store_discard(c->store, s.name);
		reject_all(&w, why, t0);
		goto out_close_archive;
	}
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
		quarantine(c, s.name, object, note, sizeof(note));
		snprintf(reason, sizeof(reason), "archive refused: %s; %s", why, note);
		for (size_t i = 0; i < w.n; i++) {
			if (w.m[i].todo >= 0 && w.m[i].ended && !w.m[i].ok)
				fds[w.m[i].todo] = -EBADMSG;
		}
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
	mfs_store_discard(c->store, s.name);
	mfs_info("fetched archive %s and verified %zu members (%lld ms)", a->url, n,
		 (long long)(now_ms() - t0));
out_close_archive:
	close(s.fd);
out_free:
	tell(refusal, refusallen, why);
	for (size_t i = 0; i < w.n; i++) {
		if (w.m[i].fd >= 0) {
			mfs_store_discard(c->store, w.m[i].staging);
			close(w.m[i].fd);
		}
	}
	free(w.m);
}
