/*
 * commands: the user commands of the walship binary, one file each
 * (cmd_NAME.c), dispatched by main.c. Each takes the arguments after its
 * name and returns the process exit status.
 */
#ifndef WALSHIP_COMMANDS_H
#define WALSHIP_COMMANDS_H

#include <stdbool.h>

struct cfg;

/* Exit statuses: 0 success, 1 runtime failure, 2 usage or config error. */
#define EXIT_USAGE 2

int cmd_databases(int argc, char **argv);
int cmd_generations(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_wal(int argc, char **argv);
int cmd_replicate(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_version(int argc, char **argv);

/*
 * Loads the config a command was given (-config PATH, or the default path
 * when PATH is NULL), printing every error to stderr; sets up logging from
 * its logging: block. Returns NULL on failure with *status set to the exit
 * status to use.
 */
struct cfg *cli_load_config(const char *path, bool expand_env, int *status);

/* Prints "walship CMD: MSG" to stderr and returns STATUS. */
int cli_fail(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define WALSHIP_VERSION "v0.1.0"

#endif
