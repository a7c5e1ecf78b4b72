/*
 * sync: one pass of the walreader, every monitor-interval.
 *
 *  1. open the database once it exists (WAL mode, pin, shadow state);
 *  2. move the pin to the WAL's end (dbconn_advance), then copy new
 *     committed frames into the shadow log, telling uploaders;
 *  3. start a new generation when continuity is lost (rule 6): shadow
 *     index 0 takes the current WAL, then a snapshot is cut;
 *  4. checkpoint with Litestream's thresholds and a bounded wait (writers
 *     are never blocked for long by a long reader): a PASSIVE pass first,
 *     which writers do not wait for and which often leaves the WAL ready
 *     to start over with nothing blocking; else RESTART while the WAL
 *     fills its file, TRUNCATE once it no longer does (the -wal shrinks
 *     after a burst);
 *  5. cut a snapshot when an uploader asked for one, or when the WAL
 *     written since the last one outgrows snapshot-wal-bytes and the
 *     database itself (restores stay short: Litestream #266);
 *  6. trim the shadow log below what every replica has acknowledged, and
 *     enforce shadow-max-size (rule 4);
 *  7. report status to the supervisor.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt_vfs.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "sqlitewal.h"
#include "walindex.h"
#include "wr.h"

/* Litestream's fixed rule: a WAL this many pages long is always truncated. */
#define HARD_CHECKPOINT_PAGES 500000
/* How long a checkpoint may hold SQLite's write lock waiting for readers. */
#define WAIT_MIN_MS 50
#define WAIT_MAX_MS 500
#define WAIT_HARD_MS 2000
/* How long the PASSIVE pass before each checkpoint tries for its lock. */
#define PASSIVE_TRY_NS (50 * 1000000LL)
/* PASSIVE passes after the first, to find the WAL all checkpointed. */
#define SOFT_RESTART_TRIES 2
#define STATUS_EVERY_NS (2 * NS_PER_SEC)
/* After a checkpoint gave up on a reader, wait this long (doubling to the
 * cap) before trying again, so writers are not made to wait over and over
 * while the reader lasts. */
#define CKPT_BACKOFF_MIN_NS (1 * NS_PER_SEC)
#define CKPT_BACKOFF_MAX_NS (30 * NS_PER_SEC)
/* A replica that has said nothing this long into a generation is counted
 * as needing all of it when the shadow log is over its cap. */
#define CAP_SILENT_NS (10 * NS_PER_SEC)

int64_t
wr_now_ns(void)
{
	return clock_mono_ns();
}

static void
fill_gen(struct msg *m, const char *gen)
{
	memset(m->generation, 0, sizeof(m->generation));
	if (gen[0])
		(void)msg_gen_from_hex(gen, m->generation);
}

int64_t
wr_notice_gap(int64_t shortest)
{
	return cfg_upload_gap(shortest);
}

int64_t
wr_notice_due(const struct wr *w)
{
	return w->notice_owed ? w->last_notice_ns + w->notice_gap_ns :
	    INT64_MAX;
}

static void
send_notice(struct wr *w, struct msg *m)
{
	w->notice_owed = false;
	w->last_notice_ns = wr_now_ns();
	wr_send_all(w, m);
}

/* Shadow append callback: a frame batch for every uploader. */
static void
on_append(void *arg, uint32_t index, uint64_t off, const uint8_t *buf,
    size_t len, uint32_t nframes)
{
	struct wr *w = arg;
	w->wal_bytes_copied += len;
	struct msg m = {
		.type = MSG_FRAMES,
		.db_id = w->db_id,
		.index = index,
		.page_size = w->shadow.page_size,
		.offset = off,
		.frame_count = nframes,
		.payload = buf,
		.payload_len = (uint32_t)len,
	};
	bool owe = wr_now_ns() - w->last_notice_ns < w->notice_gap_ns;
	fill_gen(&m, w->shadow.gen);
	if (buf == NULL || len > MSG_MAX_PAYLOAD || owe) {
		/* Too big for one message, or owed: uploaders read the
		 * shadow, told now or by a later notice. */
		m.flags = MSG_F_IN_SHADOW;
		m.payload = NULL;
		m.payload_len = 0;
		m.value = len;
	}
	if (owe) {
		w->owed = m;
		w->notice_owed = true;
		return;
	}
	send_notice(w, &m);
}

