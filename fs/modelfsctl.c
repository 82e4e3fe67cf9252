/* modelfsctl — operator and CI commands that need no mount.
 *
 *   modelfsctl check CONFIG          validate; print a summary
 *   modelfsctl fetch CONFIG [PATH…]  fetch + verify into the store
 *   modelfsctl pin URL --path P ...  print a config section for URL (pin.h)
 *
 * Exit status: 0 success, 1 a model failed to verify or fetch (pin: the
 * download or the archive failed), 2 usage or config error. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "pin.h"
#include "scheduler.h"
#include "store.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: modelfsctl check CONFIG\n"
		"       modelfsctl fetch CONFIG [PATH...]\n"
		"       modelfsctl pin URL --path MOUNTPATH [--source NAME] [--ca-file F]\n"
		"                  [--allow-http] [--sha1] [--max-size BYTES]\n"
		"                  [--archive zip [--member M | --member-prefix P]]\n"
		"check  validates CONFIG and prints a summary (exit 2 on an error)\n"
		"fetch  downloads and verifies the models at PATHs (all if none) into\n"
		"       the store without mounting; exit 0 only if every one verified\n"
		"pin    downloads URL once, hashes it (a zip: each member) and prints a\n"
		"       config section to review and paste; changes nothing else.\n"
		"       Exit 1 if the download or the archive failed\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human_size(uint64_t n, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static int load(const char *file, struct mfs_config **cfg)
{
	char err[1024];

	if (mfs_config_load(file, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	return 0;
}

static int cmd_check(const char *file)
{
	struct mfs_config *cfg;
	uint64_t total = 0;
	size_t weak = 0;
	char hs[32];

	if (load(file, &cfg) < 0)
		return 2;
	for (size_t i = 0; i < cfg->nmodels; i++) {
		total += cfg->models[i].size;
		weak += cfg->models[i].weak;
	}
	human_size(total, hs, sizeof(hs));
	printf("%s: ok: %zu models, %zu sources, %llu bytes (%s)\n", file, cfg->nmodels,
	       cfg->nsources, (unsigned long long)total, hs);
	printf("store: %s\naudit log: %s\n", cfg->store, cfg->audit_log);
	for (size_t s = 0; s < cfg->nsources; s++) {
		size_t n = 0;

		for (size_t i = 0; i < cfg->nmodels; i++)
			n += cfg->models[i].source == &cfg->sources[s];
		printf("source %s: %s (%zu models%s%s)\n", cfg->sources[s].name,
		       cfg->sources[s].url, n, cfg->sources[s].ca_file ? ", ca_file " : "",
		       cfg->sources[s].ca_file ? cfg->sources[s].ca_file : "");
	}
	if (weak)
		printf("warning: %zu models are pinned by SHA-1 only\n", weak);
	mfs_config_free(cfg);
	return 0;
}

struct progress {
	const struct mfs_config *cfg;
	double start;
	double last;
};

static void on_progress(void *arg, size_t model, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	double now = now_s(), rate;
	char d[32], t[32];

	if (now - p->last < 0.2 && done < total)
		return;
	p->last = now;
	rate = now > p->start ? (double)done / (now - p->start) / 1e6 : 0;
	human_size(done, d, sizeof(d));
	human_size(total, t, sizeof(t));
	fprintf(stderr, "\r\033[K%s  %s / %s  %.1f MB/s", p->cfg->models[model].path, d, t, rate);
}

static int cmd_fetch(const char *file, char **paths, int npaths)
{
	struct mfs_store store = { .dirfd = -1 };
	struct mfs_config *cfg;
	struct mfs_audit *audit = NULL;
	struct mfs_sched *sched = NULL;
	struct progress prog = { 0 };
	bool *want = NULL, tty = isatty(STDERR_FILENO);
	size_t ok = 0, failed = 0, selected = 0;
	int rc, status = 2;

	if (load(file, &cfg) < 0)
		return 2;
	want = calloc(cfg->nmodels ? cfg->nmodels : 1, sizeof(*want));
	if (!want)
		goto out_free_config;
	for (int i = 0; i < npaths; i++) {
		const char *p = paths[i];
		const struct mfs_model *m;

		while (*p == '/')
			p++;
		m = mfs_config_find(cfg, p);
		if (!m) {
			fprintf(stderr, "modelfsctl: no model at path '%s' in %s\n", paths[i], file);
			goto out_free_want;
		}
		want[m - cfg->models] = true;
	}
	for (size_t i = 0; i < cfg->nmodels; i++) {
		if (npaths == 0)
			want[i] = true;
		selected += want[i];
	}
	status = 1;
	if (mfs_fetch_global_init() < 0) {
		fprintf(stderr, "modelfsctl: cannot initialise libcurl\n");
		goto out_free_want;
	}
	rc = mfs_store_open(&store, cfg->store);
	if (rc < 0) {
		fprintf(stderr, "modelfsctl: cannot open store '%s': %s\n", cfg->store, strerror(-rc));
		goto out_cleanup_fetch;
	}
	rc = mfs_audit_open(cfg->audit_log, &audit);
	if (rc < 0) {
		fprintf(stderr, "modelfsctl: cannot open audit log '%s': %s\n", cfg->audit_log,
			strerror(-rc));
		goto out_release_store;
	}
	prog.cfg = cfg;
	struct mfs_sched_opts so = {
		/* Warming a host: durability beats latency here. */
		.cfg = cfg, .store = &store, .audit = audit, .fsync = true,
		.progress = tty ? on_progress : NULL, .progress_arg = &prog,
	};
	rc = mfs_sched_new(&so, &sched);
	if (rc < 0)
		goto out_close_audit;
	for (size_t i = 0; i < cfg->nmodels; i++) {
		const struct mfs_model *m = &cfg->models[i];
		double t0, secs;
		int fd;

		if (!want[i])
			continue;
		prog.start = prog.last = t0 = now_s();
		fd = mfs_sched_get(sched, i, NULL);
		secs = now_s() - t0;
		if (tty)
			fprintf(stderr, "\r\033[K");
		if (fd >= 0) {
			close(fd);
			ok++;
			printf("ok    %s  %llu bytes  %.2f s  %.1f MB/s\n", m->path,
			       (unsigned long long)m->size, secs,
			       secs > 0 ? (double)m->size / secs / 1e6 : 0.0);
		} else {
			failed++;
			printf("FAIL  %s  %s (see the audit log %s)\n", m->path, strerror(-fd),
			       cfg->audit_log);
		}
		fflush(stdout);
	}
	printf("%zu of %zu models verified, %zu failed\n", ok, selected, failed);
	status = failed ? 1 : 0;
	mfs_sched_free(sched);
