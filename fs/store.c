/* store — see include/store.h.
 *
 * Errors go back to the caller as -errno for it to report with its own
 * subject; only what the caller cannot see (which staging entry is stuck,
 * whose directory this is) is logged here. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define CLOSED_STORE ((struct mfs_store){ .dirfd = -1, .objects_fd = -1, \
	.staging_fd = -1, .quarantine_fd = -1, .state_fd = -1, .lock_fd = -1 })

static atomic_ulong seq;

void mfs_store_object_name(const struct mfs_digests *d, char *buf, size_t len)
{
	char hex[2 * MFS_DIGEST_MAX + 1];
	enum mfs_algo a;

	if (!d->mask) {
		if (len)
			buf[0] = '\0';
		return;
	}
	a = mfs_algo_strongest(d->mask);
	mfs_hex_encode(d->d[a], mfs_algo_len(a), hex);
	snprintf(buf, len, "%s-%s", mfs_algo_name(a), hex);
}

void mfs_store_archive_name(const char *section, char *buf, size_t len)
{
	snprintf(buf, len, "archive-%.60s", section);
}

int mfs_store_bundle_key(const char *url, const char *section, char *key, size_t len)
{
	struct mfs_hasher *h;
	struct mfs_digests d;
	char hex[17];
	int rc;

	if (len < sizeof("sig-") + 16)
		return -EINVAL;
	rc = mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);
	if (rc < 0)
		return rc;
	rc = mfs_hasher_update(h, url, strlen(url) + 1);
	if (rc == 0)
		rc = mfs_hasher_update(h, section, strlen(section) + 1);
	if (rc == 0)
		rc = mfs_hasher_final(h, &d);
	mfs_hasher_free(h);
	if (rc < 0)
		return rc;
	mfs_hex_encode(d.d[MFS_SHA256], 8, hex);
	snprintf(key, len, "sig-%s", hex);
	return 0;
}

void mfs_store_shards_name(const struct mfs_shard *s, size_t n, char *buf, size_t len)
{
	struct mfs_hasher *h;
	struct mfs_digests d;
	char hex[65];

	if (mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h) < 0) {
		if (len)
			buf[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char be[16];

		for (int b = 0; b < 8; b++) {
			be[b] = (unsigned char)(s[i].start >> (56 - 8 * b));
			be[8 + b] = (unsigned char)(s[i].end >> (56 - 8 * b));
		}
		mfs_hasher_update(h, be, sizeof(be));
		mfs_hasher_update(h, s[i].sha256, 32);
	}
	if (mfs_hasher_final(h, &d) == 0) {
		mfs_hex_encode(d.d[MFS_SHA256], 32, hex);
		snprintf(buf, len, "shards-%s", hex);
	} else if (len) {
		buf[0] = '\0';
	}
	mfs_hasher_free(h);
}

static bool valid_name(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && !strchr(name, '/');
}

/* mkdir -p of every component of `path` but the last (0755). */
static int make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		int rc = 0;

		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			rc = -errno;
		*p = '/';
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Creates (0700) and opens directory `name` at `at`, refusing a symlink and
 * a directory someone else owns, and closing it to everyone but us. */
