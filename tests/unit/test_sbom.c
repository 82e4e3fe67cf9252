/* Unit tests for fs/sbom.c: the document's shape for each kind of model
 * (plain, SHA-1, zip member, zip directory, folder), its determinism,
 * what the store says (verified, quarantined, a refused zip, partial,
 * absent, no store), strings that are not UTF-8, and the serial number.
 * Schema validity and signed models are t_37_sbom.sh's. */
#include "sbom.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "version.h"

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	       c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define S1 H64("1")
#define S2 H64("2")
#define S3 H64("3")
#define S4 H64("4")
#define X5 H64("5") H64("5")
#define SHA1 "0123456789012345678901234567890123456789"

static const char *const CONFIG =
	"[modelfs]\n"
	"store = /nonexistent/store\n"
	"\n"
	"[source zoo]\n"
	"url = https://example.com/zoo/\n"
	"mirrors = https://m1.example.org/z/ https://m2.example.net/\n"
	"allow_sha1 = yes\n"
	"\n"
	"[model plain]\n"
	"source = zoo\n"
	"path = zoo/plain.bin\n"
	"url = plain.bin\n"
	"size = 10\n"
	"sha512 = " X5 "\n"
	"sha256 = " S1 "\n"
	"\n"
	"[model old]\n"
	"source = zoo\n"
	"path = zoo/old.params\n"
	"url = old.params\n"
	"size = 11\n"
	"sha1 = " SHA1 "\n"
	"\n"
	"[model net]\n"
	"source = zoo\n"
	"path = net.params\n"
	"url = gluon/net.zip\n"
	"archive = zip\n"
	"member = net.params\n"
	"size = 12\n"
	"sha256 = " S2 "\n"
	"archive_size = 300\n"
	"archive_sha256 = " S3 "\n"
	"\n"
	"[model dir]\n"
	"source = zoo\n"
	"path = face/dir\n"
	"url = dir.zip?x=1\n"
	"archive = zip\n"
	"member_prefix = d/\n"
	"file = a.pb 5 sha256:" S4 "\n"
	"file = sub/b.meta 6 sha512:" X5 "\n"
	"\n"
	"[model one]\n"
	"source = zoo\n"
	"path = hf/one\n"
	"url = one/\n"
	"file = config.json 7 sha256:" S1 "\n";

static struct mfs_config *parse(const char *text)
{
	struct mfs_config *cfg = NULL;
	char err[512];

	if (mfs_config_parse_string("t.ini", text, &cfg, err, sizeof(err)) < 0)
		fprintf(stderr, "  config: %s\n", err);
	CHECK(cfg != NULL);
	return cfg;
}

static char *build(const struct mfs_sbom_opts *o)
{
	char err[512], *out = NULL;

	CHECK_EQ_INT(mfs_sbom_build(o, &out, err, sizeof(err)), 0);
	if (!out)
		fprintf(stderr, "  sbom: %s\n", err);
	return out;
}

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *d = json_loads(text ? text : "", 0, &e);

	CHECK(d != NULL);
	return d;
}

/* The value of property `name` of component `c` ("" if none). */
static const char *prop(json_t *c, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(c, "properties"), i, p) {
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			return json_string_value(json_object_get(p, "value"));
	}
	return "";
}

static const char *str(json_t *v, const char *path)
{
	json_t *x = json_object_get(v, path);

	return x && json_is_string(x) ? json_string_value(x) : "";
}

static json_t *comp(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "components"), i);
}

