/*
 * app: `walship replicate -exec CMD` (or exec: in the config), as
 * Litestream does it. The application runs as a child of the supervisor
 * while replication runs; SIGTERM and SIGINT are forwarded to it; when it
 * exits, replication stops the graceful way and walship exits with its
 * status (128 + N when it was killed by signal N).
 *
 * The application is not a walship role: it is started by posix_spawnp
 * (PATH search, no shell) with the environment walship was given and none
 * of the roles' confinement, with stdin from /dev/null (as Litestream's
 * Go exec does), stdout and stderr shared, no other descriptor, default
 * signal dispositions and an empty mask. It starts once every walreader
 * holds its database (supervisor.c check_ready), so that no commit it
 * makes can be checkpointed away before walship sees it.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include "sv.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "child_fsm.h"
#include "log.h"

extern char **environ;

struct sv_app {
	struct sv *sv;
	char **argv;		/* owned */
	int devnull;
	pid_t pid;		/* 0 when not running */
	bool exited;
	bool signalled;		/* a stop signal was forwarded */
	int wstatus;
};

struct sv_app *
sv_app_new(struct sv *sv, char *const *argv, int devnull)
{
	struct sv_app *a = calloc(1, sizeof(*a));
	size_t n = 0;

	while (argv[n] != NULL)
		n++;
	if (a == NULL || n == 0 ||
	    (a->argv = calloc(n + 1, sizeof(*a->argv))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((a->argv[i] = strdup(argv[i])) == NULL)
			goto fail;
	}
	a->sv = sv;
	a->devnull = devnull;
	return a;
fail:
	log_error(n == 0 ? "-exec: empty command" : "out of memory");
	sv_app_free(a);
	return NULL;
}

void
sv_app_free(struct sv_app *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->argv != NULL && a->argv[i] != NULL; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a);
}

static int
spawn(struct sv_app *a)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	int err;

	sigfillset(&all);
	sigemptyset(&none);
	if ((err = posix_spawn_file_actions_init(&fa)) != 0)
		return err;
	if ((err = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err;
	}
	if ((err = posix_spawn_file_actions_adddup2(&fa, a->devnull, 0)) ||
	    (err = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) ||
	    (err = posix_spawnattr_setsigmask(&at, &none)) ||
	    (err = posix_spawnattr_setsigdefault(&at, &all)) ||
	    (err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF)) == 0)
		err = posix_spawnp(&a->pid, a->argv[0], &fa, &at, a->argv,
		    environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int
sv_app_start(struct sv_app *a)
{
	int err;

	if (a == NULL || a->pid > 0 || a->exited)
		return 0;
	if ((err = spawn(a)) != 0) {
		a->pid = 0;
		a->exited = true;
		a->wstatus = W_EXITCODE(127, 0); /* as a shell would say */
		errno = err;
		log_error("cannot start the -exec command",
		    KV_S("command", a->argv[0]), KV_ERR());
		return -1;
	}
	log_info("started the -exec command", KV_S("command", a->argv[0]),
	    KV_I("pid", (long long)a->pid));
	return 0;
}

bool
sv_app_running(const struct sv_app *a)
{
	return a != NULL && a->pid > 0;
}

bool
sv_app_signalled(const struct sv_app *a)
{
	return a != NULL && a->signalled;
}

bool
sv_app_reaped(struct sv_app *a, pid_t pid, int wstatus)
{
	char why[64];

	if (a == NULL || a->pid <= 0 || pid != a->pid)
		return false;
	a->pid = 0;
	a->exited = true;
	a->wstatus = wstatus;
	child_fsm_describe_status(wstatus, why, sizeof(why));
	log_info("the -exec command exited; stopping replication",
	    KV_S("command", a->argv[0]), KV_S("status", why));
	sv_stop(a->sv, "the -exec command exited");
	return true;
}

bool
sv_app_forward(struct sv_app *a, int sig)
{
	if (a == NULL || a->pid <= 0)
		return false;
	log_info("forwarding the signal to the -exec command",
	    KV_S("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"),
	    KV_I("pid", (long long)a->pid));
	a->signalled = true;
	if (kill(a->pid, sig) < 0) {
		log_warn("cannot signal the -exec command", KV_ERR());
		return false;
	}
	return true;
}

void
sv_app_kill(struct sv_app *a)
{
	if (a != NULL && a->pid > 0)
		(void)kill(a->pid, SIGKILL);
}

int
sv_app_status(const struct sv_app *a, bool killed)
{
	if (a == NULL || !a->exited)
		return killed ? 1 : 0;
	if (WIFEXITED(a->wstatus))
		return WEXITSTATUS(a->wstatus);
	if (WIFSIGNALED(a->wstatus))
		return 128 + WTERMSIG(a->wstatus);
	return 1;
}
