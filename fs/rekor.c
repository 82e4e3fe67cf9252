/* rekor — see include/rekor.h.  Formats: Sigstore's protobuf-specs
 * (TrustedRoot, TransparencyLogEntry, as JSON), RFC 9162 §2.1 (Merkle
 * trees), C2SP signed-note and tlog-checkpoint, RFC 8785 (the SET's
 * JSON). */
#include "rekor.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jsonin.h"
#include "log.h"
#include "trustroot.h"

/* The em dash (U+2014) and space that start a signed note's signature
 * line. */
#define NOTE_SIG_PREFIX "\xe2\x80\x94 "

static const struct {
	const char *name;
	enum mfs_tlog_alg alg;
	int type;        /* EVP_PKEY_EC or EVP_PKEY_ED25519 */
	int bits;        /* of the curve, for ECDSA */
} key_types[] = {
	{ "PKIX_ECDSA_P256_SHA_256", MFS_TLOG_ECDSA_SHA256, EVP_PKEY_EC, 256 },
	{ "PKIX_ECDSA_P384_SHA_384", MFS_TLOG_ECDSA_SHA384, EVP_PKEY_EC, 384 },
	{ "PKIX_ECDSA_P521_SHA_512", MFS_TLOG_ECDSA_SHA512, EVP_PKEY_EC, 521 },
	{ "PKIX_ED25519", MFS_TLOG_ED25519, EVP_PKEY_ED25519, 0 },
};

/* ------------------------------------------------------------ helpers */

/* Decodes base64 into exactly `want` bytes at `out`.  0, -EINVAL (not
 * base64 or another length), -ENOMEM. */
static int b64_fixed(const char *s, size_t len, unsigned char *out, size_t want)
{
	unsigned char *buf;
	size_t n;
	int rc = mfs_b64_decode(s, len, &buf, &n, NULL, 0);

	if (rc < 0)
		return rc;
	if (n != want)
		rc = -EINVAL;
	else
		memcpy(out, buf, n);
	free(buf);
	return rc;
}

/* A decimal number: digits only, no leading zero, at most INT64_MAX. */
static bool parse_dec(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

/* A protobuf int64 in JSON: a string of digits, or a JSON integer. */
static bool json_int64(json_t *j, int64_t *out)
{
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0)
			return false;
		*out = (int64_t)json_integer_value(j);
		return true;
	}
	if (json_is_string(j))
		return parse_dec(json_string_value(j), json_string_length(j), out);
	return false;
}

/* A string member `key` of `obj`, or NULL. */
static const char *get_str(json_t *obj, const char *key, size_t *len)
{
	json_t *j = json_object_get(obj, key);

	if (!json_is_string(j))
		return NULL;
	if (len)
		*len = json_string_length(j);
	return json_string_value(j);
}

/* SHA-256 of a || b || c.  False only when OpenSSL cannot allocate a
 * context; *out is then all zero bytes, and every caller treats that as a
 * failure (of the proof, or of loading the root). */
static bool sha256(const void *a, size_t alen, const void *b, size_t blen, const void *c,
		   size_t clen, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(ctx, a, alen) && EVP_DigestUpdate(ctx, b, blen) &&
		  EVP_DigestUpdate(ctx, c, clen) && EVP_DigestFinal_ex(ctx, out, NULL);

	EVP_MD_CTX_free(ctx);
	if (!ok)
		memset(out, 0, 32);
	return ok;
}

