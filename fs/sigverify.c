/* sigverify — see include/sigverify.h. */
#include "sigverify.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "digest.h"
#include "keyless.h"

#define PAYLOAD_TYPE "application/vnd.in-toto+json"

enum {
	/* A DER ECDSA signature on P-521, the largest curve accepted, is at
	 * most 141 bytes; a longer one is refused before OpenSSL parses it. */
	SIG_MAX = 141,
	HINT_HEX = 64,
	/* Bytes of untrusted text (a hint, a payloadType, a SAN) quoted in
	 * an error message. */
	QUOTE_MAX = 64,
};

struct vr {
	const struct mfs_bundle *b;
	const struct mfs_sig_trust *t;
	struct mfs_sig_signer *signer;
	char *err;
	size_t errlen;
};

static __attribute__((format(printf, 3, 4)))
int fail(struct vr *v, int rc, const char *fmt, ...)
{
	va_list ap;

	if (v->err && v->errlen) {
		va_start(ap, fmt);
		vsnprintf(v->err, v->errlen, fmt, ap);
		va_end(ap);
	}
	/* What OpenSSL queued on the way is explained by the message; left
	 * in this thread's queue it would be blamed on a later call. */
	ERR_clear_error();
	return rc;
}

/* Copies at most `n` bytes of untrusted `in` (up to a NUL) to `out` for a
 * message or the audit: one line of printable ASCII, anything else '?'. */
static void printable(const char *in, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (!outlen)
		return;
	for (i = 0; i < n && i + 1 < outlen && in[i]; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

/* ------------------------------------------------------------ keys */

/* The hash model_signing pairs with each curve; any other key is refused,
 * as it is there (no RSA, no Ed25519, no other curve).  0 and *md, or -1
 * with `why` filled. */
static int key_md(EVP_PKEY *pk, const EVP_MD **md, char *why, size_t whylen)
{
	char group[80];
	size_t len = 0;
	int nid;

	if (!EVP_PKEY_is_a(pk, "EC")) {
		const char *type = EVP_PKEY_get0_type_name(pk);

		snprintf(why, whylen, "key type %s is not ECDSA on P-256, P-384 or P-521",
			 type ? type : "(unknown)");
		return -1;
	}
	if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &len) != 1) {
		snprintf(why, whylen,
			 "an EC key without a named curve is not P-256, P-384 or P-521");
		return -1;
	}
	nid = OBJ_sn2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	switch (nid) {
	case NID_X9_62_prime256v1:
		*md = EVP_sha256();
		return 0;
	case NID_secp384r1:
		*md = EVP_sha384();
		return 0;
	case NID_secp521r1:
		*md = EVP_sha512();
		return 0;
	default:
		snprintf(why, whylen, "curve %s is not P-256, P-384 or P-521", group);
		return -1;
	}
}

/* model_signing's publicKey.hint: the hex SHA-256 of the key's PEM
 * SubjectPublicKeyInfo as its serializer writes it (BEGIN and END lines,
 * base64 in 64 columns, a final newline), which is byte for byte what
 * PEM_write_bio_PUBKEY writes.  0, or -ENOMEM. */
