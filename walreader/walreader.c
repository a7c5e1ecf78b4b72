/*
 * walreader: main and loop of the per-database process.
 *
 * Order at start-up (smtpd style): parse the role's arguments, set up the
 * child (parent death signal, clean signals), read the config, find the
 * database, confine (sandbox.h: service user, no secrets, its directory
 * and shadow log only, no network), then the event loop: syncs (copy WAL
 * frames to the shadow log, start a generation when continuity is lost,
 * checkpoint, snapshot on request, trim, report) every monitor-interval,
 * and sooner after a change (struct pacer below). The database is opened
 * on the first sync where it exists. Uploaders are told about new frames
 * with non-blocking sends; what they miss they read from the shadow log.
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
	cfg_forget_secrets(w->cfg, NULL, false);
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

/*
 * When syncs run: every monitor-interval, and sooner after a change to the
 * database or its -wal (WATCH_DELAY_MS after it, so that a burst of commits
 * is one sync), but never closer than the gap to the previous sync. The gap
 * is the monitor-interval, or the shortest sync-interval of the database's
 * replicas when that is shorter. Uploaders upload as soon as frames arrive
 * (at most once per sync-interval), so under a steady writer a commit
 * reaches the replicas within about one gap, and the walreader wakes once
 * per gap instead of once per batch of commits. One timer serves both, so
 * the two never add up to two syncs close together.
 */
#define WATCH_DELAY_NS (NS_PER_SEC / 10)

struct pacer {
	struct wr *w;
	struct event *timer;
	int64_t interval;    /* monitor-interval */
	int64_t gap;         /* the shortest time between two syncs */
	int64_t last;        /* when the last sync ran */
	int64_t due;         /* when the timer fires */
	int fd;              /* inotify, -1 without (polling only) */
	struct event *ev;    /* fd readable */
	bool listening;
	char wal_name[256];
	char db_name[256];
};

static void
pacer_arm(struct pacer *p, int64_t due)
{
	int64_t wait = due - wr_now_ns();
	if (wait < 0)
		wait = 0;
	struct timeval tv = { .tv_sec = wait / NS_PER_SEC,
		.tv_usec = (wait % NS_PER_SEC) / 1000 };
	p->due = due;
	if (evtimer_add(p->timer, &tv) < 0)
		fatalx("cannot start timer");
}

/* Reads every queued event; whether one was about the database or its
 * -wal. */
static bool
watch_drain(struct pacer *p)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(p->fd, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *e = (const void *)q;
			if (e->len > 0 && (strcmp(e->name, p->wal_name) == 0 ||
			    strcmp(e->name, p->db_name) == 0))
				hit = true;
			q += sizeof(*e) + e->len;
		}
	}
	return hit;
}

/* One sync. Changes queued before it are about what it copies: they are
 * dropped, and the watch listens again. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pacer *p = arg;
	(void)fd;
	(void)what;

	if (p->fd >= 0) {
		(void)watch_drain(p);
		if (!p->listening && event_add(p->ev, NULL) < 0)
			fatalx("cannot watch the database directory");
		p->listening = true;
	}
	wr_sync(p->w);
	p->last = wr_now_ns();
	int64_t due = wr_notice_due(p->w);
	pacer_arm(p, due < p->last + p->interval ? due : p->last + p->interval);
}

/*
 * A change in the directory: the next sync moves closer. Until it runs the
 * watch stops listening, so that a busy writer (an event per commit) wakes
 * the walreader once per sync, not once per commit.
 */
static void
on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct pacer *p = arg;
	(void)fd;
	(void)what;

	if (!watch_drain(p))
		return;
	event_del(p->ev);
	p->listening = false;
	int64_t due = wr_now_ns() + WATCH_DELAY_NS;
	/* A WAL past the max checkpoint threshold is not left to grow for
	 * the rest of the gap, nor a pin on read lock 0 under a writer. */
	if (due < p->last + p->gap && !wr_sync_soon(p->w))
		due = p->last + p->gap;
	if (due < p->due)
		pacer_arm(p, due);
}

/* Best effort: without the watch, the monitor-interval timer still runs. */
static void
watch_open(struct pacer *p)
{
	char dir[4096];
	const char *path = p->w->db->path;
	const char *slash = strrchr(path, '/');
	if (slash == NULL || strlen(slash + 1) + 5 > sizeof(p->wal_name))
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(p->db_name, sizeof(p->db_name), "%s", slash + 1);
	snprintf(p->wal_name, sizeof(p->wal_name), "%s-wal", slash + 1);
	p->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->fd < 0 || inotify_add_watch(p->fd, dir[0] ? dir : "/",
	    IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		log_warn("cannot watch the database directory, polling only",
		    KV_S("path", dir), KV_ERR());
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
		return;
	}
	p->ev = event_new(p->w->base, p->fd, EV_READ | EV_PERSIST, on_inotify,
	    p);
	if (p->ev == NULL || event_add(p->ev, NULL) < 0)
		fatalx("cannot watch the database directory");
	p->listening = true;
}

static void
pacer_open(struct pacer *p, struct wr *w)
{
	memset(p, 0, sizeof(*p));
	p->w = w;
	p->fd = -1;
	p->interval = w->db->monitor_interval > 0 ? w->db->monitor_interval :
	    NS_PER_SEC;
	p->gap = p->interval;
	int64_t shortest = 0;
	for (size_t i = 0; i < w->db->nreplicas; i++) {
		int64_t si = w->db->replicas[i].sync_interval;
		if (si > 0 && si < p->gap)
			p->gap = si;
		if (si <= 0)
			si = CFG_DEFAULT_SYNC_INTERVAL;
		if (shortest == 0 || si < shortest)
			shortest = si;
	}
	w->notice_gap_ns = wr_notice_gap(shortest);
	if ((p->timer = evtimer_new(w->base, on_timer, p)) == NULL)
		fatalx("cannot start timer");
	watch_open(p);
}

static void
pacer_close(struct pacer *p)
{
	if (p->ev)
		event_free(p->ev);
	if (p->timer)
		event_free(p->timer);
	if (p->fd >= 0)
		close(p->fd);
}

int
walreader_main(int argc, char **argv)
{
	struct wr w;
	struct pacer pc;
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
	pacer_open(&pc, &w);
	pacer_arm(&pc, wr_now_ns()); /* the first sync at once */
	event_base_dispatch(w.base);

	pacer_close(&pc);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	wr_close(&w);
	event_base_free(w.base);
	free(w.replica_eps);
	cfg_free(w.cfg);
	return 0;
}
