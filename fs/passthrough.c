/* passthrough — see include/passthrough.h. */
#include "passthrough.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Kernel ABI newer than Debian 12's <linux/fuse.h> (protocol 7.38);
 * from protocol 7.40 (Linux 6.9). */
#define PT_INIT_FLAG2      (1u << 5)    /* FUSE_PASSTHROUGH = 1ULL << 37 */
#define PT_FOPEN_FLAG      (1u << 7)    /* FOPEN_PASSTHROUGH */
#define PT_STACK_DEPTH     1u

struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define PT_IOC_BACKING_OPEN  _IOW(FUSE_DEV_IOC_MAGIC, 1, struct pt_backing_map)

/* Where 7.40 put the new fields, in the 7.38 structs we have. */
#define PT_INIT_OUT_STACK_DEPTH (offsetof(struct fuse_init_out, flags2) + 4)
#define PT_OPEN_OUT_BACKING_ID  offsetof(struct fuse_open_out, padding)
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out layout");
_Static_assert(sizeof(struct fuse_open_out) == 16, "fuse_open_out layout");

/* One verified object's registration. */
struct slot {
	dev_t dev;
	ino_t ino;
	int id;          /* > 0 registered; < 0 refused (-errno); 0 never tried */
};

struct mfs_passthrough {
	bool want;
	int devfd;
	atomic_bool init_seen;       /* the kernel's INIT was read */
	atomic_bool offered;         /* ... and offered passthrough */
	atomic_bool negotiated;      /* our INIT reply asked for it */
	atomic_bool refused;         /* the kernel said no for every object */
	_Atomic uint64_t init_unique;
	pthread_mutex_t lock;        /* slots */
	struct slot *slots;
	size_t nslots;
};

static _Thread_local int armed_id;

int mfs_passthrough_new(size_t nobjects, bool want, struct mfs_passthrough **out)
{
	struct mfs_passthrough *pt = calloc(1, sizeof(*pt));

	*out = NULL;
	if (!pt)
		return -ENOMEM;
	pt->slots = calloc(nobjects ? nobjects : 1, sizeof(*pt->slots));
	if (!pt->slots) {
		free(pt);
		return -ENOMEM;
	}
	pt->nslots = nobjects;
	pt->want = want;
	pt->devfd = -1;
	pthread_mutex_init(&pt->lock, NULL);
	*out = pt;
	return 0;
}

void mfs_passthrough_free(struct mfs_passthrough *pt)
{
	if (!pt)
		return;
	pthread_mutex_destroy(&pt->lock);
	free(pt->slots);
	free(pt);
}

void mfs_passthrough_set_devfd(struct mfs_passthrough *pt, int devfd)
{
	pt->devfd = devfd;
}

void mfs_passthrough_arm(int backing_id)
{
	armed_id = backing_id;
}

ssize_t mfs_passthrough_read(struct mfs_passthrough *pt, int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	struct fuse_in_header ih;
	struct fuse_init_in in;

	/* Only the first request is INIT; afterwards this is one load. */
	if (n < (ssize_t)sizeof(ih) || !pt->want || atomic_load(&pt->init_seen))
		return n;
	memcpy(&ih, buf, sizeof(ih));
	if (ih.opcode != FUSE_INIT)
		return n;
	atomic_store(&pt->init_seen, true);
	memset(&in, 0, sizeof(in));
	memcpy(&in, (char *)buf + sizeof(ih),
	       (size_t)n - sizeof(ih) < sizeof(in) ? (size_t)n - sizeof(ih) : sizeof(in));
	if ((size_t)n >= sizeof(ih) + offsetof(struct fuse_init_in, flags2) + sizeof(in.flags2) &&
	    (in.flags & FUSE_INIT_EXT) && (in.flags2 & PT_INIT_FLAG2)) {
		atomic_store(&pt->init_unique, ih.unique);
		atomic_store(&pt->offered, true);
	} else {
		mfs_info("the kernel does not offer FUSE passthrough: reads are spliced");
	}
	return n;
}

