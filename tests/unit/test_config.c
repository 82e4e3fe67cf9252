/* Unit tests for fs/config.c. */
#include "config.h"
#include "mountpath.h"
#include "store.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define H40 "da39a3ee5e6b4b0d3255bfef95601890afd80709"
#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define H64U "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define H64BAD "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g"
#define H128 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

/* Lines 1-2. */
#define SRC "[source zoo]\nurl = https://models.example.com/zoo/\n"
/* Header, source, path, url, size on five lines, then `rest`. */
#define MODEL(name, path, url, size, rest) \
	"[model " name "]\nsource = zoo\npath = " path "\nurl = " url "\nsize = " size "\n" rest
/* After SRC: lines 3-8. */
#define OK_MODEL MODEL("m", "a/m.bin", "m.bin", "10", "sha256 = " H64 "\n")
/* A model from a zip: header, source, path, url, archive on five lines,
 * then `rest`; after SRC lines 3-7, `rest` from line 8. */
#define ARCH(name, path, rest) \
	"[model " name "]\nsource = zoo\npath = " path "\nurl = a.zip\narchive = zip\n" rest
#define FILE_LINE(name) "file = " name " 1 sha256:" H64 "\n"
#define MIB (1ull << 20)

static char tmpdir[] = "/tmp/mfs-test-config-XXXXXX";
static struct mfs_config sentinel;

/* Parses `text` as "t.ini" and expects -EINVAL, no config, and an error
 * starting with `where` (e.g. "t.ini:7:") that contains `phrase`. */
#define BAD(text, where, phrase) bad(__LINE__, text, where, phrase)
static void bad(int at, const char *text, const char *where, const char *phrase)
{
	struct mfs_config *cfg = &sentinel;
	char err[512] = "";
	int rc = mfs_config_parse_string("t.ini", text, &cfg, err, sizeof(err));

	if (rc != -EINVAL || cfg || strncmp(err, where, strlen(where)) || !strstr(err, phrase)) {
		fprintf(stderr, "  %s:%d: rc %d, cfg %p, err \"%s\"; want \"%s ... %s\"\n", __FILE__,
			at, rc, (void *)cfg, err, where, phrase);
		unit_cur_failed = 1;
	}
	if (cfg != &sentinel)
		mfs_config_free(cfg);
}

#define GOOD(text) good(__LINE__, text)
static struct mfs_config *good(int at, const char *text)
{
	struct mfs_config *cfg = &sentinel;
	char err[512] = "";
	int rc = mfs_config_parse_string("t.ini", text, &cfg, err, sizeof(err));

	if (rc != 0 || !cfg || cfg == &sentinel) {
		fprintf(stderr, "  %s:%d: rc %d, err \"%s\"\n", __FILE__, at, rc, err);
		unit_cur_failed = 1;
		return NULL;
	}
	return cfg;
}

/* Writes `len` bytes to tmpdir/name; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(text, 1, len, f) == len);
		CHECK(fclose(f) == 0);
	}
	return path;
}

static const char *write_text(const char *name, const char *text)
{
	return write_file(name, text, strlen(text));
}

static const char *ca_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	return path;
}

/* The full config; %s is the ca_file. */
static const char full_fmt[] =
	"; modelfs test config\n"                                        /* 1 */
	"[modelfs]\n"
	"store = /srv/models\n"
	"audit_log = /var/log/mfs.jsonl\n"
	"connect_timeout = 7\n"                                          /* 5 */
	"low_speed_limit = 2048\n"
	"low_speed_time = 45\n"
	"\n"
	"[model resnet50]\n"
	"source = zoo ; defined below\n"                                 /* 10 */
	"path = zoo/resnet50.params\n"
	"url = resnet50_v1b-0ecdba34.params\n"
	"size = 102488391\n"
	"sha256 = " H64U "\n"
	"sha512 = " H128 "\n"                                            /* 15 */
	"\n"
	"[model old]\n"
	"source = legacy\n"
	"path = gluon/old.params\n"
	"url = http://legacy.example.org:8080/m/sub/old.params\n"       /* 20 */
	"size = 5\n"
	"sha1 = " H40 "\n"
	"\n"
	"[source zoo]\n"
	"url = https://Models.Example.com/zoo\n"                         /* 25 */
	"ca_file = %s\n"
	"redirect_hosts = CDN.example.com   other.example.com\n"
	"\n"
	"# a source with no models is fine\n"
	"[source empty]\n"                                               /* 30 */
	"url = https://empty.example.com\n"
	"\n"
	"[source legacy]\n"
	"url = http://legacy.example.org:8080/m/\n"
	"allow_http = yes\n"                                             /* 35 */
	"allow_sha1 = TRUE\n"
	"\n"
	"[model both]\n"
	"source = zoo\n"
	"path = zoo/sub/both.bin\n"                                      /* 40 */
	"url = https://Models.Example.com/zoo/sub/both.bin\n"
	"size = 1\n"
	"sha1 = " H40 "\n"
	"sha256 = " H64 "\n"
	"allow_sha1 = yes\n";                                            /* 45 */

static void check_full(const struct mfs_config *cfg, const char *file)
{
	const struct mfs_source *zoo, *empty, *legacy;
	const struct mfs_model *m;
	unsigned char d[64];

	CHECK_STR(cfg->file, file);
	CHECK_STR(cfg->store, "/srv/models");
	CHECK_STR(cfg->audit_log, "/var/log/mfs.jsonl");
	CHECK_EQ_INT(cfg->connect_timeout, 7);
	CHECK_EQ_INT(cfg->low_speed_limit, 2048);
	CHECK_EQ_INT(cfg->low_speed_time, 45);
	CHECK(cfg->lock_files);
	CHECK(cfg->passthrough);
	CHECK(cfg->archives == NULL && cfg->narchives == 0);

	CHECK_EQ_INT(cfg->nsources, 3);
	if (cfg->nsources != 3)
		return;
	zoo = &cfg->sources[0];
	empty = &cfg->sources[1];
	legacy = &cfg->sources[2];
	CHECK_STR(zoo->name, "zoo");
	CHECK_STR(zoo->url, "https://Models.Example.com/zoo/");
	CHECK_STR(zoo->host, "models.example.com");
	CHECK_STR(zoo->ca_file, ca_path());
	CHECK(!zoo->allow_http && !zoo->allow_sha1);
	CHECK(zoo->redirect_hosts != NULL);
	if (zoo->redirect_hosts) {
		CHECK_STR(zoo->redirect_hosts[0], "cdn.example.com");
		CHECK_STR(zoo->redirect_hosts[1], "other.example.com");
		CHECK(zoo->redirect_hosts[2] == NULL);
	}
	CHECK_EQ_INT(zoo->line, 24);
	CHECK_STR(empty->name, "empty");
	CHECK_STR(empty->url, "https://empty.example.com/");
	CHECK_STR(empty->host, "empty.example.com");
	CHECK(empty->ca_file == NULL && empty->redirect_hosts == NULL);
	CHECK_EQ_INT(empty->line, 30);
	CHECK_STR(legacy->url, "http://legacy.example.org:8080/m/");
	CHECK_STR(legacy->host, "legacy.example.org");
	CHECK(legacy->allow_http && legacy->allow_sha1);

	CHECK_EQ_INT(cfg->nmodels, 3);
	if (cfg->nmodels != 3)
		return;
	m = &cfg->models[0];
	CHECK_STR(m->name, "resnet50");
	CHECK(m->source == zoo);
	CHECK_STR(m->path, "zoo/resnet50.params");
	CHECK_STR(m->url, "https://Models.Example.com/zoo/resnet50_v1b-0ecdba34.params");
	CHECK_EQ_INT(m->size, 102488391);
	CHECK_EQ_INT(m->digests.mask, MFS_ALGO_BIT(MFS_SHA256) | MFS_ALGO_BIT(MFS_SHA512));
	CHECK(mfs_hex_decode(H64, d, 32) == 0 && !memcmp(m->digests.d[MFS_SHA256], d, 32));
	CHECK(mfs_hex_decode(H128, d, 64) == 0 && !memcmp(m->digests.d[MFS_SHA512], d, 64));
	CHECK(!m->weak);
	CHECK_EQ_INT(m->line, 9);

	m = &cfg->models[1];
	CHECK_STR(m->name, "old");
	CHECK(m->source == legacy);
	CHECK_STR(m->url, "http://legacy.example.org:8080/m/sub/old.params");
	CHECK_EQ_INT(m->size, 5);
	CHECK_EQ_INT(m->digests.mask, MFS_ALGO_BIT(MFS_SHA1));
	CHECK(mfs_hex_decode(H40, d, 20) == 0 && !memcmp(m->digests.d[MFS_SHA1], d, 20));
	CHECK(m->weak);
	CHECK_EQ_INT(m->line, 17);

	m = &cfg->models[2];
	CHECK_STR(m->name, "both");
	CHECK(m->source == zoo);
	CHECK_STR(m->path, "zoo/sub/both.bin");
	CHECK_STR(m->url, "https://Models.Example.com/zoo/sub/both.bin");
	CHECK_EQ_INT(m->digests.mask, MFS_ALGO_BIT(MFS_SHA1) | MFS_ALGO_BIT(MFS_SHA256));
	CHECK(!m->weak);
	CHECK_EQ_INT(m->line, 38);
	for (size_t i = 0; i < cfg->nmodels; i++)
		CHECK(cfg->models[i].archive == NULL && cfg->models[i].member == NULL);
}

static void test_full(void)
{
	char text[4096];
	struct mfs_config *cfg;

	snprintf(text, sizeof(text), full_fmt, ca_path());
	cfg = GOOD(text);
	if (cfg)
		check_full(cfg, "t.ini");
	mfs_config_free(cfg);
}

static void test_defaults(void)
{
	struct mfs_config *cfg = GOOD(SRC OK_MODEL);

	if (cfg) {
		CHECK_STR(cfg->store, MFS_DEFAULT_STORE);
		CHECK_STR(cfg->audit_log, MFS_DEFAULT_STORE "/audit.jsonl");
		CHECK_EQ_INT(cfg->connect_timeout, MFS_DEFAULT_CONNECT_TIMEOUT);
		CHECK_EQ_INT(cfg->low_speed_limit, MFS_DEFAULT_LOW_SPEED_LIMIT);
		CHECK_EQ_INT(cfg->low_speed_time, MFS_DEFAULT_LOW_SPEED_TIME);
		CHECK(cfg->sources[0].ca_file == NULL && cfg->sources[0].redirect_hosts == NULL);
		CHECK(!cfg->sources[0].allow_http && !cfg->sources[0].allow_sha1);
		CHECK(cfg->lock_files);
	}
	mfs_config_free(cfg);

	cfg = GOOD("[modelfs]\nstore = /data/\n");
	if (cfg) {
		CHECK_STR(cfg->audit_log, "/data/audit.jsonl");
		CHECK_EQ_INT(cfg->nsources, 0);
		CHECK_EQ_INT(cfg->nmodels, 0);
	}
	mfs_config_free(cfg);
	cfg = GOOD("");
	mfs_config_free(cfg);
}

static void test_bad_sections(void)
{
	BAD("[foo]\n", "t.ini:1:", "unknown section [foo]");
	BAD(SRC OK_MODEL "[model]\n", "t.ini:9:", "unknown section");
	BAD("[source]\n", "t.ini:1:", "unknown section");
	BAD("[modelfs x]\n", "t.ini:1:", "unknown section");
	BAD("[Model x]\n", "t.ini:1:", "unknown section");
	BAD(SRC "[model a/b]\n", "t.ini:3:", "bad section name 'a/b'");
	BAD(SRC "[model a b]\n", "t.ini:3:", "bad section name");
	BAD(SRC "[model ü]\n", "t.ini:3:", "bad section name");
	BAD(SRC "[model x] junk\n", "t.ini:3:", "text after ']'");
	BAD("[modelfs]\n\n[modelfs]\n", "t.ini:3:", "duplicate section [modelfs] (first at line 1)");
	BAD(SRC "\n" SRC, "t.ini:4:", "duplicate section [source zoo] (first at line 1)");
	BAD(SRC OK_MODEL OK_MODEL, "t.ini:9:", "duplicate section [model m] (first at line 3)");
	/* the same name in two kinds is no clash */
	mfs_config_free(GOOD(SRC MODEL("zoo", "a/m.bin", "m.bin", "10", "sha256 = " H64 "\n")));
	/* spacing inside the brackets does not matter, and names the model */
	mfs_config_free(GOOD(SRC "[ model \t m ] ; c\nsource = zoo\npath = p\nurl = u\nsize = 1\n"
			     "sha256 = " H64 "\n"));
	BAD(SRC "[model x\n", "t.ini:3:", "syntax error");
}

