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

#if FUSE_KERNEL_MINOR_VERSION < 36
#error "passthrough.c needs <linux/fuse.h> of protocol 7.36 or later (FUSE_INIT_EXT, flags2)"
#endif

/* The wire, as this module reads and writes it: byte offsets into the
 * payloads that follow fuse_in_header / fuse_out_header.  The protocol
 * 7.40 (Linux 6.9) additions are not in Debian 12's <linux/fuse.h>
 * (7.38), so they are spelled here; a header that has them is used
 * instead, and the asserts below hold both to the same wire. */
#define OWN_IN_HEADER_SIZE     40u
#define OWN_OUT_HEADER_SIZE    16u
#define OWN_INIT_IN_FLAGS      12u          /* fuse_init_in.flags */
#define OWN_INIT_IN_FLAGS2     16u          /* fuse_init_in.flags2 (7.36) */
#define OWN_INIT_OUT_FLAGS     12u          /* fuse_init_out.flags */
#define OWN_INIT_OUT_FLAGS2    32u          /* fuse_init_out.flags2 (7.36) */
#define OWN_INIT_OUT_DEPTH     36u          /* fuse_init_out.max_stack_depth (7.40) */
#define OWN_OPEN_OUT_SIZE      16u
#define OWN_OPEN_OUT_FLAGS     8u           /* fuse_open_out.open_flags */
#define OWN_OPEN_OUT_BACKING   12u          /* fuse_open_out.backing_id (7.40) */
#define OWN_INIT_FLAG2         (1u << 5)    /* FUSE_PASSTHROUGH = 1ULL << 37 */
#define OWN_FOPEN_PASSTHROUGH  (1u << 7)    /* FOPEN_PASSTHROUGH */
#define OWN_IOC_MAGIC          229          /* FUSE_DEV_IOC_MAGIC */

struct own_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define OWN_IOC_BACKING_OPEN   _IOW(OWN_IOC_MAGIC, 1, struct own_backing_map)
#define OWN_IOC_BACKING_CLOSE  _IOW(OWN_IOC_MAGIC, 2, uint32_t)

#ifdef FUSE_DEV_IOC_BACKING_CLOSE
#define IOC_BACKING_CLOSE FUSE_DEV_IOC_BACKING_CLOSE
_Static_assert(FUSE_DEV_IOC_BACKING_CLOSE == OWN_IOC_BACKING_CLOSE,
	       "FUSE_DEV_IOC_BACKING_CLOSE differs from the 7.40 wire");
#else
#define IOC_BACKING_CLOSE OWN_IOC_BACKING_CLOSE
#endif

/* The store may not be on a stacked file system; /models may still be
 * the lower layer of one. */
#define STACK_DEPTH 1u

#ifdef FUSE_PASSTHROUGH
#define INIT_FLAG2 ((uint32_t)((uint64_t)FUSE_PASSTHROUGH >> 32))
#else
#define INIT_FLAG2 OWN_INIT_FLAG2
#endif

#ifdef FOPEN_PASSTHROUGH
#define FOPEN_FLAG ((uint32_t)FOPEN_PASSTHROUGH)
#else
#define FOPEN_FLAG OWN_FOPEN_PASSTHROUGH
#endif

#ifdef FUSE_DEV_IOC_BACKING_OPEN
#define BACKING_MAP fuse_backing_map
#define IOC_BACKING_OPEN FUSE_DEV_IOC_BACKING_OPEN
_Static_assert(sizeof(struct fuse_backing_map) == sizeof(struct own_backing_map) &&
		       offsetof(struct fuse_backing_map, fd) == offsetof(struct own_backing_map, fd) &&
		       offsetof(struct fuse_backing_map, flags) ==
			       offsetof(struct own_backing_map, flags) &&
		       offsetof(struct fuse_backing_map, padding) ==
			       offsetof(struct own_backing_map, padding),
	       "struct fuse_backing_map differs from the 7.40 wire");
#else
#define BACKING_MAP own_backing_map
#define IOC_BACKING_OPEN OWN_IOC_BACKING_OPEN
#endif

#if FUSE_KERNEL_MINOR_VERSION >= 40
#define INIT_OUT_DEPTH   offsetof(struct fuse_init_out, max_stack_depth)
#define OPEN_OUT_BACKING offsetof(struct fuse_open_out, backing_id)
_Static_assert(sizeof(((struct fuse_init_out *)0)->max_stack_depth) == 4 &&
		       sizeof(((struct fuse_open_out *)0)->backing_id) == 4,
	       "7.40 field sizes");
#else
/* Before 7.40 these bytes are unused / padding: writing them there is
 * what a 7.40 library does. */
