/*
 * wr: the walreader's state, shared by its files (walreader.c: main and
 * loop; sync.c: one sync pass, generations, checkpoints, snapshots,
 * trimming; wr_ipc.c: the sockets to uploaders and supervisor).
 */
#ifndef WALSHIP_WR_H
#define WALSHIP_WR_H

#include <stdbool.h>
#include <stdint.h>

#include "dbconn.h"
#include "msg.h"
#include "shadow.h"
#include "snapshot_file.h"

struct cfg;
struct cfg_db;
struct event_base;
struct nnev;

/* What the walreader knows of one replica (from its acknowledgements). */
struct wr_replica {
	const char *name;
	struct nnev *frames;     /* PUSH to its uploader */
	bool acked;              /* has acknowledged since we started */
	bool broken;             /* dropped at the shadow cap (rule 4) */
	int64_t broken_ns;       /* when */
	char gen[17];
	uint32_t index;
	uint64_t offset;
};

/* The modes of the walreader's checkpoints, counted apart in metrics.
 * PASSIVE: the WAL was all checkpointed without a blocking checkpoint. */
enum ckpt_mode { CKPT_TRUNCATE, CKPT_RESTART, CKPT_PASSIVE, CKPT_MODES };

struct wr {
	struct cfg *cfg;
	struct cfg_db *db;
	uint32_t db_id;
	/* Endpoint number of each replica, in config order (-replica-ids; the
	 * config index when not given): the supervisor keeps an uploader's
	 * number across reloads that add or remove other replicas. */
	uint32_t *replica_eps;
	const char *run;
	struct event_base *base;

	bool open;               /* database and shadow log are open */
	bool waiting_logged;
	struct dbconn conn;
	struct shadow shadow;
	struct snapshot_info snap;
	bool have_snap;
	bool snapshot_wanted;
	uint64_t snap_wal_mark;  /* wal_bytes_copied at the last snapshot */
	bool cap_hit;            /* over the cap with no replica to blame, logged */
	bool broken_back;        /* a broken replica acknowledged again */

	struct wr_replica *replicas;
	struct nnev **frames;    /* replicas[i].frames, for one-encode sends */
	size_t nreplicas;
	struct nnev *acks;       /* PULL from uploaders */
	struct nnev *status;     /* PUSH to the supervisor */
	bool ready_sent;
	int64_t last_status_ns;
	/* Frame batches are announced to the uploaders at most once per
	 * notice gap (the shortest sync-interval less the uploaders' slack,
	 * see wr_notice_gap). A batch copied sooner (a pass right after a
	 * checkpoint) is owed: the next pass announces it, else a pass at
	 * wr_notice_due. An uploader told sooner than its own gap would
	 * defer its pass to the gap's end, and every later pass with it. */
	int64_t notice_gap_ns;
	int64_t last_notice_ns;
	bool notice_owed;
	struct msg owed;         /* header only: an in-shadow batch */
	int64_t last_ckpt_ns;
	int64_t gen_started_ns;  /* this process began the generation or
				    opened it */
	int64_t ckpt_not_before_ns; /* back-off after a checkpoint gave up */
	int64_t ckpt_backoff_ns;
	bool ckpt_locked;        /* this checkpoint held SQLite's write lock */
	/* After a RESTART checkpoint the WAL keeps its frames until the next
	 * writer starts it over: until the wal-index shows other salts than
	 * these, its frames are all in the database and count for nothing. */
	bool restart_waiting;
	uint8_t restart_salts[8];
	uint32_t restart_mx_frame; /* its end then: a writer that could not
				      start over (another reader's mark)
				      appends to it instead */
	/* The WAL's last seen end (wal-index mxFrame and salts) and since when
	 * it has not moved: a WAL that stays put is done with its burst. */
	uint32_t seen_mx_frame;
	uint8_t seen_salts[8];
	int64_t wal_still_since_ns;

	/* Figures for status and metrics. */
	uint64_t wal_bytes_copied;
	uint64_t checkpoints[CKPT_MODES];
	uint64_t checkpoint_busy;
	uint64_t generations;
	uint64_t sends_dropped;
	uint64_t replicas_broken;
	uint64_t checkpoint_ns[CKPT_MODES]; /* in checkpoints that succeeded */
	uint64_t syncs;
	int64_t last_sync_wall_ns; /* end of the last pass that copied */
};

int64_t wr_now_ns(void);
/* A change should be synced without waiting for the gap between syncs
 * (walreader.c): the WAL has passed the max checkpoint threshold, or the
 * pin is still on read lock 0 (dbconn_pin_on_lock0), as after each of
 * the walreader's checkpoints. */
bool wr_sync_soon(struct wr *w);
/* The least time between two frame notices, for replicas whose shortest
 * sync-interval is SHORTEST (0: none set). */
int64_t wr_notice_gap(int64_t shortest);
/* When an owed frame notice is due; INT64_MAX when none is owed. */
int64_t wr_notice_due(const struct wr *w);
void wr_sync(struct wr *w);
void wr_close(struct wr *w);

int wr_ipc_open(struct wr *w);
void wr_ipc_close(struct wr *w);
/* Non-blocking: a full pipe drops the message (the shadow log has it). */
void wr_send_all(struct wr *w, struct msg *m);
void wr_send_status(struct wr *w);
void wr_on_ack(struct wr *w, const struct msg *m);

#endif