static void test_bad_keys(void)
{
	BAD("store = /x\n", "t.ini:1:", "outside any section");
	BAD(SRC OK_MODEL "colour = red\n", "t.ini:9:", "unknown key 'colour' in [model m]");
	BAD(SRC OK_MODEL "ca_file = /etc/hosts\n", "t.ini:9:", "unknown key 'ca_file'");
	BAD(SRC "size = 1\n", "t.ini:3:", "unknown key 'size' in [source zoo]");
	BAD("[modelfs]\nurl = https://x/\n", "t.ini:2:", "unknown key 'url' in [modelfs]");
	BAD(SRC OK_MODEL "URL = x\n", "t.ini:9:", "unknown key 'URL'");
	BAD(SRC OK_MODEL "size = 11\n", "t.ini:9:", "duplicate key 'size' in [model m] (first at line 7)");
	BAD(SRC "url = https://b/\n", "t.ini:3:", "duplicate key 'url'");
	BAD("[modelfs]\nstore = /a\nstore = /a\n", "t.ini:3:", "duplicate key 'store'");
	BAD(SRC MODEL("m", "", "m.bin", "10", "sha256 = " H64 "\n"), "t.ini:5:", "empty value for 'path'");
	BAD(SRC "garbage\n", "t.ini:3:", "syntax error");
	/* inih's syntax error comes first even though it reports it last */
	BAD(SRC "garbage\ncolour = x\n", "t.ini:3:", "syntax error");

	BAD(SRC "[model m]\npath = a\nurl = m\nsize = 1\nsha256 = " H64 "\n", "t.ini:3:",
	    "missing required key 'source' in [model m]");
	BAD(SRC "[model m]\nsource = zoo\nurl = m\nsize = 1\nsha256 = " H64 "\n", "t.ini:3:",
	    "missing required key 'path'");
	BAD(SRC "[model m]\nsource = zoo\npath = a\nsize = 1\nsha256 = " H64 "\n", "t.ini:3:",
	    "missing required key 'url'");
	BAD(SRC "[model m]\nsource = zoo\npath = a\nurl = m\nsha256 = " H64 "\n", "t.ini:3:",
	    "missing required key 'size'");
	BAD(SRC MODEL("m", "a", "m", "1", ""), "t.ini:3:", "missing required key 'sha256' or 'sha512'");
	BAD(SRC MODEL("m", "a", "m", "1", "allow_sha1 = yes\n"), "t.ini:3:", "missing required key 'sha256'");
	BAD("[source s]\nallow_http = yes\n", "t.ini:1:", "missing required key 'url' in [source s]");
}

static void test_bad_values(void)
{
	static const char *const sizes[] = {
		"abc", "-1", "0", "+5", "1 0", "10x", "0x10", "1e3", "18446744073709551616",
		"9223372036854775808", "99999999999999999999999",
	};
	char text[1024];
	struct mfs_config *cfg;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text), SRC MODEL("m", "a", "m", "%s", "sha256 = " H64 "\n"), sizes[i]);
		BAD(text, "t.ini:7:", "bad size");
	}
	cfg = GOOD(SRC MODEL("m", "a", "m", "9223372036854775807", "sha256 = " H64 "\n"));
	CHECK(cfg && cfg->models[0].size == 9223372036854775807ull);
	mfs_config_free(cfg);

	BAD(SRC MODEL("m", "a", "m", "1", "sha256 = " H40 "\n"), "t.ini:8:",
	    "bad sha256 digest: expected 64 hex digits, got 40 characters");
	BAD(SRC MODEL("m", "a", "m", "1", "sha512 = " H64 "\n"), "t.ini:8:",
	    "expected 128 hex digits, got 64");
	BAD(SRC MODEL("m", "a", "m", "1", "allow_sha1 = yes\nsha1 = " H40 "0\n"), "t.ini:9:",
	    "bad sha1 digest: expected 40 hex digits");
	BAD(SRC MODEL("m", "a", "m", "1", "sha256 = g" H64 "\n"), "t.ini:8:", "got 65 characters");
	BAD(SRC MODEL("m", "a", "m", "1", "sha256 = " H64BAD "\n"), "t.ini:8:", "is not hex");
	BAD(SRC MODEL("m", "a", "m", "1", "sha256 = " H64 "\nsha512 = " H64BAD H64 "\n"),
	    "t.ini:9:", "bad sha512 digest: '" H64BAD);

	BAD(SRC "allow_http = maybe\n", "t.ini:3:", "bad boolean for allow_http: 'maybe'");
	BAD(SRC "allow_sha1 = 2\n", "t.ini:3:", "bad boolean for allow_sha1");
	BAD(SRC OK_MODEL "allow_sha1 = y\n", "t.ini:9:", "bad boolean");
	cfg = GOOD("[source a]\nurl = http://a/\nallow_http = 1\nallow_sha1 = Yes\n"
		   "[source b]\nurl = https://b/\nallow_http = false\nallow_sha1 = 0\n"
		   "[source c]\nurl = https://c/\nallow_http = NO\nallow_sha1 = False\n");
	if (cfg) {
		CHECK(cfg->sources[0].allow_http && cfg->sources[0].allow_sha1);
		CHECK(!cfg->sources[1].allow_http && !cfg->sources[1].allow_sha1);
		CHECK(!cfg->sources[2].allow_http && !cfg->sources[2].allow_sha1);
	}
	mfs_config_free(cfg);

	BAD("[modelfs]\nconnect_timeout = 0\n", "t.ini:2:", "bad number for connect_timeout");
	BAD("[modelfs]\nconnect_timeout = -1\n", "t.ini:2:", "bad number for connect_timeout");
	BAD("[modelfs]\n\nlow_speed_limit = abc\n", "t.ini:3:", "bad number for low_speed_limit");
	BAD("[modelfs]\nlow_speed_time = 99999999999999999999\n", "t.ini:2:", "bad number for low_speed_time");
	BAD("[modelfs]\nlow_speed_time = 3000000000\n", "t.ini:2:", "bad number");
	BAD("[modelfs]\nlow_speed_time = 5s\n", "t.ini:2:", "bad number");
	BAD("[modelfs]\nstore = var/lib/modelfs\n", "t.ini:2:", "store must be an absolute path");
	BAD("[modelfs]\naudit_log = audit.jsonl\n", "t.ini:2:", "audit_log must be an absolute path");

	BAD(SRC "ca_file = ca.pem\n", "t.ini:3:", "ca_file must be an absolute path");
	BAD(SRC "ca_file = /nonexistent/ca.pem\n", "t.ini:3:",
	    "ca_file '/nonexistent/ca.pem' is not readable: No such file or directory");
	BAD(SRC "redirect_hosts = ok.example.com bad/host\n", "t.ini:3:", "bad host 'bad/host'");
	BAD(SRC "redirect_hosts = a,b\n", "t.ini:3:", "bad host 'a,b'");
}

/* Issue 10 §1: retries, min_rate, mirrors, redirect_hosts with ports. */
static void test_sources_keys(void)
{
	struct mfs_config *cfg;
	char *u = NULL;

	cfg = GOOD("[modelfs]\nretries = 5\nmin_rate = 64K\nmin_rate_after = 15\nwrite_unit = 256K\n"
		   "[source a]\nurl = https://a.example/m/\n"
		   "mirrors = https://b.example/x/ https://c.example:8443/y/\nretries = 0\n"
		   "redirect_hosts = CDN.example:8443 d.example\n"
		   "[source b]\nurl = https://b.example/\n"
		   "[model m]\nsource = a\npath = m\nurl = d/m.bin\nsize = 1\nsha256 = " H64 "\n");
	if (cfg) {
		CHECK(cfg->retries == 5 && cfg->min_rate == 65536 && cfg->min_rate_after == 15);
		CHECK(cfg->write_unit == 256 << 10);
		CHECK(cfg->sources[0].retries == 0 && cfg->sources[1].retries == -1);
		CHECK(cfg->sources[1].mirrors == NULL);
		CHECK_STR(cfg->sources[0].redirect_hosts[0], "cdn.example:8443");
		CHECK_STR(cfg->sources[0].redirect_hosts[1], "d.example");
		CHECK(mfs_source_url(&cfg->sources[0], cfg->models[0].url, 0, &u) == 3);
		CHECK_STR(u, "https://a.example/m/d/m.bin");
		free(u);
		u = NULL;
		mfs_source_url(&cfg->sources[0], cfg->models[0].url, 1, &u);
		CHECK_STR(u, "https://b.example/x/d/m.bin");
		free(u);
		u = NULL;
		mfs_source_url(&cfg->sources[0], cfg->models[0].url, 2, &u);
		CHECK_STR(u, "https://c.example:8443/y/d/m.bin");
		free(u);
		u = NULL;
		CHECK(mfs_source_url(&cfg->sources[1], "https://b.example/z", 1, &u) == 1 && !u);
	}
	mfs_config_free(cfg);

	cfg = GOOD("[source a]\nurl = https://a/\nproxy = none\n"
		   "[source b]\nurl = https://b/\nproxy = http://Squid.example:3128\n"
		   "[source c]\nurl = https://c/\n");
	if (cfg) {
		CHECK_STR(cfg->sources[0].proxy, "");
		CHECK_STR(cfg->sources[1].proxy, "http://Squid.example:3128/");
		CHECK(cfg->sources[2].proxy == NULL);
	}
	mfs_config_free(cfg);
	BAD(SRC "proxy = socks5://h:1080\n", "t.ini:3:", "bad proxy 'socks5://h:1080'");
	BAD(SRC "proxy = http://u:p@h:3128\n", "t.ini:3:", "credentials in proxy");
	BAD(SRC "proxy = http://h:99999\n", "t.ini:3:", "bad proxy");
	BAD("[modelfs]\nproxy = none\n", "t.ini:2:", "proxy");

	cfg = GOOD("[source s]\nurl = s3://bucket-1/zoo\ns3_endpoint = https://127.0.0.1:9000\n"
		   "s3_path_style = yes\ns3_region = eu-west-1\ns3_credentials = /etc/aws\n"
		   "s3_profile = ci\n"
		   "[model m]\nsource = s\npath = m\nurl = m.bin\nsize = 1\nsha256 = " H64 "\n");
	if (cfg) {
		CHECK_STR(cfg->sources[0].s3_url, "s3://bucket-1/zoo");
		CHECK_STR(cfg->sources[0].url, "https://127.0.0.1:9000/bucket-1/zoo/");
		CHECK_STR(cfg->models[0].url, "https://127.0.0.1:9000/bucket-1/zoo/m.bin");
		CHECK_STR(cfg->sources[0].s3_profile, "ci");
	}
	mfs_config_free(cfg);
	BAD(SRC "s3_region = eu-west-1\n", "t.ini:3:", "s3_region needs an s3:// url in [source zoo]");
	BAD("[source s]\nurl = s3://B/\n", "t.ini:2:", "bad bucket name 'B'");
	BAD("[source s]\nurl = s3://b.c.d/\n", "t.ini:2:", "bad bucket name 'b.c.d'");
	BAD("[source s]\nurl = s3://bucket/\ns3_region = x y\n", "t.ini:3:", "bad region 'x y'");
	BAD("[source s]\nurl = s3://bucket/\ns3_endpoint = http://h:9000\n", "t.ini:3:",
	    "bad s3_endpoint 'http://h:9000'");
	BAD("[source s]\nurl = s3://bucket/\ns3_endpoint = ftp://h\n", "t.ini:3:", "bad s3_endpoint");
	BAD("[source s]\nurl = s3://bucket/\ns3_profile = ci\n", "t.ini:3:",
	    "s3_profile needs s3_credentials");
	BAD("[source s]\nurl = s3://bucket/\ns3_credentials = aws.ini\n", "t.ini:3:",
	    "s3_credentials must be an absolute path");
	BAD("[source s]\nurl = s3://bucket/\ns3_path_style = maybe\n", "t.ini:3:", "bad boolean");

	cfg = GOOD("[modelfs]\nconnections = 8\nparallel_min = 16M\n"
		   "[source a]\nurl = https://a/\nconnections = 1\nparallel_min = 1G\n"
		   "[source b]\nurl = https://b/\n");
	if (cfg) {
		CHECK(cfg->connections == 8 && cfg->parallel_min == 16ULL << 20);
		CHECK(cfg->sources[0].connections == 1 && cfg->sources[0].parallel_min == 1ULL << 30);
		CHECK(cfg->sources[1].connections == -1 && cfg->sources[1].parallel_min == 0);
	}
	mfs_config_free(cfg);
	cfg = GOOD(SRC);
	if (cfg)
		CHECK(cfg->connections == MFS_DEFAULT_CONNECTIONS &&
		      cfg->parallel_min == MFS_DEFAULT_PARALLEL_MIN);
	mfs_config_free(cfg);
	BAD("[modelfs]\nconnections = 0\n", "t.ini:2:", "bad number for connections: '0' (from 1 to 16)");
	BAD("[modelfs]\nconnections = 17\n", "t.ini:2:", "bad number for connections");
	BAD(SRC "connections = many\n", "t.ini:3:", "bad number for connections");
	BAD("[modelfs]\nparallel_min = 0\n", "t.ini:2:", "bad size for parallel_min: '0'");
	BAD(SRC "parallel_min = 5Q\n", "t.ini:3:", "bad size for parallel_min");

	cfg = GOOD("[modelfs]\nmin_rate = 0\n" SRC);
	if (cfg)
		CHECK(cfg->min_rate == 0 && cfg->retries == MFS_DEFAULT_RETRIES);
	mfs_config_free(cfg);
	cfg = GOOD(SRC);
	if (cfg)
		CHECK(cfg->min_rate == MFS_DEFAULT_MIN_RATE && cfg->min_rate_after == 60);
	if (cfg)
		CHECK(cfg->write_unit == 2 << 20);
	mfs_config_free(cfg);
	BAD("[modelfs]\nmin_rate_after = 0\n", "t.ini:2:",
	    "bad number for min_rate_after: '0' (seconds, 1-3600)");
	BAD("[modelfs]\nmin_rate_after = 3601\n", "t.ini:2:", "bad number for min_rate_after");
	BAD("[modelfs]\nwrite_unit = 32K\n", "t.ini:2:",
	    "bad size for write_unit: '32K' (a power of two from 64K to 2M)");
	BAD("[modelfs]\nwrite_unit = 4M\n", "t.ini:2:", "bad size for write_unit");
	BAD("[modelfs]\nwrite_unit = 96K\n", "t.ini:2:", "bad size for write_unit");
	BAD(SRC "min_rate_after = 5\n", "t.ini:3:", "unknown key 'min_rate_after' in [source zoo]");

	BAD("[modelfs]\nretries = 11\n", "t.ini:2:", "bad number for retries: '11' (from 0 to 10)");
	BAD("[modelfs]\nretries = -1\n", "t.ini:2:", "bad number for retries");
	BAD(SRC "retries = two\n", "t.ini:3:", "bad number for retries");
	BAD("[modelfs]\nmin_rate = fast\n", "t.ini:2:", "bad rate for min_rate: 'fast'");
	BAD("[modelfs]\nmin_rate = -5\n", "t.ini:2:", "bad rate for min_rate");
	BAD(SRC "min_rate = 1K\n", "t.ini:3:", "min_rate");
	BAD(SRC "mirrors = http://b.example/\n", "t.ini:3:",
	    "plain http mirror 'http://b.example/' needs allow_http = yes in [source zoo]");
	BAD(SRC "mirrors = https://b.example/ ftp://c.example/\n", "t.ini:3:", "bad mirror 'ftp://c.example/'");
	BAD(SRC "mirrors = https://user:pw@b.example/\n", "t.ini:3:", "bad mirror");
	BAD("[modelfs]\nmirrors = https://b.example/\n", "t.ini:2:", "mirrors");
	BAD(SRC "redirect_hosts = a.example:99999\n", "t.ini:3:", "bad host 'a.example:99999'");
	BAD(SRC "redirect_hosts = a.example:\n", "t.ini:3:", "bad host 'a.example:'");
	BAD(SRC "redirect_hosts = a.example:x1\n", "t.ini:3:", "bad host 'a.example:x1'");
}

