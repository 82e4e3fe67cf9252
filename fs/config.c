/* config — see include/config.h.
 *
 * Each line is parsed once.  read_line (the ini_reader) counts lines,
 * refuses what inih would misread and parses section headers itself;
 * inih splits the "key = value" lines and hands them to set_key; finish
 * checks what needs the whole file.  The rules for URLs (url.h) and mount
 * paths (mountpath.h) live in modules of their own: here they become
 * FILE:LINE messages. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "mountpath.h"
#include "pagecache.h"
#include "s3.h"
#include "trustroot.h"
#include "url.h"

/* inih's line buffer holds 199 characters, the newline and a NUL; longer
 * lines are cut and the rest parsed as a line of its own. */
#define MAX_LINE 199
/* inih cuts section names to 49 characters without a word.  Headers no
 * longer reach it, but a name it could not hold stays refused: one config
 * reads the same to every INI reader. */
#define MAX_SECTION 48

#define SYNTAX_ERROR "syntax error (expected 'key = value', '[section]' or a comment)"

enum kind { MODELFS, SOURCE, MODEL };
#define IN(kind) (1u << (kind))

/* Required keys are checked in this order, so an empty [model] names
 * `source` first.  K_SHA1.. and K_ARCHIVE_SHA1.. follow enum mfs_algo. */
enum key {
	K_STORE, K_AUDIT_LOG, K_CONNECT_TIMEOUT, K_LOW_SPEED_LIMIT, K_LOW_SPEED_TIME,
	K_MAX_FETCHES, K_STORE_MAX, K_QUARANTINE_MAX, K_FAILURE_BACKOFF, K_FAILURE_BACKOFF_MAX,
	K_METRICS_FILE, K_RETRIES, K_MIN_RATE, K_MIN_RATE_AFTER, K_WRITE_UNIT, K_MIRRORS, K_PROXY, K_CONNECTIONS, K_PARALLEL_MIN,
	K_S3_ENDPOINT, K_S3_REGION, K_S3_PATH_STYLE, K_S3_CREDENTIALS, K_S3_PROFILE,
	K_SOURCE, K_PATH, K_URL, K_SIZE, K_SHA1, K_SHA256, K_SHA512,
	K_CA_FILE, K_ALLOW_HTTP, K_ALLOW_SHA1, K_REDIRECT_HOSTS,
	K_LOCK_FILES,
	K_PASSTHROUGH, K_ARCHIVE, K_MEMBER, K_MEMBER_PREFIX, K_FILE, K_ARCHIVE_SIZE,
	K_ARCHIVE_SHA1, K_ARCHIVE_SHA256, K_ARCHIVE_SHA512,
	K_SIGNATURE, K_PUBLIC_KEY, K_CERTIFICATE_CHAIN, K_CERTIFICATE_IDENTITY,
	K_SIGSTORE_TRUSTED_ROOT, K_IDENTITY, K_OIDC_ISSUER, K_PREFETCH, NKEYS
};

static const struct {
	const char *name;
	unsigned in, required;
} keys[NKEYS] = {
	[K_STORE] = { "store", IN(MODELFS), 0 },
	[K_AUDIT_LOG] = { "audit_log", IN(MODELFS), 0 },
	[K_CONNECT_TIMEOUT] = { "connect_timeout", IN(MODELFS), 0 },
	[K_LOW_SPEED_LIMIT] = { "low_speed_limit", IN(MODELFS), 0 },
	[K_LOW_SPEED_TIME] = { "low_speed_time", IN(MODELFS), 0 },
	[K_MAX_FETCHES] = { "max_fetches", IN(MODELFS), 0 },
	[K_STORE_MAX] = { "store_max", IN(MODELFS), 0 },
	[K_QUARANTINE_MAX] = { "quarantine_max", IN(MODELFS), 0 },
	[K_FAILURE_BACKOFF] = { "failure_backoff", IN(MODELFS), 0 },
	[K_FAILURE_BACKOFF_MAX] = { "failure_backoff_max", IN(MODELFS), 0 },
	[K_METRICS_FILE] = { "metrics_file", IN(MODELFS), 0 },
	[K_RETRIES] = { "retries", IN(MODELFS) | IN(SOURCE), 0 },
	[K_MIN_RATE] = { "min_rate", IN(MODELFS), 0 },
	[K_MIN_RATE_AFTER] = { "min_rate_after", IN(MODELFS), 0 },
	[K_WRITE_UNIT] = { "write_unit", IN(MODELFS), 0 },
	[K_CONNECTIONS] = { "connections", IN(MODELFS) | IN(SOURCE), 0 },
	[K_PARALLEL_MIN] = { "parallel_min", IN(MODELFS) | IN(SOURCE), 0 },
	[K_MIRRORS] = { "mirrors", IN(SOURCE), 0 },
	[K_PROXY] = { "proxy", IN(SOURCE), 0 },
	[K_S3_ENDPOINT] = { "s3_endpoint", IN(SOURCE), 0 },
	[K_S3_REGION] = { "s3_region", IN(SOURCE), 0 },
	[K_S3_PATH_STYLE] = { "s3_path_style", IN(SOURCE), 0 },
	[K_S3_CREDENTIALS] = { "s3_credentials", IN(SOURCE), 0 },
	[K_S3_PROFILE] = { "s3_profile", IN(SOURCE), 0 },
	[K_SOURCE] = { "source", IN(MODEL), IN(MODEL) },
	[K_PATH] = { "path", IN(MODEL), IN(MODEL) },
	[K_URL] = { "url", IN(SOURCE) | IN(MODEL), IN(SOURCE) | IN(MODEL) },
	[K_SIZE] = { "size", IN(MODEL), 0 }, /* required unless file lines: check_required */
	[K_SHA1] = { "sha1", IN(MODEL), 0 },
	[K_SHA256] = { "sha256", IN(MODEL), 0 },
	[K_SHA512] = { "sha512", IN(MODEL), 0 },
	[K_CA_FILE] = { "ca_file", IN(SOURCE), 0 },
	[K_ALLOW_HTTP] = { "allow_http", IN(SOURCE), 0 },
	[K_ALLOW_SHA1] = { "allow_sha1", IN(SOURCE) | IN(MODEL), 0 },
	[K_REDIRECT_HOSTS] = { "redirect_hosts", IN(SOURCE), 0 },
	[K_LOCK_FILES] = { "lock_files", IN(MODELFS), 0 },
	[K_PASSTHROUGH] = { "passthrough", IN(MODELFS), 0 },
	[K_ARCHIVE] = { "archive", IN(MODEL), 0 },
	[K_MEMBER] = { "member", IN(MODEL), 0 },
	[K_MEMBER_PREFIX] = { "member_prefix", IN(MODEL), 0 },
	[K_FILE] = { "file", IN(MODEL), 0 }, /* the one key that repeats */
	[K_ARCHIVE_SIZE] = { "archive_size", IN(MODEL), 0 },
	[K_ARCHIVE_SHA1] = { "archive_sha1", IN(MODEL), 0 },
	[K_ARCHIVE_SHA256] = { "archive_sha256", IN(MODEL), 0 },
	[K_ARCHIVE_SHA512] = { "archive_sha512", IN(MODEL), 0 },
	[K_SIGNATURE] = { "signature", IN(MODEL), 0 },
	/* repeats: each line one more trusted key (rotation) */
	[K_PUBLIC_KEY] = { "public_key", IN(SOURCE) | IN(MODEL), 0 },
	[K_CERTIFICATE_CHAIN] = { "certificate_chain", IN(SOURCE) | IN(MODEL), 0 },
	[K_CERTIFICATE_IDENTITY] = { "certificate_identity", IN(SOURCE) | IN(MODEL), 0 },
	[K_SIGSTORE_TRUSTED_ROOT] = { "sigstore_trusted_root", IN(SOURCE) | IN(MODEL), 0 },
	/* repeats: each line one more identity that may sign */
	[K_IDENTITY] = { "identity", IN(SOURCE) | IN(MODEL), 0 },
	[K_OIDC_ISSUER] = { "oidc_issuer", IN(SOURCE) | IN(MODEL), 0 },
	[K_PREFETCH] = { "prefetch", IN(MODELFS) | IN(MODEL), 0 },
};

static const char *const kind_names[] = { "modelfs", "source", "model" };

/* One [section] as read; moved into the config once all of it is valid. */
struct section {
	enum kind kind;
	int line;
	char *label;              /* "model resnet50", for messages */
	const char *id;           /* NAME; owned by src.name or model.name */
	int key_line[NKEYS];      /* 0: not given; K_FILE: the first file line */
	struct mfs_source src;    /* SOURCE */
	struct mfs_model model;   /* MODEL; with file lines only name, path (the
				     directory) and url (the archive's) are used */
	struct mfs_model *files;  /* MODEL: one per file line; path is NAME
				     until check_model makes it path/NAME */
	size_t nfiles, capfiles;
	char *member_prefix;      /* MODEL */
	struct mfs_signature sig; /* MODEL: signature, and its trust if set here */
	struct mfs_archive archive; /* MODEL with archive = zip */
	char *source_name;        /* MODEL */
	bool allow_sha1;          /* MODEL */
	bool prefetch;            /* MODEL: its prefetch key (if key_line[K_PREFETCH]) */
	struct section *source;   /* MODEL, once resolved */
	size_t index;             /* SOURCE: index in cfg->sources */
};

