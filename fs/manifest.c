/* manifest — see include/manifest.h.  Formats: the in-toto Statement v1,
 * the OpenSSF Model Signing predicate v1.0 (as its spec and model_signing
 * v1.x write it) and the v0.2.0 tool's Digests/v0.1. */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "jsonin.h"
#include "log.h"

#define STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define SHARDED_PREFIX "sha256-sharded-"

enum {
	QUOTE_MAX = 80,   /* bytes of a hostile name quoted in a message */
	SHA256_LEN = 32,
};

/* The largest double below which every whole number is exact (2^53): a
 * shard_size written as a float above it may not be the one signed. */
#define EXACT_DOUBLE_MAX 9007199254740992.0

#define STR_(x) #x
#define STR(x) STR_(x)

struct ctx {
	struct mfs_manifest *m;
	const char *list;   /* "resources" (v1.0) or "subject" (v0.1) */
	char *err;
	size_t errlen;
};

/* The reason into the caller's buffer; returns rc. */
#define fail(c, rc, ...) mfs_fail((c)->err, (c)->errlen, (rc), __VA_ARGS__)

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* `j` is 64 lowercase hex digits: model_signing writes them so, and one
 * spelling per digest keeps the signed text and what we read as one. */
static bool read_sha256(const json_t *j, unsigned char out[SHA256_LEN])
{
	const char *s;

	if (!json_is_string(j) || json_string_length(j) != 2 * SHA256_LEN)
		return false;
	s = json_string_value(j);
	for (size_t i = 0; i < SHA256_LEN; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Normalizes the `len` bytes at `raw` as model_signing's PurePosixPath
 * does: "." components and empty ones ("//", a trailing '/') dropped;
 * nothing left is ".", the name of a single-file model.  `out` has room
 * for len + 1 bytes (the result is never longer, and "." needs a raw
 * name of at least one byte).  NULL, or why the name is refused. */
static const char *normalize(const char *raw, size_t len, char *out)
{
	size_t o = 0, i = 0;

	if (len == 0)
		return "empty";
	if (len > MFS_MANIFEST_MAX_NAME)
		return "longer than " STR(MFS_MANIFEST_MAX_NAME) " bytes";
	for (size_t k = 0; k < len; k++) {
		if ((unsigned char)raw[k] < 0x20 || raw[k] == 0x7f)
			return "control character";
	}
	if (raw[0] == '/')
		return "absolute";
	while (i < len) {
		const char *slash = memchr(raw + i, '/', len - i);
		size_t n = slash ? (size_t)(slash - (raw + i)) : len - i;

		if (n == 2 && raw[i] == '.' && raw[i + 1] == '.')
			return "'..' component";
		if (n > 0 && !(n == 1 && raw[i] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, raw + i, n);
			o += n;
		}
		i += n + 1;
	}
	if (!o)
		out[o++] = '.';
	out[o] = '\0';
	return NULL;
}

/* START or END of a shard: decimal digits, no sign, no leading zero (one
 * spelling per offset), at most INT64_MAX (an off_t). */
static bool read_offset(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > ((uint64_t)INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Fills it->name (and, for a shard, start and end) from the raw name at
 * list[i]: "PATH" or "PATH:START:END", the last two ':' fields, so that a
 * PATH may hold a ':'. */
static int read_name(struct ctx *c, size_t i, const json_t *j, bool shard,
		     struct mfs_manifest_item *it)
{
	const char *raw, *why, *c1, *c2;
	size_t len, plen;
	char q[QUOTE_MAX];

	if (!json_is_string(j))
		return fail(c, -EINVAL, "%s[%zu].name: %s", c->list, i, j ? "not a string" : "missing");
	raw = json_string_value(j);
	len = plen = json_string_length(j);
	if (shard) {
		c2 = memrchr(raw, ':', len);
		c1 = c2 ? memrchr(raw, ':', (size_t)(c2 - raw)) : NULL;
		if (!c1)
			return fail(c, -EINVAL, "%s[%zu].name '%s': not PATH:START:END", c->list, i,
				    mfs_json_quote(raw, q, sizeof(q)));
		if (!read_offset(c1 + 1, (size_t)(c2 - c1 - 1), &it->start) ||
		    !read_offset(c2 + 1, (size_t)(raw + len - c2 - 1), &it->end))
			return fail(c, -EINVAL, "%s[%zu].name '%s': START or END is not a decimal offset",
				    c->list, i, mfs_json_quote(raw, q, sizeof(q)));
		if (it->end <= it->start)
			return fail(c, -EINVAL, "%s[%zu].name '%s': END is not past START", c->list, i,
				    mfs_json_quote(raw, q, sizeof(q)));
		plen = (size_t)(c1 - raw);
		it->shard = true;
	}
	it->name = malloc(plen + 1);
	if (!it->name)
		return fail(c, -ENOMEM, "out of memory");
	why = normalize(raw, plen, it->name);
	if (why)
		return fail(c, -EINVAL, "%s[%zu].name '%s': %s", c->list, i, mfs_json_quote(raw, q, sizeof(q)),
			    why);
	return 0;
}

/* The order of the checks below: model_signing's, paths compared
 * component by component ('/' before any other byte), then shards by
 * offset.  Equal names end up adjacent, and so do a file and the names
 * under it (nothing sorts between "a" and "a/..."). */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x == y) {
			if (!x)
				return 0;
			continue;
		}
		if (!x || !y)
			return !x ? -1 : 1;
		if (x == '/' || y == '/')
			return x == '/' ? -1 : 1;
		return x < y ? -1 : 1;
	}
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct mfs_manifest_item *a = *(const struct mfs_manifest_item *const *)pa;
	const struct mfs_manifest_item *b = *(const struct mfs_manifest_item *const *)pb;
	int r = path_cmp(a->name, b->name);

	if (r)
		return r;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	/* equal: the listed order, so that the later one is reported */
	return a < b ? -1 : a > b;
}

/* "resources[3].name 'a/b'" or "resources[3] 'a/b:0:8'", for messages. */
static const char *describe(const struct ctx *c, const struct mfs_manifest_item *it, char *out,
			    size_t outlen)
{
	char q[QUOTE_MAX];
	size_t i = (size_t)(it - c->m->items);

	if (it->shard)
		snprintf(out, outlen, "%s[%zu] '%s:%" PRIu64 ":%" PRIu64 "'", c->list, i,
			 mfs_json_quote(it->name, q, sizeof(q)), it->start, it->end);
	else
		snprintf(out, outlen, "%s[%zu].name '%s'", c->list, i, mfs_json_quote(it->name, q, sizeof(q)));
	return out;
}

/* One shard `it` of a file, after `prev` (NULL for its first): the
 * shards of a file must tile it from 0, each shard_size long but the
 * last, which may be shorter. */
static int check_shard(struct ctx *c, const struct mfs_manifest_item *prev,
		       const struct mfs_manifest_item *it)
{
	uint64_t size = c->m->shard_size;
	char d[QUOTE_MAX + 64], q[QUOTE_MAX];

	if (it->end - it->start > size)
		return fail(c, -EINVAL, "%s: longer than shard_size %" PRIu64,
			    describe(c, it, d, sizeof(d)), size);
	if (!prev) {
		if (it->start != 0)
			return fail(c, -EINVAL, "%s: the shards of '%s' do not start at 0",
				    describe(c, it, d, sizeof(d)), mfs_json_quote(it->name, q, sizeof(q)));
		return 0;
	}
	if (it->start != prev->end)
		return fail(c, -EINVAL, "%s: %s the shard before it", describe(c, it, d, sizeof(d)),
			    it->start < prev->end ? "overlaps" : "leaves a gap after");
	if (prev->end - prev->start != size)
		return fail(c, -EINVAL, "%s: shorter than shard_size %" PRIu64 " but not the last",
			    describe(c, prev, d, sizeof(d)), size);
	return 0;
}

/* Across the items: no name twice (a shard: no name, start and end twice),
 * no file with names under it, "." alone, shards that tile each file. */
static int check_items(struct ctx *c)
{
	struct mfs_manifest *m = c->m;
	const struct mfs_manifest_item **v, *prev = NULL, *dot = NULL;
	char d[QUOTE_MAX + 64], q[QUOTE_MAX];
	size_t names = 0;
	int rc = 0;

	if (m->n == 0)
		return 0;
	v = malloc(m->n * sizeof(*v));
	if (!v)
		return fail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++)
		v[i] = &m->items[i];
	qsort(v, m->n, sizeof(*v), item_cmp);

	for (size_t k = 0; k < m->n && !rc; k++) {
		const struct mfs_manifest_item *it = v[k];
		bool same = prev && !strcmp(prev->name, it->name);

		if (same && (!it->shard || (it->start == prev->start && it->end == prev->end))) {
			/* the later listed of the two, as a reader would see it */
			rc = fail(c, -EINVAL, "%s: repeated",
				  describe(c, it > prev ? it : prev, d, sizeof(d)));
			break;
		}
		if (!same) {
			size_t plen = prev ? strlen(prev->name) : 0;

			names++;
			if (prev && !strncmp(prev->name, it->name, plen) && it->name[plen] == '/') {
				rc = fail(c, -EINVAL, "%s: under the file '%s'",
					  describe(c, it, d, sizeof(d)), mfs_json_quote(prev->name, q, sizeof(q)));
				break;
			}
			if (!strcmp(it->name, "."))
				dot = it;
		}
		if (it->shard)
			rc = check_shard(c, same ? prev : NULL, it);
		prev = it;
	}
	if (!rc && dot && names > 1)
		rc = fail(c, -EINVAL, "%s: a single-file model, but other files are listed",
			  describe(c, dot, d, sizeof(d)));
	free(v);
	return rc;
}

