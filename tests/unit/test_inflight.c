/* Unit tests for fs/inflight.c: one flight per key, a second taker waits
 * for the give (a try says -EBUSY), other keys never wait, a cancel
 * fired and woken ends a wait, a NULL table holds nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "inflight.h"
#include "unit.h"

struct taker {
	struct mfs_inflight *t;
	struct mfs_flight f;
	const char *key;
	struct mfs_cancel *cancel;
	atomic_bool done;
	int rc;
};

static void *take_thread(void *arg)
{
	struct taker *k = arg;

	k->rc = mfs_inflight_take(k->t, &k->f, k->key, k->cancel);
	atomic_store(&k->done, true);
	return NULL;
}

static void test_other_keys_do_not_wait(void)
{
	struct mfs_inflight *t;
	struct mfs_flight a, b, c;

	CHECK_EQ_INT(mfs_inflight_new(&t), 0);
	CHECK_EQ_INT(mfs_inflight_take(t, &a, "sha256-aa", NULL), 0);
	CHECK_EQ_INT(mfs_inflight_try(t, &b, "sha256-bb"), 0);
	CHECK_EQ_INT(mfs_inflight_try(t, &c, "sha256-aa"), -EBUSY);
	CHECK_EQ_INT(mfs_inflight_try(t, &c, "sha256-bb"), -EBUSY);
	mfs_inflight_give(t, &a);
	/* Given back: taken again at once. */
	CHECK_EQ_INT(mfs_inflight_take(t, &a, "sha256-aa", NULL), 0);
	mfs_inflight_give(t, &a);
	mfs_inflight_give(t, &b);
	mfs_inflight_free(t);
}

static void test_same_key_waits_for_the_give(void)
{
	struct taker k = { .key = "sha256-aa", .rc = 1 };
	struct mfs_flight mine;
	char key[] = "sha256-aa";   /* equal, not the same pointer */
	pthread_t th;

	CHECK_EQ_INT(mfs_inflight_new(&k.t), 0);
	CHECK_EQ_INT(mfs_inflight_take(k.t, &mine, key, NULL), 0);
	atomic_init(&k.done, false);
	pthread_create(&th, NULL, take_thread, &k);
	usleep(100000);
	CHECK(!atomic_load(&k.done));
	mfs_inflight_give(k.t, &mine);
	pthread_join(th, NULL);
	CHECK_EQ_INT(k.rc, 0);
	mfs_inflight_give(k.t, &k.f);
	mfs_inflight_free(k.t);
}

static void test_cancel_ends_a_wait(void)
{
	struct mfs_cancel c;
	struct taker k = { .key = "archive-url", .cancel = &c, .rc = 1 };
	struct mfs_flight mine;
	pthread_t th;

	mfs_cancel_init(&c);
	CHECK_EQ_INT(mfs_inflight_new(&k.t), 0);
	CHECK_EQ_INT(mfs_inflight_take(k.t, &mine, "archive-url", NULL), 0);
	atomic_init(&k.done, false);
	pthread_create(&th, NULL, take_thread, &k);
	usleep(50000);
	mfs_cancel_fire(&c);
	mfs_inflight_wake(k.t);
	pthread_join(th, NULL);
	CHECK_EQ_INT(k.rc, -ECANCELED);
	/* A fired cancel takes nothing, even a free key. */
	mfs_inflight_give(k.t, &mine);
	CHECK_EQ_INT(mfs_inflight_take(k.t, &mine, "archive-url", &c), -ECANCELED);
	mfs_inflight_free(k.t);
	mfs_cancel_release(&c);
}

static void test_null_table_holds_nothing(void)
{
	struct mfs_flight a, b;

	CHECK_EQ_INT(mfs_inflight_take(NULL, &a, "k", NULL), 0);
	CHECK_EQ_INT(mfs_inflight_try(NULL, &b, "k"), 0);
	mfs_inflight_give(NULL, &a);
	mfs_inflight_give(NULL, &b);
	mfs_inflight_wake(NULL);
	mfs_inflight_free(NULL);
}

int main(void)
{
	RUN(test_other_keys_do_not_wait);
	RUN(test_same_key_waits_for_the_give);
	RUN(test_cancel_ends_a_wait);
	RUN(test_null_table_holds_nothing);
	return unit_done();
}
