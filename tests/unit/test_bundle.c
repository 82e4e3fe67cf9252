/* Unit tests for fs/bundle.c: every model.sig model_signing v0.2.0 to
 * v1.1.0 wrote under tests/data/oms/ and the OMS spec's vectors (fields
 * checked against what Python's json and base64 read from them), then
 * hand-made bundles: bad JSON, nesting, size, media types, envelopes,
 * base64 in every spelling, verification material. */
#include "bundle.h"
#include "digest.h"
#include "unit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define S "tests/data/oms/scripts/tests/"
#define V "tests/data/oms/ossf-model-signing-spec/test-vectors/v1.0/"

#define MEDIA3 "application/vnd.dev.sigstore.bundle.v0.3+json"
#define INTOTO "application/vnd.in-toto+json"
/* "{}" and a made-up DER-ish signature: the parser checks no more */
#define PAYLOAD_B64 "e30="
#define SIG_B64 "MEUCIQ=="
#define KEY_VM "{\"publicKey\":{\"hint\":\"abcd\"},\"tlogEntries\":[]}"

static void sha256_hex(const void *p, size_t len, char out[65])
{
	struct mfs_hasher *h;
	struct mfs_digests d;

	if (mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h) || mfs_hasher_update(h, p, len) ||
	    mfs_hasher_final(h, &d))
		abort();
	mfs_hasher_free(h);
	mfs_hex_encode(d.d[MFS_SHA256], 32, out);
}

static bool all_zero(const struct mfs_bundle *b)
{
	static const struct mfs_bundle zero;

	return !memcmp(b, &zero, sizeof(zero));
}

/* What Python's json and base64 modules read from each fixture: sizes and
 * SHA-256 of the decoded payload, signature and leaf certificate. */
