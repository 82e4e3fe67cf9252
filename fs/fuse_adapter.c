/* fuse_adapter — see include/fuse_adapter.h. */
#define FUSE_USE_VERSION 314
#include "fuse_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

/* Verified files never change and the tree is fixed for the mount's life. */
#define CACHE_TIMEOUT 86400.0

/* Long-lived per-model cookie for interrupt callbacks: libfuse may run the
 * callback after the request was answered, so its data must not be freed
 * by the answer. */
struct slot {
	struct ctx *ctx;
	size_t model;
};

struct ctx {
	const struct mfs_catalog *cat;
	struct mfs_gate *gate;
	struct slot *slots;
};

static struct ctx *req_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
}

static void reply_entry(fuse_req_t req, const struct mfs_node *node)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr_timeout = CACHE_TIMEOUT;
	e.entry_timeout = CACHE_TIMEOUT;
	if (node) {
		e.ino = node->ino;
		e.generation = 1;
		mfs_catalog_stat(req_ctx(req)->cat, node, &e.attr);
	}
	/* ino 0 is a negative entry the kernel caches: the tree never grows. */
	fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct mfs_catalog *cat = req_ctx(req)->cat;
	const struct mfs_node *dir = mfs_catalog_node(cat, parent);

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (dir->model) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	reply_entry(req, mfs_catalog_lookup(cat, parent, name));
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct mfs_catalog *cat = req_ctx(req)->cat;
	const struct mfs_node *node = mfs_catalog_node(cat, ino);
	struct stat st;

	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	mfs_catalog_stat(cat, node, &st);
	fuse_reply_attr(req, &st, CACHE_TIMEOUT);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct mfs_catalog *cat = req_ctx(req)->cat;
	const struct mfs_node *dir = mfs_catalog_node(cat, ino);
	char *buf;
	size_t used = 0;

	if (!dir) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (dir->model) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Offsets: 0 ".", 1 "..", 2 + i the i-th child; each entry carries
	 * the offset of the next one. */
	for (size_t i = (size_t)off; i < dir->nchildren + 2; i++) {
		const struct mfs_node *n;
		const char *name;
		struct stat st;
		size_t len;

		if (i == 0) {
			n = dir;
			name = ".";
		} else if (i == 1) {
			n = mfs_catalog_node(cat, dir->parent);
			name = "..";
		} else {
			n = mfs_catalog_node(cat, dir->children[i - 2]);
			name = n->name;
		}
		memset(&st, 0, sizeof(st));
		st.st_ino = n->ino;
		st.st_mode = n->model ? S_IFREG : S_IFDIR;
		len = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(i + 1));
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void reply_open_fd(fuse_req_t req, int fd)
{
	struct fuse_file_info fi;

	memset(&fi, 0, sizeof(fi));
	fi.fh = (uint64_t)fd;
	fi.keep_cache = 1;
	/* A request interrupted meanwhile gets no release: close it here. */
	if (fuse_reply_open(req, &fi) != 0)
		close(fd);
}

static void open_done(void *arg, size_t model, int result)
{
	fuse_req_t req = arg;

	if (result >= 0)
		reply_open_fd(req, result);
	else
		fuse_reply_err(req, -result);
}

static void open_interrupted(fuse_req_t req, void *data)
{
	struct slot *s = data;

	if (mfs_gate_cancel(s->ctx->gate, s->model, req))
		fuse_reply_err(req, EINTR);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ctx *c = req_ctx(req);
	const struct mfs_node *node = mfs_catalog_node(c->cat, ino);
	int rc;

	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!node->model) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* Registered before queueing: once queued, a worker may answer and
	 * free the request at any moment. */
	fuse_req_interrupt_func(req, open_interrupted, &c->slots[node->model_index]);
	if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
		return;
	}
	rc = mfs_gate_open(c->gate, node->model_index, open_done, req);
	if (rc >= 0)
		reply_open_fd(req, rc);
	else if (rc != -EINPROGRESS)
		fuse_reply_err(req, rc == -EAGAIN ? EAGAIN : EIO);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
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

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	const struct mfs_catalog *cat = req_ctx(req)->cat;
	struct statvfs sv;
	uint64_t bytes = 0;

	for (size_t i = 0; i < cat->nnodes; i++) {
		if (cat->nodes[i].model)
			bytes += cat->nodes[i].model->size;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (bytes + 4095) / 4096;
	sv.f_files = cat->nnodes;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
}

/* Every operation that would change the tree or a file. */
static void erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	erofs(req);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	erofs(req);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	erofs(req);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
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

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	erofs(req);
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
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};

int mfs_fuse_run(const struct mfs_mount_opts *mo, const struct mfs_catalog *cat,
		 struct mfs_gate *gate)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg;
	struct fuse_session *se;
	struct ctx c = { .cat = cat, .gate = gate };
	size_t nmodels = 0;
	int rc = -EIO;

	for (size_t i = 0; i < cat->nnodes; i++) {
		if (cat->nodes[i].model && cat->nodes[i].model_index + 1 > nmodels)
			nmodels = cat->nodes[i].model_index + 1;
	}
	c.slots = calloc(nmodels ? nmodels : 1, sizeof(*c.slots));
	if (!c.slots)
		return -ENOMEM;
	for (size_t i = 0; i < nmodels; i++) {
		c.slots[i].ctx = &c;
		c.slots[i].model = i;
	}
	if (fuse_opt_add_arg(&args, "modelfs") != 0 ||
	    (mo->fuse_opts && mo->fuse_opts[0] &&
	     (fuse_opt_add_arg(&args, "-o") != 0 || fuse_opt_add_arg(&args, mo->fuse_opts) != 0)) ||
	    (mo->debug && fuse_opt_add_arg(&args, "-d") != 0)) {
		rc = -ENOMEM;
		goto out_free_args;
	}
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
	if (fuse_session_mount(se, mo->mountpoint) != 0) {
		mfs_err("cannot mount on '%s'", mo->mountpoint);
		goto out_signals;
	}
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
	mfs_gate_stop(gate);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out_free_args:
	fuse_opt_free_args(&args);
	free(c.slots);
	return rc;
}
