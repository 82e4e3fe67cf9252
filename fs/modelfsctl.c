/* modelfsctl — operator and CI commands.
 *
 *   modelfsctl check CONFIG           validate; print a summary
 *   modelfsctl fetch CONFIG [PATH…]   fetch + verify into the store
 *   modelfsctl verify CONFIG [PATH…]  re-hash stored objects (scrub), no network
 *   modelfsctl status MOUNTPOINT      each model's state from a mount (status.h)
 *   modelfsctl pin URL --path P ...   print a config section for URL (pin.h)
 *   modelfsctl sbom CONFIG [--store] [-o FILE]  a CycloneDX 1.6 SBOM (sbom.h)
 *
 * Exit status: 0 success, 1 a model failed to verify or fetch (verify: a
 * stored object is corrupt; status: a model's last try failed; pin: the
 * download or the archive failed; sbom: the store or FILE cannot be
 * read or written), 2 usage or config error. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acquire.h"
#include "audit.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "pin.h"
#include "pin_signed.h"
#include "sbom.h"
#include "scheduler.h"
#include "signature.h"
#include "status.h"
#include "store.h"
#include "url.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: modelfsctl check CONFIG\n"
		"       modelfsctl fetch CONFIG [PATH...]\n"
		"       modelfsctl verify CONFIG [PATH...]\n"
		"       modelfsctl status MOUNTPOINT [--json]\n"
		"       modelfsctl pin URL --path MOUNTPATH [--source NAME] [--ca-file F]\n"
		"                  [--allow-http] [--sha1] [--max-size BYTES] [--proxy URL|none]\n"
		"       modelfsctl pin --signature URL --path MOUNTPATH [--source NAME]\n"
		"                  (--public-key F... | --certificate-chain F [--certificate-identity I]\n"
		"                   | --sigstore-trusted-root F --identity I... --oidc-issuer O)\n"
		"                  [--ca-file F] [--allow-http] [--proxy URL|none]\n"
		"                  [--archive zip [--member M | --member-prefix P]]\n"
		"       modelfsctl sbom CONFIG [--store] [-o FILE]\n"
		"check  validates CONFIG and prints a summary (exit 2 on an error)\n"
		"fetch  downloads and verifies the models at PATHs (all if none) into\n"
		"       the store without mounting; exit 0 only if every one verified\n"
		"verify re-hashes the stored objects of the models at PATHs (all if\n"
		"       none), no network; quarantines a corrupt one. Exit 1 if any\n"
		"       is corrupt (a model not fetched yet is not)\n"
		"status prints each model's state, progress and last error from a\n"
		"       mounted modelfs (any user who can read it; no fetch); exit 1\n"
		"       if any model failed\n"
		"pin    downloads URL once, hashes it (a zip: each member) and prints a\n"
		"       config section to review and paste; changes nothing else.\n"
		"       Exit 1 if the download or the archive failed.  With --signature:\n"
		"       verifies the bundle, sizes its files with HEAD (no weights\n"
		"       downloaded) and prints a signed model's section.  Without\n"
		"       --proxy, https_proxy / http_proxy / no_proxy apply\n"
		"sbom   prints a CycloneDX 1.6 JSON bill of materials of CONFIG's models\n"
		"       (to FILE with -o); --store: also what the store holds of each\n"
		"       (verified, quarantined, absent), no network, nothing re-hashed\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `t` as an RFC 3339 UTC time, into buf (>= 21 bytes); returns buf. */
static const char *utc_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
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

/* Finds the nearest existing ancestor of `path` (which does not exist)
 * into `dir` (`len` bytes).  -errno if one cannot be looked at. */
static int existing_ancestor(const char *path, char *dir, size_t len)
{
	struct stat sb;
	char *slash;

	if ((size_t)snprintf(dir, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash) {
			snprintf(dir, len, ".");
			return 0;
		}
		slash[slash == dir] = '\0';
		if (stat(dir, &sb) == 0)
			return 0;
		if (errno != ENOENT)
			return -errno;
	}
}

