/* Unit tests for fs/zipdir.c: real zips made by Python's zipfile, patched
 * byte by byte into every way the central directory and the local headers
 * can disagree; the end record and zip64 rules; good archives (data
 * descriptors, zip64, comments, a directory in another order) with the
 * entries they list. */
#include "zipdir.h"
#include "unit.h"
#include "zipmk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Reads `path` into `zd` from an fd whose position must stay put. */
static int read_zip(const char *path, struct mfs_zipdir *zd, uint64_t max, char *err,
		    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	CHECK(lseek(fd, 5, SEEK_SET) == 5);
	err[0] = 'x';
	err[1] = '\0';
	rc = mfs_zipdir_read(zd, fd, max, err, errlen);
	CHECK(lseek(fd, 0, SEEK_CUR) == 5);
	close(fd);
	return rc;
}

/* `body` must be refused with `rc` and a message containing `want`. */
static void check_bad(const char *body, int want_rc, const char *want)
{
	const char *zip = mkzip("bad.zip", body);
	struct mfs_zipdir zd;
	char err[512];
	int rc = read_zip(zip, &zd, 100, err, sizeof(err));

	CHECK_EQ_INT(rc, want_rc);
	CHECK_CONTAINS(err, want);
	if (rc != want_rc || !strstr(err, want))
		fprintf(stderr, "  (got '%s' for:\n%s)\n", err, body);
	mfs_zipdir_release(&zd);
	CHECK(zd.entries == NULL && zd.names == NULL && zd.count == 0);
}

/* `body` must read, with `n` entries that tile the bytes before the
 * directory; returns the entries for more checks (release them). */
static void check_good(const char *body, size_t n, struct mfs_zipdir *zd)
{
	const char *zip = mkzip("good.zip", body);
	char err[512];
	int rc = read_zip(zip, zd, 100, err, sizeof(err));
	uint64_t next = 0;

	CHECK_EQ_INT(rc, 0);
	CHECK_STR(err, "");
	if (rc != 0)
		fprintf(stderr, "  (for:\n%s)\n", body);
	CHECK_EQ_INT(zd->count, n);
	for (size_t i = 0; i < zd->count; i++) {
		CHECK_EQ_INT(zd->entries[i].offset, next);
		CHECK(zd->entries[i].end > zd->entries[i].offset);
		CHECK_EQ_INT(strlen(zd->entries[i].name), zd->entries[i].name_len);
		next = zd->entries[i].end;
	}
	CHECK_EQ_INT(next, zd->cd_offset);
	CHECK(zd->cd_offset + zd->cd_size <= (uint64_t)file_size(zip));
}

static void test_good(void)
{
	struct mfs_zipdir zd;

	check_good("st('a.txt', b'hello\\n')\n"
		   "st('dir/', b'')\n"
		   "df('dir/b.bin', bytes(range(256)) * 100)\n"
		   "st('empty', b'')\n"
		   "df('caf\\u00e9', b'utf-8 name')\n", 5, &zd);
	CHECK_STR(zd.entries[0].name, "a.txt");
	CHECK_STR(zd.entries[1].name, "dir/");
	CHECK_STR(zd.entries[2].name, "dir/b.bin");
	CHECK_STR(zd.entries[3].name, "empty");
	CHECK_STR(zd.entries[4].name, "caf\xc3\xa9");
	CHECK_EQ_INT(zd.entries[0].usize, 6);
	CHECK_EQ_INT(zd.entries[0].csize, 6);
	CHECK_EQ_INT(zd.entries[0].crc, 0x363a3020);
	CHECK_EQ_INT(zd.entries[0].method, 0);
	CHECK_EQ_INT(zd.entries[0].end, 30 + 5 + 6);
	CHECK_EQ_INT(zd.entries[2].method, 8);
	CHECK_EQ_INT(zd.entries[2].usize, 25600);
	CHECK(zd.entries[2].csize < 25600);
	CHECK_EQ_INT(zd.entries[4].flags, 0x800);
	for (size_t i = 0; i < zd.count; i++)
		CHECK_EQ_INT(zd.entries[i].index, i);
	CHECK(!zd.zip64);
	mfs_zipdir_release(&zd);
	mfs_zipdir_release(&zd);
}

