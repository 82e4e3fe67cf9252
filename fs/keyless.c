/* keyless — see include/keyless.h.  Sigstore's bundle and Rekor "dsse"
 * 0.0.1 entry formats (protobuf-specs, rekor's pkg/types/dsse), Fulcio's
 * certificate profile (fulcio docs/oid-info.md). */
#include "keyless.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "digest.h"
#include "jsonin.h"
#include "rekor.h"
#include "sct.h"
#include "sigverify.h"
#include "trustroot.h"
#include "tsa.h"

#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8"   /* UTF8String */
#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1"   /* raw bytes */
#define QUOTE_MAX 100       /* bytes of untrusted text in a message */
#define SAN_MAX 256         /* of the matched identity, in the signer */
#define BODY_MAX_DEPTH 8

struct kv {
	const struct mfs_bundle *b;
	const struct mfs_keyless_policy *p;
	struct mfs_trust_root root;
	X509 *leaf;
	int64_t times[MFS_KEYLESS_MAX_TIMESTAMPS + 1];   /* verified times */
	size_t ntimes;
	char san[SAN_MAX + 1];                           /* the SAN that matched */
	char *err;
	size_t errlen;
};

static __attribute__((format(printf, 4, 5)))
int fail(struct kv *k, int rc, const char *step, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (k->err && k->errlen) {
		n = snprintf(k->err, k->errlen, "%s: ", step);
		if (n >= 0 && (size_t)n < k->errlen) {
			va_start(ap, fmt);
			vsnprintf(k->err + n, k->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	ERR_clear_error();
	return rc;
}

/* Untrusted bytes for a message: printable ASCII, anything else '?';
 * cut to fit with "..." at the end, so that a cut identity never reads as
 * a shorter one. */
static void printable(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (!outlen)
		return;
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = (in[i] < 0x20 || in[i] >= 0x7f) ? '?' : (char)in[i];
	out[i] = '\0';
	if (i < n && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
}

static void utc(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outlen, "%lld", (long long)t);
}

static json_t *material(const struct kv *k, const char *member)
{
	return json_object_get(json_object_get(k->b->json, "verificationMaterial"), member);
}

/* ------------------------------------------------------------ steps */

static int check_shape(struct kv *k, json_t **entry, json_t **stamps)
{
	json_t *tlogs = material(k, "tlogEntries");
	json_t *tvd = material(k, "timestampVerificationData");
	const unsigned char *p;

	if (!json_is_array(tlogs) || json_array_size(tlogs) != 1)
		return fail(k, -EKEYREJECTED, "bundle", "%zu tlog entries; exactly one is required",
			    json_is_array(tlogs) ? json_array_size(tlogs) : 0);
	*entry = json_array_get(tlogs, 0);
	*stamps = NULL;
	if (tvd && !json_is_object(tvd))
		return fail(k, -EKEYREJECTED, "bundle", "timestampVerificationData: not an object");
	if (json_object_get(tvd, "rfc3161Timestamps")) {
		*stamps = json_object_get(tvd, "rfc3161Timestamps");
		if (!json_is_array(*stamps) ||
		    json_array_size(*stamps) > MFS_KEYLESS_MAX_TIMESTAMPS)
			return fail(k, -EKEYREJECTED, "bundle",
				    "rfc3161Timestamps: not an array of at most %d",
				    MFS_KEYLESS_MAX_TIMESTAMPS);
	}
	if (k->b->ncerts != 1)
		return fail(k, -EKEYREJECTED, "bundle", "no Fulcio certificate");
	p = k->b->certs[0].der;
	k->leaf = d2i_X509(NULL, &p, (long)k->b->certs[0].len);
	if (!k->leaf || p != k->b->certs[0].der + k->b->certs[0].len)
		return fail(k, -EKEYREJECTED, "bundle", "the certificate is not DER");
	return 0;
}

static int check_tlog(struct kv *k, json_t *entry, struct mfs_rekor_result *res)
{
	int rc;

	/* rekor's messages start with the step's name already. */
	rc = mfs_rekor_verify(entry, &k->root.tlogs, res, k->err, k->errlen);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EKEYREJECTED;
	k->times[k->ntimes++] = res->integrated_time;
	return 0;
}

/* True if the base64 string `s` decodes to exactly the n bytes at want. */
static bool b64_is(json_t *s, const unsigned char *want, size_t n)
{
	unsigned char *got;
	size_t len;
	bool same;

	if (!json_is_string(s) ||
	    mfs_b64_decode(json_string_value(s), json_string_length(s), &got, &len, NULL, 0) < 0)
		return false;
	same = len == n && memcmp(got, want, n) == 0;
	free(got);
	return same;
}

static int check_timestamps(struct kv *k, json_t *stamps)
{
	json_t *s;
	size_t i;

	json_array_foreach(stamps, i, s) {
		json_t *v = json_object_get(s, "signedTimestamp");
		unsigned char *der;
		size_t len;
		char why[200];
		int rc;

		if (!json_is_string(v))
			return fail(k, -EKEYREJECTED, "timestamp", "%zu: no signedTimestamp", i);
		rc = mfs_b64_decode(json_string_value(v), json_string_length(v), &der, &len, NULL,
				    0);
		if (rc == -ENOMEM)
			return fail(k, rc, "timestamp", "out of memory");
		if (rc < 0)
			return fail(k, -EKEYREJECTED, "timestamp", "%zu: not base64", i);
		/* Two copies of one stamp (however encoded) would count one
		 * authority twice. */
		for (size_t j = 0; j < i; j++) {
			json_t *o = json_object_get(json_array_get(stamps, j), "signedTimestamp");

			if (b64_is(o, der, len)) {
				free(der);
				return fail(k, -EKEYREJECTED, "timestamp", "%zu: a duplicate", i);
			}
		}
		rc = mfs_tsa_verify(der, len, k->b->sig, k->b->sig_len, k->root.tsas, k->root.ntsas,
				    &k->times[k->ntimes], why, sizeof(why));
		free(der);
		if (rc < 0)
			return fail(k, rc == -ENOMEM ? rc : -EKEYREJECTED, "timestamp", "%zu: %s", i,
				    why);
		k->ntimes++;
	}
	return 0;
}

/* The first certificate of a certificate authority of the root that
 * names itself the leaf's issuer (subject and key identifier; the
 * signature is the chain step's), or NULL.  The SCT names its issuer by
 * key: one with another key would fail there. */
static X509 *find_issuer(struct kv *k)
{
	for (size_t i = 0; i < k->root.ncas; i++) {
		X509 *ca = sk_X509_value(k->root.cas[i].chain, 0);

		if (X509_check_issued(ca, k->leaf) == X509_V_OK)
			return ca;
	}
	ERR_clear_error();
	return NULL;
}

static int check_sct(struct kv *k)
{
	X509 *issuer = find_issuer(k);
	char why[200];
	int rc;

	if (!issuer)
		return fail(k, -EKEYREJECTED, "SCT",
			    "the certificate was not issued by a certificate authority of the "
			    "trusted root, so its SCT cannot be checked");
	rc = mfs_sct_verify(k->leaf, issuer, &k->root.ctlogs, NULL, why, sizeof(why));
	if (rc < 0)
		return fail(k, rc, "SCT", "%s", why);
	return 0;
}

/* 1 if the leaf chains to authority `a` at `t`, 0 if not (OpenSSL's
 * reason in why), -ENOMEM. */
static int chain_ok(struct kv *k, const struct mfs_authority *a, int64_t t, char *why,
		    size_t whylen)
{
	int n = sk_X509_num(a->chain), rc = -ENOMEM;
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	if (!store || !untrusted || !ctx || n <= 0)
		goto out_free;
	if (!X509_STORE_add_cert(store, sk_X509_value(a->chain, n - 1)))
		goto out_free;
	for (int i = 0; i < n - 1; i++) {
		if (!sk_X509_push(untrusted, sk_X509_value(a->chain, i)))
			goto out_free;
	}
	if (!X509_STORE_CTX_init(ctx, store, k->leaf, untrusted))
		goto out_free;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)t);
	/* RFC 5280 strictly, as sigstore-python checks Fulcio's chain. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) == 1) {
		rc = 1;
	} else {
		snprintf(why, whylen, "%s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		rc = 0;
	}
out_free:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);          /* the certificates are the root's */
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

static int check_chain(struct kv *k)
{
	char why[160] = "no certificate authority in the trusted root", when[32];

	for (size_t t = 0; t < k->ntimes; t++) {
		bool ok = false;

		for (size_t i = 0; i < k->root.ncas && !ok; i++) {
			const struct mfs_authority *a = &k->root.cas[i];
			int rc;

			if (k->times[t] < a->valid_from || k->times[t] > a->valid_until) {
				snprintf(why, sizeof(why), "%.100s is not trusted then", a->uri);
				continue;
			}
			rc = chain_ok(k, a, k->times[t], why, sizeof(why));
			if (rc < 0)
				return fail(k, rc, "certificate chain", "out of memory");
			ok = rc == 1;
		}
		if (!ok) {
			utc(k->times[t], when, sizeof(when));
			return fail(k, -EKEYREJECTED, "certificate chain",
				    "does not validate at %s (%s): %s", when,
				    t == 0 ? "integratedTime" : "a timestamp", why);
		}
	}
	return 0;
}

static int check_usage(struct kv *k)
{
	uint32_t ku = X509_get_key_usage(k->leaf);
	uint32_t xku = X509_get_extended_key_usage(k->leaf);

	/* Both are UINT32_MAX when the extension is absent. */
	if (ku == UINT32_MAX || !(ku & KU_DIGITAL_SIGNATURE))
		return fail(k, -EKEYREJECTED, "certificate usage",
			    "the leaf's KeyUsage lacks digitalSignature");
	if (xku == UINT32_MAX || !(xku & XKU_CODE_SIGN))
		return fail(k, -EKEYREJECTED, "certificate usage",
			    "the leaf's ExtendedKeyUsage lacks codeSigning");
	return 0;
}

static int check_identity(struct kv *k)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(k->leaf, NID_subject_alt_name, NULL, NULL);
	char seen[300] = "";
	int rc = -EKEYREJECTED;

	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && rc < 0; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const ASN1_IA5STRING *s;
		size_t len, used;
		char val[QUOTE_MAX + 1];

		if (gn->type == GEN_EMAIL)
			s = gn->d.rfc822Name;
		else if (gn->type == GEN_URI)
			s = gn->d.uniformResourceIdentifier;
		else
			continue;
		len = (size_t)ASN1_STRING_length(s);
		for (size_t j = 0; k->p->identities[j]; j++) {
			if (strlen(k->p->identities[j]) == len &&
			    memcmp(ASN1_STRING_get0_data(s), k->p->identities[j], len) == 0) {
				printable(ASN1_STRING_get0_data(s), len, k->san, sizeof(k->san));
				rc = 0;
			}
		}
		printable(ASN1_STRING_get0_data(s), len, val, sizeof(val));
		used = strlen(seen);
		snprintf(seen + used, sizeof(seen) - used, "%s%s", used ? ", " : "", val);
	}
	GENERAL_NAMES_free(names);
	if (rc < 0)
		return fail(k, rc, "identity",
			    "the certificate is for %s, which is none of the configured identities",
			    seen[0] ? seen : "no email or URI");
	return 0;
}

