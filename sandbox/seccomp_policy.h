/*
 * seccomp_policy: the system calls a confined role may make (libseccomp),
 * one allowlist shared by every role plus what the role's network class
 * adds. Mandatory: a role that cannot load its filter does not run.
 *
 * Anything not listed fails with EPERM instead of killing the process:
 * the sandbox self-test must be able to observe and report each denial,
 * and a call some library makes only on a rare path (an error report, a
 * fallback) then fails the way a denied call fails everywhere else, is
 * logged by the role and ends in a restart, instead of a silent SIGSYS
 * death with nothing in the log. No role may exec (execve, execveat are
 * not listed), change its ids, mount, trace, load modules or use
 * namespaces, keys, BPF or io_uring; a foreign-architecture call (32-bit
 * entry on x86_64) kills the process.
 */
#ifndef WALSHIP_SECCOMP_POLICY_H
#define WALSHIP_SECCOMP_POLICY_H

#include <stddef.h>

enum seccomp_net {
	SECCOMP_NET_LOCAL = 0,	/* AF_UNIX sockets only (nanomsg ipc://) */
	SECCOMP_NET_INET,	/* also AF_INET and AF_INET6 */
};

/* Loads the filter for NET into the calling thread (and its future
 * threads). 0, or -1 with ERR filled in. */
int seccomp_policy_apply(enum seccomp_net net, char *err, size_t errlen);

/* The allowlist, for tests: 1 if system call NAME is allowed (maybe
 * only with some arguments), 0 if it is always denied. */
int seccomp_policy_allows(const char *name);

#endif