/* ALL: every uploader uploads it, not only those that asked. */
static void
announce_snapshot(struct wr *w, bool all)
{
	struct msg m = {
		.type = MSG_SNAPSHOT,
		.db_id = w->db_id,
		.flags = all ? MSG_F_ALL_REPLICAS : 0,
		.index = w->snap.index,
		.page_size = w->shadow.page_size,
		.offset = w->snap.offset,
		.value = (uint64_t)clock_wall_ns(),
	};
	fill_gen(&m, w->shadow.gen);
	wr_send_all(w, &m);
}

static int
cut_snapshot(struct wr *w, bool all)
{
	if (snapshot_file_write(&w->shadow, w->conn.db_fd, &w->snap) < 0)
		return -1;
	w->have_snap = true;
	w->snapshot_wanted = false;
	w->snap_wal_mark = w->wal_bytes_copied;
	log_info("snapshot written", KV_S("generation", w->shadow.gen),
	    KV_U("index", w->snap.index), KV_U("offset", w->snap.offset),
	    KV_U("sz", w->snap.lz4_bytes));
	announce_snapshot(w, all);
	return 0;
}

static int
new_generation(struct wr *w, const char *reason)
{
	char why[SHADOW_REASON_LEN];
	if (shadow_new_generation(&w->shadow) < 0)
		return -1;
	w->generations++;
	w->gen_started_ns = wr_now_ns();
	w->have_snap = false;
	w->cap_hit = false;
	w->notice_owed = false; /* the old generation's: MSG_GENERATION says it */
	/* Every replica starts the new generation from its snapshot, the
	 * broken ones too. */
	for (size_t i = 0; i < w->nreplicas; i++) {
		w->replicas[i].acked = false;
		w->replicas[i].broken = false;
	}
	log_info("sync: new generation", KV_S("generation", w->shadow.gen),
	    KV_S("reason", reason));
	struct msg m = { .type = MSG_GENERATION, .db_id = w->db_id,
		.page_size = w->shadow.page_size };
	fill_gen(&m, w->shadow.gen);
	wr_send_all(w, &m);
	if (shadow_copy(&w->shadow, on_append, w, why) != SHADOW_OK) {
		log_error("cannot start generation from the wal",
		    KV_S("reason", why));
		return -1;
	}
	return cut_snapshot(w, false);
}

static int
open_database(struct wr *w)
{
	struct stat st;
	if (stat(w->db->path, &st) < 0) {
		if (!w->waiting_logged)
			log_info("waiting for database to exist",
			    KV_S("path", w->db->path));
		w->waiting_logged = true;
		return -1;
	}
	if (dbconn_open(&w->conn, w->db->path) < 0)
		return -1;
	if (shadow_open(&w->shadow, w->db->meta_path, w->db->path,
	    w->conn.page_size) < 0 || dbconn_pin(&w->conn) < 0) {
		dbconn_close(&w->conn);
		return -1;
	}
	w->shadow.shm_fd = w->conn.shm_fd;
	w->open = true;
	w->last_ckpt_ns = wr_now_ns();
	w->gen_started_ns = wr_now_ns();
	log_info("initialized db", KV_S("path", w->db->path),
	    KV_S("generation", w->shadow.gen[0] ? w->shadow.gen : "none"));
	return 0;
}

/* The checkpoint holds SQLite's write lock: copy the rest, seal, unpin. */
static void
hook_write_locked(void *arg)
{
	struct wr *w = arg;
	char why[SHADOW_REASON_LEN];
	w->ckpt_locked = true;
	if (shadow_copy(&w->shadow, on_append, w, why) == SHADOW_OK &&
	    shadow_seal(&w->shadow) == 0)
		dbconn_unpin(&w->conn);
}

static void
hook_write_unlocked(void *arg)
{
	struct wr *w = arg;
	if (!w->conn.pinned && dbconn_pin(&w->conn) == 0)
		w->shadow.pinned_since_seal = w->shadow.sealed;
}

/*
 * The WAL's size in frames: those it holds that a checkpoint still has to
 * deal with, and those its file has room for. After a RESTART the file
 * keeps its size while the WAL starts over from its first frame, so the
 * thresholds count frames (the wal-index's mxFrame), not the file. False
 * if there is no WAL file to speak of. Also notes when the WAL's end last
 * moved (wal_still_since_ns), for checkpoint_wait_ms's idle rule.
 */
