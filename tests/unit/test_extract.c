/* Unit tests for fs/extract.c: real zips made by Python's zipfile (some
 * patched byte by byte) walked with recording callbacks; exact bytes, the
 * name/type/duplicate/encryption checks, the entry, member and total
 * limits, corrupt, truncated and foreign files, callback errors; archives
 * whose central directory and local headers disagree (the checks of
 * fs/zipdir.c, see tests/unit/test_zipdir.c) refused before any byte. */
#include "extract.h"
#include "unit.h"
#include "zipmk.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAXM = 8, MIB = 1 << 20 };

/* The bytes of zipmk.h's pat(n). */
static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 7 + i / 251) & 255);
}

/* What the callbacks saw.  Members listed in `list` get their index as id;
 * with `any` every name is listed, as id 0, and its bytes only counted. */
struct sink {
	const char *list[MAXM];
	uint64_t limit[MAXM];
	bool any;
	uint64_t any_limit;
	int entry_rc, data_rc, end_rc;  /* returned instead of success if set */
	int entries;                    /* entry() calls */
	uint64_t cur_len, cur_limit;    /* of the member being received */
	char seen[MAXM][64];            /* the first names entry() got */
	int64_t size[MAXM];
	unsigned char *buf[MAXM];
	size_t len[MAXM];
	int ends[MAXM];
	uint64_t end_bytes[MAXM];
	bool over;                      /* data() got past a limit */
	bool bad_call;                  /* an unknown id, or data() after end() */
};

static int on_entry(void *arg, const char *name, int64_t size, uint64_t *limit)
{
	struct sink *s = arg;

	if (s->entries < MAXM)
		snprintf(s->seen[s->entries], sizeof(s->seen[0]), "%s", name);
	s->entries++;
	s->cur_len = 0;
	if (s->entry_rc)
		return s->entry_rc;
	if (s->any) {
		*limit = s->cur_limit = s->any_limit;
		return 0;
	}
	for (int i = 0; i < MAXM && s->list[i]; i++) {
		if (strcmp(s->list[i], name) == 0) {
			s->size[i] = size;
			*limit = s->cur_limit = s->limit[i];
			return i;
		}
	}
	return -ENOENT;
}

static int on_data(void *arg, int id, const void *buf, size_t len)
{
	struct sink *s = arg;
	unsigned char *p;

	if (id < 0 || id >= MAXM || (!s->any && s->ends[id])) {
		s->bad_call = true;
		return -EINVAL;
	}
	if (s->data_rc)
		return s->data_rc;
	s->cur_len += len;
	if (s->cur_len > s->cur_limit)
		s->over = true;
	if (!s->any) {
		p = realloc(s->buf[id], s->len[id] + len);
		if (!p)
			return -ENOMEM;
		memcpy(p + s->len[id], buf, len);
		s->buf[id] = p;
	}
	s->len[id] += len;
	return 0;
}

static int on_end(void *arg, int id, uint64_t bytes)
{
	struct sink *s = arg;

	if (id < 0 || id >= MAXM) {
		s->bad_call = true;
		return -EINVAL;
	}
	s->ends[id]++;
	s->end_bytes[id] = bytes;
	return s->end_rc;
}

static const struct mfs_extract_ops ops = { on_entry, on_data, on_end };

static void sink_free(struct sink *s)
{
	for (int i = 0; i < MAXM; i++)
		free(s->buf[i]);
}

/* Walks `path`, from an fd whose position must stay where it was put. */
static int run(const char *path, struct sink *s, uint64_t max_entries, uint64_t max_total,
	       char *err, size_t errlen)
{
	struct mfs_extract_limits lim = { max_entries, max_total };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	CHECK(lseek(fd, 7, SEEK_SET) == 7);
	err[0] = 'x';
	err[1] = '\0';
	rc = mfs_extract_fd(fd, MFS_EXTRACT_ZIP, &lim, &ops, s, err, errlen);
	CHECK(lseek(fd, 0, SEEK_CUR) == 7);
	CHECK(!s->bad_call);
	CHECK(!s->over);
	close(fd);
	return rc;
}

