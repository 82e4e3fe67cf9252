/* Unit tests for fs/catalog.c. */
#include "catalog.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MODEL(path, size) \
	"[model " size "]\nsource = s\npath = " path "\nurl = m\nsize = " size "\nsha256 = " H64 "\n"

/* Listed out of order on purpose; sizes double as unique section ids. */
static const char tree_ini[] =
	"[source s]\nurl = https://models.example.com/\n"
	MODEL("zoo/sub/deeper/z.bin", "7")
	MODEL("zoo/b0", "512")
	MODEL("top.bin", "1")
	MODEL("zoo/b/x.bin", "1000")
	MODEL("facenet/20180402-114759/model.meta", "4096")
	MODEL("zoo/resnet50.params", "102488391")
	MODEL("zoo/b-c", "513")
	MODEL("zoo/sub/a.bin", "65536");

static struct mfs_config *cfg;
static struct mfs_catalog cat;
static time_t built_after, built_before;

static int setup(void)
{
	char err[256];
	int rc = mfs_config_parse_string("tree.ini", tree_ini, &cfg, err, sizeof(err));

	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	built_after = time(NULL);
	rc = mfs_catalog_build(&cat, cfg, NULL);
	built_before = time(NULL);
	return rc;
}

/* Checks that `path` is a directory listing exactly `names` in order. */
#define CHECK_DIR(path, ...) check_dir(__LINE__, path, (const char *[]){ __VA_ARGS__, NULL })
static void check_dir(int at, const char *path, const char **names)
{
	const struct mfs_node *dir = mfs_catalog_resolve(&cat, path);
	size_t i = 0;

	if (!dir || dir->model) {
		fprintf(stderr, "  %s:%d: '%s' is not a directory\n", __FILE__, at, path);
		unit_cur_failed = 1;
		return;
	}
	for (; names[i] && i < dir->nchildren; i++) {
		const struct mfs_node *n = mfs_catalog_node(&cat, dir->children[i]);

		if (!n || strcmp(n->name, names[i]) || n->parent != dir->ino) {
			fprintf(stderr, "  %s:%d: '%s' entry %zu is '%s', expected '%s'\n", __FILE__, at,
				path, i, n ? n->name : "(null)", names[i]);
			unit_cur_failed = 1;
		}
	}
	if (names[i] || i != dir->nchildren) {
		fprintf(stderr, "  %s:%d: '%s' has %zu entries\n", __FILE__, at, path, dir->nchildren);
		unit_cur_failed = 1;
	}
}

static void test_shape(void)
{
	const struct mfs_node *root = mfs_catalog_node(&cat, MFS_ROOT_INO);

	CHECK_EQ_INT(cat.nnodes, 15);
	CHECK(root != NULL);
	if (!root)
		return;
	CHECK_EQ_INT(root->ino, MFS_ROOT_INO);
	CHECK_EQ_INT(root->parent, MFS_ROOT_INO);
	CHECK_STR(root->name, "");
	CHECK(root->model == NULL);
	for (size_t i = 0; i < cat.nnodes; i++) {
		const struct mfs_node *n = &cat.nodes[i];

		CHECK_EQ_INT(n->ino, i + 1);
		CHECK(n->parent >= 1 && n->parent <= cat.nnodes);
		if (n->model) {
			CHECK(n->nchildren == 0 && n->children == NULL);
			CHECK(n->model == &cfg->models[n->model_index]);
		} else {
			CHECK(n->nchildren > 0 || n->ino == MFS_ROOT_INO);
		}
	}
	CHECK_DIR("", "facenet", "top.bin", "zoo");
	CHECK_DIR("facenet", "20180402-114759");
	CHECK_DIR("facenet/20180402-114759", "model.meta");
	/* "b" before "b-c" though "zoo/b-c" < "zoo/b/x.bin" */
	CHECK_DIR("zoo", "b", "b-c", "b0", "resnet50.params", "sub");
	CHECK_DIR("zoo/b", "x.bin");
	CHECK_DIR("zoo/sub", "a.bin", "deeper");
	CHECK_DIR("zoo/sub/deeper", "z.bin");
}

