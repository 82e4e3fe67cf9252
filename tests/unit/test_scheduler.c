/* Unit tests for fs/scheduler.c, with a real store and config, and sources
 * that cannot deliver (nothing listening, or a peer that never answers),
 * so the store paths, failure paths, waiters, cancellation and the pools'
 * bounds are exercised without a network.  Successful downloads are
 * covered end to end. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "digest.h"
#include "fetch.h"
#include "inflight.h"
#include "scheduler.h"
#include "store.h"
#include "unit.h"

#define BODY "verified model bytes\n"
/* sha256 of BODY */
static char body_hex[65];

struct fixture {
	char dir[64];
	char store_path[128];
	char audit_path[128];
	struct mfs_config *cfg;
	struct mfs_store store;
	struct mfs_audit *audit;
	struct mfs_sched *sched;
	char object[160];
};

static void body_digest(void)
{
	struct mfs_hasher *h;
	struct mfs_digests d;

	mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);
	mfs_hasher_update(h, BODY, strlen(BODY));
	mfs_hasher_final(h, &d);
	mfs_hasher_free(h);
	mfs_hex_encode(d.d[MFS_SHA256], 32, body_hex);
}

/* `port`: where the source points; nothing may be listening there.
 * Models m0..m<nmodels-1> at a/mN.bin; m0's pin is BODY's digest, the
 * others' are made up.  `fetch_threads`, `hash_threads`: 0 for the
 * defaults. */
static int setup_pools(struct fixture *f, int port, long low_speed_time, int nmodels,
		       unsigned hash_threads, unsigned fetch_threads)
{
	char ini[65536], err[512];
	size_t len;

	memset(f, 0, sizeof(*f));
	f->store.dirfd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mfs-gate-XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->store_path, sizeof(f->store_path), "%s/store", f->dir);
	snprintf(f->audit_path, sizeof(f->audit_path), "%s/audit.jsonl", f->dir);
	len = (size_t)snprintf(ini, sizeof(ini),
			       "[modelfs]\nstore = %s\naudit_log = %s\nconnect_timeout = 2\n"
			       "low_speed_limit = 1000\nlow_speed_time = %ld\n"
			       "[source s]\nurl = http://127.0.0.1:%d/\nallow_http = yes\n",
			       f->store_path, f->audit_path, low_speed_time, port);
	for (int i = 0; i < nmodels && len < sizeof(ini); i++) {
		char hex[65];

		if (i == 0)
			snprintf(hex, sizeof(hex), "%s", body_hex);
		else
			snprintf(hex, sizeof(hex), "%064x", i);
		len += (size_t)snprintf(ini + len, sizeof(ini) - len,
					"[model m%d]\nsource = s\npath = a/m%d.bin\nurl = m%d.bin\n"
					"size = %zu\nsha256 = %s\n", i, i, i, strlen(BODY), hex);
	}
	if (mfs_config_parse_string("sched.ini", ini, &f->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "  config: %s\n", err);
		return -EINVAL;
	}
	if (mfs_store_open(&f->store, f->store_path) < 0 ||
	    mfs_audit_open(f->audit_path, &f->audit) < 0)
		return -EIO;
	mfs_store_object_name(&f->cfg->models[0].digests, f->object, sizeof(f->object));
	struct mfs_sched_opts o = {
		.cfg = f->cfg, .store = &f->store, .audit = f->audit,
		.hash_threads = hash_threads, .fetch_threads = fetch_threads,
	};
	return mfs_sched_new(&o, &f->sched);
}

static int setup(struct fixture *f, int port, long low_speed_time)
{
	return setup_pools(f, port, low_speed_time, 1, 0, 0);
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	mfs_sched_free(f->sched);
	mfs_audit_close(f->audit);
	mfs_store_release(&f->store);
	mfs_config_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  cannot remove %s\n", f->dir);
}

static void put_object(struct fixture *f, const char *bytes)
{
	int fd = openat(f->store.objects_fd, f->object, O_WRONLY | O_CREAT | O_TRUNC, 0444);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, bytes, strlen(bytes)), (long long)strlen(bytes));
	close(fd);
}

