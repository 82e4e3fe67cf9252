/* sbom — see include/sbom.h. */
#include "sbom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <jansson.h>

#include "acquire.h"
#include "bundle.h"
#include "digest.h"
#include "signature.h"
#include "sigverify.h"
#include "version.h"

#define SCHEMA "http://cyclonedx.org/schema/bom-1.6.schema.json"
#define SHA256_HEX 65

/* What the store says of one signed model (with_store only). */
struct sig_state {
	const char *state;          /* "verified", "absent", "refused" */
	char bundle_sha256[SHA256_HEX]; /* the kept copy's; "" if none */
	char method[16];            /* the kept bundle's: key, certificate, keyless */
	char key_hint[129];
	char signer[512];           /* sigverify's "key <file> (hint ...)" or
				       "certificate <subject> (issuer <issuer>)" */
	char reason[640];           /* why it was refused */
};

struct build {
	const struct mfs_sbom_opts *o;
	const struct mfs_config *cfg;
	struct mfs_signed_file *signed_d;  /* per model: from a kept bundle */
	bool *signed_ok;
	struct sig_state *sig;             /* per cfg->signatures */
	int rc;
	char *err;
	size_t errlen;
};

static void fail(struct build *b, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct build *b, int rc, const char *fmt, ...)
{
	va_list ap;

	if (b->rc)
		return;     /* the first error is the one to tell */
	b->rc = rc;
	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
}

