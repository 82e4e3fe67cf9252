/* fetch — see include/fetch.h. */
#include "fetch.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"

#define USER_AGENT "modelfs/0.1"
#define RECV_BUFSIZE (512L * 1024)
#define PROGRESS_STEP (64u << 10) /* for status: fetched bytes while fetching */
#define ERRBODY_MAX 1024          /* of an error's body, for its S3 <Code> */

struct xfer {
	const struct mfs_fetch_req *req;
	CURL *curl;
	long status;     /* of the current response; 0 until its body starts */
	int rc;          /* set when a callback aborts the transfer */
	bool transient;  /* rc (or the failure) is worth another try */
	bool begun;      /* the 2xx body has started */
	bool too_slow;   /* aborted below min_rate */
	uint64_t start;  /* where the body given to the sink starts */
	uint64_t limit;  /* where it must end: the size, or a range's end */
	int64_t length;  /* a HEAD's Content-Length; -1: none */
	uint64_t total;  /* bytes given to the sink */
	uint64_t reported;
	struct timespec t0;
	char validator[sizeof(((struct mfs_fetch_info *)0)->validator)];
	char errbody[ERRBODY_MAX + 1]; /* the start of an error status's body */
	size_t errbody_len;
	char *err;
	size_t errlen;
};

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A header of the response being received, or NULL. */
static const char *header(struct xfer *x, const char *name)
{
	struct curl_header *h;

	return curl_easy_header(x->curl, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK ? h->value
										    : NULL;
}

/* At the first body byte of a 2xx: is this the body we asked for, and
 * from where?  Keeps what a resume would need to name.  0 or -errno. */
static int body_begins(struct xfer *x)
{
	const struct mfs_fetch_req *req = x->req;
	const char *v = header(x, "ETag");
	unsigned long long first;

	if (v && strncmp(v, "W/", 2) != 0)
		snprintf(x->validator, sizeof(x->validator), "%s", v);
	else if ((v = header(x, "Last-Modified")))
		snprintf(x->validator, sizeof(x->validator), "%s", v);
	if (x->status == 206) {
		unsigned long long last, total;
		const char *slash;
		char star;
		bool total_ok;

		v = header(x, "Content-Range");
		if ((!req->offset && !req->range_end) || !v ||
		    sscanf(v, "bytes %llu-%llu/", &first, &last) != 2 || first != req->offset ||
		    (req->range_end && last + 1 != req->range_end) ||
		    (!req->range_end && last + 1 != req->size && !req->size_is_max)) {
			char want[48] = "";

			if (req->range_end)
				snprintf(want, sizeof(want), "%" PRIu64, req->range_end - 1);
			mfs_seterr(x->err, x->errlen, "HTTP 206 not for bytes %" PRIu64 "-%s (%s)",
				   req->offset, want, v ? v : "no Content-Range");
			return -EPROTO;
		}
		/* The whole file's length, when it says one, is the size.  (The
		 * '/' was not checked above: a literal after the last
		 * conversion does not count in sscanf's result.) */
		slash = strchr(v, '/');
		total_ok = slash && (sscanf(slash + 1, "%llu", &total) == 1 ?
					     total == req->size || req->size_is_max :
					     sscanf(slash + 1, "%c", &star) == 1 && star == '*');
		if (!total_ok) {
			mfs_seterr(x->err, x->errlen, "HTTP 206 of a file of another size (%s)", v);
			return -EPROTO;
		}
		x->start = req->offset;
		x->limit = req->range_end ? req->range_end : req->size;
		return 0;
	}
	/* The whole body: a resume the server did not take starts over; a
	 * range request without a restart cannot use it. */
	x->start = 0;
	x->limit = req->size;
	if (req->range_end && !req->restart) {
		mfs_seterr(x->err, x->errlen, "HTTP %ld to a range request: ranges not honoured",
			   x->status);
		return -EPROTO;
	}
	if ((req->offset || req->range_end) && req->restart) {
		int rc = req->restart(req->arg);

		if (rc < 0) {
			char msg[128];

			mfs_seterr(x->err, x->errlen, "cannot start over: %s",
				   strerror_r(-rc, msg, sizeof(msg)));
			return rc;
		}
	}
	return 0;
}

static bool is_2xx(long status)
{
	return status >= 200 && status <= 299;
}

static bool is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	const struct mfs_fetch_req *req = x->req;
	size_t len = size * nmemb;
	int rc;

	if (len == 0)
		return 0;
	if (mfs_cancel_fired(req->cancel)) {
		x->rc = -ECANCELED;
		mfs_seterr(x->err, x->errlen, "cancelled");
		return CURL_WRITEFUNC_ERROR;
	}
	if (x->status == 0 &&
	    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status) != CURLE_OK) {
		x->rc = -EIO;
		mfs_seterr(x->err, x->errlen, "curl: no response code");
		return CURL_WRITEFUNC_ERROR;
	}
	/* Not the model: the status alone decides what happens next, and an
	 * unread body cannot make us wait or buffer.  The start of an error's
	 * body is kept, for the error code an S3 server puts there. */
	if (x->status >= 400 && x->errbody_len + len <= ERRBODY_MAX) {
		memcpy(x->errbody + x->errbody_len, buf, len);
		x->errbody_len += len;
		return len;
	}
	if (!is_2xx(x->status))
		return CURL_WRITEFUNC_ERROR;
	if (!x->begun) {
		x->begun = true;
		rc = body_begins(x);
		if (rc < 0) {
			x->rc = rc;
			return CURL_WRITEFUNC_ERROR;
		}
	}
	if (len > x->limit - x->start - x->total) {
		x->rc = -EFBIG;
		mfs_seterr(x->err, x->errlen, "body larger than %" PRIu64 " bytes", req->size);
		return CURL_WRITEFUNC_ERROR;
	}
	rc = req->sink(req->arg, buf, len);
	if (rc < 0) {
		char msg[128];

		x->rc = rc;
		mfs_seterr(x->err, x->errlen, "sink: %s", strerror_r(-rc, msg, sizeof(msg)));
		return CURL_WRITEFUNC_ERROR;
	}
	x->total += len;
	if (req->progress && x->total - x->reported >= PROGRESS_STEP) {
		req->progress(req->arg, x->start + x->total, req->size);
		x->reported = x->total;
	}
	return len;
}

