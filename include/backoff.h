/* backoff — the waits between tries of a URL: about `base` ms, doubling
 * with each try, at most MFS_BACKOFF_MAX_MS, each a random point in the
 * upper half of its span (so that a fleet does not retry in step); a
 * server's Retry-After instead, up to the same cap.  Shared by the single
 * stream (download.h) and the parts of a parallel download (ranges.h). */
#ifndef MFS_BACKOFF_H
#define MFS_BACKOFF_H

#include "cancel.h"

#define MFS_BACKOFF_BASE_MS 500
#define MFS_BACKOFF_MAX_MS 8000

/* The wait before try `attempt` + 1 (attempt from 1).  `base_ms` <= 0:
 * MFS_BACKOFF_BASE_MS; `retry_after` (seconds) < 0: none. */
long mfs_backoff_ms(long base_ms, unsigned attempt, long retry_after);

/* Sleeps `ms`, or less once `cancel` (may be NULL) fires: -ECANCELED
 * then, else 0. */
int mfs_backoff_wait(const struct mfs_cancel *cancel, long ms);

#endif
