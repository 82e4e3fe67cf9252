/* Unit tests for fs/hashwrite.c: every byte put reaches the file and the
 * hasher, in order, whatever the piece sizes; each write(2) ends at a
 * multiple of the unit; errors surface; no hang. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "digest.h"
#include "hashwrite.h"
#include "unit.h"

#define MIB ((size_t)1 << 20)

static unsigned char *pattern(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* Puts `len` bytes in pieces cycling through `pieces`, then checks the
 * file's bytes and the SHA-256 against one-shot results. */
static void roundtrip(size_t len, const size_t *pieces, size_t npieces, bool hash)
{
	unsigned char *data = pattern(len, (unsigned)len), *back;
	struct mfs_hasher *h = NULL, *ref;
	struct mfs_digests got, want;
	struct mfs_hashwrite *w;
	size_t off = 0, k = 0;
	int fd;

	unit_tmp_make("hashwrite");
	fd = open(unit_at("f"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (hash)
		CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h), 0);
	CHECK_EQ_INT(mfs_hashwrite_new(fd, h, 0, &w), 0);
	while (off < len) {
		size_t n = pieces[k++ % npieces];

		if (n > len - off)
			n = len - off;
		CHECK_EQ_INT(mfs_hashwrite_put(w, data + off, n), 0);
		off += n;
	}
	CHECK_EQ_INT(mfs_hashwrite_finish(w), 0);
	mfs_hashwrite_free(w);

	back = malloc(len + 1);
	CHECK_EQ_INT(pread(fd, back, len + 1, 0), (long long)len);
	CHECK(memcmp(back, data, len) == 0);
	if (hash) {
		CHECK_EQ_INT(mfs_hasher_bytes(h), (long long)len);
		CHECK_EQ_INT(mfs_hasher_final(h, &got), 0);
		CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &ref), 0);
		CHECK_EQ_INT(mfs_hasher_update(ref, data, len), 0);
		CHECK_EQ_INT(mfs_hasher_final(ref, &want), 0);
		CHECK(mfs_digests_match(&want, &got, NULL));
		mfs_hasher_free(ref);
		mfs_hasher_free(h);
	}
	free(back);
	free(data);
	close(fd);
	unit_tmp_remove();
}

static void test_tls_record_pieces_many_blocks(void)
{
	/* 16 KiB pieces, as libcurl gives them; 20 blocks wrap the ring. */
	const size_t pieces[] = { 16384 };

	roundtrip(20 * MIB + 12345, pieces, 1, true);
}

static void test_odd_pieces_across_block_edges(void)
{
	const size_t pieces[] = { 1, 3 * MIB + 7, 4095, MIB, 65536 + 1 };

	roundtrip(11 * MIB + 3, pieces, 5, true);
}

static void test_exact_blocks(void)
{
	const size_t pieces[] = { MIB };

	roundtrip(MIB, pieces, 1, true);        /* one block: hashed inline */
	roundtrip(8 * MIB, pieces, 1, true);    /* the whole ring */
	roundtrip(9 * MIB, pieces, 1, true);
}

/* Blocks end where the file's 2 MiB units end (pagecache.h), counted from
 * the fd's offset at mfs_hashwrite_new: what was there stays, every byte
 * lands at its place. */
static void test_from_an_unaligned_offset(void)
{
	const size_t len = 5 * MIB + 17;
	unsigned char *data = pattern(len, 7), *back = malloc(len + 4);
	struct mfs_hashwrite *w;
	int fd;

	unit_tmp_make("hashwrite");
	fd = open(unit_at("f"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "abc", 3), 3);
	CHECK_EQ_INT(mfs_hashwrite_new(fd, NULL, 0, &w), 0);
	for (size_t off = 0; off < len; off += 16384)
		CHECK_EQ_INT(mfs_hashwrite_put(w, data + off, len - off < 16384 ? len - off : 16384), 0);
	CHECK_EQ_INT(mfs_hashwrite_finish(w), 0);
	mfs_hashwrite_free(w);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), (long long)len + 3);
	CHECK_EQ_INT(pread(fd, back, len + 4, 0), (long long)len + 3);
	CHECK(memcmp(back, "abc", 3) == 0 && memcmp(back + 3, data, len) == 0);
	free(back);
	free(data);
	close(fd);
	unit_tmp_remove();
}

static void test_small_and_empty(void)
{
	const size_t pieces[] = { 100 };

	roundtrip(0, pieces, 1, true);
	roundtrip(1, pieces, 1, true);
	roundtrip(1000, pieces, 1, true);
}

static void test_without_hasher(void)
{
	const size_t pieces[] = { 16384, 5 };

	roundtrip(10 * MIB + 1, pieces, 2, false);
}