/* The leaf's OIDC issuer into out: the .1.8 extension (DER UTF8String),
 * else the .1.1 one (the raw string).  False if it has neither, or a .1.8
 * that is not a UTF8String. */
static bool leaf_issuer(X509 *leaf, char *out, size_t outlen, size_t *len)
{
	const char *oids[2] = { OID_ISSUER_V2, OID_ISSUER_V1 };

	for (int v = 0; v < 2; v++) {
		ASN1_OBJECT *obj = OBJ_txt2obj(oids[v], 1);
		int idx = obj ? X509_get_ext_by_OBJ(leaf, obj, -1) : -1;
		const ASN1_OCTET_STRING *data;
		const unsigned char *p;
		ASN1_UTF8STRING *u;

		ASN1_OBJECT_free(obj);
		if (idx < 0)
			continue;
		data = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
		p = ASN1_STRING_get0_data(data);
		if (v == 0) {
			u = d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(data));
			if (!u || p != ASN1_STRING_get0_data(data) + ASN1_STRING_length(data) ||
			    (size_t)ASN1_STRING_length(u) >= outlen) {
				ASN1_UTF8STRING_free(u);
				return false;
			}
			*len = (size_t)ASN1_STRING_length(u);
			memcpy(out, ASN1_STRING_get0_data(u), *len);
			ASN1_UTF8STRING_free(u);
		} else {
			if ((size_t)ASN1_STRING_length(data) >= outlen)
				return false;
			*len = (size_t)ASN1_STRING_length(data);
			memcpy(out, p, *len);
		}
		out[*len] = '\0';
		return true;
	}
	return false;
}

