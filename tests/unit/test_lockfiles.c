/* Unit tests for lockfiles: names, create/lookup/unlink, lookup counts,
 * listing, times, who may unlink, the per-uid share and the table's bound,
 * and concurrent use. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "lockfiles.h"
#include "unit.h"

#define BASE 100 /* first lock ino: the catalog has 99 nodes */

static struct mfs_lockfiles *new_table(void)
{
	struct mfs_lockfiles *lf = NULL;

	CHECK_EQ_INT(mfs_lockfiles_new(BASE, &lf), 0);
	return lf;
}

static void test_names(void)
{
	char name[MFS_LOCKFILES_NAME_MAX + 2];

	CHECK(mfs_lockfiles_name_ok("resnet18_v1-a5c1a1c7.lock"));
	CHECK(mfs_lockfiles_name_ok("a.lock"));
	CHECK(mfs_lockfiles_name_ok("x.params.lock"));
	CHECK(!mfs_lockfiles_name_ok(".lock"));
	CHECK(!mfs_lockfiles_name_ok("lock"));
	CHECK(!mfs_lockfiles_name_ok(""));
	CHECK(!mfs_lockfiles_name_ok("a.locks"));
	CHECK(!mfs_lockfiles_name_ok("a.LOCK"));
	CHECK(!mfs_lockfiles_name_ok("a.lock.tmp"));
	CHECK(!mfs_lockfiles_name_ok("dir/a.lock"));
	CHECK(!mfs_lockfiles_name_ok("a.lock/"));
	CHECK(!mfs_lockfiles_name_ok("resnet18_v1-a5c1a1c7.params"));

	memset(name, 'n', sizeof(name));
	strcpy(name + MFS_LOCKFILES_NAME_MAX - 5, ".lock");
	CHECK_EQ_INT(strlen(name), MFS_LOCKFILES_NAME_MAX);
	CHECK(mfs_lockfiles_name_ok(name));
	memset(name, 'n', sizeof(name));
	strcpy(name + MFS_LOCKFILES_NAME_MAX - 4, ".lock");
	CHECK(!mfs_lockfiles_name_ok(name));
}

static void test_new_free(void)
{
	struct mfs_lockfiles *lf = (struct mfs_lockfiles *)&lf;

	CHECK_EQ_INT(mfs_lockfiles_new(0, &lf), -EINVAL);
	CHECK(lf == NULL);
	lf = new_table();
	CHECK(lf != NULL);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 0);
	CHECK(!mfs_lockfiles_owns(lf, 1));
	CHECK(!mfs_lockfiles_owns(lf, BASE - 1));
	CHECK(mfs_lockfiles_owns(lf, BASE));
	CHECK(mfs_lockfiles_owns(lf, UINT64_MAX));
	mfs_lockfiles_free(lf);
	mfs_lockfiles_free(NULL);
}

static void test_create_lookup(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a, b;

	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "m.lock", &a), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 65534, 65533, false, &a), 1);
	CHECK_EQ_INT(a.ino, BASE);
	CHECK_EQ_INT(a.parent, 1);
	CHECK_EQ_INT(a.uid, 65534);
	CHECK_EQ_INT(a.gid, 65533);
	CHECK_EQ_INT(a.nlink, 1);
	CHECK(a.mtime.tv_sec > 0);

	/* re-creating opens it; the first creator stays the owner */
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, false, &b), 0);
	CHECK_EQ_INT(b.ino, BASE);
	CHECK_EQ_INT(b.uid, 65534);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, true, &b), -EEXIST);

	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "m.lock", &b), 0);
	CHECK_EQ_INT(b.ino, BASE);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, BASE, &b), 0);
	CHECK_EQ_INT(b.parent, 1);

	/* the same name in another directory is another file */
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 2, "m.lock", &b), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 2, "m.lock", 0, 0, true, &b), 1);
	CHECK_EQ_INT(b.ino, BASE + 1);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 2);

	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.params", 0, 0, false, &b), -EINVAL);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, ".lock", 0, 0, false, &b), -EINVAL);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "a/b.lock", 0, 0, false, &b), -EINVAL);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, BASE + 2, &b), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, 1, &b), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 2);
	mfs_lockfiles_free(lf);
}

