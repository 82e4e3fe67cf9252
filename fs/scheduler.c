/* scheduler — see include/scheduler.h. */
#include "scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acquire.h"
#include "digest.h"
#include "inflight.h"
#include "log.h"
#include "metrics.h"
#include "quota.h"
#include "signature.h"
#include "workpool.h"

/* A model's opens are noted in the store at most once a second: recency
 * for eviction, without a write for every open of a busy model. */
#define NOTE_USE_EVERY 1

struct waiter {
	struct waiter *next;
	mfs_sched_done done;
	void *arg;
	int64_t t0;        /* when it asked, µs */
	int result;
	struct mfs_sched_outcome outcome;
};

/* Where a group's work stands. */
enum phase {
	IDLE,
	HASH_QUEUED,       /* its job waits in the hash pool's queue */
	HASHING,
	FETCH_QUEUED,
	FETCHING,
};

/* What one job works on: a plain model, or every member of one archive
 * (downloaded once for all of them). */
struct group {
	struct mfs_job job;                /* in one pool's queue, or running */
	struct mfs_sched *s;
	const struct mfs_archive *archive; /* NULL: members[0] is a plain model */
	const size_t *members;
	size_t nmembers;
	enum phase phase;
	/* The job's scratch, one slot per member; only the job uses them. */
	size_t *todo;
	int *fds;
	size_t *fetch;                     /* what the store did not have */
	size_t nfetch;
	struct mfs_flight flight;          /* held while it downloads */
	struct waiter **answers;
	_Atomic uint64_t fetched;          /* bytes received by its download */
	bool low;                          /* queued in its pool's low queue:
					      for prefetches only */
	atomic_bool prefetch_round;        /* the running round is for
					      prefetches only (audited so);
					      cleared when an open joins it */
};

struct entry {
	bool verified;
	int fd;            /* verified: the fd the bytes were hashed through */
	struct stat st;    /* its identity when verified */
	struct waiter *waiters;
	bool prefetch;     /* asked for by a prefetch, not settled yet */
	struct group *group;
	size_t self;       /* this entry's model index, for plain groups */
	char object[MFS_STORE_OBJECT_NAME_MAX];
	/* Its failures' record in the store: object.<16 hex digits of a
	 * digest of its source: url, and an archive's pins>.  Another model
	 * with the same bytes from elsewhere is not held back by this one's
	 * failing source. */
	char fail_key[MFS_STORE_OBJECT_NAME_MAX + 18];
	unsigned holders;  /* fds handed out to readers, not released yet */
	time_t noted;      /* when a use was last noted in the store */
	bool fail_loaded;  /* the store's record of failures was read */
	unsigned fails;    /* failed downloads in a row */
	time_t retry_at;   /* until then opens fail at once; 0: none */
	char error[256];   /* the last failure's reason; "" after a success */
	/* What its bytes must match: the config's pins, or for a signed
	 * model the signed digests, NULL until its bundle verified. */
	const struct mfs_digests *want;
	const struct mfs_shard *shards;  /* signed in shards: its ranges */
	size_t nshards;
};

/* A signed model's gate (signature.h), once per scheduler. */
struct sigrun {
	pthread_mutex_t lock;      /* one resolution at a time */
	bool ok;                   /* digests[] hold the signed digests */
	unsigned tries;            /* resolutions finished, for those who waited */
	int rc;                    /* the last one's result */
	char why[512];             /* ... and its reason */
	struct mfs_signed_file *files; /* one per member of the signature */
};

struct mfs_sched {
	struct mfs_sched_opts o;
	struct mfs_acquire_ctx ac;
	pthread_mutex_t lock;
	struct mfs_cancel stop;            /* fired by mfs_sched_stop */
	struct entry *e;
	struct group *groups;
	size_t ngroups;
	size_t *scratch;                   /* backs every group's todo and fetch */
	int *scratch_fds;
	struct waiter **scratch_answers;
	struct mfs_workpool *hash_pool;
	struct mfs_workpool *fetch_pool;
	struct mfs_quota quota;
	void (*on_evict)(void *arg, const struct stat *was);
	void *on_evict_arg;
	bool (*also_held)(void *arg, const char *object);
	void *also_held_arg;
	bool retired;                      /* no evictions: a newer one does them */
	struct sigrun *sig;                /* one per cfg->signatures */
	bool *prefetched;                  /* per cfg->folders: its files were queued */
};

#define GROUP_OF(j) ((struct group *)((char *)(j) - offsetof(struct group, job)))

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sched_progress(void *arg, size_t model, uint64_t done, uint64_t total)
{
	struct mfs_sched *s = arg;

	atomic_store(&s->e[model].group->fetched, done);
	if (s->o.progress)
		s->o.progress(s->o.progress_arg, model, done, total);
}

static void run_group(struct mfs_job *job);

