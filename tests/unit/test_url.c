/* Unit tests for fs/url.c. */
#include "url.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>

#define BASE "https://models.example.com/zoo/"

/* Expects mfs_url_check_base(url) to pass with `want_base` and `want_host`. */
#define BASE_OK(url, http, want_base, want_host) \
	base_ok(__LINE__, url, http, want_base, want_host)
static void base_ok(int at, const char *url, bool http, const char *want_base,
		    const char *want_host)
{
	enum mfs_url_reason why = MFS_URL_BAD_PORT;
	char *base = (char *)1, *host = (char *)1;
	int rc = mfs_url_check_base(url, http, &base, &host, &why);

	if (rc != 0 || why != MFS_URL_OK || !base || !host || strcmp(base, want_base) ||
	    strcmp(host, want_host)) {
		fprintf(stderr, "  %s:%d: '%s': rc %d why %d base '%s' host '%s'\n", __FILE__, at, url,
			rc, why, rc ? "-" : base, rc ? "-" : host);
		unit_cur_failed = 1;
	}
	if (!rc) {
		free(base);
		free(host);
	}
}

/* Expects mfs_url_check_base(url) to fail with `want`, leaving no output. */
#define BASE_BAD(url, http, want) base_bad(__LINE__, url, http, want)
static void base_bad(int at, const char *url, bool http, enum mfs_url_reason want)
{
	enum mfs_url_reason why = MFS_URL_OK;
	char *base = (char *)1, *host = (char *)1;
	int rc = mfs_url_check_base(url, http, &base, &host, &why);

	if (rc != -EINVAL || why != want || base || host) {
		fprintf(stderr, "  %s:%d: '%s': rc %d why %d (%s), want -EINVAL why %d (%s)\n",
			__FILE__, at, url, rc, why, mfs_url_reason_str(why), want,
			mfs_url_reason_str(want));
		unit_cur_failed = 1;
	}
	if (!rc) {
		free(base);
		free(host);
	}
}

/* Expects mfs_url_resolve(base, url) to give `want`. */
#define RESOLVE_OK(base, http, url, want) resolve_ok(__LINE__, base, http, url, want)
static void resolve_ok(int at, const char *base, bool http, const char *url, const char *want)
{
	enum mfs_url_reason why = MFS_URL_BAD_PORT;
	char *out = (char *)1;
	int rc = mfs_url_resolve(base, http, url, &out, &why);

	if (rc != 0 || why != MFS_URL_OK || !out || strcmp(out, want)) {
		fprintf(stderr, "  %s:%d: '%s': rc %d why %d out '%s', want '%s'\n", __FILE__, at, url,
			rc, why, rc ? "-" : out, want);
		unit_cur_failed = 1;
	}
	if (!rc)
		free(out);
}

#define RESOLVE_BAD(base, http, url, want) resolve_bad(__LINE__, base, http, url, want)
static void resolve_bad(int at, const char *base, bool http, const char *url,
			enum mfs_url_reason want)
{
	enum mfs_url_reason why = MFS_URL_OK;
	char *out = (char *)1;
	int rc = mfs_url_resolve(base, http, url, &out, &why);

	if (rc != -EINVAL || why != want || out) {
		fprintf(stderr, "  %s:%d: '%s': rc %d why %d (%s), want -EINVAL why %d (%s)\n",
			__FILE__, at, url, rc, why, mfs_url_reason_str(why), want,
			mfs_url_reason_str(want));
		unit_cur_failed = 1;
	}
	if (!rc)
		free(out);
}

static void test_base_good(void)
{
	BASE_OK("https://models.example.com/zoo/", false, "https://models.example.com/zoo/",
		"models.example.com");
	/* the '/' is added once, never doubled */
	BASE_OK("https://models.example.com/zoo", false, BASE, "models.example.com");
	BASE_OK("https://models.example.com", false, "https://models.example.com/", "models.example.com");
	/* scheme and host in any case; the url keeps its spelling, the host is lowered */
	BASE_OK("HTTPS://Models.EXAMPLE.com/Zoo", false, "HTTPS://Models.EXAMPLE.com/Zoo/",
		"models.example.com");
	BASE_OK("hTtP://H.example.com/", true, "hTtP://H.example.com/", "h.example.com");
	/* IPv4 hosts and ports 1 to 65535, leading zeros too */
	BASE_OK("https://127.0.0.1:8443/m/", false, "https://127.0.0.1:8443/m/", "127.0.0.1");
	BASE_OK("https://h:1/", false, "https://h:1/", "h");
	BASE_OK("https://h:65535/", false, "https://h:65535/", "h");
	BASE_OK("https://h:00443/", false, "https://h:00443/", "h");
	/* '@' and ':' after the host belong to the path */
	BASE_OK("https://h/a@b:c/", false, "https://h/a@b:c/", "h");
	/* bytes above 0x7f are not control characters */
	BASE_OK("https://h/\xc3\xbc/", false, "https://h/\xc3\xbc/", "h");
}

