/* fuse_lockfiles — see include/fuse_lockfiles.h. */
#include "fuse_lockfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

static void lock_stat(const struct mfs_lockfile_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	/* 0666: a loader of another user must be able to open it to append. */
	st->st_mode = S_IFREG | 0666;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_blksize = 4096;
	st->st_atim = a->atime;
	st->st_mtim = a->mtime;
	st->st_ctim = a->ctime;
}

/* Lock nodes come and go and take writes: entry and attributes are not
 * cached (timeouts 0). */
static void lock_entry(const struct mfs_lockfile_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 1;
	lock_stat(a, &e->attr);
}

static void reply_attr(fuse_req_t req, int rc, const struct mfs_lockfile_attr *a)
{
	struct stat st;

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	lock_stat(a, &st);
	fuse_reply_attr(req, &st, 0);
}

/* Its I/O bypasses the page cache, so that discarded writes are never
 * read back from it. */
static void lock_open_fi(struct fuse_file_info *fi)
{
	fi->fh = 0;
	fi->direct_io = 1;
	fi->keep_cache = 0;
}

static void lock_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mfs_lockfiles *lf = mfs_fuse_lock_table(req);
	struct mfs_lockfile_attr a;
	struct fuse_entry_param e;

	if (mfs_lockfiles_lookup(lf, parent, name, &a) < 0) {
		/* A lock file may appear at any moment: no negative caching. */
		memset(&e, 0, sizeof(e));
		fuse_reply_entry(req, &e);
		return;
	}
	lock_entry(&a, &e);
	/* The kernel did not get the reference the table counted. */
	if (fuse_reply_entry(req, &e) != 0)
		mfs_lockfiles_forget(lf, a.ino, 1);
}

static void lock_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mfs_lockfiles_forget(mfs_fuse_lock_table(req), ino, nlookup);
	fuse_reply_none(req);
}

static void lock_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_lockfile_attr a;

	reply_attr(req, mfs_lockfiles_getattr(mfs_fuse_lock_table(req), ino, &a), &a);
}

/* Times are kept; a size (O_TRUNC, truncate) or mode (filelock fchmods
 * its lock files) is accepted and changes nothing, the file stays empty
 * and 0666 for every loader; owners stay the creator. */
static void lock_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			 struct fuse_file_info *fi)
{
	struct timespec now, *atime = NULL, *mtime = NULL;
	struct mfs_lockfile_attr a;

	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		atime = &now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		atime = &attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		mtime = &now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		mtime = &attr->st_mtim;
	reply_attr(req, mfs_lockfiles_set_times(mfs_fuse_lock_table(req), ino, atime, mtime, &a),
		   &a);
}

static void lock_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_lockfile_attr a;
	int rc = mfs_lockfiles_getattr(mfs_fuse_lock_table(req), ino, &a);

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	lock_open_fi(fi);
	fuse_reply_open(req, fi);
}

static void lock_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	fuse_reply_buf(req, NULL, 0);
}

static void lock_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	fuse_reply_write(req, size);
}

static void lock_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void lock_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	fuse_reply_err(req, ENOTDIR);
}

/* The mode asked for is ignored: lock files are 0666, owned by their
 * creator, who is charged for the node (EDQUOT past their share). */
static void lock_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	struct mfs_lockfiles *lf = mfs_fuse_lock_table(req);
	const struct fuse_ctx *who = fuse_req_ctx(req);
	struct mfs_lockfile_attr a;
	struct fuse_entry_param e;
	int rc;

	rc = mfs_lockfiles_create(lf, parent, name, who->uid, who->gid, (fi->flags & O_EXCL) != 0,
				  &a);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	lock_entry(&a, &e);
	lock_open_fi(fi);
	if (fuse_reply_create(req, &e, fi) != 0)
		mfs_lockfiles_forget(lf, a.ino, 1);
}

/* The directories are not sticky (see the header): the kernel lets any
 * user's unlink through, the table lets only the creator's or root's. */
static void lock_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -mfs_lockfiles_unlink(mfs_fuse_lock_table(req), parent, name,
						  fuse_req_ctx(req)->uid));
}

const struct fuse_lowlevel_ops mfs_fuse_lock_ops = {
	.lookup = lock_lookup,
	.forget = lock_forget,
	.getattr = lock_getattr,
	.setattr = lock_setattr,
	.open = lock_open,
	.read = lock_read,
	.write = lock_write,
	.release = lock_release,
	.readdir = lock_readdir,
	.readdirplus = lock_readdir,
	.create = lock_create,
	.unlink = lock_unlink,
};