/* Gives every group its scratch slots, out of three arrays of nmodels. */
static void carve(struct mfs_sched *s)
{
	size_t used = 0, n = s->o.cfg->nmodels;

	for (size_t i = 0; i < s->ngroups; i++) {
		struct group *gr = &s->groups[i];

		gr->todo = s->scratch + used;
		gr->fetch = s->scratch + n + used;
		gr->fds = s->scratch_fds + used;
		gr->answers = s->scratch_answers + used;
		used += gr->nmembers;
	}
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

/* Entry `e`'s fail_key, for `m` (its object named already).  -ENOMEM. */
static int fail_key(struct entry *e, const struct mfs_model *m)
{
	const char *url = m->archive ? m->archive->url : m->url;
	struct mfs_hasher *h;
	struct mfs_digests d;
	char hex[17];
	int rc = mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);

	if (rc < 0)
		return rc;
	mfs_hasher_update(h, url, strlen(url) + 1);
	/* A signed model's bundle and section too: the same file signed in
	 * another bundle, or trusted otherwise, is not held back by it. */
	if (m->signature) {
		mfs_hasher_update(h, m->signature->url, strlen(m->signature->url) + 1);
		mfs_hasher_update(h, m->signature->name, strlen(m->signature->name) + 1);
	}
	/* An archive's own pins too: a wrong one fails only its models. */
	if (m->archive) {
		mfs_hasher_update(h, &m->archive->size, sizeof(m->archive->size));
		mfs_hasher_update(h, &m->archive->digests, sizeof(m->archive->digests));
	}
	rc = mfs_hasher_final(h, &d);
	mfs_hasher_free(h);
	if (rc < 0)
		return rc;
	mfs_hex_encode(d.d[MFS_SHA256], 8, hex);
	/* (A signed model's object is known once its bundle verified.) */
	snprintf(e->fail_key, sizeof(e->fail_key), "%s.%s", e->object[0] ? e->object : "signed",
		 hex);
	return 0;
}

static const struct mfs_digests *entry_want(void *arg, size_t mi)
{
	struct mfs_sched *s = arg;

	return s->e[mi].want;
}

static const struct mfs_shard *entry_shards(void *arg, size_t mi, size_t *n)
{
	struct mfs_sched *s = arg;

	*n = s->e[mi].nshards;
	return s->e[mi].shards;
}

/* (Called by acquire on the group's own job thread, which set the flag.) */
static bool entry_prefetch(void *arg, size_t mi)
{
	struct mfs_sched *s = arg;

	return atomic_load(&s->e[mi].group->prefetch_round);
}

static void free_sigs(struct mfs_sched *s)
{
	for (size_t g = 0; s->sig && g < s->o.cfg->nsignatures; g++) {
		if (!s->sig[g].files)
			continue;
		pthread_mutex_destroy(&s->sig[g].lock);
		for (size_t k = 0; k < s->o.cfg->signatures[g].nmembers; k++)
			mfs_signed_file_release(&s->sig[g].files[k]);
		free(s->sig[g].files);
	}
	free(s->sig);
	s->sig = NULL;
}

int mfs_sched_new(const struct mfs_sched_opts *opts, struct mfs_sched **out)
{
	const struct mfs_config *cfg = opts->cfg;
	size_t n = cfg->nmodels ? cfg->nmodels : 1;
	struct mfs_sched *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->o = *opts;
	if (!s->o.hash_threads)
		s->o.hash_threads = online_cpus();
	if (!s->o.fetch_threads)
		s->o.fetch_threads = cfg->max_fetches;
	s->e = calloc(n, sizeof(*s->e));
	s->groups = calloc(cfg->nmodels + cfg->narchives + 1, sizeof(*s->groups));
	s->scratch = calloc(2 * n, sizeof(*s->scratch));
	s->scratch_fds = calloc(n, sizeof(*s->scratch_fds));
	s->scratch_answers = calloc(n, sizeof(*s->scratch_answers));
	s->prefetched = calloc(cfg->nfolders ? cfg->nfolders : 1, sizeof(*s->prefetched));
	if (!s->e || !s->groups || !s->scratch || !s->scratch_fds || !s->scratch_answers ||
	    !s->prefetched)
		goto out_free;
	rc = mfs_workpool_new("hash", s->o.hash_threads, &s->hash_pool);
	if (rc == 0)
		rc = mfs_workpool_new("fetch", s->o.fetch_threads, &s->fetch_pool);
	if (rc < 0)
		goto out_free;
	for (size_t a = 0; a < cfg->narchives; a++) {
		struct group *gr = &s->groups[s->ngroups++];

		gr->archive = &cfg->archives[a];
		gr->members = cfg->archives[a].members;
		gr->nmembers = cfg->archives[a].nmembers;
		for (size_t i = 0; i < gr->nmembers; i++)
			s->e[gr->members[i]].group = gr;
	}
	rc = -ENOMEM;
	s->sig = calloc(cfg->nsignatures ? cfg->nsignatures : 1, sizeof(*s->sig));
	if (!s->sig)
		goto out_free;
	for (size_t g = 0; g < cfg->nsignatures; g++) {
		s->sig[g].files = calloc(cfg->signatures[g].nmembers + 1, sizeof(*s->sig[g].files));
		if (!s->sig[g].files)
			goto out_free;
		pthread_mutex_init(&s->sig[g].lock, NULL);
	}
	for (size_t i = 0; i < cfg->nmodels; i++) {
		s->e[i].fd = -1;
		s->e[i].self = i;
		s->e[i].want = cfg->models[i].signature ? NULL : &cfg->models[i].digests;
		if (s->e[i].want)
			mfs_store_object_name(s->e[i].want, s->e[i].object, sizeof(s->e[i].object));
		rc = fail_key(&s->e[i], &cfg->models[i]);
		if (rc < 0)
			goto out_free;
		if (!cfg->models[i].archive) {
			struct group *gr = &s->groups[s->ngroups++];

			gr->members = &s->e[i].self;
			gr->nmembers = 1;
			s->e[i].group = gr;
		}
	}
	for (size_t i = 0; i < s->ngroups; i++) {
		s->groups[i].s = s;
		s->groups[i].job.run = run_group;
	}
	carve(s);
	s->ac = (struct mfs_acquire_ctx){
		.cfg = cfg, .store = opts->store, .audit = opts->audit, .fsync = opts->fsync,
		.progress = sched_progress, .progress_arg = s,
		.cancel = &s->stop,
		.want = entry_want, .shards = entry_shards, .prefetch = entry_prefetch,
		.want_arg = s,
	};
	mfs_quota_init(&s->quota, opts->store, cfg->store_max);
	pthread_mutex_init(&s->lock, NULL);
	mfs_cancel_init(&s->stop);
	*out = s;
	return 0;

out_free:
	mfs_workpool_free(s->fetch_pool);
	mfs_workpool_free(s->hash_pool);
	free_sigs(s);
	free(s->prefetched);
	free(s->scratch_answers);
	free(s->scratch_fds);
	free(s->scratch);
	free(s->groups);
	free(s->e);
	free(s);
	return rc;
}

