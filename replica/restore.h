/*
 * restore: rebuilds a database from replicas written by walship or by
 * Litestream v0.3.13 (format doc §4), and the listings behind the
 * generations / snapshots / wal commands.
 *
 * Choosing what to restore (restore_plan):
 *   - Every generation of every client (or only opts->generation) has
 *     bounds: start/end = earliest/latest created time of its snapshots and
 *     WAL segments (§4.1 step 3).
 *   - Without a timestamp the generation with the latest end wins; on a tie
 *     the first client, then the first generation by name.
 *   - With a timestamp T, a generation matches if start <= T, even when
 *     T > end, and the one whose latest object at or before T is newest
 *     wins: the latest state at or before T (Litestream instead requires
 *     start <= T <= end).
 *   - Snapshot: with an index limit N the highest index <= N, with T the
 *     highest index created at or before T, else the highest index.
 *   - Segments: every segment from the snapshot index on; with N up to
 *     index N (with an offset O too, only the segments of N starting
 *     below O); with T up to the last segment (in index, offset order)
 *     whose created time is <= T. Segments of indexes below the snapshot are
 *     never needed and never looked at.
 *   - Every index from the snapshot's to the last one applied must start
 *     with an offset-0 segment; its segments must be contiguous (offset =
 *     previous offset + previous decompressed length), hold whole frames
 *     whose salts match the index's WAL header and whose checksums chain
 *     from segment to segment. Anything else fails the restore with the key
 *     of the missing or bad object, instead of silently restoring less.
 *
 * Writing the output (restore_run): refuse if the output exists, build the
 * database in a private temporary directory next to it (same filesystem):
 * the snapshot is streamed there, WAL indexes are downloaded by a pool of
 * threads into per-index files and applied strictly in order by making
 * each the database's -wal and running PRAGMA wal_checkpoint(TRUNCATE).
 * The result is in WAL mode (header bytes 18-19 = 2) like Litestream's,
 * optionally passes PRAGMA integrity_check, is fsynced and renamed to the
 * output without replacing anything, and the temporary directory is
 * removed. A failed restore leaves nothing at the output path and no
 * temporary files. Memory does not depend on database size: everything
 * streams through fixed buffers.
 */
#ifndef WALSHIP_RESTORE_H
#define WALSHIP_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

/* restore_run / restore_plan: no generation matched (not an I/O error). */
#define RESTORE_NO_BACKUPS (-2)
/* restore_opts.timestamp when there is none. */
#define RESTORE_TS_NONE INT64_MIN
#define RESTORE_DEFAULT_PARALLELISM 8

struct restore_opts {
	struct replica_client **clients;	/* in config order */
	size_t nclients;
	const char *output;		/* path of the database to create */
	const char *generation;		/* NULL: any */
	int64_t index;			/* last WAL index to apply, -1: none */
	int64_t offset;			/* with index: stop that index at the
					   segment starting at this offset
					   (the state at (index, offset)),
					   -1: the whole index */
	int64_t timestamp;		/* ns since the epoch, or RESTORE_TS_NONE */
	int parallelism;		/* download threads (<= 0: default,
					   at most 64) */
	bool if_db_not_exists;		/* output exists: log, succeed */
	bool if_replica_exists;		/* no backups: log (still returns
					   RESTORE_NO_BACKUPS) */
	bool integrity_check;		/* PRAGMA integrity_check before the
					   rename */
};

/* One generation of a replica: its bounds and objects, sorted. */
struct restore_generation {
	char name[LAYOUT_GEN_LEN + 1];
	int64_t start;			/* ns; 0 if it holds nothing */
	int64_t end;
	struct replica_snapshot *snapshots;
	size_t nsnapshots;
	struct replica_wal_segment *segments;
	size_t nsegments;
};

/* What restore_plan chose. */
struct restore_plan {
	struct replica_client *client;
	char gen[LAYOUT_GEN_LEN + 1];
	struct replica_snapshot snapshot;
	struct replica_wal_segment *segments;	/* to apply, in order */
	size_t nsegments;
	uint32_t index_min;		/* = snapshot.index */
	uint32_t index_max;		/* last index applied (if nsegments) */
};

/* Defaults: no generation, index and offset -1, no timestamp,
 * parallelism 8. */
void restore_opts_init(struct restore_opts *o);

/*
 * Restores as described above. Returns 0 (also when if_db_not_exists
 * skipped it), RESTORE_NO_BACKUPS with ERR "no matching backups found", or
 * -1 with ERR saying what failed (naming the object key when one is
 * missing or bad).
 */
int restore_run(const struct restore_opts *o, char *err, size_t errlen);

/* Chooses replica, generation, snapshot and segments. Same returns. */
int restore_plan(const struct restore_opts *o, struct restore_plan *p,
    char *err, size_t errlen);
void restore_plan_clear(struct restore_plan *p);

/* Lists one generation of C with its bounds. Returns 0 or -1 (ERR). */
int restore_list_generation(struct replica_client *c, const char *gen,
    struct restore_generation *g, char *err, size_t errlen);
/* Every generation of C, sorted by name. *OUT is malloc'd. */
int restore_list_generations(struct replica_client *c,
    struct restore_generation **out, size_t *n, char *err, size_t errlen);
void restore_generation_clear(struct restore_generation *g);
void restore_generations_free(struct restore_generation *g, size_t n);

#endif
