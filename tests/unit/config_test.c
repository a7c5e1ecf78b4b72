/*
 * config_test: the config module alone (config/ plus common/log.c).
 *
 * Golden files: tests/unit/config_golden/NAME.yml is loaded (env expansion
 * on, name "NAME.yml" in messages); NAME.err holds the expected messages
 * (errors and warnings; absent means none) and NAME.out the effective
 * config printed by cfg_print (absent means the load must fail). Every
 * printed config must load again and print the same (comments aside). No
 * output may contain "s3cr3t", which every secret in the goldens and in the
 * test environment contains. UPDATE_GOLDEN=1 rewrites the .err/.out files.
 *
 * The rest are table tests: durations, env expansion, sizes, every url form
 * of the format doc §5.4, credential precedence, paths, redaction and the
 * warning about a readable file with secrets.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

#define GOLDEN_DIR "tests/unit/config_golden"
#define SECRET_MARK "s3cr3t"
/* The age spec's example key pair (age: keys must parse). */
#define AGE_ID "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJ"     "ZGFPQ4EGAEX"
#define AGE_RCPT "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
#define HOME_DIR "/home/tester"

/* --- helpers -------------------------------------------------------------- */

struct memout {
	char *buf;
	size_t len;
	FILE *f;
};

static void
mem_open(struct memout *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
}

static char *
mem_close(struct memout *m)
{
	fclose(m->f);
	return m->buf;
}

/* Loads TEXT; returns the cfg (or NULL) and the messages in *ERRS. */
static struct cfg *
load_str(const char *text, bool expand, char **errs, int *nerr)
{
	struct memout m;
	int n = -1;

	mem_open(&m);
	struct cfg *cfg = cfg_load_text("t.yml", text, strlen(text), expand,
	    m.f, &n);
	*errs = mem_close(&m);
	if (nerr != NULL)
		*nerr = n;
	return cfg;
}

static char *
print_str(const struct cfg *cfg)
{
	struct memout m;

	mem_open(&m);
	cfg_print(cfg, m.f);
	return mem_close(&m);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	if (f == NULL)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* TEXT without lines that are only a comment. */
static char *
strip_comments(const char *text)
{
	char *out = calloc(1, strlen(text) + 1), *w = out;

	while (*text) {
		const char *eol = strchr(text, '\n');
		size_t n = eol ? (size_t)(eol - text + 1) : strlen(text);
		size_t sp = strspn(text, " ");
		if (text[sp] != '#') {
			memcpy(w, text, n);
			w += n;
		}
		text += n;
	}
	return out;
}

static void
set_test_env(void)
{
	static const char *const unset[] = { "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY",
		"AWS_SECRET_KEY", "LITESTREAM_ACCESS_KEY_ID",
		"LITESTREAM_SECRET_ACCESS_KEY", "WS_UNSET", "WALSHIP_CONFIG",
		"LITESTREAM_CONFIG" };

	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	setenv("HOME", HOME_DIR, 1);
	setenv("WS_BUCKET", "env-bucket", 1);
	setenv("WS_PATH", "/data/env.db", 1);
	setenv("WS_SECRET", "env-" SECRET_MARK "-value", 1);
	setenv("WS_AGE_ID", AGE_ID, 1);
	setenv("WS_EMPTY", "", 1);
	setenv("WS_KEY_ID", "AKIAFROMENV", 1);
}

/* --- goldens -------------------------------------------------------------- */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
golden_names(char ***names)
{
	DIR *d = opendir(GOLDEN_DIR);
	struct dirent *e;
	size_t n = 0, cap = 0;

	*names = NULL;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".yml") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			*names = realloc(*names, cap * sizeof(char *));
		}
		(*names)[n++] = strndup(e->d_name, l - 4);
	}
	closedir(d);
	qsort(*names, n, sizeof(char *), cmp_names);
	return n;
}

/* Compares GOT with NAME.EXT (absent file = WANT_EMPTY). Returns 0 if same. */
static int
golden_cmp(const char *name, const char *ext, const char *got, bool update)
{
	char path[512];
	char *want;
	int rc;

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s.%s", name, ext);
	if (update) {
		if (got != NULL && *got != '\0')
			write_file(path, got);
		else
			unlink(path);
		return 0;
	}
	want = read_file(path);
	rc = strcmp(want ? want : "", got ? got : "") != 0;
	if (rc)
		printf("  %s.%s differs:\n--- want\n%s--- got\n%s---\n", name,
		    ext, want ? want : "", got ? got : "");
	free(want);
	return rc;
}

/* The printed config loads again (no expansion) and prints the same. */
static int
round_trip(const char *name, const char *printed)
{
	char *errs, *again = NULL, *filled = strdup(printed), *p;
	int rc = 0;

	/* Redacted age identities must parse to load: the example key. */
	while ((p = strstr(filled, "- <redacted>\n")) != NULL) {
		size_t off = (size_t)(p - filled) + 2;
		char *f = malloc(strlen(filled) + sizeof(AGE_ID));
		snprintf(f, strlen(filled) + sizeof(AGE_ID), "%.*s%s%s",
		    (int)off, filled, AGE_ID, filled + off + 10);
		free(filled);
		filled = f;
	}
	struct cfg *cfg = load_str(filled, false, &errs, NULL);
	free(filled);

	if (cfg == NULL || *errs != '\0') {
		printf("  %s: printed config does not load again:\n%s", name,
		    errs);
		rc = 1;
	} else {
		again = print_str(cfg);
		char *a = strip_comments(printed), *b = strip_comments(again);
		if (strcmp(a, b) != 0) {
			printf("  %s: round trip differs:\n%s---\n%s", name, a,
			    b);
			rc = 1;
		}
		free(a);
		free(b);
	}
	free(again);
	free(errs);
	cfg_free(cfg);
	return rc;
}

static int
run_golden(const char *name, bool update)
{
	char path[512], out_path[512];
	int fails = 0;

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s.yml", name);
	snprintf(out_path, sizeof(out_path), GOLDEN_DIR "/%s.out", name);
	char *text = read_file(path);
	struct memout m;
	mem_open(&m);
	snprintf(path, sizeof(path), "%s.yml", name);
	struct cfg *cfg = cfg_load_text(path, text, strlen(text), true, m.f,
	    NULL);
	char *errs = mem_close(&m);
	char *out = cfg ? print_str(cfg) : NULL;
	bool want_ok = access(out_path, F_OK) == 0;

	if (!update && want_ok != (cfg != NULL)) {
		printf("  %s: load %s, expected %s\n%s", name,
		    cfg ? "succeeded" : "failed", want_ok ? "success" : "errors",
		    errs);
		fails++;
	}
	fails += golden_cmp(name, "err", errs, update);
	fails += golden_cmp(name, "out", out, update);
	if (strstr(errs, SECRET_MARK) || (out && strstr(out, SECRET_MARK))) {
		printf("  %s: a secret was printed\n", name);
		fails++;
	}
	if (out != NULL)
		fails += round_trip(name, out);
	cfg_free(cfg);
	free(out);
	free(errs);
	free(text);
	return fails;
}

