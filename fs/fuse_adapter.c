/* fuse_adapter — see include/fuse_adapter.h. */
#define FUSE_USE_VERSION 314
#include "fuse_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fuse_lockfiles.h"
#include "log.h"
#include "metrics.h"
#include "mountpath.h"
#include "mounttune.h"
#include "pagecache.h"
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

/* Verified files never change, and a reload drops what it changed from
 * the kernel's caches (gens_installed). */
#define CACHE_TIMEOUT 86400.0

/* Lock file inodes start here, far above any catalog's (which grow by
 * one per path a reload adds). */
#define FIRST_LOCK_INO (1ULL << 48)

/* Long-lived per-model cookie for interrupt callbacks: libfuse may run the
 * callback after the request was answered, so its data must not be freed
 * by the answer (slots live until unmount, whatever reloads do). */
struct slot {
	struct ctx *ctx;
	struct mfs_generation *gen;  /* compared, dereferenced only if alive */
	size_t model;
	uint64_t ino;                /* the model's inode in that generation */
	atomic_bool filling;         /* held by the open storing it into the kernel's cache */
	dev_t filled_dev;            /* the object last stored there (under filling) */
	ino_t filled_ino;
};

/* What the adapter keeps per generation (mfs_generation.user). */
struct genuser {
	struct ctx *ctx;
	struct slot *slots;          /* one per model */
	uint64_t total_bytes;        /* of every model, for statfs */
	struct genuser *next;        /* every one made, freed at unmount */
};

/* An open model: the fd its bytes were verified through, and what it was
 * opened as (a reload may change or remove the model meanwhile). */
struct handle {
	int fd;
	uint64_t size;
	struct mfs_generation *gen;  /* one use of it, until release */
	size_t model;
};

struct ctx {
	const struct mfs_mount_opts *mo;
	struct mfs_gens *gens;
	struct genuser *users;
	struct fuse_session *se;
	struct mfs_lockfiles *locks; /* NULL: lock files are off */
	struct mfs_passthrough *pt;
	char *mountpoint;            /* canonical, for mounttune */
	struct mfs_metrics *metrics; /* may be NULL */
	atomic_bool tune_pending;    /* INIT answered, read-ahead not raised yet */
};

/* The generation the request being handled on this thread uses (set by
 * the dispatch, see enter()). */
static _Thread_local struct mfs_generation *tl_gen;
#define CAT (&tl_gen->cat)
#define GENUSER(g) ((struct genuser *)(g)->user)

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