int mfs_tlog_signed(const struct mfs_tlog *log, const void *msg, size_t len,
		    const unsigned char *sig, size_t siglen)
{
	const EVP_MD *md = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	switch (log->alg) {
	case MFS_TLOG_ECDSA_SHA256: md = EVP_sha256(); break;
	case MFS_TLOG_ECDSA_SHA384: md = EVP_sha384(); break;
	case MFS_TLOG_ECDSA_SHA512: md = EVP_sha512(); break;
	case MFS_TLOG_ED25519: md = NULL; break;
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, log->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* ------------------------------------------------------- trusted root */

/* The C2SP signed-note ID of an Ed25519 key named after baseUrl's host. */
static void note_key_id(const char *base_url, EVP_PKEY *pk, unsigned char out[32])
{
	const char *host = strstr(base_url, "://");
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	static const unsigned char sep[2] = { '\n', 0x01 };

	host = host ? host + 3 : base_url;
	if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 || rawlen != sizeof(raw)) {
		memset(out, 0, 32);
		return;
	}
	sha256(host, strlen(host), sep, sizeof(sep), raw, rawlen, out);
}

static int read_tlog(json_t *t, const char *m, size_t idx, struct mfs_tlog *log, bool *skip,
		     char *err, size_t errlen)
{
	json_t *pk = json_object_get(t, "publicKey"), *vf;
	const char *url, *details, *halg, *s;
	unsigned char *der = NULL, id[32];
	const unsigned char *p;
	size_t len, derlen;
	EVP_PKEY *key;
	size_t k;
	int rc;

	*skip = false;
	if (!json_is_object(t))
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu]: not an object", m, idx);
	url = get_str(t, "baseUrl", &len);
	if (!url || len == 0 || len >= sizeof(log->base_url) || strlen(url) != len)
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].baseUrl: missing or too long", m, idx);
	halg = get_str(t, "hashAlgorithm", NULL);
	if (json_object_get(t, "hashAlgorithm") && !halg)
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].hashAlgorithm: not a string", m, idx);
	if (!json_is_object(pk))
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].publicKey: missing", m, idx);
	details = get_str(pk, "keyDetails", NULL);
	if (!details)
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].publicKey.keyDetails: missing", m, idx);
	for (k = 0; k < sizeof(key_types) / sizeof(key_types[0]); k++) {
		if (strcmp(details, key_types[k].name) == 0)
			break;
	}
	/* A log of a kind this code cannot check trusts nothing here. */
	if (k == sizeof(key_types) / sizeof(key_types[0]) || (halg && strcmp(halg, "SHA2_256"))) {
		*skip = true;
		return 0;
	}
	s = get_str(pk, "rawBytes", &len);
	if (!s)
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].publicKey.rawBytes: missing", m, idx);
	rc = mfs_b64_decode(s, len, &der, &derlen, NULL, 0);
	if (rc == -ENOMEM)
		return mfs_fail(err, errlen, rc, "out of memory");
	if (rc < 0)
		return mfs_fail(err, errlen, rc, "%s[%zu].publicKey.rawBytes: not base64", m, idx);
	p = der;
	key = d2i_PUBKEY(NULL, &p, (long)derlen);
	if (!key || p != der + derlen) {
		EVP_PKEY_free(key);
		free(der);
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].publicKey.rawBytes: not a DER key",
			    m, idx);
	}
	log->pkey = key;
	if (EVP_PKEY_get_base_id(key) != key_types[k].type ||
	    (key_types[k].bits && EVP_PKEY_get_bits(key) != key_types[k].bits)) {
		free(der);
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].publicKey: not a %s key", m, idx,
			    details);
	}
	log->alg = key_types[k].alg;
	memcpy(log->base_url, url, strlen(url) + 1);

	vf = json_object_get(pk, "validFor");
	s = get_str(vf, "start", NULL);
	if (!s || !mfs_rfc3339_parse(s, &log->valid_from)) {
		free(der);
		return mfs_fail(err, errlen, -EINVAL,
			    "%s[%zu].publicKey.validFor.start: missing or not RFC 3339", m, idx);
	}
	log->valid_until = INT64_MAX;
	if (json_object_get(vf, "end")) {
		s = get_str(vf, "end", NULL);
		if (!s || !mfs_rfc3339_parse(s, &log->valid_until) ||
		    log->valid_until < log->valid_from) {
			free(der);
			return mfs_fail(err, errlen, -EINVAL,
				    "%s[%zu].publicKey.validFor.end: not RFC 3339 or before the start",
				    m, idx);
		}
	}

	s = get_str(json_object_get(t, "logId"), "keyId", &len);
	rc = s ? b64_fixed(s, len, log->log_id, sizeof(log->log_id)) : -EINVAL;
	if (rc < 0) {
		free(der);
		if (rc == -ENOMEM)
			return mfs_fail(err, errlen, rc, "out of memory");
		return mfs_fail(err, errlen, rc, "%s[%zu].logId.keyId: missing or not 32 bytes",
			    m, idx);
	}
	/* The ID is what entries and checkpoint key hints name the log by:
	 * it must be the key's, or a root could lend one log's name to
	 * another's key. */
	if (!sha256(der, derlen, "", 0, "", 0, id)) {
		free(der);
		return mfs_fail(err, errlen, -ENOMEM, "out of memory");
	}
	free(der);
	if (memcmp(id, log->log_id, 32) != 0) {
		if (log->alg == MFS_TLOG_ED25519)
			note_key_id(log->base_url, key, id);
		if (memcmp(id, log->log_id, 32) != 0)
			return mfs_fail(err, errlen, -EINVAL, "%s[%zu].logId.keyId: not the key's ID",
				    m, idx);
	}
	return 0;
}

