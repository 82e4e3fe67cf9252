/* scheduler — decides when a model's bytes may be served, and runs the
 * work that gets them there on bounded pools of threads.  Per model it
 * keeps one state: unverified, queued or in progress (with a list of
 * waiters), or verified (an fd to the object whose bytes were hashed,
 * plus its fstat identity).
 *
 * A request for an unverified model queues its group (the model, or every
 * member of its archive, which are downloaded together) on
 *   1. the hash pool (one thread per online CPU): the store's object, if
 *      present, is re-hashed through the fd that will be served
 *      (acquire.h); a mismatch quarantines it (store_corrupt);
 *   2. then, for what the store did not have, the fetch pool
 *      (`max_fetches` threads): a download into staging/, hashed as it
 *      streams, committed or quarantined.
 * Jobs beyond those bounds wait in FIFO queues, holding no thread.
 * Schedulers that share opts.inflight (the configs a reload replaced and
 * the current one) download an object, or an archive, one at a time: a
 * fetch-pool job waits for the other's download to end, then verifies
 * what it committed from the store (both then serve one inode, as FUSE
 * passthrough requires), or downloads it if it is still missing.  A
 * queued job whose waiters have all gone (interrupted opens) is dropped
 * before it starts; a download that has started goes on for the store.
 * Every waiter then gets its own dup() of the verified fd, or the error.
 *
 * Threads: the hash pool's, plus per download its transfer thread (a
 * fetch-pool thread), hashwrite's writer and hasher, and libcurl's
 * resolver while a host name is resolved: at most
 *   hash_threads + 4 * fetch_threads
 * at any time, whatever the number of opens; with files large enough for
 * parallel parts (ranges.h), max(4, 1 + 2 * connections) per download.
 *
 * A signed model (signature.h) is resolved first, once: its bundle
 * downloaded (with its writer and hasher threads, as above) if the store
 * does not keep it, verified and matched, on the hash-pool thread of the
 * first of its files asked for; until then its files have no object
 * name.  That caller records a failure for all of them.
 *
 * Prefetch (opts.prefetch, and a folder whose prefetch is on, config.h):
 * the first open of any file of the folder, in this scheduler, also
 * queues each of its other files that is not verified, under way or
 * backing off, as if opened by nobody: the same rounds (the store's
 * object re-hashed, else downloaded; a signed folder's bundle first), on
 * the same pools and so within their bounds, audited with "prefetch":true
 * while no open waits for it.  A prefetch waits in its pool's low queue:
 * no prefetch starts while an open's job waits (one that runs is not
 * stopped); an open of a file queued for a prefetch moves it to the
 * normal queue, and an open of one under way joins it (one download).
 * A prefetch that fails is recorded as any failure: the file's opens fail
 * with -EIO while it backs off.  A retired scheduler drops its queued
 * prefetches.
 *
 * Nothing here knows about FUSE; modelfsctl uses it too. */
#ifndef MFS_SCHEDULER_H
#define MFS_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "inflight.h"
#include "store.h"

struct mfs_sched;
struct mfs_metrics;

/* How a verified fd came to be. */
enum mfs_sched_how {
	MFS_SCHED_CACHED,   /* verified earlier in this process: served at once */
	MFS_SCHED_STORE,    /* the store's object, re-hashed now */
	MFS_SCHED_FETCHED,  /* downloaded and verified now */
};

struct mfs_sched_outcome {
	void *owner;               /* the scheduler's opts.owner */
	enum mfs_sched_how how;    /* for a result >= 0 */
	int64_t us;                /* from the request to the answer, µs */
};

/* Completion of a queued request, called once from a pool thread:
 * `result` is an fd the callee owns (a dup of the verified fd) or -errno;
 * `o` says how it came to be. */
typedef void (*mfs_sched_done)(void *arg, size_t model, int result,
			       const struct mfs_sched_outcome *o);
/* Transfer progress of `model` (bytes so far of total), from a pool thread. */
typedef void (*mfs_sched_progress)(void *arg, size_t model, uint64_t done, uint64_t total);

struct mfs_sched_opts {
	const struct mfs_config *cfg;   /* outlives the scheduler */
	struct mfs_store *store;        /* outlives the scheduler */
	struct mfs_audit *audit;        /* may be NULL: no audit log */
	bool fsync;                     /* fsync downloads before the rename */
	unsigned hash_threads;          /* 0: one per online CPU */
	unsigned fetch_threads;         /* 0: cfg->max_fetches */
	mfs_sched_progress progress;    /* may be NULL */
	void *progress_arg;
	struct mfs_metrics *metrics;    /* may be NULL: counted there (metrics.h) */
	void *owner;                    /* handed back in every outcome */
	bool prefetch;                  /* honour the config's prefetch (the
					   daemon; modelfsctl fetches only what
					   it is asked for) */
	struct mfs_inflight *inflight;  /* may be NULL: no other scheduler
					   downloads into the store; else
					   outlives the scheduler */
};

