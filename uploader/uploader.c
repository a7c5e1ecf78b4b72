/*
 * uploader: main and loop of the per-replica process (see upl.h for the
 * files and upl_sync.c for the work).
 *
 * Order at start-up (smtpd style): the role's arguments, the config, the
 * database and replica it names (anything wrong there is a config error,
 * exit 78, never retried in a loop), logging, confinement (sandbox.h:
 * service user, its own replica's keys only, its state, the shadow log
 * read-only, a file replica's directory), the replica client (file:
 * replica/client.h; s3: the asynchronous S3 client on this process's
 * event_base, upl_s3.c); then the event loop: signals, sockets (arriving
 * frames start an upload pass, upl_sync.c), a timer every sync-interval,
 * a heartbeat. Nothing blocks the loop but local file
 * I/O: a file replica is written one object per loop pass, an S3 request
 * is only ever started and completed from the loop, so a stuck endpoint
 * stalls the uploads of this replica and nothing else.
 *
 * SIGTERM/SIGINT (or MSG_SHUTDOWN): what the shadow log holds is uploaded,
 * bounded by UPL_STOP_TIMEOUT_S, then exit 0. What is left stays in the
 * shadow log for the next start.
 */
#include "uploader.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "child.h"
#include "client.h"
#include "age_client.h"
#include "config.h"
#include "flags.h"
#include "log.h"
#include "log_config.h"
#include "lz4frame.h"
#include "module.h"
#include "msg.h"
#include "sandbox.h"
#include "upl.h"

/* The name travels in every ACK: 1..64 printable bytes, no '/'. */
static bool
ack_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > MSG_MAX_REPLICA_NAME || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e || name[i] == '/')
			return false;
	return true;
}

/* Finds the database and replica; logs why not. 0, or -1 (config). */
static int
find_replica(struct upl *u, const char *db, long db_id, const char *name,
    long replica_id)
{
	/* db_id and replica_id only number the endpoints (the supervisor
	 * keeps them across reloads): the config is searched by path and
	 * name. */
	u->db = cfg_find_db(u->cfg, db);
	if (u->db == NULL) {
		log_error("database not in config", KV_S("path", db));
		return -1;
	}
	if ((u->rep = cfg_find_replica(u->db, name)) == NULL) {
		log_error("replica not in config", KV_S("replica", name));
		return -1;
	}
	if (u->rep->type != CFG_REPLICA_FILE &&
	    u->rep->type != CFG_REPLICA_S3) {
		log_error("this uploader serves file and s3 replicas only",
		    KV_S("replica", name),
		    KV_S("type", cfg_replica_type_name(u->rep->type)));
		return -1;
	}
	if (!ack_name_ok(name)) {
		log_error("replica name unusable in acknowledgements (1 to 64 "
		    "printable characters, no '/')", KV_S("replica", name));
		return -1;
	}
	if (u->db->meta_path == NULL || u->db->meta_path[0] == '\0') {
		log_error("database has no meta path", KV_S("path", db));
		return -1;
	}
	u->db_id = (uint32_t)db_id;
	u->replica_id = (uint32_t)replica_id;
	return 0;
}