/* Parses `location` relative to `base` the way curl follows a redirect.
 * Returns 0 with curl_free()-able parts; `base` and `scheme` may be NULL. */
static int url_split(const char *base, const char *location, char **url,
		     char **scheme, char **host)
{
	CURLU *u = curl_url();
	int rc = 0;

	*url = *host = NULL;
	if (scheme)
		*scheme = NULL;
	if (!u)
		return -ENOMEM;
	if ((base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK) ||
	    curl_url_set(u, CURLUPART_URL, location, CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
	    (scheme && curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK)) {
		curl_free(*url);
		curl_free(*host);
		*url = *host = NULL;
		rc = -EINVAL;
	}
	curl_url_cleanup(u);
	return rc;
}

/* The port `url` names, or its scheme's default; 0 if unknown. */
static long url_port(const char *url)
{
	CURLU *u = curl_url();
	char *port = NULL;
	long n = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		n = strtol(port, NULL, 10);
	curl_free(port);
	curl_url_cleanup(u);
	return n;
}

/* May a redirect go to `host`:`port`?  To the origin's own host and
 * port, or to a redirect_hosts entry: "host" (the port the redirect's
 * scheme implies) or "host:port". */
static bool host_allowed(const char *host, long port, const char *origin, long origin_port,
			 long default_port, const char *const *extra)
{
	if (strcasecmp(host, origin) == 0 && port == origin_port)
		return true;
	for (; extra && *extra; extra++) {
		const char *colon = strchr(*extra, ':');
		size_t len = colon ? (size_t)(colon - *extra) : strlen(*extra);
		long want = colon ? strtol(colon + 1, NULL, 10) : default_port;

		if (strlen(host) == len && strncasecmp(host, *extra, len) == 0 && port == want)
			return true;
	}
	return false;
}

/* Resolves a redirect of `url` to `location` and checks it against the
 * source's bounds.  Returns 0 with the next URL (curl_free()) in *next. */
static int follow(struct xfer *x, const char *url, const char *location,
		  const char *origin, char **next)
{
	char *target, *scheme, *host;
	const char *why = NULL;
	int rc;

	*next = NULL;
	rc = url_split(url, location, &target, &scheme, &host);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		why = "bad url";
	else if (strcmp(scheme, "https") != 0 &&
		 !(x->req->allow_http && strcmp(scheme, "http") == 0))
		why = "scheme not allowed";
	else if (!host_allowed(host, url_port(target), origin, url_port(url),
			       strcmp(scheme, "http") == 0 ? 80 : 443, x->req->redirect_hosts))
		why = "host or port not allowed";
	if (why) {
		mfs_seterr(x->err, x->errlen, "redirect to %s refused: %s",
		       target ? target : location, why);
		rc = -EPERM;
	} else {
		*next = target;
		target = NULL;
	}
	curl_free(target);
	curl_free(scheme);
	curl_free(host);
	return rc;
}

/* The body ended before `size`.  A response that said it was complete
 * (its Content-Length all there) is the wrong file; one cut short, or
 * that never said its length, is worth another try. */
static int short_body(struct xfer *x, bool cut)
{
	curl_off_t cl = -1;

	if (!cut && (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK ||
		     cl < 0))
		cut = true;
	x->transient = cut;
	mfs_seterr(x->err, x->errlen, "body %s: got %" PRIu64 " of %" PRIu64 " bytes",
		   cut ? "cut short" : "shorter than expected", x->start + x->total, x->limit);
	return -EPROTO;
}

static int curl_failed(struct xfer *x, CURLcode res, const char *errbuf)
{
	const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(res);

	switch (res) {
	case CURLE_FILESIZE_EXCEEDED:
		mfs_seterr(x->err, x->errlen, "body larger than %" PRIu64 " bytes",
		       x->req->size);
		return -EFBIG;
	case CURLE_PARTIAL_FILE:
		return short_body(x, true);
	case CURLE_OPERATION_TIMEDOUT:
		/* A connect timeout, or a stall (low-speed abort). */
		x->transient = true;
		mfs_seterr(x->err, x->errlen, "curl: %s", msg);
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		x->transient = true;
		mfs_seterr(x->err, x->errlen, "curl: %s", msg);
		return -EIO;
	default:
		mfs_seterr(x->err, x->errlen, "curl: %s", msg);
		return -EIO;
	}
}

/* "HTTP 403", or with the error code of an S3-style XML body,
 * "HTTP 403 (SignatureDoesNotMatch)": only that word, never the rest of
 * the body (it may echo the request). */
static void error_status(struct xfer *x)
{
	const char *code, *end;
	size_t n = 0;

	x->errbody[x->errbody_len] = '\0';
	code = strstr(x->errbody, "<Code>");
	if (code) {
		code += 6;
		end = strstr(code, "</Code>");
		while (end && code + n < end && n < 64 &&
		       (isalnum((unsigned char)code[n]) || code[n] == '.'))
			n++;
		if (!end || code + n != end)
			n = 0;
	}
	if (n)
		mfs_seterr(x->err, x->errlen, "HTTP %ld (%.*s)", x->status, (int)n, code);
	else
		mfs_seterr(x->err, x->errlen, "HTTP %ld", x->status);
}

/* One request, no following.  Returns 0 once the whole body went to the
 * sink, 1 for a redirect with its Location in *location (owned by the
 * handle, valid until its next request), or -errno. */
static int get_one(struct xfer *x, const char *url, char *errbuf, const char **location)
{
	struct curl_header *loc;
	CURLcode res;

	*location = NULL;
	x->status = 0;
	x->errbody_len = 0;
	errbuf[0] = '\0';
	res = curl_easy_setopt(x->curl, CURLOPT_URL, url);
	if (res != CURLE_OK)
		return curl_failed(x, res, errbuf);
	res = curl_easy_perform(x->curl);
	if (x->rc < 0)
		return x->rc;
	if (res != CURLE_OK && mfs_cancel_fired(x->req->cancel)) {
		mfs_seterr(x->err, x->errlen, "cancelled");
		return -ECANCELED;
	}
	if (curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status) != CURLE_OK)
		x->status = 0;
	/* After a final non-2xx status line the body does not matter: we drop
	 * it on purpose, and curl refuses one whose Content-Length passes our
	 * size (a tiny model behind a redirect page). */
	if (res != CURLE_OK && (x->status < 200 || is_2xx(x->status)))
		return curl_failed(x, res, errbuf);
	if (is_2xx(x->status) && x->req->head) {
		curl_off_t cl = -1;

		if (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK)
			cl = -1;
		x->length = (int64_t)cl;
		return 0;
	}
	if (is_2xx(x->status)) {
		/* (An empty body never reached on_body.) */
		if (!x->begun && (x->rc = body_begins(x)) < 0)
			return x->rc;
		return x->start + x->total < x->limit && !x->req->size_is_max ?
			       short_body(x, false) : 0;
	}
	if (!is_redirect(x->status)) {
		x->transient = x->status >= 500 || x->status == 408 || x->status == 429;
		error_status(x);
		return -EPROTO;
	}
	/* Not CURLINFO_REDIRECT_URL: curl sets that only when the body was
	 * read to the end, and we do not read it. */
	if (curl_easy_header(x->curl, "Location", 0, CURLH_HEADER, -1, &loc) != CURLHE_OK) {
		mfs_seterr(x->err, x->errlen, "HTTP %ld without a Location", x->status);
		return -EPROTO;
	}
	*location = loc->value;
	return 1;
}