/* Is `s` well-formed UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF)? */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p++, need, min, cp;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		for (; need; need--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

/* A JSON string of `s`; NULL (the failure recorded) if it cannot be one. */
static json_t *jstr(struct build *b, const char *s)
{
	json_t *v;

	if (!utf8_ok(s)) {
		char shown[4 * 80 + 1];
		size_t n = 0;

		/* Shown with every byte that is not printable ASCII as \xNN. */
		for (const unsigned char *p = (const unsigned char *)s; *p && n < sizeof(shown) - 4;
		     p++)
			n += (size_t)snprintf(shown + n, sizeof(shown) - n,
					      *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
		fail(b, -EINVAL, "'%s' is not valid UTF-8: a CycloneDX document cannot carry it",
		     shown);
		return NULL;
	}
	v = json_string(s);
	if (!v)
		fail(b, -ENOMEM, "out of memory");
	return v;
}

/* obj[key] = v; v NULL: the failure is recorded already. */
static void put(struct build *b, json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return;
	if (json_object_set_new(obj, key, v) < 0)
		fail(b, -ENOMEM, "out of memory");
}

static void put_str(struct build *b, json_t *obj, const char *key, const char *s)
{
	put(b, obj, key, jstr(b, s));
}

static void append(struct build *b, json_t *arr, json_t *v)
{
	if (!v)
		return;
	if (json_array_append_new(arr, v) < 0)
		fail(b, -ENOMEM, "out of memory");
}

/* obj[key] = arr if it holds anything; frees it otherwise. */
static void put_nonempty(struct build *b, json_t *obj, const char *key, json_t *arr)
{
	if (arr && json_array_size(arr))
		put(b, obj, key, arr);
	else
		json_decref(arr);
}

static json_t *new_object(struct build *b)
{
	json_t *v = json_object();

	if (!v)
		fail(b, -ENOMEM, "out of memory");
	return v;
}

static json_t *new_array(struct build *b)
{
	json_t *v = json_array();

	if (!v)
		fail(b, -ENOMEM, "out of memory");
	return v;
}

static void prop(struct build *b, json_t *props, const char *name, const char *value)
{
	json_t *p = new_object(b);

	if (!p)
		return;
	put_str(b, p, "name", name);
	put(b, p, "value", jstr(b, value));
	append(b, props, p);
}

static void prop_u64(struct build *b, json_t *props, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	prop(b, props, name, buf);
}

/* A property whose value comes from elsewhere (a reason, a certificate's
 * subject): every byte that is not printable ASCII becomes '?', never
 * worth failing the document for. */
static void prop_safe(struct build *b, json_t *props, const char *name, const char *value)
{
	char buf[1024];
	size_t i;

	for (i = 0; value[i] && i < sizeof(buf) - 1; i++)
		buf[i] = value[i] >= 0x20 && value[i] < 0x7f ? value[i] : '?';
	buf[i] = '\0';
	prop(b, props, name, buf);
}

static void prop_time(struct build *b, json_t *props, const char *name, time_t t)
{
	char buf[32];
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, sizeof(buf), "%lld", (long long)t);
	prop(b, props, name, buf);
}

/* {alg, content} of one hex digest. */
static json_t *hash(struct build *b, const char *alg, const char *hex)
{
	json_t *h = new_object(b);

	if (h) {
		put_str(b, h, "alg", alg);
		put_str(b, h, "content", hex);
	}
	return h;
}

/* The digests of `d`, weakest first (a fixed order); an empty array if
 * none. */
static json_t *hashes(struct build *b, const struct mfs_digests *d)
{
	static const char *const cdx[MFS_ALGO_COUNT] = {
		[MFS_SHA1] = "SHA-1", [MFS_SHA256] = "SHA-256", [MFS_SHA512] = "SHA-512",
	};
	char hex[2 * MFS_DIGEST_MAX + 1];
	json_t *arr = new_array(b);

	for (int a = 0; arr && a < MFS_ALGO_COUNT; a++) {
		if (!(d->mask & MFS_ALGO_BIT(a)))
			continue;
		mfs_hex_encode(d->d[a], mfs_algo_len((enum mfs_algo)a), hex);
		append(b, arr, hash(b, cdx[a], hex));
	}
	return arr;
}

/* One external reference per URL `url` of `src` is fetched from: the url,
 * then each mirror's; `sha256` (hex, may be NULL) the bytes' digest. */
static void url_refs(struct build *b, json_t *refs, const char *type,
		     const struct mfs_source *src, const char *url, const char *what,
		     const char *sha256)
{
	size_t n = mfs_source_url(src, url, SIZE_MAX, NULL);

	for (size_t i = 0; i < n && !b->rc; i++) {
		char *u = NULL, comment[256];
		json_t *r;

		mfs_source_url(src, url, i, &u);
		if (!u) {
			fail(b, -ENOMEM, "out of memory");
			return;
		}
		r = new_object(b);
		if (r) {
			if (i == 0)
				snprintf(comment, sizeof(comment), "%s, from source %s", what,
					 src->name);
			else
				snprintf(comment, sizeof(comment), "%s, mirror %zu of source %s", what,
					 i, src->name);
			put_str(b, r, "url", u);
			put_str(b, r, "type", type);
			put_str(b, r, "comment", comment);
			if (sha256) {
				json_t *hs = new_array(b);

				if (hs)
					append(b, hs, hash(b, "SHA-256", sha256));
				put(b, r, "hashes", hs);
			}
			append(b, refs, r);
		}
		free(u);
	}
}

/* ---------------------------------------------------------------- the store */

struct file_state {
	const char *state;           /* "verified", "quarantined", "absent" */
	bool verified;
	char object[MFS_STORE_OBJECT_NAME_MAX];
	time_t verified_at;          /* verified: when it was committed */
	unsigned quarantined;
	time_t quarantined_at;
};

/* The object model `mi` is stored as; "" when not known (a signed model
 * without a kept bundle that verifies). */
static void object_of(const struct build *b, size_t mi, char *buf, size_t len)
{
	const struct mfs_model *m = &b->cfg->models[mi];

	buf[0] = '\0';
	if (!m->signature) {
		mfs_store_object_name(&m->digests, buf, len);
	} else if (b->signed_ok[mi]) {
		const struct mfs_signed_file *f = &b->signed_d[mi];

		if (f->shards)
			mfs_store_shards_name(f->shards, f->nshards, buf, len);
		else
			mfs_store_object_name(&f->digests, buf, len);
	}
}

/* Adds quarantine/'s copies of `name` to *fs. */
static void count_quarantined(struct build *b, const char *name, struct file_state *fs)
{
	unsigned n;
	time_t t;
	int rc = mfs_store_quarantined(b->o->store, name, &n, &t);

	if (rc < 0) {
		fail(b, rc, "store: cannot read '%s/quarantine': %s", b->o->store->path,
		     strerror(-rc));
		return;
	}
	fs->quarantined += n;
	if (t > fs->quarantined_at)
		fs->quarantined_at = t;
}

static void file_state(struct build *b, size_t mi, struct file_state *fs)
{
	const struct mfs_model *m = &b->cfg->models[mi];
	struct stat sb;
	int rc;

	memset(fs, 0, sizeof(*fs));
	fs->state = "absent";
	if (!b->o->store)
		return;
	object_of(b, mi, fs->object, sizeof(fs->object));
	if (!fs->object[0])
		return;
	rc = mfs_store_stat_object(b->o->store, fs->object, &sb);
	if (rc == 0) {
		fs->state = "verified";
		fs->verified = true;
		/* Committed by a rename right after its bytes matched (and
		 * never changed since: any change would make the daemon
		 * verify it again). */
		fs->verified_at = sb.st_ctim.tv_sec;
	} else if (rc != -ENOENT && rc != -EINVAL) {
		fail(b, rc, "store: cannot look at '%s/objects/%s': %s", b->o->store->path,
		     fs->object, strerror(-rc));
		return;
	}
	count_quarantined(b, fs->object, fs);
	if (m->archive) {
		char name[MFS_STORE_OBJECT_NAME_MAX];

		mfs_store_archive_name(m->archive->name, name, sizeof(name));
		count_quarantined(b, name, fs);
	}
	if (!fs->verified && fs->quarantined)
		fs->state = "quarantined";
}

static void store_props(struct build *b, json_t *props, const char *state,
			const struct file_state *fs)
{
	prop(b, props, "modelfs:store:state", state);
	if (!fs)
		return;
	if (fs->verified) {
		prop(b, props, "modelfs:store:object", fs->object);
		prop_time(b, props, "modelfs:store:verified_at", fs->verified_at);
	}
	if (fs->quarantined) {
		prop_u64(b, props, "modelfs:store:quarantined", fs->quarantined);
		prop_time(b, props, "modelfs:store:quarantined_at", fs->quarantined_at);
	}
}

/* The SHA-256 of `len` bytes, as hex into `hex` (SHA256_HEX bytes). */
static int sha256_hex(const void *data, size_t len, char *hex)
{
	struct mfs_hasher *h;
	struct mfs_digests d;
	int rc = mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);

	if (rc < 0)
		return rc;
	rc = mfs_hasher_update(h, data, len);
	if (rc == 0)
		rc = mfs_hasher_final(h, &d);
	mfs_hasher_free(h);
	if (rc == 0)
		mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
	return rc;
}

