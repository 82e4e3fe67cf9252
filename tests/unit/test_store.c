/* Unit tests for fs/store.c: layout and modes, symlink refusal, the
 * stage → commit / quarantine / discard life cycle, start-up cleanup next
 * to another process's live download, and the daemon lock. */
#include "store.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OBJ "sha256-0123456789abcdef"

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, text, strlen(text)), strlen(text));
	close(fd);
}

static bool fd_has(int fd, const char *text)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, text) == 0;
}

static int stage_with(struct mfs_store *st, const char *text, char *name)
{
	int fd = mfs_store_stage(st, OBJ, name, MFS_STAGING_NAME_MAX);

	CHECK(fd >= 0);
	if (fd >= 0)
		CHECK_EQ_INT(write(fd, text, strlen(text)), strlen(text));
	return fd;
}

static void test_open_creates_private_layout(void)
{
	struct mfs_store st;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("a/b/store/")), 0);
	CHECK_STR(st.path, unit_at("a/b/store"));
	CHECK_EQ_INT(st.lock_fd, -1);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store")), 0700);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store/objects")), 0700);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store/staging")), 0700);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store/quarantine")), 0700);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store/state")), 0700);
	mfs_store_release(&st);
	CHECK_EQ_INT(st.dirfd, -1);
	mfs_store_release(&st);

	/* An existing store that was opened up is closed again. */
	CHECK_EQ_INT(chmod(unit_at("a/b/store"), 0755), 0);
	CHECK_EQ_INT(chmod(unit_at("a/b/store/objects"), 0777), 0);
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("a/b/store")), 0);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store")), 0700);
	CHECK_EQ_INT(unit_mode_of(unit_at("a/b/store/objects")), 0700);
	mfs_store_release(&st);
	unit_tmp_remove();
}

static void test_release_zeroed_store(void)
{
	struct mfs_store st;

	if (fcntl(0, F_GETFD) < 0)
		CHECK_EQ_INT(open("/dev/null", O_RDONLY), 0);
	memset(&st, 0, sizeof(st));
	mfs_store_release(&st);
	/* fd 0 is not the store's to close. */
	CHECK(fcntl(0, F_GETFD) >= 0);
}

static void test_open_refuses_symlink(void)
{
	struct mfs_store st;
	int rc;

	unit_tmp_make("store");
	CHECK_EQ_INT(mkdir(unit_at("real"), 0700), 0);
	CHECK_EQ_INT(symlink("real", unit_at("link")), 0);
	rc = mfs_store_open(&st, unit_at("link"));
	CHECK(rc == -ELOOP || rc == -ENOTDIR);
	CHECK(st.path == NULL);
	rc = mfs_store_open(&st, unit_at("link//"));
	CHECK(rc == -ELOOP || rc == -ENOTDIR);
	CHECK(!exists(unit_at("real/objects")));

	/* A symlinked subdirectory is refused too. */
	CHECK_EQ_INT(mkdir(unit_at("s"), 0700), 0);
	CHECK_EQ_INT(symlink("../real", unit_at("s/objects")), 0);
	rc = mfs_store_open(&st, unit_at("s"));
	CHECK(rc == -ELOOP || rc == -ENOTDIR);
	CHECK(!exists(unit_at("real/staging")));
	unit_tmp_remove();
}