static bool is_pattern(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pattern_byte(i))
			return false;
	}
	return true;
}

static void test_valid(void)
{
	const char *zip = mkzip("valid.zip",
		"st('a.txt', b'hello\\n')\n"
		"st('dir/', b'')\n"
		"df('dir/b.bin', pat(300000))\n"
		"st('empty', b'')\n"
		"df('caf\\u00e9.bin', b'utf-8 name')\n");
	struct sink s = {
		.list = { "a.txt", "dir/b.bin", "empty", "caf\xc3\xa9.bin" },
		.limit = { 6, 300000, 10, 100 },
	};
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 5, 300016, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	/* The directory is skipped, the rest come in archive order. */
	CHECK_EQ_INT(s.entries, 4);
	CHECK_STR(s.seen[0], "a.txt");
	CHECK_STR(s.seen[1], "dir/b.bin");
	CHECK_STR(s.seen[2], "empty");
	CHECK_STR(s.seen[3], "caf\xc3\xa9.bin");
	CHECK_EQ_INT(s.size[0], 6);
	CHECK_EQ_INT(s.size[1], 300000);
	CHECK_EQ_INT(s.len[0], 6);
	CHECK(s.buf[0] && memcmp(s.buf[0], "hello\n", 6) == 0);
	CHECK_EQ_INT(s.len[1], 300000);
	CHECK(s.buf[1] && is_pattern(s.buf[1], 300000));
	CHECK_EQ_INT(s.len[2], 0);
	CHECK_EQ_INT(s.len[3], 10);
	CHECK(s.buf[3] && memcmp(s.buf[3], "utf-8 name", 10) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_INT(s.ends[i], 1);
		CHECK_EQ_INT(s.end_bytes[i], s.len[i]);
	}
	sink_free(&s);
}

/* A local entry the central directory does not list: libarchive's
 * seekable reader and unzip skip it, a streaming reader would see it.
 * Refused before any byte. */
static void test_hidden_local_entry(void)
{
	const char *zip = mkzip("hidden.zip",
		"st('a', b'1')\n"
		"st('hidden', b'2')\n"
		"z.filelist = [i for i in z.filelist if i.filename != 'hidden']\n");
	struct sink s = { .list = { "a" }, .limit = { 1 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), -EPERM);
	CHECK_STR(err, "local entry 'hidden' at offset 32 is not in the central directory");
	CHECK_EQ_INT(s.entries, 0);
	sink_free(&s);
}

static void test_unlisted(void)
{
	const char *zip = mkzip("unlisted.zip", "st('a', b'1')\nst('b\\n', b'2')\n");
	struct sink s = { .list = { "a" }, .limit = { 1 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), -EPERM);
	CHECK_STR(err, "unlisted member 'b\\x0a'");
	CHECK_EQ_INT(s.ends[0], 1);
	CHECK_EQ_INT(s.entries, 2);
	sink_free(&s);
}

static void check_refused(const char *body, const char *want)
{
	const char *zip = mkzip("refused.zip", body);
	struct sink s = { .any = true, .any_limit = 100 };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), -EPERM);
	CHECK_STR(err, want);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "  (for %s)\n", body);
	CHECK_EQ_INT(s.entries, 0);
	sink_free(&s);
}

static void test_bad_names(void)
{
	check_refused("st('../x', b'1')", "member '../x' has a '..' component");
	check_refused("st('a/../b', b'1')", "member 'a/../b' has a '..' component");
	check_refused("st('a/..', b'1')", "member 'a/..' has a '..' component");
	check_refused("st('/abs', b'1')", "member '/abs' is an absolute path");
	check_refused("st('a//b', b'1')", "member 'a//b' has an empty component");
	check_refused("st('./a', b'1')", "member './a' has a '.' component");
	check_refused("st('a/./b', b'1')", "member 'a/./b' has a '.' component");
	check_refused("st('d/a\\\\b', b'1')", "member 'd/a\\\\b' has a backslash");
	check_refused("st('e\\\\f/', b'')", "member 'e\\\\f/' has a backslash");
	/* libarchive reads a name with backslashes and no '/' as made on
	 * Windows and turns them into '/' before we see it. */
	check_refused("st('c\\\\..\\\\x', b'1')", "member 'c/../x' has a '..' component");
	/* Directories are skipped, but only after the same checks. */
	check_refused("st('../d/', b'')", "member '../d/' has a '..' component");
	check_refused("st('d//', b'')", "member 'd//' has an empty component");
	check_refused("st('/', b'')", "member '/' is an absolute path");
}