/* Says in `why` whether this process could create `path`'s missing
 * directories (as mkdir -p would) under its nearest existing ancestor;
 * `why` stays "" if it could. */
static void creatable(const char *path, char *why, size_t len)
{
	char dir[PATH_MAX];
	struct stat sb;
	int rc = existing_ancestor(path, dir, sizeof(dir));

	if (rc == 0 && stat(dir, &sb) < 0)
		rc = -errno;
	if (rc < 0)
		snprintf(why, len, "cannot look at its parents: %s", strerror(-rc));
	else if (!S_ISDIR(sb.st_mode))
		snprintf(why, len, "cannot create it: '%s' is not a directory", dir);
	else if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		snprintf(why, len, "cannot create it in '%s': %s", dir, strerror(errno));
}

/* Why the daemon, run by this process's user, could not use the store at
 * `path`: it creates the store and its subdirectories (mkdir -p, 0700),
 * refuses symlinks and directories another uid owns, and needs to write
 * in all of them (store.h).  `why` stays "" if nothing is in the way.
 * Only looks: creates and changes nothing. */
static void store_problem(const char *path, char *why, size_t len)
{
	static const char *const sub[] = { "", "/objects", "/staging", "/quarantine", "/state" };
	char dir[PATH_MAX];
	struct stat sb;

	why[0] = '\0';
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]) && !why[0]; i++) {
		if ((size_t)snprintf(dir, sizeof(dir), "%s%s", path, sub[i]) >= sizeof(dir)) {
			snprintf(why, len, "path too long");
		} else if (lstat(dir, &sb) < 0) {
			/* A missing subdirectory is made by whoever can write
			 * the store, which the loop checked already. */
			if (errno != ENOENT && errno != ENOTDIR)
				snprintf(why, len, "'%s': %s", dir, strerror(errno));
			else if (i == 0)
				creatable(dir, why, len);
			break;
		} else if (S_ISLNK(sb.st_mode)) {
			snprintf(why, len, "'%s' is a symlink", dir);
		} else if (!S_ISDIR(sb.st_mode)) {
			snprintf(why, len, "'%s' is not a directory", dir);
		} else if (sb.st_uid != geteuid()) {
			snprintf(why, len, "'%s' belongs to uid %u", dir, (unsigned)sb.st_uid);
		} else if (faccessat(AT_FDCWD, dir, R_OK | W_OK | X_OK, AT_EACCESS) < 0) {
			snprintf(why, len, "'%s': %s", dir, strerror(errno));
		}
	}
}

/* The same for an audit log outside the store: the daemon appends to it,
 * creating it (and its directory, one level) if missing. */
static void audit_problem(const char *file, char *why, size_t len)
{
	char dir[PATH_MAX], *slash;
	struct stat sb;

	why[0] = '\0';
	if (lstat(file, &sb) == 0) {
		if (!S_ISREG(sb.st_mode))
			snprintf(why, len, "not a regular file");
		else if (faccessat(AT_FDCWD, file, W_OK, AT_EACCESS) < 0)
			snprintf(why, len, "%s", strerror(errno));
		return;
	}
	if (errno != ENOENT) {
		snprintf(why, len, "%s", strerror(errno));
		return;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s", file) >= sizeof(dir)) {
		snprintf(why, len, "path too long");
		return;
	}
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(dir, &sb) == 0) {
		if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
			snprintf(why, len, "cannot create it in '%s': %s", dir, strerror(errno));
	} else if (errno == ENOENT) {
		creatable(dir, why, len);
	} else {
		snprintf(why, len, "'%s': %s", dir, strerror(errno));
	}
}

/* Is `file` directly inside directory `dir`? */
static bool directly_in(const char *file, const char *dir)
{
	const char *slash = strrchr(file, '/');
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return slash && (size_t)(slash - file) == n && strncmp(file, dir, n) == 0;
}

