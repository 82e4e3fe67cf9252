/* libFuzzer harness for fs/extract.c: any bytes as a zip archive.
 *
 * The bytes go into a memfd and are walked with mfs_extract_fd with roomy
 * limits (64 entries, 8 MiB in all) and, if that passes, again with tight
 * ones (4 entries, 4 KiB).  The callbacks take every member (odd ids with a limit
 * of the size the header declares, the others 1 MiB) and hash its bytes.
 * Beyond "no crash, leak or UB", it aborts when the walk breaks its
 * contract (include/extract.h):
 *   - a member name that the checks should have refused, or one seen twice;
 *   - bytes past a member's limit or past max_total, more entries than
 *     max_entries;
 *   - data() for a member that is not the one open, end() with a byte
 *     count other than what data() got, a member left without end() by a
 *     walk that returned 0;
 *   - 0 returned after a callback failed, an error without a message or
 *     with an errno the header does not list;
 *   - on an archive the roomy walk accepts, the tight walk seeing other
 *     members or bytes, letting more than its limits through, or failing
 *     for anything but a limit.
 *
 * Build and run: make fuzz-build; tests/fuzz/run [SECONDS]. */
#include "extract.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

enum { MAX_ENTRIES = 64, ERRLEN = 512, MIB = 1 << 20, NAME_MAX_BYTES = 4095 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the callbacks saw during one walk. */
struct seen {
	const struct mfs_extract_limits *lim;
	int members;                /* entry() calls = ids handed out */
	int open;                   /* id whose bytes may come, or -1 */
	uint64_t got, limit;        /* of the open member */
	uint64_t total;
	uint64_t hash;              /* FNV-1a over every byte, members in order */
	char *names[MAX_ENTRIES];
	const char *bad;            /* the first inconsistency, or NULL */
};

static void broken(const char *what, const char *detail)
{
	fuzz_broken("fuzz_zip", what, detail);
}

/* Records the first inconsistency; the callback then stops the walk with
 * an error of its own, which the walk must return. */
static int inconsistent(struct seen *s, const char *why)
{
	if (!s->bad)
		s->bad = why;
	return -EPROTO;
}

/* The name rules of extract.h, written out again here on purpose. */
static const char *bad_name(const char *name)
{
	size_t len = strlen(name);
	const char *c = name;

	if (len == 0 || len > NAME_MAX_BYTES)
		return "member name empty or longer than 4095 bytes";
	if (name[0] == '/')
		return "absolute member name";
	if (strchr(name, '\\'))
		return "member name with a backslash";
	for (;;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "member name with an empty, '.' or '..' component";
		if (!c[n])
			return NULL;
		c += n + 1;
	}
}

static int on_entry(void *arg, const char *name, int64_t size, uint64_t *limit)
{
	struct seen *s = arg;
	const char *why;
	int id;

	if (!name)
		return inconsistent(s, "entry() without a name");
	if (s->open >= 0)
		return inconsistent(s, "entry() before the previous member's end()");
	if ((uint64_t)s->members >= s->lim->max_entries || s->members >= MAX_ENTRIES)
		return inconsistent(s, "more members than max_entries");
	if (size < -1)
		return inconsistent(s, "entry() with a size below -1");
	why = bad_name(name);
	if (why) {
		fprintf(stderr, "fuzz_zip: name '%s'\n", name);
		return inconsistent(s, why);
	}
	for (int i = 0; i < s->members; i++) {
		if (!strcmp(s->names[i], name))
			return inconsistent(s, "a member name handed out twice");
	}
	id = s->members;
	s->names[id] = strdup(name);
	if (!s->names[id])
		abort();
	s->members++;
	s->open = id;
	s->got = 0;
	/* odd ids get exactly what the header claims, so a lying header must
	 * end the walk with -EFBIG before the extra bytes reach us */
	s->limit = (id & 1) && size >= 0 && size <= MIB ? (uint64_t)size : MIB;
	*limit = s->limit;
	return id;
}

static int on_data(void *arg, int id, const void *buf, size_t len)
{
	struct seen *s = arg;
	const unsigned char *b = buf;

	if (id < 0 || id != s->open)
		return inconsistent(s, "data() for a member that is not open");
	if (len && !buf)
		return inconsistent(s, "data() with a NULL buffer");
	if (len > s->limit - s->got)
		broken("data() past the member's limit", s->names[id]);
	if (len > s->lim->max_total - s->total)
		broken("data() past max_total", s->names[id]);
	s->got += len;
	s->total += len;
	/* touching every byte lets ASan see a buffer that is too short */
	for (size_t i = 0; i < len; i++)
		s->hash = (s->hash ^ b[i]) * 0x100000001b3ULL;
	return 0;
}

static int on_end(void *arg, int id, uint64_t bytes)
{
	struct seen *s = arg;

	if (id < 0 || id != s->open)
		return inconsistent(s, "end() for a member that is not open");
	if (bytes != s->got)
		return inconsistent(s, "end() counts other bytes than data() got");
	s->open = -1;
	/* members are separated in the hash, so moved bytes show */
	s->hash = (s->hash ^ 0x100) * 0x100000001b3ULL;
	return 0;
}

static const struct mfs_extract_ops ops = { on_entry, on_data, on_end };

static bool documented(int rc)
{
	return rc == -EPERM || rc == -EFBIG || rc == -E2BIG || rc == -EINVAL || rc == -ENOMEM ||
	       rc == -EPROTO;
}

/* One walk of `fd`, its contract checked; *s keeps what it saw. */
static int walk(int fd, const struct mfs_extract_limits *lim, struct seen *s)
{
	char *err = malloc(ERRLEN);
	int rc;

	if (!err)
		abort();
	memset(err, 'x', ERRLEN);
	memset(s, 0, sizeof(*s));
	s->lim = lim;
	s->open = -1;
	s->hash = 0xcbf29ce484222325ULL;
	rc = mfs_extract_fd(fd, MFS_EXTRACT_ZIP, lim, &ops, s, err, ERRLEN);
	if (!memchr(err, '\0', ERRLEN))
		broken("the message is not terminated", NULL);
	if (fuzz_verbose())
		fprintf(stderr, "fuzz_zip: limits %" PRIu64 " entries, %" PRIu64 " bytes: rc %d (%s); "
			"%d members, %" PRIu64 " bytes\n", lim->max_entries, lim->max_total, rc, err,
			s->members, s->total);
	if (s->bad) {
		fprintf(stderr, "fuzz_zip: walk returned %d (%s)\n", rc, err);
		broken(s->bad, rc == 0 ? "and the walk returned 0" : NULL);
	}
	if (rc > 0)
		broken("mfs_extract_fd returned > 0", err);
	if (rc == 0 && s->open >= 0)
		broken("the walk returned 0 with a member not ended", s->names[s->open]);
	if (rc < 0 && !err[0])
		broken("the walk failed without a message", NULL);
	if (rc < 0 && !documented(rc)) {
		fprintf(stderr, "fuzz_zip: walk returned %d (%s)\n", rc, err);
		broken("the walk returned an undocumented errno", err);
	}
	free(err);
	return rc;
}

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->members; i++)
		free(s->names[i]);
}