/* The entries come by offset whatever the directory's order. */
static void test_directory_order(void)
{
	struct mfs_zipdir zd;

	check_good("st('a', b'1')\nst('b', b'22')\nst('c', b'333')\nz.filelist.reverse()\n", 3, &zd);
	CHECK_STR(zd.entries[0].name, "a");
	CHECK_EQ_INT(zd.entries[0].index, 2);
	CHECK_STR(zd.entries[2].name, "c");
	CHECK_EQ_INT(zd.entries[2].index, 0);
	mfs_zipdir_release(&zd);
}

static void test_empty_archive(void)
{
	struct mfs_zipdir zd;

	check_good("", 0, &zd);
	CHECK_EQ_INT(zd.cd_offset, 0);
	mfs_zipdir_release(&zd);
}

/* Python streams to a file it cannot seek with data descriptors (flag
 * bit 3, signature, 4- or 8-byte sizes after a zip64 local header). */
static void test_data_descriptors(void)
{
	struct mfs_zipdir zd;

	check_good("streamed()\n"
		   "df('a', b'x' * 1000)\n"
		   "st('b', b'hello')\n"
		   "with z.open(zi('c'), 'w', force_zip64=True) as m: m.write(b'y' * 5000)\n"
		   "st('d', b'')\n", 4, &zd);
	for (size_t i = 0; i < zd.count; i++)
		CHECK(zd.entries[i].flags & 8);
	/* 16-byte descriptors, 24 after the zip64 local header of 'c' */
	CHECK_EQ_INT(zd.entries[1].end - zd.entries[1].offset, 30 + 1 + 5 + 16);
	CHECK_EQ_INT(zd.entries[2].end - zd.entries[2].offset,
		     30 + 1 + 20 + zd.entries[2].csize + 24);
	mfs_zipdir_release(&zd);

	/* A descriptor without its (optional) signature. */
	check_good("streamed()\n"
		   "st('a', b'abc')\n"
		   "def f(d):\n"
		   "    o = 30 + 1 + 3\n"
		   "    del d[o:o + 4]\n"
		   "    u32(d, eocd(d) + 16, g32(d, eocd(d) + 16) - 4)\n"
		   "patch(f)\n", 1, &zd);
	CHECK_EQ_INT(zd.entries[0].end, 30 + 1 + 3 + 12);
	mfs_zipdir_release(&zd);

	check_bad("streamed()\n"
		  "st('a', b'abc')\n"
		  "st('b', b'def')\n"
		  "def f(d): d[30 + 1 + 3 + 4] ^= 1\n"
		  "patch(f)\n", -EPERM,
		  "entry 'a' has a data descriptor that differs from the central directory");
	check_bad("streamed()\n"
		  "st('a', b'abc')\n"
		  "def f(d): d[30 + 1 + 3 + 8] ^= 1\n"
		  "patch(f)\n", -EPERM,
		  "entry 'a' has a data descriptor that differs from the central directory");
	/* No room for the descriptor before the directory. */
	check_bad("streamed()\n"
		  "st('a', b'abc')\n"
		  "def f(d):\n"
		  "    for q in (cdh(d, 0) + 20, cdh(d, 0) + 24): u32(d, q, 3 + 8)\n"
		  "patch(f)\n", -EPERM, "entry 'a' runs into the central directory");
	/* A local header that keeps its values: they must be the directory's. */
	check_bad("streamed()\n"
		  "st('a', b'abc')\n"
		  "def f(d): u32(d, 14, 1)\n"
		  "patch(f)\n", -EPERM, "entry 'a' has CRC ");
}

