/* digest — streaming SHA-1/SHA-256/SHA-512 over several algorithms at once,
 * hex encoding, and constant-time comparison.  The only module that
 * hashes model bytes with OpenSSL's EVP (sigverify uses it for
 * signatures). */
#ifndef MFS_DIGEST_H
#define MFS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"

enum mfs_algo { MFS_SHA1, MFS_SHA256, MFS_SHA512, MFS_ALGO_COUNT };

#define MFS_ALGO_BIT(a) (1u << (a))
#define MFS_DIGEST_MAX 64 /* bytes of the longest digest (SHA-512) */

/* A set of digests, one slot per algorithm; `mask` says which are set. */
struct mfs_digests {
	unsigned mask;
	unsigned char d[MFS_ALGO_COUNT][MFS_DIGEST_MAX];
};

struct mfs_hasher; /* opaque */

/* "sha1", "sha256", "sha512"; never NULL for a valid algo. */
const char *mfs_algo_name(enum mfs_algo algo);
/* Digest length in bytes (20, 32, 64). */
size_t mfs_algo_len(enum mfs_algo algo);
/* The strongest algorithm in `mask` (sha512 > sha256 > sha1): the one a
 * model's store object is named by and audit lines quote.  `mask` must
 * not be 0. */
enum mfs_algo mfs_algo_strongest(unsigned mask);
/* Looks a name up; returns 0 and sets *out, or -EINVAL. */
int mfs_algo_from_name(const char *name, enum mfs_algo *out);

/* Starts hashing with every algorithm in `mask`.  On success *out is owned
 * by the caller (free with mfs_hasher_free).  -EINVAL for an empty mask,
 * -ENOMEM or -EIO if OpenSSL fails. */
int mfs_hasher_new(unsigned mask, struct mfs_hasher **out);
/* Feeds bytes to every algorithm.  -EIO if any EVP call fails; the hasher
 * is then unusable and the verification must fail. */
int mfs_hasher_update(struct mfs_hasher *h, const void *buf, size_t len);
/* Finishes every algorithm into *out (out->mask = the hasher's mask).
 * The hasher cannot be updated afterwards.  -EIO on an EVP failure. */
int mfs_hasher_final(struct mfs_hasher *h, struct mfs_digests *out);
/* Bytes fed so far. */
uint64_t mfs_hasher_bytes(const struct mfs_hasher *h);
void mfs_hasher_free(struct mfs_hasher *h);

/* Hashes `fd` from offset 0 to EOF with pread (the file offset is not
 * moved) into *out; *bytes gets the length hashed.  -errno from pread,
 * -EIO from OpenSSL, -ECANCELED once `cancel` (may be NULL) fired. */
int mfs_digest_fd(int fd, unsigned mask, const struct mfs_cancel *cancel,
		  struct mfs_digests *out, uint64_t *bytes);

/* A byte range of a file and the SHA-256 it must have (a shard of a
 * signed manifest). */
struct mfs_shard {
	uint64_t start, end;             /* [start, end) */
	unsigned char sha256[32];
};

/* Hashes each range of `fd` with SHA-256 (pread) and compares it with
 * its digest.  0 if all match and the file ends exactly at the last
 * range's end; -EBADMSG otherwise, with *bad the index of the first range
 * that differs (n if the file's length is what is wrong) and `actual` its
 * SHA-256 (zeros for a short file); -errno from pread or fstat, -EIO from
 * OpenSSL, -ECANCELED once `cancel` fired. */
int mfs_digest_shards(int fd, const struct mfs_shard *s, size_t n,
		      const struct mfs_cancel *cancel, size_t *bad, unsigned char actual[32]);

/* Decodes exactly `len` bytes from 2*len hex digits (either case) and a
 * terminating NUL.  -EINVAL on a wrong length or a non-hex character. */
int mfs_hex_decode(const char *hex, unsigned char *out, size_t len);
/* Writes 2*len lowercase hex digits and a NUL to `out`. */
void mfs_hex_encode(const unsigned char *in, size_t len, char *out);

/* Compares every algorithm set in `want` against `got` in constant time
 * (CRYPTO_memcmp).  Returns true only if each is present in `got` and
 * equal.  If `mismatch` is non-NULL it gets the first algo that differs. */
bool mfs_digests_match(const struct mfs_digests *want, const struct mfs_digests *got,
		       enum mfs_algo *mismatch);

#endif
