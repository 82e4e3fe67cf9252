/* Tests of rekor.h: the real keyless fixtures against the production and
 * staging trusted roots, one flipped byte in each part of their entries,
 * synthetic Merkle trees, and an Ed25519 log made here (key, signed note,
 * SET, whole entry). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "rekor.h"
#include "trustroot.h"
#include "jsonflip.h"
#include "unit.h"

#define PROD "tests/data/oms/sigstore-python-trust/trusted_root.production.json"
#define STAGING "tests/data/oms/sigstore-python-trust/trusted_root.staging.json"

static const struct {
	const char *path;
	long long time, index;
} fixtures[] = {
	{ "tests/data/oms/scripts/tests/v0.3.1-sigstore/model.sig", 1746234602, 206342049 },
	{ "tests/data/oms/scripts/tests/v1.0.0-sigstore/model.sig", 1746236086, 206344181 },
	{ "tests/data/oms/scripts/tests/v1.0.1-sigstore/model.sig", 1759851228, 588939812 },
	{ "tests/data/oms/scripts/tests/v1.1.0-sigstore/model.sig", 1760062340, 598151086 },
	{ "tests/data/oms/ossf-model-signing-spec/test-vectors/v1.0/valid/sigstore.bundle.json",
	  1760062340, 598151086 },
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

/* The tlogs of the trusted root at `path`, read as keyless.c reads it
 * (mfs_trust_root_load); its errors. */
static int load_tlogs(const char *path, struct mfs_tlog_root *out, char *err, size_t errlen)
{
	struct mfs_trust_root root;
	int rc = mfs_trust_root_load(path, &root, err, errlen);

	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return rc;
	*out = root.tlogs;
	memset(&root.tlogs, 0, sizeof(root.tlogs));
	mfs_trust_root_free(&root);
	return 0;
}

