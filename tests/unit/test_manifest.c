/* Unit tests for fs/manifest.c: the 21 golden statements of
 * model_signing's tests (files, 1e9-byte and 8-byte shards), the payloads
 * of every fixture bundle (v1.0, and v0.2.0's Digests/v0.1), then
 * hand-made statements: names, duplicates, digests, algorithms, shards,
 * the statement's own fields, ignore_paths, the item limit. */
#include "bundle.h"
#include "digest.h"
#include "manifest.h"
#include "unit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define S "tests/data/oms/scripts/tests/"
#define V "tests/data/oms/ossf-model-signing-spec/test-vectors/v1.0/"
#define GOLDEN "tests/data/oms/tests/_signing/testdata/signing/TestPayload/"

#define FILES "{\"method\":\"files\",\"hash_type\":\"sha256\",\"allow_symlinks\":false}"
#define SHARDS(size) \
	"{\"method\":\"shards\",\"hash_type\":\"sha256\",\"allow_symlinks\":false,\"shard_size\":" \
	size "}"
#define STATEMENT "https://in-toto.io/Statement/v1"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static bool all_zero(const struct mfs_manifest *m)
{
	static const struct mfs_manifest zero;

	return !memcmp(m, &zero, sizeof(zero));
}

/* "name" or "name:start:end", as the item was listed (normalized). */
static const char *item_str(const struct mfs_manifest_item *it)
{
	static char buf[4][4200];
	static int i;

	i = (i + 1) % 4;
	if (it->shard)
		snprintf(buf[i], sizeof(buf[i]), "%s:%llu:%llu", it->name,
			 (unsigned long long)it->start, (unsigned long long)it->end);
	else
		snprintf(buf[i], sizeof(buf[i]), "%s", it->name);
	return buf[i];
}

/* `text` must parse, into *m (free it). */
#define M_GOOD(text, m) m_good(__LINE__, text, strlen(text), m)
static bool m_good(int at, const char *text, size_t len, struct mfs_manifest *m)
{
	char err[512];
	int rc = mfs_manifest_parse(text, len, m, err, sizeof(err));

	if (rc != 0) {
		fprintf(stderr, "  %s:%d: rc %d '%s'\n    for: %.600s\n", __FILE__, at, rc, err, text);
		unit_cur_failed = 1;
		return false;
	}
	if (err[0]) {
		fprintf(stderr, "  %s:%d: accepted with a message '%s'\n", __FILE__, at, err);
		unit_cur_failed = 1;
	}
	return true;
}

/* `text` must be refused with -EINVAL and a message containing `want`,
 * leaving the manifest empty. */
#define M_BAD(text, want) m_bad(__LINE__, text, strlen(text), want)
static void m_bad(int at, const char *text, size_t len, const char *want)
{
	struct mfs_manifest m;
	char err[512];
	int rc;

	memset(&m, 0xa5, sizeof(m));
	memset(err, 'x', sizeof(err));
	rc = mfs_manifest_parse(text, len, &m, err, sizeof(err));
	if (rc != -EINVAL || !memchr(err, '\0', sizeof(err)) || !strstr(err, want) ||
	    !all_zero(&m)) {
		fprintf(stderr, "  %s:%d: rc %d '%.*s', want -EINVAL '%s'%s\n    for: %.600s\n",
			__FILE__, at, rc, (int)sizeof(err), err, want,
			all_zero(&m) ? "" : " (not emptied)", text);
		unit_cur_failed = 1;
	}
	if (rc == 0)
		mfs_manifest_free(&m);
}

struct res {
	const char *name;       /* JSON text inside the quotes */
	const char *digest;     /* NULL: a distinct good one */
	const char *algorithm;  /* NULL: "sha256" */
};

/* A v1.0 statement with serialization `ser` and the `n` resources `r`;
 * its subject digest is `root`, or, if NULL, the right one (over the
 * digests that decode as hex).  Malloc'd. */
static char *statement(const char *type, const char *ser, const struct res *r, size_t n,
		       const char *root)
{
	size_t cap = 1024 + strlen(ser), o;
	struct mfs_hasher *h;
	struct mfs_digests d;
	char hex[65], *t;

	for (size_t i = 0; i < n; i++)
		cap += strlen(r[i].name) + 200 + (r[i].digest ? strlen(r[i].digest) : 64);
	t = malloc(cap);
	if (!t || mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h))
		abort();
	o = (size_t)sprintf(t, "{\"_type\":\"" STATEMENT "\",\"predicateType\":\"%s\","
			    "\"predicate\":{\"serialization\":%s,\"resources\":[", type, ser);
	for (size_t i = 0; i < n; i++) {
		unsigned char raw[32];

		if (r[i].digest)
			snprintf(hex, sizeof(hex), "%s", r[i].digest);
		else
			snprintf(hex, sizeof(hex), "%064zx", i + 1);
		if (strlen(hex) == 64 && !mfs_hex_decode(hex, raw, 32))
			mfs_hasher_update(h, raw, 32);
		o += (size_t)sprintf(t + o, "%s{\"name\":\"%s\",\"algorithm\":\"%s\",\"digest\":\"%s\"}",
				     i ? "," : "", r[i].name, r[i].algorithm ? r[i].algorithm : "sha256",
				     r[i].digest ? r[i].digest : hex);
	}
	if (mfs_hasher_final(h, &d))
		abort();
	mfs_hasher_free(h);
	mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
	sprintf(t + o, "]},\"subject\":[{\"name\":\"model\",\"digest\":{\"sha256\":\"%s\"}}]}",
		root ? root : hex);
	return t;
}

