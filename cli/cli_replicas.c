/*
 * cli_replicas: see cli_replicas.h.
 */
#include "cli_replicas.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "log.h"

bool
cli_is_url(const char *arg)
{
	const char *p = arg;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return p > arg && strncmp(p, "://", 3) == 0;
}

int
cli_target_open(struct cli_target *t, const char *cmd, const char *arg,
    const char *config, bool expand_env, const char *replica, int *status)
{
	char err[1024];

	memset(t, 0, sizeof(*t));
	if (cli_is_url(arg)) {
		if (config) {
			*status = cli_fail(cmd, EXIT_USAGE, "cannot specify a "
			    "replica URL and the -config flag");
			return -1;
		}
		if (cfg_replica_from_url(arg, &t->url_replica, err,
		    sizeof(err)) < 0) {
			*status = cli_fail(cmd, 1, "%s", err);
			return -1;
		}
		t->url_mode = true;
		t->replicas = calloc(1, sizeof(*t->replicas));
		if (t->replicas == NULL) {
			*status = cli_fail(cmd, 1, "out of memory");
			return -1;
		}
		t->replicas[0] = &t->url_replica;
		t->nreplicas = 1;
		return 0;
	}
	if ((t->cfg = cli_load_config(config, expand_env, status)) == NULL)
		return -1;
	if ((t->db = cfg_find_db(t->cfg, arg)) == NULL) {
		*status = cli_fail(cmd, 1, "database not found in config: %s",
		    arg);
		cli_target_close(t);
		return -1;
	}
	t->replicas = calloc(t->db->nreplicas ? t->db->nreplicas : 1,
	    sizeof(*t->replicas));
	if (t->replicas == NULL) {
		*status = cli_fail(cmd, 1, "out of memory");
		cli_target_close(t);
		return -1;
	}
	for (size_t i = 0; i < t->db->nreplicas; i++) {
		const struct cfg_replica *r = &t->db->replicas[i];
		if (replica == NULL || strcmp(r->name, replica) == 0)
			t->replicas[t->nreplicas++] = r;
	}
	if (replica && t->nreplicas == 0) {
		*status = cli_fail(cmd, 1, "replica \"%s\" not found for "
		    "database \"%s\"", replica, t->db->path);
		cli_target_close(t);
		return -1;
	}
	return 0;
}

void
cli_target_close(struct cli_target *t)
{
	if (t->url_mode)
		cfg_replica_clear(&t->url_replica);
	free(t->replicas);
	cfg_free(t->cfg);
	memset(t, 0, sizeof(*t));
}

struct replica_client *
cli_target_client(struct cli_target *t, size_t i)
{
	char err[1024];
	struct replica_client *c = replica_client_open(t->replicas[i], err,
	    sizeof(err));
	if (c == NULL)
		log_error("cannot open replica", KV_S("replica",
		    t->replicas[i]->name), KV_ERRS(err));
	return c;
}

void
cli_format_time(long long ns, char *buf, size_t len)
{
	struct tm tm;
	time_t s = (time_t)(ns / 1000000000LL);
	if (ns < 0 && ns % 1000000000LL)
		s--;
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