static void test_shapes(void)
{
	struct mfs_config *cfg = parse(CONFIG);
	struct mfs_sbom_opts o = {
		.cfg = cfg, .config_sha256 = S4, .timestamp = 1000000000,
		.serial = "urn:uuid:00000000-0000-4000-8000-000000000000",
	};
	char *text;
	json_t *doc, *c, *h, *r, *a, *f, *md;

	if (!cfg)
		return;
	text = build(&o);
	doc = load(text);
	CHECK_STR(str(doc, "bomFormat"), "CycloneDX");
	CHECK_STR(str(doc, "specVersion"), "1.6");
	CHECK_STR(str(doc, "serialNumber"), o.serial);
	CHECK_EQ_INT(json_integer_value(json_object_get(doc, "version")), 1);
	md = json_object_get(doc, "metadata");
	CHECK_STR(str(md, "timestamp"), "2001-09-09T01:46:40Z");
	c = json_array_get(json_object_get(json_object_get(md, "tools"), "components"), 0);
	CHECK_STR(str(c, "name"), "modelfs");
	CHECK_STR(str(c, "version"), MFS_VERSION);
	c = json_object_get(md, "component");
	CHECK_STR(str(c, "name"), "t.ini");
	CHECK_STR(str(c, "bom-ref"), "config");
	CHECK_STR(str(json_array_get(json_object_get(c, "hashes"), 0), "content"), S4);
	CHECK_STR(prop(md, "modelfs:store"), "/nonexistent/store");
	CHECK_EQ_INT(json_array_size(json_object_get(doc, "components")), 5);

	/* plain: digests weakest first; the url, then each mirror's */
	c = comp(doc, 0);
	CHECK_STR(str(c, "type"), "machine-learning-model");
	CHECK_STR(str(c, "name"), "plain");
	CHECK_STR(str(c, "bom-ref"), "model:plain");
	h = json_object_get(c, "hashes");
	CHECK_EQ_INT(json_array_size(h), 2);
	CHECK_STR(str(json_array_get(h, 0), "alg"), "SHA-256");
	CHECK_STR(str(json_array_get(h, 0), "content"), S1);
	CHECK_STR(str(json_array_get(h, 1), "alg"), "SHA-512");
	CHECK_STR(str(json_array_get(h, 1), "content"), X5);
	r = json_object_get(c, "externalReferences");
	CHECK_EQ_INT(json_array_size(r), 3);
	CHECK_STR(str(json_array_get(r, 0), "url"), "https://example.com/zoo/plain.bin");
	CHECK_STR(str(json_array_get(r, 0), "type"), "distribution");
	CHECK_STR(str(json_array_get(r, 1), "url"), "https://m1.example.org/z/plain.bin");
	CHECK_STR(str(json_array_get(r, 2), "url"), "https://m2.example.net/plain.bin");
	CHECK_STR(prop(c, "modelfs:path"), "zoo/plain.bin");
	CHECK_STR(prop(c, "modelfs:size"), "10");
	CHECK_STR(prop(c, "modelfs:source"), "zoo");
	CHECK_STR(prop(c, "modelfs:weak"), "");
	CHECK_STR(prop(c, "modelfs:store:state"), "");
	CHECK(json_object_get(c, "components") == NULL);
	CHECK(json_object_get(c, "pedigree") == NULL);

	/* old: SHA-1 alone, weak */
	c = comp(doc, 1);
	h = json_object_get(c, "hashes");
	CHECK_EQ_INT(json_array_size(h), 1);
	CHECK_STR(str(json_array_get(h, 0), "alg"), "SHA-1");
	CHECK_STR(str(json_array_get(h, 0), "content"), SHA1);
	CHECK_STR(prop(c, "modelfs:weak"), "sha1");

	/* net: a member; the archive its ancestor; fetched from the zip's URLs */
	c = comp(doc, 2);
	CHECK_STR(prop(c, "modelfs:member"), "net.params");
	CHECK_STR(str(json_array_get(json_object_get(c, "externalReferences"), 0), "url"),
		  "https://example.com/zoo/gluon/net.zip");
	a = json_array_get(json_object_get(json_object_get(c, "pedigree"), "ancestors"), 0);
	CHECK_STR(str(a, "type"), "file");
	CHECK_STR(str(a, "bom-ref"), "archive:net");
	CHECK_STR(str(a, "name"), "net.zip");
	CHECK_STR(str(json_array_get(json_object_get(a, "hashes"), 0), "content"), S3);
	CHECK_STR(prop(a, "modelfs:size"), "300");
	CHECK_STR(prop(a, "modelfs:format"), "zip");
	CHECK_EQ_INT(json_array_size(json_object_get(a, "externalReferences")), 3);

	/* dir: a component per member, nested; the archive unpinned */
	c = comp(doc, 3);
	CHECK_STR(prop(c, "modelfs:path"), "face/dir");
	CHECK_STR(prop(c, "modelfs:size"), "11");
	CHECK_STR(prop(c, "modelfs:files"), "2");
	CHECK(json_object_get(c, "hashes") == NULL);
	a = json_array_get(json_object_get(json_object_get(c, "pedigree"), "ancestors"), 0);
	CHECK_STR(str(a, "name"), "dir.zip");
	CHECK(json_object_get(a, "hashes") == NULL);
	CHECK_STR(prop(a, "modelfs:size"), "");
	f = json_object_get(c, "components");
	CHECK_EQ_INT(json_array_size(f), 2);
	CHECK_STR(str(json_array_get(f, 0), "type"), "file");
	CHECK_STR(str(json_array_get(f, 0), "name"), "a.pb");
	CHECK_STR(str(json_array_get(f, 0), "bom-ref"), "model:dir/a.pb");
	CHECK_STR(prop(json_array_get(f, 0), "modelfs:path"), "face/dir/a.pb");
	CHECK_STR(prop(json_array_get(f, 0), "modelfs:member"), "d/a.pb");
	CHECK_STR(prop(json_array_get(f, 0), "modelfs:size"), "5");
	CHECK(json_object_get(json_array_get(f, 0), "externalReferences") == NULL);
	CHECK_STR(str(json_array_get(f, 1), "bom-ref"), "model:dir/sub/b.meta");
	CHECK_STR(str(json_array_get(json_object_get(json_array_get(f, 1), "hashes"), 0), "alg"),
		  "SHA-512");

	/* one: a folder of one file is still a directory; its file its URLs */
	c = comp(doc, 4);
	f = json_object_get(c, "components");
	CHECK_EQ_INT(json_array_size(f), 1);
	CHECK_STR(str(json_array_get(f, 0), "name"), "config.json");
	CHECK_STR(str(json_array_get(json_object_get(json_array_get(f, 0), "externalReferences"), 2),
		      "url"), "https://m2.example.net/one/config.json");

	r = json_array_get(json_object_get(doc, "dependencies"), 0);
	CHECK_STR(str(r, "ref"), "config");
	CHECK_EQ_INT(json_array_size(json_object_get(r, "dependsOn")), 5);
	CHECK_STR(json_string_value(json_array_get(json_object_get(r, "dependsOn"), 3)), "model:dir");
	CHECK(text && text[strlen(text) - 1] == '\n');
	json_decref(doc);
	free(text);
	mfs_config_free(cfg);
}