/* A v1.0 statement listing `names` (NULL-terminated) with good digests. */
static char *names_stmt(const char *ser, const char *const *names)
{
	struct res r[64];
	size_t n = 0;

	for (; names[n]; n++)
		r[n] = (struct res){ .name = names[n] };
	return statement(MFS_PREDICATE_V1, ser, r, n, NULL);
}

#define GOOD_NAMES(ser, m, ...) \
	good_names(__LINE__, ser, (const char *const[]){ __VA_ARGS__, NULL }, m)
static bool good_names(int at, const char *ser, const char *const *names, struct mfs_manifest *m)
{
	char *t = names_stmt(ser, names);
	bool ok = m_good(at, t, strlen(t), m);

	free(t);
	return ok;
}

#define BAD_NAMES(ser, want, ...) \
	bad_names(__LINE__, ser, (const char *const[]){ __VA_ARGS__, NULL }, want)
static void bad_names(int at, const char *ser, const char *const *names, const char *want)
{
	char *t = names_stmt(ser, names);

	m_bad(at, t, strlen(t), want);
	free(t);
}

/* model_signing's golden statements: how many resources, the shard size,
 * the subject digest and the last resource's name. */
static const struct golden {
	const char *name;
	size_t n;
	bool shards;
	unsigned long long shard_size;
	const char *root;
	const char *last;
} goldens[] = {
	{ "deep_model_folder", 4, false, 0,
	  "18b5a45fe7983f7194e8ffd96c80f5f0ec53191bf4a32b6aff293f043e816d7a", "d0/d1/d2/d3/d4/f3" },
	{ "deep_model_folder_shard", 4, true, 1000000000,
	  "18b5a45fe7983f7194e8ffd96c80f5f0ec53191bf4a32b6aff293f043e816d7a", "d0/d1/d2/d3/d4/f3:0:16" },
	{ "deep_model_folder_small_shards", 8, true, 8,
	  "fe81b684c60474cea9b27ba1de9993e54bb19806664613758aa4d335ee398497", "d0/d1/d2/d3/d4/f3:8:16" },
	{ "empty_model_file", 1, false, 0,
	  "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", "." },
	{ "empty_model_file_shard", 0, true, 1000000000,
	  EMPTY_SHA256, "" },
	{ "empty_model_file_small_shards", 0, true, 8,
	  EMPTY_SHA256, "" },
	{ "empty_model_folder", 0, false, 0,
	  EMPTY_SHA256, "" },
	{ "empty_model_folder_shard", 0, true, 1000000000,
	  EMPTY_SHA256, "" },
	{ "empty_model_folder_small_shards", 0, true, 8,
	  EMPTY_SHA256, "" },
	{ "model_folder_with_empty_file", 1, false, 0,
	  "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", "empty_file" },
	{ "model_folder_with_empty_file_shard", 0, true, 1000000000,
	  EMPTY_SHA256, "" },
	{ "model_folder_with_empty_file_small_shards", 0, true, 8,
	  EMPTY_SHA256, "" },
	{ "sample_model_file", 1, false, 0,
	  "002d162f867c5eee944e5080d25829b6625be0e3f081f6fbafc7dd655ca2e178", "." },
	{ "sample_model_file_shard", 1, true, 1000000000,
	  "002d162f867c5eee944e5080d25829b6625be0e3f081f6fbafc7dd655ca2e178", ".:0:22" },
	{ "sample_model_file_small_shards", 3, true, 8,
	  "57d54248751a51781ac2bed647670df0c45d3926e337021585c34a82384b6573", ".:16:22" },
	{ "sample_model_folder", 10, false, 0,
	  "143cc682e555951649f18e2761c3d526d2502996f5e32dc187ef7f8a614f8df7", "f3" },
	{ "sample_model_folder_shard", 10, true, 1000000000,
	  "143cc682e555951649f18e2761c3d526d2502996f5e32dc187ef7f8a614f8df7", "f3:0:24" },
	{ "sample_model_folder_small_shards", 30, true, 8,
	  "2139af57fd2a4f324ac7cd0fc04898cce73d0871b363c8eb3fc07ab7da4c8445", "f3:16:24" },
	{ "symlink_model_folder", 1, false, 0,
	  "002d162f867c5eee944e5080d25829b6625be0e3f081f6fbafc7dd655ca2e178", "symlink_file" },
	{ "symlink_model_folder_shard", 1, true, 1000000000,
	  "002d162f867c5eee944e5080d25829b6625be0e3f081f6fbafc7dd655ca2e178", "symlink_file:0:22" },
	{ "symlink_model_folder_small_shards", 3, true, 8,
	  "57d54248751a51781ac2bed647670df0c45d3926e337021585c34a82384b6573", "symlink_file:16:22" },
};

static void test_goldens(void)
{
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];
		struct mfs_manifest m;
		char path[256], hex[65], *text;
		size_t len;

		snprintf(path, sizeof(path), GOLDEN "%s", g->name);
		text = unit_slurp(path, &len);
		if (!m_good(__LINE__, text, len, &m)) {
			fprintf(stderr, "  (in %s)\n", g->name);
			free(text);
			continue;
		}
		CHECK(!m.v01);
		CHECK_EQ_INT(m.n, g->n);
		CHECK_EQ_INT(m.shards, g->shards);
		CHECK_EQ_INT(m.shard_size, g->shard_size);
		mfs_hex_encode(m.root, 32, hex);
		CHECK_STR(hex, g->root);
		CHECK(m.ignore_paths == NULL);
		if (m.n)
			CHECK_STR(item_str(&m.items[m.n - 1]), g->last);
		for (size_t k = 0; k < m.n; k++)
			CHECK_EQ_INT(m.items[k].shard, g->shards);
		if (unit_cur_failed)
			fprintf(stderr, "  (in %s)\n", g->name);
		mfs_manifest_free(&m);
		CHECK(all_zero(&m));
		free(text);
	}
}

