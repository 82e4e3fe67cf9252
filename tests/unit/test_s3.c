/* Unit tests for fs/s3.c: s3:// urls become the right HTTPS base (path
 * style and virtual-hosted, AWS's endpoint or another), bad buckets and
 * regions are refused; credentials come from the shared-credentials file
 * (profiles, comments, a session token longer than any inih line) or the
 * environment, and every refusal says why without the secret. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3.h"
#include "unit.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static void check_base(const char *url, const char *endpoint, const char *region, bool path,
		       const char *want)
{
	char err[160] = "", *base = NULL;
	int rc = mfs_s3_base(url, endpoint, region, path, &base, err, sizeof(err));

	if (want) {
		CHECK_EQ_INT(rc, 0);
		CHECK_STR(base, want);
	} else {
		CHECK_EQ_INT(rc, -EINVAL);
		CHECK(base == NULL && err[0]);
	}
	free(base);
}

static void test_base(void)
{
	check_base("s3://models/", NULL, NULL, false, "https://models.s3.us-east-1.amazonaws.com/");
	check_base("s3://models/zoo/v1", NULL, "eu-west-1", false,
		   "https://models.s3.eu-west-1.amazonaws.com/zoo/v1/");
	check_base("s3://models", NULL, NULL, true, "https://s3.us-east-1.amazonaws.com/models/");
	check_base("s3://models/zoo/", "https://127.0.0.1:9000", NULL, true,
		   "https://127.0.0.1:9000/models/zoo/");
	check_base("s3://models/zoo/", "https://minio.internal:9000/", NULL, false,
		   "https://models.minio.internal:9000/zoo/");
	check_base("s3://my.models/", "http://h", NULL, true, "http://h/my.models/");
	check_base("s3://my.models/", NULL, NULL, false, NULL);  /* dots: certificate */
	check_base("s3://ab/", NULL, NULL, true, NULL);
	check_base("s3://Models/", NULL, NULL, true, NULL);
	check_base("s3://-models/", NULL, NULL, true, NULL);
	check_base("s3://models-/", NULL, NULL, true, NULL);
	check_base("s3://mo_dels/", NULL, NULL, true, NULL);
	check_base("s3:///x", NULL, NULL, true, NULL);
	check_base("https://models/", NULL, NULL, true, NULL);
	check_base("s3://models/", NULL, "EU WEST", true, NULL);
	check_base("s3://models/", NULL, "", true, NULL);
}

static char file[64];

static void write_file(const char *text)
{
	FILE *f = fopen(file, "w");

	if (!f) { CHECK(!"fopen"); return; }
	fputs(text, f);
	fclose(f);
}

static int load(const char *profile, struct mfs_s3_creds *c, char *err, size_t errlen)
{
	return mfs_s3_creds_load(file, profile, "eu-west-1", c, err, errlen);
}

static void test_file(void)
{
	struct mfs_s3_creds c;
	char err[256], text[4096], token[2001];
	int fd;

	snprintf(file, sizeof(file), "/tmp/test_s3.XXXXXX");
	fd = mkstemp(file);
	if (fd < 0) { CHECK(!"mkstemp"); return; }
	close(fd);
	memset(token, 'T', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "# comment\n[other]\naws_access_key_id = OTHER\naws_secret_access_key = x\n\n"
		 "[default]\r\n  aws_access_key_id=AKIDEXAMPLE  \n"
		 "; another comment\naws_secret_access_key = " SECRET "\n"
		 "aws_session_token = %s\nregion = eu-west-1\n", token);
	write_file(text);
	CHECK_EQ_INT(load(NULL, &c, err, sizeof(err)), 0);
	CHECK_STR(c.key_id, "AKIDEXAMPLE");
	CHECK_STR(c.secret, SECRET);
	CHECK_STR(c.token, token);
	CHECK_STR(c.userpwd, "AKIDEXAMPLE:" SECRET);
	CHECK_STR(c.sigv4, "aws:amz:eu-west-1:s3");
	mfs_s3_creds_wipe(&c);
	CHECK(c.secret[0] == 0 && c.token[0] == 0 && c.userpwd[0] == 0);
	CHECK_EQ_INT(load("other", &c, err, sizeof(err)), 0);
	CHECK_STR(c.key_id, "OTHER");
	CHECK(c.token[0] == 0);

	CHECK_EQ_INT(load("nope", &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "no profile [nope]") != NULL);

	write_file("[default]\naws_access_key_id = AKID\n");
	CHECK_EQ_INT(load(NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "without a secret") != NULL);

	write_file("[default]\naws_access_key_id = AKID\naws_secret_access_key = " SECRET " x\n");
	CHECK_EQ_INT(load(NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bad aws_secret_access_key in [default] (line 3)") != NULL);
	CHECK(strstr(err, SECRET) == NULL);
	CHECK(c.key_id[0] == 0);  /* wiped on failure */

	write_file("[default\naws_access_key_id = AKID\n");
	CHECK_EQ_INT(load(NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cannot parse line 1") != NULL);
	write_file("[default]\njust words\n");
	CHECK_EQ_INT(load(NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cannot parse line 2") != NULL);

	unlink(file);
	CHECK_EQ_INT(load(NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cannot read s3_credentials") != NULL);
}

static void test_env(void)
{
	struct mfs_s3_creds c;
	char err[256];

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	CHECK_EQ_INT(mfs_s3_creds_load(NULL, NULL, NULL, &c, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no S3 credentials") != NULL);
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	CHECK_EQ_INT(mfs_s3_creds_load(NULL, NULL, NULL, &c, err, sizeof(err)), 0);
	CHECK_STR(c.userpwd, "AKID:" SECRET);
	CHECK_STR(c.sigv4, "aws:amz:us-east-1:s3");
	CHECK(c.token[0] == 0);
	setenv("AWS_SESSION_TOKEN", "TOKEN/+=", 1);
	CHECK_EQ_INT(mfs_s3_creds_load(NULL, NULL, "ap-south-1", &c, err, sizeof(err)), 0);
	CHECK_STR(c.token, "TOKEN/+=");
	CHECK_STR(c.sigv4, "aws:amz:ap-south-1:s3");
	setenv("AWS_SESSION_TOKEN", "bad\ntoken", 1);
	CHECK_EQ_INT(mfs_s3_creds_load(NULL, NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bad token") == NULL && strstr(err, SECRET) == NULL);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_EQ_INT(mfs_s3_creds_load(NULL, NULL, NULL, &c, err, sizeof(err)), -EINVAL);
	unsetenv("AWS_ACCESS_KEY_ID");
}

int main(void)
{
	RUN(test_base);
	RUN(test_file);
	RUN(test_env);
	return unit_done();
}
