/* sigverify — checks the DSSE signature of an OpenSSF Model Signing
 * bundle (bundle.h) against what the operator trusts: public keys (the
 * key method) or a certificate chain's roots (the certificate method).
 * The payload is then read with manifest.h; this module says only whether
 * the publisher signed it.
 *
 * What is signed is the DSSE pre-authentication encoding:
 *   "DSSEv1 28 application/vnd.in-toto+json <len(payload)> " + payload
 * with ECDSA on P-256, P-384 or P-521 and the hash the curve implies
 * (SHA-256, -384, -512); the signature is DER.  Bundles of model_signing
 * v0.2.0 signed a quirky encoding instead ("DSSEV1 ... " + the payload as
 * a Python bytes literal, with SHA-256 whatever the curve); it is tried
 * second, as model_signing itself does.
 *
 * Key method: each configured key (PEM SubjectPublicKeyInfo; text before
 * the BEGIN line is skipped) is tried in turn; a key whose hint (sha256 of
 * its PEM text as OpenSSL writes it) differs from the bundle's hint is
 * skipped.  Certificate method: the bundle's chain (leaf first) is
 * validated against the roots in `certificate_chain` at the leaf's
 * notBefore; the leaf needs KeyUsage digitalSignature or the codeSigning
 * EKU (a leaf with neither extension is refused); with
 * `certificate_identity`, one of the leaf's SANs (email, URI or DNS) must
 * equal it; then its key checks the signature as above.  Keyless bundles
 * are refused (-ENOTSUP) until the keyless verifier exists. */
#ifndef MFS_SIGVERIFY_H
#define MFS_SIGVERIFY_H

#include <stddef.h>

#include "bundle.h"

struct mfs_sig_trust {
	const char *const *public_keys;    /* PEM files, NULL-terminated; may be NULL */
	const char *certificate_chain;     /* PEM file of trusted roots; may be NULL */
	const char *certificate_identity;  /* a SAN the leaf must have; may be NULL */
};

struct mfs_sig_signer {
	/* Who signed, for the audit: "key <file> (hint <first 16 hex>)" or
	 * "certificate <subject> (issuer <issuer>)". */
	char who[512];
};

/* 0 if `b`'s signature verifies under `t` (who in *signer, may be NULL);
 * -EKEYREJECTED: it does not (no key matched, a bad signature, a chain
 * that does not validate, a leaf without the usage or the identity);
 * -ENOTSUP: a keyless bundle, or a method `t` has nothing for (a
 * certificate bundle and no certificate_chain); -EINVAL: a key or chain
 * file that cannot be read, or a curve that is not P-256/384/521;
 * -ENOMEM.  `err` says which step failed and why. */
int mfs_sig_verify(const struct mfs_bundle *b, const struct mfs_sig_trust *t,
		   struct mfs_sig_signer *signer, char *err, size_t errlen);

#endif