void mfs_sched_stop(struct mfs_sched *s)
{
	/* Every submission checks `stop` under the lock: once it is set
	 * here, no job is queued any more, and the queued ones find it set
	 * and answer their waiters. */
	pthread_mutex_lock(&s->lock);
	mfs_cancel_fire(&s->stop);
	pthread_mutex_unlock(&s->lock);
	/* A job waiting for another scheduler's download gives up. */
	mfs_inflight_wake(s->o.inflight);
	mfs_workpool_drain(s->hash_pool);
	mfs_workpool_drain(s->fetch_pool);
}

void mfs_sched_free(struct mfs_sched *s)
{
	if (!s)
		return;
	mfs_sched_stop(s);
	mfs_workpool_free(s->fetch_pool);
	mfs_workpool_free(s->hash_pool);
	for (size_t i = 0; i < s->o.cfg->nmodels; i++) {
		if (s->e[i].fd >= 0)
			close(s->e[i].fd);
	}
	mfs_cancel_release(&s->stop);
	mfs_quota_release(&s->quota);
	pthread_mutex_destroy(&s->lock);
	free_sigs(s);
	free(s->prefetched);
	free(s->scratch_answers);
	free(s->scratch_fds);
	free(s->scratch);
	free(s->groups);
	free(s->e);
	free(s);
}

/* Under s->lock: a dup of verified entry `mi`'s fd for a reader, held
 * until mfs_sched_release; its use is noted in the store (at most every
 * NOTE_USE_EVERY seconds), for eviction's order.  -errno of the dup. */
static int hand_out(struct mfs_sched *s, size_t mi)
{
	struct entry *e = &s->e[mi];
	int fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	time_t now;

	if (fd < 0)
		return -errno;
	e->holders++;
	now = time(NULL);
	if (now - e->noted >= NOTE_USE_EVERY) {
		int rc = mfs_store_note_use(s->o.store, e->object);

		if (rc < 0)
			mfs_warn("cannot note the use of '%s': %s", e->object, strerror(-rc));
		e->noted = now;
	}
	return fd;
}

/* Under s->lock: true while failures of entry `e` hold its opens back.
 * The store's record is read at the first need, and again before
 * refusing: another process may have succeeded meanwhile. */
static bool backing_off(struct mfs_sched *s, struct entry *e, time_t now)
{
	unsigned count;
	time_t until;

	if (e->fail_loaded && (e->retry_at == 0 || now >= e->retry_at))
		return false;
	if (mfs_store_get_failure(s->o.store, e->fail_key, &count, &until) == 0) {
		e->fails = count;
		e->retry_at = until;
	} else {
		e->fails = 0;
		e->retry_at = 0;
	}
	e->fail_loaded = true;
	return e->retry_at && now < e->retry_at;
}

/* Under s->lock: what a download of entry `mi` came to.  A transfer or
 * digest failure (-EIO, -EBADMSG) holds its opens back for failure_backoff seconds,
 * doubling with each failure in a row up to failure_backoff_max, shared
 * with other processes through the store; a success forgets them. */
static void note_outcome(struct mfs_sched *s, size_t mi, int result, const char *why)
{
	const struct mfs_config *cfg = s->o.cfg;
	struct entry *e = &s->e[mi];
	struct timespec ts;
	time_t now;
	uint64_t delay;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	if (result >= 0) {
		e->error[0] = '\0';
		if (e->fails || !e->fail_loaded) {
			rc = mfs_store_clear_failure(s->o.store, e->fail_key);
			if (rc < 0)
				mfs_warn("cannot clear the failures of '%s': %s", e->object,
					 strerror(-rc));
		}
		e->fails = 0;
		e->retry_at = 0;
		e->fail_loaded = true;
		return;
	}
	snprintf(e->error, sizeof(e->error), "%s", why && *why ? why : strerror(-result));
	if (result != -EIO && result != -EBADMSG)
		return;
	backing_off(s, e, now);
	e->fails++;
	delay = cfg->failure_backoff;
	for (unsigned i = 1; i < e->fails && delay < cfg->failure_backoff_max; i++)
		delay *= 2;
	if (delay > cfg->failure_backoff_max)
		delay = cfg->failure_backoff_max;
	/* Whole seconds, rounded up: never shorter than the period. */
	e->retry_at = now + (time_t)delay + (ts.tv_nsec > 0);
	rc = mfs_store_set_failure(s->o.store, e->fail_key, e->fails, e->retry_at);
	if (rc < 0)
		mfs_warn("cannot record the failure of '%s': %s", e->object, strerror(-rc));
	mfs_info("'%s' failed %u time%s in a row: its opens fail at once for %llu s",
		 cfg->models[mi].path, e->fails, e->fails == 1 ? "" : "s",
		 (unsigned long long)delay);
}

/* Under s->lock: records the outcome for entry `mi` and detaches its
 * waiters with their answers (each gets its own dup). */
static struct waiter *settle(struct mfs_sched *s, size_t mi, int fd, enum mfs_sched_how how)
{
	struct entry *e = &s->e[mi];
	struct waiter *w = e->waiters;
	int64_t now = now_us();

