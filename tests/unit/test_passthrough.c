/* Unit tests for fs/passthrough.c: the INIT and OPEN frames the hooks see
 * and what the "kernel" (a pipe) receives, however libfuse splits a reply
 * into iovecs; backing ids without /dev/fuse.
 *
 * Frames are built from the protocol's byte offsets, spelled out here
 * rather than taken from <linux/fuse.h>, so that a wrong offset in the
 * module cannot agree with a wrong offset in the test. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "passthrough.h"
#include "unit.h"

/* fuse_in_header: len 0, opcode 4, unique 8, nodeid 16, uid 24, gid 28,
 * pid 32, padding 36; 40 bytes.  fuse_out_header: len 0, error 4,
 * unique 8; 16 bytes. */
#define IN_HDR           40
#define OUT_HDR          16
#define OP_INIT          26
#define OP_OPEN          14
/* fuse_init_in: major 0, minor 4, max_readahead 8, flags 12, flags2 16,
 * unused[11]; 64 bytes. */
#define INIT_IN_SIZE     64
#define INIT_EXT         (1u << 30)
#define PT_FLAG2         (1u << 5)           /* FUSE_PASSTHROUGH >> 32 */
/* fuse_init_out: flags 12, flags2 32, max_stack_depth 36; 64 bytes. */
#define INIT_OUT_SIZE    64
#define INIT_OUT_FLAGS   (OUT_HDR + 12)
#define INIT_OUT_FLAGS2  (OUT_HDR + 32)
#define INIT_OUT_DEPTH   (OUT_HDR + 36)
/* fuse_open_out: fh 0, open_flags 8, backing_id 12; 16 bytes. */
#define OPEN_OUT_SIZE    16
#define OPEN_OUT_FLAGS   (OUT_HDR + 8)
#define OPEN_OUT_BACKING (OUT_HDR + 12)
#define KEEP_CACHE       (1u << 1)
#define CACHE_DIR        (1u << 3)
#define FOPEN_PT         (1u << 7)

#define BIG 512