/* subject[0].digest.sha256 must be SHA-256 over the raw digests of the
 * resources, in their listed order: what binds the list to the subject
 * (model_signing's dsse_payload_to_manifest). */
static int check_root(struct ctx *c)
{
	struct mfs_manifest *m = c->m;
	struct mfs_hasher *h;
	struct mfs_digests got;
	int rc;

	rc = mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);
	if (rc < 0)
		return fail(c, rc, "cannot hash the resources' digests");
	for (size_t i = 0; i < m->n && rc == 0; i++)
		rc = mfs_hasher_update(h, m->items[i].sha256, SHA256_LEN);
	if (rc == 0)
		rc = mfs_hasher_final(h, &got);
	mfs_hasher_free(h);
	if (rc < 0)
		return fail(c, rc, "cannot hash the resources' digests");
	if (memcmp(got.d[MFS_SHA256], m->root, SHA256_LEN) != 0)
		return fail(c, -EINVAL, "subject digest does not match the resources");
	return 0;
}

/* A whole number > 0 as JSON gives it: an integer, or a float with an
 * integer value (the goldens' 1000000000.0, from a protobuf Struct). */
static bool read_size(const json_t *j, uint64_t *out)
{
	if (json_is_integer(j) && json_integer_value(j) > 0) {
		*out = (uint64_t)json_integer_value(j);
		return true;
	}
	if (json_is_real(j)) {
		double d = json_real_value(j);

		if (d >= 1 && d <= EXACT_DOUBLE_MAX && (double)(uint64_t)d == d) {
			*out = (uint64_t)d;
			return true;
		}
	}
	return false;
}

