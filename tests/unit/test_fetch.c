/* Unit tests for fetch: real HTTP over loopback against a scripted
 * in-process server, one response per connection. */
#include "fetch.h"
#include "httpd.h"
#include "unit.h"

struct sink {
	unsigned char *buf;
	size_t cap, len;
	int calls;
	int fail_rc;  /* returned from the first call when non-zero */
	int progress_calls;
	uint64_t progress_done, progress_total;
};

static int sink_write(void *arg, const void *buf, size_t len)
{
	struct sink *k = arg;

	k->calls++;
	if (k->fail_rc)
		return k->fail_rc;
	if (k->len > k->cap || len > k->cap - k->len) {
		/* Past the cap: record the count, the bytes do not matter. */
		k->len += len;
		return 0;
	}
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	return 0;
}

static void sink_progress(void *arg, uint64_t done, uint64_t total)
{
	struct sink *k = arg;

	k->progress_calls++;
	k->progress_done = done;
	k->progress_total = total;
}

static bool sink_has_pattern(const struct sink *k, size_t len)
{
	if (k->len != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (k->buf[i] != pattern(i))
			return false;
	}
	return true;
}

/* A request for `path` on `s` with test defaults. */
static void req_init(struct mfs_fetch_req *req, struct sink *k, char *url, size_t urllen,
		     const struct server *s, const char *host, const char *path, uint64_t size)
{
	memset(k, 0, sizeof(*k));
	k->cap = size + 1;
	k->buf = malloc(k->cap);
	snprintf(url, urllen, "http://%s:%d%s", host, s->port, path);
	*req = (struct mfs_fetch_req){
		.url = url,
		.allow_http = true,
		.size = size,
		.connect_timeout = 5,
		.low_speed_limit = 1,
		.low_speed_time = 10,
		.sink = sink_write,
		.progress = sink_progress,
		.arg = k,
	};
}

/* Runs one fetch, then stops the server so its results can be read. */
static int run(struct server *s, struct mfs_fetch_req *req, char *err, size_t errlen)
{
	int rc = mfs_fetch(req, NULL, err, errlen);

	server_stop(s);
	return rc;
}

static void test_exact_body(void)
{
	const size_t size = (3u << 20) + 123;
	struct resp r = { .status = 200, .body_len = size, .content_length = CL_HONEST,
			  .piece = 256 * 1024, .piece_ms = 1 };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/m.bin", size);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK(sink_has_pattern(&k, size));
	CHECK(k.progress_calls >= 2);
	CHECK_EQ_INT(k.progress_done, size);
	CHECK_EQ_INT(k.progress_total, size);
	CHECK_EQ_INT(s.accepted, 1);
	CHECK_CONTAINS(s.head[0], "GET /m.bin HTTP/1.1\r\n");
	CHECK_CONTAINS(s.head[0], "User-Agent: modelfs/0.1\r\n");
	CHECK(!strcasestr(s.head[0], "Accept-Encoding"));
	free(k.buf);
}

static void test_empty_body(void)
{
	struct resp r = { .status = 200, .body = "", .content_length = CL_HONEST };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/empty", 0);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), 0);
	CHECK_EQ_INT(k.len, 0);
	free(k.buf);
}

static void check_status(int status, long cl)
{
	struct resp r = { .status = status, .body_len = 5000, .content_length = cl };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256], want[32];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/x", 100);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -EPROTO);
	snprintf(want, sizeof(want), "HTTP %d", status);
	CHECK_CONTAINS(err, want);
	CHECK_EQ_INT(k.calls, 0);
	CHECK_EQ_INT(k.progress_calls, 0);
	free(k.buf);
}

static void test_http_errors(void)
{
	check_status(404, CL_HONEST);
	check_status(500, CL_NONE);
	check_status(403, 0);
	/* A redirect status without a Location is an error too. */
	check_status(302, CL_HONEST);
}

/* An S3 error names its code (and nothing else of the body); a body that
 * only looks like one, or is too long to keep, gives the bare status. */