struct parser {
	const char *file;
	const char *pos, *end;    /* text not read yet */
	int line;                 /* of the line read last */
	bool key_pending;         /* that line went to inih as a key line and
				     has not reached on_key yet */
	int rc;                   /* first error */
	char *err;
	size_t errlen;
	struct mfs_config *cfg;
	struct section *secs;
	size_t nsecs, capsecs;
	int modelfs_line;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->rc)
		return p->rc;
	p->rc = -EINVAL;
	if (line)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return p->rc;
}

static int nomem(struct parser *p)
{
	if (!p->rc) {
		fail(p, 0, "out of memory");
		p->rc = -ENOMEM;
	}
	return p->rc;
}

static char *join(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, sep, ls);
		memcpy(s + la + ls, b, lb + 1);
	}
	return s;
}

static int dup_into(struct parser *p, char **dst, const char *value)
{
	*dst = strdup(value);
	return *dst ? 0 : nomem(p);
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void free_source(struct mfs_source *s)
{
	free(s->name);
	free(s->url);
	free(s->host);
	free(s->ca_file);
	for (char **h = s->redirect_hosts; h && *h; h++)
		free(*h);
	free(s->redirect_hosts);
	for (char **m = s->mirrors; m && *m; m++)
		free(*m);
	free(s->mirrors);
	free(s->proxy);
	free_list(s->public_keys);
	free(s->certificate_chain);
	free(s->certificate_identity);
	free(s->sigstore_trusted_root);
	free_list(s->identities);
	free(s->oidc_issuer);
	free(s->s3_url);
	free(s->s3_endpoint);
	free(s->s3_region);
	free(s->s3_credentials);
	free(s->s3_profile);
}

static void free_model(struct mfs_model *m)
{
	free(m->name);
	free(m->path);
	free(m->url);
	free(m->member);
	free(m->signed_name);
}

static void free_signature(struct mfs_signature *g)
{
	free(g->name);
	free(g->url);
	free_list(g->public_keys);
	free(g->certificate_chain);
	free(g->certificate_identity);
	free(g->sigstore_trusted_root);
	free_list(g->identities);
	free(g->oidc_issuer);
	free(g->path);
	free(g->members);
}

static void free_archive(struct mfs_archive *a)
{
	free(a->name);
	free(a->url);
	free(a->members);
}

static bool valid_id(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	}
	return true;
}

/* Strict decimal: digits only, no sign or space, no overflow, > 0. */
static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A size: decimal digits, then nothing (bytes) or one of K, M, G, T
 * (powers of 1024, either case); at most INT64_MAX bytes; 0 only with
 * `zero_ok`. */
