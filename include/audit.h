/* audit — the trust log: JSON Lines, one event per line, appended with a
 * single write(2) per event so concurrent writers (daemon, modelfsctl)
 * never interleave.  Fields: ts (RFC 3339 UTC with ms), event, path, url,
 * algo, expected, actual, bytes, ms, open_id, attempt, resumed_from,
 * signer, prefetch, error.  NULL strings, negative bytes and ms, attempt
 * and resumed_from below 1, and prefetch false are left out. */
#ifndef MFS_AUDIT_H
#define MFS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mfs_audit;

struct mfs_audit_event {
	const char *event; /* fetch_start, fetch_retry, fetch_ok, fetch_failed,
			      verify_ok, verify_failed, store_corrupt,
			      signature_ok, signature_failed, ... */
	const char *path;
	const char *url;
	const char *algo;
	const char *expected;
	const char *actual;
	const char *error;
	int64_t bytes;     /* < 0: omitted */
	int64_t ms;        /* < 0: omitted */
	const char *open_id; /* ties together the events of one fetch of a model
				(its tries, its URLs) */
	int64_t attempt;   /* the try of that URL it tells of, from 1; <= 0: omitted */
	int64_t resumed_from; /* where that try's body began; <= 0: omitted */
	const char *signer;  /* signature_ok/_failed: the key or certificate */
	bool prefetch;       /* "prefetch":true: work that a prefetch started,
				no open waiting for it (scheduler.h) */
};

/* Opens (creating 0600, and its directory 0700 if missing) `file` for
 * appending.  *out is owned by the caller.  -errno on failure. */
int mfs_audit_open(const char *file, struct mfs_audit **out);
/* Appends one event.  Strings are JSON-escaped.  -errno if the write fails
 * (the event is also reported on the human log then). */
int mfs_audit_write(struct mfs_audit *a, const struct mfs_audit_event *ev);
void mfs_audit_close(struct mfs_audit *a);

/* JSON-escapes `in` into `out` (always NUL-terminated, truncated to fit);
 * returns the length written.  Exposed for tests. */
size_t mfs_json_escape(const char *in, char *out, size_t len);

#endif