static void test_golden_items(void)
{
	static const char *const small_shards[] = {
		"d0/f00:0:8", "d0/f00:8:16", "d0/f00:16:23", "d0/f01:0:8", "d0/f01:8:16",
		"d0/f01:16:23", "d0/f02:0:8", "d0/f02:8:16", "d0/f02:16:23", "d1/f10:0:8",
	};
	static const char *const folder[] = {
		"d0/f00", "d0/f01", "d0/f02", "d1/f10", "d1/f11", "d1/f12", "f0", "f1", "f2", "f3",
	};
	struct mfs_manifest m;
	char *text, hex[65];
	size_t len;

	/* listed order, not string order: f:0:8, f:8:16, f:16:23 */
	text = unit_slurp(GOLDEN "sample_model_folder_small_shards", &len);
	if (m_good(__LINE__, text, len, &m)) {
		for (size_t i = 0; i < 10; i++)
			CHECK_STR(item_str(&m.items[i]), small_shards[i]);
		mfs_hex_encode(m.items[0].sha256, 32, hex);
		CHECK_STR(hex, "a37010c994067764d86540bf479d93b4d0c3bb3955de7b61f951caf2fd0301b0");
		mfs_manifest_free(&m);
	}
	free(text);
	text = unit_slurp(GOLDEN "sample_model_folder", &len);
	if (m_good(__LINE__, text, len, &m)) {
		for (size_t i = 0; i < 10; i++)
			CHECK_STR(m.items[i].name, folder[i]);
		/* sha256("This is file f00 in d0.") */
		mfs_hex_encode(m.items[0].sha256, 32, hex);
		CHECK_STR(hex, "fdd8925354242a7fd1515e79534317b800015607a609cd306e0b4dcfe6c92249");
		mfs_manifest_free(&m);
	}
	/* one digit of the subject changed: refused */
	{
		char *p = strstr(text, "\"sha256\": \"");

		CHECK(p != NULL);
		if (p) {
			p += strlen("\"sha256\": \"");
			*p = *p == '0' ? '1' : '0';
			m_bad(__LINE__, text, len, "subject digest does not match the resources");
		}
	}
	free(text);
}

/* Each fixture bundle's payload: the names, and the recorded ignore_paths. */
static const struct fixture {
	const char *path;
	bool v01;
	const char *names;          /* comma-separated */
	size_t nignore;
	const char *root;           /* first 16 hex digits; "" for v0.1 */
} fixtures[] = {
	{ S "v0.2.0-certificate/model.sig", true, "signme-1,signme-2", 0, "" },
	{ S "v0.3.1-certificate/model.sig", false, "signme-1,signme-2", 0, "61d4849d9d90076d" },
	{ S "v0.3.1-elliptic-key/model.sig", false, ".", 0, "afa48c8674afe334" },
	{ S "v0.3.1-sigstore/model.sig", false, "signme-1,signme-2", 0, "61d4849d9d90076d" },
	{ S "v1.0.0-certificate/model.sig", false, "signme-1,signme-2", 0, "61d4849d9d90076d" },
	{ S "v1.0.0-elliptic-key/model.sig", false, ".", 0, "afa48c8674afe334" },
	{ S "v1.0.0-sigstore/model.sig", false, "signme-1,signme-2", 0, "61d4849d9d90076d" },
	{ S "v1.0.1-certificate/model.sig", false, "signme-1,signme-2", 0, "61d4849d9d90076d" },
	{ S "v1.0.1-elliptic-key/model.sig", false, "signme-1,signme-2", 0, "92745110b1ab4368" },
	{ S "v1.0.1-sigstore/model.sig", false, "signme-1,signme-2", 0, "61d4849d9d90076d" },
	{ S "v1.1.0-certificate/model.sig", false, "signme-1,signme-2", 6, "61d4849d9d90076d" },
	{ S "v1.1.0-elliptic-key/model.sig", false, "signme-1,signme-2", 6, "92745110b1ab4368" },
	{ S "v1.1.0-sigstore/model.sig", false, "signme-1,signme-2", 6, "61d4849d9d90076d" },
	{ V "valid/certificate.bundle.json", false, "signme-1,signme-2", 5, "92745110b1ab4368" },
	{ V "valid/key.bundle.json", false, "signme-1,signme-2", 5, "92745110b1ab4368" },
	{ V "valid/sigstore.bundle.json", false, "signme-1,signme-2", 6, "61d4849d9d90076d" },
};

/* Parses the bundle at `path` and its payload; -EINVAL etc. as the
 * manifest's, with the message in `err`. */
static int payload_of(const char *path, struct mfs_manifest *m, char *err, size_t errlen)
{
	struct mfs_bundle b;
	size_t len;
	char *text = unit_slurp(path, &len);
	int rc = mfs_bundle_parse(text, len, &b, err, errlen);

	free(text);
	if (rc) {
		fprintf(stderr, "  %s: bundle: %s\n", path, err);
		return -EIO;
	}
	rc = mfs_manifest_parse(b.payload, b.payload_len, m, err, errlen);
	mfs_bundle_free(&b);
	return rc;
}

