/* modelfs — the daemon: validate the config, open and lock the store, mount;
 * on SIGHUP, read the config again and serve it (generations.h).
 *
 *   modelfs [-f] [-d] [-o OPT[,OPT...]] CONFIG MOUNTPOINT
 *
 * Exit status: 0 after a clean unmount, 1 on a runtime failure (store,
 * lock, mount), 2 on a usage or config error. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "catalog.h"
#include "config.h"
#include "fetch.h"
#include "fuse_adapter.h"
#include "generations.h"
#include "inflight.h"
#include "log.h"
#include "metrics.h"
#include "scheduler.h"
#include "store.h"
#include "version.h"

/* Options every mount gets: the kernel checks mode bits itself, and a
 * model store never needs setuid binaries or device nodes.  They go after
 * the caller's options, so they win over "suid,dev" (which mount.fuse3
 * passes for root).  fsname (the config's path) is added with them. */
#define FIXED_OPTS "default_permissions,nosuid,nodev,subtype=modelfs"

struct cli {
	const char *config;
	const char *mountpoint;
	bool foreground;
	bool debug;
	/* The caller's options, then fsname=<config path, escaped: up to two
	 * bytes a character> and FIXED_OPTS. */
	char opts[4096 + 2 * PATH_MAX + 64];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: modelfs [-f] [-d] [-o OPT[,OPT...]] CONFIG MOUNTPOINT\n"
		"  -f        stay in the foreground, log to stderr\n"
		"  -d        debug: log every FUSE request (implies -f)\n"
		"  -o OPTS   mount options, e.g. allow_other\n"
		"Mounts the verified models listed in CONFIG at MOUNTPOINT.\n"
		"SIGHUP reads CONFIG again and serves it (a bad one is refused).\n");
}

static int add_opts(struct cli *cli, const char *opts)
{
	size_t used = strlen(cli->opts);

	if (!opts[0])
		return 0;
	if (used + 1 + strlen(opts) + 1 > sizeof(cli->opts))
		return -E2BIG;
	snprintf(cli->opts + used, sizeof(cli->opts) - used, "%s%s", used ? "," : "", opts);
	return 0;
}

/* Returns 0, 1 for --help/--version (exit 0), or -EINVAL (usage error). */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
	int rc = 0;

	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("modelfs %s\n", MFS_VERSION);
			return 1;
		} else if (strcmp(a, "-f") == 0) {
			cli->foreground = true;
		} else if (strcmp(a, "-d") == 0) {
			cli->debug = cli->foreground = true;
		} else if (strcmp(a, "-o") == 0) {
			if (++i == argc) {
				fprintf(stderr, "modelfs: -o needs options\n");
				return -EINVAL;
			}
			rc = add_opts(cli, argv[i]);
		} else if (strncmp(a, "-o", 2) == 0) {
			rc = add_opts(cli, a + 2);
		} else if (a[0] == '-') {
			fprintf(stderr, "modelfs: unknown option '%s'\n", a);
			return -EINVAL;
		} else if (!cli->config) {
			cli->config = a;
		} else if (!cli->mountpoint) {
			cli->mountpoint = a;
		} else {
			fprintf(stderr, "modelfs: unexpected argument '%s'\n", a);
			return -EINVAL;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "modelfs: mount options too long\n");
		return rc;
	}
	if (!cli->config || !cli->mountpoint) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Appends fsname=<canonical path of the config> and FIXED_OPTS.  The
 * source of the mount is then the config, as in /etc/fstab: `mount`,
 * `findmnt` and `df` show it, and `mount -a` (libmount) counts an fstab
 * entry as mounted only if some mount has its canonical source and target.
 * libfuse splits -o at commas and reads a backslash as an escape (so does
 * fusermount3, for fsname), so both are escaped; any other byte passes.
 * -E2BIG if the options do not fit. */
