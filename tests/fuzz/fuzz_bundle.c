/* libFuzzer harness for fs/bundle.c and fs/manifest.c: any bytes as a
 * model.sig, and as the in-toto statement inside one (both parsers read
 * untrusted JSON).
 *
 * Each input goes through mfs_bundle_parse; if that accepts it, its
 * decoded payload goes through mfs_manifest_parse; and the input itself
 * goes through mfs_manifest_parse too.  Beyond "no crash, leak or UB", it
 * aborts when a module breaks its contract (include/bundle.h,
 * include/manifest.h):
 *   - an errno the header does not list, an error without a message or
 *     with the output left filled, a success with a message, -E2BIG other
 *     than over MFS_BUNDLE_MAX;
 *   - an accepted bundle: no payload or signature, a payload type other
 *     than in-toto, a media version outside 1-3, a certificate count
 *     wrong for the method or over the limit, an empty certificate, a
 *     hint that is not printable ASCII, a document nested deeper than
 *     MFS_BUNDLE_MAX_DEPTH, or a payload or signature other than what a
 *     lax base64 decoder (written again here) reads from the JSON;
 *   - an accepted manifest: more than MFS_MANIFEST_MAX_ITEMS items, a
 *     name (or ignore path) that is not normalized or not safe, "."
 *     beside other files or as an ignore path, a name twice (a shard: name and range), a file
 *     with names under it, shards that do not tile their file from 0 in
 *     shard_size steps, or a v1.0 root that is not SHA-256 over the
 *     digests in order;
 *   - a keyless bundle it accepts is verified (include/keyless.h) against
 *     the production trusted root with the fixtures' identity and issuer:
 *     an errno other than -EKEYREJECTED or -ENOMEM, a failure whose
 *     message does not start with a step's name or that left a signer, a
 *     success that named none.  (A mutated real bundle reaches each step:
 *     the seeds hold the keyless fixtures.)
 *
 * Build and run: make fuzz-build; tests/fuzz/run [SECONDS] fuzz_bundle. */
#include "bundle.h"
#include "digest.h"
#include "keyless.h"
#include "manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { ERRLEN = 512, PAIRS_MAX = 4096 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
	fuzz_broken("fuzz_bundle", what, detail);
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++) {
		if (c[i])
			return false;
	}
	return true;
}

static void check_outcome(const char *entry, int rc, bool ok_errno, const void *out,
			  size_t outlen, const char *err)
{
	if (fuzz_verbose())
		fprintf(stderr, "fuzz_bundle: %s: %d %s\n", entry, rc,
			memchr(err, '\0', ERRLEN) ? err : "(unterminated)");
	if (!memchr(err, '\0', ERRLEN))
		broken(entry, "left the message unterminated");
	if (rc == 0 && err[0])
		broken(entry, "succeeded with a message");
	if (rc != 0 && !ok_errno)
		broken(entry, "returned an undocumented error");
	if (rc != 0 && !err[0])
		broken(entry, "failed without a message");
	if (rc != 0 && !all_zero(out, outlen))
		broken(entry, "failed but left its output filled");
}

/* ---------------------------------------------------------------- bundle */

