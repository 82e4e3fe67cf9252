/* trustroot — Sigstore's trusted_root.json (mediaType
 * application/vnd.dev.sigstore.trustedroot+json;version=0.N), the pinned
 * trust of keyless verification, read whole into what keyless.h checks
 * against:
 *   tlogs                   the Rekor logs (rekor.h, mfs_tlog_root_parse);
 *   ctlogs                  the certificate transparency logs that sign
 *                           Fulcio's SCTs (same form, mfs_tlog_list_parse);
 *   certificateAuthorities  Fulcio: certChain.certificates (DER, the
 *                           issuing CA first, the root last) and validFor;
 *   timestampAuthorities    RFC 3161 TSAs: likewise.
 * Every member must be present (an array, possibly empty, though keyless
 * verification needs a CA, a log and a CT log); anything malformed fails
 * the whole file, so that a damaged root cannot quietly trust less or
 * more.  Unknown members are ignored (newer roots add some).
 *
 * The file is operator input, read when a keyless bundle is verified (so
 * that replacing it takes effect at the next verification, without a
 * restart).  A loaded root is read-only and may be shared by threads. */
#ifndef MFS_TRUSTROOT_H
#define MFS_TRUSTROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "rekor.h"

#define MFS_TRUST_MAX_AUTHORITIES 16   /* CAs, and TSAs, in a root */
#define MFS_TRUST_MAX_CHAIN 8          /* certificates in one's chain */

struct mfs_authority {
	char uri[256];                 /* for messages */
	STACK_OF(X509) *chain;         /* issuing certificate first, root last */
	int64_t valid_from;            /* validFor.start, Unix seconds */
	int64_t valid_until;           /* validFor.end, INT64_MAX if none */
};

struct mfs_trust_root {
	struct mfs_tlog_root tlogs;
	struct mfs_tlog_root ctlogs;
	struct mfs_authority cas[MFS_TRUST_MAX_AUTHORITIES];
	size_t ncas;
	struct mfs_authority tsas[MFS_TRUST_MAX_AUTHORITIES];
	size_t ntsas;
};

/* Reads the trusted root at `path` (at most MFS_REKOR_ROOT_MAX bytes,
 * JSON without duplicate keys) into *out (free with mfs_trust_root_free).
 * 0; -errno of open/read (-ENOENT, -EACCES, ...); -E2BIG over the limit;
 * -EINVAL: not JSON, another mediaType, a member missing or malformed (a
 * certificate that is not DER, an empty or too long chain, a validFor not
 * RFC 3339 or ending before it starts, too many entries; the tlog errors
 * of rekor.h); -ENOMEM.  On failure *out is empty and `err` says where
 * ("trusted_root.json: certificateAuthorities[1].certChain.certificates[0]:
 * not a DER certificate"). */
int mfs_trust_root_load(const char *path, struct mfs_trust_root *out, char *err, size_t errlen);

/* The JSON document at `path`, read as mfs_trust_root_load does, or NULL
 * with *rc and `err` set as it says. */
json_t *mfs_trust_root_read(const char *path, int *rc, char *err, size_t errlen);

/* Frees what *r holds and zeroes it; r may be NULL or already freed. */
void mfs_trust_root_free(struct mfs_trust_root *r);

/* RFC 3339 date-time ("2021-01-12T11:53:27Z"; a fraction, dropped, and a
 * numeric offset allowed) to Unix seconds.  False if it is not one. */
bool mfs_rfc3339_parse(const char *s, int64_t *out);

#endif
