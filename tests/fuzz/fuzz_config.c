/* libFuzzer harness for fs/config.c: any bytes as models.ini.
 *
 * Each input goes through both entry points:
 *   - mfs_config_load on a memfd (as /proc/self/fd/N): the raw bytes,
 *     embedded NULs included, which read_line must refuse;
 *   - mfs_config_parse_string on a NUL-terminated copy (a C string ends at
 *     its first NUL, so this one sees the text before it).
 * Beyond "no crash, leak or UB", it aborts when the module breaks its
 * contract (include/config.h): a result together with an error, an error
 * without a "FILE:" message, an errno it does not document, bytes with a
 * NUL accepted, the two entry points disagreeing on the same text, or an
 * accepted config that is not what validation promises (relative unique
 * paths, https sources ending in '/', urls under their source, sizes and
 * digests present, archives that point back at their members).
 *
 * Build and run: make fuzz-build; tests/fuzz/run [SECONDS]. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

enum { ERRLEN = 512 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
	fuzz_broken("fuzz_config", what, detail);
}

/* The memfd stays open across runs; each input replaces its contents. */
static int input_fd(char *path, size_t len)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-config.ini", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static void write_input(int fd, const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (ftruncate(fd, 0) < 0) {
		perror("ftruncate");
		abort();
	}
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		if (n <= 0) {
			perror("pwrite");
			abort();
		}
		off += (size_t)n;
	}
}

/* One outcome of a parse: the return value, the config and the message. */
static void check_outcome(const char *entry, const char *name, int rc,
			  const struct mfs_config *cfg, const char *err)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s:", name);
	if (fuzz_verbose())
		fprintf(stderr, "fuzz_config: %s: %d %s\n", entry, rc,
			memchr(err, '\0', ERRLEN) ? err : "(unterminated)");
	if (rc == 0 && !cfg)
		broken(entry, "returned 0 without a config");
	if (rc != 0 && cfg)
		broken(entry, "returned an error and a config");
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		broken(entry, "returned an undocumented error");
	if (memchr(err, '\0', ERRLEN) == NULL)
		broken(entry, "left the message unterminated");
	if (rc != 0 && strncmp(err, prefix, strlen(prefix)) != 0)
		broken(entry, err[0] ? err : "failed without a message");
}

/* The mount path rules of the README, written out again here on purpose:
 * relative, no trailing '/', components non-empty and neither "." nor
 * "..", at most 255 bytes each and 4095 in all. */
static bool good_path(const char *path)
{
	size_t len = strlen(path);
	const char *c = path;

	if (len == 0 || len > 4095 || path[0] == '/' || path[len - 1] == '/')
		return false;
	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || n > 255 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[n])
			return true;
		c += n + 1;
	}
}

/* `b` is `a` or lies under the directory `a`. */
static bool within(const char *a, const char *b)
{
	size_t la = strlen(a);

	return !strncmp(a, b, la) && (!b[la] || b[la] == '/');
}

static bool is_absolute_url(const char *u, bool allow_http)
{
	return !strncasecmp(u, "https://", 8) || (allow_http && !strncasecmp(u, "http://", 7));
}

static void check_source(const struct mfs_source *s)
{
	size_t len = strlen(s->url);

	if (!s->name || !*s->name)
		broken("source", "no name");
	if (!is_absolute_url(s->url, s->allow_http))
		broken("source url is not https (or http with allow_http)", s->url);
	if (!len || s->url[len - 1] != '/')
		broken("source url does not end in '/'", s->url);
	if (!s->host || !*s->host)
		broken("source has no host", s->url);
	for (const char *c = s->host; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			broken("source host is not lowercase", s->host);
	}
	if (s->ca_file && s->ca_file[0] != '/')
		broken("ca_file is not absolute", s->ca_file);
	for (char **h = s->redirect_hosts; h && *h; h++) {
		if (!**h)
			broken("empty redirect host", s->name);
	}
	for (char **m = s->mirrors; m && *m; m++) {
		size_t n = strlen(*m);

		if (strncmp(*m, "https://", 8) != 0 && !(s->allow_http && strncmp(*m, "http://", 7) == 0))
			broken("mirror of a scheme not allowed", *m);
		if (!n || (*m)[n - 1] != '/')
			broken("mirror does not end in '/'", *m);
	}
	if (s->retries > MFS_RETRIES_LIMIT)
		broken("source retries over the limit", s->name);
	if (s->connections == 0 || s->connections > MFS_CONNECTIONS_LIMIT)
		broken("source connections out of bounds", s->name);
	if (s->s3_url && strncmp(s->url, "http", 4) != 0)
		broken("s3 source without an http(s) base", s->url);
}