static int key_hint(EVP_PKEY *pk, char hex[HINT_HEX + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	BIO *mem;
	char *pem;
	long len;
	int rc = -ENOMEM;

	mem = BIO_new(BIO_s_mem());
	if (!mem)
		return -ENOMEM;
	if (PEM_write_bio_PUBKEY(mem, pk) != 1)
		goto out_free_bio;
	len = BIO_get_mem_data(mem, &pem);
	if (len <= 0 || EVP_Digest(pem, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		goto out_free_bio;
	mfs_hex_encode(md, sizeof(md), hex);
	rc = 0;
out_free_bio:
	BIO_free(mem);
	return rc;
}

/* Reads the first PEM public key of `file`: text before its BEGIN line
 * (the certtool preamble of the fixtures' key) and other PEM blocks are
 * skipped.  0 with *out, or -EINVAL with the reason in `err`. */
static int load_key(struct vr *v, const char *file, EVP_PKEY **out, const EVP_MD **md)
{
	char why[160];
	EVP_PKEY *pk;
	FILE *f;

	f = fopen(file, "re");
	if (!f)
		return fail(v, -EINVAL, "public key %s: %s", file, strerror(errno));
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk)
		return fail(v, -EINVAL, "public key %s: no PEM public key (BEGIN PUBLIC KEY) in it",
			    file);
	if (key_md(pk, md, why, sizeof(why)) < 0) {
		EVP_PKEY_free(pk);
		return fail(v, -EINVAL, "public key %s: %s", file, why);
	}
	*out = pk;
	return 0;
}

/* ------------------------------------------------------------ DSSE */

/* Bytes Python's bytes.__repr__ writes for `c` inside a literal quoted
 * with `quote`, into `out` (room for 4) if non-NULL: the quote and the
 * backslash escaped with a backslash, tab, newline and return as \t \n
 * \r, any other byte below 0x20 or from 0x7f up as \x and two lowercase
 * hex digits, the rest as themselves. */
static size_t repr_byte(unsigned char c, char quote, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[4];
	size_t n;

	if (c == (unsigned char)quote || c == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)c;
		n = 2;
	} else if (c == '\t' || c == '\n' || c == '\r') {
		tmp[0] = '\\';
		tmp[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		n = 2;
	} else if (c < 0x20 || c >= 0x7f) {
		tmp[0] = '\\';
		tmp[1] = 'x';
		tmp[2] = hex[c >> 4];
		tmp[3] = hex[c & 0xf];
		n = 4;
	} else {
		tmp[0] = (char)c;
		n = 1;
	}
	if (out)
		memcpy(out, tmp, n);
	return n;
}

/* Writes repr(bytes) of p[0..n) to `out` (room for 4n+3) and returns its
 * length.  Python quotes with ' unless the bytes hold a ' and no ", then
 * with ". */
static size_t pyrepr(const unsigned char *p, size_t n, char *out)
{
	char quote = '\'';
	size_t o = 0;

	if (n && memchr(p, '\'', n) && !memchr(p, '"', n))
		quote = '"';
	out[o++] = 'b';
	out[o++] = quote;
	for (size_t i = 0; i < n; i++)
		o += repr_byte(p[i], quote, out + o);
	out[o++] = quote;
	return o;
}

/* The bytes the signature covers.  Standard DSSE:
 *   "DSSEv1 28 application/vnd.in-toto+json <len> " + payload
 * model_signing v0.2.0 formatted the same fields through a Python f-string
 * with a capital V, and the payload went in as its bytes literal:
 *   "DSSEV1 28 application/vnd.in-toto+json <len> " + repr(payload)
 * (<len> still the payload's own length).  The two can never be the same
 * bytes (their sixth differs), so accepting both lets no signature over
 * one pass as the other.  0 with a malloc'd *out, or -ENOMEM. */
static int build_pae(const struct mfs_bundle *b, bool compat, unsigned char **out,
		     size_t *outlen)
{
	char head[96];
	size_t body, n;
	unsigned char *buf;
	int hn;

	hn = snprintf(head, sizeof(head), "%s %zu %s %zu ", compat ? "DSSEV1" : "DSSEv1",
		      strlen(PAYLOAD_TYPE), PAYLOAD_TYPE, b->payload_len);
	if (hn < 0 || (size_t)hn >= sizeof(head))
		return -ENOMEM;
	if (compat) {
		if (b->payload_len > (SIZE_MAX - sizeof(head) - 3) / 4)
			return -ENOMEM;
		body = 4 * b->payload_len + 3;
	} else {
		if (b->payload_len > SIZE_MAX - sizeof(head))
			return -ENOMEM;
		body = b->payload_len;
	}
	buf = malloc((size_t)hn + body);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, (size_t)hn);
	if (compat)
		n = pyrepr(b->payload, b->payload_len, (char *)buf + hn);
	else if ((n = b->payload_len) != 0)
		memcpy(buf + hn, b->payload, n);
	*out = buf;
	*outlen = (size_t)hn + n;
	return 0;
}

/* 1 if `sig` is a valid ECDSA signature by `pk` over msg with `md`, 0 if
 * not (a wrong signature, or one that is not canonical DER), -ENOMEM. */
static int verify_one(EVP_PKEY *pk, const EVP_MD *md, const unsigned char *sig, size_t siglen,
		      const unsigned char *msg, size_t msglen)
{
	EVP_MD_CTX *ctx;
	int ok;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* 1 if the bundle's signature verifies with `pk` (hash `md`) over the
 * standard PAE, or failing that over v0.2.0's with SHA-256, as
 * model_signing tries them (*compat says which); 0 if over neither;
 * -ENOMEM. */
static int check_sig(const struct mfs_bundle *b, EVP_PKEY *pk, const EVP_MD *md, bool allow_compat,
		     bool *compat)
{
	unsigned char *pae;
	size_t len;
	int rc;

	for (int c = 0; c < (allow_compat ? 2 : 1); c++) {
		rc = build_pae(b, c, &pae, &len);
		if (rc < 0)
			return rc;
		rc = verify_one(pk, c ? EVP_sha256() : md, b->sig, b->sig_len, pae, len);
		free(pae);
		if (rc != 0) {
			*compat = c;
			return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ key method */

static int verify_key(struct vr *v)
{
	const char *const *files = v->t->public_keys;
	const struct mfs_bundle *b = v->b;
	const EVP_MD **mds;
	EVP_PKEY **keys;
	char tried[256] = "";
	size_t nkeys = 0, ntried = 0;
	int rc;

	if (!files || !files[0])
		return fail(v, -ENOTSUP, "a key bundle, and no public_keys to check it with");
	while (files[nkeys])
		nkeys++;
	keys = calloc(nkeys, sizeof(*keys));
	mds = calloc(nkeys, sizeof(*mds));
	if (!keys || !mds) {
		rc = fail(v, -ENOMEM, "out of memory");
		goto out_free_arrays;
	}
	/* Every configured key is read before any is tried: a broken one is
	 * the operator's to fix and fails every bundle alike, not just those
	 * whose key happens to come after it. */
	for (size_t i = 0; i < nkeys; i++) {
		rc = load_key(v, files[i], &keys[i], &mds[i]);
		if (rc < 0)
			goto out_free_keys;
	}
	for (size_t i = 0; i < nkeys; i++) {
		char hint[HINT_HEX + 1];
		bool compat = false;
		size_t used;

		rc = key_hint(keys[i], hint);
		if (rc < 0) {
			rc = fail(v, rc, "public key %s: cannot compute its hint", files[i]);
			goto out_free_keys;
		}
		/* The hint only saves a pointless verification and gives a
		 * clearer error; the signature is the check. */
		if (b->key_hint[0] && strcasecmp(hint, b->key_hint) != 0)
			continue;
		rc = check_sig(b, keys[i], mds[i], true, &compat);
		if (rc < 0) {
			rc = fail(v, rc, "out of memory");
			goto out_free_keys;
		}
		if (rc == 1) {
			if (v->signer) {
				snprintf(v->signer->who, sizeof(v->signer->who),
					 "key %s (hint %.16s)", files[i], hint);
				v->signer->compat_pae = compat;
			}
			rc = 0;
			goto out_free_keys;
		}
		used = strlen(tried);
		snprintf(tried + used, sizeof(tried) - used, "%s%s", ntried ? ", " : "", files[i]);
		ntried++;
	}
	if (ntried == 0) {
		char quoted[QUOTE_MAX + 1];

		printable(b->key_hint, 16, quoted, sizeof(quoted));
		rc = fail(v, -EKEYREJECTED, "no configured key matches the bundle's key hint %s",
			  quoted);
	} else {
		rc = fail(v, -EKEYREJECTED, "DSSE signature does not verify with %s", tried);
	}
out_free_keys:
	for (size_t i = 0; i < nkeys; i++)
		EVP_PKEY_free(keys[i]);
out_free_arrays:
	free(keys);
	free(mds);
	return rc;
}

/* ------------------------------------------------------------ certificate method */

/* A certificate name on one line, "CN=leaf, O=Example", escaped by
 * OpenSSL (RFC 2253) and then made printable. */
static void name_str(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *mem;
	char *p;
	long len;

	snprintf(out, outlen, "?");
	mem = BIO_new(BIO_s_mem());
	if (!mem)
		return;
	if (X509_NAME_print_ex(mem, name, 0, XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) >= 0) {
		len = BIO_get_mem_data(mem, &p);
		if (len == 0)
			snprintf(out, outlen, "(empty name)");
		else if (len > 0)
			printable(p, (size_t)len, out, outlen);
	}
	BIO_free(mem);
}

/* The roots: every PEM certificate of `file`.  0 with *out, or -EINVAL
 * (no such file, no certificate, one that does not parse), -ENOMEM. */
static int load_roots(struct vr *v, const char *file, X509_STORE **out)
{
	X509_STORE *store;
	unsigned long e;
	size_t n = 0;
	FILE *f;
	int rc;

	f = fopen(file, "re");
	if (!f)
		return fail(v, -EINVAL, "certificate_chain %s: %s", file, strerror(errno));
	store = X509_STORE_new();
	if (!store) {
		rc = fail(v, -ENOMEM, "out of memory");
		goto out_close;
	}
	ERR_clear_error();
	for (;;) {
		X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
		int added;

		if (!x)
			break;
		added = X509_STORE_add_cert(store, x);
		X509_free(x);
		if (added != 1) {
			rc = fail(v, -ENOMEM, "certificate_chain %s: cannot add certificate %zu",
				  file, n + 1);
			goto out_free_store;
		}
		n++;
	}
	/* The loop ends on the end of the file (no further BEGIN line) or on
	 * a certificate that does not parse: only the first is fine. */
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		rc = fail(v, -EINVAL, "certificate_chain %s: certificate %zu does not parse", file,
			  n + 1);
		goto out_free_store;
	}
	if (n == 0) {
		rc = fail(v, -EINVAL, "certificate_chain %s: no PEM certificate in it", file);
		goto out_free_store;
	}
	ERR_clear_error();
	fclose(f);
	*out = store;
	return 0;

out_free_store:
	X509_STORE_free(store);
out_close:
	fclose(f);
	return rc;
}

/* The bundle's chain as OpenSSL objects: the leaf, the rest untrusted
 * intermediates.  0, or -EKEYREJECTED (a certificate that is not exactly
 * one DER X.509), -ENOMEM. */
static int parse_chain(struct vr *v, X509 **leafp, STACK_OF(X509) **restp)
{
	const struct mfs_bundle *b = v->b;
	STACK_OF(X509) *rest;
	X509 *leaf = NULL;
	int rc;

	rest = sk_X509_new_null();
	if (!rest)
		return fail(v, -ENOMEM, "out of memory");
	for (size_t i = 0; i < b->ncerts; i++) {
		const unsigned char *p = b->certs[i].der;
		size_t len = b->certs[i].len;
		X509 *x = NULL;

		if (p && len > 0 && len <= LONG_MAX)
			x = d2i_X509(NULL, &p, (long)len);
		if (!x || p != b->certs[i].der + len) {
			X509_free(x);
			rc = fail(v, -EKEYREJECTED,
				  "certificate %zu of the bundle's chain (%s) is not a DER X.509 certificate",
				  i, i ? "an intermediate" : "the leaf");
			goto out_free;
		}
		if (i == 0) {
			leaf = x;
		} else if (!sk_X509_push(rest, x)) {
			X509_free(x);
			rc = fail(v, -ENOMEM, "out of memory");
			goto out_free;
		}
	}
	*leafp = leaf;
	*restp = rest;
	return 0;

out_free:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	return rc;
}

/* Validates leaf + rest up to one of the roots at the leaf's notBefore:
 * no trusted time exists for a bundle, and model_signing validates at the
 * time the leaf was issued, so a chain that has since expired still
 * verifies, and one that was not valid then never does. */
static int check_chain(struct vr *v, X509_STORE *roots, X509 *leaf, STACK_OF(X509) *rest)
{
	X509_STORE_CTX *ctx;
	char when[32], subject[160];
	struct tm tm;
	int rc;

	if (ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm) != 1)
		return fail(v, -EKEYREJECTED,
			    "certificate chain: the leaf's notBefore is unreadable");
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ctx = X509_STORE_CTX_new();
	if (!ctx)
		return fail(v, -ENOMEM, "out of memory");
	if (X509_STORE_CTX_init(ctx, roots, leaf, rest) != 1) {
		rc = fail(v, -ENOMEM, "certificate chain: cannot set up the check");
		goto out_free_ctx;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), timegm(&tm));
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
		goto out_free_ctx;
	}
	{
		int e = X509_STORE_CTX_get_error(ctx);
		X509 *at = X509_STORE_CTX_get_current_cert(ctx);

		if (at)
			name_str(X509_get_subject_name(at), subject, sizeof(subject));
		else
			snprintf(subject, sizeof(subject), "?");
		rc = fail(v, -EKEYREJECTED,
			  "certificate chain does not validate at the leaf's notBefore %s: %s at depth %d (%s)",
			  when, X509_verify_cert_error_string(e),
			  X509_STORE_CTX_get_error_depth(ctx), subject);
	}
out_free_ctx:
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* model_signing's rule: KeyUsage with digitalSignature, else an
 * ExtendedKeyUsage with codeSigning; a leaf with neither extension has
 * neither.  (It does not care whether the leaf is a CA; the fixtures'
 * leaf is.) */
static int check_usage(struct vr *v, X509 *leaf)
{
	/* Both return UINT32_MAX when the extension is absent, and 0 when
	 * the leaf's extensions do not parse. */
	uint32_t ku = X509_get_key_usage(leaf);
	uint32_t xku = X509_get_extended_key_usage(leaf);
	bool has_ku = ku != UINT32_MAX, has_xku = xku != UINT32_MAX;

	if (has_ku && (ku & KU_DIGITAL_SIGNATURE))
		return 0;
	if (has_xku && (xku & XKU_CODE_SIGN))
		return 0;
	if (!has_ku && !has_xku)
		return fail(v, -EKEYREJECTED,
			    "certificate usage: the leaf has neither KeyUsage nor ExtendedKeyUsage; "
			    "it needs digitalSignature or codeSigning");
	return fail(v, -EKEYREJECTED,
		    "certificate usage: the leaf's %s allow%s neither digitalSignature nor codeSigning",
		    has_ku && has_xku ? "KeyUsage and ExtendedKeyUsage"
				      : has_ku ? "KeyUsage" : "ExtendedKeyUsage",
		    has_ku && has_xku ? "" : "s");
}

/* With certificate_identity, one of the leaf's SANs of type email, URI or
 * DNS must equal it byte for byte (no case folding, no wildcards). */
static int check_identity(struct vr *v, X509 *leaf)
{
	const char *id = v->t->certificate_identity;
	char seen[256] = "", quoted[QUOTE_MAX + 1];
	GENERAL_NAMES *names;
	size_t idlen;
	int crit = 0, rc;

	if (!id)
		return 0;
	idlen = strlen(id);
	printable(id, QUOTE_MAX, quoted, sizeof(quoted));
	names = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	if (!names) {
		if (crit == -1)
			return fail(v, -EKEYREJECTED,
				    "certificate identity: the leaf has no subjectAltName, and '%s' is required",
				    quoted);
		return fail(v, -EKEYREJECTED,
			    "certificate identity: the leaf's subjectAltName does not parse");
	}
	rc = -EKEYREJECTED;
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const ASN1_IA5STRING *s;
		const char *kind;
		char val[QUOTE_MAX + 1];
		size_t used;

		switch (gn->type) {
		case GEN_EMAIL:
			s = gn->d.rfc822Name;
			kind = "email";
			break;
		case GEN_URI:
			s = gn->d.uniformResourceIdentifier;
			kind = "URI";
			break;
		case GEN_DNS:
			s = gn->d.dNSName;
			kind = "DNS";
			break;
		default:
			continue;
		}
		if ((size_t)ASN1_STRING_length(s) == idlen &&
		    memcmp(ASN1_STRING_get0_data(s), id, idlen) == 0) {
			rc = 0;
			break;
		}
		/* Listed in the error, so that the operator sees what the
		 * publisher's certificate does say. */
		printable((const char *)ASN1_STRING_get0_data(s),
			  (size_t)ASN1_STRING_length(s) < QUOTE_MAX ? (size_t)ASN1_STRING_length(s)
								    : QUOTE_MAX,
			  val, sizeof(val));
		used = strlen(seen);
		snprintf(seen + used, sizeof(seen) - used, "%s%s:%s", used ? ", " : "", kind, val);
	}
	GENERAL_NAMES_free(names);
	if (rc < 0)
		return fail(v, rc, "certificate identity: '%s' is not among the leaf's SANs (%s)",
			    quoted, seen[0] ? seen : "none of type email, URI or DNS");
	return 0;
}

static int verify_cert(struct vr *v)
{
	const struct mfs_bundle *b = v->b;
	STACK_OF(X509) *rest = NULL;
	X509_STORE *roots = NULL;
	X509 *leaf = NULL;
	const EVP_MD *md;
	EVP_PKEY *pk;
	bool compat = false;
	char why[160];
	int rc;

	if (!v->t->certificate_chain)
		return fail(v, -ENOTSUP,
			    "a certificate bundle, and no certificate_chain to check it with");
	if (b->ncerts == 0 || b->ncerts > MFS_BUNDLE_MAX_CERTS)
		return fail(v, -EKEYREJECTED, "the bundle's certificate chain has %zu certificates",
			    b->ncerts);
	rc = load_roots(v, v->t->certificate_chain, &roots);
	if (rc < 0)
		return rc;
	rc = parse_chain(v, &leaf, &rest);
	if (rc < 0)
		goto out_free_roots;
	rc = check_chain(v, roots, leaf, rest);
	if (rc < 0)
		goto out_free_chain;
	rc = check_usage(v, leaf);
	if (rc < 0)
		goto out_free_chain;
	rc = check_identity(v, leaf);
	if (rc < 0)
		goto out_free_chain;
	pk = X509_get0_pubkey(leaf);
	if (!pk) {
		rc = fail(v, -EKEYREJECTED,
			  "certificate key: the leaf's public key does not parse");
		goto out_free_chain;
	}
	/* Here the key is the publisher's, not the operator's: a wrong one
	 * rejects the bundle rather than the configuration. */
	if (key_md(pk, &md, why, sizeof(why)) < 0) {
		rc = fail(v, -EKEYREJECTED, "certificate key: the leaf's %s", why);
		goto out_free_chain;
	}
	rc = check_sig(b, pk, md, true, &compat);
	if (rc < 0) {
		rc = fail(v, rc, "out of memory");
		goto out_free_chain;
	}
	if (rc == 0) {
		rc = fail(v, -EKEYREJECTED,
			  "DSSE signature does not verify with the leaf certificate's key");
		goto out_free_chain;
	}
	if (v->signer) {
		char subject[200], issuer[200];

		name_str(X509_get_subject_name(leaf), subject, sizeof(subject));
		name_str(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
		snprintf(v->signer->who, sizeof(v->signer->who), "certificate %s (issuer %s)",
			 subject, issuer);
		v->signer->compat_pae = compat;
	}
	rc = 0;
out_free_chain:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
out_free_roots:
	X509_STORE_free(roots);
	return rc;
}

/* ------------------------------------------------------------ keyless */

static int verify_keyless(struct vr *v)
{
	const struct mfs_keyless_policy p = {
		.trusted_root = v->t->sigstore_trusted_root,
		.identities = v->t->identities,
		.oidc_issuer = v->t->oidc_issuer,
	};
	struct mfs_keyless_signer who;
	int rc;

	if (!p.trusted_root)
		return fail(v, -ENOTSUP,
			    "a keyless bundle, and no sigstore_trusted_root to check it with");
	rc = mfs_keyless_verify(v->b, &p, &who, v->err, v->errlen);
	if (rc == 0 && v->signer) {
		snprintf(v->signer->who, sizeof(v->signer->who), "%s", who.who);
	}
	return rc;
}

int mfs_sig_dsse_verify(const struct mfs_bundle *b, EVP_PKEY *pk, bool allow_compat, bool *compat,
			char *why, size_t whylen)
{
	const EVP_MD *md;
	char kwhy[160];
	int rc;

	if (key_md(pk, &md, kwhy, sizeof(kwhy)) < 0) {
		snprintf(why, whylen, "the leaf's %s", kwhy);
		return -EKEYREJECTED;
	}
	if (!b->sig || b->sig_len == 0 || b->sig_len > SIG_MAX) {
		snprintf(why, whylen, "the signature is empty or longer than ECDSA's");
		return -EKEYREJECTED;
	}
	*compat = false;
	rc = check_sig(b, pk, md, allow_compat, compat);
	ERR_clear_error();
	if (rc < 0) {
		snprintf(why, whylen, "out of memory");
		return rc;
	}
	if (rc == 0) {
		snprintf(why, whylen, "does not verify with the leaf certificate's key");
		return -EKEYREJECTED;
	}
	return 0;
}

/* ------------------------------------------------------------ entry */

int mfs_sig_verify(const struct mfs_bundle *b, const struct mfs_sig_trust *t,
		   struct mfs_sig_signer *signer, char *err, size_t errlen)
{
	static const struct mfs_sig_trust nothing;
	struct vr v = { .b = b, .t = t ? t : &nothing, .signer = signer, .err = err,
			.errlen = errlen };
	char quoted[QUOTE_MAX + 1];
	int rc;

	if (signer)
		memset(signer, 0, sizeof(*signer));
	if (err && errlen)
		err[0] = '\0';
	if (b->method != MFS_SIG_KEY && b->method != MFS_SIG_CERTIFICATE &&
	    b->method != MFS_SIG_KEYLESS)
		return fail(&v, -EKEYREJECTED, "unknown signing method %d", (int)b->method);
	/* The type is part of what is signed; model_signing accepts only
	 * in-toto statements, and so does the manifest reader after this. */
	if (!b->payload_type || strcmp(b->payload_type, PAYLOAD_TYPE) != 0) {
		printable(b->payload_type ? b->payload_type : "(none)", QUOTE_MAX, quoted,
			  sizeof(quoted));
		return fail(&v, -EKEYREJECTED, "payloadType %s is not " PAYLOAD_TYPE, quoted);
	}
	if (!b->sig || b->sig_len == 0)
		return fail(&v, -EKEYREJECTED, "the DSSE signature is empty");
	if (b->sig_len > SIG_MAX)
		return fail(&v, -EKEYREJECTED,
			    "the DSSE signature is %zu bytes, more than an ECDSA signature can be",
			    b->sig_len);
	if (!b->payload && b->payload_len)
		return fail(&v, -EKEYREJECTED, "the DSSE payload is missing");
	switch (b->method) {
	case MFS_SIG_KEY: rc = verify_key(&v); break;
	case MFS_SIG_CERTIFICATE: rc = verify_cert(&v); break;
	default: rc = verify_keyless(&v); break;
	}
	/* Reading PEM files queues errors even on success (the blocks
	 * skipped before the one wanted): none is left for the caller. */
	ERR_clear_error();
	return rc;
}