static int depth_of(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	int d = 0;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			int c = depth_of(v);

			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(j)) {
		json_object_foreach(j, key, v) {
			int c = depth_of(v);

			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

/* A lax decoder: both alphabets, '=' at the end dropped, nothing checked
 * (the module refused anything odd already). */
static size_t lax_b64(const char *s, unsigned char *out)
{
	static const char *const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(std, *s == '-' ? '+' : *s == '_' ? '/' : *s);

		acc = acc << 6 | (uint32_t)(p ? p - std : 0);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

static void same_bytes(const char *what, json_t *b64, const unsigned char *got, size_t len)
{
	const char *s = json_string_value(b64);
	unsigned char *want;
	size_t n;

	if (!s)
		broken(what, "accepted without a base64 string");
	want = malloc(strlen(s) + 1);
	if (!want)
		abort();
	n = lax_b64(s, want);
	if (n != len || memcmp(want, got, n))
		broken(what, "decoded other bytes than base64 holds");
	free(want);
}

static void check_bundle(const struct mfs_bundle *b)
{
	json_t *root = b->json, *env, *vm, *sig0;

	if (!b->payload || !b->payload_len || !b->sig || !b->sig_len)
		broken("bundle", "accepted without a payload or a signature");
	if (!b->payload_type || strcmp(b->payload_type, "application/vnd.in-toto+json"))
		broken("bundle", "accepted a payload type other than in-toto");
	if (b->media_version < 1 || b->media_version > 3)
		broken("bundle", "media version out of range");
	if (b->ncerts > MFS_BUNDLE_MAX_CERTS)
		broken("bundle", "too many certificates");
	switch (b->method) {
	case MFS_SIG_KEY:
		if (b->ncerts)
			broken("bundle", "certificates with a key");
		break;
	case MFS_SIG_CERTIFICATE:
		if (!b->ncerts)
			broken("bundle", "a chain without certificates");
		break;
	case MFS_SIG_KEYLESS:
		if (b->ncerts != 1)
			broken("bundle", "keyless without exactly one certificate");
		break;
	default:
		broken("bundle", "unknown method");
	}
	for (size_t i = 0; i < b->ncerts; i++) {
		if (!b->certs[i].der || !b->certs[i].len)
			broken("bundle", "an empty certificate");
	}
	if (!memchr(b->key_hint, '\0', sizeof(b->key_hint)))
		broken("bundle", "hint unterminated");
	for (const char *c = b->key_hint; *c; c++) {
		if (*c < 0x21 || *c > 0x7e)
			broken("bundle", "hint not printable ASCII");
	}
	if (b->method != MFS_SIG_KEY && b->key_hint[0])
		broken("bundle", "a hint without a key");
	if (!root || !json_is_object(root))
		broken("bundle", "accepted without its JSON object");
	if (depth_of(root) > MFS_BUNDLE_MAX_DEPTH)
		broken("bundle", "accepted a document nested too deep");

	env = json_object_get(root, "dsseEnvelope");
	vm = json_object_get(root, "verificationMaterial");
	sig0 = json_array_get(json_object_get(env, "signatures"), 0);
	same_bytes("dsseEnvelope.payload", json_object_get(env, "payload"), b->payload,
		   b->payload_len);
	same_bytes("signatures[0].sig", json_object_get(sig0, "sig"), b->sig, b->sig_len);
	if (b->method == MFS_SIG_KEYLESS)
		same_bytes("certificate.rawBytes",
			   json_object_get(json_object_get(vm, "certificate"), "rawBytes"),
			   b->certs[0].der, b->certs[0].len);
	if (b->method == MFS_SIG_CERTIFICATE) {
		json_t *certs = json_object_get(json_object_get(vm, "x509CertificateChain"),
						"certificates");

		if (json_array_size(certs) != b->ncerts)
			broken("bundle", "certificate count differs from the chain's");
		for (size_t i = 0; i < b->ncerts; i++)
			same_bytes("certificates[].rawBytes",
				   json_object_get(json_array_get(certs, i), "rawBytes"),
				   b->certs[i].der, b->certs[i].len);
	}
}

/* --------------------------------------------------------------- keyless */

#define ROOT "tests/data/oms/sigstore-python-trust/trusted_root.production.json"

static void run_keyless(const struct mfs_bundle *b, char *err)
{
	static const char *const ids[] = { "stefanb@us.ibm.com", NULL };
	static const char *const steps[] = {
		"bundle: ", "entry: ", "log not in the trusted root: ", "SET: ",
		"inclusion proof: ", "checkpoint: ", "timestamp: ", "SCT: ",
		"certificate chain: ", "certificate usage: ", "identity: ", "issuer: ",
		"DSSE signature: ", "tlog body: ",
	};
	const struct mfs_keyless_policy p = { ROOT, ids, "https://sigstore.verify.ibm.com/oauth2" };
	struct mfs_keyless_signer who;
	bool named = false;
	int rc;

	memset(err, 'x', ERRLEN);
	memset(&who, 0x5a, sizeof(who));
	rc = mfs_keyless_verify(b, &p, &who, err, ERRLEN);
	if (!memchr(err, '\0', ERRLEN))
		broken("mfs_keyless_verify", "left the message unterminated");
	if (rc == 0) {
		if (strncmp(who.who, "keyless stefanb@us.ibm.com (", 28) != 0)
			broken("mfs_keyless_verify", "succeeded without naming the signer");
		return;
	}
	if (rc != -EKEYREJECTED && rc != -ENOMEM)
		broken("mfs_keyless_verify", "returned an undocumented error");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		named |= strncmp(err, steps[i], strlen(steps[i])) == 0;
	if (!named && rc != -ENOMEM)
		broken("mfs_keyless_verify", err);
	if (who.who[0])
		broken("mfs_keyless_verify", "failed but named a signer");
}

/* -------------------------------------------------------------- manifest */

/* The header's rules for a name, written out again: normalized (no "",
 * "." or ".." component, no leading or trailing '/', "." alone), no
 * control characters, at most MFS_MANIFEST_MAX_NAME bytes. */
static bool good_name(const char *name)
{
	size_t len = strlen(name);
	const char *c = name;

	if (!strcmp(name, "."))
		return true;
	if (len == 0 || len > MFS_MANIFEST_MAX_NAME)
		return false;
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[n])
			return true;
		c += n + 1;
	}
}

static void check_manifest(const struct mfs_manifest *m)
{
	bool dot = false;

	if (m->n > MFS_MANIFEST_MAX_ITEMS)
		broken("manifest", "over MFS_MANIFEST_MAX_ITEMS");
	if (m->n && !m->items)
		broken("manifest", "items missing");
	if (m->shards != (m->shard_size != 0))
		broken("manifest", "shard_size without shards or shards without it");
	if (m->v01 && (m->shards || m->ignore_paths || !all_zero(m->root, sizeof(m->root))))
		broken("manifest", "v0.1 with shards, ignore paths or a root");
	for (char **p = m->ignore_paths; p && *p; p++) {
		if (!good_name(*p) || !strcmp(*p, "."))
			broken("manifest: ignore path not normalized or unsafe", *p);
	}
	if (m->ignore_paths && !m->ignore_paths[0])
		broken("manifest", "an empty ignore_paths list that is not NULL");

	for (size_t i = 0; i < m->n; i++) {
		const struct mfs_manifest_item *a = &m->items[i];

		if (!a->name || !good_name(a->name))
			broken("manifest: name not normalized or unsafe", a->name);
		dot |= !strcmp(a->name, ".");
		if (a->shard != m->shards)
			broken("manifest: shard flag differs from the method", a->name);
		if (!a->shard && (a->start || a->end))
			broken("manifest: a range on a whole file", a->name);
		if (a->shard && (a->end <= a->start || a->end - a->start > m->shard_size ||
				 a->start % m->shard_size || a->end > INT64_MAX))
			broken("manifest: a shard out of its bounds", a->name);
	}
	if (dot && m->n > 1 && !m->shards)
		broken("manifest", "'.' beside other files");
	if (m->n > PAIRS_MAX)
		return;
	for (size_t i = 0; i < m->n; i++) {
		const struct mfs_manifest_item *a = &m->items[i];
		size_t alen = strlen(a->name), count = 0;
		uint64_t max_end = 0;

		for (size_t j = 0; j < m->n; j++) {
			const struct mfs_manifest_item *b = &m->items[j];

			if (!strncmp(a->name, b->name, alen) && b->name[alen] == '/')
				broken("manifest: a file with names under it", a->name);
			if (strcmp(a->name, b->name)) {
				if (!strcmp(a->name, "."))
					broken("manifest", "'.' beside other files");
				continue;
			}
			if (i != j && a->start == b->start)
				broken("manifest: a name twice", a->name);
			count++;
			max_end = b->end > max_end ? b->end : max_end;
		}
		/* starts are multiples of shard_size and unique, all but the
		 * last shard_size long: as many as cover [0, max_end) means
		 * they tile it */
		if (a->shard && a->end != max_end && a->end - a->start != m->shard_size)
			broken("manifest: a short shard that is not the last", a->name);
		if (a->shard && count != (max_end + m->shard_size - 1) / m->shard_size)
			broken("manifest: shards that do not tile their file", a->name);
	}
	if (!m->v01) {
		struct mfs_hasher *h;
		struct mfs_digests d;

		if (mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h))
			abort();
		for (size_t i = 0; i < m->n; i++)
			mfs_hasher_update(h, m->items[i].sha256, 32);
		if (mfs_hasher_final(h, &d))
			abort();
		mfs_hasher_free(h);
		if (memcmp(d.d[MFS_SHA256], m->root, 32))
			broken("manifest", "root is not SHA-256 over the digests");
	}
}