	if (fd >= 0 && fstat(fd, &e->st) < 0) {
		mfs_err("fstat of the verified object of '%s' failed: %s",
			s->o.cfg->models[mi].path, strerror(errno));
		close(fd);
		fd = -EIO;
	}
	if (fd >= 0) {
		e->fd = fd;
		e->verified = true;
	}
	/* (A verified entry has no waiters: settling it answers nobody.) */
	e->waiters = NULL;
	e->prefetch = false;
	for (struct waiter *p = w; p; p = p->next) {
		/* A stop's cancel, or which check failed, is no reason a reader
		 * needs to know. */
		p->result = fd == -ECANCELED || fd == -EBADMSG ? -EIO : fd < 0 ? fd : hand_out(s, mi);
		p->outcome = (struct mfs_sched_outcome){
			.owner = s->o.owner, .how = how, .us = now - p->t0,
		};
	}
	return w;
}

static void answer(struct waiter *w, size_t mi)
{
	while (w) {
		struct waiter *next = w->next;

		w->done(w->arg, mi, w->result, &w->outcome);
		free(w);
		w = next;
	}
}

/* Under s->lock: has an unverified member of the group waiters (opens),
 * or, unless `opens_only`, a prefetch asking for it? */
static bool wanted(struct mfs_sched *s, const struct group *gr, bool opens_only)
{
	for (size_t i = 0; i < gr->nmembers; i++) {
		const struct entry *e = &s->e[gr->members[i]];

		if (!e->verified && (e->waiters || (!opens_only && e->prefetch)))
			return true;
	}
	return false;
}

static bool pending(struct mfs_sched *s, const struct group *gr)
{
	return wanted(s, gr, false);
}

/* Under s->lock: queues the group's job on `pool`: behind every job of
 * an open if only prefetches want it (the low queue), else with them.
 * 0 or mfs_workpool_submit's -errno. */
static int queue(struct mfs_sched *s, struct group *gr, struct mfs_workpool *pool)
{
	gr->low = !wanted(s, gr, true);
	if (gr->low)
		return mfs_workpool_submit_low(pool, &gr->job);
	return mfs_workpool_submit(pool, &gr->job);
}

/* Under s->lock: answers (outside it) every waiter of the group's
 * unverified members with `err`, and leaves the group idle. */
static void fail_all(struct mfs_sched *s, struct group *gr, int err)
{
	size_t n = 0;

	for (size_t i = 0; i < gr->nmembers; i++) {
		if (!s->e[gr->members[i]].verified)
			gr->todo[n++] = gr->members[i];
	}
	for (size_t i = 0; i < n; i++)
		gr->answers[i] = settle(s, gr->todo[i], err, MFS_SCHED_CACHED);
	gr->phase = IDLE;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		answer(gr->answers[i], gr->todo[i]);
	pthread_mutex_lock(&s->lock);
}

/* Under s->lock: queues the group's next round on the hash pool if
 * anyone waits for an unverified member (queued after their round was
 * settled, or found changed meanwhile), else leaves it idle. */
static void next_round(struct mfs_sched *s, struct group *gr)
{
	gr->phase = IDLE;
	if (!pending(s, gr))
		return;
	if (mfs_cancel_fired(&s->stop)) {
		fail_all(s, gr, -EIO);
		return;
	}
	gr->phase = HASH_QUEUED;
	if (queue(s, gr, s->hash_pool) < 0)
		fail_all(s, gr, -EIO);
}

/* Settles todo[0..n) with fds[] (each answered outside the lock: a
 * callback may block replying to the kernel).  Called and returns with
 * s->lock held. */
static void settle_and_answer(struct mfs_sched *s, struct group *gr, const size_t *todo,
			      const int *fds, size_t n, enum mfs_sched_how how)
{
	/* Settle every member under the lock (an open may otherwise find a
	 * fresh fd changed and close it under us), answer outside it. */
	for (size_t i = 0; i < n; i++)
		gr->answers[i] = settle(s, todo[i], fds[i], how);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		answer(gr->answers[i], todo[i]);
	pthread_mutex_lock(&s->lock);
}

/* Not under s->lock: resolves signed model `g` once for this scheduler
 * (signature.h), then names its members' objects and their digests.
 * Concurrent callers wait for the one that resolves; one that waited
 * through a failure gets that failure rather than trying again at once
 * (the back-off then holds the next opens).  0 or -errno, `why`; *ran
 * says whether this call did the resolving (and so whose failure it is
 * to record). */
static int gate(struct mfs_sched *s, const struct mfs_signature *g, bool *ran, char *why,
		size_t whylen)
{
	const struct mfs_config *cfg = s->o.cfg;
	struct sigrun *r = &s->sig[g - cfg->signatures];
	unsigned seen;
	int rc;

	*ran = false;
	pthread_mutex_lock(&s->lock);
	seen = r->tries;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&r->lock);
	if (r->ok) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	if (r->tries != seen) {
		snprintf(why, whylen, "%s", r->why);
		rc = r->rc;
		pthread_mutex_unlock(&r->lock);
		return rc;
	}
	rc = mfs_signature_resolve(&s->ac, g, true, r->files, r->why, sizeof(r->why));
	*ran = true;
	pthread_mutex_lock(&s->lock);
	r->rc = rc;
	r->tries++;
	if (rc == 0) {
		r->ok = true;
		for (size_t k = 0; k < g->nmembers; k++) {
			struct entry *e = &s->e[g->members[k]];
			char old[sizeof(e->fail_key)];

			snprintf(old, sizeof(old), "%s", e->fail_key);
			e->want = &r->files[k].digests;
			e->shards = r->files[k].shards;
			e->nshards = r->files[k].nshards;
			if (e->shards)
				mfs_store_shards_name(e->shards, e->nshards, e->object,
						      sizeof(e->object));
			else
				mfs_store_object_name(e->want, e->object, sizeof(e->object));
			if (fail_key(e, &cfg->models[g->members[k]]) == 0 && strcmp(old, e->fail_key))
				mfs_store_clear_failure(s->o.store, old);
			e->fail_loaded = false;
		}
	}
	pthread_mutex_unlock(&s->lock);
	snprintf(why, whylen, "%s", r->why);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Hash pool: verifies the group's unverified members from the store
 * (a signed model's bundle first: gate); what is not there (or was
 * corrupt) goes on to the fetch pool. */