static bool
wal_pages(struct wr *w, uint64_t *frames, uint64_t *room)
{
	uint64_t fsz = 24 + (uint64_t)w->conn.page_size;
	struct walindex_state wi;
	struct stat st;
	char wal[4200];

	snprintf(wal, sizeof(wal), "%s-wal", w->db->path);
	if (stat(wal, &st) < 0 || st.st_size <= 32)
		return false;
	*room = ((uint64_t)st.st_size - 32) / fsz;
	*frames = *room;
	if (walindex_now(w->conn.shm_fd, &wi) != WALINDEX_OK)
		return true;
	if (wi.mx_frame != w->seen_mx_frame ||
	    memcmp(wi.salts, w->seen_salts, 8) != 0) {
		w->seen_mx_frame = wi.mx_frame;
		memcpy(w->seen_salts, wi.salts, 8);
		w->wal_still_since_ns = wr_now_ns();
	}
	if (w->restart_waiting && memcmp(wi.salts, w->restart_salts, 8) == 0 &&
	    wi.mx_frame == w->restart_mx_frame)
		wi.mx_frame = 0;
	else
		w->restart_waiting = false;
	if (wi.mx_frame < *room)
		*frames = wi.mx_frame;
	return true;
}

static int
checkpoint_wait_ms(struct wr *w)
{
	uint64_t pages, room;

	if (!wal_pages(w, &pages, &room))
		return 0;
	int64_t now = wr_now_ns();
	int64_t since = now - w->last_ckpt_ns;
	/* A file left large by a burst, holding a WAL well below its size
	 * that has not moved for a monitor-interval: the burst is over and
	 * TRUNCATE gives the space back (checkpoint_mode picks it), whatever
	 * the thresholds say of the few frames left. */
	if (pages * 2 < room && since >= w->db->monitor_interval &&
	    now - w->wal_still_since_ns >= w->db->monitor_interval)
		return WAIT_MIN_MS;
	if (pages == 0)
		return 0;
	if (pages >= HARD_CHECKPOINT_PAGES)
		return WAIT_HARD_MS;
	if (w->db->max_checkpoint_page_count > 0 &&
	    pages >= (uint64_t)w->db->max_checkpoint_page_count)
		return WAIT_MAX_MS;
	/* Below the max threshold a checkpoint waits for the monitor-interval
	 * since the last one, as Litestream's checks run once per interval:
	 * a pass woken by every change would otherwise checkpoint under a
	 * busy writer many times a second, each a short stall of the writer
	 * and a new WAL index (one more replica object per index). */
	if (since < w->db->monitor_interval)
		return 0;
	if (pages >= (uint64_t)w->db->min_checkpoint_page_count)
		return WAIT_MIN_MS;
	/* Litestream asks for more than one frame: its own write leaves one
	 * in every WAL. walship writes none, so one frame is the application's. */
	if (w->db->checkpoint_interval > 0 &&
	    since >= w->db->checkpoint_interval)
		return WAIT_MIN_MS;
	return 0;
}

bool
wr_sync_soon(struct wr *w)
{
	return w->open && (dbconn_pin_on_lock0(&w->conn) ||
	    checkpoint_wait_ms(w) >= WAIT_MAX_MS);
}

/*
 * One checkpoint within WAIT_MS. SQLite gives up at once when another
 * connection holds its checkpoint lock (an application's auto-checkpoint
 * does, after nearly every commit of a busy writer), so attempts repeat
 * until the write lock is ours or the time is up. Only a checkpoint that
 * held the write lock and still gave up waited on a reader: that one backs
 * off (1 s doubling to 30 s) so writers are not made to wait again and again
 * while the reader lasts; losing the race for the locks to writers costs
 * nobody anything and is retried at the next sync.
 */
/*
 * Copies the WAL up to its end and checkpoints it PASSIVE: the database
 * file takes the WAL's frames while writers go on, so the checkpoint that
 * then holds their lock has only what they wrote since to deal with (on a
 * busy writer, a tenth of the frames or less). An application's own
 * auto-checkpoint holds the checkpoint lock for moments at a time, hence
 * the retries. False if the copy found something wrong: the next sync's
 * copy says what.
 */