static void test_stage_commit(void)
{
	char name[MFS_STAGING_NAME_MAX], path[600];
	struct stat staged, committed;
	struct mfs_store st;
	int fd, fd2, ofd;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	fd = stage_with(&st, "hello", name);
	CHECK(strncmp(name, OBJ ".", strlen(OBJ) + 1) == 0);
	CHECK(strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".part") == 0);
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/staging"), name);
	CHECK_EQ_INT(unit_mode_of(path), 0600);
	CHECK_EQ_INT(fstat(fd, &staged), 0);

	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, OBJ, true), 0);
	CHECK(!exists(path));
	CHECK_EQ_INT(unit_mode_of(unit_at("store/objects/" OBJ)), 0444);
	CHECK_EQ_INT(lstat(unit_at("store/objects/" OBJ), &committed), 0);
	CHECK_EQ_INT(committed.st_ino, staged.st_ino);
	CHECK_EQ_INT(committed.st_dev, staged.st_dev);
	CHECK(fd_has(fd, "hello"));

	ofd = mfs_store_open_object(&st, OBJ);
	CHECK(ofd >= 0);
	CHECK(fd_has(ofd, "hello"));
	CHECK_EQ_INT(fcntl(ofd, F_GETFL) & O_NONBLOCK, 0);
	CHECK_EQ_INT(fstat(ofd, &committed), 0);
	CHECK_EQ_INT(committed.st_ino, staged.st_ino);
	close(ofd);
	close(fd);

	/* A second commit never replaces the object (its readers may hold
	 * it): -EEXIST, the object and the staging file stay as they were. */
	ofd = mfs_store_open_object(&st, OBJ);
	fd = stage_with(&st, "world", name);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, OBJ, false), -EEXIST);
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/staging"), name);
	CHECK(exists(path));
	CHECK_EQ_INT(lstat(unit_at("store/objects/" OBJ), &committed), 0);
	CHECK_EQ_INT(committed.st_ino, staged.st_ino);
	CHECK(fd_has(ofd, "hello"));
	close(ofd);
	CHECK_EQ_INT(mfs_store_discard(&st, name), 0);
	close(fd);
	/* Once the name is free (quarantined, evicted), a commit takes it. */
	CHECK_EQ_INT(unlink(unit_at("store/objects/" OBJ)), 0);
	fd = stage_with(&st, "world", name);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, OBJ, false), 0);
	ofd = mfs_store_open_object(&st, OBJ);
	CHECK(fd_has(ofd, "world"));
	close(ofd);
	close(fd);

	/* The fd that was hashed must be the file that is renamed. */
	fd = stage_with(&st, "good", name);
	fd2 = stage_with(&st, "evil", path);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, path, OBJ, false), -EINVAL);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, "../x", OBJ, false), -EINVAL);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, "a/b", false), -EINVAL);
	ofd = mfs_store_open_object(&st, OBJ);
	CHECK(fd_has(ofd, "world"));
	close(ofd);
	close(fd2);
	close(fd);

	/* Names that cannot fit are refused before anything is created. */
	memset(path, 'a', 250);
	path[250] = '\0';
	CHECK_EQ_INT(mfs_store_stage(&st, path, name, sizeof(name)), -ENAMETOOLONG);
	CHECK_EQ_INT(mfs_store_stage(&st, OBJ, name, 10), -ENAMETOOLONG);
	CHECK_EQ_INT(mfs_store_stage(&st, ".hidden", name, sizeof(name)), -EINVAL);
	mfs_store_release(&st);
	unit_tmp_remove();
}

static void test_open_object_errors(void)
{
	struct mfs_store st;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	write_file(unit_at("secret"), "outside");
	CHECK_EQ_INT(mfs_store_open_object(&st, OBJ), -ENOENT);
	CHECK_EQ_INT(symlink("../../secret", unit_at("store/objects/sha256-link")), 0);
	CHECK_EQ_INT(mfs_store_open_object(&st, "sha256-link"), -ELOOP);
	CHECK_EQ_INT(mkdir(unit_at("store/objects/sha256-dir"), 0700), 0);
	CHECK_EQ_INT(mfs_store_open_object(&st, "sha256-dir"), -EINVAL);
	CHECK_EQ_INT(mkfifo(unit_at("store/objects/sha256-fifo"), 0600), 0);
	CHECK_EQ_INT(mfs_store_open_object(&st, "sha256-fifo"), -EINVAL);
	CHECK_EQ_INT(mfs_store_open_object(&st, "../../secret"), -EINVAL);
	CHECK_EQ_INT(mfs_store_open_object(&st, ".."), -EINVAL);
	CHECK_EQ_INT(mfs_store_open_object(&st, ""), -EINVAL);
	mfs_store_release(&st);
	unit_tmp_remove();
}

