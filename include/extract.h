/* extract — walks an archive (zip, via libarchive) as hostile input and
 * streams the members the caller asks for.  The only module that includes
 * libarchive's headers.
 *
 * Before any entry, the whole archive must tell one story (zipdir.h has
 * every rule): one end record, a central directory whose entries and
 * local headers agree byte for byte on names, flags, method, CRC and
 * sizes, entries that tile the file without overlap or gap (no local
 * entry the directory does not list), no name twice in the directory,
 * as many entries as the end record counts and at most `max_entries`,
 * every entry stored or deflated (other methods' decoders take their
 * memory bound from the archive).
 * Then libarchive must yield exactly those entries, each once, in offset
 * order, under the directory's names (but for a '/' it adds to a
 * directory and, in a name without '/', backslashes it turns into '/').
 *
 * Every entry is checked before any of its bytes are handed out:
 *   - names: relative, no empty, "." or ".." component, no NUL or
 *     backslash, at most 4095 bytes; a directory entry ("dir/") is skipped;
 *   - types: only regular files and directories; symlinks, hard links,
 *     devices, FIFOs and sockets fail the walk;
 *   - encrypted entries fail; a name seen twice fails;
 *   - at most `max_entries` entries (directories included);
 *   - at most `max_total` expanded bytes in all, counted as they are
 *     decompressed (headers are not trusted), and never more than the size
 *     the `entry` callback returns for a member.
 * Any failure stops the walk; bytes already handed out must be discarded by
 * the caller (they were never verified). */
#ifndef MFS_EXTRACT_H
#define MFS_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

enum mfs_extract_format { MFS_EXTRACT_ZIP };

struct mfs_extract_ops {
	/* A regular-file entry named `name` (declared size `size`, or -1 if
	 * the archive does not say).  Return a member id >= 0 to receive its
	 * bytes, -ENOENT if the caller does not list it (the walk then fails
	 * with -EPERM "unlisted member 'NAME'"), or another -errno to stop.
	 * `*limit` gets the exact size the member must have: more bytes fail
	 * the walk with -EFBIG; fewer are for the caller to judge in `end`. */
	int (*entry)(void *arg, const char *name, int64_t size, uint64_t *limit);
	/* Bytes of member `id`, in order.  -errno stops the walk. */
	int (*data)(void *arg, int id, const void *buf, size_t len);
	/* Member `id` is complete: `bytes` were handed out.  -errno stops. */
	int (*end)(void *arg, int id, uint64_t bytes);
};

struct mfs_extract_limits {
	uint64_t max_entries;
	uint64_t max_total;
};

/* Walks the archive in `fd` (a regular file; read with its own offsets,
 * the fd's position is not relied on) in `format`.  Returns 0 if every
 * entry passed the checks and the callbacks; else a negative errno and a
 * one-line reason in `err` ("member '../x' has a '..' component",
 * "member 'a' is a symbolic link", "more than N entries", "not a zip
 * archive: ...", "central directory names 'x' but its local header names
 * 'y'", "entries 'a' and 'b' overlap", "central directory lists 'a'
 * twice", ...):
 *   -EPERM   a name, type, duplicate or unlisted member refused; or the
 *            central directory and the local headers disagree, entries
 *            overlap or leave bytes to no entry, the directory repeats a
 *            name or its count, the archive has two end records, an
 *            entry is neither stored nor deflated, or
 *            libarchive yields other entries than the directory lists
 *   -EFBIG   a member or the total passed its limit
 *   -E2BIG   more than `max_entries` entries (told by the central
 *            directory, before any entry), or a central directory over
 *            64 MiB (MFS_ZIPDIR_CD_MAX)
 *   -EINVAL  not a readable archive of that format (corrupt, truncated,
 *            records outside the file, several disks); also `fd` is not
 *            a regular file
 *   -ENOMEM
 *   -EIO     the archive got shorter while read, or could not be
 *            released; also the errors of fstat and pread (-EBADF, ...)
 *   or the callbacks' own errors. */
int mfs_extract_fd(int fd, enum mfs_extract_format format, const struct mfs_extract_limits *lim,
		   const struct mfs_extract_ops *ops, void *arg, char *err, size_t errlen);

#endif
