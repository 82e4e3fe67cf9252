/* Unit tests for fs/generations.c, with real schedulers over a real store
 * (no network: the one model's object is put in the store by hand): a
 * reload replaces the current generation, a replaced one is retired only
 * once its last user is gone, a refused reload keeps the current one, a
 * stale pointer is never held, an object a replaced generation's reader
 * holds counts as held for the current one's eviction, and freeing
 * retires whatever is left. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "digest.h"
#include "generations.h"
#include "scheduler.h"
#include "store.h"
#include "unit.h"

#define BODY "model bytes\n"

static struct mfs_store store;
static char object[160];

/* What the callbacks saw (under `lock`). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mfs_generation *next_gen;   /* what the next reload returns */
static int reloads, installs, retired_count;
static struct mfs_generation *installed_old, *installed_cur, *retired[4];

static struct mfs_generation *make_gen(void)
{
	char ini[1024], err[256], hex[65];
	struct mfs_hasher *h;
	struct mfs_digests d;
	struct mfs_generation *g = calloc(1, sizeof(*g));

	mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);
	mfs_hasher_update(h, BODY, strlen(BODY));
	mfs_hasher_final(h, &d);
	mfs_hasher_free(h);
	mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
	snprintf(ini, sizeof(ini),
		 "[modelfs]\nstore = %s\n[source s]\nurl = https://127.0.0.1:1/\n"
		 "[model m]\nsource = s\npath = a/m.bin\nurl = m\nsize = %zu\nsha256 = %s\n",
		 unit_at("store"), strlen(BODY), hex);
	if (!g || mfs_config_parse_string("g.ini", ini, &g->cfg, err, sizeof(err)) < 0 ||
	    mfs_catalog_build(&g->cat, g->cfg, NULL) < 0) {
		fprintf(stderr, "  cannot make a generation: %s\n", err);
		exit(1);
	}
	struct mfs_sched_opts o = { .cfg = g->cfg, .store = &store, .owner = g };
	if (mfs_sched_new(&o, &g->sched) < 0)
		exit(1);
	mfs_store_object_name(&g->cfg->models[0].digests, object, sizeof(object));
	return g;
}

static void free_gen(struct mfs_generation *g)
{
	mfs_sched_free(g->sched);
	mfs_catalog_release(&g->cat);
	mfs_config_free(g->cfg);
	free(g);
}

static struct mfs_generation *on_reload(void *arg, const struct mfs_generation *cur)
{
	struct mfs_generation *g;

	pthread_mutex_lock(&lock);
	reloads++;
	g = next_gen;
	next_gen = NULL;
	pthread_mutex_unlock(&lock);
	return g;
}

static void on_installed(void *arg, struct mfs_generation *old, struct mfs_generation *cur)
{
	pthread_mutex_lock(&lock);
	installs++;
	installed_old = old;
	installed_cur = cur;
	pthread_mutex_unlock(&lock);
}

static void on_retire(void *arg, struct mfs_generation *gen)
{
	pthread_mutex_lock(&lock);
	if (retired_count < 4)
		retired[retired_count] = gen;
	retired_count++;
	pthread_mutex_unlock(&lock);
	free_gen(gen);
}

static const struct mfs_gens_ops ops = { on_reload, on_installed, on_retire, NULL };

/* Waits up to 5 s for *counter to reach `want`; its value then. */
static int wait_for(int *counter, int want)
{
	int v = 0;

	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&lock);
		v = *counter;
		pthread_mutex_unlock(&lock);
		if (v >= want)
			break;
		usleep(10000);
	}
	return v;
}

static void put_object(void)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/objects/%s", unit_at("store"), object);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0444);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ_INT(write(fd, BODY, strlen(BODY)), (long long)strlen(BODY));
		close(fd);
	}
}

