/*
 * main: the walship binary. Dispatches to a user command (Litestream's
 * command set) or, when the supervisor re-executes itself, to an internal
 * process role; `__sandbox-selftest` proves a role's confinement
 * (sandbox/selftest.h).
 */
#include <stdio.h>
#include <string.h>

#include "child.h"
#include "commands.h"
#include "proctitle.h"
#include "roles.h"
#include "selftest.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "databases", cmd_databases, "list databases specified in config file" },
	{ "generations", cmd_generations,
	    "list available generations for a database" },
	{ "replicate", cmd_replicate, "runs a server to replicate databases" },
	{ "restore", cmd_restore, "recovers database backup from a replica" },
	{ "snapshots", cmd_snapshots,
	    "list available snapshots for a database" },
	{ "status", cmd_status,
	    "reports the running replication, non-zero when unhealthy" },
	{ "version", cmd_version, "prints the binary version" },
	{ "wal", cmd_wal, "list available WAL files for a database" },
};

struct role {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct role roles[] = {
	{ "walreader", walreader_main },
	{ "uploader", uploader_main },
	{ "compactor", compactor_main },
};

/* The value of flag NAME ("-NAME V" or "-NAME=V") in ARGV, or NULL. */
static const char *
role_arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || strncmp(a + 1, name, n) != 0)
			continue;
		if (a[1 + n] == '=')
			return a + 2 + n;
		if (a[1 + n] == '\0' && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

/*
 * walship __role NAME ARGS...: a process role started by the supervisor.
 * ARGC/ARGV are main's; the role gets argv[0] = NAME and ARGS.
 */
static int
run_role(int argc, char **argv)
{
	const struct role *role = NULL;

	if (argc < 3) {
		fprintf(stderr, "walship __role: missing role name\n");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (strcmp(roles[i].name, argv[2]) == 0)
			role = &roles[i];
	}
	if (role == NULL) {
		fprintf(stderr, "walship __role %s: unknown role\n", argv[2]);
		return EXIT_USAGE;
	}
	child_setup();
	proctitle_init(argc, argv); /* argv now holds copies */
	int rargc = argc - 2;
	char **rargv = argv + 2;
	const char *db = role_arg(rargc, rargv, "db");
	const char *replica = role_arg(rargc, rargv, "replica");
	if (replica != NULL)
		proctitle_set(role->name, "walship: %s %s -> %s", role->name,
		    db != NULL ? db : "?", replica);
	else if (db == NULL)
		proctitle_set(role->name, "walship: %s", role->name);
	else
		proctitle_set(role->name, "walship: %s %s", role->name,
		    db != NULL ? db : "?");
	return role->run(rargc, rargv);
}

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
	if (strcmp(name, "__role") == 0)
		return run_role(argc, argv);
	if (strcmp(name, "__sandbox-selftest") == 0)
		return sandbox_selftest_main(argc - 1, argv + 1);
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
