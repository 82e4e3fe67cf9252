/* Unit tests for fs/mountpath.c. */
#include "mountpath.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>

static void test_check_good(void)
{
	static const char *const good[] = {
		"a", "a/b.c/d-e_f", "..a/b..", "...", ".a/a.", "a b/c", "a;b", "\xc3\xbc/x", "a\\b",
	};
	char buf[5000];
	const char *why = "unset";

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = "unset";
		if (mfs_mountpath_check(good[i], &why) != 0 || why != NULL) {
			fprintf(stderr, "  '%s' refused: %s\n", good[i], why ? why : "(null)");
			unit_cur_failed = 1;
		}
	}
	CHECK_EQ_INT(mfs_mountpath_check("a/b", NULL), 0);
	/* 255 bytes in a component, 4095 in all */
	memset(buf, 'x', 255);
	buf[255] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), 0);
	for (size_t i = 0; i < 4095; i++)
		buf[i] = i % 2 ? '/' : 'x';
	buf[4095] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), 0);
}

static void test_check_bad(void)
{
	static const struct { const char *path, *why; } bad[] = {
		{ "", "empty path" },
		{ "/a", "must be relative (no leading '/')" }, { "//a", "must be relative (no leading '/')" },
		{ "/", "must be relative (no leading '/')" },
		{ "a/", "trailing '/'" }, { "a/b//", "trailing '/'" },
		{ "a//b", "empty component" },
		{ ".", "'.' component" }, { "./a", "'.' component" }, { "a/./b", "'.' component" },
		{ "a/.", "'.' component" },
		{ "..", "'..' component" }, { "../b", "'..' component" }, { "a/../b", "'..' component" },
		{ "a/..", "'..' component" },
		/* the first fault from the left is named */
		{ "a//../b", "empty component" }, { "../a//b", "'..' component" },
	};
	char buf[5000];
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (mfs_mountpath_check(bad[i].path, &why) != -EINVAL || !why || strcmp(why, bad[i].why)) {
			fprintf(stderr, "  '%s': %s, want %s\n", bad[i].path, why ? why : "(accepted)",
				bad[i].why);
			unit_cur_failed = 1;
		}
	}
	CHECK_EQ_INT(mfs_mountpath_check("a/../b", NULL), -EINVAL);
	memset(buf, 'x', 256);
	buf[256] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), -EINVAL);
	CHECK_STR(why, "component longer than 255 bytes");
	memcpy(buf, "a/", 2);
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), 0); /* "a/" and 254 bytes */
	for (size_t i = 0; i < 4096; i++)
		buf[i] = i % 2 ? '/' : 'x';
	buf[4095] = 'x';
	buf[4096] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), -EINVAL);
	CHECK_STR(why, "longer than 4095 bytes");
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_cmp(void)
{
	/* sorted in this order; strcmp would put "a-b" and "a.b" before "a/b" */
	static const char *const order[] = {
		"a", "a/b", "a/b/c", "a/b-c", "a/bc", "a-b", "a.b", "a0", "b", "\xc3\xbc",
	};
	const size_t n = sizeof(order) / sizeof(order[0]);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j;

			if (sign(mfs_mountpath_cmp(order[i], order[j])) != want) {
				fprintf(stderr, "  cmp('%s', '%s') = %d, want %d\n", order[i], order[j],
					mfs_mountpath_cmp(order[i], order[j]), want);
				unit_cur_failed = 1;
			}
		}
	}
	CHECK(strcmp("a-b", "a/b") < 0);
	CHECK_EQ_INT(mfs_mountpath_cmp("", ""), 0);
	CHECK(mfs_mountpath_cmp("", "a") < 0);
}

static void test_within(void)
{
	CHECK(mfs_mountpath_within("a", "a"));
	CHECK(mfs_mountpath_within("a", "a/b"));
	CHECK(mfs_mountpath_within("a/b", "a/b/c/d"));
	CHECK(!mfs_mountpath_within("a", "ab"));
	CHECK(!mfs_mountpath_within("a", "a-b/c"));
	CHECK(!mfs_mountpath_within("a/b", "a"));
	CHECK(!mfs_mountpath_within("a/b", "a/bc"));
	CHECK(!mfs_mountpath_within("b", "a/b"));
}

#define REF(path, dir, owner, line) { path, dir, owner, line }

/* Runs the clash check on a copy of refs; expects `kind` (0: none) between
 * the refs given at lines outer_line and inner_line. */
#define CLASH(refs, kind, outer_line, inner_line) \
	clash(__LINE__, refs, sizeof(refs) / sizeof(refs[0]), kind, outer_line, inner_line)