TEST(goldens)
{
	char **names;
	size_t n = golden_names(&names);
	bool update = getenv("UPDATE_GOLDEN") != NULL;
	int fails = 0;

	if (n == 0)
		TEST_FAIL_("no goldens in %s (run from the repository root)",
		    GOLDEN_DIR);
	for (size_t i = 0; i < n; i++) {
		int f = run_golden(names[i], update);
		if (f > 0)
			printf("  golden %s: FAIL\n", names[i]);
		fails += f;
		free(names[i]);
	}
	free(names);
	printf("  %zu golden files\n", n);
	ASSERT_INT_EQ(fails, 0);
}

/* --- durations ----------------------------------------------------------- */

TEST(duration_parse)
{
	static const struct {
		const char *in;
		int64_t ns;
	} ok[] = {
		{ "0", 0 }, { "-0", 0 }, { "+0", 0 }, { "0s", 0 },
		{ "5", 5 },			/* bare integer: nanoseconds */
		{ "-5", -5 }, { "+5", 5 },
		{ "1ns", 1 }, { "1us", 1000 },
		{ "1\xc2\xb5s", 1000 },		/* U+00B5 micro sign */
		{ "1\xce\xbcs", 1000 },		/* U+03BC Greek mu */
		{ "500ms", 500000000 }, { "10s", 10 * NS_PER_SEC },
		{ "1m", 60 * NS_PER_SEC }, { "1h", 3600 * NS_PER_SEC },
		{ "1h30m", 5400 * NS_PER_SEC }, { "1.5h", 5400 * NS_PER_SEC },
		{ "2h45m30.5s", (9930 * NS_PER_SEC) + 500000000 },
		{ ".5s", 500000000 }, { "1.s", NS_PER_SEC },
		{ "-1.5s", -1500000000 }, { "+1s", NS_PER_SEC },
		{ "1h1h", 7200 * NS_PER_SEC }, { "100us5ns", 100005 },
		{ "0.000000001s", 1 }, { "1.0000000001s", NS_PER_SEC },
		{ "2562047h", 2562047LL * 3600 * NS_PER_SEC },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
		{ "9223372036854775807ns", INT64_MAX },
		{ "-9223372036854775808ns", INT64_MIN },
	};
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "7d", "unknown unit \"d\" in duration \"7d\"" },
		{ "", "invalid duration \"\"" },
		{ "-", "invalid duration \"-\"" },
		{ "s", "invalid duration \"s\"" },
		{ ".s", "invalid duration \".s\"" },
		{ "1.5", "missing unit in duration \"1.5\"" },
		{ "1h5", "missing unit in duration \"1h5\"" },
		{ "1 h", "unknown unit \" h\" in duration \"1 h\"" },
		{ "1H", "unknown unit \"H\" in duration \"1H\"" },
		{ "1h-1m", "unknown unit \"h-\" in duration \"1h-1m\"" },
		{ "-1h-1m", "unknown unit \"h-\" in duration \"-1h-1m\"" },
		{ "abc", "invalid duration \"abc\"" },
		{ "2562048h", "invalid duration \"2562048h\"" },
		{ "9223372036854775808", "invalid duration "
		    "\"9223372036854775808\"" },
		{ "9223372036854775808ns", "invalid duration "
		    "\"9223372036854775808ns\"" },
		{ "1e3s", "unknown unit \"e\" in duration \"1e3s\"" },
	};
	char err[256];
	int64_t ns;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ns = 42;
		err[0] = '\0';
		if (cfg_parse_duration(ok[i].in, &ns, err, sizeof(err)) != 0)
			TEST_FAIL_("\"%s\": %s", ok[i].in, err);
		if (ns != ok[i].ns)
			TEST_FAIL_("\"%s\": %lld, want %lld", ok[i].in,
			    (long long)ns, (long long)ok[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_INT_EQ(cfg_parse_duration(bad[i].in, &ns, err,
		    sizeof(err)), -1);
		ASSERT_STR_EQ(err, bad[i].err);
	}
}

TEST(duration_format)
{
	static const struct {
		int64_t ns;
		const char *s;
	} t[] = {
		{ 0, "0s" }, { 1, "1ns" }, { 999, "999ns" },
		{ 1000, "1\xc2\xb5s" }, { 1500, "1.5\xc2\xb5s" },
		{ 1000000, "1ms" }, { 1500000, "1.5ms" },
		{ NS_PER_SEC, "1s" }, { 1500000000, "1.5s" },
		{ 60 * NS_PER_SEC, "1m0s" }, { 90 * NS_PER_SEC, "1m30s" },
		{ 5400 * NS_PER_SEC, "1h30m0s" },
		{ CFG_DEFAULT_RETENTION, "24h0m0s" },
		{ 3600 * NS_PER_SEC + 1, "1h0m0.000000001s" },
		{ -NS_PER_SEC, "-1s" }, { -1, "-1ns" },
		{ INT64_MAX, "2562047h47m16.854775807s" },
		{ INT64_MIN, "-2562047h47m16.854775808s" },
	};
	char buf[64];
	int64_t back;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cfg_format_duration(t[i].ns, buf, sizeof(buf));
		ASSERT_STR_EQ(buf, t[i].s);
		/* What is printed parses back to the same value. */
		ASSERT_INT_EQ(cfg_parse_duration(buf, &back, buf, sizeof(buf)),
		    0);
		ASSERT_INT_EQ(back, t[i].ns);
	}
}

/* --- env expansion ------------------------------------------------------ */

TEST(env_expand)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "$FOO", "bar" }, { "${FOO}", "bar" },
		{ "pre${FOO}post", "prebarpost" }, { "$FOO.x", "bar.x" },
		{ "$FOO_1x", "" },		/* the name is FOO_1x */
		{ "x$WS_UNSET-y", "x-y" },	/* unset: empty */
		{ "a$$b", "ab" },		/* $$: the variable "$" */
		{ "$$FOO", "FOO" },
		{ "$1", "" }, { "a$1b", "ab" }, { "${1}", "" },
		{ "$-x", "x" }, { "${@}x", "x" }, { "$*", "" },
		{ "${WS_UNSET:-def}", "" },	/* no default syntax */
		{ "${FOO:-def}", "" },		/* the name is "FOO:-def" */
		{ "${WSA=B}", "" },		/* never matches "WSA=B=C" */
		{ "$", "$" }, { "a$", "a$" }, { "$ x", "$ x" },
		{ "$/x", "$/x" }, { "$%", "$%" },
		{ "${}", "" }, { "a${}b", "ab" },
		{ "${FOO", "FOO" },		/* "${" eaten */
		{ "${EMPTYV}|$EMPTYV", "|" },
		{ "no dollars", "no dollars" }, { "", "" },
	};
	size_t len;

	setenv("FOO", "bar", 1);
	setenv("EMPTYV", "", 1);
	setenv("WSA", "B=C", 1);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *o = cfg_expand_env(t[i].in, strlen(t[i].in), &len);
		int same = strcmp(o, t[i].out) == 0 && len == strlen(t[i].out);
		if (!same) {
			printf("  \"%s\" -> \"%s\", want \"%s\"\n", t[i].in, o,
			    t[i].out);
			free(o);
			TEST_FAIL_("env expansion");
		}
		free(o);
	}
	/* A $ at the very end of a length-bounded text stays. */
	char *o = cfg_expand_env("a$FOOzz", 2, &len);
	ASSERT_STR_EQ(o, "a$");
	free(o);
}