static void test_quarantine_and_discard(void)
{
	char name[MFS_STAGING_NAME_MAX], q[MFS_STAGING_NAME_MAX], path[600];
	struct mfs_store st;
	int fd, qfd;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);

	fd = stage_with(&st, "bad bytes", name);
	CHECK_EQ_INT(mfs_store_quarantine_staged(&st, name, OBJ, q, sizeof(q)), 0);
	CHECK(strncmp(q, OBJ ".", strlen(OBJ) + 1) == 0);
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/staging"), name);
	CHECK(!exists(path));
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/quarantine"), q);
	qfd = open(path, O_RDONLY);
	CHECK(qfd >= 0);
	CHECK(fd_has(qfd, "bad bytes"));
	close(qfd);
	close(fd);

	fd = stage_with(&st, "rotted", name);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, OBJ, false), 0);
	/* Another file took the name (another process moved the rotted one
	 * away and committed its own): the one hashed was not it, it stays. */
	CHECK_EQ_INT(unlink(unit_at("store/objects/" OBJ)), 0);
	qfd = stage_with(&st, "fresh", name);
	CHECK_EQ_INT(mfs_store_commit(&st, qfd, name, OBJ, false), 0);
	CHECK_EQ_INT(mfs_store_quarantine_object(&st, OBJ, fd, NULL, 0), -ESTALE);
	CHECK(exists(unit_at("store/objects/" OBJ)));
	CHECK_EQ_INT(mfs_store_quarantine_object(&st, OBJ, qfd, NULL, 0), 0);
	close(qfd);
	close(fd);
	fd = stage_with(&st, "rotted", name);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, OBJ, false), 0);
	close(fd);
	CHECK_EQ_INT(mfs_store_quarantine_object(&st, OBJ, -1, NULL, 0), 0);
	CHECK(!exists(unit_at("store/objects/" OBJ)));
	CHECK_EQ_INT(mfs_store_quarantine_object(&st, OBJ, -1, q, sizeof(q)), -ENOENT);
	CHECK_EQ_INT(mfs_store_quarantine_object(&st, OBJ, -1, q, 5), -ENAMETOOLONG);
	CHECK_EQ_INT(mfs_store_quarantine_object(&st, "../x", -1, q, sizeof(q)), -EINVAL);

	fd = stage_with(&st, "partial", name);
	CHECK_EQ_INT(mfs_store_discard(&st, name), 0);
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/staging"), name);
	CHECK(!exists(path));
	CHECK_EQ_INT(mfs_store_discard(&st, name), -ENOENT);
	close(fd);
	mfs_store_release(&st);
	unit_tmp_remove();
}

static void test_clear_staging_spares_live_writers(void)
{
	char mine[MFS_STAGING_NAME_MAX], theirs[MFS_STAGING_NAME_MAX], path[600];
	int to_child[2], to_parent[2], fd, status;
	struct mfs_store st;
	char go = 0;
	pid_t pid;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	CHECK_EQ_INT(pipe(to_child), 0);
	CHECK_EQ_INT(pipe(to_parent), 0);
	pid = fork();
	if (pid == 0) {
		int cfd = mfs_store_stage(&st, OBJ, theirs, sizeof(theirs));

		if (cfd < 0 || write(to_parent[1], theirs, sizeof(theirs)) != sizeof(theirs) ||
		    read(to_child[0], &go, 1) != 1)
			_exit(1);
		_exit(0);
	}
	CHECK(pid > 0);
	close(to_child[0]);
	close(to_parent[1]);
	CHECK_EQ_INT(read(to_parent[0], theirs, sizeof(theirs)), sizeof(theirs));

	fd = stage_with(&st, "in flight", mine);
	write_file(unit_at("store/staging/" OBJ ".1.1.part"), "crash leftover");
	write_file(unit_at("secret"), "outside");
	CHECK_EQ_INT(symlink("../../secret", unit_at("store/staging/planted")), 0);
	CHECK_EQ_INT(mkfifo(unit_at("store/staging/fifo"), 0600), 0);

	CHECK_EQ_INT(mfs_store_clear_staging(&st), 3);
	CHECK(!exists(unit_at("store/staging/" OBJ ".1.1.part")));
	CHECK(!exists(unit_at("store/staging/planted")));
	CHECK(!exists(unit_at("store/staging/fifo")));
	CHECK(exists(unit_at("secret")));
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/staging"), mine);
	CHECK(exists(path));
	CHECK(fd_has(fd, "in flight"));
	snprintf(path, sizeof(path), "%s/%s", unit_at("store/staging"), theirs);
	CHECK(exists(path));

	/* The child's download is still live: after it ends, it is a leftover. */
	CHECK_EQ_INT(write(to_child[1], &go, 1), 1);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(mfs_store_clear_staging(&st), 1);
	CHECK(!exists(path));
	close(fd);
	CHECK_EQ_INT(mfs_store_clear_staging(&st), 1);
	CHECK_EQ_INT(mfs_store_clear_staging(&st), 0);

	close(to_child[1]);
	close(to_parent[0]);
	mfs_store_release(&st);
	unit_tmp_remove();
}