static const char *
mode_name(int mode)
{
	return mode == SQLITE_CHECKPOINT_RESTART ? "RESTART" : "TRUNCATE";
}

static bool
backfill_first(struct wr *w)
{
	char why[SHADOW_REASON_LEN];
	int64_t until = wr_now_ns() + PASSIVE_TRY_NS;
	int nlog, nckpt;

	if (dbconn_advance(&w->conn) < 0 ||
	    shadow_copy(&w->shadow, on_append, w, why) != SHADOW_OK)
		return false;
	while (dbconn_checkpoint(&w->conn, SQLITE_CHECKPOINT_PASSIVE, 0, &nlog,
	    &nckpt) == SQLITE_BUSY && wr_now_ns() < until)
		usleep(200);
	return true;
}

/* The WAL now waits for its next writer to start it over (wal_pages). */
static void
await_restart(struct wr *w)
{
	struct walindex_state wi;

	w->restart_waiting = walindex_now(w->conn.shm_fd, &wi) == WALINDEX_OK;
	if (w->restart_waiting) {
		memcpy(w->restart_salts, wi.salts, 8);
		w->restart_mx_frame = wi.mx_frame;
	}
}

/* Every frame the WAL has published is in the shadow log and in the
 * database file. */
static bool
wal_all_in(struct wr *w)
{
	struct walindex_state wi;

	return w->shadow.size > SQLITEWAL_HDR_SIZE &&
	    walindex_now(w->conn.shm_fd, &wi) == WALINDEX_OK &&
	    memcmp(wi.salts, w->shadow.hdr + 16, 8) == 0 &&
	    wi.mx_frame > 0 && wi.backfilled == wi.mx_frame &&
	    SQLITEWAL_HDR_SIZE + (uint64_t)wi.mx_frame *
	    sqlitewal_frame_size(w->conn.page_size) == w->shadow.size;
}

/*
 * Lets the next writer start the WAL over with no checkpoint holding
 * writers off, when PASSIVE could do it all (wal_all_in; a few tries, as a
 * commit landing in between undoes it). The index is sealed, then the pin
 * moves on to read lock 0, where it keeps no writer from starting the WAL
 * over, and no checkpoint can empty the WAL a second time behind it. A
 * frame that arrives in between gives the new pin a read mark instead: the
 * WAL goes on, the next copy unseals the index (shadow.h), and the caller's
 * blocking checkpoint takes over. True once the WAL waits for its next
 * writer.
 */
static bool
restart_without_lock(struct wr *w)
{
	for (int round = 0; !wal_all_in(w); round++) {
		if (round == SOFT_RESTART_TRIES || !backfill_first(w))
			return false;
	}
	if (shadow_seal(&w->shadow) < 0 || dbconn_hand_over(&w->conn) != 1)
		return false;
	w->shadow.pinned_since_seal = true;
	await_restart(w);
	return true;
}

/*
 * RESTART while the WAL fills at least half of its file: writers then
 * write over the file from its start, with no blocks to free now and to
 * allocate again. TRUNCATE once the WAL has shrunk well below its file,
 * a burst being over, so that the -wal gives its space back.
 */
static int
checkpoint_mode(struct wr *w)
{
	uint64_t frames, room;

	if (wal_pages(w, &frames, &room) && frames * 2 >= room && room > 0)
		return SQLITE_CHECKPOINT_RESTART;
	return SQLITE_CHECKPOINT_TRUNCATE;
}

/* A checkpoint of mode M, started at T0, left the WAL to start over. */
static void
checkpoint_done(struct wr *w, enum ckpt_mode m, int64_t t0)
{
	static const char *const names[CKPT_MODES] = {
		[CKPT_TRUNCATE] = "TRUNCATE", [CKPT_RESTART] = "RESTART",
		[CKPT_PASSIVE] = "PASSIVE",
	};

	w->last_ckpt_ns = wr_now_ns();
	w->ckpt_backoff_ns = 0;
	w->ckpt_not_before_ns = 0;
	w->checkpoints[m]++;
	w->checkpoint_ns[m] += (uint64_t)(w->last_ckpt_ns - t0);
	/* The database file just changed under the pin: record it now, not
	 * at the next sync, so a kill in between does not cost a new
	 * generation at start-up. */
	shadow_record_mark(&w->shadow);
	if (m != CKPT_TRUNCATE)
		await_restart(w);
	log_debug("checkpoint", KV_S("mode", names[m]));
}