static void check_model(const struct mfs_config *cfg, const struct mfs_model *m)
{
	const struct mfs_model *found;

	if (!m->name || !m->path || !m->url)
		broken("model", "name, path or url missing");
	if (!good_path(m->path))
		broken("accepted a bad path", m->path);
	if (!m->source || m->source < cfg->sources || m->source >= cfg->sources + cfg->nsources)
		broken("model source is not one of the config's", m->path);
	if (strncmp(m->url, m->source->url, strlen(m->source->url)) != 0 ||
	    !m->url[strlen(m->source->url)])
		broken("model url is not a file under its source url", m->url);
	if (m->size == 0 || m->size > INT64_MAX)
		broken("model size out of range", m->path);
	if (!m->digests.mask || (m->digests.mask & ~7u))
		broken("model digests", m->path);
	if (m->weak != (m->digests.mask == MFS_ALGO_BIT(MFS_SHA1)))
		broken("model weak flag does not match its digests", m->path);
	if ((m->archive == NULL) != (m->member == NULL))
		broken("member without an archive or archive without a member", m->path);
	if (m->member && !good_path(m->member))
		broken("accepted a bad member name", m->member);
	if (m->archive) {
		const struct mfs_archive *a = m->archive;
		bool listed = false;

		if (a < cfg->archives || a >= cfg->archives + cfg->narchives)
			broken("model archive is not one of the config's", m->path);
		for (size_t i = 0; i < a->nmembers; i++)
			listed |= &cfg->models[a->members[i]] == m;
		if (!listed)
			broken("archive does not list its member", m->path);
		if (strcmp(a->url, m->url) != 0)
			broken("member url differs from its archive's", m->path);
	}
	if (m->folder) {
		const struct mfs_folder *f = m->folder;
		bool listed = false;

		if (f < cfg->folders || f >= cfg->folders + cfg->nfolders)
			broken("model folder is not one of the config's", m->path);
		if (m->archive)
			broken("a zip member in a folder of plain files", m->path);
		for (size_t i = 0; i < f->nmembers; i++)
			listed |= &cfg->models[f->members[i]] == m;
		if (!listed)
			broken("folder does not list its file", m->path);
	}
	found = mfs_config_find(cfg, m->path);
	if (found != m)
		broken("mfs_config_find does not return the model", m->path);
}

static void check_archive(const struct mfs_config *cfg, const struct mfs_archive *a)
{
	if (!a->name || !a->url || !a->source || !a->nmembers)
		broken("archive", "name, url, source or members missing");
	if (a->size && a->max_size != a->size)
		broken("pinned archive max_size is not its size", a->name);
	if (!a->max_size || a->max_size > INT64_MAX)
		broken("archive max_size out of range", a->name);
	for (size_t i = 0; i < a->nmembers; i++) {
		if (a->members[i] >= cfg->nmodels || cfg->models[a->members[i]].archive != a)
			broken("archive member index", a->name);
	}
}

static void check_folder(const struct mfs_config *cfg, const struct mfs_folder *f)
{
	if (!f->nmembers)
		broken("folder", "no files");
	for (size_t i = 0; i < f->nmembers; i++) {
		if (f->members[i] >= cfg->nmodels || cfg->models[f->members[i]].folder != f)
			broken("folder member index", cfg->file);
	}
}