static void test_readdir_order(void)
{
	for (size_t i = 0; i < cat.nnodes; i++) {
		const struct mfs_node *dir = &cat.nodes[i];

		for (size_t j = 0; j < dir->nchildren; j++) {
			const struct mfs_node *n = mfs_catalog_node(&cat, dir->children[j]);

			CHECK(n && n->parent == dir->ino);
			if (n && j > 0)
				CHECK(strcmp(mfs_catalog_node(&cat, dir->children[j - 1])->name, n->name) < 0);
		}
	}
}

static void test_lookup(void)
{
	const struct mfs_node *zoo = mfs_catalog_lookup(&cat, MFS_ROOT_INO, "zoo"), *n;

	CHECK(zoo && !zoo->model && !strcmp(zoo->name, "zoo"));
	if (!zoo)
		return;
	n = mfs_catalog_lookup(&cat, zoo->ino, "b-c");
	CHECK(n && n->model && !strcmp(n->model->path, "zoo/b-c"));
	CHECK(n && n->parent == zoo->ino);
	CHECK(n && n->model == &cfg->models[n->model_index] && n->model_index == 6);
	n = mfs_catalog_lookup(&cat, zoo->ino, "sub");
	CHECK(n && !n->model);
	for (size_t i = 0; i < zoo->nchildren; i++) {
		n = mfs_catalog_node(&cat, zoo->children[i]);
		CHECK(mfs_catalog_lookup(&cat, zoo->ino, n->name) == n);
	}

	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "zo") == NULL);
	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "zoo2") == NULL);
	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "a") == NULL);
	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "zzz") == NULL);
	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "") == NULL);
	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "zoo/b") == NULL);
	CHECK(mfs_catalog_lookup(&cat, zoo->ino, "b-") == NULL);
	CHECK(mfs_catalog_lookup(&cat, zoo->ino, "b-cd") == NULL);
	CHECK(mfs_catalog_lookup(&cat, MFS_ROOT_INO, "..") == NULL);
	/* a file has no children; bad inos have nothing */
	n = mfs_catalog_lookup(&cat, zoo->ino, "b0");
	CHECK(n && mfs_catalog_lookup(&cat, n->ino, "x") == NULL);
	CHECK(mfs_catalog_lookup(&cat, 0, "zoo") == NULL);
	CHECK(mfs_catalog_lookup(&cat, cat.nnodes + 1, "zoo") == NULL);
	CHECK(mfs_catalog_node(&cat, 0) == NULL);
	CHECK(mfs_catalog_node(&cat, cat.nnodes) != NULL);
	CHECK(mfs_catalog_node(&cat, cat.nnodes + 1) == NULL);
}

static void test_resolve(void)
{
	const struct mfs_node *n;

	CHECK(mfs_catalog_resolve(&cat, "") == mfs_catalog_node(&cat, MFS_ROOT_INO));
	n = mfs_catalog_resolve(&cat, "zoo/b/x.bin");
	CHECK(n && n->model && n->model->size == 1000 && !strcmp(n->name, "x.bin"));
	n = mfs_catalog_resolve(&cat, "facenet/20180402-114759/model.meta");
	CHECK(n && n->model && !strcmp(n->model->path, "facenet/20180402-114759/model.meta"));
	n = mfs_catalog_resolve(&cat, "zoo/sub/deeper");
	CHECK(n && !n->model && !strcmp(n->name, "deeper"));
	CHECK(mfs_catalog_resolve(&cat, "zoo/b/x.bin/y") == NULL);
	CHECK(mfs_catalog_resolve(&cat, "zoo/nope") == NULL);
	CHECK(mfs_catalog_resolve(&cat, "nope/b") == NULL);
	CHECK(mfs_catalog_resolve(&cat, "zoo/../top.bin") == NULL);
	CHECK(mfs_catalog_resolve(&cat, "zoo/b") == mfs_catalog_lookup(&cat, mfs_catalog_resolve(&cat, "zoo")->ino, "b"));
	for (size_t i = 0; i < cfg->nmodels; i++) {
		n = mfs_catalog_resolve(&cat, cfg->models[i].path);
		CHECK(n && n->model == &cfg->models[i] && n->model_index == i);
	}
}