static void
checkpoint(struct wr *w, int wait_ms)
{
	struct ckpt_vfs_hooks hooks = { hook_write_locked, hook_write_unlocked,
		w };
	int64_t t0 = wr_now_ns();
	int64_t deadline = t0 + (int64_t)wait_ms * 1000000;
	int nlog = 0, nckpt = 0, rc, mode;

	if (!backfill_first(w))
		return;
	mode = checkpoint_mode(w);
	if (mode == SQLITE_CHECKPOINT_RESTART && restart_without_lock(w)) {
		checkpoint_done(w, CKPT_PASSIVE, t0);
		return;
	}
	w->ckpt_locked = false;
	ckpt_vfs_arm(&hooks);
	for (;;) {
		int64_t left = (deadline - wr_now_ns()) / 1000000;
		rc = dbconn_checkpoint(&w->conn, mode,
		    left > 0 ? (int)left : 0, &nlog, &nckpt);
		if (rc != SQLITE_BUSY || w->ckpt_locked ||
		    wr_now_ns() >= deadline)
			break;
		usleep(200);
	}
	ckpt_vfs_arm(NULL);
	if (!w->conn.pinned && dbconn_pin(&w->conn) < 0)
		fatalx("cannot take the read lock again after a checkpoint");
	if (rc == SQLITE_OK) {
		checkpoint_done(w, mode == SQLITE_CHECKPOINT_RESTART ?
		    CKPT_RESTART : CKPT_TRUNCATE, t0);
		return;
	}
	w->last_ckpt_ns = wr_now_ns();
	if (shadow_unseal(&w->shadow) < 0)
		fatal("cannot reopen shadow wal after a checkpoint");
	w->checkpoint_busy++;
	if (w->ckpt_locked) {
		w->ckpt_backoff_ns = w->ckpt_backoff_ns ?
		    w->ckpt_backoff_ns * 2 : CKPT_BACKOFF_MIN_NS;
		if (w->ckpt_backoff_ns > CKPT_BACKOFF_MAX_NS)
			w->ckpt_backoff_ns = CKPT_BACKOFF_MAX_NS;
		w->ckpt_not_before_ns = w->last_ckpt_ns + w->ckpt_backoff_ns;
	}
	log_debug("checkpoint busy, will retry", KV_S("mode", mode_name(mode)),
	    KV_S("result", sqlite3_errstr(rc)),
	    KV_S("waited_on", w->ckpt_locked ? "reader" : "locks"));
}

/*
 * The lowest shadow index any replica still needs, ignoring broken ones.
 * *KNOWN is false while some replica has not said where it is.
 */
static uint32_t
trim_floor(struct wr *w, bool *known)
{
	uint32_t below = w->shadow.index;
	*known = true;
	for (size_t i = 0; i < w->nreplicas; i++) {
		struct wr_replica *r = &w->replicas[i];
		if (r->broken)
			continue;
		if (!r->acked) {
			*known = false;
			continue;
		}
		if (strcmp(r->gen, w->shadow.gen) == 0) {
			if (r->index < below)
				below = r->index;
		} else {
			/* Still on an older generation: it starts this one
			 * at the snapshot, and needs the shadow from there. */
			uint32_t from = w->have_snap ? w->snap.index : 0;
			if (from < below)
				below = from;
		}
	}
	return below;
}

static void
trim(struct wr *w)
{
	bool known;
	uint32_t below = trim_floor(w, &known);
	if (known && below > 0)
		shadow_trim(&w->shadow, below);
}

/*
 * Rule 4: past shadow-max-size, a replica whose own needs exceed the cap
 * (the shadow from its acknowledged index on, or all of it for one silent
 * since the generation began) is marked broken and what only it needed is
 * dropped. The database and the other replicas carry on in the same
 * generation; a broken replica that comes back gets a new generation.
 */
