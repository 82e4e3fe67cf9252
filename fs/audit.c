/* audit — see include/audit.h. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct mfs_audit {
	pthread_mutex_t lock;
	int fd;
	char *file;
};

int mfs_audit_open(const char *file, struct mfs_audit **out)
{
	struct mfs_audit *a;
	char *slash;
	int rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->file = strdup(file);
	if (!a->file) {
		rc = -ENOMEM;
		goto out_free;
	}
	slash = strrchr(a->file, '/');
	if (slash && slash != a->file) {
		*slash = '\0';
		rc = mkdir(a->file, 0700) < 0 && errno != EEXIST ? -errno : 0;
		*slash = '/';
		if (rc < 0)
			goto out_free;
	}
	a->fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		rc = -errno;
		goto out_free;
	}
	rc = -pthread_mutex_init(&a->lock, NULL);
	if (rc < 0)
		goto out_close;
	*out = a;
	return 0;

out_close:
	close(a->fd);
out_free:
	free(a->file);
	free(a);
	return rc;
}

void mfs_audit_close(struct mfs_audit *a)
{
	if (!a)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a->file);
	free(a);
}

/* Length of the valid UTF-8 sequence at `p` (2-4), or 0 if there is none:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	/* Checking in order stops at the NUL before reading past it. */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

size_t mfs_json_escape(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (len == 0)
		return 0;
	while (*p) {
		const char *piece = (const char *)p;
		size_t n = 1, adv = 1;
		char esc[8];

		switch (*p) {
		case '"': piece = "\\\""; n = 2; break;
		case '\\': piece = "\\\\"; n = 2; break;
		case '\b': piece = "\\b"; n = 2; break;
		case '\f': piece = "\\f"; n = 2; break;
		case '\n': piece = "\\n"; n = 2; break;
		case '\r': piece = "\\r"; n = 2; break;
		case '\t': piece = "\\t"; n = 2; break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				piece = esc;
				n = 6;
			} else if (*p >= 0x80) {
				n = adv = utf8_seq(p);
				if (n == 0) {
					piece = "\\ufffd";
					n = 6;
					adv = 1;
				}
			}
		}
		/* Whole pieces only, and room for the NUL. */
		if (o + n >= len)
			break;
		memcpy(out + o, piece, n);
		o += n;
		p += adv;
	}
	out[o] = '\0';
	return o;
}

/* Room a string field needs: ,"expected":"<at most 6 bytes per byte>" */
static size_t str_room(const char *s)
{
	return s ? 16 + 6 * strlen(s) : 0;
}

static size_t put_str(char *buf, size_t cap, size_t len, const char *key, const char *val)
{
	if (!val)
		return len;
	len += (size_t)snprintf(buf + len, cap - len, ",\"%s\":\"", key);
	len += mfs_json_escape(val, buf + len, cap - len);
	buf[len++] = '"';
	return len;
}

static size_t put_num(char *buf, size_t cap, size_t len, const char *key, int64_t val)
{
	if (val < 0)
		return len;
	return len + (size_t)snprintf(buf + len, cap - len, ",\"%s\":%" PRId64, key, val);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int mfs_audit_write(struct mfs_audit *a, const struct mfs_audit_event *ev)
{
	char small[2048], ts[32], *buf = small;
	struct timespec now;
	struct tm tm;
	size_t cap, len;
	int rc;

	/* {"ts":"...", four numbers, "prefetch":true, "}\n" and NUL fit in
	 * 192 bytes. */
	cap = 192 + str_room(ev->event) + str_room(ev->path) + str_room(ev->url) +
	      str_room(ev->algo) + str_room(ev->expected) + str_room(ev->actual) +
	      str_room(ev->open_id) + str_room(ev->signer) + str_room(ev->error);
	if (clock_gettime(CLOCK_REALTIME, &now) < 0 || !gmtime_r(&now.tv_sec, &tm) ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		rc = -EOVERFLOW;
		goto out_log;
	}
	if (cap > sizeof(small)) {
		buf = malloc(cap);
		if (!buf) {
			rc = -ENOMEM;
			goto out_log;
		}
	}
	len = (size_t)snprintf(buf, cap, "{\"ts\":\"%s.%03ldZ\"", ts, now.tv_nsec / 1000000);
	len = put_str(buf, cap, len, "event", ev->event);
	len = put_str(buf, cap, len, "path", ev->path);
	len = put_str(buf, cap, len, "url", ev->url);
	len = put_str(buf, cap, len, "algo", ev->algo);
	len = put_str(buf, cap, len, "expected", ev->expected);
	len = put_str(buf, cap, len, "actual", ev->actual);
	len = put_num(buf, cap, len, "bytes", ev->bytes);
	len = put_num(buf, cap, len, "ms", ev->ms);
	len = put_str(buf, cap, len, "open_id", ev->open_id);
	len = put_num(buf, cap, len, "attempt", ev->attempt > 0 ? ev->attempt : -1);
	len = put_num(buf, cap, len, "resumed_from", ev->resumed_from > 0 ? ev->resumed_from : -1);
	len = put_str(buf, cap, len, "signer", ev->signer);
	if (ev->prefetch)
		len += (size_t)snprintf(buf + len, cap - len, ",\"prefetch\":true");
	len = put_str(buf, cap, len, "error", ev->error);
	buf[len++] = '}';
	buf[len++] = '\n';

	/* O_APPEND and one write(2) keep other processes' lines whole; the
	 * mutex keeps a partial write's remainder next to its start. */
	pthread_mutex_lock(&a->lock);
	rc = write_all(a->fd, buf, len);
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		mfs_err("audit log '%s': write failed (%s), lost: %.*s", a->file,
			strerror(-rc), (int)(len - 1), buf);
	if (buf != small)
		free(buf);
	return rc;

out_log:
	mfs_err("audit log '%s': %s, lost event '%s' for '%s'", a->file, strerror(-rc),
		ev->event ? ev->event : "?", ev->path ? ev->path : "?");
	return rc;
}