/* The pid written in the store's daemon.lock, or -1. */
static long lock_pid(void)
{
	char text[32] = "";
	int fd = open(unit_at("store/daemon.lock"), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(text, NULL, 10) : -1;
}

static void test_daemon_lock(void)
{
	struct mfs_store st, other;
	long holder = -1;
	int status;
	pid_t pid;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	CHECK_EQ_INT(mfs_store_lock_daemon(&st, &holder), 0);
	CHECK(st.lock_fd >= 0);
	CHECK_EQ_INT(unit_mode_of(unit_at("store/daemon.lock")), 0600);
	CHECK_EQ_INT(lock_pid(), getpid());

	pid = fork();
	if (pid == 0) {
		long h = 0;
		int rc;

		if (mfs_store_open(&other, unit_at("store")) < 0)
			_exit(2);
		rc = mfs_store_lock_daemon(&other, &h);
		mfs_store_release(&other);
		_exit(rc == -EBUSY && h == (long)getppid() ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A daemonized child keeps the lock and records its own pid. */
	pid = fork();
	if (pid == 0)
		_exit(mfs_store_note_pid(&st) == 0 ? 0 : 1);
	CHECK(pid > 0);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ_INT(lock_pid(), pid);
	CHECK_EQ_INT(mfs_store_note_pid(&st), 0);
	CHECK_EQ_INT(lock_pid(), getpid());

	/* Releasing the store drops the lock. */
	mfs_store_release(&st);
	CHECK_EQ_INT(mfs_store_open(&other, unit_at("store")), 0);
	CHECK_EQ_INT(mfs_store_lock_daemon(&other, &holder), 0);
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	CHECK_EQ_INT(mfs_store_lock_daemon(&st, &holder), -EBUSY);
	CHECK_EQ_INT(holder, getpid());
	CHECK_EQ_INT(st.lock_fd, -1);
	CHECK_EQ_INT(mfs_store_note_pid(&st), -EINVAL);
	mfs_store_release(&st);
	mfs_store_release(&other);
	unit_tmp_remove();
}

static void test_object_name(void)
{
	static const char h40[] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
	static const char h64[] = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
	static const char h128[] =
		"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
	struct mfs_digests d = { 0 };
	char buf[MFS_STORE_OBJECT_NAME_MAX], want[MFS_STORE_OBJECT_NAME_MAX], small[12];

	/* no digest, no name */
	memset(buf, 'x', sizeof(buf));
	mfs_store_object_name(&d, buf, sizeof(buf));
	CHECK_STR(buf, "");
	mfs_store_object_name(&d, buf, 0);

	CHECK_EQ_INT(mfs_hex_decode(h40, d.d[MFS_SHA1], 20), 0);
	d.mask = MFS_ALGO_BIT(MFS_SHA1);
	mfs_store_object_name(&d, buf, sizeof(buf));
	snprintf(want, sizeof(want), "sha1-%s", h40);
	CHECK_STR(buf, want);

	/* the strongest names it, in lowercase */
	CHECK_EQ_INT(mfs_hex_decode(h64, d.d[MFS_SHA256], 32), 0);
	d.mask |= MFS_ALGO_BIT(MFS_SHA256);
	mfs_store_object_name(&d, buf, sizeof(buf));
	CHECK_STR(buf, "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	CHECK_EQ_INT(mfs_hex_decode(h128, d.d[MFS_SHA512], 64), 0);
	d.mask |= MFS_ALGO_BIT(MFS_SHA512);
	mfs_store_object_name(&d, buf, sizeof(buf));
	snprintf(want, sizeof(want), "sha512-%s", h128);
	CHECK_STR(buf, want);
	/* the longest name fills the buffer exactly */
	CHECK_EQ_INT(strlen(buf) + 1, MFS_STORE_OBJECT_NAME_MAX);
	d.mask = MFS_ALGO_BIT(MFS_SHA512) | MFS_ALGO_BIT(MFS_SHA1);
	mfs_store_object_name(&d, buf, sizeof(buf));
	CHECK_STR(buf, want);

	/* a short buffer gets a cut, terminated name */
	mfs_store_object_name(&d, small, sizeof(small));
	CHECK_STR(small, "sha512-cf83");
}

/* Writes objects/<name> with `size` bytes and the given mtime. */
static void put_object(struct mfs_store *st, const char *name, size_t size, time_t mtime)
{
	struct timespec ts[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
	int fd = openat(st->objects_fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0444);

	CHECK(fd >= 0);
	CHECK_EQ_INT(ftruncate(fd, (off_t)size), 0);
	CHECK_EQ_INT(futimens(fd, ts), 0);
	close(fd);
}

/* Oldest use first; a noted use beats the commit time; eviction removes
 * the object and its state. */
static void test_objects_by_use(void)
{
	struct mfs_store_object *v;
	struct stat before, was;
	struct mfs_store st;
	uint64_t total;
	ssize_t n;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("s")), 0);
	CHECK_EQ_INT(mfs_store_list_objects(&st, &v, &total), 0);
	CHECK(v == NULL && total == 0);
	put_object(&st, "sha256-aa", 100, 1000);
	put_object(&st, "sha256-bb", 200, 2000);
	put_object(&st, "sha256-cc", 300, 3000);
	CHECK_EQ_INT(mkdirat(st.objects_fd, "sha256-dir", 0700), 0); /* not an object */
	CHECK_EQ_INT(mfs_store_note_use(&st, "sha256-aa"), 0);      /* now: the newest */
	n = mfs_store_list_objects(&st, &v, &total);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(total, 600);
	if (n == 3) {
		CHECK_STR(v[0].name, "sha256-bb");
		CHECK_STR(v[1].name, "sha256-cc");
		CHECK_STR(v[2].name, "sha256-aa");
		CHECK_EQ_INT(v[0].size, 200);
	}
	free(v);
	CHECK_EQ_INT(mfs_store_set_failure(&st, "sha256-aa", 2, 12345), 0);
	CHECK_EQ_INT(stat(unit_at("s/objects/sha256-aa"), &before), 0);
	CHECK_EQ_INT(mfs_store_evict(&st, "sha256-aa", &was), 0);
	/* Whoever registered the inode learns which one left. */
	CHECK_EQ_INT(was.st_ino, before.st_ino);
	CHECK_EQ_INT(was.st_dev, before.st_dev);
	CHECK(!exists(unit_at("s/objects/sha256-aa")));
	CHECK(!exists(unit_at("s/state/sha256-aa.used")));
	CHECK(!exists(unit_at("s/state/sha256-aa.fail")));
	CHECK_EQ_INT(mfs_store_evict(&st, "sha256-aa", NULL), -ENOENT);
	CHECK_EQ_INT(mfs_store_evict(&st, "../x", NULL), -EINVAL);
	CHECK_EQ_INT(mfs_store_note_use(&st, "a/b"), -EINVAL);
	mfs_store_release(&st);
	unit_tmp_remove();
}

static void test_failure_records(void)
{
	struct mfs_store st;
	unsigned count = 0;
	time_t until = 0;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("s")), 0);
	CHECK_EQ_INT(mfs_store_get_failure(&st, OBJ, &count, &until), -ENOENT);
	CHECK_EQ_INT(mfs_store_set_failure(&st, OBJ, 3, 1796000000), 0);
	CHECK_EQ_INT(mfs_store_get_failure(&st, OBJ, &count, &until), 0);
	CHECK_EQ_INT(count, 3);
	CHECK_EQ_INT(until, 1796000000);
	/* Replaced whole, never appended to. */
	CHECK_EQ_INT(mfs_store_set_failure(&st, OBJ, 4, 1796000010), 0);
	CHECK_EQ_INT(mfs_store_get_failure(&st, OBJ, &count, &until), 0);
	CHECK_EQ_INT(count, 4);
	CHECK_EQ_INT(until, 1796000010);
	CHECK_EQ_INT(unit_mode_of(unit_at("s/state/" OBJ ".fail")), 0600);
	/* A torn or foreign file is no record. */
	write_file(unit_at("s/state/" OBJ ".fail"), "garbage\n");
	CHECK_EQ_INT(mfs_store_get_failure(&st, OBJ, &count, &until), -ENOENT);
	CHECK_EQ_INT(mfs_store_clear_failure(&st, OBJ), 0);
	CHECK_EQ_INT(mfs_store_clear_failure(&st, OBJ), 0);
	CHECK(!exists(unit_at("s/state/" OBJ ".fail")));
	mfs_store_release(&st);
	unit_tmp_remove();
}

static unsigned drops;
static uint64_t dropped_bytes;

static void on_drop(void *arg, const char *name, uint64_t bytes)
{
	drops++;
	dropped_bytes += bytes;
}

/* The newest files that fit stay; from the first that does not, all
 * older go. */
static void test_trim_quarantine(void)
{
	struct timespec ts[2];
	struct mfs_store st;
	const struct { const char *name; size_t size; time_t t; } q[] = {
		{ "q1", 100, 1000 }, { "q2", 300, 2000 }, { "q3", 50, 3000 }, { "q4", 200, 4000 },
	};

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("s")), 0);
	for (size_t i = 0; i < 4; i++) {
		int fd = openat(st.quarantine_fd, q[i].name, O_WRONLY | O_CREAT, 0400);

		CHECK_EQ_INT(ftruncate(fd, (off_t)q[i].size), 0);
		ts[0].tv_sec = ts[1].tv_sec = q[i].t;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		CHECK_EQ_INT(futimens(fd, ts), 0);
		close(fd);
	}
	CHECK_EQ_INT(mfs_store_trim_quarantine(&st, 1000, on_drop, NULL), 0);
	CHECK_EQ_INT(drops, 0);
	/* 300: q4 (200) and q3 (50) fit, q2 (300) does not; q2 and q1 go. */
	CHECK_EQ_INT(mfs_store_trim_quarantine(&st, 300, on_drop, NULL), 2);
	CHECK_EQ_INT(drops, 2);
	CHECK_EQ_INT(dropped_bytes, 400);
	CHECK(exists(unit_at("s/quarantine/q4")) && exists(unit_at("s/quarantine/q3")));
	CHECK(!exists(unit_at("s/quarantine/q2")) && !exists(unit_at("s/quarantine/q1")));
	CHECK_EQ_INT(mfs_store_trim_quarantine(&st, 0, NULL, NULL), 2);
	CHECK_EQ_INT(mfs_store_trim_quarantine(&st, 0, NULL, NULL), 0);
	mfs_store_release(&st);
	unit_tmp_remove();
}