static void test_zip64(void)
{
	struct mfs_zipdir zd;

	/* A zip64 local header: placeholders, the sizes in its zip64 block. */
	check_good("with z.open(zi('m.params'), 'w', force_zip64=True) as m: m.write(b'z' * 3000)\n"
		   "st('n', b'q')\n", 2, &zd);
	CHECK_EQ_INT(zd.entries[0].usize, 3000);
	CHECK(!zd.zip64);
	mfs_zipdir_release(&zd);

	/* Zip64 end records, and offsets in zip64 blocks. */
	check_good("st('a', b'1' * 100)\ndf('b', b'2' * 50)\n"
		   "def f(d):\n"
		   "    cd64(d, 0)\n"
		   "    cd64(d, 1)\n"
		   "    z64end(d)\n"
		   "patch(f)\n", 2, &zd);
	CHECK(zd.zip64);
	CHECK_EQ_INT(zd.entries[1].offset, 30 + 1 + 100);
	mfs_zipdir_release(&zd);

	/* The locator must point right before itself (Python looks there). */
	check_bad("st('a', b'1')\n"
		  "def f(d):\n"
		  "    z64end(d)\n"
		  "    struct.pack_into('<Q', d, eocd(d) - 20 + 8, 0)\n"
		  "patch(f)\n", -EPERM, "the zip64 locator points at 0, not at 79");
	check_bad("st('a', b'1')\n"
		  "def f(d):\n"
		  "    z64end(d)\n"
		  "    u32(d, eocd(d) - 20 + 16, 0)\n"
		  "patch(f)\n", -EINVAL, "zip: a zip64 archive on several disks");
	check_bad("st('a', b'1')\n"
		  "def f(d):\n"
		  "    z64end(d)\n"
		  "    d[eocd(d) - 20 - 56 + 4] = 45\n"
		  "patch(f)\n", -EINVAL, "zip: no zip64 end record where the locator points");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d):\n"
		  "    z64end(d)\n"
		  "    u16(d, eocd(d) + 10, 1)\n"
		  "    u16(d, eocd(d) + 8, 1)\n"
		  "patch(f)\n", -EPERM, "the end record and the zip64 end record disagree");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d):\n"
		  "    z64end(d)\n"
		  "    o = eocd(d) - 20 - 56\n"
		  "    struct.pack_into('<QQ', d, o + 24, 1, 1)\n"
		  "patch(f)\n", -EPERM, "the end record counts 1 entries but the central directory "
		  "holds 2");
	/* A placeholder with no zip64 block to fill it. */
	check_bad("st('a', b'1')\n"
		  "def f(d): u32(d, cdh(d, 0) + 20, 0xffffffff)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'a' lacks its zip64 fields");
	/* The local header: one size placeholder alone, or sizes that lie. */
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d):\n"
		  "    u32(d, 18, 0xffffffff)\n"
		  "    u32(d, 22, 30)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'm' lacks its zip64 sizes in its local header");
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d): struct.pack_into('<Q', d, 30 + 1 + 4, 31)\n"
		  "patch(f)\n", -EPERM, "entry 'm' has size 30 in the central directory but not in "
		  "its local header");
	/* Literal sizes beside a zip64 block that says otherwise: readers
	 * differ on which they believe. */
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d):\n"
		  "    u32(d, 18, 30); u32(d, 22, 30)\n"
		  "    struct.pack_into('<Q', d, 30 + 1 + 4, 31)\n"
		  "patch(f)\n", -EPERM, "entry 'm' has size 30 in the central directory but not in "
		  "its local header");
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d):\n"
		  "    u32(d, 18, 30); u32(d, 22, 30)\n"
		  "    struct.pack_into('<Q', d, 30 + 1 + 12, 31)\n"
		  "patch(f)\n", -EPERM, "entry 'm' has compressed size 30 in the central directory "
		  "but not in its local header");
	check_good("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		   "def f(d): u32(d, 18, 30); u32(d, 22, 30)\n"
		   "patch(f)\n", 1, &zd);
	mfs_zipdir_release(&zd);
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d): struct.pack_into('<Q', d, 30 + 1 + 12, 29)\n"
		  "patch(f)\n", -EPERM, "entry 'm' has compressed size 30 in the central directory "
		  "but not in its local header");
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d): u16(d, 30 + 1 + 2, 8)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'm' has a malformed zip64 block in its local "
		  "header");
	check_bad("with z.open(zi('m'), 'w', force_zip64=True) as m: m.write(b'z' * 30)\n"
		  "def f(d): u16(d, 30 + 1 + 2, 17)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'm' has a malformed extra field in its local "
		  "header");
}