static int read_ignore_paths(struct ctx *c, const json_t *paths)
{
	struct mfs_manifest *m = c->m;
	const char *why;
	char q[QUOTE_MAX];
	json_t *p;
	size_t i;

	if (!paths)
		return 0;
	if (!json_is_array(paths))
		return fail(c, -EINVAL, "serialization.ignore_paths: not an array");
	if (json_array_size(paths) == 0)
		return 0;
	if (json_array_size(paths) > MFS_MANIFEST_MAX_ITEMS)
		return fail(c, -EINVAL, "serialization.ignore_paths: %zu, over the limit of %d",
			    json_array_size(paths), MFS_MANIFEST_MAX_ITEMS);
	m->ignore_paths = calloc(json_array_size(paths) + 1, sizeof(*m->ignore_paths));
	if (!m->ignore_paths)
		return fail(c, -ENOMEM, "out of memory");
	json_array_foreach(paths, i, p) {
		if (!json_is_string(p))
			return fail(c, -EINVAL, "serialization.ignore_paths[%zu]: not a string", i);
		m->ignore_paths[i] = malloc(json_string_length(p) + 1);
		if (!m->ignore_paths[i])
			return fail(c, -ENOMEM, "out of memory");
		why = normalize(json_string_value(p), json_string_length(p), m->ignore_paths[i]);
		/* "." would leave the whole model unverified */
		if (!why && !strcmp(m->ignore_paths[i], "."))
			why = "the whole model";
		if (why)
			return fail(c, -EINVAL, "serialization.ignore_paths[%zu] '%s': %s", i,
				    mfs_json_quote(json_string_value(p), q, sizeof(q)), why);
	}
	return 0;
}

