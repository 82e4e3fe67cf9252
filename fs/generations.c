/* generations — see include/generations.h. */
#include "generations.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* One generation and how many use it. */
struct gen {
	struct mfs_generation *g;
	unsigned users;
	struct gen *next;                  /* the replaced ones */
};

struct mfs_gens {
	struct mfs_gens_ops ops;
	pthread_mutex_t lock;              /* cur, old, users */
	struct gen *cur;
	struct gen *old;                   /* replaced, still used */
	int pipe[2];                       /* wakes the thread: 'h' reload,
					      'r' retire, 'q' quit */
	bool running;
	pthread_t thread;
};

static struct gen *find(struct mfs_gens *g, struct mfs_generation *gen)
{
	if (g->cur->g == gen)
		return g->cur;
	for (struct gen *o = g->old; o; o = o->next) {
		if (o->g == gen)
			return o;
	}
	return NULL;
}

static void wake(struct mfs_gens *g, char why)
{
	ssize_t n;

	/* A full pipe already holds a wake-up: nothing is lost. */
	do
		n = write(g->pipe[1], &why, 1);
	while (n < 0 && errno == EINTR);
}

int mfs_gens_new(struct mfs_generation *first, const struct mfs_gens_ops *ops,
		 struct mfs_gens **out)
{
	struct mfs_gens *g = calloc(1, sizeof(*g));
	int rc;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->cur = calloc(1, sizeof(*g->cur));
	if (!g->cur) {
		free(g);
		return -ENOMEM;
	}
	if (pipe2(g->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		free(g->cur);
		free(g);
		return rc;
	}
	g->cur->g = first;
	g->ops = *ops;
	pthread_mutex_init(&g->lock, NULL);
	*out = g;
	return 0;
}

struct mfs_generation *mfs_gens_get(struct mfs_gens *g)
{
	struct mfs_generation *gen;

	pthread_mutex_lock(&g->lock);
	g->cur->users++;
	gen = g->cur->g;
	pthread_mutex_unlock(&g->lock);
	return gen;
}

bool mfs_gens_hold_if_alive(struct mfs_gens *g, struct mfs_generation *gen)
{
	struct gen *e;

	pthread_mutex_lock(&g->lock);
	e = find(g, gen);
	if (e)
		e->users++;
	pthread_mutex_unlock(&g->lock);
	return e != NULL;
}

void mfs_gens_hold(struct mfs_gens *g, struct mfs_generation *gen)
{
	/* (The caller uses it: it is alive.) */
	mfs_gens_hold_if_alive(g, gen);
}

void mfs_gens_put(struct mfs_gens *g, struct mfs_generation *gen)
{
	bool last = false;
	struct gen *e;

	pthread_mutex_lock(&g->lock);
	e = find(g, gen);
	if (e && e->users && --e->users == 0 && e != g->cur)
		last = true;
	pthread_mutex_unlock(&g->lock);
	if (last)
		wake(g, 'r');
}

bool mfs_gens_held_elsewhere(struct mfs_gens *g, const struct mfs_sched *asker,
			     const char *object)
{
	bool held = false;

	pthread_mutex_lock(&g->lock);
	for (struct gen *o = g->old; o && !held; o = o->next) {
		if (o->g->sched != asker)
			held = mfs_sched_holds(o->g->sched, object);
	}
	pthread_mutex_unlock(&g->lock);
	return held;
}

/* Retires the replaced generations nobody uses (all of them with
 * `all`).  Their retire runs outside the lock: it stops a scheduler. */
static void retire_unused(struct mfs_gens *g, bool all)
{
	struct gen **p, *done = NULL;

	pthread_mutex_lock(&g->lock);
	for (p = &g->old; *p;) {
		struct gen *o = *p;

		if (o->users && !all) {
			p = &o->next;
			continue;
		}
		*p = o->next;
		o->next = done;
		done = o;
	}
	pthread_mutex_unlock(&g->lock);
	while (done) {
		struct gen *next = done->next;

		g->ops.retire(g->ops.arg, done->g);
		free(done);
		done = next;
	}
}

static void reload(struct mfs_gens *g)
{
	struct mfs_generation *next, *prev;
	struct gen *e = calloc(1, sizeof(*e));

	if (!e) {
		mfs_err("cannot reload: out of memory");
		return;
	}
	/* Only this thread replaces cur: reading it unlocked is safe here. */
	prev = g->cur->g;
	next = g->ops.reload(g->ops.arg, prev);
	if (!next) {
		free(e);
		return;
	}
	e->g = next;
	pthread_mutex_lock(&g->lock);
	g->cur->next = g->old;
	g->old = g->cur;
	g->cur = e;
	/* Held here, so that no put retires it before installed is done. */
	g->old->users++;
	pthread_mutex_unlock(&g->lock);
	/* Outside the lock: a reservation of that scheduler, holding its own
	 * lock, may be asking mfs_gens_held_elsewhere. */
	mfs_sched_retire(prev->sched);
	g->ops.installed(g->ops.arg, prev, next);
	mfs_gens_put(g, prev);
}

static void *thread_main(void *arg)
{
	struct mfs_gens *g = arg;

	for (;;) {
		struct pollfd p = { .fd = g->pipe[0], .events = POLLIN };
		char buf[64];
		ssize_t n;
		bool reload_asked = false;

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		n = read(g->pipe[0], buf, sizeof(buf));
		if (n <= 0)
			continue;
		if (memchr(buf, 'q', (size_t)n))
			break;
		reload_asked = memchr(buf, 'h', (size_t)n) != NULL;
		if (reload_asked)
			reload(g);
		retire_unused(g, false);
	}
	return NULL;
}

int mfs_gens_start(struct mfs_gens *g)
{
	int rc = pthread_create(&g->thread, NULL, thread_main, g);

	if (rc != 0)
		return -rc;
	g->running = true;
	return 0;
}

void mfs_gens_request_reload(struct mfs_gens *g)
{
	int saved = errno;

	wake(g, 'h');
	errno = saved;
}

struct mfs_generation *mfs_gens_free(struct mfs_gens *g)
{
	struct mfs_generation *cur;

	if (!g)
		return NULL;
	if (g->running) {
		char q = 'q';

		/* Blocking, so that the quit is never lost to a full pipe. */
		fcntl(g->pipe[1], F_SETFL, 0);
		while (write(g->pipe[1], &q, 1) < 0 && errno == EINTR)
			;
		pthread_join(g->thread, NULL);
	}
	retire_unused(g, true);
	cur = g->cur->g;
	close(g->pipe[0]);
	close(g->pipe[1]);
	pthread_mutex_destroy(&g->lock);
	free(g->cur);
	free(g);
	return cur;
}
