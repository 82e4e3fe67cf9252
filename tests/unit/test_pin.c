/* Unit tests for the pure parts of pin: options, section ids, member
 * names under a prefix, INI-safe values and the formatted sections (line
 * limit included), which must read back through the config parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pin.h"
#include "unit.h"

#define HEX_AB "abababababababababababababababababababababababababababababababab"
#define HEX_CD "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
#define HEX_01 "0101010101010101010101010101010101010101010101010101010101010101"
#define HEX_02 "0202020202020202020202020202020202020202020202020202020202020202"
#define HEX_03 "0303030303030303030303030303030303030303"

static void set_digests(struct mfs_digests *d, unsigned char b256, unsigned char b1, bool sha1)
{
	memset(d, 0, sizeof(*d));
	d->mask = MFS_ALGO_BIT(MFS_SHA256);
	memset(d->d[MFS_SHA256], b256, 32);
	if (sha1) {
		d->mask |= MFS_ALGO_BIT(MFS_SHA1);
		memset(d->d[MFS_SHA1], b1, 20);
	}
}

static void test_section_id(void)
{
	char id[MFS_PIN_MAX_ID + 1], small[8];

	CHECK_EQ_INT(mfs_pin_section_id("zoo/x.params", id, sizeof(id)), 0);
	CHECK_STR(id, "x.params");
	CHECK_EQ_INT(mfs_pin_section_id("facenet/20180402-114759", id, sizeof(id)), 0);
	CHECK_STR(id, "20180402-114759");
	CHECK_EQ_INT(mfs_pin_section_id("alexnet-44335d1f.params", id, sizeof(id)), 0);
	CHECK_STR(id, "alexnet-44335d1f.params");
	CHECK_EQ_INT(mfs_pin_section_id("a/b c+d\xc3\xa9", id, sizeof(id)), 0);
	CHECK_STR(id, "b_c_d__");
	/* 42 characters at most ("model " + id fits the 48 inih keeps) ... */
	CHECK_EQ_INT(mfs_pin_section_id("m/monodepth2_resnet18_posenet_kitti_mono_stereo_640x192-c14979bf.params",
					id, sizeof(id)), 0);
	CHECK_STR(id, "monodepth2_resnet18_posenet_kitti_mono_ste");
	CHECK_EQ_INT(strlen(id), MFS_PIN_MAX_ID);
	/* ... and a cut never ends on a separator. */
	CHECK_EQ_INT(mfs_pin_section_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-_.xyz", id, sizeof(id)), 0);
	CHECK_STR(id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_EQ_INT(mfs_pin_section_id("exactly42_exactly42_exactly42_exactly42_42", id, sizeof(id)), 0);
	CHECK_STR(id, "exactly42_exactly42_exactly42_exactly42_42");
	CHECK_EQ_INT(mfs_pin_section_id("dir/", id, sizeof(id)), -EINVAL);
	CHECK_EQ_INT(mfs_pin_section_id("x", small, sizeof(small)), -EINVAL);
}

static void test_member_name(void)
{
	const char *rel = NULL;

	CHECK_EQ_INT(mfs_pin_member_name("20180402-114759/model.meta", "20180402-114759/", &rel), 0);
	CHECK_STR(rel, "model.meta");
	CHECK_EQ_INT(mfs_pin_member_name("d/sub/x.bin", "d/", &rel), 0);
	CHECK_STR(rel, "sub/x.bin");
	CHECK_EQ_INT(mfs_pin_member_name("x.bin", NULL, &rel), 0);
	CHECK_STR(rel, "x.bin");
	CHECK_EQ_INT(mfs_pin_member_name("x.bin", "", &rel), 0);
	CHECK_STR(rel, "x.bin");
	CHECK_EQ_INT(mfs_pin_member_name("other/x.bin", "d/", &rel), -ENOENT);
	CHECK_EQ_INT(mfs_pin_member_name("d", "d/", &rel), -ENOENT);
	CHECK_EQ_INT(mfs_pin_member_name("d/", "d/", &rel), -EINVAL);
	/* A plain string prefix, as the config joins member_prefix + NAME. */
	CHECK_EQ_INT(mfs_pin_member_name("model-1.index", "model-", &rel), 0);
	CHECK_STR(rel, "1.index");
}

static void test_ini_safe(void)
{
	CHECK(mfs_pin_ini_safe("a.params", true));
	CHECK(mfs_pin_ini_safe("dir/a b.params", false));
	CHECK(!mfs_pin_ini_safe("dir/a b.params", true));
	CHECK(mfs_pin_ini_safe("a;b", true));
	CHECK(!mfs_pin_ini_safe("a ;b", false));
	CHECK(!mfs_pin_ini_safe("a #b", false));
	CHECK(!mfs_pin_ini_safe("", false));
	CHECK(!mfs_pin_ini_safe(" a", false));
	CHECK(!mfs_pin_ini_safe("a ", false));
	CHECK(!mfs_pin_ini_safe("a\tb", false));
	CHECK(!mfs_pin_ini_safe("a\nb", false));
	CHECK(!mfs_pin_ini_safe("a\nsize = 1", false));
	CHECK(!mfs_pin_ini_safe("a\rb", false));
	CHECK(!mfs_pin_ini_safe("a\x7f", false));
}

static void test_check_opts(void)
{
	struct mfs_pin_opts o = { .url = "https://h/x.params", .path = "zoo/x.params" };
	char err[256];

	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), 0);
	o.path = NULL;
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "--path");
	o.path = "/abs";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "bad --path '/abs'");
	o.path = "a/../b";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	o.path = "a ;b";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	o.path = "zoo/x.params";
	o.url = "http://h/x";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "https://");
	o.allow_http = true;
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), 0);
	o.url = "ftp://h/x";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	o.url = "https://h/a b";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	o.url = NULL;
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	o.url = "https://h/x.params";
	o.source = "bad name";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "--source");
	o.source = "gluon";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), 0);
	o.member = "x";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "--archive zip");
	o.zip = true;
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), 0);
	o.member_prefix = "d/";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "exclude each other");
	o.member = NULL;
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), 0);
	o.member_prefix = "d d/";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	o.member_prefix = "d";
	CHECK_EQ_INT(mfs_pin_check_opts(&o, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "must end with '/'");
}

