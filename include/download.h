/* download — the one download-and-hash path.  A bounded GET (fetch.h)
 * whose body goes, block by block, into a file and through the hasher on
 * threads of their own (hashwrite.h), so that what ends up in the file is
 * exactly what was hashed.
 *
 * One URL, tried up to 1 + `retries` times while its failures are
 * transient (fetch.h), waiting between tries about base_delay_ms,
 * doubling, at most 8 s, with jitter (backoff.h) (a server's
 * Retry-After instead, up to that cap).  A body cut after some bytes is
 * resumed where it stopped (Range, If-Range with the cut response's
 * validator): the file and the running hash simply continue, and no
 * received byte is downloaded twice; a server that answers the whole body
 * (200) instead starts the file and the hash over.  The daemon and `modelfsctl fetch` (through
 * acquire.h) and `modelfsctl pin` (pin.h) all download through here; an
 * archive downloaded this way is then walked with unpack.h.
 *
 * Where the file lives, and whether its bytes are kept, committed or
 * quarantined, is the caller's business: this module only fills it. */
#ifndef MFS_DOWNLOAD_H
#define MFS_DOWNLOAD_H

#include <stdint.h>

#include "digest.h"
#include "fetch.h"


/* A try failed and another follows (for the audit log). */
struct mfs_download_retry {
	unsigned attempt;             /* the one that failed, from 1 */
	const char *error;            /* why */
	const char *url;              /* the URL that try asked */
	unsigned part;                /* of a parallel download, from 1; 0: one stream */
	const char *next_url;         /* a part moving on to another URL (no
					 wait, attempt counts from 1 there); NULL */
	uint64_t resume_from;         /* where the next one asks to start; 0: the
					 beginning */
	long delay_ms;                /* the wait before it */
};

struct mfs_download {
	/* What to GET, within which bounds (fetch.h), and its cancel, which
	 * also stops the writing, the hashing and the waits between tries.
	 * Its sink, progress, arg, offset, if_range and restart are ignored:
	 * the download supplies its own. */
	struct mfs_fetch_req get;
	int fd;                       /* the body is written here, from the fd's
					 offset; -1: hashed only, written nowhere */
	unsigned mask;                /* digests to compute; 0: none */
	unsigned retries;             /* more tries after a transient failure */
	/* Parallel (ranges.h): a body of at least parallel_min bytes (exact
	 * size, into a file) is fetched as `connections` ranged GETs at
	 * once; a part that get.url cannot finish goes on from alt_urls
	 * (NULL-terminated; may be NULL).  connections <= 1: one stream. */
	unsigned connections;
	uint64_t parallel_min;
	const char *const *alt_urls;
	long base_delay_ms;           /* 0: MFS_BACKOFF_BASE_MS */
	size_t write_unit;            /* the file is written in pieces that end at
					 its multiples (pagecache.h); 0: 2 MiB */
	mfs_fetch_progress progress;  /* may be NULL */
	void *progress_arg;
	void (*retrying)(void *arg, const struct mfs_download_retry *r); /* may be NULL */
	void *retrying_arg;
};

struct mfs_download_result {
	uint64_t bytes;               /* body bytes received (and written) */
	struct mfs_digests digests;   /* of those bytes (mask as asked) */
	unsigned attempts;            /* tries made */
	uint64_t resumed_from;        /* where the last try's body began (> 0:
					 it resumed); 0 otherwise */
	long status;                  /* the last try's HTTP status; 0: none */
	unsigned parts;               /* ranged GETs it took at once; 0: one stream */
};

/* Performs `d` (needs mfs_fetch_global_init).  Returns 0 once the whole
 * body is in the file and hashed: *out says how many bytes and their
 * digests, in how many tries.  On failure a one-line reason is in `err` and *out->bytes says
 * how far it got; the file then holds some prefix of the body, which the
 * caller must discard.  Errors: every one of mfs_fetch's (-ECANCELED once
 * get.cancel fired); -errno of write(2) (-ENOSPC, -EDQUOT, -EIO, ...);
 * -EIO (hashing failed); -EINVAL (neither an fd nor a mask); -ENOMEM;
 * -EAGAIN (a thread for a parallel part cannot be started). */
int mfs_download_run(const struct mfs_download *d, struct mfs_download_result *out, char *err,
		     size_t errlen);

#endif
