/*
 * shadow: the walreader's shadow log, the durability point of design.md.
 *
 * The layout is Litestream v0.3.13's meta directory, so either tool can pick
 * up the other's local state (format doc §2.1):
 *   META/generation                       "<16 hex>\n"
 *   META/generations/<G>/wal/<I>.wal      WAL header + committed frames of
 *                                         WAL index I, byte-identical to what
 *                                         the replica holds for I
 *   META/generations/<G>/snapshots/...    snapshots (snapshot.h)
 *
 * Only committed, checksum-verified frames that SQLite has published in the
 * wal-index (walindex.h) are appended, and each batch is fsynced before
 * shadow_copy returns (rule 1).
 *
 * Continuity (rule 6). The walreader pins the WAL with a read transaction,
 * so the WAL can only restart through its own checkpoint, during which it
 * copies the WAL's tail while the checkpoint holds SQLite's write lock and
 * then "seals" index I by creating an empty file for I+1. A new WAL header
 * is accepted as index I+1 only when I was sealed and either the walreader
 * has held its pin ever since (pinned_since_seal: with the pin held the WAL
 * cannot restart a second time: on read lock 0 nothing can be checkpointed,
 * and a read mark keeps every restart out; dbconn.h), or, for
 * state found on disk at start-up, the header's salt-1 is salt-1 of I plus
 * one. (SQLite adds one to salt-1 at each restart, but a writer whose
 * connection never restarted the WAL itself writes random salts instead, so
 * a missing +1 is not proof of a second restart: it only means continuity
 * cannot be proven.) A sealed index whose WAL was not restarted after all
 * (the WAL has frames past the index) is unsealed and appended to again; a
 * WAL that holds no more than the sealed index is one a RESTART checkpoint
 * left for its next writer to start over, and the index stays sealed.
 * Anything else
 * (a different header, a shorter WAL, a changed last frame, a WAL that is
 * gone) means frames may be missing: shadow_copy asks for a new generation.
 */
#ifndef WALSHIP_SHADOW_H
#define WALSHIP_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHADOW_REASON_LEN 128

struct shadow {
	char *meta;           /* meta directory */
	char *wal_path;       /* the database's -wal */
	char gen[17];         /* current generation, "" when none */
	uint32_t index;       /* current shadow index */
	int fd;               /* shadow file of index, -1 when closed */
	uint64_t size;        /* bytes in it */
	uint8_t hdr[32];      /* its WAL header, valid when size >= 32 */
	uint32_t ck[2];       /* cumulative checksum at size */
	uint32_t page_size;
	bool sealed;          /* index is an empty file after a sealed index */
	bool pinned_since_seal; /* set by the walreader, see above */
	uint32_t sealed_salt1;/* salt-1 of the sealed index */
	char *db_path;
	int wal_fd;           /* the -wal, kept open while its inode stays */
	uint32_t trimmed_below; /* no shadow file below this index is left */
	uint64_t older_bytes; /* bytes of the generation's earlier indexes */
	int shm_fd;           /* the wal-index, or -1: see walindex.h */
	bool startup_checked; /* the first copy after open has vouched */
	char mark[160];       /* the last db.mark written or read */
	mode_t file_mode;     /* the database file's mode, for our files */
	mode_t dir_mode;      /* the database directory's mode */
};

/* Called with bytes appended to the shadow of INDEX at OFF (fsynced). */
typedef void (*shadow_append_cb)(void *arg, uint32_t index, uint64_t off,
    const uint8_t *buf, size_t len, uint32_t nframes);

enum shadow_status {
	SHADOW_ERROR = -1,
	SHADOW_OK = 0,
	SHADOW_NEED_GENERATION = 1, /* reason filled in */
};

/*
 * Opens the shadow state of DB_PATH in META (created if missing). Loads the
 * current generation and its latest index, if any. Does not look at the WAL
 * yet: shadow_copy does, and says when continuity is lost.
 */
int shadow_open(struct shadow *s, const char *meta, const char *db_path,
    uint32_t page_size);
void shadow_close(struct shadow *s);

/* Starts a new generation: a new name, index 0 empty, the generation file
 * written atomically, other generations' directories removed. */
int shadow_new_generation(struct shadow *s);

/*
 * Copies the WAL's new committed frames into the shadow log, following WAL
 * restarts that continuity allows. CB (may be NULL) sees every appended
 * range. Returns SHADOW_OK, SHADOW_NEED_GENERATION with REASON, or
 * SHADOW_ERROR (errno; logged).
 */
enum shadow_status shadow_copy(struct shadow *s, shadow_append_cb cb,
    void *arg, char reason[SHADOW_REASON_LEN]);

/* Seals the current index after the checkpoint copied its last frame. */
int shadow_seal(struct shadow *s);

/* The WAL was not restarted after a seal (the checkpoint gave up): append
 * to the sealed index again. */
int shadow_unseal(struct shadow *s);

/* Records the database file's state in db.mark when the current index is
 * empty (see above); a no-op otherwise or when unchanged. */
void shadow_record_mark(struct shadow *s);

/* Deletes shadow files of the generation with index < BELOW. */
void shadow_trim(struct shadow *s, uint32_t below);
/* Bytes held by the current generation's shadow files (from index FROM). */
uint64_t shadow_bytes(const struct shadow *s);
uint64_t shadow_bytes_from(const struct shadow *s, uint32_t from);

/* META/generations/<gen>/wal/<index>.wal into BUF. */
int shadow_wal_path(const char *meta, const char *gen, uint32_t index,
    char *buf, size_t len);
/* META/generations/<gen> into BUF. */
int shadow_gen_dir(const char *meta, const char *gen, char *buf, size_t len);

#endif
