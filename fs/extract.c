/* extract — see include/extract.h. */
#include "extract.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "zipdir.h"

enum { BLOCK = 1 << 20, NAME_MAX_BYTES = 4095, QUOTE_MAX = 256 };

/* The archive as libarchive sees it: pread at our own offset, so the fd's
 * shared position is neither used nor moved. */
struct src {
	int fd;
	int ioerr;
	int64_t off;
	int64_t size;
	unsigned char *buf;
};

struct walk {
	struct archive *a;
	struct src *src;
	const struct mfs_extract_limits *lim;
	const struct mfs_extract_ops *ops;
	void *arg;
	char *err;
	size_t errlen;
	void *names;            /* tsearch tree of owned copies of the names seen */
	uint64_t entries;
	uint64_t total;
	struct mfs_zipdir dir;  /* the entries libarchive must yield, in order */
	size_t next;            /* the one it must yield next */
};

static __attribute__((format(printf, 3, 4)))
int fail(struct walk *w, int rc, const char *fmt, ...)
{
	va_list ap;

	if (w->err && w->errlen) {
		va_start(ap, fmt);
		vsnprintf(w->err, w->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Names are hostile and end up in logs: escape control bytes and
 * backslashes, and cut long ones. */
static const char *quote(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s && n + 8 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			n += (size_t)snprintf(out + n, outlen - n, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	snprintf(out + n, outlen - n, "%s", *s ? "..." : "");
	return out;
}

/* Turns libarchive's last error into an errno; `name`: the member being read. */
static int arc_fail(struct walk *w, const char *what, const char *name)
{
	const char *msg = archive_error_string(w->a);
	int rc = archive_errno(w->a) == ENOMEM ? -ENOMEM : -EINVAL;
	char q[QUOTE_MAX];

	if (w->src->ioerr)
		return fail(w, -w->src->ioerr, "cannot read the archive: %s",
			    strerror_r(w->src->ioerr, q, sizeof(q)));
	if (!msg)
		msg = "unknown error";
	if (name)
		return fail(w, rc, "%s: member '%s': %s", what, quote(name, q, sizeof(q)), msg);
	return fail(w, rc, "%s: %s", what, msg);
}

static int cb_fail(struct walk *w, int rc, const char *name)
{
	char q[QUOTE_MAX], buf[128];

	return fail(w, rc, "member '%s': %s", quote(name, q, sizeof(q)),
		    strerror_r(-rc, buf, sizeof(buf)));
}

static la_ssize_t src_read(struct archive *a, void *arg, const void **out)
{
	struct src *s = arg;
	ssize_t n;

	do
		n = pread(s->fd, s->buf, BLOCK, s->off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->ioerr = errno;
		archive_set_error(a, errno, "read failed");
		return ARCHIVE_FATAL;
	}
	s->off += n;
	*out = s->buf;
	return n;
}

static la_int64_t src_seek(struct archive *a, void *arg, la_int64_t off, int whence)
{
	struct src *s = arg;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->off : s->size;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) ||
	    (off < 0 && base + off < 0) || (off > 0 && base > INT64_MAX - off)) {
		archive_set_error(a, EINVAL, "bad seek");
		return ARCHIVE_FATAL;
	}
	s->off = base + off;
	return s->off;
}

/* Why `name` (of `len` bytes, a directory's trailing '/' cut) is refused,
 * or NULL. */
static const char *bad_name(const char *name, size_t len)
{
	const char *p = name, *end = name + len;

	if (len == 0)
		return "has an empty name";
	if (len > NAME_MAX_BYTES)
		return "has a name longer than 4095 bytes";
	if (name[0] == '/')
		return "is an absolute path";
	if (memchr(name, '\\', len))
		return "has a backslash";
	while (p <= end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n;

		if (!slash)
			slash = end;
		n = (size_t)(slash - p);
		if (n == 0)
			return "has an empty component";
		if (n == 1 && p[0] == '.')
			return "has a '.' component";
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "has a '..' component";
		p = slash + 1;
	}
	return NULL;
}

static const char *bad_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return "is a hard link";
	if (archive_entry_symlink(e))
		return "is a symbolic link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
		return NULL;
	case AE_IFLNK:
		return "is a symbolic link";
	case AE_IFCHR:
	case AE_IFBLK:
		return "is a device";
	case AE_IFIFO:
		return "is a FIFO";
	case AE_IFSOCK:
		return "is a socket";
	default:
		return "has an unknown type";
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Checks the name, type and encryption of `e` and records its name. */
static int check_entry(struct walk *w, struct archive_entry *e, const char *name, bool *dir)
{
	char q[QUOTE_MAX];
	const char *why;
	void *node;
	char *key;
	size_t len;

	if (!name)
		return fail(w, -EPERM, "member without a name");
	*dir = archive_entry_filetype(e) == AE_IFDIR;
	len = strlen(name);
	if (*dir && len > 1 && name[len - 1] == '/')
		len--;
	why = bad_type(e);
	if (!why)
		why = bad_name(name, len);
	if (!why && archive_entry_is_encrypted(e))
		why = "is encrypted";
	if (why)
		return fail(w, -EPERM, "member '%s' %s", quote(name, q, sizeof(q)), why);
	key = strndup(name, len);
	if (!key)
		return fail(w, -ENOMEM, "out of memory");
	node = tsearch(key, &w->names, name_cmp);
	if (!node) {
		free(key);
		return fail(w, -ENOMEM, "out of memory");
	}
	if (*(char **)node != key) {
		free(key);
		return fail(w, -EPERM, "member '%s' appears twice", quote(name, q, sizeof(q)));
	}
	return 0;
}

/* Whether libarchive's `name` for an entry is the central directory's
 * `raw` (`len` bytes): the same bytes, but for the two changes libarchive
 * makes, a '/' added to a directory's name and, in a name without '/',
 * every backslash turned into '/' (a Windows archiver's separator). */
static bool same_name(const char *name, const char *raw, size_t len)
{
	size_t n = strlen(name);
	bool win = !memchr(raw, '/', len) && memchr(raw, '\\', len);

	if (n != len && !(n == len + 1 && name[len] == '/'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] != raw[i] && !(win && raw[i] == '\\' && name[i] == '/'))
			return false;
	}
	return true;
}

/* libarchive yields the entries in local header offset order: the one it
 * yields must be the next of the central directory's in that order, so
 * that each entry is read once and from the local header that was
 * checked against the directory. */
static int check_dir_order(struct walk *w, const char *name)
{
	const struct mfs_zipdir_entry *de;
	char q[QUOTE_MAX], q2[QUOTE_MAX];

	if (!name)
		return 0;       /* check_entry refuses it */
	if (w->next >= w->dir.count)
		return fail(w, -EPERM, "member '%s' is not in the central directory",
			    quote(name, q, sizeof(q)));
	de = &w->dir.entries[w->next++];
	if (!same_name(name, de->name, de->name_len))
		return fail(w, -EPERM, "member '%s' was read where the central directory lists '%s'",
			    quote(name, q, sizeof(q)), quote(de->name, q2, sizeof(q2)));
	return 0;
}

static int member(struct walk *w, struct archive_entry *e, const char *name)
{
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	uint64_t limit = 0, got = 0;
	char q[QUOTE_MAX];
	int id, rc;

	id = w->ops->entry(w->arg, name, size, &limit);
	if (id == -ENOENT)
		return fail(w, -EPERM, "unlisted member '%s'", quote(name, q, sizeof(q)));
	if (id < 0)
		return cb_fail(w, id, name);
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(w->a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		/* ARCHIVE_WARN here is a bad CRC or size: never data to pass on. */
		if (r != ARCHIVE_OK)
			return arc_fail(w, "zip", name);
		if (off < 0 || (uint64_t)off != got)
			return fail(w, -EINVAL, "zip: member '%s' has a hole",
				    quote(name, q, sizeof(q)));
		if (len > limit - got)
			return fail(w, -EFBIG, "member '%s' is larger than %" PRIu64 " bytes",
				    quote(name, q, sizeof(q)), limit);
		if (len > w->lim->max_total - w->total)
			return fail(w, -EFBIG, "archive expands to more than %" PRIu64 " bytes",
				    w->lim->max_total);
		got += len;
		w->total += len;
		if (len && (rc = w->ops->data(w->arg, id, buf, len)) < 0)
			return cb_fail(w, rc, name);
	}
	rc = w->ops->end(w->arg, id, got);
	return rc < 0 ? cb_fail(w, rc, name) : 0;
}

static int walk(struct walk *w)
{
	struct archive_entry *e;
	int r, rc;

	/* ARCHIVE_WARN on a header (an unconvertible name, ...) fails too. */
	while ((r = archive_read_next_header(w->a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		bool dir = false;

		if (++w->entries > w->lim->max_entries)
			return fail(w, -E2BIG, "more than %" PRIu64 " entries", w->lim->max_entries);
		rc = check_dir_order(w, name);
		if (rc == 0)
			rc = check_entry(w, e, name, &dir);
		if (rc == 0 && !dir)
			rc = member(w, e, name);
		if (rc < 0)
			return rc;
	}
	if (r != ARCHIVE_EOF)
		return arc_fail(w, "zip", NULL);
	if (w->next < w->dir.count) {
		char q[QUOTE_MAX];

		return fail(w, -EPERM, "the walk never reached central directory entry '%s'",
			    quote(w->dir.entries[w->next].name, q, sizeof(q)));
	}
	return 0;
}

/* Only the seekable reader: it lists the entries from the central
 * directory, where the streaming one would also accept a zip cut before
 * its central directory and would miss the symlink bits kept there.  It
 * does not trust that directory alone, though: each entry's name and
 * flags come from its local header, and two entries at one offset are
 * read once.  mfs_zipdir_read (run before the walk) makes sure both
 * tell one story.  mac-ext would fold __MACOSX/ entries into others, out
 * of our sight. */
static int open_zip(struct walk *w)
{
	struct archive *a = w->a;

	if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
	    archive_read_support_filter_none(a) != ARCHIVE_OK ||
	    archive_read_set_options(a, "zip:!mac-ext,zip:!ignorecrc32") != ARCHIVE_OK ||
	    archive_read_set_read_callback(a, src_read) != ARCHIVE_OK ||
	    archive_read_set_seek_callback(a, src_seek) != ARCHIVE_OK ||
	    archive_read_set_callback_data(a, w->src) != ARCHIVE_OK)
		return arc_fail(w, "zip", NULL);
	if (archive_read_open1(a) != ARCHIVE_OK)
		return arc_fail(w, "not a zip archive", NULL);
	return 0;
}

int mfs_extract_fd(int fd, enum mfs_extract_format format, const struct mfs_extract_limits *lim,
		   const struct mfs_extract_ops *ops, void *arg, char *err, size_t errlen)
{
	struct src src = { .fd = fd };
	struct walk w = { .src = &src, .lim = lim, .ops = ops, .arg = arg, .err = err,
			  .errlen = errlen };
	locale_t utf8, old = (locale_t)0;
	struct stat st;
	char buf[128];
	int rc;

	fail(&w, 0, "%s", "");
	if (format != MFS_EXTRACT_ZIP)
		return fail(&w, -EINVAL, "unknown archive format %d", (int)format);
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		return fail(&w, rc, "cannot stat the archive: %s", strerror_r(-rc, buf, sizeof(buf)));
	}
	if (!S_ISREG(st.st_mode))
		return fail(&w, -EINVAL, "the archive is not a regular file");
	src.size = st.st_size;
	src.buf = malloc(BLOCK);
	if (!src.buf)
		return fail(&w, -ENOMEM, "out of memory");
	w.a = archive_read_new();
	if (!w.a) {
		rc = fail(&w, -ENOMEM, "out of memory");
		goto out_free_buf;
	}
	/* libarchive converts names flagged UTF-8 to the locale's charset,
	 * which in the C locale fails for any non-ASCII one; under C.UTF-8
	 * they come through unchanged.  Without it, such names fail the walk. */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8) {
		old = uselocale(utf8);
		if (!old) {
			freelocale(utf8);
			utf8 = (locale_t)0;
		}
	}
	/* libarchive's bid first: what it does not take for a zip fails as
	 * "not a zip archive" whatever the directory holds. */
	rc = open_zip(&w);
	if (rc == 0)
		rc = mfs_zipdir_read(&w.dir, fd, lim->max_entries, err, errlen);
	if (rc == 0)
		rc = walk(&w);
	mfs_zipdir_release(&w.dir);
	tdestroy(w.names, free);
	if (archive_read_free(w.a) != ARCHIVE_OK && rc == 0)
		rc = fail(&w, -EIO, "zip: cannot close the archive");
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
out_free_buf:
	free(src.buf);
	return rc;
}
