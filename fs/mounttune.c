/* mounttune — see include/mounttune.h. */
#include "mounttune.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo; undo it in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int mfs_mount_find_bdi(const char *mountinfo, const char *mountpoint, char *bdi, size_t len)
{
	FILE *f = fopen(mountinfo, "re");
	char *line = NULL, found[64] = "";
	size_t cap = 0;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ..." */
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *dev, *mnt;

		if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save))
			continue;
		dev = strtok_r(NULL, " ", &save);
		if (!dev || !strtok_r(NULL, " ", &save) || !(mnt = strtok_r(NULL, " ", &save)))
			continue;
		unescape(mnt);
		if (strcmp(mnt, mountpoint) == 0 && strlen(dev) < sizeof(found)) {
			strcpy(found, dev);
			rc = 0;
		}
	}
	free(line);
	fclose(f);
	if (rc == 0 && snprintf(bdi, len, "%s", found) >= (int)len)
		rc = -ENAMETOOLONG;
	return rc;
}

int mfs_mount_set_readahead(const char *mountpoint, unsigned kb)
{
	char bdi[64], path[128], val[16];
	int fd, n, rc;

	rc = mfs_mount_find_bdi("/proc/self/mountinfo", mountpoint, bdi, sizeof(bdi));
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", bdi);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(val, sizeof(val), "%u\n", kb);
	rc = write(fd, val, (size_t)n) == n ? 0 : -errno;
	close(fd);
	return rc;
}
