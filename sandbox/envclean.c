/*
 * envclean: a confined role starts from an empty environment. The role has
 * already read what it needed from it (the config's $VAR expansion, S3
 * keys from AWS_*); the strings are zeroed in place before the environment
 * is emptied, because /proc/PID/environ shows the memory they were in,
 * not the environ array.
 */
#define _GNU_SOURCE /* clearenv */
#include "sandbox.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

extern char **environ;

/* What libcurl reads per transfer to reach a store through a proxy. */
static const char *const proxy_vars[] = {
	"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy",
	"ALL_PROXY", "no_proxy", "NO_PROXY",
};
#define NPROXY (sizeof(proxy_vars) / sizeof(proxy_vars[0]))

void
sandbox_env_clean(bool keep_proxy)
{
	char *kept[NPROXY] = { NULL };

	for (size_t i = 0; keep_proxy && i < NPROXY; i++) {
		const char *v = getenv(proxy_vars[i]);
		if (v != NULL && (kept[i] = strdup(v)) == NULL)
			fatalx("out of memory");
	}
	for (char **e = environ; e != NULL && *e != NULL; e++)
		explicit_bzero(*e, strlen(*e));
	if (clearenv() != 0)
		fatalx("cannot clear the environment");
	for (size_t i = 0; i < NPROXY; i++) {
		if (kept[i] == NULL)
			continue;
		if (setenv(proxy_vars[i], kept[i], 1) < 0)
			fatal("setenv");
		free(kept[i]);
	}
}
