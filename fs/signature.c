/* signature — see include/signature.h. */
#include "signature.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "bundle.h"
#include "log.h"
#include "manifest.h"
#include "sigverify.h"
#include "store.h"

#define PAYLOAD_TYPE "application/vnd.in-toto+json"
#define LISTED_MAX 5   /* file names an error names before "and N more" */

/* The bundle's key in the store: "sig-" and 16 hex digits of a digest of
 * its url and the model's name. */
void mfs_signature_trust(const struct mfs_signature *g, struct mfs_sig_trust *t)
{
	*t = (struct mfs_sig_trust){
		.public_keys = (const char *const *)g->public_keys,
		.certificate_chain = g->certificate_chain,
		.certificate_identity = g->certificate_identity,
		.sigstore_trusted_root = g->sigstore_trusted_root,
		.identities = (const char *const *)g->identities,
		.oidc_issuer = g->oidc_issuer,
	};
}

static void audit_sig(const struct mfs_acquire_ctx *c, const struct mfs_signature *g,
		      const char *event, const char *signer, const char *error)
{
	struct mfs_audit_event ev = {
		.event = event, .path = g->path, .url = g->url, .signer = signer,
		.error = error, .bytes = -1, .ms = -1,
	};

	if (c->audit)
		mfs_audit_write(c->audit, &ev);
}

/* Is `name` under one of the signer's ignored paths (a component
 * prefix: "a" covers "a" and "a/b", not "ab")? */
static bool ignored(const struct mfs_manifest *mf, const char *name)
{
	for (size_t i = 0; mf->ignore_paths && mf->ignore_paths[i]; i++) {
		size_t n = strlen(mf->ignore_paths[i]);

		if (!strncmp(name, mf->ignore_paths[i], n) && (name[n] == '\0' || name[n] == '/'))
			return true;
	}
	return false;
}

/* Appends `name` to a list for an error message, up to LISTED_MAX. */
static void list_add(char *buf, size_t len, size_t *count, const char *name)
{
	size_t used = strlen(buf);

	if ((*count)++ < LISTED_MAX)
		snprintf(buf + used, len - used, "%s'%s'", used ? ", " : "", name);
}

static void list_end(char *buf, size_t len, size_t count)
{
	size_t used = strlen(buf);

	if (count > LISTED_MAX)
		snprintf(buf + used, len - used, " and %zu more", count - LISTED_MAX);
}

static int cmp_shard(const void *a, const void *b)
{
	uint64_t x = ((const struct mfs_shard *)a)->start, y = ((const struct mfs_shard *)b)->start;

	return x < y ? -1 : x > y;
}

/* A file signed in shards (`name` in the manifest): its ranges, in
 * order, must cover exactly [0, size).  0, -EIO (why), -ENOMEM. */
static int take_shards(const struct mfs_model *m, const char *name,
		       const struct mfs_manifest *mf, bool *used, struct mfs_signed_file *f,
		       char *why, size_t whylen)
{
	size_t n = 0;
	uint64_t at = 0;

	for (size_t i = 0; i < mf->n; i++)
		n += !strcmp(mf->items[i].name, name);
	f->shards = calloc(n ? n : 1, sizeof(*f->shards));
	if (!f->shards)
		return -ENOMEM;
	for (size_t i = 0; i < mf->n; i++) {
		if (strcmp(mf->items[i].name, name))
			continue;
		used[i] = true;
		f->shards[f->nshards].start = mf->items[i].start;
		f->shards[f->nshards].end = mf->items[i].end;
		memcpy(f->shards[f->nshards++].sha256, mf->items[i].sha256, 32);
	}
	qsort(f->shards, f->nshards, sizeof(*f->shards), cmp_shard);
	for (size_t i = 0; i < f->nshards; i++) {
		if (f->shards[i].start != at)
			break;
		at = f->shards[i].end;
	}
	if (at != m->size) {
		snprintf(why, whylen, "file '%s': its signed shards cover %llu bytes from 0, the "
			 "config says %llu", m->signed_name, (unsigned long long)at,
			 (unsigned long long)m->size);
		return -EIO;
	}
	f->digests = m->digests;
	return 0;
}

/* Step 4: the signed files and the configured ones are the same set;
 * files[k] gets what member k must match: its signed SHA-256 (and its
 * own pins), or its signed shards. */
