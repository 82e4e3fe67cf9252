/* s3 — S3-compatible sources: where `s3://BUCKET/PREFIX/` lives over
 * HTTPS, and the credentials its requests are signed with (SigV4, which
 * libcurl computes: fetch.h's aws_sigv4).
 *
 * Secrets: a struct mfs_s3_creds holds them only for the duration of one
 * download and is wiped after (mfs_s3_creds_wipe); no message written
 * here or by a caller ever contains the secret key or the session token
 * (the key id alone may appear). */
#ifndef MFS_S3_H
#define MFS_S3_H

#include <stdbool.h>
#include <stddef.h>

#define MFS_S3_DEFAULT_REGION "us-east-1"
#define MFS_S3_DEFAULT_PROFILE "default"

/* Turns `s3url` (s3://BUCKET/PREFIX, PREFIX may be empty) into the HTTPS
 * base its objects are fetched from: with `endpoint`
 * (https://HOST[:PORT], or http:// — the caller checks allow_http; NULL:
 * https://s3.REGION.amazonaws.com) and path-style addressing,
 * ENDPOINT/BUCKET/PREFIX/; else https://BUCKET.HOST[:PORT]/PREFIX/.
 * BUCKET: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or
 * digit (with virtual-hosted addressing, no '.': a wildcard certificate
 * does not cover it).  Returns 0 with *base (malloc'd, ending in '/'),
 * or -EINVAL with a phrase in `err` ("bad bucket name 'X'"), -ENOMEM. */
int mfs_s3_base(const char *s3url, const char *endpoint, const char *region, bool path_style,
		char **base, char *err, size_t errlen);

struct mfs_s3_creds {
	char key_id[129];
	char secret[129];
	char token[4097];   /* "": none */
	char userpwd[260];  /* "key_id:secret", for CURLOPT_USERPWD */
	char sigv4[96];     /* "aws:amz:REGION:s3", for CURLOPT_AWS_SIGV4 */
};

/* Fills *c for `region`: from the AWS shared-credentials file `file`
 * (INI: [PROFILE] with aws_access_key_id, aws_secret_access_key and
 * optionally aws_session_token) when it is set, else from the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).  The file
 * is read on every call, so rotated credentials apply to the next
 * download.  Returns 0; -ENOENT with no credentials at all (the request
 * then goes unsigned, for a public bucket); -EINVAL for a file that
 * cannot be read or parsed, a missing profile, a key id without a
 * secret, or a value too long or with characters no AWS key has; a
 * one-line reason in `err` without any secret.  *c is wiped on failure. */
int mfs_s3_creds_load(const char *file, const char *profile, const char *region,
		      struct mfs_s3_creds *c, char *err, size_t errlen);

/* Zeroes *c in a way the compiler keeps. */
void mfs_s3_creds_wipe(struct mfs_s3_creds *c);

#endif
