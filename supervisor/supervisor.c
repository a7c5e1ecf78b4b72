/*
 * supervisor: supervisor_run(), the parent of every walship process role.
 *
 * Design (after s6-supervise and smtpd's parent):
 *  - One struct child per role instance: a walreader per database, an
 *    uploader per (database, replica), and one compactor. Its restart policy is the pure state
 *    machine of child_fsm.c; this file only carries out what the machine
 *    returns (spawn, signal, arm or cancel the restart timer) and feeds it
 *    events: START at boot, TIMER when a backoff ends, READY from the status
 *    endpoint, EXIT from waitpid, STOP and KILL while shutting down.
 *  - Every signal is a libevent signal event; no work runs in a raw
 *    handler. SIGCHLD only reaps, with a waitpid(-1, WNOHANG) loop because
 *    signals coalesce. Restart delays are evtimers, never sleeps.
 *  - A child's death touches that child only. One that dies
 *    CHILD_FAIL_DEATHS times in CHILD_FAIL_WINDOW_NS, or exits with
 *    CHILD_EXIT_CONFIG, is FAILED: logged, never restarted, and the others
 *    carry on.
 *  - SIGTERM/SIGINT: SIGTERM to every child, SIGKILL to those still there
 *    after SV_STOP_TIMEOUT_S; exit 0 if all stopped on SIGTERM, 1 if any
 *    had to be killed. A second SIGTERM/SIGINT kills everything at once.
 *    Children also get SIGTERM if the supervisor dies (PR_SET_PDEATHSIG).
 *    With -exec the signal goes to the application instead, and its exit
 *    stops the tree (app.c).
 *  - SIGHUP reloads the config (reload.c); the child table (children.c)
 *    grows and shrinks, children keep their endpoint numbers.
 *  - systemd hears READY=1 once every walreader is ready, STOPPING=1, and
 *    WATCHDOG=1 from a timer of this loop (sdnotify.c).
 *  - The runtime directory is created first and removed on every return.
 */
#include "supervisor.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "endpoints.h"
#include "log.h"
#include "msg.h"
#include "sv.h"

#define SV_STOP_TIMEOUT_S 15	/* SIGTERM to SIGKILL */
#define SV_KILL_GRACE_S 5	/* SIGKILL to giving up on the reaping */

extern char **environ;

struct event_base *
sv_base(struct sv *sv)
{
	return sv->base;
}

/* Logs MSG with the child's identity first, then the extra attributes. */
static void
log_child(enum log_level level, const char *msg, const struct child *c,
    const struct log_kv *extra, size_t nextra)
{
	struct log_kv kv[12];
	size_t n = 0;

	kv[n++] = KV_S("child", sv_role_name(c->role));
	if (c->db_path != NULL)
		kv[n++] = KV_S("db", c->db_path);
	if (c->role == SV_UPLOADER)
		kv[n++] = KV_S("replica", c->replica_name);
	if (c->pid > 0)
		kv[n++] = KV_I("pid", (long long)c->pid);
	for (size_t i = 0; i < nextra && n < sizeof(kv) / sizeof(kv[0]); i++)
		kv[n++] = extra[i];
	log_emit(level, msg, kv, n);
}

#define LOG_CHILD(level, msg, c, ...) \
	log_child((level), (msg), (c), LOG_KVS_(__VA_ARGS__))

static void start_child(struct sv *sv, struct child *c);

static void
child_failed(struct sv *sv, struct child *c)
{
	if (c->fsm.fail == CHILD_FAIL_DEATHS_BURST)
		LOG_CHILD(LOG_LEVEL_ERROR, "child failed, retrying at the "
		    "longest backoff", c,
		    KV_S("reason", child_fsm_fail_name(c->fsm.fail)),
		    KV_I("deaths", CHILD_FAIL_DEATHS),
		    KV_I("window_s", CHILD_FAIL_WINDOW_NS / 1000000000LL),
		    KV_I("retry_s", CHILD_BACKOFF_MAX_MS / 1000));
	else
		LOG_CHILD(LOG_LEVEL_ERROR, "child failed, not restarting", c,
		    KV_S("reason", child_fsm_fail_name(c->fsm.fail)));
	for (size_t i = 0; i < sv->nchildren; i++) {
		if (sv->children[i]->fsm.state != CHILD_FAILED)
			return;
	}
	log_error("every child has failed; nothing is being replicated");
}

