/* workpool — see include/workpool.h. */
#include "workpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct mfs_workpool {
	const char *name;
	unsigned max;
	pthread_mutex_t lock;
	pthread_cond_t work;       /* a job was queued, or shutdown */
	pthread_cond_t idle;       /* the queue emptied and a job ended */
	struct mfs_job *head, **tail;
	struct mfs_job *low_head, **low_tail;  /* taken when head is empty */
	unsigned nthreads, nidle, running;
	size_t queued;                         /* in both queues */
	bool shutdown;
	pthread_t *threads;
};

static void *pool_thread(void *arg)
{
	struct mfs_workpool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct mfs_job *job;

		while (!p->head && !p->low_head && !p->shutdown) {
			p->nidle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->nidle--;
		}
		if (p->head) {
			job = p->head;
			p->head = job->next;
			if (!p->head)
				p->tail = &p->head;
		} else if (p->low_head) {
			job = p->low_head;
			p->low_head = job->next;
			if (!p->low_head)
				p->low_tail = &p->low_head;
		} else {
			break;
		}
		p->queued--;
		p->running++;
		pthread_mutex_unlock(&p->lock);
		job->run(job);
		pthread_mutex_lock(&p->lock);
		p->running--;
		if (!p->head && !p->low_head && p->running == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int mfs_workpool_new(const char *name, unsigned max_threads, struct mfs_workpool **out)
{
	struct mfs_workpool *p;

	*out = NULL;
	if (max_threads == 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = calloc(max_threads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	p->name = name;
	p->max = max_threads;
	p->tail = &p->head;
	p->low_tail = &p->low_head;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	*out = p;
	return 0;
}

static int submit(struct mfs_workpool *p, struct mfs_job *job, bool low)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (p->shutdown) {
		rc = -ESHUTDOWN;
		goto out_unlock;
	}
	/* An idle thread may not have woken yet for a job queued before
	 * this one: it is free for this one only if idle threads outnumber
	 * the jobs waiting. */
	if (p->nthreads < p->max && p->nidle <= p->queued) {
		int err = pthread_create(&p->threads[p->nthreads], NULL, pool_thread, p);

		if (err == 0) {
			p->nthreads++;
		} else if (p->nthreads == 0) {
			mfs_err("%s pool: cannot start a thread: %s", p->name, strerror(err));
			rc = -EAGAIN;
			goto out_unlock;
		}
	}
	job->next = NULL;
	p->queued++;
	if (low) {
		*p->low_tail = job;
		p->low_tail = &job->next;
	} else {
		*p->tail = job;
		p->tail = &job->next;
	}
	pthread_cond_signal(&p->work);
out_unlock:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int mfs_workpool_submit(struct mfs_workpool *p, struct mfs_job *job)
{
	return submit(p, job, false);
}

int mfs_workpool_submit_low(struct mfs_workpool *p, struct mfs_job *job)
{
	return submit(p, job, true);
}

bool mfs_workpool_promote(struct mfs_workpool *p, struct mfs_job *job)
{
	struct mfs_job **link, *prev = NULL;
	bool moved = false;

	pthread_mutex_lock(&p->lock);
	for (link = &p->low_head; *link; prev = *link, link = &(*link)->next) {
		if (*link != job)
			continue;
		*link = job->next;
		if (p->low_tail == &job->next)
			p->low_tail = prev ? &prev->next : &p->low_head;
		job->next = NULL;
		*p->tail = job;
		p->tail = &job->next;
		moved = true;
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return moved;
}

void mfs_workpool_drain(struct mfs_workpool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->head || p->low_head || p->running)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

unsigned mfs_workpool_threads(struct mfs_workpool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void mfs_workpool_free(struct mfs_workpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->shutdown = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	/* Threads run what is queued before they see the shutdown. */
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