static void test_stat(void)
{
	static const struct { const char *path; off_t size; blkcnt_t blocks; } files[] = {
		{ "top.bin", 1, 1 }, { "zoo/b0", 512, 1 }, { "zoo/b-c", 513, 2 },
		{ "zoo/sub/a.bin", 65536, 128 }, { "zoo/resnet50.params", 102488391, 200173 },
	};
	static const struct { const char *path; nlink_t nlink; } dirs[] = {
		{ "", 4 }, { "zoo", 4 }, { "zoo/sub", 3 }, { "zoo/b", 2 }, { "facenet", 3 },
	};
	struct stat st;

	CHECK(cat.mtime >= built_after && cat.mtime <= built_before);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct mfs_node *n = mfs_catalog_resolve(&cat, files[i].path);

		CHECK(n != NULL);
		if (!n)
			continue;
		memset(&st, 0xa5, sizeof(st));
		mfs_catalog_stat(&cat, n, &st);
		CHECK_EQ_INT(st.st_ino, n->ino);
		CHECK_EQ_INT(st.st_mode, S_IFREG | 0444);
		CHECK_EQ_INT(st.st_nlink, 1);
		CHECK_EQ_INT(st.st_size, files[i].size);
		CHECK_EQ_INT(st.st_blocks, files[i].blocks);
		CHECK_EQ_INT(st.st_blksize, 65536);
		CHECK_EQ_INT(st.st_uid, 0);
		CHECK_EQ_INT(st.st_gid, 0);
		CHECK_EQ_INT(st.st_mtim.tv_sec, cat.mtime);
		CHECK_EQ_INT(st.st_atim.tv_sec, cat.mtime);
		CHECK_EQ_INT(st.st_ctim.tv_sec, cat.mtime);
		CHECK_EQ_INT(st.st_mtim.tv_nsec, 0);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const struct mfs_node *n = mfs_catalog_resolve(&cat, dirs[i].path);

		CHECK(n != NULL);
		if (!n)
			continue;
		memset(&st, 0xa5, sizeof(st));
		mfs_catalog_stat(&cat, n, &st);
		CHECK_EQ_INT(st.st_ino, n->ino);
		CHECK_EQ_INT(st.st_mode, S_IFDIR | 0555);
		CHECK_EQ_INT(st.st_nlink, dirs[i].nlink);
		CHECK_EQ_INT(st.st_uid, 0);
		CHECK_EQ_INT(st.st_gid, 0);
		CHECK_EQ_INT(st.st_mtim.tv_sec, cat.mtime);
		CHECK_EQ_INT(st.st_ctim.tv_sec, cat.mtime);
	}
}

/* A config that skipped validation: the catalog still refuses clashes. */
static int build_paths(struct mfs_catalog *c, const char **paths, size_t n)
{
	struct mfs_model models[4];
	struct mfs_config conf = { .models = models, .nmodels = n };

	memset(models, 0, sizeof(models));
	for (size_t i = 0; i < n; i++) {
		models[i].path = (char *)paths[i];
		models[i].size = 1;
	}
	return mfs_catalog_build(c, &conf, NULL);
}

