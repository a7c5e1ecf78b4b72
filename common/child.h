/*
 * child: what every process role the supervisor re-executes does first, and
 * the contract between the supervisor and its children.
 *
 * The supervisor starts a role with fork + exec of /proc/self/exe (see
 * supervisor/spawn.c): stdin is /dev/null, stdout and stderr are the
 * supervisor's, every other descriptor is closed, the signal mask is empty,
 * every disposition is the default, PR_SET_PDEATHSIG(SIGTERM) is already set,
 * and the environment holds CHILD_ENV_PARENT=<supervisor pid>.
 *
 * A role's entry point calls child_setup() before anything else. It is
 * idempotent (only the first call acts), so the role dispatch in cli/main.c
 * and the entry point may both call it. After a credential change (setresuid
 * clears the parent-death signal) the role calls child_check_parent().
 *
 * Exit statuses a role uses to tell the supervisor why it stopped:
 *   0                 asked to stop (SIGTERM, MSG_SHUTDOWN)
 *   CHILD_EXIT_CONFIG the config is wrong for this role: never retried in a
 *                     loop, the child is marked FAILED at once
 *   anything else     a failure: restarted after a backoff
 */
#ifndef WALSHIP_CHILD_H
#define WALSHIP_CHILD_H

#include <sys/types.h>

/* EX_CONFIG of sysexits.h. */
#define CHILD_EXIT_CONFIG 78

/* The supervisor's pid, in the environment of every child it starts. */
#define CHILD_ENV_PARENT "WALSHIP_SUPERVISOR_PID"

/*
 * Makes fds 0-2 valid (/dev/null for a closed one), closes every descriptor
 * above 2, sets SIG_DFL for every signal left ignored across exec and
 * empties the signal mask, takes CHILD_ENV_PARENT out of the environment,
 * sets PR_SET_PDEATHSIG(SIGTERM) and exits (status 1) if the supervisor is
 * already gone. Without CHILD_ENV_PARENT (a role started by hand) the
 * current parent is taken as the one to watch.
 */
void child_setup(void);

/*
 * Sets PR_SET_PDEATHSIG(SIGTERM) again and exits (status 1) if the parent
 * recorded by child_setup() is gone. Call it after every uid/gid change.
 */
void child_check_parent(void);

/* The parent child_setup() recorded (0 before it ran). */
pid_t child_parent(void);

#endif
