/* url — the rules for the URLs a config names: a source's base URL, a
 * model's URL resolved against that base, and the host names redirects
 * may go to.  String checks only: nothing here resolves a name or touches
 * the network.
 *
 * A failed check returns -EINVAL and says why in an enum mfs_url_reason,
 * for the caller to put into a message of its own (with the file, line
 * and section it knows); mfs_url_reason_str gives a plain phrase. */
#ifndef MFS_URL_H
#define MFS_URL_H

#include <stdbool.h>
#include <stddef.h>

enum mfs_url_reason {
	MFS_URL_OK = 0,
	MFS_URL_BAD_CHAR,  /* a space, control character, DEL or '#' (a base: also '?') */
	MFS_URL_SCHEME,    /* a base that is neither https:// nor http:// */
	MFS_URL_HTTP,      /* http:// without allow_http */
	MFS_URL_USERINFO,  /* "user@" before the host */
	MFS_URL_NO_HOST,
	MFS_URL_BAD_HOST,  /* not 1-253 of A-Z a-z 0-9 . - (so no IPv6 literal) */
	MFS_URL_BAD_PORT,  /* not 1-65535 in decimal */
	MFS_URL_OUTSIDE,   /* absolute, but not under the base */
	MFS_URL_ROOTED,    /* relative, but with a leading '/' */
	MFS_URL_DOTDOT,    /* a ".." segment, also spelt with %2e */
	MFS_URL_NO_FILE,   /* the base itself */
};

/* A short phrase for a reason ("has no host"); never NULL. */
const char *mfs_url_reason_str(enum mfs_url_reason why);

/* Checks a source's base URL: scheme https:// (either case; http:// only
 * with `allow_http`), no "user@", a host (see mfs_url_check_host) and an
 * optional port 1-65535, none of space, control characters, DEL, '?' or
 * '#'.  The path after the host is free.
 *
 * On success returns 0, *base gets the URL with a '/' at its end (added
 * if missing) and *host its host in lowercase; both are malloc'd and the
 * caller's.  Otherwise -EINVAL with *why set, or -ENOMEM; *base and *host
 * are then NULL. */
int mfs_url_check_base(const char *url, bool allow_http, char **base, char **host,
		       enum mfs_url_reason *why);

/* Resolves a model's URL against its source's `base` (as returned by
 * mfs_url_check_base).  An absolute `url` (one that holds "://") must
 * start with `base` byte for byte; any other is taken relative to it and
 * must not start with '/'.  Either way the part after the base must name
 * something (not be empty) and have no ".." segment before any '?', also
 * not spelt "%2e%2E" and the like; space, control characters, DEL and '#'
 * are refused anywhere, '?' is allowed.  An http:// url needs
 * `allow_http` (checked before whether it lies under the base).
 *
 * On success returns 0 and *out gets the absolute URL (malloc'd, the
 * caller's).  Otherwise -EINVAL with *why set, or -ENOMEM; *out is then
 * NULL. */
int mfs_url_resolve(const char *base, bool allow_http, const char *url, char **out,
		    enum mfs_url_reason *why);

/* Checks the `len` bytes at `host` as a host name: 1 to 253 of A-Z a-z
 * 0-9 . - (names and IPv4 addresses; no IPv6 literals, no port).  On
 * success returns 0 and, if `lower` is non-NULL, *lower gets a lowercase
 * copy (malloc'd, the caller's).  -EINVAL for a bad host, -ENOMEM. */
int mfs_url_check_host(const char *host, size_t len, char **lower);

/* A file name (a folder model's, or a signed file's) as a URL path:
 * letters, digits, "-._~" and '/' as they are, every other byte %XX.
 * malloc'd, the caller's; NULL if out of memory. */
char *mfs_url_escape_path(const char *name);

#endif