static void test_base_bad(void)
{
	char host[300];

	BASE_BAD("http://models.example.com/", false, MFS_URL_HTTP);
	BASE_BAD("HTTP://models.example.com/", false, MFS_URL_HTTP);
	BASE_BAD("ftp://models.example.com/", true, MFS_URL_SCHEME);
	BASE_BAD("models.example.com/zoo/", false, MFS_URL_SCHEME);
	BASE_BAD("https:/models.example.com/", false, MFS_URL_SCHEME);
	BASE_BAD("", false, MFS_URL_SCHEME);
	BASE_BAD("https://user@models.example.com/", false, MFS_URL_USERINFO);
	BASE_BAD("https://user:pw@models.example.com/", false, MFS_URL_USERINFO);
	BASE_BAD("https://@models.example.com/", false, MFS_URL_USERINFO);
	BASE_BAD("https://", false, MFS_URL_NO_HOST);
	BASE_BAD("https:///zoo/", false, MFS_URL_NO_HOST);
	BASE_BAD("https://:443/", false, MFS_URL_NO_HOST);
	BASE_BAD("https://mo_dels.example.com/", false, MFS_URL_BAD_HOST);
	BASE_BAD("https://[::1]:443/", false, MFS_URL_BAD_HOST);
	BASE_BAD("https://h\\evil/", false, MFS_URL_BAD_HOST);
	BASE_BAD("https://h:0/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h:65536/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h:99999999999999999999/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h:/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h:44x/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h:-1/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h:1:2/", false, MFS_URL_BAD_PORT);
	BASE_BAD("https://h/?q=1", false, MFS_URL_BAD_CHAR);
	BASE_BAD("https://h/#x", false, MFS_URL_BAD_CHAR);
	BASE_BAD("https://h/a b/", false, MFS_URL_BAD_CHAR);
	BASE_BAD("https://h/a\tb/", false, MFS_URL_BAD_CHAR);
	BASE_BAD("https://h/a\x7f/", false, MFS_URL_BAD_CHAR);
	BASE_BAD("https://h/a\x01/", false, MFS_URL_BAD_CHAR);
	/* the characters are checked first: one reason, the same every time */
	BASE_BAD("ftp://u@h/ x", false, MFS_URL_BAD_CHAR);

	/* 253 characters of host are fine, 254 are not */
	memcpy(host, "https://", 8);
	memset(host + 8, 'a', 253);
	strcpy(host + 8 + 253, "/");
	{
		char want[300];

		snprintf(want, sizeof(want), "%.253s", host + 8);
		BASE_OK(host, false, host, want);
	}
	memset(host + 8, 'a', 254);
	strcpy(host + 8 + 254, "/");
	BASE_BAD(host, false, MFS_URL_BAD_HOST);
}

static void test_resolve_good(void)
{
	RESOLVE_OK(BASE, false, "m.bin", BASE "m.bin");
	RESOLVE_OK(BASE, false, "d/m.bin?v=1", BASE "d/m.bin?v=1");
	/* dots that are no ".." segment */
	RESOLVE_OK(BASE, false, "a..b/...", BASE "a..b/...");
	RESOLVE_OK(BASE, false, "%2e", BASE "%2e");
	RESOLVE_OK(BASE, false, "a/./b", BASE "a/./b");
	RESOLVE_OK(BASE, false, "%2e%2e%2e/x", BASE "%2e%2e%2e/x");
	/* the query is the server's business */
	RESOLVE_OK(BASE, false, "x?a/../b", BASE "x?a/../b");
	/* absolute under the base, byte for byte */
	RESOLVE_OK(BASE, false, BASE "sub/m.bin", BASE "sub/m.bin");
	RESOLVE_OK("http://h:8080/", true, "http://h:8080/n.bin", "http://h:8080/n.bin");
	RESOLVE_OK("HTTPS://H/zoo/", false, "HTTPS://H/zoo/m", "HTTPS://H/zoo/m");
	/* relative: no "://", so "host:port/x" is a path under the base */
	RESOLVE_OK(BASE, false, "evil.example.com:443/x", BASE "evil.example.com:443/x");
}

