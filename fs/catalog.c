/* catalog — see include/catalog.h. */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mountpath.h"

/* In this order each directory's entries come together and in strcmp
 * order of their names, and a file "a/b" right before any "a/b/...". */
static int cmp_path(const void *a, const void *b)
{
	return mfs_mountpath_cmp((*(const struct mfs_model *const *)a)->path,
				 (*(const struct mfs_model *const *)b)->path);
}

/* Appends a node (room for it was made by the caller); returns its ino,
 * or 0 if out of memory. */
static uint64_t add_node(struct mfs_catalog *cat, uint64_t parent, const char *name, size_t len,
			 const struct mfs_model *model)
{
	struct mfs_node *n = &cat->nodes[cat->nnodes];

	n->name = strndup(name, len);
	if (!n->name)
		return 0;
	n->ino = ++cat->nnodes;
	n->parent = parent;
	n->model = model;
	return n->ino;
}

/* Nodes were made parents first and siblings in name order, so filling
 * children in ino order leaves them sorted. */
static int link_children(struct mfs_catalog *cat)
{
	for (size_t i = 1; i < cat->nnodes; i++)
		cat->nodes[cat->nodes[i].parent - 1].nchildren++;
	for (size_t i = 0; i < cat->nnodes; i++) {
		struct mfs_node *n = &cat->nodes[i];

		if (!n->nchildren)
			continue;
		n->children = malloc(n->nchildren * sizeof(*n->children));
		if (!n->children)
			return -ENOMEM;
		n->nchildren = 0;
	}
	for (size_t i = 1; i < cat->nnodes; i++) {
		struct mfs_node *dir = &cat->nodes[cat->nodes[i].parent - 1];

		dir->children[dir->nchildren++] = cat->nodes[i].ino;
	}
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return !a == !b && (!a || !strcmp(a, b));
}

/* The same bundle under the same trust. */
static bool same_signature(const struct mfs_signature *a, const struct mfs_signature *b)
{
	size_t i = 0;

	if (!a || !b)
		return !a && !b;
	if (strcmp(a->url, b->url) || !same_str(a->certificate_chain, b->certificate_chain) ||
	    !same_str(a->certificate_identity, b->certificate_identity) ||
	    !a->public_keys != !b->public_keys)
		return false;
	for (; a->public_keys && a->public_keys[i] && b->public_keys[i]; i++) {
		if (strcmp(a->public_keys[i], b->public_keys[i]))
			return false;
	}
	return !a->public_keys || (!a->public_keys[i] && !b->public_keys[i]);
}

/* The same model for the mount: same path, same bytes (size and pins)
 * from the same place (url, archive and member). */
static bool same_model(const struct mfs_model *a, const struct mfs_model *b)
{
	const struct mfs_archive *x = a->archive, *y = b->archive;

	if (strcmp(a->path, b->path) || strcmp(a->url, b->url) || a->size != b->size ||
	    memcmp(&a->digests, &b->digests, sizeof(a->digests)) || !x != !y)
		return false;
	if (!same_signature(a->signature, b->signature) ||
	    !a->signed_name != !b->signed_name ||
	    (a->signed_name && strcmp(a->signed_name, b->signed_name)))
		return false;
	if (x && (strcmp(x->url, y->url) || x->size != y->size ||
		  memcmp(&x->digests, &y->digests, sizeof(x->digests)) ||
		  strcmp(a->member, b->member)))
		return false;
	return true;
}

void mfs_catalog_path(const struct mfs_catalog *cat, const struct mfs_node *n, char *buf,
		      size_t len)
{
	const struct mfs_node *up[MFS_MOUNTPATH_MAX / 2 + 1];
	size_t depth = 0, used = 0;

	for (; n->ino != MFS_ROOT_INO && depth < sizeof(up) / sizeof(up[0]); n = &cat->nodes[n->parent - 1])
		up[depth++] = n;
	buf[0] = '\0';
	while (depth--) {
		int k = snprintf(buf + used, len - used, "%s%s", used ? "/" : "", up[depth]->name);

		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
	}
}

/* Gives the dense tree just built the inode numbers of `prev` (a path
 * that is the same directory, or the same model, keeps its number) and
 * fresh ones above every number prev ever gave to the rest: a number is
 * never reused for something else.  Without prev, the numbers stay.
 * -ENOMEM. */
static int renumber(struct mfs_catalog *cat, const struct mfs_catalog *prev)
{
	size_t n = cat->nnodes, size = 0;
	uint64_t *map = malloc((n ? n : 1) * sizeof(*map)), next = prev ? prev->next_ino : n + 1;
	struct mfs_node *v;
	char path[MFS_MOUNTPATH_MAX + 1];

	if (!map)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mfs_node *p = NULL;

		if (prev) {
			mfs_catalog_path(cat, &cat->nodes[i], path, sizeof(path));
			p = mfs_catalog_resolve(prev, path);
			if (p && (!p->model != !cat->nodes[i].model ||
				  (p->model && !same_model(p->model, cat->nodes[i].model))))
				p = NULL;
		}
		map[i] = prev ? (p ? p->ino : next++) : cat->nodes[i].ino;
		if (map[i] > size)
			size = map[i];
	}
	v = calloc(size ? size : 1, sizeof(*v));
	if (!v) {
		free(map);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct mfs_node *node = &v[map[i] - 1];

		*node = cat->nodes[i];
		node->ino = map[i];
		node->parent = map[node->parent - 1];
		for (size_t k = 0; k < node->nchildren; k++)
			node->children[k] = map[node->children[k] - 1];
	}
	free(cat->nodes);
	cat->nodes = v;
	cat->nnodes = size;
	cat->count = n;
	cat->next_ino = next;
	free(map);
	return 0;
}

