/* Unit tests for fs/sigverify.c: the model_signing fixtures (parsed with
 * fs/bundle.c), and bundles, keys and certificate chains made here with
 * OpenSSL, so that every refusal is checked against a signature that
 * would otherwise verify. */
#include "sigverify.h"
#include "bundle.h"
#include "unit.h"

#include <errno.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Relative to the repository's root, where tests/run runs the tests. */
#define OMS "tests/data/oms/"
#define FIX OMS "scripts/tests/"
#define PUBKEY FIX "keys/certificate/signing-key-pub.pem"
#define CA FIX "keys/certificate/ca-cert.pem"
#define INT_CA FIX "keys/certificate/int-ca-cert.pem"
#define SPEC OMS "ossf-model-signing-spec/test-vectors/v1.0/valid/"
#define PAYLOAD_TYPE "application/vnd.in-toto+json"
#define FIX_HINT "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e"
#define DAY (24 * 60 * 60)

static char err[512];

/* ------------------------------------------------------------ helpers */

static int load_fixture(const char *path, struct mfs_bundle *b)
{
	char perr[256] = "";
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;
	int rc;

	memset(b, 0, sizeof(*b));
	if (!f) {
		fprintf(stderr, "  %s: cannot open (run from the repository's root)\n", path);
		return -ENOENT;
	}
	text = malloc(MFS_BUNDLE_MAX);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, MFS_BUNDLE_MAX, f);
	fclose(f);
	rc = mfs_bundle_parse(text, len, b, perr, sizeof(perr));
	free(text);
	if (rc < 0)
		fprintf(stderr, "  %s: mfs_bundle_parse %d: %s\n", path, rc, perr);
	return rc;
}

static int verify(const struct mfs_bundle *b, const char *const *keys, const char *chain,
		  const char *identity, struct mfs_sig_signer *signer)
{
	struct mfs_sig_trust t = {
		.public_keys = keys,
		.certificate_chain = chain,
		.certificate_identity = identity,
	};
	int rc;

	err[0] = '\0';
	rc = mfs_sig_verify(b, &t, signer, err, sizeof(err));
	if (getenv("SIGVERIFY_VERBOSE"))
		fprintf(stderr, "    rc %d: %s\n", rc, err);
	return rc;
}

static EVP_PKEY *keygen(const char *curve)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	if (!pk) {
		fprintf(stderr, "keygen %s failed\n", curve);
		exit(1);
	}
	return pk;
}

/* Writes pk's public half to `name` in the scratch directory; returns its
 * path (one of unit_at's rotating buffers: copy it to keep it). */
static const char *write_pub(EVP_PKEY *pk, const char *name)
{
	const char *path = unit_at(name);
	FILE *f = fopen(path, "w");

	if (!f || PEM_write_PUBKEY(f, pk) != 1) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return path;
}

/* The hint model_signing writes: sha256 of the PEM as written. */
static void hint_of(EVP_PKEY *pk, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen;
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem;
	long len;

	PEM_write_bio_PUBKEY(mem, pk);
	len = BIO_get_mem_data(mem, &pem);
	EVP_Digest(pem, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	BIO_free(mem);
}

static void sign(EVP_PKEY *pk, const EVP_MD *md, const void *msg, size_t len,
		 unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	*siglen = 0;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, NULL, siglen, msg, len) != 1 || !(*sig = malloc(*siglen)) ||
	    EVP_DigestSign(ctx, *sig, siglen, msg, len) != 1) {
		fprintf(stderr, "sign failed\n");
		exit(1);
	}
	EVP_MD_CTX_free(ctx);
}

static unsigned char *dup_bytes(const void *p, size_t len)
{
	unsigned char *d = malloc(len ? len : 1);

	if (!d)
		exit(1);
	if (len)
		memcpy(d, p, len);
	return d;
}

/* A bundle made here, owned by the test (own_free), not by bundle.c. */
static void own_bundle(struct mfs_bundle *b, enum mfs_sig_method method, const void *payload,
		       size_t len)
{
	memset(b, 0, sizeof(*b));
	b->media_version = 3;
	b->method = method;
	b->payload_type = strdup(PAYLOAD_TYPE);
	b->payload = dup_bytes(payload, len);
	b->payload_len = len;
}

static void own_sign_msg(struct mfs_bundle *b, EVP_PKEY *pk, const EVP_MD *md, const void *msg,
			 size_t len)
{
	free(b->sig);
	sign(pk, md, msg, len, &b->sig, &b->sig_len);
}

/* Signs the standard PAE of b's payload with `md`. */
static void own_sign(struct mfs_bundle *b, EVP_PKEY *pk, const EVP_MD *md)
{
	char head[128];
	int hn = snprintf(head, sizeof(head), "DSSEv1 28 " PAYLOAD_TYPE " %zu ", b->payload_len);
	unsigned char *pae = malloc((size_t)hn + b->payload_len + 1);

	memcpy(pae, head, (size_t)hn);
	if (b->payload_len)
		memcpy(pae + hn, b->payload, b->payload_len);
	own_sign_msg(b, pk, md, pae, (size_t)hn + b->payload_len);
	free(pae);
}

static void own_add_cert(struct mfs_bundle *b, X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);

	if (len <= 0)
		exit(1);
	b->certs[b->ncerts].der = dup_bytes(der, (size_t)len);
	b->certs[b->ncerts].len = (size_t)len;
	b->ncerts++;
	OPENSSL_free(der);
}

static void own_free(struct mfs_bundle *b)
{
	free(b->payload_type);
	free(b->payload);
	free(b->sig);
	for (size_t i = 0; i < b->ncerts; i++)
		free(b->certs[i].der);
	memset(b, 0, sizeof(*b));
}

static const char statement[] = "{\n  \"_type\": \"https://in-toto.io/Statement/v1\"\n}";

/* ------------------------------------------------------------ certificates */

struct ext {
	int nid;
	const char *value;
};

#define CA_EXTS \
	{ NID_basic_constraints, "critical,CA:TRUE" }, \
	{ NID_key_usage, "critical,keyCertSign,cRLSign" }, \
	{ NID_subject_key_identifier, "hash" }

