/* zipdir — reads a zip's end records, central directory and local headers
 * straight from the file (PKWARE APPNOTE) and refuses any archive that two
 * zip readers could read differently.  libarchive's seekable reader takes
 * the list of entries from the central directory but each entry's name
 * from its local header; unzip takes both from the central directory;
 * streaming readers see only local headers.  extract.c runs this check
 * first, so the walk it does with libarchive sees what unzip sees.
 *
 * The archive is accepted only if all of this holds (fail closed):
 *   - one end record: the last "PK\5\6" signature in the file starts a
 *     record whose comment ends exactly at the end of the file; no other
 *     signature in the last 64 KiB + 22 bytes could be such a record, and
 *     none follows it (so a comment holding another end record is
 *     refused); the comment is at most MFS_ZIPDIR_COMMENT_MAX bytes, so
 *     the record lies in the last 16 KiB, where libarchive looks for it;
 *   - zip64 exactly when a "PK\6\7" locator lies right before the end
 *     record (as Python and libarchive decide): one disk, and the zip64
 *     end record (56 bytes, no extensible data) right before the locator,
 *     where the locator says it is; each field of the plain end record is
 *     the zip64 value or its 0xFFFF/0xFFFFFFFF placeholder;
 *   - one disk; the central directory ends where the zip64 end record (or
 *     the end record) starts, so there are no bytes before the archive to
 *     correct offsets for; at most MFS_ZIPDIR_CD_MAX bytes;
 *   - the directory is whole entries only, as many as the end record
 *     counts and at most `max_entries`; no name twice (byte for byte);
 *     no NUL byte in a name; every entry stored (method 0) or deflated
 *     (8): other decoders take their memory bound from the archive;
 *   - extra fields are whole blocks; at most one zip64 block per header,
 *     holding at least the fields whose 32-bit values are placeholders
 *     (read in APPNOTE order, as every reader does); a local zip64 block
 *     is 16 bytes (both sizes) and the local header's two size fields are
 *     both placeholders or neither; an Info-ZIP Unicode path (0x7075)
 *     must name the very bytes of the plain name;
 *   - each entry's local header lies inside the file at its offset and
 *     has the central directory's name (byte for byte), flags and method;
 *     without a data descriptor (flag bit 3) its CRC and sizes (and those
 *     of its zip64 block) are the directory's; with one, each is 0 or the
 *     directory's, and the descriptor after the data (signature optional,
 *     8-byte sizes if the local header has a zip64 block) carries the
 *     directory's CRC and sizes;
 *   - the entries' spans [local header, end of data and descriptor),
 *     ordered by offset, tile the bytes before the central directory
 *     exactly: no overlap (two entries sharing a local header included),
 *     no gap (a local entry the directory does not list, or any other
 *     bytes no entry owns), nothing running into the directory.
 * Nothing is decompressed and no CRC is computed: the data stays the
 * walk's to check. */
#ifndef MFS_ZIPDIR_H
#define MFS_ZIPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest central directory read (it is read whole). */
#define MFS_ZIPDIR_CD_MAX (64u << 20)
/* Longest archive comment: 16 KiB - 22 - 1, the end record must start in
 * the last 16 KiB but not at its first byte (libarchive's search). */
#define MFS_ZIPDIR_COMMENT_MAX 16361u

struct mfs_zipdir_entry {
	const char *name;       /* the raw name, NUL-terminated; owned by the dir */
	size_t name_len;        /* its bytes (no NUL among them) */
	uint64_t offset;        /* of the local header */
	uint64_t end;           /* one past its last byte (data, descriptor) */
	uint64_t csize, usize;  /* compressed and uncompressed sizes */
	uint32_t crc;
	uint16_t method, flags;
	size_t index;           /* its place in the central directory */
};

struct mfs_zipdir {
	struct mfs_zipdir_entry *entries;  /* by offset: libarchive's order */
	size_t count;
	uint64_t cd_offset, cd_size;
	bool zip64;                        /* the zip64 end records are used */
	char *names;                       /* owns every entry's name */
};

/* Reads and checks the zip in `fd` (a regular file, read with pread; its
 * position is neither used nor moved) into `zd`, which the caller releases
 * with mfs_zipdir_release whatever the outcome (after a failure, what it
 * holds is no list to rely on).  Returns 0, or a negative
 * errno and a one-line reason in `err` (NULL or 0 `errlen`: none):
 *   -EPERM   the archive reads, but its parts disagree or could be read two
 *            ways: "central directory names 'x' but its local header names
 *            'y'", "entries 'a' and 'b' overlap", "central directory lists
 *            'a' twice", "local entry 'n' at offset N is not in the central
 *            directory", "the end record counts N entries but the central
 *            directory holds M", two end records, ...
 *   -EINVAL  not readable as a zip: no end record, records cut short or
 *            outside the file, a bad signature, several disks, a malformed
 *            extra field ("zip: ..."); also `fd` is not a regular file
 *   -E2BIG   more than `max_entries` entries ("more than N entries"), or a
 *            central directory over MFS_ZIPDIR_CD_MAX
 *   -ENOMEM
 *   -EIO     the file got shorter while read; or pread's and fstat's own
 *            errors. */
int mfs_zipdir_read(struct mfs_zipdir *zd, int fd, uint64_t max_entries, char *err,
		    size_t errlen);

/* Frees what mfs_zipdir_read left in `zd` and zeroes it; safe on a zeroed
 * or already released one. */
void mfs_zipdir_release(struct mfs_zipdir *zd);

#endif
