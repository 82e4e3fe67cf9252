/* Unit tests for fs/download.c: real HTTP over loopback (httpd.h); the
 * file holds exactly the body, the digests are the body's, whatever the
 * fd (a file, or none); transfer, write and stop errors come back and are
 * explained. */
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
	mfs_fetch_global_cleanup();
	return unit_done();
}
