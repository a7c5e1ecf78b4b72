/*
 * The walreader's pin, shadow log and checkpoint procedure against a real
 * SQLite database with a real application connection: every committed
 * frame reaches the shadow log before a checkpoint can restart the WAL,
 * continuity across restarts is accepted only when the walreader's own
 * checkpoint sealed the index, and a restart by anyone else is detected.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt_vfs.h"
#include "dbconn.h"
#include "log.h"
#include "shadow.h"
#include "snapshot.h"
#include "sqlitewal.h"
#include "test.h"
#include "walindex.h"

static char dir[256], dbpath[300], meta[300];

struct walreader_sim {
	struct dbconn c;
	struct shadow s;
	int copied_under_lock;
};

static void
on_locked(void *arg)
{
	struct walreader_sim *w = arg;
	char reason[SHADOW_REASON_LEN];
	if (shadow_copy(&w->s, NULL, NULL, reason) == SHADOW_OK &&
	    shadow_seal(&w->s) == 0) {
		w->copied_under_lock++;
		dbconn_unpin(&w->c);
	}
}

static void
on_unlocked(void *arg)
{
	struct walreader_sim *w = arg;
	if (dbconn_pin(&w->c) == 0)
		w->s.pinned_since_seal = w->s.sealed;
}

static int
walreader_checkpoint_mode(struct walreader_sim *w, int wait_ms, int mode)
{
	struct ckpt_vfs_hooks h = { on_locked, on_unlocked, w };
	int nlog, nckpt;
	ckpt_vfs_arm(&h);
	int rc = dbconn_checkpoint(&w->c, mode, wait_ms, &nlog, &nckpt);
	ckpt_vfs_arm(NULL);
	if (!w->c.pinned)
		dbconn_pin(&w->c);
	if (rc != SQLITE_OK)
		shadow_unseal(&w->s);
	return rc;
}

static int
walreader_checkpoint(struct walreader_sim *w, int wait_ms)
{
	return walreader_checkpoint_mode(w, wait_ms,
	    SQLITE_CHECKPOINT_TRUNCATE);
}

static sqlite3 *
app_open(void)
{
	sqlite3 *db;
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 2000);
	sqlite3_exec(db, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0",
	    NULL, NULL, NULL);
	return db;
}

static void
app_insert(sqlite3 *db, int n)
{
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (int i = 0; i < n; i++)
		sqlite3_exec(db, "INSERT INTO t(v) VALUES (randomblob(300))",
		    NULL, NULL, NULL);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

static long
count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = -1;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int
copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	return system(cmd);
}

/* Replays shadow indexes FIRST..LAST over a copy of BASE, as restore does. */
static long
replay(const char *base, const char *gen, uint32_t first, uint32_t last)
{
	char out[400], wal[420], src[600], cmd[1400];
	snprintf(out, sizeof(out), "%s/replay.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", out);
	unlink(out);
	copy_file(base, out);
	for (uint32_t i = first; i <= last; i++) {
		struct stat st;
		shadow_wal_path(meta, gen, i, src, sizeof(src));
		if (stat(src, &st) < 0 || st.st_size == 0)
			continue;
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, wal);
		if (system(cmd) != 0)
			return -1;
		sqlite3 *db;
		sqlite3_open(out, &db);
		sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
		    NULL);
		sqlite3_close(db);
	}
	return count_rows(out);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/walship-ckpt-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(dbpath, sizeof(dbpath), "%s/app.db", dir);
	snprintf(meta, sizeof(meta), "%s/.app.db-litestream", dir);
}

static void
teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		abort();
}

