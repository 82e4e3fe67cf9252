/* cancel — see include/cancel.h. */
#include "cancel.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

void mfs_cancel_init(struct mfs_cancel *c)
{
	atomic_init(&c->fired, false);
	pthread_mutex_init(&c->lock, NULL);
	c->fds = NULL;
	c->nfds = c->cap = 0;
}

void mfs_cancel_release(struct mfs_cancel *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c->fds);
	c->fds = NULL;
	c->nfds = c->cap = 0;
}

void mfs_cancel_fire(struct mfs_cancel *c)
{
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->fired, true);
	/* Under the lock: a socket is unwatched before it is closed, so each
	 * number here still names that socket. */
	for (size_t i = 0; i < c->nfds; i++)
		shutdown(c->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&c->lock);
}

bool mfs_cancel_fired(const struct mfs_cancel *c)
{
	return c && atomic_load(&c->fired);
}

int mfs_cancel_watch(struct mfs_cancel *c, int fd)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->fired)) {
		rc = -ECANCELED;
	} else if (c->nfds == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		int *v = realloc(c->fds, cap * sizeof(*v));

		if (!v)
			rc = -ENOMEM;
		else {
			c->fds = v;
			c->cap = cap;
		}
	}
	if (rc == 0)
		c->fds[c->nfds++] = fd;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void mfs_cancel_unwatch(struct mfs_cancel *c, int fd)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nfds; i++) {
		if (c->fds[i] == fd) {
			c->fds[i] = c->fds[--c->nfds];
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
}