/* The transfer's sockets are watched by its cancel, which shuts them
 * down when it fires: curl then wakes from its poll at once. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct mfs_cancel *cancel = arg;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	if (fd < 0)
		return CURL_SOCKET_BAD;
	if (mfs_cancel_watch(cancel, fd) < 0) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	return fd;
}

static int close_socket(void *arg, curl_socket_t fd)
{
	mfs_cancel_unwatch(arg, fd);
	return close(fd);
}

/* Appends one request header to *list.  CURLE_OK or CURLE_OUT_OF_MEMORY. */
static CURLcode add_header(struct curl_slist **list, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 1;
	char *line = malloc(n);
	struct curl_slist *l = NULL;

	if (line) {
		snprintf(line, n, "%s%s", name, value);
		l = curl_slist_append(*list, line);
		/* it may be a session token */
		explicit_bzero(line, n);
		free(line);
	}
	if (!l)
		return CURLE_OUT_OF_MEMORY;
	*list = l;
	return CURLE_OK;
}

/* Now and then while a transfer runs: a stop, or a trickle below
 * min_rate once it had its fair start, ends it. */
static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	struct xfer *x = arg;
	const struct mfs_fetch_req *req = x->req;
	double secs;

	if (mfs_cancel_fired(req->cancel)) {
		x->rc = -ECANCELED;
		mfs_seterr(x->err, x->errlen, "cancelled");
		return 1;
	}
	if (req->min_rate <= 0)
		return 0;
	secs = seconds_since(&x->t0);
	if (secs < (double)req->min_rate_after || (double)x->total >= (double)req->min_rate * secs)
		return 0;
	x->rc = -ETIMEDOUT;
	x->too_slow = true;
	mfs_seterr(x->err, x->errlen,
		   "too slow: %" PRIu64 " bytes in %.0f s, below min_rate (%ld bytes/s)", x->total,
		   secs, req->min_rate);
	return 1;
}