#define INIT_OUT_DEPTH   OWN_INIT_OUT_DEPTH
#define OPEN_OUT_BACKING OWN_OPEN_OUT_BACKING
_Static_assert(offsetof(struct fuse_init_out, unused) == OWN_INIT_OUT_DEPTH &&
		       offsetof(struct fuse_open_out, padding) == OWN_OPEN_OUT_BACKING,
	       "pre-7.40 spare fields");
#endif

_Static_assert(INIT_FLAG2 == OWN_INIT_FLAG2, "FUSE_PASSTHROUGH is not flags2 bit 5");
_Static_assert(FOPEN_FLAG == OWN_FOPEN_PASSTHROUGH, "FOPEN_PASSTHROUGH is not bit 7");
_Static_assert(IOC_BACKING_OPEN == OWN_IOC_BACKING_OPEN && FUSE_DEV_IOC_MAGIC == OWN_IOC_MAGIC,
	       "FUSE_DEV_IOC_BACKING_OPEN differs from the 7.40 wire");
_Static_assert(INIT_OUT_DEPTH == OWN_INIT_OUT_DEPTH, "fuse_init_out.max_stack_depth offset");
_Static_assert(OPEN_OUT_BACKING == OWN_OPEN_OUT_BACKING, "fuse_open_out.backing_id offset");
_Static_assert(sizeof(struct fuse_in_header) == OWN_IN_HEADER_SIZE &&
		       sizeof(struct fuse_out_header) == OWN_OUT_HEADER_SIZE,
	       "header sizes");
_Static_assert(offsetof(struct fuse_init_in, flags) == OWN_INIT_IN_FLAGS &&
		       offsetof(struct fuse_init_in, flags2) == OWN_INIT_IN_FLAGS2,
	       "fuse_init_in layout");
_Static_assert(offsetof(struct fuse_init_out, flags) == OWN_INIT_OUT_FLAGS &&
		       offsetof(struct fuse_init_out, flags2) == OWN_INIT_OUT_FLAGS2 &&
		       sizeof(struct fuse_init_out) == 64,
	       "fuse_init_out layout");
_Static_assert(offsetof(struct fuse_open_out, open_flags) == OWN_OPEN_OUT_FLAGS &&
		       sizeof(struct fuse_open_out) == OWN_OPEN_OUT_SIZE,
	       "fuse_open_out layout");

/* One verified object's registration, by its inode: opens of one inode
 * must all name the same backing file, whichever model or config (a
 * reload) they come through. */
struct slot {
	dev_t dev;
	ino_t ino;       /* 0: a free slot */
	int id;          /* > 0 registered; < 0 refused (-errno); 0 not (or no
			    more) registered */
};

struct mfs_passthrough {
	bool want;
	int devfd;
	atomic_bool init_seen;       /* the kernel's INIT was read */
	atomic_bool offered;         /* ... and offered passthrough */
	atomic_bool negotiated;      /* our INIT reply asked for it */
	atomic_bool refused;         /* the kernel said no for every object */
	atomic_bool open_logged;     /* an armed reply could not be patched */
	_Atomic uint64_t init_unique;
	pthread_mutex_t lock;        /* slots */
	struct slot *slots;          /* open addressing, a power of 2 of them */
	size_t nslots, used;
};

static _Thread_local int armed_id;

int mfs_passthrough_new(bool want, struct mfs_passthrough **out)
{
	struct mfs_passthrough *pt = calloc(1, sizeof(*pt));

	*out = NULL;
	if (!pt)
		return -ENOMEM;
	pt->nslots = 64;
	pt->slots = calloc(pt->nslots, sizeof(*pt->slots));
	if (!pt->slots) {
		free(pt);
		return -ENOMEM;
	}
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
	const char *body;
	struct fuse_in_header ih;
	uint32_t flags, flags2;

	/* Only the first request is INIT; afterwards this is one load. */
	if (n < (ssize_t)sizeof(ih) || !pt->want || atomic_load(&pt->init_seen))
		return n;
	memcpy(&ih, buf, sizeof(ih));
	if (ih.opcode != FUSE_INIT)
		return n;
	atomic_store(&pt->init_seen, true);
	if ((size_t)n >= OWN_IN_HEADER_SIZE + OWN_INIT_IN_FLAGS2 + sizeof(flags2)) {
		body = (const char *)buf + OWN_IN_HEADER_SIZE;
		memcpy(&flags, body + OWN_INIT_IN_FLAGS, sizeof(flags));
		memcpy(&flags2, body + OWN_INIT_IN_FLAGS2, sizeof(flags2));
		if ((flags & FUSE_INIT_EXT) && (flags2 & INIT_FLAG2)) {
			atomic_store(&pt->init_unique, ih.unique);
			atomic_store(&pt->offered, true);
			return n;
		}
	}
	mfs_info("the kernel does not offer FUSE passthrough: reads are spliced");
	return n;
}