/* The bundle at `path`, parsed as the FS does (mfs_bundle_parse). */
static int load_bundle(const char *path, struct mfs_bundle *b)
{
	static char buf[1 << 20];
	char err[256];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (mfs_bundle_parse(buf, n, b, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s: %s\n", path, err);
		return -EINVAL;
	}
	return 0;
}

/* A copy of the bundle's tlogEntries[0] (json_decref it). */
static json_t *fixture_entry(size_t i)
{
	struct mfs_bundle b;
	json_t *e;

	if (load_bundle(fixtures[i].path, &b) != 0)
		return NULL;
	e = json_array_get(json_object_get(json_object_get(b.json, "verificationMaterial"),
					   "tlogEntries"), 0);
	e = json_deep_copy(e);
	mfs_bundle_free(&b);
	return e;
}

static void test_root_load(void)
{
	struct mfs_tlog_root r;
	char err[256];

	CHECK_EQ_INT(load_tlogs(PROD, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.nlogs, 2);
	CHECK_EQ_INT(r.nskipped, 0);
	CHECK_STR(r.logs[0].base_url, "https://rekor.sigstore.dev");
	CHECK_EQ_INT(r.logs[0].alg, MFS_TLOG_ECDSA_SHA256);
	CHECK_EQ_INT(r.logs[0].valid_from, 1610452407);   /* 2021-01-12T11:53:27Z */
	CHECK(r.logs[0].valid_until == INT64_MAX);
	/* Its Ed25519 (Rekor v2) log is named by its signed-note key ID. */
	CHECK_EQ_INT(r.logs[1].alg, MFS_TLOG_ED25519);
	mfs_tlog_root_free(&r);
	mfs_tlog_root_free(&r);

	CHECK_EQ_INT(load_tlogs(STAGING, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.nlogs, 4);
	CHECK_EQ_INT(r.logs[1].valid_until, 1756944000);  /* 2025-09-04T00:00:00Z */
	mfs_tlog_root_free(&r);

	CHECK_EQ_INT(load_tlogs("tests/data/no-such-root.json", &r, err, sizeof(err)),
		     -ENOENT);
	CHECK_EQ_INT(load_tlogs(fixtures[0].path, &r, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "not a Sigstore trusted root");
}

/* A root whose first log's member `key` (under publicKey if `inpk`) is
 * replaced by `val` is refused. */
static void root_refuses(bool inpk, const char *key, json_t *val, const char *why)
{
	json_error_t jerr;
	json_t *doc = json_load_file(PROD, 0, &jerr), *t;
	struct mfs_tlog_root r;
	char err[256];

	t = json_array_get(json_object_get(doc, "tlogs"), 0);
	json_object_set_new(inpk ? json_object_get(t, "publicKey") : t, key, val);
	CHECK_EQ_INT(mfs_tlog_root_parse(doc, &r, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, why);
	CHECK_EQ_INT(r.nlogs, 0);
	json_decref(doc);
}

static void test_root_refuses(void)
{
	json_error_t jerr;
	json_t *doc = json_load_file(PROD, 0, &jerr), *t;
	struct mfs_tlog_root r;
	char err[256];

	/* Another log's key under this log's ID. */
	t = json_array_get(json_object_get(doc, "tlogs"), 0);
	json_object_set(json_object_get(t, "logId"), "keyId",
			json_object_get(json_object_get(json_array_get(json_object_get(doc,
				"tlogs"), 1), "logId"), "keyId"));
	CHECK_EQ_INT(mfs_tlog_root_parse(doc, &r, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "tlogs[0].logId.keyId: not the key's ID");
	json_decref(doc);

	root_refuses(true, "keyDetails", json_string("PKIX_ECDSA_P384_SHA_384"),
		     "not a PKIX_ECDSA_P384_SHA_384 key");
	root_refuses(true, "rawBytes", json_string("AAAA"), "not a DER key");
	root_refuses(true, "validFor", json_pack("{s:s}", "start", "2021-01-12 11:53:27"),
		     "validFor.start");
	root_refuses(true, "validFor", json_pack("{s:s,s:s}", "start", "2021-01-12T11:53:27Z",
						 "end", "2020-01-01T00:00:00Z"), "validFor.end");
	root_refuses(false, "baseUrl", json_integer(1), "baseUrl");

	/* Kinds not checked here are left out, not fatal. */
	doc = json_load_file(PROD, 0, &jerr);
	t = json_array_get(json_object_get(doc, "tlogs"), 1);
	json_object_set_new(json_object_get(t, "publicKey"), "keyDetails",
			    json_string("PKIX_FUTURE_PQ"));
	CHECK_EQ_INT(mfs_tlog_root_parse(doc, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.nlogs, 1);
	CHECK_EQ_INT(r.nskipped, 1);
	mfs_tlog_root_free(&r);
	json_decref(doc);
}

static void test_fixtures_verify(void)
{
	struct mfs_tlog_root r;
	struct mfs_rekor_result res;
	char err[256];

	CHECK_EQ_INT(load_tlogs(PROD, &r, err, sizeof(err)), 0);
	for (size_t i = 0; i < NFIX; i++) {
		json_t *e = fixture_entry(i);
		int rc;

		CHECK(e != NULL);
		err[0] = '\0';
		rc = mfs_rekor_verify(e, &r, &res, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "  %s: %s\n", fixtures[i].path, err);
		CHECK_EQ_INT(rc, 0);
		CHECK_EQ_INT(res.step, MFS_REKOR_OK);
		CHECK_EQ_INT(res.integrated_time, fixtures[i].time);
		CHECK_EQ_INT(res.log_index, fixtures[i].index);
		CHECK(res.log == &r.logs[0]);
		CHECK(res.tree_size > 0);
		json_decref(e);
	}
	mfs_tlog_root_free(&r);
}

static void test_staging_refuses(void)
{
	struct mfs_tlog_root r;
	struct mfs_rekor_result res;
	char err[256];

	CHECK_EQ_INT(load_tlogs(STAGING, &r, err, sizeof(err)), 0);
	for (size_t i = 0; i < NFIX; i++) {
		json_t *e = fixture_entry(i);

		CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -ENOKEY);
		CHECK_EQ_INT(res.step, MFS_REKOR_LOG);
		CHECK_CONTAINS(err, "log not in the trusted root");
		json_decref(e);
	}
	mfs_tlog_root_free(&r);
}

static json_t *at(json_t *e, const char *a, const char *b)
{
	json_t *j = json_object_get(e, a);

	return b ? json_object_get(j, b) : j;
}

static void test_tamper(void)
{
	static const struct {
		const char *what, *a, *b;
		long pos;
		int rc;
		enum mfs_rekor_step step;
	} cases[] = {
		{ "SET", "inclusionPromise", "signedEntryTimestamp", 20, -EKEYREJECTED,
		  MFS_REKOR_SET },
		{ "canonicalizedBody", "canonicalizedBody", NULL, 100, -EKEYREJECTED,
		  MFS_REKOR_SET },
		{ "integratedTime", "integratedTime", NULL, -1, -EKEYREJECTED, MFS_REKOR_SET },
		{ "logIndex", "logIndex", NULL, -1, -EKEYREJECTED, MFS_REKOR_SET },
		{ "logId", "logId", "keyId", 5, -ENOKEY, MFS_REKOR_LOG },
		{ "hashes[0]", "inclusionProof", "hashes", 7, -EKEYREJECTED,
		  MFS_REKOR_INCLUSION },
		{ "rootHash", "inclusionProof", "rootHash", 7, -EKEYREJECTED,
		  MFS_REKOR_INCLUSION },
		{ "proof logIndex", "inclusionProof", "logIndex", -1, -EKEYREJECTED,
		  MFS_REKOR_INCLUSION },
		{ "treeSize", "inclusionProof", "treeSize", 0, -EKEYREJECTED,
		  MFS_REKOR_INCLUSION },
		{ "checkpoint signature", "inclusionProof", "checkpoint", -10, -EKEYREJECTED,
		  MFS_REKOR_CHECKPOINT },
		{ "checkpoint body", "inclusionProof", "checkpoint", 50, -EKEYREJECTED,
		  MFS_REKOR_CHECKPOINT },
	};
	struct mfs_tlog_root r;
	struct mfs_rekor_result res;
	char err[256];

	CHECK_EQ_INT(load_tlogs(PROD, &r, err, sizeof(err)), 0);
	for (size_t i = 0; i < NFIX; i++) {
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			json_t *e = fixture_entry(i), *j = at(e, cases[k].a, cases[k].b);
			int rc;

			if (json_is_array(j))
				j = json_array_get(j, 0);
			if (json_is_object(j))
				j = json_object_get(j, "envelope");
			flip(j, cases[k].pos);
			rc = mfs_rekor_verify(e, &r, &res, err, sizeof(err));
			if (rc != cases[k].rc || res.step != cases[k].step)
				fprintf(stderr, "  %s, %s: %s\n", fixtures[i].path, cases[k].what,
					err);
			CHECK_EQ_INT(rc, cases[k].rc);
			CHECK_EQ_INT(res.step, cases[k].step);
			CHECK_CONTAINS(err, mfs_rekor_step_name(cases[k].step));
			json_decref(e);
		}
	}
	mfs_tlog_root_free(&r);
}

static void test_malformed(void)
{
	struct mfs_tlog_root r;
	struct mfs_rekor_result res;
	char err[256];
	json_t *e;

	CHECK_EQ_INT(load_tlogs(PROD, &r, err, sizeof(err)), 0);
	e = fixture_entry(3);
	json_object_set_new(e, "logIndex", json_string("-1"));
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(res.step, MFS_REKOR_ENTRY);
	CHECK_CONTAINS(err, "logIndex");
	json_decref(e);

	e = fixture_entry(3);
	json_object_set_new(at(e, "inclusionProof", NULL), "rootHash", json_string("AAAA"));
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "rootHash: not base64 of 32 bytes");
	json_decref(e);

	/* No promise (a Rekor v2 entry): no signed time. */
	e = fixture_entry(3);
	json_object_del(e, "inclusionPromise");
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -EKEYREJECTED);
	CHECK_EQ_INT(res.step, MFS_REKOR_SET);
	json_decref(e);

	/* Numbers as JSON integers are the same numbers. */
	e = fixture_entry(3);
	json_object_set_new(e, "integratedTime", json_integer(fixtures[3].time));
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), 0);
	json_decref(e);

	/* A tree size of the same shape keeps the proof good: the signed
	 * checkpoint is what binds it. */
	e = fixture_entry(2);
	json_object_set_new(at(e, "inclusionProof", NULL), "treeSize", json_string("467035598"));
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -EKEYREJECTED);
	CHECK_EQ_INT(res.step, MFS_REKOR_CHECKPOINT);
	CHECK_CONTAINS(err, "not the proof's");
	json_decref(e);

	/* Before the log's validFor.start. */
	r.logs[0].valid_from = fixtures[3].time + 1;
	e = fixture_entry(3);
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -EKEYEXPIRED);
	CHECK_EQ_INT(res.step, MFS_REKOR_LOG);
	json_decref(e);
	mfs_tlog_root_free(&r);
}

