/* cancel — one "stop now" for the work in flight: a flag that the work
 * polls between steps (a body's pieces, a hash's blocks, an archive's
 * members), and the sockets of the transfers in flight, which are shut
 * down when it fires, so that a transfer waiting on a silent peer wakes
 * at once instead of at its next timeout.  Thread-safe. */
#ifndef MFS_CANCEL_H
#define MFS_CANCEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct mfs_cancel {
	atomic_bool fired;
	pthread_mutex_t lock;   /* the sockets */
	int *fds;
	size_t nfds, cap;
};

/* Not fired, no sockets.  Pair with mfs_cancel_release. */
void mfs_cancel_init(struct mfs_cancel *c);
void mfs_cancel_release(struct mfs_cancel *c);

/* Fires: sets the flag and shuts down (shutdown(2), both ways) every
 * socket being watched.  Idempotent. */
void mfs_cancel_fire(struct mfs_cancel *c);

/* True once `c` fired; false for NULL. */
bool mfs_cancel_fired(const struct mfs_cancel *c);

/* Watches socket `fd` until mfs_cancel_unwatch: it is shut down if `c`
 * fires meanwhile.  0; -ECANCELED if `c` has fired already (the caller
 * should not use the socket); -ENOMEM.  Unwatch before closing the
 * socket: a closed number may be reused by another file. */
int mfs_cancel_watch(struct mfs_cancel *c, int fd);
void mfs_cancel_unwatch(struct mfs_cancel *c, int fd);

#endif
