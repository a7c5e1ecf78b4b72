/*
 * seccomp_policy: see seccomp_policy.h.
 *
 * The list covers what the roles and their libraries call: glibc (threads,
 * malloc, the resolver), libevent (epoll, eventfd), nanomsg (worker threads,
 * Unix sockets, eventfd), SQLite (pread/pwrite, fcntl locks, mmap of the
 * -shm), libcurl and OpenSSL (sockets, poll, getrandom), and the file work
 * of the shadow log and replicas (rename, fsync, mkdir, unlink). Names the
 * running architecture does not have are skipped.
 *
 * socket() and socketpair() are filtered on the address family; ioctl()
 * on its request, so TIOCSTI (typing into the terminal that stdout may
 * be) is refused; prctl() on its option.
 */
#include "seccomp_policy.h"

#include <errno.h>
#include <linux/prctl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const char *const allowed[] = {
	/* files and directories */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "open", "openat", "openat2",
	"close", "close_range", "lseek", "fstat", "stat", "lstat",
	"newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat",
	"faccessat2", "readlink", "readlinkat", "getdents", "getdents64",
	"getcwd", "fcntl", "flock", "fsync", "fdatasync", "sync_file_range",
	"ftruncate", "truncate", "fallocate", "fadvise64", "rename",
	"renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "unlink",
	"unlinkat", "link", "linkat", "chmod", "fchmod", "fchmodat", "fchown",
	"lchown", "fchownat", "utimensat", "umask", "dup", "dup2", "dup3",
	"pipe", "pipe2", "copy_file_range", "sendfile",
	"inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	/* memory */
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync",
	"mincore", "membarrier",
	/* threads, signals, time */
	"clone", "clone3", "futex", "set_robust_list", "get_robust_list",
	"rseq", "set_tid_address", "arch_prctl", "sched_yield",
	"sched_getaffinity", "exit", "exit_group", "wait4", "waitid",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait",
	"sigaltstack", "tgkill", "tkill", "restart_syscall",
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	"nanosleep", "clock_nanosleep",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getresuid", "getresgid", "getgroups", "getpgrp",
	"getrlimit", "prlimit64", "getrusage", "sysinfo", "uname",
	"getrandom", "getcpu",
	/* event loops */
	"poll", "ppoll", "select", "pselect6", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
	"timerfd_settime", "timerfd_gettime",
	/* sockets: socket() and socketpair() are added with their filter */
	"connect", "bind", "listen", "accept", "accept4", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer stops the world with ptrace from a helper task. */
	"ptrace",
#endif
};

/* prctl options: thread names (nanomsg, glibc), VMA names (glibc malloc),
 * what sanitizers ask at exit, and tightening (no_new_privs, more
 * filters); nothing that changes credentials, capabilities or the mm. */
static const int prctl_options[] = {
	PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
	PR_SET_NO_NEW_PRIVS, PR_GET_SECCOMP, 0x53564d41 /* PR_SET_VMA */,
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer makes the process dumpable again (a uid change
	 * cleared it) so that its helper may ptrace the threads. */
	PR_SET_DUMPABLE, 0x59616d61 /* PR_SET_PTRACER */,
#endif
};

int
seccomp_policy_allows(const char *name)
{
	if (strcmp(name, "socket") == 0 || strcmp(name, "socketpair") == 0 ||
	    strcmp(name, "ioctl") == 0 || strcmp(name, "prctl") == 0)
		return 1; /* with an argument filter */
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(allowed[i], name) == 0)
			return 1;
	}
	return 0;
}

static int
add_filtered(scmp_filter_ctx ctx, enum seccomp_net net)
{
	static const int inet[] = { AF_INET, AF_INET6 };
	const uint32_t allow = SCMP_ACT_ALLOW;
	int rc;

	if ((rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 1,
	    SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX))) < 0 ||
	    (rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socketpair), 1,
	    SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX))) < 0 ||
	    (rc = seccomp_rule_add(ctx, allow, SCMP_SYS(ioctl), 1,
	    SCMP_A1_32(SCMP_CMP_NE, TIOCSTI))) < 0)
		return rc;
	for (size_t i = 0; net == SECCOMP_NET_INET &&
	    i < sizeof(inet) / sizeof(inet[0]); i++) {
		if ((rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 1,
		    SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)inet[i]))) < 0)
			return rc;
	}
	for (size_t i = 0; i < sizeof(prctl_options) /
	    sizeof(prctl_options[0]); i++) {
		if ((rc = seccomp_rule_add(ctx, allow, SCMP_SYS(prctl), 1,
		    SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)prctl_options[i]))) < 0)
			return rc;
	}
	return 0;
}

int
seccomp_policy_apply(enum seccomp_net net, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	const char *step = "seccomp_init";
	int rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* A foreign architecture's call numbers mean other calls: kill. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0) {
		step = "seccomp_attr_set";
		goto out;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0) {
			step = allowed[i];
			goto out;
		}
	}
	step = "argument filters";
	if ((rc = add_filtered(ctx, net)) < 0)
		goto out;
	step = "seccomp_load";
	rc = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp filter (%s): %s", step,
		    strerror(-rc));
		return -1;
	}
	return 0;
}
