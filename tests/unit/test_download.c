/* Unit tests for fs/download.c: real HTTP over loopback (httpd.h); the
 * file holds exactly the body, the digests are the body's, whatever the
 * fd (a file, or none); transfer, write and stop errors come back and are
 * explained. */
#include "backoff.h"
#include "download.h"
#include "httpd.h"
#include "unit.h"

#include <fcntl.h>

static void want_sha256(size_t len, struct mfs_digests *d)
{
	unsigned char *b = malloc(len ? len : 1);
	struct mfs_hasher *h;

	for (size_t i = 0; i < len; i++)
		b[i] = pattern(i);
	CHECK_EQ_INT(mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h), 0);
	CHECK_EQ_INT(mfs_hasher_update(h, b, len), 0);
	CHECK_EQ_INT(mfs_hasher_final(h, d), 0);
	mfs_hasher_free(h);
	free(b);
}

static void dl_init(struct mfs_download *d, char *url, size_t urllen, const struct server *s,
		    uint64_t size, int fd)
{
	snprintf(url, urllen, "http://127.0.0.1:%d/m.bin", s->port);
	*d = (struct mfs_download){
		.get = {
			.url = url, .allow_http = true, .size = size, .connect_timeout = 5,
			.low_speed_limit = 1, .low_speed_time = 10,
		},
		.fd = fd,
		.mask = MFS_ALGO_BIT(MFS_SHA256),
	};
}

static bool file_has_pattern(int fd, size_t len)
{
	unsigned char *b = malloc(len + 1);
	bool same = pread(fd, b, len + 1, 0) == (ssize_t)len;

	for (size_t i = 0; same && i < len; i++)
		same = b[i] == pattern(i);
	free(b);
	return same;
}

static void test_body_to_file_and_hasher(void)
{
	const size_t size = (5u << 20) + 77;
	struct resp r = { .status = 200, .body_len = size, .content_length = CL_HONEST,
			  .piece = 100000 };
	struct mfs_download_result got;
	struct mfs_download d;
	struct mfs_digests want;
	struct server s;
	char url[64], err[256];
	int fd;

	unit_tmp_make("download");
	fd = open(unit_at("f"), O_RDWR | O_CREAT, 0600);
	CHECK_EQ_INT(start(&s, &r, 1), 0);
	dl_init(&d, url, sizeof(url), &s, size, fd);
	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), 0);
	server_stop(&s);
	CHECK_EQ_INT(got.bytes, size);
	want_sha256(size, &want);
	CHECK(mfs_digests_match(&want, &got.digests, NULL));
	CHECK(file_has_pattern(fd, size));
	close(fd);
	unit_tmp_remove();
}

/* pin's plain file: hashed, written nowhere. */
static void test_hash_only(void)
{
	const size_t size = 3000000;
	struct resp r = { .status = 200, .body_len = size, .content_length = CL_HONEST };
	struct mfs_download_result got;
	struct mfs_download d;
	struct mfs_digests want;
	struct server s;
	char url[64], err[256];

	CHECK_EQ_INT(start(&s, &r, 1), 0);
	dl_init(&d, url, sizeof(url), &s, size, -1);
	d.mask |= MFS_ALGO_BIT(MFS_SHA1);
	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), 0);
	server_stop(&s);
	CHECK_EQ_INT(got.bytes, size);
	CHECK_EQ_INT(got.digests.mask, MFS_ALGO_BIT(MFS_SHA1) | MFS_ALGO_BIT(MFS_SHA256));
	want_sha256(size, &want);
	CHECK(mfs_digests_match(&want, &got.digests, NULL));
}

static void test_http_error_passes_through(void)
{
	struct resp r = { .status = 404, .body = "nope", .content_length = CL_HONEST };
	struct mfs_download_result got;
	struct mfs_download d;
	struct server s;
	char url[64], err[256];

	CHECK_EQ_INT(start(&s, &r, 1), 0);
	dl_init(&d, url, sizeof(url), &s, 100, -1);
	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), -EPROTO);
	server_stop(&s);
	CHECK_CONTAINS(err, "HTTP 404");
}

/* A file that cannot be written (read-only fd): the transfer stops. */
static void test_write_error(void)
{
	const size_t size = 4u << 20;
	struct resp r = { .status = 200, .body_len = size, .content_length = CL_HONEST };
	struct mfs_download_result got;
	struct mfs_download d;
	struct server s;
	char url[64], err[256];
	int fd, rc;

	unit_tmp_make("download");
	fd = open(unit_at("ro"), O_RDONLY | O_CREAT, 0600);
	CHECK_EQ_INT(start(&s, &r, 1), 0);
	dl_init(&d, url, sizeof(url), &s, size, fd);
	rc = mfs_download_run(&d, &got, err, sizeof(err));
	server_stop(&s);
	CHECK_EQ_INT(rc, -EBADF);
	CHECK_CONTAINS(err, "Bad file descriptor");
	close(fd);
	unit_tmp_remove();
}

