/* acquire — see include/acquire.h. */
#include "acquire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "download.h"
#include "log.h"
#include "s3.h"
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

/* One fetch of a model (or an archive's members): the id its events
 * share, and the URL and try they are about. */
struct trail {
	char open_id[17];
	const char *url;           /* NULL: the model's own url */
	int64_t attempt;
	int64_t resumed_from;
	bool nocache;              /* this URL again, past a proxy's cache */
	const char *const *alt;    /* the URLs after url (a parallel download's
				      parts may go on from them) */
};

/* A fresh trail: 16 random hex digits. */
static void trail_init(struct trail *t)
{
	unsigned char r[8] = { 0 };
	struct timespec ts;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(r, &ts.tv_nsec, sizeof(ts.tv_nsec) < sizeof(r) ? sizeof(ts.tv_nsec) : sizeof(r));
	}
	*t = (struct trail){ .url = NULL };
	mfs_hex_encode(r, sizeof(r), t->open_id);
}

static void audit(const struct mfs_acquire_ctx *c, const struct mfs_model *m, const char *event,
		  enum mfs_algo algo, const struct hexpair *hx, int64_t bytes, int64_t ms,
		  const char *error, const struct trail *t)
{
	struct mfs_audit_event ev = {
		.event = event,
		.path = m->path,
		.url = t && t->url ? t->url : m->url,
		.algo = hx ? mfs_algo_name(algo) : NULL,
		.expected = hx ? hx->expected : NULL,
		.actual = hx && hx->actual[0] ? hx->actual : NULL,
		.error = error,
		.bytes = bytes,
		.ms = ms,
		.open_id = t ? t->open_id : NULL,
		.attempt = t ? t->attempt : 0,
		.resumed_from = t ? t->resumed_from : 0,
		.prefetch = c->prefetch && c->prefetch(c->want_arg, (size_t)(m - c->cfg->models)),
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

const struct mfs_digests *mfs_acquire_want(const struct mfs_acquire_ctx *c, size_t mi)
{
	return c->want ? c->want(c->want_arg, mi) : &c->cfg->models[mi].digests;
}

const struct mfs_shard *mfs_acquire_shards(const struct mfs_acquire_ctx *c, size_t mi, size_t *n)
{
	*n = 0;
	return c->shards ? c->shards(c->want_arg, mi, n) : NULL;
}

/* The object model `mi` is stored as ("" for a signed model not resolved
 * yet: no object matches it). */
static void object_name(const struct mfs_acquire_ctx *c, size_t mi, char *buf, size_t len)
{
	const struct mfs_digests *d = mfs_acquire_want(c, mi);
	static const struct mfs_digests none;
	size_t n;
	const struct mfs_shard *sh = mfs_acquire_shards(c, mi, &n);

	if (sh)
		mfs_store_shards_name(sh, n, buf, len);
	else
		mfs_store_object_name(d ? d : &none, buf, len);
}

/* Judges a file signed in shards, through `fd`: 0, or -EBADMSG with the
 * shard that differs in `err` (and for the audit in *hx), -ECANCELED,
 * -errno. */
static int judge_shards(const struct mfs_acquire_ctx *c, size_t mi, int fd, struct hexpair *hx,
			char *err, size_t errlen)
{
	unsigned char actual[32];
	size_t n, bad;
	const struct mfs_shard *sh = mfs_acquire_shards(c, mi, &n);
	int rc = mfs_digest_shards(fd, sh, n, c->cancel, &bad, actual);

	if (rc == -EBADMSG && bad < n) {
		mfs_hex_encode(sh[bad].sha256, 32, hx->expected);
		mfs_hex_encode(actual, 32, hx->actual);
		snprintf(err, errlen, "sha256 mismatch in shard %zu of %zu (bytes %llu-%llu)",
			 bad + 1, n, (unsigned long long)sh[bad].start,
			 (unsigned long long)sh[bad].end - 1);
	} else if (rc == -EBADMSG) {
		hx->expected[0] = hx->actual[0] = '\0';
		snprintf(err, errlen, "the file's length is not its shards' end");
	} else if (rc < 0 && rc != -ECANCELED) {
		snprintf(err, errlen, "cannot hash its shards: %s", strerror(-rc));
	}
	return rc;
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
	const struct mfs_digests *want = mfs_acquire_want(c, mi);
	char object[OBJECT_MAX];
	struct mfs_digests got = { 0 };
	struct hexpair hx;
	enum mfs_algo algo;
	uint64_t bytes = 0;
	int64_t t0 = now_ms();
	char err[128] = "";
	size_t nshards;
	bool shards = mfs_acquire_shards(c, mi, &nshards) != NULL;
	int fd, rc;

	if (!want || (!want->mask && !shards))
		return -ENOENT;
	algo = want->mask ? mfs_algo_strongest(want->mask) : MFS_SHA256;
	object_name(c, mi, object, sizeof(object));
	fd = mfs_store_open_object(c->store, object);
	if (fd == -ENOENT)
		return -ENOENT;
	if (fd >= 0 && shards) {
		memset(&hx, 0, sizeof(hx));
		rc = judge_shards(c, mi, fd, &hx, err, sizeof(err));
		if (rc == -ECANCELED) {
			close(fd);
			return rc;
		}
		if (rc == 0 && !want->mask) {
			audit(c, m, "verify_ok", MFS_SHA256, NULL, (int64_t)m->size, now_ms() - t0,
			      NULL, NULL);
			mfs_info("verified '%s' from the store (%zu signed shards)", m->path, nshards);
			return fd;
		}
		if (rc < 0) {
			bytes = m->size;
			goto corrupt;
		}
	}
	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot open stored object: %s", strerror(-fd));
	} else {
		rc = mfs_digest_fd(fd, want->mask, c->cancel, &got, &bytes);
		if (rc == -ECANCELED) {
			/* A stop, not a fault of the object. */
			close(fd);
			return rc;
		}
		if (rc < 0)
			snprintf(err, sizeof(err), "cannot hash stored object: %s", strerror(-rc));
		else if (judge(want, m->size, &got, bytes, &algo, &hx)) {
			audit(c, m, "verify_ok", algo, &hx, (int64_t)bytes, now_ms() - t0, NULL, NULL);
			mfs_info("verified '%s' from the store", m->path);
			return fd;
		} else if (mfs_digests_match(want, &got, &algo)) {
			/* The object is what its name says; the model's size is
			 * what is wrong.  Another model may use the object. */
			snprintf(err, sizeof(err), "the stored object has %llu bytes, the model's "
				 "size says %llu", (unsigned long long)bytes,
				 (unsigned long long)m->size);
			audit(c, m, "verify_failed", algo, &hx, (int64_t)bytes, now_ms() - t0, err,
			      NULL);
			mfs_err("'%s': %s", m->path, err);
			close(fd);
			return -EBADMSG;
		} else if (bytes != m->size)
			snprintf(err, sizeof(err), "size %llu, expected %llu",
				 (unsigned long long)bytes, (unsigned long long)m->size);
		else
			snprintf(err, sizeof(err), "%s mismatch", mfs_algo_name(algo));
	}
	judge(want, m->size, &got, bytes, &algo, &hx);
corrupt:
	audit(c, m, "store_corrupt", algo, hx.expected[0] ? &hx : NULL, (int64_t)bytes,
	      now_ms() - t0, err, NULL);
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

/* The models one download is for (a plain model, or the wanted members
 * of an archive), and the trail their events share. */
struct about {
	const struct mfs_acquire_ctx *c;
	const size_t *mis;
	size_t n;
	struct trail *t;
	int64_t t0;
};

/* Audits `event` for each model the download is for. */
static void audit_all(const struct about *ab, const char *event, int64_t bytes, int64_t ms,
		      const char *error)
{
	for (size_t i = 0; i < ab->n; i++)
		audit(ab->c, &ab->c->cfg->models[ab->mis[i]], event, 0, NULL, bytes, ms, error, ab->t);
}

/* download's hook: a try of the URL failed and another follows. */
static void on_retry(void *arg, const struct mfs_download_retry *r)
{
	const struct about *ab = arg;
	const char *url = ab->t->url;
	char why[1024], part[80] = "";

	if (r->part)
		snprintf(part, sizeof(part), "part %u: ", r->part);
	if (r->next_url)
		snprintf(why, sizeof(why), "%s%s; going on from %s", part, r->error, r->next_url);
	else
		snprintf(why, sizeof(why), "%s%s; trying again in %.1f s%s", part, r->error,
			 (double)r->delay_ms / 1000, r->resume_from ? " from where it stopped" : "");
	ab->t->attempt = r->attempt;
	ab->t->resumed_from = 0;
	if (r->url)
		ab->t->url = r->url;
	audit_all(ab, "fetch_retry", -1, now_ms() - ab->t0, why);
	ab->t->url = url;
	mfs_warn("fetch %s: %s", r->url ? r->url : url, why);
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
 * digests in `mask`, retrying and resuming as download.h does (each
 * retry audited for the models `ab` names).  Returns 0 with s->fd open
 * on the staged bytes (the caller commits, quarantines or discards
 * s->name, and closes s->fd), or failure()'s errno with s->err; nothing
 * is left behind then. */
static int stage_download(const struct about *ab, const struct mfs_source *src,
			  const char *url, uint64_t size, bool size_is_max, unsigned mask,
			  const char *object, struct staged *s)
{
	static const char *const nocache[] = { "Cache-Control: no-cache", "Pragma: no-cache", NULL };
	const struct mfs_acquire_ctx *c = ab->c;
	const struct mfs_config *cfg = c->cfg;
	struct progress p = { .c = c, .model = ab->n ? ab->mis[0] : 0 };
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
			.min_rate = (long)cfg->min_rate,
			.min_rate_after = (long)cfg->min_rate_after,
			.headers = ab->t->nocache ? nocache : NULL,
			.proxy = src->proxy,
			.cancel = c->cancel,
		},
		.mask = mask,
		.retries = src->retries >= 0 ? (unsigned)src->retries : cfg->retries,
		.connections = src->connections > 0 ? (unsigned)src->connections : cfg->connections,
		.parallel_min = src->parallel_min ? src->parallel_min : cfg->parallel_min,
		.write_unit = cfg->write_unit,
		.alt_urls = ab->t->alt,
		/* (a bundle is no model's transfer: ab->n == 0) */
		.progress = c->progress && ab->n ? on_progress : NULL,
		.progress_arg = &p,
		.retrying = on_retry,
		.retrying_arg = (void *)ab,
	};
	struct mfs_s3_creds creds;
	int rc;

	memset(&s->got, 0, sizeof(s->got));
	/* An S3 source's own URLs are signed; its mirrors are not. */
	if (src->s3_url && strncmp(url, src->url, strlen(src->url)) == 0) {
		rc = mfs_s3_creds_load(src->s3_credentials, src->s3_profile, src->s3_region, &creds,
				       s->err, sizeof(s->err));
		if (rc == -EINVAL) {
			s->fd = -1;
			return -EIO;
		}
		if (rc == 0) {
			d.get.aws_sigv4 = creds.sigv4;
			d.get.aws_userpwd = creds.userpwd;
			d.get.aws_token = creds.token;
		} else {
			mfs_debug("%s: %s; the request goes unsigned", url, s->err);
		}
	}
	s->fd = mfs_store_stage(c->store, object, s->name, sizeof(s->name));
	if (s->fd < 0) {
		mfs_s3_creds_wipe(&creds);
		snprintf(s->err, sizeof(s->err), "cannot create staging file: %s", strerror(-s->fd));
		return failure(s->fd);
	}
	d.fd = s->fd;
	rc = mfs_download_run(&d, &s->got, s->err, sizeof(s->err));
	mfs_s3_creds_wipe(&creds);
	ab->t->attempt = s->got.attempts > 1 && !s->got.parts ? s->got.attempts : 0;
	ab->t->resumed_from = (int64_t)s->got.resumed_from;
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

/* Commits staging file `staging` (open as `fd`, verified as model mi's
 * bytes) as `object`.  If the object is there already (another download
 * committed it meanwhile: a zip member and a plain model with one pin,
 * another config's, another process's), that one is served instead,
 * verified from the store as any stored object is, and ours is dropped:
 * every reader of an object then holds one inode, as FUSE passthrough
 * requires.  If that one is corrupt (quarantined by the check), ours
 * takes the name after all.  Returns the fd to serve (`fd`, or the stored
 * object's, `fd` then closed), or -errno with `fd` and `staging` left to
 * the caller. */
static int commit(const struct mfs_acquire_ctx *c, size_t mi, int fd, const char *staging,
		  const char *object)
{
	for (int tries = 0;; tries++) {
		int rc = mfs_store_commit(c->store, fd, staging, object, c->fsync);
		int stored;

		if (rc == 0)
			return fd;
		if (rc != -EEXIST || tries == 2)
			return rc;
		stored = mfs_acquire_stored(c, mi);
		if (stored >= 0) {
			mfs_info("'%s': the store had its object already; serving that one",
				 c->cfg->models[mi].path);
			mfs_store_discard(c->store, staging);
			close(fd);
			return stored;
		}
		if (stored != -EBADMSG && stored != -ENOENT)
			return stored;
	}
}

/* The reason an acquisition failed, from the last URL's: with mirrors,
 * also how many URLs were tried. */
static void last_reason(char *why, size_t len, size_t tried, const char *err)
{
	if (tried > 1)
		snprintf(why, len, "%zu URLs failed; the last: %s", tried, err);
	else
		snprintf(why, len, "%s", err);
}

/* Whether a failure ends the acquisition rather than moving on to the
 * next URL: the store's disk is full, or a stop. */
static bool final(int rc)
{
	return rc == -ENOSPC || rc == -ECANCELED;
}

/* Every URL of `url` of `src` (url, then the mirrors), NULL-terminated;
 * NULL if out of memory.  Free with free_urls. */
static char **all_urls(const struct mfs_source *src, const char *url)
{
	char *first = NULL;
	size_t n = mfs_source_url(src, url, 0, &first);
	char **v = calloc(n + 1, sizeof(*v));

	if (!v || !first) {
		free(v);
		free(first);
		return NULL;
	}
	v[0] = first;
	for (size_t i = 1; i < n; i++) {
		mfs_source_url(src, url, i, &v[i]);
		if (!v[i]) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	}
	return v;
}

/* The trail of URL i of `urls` (all_urls), from its first try. */
static void trail_at(struct trail *t, char **urls, size_t i)
{
	t->url = urls[i];
	t->alt = (const char *const *)&urls[i + 1];
	t->nocache = false;
}

static void free_urls(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* After a URL's bytes were refused: whether to ask that URL once more
 * with Cache-Control: no-cache, because they may have come from a shared
 * cache (a proxy) that a bad copy poisoned; it would hand every host the
 * same bad bytes until it expires.  Once per URL (sets t->nocache). */
static bool again_past_cache(const struct mfs_source *src, struct trail *t)
{
	if (t->nocache || !mfs_fetch_proxied(src->proxy, t->url))
		return false;
	mfs_warn("%s was refused and may have come from a proxy's cache: asking once more "
		 "with Cache-Control: no-cache", t->url);
	t->nocache = true;
	return true;
}

/* One URL of a plain model: download, judge, commit.  The verified fd,
 * or -errno with the reason in `err` (each step audited); *stop is set
 * when no other URL can help (the store failed). */
static int fetch_from(const struct about *ab, const struct mfs_model *m, const char *object,
		      char *err, size_t errlen, bool *stop)
{
	const struct mfs_acquire_ctx *c = ab->c;
	const struct mfs_digests *want = mfs_acquire_want(c, ab->mis[0]);
	size_t nshards;
	bool shards = mfs_acquire_shards(c, ab->mis[0], &nshards) != NULL;
	char note[MFS_STAGING_NAME_MAX + 32];
	struct staged s;
	struct hexpair hx;
	enum mfs_algo algo;
	int rc;

	ab->t->attempt = 0;
	ab->t->resumed_from = 0;
	audit(c, m, "fetch_start", 0, NULL, (int64_t)m->size, -1, NULL, ab->t);
	rc = stage_download(ab, m->source, ab->t->url, m->size, false, want->mask, object, &s);
	if (rc < 0) {
		audit(c, m, "fetch_failed", 0, NULL, (int64_t)s.got.bytes, now_ms() - ab->t0, s.err,
		      ab->t);
		mfs_err("fetch '%s' from %s failed: %s", m->path, ab->t->url, s.err);
		snprintf(err, errlen, "%s", s.err);
		return rc;
	}
	audit(c, m, "fetch_ok", 0, NULL, (int64_t)s.got.bytes, now_ms() - ab->t0, NULL, ab->t);
	if (shards) {
		char why[160];

		memset(&hx, 0, sizeof(hx));
		algo = MFS_SHA256;
		rc = judge_shards(c, ab->mis[0], s.fd, &hx, why, sizeof(why));
		if (rc == -ECANCELED) {
			mfs_store_discard(c->store, s.name);
			close(s.fd);
			snprintf(err, errlen, "cancelled");
			*stop = true;
			return rc;
		}
		if (rc < 0) {
			quarantine(c, s.name, object, note, sizeof(note));
			snprintf(err, errlen, "%s; %s", why, note);
			audit(c, m, "verify_failed", algo, hx.expected[0] ? &hx : NULL,
			      (int64_t)s.got.bytes, now_ms() - ab->t0, err, ab->t);
			mfs_err("verify '%s' failed: %s (from %s)", m->path, err, ab->t->url);
			close(s.fd);
			return -EBADMSG;
		}
	}
	if (want->mask && !judge(want, m->size, &s.got.digests, s.got.bytes, &algo, &hx)) {
		quarantine(c, s.name, object, note, sizeof(note));
		snprintf(err, errlen, "%s mismatch; %s", mfs_algo_name(algo), note);
		audit(c, m, "verify_failed", algo, &hx, (int64_t)s.got.bytes, now_ms() - ab->t0, err,
		      ab->t);
		mfs_err("verify '%s' failed: %s expected %s, got %s (from %s)", m->path,
			mfs_algo_name(algo), hx.expected, hx.actual, ab->t->url);
		close(s.fd);
		return -EBADMSG;
	}
	rc = commit(c, ab->mis[0], s.fd, s.name, object);
	if (rc < 0) {
		snprintf(err, errlen, "cannot commit to the store: %s", strerror(-rc));
		audit(c, m, "fetch_failed", 0, NULL, (int64_t)s.got.bytes, now_ms() - ab->t0, err,
		      ab->t);
		mfs_err("fetch '%s' failed: %s", m->path, err);
		mfs_store_discard(c->store, s.name);
		close(s.fd);
		/* The store's trouble, not the URL's: no other URL helps. */
		*stop = true;
		return failure(rc);
	}
	audit(c, m, "verify_ok", algo, shards && !want->mask ? NULL : &hx, (int64_t)m->size,
	      now_ms() - ab->t0, NULL, ab->t);
	return rc;
}

int mfs_acquire_fetch(const struct mfs_acquire_ctx *c, size_t mi, char *why, size_t whylen)
{
	const struct mfs_model *m = &c->cfg->models[mi];
	char object[OBJECT_MAX], err[MFS_STAGING_NAME_MAX + 320] = "no URL";
	struct trail t;
	struct about ab = { .c = c, .mis = &mi, .n = 1, .t = &t, .t0 = now_ms() };
	const struct mfs_digests *want = mfs_acquire_want(c, mi);
	size_t tried = 0, nshards;
	char **urls;
	int rc = -EIO;

	if (!want || (!want->mask && !mfs_acquire_shards(c, mi, &nshards))) {
		/* (The scheduler resolves a signed model first.) */
		tell(why, whylen, "no digest to verify against: the model's signature was not "
		     "verified");
		return -EIO;
	}
	urls = all_urls(m->source, m->url);
	object_name(c, mi, object, sizeof(object));
	trail_init(&t);
	if (!urls)
		snprintf(err, sizeof(err), "out of memory");
	/* The url, then each mirror: a digest mismatch, or a failure the
	 * retries did not cure, moves on to the next. */
	for (size_t i = 0; urls && urls[i]; i++) {
		bool stop = false;

		trail_at(&t, urls, i);
		tried++;
		rc = fetch_from(&ab, m, object, err, sizeof(err), &stop);
		if (rc == -EBADMSG && again_past_cache(m->source, &t))
			rc = fetch_from(&ab, m, object, err, sizeof(err), &stop);
		t.url = NULL;
		if (rc >= 0) {
			if (m->weak)
				mfs_warn("'%s' is verified by SHA-1 only (weak)", m->path);
			mfs_info("fetched and verified '%s' (%llu bytes, %lld ms)", m->path,
				 (unsigned long long)m->size, (long long)(now_ms() - ab.t0));
			free_urls(urls);
			return rc;
		}
		if (stop || final(rc))
			break;
	}
	{
		char reason[sizeof(err) + 64];

		last_reason(reason, sizeof(reason), tried, err);
		tell(why, whylen, reason);
	}
	free_urls(urls);
	return rc == -EBADMSG || rc == -ENOSPC || rc == -ECANCELED ? rc : -EIO;
}

int mfs_acquire_bytes(const struct mfs_acquire_ctx *c, const struct mfs_source *src,
		      const char *url, size_t max, void **out, size_t *len, char *why,
		      size_t whylen)
{
	char **urls = all_urls(src, url);
	char err[320] = "no URL";
	struct trail t;
	struct about ab = { .c = c, .n = 0, .t = &t, .t0 = now_ms() };
	size_t tried = 0;
	int rc = -EIO;

	*out = NULL;
	*len = 0;
	trail_init(&t);
	if (!urls)
		snprintf(err, sizeof(err), "out of memory");
	for (size_t i = 0; urls && urls[i]; i++) {
		struct staged s;
		char *buf;
		ssize_t n;

		trail_at(&t, urls, i);
		tried++;
		rc = stage_download(&ab, src, urls[i], max, true, 0, "bundle", &s);
		if (rc < 0) {
			snprintf(err, sizeof(err), "%s: %s", urls[i], s.err);
			if (final(rc))
				break;
			continue;
		}
		buf = malloc(s.got.bytes ? s.got.bytes : 1);
		n = buf ? pread(s.fd, buf, s.got.bytes, 0) : -1;
		mfs_store_discard(c->store, s.name);
		close(s.fd);
		if (n < 0 || (uint64_t)n != s.got.bytes) {
			free(buf);
			snprintf(err, sizeof(err), "%s: cannot read the download back", urls[i]);
			rc = -EIO;
			continue;
		}
		*out = buf;
		*len = (size_t)n;
		free_urls(urls);
		return 0;
	}
	free_urls(urls);
	last_reason(why, whylen, tried, err);
	return rc == -ENOSPC || rc == -ECANCELED ? rc : -EIO;
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
		um->mask = mfs_acquire_want(w->c, mb->mi)->mask;
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
	mb->ok = judge(mfs_acquire_want(w->c, mb->mi), m->size, got, bytes, &mb->algo, &mb->hx);
	return 0;
}

/* Audits one failure line for every wanted member; the member that caused
 * it gets its own reason. */
static void reject_all(const struct walk *w, const char *why, int64_t t0, const struct trail *t)
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
			      now_ms() - t0, err, t);
			mfs_err("verify '%s' failed: %s", m->path, err);
		} else {
			audit(w->c, m, "fetch_failed", 0, NULL, -1, now_ms() - t0, why, t);
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

/* Fills w->m with the archive's members, marks those in todo[], and
 * sorts them by name.  -ENOMEM. */
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
		if (hit)
			object_name(w->c, mb->mi, mb->object, sizeof(mb->object));
	}
	w->n = a->nmembers;
	qsort(w->m, w->n, sizeof(*w->m), cmp_member);
	free(want);
	return 0;
}

