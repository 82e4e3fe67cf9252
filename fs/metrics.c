/* metrics — see include/metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "status.h"

#define EVERY_S 10

/* Upper bounds of the open-wait buckets, seconds (then +Inf). */
static const double bounds[] = { 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300 };
#define NBUCKETS (sizeof(bounds) / sizeof(bounds[0]))

struct mfs_metrics {
	char *file;
	_Atomic uint64_t counters[MFS_NCOUNTERS];
	atomic_bool changed;
	pthread_mutex_t lock;        /* the histogram, the thread's state */
	pthread_cond_t wake;
	uint64_t buckets[NBUCKETS + 1];
	uint64_t waits;
	double wait_sum;
	bool running, stopping;
	pthread_t thread;
	void (*gauges)(void *arg, struct mfs_gauges *g);
	void *arg;
	struct mfs_gauges last;      /* the gauges last written */
};

int mfs_metrics_new(const char *file, struct mfs_metrics **out)
{
	struct mfs_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m || !(m->file = strdup(file))) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	*out = m;
	return 0;
}

void mfs_metrics_free(struct mfs_metrics *m)
{
	if (!m)
		return;
	mfs_metrics_stop(m);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m->file);
	free(m);
}

void mfs_metrics_count(struct mfs_metrics *m, enum mfs_counter c, uint64_t n)
{
	if (!m || c >= MFS_NCOUNTERS || !n)
		return;
	atomic_fetch_add(&m->counters[c], n);
	atomic_store(&m->changed, true);
}

void mfs_metrics_wait(struct mfs_metrics *m, double seconds)
{
	size_t b = 0;

	if (!m)
		return;
	while (b < NBUCKETS && seconds > bounds[b])
		b++;
	pthread_mutex_lock(&m->lock);
	m->buckets[b]++;
	m->waits++;
	m->wait_sum += seconds;
	pthread_mutex_unlock(&m->lock);
	atomic_store(&m->changed, true);
}

/* A growing text buffer; a failed append leaves it NULL. */
struct text {
	char *s;
	size_t len, cap;
};

static __attribute__((format(printf, 2, 3)))
void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!t->s && t->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4096;
		char *s;

		while (n >= 0 && t->len + (size_t)n + 1 > cap)
			cap *= 2;
		s = n < 0 ? NULL : realloc(t->s, cap);
		if (!s) {
			free(t->s);
			t->s = NULL;
			t->cap = 1;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void counter(struct text *t, const char *name, const char *help, uint64_t v)
{
	add(t, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, v);
}

static void gauge(struct text *t, const char *name, const char *help, uint64_t v)
{
	add(t, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRIu64 "\n", name, help, name, name, v);
}

char *mfs_metrics_format(struct mfs_metrics *m, const struct mfs_gauges *g)
{
	struct text t = { 0 };
	uint64_t cum = 0;

	add(&t, "# HELP modelfs_fetches_total Downloads of a model; one whose digest did not "
		"match counts as failed.\n# TYPE modelfs_fetches_total counter\n");
	add(&t, "modelfs_fetches_total{result=\"ok\"} %" PRIu64 "\n",
	    atomic_load(&m->counters[MFS_FETCH_OK]));
	add(&t, "modelfs_fetches_total{result=\"failed\"} %" PRIu64 "\n",
	    atomic_load(&m->counters[MFS_FETCH_FAILED]));
	counter(&t, "modelfs_fetch_bytes_total", "Bytes received by downloads.",
		atomic_load(&m->counters[MFS_FETCH_BYTES]));
	counter(&t, "modelfs_verify_failures_total", "Downloads whose digest did not match.",
		atomic_load(&m->counters[MFS_VERIFY_FAILURES]));
	counter(&t, "modelfs_store_corrupt_total", "Stored objects found changed.",
		atomic_load(&m->counters[MFS_STORE_CORRUPT]));
	counter(&t, "modelfs_evictions_total", "Objects evicted to stay within store_max.",
		atomic_load(&m->counters[MFS_EVICTIONS]));
	gauge(&t, "modelfs_store_bytes", "Bytes of the objects in the store.", g->store_bytes);
	gauge(&t, "modelfs_store_max_bytes", "store_max (0: no bound).", g->store_max);
	add(&t, "# HELP modelfs_models Models of the config per state.\n"
		"# TYPE modelfs_models gauge\n");
	for (int s = MFS_MODEL_ABSENT; s <= MFS_MODEL_FAILED; s++)
		add(&t, "modelfs_models{state=\"%s\"} %" PRIu64 "\n",
		    mfs_status_state_name((enum mfs_model_state)s), g->models[s]);
	add(&t, "# HELP modelfs_open_wait_seconds How long opens waited for a fetch or a "
		"verification.\n# TYPE modelfs_open_wait_seconds histogram\n");
	pthread_mutex_lock(&m->lock);
	for (size_t b = 0; b <= NBUCKETS; b++) {
		cum += m->buckets[b];
		if (b < NBUCKETS)
			add(&t, "modelfs_open_wait_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			    bounds[b], cum);
		else
			add(&t, "modelfs_open_wait_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
	}
	add(&t, "modelfs_open_wait_seconds_sum %.6f\nmodelfs_open_wait_seconds_count %" PRIu64
		"\n", m->wait_sum, m->waits);
	pthread_mutex_unlock(&m->lock);
	return t.s;
}

/* The file, replaced whole. */
static int write_file(struct mfs_metrics *m, const struct mfs_gauges *g)
{
	char *text = mfs_metrics_format(m, g), *tmp = NULL;
	size_t len, done = 0;
	int fd, rc = 0;

	if (!text || asprintf(&tmp, "%s.%ld.tmp", m->file, (long)getpid()) < 0) {
		free(text);
		return -ENOMEM;
	}
	len = strlen(text);
	/* node_exporter reads it as another user: world-readable. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, m->file) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
out_free:
	free(tmp);
	free(text);
	return rc;
}

/* Writes if anything changed since the last write (or `force`). */
static void tick(struct mfs_metrics *m, bool force)
{
	struct mfs_gauges g = { 0 };
	int rc;

	m->gauges(m->arg, &g);
	if (!force && !atomic_exchange(&m->changed, false) && !memcmp(&g, &m->last, sizeof(g)))
		return;
	atomic_store(&m->changed, false);
	rc = write_file(m, &g);
	if (rc < 0)
		mfs_warn("cannot write the metrics to '%s': %s", m->file, strerror(-rc));
	m->last = g;
}

static void *writer(void *arg)
{
	struct mfs_metrics *m = arg;
	struct timespec until;

	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += EVERY_S;
		while (!m->stopping &&
		       pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
			;
		if (m->stopping)
			break;
		pthread_mutex_unlock(&m->lock);
		tick(m, false);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int mfs_metrics_start(struct mfs_metrics *m, void (*gauges)(void *arg, struct mfs_gauges *g),
		      void *arg)
{
	struct mfs_gauges g = { 0 };
	int rc;

	if (!m)
		return 0;
	m->gauges = gauges;
	m->arg = arg;
	gauges(arg, &g);
	rc = write_file(m, &g);
	if (rc < 0)
		return rc;
	m->last = g;
	rc = pthread_create(&m->thread, NULL, writer, m);
	if (rc != 0)
		return -rc;
	m->running = true;
	return 0;
}

void mfs_metrics_stop(struct mfs_metrics *m)
{
	if (!m || !m->running)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	m->running = false;
	tick(m, true);
}