static void test_fixture_payloads(void)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];
		struct mfs_manifest m;
		char err[512], names[256] = "", hex[65];
		size_t nignore = 0;
		int rc = payload_of(f->path, &m, err, sizeof(err));

		CHECK_EQ_INT(rc, 0);
		if (rc) {
			fprintf(stderr, "  %s: %s\n", f->path, err);
			continue;
		}
		CHECK_EQ_INT(m.v01, f->v01);
		CHECK(!m.shards);
		for (size_t k = 0; k < m.n; k++) {
			CHECK(!m.items[k].shard);
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 k ? "," : "", m.items[k].name);
		}
		CHECK_STR(names, f->names);
		for (char **p = m.ignore_paths; p && *p; p++)
			nignore++;
		CHECK_EQ_INT(nignore, f->nignore);
		mfs_hex_encode(m.root, 32, hex);
		if (f->v01)
			CHECK_STR(hex, "0000000000000000000000000000000000000000000000000000000000000000");
		else
			CHECK(!strncmp(hex, f->root, 16));
		if (unit_cur_failed)
			fprintf(stderr, "  (in %s)\n", f->path);
		mfs_manifest_free(&m);
	}
}

static void test_fixture_details(void)
{
	struct mfs_manifest m;
	char err[512], hex[65];

	/* v1.1.0 records what it ignored, in a random order */
	if (payload_of(S "v1.1.0-elliptic-key/model.sig", &m, err, sizeof(err)) == 0) {
		static const char *const want[] = { ".git", "model.sig", "ignore-me",
						    ".gitattributes", ".gitignore", ".github" };

		for (size_t i = 0; i < 6; i++)
			CHECK_STR(m.ignore_paths[i], want[i]);
		CHECK(m.ignore_paths[6] == NULL);
		mfs_hex_encode(m.items[0].sha256, 32, hex);
		CHECK_STR(hex, "bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc");
		mfs_manifest_free(&m);
	} else {
		CHECK(!"v1.1.0-elliptic-key");
	}
	/* v0.2.0: one subject per file */
	if (payload_of(S "v0.2.0-certificate/model.sig", &m, err, sizeof(err)) == 0) {
		mfs_hex_encode(m.items[1].sha256, 32, hex);
		CHECK_STR(hex, "32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028");
		mfs_manifest_free(&m);
	} else {
		CHECK(!"v0.2.0-certificate");
	}
	/* the spec's wrong predicate */
	memset(&m, 0xa5, sizeof(m));
	CHECK_EQ_INT(payload_of(V "invalid-payload/wrong-predicate.bundle.json", &m, err, sizeof(err)),
		     -EINVAL);
	CHECK_CONTAINS(err, "predicateType 'https://example.com/wrong-predicate/v1.0': neither");
	CHECK(all_zero(&m));
}

static void test_statement(void)
{
	static const struct res one[] = { { .name = "a" } };
	char *t;

	M_BAD("", "empty");
	M_BAD("{", "not JSON");
	M_BAD("[]", "not a JSON object");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"_type\":\"" STATEMENT "\"}", "duplicate");
	M_BAD("{}", "_type: missing");
	M_BAD("{\"_type\":1}", "_type: not a string");
	M_BAD("{\"_type\":\"https://in-toto.io/Statement/v0.1\"}",
	      "_type 'https://in-toto.io/Statement/v0.1': not " STATEMENT);
	M_BAD("{\"_type\":\"" STATEMENT "\"}", "predicateType: missing");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"https://model_signing/signature/v2.0\"}",
	      "predicateType 'https://model_signing/signature/v2.0': neither");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\"}",
	      "subject: missing");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":{}}",
	      "subject: not an array");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":[]}",
	      "subject: not exactly one entry");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":[1]}",
	      "subject[0].digest: missing or not an object");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":"
	      "[{\"digest\":{\"sha512\":\"00\"}}]}", "subject[0].digest.sha256: not 64 lowercase hex");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":"
	      "[{\"digest\":{\"sha256\":\"" EMPTY_SHA256 "\"}}]}",
	      "predicate: missing");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":"
	      "[{\"digest\":{\"sha256\":\"" EMPTY_SHA256 "\"}}],"
	      "\"predicate\":{\"resources\":[]}}", "serialization: missing");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":"
	      "[{\"digest\":{\"sha256\":\"" EMPTY_SHA256 "\"}}],"
	      "\"predicate\":{\"serialization\":" FILES "}}", "resources: missing");
	M_BAD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\",\"subject\":"
	      "[{\"digest\":{\"sha256\":\"" EMPTY_SHA256 "\"}}],"
	      "\"predicate\":{\"serialization\":" FILES ",\"resources\":[7]}}",
	      "resources[0]: not an object");
	/* the subject's name is a label: any, or none, is fine; two subjects are not */
	{
		struct mfs_manifest m;

		if (M_GOOD("{\"_type\":\"" STATEMENT "\",\"predicateType\":\"" MFS_PREDICATE_V1 "\","
			   "\"subject\":[{\"digest\":{\"sha256\":\"" EMPTY_SHA256 "\"}}],"
			   "\"predicate\":{\"serialization\":" FILES ",\"resources\":[],\"extra\":1}}", &m))
			mfs_manifest_free(&m);
	}
	t = statement(MFS_PREDICATE_V1, FILES, one, 1, NULL);
	{
		char *two = malloc(strlen(t) + 200), *p = strstr(t, "\"subject\":[");

		sprintf(two, "%.*s\"subject\":[{\"name\":\"x\",\"digest\":{}},%s", (int)(p - t), t,
			p + strlen("\"subject\":["));
		M_BAD(two, "subject: not exactly one entry");
		free(two);
	}
	free(t);
	/* serialization */
	t = statement(MFS_PREDICATE_V1, "{\"method\":\"tree\",\"hash_type\":\"sha256\"}", one, 1, NULL);
	M_BAD(t, "serialization.method 'tree': neither files nor shards");
	free(t);
	t = statement(MFS_PREDICATE_V1, "{\"hash_type\":\"sha256\"}", one, 1, NULL);
	M_BAD(t, "serialization.method: missing");
	free(t);
	t = statement(MFS_PREDICATE_V1, "{\"method\":\"files\"}", one, 1, NULL);
	M_BAD(t, "serialization.hash_type: missing");
	free(t);
	t = statement(MFS_PREDICATE_V1, "{\"method\":\"files\",\"hash_type\":\"blake2b\"}", one, 1, NULL);
	M_BAD(t, "serialization.hash_type 'blake2b': not sha256 (modelfs pins SHA-256)");
	free(t);
	t = statement(MFS_PREDICATE_V1, "[]", one, 1, NULL);
	M_BAD(t, "serialization: not an object");
	free(t);
}

