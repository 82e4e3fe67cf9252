/* metrics — the daemon's counters, gauges and open-wait histogram in the
 * Prometheus text format, for node_exporter's textfile collector.  The
 * file is written atomically (a temporary file in its directory, then a
 * rename), when started, then at most every 10 s while something changed
 * (a counter, or a gauge), and once more when stopped.
 *
 *   modelfs_fetches_total{result="ok|failed"}  downloads of a model (a
 *                         member of an archive counts as one); one whose
 *                         digest did not match counts as failed
 *   modelfs_fetch_bytes_total          bytes received by downloads
 *   modelfs_verify_failures_total      downloads whose digest did not match
 *   modelfs_store_corrupt_total        stored objects found changed
 *   modelfs_evictions_total            objects evicted under store_max
 *   modelfs_store_bytes                bytes of the store's objects
 *   modelfs_store_max_bytes            store_max (0: unbounded)
 *   modelfs_models{state="..."}        models per state (status.h)
 *   modelfs_open_wait_seconds          histogram of how long opens waited
 *                                      for a fetch or a verification
 *
 * Every function takes a NULL `m` and then does nothing: the callers need
 * not know whether metrics are on.  Thread-safe. */
#ifndef MFS_METRICS_H
#define MFS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"

enum mfs_counter {
	MFS_FETCH_OK,
	MFS_FETCH_FAILED,
	MFS_FETCH_BYTES,
	MFS_VERIFY_FAILURES,
	MFS_STORE_CORRUPT,
	MFS_EVICTIONS,
	MFS_NCOUNTERS,
};

/* What the metrics read from the daemon when they write. */
struct mfs_gauges {
	uint64_t store_bytes;
	uint64_t store_max;
	uint64_t models[MFS_MODEL_FAILED + 1]; /* per enum mfs_model_state */
};

struct mfs_metrics;

/* For `file` (an absolute path; its directory must exist).  -ENOMEM.
 * *out is the caller's (mfs_metrics_free). */
int mfs_metrics_new(const char *file, struct mfs_metrics **out);
void mfs_metrics_free(struct mfs_metrics *m);

void mfs_metrics_count(struct mfs_metrics *m, enum mfs_counter c, uint64_t n);
void mfs_metrics_wait(struct mfs_metrics *m, double seconds);

/* Writes the file now, then starts the thread that rewrites it (see
 * above), with gauges from `gauges(arg, g)` (called on that thread).
 * -errno of the first write, or of starting the thread. */
int mfs_metrics_start(struct mfs_metrics *m, void (*gauges)(void *arg, struct mfs_gauges *g),
		      void *arg);
/* Stops the thread and writes the file a last time.  Idempotent. */
void mfs_metrics_stop(struct mfs_metrics *m);

/* The text for gauges `g`, as the file would get it: malloc'd, the
 * caller's; NULL without memory.  For tests. */
char *mfs_metrics_format(struct mfs_metrics *m, const struct mfs_gauges *g);

#endif
