/* fetch — one bounded HTTPS GET, streamed to a sink.  The only module that
 * includes curl.h.
 *
 * Bounds: protocols https (plus http only if allowed) for the request and
 * every redirect; at most `max_redirects` redirects, each only to the
 * source's host or one listed in `redirect_hosts`; connect timeout;
 * abort below low_speed_limit bytes/s for low_speed_time s; the body is
 * aborted as soon as it passes `size` and fails if it ends short of it. */
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
	struct mfs_cancel *cancel;        /* may be NULL; once fired, the transfer
					     ends at once with -ECANCELED, even
					     one waiting on a silent peer */
	mfs_fetch_sink sink;
	mfs_fetch_progress progress;
	void *arg;                        /* for sink and progress */
};

#define MFS_FETCH_MAX_REDIRECTS 5

/* Once per process, before any thread starts.  -EIO if libcurl fails. */
int mfs_fetch_global_init(void);
void mfs_fetch_global_cleanup(void);

/* Performs the GET.  Returns 0 when exactly `size` bytes (at most `size`
 * with size_is_max) of a 2xx body went to the sink; `*got`, if non-NULL,
 * gets the number of body bytes.  On failure returns a negative errno and writes a one-line
 * reason to `err` (e.g. "HTTP 404", "body larger than 123 bytes",
 * "redirect to http://x refused", curl's message):
 *   -EFBIG     body longer than size
 *   -EPROTO    body shorter than size, or an HTTP error status
 *   -EPERM     a redirect to a disallowed scheme or host, or too many
 *   -ECANCELED `cancel` fired
 *   -ETIMEDOUT connect timeout or low-speed abort
 *   -EIO       anything else (TLS, DNS, connection refused, ...)
 *   or the sink's own error.
 * Thread-safe: each call uses its own curl handle. */
int mfs_fetch(const struct mfs_fetch_req *req, uint64_t *got, char *err, size_t errlen);

#endif
