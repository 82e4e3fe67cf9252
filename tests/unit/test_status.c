/* Unit tests for fs/status.c: every attribute's value in every state,
 * lengths as getxattr/listxattr report them when the buffer is short,
 * unknown names. */
#include "status.h"
#include "unit.h"

#include <errno.h>

static const char cfg_text[] =
	"[source s]\nurl = https://h.example/base/\n"
	"[model m]\nsource = s\npath = a/m.bin\nurl = m.bin\nsize = 1234\n"
	"sha1 = 0123456789012345678901234567890123456789\nallow_sha1 = yes\n"
	"sha256 = abababababababababababababababababababababababababababababababab\n";

static const char *get(const struct mfs_model *m, const struct mfs_sched_status *st,
		       const char *name)
{
	static char buf[600];
	ssize_t n = mfs_status_get(m, st, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return n == -ENODATA ? "ENODATA" : "?";
	buf[n] = '\0';
	return buf;
}

static void test_values(void)
{
	struct mfs_sched_status st = { .state = MFS_MODEL_ABSENT };
	struct mfs_config *cfg;
	const struct mfs_model *m;
	char err[256], buf[8];

	CHECK_EQ_INT(mfs_config_parse_string("s.ini", cfg_text, &cfg, err, sizeof(err)), 0);
	m = &cfg->models[0];
	CHECK_STR(get(m, &st, "user.modelfs.state"), "absent");
	CHECK_STR(get(m, &st, "user.modelfs.digest"),
		  "sha256:abababababababababababababababababababababababababababababababab");
	CHECK_STR(get(m, &st, "user.modelfs.url"), "https://h.example/base/m.bin");
	CHECK_STR(get(m, &st, "user.modelfs.fetched"), "0");
	CHECK_STR(get(m, &st, "user.modelfs.error"), "ENODATA");
	CHECK_STR(get(m, &st, "user.modelfs.nosuch"), "ENODATA");
	CHECK_STR(get(m, &st, "user.other"), "ENODATA");
	CHECK_STR(get(m, &st, "trusted.modelfs.state"), "ENODATA");
	st.state = MFS_MODEL_FETCHING;
	st.fetched = 65536;
	CHECK_STR(get(m, &st, "user.modelfs.state"), "fetching");
	CHECK_STR(get(m, &st, "user.modelfs.fetched"), "65536");
	st.state = MFS_MODEL_VERIFIED;
	CHECK_STR(get(m, &st, "user.modelfs.fetched"), "1234");
	st.state = MFS_MODEL_FAILED;
	snprintf(st.error, sizeof(st.error), "HTTP 404");
	CHECK_STR(get(m, &st, "user.modelfs.state"), "failed");
	CHECK_STR(get(m, &st, "user.modelfs.error"), "HTTP 404");
	st.retry_at = 1796534688;
	CHECK_STR(get(m, &st, "user.modelfs.error"),
		  "HTTP 404; backing off until 2026-12-06T05:24:48Z");
	/* Too short a buffer: the length, nothing written past it. */
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ_INT(mfs_status_get(m, &st, "user.modelfs.url", buf, 4), 28);
	CHECK(buf[0] == 'x');
	mfs_config_free(cfg);
}

static void test_list(void)
{
	struct mfs_sched_status st = { .state = MFS_MODEL_ABSENT };
	static const char want[] = "user.modelfs.state\0user.modelfs.digest\0user.modelfs.url\0"
				   "user.modelfs.fetched\0";
	char buf[256];

	CHECK_EQ_INT(mfs_status_list(&st, buf, sizeof(buf)), sizeof(want) - 1);
	CHECK(memcmp(buf, want, sizeof(want) - 1) == 0);
	snprintf(st.error, sizeof(st.error), "x");
	CHECK_EQ_INT(mfs_status_list(&st, buf, sizeof(buf)), sizeof(want) - 1 + 19);
	CHECK(memcmp(buf + sizeof(want) - 1, "user.modelfs.error", 19) == 0);
	CHECK_EQ_INT(mfs_status_list(&st, NULL, 0), sizeof(want) - 1 + 19);
}

int main(void)
{
	RUN(test_values);
	RUN(test_list);
	return unit_done();
}
