/*
 * upl: what the uploader's files share. Not for other modules: they use
 * uploader.h.
 *
 *   uploader.c   uploader_main: arguments, config, signals, timers, loop
 *   upl_pos.c    comparing positions; whether the position file
 *                (replica/position.h) holds against the replica
 *   upl_view.c   what the shadow log holds: generation, indexes and their
 *                committed ends, the newest snapshot file
 *   upl_plan.c   which objects to write, in which order: a pure function
 *                of the view and the position
 *   upl_buf.c    frame batches received from the walreader, kept in memory
 *                while they are contiguous (the fast path)
 *   upl_store.c  writes segments and snapshots through the replica client
 *                (replica/client.h), finds the position on the replica
 *   upl_s3.c     the same for S3 replicas, asynchronously on the
 *                uploader's loop (s3/s3client.h)
 *   upl_spool.c  a compressed segment on its way to S3: memory up to a
 *                bound, a temporary file past it
 *   upl_scan.c   what an S3 listing and the newest segment say about the
 *                replica's position (pure)
 *   upl_sync.c   carries out a plan one object at a time, persists, ACKs,
 *                backs off on errors; the position at start-up
 *   upl_ipc.c    the sockets (frames in, acks and status out)
 *
 * Positions are Litestream's (generation, index, offset), offsets in the
 * uncompressed WAL of the index. A position (I, end of I) and (I+1, 0) are
 * the same point; the uploader keeps the former until I+1 has data.
 */
#ifndef WALSHIP_UPL_H
#define WALSHIP_UPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "position.h"

#define UPL_GEN_SIZE POSITION_GEN_SIZE
#define UPL_BUF_CAP (8u * 1024 * 1024)	/* frames kept in memory */
#define UPL_WHY_LEN 160

/* ---------------------------------------------------------------------
 * Positions and the position file
 * ------------------------------------------------------------------- */

/* Orders (ai, ao) and (bi, bo): -1, 0 or 1. */
int upl_pos_cmp(uint32_t ai, uint64_t ao, uint32_t bi, uint64_t bo);

/*
 * Whether a position file's position FILE can be believed given what the
 * replica shows for its generation (REP: gen "" when the replica holds no
 * object of it; snapshot whether it holds a snapshot). A replica emptied,
 * or stripped of the snapshot the file says it has, is believed instead.
 */
bool upl_pos_file_usable(const struct position *file,
    const struct position *rep);

/* ---------------------------------------------------------------------
 * The shadow log as the uploader sees it
 * ------------------------------------------------------------------- */

#define UPL_END_MISSING UINT64_MAX

struct upl_view {
	char gen[UPL_GEN_SIZE];	/* META/generation; "" = none */
	uint32_t lo;		/* lowest index with a shadow file */
	uint32_t n;		/* indexes lo .. lo+n-1 */
	uint64_t *end;		/* committed end of each (0: no frame yet;
				   UPL_END_MISSING: no file) */
	bool snap;		/* a snapshot file exists */
	uint32_t snap_index;	/* the newest one's position */
	uint64_t snap_offset;
};

/*
 * Loads the view of META. PREV (may be NULL or V itself is not allowed)
 * is the previous view: ends found there are where the scan of each file
 * resumes. Returns 0, or -1 with errno (logged).
 *
 * The end of an index is the end of its last commit frame that lies wholly
 * in the file and carries the header's salts. The walreader appends whole
 * commit batches, but a reader can see an append half done; scanning makes
 * any end the uploader acts on a commit boundary. Later indexes are scanned
 * before earlier ones, so an index seen complete (a later one has frames)
 * is scanned at its final size.
 */
int upl_view_load(struct upl_view *v, const char *meta,
    const struct upl_view *prev);
void upl_view_free(struct upl_view *v);
/* The end of INDEX in V, UPL_END_MISSING if V has no such index. */
uint64_t upl_view_end(const struct upl_view *v, uint32_t index);
/* True if V holds a frame past POS (in POS's generation). */
bool upl_view_ahead(const struct upl_view *v, const struct position *pos);

/*
 * Committed end of the shadow WAL open at FD, scanning frame headers from
 * FROM (0, or a known commit boundary). Returns 0 with *END set (0 when
 * no commit frame yet), or -1 with errno.
 */
int upl_scan_commit_end(int fd, uint64_t from, uint64_t *end);

