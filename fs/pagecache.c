/* pagecache — see include/pagecache.h. */
#include "pagecache.h"

#include <inttypes.h>
#include <stdio.h>

size_t mfs_pagecache_room(off_t at, size_t unit)
{
	if (unit == 0 || unit > MFS_PAGECACHE_UNIT)
		unit = MFS_PAGECACHE_UNIT;
	if (at < 0)
		at = 0;
	return unit - (size_t)((unsigned long long)at % unit);
}

bool mfs_pagecache_fits(const char *meminfo, uint64_t bytes)
{
	FILE *f = fopen(meminfo, "re");
	char line[128];
	uint64_t kb;
	bool fits = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1) {
			fits = bytes / 1024 <= kb / 2;
			break;
		}
	}
	fclose(f);
	return fits;
}
