/* passthrough — FUSE passthrough (Linux >= 6.9), under Debian's libfuse
 * 3.14, which predates it, and under libfuse >= 3.17, which has it.
 *
 * With passthrough the kernel serves read(2) and mmap of an open model
 * straight from the store object the daemon verified: no READ requests,
 * no second copy of the bytes in FUSE's own page cache, native read speed
 * from the first read on.
 *
 * libfuse 3.14 cannot ask for it, so this module speaks the three
 * protocol bits itself, through libfuse's custom I/O hooks
 * (fuse_session_custom_io) around the /dev/fuse fd:
 *
 *   - the kernel's INIT request is looked at as it is read: does it offer
 *     FUSE_PASSTHROUGH (flags2 bit 5, with FUSE_INIT_EXT)?
 *   - the INIT reply libfuse writes gets FUSE_PASSTHROUGH and a stack
 *     depth of 1 added (the store's file system may not itself be stacked;
 *     /models may still be the lower layer of an overlay);
 *   - an OPEN reply written by a thread that armed it with
 *     mfs_passthrough_arm() gets FOPEN_PASSTHROUGH and the backing id (and
 *     loses FOPEN_KEEP_CACHE, which the kernel refuses next to it).
 * Replies are patched by byte offset in the frame libfuse writes, however
 * it splits that frame into iovecs; a reply too short to hold the fields
 * is sent untouched (and the fact logged once).
 *
 * libfuse >= 3.17 (FUSE_CAP_PASSTHROUGH) negotiates passthrough itself:
 * there the adapter installs no hooks, asks through conn->want when
 * mfs_passthrough_negotiate() says so, makes backing ids with
 * fuse_passthrough_open() through mfs_passthrough_backing_via(), and
 * replies with fi->backing_id.
 *
 * Backing ids come from the FUSE_DEV_IOC_BACKING_OPEN ioctl on the
 * /dev/fuse fd (CAP_SYS_ADMIN): one per verified object, registered on its
 * first open and kept for the mount's life (the kernel drops them with the
 * connection), so concurrent opens of a model always name the same
 * backing file, as the kernel requires.
 *
 * Trust is unchanged: a backing id is only ever made from the fd the gate
 * verified (rule 2), after verification (rule 1), and the kernel reopens
 * that same inode for each open file.
 *
 * When anything is missing (an older kernel, CONFIG_FUSE_PASSTHROUGH off,
 * no CAP_SYS_ADMIN, a store on a stacked file system, `passthrough = no`)
 * opens are answered as before (spliced READs with keep_cache).  The
 * choice is per object and sticks, so all opens of an inode agree: the
 * kernel fails an open (EIO) whose mode differs from one still open.
 * Nothing here includes fuse_lowlevel.h: the hooks have libfuse's
 * signatures and the adapter installs them. */
#ifndef MFS_PASSTHROUGH_H
#define MFS_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct mfs_passthrough;

/* Backing ids are kept per inode of a verified object, whichever model
 * (or config, after a reload) it is opened through.  `want` false: the
 * hooks only forward, nothing is asked for.  -ENOMEM. */
int mfs_passthrough_new(bool want, struct mfs_passthrough **out);
void mfs_passthrough_free(struct mfs_passthrough *pt);

/* The /dev/fuse fd of the mounted session (for the ioctls). */
void mfs_passthrough_set_devfd(struct mfs_passthrough *pt, int devfd);

/* libfuse custom I/O hooks (same contract as read(2), writev(2),
 * splice(2), errno included).  read looks at the first request only;
 * writev patches the INIT reply (the one whose unique is the offering
 * INIT request's, with error 0) and, on a thread armed with
 * mfs_passthrough_arm(), an OPEN reply (error 0, 16-byte payload);
 * every other frame is written byte for byte. */
ssize_t mfs_passthrough_read(struct mfs_passthrough *pt, int fd, void *buf, size_t len);
ssize_t mfs_passthrough_writev(struct mfs_passthrough *pt, int fd, struct iovec *iov, int count);
ssize_t mfs_passthrough_splice(int fdin, loff_t *offin, int fdout, loff_t *offout, size_t len,
			       unsigned int flags);

/* For a libfuse that negotiates passthrough itself (>= 3.17), instead of
 * the hooks: called from the INIT handler with whether the kernel offered
 * it (conn->capable has FUSE_CAP_PASSTHROUGH).  Returns true when the
 * adapter must ask for it in this INIT reply (conn->want, stack depth
 * FUSE_BACKING_STACKED_UNDER); from then on backing ids are made.  Logs
 * as the hooks do.  Call it once, before any open is answered. */
bool mfs_passthrough_negotiate(struct mfs_passthrough *pt, bool offered);

/* The backing id for the object whose verified bytes `fd` is open on:
 * the one registered for this inode before, else a new one.  Returns > 0,
 * or 0 when this object is served without passthrough (not negotiated:
 * the kernel did not offer it, or our INIT reply did not ask; or the
 * kernel refused the ioctl, which tells whether it really enabled it: the
 * reason is logged once).  An object that has an id keeps it, even after
 * the kernel refused another one.  Makes ids with the ioctl on the fd
 * given to mfs_passthrough_set_devfd (none set: 0). */
int mfs_passthrough_backing(struct mfs_passthrough *pt, int fd);

/* The same, with ids made by `open_backing(arg, fd)` (libfuse >= 3.17:
 * fuse_passthrough_open on the request being answered), which returns an
 * id > 0 or -errno: -EPERM (no CAP_SYS_ADMIN, or not enabled at INIT),
 * -ELOOP (store on a stacked file system), -ENOTTY or -EOPNOTSUPP (no
 * passthrough in this kernel) refuse passthrough for the whole mount, any
 * other error for this object only.  Called at most once per object and
 * inode, with the lock on the slots held. */
int mfs_passthrough_backing_via(struct mfs_passthrough *pt, int fd,
				int (*open_backing)(void *arg, int fd), void *arg);

/* The object on inode (dev, ino) left the store (evicted) and no file is
 * open on it: its backing id, if any, is closed
 * (FUSE_DEV_IOC_BACKING_CLOSE), so that the kernel lets go of the file,
 * and an open of that inode registers anew.  Only call it when no open of
 * the object is in flight or open.  (While an id is registered the kernel
 * holds the file, so its inode number cannot be reused meanwhile.) */
void mfs_passthrough_forget(struct mfs_passthrough *pt, dev_t dev, ino_t ino);

/* The next OPEN reply this thread writes carries `backing_id` (> 0);
 * mfs_passthrough_arm(0) disarms.  Arm right before fuse_reply_open and
 * disarm right after. */
void mfs_passthrough_arm(int backing_id);

#endif
