/*
 * The restore engine of replica/restore.c, on replicas built here from WAL
 * bytes of real sqlite3 databases (uploaded as Litestream would), and on
 * replicas written by the real Litestream v0.3.13 binary. Replicas built
 * here are also restored by Litestream itself, to prove they are
 * compatible both ways.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "lz4frame.h"
#include "restore.h"
#include "sqlitewal.h"
#include "test.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)	/* the first stamped object */

#define LITESTREAM_REL \
	".deps/node_modules/@flydotio/litestream-linux-x64/litestream"

static char LITESTREAM[4096];

static char tmpdir[64], err[2048];
static FILE *logfile;		/* the engine's log lines, per restore */

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
rm_rf(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static int
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "sql %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* What a database holds: rows of t, summed and fingerprinted. */
static char *
state_of(sqlite3 *db)
{
	static const char *sql = "SELECT count(*) || ':' || "
	    "coalesce(sum(length(v)), 0) || ':' || coalesce(group_concat(id "
	    "|| '=' || hex(substr(v, 1, 6)) || hex(substr(v, -4)), ','), '') "
	    "FROM (SELECT * FROM t ORDER BY id)";
	sqlite3_stmt *st;
	char *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return strdup("(no table)");
	if (sqlite3_step(st) == SQLITE_ROW)
		s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return s;
}

static long long
count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * The restored database: in WAL mode, intact, and its state. NULL (with a
 * message) if any check fails.
 */
static char *
restored_state(const char *path)
{
	uint8_t hdr[20];
	sqlite3 *db;
	sqlite3_stmt *st;
	char *s = NULL;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, hdr, 20, 0) != 20) {
		printf("  cannot read %s\n", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	if (hdr[18] != 2 || hdr[19] != 2) {
		printf("  %s: not in WAL mode (%d, %d)\n", path, hdr[18], hdr[19]);
		return NULL;
	}
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0)
		s = state_of(db);
	else
		printf("  %s: integrity_check failed\n", path);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return s;
}

/* Entries of directory DIR other than . and .., joined by spaces. */
static void
dir_entries(const char *dir, char *buf, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t w = 0;

	buf[0] = '\0';
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		w += (size_t)snprintf(buf + w, w < len ? len - w : 0, "%s%s",
		    w ? " " : "", de->d_name);
	}
	closedir(d);
}

/* A fresh directory under the test's tmpdir. */
static void
fresh_dir(char *buf, size_t len, const char *what)
{
	static int n;

	snprintf(buf, len, "%s/%s%d", tmpdir, what, n++);
	mkdir(buf, 0700);
}

/* ------------------------------------------------------------------ */
/* Building replicas from real WAL bytes, as Litestream uploads them   */
/* ------------------------------------------------------------------ */

struct builder {
	sqlite3 *db;
	char path[256];
	struct replica_client *c;
	char gen[LAYOUT_GEN_LEN + 1];
	uint32_t index;
	uint64_t off;		/* bytes of this index already uploaded */
	int64_t clock;		/* mtime of the next object, 0 = real time */
};

static int
wr_sink(void *arg, const void *buf, size_t len)
{
	struct replica_writer *w = arg;
	return w->write(w, buf, len);
}

static int
put_lz4(struct replica_client *c, struct replica_obj o, const uint8_t *data,
    size_t len)
{
	struct replica_writer *w = replica_create(c, &o, err, sizeof(err));
	struct lz4frame_writer *lz;

	if (w == NULL)
		return -1;
	lz = lz4frame_writer_new(wr_sink, w);
	if (lz == NULL || lz4frame_write(lz, data, len) < 0 ||
	    lz4frame_writer_finish(lz) < 0) {
		lz4frame_writer_free(lz);
		w->abort(w);
		return -1;
	}
	lz4frame_writer_free(lz);
	return w->commit(w, err, sizeof(err));
}

static ssize_t
obj_src(void *arg, void *buf, size_t len)
{
	struct replica_reader *r = arg;
	return r->read(r, buf, len);
}

/* A whole object, decompressed, into BUF (at most CAP bytes). */
static ssize_t
get_raw(struct replica_client *c, struct replica_obj o, uint8_t *buf,
    size_t cap)
{
	struct replica_reader *r = replica_open(c, &o, err, sizeof(err));
	struct lz4frame_reader *lz;
	size_t len = 0;
	ssize_t n;

	if (r == NULL)
		return -1;
	lz = lz4frame_reader_new(obj_src, r);
	while (len < cap && (n = lz4frame_read(lz, buf + len, cap - len)) > 0)
		len += (size_t)n;
	lz4frame_reader_free(lz);
	r->close(r);
	return (ssize_t)len;
}

static int
set_mtime(struct replica_client *c, struct replica_obj o, int64_t ns)
{
	char path[600];
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { ns / SEC, ns % SEC } };

	replica_key(c, &o, path, sizeof(path));
	return utimensat(AT_FDCWD, path, ts, 0);
}

static void
stamp(struct builder *b, struct replica_obj o)
{
	if (b->clock == 0)
		return;
	set_mtime(b->c, o, b->clock);
	b->clock += SEC;
}

static int
b_exec(struct builder *b, const char *sql)
{
	return exec(b->db, sql);
}

/* NTX transactions of ROWS rows of SIZE random bytes. */
static int
b_rows(struct builder *b, int ntx, int rows, int size)
{
	char sql[256];

	for (int i = 0; i < ntx; i++) {
		snprintf(sql, sizeof(sql), "WITH RECURSIVE c(x) AS (SELECT 1 "
		    "UNION ALL SELECT x + 1 FROM c WHERE x < %d) INSERT INTO "
		    "t(v) SELECT randomblob(%d) FROM c", rows, size);
		if (b_exec(b, sql) < 0)
			return -1;
	}
	return 0;
}