/* The other side of libarchive's reading of Windows names. */
static void test_windows_name(void)
{
	const char *zip = mkzip("win.zip", "st('w\\\\x', b'1')\n");
	struct sink s = { .list = { "w/x" }, .limit = { 1 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.ends[0], 1);
	sink_free(&s);
}

static void test_long_names(void)
{
	const char *zip = mkzip("long.zip", "st('d/' + 'a' * 4093, b'1')\n");
	char name[4096], err[512];
	struct sink s = { .list = { name }, .limit = { 1 } };

	memset(name, 'a', sizeof(name));
	memcpy(name, "d/", 2);
	name[4095] = '\0';
	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.ends[0], 1);
	sink_free(&s);

	zip = mkzip("long.zip", "st('a' * 4096, b'1')\n");
	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = 1;
	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), -EPERM);
	/* The quote is cut, the reason is not. */
	CHECK_CONTAINS(err, "aaa...' has a name longer than 4095 bytes");
	CHECK(strlen(err) < 300);
	CHECK_EQ_INT(s.entries, 0);
}

static void test_symlink(void)
{
	check_refused("i = zipfile.ZipInfo('ln')\n"
		      "i.external_attr = 0o120777 << 16\n"
		      "z.writestr(i, 'model.params')\n",
		      "member 'ln' is a symbolic link");
	check_refused("i = zipfile.ZipInfo('d/ln')\n"
		      "i.external_attr = 0o120777 << 16\n"
		      "z.writestr(i, '../../etc/passwd')\n"
		      "st('a', b'1')\n",
		      "member 'd/ln' is a symbolic link");
}

/* A name the central directory repeats is refused before any byte; one
 * that only libarchive's reading makes a duplicate, during the walk. */
static void test_duplicates(void)
{
	const char *zip = mkzip("dup.zip", "st('a', b'1')\nst('b', b'2')\nst('a', b'3')\n");
	struct sink s = { .list = { "a", "b" }, .limit = { 1, 1 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), -EPERM);
	CHECK_STR(err, "central directory lists 'a' twice");
	CHECK_EQ_INT(s.entries, 0);
	sink_free(&s);

	check_refused("st('d/', b'')\nst('d/', b'')\n", "central directory lists 'd/' twice");
	check_refused("st('x/', b'')\nst('x', b'1')\n", "member 'x' appears twice");

	/* Two names for the central directory, one for libarchive. */
	zip = mkzip("dup.zip", "st('w\\\\x', b'1')\nst('w/x', b'2')\n");
	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = 1;
	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), -EPERM);
	CHECK_STR(err, "member 'w/x' appears twice");
	CHECK_EQ_INT(s.entries, 1);
}

static void test_too_many_entries(void)
{
	const char *zip = mkzip("many.zip",
		"st('d/', b'')\n"
		"for n in 'abcd': st('d/' + n, n.encode())\n");
	struct sink s = { .any = true, .any_limit = 1 };
	char err[512];

	/* The directory counts; the central directory tells before any byte. */
	CHECK_EQ_INT(run(zip, &s, 4, 100, err, sizeof(err)), -E2BIG);
	CHECK_STR(err, "more than 4 entries");
	CHECK_EQ_INT(s.entries, 0);
	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = 1;
	CHECK_EQ_INT(run(zip, &s, 5, 100, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.entries, 4);
	CHECK_EQ_INT(s.ends[0], 4);
}

/* 10,000 names, then the first one again. */
static void test_ten_thousand_entries(void)
{
	const char *zip = mkzip("10k.zip", "for i in range(10000): st('m/%05d' % i, b'x')\n");
	struct sink s = { .any = true, .any_limit = 1 };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10000, 10000, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.entries, 10000);
	CHECK_EQ_INT(s.ends[0], 10000);
	CHECK_EQ_INT(s.len[0], 10000);

	zip = mkzip("10k.zip", "for i in range(10000): st('m/%05d' % i, b'x')\nst('m/00000', b'y')\n");
	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = 1;
	CHECK_EQ_INT(run(zip, &s, 10001, 10001, err, sizeof(err)), -EPERM);
	CHECK_STR(err, "central directory lists 'm/00000' twice");
	CHECK_EQ_INT(s.entries, 0);
}