static void hash_round(struct mfs_sched *s, struct group *gr)
{
	size_t n = 0, nok = 0;
	bool unresolved;

	gr->nfetch = 0;
	for (size_t i = 0; i < gr->nmembers; i++) {
		if (!s->e[gr->members[i]].verified)
			gr->todo[n++] = gr->members[i];
	}
	gr->phase = HASHING;
	atomic_store(&gr->prefetch_round, !wanted(s, gr, true));
	unresolved = n && !gr->archive && !s->e[gr->todo[0]].want;
	pthread_mutex_unlock(&s->lock);
	if (unresolved) {
		const struct mfs_signature *g = s->o.cfg->models[gr->todo[0]].signature;
		char why[512];
		bool ran;
		int rc = gate(s, g, &ran, why, sizeof(why));

		if (rc < 0) {
			/* The one that resolved records the failure for every
			 * file of the model (the bundle is theirs too), once;
			 * the others only answer their own waiters. */
			pthread_mutex_lock(&s->lock);
			for (size_t k = 0; ran && k < g->nmembers && rc != -ECANCELED; k++) {
				if (!s->e[g->members[k]].verified)
					note_outcome(s, g->members[k], -EIO, why);
			}
			for (size_t i = 0; !ran && i < n; i++)
				snprintf(s->e[gr->todo[i]].error, sizeof(s->e[gr->todo[i]].error),
					 "%.255s", why);
			fail_all(s, gr, rc == -ECANCELED ? rc : -EIO);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int fd = mfs_acquire_stored(&s->ac, gr->todo[i]);

		if (fd == -EBADMSG)
			mfs_metrics_count(s->o.metrics, MFS_STORE_CORRUPT, 1);
		if (fd == -ENOENT || fd == -EBADMSG) {
			gr->fetch[gr->nfetch++] = gr->todo[i];
		} else {
			gr->todo[nok] = gr->todo[i];
			gr->fds[nok++] = fd;
		}
	}
	pthread_mutex_lock(&s->lock);
	settle_and_answer(s, gr, gr->todo, gr->fds, nok, MFS_SCHED_STORE);
	if (mfs_cancel_fired(&s->stop)) {
		fail_all(s, gr, -EIO);
		return;
	}
	if (gr->nfetch == 0) {
		next_round(s, gr);
		return;
	}
	gr->phase = FETCH_QUEUED;
	if (queue(s, gr, s->fetch_pool) < 0)
		fail_all(s, gr, -EIO);
}

/* Under s->lock: does a reader of this scheduler hold `object` (the
 * kernel's passthrough backing included: it is held as long as a FUSE
 * file is open on it), or is it being re-hashed? */
static bool held_here(const struct mfs_sched *s, const char *object)
{
	for (size_t i = 0; i < s->o.cfg->nmodels; i++) {
		const struct entry *e = &s->e[i];

		if (strcmp(e->object, object) == 0 && (e->holders || e->group->phase == HASHING))
			return true;
	}
	return false;
}

/* Under s->lock (quota hooks): may `object` not be evicted now?  Not
 * while it is held here, nor by readers of an older config (a reload). */
static bool object_busy(void *arg, const char *object)
{
	struct mfs_sched *s = arg;

	return held_here(s, object) || (s->also_held && s->also_held(s->also_held_arg, object));
}

/* Under s->lock (quota hooks): `object` left the store; the models it
 * served are verified again, from a download, on their next open. */
static void object_evicted(void *arg, const char *object, uint64_t bytes,
			   const struct stat *was)
{
	struct mfs_sched *s = arg;
	char path[MFS_STORE_OBJECT_NAME_MAX + 16];
	struct mfs_audit_event ev = {
		.event = "evict", .path = NULL, .bytes = (int64_t)bytes, .ms = -1,
		.error = "least recently opened, to make room under store_max",
	};

	for (size_t i = 0; i < s->o.cfg->nmodels; i++) {
		struct entry *e = &s->e[i];

		if (strcmp(e->object, object) != 0)
			continue;
		if (!ev.path)
			ev.path = s->o.cfg->models[i].path;
		if (e->verified) {
			close(e->fd);
			e->fd = -1;
			e->verified = false;
		}
	}
	if (s->on_evict)
		s->on_evict(s->on_evict_arg, was);
	/* An object no model of this config names (an older config's). */
	if (!ev.path) {
		snprintf(path, sizeof(path), "objects/%s", object);
		ev.path = path;
	}
	if (s->o.audit)
		mfs_audit_write(s->o.audit, &ev);
	mfs_metrics_count(s->o.metrics, MFS_EVICTIONS, 1);
	mfs_info("evicted '%s' (%llu bytes) to make room under store_max", ev.path,
		 (unsigned long long)bytes);
}

/* Bytes a download of the group's fetch list takes in the store at its
 * peak: the model, or the archive plus the members taken from it. */
static uint64_t fetch_bytes(const struct mfs_sched *s, const struct group *gr)
{
	const struct mfs_config *cfg = s->o.cfg;
	uint64_t n = gr->archive ? (gr->archive->size ? gr->archive->size : gr->archive->max_size) : 0;

	for (size_t i = 0; i < gr->nfetch; i++)
		n += cfg->models[gr->fetch[i]].size;
	return n;
}

/* Under s->lock: the fetch list's opens fail with ENOSPC, audited as
 * store_full. */
static void store_full(struct mfs_sched *s, struct group *gr, uint64_t bytes, const char *why)
{
	for (size_t i = 0; i < gr->nfetch; i++) {
		const struct mfs_model *m = &s->o.cfg->models[gr->fetch[i]];
		struct mfs_audit_event ev = {
			.event = "store_full", .path = m->path, .url = m->url,
			.bytes = (int64_t)bytes, .ms = -1, .error = why,
			.prefetch = atomic_load(&gr->prefetch_round),
		};

		if (s->o.audit)
			mfs_audit_write(s->o.audit, &ev);
		mfs_err("cannot fetch '%s': %s", m->path, why);
		snprintf(s->e[gr->fetch[i]].error, sizeof(s->e[0].error), "store full: %s", why);
		gr->fds[i] = -ENOSPC;
	}
}

/* The key of the group's download among every scheduler's (inflight.h):
 * the object of a plain model, the url of an archive. */
static const char *flight_key(const struct mfs_sched *s, const struct group *gr)
{
	return gr->archive ? gr->archive->url : s->e[gr->fetch[0]].object;
}

/* Fetch pool, under s->lock (let go of while hashing): the members of
 * the fetch list that have an object now (committed since the hash round
 * by another download of it: another config's, or another model's with
 * the same pin) are verified from the store, as a hash round does; the
 * rest stay on the list.  Their readers then hold the very inode that
 * download's readers hold.  (A corrupt object the hash round found was
 * quarantined: looking again costs an openat.) */
static void found_since(struct mfs_sched *s, struct group *gr)
{
	size_t n = 0, nok = 0;

	if (gr->nfetch == 0)
		return;
	/* (So that the object is not evicted while it is hashed.) */
	gr->phase = HASHING;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < gr->nfetch; i++) {
		size_t mi = gr->fetch[i];
		int fd = mfs_acquire_stored(&s->ac, mi);

		if (fd == -EBADMSG)
			mfs_metrics_count(s->o.metrics, MFS_STORE_CORRUPT, 1);
		if (fd == -ENOENT || fd == -EBADMSG) {
			gr->fetch[n++] = mi;
		} else {
			gr->todo[nok] = mi;
			gr->fds[nok++] = fd;
		}
	}
	gr->nfetch = n;
	pthread_mutex_lock(&s->lock);
	settle_and_answer(s, gr, gr->todo, gr->fds, nok, MFS_SCHED_STORE);
	gr->phase = FETCHING;
}