static void test_unlink_lingers_while_referenced(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a, b;

	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, false, &a), 1); /* 1 ref */
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "m.lock", &b), 0);                /* 2 refs */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "m.lock", 0), 0);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "m.lock", 0), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "m.lock", &b), -ENOENT);
	/* an open fd still stats it, with nlink 0 */
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, a.ino, &b), 0);
	CHECK_EQ_INT(b.nlink, 0);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 1);

	/* a new file of that name is a new inode */
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, true, &b), 1);
	CHECK(b.ino > a.ino);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 2);

	mfs_lockfiles_forget(lf, a.ino, 1);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, a.ino, &b), 0);
	mfs_lockfiles_forget(lf, a.ino, 1);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, a.ino, &b), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 1);
	mfs_lockfiles_forget(lf, a.ino, 1); /* stale: ignored */
	mfs_lockfiles_forget(lf, 12345, 1);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 1);
	mfs_lockfiles_free(lf);
}

static void test_forget_keeps_linked_nodes(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a, b;

	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, false, &a), 1);
	/* more than was counted: clamps at zero; the file is still there */
	mfs_lockfiles_forget(lf, a.ino, 5);
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "m.lock", &b), 0);
	CHECK_EQ_INT(b.ino, a.ino);
	mfs_lockfiles_forget(lf, a.ino, 1);
	/* no references left: unlinking frees it at once */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "m.lock", 0), 0);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, a.ino, &b), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 0);
	mfs_lockfiles_free(lf);
}

struct listed {
	uint64_t inos[8];
	char names[8][32];
	int n;
	int stop_after;
};

static int collect(void *arg, uint64_t ino, const char *name)
{
	struct listed *l = arg;

	if (l->n < 8) {
		l->inos[l->n] = ino;
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
	}
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 7 : 0;
}

static void test_list(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a;
	struct listed l;

	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "z.lock", 0, 0, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 3, "other.lock", 0, 0, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "a.lock", 0, 0, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, false, &a), 1);

	memset(&l, 0, sizeof(l));
	CHECK_EQ_INT(mfs_lockfiles_list(lf, 1, 0, collect, &l), 0);
	CHECK_EQ_INT(l.n, 3);
	/* creation order, not name order */
	CHECK_STR(l.names[0], "z.lock");
	CHECK_STR(l.names[1], "a.lock");
	CHECK_STR(l.names[2], "m.lock");
	CHECK_EQ_INT(l.inos[0], BASE);
	CHECK_EQ_INT(l.inos[1], BASE + 2);
	CHECK_EQ_INT(l.inos[2], BASE + 3);

	/* resuming after an entry that was unlinked meanwhile */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "a.lock", 0), 0);
	memset(&l, 0, sizeof(l));
	CHECK_EQ_INT(mfs_lockfiles_list(lf, 1, BASE + 1, collect, &l), 0);
	CHECK_EQ_INT(l.n, 1);
	CHECK_STR(l.names[0], "m.lock");

	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	CHECK_EQ_INT(mfs_lockfiles_list(lf, 1, 0, collect, &l), 7);
	CHECK_EQ_INT(l.n, 1);

	memset(&l, 0, sizeof(l));
	CHECK_EQ_INT(mfs_lockfiles_list(lf, 2, 0, collect, &l), 0);
	CHECK_EQ_INT(l.n, 0);
	mfs_lockfiles_free(lf);
}