static int count_in(int dirfd)
{
	char cmd[96];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A /proc/%d/fd/%d/ | wc -l", (int)getpid(), dirfd);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* Occurrences of `event` in the audit log. */
static int audit_count(struct fixture *f, const char *event)
{
	char line[4096], needle[64];
	FILE *a = fopen(f->audit_path, "r");
	int n = 0;

	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
	while (a && fgets(line, sizeof(line), a))
		n += strstr(line, needle) != NULL;
	if (a)
		fclose(a);
	return n;
}

/* Waits up to 10 s for `n` occurrences of `event` in the audit log. */
static bool wait_audit(struct fixture *f, const char *event, int n)
{
	for (int i = 0; i < 1000; i++) {
		if (audit_count(f, event) >= n)
			return true;
		usleep(10000);
	}
	return false;
}

static bool audit_has(struct fixture *f, const char *event)
{
	char line[4096], needle[64];
	bool found = false;
	FILE *a = fopen(f->audit_path, "r");

	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
	while (a && fgets(line, sizeof(line), a))
		found |= strstr(line, needle) != NULL;
	if (a)
		fclose(a);
	return found;
}

static int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(s, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(s); /* bound once, now nothing listens there */
	return port;
}

static void test_serves_good_stored_object_without_network(void)
{
	enum mfs_sched_how how = MFS_SCHED_FETCHED;
	struct fixture f;
	char buf[64] = "";
	int fd;

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, BODY);
	fd = mfs_sched_get(f.sched, 0, &how);
	CHECK(fd >= 0);
	CHECK_EQ_INT(how, MFS_SCHED_STORE);
	CHECK_EQ_INT(pread(fd, buf, sizeof(buf), 0), (long long)strlen(BODY));
	CHECK_STR(buf, BODY);
	CHECK(audit_has(&f, "verify_ok"));
	CHECK(!audit_has(&f, "fetch_start"));
	close(fd);
	/* Verified now: answered at once, no worker, no callback. */
	fd = mfs_sched_open(f.sched, 0, NULL, NULL);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(mfs_sched_get(f.sched, 0, &how) >= 0, 1);
	CHECK_EQ_INT(how, MFS_SCHED_CACHED);
	CHECK_EQ_INT(mfs_sched_open(f.sched, 1, NULL, NULL), -EINVAL);
	teardown(&f);
}

static void test_corrupt_object_quarantined_and_fetch_failure_is_eio(void)
{
	struct fixture f;

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, "tampered model bytes\n");
	CHECK_EQ_INT(mfs_sched_get(f.sched, 0, NULL), -EIO);
	CHECK(audit_has(&f, "store_corrupt"));
	CHECK(audit_has(&f, "fetch_failed"));
	CHECK_EQ_INT(faccessat(f.store.objects_fd, f.object, F_OK, 0), -1);
	CHECK_EQ_INT(count_in(f.store.quarantine_fd), 1);
	CHECK_EQ_INT(count_in(f.store.staging_fd), 0);
	/* A failure holds the model back: the next request fails at once,
	 * with no new download, and says why and until when. */
	CHECK_EQ_INT(mfs_sched_get(f.sched, 0, NULL), -EIO);
	CHECK_EQ_INT(audit_count(&f, "fetch_start"), 1);
	{
		struct mfs_sched_status st;

		mfs_sched_status(f.sched, 0, &st);
		CHECK_EQ_INT(st.state, MFS_MODEL_FAILED);
		CHECK_EQ_INT(st.failures, 1);
		CHECK(st.retry_at > time(NULL));
		CHECK_CONTAINS(st.error, "Couldn't connect to server");
	}
	teardown(&f);
}

static void test_object_changed_after_verification_is_verified_again(void)
{
	struct fixture f;
	int fd, w;

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, BODY);
	fd = mfs_sched_get(f.sched, 0, NULL);
	CHECK(fd >= 0);
	close(fd);
	/* Same inode, same size, new content: only mtime/ctime give it away. */
	CHECK_EQ_INT(fchmodat(f.store.objects_fd, f.object, 0644, 0), 0);
	w = openat(f.store.objects_fd, f.object, O_WRONLY);
	CHECK(w >= 0);
	CHECK_EQ_INT(pwrite(w, "V", 1, 0), 1);
	close(w);
	CHECK_EQ_INT(mfs_sched_get(f.sched, 0, NULL), -EIO);
	CHECK(audit_has(&f, "store_corrupt"));
	teardown(&f);
}

struct getter {
	struct mfs_sched *s;
	int fd;
};

static void *get_thread(void *arg)
{
	struct getter *gt = arg;

	gt->fd = mfs_sched_get(gt->s, 0, NULL);
	return NULL;
}