static void test_clashes_and_empty(void)
{
	const char *file_dir[] = { "a/b", "a/b/c" }, *dir_file[] = { "a/b/c/d", "x", "a/b" };
	const char *twice[] = { "y", "x", "y" }, *fine[] = { "a/b-c", "a/b/c", "a/bc" };
	const char *prefix[] = { "a/bc", "a/b" };
	struct mfs_catalog c;
	struct mfs_config empty = { 0 };
	struct stat st;

	CHECK_EQ_INT(build_paths(&c, file_dir, 2), -EEXIST);
	CHECK(c.nodes == NULL && c.nnodes == 0);
	CHECK_EQ_INT(build_paths(&c, dir_file, 3), -EEXIST);
	CHECK_EQ_INT(build_paths(&c, twice, 3), -EEXIST);
	CHECK_EQ_INT(build_paths(&c, fine, 3), 0);
	CHECK_EQ_INT(c.nnodes, 6);
	mfs_catalog_release(&c);
	/* a file whose name starts another's is no directory of it */
	CHECK_EQ_INT(build_paths(&c, prefix, 2), 0);
	CHECK_EQ_INT(c.nnodes, 4);
	mfs_catalog_release(&c);
	CHECK(c.nodes == NULL && c.nnodes == 0);

	CHECK_EQ_INT(mfs_catalog_build(&c, &empty, NULL), 0);
	CHECK_EQ_INT(c.nnodes, 1);
	CHECK(mfs_catalog_resolve(&c, "") != NULL && c.nodes[0].nchildren == 0);
	CHECK(mfs_catalog_lookup(&c, MFS_ROOT_INO, "x") == NULL);
	mfs_catalog_stat(&c, &c.nodes[0], &st);
	CHECK_EQ_INT(st.st_mode, S_IFDIR | 0555);
	CHECK_EQ_INT(st.st_nlink, 2);
	mfs_catalog_release(&c);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_ten_thousand(void)
{
	enum { N = 10000, DIRS = 100 };
	size_t cap = 64 + (size_t)N * 160, len;
	char *text = malloc(cap), err[256], path[64];
	struct mfs_config *big = NULL;
	struct mfs_catalog c;
	double t0, t1, t2;

	CHECK(text != NULL);
	if (!text)
		return;
	len = (size_t)snprintf(text, cap, "[source s]\nurl = https://models.example.com/\n");
	/* interleaved so the build has to sort */
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"[model m%d]\nsource = s\npath = d%02d/m%05d.bin\nurl = m%d\n"
					"size = %d\nsha256 = " H64 "\n", i, i % DIRS, N - i, i, i + 1);
	CHECK(len < cap);
	t0 = now();
	CHECK_EQ_INT(mfs_config_parse_string("big.ini", text, &big, err, sizeof(err)), 0);
	t1 = now();
	free(text);
	if (!big)
		return;
	CHECK_EQ_INT(mfs_catalog_build(&c, big, NULL), 0);
	t2 = now();
	/* quadratic work would take minutes here; n log n takes milliseconds */
	CHECK(t1 - t0 < 10.0);
	CHECK(t2 - t1 < 2.0);
	CHECK_EQ_INT(c.nnodes, 1 + DIRS + N);
	CHECK_EQ_INT(c.nodes[0].nchildren, DIRS);
	for (size_t i = 0; i < c.nnodes; i++) {
		const struct mfs_node *d = &c.nodes[i];

		for (size_t j = 1; j < d->nchildren; j++)
			CHECK(strcmp(c.nodes[d->children[j - 1] - 1].name, c.nodes[d->children[j] - 1].name) < 0);
	}
	for (size_t i = 0; i < big->nmodels; i++) {
		const struct mfs_node *n = mfs_catalog_resolve(&c, big->models[i].path);

		CHECK(n && n->model_index == i);
	}
	snprintf(path, sizeof(path), "d%02d/m%05d.bin", 7, N - 7);
	CHECK(mfs_catalog_resolve(&c, path) != NULL);
	snprintf(path, sizeof(path), "d%02d/m%05d.bin", 7, N - 8);
	CHECK(mfs_catalog_resolve(&c, path) == NULL);
	mfs_catalog_release(&c);
	mfs_config_free(big);
}

/* The numbers a reload's catalog gives: kept for the same directory or
 * the same model, fresh (never given before) for everything else. */
static struct mfs_config *parse(const char *name, const char *text)
{
	struct mfs_config *c = NULL;
	char err[256];

	if (mfs_config_parse_string(name, text, &c, err, sizeof(err)) < 0)
		fprintf(stderr, "  %s\n", err);
	return c;
}

static uint64_t ino_of(const struct mfs_catalog *c, const char *path)
{
	const struct mfs_node *n = mfs_catalog_resolve(c, path);

	return n ? n->ino : 0;
}

#define SRC "[source s]\nurl = https://models.example.com/\n"
#define H64B "0000000000000000000000000000000000000000000000000000000000000001"