static void check_error_code(const char *body, const char *want)
{
	struct resp r = { .status = 403, .body = body, .body_len = strlen(body),
			  .content_length = CL_HONEST };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/s3", 1000);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -EPROTO);
	CHECK_STR(err, want);
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

static void test_s3_error_code(void)
{
	static char big[3000];

	check_error_code("<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
			 "<Message>The request signature we calculated does not match"
			 "</Message><StringToSign>secret-ish</StringToSign></Error>",
			 "HTTP 403 (SignatureDoesNotMatch)");
	check_error_code("<Error><Code>Access Denied; rm -rf</Code></Error>", "HTTP 403");
	check_error_code("<Error><Code>NoEnd", "HTTP 403");
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big + 2000, "<Code>Late</Code>", 17);
	check_error_code(big, "HTTP 403");
}

static void check_too_big(long cl, size_t piece)
{
	struct resp r = { .status = 200, .body_len = 5000, .content_length = cl,
			  .piece = piece, .piece_ms = piece ? 30 : 0 };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/big", 1000);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "body larger than 1000 bytes");
	CHECK(k.len <= 1000);
	CHECK(sink_has_pattern(&k, k.len));
	if (cl != CL_NONE)
		CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

static void test_too_big_honest_length(void)
{
	check_too_big(CL_HONEST, 0);
	check_too_big(CL_HONEST, 600);
}

static void test_too_big_no_length(void)
{
	/* Pieces of 600 and 300: the sink gets some bytes, never the 1001st. */
	check_too_big(CL_NONE, 600);
	check_too_big(CL_NONE, 300);
	check_too_big(CL_NONE, 0);
}

static void test_length_lies_larger(void)
{
	/* Claims more than size: refused before the body. */
	check_too_big(2000, 0);
}

static void check_empty_gets_body(long cl)
{
	struct resp r = { .status = 200, .body = "x", .content_length = cl };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/empty", 0);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "body larger than 0 bytes");
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

static void test_too_big_for_empty(void)
{
	/* curl reads a zero size limit as none: only our own count stops it. */
	check_empty_gets_body(CL_HONEST);
	check_empty_gets_body(CL_NONE);
}

/* A body that ends short: a complete response (its Content-Length all
 * there) is the wrong file; one cut, or of no stated length, is worth
 * another try (transient). */
static void check_short(long cl, size_t body_len, uint64_t size, const char *want,
			bool transient)
{
	struct resp r = { .status = 200, .body_len = body_len, .content_length = cl };
	struct mfs_fetch_info info;
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/short", size);
	CHECK_EQ_INT(mfs_fetch(&req, &info, err, sizeof(err)), -EPROTO);
	server_stop(&s);
	CHECK_STR(err, want);
	CHECK_EQ_INT(info.transient, transient);
	CHECK_EQ_INT(info.got, k.len);
	CHECK(k.len < size);
	CHECK(sink_has_pattern(&k, k.len));
	free(k.buf);
}

static void test_short_body(void)
{
	check_short(CL_HONEST, 600, 1000, "body shorter than expected: got 600 of 1000 bytes",
		    false);
	check_short(CL_NONE, 600, 1000, "body cut short: got 600 of 1000 bytes", true);
}

static void test_size_as_upper_bound(void)
{
	struct resp r = { .status = 200, .body_len = 600, .content_length = CL_NONE };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];
	struct mfs_fetch_info info;

	/* A body shorter than a mere bound is whole ... */
	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/bound", 1000);
	req.size_is_max = true;
	CHECK_EQ_INT(mfs_fetch(&req, &info, err, sizeof(err)), 0);
	server_stop(&s);
	CHECK_EQ_INT(info.got, 600);
	CHECK_EQ_INT(k.len, 600);
	free(k.buf);
	/* ... one past it is still refused, with or without a length. */
	r.body_len = 1001;
	for (int cl = 0; cl < 2; cl++) {
		r.content_length = cl ? CL_HONEST : CL_NONE;
		if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
		req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/bound", 1000);
		req.size_is_max = true;
		CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -EFBIG);
		CHECK(k.len <= 1000);
		free(k.buf);
	}
}

static void test_length_lies(void)
{
	/* Says 500, sends 1000: curl stops at 500. */
	check_short(500, 1000, 1000, "body shorter than expected: got 500 of 1000 bytes", false);
	/* Says 1000 (= size), sends 600 and closes: cut. */
	check_short(1000, 600, 1000, "body cut short: got 600 of 1000 bytes", true);
}