static const struct fixture {
	const char *path;
	enum mfs_sig_method method;
	size_t ncerts;
	const char *hint;
	size_t payload_len;
	const char *payload_sha256;
	size_t sig_len;
	const char *sig_sha256;
	const char *leaf_sha256;
} fixtures[] = {
	{ S "v0.2.0-certificate/model.sig", MFS_SIG_CERTIFICATE, 2,
	  "",
	  664, "5b1f142a951f7cbfb6f4737dcf1b18654142cadb5cff6b2f5da87caddf303f55",
	  103, "0627fbef683bb6c1fb4be20745e4e866be87ce0f40813d8da8c805888442bea8",
	  "da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b" },
	{ S "v0.3.1-certificate/model.sig", MFS_SIG_CERTIFICATE, 2,
	  "",
	  768, "d8fd962610507cc767228a8189ab8e504c694ed5d368ed52f60a091991ecd318",
	  103, "b9eee737df43370f83dc11b4ebf215617777f4b8a83f20356a07892bc9617e81",
	  "da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b" },
	{ S "v0.3.1-elliptic-key/model.sig", MFS_SIG_KEY, 0,
	  "",
	  590, "cf02c8397950fb194ccb5412c12802fec46c55b59fb498d497fecd8ac9b9e70d",
	  104, "700f8bfc0dee96497684f0820b21079827d2fe116886b8b9f67a17ddc1b4d506",
	  "" },
	{ S "v0.3.1-sigstore/model.sig", MFS_SIG_KEYLESS, 1,
	  "",
	  765, "c1c36e99af485987306143c3c8d8ff03f6c3e41c5dde53eb3978a0d7c90a01a4",
	  71, "fe3b9a20e787aff260ffb24f97a34e64dcc8ecb87b417db889b30ecf444a83d0",
	  "3a6c9b5a75299bb7a185a9d2721bd68b9ab112c0708712449158a591d5d8f8e8" },
	{ S "v1.0.0-certificate/model.sig", MFS_SIG_CERTIFICATE, 2,
	  "",
	  768, "91399e09ad0094d08b0daddeffe85976cae7cb2f4785d0703a5ab9180a78009f",
	  102, "5fa06a1b8e99fc909f8b5fc6d0ae30be5560f009e92a6fb96f3b29e31d5a8dc4",
	  "da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b" },
	{ S "v1.0.0-elliptic-key/model.sig", MFS_SIG_KEY, 0,
	  "",
	  590, "1d693700bdfaa466a8dd424aea58f5fe77c51245233e87345e144522bde7a245",
	  102, "cadb6b17752743b01d91092f4072b915e91ede5ab69eeca5cacef42ca1b33dd0",
	  "" },
	{ S "v1.0.0-sigstore/model.sig", MFS_SIG_KEYLESS, 1,
	  "",
	  765, "11a4e85b630316e520ea7718bf35c7769653008736e305a44042cf517e397be0",
	  72, "95fa29a4eb3da4c8e948d6ef8c08f22393bc2831035b28bf72fc43503458edb5",
	  "a9bc792b58fbb3520a404d39a7ee5759990fcc9a624650addaa8260ec1a94e4d" },
	{ S "v1.0.1-certificate/model.sig", MFS_SIG_CERTIFICATE, 2,
	  "",
	  768, "a194135eaa44703ddf33a478182d40aa84ef7fdc5b7672453867311bffbb9c6b",
	  103, "efc96b27aab9c950beac8498f4cb900d0930858a033ebe4d3973467a8ddbdc2e",
	  "da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b" },
	{ S "v1.0.1-elliptic-key/model.sig", MFS_SIG_KEY, 0,
	  "",
	  769, "b8bdae189de7a4dc60d6160a6c546a0b84ec5b912992903e6b85e2013e91cedc",
	  103, "1d7fe7ac288bff47edfa967b9903bb3a468063d643ca4bdbd04feef5d4475090",
	  "" },
	{ S "v1.0.1-sigstore/model.sig", MFS_SIG_KEYLESS, 1,
	  "",
	  765, "cca195d92b822834cefd14b9e712ce231191ee3c8dc69426f8386cef938c389d",
	  72, "bc7cf729c753f2bdff73b8791b621d2678d4a8d8d739bccc6bdf0e8aa92ede88",
	  "960159bb415f188dc7ceb8a0c2950cc93a861b5fd895cd4eea159cba2addbbfa" },
	{ S "v1.1.0-certificate/model.sig", MFS_SIG_CERTIFICATE, 2,
	  "",
	  925, "8883b795768f712c83ee403f0ad450f8d992c3b5af661afd204d37ae03ae87b4",
	  104, "46230585f66223f858b6a38bcb6598b9a67a7693b91b00da58b7cd925a6f92ee",
	  "da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b" },
	{ S "v1.1.0-elliptic-key/model.sig", MFS_SIG_KEY, 0,
	  "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e",
	  926, "75b4ab3675e70de301a48219cd5c0619dc18c9ef90be63a617d0ab30ec2cc0c9",
	  103, "afd2d226cb897b25b7fc2d27ad3bd5fac2908249deb03e4d6eb752acc3411551",
	  "" },
	{ S "v1.1.0-sigstore/model.sig", MFS_SIG_KEYLESS, 1,
	  "",
	  922, "1dc62239e6e2776a8776eed7ad423123f46eaab33dc15967d7b999168c6d11ed",
	  71, "6b961f4bdb8d52b01668266616b9cc8ec3ee0a181281f0d1a4574eb6633e69ce",
	  "22c8c013f730328f079699a46018ee71c42ce3308a177e24092273c229f01f2f" },
	{ V "valid/certificate.bundle.json", MFS_SIG_CERTIFICATE, 2,
	  "",
	  891, "8e23b54b87326c76cf9c0da7cd4c94c30b7e2b59d39c71c7fc9fb4db389483f7",
	  104, "c3f2a806ba62b631dc9bea1712e4c9c8c5dacc83dda6cb88da18a43c8c89f810",
	  "da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b" },
	{ V "valid/key.bundle.json", MFS_SIG_KEY, 0,
	  "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e",
	  891, "2e74c416a043c5624eb3c0021c2b6915dea3adde64416e7bb901094ed48d5dd9",
	  102, "b2e2c3956c9df343beeeac3e946ee07a884b35534fe2b347e495938bdc7165ef",
	  "" },
	{ V "valid/sigstore.bundle.json", MFS_SIG_KEYLESS, 1,
	  "",
	  922, "1dc62239e6e2776a8776eed7ad423123f46eaab33dc15967d7b999168c6d11ed",
	  71, "6b961f4bdb8d52b01668266616b9cc8ec3ee0a181281f0d1a4574eb6633e69ce",
	  "22c8c013f730328f079699a46018ee71c42ce3308a177e24092273c229f01f2f" },
	{ V "invalid-payload/wrong-predicate.bundle.json", MFS_SIG_KEY, 0,
	  "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e",
	  895, "ce41eaab4f9f33989a205f51eaf2652136f564c1320b2efcfb83615c0beb2a99",
	  102, "b2e2c3956c9df343beeeac3e946ee07a884b35534fe2b347e495938bdc7165ef",
	  "" },
};