/*
 * Readiness, told to systemd once: every walreader has reported READY (it
 * holds its database's read lock, so from now on no commit is missed), or
 * has failed, which is logged and must not keep the other databases from
 * being replicated. The -exec application starts at the same moment.
 */
static void
check_ready(struct sv *sv)
{
	if (sv->ready_sent || sv->phase != SV_RUNNING)
		return;
	for (size_t i = 0; i < sv->nchildren; i++) {
		const struct child *c = sv->children[i];
		if (c->role == SV_WALREADER && c->fsm.state != CHILD_UP &&
		    c->fsm.state != CHILD_FAILED && c->fsm.ready_at < 0)
			return;
	}
	sv->ready_sent = true;
	log_info("every database is being replicated");
	sv_notify_send(sv->notify, "READY=1\nSTATUS=replicating");
	if (sv->app != NULL && sv_app_start(sv->app) < 0)
		sv_stop(sv, "cannot start the -exec command");
}

void
sv_child_event(struct sv *sv, struct child *c, enum child_event ev,
    int wstatus)
{
	enum child_state before = c->fsm.state;
	unsigned todo = child_fsm_event(&c->fsm, ev, clock_mono_ns(), wstatus);

	if (todo & CHILD_DO_DISARM)
		evtimer_del(c->timer);
	if ((todo & CHILD_DO_TERM) && c->pid > 0 && kill(c->pid, SIGTERM) < 0)
		LOG_CHILD(LOG_LEVEL_WARN, "cannot signal child", c, KV_ERR());
	if ((todo & CHILD_DO_KILL) && c->pid > 0) {
		sv->killed = true;
		if (kill(c->pid, SIGKILL) < 0)
			LOG_CHILD(LOG_LEVEL_WARN, "cannot kill child", c,
			    KV_ERR());
	}
	if (todo & CHILD_DO_ARM) {
		struct timeval tv = {
			.tv_sec = c->fsm.delay_ms / 1000,
			.tv_usec = (c->fsm.delay_ms % 1000) * 1000,
		};
		evtimer_add(c->timer, &tv);
		LOG_CHILD(LOG_LEVEL_INFO, "restarting child", c,
		    KV_I("delay_ms", c->fsm.delay_ms));
	}
	if (before != CHILD_FAILED && c->fsm.state == CHILD_FAILED)
		child_failed(sv, c);
	if (before == CHILD_STARTING && c->fsm.state == CHILD_UP)
		LOG_CHILD(LOG_LEVEL_INFO, "child ready", c);
	if (todo & CHILD_DO_SPAWN)
		start_child(sv, c);
	if (c->fsm.state == CHILD_UP || c->fsm.state == CHILD_FAILED)
		check_ready(sv);
}

/* Only S3 uploaders and the compactor (which deletes from every replica)
 * get the AWS_* credential variables; the config in force says which
 * replica is S3 (a reload may change its type). */
static bool
wants_credentials(const struct sv *sv, const struct child *c)
{
	const struct cfg_db *db;
	const struct cfg_replica *r;

	if (c->role == SV_COMPACTOR)
		return true;
	if (c->role != SV_UPLOADER ||
	    (db = cfg_find_db(sv->cfg, c->db_path)) == NULL ||
	    (r = cfg_find_replica(db, c->replica_name)) == NULL)
		return false;
	return r->type == CFG_REPLICA_S3;
}

