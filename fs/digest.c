/* digest — see include/digest.h. */
#include "digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

struct mfs_hasher {
	unsigned mask;
	uint64_t bytes;
	EVP_MD_CTX *ctx[MFS_ALGO_COUNT];
};

static const struct {
	const char *name;
	size_t len;
} algos[MFS_ALGO_COUNT] = {
	[MFS_SHA1] = { "sha1", 20 },
	[MFS_SHA256] = { "sha256", 32 },
	[MFS_SHA512] = { "sha512", 64 },
};

static const EVP_MD *algo_md(enum mfs_algo a)
{
	switch (a) {
	case MFS_SHA1: return EVP_sha1();
	case MFS_SHA256: return EVP_sha256();
	case MFS_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

const char *mfs_algo_name(enum mfs_algo algo)
{
	return (unsigned)algo < MFS_ALGO_COUNT ? algos[algo].name : "?";
}

size_t mfs_algo_len(enum mfs_algo algo)
{
	return (unsigned)algo < MFS_ALGO_COUNT ? algos[algo].len : 0;
}

enum mfs_algo mfs_algo_strongest(unsigned mask)
{
	if (mask & MFS_ALGO_BIT(MFS_SHA512))
		return MFS_SHA512;
	if (mask & MFS_ALGO_BIT(MFS_SHA256))
		return MFS_SHA256;
	return MFS_SHA1;
}

int mfs_algo_from_name(const char *name, enum mfs_algo *out)
{
	for (int a = 0; a < MFS_ALGO_COUNT; a++) {
		if (strcmp(name, algos[a].name) == 0) {
			*out = (enum mfs_algo)a;
			return 0;
		}
	}
	return -EINVAL;
}

int mfs_hasher_new(unsigned mask, struct mfs_hasher **out)
{
	struct mfs_hasher *h;
	int rc = 0;

	*out = NULL;
	if (mask == 0 || mask >= (1u << MFS_ALGO_COUNT))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->mask = mask;
	for (int a = 0; a < MFS_ALGO_COUNT; a++) {
		if (!(mask & MFS_ALGO_BIT(a)))
			continue;
		h->ctx[a] = EVP_MD_CTX_new();
		if (!h->ctx[a]) {
			rc = -ENOMEM;
			goto out_free;
		}
		if (EVP_DigestInit_ex(h->ctx[a], algo_md((enum mfs_algo)a), NULL) != 1) {
			rc = -EIO;
			goto out_free;
		}
	}
	*out = h;
	return 0;

out_free:
	mfs_hasher_free(h);
	return rc;
}

int mfs_hasher_update(struct mfs_hasher *h, const void *buf, size_t len)
{
	for (int a = 0; a < MFS_ALGO_COUNT; a++) {
		if (h->ctx[a] && EVP_DigestUpdate(h->ctx[a], buf, len) != 1)
			return -EIO;
	}
	h->bytes += len;
	return 0;
}

int mfs_hasher_final(struct mfs_hasher *h, struct mfs_digests *out)
{
	memset(out, 0, sizeof(*out));
	for (int a = 0; a < MFS_ALGO_COUNT; a++) {
		unsigned int len = 0;

		if (!h->ctx[a])
			continue;
		if (EVP_DigestFinal_ex(h->ctx[a], out->d[a], &len) != 1 ||
		    len != algos[a].len)
			return -EIO;
		out->mask |= MFS_ALGO_BIT(a);
	}
	return 0;
}

uint64_t mfs_hasher_bytes(const struct mfs_hasher *h)
{
	return h->bytes;
}

void mfs_hasher_free(struct mfs_hasher *h)
{
	if (!h)
		return;
	for (int a = 0; a < MFS_ALGO_COUNT; a++)
		EVP_MD_CTX_free(h->ctx[a]);
	free(h);
}

int mfs_digest_fd(int fd, unsigned mask, const struct mfs_cancel *cancel,
		  struct mfs_digests *out, uint64_t *bytes)
{
	enum { BUFSZ = 1 << 20 };
	struct mfs_hasher *h;
	unsigned char *buf;
	off_t off = 0;
	int rc;

	rc = mfs_hasher_new(mask, &h);
	if (rc < 0)
		return rc;
	buf = malloc(BUFSZ);
	if (!buf) {
		rc = -ENOMEM;
		goto out_free_hasher;
	}
	for (;;) {
		ssize_t n;

		if (mfs_cancel_fired(cancel)) {
			rc = -ECANCELED;
			goto out_free_buf;
		}
		n = pread(fd, buf, BUFSZ, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out_free_buf;
		}
		if (n == 0)
			break;
		rc = mfs_hasher_update(h, buf, (size_t)n);
		if (rc < 0)
			goto out_free_buf;
		off += n;
	}
	rc = mfs_hasher_final(h, out);
	if (rc == 0 && bytes)
		*bytes = (uint64_t)off;
out_free_buf:
	free(buf);
out_free_hasher:
	mfs_hasher_free(h);
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mfs_hex_decode(const char *hex, unsigned char *out, size_t len)
{
	if (strlen(hex) != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void mfs_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

bool mfs_digests_match(const struct mfs_digests *want, const struct mfs_digests *got,
		       enum mfs_algo *mismatch)
{
	bool ok = want->mask != 0;

	for (int a = 0; a < MFS_ALGO_COUNT; a++) {
		if (!(want->mask & MFS_ALGO_BIT(a)))
			continue;
		if (!(got->mask & MFS_ALGO_BIT(a)) ||
		    CRYPTO_memcmp(want->d[a], got->d[a], algos[a].len) != 0) {
			if (ok && mismatch)
				*mismatch = (enum mfs_algo)a;
			ok = false;
		}
	}
	return ok;
}

int mfs_digest_shards(int fd, const struct mfs_shard *s, size_t n,
		      const struct mfs_cancel *cancel, size_t *bad, unsigned char actual[32])
{
	enum { BUFSZ = 1 << 20 };
	unsigned char *buf = malloc(BUFSZ);
	struct stat st;
	int rc = 0;

	*bad = n;
	memset(actual, 0, 32);
	if (!buf)
		return -ENOMEM;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_free_buf;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct mfs_hasher *h;
		struct mfs_digests d;
		uint64_t off = s[i].start;

		rc = mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);
		if (rc < 0)
			break;
		while (rc == 0 && off < s[i].end) {
			size_t want = s[i].end - off < BUFSZ ? (size_t)(s[i].end - off) : BUFSZ;
			ssize_t got;

			if (mfs_cancel_fired(cancel)) {
				rc = -ECANCELED;
				break;
			}
			got = pread(fd, buf, want, (off_t)off);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				rc = -errno;
			else if (got == 0)
				break;      /* short: the digest below differs */
			else {
				rc = mfs_hasher_update(h, buf, (size_t)got);
				off += (uint64_t)got;
			}
		}
		if (rc == 0)
			rc = mfs_hasher_final(h, &d);
		mfs_hasher_free(h);
		if (rc == 0 && (off != s[i].end ||
				CRYPTO_memcmp(d.d[MFS_SHA256], s[i].sha256, 32) != 0)) {
			*bad = i;
			memcpy(actual, d.d[MFS_SHA256], 32);
			rc = -EBADMSG;
		}
	}
	if (rc == 0 && (uint64_t)st.st_size != (n ? s[n - 1].end : 0)) {
		*bad = n;
		rc = -EBADMSG;
	}
out_free_buf:
	free(buf);
	return rc;
}