static int check_issuer(struct kv *k)
{
	char iss[512], shown[QUOTE_MAX + 1];
	size_t len = 0;

	if (!leaf_issuer(k->leaf, iss, sizeof(iss), &len))
		return fail(k, -EKEYREJECTED, "issuer",
			    "the certificate has no readable OIDC issuer extension");
	printable((const unsigned char *)iss, len, shown, sizeof(shown));
	if (len != strlen(k->p->oidc_issuer) || memcmp(iss, k->p->oidc_issuer, len) != 0)
		return fail(k, -EKEYREJECTED, "issuer",
			    "the certificate's OIDC issuer is %s, not the configured one", shown);
	return 0;
}


/* True if `verifier` is base64 of the leaf's PEM, byte for byte as
 * Rekor writes it (and sigstore-python compares it): BEGIN and END lines,
 * base64 in 64 columns, a final newline. */
static bool verifier_is_leaf(struct kv *k, json_t *verifier)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	bool same = false;

	if (mem && PEM_write_bio_X509(mem, k->leaf) == 1 &&
	    (len = BIO_get_mem_data(mem, &pem)) > 0)
		same = b64_is(verifier, (const unsigned char *)pem, (size_t)len);
	BIO_free(mem);
	ERR_clear_error();
	return same;
}