static int setup(struct xfer *x, struct curl_slist **headers, char *errbuf)
{
	const struct mfs_fetch_req *req = x->req;
	const char *protocols = req->allow_http ? "http,https" : "https";
	CURL *h = x->curl;
	CURLcode res;

	res = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (!res) res = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
	if (!res) res = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	/* Each hop is checked here against the source's hosts, which curl's
	 * own following cannot do. */
	if (!res) res = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (!res) res = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (!res) res = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req->connect_timeout);
	if (!res) res = curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, req->low_speed_limit);
	if (!res) res = curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->low_speed_time);
	if (!res) res = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->size);
	if (!res) res = curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);
	if (!res) res = curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	if (!res) res = curl_easy_setopt(h, CURLOPT_BUFFERSIZE, RECV_BUFSIZE);
	if (!res) res = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (!res) res = curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (!res) res = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
	if (!res) res = curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	if (!res) res = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	if (!res && req->ca_file)
		res = curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	if (!res && req->head)
		res = curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (!res && req->aws_sigv4) {
		res = curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		if (!res) res = curl_easy_setopt(h, CURLOPT_USERPWD, req->aws_userpwd);
		/* S3 wants the payload's hash named; a GET has none to sign.
		 * (libcurl 7.88 adds no such header itself, and signs every
		 * x-amz-* header it is given.) */
		if (!res)
			res = add_header(headers, "x-amz-content-sha256: ", "UNSIGNED-PAYLOAD");
		if (!res && req->aws_token && req->aws_token[0])
			res = add_header(headers, "x-amz-security-token: ", req->aws_token);
	}
	/* "" turns the environment's proxy off too (libcurl's rule). */
	if (!res && req->proxy)
		res = curl_easy_setopt(h, CURLOPT_PROXY, req->proxy);
	if (!res && (req->offset || req->range_end)) {
		char range[48];

		if (req->range_end)
			snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, req->offset,
				 req->range_end - 1);
		else
			snprintf(range, sizeof(range), "%" PRIu64 "-", req->offset);
		res = curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	for (const char *const *hd = req->headers; !res && hd && *hd; hd++)
		res = add_header(headers, "", *hd);
	if (!res && (req->offset || req->range_end) && req->if_range && req->if_range[0])
		res = add_header(headers, "If-Range: ", req->if_range);
	if (!res && *headers)
		res = curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
	if (!res && req->cancel) {
		res = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		if (!res) res = curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, req->cancel);
		if (!res) res = curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
		if (!res) res = curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, req->cancel);
	}
	return res ? curl_failed(x, res, errbuf) : 0;
}

