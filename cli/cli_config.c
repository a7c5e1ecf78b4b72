/*
 * cli_config: what every command does with its -config flag: pick the file,
 * load and validate it (all errors at once, FILE:LINE:COL), and set up
 * logging as the file's logging: block asks.
 */
#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "log_config.h"

int
cli_fail(const char *cmd, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "walship %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

struct cfg *
cli_load_config(const char *path, bool expand_env, int *status)
{
	struct stat st;
	int nerrors = 0;

	if (path == NULL)
		path = cfg_default_path();
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "config file not found: %s\n", path);
		else
			fprintf(stderr, "cannot read config file %s: %s\n",
			    path, strerror(errno));
		*status = EXIT_USAGE;
		return NULL;
	}
	struct cfg *cfg = cfg_load(path, expand_env, stderr, &nerrors);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %d error%s, config not loaded\n", path,
		    nerrors, nerrors == 1 ? "" : "s");
		*status = EXIT_USAGE;
		return NULL;
	}
	log_config_apply(cfg);
	*status = 0;
	return cfg;
}