static void test_fixtures(void)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];
		struct mfs_bundle b;
		char err[256], hex[65];
		char *text;
		size_t len;
		int rc;

		text = unit_slurp(f->path, &len);
		rc = mfs_bundle_parse(text, len, &b, err, sizeof(err));
		CHECK_EQ_INT(rc, 0);
		if (rc) {
			fprintf(stderr, "  %s: %s\n", f->path, err);
			free(text);
			continue;
		}
		CHECK_STR(err, "");
		CHECK_EQ_INT(b.media_version, 3);
		CHECK_EQ_INT(b.method, f->method);
		CHECK_EQ_INT(b.ncerts, f->ncerts);
		CHECK_STR(b.key_hint, f->hint);
		CHECK_STR(b.payload_type, INTOTO);
		CHECK_EQ_INT(b.payload_len, f->payload_len);
		sha256_hex(b.payload, b.payload_len, hex);
		CHECK_STR(hex, f->payload_sha256);
		CHECK_EQ_INT(b.sig_len, f->sig_len);
		sha256_hex(b.sig, b.sig_len, hex);
		CHECK_STR(hex, f->sig_sha256);
		/* ECDSA signatures are DER SEQUENCEs */
		CHECK(b.sig[0] == 0x30);
		if (f->ncerts) {
			sha256_hex(b.certs[0].der, b.certs[0].len, hex);
			CHECK_STR(hex, f->leaf_sha256);
		}
		for (size_t k = 0; k < b.ncerts; k++)
			CHECK(b.certs[k].len > 0 && b.certs[k].der[0] == 0x30);
		CHECK(b.json != NULL);
		if (unit_cur_failed)
			fprintf(stderr, "  (in %s)\n", f->path);
		mfs_bundle_free(&b);
		CHECK(all_zero(&b));
		free(text);
	}
}

/* `len` bytes at `text` must be refused with `want_rc` and a message
 * containing `want`, leaving the bundle empty. */
#define BAD_LEN(text, len, want_rc, want) bad(__LINE__, text, len, want_rc, want)
#define BAD(text, want_rc, want) BAD_LEN(text, strlen(text), want_rc, want)
static void bad(int at, const char *text, size_t len, int want_rc, const char *want)
{
	struct mfs_bundle b;
	char err[256];
	int rc;

	memset(&b, 0xa5, sizeof(b));
	memset(err, 'x', sizeof(err));
	rc = mfs_bundle_parse(text, len, &b, err, sizeof(err));
	if (rc != want_rc || !memchr(err, '\0', sizeof(err)) || !strstr(err, want) ||
	    !all_zero(&b)) {
		fprintf(stderr, "  %s:%d: rc %d '%.*s', want %d '%s'%s\n", __FILE__, at, rc,
			(int)sizeof(err), err, want_rc, want, all_zero(&b) ? "" : " (not emptied)");
		if (len < 400)
			fprintf(stderr, "    for: %.*s\n", (int)len, text);
		unit_cur_failed = 1;
	}
	if (rc == 0)
		mfs_bundle_free(&b);
}

/* Parses `text`, which must be accepted, into *b (free it). */
#define GOOD(text, b) good(__LINE__, text, b)
static bool good(int at, const char *text, struct mfs_bundle *b)
{
	char err[256];
	int rc = mfs_bundle_parse(text, strlen(text), b, err, sizeof(err));

	if (rc != 0) {
		fprintf(stderr, "  %s:%d: rc %d '%s'\n    for: %.400s\n", __FILE__, at, rc, err, text);
		unit_cur_failed = 1;
		return false;
	}
	return true;
}

/* `text` must be accepted. */
#define ACCEPT(text) do { \
	struct mfs_bundle accept_b_; \
	if (GOOD(text, &accept_b_)) \
		mfs_bundle_free(&accept_b_); \
} while (0)

/* Rotating buffers for the documents below. */
static char *buf(void)
{
	static char bufs[8][16384];
	static int i;

	i = (i + 1) % 8;
	return bufs[i];
}

/* A bundle of media type `media`, verificationMaterial `vm` and
 * dsseEnvelope `env` (JSON texts; NULL leaves the member out). */
static const char *doc(const char *media, const char *vm, const char *env)
{
	char *b = buf();

	snprintf(b, 16384, "{\"mediaType\":\"%s\"%s%s%s%s}", media, vm ? ",\"verificationMaterial\":" : "",
		 vm ? vm : "", env ? ",\"dsseEnvelope\":" : "", env ? env : "");
	return b;
}

/* An envelope with `payload` (base64) and signatures `sigs` (a JSON array). */
static const char *envelope(const char *payload, const char *sigs)
{
	char *b = buf();

	snprintf(b, 16384, "{\"payload\":\"%s\",\"payloadType\":\"" INTOTO "\",\"signatures\":%s}",
		 payload, sigs);
	return b;
}

/* A key bundle with this payload and signature (base64). */
static const char *key_doc(const char *payload, const char *sig)
{
	char sigs[256];

	snprintf(sigs, sizeof(sigs), "[{\"sig\":\"%s\",\"keyid\":\"\"}]", sig);
	return doc(MEDIA3, KEY_VM, envelope(payload, sigs));
}

static void test_spec_invalid(void)
{
	static const struct {
		const char *name;
		const char *want;
	} cases[] = {
		{ "empty", "empty" },
		{ "missing-envelope", "dsseEnvelope: missing" },
		{ "missing-tlog-entries", "verificationMaterial.tlogEntries: missing" },
		{ "missing-verification-material", "verificationMaterial: missing" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];
		char *text;
		size_t len;

		snprintf(path, sizeof(path), V "invalid/%s.bundle.json", cases[i].name);
		text = unit_slurp(path, &len);
		BAD_LEN((const char *)text, len, -EINVAL, cases[i].want);
		free(text);
	}
}