int mfs_tlog_list_parse(json_t *doc, const char *member, struct mfs_tlog_root *out,
			char *err, size_t errlen)
{
	json_t *tlogs = json_object_get(doc, member), *t;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return mfs_fail(err, errlen, -EINVAL, "trusted root: not a JSON object");
	if (!json_is_array(tlogs))
		return mfs_fail(err, errlen, -EINVAL, "trusted root: no \"%s\" array", member);
	json_array_foreach(tlogs, i, t) {
		struct mfs_tlog *log;
		bool skip;

		if (out->nlogs == MFS_REKOR_MAX_LOGS) {
			mfs_tlog_root_free(out);
			return mfs_fail(err, errlen, -EINVAL, "trusted root: more than %d %s",
				    MFS_REKOR_MAX_LOGS, member);
		}
		log = &out->logs[out->nlogs];
		rc = read_tlog(t, member, i, log, &skip, err, errlen);
		if (rc < 0) {
			EVP_PKEY_free(log->pkey);
			memset(log, 0, sizeof(*log));
			mfs_tlog_root_free(out);
			return rc;
		}
		if (skip)
			out->nskipped++;
		else
			out->nlogs++;
	}
	return 0;
}

int mfs_tlog_root_parse(json_t *doc, struct mfs_tlog_root *out, char *err, size_t errlen)
{
	return mfs_tlog_list_parse(doc, "tlogs", out, err, errlen);
}

void mfs_tlog_root_free(struct mfs_tlog_root *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nlogs; i++)
		EVP_PKEY_free(r->logs[i].pkey);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------- Merkle proof */

static bool node_hash(const unsigned char l[32], const unsigned char r[32], unsigned char out[32])
{
	static const unsigned char one = 0x01;

	return sha256(&one, 1, l, 32, r, 32, out);
}

bool mfs_rekor_inclusion_ok(const unsigned char leaf[32], uint64_t index, uint64_t size,
			    const unsigned char (*path)[32], size_t npath,
			    const unsigned char root[32])
{
	uint64_t fn = index, sn;
	unsigned char r[32];

	if (index >= size)
		return false;
	sn = size - 1;
	memcpy(r, leaf, 32);
	for (size_t i = 0; i < npath; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			if (!node_hash(path[i], r, r))
				return false;
			/* Up past the levels where this node is a left child
			 * with no right sibling: they hash nothing. */
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			if (!node_hash(r, path[i], r))
				return false;
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, 32) == 0;
}

/* --------------------------------------------------------- checkpoint */

