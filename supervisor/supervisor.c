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

#include "config.h"
#include "endpoints.h"
#include "log.h"
#include "msg.h"
#include "sv.h"

#define SV_STOP_TIMEOUT_S 15	/* SIGTERM to SIGKILL */
#define SV_KILL_GRACE_S 5	/* SIGKILL to giving up on the reaping */

extern char **environ;

enum sv_phase {
	SV_RUNNING = 0,
	SV_STOPPING,		/* SIGTERM sent, waiting for the deadline */
	SV_KILLING,		/* deadline passed, SIGKILL sent */
};

struct sv {
	struct event_base *base;
	struct event *sig_chld, *sig_term, *sig_int, *sig_hup;
	struct event *deadline;
	struct child *children;
	size_t nchildren;
	char *rundir;
	char **envp;
	int devnull;
	enum sv_phase phase;
	bool killed;		/* some child needed SIGKILL */
	struct sv_status *status;
	char *config;		/* absolute: children may chdir */
};

struct event_base *
sv_base(struct sv *sv)
{
	return sv->base;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
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
		if (sv->children[i].fsm.state != CHILD_FAILED)
			return;
	}
	log_error("every child has failed; nothing is being replicated");
}

/* Feeds EV to C's state machine and carries out what it returns. */
static void
child_event(struct sv *sv, struct child *c, enum child_event ev, int wstatus)
{
	enum child_state before = c->fsm.state;
	unsigned todo = child_fsm_event(&c->fsm, ev, now_ns(), wstatus);

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
}

static void
start_child(struct sv *sv, struct child *c)
{
	pid_t pid = sv_spawn(SV_SELF_EXE, c->argv, sv->envp, sv->devnull);

	if (pid < 0) {
		LOG_CHILD(LOG_LEVEL_ERROR, "cannot start child", c, KV_ERR());
		/* The same as a child whose exec failed. */
		child_event(sv, c, CHILD_EV_EXIT, W_EXITCODE(127, 0));
		return;
	}
	c->pid = pid;
	LOG_CHILD(LOG_LEVEL_INFO, "starting child", c);
}

static struct child *
find_pid(struct sv *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->nchildren; i++) {
		if (sv->children[i].pid == pid)
			return &sv->children[i];
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
		if (sv->children[i].pid > 0)
			return;
	}
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
	child_event(sv, c, CHILD_EV_EXIT, wstatus);
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
on_restart_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	child_event(c->sv, c, CHILD_EV_TIMER, 0);
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
		struct child *c = &sv->children[i];
		if (c->pid <= 0)
			continue;
		LOG_CHILD(LOG_LEVEL_WARN, "child did not stop in time, killing",
		    c, KV_I("timeout_s", SV_STOP_TIMEOUT_S));
		child_event(sv, c, CHILD_EV_KILL, 0);
	}
	evtimer_add(sv->deadline, &tv);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sv *sv = arg;
	struct timeval tv = { .tv_sec = SV_STOP_TIMEOUT_S };
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";

	(void)what;
	if (sv->phase != SV_RUNNING) {
		log_warn("second stop signal, killing every child",
		    KV_S("signal", name));
		for (size_t i = 0; i < sv->nchildren; i++)
			child_event(sv, &sv->children[i], CHILD_EV_KILL, 0);
		event_base_loopbreak(sv->base);
		return;
	}
	log_info("stopping", KV_S("signal", name));
	sv->phase = SV_STOPPING;
	for (size_t i = 0; i < sv->nchildren; i++)
		child_event(sv, &sv->children[i], CHILD_EV_STOP, 0);
	evtimer_add(sv->deadline, &tv);
	check_done(sv);
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	log_info("reload not supported yet", KV_S("signal", "SIGHUP"));
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
	if (m->flags & MSG_F_READY)
		child_event(sv, c, CHILD_EV_READY, 0);
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
build_children(struct sv *sv, const struct cfg *cfg, const char *config,
    bool expand_env)
{
	size_t n = 0, k = 0;
	uint32_t seed = (uint32_t)getpid() ^ (uint32_t)now_ns();

	for (size_t d = 0; d < cfg->ndbs; d++)
		n += 1 + cfg->dbs[d].nreplicas;
	if (n > 0)
		n++;	/* the compactor */
	if (n == 0) {
		log_error("no databases specified in configuration");
		return -1;
	}
	if ((sv->children = calloc(n, sizeof(*sv->children))) == NULL) {
		log_error("out of memory");
		return -1;
	}
	for (size_t d = 0; d < cfg->ndbs; d++) {
		for (size_t r = 0; r <= cfg->dbs[d].nreplicas; r++) {
			struct child *c = &sv->children[k++];
			c->role = r == 0 ? SV_WALREADER : SV_UPLOADER;
			c->db_id = (uint32_t)d;
			c->db_path = cfg->dbs[d].path;
			if (r > 0) {
				c->replica_id = (uint32_t)(r - 1);
				c->replica_name =
				    cfg->dbs[d].replicas[r - 1].name;
			}
			c->sv = sv;
			child_fsm_init(&c->fsm,
			    seed + (uint32_t)k * 2654435761u);
			sv_child_argv(c, config, expand_env, sv->rundir);
		}
	}
	struct child *c = &sv->children[k++];
	c->role = SV_COMPACTOR;
	c->sv = sv;
	child_fsm_init(&c->fsm, seed + (uint32_t)k * 2654435761u);
	sv_child_argv(c, config, expand_env, sv->rundir);
	sv->nchildren = n;
	return 0;
}