static void test_member_limit(void)
{
	const char *zip = mkzip("big.zip", "st('s', pat(100000))\ndf('d', pat(100000))\n");
	struct sink s = { .list = { "s", "d" }, .limit = { 99999, 100000 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 1000000, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "member 's' is larger than 99999 bytes");
	CHECK(s.len[0] <= 99999);
	CHECK_EQ_INT(s.ends[0], 0);
	sink_free(&s);

	memset(&s, 0, sizeof(s));
	s.list[0] = "s";
	s.list[1] = "d";
	s.limit[0] = 100000;
	s.limit[1] = 99999;
	CHECK_EQ_INT(run(zip, &s, 10, 1000000, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "member 'd' is larger than 99999 bytes");
	CHECK_EQ_INT(s.ends[0], 1);
	CHECK_EQ_INT(s.ends[1], 0);
	sink_free(&s);

	/* A larger limit: fewer bytes are the caller's to judge. */
	memset(&s, 0, sizeof(s));
	s.list[0] = "s";
	s.list[1] = "d";
	s.limit[0] = 100000;
	s.limit[1] = 100001;
	CHECK_EQ_INT(run(zip, &s, 10, 1000000, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.end_bytes[1], 100000);
	CHECK(s.buf[1] && is_pattern(s.buf[1], 100000));
	sink_free(&s);
}

static void test_total_limit(void)
{
	const char *zip = mkzip("total.zip", "st('a', pat(60000))\ndf('b', pat(60000))\n");
	struct sink s = { .any = true, .any_limit = 60000 };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 119999, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "archive expands to more than 119999 bytes");
	CHECK(s.len[0] <= 119999);
	CHECK_EQ_INT(s.ends[0], 1);
	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = 60000;
	CHECK_EQ_INT(run(zip, &s, 10, 120000, err, sizeof(err)), 0);
	CHECK_EQ_INT(s.len[0], 120000);
}

static void test_bomb(void)
{
	const char *zip = mkzip("bomb.zip", "df('zeros', bytes(1 << 20))\n");
	struct sink s = { .list = { "zeros" }, .limit = { 4096 } };
	char err[512];

	CHECK(file_size(zip) > 0 && file_size(zip) < 4096);
	CHECK_EQ_INT(run(zip, &s, 10, 1ull << 40, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "member 'zeros' is larger than 4096 bytes");
	CHECK(s.len[0] <= 4096);
	sink_free(&s);

	/* Members each within their limit, together over the total. */
	zip = mkzip("bomb.zip", "for n in 'abc': df(n, bytes(1 << 20))\n");
	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = MIB;
	CHECK_EQ_INT(run(zip, &s, 10, 5 * MIB / 2, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "archive expands to more than 2621440 bytes");
	CHECK(s.len[0] <= 5 * MIB / 2);
	CHECK_EQ_INT(s.ends[0], 2);
}

static void check_corrupt(const char *body, const char *want)
{
	const char *zip = mkzip("corrupt.zip", body);
	struct sink s = { .any = true, .any_limit = MIB };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 10 * MIB, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, want);
	if (!strstr(err, want))
		fprintf(stderr, "  (for %s)\n", body);
}

static void test_corrupt(void)
{
	const char *zip = mkzip("crc.zip",
		"st('ok', b'fine')\n"
		"st('s', b'payload ' * 100)\n"
		"def f(d): d[d.find(b'payload') + 300] ^= 1\n"
		"patch(f)\n");
	struct sink s = { .list = { "ok", "s" }, .limit = { 4, 800 } };
	char err[512];

	/* A stored member: only its CRC tells; its bytes were handed out, and
	 * the walk fails without end(). */
	CHECK_EQ_INT(run(zip, &s, 10, 1000, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "zip: member 's': ");
	CHECK_CONTAINS(err, "CRC");
	CHECK_EQ_INT(s.ends[0], 1);
	CHECK_EQ_INT(s.ends[1], 0);
	sink_free(&s);

	/* A deflated member, bytes flipped in its compressed data. */
	check_corrupt("df('d', pat(200000))\n"
		      "o = z.getinfo('d').header_offset + 30 + 1\n"
		      "n = z.getinfo('d').compress_size\n"
		      "def f(d):\n"
		      "    for k in range(n // 3, n // 3 + 8): d[o + k] ^= 0x55\n"
		      "patch(f)\n", "zip: member 'd': ");
	/* The CRC in both headers changed, the data not. */
	check_corrupt("df('d', pat(1000))\n"
		      "o = z.getinfo('d').header_offset\n"
		      "def f(d):\n"
		      "    d[o + 14] ^= 1\n"
		      "    c = d.find(b'PK\\x01\\x02')\n"
		      "    d[c + 16] ^= 1\n"
		      "patch(f)\n", "CRC");
	/* The declared size in both headers lies. */
	check_corrupt("st('s', pat(1000))\n"
		      "o = z.getinfo('s').header_offset\n"
		      "def f(d):\n"
		      "    d[o + 22] ^= 1\n"
		      "    c = d.find(b'PK\\x01\\x02')\n"
		      "    d[c + 24] ^= 1\n"
		      "patch(f)\n", "zip: ");
}

/* Only stored and deflated members reach libarchive: an unknown method,
 * or a known one whose decoder takes its memory bound from the archive
 * (LZMA), is refused before any entry. */
static void test_compression_methods(void)
{
	static const char *const bodies[] = {
		"st('s', pat(1000))\n"
		"o = z.getinfo('s').header_offset\n"
		"def f(d):\n"
		"    d[o + 8] = 77\n"
		"    d[d.find(b'PK\\x01\\x02') + 10] = 77\n"
		"patch(f)\n",
		"z.writestr('s', pat(1000), zipfile.ZIP_LZMA)\n",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const char *zip = mkzip("method.zip", bodies[i]);
		struct sink s = { .any = true, .any_limit = MIB };
		char err[512];

		CHECK_EQ_INT(run(zip, &s, 10, 10 * MIB, err, sizeof(err)), -EPERM);
		CHECK_CONTAINS(err, "entry 's' uses compression method ");
		CHECK_EQ_INT(s.entries, 0);
		sink_free(&s);
	}
}

static void test_truncated(void)
{
	static const char *cuts[] = {
		"d[:] = d[:len(d) - 1]",           /* end record cut */
		"d[:] = d[:len(d) - 22]",          /* end record gone */
		"d[:] = d[:len(d) - 40]",          /* central directory cut */
		"d[:] = d[:len(d) // 2]",          /* data cut */
		"d[:] = d[:30]",                   /* one local header */
		"d[:] = d[:100] + d[200:]",        /* a hole in the data */
		"d[:] = d[:len(d) - 22] + d[-22:-2]", /* end record short */
	};
	char body[512], err[512];

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct sink s = { .any = true, .any_limit = MIB };
		const char *zip;

		snprintf(body, sizeof(body),
			 "st('a', pat(3000))\ndf('b', pat(3000))\nst('c', pat(3000))\n"
			 "def f(d): %s\npatch(f)\n", cuts[i]);
		zip = mkzip("trunc.zip", body);
		CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), -EINVAL);
		CHECK(strncmp(err, "zip: ", 5) == 0 || strncmp(err, "not a zip archive: ", 19) == 0);
		if (s.ends[0] == 3)
			fprintf(stderr, "  cut %zu: every member ended\n", i);
		CHECK(s.ends[0] < 3);
	}
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void check_not_zip(const char *path)
{
	struct sink s = { .any = true, .any_limit = MIB };
	char err[512];

	CHECK_EQ_INT(run(path, &s, 10, MIB, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "not a zip archive: Unrecognized archive format");
	CHECK_EQ_INT(s.entries, 0);
}

static void test_not_zip(void)
{
	unsigned char junk[8192];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 24);
	}
	write_file(unit_at("junk"), junk, sizeof(junk));
	check_not_zip(unit_at("junk"));
	memcpy(junk, "PK\3\4", 4);
	write_file(unit_at("junk"), junk, sizeof(junk));
	check_not_zip(unit_at("junk"));
	write_file(unit_at("empty"), "", 0);
	check_not_zip(unit_at("empty"));
	check_not_zip(mkzip("x.tar",
		"z.close()\n"
		"t = tarfile.open(p, 'w')\n"
		"i = tarfile.TarInfo('a'); i.size = 3\n"
		"import io; t.addfile(i, io.BytesIO(b'abc')); t.close()\n"));
	check_not_zip(mkzip("x.gz", "z.close()\nopen(p, 'wb').write(gzip.compress(b'abc'))\n"));
	/* A zip inside gzip is still not a zip: no filters but none. */
	check_not_zip(mkzip("x.zip.gz",
		"st('a', b'1')\n"
		"z.close()\n"
		"open(p, 'wb').write(gzip.compress(open(p, 'rb').read()))\n"));
}

static void test_bad_fd(void)
{
	struct mfs_extract_limits lim = { 10, MIB };
	struct sink s = { .any = true, .any_limit = MIB };
	char err[512];
	int fds[2];

	CHECK(pipe(fds) == 0);
	CHECK_EQ_INT(mfs_extract_fd(fds[0], MFS_EXTRACT_ZIP, &lim, &ops, &s, err, sizeof(err)),
		     -EINVAL);
	CHECK_STR(err, "the archive is not a regular file");
	close(fds[0]);
	close(fds[1]);
	CHECK_EQ_INT(mfs_extract_fd(fds[0], MFS_EXTRACT_ZIP, &lim, &ops, &s, err, sizeof(err)),
		     -EBADF);
	CHECK_CONTAINS(err, "cannot stat the archive: ");
	CHECK_EQ_INT(s.entries, 0);
}

static void test_callback_errors(void)
{
	const char *zip = mkzip("cb.zip", "st('a', b'abc')\nst('b', b'def')\n");
	struct sink s = { .any = true, .any_limit = 10, .data_rc = -ENOSPC };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), -ENOSPC);
	CHECK_STR(err, "member 'a': No space left on device");
	CHECK_EQ_INT(s.ends[0], 0);
	CHECK_EQ_INT(s.entries, 1);

	memset(&s, 0, sizeof(s));
	s.any = true;
	s.entry_rc = -EIO;
	CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), -EIO);
	CHECK_STR(err, "member 'a': Input/output error");
	CHECK_EQ_INT(s.entries, 1);

	memset(&s, 0, sizeof(s));
	s.any = true;
	s.any_limit = 10;
	s.end_rc = -EBADMSG;
	CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), -EBADMSG);
	CHECK_EQ_INT(s.ends[0], 1);
	CHECK_EQ_INT(s.entries, 1);
}

