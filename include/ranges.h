/* ranges — one file fetched as several ranged GETs at once, for real
 * networks, where one TCP stream is held back by round-trip time and
 * window, not by the link.
 *
 * The file of d->get.size bytes is cut into `connections` parts, each
 * fetched by a thread of its own with Range: bytes=A-B and written at its
 * offset in d->fd (pwrite, from the fd's offset at the call; a part holds
 * its bytes until they fill their 2 MiB unit of the file, pagecache.h,
 * and writes that at once).  The first part goes first: only once its
 * first bytes came as a 206 do the others start, so a server without
 * ranges costs one aborted request.  The
 * caller's thread hashes the file in order as contiguous bytes arrive
 * (reading back what the parts wrote), so the digests are ready as soon
 * as the last byte is in; nothing is judged, let alone served, before.
 *
 * Each part retries transient failures and resumes where it stopped, as
 * download.h does for one stream (same retries, waits, hook); a part that
 * cannot finish from d->get.url goes on from d->alt_urls in turn (mirrors
 * may serve different ranges: the digest of the whole is what counts;
 * an S3 source's signature is not sent to them).
 * The first part that fails for good stops the others. */
#ifndef MFS_RANGES_H
#define MFS_RANGES_H

#include "download.h"

/* Performs `d` (d->fd >= 0, exact size, see download.h) as
 * d->connections parts.  Returns 0 with *out as mfs_download_run gives
 * it (attempts: the tries of all parts, parts: how many); -ERANGE if a
 * server answered a part with the whole body (ranges not honoured, or
 * no longer: the caller downloads the file as one stream instead; the
 * file then holds some of the body); else as mfs_download_run (and
 * -EAGAIN if a thread cannot be started), with the failing part and its
 * bytes in `err`. */
int mfs_ranges_run(const struct mfs_download *d, struct mfs_download_result *out, char *err,
		   size_t errlen);

#endif