static void test_bad_paths(void)
{
	static const struct { const char *path, *why; } cases[] = {
		{ "a/../b", "'..' component" }, { "..", "'..' component" },
		{ "../b", "'..' component" }, { "a/..", "'..' component" },
		{ "./a", "'.' component" }, { "a/./b", "'.' component" }, { ".", "'.' component" },
		{ "a//b", "empty component" }, { "/a", "no leading '/'" }, { "//a", "no leading '/'" },
		{ "a/", "trailing '/'" },
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), SRC MODEL("m", "%s", "m", "1", "sha256 = " H64 "\n"),
			 cases[i].path);
		BAD(text, "t.ini:5:", cases[i].why);
	}
	BAD(SRC OK_MODEL MODEL("n", "a/m.bin", "n", "1", "sha256 = " H64 "\n"), "t.ini:11:",
	    "duplicate path 'a/m.bin' (also in [model m] at line 5)");
	BAD(SRC MODEL("m", "a/b", "m", "1", "sha256 = " H64 "\n") MODEL("n", "a/b/c", "n", "1", "sha256 = " H64 "\n"),
	    "t.ini:11:", "'a/b' would be both a file and a directory");
	BAD(SRC MODEL("m", "a/b/c/d", "m", "1", "sha256 = " H64 "\n") MODEL("n", "a/b", "n", "1", "sha256 = " H64 "\n"),
	    "t.ini:11:", "path 'a/b' clashes with 'a/b/c/d' of [model m] at line 5");
	/* of several clashes, the first in the file is reported */
	BAD(SRC MODEL("m", "x/y", "m", "1", "sha256 = " H64 "\n") MODEL("n", "a", "n", "1", "sha256 = " H64 "\n")
	    MODEL("o", "x/y", "o", "1", "sha256 = " H64 "\n") MODEL("p", "a/b", "p", "1", "sha256 = " H64 "\n"),
	    "t.ini:17:", "duplicate path 'x/y'");
	/* siblings that merely share a prefix are fine */
	mfs_config_free(GOOD(SRC MODEL("m", "a/b", "m", "1", "sha256 = " H64 "\n")
			     MODEL("n", "a/b-c/d", "n", "1", "sha256 = " H64 "\n")
			     MODEL("o", "a/bc", "o", "1", "sha256 = " H64 "\n")));
}

static void test_check_path(void)
{
	char buf[5000], text[512];
	const char *why = NULL;

	CHECK_EQ_INT(mfs_mountpath_check("a/b.c/d-e_f", &why), 0);
	CHECK_EQ_INT(mfs_mountpath_check("..a/b..", &why), 0);
	CHECK_EQ_INT(mfs_mountpath_check("", &why), -EINVAL);
	CHECK_STR(why, "empty path");
	CHECK_EQ_INT(mfs_mountpath_check("a/../b", NULL), -EINVAL);
	memset(buf, 'x', 256);
	buf[256] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), -EINVAL);
	CHECK_STR(why, "component longer than 255 bytes");
	buf[255] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), 0);
	for (size_t i = 0; i < 4096; i++)
		buf[i] = i % 2 ? '/' : 'x';
	buf[4095] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), 0);
	buf[4095] = 'x';
	buf[4096] = '\0';
	CHECK_EQ_INT(mfs_mountpath_check(buf, &why), -EINVAL);
	CHECK_STR(why, "longer than 4095 bytes");

	/* a component over 255 bytes cannot fit on a config line at all */
	memset(buf, 'x', 256);
	buf[256] = '\0';
	snprintf(text, sizeof(text), SRC "[model m]\npath = %.256s\n", buf);
	BAD(text, "t.ini:4:", "line too long (263 characters, at most 199)");
}

static void test_bad_urls(void)
{
	static const struct { const char *url, *why; } models[] = {
		{ "../x", "'..' segment" }, { "a/../x", "'..' segment" }, { "a/..", "'..' segment" },
		{ "a/%2E%2e/x", "'..' segment" }, { ".%2e/x", "'..' segment" },
		{ "https://models.example.com/zoo/../x", "'..' segment" },
		{ "/zoo/x", "no leading '/'" }, { "//evil.example.com/x", "no leading '/'" },
		{ "x#frag", "'#'" }, { "a b", "space" },
		{ "https://evil.example.com/zoo/x", "outside its source's base" },
		{ "https://models.example.com/zoo2/x", "outside" },
		{ "https://models.example.com/x", "outside" },
		{ "x?u=https://evil.example.com/", "outside" },
		{ "ftp://models.example.com/zoo/x", "outside" },
		{ "http://models.example.com/zoo/x", "needs allow_http = yes in [source zoo]" },
		{ "https://models.example.com/zoo/", "names no file" },
	};
	static const struct { const char *url, *why; } sources[] = {
		{ "http://models.example.com/", "plain http url 'http://models.example.com/' needs allow_http" },
		{ "ftp://models.example.com/", "must start with https://" },
		{ "models.example.com/zoo/", "must start with https://" },
		{ "https:///zoo/", "has no host" }, { "https://", "has no host" },
		{ "https://:443/", "has no host" },
		{ "https://user@models.example.com/", "userinfo" },
		{ "https://models.example.com:99999/", "bad port" },
		{ "https://models.example.com:/", "bad port" },
		{ "https://models.example.com:44x/", "bad port" },
		{ "https://mo_dels.example.com/", "bad host" },
		{ "https://models.example.com/?q=1", "'?'" },
		{ "https://models.example.com/#x", "'#'" },
	};
	char text[1024];
	struct mfs_config *cfg;

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		snprintf(text, sizeof(text), SRC MODEL("m", "a", "%s", "1", "sha256 = " H64 "\n"),
			 models[i].url);
		BAD(text, "t.ini:6:", models[i].why);
	}
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		snprintf(text, sizeof(text), "\n[source zoo]\nurl = %s\n", sources[i].url);
		BAD(text, "t.ini:3:", sources[i].why);
	}
	BAD(OK_MODEL, "t.ini:2:", "unknown source 'zoo'");

	cfg = GOOD("[source s]\nurl = http://h.example.com:8080\nallow_http = yes\n"
		   "[model m]\nsource = s\npath = p\nurl = d/m.bin?v=1\nsize = 1\nsha256 = " H64 "\n"
		   "[model n]\nsource = s\npath = q\nurl = http://h.example.com:8080/n.bin\nsize = 1\n"
		   "sha256 = " H64 "\n");
	if (cfg) {
		CHECK_STR(cfg->sources[0].url, "http://h.example.com:8080/");
		CHECK_STR(cfg->sources[0].host, "h.example.com");
		CHECK_STR(cfg->models[0].url, "http://h.example.com:8080/d/m.bin?v=1");
		CHECK_STR(cfg->models[1].url, "http://h.example.com:8080/n.bin");
	}
	mfs_config_free(cfg);
}

static void test_sha1_policy(void)
{
	struct mfs_config *cfg;

	BAD(SRC MODEL("m", "a", "m", "1", "sha1 = " H40 "\n"), "t.ini:8:", "sha1 is weak");
	BAD(SRC MODEL("m", "a", "m", "1", "sha256 = " H64 "\nsha1 = " H40 "\n"), "t.ini:9:",
	    "needs allow_sha1 = yes in [model m] or [source zoo]");
	BAD(SRC MODEL("m", "a", "m", "1", "sha1 = " H40 "\nallow_sha1 = no\n"), "t.ini:8:", "sha1 is weak");

	cfg = GOOD(SRC MODEL("m", "a", "m", "1", "sha1 = " H40 "\nallow_sha1 = yes\n"));
	CHECK(cfg && cfg->models[0].weak);
	mfs_config_free(cfg);
	cfg = GOOD("[source zoo]\nurl = https://models.example.com/zoo/\nallow_sha1 = yes\n"
		   MODEL("m", "a", "m", "1", "sha1 = " H40 "\n"));
	CHECK(cfg && cfg->models[0].weak);
	mfs_config_free(cfg);
	cfg = GOOD(SRC MODEL("m", "a", "m", "1", "sha1 = " H40 "\nsha512 = " H128 "\nallow_sha1 = 1\n"));
	CHECK(cfg && !cfg->models[0].weak);
	mfs_config_free(cfg);
}