static void test_end_record(void)
{
	struct mfs_zipdir zd;
	char body[256];

	check_good("st('a', b'1')\nz.comment = b'a comment'\n", 1, &zd);
	mfs_zipdir_release(&zd);
	snprintf(body, sizeof(body), "st('a', b'1')\nz.comment = b'c' * %u\n",
		 MFS_ZIPDIR_COMMENT_MAX);
	check_good(body, 1, &zd);
	mfs_zipdir_release(&zd);
	snprintf(body, sizeof(body), "st('a', b'1')\nz.comment = b'c' * %u\n",
		 MFS_ZIPDIR_COMMENT_MAX + 1);
	check_bad(body, -EINVAL, "zip: an archive comment longer than 16361 bytes");
	/* A stored member holding a zip is no second end record. */
	check_good("st('inner.zip', b'PK\\x05\\x06' + bytes(18))\nst('b', b'2')\n", 2, &zd);
	mfs_zipdir_release(&zd);

	check_bad("z.close()\nopen(p, 'wb').write(b'not a zip at all' * 100)\n", -EINVAL,
		  "zip: no end of central directory record");
	check_bad("z.close()\nopen(p, 'wb').write(b'PK\\x05\\x06')\n", -EINVAL,
		  "zip: no end of central directory record");
	/* Bytes after the record that its comment length does not cover. */
	check_bad("st('a', b'1')\npatch(lambda d: d.extend(b'junk'))\n", -EINVAL,
		  "does not end the file");
	/* A comment holding another end record signature: libarchive and
	 * Python would take that one. */
	check_bad("st('a', b'1')\nz.comment = b'x PK\\x05\\x06 y'\n", -EPERM,
		  "an end of central directory signature at ");
	/* A comment that is a whole end record of its own. */
	check_bad("st('a', b'1')\n"
		  "def f(d): d.extend(d[eocd(d):]); u16(d, len(d) - 44 + 20, 22)\n"
		  "patch(f)\n", -EPERM, "two end of central directory records, at ");
	check_bad("st('a', b'1')\n"
		  "def f(d): u16(d, eocd(d) + 4, 1)\n"
		  "patch(f)\n", -EINVAL, "zip: an archive on several disks");
	check_bad("st('a', b'1')\nst('b', b'1')\n"
		  "def f(d): u16(d, eocd(d) + 8, 1)\n"
		  "patch(f)\n", -EINVAL, "zip: an archive on several disks");
}

static void test_counts(void)
{
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d): u16(d, eocd(d) + 8, 1); u16(d, eocd(d) + 10, 1)\n"
		  "patch(f)\n", -EPERM,
		  "the end record counts 1 entries but the central directory holds 2");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d): u16(d, eocd(d) + 8, 3); u16(d, eocd(d) + 10, 3)\n"
		  "patch(f)\n", -EPERM,
		  "the end record counts 3 entries but the central directory holds 2");
	check_bad("for i in range(101): st('m%d' % i, b'x')\n", -E2BIG, "more than 100 entries");
	/* An end record that lies low does not get past the limit. */
	check_bad("for i in range(101): st('m%d' % i, b'x')\n"
		  "def f(d): u16(d, eocd(d) + 8, 1); u16(d, eocd(d) + 10, 1)\n"
		  "patch(f)\n", -E2BIG, "more than 100 entries");
}

