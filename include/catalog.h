/* catalog — the mount's directory tree, built from a config and immutable
 * afterwards: inode numbers, directories implied by model paths, and the
 * model behind each file.  Every metadata answer (lookup, getattr,
 * readdir) comes from here; it never touches the network or the store.
 *
 * A catalog built for a reloaded config from the previous one keeps the
 * inode numbers of what did not change (the same directory, or the same
 * model: path, url, size, pins, archive) and gives everything else
 * numbers the previous one never gave, so that an inode number the kernel
 * still holds never names something else. */
#ifndef MFS_CATALOG_H
#define MFS_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"

#define MFS_ROOT_INO 1 /* FUSE_ROOT_ID */

struct mfs_node {
	uint64_t ino;                 /* its index in nodes + 1 */
	uint64_t parent;              /* ino of the parent; root's is itself */
	char *name;                   /* component; "" for the root */
	const struct mfs_model *model; /* NULL for a directory */
	size_t model_index;           /* index into cfg->models, files only */
	uint64_t *children;           /* directories: inos, sorted by name */
	size_t nchildren;
};

struct mfs_catalog {
	struct mfs_node *nodes; /* nodes[ino - 1]; a number not in use is a
				   zeroed node (name NULL) */
	size_t nnodes;          /* the highest number in use */
	size_t count;           /* nodes in use */
	uint64_t next_ino;      /* the first number never given */
	time_t mtime;           /* reported for every node: the config's load time */
};

/* Builds the tree for `cfg` (which must outlive it), numbered after
 * `prev` (the catalog it replaces; NULL for the first).  -ENOMEM, or
 * -EEXIST if a path is both a file and a directory (config validation
 * should have refused that already). */
int mfs_catalog_build(struct mfs_catalog *cat, const struct mfs_config *cfg,
		      const struct mfs_catalog *prev);
void mfs_catalog_release(struct mfs_catalog *cat);

/* Writes node `n`'s path (relative, "" for the root) into buf, cut to
 * `len` (MFS_MOUNTPATH_MAX + 1 always fits). */
void mfs_catalog_path(const struct mfs_catalog *cat, const struct mfs_node *n, char *buf,
		      size_t len);

/* Node for an ino, or NULL if no node has it. */
const struct mfs_node *mfs_catalog_node(const struct mfs_catalog *cat, uint64_t ino);
/* Child `name` of directory `parent` (binary search), or NULL. */
const struct mfs_node *mfs_catalog_lookup(const struct mfs_catalog *cat, uint64_t parent,
					  const char *name);
/* Node for a slash-separated path relative to the root ("" is the root). */
const struct mfs_node *mfs_catalog_resolve(const struct mfs_catalog *cat, const char *path);
/* Fills a stat: files 0444 with the model's exact size, directories 0555
 * with nlink 2 + subdirectories; uid/gid 0; times = cat->mtime. */
void mfs_catalog_stat(const struct mfs_catalog *cat, const struct mfs_node *node,
		      struct stat *st);

#endif