/* Same input, same bytes; only the timestamp and serial move. */
static void test_deterministic(void)
{
	struct mfs_config *cfg = parse(CONFIG);
	struct mfs_sbom_opts o = { .cfg = cfg, .timestamp = 5, .serial = "urn:uuid:a" };
	char *one, *two, *three;
	json_t *d1, *d3;

	if (!cfg)
		return;
	one = build(&o);
	two = build(&o);
	CHECK_STR(one, two);
	o.timestamp = 6;
	o.serial = "urn:uuid:b";
	three = build(&o);
	d1 = load(one);
	d3 = load(three);
	json_object_del(d1, "serialNumber");
	json_object_del(d3, "serialNumber");
	json_object_del(json_object_get(d1, "metadata"), "timestamp");
	json_object_del(json_object_get(d3, "metadata"), "timestamp");
	CHECK(json_equal(d1, d3));
	CHECK(strcmp(one, three) != 0);
	json_decref(d1);
	json_decref(d3);
	free(one);
	free(two);
	free(three);
	mfs_config_free(cfg);
}

/* Puts `text` into the store as object `object`. */
static void commit(struct mfs_store *st, const char *object, const char *text)
{
	char name[MFS_STAGING_NAME_MAX];
	int fd = mfs_store_stage(st, object, name, sizeof(name));

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, text, strlen(text)), strlen(text));
	CHECK_EQ_INT(mfs_store_commit(st, fd, name, object, false), 0);
	close(fd);
}

static void quarantine(struct mfs_store *st, const char *object)
{
	char name[MFS_STAGING_NAME_MAX];
	int fd = mfs_store_stage(st, object, name, sizeof(name));

	CHECK(fd >= 0);
	CHECK_EQ_INT(mfs_store_quarantine_staged(st, name, object, NULL, 0), 0);
	close(fd);
}