/* Fetch pool, holding the group's flight: downloads its fetch list, once
 * the store has room for it; lets go of the flight once that is done. */
static void download(struct mfs_sched *s, struct group *gr)
{
	const struct mfs_quota_hooks hooks = { object_busy, object_evicted, s };
	uint64_t bytes = s->retired ? 0 : fetch_bytes(s, gr);
	char why[256] = "";

	/* A retired scheduler (an older config's, finishing what was asked
	 * of it) leaves the bound to the current one. */
	if (!s->retired && mfs_quota_reserve(&s->quota, bytes, &hooks, why, sizeof(why)) < 0) {
		mfs_inflight_give(s->o.inflight, &gr->flight);
		store_full(s, gr, bytes, why);
		settle_and_answer(s, gr, gr->fetch, gr->fds, gr->nfetch, MFS_SCHED_FETCHED);
		next_round(s, gr);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	if (gr->archive)
		mfs_acquire_archive(&s->ac, gr->archive, gr->fetch, gr->nfetch, gr->fds, why,
				    sizeof(why));
	else
		gr->fds[0] = mfs_acquire_fetch(&s->ac, gr->fetch[0], why, sizeof(why));
	mfs_quota_unreserve(&s->quota, bytes);
	mfs_metrics_count(s->o.metrics, MFS_FETCH_BYTES, atomic_load(&gr->fetched));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < gr->nfetch; i++) {
		int r = gr->fds[i];

		if (r >= 0 || r == -EIO || r == -EBADMSG)
			mfs_metrics_count(s->o.metrics, r >= 0 ? MFS_FETCH_OK : MFS_FETCH_FAILED, 1);
		if (r == -EBADMSG)
			mfs_metrics_count(s->o.metrics, MFS_VERIFY_FAILURES, 1);
		note_outcome(s, gr->fetch[i], r, why);
	}
	/* Committed, or its failure recorded (note_outcome): another one
	 * waiting looks in the store now. */
	mfs_inflight_give(s->o.inflight, &gr->flight);
	settle_and_answer(s, gr, gr->fetch, gr->fds, gr->nfetch, MFS_SCHED_FETCHED);
	next_round(s, gr);
}

/* Under s->lock: is any member on the group's fetch list held back by a
 * failure recorded in the store (backing_off), read afresh: the download
 * waited for was another scheduler's, whose failures this one's cache
 * has not seen? */
static bool fetch_backing_off(struct mfs_sched *s, struct group *gr)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < gr->nfetch; i++) {
		struct entry *e = &s->e[gr->fetch[i]];

		e->fail_loaded = false;
		if (backing_off(s, e, now))
			return true;
	}
	return false;
}

/* Fetch pool: downloads what the hash round did not find, once no other
 * download of it runs in this process (another config's, since a reload:
 * inflight.h), unless that one put it in the store meanwhile. */