/* The first of these environment variables that is set and not empty. */
static const char *env_any(const char *const *names)
{
	for (; *names; names++) {
		const char *v = getenv(*names);

		if (v && *v)
			return v;
	}
	return NULL;
}

bool mfs_fetch_proxied(const char *proxy, const char *url)
{
	/* libcurl reads http_proxy only in lowercase (HTTP_PROXY can be set
	 * by a CGI request's Proxy: header), the others in either case. */
	static const char *const http[] = { "http_proxy", "all_proxy", "ALL_PROXY", NULL };
	static const char *const https[] = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
					     NULL };
	static const char *const no[] = { "no_proxy", "NO_PROXY", NULL };
	const char *none;

	if (proxy)
		return *proxy != 0;
	if (!env_any(strncasecmp(url, "https:", 6) == 0 ? https : http))
		return false;
	none = env_any(no);
	return !none || strcmp(none, "*") != 0;
}

int mfs_fetch_global_init(void)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		mfs_err("curl_global_init failed");
		return -EIO;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (!v || !v->ssl_version || strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
		mfs_warn("libcurl TLS backend is %s, not OpenSSL",
			 v && v->ssl_version ? v->ssl_version : "missing");
	return 0;
}

void mfs_fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

/* Retry-After of the last response, in seconds (delta-seconds or an
 * HTTP date); -1 if none or unreadable. */
static long retry_after(struct xfer *x)
{
	const char *v = header(x, "Retry-After");
	char *end;
	long n;
	time_t when;

	if (!v)
		return -1;
	n = strtol(v, &end, 10);
	if (end != v && *end == '\0' && n >= 0)
		return n;
	when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	return when > time(NULL) ? (long)(when - time(NULL)) : 0;
}

int mfs_fetch(const struct mfs_fetch_req *req, struct mfs_fetch_info *info, char *err,
	      size_t errlen)
{
	struct xfer x = { .req = req, .limit = req->size, .length = -1, .err = err,
			  .errlen = errlen };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	int max = req->max_redirects ? req->max_redirects : MFS_FETCH_MAX_REDIRECTS;
	char *url, *origin;
	int rc;

	mfs_seterr(err, errlen, "%s", "");
	if (info)
		*info = (struct mfs_fetch_info){ .retry_after = -1, .length = -1 };
	if (!req->url || (!req->sink && !req->head) || req->size > INT64_MAX ||
	    req->offset > req->size ||
	    (req->range_end && (req->range_end <= req->offset || req->range_end > req->size))) {
		mfs_seterr(err, errlen, "bad fetch request");
		return -EINVAL;
	}
	rc = url_split(NULL, req->url, &url, NULL, &origin);
	if (rc < 0) {
		mfs_seterr(err, errlen, "bad url %s", req->url);
		return rc;
	}
	x.curl = curl_easy_init();
	if (!x.curl) {
		mfs_seterr(err, errlen, "curl: cannot create a handle");
		rc = -ENOMEM;
		goto out_free_url;
	}
	clock_gettime(CLOCK_MONOTONIC, &x.t0);
	rc = setup(&x, &headers, errbuf);
	if (rc < 0)
		goto out_cleanup_curl;
	for (int hops = 0;; hops++) {
		const char *location;
		char *next;

		rc = get_one(&x, url, errbuf, &location);
		if (rc <= 0)
			break;
		if (hops >= max) {
			mfs_seterr(err, errlen, "too many redirects (max %d)", max < 0 ? 0 : max);
			rc = -EPERM;
			break;
		}
		rc = follow(&x, url, location, origin, &next);
		if (rc < 0)
			break;
		curl_free(url);
		url = next;
		mfs_debug("fetch %s: redirected to %s", req->url, url);
	}
	if (rc == 0 && req->progress)
		req->progress(req->arg, x.start + x.total, req->size);
	if (info) {
		info->got = x.total;
		info->start = x.start;
		info->status = x.status;
		/* A stop, a trickle or the sink's error is never worth a retry. */
		info->transient = rc < 0 && x.transient && !x.too_slow && rc != -ECANCELED;
		info->retry_after = x.status ? retry_after(&x) : -1;
		memcpy(info->validator, x.validator, sizeof(info->validator));
		info->length = x.length;
	}
out_cleanup_curl:
	curl_easy_cleanup(x.curl);
	curl_slist_free_all(headers);
out_free_url:
	curl_free(url);
	curl_free(origin);
	return rc;
}