static int check_body(struct kv *k, json_t *entry)
{
	json_t *kv = json_object_get(entry, "kindVersion"), *body, *spec, *sigs, *hash;
	const char *b64 = json_string_value(json_object_get(entry, "canonicalizedBody"));
	unsigned char *raw, digest[32];
	char hex[65], why[120];
	size_t len;
	int rc;

	if (!json_is_string(json_object_get(kv, "kind")) ||
	    strcmp(json_string_value(json_object_get(kv, "kind")), "dsse") != 0 ||
	    !json_is_string(json_object_get(kv, "version")) ||
	    strcmp(json_string_value(json_object_get(kv, "version")), "0.0.1") != 0)
		return fail(k, -EKEYREJECTED, "tlog body",
			    "the entry is not of kind dsse 0.0.1 (the only one a DSSE bundle can "
			    "have)");
	/* rekor.c decoded and hashed it already; it is a JSON object here. */
	rc = mfs_b64_decode(b64, strlen(b64), &raw, &len, NULL, 0);
	if (rc < 0)
		return fail(k, rc == -ENOMEM ? rc : -EKEYREJECTED, "tlog body", "not base64");
	body = mfs_json_load(raw, len, BODY_MAX_DEPTH, &rc, why, sizeof(why));
	free(raw);
	if (!body)
		return fail(k, rc == -ENOMEM ? rc : -EKEYREJECTED, "tlog body", "%s", why);
	rc = -EKEYREJECTED;
	spec = json_object_get(body, "spec");
	if (!json_is_string(json_object_get(body, "kind")) ||
	    strcmp(json_string_value(json_object_get(body, "kind")), "dsse") != 0 ||
	    !json_is_string(json_object_get(body, "apiVersion")) ||
	    strcmp(json_string_value(json_object_get(body, "apiVersion")), "0.0.1") != 0) {
		fail(k, rc, "tlog body", "not a dsse 0.0.1 body");
		goto out_free_body;
	}
	hash = json_object_get(spec, "payloadHash");
	if (!EVP_Digest(k->b->payload, k->b->payload_len, digest, NULL, EVP_sha256(), NULL)) {
		rc = fail(k, -ENOMEM, "tlog body", "out of memory");
		goto out_free_body;
	}
	mfs_hex_encode(digest, sizeof(digest), hex);
	if (!json_is_string(json_object_get(hash, "algorithm")) ||
	    strcmp(json_string_value(json_object_get(hash, "algorithm")), "sha256") != 0 ||
	    !json_is_string(json_object_get(hash, "value")) ||
	    strcmp(json_string_value(json_object_get(hash, "value")), hex) != 0) {
		fail(k, rc, "tlog body", "the logged payload hash is not the payload's");
		goto out_free_body;
	}
	sigs = json_object_get(spec, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) != 1) {
		fail(k, rc, "tlog body", "the logged entry does not have exactly one signature");
		goto out_free_body;
	}
	/* The log holds one signature: an envelope with more is not the one
	 * it logged (bundle.h keeps only the first). */
	if (json_array_size(json_object_get(json_object_get(k->b->json, "dsseEnvelope"),
					    "signatures")) != 1) {
		fail(k, rc, "tlog body", "the envelope has more signatures than the logged one");
		goto out_free_body;
	}
	if (!b64_is(json_object_get(json_array_get(sigs, 0), "signature"), k->b->sig,
		    k->b->sig_len)) {
		fail(k, rc, "tlog body", "the logged signature is not the envelope's");
		goto out_free_body;
	}
	if (!verifier_is_leaf(k, json_object_get(json_array_get(sigs, 0), "verifier"))) {
		fail(k, rc, "tlog body", "the logged verifier is not the bundle's certificate");
		goto out_free_body;
	}
	rc = 0;