static void clash(int at, const struct mfs_mountpath_ref *refs, size_t n, int kind,
		  int outer_line, int inner_line)
{
	struct mfs_mountpath_ref copy[16];
	struct mfs_mountpath_clash c = { 0 };
	int rc;

	memcpy(copy, refs, n * sizeof(*refs));
	rc = mfs_mountpath_find_clash(copy, n, &c);
	if (!kind) {
		if (rc != 0) {
			fprintf(stderr, "  %s:%d: rc %d (kind %d, lines %d/%d), want no clash\n",
				__FILE__, at, rc, c.kind, c.outer ? c.outer->line : 0,
				c.inner ? c.inner->line : 0);
			unit_cur_failed = 1;
		}
		return;
	}
	if (rc != -EEXIST || (int)c.kind != kind || c.outer < copy || c.outer >= copy + n ||
	    c.inner < copy || c.inner >= copy + n || c.outer->line != outer_line ||
	    c.inner->line != inner_line) {
		fprintf(stderr, "  %s:%d: rc %d kind %d lines %d/%d, want kind %d lines %d/%d\n",
			__FILE__, at, rc, c.kind, rc == -EEXIST ? c.outer->line : 0,
			rc == -EEXIST ? c.inner->line : 0, kind, outer_line, inner_line);
		unit_cur_failed = 1;
	}
}

static void test_no_clash(void)
{
	/* siblings that share a prefix; a directory with its own files */
	static const struct mfs_mountpath_ref fine[] = {
		REF("a/b", false, 1, 1), REF("a/b-c/d", false, 2, 2), REF("a/bc", false, 3, 3),
		REF("d", true, 4, 4), REF("d/x", false, 4, 5), REF("d/sub/y", false, 4, 6),
		REF("d2", false, 5, 7), REF("d.x", false, 6, 8), REF("e/d", false, 7, 9),
	};
	struct mfs_mountpath_clash c;

	CLASH(fine, 0, 0, 0);
	CHECK_EQ_INT(mfs_mountpath_find_clash(NULL, 0, &c), 0);
}

static void test_duplicates(void)
{
	static const struct mfs_mountpath_ref files[] = {
		REF("x/y", false, 1, 5), REF("a", false, 2, 11), REF("x/y", false, 3, 17),
	};
	static const struct mfs_mountpath_ref dirs[] = {
		REF("d", true, 1, 5), REF("d/x", false, 1, 8), REF("d", true, 2, 11), REF("d/y", false, 2, 14),
	};
	/* one owner's file twice, the third copy comes later */
	static const struct mfs_mountpath_ref same_owner[] = {
		REF("p", true, 1, 5), REF("p/a", false, 1, 8), REF("p/b", false, 1, 9),
		REF("p/a", false, 1, 10), REF("p/a", false, 1, 12),
	};

	/* a directory does not hold itself, even for its owner */
	static const struct mfs_mountpath_ref own_dir_twice[] = {
		REF("s", true, 7, 1), REF("s", true, 7, 2),
	};
	static const struct mfs_mountpath_ref own_dir_and_file[] = {
		REF("s", true, 7, 1), REF("s", false, 7, 2),
	};

	CLASH(own_dir_twice, MFS_CLASH_DUPLICATE, 1, 2);
	CLASH(own_dir_and_file, MFS_CLASH_FILE_DIR, 1, 2);
	CLASH(files, MFS_CLASH_DUPLICATE, 5, 17);
	CLASH(dirs, MFS_CLASH_DUPLICATE, 5, 11);
	CLASH(same_owner, MFS_CLASH_DUPLICATE, 8, 10);
}

static void test_file_vs_dir(void)
{
	static const struct mfs_mountpath_ref under_file[] = {
		REF("a/b", false, 1, 5), REF("a/b/c", false, 2, 11),
	};
	static const struct mfs_mountpath_ref file_later[] = {
		REF("a/b/c/d", false, 1, 5), REF("a/b", false, 2, 11),
	};
	/* a directory model and a file at the same path, either order */
	static const struct mfs_mountpath_ref dir_file[] = {
		REF("d", true, 1, 5), REF("d/x", false, 1, 8), REF("d", false, 2, 11),
	};
	static const struct mfs_mountpath_ref file_dir[] = {
		REF("d", false, 2, 5), REF("d", true, 1, 8), REF("d/x", false, 1, 11),
	};
	/* within one owner: a file and a file under it */
	static const struct mfs_mountpath_ref own[] = {
		REF("p", true, 1, 5), REF("p/a", false, 1, 8), REF("p/a/b", false, 1, 9),
	};

	CLASH(under_file, MFS_CLASH_FILE_DIR, 5, 11);
	CLASH(file_later, MFS_CLASH_FILE_DIR, 11, 5);
	CLASH(dir_file, MFS_CLASH_FILE_DIR, 5, 11);
	CLASH(file_dir, MFS_CLASH_FILE_DIR, 5, 8);
	CLASH(own, MFS_CLASH_FILE_DIR, 8, 9);
}