static const struct ext root_exts[] = { CA_EXTS, { 0, NULL } };
static const struct ext int_exts[] = {
	CA_EXTS, { NID_authority_key_identifier, "keyid:always" }, { 0, NULL } };
static const struct ext leaf_good[] = {
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, "codeSigning" },
	{ NID_subject_alt_name,
	  "email:signer@example.com,URI:https://example.com/signer,DNS:signer.example.com" },
	{ 0, NULL },
};

/* A certificate for `key` named CN=`cn`, issued by `issuer` (self-signed
 * when NULL) with `issuer_key`, valid [nb, na], with `exts`. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		       time_t nb, time_t na, const struct ext *exts)
{
	static long serial = 1;
	X509V3_CTX v3;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (!x || !name)
		exit(1);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	for (; exts && exts->nid; exts++) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts->nid, exts->value);

		if (!e || X509_add_ext(x, e, -1) != 1) {
			fprintf(stderr, "extension %d=%s failed\n", exts->nid, exts->value);
			exit(1);
		}
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
		fprintf(stderr, "X509_sign failed\n");
		exit(1);
	}
	return x;
}

/* root -> intermediate -> leaf, CA keys on P-256. */
struct chain {
	EVP_PKEY *root_key, *int_key, *leaf_key;
	X509 *root, *inter, *leaf;
};

static void make_chain(struct chain *c, EVP_PKEY *leaf_key, const struct ext *leaf_exts,
		       time_t int_nb, time_t int_na, time_t leaf_nb, time_t leaf_na)
{
	time_t now = time(NULL);

	c->root_key = keygen("P-256");
	c->int_key = keygen("P-256");
	c->leaf_key = leaf_key;
	c->root = make_cert("root", c->root_key, NULL, NULL, int_nb - 10 * DAY,
			    now + 3650L * DAY, root_exts);
	c->inter = make_cert("intermediate", c->int_key, c->root, c->root_key, int_nb, int_na,
			     int_exts);
	c->leaf = make_cert("leaf", leaf_key, c->inter, c->int_key, leaf_nb, leaf_na, leaf_exts);
}

static void free_chain(struct chain *c)
{
	X509_free(c->root);
	X509_free(c->inter);
	X509_free(c->leaf);
	EVP_PKEY_free(c->root_key);
	EVP_PKEY_free(c->int_key);
	EVP_PKEY_free(c->leaf_key);
}

/* Writes `n` certificates as PEM to `name`; returns its path. */
static const char *write_certs(const char *name, X509 *const *xs, int n)
{
	const char *path = unit_at(name);
	FILE *f = fopen(path, "w");

	if (!f)
		exit(1);
	for (int i = 0; i < n; i++)
		PEM_write_X509(f, xs[i]);
	fclose(f);
	return path;
}

/* A certificate bundle over `statement`, signed by the chain's leaf key
 * with `md`, carrying leaf and intermediate. */
static void cert_bundle(struct mfs_bundle *b, struct chain *c, const EVP_MD *md)
{
	own_bundle(b, MFS_SIG_CERTIFICATE, statement, sizeof(statement) - 1);
	own_add_cert(b, c->leaf);
	own_add_cert(b, c->inter);
	own_sign(b, c->leaf_key, md);
}

/* Verifies a chain made with `leaf_exts` (times: now) against its root. */
static int verify_leaf_exts(const struct ext *leaf_exts, const char *identity)
{
	time_t now = time(NULL);
	struct mfs_bundle b;
	struct chain c;
	char roots[512];
	int rc;

	make_chain(&c, keygen("P-256"), leaf_exts, now - DAY, now + DAY, now - 60, now + 60);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha256());
	rc = verify(&b, NULL, roots, identity, NULL);
	own_free(&b);
	free_chain(&c);
	return rc;
}

/* ------------------------------------------------------------ fixtures: key */

static const char *const fixture_keys[] = {
	FIX "v0.3.1-elliptic-key/model.sig",
	FIX "v1.0.0-elliptic-key/model.sig",
	FIX "v1.0.1-elliptic-key/model.sig",
	FIX "v1.1.0-elliptic-key/model.sig",
	SPEC "key.bundle.json",
};

static const char *const fixture_certs[] = {
	FIX "v0.2.0-certificate/model.sig",
	FIX "v0.3.1-certificate/model.sig",
	FIX "v1.0.0-certificate/model.sig",
	FIX "v1.0.1-certificate/model.sig",
	FIX "v1.1.0-certificate/model.sig",
	SPEC "certificate.bundle.json",
};

static const char *const the_key[] = { PUBKEY, NULL };

static void test_fixture_key_bundles_verify(void)
{
	for (size_t i = 0; i < sizeof(fixture_keys) / sizeof(fixture_keys[0]); i++) {
		struct mfs_sig_signer who;
		struct mfs_bundle b;

		if (load_fixture(fixture_keys[i], &b) < 0) {
			CHECK(!"fixture parses");
			continue;
		}
		CHECK_EQ_INT(b.method, MFS_SIG_KEY);
		if (verify(&b, the_key, NULL, NULL, &who) != 0)
			fprintf(stderr, "  %s: %s\n", fixture_keys[i], err);
		CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, &who), 0);
		CHECK_STR(who.who, "key " PUBKEY " (hint e8450dec4eb99dae)");
		CHECK(!who.compat_pae);
		CHECK_STR(err, "");
		/* a certificate_identity means nothing to the key method */
		CHECK_EQ_INT(verify(&b, the_key, NULL, "someone@example.com", NULL), 0);
		mfs_bundle_free(&b);
	}
}

/* v1.1.0 and the spec vector carry the hint; the older ones do not. */
static void test_fixture_key_hints(void)
{
	struct mfs_bundle b;

	if (load_fixture(FIX "v1.1.0-elliptic-key/model.sig", &b) == 0) {
		CHECK_STR(b.key_hint, FIX_HINT);
		mfs_bundle_free(&b);
	}
	if (load_fixture(FIX "v1.0.1-elliptic-key/model.sig", &b) == 0) {
		CHECK_STR(b.key_hint, "");
		mfs_bundle_free(&b);
	}
}