static void test_minimal(void)
{
	struct mfs_bundle b;

	if (GOOD(key_doc(PAYLOAD_B64, SIG_B64), &b)) {
		CHECK_EQ_INT(b.method, MFS_SIG_KEY);
		CHECK_STR(b.key_hint, "abcd");
		CHECK_EQ_INT(b.payload_len, 2);
		CHECK(!memcmp(b.payload, "{}", 3));
		CHECK_EQ_INT(b.sig_len, 4);
		CHECK(!memcmp(b.sig, "\x30\x45\x02\x21", 4));
		CHECK_EQ_INT(b.ncerts, 0);
		mfs_bundle_free(&b);
	}
	/* freeing twice, or an empty bundle, is harmless */
	mfs_bundle_free(&b);
	mfs_bundle_free(NULL);
}

static void test_not_json(void)
{
	const char *ok = key_doc(PAYLOAD_B64, SIG_B64);
	char text[2048];

	BAD("{", -EINVAL, "not JSON");
	BAD("   ", -EINVAL, "not JSON");
	BAD("[]", -EINVAL, "not a JSON object");
	/* (jansson itself wants an object or array at the top) */
	BAD("null", -EINVAL, "not JSON");
	BAD("\"" MEDIA3 "\"", -EINVAL, "not JSON");
	BAD_LEN("{\"a\":1}\0", 8, -EINVAL, "not JSON");
	/* one member twice: which did the signer mean? */
	BAD("{\"mediaType\":\"" MEDIA3 "\",\"mediaType\":\"" MEDIA3 "\"}", -EINVAL, "duplicate");
	snprintf(text, sizeof(text), "%.*s,\"dsseEnvelope\":{}}", (int)strlen(ok) - 1, ok);
	BAD(text, -EINVAL, "duplicate");
	/* text after the document, a NUL in a string, bad UTF-8 */
	snprintf(text, sizeof(text), "%s {}", ok);
	BAD(text, -EINVAL, "not JSON");
	BAD("{\"mediaType\":\"a\\u0000b\"}", -EINVAL, "not JSON");
	BAD("{\"mediaType\":\"\xff\xfe\"}", -EINVAL, "not JSON");
	/* the message keeps none of jansson's quoted bytes that are not ASCII */
	{
		struct mfs_bundle b;
		char err[256];

		CHECK_EQ_INT(mfs_bundle_parse("{\"\x01\xff", 4, &b, err, sizeof(err)), -EINVAL);
		for (const char *c = err; *c; c++)
			CHECK(*c >= 0x20 && *c < 0x7f);
	}
	/* a 1-byte message buffer, or none */
	{
		struct mfs_bundle b;
		char err[1] = { 'x' };

		CHECK_EQ_INT(mfs_bundle_parse("{", 1, &b, err, sizeof(err)), -EINVAL);
		CHECK_EQ_INT(err[0], '\0');
		CHECK_EQ_INT(mfs_bundle_parse("{", 1, &b, NULL, 0), -EINVAL);
	}
}

/* `levels` nested arrays as a member "x" in front of a good bundle. */
static char *nested(size_t levels)
{
	const char *ok = key_doc(PAYLOAD_B64, SIG_B64);
	size_t okl = strlen(ok);
	char *t = malloc(2 * levels + okl + 16), *p = t;

	p += sprintf(p, "{\"x\":");
	memset(p, '[', levels);
	p += levels;
	memset(p, ']', levels);
	p += levels;
	sprintf(p, ",%s", ok + 1);
	return t;
}

static void test_depth(void)
{
	struct mfs_bundle b;
	char *t;

	/* the document is level 1: 31 arrays in it reach the limit */
	t = nested(MFS_BUNDLE_MAX_DEPTH - 1);
	if (GOOD(t, &b))
		mfs_bundle_free(&b);
	free(t);
	t = nested(MFS_BUNDLE_MAX_DEPTH);
	BAD(t, -EINVAL, "nested deeper than 32 levels");
	free(t);
	t = nested(100);
	BAD(t, -EINVAL, "nested deeper");
	free(t);
	/* past jansson's own limit (2048) it is its parser that stops */
	t = nested(5000);
	BAD(t, -EINVAL, "not JSON");
	free(t);
	/* objects count as much as arrays: 33 of them */
	{
		char objs[33 * 5 + 33 + 1], *p = objs;

		for (int i = 0; i < 32; i++)
			p += sprintf(p, "{\"a\":");
		p += sprintf(p, "{}");
		for (int i = 0; i < 32; i++)
			*p++ = '}';
		*p = '\0';
		BAD(objs, -EINVAL, "nested deeper than 32 levels");
	}
}