static void test_stall_times_out(void)
{
	struct resp r = { .status = 200, .body_len = 1 << 20, .content_length = CL_HONEST,
			  .stall_after = 1000 };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	struct timespec t0;
	char url[128], err[256];
	long ms;

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/stall", 1 << 20);
	req.low_speed_limit = 1000;
	req.low_speed_time = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(mfs_fetch(&req, NULL, err, sizeof(err)), -ETIMEDOUT);
	ms = ms_since(&t0);
	server_stop(&s);
	CHECK(ms < 10000);
	CHECK_CONTAINS(err, "curl: ");
	CHECK_EQ_INT(k.len, 1000);
	free(k.buf);
}

static void test_connection_refused(void)
{
	/* Bound but not listening: the kernel refuses every connection. */
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct mfs_fetch_req req;
	struct server s = { 0 };
	struct sink k;
	struct timespec t0;
	char url[128], err[256];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		CHECK(!"socket");
		if (fd >= 0)
			close(fd);
		return;
	}
	s.port = ntohs(a.sin_port);
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/", 10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(mfs_fetch(&req, NULL, err, sizeof(err)), -EIO);
	CHECK(ms_since(&t0) < 5000);
	CHECK_CONTAINS(err, "curl: ");
	CHECK_EQ_INT(k.calls, 0);
	close(fd);
	free(k.buf);
}

static void test_http_refused_without_allow_http(void)
{
	struct resp r = { .status = 200, .body = "hello", .content_length = CL_HONEST };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];
	int rc;

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/", 5);
	req.allow_http = false;
	rc = run(&s, &req, err, sizeof(err));
	CHECK(rc == -EIO || rc == -EPERM);
	CHECK_CONTAINS(err, "http");
	CHECK_EQ_INT(s.accepted, 0);
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

/* `n` redirects (each with a body that must not reach the sink), then a
 * 200 with "model!".  `host` names the redirect target. */
static int redirect_chain(struct server *s, int n, const char *host, bool relative,
			  char loc[][128])
{
	struct resp r[MAX_CONNS] = { 0 };

	if (server_init(s) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (relative)
			snprintf(loc[i], 128, "Location: /hop%d\r\n", i + 1);
		else
			snprintf(loc[i], 128, "Location: http://%s:%d/hop%d\r\n",
				 host, s->port, i + 1);
		r[i] = (struct resp){ .status = i % 2 ? 301 : 302, .headers = loc[i],
				      .body = "<html>moved, a page longer than the model</html>",
				      .content_length = i % 3 ? CL_HONEST : CL_NONE };
	}
	r[n] = (struct resp){ .status = 200, .body = "model!", .content_length = CL_HONEST };
	memcpy(s->resp, r, sizeof(r));
	s->nresp = n + 1;
	return server_start(s);
}

static int fetch_chain(int n, const char *from, const char *to, bool relative,
		       const char *const *hosts, int max, struct sink *k,
		       struct server *s, char *err, size_t errlen)
{
	char loc[MAX_CONNS][128], url[128];
	struct mfs_fetch_req req;

	if (redirect_chain(s, n, to, relative, loc) < 0)
		return 1;
	req_init(&req, k, url, sizeof(url), s, from, "/start", 6);
	req.redirect_hosts = hosts;
	req.max_redirects = max;
	return run(s, &req, err, errlen);
}

static void test_redirect_same_host(void)
{
	struct server s;
	struct sink k;
	char err[256];

	CHECK_EQ_INT(fetch_chain(1, "127.0.0.1", "127.0.0.1", false, NULL, 0, &k, &s,
				 err, sizeof(err)), 0);
	CHECK_EQ_INT(s.accepted, 2);
	CHECK_CONTAINS(s.head[1], "GET /hop1 HTTP/1.1\r\n");
	CHECK_EQ_INT(k.len, 6);
	CHECK(memcmp(k.buf, "model!", 6) == 0);
	free(k.buf);

	CHECK_EQ_INT(fetch_chain(2, "127.0.0.1", NULL, true, NULL, 0, &k, &s,
				 err, sizeof(err)), 0);
	CHECK_EQ_INT(s.accepted, 3);
	CHECK_CONTAINS(s.head[2], "GET /hop2 HTTP/1.1\r\n");
	CHECK_EQ_INT(k.len, 6);
	free(k.buf);
}