static void
enforce_cap(struct wr *w)
{
	int64_t cap = w->db->shadow_max_size;
	uint64_t bytes = shadow_bytes(&w->shadow);
	int newly = 0;

	if (cap <= 0 || bytes <= (uint64_t)cap)
		return;
	for (size_t i = 0; i < w->nreplicas; i++) {
		struct wr_replica *r = &w->replicas[i];
		uint64_t needs;
		if (r->broken)
			continue;
		if (r->acked && strcmp(r->gen, w->shadow.gen) == 0)
			needs = shadow_bytes_from(&w->shadow, r->index);
		else if (wr_now_ns() - w->gen_started_ns >= CAP_SILENT_NS)
			needs = bytes;
		else
			continue;
		if (needs <= (uint64_t)cap)
			continue;
		r->broken = true;
		r->broken_ns = wr_now_ns();
		w->replicas_broken++;
		newly++;
		log_warn("shadow log cap reached: replica is behind, dropping "
		    "what only it needed; it restarts from a new generation "
		    "when it is back", KV_S("replica", r->name),
		    KV_U("needs_bytes", needs), KV_U("shadow_bytes", bytes),
		    KV_I("shadow_max_size", cap));
	}
	if (newly > 0) {
		w->cap_hit = false;
		trim(w);
	} else if (!w->cap_hit) {
		w->cap_hit = true;
		log_warn("shadow log over its cap, but no replica is behind it",
		    KV_U("shadow_bytes", bytes), KV_I("shadow_max_size", cap));
	}
}

/*
 * Whether the WAL copied since the last snapshot (or since this process
 * started) is past snapshot-wal-bytes and past the database's size: a
 * restore would then replay more than a new snapshot costs to upload.
 */
static bool
wal_chain_long(struct wr *w)
{
	int64_t bound = w->db->snapshot_wal_bytes;
	uint64_t since = w->wal_bytes_copied - w->snap_wal_mark;
	struct stat st;

	if (bound <= 0 || since < (uint64_t)bound ||
	    fstat(w->conn.db_fd, &st) < 0 || since < (uint64_t)st.st_size)
		return false;
	log_info("snapshot: the wal since the last one is long",
	    KV_U("wal_bytes", since), KV_I("snapshot_wal_bytes", bound),
	    KV_I("db_bytes", (long long)st.st_size));
	return true;
}

void
wr_sync(struct wr *w)
{
	char reason[SHADOW_REASON_LEN];

	if (!w->open && open_database(w) < 0)
		goto report;
	/* Before the copy, which then reaches the new mark (dbconn.h). */
	if (dbconn_advance(&w->conn) < 0)
		log_warn("cannot move the read lock forward; keeping the old one",
		    KV_S("path", w->db->path));
	enum shadow_status st = shadow_copy(&w->shadow, on_append, w, reason);
	if (st == SHADOW_ERROR)
		fatalx("shadow log write failed; restarting from durable state");
	if (st == SHADOW_NEED_GENERATION && new_generation(w, reason) < 0)
		fatalx("cannot start a new generation");
	w->syncs++;
	w->last_sync_wall_ns = clock_wall_ns();
	int wait_ms = checkpoint_wait_ms(w);
	if (wait_ms > 0 && wr_now_ns() >= w->ckpt_not_before_ns)
		checkpoint(w, wait_ms);
	if (wal_chain_long(w))
		(void)cut_snapshot(w, true);
	if (w->snapshot_wanted) {
		if (w->have_snap && w->snap.index == w->shadow.index &&
		    w->snap.offset == w->shadow.size) {
			w->snapshot_wanted = false;
			announce_snapshot(w, false);
		} else {
			(void)cut_snapshot(w, false);
		}
	}
	if (w->broken_back) {
		w->broken_back = false;
		if (new_generation(w, "a replica is back after the shadow "
		    "log cap") < 0)
			fatalx("cannot start a new generation");
	}
	trim(w);
	enforce_cap(w);
	if (w->notice_owed && wr_now_ns() >= wr_notice_due(w))
		send_notice(w, &w->owed);
report:
	if (!w->ready_sent || wr_now_ns() - w->last_status_ns >= STATUS_EVERY_NS)
		wr_send_status(w);
}

void
wr_close(struct wr *w)
{
	if (w->open) {
		shadow_close(&w->shadow);
		dbconn_close(&w->conn);
		w->open = false;
	}
	wr_ipc_close(w);
}