static void test_reload_and_retire(void)
{
	struct mfs_generation *a = make_gen(), *b = make_gen(), *got;
	struct mfs_gens *g;
	enum mfs_sched_how how;
	int fd;

	CHECK_EQ_INT(mfs_gens_new(a, &ops, &g), 0);
	/* A reader of a: it verifies the object from the store and holds it. */
	put_object();
	got = mfs_gens_get(g);
	CHECK(got == a);
	fd = mfs_sched_get(a->sched, 0, &how);
	CHECK(fd >= 0);
	CHECK_EQ_INT(how, MFS_SCHED_STORE);

	/* Asked before the thread runs: the wake-up waits in the pipe. */
	mfs_gens_request_reload(g);
	pthread_mutex_lock(&lock);
	next_gen = b;
	pthread_mutex_unlock(&lock);
	CHECK_EQ_INT(mfs_gens_start(g), 0);
	CHECK_EQ_INT(wait_for(&installs, 1), 1);
	CHECK(installed_old == a && installed_cur == b);
	got = mfs_gens_get(g);
	CHECK(got == b);
	mfs_gens_put(g, got);

	/* a is replaced but used: alive, not retired; its reader's object
	 * counts as held for b's evictions (and not for a's own asking). */
	usleep(50000);
	CHECK_EQ_INT(retired_count, 0);
	CHECK(mfs_gens_hold_if_alive(g, a));
	mfs_gens_put(g, a);
	CHECK(mfs_gens_held_elsewhere(g, b->sched, object));
	CHECK(!mfs_gens_held_elsewhere(g, a->sched, object));
	CHECK(!mfs_gens_held_elsewhere(g, b->sched, "sha256-not-this-one"));

	/* The reader lets go: no longer held; the last put retires a. */
	close(fd);
	mfs_sched_release(a->sched, 0);
	CHECK(!mfs_gens_held_elsewhere(g, b->sched, object));
	mfs_gens_put(g, a);
	CHECK_EQ_INT(wait_for(&retired_count, 1), 1);
	CHECK(retired[0] == a);
	/* A stale pointer is never held (nor dereferenced). */
	CHECK(!mfs_gens_hold_if_alive(g, a));

	/* A refused reload (NULL) keeps b. */
	mfs_gens_request_reload(g);
	CHECK_EQ_INT(wait_for(&reloads, 2), 2);
	usleep(50000);
	CHECK_EQ_INT(installs, 1);
	got = mfs_gens_get(g);
	CHECK(got == b);
	mfs_gens_put(g, got);

	/* Freeing hands back the current one. */
	CHECK(mfs_gens_free(g) == b);
	CHECK_EQ_INT(retired_count, 1);
	free_gen(b);
}

static void test_free_retires_used(void)
{
	struct mfs_generation *a = make_gen(), *b = make_gen(), *got;
	struct mfs_gens *g;

	pthread_mutex_lock(&lock);
	installs = reloads = retired_count = 0;
	next_gen = b;
	pthread_mutex_unlock(&lock);
	CHECK_EQ_INT(mfs_gens_new(a, &ops, &g), 0);
	CHECK_EQ_INT(mfs_gens_start(g), 0);
	got = mfs_gens_get(g);
	CHECK(got == a);
	mfs_gens_request_reload(g);
	CHECK_EQ_INT(wait_for(&installs, 1), 1);
	/* a still has a user, but the mount is gone: freed anyway. */
	CHECK(mfs_gens_free(g) == b);
	CHECK_EQ_INT(retired_count, 1);
	CHECK(retired[0] == a);
	free_gen(b);
}

static struct mfs_gens *chain_gens;

/* As the adapter does: a scheduler asks the older generations. */
static bool ask_older(void *arg, const char *name)
{
	struct mfs_generation *gen = arg;

	return mfs_gens_held_elsewhere(chain_gens, gen->sched, name);
}

/* Three generations, the two older ones in use, each newer one asking
 * the older ones (which ask theirs in turn, were they asked through
 * also_held: a lock taken twice; this would hang). */
static void test_chain_of_three(void)
{
	struct mfs_generation *a = make_gen(), *b = make_gen(), *c = make_gen(), *got;
	enum mfs_sched_how how;
	int fd;

	pthread_mutex_lock(&lock);
	installs = reloads = retired_count = 0;
	pthread_mutex_unlock(&lock);
	CHECK_EQ_INT(mfs_gens_new(a, &ops, &chain_gens), 0);
	CHECK_EQ_INT(mfs_gens_start(chain_gens), 0);
	mfs_sched_also_held(b->sched, ask_older, b);
	mfs_sched_also_held(c->sched, ask_older, c);
	got = mfs_gens_get(chain_gens);            /* a, held */
	fd = mfs_sched_get(a->sched, 0, &how);     /* a reader of a */
	CHECK(fd >= 0);
	for (int k = 0; k < 2; k++) {
		pthread_mutex_lock(&lock);
		next_gen = k ? c : b;
		pthread_mutex_unlock(&lock);
		mfs_gens_request_reload(chain_gens);
		CHECK_EQ_INT(wait_for(&installs, k + 1), k + 1);
		if (k == 0)
			mfs_gens_get(chain_gens);  /* b, held */
	}
	CHECK(mfs_gens_held_elsewhere(chain_gens, c->sched, object));
	close(fd);
	mfs_sched_release(a->sched, 0);
	CHECK(!mfs_gens_held_elsewhere(chain_gens, c->sched, object));
	mfs_gens_put(chain_gens, got);
	CHECK_EQ_INT(wait_for(&retired_count, 1), 1);
	CHECK(mfs_gens_free(chain_gens) == c);
	CHECK_EQ_INT(retired_count, 2);
	free_gen(c);
}

int main(void)
{
	int rc;

	unit_tmp_make("gens");
	store.dirfd = -1;
	if (mfs_store_open(&store, unit_at("store")) < 0) {
		fprintf(stderr, "cannot open the store\n");
		return 1;
	}
	RUN(test_reload_and_retire);
	RUN(test_free_retires_used);
	RUN(test_chain_of_three);
	mfs_store_release(&store);
	unit_tmp_remove();
	rc = unit_done();
	return rc;
}