out_close_audit:
	mfs_audit_close(audit);
out_release_store:
	mfs_store_release(&store);
out_cleanup_fetch:
	mfs_fetch_global_cleanup();
out_free_want:
	free(want);
out_free_config:
	mfs_config_free(cfg);
	return status;
}

static void pin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void pin_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("modelfsctl: pin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void pin_progress(void *arg, uint64_t done, uint64_t total)
{
	double *start = arg, now = now_s();
	char d[32];

	human_size(done, d, sizeof(d));
	fprintf(stderr, "\r\033[K%s  %.1f MB/s", d,
		now > *start ? (double)done / (now - *start) / 1e6 : 0.0);
}

/* Thin: options to struct mfs_pin_opts, then pin.c does the work. */
static int cmd_pin(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "source", required_argument, NULL, 's' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "allow-http", no_argument, NULL, 'H' },
		{ "sha1", no_argument, NULL, '1' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "archive", required_argument, NULL, 'a' },
		{ "member", required_argument, NULL, 'M' },
		{ "member-prefix", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mfs_pin_opts o = { 0 };
	struct mfs_pin_result r;
	char err[1024], *text = NULL, *end;
	double start = now_s();
	bool tty = isatty(STDERR_FILENO);
	int c, rc, status = 2;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.path = optarg; break;
		case 's': o.source = optarg; break;
		case 'c': o.ca_file = optarg; break;
		case 'H': o.allow_http = true; break;
		case '1': o.sha1 = true; break;
		case 'M': o.member = optarg; break;
		case 'P': o.member_prefix = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		case 'a':
			if (strcmp(optarg, "zip") != 0) {
				pin_fail("unknown archive format '%s' (only zip)", optarg);
				return 2;
			}
			o.zip = true;
			break;
		case 'm':
			errno = 0;
			o.max_size = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno || o.max_size == 0) {
				pin_fail("bad --max-size '%s': a decimal number of bytes > 0", optarg);
				return 2;
			}
			break;
		case ':':
			pin_fail("%s needs a value", argv[optind - 1]);
			return 2;
		default:
			pin_fail("unknown option '%s'", argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 1) {
		pin_fail(argc == optind ? "a URL is required" : "exactly one URL, please");
		return 2;
	}
	o.url = argv[optind];
	if (mfs_pin_check_opts(&o, err, sizeof(err)) < 0) {
		pin_fail("%s", err);
		return 2;
	}
	if (tty) {
		o.progress = pin_progress;
		o.progress_arg = &start;
	}
	status = 1;
	if (mfs_fetch_global_init() < 0) {
		pin_fail("cannot initialise libcurl");
		return 1;
	}
	rc = mfs_pin_run(&o, &r, err, sizeof(err));
	if (tty)
		fprintf(stderr, "\r\033[K");
	if (rc < 0) {
		pin_fail("%s", err);
		goto out_cleanup_fetch;
	}
	rc = mfs_pin_format(&o, &r, time(NULL), &text, err, sizeof(err));
	if (rc < 0) {
		pin_fail("%s", err);
		goto out_release_result;
	}
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		pin_fail("cannot write the section: %s", strerror(errno));
		goto out_free_text;
	}
	status = 0;
out_free_text:
	free(text);
out_release_result:
	mfs_pin_result_release(&r);
out_cleanup_fetch:
	mfs_fetch_global_cleanup();
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "fetch") == 0)
		return cmd_fetch(argv[2], argv + 3, argc - 3);
	if (argc >= 2 && strcmp(argv[1], "pin") == 0)
		return cmd_pin(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
