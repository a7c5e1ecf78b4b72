/*
 * walreader: main and loop of the per-database process.
 *
 * Order at start-up (smtpd style): parse the role's arguments, set up the
 * child (parent death signal, clean signals), read the config, find the
 * database, confine (sandbox.h: service user, no secrets, its directory
 * and shadow log only, no network), then the event loop: a timer every monitor-interval runs one
 * sync (copy WAL frames to the shadow log, start a generation when
 * continuity is lost, checkpoint, snapshot on request, trim, report). The
 * database is opened on the first tick where it exists. Between ticks, an
 * inotify watch on the database's directory runs a sync soon after the -wal
 * is written (WATCH_DELAY_MS later, which batches a busy writer's commits
 * into one sync), so a commit reaches the shadow log, and the uploaders,
 * without waiting for the next tick. Uploaders are told
 * about new frames with non-blocking sends; what they miss they read from
 * the shadow log.
 */
#include "walreader.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "flags.h"
#include "log.h"
#include "log_config.h"
#include "proctitle.h"
#include "sandbox.h"
#include "wr.h"

/*
 * Fills w->replica_eps from IDS ("0,2,1", one number per replica of the
 * database in config order), or with the config indexes when IDS is NULL.
 * A count that differs from the config's means the file changed since the
 * supervisor read it: -1, a config error until the supervisor reloads.
 */
static int
replica_eps(struct wr *w, const char *ids)
{
	size_t n = w->db->nreplicas;
	const char *p = ids;
	char *end;
	unsigned long v;

	if ((w->replica_eps = calloc(n ? n : 1, sizeof(uint32_t))) == NULL)
		return -1;
	for (size_t r = 0; r < n; r++) {
		if (ids == NULL) {
			w->replica_eps[r] = (uint32_t)r;
			continue;
		}
		if (*p < '0' || *p > '9')
			goto bad;
		v = strtoul(p, &end, 10);
		if (v > UINT32_MAX || *end != (r + 1 < n ? ',' : '\0'))
			goto bad;
		w->replica_eps[r] = (uint32_t)v;
		p = end + 1;
	}
	if (ids != NULL && n == 0 && *ids != '\0')
		goto bad;
	return 0;
bad:
	log_error("-replica-ids does not match the replicas in the config "
	    "(the file changed since the supervisor read it?)",
	    KV_S("replica_ids", ids), KV_U("replicas", n));
	return -1;
}

static int
parse_args(struct wr *w, int argc, char **argv)
{
	const char *config = NULL, *run = NULL, *db = NULL;
	const char *replica_ids = NULL;
	bool no_expand = false;
	long db_id = -1;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &config, "PATH", "config file" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL, "no $VAR" },
		{ "run", FLAG_STRING, &run, "DIR", "runtime directory" },
		{ "db-id", FLAG_INT, &db_id, "N", "database number" },
		{ "db", FLAG_STRING, &db, "PATH", "database path" },
		{ "replica-ids", FLAG_STRING, &replica_ids, "N,N,...",
		    "endpoint number of each replica, in config order" },
	};
	int i = flags_parse(flags, sizeof(flags) / sizeof(flags[0]), argc - 1,
	    argv + 1, stderr);
	if (i < 0 || config == NULL || run == NULL || db == NULL || db_id < 0)
		return -1;
	int nerr = 0;
	w->cfg = cfg_load(config, !no_expand, stderr, &nerr);
	if (w->cfg == NULL)
		return -1;
	/* Keys and credentials are the uploaders' business, never ours. */
	cfg_drop_secrets(w->cfg);
	w->db = cfg_find_db(w->cfg, db);
	if (w->db == NULL) {
		log_error("database not found in config", KV_S("path", db));
		return -1;
	}
	w->db_id = (uint32_t)db_id;
	w->run = run;
	return replica_eps(w, replica_ids);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct wr *w = arg;
	(void)what;
	if (sig == SIGHUP)
		return; /* the supervisor handles reloads */
	log_info("walreader shutting down");
	wr_sync(w); /* copy what is left; uploaders read it from the shadow */
	event_base_loopexit(w->base, NULL);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	wr_sync(arg);
}

#define WATCH_DELAY_MS 100

struct watch {
	int fd;
	struct event *ev;
	struct event *soon;
	struct wr *w;
	char wal_name[256];
	char db_name[256];
};

/* Reads every queued event; whether one was about the database or its
 * -wal. */
