/*
 * status: the supervisor's end of the status pipeline. Every child PUSHes
 * MSG_STATUS to ipc://RUNDIR/status; the supervisor binds a PULL there, on
 * its own event loop through ipc/nnev, and hands each valid message to
 * sv_on_status() (nnev has already dropped and logged invalid ones).
 */
#include "sv.h"

#include <stdlib.h>

#include "endpoints.h"
#include "log.h"
#include "nnev.h"

struct sv_status {
	struct sv *sv;
	struct nnev *nv;
};

static void
on_msg(struct nnev *nv, const struct msg *m, void *arg)
{
	struct sv_status *st = arg;

	(void)nv;
	sv_on_status(st->sv, m);
}

struct sv_status *
sv_status_open(struct sv *sv, const char *rundir)
{
	char addr[ENDPOINTS_ADDR_MAX], err[256];
	struct sv_status *st;

	if (endpoints_status(rundir, addr, err, sizeof(err)) < 0) {
		log_error("cannot open status endpoint", KV_ERRS(err));
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_error("out of memory");
		return NULL;
	}
	st->sv = sv;
	const struct nnev_conf conf = {
		.name = "status",
		.kind = NNEV_PULL,
		.how = NNEV_BIND,
		.addr = addr,
		.on_msg = on_msg,
		.arg = st,
	};
	if ((st->nv = nnev_open(sv_base(sv), &conf, err, sizeof(err))) ==
	    NULL) {
		log_error("cannot open status endpoint", KV_S("addr", addr),
		    KV_ERRS(err));
		free(st);
		return NULL;
	}
	return st;
}

void
sv_status_close(struct sv_status *st)
{
	if (st == NULL)
		return;
	nnev_close(st->nv);
	free(st);
}