static int
b_open(struct builder *b, struct replica_client *c, const char *gen, int page)
{
	static int n;
	char sql[64];

	memset(b, 0, sizeof(*b));
	snprintf(b->path, sizeof(b->path), "%s/src%d.db", tmpdir, n++);
	snprintf(b->gen, sizeof(b->gen), "%s", gen);
	b->c = c;
	if (sqlite3_open(b->path, &b->db) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA page_size=%d", page);
	if (b_exec(b, sql) < 0 || b_exec(b, "PRAGMA journal_mode=wal") < 0 ||
	    b_exec(b, "PRAGMA wal_autocheckpoint=0") < 0 ||
	    b_exec(b, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)") < 0 ||
	    b_exec(b, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
		return -1;
	return 0;
}

static void
b_close(struct builder *b)
{
	sqlite3_close(b->db);
	b->db = NULL;
}

static char *
b_state(struct builder *b)
{
	return state_of(b->db);
}

/* The database file as a snapshot of the current index. */
static int
b_snapshot(struct builder *b)
{
	struct replica_obj o = replica_snapshot_obj(b->gen, b->index);
	size_t len;
	uint8_t *img = slurp(b->path, &len);
	int rc;

	if (img == NULL)
		return -1;
	rc = put_lz4(b->c, o, img, len);
	free(img);
	if (rc == 0)
		stamp(b, o);
	return rc;
}

/* Uploads the committed WAL bytes not uploaded yet as one segment. */
static int
b_sync(struct builder *b)
{
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	char wal[300];
	size_t len;
	uint8_t *buf;
	int rc = 0;

	snprintf(wal, sizeof(wal), "%s-wal", b->path);
	if ((buf = slurp(wal, &len)) == NULL)
		return -1;
	if (len >= 32 && sqlitewal_hdr_parse(buf, len, &h, err,
	    sizeof(err)) == 0) {
		sqlitewal_verifier_init(&v, &h);
		sqlitewal_verify_buf(&v, buf + 32, len - 32);
		if (v.commit_end > b->off) {
			struct replica_obj o = replica_wal_obj(b->gen, b->index,
			    (uint32_t)b->off);
			rc = put_lz4(b->c, o, buf + b->off, v.commit_end -
			    b->off);
			if (rc == 0)
				stamp(b, o);
			b->off = v.commit_end;
		}
	}
	free(buf);
	return rc;
}

/* Uploads what is left, then restarts the WAL: the next index. */
static int
b_next_index(struct builder *b)
{
	if (b_sync(b) < 0 || b_exec(b, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
		return -1;
	b->index++;
	b->off = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Restoring                                                           */
/* ------------------------------------------------------------------ */

static void
opts_for(struct restore_opts *o, struct replica_client **cs, size_t n,
    const char *out)
{
	restore_opts_init(o);
	o->clients = cs;
	o->nclients = n;
	o->output = out;
	o->integrity_check = true;
}

/* Runs the restore with its log lines captured in `logfile`. */
static int
run(const struct restore_opts *o)
{
	int rc;

	if (logfile)
		fclose(logfile);
	logfile = tmpfile();
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, logfile);
	err[0] = '\0';
	rc = restore_run(o, err, sizeof(err));
	fflush(logfile);
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stdout);
	return rc;
}

static int
logged(const char *needle)
{
	static char buf[1 << 16];
	size_t n;

	rewind(logfile);
	n = fread(buf, 1, sizeof(buf) - 1, logfile);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* ------------------------------------------------------------------ */
/* Replicas built here                                                 */
/* ------------------------------------------------------------------ */

static struct replica_client *
new_client(char *root, size_t len)
{
	fresh_dir(root, len, "replica");
	return file_client_new(root, "file", err, sizeof(err));
}

TEST(latest_state)
{
	char root[128], outdir[128], out[160], ents[256];
	struct replica_client *c = new_client(root, sizeof(root));
	struct restore_opts o;
	struct builder b;
	char *want, *got;

	ASSERT_INT_EQ(b_open(&b, c, "97b94e8e9eda898b", 4096), 0);
	ASSERT_INT_EQ(b_rows(&b, 2, 3, 100), 0);
	ASSERT_INT_EQ(b_snapshot(&b), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 3, 1, 3000), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 1, 200, 50), 0);
	ASSERT_INT_EQ(b_next_index(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 1, 1, 10), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	ASSERT_INT_EQ(b_exec(&b, "UPDATE t SET v = zeroblob(7) WHERE id % 3 = 0; "
	    "DELETE FROM t WHERE id % 5 = 0"), 0);
	ASSERT_INT_EQ(b_next_index(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 4, 2, 500), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	want = b_state(&b);
	b_close(&b);

	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/r.db", outdir);
	opts_for(&o, &c, 1, out);
	ASSERT_INT_EQ(run(&o), 0);
	got = restored_state(out);
	ASSERT(got != NULL);
	ASSERT_STR_EQ(got, want);
	/* Nothing but the database next to it: no -wal, -shm or temp files. */
	dir_entries(outdir, ents, sizeof(ents));
	ASSERT_STR_EQ(ents, "r.db");
	ASSERT(logged("msg=\"restoring snapshot\" replica=file "
	    "generation=97b94e8e9eda898b index=0 path="));
	ASSERT(logged("msg=\"restoring wal files\" replica=file "
	    "generation=97b94e8e9eda898b index_min=0 index_max=2"));
	ASSERT(logged("msg=\"applied wal\" replica=file "
	    "generation=97b94e8e9eda898b index=2 elapsed="));
	ASSERT(logged("msg=\"renaming database from temporary location\""));
	struct stat st;
	ASSERT_INT_EQ(stat(out, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);

	/* The output exists now: refused, or skipped when asked. */
	ASSERT_INT_EQ(run(&o), -1);
	ASSERT(strstr(err, "cannot restore, output path already exists: ") ==
	    err);
	o.if_db_not_exists = true;
	ASSERT_INT_EQ(run(&o), 0);
	ASSERT(logged("database already exists, skipping"));
	free(want);
	free(got);
	replica_client_free(c);
}

/* A replica with several indexes, one snapshot each, and orphans. */
struct multi {
	char root[128];
	struct replica_client *c;
	char *state[8];		/* after index i was completed */
	int nindex;
};

static void
multi_free(struct multi *m)
{
	for (int i = 0; i < m->nindex; i++)
		free(m->state[i]);
	replica_client_free(m->c);
}

/* NINDEX indexes of 3 segments, a snapshot at SNAP, stamped mtimes. */
static int
build_multi(struct multi *m, int nindex, int snap, int page)
{
	struct builder b;

	memset(m, 0, sizeof(*m));
	m->c = new_client(m->root, sizeof(m->root));
	m->nindex = nindex;
	if (b_open(&b, m->c, "0123456789abcdef", page) < 0)
		return -1;
	b.clock = T0;
	for (int i = 0; i < nindex; i++) {
		if (i == 0 || i == snap) {
			if (b_snapshot(&b) < 0)
				return -1;
		}
		for (int s = 0; s < 3; s++) {
			if (b_rows(&b, 1 + s, 2, 300 + 100 * i) < 0 ||
			    b_sync(&b) < 0)
				return -1;
		}
		m->state[i] = b_state(&b);
		if (i + 1 < nindex && b_next_index(&b) < 0)
			return -1;
	}
	b_close(&b);
	return 0;
}

static char *
restore_to_state(struct replica_client *c, void (*tweak)(struct restore_opts *,
    void *), void *arg, int *rc)
{
	char outdir[128], out[160];
	struct restore_opts o;

	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/x.db", outdir);
	opts_for(&o, &c, 1, out);
	if (tweak)
		tweak(&o, arg);
	*rc = run(&o);
	return *rc == 0 ? restored_state(out) : NULL;
}

static void
set_par(struct restore_opts *o, void *arg)
{
	o->parallelism = *(int *)arg;
}

/*
 * An index in which the database shrinks (VACUUM) and grows again: pages
 * past the last commit's size are left out and the file takes that size,
 * as SQLite's own checkpoint does. The restored file is byte for byte the
 * source database after a checkpoint.
 */
TEST(database_shrinks_and_grows_within_an_index)
{
	char root[128], outdir[128], out[160], img[300];
	struct replica_client *c = new_client(root, sizeof(root));
	struct restore_opts o;
	struct builder b;
	size_t want_len, got_len;

	ASSERT_INT_EQ(b_open(&b, c, "5ea11e55f00dcafe", 1024), 0);
	ASSERT_INT_EQ(b_rows(&b, 3, 100, 300), 0);
	ASSERT_INT_EQ(b_snapshot(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 2, 100, 300), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	ASSERT_INT_EQ(b_exec(&b, "DELETE FROM t WHERE id > 20"), 0);
	ASSERT_INT_EQ(b_exec(&b, "VACUUM"), 0);
	ASSERT_INT_EQ(b_rows(&b, 1, 7, 900), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	ASSERT_INT_EQ(b_exec(&b, "DELETE FROM t WHERE id < 5"), 0);
	ASSERT_INT_EQ(b_exec(&b, "VACUUM"), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	char *want = b_state(&b);
	/* The source's own file once its WAL is in it. */
	ASSERT_INT_EQ(b_exec(&b, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	snprintf(img, sizeof(img), "%s", b.path);
	b_close(&b);

	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/v.db", outdir);
	opts_for(&o, &c, 1, out);
	ASSERT_INT_EQ(run(&o), 0);
	char *got = restored_state(out);
	ASSERT_STR_EQ(got, want);
	uint8_t *a = slurp(img, &want_len), *g = slurp(out, &got_len);
	ASSERT(a != NULL && g != NULL);
	ASSERT_INT_EQ(got_len, want_len);
	ASSERT_MEM_EQ(g, a, want_len);
	free(a);
	free(g);
	free(want);
	free(got);
	replica_client_free(c);
}

TEST(many_indexes_any_parallelism)
{
	struct multi m;
	int rc, par[] = { 1, 2, 8, 64 };

	ASSERT_INT_EQ(build_multi(&m, 7, 0, 1024), 0);
	for (size_t i = 0; i < sizeof(par) / sizeof(par[0]); i++) {
		char *got = restore_to_state(m.c, set_par, &par[i], &rc);
		if (rc != 0)
			TEST_FAIL_("parallelism %d: %s", par[i], err);
		ASSERT(got != NULL);
		ASSERT_STR_EQ(got, m.state[6]);
		free(got);
	}
	multi_free(&m);
}

/* Segments below the snapshot are never needed: orphans are ignored. */
TEST(orphans_below_snapshot_ignored)
{
	struct multi m;
	char p[600];
	int rc;

	ASSERT_INT_EQ(build_multi(&m, 4, 2, 4096), 0);
	/* A stray segment of index 0 (as in format doc §4.3) and garbage. */
	struct replica_obj stray = replica_wal_obj("0123456789abcdef", 0,
	    0x9999);
	ASSERT_INT_EQ(put_lz4(m.c, stray, (const uint8_t *)"junk", 4), 0);
	struct replica_obj first = replica_wal_obj("0123456789abcdef", 1, 0);
	ASSERT_INT_EQ(replica_remove(m.c, &first, err, sizeof(err)), 0);
	snprintf(p, sizeof(p), "%s/generations/0123456789abcdef/wal/"
	    "00000000_00000000.wal.lz4", m.root);
	FILE *f = fopen(p, "wb");
	ASSERT(f != NULL);
	fputs("not lz4", f);
	fclose(f);

	char *got = restore_to_state(m.c, NULL, NULL, &rc);
	if (rc != 0)
		TEST_FAIL_("%s", err);
	ASSERT_STR_EQ(got, m.state[3]);
	ASSERT(logged("index_min=2 index_max=3"));
	free(got);
	multi_free(&m);
}

/* A middle segment deleted: the restore fails naming it, writes nothing. */
TEST(missing_middle_segment)
{
	char outdir[128], out[160], key[600], ents[256];
	struct replica_wal_segment *w;
	struct restore_opts o;
	struct multi m;
	size_t n;

	ASSERT_INT_EQ(build_multi(&m, 3, 0, 4096), 0);
	ASSERT_INT_EQ(replica_list_wal(m.c, "0123456789abcdef", &w, &n, err,
	    sizeof(err)), 0);
	ASSERT_INT_EQ(n, 9);
	/* Index 1, second of its three segments. */
	struct replica_obj mid = replica_wal_obj("0123456789abcdef", 1,
	    w[4].offset);
	ASSERT_INT_EQ(w[4].index, 1);
	free(w);
	replica_key(m.c, &mid, key, sizeof(key));
	ASSERT_INT_EQ(replica_remove(m.c, &mid, err, sizeof(err)), 0);

	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/x.db", outdir);
	opts_for(&o, &m.c, 1, out);
	for (int par = 1; par <= 8; par += 7) {
		o.parallelism = par;
		ASSERT_INT_EQ(run(&o), -1);
		if (strstr(err, key) == NULL ||
		    strstr(err, "missing wal segment") == NULL)
			TEST_FAIL_("error does not name %s: %s", key, err);
		dir_entries(outdir, ents, sizeof(ents));
		ASSERT_STR_EQ(ents, "");
	}

	/* Up to index 0 it is still restorable. */
	o.index = 0;
	ASSERT_INT_EQ(run(&o), 0);
	char *got = restored_state(out);
	ASSERT_STR_EQ(got, m.state[0]);
	free(got);
	multi_free(&m);
}

TEST(missing_initial_segment_and_index)
{
	char key[600], outdir[128], out[160], ents[256];
	struct restore_opts o;
	struct multi m;

	ASSERT_INT_EQ(build_multi(&m, 4, 0, 4096), 0);
	struct replica_obj head = replica_wal_obj("0123456789abcdef", 2, 0);
	replica_key(m.c, &head, key, sizeof(key));
	ASSERT_INT_EQ(replica_remove(m.c, &head, err, sizeof(err)), 0);
	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/x.db", outdir);
	opts_for(&o, &m.c, 1, out);
	ASSERT_INT_EQ(run(&o), -1);
	ASSERT(strstr(err, "missing initial wal segment") != NULL);
	ASSERT(strstr(err, key) != NULL);

	/* The whole index gone. */
	ASSERT_INT_EQ(replica_remove_generation(m.c, "0123456789abcdef", err,
	    sizeof(err)), 0);
	multi_free(&m);
	ASSERT_INT_EQ(build_multi(&m, 4, 0, 4096), 0);
	for (uint32_t off = 0; off < 3; off++) {
		struct replica_wal_segment *w;
		size_t n;
		ASSERT_INT_EQ(replica_list_wal(m.c, "0123456789abcdef", &w, &n,
		    err, sizeof(err)), 0);
		for (size_t k = 0; k < n; k++) {
			if (w[k].index == 1) {
				struct replica_obj x = replica_wal_obj(
				    "0123456789abcdef", 1, w[k].offset);
				replica_remove(m.c, &x, err, sizeof(err));
			}
		}
		free(w);
	}
	opts_for(&o, &m.c, 1, out);
	ASSERT_INT_EQ(run(&o), -1);
	ASSERT(strstr(err, "missing wal index 00000001") != NULL);
	ASSERT(strstr(err, "00000001_00000000.wal.lz4") != NULL);
	dir_entries(outdir, ents, sizeof(ents));
	ASSERT_STR_EQ(ents, "");
	multi_free(&m);
}

/* Corrupt or foreign objects: loud failures naming the object. */
TEST(bad_segments)
{
	char key[600], outdir[128], out[160], ents[256];
	struct restore_opts o;
	struct multi m, other;
	size_t len;

	ASSERT_INT_EQ(build_multi(&m, 3, 0, 4096), 0);
	struct replica_obj s = replica_wal_obj("0123456789abcdef", 1, 0);
	replica_key(m.c, &s, key, sizeof(key));
	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/x.db", outdir);
	opts_for(&o, &m.c, 1, out);

	/* 1. a flipped byte in the compressed object */
	uint8_t *obj = slurp(key, &len), *copy = malloc(len);
	ASSERT(obj != NULL && len > 40);
	memcpy(copy, obj, len);
	obj[len / 2] ^= 0x55;
	FILE *f = fopen(key, "wb");
	fwrite(obj, 1, len, f);
	fclose(f);
	ASSERT_INT_EQ(run(&o), -1);
	if (strstr(err, key) == NULL || strstr(err, "lz4") == NULL)
		TEST_FAIL_("%s", err);

	/* 2. valid LZ4, but a frame whose checksum does not chain */
	static uint8_t raw[1 << 20], raw2[1 << 20];
	f = fopen(key, "wb");
	fwrite(copy, 1, len, f);
	fclose(f);
	ssize_t got = get_raw(m.c, s, raw, sizeof(raw));
	ASSERT(got > 32 + 24 + 200);
	size_t rawlen = (size_t)got;
	raw[32 + 24 + 100] ^= 1;
	ASSERT_INT_EQ(put_lz4(m.c, s, raw, rawlen), 0);
	ASSERT_INT_EQ(run(&o), -1);
	if (strstr(err, key) == NULL || strstr(err, "checksum") == NULL)
		TEST_FAIL_("%s", err);

	/* 3. the same frames from another database (other salts) */
	raw[32 + 24 + 100] ^= 1;
	ASSERT_INT_EQ(put_lz4(m.c, s, raw, rawlen), 0);
	ASSERT_INT_EQ(build_multi(&other, 2, 0, 4096), 0);
	struct replica_wal_segment *w;
	size_t nw;
	ASSERT_INT_EQ(replica_list_wal(m.c, "0123456789abcdef", &w, &nw, err,
	    sizeof(err)), 0);
	ASSERT(nw == 9 && w[4].index == 1 && w[4].offset > 0);
	struct replica_obj s3 = replica_wal_obj("0123456789abcdef", 1,
	    w[4].offset);
	free(w);
	got = get_raw(other.c, s3, raw2, sizeof(raw2));
	ASSERT(got > 0);
	ASSERT_INT_EQ(put_lz4(m.c, s3, raw2, (size_t)got), 0);
	char key3[600];
	replica_key(m.c, &s3, key3, sizeof(key3));
	ASSERT_INT_EQ(run(&o), -1);
	if (strstr(err, key3) == NULL || strstr(err, "salt") == NULL)
		TEST_FAIL_("%s", err);
	dir_entries(outdir, ents, sizeof(ents));
	ASSERT_STR_EQ(ents, "");

	/* 4. a snapshot that is not a database */
	struct replica_obj snap = replica_snapshot_obj("0123456789abcdef", 0);
	ASSERT_INT_EQ(put_lz4(m.c, snap, (const uint8_t *)"hello", 5), 0);
	ASSERT_INT_EQ(run(&o), -1);
	ASSERT(strstr(err, "not an SQLite database") != NULL);
	ASSERT(strstr(err, "00000000.snapshot.lz4") != NULL);
	dir_entries(outdir, ents, sizeof(ents));
	ASSERT_STR_EQ(ents, "");
	free(obj);
	free(copy);
	multi_free(&m);
	multi_free(&other);
	(void)out;
}

struct ts_arg {
	int64_t ts;
	int64_t index;
	const char *gen;
};

static void
set_target(struct restore_opts *o, void *arg)
{
	const struct ts_arg *a = arg;
	o->timestamp = a->ts;
	o->index = a->index;
	o->generation = a->gen;
}

/*
 * Objects are stamped T0, T0+1s, ...: snapshot (T0), then per index three
 * segments. Index i's segments are at T0 + 1 + 3i + s seconds.
 */
/* A damaged snapshot object: the error names it and nothing is left. */
TEST(bad_snapshot)
{
	char key[600], outdir[128], out[160], ents[256];
	struct restore_opts o;
	struct multi m;
	size_t len;

	ASSERT_INT_EQ(build_multi(&m, 1, 0, 4096), 0);
	struct replica_obj snap = replica_snapshot_obj("0123456789abcdef", 0);
	replica_key(m.c, &snap, key, sizeof(key));
	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/x.db", outdir);
	opts_for(&o, &m.c, 1, out);
	uint8_t *obj = slurp(key, &len);
	ASSERT(obj != NULL && len > 40);
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(key, "wb");
		ASSERT(f != NULL);
		if (k == 0) {	/* cut before the end mark */
			fwrite(obj, 1, len - 6, f);
		} else {	/* one flipped bit of the content checksum */
			obj[len - 1] ^= 0x10;
			fwrite(obj, 1, len, f);
		}
		fclose(f);
		ASSERT_INT_EQ(run(&o), -1);
		if (strstr(err, key) == NULL ||
		    strstr(err, "cannot download snapshot") == NULL ||
		    strstr(err, k == 0 ? "truncated" : "corrupt") == NULL)
			TEST_FAIL_("case %d: %s", k, err);
		dir_entries(outdir, ents, sizeof(ents));
		ASSERT_STR_EQ(ents, "");
	}
	free(obj);
	multi_free(&m);
}

TEST(point_in_time)
{
	struct ts_arg a = { RESTORE_TS_NONE, -1, NULL };
	struct multi m;
	char *got;
	int rc;

	ASSERT_INT_EQ(build_multi(&m, 3, 0, 4096), 0);
	/* Exactly at the last segment of index 1, and half a second later. */
	a.ts = T0 + (1 + 3 * 1 + 2) * SEC;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(got, m.state[1]);
	free(got);
	a.ts += SEC / 2;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_STR_EQ(got, m.state[1]);
	free(got);
	/* After everything: the latest state (Litestream says none). */
	a.ts = T0 + 3600 * SEC;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(got, m.state[2]);
	free(got);
	/* At the snapshot only: no segment is at or before T. */
	a.ts = T0;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT(logged("snapshot only, finalizing database"));
	ASSERT_STR_EQ(got, "0:0:");
	free(got);
	/* Before anything: no backups. */
	a.ts = T0 - 1;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, RESTORE_NO_BACKUPS);
	ASSERT_STR_EQ(err, "no matching backups found");
	/* A later segment with an old mtime moves the cut forward. */
	struct replica_obj late = replica_wal_obj("0123456789abcdef", 2, 0);
	ASSERT_INT_EQ(set_mtime(m.c, late, T0 + SEC + SEC / 2), 0);
	a.ts = T0 + 2 * SEC;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT(logged("index_min=0 index_max=2"));
	free(got);

	/* -index: through index 1; beyond the last: everything. */
	a.ts = RESTORE_TS_NONE;
	a.index = 1;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_STR_EQ(got, m.state[1]);
	free(got);
	a.index = 0x7fffffff;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_STR_EQ(got, m.state[2]);
	free(got);
	a.ts = T0;
	got = restore_to_state(m.c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, -1);
	ASSERT_STR_EQ(err, "cannot specify index & timestamp to restore");
	multi_free(&m);
}

/* Two generations: the latest wins, -generation and T pick the older. */
TEST(older_generation)
{
	char root[128];
	struct replica_client *c = new_client(root, sizeof(root));
	struct ts_arg a = { RESTORE_TS_NONE, -1, NULL };
	struct builder b;
	char *old_state, *new_state, *got;
	int rc;

	ASSERT_INT_EQ(b_open(&b, c, "ffffffffffffffff", 4096), 0);
	b.clock = T0;
	ASSERT_INT_EQ(b_rows(&b, 3, 2, 100), 0);
	ASSERT_INT_EQ(b_snapshot(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 2, 2, 100), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	old_state = b_state(&b);
	b_close(&b);
	/* A newer generation (sorting before the old one by name). */
	ASSERT_INT_EQ(b_open(&b, c, "0000000000000001", 4096), 0);
	b.clock = T0 + 100 * SEC;
	ASSERT_INT_EQ(b_rows(&b, 1, 50, 10), 0);
	ASSERT_INT_EQ(b_snapshot(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 1, 1, 10), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	new_state = b_state(&b);
	b_close(&b);

	got = restore_to_state(c, NULL, NULL, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(got, new_state);
	free(got);
	a.gen = "ffffffffffffffff";
	got = restore_to_state(c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(got, old_state);
	free(got);
	/* T after the old generation's end, before the new one's start. */
	a.gen = NULL;
	a.ts = T0 + 50 * SEC;
	got = restore_to_state(c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(got, old_state);
	free(got);
	a.ts = RESTORE_TS_NONE;
	a.gen = "1111111111111111";
	got = restore_to_state(c, set_target, &a, &rc);
	ASSERT_INT_EQ(rc, RESTORE_NO_BACKUPS);

	/* Listing helpers: bounds per generation. */
	struct restore_generation *gs;
	size_t n;
	ASSERT_INT_EQ(restore_list_generations(c, &gs, &n, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(n, 2);
	ASSERT_STR_EQ(gs[0].name, "0000000000000001");
	ASSERT_INT_EQ(gs[0].start, T0 + 100 * SEC);
	ASSERT_INT_EQ(gs[0].end, T0 + 101 * SEC);
	ASSERT_INT_EQ(gs[1].start, T0);
	ASSERT_INT_EQ(gs[1].end, T0 + SEC);
	ASSERT_INT_EQ(gs[1].nsnapshots, 1);
	ASSERT_INT_EQ(gs[1].nsegments, 1);
	restore_generations_free(gs, n);

	/* Two replicas: the newest end wins, whichever comes first. */
	char root2[128];
	struct replica_client *c2 = new_client(root2, sizeof(root2));
	struct replica_client *both[2] = { c2, c };
	ASSERT_INT_EQ(b_open(&b, c2, "abababababababab", 4096), 0);
	b.clock = T0 + 10 * SEC;
	ASSERT_INT_EQ(b_snapshot(&b), 0);
	b_close(&b);
	char outdir[128], out[160];
	struct restore_opts o;
	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/x.db", outdir);
	opts_for(&o, both, 2, out);
	ASSERT_INT_EQ(run(&o), 0);
	got = restored_state(out);
	ASSERT_STR_EQ(got, new_state);
	free(got);
	free(old_state);
	free(new_state);
	replica_client_free(c);
	replica_client_free(c2);
}

TEST(no_backups)
{
	char root[128], outdir[128], out[160], ents[256];
	struct replica_client *c = new_client(root, sizeof(root));
	struct restore_opts o;

	fresh_dir(outdir, sizeof(outdir), "out");
	snprintf(out, sizeof(out), "%s/sub/dir/x.db", outdir);
	opts_for(&o, &c, 1, out);
	ASSERT_INT_EQ(run(&o), RESTORE_NO_BACKUPS);
	ASSERT_STR_EQ(err, "no matching backups found");
	ASSERT(!logged("no matching backups found"));
	o.if_replica_exists = true;
	ASSERT_INT_EQ(run(&o), RESTORE_NO_BACKUPS);
	ASSERT(logged("no matching backups found"));
	dir_entries(outdir, ents, sizeof(ents));
	ASSERT_STR_EQ(ents, "");

	/* A generation with segments but no snapshot is an error, loudly. */
	struct replica_obj w = replica_wal_obj("0123456789abcdef", 0, 0);
	ASSERT_INT_EQ(put_lz4(c, w, (const uint8_t *)"x", 1), 0);
	ASSERT_INT_EQ(run(&o), -1);
	ASSERT(strstr(err, "no snapshots available") != NULL);
	replica_client_free(c);

	/* Listing errors are errors, not "no backups". */
	c = file_client_new("/proc/self/status", "x", err, sizeof(err));
	opts_for(&o, &c, 1, out);
	ASSERT_INT_EQ(run(&o), -1);
	replica_client_free(c);
}

/* A 6 MB transaction: a multi-block LZ4 segment, 64 KiB pages. */
TEST(big_transaction_big_pages)
{
	char root[128];
	struct replica_client *c = new_client(root, sizeof(root));
	struct builder b;
	char *want, *got;
	int rc;

	ASSERT_INT_EQ(b_open(&b, c, "0123456789abcdef", 65536), 0);
	ASSERT_INT_EQ(b_snapshot(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 1, 1500, 4000), 0);
	ASSERT_INT_EQ(b_sync(&b), 0);
	ASSERT_INT_EQ(b_rows(&b, 1, 1, 1), 0);
	ASSERT_INT_EQ(b_next_index(&b), 0);
	want = b_state(&b);
	b_close(&b);
	got = restore_to_state(c, NULL, NULL, &rc);
	if (rc != 0)
		TEST_FAIL_("%s", err);
	ASSERT_STR_EQ(got, want);
	free(want);
	free(got);
	replica_client_free(c);
}

/* ------------------------------------------------------------------ */
/* The real Litestream v0.3.13                                         */
/* ------------------------------------------------------------------ */

/*
 * $LITESTREAM (as tests/integ/lib.sh sets it), else .deps/ of the
 * repository that holds this test binary.
 */
static int
litestream_present(void)
{
	char dir[4096];
	const char *env = getenv("LITESTREAM");
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(LITESTREAM, sizeof(LITESTREAM), "%s", env);
		if (access(LITESTREAM, X_OK) == 0)
			return 1;
	}
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	dir[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 6; up++) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
		snprintf(LITESTREAM, sizeof(LITESTREAM), "%.3000s/%s", dir,
		    LITESTREAM_REL);
		if (access(LITESTREAM, X_OK) == 0)
			return 1;
	}
	printf("  litestream v0.3.13 not found: set $LITESTREAM or run "
	    "`make deps`\n");
	return 0;
}

/* Starts litestream ARGS with output to LOG; returns its pid. */
static pid_t
spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits up to SECS for PID; SIGKILL after that. Its exit status. */
static int
reap(pid_t pid, int secs)
{
	int st;

	for (int i = 0; i < secs * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void
show_log(const char *log)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "tail -20 %s | sed 's/^/    | /'", log);
	if (system(cmd) != 0)
		printf("  (no log)\n");
}

static int
wait_for_snapshot(const char *root)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "ls %s/generations/*/snapshots/*.lz4 "
	    ">/dev/null 2>&1", root);
	for (int i = 0; i < 200; i++) {
		if (system(cmd) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* One run of `litestream replicate` while WRITES happen. */
static int
litestream_phase(const char *cfg, const char *dbpath, const char *root,
    const char *log, int ntx)
{
	char cfgbuf[300];
	char *argv[] = { LITESTREAM, "replicate", "-config", cfgbuf, NULL };
	sqlite3 *db;
	pid_t pid;
	int rc;

	snprintf(cfgbuf, sizeof(cfgbuf), "%s", cfg);
	if ((pid = spawn(argv, log)) < 0)
		return -1;
	if (wait_for_snapshot(root) < 0) {
		kill(pid, SIGTERM);
		reap(pid, 10);
		printf("  litestream made no snapshot\n");
		return -1;
	}
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 5000);
	for (int i = 0; i < ntx; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql), "WITH RECURSIVE c(x) AS (SELECT 1 "
		    "UNION ALL SELECT x + 1 FROM c WHERE x < %d) INSERT INTO "
		    "t(v) SELECT randomblob(%d) FROM c", 1 + i % 4,
		    i == ntx / 2 ? 400000 : 1500);
		if (exec(db, sql) < 0)
			break;
		usleep(40000);
	}
	sqlite3_close(db);
	usleep(600000);		/* a few sync intervals */
	kill(pid, SIGTERM);
	rc = reap(pid, 20);
	if (rc != 0)
		printf("  litestream exited with %d\n", rc);
	return rc == 0 ? 0 : -1;
}

static char *
file_state(const char *path)
{
	sqlite3 *db;
	char *s;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return NULL;
	s = state_of(db);
	sqlite3_close(db);
	return s;
}

TEST(restores_litestream_replica)
{
	char dir[128], dbpath[160], root[160], cfg[160], log[160];
	struct replica_client *c;
	struct replica_generation *gens;
	char *phase1, *want, *got;
	sqlite3 *db;
	size_t ngen;
	int rc;

	if (!litestream_present())
		TEST_FAIL_("the Litestream v0.3.13 binary is required");
	fresh_dir(dir, sizeof(dir), "ls");
	snprintf(dbpath, sizeof(dbpath), "%s/app.db", dir);
	snprintf(root, sizeof(root), "%s/replica", dir);
	snprintf(cfg, sizeof(cfg), "%s/ls.yml", dir);
	snprintf(log, sizeof(log), "%s/litestream.log", dir);
	FILE *f = fopen(cfg, "w");
	ASSERT(f != NULL);
	fprintf(f, "dbs:\n  - path: %s\n    monitor-interval: 100ms\n"
	    "    min-checkpoint-page-count: 16\n"
	    "    checkpoint-interval: 1s\n"
	    "    replicas:\n      - type: file\n        path: %s\n"
	    "        sync-interval: 100ms\n", dbpath, root);
	fclose(f);
	ASSERT_INT_EQ(sqlite3_open(dbpath, &db), SQLITE_OK);
	ASSERT_INT_EQ(exec(db, "PRAGMA journal_mode=wal; CREATE TABLE t(id "
	    "INTEGER PRIMARY KEY, v BLOB); INSERT INTO t(v) VALUES (x'01')"), 0);
	sqlite3_close(db);

	/* Phase 1: replicate while writing, then stop. */
	if (litestream_phase(cfg, dbpath, root, log, 40) < 0) {
		show_log(log);
		TEST_FAIL_("litestream replicate failed");
	}
	phase1 = file_state(dbpath);
	/* A write while Litestream is down: the next run starts a new
	 * generation (format doc §2.6). */
	ASSERT_INT_EQ(sqlite3_open(dbpath, &db), SQLITE_OK);
	ASSERT_INT_EQ(exec(db, "INSERT INTO t(v) VALUES (x'0202')"), 0);
	sqlite3_close(db);
	if (litestream_phase(cfg, dbpath, root, log, 15) < 0) {
		show_log(log);
		TEST_FAIL_("litestream replicate (2) failed");
	}
	want = file_state(dbpath);
	ASSERT(want != NULL && phase1 != NULL);

	c = file_client_new(root, "file", err, sizeof(err));
	ASSERT_INT_EQ(replica_list_generations(c, &gens, &ngen, err,
	    sizeof(err)), 0);
	if (ngen != 2) {
		show_log(log);
		TEST_FAIL_("%zu generations, want 2", ngen);
	}
	got = restore_to_state(c, NULL, NULL, &rc);
	if (rc != 0) {
		show_log(log);
		TEST_FAIL_("restore: %s", err);
	}
	ASSERT(got != NULL);
	ASSERT_STR_EQ(got, want);
	free(got);
	ASSERT(logged("applied wal"));

	/* The first generation: the state of phase 1. */
	struct restore_generation g0, g1;
	ASSERT_INT_EQ(restore_list_generation(c, gens[0].name, &g0, err,
	    sizeof(err)), 0);
	ASSERT_INT_EQ(restore_list_generation(c, gens[1].name, &g1, err,
	    sizeof(err)), 0);
	const char *older = g0.end < g1.end ? gens[0].name : gens[1].name;
	struct restore_generation *go = g0.end < g1.end ? &g0 : &g1;
	/* Several WAL indexes, so index changes were exercised. */
	ASSERT(go->nsegments > 3);
	ASSERT(go->segments[go->nsegments - 1].index >= 1);
	struct ts_arg a = { RESTORE_TS_NONE, -1, older };
	got = restore_to_state(c, set_target, &a, &rc);
	if (rc != 0)
		TEST_FAIL_("restore -generation %s: %s", older, err);
	ASSERT_STR_EQ(got, phase1);
	free(got);
	restore_generation_clear(&g0);
	restore_generation_clear(&g1);
	free(gens);
	free(phase1);
	free(want);
	replica_client_free(c);
}

/* Litestream restores a replica built here (our names, LZ4, layout). */
TEST(litestream_restores_ours)
{
	char cmd[8192], out[200], log[200];
	struct multi m;
	char *got;
	int rc;

	if (!litestream_present())
		TEST_FAIL_("the Litestream v0.3.13 binary is required");
	ASSERT_INT_EQ(build_multi(&m, 3, 1, 4096), 0);
	snprintf(out, sizeof(out), "%s/ls-restored.db", m.root);
	snprintf(log, sizeof(log), "%s/ls-restore.log", m.root);
	snprintf(cmd, sizeof(cmd), "%s restore -o %s file://%s >%s 2>&1",
	    LITESTREAM, out, m.root, log);
	rc = system(cmd);
	if (rc != 0) {
		show_log(log);
		TEST_FAIL_("litestream restore failed (%d)", rc);
	}
	got = restored_state(out);
	ASSERT(got != NULL);
	ASSERT_STR_EQ(got, m.state[2]);
	free(got);
	/* Litestream's point in time agrees with ours (index 1's end). */
	unlink(out);
	/* Stamps: snapshot 0, 3 segments, snapshot 1, 3 segments, ... */
	time_t t = (time_t)((T0 + 7 * SEC) / SEC);
	struct tm tm;
	char ts[40];
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(cmd, sizeof(cmd), "%s restore -o %s -timestamp %s file://%s "
	    ">%s 2>&1", LITESTREAM, out, ts, m.root, log);
	ASSERT_INT_EQ(system(cmd), 0);
	got = restored_state(out);
	ASSERT_STR_EQ(got, m.state[1]);
	free(got);
	ASSERT_INT_EQ(count_rows(out) > 0, 1);
	multi_free(&m);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/walship-restore.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(latest_state);
	RUN(database_shrinks_and_grows_within_an_index);
	RUN(many_indexes_any_parallelism);
	RUN(orphans_below_snapshot_ignored);
	RUN(missing_middle_segment);
	RUN(missing_initial_segment_and_index);
	RUN(bad_segments);
	RUN(bad_snapshot);
	RUN(point_in_time);
	RUN(older_generation);
	RUN(no_backups);
	RUN(big_transaction_big_pages);
	RUN(restores_litestream_replica);
	RUN(litestream_restores_ours);
	if (logfile)
		fclose(logfile);
	if (test_failed_ == 0)
		rm_rf(tmpdir);
	else
		printf("files kept in %s\n", tmpdir);
	return TEST_DONE();
}