static bool
watch_drain(struct watch *wt)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(wt->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const void *)p;
			if (e->len > 0 && (strcmp(e->name, wt->wal_name) == 0 ||
			    strcmp(e->name, wt->db_name) == 0))
				hit = true;
			p += sizeof(*e) + e->len;
		}
	}
	return hit;
}

/* The sync a change asked for. Events queued since are about what this
 * sync copies: they are dropped, and the watch listens again. */
static void
on_soon(evutil_socket_t fd, short what, void *arg)
{
	struct watch *wt = arg;
	(void)fd;
	(void)what;

	(void)watch_drain(wt);
	if (event_add(wt->ev, NULL) < 0)
		fatalx("cannot watch the database directory");
	wr_sync(wt->w);
}

/*
 * A change in the directory: a sync within WATCH_DELAY_MS. Until it runs
 * the watch stops listening, so that a busy writer (an event per commit)
 * wakes the walreader once per sync, not once per commit.
 */
static void
on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct watch *wt = arg;
	(void)fd;
	(void)what;

	if (!watch_drain(wt))
		return;
	struct timeval tv = { 0, WATCH_DELAY_MS * 1000 };
	event_del(wt->ev);
	evtimer_add(wt->soon, &tv);
}

/* Best effort: without the watch, the monitor-interval tick still runs. */
static void
watch_open(struct watch *wt, struct wr *w)
{
	char dir[4096];
	const char *slash = strrchr(w->db->path, '/');
	memset(wt, 0, sizeof(*wt));
	wt->fd = -1;
	if (slash == NULL || strlen(slash + 1) + 5 > sizeof(wt->wal_name))
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - w->db->path),
	    w->db->path);
	snprintf(wt->db_name, sizeof(wt->db_name), "%s", slash + 1);
	snprintf(wt->wal_name, sizeof(wt->wal_name), "%s-wal", slash + 1);
	wt->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (wt->fd < 0 || inotify_add_watch(wt->fd, dir[0] ? dir : "/",
	    IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		log_warn("cannot watch the database directory, polling only",
		    KV_S("path", dir), KV_ERR());
		if (wt->fd >= 0)
			close(wt->fd);
		wt->fd = -1;
		return;
	}
	wt->w = w;
	wt->soon = evtimer_new(w->base, on_soon, wt);
	wt->ev = event_new(w->base, wt->fd, EV_READ | EV_PERSIST, on_inotify,
	    wt);
	if (wt->soon == NULL || wt->ev == NULL || event_add(wt->ev, NULL) < 0)
		fatalx("cannot watch the database directory");
}

static void
watch_close(struct watch *wt)
{
	if (wt->ev)
		event_free(wt->ev);
	if (wt->soon)
		event_free(wt->soon);
	if (wt->fd >= 0)
		close(wt->fd);
}

int
walreader_main(int argc, char **argv)
{
	struct wr w;
	struct watch wt;
	struct event *sigs[3];
	static const int signos[3] = { SIGTERM, SIGINT, SIGHUP };

	memset(&w, 0, sizeof(w));
	proctitle_init(argc, argv);
	child_setup();
	log_set_role("walreader");
	if (parse_args(&w, argc, argv) < 0) {
		free(w.replica_eps);
		cfg_free(w.cfg);
		return CHILD_EXIT_CONFIG;
	}
	log_config_apply(w.cfg);
	log_set_db(w.db->path);
	proctitle_set("walreader", "walship: walreader %s", w.db->path);
	/* Before the first thread (nanomsg's): see sandbox.h. */
	struct sandbox_target st = { .cfg = w.cfg, .db = w.db, .rundir = w.run };
	sandbox_enter("walreader", &st);

	if ((w.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(w.base, signos[i], on_signal, &w);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatalx("cannot watch signals");
	}
	signal(SIGPIPE, SIG_IGN);
	if (wr_ipc_open(&w) < 0)
		fatalx("cannot open ipc sockets");
	struct event *tick = event_new(w.base, -1, EV_PERSIST, on_tick, &w);
	int64_t ns = w.db->monitor_interval > 0 ? w.db->monitor_interval :
	    NS_PER_SEC;
	struct timeval tv = { .tv_sec = ns / NS_PER_SEC,
		.tv_usec = (ns % NS_PER_SEC) / 1000 };
	if (tick == NULL || event_add(tick, &tv) < 0)
		fatalx("cannot start timer");
	watch_open(&wt, &w);
	wr_sync(&w);
	event_base_dispatch(w.base);

	watch_close(&wt);
	event_free(tick);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	wr_close(&w);
	event_base_free(w.base);
	free(w.replica_eps);
	cfg_free(w.cfg);
	return 0;
}