TEST(env_expand_in_config)
{
	char *errs, *out;
	const char *text =
	    "dbs:\n"
	    "  - path: $WS_PATH\n"
	    "    replicas:\n"
	    "      - url: s3://${WS_BUCKET}/a$$b\n"
	    "        name: \"n${WS_UNSET:-def}x\"\n";
	struct cfg *cfg = load_str(text, true, &errs, NULL);

	ASSERT(cfg != NULL);
	ASSERT_STR_EQ(errs, "");
	ASSERT_STR_EQ(cfg->dbs[0].path, "/data/env.db");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].bucket, "env-bucket");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].path, "ab");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].name, "nx");
	cfg_free(cfg);
	free(errs);

	/* -no-expand-env: the text is taken as written. */
	cfg = load_str(text, false, &errs, NULL);
	ASSERT(cfg != NULL);
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].bucket, "${WS_BUCKET}");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].path, "a$$b");
	out = print_str(cfg);
	ASSERT(strstr(out, "name: \"n${WS_UNSET:-def}x\"") != NULL);
	free(out);
	cfg_free(cfg);
	free(errs);

	/* Expanded values are inserted raw and can change the parse. */
	setenv("WS_YAML", "x\n  - path: /b", 1);
	cfg = load_str("dbs:\n  - path: /a$WS_YAML\n", true, &errs, NULL);
	ASSERT(cfg != NULL);
	ASSERT_INT_EQ(cfg->ndbs, 2);
	ASSERT_STR_EQ(cfg->dbs[0].path, "/ax");
	cfg_free(cfg);
	free(errs);
}

/* --- sizes --------------------------------------------------------------- */

TEST(size_parse)
{
	static const struct {
		const char *in;
		int64_t n;
	} ok[] = {
		{ "1GiB", 1LL << 30 }, { "512MB", 512000000 },
		{ "100M", 100000000 }, { "100", 100 }, { "0", 0 },
		{ "1.5GiB", 3LL << 29 }, { "1 KiB", 1024 }, { "1kb", 1000 },
		{ "2Ki", 2048 }, { "3mib", 3LL << 20 }, { "1B", 1 },
		{ "1T", 1000000000000LL }, { "1TiB", 1LL << 40 },
		{ " 7 ", 7 },
	};
	static const char *const bad[] = { "", "GiB", "-1", "1XB", "1.2.3",
		"1 GiB B", "99999999999999999999", "8192PiB", "1e3", "0x10" };
	char err[256];
	int64_t n;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (cfg_parse_size(ok[i].in, &n, err, sizeof(err)) != 0)
			TEST_FAIL_("\"%s\": %s", ok[i].in, err);
		ASSERT_INT_EQ(n, ok[i].n);
	}
	ASSERT_INT_EQ(cfg_parse_size("8EiB", &n, err, sizeof(err)), -1);
	ASSERT_INT_EQ(cfg_parse_size("8191PiB", &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_size(bad[i], &n, err, sizeof(err)) != -1)
			TEST_FAIL_("\"%s\" accepted", bad[i]);
	ASSERT_INT_EQ(cfg_parse_size("1XB", &n, err, sizeof(err)), -1);
	ASSERT_STR_EQ(err, "invalid size \"1XB\" (want bytes, or a number "
	    "with a unit such as 512MiB or 1GB)");
}

TEST(size_format)
{
	static const struct {
		int64_t n;
		const char *s;
	} t[] = {
		{ 1LL << 30, "1GiB" }, { 512000000, "512MB" },
		{ 3LL << 20, "3MiB" }, { 1536, "1536" }, { 1000, "1KB" },
		{ 1, "1" }, { 0, "0" }, { 5LL << 40, "5TiB" },
	};
	char buf[64];
	int64_t back;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cfg_format_size(t[i].n, buf, sizeof(buf));
		ASSERT_STR_EQ(buf, t[i].s);
		ASSERT_INT_EQ(cfg_parse_size(buf, &back, buf, sizeof(buf)), 0);
		ASSERT_INT_EQ(back, t[i].n);
	}
}

/* --- url forms ----------------------------------------------------------- */

struct url_case {
	const char *url;
	enum cfg_replica_type type;
	const char *bucket, *path, *region, *endpoint;
	bool fps;
};

/* Format doc §5.4's table, one row each, and the other schemes. */
static const struct url_case url_cases[] = {
	{ "s3://mybucket/db", CFG_REPLICA_S3, "mybucket", "db", "", "", false },
	{ "s3://mybucket", CFG_REPLICA_S3, "mybucket", "", "", "", false },
	{ "s3://mybucket/", CFG_REPLICA_S3, "mybucket", "", "", "", false },
	{ "s3://my.bucket.name:9000/a/b/../c//d/", CFG_REPLICA_S3,
	    "my.bucket.name", "a/c/d", "", "", false },
	{ "S3://Bucket/x", CFG_REPLICA_S3, "Bucket", "x", "", "", false },
	{ "s3://b.s3.amazonaws.com/x", CFG_REPLICA_S3, "b.s3.amazonaws.com",
	    "x", "", "", false },
	{ "s3://b.localhost/x", CFG_REPLICA_S3, "b", "x", "us-east-1",
	    "http://localhost", true },
	{ "s3://b.localhost:9000/x", CFG_REPLICA_S3, "b", "x", "us-east-1",
	    "http://localhost:9000", true },
	{ "s3://my.b.localhost:9000/x", CFG_REPLICA_S3, "my.b", "x",
	    "us-east-1", "http://localhost:9000", true },
	{ "s3://b.s3.us-west-002.backblazeb2.com/x", CFG_REPLICA_S3, "b", "x",
	    "us-west-002", "https://s3.us-west-002.backblazeb2.com", true },
	{ "s3://b.s3.filebase.com/x", CFG_REPLICA_S3, "b", "x",
	    "us-east-1" /* §5.5: an endpoint means us-east-1 */,
	    "https://s3.filebase.com", true },
	{ "s3://b.nyc3.digitaloceanspaces.com/x", CFG_REPLICA_S3, "b", "x",
	    "nyc3", "https://nyc3.digitaloceanspaces.com", true },
	{ "s3://b.s3.fr-par.scw.cloud/x", CFG_REPLICA_S3, "b", "x", "fr-par",
	    "https://s3.fr-par.scw.cloud", true },
	{ "s3://b.us-east-1.linodeobjects.com:443/x", CFG_REPLICA_S3, "b", "x",
	    "us-east-1", "https://us-east-1.linodeobjects.com:443", true },
	{ "s3://bkt/p?endpoint=https://x", CFG_REPLICA_S3, "bkt", "p", "", "",
	    false },
	{ "file:///var/lib/backup", CFG_REPLICA_FILE, "", "/var/lib/backup",
	    "", "", false },
	{ "file:///var/lib/../backup/./x/", CFG_REPLICA_FILE, "",
	    "/var/backup/x", "", "", false },
	{ "file://~/b", CFG_REPLICA_FILE, "", "/~/b", "", "", false },
	{ "gcs://gb/p/q", CFG_REPLICA_GCS, "gb", "p/q", "", "", false },
	{ "abs://acct@cont/p/", CFG_REPLICA_ABS, "cont", "p", "", "", false },
	{ "sftp://u:p%40ss@h:2222/srv/b", CFG_REPLICA_SFTP, "", "/srv/b", "",
	    "", false },
};

