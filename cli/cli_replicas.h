/*
 * cli_replicas: how the replica-reading commands (generations, snapshots,
 * wal, restore) turn their argument into replicas, as Litestream does: a
 * REPLICA_URL (anything matching ^\w+://) is one replica with default
 * settings; otherwise the argument is a database path looked up in the
 * config, and -replica NAME picks one of its replicas.
 */
#ifndef WALSHIP_CLI_REPLICAS_H
#define WALSHIP_CLI_REPLICAS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct replica_client;

struct cli_target {
	struct cfg *cfg;             /* NULL in URL mode */
	const struct cfg_db *db;     /* NULL in URL mode */
	struct cfg_replica url_replica;
	bool url_mode;
	const struct cfg_replica **replicas;
	size_t nreplicas;
};

/* True when ARG is a replica URL. */
bool cli_is_url(const char *arg);

/*
 * Resolves ARG (with -config CONFIG, -replica NAME) for command CMD.
 * Prints the error and returns -1 with *status set on failure.
 */
int cli_target_open(struct cli_target *t, const char *cmd, const char *arg,
    const char *config, bool expand_env, const char *replica, int *status);
void cli_target_close(struct cli_target *t);

/* The client of replica I, or NULL after printing why. */
struct replica_client *cli_target_client(struct cli_target *t, size_t i);

/* RFC 3339 UTC with whole seconds, as Litestream prints times. */
void cli_format_time(long long ns, char *buf, size_t len);

#endif