/* The memfd stays open across runs; each input replaces its contents. */
static int input_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	size_t off = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz.zip", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
	}
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
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mfs_extract_limits roomy = { MAX_ENTRIES, 8 * MIB };
	static const struct mfs_extract_limits tight = { 4, 4096 };
	struct seen r, t;
	int fd = input_fd(data, size);
	int rc_roomy = walk(fd, &roomy, &r), rc_tight;

	/* Most inputs fail the roomy walk; the tight one is only a second
	 * opinion on the ones that pass (a walk costs ~1 MiB of buffers). */
	if (rc_roomy < 0) {
		seen_free(&r);
		return 0;
	}
	rc_tight = walk(fd, &tight, &t);
	if (rc_tight == 0 && (t.hash != r.hash || t.total != r.total || t.members != r.members))
		broken("the tight walk saw other members or bytes than the roomy one", NULL);
	if (r.total > tight.max_total && rc_tight != -EFBIG && rc_tight != -E2BIG)
		broken("the tight walk let more than max_total through", NULL);
	if ((uint64_t)r.members > tight.max_entries && rc_tight != -E2BIG && rc_tight != -EFBIG)
		broken("the tight walk let more than max_entries through", NULL);
	if (rc_tight != 0 && rc_tight != -EFBIG && rc_tight != -E2BIG)
		broken("the tight walk failed on what the roomy one accepted, not for a limit", NULL);
	seen_free(&r);
	seen_free(&t);
	return 0;
}