static void test_size(void)
{
	const char *ok = key_doc(PAYLOAD_B64, SIG_B64);
	size_t okl = strlen(ok);
	char *t = malloc(MFS_BUNDLE_MAX + 2);
	struct mfs_bundle b;
	char err[256];

	/* exactly the limit (padded with blanks) is read, a byte more is not */
	memset(t, ' ', MFS_BUNDLE_MAX + 1);
	memcpy(t, ok, okl);
	CHECK_EQ_INT(mfs_bundle_parse(t, MFS_BUNDLE_MAX, &b, err, sizeof(err)), 0);
	mfs_bundle_free(&b);
	BAD_LEN(t, MFS_BUNDLE_MAX + 1, -E2BIG, "over the limit");
	free(t);
	BAD_LEN("", 0, -EINVAL, "empty");
	BAD_LEN(NULL, 0, -EINVAL, "empty");
}

static void test_media_types(void)
{
	static const struct {
		const char *type;
		int version;
	} good_types[] = {
		{ "application/vnd.dev.sigstore.bundle.v0.1+json", 1 },
		{ "application/vnd.dev.sigstore.bundle.v0.2+json", 2 },
		{ "application/vnd.dev.sigstore.bundle.v0.3+json", 3 },
		{ "application/vnd.dev.sigstore.bundle+json;version=0.3", 3 },
	};
	char env[512];
	struct mfs_bundle b;

	/* (a copy: the buffers doc() and envelope() return are reused) */
	snprintf(env, sizeof(env), "%s", envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\"}]"));

	for (size_t i = 0; i < sizeof(good_types) / sizeof(good_types[0]); i++) {
		if (GOOD(doc(good_types[i].type, KEY_VM, env), &b)) {
			CHECK_EQ_INT(b.media_version, good_types[i].version);
			mfs_bundle_free(&b);
		}
	}
	BAD(doc("application/vnd.dev.sigstore.bundle.v0.4+json", KEY_VM, env), -EINVAL,
	    "mediaType 'application/vnd.dev.sigstore.bundle.v0.4+json': not a Sigstore bundle");
	BAD(doc("application/vnd.dev.sigstore.bundle+json;version=0.4", KEY_VM, env), -EINVAL,
	    "not a Sigstore bundle");
	BAD(doc("APPLICATION/vnd.dev.sigstore.bundle.v0.3+json", KEY_VM, env), -EINVAL,
	    "not a Sigstore bundle");
	BAD(doc("application/vnd.dev.sigstore.bundle.v0.3+json ", KEY_VM, env), -EINVAL,
	    "not a Sigstore bundle");
	/* a hostile type is quoted with its control characters escaped */
	BAD(doc("a\\u0001b", KEY_VM, env), -EINVAL, "mediaType 'a\\x01b'");
	BAD("{\"verificationMaterial\":" KEY_VM "}", -EINVAL, "mediaType: missing");
	BAD("{\"mediaType\":3}", -EINVAL, "mediaType: not a string");
}