static void node_stat(const struct ctx *c, const struct mfs_node *node, struct stat *st)
{
	mfs_catalog_stat(CAT, node, st);
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
	const struct mfs_node *dir = mfs_catalog_node(CAT, parent);
	struct fuse_entry_param e;

	if (!dir || dir->model) {
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	/* A catalog never changes (a reload drops what the kernel cached of
	 * the old one): hits and misses alike are cached (ino 0 is a
	 * negative entry). */
	node_entry(c, mfs_catalog_lookup(CAT, parent, name), CACHE_TIMEOUT, &e);
	fuse_reply_entry(req, &e);
}

/* Catalog nodes are not counted: a number a reload retires is never
 * given again, so nothing needs forgetting. */
static void node_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

static void node_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(CAT, ino);
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
	const struct mfs_catalog *cat = CAT;
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
		d.first_lock = FIRST_LOCK_INO;
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

/* Says what an open of model `model` of `gen` did, under -d. */
static void log_open(const struct mfs_generation *gen, size_t model, int result,
		     const struct mfs_sched_outcome *o)
{
	static const char *const how[] = {
		[MFS_SCHED_CACHED] = "served from the store (verified earlier in this mount)",
		[MFS_SCHED_STORE] = "verified the stored object",
		[MFS_SCHED_FETCHED] = "fetched and verified",
	};
	const char *path = gen->cfg->models[model].path;

	if (!mfs_log_enabled(MFS_LOG_DEBUG))
		return;
	if (result >= 0)
		mfs_debug("open '%s': %s in %.3f ms", path, how[o->how], (double)o->us / 1000);
	else
		mfs_debug("open '%s': failed (%s) after %.3f ms", path, strerror(-result),
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

/* Without passthrough: stores the model that `fd` verified into the
 * kernel's page cache of its inode (FUSE_NOTIFY_STORE, read from `fd` in
 * READ-sized pieces), so that its first random reads and mmap faults find
 * it there instead of each sending a READ (see pagecache.h).  Once per
 * object verified (the waiters of one download all get a fresh fd of the
 * same object), one open at a time per model, and only when it fits in
 * memory; a failure only costs speed.  Not spliced: libfuse would keep a
 * pipe per calling thread, and this is a pool thread, which outlives the
 * session that would free it. */
static void prefill(struct ctx *c, struct mfs_generation *gen, size_t model, int fd)
{
	struct slot *s = &GENUSER(gen)->slots[model];
	uint64_t size = gen->cfg->models[model].size, off;
	const size_t step = (size_t)MFS_READ_AHEAD_KB << 10;
	struct stat st;
	int rc = 0;

	if (!s->ino || fstat(fd, &st) < 0 || !mfs_pagecache_fits("/proc/meminfo", size) ||
	    atomic_exchange(&s->filling, true))
		return;
	if (s->filled_dev == st.st_dev && s->filled_ino == st.st_ino)
		goto out_release;
	for (off = 0; off < size && rc == 0; off += step) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size - off < step ? (size_t)(size - off) : step);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fd;
		bv.buf[0].pos = (off_t)off;
		rc = fuse_lowlevel_notify_store(c->se, s->ino, (off_t)off, &bv, FUSE_BUF_NO_SPLICE);
	}
	if (rc == 0) {
		s->filled_dev = st.st_dev;
		s->filled_ino = st.st_ino;
	} else {
		mfs_debug("open '%s': storing it into the page cache stopped at byte %" PRIu64
			  ": %s", gen->cfg->models[model].path, off - step, strerror(-rc));
	}
out_release:
	atomic_store(&s->filling, false);
}

/* Hands verified `fd` of model `model` of `gen` (one use of which the
 * request holds, now the handle's) to the opener: by passthrough when the
 * kernel takes it (reads then never reach us), else spliced READs from
 * `fd` with the kernel's page cache kept, which a `fresh`ly verified model
 * fills first (prefill).  `fd` is the verified one: the backing id is
 * made from it, once per object. */
static void reply_open_fd(fuse_req_t req, struct mfs_generation *gen, size_t model, int fd,
			  bool fresh)
{
	struct ctx *c = req_ctx(req);
	struct handle *h = malloc(sizeof(*h));
	struct fuse_file_info fi;
	int backing, rc;

	if (!h) {
		close(fd);
		mfs_sched_release(gen->sched, model);
		mfs_gens_put(c->gens, gen);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*h = (struct handle){ .fd = fd, .size = gen->cfg->models[model].size, .gen = gen,
			      .model = model };
#if LIBFUSE_PASSTHROUGH
	backing = mfs_passthrough_backing_via(c->pt, fd, open_backing, req);
#else
	backing = mfs_passthrough_backing(c->pt, fd);
#endif
	memset(&fi, 0, sizeof(fi));
	fi.fh = (uint64_t)(uintptr_t)h;
	fi.keep_cache = backing == 0;
	if (backing == 0 && fresh)
		prefill(c, gen, model, fd);
#if LIBFUSE_PASSTHROUGH
	fi.backing_id = backing;
	rc = fuse_reply_open(req, &fi);
#else
	mfs_passthrough_arm(backing);
	rc = fuse_reply_open(req, &fi);
	mfs_passthrough_arm(0);
#endif
	/* A request interrupted meanwhile gets no release: undo it here. */
	if (rc != 0) {
		close(fd);
		mfs_sched_release(gen->sched, model);
		mfs_gens_put(c->gens, gen);
		free(h);
	}
}

static void open_done(void *arg, size_t model, int result, const struct mfs_sched_outcome *o)
{
	fuse_req_t req = arg;
	struct ctx *c = req_ctx(req);   /* the reply frees req */
	struct mfs_generation *gen = o->owner;

	log_open(gen, model, result, o);
	mfs_metrics_wait(c->metrics, (double)o->us / 1e6);
	if (result >= 0) {
		reply_open_fd(req, gen, model, result, o->how != MFS_SCHED_CACHED);
	} else {
		fuse_reply_err(req, -result);
		mfs_gens_put(c->gens, gen);
	}
}

static void open_interrupted(fuse_req_t req, void *data)
{
	struct slot *s = data;
	struct mfs_gens *gens = s->ctx->gens;

	/* Late (after the answer), the generation may be gone: only one
	 * still alive is asked. */
	if (!mfs_gens_hold_if_alive(gens, s->gen))
		return;
	if (mfs_sched_cancel(s->gen->sched, s->model, req)) {
		mfs_debug("open '%s': interrupted while waiting", s->gen->cfg->models[s->model].path);
		fuse_reply_err(req, EINTR);
		mfs_gens_put(gens, s->gen);    /* the waiting request's use */
	}
	mfs_gens_put(gens, s->gen);
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
	struct mfs_generation *gen = tl_gen;
	const struct mfs_node *node = mfs_catalog_node(CAT, ino);
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
	s = &GENUSER(gen)->slots[node->model_index];
	/* Registered before queueing: once queued, a pool thread may answer
	 * and free the request at any moment. */
	fuse_req_interrupt_func(req, open_interrupted, s);
	if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
		return;
	}
	/* One use of the generation for the open, answered now or later. */
	mfs_gens_hold(c->gens, gen);
	o.us = now_us();
	rc = mfs_sched_open(gen->sched, node->model_index, open_done, req);
	if (rc == -EINPROGRESS)
		return;
	o.us = now_us() - o.us;
	log_open(gen, node->model_index, rc, &o);
	if (rc >= 0) {
		reply_open_fd(req, gen, node->model_index, rc, false);
	} else {
		fuse_reply_err(req, rc == -EAGAIN || rc == -ENOSPC ? -rc : EIO);
		mfs_gens_put(c->gens, gen);
	}
}

/* Spliced from the handle's fd (passthrough never gets here). */
static void node_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	const struct handle *h = (const struct handle *)(uintptr_t)fi->fh;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);

	if (off < 0 || (uint64_t)off >= h->size)
		size = 0;
	else if (size > h->size - (uint64_t)off)
		size = (size_t)(h->size - (uint64_t)off);
	bv.buf[0].size = size;
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = h->fd;
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
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	close(h->fd);
	mfs_sched_release(h->gen->sched, h->model);
	mfs_gens_put(req_ctx(req)->gens, h->gen);
	free(h);
	fuse_reply_err(req, 0);
}

