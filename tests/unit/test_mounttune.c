/* Unit tests for fs/mounttune.c: finding a mount's bdi in mountinfo. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "mounttune.h"
#include "unit.h"

static char path[] = "/tmp/mfs-mountinfo-XXXXXX";

static void write_info(const char *text)
{
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

static void test_finds_the_last_mount_at_a_path(void)
{
	char bdi[16];

	write_info("22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		   "90 29 0:55 / /models rw,nosuid,nodev - fuse.modelfs modelfs rw\n"
		   "95 29 0:58 / /models rw,nosuid,nodev - fuse.modelfs modelfs rw\n"
		   "96 29 0:59 / /models/sub rw - tmpfs tmpfs rw\n");
	CHECK_EQ_INT(mfs_mount_find_bdi(path, "/models", bdi, sizeof(bdi)), 0);
	CHECK_STR(bdi, "0:58");
	CHECK_EQ_INT(mfs_mount_find_bdi(path, "/model", bdi, sizeof(bdi)), -ENOENT);
	CHECK_EQ_INT(mfs_mount_find_bdi(path, "/models", bdi, 3), -ENAMETOOLONG);
	unlink(path);
	strcpy(path, "/tmp/mfs-mountinfo-XXXXXX");
}

static void test_escaped_mountpoints(void)
{
	char bdi[16];

	write_info("90 29 0:61 / /srv/my\\040models\\134x rw - fuse.modelfs modelfs rw\n"
		   "91 29 0:62 / /short rw\n"
		   "garbage\n");
	CHECK_EQ_INT(mfs_mount_find_bdi(path, "/srv/my models\\x", bdi, sizeof(bdi)), 0);
	CHECK_STR(bdi, "0:61");
	CHECK_EQ_INT(mfs_mount_find_bdi(path, "/short", bdi, sizeof(bdi)), 0);
	CHECK_STR(bdi, "0:62");
	unlink(path);
	strcpy(path, "/tmp/mfs-mountinfo-XXXXXX");
}

static void test_unreadable(void)
{
	char bdi[16];

	CHECK_EQ_INT(mfs_mount_find_bdi("/nonexistent/mountinfo", "/", bdi, sizeof(bdi)), -ENOENT);
	/* The real file: / is always mounted. */
	CHECK_EQ_INT(mfs_mount_find_bdi("/proc/self/mountinfo", "/", bdi, sizeof(bdi)), 0);
}

int main(void)
{
	RUN(test_finds_the_last_mount_at_a_path);
	RUN(test_escaped_mountpoints);
	RUN(test_unreadable);
	return unit_done();
}
