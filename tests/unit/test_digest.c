/* Unit tests for fs/digest.c: known vectors, hex, comparison, fd hashing. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "digest.h"
#include "unit.h"

static const char *abc_hex[MFS_ALGO_COUNT] = {
	[MFS_SHA1] = "a9993e364706816aba3e25717850c26c9cd0d89d",
	[MFS_SHA256] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	[MFS_SHA512] = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
};

static void test_vectors_all_algos_at_once(void)
{
	struct mfs_hasher *h;
	struct mfs_digests d;
	char hex[2 * MFS_DIGEST_MAX + 1];

	CHECK_EQ_INT(mfs_hasher_new(7, &h), 0);
	/* Split updates must give the same result as one. */
	CHECK_EQ_INT(mfs_hasher_update(h, "a", 1), 0);
	CHECK_EQ_INT(mfs_hasher_update(h, "bc", 2), 0);
	CHECK_EQ_INT(mfs_hasher_bytes(h), 3);
	CHECK_EQ_INT(mfs_hasher_final(h, &d), 0);
	CHECK_EQ_INT(d.mask, 7);
	for (int a = 0; a < MFS_ALGO_COUNT; a++) {
		mfs_hex_encode(d.d[a], mfs_algo_len((enum mfs_algo)a), hex);
		CHECK_STR(hex, abc_hex[a]);
	}
	mfs_hasher_free(h);
}

static void test_empty_input(void)
{
	struct mfs_hasher *h;
	struct mfs_digests d;
	char hex[65];

	CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h), 0);
	CHECK_EQ_INT(mfs_hasher_final(h, &d), 0);
	mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	mfs_hasher_free(h);
}

static void test_bad_masks(void)
{
	struct mfs_hasher *h = (struct mfs_hasher *)1;

	CHECK_EQ_INT(mfs_hasher_new(0, &h), -EINVAL);
	CHECK(h == NULL);
	CHECK_EQ_INT(mfs_hasher_new(8, &h), -EINVAL);
}

static void test_names(void)
{
	enum mfs_algo a;

	CHECK_STR(mfs_algo_name(MFS_SHA256), "sha256");
	CHECK_EQ_INT(mfs_algo_len(MFS_SHA512), 64);
	CHECK_EQ_INT(mfs_algo_from_name("sha1", &a), 0);
	CHECK_EQ_INT(a, MFS_SHA1);
	CHECK_EQ_INT(mfs_algo_from_name("md5", &a), -EINVAL);
	CHECK_EQ_INT(mfs_algo_from_name("SHA256", &a), -EINVAL);
	CHECK_EQ_INT(mfs_algo_strongest(MFS_ALGO_BIT(MFS_SHA1)), MFS_SHA1);
	CHECK_EQ_INT(mfs_algo_strongest(MFS_ALGO_BIT(MFS_SHA1) | MFS_ALGO_BIT(MFS_SHA256)), MFS_SHA256);
	CHECK_EQ_INT(mfs_algo_strongest(7), MFS_SHA512);
}

static void test_hex_decode(void)
{
	unsigned char b[4];

	CHECK_EQ_INT(mfs_hex_decode("00fFa5B7", b, 4), 0);
	CHECK(b[0] == 0x00 && b[1] == 0xff && b[2] == 0xa5 && b[3] == 0xb7);
	CHECK_EQ_INT(mfs_hex_decode("00ff", b, 4), -EINVAL);         /* short */
	CHECK_EQ_INT(mfs_hex_decode("00ffa5b7aa", b, 4), -EINVAL);   /* long */
	CHECK_EQ_INT(mfs_hex_decode("00ffa5bg", b, 4), -EINVAL);     /* not hex */
	CHECK_EQ_INT(mfs_hex_decode("00ffa5b ", b, 4), -EINVAL);
	CHECK_EQ_INT(mfs_hex_decode("", b, 0), 0);
}

static void test_match(void)
{
	struct mfs_digests want = { 0 }, got = { 0 };
	enum mfs_algo bad = MFS_SHA1;

	/* Nothing wanted is never a match: a model must pin something. */
	CHECK(!mfs_digests_match(&want, &got, NULL));
	want.mask = got.mask = MFS_ALGO_BIT(MFS_SHA256) | MFS_ALGO_BIT(MFS_SHA512);
	memset(want.d[MFS_SHA256], 1, 32);
	memset(got.d[MFS_SHA256], 1, 32);
	memset(want.d[MFS_SHA512], 2, 64);
	memset(got.d[MFS_SHA512], 2, 64);
	CHECK(mfs_digests_match(&want, &got, &bad));
	got.d[MFS_SHA512][63] ^= 1;
	CHECK(!mfs_digests_match(&want, &got, &bad));
	CHECK_EQ_INT(bad, MFS_SHA512);
	got.d[MFS_SHA512][63] ^= 1;
	/* A wanted algorithm missing from what was computed fails. */
	got.mask = MFS_ALGO_BIT(MFS_SHA256);
	CHECK(!mfs_digests_match(&want, &got, &bad));
	CHECK_EQ_INT(bad, MFS_SHA512);
}