static void test_format_plain(void)
{
	struct mfs_pin_opts o = { .url = "https://host/zoo/x.params", .path = "zoo/x.params" };
	struct mfs_pin_result r = { .size = 1234 };
	char err[256], *text = NULL;

	set_digests(&r.digests, 0xab, 0xcd, false);
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 1795309323, &text, err, sizeof(err)), 0);
	CHECK_STR(text,
		  "; pinned by modelfsctl pin from https://host/zoo/x.params on 2026-11-22T01:02:03Z\n"
		  "; review before trusting: these digests are whatever the server sent just now\n"
		  "[model x.params]\n"
		  "source = CHANGEME\n"
		  "path = zoo/x.params\n"
		  "url = https://host/zoo/x.params\n"
		  "size = 1234\n"
		  "sha256 = " HEX_AB "\n");
	free(text);

	o.sha1 = true;
	o.source = "zoo";
	set_digests(&r.digests, 0xab, 0xcd, true);
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK_STR(text,
		  "; pinned by modelfsctl pin from https://host/zoo/x.params on 1970-01-01T00:00:00Z\n"
		  "; review before trusting: these digests are whatever the server sent just now\n"
		  "[model x.params]\n"
		  "source = zoo\n"
		  "path = zoo/x.params\n"
		  "url = https://host/zoo/x.params\n"
		  "size = 1234\n"
		  "sha256 = " HEX_AB "\n"
		  "sha1 = " HEX_CD "\n"
		  "allow_sha1 = yes\n");
	free(text);

	r.size = 0;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -EINVAL);
	CHECK(text == NULL);
	CHECK_CONTAINS(err, "empty");
}

static void test_format_member(void)
{
	struct mfs_pin_opts o = {
		.url = "https://mirror/gluon/models/alexnet-44335d1f.zip",
		.path = "alexnet-44335d1f.params", .source = "gluon", .sha1 = true, .zip = true,
		.member = "alexnet-44335d1f.params",
	};
	struct mfs_pin_file f = { .name = "alexnet-44335d1f.params", .size = 244398584 };
	struct mfs_pin_result r = { .size = 228374234, .files = &f, .nfiles = 1 };
	char err[256], *text = NULL;

	set_digests(&r.digests, 0x02, 0, false);
	set_digests(&f.digests, 0x01, 0x03, true);
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK_STR(text,
		  "; pinned by modelfsctl pin from https://mirror/gluon/models/alexnet-44335d1f.zip on "
		  "1970-01-01T00:00:00Z\n"
		  "; review before trusting: these digests are whatever the server sent just now\n"
		  "[model alexnet-44335d1f.params]\n"
		  "source = gluon\n"
		  "path = alexnet-44335d1f.params\n"
		  "url = https://mirror/gluon/models/alexnet-44335d1f.zip\n"
		  "archive = zip\n"
		  "member = alexnet-44335d1f.params\n"
		  "size = 244398584\n"
		  "sha256 = " HEX_01 "\n"
		  "sha1 = " HEX_03 "\n"
		  "allow_sha1 = yes\n"
		  "archive_size = 228374234\n"
		  "archive_sha256 = " HEX_02 "\n");
	free(text);
}

