/* inflight — see include/inflight.h. */
#include "inflight.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct mfs_inflight {
	pthread_mutex_t lock;
	pthread_cond_t given;      /* a flight was let go of, or a cancel fired */
	struct mfs_flight *held;
};

int mfs_inflight_new(struct mfs_inflight **out)
{
	struct mfs_inflight *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->given, NULL);
	*out = t;
	return 0;
}

void mfs_inflight_free(struct mfs_inflight *t)
{
	if (!t)
		return;
	pthread_cond_destroy(&t->given);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Under t->lock. */
static bool held(const struct mfs_inflight *t, const char *key)
{
	for (const struct mfs_flight *f = t->held; f; f = f->next) {
		if (strcmp(f->key, key) == 0)
			return true;
	}
	return false;
}

/* Under t->lock. */
static void hold(struct mfs_inflight *t, struct mfs_flight *f, const char *key)
{
	f->key = key;
	f->next = t->held;
	t->held = f;
}

int mfs_inflight_try(struct mfs_inflight *t, struct mfs_flight *f, const char *key)
{
	int rc = 0;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (held(t, key))
		rc = -EBUSY;
	else
		hold(t, f, key);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int mfs_inflight_take(struct mfs_inflight *t, struct mfs_flight *f, const char *key,
		      const struct mfs_cancel *cancel)
{
	int rc = 0;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	/* The cancel is looked at under the lock that mfs_inflight_wake
	 * takes: a wake that follows a fire is never lost. */
	for (;;) {
		if (mfs_cancel_fired(cancel)) {
			rc = -ECANCELED;
			break;
		}
		if (!held(t, key))
			break;
		pthread_cond_wait(&t->given, &t->lock);
	}
	if (rc == 0)
		hold(t, f, key);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void mfs_inflight_give(struct mfs_inflight *t, struct mfs_flight *f)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (struct mfs_flight **p = &t->held; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			break;
		}
	}
	pthread_cond_broadcast(&t->given);
	pthread_mutex_unlock(&t->lock);
}

void mfs_inflight_wake(struct mfs_inflight *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	pthread_cond_broadcast(&t->given);
	pthread_mutex_unlock(&t->lock);
}
