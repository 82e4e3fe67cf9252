/* rekor — offline checks of a Sigstore bundle's transparency-log entry
 * (verificationMaterial.tlogEntries[i], Rekor v1 as model_signing's
 * keyless bundles carry it) against the logs a trusted root lists.  This
 * is the log half of keyless verification: the Fulcio chain, the SCT, the
 * timestamps, the identity and the entry body's agreement with the DSSE
 * envelope are for the keyless verifier built on it.
 *
 * The trusted root is Sigstore's trusted_root.json (mediaType
 * application/vnd.dev.sigstore.trustedroot+json;version=0.1); only its
 * "tlogs" are read.  A log is trusted with its key (publicKey.rawBytes,
 * DER SubjectPublicKeyInfo), the key's type (publicKey.keyDetails: one of
 * PKIX_ECDSA_P256_SHA_256, PKIX_ECDSA_P384_SHA_384,
 * PKIX_ECDSA_P521_SHA_512, PKIX_ED25519, and the key must be of it), its
 * validity (publicKey.validFor.start, .end if any, RFC 3339) and its ID
 * (logId.keyId), which must be what the log's key implies: SHA-256 of
 * the DER key for every type (Rekor v1), or, for Ed25519, the C2SP
 * signed-note key ID SHA-256(host "\n" 0x01 raw 32-byte key) with host
 * the baseUrl without its scheme (how the root names Rekor v2 logs).  A
 * log whose keyDetails or hashAlgorithm (must be SHA2_256 if present) is
 * another is left out and counted in `nskipped`: it cannot vouch for
 * anything here, and a newer root should still load.
 *
 * An entry verifies when, in this order (the first failure is reported):
 *  1. log: its logId.keyId names a trusted log whose validFor holds its
 *     integratedTime;
 *  2. SET: inclusionPromise.signedEntryTimestamp is the log's signature
 *     (ECDSA DER with the key's hash, or Ed25519) over the RFC 8785 JSON
 *     {"body":"<canonicalizedBody as given>","integratedTime":N,
 *     "logID":"<hex of logId.keyId>","logIndex":N} (keys sorted, no
 *     whitespace; base64 needs no escaping).  An entry without an
 *     inclusionPromise (Rekor v2) is refused here for now: its time must
 *     come from a timestamp authority, which is not checked here;
 *  3. inclusion proof: the RFC 9162 §2.1.3.2 audit path of
 *     inclusionProof.hashes from leaf SHA-256(0x00 || decoded
 *     canonicalizedBody) at inclusionProof.logIndex in a tree of
 *     inclusionProof.treeSize leaves gives inclusionProof.rootHash.  That
 *     logIndex is the index in the log's current shard, unlike the
 *     entry's logIndex (global, the one the SET signs); the two are not
 *     compared, the shard's offset not being known offline;
 *  4. checkpoint: inclusionProof.checkpoint.envelope is a signed note
 *     (mfs_rekor_checkpoint_verify) signed by the same log, whose tree
 *     size and root hash are the proof's.
 * Numbers may be JSON strings (protobuf's int64) or integers: decimal,
 * non-negative, no sign or leading zero, at most INT64_MAX.  Base64 may
 * be standard or URL-safe, padded or not, and is otherwise strict.
 *
 * No shared state; a loaded root is read-only and may be shared by
 * threads. */
#ifndef MFS_REKOR_H
#define MFS_REKOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MFS_REKOR_MAX_LOGS 32        /* usable tlogs in a root */
#define MFS_REKOR_MAX_PROOF 64       /* hashes in an inclusion proof */
#define MFS_REKOR_MAX_NOTE 8192      /* bytes of a checkpoint */
#define MFS_REKOR_ROOT_MAX (1u << 20) /* bytes of a trusted_root.json file */

enum mfs_tlog_alg {
	MFS_TLOG_ECDSA_SHA256,        /* PKIX_ECDSA_P256_SHA_256 */
	MFS_TLOG_ECDSA_SHA384,        /* PKIX_ECDSA_P384_SHA_384 */
	MFS_TLOG_ECDSA_SHA512,        /* PKIX_ECDSA_P521_SHA_512 */
	MFS_TLOG_ED25519,             /* PKIX_ED25519 */
};

struct mfs_tlog {
	char base_url[256];
	enum mfs_tlog_alg alg;
	unsigned char log_id[32];     /* logId.keyId, checked against the key */
	int64_t valid_from;           /* Unix seconds, validFor.start */
	int64_t valid_until;          /* validFor.end, INT64_MAX if none */
	void *pkey;                   /* EVP_PKEY *, owned */
};

struct mfs_tlog_root {
	struct mfs_tlog logs[MFS_REKOR_MAX_LOGS];
	size_t nlogs;
	size_t nskipped;              /* tlogs of a type not supported here */
};

/* Reads the "tlogs" of the trusted root `doc` (a json_t * object) into
 * *out (free with mfs_tlog_root_free).  0; -EINVAL: not an object, no
 * "tlogs" array, or a tlog that is malformed (a member missing or of the
 * wrong type, base64 or DER that does not decode, a key not of its
 * keyDetails, a time that is not RFC 3339, a validFor that ends before it
 * starts, a logId.keyId the key does not imply) or one too many; -ENOMEM.
 * On failure *out is empty and `err` (may be NULL when errlen is 0) says
 * which tlog and why ("tlogs[1].logId.keyId: not the key's ID"). */