/* Python cannot encrypt: set the flag in both headers of 'b'. */
static void test_encrypted(void)
{
	const char *zip = mkzip("enc.zip",
		"st('a', b'plain')\n"
		"df('b', b'secret' * 10)\n"
		"o = z.getinfo('b').header_offset\n"
		"def f(d):\n"
		"    d[o + 6] |= 1\n"
		"    c = d.find(b'PK\\x01\\x02', d.find(b'PK\\x01\\x02') + 4)\n"
		"    d[c + 8] |= 1\n"
		"patch(f)\n");
	struct sink s = { .any = true, .any_limit = 100 };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), -EPERM);
	CHECK_STR(err, "member 'b' is encrypted");
	CHECK_EQ_INT(s.entries, 1);
	CHECK_EQ_INT(s.len[0], 5);
}

/* What unzip and Python read otherwise than libarchive's seekable reader
 * once did: each must fail with `want` before any byte is handed out,
 * even to a caller that takes every name. */
static void check_disagreement(const char *body, int want_rc, const char *want)
{
	const char *zip = mkzip("disagree.zip", body);
	struct sink s = { .any = true, .any_limit = MIB };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 10 * MIB, err, sizeof(err)), want_rc);
	CHECK_STR(err, want);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "  (for %s)\n", body);
	CHECK_EQ_INT(s.entries, 0);
	CHECK_EQ_INT(s.len[0], 0);
}