static void put32(unsigned char *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static void put64(unsigned char *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static uint32_t get32(const unsigned char *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/* An INIT request of `len` bytes (at most IN_HDR + INIT_IN_SIZE). */
static size_t init_request(unsigned char *b, size_t len, uint64_t unique, uint32_t flags,
			   uint32_t flags2)
{
	memset(b, 0, IN_HDR + INIT_IN_SIZE);
	put32(b, 0, (uint32_t)len);
	put32(b, 4, OP_INIT);
	put64(b, 8, unique);
	put32(b, IN_HDR + 0, 7);
	put32(b, IN_HDR + 4, 45);
	put32(b, IN_HDR + 8, 131072);
	put32(b, IN_HDR + 12, flags);
	put32(b, IN_HDR + 16, flags2);
	return len;
}

/* libfuse 3.14's INIT reply: every byte set, so that a stray write shows.
 * `payload` 0: an error reply, header only. */
static size_t init_reply(unsigned char *b, uint64_t unique, int32_t error, uint32_t flags,
			 size_t payload)
{
	for (size_t i = 0; i < OUT_HDR + INIT_OUT_SIZE; i++)
		b[i] = (unsigned char)(0xa0 + i);
	put32(b, 0, (uint32_t)(OUT_HDR + payload));
	put32(b, 4, (uint32_t)error);
	put64(b, 8, unique);
	if (payload >= 16)
		put32(b, INIT_OUT_FLAGS, flags);
	if (payload >= 40) {
		put32(b, INIT_OUT_FLAGS2, 0x00000101); /* libfuse's own flags2 bits */
		put32(b, INIT_OUT_DEPTH, 0);
	}
	return OUT_HDR + payload;
}

static size_t open_reply(unsigned char *b, uint64_t unique, int32_t error, size_t payload)
{
	memset(b, 0, OUT_HDR + OPEN_OUT_SIZE);
	put32(b, 0, (uint32_t)(OUT_HDR + payload));
	put32(b, 4, (uint32_t)error);
	put64(b, 8, unique);
	if (payload >= 8)
		put64(b, OUT_HDR, 0x1122334455667788ull);   /* fh */
	if (payload >= 16)
		put32(b, OPEN_OUT_FLAGS, KEEP_CACHE | CACHE_DIR);
	return OUT_HDR + payload;
}

/* The kernel's side of /dev/fuse. */
struct chan {
	int rd, wr;
};

static void chan_open(struct chan *c)
{
	int fds[2];

	if (pipe(fds) != 0) {
		perror("pipe");
		exit(1);
	}
	c->rd = fds[0];
	c->wr = fds[1];
}

static void chan_close(struct chan *c)
{
	close(c->rd);
	close(c->wr);
}

/* The kernel sends `req`; libfuse reads it through the hook, which must
 * hand it over unchanged. */
static void kernel_sends(struct mfs_passthrough *pt, const unsigned char *req, size_t len)
{
	struct chan c;
	unsigned char got[BIG];

	chan_open(&c);
	CHECK_EQ_INT(write(c.wr, req, len), (long long)len);
	CHECK_EQ_INT(mfs_passthrough_read(pt, c.rd, got, sizeof(got)), (long long)len);
	CHECK(memcmp(got, req, len) == 0);
	chan_close(&c);
}

/* libfuse writes `frame` through the hook, cut at `cuts` (offsets into
 * the frame; equal cuts make empty iovecs), each piece a copy in a buffer
 * of its own with junk around it, so that a piece is never found by
 * reading past the one before; `got` receives what the kernel reads.
 * Returns its length. */
#define GAP 8
static size_t libfuse_writes(struct mfs_passthrough *pt, const unsigned char *frame, size_t len,
			     const size_t *cuts, int ncuts, unsigned char *got)
{
	static unsigned char pieces[BIG * (1 + 2 * GAP)];
	struct iovec iov[BIG + 1];
	struct chan c;
	unsigned char *at = pieces;
	size_t from = 0;
	ssize_t n;
	int count = 0;

	memset(pieces, 0xee, sizeof(pieces));
	for (int i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		at += GAP;
		memcpy(at, frame + from, to - from);
		iov[count].iov_base = at;
		iov[count].iov_len = to - from;
		at += to - from + GAP;
		count++;
		from = to;
	}
	chan_open(&c);
	CHECK_EQ_INT(mfs_passthrough_writev(pt, c.wr, iov, count), (long long)len);
	n = read(c.rd, got, BIG);
	chan_close(&c);
	CHECK_EQ_INT(n, (long long)len);
	return n < 0 ? 0 : (size_t)n;
}

static size_t write_whole(struct mfs_passthrough *pt, const unsigned char *frame, size_t len,
			  unsigned char *got)
{
	return libfuse_writes(pt, frame, len, NULL, 0, got);
}

/* A passthrough context whose INIT request, offering passthrough with
 * unique 7, has been read. */
static struct mfs_passthrough *offered(void)
{
	struct mfs_passthrough *pt;
	unsigned char req[BIG];

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	kernel_sends(pt, req, init_request(req, IN_HDR + INIT_IN_SIZE, 7, INIT_EXT, PT_FLAG2));
	return pt;
}

/* `got` is `want` with passthrough asked for: flags2 bit 5 and stack
 * depth 1, every other byte as libfuse wrote it. */
static void check_init_patched(const unsigned char *got, const unsigned char *want, size_t len)
{
	unsigned char expect[BIG];

	memcpy(expect, want, len);
	put32(expect, INIT_OUT_FLAGS2, get32(want, INIT_OUT_FLAGS2) | PT_FLAG2);
	put32(expect, INIT_OUT_DEPTH, 1);
	CHECK(memcmp(got, expect, len) == 0);
	CHECK_EQ_INT(get32(got, INIT_OUT_FLAGS2), 0x101 | PT_FLAG2);
	CHECK_EQ_INT(get32(got, INIT_OUT_DEPTH), 1);
}

/* ---------------------------------------------------------------- stderr */

static FILE *cap_file;
static int cap_saved = -1;

/* Logs are seen only while captured (main turns them down to errors). */
static void capture_begin(void)
{
	mfs_log_set_level(MFS_LOG_INFO);
	fflush(stderr);
	cap_file = tmpfile();
	cap_saved = dup(2);
	if (!cap_file || cap_saved < 0 || dup2(fileno(cap_file), 2) < 0) {
		perror("capture");
		exit(1);
	}
}

/* What was logged since capture_begin (static buffer). */
static const char *capture_end(void)
{
	static char text[4096];
	size_t n;

	fflush(stderr);
	mfs_log_set_level(MFS_LOG_ERR);
	dup2(cap_saved, 2);
	close(cap_saved);
	rewind(cap_file);
	n = fread(text, 1, sizeof(text) - 1, cap_file);
	text[n] = '\0';
	fclose(cap_file);
	return text;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---------------------------------------------------------------- INIT */

static void test_init_offered_is_asked_for(void)
{
	struct mfs_passthrough *pt = offered();
	unsigned char reply[BIG], got[BIG];
	size_t len = init_reply(reply, 7, 0, INIT_EXT | 1u, INIT_OUT_SIZE);
	const char *log;

	capture_begin();
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	log = capture_end();
	check_init_patched(got, reply, len);
	CHECK_CONTAINS(log, "FUSE passthrough negotiated");
	/* Only the first INIT reply is patched. */
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_free(pt);
}

/* The request alone decides: each of these leaves the reply untouched. */
static void init_not_offered(size_t reqlen, uint32_t flags, uint32_t flags2, bool want,
			     int logged)
{
	struct mfs_passthrough *pt;
	unsigned char req[BIG], reply[BIG], got[BIG];
	size_t len = init_reply(reply, 7, 0, INIT_EXT, INIT_OUT_SIZE);
	const char *log;

	CHECK_EQ_INT(mfs_passthrough_new(want, &pt), 0);
	capture_begin();
	kernel_sends(pt, req, init_request(req, reqlen, 7, flags, flags2));
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	log = capture_end();
	CHECK(memcmp(got, reply, len) == 0);
	CHECK_EQ_INT(count_of(log, "does not offer FUSE passthrough"), logged);
	CHECK_EQ_INT(count_of(log, "negotiated"), 0);
	mfs_passthrough_free(pt);
}

static void test_init_without_passthrough_bit(void)
{
	init_not_offered(IN_HDR + INIT_IN_SIZE, INIT_EXT, 1u << 4 | 1u << 6, true, 1);
}

static void test_init_bit_without_init_ext(void)
{
	init_not_offered(IN_HDR + INIT_IN_SIZE, 0, PT_FLAG2, true, 1);
}

static void test_init_truncated_request(void)
{
	/* Cut before flags2, and inside it: the bit is never seen. */
	init_not_offered(IN_HDR + 16, INIT_EXT, PT_FLAG2, true, 1);
	init_not_offered(IN_HDR + 19, INIT_EXT, PT_FLAG2, true, 1);
	/* Not even a whole header: not looked at. */
	init_not_offered(IN_HDR - 1, INIT_EXT, PT_FLAG2, true, 0);
}

static void test_init_not_wanted(void)
{
	init_not_offered(IN_HDR + INIT_IN_SIZE, INIT_EXT, PT_FLAG2, false, 0);
}

static void test_init_must_be_first_request(void)
{
	struct mfs_passthrough *pt;
	unsigned char req[BIG], reply[BIG], got[BIG];
	size_t len = init_reply(reply, 7, 0, INIT_EXT, INIT_OUT_SIZE);

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	init_request(req, IN_HDR + INIT_IN_SIZE, 7, INIT_EXT, PT_FLAG2);
	put32(req, 4, OP_OPEN);
	kernel_sends(pt, req, IN_HDR + INIT_IN_SIZE);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_free(pt);
}

static void test_init_reply_other_unique_untouched(void)
{
	struct mfs_passthrough *pt = offered();
	unsigned char reply[BIG], got[BIG];
	size_t len = init_reply(reply, 8, 0, INIT_EXT, INIT_OUT_SIZE);

	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	/* Still waiting for the real one. */
	len = init_reply(reply, 7, 0, INIT_EXT, INIT_OUT_SIZE);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	check_init_patched(got, reply, len);
	mfs_passthrough_free(pt);
}

static void test_init_error_reply_untouched(void)
{
	struct mfs_passthrough *pt = offered();
	unsigned char reply[BIG], got[BIG];
	size_t len = init_reply(reply, 7, -EPROTO, INIT_EXT, 0);

	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	/* An error reply with a payload (not libfuse's, but possible on the
	 * wire) is not touched either. */
	len = init_reply(reply, 7, -EPROTO, INIT_EXT, INIT_OUT_SIZE);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_free(pt);
}

static void test_init_reply_short_or_without_ext_untouched(void)
{
	struct mfs_passthrough *pt = offered();
	unsigned char reply[BIG], got[BIG];
	/* libfuse's reply to a kernel older than 7.23: 24 bytes. */
	size_t len = init_reply(reply, 7, 0, INIT_EXT, 24);
	const char *log;

	capture_begin();
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	log = capture_end();
	CHECK(memcmp(got, reply, len) == 0);
	CHECK_EQ_INT(count_of(log, "cannot ask for FUSE passthrough"), 1);
	CHECK_EQ_INT(count_of(log, "negotiated"), 0);
	/* One byte short of the stack depth. */
	mfs_passthrough_free(pt);
	pt = offered();
	len = init_reply(reply, 7, 0, INIT_EXT, 39);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	/* libfuse did not answer with FUSE_INIT_EXT: flags2 means nothing. */
	mfs_passthrough_free(pt);
	pt = offered();
	len = init_reply(reply, 7, 0, 1u, INIT_OUT_SIZE);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_free(pt);
}

static void test_init_reply_any_iovec_split(void)
{
	static const size_t splits[][4] = {
		{ OUT_HDR },                            /* libfuse 3.14's */
		{ 5 },                                  /* header cut */
		{ OUT_HDR, OUT_HDR + 34 },              /* payload cut inside flags2 */
		{ OUT_HDR, OUT_HDR + 38 },              /* ... inside max_stack_depth */
		{ 0, OUT_HDR, OUT_HDR, OUT_HDR + 36 },  /* empty iovecs */
	};
	static const int nsplits[] = { 1, 1, 2, 2, 4 };
	unsigned char reply[BIG], got[BIG];
	size_t len = init_reply(reply, 7, 0, INIT_EXT, INIT_OUT_SIZE);
	size_t bytewise[OUT_HDR + INIT_OUT_SIZE - 1];
	struct mfs_passthrough *pt;

	for (size_t i = 0; i < sizeof(nsplits) / sizeof(nsplits[0]); i++) {
		pt = offered();
		CHECK_EQ_INT(libfuse_writes(pt, reply, len, splits[i], nsplits[i], got),
			     (long long)len);
		check_init_patched(got, reply, len);
		mfs_passthrough_free(pt);
	}
	for (size_t i = 0; i < len - 1; i++)
		bytewise[i] = i + 1;
	pt = offered();
	CHECK_EQ_INT(libfuse_writes(pt, reply, len, bytewise, (int)(len - 1), got), (long long)len);
	check_init_patched(got, reply, len);
	mfs_passthrough_free(pt);
}

/* ---------------------------------------------------------------- OPEN */

static void check_open_patched(const unsigned char *got, const unsigned char *want, int id)
{
	unsigned char expect[OUT_HDR + OPEN_OUT_SIZE];

	memcpy(expect, want, sizeof(expect));
	put32(expect, OPEN_OUT_FLAGS, (get32(want, OPEN_OUT_FLAGS) | FOPEN_PT) & ~KEEP_CACHE);
	put32(expect, OPEN_OUT_BACKING, (uint32_t)id);
	CHECK(memcmp(got, expect, sizeof(expect)) == 0);
	CHECK_EQ_INT(get32(got, OPEN_OUT_FLAGS), FOPEN_PT | CACHE_DIR);
	CHECK_EQ_INT(get32(got, OPEN_OUT_BACKING), id);
}

static void test_open_armed_and_not(void)
{
	struct mfs_passthrough *pt;
	unsigned char reply[BIG], got[BIG];
	size_t len = open_reply(reply, 99, 0, OPEN_OUT_SIZE);

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_arm(5);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	mfs_passthrough_arm(0);
	check_open_patched(got, reply, 5);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_free(pt);
}

static void test_open_error_reply_untouched(void)
{
	struct mfs_passthrough *pt;
	unsigned char reply[BIG], got[BIG];
	size_t len = open_reply(reply, 99, -EIO, 0);

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	mfs_passthrough_arm(5);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	len = open_reply(reply, 99, -EIO, OPEN_OUT_SIZE);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	mfs_passthrough_arm(0);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_free(pt);
}

static void test_open_wrong_size_untouched_logged_once(void)
{
	struct mfs_passthrough *pt;
	unsigned char reply[BIG], got[BIG];
	size_t len;
	const char *log;

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	capture_begin();
	mfs_passthrough_arm(5);
	len = open_reply(reply, 99, 0, 12);   /* no room for the backing id */
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	len = open_reply(reply, 99, 0, 8);
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	len = OUT_HDR - 1;                    /* not even a header */
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	CHECK(memcmp(got, reply, len) == 0);
	mfs_passthrough_arm(0);
	log = capture_end();
	CHECK_EQ_INT(count_of(log, "armed OPEN reply"), 1);
	mfs_passthrough_free(pt);
}

static void test_open_any_iovec_split(void)
{
	static const size_t splits[][3] = {
		{ OUT_HDR },                     /* libfuse 3.14's */
		{ OUT_HDR, OUT_HDR + 10 },       /* payload cut inside open_flags */
		{ OUT_HDR, OUT_HDR + 13 },       /* ... inside backing_id */
		{ 3, OUT_HDR + 4, OUT_HDR + 4 }, /* header cut, an empty iovec */
	};
	static const int nsplits[] = { 1, 2, 2, 3 };
	struct mfs_passthrough *pt;
	unsigned char reply[BIG], got[BIG];
	size_t len = open_reply(reply, 99, 0, OPEN_OUT_SIZE);
	size_t bytewise[OUT_HDR + OPEN_OUT_SIZE - 1];

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	mfs_passthrough_arm(0x01020304);
	/* Header and payload in one iovec. */
	CHECK_EQ_INT(write_whole(pt, reply, len, got), (long long)len);
	check_open_patched(got, reply, 0x01020304);
	for (size_t i = 0; i < sizeof(nsplits) / sizeof(nsplits[0]); i++) {
		CHECK_EQ_INT(libfuse_writes(pt, reply, len, splits[i], nsplits[i], got),
			     (long long)len);
		check_open_patched(got, reply, 0x01020304);
	}
	for (size_t i = 0; i < len - 1; i++)
		bytewise[i] = i + 1;
	CHECK_EQ_INT(libfuse_writes(pt, reply, len, bytewise, (int)(len - 1), got), (long long)len);
	check_open_patched(got, reply, 0x01020304);
	mfs_passthrough_arm(0);
	mfs_passthrough_free(pt);
}

/* ---------------------------------------------------------------- backing ids */

/* A new file (a new inode) in the scratch directory, open. */
static int object(const char *name)
{
	int fd = open(unit_at(name), O_RDWR | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	return fd;
}

static struct mfs_passthrough *negotiated(void)
{
	struct mfs_passthrough *pt = offered();
	unsigned char reply[BIG], got[BIG];
	size_t len = init_reply(reply, 7, 0, INIT_EXT, INIT_OUT_SIZE);

	capture_begin();
	write_whole(pt, reply, len, got);
	CHECK_CONTAINS(capture_end(), "negotiated");
	return pt;
}

static void test_backing_devfd_not_fuse(void)
{
	struct mfs_passthrough *pt = negotiated();
	struct chan c;
	int a = object("a"), b = object("b");
	const char *log;

	chan_open(&c);
	/* No devfd yet. */
	CHECK_EQ_INT(mfs_passthrough_backing(pt, a), 0);
	mfs_passthrough_set_devfd(pt, c.wr);
	capture_begin();
	CHECK_EQ_INT(mfs_passthrough_backing(pt, a), 0);
	CHECK_EQ_INT(mfs_passthrough_backing(pt, a), 0);
	CHECK_EQ_INT(mfs_passthrough_backing(pt, b), 0);
	log = capture_end();
	/* A pipe has no FUSE ioctls (ENOTTY): the same for every object. */
	CHECK_EQ_INT(count_of(log, "FUSE passthrough refused by the kernel"), 1);
	CHECK_EQ_INT(count_of(log, "passthrough refused"), 1);
	CHECK_CONTAINS(log, strerror(ENOTTY));
	/* Nothing was written to the "device". */
	CHECK_EQ_INT(fcntl(c.rd, F_SETFL, O_NONBLOCK), 0);
	CHECK_EQ_INT(read(c.rd, (char[1]){ 0 }, 1), -1);
	chan_close(&c);
	close(a);
	close(b);
	mfs_passthrough_free(pt);
}

static void test_backing_not_negotiated(void)
{
	struct mfs_passthrough *pt = offered();
	struct chan c;
	int a = object("a");

	chan_open(&c);
	mfs_passthrough_set_devfd(pt, c.wr);
	/* Offered, but the INIT reply has not asked yet. */
	capture_begin();
	CHECK_EQ_INT(mfs_passthrough_backing(pt, a), 0);
	CHECK_EQ_INT(count_of(capture_end(), "refused"), 0);
	chan_close(&c);
	close(a);
	mfs_passthrough_free(pt);
}

struct opener {
	int calls;
	int answer;        /* next answer; > 0 is incremented after use */
	int last_fd;
};

static int fake_open(void *arg, int fd)
{
	struct opener *o = arg;

	o->calls++;
	o->last_fd = fd;
	return o->answer > 0 ? o->answer++ : o->answer;
}

static void test_backing_one_id_per_object(void)
{
	struct mfs_passthrough *pt;
	struct opener o = { .answer = 42 };
	int a = object("a"), b = object("b"), a2;

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	CHECK(mfs_passthrough_negotiate(pt, true));
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 42);
	CHECK_EQ_INT(o.last_fd, a);
	/* Every later open of the object: the same id, no new one. */
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 42);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 42);
	CHECK_EQ_INT(o.calls, 1);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, b, fake_open, &o), 43);
	CHECK_EQ_INT(o.calls, 2);
	/* The object re-verified as another inode: a new id from its fd. */
	unlink(unit_at("a"));
	a2 = object("a");
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a2, fake_open, &o), 44);
	CHECK_EQ_INT(o.last_fd, a2);
	CHECK_EQ_INT(o.calls, 3);
	/* Not an fd: no passthrough, nothing asked. */
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, -1, fake_open, &o), 0);
	CHECK_EQ_INT(o.calls, 3);
	/* Another fd on an object already registered: its id (it is the
	 * inode that counts, whichever model or config it comes through). */
	{
		int again = open(unit_at("b"), O_RDONLY);

		CHECK_EQ_INT(mfs_passthrough_backing_via(pt, again, fake_open, &o), 43);
		CHECK_EQ_INT(o.calls, 3);
		close(again);
	}
	close(a);
	close(a2);
	close(b);
	mfs_passthrough_free(pt);
}