int mfs_rekor_checkpoint_verify(const char *note, size_t len, const struct mfs_tlog *log,
				uint64_t *tree_size, unsigned char root_hash[32], char *err,
				size_t errlen)
{
	const char *end = note + len, *blank, *l2, *l3, *l4, *p;
	size_t bodylen, nsigs = 0;
	int64_t size;
	int rc;

	if (len > MFS_REKOR_MAX_NOTE)
		return mfs_fail(err, errlen, -EKEYREJECTED, "larger than %d bytes", MFS_REKOR_MAX_NOTE);
	blank = memmem(note, len, "\n\n", 2);
	if (!blank || len == 0 || note[len - 1] != '\n')
		return mfs_fail(err, errlen, -EKEYREJECTED, "not a signed note (no blank line)");
	bodylen = (size_t)(blank - note) + 1;
	if (memchr(note, '\0', len))
		return mfs_fail(err, errlen, -EKEYREJECTED, "not a signed note (a NUL byte)");

	/* origin, tree size, root hash, then extension lines. */
	l2 = memchr(note, '\n', bodylen);
	if (l2 == note)
		return mfs_fail(err, errlen, -EKEYREJECTED, "empty origin line");
	l2++;
	l3 = l2 < note + bodylen ? memchr(l2, '\n', (size_t)(note + bodylen - l2)) : NULL;
	if (!l3 || !parse_dec(l2, (size_t)(l3 - l2), &size))
		return mfs_fail(err, errlen, -EKEYREJECTED, "no tree size on line 2");
	l3++;
	l4 = l3 < note + bodylen ? memchr(l3, '\n', (size_t)(note + bodylen - l3)) : NULL;
	if (!l4)
		return mfs_fail(err, errlen, -EKEYREJECTED, "no root hash on line 3");
	rc = b64_fixed(l3, (size_t)(l4 - l3), root_hash, 32);
	if (rc == -ENOMEM)
		return mfs_fail(err, errlen, rc, "out of memory");
	if (rc < 0)
		return mfs_fail(err, errlen, -EKEYREJECTED, "line 3 is not a base64 SHA-256 root hash");

	for (p = blank + 2; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *name, *sp;
		unsigned char *sig;
		size_t siglen, pl = strlen(NOTE_SIG_PREFIX);

		if ((size_t)(eol - p) < pl || memcmp(p, NOTE_SIG_PREFIX, pl) != 0)
			return mfs_fail(err, errlen, -EKEYREJECTED,
				    "a signature line does not start with an em dash");
		name = p + pl;
		sp = memchr(name, ' ', (size_t)(eol - name));
		if (!sp || sp == name)
			return mfs_fail(err, errlen, -EKEYREJECTED, "a signature line has no name");
		rc = mfs_b64_decode(sp + 1, (size_t)(eol - sp - 1), &sig, &siglen, NULL, 0);
		if (rc == -ENOMEM)
			return mfs_fail(err, errlen, rc, "out of memory");
		if (rc < 0 || siglen < 5) {
			free(sig);
			return mfs_fail(err, errlen, -EKEYREJECTED,
				    "a signature line is not base64 of a key hint and signature");
		}
		if (memcmp(sig, log->log_id, 4) == 0) {
			nsigs++;
			rc = mfs_tlog_signed(log, note, bodylen, sig + 4, siglen - 4);
			free(sig);
			if (rc < 0)
				return mfs_fail(err, errlen, rc, "out of memory");
			if (rc == 1) {
				*tree_size = (uint64_t)size;
				return 0;
			}
		} else {
			free(sig);
		}
		p = eol + 1;
	}
	if (!nsigs)
		return mfs_fail(err, errlen, -EKEYREJECTED, "no signature by %s", log->base_url);
	return mfs_fail(err, errlen, -EKEYREJECTED, "the signature by %s does not verify",
		    log->base_url);
}

/* ------------------------------------------------------------- entry */

const char *mfs_rekor_step_name(enum mfs_rekor_step s)
{
	switch (s) {
	case MFS_REKOR_OK: return "ok";
	case MFS_REKOR_ENTRY: return "entry";
	case MFS_REKOR_LOG: return "log not in the trusted root";
	case MFS_REKOR_SET: return "SET";
	case MFS_REKOR_INCLUSION: return "inclusion proof";
	case MFS_REKOR_CHECKPOINT: return "checkpoint";
	}
	return "unknown";
}

struct entry {
	int64_t log_index, integrated_time;
	unsigned char log_id[32];
	const char *body_b64;           /* canonicalizedBody as given */
	size_t body_b64_len;
	unsigned char *body;            /* decoded */
	size_t body_len;
	unsigned char *set;             /* decoded SET, NULL if no promise */
	size_t set_len;
	int64_t proof_index, proof_size;
	unsigned char root_hash[32];
	unsigned char (*hashes)[32];
	size_t nhashes;
	const char *note;
	size_t note_len;
};

static void entry_free(struct entry *e)
{
	free(e->body);
	free(e->set);
	free(e->hashes);
}

#define BAD(...) mfs_fail(err, errlen, -EINVAL, "entry: " __VA_ARGS__)

