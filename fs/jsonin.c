/* jsonin — see include/jsonin.h. */
#include "jsonin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
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

/* The value of one base64 character in either alphabet, -1 if none;
 * notes which alphabet's own characters were seen. */
static int b64_value(unsigned char ch, bool *std, bool *url)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '/') {
		*std = true;
		return ch == '+' ? 62 : 63;
	}
	if (ch == '-' || ch == '_') {
		*url = true;
		return ch == '-' ? 62 : 63;
	}
	return -1;
}

int mfs_b64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen, char *why,
		   size_t whylen)
{
	bool std = false, url = false;
	size_t pad = 0, n, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	n = len - pad;
	if (n == 0) {
		mfs_seterr(why, whylen, "empty");
		return -EINVAL;
	}
	if ((pad && len % 4) || n % 4 == 1) {
		mfs_seterr(why, whylen, "not base64 (length %zu%s)", len, pad ? " with padding" : "");
		return -EINVAL;
	}
	buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)s[i], &std, &url);

		if (v < 0) {
			mfs_seterr(why, whylen, "not base64 (character %zu is %s)", i,
				 s[i] == '=' ? "'=' before the end" : "outside the alphabet");
			free(buf);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (std && url) {
		mfs_seterr(why, whylen, "not base64 (mixes the standard and URL-safe alphabets)");
		free(buf);
		return -EINVAL;
	}
	if (acc) {
		mfs_seterr(why, whylen, "not base64 (bits set after the last byte)");
		free(buf);
		return -EINVAL;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

