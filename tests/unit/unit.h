/* unit.h — the tiny harness every tests/unit/test_*.c uses.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_EQ_INT(rc, 0); }
 *   int main(void) { RUN(test_something); return unit_done(); }
 *
 * Prints "ok - name" / "not ok - name" per test and a closing
 * "N passed, N failed" line; exits 1 if any failed or none ran. */
#ifndef MFS_UNIT_H
#define MFS_UNIT_H

#include <stdio.h>
#include <string.h>

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

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return (unit_failed || unit_passed == 0) ? 1 : 0;
}

#endif
