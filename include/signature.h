/* signature — the gate in front of a signed model's files.  Before any
 * of them is looked for in the store, fetched or served, the model's
 * OpenSSF Model Signing bundle is read: from the store, where the last
 * verified copy is kept (so a restart needs no network), else downloaded
 * (acquire.h: the source's mirrors, retries, proxy and S3 signing apply);
 * then
 *   1. parsed (bundle.h; bounded, untrusted JSON),
 *   2. its DSSE signature verified under the model's trust: public keys
 *      or a certificate chain, and identity (sigverify.h),
 *   3. its in-toto statement read and checked (manifest.h: predicate,
 *      subject digest, safe names),
 *   4. matched to the config: the signed files (ignored paths aside) and
 *      the configured ones must be the same set; a single-file model's
 *      one file is named "." or by its url's last segment; a digest the
 *      config pins too must equal the signed one.
 * Only then are the files' expected digests known: each is the signed
 * SHA-256 (plus what the config pins).  Every outcome is audited:
 * signature_ok (with the signer) or signature_failed (with the step and
 * the reason), for the model's path.
 *
 * A manifest in shard form signs each file as byte ranges: then the
 * file's shards must cover it from 0 to its configured size, and every
 * shard's SHA-256 is checked (digest.h: mfs_digest_shards).
 *
 * Not yet: keyless (Sigstore) bundles are refused. */
#ifndef MFS_SIGNATURE_H
#define MFS_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#include "acquire.h"
#include "config.h"
#include "digest.h"
#include "sigverify.h"

/* What one signed file must match. */
struct mfs_signed_file {
	struct mfs_digests digests;  /* whole: the signed SHA-256 and the config's
					pins; signed in shards: the pins only
					(mask 0 without any) */
	struct mfs_shard *shards;    /* signed in shards: its ranges, in order
					(malloc'd); NULL: signed whole */
	size_t nshards;
};

/* The trust `g` verifies its bundle under (its own keys, else its
 * source's: config.h), as sigverify.h takes it; *t points into g. */
void mfs_signature_trust(const struct mfs_signature *g, struct mfs_sig_trust *t);

/* Frees f->shards. */
void mfs_signed_file_release(struct mfs_signed_file *f);

/* Resolves signed model `g`: 0 with files[k] what its member k must
 * match (g->members order; an array of g->nmembers the caller owns and
 * releases, zeroed or released before the call).  With `network` false
 * only the kept bundle is tried.  On failure -EIO (the bundle is
 * missing, unreachable, malformed, does not verify or does not match the
 * config: the reason in `why`), -ENOENT (no kept bundle and no network
 * allowed), -ENOSPC, -ECANCELED (the ctx's cancel fired), -ENOMEM.  A
 * kept bundle that no longer verifies (the config's trust changed) is
 * dropped and, with `network`, fetched again; one that cannot be checked
 * because the trust cannot be used (a key or trusted-root file
 * unreadable or broken, the bundle's method not configured) stays, and
 * the open fails with -EIO. */
int mfs_signature_resolve(const struct mfs_acquire_ctx *c, const struct mfs_signature *g,
			  bool network, struct mfs_signed_file *files, char *why, size_t whylen);

#endif
