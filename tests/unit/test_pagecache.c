/* Unit tests for fs/pagecache.c: the room to the next 2 MiB unit (or a
 * smaller write_unit), and
 * whether a model fits in half of MemAvailable. */
#include <stdio.h>

#include "pagecache.h"
#include "unit.h"

#define U MFS_PAGECACHE_UNIT

static void test_room(void)
{
	CHECK_EQ_INT(U, 2 << 20);
	CHECK_EQ_INT(mfs_pagecache_room(0, 0), U);
	CHECK_EQ_INT(mfs_pagecache_room(1, 0), U - 1);
	CHECK_EQ_INT(mfs_pagecache_room((off_t)U - 1, 0), 1);
	CHECK_EQ_INT(mfs_pagecache_room((off_t)U, 0), U);
	CHECK_EQ_INT(mfs_pagecache_room((off_t)(5 * U + 3), 0), U - 3);
	CHECK_EQ_INT(mfs_pagecache_room(-5, 0), U);
	/* write_unit: a smaller power of two; more than 2 MiB is 2 MiB */
	CHECK_EQ_INT(mfs_pagecache_room(0, 64 << 10), 64 << 10);
	CHECK_EQ_INT(mfs_pagecache_room((off_t)(3 << 16) + 5, 64 << 10), (64 << 10) - 5);
	CHECK_EQ_INT(mfs_pagecache_room(1, (size_t)4 << 20), U - 1);
}

static void meminfo(const char *text)
{
	FILE *f = fopen(unit_at("meminfo"), "w");

	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void test_fits(void)
{
	unit_tmp_make("pagecache");
	meminfo("MemTotal:       24683520 kB\nMemFree:          100000 kB\n"
		"MemAvailable:       2000 kB\nBuffers:            1000 kB\n");
	CHECK(mfs_pagecache_fits(unit_at("meminfo"), 0));
	CHECK(mfs_pagecache_fits(unit_at("meminfo"), 1000 * 1024));
	CHECK(!mfs_pagecache_fits(unit_at("meminfo"), 1001 * 1024));
	meminfo("MemTotal:       24683520 kB\nMemFree:          100000 kB\n");
	CHECK(!mfs_pagecache_fits(unit_at("meminfo"), 0));
	meminfo("");
	CHECK(!mfs_pagecache_fits(unit_at("meminfo"), 0));
	CHECK(!mfs_pagecache_fits(unit_at("absent"), 0));
	unit_tmp_remove();
	CHECK(mfs_pagecache_fits("/proc/meminfo", 4096));
}

int main(void)
{
	RUN(test_room);
	RUN(test_fits);
	return unit_done();
}