static void test_cancelled_before(void)
{
	struct resp r = { .status = 200, .body_len = 1u << 20, .content_length = CL_HONEST };
	struct mfs_download_result got;
	struct mfs_download d;
	struct mfs_cancel c;
	struct server s;
	char url[64], err[256];

	mfs_cancel_init(&c);
	mfs_cancel_fire(&c);
	CHECK_EQ_INT(start(&s, &r, 1), 0);
	dl_init(&d, url, sizeof(url), &s, 1u << 20, -1);
	d.get.cancel = &c;
	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), -ECANCELED);
	CHECK_CONTAINS(err, "cancelled");
	CHECK_EQ_INT(got.bytes, 0);
	server_stop(&s);
	mfs_cancel_release(&c);
}

static void *fire_later(void *arg)
{
	usleep(300 * 1000);
	mfs_cancel_fire(arg);
	return NULL;
}

/* A peer that stalls mid-body: without the cancel the transfer would end
 * at the low-speed limit (-ETIMEDOUT); the cancel wakes it at once. */
static void test_cancel_wakes_a_stalled_transfer(void)
{
	struct resp r = { .status = 200, .body_len = 1u << 20, .content_length = CL_HONEST,
			  .piece = 65536, .stall_after = 131072 };
	struct mfs_download_result got;
	struct mfs_download d;
	struct mfs_cancel c;
	struct server s;
	pthread_t t;
	char url[64], err[256];

	mfs_cancel_init(&c);
	CHECK_EQ_INT(start(&s, &r, 1), 0);
	dl_init(&d, url, sizeof(url), &s, 1u << 20, -1);
	d.get.low_speed_limit = 1000;
	d.get.low_speed_time = 8;
	d.get.cancel = &c;
	pthread_create(&t, NULL, fire_later, &c);
	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), -ECANCELED);
	CHECK_EQ_INT(got.bytes, 131072);
	pthread_join(t, NULL);
	server_stop(&s);
	/* Every socket was unwatched on close. */
	CHECK_EQ_INT(c.nfds, 0);
	mfs_cancel_release(&c);
}

static void test_nothing_to_do(void)
{
	struct mfs_download_result got;
	struct mfs_download d = { .get = { .url = "http://127.0.0.1:1/x", .size = 1 }, .fd = -1 };
	char err[256];

	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), -EINVAL);
}

/* What the retry hook saw. */
struct retries {
	int n;
	struct mfs_download_retry last;
	char error[256];
};

static void on_retry(void *arg, const struct mfs_download_retry *r)
{
	struct retries *t = arg;

	t->n++;
	t->last = *r;
	snprintf(t->error, sizeof(t->error), "%s", r->error);
}

/* The hook of a run that is stopped at its first retry's wait. */
static struct mfs_cancel stop_at_retry;

static void on_retry_stop(void *arg, const struct mfs_download_retry *r)
{
	on_retry(arg, r);
	mfs_cancel_fire(&stop_at_retry);
}

/* Runs `d` (with retries and the hook) against `n` scripted responses
 * into a fresh file; checks the file and digest when it succeeds. */