/* -ENOMEM, -EINVAL.  *out owned by the caller. */
int mfs_sched_new(const struct mfs_sched_opts *opts, struct mfs_sched **out);
/* Aborts transfers in flight and waits until no job is queued or runs
 * (one waiting for another scheduler's download gives up at once);
 * their waiters are answered (with -EIO when aborted or dropped).  Later
 * opens of verified models still work; unverified ones fail with -EIO. */
void mfs_sched_stop(struct mfs_sched *s);
/* mfs_sched_stop, then stops the pools' threads and frees everything.
 * NULL is a no-op. */
void mfs_sched_free(struct mfs_sched *s);

/* Asks for a verified fd of model `model`.
 *  >= 0          verified already (and its object unchanged since): an fd
 *                the caller owns (MFS_SCHED_CACHED); `done` is not called.
 *  -EINPROGRESS  queued: `done(arg, model, result, outcome)` will be
 *                called exactly once from a pool thread, unless
 *                mfs_sched_cancel removes it first.
 *  other -errno  immediate failure (-EINVAL bad index, -ENOMEM, -EAGAIN
 *                if no pool thread could be started, -EIO once stopped).
 * `arg` identifies the waiter for mfs_sched_cancel. */
int mfs_sched_open(struct mfs_sched *s, size_t model, mfs_sched_done done, void *arg);

/* Removes the queued waiter `arg` of `model`.  Returns true if it was
 * still queued (its `done` will never be called), false if it was already
 * answered or is being answered. */
bool mfs_sched_cancel(struct mfs_sched *s, size_t model, void *arg);

/* Blocking form of mfs_sched_open: returns an fd the caller owns or
 * -errno; *how (may be NULL) says how it came to be. */
int mfs_sched_get(struct mfs_sched *s, size_t model, enum mfs_sched_how *how);

/* Calls `fn(arg, was)` whenever an object is evicted to make room under
 * store_max (`was`: its inode): the models it served are no longer
 * verified, and their next open downloads it again.  `fn` runs with the
 * scheduler's lock held (it must not call back).  Set it before the
 * first open. */
void mfs_sched_on_evict(struct mfs_sched *s, void (*fn)(void *arg, const struct stat *was),
			void *arg);

/* Asks `fn(arg, object)` too before evicting: true means someone else
 * (readers of an older config) holds `object`.  `fn` runs with this
 * scheduler's lock held; it may take only older schedulers' locks. */
void mfs_sched_also_held(struct mfs_sched *s, bool (*fn)(void *arg, const char *object),
			 void *arg);

/* True if a reader holds `object` through this scheduler, or it is being
 * re-hashed (this scheduler's own: also_held is not asked). */
bool mfs_sched_holds(struct mfs_sched *s, const char *object);

/* This scheduler's config was replaced (a reload): it finishes what was
 * asked of it but evicts nothing and reserves nothing (the current one
 * keeps the store within store_max). */
void mfs_sched_retire(struct mfs_sched *s);

/* Model `to_model` of `to` is model `from_model` of `from` (a reload
 * kept it unchanged): it starts out as `from`'s is, verified (with its own
 * dup of the verified fd) and with the same failures.  Takes `to`'s lock,
 * then `from`'s.  0, -EINVAL, -errno of the dup. */
int mfs_sched_carry(struct mfs_sched *to, size_t to_model, struct mfs_sched *from,
		    size_t from_model);

/* A reader is done with an fd that mfs_sched_open or mfs_sched_get
 * handed out (closed it, or never got it): until then its object is not
 * evicted. */
void mfs_sched_release(struct mfs_sched *s, size_t model);

enum mfs_model_state {
	MFS_MODEL_ABSENT,    /* not verified in this process, nothing under way */
	MFS_MODEL_FETCHING,  /* queued, being re-hashed or downloaded */
	MFS_MODEL_VERIFIED,
	MFS_MODEL_FAILED,    /* the last try failed (see error) */
};

struct mfs_sched_status {
	enum mfs_model_state state;
	uint64_t fetched;        /* FETCHING: bytes received so far */
	unsigned holders;        /* fds handed out and not released */
	unsigned failures;       /* failed downloads in a row */
	time_t retry_at;         /* opens fail at once until then; 0: they do not */
	char error[256];         /* the last failure's reason, "" if none */
};

/* What model `model` is up to now (no I/O, never waits for work). */
void mfs_sched_status(struct mfs_sched *s, size_t model, struct mfs_sched_status *out);

/* Threads the pools have started so far: hash pool, fetch pool.  For
 * tests and the debug log. */
void mfs_sched_threads(struct mfs_sched *s, unsigned *hash, unsigned *fetch);

#endif