/* ------------------------------------------------- synthetic Merkle */

static void leaf_hash(unsigned v, unsigned char out[32])
{
	unsigned char m[5] = { 0x00, (unsigned char)v, 0xaa, 0x55, (unsigned char)(v >> 8) };

	EVP_Digest(m, sizeof(m), out, NULL, EVP_sha256(), NULL);
}

static void node(const unsigned char l[32], const unsigned char r[32], unsigned char out[32])
{
	unsigned char m[65];

	m[0] = 0x01;
	memcpy(m + 1, l, 32);
	memcpy(m + 33, r, 32);
	EVP_Digest(m, sizeof(m), out, NULL, EVP_sha256(), NULL);
}

static size_t split(size_t n)
{
	size_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* RFC 9162 §2.1.1 MTH of leaves[lo, lo+n). */
static void mth(const unsigned char (*leaves)[32], size_t lo, size_t n, unsigned char out[32])
{
	unsigned char l[32], r[32];
	size_t k;

	if (n == 1) {
		memcpy(out, leaves[lo], 32);
		return;
	}
	k = split(n);
	mth(leaves, lo, k, l);
	mth(leaves, lo + k, n - k, r);
	node(l, r, out);
}

/* RFC 9162 §2.1.3.1 PATH(m, D[lo, lo+n)), appended at path[*np]. */
static void audit_path(const unsigned char (*leaves)[32], size_t m, size_t lo, size_t n,
		       unsigned char (*path)[32], size_t *np)
{
	size_t k;

	if (n <= 1)
		return;
	k = split(n);
	if (m < k) {
		audit_path(leaves, m, lo, k, path, np);
		mth(leaves, lo + k, n - k, path[(*np)++]);
	} else {
		audit_path(leaves, m - k, lo + k, n - k, path, np);
		mth(leaves, lo, k, path[(*np)++]);
	}
}

static void test_merkle(void)
{
	unsigned char leaves[40][32], path[16][32], root[32];

	for (unsigned i = 0; i < 40; i++)
		leaf_hash(i, leaves[i]);
	for (size_t n = 1; n <= 40; n++) {
		mth((const unsigned char (*)[32])leaves, 0, n, root);
		for (size_t m = 0; m < n; m++) {
			size_t np = 0;

			audit_path((const unsigned char (*)[32])leaves, m, 0, n, path, &np);
			CHECK(mfs_rekor_inclusion_ok(leaves[m], m, n,
						     (const unsigned char (*)[32])path, np, root));
			/* Another leaf or sibling index, or a path cut short or
			 * longer, must all fail.  (A nearby size may not: trees
			 * of one shape share paths; the checkpoint binds the
			 * size.) */
			CHECK(!mfs_rekor_inclusion_ok(leaves[(m + 1) % 40], m, n,
						      (const unsigned char (*)[32])path, np, root));
			if (np) {
				CHECK(!mfs_rekor_inclusion_ok(leaves[m], m, n,
							      (const unsigned char (*)[32])path,
							      np - 1, root));
				CHECK(!mfs_rekor_inclusion_ok(leaves[m], m ^ 1, n,
							      (const unsigned char (*)[32])path,
							      np, root) || (m ^ 1) >= n);
			}
			memcpy(path[np], root, 32);
			CHECK(!mfs_rekor_inclusion_ok(leaves[m], m, n,
						      (const unsigned char (*)[32])path, np + 1,
						      root));
		}
		CHECK(!mfs_rekor_inclusion_ok(leaves[0], n, n, (const unsigned char (*)[32])path,
					      0, root));
	}
}

/* ------------------------------------------------- an Ed25519 log */

#define HOST "log.test.example"

static char *b64(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

static size_t sign(EVP_PKEY *k, const void *msg, size_t len, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 64;

	CHECK(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1);
	CHECK(EVP_DigestSign(ctx, sig, &n, msg, len) == 1);
	EVP_MD_CTX_free(ctx);
	return n;
}

/* A signed note of `body` by `k`, under key hint `hint` (4 bytes), after
 * a signature line of some other key. */
static char *make_note(EVP_PKEY *k, const char *body, const unsigned char *hint)
{
	unsigned char blob[68] = { 0xde, 0xad, 0xbe, 0xef };
	char *s, *note;
	size_t n;

	n = sign(k, body, strlen(body), blob + 4);
	s = b64(blob, 4 + n);
	note = malloc(strlen(body) + 2 * strlen(s) + 64);
	memcpy(blob, hint, 4);
	free(s);
	s = b64(blob, 4 + n);
	/* The first line is a (garbage) signature by some other key. */
	sprintf(note, "%s\n\xe2\x80\x94 other.example 3q2+7wAAAAA=\n\xe2\x80\x94 " HOST " %s\n",
		body, s);
	free(s);
	return note;
}

struct edlog {
	EVP_PKEY *key;
	struct mfs_tlog_root root;
	unsigned char id[32];
};

static void edlog_make(struct edlog *l)
{
	unsigned char der[64], *p = der, raw[32], m[64];
	size_t rawlen = sizeof(raw), mlen = 0;
	char err[256], *s, *ids;
	json_t *doc;
	int n;

	l->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(l->key != NULL);
	n = i2d_PUBKEY(l->key, &p);
	CHECK(n > 0 && n <= (int)sizeof(der));
	EVP_PKEY_get_raw_public_key(l->key, raw, &rawlen);
	memcpy(m, HOST "\n\x01", strlen(HOST) + 2);
	mlen = strlen(HOST) + 2;
	memcpy(m + mlen, raw, rawlen);
	EVP_Digest(m, mlen + rawlen, l->id, NULL, EVP_sha256(), NULL);
	s = b64(der, (size_t)n);
	ids = b64(l->id, 32);
	doc = json_pack("{s:[{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s}}]}", "tlogs",
			"baseUrl", "https://" HOST, "hashAlgorithm", "SHA2_256",
			"publicKey", "rawBytes", s, "keyDetails", "PKIX_ED25519",
			"validFor", "start", "2020-01-01T00:00:00.5+02:00",
			"logId", "keyId", ids);
	CHECK_EQ_INT(mfs_tlog_root_parse(doc, &l->root, err, sizeof(err)), 0);
	CHECK_EQ_INT(l->root.nlogs, 1);
	CHECK_EQ_INT(l->root.logs[0].valid_from, 1577829600);
	json_decref(doc);
	free(s);
	free(ids);
}

static void edlog_free(struct edlog *l)
{
	mfs_tlog_root_free(&l->root);
	EVP_PKEY_free(l->key);
}

static void test_ed25519_checkpoint(void)
{
	static const char body[] = HOST "\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
				   "ext line\n";
	const struct mfs_tlog *log;
	unsigned char root[32];
	uint64_t size = 0;
	char err[256], *note;
	struct edlog l;

	edlog_make(&l);
	log = &l.root.logs[0];
	note = make_note(l.key, body, l.id);
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(note, strlen(note), log, &size, root, err,
						 sizeof(err)), 0);
	CHECK_EQ_INT(size, 12);
	CHECK_EQ_INT(root[0], 0);
	CHECK_EQ_INT(root[31], 31);

	note[3] ^= 1;          /* the origin */
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(note, strlen(note), log, &size, root, err,
						 sizeof(err)), -EKEYREJECTED);
	CHECK_CONTAINS(err, "does not verify");
	note[3] ^= 1;
	note[strlen(note) - 10] ^= 1;  /* the signature */
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(note, strlen(note), log, &size, root, err,
						 sizeof(err)), -EKEYREJECTED);
	free(note);

	/* Signed, but under another key hint: not this log's signature. */
	note = make_note(l.key, body, (const unsigned char *)"abcd");
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(note, strlen(note), log, &size, root, err,
						 sizeof(err)), -EKEYREJECTED);
	CHECK_CONTAINS(err, "no signature by https://" HOST);
	free(note);

	/* Malformed bodies, even signed. */
	note = make_note(l.key, HOST "\nx12\nAAAA\n", l.id);
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(note, strlen(note), log, &size, root, err,
						 sizeof(err)), -EKEYREJECTED);
	CHECK_CONTAINS(err, "tree size");
	free(note);
	note = make_note(l.key, HOST "\n12\nAAAA\n", l.id);
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(note, strlen(note), log, &size, root, err,
						 sizeof(err)), -EKEYREJECTED);
	CHECK_CONTAINS(err, "root hash");
	free(note);
	CHECK_EQ_INT(mfs_rekor_checkpoint_verify(body, strlen(body), log, &size, root, err,
						 sizeof(err)), -EKEYREJECTED);
	CHECK_CONTAINS(err, "no blank line");
	edlog_free(&l);
}

