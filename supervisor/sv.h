/*
 * sv: what the supervisor's files share. Not for other modules: they use
 * supervisor.h.
 *
 *   supervisor.c  supervisor_run: children, signals, the event loop
 *   children.c    the child table: create, find, free
 *   reload.c      SIGHUP: load the config again, diff, apply
 *   app.c         replicate -exec: the application child
 *   sdnotify.c    systemd's notification protocol (READY, WATCHDOG, ...)
 *   child_fsm.c   the restart policy, a pure state machine
 *   spawn.c       a child's argv and environment, fork + exec
 *   rundir.c      the private runtime directory
 *   statusmsg.c   which child a MSG_STATUS comes from
 *   status.c      the status endpoint (children's MSG_STATUS)
 */
#ifndef WALSHIP_SV_H
#define WALSHIP_SV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "child_fsm.h"

/* Room for a child's status payload (ipc/msg.h MSG_MAX_STATUS). */
#define MSG_STATUS_CAP 4096

struct cfg;
struct cfg_db;
struct event;
struct event_base;
struct msg;
struct sv;
struct sv_app;
struct sv_notify;
struct sv_status;

enum sv_role {
	SV_WALREADER = 0,
	SV_UPLOADER,
	SV_COMPACTOR,		/* one for all replicas: no db, no replica */
};

/* Room for the longest argv: walship __role uploader, 14 arguments, NULL. */
#define SV_MAX_ARGV 20

/*
 * One supervised process: a walreader, an uploader of one replica, or
 * the compactor (db_path "", no replica). A
 * child is known by its database path and replica name, which survive a
 * reload; db_id and replica_id are only the numbers of its IPC endpoints
 * (ipc/endpoints.h), given once and kept for the child's whole life, so
 * that a reload that adds or removes a database leaves the endpoints of
 * the others where they are.
 */
struct child {
	enum sv_role role;
	uint32_t db_id;		/* endpoint number of the database */
	uint32_t replica_id;	/* endpoint number of the replica (uploader) */
	char *db_path;		/* owned (may be a test's literal); "": compactor */
	char *replica_name;	/* owned; NULL for a walreader */
	/* walreader: the replica_id of each of its database's replicas, in
	 * config order ("0,2,1"); owned, NULL when it has none. */
	char *replica_ids;
	pid_t pid;		/* 0 when no process is running */
	struct event *timer;	/* the restart timer */
	struct sv *sv;
	struct child_fsm fsm;
	bool restart;		/* reload: start again once it has stopped */
	bool removing;		/* reload: free once it has stopped */
	char *argv[SV_MAX_ARGV];
	char db_id_s[16];
	char replica_id_s[16];
	/* The running instance's last MSG_STATUS payload ("key=value\n"
	 * lines, validated by ipc/), for the metrics and the status file;
	 * status_len 0 until it reports, and again after it exits. */
	char status[MSG_STATUS_CAP];
	size_t status_len;
};

enum sv_phase {
	SV_RUNNING = 0,
	SV_STOPPING,		/* SIGTERM sent, waiting for the deadline */
	SV_KILLING,		/* deadline passed, SIGKILL sent */
};

/* The supervisor's state, shared by its files. */
struct sv {
	struct event_base *base;
	struct event *sig_chld, *sig_term, *sig_int, *sig_hup;
	struct event *deadline;
	struct child **children; /* each allocated alone: timers point at it */
	size_t nchildren;
	struct cfg *cfg;	/* the config in force (owned) */
	bool expand_env;
	char *rundir;
	char **envp;		/* for children without credentials */
	char **envp_creds;	/* for S3 uploaders */
	int devnull;
	enum sv_phase phase;
	bool killed;		/* some child needed SIGKILL */
	bool ready_sent;	/* READY=1 told to systemd */
	uint32_t seed;		/* jitter seeds of new children */
	struct sv_status *status;
	struct sv_report *report;
	struct sv_notify *notify;
	struct sv_app *app;	/* -exec: the application, or NULL */
	char *config;		/* absolute: children may chdir */
};

const char *sv_role_name(enum sv_role role);

/* spawn.c */

/*
 * Fills C->argv (pointing at C's own buffers and at the arguments, which
 * must outlive it): walship __role ROLE -config CONFIG [-no-expand-env]
 * -run RUNDIR [-db-id D -db PATH [-replica-id R -replica NAME]
 * (uploader) [-replica-ids LIST] (walreader with replicas)] (the compactor
 * has no database).
 */
