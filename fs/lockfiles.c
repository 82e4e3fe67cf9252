/* lockfiles — see include/lockfiles.h. */
#include "lockfiles.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct mfs_lockfile_attr attr;
	char *name;
	uint64_t nlookup;
};

/* Nodes in ino order: inos only grow, so appending keeps it sorted and an
 * ino is found by bisection.  A name, or a uid's share, is found by a
 * scan, which the bound MFS_LOCKFILES_MAX keeps short. */
struct mfs_lockfiles {
	pthread_mutex_t mu;
	uint64_t first_ino;
	uint64_t next_ino;
	struct node **nodes;
	size_t nnodes;
	size_t cap;
};

bool mfs_lockfiles_name_ok(const char *name)
{
	static const char suffix[] = ".lock";
	size_t len = strlen(name), slen = sizeof(suffix) - 1;

	return len > slen && len <= MFS_LOCKFILES_NAME_MAX && !strchr(name, '/') &&
	       memcmp(name + len - slen, suffix, slen) == 0;
}

int mfs_lockfiles_new(uint64_t first_ino, struct mfs_lockfiles **out)
{
	struct mfs_lockfiles *lf;

	*out = NULL;
	if (first_ino == 0)
		return -EINVAL;
	lf = calloc(1, sizeof(*lf));
	if (!lf)
		return -ENOMEM;
	if (pthread_mutex_init(&lf->mu, NULL) != 0) {
		free(lf);
		return -ENOMEM;
	}
	lf->first_ino = lf->next_ino = first_ino;
	*out = lf;
	return 0;
}

void mfs_lockfiles_free(struct mfs_lockfiles *lf)
{
	if (!lf)
		return;
	for (size_t i = 0; i < lf->nnodes; i++) {
		free(lf->nodes[i]->name);
		free(lf->nodes[i]);
	}
	free(lf->nodes);
	pthread_mutex_destroy(&lf->mu);
	free(lf);
}

bool mfs_lockfiles_owns(const struct mfs_lockfiles *lf, uint64_t ino)
{
	return ino >= lf->first_ino;
}

static struct timespec now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

