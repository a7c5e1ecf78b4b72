/*
 * wr_ipc: the walreader's sockets. It binds one PUSH per uploader (frames)
 * and one PULL for acknowledgements, and connects a PUSH to the
 * supervisor's status endpoint. Every send is non-blocking: a full pipe or
 * an absent uploader costs a dropped message, never a wait (rule 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "endpoints.h"
#include "log.h"
#include "nnev.h"
#include "wr.h"

static void
on_msg(struct nnev *nv, const struct msg *m, void *arg)
{
	struct wr *w = arg;
	(void)nv;
	if (m->type != MSG_ACK) {
		log_warn("unexpected message on ack socket", KV_I("type", m->type));
		return;
	}
	wr_on_ack(w, m);
}

static struct nnev *
open_sock(struct wr *w, const char *name, enum nnev_kind kind,
    enum nnev_how how, const char *addr)
{
	char err[256];
	struct nnev_conf conf = {
		.name = name,
		.kind = kind,
		.how = how,
		.addr = addr,
		.on_msg = kind == NNEV_PULL ? on_msg : NULL,
		.arg = w,
	};
	struct nnev *nv = nnev_open(w->base, &conf, err, sizeof(err));
	if (nv == NULL)
		log_error("cannot open ipc socket", KV_S("addr", addr),
		    KV_ERRS(err));
	return nv;
}

int
wr_ipc_open(struct wr *w)
{
	char addr[ENDPOINTS_ADDR_MAX + 1], err[256], name[64];

	w->nreplicas = w->db->nreplicas;
	w->replicas = calloc(w->nreplicas ? w->nreplicas : 1,
	    sizeof(*w->replicas));
	w->frames = calloc(w->nreplicas ? w->nreplicas : 1, sizeof(*w->frames));
	if (w->replicas == NULL || w->frames == NULL)
		return -1;
	for (size_t r = 0; r < w->nreplicas; r++) {
		w->replicas[r].name = w->db->replicas[r].name;
		if (endpoints_frames(w->run, w->db_id, w->replica_eps[r], addr,
		    err, sizeof(err)) < 0) {
			log_error("bad endpoint", KV_ERRS(err));
			return -1;
		}
		snprintf(name, sizeof(name), "frames db%u-r%u", w->db_id,
		    (unsigned)w->replica_eps[r]);
		w->replicas[r].frames = open_sock(w, name, NNEV_PUSH, NNEV_BIND,
		    addr);
		if (w->replicas[r].frames == NULL)
			return -1;
		w->frames[r] = w->replicas[r].frames;
	}
	if (endpoints_acks(w->run, w->db_id, addr, err, sizeof(err)) < 0)
		return -1;
	w->acks = open_sock(w, "acks", NNEV_PULL, NNEV_BIND, addr);
	if (endpoints_status(w->run, addr, err, sizeof(err)) < 0)
		return -1;
	w->status = open_sock(w, "status", NNEV_PUSH, NNEV_CONNECT, addr);
	return w->acks && w->status ? 0 : -1;
}

void
wr_ipc_close(struct wr *w)
{
	for (size_t r = 0; r < w->nreplicas; r++)
		nnev_close(w->replicas[r].frames);
	free(w->replicas);
	free(w->frames);
	w->replicas = NULL;
	w->frames = NULL;
	w->nreplicas = 0;
	nnev_close(w->acks);
	nnev_close(w->status);
	w->acks = w->status = NULL;
}

void
wr_send_all(struct wr *w, struct msg *m)
{
	w->sends_dropped += (uint64_t)nnev_send_msg_all(w->frames, w->nreplicas,
	    m);
}

void
wr_on_ack(struct wr *w, const struct msg *m)
{
	char name[MSG_MAX_REPLICA_NAME + 1];
	memcpy(name, m->payload, m->payload_len);
	name[m->payload_len] = '\0';
	for (size_t r = 0; r < w->nreplicas; r++) {
		struct wr_replica *rep = &w->replicas[r];
		if (strcmp(rep->name, name) != 0)
			continue;
		/* A broken replica that speaks again (not an acknowledgement
		 * still in flight from before it was dropped) is back: it
		 * needs a new generation, since what it missed is gone. */
		if (rep->broken && wr_now_ns() - rep->broken_ns >= NS_PER_SEC) {
			rep->broken = false;
			w->broken_back = true;
			log_info("replica is back after the shadow log cap",
			    KV_S("replica", rep->name));
		}
		rep->acked = true;
		msg_gen_to_hex(m->generation, rep->gen);
		rep->index = m->index;
		rep->offset = m->offset;
		if (m->flags & MSG_F_WANT_SNAPSHOT)
			w->snapshot_wanted = true;
		return;
	}
	log_warn("acknowledgement from unknown replica", KV_S("replica", name));
}

/* NS as the two arguments of "%llu.%03llu": seconds and milliseconds. */
#define SECS_MS(ns) (unsigned long long)((ns) / NS_PER_SEC), \
	(unsigned long long)((ns) % NS_PER_SEC / 1000000)

void
wr_send_status(struct wr *w)
{
	char body[MSG_MAX_STATUS];
	int n = snprintf(body, sizeof(body),
	    "pid=%ld\nrole=walreader\n"
	    "generation=%s\nindex=%u\noffset=%llu\nwal_bytes=%llu\n"
	    "checkpoints_truncate=%llu\ncheckpoints_restart=%llu\n"
	    "checkpoints_passive=%llu\n"
	    "checkpoint_busy=%llu\ngenerations=%llu\n"
	    "sends_dropped=%llu\nreplicas_broken=%llu\nshadow_bytes=%llu\n"
	    "checkpoint_seconds_truncate=%llu.%03llu\n"
	    "checkpoint_seconds_restart=%llu.%03llu\n"
	    "checkpoint_seconds_passive=%llu.%03llu\nsyncs=%llu\n"
	    "last_sync_unix=%lld.%03lld\n",
	    (long)getpid(), w->open && w->shadow.gen[0] ? w->shadow.gen : "none",
	    w->open ? w->shadow.index : 0,
	    (unsigned long long)(w->open ? w->shadow.size : 0),
	    (unsigned long long)w->wal_bytes_copied,
	    (unsigned long long)w->checkpoints[CKPT_TRUNCATE],
	    (unsigned long long)w->checkpoints[CKPT_RESTART],
	    (unsigned long long)w->checkpoints[CKPT_PASSIVE],
	    (unsigned long long)w->checkpoint_busy,
	    (unsigned long long)w->generations,
	    (unsigned long long)w->sends_dropped,
	    (unsigned long long)w->replicas_broken,
	    (unsigned long long)(w->open ? shadow_bytes(&w->shadow) : 0),
	    SECS_MS(w->checkpoint_ns[CKPT_TRUNCATE]),
	    SECS_MS(w->checkpoint_ns[CKPT_RESTART]),
	    SECS_MS(w->checkpoint_ns[CKPT_PASSIVE]),
	    (unsigned long long)w->syncs,
	    (long long)(w->last_sync_wall_ns / NS_PER_SEC),
	    (long long)(w->last_sync_wall_ns % NS_PER_SEC / 1000000));
	struct msg m = {
		.type = MSG_STATUS,
		.db_id = w->db_id,
		.flags = w->ready_sent ? 0 : MSG_F_READY,
		.payload = (const uint8_t *)body,
		.payload_len = (uint32_t)n,
	};
	if (nnev_send_msg(w->status, &m) == 0)
		w->ready_sent = true;
	w->last_status_ns = wr_now_ns();
}