TEST(url_forms)
{
	char err[256];

	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *t = &url_cases[i];
		struct cfg_replica r;
		if (cfg_replica_from_url(t->url, &r, err, sizeof(err)) != 0)
			TEST_FAIL_("%s: %s", t->url, err);
		int bad = r.type != t->type || strcmp(r.bucket, t->bucket) ||
		    strcmp(r.path, t->path) || strcmp(r.region, t->region) ||
		    strcmp(r.endpoint, t->endpoint) ||
		    r.force_path_style != t->fps ||
		    strcmp(r.name, cfg_replica_type_name(t->type)) ||
		    strcmp(r.url, t->url) ||
		    r.retention != CFG_DEFAULT_RETENTION ||
		    r.sync_interval != CFG_DEFAULT_SYNC_INTERVAL;
		if (bad)
			printf("  %s: type %s bucket \"%s\" path \"%s\" region "
			    "\"%s\" endpoint \"%s\" fps %d\n", t->url,
			    cfg_replica_type_name(r.type), r.bucket, r.path,
			    r.region, r.endpoint, r.force_path_style);
		cfg_replica_clear(&r);
		ASSERT(!bad);
	}
}

TEST(url_parts)
{
	struct cfg_replica r;
	char err[256];

	ASSERT_INT_EQ(cfg_replica_from_url("sftp://u:p%40ss@h:2222/srv/b", &r,
	    err, sizeof(err)), 0);
	ASSERT_STR_EQ(r.host, "h:2222");
	ASSERT_STR_EQ(r.user, "u");
	ASSERT_STR_EQ(r.password, "p@ss");
	cfg_replica_clear(&r);
	ASSERT_INT_EQ(cfg_replica_from_url("abs://acct@cont/p", &r, err,
	    sizeof(err)), 0);
	ASSERT_STR_EQ(r.account_name, "acct");
	cfg_replica_clear(&r);
	/* file:// with a relative-looking path is made absolute. */
	char *cwd = getcwd(NULL, 0), want[4096];
	ASSERT_INT_EQ(cfg_replica_from_url("file://", &r, err, sizeof(err)), 0);
	ASSERT_STR_EQ(r.path, cwd);
	cfg_replica_clear(&r);
	/* "file:rel/dir" is opaque; Go prints it back as "rel/dir". */
	ASSERT_INT_EQ(cfg_replica_from_url("file:rel/dir", &r, err,
	    sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/rel/dir", cwd);
	ASSERT_STR_EQ(r.path, want);
	cfg_replica_clear(&r);
	free(cwd);
}

TEST(url_errors)
{
	static const struct {
		const char *url, *err;
	} t[] = {
		{ "ftp://x/y", "unknown replica type: \"ftp\"" },
		{ "/just/a/path", "replica url scheme required" },
		{ "://x", "invalid url: missing scheme" },
		{ "s3://b/%zz", "invalid url: invalid escape \"%zz\"" },
		{ "s3://b/%4", "invalid url: invalid escape \"%4\"" },
		{ "s3://b:port/x", "invalid url: invalid port after host" },
		{ "s3://b/x\ny", "invalid url: control character" },
		{ "s3://localhost/x", "bucket required for s3 replica" },
		{ "s3:///x", "bucket required for s3 replica" },
		{ "s3:bucket", "bucket required for s3 replica" },
		{ "gcs:///x", "bucket required for gcs replica" },
		{ "abs://acct@/x", "bucket required for abs replica" },
		{ "sftp:///x", "host required for sftp replica" },
		{ "sftp://h/x", "user required for sftp replica" },
		{ "sftp://u:" SECRET_MARK "%zz@h/x",
		    "invalid url: invalid escape in the password" },
	};
	struct cfg_replica r;
	char err[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0x5a, sizeof(r));
		if (cfg_replica_from_url(t[i].url, &r, err, sizeof(err)) != -1)
			TEST_FAIL_("%s accepted", t[i].url);
		ASSERT_STR_EQ(err, t[i].err);
		ASSERT(r.name == NULL && r.path == NULL);	/* cleared */
	}
}

/* --- credentials --------------------------------------------------------- */

static void
clear_cred_env(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("LITESTREAM_ACCESS_KEY_ID");
	unsetenv("LITESTREAM_SECRET_ACCESS_KEY");
}

/* Loads GLOBAL + one s3 replica with REPLICA keys; checks the result. */
static int
creds_case(const char *global, const char *replica, enum cfg_cred_source src,
    const char *id, const char *secret, const char *token)
{
	char text[1024], *errs;
	int bad;

	snprintf(text, sizeof(text), "%sdbs:\n  - path: /a.db\n    replicas:\n"
	    "      - url: s3://b/p\n%s", global, replica);
	struct cfg *cfg = load_str(text, true, &errs, NULL);
	if (cfg == NULL) {
		printf("  load failed: %s", errs);
		free(errs);
		return 1;
	}
	const struct cfg_replica *r = &cfg->dbs[0].replicas[0];
	bad = r->cred_source != src || strcmp(r->access_key_id, id) ||
	    strcmp(r->secret_access_key, secret) ||
	    strcmp(r->session_token, token);
	if (bad)
		printf("  got source %d id \"%s\" token \"%s\" for:\n%s",
		    r->cred_source, r->access_key_id, r->session_token, text);
	cfg_free(cfg);
	free(errs);
	return bad;
}

TEST(credentials)
{
	const char *g = "access-key-id: GLOBALID\n"
	    "secret-access-key: global-" SECRET_MARK "\n";
	const char *rk = "        access-key-id: REPLICAID\n"
	    "        secret-access-key: replica-" SECRET_MARK "\n";

	clear_cred_env();
	setenv("AWS_ACCESS_KEY_ID", "AWSID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "aws-" SECRET_MARK, 1);
	setenv("AWS_SESSION_TOKEN", "tok-" SECRET_MARK, 1);
	/* 1. The replica's keys win over global keys and the environment. */
	ASSERT_INT_EQ(creds_case(g, rk, CFG_CRED_CONFIG, "REPLICAID",
	    "replica-" SECRET_MARK, ""), 0);
	/* 2. Else the global keys. */
	ASSERT_INT_EQ(creds_case(g, "", CFG_CRED_CONFIG, "GLOBALID",
	    "global-" SECRET_MARK, ""), 0);
	/* Each key falls back on its own (Litestream copies them apart). */
	ASSERT_INT_EQ(creds_case(g, "        access-key-id: RID\n",
	    CFG_CRED_CONFIG, "RID", "global-" SECRET_MARK, ""), 0);
	/* One key set is enough for static credentials. */
	ASSERT_INT_EQ(creds_case("", "        access-key-id: RID\n",
	    CFG_CRED_CONFIG, "RID", "", ""), 0);
	/* 3. Else AWS_* with the session token. */
	ASSERT_INT_EQ(creds_case("", "", CFG_CRED_ENV, "AWSID",
	    "aws-" SECRET_MARK, "tok-" SECRET_MARK), 0);
	/* AWS_* win over LITESTREAM_*. */
	setenv("LITESTREAM_ACCESS_KEY_ID", "LSID", 1);
	setenv("LITESTREAM_SECRET_ACCESS_KEY", "ls-" SECRET_MARK, 1);
	ASSERT_INT_EQ(creds_case("", "", CFG_CRED_ENV, "AWSID",
	    "aws-" SECRET_MARK, "tok-" SECRET_MARK), 0);
	/* LITESTREAM_* are used only where AWS_* are unset. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	ASSERT_INT_EQ(creds_case("", "", CFG_CRED_ENV, "LSID",
	    "ls-" SECRET_MARK, ""), 0);
	setenv("AWS_ACCESS_KEY_ID", "", 1);	/* set, though empty */
	ASSERT_INT_EQ(creds_case("", "", CFG_CRED_NONE, "", "", ""), 0);
	/* Config keys written as ${LITESTREAM_...}, the common idiom. */
	ASSERT_INT_EQ(creds_case("access-key-id: ${LITESTREAM_ACCESS_KEY_ID}\n"
	    "secret-access-key: ${LITESTREAM_SECRET_ACCESS_KEY}\n", "",
	    CFG_CRED_CONFIG, "LSID", "ls-" SECRET_MARK, ""), 0);
	/* Nothing anywhere. */
	clear_cred_env();
	ASSERT_INT_EQ(creds_case("", "", CFG_CRED_NONE, "", "", ""), 0);

	/* A replica from a URL takes the environment too. */
	struct cfg_replica r;
	char err[256];
	setenv("LITESTREAM_ACCESS_KEY_ID", "LSID", 1);
	setenv("LITESTREAM_SECRET_ACCESS_KEY", "ls-" SECRET_MARK, 1);
	ASSERT_INT_EQ(cfg_replica_from_url("s3://b/p", &r, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(r.cred_source, CFG_CRED_ENV);
	ASSERT_STR_EQ(r.access_key_id, "LSID");
	cfg_replica_clear(&r);
	clear_cred_env();
}

/* --- paths --------------------------------------------------------------- */

TEST(paths)
{
	char *cwd = getcwd(NULL, 0), want[4096], *errs;
	const char *text =
	    "dbs:\n"
	    "  - path: rel/app.db\n"
	    "    replicas:\n"
	    "      - path: ./backup/../bk\n"
	    "  - path: ~/home.db\n"
	    "    meta-path: ~/meta\n"
	    "  - path: \"~\"\n"		/* plain ~ is YAML's null */
	    "  - path: ~other/x.db\n"
	    "  - path: /x/./y//z/../w.db\n"
	    "  - path: /w.db\n";
	struct cfg *cfg = load_str(text, true, &errs, NULL);

	ASSERT(cfg != NULL);
	snprintf(want, sizeof(want), "%s/rel/app.db", cwd);
	ASSERT_STR_EQ(cfg->dbs[0].path, want);
	snprintf(want, sizeof(want), "%s/rel/.app.db-litestream", cwd);
	ASSERT_STR_EQ(cfg->dbs[0].meta_path, want);
	snprintf(want, sizeof(want), "%s/bk", cwd);
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].path, want);
	ASSERT_STR_EQ(cfg->dbs[1].path, HOME_DIR "/home.db");
	ASSERT_STR_EQ(cfg->dbs[1].meta_path, HOME_DIR "/meta");
	ASSERT_STR_EQ(cfg->dbs[2].path, HOME_DIR);
	snprintf(want, sizeof(want), "%s/~other/x.db", cwd);	/* as Go */
	ASSERT_STR_EQ(cfg->dbs[3].path, want);
	ASSERT_STR_EQ(cfg->dbs[4].path, "/x/y/w.db");
	ASSERT_STR_EQ(cfg->dbs[5].meta_path, "/.w.db-litestream");

	/* cfg_find_db compares absolute paths as strings. */
	ASSERT(cfg_find_db(cfg, "rel/app.db") == &cfg->dbs[0]);
	ASSERT(cfg_find_db(cfg, "./rel//app.db") == &cfg->dbs[0]);
	snprintf(want, sizeof(want), "%s/rel/app.db", cwd);
	ASSERT(cfg_find_db(cfg, want) == &cfg->dbs[0]);
	ASSERT(cfg_find_db(cfg, "~/home.db") == &cfg->dbs[1]);
	ASSERT(cfg_find_db(cfg, "/x/y/w.db") == &cfg->dbs[4]);
	ASSERT(cfg_find_db(cfg, "/x/y/w.db-wal") == NULL);
	cfg_free(cfg);
	free(errs);
	free(cwd);

	char *p = cfg_abs_path("/a/../../b/./c/");
	ASSERT_STR_EQ(p, "/b/c");
	free(p);
	p = cfg_abs_path("~/");
	ASSERT_STR_EQ(p, HOME_DIR);
	free(p);
}

TEST(default_path)
{
	const char *want = access("/etc/walship.yml", F_OK) == 0 ?
	    "/etc/walship.yml" : "/etc/litestream.yml";

	ASSERT_STR_EQ(cfg_default_path(), want);
	setenv("LITESTREAM_CONFIG", "/tmp/ls.yml", 1);
	ASSERT_STR_EQ(cfg_default_path(), "/tmp/ls.yml");
	setenv("WALSHIP_CONFIG", "/tmp/ws.yml", 1);
	ASSERT_STR_EQ(cfg_default_path(), "/tmp/ws.yml");
	setenv("WALSHIP_CONFIG", "", 1);
	ASSERT_STR_EQ(cfg_default_path(), "/tmp/ls.yml");
	unsetenv("WALSHIP_CONFIG");
	unsetenv("LITESTREAM_CONFIG");
}

/* --- secrets ------------------------------------------------------------- */

/* Every secret of the config, written literally. */
static const char secrets_yml[] =
    "secret-access-key: g-" SECRET_MARK "-1\n"
    "dbs:\n"
    "  - path: /a.db\n"
    "    replicas:\n"
    "      - url: s3://b/p\n"
    "        secret-access-key: r-" SECRET_MARK "-2\n"
    "        age:\n"
    "          identities: [" AGE_ID "]\n"
    "          recipients: [" AGE_RCPT "]\n"
    "      - url: abs://acct@cont/p\n"
    "        account-key: a-" SECRET_MARK "-4\n"
    "      - url: sftp://u:p-" SECRET_MARK "-5@h/x\n"
    "      - type: sftp\n"
    "        name: sftp2\n"
    "        host: h\n"
    "        user: u\n"
    "        password: p-" SECRET_MARK "-6\n";

TEST(redaction)
{
	char *errs, *out;
	struct cfg *cfg = load_str(secrets_yml, true, &errs, NULL);

	ASSERT(cfg != NULL);
	ASSERT(cfg->has_secrets);
	/* The struct has them... */
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].secret_access_key,
	    "r-" SECRET_MARK "-2");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[2].password, "p-" SECRET_MARK "-5");
	/* ...the printout does not. */
	out = print_str(cfg);
	ASSERT(strstr(out, SECRET_MARK) == NULL);
	ASSERT(strstr(out, "secret-access-key: <redacted>") != NULL);
	ASSERT(strstr(out, "account-key: <redacted>") != NULL);
	ASSERT(strstr(out, "password: <redacted>") != NULL);
	ASSERT(strstr(out, "# url: sftp://u:<redacted>@h/x") != NULL);
	ASSERT(strstr(out, "            - <redacted>\n") != NULL);
	ASSERT(strstr(out, AGE_RCPT) != NULL);
	ASSERT(strstr(out, AGE_ID) == NULL);
	free(out);
	free(errs);
	/* A process that must not hold them drops them all. */
	cfg_drop_secrets(cfg);
	ASSERT_INT_EQ(cfg->dbs[0].replicas[0].age_identities.n, 0);
	ASSERT_INT_EQ(cfg->dbs[0].replicas[0].age_recipients.n, 1);
	ASSERT_STR_EQ(cfg->dbs[0].replicas[0].secret_access_key, "");
	ASSERT_STR_EQ(cfg->secret_access_key, "");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[1].account_key, "");
	ASSERT_STR_EQ(cfg->dbs[0].replicas[3].password, "");
	cfg_free(cfg);

	/* Errors about secret values never quote them. */
	static const char *const bad[] = {
		"secret-access-key: {k: " SECRET_MARK "}\n",
		"dbs:\n  - path: /a\n    replicas:\n"
		"      - url: sftp://u:" SECRET_MARK "%zz@h/x\n",
		"dbs:\n  - path: /a\n    replicas:\n"
		"      - url: sftp://u:" SECRET_MARK "@h/x\n"
		"        path: /y\n        host: h2\n",
		"dbs:\n  - path: /a\n    replicas:\n      - type: s3\n"
		"        secret-access-key: [" SECRET_MARK "]\n"
		"        age: {identities: " SECRET_MARK "}\n"
		"        password: " SECRET_MARK "\n"
		"        passwrd: " SECRET_MARK "\n",
		"dbs:\n  - path: /a\n    replicas:\n"
		"      - url: sftp://u:" SECRET_MARK "@h/x?q=1\n"
		"      - url: sftp://u:" SECRET_MARK "@h/x\n",
		"dbs:\n  - path: /a\n    replicas:\n"
		"      - url: ftp://u:" SECRET_MARK "@h/x\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n;
		cfg = load_str(bad[i], true, &errs, &n);
		if (cfg != NULL || n == 0 || *errs == '\0')
			TEST_FAIL_("case %zu: expected errors", i);
		if (strstr(errs, SECRET_MARK) != NULL)
			TEST_FAIL_("case %zu printed a secret:\n%s", i, errs);
		free(errs);
	}
}