static void test_redirect_other_host_refused(void)
{
	static const char *const hosts[] = { "example.com", NULL };
	struct server s;
	struct sink k;
	char err[256], want[128];

	CHECK_EQ_INT(fetch_chain(1, "127.0.0.1", "localhost", false, hosts, 0, &k, &s,
				 err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "redirect to http://localhost:%d/hop1 refused: "
		 "host or port not allowed", s.port);
	CHECK_STR(err, want);
	CHECK_EQ_INT(s.accepted, 1);
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

/* A redirect from http://127.0.0.1:<port>/start to http://<host>:<port +
 * delta>/x with `hosts`; the fetch's result. */
static int one_redirect(const char *host, int delta, const char *const *hosts,
			struct server *s, struct sink *k, char *err, size_t errlen)
{
	char loc[160], url[128];
	struct mfs_fetch_req req;

	if (server_init(s) < 0)
		return 1;
	snprintf(loc, sizeof(loc), "Location: http://%s:%d/x\r\n", host, s->port + delta);
	s->resp[0] = (struct resp){ .status = 302, .headers = loc, .content_length = CL_HONEST };
	s->resp[1] = (struct resp){ .status = 200, .body = "model!", .content_length = CL_HONEST };
	s->nresp = 2;
	if (server_start(s) < 0)
		return 1;
	req_init(&req, k, url, sizeof(url), s, "127.0.0.1", "/start", 6);
	req.redirect_hosts = hosts;
	return run(s, &req, err, errlen);
}

/* redirect_hosts entries name a host and a port: "host" is the port the
 * redirect's scheme implies (80 here), "host:port" that port. */
static void test_redirect_listed_host(void)
{
	const char *hosts[] = { "example.com", "LocalHost", NULL, NULL };
	char entry[64], err[256];
	struct server s;
	struct sink k;

	CHECK_EQ_INT(one_redirect("localhost", 0, hosts, &s, &k, err, sizeof(err)), -EPERM);
	CHECK_CONTAINS(err, "host or port not allowed");
	CHECK_EQ_INT(s.accepted, 1);
	free(k.buf);

	/* With the port, once the server has one. */
	hosts[1] = entry;
	{
		char loc[160], url[128];
		struct mfs_fetch_req req;

		CHECK_EQ_INT(server_init(&s), 0);
		snprintf(entry, sizeof(entry), "LocalHost:%d", s.port);
		snprintf(loc, sizeof(loc), "Location: http://localhost:%d/hop1\r\n", s.port);
		s.resp[0] = (struct resp){ .status = 302, .headers = loc,
					   .content_length = CL_HONEST };
		s.resp[1] = (struct resp){ .status = 200, .body = "model!",
					   .content_length = CL_HONEST };
		s.nresp = 2;
		CHECK_EQ_INT(server_start(&s), 0);
		req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/start", 6);
		req.redirect_hosts = hosts;
		CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), 0);
		CHECK_EQ_INT(s.accepted, 2);
		CHECK_EQ_INT(k.len, 6);
		free(k.buf);
	}
}

/* The same host on another port is another service: refused. */
static void test_redirect_other_port_refused(void)
{
	char err[256];
	struct server s;
	struct sink k;

	CHECK_EQ_INT(one_redirect("127.0.0.1", 1, NULL, &s, &k, err, sizeof(err)), -EPERM);
	CHECK_CONTAINS(err, "host or port not allowed");
	CHECK_EQ_INT(s.accepted, 1);
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

static void test_redirect_scheme_refused(void)
{
	char loc[128], url[128], err[256], want[160];
	struct resp r = { .status = 307, .headers = loc, .body = "", .content_length = CL_HONEST };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;

	if (server_init(&s) < 0) { CHECK(!"server"); return; }
	snprintf(loc, sizeof(loc), "Location: ftp://127.0.0.1:%d/m\r\n", s.port);
	s.resp[0] = r;
	s.nresp = 1;
	if (server_start(&s) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/", 6);
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "redirect to ftp://127.0.0.1:%d/m refused: "
		 "scheme not allowed", s.port);
	CHECK_STR(err, want);
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);
}

