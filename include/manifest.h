/* manifest — the signed content of an OpenSSF Model Signing bundle: the
 * in-toto statement in its DSSE payload, read from untrusted JSON
 * (libjansson) and checked, into the list of files (or shards of files)
 * and their SHA-256 digests.
 *
 * Checked: no duplicate keys; _type https://in-toto.io/Statement/v1;
 * predicateType https://model_signing/signature/v1.0, or the v0.2.0
 * tool's https://model_signing/Digests/v0.1 (each file a subject with
 * annotations.actual_hash_algorithm "file-sha256", no root digest, the
 * predicate not read); for v1.0, exactly one subject (its name is a label,
 * not read) whose sha256 equals SHA-256 over the raw bytes of the
 * resources' digests in their listed order (no resources: sha256 of
 * nothing, as model_signing signs an empty model); predicate.serialization
 * with method "files" or "shards" and hash_type "sha256" (allow_symlinks
 * and unknown members are not read); every digest is 64 lowercase hex;
 * algorithm "sha256" for files, "sha256-sharded-N" (N the shard_size) or
 * "sha256" for shards ("PATH:START:END", the last two ':' fields; START
 * and END decimal without sign or leading zero, at most INT64_MAX, END >
 * START; per file, in any listed order, they tile it from 0: consecutive,
 * each shard_size long but the last, which is at most that; shard_size an
 * integer > 0 or a float with an integer value up to 2^53, as
 * 1000000000.0); names normalized as model_signing does (a leading "./",
 * "//" and "/./" collapsed, a trailing '/' dropped; "." is the
 * single-file name) and refused when absolute, with a ".." component,
 * empty, longer than MFS_MANIFEST_MAX_NAME bytes, with a control
 * character, or repeated (a shard: the same name, START and END); "."
 * only alone (a single-file model lists nothing else), and no name under
 * another that is a file ("a" and "a/b"); at most MFS_MANIFEST_MAX_ITEMS
 * items.  serialization.ignore_paths, if any, are normalized and refused
 * by the same rules and when "." (the whole model); repeats are not
 * refused.  Other
 * hash algorithms (blake2b, blake3) are refused with a reason: modelfs
 * pins SHA-256. */
#ifndef MFS_MANIFEST_H
#define MFS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFS_MANIFEST_MAX_ITEMS 100000
#define MFS_MANIFEST_MAX_NAME 4096
#define MFS_MANIFEST_MAX_DEPTH 32       /* nesting of its JSON */

#define MFS_PREDICATE_V1 "https://model_signing/signature/v1.0"
#define MFS_PREDICATE_V01 "https://model_signing/Digests/v0.1"

struct mfs_manifest_item {
	char *name;                   /* normalized path of the file; "." for
					 a single-file model */
	bool shard;                   /* a byte range of the file ... */
	uint64_t start, end;          /* ... [start, end) */
	unsigned char sha256[32];
};

struct mfs_manifest {
	bool v01;                     /* the Digests/v0.1 predicate */
	bool shards;                  /* serialization.method "shards" */
	uint64_t shard_size;          /* with shards */
	struct mfs_manifest_item *items; /* in the listed order */
	size_t n;
	char **ignore_paths;          /* serialization.ignore_paths (v1.0),
					 normalized; NULL-terminated; NULL if
					 absent or empty */
	unsigned char root[32];       /* the subject digest (v1.0; zeros for v0.1) */
};

/* Parses and checks the statement `len` bytes at `payload`.  0 with *out
 * (free with mfs_manifest_free); -EINVAL with the reason in `err`
 * ("resources[3].name 'a/../b': '..' component", "subject digest does not
 * match the resources"), -ENOMEM, -EIO if OpenSSL fails to hash the root;
 * then *out is empty (all zero).  Names in `err` are escaped and cut.
 * `err` may be NULL when `errlen` is 0. */
int mfs_manifest_parse(const void *payload, size_t len, struct mfs_manifest *out, char *err,
		       size_t errlen);

/* Frees what *m holds and zeroes it; m may be NULL or already freed. */
void mfs_manifest_free(struct mfs_manifest *m);

#endif
