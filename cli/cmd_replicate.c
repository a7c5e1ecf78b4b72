/*
 * replicate: validates the config and (with -n) prints the effective config;
 * otherwise starts the supervisor, which runs the replication process tree,
 * and with -exec (or exec: in the config) the application beside it.
 */
#include <stdio.h>

#include "commands.h"
#include "config.h"
#include "flags.h"
#include "shellwords.h"
#include "supervisor.h"

static void
usage(const struct flag *flags, size_t n)
{
	printf("The replicate command starts a server to monitor & replicate "
	    "databases.\n\nUsage:\n\n\twalship replicate [arguments]\n\n"
	    "Arguments:\n\n");
	flags_print(flags, n, stdout);
}

int
cmd_replicate(int argc, char **argv)
{
	const char *config = NULL, *exec = NULL;
	bool no_expand = false, check_only = false;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &config, "PATH",
		    "Specifies the configuration file.\n\t    Defaults to "
		    "/etc/walship.yml, else /etc/litestream.yml" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL,
		    "Disables environment variable expansion in configuration "
		    "file." },
		{ "exec", FLAG_STRING, &exec, "CMD",
		    "Executes a subcommand. walship will exit when the child\n"
		    "\t    process exits. Useful for simple process management." },
		{ "n", FLAG_BOOL, &check_only, NULL,
		    "Validates the configuration, prints the effective "
		    "configuration\n\t    (secrets redacted) and exits." },
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
		return cli_fail("replicate", EXIT_USAGE,
		    "replicating from command-line arguments is not supported "
		    "yet; use -config");
	struct cfg *cfg = cli_load_config(config, !no_expand, &status);
	if (cfg == NULL)
		return status;
	char **app = NULL, err[256];
	if (exec == NULL && cfg->exec[0] != '\0')
		exec = cfg->exec;
	if (exec != NULL && (app = shellwords_split(exec, err,
	    sizeof(err))) == NULL) {
		cfg_free(cfg);
		return cli_fail("replicate", EXIT_USAGE, "cannot parse exec "
		    "command: %s", err);
	}
	if (check_only) {
		cfg_print(cfg, stdout);
		cfg_free(cfg);
		shellwords_free(app);
		return 0;
	}
	/* The children read what they need themselves; the supervisor
	 * holds no credential or key (design.md, privilege table). */
	cfg_drop_secrets(cfg);
	status = supervisor_run(cfg, config, !no_expand, app);
	shellwords_free(app);
	return status;
}