/* What validation promises of a config it accepted. */
static void check_config(const struct mfs_config *cfg)
{
	if (!cfg->file || !cfg->store || cfg->store[0] != '/' || !cfg->audit_log ||
	    cfg->audit_log[0] != '/')
		broken("config", "file, store or audit_log missing or relative");
	if (cfg->connect_timeout <= 0 || cfg->low_speed_limit <= 0 || cfg->low_speed_time <= 0)
		broken("config", "a timeout or speed limit <= 0");
	if (cfg->retries > MFS_RETRIES_LIMIT)
		broken("config", "retries over the limit");
	if (cfg->connections < 1 || cfg->connections > MFS_CONNECTIONS_LIMIT || !cfg->parallel_min)
		broken("config", "connections or parallel_min out of bounds");
	for (size_t i = 0; i < cfg->nsources; i++)
		check_source(&cfg->sources[i]);
	for (size_t i = 0; i < cfg->narchives; i++)
		check_archive(cfg, &cfg->archives[i]);
	for (size_t i = 0; i < cfg->nfolders; i++)
		check_folder(cfg, &cfg->folders[i]);
	/* every model is a file: no path may equal another or hold it */
	for (size_t i = 0; i < cfg->nmodels; i++) {
		for (size_t j = 0; j < cfg->nmodels; j++) {
			if (i != j && within(cfg->models[i].path, cfg->models[j].path))
				broken("two models clash", cfg->models[j].path);
		}
	}
	for (size_t i = 0; i < cfg->nmodels; i++)
		check_model(cfg, &cfg->models[i]);
}

static void same_config(const struct mfs_config *a, const struct mfs_config *b)
{
	if (a->nsources != b->nsources || a->nmodels != b->nmodels || a->narchives != b->narchives ||
	    strcmp(a->store, b->store) != 0 || strcmp(a->audit_log, b->audit_log) != 0)
		broken("load and parse_string", "built different configs from one text");
	for (size_t i = 0; i < a->nmodels; i++) {
		if (strcmp(a->models[i].path, b->models[i].path) != 0 ||
		    strcmp(a->models[i].url, b->models[i].url) != 0 ||
		    a->models[i].size != b->models[i].size)
			broken("load and parse_string", "built different models from one text");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfs_config *loaded = NULL, *parsed = NULL;
	char name[64], *text, *err_load, *err_parse;
	bool has_nul = memchr(data, '\0', size) != NULL;
	int fd, rc_load, rc_parse;

	/* on the heap, exactly sized: ASan sees a write past either */
	text = malloc(size + 1);
	err_load = malloc(ERRLEN);
	err_parse = malloc(ERRLEN);
	if (!text || !err_load || !err_parse)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	/* a poisoned message shows a failure that never wrote one */
	memset(err_load, 'x', ERRLEN);
	memset(err_parse, 'x', ERRLEN);

	fd = input_fd(name, sizeof(name));
	write_input(fd, data, size);
	rc_load = mfs_config_load(name, &loaded, err_load, ERRLEN);
	check_outcome("mfs_config_load", name, rc_load, loaded, err_load);
	if (has_nul && rc_load != -EINVAL)
		broken("mfs_config_load accepted a NUL byte", rc_load ? err_load : NULL);

	/* the same name, so that on the same text the messages are equal */
	rc_parse = mfs_config_parse_string(name, text, &parsed, err_parse, ERRLEN);
	check_outcome("mfs_config_parse_string", name, rc_parse, parsed, err_parse);

	if (!has_nul) {
		if (rc_load != rc_parse || (rc_load && strcmp(err_load, err_parse) != 0))
			broken("load and parse_string disagree", rc_load ? err_load : err_parse);
		if (!rc_load)
			same_config(loaded, parsed);
	}
	if (loaded)
		check_config(loaded);
	if (parsed)
		check_config(parsed);

	mfs_config_free(loaded);
	mfs_config_free(parsed);
	free(err_parse);
	free(err_load);
	free(text);
	return 0;
}
