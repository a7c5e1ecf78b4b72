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

struct event;
struct msg;
struct sv;
struct sv_status;

enum sv_role {
	SV_WALREADER = 0,
	SV_UPLOADER,
	SV_COMPACTOR,		/* one for all replicas: no db, no replica */
};

/* Room for the longest argv: walship __role uploader, 14 arguments, NULL. */
#define SV_MAX_ARGV 20

/* One supervised process: a walreader, an uploader of one replica, or
 * the compactor. */
struct child {
	enum sv_role role;
	uint32_t db_id;		/* index in cfg->dbs */
	uint32_t replica_id;	/* index in the db's replicas (uploader) */
	const char *db_path;	/* borrowed from the cfg; NULL: compactor */
	const char *replica_name; /* borrowed; NULL for a walreader */
	pid_t pid;		/* 0 when no process is running */
	struct event *timer;	/* the restart timer */
	struct sv *sv;
	struct child_fsm fsm;
	char *argv[SV_MAX_ARGV];
	char db_id_s[16];
	char replica_id_s[16];
};

const char *sv_role_name(enum sv_role role);

/* spawn.c */

/*
 * Fills C->argv (pointing at C's own buffers and at the arguments, which
 * must outlive it): walship __role ROLE -config CONFIG [-no-expand-env]
 * -run RUNDIR [-db-id D -db PATH [-replica-id R -replica NAME]] (the
 * compactor has no database).
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

/* supervisor.c: a decoded MSG_STATUS from some child. */
void sv_on_status(struct sv *sv, const struct msg *m);
/* supervisor.c: the event base (for status.c). */
struct event_base *sv_base(struct sv *sv);

#endif
