/* Unit tests for fs/unpack.c over real zips made by Python's zipfile:
 * each member goes where the caller says (a file, the hasher only, or
 * nowhere), with its digests; limits, unlisted members, callback errors
 * and stopping end the walk. */
#include "unit.h"
#include "unpack.h"
#include "zipmk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#define MIB (1u << 20)

static unsigned char pattern_byte(size_t i, unsigned seed)
{
	return (unsigned char)((i * 13 + seed + i / 509) & 255);
}

/* tmp/t.zip with a.bin (2 MiB + 5, deflated), b.bin (1000, stored) and
 * c.bin (70000, deflated), each of its pattern; returns an fd on it. */
static int make_zip(void)
{
	return open(mkzip("t.zip",
			  "def ps(n, s): return bytes((i * 13 + s + i // 509) & 255 for i in range(n))\n"
			  "df('a.bin', ps(2 * 1048576 + 5, 1))\n"
			  "st('b.bin', ps(1000, 2))\n"
			  "df('c.bin', ps(70000, 3))\n"), O_RDONLY);
}

static const struct { const char *name; size_t len; unsigned seed; } members[] = {
	{ "a.bin", 2 * MIB + 5, 1 }, { "b.bin", 1000, 2 }, { "c.bin", 70000, 3 },
};

/* What the test asks per member, and what it saw. */
struct plan {
	int fd[3];              /* -1: not written */
	unsigned mask[3];
	uint64_t limit[3];      /* 0: the member's own size */
	bool unlisted[3];       /* entry answers -ENOENT */
	int end_rc;             /* returned from end() for b.bin */
	int entries, ends[3];
	uint64_t bytes[3];
	struct mfs_digests got[3];
};

static int index_of(const char *name)
{
	for (int i = 0; i < 3; i++) {
		if (!strcmp(name, members[i].name))
			return i;
	}
	return -1;
}

static int on_entry(void *arg, const char *name, int64_t size, struct mfs_unpack_member *m)
{
	struct plan *p = arg;
	int i = index_of(name);

	p->entries++;
	CHECK(m->fd == -1 && m->mask == 0);
	if (i < 0 || p->unlisted[i])
		return -ENOENT;
	m->fd = p->fd[i];
	m->mask = p->mask[i];
	m->limit = p->limit[i] ? p->limit[i] : members[i].len;
	return i;
}

static int on_end(void *arg, int id, uint64_t bytes, const struct mfs_digests *got)
{
	struct plan *p = arg;

	p->ends[id]++;
	p->bytes[id] = bytes;
	p->got[id] = *got;
	return id == 1 ? p->end_rc : 0;
}

static const struct mfs_unpack_ops ops = { on_entry, on_end };
static const struct mfs_extract_limits lim = { .max_entries = 10, .max_total = 8 * MIB };

static bool digest_is(const struct mfs_digests *got, int i)
{
	unsigned char *b = malloc(members[i].len);
	struct mfs_digests want;
	struct mfs_hasher *h;
	bool same;

	for (size_t k = 0; k < members[i].len; k++)
		b[k] = pattern_byte(k, members[i].seed);
	mfs_hasher_new(MFS_ALGO_BIT(MFS_SHA256), &h);
	mfs_hasher_update(h, b, members[i].len);
	mfs_hasher_final(h, &want);
	mfs_hasher_free(h);
	free(b);
	same = mfs_digests_match(&want, got, NULL);
	return same;
}

static bool file_is(int fd, int i)
{
	size_t len = members[i].len;
	unsigned char *b = malloc(len + 1);
	bool same = pread(fd, b, len + 1, 0) == (ssize_t)len;

	for (size_t k = 0; same && k < len; k++)
		same = b[k] == pattern_byte(k, members[i].seed);
	free(b);
	return same;
}

static void init_plan(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 3; i++)
		p->fd[i] = -1;
}

/* a.bin to a file and hashed, b.bin hashed only, c.bin walked over. */
static void test_members_where_asked(void)
{
	struct plan p;
	char err[256];
	int zfd, out;

	unit_tmp_make("unpack");
	zfd = make_zip();
	CHECK(zfd >= 0);
	out = open(unit_at("a.out"), O_RDWR | O_CREAT, 0600);
	init_plan(&p);
	p.fd[0] = out;
	p.mask[0] = MFS_ALGO_BIT(MFS_SHA256);
	p.mask[1] = MFS_ALGO_BIT(MFS_SHA256);
	CHECK_EQ_INT(mfs_unpack_run(zfd, &lim, &ops, &p, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(p.entries, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(p.ends[i], 1);
		CHECK_EQ_INT(p.bytes[i], members[i].len);
	}
	CHECK(file_is(out, 0));
	CHECK(digest_is(&p.got[0], 0));
	CHECK(digest_is(&p.got[1], 1));
	CHECK_EQ_INT(p.got[2].mask, 0);
	close(out);
	close(zfd);
	unit_tmp_remove();
}

static void test_limits_and_refusals(void)
{
	struct plan p;
	char err[256];
	struct mfs_cancel stop;
	int zfd;

	unit_tmp_make("unpack");
	zfd = make_zip();
	CHECK(zfd >= 0);

	init_plan(&p);
	p.limit[0] = MIB;  /* a.bin holds 2 MiB + 5 */
	p.mask[0] = MFS_ALGO_BIT(MFS_SHA256);
	CHECK_EQ_INT(mfs_unpack_run(zfd, &lim, &ops, &p, NULL, err, sizeof(err)), -EFBIG);
	CHECK_CONTAINS(err, "a.bin");

	init_plan(&p);
	p.unlisted[2] = true;
	CHECK_EQ_INT(mfs_unpack_run(zfd, &lim, &ops, &p, NULL, err, sizeof(err)), -EPERM);
	CHECK_CONTAINS(err, "unlisted member 'c.bin'");

	init_plan(&p);
	p.end_rc = -EPROTO;
	CHECK_EQ_INT(mfs_unpack_run(zfd, &lim, &ops, &p, NULL, err, sizeof(err)), -EPROTO);
	CHECK_EQ_INT(p.ends[2], 0);

	init_plan(&p);
	p.mask[0] = MFS_ALGO_BIT(MFS_SHA256);
	mfs_cancel_init(&stop);
	mfs_cancel_fire(&stop);
	CHECK_EQ_INT(mfs_unpack_run(zfd, &lim, &ops, &p, &stop, err, sizeof(err)), -ECANCELED);
	mfs_cancel_release(&stop);
	CHECK_EQ_INT(p.ends[0], 0);

	/* A member that cannot be written stops the walk with the errno. */
	init_plan(&p);
	p.fd[1] = open(unit_at("t.zip"), O_RDONLY);
	CHECK_EQ_INT(mfs_unpack_run(zfd, &lim, &ops, &p, NULL, err, sizeof(err)), -EBADF);
	close(p.fd[1]);
	close(zfd);
	unit_tmp_remove();
}

int main(void)
{
	RUN(test_members_where_asked);
	RUN(test_limits_and_refusals);
	return unit_done();
}