/* The bytes libfuse hands to writev, as one frame. */
static size_t frame_len(const struct iovec *iov, int count)
{
	size_t len = 0;

	for (int i = 0; i < count; i++)
		len = iov[i].iov_len > SIZE_MAX - len ? SIZE_MAX : len + iov[i].iov_len;
	return len;
}

/* Copies `n` bytes between `buf` and the frame at byte `off`, across
 * iovec boundaries; the caller has checked that the frame holds them. */
static void frame_copy(const struct iovec *iov, int count, size_t off, void *buf, size_t n,
		       bool to_frame)
{
	char *b = buf;

	for (int i = 0; i < count && n > 0; i++) {
		size_t k;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off < n ? iov[i].iov_len - off : n;
		if (to_frame)
			memcpy((char *)iov[i].iov_base + off, b, k);
		else
			memcpy(b, (const char *)iov[i].iov_base + off, k);
		b += k;
		n -= k;
		off = 0;
	}
}

static uint32_t frame_get32(const struct iovec *iov, int count, size_t off)
{
	uint32_t v;

	frame_copy(iov, count, off, &v, sizeof(v), false);
	return v;
}

static void frame_put32(struct iovec *iov, int count, size_t off, uint32_t v)
{
	frame_copy(iov, count, off, &v, sizeof(v), true);
}

/* Adds passthrough to libfuse's INIT reply, if it is a complete one. */
static bool patch_init(struct iovec *iov, int count, size_t len)
{
	const size_t p = OWN_OUT_HEADER_SIZE;

	if (len < p + INIT_OUT_DEPTH + sizeof(uint32_t) ||
	    !(frame_get32(iov, count, p + OWN_INIT_OUT_FLAGS) & FUSE_INIT_EXT))
		return false;
	frame_put32(iov, count, p + OWN_INIT_OUT_FLAGS2,
		    frame_get32(iov, count, p + OWN_INIT_OUT_FLAGS2) | INIT_FLAG2);
	frame_put32(iov, count, p + INIT_OUT_DEPTH, STACK_DEPTH);
	return true;
}

static void patch_open(struct mfs_passthrough *pt, struct iovec *iov, int count, size_t len,
		       int id)
{
	const size_t p = OWN_OUT_HEADER_SIZE;
	uint32_t flags;

	/* fuse_reply_open sends exactly one fuse_open_out: anything else is
	 * not the reply the arming thread meant, and is left alone. */
	if (len != p + OWN_OPEN_OUT_SIZE) {
		if (!atomic_exchange(&pt->open_logged, true))
			mfs_warn("an armed OPEN reply has %zu bytes, not %u: sent without "
				 "passthrough",
				 len, (unsigned)(p + OWN_OPEN_OUT_SIZE));
		return;
	}
	flags = frame_get32(iov, count, p + OWN_OPEN_OUT_FLAGS);
	flags |= FOPEN_FLAG;
	flags &= ~(uint32_t)FOPEN_KEEP_CACHE;
	frame_put32(iov, count, p + OWN_OPEN_OUT_FLAGS, flags);
	frame_put32(iov, count, p + OPEN_OUT_BACKING, (uint32_t)id);
}

