/* zipdir — see include/zipdir.h.  Record layouts: PKWARE APPNOTE 4.3. */
#include "zipdir.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	EOCD_LEN = 22,          /* end of central directory record, no comment */
	LOC64_LEN = 20,         /* zip64 end of central directory locator */
	EOCD64_LEN = 56,        /* zip64 end record without extensible data */
	CDH_LEN = 46,           /* central directory header, no name/extra/comment */
	LFH_LEN = 30,           /* local file header, no name/extra */
	EOCD_SEARCH = EOCD_LEN + 65535,
	DD_MAX = 24,            /* data descriptor: signature, CRC, two 8-byte sizes */
	QUOTE_MAX = 256,
};

enum {
	FLAG_DESCRIPTOR = 1 << 3,
	X_ZIP64 = 0x0001,
	X_UPATH = 0x7075,
};

#define METHOD_STORED 0
#define METHOD_DEFLATE 8
#define U16_PLACEHOLDER 0xffffu
#define U32_PLACEHOLDER 0xffffffffu

static const char SIG_EOCD[4] = "PK\5\6";
static const char SIG_LOC64[4] = "PK\6\7";
static const char SIG_EOCD64[4] = "PK\6\6";
static const char SIG_CDH[4] = "PK\1\2";
static const char SIG_LFH[4] = "PK\3\4";
static const char SIG_DD[4] = "PK\7\10";

struct ctx {
	struct mfs_zipdir *zd;
	int fd;
	uint64_t size;          /* of the file */
	uint64_t max_entries;
	char *err;
	size_t errlen;
	unsigned char *hdr;     /* a local header's name and extra fields */
};

/* The blocks of one extra field that matter here. */
struct extra {
	const unsigned char *zip64;
	size_t zip64_len;
	const unsigned char *upath;     /* Unicode path block, NULL if none */
	size_t upath_len;
};

static __attribute__((format(printf, 3, 4)))
int fail(struct ctx *c, int rc, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Names are hostile and end up in logs: escape control bytes (NUL
 * included) and backslashes, and cut long ones. */
static const char *quote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = 0, i = 0;

	for (; i < len && n + 8 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\')
			n += (size_t)snprintf(out + n, outlen - n, "\\\\");
		else if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", ch);
		else
			out[n++] = (char)ch;
	}
	snprintf(out + n, outlen - n, "%s", i < len ? "..." : "");
	return out;
}

