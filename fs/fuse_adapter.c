/* fuse_adapter — see include/fuse_adapter.h. */
#define FUSE_USE_VERSION 314
#include "fuse_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fuse_lockfiles.h"
#include "log.h"
#include "metrics.h"
#include "mounttune.h"
#include "passthrough.h"
#include "status.h"

/* libfuse >= 3.17 negotiates FUSE passthrough itself (FUSE_CAP_PASSTHROUGH,
 * fuse_passthrough_open, fi->backing_id); under older ones passthrough.c
 * speaks it through custom I/O hooks on /dev/fuse. */
#if defined(FUSE_CAP_PASSTHROUGH) && FUSE_VERSION >= FUSE_MAKE_VERSION(3, 17)
#define LIBFUSE_PASSTHROUGH 1
#else
#define LIBFUSE_PASSTHROUGH 0
#endif

/* Verified files never change and the tree is fixed for the mount's life. */
#define CACHE_TIMEOUT 86400.0

/* Long-lived per-model cookie for interrupt callbacks: libfuse may run the
 * callback after the request was answered, so its data must not be freed
 * by the answer. */
struct slot {
	struct ctx *ctx;
	size_t model;
	const char *path;            /* for the debug log */
};

struct ctx {
	const struct mfs_catalog *cat;
	struct mfs_sched *sched;
	struct slot *slots;
	struct mfs_lockfiles *locks; /* NULL: lock files are off */
	struct mfs_passthrough *pt;
	char *mountpoint;            /* canonical, for mounttune */
	struct mfs_metrics *metrics; /* may be NULL */
	uint64_t total_bytes;        /* of every model, for statfs */
	atomic_bool tune_pending;    /* INIT answered, read-ahead not raised yet */
};

static struct ctx *req_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct mfs_lockfiles *mfs_fuse_lock_table(fuse_req_t req)
{
	return req_ctx(req)->locks;
}

/* The kernel sets the read-ahead window while it processes our INIT reply,
 * so it is raised on the first request after INIT, which proves it done. */
static void tune(struct ctx *c)
{
	int rc;

	/* A plain load first: lookups and getattrs must not all write the
	 * flag's cache line just to find it cleared. */
	if (!atomic_load(&c->tune_pending) || !atomic_exchange(&c->tune_pending, false) ||
	    !c->mountpoint)
		return;
	rc = mfs_mount_set_readahead(c->mountpoint, MFS_READ_AHEAD_KB);
	if (rc < 0)
		mfs_warn("cannot raise read-ahead of '%s' to %u KiB: %s", c->mountpoint,
			 MFS_READ_AHEAD_KB, strerror(-rc));
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ctx *c = userdata;

	atomic_store(&c->tune_pending, true);
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	/* Every listing carries the entries' attributes (not only the first
	 * one of a directory, as with _AUTO): `find` + `stat`, `ls -l` and a
	 * loader's os.walk then cost no LOOKUP per file. */
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
#if LIBFUSE_PASSTHROUGH
	/* Through conn->want like every flag above: libfuse 3.17.1 fails an
	 * INIT whose handler changed both want and want_ext.  Backing files
	 * may not be on a stacked file system (libfuse adds the FUSE layer:
	 * max_stack_depth 1 on the wire, as the hooks send). */
	if (mfs_passthrough_negotiate(c->pt, conn->capable & FUSE_CAP_PASSTHROUGH)) {
		conn->want |= FUSE_CAP_PASSTHROUGH;
		conn->max_backing_stack_depth = FUSE_BACKING_STACKED_UNDER;
	}
#endif
}

/* ---------------------------------------------------------------- the catalog's nodes */

/* Lock nodes are numbered above the catalog. */
static uint64_t first_lock_ino(const struct mfs_catalog *cat)
{
	return cat->nnodes + 1;
}

