/* workpool — a bounded set of threads taking jobs from two FIFO queues:
 * a job of the low queue starts only when the other one is empty.
 * Threads are started when a job finds none idle, up to the bound, and
 * stay until the pool is freed; jobs beyond the bound wait in the queues,
 * in order.  A job is a struct mfs_job embedded in the caller's own
 * object (no allocation per job); it must stay valid until it has run. */
#ifndef MFS_WORKPOOL_H
#define MFS_WORKPOOL_H

#include <stdbool.h>

struct mfs_job {
	struct mfs_job *next;              /* the pool's; set by submit */
	void (*run)(struct mfs_job *job);  /* called once, on a pool thread */
};

struct mfs_workpool;

/* A pool of at most `max_threads` (>= 1) threads named `name` (for
 * logs).  -EINVAL, -ENOMEM.  *out owned by the caller. */
int mfs_workpool_new(const char *name, unsigned max_threads, struct mfs_workpool **out);

/* Queues `job` (its `run` set).  Starts a thread if none is idle and the
 * bound allows.  -EAGAIN if the pool has no thread and none could be
 * started (the job is not queued then); -ESHUTDOWN once the pool is being
 * freed. */
int mfs_workpool_submit(struct mfs_workpool *p, struct mfs_job *job);

/* mfs_workpool_submit into the low queue: `job` starts only once no job
 * of the other queue waits.  Same errors. */
int mfs_workpool_submit_low(struct mfs_workpool *p, struct mfs_job *job);

/* Moves `job`, if it still waits in the low queue, to the end of the
 * other one; true if it did.  False if it is not there (started, or never
 * queued low). */
bool mfs_workpool_promote(struct mfs_workpool *p, struct mfs_job *job);

/* Waits until both queues are empty and no job runs (jobs submitted
 * meanwhile, by jobs or others, are waited for too). */
void mfs_workpool_drain(struct mfs_workpool *p);

/* Threads started so far (they never exceed the bound).  For tests. */
unsigned mfs_workpool_threads(struct mfs_workpool *p);

/* Runs what is queued, then stops and joins every thread, and frees.
 * NULL is a no-op. */
void mfs_workpool_free(struct mfs_workpool *p);

#endif
