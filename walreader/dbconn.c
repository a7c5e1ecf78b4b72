/*
 * dbconn: see dbconn.h. Busy waits are bounded everywhere: the pin's begin
 * may wait 100 ms for a WAL recovery by another process; the checkpoint waits
 * only as long as its caller allows.
 */
#include "dbconn.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckpt_vfs.h"
#include "log.h"

static int
open_one(const char *path, const char *vfs, sqlite3 **db)
{
	int one = 1;
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, vfs);
	if (rc != SQLITE_OK) {
		log_error("cannot open database", KV_S("path", path),
		    KV_ERRS(*db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc)));
		return -1;
	}
	sqlite3_extended_result_codes(*db, 1);
	if (sqlite3_file_control(*db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &one) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	return 0;
}

static int
ensure_wal_mode(struct dbconn *c, const char *path)
{
	sqlite3_stmt *st;
	char mode[32] = "";

	if (sqlite3_prepare_v2(c->pins[0], "PRAGMA journal_mode", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(mode, sizeof(mode), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (strcmp(mode, "wal") == 0)
		return 0;
	if (sqlite3_prepare_v2(c->pins[0], "PRAGMA journal_mode = wal", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	const char *now = rc == SQLITE_ROW ?
	    (const char *)sqlite3_column_text(st, 0) : NULL;
	int ok = now && strcmp(now, "wal") == 0;
	sqlite3_finalize(st);
	if (!ok) {
		log_error("cannot set database to WAL mode", KV_S("path", path),
		    KV_S("journal_mode", mode),
		    KV_ERRS(sqlite3_errmsg(c->pins[0])));
		return -1;
	}
	log_info("database set to WAL mode", KV_S("path", path),
	    KV_S("previous", mode));
	return 0;
}

static int
read_page_size(struct dbconn *c)
{
	sqlite3_stmt *st;
	int ps = 0;
	if (sqlite3_prepare_v2(c->pins[0], "PRAGMA page_size", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		ps = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0)
		return -1;
	c->page_size = (uint32_t)ps;
	return 0;
}

int
dbconn_open(struct dbconn *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->db_fd = c->shm_fd = -1;
	if (ckpt_vfs_register() != SQLITE_OK)
		return -1;
	/* The pins go through the ckpt VFS too: it tells which read lock
	 * a pin's transaction got (see dbconn_advance). */
	if (open_one(path, CKPT_VFS_NAME, &c->pins[0]) < 0)
		goto fail;
	if (ensure_wal_mode(c, path) < 0 || read_page_size(c) < 0)
		goto fail;
	if (open_one(path, CKPT_VFS_NAME, &c->pins[1]) < 0 ||
	    open_one(path, CKPT_VFS_NAME, &c->ckpt) < 0)
		goto fail;
	/* A connection finds out about WAL mode on its first read; until
	 * then a checkpoint on it is a silent no-op. */
	if (sqlite3_exec(c->ckpt, "SELECT 1 FROM sqlite_master LIMIT 1", NULL,
	    NULL, NULL) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < 2; i++) {
		sqlite3_busy_timeout(c->pins[i], 100);
		if (sqlite3_prepare_v2(c->pins[i],
		    "SELECT 1 FROM sqlite_master LIMIT 1", -1,
		    &c->pin_stmts[i], NULL) != SQLITE_OK)
			goto fail;
	}
	if ((c->db_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	/* The connections' first read created the -shm. */
	char shm[4200];
	snprintf(shm, sizeof(shm), "%s-shm", path);
	if ((c->shm_fd = open(shm, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	return 0;
fail:
	dbconn_close(c);
	return -1;
}

void
dbconn_close(struct dbconn *c)
{
	if (c->pinned)
		dbconn_unpin(c);
	for (int i = 0; i < 2; i++) {
		sqlite3_finalize(c->pin_stmts[i]);
		sqlite3_close(c->pins[i]);
	}
	sqlite3_close(c->ckpt);
	/* Only after SQLite let go of the file: see db_fd in dbconn.h. */
	if (c->db_fd >= 0)
		close(c->db_fd);
	if (c->shm_fd >= 0)
		close(c->shm_fd);
	memset(c, 0, sizeof(*c));
	c->db_fd = c->shm_fd = -1;
}

/* A read transaction on pin connection I. */
static int
begin_read(struct dbconn *c, int i)
{
	if (sqlite3_exec(c->pins[i], "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(c->pin_stmts[i]);
	sqlite3_reset(c->pin_stmts[i]);
	if ((rc != SQLITE_ROW && rc != SQLITE_DONE) ||
	    sqlite3_txn_state(c->pins[i], "main") != SQLITE_TXN_READ) {
		sqlite3_exec(c->pins[i], "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
dbconn_pin(struct dbconn *c)
{
	if (c->pinned)
		return 0;
	if (begin_read(c, c->cur) < 0)
		return -1;
	c->pinned = true;
	return 0;
}

int
dbconn_unpin(struct dbconn *c)
{
	if (!c->pinned)
		return 0;
	c->pinned = false;
	return sqlite3_exec(c->pins[c->cur], "ROLLBACK", NULL, NULL, NULL) ==
	    SQLITE_OK ? 0 : -1;
}

int
dbconn_hand_over(struct dbconn *c)
{
	if (!c->pinned)
		return -1;
	int next = 1 - c->cur;
	if (begin_read(c, next) < 0)
		return -1;
	sqlite3_exec(c->pins[c->cur], "ROLLBACK", NULL, NULL, NULL);
	c->cur = next;
	return ckpt_vfs_read_lock(c->pins[next]) < 1 ? 1 : 0;
}

int
dbconn_advance(struct dbconn *c)
{
	if (!c->pinned)
		return 0;
	int next = 1 - c->cur;
	if (begin_read(c, next) < 0)
		return -1;
	if (ckpt_vfs_read_lock(c->pins[next]) < 1) {
		/* Read lock 0 (the WAL was all checkpointed) does not keep
		 * a writer from restarting the WAL: keep the old pin. */
		sqlite3_exec(c->pins[next], "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	sqlite3_exec(c->pins[c->cur], "ROLLBACK", NULL, NULL, NULL);
	c->cur = next;
	return 1;
}

bool
dbconn_pin_on_lock0(const struct dbconn *c)
{
	return c->pinned && ckpt_vfs_read_lock(c->pins[c->cur]) == 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A busy handler with a deadline: SQLite retries while it returns 1. */
static int
bounded_busy(void *arg, int count)
{
	(void)count;
	if (now_ms() >= *(int64_t *)arg)
		return 0;
	usleep(1000);
	return 1;
}

int
dbconn_checkpoint(struct dbconn *c, int mode, int wait_ms, int *nlog,
    int *nckpt)
{
	int64_t deadline = now_ms() + wait_ms;
	sqlite3_busy_handler(c->ckpt, bounded_busy, &deadline);
	int rc = sqlite3_wal_checkpoint_v2(c->ckpt, "main", mode, nlog, nckpt);
	sqlite3_busy_handler(c->ckpt, NULL, NULL);
	return rc;
}