static int parse_size(const char *s, bool zero_ok, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || end[1])
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
	}
	if ((v == 0 && !zero_ok) || v > ((unsigned long long)INT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int parse_bool(struct parser *p, const char *name, const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return fail(p, p->line, "bad boolean for %s: '%s' (use yes or no)", name, v);
	return 0;
}

/* Splits `value` at blanks into a NULL-terminated array of copies. */
static int split_words(struct parser *p, const char *value, char ***out)
{
	const char *c = value;
	size_t n = 0, len;
	char **v;

	while (*(c += strspn(c, " \t"))) {
		n++;
		c += strcspn(c, " \t");
	}
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return nomem(p);
	*out = v;
	for (c = value; *(c += strspn(c, " \t")); c += len) {
		len = strcspn(c, " \t");
		*v = strndup(c, len);
		if (!*v++)
			return nomem(p);
	}
	return 0;
}

/* A trust file: an absolute path this process can read now. */
static int readable_file(struct parser *p, const char *key, const char *value)
{
	if (*value != '/')
		return fail(p, p->line, "%s must be an absolute path", key);
	if (access(value, R_OK) < 0)
		return fail(p, p->line, "%s '%s' is not readable: %s", key, value, strerror(errno));
	return 0;
}

/* Appends a copy of `value` to the NULL-terminated `list`.  -ENOMEM. */
static int add_trust_copy(char ***list, const char *value)
{
	size_t n = 0;
	char **v;

	while (*list && (*list)[n])
		n++;
	v = realloc(*list, (n + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*list = v;
	v[n] = strdup(value);
	v[n + 1] = NULL;
	return v[n] ? 0 : -ENOMEM;
}

/* One more public_key line: appended to the NULL-terminated list. */
static int add_trust_file(struct parser *p, const char *key, const char *value, char ***list)
{
	if (readable_file(p, key, value) < 0)
		return p->rc;
	return add_trust_copy(list, value) < 0 ? nomem(p) : 0;
}

/* sigstore_trusted_root: read now, so that a file that is no trusted
 * root is the config's error (with its line), not every open's. */
static int set_trusted_root(struct parser *p, const char *value, char **out)
{
	struct mfs_trust_root root;
	char why[300];
	int rc;

	if (readable_file(p, "sigstore_trusted_root", value) < 0)
		return p->rc;
	rc = mfs_trust_root_load(value, &root, why, sizeof(why));
	if (rc == -ENOMEM)
		return nomem(p);
	if (rc < 0)
		return fail(p, p->line, "bad sigstore_trusted_root: %s", why);
	mfs_trust_root_free(&root);
	return dup_into(p, out, value);
}

/* proxy: "none" (kept as ""), or an http:// or https:// URL with a host,
 * an optional port and no credentials (they would sit in a config file
 * that is no secret). */
static int parse_proxy(struct parser *p, const char *value, char **out)
{
	enum mfs_url_reason why = MFS_URL_OK;
	char *base = NULL, *host = NULL;
	int rc;

	if (strcmp(value, "none") == 0)
		return dup_into(p, out, "");
	rc = mfs_url_check_base(value, true, &base, &host, &why);
	if (rc == -ENOMEM)
		return nomem(p);
	free(host);
	if (rc == -EINVAL && why == MFS_URL_USERINFO)
		return fail(p, p->line, "credentials in proxy '%s' are not supported (a config "
			    "file is no place for a secret)", value);
	if (rc == -EINVAL)
		return fail(p, p->line, "bad proxy '%s': %s (http://HOST[:PORT], https://HOST[:PORT] "
			    "or none)", value, mfs_url_reason_str(why));
	free(*out);
	*out = base;
	return 0;
}

/* redirect_hosts: "host" or "host:port" each, kept lowercase. */
static int parse_hosts(struct parser *p, const char *value, char ***out)
{
	int rc = split_words(p, value, out);

	for (char **h = *out; rc == 0 && h && *h; h++) {
		const char *colon = strchr(*h, ':');
		size_t len = colon ? (size_t)(colon - *h) : strlen(*h);
		uint64_t port;

		if (mfs_url_check_host(*h, len, NULL) < 0 ||
		    (colon && parse_count(colon + 1, 65535, &port) < 0))
			return fail(p, p->line, "bad host '%s' in redirect_hosts (host or host:port)",
				    *h);
		for (char *c = *h; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	return rc;
}

/* `what` names the digest in messages: "sha256 digest". */
static int set_digest(struct parser *p, struct mfs_digests *dg, const char *what, enum mfs_algo a,
		      const char *v)
{
	size_t len = mfs_algo_len(a);

	if (strlen(v) != 2 * len)
		return fail(p, p->line, "bad %s: expected %zu hex digits, got %zu characters",
			    what, 2 * len, strlen(v));
	if (mfs_hex_decode(v, dg->d[a], len) < 0)
		return fail(p, p->line, "bad %s: '%s' is not hex", what, v);
	dg->mask |= MFS_ALGO_BIT(a);
	return 0;
}

static int set_key_digest(struct parser *p, struct mfs_digests *dg, const char *name,
			  enum mfs_algo a, const char *v)
{
	char what[64];

	snprintf(what, sizeof(what), "%s digest", name);
	return set_digest(p, dg, what, a, v);
}

/* "file = NAME SIZE ALGO:HEX [ALGO:HEX...]": one more file of a directory
 * model.  Checks that need the section (the sha1 opt-in, unique names)
 * wait for finish(). */
static int add_file(struct parser *p, struct section *s, const char *value)
{
	char *copy, *save = NULL, *name, *size, *tok, what[MAX_LINE + 64];
	struct mfs_model *f;
	const char *why;
	int rc = 0;

	if (s->nfiles == s->capfiles) {
		size_t cap = s->capfiles ? 2 * s->capfiles : 8;
		struct mfs_model *v = realloc(s->files, cap * sizeof(*v));

		if (!v)
			return nomem(p);
		s->files = v;
		s->capfiles = cap;
	}
	f = &s->files[s->nfiles++];
	memset(f, 0, sizeof(*f));
	f->line = p->line;
	copy = strdup(value);
	if (!copy)
		return nomem(p);
	name = strtok_r(copy, " \t", &save);
	size = strtok_r(NULL, " \t", &save);
	tok = strtok_r(NULL, " \t", &save);
	/* (A signed model's files may name no digest: check_required.) */
	if (!size) {
		rc = fail(p, p->line, "bad file '%s': expected NAME SIZE ALGO:HEX [ALGO:HEX...]", value);
		goto out_free_copy;
	}
	if (mfs_mountpath_check(name, &why) < 0) {
		rc = fail(p, p->line, "bad file name '%s': %s", name, why);
		goto out_free_copy;
	}
	if (parse_count(size, INT64_MAX, &f->size) < 0) {
		rc = fail(p, p->line, "bad size '%s' for file '%s': a decimal number of bytes > 0",
			  size, name);
		goto out_free_copy;
	}
	for (; tok; tok = strtok_r(NULL, " \t", &save)) {
		char *hex = strchr(tok, ':');
		enum mfs_algo a;

		if (!hex) {
			rc = fail(p, p->line, "bad digest '%s' for file '%s' (expected ALGO:HEX)", tok, name);
			goto out_free_copy;
		}
		*hex++ = '\0';
		if (mfs_algo_from_name(tok, &a) < 0) {
			rc = fail(p, p->line, "unknown digest '%s' for file '%s' (use sha1, sha256 or sha512)",
				  tok, name);
			goto out_free_copy;
		}
		if (f->digests.mask & MFS_ALGO_BIT(a)) {
			rc = fail(p, p->line, "duplicate %s digest for file '%s'", tok, name);
			goto out_free_copy;
		}
		snprintf(what, sizeof(what), "%s digest for file '%s'", tok, name);
		rc = set_digest(p, &f->digests, what, a, hex);
		if (rc < 0)
			goto out_free_copy;
	}
	f->weak = f->digests.mask == MFS_ALGO_BIT(MFS_SHA1);
	rc = dup_into(p, &f->path, name);
out_free_copy:
	free(copy);
	return rc;
}

/* member_prefix ends in '/' and must make a valid path of every member
 * name it starts, so it is checked with a one-letter name after it. */
static int set_member_prefix(struct parser *p, struct section *s, const char *value)
{
	const char *why;
	char *probe;
	int rc;

	if (value[strlen(value) - 1] != '/')
		return fail(p, p->line, "bad member_prefix '%s': must end with '/'", value);
	probe = join(value, "", "x");
	if (!probe)
		return nomem(p);
	rc = mfs_mountpath_check(probe, &why);
	free(probe);
	if (rc < 0)
		return fail(p, p->line, "bad member_prefix '%s': %s", value, why);
	return dup_into(p, &s->member_prefix, value);
}

/* Checks and stores one key of the current section.  Checks that need
 * other keys or sections wait for finish(). */
static int set_key(struct parser *p, const char *name, const char *value)
{
	struct mfs_config *cfg = p->cfg;
	struct section *s;
	const char *why;
	uint64_t n;
	long *num;
	int k;

	if (!p->nsecs)
		return fail(p, p->line, "key '%s' outside any section", name);
	s = &p->secs[p->nsecs - 1];
	for (k = 0; k < NKEYS; k++) {
		if ((keys[k].in & IN(s->kind)) && !strcmp(keys[k].name, name))
			break;
	}
	if (k == NKEYS)
		return fail(p, p->line, "unknown key '%s' in [%s]", name, s->label);
	if (s->key_line[k] && k != K_FILE && k != K_PUBLIC_KEY && k != K_IDENTITY)
		return fail(p, p->line, "duplicate key '%s' in [%s] (first at line %d)", name,
			    s->label, s->key_line[k]);
	if (!s->key_line[k])
		s->key_line[k] = p->line;
	if (!*value)
		return fail(p, p->line, "empty value for '%s'", name);

	switch ((enum key)k) {
	case K_STORE:
	case K_AUDIT_LOG:
	case K_METRICS_FILE:
		if (*value != '/')
			return fail(p, p->line, "%s must be an absolute path", name);
		return dup_into(p, k == K_STORE ? &cfg->store : k == K_AUDIT_LOG ? &cfg->audit_log :
				&cfg->metrics_file, value);
	case K_CONNECT_TIMEOUT:
	case K_LOW_SPEED_LIMIT:
	case K_LOW_SPEED_TIME:
		if (parse_count(value, INT_MAX, &n) < 0)
			return fail(p, p->line, "bad number for %s: '%s' (a whole number > 0)", name, value);
		num = k == K_CONNECT_TIMEOUT ? &cfg->connect_timeout :
		      k == K_LOW_SPEED_LIMIT ? &cfg->low_speed_limit : &cfg->low_speed_time;
		*num = (long)n;
		return 0;
	case K_MAX_FETCHES:
		if (parse_count(value, MFS_MAX_FETCHES_LIMIT, &n) < 0)
			return fail(p, p->line, "bad number for %s: '%s' (a whole number from 1 to %d)",
				    name, value, MFS_MAX_FETCHES_LIMIT);
		cfg->max_fetches = (unsigned)n;
		return 0;
	case K_STORE_MAX:
	case K_QUARANTINE_MAX:
		if (parse_size(value, k == K_QUARANTINE_MAX, &n) < 0)
			return fail(p, p->line, "bad size for %s: '%s' (bytes, or a whole number "
				    "with K, M, G or T: powers of 1024)", name, value);
		*(k == K_STORE_MAX ? &cfg->store_max : &cfg->quarantine_max) = n;
		return 0;
	case K_FAILURE_BACKOFF:
	case K_FAILURE_BACKOFF_MAX:
		if (parse_count(value, MFS_BACKOFF_LIMIT, &n) < 0)
			return fail(p, p->line, "bad number for %s: '%s' (seconds, from 1 to %d)",
				    name, value, MFS_BACKOFF_LIMIT);
		*(k == K_FAILURE_BACKOFF ? &cfg->failure_backoff : &cfg->failure_backoff_max) =
			(unsigned)n;
		return 0;
	case K_SOURCE:
		return dup_into(p, &s->source_name, value);
	case K_PATH:
		if (mfs_mountpath_check(value, &why) < 0)
			return fail(p, p->line, "bad path '%s': %s", value, why);
		return dup_into(p, &s->model.path, value);
	case K_URL:
		return dup_into(p, s->kind == MODEL ? &s->model.url : &s->src.url, value);
	case K_SIZE:
		/* st_size is a signed off_t */
		if (parse_count(value, INT64_MAX, &s->model.size) < 0)
			return fail(p, p->line, "bad size '%s': a decimal number of bytes > 0", value);
		return 0;
	case K_SHA1:
	case K_SHA256:
	case K_SHA512:
		return set_key_digest(p, &s->model.digests, name, (enum mfs_algo)(k - K_SHA1), value);
	case K_CA_FILE:
		if (*value != '/')
			return fail(p, p->line, "ca_file must be an absolute path");
		if (access(value, R_OK) < 0)
			return fail(p, p->line, "ca_file '%s' is not readable: %s", value, strerror(errno));
		return dup_into(p, &s->src.ca_file, value);
	case K_ALLOW_HTTP:
		return parse_bool(p, name, value, &s->src.allow_http);
	case K_ALLOW_SHA1:
		return parse_bool(p, name, value, s->kind == MODEL ? &s->allow_sha1 : &s->src.allow_sha1);
	case K_REDIRECT_HOSTS:
		return parse_hosts(p, value, &s->src.redirect_hosts);
	case K_MIRRORS:
		return split_words(p, value, &s->src.mirrors);
	case K_PROXY:
		return parse_proxy(p, value, &s->src.proxy);
	case K_S3_ENDPOINT:
		return dup_into(p, &s->src.s3_endpoint, value);
	case K_S3_REGION:
		return dup_into(p, &s->src.s3_region, value);
	case K_S3_PATH_STYLE:
		return parse_bool(p, name, value, &s->src.s3_path_style);
	case K_S3_CREDENTIALS:
		if (*value != '/')
			return fail(p, p->line, "s3_credentials must be an absolute path");
		return dup_into(p, &s->src.s3_credentials, value);
	case K_S3_PROFILE:
		return dup_into(p, &s->src.s3_profile, value);
	case K_RETRIES:
		if (strcmp(value, "0") == 0)
			n = 0;
		else if (parse_count(value, MFS_RETRIES_LIMIT, &n) < 0)
			return fail(p, p->line, "bad number for retries: '%s' (from 0 to %d)", value,
				    MFS_RETRIES_LIMIT);
		if (s->kind == SOURCE)
			s->src.retries = (int)n;
		else
			cfg->retries = (unsigned)n;
		return 0;
	case K_CONNECTIONS:
		if (parse_count(value, MFS_CONNECTIONS_LIMIT, &n) < 0)
			return fail(p, p->line, "bad number for connections: '%s' (from 1 to %d)",
				    value, MFS_CONNECTIONS_LIMIT);
		if (s->kind == SOURCE)
			s->src.connections = (int)n;
		else
			cfg->connections = (unsigned)n;
		return 0;
	case K_PARALLEL_MIN:
		if (parse_size(value, false, &n) < 0)
			return fail(p, p->line, "bad size for parallel_min: '%s' (bytes, or a whole "
				    "number with K, M, G or T: powers of 1024)", value);
		if (s->kind == SOURCE)
			s->src.parallel_min = n;
		else
			cfg->parallel_min = n;
		return 0;
	case K_MIN_RATE:
		if (parse_size(value, true, &n) < 0)
			return fail(p, p->line, "bad rate for min_rate: '%s' (bytes per second, or a "
				    "whole number with K or M: powers of 1024; 0: no check)", value);
		cfg->min_rate = n;
		return 0;
	case K_WRITE_UNIT:
		if (parse_size(value, false, &n) < 0 || n < MFS_PAGECACHE_MIN_UNIT ||
		    n > MFS_PAGECACHE_UNIT || (n & (n - 1)))
			return fail(p, p->line, "bad size for write_unit: '%s' (a power of two from "
				    "64K to 2M)", value);
		cfg->write_unit = (size_t)n;
		return 0;
	case K_MIN_RATE_AFTER:
		if (parse_count(value, MFS_MIN_RATE_AFTER_LIMIT, &n) < 0)
			return fail(p, p->line, "bad number for min_rate_after: '%s' (seconds, 1-%d)",
				    value, MFS_MIN_RATE_AFTER_LIMIT);
		cfg->min_rate_after = (unsigned)n;
		return 0;
	case K_LOCK_FILES:
		return parse_bool(p, name, value, &cfg->lock_files);
	case K_PASSTHROUGH:
		return parse_bool(p, name, value, &cfg->passthrough);
	case K_PREFETCH:
		return parse_bool(p, name, value, s->kind == MODEL ? &s->prefetch : &cfg->prefetch);
	case K_ARCHIVE:
		if (strcmp(value, "zip"))
			return fail(p, p->line, "bad archive '%s' (the only format is zip)", value);
		s->archive.format = MFS_ARCHIVE_ZIP;
		return 0;
	case K_MEMBER:
		if (mfs_mountpath_check(value, &why) < 0)
			return fail(p, p->line, "bad member '%s': %s", value, why);
		return dup_into(p, &s->model.member, value);
	case K_SIGNATURE:
		return dup_into(p, &s->sig.url, value);
	case K_PUBLIC_KEY:
		return add_trust_file(p, "public_key", value,
				      s->kind == SOURCE ? &s->src.public_keys : &s->sig.public_keys);
	case K_CERTIFICATE_CHAIN:
		if (readable_file(p, "certificate_chain", value) < 0)
			return p->rc;
		return dup_into(p, s->kind == SOURCE ? &s->src.certificate_chain :
				    &s->sig.certificate_chain, value);
	case K_CERTIFICATE_IDENTITY:
		return dup_into(p, s->kind == SOURCE ? &s->src.certificate_identity :
				    &s->sig.certificate_identity, value);
	case K_SIGSTORE_TRUSTED_ROOT:
		return set_trusted_root(p, value, s->kind == SOURCE ? &s->src.sigstore_trusted_root :
					&s->sig.sigstore_trusted_root);
	case K_IDENTITY:
		return add_trust_copy(s->kind == SOURCE ? &s->src.identities : &s->sig.identities,
				      value) < 0 ? nomem(p) : 0;
	case K_OIDC_ISSUER:
		return dup_into(p, s->kind == SOURCE ? &s->src.oidc_issuer : &s->sig.oidc_issuer,
				value);
	case K_MEMBER_PREFIX:
		return set_member_prefix(p, s, value);
	case K_FILE:
		return add_file(p, s, value);
	case K_ARCHIVE_SIZE:
		if (parse_count(value, INT64_MAX, &s->archive.size) < 0)
			return fail(p, p->line, "bad archive_size '%s': a decimal number of bytes > 0", value);
		return 0;
	case K_ARCHIVE_SHA1:
	case K_ARCHIVE_SHA256:
	case K_ARCHIVE_SHA512:
		return set_key_digest(p, &s->archive.digests, name,
				      (enum mfs_algo)(k - K_ARCHIVE_SHA1), value);
	case NKEYS:
		break;
	}
	return fail(p, p->line, "unhandled key '%s'", name);
}

/* The ini_handler, for the key lines read_line handed to inih.  The
 * section is ours (inih never sees a header), so inih's is ignored.
 * inih wants non-zero for success. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;

	p->key_pending = false;
	/* an inih built to allow keys without a value would pass NULL */
	if (!value)
		return fail(p, p->line, SYNTAX_ERROR) == 0;
	return set_key(p, name, value) == 0;
}

/* Parses the header "[...]" that starts at `open` and starts its section. */
static int start_section(struct parser *p, const char *open, const char *eol)
{
	const char *close = memchr(open, ']', (size_t)(eol - open));
	const char *in, *in_end, *type_end, *id, *rest;
	struct section *s;
	enum kind kind;

	if (!close)
		return fail(p, p->line, SYNTAX_ERROR);
	in = open + 1;
	if (close - in > MAX_SECTION)
		return fail(p, p->line, "section name too long (%td characters, at most %d)",
			    close - in, MAX_SECTION);
	for (rest = close + 1; rest < eol && isspace((unsigned char)*rest); rest++)
		;
	if (rest < eol && *rest != ';' && *rest != '#')
		return fail(p, p->line, "text after ']'");

	while (in < close && isspace((unsigned char)*in))
		in++;
	for (in_end = close; in_end > in && isspace((unsigned char)in_end[-1]); in_end--)
		;
	for (type_end = in; type_end < in_end && !isspace((unsigned char)*type_end); type_end++)
		;
	for (id = type_end; id < in_end && isspace((unsigned char)*id); id++)
		;
	for (kind = MODELFS; kind <= MODEL; kind++) {
		if ((size_t)(type_end - in) == strlen(kind_names[kind]) &&
		    !memcmp(in, kind_names[kind], (size_t)(type_end - in)))
			break;
	}
	if (kind > MODEL || (kind == MODELFS) != (id == in_end))
		return fail(p, p->line, "unknown section [%.*s] (use [modelfs], [source NAME] or [model NAME])",
			    (int)(close - open - 1), open + 1);
	if (kind != MODELFS && !valid_id(id, (size_t)(in_end - id)))
		return fail(p, p->line, "bad section name '%.*s' (use only A-Z a-z 0-9 . _ -)",
			    (int)(in_end - id), id);
	if (kind == MODELFS && p->modelfs_line)
		return fail(p, p->line, "duplicate section [modelfs] (first at line %d)", p->modelfs_line);

	if (p->nsecs == p->capsecs) {
		size_t cap = p->capsecs ? 2 * p->capsecs : 16;
		struct section *v = realloc(p->secs, cap * sizeof(*v));

		if (!v)
			return nomem(p);
		p->secs = v;
		p->capsecs = cap;
	}
	s = &p->secs[p->nsecs++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = p->line;
	s->src.retries = -1;
	s->src.connections = -1;
	if (kind == MODELFS) {
		p->modelfs_line = p->line;
		s->id = "";
	} else {
		char *name = strndup(id, (size_t)(in_end - id));

		if (!name)
			return nomem(p);
		*(kind == SOURCE ? &s->src.name : &s->model.name) = name;
		s->id = name;
	}
	s->label = join(kind_names[kind], *s->id ? " " : "", s->id);
	return s->label ? 0 : nomem(p);
}

/* The ini_reader.  Counts lines (Debian's inih gives the handler no line
 * number), strips CR and the BOM, refuses what inih would misread, and
 * parses section headers itself (inih never reports a section without
 * keys).  inih gets each "key = value" line to split, with its inline
 * ';' comment rule, and an empty line in place of every other line, so
 * that its line count stays ours.  Returning NULL ends the parse: at the
 * end of the text or at the first error. */
static char *read_line(char *buf, int num, void *stream)
{
	struct parser *p = stream;
	const char *s = p->pos, *nl, *t;
	size_t len, max = MAX_LINE;

	/* a key line that never reached on_key is one inih could not split;
	 * inih would say so only once the whole text is read */
	if (p->key_pending)
		fail(p, p->line, SYNTAX_ERROR);
	p->key_pending = false;
	if (p->rc || s == p->end || num < 2)
		return NULL;
	if ((size_t)num - 1 < max)
		max = (size_t)num - 1;
	nl = memchr(s, '\n', (size_t)(p->end - s));
	len = nl ? (size_t)(nl - s) : (size_t)(p->end - s);
	p->pos = nl ? nl + 1 : p->end;
	p->line++;
	if (len && s[len - 1] == '\r')
		len--;
	if (p->line == 1 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		len -= 3;
	}
	if (memchr(s, '\0', len)) {
		fail(p, p->line, "NUL byte in line");
		return NULL;
	}
	if (len > max) {
		fail(p, p->line, "line too long (%zu characters, at most %zu)", len, max);
		return NULL;
	}
	for (t = s; t < s + len && isspace((unsigned char)*t); t++)
		;
	buf[0] = '\0';
	if (t == s + len || *t == ';' || *t == '#')
		return buf;
	if (t > s) {
		fail(p, p->line, "indented line (inih would append it to the previous value)");
		return NULL;
	}
	if (*t == '[')
		return start_section(p, t, s + len) < 0 ? NULL : buf;
	memcpy(buf, s, len);
	buf[len] = '\0';
	p->key_pending = true;
	return buf;
}

static int cmp_section(const void *a, const void *b)
{
	const struct section *x = *(const struct section *const *)a;
	const struct section *y = *(const struct section *const *)b;
	int c = (int)x->kind - (int)y->kind;

	if (!c)
		c = strcmp(x->id, y->id);
	return c ? c : x->line - y->line;
}

static int cmp_source_name(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct section *const *)elem)->id);
}

/* `v` sorted by cmp_section: copies are neighbours, first in file first. */
static int check_unique(struct parser *p, struct section **v, size_t n)
{
	const struct section *dup = NULL, *first = NULL;
	size_t group = 0;

	for (size_t i = 1; i < n; i++) {
		if (v[i]->kind != v[group]->kind || strcmp(v[i]->id, v[group]->id)) {
			group = i;
		} else if (!dup || v[i]->line < dup->line) {
			dup = v[i];
			first = v[group];
		}
	}
	if (!dup)
		return 0;
	return fail(p, dup->line, "duplicate section [%s] (first at line %d)", dup->label, first->line);
}

/* Of the keys in `ks`, the one given first in the section, or -1. */
static int first_key(const struct section *s, const enum key *ks, size_t n)
{
	int k = -1;

	for (size_t i = 0; i < n; i++) {
		if (s->key_line[ks[i]] && (k < 0 || s->key_line[ks[i]] < s->key_line[k]))
			k = (int)ks[i];
	}
	return k;
}

/* Which archive keys go together. */
static int check_archive_keys(struct parser *p, const struct section *s)
{
	static const enum key need_archive[] = {
		K_MEMBER, K_FILE, K_MEMBER_PREFIX, K_ARCHIVE_SIZE,
		K_ARCHIVE_SHA1, K_ARCHIVE_SHA256, K_ARCHIVE_SHA512,
	};
	static const enum key per_file[] = { K_SIZE, K_SHA1, K_SHA256, K_SHA512 };
	const int *kl = s->key_line;
	int k;

	if (!kl[K_ARCHIVE]) {
		const char *u = s->model.url;
		size_t ulen = u ? strlen(u) : 0;

		/* A folder of plain files: each file line is fetched from
		 * url + its name. */
		if (kl[K_FILE] && ulen && u[ulen - 1] == '/') {
			k = first_key(s, per_file, sizeof(per_file) / sizeof(per_file[0]));
			if (k >= 0)
				return fail(p, kl[k], "'%s' does not go with 'file' lines in [%s]: "
					    "each file line has its own size and digests",
					    keys[k].name, s->label);
			if (kl[K_MEMBER_PREFIX])
				return fail(p, kl[K_MEMBER_PREFIX], "'member_prefix' needs archive = "
					    "zip in [%s]", s->label);
			return 0;
		}
		if (kl[K_FILE])
			return fail(p, kl[K_FILE], "'file' needs archive = zip in [%s], or a url "
				    "ending in '/' (a folder of files)", s->label);
		k = first_key(s, need_archive, sizeof(need_archive) / sizeof(need_archive[0]));
		if (k >= 0)
			return fail(p, kl[k], "'%s' needs archive = zip in [%s]", keys[k].name, s->label);
		return 0;
	}
	if (!kl[K_MEMBER] && !kl[K_FILE])
		return fail(p, kl[K_ARCHIVE],
			    "archive = zip needs 'member' (one file) or 'file' lines (a directory) in [%s]",
			    s->label);
	if (kl[K_MEMBER] && kl[K_FILE])
		return fail(p, kl[K_MEMBER] > kl[K_FILE] ? kl[K_MEMBER] : kl[K_FILE],
			    "'member' (line %d) and 'file' (line %d) exclude each other in [%s]: "
			    "use member for one file, file lines for a directory",
			    kl[K_MEMBER], kl[K_FILE], s->label);
	if (kl[K_FILE]) {
		k = first_key(s, per_file, sizeof(per_file) / sizeof(per_file[0]));
		if (k >= 0)
			return fail(p, kl[k], "'%s' does not go with 'file' lines in [%s]: "
				    "each file line has its own size and digests", keys[k].name, s->label);
	}
	if (kl[K_MEMBER_PREFIX] && !kl[K_FILE])
		return fail(p, kl[K_MEMBER_PREFIX],
			    "'member_prefix' needs 'file' lines in [%s] (a member = gives the full name)",
			    s->label);
	return 0;
}

/* Which signing keys go together.  The trust keys of a model need its
 * `signature`; a signed model is a folder (file lines) or one file, never
 * a zip. */
static int check_signature_keys(struct parser *p, const struct section *s)
{
	static const enum key trust[] = { K_PUBLIC_KEY, K_CERTIFICATE_CHAIN,
					   K_CERTIFICATE_IDENTITY, K_SIGSTORE_TRUSTED_ROOT,
					   K_IDENTITY, K_OIDC_ISSUER };
	const int *kl = s->key_line;
	int k;

	if (!kl[K_SIGNATURE]) {
		k = first_key(s, trust, sizeof(trust) / sizeof(trust[0]));
		if (k >= 0)
			return fail(p, kl[k], "'%s' needs 'signature' in [%s] (or goes in the "
				    "[source])", keys[k].name, s->label);
		return 0;
	}
	if (kl[K_ARCHIVE])
		return fail(p, kl[K_SIGNATURE], "'signature' does not go with archive = zip in "
			    "[%s]: a signed model is a folder of files or one file", s->label);
	return 0;
}

/* `prefetch` is for a folder of plain files: the other kinds of model
 * have nothing to fetch ahead (one file), or fetch it all in one
 * download already (a zip). */
static int check_prefetch_key(struct parser *p, const struct section *s)
{
	const int *kl = s->key_line;

	if (!kl[K_PREFETCH])
		return 0;
	if (kl[K_ARCHIVE])
		return fail(p, kl[K_PREFETCH], "'prefetch' does not go with archive = zip in [%s]: "
			    "a zip's files come in one download already", s->label);
	if (!kl[K_FILE])
		return fail(p, kl[K_PREFETCH], "'prefetch' needs 'file' lines in [%s] (a folder "
			    "of files): one file has nothing to fetch ahead", s->label);
	return 0;
}

static int check_required(struct parser *p, const struct section *s)
{
	for (int k = 0; k < NKEYS; k++) {
		if ((keys[k].required & IN(s->kind)) && !s->key_line[k])
			return fail(p, s->line, "missing required key '%s' in [%s]", keys[k].name, s->label);
	}
	if (s->kind != MODEL)
		return 0;
	if (check_archive_keys(p, s) < 0 || check_signature_keys(p, s) < 0 ||
	    check_prefetch_key(p, s) < 0)
		return p->rc;
	/* with file lines, size and digests come per file; a signed model's
	 * digests come from its bundle (and may be pinned too) */
	if (s->nfiles) {
		for (size_t i = 0; i < s->nfiles && !s->key_line[K_SIGNATURE]; i++) {
			if (!s->files[i].digests.mask)
				return fail(p, s->files[i].line, "bad file '%s': no digest (expected "
					    "NAME SIZE ALGO:HEX [ALGO:HEX...]; only a signed model's "
					    "files may leave it out)", s->files[i].path);
		}
		return 0;
	}
	if (!s->key_line[K_SIZE])
		return fail(p, s->line, "missing required key 'size' in [%s]", s->label);
	if (!s->model.digests.mask && !s->key_line[K_SIGNATURE])
		return fail(p, s->line, "missing required key 'sha256' or 'sha512' in [%s]", s->label);
	return 0;
}

/* An s3:// url becomes the HTTPS base its bucket is reached at (s3.h);
 * the s3_* keys need one. */
static int check_s3(struct parser *p, struct section *s)
{
	static const int s3_keys[] = { K_S3_ENDPOINT, K_S3_REGION, K_S3_PATH_STYLE,
				       K_S3_CREDENTIALS, K_S3_PROFILE };
	struct mfs_source *src = &s->src;
	enum mfs_url_reason why;
	char err[160], *base = NULL, *host = NULL;
	int rc;

	if (strncmp(src->url, "s3://", 5) != 0) {
		for (size_t i = 0; i < sizeof(s3_keys) / sizeof(s3_keys[0]); i++) {
			if (s->key_line[s3_keys[i]])
				return fail(p, s->key_line[s3_keys[i]], "%s needs an s3:// url in [%s]",
					    keys[s3_keys[i]].name, s->label);
		}
		return 0;
	}
	if (src->s3_endpoint) {
		rc = mfs_url_check_base(src->s3_endpoint, src->allow_http, &base, &host, &why);
		if (rc == -ENOMEM)
			return nomem(p);
		free(base);
		free(host);
		if (rc < 0)
			return fail(p, s->key_line[K_S3_ENDPOINT], "bad s3_endpoint '%s': %s%s",
				    src->s3_endpoint, mfs_url_reason_str(why),
				    why == MFS_URL_HTTP ? " (http:// needs allow_http = yes)" : "");
	}
	if (src->s3_profile && !src->s3_credentials)
		return fail(p, s->key_line[K_S3_PROFILE], "s3_profile needs s3_credentials in [%s]",
			    s->label);
	rc = mfs_s3_base(src->url, src->s3_endpoint, src->s3_region, src->s3_path_style, &base,
			 err, sizeof(err));
	if (rc == -ENOMEM)
		return nomem(p);
	if (rc < 0)
		return fail(p, s->key_line[rc == -EINVAL && strstr(err, "region") ? K_S3_REGION : K_URL],
			    "s3 url '%s' in [%s]: %s", src->url, s->label, err);
	src->s3_url = src->url;
	src->url = base;
	return 0;
}

/* A source's url: the base every model url of it lies under. */
static int check_source(struct parser *p, struct section *s)
{
	struct mfs_source *src = &s->src;
	const char *u;
	int line = s->key_line[K_URL];
	enum mfs_url_reason why;
	char *base, *host;
	int rc;

	if (check_s3(p, s) < 0)
		return p->rc;
	u = src->url;
	rc = mfs_url_check_base(u, src->allow_http, &base, &host, &why);

	if (rc == -EINVAL) {
		switch (why) {
		case MFS_URL_BAD_CHAR:
			return fail(p, line, "source url '%s' has a space, control character, '?' or '#'", u);
		case MFS_URL_HTTP:
			return fail(p, line, "plain http url '%s' needs allow_http = yes in [%s]", u, s->label);
		case MFS_URL_SCHEME:
			return fail(p, line, "url '%s' must start with https:// (or http:// with allow_http = yes)", u);
		case MFS_URL_USERINFO:
			return fail(p, line, "userinfo ('user@') is not allowed in url '%s'", u);
		case MFS_URL_NO_HOST:
			return fail(p, line, "url '%s' has no host", u);
		case MFS_URL_BAD_HOST:
			return fail(p, line, "bad host in url '%s'", u);
		case MFS_URL_BAD_PORT:
			return fail(p, line, "bad port in url '%s'", u);
		default:
			return fail(p, line, "source url '%s' %s", u, mfs_url_reason_str(why));
		}
	}
	if (rc < 0)
		return nomem(p);
	free(src->url);
	src->url = base;
	src->host = host;
	/* Mirrors: the same rules as url, each. */
	for (char **m = src->mirrors; m && *m; m++) {
		line = s->key_line[K_MIRRORS];
		rc = mfs_url_check_base(*m, src->allow_http, &base, &host, &why);
		if (rc == -EINVAL && why == MFS_URL_HTTP)
			return fail(p, line, "plain http mirror '%s' needs allow_http = yes in [%s]",
				    *m, s->label);
		if (rc == -EINVAL)
			return fail(p, line, "bad mirror '%s' in [%s]: %s", *m, s->label,
				    mfs_url_reason_str(why));
		if (rc < 0)
			return nomem(p);
		free(*m);
		free(host);
		*m = base;
	}
	return 0;
}

size_t mfs_source_url(const struct mfs_source *src, const char *url, size_t i, char **out)
{
	size_t n = 1;

	for (char **m = src->mirrors; m && *m; m++)
		n++;
	if (i < n)
		*out = i == 0 ? strdup(url) : join(src->mirrors[i - 1], "", url + strlen(src->url));
	return n;
}

/* A model's url, made absolute against its source's. */
static int resolve_url(struct parser *p, struct section *s, const struct section *src_sec)
{
	const struct mfs_source *src = &src_sec->src;
	const char *u = s->model.url;
	int line = s->key_line[K_URL];
	enum mfs_url_reason why;
	char *abs;
	int rc = mfs_url_resolve(src->url, src->allow_http, u, &abs, &why);

	if (rc == -EINVAL) {
		switch (why) {
		case MFS_URL_BAD_CHAR:
			return fail(p, line, "url '%s' has a space, control character or '#'", u);
		case MFS_URL_HTTP:
			return fail(p, line, "plain http url '%s' needs allow_http = yes in [%s]", u,
				    src_sec->label);
		case MFS_URL_OUTSIDE:
			return fail(p, line, "url '%s' is outside its source's base %s", u, src->url);
		case MFS_URL_ROOTED:
			return fail(p, line, "url '%s' must be relative to the source url (no leading '/')", u);
		case MFS_URL_DOTDOT:
			return fail(p, line, "url '%s' has a '..' segment", u);
		case MFS_URL_NO_FILE:
			return fail(p, line, "url '%s' names no file under its source", u);
		default:
			return fail(p, line, "url '%s' %s", u, mfs_url_reason_str(why));
		}
	}
	if (rc < 0)
		return nomem(p);
	free(s->model.url);
	s->model.url = abs;
	return 0;
}

/* Without the opt-in, reports the first line in the section that uses sha1. */
static int check_sha1(struct parser *p, const struct section *s)
{
	const unsigned sha1 = MFS_ALGO_BIT(MFS_SHA1);
	const char *what = NULL;
	int line = 0;

	if (s->allow_sha1 || s->source->src.allow_sha1)
		return 0;
	if (s->model.digests.mask & sha1) {
		what = "sha1";
		line = s->key_line[K_SHA1];
	}
	if ((s->archive.digests.mask & sha1) && (!line || s->key_line[K_ARCHIVE_SHA1] < line)) {
		what = "archive_sha1";
		line = s->key_line[K_ARCHIVE_SHA1];
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->files[i].digests.mask & sha1) {
			if (!line || s->files[i].line < line) {
				what = "sha1";
				line = s->files[i].line;
			}
			break;
		}
	}
	if (!line)
		return 0;
	return fail(p, line, "%s is weak: it needs allow_sha1 = yes in [%s] or [%s]", what, s->label,
		    s->source->label);
}

/* A directory model's files get their mount path, the section's name,
 * and their url: in a zip, the zip's (and their member name); in a
 * folder, the folder's url + their name. */
static int complete_files(struct parser *p, struct section *s)
{
	const char *prefix = s->member_prefix ? s->member_prefix : "";

	bool folder = !s->key_line[K_ARCHIVE];

	for (size_t i = 0; i < s->nfiles; i++) {
		struct mfs_model *f = &s->files[i];
		/* path and member stay valid: the parser caps a line far below
		 * what mfs_mountpath_check allows */
		char *path = join(s->model.path, "/", f->path);
		char *member = folder ? NULL : join(prefix, "", f->path);
		char *esc = folder ? mfs_url_escape_path(f->path) : NULL;

		f->url = folder ? (esc ? join(s->model.url, "", esc) : NULL) : strdup(s->model.url);
		free(esc);
		free(f->path);
		f->path = path;
		f->dir_len = strlen(s->model.path);
		f->member = member;
		f->name = strdup(s->id);
		if (!path || (!folder && !member) || !f->name || !f->url)
			return nomem(p);
	}
	return 0;
}

/* Decodes %XX escapes in place (a url's segment back to a file name). */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = { s[1], s[2], 0 };

			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* A signed model's bundle url, resolved like a model url, and its trust:
 * each of the model's own keys replaces the source's. */
static int complete_signature(struct parser *p, struct section *s, const struct section *src_sec)
{
	const struct mfs_source *src = &src_sec->src;
	struct mfs_signature *g = &s->sig;
	enum mfs_url_reason why;
	char *abs;
	int rc = mfs_url_resolve(src->url, src->allow_http, g->url, &abs, &why);

	if (rc == -EINVAL)
		return fail(p, s->key_line[K_SIGNATURE], "bad signature url '%s': %s", g->url,
			    mfs_url_reason_str(why));
	if (rc < 0)
		return nomem(p);
	free(g->url);
	g->url = abs;
	if (!s->key_line[K_PUBLIC_KEY] && src->public_keys) {
		for (size_t i = 0; src->public_keys[i]; i++) {
			if (add_trust_copy(&g->public_keys, src->public_keys[i]) < 0)
				return nomem(p);
		}
	}
	if (!g->certificate_chain && src->certificate_chain &&
	    !(g->certificate_chain = strdup(src->certificate_chain)))
		return nomem(p);
	if (!g->certificate_identity && src->certificate_identity &&
	    !(g->certificate_identity = strdup(src->certificate_identity)))
		return nomem(p);
	if (!g->sigstore_trusted_root && src->sigstore_trusted_root &&
	    !(g->sigstore_trusted_root = strdup(src->sigstore_trusted_root)))
		return nomem(p);
	if (!s->key_line[K_IDENTITY] && src->identities) {
		for (size_t i = 0; src->identities[i]; i++) {
			if (add_trust_copy(&g->identities, src->identities[i]) < 0)
				return nomem(p);
		}
	}
	if (!g->oidc_issuer && src->oidc_issuer && !(g->oidc_issuer = strdup(src->oidc_issuer)))
		return nomem(p);
	/* Keyless trust is the three together: a root alone would accept a
	 * valid signature from anyone at all. */
	if ((g->sigstore_trusted_root || g->identities || g->oidc_issuer) &&
	    !(g->sigstore_trusted_root && g->identities && g->oidc_issuer))
		return fail(p, s->key_line[K_SIGNATURE], "keyless trust needs "
			    "sigstore_trusted_root, identity and oidc_issuer, all three, in [%s] "
			    "or [%s] (a valid Sigstore signature from anyone is not trust)",
			    s->label, src_sec->label);
	if (!g->public_keys && !g->certificate_chain && !g->sigstore_trusted_root)
		return fail(p, s->key_line[K_SIGNATURE], "'signature' needs public_key, "
			    "certificate_chain or sigstore_trusted_root (with identity and "
			    "oidc_issuer) in [%s] or [%s]", s->label, src_sec->label);
	g->folder = s->nfiles > 0;
	g->line = s->line;
	if (!(g->name = strdup(s->id)) || !(g->path = strdup(s->model.path)))
		return nomem(p);
	/* Each file's name in the bundle: a folder's file NAME, or the last
	 * segment of a single file's url (the OMS spec's form; model_signing
	 * writes "." for it, which matches too). */
	if (g->folder) {
		size_t dir = strlen(s->model.path) + 1;

		for (size_t i = 0; i < s->nfiles; i++) {
			if (!(s->files[i].signed_name = strdup(s->files[i].path + dir)))
				return nomem(p);
		}
	} else {
		const char *u = s->model.url, *q = u + strcspn(u, "?"), *b = q;

		while (b > u && b[-1] != '/')
			b--;
		if (!(s->model.signed_name = strndup(b, (size_t)(q - b))))
			return nomem(p);
		unescape(s->model.signed_name);
	}
	return 0;
}

/* `srcs` sorted by id. */
static int check_model(struct parser *p, struct section *s, struct section **srcs, size_t nsrcs)
{
	struct section **hit = bsearch(s->source_name, srcs, nsrcs, sizeof(*srcs), cmp_source_name);
	int rc;

	if (!hit)
		return fail(p, s->key_line[K_SOURCE], "unknown source '%s' (no [source %s])",
			    s->source_name, s->source_name);
	s->source = *hit;
	rc = resolve_url(p, s, *hit);
	if (rc < 0)
		return rc;
	rc = check_sha1(p, s);
	if (rc < 0)
		return rc;
	s->model.weak = s->model.digests.mask == MFS_ALGO_BIT(MFS_SHA1);
	if (complete_files(p, s) < 0)
		return p->rc;
	if (s->key_line[K_SIGNATURE] && complete_signature(p, s, *hit) < 0)
		return p->rc;
	if (s->key_line[K_ARCHIVE]) {
		s->archive.name = strdup(s->id);
		s->archive.url = strdup(s->model.url);
		s->archive.line = s->line;
		if (!s->archive.name || !s->archive.url)
			return nomem(p);
	}
	return 0;
}

/* Puts a clash from mfs_mountpath_find_clash into words (the refs' owners
 * index p->secs): at the later of its two lines, naming the other. */
static int report_clash(struct parser *p, const struct mfs_mountpath_clash *c)
{
	const struct mfs_mountpath_ref *x = c->outer, *y = c->inner;
	const struct mfs_mountpath_ref *at = x->line > y->line ? x : y, *other = at == x ? y : x;
	const struct section *at_sec = &p->secs[at->owner], *other_sec = &p->secs[other->owner];

	if (c->kind == MFS_CLASH_DUPLICATE && at->owner == other->owner)
		return fail(p, at->line, "duplicate file '%s' (also at line %d)",
			    at->path + strlen(at_sec->model.path) + 1, other->line);
	if (c->kind == MFS_CLASH_DUPLICATE)
		return fail(p, at->line, "duplicate path '%s' (also in [%s] at line %d)", at->path,
			    other_sec->label, other->line);
	if (c->kind == MFS_CLASH_FILE_DIR)
		return fail(p, at->line,
			    "path '%s' clashes with '%s' of [%s] at line %d: '%s' would be both a file and a directory",
			    at->path, other->path, other_sec->label, other->line, x->path);
	if (at == y)
		return fail(p, at->line, "path '%s' is inside directory '%s' of [%s] at line %d "
			    "(a model's directory holds only its own files)",
			    y->path, x->path, other_sec->label, x->line);
	return fail(p, at->line, "directory '%s' would hold '%s' of [%s] at line %d "
		    "(a model's directory holds only its own files)",
		    x->path, y->path, other_sec->label, y->line);
}

/* Every path in the mount: each model's file, and each directory model's
 * directory, which no other model may share.  Reports the conflict that
 * comes first in the file. */
static int check_paths(struct parser *p, size_t nrefs)
{
	struct mfs_mountpath_clash clash;
	struct mfs_mountpath_ref *refs;
	size_t n = 0;
	int rc;

	refs = malloc((nrefs ? nrefs : 1) * sizeof(*refs));
	if (!refs)
		return nomem(p);
	for (size_t i = 0; i < p->nsecs; i++) {
		const struct section *s = &p->secs[i];

		if (s->kind != MODEL)
			continue;
		refs[n++] = (struct mfs_mountpath_ref){ s->model.path, s->nfiles > 0, i,
							s->key_line[K_PATH] };
		for (size_t j = 0; j < s->nfiles; j++)
			refs[n++] = (struct mfs_mountpath_ref){ s->files[j].path, false, i,
								s->files[j].line };
	}
	rc = mfs_mountpath_find_clash(refs, n, &clash);
	if (rc == -EEXIST)
		report_clash(p, &clash);
	else if (rc < 0)
		nomem(p);
	free(refs);
	return p->rc;
}

/* The bound on an archive's download when archive_size does not pin it:
 * what its members hold, an eighth more, and 1 MiB, at most INT64_MAX
 * (what a fetch accepts). */
static uint64_t archive_max_size(const struct mfs_config *cfg, const struct mfs_archive *a)
{
	const uint64_t cap = INT64_MAX;
	uint64_t sum = 0;

	if (a->size)
		return a->size;
	for (size_t i = 0; i < a->nmembers; i++) {
		uint64_t size = cfg->models[a->members[i]].size;

		sum = size > cap - sum ? cap : sum + size;
	}
	sum = sum / 8 > cap - sum ? cap : sum + sum / 8;
	return sum > cap - (1u << 20) ? cap : sum + (1u << 20);
}

/* Hands the sections' sources, models and archives over to the config. */
static int move_out(struct parser *p, size_t nsrcs, size_t nmodels, size_t narchives)
{
	struct mfs_config *cfg = p->cfg;
	size_t nsigs = 0, nfolders = 0;

	if (nsrcs && !(cfg->sources = calloc(nsrcs, sizeof(*cfg->sources))))
		return nomem(p);
	if (nmodels && !(cfg->models = calloc(nmodels, sizeof(*cfg->models))))
		return nomem(p);
	if (narchives && !(cfg->archives = calloc(narchives, sizeof(*cfg->archives))))
		return nomem(p);
	for (size_t i = 0; i < p->nsecs; i++) {
		nsigs += p->secs[i].kind == MODEL && p->secs[i].key_line[K_SIGNATURE];
		nfolders += p->secs[i].kind == MODEL && p->secs[i].nfiles &&
			    !p->secs[i].key_line[K_ARCHIVE];
	}
	if (nsigs && !(cfg->signatures = calloc(nsigs, sizeof(*cfg->signatures))))
		return nomem(p);
	if (nfolders && !(cfg->folders = calloc(nfolders, sizeof(*cfg->folders))))
		return nomem(p);
	for (size_t i = 0; i < p->nsecs; i++) {
		struct section *s = &p->secs[i];

		if (s->kind != SOURCE)
			continue;
		s->index = cfg->nsources++;
		s->src.line = s->line;
		cfg->sources[s->index] = s->src;
		memset(&s->src, 0, sizeof(s->src));
	}
	for (size_t i = 0; i < p->nsecs; i++) {
		struct section *s = &p->secs[i];
		const struct mfs_source *src;
		struct mfs_archive *a = NULL;
		struct mfs_folder *f = NULL;
		struct mfs_signature *g;

		if (s->kind != MODEL)
			continue;
		src = &cfg->sources[s->source->index];
		g = NULL;
		if (s->key_line[K_SIGNATURE]) {
			g = &cfg->signatures[cfg->nsignatures++];
			*g = s->sig;
			memset(&s->sig, 0, sizeof(s->sig));
			g->source = src;
			g->members = malloc((s->nfiles ? s->nfiles : 1) * sizeof(*g->members));
			if (!g->members)
				return nomem(p);
		}
		if (s->key_line[K_ARCHIVE]) {
			a = &cfg->archives[cfg->narchives++];
			*a = s->archive;
			memset(&s->archive, 0, sizeof(s->archive));
			a->source = src;
			a->members = malloc((s->nfiles ? s->nfiles : 1) * sizeof(*a->members));
			if (!a->members)
				return nomem(p);
		}
		if (s->nfiles && !a) {
			f = &cfg->folders[cfg->nfolders++];
			f->line = s->line;
			/* the section's own key, else [modelfs]'s (read by now) */
			f->prefetch = s->key_line[K_PREFETCH] ? s->prefetch : cfg->prefetch;
			f->members = malloc(s->nfiles * sizeof(*f->members));
			if (!f->members)
				return nomem(p);
		}
		if (!s->nfiles) {
			s->model.source = src;
			s->model.line = s->line;
			s->model.archive = a;
			s->model.signature = g;
			if (a)
				a->members[a->nmembers++] = cfg->nmodels;
			if (g)
				g->members[g->nmembers++] = cfg->nmodels;
			cfg->models[cfg->nmodels++] = s->model;
			memset(&s->model, 0, sizeof(s->model));
		}
		/* file lines: members of an archive, or a folder's files */
		for (size_t j = 0; j < s->nfiles; j++) {
			s->files[j].source = src;
			s->files[j].archive = a;
			s->files[j].signature = g;
			s->files[j].folder = f;
			if (a)
				a->members[a->nmembers++] = cfg->nmodels;
			if (f)
				f->members[f->nmembers++] = cfg->nmodels;
			if (g)
				g->members[g->nmembers++] = cfg->nmodels;
			cfg->models[cfg->nmodels++] = s->files[j];
			memset(&s->files[j], 0, sizeof(s->files[j]));
		}
		if (a)
			a->max_size = archive_max_size(cfg, a);
	}
	return 0;
}

/* The back-off may not shrink as failures add up. */
static int check_backoff(struct parser *p)
{
	const struct mfs_config *cfg = p->cfg;
	int line = 0;

	if (cfg->failure_backoff_max >= cfg->failure_backoff)
		return 0;
	for (size_t i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind == MODELFS)
			line = p->secs[i].key_line[K_FAILURE_BACKOFF_MAX] ?
				       p->secs[i].key_line[K_FAILURE_BACKOFF_MAX] :
				       p->secs[i].key_line[K_FAILURE_BACKOFF];
	}
	return fail(p, line, "failure_backoff_max (%u) is less than failure_backoff (%u)",
		    cfg->failure_backoff_max, cfg->failure_backoff);
}

/* Everything that needs the whole file: sections, sources, paths. */
static int finish(struct parser *p)
{
	struct mfs_config *cfg = p->cfg;
	struct section **v;
	size_t nmodelfs = 0, nsrcs = 0, nmodels = 0, narchives = 0, nrefs = 0;

	v = malloc((p->nsecs ? p->nsecs : 1) * sizeof(*v));
	if (!v)
		return nomem(p);
	for (size_t i = 0; i < p->nsecs; i++) {
		v[i] = &p->secs[i];
		nmodelfs += v[i]->kind == MODELFS;
		nsrcs += v[i]->kind == SOURCE;
		if (v[i]->kind == MODEL) {
			nmodels += v[i]->nfiles ? v[i]->nfiles : 1;
			nrefs += v[i]->nfiles + 1;
			narchives += v[i]->key_line[K_ARCHIVE] != 0;
		}
	}
	/* by kind then id: sources end up together, sorted for bsearch */
	qsort(v, p->nsecs, sizeof(*v), cmp_section);
	if (check_unique(p, v, p->nsecs) < 0)
		goto out_free_v;
	for (size_t i = 0; i < p->nsecs; i++) {
		if (check_required(p, &p->secs[i]) < 0 ||
		    (p->secs[i].kind == SOURCE && check_source(p, &p->secs[i]) < 0))
			goto out_free_v;
	}
	for (size_t i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind == MODEL && check_model(p, &p->secs[i], v + nmodelfs, nsrcs) < 0)
			goto out_free_v;
	}
	if (check_paths(p, nrefs) < 0 || check_backoff(p) < 0)
		goto out_free_v;
	if (!cfg->store && dup_into(p, &cfg->store, MFS_DEFAULT_STORE) < 0)
		goto out_free_v;
	if (!cfg->audit_log) {
		size_t len = strlen(cfg->store);

		cfg->audit_log = join(cfg->store, cfg->store[len - 1] == '/' ? "" : "/", "audit.jsonl");
		if (!cfg->audit_log) {
			nomem(p);
			goto out_free_v;
		}
	}
	move_out(p, nsrcs, nmodels, narchives); /* its failure is in p->rc */
out_free_v:
	free(v);
	return p->rc;
}