static void test_fixture_key_tampered_payload(void)
{
	for (size_t i = 0; i < sizeof(fixture_keys) / sizeof(fixture_keys[0]); i++) {
		struct mfs_bundle b;

		if (load_fixture(fixture_keys[i], &b) < 0) {
			CHECK(!"fixture parses");
			continue;
		}
		b.payload[b.payload_len / 2] ^= 0x01;
		CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
		CHECK_STR(err, "DSSE signature does not verify with " PUBKEY);
		b.payload[b.payload_len / 2] ^= 0x01;
		b.payload_len--;
		CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
		mfs_bundle_free(&b);
	}
}

/* A P-384 key (the fixture's curve) and a P-256 key that did not sign. */
static void test_fixture_key_wrong_keys(void)
{
	EVP_PKEY *p384 = keygen("P-384"), *p256 = keygen("P-256");
	char other384[512], other256[512];
	struct mfs_sig_signer who;
	struct mfs_bundle hinted, plain;

	unit_tmp_make("sigverify");
	snprintf(other384, sizeof(other384), "%s", write_pub(p384, "other384.pem"));
	snprintf(other256, sizeof(other256), "%s", write_pub(p256, "other256.pem"));
	if (load_fixture(FIX "v1.1.0-elliptic-key/model.sig", &hinted) < 0 ||
	    load_fixture(FIX "v1.0.0-elliptic-key/model.sig", &plain) < 0) {
		CHECK(!"fixtures parse");
		goto out;
	}
	{
		const char *const k384[] = { other384, NULL }, *const k256[] = { other256, NULL };
		const char *const both[] = { other384, other256, NULL };
		const char *const then_good[] = { other384, PUBKEY, other256, NULL };

		/* with a hint, the wrong keys are not even tried */
		CHECK_EQ_INT(verify(&hinted, k384, NULL, NULL, NULL), -EKEYREJECTED);
		CHECK_STR(err, "no configured key matches the bundle's key hint e8450dec4eb99dae");
		CHECK_EQ_INT(verify(&hinted, k256, NULL, NULL, NULL), -EKEYREJECTED);
		CHECK_STR(err, "no configured key matches the bundle's key hint e8450dec4eb99dae");
		/* without one, they are, and fail on the signature */
		CHECK_EQ_INT(verify(&plain, k384, NULL, NULL, NULL), -EKEYREJECTED);
		CHECK_CONTAINS(err, "DSSE signature does not verify with ");
		CHECK_CONTAINS(err, "other384.pem");
		CHECK_EQ_INT(verify(&plain, both, NULL, NULL, &who), -EKEYREJECTED);
		CHECK_CONTAINS(err, "other384.pem, ");
		CHECK_CONTAINS(err, "other256.pem");
		CHECK_STR(who.who, "");
		/* the right key among wrong ones: found, and named */
		CHECK_EQ_INT(verify(&plain, then_good, NULL, NULL, &who), 0);
		CHECK_STR(who.who, "key " PUBKEY " (hint e8450dec4eb99dae)");
		CHECK_EQ_INT(verify(&hinted, then_good, NULL, NULL, &who), 0);
		CHECK_STR(who.who, "key " PUBKEY " (hint e8450dec4eb99dae)");
		/* the hint is compared ignoring case, and is only a hint */
		hinted.key_hint[0] = 'E';
		CHECK_EQ_INT(verify(&hinted, the_key, NULL, NULL, NULL), 0);
		hinted.key_hint[0] = '\0';
		CHECK_EQ_INT(verify(&hinted, the_key, NULL, NULL, NULL), 0);
	}
	mfs_bundle_free(&hinted);
	mfs_bundle_free(&plain);
out:
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p256);
	unit_tmp_remove();
}

static void test_fixture_key_mangled_signatures(void)
{
	static const unsigned char big[4096];
	unsigned char *sig, *longer;
	struct mfs_bundle b;
	size_t len;

	if (load_fixture(FIX "v1.1.0-elliptic-key/model.sig", &b) < 0) {
		CHECK(!"fixture parses");
		return;
	}
	sig = b.sig;
	len = b.sig_len;
	/* empty */
	b.sig_len = 0;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_STR(err, "the DSSE signature is empty");
	b.sig = NULL;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	/* far too long */
	b.sig = (unsigned char *)big;
	b.sig_len = sizeof(big);
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "more than an ECDSA signature can be");
	/* truncated, one byte flipped, zeros of the right length */
	b.sig = sig;
	b.sig_len = len - 1;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	b.sig_len = len;
	sig[len - 1] ^= 0x80;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	sig[len - 1] ^= 0x80;
	b.sig = (unsigned char *)big;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	/* a valid signature with a byte after its DER: not canonical */
	longer = dup_bytes(sig, len + 1);
	memcpy(longer, sig, len);
	longer[len] = 0;
	b.sig = longer;
	b.sig_len = len + 1;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -EKEYREJECTED);
	free(longer);
	b.sig = sig;
	b.sig_len = len;
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), 0);
	mfs_bundle_free(&b);
}

/* ------------------------------------------------------------ fixtures: certificate */

/* The fixtures' leaf is CN=intermediate-ca issued by CN=intermediate-ca
 * (the RSA intermediate under CN=root-ca), a P-384 key with CA:TRUE. */
static void test_fixture_certificate_bundles_verify(void)
{
	for (size_t i = 0; i < sizeof(fixture_certs) / sizeof(fixture_certs[0]); i++) {
		struct mfs_sig_signer who;
		struct mfs_bundle b;

		if (load_fixture(fixture_certs[i], &b) < 0) {
			CHECK(!"fixture parses");
			continue;
		}
		CHECK_EQ_INT(b.method, MFS_SIG_CERTIFICATE);
		CHECK_EQ_INT(b.ncerts, 2);
		if (verify(&b, NULL, CA, NULL, &who) != 0)
			fprintf(stderr, "  %s: %s\n", fixture_certs[i], err);
		CHECK_EQ_INT(verify(&b, NULL, CA, NULL, &who), 0);
		CHECK_STR(who.who, "certificate CN=intermediate-ca (issuer CN=intermediate-ca)");
		/* only v0.2.0 signed the quirky encoding */
		CHECK_EQ_INT(who.compat_pae, i == 0);
		mfs_bundle_free(&b);
	}
}