static void test_concurrent_requests_all_answered(void)
{
	struct fixture f;
	struct getter gt[8];
	pthread_t t[8];

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, BODY);
	for (int i = 0; i < 8; i++) {
		gt[i].s = f.sched;
		pthread_create(&t[i], NULL, get_thread, &gt[i]);
	}
	for (int i = 0; i < 8; i++) {
		char buf[64] = "";

		pthread_join(t[i], NULL);
		CHECK(gt[i].fd >= 0);
		if (gt[i].fd < 0)
			continue;
		CHECK_EQ_INT(pread(gt[i].fd, buf, sizeof(buf), 0), (long long)strlen(BODY));
		CHECK_STR(buf, BODY);
		close(gt[i].fd);
	}
	teardown(&f);
}

struct record {
	pthread_mutex_t lock;
	int calls;
	int result;
};

static void record_done(void *arg, size_t model, int result, const struct mfs_sched_outcome *o)
{
	struct record *r = arg;

	pthread_mutex_lock(&r->lock);
	r->calls++;
	r->result = result;
	pthread_mutex_unlock(&r->lock);
}

static void test_cancelled_waiter_is_never_answered(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct record a = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct record b = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct fixture f;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	/* A peer that accepts the connection (backlog) but never answers:
	 * the transfer hangs until the low-speed limit (1 s) ends it. */
	CHECK_EQ_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ_INT(listen(s, 4), 0);
	CHECK_EQ_INT(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	CHECK_EQ_INT(setup(&f, ntohs(sa.sin_port), 1), 0);
	CHECK_EQ_INT(mfs_sched_open(f.sched, 0, record_done, &a), -EINPROGRESS);
	CHECK_EQ_INT(mfs_sched_open(f.sched, 0, record_done, &b), -EINPROGRESS);
	CHECK(mfs_sched_cancel(f.sched, 0, &a));
	CHECK(!mfs_sched_cancel(f.sched, 0, &a));
	/* Stopped while the download is in flight: it is aborted. */
	CHECK(wait_audit(&f, "fetch_start", 1));
	mfs_sched_stop(f.sched); /* waits for the pools */
	CHECK_EQ_INT(a.calls, 0);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(b.result, -EIO);
	CHECK(audit_has(&f, "fetch_failed"));
	/* Stopped: no new download starts. */
	CHECK_EQ_INT(mfs_sched_open(f.sched, 0, record_done, &a), -EIO);
	teardown(&f);
	close(s);
}

/* A peer that takes connections (a deep backlog) and never answers:
 * every transfer to it ends at the low-speed limit.  Returns its socket. */
static int silent_peer(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	CHECK_EQ_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ_INT(listen(s, 128), 0);
	CHECK_EQ_INT(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return s;
}

static int threads_now(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	}
	if (f)
		fclose(f);
	return n;
}

static int calls_of(struct record *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->calls;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* Six cold models at once on pools of one hasher and two fetchers: never
 * more threads than the bound, never more downloads at once than two,
 * every open answered. */
static void test_pools_bound_threads(void)
{
	struct record r[6];
	struct fixture f;
	unsigned h = 0, fe = 0;
	int port, peer = silent_peer(&port), base, most = 0, done = 0;

	CHECK_EQ_INT(setup_pools(&f, port, 1, 6, 1, 2), 0);
	base = threads_now();
	for (int i = 0; i < 6; i++) {
		r[i] = (struct record){ PTHREAD_MUTEX_INITIALIZER, 0, 0 };
		CHECK_EQ_INT(mfs_sched_open(f.sched, (size_t)i, record_done, &r[i]), -EINPROGRESS);
	}
	for (int t = 0; t < 6000 && done < 6; t++) {
		int n = threads_now();

		most = n > most ? n : most;
		CHECK(audit_count(&f, "fetch_start") - audit_count(&f, "fetch_failed") <= 2);
		done = 0;
		for (int i = 0; i < 6; i++)
			done += calls_of(&r[i]);
		usleep(5000);
	}
	CHECK_EQ_INT(done, 6);
	for (int i = 0; i < 6; i++)
		CHECK_EQ_INT(r[i].result, -EIO);
	mfs_sched_threads(f.sched, &h, &fe);
	CHECK_EQ_INT(h, 1);
	CHECK_EQ_INT(fe, 2);
	/* The pools' threads, and per download a writer, a hasher and a
	 * resolver (none for an address, none for a body that never came). */
	CHECK(most - base <= 1 + 4 * 2);
	CHECK_EQ_INT(audit_count(&f, "fetch_start"), 6);
	CHECK_EQ_INT(audit_count(&f, "fetch_failed"), 6);
	teardown(&f);
	close(peer);
}

/* A queued model whose only waiter was interrupted is dropped: it is
 * never downloaded; the others are. */
static void test_interrupted_queued_job_is_dropped(void)
{
	struct record a = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct record b = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct record c = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct fixture f;
	char line[4096];
	int port, peer = silent_peer(&port), m1 = 0;
	FILE *log;

	CHECK_EQ_INT(setup_pools(&f, port, 1, 3, 1, 1), 0);
	CHECK_EQ_INT(mfs_sched_open(f.sched, 0, record_done, &a), -EINPROGRESS);
	/* m0 holds the only fetcher now; m1 and m2 queue behind it. */
	CHECK(wait_audit(&f, "fetch_start", 1));
	CHECK_EQ_INT(mfs_sched_open(f.sched, 1, record_done, &b), -EINPROGRESS);
	CHECK_EQ_INT(mfs_sched_open(f.sched, 2, record_done, &c), -EINPROGRESS);
	CHECK(mfs_sched_cancel(f.sched, 1, &b));
	CHECK(wait_audit(&f, "fetch_failed", 2));
	mfs_sched_stop(f.sched);
	CHECK_EQ_INT(calls_of(&a), 1);
	CHECK_EQ_INT(calls_of(&b), 0);
	CHECK_EQ_INT(calls_of(&c), 1);
	CHECK_EQ_INT(audit_count(&f, "fetch_start"), 2);
	log = fopen(f.audit_path, "r");
	while (log && fgets(line, sizeof(line), log))
		m1 += strstr(line, "a/m1.bin") != NULL;
	if (log)
		fclose(log);
	CHECK_EQ_INT(m1, 0);
	teardown(&f);
	close(peer);
}

/* Two schedulers of one store sharing an inflight table, as a reload
 * leaves them (the replaced config's, `old`, and the current one,
 * f.sched), both for f's config, and an origin that never answers; the
 * old one's open of model 0 (answered to `a`) is downloading when the
 * current one's (to `b`) arrives. */
struct reloaded {
	struct fixture f;
	struct mfs_inflight *in;
	struct mfs_sched *old;
	struct record a, b;
	int peer;
};

static bool reloaded_start(struct reloaded *r, long low_speed_time)
{
	int port, rc;

	*r = (struct reloaded){ .a = { PTHREAD_MUTEX_INITIALIZER, 0, 0 },
				.b = { PTHREAD_MUTEX_INITIALIZER, 0, 0 } };
	r->peer = silent_peer(&port);
	rc = setup(&r->f, port, low_speed_time);
	if (rc < 0)
		return false;
	mfs_sched_free(r->f.sched);
	r->f.sched = NULL;
	if (mfs_inflight_new(&r->in) < 0)
		return false;
	struct mfs_sched_opts o = {
		.cfg = r->f.cfg, .store = &r->f.store, .audit = r->f.audit, .inflight = r->in,
	};
	if (mfs_sched_new(&o, &r->old) < 0 || mfs_sched_new(&o, &r->f.sched) < 0)
		return false;
	CHECK_EQ_INT(mfs_sched_open(r->old, 0, record_done, &r->a), -EINPROGRESS);
	CHECK(wait_audit(&r->f, "fetch_start", 1));
	CHECK_EQ_INT(mfs_sched_open(r->f.sched, 0, record_done, &r->b), -EINPROGRESS);
	return true;
}

/* Frees what reloaded_start made (old first, unless freed already). */
static void reloaded_end(struct reloaded *r)
{
	mfs_sched_free(r->old);
	teardown(&r->f);
	mfs_inflight_free(r->in);
	close(r->peer);
}

/* The old scheduler's download is under way when the current one is
 * asked for the same model: it does not download it too (the origin
 * never answers: a download of its own would fail), but waits, and once
 * the old one ends serves the object the store has then, its very inode
 * (what the old one's readers would hold: FUSE passthrough refuses two
 * backing files for one inode). */
static void test_reload_waits_for_the_download_under_way(void)
{
	struct reloaded r;
	struct stat got, obj;
	char buf[64] = "";

	CHECK(reloaded_start(&r, 5));
	/* (Time for its hash round, which finds nothing, and its fetch
	 * round, which waits.) */
	usleep(300000);
	CHECK_EQ_INT(audit_count(&r.f, "fetch_start"), 1);
	CHECK_EQ_INT(calls_of(&r.b), 0);
	/* As if the old download had committed it, and ended. */
	put_object(&r.f, BODY);
	mfs_sched_free(r.old);
	r.old = NULL;
	CHECK_EQ_INT(calls_of(&r.a), 1);
	CHECK_EQ_INT(r.a.result, -EIO);
	for (int i = 0; i < 1000 && calls_of(&r.b) == 0; i++)
		usleep(10000);
	CHECK_EQ_INT(calls_of(&r.b), 1);
	CHECK(r.b.result >= 0);
	if (calls_of(&r.b) == 1 && r.b.result >= 0) {
		CHECK_EQ_INT(pread(r.b.result, buf, sizeof(buf), 0), (long long)strlen(BODY));
		CHECK_STR(buf, BODY);
		CHECK_EQ_INT(fstat(r.b.result, &got), 0);
		CHECK_EQ_INT(fstatat(r.f.store.objects_fd, r.f.object, &obj, 0), 0);
		CHECK_EQ_INT(got.st_ino, obj.st_ino);
		close(r.b.result);
		mfs_sched_release(r.f.sched, 0);
	}
	CHECK_EQ_INT(audit_count(&r.f, "fetch_start"), 1);
	CHECK_EQ_INT(audit_count(&r.f, "verify_ok"), 1);
	reloaded_end(&r);
}

/* Stopped while it waits for another scheduler's download, a scheduler
 * answers its waiter at once: the other download still runs (it ends at
 * the low-speed limit, 20 s). */
static void test_stop_ends_a_wait_for_another_download(void)
{
	struct reloaded r;

	CHECK(reloaded_start(&r, 20));
	usleep(300000);
	mfs_sched_stop(r.f.sched);
	CHECK_EQ_INT(calls_of(&r.b), 1);
	CHECK_EQ_INT(r.b.result, -EIO);
	CHECK_EQ_INT(calls_of(&r.a), 0);
	CHECK_EQ_INT(audit_count(&r.f, "fetch_failed"), 0);
	mfs_sched_free(r.old);
	r.old = NULL;
	CHECK_EQ_INT(calls_of(&r.a), 1);
	CHECK_EQ_INT(audit_count(&r.f, "fetch_start"), 1);
	reloaded_end(&r);
}

/* The old scheduler's download fails while the current one waits for
 * it: the current one's open fails at once with it (the failure's
 * back-off, recorded in the store, holds for both), rather than start a
 * download of its own that would fail the same way (it did: a second
 * fetch_start, and the open answered a whole download later). */
static void test_a_wait_through_a_failure_fails_at_once(void)
{
	struct reloaded r;

	CHECK(reloaded_start(&r, 1));
	for (int i = 0; i < 3000 && (calls_of(&r.a) == 0 || calls_of(&r.b) == 0); i++)
		usleep(10000);
	CHECK_EQ_INT(calls_of(&r.a), 1);
	CHECK_EQ_INT(r.a.result, -EIO);
	CHECK_EQ_INT(calls_of(&r.b), 1);
	CHECK_EQ_INT(r.b.result, -EIO);
	CHECK_EQ_INT(audit_count(&r.f, "fetch_start"), 1);
	CHECK_EQ_INT(audit_count(&r.f, "fetch_failed"), 1);
	reloaded_end(&r);
}

/* A folder of three files (prefetch = yes in [modelfs]): x0 and x1 are
 * BODY (one object), x2 is pinned to bytes no store has; the source
 * cannot deliver.  `prefetch`: the scheduler honours it. */
static int setup_folder(struct fixture *f, int port, bool prefetch)
{
	char ini[2048], err[512];

	memset(f, 0, sizeof(*f));
	f->store.dirfd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mfs-gate-XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->store_path, sizeof(f->store_path), "%s/store", f->dir);
	snprintf(f->audit_path, sizeof(f->audit_path), "%s/audit.jsonl", f->dir);
	snprintf(ini, sizeof(ini),
		 "[modelfs]\nstore = %s\naudit_log = %s\nconnect_timeout = 2\nretries = 0\nprefetch = yes\n"
		 "[source s]\nurl = http://127.0.0.1:%d/\nallow_http = yes\n"
		 "[model d]\nsource = s\npath = d\nurl = d/\n"
		 "file = x0 %zu sha256:%s\nfile = x1 %zu sha256:%s\nfile = x2 %zu sha256:%064x\n",
		 f->store_path, f->audit_path, port, strlen(BODY), body_hex, strlen(BODY), body_hex,
		 strlen(BODY), 7);
	if (mfs_config_parse_string("sched.ini", ini, &f->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "  config: %s\n", err);
		return -EINVAL;
	}
	if (mfs_store_open(&f->store, f->store_path) < 0 ||
	    mfs_audit_open(f->audit_path, &f->audit) < 0)
		return -EIO;
	mfs_store_object_name(&f->cfg->models[0].digests, f->object, sizeof(f->object));
	struct mfs_sched_opts o = {
		.cfg = f->cfg, .store = &f->store, .audit = f->audit, .prefetch = prefetch,
	};
	return mfs_sched_new(&o, &f->sched);
}

static enum mfs_model_state state_of(struct fixture *f, size_t mi)
{
	struct mfs_sched_status st;

	mfs_sched_status(f->sched, mi, &st);
	return st.state;
}

/* The first open of x0 queues x1 (verified from the store, never asked
 * for) and x2 (its download fails: recorded, so its own open fails at
 * once); the audit says which work was a prefetch.  A scheduler without
 * opts.prefetch (modelfsctl's) queues nothing. */
static void test_prefetch_of_a_folder(void)
{
	enum mfs_sched_how how = MFS_SCHED_FETCHED;
	struct fixture f;
	int fd;

	CHECK_EQ_INT(setup_folder(&f, closed_port(), true), 0);
	put_object(&f, BODY);
	fd = mfs_sched_get(f.sched, 0, &how);
	CHECK(fd >= 0);
	CHECK_EQ_INT(how, MFS_SCHED_STORE);
	if (fd >= 0)
		close(fd);
	CHECK(wait_audit(&f, "fetch_failed", 1));
	CHECK(wait_audit(&f, "verify_ok", 2));
	for (int i = 0; i < 1000 && state_of(&f, 2) == MFS_MODEL_FETCHING; i++)
		usleep(10000);
	CHECK_EQ_INT(state_of(&f, 1), MFS_MODEL_VERIFIED);
	CHECK_EQ_INT(state_of(&f, 2), MFS_MODEL_FAILED);
	{
		char line[4096];
		int pre = 0, all = 0;
		FILE *a = fopen(f.audit_path, "r");

		/* x1's verify_ok, x2's fetch_start, any fetch_retry and its
		 * fetch_failed are a prefetch's; x0's verify_ok is not. */
		while (a && fgets(line, sizeof(line), a)) {
			all++;
			pre += strstr(line, "\"prefetch\":true") != NULL;
			if (strstr(line, "\"path\":\"d/x0\""))
				CHECK(strstr(line, "prefetch") == NULL);
		}
		if (a)
			fclose(a);
		CHECK(all >= 4);
		CHECK_EQ_INT(pre, all - 1);
	}
	fd = mfs_sched_get(f.sched, 1, &how);
	CHECK(fd >= 0);
	CHECK_EQ_INT(how, MFS_SCHED_CACHED);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(mfs_sched_get(f.sched, 2, NULL), -EIO);
	CHECK_EQ_INT(audit_count(&f, "fetch_start"), 1);
	teardown(&f);

	CHECK_EQ_INT(setup_folder(&f, closed_port(), false), 0);
	put_object(&f, BODY);
	fd = mfs_sched_get(f.sched, 0, NULL);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(state_of(&f, 1), MFS_MODEL_ABSENT);
	CHECK_EQ_INT(state_of(&f, 2), MFS_MODEL_ABSENT);
	CHECK_EQ_INT(audit_count(&f, "verify_ok"), 1);
	teardown(&f);
}

int main(void)
{
	body_digest();
	if (mfs_fetch_global_init() < 0)
		return 1;
	RUN(test_serves_good_stored_object_without_network);
	RUN(test_corrupt_object_quarantined_and_fetch_failure_is_eio);
	RUN(test_object_changed_after_verification_is_verified_again);
	RUN(test_concurrent_requests_all_answered);
	RUN(test_cancelled_waiter_is_never_answered);
	RUN(test_pools_bound_threads);
	RUN(test_interrupted_queued_job_is_dropped);
	RUN(test_prefetch_of_a_folder);
	RUN(test_reload_waits_for_the_download_under_way);
	RUN(test_stop_ends_a_wait_for_another_download);
	RUN(test_a_wait_through_a_failure_fails_at_once);
	mfs_fetch_global_cleanup();
	return unit_done();
}
