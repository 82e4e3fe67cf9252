/* status — see include/status.h. */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <time.h>

#include "digest.h"

static const char *const names[] = { "state", "digest", "url", "fetched", "error" };

const char *mfs_status_state_name(enum mfs_model_state state)
{
	switch (state) {
	case MFS_MODEL_FETCHING: return "fetching";
	case MFS_MODEL_VERIFIED: return "verified";
	case MFS_MODEL_FAILED: return "failed";
	case MFS_MODEL_ABSENT: break;
	}
	return "absent";
}

static size_t put(char *buf, size_t len, const char *value)
{
	size_t n = strlen(value);

	if (n <= len)
		memcpy(buf, value, n);
	return n;
}

ssize_t mfs_status_get(const struct mfs_model *m, const struct mfs_sched_status *st,
		       const char *name, char *buf, size_t len)
{
	char v[512];

	if (strncmp(name, MFS_STATUS_PREFIX, sizeof(MFS_STATUS_PREFIX) - 1) != 0)
		return -ENODATA;
	name += sizeof(MFS_STATUS_PREFIX) - 1;
	if (!strcmp(name, "state")) {
		snprintf(v, sizeof(v), "%s", mfs_status_state_name(st->state));
	} else if (!strcmp(name, "digest")) {
		enum mfs_algo a = mfs_algo_strongest(m->digests.mask);

		/* (A signed model's digest is the bundle's: not pinned here.) */
		if (!m->digests.mask)
			return -ENODATA;
		char hex[2 * MFS_DIGEST_MAX + 1];

		mfs_hex_encode(m->digests.d[a], mfs_algo_len(a), hex);
		snprintf(v, sizeof(v), "%s:%s", mfs_algo_name(a), hex);
	} else if (!strcmp(name, "url")) {
		return (ssize_t)put(buf, len, m->url);
	} else if (!strcmp(name, "fetched")) {
		snprintf(v, sizeof(v), "%" PRIu64, st->state == MFS_MODEL_VERIFIED ? m->size :
			 st->state == MFS_MODEL_FETCHING ? st->fetched : 0);
	} else if (!strcmp(name, "error") && st->error[0]) {
		char until[32] = "";
		struct tm tm;

		if (st->retry_at && gmtime_r(&st->retry_at, &tm))
			strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(v, sizeof(v), "%s%s%s", st->error, until[0] ? "; backing off until " : "",
			 until);
	} else {
		return -ENODATA;
	}
	return (ssize_t)put(buf, len, v);
}

size_t mfs_status_list(const struct mfs_sched_status *st, char *buf, size_t len)
{
	size_t used = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char name[64];
		int n;

		if (!strcmp(names[i], "error") && !st->error[0])
			continue;
		n = snprintf(name, sizeof(name), "%s%s", MFS_STATUS_PREFIX, names[i]);
		if (used + (size_t)n + 1 <= len)
			memcpy(buf + used, name, (size_t)n + 1);
		used += (size_t)n + 1;
	}
	return used;
}

/* One attribute of `path` into buf (NUL-terminated, cut to fit). */
static ssize_t read_one(const char *path, const char *name, char *buf, size_t len)
{
	char full[64];
	ssize_t n;

	snprintf(full, sizeof(full), "%s%s", MFS_STATUS_PREFIX, name);
	n = getxattr(path, full, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

int mfs_status_read(const char *path, struct mfs_status_row *row)
{
	char num[32];
	ssize_t n;

	memset(row, 0, sizeof(*row));
	n = read_one(path, "state", row->state, sizeof(row->state));
	if (n < 0)
		return (int)n;
	if (read_one(path, "fetched", num, sizeof(num)) >= 0)
		row->fetched = strtoull(num, NULL, 10);
	n = read_one(path, "error", row->error, sizeof(row->error));
	if (n < 0 && n != -ENODATA)
		return (int)n;
	return 0;
}