/* Undoes one URL's walk: its members' staging files go, their state is
 * cleared for the next URL. */
static void reset_members(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct member *mb = &w->m[i];

		if (mb->fd >= 0) {
			mfs_store_discard(w->c->store, mb->staging);
			close(mb->fd);
		}
		mb->fd = -1;
		mb->seen = mb->ended = mb->ok = false;
		mb->bytes = 0;
	}
}

/* One URL of an archive: download, archive pins, walk, every wanted
 * member there and matching.  0 with the archive in *s (open) and the
 * wanted members staged; else -errno, fds[] set, the failure audited for
 * every wanted member and its reason in `why`.  *stop: no other URL can
 * help. */
static int archive_from(const struct about *ab, struct walk *w, const struct mfs_archive *a,
			const char *object, const struct mfs_extract_limits *lim,
			struct staged *s, int *fds, size_t n, char *why, size_t whylen, bool *stop)
{
	const struct mfs_acquire_ctx *c = ab->c;
	const struct mfs_unpack_ops ops = { on_entry, on_end };
	char note[MFS_STAGING_NAME_MAX + 32];
	bool all_ok;
	int rc;

	ab->t->attempt = 0;
	ab->t->resumed_from = 0;
	for (size_t i = 0; i < n; i++)
		audit(c, &c->cfg->models[ab->mis[i]], "fetch_start", 0, NULL,
		      (int64_t)c->cfg->models[ab->mis[i]].size, -1, NULL, ab->t);
	rc = stage_download(ab, a->source, ab->t->url, a->size ? a->size : a->max_size,
			    a->size == 0, a->digests.mask, object, s);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			fds[i] = rc;
		snprintf(why, whylen, "archive %s: %s", ab->t->url, s->err);
		reject_all(w, why, ab->t0, ab->t);
		*stop = final(rc);
		return rc;
	}
	if (a->digests.mask) {
		enum mfs_algo algo;
		struct hexpair hx;

		if (!judge(&a->digests, a->size ? a->size : s->got.bytes, &s->got.digests,
			   s->got.bytes, &algo, &hx)) {
			quarantine(c, s->name, object, note, sizeof(note));
			snprintf(why, whylen, "archive %s: %s mismatch (expected %s, got %s); %s",
				 ab->t->url, mfs_algo_name(algo), hx.expected, hx.actual, note);
			for (size_t i = 0; i < n; i++)
				fds[i] = -EBADMSG;
			reject_all(w, why, ab->t0, ab->t);
			close(s->fd);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < w->n; i++) {
		if (w->m[i].todo >= 0)
			audit(c, &c->cfg->models[w->m[i].mi], "fetch_ok", 0, NULL,
			      (int64_t)s->got.bytes, now_ms() - ab->t0, NULL, ab->t);
	}

	rc = mfs_unpack_run(s->fd, lim, &ops, w, c->cancel, why, whylen);
	if (failure(rc) != -EIO) {
		/* A full disk or a stop, not a hostile archive: nothing to keep. */
		for (size_t i = 0; i < n; i++)
			fds[i] = failure(rc);
		mfs_store_discard(c->store, s->name);
		reject_all(w, why, ab->t0, ab->t);
		close(s->fd);
		*stop = true;
		return failure(rc);
	}
	all_ok = rc == 0;
	for (size_t i = 0; all_ok && i < w->n; i++) {
		struct member *mb = &w->m[i];

		if (mb->todo < 0)
			continue;
		if (!mb->seen) {
			snprintf(why, whylen, "member '%s' is missing from the archive", mb->name);
			all_ok = false;
		} else if (!mb->ok) {
			snprintf(why, whylen, "member '%s' does not match its pin", mb->name);
			all_ok = false;
		}
	}
	if (!all_ok) {
		char reason[1024 + sizeof(note) + 32];

		/* One bad member condemns the archive: a directory model is
		 * served whole or not at all. */
		quarantine(c, s->name, object, note, sizeof(note));
		snprintf(reason, sizeof(reason), "archive %s refused: %s; %s", ab->t->url, why, note);
		for (size_t i = 0; i < n; i++)
			fds[i] = -EIO;
		for (size_t i = 0; i < w->n; i++) {
			if (w->m[i].todo >= 0 && w->m[i].ended && !w->m[i].ok)
				fds[w->m[i].todo] = -EBADMSG;
		}
		reject_all(w, reason, ab->t0, ab->t);
		snprintf(why, whylen, "%s", reason);
		close(s->fd);
		return -EBADMSG;
	}
	return 0;
}