static void test_names(void)
{
	struct mfs_manifest m;

	/* normalized as PurePosixPath: "./", "//", "/./", a trailing '/' */
	if (GOOD_NAMES(FILES, &m, "./a//b/./c/", "x/./y", "d/", "a:b", "\\u00fc/\\u00df", "..a/b..")) {
		CHECK_STR(m.items[0].name, "a/b/c");
		CHECK_STR(m.items[1].name, "x/y");
		CHECK_STR(m.items[2].name, "d");
		CHECK_STR(m.items[3].name, "a:b");
		CHECK_STR(m.items[4].name, "\xc3\xbc/\xc3\x9f");
		CHECK_STR(m.items[5].name, "..a/b..");
		mfs_manifest_free(&m);
	}
	if (GOOD_NAMES(FILES, &m, "./")) {
		CHECK_STR(m.items[0].name, ".");
		mfs_manifest_free(&m);
	}
	if (GOOD_NAMES(FILES, &m, ".")) {
		CHECK_STR(m.items[0].name, ".");
		mfs_manifest_free(&m);
	}

	BAD_NAMES(FILES, "resources[0].name '../x': '..' component", "../x");
	BAD_NAMES(FILES, "resources[1].name 'a/../b': '..' component", "c", "a/../b");
	BAD_NAMES(FILES, "'..' component", "a/..");
	BAD_NAMES(FILES, "'..' component", "..");
	BAD_NAMES(FILES, "'..' component", "./..//");
	BAD_NAMES(FILES, "resources[0].name '/abs': absolute", "/abs");
	BAD_NAMES(FILES, "absolute", "//abs");
	BAD_NAMES(FILES, "resources[0].name '': empty", "");
	BAD_NAMES(FILES, "resources[0].name 'a\\x01b': control character", "a\\u0001b");
	BAD_NAMES(FILES, "control character", "a\\nb");
	BAD_NAMES(FILES, "control character", "a\\u007f");
	/* repeated, also once normalized; the later one is named */
	BAD_NAMES(FILES, "resources[1].name 'a': repeated", "a", "a");
	BAD_NAMES(FILES, "resources[2].name 'a': repeated", "./a", "b", "a");
	BAD_NAMES(FILES, "resources[1].name 'a/b': repeated", "a//b", "a/b");
	BAD_NAMES(FILES, "resources[1].name 'a': repeated", "a/", "a");
	BAD_NAMES(FILES, "resources[1].name '.': repeated", ".", "./");
	/* a file cannot also be a directory; "." is the whole model */
	BAD_NAMES(FILES, "resources[1].name 'a/b': under the file 'a'", "a", "a/b");
	BAD_NAMES(FILES, "resources[0].name 'a/b/c': under the file 'a'", "a/b/c", "a-b", "a", "a.b");
	BAD_NAMES(FILES, "resources[0].name '.': a single-file model, but other files", ".", "a");
	BAD_NAMES(FILES, "a single-file model", "a", "./");
	/* (siblings that only share a prefix are fine) */
	if (GOOD_NAMES(FILES, &m, "a", "a-b/c", "a.b", "ab/c", "a0"))
		mfs_manifest_free(&m);
	{
		static struct res r[] = { { .name = "a" }, { .name = "b" } };
		char *t;

		r[0].name = "{}";
		t = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
		/* (a name that is no string: replace the quoted name) */
		{
			char *p = strstr(t, "\"{}\"");

			memcpy(p, " {} ", 4);
		}
		M_BAD(t, "resources[0].name: not a string");
		free(t);
	}
	/* 4096 bytes of name are fine, 4097 are not */
	{
		char *name = malloc(MFS_MANIFEST_MAX_NAME + 2);

		memset(name, 'n', MFS_MANIFEST_MAX_NAME + 1);
		name[MFS_MANIFEST_MAX_NAME] = '\0';
		if (GOOD_NAMES(FILES, &m, name)) {
			CHECK_EQ_INT(strlen(m.items[0].name), MFS_MANIFEST_MAX_NAME);
			mfs_manifest_free(&m);
		}
		name[MFS_MANIFEST_MAX_NAME] = 'n';
		name[MFS_MANIFEST_MAX_NAME + 1] = '\0';
		BAD_NAMES(FILES, "longer than 4096 bytes", name);
		free(name);
	}
}

