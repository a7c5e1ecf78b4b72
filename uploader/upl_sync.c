/*
 * upl_sync: the uploader's work, driven by its event loop.
 *
 * When frames arrive (and every sync-interval, and when a message says
 * something changed) upl_sync reads the shadow log's view, plans
 * (upl_plan.c) and starts the steps, about once per sync-interval at most
 * (plan_gap): a pass sooner than that waits for the interval's end. A
 * commit thus reaches the replica as soon as the walreader hands it over,
 * and batches up to one interval under a busy writer (Litestream uploads
 * on a fixed tick, whatever the phase);
 * upl_work then writes one object per loop pass, so the sockets and
 * signals are served between objects. After each object: the position is
 * persisted (tmp, fsync, rename), and only then acknowledged, so the
 * walreader never trims what a restart of this process would still need.
 *
 * Failures. A replica that refuses a write (disk full, permissions, gone)
 * is logged with the object's path and counted; the plan is dropped and a
 * new one is made after a backoff (1 s doubling to 60 s). The position
 * never moves past what was written, and the shadow log keeps the rest. A
 * shadow or snapshot file that vanished under the plan (a new generation,
 * a newer snapshot) is not a replica error: the next tick plans again.
 *
 * File replicas are written synchronously, one object per loop pass. S3
 * replicas (upl_s3.c) are asynchronous: upl_work starts the object and
 * the S3 client's completion calls upl_step_end, so the loop serves the
 * sockets, signals and heartbeat while a request is in flight, however
 * long a stuck endpoint makes it. The S3 client retries with backoff on
 * its own; what it gives up on lands here as one failed step. The
 * start-up position is read from an S3 replica the same way (finding).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "msg.h"
#include "s3client.h"
#include "upl.h"

int64_t
upl_now_ns(void)
{
	return clock_mono_ns();
}

/* Litestream's way of writing a position: GEN/IIIIIIII:OFFSET. */
static const char *
pos_str(char *buf, size_t len, const char *gen, uint32_t index, uint64_t off)
{
	snprintf(buf, len, "%s/%08" PRIx32 ":%" PRIu64, gen[0] ? gen : "none",
	    index, off);
	return buf;
}

static void
kick(struct upl *u)
{
	if (u->running)
		u->again = true;
	else
		event_active(u->kick, EV_TIMEOUT, 1);
}

static void
finish_stop(struct upl *u)
{
	event_base_loopexit(u->base, NULL);
}

void
upl_log_stopped(const struct upl *u)
{
	const struct s3client_stats *st = u->s3 != NULL ? upl_s3_stats(u) :
	    NULL;

	if (st != NULL)
		log_info("uploader stopped", KV_U("uploads", u->uploads),
		    KV_U("s3_put", st->requests[S3_STAT_PUT]),
		    KV_U("s3_get", st->requests[S3_STAT_GET]),
		    KV_U("s3_list", st->requests[S3_STAT_LIST]),
		    KV_U("s3_delete", st->requests[S3_STAT_DELETE]),
		    KV_U("s3_head", st->requests[S3_STAT_HEAD]),
		    KV_U("s3_retries", st->retries),
		    KV_U("s3_errors", st->errors));
	else
		log_info("uploader stopped", KV_U("uploads", u->uploads));
}

/*
 * Stopping and nothing (more) to upload. The walreader copies its last
 * frames when it gets the same SIGTERM, so look again a few times during
 * UPL_STOP_SETTLE_NS before leaving.
 */
static void
stop_or_wait(struct upl *u, int64_t now)
{
	struct timeval tv = { .tv_usec = 100000 };

	if (now - u->stop_ns >= UPL_STOP_SETTLE_NS || u->fails > 0) {
		finish_stop(u);
		return;
	}
	event_add(u->kick, &tv);
}

static void
end_plan(struct upl *u)
{
	u->running = false;
	u->step = 0;
	upl_plan_free(&u->plan);
	if (u->again) {
		u->again = false;
		kick(u);
	}
}