static void test_object_name_and_find(void)
{
	struct mfs_config *cfg = GOOD(SRC MODEL("a", "x/a", "a", "1", "sha256 = " H64U "\n")
				      MODEL("b", "x/b", "b", "1", "sha256 = " H64 "\nsha512 = " H128 "\n")
				      MODEL("c", "c", "c", "1", "sha1 = " H40 "\nallow_sha1 = yes\n"));
	char buf[8 + 129];

	if (!cfg)
		return;
	mfs_store_object_name(&cfg->models[0].digests, buf, sizeof(buf));
	CHECK_STR(buf, "sha256-" H64);
	mfs_store_object_name(&cfg->models[1].digests, buf, sizeof(buf));
	CHECK_STR(buf, "sha512-" H128);
	mfs_store_object_name(&cfg->models[2].digests, buf, sizeof(buf));
	CHECK_STR(buf, "sha1-" H40);

	CHECK(mfs_config_find(cfg, "x/b") == &cfg->models[1]);
	CHECK(mfs_config_find(cfg, "c") == &cfg->models[2]);
	CHECK(mfs_config_find(cfg, "x") == NULL);
	CHECK(mfs_config_find(cfg, "/c") == NULL);
	CHECK(mfs_config_find(cfg, "x/a/") == NULL);
	mfs_config_free(cfg);
}

static void test_inih_quirks(void)
{
	char text[2048], line[256];
	struct mfs_config *cfg;

	/* 199 characters pass whole, 200 are refused */
	memset(line, 'x', 199 - 7);
	line[199 - 7] = '\0';
	snprintf(text, sizeof(text), SRC MODEL("m", "%s", "m", "1", "sha256 = " H64 "\n"), line);
	cfg = GOOD(text);
	CHECK(cfg && strlen(cfg->models[0].path) == 192);
	mfs_config_free(cfg);
	memset(line, ';', 199);
	line[199] = '\0';
	snprintf(text, sizeof(text), SRC "%s\n" OK_MODEL, line);
	mfs_config_free(GOOD(text));
	snprintf(text, sizeof(text), SRC ";%s\n" OK_MODEL, line);
	BAD(text, "t.ini:3:", "line too long (200 characters, at most 199)");

	/* section names: 48 characters pass, 49 are refused */
	memset(line, 'n', 42);
	line[42] = '\0';
	snprintf(text, sizeof(text), SRC MODEL("%s", "a", "m", "1", "sha256 = " H64 "\n"), line);
	cfg = GOOD(text);
	CHECK(cfg && strlen(cfg->models[0].name) == 42);
	mfs_config_free(cfg);
	snprintf(text, sizeof(text), SRC MODEL("%sn", "a", "m", "1", "sha256 = " H64 "\n"), line);
	BAD(text, "t.ini:3:", "section name too long (49 characters, at most 48)");

	/* an indented key would be glued to the previous value */
	BAD(SRC OK_MODEL "  allow_sha1 = yes\n", "t.ini:9:", "indented line");
	BAD(SRC "\tallow_http = yes\n", "t.ini:3:", "indented line");
	BAD(SRC " [model x]\n", "t.ini:3:", "indented line");
	mfs_config_free(GOOD(SRC "   ; an indented comment\n  \t\n" OK_MODEL));

	/* sections that never reach the handler */
	BAD(SRC "[model e]\n", "t.ini:3:", "missing required key 'source' in [model e]");
	BAD(SRC "[model e]\n; nothing\n\n" OK_MODEL, "t.ini:3:", "missing required key 'source'");
	BAD(SRC OK_MODEL "[source s]\n", "t.ini:9:", "missing required key 'url' in [source s]");
	mfs_config_free(GOOD(SRC OK_MODEL "[modelfs]\n"));

	/* CRLF, a BOM, inline comments, ':' */
	cfg = GOOD("\xef\xbb\xbf[source zoo]\r\nurl = https://models.example.com/zoo/ ; base\r\n"
		   "[model m]\r\nsource: zoo\r\npath = a;b\r\nurl = m\r\nsize = 10 ; bytes\r\nsha256 = " H64 "\r\n");
	if (cfg) {
		CHECK_STR(cfg->sources[0].url, "https://models.example.com/zoo/");
		CHECK_STR(cfg->models[0].path, "a;b");
		CHECK_EQ_INT(cfg->models[0].size, 10);
	}
	mfs_config_free(cfg);
	BAD("[source zoo]\r\nurl = https://models.example.com/zoo/\r\n\r\n[model m]\r\nsize = 0\r\n",
	    "t.ini:5:", "bad size");
	/* one BOM is stripped, not two: what follows it is text, not a header */
	BAD("\xef\xbb\xbf\xef\xbb\xbf[modelfs]\nstore = /s\n", "t.ini:1:", "syntax error");
	BAD("\xef\xbb\xbf\xef\xbb\xbf; c\n", "t.ini:1:", "syntax error");
	BAD("[modelfs]\n\xef\xbb\xbf[source zoo]\n", "t.ini:2:", "syntax error");

	/* a key line inih cannot split is reported before a later error of ours */
	BAD(SRC "garbage\n[model x] junk\n", "t.ini:3:", "syntax error");
	BAD(SRC "garbage\n", "t.ini:3:", "syntax error");
	BAD(SRC "url\n", "t.ini:3:", "syntax error");
	BAD(SRC "url ; = x\n", "t.ini:3:", "syntax error");
}

static void test_load(void)
{
	char text[4096], err[512];
	struct mfs_config *cfg;
	const char *path;

	snprintf(text, sizeof(text), full_fmt, ca_path());
	path = write_text("full.ini", text);
	cfg = &sentinel;
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, sizeof(err)), 0);
	if (cfg && cfg != &sentinel) {
		check_full(cfg, path);
		mfs_config_free(cfg);
	}

	cfg = &sentinel;
	CHECK_EQ_INT(mfs_config_load("/nonexistent/m.ini", &cfg, err, sizeof(err)), -ENOENT);
	CHECK(cfg == NULL);
	CHECK_STR(err, "/nonexistent/m.ini: cannot read: No such file or directory");
	cfg = &sentinel;
	CHECK_EQ_INT(mfs_config_load(tmpdir, &cfg, err, sizeof(err)), -EISDIR);
	CHECK(cfg == NULL);
	CHECK_CONTAINS(err, ": cannot read: Is a directory");

	/* errors name the file */
	snprintf(text, sizeof(text), SRC ";%0199d\n" OK_MODEL, 0);
	path = write_text("long.ini", text);
	cfg = &sentinel;
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(cfg == NULL);
	snprintf(text, sizeof(text), "%s:3: line too long (200 characters, at most 199)", path);
	CHECK_STR(err, text);

	path = write_text("section.ini", SRC "\n[model 0123456789012345678901234567890123456789012]\n");
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%s:4: section name too long (49 characters", path);
	CHECK_CONTAINS(err, text);

	path = write_text("indent.ini", SRC OK_MODEL " size = 11\n");
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%s:9: indented line (inih would append it to the previous value)", path);
	CHECK_STR(err, text);

	path = write_text("empty.ini", SRC OK_MODEL "\n[model empty]\n");
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%s:10: missing required key 'source' in [model empty]", path);
	CHECK_STR(err, text);

	path = write_file("nul.ini", SRC "; a\0b\n", strlen(SRC) + 6);
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, ":3: NUL byte");

	/* a tiny error buffer is never overrun, and no buffer is fine too */
	CHECK_EQ_INT(mfs_config_load(path, &cfg, err, 4), -EINVAL);
	CHECK_EQ_INT(strlen(err), 3);
	CHECK_EQ_INT(mfs_config_load(path, &cfg, NULL, 0), -EINVAL);
	CHECK_EQ_INT(mfs_config_load("/nonexistent", &cfg, NULL, 0), -ENOENT);

}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_lock_files(void)
{
	struct mfs_config *cfg;

	cfg = GOOD("[modelfs]\nlock_files = no\n");
	CHECK(cfg && !cfg->lock_files);
	mfs_config_free(cfg);
	cfg = GOOD("[modelfs]\nlock_files = Yes\n");
	CHECK(cfg && cfg->lock_files);
	mfs_config_free(cfg);
	BAD("[modelfs]\nlock_files = maybe\n", "t.ini:2:", "bad boolean for lock_files: 'maybe'");
	BAD("[modelfs]\nlock_files = no\nlock_files = no\n", "t.ini:3:", "duplicate key 'lock_files'");
	BAD(SRC OK_MODEL "lock_files = no\n", "t.ini:9:", "unknown key 'lock_files' in [model m]");
	BAD(SRC "lock_files = no\n", "t.ini:3:", "unknown key 'lock_files' in [source zoo]");
}

static void test_passthrough_key(void)
{
	struct mfs_config *cfg;

	cfg = GOOD("[modelfs]\npassthrough = no\n");
	CHECK(cfg && !cfg->passthrough);
	mfs_config_free(cfg);
	cfg = GOOD("[modelfs]\npassthrough = yes\n");
	CHECK(cfg && cfg->passthrough);
	mfs_config_free(cfg);
	BAD("[modelfs]\npassthrough = auto\n", "t.ini:2:", "bad boolean for passthrough: 'auto'");
	BAD("[modelfs]\npassthrough = no\npassthrough = yes\n", "t.ini:3:",
	    "duplicate key 'passthrough'");
	BAD(SRC "passthrough = no\n", "t.ini:3:", "unknown key 'passthrough' in [source zoo]");
}

static void test_max_fetches(void)
{
	static const char *const bad_values[] = {
		"0", "65", "-1", "+4", "4x", "x", "0x10", "1e1", "4.0", "99999999999999999999",
		"18446744073709551617",
	};
	static const struct { const char *value; unsigned want; } good_values[] = {
		{ "1", 1 }, { "64", 64 }, { "4", 4 }, { "07", 7 }, { "12 ; at most a dozen", 12 },
	};
	char text[256], want[128];
	struct mfs_config *cfg;

	cfg = GOOD(SRC OK_MODEL);
	CHECK(cfg && cfg->max_fetches == MFS_DEFAULT_MAX_FETCHES && cfg->max_fetches == 4);
	mfs_config_free(cfg);
	for (size_t i = 0; i < sizeof(good_values) / sizeof(good_values[0]); i++) {
		snprintf(text, sizeof(text), "[modelfs]\nmax_fetches = %s\n" SRC, good_values[i].value);
		cfg = GOOD(text);
		CHECK(cfg && cfg->max_fetches == good_values[i].want);
		mfs_config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		snprintf(text, sizeof(text), "[modelfs]\nstore = /s\nmax_fetches = %s\n", bad_values[i]);
		snprintf(want, sizeof(want), "t.ini:3: bad number for max_fetches: '%s' "
			 "(a whole number from 1 to 64)", bad_values[i]);
		BAD(text, want, "");
	}
	BAD("[modelfs]\nmax_fetches =\n", "t.ini:2:", "empty value for 'max_fetches'");
	BAD("[modelfs]\nmax_fetches = 2\nmax_fetches = 3\n", "t.ini:3:",
	    "duplicate key 'max_fetches' in [modelfs] (first at line 2)");
	BAD(SRC "max_fetches = 2\n", "t.ini:3:", "unknown key 'max_fetches' in [source zoo]");
	BAD(SRC OK_MODEL "max_fetches = 2\n", "t.ini:9:", "unknown key 'max_fetches' in [model m]");
	BAD("max_fetches = 2\n[modelfs]\n", "t.ini:1:", "key 'max_fetches' outside any section");
}