#define D1 "bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc"

static void test_digests(void)
{
	static const char *const bad_digests[] = {
		"BC9A717DB6064A32CBE9EAE6FC40651DD6D36EF1757183F590EFF2B1765D7EBC",
		"bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7eb",
		"bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc0",
		"gc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc",
		"",
	};
	struct res r[2] = { { .name = "a", .digest = D1 }, { .name = "b" } };
	struct mfs_manifest m;
	char *t;

	for (size_t i = 0; i < sizeof(bad_digests) / sizeof(bad_digests[0]); i++) {
		r[1].digest = bad_digests[i];
		t = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
		M_BAD(t, "resources[1].digest: not 64 lowercase hex digits");
		free(t);
	}
	r[1].digest = NULL;
	/* the subject must be SHA-256 over the digests, in the listed order */
	t = statement(MFS_PREDICATE_V1, FILES, r, 2,
		      "0000000000000000000000000000000000000000000000000000000000000000");
	M_BAD(t, "subject digest does not match the resources");
	free(t);
	t = statement(MFS_PREDICATE_V1, FILES, r, 2,
		      "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
	M_BAD(t, "subject[0].digest.sha256: not 64 lowercase hex digits");
	free(t);
	{
		struct res swapped[2] = { r[1], r[0] };
		char *right = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
		char root[65];

		memcpy(root, strstr(right, "\"sha256\":\"") + 10, 64);
		root[64] = '\0';
		t = statement(MFS_PREDICATE_V1, FILES, swapped, 2, root);
		M_BAD(t, "subject digest does not match the resources");
		free(t);
		if (M_GOOD(right, &m)) {
			char hex[65];

			mfs_hex_encode(m.root, 32, hex);
			CHECK_STR(hex, root);
			mfs_manifest_free(&m);
		}
		free(right);
	}
	/* SHA-256 only: modelfs pins it */
	r[1].algorithm = "blake2b";
	t = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
	M_BAD(t, "resources[1].algorithm 'blake2b': not sha256 (modelfs pins SHA-256)");
	free(t);
	r[1].algorithm = "blake3";
	t = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
	M_BAD(t, "resources[1].algorithm 'blake3': not sha256");
	free(t);
	r[1].algorithm = "sha256-sharded-8";
	t = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
	M_BAD(t, "resources[1].algorithm 'sha256-sharded-8': not sha256");
	free(t);
	r[1].algorithm = "SHA256";
	t = statement(MFS_PREDICATE_V1, FILES, r, 2, NULL);
	M_BAD(t, "not sha256");
	free(t);
}

static void test_shards(void)
{
	struct mfs_manifest m;

	if (GOOD_NAMES(SHARDS("8"), &m, "f:0:8", "f:8:16", "f:16:23", "g:0:1")) {
		CHECK(m.shards);
		CHECK_EQ_INT(m.shard_size, 8);
		CHECK_EQ_INT(m.n, 4);
		CHECK_STR(item_str(&m.items[2]), "f:16:23");
		CHECK(m.items[2].shard);
		CHECK_EQ_INT(m.items[2].start, 16);
		CHECK_EQ_INT(m.items[2].end, 23);
		mfs_manifest_free(&m);
	}
	/* any order (the spec sorts names as strings), a float size, "sha256" */
	if (GOOD_NAMES(SHARDS("8.0"), &m, "f:0:8", "g:0:8", "f:16:23", "f:8:16"))
		mfs_manifest_free(&m);
	{
		struct res r[] = { { .name = "f:0:8" }, { .name = "f:8:9", .algorithm = "sha256-sharded-8" } };
		char *t = statement(MFS_PREDICATE_V1, SHARDS("8"), r, 2, NULL);

		if (M_GOOD(t, &m))
			mfs_manifest_free(&m);
		free(t);
		r[1].algorithm = "sha256-sharded-16";
		t = statement(MFS_PREDICATE_V1, SHARDS("8"), r, 2, NULL);
		M_BAD(t, "resources[1].algorithm 'sha256-sharded-16': not shard_size 8");
		free(t);
		r[1].algorithm = "blake2b-sharded-8";
		t = statement(MFS_PREDICATE_V1, SHARDS("8"), r, 2, NULL);
		M_BAD(t, "resources[1].algorithm 'blake2b-sharded-8': not sha256");
		free(t);
	}
	/* the last two ':' fields: a path may hold ':' */
	if (GOOD_NAMES(SHARDS("1000000000.0"), &m, "a:b:0:5", "./c/:0:1000000000",
		       "c:1000000000:1000000001")) {
		CHECK_STR(item_str(&m.items[0]), "a:b:0:5");
		CHECK_STR(m.items[0].name, "a:b");
		CHECK_STR(m.items[1].name, "c");
		CHECK_EQ_INT(m.shard_size, 1000000000);
		mfs_manifest_free(&m);
	}
	if (GOOD_NAMES(SHARDS("9007199254740992.0"), &m, "f:0:9007199254740992")) {
		CHECK_EQ_INT(m.shard_size, 9007199254740992ull);
		mfs_manifest_free(&m);
	}
	BAD_NAMES(SHARDS("9007199254740992.0"), "resources[0].name 'f:0:9223372036854775808': START or "
		  "END is not a decimal offset", "f:0:9223372036854775808");
	if (GOOD_NAMES(SHARDS("9223372036854775807"), &m, "f:0:9223372036854775807"))
		mfs_manifest_free(&m);

	/* tiling each file from 0 */
	BAD_NAMES(SHARDS("8"), "resources[1] 'f:16:23': leaves a gap after the shard before it",
		  "f:0:8", "f:16:23");
	BAD_NAMES(SHARDS("8"), "resources[1] 'f:4:12': overlaps the shard before it", "f:0:8", "f:4:12");
	BAD_NAMES(SHARDS("8"), "resources[0] 'f:8:16': the shards of 'f' do not start at 0", "f:8:16");
	BAD_NAMES(SHARDS("8"), "resources[1] 'g:8:16': the shards of 'g' do not start at 0", "f:0:8",
		  "g:8:16");
	BAD_NAMES(SHARDS("8"), "resources[0] 'f:0:4': shorter than shard_size 8 but not the last",
		  "f:0:4", "f:4:12");
	BAD_NAMES(SHARDS("8"), "resources[0] 'f:0:9': longer than shard_size 8", "f:0:9");
	BAD_NAMES(SHARDS("8"), "resources[2] 'f:0:8': repeated", "f:0:8", "f:8:9", "f:0:8");
	BAD_NAMES(SHARDS("8"), "resources[1] 'f:0:8': repeated", "./f:0:8", "f:0:8");
	BAD_NAMES(SHARDS("8"), "overlaps", "f:0:8", "f:0:4");
	BAD_NAMES(SHARDS("8"), "resources[1] 'f/g:0:1': under the file 'f'", "f:0:1", "f/g:0:1");
	BAD_NAMES(SHARDS("8"), "a single-file model", ".:0:1", "g:0:1");

	/* names */
	BAD_NAMES(SHARDS("8"), "resources[0].name 'f': not PATH:START:END", "f");
	BAD_NAMES(SHARDS("8"), "resources[0].name 'f:8': not PATH:START:END", "f:8");
	BAD_NAMES(SHARDS("8"), "'f:a:8': START or END is not a decimal offset", "f:a:8");
	BAD_NAMES(SHARDS("8"), "START or END is not a decimal offset", "f:08:16");
	BAD_NAMES(SHARDS("8"), "START or END is not a decimal offset", "f:00:8");
	BAD_NAMES(SHARDS("8"), "START or END is not a decimal offset", "f:-1:8");
	BAD_NAMES(SHARDS("8"), "START or END is not a decimal offset", "f:+0:8");
	BAD_NAMES(SHARDS("8"), "START or END is not a decimal offset", "f:0:");
	BAD_NAMES(SHARDS("8"), "START or END is not a decimal offset", "f: 0:8");
	BAD_NAMES(SHARDS("8"), "'f:8:8': END is not past START", "f:8:8");
	BAD_NAMES(SHARDS("8"), "END is not past START", "f:9:8");
	BAD_NAMES(SHARDS("8"), "resources[0].name ':0:8': empty", ":0:8");
	BAD_NAMES(SHARDS("8"), "'../f:0:8': '..' component", "../f:0:8");

	/* shard_size */
	BAD_NAMES(SHARDS("8.5"), "serialization.shard_size: not a whole number above 0", "f:0:8");
	BAD_NAMES(SHARDS("0"), "serialization.shard_size: not a whole number above 0", "f:0:8");
	BAD_NAMES(SHARDS("0.0"), "shard_size: not a whole number", "f:0:8");
	BAD_NAMES(SHARDS("-8"), "shard_size: not a whole number", "f:0:8");
	BAD_NAMES(SHARDS("\"8\""), "shard_size: not a whole number", "f:0:8");
	BAD_NAMES(SHARDS("1e300"), "shard_size: not a whole number", "f:0:8");
	BAD_NAMES(SHARDS("9007199254740994.0"), "shard_size: not a whole number", "f:0:8");
	BAD_NAMES(SHARDS("true"), "shard_size: not a whole number", "f:0:8");
	BAD_NAMES("{\"method\":\"shards\",\"hash_type\":\"sha256\"}", "serialization.shard_size: missing",
		  "f:0:8");
	/* (files: a shard_size is no concern, nor are ':' in names) */
	if (GOOD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"shard_size\":8.5}", &m,
		       "f:0:8")) {
		CHECK(!m.items[0].shard);
		CHECK_STR(m.items[0].name, "f:0:8");
		mfs_manifest_free(&m);
	}
}