/* A signed model's kept bundle: its digest; its signature checked under
 * the config's trust (who signed); then resolved as the daemon does
 * after a restart, with no network (signature.h), for the files'
 * signed digests.  A bundle that fails the first two steps is left
 * alone; resolving drops one whose statement does not match. */
static void resolve_signed(struct build *b, size_t gi)
{
	const struct mfs_signature *g = &b->cfg->signatures[gi];
	struct mfs_sig_trust trust;
	const struct mfs_acquire_ctx ac = { .cfg = b->cfg, .store = b->o->store };
	struct sig_state *s = &b->sig[gi];
	struct mfs_signed_file *files = NULL;
	struct mfs_sig_signer who;
	struct mfs_bundle bundle;
	unsigned char *text = NULL;
	char key[32], err[512], why[512];
	ssize_t n;
	int rc;

	s->state = "absent";
	if (!b->o->store)
		return;
	mfs_signature_trust(g, &trust);
	rc = mfs_store_bundle_key(g->url, g->name, key, sizeof(key));
	text = malloc(MFS_BUNDLE_MAX + 1);
	files = calloc(g->nmembers ? g->nmembers : 1, sizeof(*files));
	if (rc < 0 || !text || !files) {
		fail(b, rc < 0 ? rc : -ENOMEM, "out of memory");
		goto out_free;
	}
	n = mfs_store_get_bundle(b->o->store, key, text, MFS_BUNDLE_MAX);
	if (n == -ENOENT)
		goto out_free;
	s->state = "refused";
	if (n < 0) {
		snprintf(s->reason, sizeof(s->reason), "cannot read the kept bundle: %s",
			 strerror((int)-n));
		goto out_free;
	}
	rc = sha256_hex(text, (size_t)n, s->bundle_sha256);
	if (rc < 0) {
		fail(b, rc, "cannot hash the kept bundle of '%s'", g->path);
		goto out_free;
	}
	rc = mfs_bundle_parse(text, (size_t)n, &bundle, err, sizeof(err));
	if (rc == -ENOMEM) {
		fail(b, rc, "out of memory");
		goto out_free;
	}
	if (rc < 0) {
		snprintf(s->reason, sizeof(s->reason), "bundle: %s", err);
		goto out_free;
	}
	snprintf(s->method, sizeof(s->method), "%s", mfs_sig_method_name(bundle.method));
	snprintf(s->key_hint, sizeof(s->key_hint), "%s", bundle.key_hint);
	rc = mfs_sig_verify(&bundle, &trust, &who, err, sizeof(err));
	mfs_bundle_free(&bundle);
	if (rc == -ENOMEM) {
		fail(b, rc, "out of memory");
		goto out_free;
	}
	if (rc < 0) {
		snprintf(s->reason, sizeof(s->reason), "signature (%s method): %s", s->method, err);
		goto out_free;
	}
	snprintf(s->signer, sizeof(s->signer), "%s", who.who);
	rc = mfs_signature_resolve(&ac, g, false, files, why, sizeof(why));
	if (rc == -ENOMEM) {
		fail(b, rc, "out of memory");
		goto out_free;
	}
	if (rc < 0) {
		/* Without the network its reason is "none kept" once the
		 * kept one failed; what failed is the statement (logged). */
		snprintf(s->reason, sizeof(s->reason), "%s",
			 rc == -ENOENT ? "the signed statement does not match the config" : why);
		goto out_free;
	}
	s->state = "verified";
	for (size_t k = 0; k < g->nmembers; k++) {
		b->signed_d[g->members[k]] = files[k];
		b->signed_ok[g->members[k]] = true;
		memset(&files[k], 0, sizeof(files[k]));
	}
out_free:
	for (size_t k = 0; files && k < g->nmembers; k++)
		mfs_signed_file_release(&files[k]);
	free(files);
	free(text);
}