static void test_format_directory(void)
{
	struct mfs_pin_opts o = {
		.url = "https://mirror/facenet/20180402-114759.zip", .path = "facenet/20180402-114759",
		.source = "facenet", .zip = true, .member_prefix = "20180402-114759/",
	};
	struct mfs_pin_file f[2] = {
		{ .name = "20180402-114759.pb", .size = 95745767 },
		{ .name = "model-20180402-114759.meta", .size = 18122 },
	};
	struct mfs_pin_result r = { .size = 99999, .files = f, .nfiles = 2 };
	char err[256], *text = NULL, name[300];

	set_digests(&r.digests, 0x02, 0, false);
	set_digests(&f[0].digests, 0x01, 0x03, true);
	set_digests(&f[1].digests, 0xab, 0xcd, true);
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK_STR(text,
		  "; pinned by modelfsctl pin from https://mirror/facenet/20180402-114759.zip on "
		  "1970-01-01T00:00:00Z\n"
		  "; review before trusting: these digests are whatever the server sent just now\n"
		  "[model 20180402-114759]\n"
		  "source = facenet\n"
		  "path = facenet/20180402-114759\n"
		  "url = https://mirror/facenet/20180402-114759.zip\n"
		  "archive = zip\n"
		  "member_prefix = 20180402-114759/\n"
		  "file = 20180402-114759.pb 95745767 sha256:" HEX_01 "\n"
		  "file = model-20180402-114759.meta 18122 sha256:" HEX_AB "\n"
		  "archive_size = 99999\n"
		  "archive_sha256 = " HEX_02 "\n");
	free(text);

	o.sha1 = true;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK_CONTAINS(text, "file = 20180402-114759.pb 95745767 sha256:" HEX_01 " sha1:" HEX_03 "\n"
			     "file = model-20180402-114759.meta 18122 sha256:" HEX_AB " sha1:" HEX_CD
			     "\nallow_sha1 = yes\narchive_size = 99999\n");
	free(text);

	/* "file = " + name + " 18122 sha256:" + 64 + " sha1:" + 40 = 199 at
	 * a name of 68 characters; one more is refused. */
	memset(name, 'n', 68);
	name[68] = '\0';
	f[1].name = name;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK(strstr(text, name) != NULL);
	free(text);
	name[68] = 'n';
	name[69] = '\0';
	text = NULL;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -E2BIG);
	CHECK(text == NULL);
	CHECK_CONTAINS(err, "200 characters");
	CHECK_CONTAINS(err, "at most 199");
	CHECK_CONTAINS(err, "file = nnnn");

	/* Names from the archive cannot smuggle lines or comments in. */
	f[1].name = "evil\n[model x]";
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "evil?[model x]");
	f[1].name = "two words";
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -EINVAL);
	f[1].name = "empty";
	f[1].size = 0;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "empty");
	/* A folder section needs at least one file line. */
	r.nfiles = 0;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -EINVAL);
	CHECK(text == NULL);
}

static void test_format_long_url(void)
{
	char url[256], big[300], err[256], *text = NULL;
	struct mfs_pin_opts o = { .url = url, .path = "x.bin" };
	struct mfs_pin_result r = { .size = 1 };

	set_digests(&r.digests, 0xab, 0, false);
	/* Fits the url line but not the comment: the comment leaves it out. */
	snprintf(url, sizeof(url), "https://h/%0180d", 0);
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK_CONTAINS(text, "; pinned by modelfsctl pin from the url below on 1970-01-01T00:00:00Z\n");
	CHECK_CONTAINS(text, "\nurl = https://h/000");
	for (char *l = text; *l; l = strchr(l, '\n') + 1)
		CHECK(strcspn(l, "\n") <= MFS_PIN_MAX_LINE);
	free(text);
	/* Too long for the url line itself. */
	snprintf(big, sizeof(big), "https://h/%0200d", 0);
	o.url = big;
	text = NULL;
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), -E2BIG);
	CHECK_CONTAINS(err, "url line");
	CHECK(text == NULL);
}