static int run_with(const struct resp *r, int n, unsigned retries, size_t size, bool stop,
		    struct mfs_download_result *got, struct retries *t, struct server *s,
		    char *err, size_t errlen)
{
	struct mfs_download d;
	struct mfs_digests want;
	char url[64];
	int fd, rc;

	memset(t, 0, sizeof(*t));
	fd = open(unit_at("f"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (start(s, r, n) < 0 || fd < 0)
		return 1;
	dl_init(&d, url, sizeof(url), s, size, fd);
	d.retries = retries;
	d.base_delay_ms = 10;
	d.retrying = stop ? on_retry_stop : on_retry;
	d.retrying_arg = t;
	if (stop) {
		mfs_cancel_init(&stop_at_retry);
		d.get.cancel = &stop_at_retry;
	}
	rc = mfs_download_run(&d, got, err, errlen);
	if (stop)
		mfs_cancel_release(&stop_at_retry);
	server_stop(s);
	if (rc == 0) {
		want_sha256(size, &want);
		CHECK(file_has_pattern(fd, size));
		CHECK(memcmp(got->digests.d[MFS_SHA256], want.d[MFS_SHA256], 32) == 0);
		CHECK_EQ_INT(got->bytes, size);
	}
	close(fd);
	return rc;
}

static int run_tries(const struct resp *r, int n, unsigned retries, size_t size,
		     struct mfs_download_result *got, struct retries *t, struct server *s,
		     char *err, size_t errlen)
{
	return run_with(r, n, retries, size, false, got, t, s, err, errlen);
}

static int run_tries_stopping(const struct resp *r, int n, size_t size,
			      struct mfs_download_result *got, struct retries *t,
			      struct server *s, char *err, size_t errlen)
{
	return run_with(r, n, 2, size, true, got, t, s, err, errlen);
}

/* 503, 503, then the body: three tries, two audited retries, waits
 * doubling from the base (with jitter: half of it random). */
static void test_retries_transient(void)
{
	const size_t size = 5000;
	struct resp r[3] = {
		{ .status = 503, .body = "busy", .content_length = CL_HONEST },
		{ .status = 503, .body = "busy", .content_length = CL_HONEST },
		{ .status = 200, .body_len = size, .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct retries t;
	struct server s;
	char err[256];

	unit_tmp_make("download");
	CHECK_EQ_INT(run_tries(r, 3, 2, size, &got, &t, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(got.attempts, 3);
	CHECK_EQ_INT(t.n, 2);
	CHECK_STR(t.error, "HTTP 503");
	CHECK_EQ_INT(t.last.attempt, 2);
	CHECK(t.last.delay_ms >= 10 && t.last.delay_ms <= 20);
	CHECK_EQ_INT(t.last.resume_from, 0);
	/* One retry too few: the third 503... */
	r[2] = r[1];
	CHECK_EQ_INT(run_tries(r, 3, 2, size, &got, &t, &s, err, sizeof(err)), -EPROTO);
	CHECK_EQ_INT(got.attempts, 3);
	CHECK_STR(err, "HTTP 503");
	unit_tmp_remove();
}

/* 404 is not worth another try; nor is a body too long. */
static void test_no_retry_when_final(void)
{
	const size_t size = 100;
	struct resp r[2] = {
		{ .status = 404, .body = "no", .content_length = CL_HONEST },
		{ .status = 200, .body_len = size, .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct retries t;
	struct server s;
	char err[256];

	unit_tmp_make("download");
	CHECK_EQ_INT(run_tries(r, 2, 3, size, &got, &t, &s, err, sizeof(err)), -EPROTO);
	CHECK_EQ_INT(got.attempts, 1);
	CHECK_EQ_INT(t.n, 0);
	CHECK_EQ_INT(s.accepted, 1);
	r[0] = (struct resp){ .status = 200, .body_len = size + 1, .content_length = CL_HONEST };
	CHECK_EQ_INT(run_tries(r, 2, 3, size, &got, &t, &s, err, sizeof(err)), -EFBIG);
	CHECK_EQ_INT(got.attempts, 1);
	unit_tmp_remove();
}

/* Retry-After (seconds) is the wait, up to the cap. */
static void test_retry_after(void)
{
	const size_t size = 10;
	struct resp r[2] = {
		{ .status = 429, .headers = "Retry-After: 1\r\n", .body = "slow down",
		  .content_length = CL_HONEST },
		{ .status = 200, .body_len = size, .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct retries t;
	struct server s;
	struct timespec t0;
	char err[256];

	unit_tmp_make("download");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(run_tries(r, 2, 2, size, &got, &t, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(t.n, 1);
	CHECK_EQ_INT(t.last.delay_ms, 1000);
	CHECK(ms_since(&t0) >= 1000);
	/* An hour is capped at 8 s; the stop during the wait ends it at once. */
	r[0].headers = "Retry-After: 3600\r\n";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(run_tries_stopping(r, 2, size, &got, &t, &s, err, sizeof(err)), -ECANCELED);
	CHECK_EQ_INT(t.last.delay_ms, MFS_BACKOFF_MAX_MS);
	CHECK(ms_since(&t0) < 2000);
	CHECK_STR(err, "cancelled");
	unit_tmp_remove();
}

/* A body cut after 3000 of 10000 bytes, with a validator: the next try
 * asks for the rest (Range, If-Range) and the file and hash continue. */
static void test_resume_after_cut(void)
{
	const size_t size = 10000, cut = 3000;
	char cr[96];
	struct resp r[2] = {
		{ .status = 200, .headers = "ETag: \"v1\"\r\n", .body_len = size,
		  .content_length = CL_HONEST, .cut_after = cut },
		{ .status = 206, .headers = cr, .body_len = size - cut, .body_off = cut,
		  .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct retries t;
	struct server s;
	char err[256];

	snprintf(cr, sizeof(cr), "ETag: \"v1\"\r\nContent-Range: bytes %zu-%zu/%zu\r\n", cut,
		 size - 1, size);
	unit_tmp_make("download");
	CHECK_EQ_INT(run_tries(r, 2, 2, size, &got, &t, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(got.attempts, 2);
	CHECK_EQ_INT(got.resumed_from, cut);
	CHECK_EQ_INT(t.last.resume_from, cut);
	CHECK_CONTAINS(t.error, "cut short");
	CHECK_CONTAINS(s.head[1], "Range: bytes=3000-\r\n");
	CHECK_CONTAINS(s.head[1], "If-Range: \"v1\"\r\n");
	unit_tmp_remove();
}

/* The server ignores the range (200, the whole body): the file and the
 * hash start over; without a validator nothing is asked as a range. */
static void test_resume_refused_or_impossible(void)
{
	const size_t size = 10000, cut = 3000;
	struct resp r[2] = {
		{ .status = 200, .headers = "Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n",
		  .body_len = size, .content_length = CL_HONEST, .cut_after = cut },
		{ .status = 200, .body_len = size, .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct retries t;
	struct server s;
	char err[256];

	unit_tmp_make("download");
	CHECK_EQ_INT(run_tries(r, 2, 2, size, &got, &t, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(got.resumed_from, 0);
	CHECK_EQ_INT(t.last.resume_from, cut);
	CHECK_CONTAINS(s.head[1], "Range: bytes=3000-\r\n");
	CHECK_CONTAINS(s.head[1], "If-Range: Tue, 01 Dec 2026 10:00:00 GMT\r\n");
	/* No ETag, no Last-Modified (or a weak ETag): from the start. */
	r[0].headers = "ETag: W/\"weak\"\r\n";
	CHECK_EQ_INT(run_tries(r, 2, 2, size, &got, &t, &s, err, sizeof(err)), 0);
	CHECK_EQ_INT(t.last.resume_from, 0);
	CHECK(strstr(s.head[1], "Range:") == NULL);
	unit_tmp_remove();
}

/* A 206 that does not continue where asked is refused, not spliced in. */
static void test_resume_wrong_range(void)
{
	const size_t size = 10000, cut = 3000;
	struct resp r[2] = {
		{ .status = 200, .headers = "ETag: \"v1\"\r\n", .body_len = size,
		  .content_length = CL_HONEST, .cut_after = cut },
		{ .status = 206, .headers = "Content-Range: bytes 0-6999/10000\r\n",
		  .body_len = size - cut, .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct retries t;
	struct server s;
	char err[256];

	unit_tmp_make("download");
	CHECK_EQ_INT(run_tries(r, 2, 2, size, &got, &t, &s, err, sizeof(err)), -EPROTO);
	CHECK_CONTAINS(err, "HTTP 206 not for bytes 3000- (bytes 0-6999/10000)");
	CHECK_EQ_INT(got.attempts, 2);
	unit_tmp_remove();
}

/* A trickle above the low-speed limit but below min_rate is abandoned
 * once min_rate_after has passed, and not tried again. */
static void test_min_rate(void)
{
	const size_t size = 100000;
	struct resp r[2] = {
		{ .status = 200, .body_len = size, .content_length = CL_HONEST, .piece = 200,
		  .piece_ms = 100 },
		{ .status = 200, .body_len = size, .content_length = CL_HONEST },
	};
	struct mfs_download_result got;
	struct mfs_download d;
	struct retries t = { 0 };
	struct server s;
	struct timespec t0;
	char url[64], err[256];
	int fd;

	unit_tmp_make("download");
	fd = open(unit_at("f"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK_EQ_INT(start(&s, r, 2), 0);
	dl_init(&d, url, sizeof(url), &s, size, fd);
	d.get.min_rate = 10000;       /* 2000 bytes/s arrive */
	d.get.min_rate_after = 1;
	d.retries = 2;
	d.retrying = on_retry;
	d.retrying_arg = &t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(mfs_download_run(&d, &got, err, sizeof(err)), -ETIMEDOUT);
	CHECK(ms_since(&t0) < 5000);
	server_stop(&s);
	CHECK_CONTAINS(err, "too slow");
	CHECK_CONTAINS(err, "min_rate (10000 bytes/s)");
	CHECK_EQ_INT(got.attempts, 1);
	CHECK_EQ_INT(t.n, 0);
	close(fd);
	unit_tmp_remove();
}

int main(void)
{
	if (mfs_fetch_global_init() < 0)
		return 1;
	RUN(test_body_to_file_and_hasher);
	RUN(test_hash_only);
	RUN(test_http_error_passes_through);
	RUN(test_write_error);
	RUN(test_cancelled_before);
	RUN(test_cancel_wakes_a_stalled_transfer);
	RUN(test_nothing_to_do);
	RUN(test_retries_transient);
	RUN(test_no_retry_when_final);
	RUN(test_retry_after);
	RUN(test_resume_after_cut);
	RUN(test_resume_refused_or_impossible);
	RUN(test_resume_wrong_range);
	RUN(test_min_rate);
	mfs_fetch_global_cleanup();
	return unit_done();
}