static void node_stat(const struct ctx *c, const struct mfs_node *node, struct stat *st)
{
	mfs_catalog_stat(c->cat, node, st);
	/* Writable, so that a non-root loader's *.lock create reaches us
	 * (default_permissions checks the mode first); everything else is
	 * still refused.  Not sticky: see fuse_lockfiles.h. */
	if (c->locks && !node->model)
		st->st_mode = S_IFDIR | 0777;
}

static void node_entry(const struct ctx *c, const struct mfs_node *node, double timeout,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr_timeout = timeout;
	e->entry_timeout = timeout;
	if (node) {
		e->ino = node->ino;
		e->generation = 1;
		node_stat(c, node, &e->attr);
	}
}

/* Every operation that would change the tree or a file. */
static void erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void node_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *dir = mfs_catalog_node(c->cat, parent);
	struct fuse_entry_param e;

	if (!dir || dir->model) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	/* The catalog never changes: hits and misses alike are cached
	 * (ino 0 is a negative entry). */
	node_entry(c, mfs_catalog_lookup(c->cat, parent, name), CACHE_TIMEOUT, &e);
	fuse_reply_entry(req, &e);
}

/* Catalog nodes live as long as the mount: nothing to forget. */
static void node_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

static void node_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(c->cat, ino);
	struct stat st;

	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	node_stat(c, node, &st);
	fuse_reply_attr(req, &st, CACHE_TIMEOUT);
}

static void node_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			 struct fuse_file_info *fi)
{
	erofs(req);
}

struct dirbuf {
	fuse_req_t req;
	const struct ctx *c;
	bool plus;             /* READDIRPLUS: entries carry attributes */
	char *buf;
	size_t size;
	size_t used;
	uint64_t lock_off;     /* offset of the first lock node's entry ... */
	uint64_t first_lock;   /* ... which has this ino */
};

/* Adds one entry that the next offset `next` follows; 1 if it did not fit.
 * In a READDIRPLUS, `node` (a catalog child) comes with its attributes,
 * which the kernel caches as if looked up (each such entry counts as one
 * lookup; catalog nodes ignore FORGET).  Without `node` ("." and "..",
 * lock files, which count their lookups) the entry is name and type
 * only: ino 0 tells the kernel to look it up when it needs it. */
static int add_dirent(struct dirbuf *d, const char *name, const struct mfs_node *node,
		      uint64_t ino, mode_t type, uint64_t next)
{
	size_t len;

	if (d->plus) {
		struct fuse_entry_param e;

		node_entry(d->c, node, CACHE_TIMEOUT, &e);
		if (!node) {
			e.attr.st_ino = ino;
			e.attr.st_mode = type;
		}
		len = fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name,
					     &e, (off_t)next);
	} else {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = ino;
		st.st_mode = type;
		len = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &st,
					(off_t)next);
	}
	if (len > d->size - d->used)
		return 1;
	d->used += len;
	return 0;
}

static int add_lock_dirent(void *arg, uint64_t ino, const char *name)
{
	struct dirbuf *d = arg;

	return add_dirent(d, name, NULL, ino, S_IFREG, d->lock_off + (ino - d->first_lock) + 1);
}

/* Lock files are listed after the catalog's entries. */
static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_catalog *cat = c->cat;
	const struct mfs_node *dir = mfs_catalog_node(cat, ino);
	struct dirbuf d = { .req = req, .c = c, .plus = plus, .size = size };
	int full = 0;

	if (!dir || dir->model) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	d.buf = malloc(size);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Offsets: 0 ".", 1 "..", 2 + i the i-th child, then the lock files
	 * at lock_off + (ino - first lock ino): inos are never reused, so an
	 * unlink or create between two calls neither skips nor repeats an
	 * entry.  Each entry carries the offset of the next one. */
	for (size_t i = (size_t)off; i < dir->nchildren + 2 && !full; i++) {
		const struct mfs_node *n, *child = NULL;
		const char *name;

		if (i == 0) {
			n = dir;
			name = ".";
		} else if (i == 1) {
			n = mfs_catalog_node(cat, dir->parent);
			name = "..";
		} else {
			n = child = mfs_catalog_node(cat, dir->children[i - 2]);
			name = n->name;
		}
		full = add_dirent(&d, name, child, n->ino, n->model ? S_IFREG : S_IFDIR, i + 1);
	}
	if (c->locks && !full) {
		d.lock_off = dir->nchildren + 2;
		d.first_lock = first_lock_ino(cat);
		mfs_lockfiles_list(c->locks, ino,
				   d.first_lock + ((uint64_t)off > d.lock_off ? (uint64_t)off - d.lock_off : 0),
				   add_lock_dirent, &d);
	}
	fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void node_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	list_dir(req, ino, size, off, false);
}

