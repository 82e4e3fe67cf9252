/* Unit tests for fs/gate.c, with a real store and config, and sources that
 * cannot deliver (nothing listening, or a peer that never answers), so the
 * store paths, failure paths, waiters and cancellation are exercised
 * without a network.  Successful downloads are covered end to end. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "digest.h"
#include "fetch.h"
#include "gate.h"
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
	struct mfs_gate *gate;
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

/* `port`: where the source points; nothing may be listening there. */
static int setup(struct fixture *f, int port, long low_speed_time)
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
		 "[modelfs]\nstore = %s\naudit_log = %s\nconnect_timeout = 2\n"
		 "low_speed_limit = 1000\nlow_speed_time = %ld\n"
		 "[source s]\nurl = http://127.0.0.1:%d/\nallow_http = yes\n"
		 "[model m]\nsource = s\npath = a/m.bin\nurl = m.bin\nsize = %zu\nsha256 = %s\n",
		 f->store_path, f->audit_path, low_speed_time, port, strlen(BODY), body_hex);
	if (mfs_config_parse_string("gate.ini", ini, &f->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "  config: %s\n", err);
		return -EINVAL;
	}
	if (mfs_store_open(&f->store, f->store_path) < 0 ||
	    mfs_audit_open(f->audit_path, &f->audit) < 0)
		return -EIO;
	mfs_model_object_name(&f->cfg->models[0], f->object, sizeof(f->object));
	struct mfs_gate_opts o = { .cfg = f->cfg, .store = &f->store, .audit = f->audit };
	return mfs_gate_new(&o, &f->gate);
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	mfs_gate_free(f->gate);
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
	struct fixture f;
	char buf[64] = "";
	int fd;

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, BODY);
	fd = mfs_gate_get(f.gate, 0);
	CHECK(fd >= 0);
	CHECK_EQ_INT(pread(fd, buf, sizeof(buf), 0), (long long)strlen(BODY));
	CHECK_STR(buf, BODY);
	CHECK(audit_has(&f, "verify_ok"));
	CHECK(!audit_has(&f, "fetch_start"));
	close(fd);
	/* Verified now: answered at once, no worker, no callback. */
	fd = mfs_gate_open(f.gate, 0, NULL, NULL);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(mfs_gate_open(f.gate, 1, NULL, NULL), -EINVAL);
	teardown(&f);
}

static void test_corrupt_object_quarantined_and_fetch_failure_is_eio(void)
{
	struct fixture f;

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, "tampered model bytes\n");
	CHECK_EQ_INT(mfs_gate_get(f.gate, 0), -EIO);
	CHECK(audit_has(&f, "store_corrupt"));
	CHECK(audit_has(&f, "fetch_failed"));
	CHECK_EQ_INT(faccessat(f.store.objects_fd, f.object, F_OK, 0), -1);
	CHECK_EQ_INT(count_in(f.store.quarantine_fd), 1);
	CHECK_EQ_INT(count_in(f.store.staging_fd), 0);
	/* A failure is not remembered: the next request tries again. */
	CHECK_EQ_INT(mfs_gate_get(f.gate, 0), -EIO);
	teardown(&f);
}

static void test_object_changed_after_verification_is_verified_again(void)
{
	struct fixture f;
	int fd, w;

	CHECK_EQ_INT(setup(&f, closed_port(), 2), 0);
	put_object(&f, BODY);
	fd = mfs_gate_get(f.gate, 0);
	CHECK(fd >= 0);
	close(fd);
	/* Same inode, same size, new content: only mtime/ctime give it away. */
	CHECK_EQ_INT(fchmodat(f.store.objects_fd, f.object, 0644, 0), 0);
	w = openat(f.store.objects_fd, f.object, O_WRONLY);
	CHECK(w >= 0);
	CHECK_EQ_INT(pwrite(w, "V", 1, 0), 1);
	close(w);
	CHECK_EQ_INT(mfs_gate_get(f.gate, 0), -EIO);
	CHECK(audit_has(&f, "store_corrupt"));
	teardown(&f);
}

struct getter {
	struct mfs_gate *g;
	int fd;
};

static void *get_thread(void *arg)
{
	struct getter *gt = arg;

	gt->fd = mfs_gate_get(gt->g, 0);
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
		gt[i].g = f.gate;
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

static void record_done(void *arg, size_t model, int result)
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
	CHECK_EQ_INT(mfs_gate_open(f.gate, 0, record_done, &a), -EINPROGRESS);
	CHECK_EQ_INT(mfs_gate_open(f.gate, 0, record_done, &b), -EINPROGRESS);
	CHECK(mfs_gate_cancel(f.gate, 0, &a));
	CHECK(!mfs_gate_cancel(f.gate, 0, &a));
	mfs_gate_stop(f.gate); /* waits for the worker */
	CHECK_EQ_INT(a.calls, 0);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(b.result, -EIO);
	CHECK(audit_has(&f, "fetch_failed"));
	/* Stopped: no new download starts. */
	CHECK_EQ_INT(mfs_gate_open(f.gate, 0, record_done, &a), -EIO);
	teardown(&f);
	close(s);
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
	mfs_fetch_global_cleanup();
	return unit_done();
}