static int cmd_check(const char *file)
{
	struct mfs_config *cfg;
	uint64_t total = 0;
	size_t weak = 0;
	char hs[32], why[PATH_MAX + 128];

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
		const struct mfs_source *src = &cfg->sources[s];
		size_t nm = 0;

		for (char **m = src->mirrors; m && *m; m++)
			nm++;
		for (size_t i = 0; i < cfg->nmodels; i++)
			n += cfg->models[i].source == src;
		printf("source %s: %s%s%s (%zu models%s%s", src->name,
		       src->s3_url ? src->s3_url : src->url, src->s3_url ? " at " : "",
		       src->s3_url ? src->url : "", n, src->ca_file ? ", ca_file " : "",
		       src->ca_file ? src->ca_file : "");
		if (nm)
			printf(", %zu mirrors", nm);
		if (src->proxy)
			printf(", proxy %s", src->proxy[0] ? src->proxy : "none");
		printf(")\n");
	}
	if (weak)
		printf("warning: %zu models are pinned by SHA-1 only\n", weak);
	/* The config is valid either way; whether this user could run the
	 * daemon with it is worth a word (the default store is root's). */
	store_problem(cfg->store, why, sizeof(why));
	if (why[0])
		printf("warning: store '%s' is not usable by uid %u: %s\n", cfg->store,
		       (unsigned)geteuid(), why);
	if (!directly_in(cfg->audit_log, cfg->store)) {
		audit_problem(cfg->audit_log, why, sizeof(why));
		if (why[0])
			printf("warning: audit log '%s' is not writable by uid %u: %s\n",
			       cfg->audit_log, (unsigned)geteuid(), why);
	}
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

/* Which models PATHs name (all if none): a calloc'ed flag per model, and
 * their count in *selected.  NULL (said on stderr) for an unknown path or
 * without memory. */