static void test_directory_bounds(void)
{
	/* Bytes before the archive (`cat stub a.zip`): offsets are off. */
	check_bad("st('a', b'1')\n"
		  "z.close()\n"
		  "d = open(p, 'rb').read()\n"
		  "open(p, 'wb').write(b'#!/bin/sh\\n' * 10 + d)\n", -EINVAL,
		  "zip: the central directory is at 132, but the end record says 32");
	/* ... or right (zip -A): the stub is owned by no entry. */
	check_bad("z.close()\n"
		  "f = open(p, 'wb')\n"
		  "f.write(b'#!/bin/sh\\n' * 10)\n"
		  "z = zipfile.ZipFile(f, 'w')\n"
		  "st('a', b'1')\n", -EPERM,
		  "100 bytes at offset 0 are in no entry of the central directory");
	check_bad("st('a', b'1')\n"
		  "def f(d): u32(d, eocd(d) + 12, 10000)\n"
		  "patch(f)\n", -EINVAL, "zip: the central directory is larger than the archive");
	check_bad("st('a', b'1')\n"
		  "def f(d): d[cdh(d, 0) + 3] = 9\n"
		  "patch(f)\n", -EINVAL, "zip: no central directory entry at 32");
	check_bad("st('a', b'1')\n"
		  "def f(d): u16(d, cdh(d, 0) + 32, 100)\n"
		  "patch(f)\n", -EINVAL, "zip: the central directory entry at 32 runs past the "
		  "directory");
	check_bad("st('a', b'1')\n"
		  "def f(d): u16(d, cdh(d, 0) + 34, 1)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'a' is on another disk");
}

/* The three archives unzip and Python read otherwise than libarchive. */
static void test_hostile(void)
{
	/* Two directory entries, one local header. */
	check_bad("st('m.params', b'm' * 600)\nst('n.params', b'm' * 600)\n"
		  "z.getinfo('n.params').header_offset = 0\n", -EPERM,
		  "entries 'm.params' and 'n.params' overlap");
	/* A local entry the directory does not list. */
	check_bad("st('m.params', b'm' * 600)\nst('n.params', b'evil')\n"
		  "z.filelist = [i for i in z.filelist if i.filename != 'n.params']\n", -EPERM,
		  "local entry 'n.params' at offset 638 is not in the central directory");
	/* One name twice: at one local header, and at two. */
	check_bad("st('m.params', b'm' * 600)\nst('n.params', b'evil')\n"
		  "def f(d):\n"
		  "    q = cdh(d, 1)\n"
		  "    d[q + 46:q + 54] = b'm.params'\n"
		  "    u32(d, q + 42, 0)\n"
		  "patch(f)\n", -EPERM, "central directory lists 'm.params' twice");
	check_bad("st('m.params', b'm' * 600)\nst('m.params', b'evil')\n", -EPERM,
		  "central directory lists 'm.params' twice");
	/* A directory name over another local name. */
	check_bad("st('m.params', b'm' * 600)\n"
		  "def f(d): d[cdh(d, 0) + 46:cdh(d, 0) + 54] = b'../m.par'\n"
		  "patch(f)\n", -EPERM,
		  "central directory names '../m.par' but its local header names 'm.params'");
	check_bad("st('a/b', b'1')\n"
		  "def f(d): d[30 + 1] = 0x5c\n"
		  "patch(f)\n", -EPERM,
		  "central directory names 'a/b' but its local header names 'a\\\\b'");
}

/* Only stored and deflated members: an LZMA header may ask for a 4 GiB
 * dictionary, and libarchive lets it. */
static void test_compression_methods(void)
{
	check_bad("z.writestr(zi('m.params'), b'x' * 1000, zipfile.ZIP_LZMA)\n", -EPERM,
		  "entry 'm.params' uses compression method 14 (only 0, stored, and 8, deflate");
	check_bad("st('a', b'1')\nz.writestr(zi('b'), b'y' * 100, zipfile.ZIP_BZIP2)\n", -EPERM,
		  "entry 'b' uses compression method 12");
	/* A method number patched in both headers alike is still refused. */
	check_bad("st('a', b'hello')\n"
		  "def f(d):\n"
		  "    u16(d, cdh(d, 0) + 10, 93)\n"
		  "    u16(d, lfh(d, 0) + 8, 93)\n"
		  "patch(f)\n", -EPERM, "method 93");
}