static void
start_child(struct sv *sv, struct child *c)
{
	pid_t pid = sv_spawn(SV_SELF_EXE, c->argv, wants_credentials(sv, c) ?
	    sv->envp_creds : sv->envp, sv->devnull);

	if (pid < 0) {
		LOG_CHILD(LOG_LEVEL_ERROR, "cannot start child", c, KV_ERR());
		/* The same as a child whose exec failed. */
		sv_child_event(sv, c, CHILD_EV_EXIT, W_EXITCODE(127, 0));
		return;
	}
	c->pid = pid;
	LOG_CHILD(LOG_LEVEL_INFO, "starting child", c);
}

static struct child *
find_pid(struct sv *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->nchildren; i++) {
		if (sv->children[i]->pid == pid)
			return sv->children[i];
	}
	return NULL;
}

/* Once stopping, the loop ends when no child process is left. */
static void
check_done(struct sv *sv)
{
	if (sv->phase == SV_RUNNING)
		return;
	for (size_t i = 0; i < sv->nchildren; i++) {
		if (sv->children[i]->pid > 0)
			return;
	}
	if (sv_app_running(sv->app))
		return;
	event_base_loopexit(sv->base, NULL);
}

static void
child_exited(struct sv *sv, struct child *c, int wstatus)
{
	char why[64];
	bool asked = c->fsm.state == CHILD_STOPPING;

	child_fsm_describe_status(wstatus, why, sizeof(why));
	LOG_CHILD(asked ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "child exited", c,
	    KV_S("status", why));
	c->pid = 0;
	c->status_len = 0;
	sv_child_event(sv, c, CHILD_EV_EXIT, wstatus);
	if (c->fsm.state != CHILD_DOWN)
		return;
	/* A stop a reload asked for: the child leaves, or comes back with
	 * the new config (unless the whole tree is stopping meanwhile). */
	if (c->removing) {
		LOG_CHILD(LOG_LEVEL_INFO, "child removed by reload", c);
		sv_child_remove(sv, c);
	} else if (c->restart) {
		c->restart = false;
		if (sv->phase == SV_RUNNING)
			sv_child_event(sv, c, CHILD_EV_START, 0);
	}
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct sv *sv = arg;
	struct child *c;
	pid_t pid;
	int st;

	(void)sig;
	(void)what;
	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break; /* none left (0), or no children (ECHILD) */
		if (sv_app_reaped(sv->app, pid, st))
			continue;
		if ((c = find_pid(sv, pid)) == NULL) {
			log_debug("reaped an unknown process",
			    KV_I("pid", (long long)pid));
			continue;
		}
		child_exited(sv, c, st);
	}
	check_done(sv);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct sv *sv = arg;
	struct timeval tv = { .tv_sec = SV_KILL_GRACE_S };

	(void)fd;
	(void)what;
	if (sv->phase == SV_KILLING) {
		log_error("children still not reaped after SIGKILL, exiting");
		event_base_loopbreak(sv->base);
		return;
	}
	sv->phase = SV_KILLING;
	for (size_t i = 0; i < sv->nchildren; i++) {
		struct child *c = sv->children[i];
		if (c->pid <= 0)
			continue;
		LOG_CHILD(LOG_LEVEL_WARN, "child did not stop in time, killing",
		    c, KV_I("timeout_s", SV_STOP_TIMEOUT_S));
		sv_child_event(sv, c, CHILD_EV_KILL, 0);
	}
	sv_app_kill(sv->app);
	evtimer_add(sv->deadline, &tv);
}

/* Stops every child; KV says why, in the log line. */
static void
stop_all(struct sv *sv, struct log_kv kv)
{
	struct timeval tv = { .tv_sec = SV_STOP_TIMEOUT_S };

	if (sv->phase != SV_RUNNING)
		return;
	log_info("stopping", kv);
	sv_notify_send(sv->notify, "STOPPING=1");
	sv->phase = SV_STOPPING;
	for (size_t i = 0; i < sv->nchildren; i++)
		sv_child_event(sv, sv->children[i], CHILD_EV_STOP, 0);
	evtimer_add(sv->deadline, &tv);
	check_done(sv);
}