static void test_store_states(void)
{
	struct mfs_config *cfg = parse(CONFIG);
	struct mfs_sbom_opts o = { .cfg = cfg, .serial = "urn:uuid:a", .with_store = true };
	struct mfs_store st;
	struct stat sb;
	char *text;
	json_t *doc, *c, *f;

	if (!cfg)
		return;
	/* no store yet: every file absent */
	text = build(&o);
	doc = load(text);
	CHECK_STR(prop(comp(doc, 0), "modelfs:store:state"), "absent");
	CHECK_STR(prop(comp(doc, 3), "modelfs:store:state"), "absent");
	CHECK_STR(prop(json_array_get(json_object_get(comp(doc, 3), "components"), 1),
		       "modelfs:store:state"), "absent");
	json_decref(doc);
	free(text);

	unit_tmp_make("sbom");
	CHECK_EQ_INT(mfs_store_open(&st, unit_at("store")), 0);
	o.store = &st;
	commit(&st, "sha512-" X5, "plain");        /* plain (and dir's b.meta: same digest) */
	quarantine(&st, "sha1-" SHA1);               /* old: its bytes did not match */
	quarantine(&st, "archive-net");              /* net: its zip was refused */
	quarantine(&st, "sha256-" S1);               /* one's file: refused once ... */
	commit(&st, "sha256-" S1, "one");            /* ... then verified */
	CHECK_EQ_INT(fstatat(st.objects_fd, "sha512-" X5, &sb, 0), 0);
	text = build(&o);
	doc = load(text);
	c = comp(doc, 0);
	CHECK_STR(prop(c, "modelfs:store:state"), "verified");
	CHECK_STR(prop(c, "modelfs:store:object"), "sha512-" X5);
	{
		char when[32];
		struct tm tm;

		gmtime_r(&sb.st_ctim.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		CHECK_STR(prop(c, "modelfs:store:verified_at"), when);
	}
	CHECK_STR(prop(c, "modelfs:store:quarantined"), "");
	c = comp(doc, 1);
	CHECK_STR(prop(c, "modelfs:store:state"), "quarantined");
	CHECK_STR(prop(c, "modelfs:store:quarantined"), "1");
	CHECK_STR(prop(c, "modelfs:store:object"), "");
	CHECK(prop(c, "modelfs:store:quarantined_at")[0] != '\0');
	CHECK_STR(prop(comp(doc, 2), "modelfs:store:state"), "quarantined");
	c = comp(doc, 3);
	f = json_object_get(c, "components");
	CHECK_STR(prop(json_array_get(f, 0), "modelfs:store:state"), "absent");
	CHECK_STR(prop(json_array_get(f, 1), "modelfs:store:state"), "verified");
	CHECK_STR(prop(c, "modelfs:store:state"), "partial");
	c = comp(doc, 4);
	f = json_array_get(json_object_get(c, "components"), 0);
	CHECK_STR(prop(f, "modelfs:store:state"), "verified");
	CHECK_STR(prop(f, "modelfs:store:quarantined"), "1");
	CHECK_STR(prop(c, "modelfs:store:state"), "verified");
	json_decref(doc);
	free(text);

	/* a refused zip condemns every member */
	quarantine(&st, "archive-dir");
	text = build(&o);
	doc = load(text);
	c = comp(doc, 3);
	f = json_object_get(c, "components");
	CHECK_STR(prop(json_array_get(f, 0), "modelfs:store:state"), "quarantined");
	CHECK_STR(prop(json_array_get(f, 1), "modelfs:store:state"), "verified");
	CHECK_STR(prop(c, "modelfs:store:state"), "quarantined");
	json_decref(doc);
	free(text);
	mfs_store_release(&st);
	unit_tmp_remove();
	mfs_config_free(cfg);
}

static void test_not_utf8(void)
{
	static const char *const bad[] = {
		"a\xff.bin",             /* not a lead byte */
		"a\xc3.bin",             /* cut short */
		"a\xc0\xaf.bin",         /* overlong '/' */
		"a\xed\xa0\x80.bin",     /* a surrogate */
		"a\xf4\x90\x80\x80.bin", /* past U+10FFFF */
	};
	static const char *const good[] = { "caf\xc3\xa9.bin", "\xe2\x82\xac.bin",
					    "\xf0\x9f\x98\x80.bin" };
	char text[1024], err[512], *out;
	struct mfs_config *cfg;
	struct mfs_sbom_opts o = { .serial = "urn:uuid:a" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + sizeof(good) / sizeof(good[0]); i++) {
		bool ok = i >= sizeof(bad) / sizeof(bad[0]);
		const char *path = ok ? good[i - sizeof(bad) / sizeof(bad[0])] : bad[i];
		int rc;

		snprintf(text, sizeof(text),
			 "[source s]\nurl = https://h/\n\n[model m]\nsource = s\npath = %s\n"
			 "url = a.bin\nsize = 1\nsha256 = " S1 "\n", path);
		cfg = parse(text);
		if (!cfg)
			continue;
		o.cfg = cfg;
		out = NULL;
		rc = mfs_sbom_build(&o, &out, err, sizeof(err));
		if (ok) {
			CHECK_EQ_INT(rc, 0);
			CHECK(out && strstr(out, path));
		} else {
			CHECK_EQ_INT(rc, -EINVAL);
			CHECK(out == NULL);
			CHECK_CONTAINS(err, "is not valid UTF-8");
			CHECK_CONTAINS(err, "'a\\x");
		}
		free(out);
		mfs_config_free(cfg);
	}
}

static void test_serial(void)
{
	char a[64], b[64], small[45];

	CHECK_EQ_INT(mfs_sbom_serial(a, sizeof(a)), 0);
	CHECK_EQ_INT(mfs_sbom_serial(b, sizeof(b)), 0);
	CHECK_EQ_INT(strlen(a), 45);
	CHECK(strncmp(a, "urn:uuid:", 9) == 0);
	CHECK(a[17] == '-' && a[22] == '-' && a[27] == '-' && a[32] == '-');
	CHECK(a[23] == '4');
	CHECK(strchr("89ab", a[28]) != NULL);
	CHECK(strcmp(a, b) != 0);
	CHECK_EQ_INT(mfs_sbom_serial(small, sizeof(small)), -EINVAL);
}

int main(void)
{
	RUN(test_shapes);
	RUN(test_deterministic);
	RUN(test_store_states);
	RUN(test_not_utf8);
	RUN(test_serial);
	return unit_done();
}