static int read_entry(json_t *j, struct entry *e, char *err, size_t errlen)
{
	json_t *proof, *hashes, *h, *promise;
	const char *s;
	size_t len, i;
	int rc;

	if (!json_is_object(j))
		return BAD("not an object");
	if (!json_int64(json_object_get(j, "logIndex"), &e->log_index))
		return BAD("logIndex: missing or not a non-negative int64");
	if (!json_int64(json_object_get(j, "integratedTime"), &e->integrated_time))
		return BAD("integratedTime: missing or not a non-negative int64");
	s = get_str(json_object_get(j, "logId"), "keyId", &len);
	if (!s)
		return BAD("logId.keyId: missing");
	rc = b64_fixed(s, len, e->log_id, 32);
	if (rc == -EINVAL)
		return BAD("logId.keyId: not base64 of 32 bytes");
	if (rc < 0)
		goto nomem;
	e->body_b64 = get_str(j, "canonicalizedBody", &e->body_b64_len);
	if (!e->body_b64)
		return BAD("canonicalizedBody: missing");
	rc = mfs_b64_decode(e->body_b64, e->body_b64_len, &e->body, &e->body_len, NULL, 0);
	if (rc == -EINVAL)
		return BAD("canonicalizedBody: not base64");
	if (rc < 0)
		goto nomem;
	promise = json_object_get(j, "inclusionPromise");
	if (promise) {
		s = get_str(promise, "signedEntryTimestamp", &len);
		if (!s)
			return BAD("inclusionPromise.signedEntryTimestamp: missing");
		rc = mfs_b64_decode(s, len, &e->set, &e->set_len, NULL, 0);
		if (rc == -EINVAL)
			return BAD("inclusionPromise.signedEntryTimestamp: not base64");
		if (rc < 0)
			goto nomem;
	}

	proof = json_object_get(j, "inclusionProof");
	if (!json_is_object(proof))
		return BAD("inclusionProof: missing");
	if (!json_int64(json_object_get(proof, "logIndex"), &e->proof_index))
		return BAD("inclusionProof.logIndex: missing or not a non-negative int64");
	if (!json_int64(json_object_get(proof, "treeSize"), &e->proof_size))
		return BAD("inclusionProof.treeSize: missing or not a non-negative int64");
	s = get_str(proof, "rootHash", &len);
	if (!s)
		return BAD("inclusionProof.rootHash: missing");
	rc = b64_fixed(s, len, e->root_hash, 32);
	if (rc == -EINVAL)
		return BAD("inclusionProof.rootHash: not base64 of 32 bytes");
	if (rc < 0)
		goto nomem;
	hashes = json_object_get(proof, "hashes");
	if (!json_is_array(hashes))
		return BAD("inclusionProof.hashes: missing");
	if (json_array_size(hashes) > MFS_REKOR_MAX_PROOF)
		return BAD("inclusionProof.hashes: more than %d", MFS_REKOR_MAX_PROOF);
	e->hashes = calloc(json_array_size(hashes) + 1, 32);
	if (!e->hashes)
		goto nomem;
	json_array_foreach(hashes, i, h) {
		if (!json_is_string(h))
			return BAD("inclusionProof.hashes[%zu]: not a string", i);
		rc = b64_fixed(json_string_value(h), json_string_length(h), e->hashes[i], 32);
		if (rc == -EINVAL)
			return BAD("inclusionProof.hashes[%zu]: not base64 of 32 bytes", i);
		if (rc < 0)
			goto nomem;
	}
	e->nhashes = json_array_size(hashes);
	e->note = get_str(json_object_get(proof, "checkpoint"), "envelope", &e->note_len);
	if (!e->note)
		return BAD("inclusionProof.checkpoint.envelope: missing");
	return 0;
nomem:
	return mfs_fail(err, errlen, -ENOMEM, "entry: out of memory");
}

#undef BAD

const struct mfs_tlog *mfs_tlog_find(const struct mfs_tlog_root *root, const unsigned char id[32],
				     int64_t at)
{
	const struct mfs_tlog *first = NULL;

	for (size_t i = 0; i < root->nlogs; i++) {
		const struct mfs_tlog *l = &root->logs[i];

		if (memcmp(l->log_id, id, 32) != 0)
			continue;
		if (at >= l->valid_from && at <= l->valid_until)
			return l;
		if (!first)
			first = l;
	}
	return first;
}

/* The SET's message: RFC 8785 JSON, which for these four members (base64
 * and decimal values, nothing to escape) is this one snprintf. */
static char *set_message(const struct entry *e, size_t *len)
{
	char hex[65];
	size_t cap = e->body_b64_len + 160;
	char *msg = malloc(cap);
	int n;

	if (!msg)
		return NULL;
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", e->log_id[i]);
	n = snprintf(msg, cap, "{\"body\":\"%.*s\",\"integratedTime\":%lld,\"logID\":\"%s\","
		     "\"logIndex\":%lld}", (int)e->body_b64_len, e->body_b64,
		     (long long)e->integrated_time, hex, (long long)e->log_index);
	*len = (size_t)n;
	return msg;
}

