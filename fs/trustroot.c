/* trustroot — see include/trustroot.h.  Format: Sigstore protobuf-specs
 * TrustedRoot (sigstore_trustroot.proto) as JSON. */
#include "trustroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonin.h"
#include "log.h"

#define ROOT_MAX_DEPTH 32
#define MEDIA_TYPE_PREFIX "application/vnd.dev.sigstore.trustedroot+json;version=0."

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* RFC 3339 date-time ("2021-01-12T11:53:27Z", fractions and a numeric
 * offset allowed, the fraction dropped) to Unix seconds. */
bool mfs_rfc3339_parse(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t i = 19;
	time_t t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	if (s[i] == '.') {
		i++;
		if (s[i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		sign = 0;
	} else if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && s[i + 3] == ':' &&
		   digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om) && oh < 24 && om < 60) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return false;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
	return true;
}

/* ------------------------------------------------------------ reading */

json_t *mfs_trust_root_read(const char *path, int *rc, char *err, size_t errlen)
{
	char why[160];
	char *buf;
	size_t len = 0;
	ssize_t n;
	json_t *doc;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*rc = -errno;
		mfs_fail(err, errlen, *rc, "%s: %s", path, strerror(-*rc));
		return NULL;
	}
	/* One byte over the limit tells a file at the limit from a bigger
	 * one. */
	buf = malloc(MFS_REKOR_ROOT_MAX + 1);
	if (!buf) {
		close(fd);
		*rc = mfs_fail(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	while (len <= MFS_REKOR_ROOT_MAX) {
		n = read(fd, buf + len, MFS_REKOR_ROOT_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*rc = -errno;
			mfs_fail(err, errlen, *rc, "%s: %s", path, strerror(-*rc));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > MFS_REKOR_ROOT_MAX) {
		free(buf);
		*rc = mfs_fail(err, errlen, -E2BIG, "%s: larger than %u bytes", path,
			   MFS_REKOR_ROOT_MAX);
		return NULL;
	}
	doc = mfs_json_load(buf, len, ROOT_MAX_DEPTH, rc, why, sizeof(why));
	free(buf);
	if (!doc)
		mfs_fail(err, errlen, *rc, "%s: %s", path, why);
	return doc;
}

/* validFor {start, end?} of an authority. */
static int read_valid_for(json_t *vf, const char *m, size_t idx, struct mfs_authority *a,
			  char *err, size_t errlen)
{
	json_t *end = json_object_get(vf, "end");

	if (!json_is_string(json_object_get(vf, "start")) ||
	    !mfs_rfc3339_parse(json_string_value(json_object_get(vf, "start")), &a->valid_from))
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu].validFor.start: missing or not RFC 3339",
			    m, idx);
	a->valid_until = INT64_MAX;
	if (end && (!json_is_string(end) ||
		    !mfs_rfc3339_parse(json_string_value(end), &a->valid_until) ||
		    a->valid_until < a->valid_from))
		return mfs_fail(err, errlen, -EINVAL,
			    "%s[%zu].validFor.end: not RFC 3339 or before the start", m, idx);
	return 0;
}

