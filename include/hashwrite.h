/* hashwrite — where a download's body (or an archive member's bytes)
 * goes: into a staging file and through the hasher, with the writing and
 * the hashing each on a thread of its own, so that both run alongside the
 * producer (TLS receive and decryption, or inflating) instead of after
 * each piece of it.
 *
 * Bytes given to mfs_hashwrite_put are copied into 1 MiB blocks (libcurl
 * hands over one TLS record, 16 KiB, at a time).  Each full block is
 * queued to both threads: one writes it to the fd, the other hashes it
 * from that same memory; the block is reused once both are done.
 *
 * The writer writes a block in 16 KiB write(2) calls, not in one: the
 * kernel sizes page-cache folios by the write, and large folios come from
 * large free blocks, which a VM with free page reporting has handed back
 * to its host, so first touching them is slow.  Measured here (2 vCPUs,
 * page_reporting_order=11): 1 GiB into a new ext4 file after drop_caches
 * took 0.28-0.31 s in 16 KiB writes, 0.63-0.84 s in 64 KiB, 1.6-3.1 s in
 * 1 MiB; a cold 1 GiB fetch 1.9-2.5 s against 3.0-3.6 s.  Reading the
 * object back costs about 12% more with small folios (0.13 s per GiB
 * against 0.12), which a one-time fetch repays many times over.  Every byte written is
 * hashed, in order, and nothing else is: what is hashed is what the file
 * holds.  At most eight blocks exist (8 MiB); when a thread falls behind,
 * mfs_hashwrite_put waits for it.  A body of up to one block starts no
 * thread: it is written and hashed in mfs_hashwrite_finish.
 *
 * One producer: put and finish are called from one thread. */
#ifndef MFS_HASHWRITE_H
#define MFS_HASHWRITE_H

#include <stddef.h>

#include "digest.h"

struct mfs_hashwrite;

/* Writes to `fd` at its offset; `h` (may be NULL: nothing to hash) is
 * used by the hashing thread until mfs_hashwrite_finish returns.
 * -ENOMEM. */
int mfs_hashwrite_new(int fd, struct mfs_hasher *h, struct mfs_hashwrite **out);

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