static void run_manifest(const char *entry, const void *text, size_t len, char *err)
{
	struct mfs_manifest m;
	int rc;

	memset(&m, 0x5a, sizeof(m));
	memset(err, 'x', ERRLEN);
	rc = mfs_manifest_parse(text, len, &m, err, ERRLEN);
	check_outcome(entry, rc, rc == -EINVAL || rc == -ENOMEM || rc == -EIO, &m, sizeof(m), err);
	if (rc == 0)
		check_manifest(&m);
	mfs_manifest_free(&m);
	if (!all_zero(&m, sizeof(m)))
		broken(entry, "mfs_manifest_free left the manifest filled");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfs_bundle b;
	char *err;
	uint8_t *text;
	int rc;

	/* on the heap, exactly sized: ASan sees a read past either */
	text = malloc(size ? size : 1);
	err = malloc(ERRLEN);
	if (!text || !err)
		abort();
	memcpy(text, data, size);

	memset(&b, 0x5a, sizeof(b));
	memset(err, 'x', ERRLEN);
	rc = mfs_bundle_parse(text, size, &b, err, ERRLEN);
	check_outcome("mfs_bundle_parse", rc, rc == -EINVAL || rc == -ENOMEM || rc == -E2BIG, &b,
		      sizeof(b), err);
	if ((rc == -E2BIG) != (size > MFS_BUNDLE_MAX))
		broken("mfs_bundle_parse", "-E2BIG is not exactly 'over MFS_BUNDLE_MAX'");
	if (rc == 0) {
		check_bundle(&b);
		run_manifest("mfs_manifest_parse (payload)", b.payload, b.payload_len, err);
		if (b.method == MFS_SIG_KEYLESS)
			run_keyless(&b, err);
	}
	mfs_bundle_free(&b);
	if (!all_zero(&b, sizeof(b)))
		broken("mfs_bundle_free", "left the bundle filled");

	run_manifest("mfs_manifest_parse (input)", text, size, err);

	free(err);
	free(text);
	return 0;
}
