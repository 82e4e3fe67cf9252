/* jsonin — see include/jsonin.h. */
#include "jsonin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* jansson's messages quote the input near the error, which may be any
 * bytes: keep printable ASCII only. */
static void scrub(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
	}
}

/* Deeper than `max` containers, counting `j` at `level`?  The recursion
 * stops one level past the limit. */
static bool too_deep(json_t *j, int level, int max)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(j) && !json_is_array(j))
		return false;
	if (level > max)
		return true;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (too_deep(v, level + 1, max))
				return true;
		}
	} else {
		json_object_foreach(j, key, v) {
			if (too_deep(v, level + 1, max))
				return true;
		}
	}
	return false;
}

json_t *mfs_json_load(const void *text, size_t len, int max_depth, int *rc, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			mfs_seterr(err, errlen, "out of memory");
			*rc = -ENOMEM;
			return NULL;
		}
		scrub(jerr.text);
		mfs_seterr(err, errlen, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			   jerr.column);
		*rc = -EINVAL;
		return NULL;
	}
	if (too_deep(root, 1, max_depth)) {
		json_decref(root);
		mfs_seterr(err, errlen, "nested deeper than %d levels", max_depth);
		*rc = -EINVAL;
		return NULL;
	}
	*rc = 0;
	return root;
}

const char *mfs_json_quote(const char *s, char *out, size_t outlen)
{
	size_t n = 0, i = 0, len = strlen(s);

	for (; i < len && n + 8 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\\')
			n += (size_t)snprintf(out + n, outlen - n, "\\\\");
		else if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", ch);
		else
			out[n++] = (char)ch;
	}
	if (i < len) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
			n--;
	}
	snprintf(out + n, outlen - n, "%s", i < len ? "..." : "");
	return out;
}