static void test_redirect_limit(void)
{
	struct server s;
	struct sink k;
	char err[256];

	CHECK_EQ_INT(fetch_chain(5, "127.0.0.1", "127.0.0.1", false, NULL, 0, &k, &s,
				 err, sizeof(err)), 0);
	CHECK_EQ_INT(s.accepted, 6);
	CHECK_EQ_INT(k.len, 6);
	free(k.buf);

	CHECK_EQ_INT(fetch_chain(6, "127.0.0.1", "127.0.0.1", false, NULL, 0, &k, &s,
				 err, sizeof(err)), -EPERM);
	CHECK_STR(err, "too many redirects (max 5)");
	CHECK_EQ_INT(s.accepted, 6);
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);

	CHECK_EQ_INT(fetch_chain(2, "127.0.0.1", "127.0.0.1", false, NULL, 1, &k, &s,
				 err, sizeof(err)), -EPERM);
	CHECK_STR(err, "too many redirects (max 1)");
	CHECK_EQ_INT(s.accepted, 2);
	free(k.buf);
}

/* When a mismatch may be a proxy's cached copy (acquire retries once with
 * no-cache). */
static void test_proxied(void)
{
	static const char *const vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
					    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
					    "HTTP_PROXY" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	CHECK(!mfs_fetch_proxied(NULL, "https://a/x"));
	CHECK(!mfs_fetch_proxied("", "https://a/x"));
	CHECK(mfs_fetch_proxied("http://p:3128/", "https://a/x"));
	setenv("http_proxy", "http://p:3128", 1);
	CHECK(mfs_fetch_proxied(NULL, "http://a/x"));
	CHECK(!mfs_fetch_proxied(NULL, "https://a/x"));  /* http_proxy is for http:// */
	CHECK(!mfs_fetch_proxied("", "http://a/x"));      /* proxy = none */
	unsetenv("http_proxy");
	setenv("HTTP_PROXY", "http://p:3128", 1);         /* libcurl ignores it */
	CHECK(!mfs_fetch_proxied(NULL, "http://a/x"));
	unsetenv("HTTP_PROXY");
	setenv("HTTPS_PROXY", "http://p:3128", 1);
	CHECK(mfs_fetch_proxied(NULL, "HTTPS://a/x"));
	setenv("no_proxy", "*", 1);
	CHECK(!mfs_fetch_proxied(NULL, "https://a/x"));
	setenv("no_proxy", "other.example", 1);           /* errs towards yes */
	CHECK(mfs_fetch_proxied(NULL, "https://a/x"));
	unsetenv("no_proxy");
	unsetenv("HTTPS_PROXY");
	setenv("all_proxy", "http://p:3128", 1);
	CHECK(mfs_fetch_proxied(NULL, "http://a/x") && mfs_fetch_proxied(NULL, "https://a/x"));
	unsetenv("all_proxy");
	setenv("https_proxy", "", 1);                     /* empty: unset */
	CHECK(!mfs_fetch_proxied(NULL, "https://a/x"));
	unsetenv("https_proxy");
}

/* A part of a parallel download: Range bytes=A-B, and the 206 must be for
 * exactly those bytes of a file of the expected size. */
static int run_part(const struct resp *r, uint64_t off, uint64_t end, char *err, size_t errlen,
		    struct sink *k, char *head, size_t headlen)
{
	struct server s;
	struct mfs_fetch_req req;
	char url[128];
	int rc;

	if (start(&s, r, 1) < 0) { CHECK(!"server"); return -999; }
	req_init(&req, k, url, sizeof(url), &s, "127.0.0.1", "/part", 10000);
	req.offset = off;
	req.range_end = end;
	req.if_range = "\"v1\"";
	rc = run(&s, &req, err, errlen);
	snprintf(head, headlen, "%s", s.head[0]);
	return rc;
}

