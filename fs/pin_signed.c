/* pin_signed — see include/pin_signed.h. */
#include "pin_signed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "manifest.h"
#include "mountpath.h"
#include "pin.h"
#include "sigverify.h"
#include "url.h"

struct membuf {
	char *buf;
	size_t len;
};

static int to_mem(void *arg, const void *buf, size_t len)
{
	struct membuf *m = arg;

	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

static void base_req(const struct mfs_pin_signed_opts *o, struct mfs_fetch_req *req,
		     const char *url)
{
	*req = (struct mfs_fetch_req){
		.url = url,
		.ca_file = o->ca_file,
		.proxy = o->proxy,
		.allow_http = o->allow_http,
		.connect_timeout = MFS_DEFAULT_CONNECT_TIMEOUT,
		.low_speed_limit = MFS_DEFAULT_LOW_SPEED_LIMIT,
		.low_speed_time = MFS_DEFAULT_LOW_SPEED_TIME,
	};
}

/* The size of `dir` + `name` from a HEAD.  0 or -errno, `err`. */
static int head_size(const struct mfs_pin_signed_opts *o, const char *dir, const char *name,
		     uint64_t *size, char *err, size_t errlen)
{
	struct mfs_fetch_req req;
	struct mfs_fetch_info info;
	char *esc = mfs_url_escape_path(name), *url = NULL, msg[256];
	int rc;

	if (!esc || asprintf(&url, "%s%s", dir, esc) < 0) {
		free(esc);
		mfs_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(esc);
	base_req(o, &req, url);
	req.head = true;
	req.size = INT64_MAX;
	req.size_is_max = true;
	rc = mfs_fetch(&req, &info, msg, sizeof(msg));
	if (rc < 0)
		mfs_seterr(err, errlen, "HEAD %s: %s", url, msg);
	else if (info.length > 0)
		*size = (uint64_t)info.length;
	else {
		mfs_seterr(err, errlen, "HEAD %s: no Content-Length (or an empty file: the "
			   "config needs a size > 0)", url);
		rc = -EIO;
	}
	free(url);
	return rc;
}

/* Fetches and verifies the bundle: *mf its statement, `who` its signer. */
static int verified(const struct mfs_pin_signed_opts *o, struct mfs_manifest *mf, char *who,
		    size_t wholen, char *err, size_t errlen)
{
	const struct mfs_sig_trust trust = {
		.public_keys = o->public_keys,
		.certificate_chain = o->certificate_chain,
		.certificate_identity = o->certificate_identity,
		.sigstore_trusted_root = o->sigstore_trusted_root,
		.identities = o->identities,
		.oidc_issuer = o->oidc_issuer,
	};
	struct membuf m = { .buf = malloc(MFS_BUNDLE_MAX) };
	struct mfs_fetch_req req;
	struct mfs_sig_signer signer;
	struct mfs_bundle b;
	char msg[512];
	int rc;

	if (!m.buf) {
		mfs_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	base_req(o, &req, o->signature);
	req.size = MFS_BUNDLE_MAX;
	req.size_is_max = true;
	req.sink = to_mem;
	req.arg = &m;
	rc = mfs_fetch(&req, NULL, msg, sizeof(msg));
	if (rc < 0) {
		mfs_seterr(err, errlen, "cannot fetch the bundle %s: %s", o->signature, msg);
		goto out_free_buf;
	}
	rc = mfs_bundle_parse(m.buf, m.len, &b, msg, sizeof(msg));
	if (rc < 0) {
		mfs_seterr(err, errlen, "bundle: %s", msg);
		goto out_free_buf;
	}
	memset(&signer, 0, sizeof(signer));
	rc = mfs_sig_verify(&b, &trust, &signer, msg, sizeof(msg));
	if (rc < 0) {
		mfs_seterr(err, errlen, "signature (%s method): %s", mfs_sig_method_name(b.method), msg);
		goto out_free_bundle;
	}
	snprintf(who, wholen, "%s", signer.who);
	rc = mfs_manifest_parse(b.payload, b.payload_len, mf, msg, sizeof(msg));
	if (rc < 0)
		mfs_seterr(err, errlen, "statement: %s", msg);
out_free_bundle:
	mfs_bundle_free(&b);
out_free_buf:
	free(m.buf);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int mfs_pin_signed_run(const struct mfs_pin_signed_opts *o, char **section, char *err,
		       size_t errlen)
{
	struct mfs_pin_text t = { .err = err, .errlen = errlen };
	struct mfs_manifest mf;
	char who[512] = "", id[MFS_PIN_MAX_ID + 1], when[32], *dir;
	const char *slash = strrchr(o->signature, '/');
	time_t now = time(NULL);
	const char *why = NULL, **names = NULL;
	struct tm tm;
	size_t nfiles = 0;
	bool folder;
	int rc;

	*section = NULL;
	if (!o->path || mfs_mountpath_check(o->path, &why) < 0 ||
	    mfs_pin_section_id(o->path, id, sizeof(id)) < 0 || !mfs_pin_ini_safe(o->path, true)) {
		mfs_seterr(err, errlen, "bad --path '%s': %s", o->path ? o->path : "",
			   o->path && why ? why : "required");
		return -EINVAL;
	}
	if (!o->signature || !slash || !strstr(o->signature, "://") ||
	    !mfs_pin_ini_safe(o->signature, true)) {
		mfs_seterr(err, errlen, "bad --signature '%s': an absolute URL",
			   o->signature ? o->signature : "");
		return -EINVAL;
	}
	rc = verified(o, &mf, who, sizeof(who), err, errlen);
	if (rc < 0)
		return rc;
	/* One file line per file: a file signed in shards is listed once. */
	names = calloc(mf.n ? mf.n : 1, sizeof(*names));
	if (!names) {
		rc = -ENOMEM;
		goto out_free_manifest;
	}
	for (size_t i = 0; i < mf.n; i++)
		names[i] = mf.items[i].name;
	qsort(names, mf.n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < mf.n; i++) {
		if (nfiles && !strcmp(names[i], names[nfiles - 1]))
			continue;
		names[nfiles] = names[i];
		if (!strcmp(names[nfiles], ".")) {
			mfs_seterr(err, errlen, "the bundle names its one file '.' (model_signing's "
				   "single-file form): write that section by hand, with the file's url");
			rc = -EINVAL;
			goto out_free_manifest;
		}
		if (!mfs_pin_ini_safe(names[nfiles], true)) {
			mfs_seterr(err, errlen, "signed name '%s' cannot be written into the config",
				   names[nfiles]);
			rc = -EINVAL;
			goto out_free_manifest;
		}
		nfiles++;
	}
	if (!nfiles) {
		mfs_seterr(err, errlen, "the bundle signs no file");
		rc = -EINVAL;
		goto out_free_manifest;
	}
	dir = strndup(o->signature, (size_t)(slash - o->signature) + 1);
	if (!dir) {
		rc = -ENOMEM;
		goto out_free_manifest;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mfs_pin_text_add(&t, "comment", "; pinned by modelfsctl pin --signature on %s: %zu signed "
			 "files", when, nfiles);
	mfs_pin_text_add(&t, "comment", "; signed by %.250s", who);
	mfs_pin_text_add(&t, "comment", "; the digests come from the bundle, verified on every "
			 "host; the sizes from HEAD");
	mfs_pin_text_add(&t, "section", "[model %s]", id);
	mfs_pin_text_add(&t, "section", "source = %s", o->source ? o->source : MFS_PIN_NO_SOURCE);
	mfs_pin_text_add(&t, "section", "path = %s", o->path);
	/* (a one-file bundle whose file sits in a subfolder is a folder) */
	folder = nfiles != 1 || strchr(names[0], '/');
	if (!folder) {
		uint64_t size = 0;
		char *esc = mfs_url_escape_path(names[0]);

		rc = esc ? head_size(o, dir, names[0], &size, err, errlen) : -ENOMEM;
		mfs_pin_text_add(&t, "section", "url = %s%s", dir, esc ? esc : "");
		mfs_pin_text_add(&t, "section", "size = %llu", (unsigned long long)size);
		free(esc);
	} else {
		mfs_pin_text_add(&t, "section", "url = %s", dir);
	}
	mfs_pin_text_add(&t, "section", "signature = %s", o->signature);
	if (o->sigstore_trusted_root) {
		mfs_pin_text_add(&t, "section", "sigstore_trusted_root = %s",
				 o->sigstore_trusted_root);
		for (size_t i = 0; o->identities && o->identities[i]; i++)
			mfs_pin_text_add(&t, "section", "identity = %s", o->identities[i]);
		mfs_pin_text_add(&t, "section", "oidc_issuer = %s", o->oidc_issuer);
	}
	for (size_t i = 0; folder && i < nfiles && rc == 0; i++) {
		uint64_t size = 0;

		rc = head_size(o, dir, names[i], &size, err, errlen);
		mfs_pin_text_add(&t, "section", "file = %s %llu", names[i], (unsigned long long)size);
	}
	free(dir);
	if (rc == 0 && t.rc < 0)
		rc = t.rc;
	if (rc == 0)
		*section = t.s;
	else
		free(t.s);
out_free_manifest:
	free(names);
	mfs_manifest_free(&mf);
	return rc;
}
