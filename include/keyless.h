/* keyless — offline verification of a keyless (Sigstore) OpenSSF Model
 * Signing bundle: a short-lived Fulcio certificate names the publisher (an
 * e-mail or a CI workflow URI, attested by an OIDC issuer), and Rekor
 * logged the signature.  Everything is checked against a pinned
 * trusted_root.json (trustroot.h), with no network, as sigstore-python's
 * Verifier.verify_dsse does, in this order (the first failure is
 * reported, and names its step):
 *   "bundle"             exactly one tlog entry; at most
 *                        MFS_KEYLESS_MAX_TIMESTAMPS RFC 3161 timestamps;
 *                        the leaf certificate parses;
 *   the tlog entry       rekor.h: "log not in the trusted root", "SET",
 *                        "inclusion proof", "checkpoint" (or "entry", a
 *                        malformed one); the SET makes integratedTime a
 *                        verified time;
 *   "timestamp"          each RFC 3161 timestamp (tsa.h) over the DSSE
 *                        signature bytes: every one present must verify,
 *                        none may be there twice, and each is a verified
 *                        time;
 *   "SCT"                the leaf's embedded SCTs (sct.h), its issuer
 *                        found among the root's certificate authorities;
 *   "certificate chain"  at every verified time, the leaf chains to a
 *                        certificate authority of the root whose validFor
 *                        holds that time (so the time is also within the
 *                        leaf's ten-minute validity);
 *   "certificate usage"  KeyUsage digitalSignature and ExtendedKeyUsage
 *                        codeSigning, both;
 *   "identity"           one of the leaf's SANs (email or URI) equals one
 *                        of the policy's identities, byte for byte;
 *   "issuer"             the Fulcio issuer extension (OID
 *                        1.3.6.1.4.1.57264.1.8, a UTF8String; else the
 *                        older .1.1, raw bytes) equals oidc_issuer;
 *   "DSSE signature"     the envelope's signature, with the leaf's key,
 *                        over the standard encoding only (sigverify.h:
 *                        v0.2.0's quirky one was never keyless);
 *   "tlog body"          the logged entry is this envelope's: kind dsse,
 *                        apiVersion 0.0.1 (as kindVersion says too),
 *                        spec.payloadHash the SHA-256 of the payload,
 *                        spec.signatures exactly the envelope's one
 *                        signature, with base64 of this certificate's
 *                        PEM, byte for byte, as its verifier.
 * The time used is never the clock's: a bundle verifies the same way
 * years later (the certificate has long expired by then; the log and the
 * timestamps say it was valid when it signed).
 *
 * No shared state; safe from several threads. */
#ifndef MFS_KEYLESS_H
#define MFS_KEYLESS_H

#include <stdbool.h>
#include <stddef.h>

#include "bundle.h"

#define MFS_KEYLESS_MAX_TIMESTAMPS 32

struct mfs_keyless_policy {
	const char *trusted_root;            /* trusted_root.json */
	const char *const *identities;       /* NULL-terminated; any may match */
	const char *oidc_issuer;
};

struct mfs_keyless_signer {
	/* "keyless <SAN> (issuer <oidc issuer>, <Rekor URL> index <N>,
	 * <UTC time>)", printable ASCII, for the audit. */
	char who[512];
};

/* 0 if keyless bundle `b` verifies under policy `p` (*signer filled, may
 * be NULL); otherwise `err` (may be NULL when errlen is 0) starts with
 * the failed step's name (above), then ": " and why, and:
 *   -EKEYREJECTED  the bundle does not verify;
 *   -EINVAL        the policy cannot be used: no trusted root, identity
 *                  or issuer given (step "policy"), or a trusted root that
 *                  cannot be read (step "trusted root"); or `b` is not a
 *                  keyless bundle (step "bundle");
 *   -ENOMEM. */
int mfs_keyless_verify(const struct mfs_bundle *b, const struct mfs_keyless_policy *p,
		       struct mfs_keyless_signer *signer, char *err, size_t errlen);

#endif