/* A whole entry of the Ed25519 log: leaf 5 of 11, SET and checkpoint
 * signed here.  `other_root` signs a checkpoint of another tree. */
static json_t *ed_entry(struct edlog *l, bool other_root)
{
	static const char payload[] = "{\"apiVersion\":\"0.0.1\",\"kind\":\"test\"}";
	unsigned char leaves[11][32], path[8][32], root[32], sig[64];
	char body[256], hex[65], *set_msg, *body_b64, *s, *note;
	size_t np = 0, n;
	json_t *hashes = json_array(), *e;
	unsigned char m[64];

	for (unsigned i = 0; i < 11; i++)
		leaf_hash(i, leaves[i]);
	m[0] = 0x00;
	memcpy(m + 1, payload, strlen(payload));
	EVP_Digest(m, 1 + strlen(payload), leaves[5], NULL, EVP_sha256(), NULL);
	mth((const unsigned char (*)[32])leaves, 0, 11, root);
	audit_path((const unsigned char (*)[32])leaves, 5, 0, 11, path, &np);
	for (size_t i = 0; i < np; i++) {
		s = b64(path[i], 32);
		json_array_append_new(hashes, json_string(s));
		free(s);
	}

	body_b64 = b64((const unsigned char *)payload, strlen(payload));
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", l->id[i]);
	set_msg = malloc(strlen(body_b64) + 200);
	sprintf(set_msg, "{\"body\":\"%s\",\"integratedTime\":1700000000,\"logID\":\"%s\","
		"\"logIndex\":1005}", body_b64, hex);
	n = sign(l->key, set_msg, strlen(set_msg), sig);
	free(set_msg);

	s = b64(root, 32);
	snprintf(body, sizeof(body), HOST "\n%d\n%s\n", other_root ? 12 : 11, s);
	free(s);
	note = make_note(l->key, body, l->id);
	s = b64(sig, n);
	e = json_pack("{s:s,s:{s:s},s:s,s:{s:s},s:{s:s,s:s,s:s,s:o,s:{s:s}},s:s}",
		      "logIndex", "1005", "logId", "keyId", "", "integratedTime", "1700000000",
		      "inclusionPromise", "signedEntryTimestamp", s,
		      "inclusionProof", "logIndex", "5", "treeSize", "11", "rootHash", "",
		      "hashes", hashes, "checkpoint", "envelope", note,
		      "canonicalizedBody", body_b64);
	free(s);
	s = b64(l->id, 32);
	json_object_set_new(json_object_get(e, "logId"), "keyId", json_string(s));
	free(s);
	s = b64(root, 32);
	json_object_set_new(json_object_get(e, "inclusionProof"), "rootHash", json_string(s));
	free(s);
	free(note);
	free(body_b64);
	return e;
}