/* ---------------------------------------------------------------- components */

/* The trust the config gives a signed model, and with the store what its
 * kept bundle says.  (Keyless trust, an identity and an OIDC issuer,
 * belongs here too once the config has it.) */
static void signature_props(struct build *b, json_t *props, size_t gi)
{
	const struct mfs_signature *g = &b->cfg->signatures[gi];
	const struct sig_state *s = &b->sig[gi];

	/* The methods the config trusts (a bundle of another is refused). */
	if (g->public_keys)
		prop(b, props, "modelfs:signature:method", "key");
	if (g->certificate_chain)
		prop(b, props, "modelfs:signature:method", "certificate");
	if (g->sigstore_trusted_root)
		prop(b, props, "modelfs:signature:method", "keyless");
	for (char **k = g->public_keys; k && *k; k++)
		prop(b, props, "modelfs:signature:public_key", *k);
	if (g->certificate_chain)
		prop(b, props, "modelfs:signature:certificate_chain", g->certificate_chain);
	if (g->certificate_identity)
		prop(b, props, "modelfs:signature:certificate_identity", g->certificate_identity);
	if (g->sigstore_trusted_root)
		prop(b, props, "modelfs:signature:sigstore_trusted_root", g->sigstore_trusted_root);
	for (char **i = g->identities; i && *i; i++)
		prop(b, props, "modelfs:signature:identity", *i);
	if (g->oidc_issuer)
		prop(b, props, "modelfs:signature:oidc_issuer", g->oidc_issuer);
	if (!b->o->with_store)
		return;
	prop(b, props, "modelfs:signature:state", s->state);
	if (s->signer[0])
		prop_safe(b, props, "modelfs:signature:signer", s->signer);
	if (s->key_hint[0])
		prop_safe(b, props, "modelfs:signature:key_hint", s->key_hint);
	if (s->reason[0])
		prop_safe(b, props, "modelfs:signature:reason", s->reason);
}