static const char *qname(const struct mfs_zipdir_entry *e, char *out)
{
	return quote(e->name, e->name_len, out, QUOTE_MAX);
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Reads exactly `len` bytes at `off`, which the caller checked lie inside
 * the file: a short read means the file shrank under us. */
static int read_at(struct ctx *c, uint64_t off, void *buf, size_t len)
{
	unsigned char *p = buf;
	char msg[128];

	while (len) {
		ssize_t n = pread(c->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			return fail(c, rc, "cannot read the archive: %s",
				    strerror_r(-rc, msg, sizeof(msg)));
		}
		if (n == 0)
			return fail(c, -EIO, "cannot read the archive: it got shorter");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Splits an extra field into its blocks: they must fill it exactly, and
 * neither kind that matters here may come twice.  `where`: whose field. */
static int parse_extra(struct ctx *c, const struct mfs_zipdir_entry *e, const char *where,
		       const unsigned char *p, size_t len, struct extra *x)
{
	char q[QUOTE_MAX];
	size_t off = 0;

	memset(x, 0, sizeof(*x));
	while (off < len) {
		uint16_t id, n;

		if (len - off < 4)
			goto malformed;
		id = le16(p + off);
		n = le16(p + off + 2);
		off += 4;
		if (n > len - off)
			goto malformed;
		if (id == X_ZIP64 || id == X_UPATH) {
			const unsigned char **blk = id == X_ZIP64 ? &x->zip64 : &x->upath;

			if (*blk)
				return fail(c, -EPERM, "entry '%s' has two %s blocks in its %s",
					    qname(e, q), id == X_ZIP64 ? "zip64" : "Unicode path",
					    where);
			*blk = p + off;
			*(id == X_ZIP64 ? &x->zip64_len : &x->upath_len) = n;
		}
		off += n;
	}
	return 0;
malformed:
	return fail(c, -EINVAL, "zip: entry '%s' has a malformed extra field in its %s",
		    qname(e, q), where);
}

/* An Info-ZIP Unicode path (version 1, CRC of the plain name, UTF-8 name)
 * renames the entry for the readers that honour it: it may only repeat
 * the plain name. */
static int check_upath(struct ctx *c, const struct mfs_zipdir_entry *e, const char *where,
		       const struct extra *x)
{
	char q[QUOTE_MAX], q2[QUOTE_MAX];
	const char *u;
	size_t ulen;

	if (!x->upath)
		return 0;
	if (x->upath_len < 5)
		return fail(c, -EINVAL, "zip: entry '%s' has a malformed Unicode path in its %s",
			    qname(e, q), where);
	u = (const char *)x->upath + 5;
	ulen = x->upath_len - 5;
	if (ulen != e->name_len || memcmp(u, e->name, ulen) != 0)
		return fail(c, -EPERM, "entry '%s' has a Unicode path '%s' in its %s", qname(e, q),
			    quote(u, ulen, q2, sizeof(q2)), where);
	return 0;
}

/* Whether the `len` bytes at `p` could be an end record whose comment ends
 * the file exactly; `pos` is its offset in the file. */
static bool end_record_at(const unsigned char *p, size_t len, uint64_t pos, uint64_t size)
{
	return len >= EOCD_LEN && memcmp(p, SIG_EOCD, 4) == 0 &&
	       pos + EOCD_LEN + le16(p + 20) == size;
}

/* Finds the one end record; its offset goes to *pos and its bytes to rec. */
static int find_end(struct ctx *c, uint64_t *pos, unsigned char rec[EOCD_LEN])
{
	size_t win = c->size < EOCD_SEARCH ? (size_t)c->size : EOCD_SEARCH;
	uint64_t base = c->size - win;
	unsigned char *buf;
	size_t i, found = 0, last = SIZE_MAX, rec_at = 0;
	int rc;

	if (win < EOCD_LEN)
		return fail(c, -EINVAL, "zip: no end of central directory record");
	buf = malloc(win);
	if (!buf)
		return fail(c, -ENOMEM, "out of memory");
	rc = read_at(c, base, buf, win);
	if (rc < 0)
		goto out_free_buf;
	for (i = 0; i + 4 <= win; i++) {
		if (memcmp(buf + i, SIG_EOCD, 4) != 0)
			continue;
		last = i;
		if (end_record_at(buf + i, win - i, base + i, c->size)) {
			if (found++) {
				rc = fail(c, -EPERM, "two end of central directory records, at %"
					  PRIu64 " and %" PRIu64, base + rec_at, base + i);
				goto out_free_buf;
			}
			rec_at = i;
		}
	}
	if (!found) {
		if (last == SIZE_MAX)
			rc = fail(c, -EINVAL, "zip: no end of central directory record");
		else
			rc = fail(c, -EINVAL, "zip: the end of central directory record at %" PRIu64
				  " does not end the file", base + last);
		goto out_free_buf;
	}
	/* Readers take the last signature (libarchive, Python) or the last
	 * consistent record (Go, Java): only one answer is allowed. */
	if (last != rec_at) {
		rc = fail(c, -EPERM, "an end of central directory signature at %" PRIu64
			  " follows the end record at %" PRIu64, base + last, base + rec_at);
		goto out_free_buf;
	}
	if (le16(buf + rec_at + 20) > MFS_ZIPDIR_COMMENT_MAX) {
		rc = fail(c, -EINVAL, "zip: an archive comment longer than %u bytes",
			  MFS_ZIPDIR_COMMENT_MAX);
		goto out_free_buf;
	}
	*pos = base + rec_at;
	memcpy(rec, buf + rec_at, EOCD_LEN);
out_free_buf:
	free(buf);
	return rc;
}

/* The zip64 end records before the end record at `eocd`: sets the count,
 * the central directory's size and offset, and where the directory must
 * end (*cd_end). */
static int read_end64(struct ctx *c, uint64_t eocd, const unsigned char *rec, uint64_t *count,
		      uint64_t *cd_size, uint64_t *cd_off, uint64_t *cd_end)
{
	unsigned char loc[LOC64_LEN], r64[EOCD64_LEN];
	uint64_t at;
	int rc;

	if (eocd < LOC64_LEN + EOCD64_LEN)
		return fail(c, -EINVAL, "zip: the zip64 end record is cut short");
	rc = read_at(c, eocd - LOC64_LEN, loc, sizeof(loc));
	if (rc < 0)
		return rc;
	if (le32(loc + 4) != 0 || le32(loc + 16) != 1)
		return fail(c, -EINVAL, "zip: a zip64 archive on several disks");
	/* Python reads the zip64 end record right before the locator,
	 * libarchive where the locator points: both must be the same. */
	at = le64(loc + 8);
	if (at != eocd - LOC64_LEN - EOCD64_LEN)
		return fail(c, -EPERM, "the zip64 locator points at %" PRIu64 ", not at %" PRIu64,
			    at, eocd - LOC64_LEN - EOCD64_LEN);
	rc = read_at(c, at, r64, sizeof(r64));
	if (rc < 0)
		return rc;
	if (memcmp(r64, SIG_EOCD64, 4) != 0 || le64(r64 + 4) != EOCD64_LEN - 12)
		return fail(c, -EINVAL, "zip: no zip64 end record where the locator points");
	if (le32(r64 + 16) != 0 || le32(r64 + 20) != 0 || le64(r64 + 24) != le64(r64 + 32))
		return fail(c, -EINVAL, "zip: a zip64 archive on several disks");
	*count = le64(r64 + 32);
	*cd_size = le64(r64 + 40);
	*cd_off = le64(r64 + 48);
	*cd_end = at;
	if ((le16(rec + 4) != 0 && le16(rec + 4) != U16_PLACEHOLDER) ||
	    (le16(rec + 6) != 0 && le16(rec + 6) != U16_PLACEHOLDER) ||
	    (le16(rec + 8) != *count && le16(rec + 8) != U16_PLACEHOLDER) ||
	    (le16(rec + 10) != *count && le16(rec + 10) != U16_PLACEHOLDER) ||
	    (le32(rec + 12) != *cd_size && le32(rec + 12) != U32_PLACEHOLDER) ||
	    (le32(rec + 16) != *cd_off && le32(rec + 16) != U32_PLACEHOLDER))
		return fail(c, -EPERM, "the end record and the zip64 end record disagree");
	return 0;
}

/* Fills in what the 32-bit fields of central directory entry `e` left to
 * its zip64 block: the fields that are placeholders, in APPNOTE order. */
static int resolve_zip64(struct ctx *c, struct mfs_zipdir_entry *e, const struct extra *x,
			 uint32_t usize, uint32_t csize, uint32_t off, uint16_t disk)
{
	const unsigned char *p = x->zip64;
	size_t need = 8 * ((usize == U32_PLACEHOLDER) + (csize == U32_PLACEHOLDER) +
			   (off == U32_PLACEHOLDER)) + 4 * (disk == U16_PLACEHOLDER);
	uint32_t disk32 = disk;
	char q[QUOTE_MAX];

	e->usize = usize;
	e->csize = csize;
	e->offset = off;
	if (need && (!p || x->zip64_len < need))
		return fail(c, -EINVAL, "zip: entry '%s' lacks its zip64 fields", qname(e, q));
	if (usize == U32_PLACEHOLDER) {
		e->usize = le64(p);
		p += 8;
	}
	if (csize == U32_PLACEHOLDER) {
		e->csize = le64(p);
		p += 8;
	}
	if (off == U32_PLACEHOLDER) {
		e->offset = le64(p);
		p += 8;
	}
	if (disk == U16_PLACEHOLDER)
		disk32 = le32(p);
	if (disk32 != 0)
		return fail(c, -EINVAL, "zip: entry '%s' is on another disk", qname(e, q));
	return 0;
}

/* Parses the central directory entry at `p` (`avail` bytes to the end of
 * the directory) into `e`; *len gets its length. */
static int parse_cdh(struct ctx *c, const unsigned char *p, size_t avail, uint64_t at,
		     struct mfs_zipdir_entry *e, size_t *len)
{
	size_t nlen, xlen, klen;
	struct extra x;
	char q[QUOTE_MAX];
	int rc;

	if (avail < CDH_LEN || memcmp(p, SIG_CDH, 4) != 0)
		return fail(c, -EINVAL, "zip: no central directory entry at %" PRIu64, at);
	nlen = le16(p + 28);
	xlen = le16(p + 30);
	klen = le16(p + 32);
	if (nlen + xlen + klen > avail - CDH_LEN)
		return fail(c, -EINVAL, "zip: the central directory entry at %" PRIu64
			    " runs past the directory", at);
	e->name = (const char *)p + CDH_LEN;
	e->name_len = nlen;
	e->flags = le16(p + 8);
	e->method = le16(p + 10);
	e->crc = le32(p + 16);
	if (memchr(e->name, '\0', nlen))
		return fail(c, -EPERM, "central directory name '%s' has a NUL byte", qname(e, q));
	/* Model zips are stored or deflated; the other decoders (LZMA, XZ,
	 * bzip2, PPMd, zstd...) take their memory bounds from the archive
	 * (an LZMA header can ask for 4 GiB) and are kept away from it. */
	if (e->method != METHOD_STORED && e->method != METHOD_DEFLATE)
		return fail(c, -EPERM, "entry '%s' uses compression method %u (only 0, stored, "
			    "and 8, deflate, are read)", qname(e, q), e->method);
	rc = parse_extra(c, e, "central directory entry", p + CDH_LEN + nlen, xlen, &x);
	if (rc == 0)
		rc = check_upath(c, e, "central directory entry", &x);
	if (rc == 0)
		rc = resolve_zip64(c, e, &x, le32(p + 24), le32(p + 20), le32(p + 42),
				   le16(p + 34));
	*len = CDH_LEN + nlen + xlen + klen;
	return rc;
}

/* Reads the central directory [cd_off, cd_off + cd_size) into zd. */
static int read_cd(struct ctx *c, uint64_t count, uint64_t cd_off, uint64_t cd_size)
{
	struct mfs_zipdir *zd = c->zd;
	unsigned char *buf;
	size_t pos = 0, cap = 0, total = 0;
	char *names;
	int rc;

	buf = malloc(cd_size ? (size_t)cd_size : 1);
	if (!buf)
		return fail(c, -ENOMEM, "out of memory");
	rc = read_at(c, cd_off, buf, (size_t)cd_size);
	while (rc == 0 && pos < cd_size) {
		struct mfs_zipdir_entry *e;
		size_t len = 0;

		if (zd->count >= c->max_entries) {
			rc = fail(c, -E2BIG, "more than %" PRIu64 " entries", c->max_entries);
			break;
		}
		if (zd->count == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			void *p = reallocarray(zd->entries, ncap, sizeof(*zd->entries));

			if (!p) {
				rc = fail(c, -ENOMEM, "out of memory");
				break;
			}
			zd->entries = p;
			cap = ncap;
		}
		e = &zd->entries[zd->count];
		memset(e, 0, sizeof(*e));
		e->index = zd->count;
		rc = parse_cdh(c, buf + pos, (size_t)cd_size - pos, cd_off + pos, e, &len);
		if (rc == 0) {
			zd->count++;
			pos += len;
			total += e->name_len + 1;
		}
	}
	if (rc == 0 && zd->count != count)
		rc = fail(c, -EPERM, "the end record counts %" PRIu64 " entries but the central "
			  "directory holds %zu", count, zd->count);
	if (rc < 0)
		goto out_free_buf;
	names = malloc(total ? total : 1);
	if (!names) {
		rc = fail(c, -ENOMEM, "out of memory");
		goto out_free_buf;
	}
	/* The names move out of the directory's buffer, NUL-terminated. */
	zd->names = names;
	for (size_t i = 0; i < zd->count; i++) {
		struct mfs_zipdir_entry *e = &zd->entries[i];

		memcpy(names, e->name, e->name_len);
		names[e->name_len] = '\0';
		e->name = names;
		names += e->name_len + 1;
	}
out_free_buf:
	if (rc < 0) {
		/* Names still point into buf: drop them with it. */
		free(zd->entries);
		zd->entries = NULL;
		zd->count = 0;
	}
	free(buf);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	const struct mfs_zipdir_entry *x = *(const struct mfs_zipdir_entry *const *)a;
	const struct mfs_zipdir_entry *y = *(const struct mfs_zipdir_entry *const *)b;
	int d = memcmp(x->name, y->name, x->name_len < y->name_len ? x->name_len : y->name_len);

	if (d)
		return d;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int check_names_unique(struct ctx *c)
{
	struct mfs_zipdir *zd = c->zd;
	const struct mfs_zipdir_entry **v;
	char q[QUOTE_MAX];
	int rc = 0;

	if (zd->count < 2)
		return 0;
	v = calloc(zd->count, sizeof(*v));
	if (!v)
		return fail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < zd->count; i++)
		v[i] = &zd->entries[i];
	qsort(v, zd->count, sizeof(*v), by_name);
	for (size_t i = 1; i < zd->count; i++) {
		if (v[i]->name_len == v[i - 1]->name_len &&
		    memcmp(v[i]->name, v[i - 1]->name, v[i]->name_len) == 0) {
			rc = fail(c, -EPERM, "central directory lists '%s' twice", qname(v[i], q));
			break;
		}
	}
	free(v);
	return rc;
}

static int by_offset(const void *a, const void *b)
{
	const struct mfs_zipdir_entry *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int overlap(struct ctx *c, const struct mfs_zipdir_entry *a,
		   const struct mfs_zipdir_entry *b)
{
	char q[QUOTE_MAX], q2[QUOTE_MAX];

	return fail(c, -EPERM, "entries '%s' and '%s' overlap", qname(a, q), qname(b, q2));
}

static int into_cd(struct ctx *c, const struct mfs_zipdir_entry *e)
{
	char q[QUOTE_MAX];

	return fail(c, -EPERM, "entry '%s' runs into the central directory", qname(e, q));
}

/* The local size fields of `e`: a zip64 block (both sizes, 16 bytes) is
 * read only where both 32-bit fields are placeholders, as every reader
 * does; one placeholder alone would be read two ways. */
static int local_sizes(struct ctx *c, const struct mfs_zipdir_entry *e, const unsigned char *h,
		       const struct extra *x, uint64_t *usize, uint64_t *csize)
{
	uint32_t u = le32(h + 22), s = le32(h + 18);
	char q[QUOTE_MAX];

	if (x->zip64 && x->zip64_len != 16)
		return fail(c, -EINVAL, "zip: entry '%s' has a malformed zip64 block in its "
			    "local header", qname(e, q));
	if ((u == U32_PLACEHOLDER) != (s == U32_PLACEHOLDER) ||
	    (u == U32_PLACEHOLDER && !x->zip64))
		return fail(c, -EINVAL, "zip: entry '%s' lacks its zip64 sizes in its local header",
			    qname(e, q));
	*usize = u == U32_PLACEHOLDER ? le64(x->zip64) : u;
	*csize = s == U32_PLACEHOLDER ? le64(x->zip64 + 8) : s;
	return 0;
}

/* Whether a local value agrees with the directory's `want`: equal, or 0
 * where a data descriptor carries the real one. */
static bool agrees(uint64_t v, uint64_t want, bool dd)
{
	return v == want || (dd && v == 0);
}

static int check_local_values(struct ctx *c, const struct mfs_zipdir_entry *e,
			      const unsigned char *h, const struct extra *x)
{
	bool dd = e->flags & FLAG_DESCRIPTOR;
	uint64_t usize = 0, csize = 0;
	char q[QUOTE_MAX];
	int rc;

	rc = local_sizes(c, e, h, x, &usize, &csize);
	if (rc < 0)
		return rc;
	if (!agrees(le32(h + 14), e->crc, dd))
		return fail(c, -EPERM, "entry '%s' has CRC %08" PRIx32 " in the central directory "
			    "but %08" PRIx32 " in its local header", qname(e, q), e->crc,
			    le32(h + 14));
	/* A zip64 block's sizes must agree too, read or not: some reader
	 * may prefer them. */
	if (!agrees(csize, e->csize, dd) || (x->zip64 && !agrees(le64(x->zip64 + 8), e->csize, dd)))
		return fail(c, -EPERM, "entry '%s' has compressed size %" PRIu64 " in the central "
			    "directory but not in its local header", qname(e, q), e->csize);
	if (!agrees(usize, e->usize, dd) || (x->zip64 && !agrees(le64(x->zip64), e->usize, dd)))
		return fail(c, -EPERM, "entry '%s' has size %" PRIu64 " in the central directory "
			    "but not in its local header", qname(e, q), e->usize);
	return 0;
}

/* The data descriptor of `e` at `at`: optional signature, CRC, sizes (8
 * bytes each if `wide`), all the directory's.  Sets e->end. */
static int check_descriptor(struct ctx *c, struct mfs_zipdir_entry *e, uint64_t at, bool wide,
			    uint64_t limit)
{
	unsigned char d[DD_MAX];
	size_t min = wide ? 20 : 12, len, got;
	const unsigned char *p = d;
	uint64_t csize, usize;
	char q[QUOTE_MAX];
	int rc;

	if (limit - at < min)
		return into_cd(c, e);
	got = limit - at < DD_MAX ? (size_t)(limit - at) : DD_MAX;
	rc = read_at(c, at, d, got);
	if (rc < 0)
		return rc;
	len = min;
	if (memcmp(d, SIG_DD, 4) == 0) {
		len += 4;
		p += 4;
	}
	if (len > got)
		return into_cd(c, e);
	csize = wide ? le64(p + 4) : le32(p + 4);
	usize = wide ? le64(p + 12) : le32(p + 8);
	if (le32(p) != e->crc || csize != e->csize || usize != e->usize)
		return fail(c, -EPERM, "entry '%s' has a data descriptor that differs from the "
			    "central directory", qname(e, q));
	e->end = at + len;
	return 0;
}

/* Reads the local header of `e` and checks it against the directory;
 * sets e->end. */
static int check_local(struct ctx *c, struct mfs_zipdir_entry *e)
{
	uint64_t cd_off = c->zd->cd_offset, data;
	unsigned char h[LFH_LEN];
	char q[QUOTE_MAX], q2[QUOTE_MAX];
	size_t nlen, xlen;
	struct extra x;
	int rc;

	if (e->offset > c->size || c->size - e->offset < LFH_LEN)
		return fail(c, -EINVAL, "zip: entry '%s' has its local header outside the archive",
			    qname(e, q));
	if (e->offset > cd_off || cd_off - e->offset < LFH_LEN)
		return into_cd(c, e);
	rc = read_at(c, e->offset, h, sizeof(h));
	if (rc < 0)
		return rc;
	if (memcmp(h, SIG_LFH, 4) != 0)
		return fail(c, -EINVAL, "zip: entry '%s' has no local header at %" PRIu64,
			    qname(e, q), e->offset);
	nlen = le16(h + 26);
	xlen = le16(h + 28);
	if (nlen + xlen > cd_off - e->offset - LFH_LEN)
		return into_cd(c, e);
	rc = read_at(c, e->offset + LFH_LEN, c->hdr, nlen + xlen);
	if (rc < 0)
		return rc;
	if (nlen != e->name_len || memcmp(c->hdr, e->name, nlen) != 0)
		return fail(c, -EPERM, "central directory names '%s' but its local header names '%s'",
			    qname(e, q), quote((const char *)c->hdr, nlen, q2, sizeof(q2)));
	if (le16(h + 6) != e->flags)
		return fail(c, -EPERM, "entry '%s' has flags 0x%04x in the central directory but "
			    "0x%04x in its local header", qname(e, q), e->flags, le16(h + 6));
	if (le16(h + 8) != e->method)
		return fail(c, -EPERM, "entry '%s' has method %u in the central directory but %u "
			    "in its local header", qname(e, q), e->method, le16(h + 8));
	rc = parse_extra(c, e, "local header", c->hdr + nlen, xlen, &x);
	if (rc == 0)
		rc = check_upath(c, e, "local header", &x);
	if (rc == 0)
		rc = check_local_values(c, e, h, &x);
	if (rc < 0)
		return rc;
	data = e->offset + LFH_LEN + nlen + xlen;
	if (e->csize > cd_off - data)
		return into_cd(c, e);
	e->end = data + e->csize;
	if (e->flags & FLAG_DESCRIPTOR)
		return check_descriptor(c, e, e->end, x.zip64 != NULL, cd_off);
	return 0;
}

/* Bytes [from, to) belong to no entry: name the local entry hiding there
 * if there is one. */
static int gap(struct ctx *c, uint64_t from, uint64_t to)
{
	unsigned char h[LFH_LEN];
	char q[QUOTE_MAX];
	int rc;

	if (to - from >= LFH_LEN) {
		rc = read_at(c, from, h, sizeof(h));
		if (rc < 0)
			return rc;
		if (memcmp(h, SIG_LFH, 4) == 0 && le16(h + 26) <= to - from - LFH_LEN) {
			size_t nlen = le16(h + 26);

			rc = read_at(c, from + LFH_LEN, c->hdr, nlen);
			if (rc < 0)
				return rc;
			return fail(c, -EPERM, "local entry '%s' at offset %" PRIu64 " is not in the "
				    "central directory", quote((const char *)c->hdr, nlen, q, sizeof(q)),
				    from);
		}
	}
	return fail(c, -EPERM, "%" PRIu64 " bytes at offset %" PRIu64 " are in no entry of the "
		    "central directory", to - from, from);
}

/* Every entry against its local header, then the spans against each
 * other: they must tile [0, cd_offset). */
static int check_layout(struct ctx *c)
{
	struct mfs_zipdir *zd = c->zd;
	uint64_t next = 0;
	int rc;

	if (zd->count > 1)
		qsort(zd->entries, zd->count, sizeof(*zd->entries), by_offset);
	/* Two entries sharing a local header would pass every check below
	 * one at a time. */
	for (size_t i = 1; i < zd->count; i++) {
		if (zd->entries[i].offset == zd->entries[i - 1].offset)
			return overlap(c, &zd->entries[i - 1], &zd->entries[i]);
	}
	for (size_t i = 0; i < zd->count; i++) {
		rc = check_local(c, &zd->entries[i]);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < zd->count; i++) {
		const struct mfs_zipdir_entry *e = &zd->entries[i];

		if (e->offset < next)
			return overlap(c, &zd->entries[i - 1], e);
		if (e->offset > next)
			return gap(c, next, e->offset);
		next = e->end;
	}
	return next < zd->cd_offset ? gap(c, next, zd->cd_offset) : 0;
}

int mfs_zipdir_read(struct mfs_zipdir *zd, int fd, uint64_t max_entries, char *err,
		    size_t errlen)
{
	struct ctx c = { .zd = zd, .fd = fd, .max_entries = max_entries, .err = err,
			 .errlen = errlen };
	uint64_t eocd = 0, count = 0, cd_size = 0, cd_off = 0, cd_end = 0;
	unsigned char rec[EOCD_LEN] = { 0 };
	struct stat st;
	char msg[128];
	int rc;

	memset(zd, 0, sizeof(*zd));
	fail(&c, 0, "%s", "");
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		return fail(&c, rc, "cannot stat the archive: %s", strerror_r(-rc, msg, sizeof(msg)));
	}
	if (!S_ISREG(st.st_mode))
		return fail(&c, -EINVAL, "the archive is not a regular file");
	c.size = (uint64_t)st.st_size;
	rc = find_end(&c, &eocd, rec);
	if (rc < 0)
		return rc;
	if (eocd >= LOC64_LEN) {
		unsigned char loc[4];

		rc = read_at(&c, eocd - LOC64_LEN, loc, sizeof(loc));
		if (rc < 0)
			return rc;
		zd->zip64 = memcmp(loc, SIG_LOC64, 4) == 0;
	}
	if (zd->zip64) {
		rc = read_end64(&c, eocd, rec, &count, &cd_size, &cd_off, &cd_end);
		if (rc < 0)
			return rc;
	} else {
		if (le16(rec + 4) != 0 || le16(rec + 6) != 0 || le16(rec + 8) != le16(rec + 10))
			return fail(&c, -EINVAL, "zip: an archive on several disks");
		count = le16(rec + 10);
		cd_size = le32(rec + 12);
		cd_off = le32(rec + 16);
		cd_end = eocd;
	}
	if (cd_size > cd_end)
		return fail(&c, -EINVAL, "zip: the central directory is larger than the archive");
	/* Readers that find the directory by its size from the end and by its
	 * offset from the start (libarchive, Python) correct every offset by
	 * the difference: allow none, there is nothing before the archive. */
	if (cd_off != cd_end - cd_size)
		return fail(&c, -EINVAL, "zip: the central directory is at %" PRIu64 ", but the end "
			    "record says %" PRIu64, cd_end - cd_size, cd_off);
	if (count > max_entries)
		return fail(&c, -E2BIG, "more than %" PRIu64 " entries", max_entries);
	if (cd_size > MFS_ZIPDIR_CD_MAX)
		return fail(&c, -E2BIG, "a central directory larger than %u bytes",
			    MFS_ZIPDIR_CD_MAX);
	zd->cd_offset = cd_off;
	zd->cd_size = cd_size;
	rc = read_cd(&c, count, cd_off, cd_size);
	if (rc == 0)
		rc = check_names_unique(&c);
	if (rc < 0)
		return rc;
	c.hdr = malloc(2 * 65535);
	if (!c.hdr)
		return fail(&c, -ENOMEM, "out of memory");
	rc = check_layout(&c);
	free(c.hdr);
	return rc;
}

void mfs_zipdir_release(struct mfs_zipdir *zd)
{
	free(zd->entries);
	free(zd->names);
	memset(zd, 0, sizeof(*zd));
}