static int
parse_args(struct upl *u, int argc, char **argv)
{
	const char *config = NULL, *run = NULL, *db = NULL, *name = NULL;
	bool no_expand = false;
	long db_id = -1, replica_id = -1;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &config, "PATH", "config file" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL, "no $VAR" },
		{ "run", FLAG_STRING, &run, "DIR", "runtime directory" },
		{ "db-id", FLAG_INT, &db_id, "N", "database number" },
		{ "db", FLAG_STRING, &db, "PATH", "database path" },
		{ "replica-id", FLAG_INT, &replica_id, "N", "replica number" },
		{ "replica", FLAG_STRING, &name, "NAME", "replica name" },
	};
	int nerr = 0;

	int i = flags_parse(flags, sizeof(flags) / sizeof(flags[0]), argc - 1,
	    argv + 1, stderr);
	if (i < 0 || i != argc - 1 || config == NULL || run == NULL ||
	    db == NULL || name == NULL || db_id < 0 || replica_id < 0 ||
	    db_id > UINT32_MAX || replica_id > UINT32_MAX) {
		log_error("usage: uploader -config PATH [-no-expand-env] -run "
		    "DIR -db-id N -db PATH -replica-id N -replica NAME");
		return -1;
	}
	if ((u->cfg = cfg_load(config, !no_expand, stderr, &nerr)) == NULL) {
		log_error("config not loaded", KV_S("path", config),
		    KV_I("errors", nerr));
		return -1;
	}
	log_config_apply(u->cfg);
	u->run = run;
	return find_replica(u, db, db_id, name, replica_id);
}

/* Files and directories on the replica get the database's mode and owner,
 * as Litestream does; so does the position file, for every replica type. */
static void
replica_modes(struct upl *u)
{
	struct stat st;
	char dir[4096];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	u->file_mode = 0600;
	u->dir_mode = 0700;
	if (stat(u->db->path, &st) == 0) {
		u->file_mode = st.st_mode & 0666;
		uid = st.st_uid;
		gid = st.st_gid;
	}
	snprintf(dir, sizeof(dir), "%s", u->db->path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (slash != NULL && stat(dir, &st) == 0)
		u->dir_mode = st.st_mode & 0777;
	if (u->client != NULL)
		file_client_set_owner(u->client, u->file_mode, u->dir_mode,
		    uid, gid);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	if (sig == SIGHUP)
		return; /* the supervisor handles reloads */
	upl_stop(arg);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upl_sync(arg);
}

/* The fallback for frames no message announced (a full pipe, a restart),
 * and for retries: a pass inside the current sync-interval is skipped, as
 * the arriving frames already drive one per interval. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct upl *u = arg;
	(void)fd;
	(void)what;
	if (!u->stopping && upl_now_ns() < u->next_plan_ns)
		return;
	upl_sync(u);
}

static void
on_work(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upl_work(arg);
}

static void
on_beat(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upl_heartbeat(arg);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct upl *u = arg;
	(void)fd;
	(void)what;
	log_warn("shutdown timeout: the rest stays in the shadow log",
	    KV_I("timeout_s", UPL_STOP_TIMEOUT_S));
	event_base_loopexit(u->base, NULL);
}

static struct timeval
tv_of(int64_t ns)
{
	struct timeval tv = { .tv_sec = ns / NS_PER_SEC,
		.tv_usec = (ns % NS_PER_SEC) / 1000 };
	return tv;
}

/* The loop's events; fatal if any cannot be made. */
static void
setup_events(struct upl *u, struct event *sigs[3])
{
	static const int signos[3] = { SIGTERM, SIGINT, SIGHUP };

	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(u->base, signos[i], on_signal, u);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatalx("cannot watch signals");
	}
	signal(SIGPIPE, SIG_IGN);
	int64_t every = u->rep->sync_interval > 0 ? u->rep->sync_interval :
	    CFG_DEFAULT_SYNC_INTERVAL;
	struct timeval tick = tv_of(every), beat = { .tv_sec = 1 };
	u->tick = event_new(u->base, -1, EV_PERSIST, on_tick, u);
	u->kick = event_new(u->base, -1, 0, on_kick, u);
	u->work = event_new(u->base, -1, 0, on_work, u);
	u->beat = event_new(u->base, -1, EV_PERSIST, on_beat, u);
	u->deadline = evtimer_new(u->base, on_deadline, u);
	if (u->tick == NULL || u->kick == NULL || u->work == NULL ||
	    u->beat == NULL || u->deadline == NULL ||
	    event_add(u->tick, &tick) < 0 || event_add(u->beat, &beat) < 0)
		fatalx("cannot start timers");
}

