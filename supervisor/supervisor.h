/*
 * supervisor: `walship replicate`, the root of the process tree.
 *
 * Creates a private runtime directory for the IPC endpoints, starts one
 * walreader per database and one uploader per (database, replica) by
 * fork + exec of /proc/self/exe, restarts each alone when it dies (backoff,
 * give-up after a burst of deaths, never for a config error), applies a
 * changed config on SIGHUP, speaks systemd's notification protocol, and
 * stops them all on SIGTERM/SIGINT. See supervisor.c for the details.
 */
#ifndef WALSHIP_SUPERVISOR_H
#define WALSHIP_SUPERVISOR_H

#include <stdbool.h>

struct cfg;

/*
 * Runs until SIGTERM or SIGINT, reloading the config on SIGHUP. CFG is the
 * validated config, now the supervisor's (freed before the return);
 * CONFIG_PATH the file it came from (NULL: cfg->file), which every child
 * reads again itself, with the same EXPAND_ENV. With EXEC_ARGV (else NULL),
 * that command runs beside replication (see app.c) and the run ends when
 * it exits. Returns the process exit status: the command's with
 * EXEC_ARGV; else 0 after a clean stop, 1 when children had to be killed
 * or start-up failed.
 */
int supervisor_run(struct cfg *cfg, const char *config_path, bool expand_env,
    char *const *exec_argv);

#endif