static int match(const struct mfs_config *cfg, const struct mfs_signature *g,
		 const struct mfs_manifest *mf, struct mfs_signed_file *files, char *why,
		 size_t whylen)
{
	char missing[512] = "", extra[512] = "";
	size_t nmissing = 0, nextra = 0;
	bool *used = calloc(mf->n ? mf->n : 1, sizeof(*used));
	int rc = 0;

	if (!used) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (size_t k = 0; k < g->nmembers && rc == 0; k++) {
		const struct mfs_model *m = &cfg->models[g->members[k]];
		size_t hit = mf->n;

		for (size_t i = 0; i < mf->n && hit == mf->n; i++) {
			const char *name = mf->items[i].name;

			if (!strcmp(name, m->signed_name) || (!g->folder && !strcmp(name, ".")))
				hit = i;
		}
		if (hit == mf->n || ignored(mf, m->signed_name)) {
			list_add(missing, sizeof(missing), &nmissing, m->signed_name);
			continue;
		}
		if (mf->items[hit].shard) {
			rc = take_shards(m, mf->items[hit].name, mf, used, &files[k], why, whylen);
			continue;
		}
		used[hit] = true;
		files[k].digests = m->digests;
		if ((m->digests.mask & MFS_ALGO_BIT(MFS_SHA256)) &&
		    memcmp(m->digests.d[MFS_SHA256], mf->items[hit].sha256, 32) != 0) {
			snprintf(why, whylen, "file '%s': the sha256 pinned in the config differs "
				 "from the signed one", m->signed_name);
			rc = -EIO;
			break;
		}
		memcpy(files[k].digests.d[MFS_SHA256], mf->items[hit].sha256, 32);
		files[k].digests.mask |= MFS_ALGO_BIT(MFS_SHA256);
	}
	for (size_t i = 0; i < mf->n && rc == 0; i++) {
		if (!used[i] && !ignored(mf, mf->items[i].name))
			list_add(extra, sizeof(extra), &nextra, mf->items[i].name);
	}
	free(used);
	if (rc < 0)
		return rc;
	list_end(missing, sizeof(missing), nmissing);
	list_end(extra, sizeof(extra), nextra);
	if (nmissing || nextra) {
		snprintf(why, whylen, "the signed files and the config's differ:%s%s%s%s%s",
			 nmissing ? " not signed: " : "", missing, nmissing && nextra ? ";" : "",
			 nextra ? " signed but not in the config: " : "", extra);
		return -EIO;
	}
	return 0;
}

void mfs_signed_file_release(struct mfs_signed_file *f)
{
	free(f->shards);
	memset(f, 0, sizeof(*f));
}

/* Steps 1-4 on `len` bytes of a bundle.  0, or -EIO (the bundle's fault)
 * or -EINVAL (the operator's trust cannot be used), with the failed step
 * and its reason in `why`; -ENOMEM; the signer in `signer` once known. */
static int check(const struct mfs_acquire_ctx *c, const struct mfs_signature *g,
		 const void *text, size_t len, struct mfs_signed_file *files, char *signer,
		 size_t signerlen, char *why, size_t whylen)
{
	struct mfs_sig_trust trust;
	struct mfs_bundle b;
	struct mfs_manifest mf;
	struct mfs_sig_signer who;
	char err[512] = "";
	int rc;

	memset(&who, 0, sizeof(who));
	mfs_signature_trust(g, &trust);
	rc = mfs_bundle_parse(text, len, &b, err, sizeof(err));
	if (rc < 0) {
		snprintf(why, whylen, "bundle: %s", err);
		return rc == -ENOMEM ? rc : -EIO;
	}
	rc = mfs_sig_verify(&b, &trust, &who, err, sizeof(err));
	snprintf(signer, signerlen, "%s", who.who);
	if (rc < 0) {
		snprintf(why, whylen, "signature (%s method): %s", mfs_sig_method_name(b.method),
			 err);
		/* The operator's trust cannot be used (a key or root file
		 * unreadable, the method not configured): not the bundle's
		 * fault. */
		if (rc == -EINVAL || rc == -ENOTSUP)
			rc = -EINVAL;
		goto out_free_bundle;
	}
	if (!b.payload_type || strcmp(b.payload_type, PAYLOAD_TYPE) != 0) {
		snprintf(why, whylen, "statement: payloadType '%.64s', expected %s",
			 b.payload_type ? b.payload_type : "", PAYLOAD_TYPE);
		rc = -EIO;
		goto out_free_bundle;
	}
	rc = mfs_manifest_parse(b.payload, b.payload_len, &mf, err, sizeof(err));
	if (rc < 0) {
		snprintf(why, whylen, "statement: %s", err);
		goto out_free_bundle;
	}
	rc = match(c->cfg, g, &mf, files, why, whylen);
	if (rc < 0) {
		for (size_t k = 0; k < g->nmembers; k++)
			mfs_signed_file_release(&files[k]);
	}
	mfs_manifest_free(&mf);
out_free_bundle:
	mfs_bundle_free(&b);
	return rc == -ENOMEM || rc == -EINVAL ? rc : rc < 0 ? -EIO : 0;
}

