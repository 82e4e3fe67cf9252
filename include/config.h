/* config — reads and validates models.ini (with inih) into an immutable
 * struct mfs_config.  Nothing is mounted from a config that failed here.
 *
 * Sections and their keys (README.md is the reference):
 *   [modelfs]      store, audit_log, connect_timeout, low_speed_limit,
 *                  low_speed_time, max_fetches (downloads at once, 1-64),
 *                  store_max and quarantine_max (sizes: bytes, or with a
 *                  K/M/G/T suffix, powers of 1024), failure_backoff and
 *                  failure_backoff_max (seconds), metrics_file,
 *                  lock_files, passthrough, prefetch (the default of
 *                  every folder model)
 *   [source NAME]  url, ca_file, allow_http, allow_sha1, redirect_hosts
 *   [model NAME]   source, path, url, size, sha1, sha256, sha512,
 *                  allow_sha1; from an archive: archive, member or
 *                  repeated file = NAME SIZE ALGO:HEX..., member_prefix,
 *                  archive_size, archive_sha1/256/512; a folder of
 *                  plain files: url ending in '/' and file lines, and
 *                  prefetch (only there)
 *
 * A model from an archive is one file (archive + member) or a directory
 * (archive + file lines: path is the directory, each file appears at
 * path/NAME and is the member member_prefix + NAME).  Either way each file
 * becomes one struct mfs_model, with its own size and digests.
 *
 * The rules for URLs are url.h's, for mount paths mountpath.h's; this
 * module knows sections, keys and lines. */
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
#define MFS_DEFAULT_MAX_FETCHES 4        /* downloads that run at once */
#define MFS_MAX_FETCHES_LIMIT 64         /* the most max_fetches may say */
#define MFS_DEFAULT_QUARANTINE_MAX (1ULL << 30) /* bytes kept in quarantine/ */
#define MFS_DEFAULT_FAILURE_BACKOFF 10   /* seconds after a first failure ... */
#define MFS_DEFAULT_FAILURE_BACKOFF_MAX 600 /* ... doubling up to this */
#define MFS_BACKOFF_LIMIT 86400          /* the most either may say */
#define MFS_DEFAULT_RETRIES 2            /* more tries of a URL after a transient failure */
#define MFS_RETRIES_LIMIT 10
#define MFS_DEFAULT_MIN_RATE 10240       /* bytes/s on average ... */
#define MFS_MIN_RATE_AFTER 60            /* ... from this many seconds into a transfer
					    (min_rate_after's default) */
#define MFS_MIN_RATE_AFTER_LIMIT 3600     /* the most min_rate_after may say */
#define MFS_DEFAULT_CONNECTIONS 4        /* ranged GETs at once for a large file ... */
#define MFS_CONNECTIONS_LIMIT 16
#define MFS_DEFAULT_PARALLEL_MIN (64ULL << 20) /* ... of at least this many bytes */

struct mfs_source {
	char *name;
	char *url;            /* https://host/base/ — always ends in '/' */
	char *host;           /* host part of url, lowercase */
	char *ca_file;        /* NULL: the system CAs */
	bool allow_http;
	bool allow_sha1;
	char **redirect_hosts; /* NULL-terminated "host" or "host:port", lowercase;
				  redirects may go to the URL's own host and port
				  or these */
	char **mirrors;        /* NULL-terminated other bases (checked like url,
				  ending in '/'), tried in order after url; NULL: none */
	int retries;           /* [source] retries; -1: the [modelfs] one */
	int connections;       /* [source] connections; -1: the [modelfs] one */
	uint64_t parallel_min; /* [source] parallel_min; 0: the [modelfs] one */
	/* An S3 source: s3_url is its s3://BUCKET/PREFIX/ as configured, and
	 * url the HTTPS base that became (s3.h); requests to url are signed
	 * (mirrors are not).  s3_url NULL: not S3. */
	char *s3_url;
	char *s3_endpoint;     /* NULL: AWS's for the region */
	char *s3_region;       /* NULL: MFS_S3_DEFAULT_REGION */
	bool s3_path_style;
	char *s3_credentials;  /* shared-credentials file; NULL: the environment */
	char *s3_profile;      /* NULL: MFS_S3_DEFAULT_PROFILE */
	/* Trust for signed models (signature.h), unless a model sets its own:
	 * public_key lines (NULL-terminated; NULL: none), certificate_chain
	 * (trusted roots; NULL: none), certificate_identity (a SAN the
	 * signing certificate must have; NULL: any). */
	char **public_keys;
	char *certificate_chain;
	char *certificate_identity;
	/* Keyless trust (keyless.h): a Sigstore trusted_root.json, the
	 * identity lines (NULL-terminated; any may match) and the OIDC issuer;
	 * all three or none. */
	char *sigstore_trusted_root;
	char **identities;
	char *oidc_issuer;
	char *proxy;           /* [source] proxy: NULL: the environment's
				  (https_proxy, http_proxy, no_proxy); "": none;
				  else an http:// or https:// proxy URL */
	int line;
};

enum mfs_archive_format { MFS_ARCHIVE_ZIP };

/* An archive that one [model] section's files come from ("archive = zip"):
 * downloaded once for all of its members, which are extracted, verified
 * one by one and stored as objects of their own. */
struct mfs_archive {
	char *name;                     /* the section id */
	enum mfs_archive_format format;
	const struct mfs_source *source;
	char *url;                      /* absolute */
	uint64_t size;                  /* exact, from archive_size; 0: not pinned */
	uint64_t max_size;              /* bound on the download: size if pinned, else
					   sum(member sizes) + 1/8 + 1 MiB */
	struct mfs_digests digests;     /* archive_sha1/256/512; mask 0: not pinned */
	size_t *members;                /* indices into cfg->models, in file order */
	size_t nmembers;
	int line;
};

/* A signed model: its files' digests come from an OpenSSF Model Signing
 * bundle, verified on the first open of any of them (signature.h). */
struct mfs_signature {
	char *name;                     /* the model section's id */
	const struct mfs_source *source;
	char *url;                      /* the bundle, absolute (resolved against
					   the source url, like a model url) */
	char **public_keys;             /* the model's own, else the source's */
	char *certificate_chain;        /* likewise */
	char *certificate_identity;     /* likewise */
	char *sigstore_trusted_root;    /* likewise */
	char **identities;              /* likewise */
	char *oidc_issuer;              /* likewise */
	char *path;                     /* the model's mount path (its directory,
					   or the file) */
	bool folder;                    /* file lines; else one file */
	size_t *members;                /* indices into cfg->models, in file order */
	size_t nmembers;
	int line;
};

/* A folder of plain files (a [model] with file lines and no archive):
 * each file is a model of its own, fetched from the folder's url + NAME.
 * With prefetch, the first open of any of them queues the others too
 * (scheduler.h). */
struct mfs_folder {
	size_t *members;                /* indices into cfg->models, in file order */
	size_t nmembers;
	bool prefetch;                  /* [model] prefetch, else [modelfs] prefetch */
	int line;                       /* of the section header */
};

struct mfs_model {
	char *name;                     /* the section id (shared by a directory's files) */
	const struct mfs_source *source;
	char *path;                     /* mount path, relative, no leading '/' */
	size_t dir_len;                 /* a file of a directory model (file lines):
					   path's first dir_len bytes are the
					   directory's path, path + dir_len + 1
					   the file's name; 0: a model of one file */
	char *url;                      /* absolute, resolved against source->url */
	uint64_t size;
	struct mfs_digests digests;     /* every digest given; all must match */
	bool weak;                      /* only SHA-1 is given (allowed by opt-in) */
	int line;                       /* line of the section header (of the file = line) */
	const struct mfs_archive *archive; /* NULL: url is the file itself */
	char *member;                   /* archive member name (member_prefix included) */
	/* Signed (NULL: not): the digests are the signed ones once its
	 * bundle verified; `digests` holds only what the config pins too
	 * (may be none).  signed_name is the file's name in the bundle. */
	const struct mfs_signature *signature;
	char *signed_name;
	const struct mfs_folder *folder; /* one file of a folder; NULL: not */
};

struct mfs_config {
	char *file;
	char *store;
	char *audit_log;       /* default: <store>/audit.jsonl */
	char *metrics_file;    /* [modelfs] metrics_file; NULL: no metrics */
	long connect_timeout;
	long low_speed_limit;
	long low_speed_time;
	unsigned max_fetches;  /* [modelfs] max_fetches, 1-64, default 4 */
	uint64_t store_max;    /* [modelfs] store_max, bytes; 0: no bound */
	uint64_t quarantine_max; /* [modelfs] quarantine_max, bytes (0: keep none) */
	unsigned failure_backoff;     /* seconds an open fails at once after a failure */
	unsigned failure_backoff_max; /* ... doubling per failure up to this */
	unsigned retries;      /* [modelfs] retries, 0-10, default 2 */
	uint64_t min_rate;     /* [modelfs] min_rate, bytes/s; 0: no check */
	unsigned min_rate_after; /* [modelfs] min_rate_after, s, 1-3600, default 60 */
	size_t write_unit;     /* [modelfs] write_unit: store objects are written
				  in pieces ending at its multiples (pagecache.h),
				  a power of two from 64K to 2M, default 2M */
	unsigned connections;  /* [modelfs] connections, 1-16, default 4 */
	uint64_t parallel_min; /* [modelfs] parallel_min, bytes, default 64M */
	struct mfs_source *sources;
	size_t nsources;
	struct mfs_model *models;
	size_t nmodels;
	struct mfs_archive *archives;
	size_t narchives;
	struct mfs_signature *signatures;
	size_t nsignatures;
	struct mfs_folder *folders;
	size_t nfolders;
	bool prefetch;         /* [modelfs] prefetch, default no: folders' default */
	bool lock_files;       /* [modelfs] lock_files, default yes: see fuse_adapter.h */
	bool passthrough;      /* [modelfs] passthrough, default yes: see passthrough.h */
};

/* The URLs model or archive url `url` of `src` is fetched from, in order:
 * url itself (i = 0), then the same path under each mirror.  Returns the
 * number of URLs; with i below it, *out gets URL i (malloc'd, the
 * caller's; NULL if out of memory). */
size_t mfs_source_url(const struct mfs_source *src, const char *url, size_t i, char **out);

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

#endif