/* ---------------------------------------------------------------------
 * The plan: what to write, in order
 * ------------------------------------------------------------------- */

enum upl_step_kind {
	UPL_STEP_SEGMENT = 1,	/* generations/G/wal/<index>_<from>.wal.lz4 */
	UPL_STEP_SNAPSHOT,	/* generations/G/snapshots/<index>.snapshot.lz4 */
};

struct upl_step {
	enum upl_step_kind kind;
	uint32_t index;
	uint64_t from;		/* segment: shadow bytes [from, to) */
	uint64_t to;		/* snapshot: the position it holds (offset) */
	struct position after;	/* the durable position once it is written */
};

enum upl_plan_status {
	UPL_PLAN_OK = 0,	/* steps to take (maybe none) */
	UPL_PLAN_NO_GENERATION,	/* the walreader has no generation yet */
	UPL_PLAN_NEED_SNAPSHOT,	/* a generation to start, no snapshot file */
	UPL_PLAN_STALLED,	/* the position is not in the shadow log */
};

struct upl_plan {
	enum upl_plan_status status;
	char gen[UPL_GEN_SIZE];
	bool start;		/* starts the generation at its snapshot */
	bool resync;		/* position lost: restarts at a later snapshot */
	size_t nsteps;
	struct upl_step *steps;
	char why[UPL_WHY_LEN];	/* for STALLED and resync */
};

/*
 * Plans the objects that take the replica from POS to the end of the
 * shadow log V. SNAPSHOT_WANTED asks for V's snapshot file to be uploaded
 * too (snapshot-interval). A pure function: the same inputs give the same
 * steps, so a repeat after a crash writes the same object names.
 * Returns 0 (P filled in; release with upl_plan_free), or -1 (ENOMEM).
 */
int upl_plan_make(const struct upl_view *v, const struct position *pos,
    bool snapshot_wanted, struct upl_plan *p);
void upl_plan_free(struct upl_plan *p);

/* ---------------------------------------------------------------------
 * Frames kept in memory
 * ------------------------------------------------------------------- */

struct upl_chunk;

struct upl_buf {
	char gen[UPL_GEN_SIZE];
	struct upl_chunk *head, *tail;
	size_t bytes, cap;
	uint64_t dropped;	/* times the buffer was given up */
};

void upl_buf_init(struct upl_buf *b, size_t cap);
void upl_buf_clear(struct upl_buf *b);
/*
 * Keeps a copy of shadow bytes [OFF, OFF+LEN) of (GEN, INDEX). A batch
 * that does not follow the tail (same index at its end, or the next index
 * at 0) starts the buffer over; one that would pass the cap empties it.
 * Returns 1 if kept, 0 if not, -1 (ENOMEM: the buffer is emptied).
 */
int upl_buf_add(struct upl_buf *b, const char *gen, uint32_t index,
    uint64_t off, const void *data, size_t len);
/* Drops what lies wholly before (INDEX, OFF) of GEN (everything if GEN
 * is another generation). */
void upl_buf_trim(struct upl_buf *b, const char *gen, uint32_t index,
    uint64_t off);
/*
 * Bytes at (GEN, INDEX, OFF) if held: returns a pointer with *AVAIL bytes
 * readable there, else NULL with *NEXT the offset of the next held byte of
 * that index after OFF (UINT64_MAX if none).
 */
const uint8_t *upl_buf_find(const struct upl_buf *b, const char *gen,
    uint32_t index, uint64_t off, size_t *avail, uint64_t *next);

/* ---------------------------------------------------------------------
 * Objects on the replica (upl_store.c)
 * ------------------------------------------------------------------- */

struct replica_client;
struct replica_obj;
struct lz4frame_writer;

/* Where an object write failed: the replica, or our own side (a shadow or
 * snapshot file that is gone or unreadable: plan again, no backoff). */
enum upl_fault {
	UPL_FAULT_NONE = 0,
	UPL_FAULT_REPLICA,
	UPL_FAULT_LOCAL,
};

/*
 * Writes segment step S of GEN: shadow bytes [from, to) of its index,
 * taken from BUF where it holds them and from META's shadow file
 * otherwise (fdatasync'ed first: nothing reaches the replica before it is
 * durable in the shadow log), LZ4-framed as Litestream does, atomically.
 * CHUNK (CHUNKLEN bytes) is scratch space; LZ is reset for the object
 * (lz4frame_writer_reset), so one writer serves every upload without its
 * buffers being allocated and faulted in again. *BYTES gets the object's
 * size. Returns 0, or -1 with errno, *FAULT and ERR (naming the object).
 */