static void test_ed25519_entry(void)
{
	struct mfs_rekor_result res;
	struct edlog l;
	char err[256];
	json_t *e;

	edlog_make(&l);
	e = ed_entry(&l, false);
	CHECK_EQ_INT(mfs_rekor_verify(e, &l.root, &res, err, sizeof(err)), 0);
	CHECK_EQ_INT(res.integrated_time, 1700000000);
	CHECK_EQ_INT(res.log_index, 1005);
	CHECK_EQ_INT(res.tree_size, 11);
	flip(json_object_get(at(e, "inclusionProof", "checkpoint"), "envelope"), -10);
	CHECK_EQ_INT(mfs_rekor_verify(e, &l.root, &res, err, sizeof(err)), -EKEYREJECTED);
	CHECK_EQ_INT(res.step, MFS_REKOR_CHECKPOINT);
	json_decref(e);

	/* A good checkpoint of another tree than the proof's. */
	e = ed_entry(&l, true);
	CHECK_EQ_INT(mfs_rekor_verify(e, &l.root, &res, err, sizeof(err)), -EKEYREJECTED);
	CHECK_EQ_INT(res.step, MFS_REKOR_CHECKPOINT);
	CHECK_CONTAINS(err, "not the proof's");
	json_decref(e);

	e = ed_entry(&l, false);
	flip(json_object_get(e, "canonicalizedBody"), 4);
	CHECK_EQ_INT(mfs_rekor_verify(e, &l.root, &res, err, sizeof(err)), -EKEYREJECTED);
	CHECK_EQ_INT(res.step, MFS_REKOR_SET);
	json_decref(e);
	edlog_free(&l);
}