static bool *select_models(const struct mfs_config *cfg, const char *file, char **paths,
			   int npaths, size_t *selected)
{
	bool *want = calloc(cfg->nmodels ? cfg->nmodels : 1, sizeof(*want));

	if (!want) {
		fprintf(stderr, "modelfsctl: out of memory\n");
		return NULL;
	}
	for (int i = 0; i < npaths; i++) {
		const char *p = paths[i];
		const struct mfs_model *m;

		while (*p == '/')
			p++;
		m = mfs_config_find(cfg, p);
		if (!m) {
			fprintf(stderr, "modelfsctl: no model at path '%s' in %s\n", paths[i], file);
			free(want);
			return NULL;
		}
		want[m - cfg->models] = true;
	}
	*selected = 0;
	for (size_t i = 0; i < cfg->nmodels; i++) {
		if (npaths == 0)
			want[i] = true;
		*selected += want[i];
	}
	return want;
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
	want = select_models(cfg, file, paths, npaths, &selected);
	if (!want)
		goto out_free_config;
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
			mfs_sched_release(sched, i);
			ok++;
			printf("ok    %s  %llu bytes  %.2f s  %.1f MB/s\n", m->path,
			       (unsigned long long)m->size, secs,
			       secs > 0 ? (double)m->size / secs / 1e6 : 0.0);
		} else {
			struct mfs_sched_status st;
			char until[64] = "";

			failed++;
			mfs_sched_status(sched, i, &st);
			if (st.retry_at)
				snprintf(until, sizeof(until), ", backing off until %s",
					 utc_time(st.retry_at, (char[32]){ 0 }, 32));
			printf("FAIL  %s  %s%s%s%s (see the audit log %s)\n", m->path, strerror(-fd),
			       st.error[0] ? ": " : "", st.error, until, cfg->audit_log);
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

/* One scrub line, in the columns of fetch's. */
static void verify_line(const char *what, const struct mfs_model *m, long long bytes, double secs,
			const char *note)
{
	printf("%-8s %s  %lld bytes  %.2f s  %s\n", what, m->path, bytes, secs, note);
	fflush(stdout);
}

struct verify_wants {
	const struct mfs_config *cfg;
	const struct mfs_signed_file *signed_d;
	const bool *signed_ok;
};

static const struct mfs_digests *verify_want(void *arg, size_t mi)
{
	const struct verify_wants *v = arg;

	if (!v->cfg->models[mi].signature)
		return &v->cfg->models[mi].digests;
	return v->signed_ok[mi] ? &v->signed_d[mi].digests : NULL;
}

static const struct mfs_shard *verify_shards(void *arg, size_t mi, size_t *n)
{
	const struct verify_wants *v = arg;

	*n = v->signed_ok[mi] ? v->signed_d[mi].nshards : 0;
	return v->signed_ok[mi] ? v->signed_d[mi].shards : NULL;
}

/* Scrub: re-hashes the stored object of every wanted model through
 * acquire (no network, nothing fetched), which quarantines and audits a
 * corrupt one; a running daemon that served it verifies again on the
 * next open (the object's inode identity changed), finds it gone and
 * fetches it.  Creates nothing when there is no store yet. */
static int cmd_verify(const char *file, char **paths, int npaths)
{
	struct mfs_store store = { .dirfd = -1 };
	struct mfs_config *cfg;
	struct mfs_audit *audit = NULL;
	struct mfs_acquire_ctx ac = { 0 };
	size_t good = 0, corrupt = 0, absent = 0, selected = 0;
	bool *want, have_store = true, *signed_ok = NULL;
	struct mfs_signed_file *signed_d = NULL;
	struct stat sb;
	char note[PATH_MAX + 64];
	int rc, status = 2;

	if (load(file, &cfg) < 0)
		return 2;
	want = select_models(cfg, file, paths, npaths, &selected);
	if (!want)
		goto out_free_config;
	status = 1;
	/* acquire's lines (a store_corrupt warning says "fetching again")
	 * would repeat ours; errors still show. */
	mfs_log_set_level(MFS_LOG_ERR);
	if (stat(cfg->store, &sb) < 0 && errno == ENOENT) {
		have_store = false;
	} else {
		rc = mfs_store_open(&store, cfg->store);
		if (rc < 0) {
			fprintf(stderr, "modelfsctl: cannot open store '%s': %s\n", cfg->store,
				strerror(-rc));
			goto out_free_want;
		}
		rc = mfs_audit_open(cfg->audit_log, &audit);
		if (rc < 0) {
			fprintf(stderr, "modelfsctl: cannot open audit log '%s': %s\n", cfg->audit_log,
				strerror(-rc));
			goto out_release_store;
		}
		ac = (struct mfs_acquire_ctx){ .cfg = cfg, .store = &store, .audit = audit };
	}
	/* A signed model's digests come from its kept bundle, verified again
	 * here with no network. */
	signed_ok = calloc(cfg->nmodels + 1, sizeof(*signed_ok));
	signed_d = calloc(cfg->nmodels + 1, sizeof(*signed_d));
	if (!signed_ok || !signed_d) {
		fprintf(stderr, "modelfsctl: out of memory\n");
		goto out_close_audit;
	}
	for (size_t g = 0; g < cfg->nsignatures && have_store; g++) {
		const struct mfs_signature *sg = &cfg->signatures[g];
		struct mfs_signed_file *f = calloc(sg->nmembers, sizeof(*f));
		bool any = false;
		char why[512];

		for (size_t k = 0; k < sg->nmembers; k++)
			any |= want[sg->members[k]];
		if (any && f && mfs_signature_resolve(&ac, sg, false, f, why, sizeof(why)) == 0) {
			/* (each file's shards move to signed_d) */
			for (size_t k = 0; k < sg->nmembers; k++) {
				signed_d[sg->members[k]] = f[k];
				signed_ok[sg->members[k]] = true;
			}
		} else if (any && f) {
			printf("%-8s %s  signature: %s\n", "unsigned", sg->path, why);
		}
		free(f);
	}
	ac.want = verify_want;
	ac.shards = verify_shards;
	ac.want_arg = &(struct verify_wants){ cfg, signed_d, signed_ok };
	for (size_t i = 0; i < cfg->nmodels; i++) {
		const struct mfs_model *m = &cfg->models[i];
		char object[MFS_STORE_OBJECT_NAME_MAX];
		long long bytes = 0;
		double t0 = now_s(), secs;
		int held = -ENOENT, fd;

		if (!want[i])
			continue;
		if (m->signature && !signed_ok[i]) {
			absent++;
			printf("%-8s %s  signed, and no kept bundle verifies (not fetched yet?)\n",
			       "absent", m->path);
			continue;
		}
		/* No object is "absent", not corrupt: look first.  Hold what was
		 * there, so that one gone by the time acquire looks is judged
		 * by what happened to it: moved to quarantine/ (still linked:
		 * found corrupt, by acquire or by the daemon) or removed
		 * (evicted: no link left).  This also covers an acquire that
		 * says -ENOENT, not -EBADMSG, for an object it quarantined. */
		if (signed_ok[i] && signed_d[i].shards)
			mfs_store_shards_name(signed_d[i].shards, signed_d[i].nshards, object,
					      sizeof(object));
		else
			mfs_store_object_name(mfs_acquire_want(&ac, i), object, sizeof(object));
		if (have_store)
			held = mfs_store_open_object(&store, object);
		if (held >= 0 && fstat(held, &sb) == 0)
			bytes = (long long)sb.st_size;
		fd = held == -ENOENT ? -ENOENT : mfs_acquire_stored(&ac, i);
		if (fd == -ENOENT && held >= 0 && fstat(held, &sb) == 0 && sb.st_nlink == 0) {
			close(held);
			held = -ENOENT;
		}
		if (held >= 0)
			close(held);
		secs = now_s() - t0;
		if (held == -ENOENT) {
			absent++;
			printf("%-8s %s  not in the store (not fetched yet)\n", "absent", m->path);
			fflush(stdout);
		} else if (fd >= 0) {
			close(fd);
			good++;
			snprintf(note, sizeof(note), "%.1f MB/s",
				 secs > 0 ? (double)bytes / secs / 1e6 : 0.0);
			verify_line("ok", m, bytes, secs, note);
		} else {
			corrupt++;
			snprintf(note, sizeof(note), "%s; quarantined (see the audit log %s)",
				 bytes != (long long)m->size ? "wrong size" : "digest mismatch",
				 cfg->audit_log);
			verify_line("CORRUPT", m, bytes, secs, note);
		}
	}
	printf("%zu of %zu models verified, %zu corrupt, %zu absent\n", good, selected, corrupt,
	       absent);
	status = corrupt ? 1 : 0;
out_close_audit:
	free(signed_ok);
	for (size_t i = 0; signed_d && i < cfg->nmodels; i++)
		mfs_signed_file_release(&signed_d[i]);
	free(signed_d);
	mfs_audit_close(audit);
out_release_store:
	mfs_store_release(&store);
out_free_want:
	free(want);
out_free_config:
	mfs_config_free(cfg);
	return status;
}

/* One model file found under the mount. */
struct status_file {
	char *path;                 /* relative to the mount point */
	uint64_t size;
	struct mfs_status_row row;
};

static struct {
	const char *root;
	struct status_file *v;
	size_t n, cap;
	int rc;
} walk_state;

static int status_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	struct status_file *f;
	struct mfs_status_row row;
	int rc;

	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	rc = mfs_status_read(path, &row);
	if (rc == -ENODATA)
		return 0;   /* a lock file: not a model */
	if (rc < 0) {
		fprintf(stderr, "modelfsctl: %s: %s\n", path, strerror(-rc));
		walk_state.rc = rc;
		return 0;
	}
	if (walk_state.n == walk_state.cap) {
		size_t cap = walk_state.cap ? 2 * walk_state.cap : 64;
		void *v = realloc(walk_state.v, cap * sizeof(*walk_state.v));

		if (!v)
			return -1;
		walk_state.v = v;
		walk_state.cap = cap;
	}
	f = &walk_state.v[walk_state.n];
	f->path = strdup(path + strlen(walk_state.root) + (path[strlen(walk_state.root)] == '/'));
	if (!f->path)
		return -1;
	f->size = (uint64_t)sb->st_size;
	f->row = row;
	walk_state.n++;
	return 0;
}