static void test_fixture_certificate_tampered(void)
{
	for (size_t i = 0; i < sizeof(fixture_certs) / sizeof(fixture_certs[0]); i++) {
		struct mfs_bundle b;

		if (load_fixture(fixture_certs[i], &b) < 0) {
			CHECK(!"fixture parses");
			continue;
		}
		b.payload[b.payload_len / 3] ^= 0x20;
		CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
		CHECK_STR(err, "DSSE signature does not verify with the leaf certificate's key");
		mfs_bundle_free(&b);
	}
}

/* The fixtures' leaf has no subjectAltName at all (openssl x509 -text):
 * any certificate_identity refuses it. */
static void test_fixture_certificate_identity(void)
{
	struct mfs_bundle b;

	if (load_fixture(FIX "v1.1.0-certificate/model.sig", &b) < 0) {
		CHECK(!"fixture parses");
		return;
	}
	CHECK_EQ_INT(verify(&b, NULL, CA, "intermediate-ca", NULL), -EKEYREJECTED);
	CHECK_STR(err, "certificate identity: the leaf has no subjectAltName, and "
		       "'intermediate-ca' is required");
	mfs_bundle_free(&b);
}

static void test_fixture_certificate_roots(void)
{
	struct mfs_bundle b;

	unit_tmp_make("sigverify");
	if (load_fixture(FIX "v1.0.1-certificate/model.sig", &b) < 0) {
		CHECK(!"fixture parses");
		goto out;
	}
	/* the intermediate alone is no trust anchor (no partial chains) */
	CHECK_EQ_INT(verify(&b, NULL, INT_CA, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "certificate chain does not validate at the leaf's notBefore "
			    "2025-05-02T23:36:28Z: ");
	/* a roots file of several certificates, the right one last */
	{
		const char *both = unit_at("both.pem");
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "cat %s %s > %s", INT_CA, CA, both);
		CHECK_EQ_INT(system(cmd), 0);
		CHECK_EQ_INT(verify(&b, NULL, both, NULL, NULL), 0);
	}
	/* a file with no certificate, no file */
	CHECK_EQ_INT(verify(&b, NULL, PUBKEY, NULL, NULL), -EINVAL);
	CHECK_STR(err, "certificate_chain " PUBKEY ": no PEM certificate in it");
	CHECK_EQ_INT(verify(&b, NULL, FIX "no-such.pem", NULL, NULL), -EINVAL);
	CHECK_STR(err, "certificate_chain " FIX "no-such.pem: No such file or directory");
	/* no chain configured: the method is not available */
	CHECK_EQ_INT(verify(&b, the_key, NULL, NULL, NULL), -ENOTSUP);
	CHECK_STR(err, "a certificate bundle, and no certificate_chain to check it with");
	mfs_bundle_free(&b);
	/* and the other way round */
	if (load_fixture(FIX "v1.0.1-elliptic-key/model.sig", &b) == 0) {
		CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -ENOTSUP);
		CHECK_STR(err, "a key bundle, and no public_keys to check it with");
		mfs_bundle_free(&b);
	}
out:
	unit_tmp_remove();
}

/* The bundle's certificates, mangled. */
static void test_fixture_certificate_garbage(void)
{
	static const unsigned char junk[] = "\x30\x82\x01\x00 not a certificate";
	struct mfs_bundle b;
	struct mfs_der leaf, inter;
	unsigned char *longer;

	if (load_fixture(FIX "v1.1.0-certificate/model.sig", &b) < 0) {
		CHECK(!"fixture parses");
		return;
	}
	leaf = b.certs[0];
	inter = b.certs[1];
	b.certs[0].der = (unsigned char *)junk;
	b.certs[0].len = sizeof(junk) - 1;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	CHECK_STR(err,
		  "certificate 0 of the bundle's chain (the leaf) is not a DER X.509 certificate");
	b.certs[0] = leaf;
	b.certs[1].der = (unsigned char *)junk;
	b.certs[1].len = 1;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "certificate 1 of the bundle's chain (an intermediate)");
	b.certs[1].len = 0;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	/* one byte after a good DER certificate */
	longer = dup_bytes(leaf.der, leaf.len + 1);
	longer[leaf.len] = 0;
	b.certs[1] = inter;
	b.certs[0].der = longer;
	b.certs[0].len = leaf.len + 1;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "(the leaf) is not a DER X.509 certificate");
	/* truncated */
	b.certs[0].len = leaf.len - 1;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	free(longer);
	b.certs[0] = leaf;
	/* without its intermediate, the leaf does not reach the root */
	b.ncerts = 1;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "unable to get local issuer certificate at depth 0 "
			    "(CN=intermediate-ca)");
	b.ncerts = 0;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), -EKEYREJECTED);
	CHECK_STR(err, "the bundle's certificate chain has 0 certificates");
	b.ncerts = 2;
	CHECK_EQ_INT(verify(&b, NULL, CA, NULL, NULL), 0);
	mfs_bundle_free(&b);
}

static void test_fixture_keyless(void)
{
	static const char *const bundles[] = {
		FIX "v1.1.0-sigstore/model.sig",
		FIX "v0.3.1-sigstore/model.sig",
	};

	for (size_t i = 0; i < 2; i++) {
		struct mfs_bundle b;

		if (load_fixture(bundles[i], &b) < 0) {
			CHECK(!"fixture parses");
			continue;
		}
		CHECK_EQ_INT(b.method, MFS_SIG_KEYLESS);
		/* Key and certificate trust say nothing about a keyless
		 * bundle (test_keyless checks it with a trusted root). */
		CHECK_EQ_INT(verify(&b, the_key, CA, NULL, NULL), -ENOTSUP);
		CHECK_STR(err, "a keyless bundle, and no sigstore_trusted_root to check it with");
		mfs_bundle_free(&b);
	}
}

/* ------------------------------------------------------------ own keys */

