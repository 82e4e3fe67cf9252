/* gate — decides when a model's bytes may be served.  Per model it keeps
 * one state: unverified, in progress (with a list of waiters), or verified
 * (an fd to the object whose bytes were hashed, plus its fstat identity).
 *
 * The first request for an unverified model starts one worker thread that
 *   1. opens the store object, if present, and re-hashes it through that
 *      fd (first open in this process); a mismatch quarantines it
 *      (audit: store_corrupt) and falls through to
 *   2. fetching it from the source into staging/, hashing what is
 *      written (hashwrite.h); a match is renamed into objects/ (fsynced
 *      first only with opts.fsync, as modelfsctl fetch does) (fetch_ok,
 *      verify_ok), a mismatch moves it to quarantine/ (verify_failed) and
 *      fails with -EIO; a transfer error fails with -EIO (fetch_failed).
 * Every waiter then gets its own dup() of the verified fd, or the error.
 * Nothing here knows about FUSE; modelfsctl uses it too. */
#ifndef MFS_GATE_H
#define MFS_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "config.h"
#include "store.h"

struct mfs_gate;

/* Completion of a queued request, called once from a worker thread:
 * `result` is an fd the callee owns (a dup of the verified fd) or -errno. */
typedef void (*mfs_gate_done)(void *arg, size_t model, int result);
/* Transfer progress of `model` (bytes so far of total), from a worker. */
typedef void (*mfs_gate_progress)(void *arg, size_t model, uint64_t done, uint64_t total);

struct mfs_gate_opts {
	const struct mfs_config *cfg;   /* outlives the gate */
	struct mfs_store *store;        /* outlives the gate */
	struct mfs_audit *audit;        /* may be NULL: no audit log */
	bool fsync;                     /* fsync downloads before the rename */
	mfs_gate_progress progress;     /* may be NULL */
	void *progress_arg;
};

/* -ENOMEM. *out owned by the caller. */
int mfs_gate_new(const struct mfs_gate_opts *opts, struct mfs_gate **out);
/* Aborts transfers in flight and waits for every worker to finish; their
 * waiters are answered (with -EIO when aborted).  Later opens of verified
 * models still work; unverified ones fail with -EIO. */
void mfs_gate_stop(struct mfs_gate *g);
/* mfs_gate_stop, then frees everything.  NULL is a no-op. */
void mfs_gate_free(struct mfs_gate *g);

/* Asks for a verified fd of model `model`.
 *  >= 0          verified already (and its object unchanged since): an fd
 *                the caller owns; `done` is not called.
 *  -EINPROGRESS  queued: `done(arg, model, result)` will be called exactly
 *                once from a worker, unless mfs_gate_cancel removes it.
 *  other -errno  immediate failure (-EINVAL bad index, -ENOMEM, -EAGAIN
 *                if no worker thread could be started).
 * `arg` identifies the waiter for mfs_gate_cancel. */
int mfs_gate_open(struct mfs_gate *g, size_t model, mfs_gate_done done, void *arg);

/* Removes the queued waiter `arg` of `model`.  Returns true if it was
 * still queued (its `done` will never be called), false if it was already
 * answered or is being answered.  The download itself goes on. */
bool mfs_gate_cancel(struct mfs_gate *g, size_t model, void *arg);

/* Blocking form of mfs_gate_open: returns an fd the caller owns or -errno. */
int mfs_gate_get(struct mfs_gate *g, size_t model);

#endif