static int add_fixed_opts(struct cli *cli)
{
	char *real = realpath(cli->config, NULL);
	/* The config was just read through this path; should it not resolve
	 * (a pipe), it still names what was read. */
	const char *src = real ? real : cli->config;
	char opt[sizeof("fsname=") + 2 * PATH_MAX];
	size_t n = strlen("fsname=");
	int rc = -E2BIG;

	memcpy(opt, "fsname=", n);
	for (const char *p = src; *p; p++) {
		if (n + 3 > sizeof(opt))
			goto out_free;
		if (*p == ',' || *p == '\\')
			opt[n++] = '\\';
		opt[n++] = *p;
	}
	opt[n] = '\0';
	rc = add_opts(cli, opt);
	if (rc == 0)
		rc = add_opts(cli, FIXED_OPTS);
out_free:
	free(real);
	return rc;
}

struct daemon {
	struct cli cli;
	/* The config's canonical path, read again on SIGHUP: the daemon has
	 * changed directory to / by then. */
	char *config_path;
	struct mfs_store store;
	struct mfs_audit *audit;
	struct mfs_metrics *metrics;   /* NULL without metrics_file */
	/* Downloads under way, whichever generation's scheduler runs them:
	 * a reload does not start a second one of an unchanged model. */
	struct mfs_inflight *inflight;
	/* The generation served now (the metrics' gauges read it; retire
	 * takes the lock, so that none is freed under them). */
	pthread_mutex_t lock;
	struct mfs_generation *cur;
};

/* The metrics' gauges: the store's bytes, the models per state. */
static void gauges(void *arg, struct mfs_gauges *g)
{
	struct daemon *d = arg;
	struct mfs_store_object *objs;
	struct mfs_sched_status st;

	if (mfs_store_list_objects(&d->store, &objs, &g->store_bytes) >= 0)
		free(objs);
	pthread_mutex_lock(&d->lock);
	g->store_max = d->cur->cfg->store_max;
	for (size_t i = 0; i < d->cur->cfg->nmodels; i++) {
		mfs_sched_status(d->cur->sched, i, &st);
		g->models[st.state]++;
	}
	pthread_mutex_unlock(&d->lock);
}

/* Frees a generation (NULL: nothing): stops its scheduler first. */
static void free_generation(struct mfs_generation *gen)
{
	if (!gen)
		return;
	mfs_sched_free(gen->sched);
	mfs_catalog_release(&gen->cat);
	mfs_config_free(gen->cfg);
	free(gen);
}

/* The generation serving `cfg` (owned by it from now on, freed on
 * failure), its inode numbers following `prev`'s.  -ENOMEM, -EEXIST,
 * -EINVAL. */
static int make_generation(struct daemon *d, struct mfs_config *cfg,
			   const struct mfs_generation *prev, struct mfs_generation **out)
{
	struct mfs_generation *gen = calloc(1, sizeof(*gen));
	int rc;

	*out = NULL;
	if (!gen) {
		mfs_config_free(cfg);
		return -ENOMEM;
	}
	gen->cfg = cfg;
	rc = mfs_catalog_build(&gen->cat, cfg, prev ? &prev->cat : NULL);
	if (rc < 0) {
		mfs_config_free(cfg);
		free(gen);
		return rc;
	}
	struct mfs_sched_opts so = {
		/* No fsync on the open's path (1.8 s per GiB here): every object is
		 * re-hashed on its first open after a restart anyway, so a torn
		 * one is caught, quarantined and fetched again. */
		.cfg = cfg, .store = &d->store, .audit = d->audit, .fsync = false,
		.metrics = d->metrics, .owner = gen, .prefetch = true,
		.inflight = d->inflight,
	};
	rc = mfs_sched_new(&so, &gen->sched);
	if (rc < 0) {
		free_generation(gen);
		return rc;
	}
	*out = gen;
	return 0;
}

/* The keys a reload cannot change: the mount and its daemon are built on
 * them.  The name of the first one that changed, or NULL. */