static void node_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			     struct fuse_file_info *fi)
{
	list_dir(req, ino, size, off, true);
}

/* Says what an open of a model did, under -d. */
static void log_open(const struct slot *s, int result, const struct mfs_sched_outcome *o)
{
	static const char *const how[] = {
		[MFS_SCHED_CACHED] = "served from the store (verified earlier in this mount)",
		[MFS_SCHED_STORE] = "verified the stored object",
		[MFS_SCHED_FETCHED] = "fetched and verified",
	};

	if (!mfs_log_enabled(MFS_LOG_DEBUG))
		return;
	if (result >= 0)
		mfs_debug("open '%s': %s in %.3f ms", s->path, how[o->how], (double)o->us / 1000);
	else
		mfs_debug("open '%s': failed (%s) after %.3f ms", s->path, strerror(-result),
			  (double)o->us / 1000);
}

#if LIBFUSE_PASSTHROUGH
/* A backing id for `fd` on the connection of request `arg`, or -errno.
 * fuse_passthrough_open returns 0 on failure and logs it; the ioctl's
 * errno survives that (fuse_log_to_ours goes to mfs_vlog, which keeps
 * errno). */
static int open_backing(void *arg, int fd)
{
	int id;

	errno = 0;
	id = fuse_passthrough_open(arg, fd);
	return id > 0 ? id : -(errno ? errno : EIO);
}
#endif

/* Passthrough when the kernel takes it (reads then never reach us), else
 * spliced READs from `fd` with the kernel's page cache kept.  `fd` is the
 * verified one: the backing id is made from it, once per object. */
static void reply_open_fd(fuse_req_t req, size_t model, int fd)
{
#if LIBFUSE_PASSTHROUGH
	int backing = mfs_passthrough_backing_via(req_ctx(req)->pt, model, fd, open_backing, req);
#else
	int backing = mfs_passthrough_backing(req_ctx(req)->pt, model, fd);
#endif
	struct fuse_file_info fi;
	int rc;

	memset(&fi, 0, sizeof(fi));
	fi.fh = (uint64_t)fd;
	fi.keep_cache = backing == 0;
#if LIBFUSE_PASSTHROUGH
	fi.backing_id = backing;
	rc = fuse_reply_open(req, &fi);
#else
	mfs_passthrough_arm(backing);
	rc = fuse_reply_open(req, &fi);
	mfs_passthrough_arm(0);
#endif
	/* A request interrupted meanwhile gets no release: close it here. */
	if (rc != 0) {
		close(fd);
		mfs_sched_release(req_ctx(req)->sched, model);
	}
}

static void open_done(void *arg, size_t model, int result, const struct mfs_sched_outcome *o)
{
	fuse_req_t req = arg;

	log_open(&req_ctx(req)->slots[model], result, o);
	mfs_metrics_wait(req_ctx(req)->metrics, (double)o->us / 1e6);
	if (result >= 0)
		reply_open_fd(req, model, result);
	else
		fuse_reply_err(req, -result);
}