/* An upload pass failed for WHY (one line is kept for the status). */
static void
failed(struct upl *u, const char *why)
{
	snprintf(u->last_error, sizeof(u->last_error), "%s", why);
	for (char *p = u->last_error; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	u->fails++;
	u->upload_errors++;
	int64_t d = NS_PER_SEC << (u->fails < 7 ? u->fails - 1 : 6);
	u->retry_ns = upl_now_ns() + (d < UPL_BACKOFF_MAX_NS ? d :
	    UPL_BACKOFF_MAX_NS);
}

void
upl_position_known(struct upl *u, const struct position *file,
    const struct position *rep, int64_t snap_created)
{
	char ps[64];
	bool have = file != NULL;

	u->last_snap_ns = snap_created;
	/* The replica was emptied or lost the snapshot behind our back:
	 * believe the replica, so the plan starts or completes the
	 * generation instead of adding segments to nothing. */
	if (have && !upl_pos_file_usable(file, rep)) {
		log_warn("replica does not hold the position file's state, "
		    "using the replica's", KV_S("position", pos_str(ps,
		    sizeof(ps), file->gen, file->index, file->offset)));
		have = false;
	}
	u->pos = have ? *file : *rep;
	u->pos_known = true;
	log_info("replica position", KV_S("position", pos_str(ps, sizeof(ps),
	    u->pos.gen, u->pos.index, u->pos.offset)),
	    KV_S("from", have ? "position file" : "replica"));
	if (u->finding) {
		u->finding = false;
		kick(u);
	}
}

void
upl_position_failed(struct upl *u, const char *gen, const char *err)
{
	log_warn("cannot read replica position", KV_S("generation", gen),
	    KV_ERRS(err));
	if (!u->finding)
		return;
	u->finding = false;
	failed(u, err);
	if (u->stopping)
		finish_stop(u);
}

/*
 * The position at start-up: the position file when it is readable and the
 * replica holds that generation (and its snapshot, if the file says so);
 * else what the replica itself shows (format doc §3.3). Returns 0 (known),
 * 1 (being read from an S3 replica: upl_position_known or _failed follow)
 * or -1.
 */
static int
find_position(struct upl *u)
{
	struct position file, rep;
	char err[512];
	int64_t created;
	bool have = position_load(u->pos_path, &file) == 0;

	if (!have && errno != ENOENT)
		log_warn("position file unreadable, reading the replica",
		    KV_S("path", u->pos_path), KV_ERR());
	const char *gen = have ? file.gen : u->view.gen;
	if (gen[0] == '\0') {
		memset(&u->pos, 0, sizeof(u->pos));
		u->pos_known = true;
		return 0;
	}
	if (u->s3 != NULL) {
		if (upl_s3_find_position(u, gen, have ? &file : NULL, err,
		    sizeof(err)) < 0) {
			upl_position_failed(u, gen, err);
			return -1;
		}
		u->finding = true;
		return 1;
	}
	if (upl_replica_position(u->client, gen, &rep, &created, err,
	    sizeof(err)) < 0) {
		upl_position_failed(u, gen, err);
		return -1;
	}
	upl_position_known(u, have ? &file : NULL, &rep, created);
	return 0;
}

static void
ask_snapshot(struct upl *u, int64_t now)
{
	if (u->snap_asked && now - u->snap_asked_ns < UPL_ASK_AGAIN_NS)
		return;
	if (upl_send_ack(u, true) == 0) {
		u->snap_asked = true;
		u->snap_asked_ns = now;
		log_debug("asked the walreader for a snapshot");
	}
}

/*
 * snapshot-interval: time since the last snapshot on the replica. Without
 * one, every retention period, as Litestream's retention check snapshots
 * when no snapshot is younger than retention (format doc §3.5): the
 * compactor then always has a snapshot to trim up to.
 */
static void
interval_snapshot(struct upl *u, int64_t now)
{
	int64_t every = u->rep->snapshot_interval > 0 ?
	    u->rep->snapshot_interval : u->rep->retention;
	if (every <= 0 || u->snap_wanted || !u->pos.snapshot ||
	    strcmp(u->pos.gen, u->view.gen) != 0)
		return;
	if (clock_wall_ns() - u->last_snap_ns >= every)
		ask_snapshot(u, now);
}

/* Logs a waiting or stalled state once, when it starts or changes. */
static void
note_state(struct upl *u, const struct upl_plan *p)
{
	if (p->status == u->last_status && strcmp(p->why, u->last_why) == 0)
		return;
	u->last_status = p->status;
	snprintf(u->last_why, sizeof(u->last_why), "%s", p->why);
	switch (p->status) {
	case UPL_PLAN_NO_GENERATION:
		log_info("no generation, waiting for data");
		break;
	case UPL_PLAN_NEED_SNAPSHOT:
		log_info("waiting for the generation's snapshot",
		    KV_S("generation", p->gen));
		break;
	case UPL_PLAN_STALLED:
		log_warn("replica cannot continue in this generation, waiting "
		    "for a new one", KV_S("generation", p->gen),
		    KV_ERRS(p->why));
		break;
	case UPL_PLAN_OK:
		break;
	}
}

/*
 * The least time between two upload passes: the sync-interval, less a
 * little slack (100 ms, or half an interval if that is shorter). Frames
 * come from the walreader's syncs, at most one per interval under a steady
 * writer but not on the uploader's clock: with no slack, an upload pass
 * that once ran just before a sync would defer every later one to almost a
 * whole interval after its sync, for good (a lag of two intervals). With
 * the slack a pass follows each sync as it arrives.
 */
static int64_t
plan_gap(const struct upl *u)
{
	return cfg_upload_gap(u->rep->sync_interval);
}

static void
track_lag(struct upl *u, int64_t now)
{
	if (!upl_view_ahead(&u->view, &u->pos))
		u->behind_ns = 0;
	else if (u->behind_ns == 0)
		u->behind_ns = now;
}

void
upl_sync(struct upl *u)
{
	int64_t now = upl_now_ns();
	struct upl_view v;

	if (u->running || u->finding || (!u->stopping && now < u->retry_ns))
		return;
	if (!u->stopping && now < u->next_plan_ns) {
		int64_t wait = u->next_plan_ns - now;
		struct timeval tv = { .tv_sec = wait / NS_PER_SEC,
			.tv_usec = (wait % NS_PER_SEC) / 1000 };
		event_add(u->kick, &tv);
		return;
	}
	if (upl_view_load(&v, u->db->meta_path, u->have_view ? &u->view :
	    NULL) < 0) {
		failed(u, "cannot read the shadow log");
		goto out;
	}
	upl_view_free(&u->view);
	u->view = v;
	u->have_view = true;
	if (!u->pos_known) {
		int r = find_position(u);
		if (r > 0)
			return; /* upl_position_known kicks when done */
		if (r < 0) {
			failed(u, "cannot read the replica position");
			goto out;
		}
	}
	if (u->pos_dirty) {
		if (position_save(u->pos_path, &u->pos, u->file_mode,
		    u->dir_mode) < 0) {
			log_error("cannot persist replica position",
			    KV_S("path", u->pos_path), KV_ERR());
			failed(u, "cannot persist the replica position");
			goto out;
		}
		u->pos_dirty = false;
		(void)upl_send_ack(u, false);
	}
	track_lag(u, now);
	interval_snapshot(u, now);
	if (upl_plan_make(&u->view, &u->pos, u->snap_wanted, &u->plan) < 0)
		fatal("cannot plan uploads");
	note_state(u, &u->plan);
	if (u->plan.status == UPL_PLAN_NO_GENERATION && !u->stopping &&
	    u->nogen_looks < UPL_NOGEN_LOOKS) {
		struct timeval tv = { .tv_usec = UPL_NOGEN_LOOK_MS * 1000 };
		u->nogen_looks++;
		event_add(u->kick, &tv);
	}
	if (u->plan.status == UPL_PLAN_NEED_SNAPSHOT ||
	    u->plan.status == UPL_PLAN_STALLED)
		ask_snapshot(u, now);
	if (u->plan.nsteps == 0) {
		upl_plan_free(&u->plan);
		goto out;
	}
	if (u->plan.resync)
		log_warn("restarting the replica at a later snapshot",
		    KV_S("generation", u->plan.gen), KV_ERRS(u->plan.why));
	else if (u->plan.start)
		log_info("starting generation on replica",
		    KV_S("generation", u->plan.gen),
		    KV_U("snapshot_index", u->view.snap_index),
		    KV_U("snapshot_offset", u->view.snap_offset));
	u->running = true;
	u->step = 0;
	u->next_plan_ns = now + plan_gap(u);
	event_active(u->work, EV_TIMEOUT, 1);
	return;
out:
	if (u->stopping)
		stop_or_wait(u, now);
}

/* Called after step S was written: persist, then acknowledge. */
static void
step_done(struct upl *u, const struct upl_step *s, uint64_t bytes,
    int64_t elapsed)
{
	char ps[64];

	u->uploads++;
	u->bytes += bytes;
	u->fails = 0;
	u->last_ok_wall_ns = clock_wall_ns();
	u->last_error[0] = '\0';
	u->pos = s->after;
	if (s->kind == UPL_STEP_SNAPSHOT) {
		u->snap_wanted = false;
		u->last_snap_ns = clock_wall_ns();
		log_info("snapshot written", KV_S("position", pos_str(ps,
		    sizeof(ps), u->plan.gen, s->index, s->to)),
		    KV_I("elapsed_ms", elapsed / 1000000), KV_U("sz", bytes));
	} else {
		log_debug("wal segment written", KV_S("position", pos_str(ps,
		    sizeof(ps), u->plan.gen, s->index, s->from)),
		    KV_I("elapsed_ms", elapsed / 1000000),
		    KV_U("sz", s->to - s->from));
	}
	upl_buf_trim(&u->buf, u->pos.gen, u->pos.index, u->pos.offset);
	if (position_save(u->pos_path, &u->pos, u->file_mode,
	    u->dir_mode) < 0) {
		/* The object is on the replica, but a restart would not know:
		 * no ACK until the position is on disk. */
		log_error("cannot persist replica position",
		    KV_S("path", u->pos_path), KV_ERR());
		u->pos_dirty = true;
		return;
	}
	(void)upl_send_ack(u, false);
}

/* The name of step S's object, for messages. */
static const char *
step_obj_name(struct upl *u, const struct upl_step *s, char *buf, size_t len)
{
	struct replica_obj o = s->kind == UPL_STEP_SEGMENT ?
	    replica_wal_obj(u->plan.gen, s->index, (uint32_t)s->from) :
	    replica_snapshot_obj(u->plan.gen, s->index);
	if (u->s3 != NULL)
		return upl_s3_obj_name(u, &o, buf, len);
	return replica_key(u->client, &o, buf, len);
}

void
upl_step_end(struct upl *u, int rc, int e, enum upl_fault f, uint64_t bytes,
    const char *err)
{
	char key[1200], ps[64];

	u->inflight = false;
	if (!u->running)
		return;
	const struct upl_step *s = &u->plan.steps[u->step];
	if (rc < 0) {
		if (f == UPL_FAULT_LOCAL && e == ENOENT) {
			/* A new generation or a newer snapshot file. */
			log_info("shadow log changed, planning again",
			    KV_S("position", pos_str(ps, sizeof(ps),
			    u->plan.gen, s->index, s->from)), KV_ERRS(err));
		} else if (f == UPL_FAULT_LOCAL) {
			failed(u, err);
			log_warn("cannot read shadow log", KV_S("position",
			    pos_str(ps, sizeof(ps), u->plan.gen, s->index,
			    s->from)), KV_ERRS(err));
		} else {
			failed(u, err);
			log_warn("cannot write replica object", KV_S("path",
			    step_obj_name(u, s, key, sizeof(key))),
			    KV_U("errors", u->upload_errors),
			    KV_I("retry_in_ms", (u->retry_ns - upl_now_ns()) /
			    1000000), KV_ERRS(err));
		}
		end_plan(u);
		if (u->stopping)
			finish_stop(u);
		return;
	}
	step_done(u, s, bytes, upl_now_ns() - u->step_t0);
	if (u->pos_dirty) {
		failed(u, "cannot persist the replica position");
		end_plan(u);
		if (u->stopping)
			finish_stop(u);
		return;
	}
	if (++u->step < u->plan.nsteps) {
		event_active(u->work, EV_TIMEOUT, 1);
		return;
	}
	end_plan(u);
	track_lag(u, upl_now_ns());
	if (u->stopping)
		kick(u); /* once more: the walreader may have added frames */
}

void
upl_work(struct upl *u)
{
	char err[512];
	uint64_t bytes = 0;
	enum upl_fault f = UPL_FAULT_NONE;
	int rc;

	if (!u->running || u->inflight)
		return;
	const struct upl_step *s = &u->plan.steps[u->step];
	u->step_t0 = upl_now_ns();
	err[0] = '\0';
	if (u->s3 != NULL) {
		u->inflight = true;
		if (upl_s3_put(u, s, &f, err, sizeof(err)) == 0)
			return; /* upl_step_end follows from the loop */
		upl_step_end(u, -1, errno, f, 0, err);
		return;
	}
	rc = s->kind == UPL_STEP_SEGMENT ?
	    upl_put_segment(u->client, u->db->meta_path, u->plan.gen, &u->buf,
		s, u->chunk, UPL_CHUNK, u->lz, &bytes, &f, err, sizeof(err)) :
	    upl_put_snapshot(u->client, u->db->meta_path, u->plan.gen, s,
		&bytes, &f, err, sizeof(err));
	upl_step_end(u, rc, errno, f, bytes, err);
}

void
upl_on_msg(struct upl *u, const struct msg *m)
{
	char gen[UPL_GEN_SIZE];
	uint64_t len;

	if (m->db_id != u->db_id) {
		log_warn("message for another database dropped",
		    KV_U("db_id", m->db_id));
		return;
	}
	msg_gen_to_hex(m->generation, gen);
	switch (m->type) {
	case MSG_FRAMES:
		/* Already on the replica: nothing to keep. */
		len = m->flags & MSG_F_IN_SHADOW ? m->value : m->payload_len;
		if (strcmp(gen, u->pos.gen) == 0 && upl_pos_cmp(m->index,
		    m->offset + len, u->pos.index, u->pos.offset) <= 0)
			return;
		/* A batch left in the shadow log is read from there. */
		if (m->payload_len > 0)
			(void)upl_buf_add(&u->buf, gen, m->index, m->offset,
			    m->payload, m->payload_len);
		if (u->behind_ns == 0)
			u->behind_ns = upl_now_ns();
		kick(u);
		break;
	case MSG_SNAPSHOT:
		if (u->snap_asked || (m->flags & MSG_F_ALL_REPLICAS)) {
			u->snap_asked = false;
			u->snap_wanted = true;
		}
		kick(u);
		break;
	case MSG_GENERATION:
		upl_buf_clear(&u->buf);
		kick(u);
		break;
	case MSG_SHUTDOWN:
		upl_stop(u);
		break;
	default:
		log_warn("unexpected message on frames socket",
		    KV_I("type", m->type));
		break;
	}
}

void
upl_stop(struct upl *u)
{
	struct timeval tv = { .tv_sec = UPL_STOP_TIMEOUT_S };

	if (u->stopping)
		return;
	u->stopping = true;
	u->stop_ns = upl_now_ns();
	log_info("uploader shutting down, uploading what is left",
	    KV_I("timeout_s", UPL_STOP_TIMEOUT_S));
	event_add(u->deadline, &tv);
	kick(u);
}

void
upl_heartbeat(struct upl *u)
{
	char body[MSG_MAX_STATUS];
	int64_t now = upl_now_ns();

	if (u->ready_sent && now - u->last_status_ns < UPL_STATUS_EVERY_NS)
		return;
	int64_t lag = u->behind_ns ? now - u->behind_ns : 0;
	int n = snprintf(body, sizeof(body),
	    "pid=%ld\nrole=uploader\nreplica-id=%" PRIu32 "\n"
	    "generation=%s\nindex=%" PRIu32 "\noffset=%" PRIu64 "\n"
	    "lag_seconds=%" PRId64 ".%03" PRId64 "\nuploads=%" PRIu64 "\n"
	    "upload_errors=%" PRIu64 "\nbytes=%" PRIu64 "\n"
	    "last_upload_unix=%" PRId64 ".%03" PRId64 "\nlast_error=%s\n",
	    (long)getpid(), u->replica_id,
	    u->pos.gen[0] ? u->pos.gen : "none", u->pos.index, u->pos.offset,
	    (int64_t)(lag / NS_PER_SEC), (int64_t)(lag % NS_PER_SEC / 1000000),
	    u->uploads,
	    u->upload_errors, u->bytes,
	    (int64_t)(u->last_ok_wall_ns / NS_PER_SEC),
	    (int64_t)(u->last_ok_wall_ns % NS_PER_SEC / 1000000), u->last_error);
	if (u->s3 != NULL && n > 0 && (size_t)n < sizeof(body)) {
		/* Requests per operation (attempts, retries included). */
		const struct s3client_stats *st = upl_s3_stats(u);
		int m = snprintf(body + n, sizeof(body) - (size_t)n,
		    "s3_put=%" PRIu64 "\ns3_get=%" PRIu64 "\ns3_list=%" PRIu64
		    "\ns3_delete=%" PRIu64 "\ns3_head=%" PRIu64 "\n"
		    "s3_retries=%" PRIu64 "\ns3_errors=%" PRIu64 "\n"
		    "s3_bytes_up=%" PRIu64 "\n",
		    st->requests[S3_STAT_PUT], st->requests[S3_STAT_GET],
		    st->requests[S3_STAT_LIST], st->requests[S3_STAT_DELETE],
		    st->requests[S3_STAT_HEAD], st->retries, st->errors,
		    st->bytes_up);
		n = m < 0 ? m : n + m;
	}
	if (n > 0 && (size_t)n < sizeof(body) &&
	    upl_send_status(u, body, (size_t)n, !u->ready_sent) == 0) {
		u->ready_sent = true;
		u->last_status_ns = now;
	}
	/* The ACK again: a lost one, or a walreader that restarted. */
	if (u->pos_known && u->pos.gen[0] && !u->pos_dirty)
		(void)upl_send_ack(u, false);
}
