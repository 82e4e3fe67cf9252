/* Tests of keyless.h: the real keyless fixtures (model_signing's and the
 * OMS spec's) against the production trusted root, the policy (identity,
 * issuer, root), one flipped byte in each signed part, the bundle's
 * shape; then the synthetic bundles of tests/data/keyless (made by
 * tests/e2e/mkkeyless.py, see its README), each reaching one step the
 * real ones cannot.  Every refusal must name its step at the start of
 * the message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "keyless.h"
#include "trustroot.h"
#include "jsonflip.h"
#include "unit.h"

#define PROD "tests/data/oms/sigstore-python-trust/trusted_root.production.json"
#define STAGING "tests/data/oms/sigstore-python-trust/trusted_root.staging.json"
#define ID "stefanb@us.ibm.com"
#define ISSUER "https://sigstore.verify.ibm.com/oauth2"
#define SYN "tests/data/keyless"
#define SYN_ID "signer@example.test"
#define SYN_URI "https://github.com/example/model/.github/workflows/sign.yml@refs/heads/main"
#define SYN_ISSUER "https://issuer.example.test"
#define LONG_URI "https://github.com/some-organisation/some-rather-long-repository-name-for-" \
	"models/.github/workflows/release-signing-of-models.yml@refs/tags/v1.2.3"

static const struct {
	const char *path;
	const char *index;
	bool tsa;                  /* carries an RFC 3161 timestamp */
} fixtures[] = {
	{ "tests/data/oms/scripts/tests/v0.3.1-sigstore/model.sig", "206342049", false },
	{ "tests/data/oms/scripts/tests/v1.0.0-sigstore/model.sig", "206344181", false },
	{ "tests/data/oms/scripts/tests/v1.0.1-sigstore/model.sig", "588939812", false },
	{ "tests/data/oms/scripts/tests/v1.1.0-sigstore/model.sig", "598151086", true },
	{ "tests/data/oms/ossf-model-signing-spec/test-vectors/v1.0/valid/sigstore.bundle.json",
	  "598151086", true },
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

static const char *const ids_real[] = { ID, NULL };

/* The bundle at `path`, parsed as the FS does (mfs_bundle_parse). */
static int load_bundle(const char *path, struct mfs_bundle *b)
{
	static char buf[1 << 20];
	char err[256];
	FILE *f = fopen(path, "rb");
	size_t n;

	memset(b, 0, sizeof(*b));
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

static int verify(const struct mfs_bundle *b, const char *root, const char *const *ids,
		  const char *issuer, struct mfs_keyless_signer *s, char *err, size_t errlen)
{
	struct mfs_keyless_policy p = { .trusted_root = root, .identities = ids,
					.oidc_issuer = issuer };

	return mfs_keyless_verify(b, &p, s, err, errlen);
}

/* rc is want_rc and err starts with "<step>: " (what: for the log). */
static void expect(const char *what, int rc, const char *err, int want_rc, const char *step)
{
	size_t n = strlen(step);

	if (rc != want_rc || strncmp(err, step, n) != 0 || strncmp(err + n, ": ", 2) != 0)
		fprintf(stderr, "  %s: rc %d, \"%s\"; expected %d, step \"%s\"\n", what, rc, err,
			want_rc, step);
	CHECK_EQ_INT(rc, want_rc);
	CHECK(strncmp(err, step, n) == 0 && strncmp(err + n, ": ", 2) == 0);
}

/* A real fixture verified under the real policy must fail at `step`. */
static void expect_real(const struct mfs_bundle *b, const char *what, const char *step)
{
	struct mfs_keyless_signer s;
	char err[512] = "";
	int rc = verify(b, PROD, ids_real, ISSUER, &s, err, sizeof(err));

	expect(what, rc, err, -EKEYREJECTED, step);
	CHECK_STR(s.who, "");
}

static json_t *material(const struct mfs_bundle *b, const char *member)
{
	return json_object_get(json_object_get(b->json, "verificationMaterial"), member);
}

static json_t *entry(const struct mfs_bundle *b)
{
	return json_array_get(material(b, "tlogEntries"), 0);
}

static json_t *stamps(const struct mfs_bundle *b)
{
	return json_object_get(material(b, "timestampVerificationData"), "rfc3161Timestamps");
}

/* The offset in the leaf's DER of the last byte of its SCT list (the
 * last byte of the last SCT's signature), or 0. */
static size_t sct_last_byte(const struct mfs_bundle *b)
{
	const unsigned char *p = b->certs[0].der, *data, *at;
	X509 *x = d2i_X509(NULL, &p, (long)b->certs[0].len);
	const ASN1_OCTET_STRING *os;
	size_t off = 0;
	int idx, n;

	if (!x)
		return 0;
	idx = X509_get_ext_by_NID(x, NID_ct_precert_scts, -1);
	if (idx >= 0) {
		os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
		data = ASN1_STRING_get0_data(os);
		n = ASN1_STRING_length(os);
		at = memmem(b->certs[0].der, b->certs[0].len, data, (size_t)n);
		if (at && n > 0)
			off = (size_t)(at - b->certs[0].der) + (size_t)n - 1;
	}
	X509_free(x);
	return off;
}

/* ------------------------------------------------------ real fixtures */

static void test_fixtures_verify(void)
{
	for (size_t i = 0; i < NFIX; i++) {
		struct mfs_keyless_signer s;
		struct mfs_bundle b;
		char err[512] = "", want[64];
		int rc;

		CHECK_EQ_INT(load_bundle(fixtures[i].path, &b), 0);
		CHECK_EQ_INT(b.method, MFS_SIG_KEYLESS);
		rc = verify(&b, PROD, ids_real, ISSUER, &s, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "  %s: %s\n", fixtures[i].path, err);
		CHECK_EQ_INT(rc, 0);
#define WHO "keyless " ID " (issuer " ISSUER ", https://rekor.sigstore.dev index "
		CHECK(strncmp(s.who, WHO, strlen(WHO)) == 0);
#undef WHO
		snprintf(want, sizeof(want), "index %s, 20", fixtures[i].index);
		CHECK_CONTAINS(s.who, want);
		/* No signer wanted: the same answer. */
		CHECK_EQ_INT(verify(&b, PROD, ids_real, ISSUER, NULL, err, sizeof(err)), 0);
		mfs_bundle_free(&b);
	}
}

static void test_policy(void)
{
	static const char *const wrong_id[] = { "someone@us.ibm.com", NULL };
	static const char *const prefix_id[] = { "stefanb@us.ibm.co", NULL };
	static const char *const several[] = { "a@example.test", ID, "https://x.test/w", NULL };
	static const char *const none[] = { NULL };
	struct mfs_keyless_signer s;
	struct mfs_bundle b;
	char err[512];
	int rc;

	CHECK_EQ_INT(load_bundle(fixtures[3].path, &b), 0);

	rc = verify(&b, PROD, wrong_id, ISSUER, &s, err, sizeof(err));
	expect("wrong identity", rc, err, -EKEYREJECTED, "identity");
	CHECK_CONTAINS(err, ID);              /* says whose it is */
	rc = verify(&b, PROD, prefix_id, ISSUER, &s, err, sizeof(err));
	expect("identity prefix", rc, err, -EKEYREJECTED, "identity");
	rc = verify(&b, PROD, ids_real, "https://sigstore.verify.ibm.com/oauth", &s, err,
		    sizeof(err));
	expect("wrong issuer", rc, err, -EKEYREJECTED, "issuer");
	rc = verify(&b, PROD, ids_real, "https://accounts.google.com", &s, err, sizeof(err));
	expect("other issuer", rc, err, -EKEYREJECTED, "issuer");
	rc = verify(&b, STAGING, ids_real, ISSUER, &s, err, sizeof(err));
	expect("staging root", rc, err, -EKEYREJECTED, "log not in the trusted root");

	rc = verify(&b, PROD, several, ISSUER, &s, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	CHECK(strncmp(s.who, "keyless " ID " (", strlen("keyless " ID " (")) == 0);

	/* A policy that cannot be used. */
	rc = verify(&b, PROD, NULL, ISSUER, &s, err, sizeof(err));
	expect("no identities", rc, err, -EINVAL, "policy");
	rc = verify(&b, PROD, none, ISSUER, &s, err, sizeof(err));
	expect("empty identities", rc, err, -EINVAL, "policy");
	rc = verify(&b, PROD, ids_real, NULL, &s, err, sizeof(err));
	expect("no issuer", rc, err, -EINVAL, "policy");
	rc = verify(&b, NULL, ids_real, ISSUER, &s, err, sizeof(err));
	expect("no root", rc, err, -EINVAL, "policy");
	CHECK_EQ_INT(mfs_keyless_verify(&b, NULL, &s, err, sizeof(err)), -EINVAL);
	/* err may be NULL with no length. */
	CHECK_EQ_INT(verify(&b, PROD, wrong_id, ISSUER, NULL, NULL, 0), -EKEYREJECTED);

	/* A trusted root that cannot be read or is not one. */
	rc = verify(&b, "tests/data/no-such-root.json", ids_real, ISSUER, &s, err, sizeof(err));
	expect("missing root", rc, err, -EINVAL, "trusted root");
	rc = verify(&b, fixtures[3].path, ids_real, ISSUER, &s, err, sizeof(err));
	expect("a bundle as root", rc, err, -EINVAL, "trusted root");
	unit_tmp_make("keyless");
	{
		FILE *f = fopen(unit_at("root.json"), "w");
		json_error_t jerr;
		json_t *doc;

		fputs("{\"mediaType\": "
		      "\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\",", f);
		fclose(f);
		rc = verify(&b, unit_at("root.json"), ids_real, ISSUER, &s, err, sizeof(err));
		expect("truncated root", rc, err, -EINVAL, "trusted root");
		/* The production root without its certificate authorities. */
		doc = json_load_file(PROD, 0, &jerr);
		json_object_del(doc, "certificateAuthorities");
		json_dump_file(doc, unit_at("root.json"), 0);
		json_decref(doc);
		rc = verify(&b, unit_at("root.json"), ids_real, ISSUER, &s, err, sizeof(err));
		expect("root without CAs", rc, err, -EINVAL, "trusted root");
		CHECK_CONTAINS(err, "certificateAuthorities");
	}
	unit_tmp_remove();
	mfs_bundle_free(&b);
}

/* One flipped byte in each signed part of every fixture. */
static void test_tamper(void)
{
	for (size_t i = 0; i < NFIX; i++) {
		struct mfs_bundle b;
		char what[160];
		size_t off;

#define FRESH(part) do { \
		mfs_bundle_free(&b); \
		CHECK_EQ_INT(load_bundle(fixtures[i].path, &b), 0); \
		snprintf(what, sizeof(what), "%s, %s", fixtures[i].path, part); \
	} while (0)
		memset(&b, 0, sizeof(b));

		FRESH("SET");
		flip(json_object_get(json_object_get(entry(&b), "inclusionPromise"),
				     "signedEntryTimestamp"), 20);
		expect_real(&b, what, "SET");

		FRESH("inclusion proof hash");
		flip(json_array_get(json_object_get(json_object_get(entry(&b), "inclusionProof"),
						    "hashes"), 1), 7);
		expect_real(&b, what, "inclusion proof");

		FRESH("checkpoint signature");
		flip(json_object_get(json_object_get(json_object_get(entry(&b), "inclusionProof"),
						     "checkpoint"), "envelope"), -10);
		expect_real(&b, what, "checkpoint");

		FRESH("SCT signature");
		off = sct_last_byte(&b);
		CHECK(off > 0);
		b.certs[0].der[off] ^= 0x01;
		expect_real(&b, what, "SCT");

		/* The last byte of a certificate is its signature's. */
		FRESH("certificate signature");
		b.certs[0].der[b.certs[0].len - 1] ^= 0x01;
		expect_real(&b, what, "certificate chain");

		FRESH("payload");
		b.payload[b.payload_len / 2] ^= 0x01;
		expect_real(&b, what, "DSSE signature");

		FRESH("envelope signature");
		b.sig[b.sig_len - 1] ^= 0x01;
		/* The timestamp is over these bytes: it fails first. */
		expect_real(&b, what, fixtures[i].tsa ? "timestamp" : "DSSE signature");

		if (fixtures[i].tsa) {
			FRESH("timestamp");
			flip(json_object_get(json_array_get(stamps(&b), 0), "signedTimestamp"),
			     -10);
			expect_real(&b, what, "timestamp");
		}
		mfs_bundle_free(&b);
#undef FRESH
	}
}

static void test_shape(void)
{
	struct mfs_bundle b;
	json_t *tlogs, *ts;

	/* Two tlog entries, even two copies of a good one. */
	CHECK_EQ_INT(load_bundle(fixtures[1].path, &b), 0);
	tlogs = material(&b, "tlogEntries");
	json_array_append_new(tlogs, json_deep_copy(json_array_get(tlogs, 0)));
	expect_real(&b, "two tlog entries", "bundle");
	json_array_clear(tlogs);
	expect_real(&b, "no tlog entry", "bundle");
	json_object_set_new(json_object_get(b.json, "verificationMaterial"), "tlogEntries",
			    json_object());
	expect_real(&b, "tlogEntries an object", "bundle");
	mfs_bundle_free(&b);

	/* A malformed entry: rekor's own step name. */
	CHECK_EQ_INT(load_bundle(fixtures[1].path, &b), 0);
	json_object_set_new(entry(&b), "logIndex", json_string("-1"));
	expect_real(&b, "logIndex -1", "entry");
	mfs_bundle_free(&b);

	/* A leaf that is not (exactly) a DER certificate. */
	CHECK_EQ_INT(load_bundle(fixtures[1].path, &b), 0);
	b.certs[0].len--;
	expect_real(&b, "a cut certificate", "bundle");
	b.certs[0].len++;
	b.certs[0].der[0] = 0x31;           /* a SET, not a SEQUENCE */
	expect_real(&b, "not a certificate", "bundle");
	mfs_bundle_free(&b);

	/* A duplicated timestamp counts once, not twice. */
	CHECK_EQ_INT(load_bundle(fixtures[3].path, &b), 0);
	ts = stamps(&b);
	json_array_append_new(ts, json_deep_copy(json_array_get(ts, 0)));
	expect_real(&b, "duplicated timestamp", "timestamp");
	mfs_bundle_free(&b);

	/* At most MFS_KEYLESS_MAX_TIMESTAMPS. */
	CHECK_EQ_INT(load_bundle(fixtures[3].path, &b), 0);
	ts = stamps(&b);
	for (int k = 0; k < MFS_KEYLESS_MAX_TIMESTAMPS; k++)
		json_array_append_new(ts, json_deep_copy(json_array_get(ts, 0)));
	expect_real(&b, "too many timestamps", "bundle");
	mfs_bundle_free(&b);

	/* An empty list is no timestamp: the log's time is enough. */
	CHECK_EQ_INT(load_bundle(fixtures[3].path, &b), 0);
	json_array_clear(stamps(&b));
	CHECK_EQ_INT(verify(&b, PROD, ids_real, ISSUER, NULL, NULL, 0), 0);
	json_object_set_new(material(&b, "timestampVerificationData"), "rfc3161Timestamps",
			    json_string("x"));
	expect_real(&b, "rfc3161Timestamps a string", "bundle");
	json_object_set_new(json_object_get(b.json, "verificationMaterial"),
			    "timestampVerificationData", json_array());
	expect_real(&b, "timestampVerificationData an array", "bundle");
	mfs_bundle_free(&b);
}

/* ------------------------------------------------- synthetic bundles */

static const struct {
	const char *name;
	const char *identity;
	int rc;
	const char *step;          /* NULL when it verifies */
} synthetic[] = {
	{ "good", SYN_ID, 0, NULL },
	{ "issuer-v1", SYN_ID, 0, NULL },
	{ "uri-san", SYN_URI, 0, NULL },
	{ "rekor-ed25519", SYN_ID, 0, NULL },
	{ "tsa", SYN_ID, 0, NULL },
	{ "tsa-after-leaf", SYN_ID, -EKEYREJECTED, "certificate chain" },
	{ "tsa-not-in-root", SYN_ID, -EKEYREJECTED, "timestamp" },
	{ "no-codesigning", SYN_ID, -EKEYREJECTED, "certificate usage" },
	{ "no-digitalsignature", SYN_ID, -EKEYREJECTED, "certificate usage" },
	{ "no-issuer-ext", SYN_ID, -EKEYREJECTED, "issuer" },
	{ "no-sct", SYN_ID, -EKEYREJECTED, "SCT" },
	{ "time-outside-leaf", SYN_ID, -EKEYREJECTED, "certificate chain" },
	{ "sct-unknown-log", SYN_ID, -EKEYREJECTED, "SCT" },
	{ "ca-validfor-ended", SYN_ID, -EKEYREJECTED, "certificate chain" },
	{ "body-wrong-signature", SYN_ID, -EKEYREJECTED, "tlog body" },
	{ "body-wrong-verifier", SYN_ID, -EKEYREJECTED, "tlog body" },
	{ "body-wrong-payload-hash", SYN_ID, -EKEYREJECTED, "tlog body" },
	{ "kind-hashedrekord", SYN_ID, -EKEYREJECTED, "tlog body" },
	{ "compat-pae", SYN_ID, -EKEYREJECTED, "DSSE signature" },
	{ "tsa-other-signer", SYN_ID, -EKEYREJECTED, "timestamp" },
};
#define NSYN (sizeof(synthetic) / sizeof(synthetic[0]))

static const char *syn_path(const char *name, const char *file)
{
	static char buf[2][256];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), SYN "/%s/%s", name, file);
	return buf[k];
}

