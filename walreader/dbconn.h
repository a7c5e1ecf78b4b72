/*
 * dbconn: the walreader's connections to the database.
 *
 *  pin   holds a read transaction between checkpoints, so no other
 *        connection can restart the WAL under the walreader (rule 1);
 *        two connections take turns, so that the pin can move forward
 *        without ever letting go (dbconn_advance);
 *  ckpt  runs the walreader's own checkpoints, through the ckpt_vfs shim.
 *
 * All three have wal_autocheckpoint off and SQLITE_FCNTL_PERSIST_WAL on, so
 * that closing them never checkpoints or deletes the WAL behind the shadow
 * log.
 *
 * db_fd is a plain read-only descriptor on the database file, open as long
 * as the connections are, for snapshots. Nothing else in the process may
 * open and close the database file: closing any descriptor of a file drops
 * every POSIX lock the process holds on it, SQLite's shared lock included,
 * and the application's next close would then delete the WAL.
 */
#ifndef WALSHIP_DBCONN_H
#define WALSHIP_DBCONN_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct dbconn {
	sqlite3 *pins[2];        /* the pin moves between these two */
	sqlite3_stmt *pin_stmts[2];
	int cur;                 /* which of pins[] is the pin */
	sqlite3 *ckpt;
	bool pinned;
	uint32_t page_size;
	int db_fd;
	int shm_fd;   /* the wal-index (-shm), same rule as db_fd */
};

/* Opens both connections, puts the database in WAL mode if it is not. */
int dbconn_open(struct dbconn *c, const char *path);
void dbconn_close(struct dbconn *c);

int dbconn_pin(struct dbconn *c);
int dbconn_unpin(struct dbconn *c);

/*
 * Moves the pin to the WAL's current end without a moment unpinned: the
 * other pin connection starts a read transaction, and the old one ends only
 * if the new one holds a read mark (ckpt_vfs_read_lock >= 1). Below its mark
 * other connections may then checkpoint (an application's auto-checkpoint
 * does, concurrently with its writers) while the WAL still cannot restart;
 * a pin left on read lock 0 over a growing WAL instead makes every
 * auto-checkpoint attempt of the application sort the whole WAL's index
 * before giving up. The caller copies the WAL up to at least the new mark
 * before it cuts a snapshot (snapshot.h). Returns 1 when the pin moved, 0
 * when it stayed, -1 on error (the old pin stays).
 */
int dbconn_advance(struct dbconn *c);

/*
 * Moves the pin as dbconn_advance does, onto read lock 0 as well: for a
 * sealed shadow index whose every frame is in the database file already,
 * so that the next writer may start the WAL over without any checkpoint
 * holding writers off. Returns 1 when the new pin is on read lock 0, 0 when
 * it took a read mark (frames arrived: the WAL goes on), -1 on error (the
 * old pin stays).
 */
int dbconn_hand_over(struct dbconn *c);

/* The pin holds read lock 0 (see ckpt_vfs_read_lock): until it moves, each
 * auto-checkpoint attempt of the application costs it a sort of the WAL
 * index, so the walreader should advance it soon once the WAL has frames. */
bool dbconn_pin_on_lock0(const struct dbconn *c);

/*
 * Runs PRAGMA wal_checkpoint(MODE) on the ckpt connection; waits for busy
 * locks at most WAIT_MS in total (writers are blocked at most that long).
 * Returns the SQLite result code; NLOG and NCKPT as sqlite3_wal_checkpoint_v2.
 */
int dbconn_checkpoint(struct dbconn *c, int mode, int wait_ms, int *nlog,
    int *nckpt);

#endif