void sv_child_argv(struct child *c, const char *config, bool expand_env,
    const char *rundir);

/*
 * ENVIRON without any CHILD_ENV_PARENT entry, plus CHILD_ENV_PARENT=PARENT;
 * without CREDENTIALS, also without the variables S3 keys are read from
 * (cfg_env_is_credential): only S3 uploaders get those.
 * A NULL-terminated malloc'd array whose last string is malloc'd too:
 * release with sv_env_free(). NULL on allocation failure.
 */
char **sv_env_build(char *const *environ_, pid_t parent, bool credentials);
void sv_env_free(char **env);

/* The binary children run: ours, even if the file was replaced since. */
#define SV_SELF_EXE "/proc/self/exe"

/*
 * Starts ARGV with fork + exec of EXE (SV_SELF_EXE) and environment ENVP:
 * stdin from DEVNULL, stdout and stderr inherited, every other fd closed,
 * signals reset, PR_SET_PDEATHSIG(SIGTERM). Returns the pid, or -1 with
 * errno set if fork failed (an exec failure shows as exit status 127).
 */
pid_t sv_spawn(const char *exe, char *const argv[], char *const envp[],
    int devnull);

/* rundir.c */

/*
 * "BASE/walship.XXXXXX" into BUF, BASE being the first entry of
 * RUNTIME_DIRECTORY (systemd's, ':'-separated), else XDG_RUNTIME_DIR, else
 * /tmp (NULL or "" counts as unset). -1 if it does not fit in LEN.
 */
int sv_rundir_template(char *buf, size_t len, const char *runtime_directory,
    const char *xdg_runtime_dir);
/* mkdtemp of the template from the environment; malloc'd path or NULL. */
char *sv_rundir_create(void);
/*
 * When the children switch to the service user (root, user: not root),
 * gives that user the runtime directory and the status socket in it, so
 * that they can bind and connect there (the directory stays 0700). 0, or
 * -1 after logging why (an unknown user included).
 */
int sv_rundir_own(const struct cfg *cfg, const char *dir);
/* Removes the directory and what the children left in it. */
void sv_rundir_remove(const char *dir);

/* statusmsg.c */

/*
 * Finds KEY in a MSG_STATUS payload ("key=value\n" lines) and copies its
 * value to VAL. Returns 0, or -1 if absent or too long for VAL.
 */
int sv_status_value(const uint8_t *payload, size_t len, const char *key,
    char *val, size_t vlen);
/* The child among CHILDREN[N] that sent status M (see statusmsg.c), or
 * NULL. */
struct child *sv_status_sender(struct child *const *children, size_t n,
    const struct msg *m);

/* status.c */

/*
 * Binds the status endpoint ipc://RUNDIR/status (PULL) on SV's event base;
 * every valid MSG_STATUS goes to sv_on_status(). NULL on error (logged).
 */
struct sv_status *sv_status_open(struct sv *sv, const char *rundir);
/* Unregisters and closes; NULL is a no-op. */
void sv_status_close(struct sv_status *st);

/* report.c: the metrics listener (cfg addr:) and the status files. */
struct sv_report;
/*
 * Starts serving /metrics on ADDR (NULL or "": no listener; an empty host
 * means 127.0.0.1) and writing each database's status file every
 * SV_REPORT_EVERY_S. NULL on error (logged).
 */
struct sv_report *sv_report_open(struct sv *sv, const char *addr);
void sv_report_close(struct sv_report *r);

/*
 * metrics_text.c: the Prometheus text of CHILDREN[N] into OUT; CFG (may
 * be NULL) gives each database's meta directory, for its free space.
 */
struct evbuffer;
int sv_metrics_render(struct evbuffer *out, struct child *const *children,
    size_t n, const struct cfg *cfg);

/* status_file.c */
#define SV_STATUS_FILE "walship/status"	/* under a database's meta dir */
#define SV_REPORT_EVERY_S 2
/*
 * The status file of database DB_ID among CHILDREN[N] into OUT:
 * "walship-status 1", supervisor_pid=, updated_unix=, then for each of
 * the database's children a block starting with component= (and
 * replica=), state=, restarts=, up_seconds=, followed by its last status
 * payload. Returns 0, or -1 when OUT is too small.
 */
int sv_status_file_render(char *out, size_t len, struct child *const *children,
    size_t n, uint32_t db_id, pid_t pid, int64_t wall_ns, int64_t mono_ns);
/* Writes it to META/walship/status (tmp + rename) when META/walship
 * exists; -1 with errno otherwise. */