/* Every endpoint path must fit a Unix socket address: refuse now, not in a
 * child. */
static int
check_endpoints(struct sv *sv, const struct cfg *cfg)
{
	uint32_t maxr = 0;
	char err[256];

	for (size_t d = 0; d < cfg->ndbs; d++) {
		if (cfg->dbs[d].nreplicas > maxr)
			maxr = (uint32_t)cfg->dbs[d].nreplicas;
	}
	if (endpoints_check(sv->rundir, (uint32_t)cfg->ndbs, maxr, err,
	    sizeof(err)) < 0) {
		log_error("runtime directory unusable for ipc sockets",
		    KV_S("path", sv->rundir), KV_ERRS(err));
		return -1;
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
	for (size_t i = 0; i < sv->nchildren; i++) {
		struct child *c = &sv->children[i];
		if ((c->timer = evtimer_new(sv->base, on_restart_timer, c)) ==
		    NULL)
			return -1;
	}
	return 0;
}

static void
teardown(struct sv *sv)
{
	sv_status_close(sv->status);
	for (size_t i = 0; i < sv->nchildren; i++) {
		if (sv->children[i].timer != NULL)
			event_free(sv->children[i].timer);
	}
	struct event *evs[] = { sv->sig_chld, sv->sig_term, sv->sig_int,
		sv->sig_hup, sv->deadline };
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (evs[i] != NULL)
			event_free(evs[i]);
	}
	if (sv->base != NULL)
		event_base_free(sv->base);
	free(sv->children);
	sv_rundir_remove(sv->rundir);
	free(sv->rundir);
	sv_env_free(sv->envp);
	free(sv->config);
	if (sv->devnull >= 0)
		close(sv->devnull);
}

int
supervisor_run(struct cfg *cfg, const char *config_path, bool expand_env)
{
	struct sv sv = { .devnull = -1 };
	int status = 1;

	log_set_role("supervisor");
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
	if (build_children(&sv, cfg, sv.config, expand_env) < 0 ||
	    check_endpoints(&sv, cfg) < 0)
		goto out;
	/* Built before any thread exists (the status socket's). */
	if ((sv.envp = sv_env_build(environ, getpid())) == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (setup_events(&sv) < 0) {
		log_error("cannot set up the event loop");
		goto out;
	}
	if ((sv.status = sv_status_open(&sv, sv.rundir)) == NULL)
		goto out;
	log_info("supervisor started", KV_S("config", sv.config),
	    KV_S("rundir", sv.rundir), KV_U("children", sv.nchildren));
	for (size_t i = 0; i < sv.nchildren; i++)
		child_event(&sv, &sv.children[i], CHILD_EV_START, 0);

	if (event_base_dispatch(sv.base) < 0) {
		log_error("event loop failed");
		goto out;
	}
	if (sv.phase == SV_RUNNING) {
		log_error("event loop ended unexpectedly");
		goto out;
	}
	status = sv.killed ? 1 : 0;
	log_info("supervisor stopped", KV_I("status", status));
out:
	teardown(&sv);
	return status;
}