int mfs_catalog_build(struct mfs_catalog *cat, const struct mfs_config *cfg,
		      const struct mfs_catalog *prev)
{
	const struct mfs_model **order;
	uint64_t *dirs; /* dirs[d]: the directory at depth d of the current path */
	size_t cap = 1, maxdepth = 1;
	const char *last = NULL;   /* the path before, in order */
	int rc = -ENOMEM;

	memset(cat, 0, sizeof(*cat));
	cat->mtime = time(NULL);
	for (size_t i = 0; i < cfg->nmodels; i++) {
		size_t depth = 1;

		for (const char *c = cfg->models[i].path; *c; c++)
			depth += *c == '/';
		cap += depth;
		if (depth > maxdepth)
			maxdepth = depth;
	}
	order = malloc((cfg->nmodels ? cfg->nmodels : 1) * sizeof(*order));
	if (!order)
		goto out_free_order;
	dirs = malloc(maxdepth * sizeof(*dirs));
	if (!dirs)
		goto out_free_dirs;
	cat->nodes = calloc(cap, sizeof(*cat->nodes));
	if (!cat->nodes)
		goto out_free_dirs;
	for (size_t i = 0; i < cfg->nmodels; i++)
		order[i] = &cfg->models[i];
	qsort(order, cfg->nmodels, sizeof(*order), cmp_path);

	dirs[0] = add_node(cat, MFS_ROOT_INO, "", 0, NULL);
	if (!dirs[0])
		goto out_release;
	for (size_t i = 0; i < cfg->nmodels; i++) {
		const char *path = order[i]->path, *c = path;
		size_t depth = 0, k = 0, len;
		uint64_t ino;

		/* in this order a path that lies under a file comes right after it */
		if (last && mfs_mountpath_within(last, path)) {
			rc = -EEXIST;
			goto out_release;
		}
		/* keep the directories this path shares with the previous one */
		if (last) {
			while (last[k] && last[k] == path[k])
				k++;
			for (size_t j = 0; j < k; j++) {
				if (path[j] == '/') {
					depth++;
					c = path + j + 1;
				}
			}
		}
		for (;;) {
			len = strcspn(c, "/");
			if (!c[len])
				break;
			ino = add_node(cat, dirs[depth], c, len, NULL);
			if (!ino)
				goto out_release;
			dirs[++depth] = ino;
			c += len + 1;
		}
		ino = add_node(cat, dirs[depth], c, len, order[i]);
		if (!ino)
			goto out_release;
		cat->nodes[ino - 1].model_index = (size_t)(order[i] - cfg->models);
		last = path;
	}
	rc = link_children(cat);
	if (rc == 0)
		rc = renumber(cat, prev);
out_release:
	if (rc < 0)
		mfs_catalog_release(cat);
out_free_dirs:
	free(dirs);
out_free_order:
	free(order);
	return rc;
}

void mfs_catalog_release(struct mfs_catalog *cat)
{
	/* (Numbers not in use are zeroed nodes: nothing to free.) */
	for (size_t i = 0; i < cat->nnodes; i++) {
		free(cat->nodes[i].name);
		free(cat->nodes[i].children);
	}
	free(cat->nodes);
	memset(cat, 0, sizeof(*cat));
}

const struct mfs_node *mfs_catalog_node(const struct mfs_catalog *cat, uint64_t ino)
{
	return ino >= 1 && ino <= cat->nnodes && cat->nodes[ino - 1].name ? &cat->nodes[ino - 1]
									 : NULL;
}

/* Child of `parent` named by the `len` bytes at `name`. */
static const struct mfs_node *lookup(const struct mfs_catalog *cat, uint64_t parent,
				     const char *name, size_t len)
{
	const struct mfs_node *dir = mfs_catalog_node(cat, parent);
	size_t lo = 0, hi;

	if (!dir || dir->model)
		return NULL;
	hi = dir->nchildren;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mfs_node *n = &cat->nodes[dir->children[mid] - 1];
		int c = strncmp(name, n->name, len);

		if (!c && n->name[len])
			c = -1;
		if (!c)
			return n;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct mfs_node *mfs_catalog_lookup(const struct mfs_catalog *cat, uint64_t parent,
					  const char *name)
{
	return lookup(cat, parent, name, strlen(name));
}

const struct mfs_node *mfs_catalog_resolve(const struct mfs_catalog *cat, const char *path)
{
	const struct mfs_node *n = mfs_catalog_node(cat, MFS_ROOT_INO);

	while (n && *path) {
		size_t len = strcspn(path, "/");

		if (len)
			n = lookup(cat, n->ino, path, len);
		path += len + (path[len] == '/');
	}
	return n;
}

void mfs_catalog_stat(const struct mfs_catalog *cat, const struct mfs_node *node,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = node->ino;
	if (node->model) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)node->model->size;
	} else {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		for (size_t i = 0; i < node->nchildren; i++)
			st->st_nlink += !cat->nodes[node->children[i] - 1].model;
	}
	st->st_blksize = 65536;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim.tv_sec = cat->mtime;
	st->st_mtim.tv_sec = cat->mtime;
	st->st_ctim.tv_sec = cat->mtime;
}