ssize_t mfs_passthrough_writev(struct mfs_passthrough *pt, int fd, struct iovec *iov, int count)
{
	size_t len = frame_len(iov, count);
	struct fuse_out_header oh;
	bool init = false;
	ssize_t n;

	if (len >= sizeof(oh)) {
		frame_copy(iov, count, 0, &oh, sizeof(oh), false);
		if (oh.error == 0 && armed_id > 0)
			patch_open(pt, iov, count, len, armed_id);
		else if (oh.error == 0 && atomic_load(&pt->offered) &&
			 !atomic_load(&pt->negotiated) && oh.unique == atomic_load(&pt->init_unique)) {
			init = patch_init(iov, count, len);
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

bool mfs_passthrough_negotiate(struct mfs_passthrough *pt, bool offered)
{
	bool ask = pt->want && offered;

	if (!pt->want || atomic_exchange(&pt->init_seen, true))
		return false;
	if (ask)
		mfs_info("FUSE passthrough negotiated: verified models are read from the store "
			 "directly");
	else
		mfs_info("the kernel does not offer FUSE passthrough: reads are spliced");
	atomic_store(&pt->negotiated, ask);
	return ask;
}

/* The kernel's answer for every object, not just this one: no
 * CAP_SYS_ADMIN or not enabled at INIT (EPERM), a store on a stacked file
 * system (ELOOP), no passthrough ioctl at all (ENOTTY, EOPNOTSUPP). */
static bool mount_wide(int err)
{
	return err == EPERM || err == ELOOP || err == ENOTTY || err == EOPNOTSUPP;
}

static void refuse(struct mfs_passthrough *pt, struct slot *s, int err)
{
	s->id = -err;
	if (mount_wide(err)) {
		/* Under the lock, which no later caller passes with an id to
		 * make: logged once. */
		atomic_store(&pt->refused, true);
		mfs_warn("FUSE passthrough refused by the kernel (%s): reads are spliced",
			 strerror(err));
	} else {
		mfs_warn("FUSE passthrough refused for a store object (%s): its reads are spliced",
			 strerror(err));
	}
}

static size_t slot_hash(dev_t dev, ino_t ino, size_t n)
{
	uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)dev * 0xbf58476d1ce4e5b9ULL);

	return (size_t)(h ^ (h >> 29)) & (n - 1);
}

/* Under pt->lock: the slot of inode (dev, ino), made if `make` (the table
 * grows to stay at most half full); NULL if absent, or without memory. */
static struct slot *find_slot(struct mfs_passthrough *pt, dev_t dev, ino_t ino, bool make)
{
	size_t i;

	if (make && 2 * (pt->used + 1) > pt->nslots) {
		size_t n = 2 * pt->nslots;
		struct slot *v = calloc(n, sizeof(*v));

		if (!v)
			return NULL;
		for (size_t k = 0; k < pt->nslots; k++) {
			if (!pt->slots[k].ino)
				continue;
			for (i = slot_hash(pt->slots[k].dev, pt->slots[k].ino, n); v[i].ino;
			     i = (i + 1) & (n - 1))
				;
			v[i] = pt->slots[k];
		}
		free(pt->slots);
		pt->slots = v;
		pt->nslots = n;
	}
	for (i = slot_hash(dev, ino, pt->nslots); pt->slots[i].ino; i = (i + 1) & (pt->nslots - 1)) {
		if (pt->slots[i].dev == dev && pt->slots[i].ino == ino)
			return &pt->slots[i];
	}
	if (!make)
		return NULL;
	pt->slots[i] = (struct slot){ .dev = dev, .ino = ino };
	pt->used++;
	return &pt->slots[i];
}

int mfs_passthrough_backing_via(struct mfs_passthrough *pt, int fd,
				int (*open_backing)(void *arg, int fd), void *arg)
{
	struct slot *s;
	struct stat st;
	int id = 0;

	/* (An inode number is never 0 here: ext4, xfs, tmpfs start at 1.) */
	if (!atomic_load(&pt->negotiated) || fstat(fd, &st) < 0 || st.st_ino == 0)
		return 0;
	pthread_mutex_lock(&pt->lock);
	s = find_slot(pt, st.st_dev, st.st_ino, true);
	/* An object keeps its answer as long as it is registered, even after
	 * the kernel refused another one: opens of it must agree.  (The id
	 * of an object replaced by a new one is not closed: files open on it
	 * may still be being set up by the kernel; the connection frees it.) */
	if (s && s->id == 0 && !atomic_load(&pt->refused)) {
		id = open_backing(arg, fd);
		if (id > 0)
			s->id = id;
		else
			refuse(pt, s, id < 0 ? -id : EINVAL);
	}
	id = s && s->id > 0 ? s->id : 0;
	pthread_mutex_unlock(&pt->lock);
	return id;
}

static int ioctl_backing(void *arg, int fd)
{
	struct mfs_passthrough *pt = arg;
	struct BACKING_MAP map = { .fd = fd };
	int id = ioctl(pt->devfd, IOC_BACKING_OPEN, &map);

	return id > 0 ? id : id < 0 ? -errno : -EINVAL;
}

void mfs_passthrough_forget(struct mfs_passthrough *pt, dev_t dev, ino_t ino)
{
	struct slot *s;

	pthread_mutex_lock(&pt->lock);
	s = find_slot(pt, dev, ino, false);
	if (s && s->id > 0 && pt->devfd >= 0) {
		uint32_t id = (uint32_t)s->id;

		if (ioctl(pt->devfd, IOC_BACKING_CLOSE, &id) < 0)
			mfs_warn("cannot close FUSE backing id %u: %s", id, strerror(errno));
	}
	/* The key stays (no tombstones needed); an id of 0 registers anew. */
	if (s && s->id > 0)
		s->id = 0;
	pthread_mutex_unlock(&pt->lock);
}

int mfs_passthrough_backing(struct mfs_passthrough *pt, int fd)
{
	if (pt->devfd < 0)
		return 0;
	return mfs_passthrough_backing_via(pt, fd, ioctl_backing, pt);
}