static void fetch_round(struct mfs_sched *s, struct group *gr)
{
	bool waited = false;
	int rc;

	atomic_store(&gr->prefetch_round, !wanted(s, gr, true));
	gr->phase = FETCHING;
	atomic_store(&gr->fetched, 0);
	pthread_mutex_unlock(&s->lock);
	rc = mfs_inflight_try(s->o.inflight, &gr->flight, flight_key(s, gr));
	if (rc == -EBUSY) {
		mfs_info("'%s': waiting for the same download under way (another config's or "
			 "model's)", gr->archive ? gr->archive->name : s->o.cfg->models[gr->fetch[0]].path);
		rc = mfs_inflight_take(s->o.inflight, &gr->flight, flight_key(s, gr), &s->stop);
		waited = true;
	}
	pthread_mutex_lock(&s->lock);
	if (rc < 0) {
		/* Stopped while waiting for the other one. */
		fail_all(s, gr, -EIO);
		return;
	}
	found_since(s, gr);
	if (waited && gr->nfetch && fetch_backing_off(s, gr)) {
		/* The download waited for failed (its failure is the same
		 * object's, or url's): these opens fail at once, as any open
		 * during the back-off does, rather than try it again. */
		mfs_inflight_give(s->o.inflight, &gr->flight);
		fail_all(s, gr, -EIO);
		return;
	}
	if (waited && !pending(s, gr)) {
		/* Everyone who asked left while it waited. */
		mfs_inflight_give(s->o.inflight, &gr->flight);
		gr->phase = IDLE;
		return;
	}
	if (gr->nfetch && !mfs_cancel_fired(&s->stop)) {
		download(s, gr);
		return;
	}
	/* (Given before a next round may be queued: it takes it again.) */
	mfs_inflight_give(s->o.inflight, &gr->flight);
	if (mfs_cancel_fired(&s->stop))
		fail_all(s, gr, -EIO);
	else
		next_round(s, gr);
}

