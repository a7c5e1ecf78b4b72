/*
 * main: the walship binary. Dispatches to a user command (Litestream's
 * command set) or, when the supervisor re-executes itself, to an internal
 * process role.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "databases", cmd_databases, "list databases specified in config file" },
	{ "replicate", cmd_replicate, "runs a server to replicate databases" },
	{ "version", cmd_version, "prints the binary version" },
};

static void
usage(FILE *out)
{
	fprintf(out, "walship is a tool for replicating SQLite databases.\n\n"
	    "Usage:\n\n\twalship <command> [arguments]\n\n"
	    "The commands are:\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "\t%-12s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(out, "\nRun 'walship <command> -h' for the arguments of a "
	    "command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "-h") == 0 ||
	    strcmp(name, "--help") == 0 || strcmp(name, "-help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].run(argc - 2, argv + 2);
	}
	if (name[0] == '-')
		fprintf(stderr, "flag provided but not defined: %s\n", name);
	else
		fprintf(stderr, "walship %s: unknown command\n", name);
	usage(stderr);
	return EXIT_USAGE;
}
