/*
 * compactor: main and loop of the one process that enforces retention and
 * runs validations for every file and s3 replica of every database.
 *
 * Order at start-up (smtpd style): arguments, config (a config it cannot
 * use is exit 78, never retried in a loop), one replica client per replica
 * it serves, then the event loop: signals, a one-second tick that runs
 * whatever is due (a retention pass every retention-check-interval, at
 * most retention; a validation every validation-interval), and a status
 * message to the supervisor every STATUS_EVERY_NS with the counters the
 * metrics endpoint serves. Passes run one at a time on the loop (cmp.h).
 */
#include "compactor.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "age_client.h"
#include "child.h"
#include "client.h"
#include "clock.h"
#include "cmp.h"
#include "config.h"
#include "endpoints.h"
#include "flags.h"
#include "log.h"
#include "log_config.h"
#include "module.h"
#include "msg.h"
#include "nnev.h"
#include "sandbox.h"

#define STATUS_EVERY_NS (2 * NS_PER_SEC)
#define VALIDATE_RETRY_NS (1 * NS_PER_SEC)

struct cmp {
	struct cfg *cfg;
	const char *run;
	struct event_base *base;
	struct event *tick, *sigs[3];
	struct nnev *status;
	struct cmp_replica *reps;
	size_t nreps;
	struct cmp_stats st;
	bool ready_sent, stopping;
	int64_t last_status_ns;
};

static bool
served(const struct cfg_replica *r)
{
	return (r->type == CFG_REPLICA_FILE || r->type == CFG_REPLICA_S3) &&
	    (r->retention > 0 || r->validation_interval > 0);
}

/* Litestream's ticker: retention-check-interval, at most retention. */
static int64_t
retain_every(const struct cfg_replica *r)
{
	int64_t every = r->retention_check_interval;

	if (every <= 0 || every > r->retention)
		every = r->retention;
	return every;
}

static int
open_replicas(struct cmp *c)
{
	char err[512];
	size_t n = 0;
	int64_t now = clock_mono_ns();

	for (size_t d = 0; d < c->cfg->ndbs; d++)
		n += c->cfg->dbs[d].nreplicas;
	if (n > 0 && (c->reps = calloc(n, sizeof(*c->reps))) == NULL)
		fatalx("out of memory");
	for (size_t d = 0; d < c->cfg->ndbs; d++) {
		const struct cfg_db *db = &c->cfg->dbs[d];
		for (size_t i = 0; i < db->nreplicas; i++) {
			const struct cfg_replica *rep = &db->replicas[i];
			struct cmp_replica *r = &c->reps[c->nreps];
			if (!served(rep))
				continue;
			r->db = db;
			r->rep = rep;
			if (position_path(r->pos_path, sizeof(r->pos_path),
			    db->meta_path, rep->name) < 0) {
				log_error("meta path too long",
				    KV_S("path", db->meta_path));
				return -1;
			}
			if ((r->client = replica_client_open(rep, err,
			    sizeof(err))) == NULL) {
				log_error("cannot open replica",
				    KV_S("db", db->path),
				    KV_S("replica", rep->name), KV_ERRS(err));
				return -1;
			}
			if (rep->retention > 0)
				r->next_retain_ns = now + retain_every(rep);
			if (rep->validation_interval > 0)
				r->next_validate_ns = now +
				    rep->validation_interval;
			c->nreps++;
		}
	}
	return 0;
}

static void
send_status(struct cmp *c)
{
	char body[MSG_MAX_STATUS];
	int n = snprintf(body, sizeof(body),
	    "pid=%ld\nrole=compactor\nreplicas=%zu\n"
	    "retention_passes=%" PRIu64 "\nretention_errors=%" PRIu64 "\n"
	    "objects_deleted=%" PRIu64 "\ngenerations_deleted=%" PRIu64 "\n"
	    "validations=%" PRIu64 "\nvalidation_errors=%" PRIu64 "\n",
	    (long)getpid(), c->nreps, c->st.passes, c->st.pass_errors,
	    c->st.objects_deleted, c->st.generations_deleted,
	    c->st.validations, c->st.validation_errors);
	struct msg m = {
		.type = MSG_STATUS,
		.flags = c->ready_sent ? 0 : MSG_F_READY,
		.payload = (const uint8_t *)body,
		.payload_len = (uint32_t)n,
	};
	if (n > 0 && (size_t)n < sizeof(body) && c->status != NULL &&
	    nnev_send_msg(c->status, &m) == 0) {
		c->ready_sent = true;
		c->last_status_ns = clock_mono_ns();
	}
}

static void
heartbeat(struct cmp *c)
{
	if (!c->ready_sent || clock_mono_ns() - c->last_status_ns >= STATUS_EVERY_NS)
		send_status(c);
}