int upl_put_segment(struct replica_client *c, const char *meta,
    const char *gen, const struct upl_buf *buf, const struct upl_step *s,
    uint8_t *chunk, size_t chunklen, struct lz4frame_writer *lz,
    uint64_t *bytes, enum upl_fault *fault, char *err, size_t errlen);

/*
 * Compresses shadow bytes [FROM, TO) of (GEN, INDEX) into LZ, taking them
 * from BUF where it holds them and from the shadow file otherwise (*FD:
 * opened and fdatasync'ed on first use, left open for the caller to close;
 * -1 before). Returns 0, or -1 with errno and, for a shadow file that
 * cannot be read, *FAULT UPL_FAULT_LOCAL and ERR; a failure of LZ or its
 * sink leaves *FAULT alone.
 */
int upl_feed_segment(struct lz4frame_writer *lz, const struct upl_buf *buf,
    const char *meta, const char *gen, uint32_t index, uint64_t from,
    uint64_t to, int *fd, uint8_t *chunk, size_t chunklen,
    enum upl_fault *fault, char *err, size_t errlen);

/* Copies the local snapshot file of step S (already LZ4 with Litestream's
 * parameters) byte for byte to generations/GEN/snapshots/<I>.snapshot.lz4.
 * Same results as upl_put_segment. */
int upl_put_snapshot(struct replica_client *c, const char *meta,
    const char *gen, const struct upl_step *s, uint64_t *bytes,
    enum upl_fault *fault, char *err, size_t errlen);

/*
 * The replica's position in GEN, found as Litestream finds it (format doc
 * §3.3): after the highest WAL segment, whose length is known only by
 * decompressing it; with no segment, (GEN, highest snapshot index, 0).
 * POS->snapshot says whether a snapshot exists (segments without one are a
 * generation start interrupted before its snapshot); no object at all is
 * no position (POS->gen ""). *SNAP_CREATED gets the newest snapshot's
 * time (ns since the epoch, 0 if none). 0, or -1 with errno and ERR.
 */