static void test_ignore_paths(void)
{
	struct mfs_manifest m;

	if (GOOD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":"
		       "[\"./a/\",\".git\",\"b//c\",\".git\"]}", &m, "x")) {
		CHECK_STR(m.ignore_paths[0], "a");
		CHECK_STR(m.ignore_paths[1], ".git");
		CHECK_STR(m.ignore_paths[2], "b/c");
		CHECK_STR(m.ignore_paths[3], ".git");
		CHECK(m.ignore_paths[4] == NULL);
		mfs_manifest_free(&m);
	}
	if (GOOD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":[]}", &m, "x")) {
		CHECK(m.ignore_paths == NULL);
		mfs_manifest_free(&m);
	}
	BAD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":[\"a\",\"../x\"]}",
		  "serialization.ignore_paths[1] '../x': '..' component", "x");
	BAD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":[\"/x\"]}",
		  "serialization.ignore_paths[0] '/x': absolute", "x");
	BAD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":[\"\"]}",
		  "serialization.ignore_paths[0] '': empty", "x");
	BAD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":[\"a\",\"./\"]}",
		  "serialization.ignore_paths[1] './': the whole model", "x");
	BAD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":[1]}",
		  "serialization.ignore_paths[0]: not a string", "x");
	BAD_NAMES("{\"method\":\"files\",\"hash_type\":\"sha256\",\"ignore_paths\":\"x\"}",
		  "serialization.ignore_paths: not an array", "x");
}