static int read_serialization(struct ctx *c, const json_t *ser)
{
	struct mfs_manifest *m = c->m;
	const json_t *method, *hash;
	char q[QUOTE_MAX];

	if (!json_is_object(ser))
		return fail(c, -EINVAL, "serialization: %s", ser ? "not an object" : "missing");
	method = json_object_get(ser, "method");
	if (!json_is_string(method))
		return fail(c, -EINVAL, "serialization.method: %s",
			    method ? "not a string" : "missing");
	if (!strcmp(json_string_value(method), "shards"))
		m->shards = true;
	else if (strcmp(json_string_value(method), "files") != 0)
		return fail(c, -EINVAL, "serialization.method '%s': neither files nor shards",
			    mfs_json_quote(json_string_value(method), q, sizeof(q)));
	hash = json_object_get(ser, "hash_type");
	if (!json_is_string(hash))
		return fail(c, -EINVAL, "serialization.hash_type: %s", hash ? "not a string" : "missing");
	if (strcmp(json_string_value(hash), "sha256") != 0)
		return fail(c, -EINVAL, "serialization.hash_type '%s': not sha256 (modelfs pins SHA-256)",
			    mfs_json_quote(json_string_value(hash), q, sizeof(q)));
	if (m->shards && !read_size(json_object_get(ser, "shard_size"), &m->shard_size))
		return fail(c, -EINVAL, "serialization.shard_size: %s",
			    json_object_get(ser, "shard_size") ? "not a whole number above 0"
							       : "missing");
	return read_ignore_paths(c, json_object_get(ser, "ignore_paths"));
}

/* resources[i]: name, algorithm and digest. */
static int read_resource(struct ctx *c, size_t i, const json_t *r)
{
	struct mfs_manifest *m = c->m;
	struct mfs_manifest_item *it = &m->items[i];
	const json_t *alg;
	const char *a;
	char q[QUOTE_MAX], sharded[64];

	if (!json_is_object(r))
		return fail(c, -EINVAL, "resources[%zu]: not an object", i);
	alg = json_object_get(r, "algorithm");
	if (!json_is_string(alg))
		return fail(c, -EINVAL, "resources[%zu].algorithm: %s", i,
			    alg ? "not a string" : "missing");
	/* shards: model_signing writes "sha256-sharded-N", the spec "sha256" */
	a = json_string_value(alg);
	snprintf(sharded, sizeof(sharded), SHARDED_PREFIX "%" PRIu64, m->shard_size);
	if (m->shards && !strncmp(a, SHARDED_PREFIX, strlen(SHARDED_PREFIX)) && strcmp(a, sharded))
		return fail(c, -EINVAL, "resources[%zu].algorithm '%s': not shard_size %" PRIu64, i,
			    mfs_json_quote(a, q, sizeof(q)), m->shard_size);
	if (strcmp(a, "sha256") != 0 && !(m->shards && !strcmp(a, sharded)))
		return fail(c, -EINVAL, "resources[%zu].algorithm '%s': not sha256 (modelfs pins "
			    "SHA-256)", i, mfs_json_quote(a, q, sizeof(q)));
	if (!read_sha256(json_object_get(r, "digest"), it->sha256))
		return fail(c, -EINVAL, "resources[%zu].digest: not 64 lowercase hex digits", i);
	return read_name(c, i, json_object_get(r, "name"), m->shards, it);
}

/* An array of at most MFS_MANIFEST_MAX_ITEMS, and room for its items. */
static int alloc_items(struct ctx *c, const json_t *list)
{
	struct mfs_manifest *m = c->m;

	if (!json_is_array(list))
		return fail(c, -EINVAL, "%s: %s", c->list, list ? "not an array" : "missing");
	if (json_array_size(list) > MFS_MANIFEST_MAX_ITEMS)
		return fail(c, -EINVAL, "%s: %zu entries, over the limit of %d", c->list,
			    json_array_size(list), MFS_MANIFEST_MAX_ITEMS);
	m->n = json_array_size(list);
	m->items = calloc(m->n ? m->n : 1, sizeof(*m->items));
	if (!m->items) {
		m->n = 0;
		return fail(c, -ENOMEM, "out of memory");
	}
	return 0;
}