static int cmp_status_file(const void *a, const void *b)
{
	return strcmp(((const struct status_file *)a)->path, ((const struct status_file *)b)->path);
}

static void json_string(const char *s)
{
	char buf[2048];

	mfs_json_escape(s, buf, sizeof(buf));
	printf("\"%s\"", buf);
}

/* Reads the status attributes of every model file under a mount. */
static int cmd_status(int argc, char **argv)
{
	bool json = false;
	const char *mnt = NULL;
	size_t failed = 0;
	int status = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (!mnt && argv[i][0] != '-')
			mnt = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!mnt) {
		usage(stderr);
		return 2;
	}
	walk_state.root = mnt;
	if (nftw(mnt, status_entry, 32, FTW_PHYS | FTW_MOUNT) != 0) {
		fprintf(stderr, "modelfsctl: cannot read '%s': %s\n", mnt, strerror(errno));
		status = 2;
		goto out_free;
	}
	if (walk_state.n == 0 && walk_state.rc == 0) {
		fprintf(stderr, "modelfsctl: no modelfs model under '%s' (is it mounted?)\n", mnt);
		status = 2;
		goto out_free;
	}
	qsort(walk_state.v, walk_state.n, sizeof(*walk_state.v), cmp_status_file);
	if (json)
		printf("[");
	else
		printf("%-40s %14s  %-9s %14s  %s\n", "PATH", "SIZE", "STATE", "FETCHED", "ERROR");
	for (size_t i = 0; i < walk_state.n; i++) {
		const struct status_file *f = &walk_state.v[i];

		failed += strcmp(f->row.state, "failed") == 0;
		if (!json) {
			printf("%-40s %14llu  %-9s %14llu  %s\n", f->path, (unsigned long long)f->size,
			       f->row.state, (unsigned long long)f->row.fetched, f->row.error);
			continue;
		}
		printf("%s\n  {\"path\": ", i ? "," : "");
		json_string(f->path);
		printf(", \"size\": %llu, \"state\": ", (unsigned long long)f->size);
		json_string(f->row.state);
		printf(", \"fetched\": %llu, \"error\": ", (unsigned long long)f->row.fetched);
		if (f->row.error[0])
			json_string(f->row.error);
		else
			printf("null");
		printf("}");
	}
	if (json)
		printf("\n]\n");
	if (fflush(stdout) == EOF)
		status = 2;
	else if (walk_state.rc < 0)
		status = 2;
	else if (failed)
		status = 1;