static void
teardown(struct upl *u, struct event *sigs[3])
{
	struct event *evs[] = { u->tick, u->kick, u->work, u->beat,
		u->deadline, sigs[0], sigs[1], sigs[2] };
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	upl_ipc_close(u);
	upl_s3_close(u);
	upl_plan_free(&u->plan);
	upl_view_free(&u->view);
	upl_buf_clear(&u->buf);
	free(u->chunk);
	lz4frame_writer_free(u->lz);
	replica_client_free(u->client);
	event_base_free(u->base);
	cfg_free(u->cfg);
}

int
uploader_main(int argc, char **argv)
{
	struct upl u;
	struct event *sigs[3] = { NULL, NULL, NULL };
	char err[512];

	memset(&u, 0, sizeof(u));
	child_setup();
	log_set_role("uploader");
	if (parse_args(&u, argc, argv) < 0) {
		cfg_free(u.cfg);
		return CHILD_EXIT_CONFIG;
	}
	log_set_db(u.db->path);
	/* The key file is readable before the drop only. u.rep points
	 * into u.cfg, which this process owns. */
	if (replica_age_inline_identity_file((struct cfg_replica *)(uintptr_t)
	    u.rep, err, sizeof(err)) < 0) {
		log_error("cannot read age identities", KV_ERRS(err));
		cfg_free(u.cfg);
		return CHILD_EXIT_CONFIG;
	}
	/* Confined, it could not read the module any more (module.h). */
	if (module_preload(u.cfg, u.rep) < 0) {
		cfg_free(u.cfg);
		return CHILD_EXIT_CONFIG;
	}
	/* Before the first thread (nanomsg's, curl's): see sandbox.h. */
	struct sandbox_target st = { .cfg = u.cfg, .db = u.db, .rep = u.rep,
		.rundir = u.run };
	sandbox_enter("uploader", &st);
	if ((u.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	if (u.rep->type == CFG_REPLICA_S3) {
		if (upl_s3_open(&u, err, sizeof(err)) < 0) {
			log_error("cannot open replica",
			    KV_S("replica", u.rep->name), KV_ERRS(err));
			event_base_free(u.base);
			cfg_free(u.cfg);
			return CHILD_EXIT_CONFIG;
		}
	} else {
		if ((u.client = replica_client_open(u.rep, err,
		    sizeof(err))) == NULL) {
			log_error("cannot open replica",
			    KV_S("replica", u.rep->name), KV_ERRS(err));
			event_base_free(u.base);
			cfg_free(u.cfg);
			return CHILD_EXIT_CONFIG;
		}
	}
	replica_modes(&u);
	if (position_path(u.pos_path, sizeof(u.pos_path), u.db->meta_path,
	    u.rep->name) < 0)
		fatalx("meta path too long", KV_S("path", u.db->meta_path));
	upl_buf_init(&u.buf, UPL_BUF_CAP);
	if ((u.chunk = malloc(UPL_CHUNK)) == NULL ||
	    (u.lz = lz4frame_writer_new(NULL, NULL)) == NULL)
		fatalx("out of memory");
	setup_events(&u, sigs);
	if (upl_ipc_open(&u) < 0)
		fatalx("cannot open ipc sockets");
	if (u.s3 != NULL)
		log_info("replicating", KV_S("replica", u.rep->name),
		    KV_S("bucket", u.rep->bucket),
		    KV_S("path", u.rep->path ? u.rep->path : ""),
		    KV_S("endpoint", u.rep->endpoint && u.rep->endpoint[0] ?
		    u.rep->endpoint : "aws"));
	else
		log_info("replicating", KV_S("replica", u.rep->name),
		    KV_S("path", u.rep->path));
	upl_heartbeat(&u);
	upl_sync(&u);
	event_base_dispatch(u.base);
	if (!u.stopping)
		fatalx("exited event loop");
	upl_log_stopped(&u);
	teardown(&u, sigs);
	return 0;
}
