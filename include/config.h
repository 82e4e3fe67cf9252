/* config — reads and validates models.ini (with inih) into an immutable
 * struct mfs_config.  Nothing is mounted from a config that failed here.
 *
 * Sections: [modelfs] (store, audit_log, connect_timeout, low_speed_limit,
 * low_speed_time), [source NAME] (url, ca_file, allow_http, allow_sha1,
 * redirect_hosts), [model NAME] (source, path, url, size, sha1, sha256,
 * sha512, allow_sha1).  See README.md for the reference. */
#ifndef MFS_CONFIG_H
#define MFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define MFS_DEFAULT_STORE "/var/lib/modelfs"
#define MFS_DEFAULT_CONNECT_TIMEOUT 10   /* seconds */
#define MFS_DEFAULT_LOW_SPEED_LIMIT 1024 /* bytes per second ... */
#define MFS_DEFAULT_LOW_SPEED_TIME 30    /* ... for this many seconds */

struct mfs_source {
	char *name;
	char *url;            /* https://host/base/ — always ends in '/' */
	char *host;           /* host part of url, lowercase */
	char *ca_file;        /* NULL: the system CAs */
	bool allow_http;
	bool allow_sha1;
	char **redirect_hosts; /* NULL-terminated; redirects may go to url's host or these */
	int line;
};

struct mfs_model {
	char *name;                     /* the section id */
	const struct mfs_source *source;
	char *path;                     /* mount path, relative, no leading '/' */
	char *url;                      /* absolute, resolved against source->url */
	uint64_t size;
	struct mfs_digests digests;     /* every digest given; all must match */
	bool weak;                      /* only SHA-1 is given (allowed by opt-in) */
	int line;                       /* line of the section header */
};

struct mfs_config {
	char *file;
	char *store;
	char *audit_log;       /* default: <store>/audit.jsonl */
	long connect_timeout;
	long low_speed_limit;
	long low_speed_time;
	struct mfs_source *sources;
	size_t nsources;
	struct mfs_model *models;
	size_t nmodels;
};

/* Parses and validates `file`.  On success returns 0 and *out (free with
 * mfs_config_free).  On failure returns -EINVAL (bad config) or -errno
 * (cannot read the file), *out is NULL, and `err` holds one line
 * "FILE:LINE: message" (or "FILE: message" when no line applies). */
int mfs_config_load(const char *file, struct mfs_config **out, char *err, size_t errlen);

/* Like mfs_config_load but from a string (for tests); `name` stands for
 * the file name in messages. */
int mfs_config_parse_string(const char *name, const char *text, struct mfs_config **out,
			    char *err, size_t errlen);

void mfs_config_free(struct mfs_config *cfg);

/* Returns the model whose mount path equals `path` (no leading '/'), or NULL. */
const struct mfs_model *mfs_config_find(const struct mfs_config *cfg, const char *path);

/* Checks a mount path: relative, components non-empty, not "." or "..",
 * at most 255 bytes each and 4095 in all.  Returns 0 or -EINVAL with a
 * reason in `why` (static string). */
int mfs_config_check_path(const char *path, const char **why);

/* Name of the store object for a model: "<algo>-<hex>" of its strongest
 * digest (sha512 > sha256 > sha1).  Writes into buf (>= 8 + 129 bytes). */
void mfs_model_object_name(const struct mfs_model *m, char *buf, size_t len);

#endif