/* Adds passthrough to libfuse's INIT reply, if it is a complete one. */
static bool patch_init(struct iovec *iov, int count)
{
	struct fuse_init_out out;
	uint32_t depth = PT_STACK_DEPTH;

	if (count < 2 || iov[1].iov_len < PT_INIT_OUT_STACK_DEPTH + sizeof(depth))
		return false;
	memcpy(&out, iov[1].iov_base, offsetof(struct fuse_init_out, flags2) + sizeof(out.flags2));
	if (!(out.flags & FUSE_INIT_EXT))
		return false;
	out.flags2 |= PT_INIT_FLAG2;
	memcpy((char *)iov[1].iov_base + offsetof(struct fuse_init_out, flags2), &out.flags2,
	       sizeof(out.flags2));
	memcpy((char *)iov[1].iov_base + PT_INIT_OUT_STACK_DEPTH, &depth, sizeof(depth));
	return true;
}

static void patch_open(struct iovec *iov, int count, int id)
{
	struct fuse_open_out out;
	uint32_t bid = (uint32_t)id;

	if (count < 2 || iov[1].iov_len != sizeof(out))
		return;
	memcpy(&out, iov[1].iov_base, sizeof(out));
	out.open_flags |= PT_FOPEN_FLAG;
	out.open_flags &= ~(uint32_t)FOPEN_KEEP_CACHE;
	memcpy((char *)iov[1].iov_base + offsetof(struct fuse_open_out, open_flags),
	       &out.open_flags, sizeof(out.open_flags));
	memcpy((char *)iov[1].iov_base + PT_OPEN_OUT_BACKING_ID, &bid, sizeof(bid));
}

ssize_t mfs_passthrough_writev(struct mfs_passthrough *pt, int fd, struct iovec *iov, int count)
{
	struct fuse_out_header oh;
	bool init = false;
	ssize_t n;

	if (count >= 1 && iov[0].iov_len == sizeof(oh)) {
		memcpy(&oh, iov[0].iov_base, sizeof(oh));
		if (oh.error == 0 && armed_id > 0)
			patch_open(iov, count, armed_id);
		else if (oh.error == 0 && atomic_load(&pt->offered) &&
			 !atomic_load(&pt->negotiated) && oh.unique == atomic_load(&pt->init_unique)) {
			init = patch_init(iov, count);
			/* Whatever happens, this is the only INIT reply. */
			atomic_store(&pt->offered, false);
			if (!init)
				mfs_warn("cannot ask for FUSE passthrough in this INIT reply: "
					 "reads are spliced");
			/* Before the write: once the kernel has the reply, another
			 * thread may already answer an OPEN, and every open of an
			 * object must choose the same way. */
			atomic_store(&pt->negotiated, init);
		}
	}
	n = writev(fd, iov, count);
	if (init) {
		if (n < 0) {
			int err = errno;

			atomic_store(&pt->negotiated, false);
			errno = err;
		} else {
			mfs_info("FUSE passthrough negotiated: verified models are read from the "
				 "store directly");
		}
	}
	return n;
}

ssize_t mfs_passthrough_splice(int fdin, loff_t *offin, int fdout, loff_t *offout, size_t len,
			       unsigned int flags)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static void refuse(struct mfs_passthrough *pt, struct slot *s, int err)
{
	s->id = -err;
	if (err == EPERM || err == ELOOP) {
		/* Not CAP_SYS_ADMIN, the kernel turned it down at INIT, or
		 * the store is on a stacked file system: the same answer for
		 * every object. */
		atomic_store(&pt->refused, true);
		mfs_warn("FUSE passthrough refused by the kernel (%s): reads are spliced",
			 strerror(err));
	} else {
		mfs_warn("FUSE passthrough refused for a store object (%s): its reads are spliced",
			 strerror(err));
	}
}

int mfs_passthrough_backing(struct mfs_passthrough *pt, size_t slot, int fd)
{
	struct pt_backing_map map = { .fd = fd };
	struct slot *s;
	struct stat st;
	int id;

	if (!atomic_load(&pt->negotiated) || atomic_load(&pt->refused) || slot >= pt->nslots ||
	    pt->devfd < 0 || fstat(fd, &st) < 0)
		return 0;
	s = &pt->slots[slot];
	pthread_mutex_lock(&pt->lock);
	if (s->id == 0 || s->dev != st.st_dev || s->ino != st.st_ino) {
		/* A new object (first open, or re-verified after a change).
		 * The old id is not closed: files open on it may still be
		 * being set up by the kernel; the connection frees it. */
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		id = ioctl(pt->devfd, PT_IOC_BACKING_OPEN, &map);
		if (id > 0)
			s->id = id;
		else
			refuse(pt, s, id < 0 ? errno : EINVAL);
	}
	id = s->id > 0 ? s->id : 0;
	pthread_mutex_unlock(&pt->lock);
	return id;
}
