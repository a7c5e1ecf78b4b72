/*
 * walindex: how far the WAL is published, read from SQLite's wal-index
 * (the -shm file).
 *
 * A commit is part of the database only once its writer has published it in
 * the wal-index header (mxFrame). A writer killed between writing its commit
 * frame and publishing it leaves frames in the -wal that pass every salt and
 * checksum check, yet no connection sees them and the next writer overwrites
 * them. Copying by checksums alone would replicate a transaction that never
 * happened and then skip the frames that replace it; the walreader copies
 * only up to mxFrame. The header layout is SQLite's documented wal-index
 * format: two copies of a 48-byte header, each with a checksum.
 *
 * The descriptor must stay open as long as SQLite's connections are: see
 * db_fd in dbconn.h for why closing a descriptor of a locked file is fatal.
 */
#ifndef WALSHIP_WALINDEX_H
#define WALSHIP_WALINDEX_H

#include <stdint.h>

enum walindex_result {
	WALINDEX_ERROR = -1,   /* unreadable or never consistent */
	WALINDEX_OK = 0,       /* *mx_frame is the published frame count */
	WALINDEX_OTHER_WAL = 1, /* the index describes a WAL with other salts */
};

/*
 * Reads the published frame count of the WAL whose header salts (8 bytes,
 * as in the WAL header at offset 16) are SALTS.
 */
enum walindex_result walindex_mx_frame(int shm_fd, const uint8_t salts[8],
    uint32_t *mx_frame);

/* Whatever WAL the index describes now. */
struct walindex_state {
	uint32_t mx_frame;      /* frames published */
	uint32_t backfilled;    /* of them, in the database file (nBackfill) */
	uint8_t salts[8];
};

/*
 * Reads ST. For decisions that a later step confirms (sizes, whether a
 * WAL is all checkpointed); copying goes by walindex_mx_frame. nBackfill
 * is read without SQLite's checkpoint lock: it may grow meanwhile.
 */
enum walindex_result walindex_now(int shm_fd, struct walindex_state *st);

#endif