static const char *fixed_key_changed(const struct mfs_config *a, const struct mfs_config *b)
{
	if (strcmp(a->store, b->store) != 0)
		return "store";
	if (strcmp(a->audit_log, b->audit_log) != 0)
		return "audit_log";
	if ((a->metrics_file == NULL) != (b->metrics_file == NULL) ||
	    (a->metrics_file && strcmp(a->metrics_file, b->metrics_file) != 0))
		return "metrics_file";
	if (a->lock_files != b->lock_files)
		return "lock_files";
	if (a->passthrough != b->passthrough)
		return "passthrough";
	return NULL;
}

static void reload_failed(struct daemon *d, const char *why)
{
	const struct mfs_audit_event ev = {
		.event = "reload_failed", .path = d->config_path, .error = why,
		.bytes = -1, .ms = -1,
	};

	mfs_err("reload failed, still serving the previous config: %s", why);
	mfs_audit_write(d->audit, &ev);
}

/* SIGHUP (fuse_adapter.h): the config read again, or NULL (and why, on
 * the log and in the audit log) to keep serving `cur`.  What did not
 * change keeps its inode and starts out as verified as it was. */
static struct mfs_generation *reload(void *arg, const struct mfs_generation *cur)
{
	struct daemon *d = arg;
	struct mfs_config *cfg;
	struct mfs_generation *gen;
	size_t kept = 0;
	char why[1024];
	const char *key;
	int rc;

	if (mfs_config_load(d->config_path, &cfg, why, sizeof(why)) < 0) {
		reload_failed(d, why);
		return NULL;
	}
	key = fixed_key_changed(cur->cfg, cfg);
	if (key) {
		snprintf(why, sizeof(why), "%s: %s cannot change while mounted (remount to change it)",
			 d->config_path, key);
		mfs_config_free(cfg);
		reload_failed(d, why);
		return NULL;
	}
	rc = make_generation(d, cfg, cur, &gen);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s: %s", d->config_path, strerror(-rc));
		reload_failed(d, why);
		return NULL;
	}
	/* A node keeps its number only if its model did not change. */
	for (size_t i = 0; i < gen->cat.nnodes; i++) {
		const struct mfs_node *n = &gen->cat.nodes[i], *was;

		if (!n->model)
			continue;
		was = mfs_catalog_node(&cur->cat, n->ino);
		if (!was || !was->model)
			continue;
		rc = mfs_sched_carry(gen->sched, n->model_index, cur->sched, was->model_index);
		if (rc < 0)
			mfs_warn("reload: '%s' will be verified again: %s", n->model->path,
				 strerror(-rc));
		kept++;
	}
	pthread_mutex_lock(&d->lock);
	d->cur = gen;
	pthread_mutex_unlock(&d->lock);
	mfs_info("reloaded '%s': %zu models, %zu unchanged, %zu new or changed, %zu gone",
		 d->config_path, gen->cfg->nmodels, kept, gen->cfg->nmodels - kept,
		 cur->cfg->nmodels - kept);
	const struct mfs_audit_event ev = {
		.event = "reload", .path = d->config_path, .bytes = -1, .ms = -1,
	};
	mfs_audit_write(d->audit, &ev);
	return gen;
}

/* A replaced generation nobody uses any more. */
static void retire(void *arg, struct mfs_generation *gen)
{
	struct daemon *d = arg;

	/* Gauges read only the current one; this waits out one that began
	 * before the reload. */
	pthread_mutex_lock(&d->lock);
	pthread_mutex_unlock(&d->lock);
	free_generation(gen);
}

static void on_ready(void *arg)
{
	struct daemon *d = arg;
	int rc;

	if (!d->cli.foreground)
		mfs_log_use_syslog(true);
	/* Daemonizing changed our pid; the lock file names the holder. */
	rc = mfs_store_note_pid(&d->store);
	if (rc < 0)
		mfs_warn("cannot record the pid in the store lock: %s", strerror(-rc));
	/* Here, not before: daemonizing forks, and a thread would not follow. */
	rc = mfs_metrics_start(d->metrics, gauges, d);
	if (rc < 0)
		mfs_warn("cannot write the metrics to '%s': %s", d->cur->cfg->metrics_file,
			 strerror(-rc));
	mfs_info("mounted %zu models from '%s' at '%s'", d->cur->cfg->nmodels, d->cli.config,
		 d->cli.mountpoint);
}