static void test_local_header_fields(void)
{
	check_bad("st('a', b'1')\ndef f(d): u16(d, 6, 0x800)\npatch(f)\n", -EPERM,
		  "entry 'a' has flags 0x0000 in the central directory but 0x0800 in its local "
		  "header");
	check_bad("st('a', b'1')\ndef f(d): u16(d, 8, 8)\npatch(f)\n", -EPERM,
		  "entry 'a' has method 0 in the central directory but 8 in its local header");
	check_bad("st('a', b'1')\ndef f(d): d[14] ^= 1\npatch(f)\n", -EPERM,
		  "entry 'a' has CRC 83dcefb7 in the central directory but 83dcefb6 in its local "
		  "header");
	check_bad("df('a', b'1' * 100)\ndef f(d): d[18] ^= 1\npatch(f)\n", -EPERM,
		  "entry 'a' has compressed size ");
	check_bad("st('a', b'1')\ndef f(d): d[22] ^= 2\npatch(f)\n", -EPERM,
		  "entry 'a' has size 1 in the central directory but not in its local header");
	/* Names that every reader cuts, or renames. */
	check_bad("st('a.params_x', b'1')\n"
		  "def f(d): d[:] = d.replace(b'a.params_x', b'a.params\\0x')\n"
		  "patch(f)\n", -EPERM,
		  "central directory name 'a.params\\x00x' has a NUL byte");
	check_bad("i = zi('a'); i.extra = upath(b'a', b'evil')\nz.writestr(i, b'1')\n", -EPERM,
		  "entry 'a' has a Unicode path 'evil' in its central directory entry");
	check_bad("i = zi('a'); i.extra = upath(b'a', b'evil')\nz.writestr(i, b'1')\n"
		  "def f(d):\n"
		  "    q = cdh(d, 0) + 46 + 1\n"
		  "    d[q:q + 13] = struct.pack('<HH', 0xcafe, 9) + bytes(9)\n"
		  "patch(f)\n", -EPERM, "entry 'a' has a Unicode path 'evil' in its local header");
	check_bad("i = zi('a'); i.extra = upath(b'a', b'a') + upath(b'a', b'a')\n"
		  "z.writestr(i, b'1')\n", -EPERM,
		  "entry 'a' has two Unicode path blocks in its central directory entry");
	check_bad("i = zi('a'); i.extra = b'\\x01\\x00\\x08'\nz.writestr(i, b'1')\n", -EINVAL,
		  "zip: entry 'a' has a malformed extra field in its central directory entry");
}

static void test_good_extras(void)
{
	struct mfs_zipdir zd;

	/* A Unicode path that repeats the name, and blocks of no concern. */
	check_good("i = zi('caf\\u00e9')\n"
		   "i.extra = upath('caf\\u00e9'.encode(), 'caf\\u00e9'.encode()) + "
		   "struct.pack('<HH', 0xcafe, 2) + b'..'\n"
		   "z.writestr(i, b'1')\n", 1, &zd);
	mfs_zipdir_release(&zd);
}

