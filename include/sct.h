/* sct — the certificate transparency proof embedded in a Fulcio
 * certificate: each Signed Certificate Timestamp of its SCT list
 * extension (OID 1.3.6.1.4.1.11129.2.4.2) must be a v1 SCT by a CT log
 * of the trusted root (trustroot.h "ctlogs", found by its log ID, the
 * SHA-256 of its key) valid at the SCT's time, over the RFC 6962 §3.2
 * precertificate entry:
 *   version 0 (1 byte), signature_type 0 (1), timestamp (8, ms),
 *   entry_type 1 = precert_entry (2), SHA-256 of the issuer's
 *   SubjectPublicKeyInfo (32), the leaf's TBSCertificate without the SCT
 *   list extension (24-bit length, DER), the SCT's extensions (16-bit
 *   length)
 * signed with the log's key (ECDSA with its hash, or Ed25519).  There
 * must be at least one; every one present must verify.
 *
 * No shared state; safe from several threads. */
#ifndef MFS_SCT_H
#define MFS_SCT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "rekor.h"

#define MFS_SCT_MAX 8   /* SCTs in one certificate */

/* 0 if every SCT embedded in `leaf` verifies as above, with `issuer` the
 * certificate that signed the leaf; *first_ms (may be NULL) is then the
 * earliest SCT time, in ms since the epoch.  -EKEYREJECTED: no SCT list,
 * one that does not parse, more than MFS_SCT_MAX, an SCT of another
 * version, by a log not in `ctlogs` or outside its validFor, or whose
 * signature does not verify (`err`, may be NULL, says which and why);
 * -ENOMEM. */
int mfs_sct_verify(X509 *leaf, X509 *issuer, const struct mfs_tlog_root *ctlogs,
		   int64_t *first_ms, char *err, size_t errlen);

#endif
