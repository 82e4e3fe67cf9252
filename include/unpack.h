/* unpack — the archive half of the download path: walks a downloaded
 * archive as hostile input (extract.h) and sends each member the caller
 * wants into a file of its choosing and through the hasher, on threads of
 * their own (hashwrite.h), as download.h does for a body.  The daemon and
 * `modelfsctl fetch` (acquire.h) unpack archive models through here, and
 * `modelfsctl pin` (pin.h) hashes the members it pins.
 *
 * Every check of extract.h applies; a walk that fails hands out nothing
 * the caller may keep: bytes already written belong to members that were
 * never verified, and the caller discards them. */
#ifndef MFS_UNPACK_H
#define MFS_UNPACK_H

#include <stdint.h>

#include "cancel.h"
#include "digest.h"
#include "extract.h"

/* What the caller wants done with one member. */
struct mfs_unpack_member {
	int fd;          /* its bytes are written here, from the fd's offset;
			    -1: not written */
	unsigned mask;   /* digests to compute; 0: none.  With fd -1 and mask 0
			    the member's bytes are only walked over (counted,
			    CRC-checked and bounded) */
	uint64_t limit;  /* the most bytes it may hold: more fail the walk
			    with -EFBIG */
};

struct mfs_unpack_ops {
	/* A regular-file entry `name`, with the size its headers declare
	 * (-1 if none).  Return an id >= 0 and fill *m (zeroed, fd -1,
	 * beforehand) to receive it; -ENOENT if the caller does not list
	 * it (the walk then fails with -EPERM "unlisted member 'NAME'"); or
	 * another -errno to stop the walk. */
	int (*entry)(void *arg, const char *name, int64_t size, struct mfs_unpack_member *m);
	/* Member `id` is complete: `bytes` were written and hashed, `got`
	 * holds their digests (the mask asked for).  -errno stops the walk. */
	int (*end)(void *arg, int id, uint64_t bytes, const struct mfs_digests *got);
};

/* Walks the zip archive in `fd` (extract.h's limits and checks) and runs
 * every member through `ops`.  `cancel` (may be NULL), once fired, stops
 * the walk with -ECANCELED.  Returns 0 if the whole walk succeeded, else
 * a negative errno with a one-line reason in `err`: mfs_extract_fd's
 * errors, the callbacks' own, -ECANCELED, -errno of write(2), -EIO
 * (hashing failed), -ENOMEM. */
int mfs_unpack_run(int fd, const struct mfs_extract_limits *lim, const struct mfs_unpack_ops *ops,
		   void *arg, const struct mfs_cancel *cancel, char *err, size_t errlen);

#endif