/* The central directory lists m.params and n.params at one local header
 * (libarchive read it once, as m.params; unzip extracts both). */
static void test_cd_shared_local_header(void)
{
	check_disagreement("st('m.params', pat(600))\nst('n.params', pat(600))\n"
			   "z.getinfo('n.params').header_offset = 0\n", -EPERM,
			   "entries 'm.params' and 'n.params' overlap");
}

/* m.params twice in the central directory: at one local header (libarchive
 * read it once), and at two (Python keeps the last). */
static void test_cd_duplicate_name(void)
{
	check_disagreement("st('m.params', pat(600))\n"
			   "def f(d):\n"
			   "    q = g32(d, eocd(d) + 16)\n"
			   "    d[q:q] = d[q:eocd(d)]\n"
			   "    struct.pack_into('<HH', d, eocd(d) + 8, 2, 2)\n"
			   "    u32(d, eocd(d) + 12, 2 * g32(d, eocd(d) + 12))\n"
			   "patch(f)\n", -EPERM, "central directory lists 'm.params' twice");
	check_disagreement("st('m.params', pat(600))\nst('m.params', b'evil')\n", -EPERM,
			   "central directory lists 'm.params' twice");
}

/* The central directory says ../m.par where the local header says
 * m.params (libarchive took the local name; unzip the other). */