static void test_own_curves_and_hashes(void)
{
	static const struct {
		const char *curve;
		const char *md;
	} good[] = { { "P-256", "SHA256" }, { "P-384", "SHA384" }, { "P-521", "SHA512" } };

	unit_tmp_make("sigverify");
	for (size_t i = 0; i < 3; i++) {
		EVP_PKEY *pk = keygen(good[i].curve);
		const EVP_MD *md = EVP_get_digestbyname(good[i].md);
		char path[512], hint[65], want[600];
		const char *keys[] = { path, NULL };
		struct mfs_sig_signer who;
		struct mfs_bundle b;

		snprintf(path, sizeof(path), "%s", write_pub(pk, "key.pem"));
		hint_of(pk, hint);
		own_bundle(&b, MFS_SIG_KEY, statement, sizeof(statement) - 1);
		own_sign(&b, pk, md);
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, &who), 0);
		snprintf(want, sizeof(want), "key %s (hint %.16s)", path, hint);
		CHECK_STR(who.who, want);
		snprintf(b.key_hint, sizeof(b.key_hint), "%s", hint);
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), 0);
		/* every other hash is refused, SHA-256 included on P-384/521 */
		for (size_t j = 0; j < 3; j++) {
			if (j == i)
				continue;
			own_sign(&b, pk, EVP_get_digestbyname(good[j].md));
			CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
			CHECK_CONTAINS(err, "DSSE signature does not verify with ");
			CHECK_CONTAINS(err, path);
		}
		own_sign(&b, pk, EVP_sha1());
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
		/* an empty payload is a payload */
		own_free(&b);
		own_bundle(&b, MFS_SIG_KEY, "", 0);
		own_sign(&b, pk, md);
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), 0);
		own_free(&b);
		EVP_PKEY_free(pk);
	}
	unit_tmp_remove();
}

/* Signed with one P-384 key; another P-384 key, and a P-256 one. */
static void test_own_other_keys(void)
{
	EVP_PKEY *signer = keygen("P-384"), *other = keygen("P-384"), *p256 = keygen("P-256");
	char good[512], bad[512], small[512], hint[65];
	const char *k_bad[] = { bad, NULL }, *k_small[] = { small, NULL };
	const char *k_all[] = { small, bad, good, NULL };
	struct mfs_sig_signer who;
	struct mfs_bundle b;

	unit_tmp_make("sigverify");
	snprintf(good, sizeof(good), "%s", write_pub(signer, "signer.pem"));
	snprintf(bad, sizeof(bad), "%s", write_pub(other, "other.pem"));
	snprintf(small, sizeof(small), "%s", write_pub(p256, "p256.pem"));
	own_bundle(&b, MFS_SIG_KEY, statement, sizeof(statement) - 1);
	own_sign(&b, signer, EVP_sha384());
	CHECK_EQ_INT(verify(&b, k_bad, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_STR(err + strlen(err) - strlen("other.pem"), "other.pem");
	CHECK_EQ_INT(verify(&b, k_small, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "DSSE signature does not verify with ");
	CHECK_EQ_INT(verify(&b, k_all, NULL, NULL, &who), 0);
	CHECK_CONTAINS(who.who, "signer.pem");
	hint_of(signer, hint);
	snprintf(b.key_hint, sizeof(b.key_hint), "%s", hint);
	CHECK_EQ_INT(verify(&b, k_bad, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "no configured key matches the bundle's key hint ");
	CHECK_EQ_INT(strlen(err), strlen("no configured key matches the bundle's key hint ") + 16);
	CHECK_EQ_INT(verify(&b, k_small, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "no configured key matches the bundle's key hint ");
	CHECK_EQ_INT(verify(&b, k_all, NULL, NULL, NULL), 0);
	/* a hostile hint is quoted printably */
	snprintf(b.key_hint, sizeof(b.key_hint), "\x1b[31m\n%s", hint);
	CHECK_EQ_INT(verify(&b, k_all, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "key hint ?[31m?");
	own_free(&b);
	EVP_PKEY_free(signer);
	EVP_PKEY_free(other);
	EVP_PKEY_free(p256);
	unit_tmp_remove();
}

/* Keys model_signing does not accept: refused as configuration, even
 * after a key that verifies. */
static void test_own_unsupported_keys(void)
{
	static const struct {
		const char *type;
		const char *curve;
		const char *says;
	} keys[] = {
		{ "RSA", NULL, "key type RSA is not ECDSA on P-256, P-384 or P-521" },
		{ "ED25519", NULL, "key type ED25519 is not ECDSA" },
		{ "ED448", NULL, "key type ED448 is not" },
		{ "EC", "secp256k1", "curve secp256k1 is not P-256, P-384 or P-521" },
		{ "EC", "brainpoolP384r1", "curve brainpoolP384r1 is not" },
	};
	EVP_PKEY *signer = keygen("P-384");
	struct mfs_bundle b;
	char good[512];

	unit_tmp_make("sigverify");
	snprintf(good, sizeof(good), "%s", write_pub(signer, "signer.pem"));
	own_bundle(&b, MFS_SIG_KEY, statement, sizeof(statement) - 1);
	own_sign(&b, signer, EVP_sha384());
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EVP_PKEY *pk;
		char path[512];
		const char *alone[] = { path, NULL }, *after[] = { good, path, NULL };

		if (keys[i].curve)
			pk = EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type, keys[i].curve);
		else if (strcmp(keys[i].type, "RSA") == 0)
			pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		else
			pk = EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type);
		CHECK(pk != NULL);
		if (!pk)
			continue;
		snprintf(path, sizeof(path), "%s", write_pub(pk, "odd.pem"));
		CHECK_EQ_INT(verify(&b, alone, NULL, NULL, NULL), -EINVAL);
		CHECK_CONTAINS(err, keys[i].says);
		CHECK_CONTAINS(err, "odd.pem: ");
		CHECK_EQ_INT(verify(&b, after, NULL, NULL, NULL), -EINVAL);
		CHECK_CONTAINS(err, keys[i].says);
		EVP_PKEY_free(pk);
	}
	own_free(&b);
	EVP_PKEY_free(signer);
	unit_tmp_remove();
}

static void test_own_key_files(void)
{
	EVP_PKEY *signer = keygen("P-256");
	struct mfs_bundle b;
	char good[512], empty[512], text[512];
	const char *missing[] = { good, FIX "no-such.pem", NULL };
	const char *none[] = { NULL };
	const char *k_empty[] = { empty, NULL }, *k_text[] = { text, NULL };
	FILE *f;

	unit_tmp_make("sigverify");
	snprintf(good, sizeof(good), "%s", write_pub(signer, "signer.pem"));
	snprintf(empty, sizeof(empty), "%s", unit_at("empty.pem"));
	snprintf(text, sizeof(text), "%s", unit_at("text.pem"));
	f = fopen(empty, "w");
	fclose(f);
	f = fopen(text, "w");
	fputs("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n", f);
	fclose(f);
	own_bundle(&b, MFS_SIG_KEY, statement, sizeof(statement) - 1);
	own_sign(&b, signer, EVP_sha256());
	CHECK_EQ_INT(verify(&b, missing, NULL, NULL, NULL), -EINVAL);
	CHECK_STR(err, "public key " FIX "no-such.pem: No such file or directory");
	CHECK_EQ_INT(verify(&b, k_empty, NULL, NULL, NULL), -EINVAL);
	CHECK_CONTAINS(err, "no PEM public key (BEGIN PUBLIC KEY) in it");
	CHECK_EQ_INT(verify(&b, k_text, NULL, NULL, NULL), -EINVAL);
	CHECK_CONTAINS(err, "no PEM public key");
	CHECK_EQ_INT(verify(&b, none, NULL, NULL, NULL), -ENOTSUP);
	CHECK_EQ_INT(verify(&b, NULL, NULL, NULL, NULL), -ENOTSUP);
	CHECK_STR(err, "a key bundle, and no public_keys to check it with");
	/* a NULL trust, a NULL err */
	CHECK_EQ_INT(mfs_sig_verify(&b, NULL, NULL, NULL, 0), -ENOTSUP);
	CHECK_EQ_INT(mfs_sig_verify(&b, NULL, NULL, err, 0), -ENOTSUP);
	own_free(&b);
	EVP_PKEY_free(signer);
	unit_tmp_remove();
}

static void test_own_payload_type(void)
{
	EVP_PKEY *signer = keygen("P-256");
	struct mfs_bundle b;
	char good[512];
	const char *keys[] = { good, NULL };

	unit_tmp_make("sigverify");
	snprintf(good, sizeof(good), "%s", write_pub(signer, "signer.pem"));
	own_bundle(&b, MFS_SIG_KEY, statement, sizeof(statement) - 1);
	own_sign(&b, signer, EVP_sha256());
	CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), 0);
	free(b.payload_type);
	b.payload_type = strdup("text/plain\n");
	CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
	CHECK_STR(err, "payloadType text/plain? is not " PAYLOAD_TYPE);
	free(b.payload_type);
	b.payload_type = NULL;
	CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
	b.payload_type = strdup(PAYLOAD_TYPE);
	b.method = MFS_SIG_KEYLESS;
	CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -ENOTSUP);
	CHECK_STR(err, "a keyless bundle, and no sigstore_trusted_root to check it with");
	own_free(&b);
	EVP_PKEY_free(signer);
	unit_tmp_remove();
}