static void test_backing_refusals(void)
{
	struct mfs_passthrough *pt;
	struct opener o = { .answer = 42 };
	int a = object("a"), b = object("b"), c = object("c"), d = object("d");
	const char *log;

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	CHECK(mfs_passthrough_negotiate(pt, true));
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 42);
	capture_begin();
	/* One object refused: that one is spliced, and stays so. */
	o.answer = -EBADF;
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, b, fake_open, &o), 0);
	o.answer = 50;
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, b, fake_open, &o), 0);
	CHECK_EQ_INT(o.calls, 2);
	/* Another still gets one. */
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, c, fake_open, &o), 50);
	/* A refusal for the whole mount: no more ids are asked for ... */
	o.answer = -ELOOP;
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, d, fake_open, &o), 0);
	o.answer = 60;
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, d, fake_open, &o), 0);
	CHECK_EQ_INT(o.calls, 4);
	/* ... but objects that have one keep it: their opens must agree. */
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 42);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, c, fake_open, &o), 50);
	CHECK_EQ_INT(o.calls, 4);
	log = capture_end();
	CHECK_EQ_INT(count_of(log, "refused for a store object"), 1);
	CHECK_EQ_INT(count_of(log, "refused by the kernel"), 1);
	/* A zero answer is a refusal too. */
	mfs_passthrough_free(pt);
	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	CHECK(mfs_passthrough_negotiate(pt, true));
	o.answer = 0;
	capture_begin();
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 0);
	capture_end();
	close(a);
	close(b);
	close(c);
	close(d);
	mfs_passthrough_free(pt);
}