int main(int argc, char **argv)
{
	struct daemon d = { .store = { .dirfd = -1 }, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct mfs_config *cfg;
	struct mfs_generation *gen;
	char err[1024];
	long holder = 0;
	int rc, status = 1;

	rc = parse_cli(argc, argv, &d.cli);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (d.cli.debug)
		mfs_log_set_level(MFS_LOG_DEBUG);
	if (mfs_config_load(d.cli.config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	d.config_path = realpath(d.cli.config, NULL);
	if (!d.config_path && !(d.config_path = strdup(d.cli.config))) {
		fprintf(stderr, "modelfs: out of memory\n");
		goto out_free_config;
	}
	if (add_fixed_opts(&d.cli) < 0) {
		fprintf(stderr, "modelfs: mount options too long (with the config's path)\n");
		status = 2;
		goto out_free_config;
	}
	if (mfs_fetch_global_init() < 0) {
		fprintf(stderr, "modelfs: cannot initialise libcurl\n");
		goto out_free_config;
	}
	rc = mfs_store_open(&d.store, cfg->store);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot open store '%s': %s\n", cfg->store, strerror(-rc));
		goto out_fetch_cleanup;
	}
	rc = mfs_store_lock_daemon(&d.store, &holder);
	if (rc == -EBUSY) {
		fprintf(stderr, "modelfs: store '%s' is already used by another modelfs daemon (pid %ld)\n",
			cfg->store, holder);
		goto out_release_store;
	} else if (rc < 0) {
		fprintf(stderr, "modelfs: cannot lock store '%s': %s\n", cfg->store, strerror(-rc));
		goto out_release_store;
	}
	rc = mfs_store_clear_staging(&d.store);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot clear '%s/staging': %s\n", cfg->store, strerror(-rc));
		goto out_release_store;
	}
	rc = mfs_audit_open(cfg->audit_log, &d.audit);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot open audit log '%s': %s\n", cfg->audit_log,
			strerror(-rc));
		goto out_release_store;
	}
	if (cfg->metrics_file && mfs_metrics_new(cfg->metrics_file, &d.metrics) < 0) {
		fprintf(stderr, "modelfs: out of memory\n");
		goto out_close_audit;
	}
	if (mfs_inflight_new(&d.inflight) < 0) {
		fprintf(stderr, "modelfs: out of memory\n");
		goto out_free_metrics;
	}
	/* From here the generation owns the config. */
	rc = make_generation(&d, cfg, NULL, &gen);
	cfg = NULL;
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot build the tree: %s\n", strerror(-rc));
		goto out_free_inflight;
	}
	d.cur = gen;
	struct mfs_mount_opts mo = {
		.mountpoint = d.cli.mountpoint,
		.fuse_opts = d.cli.opts,
		.foreground = d.cli.foreground,
		.debug = d.cli.debug,
		.lock_files = gen->cfg->lock_files,
		.passthrough = gen->cfg->passthrough,
		.metrics = d.metrics,
		.ready = on_ready,
		.ready_arg = &d,
		.reload = reload,
		.retire = retire,
		.gen_arg = &d,
	};
	rc = mfs_fuse_run(&mo, &gen);
	if (rc == 0)
		status = 0;
	else if (rc == -EINVAL)
		fprintf(stderr, "modelfs: bad mount options '%s'\n", d.cli.opts);
	/* The last word: written after every open was answered. */
	mfs_metrics_stop(d.metrics);
	free_generation(gen);
out_free_inflight:
	mfs_inflight_free(d.inflight);
out_free_metrics:
	mfs_metrics_free(d.metrics);
out_close_audit:
	mfs_audit_close(d.audit);
out_release_store:
	mfs_store_release(&d.store);
out_fetch_cleanup:
	mfs_fetch_global_cleanup();
out_free_config:
	free(d.config_path);
	mfs_config_free(cfg);
	return status;
}