/* Writes TEXT to a temporary file with MODE; loads it; returns messages. */
static char *
load_file_with_mode(const char *text, mode_t mode, bool *ok, char *path,
    size_t pathlen)
{
	snprintf(path, pathlen, "/tmp/walship-config-test-XXXXXX");
	int fd = mkstemp(path);
	struct memout m;

	if (fd < 0)
		return strdup("mkstemp failed");
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return strdup("write failed");
	fchmod(fd, mode);
	close(fd);
	mem_open(&m);
	struct cfg *cfg = cfg_load(path, true, m.f, NULL);
	*ok = cfg != NULL;
	cfg_free(cfg);
	unlink(path);
	return mem_close(&m);
}

TEST(secret_file_warning)
{
	static const struct {
		const char *text;
		bool secret;
	} t[] = {
		{ "secret-access-key: lit-" SECRET_MARK "\n", true },
		{ "secret-access-key: ${WS_SECRET}\n", false },
		{ "secret-access-key: \"${WS_SECRET}\"\n", false },
		{ "secret-access-key: $WS_SECRET\n", false },
		{ "secret-access-key: x${WS_SECRET}\n", true },
		{ "secret-access-key: ${WS_UNSET}\n", false },
		{ "secret-access-key: ''\n", false },
		{ "access-key-id: AKIA\n", false },
		{ "dbs:\n  - path: /a\n    replicas:\n"
		  "      - url: sftp://u:${WS_SECRET}@h/x\n", false },
		{ "dbs:\n  - path: /a\n    replicas:\n"
		  "      - url: \"sftp://${WS_KEY_ID}:${WS_SECRET}@h/x\"\n",
		  false },
		{ "dbs:\n  - path: /a\n    replicas:\n"
		  "      - url: sftp://${WS_KEY_ID}:pw@h/x\n", true },
		{ "dbs:\n  - path: /a\n    replicas:\n      - path: /b\n"
		  "        age:\n          identities:\n"
		  "            - ${WS_AGE_ID}\n", false },
		{ "dbs:\n  - path: /a\n    replicas:\n      - path: /b\n"
		  "        age:\n          identities:\n"
		  "            - |-\n              " AGE_ID "\n", true },
		{ "dbs:\n  - path: /a\n    replicas:\n      - path: /b\n"
		  "        sas-token: tok\n", true },	/* a later key */
		/* Offsets survive a BOM, CRLF, multibyte text, expansion. */
		{ "\xef\xbb\xbf" "exec: \xc3\xa9\xc3\xa9\r\n"
		  "secret-access-key: ${WS_SECRET}\r\n", false },
		{ "\xef\xbb\xbf" "exec: \xc3\xa9\xc3\xa9\r\n"
		  "secret-access-key: lit\r\n", true },
		{ "exec: ${WS_SECRET}${WS_SECRET}\nsecret-access-key: lit\n",
		  true },
		{ "exec: lit\nsecret-access-key: $WS_SECRET\n", false },
		{ "exec: \"${WS_SECRET}\"\nsecret-access-key: |\n"
		  "  ${WS_SECRET}\n", false },
	};
	char path[64], want[256];
	bool ok;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *errs = load_file_with_mode(t[i].text, 0644, &ok, path,
		    sizeof(path));
		snprintf(want, sizeof(want), "%s: warning: file contains "
		    "secrets and is readable by others; fix with: chmod 600 "
		    "%s\n", path, path);
		bool warned = strstr(errs, want) != NULL;
		if (!ok || warned != t[i].secret)
			TEST_FAIL_("case %zu: ok %d warned %d:\n%s", i, ok,
			    warned, errs);
		free(errs);
		/* Never for a file only its owner can read. */
		errs = load_file_with_mode(t[i].text, 0600, &ok, path,
		    sizeof(path));
		if (strstr(errs, "warning: file contains secrets") != NULL)
			TEST_FAIL_("case %zu: warned at 0600", i);
		free(errs);
	}
	/* Group-readable counts too. */
	char *errs = load_file_with_mode(t[0].text, 0640, &ok, path,
	    sizeof(path));
	ASSERT(strstr(errs, "warning: file contains secrets") != NULL);
	free(errs);
}

