/* log — the human-readable log: stderr (foreground) or syslog (daemon).
 * Thread-safe.  Trust decisions go to the audit log (audit.h), not here. */
#ifndef MFS_LOG_H
#define MFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum mfs_log_level { MFS_LOG_ERR, MFS_LOG_WARN, MFS_LOG_INFO, MFS_LOG_DEBUG };

/* Sends later messages to syslog (ident "modelfs") instead of stderr. */
void mfs_log_use_syslog(bool on);
/* Messages above `max` are dropped; default MFS_LOG_INFO. */
void mfs_log_set_level(enum mfs_log_level max);
/* Logs one message at `level` (one line, one write); errno is kept. */
void mfs_log(enum mfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same with a va_list (for other libraries' log hooks).  One trailing
 * newline of the message is dropped: every message is one line. */
void mfs_vlog(enum mfs_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* True if messages of `level` are logged (to skip costly formatting). */
bool mfs_log_enabled(enum mfs_log_level level);

/* Formats a message into a caller's error buffer, for functions that
 * report "why" to their caller rather than to the log.  NULL `err` or a
 * zero `errlen`: nothing is written. */
void mfs_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, then returns `rc`: "return mfs_fail(err, errlen, -EINVAL,
 * ...)". */
int mfs_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define mfs_err(...)   mfs_log(MFS_LOG_ERR, __VA_ARGS__)
#define mfs_warn(...)  mfs_log(MFS_LOG_WARN, __VA_ARGS__)
#define mfs_info(...)  mfs_log(MFS_LOG_INFO, __VA_ARGS__)
#define mfs_debug(...) mfs_log(MFS_LOG_DEBUG, __VA_ARGS__)

#endif