/* A v0.1 statement with these subjects (JSON texts). */
static char *v01(const char *subjects)
{
	char *t = malloc(strlen(subjects) + 512);

	sprintf(t, "{\"_type\":\"" STATEMENT "\",\"subject\":%s,\"predicateType\":\"" MFS_PREDICATE_V01
		"\",\"predicate\":{\"unused\":\"Unused\"}}", subjects);
	return t;
}

#define V01_SUBJECT(name, ann) \
	"{\"name\":\"" name "\",\"digest\":{\"sha256\":\"" D1 "\"},\"annotations\":" \
	"{\"actual_hash_algorithm\":\"" ann "\"}}"

static void test_v01(void)
{
	struct mfs_manifest m;
	char *t;

	t = v01("[" V01_SUBJECT("./a", "file-sha256") "," V01_SUBJECT("b/c", "file-sha256") "]");
	if (M_GOOD(t, &m)) {
		CHECK(m.v01);
		CHECK_EQ_INT(m.n, 2);
		CHECK_STR(m.items[0].name, "a");
		CHECK_STR(m.items[1].name, "b/c");
		CHECK(m.ignore_paths == NULL);
		mfs_manifest_free(&m);
	}
	free(t);
	t = v01("[]");
	if (M_GOOD(t, &m)) {
		CHECK(m.v01);
		CHECK_EQ_INT(m.n, 0);
		mfs_manifest_free(&m);
	}
	free(t);
	t = v01("[" V01_SUBJECT("a", "file-blake2b") "]");
	M_BAD(t, "subject[0].annotations.actual_hash_algorithm: not file-sha256");
	free(t);
	t = v01("[{\"name\":\"a\",\"digest\":{\"sha256\":\"" D1 "\"}}]");
	M_BAD(t, "subject[0].annotations.actual_hash_algorithm: not file-sha256");
	free(t);
	t = v01("[" V01_SUBJECT("a", "file-sha256") ",{\"name\":\"b\",\"digest\":{\"sha256\":\"00\"},"
		"\"annotations\":{\"actual_hash_algorithm\":\"file-sha256\"}}]");
	M_BAD(t, "subject[1].digest.sha256: not 64 lowercase hex digits");
	free(t);
	t = v01("[" V01_SUBJECT("a", "file-sha256") "," V01_SUBJECT("./a", "file-sha256") "]");
	M_BAD(t, "subject[1].name 'a': repeated");
	free(t);
	t = v01("[" V01_SUBJECT("../a", "file-sha256") "]");
	M_BAD(t, "subject[0].name '../a': '..' component");
	free(t);
	t = v01("[7]");
	M_BAD(t, "subject[0]: not an object");
	free(t);
	t = v01("{}");
	M_BAD(t, "subject: not an array");
	free(t);
}

/* A statement of `n` files "f0", "f1", ... */
static char *many(size_t n)
{
	struct res *r = calloc(n, sizeof(*r));
	char *names = malloc(n * 24), *t;

	for (size_t i = 0; i < n; i++) {
		snprintf(names + 24 * i, 24, "f%zu", i);
		r[i].name = names + 24 * i;
	}
	t = statement(MFS_PREDICATE_V1, FILES, r, n, NULL);
	free(names);
	free(r);
	return t;
}

static void test_limits(void)
{
	struct mfs_manifest m;
	char *t;

	t = many(MFS_MANIFEST_MAX_ITEMS);
	if (M_GOOD(t, &m)) {
		CHECK_EQ_INT(m.n, MFS_MANIFEST_MAX_ITEMS);
		CHECK_STR(m.items[MFS_MANIFEST_MAX_ITEMS - 1].name, "f99999");
		mfs_manifest_free(&m);
	}
	free(t);
	t = many(MFS_MANIFEST_MAX_ITEMS + 1);
	M_BAD(t, "resources: 100001 entries, over the limit of 100000");
	free(t);
}

static void test_free(void)
{
	struct mfs_manifest m;
	char err[1] = { 'x' };

	mfs_manifest_free(NULL);
	memset(&m, 0, sizeof(m));
	mfs_manifest_free(&m);
	/* a one-byte message buffer, or none */
	CHECK_EQ_INT(mfs_manifest_parse("[]", 2, &m, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(err[0], '\0');
	CHECK_EQ_INT(mfs_manifest_parse("[]", 2, &m, NULL, 0), -EINVAL);
	CHECK_EQ_INT(mfs_manifest_parse(NULL, 0, &m, NULL, 0), -EINVAL);
}

int main(void)
{
	RUN(test_goldens);
	RUN(test_golden_items);
	RUN(test_fixture_payloads);
	RUN(test_fixture_details);
	RUN(test_statement);
	RUN(test_names);
	RUN(test_digests);
	RUN(test_shards);
	RUN(test_ignore_paths);
	RUN(test_v01);
	RUN(test_limits);
	RUN(test_free);
	return unit_done();
}
