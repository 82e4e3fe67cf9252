/* pagecache — how a download's bytes are written into the store, so that
 * the page cache they leave behind reads like a file that was read once
 * from disk.
 *
 * The kernel (ext4 and others with large folios, Linux >= 6.16) sizes
 * the page-cache folios of written bytes by the write(2): a write of
 * 16 KiB makes 16 KiB folios, one of 2 MiB at a 2 MiB-aligned offset
 * makes a 2 MiB folio.  A sequential read from disk (`cat`) instead
 * gets readahead's folios, which grow to 2 MiB.  Only a 2 MiB folio can
 * be mapped by one page-table entry (PMD), so a program that mmaps the
 * model and touches it at random (numpy, safetensors) takes one fault per
 * 2 MiB instead of one per 64 KiB (the kernel's fault-around) on small
 * folios, which made random mmap reads of a freshly written object much
 * slower than of the same file read once from disk (README, Performance:
 * Random and mmap reads right after a fetch).  Dirty or clean made no
 * difference; folio size did.
 *
 * So every writer of store objects writes in pieces that end at
 * multiples of the unit in the file (MFS_PAGECACHE_UNIT unless [modelfs]
 * write_unit says less), each a single write when it can: full units at
 * aligned offsets become folios of that size.  The price
 * is paid in the fetch where the host of a VM reclaims free memory (free
 * page reporting): a 2 MiB folio takes a whole free 2 MiB block, whose
 * first write is then slow (README, Performance).
 *
 * Without passthrough, reads of the mount go to FUSE's own page cache of
 * the model's inode, which is empty after a fetch: each random read or
 * mmap fault that misses is a READ round trip to the daemon.  The adapter
 * therefore stores a freshly verified model into that cache before it
 * answers the open (FUSE_NOTIFY_STORE), when mfs_pagecache_fits says the
 * machine has the memory for it.  */
#ifndef MFS_PAGECACHE_H
#define MFS_PAGECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The PMD size of x86-64 and arm64 (4 KiB pages): the default unit, and
 * the largest ([modelfs] write_unit may choose a smaller power of two,
 * down to MFS_PAGECACHE_MIN_UNIT, where a fast fetch matters more than
 * the first random reads: config.h). */
#define MFS_PAGECACHE_UNIT ((size_t)2 << 20)
#define MFS_PAGECACHE_MIN_UNIT ((size_t)64 << 10)

/* Bytes from file offset `at` to the next multiple of `unit` (1 to
 * unit), a power of two up to MFS_PAGECACHE_UNIT, 0 meaning that; a
 * negative `at` counts as 0. */
size_t mfs_pagecache_room(off_t at, size_t unit);

/* Whether `bytes` more in the page cache take at most half of the
 * MemAvailable of `meminfo` (normally /proc/meminfo).  false when the
 * file cannot be read or has no MemAvailable line. */
bool mfs_pagecache_fits(const char *meminfo, uint64_t bytes);

#endif
