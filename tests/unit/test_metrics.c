/* Unit tests for fs/metrics.c: the text (checked further by promtool end
 * to end), counters and the histogram's cumulative buckets, the file
 * written atomically on start and stop, NULL metrics. */
#include "metrics.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void gauges(void *arg, struct mfs_gauges *g)
{
	g->store_bytes = 1234;
	g->store_max = 1 << 20;
	g->models[MFS_MODEL_VERIFIED] = 3;
	g->models[MFS_MODEL_FAILED] = *(int *)arg;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	if (f && buf)
		buf[fread(buf, 1, 65535, f)] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static void test_text(void)
{
	struct mfs_metrics *m;
	struct mfs_gauges g = { .store_bytes = 7, .models = { 1, 2, 3, 4 } };
	char *t;

	CHECK_EQ_INT(mfs_metrics_new("/nonexistent/x.prom", &m), 0);
	mfs_metrics_count(m, MFS_FETCH_OK, 2);
	mfs_metrics_count(m, MFS_FETCH_FAILED, 1);
	mfs_metrics_count(m, MFS_FETCH_BYTES, 1000);
	mfs_metrics_count(m, MFS_EVICTIONS, 5);
	mfs_metrics_wait(m, 0.003);
	mfs_metrics_wait(m, 0.7);
	mfs_metrics_wait(m, 4000);
	t = mfs_metrics_format(m, &g);
	CHECK_CONTAINS(t, "# TYPE modelfs_fetches_total counter\n");
	CHECK_CONTAINS(t, "modelfs_fetches_total{result=\"ok\"} 2\n");
	CHECK_CONTAINS(t, "modelfs_fetches_total{result=\"failed\"} 1\n");
	CHECK_CONTAINS(t, "modelfs_fetch_bytes_total 1000\n");
	CHECK_CONTAINS(t, "modelfs_verify_failures_total 0\n");
	CHECK_CONTAINS(t, "modelfs_evictions_total 5\n");
	CHECK_CONTAINS(t, "modelfs_store_bytes 7\n");
	CHECK_CONTAINS(t, "modelfs_models{state=\"absent\"} 1\n");
	CHECK_CONTAINS(t, "modelfs_models{state=\"failed\"} 4\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_bucket{le=\"0.01\"} 1\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_bucket{le=\"0.5\"} 1\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_bucket{le=\"1\"} 2\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_bucket{le=\"300\"} 2\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_bucket{le=\"+Inf\"} 3\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_count 3\n");
	CHECK_CONTAINS(t, "modelfs_open_wait_seconds_sum 4000.703000\n");
	free(t);
	/* The directory does not exist: start says so. */
	{
		int failed = 0;

		CHECK_EQ_INT(mfs_metrics_start(m, gauges, &failed), -ENOENT);
	}
	mfs_metrics_free(m);
}

static void test_file(void)
{
	struct mfs_metrics *m;
	int failed = 0;
	char *t;

	unit_tmp_make("metrics");
	CHECK_EQ_INT(mfs_metrics_new(unit_at("m.prom"), &m), 0);
	CHECK_EQ_INT(mfs_metrics_start(m, gauges, &failed), 0);
	t = slurp(unit_at("m.prom"));
	CHECK_CONTAINS(t, "modelfs_models{state=\"verified\"} 3\n");
	CHECK_CONTAINS(t, "modelfs_models{state=\"failed\"} 0\n");
	CHECK_EQ_INT(unit_mode_of(unit_at("m.prom")), 0644);
	free(t);
	failed = 2;
	mfs_metrics_count(m, MFS_STORE_CORRUPT, 1);
	mfs_metrics_stop(m);
	mfs_metrics_stop(m);
	t = slurp(unit_at("m.prom"));
	CHECK_CONTAINS(t, "modelfs_models{state=\"failed\"} 2\n");
	CHECK_CONTAINS(t, "modelfs_store_corrupt_total 1\n");
	free(t);
	mfs_metrics_free(m);
	/* Nothing but the file is left behind. */
	CHECK(access(unit_at("m.prom"), F_OK) == 0);
	unit_tmp_remove();
	mfs_metrics_count(NULL, MFS_FETCH_OK, 1);
	mfs_metrics_wait(NULL, 1);
	CHECK_EQ_INT(mfs_metrics_start(NULL, gauges, &failed), 0);
	mfs_metrics_stop(NULL);
	mfs_metrics_free(NULL);
}

int main(void)
{
	RUN(test_text);
	RUN(test_file);
	return unit_done();
}