/* No fd: every byte is hashed, nothing written; neither: refused. */
static void test_hash_only(void)
{
	const size_t sizes[] = { 0, 1000, MIB, 10 * MIB + 7 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *data = pattern(sizes[i], 3);
		struct mfs_hasher *h, *ref;
		struct mfs_digests got, want;
		struct mfs_hashwrite *w;

		CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h), 0);
		CHECK_EQ_INT(mfs_hashwrite_new(-1, h, 0, &w), 0);
		for (size_t off = 0; off < sizes[i]; off += 16384)
			CHECK_EQ_INT(mfs_hashwrite_put(w, data + off,
						       sizes[i] - off < 16384 ? sizes[i] - off : 16384), 0);
		CHECK_EQ_INT(mfs_hashwrite_finish(w), 0);
		mfs_hashwrite_free(w);
		CHECK_EQ_INT(mfs_hasher_bytes(h), (long long)sizes[i]);
		CHECK_EQ_INT(mfs_hasher_final(h, &got), 0);
		CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &ref), 0);
		CHECK_EQ_INT(mfs_hasher_update(ref, data, sizes[i]), 0);
		CHECK_EQ_INT(mfs_hasher_final(ref, &want), 0);
		CHECK(mfs_digests_match(&want, &got, NULL));
		mfs_hasher_free(ref);
		mfs_hasher_free(h);
		free(data);
	}
	{
		struct mfs_hashwrite *w = (struct mfs_hashwrite *)1;

		CHECK_EQ_INT(mfs_hashwrite_new(-1, NULL, 0, &w), -EINVAL);
		CHECK(w == NULL);
	}
}

/* A write error (a read-only fd) comes back from put or finish, never a
 * hang, and free stops the threads. */
static void test_write_error_surfaces(void)
{
	unsigned char *data = pattern(4 * MIB, 7);
	struct mfs_hasher *h;
	struct mfs_hashwrite *w;
	int fd, rc = 0;

	unit_tmp_make("hashwrite");
	fd = open(unit_at("f"), O_RDONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h), 0);
	CHECK_EQ_INT(mfs_hashwrite_new(fd, h, 0, &w), 0);
	for (int i = 0; i < 16 && rc == 0; i++)
		rc = mfs_hashwrite_put(w, data, 4 * MIB);
	if (rc == 0)
		rc = mfs_hashwrite_finish(w);
	CHECK_EQ_INT(rc, -EBADF);
	mfs_hashwrite_free(w);
	mfs_hasher_free(h);
	close(fd);
	free(data);
	unit_tmp_remove();
}

/* An aborted download: free without finish, with blocks still queued. */
static void test_free_without_finish(void)
{
	unsigned char *data = pattern(3 * MIB, 9);
	struct mfs_hasher *h;
	struct mfs_hashwrite *w;
	int fd;

	unit_tmp_make("hashwrite");
	fd = open(unit_at("f"), O_RDWR | O_CREAT, 0600);
	CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA512), &h), 0);
	CHECK_EQ_INT(mfs_hashwrite_new(fd, h, 0, &w), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(mfs_hashwrite_put(w, data, 3 * MIB), 0);
	mfs_hashwrite_free(w);
	mfs_hashwrite_free(NULL);
	mfs_hasher_free(h);
	close(fd);
	free(data);
	unit_tmp_remove();
}

/* The writes themselves, seen through a SOCK_SEQPACKET socket (each
 * write(2) one message): with a 64 KiB unit, TLS-record-sized pieces go
 * out as 64 KiB writes, the last one the rest. */
struct reader {
	int fd;
	size_t sizes[64], n, total;
	unsigned char *got;
};

static void *read_messages(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	while (r->n < 64 && (n = read(r->fd, r->got + r->total, 256 << 10)) > 0) {
		r->sizes[r->n++] = (size_t)n;
		r->total += (size_t)n;
	}
	return NULL;
}

static void test_write_unit(void)
{
	const size_t unit = 64 << 10, len = 10 * unit + 1234;
	unsigned char *data = pattern(len, 11);
	struct reader r = { .got = malloc(len + (256 << 10)) };
	struct mfs_hashwrite *w;
	pthread_t t;
	int sv[2];

	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	r.fd = sv[1];
	CHECK_EQ_INT(pthread_create(&t, NULL, read_messages, &r), 0);
	CHECK_EQ_INT(mfs_hashwrite_new(sv[0], NULL, unit, &w), 0);
	for (size_t off = 0; off < len; off += 16384)
		CHECK_EQ_INT(mfs_hashwrite_put(w, data + off, len - off < 16384 ? len - off : 16384), 0);
	CHECK_EQ_INT(mfs_hashwrite_finish(w), 0);
	mfs_hashwrite_free(w);
	close(sv[0]);
	pthread_join(t, NULL);
	close(sv[1]);
	CHECK_EQ_INT(r.n, 11);
	for (size_t i = 0; i < 10 && i < r.n; i++)
		CHECK_EQ_INT(r.sizes[i], unit);
	CHECK_EQ_INT(r.sizes[10], 1234);
	CHECK(r.total == len && memcmp(r.got, data, len) == 0);
	free(r.got);
	free(data);
}

int main(void)
{
	RUN(test_tls_record_pieces_many_blocks);
	RUN(test_odd_pieces_across_block_edges);
	RUN(test_exact_blocks);
	RUN(test_from_an_unaligned_offset);
	RUN(test_small_and_empty);
	RUN(test_without_hasher);
	RUN(test_hash_only);
	RUN(test_write_error_surfaces);
	RUN(test_free_without_finish);
	RUN(test_write_unit);
	return unit_done();
}
