/* bundle — a Sigstore bundle as OpenSSF Model Signing writes it (the
 * model.sig file): read from bounded, untrusted JSON (libjansson) into
 * plain fields.  Nothing is verified here: sigverify.h checks the
 * signature, manifest.h reads the signed payload.
 *
 * Accepted: mediaType application/vnd.dev.sigstore.bundle.v0.1+json,
 * .v0.2+json, .v0.3+json and application/vnd.dev.sigstore.bundle+json;
 * version=0.3 (exactly so spelt); a dsseEnvelope with payload,
 * payloadType application/vnd.in-toto+json (the only type sigverify signs
 * over and manifest reads) and at least one signature (the first is used;
 * its keyid may be absent, null or any string, never read).  Base64 in
 * the standard or the URL-safe alphabet (not both in one string), padded
 * or not; anything else is refused: whitespace, '=' before the end, a
 * length no encoder writes, bits set after the last byte, an empty
 * string.  The method comes from verificationMaterial, which holds
 * exactly one of: publicKey (key: its hint if any, at most 128 printable
 * ASCII characters; the rawBytes and keyDetails of older bundles are not
 * read, the operator's key is what counts), x509CertificateChain
 * (certificate: 1 to MFS_BUNDLE_MAX_CERTS, leaf first) or certificate
 * (keyless: the Fulcio leaf, and tlogEntries must hold at least one
 * entry, without which no keyless bundle can verify; the entries and
 * timestamps are kept in `json` for the keyless verifier).  Unknown
 * members are ignored.  A message-signature bundle, duplicate keys, a
 * document nested deeper than MFS_BUNDLE_MAX_DEPTH (containers, the
 * document itself being 1) or larger than MFS_BUNDLE_MAX is refused with
 * a reason. */
#ifndef MFS_BUNDLE_H
#define MFS_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#define MFS_BUNDLE_MAX (1u << 20)      /* bytes of a bundle */
#define MFS_BUNDLE_MAX_DEPTH 32        /* nesting of its JSON */
#define MFS_BUNDLE_MAX_CERTS 10        /* certificates in a chain */

enum mfs_sig_method {
	MFS_SIG_KEY,          /* verificationMaterial.publicKey */
	MFS_SIG_CERTIFICATE,  /* verificationMaterial.x509CertificateChain */
	MFS_SIG_KEYLESS,      /* verificationMaterial.certificate (Fulcio) */
};

struct mfs_der {
	unsigned char *der;
	size_t len;
};

struct mfs_bundle {
	int media_version;            /* the 1, 2 or 3 of v0.N */
	enum mfs_sig_method method;
	char key_hint[129];           /* publicKey.hint, "" if none */
	struct mfs_der certs[MFS_BUNDLE_MAX_CERTS]; /* DER, leaf first */
	size_t ncerts;
	char *payload_type;           /* dsseEnvelope.payloadType */
	unsigned char *payload;       /* decoded from base64 */
	size_t payload_len;
	unsigned char *sig;           /* signatures[0].sig, decoded (DER ECDSA) */
	size_t sig_len;
	void *json;                   /* the parsed document (json_t *), for the
					 keyless checks; owned */
};

/* Parses `len` bytes at `text`.  0 with *out filled (free with
 * mfs_bundle_free); -EINVAL for a malformed or unsupported bundle, -E2BIG
 * over MFS_BUNDLE_MAX, -ENOMEM; then *out is empty (all zero) and `err`
 * says what and where ("dsseEnvelope.signatures[0].sig: not base64
 * (length 3 with padding)"), with the bundle's own strings escaped and
 * cut.  `err` may be NULL when `errlen` is 0. */
int mfs_bundle_parse(const void *text, size_t len, struct mfs_bundle *out, char *err,
		     size_t errlen);

/* Frees what *b holds and zeroes it; b may be NULL or already freed. */
void mfs_bundle_free(struct mfs_bundle *b);

/* "key", "certificate" or "keyless" ("unknown" for any other value). */
const char *mfs_sig_method_name(enum mfs_sig_method m);

#endif