/* The application's table over an empty WAL, and a copy of it in BASE. */
static sqlite3 *
app_start(char *base, size_t len)
{
	sqlite3 *app = app_open();
	sqlite3_exec(app, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL);
	sqlite3_exec(app, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	snprintf(base, len, "%s/base.db", dir);
	if (copy_file(dbpath, base) != 0) {
		sqlite3_close(app);
		return NULL;
	}
	return app;
}

/* The walreader's connections and a new generation on dbpath. */
static int
sim_start(struct walreader_sim *w)
{
	if (dbconn_open(&w->c, dbpath) < 0 ||
	    shadow_open(&w->s, meta, dbpath, w->c.page_size) < 0)
		return -1;
	w->s.shm_fd = w->c.shm_fd;
	return shadow_new_generation(&w->s);
}

TEST(frames_reach_shadow_before_restart)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN], base[400];
	setup();
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);

	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);

	app_insert(app, 50);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	/* Not copied by a tick: must be copied under the checkpoint's lock. */
	app_insert(app, 30);
	ASSERT_INT_EQ(walreader_checkpoint(&w, 100), SQLITE_OK);
	ASSERT_INT_EQ(w.copied_under_lock, 1);
	struct stat st;
	char walpath[320];
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	ASSERT_INT_EQ(stat(walpath, &st), 0);
	ASSERT_INT_EQ(st.st_size, 0); /* shrunk */
	ASSERT_INT_EQ(w.s.index, 1);
	ASSERT(w.s.sealed);

	/* The next write starts index 1 (salt-1 + 1): accepted. */
	app_insert(app, 20);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 1);
	ASSERT(!w.s.sealed);
	ASSERT(w.s.size > 32);
	/* A second round through the same path. */
	app_insert(app, 5);
	ASSERT_INT_EQ(walreader_checkpoint(&w, 100), SQLITE_OK);
	app_insert(app, 7);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 2);

	ASSERT_INT_EQ(replay(base, w.s.gen, 0, 2), 112);
	ASSERT_INT_EQ(count_rows(dbpath), 112);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

/* What shadow_copy hands its callback: checked against the shadow file. */
struct appended {
	uint8_t *p;
	size_t len;
	int calls, without_bytes;
	uint32_t frames;
};

static void
on_append(void *arg, uint32_t index, uint64_t off, const uint8_t *buf,
    size_t len, uint32_t nframes)
{
	struct appended *a = arg;
	(void)index;
	a->calls++;
	a->frames += nframes;
	if (off != a->len)
		abort(); /* not contiguous: the test fails on the sizes below */
	uint8_t *p = realloc(a->p, a->len + len);
	if (p == NULL)
		abort();
	a->p = p;
	if (buf != NULL)
		memcpy(a->p + a->len, buf, len);
	else
		a->without_bytes++;
	a->len += len;
}

/* The shadow of the current index equals the WAL up to its last commit. */
static void
assert_shadow_is_wal(struct walreader_sim *w, const struct appended *a)
{
	char walpath[320], shadow[600];
	struct stat st;
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	shadow_wal_path(meta, w->s.gen, w->s.index, shadow, sizeof(shadow));
	ASSERT_INT_EQ(stat(shadow, &st), 0);
	ASSERT_INT_EQ(st.st_size, w->s.size);
	ASSERT_INT_EQ(a->len, w->s.size);
	uint8_t *x = malloc(w->s.size), *y = malloc(w->s.size);
	int fx = open(walpath, O_RDONLY), fy = open(shadow, O_RDONLY);
	ASSERT(x != NULL && y != NULL && fx >= 0 && fy >= 0);
	ASSERT_INT_EQ(pread(fx, x, w->s.size, 0), w->s.size);
	ASSERT_INT_EQ(pread(fy, y, w->s.size, 0), w->s.size);
	ASSERT_MEM_EQ(x, y, w->s.size);
	if (a->without_bytes == 0)
		ASSERT_MEM_EQ(a->p, y, w->s.size);
	close(fx);
	close(fy);
	free(x);
	free(y);
}

/*
 * A WAL grown a little since the last copy is handed to the uploaders with
 * its bytes, one grown by more than the copy buffer without (they read the
 * shadow): the shadow is the WAL up to its last commit either way, and
 * frames past it (a torn tail here) are never taken.
 */