static void test_cd_name_mismatch(void)
{
	check_disagreement("st('m.params', pat(600))\n"
			   "def f(d): d[cdh(d, 0) + 46:cdh(d, 0) + 54] = b'../m.par'\n"
			   "patch(f)\n", -EPERM,
			   "central directory names '../m.par' but its local header names 'm.params'");
}

static void test_overlapping_entries(void)
{
	/* 'b' also starts inside the data of 'a', where a copy of its local
	 * entry sits. */
	check_disagreement("def zb(): return zipfile.ZipInfo('b', (2020, 1, 1, 0, 0, 0))\n"
			   "z.writestr(zb(), pat(100))\n"
			   "z.close()\n"
			   "inner = open(p, 'rb').read()[:30 + 1 + 100]\n"
			   "z = zipfile.ZipFile(p, 'w')\n"
			   "st('a', inner + b'tail')\n"
			   "z.writestr(zb(), pat(100))\n"
			   "def f(d): u32(d, cdh(d, 1) + 42, 30 + 1)\n"
			   "patch(f)\n", -EPERM, "entries 'a' and 'b' overlap");
}

static void test_local_header_outside(void)
{
	check_disagreement("st('a', b'1')\nst('b', b'2')\n"
			   "def f(d): u32(d, cdh(d, 1) + 42, 0x7fff0000)\n"
			   "patch(f)\n", -EINVAL,
			   "zip: entry 'b' has its local header outside the archive");
}

static void test_span_into_directory(void)
{
	check_disagreement("st('a', b'1')\nst('b', pat(100))\n"
			   "def f(d):\n"
			   "    for o in (lfh(d, 1) + 18, lfh(d, 1) + 22, cdh(d, 1) + 20, cdh(d, 1) + 24):\n"
			   "        u32(d, o, 110)\n"
			   "patch(f)\n", -EPERM, "entry 'b' runs into the central directory");
}

static void test_end_record_count(void)
{
	check_disagreement("st('a', b'1')\nst('b', b'2')\nst('c', b'3')\n"
			   "def f(d): struct.pack_into('<HH', d, eocd(d) + 8, 2, 2)\n"
			   "patch(f)\n", -EPERM,
			   "the end record counts 2 entries but the central directory holds 3");
}

