/* gate — see include/gate.h. */
#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "verify.h"

struct waiter {
	struct waiter *next;
	mfs_gate_done done;
	void *arg;
	int result;
};

/* What one worker verifies at a time: a plain model, or every member of
 * one archive (downloaded once for all of them). */
struct group {
	struct mfs_gate *g;
	const struct mfs_archive *archive; /* NULL: members[0] is a plain model */
	const size_t *members;
	size_t nmembers;
	bool busy;                         /* a worker runs for it */
	bool joinable;                     /* `thread` ran and is not joined yet */
	pthread_t thread;
};

struct entry {
	bool verified;
	int fd;            /* verified: the fd the bytes were hashed through */
	struct stat st;    /* its identity when verified */
	struct waiter *waiters;
	struct group *group;
	size_t self;       /* this entry's model index, for plain groups */
};

struct mfs_gate {
	struct mfs_gate_opts o;
	struct mfs_verify_ctx vc;
	pthread_mutex_t lock;
	pthread_cond_t workers_done;
	size_t workers;
	atomic_bool stopping;
	struct entry *e;
	struct group *groups;
};

static void gate_progress(void *arg, size_t model, uint64_t done, uint64_t total)
{
	struct mfs_gate *g = arg;

	g->o.progress(g->o.progress_arg, model, done, total);
}

int mfs_gate_new(const struct mfs_gate_opts *opts, struct mfs_gate **out)
{
	const struct mfs_config *cfg = opts->cfg;
	struct mfs_gate *g = calloc(1, sizeof(*g));
	size_t ng = 0;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->o = *opts;
	g->e = calloc(cfg->nmodels ? cfg->nmodels : 1, sizeof(*g->e));
	g->groups = calloc(cfg->nmodels + cfg->narchives + 1, sizeof(*g->groups));
	if (!g->e || !g->groups) {
		free(g->e);
		free(g->groups);
		free(g);
		return -ENOMEM;
	}
	for (size_t a = 0; a < cfg->narchives; a++) {
		struct group *gr = &g->groups[ng++];

		gr->g = g;
		gr->archive = &cfg->archives[a];
		gr->members = cfg->archives[a].members;
		gr->nmembers = cfg->archives[a].nmembers;
		for (size_t i = 0; i < gr->nmembers; i++)
			g->e[gr->members[i]].group = gr;
	}
	for (size_t i = 0; i < cfg->nmodels; i++) {
		g->e[i].fd = -1;
		g->e[i].self = i;
		if (!cfg->models[i].archive) {
			struct group *gr = &g->groups[ng++];

			gr->g = g;
			gr->members = &g->e[i].self;
			gr->nmembers = 1;
			g->e[i].group = gr;
		}
	}
	g->vc = (struct mfs_verify_ctx){
		.cfg = cfg, .store = opts->store, .audit = opts->audit, .fsync = opts->fsync,
		.progress = opts->progress ? gate_progress : NULL, .progress_arg = g,
		.stopping = &g->stopping,
	};
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->workers_done, NULL);
	*out = g;
	return 0;
}

/* Joined, not detached: a thread still tearing down (OpenSSL's per-thread
 * state) when the process exits would leak, and LeakSanitizer says so. */
static void join(struct group *gr)
{
	if (gr->joinable) {
		pthread_join(gr->thread, NULL);
		gr->joinable = false;
	}
}

void mfs_gate_stop(struct mfs_gate *g)
{
	const struct mfs_config *cfg = g->o.cfg;

	atomic_store(&g->stopping, true);
	pthread_mutex_lock(&g->lock);
	while (g->workers > 0)
		pthread_cond_wait(&g->workers_done, &g->lock);
	for (size_t i = 0; i < cfg->nmodels + cfg->narchives; i++)
		join(&g->groups[i]);
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
	free(g->groups);
	free(g->e);
	free(g);
}

/* Verifies the models in todo[0..n): from the store where possible, else
 * by one download (of the model, or of their archive).  fds[i] gets a
 * verified fd or -EIO.  Runs without the gate's lock. */
static void verify_group(struct mfs_gate *g, const struct group *gr, const size_t *todo,
			 size_t n, int *fds)
{
	size_t *fetch = malloc(n * sizeof(*fetch));
	size_t nfetch = 0;
	int *ffds = malloc(n * sizeof(*ffds));

	if (!fetch || !ffds) {
		for (size_t i = 0; i < n; i++)
			fds[i] = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		fds[i] = mfs_verify_stored(&g->vc, todo[i]);
		if (fds[i] == -ENOENT)
			fetch[nfetch++] = todo[i];
	}
	if (nfetch == 0)
		goto out_free;
	if (gr->archive)
		mfs_verify_archive(&g->vc, gr->archive, fetch, nfetch, ffds);
	else
		ffds[0] = mfs_verify_fetch(&g->vc, fetch[0]);
	for (size_t i = 0, f = 0; i < n && f < nfetch; i++) {
		if (todo[i] == fetch[f])
			fds[i] = ffds[f++];
	}
out_free:
	free(fetch);
	free(ffds);
}