static int parse_text(const char *name, const char *text, size_t len, struct mfs_config **out,
		      char *err, size_t errlen)
{
	struct parser p = { .file = name, .pos = text, .end = text + len, .err = err, .errlen = errlen };
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg) {
		nomem(&p);
		goto out_free_secs;
	}
	p.cfg->connect_timeout = MFS_DEFAULT_CONNECT_TIMEOUT;
	p.cfg->low_speed_limit = MFS_DEFAULT_LOW_SPEED_LIMIT;
	p.cfg->low_speed_time = MFS_DEFAULT_LOW_SPEED_TIME;
	p.cfg->max_fetches = MFS_DEFAULT_MAX_FETCHES;
	p.cfg->quarantine_max = MFS_DEFAULT_QUARANTINE_MAX;
	p.cfg->failure_backoff = MFS_DEFAULT_FAILURE_BACKOFF;
	p.cfg->failure_backoff_max = MFS_DEFAULT_FAILURE_BACKOFF_MAX;
	p.cfg->retries = MFS_DEFAULT_RETRIES;
	p.cfg->min_rate = MFS_DEFAULT_MIN_RATE;
	p.cfg->min_rate_after = MFS_MIN_RATE_AFTER;
	p.cfg->write_unit = MFS_PAGECACHE_UNIT;
	p.cfg->connections = MFS_DEFAULT_CONNECTIONS;
	p.cfg->parallel_min = MFS_DEFAULT_PARALLEL_MIN;
	p.cfg->lock_files = true;
	p.cfg->passthrough = true;
	if (dup_into(&p, &p.cfg->file, name) < 0)
		goto out_free_secs;

	rc = ini_parse_stream(read_line, &p, on_key, &p);
	/* read_line and on_key find every error first; this is in case an
	 * inih fails a line in a way they did not foresee */
	if (rc > 0)
		fail(&p, rc, SYNTAX_ERROR);
	else if (rc < 0)
		nomem(&p);
	if (!p.rc)
		finish(&p);