int upl_replica_position(struct replica_client *c, const char *gen,
    struct position *pos, int64_t *snap_created, char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * A compressed segment on its way to S3 (upl_spool.c)
 * ------------------------------------------------------------------- */

/*
 * Bytes written in order and read back once, in order. The first MAX
 * bytes live in memory; past that everything moves to an unnamed file in
 * DIR (O_TMPFILE, else a name unlinked at once), so memory never depends
 * on the size of what is spooled.
 */
struct upl_spool {
	const char *dir;	/* not owned */
	size_t max;
	uint8_t *mem;
	size_t cap;		/* of MEM */
	int fd;			/* >= 0 once spilled */
	uint64_t size;		/* bytes written */
	uint64_t rd;		/* bytes read back */
};

void upl_spool_init(struct upl_spool *sp, const char *dir, size_t max);
/* Appends. 0, or -1 with errno. */
int upl_spool_write(struct upl_spool *sp, const void *data, size_t len);
/* The bytes when they are all in memory (else NULL). */
const uint8_t *upl_spool_mem(const struct upl_spool *sp);
/* Reads the next bytes back: the count, 0 at the end, -1 with errno. */
ssize_t upl_spool_read(struct upl_spool *sp, void *buf, size_t len);
/* Frees memory and closes the file; the spool can be used again. */
void upl_spool_reset(struct upl_spool *sp);

/* ---------------------------------------------------------------------
 * The replica's position from an S3 listing (upl_scan.c), pure
 * ------------------------------------------------------------------- */

/* What listing generations/G/snapshots/ and generations/G/wal/ found. */
struct upl_scan {
	size_t nsnaps, nsegs;	/* objects with a valid name and size */
	uint32_t snap_index;	/* the highest snapshot index */
	int64_t snap_created;	/* the newest snapshot's time (ns), 0 none */
	uint32_t seg_index;	/* the highest segment (index, offset) */
	uint32_t seg_offset;
};

void upl_scan_init(struct upl_scan *sc);
/*
 * One listed entry: NAME is the key relative to the directory listed
 * (a prefix or a name that does not parse is ignored, as Litestream
 * ignores it, and so is an impossible SIZE). 1 if counted, else 0.
 */
int upl_scan_snapshot(struct upl_scan *sc, const char *name, int64_t size,
    int64_t created);
int upl_scan_wal(struct upl_scan *sc, const char *name, int64_t size);
/*
 * The position SC shows in GEN, as upl_replica_position finds it: no
 * object, no position (gen ""); segments: after the highest one, whose
 * decompressed length is SEG_LEN; else (highest snapshot index, 0).
 */
void upl_scan_position(const struct upl_scan *sc, const char *gen,
    uint64_t seg_len, struct position *pos);

/*
 * The decompressed length of an LZ4 frame stream fed in pieces (a segment
 * as it downloads), checked as the restore checks it (content checksum,
 * complete frames), with a fixed scratch buffer.
 */
struct upl_lz4count {
	void *dctx;		/* LZ4F_dctx */
	uint8_t *scratch;
	uint64_t in, out;
	size_t want;		/* liblz4's hint; 0 between frames */
	char err[128];
};

/* 0, or -1 (ENOMEM). */
int upl_lz4count_init(struct upl_lz4count *lc);
/* 0, or -1 with errno EBADMSG and lc->err (corrupt input). */
int upl_lz4count_feed(struct upl_lz4count *lc, const void *data, size_t len);
/* The stream ended: 0 with *LEN, or -1 (EBADMSG: empty or truncated). */
int upl_lz4count_finish(struct upl_lz4count *lc, uint64_t *len);
void upl_lz4count_free(struct upl_lz4count *lc);

/* ---------------------------------------------------------------------
 * The process (uploader.c, upl_sync.c, upl_ipc.c)
 * ------------------------------------------------------------------- */

struct cfg;
struct cfg_db;
struct cfg_replica;
struct event;
struct event_base;
struct msg;
struct nnev;
struct upl_s3;
struct s3client_stats;

#define UPL_CHUNK (1024 * 1024)		/* shadow bytes read at a time */
#define UPL_STATUS_EVERY_NS (2 * 1000000000LL)
#define UPL_ASK_AGAIN_NS (30 * 1000000000LL) /* unanswered snapshot asks */
#define UPL_BACKOFF_MAX_NS (60 * 1000000000LL)
#define UPL_STOP_TIMEOUT_S 10		/* final upload at SIGTERM */
#define UPL_STOP_SETTLE_NS (500 * 1000000LL) /* look again before leaving */
/* At start-up the walreader makes the first generation moments after the
 * uploader's first look, and its notice can come before the uploader's
 * socket is connected: look again this often, this many times, rather than
 * a whole sync-interval later. */
#define UPL_NOGEN_LOOK_MS 200
#define UPL_NOGEN_LOOKS 50

struct upl {
	struct cfg *cfg;
	const struct cfg_db *db;
	const struct cfg_replica *rep;
	uint32_t db_id, replica_id;
	const char *run;
	char pos_path[4200];
	mode_t file_mode, dir_mode;
	struct replica_client *client;	/* file replicas */
	struct upl_s3 *s3;		/* S3 replicas (upl_s3.c) */

	struct event_base *base;
	struct event *tick;	/* every sync-interval: upl_sync */
	struct event *kick;	/* upl_sync now (a message asked for it) */
	struct event *work;	/* one step of the plan per loop pass */
	struct event *beat;	/* status and ACK heartbeat */
	struct event *deadline;	/* bounds the final upload at shutdown */
	struct nnev *frames;	/* PULL from the walreader */
	struct nnev *acks;	/* PUSH to the walreader */
	struct nnev *status;	/* PUSH to the supervisor */

	struct position pos;	/* durable on the replica */
	bool pos_known;		/* loaded or found on the replica */
	bool pos_dirty;		/* advanced but not yet persisted */
	struct upl_view view;
	bool have_view;
	struct upl_plan plan;	/* being carried out while running */
	size_t step;
	bool running;
	bool inflight;		/* the step's object is being written (S3) */
	bool finding;		/* the position is being read (S3) */
	int64_t step_t0;	/* when the step began (monotonic) */
	bool again;		/* kicked while running: sync once more */
	struct upl_buf buf;
	uint8_t *chunk;		/* UPL_CHUNK bytes */
	struct lz4frame_writer *lz; /* every file upload's, reset for each */

	bool snap_wanted;	/* upload the snapshot file with the next plan */
	bool snap_asked;	/* asked the walreader, not answered yet */
	unsigned nogen_looks;	/* quick looks for a first generation */
	int64_t snap_asked_ns;	/* monotonic */
	int64_t last_snap_ns;	/* wall clock of the newest snapshot upload */

	unsigned fails;		/* failed uploads in a row */
	int64_t retry_ns;	/* no upload before this (monotonic) */
	int64_t next_plan_ns;	/* no new upload pass before this: one per
				 * sync-interval (monotonic) */
	int64_t behind_ns;	/* since when the shadow is ahead; 0 = not */
	enum upl_plan_status last_status;
	char last_why[UPL_WHY_LEN];

	uint64_t uploads, upload_errors, bytes;
	int64_t last_ok_wall_ns;	/* the last object written; 0 = none */
	char last_error[256];	/* one line, "" after a success */
	int64_t last_status_ns;
	bool ready_sent;
	bool stopping;
	int64_t stop_ns;	/* when stopping began (monotonic) */
};

/* upl_sync.c */
int64_t upl_now_ns(void);	/* CLOCK_MONOTONIC */
/* One sync: position (first time), view, plan; starts the steps. */
void upl_sync(struct upl *u);
/* Runs the next step of the plan (the work event). */
void upl_work(struct upl *u);
/*
 * The step started by upl_work ended: RC 0 (BYTES written) or -1 (errno
 * E, FAULT, ERR naming the object). Called at once for file replicas and
 * from the S3 client's completion for S3 replicas.
 */
void upl_step_end(struct upl *u, int rc, int e, enum upl_fault fault,
    uint64_t bytes, const char *err);
/*
 * The start-up position is known: the position file's FILE (NULL if
 * none) unless the replica's REP contradicts it (upl_pos_file_usable),
 * else REP; SNAP_CREATED the newest snapshot's time on the replica.
 */
void upl_position_known(struct upl *u, const struct position *file,
    const struct position *rep, int64_t snap_created);
/* Reading the start-up position from the replica failed (ERR). */
void upl_position_failed(struct upl *u, const char *gen, const char *err);
/* A message from the walreader. */
void upl_on_msg(struct upl *u, const struct msg *m);
/* SIGTERM/SIGINT/MSG_SHUTDOWN: upload what is there, bounded, then exit. */
void upl_stop(struct upl *u);
/* The last line: uploads and, for S3, requests per operation. */
void upl_log_stopped(const struct upl *u);
/* Every UPL_STATUS_EVERY_NS (sooner until READY went out). */
void upl_heartbeat(struct upl *u);

/*
 * upl_s3.c: an S3 replica on the uploader's loop, one operation at a time.
 * Results come back through upl_step_end and upl_position_known/failed,
 * always from the loop, never from inside the starting call.
 */
#define UPL_S3_SPOOL_MEM (4u << 20)	/* a segment kept in memory, bytes */
#define UPL_S3_SLICE (4u << 20)		/* shadow bytes compressed per pass */

/* The client on u->base, from the replica's config. 0, or -1 with ERR. */
int upl_s3_open(struct upl *u, char *err, size_t errlen);
/* Cancels what is in flight (no callback) and frees. */
void upl_s3_close(struct upl *u);
/* Starts writing step S of u->plan. 0, or -1 with errno, *FAULT, ERR
 * (nothing started: no upl_step_end follows). */
int upl_s3_put(struct upl *u, const struct upl_step *s,
    enum upl_fault *fault, char *err, size_t errlen);
/* Starts reading the position of GEN on the replica (format doc §3.3);
 * FILE is the position file's, or NULL. 0, or -1 with ERR. */
int upl_s3_find_position(struct upl *u, const char *gen,
    const struct position *file, char *err, size_t errlen);
/* s3://BUCKET/KEY of object O, for messages. */
const char *upl_s3_obj_name(const struct upl *u, const struct replica_obj *o,
    char *buf, size_t len);
/* The S3 client's request counters. */
const struct s3client_stats *upl_s3_stats(const struct upl *u);

/* upl_ipc.c: the only place that knows the sockets. */
int upl_ipc_open(struct upl *u);
void upl_ipc_close(struct upl *u);
/* Non-blocking: a refused send is simply repeated by the heartbeat. */
int upl_send_ack(struct upl *u, bool want_snapshot);
int upl_send_status(struct upl *u, const char *body, size_t len, bool ready);

#endif