/* The order of the central directory is not the walk's: libarchive reads
 * by offset, and so does the check. */
static void test_directory_order(void)
{
	const char *zip = mkzip("order.zip",
		"st('a', b'1')\nst('b', b'22')\nst('c', b'333')\nz.filelist.reverse()\n");
	struct sink s = { .list = { "a", "b", "c" }, .limit = { 1, 2, 3 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, 100, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(s.seen[0], "a");
	CHECK_STR(s.seen[2], "c");
	CHECK(s.buf[2] && memcmp(s.buf[2], "333", 3) == 0);
	sink_free(&s);
}

/* A zip64 member (Python's force_zip64), zip64 end records and an offset
 * in a zip64 block: every byte comes through. */
static void test_zip64(void)
{
	const char *zip = mkzip("z64.zip",
		"with z.open('m.params', 'w', force_zip64=True) as m: m.write(pat(70000))\n"
		"df('n.params', pat(3000))\n"
		"def f(d):\n"
		"    cd64(d, 1)\n"
		"    z64end(d)\n"
		"patch(f)\n");
	struct sink s = { .list = { "m.params", "n.params" }, .limit = { 70000, 3000 } };
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_EQ_INT(s.len[0], 70000);
	CHECK(s.buf[0] && is_pattern(s.buf[0], 70000));
	CHECK_EQ_INT(s.len[1], 3000);
	CHECK(s.buf[1] && is_pattern(s.buf[1], 3000));
	CHECK_EQ_INT(s.ends[0], 1);
	CHECK_EQ_INT(s.ends[1], 1);
	sink_free(&s);
}

/* Members streamed to a file Python cannot seek carry data descriptors
 * (one after a zip64 local header): every byte comes through. */
static void test_data_descriptors(void)
{
	const char *zip = mkzip("dd.zip",
		"streamed()\n"
		"df('a', pat(200000))\n"
		"st('dir/', b'')\n"
		"st('dir/b', pat(1000))\n"
		"with z.open('c', 'w', force_zip64=True) as m: m.write(pat(5000))\n"
		"st('empty', b'')\n");
	struct sink s = {
		.list = { "a", "dir/b", "c", "empty" },
		.limit = { 200000, 1000, 5000, 0 },
	};
	char err[512];

	CHECK_EQ_INT(run(zip, &s, 10, MIB, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_EQ_INT(s.entries, 4);
	CHECK_EQ_INT(s.len[0], 200000);
	CHECK(s.buf[0] && is_pattern(s.buf[0], 200000));
	CHECK_EQ_INT(s.len[1], 1000);
	CHECK(s.buf[1] && is_pattern(s.buf[1], 1000));
	CHECK_EQ_INT(s.len[2], 5000);
	CHECK(s.buf[2] && is_pattern(s.buf[2], 5000));
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(s.ends[i], 1);
	sink_free(&s);
}

int main(void)
{
	unit_tmp_make("extract");
	RUN(test_valid);
	RUN(test_hidden_local_entry);
	RUN(test_unlisted);
	RUN(test_bad_names);
	RUN(test_windows_name);
	RUN(test_long_names);
	RUN(test_symlink);
	RUN(test_duplicates);
	RUN(test_too_many_entries);
	RUN(test_ten_thousand_entries);
	RUN(test_member_limit);
	RUN(test_total_limit);
	RUN(test_bomb);
	RUN(test_corrupt);
	RUN(test_compression_methods);
	RUN(test_truncated);
	RUN(test_not_zip);
	RUN(test_bad_fd);
	RUN(test_callback_errors);
	RUN(test_encrypted);
	RUN(test_cd_shared_local_header);
	RUN(test_cd_duplicate_name);
	RUN(test_cd_name_mismatch);
	RUN(test_overlapping_entries);
	RUN(test_local_header_outside);
	RUN(test_span_into_directory);
	RUN(test_end_record_count);
	RUN(test_directory_order);
	RUN(test_zip64);
	RUN(test_data_descriptors);
	unit_tmp_remove();
	return unit_done();
}