void
sv_stop(struct sv *sv, const char *why)
{
	stop_all(sv, KV_S("reason", why));
}

/*
 * SIGTERM/SIGINT. With -exec the signal goes to the application first, and
 * replication stops once it has exited (as Litestream does); without, the
 * tree stops now. A second signal kills everything at once.
 */
static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sv *sv = arg;
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";

	(void)what;
	if (sv->phase != SV_RUNNING || sv_app_signalled(sv->app)) {
		log_warn("second stop signal, killing every child",
		    KV_S("signal", name));
		for (size_t i = 0; i < sv->nchildren; i++)
			sv_child_event(sv, sv->children[i], CHILD_EV_KILL, 0);
		sv_app_kill(sv->app);
		event_base_loopbreak(sv->base);
		return;
	}
	if (sv_app_forward(sv->app, (int)sig))
		return;
	stop_all(sv, KV_S("signal", name));
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct sv *sv = arg;

	(void)sig;
	(void)what;
	if (sv->phase != SV_RUNNING) {
		log_warn("stopping; SIGHUP ignored");
		return;
	}
	sv_notify_send(sv->notify, "RELOADING=1");
	sv_reload(sv);
	sv_notify_send(sv->notify, "READY=1\nSTATUS=replicating");
}

void
sv_on_status(struct sv *sv, const struct msg *m)
{
	struct child *c;

	if (m->type != MSG_STATUS)
		return;
	if ((c = sv_status_sender(sv->children, sv->nchildren, m)) == NULL) {
		log_debug("status from an unknown child",
		    KV_U("db_id", m->db_id));
		return;
	}
	if (m->payload_len <= sizeof(c->status)) {
		memcpy(c->status, m->payload, m->payload_len);
		c->status_len = m->payload_len;
	}
	if (m->flags & MSG_F_READY)
		sv_child_event(sv, c, CHILD_EV_READY, 0);
}

/* fds 0-2 open, so that no later descriptor (the children's stdin
 * source, a socket) takes one of their numbers. */
static int
valid_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n != fd) {
			if (n >= 0)
				close(n);
			return -1;
		}
	}
	return 0;
}

static int
setup_events(struct sv *sv)
{
	if ((sv->base = event_base_new()) == NULL)
		return -1;
	sv->sig_chld = evsignal_new(sv->base, SIGCHLD, on_sigchld, sv);
	sv->sig_term = evsignal_new(sv->base, SIGTERM, on_stop_signal, sv);
	sv->sig_int = evsignal_new(sv->base, SIGINT, on_stop_signal, sv);
	sv->sig_hup = evsignal_new(sv->base, SIGHUP, on_sighup, sv);
	sv->deadline = evtimer_new(sv->base, on_deadline, sv);
	if (sv->sig_chld == NULL || sv->sig_term == NULL ||
	    sv->sig_int == NULL || sv->sig_hup == NULL || sv->deadline == NULL)
		return -1;
	if (evsignal_add(sv->sig_chld, NULL) < 0 ||
	    evsignal_add(sv->sig_term, NULL) < 0 ||
	    evsignal_add(sv->sig_int, NULL) < 0 ||
	    evsignal_add(sv->sig_hup, NULL) < 0)
		return -1;
	return 0;
}

static void
teardown(struct sv *sv)
{
	sv_report_close(sv->report);
	sv_status_close(sv->status);
	sv_notify_close(sv->notify);
	sv_app_free(sv->app);
	while (sv->nchildren > 0)
		sv_child_remove(sv, sv->children[sv->nchildren - 1]);
	free(sv->children);
	struct event *evs[] = { sv->sig_chld, sv->sig_term, sv->sig_int,
		sv->sig_hup, sv->deadline };
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (evs[i] != NULL)
			event_free(evs[i]);
	}
	if (sv->base != NULL)
		event_base_free(sv->base);
	sv_rundir_remove(sv->rundir);
	free(sv->rundir);
	sv_env_free(sv->envp);
	sv_env_free(sv->envp_creds);
	free(sv->config);
	cfg_free(sv->cfg);
	if (sv->devnull >= 0)
		close(sv->devnull);
}

