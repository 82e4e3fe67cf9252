/* Unit tests for fs/audit.c: JSON escaping (exact output, truncation),
 * lines a real JSON parser accepts, field order and omission, and many
 * writers on one file without torn lines. */
#include "audit.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { THREADS = 4, PER_THREAD = 500 };

/* The whole file, NUL-terminated; the caller frees it. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Python's strict json and UTF-8 decoding accept every line; with `detail`
 * it also checks key order, the ts format and the decoded hostile values. */
static const char checker[] =
	"import json, re, sys\n"
	"order = ['ts','event','path','url','algo','expected','actual','bytes','ms',"
	"'open_id','attempt','resumed_from','signer','prefetch','error']\n"
	"lines = open(sys.argv[1], encoding='utf-8', newline='').read().split('\\n')\n"
	"assert lines[-1] == ''\n"
	"docs = [json.loads(l) for l in lines[:-1]]\n"
	"for d in docs:\n"
	"    assert isinstance(d, dict)\n"
	"    assert list(d) == [k for k in order if k in d], list(d)\n"
	"    assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z', d['ts'])\n"
	"if sys.argv[2] == 'detail':\n"
	"    assert len(docs) == 4\n"
	"    assert docs[1]['path'] == 'q\"b\\\\s\\nx\\x01\\x7f\\ufffd/\\u00e9\\U0001f600'\n"
	"    assert docs[1]['error'] == 'bad\\r\\t\\b\\f\\x1f'\n"
	"    assert docs[3]['path'] == '\\x01' * 5000\n";

static bool python_accepts(const char *file, const char *mode)
{
	char cmd[1024];
	FILE *f;

	f = fopen(unit_at("check.py"), "w");
	if (!f || fputs(checker, f) == EOF || fclose(f) != 0)
		return false;
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s' %s", unit_at("check.py"), file, mode);
	return system(cmd) == 0;
}

static void check_escape(const char *in, const char *want)
{
	char out[256];
	size_t n = mfs_json_escape(in, out, sizeof(out));

	CHECK_STR(out, want);
	CHECK_EQ_INT(n, strlen(want));
}

static void test_escape_exact(void)
{
	check_escape("plain text", "plain text");
	check_escape("", "");
	check_escape("q\"b\\s/", "q\\\"b\\\\s/");
	check_escape("\b\f\n\r\t", "\\b\\f\\n\\r\\t");
	check_escape("\x01\x1f\x7f", "\\u0001\\u001f\x7f");
	/* Valid UTF-8 passes through: 2, 3 and 4 bytes, and the extremes. */
	check_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	check_escape("\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xc2\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf");
	/* Every invalid byte becomes one U+FFFD. */
	check_escape("\xff", "\\ufffd");
	check_escape("\x80x", "\\ufffdx");
	check_escape("\xc0\xaf", "\\ufffd\\ufffd");             /* overlong */
	check_escape("\xe0\x80\x80", "\\ufffd\\ufffd\\ufffd");  /* overlong */
	check_escape("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");  /* surrogate */
	check_escape("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
	check_escape("\xf5", "\\ufffd");
	check_escape("a\xe2\x82", "a\\ufffd\\ufffd");          /* cut at the end */
	check_escape("\xe2\x82z", "\\ufffd\\ufffdz");
}

static void test_escape_truncation(void)
{
	/* Pieces: a  \"  \u0001  é  \ufffd  😀 */
	static const char in[] = "a\"\x01\xc3\xa9\xff\xf0\x9f\x98\x80";
	static const char full[] = "a\\\"\\u0001\xc3\xa9\\ufffd\xf0\x9f\x98\x80";
	static const size_t ends[] = { 0, 1, 3, 9, 11, 17, 21 };
	char out[40];

	CHECK_EQ_INT(strlen(full), 21);
	for (size_t len = 0; len < sizeof(out); len++) {
		size_t n, want = 0;

		for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			if (len > 0 && ends[i] <= len - 1)
				want = ends[i];
		}
		memset(out, 'X', sizeof(out));
		n = mfs_json_escape(in, out, len);
		CHECK_EQ_INT(n, want);
		if (len == 0) {
			CHECK_EQ_INT(out[0], 'X');
			continue;
		}
		CHECK_EQ_INT(out[n], '\0');
		CHECK(memcmp(out, full, n) == 0);
		for (size_t i = len; i < sizeof(out); i++)
			CHECK_EQ_INT(out[i], 'X');
	}
}