/* The last segment of a URL's path. */
static void url_basename(const char *url, char *buf, size_t len)
{
	const char *end = url + strcspn(url, "?#"), *start = end;

	while (start > url && start[-1] != '/')
		start--;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
	if (!buf[0])
		snprintf(buf, len, "%s", url);
}

/* A zip model's archive, as the ancestor its files come out of. */
static json_t *archive_component(struct build *b, const struct mfs_archive *a)
{
	json_t *c = new_object(b), *refs = new_array(b), *props = new_array(b);
	char name[512], ref[128];

	if (!c || !refs || !props) {
		json_decref(refs);
		json_decref(props);
		return c;
	}
	url_basename(a->url, name, sizeof(name));
	snprintf(ref, sizeof(ref), "archive:%s", a->name);
	put_str(b, c, "type", "file");
	put_str(b, c, "bom-ref", ref);
	put_str(b, c, "name", name);
	put_nonempty(b, c, "hashes", hashes(b, &a->digests));
	url_refs(b, refs, "distribution", a->source, a->url, "zip archive", NULL);
	put_nonempty(b, c, "externalReferences", refs);
	prop(b, props, "modelfs:format", "zip");
	if (a->size)
		prop_u64(b, props, "modelfs:size", a->size);
	put_nonempty(b, c, "properties", props);
	return c;
}

/* What a model section has whatever its shape: where its bytes come from
 * when that is an archive, and what signs it. */
static void section_extras(struct build *b, json_t *c, json_t *refs, const struct mfs_model *m)
{
	const struct mfs_signature *g = m->signature;

	if (m->archive) {
		json_t *ped = new_object(b), *anc = new_array(b);

		url_refs(b, refs, "distribution", m->archive->source, m->archive->url,
			 "zip archive", NULL);
		if (ped && anc) {
			append(b, anc, archive_component(b, m->archive));
			put(b, ped, "ancestors", anc);
			put(b, c, "pedigree", ped);
		} else {
			json_decref(ped);
			json_decref(anc);
		}
	}
	if (g) {
		size_t gi = (size_t)(g - b->cfg->signatures);
		const char *sha = b->o->with_store && b->sig[gi].bundle_sha256[0] ?
					  b->sig[gi].bundle_sha256 : NULL;

		url_refs(b, refs, "attestation", g->source, g->url,
			 "OpenSSF Model Signing bundle", sha);
	}
}

/* One file of the config: a model of its own (`nested` false), or a file
 * of a directory model.  *fs gets its store state (with_store). */