/* --- loading ------------------------------------------------------------- */

TEST(load_file_errors)
{
	struct memout m;
	int n = 0;

	mem_open(&m);
	struct cfg *cfg = cfg_load("/nonexistent/walship.yml", true, m.f, &n);
	char *errs = mem_close(&m);
	ASSERT(cfg == NULL);
	ASSERT_INT_EQ(n, 1);
	ASSERT_STR_EQ(errs, "/nonexistent/walship.yml: cannot read: No such "
	    "file or directory\n");
	free(errs);
	/* NULL errs and nerrors are fine. */
	ASSERT(cfg_load("/nonexistent/walship.yml", true, NULL, NULL) == NULL);
	ASSERT(cfg_load_text("x", "dbs: 1\n", 7, true, NULL, NULL) == NULL);
}

TEST(load_counts_errors)
{
	char *errs;
	int n = 0;
	struct cfg *cfg = load_str("bogus: 1\nlogging: 2\ndbs: {}\n", true,
	    &errs, &n);

	ASSERT(cfg == NULL);
	ASSERT_INT_EQ(n, 3);
	ASSERT_STR_EQ(errs,
	    "t.yml:1:1: unknown key \"bogus\"\n"
	    "t.yml:2:10: logging: expected a mapping, got a string\n"
	    "t.yml:3:6: dbs: expected a list, got a mapping\n");
	free(errs);
	/* Warnings alone do not fail the load. */
	cfg = load_str("mcp-addr: x\n", true, &errs, &n);
	ASSERT(cfg != NULL);
	ASSERT_INT_EQ(n, 0);
	ASSERT_STR_EQ(errs, "t.yml:1:1: warning: ignored: \"mcp-addr\" (added "
	    "after Litestream v0.3.13)\n");
	free(errs);
	cfg_free(cfg);
}