static void test_write_lines(void)
{
	static const struct mfs_audit_event events[] = {
		{ .event = "fetch_ok", .path = "resnet50/model.params",
		  .url = "https://mirror.example/r50.params", .algo = "sha256",
		  .expected = "ab01", .actual = "ab01", .bytes = 123, .ms = 45 },
		{ .event = "verify_failed",
		  .path = "q\"b\\s\nx\x01\x7f\xff/\xc3\xa9\xf0\x9f\x98\x80",
		  .error = "bad\r\t\b\f\x1f", .bytes = 0, .ms = -1 },
		{ .event = "fetch_start", .bytes = -1, .ms = -1, .prefetch = true },
	};
	static const char *const want[] = {
		",\"event\":\"fetch_ok\",\"path\":\"resnet50/model.params\","
		"\"url\":\"https://mirror.example/r50.params\",\"algo\":\"sha256\","
		"\"expected\":\"ab01\",\"actual\":\"ab01\",\"bytes\":123,\"ms\":45}",
		",\"event\":\"verify_failed\","
		"\"path\":\"q\\\"b\\\\s\\nx\\u0001\x7f\\ufffd/\xc3\xa9\xf0\x9f\x98\x80\","
		"\"bytes\":0,\"error\":\"bad\\r\\t\\b\\f\\u001f\"}",
		",\"event\":\"fetch_start\",\"prefetch\":true}",
	};
	struct mfs_audit_event big = { .event = "store_corrupt", .bytes = -1, .ms = -1 };
	struct mfs_audit *a;
	char *text, *line, *next, *path;
	int n = 0;

	unit_tmp_make("audit");
	CHECK_EQ_INT(mfs_audit_open(unit_at("logs/audit.jsonl"), &a), 0);
	CHECK(a != NULL);
	CHECK_EQ_INT(unit_mode_of(unit_at("logs")), 0700);
	CHECK_EQ_INT(unit_mode_of(unit_at("logs/audit.jsonl")), 0600);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		CHECK_EQ_INT(mfs_audit_write(a, &events[i]), 0);
	/* Past the stack buffer: every byte escapes to six. */
	path = malloc(5001);
	CHECK(path != NULL);
	memset(path, '\x01', 5000);
	path[5000] = '\0';
	big.path = path;
	CHECK_EQ_INT(mfs_audit_write(a, &big), 0);
	free(path);
	mfs_audit_close(a);

	text = slurp(unit_at("logs/audit.jsonl"));
	CHECK(text != NULL);
	for (line = text; text && *line; line = next + 1, n++) {
		next = strchr(line, '\n');
		CHECK(next != NULL);
		if (!next)
			break;
		*next = '\0';
		/* {"ts":"2026-11-22T01:02:03.456Z" is 32 bytes. */
		CHECK(strncmp(line, "{\"ts\":\"", 7) == 0);
		CHECK(strlen(line) > 32 && line[30] == 'Z' && line[31] == '"' && line[26] == '.' && line[17] == 'T');
		if (n < 3 && strlen(line) > 32)
			CHECK_STR(line + 32, want[n]);
		else if (n == 3)
			CHECK_EQ_INT(strlen(line), 32 + strlen(",\"event\":\"store_corrupt\",\"path\":\"\"}") + 6 * 5000);
	}
	CHECK_EQ_INT(n, 4);
	free(text);
	CHECK(python_accepts(unit_at("logs/audit.jsonl"), "detail"));

	/* Reopening appends. */
	CHECK_EQ_INT(mfs_audit_open(unit_at("logs/audit.jsonl"), &a), 0);
	CHECK_EQ_INT(mfs_audit_write(a, &events[2]), 0);
	mfs_audit_close(a);
	text = slurp(unit_at("logs/audit.jsonl"));
	n = 0;
	for (line = text; text && (line = strchr(line, '\n')); line++)
		n++;
	CHECK_EQ_INT(n, 5);
	CHECK(text && strlen(text) > 32 &&
	      memcmp(text + strlen(text) - strlen(want[2]) - 1, want[2], strlen(want[2])) == 0);
	free(text);
	unit_tmp_remove();
}

