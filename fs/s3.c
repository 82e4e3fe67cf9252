/* s3 — see include/s3.h. */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static bool bucket_ok(const char *b, size_t n, bool dots)
{
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if ((i == 0 || i == n - 1) && !alnum)
			return false;
		if (!alnum && c != '-' && !(dots && c == '.'))
			return false;
	}
	return true;
}

static bool region_ok(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	}
	return true;
}

int mfs_s3_base(const char *s3url, const char *endpoint, const char *region, bool path_style,
		char **base, char *err, size_t errlen)
{
	const char *bucket, *slash, *prefix, *host;
	char aws[128];
	size_t blen, plen;
	int n;

	*base = NULL;
	if (!region)
		region = MFS_S3_DEFAULT_REGION;
	if (strncmp(s3url, "s3://", 5) != 0) {
		mfs_seterr(err, errlen, "not an s3:// url");
		return -EINVAL;
	}
	if (!region_ok(region)) {
		mfs_seterr(err, errlen, "bad region '%s'", region);
		return -EINVAL;
	}
	bucket = s3url + 5;
	slash = strchr(bucket, '/');
	blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
	if (!bucket_ok(bucket, blen, path_style)) {
		mfs_seterr(err, errlen, "bad bucket name '%.*s' (3-63 of a-z 0-9 -%s)",
			   (int)(blen > 63 ? 63 : blen), bucket, path_style ? " ." : "");
		return -EINVAL;
	}
	prefix = slash ? slash + 1 : "";
	plen = strlen(prefix);
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (!endpoint) {
		snprintf(aws, sizeof(aws), "https://s3.%s.amazonaws.com", region);
		endpoint = aws;
	}
	host = strstr(endpoint, "://");
	if (!host) {
		mfs_seterr(err, errlen, "bad endpoint '%s'", endpoint);
		return -EINVAL;
	}
	host += 3;
	{
		size_t elen = strlen(endpoint);

		while (elen && endpoint[elen - 1] == '/')
			elen--;
		if (path_style)
			n = asprintf(base, "%.*s/%.*s/%.*s%s", (int)elen, endpoint, (int)blen, bucket,
				     (int)plen, prefix, plen ? "/" : "");
		else
			n = asprintf(base, "%.*s%.*s.%.*s/%.*s%s", (int)(host - endpoint), endpoint,
				     (int)blen, bucket, (int)(endpoint + elen - host), host, (int)plen,
				     prefix, plen ? "/" : "");
	}
	if (n < 0) {
		*base = NULL;
		mfs_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Characters of AWS key ids, secrets and session tokens (base64 and a few). */
static bool value_ok(const char *v)
{
	for (; *v; v++) {
		char c = *v;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Copies `v` into dst (size n); false if it does not fit or has a
 * character no AWS credential has. */
static bool set(char *dst, size_t n, const char *v)
{
	size_t len = strlen(v);

	if (len >= n || !value_ok(v))
		return false;
	memcpy(dst, v, len + 1);
	return true;
}

#define CREDS_FILE_MAX (64 * 1024)

/* Strips blanks at both ends of [*b, *e). */
static void trim(char **b, char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

/* The AWS shared-credentials format, read by hand: its session tokens
 * run past the line length inih is built with here, which it would cut
 * silently.  "[name]" starts a profile; "key = value"; '#' or ';' at a
 * line's start is a comment. */
static int parse_creds(char *text, const char *profile, struct mfs_s3_creds *c, char *err,
		       size_t errlen, const char *file)
{
	bool in = false, found = false;
	int lineno = 0;

	for (char *line = text, *next; line && *line; line = next) {
		char *end = strchr(line, '\n'), *eq, *kb, *ke, *vb, *ve;

		next = end ? end + 1 : NULL;
		if (!end)
			end = line + strlen(line);
		lineno++;
		kb = line;
		ke = end;
		trim(&kb, &ke);
		if (kb == ke || *kb == '#' || *kb == ';')
			continue;
		if (*kb == '[') {
			if (ke[-1] != ']') {
				mfs_seterr(err, errlen, "s3_credentials '%s': cannot parse line %d",
					   file, lineno);
				return -EINVAL;
			}
			kb++;
			ke--;
			trim(&kb, &ke);
			in = (size_t)(ke - kb) == strlen(profile) && !strncmp(kb, profile, ke - kb);
			found |= in;
			continue;
		}
		eq = memchr(kb, '=', (size_t)(ke - kb));
		if (!eq) {
			mfs_seterr(err, errlen, "s3_credentials '%s': cannot parse line %d", file,
				   lineno);
			return -EINVAL;
		}
		if (!in)
			continue;
		vb = eq + 1;
		ve = ke;
		ke = eq;
		trim(&kb, &ke);
		trim(&vb, &ve);
		*ke = '\0';
		*ve = '\0';
		if ((!strcmp(kb, "aws_access_key_id") && !set(c->key_id, sizeof(c->key_id), vb)) ||
		    (!strcmp(kb, "aws_secret_access_key") && !set(c->secret, sizeof(c->secret), vb)) ||
		    (!strcmp(kb, "aws_session_token") && !set(c->token, sizeof(c->token), vb))) {
			mfs_seterr(err, errlen, "s3_credentials '%s': bad %s in [%s] (line %d)", file,
				   kb, profile, lineno);
			return -EINVAL;
		}
	}
	if (!found) {
		mfs_seterr(err, errlen, "s3_credentials '%s': no profile [%s]", file, profile);
		return -EINVAL;
	}
	return 0;
}

static int from_file(const char *file, const char *profile, struct mfs_s3_creds *c, char *err,
		     size_t errlen)
{
	char *text = malloc(CREDS_FILE_MAX + 1);
	size_t n = 0;
	FILE *f;
	int rc;

	if (!text) {
		mfs_seterr(err, errlen, "out of memory");
		return -EINVAL;
	}
	f = fopen(file, "re");
	if (f) {
		n = fread(text, 1, CREDS_FILE_MAX + 1, f);
		if (ferror(f))
			n = CREDS_FILE_MAX + 2;
		fclose(f);
	}
	if (!f || n > CREDS_FILE_MAX) {
		mfs_seterr(err, errlen, "cannot read s3_credentials '%s'%s", file,
			   f && n == CREDS_FILE_MAX + 1 ? " (over 64 KiB)" : "");
		rc = -EINVAL;
	} else {
		text[n] = '\0';
		rc = parse_creds(text, profile ? profile : MFS_S3_DEFAULT_PROFILE, c, err, errlen,
				 file);
	}
	explicit_bzero(text, CREDS_FILE_MAX + 1);
	free(text);
	return rc;
}

static int from_env(struct mfs_s3_creds *c, char *err, size_t errlen)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	if ((!id || !*id) && (!secret || !*secret))
		return -ENOENT;
	if (!id || !set(c->key_id, sizeof(c->key_id), id) || !secret ||
	    !set(c->secret, sizeof(c->secret), secret) ||
	    (token && !set(c->token, sizeof(c->token), token))) {
		mfs_seterr(err, errlen, "bad AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
			   "AWS_SESSION_TOKEN in the environment");
		return -EINVAL;
	}
	return 0;
}

int mfs_s3_creds_load(const char *file, const char *profile, const char *region,
		      struct mfs_s3_creds *c, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = file ? from_file(file, profile, c, err, errlen) : from_env(c, err, errlen);
	if (rc == 0 && (!c->key_id[0] || !c->secret[0])) {
		mfs_seterr(err, errlen, "%s has a key id without a secret, or a secret without "
			   "a key id", file ? "s3_credentials" : "the environment");
		rc = -EINVAL;
	}
	if (rc == 0) {
		snprintf(c->userpwd, sizeof(c->userpwd), "%s:%s", c->key_id, c->secret);
		snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3",
			 region ? region : MFS_S3_DEFAULT_REGION);
		return 0;
	}
	if (rc == -ENOENT)
		mfs_seterr(err, errlen, "no S3 credentials (AWS_ACCESS_KEY_ID and "
			   "AWS_SECRET_ACCESS_KEY, or s3_credentials)");
	mfs_s3_creds_wipe(c);
	return rc;
}

void mfs_s3_creds_wipe(struct mfs_s3_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}