/* What pin prints must read back through the real config parser. */
static void test_roundtrip_plain(void)
{
	struct mfs_pin_opts o = {
		.url = "https://host/zoo/x.params", .path = "zoo/x.params", .source = "zoo", .sha1 = true,
	};
	struct mfs_pin_result r = { .size = 1234 };
	struct mfs_config *cfg = NULL;
	char err[512], *text = NULL, *ini = NULL;

	set_digests(&r.digests, 0xab, 0xcd, true);
	CHECK_EQ_INT(mfs_pin_format(&o, &r, 0, &text, err, sizeof(err)), 0);
	CHECK(asprintf(&ini, "[modelfs]\nstore = /nonexistent/store\n\n[source zoo]\n"
			     "url = https://host/zoo/\n\n%s", text) > 0);
	CHECK_EQ_INT(mfs_config_parse_string("pin.ini", ini, &cfg, err, sizeof(err)), 0);
	if (cfg) {
		const struct mfs_model *m = mfs_config_find(cfg, "zoo/x.params");

		CHECK(m != NULL);
		if (m) {
			CHECK_EQ_INT(m->size, 1234);
			CHECK_STR(m->url, "https://host/zoo/x.params");
			CHECK(mfs_digests_match(&r.digests, &m->digests, NULL));
		}
		mfs_config_free(cfg);
	} else {
		fprintf(stderr, "  %s\n", err);
	}
	free(ini);
	free(text);
}

/* The archive sections too: one member, and a folder of them. */
static void test_roundtrip_archive(void)
{
	struct mfs_pin_opts om = {
		.url = "https://mirror/gluon/models/a-01234567.zip", .path = "a-01234567.params",
		.source = "m", .sha1 = true, .zip = true, .member = "a-01234567.params",
	};
	struct mfs_pin_opts od = {
		.url = "https://mirror/fn/20180402-114759.zip", .path = "fn/20180402-114759",
		.source = "m", .zip = true, .member_prefix = "20180402-114759/",
	};
	struct mfs_pin_file fm = { .name = "a-01234567.params", .size = 10 };
	struct mfs_pin_file fd[2] = { { .name = "x.pb", .size = 20 }, { .name = "y.meta", .size = 30 } };
	struct mfs_pin_result rm = { .size = 100, .files = &fm, .nfiles = 1 };
	struct mfs_pin_result rd = { .size = 200, .files = fd, .nfiles = 2 };
	struct mfs_config *cfg = NULL;
	char err[512], *tm = NULL, *td = NULL, *ini = NULL;

	set_digests(&rm.digests, 0x02, 0, false);
	set_digests(&fm.digests, 0x01, 0x03, true);
	set_digests(&rd.digests, 0x02, 0, false);
	set_digests(&fd[0].digests, 0xab, 0, false);
	set_digests(&fd[1].digests, 0x01, 0, false);
	CHECK_EQ_INT(mfs_pin_format(&om, &rm, 0, &tm, err, sizeof(err)), 0);
	CHECK_EQ_INT(mfs_pin_format(&od, &rd, 0, &td, err, sizeof(err)), 0);
	CHECK(asprintf(&ini, "[source m]\nurl = https://mirror/\n\n%s\n%s", tm, td) > 0);
	CHECK_EQ_INT(mfs_config_parse_string("pin.ini", ini, &cfg, err, sizeof(err)), 0);
	if (cfg) {
		const struct mfs_model *a = mfs_config_find(cfg, "a-01234567.params");
		const struct mfs_model *y = mfs_config_find(cfg, "fn/20180402-114759/y.meta");

		CHECK_EQ_INT(cfg->nmodels, 3);
		CHECK(a && a->archive && y && y->archive);
		if (a && a->archive) {
			CHECK_STR(a->member, "a-01234567.params");
			CHECK_EQ_INT(a->size, 10);
			CHECK(mfs_digests_match(&fm.digests, &a->digests, NULL));
			CHECK_EQ_INT(a->archive->size, 100);
			CHECK(mfs_digests_match(&rm.digests, &a->archive->digests, NULL));
		}
		if (y && y->archive) {
			CHECK_STR(y->member, "20180402-114759/y.meta");
			CHECK_EQ_INT(y->size, 30);
			CHECK(mfs_digests_match(&fd[1].digests, &y->digests, NULL));
			CHECK_EQ_INT(y->archive->size, 200);
			CHECK_EQ_INT(y->archive->nmembers, 2);
		}
		mfs_config_free(cfg);
	} else {
		fprintf(stderr, "  %s\n", err);
	}
	free(ini);
	free(tm);
	free(td);
}

int main(void)
{
	RUN(test_section_id);
	RUN(test_member_name);
	RUN(test_ini_safe);
	RUN(test_check_opts);
	RUN(test_format_plain);
	RUN(test_format_member);
	RUN(test_format_directory);
	RUN(test_format_long_url);
	RUN(test_roundtrip_plain);
	RUN(test_roundtrip_archive);
	return unit_done();
}