static void test_envelope(void)
{
	struct mfs_bundle b;

	/* keyid absent, null, "" or any string: only a label */
	ACCEPT(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\"}]")));
	ACCEPT(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\",\"keyid\":null}]")));
	ACCEPT(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"keyid\":\"\",\"sig\":\"" SIG_B64 "\"}]")));
	ACCEPT(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\",\"keyid\":\"k\"}]")));
	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\",\"keyid\":5}]")),
	    -EINVAL, "dsseEnvelope.signatures[0].keyid: not a string");
	/* the first of several signatures is the one */
	if (GOOD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":\"YQ\"},{\"sig\":\"!\"}]")),
		 &b)) {
		CHECK_EQ_INT(b.sig_len, 1);
		CHECK_EQ_INT(b.sig[0], 'a');
		mfs_bundle_free(&b);
	}

	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[]")), -EINVAL,
	    "dsseEnvelope.signatures: empty");
	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "{}")), -EINVAL,
	    "dsseEnvelope.signatures: not an array");
	BAD(doc(MEDIA3, KEY_VM, "{\"payload\":\"" PAYLOAD_B64 "\",\"payloadType\":\"" INTOTO "\"}"),
	    -EINVAL, "dsseEnvelope.signatures: missing");
	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[\"" SIG_B64 "\"]")), -EINVAL,
	    "dsseEnvelope.signatures[0]: not an object");
	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"keyid\":\"\"}]")), -EINVAL,
	    "dsseEnvelope.signatures[0].sig: missing");
	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":\"\"}]")), -EINVAL,
	    "dsseEnvelope.signatures[0].sig: empty");
	BAD(doc(MEDIA3, KEY_VM, envelope(PAYLOAD_B64, "[{\"sig\":null}]")), -EINVAL,
	    "dsseEnvelope.signatures[0].sig: not a string");
	BAD(doc(MEDIA3, KEY_VM, envelope("", "[{\"sig\":\"" SIG_B64 "\"}]")), -EINVAL,
	    "dsseEnvelope.payload: empty");
	BAD(doc(MEDIA3, KEY_VM,
		"{\"payloadType\":\"" INTOTO "\",\"signatures\":[{\"sig\":\"" SIG_B64 "\"}]}"),
	    -EINVAL, "dsseEnvelope.payload: missing");
	BAD(doc(MEDIA3, KEY_VM,
		"{\"payload\":\"" PAYLOAD_B64 "\",\"signatures\":[{\"sig\":\"" SIG_B64 "\"}]}"),
	    -EINVAL, "dsseEnvelope.payloadType: missing");
	BAD(doc(MEDIA3, KEY_VM,
		"{\"payload\":\"" PAYLOAD_B64 "\",\"payloadType\":\"application/json\","
		"\"signatures\":[{\"sig\":\"" SIG_B64 "\"}]}"),
	    -EINVAL, "dsseEnvelope.payloadType 'application/json': not " INTOTO);
	BAD(doc(MEDIA3, KEY_VM, "[]"), -EINVAL, "dsseEnvelope: not an object");
	BAD(doc(MEDIA3, KEY_VM, NULL), -EINVAL, "dsseEnvelope: missing");
	/* a message-signature bundle, with or without an envelope beside it */
	BAD("{\"mediaType\":\"" MEDIA3 "\",\"verificationMaterial\":" KEY_VM ","
	    "\"messageSignature\":{\"messageDigest\":{\"algorithm\":\"SHA2_256\",\"digest\":\"YQ==\"},"
	    "\"signature\":\"YQ==\"}}",
	    -EINVAL, "messageSignature: a message signature, not a DSSE envelope");
	{
		const char *ok = key_doc(PAYLOAD_B64, SIG_B64);
		char t[2048];

		snprintf(t, sizeof(t), "%.*s,\"messageSignature\":{}}", (int)strlen(ok) - 1, ok);
		BAD(t, -EINVAL, "messageSignature");
	}
}

/* `b64` must decode to the `len` bytes `want`. */
#define B64_OK(b64, want, len) b64_ok(__LINE__, b64, want, len)
static void b64_ok(int at, const char *b64, const char *want, size_t len)
{
	struct mfs_bundle b;
	char err[256];
	const char *t = key_doc(b64, b64);

	if (mfs_bundle_parse(t, strlen(t), &b, err, sizeof(err)) != 0) {
		fprintf(stderr, "  %s:%d: '%s' refused: %s\n", __FILE__, at, b64, err);
		unit_cur_failed = 1;
		return;
	}
	if (b.payload_len != len || memcmp(b.payload, want, len) || b.sig_len != len ||
	    memcmp(b.sig, want, len) || b.payload[len] != '\0') {
		fprintf(stderr, "  %s:%d: '%s' decoded wrong\n", __FILE__, at, b64);
		unit_cur_failed = 1;
	}
	mfs_bundle_free(&b);
}

#define B64_BAD(b64, want) BAD(key_doc(b64, SIG_B64), -EINVAL, want)

static void test_base64(void)
{
	/* padded or not, in both alphabets */
	B64_OK("YQ==", "a", 1);
	B64_OK("YQ", "a", 1);
	B64_OK("YWI=", "ab", 2);
	B64_OK("YWI", "ab", 2);
	B64_OK("YWJj", "abc", 3);
	B64_OK("+/+/", "\xfb\xff\xbf", 3);
	B64_OK("-_-_", "\xfb\xff\xbf", 3);
	B64_OK("-_8=", "\xfb\xff", 2);
	B64_OK("-_8", "\xfb\xff", 2);
	B64_OK("AAAA", "\0\0\0", 3);
	B64_OK("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26);

	B64_BAD("YQ=", "dsseEnvelope.payload: not base64 (length 3 with padding)");
	B64_BAD("YWJj=", "not base64 (length 5 with padding)");
	B64_BAD("YWJj==", "not base64 (length 6 with padding)");
	B64_BAD("YQ===", "not base64 (length 5 with padding)");
	B64_BAD("Y", "not base64 (length 1)");
	B64_BAD("YWJjZ", "not base64 (length 5)");
	B64_BAD("YQ==YQ==", "not base64 (character 2 is '=' before the end)");
	B64_BAD("YQ==YQ", "'=' before the end");
	B64_BAD("====", "'=' before the end");
	B64_BAD("==", "empty");
	B64_BAD("Y Q=", "not base64 (character 1 is outside the alphabet)");
	B64_BAD("YWJj\\nYQ", "not base64 (character 4 is outside the alphabet)");
	B64_BAD("YW\\tJ", "not base64 (character 2 is outside the alphabet)");
	B64_BAD("YW.j", "outside the alphabet");
	B64_BAD("YW\\u00e9", "not base64 (character 2 is outside the alphabet)");
	B64_BAD("+_AA", "mixes the standard and URL-safe alphabets");
	/* bits after the last byte: "YR==" would also be "a" to a lax decoder */
	B64_BAD("YR==", "not base64 (bits set after the last byte)");
	B64_BAD("YWK=", "bits set after the last byte");
	/* the same rules for signatures and certificates, with their path */
	BAD(key_doc(PAYLOAD_B64, "YQ="), -EINVAL, "dsseEnvelope.signatures[0].sig: not base64");
	BAD(doc(MEDIA3, "{\"x509CertificateChain\":{\"certificates\":[{\"rawBytes\":\"MA==\"},"
		"{\"rawBytes\":\"M A=\"}]}}", envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\"}]")),
	    -EINVAL, "verificationMaterial.x509CertificateChain.certificates[1].rawBytes: not base64");
}

