/* generations — the configs a mount serves: the current one, which every
 * new request uses, and those a reload replaced, which requests in flight
 * and open files still use.  A replaced generation is retired (freed, its
 * scheduler stopped) once nobody uses it any more.  Reloads and
 * retirements run on a thread of their own, woken by
 * mfs_gens_request_reload (safe in a signal handler) and by the last user
 * of a replaced generation.  No FUSE here. */
#ifndef MFS_GENERATIONS_H
#define MFS_GENERATIONS_H

#include <stdbool.h>

#include "catalog.h"
#include "config.h"
#include "scheduler.h"

/* One loaded config, as the mount serves it. */
struct mfs_generation {
	struct mfs_config *cfg;
	struct mfs_catalog cat;
	struct mfs_sched *sched;
	void *user;                    /* the adapter's, per generation */
};

struct mfs_gens_ops {
	/* Makes the generation that replaces `cur` (the config read again),
	 * or returns NULL to keep `cur` (having said why).  On the thread. */
	struct mfs_generation *(*reload)(void *arg, const struct mfs_generation *cur);
	/* `cur` replaced `old` (which is still alive): e.g. the kernel's
	 * caches of the old tree are dropped.  On the thread. */
	void (*installed)(void *arg, struct mfs_generation *old, struct mfs_generation *cur);
	/* Frees `gen`, which nobody uses (its scheduler is to be stopped). */
	void (*retire)(void *arg, struct mfs_generation *gen);
	void *arg;
};

struct mfs_gens;

/* Starts with `first` as the current generation (owned from now on).
 * -ENOMEM, -errno of making the wake-up pipe. */
int mfs_gens_new(struct mfs_generation *first, const struct mfs_gens_ops *ops,
		 struct mfs_gens **out);

/* The current generation, with one more user: pair with mfs_gens_put. */
struct mfs_generation *mfs_gens_get(struct mfs_gens *g);
/* One more user of `gen` (which the caller already uses). */
void mfs_gens_hold(struct mfs_gens *g, struct mfs_generation *gen);
/* If `gen` (a pointer from earlier, maybe stale) is still alive, one more
 * user of it and true; else false (it is never dereferenced then). */
bool mfs_gens_hold_if_alive(struct mfs_gens *g, struct mfs_generation *gen);
/* One user fewer; the last one of a replaced generation wakes the thread
 * to retire it. */
void mfs_gens_put(struct mfs_gens *g, struct mfs_generation *gen);

/* Starts the thread (after daemonizing: threads do not follow a fork).
 * 0 or -errno. */
int mfs_gens_start(struct mfs_gens *g);
/* Asks the thread for a reload.  Async-signal-safe. */
void mfs_gens_request_reload(struct mfs_gens *g);

/* True if a generation other than the one whose scheduler is `asker`
 * (a replaced one) holds `object` open (mfs_sched_holds).  For the
 * current scheduler's eviction: takes the replaced schedulers' locks. */
bool mfs_gens_held_elsewhere(struct mfs_gens *g, const struct mfs_sched *asker,
			     const char *object);

/* Stops the thread, retires every replaced generation (used or not: the
 * mount is gone) and frees; returns the current generation, which is the
 * caller's again.  NULL `g`: NULL. */
struct mfs_generation *mfs_gens_free(struct mfs_gens *g);

#endif
