/* log — see include/log.h. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static atomic_int max_level = MFS_LOG_INFO;
static atomic_bool to_syslog;
static pthread_once_t syslog_once = PTHREAD_ONCE_INIT;

static const struct {
	const char *name;
	int prio;
} levels[] = {
	[MFS_LOG_ERR] = { "error", LOG_ERR },
	[MFS_LOG_WARN] = { "warning", LOG_WARNING },
	[MFS_LOG_INFO] = { "info", LOG_INFO },
	[MFS_LOG_DEBUG] = { "debug", LOG_DEBUG },
};

static void open_syslog(void)
{
	openlog("modelfs", LOG_PID, LOG_DAEMON);
}

void mfs_log_use_syslog(bool on)
{
	atomic_store(&to_syslog, on);
}

void mfs_log_set_level(enum mfs_log_level max)
{
	atomic_store(&max_level, (int)max);
}

bool mfs_log_enabled(enum mfs_log_level level)
{
	return (unsigned)level <= MFS_LOG_DEBUG && (int)level <= atomic_load(&max_level);
}

void mfs_vlog(enum mfs_log_level level, const char *fmt, va_list ap)
{
	char small[512], *msg = small;
	int saved = errno, n;
	va_list again;

	if (!mfs_log_enabled(level))
		goto out;
	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0)
		goto out_end_again;
	/* Without memory for a long message, the truncated one still goes out. */
	if ((size_t)n >= sizeof(small) && (msg = malloc((size_t)n + 1)) != NULL)
		vsnprintf(msg, (size_t)n + 1, fmt, again);
	else
		msg = small;
	n = (int)strlen(msg);
	if (n > 0 && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	if (atomic_load(&to_syslog)) {
		pthread_once(&syslog_once, open_syslog);
		syslog(levels[level].prio, "%s", msg);
	} else {
		/* stderr is unbuffered and locked per call: one line, one write. */
		fprintf(stderr, "modelfs: %s: %s\n", levels[level].name, msg);
	}
	if (msg != small)
		free(msg);
out_end_again:
	va_end(again);
out:
	/* Callers log and then return -errno. */
	errno = saved;
}

void mfs_log(enum mfs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mfs_vlog(level, fmt, ap);
	va_end(ap);
}

void mfs_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int mfs_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
