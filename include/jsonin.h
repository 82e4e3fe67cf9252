/* jsonin — reading untrusted JSON (signature bundles and their
 * statements) with libjansson: loaded whole with duplicate keys refused
 * and a bound on nesting, jansson's own messages cut down to printable
 * ASCII (they quote the input near the error), strings from the document
 * quoted for log lines, and its base64 decoded strictly.  Used by
 * bundle.h, manifest.h and rekor.h. */
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

/* Decodes base64 in the standard or the URL-safe alphabet (not both in
 * one string), padded or not: Sigstore writes either.  Strict otherwise,
 * so that one string has one meaning: no whitespace, no '=' but at the
 * end, no length an encoder never writes, no bits set after the last
 * byte.  *out is malloc'd, with a NUL after its *outlen bytes.  0;
 * -EINVAL with the reason in `why` (may be NULL); -ENOMEM. */
int mfs_b64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen, char *why,
		   size_t whylen);

#endif
