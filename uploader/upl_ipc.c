/*
 * upl_ipc: the uploader's sockets (ipc/endpoints.h for the names):
 *   frames  PULL, connects to the walreader's PUSH for this replica
 *   acks    PUSH, connects to the walreader's PULL for this database
 *   status  PUSH, connects to the supervisor's PULL
 * Every send is non-blocking. A refused ACK or status costs nothing: the
 * heartbeat repeats both, and the walreader keeps the shadow log until it
 * hears from us.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "endpoints.h"
#include "log.h"
#include "msg.h"
#include "nnev.h"
#include "upl.h"

static void
on_frames(struct nnev *nv, const struct msg *m, void *arg)
{
	(void)nv;
	upl_on_msg(arg, m);
}

static struct nnev *
open_one(struct upl *u, const char *name, enum nnev_kind kind,
    const char *addr)
{
	char err[256];
	struct nnev_conf c = {
		.name = name,
		.kind = kind,
		.how = NNEV_CONNECT,
		.addr = addr,
		.on_msg = kind == NNEV_PULL ? on_frames : NULL,
		.arg = u,
	};
	struct nnev *nv = nnev_open(u->base, &c, err, sizeof(err));
	if (nv == NULL)
		log_error("cannot open socket", KV_S("socket", name),
		    KV_ERRS(err));
	return nv;
}

int
upl_ipc_open(struct upl *u)
{
	char addr[ENDPOINTS_ADDR_MAX], err[256];

	if (endpoints_frames(u->run, u->db_id, u->replica_id, addr, err,
	    sizeof(err)) < 0 ||
	    (u->frames = open_one(u, "frames", NNEV_PULL, addr)) == NULL)
		goto fail;
	if (endpoints_acks(u->run, u->db_id, addr, err, sizeof(err)) < 0 ||
	    (u->acks = open_one(u, "acks", NNEV_PUSH, addr)) == NULL)
		goto fail;
	if (endpoints_status(u->run, addr, err, sizeof(err)) < 0 ||
	    (u->status = open_one(u, "status", NNEV_PUSH, addr)) == NULL)
		goto fail;
	return 0;
fail:
	if (u->frames == NULL || u->acks == NULL || u->status == NULL)
		log_error("cannot open ipc sockets", KV_S("run", u->run),
		    KV_ERRS(err));
	upl_ipc_close(u);
	return -1;
}

void
upl_ipc_close(struct upl *u)
{
	nnev_close(u->frames);
	nnev_close(u->acks);
	nnev_close(u->status);
	u->frames = u->acks = u->status = NULL;
}

int
upl_send_ack(struct upl *u, bool want_snapshot)
{
	const char *name = u->rep->name;
	struct msg m = {
		.type = MSG_ACK,
		.db_id = u->db_id,
		.flags = want_snapshot ? MSG_F_WANT_SNAPSHOT : 0,
		.index = u->pos.index,
		.offset = u->pos.offset,
		.payload = (const uint8_t *)name,
		.payload_len = (uint32_t)strlen(name),
	};
	/* No position yet: an all-zero generation, which matches none. */
	if (u->pos.gen[0] != '\0' &&
	    msg_gen_from_hex(u->pos.gen, m.generation) < 0)
		memset(m.generation, 0, sizeof(m.generation));
	if (u->acks == NULL)
		return -1;
	return nnev_send_msg(u->acks, &m);
}

int
upl_send_status(struct upl *u, const char *body, size_t len, bool ready)
{
	struct msg m = {
		.type = MSG_STATUS,
		.db_id = u->db_id,
		.flags = ready ? MSG_F_READY : 0,
		.payload = (const uint8_t *)body,
		.payload_len = (uint32_t)len,
	};
	if (u->status == NULL)
		return -1;
	return nnev_send_msg(u->status, &m);
}