static void test_renumber(void)
{
	struct mfs_config *a = parse("a.ini", SRC MODEL("d/x", "1") MODEL("d/y", "2")
					    MODEL("b/z", "3") MODEL("top", "4"));
	/* d/y's digest changed, b/z went (and with it b), c/w and d/n came */
	struct mfs_config *b = parse("b.ini", SRC MODEL("d/x", "1") MODEL("top", "4")
					    "[model 2]\nsource = s\npath = d/y\nurl = m\nsize = 2\n"
					    "sha256 = " H64B "\n" MODEL("c/w", "5") MODEL("d/n", "6"));
	/* back to a's d/y and b/z; top is a directory now */
	struct mfs_config *c3 = parse("c.ini", SRC MODEL("d/x", "1") MODEL("d/y", "2")
					     MODEL("b/z", "3") MODEL("top/in", "4"));
	struct mfs_catalog ca, cb, cc;
	uint64_t fresh;

	CHECK(a && b && c3);
	if (!a || !b || !c3)
		goto out_free;
	CHECK_EQ_INT(mfs_catalog_build(&ca, a, NULL), 0);
	/* the first catalog is dense: root, b, b/z, d, d/x, d/y, top */
	CHECK_EQ_INT(ca.nnodes, 7);
	CHECK_EQ_INT(ca.count, 7);
	CHECK_EQ_INT(ca.next_ino, 8);

	CHECK_EQ_INT(mfs_catalog_build(&cb, b, &ca), 0);
	CHECK_EQ_INT(ino_of(&cb, ""), MFS_ROOT_INO);
	CHECK_EQ_INT(ino_of(&cb, "d"), ino_of(&ca, "d"));
	CHECK_EQ_INT(ino_of(&cb, "d/x"), ino_of(&ca, "d/x"));
	CHECK_EQ_INT(ino_of(&cb, "top"), ino_of(&ca, "top"));
	/* changed, new: numbers a never gave, each its own */
	CHECK(ino_of(&cb, "d/y") >= ca.next_ino);
	CHECK(ino_of(&cb, "c") >= ca.next_ino && ino_of(&cb, "c/w") >= ca.next_ino);
	CHECK(ino_of(&cb, "d/n") >= ca.next_ino);
	CHECK(ino_of(&cb, "c") != ino_of(&cb, "c/w") && ino_of(&cb, "d/y") != ino_of(&cb, "d/n"));
	CHECK_EQ_INT(cb.next_ino, ca.next_ino + 4);
	/* gone: its numbers name nothing */
	CHECK(mfs_catalog_node(&cb, ino_of(&ca, "b")) == NULL);
	CHECK(mfs_catalog_node(&cb, ino_of(&ca, "b/z")) == NULL);
	CHECK(mfs_catalog_node(&cb, ino_of(&ca, "d/y")) == NULL);
	CHECK_EQ_INT(cb.count, 8);
	/* the tree holds together under the new numbers */
	CHECK_EQ_INT(mfs_catalog_resolve(&cb, "d/x")->parent, ino_of(&cb, "d"));
	CHECK_EQ_INT(mfs_catalog_resolve(&cb, "c/w")->parent, ino_of(&cb, "c"));
	CHECK_EQ_INT(mfs_catalog_node(&cb, ino_of(&cb, "d/y"))->model->digests.d[MFS_SHA256][31], 1);
	{
		const struct mfs_node *d = mfs_catalog_resolve(&cb, "d");
		const char *names[] = { "n", "x", "y" };

		CHECK_EQ_INT(d->nchildren, 3);
		for (size_t i = 0; i < d->nchildren && i < 3; i++)
			CHECK_STR(mfs_catalog_node(&cb, d->children[i])->name, names[i]);
	}

	/* c3 follows cb: a's numbers for b, b/z and d/y are not given back
	 * (the kernel may still hold them for what they named) */
	CHECK_EQ_INT(mfs_catalog_build(&cc, c3, &cb), 0);
	fresh = cb.next_ino;
	CHECK(ino_of(&cc, "b") >= fresh && ino_of(&cc, "b/z") >= fresh);
	CHECK(ino_of(&cc, "d/y") >= fresh);
	CHECK(ino_of(&cc, "top") >= fresh && ino_of(&cc, "top/in") >= fresh);
	CHECK_EQ_INT(ino_of(&cc, "d/x"), ino_of(&ca, "d/x"));
	CHECK(mfs_catalog_node(&cc, ino_of(&cb, "c")) == NULL);
	CHECK(mfs_catalog_node(&cc, ino_of(&cb, "top")) == NULL);
	CHECK_EQ_INT(cc.count, 8);

	mfs_catalog_release(&cc);
	mfs_catalog_release(&cb);
	mfs_catalog_release(&ca);
out_free:
	mfs_config_free(c3);
	mfs_config_free(b);
	mfs_config_free(a);
}

int main(void)
{
	int rc;

	if (setup() < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	RUN(test_shape);
	RUN(test_readdir_order);
	RUN(test_lookup);
	RUN(test_resolve);
	RUN(test_stat);
	RUN(test_clashes_and_empty);
	RUN(test_ten_thousand);
	RUN(test_renumber);
	mfs_catalog_release(&cat);
	mfs_config_free(cfg);
	rc = unit_done();
	return rc;
}