static void test_times(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a, b;
	struct timespec t1 = { 1000, 5 }, t2 = { 2000, 6 };

	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "m.lock", 0, 0, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_set_times(lf, a.ino, &t1, NULL, &b), 0);
	CHECK_EQ_INT(b.atime.tv_sec, 1000);
	CHECK_EQ_INT(b.atime.tv_nsec, 5);
	CHECK_EQ_INT(b.mtime.tv_sec, a.mtime.tv_sec);
	CHECK_EQ_INT(mfs_lockfiles_set_times(lf, a.ino, NULL, &t2, &b), 0);
	CHECK_EQ_INT(b.atime.tv_sec, 1000);
	CHECK_EQ_INT(b.mtime.tv_sec, 2000);
	CHECK(b.ctime.tv_sec >= a.ctime.tv_sec);
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, a.ino, &b), 0);
	CHECK_EQ_INT(b.mtime.tv_sec, 2000);
	CHECK_EQ_INT(mfs_lockfiles_set_times(lf, a.ino + 1, &t1, &t2, &b), -ENOENT);
	mfs_lockfiles_free(lf);
}

static void test_unlink_who(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a;

	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "a.lock", 1000, 1000, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "b.lock", 1000, 1000, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "c.lock", 0, 0, false, &a), 1);
	/* another user: refused, and the file is still there */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "a.lock", 1001), -EPERM);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "c.lock", 1000), -EPERM);
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "a.lock", &a), 0);
	CHECK_EQ_INT(a.nlink, 1);
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "c.lock", &a), 0);
	/* a missing name is ENOENT for anyone */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "x.lock", 1001), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 2, "a.lock", 1000), -ENOENT);
	/* the creator may, and root may */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "a.lock", 1000), 0);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "b.lock", 0), 0);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "c.lock", 0), 0);
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "a.lock", &a), -ENOENT);
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "b.lock", &a), -ENOENT);
	mfs_lockfiles_free(lf);
}

/* Creates `n` lock files f<from>.lock... in directory 1 for `uid`;
 * returns how many were refused. */
static int fill(struct mfs_lockfiles *lf, uid_t uid, int from, int n)
{
	struct mfs_lockfile_attr a;
	char name[32];
	int fails = 0;

	for (int i = from; i < from + n; i++) {
		snprintf(name, sizeof(name), "f%d.lock", i);
		fails += mfs_lockfiles_create(lf, 1, name, uid, uid, true, &a) != 1;
	}
	return fails;
}

static void test_per_uid_share(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a, b;

	CHECK_EQ_INT(MFS_LOCKFILES_PER_UID, 512);
	CHECK_EQ_INT(fill(lf, 1000, 0, MFS_LOCKFILES_PER_UID), 0);
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1000), MFS_LOCKFILES_PER_UID);
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1001), 0);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "more.lock", 1000, 1000, false, &a), -EDQUOT);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 2, "more.lock", 1000, 1000, true, &a), -EDQUOT);
	/* in another directory too: the share is the uid's, not per directory */
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 2, "more.lock", &a), -ENOENT);
	/* other users are not affected, root included */
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "more.lock", 1001, 1001, false, &a), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "root.lock", 0, 0, false, &b), 1);
	/* a user at their cap still opens existing lock files, anyone's */
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "more.lock", 1000, 1000, false, &b), 0);
	CHECK_EQ_INT(b.ino, a.ino);
	CHECK_EQ_INT(b.uid, 1001);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "f3.lock", 1000, 1000, false, &b), 0);
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1000), MFS_LOCKFILES_PER_UID);
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1001), 1);

	/* unlinked but still referenced (an open fd): still charged */
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "f0.lock", &a), 0);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "f0.lock", 1000), 0);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "f0.lock", 1000, 1000, false, &b), -EDQUOT);
	/* charged to the creator, not to whoever unlinks it, until freed */
	CHECK_EQ_INT(mfs_lockfiles_lookup(lf, 1, "more.lock", &b), 0);
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "more.lock", 0), 0);
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1001), 1);
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 0), 1);
	mfs_lockfiles_forget(lf, b.ino, 3); /* two creates + lookup */
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1001), 0);
	/* the last reference dropped: the share is back */
	mfs_lockfiles_forget(lf, a.ino, 2); /* create + lookup */
	CHECK_EQ_INT(mfs_lockfiles_count_uid(lf, 1000), MFS_LOCKFILES_PER_UID - 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "f0.lock", 1000, 1000, false, &b), 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "f9999.lock", 1000, 1000, false, &b), -EDQUOT);

	/* root has a share like everybody */
	CHECK_EQ_INT(fill(lf, 0, 10000, MFS_LOCKFILES_PER_UID - 1), 0);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "r.lock", 0, 0, false, &b), -EDQUOT);
	mfs_lockfiles_free(lf);
}