int mfs_signature_resolve(const struct mfs_acquire_ctx *c, const struct mfs_signature *g,
			  bool network, struct mfs_signed_file *files, char *why, size_t whylen)
{
	char key[32], signer[512] = "", note[640];
	void *text = malloc(MFS_BUNDLE_MAX + 1);
	size_t len = 0;
	ssize_t n;
	int rc;

	if (!text || mfs_store_bundle_key(g->url, g->name, key, sizeof(key)) < 0) {
		free(text);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	/* The kept copy first: it verified before, and needs no network. */
	n = mfs_store_get_bundle(c->store, key, text, MFS_BUNDLE_MAX);
	if (n >= 0) {
		rc = check(c, g, text, (size_t)n, files, signer, sizeof(signer), why, whylen);
		if (rc == 0) {
			audit_sig(c, g, "signature_ok", signer, "the bundle kept in the store");
			mfs_info("signature of '%s' verified again from the store (%s)", g->path,
				 signer);
			goto out_free;
		}
		if (rc == -ENOMEM)
			goto out_free;
		if (rc == -EINVAL) {
			/* Kept: it may well verify once the trust can be read
			 * (a trusted root being replaced, say). */
			snprintf(note, sizeof(note), "the bundle kept in the store: %s", why);
			audit_sig(c, g, "signature_failed", signer[0] ? signer : NULL, note);
			mfs_err("signature of '%s': %s (the kept bundle stays)", g->path, why);
			rc = -EIO;
			goto out_free;
		}
		mfs_warn("the kept bundle of '%s' no longer verifies (%s); dropped", g->path, why);
		snprintf(note, sizeof(note), "the bundle kept in the store: %s", why);
		audit_sig(c, g, "signature_failed", signer[0] ? signer : NULL, note);
		mfs_store_drop_bundle(c->store, key);
	}
	if (!network) {
		snprintf(why, whylen, "no verified bundle in the store");
		rc = -ENOENT;
		goto out_free;
	}
	free(text);
	text = NULL;
	rc = mfs_acquire_bytes(c, g->source, g->url, MFS_BUNDLE_MAX, &text, &len, why, whylen);
	if (rc == -ECANCELED)
		goto out_free;      /* a stop, not the bundle's fault */
	if (rc < 0) {
		snprintf(note, sizeof(note), "cannot fetch the bundle: %s", why);
		snprintf(why, whylen, "%s", note);
		audit_sig(c, g, "signature_failed", NULL, why);
		mfs_err("signature of '%s': %s", g->path, why);
		goto out_free;
	}
	signer[0] = '\0';
	rc = check(c, g, text, len, files, signer, sizeof(signer), why, whylen);
	if (rc < 0) {
		audit_sig(c, g, "signature_failed", signer[0] ? signer : NULL, why);
		mfs_err("signature of '%s' refused: %s", g->path, why);
		if (rc == -EINVAL)
			rc = -EIO;
		goto out_free;
	}
	rc = mfs_store_put_bundle(c->store, key, text, len);
	if (rc < 0)
		mfs_warn("cannot keep the bundle of '%s' in the store: %s (it is fetched again "
			 "after a restart)", g->path, strerror(-rc));
	rc = 0;
	audit_sig(c, g, "signature_ok", signer, NULL);
	mfs_info("signature of '%s' verified (%s)", g->path, signer);
out_free:
	free(text);
	return rc;
}