static void test_sizes_and_backoff(void)
{
	static const char *const bad_sizes[] = {
		"0", "-1", "1KB", "1 K", "K", "1.5G", "1P", "0x10", "8589934592G", "9223372036854775808",
		"99999999999999999999",
	};
	static const struct { const char *value; uint64_t want; } good_sizes[] = {
		{ "1", 1 }, { "4096", 4096 }, { "1k", 1024 }, { "1K", 1024 }, { "3M", 3ULL << 20 },
		{ "2G", 2ULL << 30 }, { "5T", 5ULL << 40 }, { "8388607T", 8388607ULL << 40 },
		{ "10G ; ten", 10ULL << 30 },
	};
	char text[256], want[192];
	struct mfs_config *cfg;

	cfg = GOOD(SRC OK_MODEL);
	CHECK(cfg && cfg->store_max == 0 && cfg->quarantine_max == (1ULL << 30) &&
	      cfg->failure_backoff == 10 && cfg->failure_backoff_max == 600);
	mfs_config_free(cfg);
	for (size_t i = 0; i < sizeof(good_sizes) / sizeof(good_sizes[0]); i++) {
		snprintf(text, sizeof(text), "[modelfs]\nstore_max = %s\nquarantine_max = %s\n" SRC,
			 good_sizes[i].value, good_sizes[i].value);
		cfg = GOOD(text);
		CHECK(cfg && cfg->store_max == good_sizes[i].want &&
		      cfg->quarantine_max == good_sizes[i].want);
		mfs_config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		snprintf(text, sizeof(text), "[modelfs]\nstore = /s\nstore_max = %s\n", bad_sizes[i]);
		snprintf(want, sizeof(want), "t.ini:3: bad size for store_max: '%s' (bytes, or a whole "
			 "number with K, M, G or T: powers of 1024)", bad_sizes[i]);
		BAD(text, want, "");
	}
	/* No copies at all may be kept in quarantine/; the store needs room. */
	cfg = GOOD("[modelfs]\nquarantine_max = 0\n" SRC);
	CHECK(cfg && cfg->quarantine_max == 0);
	mfs_config_free(cfg);
	BAD("[modelfs]\nstore_max = 0\n", "t.ini:2: bad size for store_max: '0'", "");
	cfg = GOOD("[modelfs]\nmetrics_file = /var/lib/node_exporter/modelfs.prom\n" SRC);
	CHECK(cfg && cfg->metrics_file && !strcmp(cfg->metrics_file, "/var/lib/node_exporter/modelfs.prom"));
	mfs_config_free(cfg);
	cfg = GOOD(SRC);
	CHECK(cfg && cfg->metrics_file == NULL);
	mfs_config_free(cfg);
	BAD("[modelfs]\nmetrics_file = m.prom\n", "t.ini:2: metrics_file must be an absolute path", "");
	BAD(SRC "store_max = 1G\n", "t.ini:3:", "unknown key 'store_max' in [source zoo]");

	cfg = GOOD("[modelfs]\nfailure_backoff = 1\nfailure_backoff_max = 86400\n" SRC);
	CHECK(cfg && cfg->failure_backoff == 1 && cfg->failure_backoff_max == 86400);
	mfs_config_free(cfg);
	BAD("[modelfs]\nfailure_backoff = 0\n", "t.ini:2: bad number for failure_backoff: '0' "
	    "(seconds, from 1 to 86400)", "");
	BAD("[modelfs]\nfailure_backoff_max = 86401\n", "t.ini:2: bad number for "
	    "failure_backoff_max: '86401' (seconds, from 1 to 86400)", "");
	BAD("[modelfs]\nfailure_backoff = 60\nfailure_backoff_max = 30\n" SRC OK_MODEL,
	    "t.ini:3: failure_backoff_max (30) is less than failure_backoff (60)", "");
	BAD("[modelfs]\nfailure_backoff = 700\n" SRC OK_MODEL,
	    "t.ini:2: failure_backoff_max (600) is less than failure_backoff (700)", "");
}

/* GluonCV's one-file zip, Facenet's directory zip, a plain model, and a
 * directory with a subdirectory and every kind of pin. */
static const char archives_ini[] =
	"[modelfs]\n"                                                      /* 1 */
	"lock_files = no\n"
	"\n"
	"[source gluon]\n"
	"url = https://repo.example.com/mxnet\n"                           /* 5 */
	"\n"
	"[model alexnet]\n"
	"source = gluon\n"
	"path = alexnet-44335d1f.params\n"
	"url = gluon/models/alexnet-44335d1f.zip\n"                        /* 10 */
	"archive = zip\n"
	"member = alexnet-44335d1f.params\n"
	"size = 244398584\n"
	"sha1 = 44335d1f0046b328243b32a26a4fbd62d9057b45\n"
	"allow_sha1 = yes\n"                                               /* 15 */
	"archive_size = 228374234\n"
	"archive_sha256 = " H64 "\n"
	"\n"
	"[model facenet-20180402]\n"
	"source = facenet\n"                                               /* 20 */
	"path = facenet/20180402-114759\n"
	"url = https://drive.example.com/fn/20180402-114759.zip\n"
	"archive = zip\n"
	"member_prefix = 20180402-114759/\n"
	"file = 20180402-114759.pb 95745767 sha256:" H64 "\n"              /* 25 */
	"file = model-20180402-114759.meta   18122\tsha512:" H128 "\n"
	"file = model-20180402-114759.ckpt-275.index 22032 sha256:" H64 " sha1:" H40 "\n"
	"file = model-20180402-114759.ckpt-275.data-00000-of-00001 95624956 sha256:" H64 "\n"
	"\n"
	"[source facenet]\n"                                               /* 30 */
	"url = https://drive.example.com/fn/\n"
	"allow_sha1 = yes\n"
	"\n"
	"[model plain]\n"
	"source = gluon\n"                                                 /* 35 */
	"path = facenet/README\n"
	"url = README\n"
	"size = 3\n"
	"sha256 = " H64 "\n"
	"\n"                                                               /* 40 */
	"[model weights]\n"
	"source = facenet\n"
	"path = w\n"
	"url = w.zip\n"
	"archive = zip\n"                                                  /* 45 */
	"file = sub/dir/a.bin 1 sha1:" H40 "\n"
	"file = b.bin 7 sha256:" H64 "\n"
	"archive_sha1 = " H40 "\n"
	"archive_sha512 = " H128 "\n";

static void check_file(const struct mfs_config *cfg, size_t i, const char *path,
		       const char *member, uint64_t size, unsigned mask, int line)
{
	const struct mfs_model *m = &cfg->models[i];

	CHECK_STR(m->path, path);
	CHECK_STR(m->member, member);
	CHECK_EQ_INT(m->size, size);
	CHECK_EQ_INT(m->digests.mask, mask);
	CHECK_EQ_INT(m->line, line);
}

static void test_archives(void)
{
	const unsigned sha1 = MFS_ALGO_BIT(MFS_SHA1), sha256 = MFS_ALGO_BIT(MFS_SHA256);
	const unsigned sha512 = MFS_ALGO_BIT(MFS_SHA512);
	const uint64_t fn_sum = 95745767ull + 18122 + 22032 + 95624956;
	struct mfs_config *cfg = GOOD(archives_ini);
	const struct mfs_archive *a;
	const struct mfs_model *m;
	unsigned char d[64];
	char buf[8 + 129];

	if (!cfg)
		return;
	CHECK(!cfg->lock_files);
	CHECK_EQ_INT(cfg->nsources, 2);
	CHECK_EQ_INT(cfg->nmodels, 8);
	CHECK_EQ_INT(cfg->narchives, 3);
	if (cfg->nsources != 2 || cfg->nmodels != 8 || cfg->narchives != 3)
		goto out_free_cfg;

	/* one file from a zip */
	a = &cfg->archives[0];
	CHECK_STR(a->name, "alexnet");
	CHECK(a->format == MFS_ARCHIVE_ZIP);
	CHECK(a->source == &cfg->sources[0]);
	CHECK_STR(a->url, "https://repo.example.com/mxnet/gluon/models/alexnet-44335d1f.zip");
	CHECK_EQ_INT(a->size, 228374234);
	CHECK_EQ_INT(a->max_size, 228374234);
	CHECK_EQ_INT(a->digests.mask, sha256);
	CHECK(mfs_hex_decode(H64, d, 32) == 0 && !memcmp(a->digests.d[MFS_SHA256], d, 32));
	CHECK_EQ_INT(a->nmembers, 1);
	CHECK_EQ_INT(a->members[0], 0);
	CHECK_EQ_INT(a->line, 7);
	m = &cfg->models[0];
	CHECK_STR(m->name, "alexnet");
	CHECK(m->source == &cfg->sources[0]);
	CHECK_STR(m->path, "alexnet-44335d1f.params");
	CHECK_STR(m->url, a->url);
	CHECK_STR(m->member, "alexnet-44335d1f.params");
	CHECK_EQ_INT(m->size, 244398584);
	CHECK_EQ_INT(m->digests.mask, sha1);
	CHECK(mfs_hex_decode("44335d1f0046b328243b32a26a4fbd62d9057b45", d, 20) == 0 &&
	      !memcmp(m->digests.d[MFS_SHA1], d, 20));
	CHECK(m->weak);
	CHECK_EQ_INT(m->line, 7);
	CHECK(m->archive == a);

	/* a directory from a zip: one model per file, in file order */
	a = &cfg->archives[1];
	CHECK_STR(a->name, "facenet-20180402");
	CHECK(a->source == &cfg->sources[1]);
	CHECK_STR(a->url, "https://drive.example.com/fn/20180402-114759.zip");
	CHECK_EQ_INT(a->size, 0);
	CHECK_EQ_INT(a->digests.mask, 0);
	CHECK_EQ_INT(a->max_size, fn_sum + fn_sum / 8 + MIB);
	CHECK_EQ_INT(a->max_size, 216385812);
	CHECK_EQ_INT(a->line, 19);
	CHECK_EQ_INT(a->nmembers, 4);
	for (size_t i = 0; i < 4 && i < a->nmembers; i++) {
		CHECK_EQ_INT(a->members[i], 1 + i);
		m = &cfg->models[1 + i];
		CHECK(m->archive == a);
		CHECK_STR(m->name, "facenet-20180402");
		CHECK(m->source == &cfg->sources[1]);
		CHECK_STR(m->url, a->url);
	}
	check_file(cfg, 1, "facenet/20180402-114759/20180402-114759.pb",
		   "20180402-114759/20180402-114759.pb", 95745767, sha256, 25);
	check_file(cfg, 2, "facenet/20180402-114759/model-20180402-114759.meta",
		   "20180402-114759/model-20180402-114759.meta", 18122, sha512, 26);
	check_file(cfg, 3, "facenet/20180402-114759/model-20180402-114759.ckpt-275.index",
		   "20180402-114759/model-20180402-114759.ckpt-275.index", 22032, sha1 | sha256, 27);
	check_file(cfg, 4, "facenet/20180402-114759/model-20180402-114759.ckpt-275.data-00000-of-00001",
		   "20180402-114759/model-20180402-114759.ckpt-275.data-00000-of-00001", 95624956,
		   sha256, 28);
	CHECK(mfs_hex_decode(H128, d, 64) == 0 && !memcmp(cfg->models[2].digests.d[MFS_SHA512], d, 64));
	CHECK(mfs_hex_decode(H40, d, 20) == 0 && !memcmp(cfg->models[3].digests.d[MFS_SHA1], d, 20));
	CHECK(mfs_hex_decode(H64, d, 32) == 0 && !memcmp(cfg->models[3].digests.d[MFS_SHA256], d, 32));
	CHECK(!cfg->models[1].weak && !cfg->models[2].weak && !cfg->models[3].weak);
	/* members are stored under their own digests */
	mfs_store_object_name(&cfg->models[2].digests, buf, sizeof(buf));
	CHECK_STR(buf, "sha512-" H128);
	CHECK(mfs_config_find(cfg, "facenet/20180402-114759/20180402-114759.pb") == &cfg->models[1]);
	CHECK(mfs_config_find(cfg, "facenet/20180402-114759") == NULL);

	m = &cfg->models[5];
	CHECK_STR(m->name, "plain");
	CHECK_STR(m->path, "facenet/README");
	CHECK(m->archive == NULL && m->member == NULL);
	CHECK_EQ_INT(m->line, 34);

	/* no member_prefix; a subdirectory; sha1 allowed by the source */
	a = &cfg->archives[2];
	CHECK_STR(a->name, "weights");
	CHECK_STR(a->url, "https://drive.example.com/fn/w.zip");
	CHECK_EQ_INT(a->size, 0);
	CHECK_EQ_INT(a->max_size, 8 + 8 / 8 + MIB);
	CHECK_EQ_INT(a->digests.mask, sha1 | sha512);
	CHECK(mfs_hex_decode(H40, d, 20) == 0 && !memcmp(a->digests.d[MFS_SHA1], d, 20));
	CHECK(mfs_hex_decode(H128, d, 64) == 0 && !memcmp(a->digests.d[MFS_SHA512], d, 64));
	CHECK_EQ_INT(a->line, 41);
	CHECK_EQ_INT(a->nmembers, 2);
	if (a->nmembers == 2)
		CHECK(a->members[0] == 6 && a->members[1] == 7);
	check_file(cfg, 6, "w/sub/dir/a.bin", "sub/dir/a.bin", 1, sha1, 46);
	check_file(cfg, 7, "w/b.bin", "b.bin", 7, sha256, 47);
	CHECK(cfg->models[6].weak && !cfg->models[7].weak);
	CHECK(cfg->models[6].archive == a && cfg->models[7].archive == a);
	CHECK_STR(cfg->models[7].name, "weights");
out_free_cfg:
	mfs_config_free(cfg);
}

