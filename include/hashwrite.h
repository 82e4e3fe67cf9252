/* hashwrite — where a download's body (or an archive member's bytes)
 * goes: into a staging file and through the hasher, with the writing and
 * the hashing each on a thread of its own, so that both run alongside the
 * producer (TLS receive and decryption, or inflating) instead of after
 * each piece of it.
 *
 * Bytes given to mfs_hashwrite_put are copied into blocks of up to 2 MiB
 * (libcurl hands over one TLS record, 16 KiB, at a time), each ending
 * where a unit of the file ends (pagecache.h: 2 MiB, or the config's
 * write_unit), so that the writer
 * writes each in one write(2) and the kernel caches it as one large
 * folio.  Each full block is queued to both threads: one writes it to the
 * fd, the other hashes it from that same memory; the block is reused once
 * both are done.  Every byte written is hashed, in order, and nothing else
 * is: what is hashed is what the file holds.  At most four blocks exist
 * (8 MiB); when a thread falls behind, mfs_hashwrite_put waits for it.  A
 * body of up to one block starts no thread: it is written and hashed in
 * mfs_hashwrite_finish.
 *
 * One producer: put and finish are called from one thread. */
#ifndef MFS_HASHWRITE_H
#define MFS_HASHWRITE_H

#include <stddef.h>

#include "digest.h"

struct mfs_hashwrite;

/* Writes to `fd` from its offset at this call on, with write(2) (-1:
 * nothing is written, only the hashing thread runs), in blocks that end
 * at multiples of `unit` in the file (pagecache.h; 0: 2 MiB); `h` (NULL:
 * nothing is hashed, only the writing thread runs) is used by the hashing
 * thread until mfs_hashwrite_finish returns.
 * -EINVAL if there is neither an fd nor a hasher, -ENOMEM. */
int mfs_hashwrite_new(int fd, struct mfs_hasher *h, size_t unit, struct mfs_hashwrite **out);

/* Takes `len` bytes.  -errno from write(2), -EIO once hashing failed,
 * -ENOMEM; the download must then fail. */
int mfs_hashwrite_put(struct mfs_hashwrite *w, const void *buf, size_t len);

/* Writes what is left and waits until every byte is hashed.  Returns 0
 * (the hasher may then be finalised) or the first error. */
int mfs_hashwrite_finish(struct mfs_hashwrite *w);

/* Stops the hashing thread if it still runs (what is queued is dropped)
 * and frees.  NULL is a no-op. */
void mfs_hashwrite_free(struct mfs_hashwrite *w);

#endif