static void test_dir_holds_other(void)
{
	static const struct mfs_mountpath_ref inside[] = {
		REF("d", true, 1, 5), REF("d/x", false, 1, 8), REF("d/extra", false, 2, 11),
	};
	static const struct mfs_mountpath_ref holds[] = {
		REF("d/extra", false, 2, 5), REF("d", true, 1, 11), REF("d/x", false, 1, 14),
	};
	/* a directory inside another owner's directory */
	static const struct mfs_mountpath_ref nested[] = {
		REF("d", true, 1, 5), REF("d/x", false, 1, 8), REF("d/sub", true, 2, 11),
		REF("d/sub/y", false, 2, 14),
	};
	/* deep under it, past the owner's own subdirectory files */
	static const struct mfs_mountpath_ref deep[] = {
		REF("d", true, 1, 5), REF("d/x", false, 1, 8), REF("d/sub/y", false, 1, 9),
		REF("d/z", false, 1, 10), REF("d/sub/w", false, 2, 13),
	};

	CLASH(inside, MFS_CLASH_DIR_HOLDS, 5, 11);
	CLASH(holds, MFS_CLASH_DIR_HOLDS, 11, 5);
	CLASH(nested, MFS_CLASH_DIR_HOLDS, 5, 11);
	CLASH(deep, MFS_CLASH_DIR_HOLDS, 5, 13);
}

static void test_first_in_file(void)
{
	/* the clash whose later line comes first wins, whatever the path order */
	static const struct mfs_mountpath_ref two[] = {
		REF("x/y", false, 1, 5), REF("a", false, 2, 11), REF("x/y", false, 3, 17),
		REF("a/b", false, 4, 23),
	};
	static const struct mfs_mountpath_ref dir_first[] = {
		REF("d/b", false, 1, 5), REF("d", true, 2, 11), REF("d/a", false, 2, 14),
		REF("d/a", false, 2, 15),
	};
	/* for one path, its innermost parent: that "a/b/c" lies under the
	 * file "a/b" says more than that it lies in the directory "a" */
	static const struct mfs_mountpath_ref innermost[] = {
		REF("a", true, 1, 5), REF("a/b", false, 1, 6), REF("a/b/c", false, 3, 20),
	};
	/* equal paths: the first given stands for all of them */
	static const struct mfs_mountpath_ref three[] = {
		REF("q", false, 3, 30), REF("q", false, 1, 10), REF("q", false, 2, 20),
	};

	CLASH(two, MFS_CLASH_DUPLICATE, 5, 17);
	CLASH(dir_first, MFS_CLASH_DIR_HOLDS, 11, 5);
	CLASH(innermost, MFS_CLASH_FILE_DIR, 6, 20);
	CLASH(three, MFS_CLASH_DUPLICATE, 10, 20);
}

/* Many paths in one directory and many directories: no quadratic walk. */
static void test_many(void)
{
	enum { N = 20000 };
	struct mfs_mountpath_ref *refs = calloc(2 * N + 1, sizeof(*refs));
	char (*names)[32] = calloc(2 * N, sizeof(*names));
	struct mfs_mountpath_clash c;

	CHECK(refs && names);
	if (!refs || !names)
		goto out_free;
	refs[0] = (struct mfs_mountpath_ref){ "big", true, 0, 1 };
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "big/f%05zu", (i * 7919) % N);
		refs[1 + i] = (struct mfs_mountpath_ref){ names[i], false, 0, (int)(2 + i) };
		snprintf(names[N + i], sizeof(names[N + i]), "one/m%05zu", N - i);
		refs[1 + N + i] = (struct mfs_mountpath_ref){ names[N + i], false, 1 + i, (int)(2 + N + i) };
	}
	CHECK_EQ_INT(mfs_mountpath_find_clash(refs, 2 * N + 1, &c), 0);
	/* sorted in place */
	CHECK_STR(refs[0].path, "big");
	CHECK_STR(refs[1].path, "big/f00000");
	CHECK_STR(refs[2 * N].path, "one/m20000");
	/* one more, in the directory of another owner */
	refs[2 * N] = (struct mfs_mountpath_ref){ "big/f00007/x", false, 9, 99999 };
	CHECK_EQ_INT(mfs_mountpath_find_clash(refs, 2 * N + 1, &c), -EEXIST);
	CHECK(c.kind == MFS_CLASH_FILE_DIR && !strcmp(c.outer->path, "big/f00007"));
out_free:
	free(names);
	free(refs);
}

int main(void)
{
	RUN(test_check_good);
	RUN(test_check_bad);
	RUN(test_cmp);
	RUN(test_within);
	RUN(test_no_clash);
	RUN(test_duplicates);
	RUN(test_file_vs_dir);
	RUN(test_dir_holds_other);
	RUN(test_first_in_file);
	RUN(test_many);
	return unit_done();
}