static json_t *file_component(struct build *b, size_t mi, bool nested, struct file_state *fs)
{
	const struct mfs_model *m = &b->cfg->models[mi];
	json_t *c = new_object(b), *refs = new_array(b), *props = new_array(b);
	const struct mfs_digests *d = b->signed_ok[mi] ? &b->signed_d[mi].digests : &m->digests;
	char *ref = NULL;

	if (!c || !refs || !props)
		goto out_free;
	if ((nested ? asprintf(&ref, "model:%s/%s", m->name, m->path + m->dir_len + 1) :
		      asprintf(&ref, "model:%s", m->name)) < 0) {
		ref = NULL;
		fail(b, -ENOMEM, "out of memory");
		goto out_free;
	}
	put_str(b, c, "type", nested ? "file" : "machine-learning-model");
	put_str(b, c, "bom-ref", ref);
	put_str(b, c, "name", nested ? m->path + m->dir_len + 1 : m->name);
	put_nonempty(b, c, "hashes", hashes(b, d));
	if (!m->archive)
		url_refs(b, refs, "distribution", m->source, m->url, "model", NULL);
	if (!nested)
		section_extras(b, c, refs, m);
	put_nonempty(b, c, "externalReferences", refs);
	refs = NULL;
	prop(b, props, "modelfs:path", m->path);
	prop_u64(b, props, "modelfs:size", m->size);
	if (!nested)
		prop(b, props, "modelfs:source", m->source->name);
	if (m->member)
		prop(b, props, "modelfs:member", m->member);
	if (m->weak)
		prop(b, props, "modelfs:weak", "sha1");
	if (b->signed_ok[mi] && b->signed_d[mi].shards)
		prop_u64(b, props, "modelfs:signature:shards", b->signed_d[mi].nshards);
	if (!nested && m->signature)
		signature_props(b, props, (size_t)(m->signature - b->cfg->signatures));
	if (b->o->with_store) {
		file_state(b, mi, fs);
		store_props(b, props, fs->state, fs);
	}
	put_nonempty(b, c, "properties", props);
	props = NULL;
out_free:
	free(ref);
	json_decref(refs);
	json_decref(props);
	return c;
}

/* A directory model: the section, and its files `first` .. `first + n`. */
static json_t *dir_component(struct build *b, size_t first, size_t n)
{
	const struct mfs_model *m = &b->cfg->models[first];
	json_t *c = new_object(b), *refs = new_array(b), *props = new_array(b);
	json_t *files = new_array(b);
	size_t verified = 0, quarantined = 0;
	uint64_t total = 0;
	char ref[128], *dir = strndup(m->path, m->dir_len);

	if (!c || !refs || !props || !files || !dir) {
		fail(b, -ENOMEM, "out of memory");
		goto out_free;
	}
	snprintf(ref, sizeof(ref), "model:%s", m->name);
	put_str(b, c, "type", "machine-learning-model");
	put_str(b, c, "bom-ref", ref);
	put_str(b, c, "name", m->name);
	section_extras(b, c, refs, m);
	put_nonempty(b, c, "externalReferences", refs);
	refs = NULL;
	for (size_t i = first; i < first + n; i++) {
		struct file_state fs = { .state = "absent" };

		total += b->cfg->models[i].size;
		append(b, files, file_component(b, i, true, &fs));
		verified += strcmp(fs.state, "verified") == 0;
		quarantined += strcmp(fs.state, "quarantined") == 0;
	}
	prop(b, props, "modelfs:path", dir);
	prop_u64(b, props, "modelfs:size", total);
	prop(b, props, "modelfs:source", m->source->name);
	prop_u64(b, props, "modelfs:files", n);
	if (m->signature)
		signature_props(b, props, (size_t)(m->signature - b->cfg->signatures));
	if (b->o->with_store)
		store_props(b, props,
			    verified == n ? "verified" : quarantined ? "quarantined" :
			    verified ? "partial" : "absent", NULL);
	put_nonempty(b, c, "properties", props);
	props = NULL;
	put(b, c, "components", files);
	files = NULL;
out_free:
	free(dir);
	json_decref(refs);
	json_decref(props);
	json_decref(files);
	return c;
}

