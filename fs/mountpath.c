/* mountpath — see include/mountpath.h. */
#include "mountpath.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int mfs_mountpath_check(const char *path, const char **why)
{
	const char *reason = NULL, *c = path;
	size_t len = strlen(path);

	if (!len)
		reason = "empty path";
	else if (*path == '/')
		reason = "must be relative (no leading '/')";
	else if (len > MFS_MOUNTPATH_MAX)
		reason = "longer than 4095 bytes";
	else if (path[len - 1] == '/')
		reason = "trailing '/'";
	while (!reason) {
		size_t n = strcspn(c, "/");

		if (n == 0)
			reason = "empty component";
		else if (n == 1 && c[0] == '.')
			reason = "'.' component";
		else if (n == 2 && c[0] == '.' && c[1] == '.')
			reason = "'..' component";
		else if (n > MFS_MOUNTPATH_NAME_MAX)
			reason = "component longer than 255 bytes";
		else if (!c[n])
			break;
		c += n + 1;
	}
	if (why)
		*why = reason;
	return reason ? -EINVAL : 0;
}

static int rank(unsigned char c)
{
	return c == '/' ? 1 : c ? c + 1 : 0;
}

int mfs_mountpath_cmp(const char *a, const char *b)
{
	const unsigned char *s = (const unsigned char *)a, *t = (const unsigned char *)b;

	while (*s && *s == *t)
		s++, t++;
	return rank(*s) - rank(*t);
}

bool mfs_mountpath_within(const char *dir, const char *path)
{
	size_t len = strlen(dir);

	return !strncmp(dir, path, len) && (!path[len] || path[len] == '/');
}

static int cmp_ref(const void *a, const void *b)
{
	const struct mfs_mountpath_ref *x = a, *y = b;
	int c = mfs_mountpath_cmp(x->path, y->path);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int later_line(const struct mfs_mountpath_ref *x, const struct mfs_mountpath_ref *y)
{
	return x->line > y->line ? x->line : y->line;
}

static enum mfs_mountpath_clash_kind kind_of(const struct mfs_mountpath_ref *outer,
					     const struct mfs_mountpath_ref *inner)
{
	bool same = !strcmp(outer->path, inner->path);

	if (same && outer->is_dir == inner->is_dir)
		return MFS_CLASH_DUPLICATE;
	if (same || !outer->is_dir)
		return MFS_CLASH_FILE_DIR;
	return MFS_CLASH_DIR_HOLDS;
}

/* Sorted, a path's parents that were given as paths themselves come
 * before it: a stack of them is all a path is checked against, not every
 * other path. */
int mfs_mountpath_find_clash(struct mfs_mountpath_ref *refs, size_t n,
			     struct mfs_mountpath_clash *out)
{
	const struct mfs_mountpath_ref *x = NULL, *y = NULL;
	size_t depth = 0, *stack;

	stack = malloc((n ? n : 1) * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	if (n > 1)
		qsort(refs, n, sizeof(*refs), cmp_ref);
	for (size_t i = 0; i < n; i++) {
		const struct mfs_mountpath_ref *e = &refs[i];

		while (depth && !mfs_mountpath_within(refs[stack[depth - 1]].path, e->path))
			depth--;
		for (size_t j = 0; j < depth; j++) {
			const struct mfs_mountpath_ref *d = &refs[stack[j]];
			int later = later_line(d, e), best = x ? later_line(x, y) : INT_MAX;

			if (d->is_dir && d->owner == e->owner && strcmp(d->path, e->path))
				continue;
			/* for one entry, the innermost parent says most */
			if (later < best || (later == best && y == e)) {
				x = d;
				y = e;
			}
		}
		/* of equal paths one stands for all: the stack stays as deep
		 * as a path has components */
		if (!depth || strcmp(refs[stack[depth - 1]].path, e->path))
			stack[depth++] = i;
	}
	free(stack);
	if (!x)
		return 0;
	*out = (struct mfs_mountpath_clash){ kind_of(x, y), x, y };
	return -EEXIST;
}