/* model_signing v0.2.0's encoding: "DSSEV1 ... <len> " + repr(payload),
 * SHA-256 whatever the curve.  The literals below are what Python 3
 * prints for repr() of each payload. */
static void test_own_compat_pae(void)
{
	static const struct {
		const char *payload;
		size_t len;
		const char *repr;
	} cases[] = {
		{ "{\"a\": 1}\n", 9, "b'{\"a\": 1}\\n'" },
		{ "it's", 4, "b\"it's\"" },
		{ "'\"", 2, "b'\\'\"'" },
		{ "\\\t\r\0\x1f\x7f\x80\xff ~", 10, "b'\\\\\\t\\r\\x00\\x1f\\x7f\\x80\\xff ~'" },
		{ "", 0, "b''" },
	};
	EVP_PKEY *signer = keygen("P-384");
	char good[512];
	const char *keys[] = { good, NULL };

	unit_tmp_make("sigverify");
	snprintf(good, sizeof(good), "%s", write_pub(signer, "signer.pem"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mfs_sig_signer who;
		struct mfs_bundle b;
		char pae[256], *x;

		own_bundle(&b, MFS_SIG_KEY, cases[i].payload, cases[i].len);
		snprintf(pae, sizeof(pae), "DSSEV1 28 " PAYLOAD_TYPE " %zu %s", cases[i].len,
			 cases[i].repr);
		own_sign_msg(&b, signer, EVP_sha256(), pae, strlen(pae));
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, &who), 0);
		CHECK(who.compat_pae);
		/* the curve's own hash over it: not what v0.2.0 did */
		own_sign_msg(&b, signer, EVP_sha384(), pae, strlen(pae));
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
		/* "DSSEv1" with the repr: neither encoding */
		pae[5] = 'v';
		own_sign_msg(&b, signer, EVP_sha256(), pae, strlen(pae));
		CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
		pae[5] = 'V';
		/* upper-case hex, or the other quote: not Python's repr */
		if ((x = strstr(pae, "\\xff")) != NULL) {
			memcpy(x, "\\xFF", 4);
			own_sign_msg(&b, signer, EVP_sha256(), pae, strlen(pae));
			CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
		}
		if ((x = strstr(pae, "b\"it's\"")) != NULL) {
			memcpy(x, "b'it\\'s'", 8);
			own_sign_msg(&b, signer, EVP_sha256(), pae, strlen(pae));
			CHECK_EQ_INT(verify(&b, keys, NULL, NULL, NULL), -EKEYREJECTED);
		}
		own_free(&b);
	}
	unit_tmp_remove();
	EVP_PKEY_free(signer);
}

/* ------------------------------------------------------------ own chains */

