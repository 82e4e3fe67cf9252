/* jsonflip.h — one changed character in a JSON string, for the tests of
 * signature material (test_rekor, test_keyless).  Header-only. */
#ifndef MFS_TEST_JSONFLIP_H
#define MFS_TEST_JSONFLIP_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char jsonflip_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The string at `j` with its character at `pos` (from the end if
 * negative) changed: a base64 character flips its lowest bit, so one
 * decoded byte changes; a final digit changes to the next; any other
 * character flips its lowest bit. */
static inline void flip(json_t *j, long pos)
{
	char *s = strdup(json_string_value(j));
	size_t len = strlen(s), at = pos < 0 ? len - (size_t)-pos : (size_t)pos;
	const char *c = strchr(jsonflip_b64, s[at]);

	if (s[at] >= '0' && s[at] <= '9' && at + 1 == len)
		s[at] = s[at] == '9' ? '8' : (char)(s[at] + 1);
	else if (c)
		s[at] = jsonflip_b64[(c - jsonflip_b64) ^ 1];
	else
		s[at] ^= 1;
	json_string_set(j, s);
	free(s);
}

#endif