static void open_interrupted(fuse_req_t req, void *data)
{
	struct slot *s = data;

	if (mfs_sched_cancel(s->ctx->sched, s->model, req)) {
		mfs_debug("open '%s': interrupted while waiting", s->path);
		fuse_reply_err(req, EINTR);
	}
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void node_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(c->cat, ino);
	struct mfs_sched_outcome o = { .how = MFS_SCHED_CACHED };
	struct slot *s;
	int rc;

	if (!node || !node->model) {
		fuse_reply_err(req, node ? EISDIR : ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		erofs(req);
		return;
	}
	s = &c->slots[node->model_index];
	/* Registered before queueing: once queued, a pool thread may answer
	 * and free the request at any moment. */
	fuse_req_interrupt_func(req, open_interrupted, s);
	if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
		return;
	}
	o.us = now_us();
	rc = mfs_sched_open(c->sched, node->model_index, open_done, req);
	if (rc == -EINPROGRESS)
		return;
	o.us = now_us() - o.us;
	log_open(s, rc, &o);
	if (rc >= 0)
		reply_open_fd(req, node->model_index, rc);
	else
		fuse_reply_err(req, rc == -EAGAIN || rc == -ENOSPC ? -rc : EIO);
}

static void node_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	const struct mfs_node *node = mfs_catalog_node(req_ctx(req)->cat, ino);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	uint64_t fsize = node && node->model ? node->model->size : 0;

	if (off < 0 || (uint64_t)off >= fsize)
		size = 0;
	else if (size > fsize - (uint64_t)off)
		size = (size_t)(fsize - (uint64_t)off);
	bv.buf[0].size = size;
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = (int)fi->fh;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void node_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	erofs(req);
}

static void node_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(c->cat, ino);

	close((int)fi->fh);
	if (node && node->model)
		mfs_sched_release(c->sched, node->model_index);
	fuse_reply_err(req, 0);
}

/* An evicted object's backing file is let go of (scheduler hook). */
static void evicted(void *arg, size_t model)
{
	struct ctx *c = arg;

	mfs_passthrough_forget(c->pt, model);
}

/* Only lock files may be created (see dispatch); of a catalog name, an
 * O_EXCL create says it exists. */
static void node_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *dir = mfs_catalog_node(c->cat, parent);

	if (!dir || dir->model)
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
	else if (mfs_catalog_lookup(c->cat, parent, name) && (fi->flags & O_EXCL))
		fuse_reply_err(req, EEXIST);
	else
		erofs(req);
}

static void node_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	erofs(req);
}

static const struct fuse_lowlevel_ops node_ops = {
	.lookup = node_lookup,
	.forget = node_forget,
	.getattr = node_getattr,
	.setattr = node_setattr,
	.open = node_open,
	.read = node_read,
	.write = node_write,
	.release = node_release,
	.readdir = node_readdir,
	.readdirplus = node_readdirplus,
	.create = node_create,
	.unlink = node_unlink,
};

/* ---------------------------------------------------------------- dispatch */

/* A request on an inode: lock nodes are numbered above the catalog. */
static const struct fuse_lowlevel_ops *by_ino(fuse_req_t req, fuse_ino_t ino)
{
	const struct ctx *c = req_ctx(req);

	return c->locks && mfs_lockfiles_owns(c->locks, ino) ? &mfs_fuse_lock_ops : &node_ops;
}

/* A request on a name in directory `parent`: a lock file is a lock file
 * name in a catalog directory that no catalog entry has (a model or
 * directory of that name wins). */