TEST(small_and_large_growth_copy_alike)
{
	struct walreader_sim w = { 0 };
	struct appended a = { 0 };
	char reason[SHADOW_REASON_LEN], base[400], walpath[320];
	setup();
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);

	app_insert(app, 10);	/* the header and a few frames */
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	ASSERT_INT_EQ(a.calls, 1);
	ASSERT_INT_EQ(a.without_bytes, 0);
	assert_shadow_is_wal(&w, &a);
	app_insert(app, 6000);	/* about 2 MB */
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	ASSERT_INT_EQ(a.calls, 2);
	ASSERT_INT_EQ(a.without_bytes, 1);
	app_insert(app, 3);
	app_insert(app, 4);	/* two commits, one copy */
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	ASSERT_INT_EQ(a.calls, 3);
	assert_shadow_is_wal(&w, &a);
	ASSERT_INT_EQ(a.frames, (w.s.size - 32) / (24 + w.s.page_size));

	/* Without the wal-index's limit: the first frame again (its
	 * checksum does not follow the chain) and part of the next. */
	uint64_t before = w.s.size;
	size_t tail = 24 + w.s.page_size + 1000;
	w.s.shm_fd = -1;
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	int fd = open(walpath, O_WRONLY | O_APPEND);
	ASSERT(fd >= 0);
	ASSERT_INT_EQ(write(fd, a.p + 32, tail), tail);
	close(fd);
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.size, before);
	ASSERT_INT_EQ(a.calls, 3);

	free(a.p);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

/*
 * A transaction larger than the copy buffer, spilled into the WAL before
 * its commit (a small page cache), and read without the wal-index's limit:
 * its frames are valid but not committed, so the shadow must not keep them
 * although they went out before their commit could be seen. Once it
 * commits, the shadow is the WAL again.
 */
TEST(big_transaction_waits_for_its_commit)
{
	struct walreader_sim w = { 0 };
	struct appended a = { 0 };
	char reason[SHADOW_REASON_LEN], base[400], walpath[320], shadow[600];
	struct stat st;
	setup();
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);

	app_insert(app, 10);
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	uint64_t before = w.s.size;
	ASSERT_INT_EQ(sqlite3_exec(app, "PRAGMA cache_size=20", NULL, NULL,
	    NULL), SQLITE_OK);
	ASSERT_INT_EQ(sqlite3_exec(app, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 12000; i++)	/* about 4 MB */
		ASSERT_INT_EQ(sqlite3_exec(app, "INSERT INTO t(v) VALUES "
		    "(randomblob(300))", NULL, NULL, NULL), SQLITE_OK);
	ASSERT_INT_EQ(stat(walpath, &st), 0);
	ASSERT((uint64_t)st.st_size > before + 2 * 1024 * 1024); /* spilled */

	int shm = w.s.shm_fd;
	w.s.shm_fd = -1;
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.size, before);
	ASSERT_INT_EQ(a.calls, 1);
	shadow_wal_path(meta, w.s.gen, w.s.index, shadow, sizeof(shadow));
	ASSERT_INT_EQ(stat(shadow, &st), 0);
	ASSERT_INT_EQ(st.st_size, before);	/* cut off again */
	assert_shadow_is_wal(&w, &a);

	ASSERT_INT_EQ(sqlite3_exec(app, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	w.s.shm_fd = shm;
	ASSERT_INT_EQ(shadow_copy(&w.s, on_append, &a, reason), SHADOW_OK);
	ASSERT(w.s.size > before + 2 * 1024 * 1024);
	ASSERT_INT_EQ(a.calls, 2);
	ASSERT_INT_EQ(a.without_bytes, 1);
	assert_shadow_is_wal(&w, &a);
	ASSERT_INT_EQ(a.frames, (w.s.size - 32) / (24 + w.s.page_size));

	free(a.p);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

/*
 * A RESTART checkpoint leaves the WAL's header and frames in place for the
 * next writer to start over. Until it does, the sealed index stays sealed
 * (the WAL holds nothing past it); the writer's new WAL is then the next
 * index of the same generation, not a restart by somebody else.
 */
TEST(restart_left_for_the_next_writer)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN], base[400], walpath[320];
	struct stat st;
	setup();
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);

	app_insert(app, 40);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(walreader_checkpoint_mode(&w, 100,
	    SQLITE_CHECKPOINT_RESTART), SQLITE_OK);
	ASSERT_INT_EQ(w.s.index, 1);
	ASSERT(w.s.sealed);
	ASSERT_INT_EQ(stat(walpath, &st), 0);
	off_t kept = st.st_size;
	ASSERT(kept > 32);		/* not truncated: index 0 still there */

	for (int i = 0; i < 3; i++) {
		ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
		ASSERT(w.s.sealed);
		ASSERT_INT_EQ(w.s.index, 1);
		ASSERT_INT_EQ(w.s.size, 0);
	}

	app_insert(app, 25);
	if (shadow_copy(&w.s, NULL, NULL, reason) != SHADOW_OK)
		TEST_FAIL_("the next writer's WAL was refused: %s", reason);
	ASSERT_INT_EQ(w.s.index, 1);
	ASSERT(!w.s.sealed);
	ASSERT(w.s.size > 32);
	ASSERT_INT_EQ(stat(walpath, &st), 0);
	ASSERT_INT_EQ(st.st_size, kept);	/* written over from the start */

	ASSERT_INT_EQ(replay(base, w.s.gen, 0, 1), 65);
	ASSERT_INT_EQ(count_rows(dbpath), 65);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