/* An evicted object's backing file is let go of (scheduler hook). */
static void evicted(void *arg, const struct stat *was)
{
	struct ctx *c = arg;

	mfs_passthrough_forget(c->pt, was->st_dev, was->st_ino);
}

/* Only lock files may be created (see dispatch); of a catalog name, an
 * O_EXCL create says it exists. */
static void node_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	const struct mfs_node *dir = mfs_catalog_node(CAT, parent);

	if (!dir || dir->model)
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
	else if (mfs_catalog_lookup(CAT, parent, name) && (fi->flags & O_EXCL))
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

/* A request that reads the tree runs against one generation, held for
 * its duration and set for the handlers (tl_gen, CAT).  Requests on an
 * open file use their handle's instead. */
static struct ctx *enter(fuse_req_t req)
{
	struct ctx *c = req_ctx(req);

	tl_gen = mfs_gens_get(c->gens);
	return c;
}

/* (The request may be answered and freed by now.) */
static void leave(struct ctx *c)
{
	struct mfs_generation *gen = tl_gen;

	tl_gen = NULL;
	mfs_gens_put(c->gens, gen);
}

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
	const struct mfs_node *dir = mfs_catalog_node(CAT, parent);

	if (c->locks && dir && !dir->model && mfs_lockfiles_name_ok(name) &&
	    !mfs_catalog_lookup(CAT, parent, name))
		return &mfs_fuse_lock_ops;
	return &node_ops;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ctx *c = enter(req);

	tune(c);
	by_name(req, parent, name)->lookup(req, parent, name);
	leave(c);
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
	struct ctx *c = enter(req);

	tune(c);
	by_ino(req, ino)->getattr(req, ino, fi);
	leave(c);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	by_ino(req, ino)->setattr(req, ino, attr, to_set, fi);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctx *c = enter(req);

	by_ino(req, ino)->open(req, ino, fi);
	leave(c);
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
	struct ctx *c = enter(req);

	by_ino(req, ino)->readdir(req, ino, size, off, fi);
	leave(c);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	struct ctx *c = enter(req);

	by_ino(req, ino)->readdirplus(req, ino, size, off, fi);
	leave(c);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct ctx *c = enter(req);

	by_name(req, parent, name)->create(req, parent, name, mode, fi);
	leave(c);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ctx *c = enter(req);

	by_name(req, parent, name)->unlink(req, parent, name);
	leave(c);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ctx *c = enter(req);
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (GENUSER(tl_gen)->total_bytes + 4095) / 4096;
	sv.f_files = CAT->count;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
	leave(c);
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
static void xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const struct mfs_node *node = mfs_catalog_node(CAT, ino);
	struct mfs_sched_status st;
	char buf[1024];
	ssize_t n;

	if (!node || !node->model) {
		fuse_reply_err(req, node || by_ino(req, ino) == &mfs_fuse_lock_ops ? ENODATA : ENOENT);
		return;
	}
	mfs_sched_status(tl_gen->sched, node->model_index, &st);
	n = mfs_status_get(node->model, &st, name, buf, sizeof(buf));
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if ((size_t)n > sizeof(buf))
		fuse_reply_err(req, E2BIG);
	else
		reply_xattr(req, buf, (size_t)n, size);
}

