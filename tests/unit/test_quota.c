/* Unit tests for fs/quota.c over a real store: no bound, room made by
 * evicting the least recently used free objects, busy ones never, nothing
 * evicted when the room cannot be made, reservations counted. */
#include "quota.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct seen {
	const char *busy;        /* this object is busy */
	char evicted[8][64];
	uint64_t bytes;
	uint64_t was_bytes;      /* the sizes of the inodes handed to evicted */
	int n;
};

static bool busy(void *arg, const char *object)
{
	struct seen *s = arg;

	return s->busy && strcmp(object, s->busy) == 0;
}

static void evicted(void *arg, const char *object, uint64_t bytes, const struct stat *was)
{
	struct seen *s = arg;

	s->was_bytes += (uint64_t)was->st_size;
	if (s->n < 8)
		snprintf(s->evicted[s->n], sizeof(s->evicted[0]), "%s", object);
	s->n++;
	s->bytes += bytes;
}

static void put(struct mfs_store *st, const char *name, size_t size, time_t t)
{
	struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
	int fd = openat(st->objects_fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0444);

	CHECK(fd >= 0);
	CHECK_EQ_INT(ftruncate(fd, (off_t)size), 0);
	CHECK_EQ_INT(futimens(fd, ts), 0);
	close(fd);
}

static bool there(struct mfs_store *st, const char *name)
{
	return faccessat(st->objects_fd, name, F_OK, 0) == 0;
}

static void test_unbounded(void)
{
	struct mfs_store st;
	struct mfs_quota q;
	struct seen s = { 0 };
	struct mfs_quota_hooks h = { busy, evicted, &s };
	char why[256];

	unit_tmp_make("quota");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("s")), 0);
	put(&st, "sha256-a", 1000, 1000);
	mfs_quota_init(&q, &st, 0);
	CHECK_EQ_INT(mfs_quota_reserve(&q, UINT64_MAX / 2, &h, why, sizeof(why)), 0);
	CHECK_EQ_INT(s.n, 0);
	mfs_quota_unreserve(&q, UINT64_MAX / 2);
	mfs_quota_release(&q);
	mfs_store_release(&st);
	unit_tmp_remove();
}

static void test_evicts_oldest_free(void)
{
	struct mfs_store st;
	struct mfs_quota q;
	struct seen s = { .busy = "sha256-a" };
	struct mfs_quota_hooks h = { busy, evicted, &s };
	char why[256] = "";

	unit_tmp_make("quota");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("s")), 0);
	put(&st, "sha256-a", 400, 1000);   /* oldest, but busy */
	put(&st, "sha256-b", 300, 2000);
	put(&st, "sha256-c", 200, 3000);
	mfs_quota_init(&q, &st, 1000);
	/* 900 used: 100 more fit without evicting. */
	CHECK_EQ_INT(mfs_quota_reserve(&q, 100, &h, why, sizeof(why)), 0);
	CHECK_EQ_INT(s.n, 0);
	/* 100 reserved: 250 more need 250 freed: b (300), the oldest free. */
	CHECK_EQ_INT(mfs_quota_reserve(&q, 250, &h, why, sizeof(why)), 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_STR(s.evicted[0], "sha256-b");
	CHECK_EQ_INT(s.bytes, 300);
	CHECK_EQ_INT(s.was_bytes, 300);
	CHECK(there(&st, "sha256-a") && !there(&st, "sha256-b") && there(&st, "sha256-c"));
	/* 600 used, 350 reserved: 300 more cannot fit with a busy: c is all
	 * that could go (200 < 250 needed): refused, nothing evicted. */
	CHECK_EQ_INT(mfs_quota_reserve(&q, 300, &h, why, sizeof(why)), -ENOSPC);
	CHECK_CONTAINS(why, "do not fit in store_max (1000)");
	CHECK_EQ_INT(s.n, 1);
	CHECK(there(&st, "sha256-c"));
	/* Larger than the bound itself: refused at once. */
	CHECK_EQ_INT(mfs_quota_reserve(&q, 1001, &h, why, sizeof(why)), -ENOSPC);
	CHECK_CONTAINS(why, "1001 bytes do not fit in store_max (1000)");
	CHECK_EQ_INT(s.n, 1);
	/* The reservations end: c and then a (no longer busy) may go. */
	mfs_quota_unreserve(&q, 350);
	s.busy = NULL;
	CHECK_EQ_INT(mfs_quota_reserve(&q, 900, &h, why, sizeof(why)), 0);
	CHECK_EQ_INT(s.n, 3);
	CHECK_STR(s.evicted[1], "sha256-a");
	CHECK_STR(s.evicted[2], "sha256-c");
	mfs_quota_unreserve(&q, 900);
	mfs_quota_release(&q);
	mfs_store_release(&st);
	unit_tmp_remove();
}

int main(void)
{
	RUN(test_unbounded);
	RUN(test_evicts_oldest_free);
	return unit_done();
}
