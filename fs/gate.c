/* gate — see include/gate.h. */
#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"

enum state { ST_UNVERIFIED, ST_BUSY, ST_VERIFIED };

struct waiter {
	struct waiter *next;
	mfs_gate_done done;
	void *arg;
	int result;
};

struct entry {
	enum state state;
	int fd;            /* ST_VERIFIED: the fd the bytes were hashed through */
	struct stat st;    /* its identity when verified */
	struct waiter *waiters;
};

struct mfs_gate {
	struct mfs_gate_opts o;
	pthread_mutex_t lock;
	pthread_cond_t workers_done;
	size_t workers;
	atomic_bool stopping;
	struct entry *e;
};

struct job {
	struct mfs_gate *g;
	size_t m;
};

int mfs_gate_new(const struct mfs_gate_opts *opts, struct mfs_gate **out)
{
	struct mfs_gate *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->o = *opts;
	g->e = calloc(opts->cfg->nmodels ? opts->cfg->nmodels : 1, sizeof(*g->e));
	if (!g->e) {
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < opts->cfg->nmodels; i++)
		g->e[i].fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->workers_done, NULL);
	*out = g;
	return 0;
}

void mfs_gate_stop(struct mfs_gate *g)
{
	atomic_store(&g->stopping, true);
	pthread_mutex_lock(&g->lock);
	while (g->workers > 0)
		pthread_cond_wait(&g->workers_done, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void mfs_gate_free(struct mfs_gate *g)
{
	if (!g)
		return;
	mfs_gate_stop(g);
	for (size_t i = 0; i < g->o.cfg->nmodels; i++) {
		if (g->e[i].fd >= 0)
			close(g->e[i].fd);
	}
	pthread_cond_destroy(&g->workers_done);
	pthread_mutex_destroy(&g->lock);
	free(g->e);
	free(g);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The algorithm named in audit lines when all match: the strongest given. */
static enum mfs_algo strongest(unsigned mask)
{
	if (mask & MFS_ALGO_BIT(MFS_SHA512))
		return MFS_SHA512;
	if (mask & MFS_ALGO_BIT(MFS_SHA256))
		return MFS_SHA256;
	return MFS_SHA1;
}

struct hexpair {
	char expected[2 * MFS_DIGEST_MAX + 1];
	char actual[2 * MFS_DIGEST_MAX + 1];
};

static void audit(struct mfs_gate *g, const struct mfs_model *m, const char *event,
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

	if (g->o.audit)
		mfs_audit_write(g->o.audit, &ev);
}

/* Compares what was hashed with what the model declares; fills `hx` with
 * the algorithm that decides (the first mismatch, else the strongest). */
static bool judge(const struct mfs_model *m, const struct mfs_digests *got, uint64_t bytes,
		  enum mfs_algo *algo, struct hexpair *hx)
{
	bool ok = mfs_digests_match(&m->digests, got, algo);

	if (ok)
		*algo = strongest(m->digests.mask);
	mfs_hex_encode(m->digests.d[*algo], mfs_algo_len(*algo), hx->expected);
	if (got->mask & MFS_ALGO_BIT(*algo))
		mfs_hex_encode(got->d[*algo], mfs_algo_len(*algo), hx->actual);
	else
		hx->actual[0] = '\0';
	return ok && bytes == m->size;
}

/* Re-hashes an object already in the store.  Returns its fd if it still
 * matches, -ENOENT if there is none (or it was quarantined as corrupt). */
static int check_stored(struct mfs_gate *g, const struct mfs_model *m, const char *object)
{
	struct mfs_digests got;
	struct hexpair hx;
	enum mfs_algo algo;
	uint64_t bytes = 0;
	int64_t t0 = now_ms();
	char err[96] = "";
	int fd, rc;

	fd = mfs_store_open_object(g->o.store, object);
	if (fd == -ENOENT)
		return -ENOENT;
	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot open stored object: %s", strerror(-fd));
		memset(&hx, 0, sizeof(hx));
		algo = strongest(m->digests.mask);
		mfs_hex_encode(m->digests.d[algo], mfs_algo_len(algo), hx.expected);
		goto out_corrupt;
	}
	rc = mfs_digest_fd(fd, m->digests.mask, &got, &bytes);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot hash stored object: %s", strerror(-rc));
		memset(&got, 0, sizeof(got));
	}
	if (rc == 0 && judge(m, &got, bytes, &algo, &hx)) {
		audit(g, m, "verify_ok", algo, &hx, (int64_t)bytes, now_ms() - t0, NULL);
		mfs_info("verified '%s' from the store", m->path);
		return fd;
	}
	if (rc == 0) {
		judge(m, &got, bytes, &algo, &hx);
		if (bytes != m->size)
			snprintf(err, sizeof(err), "size %llu, expected %llu",
				 (unsigned long long)bytes, (unsigned long long)m->size);
		else
			snprintf(err, sizeof(err), "%s mismatch", mfs_algo_name(algo));
	} else {
		memset(&hx, 0, sizeof(hx));
		algo = strongest(m->digests.mask);
		mfs_hex_encode(m->digests.d[algo], mfs_algo_len(algo), hx.expected);
	}
	close(fd);
out_corrupt:
	audit(g, m, "store_corrupt", algo, &hx, (int64_t)bytes, now_ms() - t0, err);
	mfs_warn("stored object for '%s' is corrupt (%s); quarantined, fetching again",
		 m->path, err);
	rc = mfs_store_quarantine_object(g->o.store, object, NULL, 0);
	if (rc < 0 && rc != -ENOENT)
		mfs_err("cannot quarantine object '%s': %s", object, strerror(-rc));
	return -ENOENT;
}

struct sink {
	struct mfs_gate *g;
	size_t m;
	int fd;
	struct mfs_hasher *h;
};

static int sink_write(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;
	const char *p = buf;
	size_t left = len;
	int rc;

	if (atomic_load(&s->g->stopping))
		return -ECANCELED;
	rc = mfs_hasher_update(s->h, buf, len);
	if (rc < 0)
		return rc;
	while (left > 0) {
		ssize_t n = write(s->fd, p, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

static void sink_progress(void *arg, uint64_t done, uint64_t total)
{
	struct sink *s = arg;

	if (s->g->o.progress)
		s->g->o.progress(s->g->o.progress_arg, s->m, done, total);
}

/* Downloads, hashes in the write path, and commits or quarantines.
 * Returns the fd of the verified object or -EIO. */
static int fetch_and_verify(struct mfs_gate *g, size_t mi, const char *object)
{
	const struct mfs_model *m = &g->o.cfg->models[mi];
	const struct mfs_config *cfg = g->o.cfg;
	char staging[MFS_STAGING_NAME_MAX];
	struct sink s = { .g = g, .m = mi, .fd = -1 };
	struct mfs_digests got;
	struct hexpair hx;
	enum mfs_algo algo;
	char err[256] = "";
	int64_t t0 = now_ms();
	int rc;

	s.fd = mfs_store_stage(g->o.store, object, staging, sizeof(staging));
	if (s.fd < 0) {
		snprintf(err, sizeof(err), "cannot create staging file: %s", strerror(-s.fd));
		audit(g, m, "fetch_failed", 0, NULL, -1, 0, err);
		mfs_err("fetch '%s' failed: %s", m->path, err);
		return -EIO;
	}
	rc = mfs_hasher_new(m->digests.mask, &s.h);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot start hashing: %s", strerror(-rc));
		goto out_discard;
	}
	audit(g, m, "fetch_start", 0, NULL, (int64_t)m->size, -1, NULL);
	struct mfs_fetch_req req = {
		.url = m->url,
		.ca_file = m->source->ca_file,
		.allow_http = m->source->allow_http,
		.redirect_hosts = (const char *const *)m->source->redirect_hosts,
		.size = m->size,
		.connect_timeout = cfg->connect_timeout,
		.low_speed_limit = cfg->low_speed_limit,
		.low_speed_time = cfg->low_speed_time,
		.sink = sink_write,
		.progress = sink_progress,
		.arg = &s,
	};
	rc = mfs_fetch(&req, NULL, err, sizeof(err));
	if (rc < 0)
		goto out_discard;
	rc = mfs_hasher_final(s.h, &got);
	if (rc < 0) {
		snprintf(err, sizeof(err), "hashing failed: %s", strerror(-rc));
		goto out_discard;
	}
	audit(g, m, "fetch_ok", 0, NULL, (int64_t)m->size, now_ms() - t0, NULL);
	if (!judge(m, &got, mfs_hasher_bytes(s.h), &algo, &hx)) {
		char qname[MFS_STAGING_NAME_MAX] = "";

		rc = mfs_store_quarantine_staged(g->o.store, staging, object, qname, sizeof(qname));
		if (rc < 0) {
			mfs_err("cannot quarantine '%s': %s", staging, strerror(-rc));
			mfs_store_discard(g->o.store, staging);
		}
		snprintf(err, sizeof(err), "%s mismatch; bytes kept in quarantine/%s",
			 mfs_algo_name(algo), qname);
		audit(g, m, "verify_failed", algo, &hx, (int64_t)mfs_hasher_bytes(s.h),
		      now_ms() - t0, err);
		mfs_err("verify '%s' failed: %s expected %s, got %s (from %s)", m->path,
			mfs_algo_name(algo), hx.expected, hx.actual, m->url);
		rc = -EIO;
		goto out_close;
	}
	rc = mfs_store_commit(g->o.store, s.fd, staging, object, g->o.fsync);
	if (rc < 0) {
		snprintf(err, sizeof(err), "cannot commit to the store: %s", strerror(-rc));
		goto out_discard;
	}
	audit(g, m, "verify_ok", algo, &hx, (int64_t)m->size, now_ms() - t0, NULL);
	if (m->weak)
		mfs_warn("'%s' is verified by SHA-1 only (weak)", m->path);
	mfs_info("fetched and verified '%s' (%llu bytes, %lld ms)", m->path,
		 (unsigned long long)m->size, (long long)(now_ms() - t0));
	mfs_hasher_free(s.h);
	return s.fd;

out_discard:
	audit(g, m, "fetch_failed", 0, NULL, s.h ? (int64_t)mfs_hasher_bytes(s.h) : 0,
	      now_ms() - t0, err);
	mfs_err("fetch '%s' failed: %s", m->path, err);
	mfs_store_discard(g->o.store, staging);
	rc = -EIO;
out_close:
	mfs_hasher_free(s.h);
	close(s.fd);
	return rc;
}

static int verify_or_fetch(struct mfs_gate *g, size_t mi)
{
	char object[16 + 2 * MFS_DIGEST_MAX];
	int fd;

	mfs_model_object_name(&g->o.cfg->models[mi], object, sizeof(object));
	fd = check_stored(g, &g->o.cfg->models[mi], object);
	if (fd >= 0)
		return fd;
	return fetch_and_verify(g, mi, object);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void *worker(void *arg)
{
	struct job *job = arg;
	struct mfs_gate *g = job->g;
	size_t mi = job->m;
	struct entry *e = &g->e[mi];
	struct waiter *w;
	int fd;

	free(job);
	fd = verify_or_fetch(g, mi);
	pthread_mutex_lock(&g->lock);
	if (fd >= 0 && fstat(fd, &e->st) < 0) {
		mfs_err("fstat of the verified object of '%s' failed: %s",
			g->o.cfg->models[mi].path, strerror(errno));
		close(fd);
		fd = -EIO;
	}
	if (fd >= 0) {
		e->fd = fd;
		e->state = ST_VERIFIED;
	} else {
		e->state = ST_UNVERIFIED;
	}
	w = e->waiters;
	e->waiters = NULL;
	/* Dup under the lock: once it is dropped, an open may find the object
	 * changed and close e->fd. */
	for (struct waiter *p = w; p; p = p->next) {
		p->result = fd;
		if (fd >= 0) {
			p->result = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (p->result < 0)
				p->result = -errno;
		}
	}
	pthread_mutex_unlock(&g->lock);

	/* Answer outside the lock: a callback may block replying to the kernel. */
	while (w) {
		struct waiter *next = w->next;

		w->done(w->arg, mi, w->result);
		free(w);
		w = next;
	}

	pthread_mutex_lock(&g->lock);
	if (--g->workers == 0)
		pthread_cond_broadcast(&g->workers_done);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* Under g->lock.  A verified entry whose object changed on disk since it
 * was hashed (tampered with, replaced) is verified again from scratch. */
static int verified_fd(struct mfs_gate *g, size_t mi)
{
	struct entry *e = &g->e[mi];
	struct stat st;
	int fd;

	if (fstat(e->fd, &st) == 0 && same_file(&st, &e->st)) {
		fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	mfs_warn("stored object of '%s' changed since it was verified; verifying again",
		 g->o.cfg->models[mi].path);
	close(e->fd);
	e->fd = -1;
	e->state = ST_UNVERIFIED;
	return -ESTALE;
}

int mfs_gate_open(struct mfs_gate *g, size_t mi, mfs_gate_done done, void *arg)
{
	struct waiter *w, **tail;
	struct entry *e;
	pthread_attr_t attr;
	pthread_t tid;
	struct job *job = NULL;
	int rc;

	if (mi >= g->o.cfg->nmodels)
		return -EINVAL;
	e = &g->e[mi];
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->done = done;
	w->arg = arg;

	pthread_mutex_lock(&g->lock);
	if (e->state == ST_VERIFIED) {
		rc = verified_fd(g, mi);
		if (rc != -ESTALE)
			goto out_unlock_free;
	}
	if (e->state == ST_UNVERIFIED) {
		if (atomic_load(&g->stopping)) {
			rc = -EIO;
			goto out_unlock_free;
		}
		job = malloc(sizeof(*job));
		if (!job) {
			rc = -ENOMEM;
			goto out_unlock_free;
		}
		job->g = g;
		job->m = mi;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, worker, job);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			mfs_err("cannot start a worker for '%s': %s", g->o.cfg->models[mi].path,
				strerror(rc));
			free(job);
			rc = -EAGAIN;
			goto out_unlock_free;
		}
		g->workers++;
		e->state = ST_BUSY;
	}
	for (tail = &e->waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	pthread_mutex_unlock(&g->lock);
	return -EINPROGRESS;

out_unlock_free:
	pthread_mutex_unlock(&g->lock);
	free(w);
	return rc;
}

bool mfs_gate_cancel(struct mfs_gate *g, size_t mi, void *arg)
{
	struct waiter **p, *w = NULL;

	if (mi >= g->o.cfg->nmodels)
		return false;
	pthread_mutex_lock(&g->lock);
	for (p = &g->e[mi].waiters; *p; p = &(*p)->next) {
		if ((*p)->arg == arg) {
			w = *p;
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	free(w);
	return w != NULL;
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int result;
};

static void sync_done(void *arg, size_t mi, int result)
{
	struct sync_wait *sw = arg;

	pthread_mutex_lock(&sw->lock);
	sw->result = result;
	sw->done = true;
	pthread_cond_signal(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
}

int mfs_gate_get(struct mfs_gate *g, size_t mi)
{
	struct sync_wait sw = { .done = false };
	int rc;

	pthread_mutex_init(&sw.lock, NULL);
	pthread_cond_init(&sw.cond, NULL);
	rc = mfs_gate_open(g, mi, sync_done, &sw);
	if (rc == -EINPROGRESS) {
		pthread_mutex_lock(&sw.lock);
		while (!sw.done)
			pthread_cond_wait(&sw.cond, &sw.lock);
		rc = sw.result;
		pthread_mutex_unlock(&sw.lock);
	}
	pthread_cond_destroy(&sw.cond);
	pthread_mutex_destroy(&sw.lock);
	return rc;
}