static int syn_verify(const struct mfs_bundle *b, const char *name, const char *identity,
		      struct mfs_keyless_signer *s, char *err, size_t errlen)
{
	const char *ids[] = { identity, NULL };

	return verify(b, syn_path(name, "trusted_root.json"), ids, SYN_ISSUER, s, err, errlen);
}

static void test_synthetic(void)
{
	for (size_t i = 0; i < NSYN; i++) {
		struct mfs_keyless_signer s;
		struct mfs_bundle b;
		char err[512] = "", want[300];
		int rc;

		CHECK_EQ_INT(load_bundle(syn_path(synthetic[i].name, "model.sig"), &b), 0);
		rc = syn_verify(&b, synthetic[i].name, synthetic[i].identity, &s, err,
				sizeof(err));
		if (synthetic[i].step) {
			expect(synthetic[i].name, rc, err, synthetic[i].rc, synthetic[i].step);
		} else {
			if (rc != 0)
				fprintf(stderr, "  %s: %s\n", synthetic[i].name, err);
			CHECK_EQ_INT(rc, 0);
			snprintf(want, sizeof(want), "keyless %s (issuer " SYN_ISSUER
				 ", https://rekor.example.test index 123456, ",
				 synthetic[i].identity);
			CHECK(strncmp(s.who, want, strlen(want)) == 0);
		}
		mfs_bundle_free(&b);
	}
}