static void test_archive_max_size(void)
{
	static const struct { const char *files; uint64_t max; } cases[] = {
		/* the sum saturates */
		{ FILE_LINE("a") "file = b 9223372036854775807 sha256:" H64 "\n", INT64_MAX },
		/* the eighth on top saturates */
		{ "file = a 8198552921648689608 sha256:" H64 "\n", INT64_MAX },
		/* the MiB on top saturates */
		{ "file = a 8198552921648689607 sha256:" H64 "\n", INT64_MAX },
		/* just below */
		{ "file = a 8198552921646689607 sha256:" H64 "\n", 9223372036853574383ull },
		{ FILE_LINE("a") FILE_LINE("b") FILE_LINE("c"), 3 + 0 + MIB },
		{ "file = a 800 sha256:" H64 "\narchive_size = 5\n", 5 },
	};
	char text[1024];
	struct mfs_config *cfg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), SRC ARCH("m", "d", "%s"), cases[i].files);
		cfg = GOOD(text);
		if (cfg && cfg->narchives == 1 && cfg->archives[0].max_size != cases[i].max) {
			fprintf(stderr, "  case %zu: max_size %llu, want %llu\n", i,
				(unsigned long long)cfg->archives[0].max_size,
				(unsigned long long)cases[i].max);
			unit_cur_failed = 1;
		}
		mfs_config_free(cfg);
	}
	cfg = GOOD(SRC ARCH("m", "p", "member = x\nsize = 100\nsha256 = " H64 "\n"));
	if (cfg) {
		CHECK_EQ_INT(cfg->archives[0].max_size, 100 + 12 + MIB);
		CHECK_STR(cfg->models[0].member, "x");
		CHECK_STR(cfg->models[0].url, "https://models.example.com/zoo/a.zip");
	}
	mfs_config_free(cfg);
}

/* A folder of plain files (issue 13 §2): url ending in '/', file lines
 * without archive, each fetched from url + NAME (escaped). */
static void test_folder_model(void)
{
	struct mfs_config *cfg = GOOD(SRC "[model bert]\nsource = zoo\npath = nlp/bert\n"
				      "url = bert-base/\n" FILE_LINE("config.json")
				      FILE_LINE("sub/model+1.bin"));

	if (cfg) {
		CHECK(cfg->nmodels == 2 && cfg->narchives == 0);
		CHECK_STR(cfg->models[0].path, "nlp/bert/config.json");
		CHECK_STR(cfg->models[0].url, "https://models.example.com/zoo/bert-base/config.json");
		CHECK_STR(cfg->models[1].path, "nlp/bert/sub/model+1.bin");
		CHECK_STR(cfg->models[1].url,
			  "https://models.example.com/zoo/bert-base/sub/model%2B1.bin");
		CHECK(cfg->models[0].archive == NULL && cfg->models[0].member == NULL);
		CHECK(mfs_config_find(cfg, "nlp/bert/sub/model+1.bin") == &cfg->models[1]);
	}
	mfs_config_free(cfg);
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = d\n" FILE_LINE("x"), "t.ini:7:",
	    "'file' needs archive = zip in [model m], or a url ending in '/'");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = d/\n" FILE_LINE("x") "size = 1\n",
	    "t.ini:8:", "'size' does not go with 'file' lines in [model m]");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = d/\n" FILE_LINE("x")
	    "member_prefix = a/\n", "t.ini:8:", "'member_prefix' needs archive = zip");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = d/\nfile = x 1\n", "t.ini:7:",
	    "bad file 'x': no digest");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = d/\n" FILE_LINE("../x"), "t.ini:7:",
	    "bad file name '../x'");
}

/* prefetch (issue 13 §2): [modelfs] sets every folder's default, a
 * folder's own key overrides it; only a folder of plain files takes it. */
static void test_prefetch_key(void)
{
	struct mfs_config *cfg = GOOD(SRC OK_MODEL "[model bert]\nsource = zoo\npath = nlp/bert\n"
				      "url = bert/\n" FILE_LINE("config.json")
				      FILE_LINE("model.bin"));

	if (cfg) {
		CHECK(!cfg->prefetch);
		CHECK_EQ_INT((int)cfg->nfolders, 1);
		CHECK(cfg->models[0].folder == NULL);
		CHECK(cfg->models[1].folder == &cfg->folders[0]);
		CHECK(cfg->models[2].folder == &cfg->folders[0]);
		CHECK(cfg->folders[0].nmembers == 2 && cfg->folders[0].members[0] == 1 &&
		      cfg->folders[0].members[1] == 2 && !cfg->folders[0].prefetch);
	}
	mfs_config_free(cfg);
	/* [modelfs] after the model still sets its default. */
	cfg = GOOD(SRC "[model bert]\nsource = zoo\npath = nlp/bert\nurl = bert/\n"
		   FILE_LINE("config.json") "[model other]\nsource = zoo\npath = o\nurl = o/\n"
		   FILE_LINE("a") "prefetch = no\n[modelfs]\nprefetch = yes\n");
	if (cfg) {
		CHECK(cfg->prefetch && cfg->nfolders == 2);
		CHECK(cfg->folders[0].prefetch && !cfg->folders[1].prefetch);
		CHECK(cfg->models[1].folder == &cfg->folders[1]);
	}
	mfs_config_free(cfg);
	cfg = GOOD(SRC "[model bert]\nsource = zoo\npath = nlp/bert\nurl = bert/\n"
		   FILE_LINE("config.json") "prefetch = yes\n");
	CHECK(cfg && cfg->folders[0].prefetch);
	mfs_config_free(cfg);
	/* A zip directory: no folder, its files share one download. */
	cfg = GOOD(SRC "[modelfs]\nprefetch = yes\n[model z]\nsource = zoo\npath = z\n"
		   "url = z.zip\narchive = zip\n" FILE_LINE("a"));
	CHECK(cfg && cfg->nfolders == 0 && cfg->models[0].folder == NULL);
	mfs_config_free(cfg);

	BAD("[modelfs]\nprefetch = maybe\n", "t.ini:2:", "bad boolean for prefetch: 'maybe'");
	BAD("[modelfs]\nprefetch = yes\nprefetch = no\n", "t.ini:3:", "duplicate key 'prefetch'");
	BAD(SRC "prefetch = yes\n", "t.ini:3:", "unknown key 'prefetch' in [source zoo]");
	BAD(SRC "[model bert]\nsource = zoo\npath = b\nurl = bert/\n" FILE_LINE("a")
	    "prefetch = often\n", "t.ini:8:", "bad boolean for prefetch: 'often'");
	BAD(SRC "[model bert]\nsource = zoo\npath = b\nurl = bert/\n" FILE_LINE("a")
	    "prefetch = yes\nprefetch = yes\n", "t.ini:9:", "duplicate key 'prefetch'");
	BAD(SRC MODEL("m", "m.bin", "m.bin", "10", "sha256 = " H64 "\nprefetch = yes\n"),
	    "t.ini:9:", "'prefetch' needs 'file' lines in [model m] (a folder of files)");
	BAD(SRC "[model z]\nsource = zoo\npath = z\nurl = z.zip\narchive = zip\n"
	    FILE_LINE("a") "prefetch = no\n", "t.ini:9:",
	    "'prefetch' does not go with archive = zip in [model z]");
}

/* Signed models (issue 11): trust keys on the source or the model (the
 * model's replace the source's), a folder or one file, digests optional. */
static void test_signed_models(void)
{
	struct mfs_config *cfg = GOOD(
		"[source pub]\nurl = https://m.example/\npublic_key = /etc/hostname\n"
		"public_key = /etc/hosts\ncertificate_identity = ci@example.com\n"
		"[model bert]\nsource = pub\npath = bert\nurl = bert/\nsignature = bert/model.sig\n"
		"file = config.json 612\nfile = w.bin 10 sha256:" H64 "\n"
		"[model one]\nsource = pub\npath = one.bin\nurl = x/one%2B1.bin?v=1\nsize = 5\n"
		"signature = x/one.sig\ncertificate_chain = /etc/hosts\npublic_key = /etc/hosts\n");

	if (cfg) {
		const struct mfs_signature *g = &cfg->signatures[0], *h = &cfg->signatures[1];

		CHECK(cfg->nsignatures == 2 && cfg->nmodels == 3);
		CHECK_STR(g->url, "https://m.example/bert/model.sig");
		CHECK(g->folder && g->nmembers == 2 && g->members[1] == 1);
		CHECK_STR(g->public_keys[0], "/etc/hostname");
		CHECK_STR(g->public_keys[1], "/etc/hosts");
		CHECK(g->public_keys[2] == NULL && g->certificate_chain == NULL);
		CHECK_STR(g->certificate_identity, "ci@example.com");
		CHECK_STR(g->path, "bert");
		CHECK(cfg->models[0].signature == g && cfg->models[0].digests.mask == 0);
		CHECK_STR(cfg->models[0].signed_name, "config.json");
		CHECK(cfg->models[1].digests.mask == MFS_ALGO_BIT(MFS_SHA256));
		CHECK(!h->folder && h->nmembers == 1 && cfg->models[2].signature == h);
		CHECK_STR(cfg->models[2].signed_name, "one+1.bin");
		CHECK_STR(h->public_keys[0], "/etc/hosts");
		CHECK(h->public_keys[1] == NULL);
		CHECK_STR(h->certificate_chain, "/etc/hosts");
		CHECK_STR(h->certificate_identity, "ci@example.com");
	}
	mfs_config_free(cfg);
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = m\nsize = 1\nsignature = m.sig\n",
	    "t.ini:8:", "'signature' needs public_key, certificate_chain or sigstore_trusted_root "
	    "(with identity and oidc_issuer) in [model m] or [source zoo]");
	BAD(SRC MODEL("m", "p", "m", "1", "sha256 = " H64 "\npublic_key = /etc/hosts\n"), "t.ini:9:",
	    "'public_key' needs 'signature' in [model m]");
	BAD(SRC "public_key = key.pem\n", "t.ini:3:", "public_key must be an absolute path");
	BAD(SRC "public_key = /nonexistent/k.pem\n", "t.ini:3:", "public_key '/nonexistent/k.pem' is not readable");
	BAD(SRC "certificate_chain = /nonexistent/ca.pem\n", "t.ini:3:", "is not readable");
	BAD(SRC "certificate_chain = /etc/hosts\ncertificate_chain = /etc/hosts\n", "t.ini:4:",
	    "duplicate key 'certificate_chain'");
	BAD(SRC "public_key = /etc/hosts\n[model m]\nsource = zoo\npath = p\nurl = a.zip\n"
	    "archive = zip\nmember = x\nsize = 1\nsignature = a.sig\n", "t.ini:11:",
	    "'signature' does not go with archive = zip");
	BAD(SRC "public_key = /etc/hosts\n[model m]\nsource = zoo\npath = p\nurl = d/\n"
	    "file = x 1\nsignature = ../a.sig\n", "t.ini:9:", "bad signature url '../a.sig'");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = d/x\narchive = zip\nfile = x 1\n",
	    "t.ini:8:", "only a signed model's files may leave it out");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = m\nsize = 1\n", "t.ini:3:",
	    "missing required key 'sha256' or 'sha512'");
}