TEST(struct_defaults)
{
	char *errs;
	struct cfg *cfg = load_str("dbs:\n  - path: /d/a.db\n    replicas:\n"
	    "      - path: /b\n", true, &errs, NULL);

	ASSERT(cfg != NULL);
	ASSERT_STR_EQ(cfg->addr, "");
	ASSERT_STR_EQ(cfg->exec, "");
	ASSERT_STR_EQ(cfg->log_level, "info");
	ASSERT_STR_EQ(cfg->log_type, "text");
	ASSERT(!cfg->log_stderr);
	ASSERT_STR_EQ(cfg->user, CFG_DEFAULT_USER);
	ASSERT_INT_EQ(cfg->shadow_max_size, CFG_DEFAULT_SHADOW_MAX_SIZE);
	ASSERT(!cfg->has_secrets);
	const struct cfg_db *db = &cfg->dbs[0];
	ASSERT_STR_EQ(db->meta_path, "/d/.a.db-litestream");
	ASSERT_INT_EQ(db->monitor_interval, CFG_DEFAULT_MONITOR_INTERVAL);
	ASSERT_INT_EQ(db->checkpoint_interval, CFG_DEFAULT_CHECKPOINT_INTERVAL);
	ASSERT_INT_EQ(db->min_checkpoint_page_count,
	    CFG_DEFAULT_MIN_CHECKPOINT_PAGES);
	ASSERT_INT_EQ(db->max_checkpoint_page_count,
	    CFG_DEFAULT_MAX_CHECKPOINT_PAGES);
	ASSERT_INT_EQ(db->shadow_max_size, CFG_DEFAULT_SHADOW_MAX_SIZE);
	const struct cfg_replica *r = &db->replicas[0];
	ASSERT_INT_EQ(r->type, CFG_REPLICA_FILE);
	ASSERT_STR_EQ(r->name, "file");
	ASSERT_INT_EQ(r->retention, CFG_DEFAULT_RETENTION);
	ASSERT_INT_EQ(r->retention_check_interval,
	    CFG_DEFAULT_RETENTION_CHECK_INTERVAL);
	ASSERT_INT_EQ(r->sync_interval, CFG_DEFAULT_SYNC_INTERVAL);
	ASSERT_INT_EQ(r->snapshot_interval, 0);
	ASSERT_INT_EQ(r->validation_interval, 0);
	ASSERT_INT_EQ(r->sse, CFG_SSE_NONE);
	ASSERT_INT_EQ(r->mark.line, 4);
	ASSERT_INT_EQ(r->mark.col, 9);
	ASSERT_INT_EQ(db->mark.line, 2);
	ASSERT_STR_EQ(r->bucket, "");	/* never NULL */
	ASSERT_STR_EQ(r->session_token, "");
	cfg_free(cfg);
	free(errs);

	enum cfg_replica_type t;
	ASSERT_INT_EQ(cfg_replica_type_parse("sftp", &t), 0);
	ASSERT_INT_EQ(t, CFG_REPLICA_SFTP);
	ASSERT_INT_EQ(cfg_replica_type_parse("S3", &t), -1);
	ASSERT_STR_EQ(cfg_replica_type_name(CFG_REPLICA_ABS), "abs");
}