/* Index of node `ino`, or -1.  Called locked. */
static ssize_t find_ino(const struct mfs_lockfiles *lf, uint64_t ino)
{
	size_t lo = 0, hi = lf->nnodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t m = lf->nodes[mid]->attr.ino;

		if (m == ino)
			return (ssize_t)mid;
		if (m < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Index of the linked node `name` in `parent`, or -1.  Called locked. */
static ssize_t find_name(const struct mfs_lockfiles *lf, uint64_t parent, const char *name)
{
	for (size_t i = 0; i < lf->nnodes; i++) {
		const struct node *n = lf->nodes[i];

		if (n->attr.nlink && n->attr.parent == parent && strcmp(n->name, name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* Nodes charged to `uid`, linked or lingering.  Called locked. */
static size_t count_uid(const struct mfs_lockfiles *lf, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < lf->nnodes; i++)
		n += lf->nodes[i]->attr.uid == uid;
	return n;
}

/* Frees nodes[i] if nothing names or references it any more.  Called locked. */
static void maybe_drop(struct mfs_lockfiles *lf, size_t i)
{
	struct node *n = lf->nodes[i];

	if (n->attr.nlink || n->nlookup)
		return;
	free(n->name);
	free(n);
	memmove(&lf->nodes[i], &lf->nodes[i + 1], (lf->nnodes - i - 1) * sizeof(*lf->nodes));
	lf->nnodes--;
}

/* Appends a new node; NULL with *rc set if it cannot.  Called locked. */
static struct node *add_node(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			     uid_t uid, gid_t gid, int *rc)
{
	struct node *n;

	/* The share first: a user at their cap is told so even when the
	 * table is full too, since freeing their own nodes is what they
	 * can do about it. */
	if (count_uid(lf, uid) >= MFS_LOCKFILES_PER_UID) {
		*rc = -EDQUOT;
		return NULL;
	}
	if (lf->nnodes >= MFS_LOCKFILES_MAX) {
		*rc = -ENOSPC;
		return NULL;
	}
	if (lf->nnodes == lf->cap) {
		size_t cap = lf->cap ? lf->cap * 2 : 16;
		struct node **nodes = realloc(lf->nodes, cap * sizeof(*nodes));

		if (!nodes)
			goto out_nomem;
		lf->nodes = nodes;
		lf->cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out_nomem;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		goto out_nomem;
	}
	n->attr.ino = lf->next_ino++;
	n->attr.parent = parent;
	n->attr.uid = uid;
	n->attr.gid = gid;
	n->attr.nlink = 1;
	n->attr.atime = n->attr.mtime = n->attr.ctime = now();
	lf->nodes[lf->nnodes++] = n;
	return n;
out_nomem:
	*rc = -ENOMEM;
	return NULL;
}

int mfs_lockfiles_create(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			 uid_t uid, gid_t gid, bool excl, struct mfs_lockfile_attr *attr)
{
	struct node *n = NULL;
	ssize_t i;
	int rc = 0;

	if (!mfs_lockfiles_name_ok(name))
		return -EINVAL;
	pthread_mutex_lock(&lf->mu);
	i = find_name(lf, parent, name);
	if (i >= 0)
		n = lf->nodes[i];
	if (n && excl) {
		rc = -EEXIST;
	} else if (!n) {
		n = add_node(lf, parent, name, uid, gid, &rc);
		if (n)
			rc = 1;
	}
	if (n && rc >= 0) {
		n->nlookup++;
		*attr = n->attr;
	}
	pthread_mutex_unlock(&lf->mu);
	return rc;
}

int mfs_lockfiles_lookup(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			 struct mfs_lockfile_attr *attr)
{
	ssize_t i;

	pthread_mutex_lock(&lf->mu);
	i = find_name(lf, parent, name);
	if (i >= 0) {
		lf->nodes[i]->nlookup++;
		*attr = lf->nodes[i]->attr;
	}
	pthread_mutex_unlock(&lf->mu);
	return i >= 0 ? 0 : -ENOENT;
}

void mfs_lockfiles_forget(struct mfs_lockfiles *lf, uint64_t ino, uint64_t nlookup)
{
	ssize_t i;

	pthread_mutex_lock(&lf->mu);
	i = find_ino(lf, ino);
	if (i >= 0) {
		struct node *n = lf->nodes[i];

		n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
		maybe_drop(lf, (size_t)i);
	}
	pthread_mutex_unlock(&lf->mu);
}

int mfs_lockfiles_getattr(struct mfs_lockfiles *lf, uint64_t ino, struct mfs_lockfile_attr *attr)
{
	return mfs_lockfiles_set_times(lf, ino, NULL, NULL, attr);
}

int mfs_lockfiles_set_times(struct mfs_lockfiles *lf, uint64_t ino, const struct timespec *atime,
			    const struct timespec *mtime, struct mfs_lockfile_attr *attr)
{
	ssize_t i;

	pthread_mutex_lock(&lf->mu);
	i = find_ino(lf, ino);
	if (i >= 0) {
		struct node *n = lf->nodes[i];

		if (atime)
			n->attr.atime = *atime;
		if (mtime)
			n->attr.mtime = *mtime;
		if (atime || mtime)
			n->attr.ctime = now();
		*attr = n->attr;
	}
	pthread_mutex_unlock(&lf->mu);
	return i >= 0 ? 0 : -ENOENT;
}

int mfs_lockfiles_unlink(struct mfs_lockfiles *lf, uint64_t parent, const char *name,
			 uid_t uid)
{
	ssize_t i;
	int rc = -ENOENT;

	pthread_mutex_lock(&lf->mu);
	i = find_name(lf, parent, name);
	if (i >= 0 && uid != 0 && uid != lf->nodes[i]->attr.uid) {
		rc = -EPERM;
	} else if (i >= 0) {
		lf->nodes[i]->attr.nlink = 0;
		lf->nodes[i]->attr.ctime = now();
		maybe_drop(lf, (size_t)i);
		rc = 0;
	}
	pthread_mutex_unlock(&lf->mu);
	return rc;
}

int mfs_lockfiles_list(struct mfs_lockfiles *lf, uint64_t parent, uint64_t from_ino,
		       int (*fn)(void *arg, uint64_t ino, const char *name), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&lf->mu);
	for (size_t i = 0; i < lf->nnodes && rc == 0; i++) {
		const struct node *n = lf->nodes[i];

		if (n->attr.nlink && n->attr.parent == parent && n->attr.ino >= from_ino)
			rc = fn(arg, n->attr.ino, n->name);
	}
	pthread_mutex_unlock(&lf->mu);
	return rc;
}

size_t mfs_lockfiles_count(struct mfs_lockfiles *lf)
{
	size_t n;

	pthread_mutex_lock(&lf->mu);
	n = lf->nnodes;
	pthread_mutex_unlock(&lf->mu);
	return n;
}

size_t mfs_lockfiles_count_uid(struct mfs_lockfiles *lf, uid_t uid)
{
	size_t n;

	pthread_mutex_lock(&lf->mu);
	n = count_uid(lf, uid);
	pthread_mutex_unlock(&lf->mu);
	return n;
}