/*
 * The WAL started over without a checkpoint holding writers off: once a
 * PASSIVE checkpoint has put every frame (all in the shadow log too) into
 * the database, the index is sealed and the pin handed over onto read lock
 * 0; the next writer starts the WAL over and it is the next index. A commit
 * landing between the seal and the hand-over gives the new pin a read
 * mark: the WAL goes on, and the index is unsealed and appended to.
 */
TEST(restart_without_a_blocking_checkpoint)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN], base[400];
	struct walindex_state wi;
	int nlog, nckpt;
	setup();
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);

	app_insert(app, 30);
	ASSERT_INT_EQ(dbconn_advance(&w.c), 1);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(dbconn_checkpoint(&w.c, SQLITE_CHECKPOINT_PASSIVE, 0,
	    &nlog, &nckpt), SQLITE_OK);
	ASSERT_INT_EQ(walindex_now(w.c.shm_fd, &wi), WALINDEX_OK);
	ASSERT(wi.mx_frame > 0);
	ASSERT_INT_EQ(wi.backfilled, wi.mx_frame);
	ASSERT_INT_EQ(w.s.size, 32 + (uint64_t)wi.mx_frame *
	    sqlitewal_frame_size(w.c.page_size));
	ASSERT_INT_EQ(shadow_seal(&w.s), 0);
	ASSERT_INT_EQ(dbconn_hand_over(&w.c), 1);	/* read lock 0 */
	w.s.pinned_since_seal = true;

	app_insert(app, 20);			/* starts the WAL over */
	ASSERT_INT_EQ(walindex_now(w.c.shm_fd, &wi), WALINDEX_OK);
	ASSERT(memcmp(wi.salts, w.s.hdr + 16, 8) != 0);
	if (shadow_copy(&w.s, NULL, NULL, reason) != SHADOW_OK)
		TEST_FAIL_("the restarted WAL was refused: %s", reason);
	ASSERT_INT_EQ(w.s.index, 1);
	ASSERT(!w.s.sealed);

	/* Again, with a commit between the seal and the hand-over. */
	ASSERT_INT_EQ(dbconn_advance(&w.c), 1);
	app_insert(app, 10);
	ASSERT_INT_EQ(dbconn_advance(&w.c), 1);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(dbconn_checkpoint(&w.c, SQLITE_CHECKPOINT_PASSIVE, 0,
	    &nlog, &nckpt), SQLITE_OK);
	ASSERT_INT_EQ(shadow_seal(&w.s), 0);
	app_insert(app, 5);
	ASSERT_INT_EQ(dbconn_hand_over(&w.c), 0);	/* a read mark */
	app_insert(app, 5);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 1);			/* unsealed */
	ASSERT(!w.s.sealed);
	ASSERT_INT_EQ(walreader_checkpoint(&w, 100), SQLITE_OK);
	app_insert(app, 3);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 2);

	ASSERT_INT_EQ(replay(base, w.s.gen, 0, 2), 73);
	ASSERT_INT_EQ(count_rows(dbpath), 73);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

