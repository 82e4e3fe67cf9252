/* hashwrite — see include/hashwrite.h. */
#include "hashwrite.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagecache.h"

#define BLOCK MFS_PAGECACHE_UNIT
#define NBLOCKS 4u

enum stage { WRITE, HASH, NSTAGES };

/* Blocks are numbered in order (seq); block seq lives in slot seq %
 * NBLOCKS.  `queued` blocks have been handed over; stage s has finished
 * `done[s]` of them.  The producer may fill block `queued` once every
 * stage is within NBLOCKS - 1 of it. */
struct mfs_hashwrite {
	int fd;
	struct mfs_hasher *h;
	unsigned char *block[NBLOCKS];  /* allocated on first use */
	size_t len[NBLOCKS];
	size_t used;                    /* bytes in the block being filled */
	off_t at;                       /* the fd's offset of that block's first byte */
	size_t unit;                    /* blocks end at its multiples (pagecache.h) */

	pthread_mutex_t lock;
	pthread_cond_t cond;            /* any counter or flag changed */
	uint64_t queued;
	uint64_t done[NSTAGES];
	bool end, stop;
	int rc;                         /* first error of a stage */
	bool running;
	pthread_t thread[NSTAGES];
	struct worker { struct mfs_hashwrite *w; enum stage s; } worker[NSTAGES];
};

/* One write(2) for the block when the kernel takes it whole: see
 * pagecache.h. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int run_stage(struct mfs_hashwrite *w, enum stage s, unsigned slot)
{
	if (s == WRITE)
		return write_all(w->fd, w->block[slot], w->len[slot]);
	return mfs_hasher_update(w->h, w->block[slot], w->len[slot]);
}

/* Without an fd nothing is written, without a hasher nothing hashed. */
static bool active(const struct mfs_hashwrite *w, enum stage s)
{
	return s == WRITE ? w->fd >= 0 : w->h != NULL;
}

static void *stage_thread(void *arg)
{
	struct worker *wk = arg;
	struct mfs_hashwrite *w = wk->w;
	enum stage s = wk->s;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		unsigned slot;
		int rc;

		while (w->done[s] == w->queued && !w->end && !w->stop && w->rc == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop || w->rc != 0 || w->done[s] == w->queued)
			break;
		slot = (unsigned)(w->done[s] % NBLOCKS);
		pthread_mutex_unlock(&w->lock);
		rc = run_stage(w, s, slot);
		pthread_mutex_lock(&w->lock);
		w->done[s]++;
		if (rc < 0 && w->rc == 0)
			w->rc = rc;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int mfs_hashwrite_new(int fd, struct mfs_hasher *h, size_t unit, struct mfs_hashwrite **out)
{
	struct mfs_hashwrite *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (fd < 0 && !h) {
		free(w);
		return -EINVAL;
	}
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->h = h;
	w->unit = unit;
	w->at = fd >= 0 ? lseek(fd, 0, SEEK_CUR) : 0;
	if (w->at < 0)
		w->at = 0;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	*out = w;
	return 0;
}

static void stop_threads(struct mfs_hashwrite *w, bool drain)
{
	pthread_mutex_lock(&w->lock);
	if (drain)
		w->end = true;
	else
		w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int s = 0; s < NSTAGES; s++) {
		if (active(w, (enum stage)s))
			pthread_join(w->thread[s], NULL);
	}
	w->running = false;
}

/* Every stage's thread, or none. */
static bool start_threads(struct mfs_hashwrite *w)
{
	for (int s = 0; s < NSTAGES; s++) {
		if (!active(w, (enum stage)s))
			continue;
		w->worker[s] = (struct worker){ .w = w, .s = (enum stage)s };
		if (pthread_create(&w->thread[s], NULL, stage_thread, &w->worker[s]) != 0) {
			pthread_mutex_lock(&w->lock);
			w->stop = true;
			pthread_cond_broadcast(&w->cond);
			pthread_mutex_unlock(&w->lock);
			while (s-- > 0) {
				if (active(w, (enum stage)s))
					pthread_join(w->thread[s], NULL);
			}
			w->stop = false;
			return false;
		}
	}
	w->running = true;
	return true;
}

static unsigned fill_slot(const struct mfs_hashwrite *w)
{
	return (unsigned)(w->queued % NBLOCKS);
}

/* Hands the filled block to the stages (started on first need; without
 * them it is written and hashed here) and waits until the next slot is
 * free.  `last`: no thread is started for it. */
static int hand_over(struct mfs_hashwrite *w, bool last)
{
	unsigned slot = fill_slot(w);
	int rc = 0;

	w->len[slot] = w->used;
	w->at += (off_t)w->used;
	w->used = 0;
	if (!w->running && (last || !start_threads(w))) {
		for (int s = 0; s < NSTAGES && rc == 0; s++) {
			if (active(w, (enum stage)s))
				rc = run_stage(w, (enum stage)s, slot);
		}
		return rc;
	}
	pthread_mutex_lock(&w->lock);
	w->queued++;
	pthread_cond_broadcast(&w->cond);
	while (w->rc == 0 && ((active(w, WRITE) && w->queued - w->done[WRITE] >= NBLOCKS) ||
			      (active(w, HASH) && w->queued - w->done[HASH] >= NBLOCKS)))
		pthread_cond_wait(&w->cond, &w->lock);
	rc = w->rc;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int mfs_hashwrite_put(struct mfs_hashwrite *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	while (len > 0) {
		unsigned slot = fill_slot(w);
		/* A block ends where a page-cache unit of the file ends. */
		size_t cap = w->fd >= 0 ? mfs_pagecache_room(w->at, w->unit) : BLOCK;
		size_t n;

		if (!w->block[slot]) {
			w->block[slot] = malloc(BLOCK);
			if (!w->block[slot])
				return -ENOMEM;
		}
		n = cap - w->used < len ? cap - w->used : len;
		memcpy(w->block[slot] + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;
		if (w->used == cap) {
			rc = hand_over(w, false);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int mfs_hashwrite_finish(struct mfs_hashwrite *w)
{
	int rc = 0;

	if (w->used > 0)
		rc = hand_over(w, true);
	if (w->running) {
		stop_threads(w, rc == 0);
		if (rc == 0)
			rc = w->rc;
	}
	return rc;
}

void mfs_hashwrite_free(struct mfs_hashwrite *w)
{
	if (!w)
		return;
	if (w->running)
		stop_threads(w, false);
	for (unsigned i = 0; i < NBLOCKS; i++)
		free(w->block[i]);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