static void test_digest_fd(void)
{
	char path[] = "/tmp/mfs-digest-XXXXXX";
	int fd = mkstemp(path);
	struct mfs_digests d;
	uint64_t bytes = 0;
	char hex[65];
	size_t big = (3u << 20) + 7; /* crosses the 1 MiB read size */
	char *buf = malloc(big);

	CHECK(fd >= 0 && buf);
	if (fd < 0 || !buf)
		goto out;
	unlink(path);
	CHECK_EQ_INT(write(fd, "abc", 3), 3);
	CHECK_EQ_INT(mfs_digest_fd(fd, MFS_ALGO_BIT(MFS_SHA256), NULL, &d, &bytes), 0);
	CHECK_EQ_INT(bytes, 3);
	mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
	CHECK_STR(hex, abc_hex[MFS_SHA256]);
	/* The file offset is not used or moved. */
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 3);

	/* A large file hashes the same as one update of all its bytes. */
	struct mfs_hasher *h;
	struct mfs_digests one;

	for (size_t i = 0; i < big; i++)
		buf[i] = (char)(i * 131 + 7);
	CHECK_EQ_INT(ftruncate(fd, 0), 0);
	CHECK_EQ_INT(pwrite(fd, buf, big, 0), (long long)big);
	CHECK_EQ_INT(mfs_digest_fd(fd, 7, NULL, &d, &bytes), 0);
	CHECK_EQ_INT(bytes, big);
	CHECK_EQ_INT(mfs_hasher_new(7, &h), 0);
	CHECK_EQ_INT(mfs_hasher_update(h, buf, big), 0);
	CHECK_EQ_INT(mfs_hasher_final(h, &one), 0);
	mfs_hasher_free(h);
	CHECK(mfs_digests_match(&one, &d, NULL));
	CHECK_EQ_INT(mfs_digest_fd(-1, 7, NULL, &d, &bytes), -EBADF);
	{
		struct mfs_cancel c;

		mfs_cancel_init(&c);
		CHECK_EQ_INT(mfs_digest_fd(fd, 7, &c, &d, &bytes), 0);
		mfs_cancel_fire(&c);
		CHECK_EQ_INT(mfs_digest_fd(fd, 7, &c, &d, &bytes), -ECANCELED);
		mfs_cancel_release(&c);
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* Shards: each range hashed on its own; the first that differs is named;
 * a file shorter or longer than the last range's end is refused. */
static void sha256_of(const void *p, size_t n, unsigned char out[32])
{
	struct mfs_hasher *h;
	struct mfs_digests d;

	CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h), 0);
	mfs_hasher_update(h, p, n);
	mfs_hasher_final(h, &d);
	mfs_hasher_free(h);
	memcpy(out, d.d[MFS_SHA256], 32);
}

static void test_digest_shards(void)
{
	char path[] = "/tmp/mfs-shards-XXXXXX";
	int fd = mkstemp(path);
	size_t size = (2u << 20) + 1000, bad;
	char *buf = malloc(size);
	struct mfs_shard sh[3];
	unsigned char actual[32];

	CHECK(fd >= 0 && buf);
	if (fd < 0 || !buf)
		goto out;
	unlink(path);
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)(i * 7 + 3);
	CHECK_EQ_INT(pwrite(fd, buf, size, 0), (long long)size);
	/* 1 MiB + 1, 1 MiB - 1, 1000: ranges that cross the read size */
	sh[0] = (struct mfs_shard){ .start = 0, .end = (1u << 20) + 1 };
	sh[1] = (struct mfs_shard){ .start = (1u << 20) + 1, .end = 2u << 20 };
	sh[2] = (struct mfs_shard){ .start = 2u << 20, .end = size };
	for (int i = 0; i < 3; i++)
		sha256_of(buf + sh[i].start, sh[i].end - sh[i].start, sh[i].sha256);
	CHECK_EQ_INT(mfs_digest_shards(fd, sh, 3, NULL, &bad, actual), 0);

	/* one byte of the second shard */
	buf[(1u << 20) + 5] ^= 1;
	CHECK_EQ_INT(pwrite(fd, buf + (1u << 20) + 5, 1, (1u << 20) + 5), 1);
	CHECK_EQ_INT(mfs_digest_shards(fd, sh, 3, NULL, &bad, actual), -EBADMSG);
	CHECK_EQ_INT(bad, 1);
	{
		unsigned char want[32];

		sha256_of(buf + sh[1].start, sh[1].end - sh[1].start, want);
		CHECK(memcmp(actual, want, 32) == 0);
	}
	buf[(1u << 20) + 5] ^= 1;
	CHECK_EQ_INT(pwrite(fd, buf + (1u << 20) + 5, 1, (1u << 20) + 5), 1);

	/* longer than the shards: the file's length is named (bad = n) */
	CHECK_EQ_INT(pwrite(fd, "x", 1, (off_t)size), 1);
	CHECK_EQ_INT(mfs_digest_shards(fd, sh, 3, NULL, &bad, actual), -EBADMSG);
	CHECK_EQ_INT(bad, 3);
	/* shorter: the last shard differs */
	CHECK_EQ_INT(ftruncate(fd, (off_t)size - 10), 0);
	CHECK_EQ_INT(mfs_digest_shards(fd, sh, 3, NULL, &bad, actual), -EBADMSG);
	CHECK_EQ_INT(bad, 2);
	close(fd);
out:
	free(buf);
}

int main(void)
{
	RUN(test_vectors_all_algos_at_once);
	RUN(test_empty_input);
	RUN(test_bad_masks);
	RUN(test_names);
	RUN(test_hex_decode);
	RUN(test_match);
	RUN(test_digest_fd);
	RUN(test_digest_shards);
	return unit_done();
}