TEST(long_reader_bounds_the_wait)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN];
	setup();
	sqlite3 *app = app_open();
	sqlite3_exec(app, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);
	app_insert(app, 10);

	/* A long reader in another connection holds an old snapshot. */
	sqlite3 *reader = app_open();
	sqlite3_stmt *st;
	sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(reader, "SELECT count(*) FROM t", -1, &st, NULL);
	ASSERT_INT_EQ(sqlite3_step(st), SQLITE_ROW);
	app_insert(app, 10);

	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = walreader_checkpoint(&w, 50);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ASSERT_INT_EQ(rc, SQLITE_BUSY);
	ASSERT(ms < 1000);
	ASSERT(w.c.pinned);
	/* The WAL was not restarted: the sealed index was taken back. */
	ASSERT_INT_EQ(w.s.index, 0);
	app_insert(app, 10);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 0);
	ASSERT(!w.s.sealed);
	sqlite3_finalize(st);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	ASSERT_INT_EQ(walreader_checkpoint(&w, 100), SQLITE_OK);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

TEST(restart_by_another_process_is_detected)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN];
	setup();
	sqlite3 *app = app_open();
	sqlite3_exec(app, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	app_insert(app, 10);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	/* Unpinned (as while walship is down): the app checkpoints away. */
	app_insert(app, 10);
	sqlite3_exec(app, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	app_insert(app, 10);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason),
	    SHADOW_NEED_GENERATION);
	ASSERT(strstr(reason, "another process") != NULL);

	/* Reopening the same state sees the same thing. */
	shadow_close(&w.s);
	ASSERT_INT_EQ(shadow_open(&w.s, meta, dbpath, w.c.page_size), 0);
	w.s.shm_fd = w.c.shm_fd;
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason),
	    SHADOW_NEED_GENERATION);
	ASSERT_INT_EQ(shadow_new_generation(&w.s), 0);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

TEST(empty_index_needs_an_unchanged_database)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN], gen[17];
	setup();
	sqlite3 *app = app_open();
	sqlite3_exec(app, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL);
	sqlite3_exec(app, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	memcpy(gen, w.s.gen, sizeof(gen));
	/* Stopped with an empty index and an empty WAL, restarted: the
	 * database did not change, so the generation goes on. */
	shadow_close(&w.s);
	dbconn_close(&w.c);
	ASSERT_INT_EQ(dbconn_open(&w.c, dbpath), 0);
	ASSERT_INT_EQ(shadow_open(&w.s, meta, dbpath, w.c.page_size), 0);
	w.s.shm_fd = w.c.shm_fd;
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_STR_EQ(w.s.gen, gen);
	/* Down again; the application writes and checkpoints the WAL back to
	 * empty: nothing in the WAL tells, the database file does. */
	shadow_close(&w.s);
	dbconn_close(&w.c);
	app_insert(app, 10);
	sqlite3_exec(app, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	ASSERT_INT_EQ(dbconn_open(&w.c, dbpath), 0);
	ASSERT_INT_EQ(shadow_open(&w.s, meta, dbpath, w.c.page_size), 0);
	w.s.shm_fd = w.c.shm_fd;
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason),
	    SHADOW_NEED_GENERATION);
	ASSERT(strstr(reason, "database changed") != NULL);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