static void test_bound(void)
{
	struct mfs_lockfiles *lf = new_table();
	struct mfs_lockfile_attr a;
	int fails = 0;

	/* it takes 8 users at their caps to fill the table */
	for (int u = 0; u < 8; u++)
		fails += fill(lf, 1000 + (uid_t)u, u * MFS_LOCKFILES_PER_UID, MFS_LOCKFILES_PER_UID);
	CHECK_EQ_INT(fails, 0);
	CHECK_EQ_INT(mfs_lockfiles_count(lf), MFS_LOCKFILES_MAX);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "one-more.lock", 2000, 2000, false, &a), -ENOSPC);
	/* at their cap a user hears of their own share first */
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "one-more.lock", 1000, 1000, false, &a), -EDQUOT);
	/* an existing one still opens */
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "f7.lock", 2000, 2000, false, &a), 0);
	/* unlinked but referenced still counts */
	CHECK_EQ_INT(mfs_lockfiles_unlink(lf, 1, "f0.lock", 1000), 0);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "one-more.lock", 2000, 2000, false, &a), -ENOSPC);
	mfs_lockfiles_forget(lf, BASE, 1);
	CHECK_EQ_INT(mfs_lockfiles_create(lf, 1, "one-more.lock", 2000, 2000, false, &a), 1);
	CHECK_EQ_INT(a.ino, BASE + MFS_LOCKFILES_MAX);
	/* ino bisection still right after removals in the middle */
	CHECK_EQ_INT(mfs_lockfiles_getattr(lf, BASE + 4000, &a), 0);
	CHECK_EQ_INT(a.ino, BASE + 4000);
	mfs_lockfiles_free(lf);
}

#define THREADS 4
#define ROUNDS 2000

static void *churn(void *arg)
{
	struct mfs_lockfiles *lf = arg;
	struct mfs_lockfile_attr a;
	long bad = 0;

	for (int i = 0; i < ROUNDS; i++) {
		int rc = mfs_lockfiles_create(lf, 1, "shared.lock", 0, 0, false, &a);

		if (rc < 0) {
			bad++;
			continue;
		}
		if (mfs_lockfiles_getattr(lf, a.ino, &a) != 0)
			bad++;
		/* another thread may have unlinked it already */
		mfs_lockfiles_unlink(lf, 1, "shared.lock", 0);
		mfs_lockfiles_forget(lf, a.ino, 1);
	}
	return (void *)bad;
}

static void test_concurrent(void)
{
	struct mfs_lockfiles *lf = new_table();
	pthread_t t[THREADS];
	long bad = 0;

	for (int i = 0; i < THREADS; i++)
		CHECK_EQ_INT(pthread_create(&t[i], NULL, churn, lf), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;

		CHECK_EQ_INT(pthread_join(t[i], &r), 0);
		bad += (long)r;
	}
	CHECK_EQ_INT(bad, 0);
	/* every reference was dropped and every name unlinked */
	CHECK_EQ_INT(mfs_lockfiles_count(lf), 0);
	mfs_lockfiles_free(lf);
}

int main(void)
{
	RUN(test_names);
	RUN(test_new_free);
	RUN(test_create_lookup);
	RUN(test_unlink_lingers_while_referenced);
	RUN(test_forget_keeps_linked_nodes);
	RUN(test_list);
	RUN(test_times);
	RUN(test_unlink_who);
	RUN(test_per_uid_share);
	RUN(test_bound);
	RUN(test_concurrent);
	return unit_done();
}
