/*
 * child: the first steps of a re-executed role (see child.h).
 *
 * The supervisor already arranges most of this between fork and exec; doing
 * it again here makes a role safe however it was started, and is cheap.
 * Only dispositions set to SIG_IGN are reset: exec already reset every
 * caught signal, and a handler installed since (a sanitizer's, say) is not
 * ours to remove.
 */
#define _GNU_SOURCE /* close_range */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

static int setup_done;
static pid_t parent;

static void
valid_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free descriptor is FD itself. */
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n < 0)
			fatal("cannot open /dev/null");
		if (n != fd)
			fatalx("cannot make standard descriptors valid");
	}
}

static void
close_above_stderr(void)
{
	struct rlimit rl;

	if (close_range(3, ~0U, 0) == 0)
		return;
	/* Kernels before 5.9. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024;
	for (rlim_t fd = 3; fd < rl.rlim_cur; fd++)
		(void)close((int)fd);
}

static void
reset_signals(void)
{
	struct sigaction sa, old;
	sigset_t none;

	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* Fails harmlessly for the signals libc reserves. */
		if (sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static pid_t
expected_parent(void)
{
	const char *s = getenv(CHILD_ENV_PARENT);
	long long v = 0;
	char *end;

	if (s != NULL) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || v <= 0)
			v = 0;
		(void)unsetenv(CHILD_ENV_PARENT);
	}
	return v > 0 ? (pid_t)v : getppid();
}

void
child_check_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		fatal("prctl(PR_SET_PDEATHSIG)");
	/* Checked after arming: a death in between is caught either way. */
	if (parent != 0 && getppid() != parent) {
		log_info("supervisor is gone, exiting",
		    KV_I("supervisor", (long long)parent));
		exit(1);
	}
}

void
child_setup(void)
{
	if (setup_done)
		return;
	setup_done = 1;
	valid_std_fds();
	close_above_stderr();
	reset_signals();
	parent = expected_parent();
	child_check_parent();
}

pid_t
child_parent(void)
{
	return parent;
}
