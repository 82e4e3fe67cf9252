/* url — see include/url.h. */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 253 /* a DNS name's length in text */

const char *mfs_url_reason_str(enum mfs_url_reason why)
{
	switch (why) {
	case MFS_URL_OK:
		return "ok";
	case MFS_URL_BAD_CHAR:
		return "has a space, control character, '#' or (in a base) '?'";
	case MFS_URL_SCHEME:
		return "does not start with https://";
	case MFS_URL_HTTP:
		return "is plain http";
	case MFS_URL_USERINFO:
		return "has userinfo ('user@')";
	case MFS_URL_NO_HOST:
		return "has no host";
	case MFS_URL_BAD_HOST:
		return "has a bad host";
	case MFS_URL_BAD_PORT:
		return "has a bad port";
	case MFS_URL_OUTSIDE:
		return "is outside its base";
	case MFS_URL_ROOTED:
		return "has a leading '/'";
	case MFS_URL_DOTDOT:
		return "has a '..' segment";
	case MFS_URL_NO_FILE:
		return "names no file under its base";
	}
	return "is bad";
}

/* Nothing that would end or split the URL on its way to curl and the
 * server: blanks, control characters, DEL, a fragment. */
static bool chars_ok(const char *u)
{
	for (; *u; u++) {
		if ((unsigned char)*u <= ' ' || *u == 0x7f || *u == '#')
			return false;
	}
	return true;
}

static bool host_ok(const char *h, size_t len)
{
	if (len == 0 || len > HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
			return false;
	}
	return true;
}

int mfs_url_check_host(const char *host, size_t len, char **lower)
{
	char *d;

	if (!host_ok(host, len))
		return -EINVAL;
	if (!lower)
		return 0;
	d = strndup(host, len);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	*lower = d;
	return 0;
}

/* Decimal 1-65535 in exactly [p, end). */
static bool port_ok(const char *p, const char *end)
{
	long port = 0;

	for (; p < end && isdigit((unsigned char)*p) && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	return p == end && port >= 1 && port <= 65535;
}

/* The host of the base URL `u`, after its scheme; sets *why if bad. */
static const char *authority(const char *u, bool allow_http, enum mfs_url_reason *why)
{
	if (!chars_ok(u) || strchr(u, '?'))
		*why = MFS_URL_BAD_CHAR;
	else if (!strncasecmp(u, "https://", 8))
		return u + 8;
	else if (strncasecmp(u, "http://", 7))
		*why = MFS_URL_SCHEME;
	else if (!allow_http)
		*why = MFS_URL_HTTP;
	else
		return u + 7;
	return NULL;
}

int mfs_url_check_base(const char *url, bool allow_http, char **base, char **host,
		       enum mfs_url_reason *why)
{
	const char *h, *auth_end, *host_end;
	size_t len = strlen(url);
	int rc;

	*base = *host = NULL;
	*why = MFS_URL_OK;
	h = authority(url, allow_http, why);
	if (!h)
		return -EINVAL;
	auth_end = h + strcspn(h, "/");
	host_end = memchr(h, ':', (size_t)(auth_end - h));
	if (!host_end)
		host_end = auth_end;
	if (memchr(h, '@', (size_t)(auth_end - h)))
		*why = MFS_URL_USERINFO;
	else if (host_end == h)
		*why = MFS_URL_NO_HOST;
	else if (!host_ok(h, (size_t)(host_end - h)))
		*why = MFS_URL_BAD_HOST;
	else if (host_end < auth_end && !port_ok(host_end + 1, auth_end))
		*why = MFS_URL_BAD_PORT;
	if (*why)
		return -EINVAL;

	rc = mfs_url_check_host(h, (size_t)(host_end - h), host);
	if (rc < 0)
		return rc;
	*base = malloc(len + 2);
	if (!*base) {
		free(*host);
		*host = NULL;
		return -ENOMEM;
	}
	memcpy(*base, url, len + 1);
	if (url[len - 1] != '/')
		memcpy(*base + len, "/", 2);
	return 0;
}

/* A "..", also spelt with %2e, in the path part of a url: the server or
 * curl would climb out of the source's base. */
static bool has_dotdot(const char *u)
{
	const char *end = u + strcspn(u, "?");

	while (u < end) {
		const char *seg_end = u + strcspn(u, "/?");
		int dots = 0;

		while (u < seg_end) {
			if (*u == '.')
				u++;
			else if (seg_end - u >= 3 && !strncasecmp(u, "%2e", 3))
				u += 3;
			else
				break;
			dots++;
		}
		if (u == seg_end && dots == 2)
			return true;
		u = seg_end + (seg_end < end);
	}
	return false;
}

int mfs_url_resolve(const char *base, bool allow_http, const char *url, char **out,
		    enum mfs_url_reason *why)
{
	size_t blen = strlen(base);
	const char *rel = url;

	*out = NULL;
	*why = MFS_URL_OK;
	if (!chars_ok(url)) {
		*why = MFS_URL_BAD_CHAR;
	} else if (strstr(url, "://")) {
		if (!strncasecmp(url, "http://", 7) && !allow_http)
			*why = MFS_URL_HTTP;
		else if (strncmp(url, base, blen))
			*why = MFS_URL_OUTSIDE;
		else
			rel = url + blen;
	} else if (*url == '/') {
		*why = MFS_URL_ROOTED;
	}
	if (!*why && has_dotdot(rel))
		*why = MFS_URL_DOTDOT;
	else if (!*why && !*rel)
		*why = MFS_URL_NO_FILE;
	if (*why)
		return -EINVAL;

	if (rel == url) {
		size_t rlen = strlen(rel);

		*out = malloc(blen + rlen + 1);
		if (*out) {
			memcpy(*out, base, blen);
			memcpy(*out + blen, rel, rlen + 1);
		}
	} else {
		*out = strdup(url);
	}
	return *out ? 0 : -ENOMEM;
}

char *mfs_url_escape_path(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(name) + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("-._~/", *c)) {
			*o++ = (char)*c;
		} else {
			*o++ = '%';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 15];
		}
	}
	*o = '\0';
	return out;
}