/* Under g->lock: the group's members that are not verified. */
static size_t unverified(struct mfs_gate *g, const struct group *gr, size_t *todo)
{
	size_t n = 0;

	for (size_t i = 0; i < gr->nmembers; i++) {
		if (!g->e[gr->members[i]].verified)
			todo[n++] = gr->members[i];
	}
	return n;
}

/* Under g->lock: records the outcome for entry `mi` and detaches its
 * waiters with their answers (each gets its own dup). */
static struct waiter *settle(struct mfs_gate *g, size_t mi, int fd)
{
	struct entry *e = &g->e[mi];
	struct waiter *w = e->waiters;

	if (fd >= 0 && fstat(fd, &e->st) < 0) {
		mfs_err("fstat of the verified object of '%s' failed: %s",
			g->o.cfg->models[mi].path, strerror(errno));
		close(fd);
		fd = -EIO;
	}
	if (fd >= 0) {
		e->fd = fd;
		e->verified = true;
	}
	/* (A verified entry has no waiters: settling it answers nobody.) */
	e->waiters = NULL;
	for (struct waiter *p = w; p; p = p->next) {
		p->result = fd < 0 ? -EIO : fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (p->result < 0 && fd >= 0)
			p->result = -errno;
	}
	return w;
}

static void answer(struct waiter *w, size_t mi)
{
	while (w) {
		struct waiter *next = w->next;

		w->done(w->arg, mi, w->result);
		free(w);
		w = next;
	}
}

/* Under g->lock: does an unverified member of the group have waiters
 * (queued after its round was settled, or found changed meanwhile)? */
static bool pending(struct mfs_gate *g, const struct group *gr)
{
	for (size_t i = 0; i < gr->nmembers; i++) {
		const struct entry *e = &g->e[gr->members[i]];

		if (!e->verified && e->waiters)
			return true;
	}
	return false;
}

static void *worker(void *arg)
{
	struct group *gr = arg;
	struct mfs_gate *g = gr->g;
	size_t *todo = malloc(gr->nmembers * sizeof(*todo));
	int *fds = malloc(gr->nmembers * sizeof(*fds));
	struct waiter **answers = calloc(gr->nmembers, sizeof(*answers));
	size_t n;

	pthread_mutex_lock(&g->lock);
	if (!todo || !fds || !answers) {
		for (size_t i = 0; i < gr->nmembers; i++) {
			struct waiter *w = settle(g, gr->members[i], -ENOMEM);

			pthread_mutex_unlock(&g->lock);
			answer(w, gr->members[i]);
			pthread_mutex_lock(&g->lock);
		}
		goto out_done;
	}
	do {
		n = unverified(g, gr, todo);
		pthread_mutex_unlock(&g->lock);
		verify_group(g, gr, todo, n, fds);
		pthread_mutex_lock(&g->lock);
		/* Settle every member under the lock (an open may otherwise find
		 * a fresh fd changed and close it under us), answer outside it:
		 * a callback may block replying to the kernel. */
		for (size_t i = 0; i < n; i++)
			answers[i] = settle(g, todo[i], fds[i]);
		pthread_mutex_unlock(&g->lock);
		for (size_t i = 0; i < n; i++)
			answer(answers[i], todo[i]);
		pthread_mutex_lock(&g->lock);
	} while (pending(g, gr) && !atomic_load(&g->stopping));
out_done:
	gr->busy = false;
	if (--g->workers == 0)
		pthread_cond_broadcast(&g->workers_done);
	pthread_mutex_unlock(&g->lock);
	free(todo);
	free(fds);
	free(answers);
	return NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
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
	e->verified = false;
	return -ESTALE;
}

int mfs_gate_open(struct mfs_gate *g, size_t mi, mfs_gate_done done, void *arg)
{
	struct waiter *w, **tail;
	struct entry *e;
	int rc;

	if (mi >= g->o.cfg->nmodels)
		return -EINVAL;
	e = &g->e[mi];

	pthread_mutex_lock(&g->lock);
	if (e->verified) {
		rc = verified_fd(g, mi);
		if (rc != -ESTALE)
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
	if (!e->group->busy) {
		if (atomic_load(&g->stopping)) {
			rc = -EIO;
			goto out_unlock_free;
		}
		/* Its last worker is done with the group (not busy): joining
		 * waits at most for that thread's exit. */
		join(e->group);
		rc = pthread_create(&e->group->thread, NULL, worker, e->group);
		if (rc != 0) {
			mfs_err("cannot start a worker for '%s': %s", g->o.cfg->models[mi].path,
				strerror(rc));
			rc = -EAGAIN;
			goto out_unlock_free;
		}
		g->workers++;
		e->group->joinable = true;
		e->group->busy = true;
	}
	for (tail = &e->waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	pthread_mutex_unlock(&g->lock);
	return -EINPROGRESS;

out_unlock_free:
	free(w);
out_unlock:
	pthread_mutex_unlock(&g->lock);
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