static void test_layout(void)
{
	/* Entry 'b' is also inside the data of 'a'. */
	check_bad("st('a', local_entry('b', b'hidden') + b'tail')\n"
		  "st('b', b'hidden')\n"
		  "def f(d): u32(d, cdh(d, 1) + 42, 30 + 1)\n"
		  "patch(f)\n", -EPERM, "entries 'a' and 'b' overlap");
	/* 'a' swallows the local header of 'b'. */
	check_bad("st('a', b'1' * 10)\nst('b', b'2' * 10)\n"
		  "def f(d):\n"
		  "    u32(d, 18, 20); u32(d, 22, 20)\n"
		  "    u32(d, cdh(d, 0) + 20, 20); u32(d, cdh(d, 0) + 24, 20)\n"
		  "patch(f)\n", -EPERM, "entries 'a' and 'b' overlap");
	/* Bytes between two entries. */
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d):\n"
		  "    d[32:32] = b'0123456789'\n"
		  "    u32(d, eocd(d) + 16, g32(d, eocd(d) + 16) + 10)\n"
		  "    u32(d, cdh(d, 1) + 42, 42)\n"
		  "patch(f)\n", -EPERM, "10 bytes at offset 32 are in no entry of the central "
		  "directory");
	/* Bytes between the last entry and the directory. */
	check_bad("st('a', b'1')\n"
		  "def f(d):\n"
		  "    d[32:32] = b'01234'\n"
		  "    u32(d, eocd(d) + 16, g32(d, eocd(d) + 16) + 5)\n"
		  "patch(f)\n", -EPERM, "5 bytes at offset 32 are in no entry of the central "
		  "directory");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d): u32(d, cdh(d, 1) + 42, 0x7fff0000)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'b' has its local header outside the archive");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d): u32(d, cdh(d, 1) + 42, g32(d, eocd(d) + 16) - 10)\n"
		  "patch(f)\n", -EPERM, "entry 'b' runs into the central directory");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d):\n"
		  "    o = lfh(d, 1)\n"
		  "    u32(d, o + 18, 100); u32(d, o + 22, 100)\n"
		  "    u32(d, cdh(d, 1) + 20, 100); u32(d, cdh(d, 1) + 24, 100)\n"
		  "patch(f)\n", -EPERM, "entry 'b' runs into the central directory");
	check_bad("st('a', b'1')\nst('b', b'2')\n"
		  "def f(d): u16(d, lfh(d, 1) + 28, 100)\n"
		  "patch(f)\n", -EPERM, "entry 'b' runs into the central directory");
	check_bad("st('a', b'1' * 40)\nst('b', b'2')\n"
		  "def f(d): u32(d, cdh(d, 1) + 42, 31)\n"
		  "patch(f)\n", -EINVAL, "zip: entry 'b' has no local header at 31");
}

static void test_bad_fd(void)
{
	struct mfs_zipdir zd;
	char err[512];
	int fds[2];

	CHECK(pipe(fds) == 0);
	CHECK_EQ_INT(mfs_zipdir_read(&zd, fds[0], 10, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "the archive is not a regular file");
	mfs_zipdir_release(&zd);
	close(fds[0]);
	close(fds[1]);
	CHECK_EQ_INT(mfs_zipdir_read(&zd, fds[0], 10, err, sizeof(err)), -EBADF);
	CHECK_CONTAINS(err, "cannot stat the archive: ");
	mfs_zipdir_release(&zd);
	/* No message buffer is fine too. */
	CHECK_EQ_INT(mfs_zipdir_read(&zd, fds[0], 10, NULL, 0), -EBADF);
	mfs_zipdir_release(&zd);
}

/* Messages quote names: control bytes escaped, long ones cut. */
static void test_quoting(void)
{
	check_bad("st('a\\x01' + 'b' * 400, b'1')\nst('a\\x01' + 'b' * 400, b'2')\n", -EPERM,
		  "central directory lists 'a\\x01bbb");
	check_bad("st('a\\x01' + 'b' * 400, b'1')\nst('a\\x01' + 'b' * 400, b'2')\n", -EPERM,
		  "bbb...' twice");
}

int main(void)
{
	unit_tmp_make("zipdir");
	RUN(test_good);
	RUN(test_directory_order);
	RUN(test_empty_archive);
	RUN(test_data_descriptors);
	RUN(test_zip64);
	RUN(test_end_record);
	RUN(test_counts);
	RUN(test_directory_bounds);
	RUN(test_hostile);
	RUN(test_compression_methods);
	RUN(test_local_header_fields);
	RUN(test_good_extras);
	RUN(test_layout);
	RUN(test_bad_fd);
	RUN(test_quoting);
	unit_tmp_remove();
	return unit_done();
}
