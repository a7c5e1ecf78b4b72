/*
 * spawn: starting a child, the way smtpd starts its processes: fork, then
 * exec of our own binary with an internal role argument, so each role runs
 * in a fresh address space with only the descriptors it is given.
 *
 * /proc/self/exe is the binary this supervisor runs, even after a package
 * upgrade replaced the file on disk, so parent and children always agree on
 * the protocol.
 *
 * The supervisor has threads by the time it spawns (nanomsg's workers), so
 * between fork and exec the child only makes async-signal-safe calls, on
 * memory prepared before the fork. Every signal is blocked across fork so
 * that no handler of the supervisor (libevent's) runs in the child; the
 * child resets every disposition to the default, then unblocks just before
 * exec.
 */
#define _GNU_SOURCE /* close_range */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "child.h"
#include "config.h"

const char *
sv_role_name(enum sv_role role)
{
	switch (role) {
	case SV_UPLOADER:
		return "uploader";
	case SV_COMPACTOR:
		return "compactor";
	case SV_WALREADER:
		break;
	}
	return "walreader";
}

void
sv_child_argv(struct child *c, const char *config, bool expand_env,
    const char *rundir)
{
	size_t n = 0;

	snprintf(c->db_id_s, sizeof(c->db_id_s), "%u", (unsigned)c->db_id);
	snprintf(c->replica_id_s, sizeof(c->replica_id_s), "%u",
	    (unsigned)c->replica_id);
	/* The casts only drop const: execve does not write the strings. */
	c->argv[n++] = (char *)(uintptr_t)"walship";
	c->argv[n++] = (char *)(uintptr_t)"__role";
	c->argv[n++] = (char *)(uintptr_t)sv_role_name(c->role);
	c->argv[n++] = (char *)(uintptr_t)"-config";
	c->argv[n++] = (char *)(uintptr_t)config;
	if (!expand_env)
		c->argv[n++] = (char *)(uintptr_t)"-no-expand-env";
	c->argv[n++] = (char *)(uintptr_t)"-run";
	c->argv[n++] = (char *)(uintptr_t)rundir;
	if (c->role != SV_COMPACTOR) {
		c->argv[n++] = (char *)(uintptr_t)"-db-id";
		c->argv[n++] = c->db_id_s;
		c->argv[n++] = (char *)(uintptr_t)"-db";
		c->argv[n++] = (char *)(uintptr_t)c->db_path;
	}
	if (c->role == SV_UPLOADER) {
		c->argv[n++] = (char *)(uintptr_t)"-replica-id";
		c->argv[n++] = c->replica_id_s;
		c->argv[n++] = (char *)(uintptr_t)"-replica";
		c->argv[n++] = (char *)(uintptr_t)c->replica_name;
	}
	if (c->role == SV_WALREADER && c->replica_ids != NULL) {
		c->argv[n++] = (char *)(uintptr_t)"-replica-ids";
		c->argv[n++] = c->replica_ids;
	}
	while (n < SV_MAX_ARGV)
		c->argv[n++] = NULL;
}

char **
sv_env_build(char *const *environ_, pid_t parent, bool credentials)
{
	static const char key[] = CHILD_ENV_PARENT "=";
	size_t n = 0, k = 0;
	char **env;

	while (environ_ != NULL && environ_[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ_[i], key, sizeof(key) - 1) == 0 ||
		    (!credentials && cfg_env_is_credential(environ_[i])))
			continue;
		env[k++] = environ_[i];
	}
	if (asprintf(&env[k], "%s%ld", key, (long)parent) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

void
sv_env_free(char **env)
{
	size_t n = 0;

	if (env == NULL)
		return;
	while (env[n] != NULL)
		n++;
	if (n > 0)
		free(env[n - 1]); /* ours; the others belong to environ */
	free(env);
}

/* Between fork and exec: async-signal-safe calls only, never returns. */
static void __attribute__((noreturn))
exec_child(const char *exe, char *const argv[], char *const envp[],
    int devnull, pid_t parent, const sigset_t *unblocked)
{
	struct sigaction sa;
	struct rlimit rl;
	int flags;

	/* Die with the supervisor, and make sure it is still there. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(1);

	/* stdin from /dev/null (DEVNULL > 2: supervisor_run made 0-2 valid);
	 * stdout and stderr inherited, without close-on-exec. */
	if (dup2(devnull, 0) < 0)
		_exit(127);
	for (int fd = 1; fd <= 2; fd++) {
		if ((flags = fcntl(fd, F_GETFD)) >= 0 && (flags & FD_CLOEXEC))
			(void)fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
	}
	if (close_range(3, ~0U, 0) < 0) {
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0 ||
		    rl.rlim_cur == RLIM_INFINITY)
			rl.rlim_cur = 1024;
		for (rlim_t fd = 3; fd < rl.rlim_cur; fd++)
			(void)close((int)fd);
	}

	/* Default dispositions (SIG_IGN would survive exec), then unblock:
	 * a signal already pending now gets its default action. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	}
	(void)sigprocmask(SIG_SETMASK, unblocked, NULL);

	execve(exe, argv, envp);
	_exit(127); /* not exit(): the parent's stdio buffers are copies */
}

pid_t
sv_spawn(const char *exe, char *const argv[], char *const envp[], int devnull)
{
	sigset_t all, old, none;
	pid_t parent = getpid(), pid;
	int saved;

	sigfillset(&all);
	sigemptyset(&none);
	if ((errno = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0)
		return -1;
	pid = fork();
	if (pid == 0)
		exec_child(exe, argv, envp, devnull, parent, &none);
	saved = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return pid;
}
