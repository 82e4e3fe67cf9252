/* pin — see include/pin.h. */
#include "pin.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "mountpath.h"
#include "download.h"
#include "unpack.h"
#include "log.h"

#define SKIP_ID INT_MAX /* an archive member walked over, not pinned */
#define SOURCE_MAX_ID 41 /* "source " + id fits config's 48 */

static bool id_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

/* A name from an archive, fit to be quoted in a message: control
 * characters (which could drive the terminal) become '?'. */
static void printable(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = iscntrl((unsigned char)in[i]) ? '?' : in[i];
	out[i] = '\0';
}

bool mfs_pin_ini_safe(const char *v, bool no_space)
{
	size_t len = strlen(v);

	if (len == 0 || v[0] == ' ' || v[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		/* Tabs included: a blank that is never wanted in a value. */
		if (iscntrl(c))
			return false;
		if (c == ' ' && (no_space || v[i + 1] == ';' || v[i + 1] == '#'))
			return false;
	}
	return true;
}

int mfs_pin_section_id(const char *path, char *out, size_t len)
{
	const char *last;
	size_t n;

	if (len < MFS_PIN_MAX_ID + 1)
		return -EINVAL;
	last = strrchr(path, '/');
	last = last ? last + 1 : path;
	for (n = 0; last[n] && n < MFS_PIN_MAX_ID; n++)
		out[n] = id_char(last[n]) ? last[n] : '_';
	/* A cut name ends where the cut fell; do not end on a separator. */
	if (last[n])
		while (n > 0 && strchr("._-", out[n - 1]))
			n--;
	out[n] = '\0';
	return n ? 0 : -EINVAL;
}

int mfs_pin_member_name(const char *member, const char *prefix, const char **rel)
{
	size_t plen = prefix ? strlen(prefix) : 0;

	if (strncmp(member, prefix ? prefix : "", plen) != 0)
		return -ENOENT;
	if (member[plen] == '\0')
		return -EINVAL;
	*rel = member + plen;
	return 0;
}

int mfs_pin_check_opts(const struct mfs_pin_opts *o, char *err, size_t errlen)
{
	const char *why;
	int rc = -EINVAL;

	if (!o->url || !*o->url)
		mfs_seterr(err, errlen, "a URL is required");
	else if (!mfs_pin_ini_safe(o->url, true))
		mfs_seterr(err, errlen, "the URL must not contain blanks, control characters or ' ;'");
	else if (strncasecmp(o->url, "https://", 8) != 0 &&
		 !(o->allow_http && strncasecmp(o->url, "http://", 7) == 0))
		mfs_seterr(err, errlen, "the URL must start with https:// (http:// only with --allow-http)");
	else if (!o->path)
		mfs_seterr(err, errlen, "--path MOUNTPATH is required");
	else if (mfs_mountpath_check(o->path, &why) < 0)
		mfs_seterr(err, errlen, "bad --path '%s': %s", o->path, why);
	else if (!mfs_pin_ini_safe(o->path, false))
		mfs_seterr(err, errlen, "bad --path '%s': control character, blank at an end or ' ;'",
		       o->path);
	else if (o->source && (strspn(o->source, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						  "0123456789._-") != strlen(o->source) ||
			       !*o->source || strlen(o->source) > SOURCE_MAX_ID))
		mfs_seterr(err, errlen, "bad --source '%s': 1 to %d of A-Z a-z 0-9 . _ -", o->source,
		       SOURCE_MAX_ID);
	else if (!o->zip && (o->member || o->member_prefix))
		mfs_seterr(err, errlen, "--member and --member-prefix need --archive zip");
	else if (o->member && o->member_prefix)
		mfs_seterr(err, errlen, "--member and --member-prefix exclude each other "
		       "(--member names the whole member)");
	else if (o->member && !mfs_pin_ini_safe(o->member, false))
		mfs_seterr(err, errlen, "bad --member: empty, control character, blank at an end or ' ;'");
	else if (o->member_prefix && !mfs_pin_ini_safe(o->member_prefix, true))
		mfs_seterr(err, errlen, "bad --member-prefix: empty, blank, control character or ';'");
	else if (o->member_prefix && o->member_prefix[strlen(o->member_prefix) - 1] != '/')
		mfs_seterr(err, errlen, "bad --member-prefix '%s': must end with '/' (a folder in the "
		       "archive, e.g. 20180402-114759/)", o->member_prefix);
	else
		rc = 0;
	return rc;
}

/* ---------------------------------------------------------------- format */

void mfs_pin_text_add(struct mfs_pin_text *t, const char *what, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->rc < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->rc = -EINVAL;
		mfs_seterr(t->err, t->errlen, "cannot format the %s line", what);
		return;
	}
	if ((size_t)n > MFS_PIN_MAX_LINE) {
		t->rc = -E2BIG;
		mfs_seterr(t->err, t->errlen,
		       "the %s line would be %d characters; config lines are at most %d (inih cuts "
		       "longer ones)", what, n, MFS_PIN_MAX_LINE);
		return;
	}
	if (t->cap - t->len < (size_t)n + 2) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		char *s;

		while (cap - t->len < (size_t)n + 2)
			cap *= 2;
		s = realloc(t->s, cap);
		if (!s) {
			t->rc = -ENOMEM;
			mfs_seterr(t->err, t->errlen, "out of memory");
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
	t->s[t->len++] = '\n';
	t->s[t->len] = '\0';
}

static const char *hex_of(const struct mfs_digests *d, enum mfs_algo a, char *buf)
{
	mfs_hex_encode(d->d[a], mfs_algo_len(a), buf);
	return buf;
}

static void add_digests(struct mfs_pin_text *t, const struct mfs_digests *d, bool sha1)
{
	char hex[2 * MFS_DIGEST_MAX + 1];

	mfs_pin_text_add(t, "sha256", "sha256 = %s", hex_of(d, MFS_SHA256, hex));
	if (sha1) {
		mfs_pin_text_add(t, "sha1", "sha1 = %s", hex_of(d, MFS_SHA1, hex));
		mfs_pin_text_add(t, "allow_sha1", "allow_sha1 = yes");
	}
}

static void add_file_line(struct mfs_pin_text *t, const struct mfs_pin_file *f, bool sha1)
{
	char h256[2 * MFS_DIGEST_MAX + 1], h1[2 * MFS_DIGEST_MAX + 1], what[160];

	snprintf(what, sizeof(what), "\"file = %.100s ...\"", f->name);
	mfs_pin_text_add(t, what, "file = %s %" PRIu64 " sha256:%s%s%s", f->name, f->size,
		 hex_of(&f->digests, MFS_SHA256, h256), sha1 ? " sha1:" : "",
		 sha1 ? hex_of(&f->digests, MFS_SHA1, h1) : "");
}

/* Member names come from the archive: refuse any that would not read back
 * as the same single word, or that the config could not serve. */
static int check_files(const struct mfs_pin_opts *o, const struct mfs_pin_result *r,
		       char *err, size_t errlen)
{
	char name[256];

	for (size_t i = 0; i < r->nfiles; i++) {
		const struct mfs_pin_file *f = &r->files[i];

		printable(f->name, name, sizeof(name));
		if (!mfs_pin_ini_safe(f->name, !o->member)) {
			mfs_seterr(err, errlen, "member name '%s' cannot be written into a config "
			       "(blank, control character or ' ;')", name);
			return -EINVAL;
		}
		if (f->size == 0) {
			mfs_seterr(err, errlen, "member '%s' is empty; the config cannot pin an empty file",
			       name);
			return -EINVAL;
		}
	}
	if (o->zip && (o->member ? r->nfiles != 1 : r->nfiles == 0)) {
		mfs_seterr(err, errlen, "%zu archive members to pin: nothing to write", r->nfiles);
		return -EINVAL;
	}
	return 0;
}

int mfs_pin_format(const struct mfs_pin_opts *o, const struct mfs_pin_result *r, time_t when,
		   char **out, char *err, size_t errlen)
{
	struct mfs_pin_text t = { .err = err, .errlen = errlen };
	char id[MFS_PIN_MAX_ID + 1], stamp[32], hex[2 * MFS_DIGEST_MAX + 1];
	struct tm tm;
	int rc;

	*out = NULL;
	rc = mfs_pin_section_id(o->path, id, sizeof(id));
	if (rc < 0) {
		mfs_seterr(err, errlen, "cannot derive a section id from '%s'", o->path);
		return rc;
	}
	rc = check_files(o, r, err, errlen);
	if (rc < 0)
		return rc;
	if (r->size == 0) {
		mfs_seterr(err, errlen, "the download is empty; the config cannot pin an empty file");
		return -EINVAL;
	}
	if (!gmtime_r(&when, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		mfs_seterr(err, errlen, "cannot format the time");
		return -EINVAL;
	}

	/* The URL is on the url line anyway: a long one is left out of the
	 * comment rather than failing the whole section on it. */
	if (strlen(o->url) + strlen(stamp) + 40 <= MFS_PIN_MAX_LINE)
		mfs_pin_text_add(&t, "comment", "; pinned by modelfsctl pin from %s on %s", o->url, stamp);
	else
		mfs_pin_text_add(&t, "comment", "; pinned by modelfsctl pin from the url below on %s", stamp);
	mfs_pin_text_add(&t, "comment", "; review before trusting: these digests are whatever the server "
		 "sent just now");
	mfs_pin_text_add(&t, "section", "[model %s]", id);
	mfs_pin_text_add(&t, "source", "source = %s", o->source ? o->source : MFS_PIN_NO_SOURCE);
	mfs_pin_text_add(&t, "path", "path = %s", o->path);
	mfs_pin_text_add(&t, "url", "url = %s", o->url);
	if (!o->zip) {
		mfs_pin_text_add(&t, "size", "size = %" PRIu64, r->size);
		add_digests(&t, &r->digests, o->sha1);
	} else {
		mfs_pin_text_add(&t, "archive", "archive = zip");
		if (o->member) {
			mfs_pin_text_add(&t, "member", "member = %s", r->files[0].name);
			mfs_pin_text_add(&t, "size", "size = %" PRIu64, r->files[0].size);
			add_digests(&t, &r->files[0].digests, o->sha1);
		} else {
			if (o->member_prefix)
				mfs_pin_text_add(&t, "member_prefix", "member_prefix = %s", o->member_prefix);
			for (size_t i = 0; i < r->nfiles; i++)
				add_file_line(&t, &r->files[i], o->sha1);
			if (o->sha1)
				mfs_pin_text_add(&t, "allow_sha1", "allow_sha1 = yes");
		}
		mfs_pin_text_add(&t, "archive_size", "archive_size = %" PRIu64, r->size);
		mfs_pin_text_add(&t, "archive_sha256", "archive_sha256 = %s",
			 hex_of(&r->digests, MFS_SHA256, hex));
	}
	if (t.rc < 0) {
		free(t.s);
		return t.rc;
	}
	*out = t.s;
	return 0;
}

/* ---------------------------------------------------------------- download */

/* An unlinked file for the archive body: it vanishes with the process,
 * whatever happens. */
static int open_tmp(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char *tmpl = NULL;
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/* Filesystems without O_TMPFILE: a named file, unlinked at once. */
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		if (asprintf(&tmpl, "%s/modelfsctl-pin.XXXXXX", dir) < 0) {
			tmpl = NULL;
			errno = ENOMEM;
		} else {
			fd = mkostemp(tmpl, O_CLOEXEC);
			if (fd >= 0 && unlink(tmpl) < 0) {
				int e = errno;

				close(fd);
				fd = -1;
				errno = e;
			}
		}
	}
	if (fd < 0) {
		int e = errno;

		mfs_seterr(err, errlen, "cannot create a temporary file in %s: %s", dir, strerror(e));
		fd = -e;
	}
	free(tmpl);
	return fd;
}

/* ---------------------------------------------------------------- archive */

struct walk {
	const struct mfs_pin_opts *o;
	unsigned mask;
	struct mfs_pin_file *files;
	size_t n, cap;
	int64_t declared;        /* the size the archive's header gives the
				    member being read, -1: none */
	uint64_t others;         /* members other than opts.member */
	char other[256];         /* the first of them, printable */
	char why[512];           /* our own reason, preferred over extract's */
};

static int walk_entry(void *arg, const char *name, int64_t size, struct mfs_unpack_member *um)
{
	struct walk *w = arg;
	const struct mfs_pin_opts *o = w->o;
	const char *rel = name, *why;
	char shown[256], *path = NULL;
	int rc;

	um->limit = o->max_size;
	if (o->member && strcmp(name, o->member) != 0) {
		if (!w->others++)
			printable(name, w->other, sizeof(w->other));
		return SKIP_ID;
	}
	printable(name, shown, sizeof(shown));
	if (o->member_prefix && mfs_pin_member_name(name, o->member_prefix, &rel) < 0) {
		snprintf(w->why, sizeof(w->why), "member '%s' is outside --member-prefix '%s'",
			 shown, o->member_prefix);
		return -EPERM;
	}
	if (!mfs_pin_ini_safe(rel, !o->member)) {
		snprintf(w->why, sizeof(w->why), "member name '%s' cannot be written into a config "
			 "(blank, control character or ' ;')", shown);
		return -EPERM;
	}
	if (!o->member) {
		if (asprintf(&path, "%s/%s", o->path, rel) < 0)
			return -ENOMEM;
		rc = mfs_mountpath_check(path, &why);
		free(path);
		if (rc < 0) {
			snprintf(w->why, sizeof(w->why), "member '%s' gives a bad mount path: %s",
				 shown, why);
			return -EPERM;
		}
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct mfs_pin_file *v = realloc(w->files, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->files = v;
		w->cap = cap;
	}
	if (w->n >= SKIP_ID)
		return -E2BIG;
	memset(&w->files[w->n], 0, sizeof(w->files[w->n]));
	w->files[w->n].name = strdup(rel);
	if (!w->files[w->n].name)
		return -ENOMEM;
	w->declared = size;
	um->mask = w->mask;
	return (int)w->n++;
}

static int walk_end(void *arg, int id, uint64_t bytes, const struct mfs_digests *got)
{
	struct walk *w = arg;
	struct mfs_pin_file *f;
	char shown[256];

	if (id == SKIP_ID)
		return 0;
	f = &w->files[id];
	if (w->declared >= 0 && (uint64_t)w->declared != bytes) {
		printable(f->name, shown, sizeof(shown));
		snprintf(w->why, sizeof(w->why), "member '%s' holds %" PRIu64 " bytes but the "
			 "archive says %" PRId64, shown, bytes, w->declared);
		return -EPROTO;
	}
	f->size = bytes;
	f->digests = *got;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct mfs_pin_file *)a)->name, ((const struct mfs_pin_file *)b)->name);
}

