/* acquire — gets the verified store object of one model, or of the
 * members of one archive: re-hashes the object already in the store, or
 * downloads into staging/ (download.h; archives then unpack.h), judges
 * what was hashed against the config's pins and commits it into objects/
 * or moves it to quarantine/.  Every decision is written to the audit
 * log.  Synchronous, and thread-safe for distinct models; the scheduler
 * (scheduler.h) decides who runs it, when and on which thread. */
#ifndef MFS_ACQUIRE_H
#define MFS_ACQUIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "cancel.h"
#include "config.h"
#include "store.h"

struct mfs_acquire_ctx {
	const struct mfs_config *cfg;
	struct mfs_store *store;
	struct mfs_audit *audit;        /* may be NULL */
	bool fsync;                     /* fsync objects before the rename */
	/* Transfer progress of a model (for an archive: its first member
	 * asked for); may be NULL. */
	void (*progress)(void *arg, size_t model, uint64_t done, uint64_t total);
	void *progress_arg;
	struct mfs_cancel *cancel;      /* may be NULL; fired: transfers and
					   hashes in flight end at once */
	/* The digests model `mi` must match (and its object is named by);
	 * may be NULL, then the config's.  A signed model's come from its
	 * bundle (signature.h); NULL from the hook: not known yet. */
	const struct mfs_digests *(*want)(void *arg, size_t mi);
	/* A file signed in shards: its ranges, each checked (may be NULL:
	 * none); *n their count.  Same arg. */
	const struct mfs_shard *(*shards)(void *arg, size_t mi, size_t *n);
	/* True if model `mi`'s work was started by a prefetch (its audit
	 * events then say "prefetch":true); may be NULL: never.  Same arg. */
	bool (*prefetch)(void *arg, size_t mi);
	void *want_arg;
};

/* The digests model `mi` must match: the ctx's want hook's, else the
 * config's; NULL for a signed model not resolved yet. */
const struct mfs_digests *mfs_acquire_want(const struct mfs_acquire_ctx *c, size_t mi);
/* Its signed shards, if it was signed in shards; NULL otherwise. */
const struct mfs_shard *mfs_acquire_shards(const struct mfs_acquire_ctx *c, size_t mi, size_t *n);

/* Downloads `url` of source `src` (at most `max` bytes) into memory: the
 * same path as a model's (mirrors, retries, resume, proxy, S3 signing),
 * with no digest to judge it by.  0 with *out (malloc'd, the caller's)
 * and *len; else failure's errno (-EIO, -ENOSPC, -ECANCELED) with the
 * reason in `why`. */
int mfs_acquire_bytes(const struct mfs_acquire_ctx *c, const struct mfs_source *src,
		      const char *url, size_t max, void **out, size_t *len, char *why,
		      size_t whylen);

/* Opens the stored object of model `mi` and hashes it through that fd.
 * Returns the fd if size and every digest match (audit verify_ok);
 * -ENOENT if there is no object; -EBADMSG if it did not match (then it
 * is moved to quarantine/ and audited as store_corrupt).  Either way the
 * model is to be fetched.  -ECANCELED if the cancel fired while hashing
 * (the object is left alone). */
int mfs_acquire_stored(const struct mfs_acquire_ctx *c, size_t mi);

/* Downloads plain model `mi` (no archive) into staging/, hashing as it
 * streams; on a match commits it into objects/ and returns the fd the
 * bytes were hashed through (fetch_start, fetch_ok, verify_ok).
 *
 * URLs: the model's url, then the same path under each of its source's
 * mirrors, in order.  Each URL is tried, retried and resumed as download.h
 * says (each retry audited as fetch_retry), its failure audited as
 * fetch_failed or verify_failed (bytes to quarantine/, which is then
 * trimmed to quarantine_max, audited as quarantine_drop), and then the
 * next URL; bytes refused when they may have come through a proxy are
 * asked for once more from that URL with Cache-Control: no-cache.  An
 * S3 source's own URLs are signed (s3.h).  Every event of the call
 * shares one open_id.  Once every URL failed, the reason goes to `why`
 * (may be NULL; "N URLs failed; the last: ...") and it returns -EBADMSG
 * (the last URL's bytes did not match the pin), -ENOSPC (the store's
 * disk is full: the partial file is gone already; no further URL),
 * -ECANCELED (the cancel fired) or -EIO (any other failure). */
int mfs_acquire_fetch(const struct mfs_acquire_ctx *c, size_t mi, char *why, size_t whylen);

/* Downloads archive `a` once (from its url or, as for a plain model, each
 * mirror in turn; checking archive_size/archive_sha* if
 * pinned), walks it as hostile input and verifies each member in `todo`
 * (indices into cfg->models, all members of `a`, each at most once).
 * Members are committed only if the whole walk succeeded: then fds[i] is
 * the verified fd of todo[i], or -EIO for one that did not match
 * (verify_failed, quarantined) or was missing.  If the download, the
 * archive pin or the walk fails (unlisted member, bad name, link, too
 * big, corrupt), every fds[i] is -EIO (-EBADMSG for a member, or all,
 * that did not match a pin, -ENOSPC on a full disk, -ECANCELED once the
 * cancel fired), each member's failure is audited,
 * and the reason goes to `why` (may be NULL). */
void mfs_acquire_archive(const struct mfs_acquire_ctx *c, const struct mfs_archive *a,
			 const size_t *todo, size_t n, int *fds, char *why, size_t whylen);

#endif
