/* sigverify — checks the DSSE signature of an OpenSSF Model Signing
 * bundle (bundle.h) against what the operator trusts: public keys (the
 * key method) or a certificate chain's roots (the certificate method).
 * The payload is then read with manifest.h; this module says only whether
 * the publisher signed it.
 *
 * What is signed is the DSSE pre-authentication encoding:
 *   "DSSEv1 28 application/vnd.in-toto+json <len(payload)> " + payload
 * with ECDSA on P-256, P-384 or P-521 and the hash the curve implies
 * (SHA-256, -384, -512); the signature is DER (at most 141 bytes, P-521's
 * longest).  Bundles of model_signing v0.2.0 signed a quirky encoding
 * instead ("DSSEV1 28 application/vnd.in-toto+json <len(payload)> " + the
 * payload as a Python bytes literal, repr(payload), with SHA-256 whatever
 * the curve); it is tried second, as model_signing itself does.  The two
 * encodings differ in their sixth byte, so neither can pass for the other.
 * payloadType must be application/vnd.in-toto+json.
 *
 * Key method: every configured key (the first PEM SubjectPublicKeyInfo of
 * its file; text before the BEGIN line is skipped) is read first, so that
 * a broken one fails every bundle alike; then each is tried in turn; a
 * key whose hint (sha256 of its PEM text as OpenSSL writes it, hex)
 * differs from the bundle's non-empty hint (compared ignoring case) is
 * skipped.
 * Certificate method: the bundle's chain (leaf first, the others
 * untrusted intermediates) is validated against the roots in
 * `certificate_chain` (every PEM certificate in it) at the leaf's
 * notBefore, so an expired chain still verifies and one not valid then
 * never does; the leaf needs KeyUsage digitalSignature or the codeSigning
 * EKU (a leaf with neither extension is refused; whether it is a CA does
 * not matter, as in model_signing); with `certificate_identity`, one of
 * the leaf's SANs of type email, URI or DNS must equal it byte for byte;
 * then its key checks the signature as above.  certificate_identity plays
 * no part in the key method.  Keyless method: keyless.h, with
 * sigstore_trusted_root, identities and oidc_issuer.
 *
 * No shared state: safe to call from several threads at once. */
#ifndef MFS_SIGVERIFY_H
#define MFS_SIGVERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "bundle.h"

struct mfs_sig_trust {
	const char *const *public_keys;    /* PEM files, NULL-terminated; may be NULL */
	const char *certificate_chain;     /* PEM file of trusted roots; may be NULL */
	const char *certificate_identity;  /* a SAN the leaf must have; may be NULL */
	/* Keyless (keyless.h): trusted_root.json, the identities (SANs,
	 * NULL-terminated, any may match) and the OIDC issuer; all three, or
	 * keyless bundles are refused. */
	const char *sigstore_trusted_root;
	const char *const *identities;
	const char *oidc_issuer;
};

struct mfs_sig_signer {
	/* Who signed, for the audit, one line of printable ASCII: "key <file>
	 * (hint <first 16 hex of the key's own hint>)" or "certificate
	 * <subject> (issuer <issuer>)", names as "CN=x, O=y". */
	char who[512];
	/* The signature is over v0.2.0's encoding, not the standard one. */
	bool compat_pae;
};

/* 0 if `b`'s signature verifies under `t` (who in *signer, may be NULL;
 * *signer is zeroed first); -EKEYREJECTED: it does not (no key matched
 * the hint, a bad, empty or oversized signature, a payloadType other than
 * in-toto, a bundle certificate that does not parse, a chain that does not
 * validate, a leaf without the usage or the identity, a leaf key that is
 * not ECDSA P-256/384/521, and every keyless step); -ENOTSUP: a method
 * `t` has nothing for (a key bundle and no public_keys, a certificate
 * bundle and no certificate_chain, a keyless bundle and no
 * sigstore_trusted_root); -EINVAL: a configured key or chain file that
 * cannot be read or holds no key/certificate, a root that does not parse,
 * a configured key that is not ECDSA on P-256/384/521, a keyless policy
 * without identities or issuer, or a trusted root that cannot be read;
 * -ENOMEM.  `err`
 * (may be NULL) says which step failed and why: "no configured key
 * matches the bundle's key hint <16 hex>", "DSSE signature does not
 * verify with <files>", "certificate chain does not validate at the
 * leaf's notBefore <time>: <OpenSSL's reason> at depth <n> (<subject>)",
 * "certificate usage: ...", "certificate identity: ...", "certificate
 * key: ...". */
int mfs_sig_verify(const struct mfs_bundle *b, const struct mfs_sig_trust *t,
		   struct mfs_sig_signer *signer, char *err, size_t errlen);

/* The DSSE check alone, with the publisher's key `pk` (a keyless
 * bundle's leaf key): 0 if `b`'s signature verifies with it over the
 * standard encoding, or with `allow_compat` over v0.2.0's (*compat says
 * which; keyless bundles never had it, and sigstore-python refuses it
 * there); -EKEYREJECTED: `pk` is not ECDSA on P-256/384/521, or the
 * signature does not verify (why in `why`); -ENOMEM. */
int mfs_sig_dsse_verify(const struct mfs_bundle *b, EVP_PKEY *pk, bool allow_compat, bool *compat,
			char *why, size_t whylen);

#endif