/*
 * Appends to the -wal a copy of its last frame as a further commit frame
 * with a valid checksum, without touching the wal-index: the bytes a writer
 * killed between writing its commit and publishing it leaves behind.
 */
static int
append_unpublished_commit(uint32_t page_size)
{
	char walpath[320];
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	int fd = open(walpath, O_RDWR);
	struct stat st;
	size_t fsz = 24 + page_size;
	uint8_t *f = malloc(fsz), hdr[32];
	if (fd < 0 || f == NULL || fstat(fd, &st) < 0 ||
	    pread(fd, hdr, 32, 0) != 32 ||
	    pread(fd, f, fsz, st.st_size - (off_t)fsz) != (ssize_t)fsz)
		return -1;
	uint32_t ck[2] = { sqlitewal_get32(f + 16), sqlitewal_get32(f + 20) };
	bool be = (sqlitewal_get32(hdr) & 1) != 0;
	f[fsz - 1] ^= 0x55; /* a page content no one ever committed */
	sqlitewal_checksum(be, f, 8, ck);
	sqlitewal_checksum(be, f + 24, page_size, ck);
	sqlitewal_put32(f + 16, ck[0]);
	sqlitewal_put32(f + 20, ck[1]);
	int rc = pwrite(fd, f, fsz, st.st_size) == (ssize_t)fsz ? 0 : -1;
	close(fd);
	free(f);
	return rc;
}

TEST(unpublished_commit_is_not_copied)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN], base[400];
	setup();
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);
	app_insert(app, 5);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	uint64_t before = w.s.size;
	ASSERT_INT_EQ(append_unpublished_commit(w.c.page_size), 0);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.size, before);
	/* The next writer overwrites those frames; those are what count. */
	app_insert(app, 3);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT(w.s.size > before);
	ASSERT_INT_EQ(replay(base, w.s.gen, 0, 0), 8);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

static int
to_file(void *arg, const uint8_t *buf, size_t len)
{
	return fwrite(buf, 1, len, arg) == len ? 0 : -1;
}

static long
snapshot_rows(struct walreader_sim *w)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/snap.db", dir);
	unlink(path);
	FILE *f = fopen(path, "w");
	int64_t n = snapshot_stream(&w->s, w->c.db_fd, to_file, f);
	fclose(f);
	return n <= 0 ? -1 : count_rows(path);
}

TEST(snapshot_is_consistent_at_the_shadow_position)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN];
	setup();
	sqlite3 *app = app_open();
	sqlite3_exec(app, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL);
	app_insert(app, 40);
	ASSERT_INT_EQ(sim_start(&w), 0);
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(snapshot_rows(&w), 40);
	/* The application's own checkpoint writes pages into the file while
	 * the snapshot's frames are still newer: the image stays right. */
	app_insert(app, 25);
	sqlite3_exec(app, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
	app_insert(app, 5);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(snapshot_rows(&w), 70);
	/* After a sealed checkpoint, before the next write. */
	ASSERT_INT_EQ(walreader_checkpoint(&w, 100), SQLITE_OK);
	ASSERT_INT_EQ(snapshot_rows(&w), 70);
	app_insert(app, 1);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(snapshot_rows(&w), 71);
	/* Another process that writes and closes: as long as the walreader
	 * holds its connections (and its locks: snapshots must not drop
	 * them), that close is not the last one and leaves the WAL alone. */
	sqlite3_close(app);
	app = NULL;
	char cmd[700], walpath[320];
	struct stat st;
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"INSERT INTO t(v) "
	    "VALUES ('other process')\"", dbpath);
	ASSERT_INT_EQ(system(cmd), 0);
	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	ASSERT_INT_EQ(stat(walpath, &st), 0);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(snapshot_rows(&w), 72);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