static void test_open_errors(void)
{
	struct mfs_audit *a = (struct mfs_audit *)&a;

	unit_tmp_make("audit");
	/* Only the last directory is created. */
	CHECK_EQ_INT(mfs_audit_open(unit_at("no/such/audit.jsonl"), &a), -ENOENT);
	CHECK(a == NULL);
	CHECK(access(unit_at("no"), F_OK) < 0);
	mfs_audit_close(NULL);
	unit_tmp_remove();
}

static void test_write_failure(void)
{
	struct mfs_audit_event ev = { .event = "fetch_failed", .path = "x", .bytes = -1, .ms = -1 };
	struct mfs_audit *a;

	if (access("/dev/full", W_OK) < 0)
		return;
	CHECK_EQ_INT(mfs_audit_open("/dev/full", &a), 0);
	CHECK_EQ_INT(mfs_audit_write(a, &ev), -ENOSPC);
	mfs_audit_close(a);
}

struct writer {
	struct mfs_audit *a;
	int id;
};

static void *write_many(void *arg)
{
	const struct writer *w = arg;
	struct mfs_audit_event ev = { .event = "verify_ok", .ms = -1 };
	char path[1200];

	/* Long lines make any interleaving visible. */
	memset(path, 'a' + w->id, sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	ev.path = path;
	for (int i = 0; i < PER_THREAD; i++) {
		ev.bytes = i;
		if (mfs_audit_write(w->a, &ev) < 0)
			return arg;
	}
	return NULL;
}

static void test_concurrent_writers(void)
{
	static bool seen[THREADS][PER_THREAD];
	struct writer w[THREADS];
	pthread_t tid[THREADS];
	struct mfs_audit *a[2];
	char *text, *line, *next;
	int lines = 0, bad = 0;

	unit_tmp_make("audit");
	/* Two handles: separate mutexes, so only O_APPEND keeps lines whole. */
	CHECK_EQ_INT(mfs_audit_open(unit_at("audit.jsonl"), &a[0]), 0);
	CHECK_EQ_INT(mfs_audit_open(unit_at("audit.jsonl"), &a[1]), 0);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct writer){ a[t % 2], t };
		CHECK_EQ_INT(pthread_create(&tid[t], NULL, write_many, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		void *res = &res;

		CHECK_EQ_INT(pthread_join(tid[t], &res), 0);
		CHECK(res == NULL);
	}
	mfs_audit_close(a[0]);
	mfs_audit_close(a[1]);

	text = slurp(unit_at("audit.jsonl"));
	CHECK(text != NULL);
	for (line = text; text && *line && (next = strchr(line, '\n')); line = next + 1) {
		const char *p = strstr(line, "\"path\":\"");
		const char *b = strstr(line, "\"bytes\":");
		long t, i;

		*next = '\0';
		lines++;
		if (strncmp(line, "{\"ts\":\"", 7) != 0 || next[-1] != '}' || !p || !b) {
			bad++;
			continue;
		}
		t = p[8] - 'a';
		i = strtol(b + 8, NULL, 10);
		if (t < 0 || t >= THREADS || i < 0 || i >= PER_THREAD || seen[t][i] ||
		    strspn(p + 8, (char[]){ (char)('a' + t), '\0' }) != 1199 || p[8 + 1199] != '"') {
			bad++;
			continue;
		}
		seen[t][i] = true;
	}
	CHECK(!text || *line == '\0');
	CHECK_EQ_INT(lines, THREADS * PER_THREAD);
	CHECK_EQ_INT(bad, 0);
	free(text);
	CHECK(python_accepts(unit_at("audit.jsonl"), "plain"));
	unit_tmp_remove();
}

int main(void)
{
	RUN(test_escape_exact);
	RUN(test_escape_truncation);
	RUN(test_write_lines);
	RUN(test_open_errors);
	RUN(test_write_failure);
	RUN(test_concurrent_writers);
	return unit_done();
}