/* Many objects (the table grows): each keeps its own id; a forgotten one
 * (evicted) is registered anew on its next open. */
static void test_backing_many_and_forget(void)
{
	struct mfs_passthrough *pt;
	struct opener o = { .answer = 1000 };
	struct stat st;
	int fds[300];
	char name[32];

	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	CHECK(mfs_passthrough_negotiate(pt, true));
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		fds[i] = object(name);
		CHECK_EQ_INT(mfs_passthrough_backing_via(pt, fds[i], fake_open, &o), 1000 + i);
	}
	for (int i = 0; i < 300; i++)
		CHECK_EQ_INT(mfs_passthrough_backing_via(pt, fds[i], fake_open, &o), 1000 + i);
	CHECK_EQ_INT(o.calls, 300);
	/* No devfd: the ioctl is not tried, the id is forgotten all the same. */
	CHECK_EQ_INT(fstat(fds[7], &st), 0);
	mfs_passthrough_forget(pt, st.st_dev, st.st_ino);
	mfs_passthrough_forget(pt, st.st_dev, st.st_ino + 1000000);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, fds[7], fake_open, &o), 1300);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, fds[8], fake_open, &o), 1008);
	CHECK_EQ_INT(o.calls, 301);
	for (int i = 0; i < 300; i++)
		close(fds[i]);
	mfs_passthrough_free(pt);
}