static void test_range_part(void)
{
	struct resp ok = { .status = 206, .body_len = 3000, .body_off = 2000,
			   .content_length = CL_HONEST,
			   .headers = "Content-Range: bytes 2000-4999/10000\r\n" };
	struct resp wrong_end = ok, wrong_total = ok, star = ok, whole = { .status = 200,
		.body_len = 10000, .content_length = CL_HONEST }, short_part = ok;
	struct sink k;
	char err[256], head[HEAD_MAX];

	CHECK_EQ_INT(run_part(&ok, 2000, 5000, err, sizeof(err), &k, head, sizeof(head)), 0);
	CHECK(strstr(head, "Range: bytes=2000-4999\r\n") != NULL);
	CHECK(strstr(head, "If-Range: \"v1\"\r\n") != NULL);
	CHECK_EQ_INT(k.len, 3000);
	free(k.buf);

	/* from byte 0 too (the first part) */
	ok.body_off = 0;
	ok.headers = "Content-Range: bytes 0-2999/10000\r\n";
	CHECK_EQ_INT(run_part(&ok, 0, 3000, err, sizeof(err), &k, head, sizeof(head)), 0);
	CHECK(strstr(head, "Range: bytes=0-2999\r\n") != NULL);
	free(k.buf);

	wrong_end.headers = "Content-Range: bytes 2000-5999/10000\r\n";
	CHECK_EQ_INT(run_part(&wrong_end, 2000, 5000, err, sizeof(err), &k, head,
			      sizeof(head)), -EPROTO);
	CHECK_STR(err, "HTTP 206 not for bytes 2000-4999 (bytes 2000-5999/10000)");
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);

	wrong_total.headers = "Content-Range: bytes 2000-4999/20000\r\n";
	CHECK_EQ_INT(run_part(&wrong_total, 2000, 5000, err, sizeof(err), &k, head,
			      sizeof(head)), -EPROTO);
	CHECK_STR(err, "HTTP 206 of a file of another size (bytes 2000-4999/20000)");
	free(k.buf);

	/* no "/length" at all: refused, not read past (a crash, once) */
	wrong_total.headers = "Content-Range: bytes 2000-4999\r\n";
	CHECK_EQ_INT(run_part(&wrong_total, 2000, 5000, err, sizeof(err), &k, head, sizeof(head)),
		     -EPROTO);
	CHECK_STR(err, "HTTP 206 of a file of another size (bytes 2000-4999)");
	free(k.buf);

	star.headers = "Content-Range: bytes 2000-4999/*\r\n";
	CHECK_EQ_INT(run_part(&star, 2000, 5000, err, sizeof(err), &k, head, sizeof(head)), 0);
	free(k.buf);

	CHECK_EQ_INT(run_part(&whole, 2000, 5000, err, sizeof(err), &k, head, sizeof(head)),
		     -EPROTO);
	CHECK_STR(err, "HTTP 200 to a range request: ranges not honoured");
	CHECK_EQ_INT(k.calls, 0);
	free(k.buf);

	short_part.cut_after = 1000;
	CHECK_EQ_INT(run_part(&short_part, 2000, 5000, err, sizeof(err), &k, head,
			      sizeof(head)), -EPROTO);
	CHECK(strstr(err, "got 3000 of 5000 bytes") != NULL);
	free(k.buf);
}

static void test_sink_error(void)
{
	struct resp r = { .status = 200, .body_len = 4000, .content_length = CL_HONEST,
			  .piece = 1000, .piece_ms = 20 };
	struct server s;
	struct sink k;
	struct mfs_fetch_req req;
	char url[128], err[256];

	if (start(&s, &r, 1) < 0) { CHECK(!"server"); return; }
	req_init(&req, &k, url, sizeof(url), &s, "127.0.0.1", "/", 4000);
	k.fail_rc = -ENOSPC;
	CHECK_EQ_INT(run(&s, &req, err, sizeof(err)), -ENOSPC);
	CHECK_CONTAINS(err, "No space left on device");
	CHECK_EQ_INT(k.calls, 1);
	free(k.buf);
}

int main(void)
{
	if (mfs_fetch_global_init() < 0)
		return 1;
	RUN(test_exact_body);
	RUN(test_empty_body);
	RUN(test_http_errors);
	RUN(test_s3_error_code);
	RUN(test_too_big_honest_length);
	RUN(test_too_big_no_length);
	RUN(test_length_lies_larger);
	RUN(test_too_big_for_empty);
	RUN(test_short_body);
	RUN(test_size_as_upper_bound);
	RUN(test_length_lies);
	RUN(test_stall_times_out);
	RUN(test_connection_refused);
	RUN(test_http_refused_without_allow_http);
	RUN(test_redirect_same_host);
	RUN(test_redirect_other_host_refused);
	RUN(test_redirect_listed_host);
	RUN(test_redirect_other_port_refused);
	RUN(test_redirect_scheme_refused);
	RUN(test_redirect_limit);
	RUN(test_sink_error);
	RUN(test_range_part);
	RUN(test_proxied);
	mfs_fetch_global_cleanup();
	return unit_done();
}
