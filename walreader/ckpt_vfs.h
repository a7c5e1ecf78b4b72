/*
 * ckpt_vfs: a pass-through SQLite VFS for the walreader's connections that
 * reports when the checkpoint connection takes and releases SQLite's WAL
 * write lock, and which WAL read lock a pin's transaction holds.
 *
 * Why: the walreader keeps a read transaction open ("the pin") so that no
 * other connection can restart the WAL before its frames are in the shadow
 * log (design rule 1). Its own RESTART/TRUNCATE checkpoint needs that pin
 * gone, and the only moment the pin may go is while the checkpoint itself
 * holds the WAL write lock: then no writer can append a frame or restart the
 * WAL, so the walreader copies the WAL's tail, drops the pin, and takes it
 * again as soon as the checkpoint lets the write lock go. SQLite has no API
 * for "the checkpoint now holds the write lock"; the VFS's xShmLock sees it.
 * Nor is there one for "which read lock did this read transaction get",
 * which decides whether a pin keeps the WAL from restarting (dbconn.h):
 * the pin connections are opened on this VFS for that.
 */
#ifndef WALSHIP_CKPT_VFS_H
#define WALSHIP_CKPT_VFS_H

#include <sqlite3.h>

#define CKPT_VFS_NAME "walship-ckpt"

struct ckpt_vfs_hooks {
	/* Called right after the write lock was taken. */
	void (*write_locked)(void *arg);
	/* Called right after the write lock was released. */
	void (*write_unlocked)(void *arg);
	void *arg;
};

/* Registers the VFS (once per process). Returns an SQLite result code. */
int ckpt_vfs_register(void);
/* Arms (hooks != NULL) or disarms the hooks; only armed calls report. */
void ckpt_vfs_arm(const struct ckpt_vfs_hooks *hooks);
/*
 * Which of SQLite's WAL read locks DB (a connection opened on this VFS)
 * holds in its read transaction: 0 means it reads the database file alone
 * and no checkpoint may write to that file; 1 or more means a read mark,
 * past which no checkpoint may go and under which the WAL cannot restart.
 * -1 when it holds none (or DB is not on this VFS).
 */
int ckpt_vfs_read_lock(sqlite3 *db);

#endif