static void run_group(struct mfs_job *job)
{
	struct group *gr = GROUP_OF(job);
	struct mfs_sched *s = gr->s;

	pthread_mutex_lock(&s->lock);
	if (mfs_cancel_fired(&s->stop))
		fail_all(s, gr, -EIO);
	else if (!pending(s, gr))
		gr->phase = IDLE;  /* every waiter was interrupted: dropped */
	else if (gr->phase == HASH_QUEUED)
		hash_round(s, gr);
	else
		fetch_round(s, gr);
	pthread_mutex_unlock(&s->lock);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Under s->lock.  A verified entry whose object changed on disk since it
 * was hashed (tampered with, replaced) is verified again from scratch. */
static int verified_fd(struct mfs_sched *s, size_t mi)
{
	struct entry *e = &s->e[mi];
	struct stat st;

	if (fstat(e->fd, &st) == 0 && same_file(&st, &e->st) && st.st_nlink > 0)
		return hand_out(s, mi);
	mfs_warn("stored object of '%s' changed since it was verified; verifying again",
		 s->o.cfg->models[mi].path);
	close(e->fd);
	e->fd = -1;
	e->verified = false;
	return -ESTALE;
}

/* Under s->lock: the first open of a file of folder `f` (with prefetch)
 * queues its other files as prefetches: no waiter, the low queues (an
 * open's job goes first), verified and audited as if opened.  Files
 * verified, under way or backing off are left alone, and `opened`: its
 * open queues it. */
static void prefetch_folder(struct mfs_sched *s, const struct mfs_folder *f, size_t opened)
{
	const struct mfs_config *cfg = s->o.cfg;
	time_t now = time(NULL);
	size_t n = 0;

	s->prefetched[f - cfg->folders] = true;
	for (size_t i = 0; i < f->nmembers && !mfs_cancel_fired(&s->stop); i++) {
		size_t mi = f->members[i];
		struct entry *e = &s->e[mi];
		struct group *gr = e->group;

		if (mi == opened || e->verified || gr->phase != IDLE || backing_off(s, e, now))
			continue;
		e->prefetch = true;
		gr->phase = HASH_QUEUED;
		gr->low = true;
		if (mfs_workpool_submit_low(s->hash_pool, &gr->job) < 0) {
			e->prefetch = false;
			gr->phase = IDLE;
			continue;
		}
		n++;
	}
	if (n)
		mfs_info("prefetching %zu file%s of the folder of '%s'", n, n == 1 ? "" : "s",
			 cfg->models[opened].path);
}

int mfs_sched_open(struct mfs_sched *s, size_t mi, mfs_sched_done done, void *arg)
{
	const struct mfs_folder *f;
	struct waiter *w, **tail;
	struct group *gr;
	struct entry *e;
	int rc;

	if (mi >= s->o.cfg->nmodels)
		return -EINVAL;
	e = &s->e[mi];
	gr = e->group;
	f = s->o.cfg->models[mi].folder;

	pthread_mutex_lock(&s->lock);
	if (s->o.prefetch && f && f->prefetch && !s->prefetched[f - s->o.cfg->folders] &&
	    !s->retired)
		prefetch_folder(s, f, mi);
	if (e->verified) {
		rc = verified_fd(s, mi);
		if (rc != -ESTALE)
			goto out_unlock;
	}
	if (backing_off(s, e, time(NULL))) {
		mfs_debug("'%s' failed %u time%s in a row: its opens fail until %lld",
			  s->o.cfg->models[mi].path, e->fails, e->fails == 1 ? "" : "s",
			  (long long)e->retry_at);
		rc = -EIO;
		goto out_unlock;
	}
	/* Only a request that must wait costs an allocation. */
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	w->done = done;
	w->arg = arg;
	w->t0 = now_us();
	if (gr->phase == IDLE) {
		if (mfs_cancel_fired(&s->stop)) {
			rc = -EIO;
			goto out_unlock_free;
		}
		gr->phase = HASH_QUEUED;
		gr->low = false;
		rc = mfs_workpool_submit(s->hash_pool, &gr->job);
		if (rc < 0) {
			gr->phase = IDLE;
			rc = rc == -ESHUTDOWN ? -EIO : -EAGAIN;
			goto out_unlock_free;
		}
	} else if (gr->low) {
		/* Queued for a prefetch: an open goes before the others now.
		 * (Started already: this open joins it.) */
		if (gr->phase == HASH_QUEUED || gr->phase == FETCH_QUEUED)
			mfs_workpool_promote(gr->phase == HASH_QUEUED ? s->hash_pool : s->fetch_pool,
					     &gr->job);
		gr->low = false;
	}
	/* From now on an open waits for this round: not a prefetch. */
	atomic_store(&gr->prefetch_round, false);
	for (tail = &e->waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	pthread_mutex_unlock(&s->lock);
	return -EINPROGRESS;

out_unlock_free:
	free(w);
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

bool mfs_sched_cancel(struct mfs_sched *s, size_t mi, void *arg)
{
	struct waiter **p, *w = NULL;

	if (mi >= s->o.cfg->nmodels)
		return false;
	pthread_mutex_lock(&s->lock);
	for (p = &s->e[mi].waiters; *p; p = &(*p)->next) {
		if ((*p)->arg == arg) {
			w = *p;
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(w);
	return w != NULL;
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int result;
	enum mfs_sched_how how;
};

static void sync_done(void *arg, size_t mi, int result, const struct mfs_sched_outcome *o)
{
	struct sync_wait *sw = arg;

	pthread_mutex_lock(&sw->lock);
	sw->result = result;
	sw->how = o->how;
	sw->done = true;
	pthread_cond_signal(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
}

int mfs_sched_get(struct mfs_sched *s, size_t mi, enum mfs_sched_how *how)
{
	struct sync_wait sw = { .done = false, .how = MFS_SCHED_CACHED };
	int rc;

	pthread_mutex_init(&sw.lock, NULL);
	pthread_cond_init(&sw.cond, NULL);
	rc = mfs_sched_open(s, mi, sync_done, &sw);
	if (rc == -EINPROGRESS) {
		pthread_mutex_lock(&sw.lock);
		while (!sw.done)
			pthread_cond_wait(&sw.cond, &sw.lock);
		rc = sw.result;
		pthread_mutex_unlock(&sw.lock);
	}
	if (how)
		*how = sw.how;
	pthread_cond_destroy(&sw.cond);
	pthread_mutex_destroy(&sw.lock);
	return rc;
}

void mfs_sched_on_evict(struct mfs_sched *s, void (*fn)(void *arg, const struct stat *was),
			void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->on_evict = fn;
	s->on_evict_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

void mfs_sched_also_held(struct mfs_sched *s, bool (*fn)(void *arg, const char *object),
			 void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->also_held = fn;
	s->also_held_arg = arg;
	pthread_mutex_unlock(&s->lock);
}

bool mfs_sched_holds(struct mfs_sched *s, const char *object)
{
	bool held;

	/* Not also_held: the caller (mfs_gens_held_elsewhere) asks each older
	 * scheduler itself, under a lock that also_held would take again. */
	pthread_mutex_lock(&s->lock);
	held = held_here(s, object);
	pthread_mutex_unlock(&s->lock);
	return held;
}

void mfs_sched_retire(struct mfs_sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->retired = true;
	/* Its queued prefetches are dropped (the new config's scheduler
	 * prefetches for itself); one under way goes on for the store. */
	for (size_t i = 0; i < s->o.cfg->nmodels; i++)
		s->e[i].prefetch = false;
	pthread_mutex_unlock(&s->lock);
}

int mfs_sched_carry(struct mfs_sched *to, size_t to_model, struct mfs_sched *from,
		    size_t from_model)
{
	struct entry *t, *f;
	int rc = 0;

	if (to_model >= to->o.cfg->nmodels || from_model >= from->o.cfg->nmodels)
		return -EINVAL;
	t = &to->e[to_model];
	f = &from->e[from_model];
	/* Only the reload thread holds two schedulers' locks: newer first. */
	pthread_mutex_lock(&to->lock);
	pthread_mutex_lock(&from->lock);
	if (!t->verified && f->verified) {
		t->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
		if (t->fd < 0) {
			rc = -errno;
		} else {
			t->st = f->st;
			t->verified = true;
		}
	}
	t->fails = f->fails;
	t->retry_at = f->retry_at;
	t->fail_loaded = f->fail_loaded;
	t->noted = f->noted;
	memcpy(t->error, f->error, sizeof(t->error));
	pthread_mutex_unlock(&from->lock);
	pthread_mutex_unlock(&to->lock);
	return rc;
}

void mfs_sched_release(struct mfs_sched *s, size_t mi)
{
	if (mi >= s->o.cfg->nmodels)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->e[mi].holders)
		s->e[mi].holders--;
	pthread_mutex_unlock(&s->lock);
}

void mfs_sched_status(struct mfs_sched *s, size_t mi, struct mfs_sched_status *out)
{
	struct entry *e;

	memset(out, 0, sizeof(*out));
	if (mi >= s->o.cfg->nmodels)
		return;
	e = &s->e[mi];
	pthread_mutex_lock(&s->lock);
	if (e->verified)
		out->state = MFS_MODEL_VERIFIED;
	else if (e->group->phase != IDLE)
		out->state = MFS_MODEL_FETCHING;
	else if (e->error[0])
		out->state = MFS_MODEL_FAILED;
	else
		out->state = MFS_MODEL_ABSENT;
	if (out->state == MFS_MODEL_FETCHING)
		out->fetched = atomic_load(&e->group->fetched);
	out->holders = e->holders;
	out->failures = e->fails;
	out->retry_at = e->retry_at > time(NULL) ? e->retry_at : 0;
	snprintf(out->error, sizeof(out->error), "%s", e->error);
	pthread_mutex_unlock(&s->lock);
}

void mfs_sched_threads(struct mfs_sched *s, unsigned *hash, unsigned *fetch)
{
	*hash = mfs_workpool_threads(s->hash_pool);
	*fetch = mfs_workpool_threads(s->fetch_pool);
}