int sv_status_file_write(const char *meta, const char *text);


/* supervisor.c: a decoded MSG_STATUS from some child. */
void sv_on_status(struct sv *sv, const struct msg *m);
/* supervisor.c: the event base (for status.c). */
struct event_base *sv_base(struct sv *sv);
/* supervisor.c: feeds EV to C's state machine and carries out what it
 * returns. */
void sv_child_event(struct sv *sv, struct child *c, enum child_event ev,
    int wstatus);
/* supervisor.c: stops every child (SIGTERM, then the deadline); what a
 * stop signal does, and what the end of the -exec application does. */
void sv_stop(struct sv *sv, const char *why);

/* children.c */

/*
 * A new child of ROLE for database DB_PATH (and replica REPLICA_NAME for an
 * uploader), with endpoint numbers DB_ID/REPLICA_ID, added to SV's table,
 * DOWN, its restart timer created on SV's base (when SV has one). NULL on
 * allocation failure.
 */
struct child *sv_child_add(struct sv *sv, enum sv_role role,
    const char *db_path, const char *replica_name, uint32_t db_id,
    uint32_t replica_id);
/* Takes C out of SV's table and frees it (its process must be gone). */
void sv_child_remove(struct sv *sv, struct child *c);
/* The child of ROLE for DB_PATH (and REPLICA_NAME), not one a reload is
 * removing, or NULL. */
struct child *sv_child_find(struct sv *sv, enum sv_role role,
    const char *db_path, const char *replica_name);
/*
 * Sets the walreader W's replica_ids from DB (the config of its database):
 * each replica's uploader's replica_id, in config order, then rebuilds every
 * argv of W's database. -1 on allocation failure or a missing uploader.
 */
int sv_child_link(struct sv *sv, struct child *w, const struct cfg_db *db);
/* The lowest endpoint number no database (DB_PATH NULL) or no replica of
 * DB_PATH uses. */
uint32_t sv_child_free_id(struct sv *sv, const char *db_path);
/* Adds the children of every database of CFG (on a fresh table, or the
 * databases a reload added). -1 on allocation failure (logged). */
int sv_children_add_db(struct sv *sv, const struct cfg_db *db);
/* Refuses endpoint numbers whose socket paths do not fit (logged). */
int sv_children_check_endpoints(struct sv *sv);

/* app.c: the -exec application (see app.c). */

/* A copy of ARGV (NULL-terminated, not empty) to start later, with stdin
 * from DEVNULL. NULL on error (logged). */
struct sv_app *sv_app_new(struct sv *sv, char *const *argv, int devnull);
void sv_app_free(struct sv_app *a);
/* Starts it (once). -1 if it could not be started (logged; its status is
 * then 127). */
int sv_app_start(struct sv_app *a);
bool sv_app_running(const struct sv_app *a);
/* Whether a stop signal was forwarded to it already. */
bool sv_app_signalled(const struct sv_app *a);
/* If PID is the application: records its exit, stops the tree, true. */
bool sv_app_reaped(struct sv_app *a, pid_t pid, int wstatus);
/* Forwards SIG to a running application: true; false if none runs. */
bool sv_app_forward(struct sv_app *a, int sig);
void sv_app_kill(struct sv_app *a);
/* walship's exit status: the application's (128 + N if killed by signal
 * N), or 1/0 after KILLED or not when it never ran. */
int sv_app_status(const struct sv_app *a, bool killed);

/* sdnotify.c: systemd's notification protocol (see sdnotify.c). */

/* The address of notification socket NAME ("/path" or "@abstract") into
 * SA and LEN; -1 if NAME is neither or too long. */
int sv_notify_addr(const char *name, struct sockaddr_un *sa,
    socklen_t *len);
/* The watchdog interval in µs from WATCHDOG_USEC and WATCHDOG_PID (may be
 * NULL) for process SELF; 0 when off or meant for another process. */
long long sv_notify_watchdog_usec(const char *usec, const char *pid,
    pid_t self);
/* From the environment; inert (sends nothing) without NOTIFY_SOCKET.
 * NULL on error (logged). */
struct sv_notify *sv_notify_open(struct event_base *base);
/* Sends MSG ("READY=1", ...); NULL or inert: nothing. */
void sv_notify_send(struct sv_notify *n, const char *msg);
void sv_notify_close(struct sv_notify *n);

/* reload.c: SIGHUP. Loads sv->config again; on errors logs them and keeps
 * the running config; else applies the difference. */
void sv_reload(struct sv *sv);

#endif