/* Runs what is due on each replica, one job at a time. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cmp *c = arg;
	bool retry;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < c->nreps && !c->stopping; i++) {
		struct cmp_replica *r = &c->reps[i];
		if (r->next_retain_ns != 0 && clock_mono_ns() >= r->next_retain_ns) {
			(void)cmp_retain(r, clock_wall_ns(), &c->st);
			r->next_retain_ns = clock_mono_ns() + retain_every(r->rep);
			heartbeat(c);
		}
		if (r->next_validate_ns != 0 &&
		    clock_mono_ns() >= r->next_validate_ns) {
			(void)cmp_validate(r, &c->st, &retry);
			r->next_validate_ns = clock_mono_ns() + (retry ?
			    VALIDATE_RETRY_NS : r->rep->validation_interval);
			heartbeat(c);
		}
	}
	heartbeat(c);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cmp *c = arg;

	(void)what;
	if (sig == SIGHUP)
		return; /* the supervisor handles reloads */
	c->stopping = true;
	event_base_loopexit(c->base, NULL);
}

static void
setup_loop(struct cmp *c)
{
	static const int signos[3] = { SIGTERM, SIGINT, SIGHUP };
	struct timeval one = { .tv_sec = 1 };
	char addr[ENDPOINTS_ADDR_MAX], err[256];

	if ((c->base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	for (int i = 0; i < 3; i++) {
		c->sigs[i] = evsignal_new(c->base, signos[i], on_signal, c);
		if (c->sigs[i] == NULL || event_add(c->sigs[i], NULL) < 0)
			fatalx("cannot watch signals");
	}
	signal(SIGPIPE, SIG_IGN);
	c->tick = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	if (c->tick == NULL || event_add(c->tick, &one) < 0)
		fatalx("cannot start timers");
	const struct nnev_conf conf = {
		.name = "status",
		.kind = NNEV_PUSH,
		.how = NNEV_CONNECT,
		.addr = addr,
	};
	if (endpoints_status(c->run, addr, err, sizeof(err)) < 0 ||
	    (c->status = nnev_open(c->base, &conf, err, sizeof(err))) == NULL)
		fatalx("cannot open status socket", KV_ERRS(err));
}

static void
teardown(struct cmp *c)
{
	nnev_close(c->status);
	if (c->tick != NULL)
		event_free(c->tick);
	for (int i = 0; i < 3; i++) {
		if (c->sigs[i] != NULL)
			event_free(c->sigs[i]);
	}
	for (size_t i = 0; i < c->nreps; i++)
		replica_client_free(c->reps[i].client);
	free(c->reps);
	if (c->base != NULL)
		event_base_free(c->base);
	cfg_free(c->cfg);
}

static int
parse_args(struct cmp *c, int argc, char **argv)
{
	const char *config = NULL, *run = NULL;
	bool no_expand = false;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &config, "PATH", "config file" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL, "no $VAR" },
		{ "run", FLAG_STRING, &run, "DIR", "runtime directory" },
	};
	int nerr = 0;

	int i = flags_parse(flags, sizeof(flags) / sizeof(flags[0]), argc - 1,
	    argv + 1, stderr);
	if (i < 0 || i != argc - 1 || config == NULL || run == NULL) {
		log_error("usage: compactor -config PATH [-no-expand-env] "
		    "-run DIR");
		return -1;
	}
	if ((c->cfg = cfg_load(config, !no_expand, stderr, &nerr)) == NULL) {
		log_error("config not loaded", KV_S("path", config),
		    KV_I("errors", nerr));
		return -1;
	}
	log_config_apply(c->cfg);
	c->run = run;
	return 0;
}

/* Age key files are readable before the privilege drop only. */
static int
inline_identity_files(struct cmp *c)
{
	char err[512];

	for (size_t d = 0; d < c->cfg->ndbs; d++)
		for (size_t r = 0; r < c->cfg->dbs[d].nreplicas; r++)
			if (replica_age_inline_identity_file(
			    &c->cfg->dbs[d].replicas[r], err, sizeof(err)) < 0) {
				log_error("cannot read age identities",
				    KV_ERRS(err));
				return -1;
			}
	return 0;
}

int
compactor_main(int argc, char **argv)
{
	struct cmp c;

	memset(&c, 0, sizeof(c));
	child_setup();
	log_set_role("compactor");
	/* The module before the key files (they need it) and before the
	 * confinement (after it, the module cannot be read: module.h). */
	if (parse_args(&c, argc, argv) < 0 || module_preload(c.cfg, NULL) < 0 ||
	    inline_identity_files(&c) < 0) {
		teardown(&c);
		return CHILD_EXIT_CONFIG;
	}
	/* Before the first thread (the S3 clients'): see sandbox.h. */
	struct sandbox_target st = { .cfg = c.cfg, .rundir = c.run };
	sandbox_enter("compactor", &st);
	if (open_replicas(&c) < 0) {
		teardown(&c);
		return CHILD_EXIT_CONFIG;
	}
	setup_loop(&c);
	log_info("compactor started", KV_U("replicas", c.nreps));
	send_status(&c);
	event_base_dispatch(c.base);
	if (!c.stopping)
		fatalx("exited event loop");
	log_info("compactor stopped", KV_U("retention_passes", c.st.passes),
	    KV_U("objects_deleted", c.st.objects_deleted),
	    KV_U("validation_errors", c.st.validation_errors));
	teardown(&c);
	return 0;
}