static const struct fuse_lowlevel_ops *by_name(fuse_req_t req, fuse_ino_t parent,
					       const char *name)
{
	const struct ctx *c = req_ctx(req);
	const struct mfs_node *dir = mfs_catalog_node(c->cat, parent);

	if (c->locks && dir && !dir->model && mfs_lockfiles_name_ok(name) &&
	    !mfs_catalog_lookup(c->cat, parent, name))
		return &mfs_fuse_lock_ops;
	return &node_ops;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	tune(req_ctx(req));
	by_name(req, parent, name)->lookup(req, parent, name);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	by_ino(req, ino)->forget(req, ino, nlookup);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct ctx *c = req_ctx(req);

	for (size_t i = 0; i < count; i++) {
		if (by_ino(req, forgets[i].ino) == &mfs_fuse_lock_ops)
			mfs_lockfiles_forget(c->locks, forgets[i].ino, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	tune(req_ctx(req));
	by_ino(req, ino)->getattr(req, ino, fi);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	by_ino(req, ino)->setattr(req, ino, attr, to_set, fi);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	by_ino(req, ino)->open(req, ino, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	by_ino(req, ino)->read(req, ino, size, off, fi);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	by_ino(req, ino)->write(req, ino, buf, size, off, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	by_ino(req, ino)->release(req, ino, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	by_ino(req, ino)->readdir(req, ino, size, off, fi);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	by_ino(req, ino)->readdirplus(req, ino, size, off, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	by_name(req, parent, name)->create(req, parent, name, mode, fi);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	by_name(req, parent, name)->unlink(req, parent, name);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	const struct ctx *c = req_ctx(req);
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (c->total_bytes + 4095) / 4096;
	sv.f_files = c->cat->nnodes;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
}

/* The tree is fixed and files are read-only, lock files included: */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	erofs(req);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	erofs(req);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	erofs(req);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	erofs(req);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	erofs(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	erofs(req);
}

/* A getxattr or listxattr answer of `n` bytes in `buf` for a caller who
 * gave room for `size` (0: only the length is asked). */
static void reply_xattr(fuse_req_t req, const char *buf, size_t n, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, n);
	else if (n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, n);
}

/* The status attributes of a model (status.h); directories and lock
 * files have none. */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(c->cat, ino);
	struct mfs_sched_status st;
	char buf[1024];
	ssize_t n;

	if (!node || !node->model) {
		fuse_reply_err(req, node || by_ino(req, ino) == &mfs_fuse_lock_ops ? ENODATA : ENOENT);
		return;
	}
	mfs_sched_status(c->sched, node->model_index, &st);
	n = mfs_status_get(node->model, &st, name, buf, sizeof(buf));
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if ((size_t)n > sizeof(buf))
		fuse_reply_err(req, E2BIG);
	else
		reply_xattr(req, buf, (size_t)n, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(c->cat, ino);
	struct mfs_sched_status st;
	char buf[256];
	size_t n = 0;

	if (node && node->model) {
		mfs_sched_status(c->sched, node->model_index, &st);
		n = mfs_status_list(&st, buf, sizeof(buf));
	}
	reply_xattr(req, buf, n, size);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	erofs(req);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	erofs(req);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	erofs(req);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};

/* libfuse's own messages go to our log. */
static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	enum mfs_log_level l = level <= FUSE_LOG_ERR ? MFS_LOG_ERR :
			       level == FUSE_LOG_WARNING ? MFS_LOG_WARN :
			       level == FUSE_LOG_DEBUG ? MFS_LOG_DEBUG : MFS_LOG_INFO;

	mfs_vlog(l, fmt, ap);
}

#if !LIBFUSE_PASSTHROUGH
/* libfuse's I/O on /dev/fuse, through passthrough's protocol additions. */
static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	return mfs_passthrough_read(((struct ctx *)userdata)->pt, fd, buf, len);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	return mfs_passthrough_writev(((struct ctx *)userdata)->pt, fd, iov, count);
}

static ssize_t io_splice(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
			 unsigned int flags, void *userdata)
{
	return mfs_passthrough_splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io custom_io = {
	.read = io_read,
	.writev = io_writev,
	.splice_send = io_splice,
};
#endif

int mfs_fuse_run(const struct mfs_mount_opts *mo, const struct mfs_catalog *cat,
		 struct mfs_sched *sched)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg;
	struct fuse_session *se;
	struct ctx c = { .cat = cat, .sched = sched, .metrics = mo->metrics };
	size_t nmodels = 0;
	int rc = -EIO;

	if (mo->lock_files) {
		int lrc = mfs_lockfiles_new(first_lock_ino(cat), &c.locks);

		if (lrc < 0)
			return lrc;
	}
	for (size_t i = 0; i < cat->nnodes; i++) {
		if (!cat->nodes[i].model)
			continue;
		c.total_bytes += cat->nodes[i].model->size;
		if (cat->nodes[i].model_index + 1 > nmodels)
			nmodels = cat->nodes[i].model_index + 1;
	}
	c.slots = calloc(nmodels ? nmodels : 1, sizeof(*c.slots));
	if (!c.slots) {
		rc = -ENOMEM;
		goto out_free_locks;
	}
	for (size_t i = 0; i < cat->nnodes; i++) {
		const struct mfs_node *n = &cat->nodes[i];

		if (n->model)
			c.slots[n->model_index] = (struct slot){ &c, n->model_index, n->model->path };
	}
	rc = mfs_passthrough_new(nmodels, mo->passthrough, &c.pt);
	if (rc < 0)
		goto out_free_args;
	rc = -EIO;
	if (fuse_opt_add_arg(&args, "modelfs") != 0 ||
	    (mo->fuse_opts && mo->fuse_opts[0] &&
	     (fuse_opt_add_arg(&args, "-o") != 0 || fuse_opt_add_arg(&args, mo->fuse_opts) != 0)) ||
	    (mo->debug && fuse_opt_add_arg(&args, "-d") != 0)) {
		rc = -ENOMEM;
		goto out_free_args;
	}
	fuse_set_log_func(fuse_log_to_ours);
	se = fuse_session_new(&args, &ops, sizeof(ops), &c);
	if (!se) {
		rc = -EINVAL;
		goto out_free_args;
	}
	/* libfuse leaves an ignored signal alone, and a shell starts background
	 * jobs with SIGINT ignored: the daemon must still stop cleanly on it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_destroy;
	/* Canonical before the mount: afterwards resolving it would ask us. */
	c.mountpoint = realpath(mo->mountpoint, NULL);
	if (fuse_session_mount(se, mo->mountpoint) != 0) {
		mfs_err("cannot mount on '%s'", mo->mountpoint);
		goto out_signals;
	}
	/* For the backing-id ioctls. */
	mfs_passthrough_set_devfd(c.pt, fuse_session_fd(se));
	mfs_sched_on_evict(sched, evicted, &c);
#if !LIBFUSE_PASSTHROUGH
	/* Same fd, now read and written through our hooks; INIT has not
	 * been read yet. */
	if (fuse_session_custom_io(se, &custom_io, fuse_session_fd(se)) != 0) {
		mfs_err("cannot set up I/O on the FUSE channel");
		goto out_unmount;
	}
#endif
	if (fuse_daemonize(mo->foreground) != 0)
		goto out_unmount;
	if (mo->ready)
		mo->ready(mo->ready_arg);
	loop_cfg = fuse_loop_cfg_create();
	if (!loop_cfg)
		goto out_unmount;
	fuse_loop_cfg_set_clone_fd(loop_cfg, 0);
	fuse_loop_cfg_set_max_threads(loop_cfg, 16);
	/* A signal ends the loop with the signal's number: a clean stop. */
	rc = fuse_session_loop_mt(se, loop_cfg) < 0 ? -EIO : 0;
	fuse_loop_cfg_destroy(loop_cfg);
out_unmount:
	/* Answer every open still waiting while the channel is open. */
	mfs_sched_stop(sched);
	mfs_sched_on_evict(sched, NULL, NULL);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out_free_args:
	fuse_opt_free_args(&args);
	mfs_passthrough_free(c.pt);
	free(c.slots);
	free(c.mountpoint);
out_free_locks:
	mfs_lockfiles_free(c.locks);
	return rc;
}