static int open_private_dir(int at, const char *name, int *out)
{
	struct stat sb;
	int fd, rc;

	if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (sb.st_uid != geteuid()) {
		mfs_err("store: '%s' belongs to uid %u, not to us (uid %u)", name,
			(unsigned)sb.st_uid, (unsigned)geteuid());
		rc = -EPERM;
		goto out_close;
	}
	if ((sb.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0) {
		rc = -errno;
		goto out_close;
	}
	*out = fd;
	return 0;

out_close:
	close(fd);
	return rc;
}

int mfs_store_open(struct mfs_store *st, const char *path)
{
	size_t n;
	int rc;

	*st = CLOSED_STORE;
	st->path = strdup(path);
	if (!st->path)
		return -ENOMEM;
	/* "store/" would let O_NOFOLLOW follow a symlinked store. */
	n = strlen(st->path);
	while (n > 1 && st->path[n - 1] == '/')
		st->path[--n] = '\0';
	if (n == 0) {
		rc = -EINVAL;
		goto out_release;
	}
	rc = make_parents(st->path);
	if (rc == 0)
		rc = open_private_dir(AT_FDCWD, st->path, &st->dirfd);
	if (rc == 0)
		rc = open_private_dir(st->dirfd, "objects", &st->objects_fd);
	if (rc == 0)
		rc = open_private_dir(st->dirfd, "staging", &st->staging_fd);
	if (rc == 0)
		rc = open_private_dir(st->dirfd, "quarantine", &st->quarantine_fd);
	if (rc == 0)
		rc = open_private_dir(st->dirfd, "state", &st->state_fd);
	if (rc < 0)
		goto out_release;
	return 0;

out_release:
	mfs_store_release(st);
	return rc;
}

void mfs_store_release(struct mfs_store *st)
{
	const int fds[] = { st->lock_fd, st->state_fd, st->quarantine_fd, st->staging_fd,
			    st->objects_fd, st->dirfd };

	/* A zeroed store's fds (0) are not ours. */
	if (!st->path)
		return;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	free(st->path);
	*st = CLOSED_STORE;
}

/* The pid a lock holder wrote into `fd`, or 0 if not (yet) readable. */
static long read_pid(int fd)
{
	char buf[32], *end;
	ssize_t n;
	long pid;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return 0;
	return pid;
}

static int write_pid(int fd)
{
	char buf[32];
	ssize_t n;
	int len;

	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0)
		return -errno;
	n = pwrite(fd, buf, (size_t)len, 0);
	return n == len ? 0 : n < 0 ? -errno : -EIO;
}

int mfs_store_lock_daemon(struct mfs_store *st, long *holder)
{
	int fd, rc;

	if (holder)
		*holder = 0;
	if (st->lock_fd >= 0)
		return 0;
	fd = openat(st->dirfd, "daemon.lock",
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY && holder)
			*holder = read_pid(fd);
		goto out_close;
	}
	rc = write_pid(fd);
	if (rc < 0)
		goto out_close;
	st->lock_fd = fd;
	return 0;

out_close:
	close(fd);
	return rc;
}

int mfs_store_note_pid(struct mfs_store *st)
{
	return st->lock_fd >= 0 ? write_pid(st->lock_fd) : -EINVAL;
}

/* Reports why staging/<name> stays (errno) and returns 0 if it is simply
 * gone, else -errno. */
static int stuck(const char *what, const char *name)
{
	int rc = -errno;

	if (rc == -ENOENT)
		return 0;
	mfs_warn("store: cannot %s 'staging/%s': %s", what, name, strerror(-rc));
	return rc;
}

/* 1 if staging/<name> was removed, 0 if a live writer holds it (or it is
 * gone already), -errno on failure. */
static int clear_one(int dirfd, const char *name)
{
	struct stat sb;
	int fd, rc = 1;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return stuck("stat", name);
	/* Only regular files are opened: opening a device or FIFO can act. */
	if (!S_ISREG(sb.st_mode))
		return unlinkat(dirfd, name, 0) < 0 ? stuck("remove", name) : 1;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return stuck("open", name);
	/* Writers hold their staging file flock'ed while it is open. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? 0 : stuck("lock", name);
	else if (unlinkat(dirfd, name, 0) < 0)
		rc = stuck("remove", name);
	close(fd);
	return rc;
}

/* Calls fn(arg, dirfd, name) for every entry of `dirfd` but "." and
 * "..".  A negative return of fn is remembered (the first one) but the
 * walk goes on: one stuck entry must not keep the others.  Returns that
 * first error, or -errno of reading the directory, else 0. */
static int each_entry(int dirfd, int (*fn)(void *arg, int dirfd, const char *name), void *arg)
{
	struct dirent *de;
	int fd, rc = 0;
	DIR *dir;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		rc = -errno;
		close(fd);
		return rc;
	}
	for (;;) {
		int one;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno && rc == 0)
				rc = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		one = fn(arg, dirfd, de->d_name);
		if (one < 0 && rc == 0)
			rc = one;
	}
	closedir(dir);
	return rc;
}