/* A root that lists the log's key twice, first with a window long
 * closed: the entry verifies under the entry whose window holds its
 * time (a rotated or re-listed key), not "not trusted" from the first. */
static void test_key_listed_twice(void)
{
	json_error_t jerr;
	json_t *doc = json_load_file(PROD, 0, &jerr), *tlogs, *old, *e;
	struct mfs_tlog_root r;
	struct mfs_rekor_result res;
	char err[256];

	tlogs = json_object_get(doc, "tlogs");
	old = json_deep_copy(json_array_get(tlogs, 0));
	json_object_set_new(json_object_get(old, "publicKey"), "validFor",
			    json_pack("{s:s,s:s}", "start", "2020-01-01T00:00:00Z", "end",
				      "2020-12-31T00:00:00Z"));
	json_array_insert_new(tlogs, 0, old);
	CHECK_EQ_INT(mfs_tlog_root_parse(doc, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.nlogs, 3);
	e = fixture_entry(NFIX - 1);
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), 0);
	CHECK(res.log == &r.logs[1]);
	/* only the closed window: not trusted then */
	json_array_remove(tlogs, 1);
	mfs_tlog_root_free(&r);
	CHECK_EQ_INT(mfs_tlog_root_parse(doc, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(mfs_rekor_verify(e, &r, &res, err, sizeof(err)), -EKEYEXPIRED);
	CHECK_CONTAINS(err, "is not trusted at integratedTime");
	json_decref(e);
	mfs_tlog_root_free(&r);
	json_decref(doc);
}

int main(void)
{
	RUN(test_root_load);
	RUN(test_root_refuses);
	RUN(test_fixtures_verify);
	RUN(test_staging_refuses);
	RUN(test_tamper);
	RUN(test_malformed);
	RUN(test_merkle);
	RUN(test_ed25519_checkpoint);
	RUN(test_ed25519_entry);
	RUN(test_key_listed_twice);
	return unit_done();
}