static int walk_zip(const struct mfs_pin_opts *o, int fd, struct mfs_pin_result *r,
		    char *err, size_t errlen)
{
	struct walk w = { .o = o, .mask = MFS_ALGO_BIT(MFS_SHA256), .declared = -1 };
	struct mfs_extract_limits lim = { .max_entries = MFS_PIN_MAX_ENTRIES, .max_total = o->max_size };
	const struct mfs_unpack_ops ops = { .entry = walk_entry, .end = walk_end };
	int rc;

	if (o->sha1)
		w.mask |= MFS_ALGO_BIT(MFS_SHA1);
	rc = mfs_unpack_run(fd, &lim, &ops, &w, NULL, err, errlen);
	if (rc < 0 && w.why[0])
		mfs_seterr(err, errlen, "%s", w.why);
	if (rc == 0 && w.n == 0) {
		rc = -ENOENT;
		if (o->member)
			mfs_seterr(err, errlen, "member '%s' is not in the archive", o->member);
		else if (o->member_prefix)
			mfs_seterr(err, errlen, "no file under --member-prefix '%s' in the archive",
			       o->member_prefix);
		else
			mfs_seterr(err, errlen, "the archive holds no file");
	}
	/* The daemon refuses an archive with a member its section does not
	 * list: a one-member section for such a zip could never be served. */
	if (rc == 0 && o->member && w.others) {
		rc = -EPERM;
		mfs_seterr(err, errlen, "the archive holds %" PRIu64 " file%s besides '%s' (e.g. '%s'), "
		       "and modelfs refuses archives with members their section does not list: "
		       "pin it without --member", w.others, w.others == 1 ? "" : "s", o->member,
		       w.other);
	}
	if (rc < 0) {
		for (size_t i = 0; i < w.n; i++)
			free(w.files[i].name);
		free(w.files);
		return rc;
	}
	qsort(w.files, w.n, sizeof(*w.files), cmp_file);
	r->files = w.files;
	r->nfiles = w.n;
	return 0;
}