static void test_resolve_bad(void)
{
	static const char *const dotdot[] = {
		"..", "../x", "a/../x", "a/..", "a/%2E%2e/x", "%2e%2E", ".%2e/x", "%2e./x", "..?q",
		"a/..?q", BASE "../x", BASE "a/%2e%2e",
	};

	for (size_t i = 0; i < sizeof(dotdot) / sizeof(dotdot[0]); i++)
		RESOLVE_BAD(BASE, false, dotdot[i], MFS_URL_DOTDOT);
	RESOLVE_BAD(BASE, false, "/zoo/x", MFS_URL_ROOTED);
	RESOLVE_BAD(BASE, false, "//evil.example.com/x", MFS_URL_ROOTED);
	RESOLVE_BAD(BASE, false, "x#frag", MFS_URL_BAD_CHAR);
	RESOLVE_BAD(BASE, false, "a b", MFS_URL_BAD_CHAR);
	RESOLVE_BAD(BASE, false, "a\r", MFS_URL_BAD_CHAR);
	RESOLVE_BAD(BASE, false, "https://evil.example.com/zoo/x", MFS_URL_OUTSIDE);
	/* a prefix of the base's path is not under it */
	RESOLVE_BAD(BASE, false, "https://models.example.com/zoo2/x", MFS_URL_OUTSIDE);
	RESOLVE_BAD(BASE, false, "https://models.example.com/x", MFS_URL_OUTSIDE);
	/* compared byte for byte: another spelling of the host is outside */
	RESOLVE_BAD(BASE, false, "https://Models.example.com/zoo/x", MFS_URL_OUTSIDE);
	RESOLVE_BAD(BASE, false, "https://models.example.com:443/zoo/x", MFS_URL_OUTSIDE);
	/* "://" anywhere makes a url absolute */
	RESOLVE_BAD(BASE, false, "x?u=https://evil.example.com/", MFS_URL_OUTSIDE);
	RESOLVE_BAD(BASE, false, "ftp://models.example.com/zoo/x", MFS_URL_OUTSIDE);
	/* http is refused before its place is looked at */
	RESOLVE_BAD(BASE, false, "http://models.example.com/zoo/x", MFS_URL_HTTP);
	RESOLVE_BAD(BASE, false, "HTTP://models.example.com/zoo/x", MFS_URL_HTTP);
	RESOLVE_BAD(BASE, true, "http://models.example.com/zoo/x", MFS_URL_OUTSIDE);
	RESOLVE_BAD("http://h/", false, "http://h/x", MFS_URL_HTTP);
	RESOLVE_BAD(BASE, false, BASE, MFS_URL_NO_FILE);
	RESOLVE_BAD(BASE, false, "", MFS_URL_NO_FILE);
}

static void test_host(void)
{
	char *lower = NULL;

	CHECK_EQ_INT(mfs_url_check_host("CDN.Example.com", 15, &lower), 0);
	CHECK_STR(lower, "cdn.example.com");
	free(lower);
	/* only `len` bytes count */
	lower = NULL;
	CHECK_EQ_INT(mfs_url_check_host("a.b c", 3, &lower), 0);
	CHECK_STR(lower, "a.b");
	free(lower);
	CHECK_EQ_INT(mfs_url_check_host("10.0.0.1", 8, NULL), 0);
	CHECK_EQ_INT(mfs_url_check_host("x-1", 3, NULL), 0);

	lower = (char *)1;
	CHECK_EQ_INT(mfs_url_check_host("a,b", 3, &lower), -EINVAL);
	CHECK(lower == (char *)1);
	CHECK_EQ_INT(mfs_url_check_host("", 0, NULL), -EINVAL);
	CHECK_EQ_INT(mfs_url_check_host("bad/host", 8, NULL), -EINVAL);
	CHECK_EQ_INT(mfs_url_check_host("a_b", 3, NULL), -EINVAL);
	CHECK_EQ_INT(mfs_url_check_host("h:443", 5, NULL), -EINVAL);
	CHECK_EQ_INT(mfs_url_check_host("[::1]", 5, NULL), -EINVAL);
	CHECK_EQ_INT(mfs_url_check_host("u@h", 3, NULL), -EINVAL);
	CHECK_EQ_INT(mfs_url_check_host("\xc3\xbc", 2, NULL), -EINVAL);
}

static void test_reason_str(void)
{
	for (int r = MFS_URL_OK; r <= MFS_URL_NO_FILE; r++) {
		const char *s = mfs_url_reason_str((enum mfs_url_reason)r);

		CHECK(s != NULL && *s);
	}
	CHECK_STR(mfs_url_reason_str(MFS_URL_NO_HOST), "has no host");
}

static void test_escape_path(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "config.json", "config.json" },
		{ "sub/model-00001_of~2.bin", "sub/model-00001_of~2.bin" },
		{ "a+b c%.json", "a%2Bb%20c%25.json" },
		{ "?#&=", "%3F%23%26%3D" },
		{ "\xc3\xa9", "%C3%A9" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = mfs_url_escape_path(cases[i].in);

		CHECK_STR(got, cases[i].out);
		free(got);
	}
}

int main(void)
{
	RUN(test_base_good);
	RUN(test_base_bad);
	RUN(test_resolve_good);
	RUN(test_resolve_bad);
	RUN(test_host);
	RUN(test_reason_str);
	RUN(test_escape_path);
	return unit_done();
}