/* The children of every database, their endpoints checked. */
static int
build_children(struct sv *sv)
{
	if (sv->cfg->ndbs == 0) {
		log_error("no databases specified in configuration");
		return -1;
	}
	for (size_t d = 0; d < sv->cfg->ndbs; d++) {
		if (sv_children_add_db(sv, &sv->cfg->dbs[d]) < 0)
			return -1;
	}
	if (sv_child_add(sv, SV_COMPACTOR, NULL, NULL, 0, 0) == NULL) {
		log_error("out of memory");
		return -1;
	}
	return sv_children_check_endpoints(sv);
}

/* The exit status of supervisor_run() once the loop has ended. */
static int
final_status(struct sv *sv)
{
	if (sv->app != NULL)
		return sv_app_status(sv->app, sv->killed);
	return sv->killed ? 1 : 0;
}

int
supervisor_run(struct cfg *cfg, const char *config_path, bool expand_env,
    char *const *exec_argv)
{
	struct sv sv = { .devnull = -1, .cfg = cfg, .expand_env = expand_env };
	int status = 1;

	log_set_role("supervisor");
	sv.seed = (uint32_t)getpid() ^ (uint32_t)clock_mono_ns();
	if (config_path == NULL)
		config_path = cfg->file != NULL ? cfg->file :
		    cfg_default_path();
	if ((sv.config = cfg_abs_path(config_path)) == NULL) {
		log_error("cannot resolve config path",
		    KV_S("path", config_path), KV_ERR());
		goto out;
	}
	if (valid_std_fds() < 0 ||
	    (sv.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		log_error("cannot open /dev/null", KV_ERR());
		goto out;
	}
	/* Children get SIGPIPE back at its default before exec. */
	(void)signal(SIGPIPE, SIG_IGN);
	if ((sv.rundir = sv_rundir_create()) == NULL)
		goto out;
	if (setup_events(&sv) < 0) {
		log_error("cannot set up the event loop");
		goto out;
	}
	if (build_children(&sv) < 0)
		goto out;
	if (exec_argv != NULL &&
	    (sv.app = sv_app_new(&sv, exec_argv, sv.devnull)) == NULL)
		goto out;
	/* Built before any thread exists (the status socket's). */
	if ((sv.envp = sv_env_build(environ, getpid(), false)) == NULL ||
	    (sv.envp_creds = sv_env_build(environ, getpid(), true)) == NULL) {
		log_error("out of memory");
		goto out;
	}
	if ((sv.status = sv_status_open(&sv, sv.rundir)) == NULL ||
	    (sv.report = sv_report_open(&sv, cfg->addr)) == NULL)
		goto out;
	if ((sv.notify = sv_notify_open(sv.base)) == NULL ||
	    sv_rundir_own(cfg, sv.rundir) < 0)
		goto out;
	log_info("supervisor started", KV_S("config", sv.config),
	    KV_S("rundir", sv.rundir), KV_U("children", sv.nchildren));
	for (size_t i = 0; i < sv.nchildren && sv.phase == SV_RUNNING; i++)
		sv_child_event(&sv, sv.children[i], CHILD_EV_START, 0);

	if (event_base_dispatch(sv.base) < 0) {
		log_error("event loop failed");
		goto out;
	}
	if (sv.phase == SV_RUNNING) {
		log_error("event loop ended unexpectedly");
		goto out;
	}
	status = final_status(&sv);
	log_info("supervisor stopped", KV_I("status", status));
out:
	teardown(&sv);
	return status;
}
