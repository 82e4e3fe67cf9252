/* modelfs — the daemon: validate the config, open and lock the store, mount.
 *
 *   modelfs [-f] [-d] [-o OPT[,OPT...]] CONFIG MOUNTPOINT
 *
 * Exit status: 0 after a clean unmount, 1 on a runtime failure (store,
 * lock, mount), 2 on a usage or config error. */
#include <errno.h>
#include <limits.h>
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
#include "log.h"
#include "metrics.h"
#include "scheduler.h"
#include "store.h"

#define MODELFS_VERSION "0.1.0"

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
		"Mounts the verified models listed in CONFIG at MOUNTPOINT.\n");
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
			printf("modelfs %s\n", MODELFS_VERSION);
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
	struct mfs_config *cfg;
	struct mfs_store store;
	struct mfs_audit *audit;
	struct mfs_catalog cat;
	struct mfs_sched *sched;
	struct mfs_metrics *metrics;   /* NULL without metrics_file */
};

/* The metrics' gauges: the store's bytes, the models per state. */
static void gauges(void *arg, struct mfs_gauges *g)
{
	struct daemon *d = arg;
	struct mfs_store_object *objs;
	struct mfs_sched_status st;

	if (mfs_store_list_objects(&d->store, &objs, &g->store_bytes) >= 0)
		free(objs);
	g->store_max = d->cfg->store_max;
	for (size_t i = 0; i < d->cfg->nmodels; i++) {
		mfs_sched_status(d->sched, i, &st);
		g->models[st.state]++;
	}
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
		mfs_warn("cannot write the metrics to '%s': %s", d->cfg->metrics_file, strerror(-rc));
	mfs_info("mounted %zu models from '%s' at '%s'", d->cfg->nmodels, d->cli.config,
		 d->cli.mountpoint);
}

int main(int argc, char **argv)
{
	struct daemon d = { .store = { .dirfd = -1 } };
	char err[1024];
	long holder = 0;
	int rc, status = 1;

	rc = parse_cli(argc, argv, &d.cli);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (d.cli.debug)
		mfs_log_set_level(MFS_LOG_DEBUG);
	if (mfs_config_load(d.cli.config, &d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
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
	rc = mfs_store_open(&d.store, d.cfg->store);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot open store '%s': %s\n", d.cfg->store, strerror(-rc));
		goto out_fetch_cleanup;
	}
	rc = mfs_store_lock_daemon(&d.store, &holder);
	if (rc == -EBUSY) {
		fprintf(stderr, "modelfs: store '%s' is already used by another modelfs daemon (pid %ld)\n",
			d.cfg->store, holder);
		goto out_release_store;
	} else if (rc < 0) {
		fprintf(stderr, "modelfs: cannot lock store '%s': %s\n", d.cfg->store, strerror(-rc));
		goto out_release_store;
	}
	rc = mfs_store_clear_staging(&d.store);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot clear '%s/staging': %s\n", d.cfg->store, strerror(-rc));
		goto out_release_store;
	}
	rc = mfs_audit_open(d.cfg->audit_log, &d.audit);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot open audit log '%s': %s\n", d.cfg->audit_log,
			strerror(-rc));
		goto out_release_store;
	}
	rc = mfs_catalog_build(&d.cat, d.cfg);
	if (rc < 0) {
		fprintf(stderr, "modelfs: cannot build the tree: %s\n", strerror(-rc));
		goto out_close_audit;
	}
	if (d.cfg->metrics_file && mfs_metrics_new(d.cfg->metrics_file, &d.metrics) < 0) {
		fprintf(stderr, "modelfs: out of memory\n");
		goto out_release_catalog;
	}
	struct mfs_sched_opts so = {
		/* No fsync on the open's path (1.8 s per GiB here): every object is
		 * re-hashed on its first open after a restart anyway, so a torn
		 * one is caught, quarantined and fetched again. */
		.cfg = d.cfg, .store = &d.store, .audit = d.audit, .fsync = false,
		.metrics = d.metrics,
	};
	rc = mfs_sched_new(&so, &d.sched);
	if (rc < 0) {
		fprintf(stderr, "modelfs: %s\n", strerror(-rc));
		goto out_release_catalog;
	}
	struct mfs_mount_opts mo = {
		.mountpoint = d.cli.mountpoint,
		.fuse_opts = d.cli.opts,
		.foreground = d.cli.foreground,
		.debug = d.cli.debug,
		.lock_files = d.cfg->lock_files,
		.passthrough = d.cfg->passthrough,
		.metrics = d.metrics,
		.ready = on_ready,
		.ready_arg = &d,
	};
	rc = mfs_fuse_run(&mo, &d.cat, d.sched);
	if (rc == 0)
		status = 0;
	else if (rc == -EINVAL)
		fprintf(stderr, "modelfs: bad mount options '%s'\n", d.cli.opts);
	/* The last word: written after every open was answered. */
	mfs_metrics_stop(d.metrics);
	mfs_sched_free(d.sched);
out_release_catalog:
	mfs_metrics_free(d.metrics);
	mfs_catalog_release(&d.cat);
out_close_audit:
	mfs_audit_close(d.audit);
out_release_store:
	mfs_store_release(&d.store);
out_fetch_cleanup:
	mfs_fetch_global_cleanup();
out_free_config:
	mfs_config_free(d.cfg);
	return status;
}