out_free_secs:
	for (size_t i = 0; i < p.nsecs; i++) {
		free(p.secs[i].label);
		free(p.secs[i].source_name);
		free_source(&p.secs[i].src);
		free_model(&p.secs[i].model);
		for (size_t j = 0; j < p.secs[i].nfiles; j++)
			free_model(&p.secs[i].files[j]);
		free(p.secs[i].files);
		free(p.secs[i].member_prefix);
		free_archive(&p.secs[i].archive);
		free_signature(&p.secs[i].sig);
	}
	free(p.secs);
	if (p.rc) {
		mfs_config_free(p.cfg);
		return p.rc;
	}
	*out = p.cfg;
	return 0;
}

static int read_all(const char *file, char **out, size_t *outlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int fd, rc = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			char *b = realloc(buf, cap ? 2 * cap : 65536);

			if (!b) {
				rc = -ENOMEM;
				goto out_free_buf;
			}
			buf = b;
			cap = cap ? 2 * cap : 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out_free_buf;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out_free_buf:
	free(buf);
	close(fd);
	return rc;
}

int mfs_config_load(const char *file, struct mfs_config **out, char *err, size_t errlen)
{
	size_t len = 0;
	char *text = NULL;
	int rc;

	*out = NULL;
	rc = read_all(file, &text, &len);
	if (rc < 0)
		snprintf(err, errlen, "%s: cannot read: %s", file, strerror(-rc));
	else
		rc = parse_text(file, text, len, out, err, errlen);
	free(text);
	return rc;
}

int mfs_config_parse_string(const char *name, const char *text, struct mfs_config **out,
			    char *err, size_t errlen)
{
	return parse_text(name, text, strlen(text), out, err, errlen);
}

void mfs_config_free(struct mfs_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nsources; i++)
		free_source(&cfg->sources[i]);
	for (size_t i = 0; i < cfg->nmodels; i++)
		free_model(&cfg->models[i]);
	for (size_t i = 0; i < cfg->narchives; i++)
		free_archive(&cfg->archives[i]);
	for (size_t i = 0; i < cfg->nsignatures; i++)
		free_signature(&cfg->signatures[i]);
	for (size_t i = 0; i < cfg->nfolders; i++)
		free(cfg->folders[i].members);
	free(cfg->folders);
	free(cfg->signatures);
	free(cfg->sources);
	free(cfg->models);
	free(cfg->archives);
	free(cfg->file);
	free(cfg->store);
	free(cfg->audit_log);
	free(cfg->metrics_file);
	free(cfg);
}

const struct mfs_model *mfs_config_find(const struct mfs_config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->nmodels; i++) {
		if (!strcmp(cfg->models[i].path, path))
			return &cfg->models[i];
	}
	return NULL;
}