/* `n` certificates {"rawBytes":"MA=="} as x509CertificateChain material. */
static const char *chain(size_t n)
{
	char *b = buf();
	size_t o = (size_t)sprintf(b, "{\"x509CertificateChain\":{\"certificates\":[");

	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(b + o, "%s{\"rawBytes\":\"MA%c=\"}", i ? "," : "",
				     "AEIMQUYcgkosw048"[i % 16]);
	sprintf(b + o, "]},\"tlogEntries\":[]}");
	return b;
}

static void test_material(void)
{
	char env[512], hint[200];
	struct mfs_bundle b;

	snprintf(env, sizeof(env), "%s",
		 envelope(PAYLOAD_B64, "[{\"sig\":\"" SIG_B64 "\",\"keyid\":null}]"));

	/* old key bundles: rawBytes (base64 of PEM) and keyDetails, no hint */
	if (GOOD(doc(MEDIA3, "{\"publicKey\":{\"rawBytes\":\"LS0t\","
		     "\"keyDetails\":\"PKIX_ECDSA_P384_SHA_384\"}}", env), &b)) {
		CHECK_EQ_INT(b.method, MFS_SIG_KEY);
		CHECK_STR(b.key_hint, "");
		mfs_bundle_free(&b);
	}
	if (GOOD(doc(MEDIA3, "{\"publicKey\":{}}", env), &b))
		mfs_bundle_free(&b);
	if (GOOD(doc(MEDIA3, "{\"publicKey\":{\"hint\":null}}", env), &b))
		mfs_bundle_free(&b);
	BAD(doc(MEDIA3, "{\"publicKey\":{\"rawBytes\":1}}", env), -EINVAL,
	    "verificationMaterial.publicKey.rawBytes: not a string");
	BAD(doc(MEDIA3, "{\"publicKey\":{\"keyDetails\":[]}}", env), -EINVAL,
	    "verificationMaterial.publicKey.keyDetails: not a string");
	BAD(doc(MEDIA3, "{\"publicKey\":{\"hint\":7}}", env), -EINVAL,
	    "verificationMaterial.publicKey.hint: not a string");
	BAD(doc(MEDIA3, "{\"publicKey\":{\"hint\":\"a b\"}}", env), -EINVAL,
	    "verificationMaterial.publicKey.hint: not printable ASCII");
	BAD(doc(MEDIA3, "{\"publicKey\":{\"hint\":\"a\\u0001\"}}", env), -EINVAL,
	    "hint: not printable ASCII");
	BAD(doc(MEDIA3, "{\"publicKey\":{\"hint\":\"\\u00e9\"}}", env), -EINVAL,
	    "hint: not printable ASCII");
	/* 128 bytes of hint fit, 129 do not */
	memcpy(hint, "{\"publicKey\":{\"hint\":\"", 22);
	memset(hint + 22, 'f', 128);
	strcpy(hint + 22 + 128, "\"}}");
	if (GOOD(doc(MEDIA3, hint, env), &b)) {
		CHECK_EQ_INT(strlen(b.key_hint), 128);
		mfs_bundle_free(&b);
	}
	memset(hint + 22, 'f', 129);
	strcpy(hint + 22 + 129, "\"}}");
	BAD(doc(MEDIA3, hint, env), -EINVAL, "verificationMaterial.publicKey.hint: longer than 128 bytes");
	BAD(doc(MEDIA3, "{\"publicKey\":\"k\"}", env), -EINVAL,
	    "verificationMaterial.publicKey: not an object");

	/* one to ten certificates, leaf first */
	if (GOOD(doc(MEDIA3, chain(1), env), &b)) {
		CHECK_EQ_INT(b.method, MFS_SIG_CERTIFICATE);
		CHECK_EQ_INT(b.ncerts, 1);
		mfs_bundle_free(&b);
	}
	if (GOOD(doc(MEDIA3, chain(MFS_BUNDLE_MAX_CERTS), env), &b)) {
		CHECK_EQ_INT(b.ncerts, MFS_BUNDLE_MAX_CERTS);
		for (size_t i = 0; i < b.ncerts; i++) {
			CHECK_EQ_INT(b.certs[i].len, 2);
			CHECK_EQ_INT(b.certs[i].der[0], 0x30);
			CHECK_EQ_INT(b.certs[i].der[1], i % 16);
		}
		mfs_bundle_free(&b);
	}
	BAD(doc(MEDIA3, chain(MFS_BUNDLE_MAX_CERTS + 1), env), -EINVAL,
	    "verificationMaterial.x509CertificateChain.certificates: 11, over the limit of 10");
	BAD(doc(MEDIA3, chain(0), env), -EINVAL,
	    "verificationMaterial.x509CertificateChain.certificates: empty");
	BAD(doc(MEDIA3, "{\"x509CertificateChain\":{}}", env), -EINVAL,
	    "verificationMaterial.x509CertificateChain.certificates: missing");
	BAD(doc(MEDIA3, "{\"x509CertificateChain\":{\"certificates\":[\"MA==\"]}}", env), -EINVAL,
	    "verificationMaterial.x509CertificateChain.certificates[0]: not an object");
	BAD(doc(MEDIA3, "{\"x509CertificateChain\":{\"certificates\":[{}]}}", env), -EINVAL,
	    "verificationMaterial.x509CertificateChain.certificates[0].rawBytes: missing");

	/* keyless: the Fulcio leaf, and at least one tlog entry */
	if (GOOD(doc(MEDIA3, "{\"certificate\":{\"rawBytes\":\"MA==\"},\"tlogEntries\":[{}]}", env),
		 &b)) {
		CHECK_EQ_INT(b.method, MFS_SIG_KEYLESS);
		CHECK_EQ_INT(b.ncerts, 1);
		CHECK_EQ_INT(b.certs[0].len, 1);
		mfs_bundle_free(&b);
	}
	BAD(doc(MEDIA3, "{\"certificate\":{\"rawBytes\":\"MA==\"}}", env), -EINVAL,
	    "verificationMaterial.tlogEntries: missing; a keyless bundle needs");
	BAD(doc(MEDIA3, "{\"certificate\":{\"rawBytes\":\"MA==\"},\"tlogEntries\":[]}", env), -EINVAL,
	    "verificationMaterial.tlogEntries: empty; a keyless bundle needs");
	BAD(doc(MEDIA3, "{\"certificate\":{},\"tlogEntries\":[{}]}", env), -EINVAL,
	    "verificationMaterial.certificate.rawBytes: missing");
	BAD(doc(MEDIA3, "{\"certificate\":[],\"tlogEntries\":[{}]}", env), -EINVAL,
	    "verificationMaterial.certificate: not an object");

	/* exactly one way to check the signature */
	BAD(doc(MEDIA3, "{\"tlogEntries\":[]}", env), -EINVAL,
	    "verificationMaterial: no publicKey, x509CertificateChain or certificate");
	BAD(doc(MEDIA3, "{\"publicKey\":{},\"certificate\":{\"rawBytes\":\"MA==\"},\"tlogEntries\":[{}]}",
		env), -EINVAL, "verificationMaterial: more than one of");
	BAD(doc(MEDIA3, "{\"publicKey\":{},\"x509CertificateChain\":"
		"{\"certificates\":[{\"rawBytes\":\"MA==\"}]}}", env),
	    -EINVAL, "verificationMaterial: more than one of");
	BAD(doc(MEDIA3, "{\"publicKey\":null}", env), -EINVAL, "publicKey: not an object");
	BAD(doc(MEDIA3, "[]", env), -EINVAL, "verificationMaterial: not an object");
	BAD(doc(MEDIA3, "{\"publicKey\":{},\"tlogEntries\":{}}", env), -EINVAL,
	    "verificationMaterial.tlogEntries: not an array");
	BAD(doc(MEDIA3, "{\"publicKey\":{},\"timestampVerificationData\":[]}", env), -EINVAL,
	    "verificationMaterial.timestampVerificationData: not an object");
}

static void test_method_name(void)
{
	CHECK_STR(mfs_sig_method_name(MFS_SIG_KEY), "key");
	CHECK_STR(mfs_sig_method_name(MFS_SIG_CERTIFICATE), "certificate");
	CHECK_STR(mfs_sig_method_name(MFS_SIG_KEYLESS), "keyless");
	CHECK_STR(mfs_sig_method_name((enum mfs_sig_method)42), "unknown");
}

int main(void)
{
	RUN(test_fixtures);
	RUN(test_spec_invalid);
	RUN(test_minimal);
	RUN(test_not_json);
	RUN(test_depth);
	RUN(test_size);
	RUN(test_media_types);
	RUN(test_envelope);
	RUN(test_base64);
	RUN(test_material);
	RUN(test_method_name);
	return unit_done();
}