out_free:
	for (size_t i = 0; i < walk_state.n; i++)
		free(walk_state.v[i].path);
	free(walk_state.v);
	return status;
}

static void pin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pin --signature: the options it shares with pin, then the bundle. */
static int pin_signed(const struct mfs_pin_opts *o, struct mfs_pin_signed_opts *sig,
		      const char **keys, size_t nkeys, const char **ids, size_t nids, int extra)
{
	char err[1024], *text = NULL;
	int rc, status = 1;

	if (extra) {
		pin_fail("--signature takes no other URL");
		return 2;
	}
	if (o->zip || o->member || o->member_prefix || o->sha1 || o->max_size) {
		pin_fail("--archive, --member, --member-prefix, --sha1 and --max-size do not go "
			 "with --signature");
		return 2;
	}
	if (!nkeys && !sig->certificate_chain && !sig->sigstore_trusted_root) {
		pin_fail("--signature needs --public-key, --certificate-chain or "
			 "--sigstore-trusted-root");
		return 2;
	}
	if ((sig->sigstore_trusted_root || nids || sig->oidc_issuer) &&
	    !(sig->sigstore_trusted_root && nids && sig->oidc_issuer)) {
		pin_fail("--sigstore-trusted-root, --identity and --oidc-issuer go together (a "
			 "valid Sigstore signature from anyone is not trust)");
		return 2;
	}
	for (size_t i = 0; i < nids; i++) {
		if (!mfs_pin_ini_safe(ids[i], true)) {
			pin_fail("bad --identity '%s' (one line, no spaces)", ids[i]);
			return 2;
		}
	}
	if ((sig->oidc_issuer && !mfs_pin_ini_safe(sig->oidc_issuer, true)) ||
	    (sig->sigstore_trusted_root && !mfs_pin_ini_safe(sig->sigstore_trusted_root, true))) {
		pin_fail("--oidc-issuer and --sigstore-trusted-root: one line, no spaces");
		return 2;
	}
	if (sig->certificate_identity && !sig->certificate_chain) {
		pin_fail("--certificate-identity goes with --certificate-chain");
		return 2;
	}
	sig->path = o->path;
	sig->source = o->source;
	sig->ca_file = o->ca_file;
	sig->proxy = o->proxy;
	sig->allow_http = o->allow_http;
	sig->public_keys = nkeys ? keys : NULL;
	sig->identities = nids ? ids : NULL;
	if (mfs_fetch_global_init() < 0) {
		pin_fail("cannot initialise libcurl");
		return 1;
	}
	rc = mfs_pin_signed_run(sig, &text, err, sizeof(err));
	if (rc == -EINVAL && !text && strncmp(err, "bad --", 6) == 0)
		status = 2;
	if (rc < 0) {
		pin_fail("%s", err);
	} else if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		pin_fail("cannot write the section: %s", strerror(errno));
	} else {
		status = 0;
	}
	free(text);
	mfs_fetch_global_cleanup();
	return status;
}