/* predicateType https://model_signing/signature/v1.0. */
static int read_v1(struct ctx *c, const json_t *root)
{
	const json_t *subject, *s0, *digest, *pred, *res, *r;
	size_t i;
	int rc;

	/* the one subject: the model, by the root digest (its name is a
	 * label model_signing never checks, and neither do we) */
	subject = json_object_get(root, "subject");
	if (!json_is_array(subject) || json_array_size(subject) != 1)
		return fail(c, -EINVAL, "subject: %s", !subject ? "missing"
						       : !json_is_array(subject) ? "not an array"
						       : "not exactly one entry");
	s0 = json_array_get(subject, 0);
	digest = json_is_object(s0) ? json_object_get(s0, "digest") : NULL;
	if (!json_is_object(digest))
		return fail(c, -EINVAL, "subject[0].digest: missing or not an object");
	if (!read_sha256(json_object_get(digest, "sha256"), c->m->root))
		return fail(c, -EINVAL, "subject[0].digest.sha256: not 64 lowercase hex digits");

	pred = json_object_get(root, "predicate");
	if (!json_is_object(pred))
		return fail(c, -EINVAL, "predicate: %s", pred ? "not an object" : "missing");
	rc = read_serialization(c, json_object_get(pred, "serialization"));
	if (rc < 0)
		return rc;
	res = json_object_get(pred, "resources");
	rc = alloc_items(c, res);
	if (rc < 0)
		return rc;
	json_array_foreach(res, i, r) {
		rc = read_resource(c, i, r);
		if (rc < 0)
			return rc;
	}
	rc = check_items(c);
	if (rc < 0)
		return rc;
	return check_root(c);
}

/* predicateType https://model_signing/Digests/v0.1: one subject per file,
 * no root digest (the signature covers the list itself). */
static int read_v01(struct ctx *c, const json_t *root)
{
	const json_t *subject, *s, *digest, *ann, *alg;
	size_t i;
	int rc;

	c->m->v01 = true;
	c->list = "subject";
	subject = json_object_get(root, "subject");
	rc = alloc_items(c, subject);
	if (rc < 0)
		return rc;
	json_array_foreach(subject, i, s) {
		if (!json_is_object(s))
			return fail(c, -EINVAL, "subject[%zu]: not an object", i);
		ann = json_object_get(s, "annotations");
		alg = json_is_object(ann) ? json_object_get(ann, "actual_hash_algorithm") : NULL;
		if (!json_is_string(alg) || strcmp(json_string_value(alg), "file-sha256") != 0)
			return fail(c, -EINVAL,
				    "subject[%zu].annotations.actual_hash_algorithm: not file-sha256", i);
		digest = json_object_get(s, "digest");
		if (!json_is_object(digest) ||
		    !read_sha256(json_object_get(digest, "sha256"), c->m->items[i].sha256))
			return fail(c, -EINVAL, "subject[%zu].digest.sha256: not 64 lowercase hex digits",
				    i);
		rc = read_name(c, i, json_object_get(s, "name"), false, &c->m->items[i]);
		if (rc < 0)
			return rc;
	}
	return check_items(c);
}

static int read_statement(struct ctx *c, const json_t *root)
{
	const json_t *type, *pt;
	char q[QUOTE_MAX];

	if (!json_is_object(root))
		return fail(c, -EINVAL, "not a JSON object");
	type = json_object_get(root, "_type");
	if (!json_is_string(type))
		return fail(c, -EINVAL, "_type: %s", type ? "not a string" : "missing");
	if (strcmp(json_string_value(type), STATEMENT_TYPE) != 0)
		return fail(c, -EINVAL, "_type '%s': not " STATEMENT_TYPE,
			    mfs_json_quote(json_string_value(type), q, sizeof(q)));
	pt = json_object_get(root, "predicateType");
	if (!json_is_string(pt))
		return fail(c, -EINVAL, "predicateType: %s", pt ? "not a string" : "missing");
	if (!strcmp(json_string_value(pt), MFS_PREDICATE_V1))
		return read_v1(c, root);
	if (!strcmp(json_string_value(pt), MFS_PREDICATE_V01))
		return read_v01(c, root);
	return fail(c, -EINVAL, "predicateType '%s': neither " MFS_PREDICATE_V1 " nor "
		    MFS_PREDICATE_V01, mfs_json_quote(json_string_value(pt), q, sizeof(q)));
}

int mfs_manifest_parse(const void *payload, size_t len, struct mfs_manifest *out, char *err,
		       size_t errlen)
{
	struct ctx c = { .m = out, .list = "resources", .err = err, .errlen = errlen };
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (len == 0)
		return fail(&c, -EINVAL, "empty");
	root = mfs_json_load(payload, len, MFS_MANIFEST_MAX_DEPTH, &rc, err, errlen);
	if (!root)
		return rc;
	rc = read_statement(&c, root);
	json_decref(root);
	if (rc < 0)
		mfs_manifest_free(out);
	return rc;
}

void mfs_manifest_free(struct mfs_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->items[i].name);
	free(m->items);
	for (char **p = m->ignore_paths; p && *p; p++)
		free(*p);
	free(m->ignore_paths);
	memset(m, 0, sizeof(*m));
}