static void test_own_chain_verifies(void)
{
	time_t now = time(NULL);
	struct mfs_sig_signer who;
	struct mfs_bundle b;
	struct chain c;
	char roots[512];

	unit_tmp_make("sigverify");
	make_chain(&c, keygen("P-384"), leaf_good, now - DAY, now + DAY, now - 60, now + 60);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha384());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, &who), 0);
	CHECK_STR(who.who, "certificate CN=leaf (issuer CN=intermediate)");
	CHECK(!who.compat_pae);
	/* identity: each SAN type, byte for byte */
	CHECK_EQ_INT(verify(&b, NULL, roots, "signer@example.com", NULL), 0);
	CHECK_EQ_INT(verify(&b, NULL, roots, "https://example.com/signer", NULL), 0);
	CHECK_EQ_INT(verify(&b, NULL, roots, "signer.example.com", NULL), 0);
	CHECK_EQ_INT(verify(&b, NULL, roots, "other@example.com", NULL), -EKEYREJECTED);
	CHECK_STR(err, "certificate identity: 'other@example.com' is not among the leaf's SANs "
		       "(email:signer@example.com, URI:https://example.com/signer, "
		       "DNS:signer.example.com)");
	CHECK_EQ_INT(verify(&b, NULL, roots, "Signer@example.com", NULL), -EKEYREJECTED);
	CHECK_EQ_INT(verify(&b, NULL, roots, "signer@example.co", NULL), -EKEYREJECTED);
	CHECK_EQ_INT(verify(&b, NULL, roots, "signer@example.comm", NULL), -EKEYREJECTED);
	CHECK_EQ_INT(verify(&b, NULL, roots, "leaf", NULL), -EKEYREJECTED);
	CHECK_EQ_INT(verify(&b, NULL, roots, "", NULL), -EKEYREJECTED);
	/* signed by another key than the leaf's */
	own_sign(&b, c.int_key, EVP_sha256());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, &who), -EKEYREJECTED);
	CHECK_STR(err, "DSSE signature does not verify with the leaf certificate's key");
	CHECK_STR(who.who, "");
	/* the leaf's key with SHA-256 on P-384 */
	own_sign(&b, c.leaf_key, EVP_sha256());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), -EKEYREJECTED);
	/* an untrusted root: another CA's, or the leaf itself */
	{
		EVP_PKEY *k = keygen("P-256");
		X509 *stranger = make_cert("root", k, NULL, NULL, now - DAY, now + DAY, root_exts);
		const char *other = write_certs("other.pem", &stranger, 1);

		own_sign(&b, c.leaf_key, EVP_sha384());
		CHECK_EQ_INT(verify(&b, NULL, other, NULL, NULL), -EKEYREJECTED);
		CHECK_CONTAINS(err, "certificate chain does not validate at the leaf's notBefore ");
		CHECK_CONTAINS(err, "at depth 1 (CN=intermediate)");
		CHECK_EQ_INT(verify(&b, NULL, write_certs("leaf.pem", &c.leaf, 1), NULL, NULL),
			     -EKEYREJECTED);
		CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), 0);
		X509_free(stranger);
		EVP_PKEY_free(k);
	}
	/* the root as the bundle's only certificate, the leaf missing */
	{
		struct mfs_der leaf = b.certs[0];

		b.certs[0] = b.certs[1];
		b.ncerts = 1;
		CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), -EKEYREJECTED);
		b.certs[0] = leaf;
		b.ncerts = 2;
	}
	own_free(&b);
	free_chain(&c);
	unit_tmp_remove();
}

static void test_own_chain_usage(void)
{
	static const struct ext wrong_usage[] = {
		{ NID_key_usage, "critical,keyEncipherment,keyCertSign" },
		{ NID_ext_key_usage, "serverAuth,emailProtection" },
		{ 0, NULL },
	};
	static const struct ext no_usage[] = {
		{ NID_basic_constraints, "CA:FALSE" },
		{ 0, NULL },
	};
	static const struct ext ku_only[] = {
		{ NID_key_usage, "critical,digitalSignature" },
		{ 0, NULL },
	};
	static const struct ext eku_only[] = {
		{ NID_ext_key_usage, "codeSigning" },
		{ 0, NULL },
	};
	static const struct ext eku_rescues_ku[] = {
		{ NID_key_usage, "keyEncipherment" },
		{ NID_ext_key_usage, "serverAuth,codeSigning" },
		{ 0, NULL },
	};
	static const struct ext ku_without_eku[] = {
		{ NID_key_usage, "digitalSignature,nonRepudiation" },
		{ NID_ext_key_usage, "serverAuth" },
		{ 0, NULL },
	};
	static const struct ext any_eku[] = {
		{ NID_ext_key_usage, "anyExtendedKeyUsage" },
		{ 0, NULL },
	};
	static const struct ext ca_leaf[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_subject_alt_name, "email:ca@example.com" },
		{ 0, NULL },
	};
	static const struct ext other_sans[] = {
		{ NID_key_usage, "digitalSignature" },
		{ NID_subject_alt_name, "IP:127.0.0.1,otherName:1.2.3.4;UTF8:signer@example.com" },
		{ 0, NULL },
	};

	unit_tmp_make("sigverify");
	CHECK_EQ_INT(verify_leaf_exts(wrong_usage, NULL), -EKEYREJECTED);
	CHECK_STR(err, "certificate usage: the leaf's KeyUsage and ExtendedKeyUsage allow "
		       "neither digitalSignature nor codeSigning");
	CHECK_EQ_INT(verify_leaf_exts(no_usage, NULL), -EKEYREJECTED);
	CHECK_STR(err, "certificate usage: the leaf has neither KeyUsage nor "
		       "ExtendedKeyUsage; it needs digitalSignature or codeSigning");
	CHECK_EQ_INT(verify_leaf_exts(NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "certificate usage: the leaf has neither");
	CHECK_EQ_INT(verify_leaf_exts(any_eku, NULL), -EKEYREJECTED);
	CHECK_EQ_INT(verify_leaf_exts(ku_without_eku, NULL), 0);
	CHECK_EQ_INT(verify_leaf_exts(ku_only, NULL), 0);
	CHECK_EQ_INT(verify_leaf_exts(eku_only, NULL), 0);
	CHECK_EQ_INT(verify_leaf_exts(eku_rescues_ku, NULL), 0);
	/* like the fixtures' leaf, a CA may sign */
	CHECK_EQ_INT(verify_leaf_exts(ca_leaf, NULL), 0);
	CHECK_EQ_INT(verify_leaf_exts(ca_leaf, "ca@example.com"), 0);
	/* SANs of other types never match, and no SAN at all */
	CHECK_EQ_INT(verify_leaf_exts(other_sans, "signer@example.com"), -EKEYREJECTED);
	CHECK_STR(err, "certificate identity: 'signer@example.com' is not among the leaf's SANs "
		       "(none of type email, URI or DNS)");
	CHECK_EQ_INT(verify_leaf_exts(ku_only, "signer@example.com"), -EKEYREJECTED);
	CHECK_CONTAINS(err, "the leaf has no subjectAltName");
	unit_tmp_remove();
}

