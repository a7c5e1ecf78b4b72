/*
 * endpoints: ipc:// names under the runtime directory (see endpoints.h).
 *
 * All three shapes go through one formatter that measures the socket path
 * before anything is written, so an over-long RUNDIR is reported with the
 * path it would have produced and the limit, instead of nanomsg's later
 * "File name too long" from nn_bind without context.
 */
#include "endpoints.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest socket path sun_path can hold: its size less the NUL. */
#define PATH_MAX_LEN (ENDPOINTS_SUN_PATH - 1)

__attribute__((format(printf, 5, 6))) static int
format_addr(char *addr, const char *rundir, char *err, size_t errlen,
    const char *fmt, ...)
{
	char name[64], path[ENDPOINTS_SUN_PATH + 64];
	const char *sep;
	va_list ap;
	int n;

	if (rundir == NULL || rundir[0] != '/') {
		if (err != NULL)
			snprintf(err, errlen, "runtime directory \"%s\" is not "
			    "an absolute path", rundir ? rundir : "(null)");
		errno = EINVAL;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	/* One slash between RUNDIR and the name, however RUNDIR ends. */
	sep = rundir[strlen(rundir) - 1] == '/' ? "" : "/";
	n = snprintf(path, sizeof(path), "%s%s%s", rundir, sep, name);
	if (n < 0 || n > PATH_MAX_LEN) {
		if (err != NULL)
			snprintf(err, errlen, "runtime directory too long: "
			    "socket path \"%s%s%s\" would be %d bytes, a unix "
			    "socket path holds at most %d", rundir, sep, name,
			    n, PATH_MAX_LEN);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr, ENDPOINTS_SCHEME, sizeof(ENDPOINTS_SCHEME) - 1);
	memcpy(addr + sizeof(ENDPOINTS_SCHEME) - 1, path, (size_t)n + 1);
	return 0;
}

int
endpoints_status(const char *rundir, char *addr, char *err, size_t errlen)
{
	return format_addr(addr, rundir, err, errlen, "status");
}

int
endpoints_acks(const char *rundir, uint32_t db, char *addr, char *err,
    size_t errlen)
{
	return format_addr(addr, rundir, err, errlen, "db%" PRIu32 "-acks", db);
}

int
endpoints_frames(const char *rundir, uint32_t db, uint32_t replica,
    char *addr, char *err, size_t errlen)
{
	return format_addr(addr, rundir, err, errlen,
	    "db%" PRIu32 "-r%" PRIu32 "-frames", db, replica);
}

int
endpoints_check(const char *rundir, uint32_t ndbs, uint32_t max_replicas,
    char *err, size_t errlen)
{
	char addr[ENDPOINTS_ADDR_MAX];

	/* The largest indexes have the most digits: the longest names. */
	if (endpoints_status(rundir, addr, err, errlen) < 0)
		return -1;
	if (ndbs == 0)
		return 0;
	if (endpoints_acks(rundir, ndbs - 1, addr, err, errlen) < 0)
		return -1;
	if (max_replicas == 0)
		return 0;
	return endpoints_frames(rundir, ndbs - 1, max_replicas - 1, addr, err,
	    errlen);
}

const char *
endpoints_path(const char *addr)
{
	size_t n = sizeof(ENDPOINTS_SCHEME) - 1;

	if (addr == NULL || strncmp(addr, ENDPOINTS_SCHEME, n) != 0)
		return NULL;
	return addr + n;
}
