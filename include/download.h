/* download — the one download-and-hash path.  A bounded GET (fetch.h)
 * whose body goes, block by block, into a file and through the hasher on
 * threads of their own (hashwrite.h), so that what ends up in the file is
 * exactly what was hashed.  The daemon and `modelfsctl fetch` (through
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

struct mfs_download {
	/* What to GET, within which bounds (fetch.h), and its cancel, which
	 * also stops the writing and hashing.  Its sink, progress and arg
	 * are ignored: the download supplies its own. */
	struct mfs_fetch_req get;
	int fd;                       /* the body is written here, from the fd's
					 offset; -1: hashed only, written nowhere */
	unsigned mask;                /* digests to compute; 0: none */
	mfs_fetch_progress progress;  /* may be NULL */
	void *progress_arg;
};

struct mfs_download_result {
	uint64_t bytes;               /* body bytes received (and written) */
	struct mfs_digests digests;   /* of those bytes (mask as asked) */
};

/* Performs `d` (needs mfs_fetch_global_init).  Returns 0 once the whole
 * body is in the file and hashed: *out says how many bytes and their
 * digests.  On failure a one-line reason is in `err` and *out->bytes says
 * how far it got; the file then holds some prefix of the body, which the
 * caller must discard.  Errors: every one of mfs_fetch's (-ECANCELED once
 * get.cancel fired); -errno of write(2) (-ENOSPC, -EDQUOT, -EIO, ...);
 * -EIO (hashing failed); -EINVAL (neither an fd nor a mask); -ENOMEM. */
int mfs_download_run(const struct mfs_download *d, struct mfs_download_result *out, char *err,
		     size_t errlen);

#endif