/* The chain is checked at the leaf's notBefore, not now. */
static void test_own_chain_times(void)
{
	time_t now = time(NULL);
	time_t y2001 = 978307200; /* 2001-01-01T00:00:00Z */
	struct mfs_bundle b;
	struct chain c;
	char roots[512];

	unit_tmp_make("sigverify");
	/* all long expired, but valid when the leaf was issued */
	make_chain(&c, keygen("P-256"), leaf_good, y2001 - DAY, y2001 + 30 * DAY, y2001,
		   y2001 + DAY);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha256());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), 0);
	own_free(&b);
	free_chain(&c);

	/* the intermediate expired before the leaf's notBefore */
	make_chain(&c, keygen("P-256"), leaf_good, now - 10 * DAY, now - 2 * DAY, now - DAY,
		   now + DAY);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha256());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, "certificate chain does not validate at the leaf's notBefore ");
	CHECK_CONTAINS(err, ": certificate has expired at depth 1 (CN=intermediate)");
	own_free(&b);
	free_chain(&c);

	/* the leaf issued before its intermediate was valid */
	make_chain(&c, keygen("P-256"), leaf_good, now - DAY, now + DAY, now - 2 * DAY,
		   now + DAY);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha256());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), -EKEYREJECTED);
	CHECK_CONTAINS(err, ": certificate is not yet valid at depth 1 (CN=intermediate)");
	own_free(&b);
	free_chain(&c);

	/* a leaf that is only valid in the future is valid at its notBefore
	 * too: what the chain proves is that the CA issued it */
	make_chain(&c, keygen("P-256"), leaf_good, now - DAY, now + 30 * DAY, now + DAY,
		   now + 2 * DAY);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha256());
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), 0);
	own_free(&b);
	free_chain(&c);
	unit_tmp_remove();
}

/* Leaf keys model_signing does not sign with: the bundle is refused. */
static void test_own_chain_leaf_keys(void)
{
	static const char *const types[] = { "RSA", "ED25519", "secp256k1" };
	time_t now = time(NULL);

	unit_tmp_make("sigverify");
	for (size_t i = 0; i < 3; i++) {
		EVP_PKEY *pk;
		struct mfs_bundle b;
		struct chain c;
		char roots[512];

		/* RSA-1024: a signature short enough to get past the size check */
		if (i == 0)
			pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		else if (i == 1)
			pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		else
			pk = keygen("secp256k1");
		make_chain(&c, pk, leaf_good, now - DAY, now + DAY, now - 60, now + 60);
		snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
		own_bundle(&b, MFS_SIG_CERTIFICATE, statement, sizeof(statement) - 1);
		own_add_cert(&b, c.leaf);
		own_add_cert(&b, c.inter);
		own_sign(&b, pk, i == 1 ? NULL : EVP_sha256());
		CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), -EKEYREJECTED);
		CHECK_CONTAINS(err, "certificate key: the leaf's ");
		CHECK_CONTAINS(err, types[i]);
		own_free(&b);
		free_chain(&c);
	}
	unit_tmp_remove();
}

static void test_own_roots_files(void)
{
	time_t now = time(NULL);
	struct mfs_bundle b;
	struct chain c;
	char roots[512], bad[512];
	FILE *f;

	unit_tmp_make("sigverify");
	make_chain(&c, keygen("P-256"), leaf_good, now - DAY, now + DAY, now - 60, now + 60);
	snprintf(roots, sizeof(roots), "%s", write_certs("roots.pem", &c.root, 1));
	cert_bundle(&b, &c, EVP_sha256());
	/* the right root, then a corrupt one */
	snprintf(bad, sizeof(bad), "%s", write_certs("bad.pem", &c.root, 1));
	f = fopen(bad, "a");
	fputs("-----BEGIN CERTIFICATE-----\nMIIBbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	CHECK_EQ_INT(verify(&b, NULL, bad, NULL, NULL), -EINVAL);
	CHECK_CONTAINS(err, "bad.pem: certificate 2 does not parse");
	/* text around the certificates is fine */
	f = fopen(bad, "w");
	fputs("Trusted roots of example.com\n\n", f);
	PEM_write_X509(f, c.root);
	fputs("\nThe end.\n", f);
	fclose(f);
	CHECK_EQ_INT(verify(&b, NULL, bad, NULL, NULL), 0);
	CHECK_EQ_INT(verify(&b, NULL, roots, NULL, NULL), 0);
	own_free(&b);
	free_chain(&c);
	unit_tmp_remove();
}

int main(void)
{
	RUN(test_fixture_key_bundles_verify);
	RUN(test_fixture_key_hints);
	RUN(test_fixture_key_tampered_payload);
	RUN(test_fixture_key_wrong_keys);
	RUN(test_fixture_key_mangled_signatures);
	RUN(test_fixture_certificate_bundles_verify);
	RUN(test_fixture_certificate_tampered);
	RUN(test_fixture_certificate_identity);
	RUN(test_fixture_certificate_roots);
	RUN(test_fixture_certificate_garbage);
	RUN(test_fixture_keyless);
	RUN(test_own_curves_and_hashes);
	RUN(test_own_other_keys);
	RUN(test_own_unsupported_keys);
	RUN(test_own_key_files);
	RUN(test_own_payload_type);
	RUN(test_own_compat_pae);
	RUN(test_own_chain_verifies);
	RUN(test_own_chain_usage);
	RUN(test_own_chain_times);
	RUN(test_own_chain_leaf_keys);
	RUN(test_own_roots_files);
	return unit_done();
}
