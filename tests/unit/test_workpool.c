/* Unit tests for fs/workpool.c: never more threads than the bound, jobs
 * in order on one thread, drain waits for jobs that queue more jobs,
 * free runs what is queued, the low queue only when the other is empty. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "unit.h"
#include "workpool.h"

struct counted {
	struct mfs_job job;
	atomic_int *running, *most, *done;
	int *order, *next, id;
	pthread_mutex_t *lock;
	useconds_t sleep_us;
	struct mfs_workpool *requeue_to;  /* submits `child` from its run */
	struct counted *child;
};

#define COUNTED(j) ((struct counted *)(void *)(j))

static void run_counted(struct mfs_job *job)
{
	struct counted *c = COUNTED(job);
	int now = atomic_fetch_add(c->running, 1) + 1, most = atomic_load(c->most);

	while (now > most && !atomic_compare_exchange_weak(c->most, &most, now))
		;
	if (c->order) {
		pthread_mutex_lock(c->lock);
		c->order[(*c->next)++] = c->id;
		pthread_mutex_unlock(c->lock);
	}
	usleep(c->sleep_us);
	if (c->requeue_to)
		CHECK_EQ_INT(mfs_workpool_submit(c->requeue_to, &c->child->job), 0);
	atomic_fetch_sub(c->running, 1);
	atomic_fetch_add(c->done, 1);
}

static void test_bound_is_never_passed(void)
{
	atomic_int running = 0, most = 0, done = 0;
	struct counted c[40];
	struct mfs_workpool *p;

	CHECK_EQ_INT(mfs_workpool_new("t", 3, &p), 0);
	for (int i = 0; i < 40; i++) {
		c[i] = (struct counted){ .job.run = run_counted, .running = &running,
					 .most = &most, .done = &done, .sleep_us = 2000 };
		CHECK_EQ_INT(mfs_workpool_submit(p, &c[i].job), 0);
	}
	mfs_workpool_drain(p);
	CHECK_EQ_INT(atomic_load(&done), 40);
	CHECK(atomic_load(&most) <= 3);
	CHECK(atomic_load(&most) >= 2);
	CHECK_EQ_INT(mfs_workpool_threads(p), 3);
	mfs_workpool_free(p);
}

static void test_one_thread_runs_in_order(void)
{
	atomic_int running = 0, most = 0, done = 0;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int order[10], next = 0;
	struct counted c[10];
	struct mfs_workpool *p;

	CHECK_EQ_INT(mfs_workpool_new("t", 1, &p), 0);
	for (int i = 0; i < 10; i++) {
		c[i] = (struct counted){ .job.run = run_counted, .running = &running,
					 .most = &most, .done = &done, .order = order,
					 .next = &next, .id = i, .lock = &lock, .sleep_us = 500 };
		CHECK_EQ_INT(mfs_workpool_submit(p, &c[i].job), 0);
	}
	mfs_workpool_drain(p);
	CHECK_EQ_INT(next, 10);
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(order[i], i);
	CHECK_EQ_INT(atomic_load(&most), 1);
	CHECK_EQ_INT(mfs_workpool_threads(p), 1);
	mfs_workpool_free(p);
}

/* A job that queues another (as a hash round hands its model to the
 * fetch pool) is waited for by drain; free runs what is still queued. */
static void test_drain_and_free_run_everything(void)
{
	atomic_int running = 0, most = 0, done = 0;
	struct counted parent, child, late[5];
	struct mfs_workpool *p;

	CHECK_EQ_INT(mfs_workpool_new("t", 2, &p), 0);
	child = (struct counted){ .job.run = run_counted, .running = &running, .most = &most,
				  .done = &done, .sleep_us = 20000 };
	parent = (struct counted){ .job.run = run_counted, .running = &running, .most = &most,
				   .done = &done, .sleep_us = 20000, .requeue_to = p,
				   .child = &child };
	CHECK_EQ_INT(mfs_workpool_submit(p, &parent.job), 0);
	mfs_workpool_drain(p);
	CHECK_EQ_INT(atomic_load(&done), 2);
	for (int i = 0; i < 5; i++) {
		late[i] = (struct counted){ .job.run = run_counted, .running = &running,
					    .most = &most, .done = &done, .sleep_us = 5000 };
		CHECK_EQ_INT(mfs_workpool_submit(p, &late[i].job), 0);
	}
	mfs_workpool_free(p);
	CHECK_EQ_INT(atomic_load(&done), 7);
	mfs_workpool_free(NULL);
}

/* The low queue waits while the other has jobs; a promoted job moves to
 * the end of the other; one not in the low queue is not moved. */
static void test_low_queue_and_promote(void)
{
	atomic_int running = 0, most = 0, done = 0;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int order[6], next = 0;
	struct counted c[6];
	struct mfs_workpool *p;

	CHECK_EQ_INT(mfs_workpool_new("t", 1, &p), 0);
	for (int i = 0; i < 6; i++)
		c[i] = (struct counted){ .job.run = run_counted, .running = &running,
					 .most = &most, .done = &done, .order = order,
					 .next = &next, .id = i, .lock = &lock,
					 .sleep_us = i == 0 ? 100000 : 500 };
	/* 0 holds the one thread while the others queue. */
	CHECK_EQ_INT(mfs_workpool_submit(p, &c[0].job), 0);
	usleep(20000);
	CHECK_EQ_INT(mfs_workpool_submit_low(p, &c[1].job), 0);
	CHECK_EQ_INT(mfs_workpool_submit_low(p, &c[2].job), 0);
	CHECK_EQ_INT(mfs_workpool_submit_low(p, &c[3].job), 0);
	CHECK_EQ_INT(mfs_workpool_submit(p, &c[4].job), 0);
	CHECK(mfs_workpool_promote(p, &c[3].job));   /* the low queue's tail */
	CHECK(mfs_workpool_promote(p, &c[1].job));   /* ... and its head */
	CHECK(!mfs_workpool_promote(p, &c[4].job));  /* not low */
	CHECK(!mfs_workpool_promote(p, &c[0].job));  /* started */
	CHECK_EQ_INT(mfs_workpool_submit_low(p, &c[5].job), 0); /* after 2: tail fixed */
	mfs_workpool_drain(p);
	CHECK_EQ_INT(next, 6);
	CHECK_EQ_INT(order[0], 0);
	CHECK_EQ_INT(order[1], 4);
	CHECK_EQ_INT(order[2], 3);
	CHECK_EQ_INT(order[3], 1);
	CHECK_EQ_INT(order[4], 2);
	CHECK_EQ_INT(order[5], 5);
	CHECK_EQ_INT(atomic_load(&most), 1);
	mfs_workpool_free(p);
}

static void test_bad_bound(void)
{
	struct mfs_workpool *p = (struct mfs_workpool *)1;

	CHECK_EQ_INT(mfs_workpool_new("t", 0, &p), -EINVAL);
	CHECK(p == NULL);
}

int main(void)
{
	RUN(test_bound_is_never_passed);
	RUN(test_one_thread_runs_in_order);
	RUN(test_drain_and_free_run_everything);
	RUN(test_low_queue_and_promote);
	RUN(test_bad_bound);
	return unit_done();
}