/* What the synthetic bundles allow beyond the generator's knobs. */
static void test_synthetic_more(void)
{
	static const char *const both[] = { SYN_URI, SYN_ID, NULL };
	struct mfs_keyless_signer s;
	struct mfs_bundle b;
	char err[512];
	int rc;

	CHECK_EQ_INT(load_bundle(syn_path("good", "model.sig"), &b), 0);
	rc = syn_verify(&b, "good", SYN_ID, &s, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(s.who, "keyless " SYN_ID " (issuer " SYN_ISSUER ", https://rekor.example.test "
		  "index 123456, 2025-01-01T00:01:00Z)");
	/* An e-mail identity does not match a URI SAN, nor the reverse. */
	rc = syn_verify(&b, "good", SYN_URI, &s, err, sizeof(err));
	expect("good, URI identity", rc, err, -EKEYREJECTED, "identity");
	rc = verify(&b, syn_path("good", "trusted_root.json"), both, SYN_ISSUER, &s, err,
		    sizeof(err));
	CHECK_EQ_INT(rc, 0);
	/* A second envelope signature (sigstore-python compares the
	 * envelope's signatures with the logged list): not the logged entry. */
	json_array_append_new(json_object_get(json_object_get(b.json, "dsseEnvelope"), "signatures"),
			      json_pack("{s:s}", "sig", "MAYCAQECAQE="));
	rc = syn_verify(&b, "good", SYN_ID, &s, err, sizeof(err));
	expect("good, a second envelope signature", rc, err, -EKEYREJECTED, "tlog body");
	json_array_remove(json_object_get(json_object_get(b.json, "dsseEnvelope"), "signatures"), 1);
	rc = syn_verify(&b, "good", SYN_ID, &s, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	/* Its log, CT log and CA are in no other root. */
	rc = verify(&b, PROD, ids_real, SYN_ISSUER, &s, err, sizeof(err));
	expect("good, production root", rc, err, -EKEYREJECTED, "log not in the trusted root");
	rc = verify(&b, syn_path("rekor-ed25519", "trusted_root.json"), ids_real, SYN_ISSUER, &s,
		    err, sizeof(err));
	expect("good, another synthetic root", rc, err, -EKEYREJECTED,
	       "log not in the trusted root");
	mfs_bundle_free(&b);

	CHECK_EQ_INT(load_bundle(syn_path("uri-san", "model.sig"), &b), 0);
	rc = syn_verify(&b, "uri-san", SYN_ID, &s, err, sizeof(err));
	expect("uri-san, e-mail identity", rc, err, -EKEYREJECTED, "identity");
	mfs_bundle_free(&b);

	/* A 145-character workflow identity is named whole in the signer. */
	CHECK_EQ_INT(load_bundle(syn_path("long-uri-san", "model.sig"), &b), 0);
	rc = syn_verify(&b, "long-uri-san", LONG_URI, &s, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	CHECK(strncmp(s.who, "keyless " LONG_URI " (issuer ", strlen("keyless " LONG_URI " (issuer ")) == 0);
	mfs_bundle_free(&b);

	/* The issuer of the old extension is compared as well. */
	CHECK_EQ_INT(load_bundle(syn_path("issuer-v1", "model.sig"), &b), 0);
	rc = verify(&b, syn_path("issuer-v1", "trusted_root.json"), (const char *const[]){
		SYN_ID, NULL }, "https://issuer.example.tes", &s, err, sizeof(err));
	expect("issuer-v1, wrong issuer", rc, err, -EKEYREJECTED, "issuer");
	mfs_bundle_free(&b);

	/* The Ed25519 log's SET and checkpoint, flipped. */
	CHECK_EQ_INT(load_bundle(syn_path("rekor-ed25519", "model.sig"), &b), 0);
	flip(json_object_get(json_object_get(entry(&b), "inclusionPromise"),
			     "signedEntryTimestamp"), 20);
	rc = syn_verify(&b, "rekor-ed25519", SYN_ID, &s, err, sizeof(err));
	expect("rekor-ed25519, SET", rc, err, -EKEYREJECTED, "SET");
	mfs_bundle_free(&b);
	CHECK_EQ_INT(load_bundle(syn_path("rekor-ed25519", "model.sig"), &b), 0);
	flip(json_object_get(json_object_get(json_object_get(entry(&b), "inclusionProof"),
					     "checkpoint"), "envelope"), -10);
	rc = syn_verify(&b, "rekor-ed25519", SYN_ID, &s, err, sizeof(err));
	expect("rekor-ed25519, checkpoint", rc, err, -EKEYREJECTED, "checkpoint");
	mfs_bundle_free(&b);

	/* The synthetic TSA's stamp, flipped; and stripped (the log's time
	 * alone is enough). */
	CHECK_EQ_INT(load_bundle(syn_path("tsa", "model.sig"), &b), 0);
	flip(json_object_get(json_array_get(stamps(&b), 0), "signedTimestamp"), -10);
	rc = syn_verify(&b, "tsa", SYN_ID, &s, err, sizeof(err));
	expect("tsa, flipped", rc, err, -EKEYREJECTED, "timestamp");
	json_array_clear(stamps(&b));
	CHECK_EQ_INT(syn_verify(&b, "tsa", SYN_ID, &s, err, sizeof(err)), 0);
	mfs_bundle_free(&b);
	/* The stamp of a TSA the root does not list: removing it makes the
	 * bundle good. */
	CHECK_EQ_INT(load_bundle(syn_path("tsa-not-in-root", "model.sig"), &b), 0);
	json_array_clear(stamps(&b));
	CHECK_EQ_INT(syn_verify(&b, "tsa-not-in-root", SYN_ID, &s, err, sizeof(err)), 0);
	mfs_bundle_free(&b);

	/* kindVersion is not signed: saying dsse does not make a
	 * hashedrekord body one. */
	CHECK_EQ_INT(load_bundle(syn_path("kind-hashedrekord", "model.sig"), &b), 0);
	json_object_set_new(json_object_get(entry(&b), "kindVersion"), "kind",
			    json_string("dsse"));
	rc = syn_verify(&b, "kind-hashedrekord", SYN_ID, &s, err, sizeof(err));
	expect("hashedrekord body, dsse kindVersion", rc, err, -EKEYREJECTED, "tlog body");
	CHECK_CONTAINS(err, "not a dsse 0.0.1 body");
	mfs_bundle_free(&b);

	/* A kindVersion that says otherwise over a good dsse body. */
	CHECK_EQ_INT(load_bundle(syn_path("good", "model.sig"), &b), 0);
	json_object_set_new(json_object_get(entry(&b), "kindVersion"), "version",
			    json_string("0.0.2"));
	rc = syn_verify(&b, "good", SYN_ID, &s, err, sizeof(err));
	expect("good, kindVersion 0.0.2", rc, err, -EKEYREJECTED, "tlog body");
	mfs_bundle_free(&b);
}

/* `name`'s bundle against its root with `member`[0]'s validFor (under
 * publicKey for a log) ending an hour after it starts, long before
 * anything was signed. */
static void syn_validfor_ended(const char *name, const char *member, bool log,
			       const char *step)
{
	const char *ids[] = { SYN_ID, NULL };
	struct mfs_keyless_signer s;
	struct mfs_bundle b;
	json_error_t jerr;
	json_t *doc, *m, *vf;
	char err[512], what[128], end[32];
	int64_t start = 0;
	time_t t;
	struct tm tm;
	int rc;

	doc = json_load_file(syn_path(name, "trusted_root.json"), 0, &jerr);
	CHECK(doc != NULL);
	m = json_array_get(json_object_get(doc, member), 0);
	if (log)
		m = json_object_get(m, "publicKey");
	vf = json_object_get(m, "validFor");
	CHECK(mfs_rfc3339_parse(json_string_value(json_object_get(vf, "start")), &start));
	t = (time_t)(start + 3600);
	strftime(end, sizeof(end), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	json_object_set_new(vf, "end", json_string(end));
	CHECK_EQ_INT(json_dump_file(doc, unit_at("root.json"), 0), 0);
	json_decref(doc);
	CHECK_EQ_INT(load_bundle(syn_path(name, "model.sig"), &b), 0);
	rc = verify(&b, unit_at("root.json"), ids, SYN_ISSUER, &s, err, sizeof(err));
	snprintf(what, sizeof(what), "%s, %s ended", name, member);
	expect(what, rc, err, -EKEYREJECTED, step);
	mfs_bundle_free(&b);
}

/* The validity windows of the root's logs and authorities. */
static void test_synthetic_validfor(void)
{
	unit_tmp_make("keyless");
	syn_validfor_ended("good", "tlogs", true, "log not in the trusted root");
	syn_validfor_ended("good", "ctlogs", true, "SCT");
	syn_validfor_ended("good", "certificateAuthorities", false, "certificate chain");
	syn_validfor_ended("tsa", "timestampAuthorities", false, "timestamp");
	unit_tmp_remove();
}

int main(void)
{
	RUN(test_fixtures_verify);
	RUN(test_policy);
	RUN(test_tamper);
	RUN(test_shape);
	RUN(test_synthetic);
	RUN(test_synthetic_more);
	RUN(test_synthetic_validfor);
	return unit_done();
}