/* The example configs (config/examples/) load without a message and mean what they say. */
TEST(example_configs)
{
	struct memout m;
	struct cfg *cfg;
	char *msgs;

	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "example-secret", 1);
	mem_open(&m);
	cfg = cfg_load("config/examples/production.yml", true, m.f, NULL);
	msgs = mem_close(&m);
	ASSERT_STR_EQ(msgs, "");
	free(msgs);
	ASSERT(cfg != NULL);
	ASSERT_INT_EQ(cfg->ndbs, 1);
	ASSERT_INT_EQ(cfg->dbs[0].nreplicas, 1);
	const struct cfg_replica *r = &cfg->dbs[0].replicas[0];
	ASSERT_INT_EQ(r->type, CFG_REPLICA_S3);
	ASSERT_INT_EQ(r->sync_interval, 10 * NS_PER_SEC);
	ASSERT_INT_EQ(r->snapshot_interval, 3600 * NS_PER_SEC);
	ASSERT_INT_EQ(r->retention, 168 * 3600 * NS_PER_SEC);
	ASSERT_STR_EQ(r->secret_access_key, "example-secret");
	cfg_free(cfg);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");

	mem_open(&m);
	cfg = cfg_load("config/examples/development.yml", true, m.f, NULL);
	msgs = mem_close(&m);
	ASSERT_STR_EQ(msgs, "");
	free(msgs);
	ASSERT(cfg != NULL);
	ASSERT_INT_EQ(cfg->ndbs, 1);
	r = &cfg->dbs[0].replicas[0];
	ASSERT_INT_EQ(r->type, CFG_REPLICA_FILE);
	ASSERT_INT_EQ(r->sync_interval, 30 * NS_PER_SEC);
	ASSERT_INT_EQ(r->snapshot_interval, 6 * 3600 * NS_PER_SEC);
	ASSERT_INT_EQ(r->retention, 72 * 3600 * NS_PER_SEC);
	ASSERT(r->path[0] == '/'); /* ~ expanded */
	cfg_free(cfg);
}

/* What a reload compares: effective values, not how they were written. */
TEST(compare_for_reload)
{
	char *e1, *e2;
	struct cfg *a = load_str("dbs:\n  - path: /d/a.db\n    replicas:\n"
	    "      - url: s3://b/p\n        sync-interval: 1s\n"
	    "      - name: f\n        path: /r\n", false, &e1, NULL);
	struct cfg *b = load_str("dbs:\n  - path: /d/a.db\n"
	    "    monitor-interval: 1s\n    replicas:\n"
	    "      - type: s3\n        bucket: b\n        path: p\n"
	    "      - name: f\n        path: /r\n"
	    "        retention: 1h\n", false, &e2, NULL);

	free(e1);
	free(e2);
	ASSERT(a != NULL && b != NULL);
	/* Defaults written out, a url: spelled as keys compare equal. */
	ASSERT(cfg_db_settings_equal(&a->dbs[0], &b->dbs[0]));
	ASSERT(cfg_replica_names_equal(&a->dbs[0], &b->dbs[0]));
	ASSERT(cfg_replica_equal(&a->dbs[0].replicas[0],
	    &b->dbs[0].replicas[0]));
	/* One changed key does not. */
	ASSERT(!cfg_replica_equal(&a->dbs[0].replicas[1],
	    &b->dbs[0].replicas[1]));
	ASSERT(cfg_find_replica(&a->dbs[0], "f") == &a->dbs[0].replicas[1]);
	ASSERT(cfg_find_replica(&a->dbs[0], "s3") == &a->dbs[0].replicas[0]);
	ASSERT(cfg_find_replica(&a->dbs[0], "nope") == NULL);
	b->dbs[0].monitor_interval = 2 * NS_PER_SEC;
	ASSERT(!cfg_db_settings_equal(&a->dbs[0], &b->dbs[0]));
	free(b->dbs[0].replicas[1].name);
	b->dbs[0].replicas[1].name = strdup("g");
	ASSERT(!cfg_replica_names_equal(&a->dbs[0], &b->dbs[0]));
	cfg_free(a);
	cfg_free(b);
}

/* The supervisor drops its secrets, yet a reload still sees whether they
 * changed: dropped and fresh configs compare by digest. */
TEST(compare_secrets_after_drop)
{
	static const char fmt[] = "dbs:\n  - path: /d/a.db\n    replicas:\n"
	    "      - url: s3://b/p\n        secret-access-key: %s\n";
	char y1[256], y2[256], *e1, *e2, *e3;
	snprintf(y1, sizeof(y1), fmt, "one");
	snprintf(y2, sizeof(y2), fmt, "two");
	struct cfg *a = load_str(y1, false, &e1, NULL);
	struct cfg *same = load_str(y1, false, &e2, NULL);
	struct cfg *other = load_str(y2, false, &e3, NULL);
	free(e1);
	free(e2);
	free(e3);
	ASSERT(a != NULL && same != NULL && other != NULL);
	cfg_drop_secrets(a);
	ASSERT_STR_EQ(a->dbs[0].replicas[0].secret_access_key, "");
	ASSERT(cfg_replica_equal(&a->dbs[0].replicas[0],
	    &same->dbs[0].replicas[0]));
	ASSERT(!cfg_replica_equal(&a->dbs[0].replicas[0],
	    &other->dbs[0].replicas[0]));
	cfg_drop_secrets(other);
	ASSERT(!cfg_replica_equal(&a->dbs[0].replicas[0],
	    &other->dbs[0].replicas[0]));

	/* No secret at all (digest without hashing) against one. */
	static const char bare[] = "dbs:\n  - path: /d/a.db\n    replicas:\n"
	    "      - url: s3://b/p\n";
	struct cfg *n1 = load_str(bare, false, &e1, NULL);
	struct cfg *n2 = load_str(bare, false, &e2, NULL);
	free(e1);
	free(e2);
	ASSERT(n1 != NULL && n2 != NULL);
	ASSERT(!cfg_replica_equal(&n1->dbs[0].replicas[0],
	    &a->dbs[0].replicas[0]));
	cfg_drop_secrets(n1);
	ASSERT(cfg_replica_equal(&n1->dbs[0].replicas[0],
	    &n2->dbs[0].replicas[0]));
	ASSERT(!cfg_replica_equal(&n1->dbs[0].replicas[0],
	    &a->dbs[0].replicas[0]));
	cfg_free(n1);
	cfg_free(n2);
	cfg_free(a);
	cfg_free(same);
	cfg_free(other);
}

int
main(void)
{
	set_test_env();
	RUN(goldens);
	RUN(duration_parse);
	RUN(duration_format);
	RUN(env_expand);
	RUN(env_expand_in_config);
	RUN(size_parse);
	RUN(size_format);
	RUN(url_forms);
	RUN(url_parts);
	RUN(url_errors);
	RUN(credentials);
	RUN(paths);
	RUN(default_path);
	RUN(redaction);
	RUN(secret_file_warning);
	RUN(load_file_errors);
	RUN(load_counts_errors);
	RUN(struct_defaults);
	RUN(example_configs);
	RUN(compare_for_reload);
	RUN(compare_secrets_after_drop);
	return TEST_DONE();
}