static void test_negotiate(void)
{
	struct mfs_passthrough *pt;
	struct opener o = { .answer = 42 };
	int a = object("a");
	const char *log;

	/* Not offered. */
	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	capture_begin();
	CHECK(!mfs_passthrough_negotiate(pt, false));
	log = capture_end();
	CHECK_CONTAINS(log, "does not offer FUSE passthrough");
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 0);
	mfs_passthrough_free(pt);
	/* Not wanted (`passthrough = no`): not asked for, nothing logged. */
	CHECK_EQ_INT(mfs_passthrough_new(false, &pt), 0);
	capture_begin();
	CHECK(!mfs_passthrough_negotiate(pt, true));
	CHECK_EQ_INT(strlen(capture_end()), 0);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 0);
	mfs_passthrough_free(pt);
	/* Offered and wanted: asked once. */
	CHECK_EQ_INT(mfs_passthrough_new(true, &pt), 0);
	capture_begin();
	CHECK(mfs_passthrough_negotiate(pt, true));
	CHECK(!mfs_passthrough_negotiate(pt, true));
	log = capture_end();
	CHECK_EQ_INT(count_of(log, "FUSE passthrough negotiated"), 1);
	CHECK_EQ_INT(mfs_passthrough_backing_via(pt, a, fake_open, &o), 42);
	CHECK_EQ_INT(o.calls, 1);
	close(a);
	mfs_passthrough_free(pt);
}

int main(void)
{
	mfs_log_set_level(MFS_LOG_ERR);
	unit_tmp_make("passthrough");
	RUN(test_init_offered_is_asked_for);
	RUN(test_init_without_passthrough_bit);
	RUN(test_init_bit_without_init_ext);
	RUN(test_init_truncated_request);
	RUN(test_init_not_wanted);
	RUN(test_init_must_be_first_request);
	RUN(test_init_reply_other_unique_untouched);
	RUN(test_init_error_reply_untouched);
	RUN(test_init_reply_short_or_without_ext_untouched);
	RUN(test_init_reply_any_iovec_split);
	RUN(test_open_armed_and_not);
	RUN(test_open_error_reply_untouched);
	RUN(test_open_wrong_size_untouched_logged_once);
	RUN(test_open_any_iovec_split);
	RUN(test_backing_devfd_not_fuse);
	RUN(test_backing_not_negotiated);
	RUN(test_backing_one_id_per_object);
	RUN(test_backing_refusals);
	RUN(test_backing_many_and_forget);
	RUN(test_negotiate);
	unit_tmp_remove();
	return unit_done();
}
