/* pin — "modelfsctl pin": pins a model that publishes no digest.  Downloads
 * one URL once through the daemon's own download path (download.h),
 * hashing it as it streams in, and for a zip walks the archive the way
 * the daemon does (unpack.h), hashing every member; then formats a
 * ready-to-paste [model] section.  It changes nothing: no store, no audit
 * log.  A zip body is kept only in an unlinked temporary file (O_TMPFILE
 * in $TMPDIR, else /var/tmp) for the walk; a plain file is hashed without
 * being written anywhere.
 *
 * The digests are whatever the server sent at that moment: the output says
 * so, and the operator is to review it before trusting it. */
#ifndef MFS_PIN_H
#define MFS_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "digest.h"
#include "fetch.h"

#define MFS_PIN_DEFAULT_MAX_SIZE (64ULL << 30) /* bytes */
#define MFS_PIN_MAX_ENTRIES 100000             /* archive entries walked */
#define MFS_PIN_MAX_LINE 199                   /* inih cuts longer lines */
/* config.c allows 48 characters between the brackets: "model " + id. */
#define MFS_PIN_MAX_ID 42
#define MFS_PIN_NO_SOURCE "CHANGEME"

struct mfs_pin_opts {
	const char *url;           /* absolute URL to download */
	const char *path;          /* mount path the section declares */
	const char *source;        /* [source] name; NULL: MFS_PIN_NO_SOURCE */
	const char *ca_file;       /* NULL: the system CAs */
	const char *proxy;         /* as in struct mfs_fetch_req: NULL: the
				      environment's; "": none */
	bool allow_http;
	bool sha1;                 /* also pin SHA-1 (and say allow_sha1 = yes) */
	uint64_t max_size;         /* bound on the download and on the expanded
				      bytes of a zip; 0: MFS_PIN_DEFAULT_MAX_SIZE */
	bool zip;                  /* the URL is a zip archive */
	const char *member;        /* zip: pin this one member (a file section) */
	const char *member_prefix; /* zip without member: only members under this
				      folder (ends in '/'), listed without it */
	mfs_fetch_progress progress; /* may be NULL */
	void *progress_arg;
};

/* One pinned file: an archive member, or nothing for a plain download. */
struct mfs_pin_file {
	char *name;                /* relative to member_prefix; the full member
				      name with opts.member */
	uint64_t size;
	struct mfs_digests digests; /* sha256, plus sha1 with opts.sha1 */
};

struct mfs_pin_result {
	uint64_t size;             /* bytes downloaded */
	struct mfs_digests digests; /* of the download: sha256 (+ sha1 for a
				       plain file with opts.sha1) */
	struct mfs_pin_file *files; /* zip: the members pinned, sorted by name */
	size_t nfiles;
};

/* Checks the options before anything is downloaded: url and path present
 * and safe to write into an INI value, path a valid mount path, source a
 * valid section id, member and member_prefix only with zip and not both,
 * member_prefix ending in '/'.
 * Returns 0 or -EINVAL with a one-line reason in `err`. */
int mfs_pin_check_opts(const struct mfs_pin_opts *o, char *err, size_t errlen);

/* Derives a section id from the last component of `path`: every character
 * outside [A-Za-z0-9._-] becomes '_', and it is cut to MFS_PIN_MAX_ID
 * characters (cut ends of '.', '_' or '-' trimmed).  Writes it NUL-
 * terminated to `out`.  Returns 0, or -EINVAL if nothing usable is left
 * (an empty path) or `len` is below MFS_PIN_MAX_ID + 1. */
int mfs_pin_section_id(const char *path, char *out, size_t len);

/* The name under which archive member `member` is listed in a directory
 * section: `member` without `prefix` (NULL or "" for none).  Returns 0
 * and *rel pointing into `member`, -ENOENT if `member` does not start
 * with `prefix`, -EINVAL if nothing is left after it. */
int mfs_pin_member_name(const char *member, const char *prefix, const char **rel);

/* True if `v` can be written as an INI value and read back unchanged:
 * non-empty, no control characters, no leading or trailing blank, no ';'
 * or '#' after a blank (an inline comment).  With `no_space`, no blank at
 * all (for the words of a "file =" line). */
bool mfs_pin_ini_safe(const char *v, bool no_space);

/* A config section being built; every line is checked as it is added
 * (at most MFS_PIN_MAX_LINE characters).  Start zeroed with err/errlen
 * set; after the first failure rc < 0 (-E2BIG, -EINVAL, -ENOMEM; the
 * reason in err, naming `what`) and further lines are ignored. */
struct mfs_pin_text {
	char *s;
	size_t len, cap;
	int rc;
	char *err;
	size_t errlen;
};

void mfs_pin_text_add(struct mfs_pin_text *t, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats the config section for `o` and `r`, stamped with `when` (UTC).
 * Every line, comments included, is checked against MFS_PIN_MAX_LINE.
 * Returns 0 with *out a malloc'd NUL-terminated text owned by the caller,
 * or -E2BIG (a line too long, named in `err`), -EINVAL (a member name that
 * cannot be written into the config safely), -ENOMEM. */
int mfs_pin_format(const struct mfs_pin_opts *o, const struct mfs_pin_result *r, time_t when,
		   char **out, char *err, size_t errlen);

/* Downloads and hashes as described at the top.  Needs
 * mfs_fetch_global_init().  On success returns 0 and fills *r (release
 * with mfs_pin_result_release).  On failure *r is empty, a one-line reason
 * is in `err`, and the return is mfs_download_run's error,
 * mfs_unpack_run's error (-EINVAL: not a zip), -ENOENT (opts.member is not
 * in the archive, or no member under the prefix), -EPERM (a member outside
 * member_prefix, a name unfit for the config, or, with opts.member, any
 * other file in the archive: the daemon refuses archives with members a
 * section does not list), -EPROTO (a member whose bytes differ from its
 * declared size), or -errno of the temporary file. */
int mfs_pin_run(const struct mfs_pin_opts *o, struct mfs_pin_result *r, char *err, size_t errlen);

/* Frees what mfs_pin_run put in *r and empties it. */
void mfs_pin_result_release(struct mfs_pin_result *r);

#endif