int mfs_rekor_verify(json_t *entry, const struct mfs_tlog_root *root,
		     struct mfs_rekor_result *res, char *err, size_t errlen)
{
	struct entry e = { 0 };
	const struct mfs_tlog *log;
	unsigned char leaf[32], cp_root[32];
	static const unsigned char zero = 0x00;
	uint64_t cp_size;
	char why[160];
	char *msg;
	size_t msglen;
	int rc;

	memset(res, 0, sizeof(*res));
	res->step = MFS_REKOR_ENTRY;
	rc = read_entry(entry, &e, err, errlen);
	if (rc < 0)
		goto out;
	/* set_message's %.*s takes an int. */
	if (e.body_b64_len > INT_MAX / 2) {
		rc = mfs_fail(err, errlen, -EINVAL, "entry: canonicalizedBody too long");
		goto out;
	}

	res->step = MFS_REKOR_LOG;
	log = mfs_tlog_find(root, e.log_id, e.integrated_time);
	if (!log) {
		rc = mfs_fail(err, errlen, -ENOKEY,
			  "log not in the trusted root: logId %02x%02x%02x%02x... is none of its %zu tlogs",
			  e.log_id[0], e.log_id[1], e.log_id[2], e.log_id[3], root->nlogs);
		goto out;
	}
	if (e.integrated_time < log->valid_from || e.integrated_time > log->valid_until) {
		rc = mfs_fail(err, errlen, -EKEYEXPIRED,
			  "log not in the trusted root: %s is not trusted at integratedTime %lld",
			  log->base_url, (long long)e.integrated_time);
		goto out;
	}

	res->step = MFS_REKOR_SET;
	if (!e.set) {
		rc = mfs_fail(err, errlen, -EKEYREJECTED,
			  "SET: no inclusionPromise (a Rekor v2 entry?), so no signed time");
		goto out;
	}
	msg = set_message(&e, &msglen);
	if (!msg) {
		rc = mfs_fail(err, errlen, -ENOMEM, "SET: out of memory");
		goto out;
	}
	rc = mfs_tlog_signed(log, msg, msglen, e.set, e.set_len);
	free(msg);
	if (rc <= 0) {
		rc = rc < 0 ? mfs_fail(err, errlen, rc, "SET: out of memory") :
			      mfs_fail(err, errlen, -EKEYREJECTED,
				   "SET: signedEntryTimestamp does not verify with %s's key",
				   log->base_url);
		goto out;
	}

	res->step = MFS_REKOR_INCLUSION;
	if (!sha256(&zero, 1, e.body, e.body_len, "", 0, leaf)) {
		rc = mfs_fail(err, errlen, -ENOMEM, "inclusion proof: out of memory");
		goto out;
	}
	if (!mfs_rekor_inclusion_ok(leaf, (uint64_t)e.proof_index, (uint64_t)e.proof_size,
				    (const unsigned char (*)[32])e.hashes, e.nhashes,
				    e.root_hash)) {
		rc = mfs_fail(err, errlen, -EKEYREJECTED,
			  "inclusion proof: %zu hashes from leaf %lld of %lld do not give rootHash",
			  e.nhashes, (long long)e.proof_index, (long long)e.proof_size);
		goto out;
	}

	res->step = MFS_REKOR_CHECKPOINT;
	rc = mfs_rekor_checkpoint_verify(e.note, e.note_len, log, &cp_size, cp_root, why,
					 sizeof(why));
	if (rc < 0) {
		rc = mfs_fail(err, errlen, rc, "checkpoint: %s", why);
		goto out;
	}
	if (cp_size != (uint64_t)e.proof_size || memcmp(cp_root, e.root_hash, 32) != 0) {
		rc = mfs_fail(err, errlen, -EKEYREJECTED,
			  "checkpoint: its tree (size %llu) is not the proof's (size %lld)",
			  (unsigned long long)cp_size, (long long)e.proof_size);
		goto out;
	}

	res->step = MFS_REKOR_OK;
	res->integrated_time = e.integrated_time;
	res->log_index = e.log_index;
	res->tree_size = cp_size;
	res->log = log;
	rc = 0;
out:
	entry_free(&e);
	return rc;
}
