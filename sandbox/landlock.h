/*
 * landlock: file-system (and, where the kernel can, TCP) confinement of the
 * calling thread and every thread and process it starts later, through the
 * raw Landlock system calls (glibc has no wrappers).
 *
 * Best effort by design: a kernel without Landlock (or with it disabled)
 * leaves the process unconfined and the caller logs a warning; what the
 * kernel offers is used in full, ABI by ABI: v1 file access, v2 renames
 * across directories (REFER), v3 truncate, v4 TCP bind/connect, v5 device
 * ioctls, v6 scoping (no signals to, no abstract sockets of, processes
 * outside the sandbox).
 */
#ifndef WALSHIP_LANDLOCK_H
#define WALSHIP_LANDLOCK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum landlock_access {
	LANDLOCK_READ = 1,	/* read files, list directories */
	LANDLOCK_WRITE,		/* that, and create, write, rename, remove */
};

/* One file hierarchy (or one file) the process may use. */
struct landlock_rule {
	char path[PATH_MAX];
	enum landlock_access access;
	bool optional;		/* may be absent (system files) */
};

/*
 * Restricts the process to RULES[N]; with NO_TCP, TCP bind and connect are
 * denied too (ABI 4 and later). Needs PR_SET_NO_NEW_PRIVS set before.
 * Returns the ABI version enforced (>= 1), 0 if the kernel has no
 * Landlock, -1 with ERR filled in on failure (a required path missing, a
 * system call failing).
 */
int landlock_confine(const struct landlock_rule *rules, size_t n,
    bool no_tcp, char *err, size_t errlen);

#endif