/* The names the SBOM looks a model up by: an archive's, a kept bundle's
 * key (the SHA-256 of url NUL section NUL, as signature.c keeps it). */
static void test_archive_and_bundle_names(void)
{
	char name[MFS_STORE_OBJECT_NAME_MAX], key[32];

	mfs_store_archive_name("facenet", name, sizeof(name));
	CHECK_STR(name, "archive-facenet");
	CHECK_EQ_INT(mfs_store_bundle_key("https://h/m.sig", "m", key, sizeof(key)), 0);
	/* python3 -c "import hashlib; print(hashlib.sha256(b'https://h/m.sig\0m\0')
	 * .hexdigest()[:16])" */
	CHECK_STR(key, "sig-be95076f3cdfc905");
	CHECK_EQ_INT(mfs_store_bundle_key("https://h/m.sig", "m", key, 20), -EINVAL);
}

/* Quarantined copies are counted by exact name: three numbers after it,
 * so "a" is not "a.1"'s; the newest time is the one in the names. */
static void test_quarantined(void)
{
	char name[MFS_STAGING_NAME_MAX];
	struct mfs_store st;
	struct stat sb;
	unsigned n;
	time_t t;
	int fd;

	unit_tmp_make("store");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	CHECK_EQ_INT(mfs_store_quarantined(&st, OBJ, &n, &t), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(t, 0);
	fd = stage_with(&st, "bad", name);
	CHECK_EQ_INT(mfs_store_quarantine_staged(&st, name, OBJ, NULL, 0), 0);
	close(fd);
	write_file(unit_at("store/quarantine/" OBJ ".2000000000.1.7"), "older name, newer time");
	write_file(unit_at("store/quarantine/archive-a.1.100.2.3"), "a.1's");
	write_file(unit_at("store/quarantine/archive-a.100.2.3"), "a's");
	write_file(unit_at("store/quarantine/archive-a.100.2"), "not ours");
	write_file(unit_at("store/quarantine/archive-a.100.2.x"), "not ours");
	write_file(unit_at("store/quarantine/archive-ab.100.2.3"), "ab's");
	CHECK_EQ_INT(mfs_store_quarantined(&st, OBJ, &n, &t), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(t, 2000000000);
	CHECK_EQ_INT(mfs_store_quarantined(&st, "archive-a", &n, &t), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(t, 100);
	CHECK_EQ_INT(mfs_store_quarantined(&st, "archive-a.1", &n, &t), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(mfs_store_quarantined(&st, "../x", &n, &t), -EINVAL);

	CHECK_EQ_INT(mfs_store_stat_object(&st, OBJ, &sb), -ENOENT);
	fd = stage_with(&st, "good", name);
	CHECK_EQ_INT(mfs_store_commit(&st, fd, name, OBJ, false), 0);
	close(fd);
	CHECK_EQ_INT(mfs_store_stat_object(&st, OBJ, &sb), 0);
	CHECK_EQ_INT(sb.st_size, 4);
	CHECK_EQ_INT(mkdirat(st.objects_fd, "sha256-dir", 0700), 0);
	CHECK_EQ_INT(mfs_store_stat_object(&st, "sha256-dir", &sb), -EINVAL);
	CHECK_EQ_INT(symlinkat(OBJ, st.objects_fd, "sha256-link"), 0);
	CHECK_EQ_INT(mfs_store_stat_object(&st, "sha256-link", &sb), -EINVAL);
	mfs_store_release(&st);
	unit_tmp_remove();
}

int main(void)
{
	umask(022);
	RUN(test_object_name);
	RUN(test_open_creates_private_layout);
	RUN(test_release_zeroed_store);
	RUN(test_open_refuses_symlink);
	RUN(test_stage_commit);
	RUN(test_open_object_errors);
	RUN(test_quarantine_and_discard);
	RUN(test_clear_staging_spares_live_writers);
	RUN(test_daemon_lock);
	RUN(test_objects_by_use);
	RUN(test_failure_records);
	RUN(test_trim_quarantine);
	RUN(test_archive_and_bundle_names);
	RUN(test_quarantined);
	return unit_done();
}