/* A proxy URL as the config's proxy key takes it (config.h). */
static bool proxy_ok(const char *url)
{
	enum mfs_url_reason why;
	char *base = NULL, *host = NULL;
	int rc = mfs_url_check_base(url, true, &base, &host, &why);

	free(base);
	free(host);
	return rc == 0;
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
		{ "proxy", required_argument, NULL, 'X' },
		{ "signature", required_argument, NULL, 'S' },
		{ "public-key", required_argument, NULL, 'K' },
		{ "certificate-chain", required_argument, NULL, 'C' },
		{ "certificate-identity", required_argument, NULL, 'I' },
		{ "sigstore-trusted-root", required_argument, NULL, 'R' },
		{ "identity", required_argument, NULL, 'i' },
		{ "oidc-issuer", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mfs_pin_opts o = { 0 };
	struct mfs_pin_signed_opts sig = { 0 };
	const char *keys[17] = { NULL }, *ids[17] = { NULL };
	size_t nkeys = 0, nids = 0;
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
		case 'X':
			if (strcmp(optarg, "none") == 0) {
				o.proxy = "";
			} else if (!proxy_ok(optarg)) {
				pin_fail("bad --proxy '%s': http://HOST[:PORT], https://HOST[:PORT] "
					 "(no credentials) or none", optarg);
				return 2;
			} else {
				o.proxy = optarg;
			}
			break;
		case 'S': sig.signature = optarg; break;
		case 'K':
			if (nkeys == sizeof(keys) / sizeof(keys[0]) - 1) {
				pin_fail("at most %zu --public-key", nkeys);
				return 2;
			}
			keys[nkeys++] = optarg;
			break;
		case 'C': sig.certificate_chain = optarg; break;
		case 'I': sig.certificate_identity = optarg; break;
		case 'R': sig.sigstore_trusted_root = optarg; break;
		case 'O': sig.oidc_issuer = optarg; break;
		case 'i':
			if (nids == sizeof(ids) / sizeof(ids[0]) - 1) {
				pin_fail("at most %zu --identity", nids);
				return 2;
			}
			ids[nids++] = optarg;
			break;
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
	if (sig.signature)
		return pin_signed(&o, &sig, keys, nkeys, ids, nids, argc - optind);
	if (nkeys || sig.certificate_chain || sig.certificate_identity ||
	    sig.sigstore_trusted_root || nids || sig.oidc_issuer) {
		pin_fail("--public-key, --certificate-chain, --certificate-identity, "
			 "--sigstore-trusted-root, --identity and --oidc-issuer go with "
			 "--signature");
		return 2;
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

/* The SHA-256 of `file`'s bytes, as hex into `hex` (65 bytes).  -errno. */
static int file_sha256(const char *file, char *hex)
{
	struct mfs_digests d;
	uint64_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = mfs_digest_fd(fd, MFS_ALGO_BIT(MFS_SHA256), NULL, &d, &n);
	close(fd);
	if (rc == 0)
		mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
	return rc;
}

/* Writes `text` to `file`, through a temporary file renamed into place:
 * a reader never sees half a document.  -errno. */
static int write_file(const char *file, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	FILE *f;
	int rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", file, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "wx");
	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len)
		rc = -errno;
	if (fclose(f) == EOF && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, file) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Thin: the config (and its digest), the store if asked, then sbom.c. */
static int cmd_sbom(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct mfs_store store = { .dirfd = -1 };
	struct mfs_sbom_opts o = { .timestamp = time(NULL) };
	struct mfs_config *cfg;
	const char *output = NULL, *file;
	char before[65], after[65], serial[64], real[PATH_MAX], err[1024], *text = NULL;
	struct stat sb;
	int c, rc, status = 2;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.with_store = true; break;
		case 'o': output = optarg; break;
		case ':':
			fprintf(stderr, "modelfsctl: sbom: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "modelfsctl: sbom: unknown option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	file = argv[optind];
	/* Hashed before and after it is read: the digest is of the config
	 * the document describes, not of one that changed meanwhile. */
	rc = file_sha256(file, before);
	if (load(file, &cfg) < 0)
		return 2;
	status = 1;
	if (rc < 0 || (rc = file_sha256(file, after)) < 0) {
		fprintf(stderr, "modelfsctl: cannot hash '%s': %s\n", file, strerror(-rc));
		goto out_free_config;
	}
	if (strcmp(before, after) != 0) {
		fprintf(stderr, "modelfsctl: '%s' changed while it was read; try again\n", file);
		goto out_free_config;
	}
	o.cfg = cfg;
	o.config_sha256 = after;
	o.config_path = realpath(file, real) ? real : file;
	rc = mfs_sbom_serial(serial, sizeof(serial));
	if (rc < 0) {
		fprintf(stderr, "modelfsctl: no random serial number: %s\n", strerror(-rc));
		goto out_free_config;
	}
	o.serial = serial;
	/* A store that does not exist yet is made by nobody here: then every
	 * model is absent. */
	if (o.with_store && !(stat(cfg->store, &sb) < 0 && errno == ENOENT)) {
		rc = mfs_store_open(&store, cfg->store);
		if (rc < 0) {
			fprintf(stderr, "modelfsctl: cannot open store '%s': %s\n", cfg->store,
				strerror(-rc));
			goto out_free_config;
		}
		o.store = &store;
	}
	/* signature.c's notes on a kept bundle (verified again) are not
	 * the document; its warnings and errors still show. */
	mfs_log_set_level(MFS_LOG_WARN);
	rc = mfs_sbom_build(&o, &text, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "modelfsctl: sbom: %s\n", err);
		status = rc == -EINVAL ? 2 : 1;
		goto out_release_store;
	}
	if (output)
		rc = write_file(output, text);
	else if (fputs(text, stdout) == EOF || fflush(stdout) == EOF)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, "modelfsctl: cannot write %s: %s\n", output ? output : "the document",
			strerror(-rc));
		goto out_free_text;
	}
	status = 0;
out_free_text:
	free(text);
out_release_store:
	mfs_store_release(&store);
out_free_config:
	mfs_config_free(cfg);
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
	if (argc >= 3 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argv[2], argv + 3, argc - 3);
	if (argc >= 2 && strcmp(argv[1], "pin") == 0)
		return cmd_pin(argc - 1, argv + 1);
	if (argc >= 3 && strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "sbom") == 0)
		return cmd_sbom(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