static int
app_passive(sqlite3 *app, int *nlog)
{
	int nckpt = -1;
	if (sqlite3_wal_checkpoint_v2(app, "main", SQLITE_CHECKPOINT_PASSIVE,
	    nlog, &nckpt) != SQLITE_OK)
		return -1;
	return nckpt;
}

static int
pin_read_lock(struct walreader_sim *w)
{
	return ckpt_vfs_read_lock(w->c.pins[w->c.cur]);
}

TEST(advanced_pin_lets_the_app_checkpoint_but_not_restart)
{
	struct walreader_sim w = { 0 };
	char reason[SHADOW_REASON_LEN], base[400];
	int nlog, first;
	setup();
	sqlite3 *app = app_start(base, sizeof(base));
	ASSERT(app != NULL);
	ASSERT_INT_EQ(sim_start(&w), 0);

	/* Pinned over an empty WAL: read lock 0, nothing can be backfilled. */
	ASSERT_INT_EQ(dbconn_pin(&w.c), 0);
	ASSERT_INT_EQ(pin_read_lock(&w), 0);
	app_insert(app, 50);
	ASSERT_INT_EQ(app_passive(app, &nlog), 0);
	ASSERT(nlog > 0);

	/* Moved to the WAL's end: the app backfills up to the new mark. */
	ASSERT_INT_EQ(dbconn_advance(&w.c), 1);
	ASSERT(pin_read_lock(&w) >= 1);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	first = app_passive(app, &nlog);
	ASSERT_INT_EQ(first, nlog);
	/* ... and no further, and its next write does not restart the WAL. */
	app_insert(app, 10);
	ASSERT_INT_EQ(app_passive(app, &nlog), first);
	ASSERT(nlog > first);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 0);

	/* All of the WAL is backfilled up to the mark and nothing is newer:
	 * a new pin would get read lock 0, under which the next write could
	 * restart the WAL. The pin stays where it is. */
	ASSERT_INT_EQ(dbconn_advance(&w.c), 1);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(app_passive(app, &nlog), nlog);
	int cur = w.c.cur;
	ASSERT_INT_EQ(dbconn_advance(&w.c), 0);
	ASSERT_INT_EQ(w.c.cur, cur);
	ASSERT(pin_read_lock(&w) >= 1);
	app_insert(app, 10);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(w.s.index, 0);

	/* The walreader's own checkpoint still seals and restarts it. */
	app_insert(app, 5);
	ASSERT_INT_EQ(walreader_checkpoint(&w, 100), SQLITE_OK);
	ASSERT_INT_EQ(w.s.index, 1);
	app_insert(app, 5);
	ASSERT_INT_EQ(shadow_copy(&w.s, NULL, NULL, reason), SHADOW_OK);
	ASSERT_INT_EQ(replay(base, w.s.gen, 0, 1), 80);
	ASSERT_INT_EQ(count_rows(dbpath), 80);
	shadow_close(&w.s);
	dbconn_close(&w.c);
	sqlite3_close(app);
	teardown();
}

int
main(void)
{
	log_init(LOG_LEVEL_WARN, LOG_FORMAT_TEXT, stderr);
	RUN(frames_reach_shadow_before_restart);
	RUN(small_and_large_growth_copy_alike);
	RUN(big_transaction_waits_for_its_commit);
	RUN(restart_left_for_the_next_writer);
	RUN(restart_without_a_blocking_checkpoint);
	RUN(long_reader_bounds_the_wait);
	RUN(restart_by_another_process_is_detected);
	RUN(snapshot_is_consistent_at_the_shadow_position);
	RUN(empty_index_needs_an_unchanged_database);
	RUN(unpublished_commit_is_not_copied);
	RUN(advanced_pin_lets_the_app_checkpoint_but_not_restart);
	return TEST_DONE();
}