static int read_authority(json_t *j, const char *m, size_t idx, struct mfs_authority *a,
			  char *err, size_t errlen)
{
	json_t *certs = json_object_get(json_object_get(j, "certChain"), "certificates"), *c;
	const char *uri;
	size_t i;
	int rc;

	if (!json_is_object(j))
		return mfs_fail(err, errlen, -EINVAL, "%s[%zu]: not an object", m, idx);
	uri = json_string_value(json_object_get(j, "uri"));
	snprintf(a->uri, sizeof(a->uri), "%s", uri ? uri : "(no uri)");
	if (!json_is_array(certs) || json_array_size(certs) == 0 ||
	    json_array_size(certs) > MFS_TRUST_MAX_CHAIN)
		return mfs_fail(err, errlen, -EINVAL,
			    "%s[%zu].certChain.certificates: missing, empty or more than %d",
			    m, idx, MFS_TRUST_MAX_CHAIN);
	a->chain = sk_X509_new_null();
	if (!a->chain)
		return mfs_fail(err, errlen, -ENOMEM, "out of memory");
	json_array_foreach(certs, i, c) {
		json_t *raw = json_object_get(c, "rawBytes");
		const unsigned char *p;
		unsigned char *der;
		size_t len;
		X509 *x;

		if (!json_is_string(raw))
			return mfs_fail(err, errlen, -EINVAL,
				    "%s[%zu].certChain.certificates[%zu].rawBytes: missing", m, idx, i);
		rc = mfs_b64_decode(json_string_value(raw), json_string_length(raw), &der, &len,
				    NULL, 0);
		if (rc == -ENOMEM)
			return mfs_fail(err, errlen, rc, "out of memory");
		if (rc < 0)
			return mfs_fail(err, errlen, rc,
				    "%s[%zu].certChain.certificates[%zu].rawBytes: not base64", m,
				    idx, i);
		p = der;
		x = d2i_X509(NULL, &p, (long)len);
		if (!x || p != der + len) {
			X509_free(x);
			free(der);
			return mfs_fail(err, errlen, -EINVAL,
				    "%s[%zu].certChain.certificates[%zu]: not a DER certificate", m,
				    idx, i);
		}
		free(der);
		if (!sk_X509_push(a->chain, x)) {
			X509_free(x);
			return mfs_fail(err, errlen, -ENOMEM, "out of memory");
		}
	}
	return read_valid_for(json_object_get(j, "validFor"), m, idx, a, err, errlen);
}

static int read_authorities(json_t *doc, const char *m, struct mfs_authority *as, size_t *n,
			    char *err, size_t errlen)
{
	json_t *arr = json_object_get(doc, m), *j;
	size_t i;
	int rc;

	if (!json_is_array(arr))
		return mfs_fail(err, errlen, -EINVAL, "no \"%s\" array", m);
	if (json_array_size(arr) > MFS_TRUST_MAX_AUTHORITIES)
		return mfs_fail(err, errlen, -EINVAL, "more than %d %s", MFS_TRUST_MAX_AUTHORITIES, m);
	json_array_foreach(arr, i, j) {
		/* Counted before it is read, so that a half-read one is freed. */
		*n = i + 1;
		rc = read_authority(j, m, i, &as[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int mfs_trust_root_load(const char *path, struct mfs_trust_root *out, char *err, size_t errlen)
{
	char why[200];
	const char *mt;
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	doc = mfs_trust_root_read(path, &rc, err, errlen);
	if (!doc)
		return rc;
	mt = json_string_value(json_object_get(doc, "mediaType"));
	if (!mt || strncmp(mt, MEDIA_TYPE_PREFIX, strlen(MEDIA_TYPE_PREFIX)) != 0) {
		rc = mfs_fail(why, sizeof(why), -EINVAL,
			  "mediaType is not " MEDIA_TYPE_PREFIX "N (not a Sigstore trusted root)");
		goto out_free_doc;
	}
	rc = mfs_tlog_list_parse(doc, "tlogs", &out->tlogs, why, sizeof(why));
	if (rc < 0)
		goto out_free_doc;
	rc = mfs_tlog_list_parse(doc, "ctlogs", &out->ctlogs, why, sizeof(why));
	if (rc < 0)
		goto out_free_doc;
	rc = read_authorities(doc, "certificateAuthorities", out->cas, &out->ncas, why,
			      sizeof(why));
	if (rc < 0)
		goto out_free_doc;
	rc = read_authorities(doc, "timestampAuthorities", out->tsas, &out->ntsas, why,
			      sizeof(why));
out_free_doc:
	json_decref(doc);
	if (rc < 0) {
		mfs_trust_root_free(out);
		return mfs_fail(err, errlen, rc, "%s: %s", path, why);
	}
	return 0;
}

void mfs_trust_root_free(struct mfs_trust_root *r)
{
	if (!r)
		return;
	mfs_tlog_root_free(&r->tlogs);
	mfs_tlog_root_free(&r->ctlogs);
	for (size_t i = 0; i < r->ncas; i++)
		sk_X509_pop_free(r->cas[i].chain, X509_free);
	for (size_t i = 0; i < r->ntsas; i++)
		sk_X509_pop_free(r->tsas[i].chain, X509_free);
	memset(r, 0, sizeof(*r));
}