static void xattr_list(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	const struct mfs_node *node = mfs_catalog_node(CAT, ino);
	struct mfs_sched_status st;
	char buf[256];
	size_t n = 0;

	if (node && node->model) {
		mfs_sched_status(tl_gen->sched, node->model_index, &st);
		n = mfs_status_list(&st, buf, sizeof(buf));
	}
	reply_xattr(req, buf, n, size);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct ctx *c = enter(req);

	xattr_get(req, ino, name, size);
	leave(c);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ctx *c = enter(req);

	xattr_list(req, ino, size);
	leave(c);
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

/* ---------------------------------------------------------------- generations */

/* The adapter's part of a generation: interrupt cookies, the statfs total,
 * the scheduler's hooks.  -ENOMEM. */
static int adopt(struct ctx *c, struct mfs_generation *gen)
{
	const struct mfs_catalog *cat = &gen->cat;
	struct genuser *u = calloc(1, sizeof(*u));
	size_t n = gen->cfg->nmodels;

	if (!u || !(u->slots = calloc(n ? n : 1, sizeof(*u->slots)))) {
		free(u);
		return -ENOMEM;
	}
	u->ctx = c;
	for (size_t i = 0; i < n; i++)
		u->slots[i] = (struct slot){ .ctx = c, .gen = gen, .model = i };
	for (size_t i = 0; i < cat->nnodes; i++) {
		if (cat->nodes[i].model) {
			u->total_bytes += cat->nodes[i].model->size;
			u->slots[cat->nodes[i].model_index].ino = cat->nodes[i].ino;
		}
	}
	u->next = c->users;
	c->users = u;
	gen->user = u;
	mfs_sched_on_evict(gen->sched, evicted, c);
	return 0;
}

static bool held_elsewhere(void *arg, const char *object);

/* A reload's new generation, made by the daemon, adopted here. */
static struct mfs_generation *gens_reload(void *arg, const struct mfs_generation *cur)
{
	struct ctx *c = arg;
	struct mfs_generation *gen = c->mo->reload(c->mo->gen_arg, cur);

	if (!gen)
		return NULL;
	if (adopt(c, gen) < 0) {
		mfs_err("cannot reload: out of memory");
		c->mo->retire(c->mo->gen_arg, gen);
		return NULL;
	}
	mfs_sched_also_held(gen->sched, held_elsewhere, gen);
	return gen;
}

static bool held_elsewhere(void *arg, const char *object)
{
	struct mfs_generation *gen = arg;

	return mfs_gens_held_elsewhere(GENUSER(gen)->ctx->gens, gen->sched, object);
}

/* The kernel cached the old tree for a day (entries, attributes, misses):
 * what changed is dropped, so the new tree shows at once.  A name that
 * went away, or now names another inode, loses its entry; a new name
 * loses the miss the kernel may hold for it; every directory of both
 * gets its attributes refreshed. */
static void gens_installed(void *arg, struct mfs_generation *old, struct mfs_generation *cur)
{
	struct ctx *c = arg;
	char path[MFS_MOUNTPATH_MAX + 1];

	for (size_t i = 0; i < old->cat.nnodes; i++) {
		const struct mfs_node *n = &old->cat.nodes[i], *m;

		if (!n->name || n->ino == MFS_ROOT_INO)
			continue;
		mfs_catalog_path(&old->cat, n, path, sizeof(path));
		m = mfs_catalog_resolve(&cur->cat, path);
		if (!m || m->ino != n->ino)
			fuse_lowlevel_notify_inval_entry(c->se, n->parent, n->name, strlen(n->name));
		else if (!n->model)
			fuse_lowlevel_notify_inval_inode(c->se, n->ino, 0, 0);
	}
	for (size_t i = 0; i < cur->cat.nnodes; i++) {
		const struct mfs_node *m = &cur->cat.nodes[i], *parent;

		if (!m->name || m->ino == MFS_ROOT_INO)
			continue;
		mfs_catalog_path(&cur->cat, m, path, sizeof(path));
		parent = mfs_catalog_node(&old->cat, m->parent);
		if (!mfs_catalog_resolve(&old->cat, path) && parent && !parent->model)
			fuse_lowlevel_notify_inval_entry(c->se, m->parent, m->name, strlen(m->name));
	}
	fuse_lowlevel_notify_inval_inode(c->se, MFS_ROOT_INO, 0, 0);
}

/* Nobody uses `gen` any more: the daemon frees it (its slots stay until
 * unmount: a late interrupt callback may still look at them). */
static void gens_retire(void *arg, struct mfs_generation *gen)
{
	struct ctx *c = arg;

	c->mo->retire(c->mo->gen_arg, gen);
}

/* SIGHUP asks for a reload (libfuse's own handler would end the loop). */
static _Atomic(struct mfs_gens *) hup_gens;

static void on_sighup(int sig)
{
	struct mfs_gens *g = atomic_load(&hup_gens);

	if (g)
		mfs_gens_request_reload(g);
}

int mfs_fuse_run(const struct mfs_mount_opts *mo, struct mfs_generation **gen)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg;
	struct fuse_session *se;
	struct ctx c = { .mo = mo, .metrics = mo->metrics };
	const struct mfs_gens_ops gops = { gens_reload, gens_installed, gens_retire, &c };
	struct sigaction hup = { .sa_handler = on_sighup };
	int rc;

	if (mo->lock_files) {
		rc = mfs_lockfiles_new(FIRST_LOCK_INO, &c.locks);
		if (rc < 0)
			return rc;
	}
	rc = mfs_passthrough_new(mo->passthrough, &c.pt);
	if (rc < 0)
		goto out_free_locks;
	rc = adopt(&c, *gen);
	if (rc < 0)
		goto out_free_passthrough;
	rc = mfs_gens_new(*gen, &gops, &c.gens);
	if (rc < 0)
		goto out_free_users;
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
	c.se = se;
	/* libfuse leaves an ignored signal alone, and a shell starts background
	 * jobs with SIGINT ignored: the daemon must still stop cleanly on it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_destroy;
	/* Ours, not libfuse's (which ends the loop on SIGHUP too). */
	sigemptyset(&hup.sa_mask);
	if (!mo->reload)
		hup.sa_handler = SIG_IGN;
	atomic_store(&hup_gens, c.gens);
	sigaction(SIGHUP, &hup, NULL);
	/* Canonical before the mount: afterwards resolving it would ask us. */
	c.mountpoint = realpath(mo->mountpoint, NULL);
	if (fuse_session_mount(se, mo->mountpoint) != 0) {
		mfs_err("cannot mount on '%s'", mo->mountpoint);
		goto out_signals;
	}
	/* For the backing-id ioctls. */
	mfs_passthrough_set_devfd(c.pt, fuse_session_fd(se));
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
	/* After daemonizing: a thread would not follow the fork.  A SIGHUP
	 * since the handler was set waits in the pipe. */
	if (mfs_gens_start(c.gens) < 0) {
		mfs_err("cannot start the reload thread");
		goto out_unmount;
	}
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
	/* Answer every open still waiting while the channel is open: the
	 * replaced generations' (retired now, whoever still holds them: no
	 * request follows), then the current one's. */
	signal(SIGHUP, SIG_IGN);
	atomic_store(&hup_gens, NULL);
	*gen = mfs_gens_free(c.gens);
	c.gens = NULL;
	mfs_sched_stop((*gen)->sched);
	mfs_sched_on_evict((*gen)->sched, NULL, NULL);
	mfs_sched_also_held((*gen)->sched, NULL, NULL);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out_free_args:
	fuse_opt_free_args(&args);
	if (c.gens) {
		*gen = mfs_gens_free(c.gens);
		mfs_sched_on_evict((*gen)->sched, NULL, NULL);
	}
out_free_users:
	while (c.users) {
		struct genuser *u = c.users;

		c.users = u->next;
		free(u->slots);
		free(u);
	}
	(*gen)->user = NULL;
out_free_passthrough:
	mfs_passthrough_free(c.pt);
	free(c.mountpoint);
out_free_locks:
	mfs_lockfiles_free(c.locks);
	return rc;
}
