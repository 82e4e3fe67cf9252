/* unit.h — the tiny harness every tests/unit/test_*.c uses.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_EQ_INT(rc, 0); }
 *   int main(void) { RUN(test_something); return unit_done(); }
 *
 * Prints "ok - name" / "not ok - name" per test and a closing
 * "N passed, N failed" line; exits 1 if any failed or none ran. */
#ifndef MFS_UNIT_H
#define MFS_UNIT_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int unit_passed, unit_failed, unit_cur_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		unit_cur_failed = 1; \
	} \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long unit_a_ = (long long)(a), unit_b_ = (long long)(b); \
	if (unit_a_ != unit_b_) { \
		fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, #a, unit_a_, #b, unit_b_); \
		unit_cur_failed = 1; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *unit_a_ = (a), *unit_b_ = (b); \
	if (!unit_a_ || !unit_b_ || strcmp(unit_a_, unit_b_) != 0) { \
		fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", \
			__FILE__, __LINE__, #a, unit_a_ ? unit_a_ : "(null)", \
			unit_b_ ? unit_b_ : "(null)"); \
		unit_cur_failed = 1; \
	} \
} while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle) do { \
	const char *unit_h_ = (hay), *unit_n_ = (needle); \
	if (!unit_h_ || !strstr(unit_h_, unit_n_)) { \
		fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", \
			__FILE__, __LINE__, unit_h_ ? unit_h_ : "(null)", unit_n_); \
		unit_cur_failed = 1; \
	} \
} while (0)

#define RUN(fn) do { \
	unit_cur_failed = 0; \
	fn(); \
	if (unit_cur_failed) { unit_failed++; printf("not ok - %s\n", #fn); } \
	else { unit_passed++; printf("ok - %s\n", #fn); } \
	fflush(stdout); \
} while (0)

/* A scratch directory for tests that need files: unit_tmp_make("x")
 * creates /tmp/mfs-x-XXXXXX (exits if it cannot), unit_at("a/b") names a
 * path in it (4 rotating buffers), unit_tmp_remove() removes it all
 * without following links. */
static char unit_tmp[64] __attribute__((unused));

static inline void unit_tmp_make(const char *tag)
{
	snprintf(unit_tmp, sizeof(unit_tmp), "/tmp/mfs-%s-XXXXXX", tag);
	if (!mkdtemp(unit_tmp)) {
		perror("mkdtemp");
		exit(1);
	}
}

static inline int unit_rm_one(const char *path, const struct stat *sb, int flag,
			      struct FTW *ftw)
{
	return remove(path);
}

static inline void unit_tmp_remove(void)
{
	nftw(unit_tmp, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *unit_at(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", unit_tmp, rel);
	return buf[i];
}

/* Permission bits of `path` (not following a link), or -1. */
static inline int unit_mode_of(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) < 0 ? -1 : (int)(sb.st_mode & 07777);
}

/* The whole file at `path`, malloc'd with a NUL after its *len bytes;
 * a file that cannot be read ends the test program. */
static inline char *unit_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		exit(1);
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return (unit_failed || unit_passed == 0) ? 1 : 0;
}

#endif