void mfs_acquire_archive(const struct mfs_acquire_ctx *c, const struct mfs_archive *a,
			 const size_t *todo, size_t n, int *fds, char *refusal, size_t refusallen)
{
	char object[64 + 16], why[1536] = "", reason[1536 + 64];
	struct walk w = { .c = c };
	struct mfs_extract_limits lim = { .max_entries = 2 * a->nmembers + 64 };
	struct trail t;
	struct about ab = { .c = c, .mis = todo, .n = n, .t = &t, .t0 = now_ms() };
	struct staged s;
	size_t tried = 0;
	char **urls = NULL;
	int rc = -EIO;

	for (size_t i = 0; i < n; i++)
		fds[i] = -EIO;
	trail_init(&t);
	mfs_store_archive_name(a->name, object, sizeof(object));
	if (list_members(&w, a, todo, n, &lim.max_total) < 0) {
		snprintf(why, sizeof(why), "archive '%s': out of memory", a->name);
		mfs_err("%s", why);
		goto out_free;
	}
	urls = all_urls(a->source, a->url);
	if (!urls)
		snprintf(why, sizeof(why), "archive '%s': out of memory", a->name);
	for (size_t u = 0; urls && urls[u]; u++) {
		bool stop = false;

		trail_at(&t, urls, u);
		tried++;
		rc = archive_from(&ab, &w, a, object, &lim, &s, fds, n, why, sizeof(why), &stop);
		if (rc == -EBADMSG && again_past_cache(a->source, &t)) {
			reset_members(&w);
			rc = archive_from(&ab, &w, a, object, &lim, &s, fds, n, why, sizeof(why),
					  &stop);
		}
		t.url = NULL;
		if (rc == 0 || stop)
			break;
		reset_members(&w);
	}
	if (rc < 0)
		goto out_free;
	for (size_t i = 0; i < w.n; i++) {
		struct member *mb = &w.m[i];
		const struct mfs_model *m = &c->cfg->models[mb->mi];
		char err[128];

		if (mb->todo < 0)
			continue;
		rc = commit(c, mb->mi, mb->fd, mb->staging, mb->object);
		if (rc < 0) {
			snprintf(err, sizeof(err), "cannot commit to the store: %s", strerror(-rc));
			audit(c, m, "fetch_failed", 0, NULL, (int64_t)mb->bytes, now_ms() - ab.t0, err,
			      &t);
			mfs_err("fetch '%s' failed: %s", m->path, err);
			fds[mb->todo] = failure(rc);
			continue;
		}
		audit(c, m, "verify_ok", mb->algo, &mb->hx, (int64_t)mb->bytes, now_ms() - ab.t0,
		      NULL, &t);
		if (m->weak)
			mfs_warn("'%s' is verified by SHA-1 only (weak)", m->path);
		fds[mb->todo] = rc;   /* ours, or the stored object's (ours closed) */
		mb->fd = -1;
	}
	mfs_store_discard(c->store, s.name);
	close(s.fd);
	mfs_info("fetched archive %s and verified %zu members (%lld ms)", a->url, n,
		 (long long)(now_ms() - ab.t0));
	why[0] = '\0';
out_free:
	last_reason(reason, sizeof(reason), tried, why);
	tell(refusal, refusallen, why[0] ? reason : "");
	reset_members(&w);
	free(w.m);
	free_urls(urls);
}