static int clear_entry(void *arg, int dirfd, const char *name)
{
	int *removed = arg, one = clear_one(dirfd, name);

	if (one > 0)
		(*removed)++;
	return one < 0 ? one : 0;
}

int mfs_store_clear_staging(struct mfs_store *st)
{
	int removed = 0, rc = each_entry(st->staging_fd, clear_entry, &removed);

	return rc < 0 ? rc : removed;
}

int mfs_store_stage(struct mfs_store *st, const char *object, char *name, size_t len)
{
	struct stat sb;
	int fd, n, rc;

	if (!valid_name(object))
		return -EINVAL;
	/* Another process's mfs_store_clear_staging may take our file for a
	 * leftover between its creation and our flock, and unlink it; such a
	 * file has no links left, so start over under a new name. */
	for (int tries = 0; tries < 3; tries++) {
		n = snprintf(name, len, "%s.%ld.%lu.part", object, (long)getpid(),
			     atomic_fetch_add(&seq, 1));
		if (n < 0 || (size_t)n >= len || n >= MFS_STAGING_NAME_MAX)
			return -ENAMETOOLONG;
		fd = openat(st->staging_fd, name,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
		if (rc < 0 || fstat(fd, &sb) < 0) {
			rc = -errno;
			goto out_unlink;
		}
		if (sb.st_nlink > 0)
			return fd;
		close(fd);
	}
	return -EAGAIN;

out_unlink:
	unlinkat(st->staging_fd, name, 0);
	close(fd);
	return rc;
}

int mfs_store_commit(struct mfs_store *st, int fd, const char *staging_name,
		     const char *object, bool sync)
{
	struct stat hashed, named;

	if (!valid_name(staging_name) || !valid_name(object))
		return -EINVAL;
	if (fstat(fd, &hashed) < 0 ||
	    fstatat(st->staging_fd, staging_name, &named, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* Only the inode that was hashed through `fd` may become the object. */
	if (hashed.st_dev != named.st_dev || hashed.st_ino != named.st_ino) {
		mfs_err("store: 'staging/%s' is not the file that was written", staging_name);
		return -EINVAL;
	}
	if ((sync && fsync(fd) < 0) || fchmod(fd, 0444) < 0)
		return -errno;
	/* Never over an object that is there: its readers may hold it (FUSE
	 * passthrough serves one store inode per mount inode). */
	if (renameat2(st->staging_fd, staging_name, st->objects_fd, object, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A file system without RENAME_NOREPLACE: link, then unlink. */
	if (linkat(st->staging_fd, staging_name, st->objects_fd, object, 0) < 0)
		return -errno;
	if (unlinkat(st->staging_fd, staging_name, 0) < 0)
		mfs_warn("store: cannot unlink 'staging/%s': %s", staging_name, strerror(errno));
	return 0;
}

int mfs_store_discard(struct mfs_store *st, const char *staging_name)
{
	if (!valid_name(staging_name))
		return -EINVAL;
	return unlinkat(st->staging_fd, staging_name, 0) < 0 ? -errno : 0;
}

static int quarantine(struct mfs_store *st, int from_fd, const char *from,
		      const char *object, char *qname, size_t len)
{
	char q[MFS_STAGING_NAME_MAX];
	int n;

	if (!valid_name(from) || !valid_name(object))
		return -EINVAL;
	n = snprintf(q, sizeof(q), "%s.%lld.%ld.%lu", object, (long long)time(NULL),
		     (long)getpid(), atomic_fetch_add(&seq, 1));
	if (n < 0 || (size_t)n >= sizeof(q) || (qname && (size_t)n >= len))
		return -ENAMETOOLONG;
	if (renameat(from_fd, from, st->quarantine_fd, q) < 0)
		return -errno;
	if (qname)
		memcpy(qname, q, (size_t)n + 1);
	return 0;
}

int mfs_store_quarantine_staged(struct mfs_store *st, const char *staging_name,
				const char *object, char *qname, size_t len)
{
	return quarantine(st, st->staging_fd, staging_name, object, qname, len);
}

int mfs_store_quarantine_object(struct mfs_store *st, const char *object, int fd,
				char *qname, size_t len)
{
	struct stat hashed, named;

	if (fd >= 0 && valid_name(object)) {
		if (fstat(fd, &hashed) < 0)
			return -errno;
		if (fstatat(st->objects_fd, object, &named, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (hashed.st_dev != named.st_dev || hashed.st_ino != named.st_ino)
			return -ESTALE;
	}
	return quarantine(st, st->objects_fd, object, object, qname, len);
}

int mfs_store_stat_object(struct mfs_store *st, const char *object, struct stat *sb)
{
	if (!valid_name(object))
		return -EINVAL;
	if (fstatat(st->objects_fd, object, sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISREG(sb->st_mode) ? 0 : -EINVAL;
}

struct quarantined {
	const char *name;
	size_t len;
	unsigned count;
	time_t newest;
};

/* Reads one decimal field of a quarantine name up to `end` (a '.' or the
 * NUL); NULL if it is not one. */
static const char *decimal(const char *s, char end, unsigned long long *v)
{
	char *after;

	if (*s < '0' || *s > '9')
		return NULL;
	errno = 0;
	*v = strtoull(s, &after, 10);
	return errno || *after != end ? NULL : after;
}

static int q_match(void *arg, int dirfd, const char *entry)
{
	struct quarantined *q = arg;
	unsigned long long t, pid, n;
	const char *s = entry + q->len;

	(void)dirfd;
	/* Exactly three numbers after the name: "a" is not "a.1"'s. */
	if (strncmp(entry, q->name, q->len) != 0 || *s++ != '.' || !(s = decimal(s, '.', &t)) ||
	    !(s = decimal(s + 1, '.', &pid)) || !decimal(s + 1, '\0', &n))
		return 0;
	q->count++;
	if ((time_t)t > q->newest)
		q->newest = (time_t)t;
	return 0;
}

int mfs_store_quarantined(struct mfs_store *st, const char *name, unsigned *count,
			  time_t *newest)
{
	struct quarantined q = { .name = name, .len = strlen(name) };
	int rc;

	if (!valid_name(name))
		return -EINVAL;
	rc = each_entry(st->quarantine_fd, q_match, &q);
	*count = q.count;
	*newest = q.newest;
	return rc;
}

int mfs_store_open_object(struct mfs_store *st, const char *object)
{
	struct stat sb;
	int fd, rc;

	if (!valid_name(object))
		return -EINVAL;
	/* O_NONBLOCK: a FIFO planted in objects/ must not hang the open. */
	fd = openat(st->objects_fd, object, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		rc = -errno;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- objects and their state */

#define USED_SUFFIX ".used"
#define FAIL_SUFFIX ".fail"

/* state/<object><suffix> into `buf`; -ENAMETOOLONG, -EINVAL. */
static int state_name(const char *object, const char *suffix, char *buf, size_t len)
{
	int n;

	if (!valid_name(object))
		return -EINVAL;
	n = snprintf(buf, len, "%s%s", object, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct listing {
	struct mfs_store *st;
	struct mfs_store_object *v;
	size_t n, cap;
	uint64_t total;
};

static int list_entry(void *arg, int dirfd, const char *name)
{
	struct listing *l = arg;
	struct mfs_store_object *o;
	char used[MFS_STORE_OBJECT_NAME_MAX + 8];
	struct stat sb, ub;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(sb.st_mode) || strlen(name) >= sizeof(o->name))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	o = &l->v[l->n++];
	memcpy(o->name, name, strlen(name) + 1);
	o->size = (uint64_t)sb.st_size;
	o->used = sb.st_mtim;
	if (state_name(name, USED_SUFFIX, used, sizeof(used)) == 0 &&
	    fstatat(l->st->state_fd, used, &ub, AT_SYMLINK_NOFOLLOW) == 0)
		o->used = ub.st_mtim;
	l->total += o->size;
	return 0;
}

static int cmp_used(const void *a, const void *b)
{
	const struct mfs_store_object *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

ssize_t mfs_store_list_objects(struct mfs_store *st, struct mfs_store_object **out,
			       uint64_t *total)
{
	struct listing l = { .st = st };
	int rc = each_entry(st->objects_fd, list_entry, &l);

	*out = NULL;
	*total = 0;
	if (rc < 0) {
		free(l.v);
		return rc;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_used);
	*out = l.v;
	*total = l.total;
	return (ssize_t)l.n;
}

int mfs_store_note_use(struct mfs_store *st, const char *object)
{
	/* Now, to the nanosecond: opens in one second keep their order. */
	struct timespec ts[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_NOW } };
	char name[MFS_STORE_OBJECT_NAME_MAX + 8];
	int fd, rc;

	rc = state_name(object, USED_SUFFIX, name, sizeof(name));
	if (rc < 0)
		return rc;
	fd = openat(st->state_fd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	rc = futimens(fd, ts) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int mfs_store_evict(struct mfs_store *st, const char *object, struct stat *was)
{
	char name[MFS_STORE_OBJECT_NAME_MAX + 8];

	if (!valid_name(object))
		return -EINVAL;
	if (was && fstatat(st->objects_fd, object, was, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (unlinkat(st->objects_fd, object, 0) < 0)
		return -errno;
	if (state_name(object, USED_SUFFIX, name, sizeof(name)) == 0)
		unlinkat(st->state_fd, name, 0);
	mfs_store_clear_failure(st, object);
	return 0;
}

int mfs_store_get_failure(struct mfs_store *st, const char *object, unsigned *count,
			  time_t *until)
{
	char name[MFS_STORE_OBJECT_NAME_MAX + 8], buf[64];
	unsigned long long c, u;
	ssize_t n;
	int fd, rc;

	rc = state_name(object, FAIL_SUFFIX, name, sizeof(name));
	if (rc < 0)
		return rc;
	fd = openat(st->state_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	buf[n] = '\0';
	/* Written by us, but a stray or torn file must not stick. */
	if (sscanf(buf, "%llu %llu", &c, &u) != 2 || c > 1000000 || u > (unsigned long long)INT64_MAX)
		return -ENOENT;
	*count = (unsigned)c;
	*until = (time_t)u;
	return 0;
}

/* Writes state/<key><suffix> whole: a temporary file renamed into place
 * (fsynced first with `sync`), so that a reader sees the old content or
 * the new, never a part.  -errno. */
static int put_state(struct mfs_store *st, const char *key, const char *suffix, const void *data,
		     size_t len, bool sync)
{
	char name[MFS_STORE_OBJECT_NAME_MAX + 8], tmp[MFS_STORE_OBJECT_NAME_MAX + 48];
	ssize_t w;
	int fd, rc;

	rc = state_name(key, suffix, name, sizeof(name));
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), ".%s.%ld.%lu", name, (long)getpid(), atomic_fetch_add(&seq, 1));
	fd = openat(st->state_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	w = write(fd, data, len);
	rc = w == (ssize_t)len ? 0 : w < 0 ? -errno : -EIO;
	if (rc == 0 && sync && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(st->state_fd, tmp, st->state_fd, name) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(st->state_fd, tmp, 0);
	return rc;
}

/* Removes state/<key><suffix>; absent is fine.  -errno. */
static int drop_state(struct mfs_store *st, const char *key, const char *suffix)
{
	char name[MFS_STORE_OBJECT_NAME_MAX + 8];
	int rc = state_name(key, suffix, name, sizeof(name));

	if (rc < 0)
		return rc;
	return unlinkat(st->state_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

int mfs_store_set_failure(struct mfs_store *st, const char *object, unsigned count,
			  time_t until)
{
	char buf[64];
	int len = snprintf(buf, sizeof(buf), "%u %lld\n", count, (long long)until);

	return put_state(st, object, FAIL_SUFFIX, buf, (size_t)len, false);
}

int mfs_store_clear_failure(struct mfs_store *st, const char *object)
{
	return drop_state(st, object, FAIL_SUFFIX);
}

/* ---------------------------------------------------------------- kept bundles */

#define BUNDLE_SUFFIX ".bundle"

int mfs_store_put_bundle(struct mfs_store *st, const char *key, const void *data, size_t len)
{
	return put_state(st, key, BUNDLE_SUFFIX, data, len, true);
}

ssize_t mfs_store_get_bundle(struct mfs_store *st, const char *key, void *buf, size_t max)
{
	char name[MFS_STORE_OBJECT_NAME_MAX + 8];
	ssize_t n, got = 0;
	int fd, rc = state_name(key, BUNDLE_SUFFIX, name, sizeof(name));

	if (rc < 0)
		return rc;
	fd = openat(st->state_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)got <= max && (n = read(fd, (char *)buf + got, max + 1 - (size_t)got)) > 0)
		got += n;
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	return (size_t)got > max ? -EFBIG : got;
}

int mfs_store_drop_bundle(struct mfs_store *st, const char *key)
{
	return drop_state(st, key, BUNDLE_SUFFIX);
}

/* ---------------------------------------------------------------- quarantine bound */

struct qfile {
	char name[MFS_STAGING_NAME_MAX];
	uint64_t size;
	struct timespec mtime;
};

struct qlist {
	struct qfile *v;
	size_t n, cap;
};

static int q_entry(void *arg, int dirfd, const char *name)
{
	struct qlist *l = arg;
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (strlen(name) >= sizeof(l->v->name))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n].name, name, strlen(name) + 1);
	l->v[l->n].size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	l->v[l->n].mtime = sb.st_mtim;
	l->n++;
	return 0;
}

/* Newest first. */
static int cmp_newest(const void *a, const void *b)
{
	const struct qfile *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec > y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec > y->mtime.tv_nsec ? -1 : 1;
	return strcmp(y->name, x->name);
}

int mfs_store_trim_quarantine(struct mfs_store *st, uint64_t max,
			      void (*dropped)(void *arg, const char *name, uint64_t bytes),
			      void *arg)
{
	struct qlist l = { 0 };
	uint64_t kept = 0;
	int rc, removed = 0;

	while ((rc = flock(st->quarantine_fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return -errno;
	rc = each_entry(st->quarantine_fd, q_entry, &l);
	if (rc == 0 && l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_newest);
	for (size_t i = 0, full = 0; rc == 0 && i < l.n; i++) {
		/* The newest files that fit; from the first that does not,
		 * everything older goes too. */
		if (!full && l.v[i].size <= max - kept) {
			kept += l.v[i].size;
			continue;
		}
		full = 1;
		if (unlinkat(st->quarantine_fd, l.v[i].name, 0) < 0) {
			if (errno != ENOENT)
				rc = -errno;
			continue;
		}
		removed++;
		if (dropped)
			dropped(arg, l.v[i].name, l.v[i].size);
	}
	flock(st->quarantine_fd, LOCK_UN);
	free(l.v);
	return rc < 0 ? rc : removed;
}
