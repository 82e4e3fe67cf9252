/* jsonin — reading untrusted JSON (signature bundles and their
 * statements) with libjansson: loaded whole with duplicate keys refused
 * and a bound on nesting, jansson's own messages cut down to printable
 * ASCII (they quote the input near the error), and strings from the
 * document quoted for log lines.  Used by bundle.h and manifest.h. */
#ifndef MFS_JSONIN_H
#define MFS_JSONIN_H

#include <stddef.h>

#include <jansson.h>

/* Parses `len` bytes (duplicate keys refused: which one would a signer
 * have meant?).  The document, or NULL with *rc -EINVAL (not JSON, or
 * containers nested deeper than `max_depth`, the document itself being
 * level 1: the reason in `err`) or -ENOMEM. */
json_t *mfs_json_load(const void *text, size_t len, int max_depth, int *rc, char *err,
		      size_t errlen);

/* `s` for a log line, into `out`: backslashes and control bytes escaped,
 * cut with "..." at a UTF-8 character boundary to fit.  Returns out. */
const char *mfs_json_quote(const char *s, char *out, size_t outlen);

#endif