/* Keyless trust (issue 12): the trusted root read at load, identity
 * repeating, the three keys together, the model's replacing the source's. */
static void test_keyless_models(void)
{
#define ROOT "tests/data/oms/sigstore-python-trust/trusted_root.production.json"
	char root[4096], text[8192];
	struct mfs_config *cfg;

	if (!realpath(ROOT, root)) {
		CHECK(!"the production trusted root is in the repo");
		return;
	}
	snprintf(text, sizeof(text),
		 "[source hub]\nurl = https://m.example/\nsigstore_trusted_root = %s\n"
		 "identity = a@example.com\nidentity = https://ci.example/wf@refs/tags/v1\n"
		 "oidc_issuer = https://issuer.example\n"
		 "[model a]\nsource = hub\npath = a\nurl = a/\nsignature = a/model.sig\n"
		 "file = w.bin 10\n"
		 "[model b]\nsource = hub\npath = b\nurl = b/\nsignature = b/model.sig\n"
		 "identity = b@example.com\nfile = w.bin 10\n", root);
	cfg = GOOD(text);
	if (cfg) {
		const struct mfs_signature *a = &cfg->signatures[0], *b = &cfg->signatures[1];

		CHECK_STR(a->sigstore_trusted_root, root);
		CHECK_STR(a->identities[0], "a@example.com");
		CHECK_STR(a->identities[1], "https://ci.example/wf@refs/tags/v1");
		CHECK(a->identities[2] == NULL);
		CHECK_STR(a->oidc_issuer, "https://issuer.example");
		CHECK_STR(b->identities[0], "b@example.com");
		CHECK(b->identities[1] == NULL);
		CHECK_STR(b->oidc_issuer, "https://issuer.example");
	}
	mfs_config_free(cfg);
	/* a root alone, or without the issuer: refused at the signed model */
	snprintf(text, sizeof(text), SRC "sigstore_trusted_root = %s\n[model m]\nsource = zoo\n"
		 "path = p\nurl = d/\nsignature = m.sig\nfile = x 1\n", root);
	BAD(text, "t.ini:8:", "keyless trust needs sigstore_trusted_root, identity and "
	    "oidc_issuer, all three, in [model m] or [source zoo]");
	snprintf(text, sizeof(text), SRC "sigstore_trusted_root = %s\nidentity = x@y\n[model m]\n"
		 "source = zoo\npath = p\nurl = d/\nsignature = m.sig\nfile = x 1\n", root);
	BAD(text, "t.ini:9:", "keyless trust needs");
	BAD(SRC "identity = x@y\noidc_issuer = https://i\n[model m]\nsource = zoo\npath = p\n"
	    "url = d/\nsignature = m.sig\nfile = x 1\n", "t.ini:9:", "keyless trust needs");
	/* a file that is no trusted root is the config's error, at its line */
	BAD(SRC "sigstore_trusted_root = /etc/hosts\n", "t.ini:3:",
	    "bad sigstore_trusted_root: /etc/hosts:");
	BAD(SRC "sigstore_trusted_root = /nonexistent/root.json\n", "t.ini:3:", "is not readable");
	BAD(SRC "sigstore_trusted_root = root.json\n", "t.ini:3:", "must be an absolute path");
	BAD(SRC "oidc_issuer = https://a\noidc_issuer = https://b\n", "t.ini:4:",
	    "duplicate key 'oidc_issuer'");
	BAD(SRC MODEL("m", "p", "m", "1", "sha256 = " H64 "\nidentity = x@y\n"), "t.ini:9:",
	    "'identity' needs 'signature' in [model m]");
#undef ROOT
}

static void test_bad_archive_keys(void)
{
	static const struct { const char *line, *name; } need_archive[] = {
		{ "member = x", "member" }, { "file = x 1 sha256:" H64, "file" },
		{ "member_prefix = d/", "member_prefix" }, { "archive_size = 5", "archive_size" },
		{ "archive_sha1 = " H40, "archive_sha1" }, { "archive_sha256 = " H64, "archive_sha256" },
		{ "archive_sha512 = " H128, "archive_sha512" },
	};
	static const char *const per_file[] = { "size = 1", "sha1 = " H40, "sha256 = " H64,
						"sha512 = " H128 };
	char text[1024], want[128];

	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = a.zip\narchive = tar\n", "t.ini:7:",
	    "bad archive 'tar' (the only format is zip)");
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = a.zip\narchive = ZIP\n", "t.ini:7:",
	    "bad archive 'ZIP'");
	BAD(SRC ARCH("m", "p", "archive = zip\n"), "t.ini:8:",
	    "duplicate key 'archive' in [model m] (first at line 7)");
	BAD(SRC ARCH("m", "p", "member = x\nmember = y\n"), "t.ini:9:", "duplicate key 'member'");
	BAD(SRC ARCH("m", "p", "member_prefix = a/\n" FILE_LINE("x") "member_prefix = a/\n"),
	    "t.ini:10:", "duplicate key 'member_prefix'");
	BAD(SRC ARCH("m", "p", "file =\n"), "t.ini:8:", "empty value for 'file'");
	BAD(SRC "archive = zip\n", "t.ini:3:", "unknown key 'archive' in [source zoo]");
	BAD("[modelfs]\nfile = x 1 sha256:" H64 "\n", "t.ini:2:", "unknown key 'file' in [modelfs]");

	/* archive keys without archive = zip */
	for (size_t i = 0; i < sizeof(need_archive) / sizeof(need_archive[0]); i++) {
		snprintf(text, sizeof(text), SRC MODEL("m", "p", "m", "1", "sha256 = " H64 "\n%s\n"),
			 need_archive[i].line);
		snprintf(want, sizeof(want), "'%s' needs archive = zip in [model m]", need_archive[i].name);
		BAD(text, "t.ini:9:", want);
	}
	/* the first in the file is named, not the first in some list */
	BAD(SRC MODEL("m", "p", "m", "1", "archive_size = 3\nmember = x\n"), "t.ini:8:",
	    "'archive_size' needs archive = zip");
	/* ... and it comes before the missing size */
	BAD(SRC "[model m]\nsource = zoo\npath = p\nurl = a\n" FILE_LINE("x"), "t.ini:7:",
	    "'file' needs archive = zip");

	BAD(SRC ARCH("m", "p", "size = 1\nsha256 = " H64 "\n"), "t.ini:7:",
	    "archive = zip needs 'member' (one file) or 'file' lines (a directory) in [model m]");
	BAD(SRC ARCH("m", "p", "member = x\n" FILE_LINE("y")), "t.ini:9:",
	    "'member' (line 8) and 'file' (line 9) exclude each other in [model m]");
	BAD(SRC ARCH("m", "p", FILE_LINE("y") FILE_LINE("z") "member = x\n"), "t.ini:10:",
	    "'member' (line 10) and 'file' (line 8) exclude each other");
	for (size_t i = 0; i < sizeof(per_file) / sizeof(per_file[0]); i++) {
		snprintf(text, sizeof(text), SRC ARCH("m", "p", FILE_LINE("y") "%s\nallow_sha1 = yes\n"),
			 per_file[i]);
		snprintf(want, sizeof(want), "'%.*s' does not go with 'file' lines in [model m]",
			 (int)strcspn(per_file[i], " "), per_file[i]);
		BAD(text, "t.ini:9:", want);
	}
	BAD(SRC ARCH("m", "p", "sha512 = " H128 "\n" FILE_LINE("y") "size = 1\n"), "t.ini:8:",
	    "'sha512' does not go with 'file' lines");
	BAD(SRC ARCH("m", "p", "member = x\nmember_prefix = d/\nsize = 1\nsha256 = " H64 "\n"), "t.ini:9:",
	    "'member_prefix' needs 'file' lines in [model m]");

	/* one member: size and a strong digest, as for any file */
	BAD(SRC ARCH("m", "p", "member = x\nsha256 = " H64 "\n"), "t.ini:3:",
	    "missing required key 'size' in [model m]");
	BAD(SRC ARCH("m", "p", "member = x\nsize = 1\n"), "t.ini:3:",
	    "missing required key 'sha256' or 'sha512' in [model m]");
	BAD(SRC ARCH("m", "p", "member = x\nsize = 1\nsha1 = " H40 "\n"), "t.ini:10:", "sha1 is weak");
	BAD(SRC ARCH("m", "p", "member = x\nsize = 0\nsha256 = " H64 "\n"), "t.ini:9:", "bad size '0'");
}

static void test_bad_archive_values(void)
{
	static const struct { const char *value, *why; } members[] = {
		{ "../x", "bad member '../x': '..' component" }, { "/x", "must be relative" },
		{ "d/", "trailing '/'" }, { "a//b", "empty component" }, { "./x", "'.' component" },
	};
	static const struct { const char *value, *why; } prefixes[] = {
		{ "d", "bad member_prefix 'd': must end with '/'" }, { "a/b", "must end with '/'" },
		{ "../", "bad member_prefix '../': '..' component" }, { "/", "must be relative" },
		{ "a//", "empty component" }, { "./", "'.' component" }, { "a/../", "'..' component" },
	};
	static const struct { const char *value, *why; } files[] = {
		{ "x", "bad file 'x': expected NAME SIZE ALGO:HEX [ALGO:HEX...]" },
		{ "x 1", "bad file 'x': no digest (expected NAME SIZE" },
		{ "../x 1 sha256:" H64, "bad file name '../x': '..' component" },
		{ "/x 1 sha256:" H64, "bad file name '/x': must be relative" },
		{ "x/ 1 sha256:" H64, "bad file name 'x/': trailing '/'" },
		{ "a//b 1 sha256:" H64, "empty component" },
		{ "x 0 sha256:" H64, "bad size '0' for file 'x': a decimal number of bytes > 0" },
		{ "x -1 sha256:" H64, "bad size '-1'" }, { "x +1 sha256:" H64, "bad size '+1'" },
		{ "x 1e3 sha256:" H64, "bad size" }, { "x 0x10 sha256:" H64, "bad size" },
		{ "x 9223372036854775808 sha256:" H64, "bad size" },
		{ "x 1 " H64, "bad digest '" H64 "' for file 'x' (expected ALGO:HEX)" },
		{ "x 1 sha256:" H64 " junk", "bad digest 'junk' for file 'x'" },
		{ "x 1 md5:d41d8cd98f00b204e9800998ecf8427e", "unknown digest 'md5' for file 'x'" },
		{ "x 1 SHA256:" H64, "unknown digest 'SHA256'" }, { "x 1 :" H64, "unknown digest ''" },
		{ "x 1 sha256:" H64 " sha256:" H64U, "duplicate sha256 digest for file 'x'" },
		{ "x 1 sha256:" H40, "bad sha256 digest for file 'x': expected 64 hex digits, got 40 characters" },
		{ "x 1 sha256:", "got 0 characters" },
		{ "x 1 sha512:" H64, "bad sha512 digest for file 'x': expected 128 hex digits, got 64" },
		{ "x 1 sha1:" H64, "bad sha1 digest for file 'x': expected 40" },
		{ "x 1 sha256:" H64BAD, "bad sha256 digest for file 'x': '" H64BAD "' is not hex" },
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		snprintf(text, sizeof(text), SRC ARCH("m", "p", "member = %s\n"), members[i].value);
		BAD(text, "t.ini:8:", members[i].why);
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(text, sizeof(text), SRC ARCH("m", "p", "member_prefix = %s\n"), prefixes[i].value);
		BAD(text, "t.ini:8:", prefixes[i].why);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(text, sizeof(text), SRC ARCH("m", "p", FILE_LINE("ok") "file = %s\n"), files[i].value);
		BAD(text, "t.ini:9:", files[i].why);
	}
	BAD(SRC ARCH("m", "p", "member = x\narchive_size = 0\n"), "t.ini:9:",
	    "bad archive_size '0': a decimal number of bytes > 0");
	BAD(SRC ARCH("m", "p", "member = x\narchive_size = 9223372036854775808\n"), "t.ini:9:",
	    "bad archive_size");
	BAD(SRC ARCH("m", "p", "archive_sha256 = " H40 "\n"), "t.ini:8:",
	    "bad archive_sha256 digest: expected 64 hex digits, got 40 characters");
	BAD(SRC ARCH("m", "p", "archive_sha512 = " H64BAD H64 "\n"), "t.ini:8:",
	    "bad archive_sha512 digest: '" H64BAD);
	BAD(SRC ARCH("m", "p", "archive_sha1 = " H64 "\n"), "t.ini:8:", "bad archive_sha1 digest");

	/* a file line with sha256 and sha512 does not fit in 199 characters */
	BAD(SRC ARCH("m", "p", "file = x 1 sha256:" H64 " sha512:" H128 "\n"), "t.ini:8:",
	    "line too long (218 characters, at most 199)");
}

