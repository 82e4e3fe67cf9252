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
	.staging_fd = -1, .quarantine_fd = -1, .lock_fd = -1 })

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
	if (rc < 0)
		goto out_release;
	return 0;

out_release:
	mfs_store_release(st);
	return rc;
}

void mfs_store_release(struct mfs_store *st)
{
	const int fds[] = { st->lock_fd, st->quarantine_fd, st->staging_fd,
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

int mfs_store_clear_staging(struct mfs_store *st)
{
	struct dirent *de;
	int fd, rc = 0, removed = 0;
	DIR *dir;

	fd = openat(st->staging_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
			if (errno)
				rc = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* One stuck entry must not keep the others. */
		one = clear_one(st->staging_fd, de->d_name);
		if (one > 0)
			removed++;
		else if (one < 0 && rc == 0)
			rc = one;
	}
	closedir(dir);
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
	if ((sync && fsync(fd) < 0) || fchmod(fd, 0444) < 0 ||
	    renameat(st->staging_fd, staging_name, st->objects_fd, object) < 0)
		return -errno;
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

int mfs_store_quarantine_object(struct mfs_store *st, const char *object,
				char *qname, size_t len)
{
	return quarantine(st, st->objects_fd, object, object, qname, len);
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