static json_t *metadata(struct build *b)
{
	const struct mfs_sbom_opts *o = b->o;
	json_t *md = new_object(b), *tools = new_object(b), *tool = new_object(b);
	json_t *list = new_array(b), *subject = new_object(b), *props = new_array(b);
	char ts[32];
	struct tm tm;

	if (!md || !tools || !tool || !list || !subject || !props) {
		json_decref(tools);
		json_decref(tool);
		json_decref(list);
		json_decref(subject);
		json_decref(props);
		return md;
	}
	if (!gmtime_r(&o->timestamp, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00Z");
	put_str(b, md, "timestamp", ts);
	put_str(b, tool, "type", "application");
	put_str(b, tool, "name", "modelfs");
	put_str(b, tool, "version", MFS_VERSION);
	append(b, list, tool);
	put(b, tools, "components", list);
	put(b, md, "tools", tools);
	put_str(b, subject, "type", "file");
	put_str(b, subject, "bom-ref", "config");
	put_str(b, subject, "name", o->config_path ? o->config_path : b->cfg->file);
	if (o->config_sha256) {
		json_t *hs = new_array(b);

		if (hs)
			append(b, hs, hash(b, "SHA-256", o->config_sha256));
		put(b, subject, "hashes", hs);
	}
	put(b, md, "component", subject);
	prop(b, props, "modelfs:store", b->cfg->store);
	put(b, md, "properties", props);
	return md;
}

static json_t *document(struct build *b)
{
	const struct mfs_config *cfg = b->cfg;
	json_t *doc = new_object(b), *comps = new_array(b), *deps = new_array(b);
	json_t *dep = new_object(b), *on = new_array(b);

	if (!doc || !comps || !deps || !dep || !on) {
		json_decref(comps);
		json_decref(deps);
		json_decref(dep);
		json_decref(on);
		return doc;
	}
	put_str(b, doc, "$schema", SCHEMA);
	put_str(b, doc, "bomFormat", "CycloneDX");
	put_str(b, doc, "specVersion", "1.6");
	put_str(b, doc, "serialNumber", b->o->serial);
	put(b, doc, "version", json_integer(1));
	put(b, doc, "metadata", metadata(b));
	/* A section's files are consecutive in cfg->models. */
	for (size_t i = 0; i < cfg->nmodels && !b->rc;) {
		const struct mfs_model *m = &cfg->models[i];
		size_t n = 1;
		char ref[128];

		while (i + n < cfg->nmodels && strcmp(cfg->models[i + n].name, m->name) == 0)
			n++;
		if (m->dir_len) {
			append(b, comps, dir_component(b, i, n));
		} else {
			struct file_state fs;

			append(b, comps, file_component(b, i, false, &fs));
		}
		snprintf(ref, sizeof(ref), "model:%s", m->name);
		append(b, on, jstr(b, ref));
		i += n;
	}
	put(b, doc, "components", comps);
	put_str(b, dep, "ref", "config");
	put(b, dep, "dependsOn", on);
	append(b, deps, dep);
	put(b, doc, "dependencies", deps);
	return doc;
}

int mfs_sbom_build(const struct mfs_sbom_opts *o, char **out, char *err, size_t errlen)
{
	const struct mfs_config *cfg = o->cfg;
	struct build b = { .o = o, .cfg = cfg, .err = err, .errlen = errlen };
	json_t *doc = NULL;
	char *text = NULL;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	b.signed_d = calloc(cfg->nmodels + 1, sizeof(*b.signed_d));
	b.signed_ok = calloc(cfg->nmodels + 1, sizeof(*b.signed_ok));
	b.sig = calloc(cfg->nsignatures + 1, sizeof(*b.sig));
	if (!b.signed_d || !b.signed_ok || !b.sig) {
		fail(&b, -ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t g = 0; g < cfg->nsignatures && o->with_store && !b.rc; g++)
		resolve_signed(&b, g);
	if (!b.rc)
		doc = document(&b);
	if (!b.rc) {
		text = json_dumps(doc, JSON_INDENT(2));
		if (!text)
			fail(&b, -ENOMEM, "out of memory");
	}
	if (!b.rc) {
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);

		if (!t) {
			fail(&b, -ENOMEM, "out of memory");
		} else {
			text = t;
			memcpy(text + n, "\n", 2);
			*out = text;
			text = NULL;
		}
	}
out_free:
	free(text);
	json_decref(doc);
	for (size_t i = 0; b.signed_d && i < cfg->nmodels; i++)
		mfs_signed_file_release(&b.signed_d[i]);
	free(b.signed_d);
	free(b.signed_ok);
	free(b.sig);
	return b.rc;
}

int mfs_sbom_serial(char *buf, size_t len)
{
	unsigned char r[16];
	char hex[33];

	if (len < sizeof("urn:uuid:") + 36)
		return -EINVAL;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -errno;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);   /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	mfs_hex_encode(r, sizeof(r), hex);
	snprintf(buf, len, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
	return 0;
}