static void test_archive_sha1_policy(void)
{
	struct mfs_config *cfg;

	BAD(SRC ARCH("m", "p", FILE_LINE("a") "file = b 1 sha1:" H40 "\n"), "t.ini:9:",
	    "sha1 is weak: it needs allow_sha1 = yes in [model m] or [source zoo]");
	/* a strong digest beside it needs no opt-in less */
	BAD(SRC ARCH("m", "p", "file = b 1 sha256:" H64 " sha1:" H40 "\n"), "t.ini:8:", "sha1 is weak");
	BAD(SRC ARCH("m", "p", "member = x\nsize = 1\nsha256 = " H64 "\narchive_sha1 = " H40 "\n"),
	    "t.ini:11:", "archive_sha1 is weak: it needs allow_sha1 = yes in [model m] or [source zoo]");
	/* the first use in the file is named */
	BAD(SRC ARCH("m", "p", "archive_sha1 = " H40 "\nfile = b 1 sha1:" H40 "\n"), "t.ini:8:",
	    "archive_sha1 is weak");
	BAD(SRC ARCH("m", "p", "file = b 1 sha1:" H40 "\narchive_sha1 = " H40 "\n"), "t.ini:8:",
	    "sha1 is weak");
	BAD(SRC ARCH("m", "p", "sha1 = " H40 "\nmember = x\nsize = 1\narchive_sha1 = " H40 "\n"),
	    "t.ini:8:", "sha1 is weak");
	BAD(SRC ARCH("m", "p", "archive_sha1 = " H40 "\nmember = x\nsize = 1\nsha1 = " H40 "\n"),
	    "t.ini:8:", "archive_sha1 is weak");

	cfg = GOOD(SRC ARCH("m", "p", "allow_sha1 = yes\nfile = b 1 sha1:" H40 "\narchive_sha1 = " H40 "\n"));
	CHECK(cfg && cfg->models[0].weak && cfg->archives[0].digests.mask == MFS_ALGO_BIT(MFS_SHA1));
	mfs_config_free(cfg);
}

static void test_archive_paths(void)
{
	struct mfs_config *cfg;

	/* the directory's path (line 11) comes before its file (line 14) */
	BAD(SRC MODEL("m", "d/x", "m", "1", "sha256 = " H64 "\n") ARCH("n", "d", FILE_LINE("x")),
	    "t.ini:11:", "directory 'd' would hold 'd/x' of [model m] at line 5");
	BAD(SRC MODEL("m", "d/x", "m", "1", "sha256 = " H64 "\n")
	    "[model n]\nsource = zoo\nurl = a.zip\narchive = zip\n" FILE_LINE("x") "path = d\n",
	    "t.ini:13:", "duplicate path 'd/x' (also in [model m] at line 5)");
	BAD(SRC ARCH("n", "d", FILE_LINE("x")) MODEL("m", "d/x", "m", "1", "sha256 = " H64 "\n"),
	    "t.ini:11:", "duplicate path 'd/x' (also in [model n] at line 8)");
	BAD(SRC MODEL("m", "d", "m", "1", "sha256 = " H64 "\n") ARCH("n", "d", FILE_LINE("x")),
	    "t.ini:11:", "path 'd' clashes with 'd' of [model m] at line 5: 'd' would be both a file and a directory");
	BAD(SRC ARCH("n", "d", FILE_LINE("x")) MODEL("m", "d", "m", "1", "sha256 = " H64 "\n"),
	    "t.ini:11:", "'d' would be both a file and a directory");
	BAD(SRC MODEL("m", "a", "m", "1", "sha256 = " H64 "\n") ARCH("n", "a/b", FILE_LINE("x")),
	    "t.ini:11:", "path 'a/b' clashes with 'a' of [model m] at line 5: 'a' would be both");
	BAD(SRC ARCH("n", "a", FILE_LINE("x")) MODEL("m", "a/x/y", "m", "1", "sha256 = " H64 "\n"),
	    "t.ini:11:", "path 'a/x/y' clashes with 'a/x' of [model n] at line 8");

	/* a model's directory holds only its own files */
	BAD(SRC ARCH("n", "d", FILE_LINE("x")) MODEL("m", "d/extra", "m", "1", "sha256 = " H64 "\n"),
	    "t.ini:11:", "path 'd/extra' is inside directory 'd' of [model n] at line 5 "
	    "(a model's directory holds only its own files)");
	BAD(SRC MODEL("m", "d/extra", "m", "1", "sha256 = " H64 "\n") ARCH("n", "d", FILE_LINE("x")),
	    "t.ini:11:", "directory 'd' would hold 'd/extra' of [model m] at line 5");
	BAD(SRC ARCH("n", "d", FILE_LINE("x") FILE_LINE("sub/y") FILE_LINE("z"))
	    MODEL("m", "d/sub/w", "m", "1", "sha256 = " H64 "\n"),
	    "t.ini:13:", "path 'd/sub/w' is inside directory 'd'");
	BAD(SRC ARCH("m", "d", FILE_LINE("x")) ARCH("n", "d", FILE_LINE("y")), "t.ini:11:",
	    "duplicate path 'd' (also in [model m] at line 5)");
	BAD(SRC ARCH("m", "d", FILE_LINE("x")) ARCH("n", "d/sub", FILE_LINE("y")), "t.ini:11:",
	    "path 'd/sub' is inside directory 'd' of [model m] at line 5");
	BAD(SRC ARCH("m", "d/sub", FILE_LINE("x")) ARCH("n", "d", FILE_LINE("y")), "t.ini:11:",
	    "directory 'd' would hold 'd/sub' of [model m] at line 5");

	/* within one directory */
	BAD(SRC ARCH("m", "p", FILE_LINE("a") FILE_LINE("b") FILE_LINE("a")), "t.ini:10:",
	    "duplicate file 'a' (also at line 8)");
	BAD(SRC ARCH("m", "p", FILE_LINE("s/a") "file = s/a 2 sha512:" H128 "\n"), "t.ini:9:",
	    "duplicate file 's/a' (also at line 8)");
	BAD(SRC ARCH("m", "p", FILE_LINE("a") FILE_LINE("a/b")), "t.ini:9:",
	    "path 'p/a/b' clashes with 'p/a' of [model m] at line 8: 'p/a' would be both a file and a directory");

	/* of several conflicts the first in the file is reported */
	BAD(SRC ARCH("m", "d", FILE_LINE("a") FILE_LINE("b") FILE_LINE("a"))
	    MODEL("p", "d/b", "p", "1", "sha256 = " H64 "\n"),
	    "t.ini:10:", "duplicate file 'a' (also at line 8)");
	BAD(SRC MODEL("p", "d/b", "p", "1", "sha256 = " H64 "\n")
	    ARCH("m", "d", FILE_LINE("a") FILE_LINE("a")),
	    "t.ini:11:", "directory 'd' would hold 'd/b' of [model p] at line 5");

	/* neighbours that merely share a prefix are fine */
	cfg = GOOD(SRC ARCH("m", "d", FILE_LINE("x") FILE_LINE("sub/y"))
		   MODEL("a", "d2", "a", "1", "sha256 = " H64 "\n")
		   MODEL("b", "d-x/y", "b", "1", "sha256 = " H64 "\n")
		   MODEL("c", "e/d", "c", "1", "sha256 = " H64 "\n")
		   MODEL("e", "d.x", "e", "1", "sha256 = " H64 "\n")
		   ARCH("f", "e/d2", FILE_LINE("x"))
		   ARCH("g", "top/one", FILE_LINE("x"))
		   ARCH("h", "top/two", FILE_LINE("x")));
	CHECK(cfg && cfg->nmodels == 9 && cfg->narchives == 4);
	mfs_config_free(cfg);
}

/* 10,000 files in one directory and 10,000 one-file archives. */
static void test_many(void)
{
	enum { N = 10000 };
	size_t cap = 256 + (size_t)N * 320, len;
	char *text = malloc(cap), err[256];
	struct mfs_config *cfg = NULL;
	uint64_t sum = 0;
	double t0, t1;

	CHECK(text != NULL);
	if (!text)
		return;
	len = (size_t)snprintf(text, cap, SRC "[model big]\nsource = zoo\npath = big\nurl = big.zip\n"
			       "archive = zip\nmember_prefix = big/\n");
	for (int i = 0; i < N; i++) {
		/* not in name order, so the path check has to sort */
		len += (size_t)snprintf(text + len, cap - len, "file = f%05d 1%d sha256:" H64 "\n",
					(i * 7919) % N, i);
		sum += 10 * (i < 10 ? 1 : i < 100 ? 10 : i < 1000 ? 100 : 1000) + (uint64_t)i;
	}
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"[model m%d]\nsource = zoo\npath = one/m%05d.params\nurl = m%d.zip\n"
					"archive = zip\nmember = m.params\nsize = %d\nsha256 = " H64 "\n",
					i, N - i, i, i + 1);
	CHECK(len < cap);
	t0 = now();
	CHECK_EQ_INT(mfs_config_parse_string("big.ini", text, &cfg, err, sizeof(err)), 0);
	t1 = now();
	free(text);
	if (!cfg)
		return;
	/* quadratic work would take minutes here */
	CHECK(t1 - t0 < 10.0);
	CHECK_EQ_INT(cfg->nmodels, 2 * N);
	CHECK_EQ_INT(cfg->narchives, 1 + N);
	if (cfg->nmodels != 2 * N || cfg->narchives != 1 + N)
		goto out_free_cfg;
	CHECK_EQ_INT(cfg->archives[0].nmembers, N);
	CHECK_EQ_INT(cfg->archives[0].max_size, sum + sum / 8 + MIB);
	for (size_t i = 0; i < N; i++) {
		CHECK(cfg->archives[0].members[i] == i);
		CHECK(cfg->archives[1 + i].nmembers == 1 && cfg->archives[1 + i].members[0] == N + i);
		CHECK(cfg->models[N + i].archive == &cfg->archives[1 + i]);
	}
	CHECK_STR(cfg->models[1].member, "big/f07919");
	CHECK_STR(cfg->models[1].path, "big/f07919");
out_free_cfg:
	mfs_config_free(cfg);
}

int main(void)
{
	char cmd[64];
	FILE *f;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	f = fopen(ca_path(), "w");
	if (!f || fputs("not really a CA\n", f) < 0 || fclose(f) != 0) {
		perror(ca_path());
		return 1;
	}
	RUN(test_full);
	RUN(test_defaults);
	RUN(test_bad_sections);
	RUN(test_bad_keys);
	RUN(test_bad_values);
	RUN(test_folder_model);
	RUN(test_prefetch_key);
	RUN(test_signed_models);
	RUN(test_keyless_models);
	RUN(test_sources_keys);
	RUN(test_bad_paths);
	RUN(test_check_path);
	RUN(test_bad_urls);
	RUN(test_sha1_policy);
	RUN(test_object_name_and_find);
	RUN(test_inih_quirks);
	RUN(test_load);
	RUN(test_lock_files);
	RUN(test_passthrough_key);
	RUN(test_max_fetches);
	RUN(test_sizes_and_backoff);
	RUN(test_archives);
	RUN(test_archive_max_size);
	RUN(test_bad_archive_keys);
	RUN(test_bad_archive_values);
	RUN(test_archive_sha1_policy);
	RUN(test_archive_paths);
	RUN(test_many);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_done();
}