int mfs_pin_run(const struct mfs_pin_opts *o, struct mfs_pin_result *r, char *err, size_t errlen)
{
	struct mfs_pin_opts opts = *o;
	struct mfs_download d = {
		.get = {
			.url = o->url,
			.ca_file = o->ca_file,
			.proxy = o->proxy,
			.allow_http = o->allow_http,
			.size = o->max_size ? o->max_size : MFS_PIN_DEFAULT_MAX_SIZE,
			.size_is_max = true,
			.connect_timeout = MFS_DEFAULT_CONNECT_TIMEOUT,
			.low_speed_limit = MFS_DEFAULT_LOW_SPEED_LIMIT,
			.low_speed_time = MFS_DEFAULT_LOW_SPEED_TIME,
		},
		.fd = -1,
		.mask = MFS_ALGO_BIT(MFS_SHA256),
		.progress = o->progress,
		.progress_arg = o->progress_arg,
	};
	struct mfs_download_result got;
	int rc;

	memset(r, 0, sizeof(*r));
	opts.max_size = d.get.size;
	/* A zip's own SHA-1 is never printed: its members carry the pins. */
	if (opts.sha1 && !opts.zip)
		d.mask |= MFS_ALGO_BIT(MFS_SHA1);
	/* A plain file is only hashed; a zip is kept for the walk. */
	if (opts.zip) {
		d.fd = open_tmp(err, errlen);
		if (d.fd < 0)
			return d.fd;
	}
	rc = mfs_download_run(&d, &got, err, errlen);
	if (rc < 0)
		goto out_close_tmp;
	r->size = got.bytes;
	r->digests = got.digests;
	if (opts.zip) {
		rc = walk_zip(&opts, d.fd, r, err, errlen);
		if (rc < 0)
			memset(r, 0, sizeof(*r));
	}
out_close_tmp:
	if (d.fd >= 0)
		close(d.fd);
	return rc;
}

void mfs_pin_result_release(struct mfs_pin_result *r)
{
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].name);
	free(r->files);
	memset(r, 0, sizeof(*r));
}
