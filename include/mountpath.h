/* mountpath — the rules for paths inside the mount: what a valid path is,
 * the order the mount's paths are walked in, and which sets of paths
 * cannot share one tree.  Paths are relative ("zoo/resnet50.params", no
 * leading '/'); nothing here touches the filesystem. */
#ifndef MFS_MOUNTPATH_H
#define MFS_MOUNTPATH_H

#include <stdbool.h>
#include <stddef.h>

#define MFS_MOUNTPATH_MAX 4095     /* bytes in a whole path (PATH_MAX less the NUL) */
#define MFS_MOUNTPATH_NAME_MAX 255 /* bytes in one component (NAME_MAX) */

/* Checks a mount path: relative (no leading '/'), no trailing '/',
 * components non-empty and neither "." nor "..", at most 255 bytes each
 * and 4095 in all.  Returns 0, or -EINVAL with a reason in *why (a static
 * string such as "'..' component"; `why` may be NULL). */
int mfs_mountpath_check(const char *path, const char **why);

/* Compares two paths like strcmp, except that '/' sorts below every other
 * byte.  In this order a directory's entries come together, in strcmp
 * order of their names, and a path "a/b" comes right before every
 * "a/b/...".  Returns <0, 0 or >0. */
int mfs_mountpath_cmp(const char *a, const char *b);

/* True if `path` is `dir` or lies under it ("a/b" is within "a", "ab" is
 * not). */
bool mfs_mountpath_within(const char *dir, const char *path);

/* One path the mount would hold, for mfs_mountpath_find_clash.  `owner`
 * says who gave it (the caller's id, e.g. an index), `line` where: of
 * several clashes the one that comes first by line is reported. */
struct mfs_mountpath_ref {
	const char *path;
	bool is_dir;      /* a directory that holds only its owner's paths */
	size_t owner;
	int line;
};

enum mfs_mountpath_clash_kind {
	MFS_CLASH_DUPLICATE = 1, /* the same path twice, both files or both directories */
	MFS_CLASH_FILE_DIR,      /* one path would be both a file and a directory */
	MFS_CLASH_DIR_HOLDS,     /* a path lies in a directory of another owner */
};

/* A clash: `outer` is `inner` itself or one of its parent directories. */
struct mfs_mountpath_clash {
	enum mfs_mountpath_clash_kind kind;
	const struct mfs_mountpath_ref *outer;
	const struct mfs_mountpath_ref *inner;
};

/* Finds two paths that cannot both be in the mount.  Two paths clash when
 * one is the other or lies under it, except that an is_dir directory may
 * hold paths of its own owner (below it, not equal to it).  Of several
 * clashes it reports the one whose later line is smallest, i.e. the first
 * a reader of the config meets; for one path, its innermost parent.
 *
 * Sorts `refs` in place (by mfs_mountpath_cmp, then line); the pointers
 * in *out point into it.  O(n log n + n * depth).  Returns 0 if there is
 * no clash, -EEXIST with *out filled in if there is, -ENOMEM. */
int mfs_mountpath_find_clash(struct mfs_mountpath_ref *refs, size_t n,
			     struct mfs_mountpath_clash *out);

#endif
