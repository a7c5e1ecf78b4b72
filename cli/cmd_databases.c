/*
 * databases: the databases of the config and their replica names, in the
 * exact columns and spacing of `litestream databases`.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "flags.h"
#include "table.h"

static void
usage(const struct flag *flags, size_t n)
{
	printf("The databases command lists all databases in the configuration "
	    "file.\n\nUsage:\n\n\twalship databases [arguments]\n\n"
	    "Arguments:\n\n");
	flags_print(flags, n, stdout);
}

int
cmd_databases(int argc, char **argv)
{
	const char *config = NULL;
	bool no_expand = false;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &config, "PATH",
		    "Specifies the configuration file.\n\t    Defaults to "
		    "/etc/walship.yml, else /etc/litestream.yml" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL,
		    "Disables environment variable expansion in configuration "
		    "file." },
	};
	size_t nflags = sizeof(flags) / sizeof(flags[0]);
	int status;

	int i = flags_parse(flags, nflags, argc, argv, stderr);
	if (i == FLAGS_HELP) {
		usage(flags, nflags);
		return 0;
	}
	if (i < 0) {
		usage(flags, nflags);
		return EXIT_USAGE;
	}
	if (i < argc)
		return cli_fail("databases", EXIT_USAGE, "too many arguments");

	struct cfg *cfg = cli_load_config(config, !no_expand, &status);
	if (cfg == NULL)
		return status;
	struct table *t = table_new(2);
	if (t == NULL || table_addv(t, "path", "replicas") < 0)
		goto oom;
	for (size_t d = 0; d < cfg->ndbs; d++) {
		const struct cfg_db *db = &cfg->dbs[d];
		size_t len = 1;
		for (size_t r = 0; r < db->nreplicas; r++)
			len += strlen(db->replicas[r].name) + 1;
		char *names = calloc(1, len);
		if (names == NULL)
			goto oom;
		for (size_t r = 0; r < db->nreplicas; r++) {
			if (r > 0)
				strcat(names, ",");
			strcat(names, db->replicas[r].name);
		}
		int rc = table_addv(t, db->path, names);
		free(names);
		if (rc < 0)
			goto oom;
	}
	table_print(t, stdout);
	table_free(t);
	cfg_free(cfg);
	return 0;
oom:
	table_free(t);
	cfg_free(cfg);
	return cli_fail("databases", 1, "out of memory");
}