out_free_body:
	json_decref(body);
	return rc;
}

/* ------------------------------------------------------------ entry */

int mfs_keyless_verify(const struct mfs_bundle *b, const struct mfs_keyless_policy *p,
		       struct mfs_keyless_signer *signer, char *err, size_t errlen)
{
	struct kv k = { .b = b, .p = p, .err = err, .errlen = errlen };
	struct mfs_rekor_result res;
	json_t *entry = NULL, *stamps = NULL;
	char why[300], when[32], iss[QUOTE_MAX + 1];
	bool compat = false;
	int rc;

	if (signer)
		memset(signer, 0, sizeof(*signer));
	if (err && errlen)
		err[0] = '\0';
	if (!p || !p->trusted_root || !p->identities || !p->identities[0] || !p->oidc_issuer)
		return fail(&k, -EINVAL, "policy",
			    "keyless trust needs sigstore_trusted_root, identity and oidc_issuer "
			    "(a valid signature from anyone is not trust)");
	if (b->method != MFS_SIG_KEYLESS || !b->json)
		return fail(&k, -EINVAL, "bundle", "not a keyless bundle");
	rc = mfs_trust_root_load(p->trusted_root, &k.root, why, sizeof(why));
	if (rc < 0)
		return fail(&k, rc == -ENOMEM ? rc : -EINVAL, "trusted root", "%s", why);
	rc = check_shape(&k, &entry, &stamps);
	if (rc == 0)
		rc = check_tlog(&k, entry, &res);
	if (rc == 0)
		rc = check_timestamps(&k, stamps);
	if (rc == 0)
		rc = check_sct(&k);
	if (rc == 0)
		rc = check_chain(&k);
	if (rc == 0)
		rc = check_usage(&k);
	if (rc == 0)
		rc = check_identity(&k);
	if (rc == 0)
		rc = check_issuer(&k);
	if (rc == 0) {
		rc = mfs_sig_dsse_verify(b, X509_get0_pubkey(k.leaf), false, &compat, why,
					 sizeof(why));
		if (rc < 0)
			fail(&k, rc, "DSSE signature", "%s", why);
	}
	if (rc == 0)
		rc = check_body(&k, entry);
	if (rc == 0 && signer) {
		utc(res.integrated_time, when, sizeof(when));
		printable((const unsigned char *)p->oidc_issuer, strlen(p->oidc_issuer), iss,
			  sizeof(iss));
		snprintf(signer->who, sizeof(signer->who), "keyless %s (issuer %s, %.60s index "
			 "%lld, %s)", k.san, iss, res.log->base_url, (long long)res.log_index,
			 when);
	}
	X509_free(k.leaf);
	mfs_trust_root_free(&k.root);
	return rc;
}
