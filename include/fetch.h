/* fetch — one bounded HTTPS GET, streamed to a sink.  The only module that
 * includes curl.h.
 *
 * Bounds: protocols https (plus http only if allowed) for the request and
 * every redirect; at most `max_redirects` redirects, each only to the
 * URL's own host and port or one listed in `redirect_hosts`; connect
 * timeout; abort below low_speed_limit bytes/s for low_speed_time s, and
 * below an average of min_rate bytes/s once min_rate_after s have passed
 * (a trickle that the low-speed check lets through); the body is aborted
 * as soon as it passes `size` and fails if it ends short of it.
 *
 * One try: retrying, resuming and other URLs are the caller's
 * (download.h); what it needs for them is in struct mfs_fetch_info. */
#ifndef MFS_FETCH_H
#define MFS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"

/* Receives the body in order.  Returns 0, or -errno to abort the transfer
 * (that errno is then returned by mfs_fetch). */
typedef int (*mfs_fetch_sink)(void *arg, const void *buf, size_t len);
/* Called now and then with bytes received so far; may be NULL. */
typedef void (*mfs_fetch_progress)(void *arg, uint64_t done, uint64_t total);

struct mfs_fetch_req {
	const char *url;
	const char *ca_file;              /* NULL: system CAs */
	bool allow_http;
	const char *const *redirect_hosts; /* NULL-terminated, may be NULL */
	uint64_t size;                    /* exact expected body size ... */
	bool size_is_max;                 /* ... or, if set, only its upper bound */
	long connect_timeout;             /* seconds */
	long low_speed_limit;             /* bytes/s */
	long low_speed_time;              /* seconds */
	int max_redirects;                /* MFS_FETCH_MAX_REDIRECTS if 0 */
	long min_rate;                    /* bytes/s on average; 0: no check */
	long min_rate_after;              /* ... checked from this many s on */
	/* Resume: ask for the body from byte `offset` on (Range), only if it
	 * is still what `if_range` (an ETag or Last-Modified of the response
	 * that was cut) names.  A 206 from `offset` continues it; a 200 is
	 * the whole body again: `restart(arg)` is called before its first
	 * byte reaches the sink (its error aborts).  0: the whole body. */
	uint64_t offset;
	const char *if_range;
	int (*restart)(void *arg);
	/* A part (parallel downloads): > 0 asks for bytes [offset,
	 * range_end) only, which a 206 must cover exactly (its Content-Range
	 * naming the whole file's length as `size`, or '*'); a 200 is then
	 * taken only with a `restart` (the whole body, as above), else
	 * refused: -EPROTO "ranges not honoured".  If-Range applies too. */
	uint64_t range_end;
	/* A HEAD instead of a GET (redirects followed the same way): no body;
	 * the response's Content-Length goes to info->length.  sink may be
	 * NULL. */
	bool head;
	const char *const *headers;       /* extra request headers ("Name: value"),
					     NULL-terminated; may be NULL */
	/* SigV4 signing (S3): libcurl's provider string "aws:amz:REGION:s3"
	 * and "KEY_ID:SECRET"; an optional session token is sent as
	 * x-amz-security-token.  NULL: unsigned. */
	const char *aws_sigv4;
	const char *aws_userpwd;
	const char *aws_token;
	const char *proxy;                /* NULL: the environment's (https_proxy,
					     http_proxy, all_proxy, no_proxy, as
					     libcurl reads them); "": none; else
					     the proxy's URL */
	struct mfs_cancel *cancel;        /* may be NULL; once fired, the transfer
					     ends at once with -ECANCELED, even
					     one waiting on a silent peer */
	mfs_fetch_sink sink;
	mfs_fetch_progress progress;
	void *arg;                        /* for sink and progress */
};

#define MFS_FETCH_MAX_REDIRECTS 5

/* What one try came to, beyond its result. */
struct mfs_fetch_info {
	uint64_t got;          /* body bytes given to the sink by this try */
	uint64_t start;        /* where they start in the body: `offset` for a
				  206, else 0 */
	long status;           /* the final HTTP status; 0: none */
	/* Worth another try on the same URL: a connect failure or timeout, a
	 * stall or a reset mid-body (low-speed abort, cut connection), HTTP
	 * 5xx, 408 or 429.  Not: other statuses, a body too long, a refused
	 * redirect, TLS verification, a trickle below min_rate, the sink's
	 * error, a cancel. */
	bool transient;
	long retry_after;      /* seconds the server asked to wait (Retry-After,
				  delta-seconds or a date); -1: none */
	int64_t length;        /* a HEAD's Content-Length; -1: none */
	char validator[192];   /* the response's strong ETag, else its
				  Last-Modified: what a resume must name; "" */
};

/* Whether a GET of `url` with proxy setting `proxy` (as in the request)
 * may go through a proxy: a proxy URL is set, or it is NULL and one of
 * the environment's proxy variables for url's scheme (or all_proxy) is
 * set, and no_proxy is not "*".  Errs towards yes: a no_proxy list that
 * names the host is not looked at. */
bool mfs_fetch_proxied(const char *proxy, const char *url);

/* Once per process, before any thread starts.  -EIO if libcurl fails. */
int mfs_fetch_global_init(void);
void mfs_fetch_global_cleanup(void);

/* Performs the GET.  Returns 0 when the body, from info->start on, went
 * to the sink up to exactly `size` bytes in all (at most `size` with
 * size_is_max).  `info` (may be NULL) says what came of it either way.
 * On failure returns a negative errno and writes a one-line reason to
 * `err` (e.g. "HTTP 404", "body larger than 123 bytes", "redirect to
 * http://x refused", curl's message):
 *   -EFBIG     body longer than size
 *   -EPROTO    body shorter than size (or the range), an HTTP error status,
 *              a 206 that is not for the range asked or of a file of
 *              another size, a 200 to a part without a restart
 *   -EPERM     a redirect to a disallowed scheme or host, or too many
 *   -ECANCELED `cancel` fired
 *   -ETIMEDOUT connect timeout, low-speed abort, or below min_rate
 *   -EIO       anything else (TLS, DNS, connection refused, ...)
 *   or the sink's (or restart's) own error.
 * Thread-safe: each call uses its own curl handle. */
int mfs_fetch(const struct mfs_fetch_req *req, struct mfs_fetch_info *info, char *err,
	      size_t errlen);

#endif
