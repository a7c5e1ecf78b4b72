/*
 * sv: what the supervisor's files share. Not for other modules: they use
 * supervisor.h.
 *
 *   supervisor.c  supervisor_run: children, signals, the event loop
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
#include <sys/types.h>

#include "child_fsm.h"

/* Room for a child's status payload (ipc/msg.h MSG_MAX_STATUS). */
#define MSG_STATUS_CAP 4096

struct event;
struct msg;
struct sv;
struct sv_status;

enum sv_role {
	SV_WALREADER = 0,
	SV_UPLOADER,
};

/* Room for the longest argv: walship __role uploader, 14 arguments, NULL. */
#define SV_MAX_ARGV 20

/* One supervised process: a walreader, or an uploader of one replica. */
struct child {
	enum sv_role role;
	uint32_t db_id;		/* index in cfg->dbs */
	uint32_t replica_id;	/* index in the db's replicas (uploader) */
	const char *db_path;	/* borrowed from the cfg */
	const char *replica_name; /* borrowed; NULL for a walreader */
	pid_t pid;		/* 0 when no process is running */
	struct event *timer;	/* the restart timer */
	struct sv *sv;
	struct child_fsm fsm;
	char *argv[SV_MAX_ARGV];
	char db_id_s[16];
	char replica_id_s[16];
	const char *meta_path;	/* borrowed from the cfg */
	const char *replica_type; /* "file", "s3"; NULL for a walreader */
	/* The running instance's last MSG_STATUS payload ("key=value\n"
	 * lines, validated by ipc/), for the metrics and the status file;
	 * status_len 0 until it reports, and again after it exits. */
	char status[MSG_STATUS_CAP];
	size_t status_len;
};

const char *sv_role_name(enum sv_role role);

/* spawn.c */

/*
 * Fills C->argv (pointing at C's own buffers and at the arguments, which
 * must outlive it): walship __role ROLE -config CONFIG [-no-expand-env]
 * -run RUNDIR -db-id D -db PATH [-replica-id R -replica NAME].
 */
void sv_child_argv(struct child *c, const char *config, bool expand_env,
    const char *rundir);

/*
 * ENVIRON without any CHILD_ENV_PARENT entry, plus CHILD_ENV_PARENT=PARENT.
 * A NULL-terminated malloc'd array whose last string is malloc'd too:
 * release with sv_env_free(). NULL on allocation failure.
 */
char **sv_env_build(char *const *environ_, pid_t parent);
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
struct child *sv_status_sender(struct child *children, size_t n,
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
struct cfg;
/*
 * Starts serving /metrics on ADDR (NULL or "": no listener; an empty host
 * means 127.0.0.1) and writing each database's status file every
 * SV_REPORT_EVERY_S. NULL on error (logged).
 */
struct sv_report *sv_report_open(struct sv *sv, const char *addr);
void sv_report_close(struct sv_report *r);

/* metrics_text.c: the Prometheus text of CHILDREN[N] into OUT. */
struct evbuffer;
int sv_metrics_render(struct evbuffer *out, const struct child *children,
    size_t n);

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
int sv_status_file_render(char *out, size_t len, const struct child *children,
    size_t n, uint32_t db_id, pid_t pid, int64_t wall_ns, int64_t mono_ns);
/* Writes it to META/walship/status (tmp + rename) when META/walship
 * exists; -1 with errno otherwise. */
int sv_status_file_write(const char *meta, const char *text);

/* supervisor.c: the children, for report.c. */
struct child *sv_children(struct sv *sv, size_t *n);

/* supervisor.c: a decoded MSG_STATUS from some child. */
void sv_on_status(struct sv *sv, const struct msg *m);
/* supervisor.c: the event base (for status.c). */
struct event_base *sv_base(struct sv *sv);

#endif
