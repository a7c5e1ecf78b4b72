/*
 * supervisor: `walship replicate`, the root of the process tree.
 *
 * Creates a private runtime directory for the IPC endpoints, starts one
 * walreader per database and one uploader per (database, replica) by
 * fork + exec of /proc/self/exe, restarts each alone when it dies (backoff,
 * give-up after a burst of deaths, never for a config error), and stops them
 * all on SIGTERM/SIGINT. See supervisor.c for the details.
 */
#ifndef WALSHIP_SUPERVISOR_H
#define WALSHIP_SUPERVISOR_H

#include <stdbool.h>

struct cfg;

/*
 * Runs until SIGTERM or SIGINT. CFG is the validated config (borrowed: the
 * caller frees it after the return); CONFIG_PATH the file it came from
 * (NULL: cfg->file), which every child reads again itself, with the same
 * EXPAND_ENV. Returns the process exit status: 0 after a clean stop, 1 when
 * children had to be killed or start-up failed.
 */
int supervisor_run(struct cfg *cfg, const char *config_path, bool expand_env);

#endif