int mfs_tlog_root_parse(json_t *doc, struct mfs_tlog_root *out, char *err, size_t errlen);

/* The same for the array `member` of `doc` instead of "tlogs": "ctlogs"
 * (the certificate transparency logs, whose entries have the same form;
 * trustroot.h reads them so), with `member` in the messages. */
int mfs_tlog_list_parse(json_t *doc, const char *member, struct mfs_tlog_root *out,
			char *err, size_t errlen);

/* Frees the keys and zeroes *r; r may be NULL or already freed. */
void mfs_tlog_root_free(struct mfs_tlog_root *r);

/* The log of `root` whose ID is `id` and whose validFor holds `at` (Unix
 * seconds): a root may list one key twice, with two windows; else the
 * first with that ID (not trusted then: the caller says so); else NULL. */
const struct mfs_tlog *mfs_tlog_find(const struct mfs_tlog_root *root, const unsigned char id[32],
				     int64_t at);

/* 1 if `sig` is `log`'s signature of the `len` bytes at `msg` (ECDSA DER
 * with the hash of its key type, or Ed25519), 0 if not, -ENOMEM. */
int mfs_tlog_signed(const struct mfs_tlog *log, const void *msg, size_t len,
		    const unsigned char *sig, size_t siglen);

/* The step at which an entry failed (or MFS_REKOR_OK). */
enum mfs_rekor_step {
	MFS_REKOR_OK,
	MFS_REKOR_ENTRY,       /* malformed entry: "entry" */
	MFS_REKOR_LOG,         /* "log not in the trusted root" */
	MFS_REKOR_SET,         /* "SET" */
	MFS_REKOR_INCLUSION,   /* "inclusion proof" */
	MFS_REKOR_CHECKPOINT,  /* "checkpoint" */
};

struct mfs_rekor_result {
	enum mfs_rekor_step step;       /* where it failed; MFS_REKOR_OK on success */
	int64_t integrated_time;        /* verified by the SET */
	int64_t log_index;              /* the entry's (global) logIndex, ditto */
	uint64_t tree_size;             /* of the verified checkpoint */
	const struct mfs_tlog *log;     /* the log, in the root passed */
};

/* Verifies the tlog entry `entry` (a json_t * object) against `root` as
 * the header comment says.  0 with *res filled; otherwise res->step names
 * the failed step, `err` (may be NULL when errlen is 0) starts with that
 * step's name and says why, and:
 *   -EINVAL        the entry is malformed (a member missing or of the
 *                  wrong type, bad base64, a number out of range, a hash
 *                  not 32 bytes, more than MFS_REKOR_MAX_PROOF hashes);
 *   -ENOKEY        its logId is none of the root's logs;
 *   -EKEYEXPIRED   the log's validFor does not hold integratedTime;
 *   -EKEYREJECTED  the SET, the inclusion proof or the checkpoint fails
 *                  (res->step says which);
 *   -ENOMEM. */
int mfs_rekor_verify(json_t *entry, const struct mfs_tlog_root *root,
		     struct mfs_rekor_result *res, char *err, size_t errlen);

/* "entry", "log not in the trusted root", "SET", "inclusion proof",
 * "checkpoint" ("ok" for MFS_REKOR_OK, "unknown" otherwise). */
const char *mfs_rekor_step_name(enum mfs_rekor_step s);

/* Checks the signed note `note` (`len` bytes, at most MFS_REKOR_MAX_NOTE)
 * as a checkpoint of `log`: the text
 *   "<origin>\n<tree size>\n<base64 root hash>\n[<extension>\n]...\n"
 * then signature lines "\u2014 <name> <base64(key hint(4) || sig)>\n"; the
 * body signed is everything up to and including the newline before the
 * blank line.  At least one signature line whose key hint is the first 4
 * bytes of log->log_id must verify with the log's key (the others, and the
 * names, are not read: the origin of a Rekor v1 checkpoint, "rekor.
 * sigstore.dev - <tree ID>", is not its key's name).  0 with the tree size
 * and root hash in *tree_size and root_hash; -EKEYREJECTED: malformed, no
 * signature line of this log, or its signature does not verify (why in
 * `err`); -ENOMEM. */
int mfs_rekor_checkpoint_verify(const char *note, size_t len, const struct mfs_tlog *log,
				uint64_t *tree_size, unsigned char root_hash[32], char *err,
				size_t errlen);

/* RFC 9162 §2.1.3.2: true if the audit path `path` (npath hashes) takes
 * leaf hash `leaf` at `index` in a tree of `size` leaves to `root`.
 * False for index >= size, or a path of the wrong length. */
bool mfs_rekor_inclusion_ok(const unsigned char leaf[32], uint64_t index, uint64_t size,
			    const unsigned char (*path)[32], size_t npath,
			    const unsigned char root[32]);

#endif
