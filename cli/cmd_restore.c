/*
 * restore: Litestream's restore command and flags, on the restore engine
 * (replica/restore.c). The output is written to a temporary file beside it
 * and renamed into place; a failed restore leaves nothing at -o.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_replicas.h"
#include "client.h"
#include "commands.h"
#include "config.h"
#include "flags.h"
#include "log.h"
#include "restore.h"

/* Go's RFC 3339 layout: 2006-01-02T15:04:05[.999999999](Z|+07:00). */
static int
parse_rfc3339(const char *s, int64_t *ns)
{
	struct tm tm = { 0 };
	int consumed = 0;
	long long frac = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
	    consumed != 19)
		return -1;
	const char *p = s + consumed;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			if (digits < 9)
				frac = frac * 10 + (*p - '0');
		}
		if (digits == 0)
			return -1;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	long zone = 0;
	if (*p == 'Z' && p[1] == '\0') {
		zone = 0;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) &&
	    p[6] == '\0') {
		zone = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		    ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			zone = -zone;
	} else {
		return -1;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	*ns = ((int64_t)t - zone) * 1000000000LL + frac;
	return 0;
}

struct restore_args {
	const char *config, *output, *replica, *generation, *index, *timestamp;
	bool no_expand, if_db_not_exists, if_replica_exists, integrity;
	long parallelism;
};

static int
usage(const struct flag *flags, size_t n, int status)
{
	printf("The restore command recovers a database from a previous "
	    "snapshot and WAL.\n\nUsage:\n\n\twalship restore [arguments] "
	    "DB_PATH\n\n\twalship restore [arguments] REPLICA_URL\n\n"
	    "Arguments:\n\n");
	flags_print(flags, n, stdout);
	return status;
}

/* Checks the flags' values into OPTS; returns an exit status or -1. */
static int
check_args(const struct restore_args *a, struct restore_opts *o)
{
	if (a->index && a->timestamp)
		return cli_fail("restore", EXIT_USAGE,
		    "cannot specify index & timestamp to restore");
	if (a->timestamp && parse_rfc3339(a->timestamp, &o->timestamp) < 0)
		return cli_fail("restore", EXIT_USAGE, "invalid -timestamp, "
		    "must specify in ISO 8601 format (e.g. "
		    "2000-01-01T00:00:00Z)");
	if (a->index) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(a->index, &end, 16);
		if (errno || end == a->index || *end || v > 0x7fffffffUL)
			return cli_fail("restore", EXIT_USAGE,
			    "invalid -index, must be a hexadecimal WAL index: "
			    "%s", a->index);
		o->index = (int64_t)v;
	}
	if (a->parallelism < 1)
		return cli_fail("restore", EXIT_USAGE,
		    "-parallelism must be at least 1");
	o->parallelism = (int)a->parallelism;
	o->generation = a->generation;
	o->if_db_not_exists = a->if_db_not_exists;
	o->if_replica_exists = a->if_replica_exists;
	o->integrity_check = a->integrity;
	return -1;
}

static int
run(struct cli_target *t, struct restore_opts *o)
{
	char err[2048];
	struct stat st;
	int status = 1;

	if (o->if_db_not_exists && stat(o->output, &st) == 0) {
		log_info("database already exists, skipping",
		    KV_S("path", o->output));
		return 0;
	}
	o->clients = calloc(t->nreplicas ? t->nreplicas : 1,
	    sizeof(*o->clients));
	if (o->clients == NULL)
		return cli_fail("restore", 1, "out of memory");
	for (size_t i = 0; i < t->nreplicas; i++) {
		if ((o->clients[o->nclients] = cli_target_client(t, i)) == NULL)
			goto out;
		o->nclients++;
	}
	int rc = restore_run(o, err, sizeof(err));
	if (rc == 0) {
		status = 0;
	} else if (rc == RESTORE_NO_BACKUPS) {
		if (o->if_replica_exists) {
			log_info("no matching backups found");
			status = 0;
		} else {
			log_error("failed to run", KV_ERRS("no matching backups "
			    "found"));
		}
	} else {
		log_error("failed to run", KV_ERRS(err));
	}
out:
	for (size_t i = 0; i < o->nclients; i++)
		replica_client_free(o->clients[i]);
	free(o->clients);
	return status;
}

int
cmd_restore(int argc, char **argv)
{
	struct restore_args a = { .parallelism = RESTORE_DEFAULT_PARALLELISM };
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &a.config, "PATH",
		    "Specifies the configuration file.\n\t    Defaults to "
		    "/etc/walship.yml, else /etc/litestream.yml" },
		{ "no-expand-env", FLAG_BOOL, &a.no_expand, NULL,
		    "Disables environment variable expansion in configuration "
		    "file." },
		{ "o", FLAG_STRING, &a.output, "PATH",
		    "Output path of the restored database.\n\t    Defaults to "
		    "original DB path." },
		{ "replica", FLAG_STRING, &a.replica, "NAME",
		    "Restore from a specific replica.\n\t    Defaults to "
		    "replica with latest data." },
		{ "generation", FLAG_STRING, &a.generation, "NAME",
		    "Restore from a specific generation.\n\t    Defaults to "
		    "generation with latest data." },
		{ "index", FLAG_STRING, &a.index, "NUM",
		    "Restore up to a specific hex-encoded WAL index "
		    "(inclusive).\n\t    Defaults to use the highest available "
		    "index." },
		{ "timestamp", FLAG_STRING, &a.timestamp, "TIMESTAMP",
		    "Restore the latest state at or before this time\n\t    "
		    "(RFC 3339, e.g. 2000-01-01T00:00:00Z)." },
		{ "parallelism", FLAG_INT, &a.parallelism, "NUM",
		    "Determines the number of WAL files downloaded in "
		    "parallel.\n\t    Defaults to 8" },
		{ "if-db-not-exists", FLAG_BOOL, &a.if_db_not_exists, NULL,
		    "Returns exit code of 0 if the database already exists." },
		{ "if-replica-exists", FLAG_BOOL, &a.if_replica_exists, NULL,
		    "Returns exit code of 0 if no backups found." },
		{ "integrity-check", FLAG_BOOL, &a.integrity, NULL,
		    "Runs PRAGMA integrity_check on the result before it is "
		    "renamed into place." },
	};
	size_t nflags = sizeof(flags) / sizeof(flags[0]);
	struct restore_opts o;
	struct cli_target t;
	int status;

	restore_opts_init(&o);
	int i = flags_parse(flags, nflags, argc, argv, stderr);
	if (i == FLAGS_HELP || i < 0)
		return usage(flags, nflags, i == FLAGS_HELP ? 0 : EXIT_USAGE);
	if (i >= argc)
		return cli_fail("restore", EXIT_USAGE,
		    "database path or replica URL required");
	if (i + 1 < argc)
		return cli_fail("restore", EXIT_USAGE, "too many arguments");
	if ((status = check_args(&a, &o)) >= 0)
		return status;
	if (cli_is_url(argv[i]) && a.output == NULL)
		return cli_fail("restore", EXIT_USAGE, "output path required");
	if (cli_target_open(&t, "restore", argv[i], a.config, !a.no_expand,
	    a.replica, &status) < 0)
		return status;
	if (t.url_mode)
		log_init(log_get_level(), LOG_FORMAT_TEXT, stderr);
	o.output = a.output ? a.output : t.db->path;
	status = run(&t, &o);
	cli_target_close(&t);
	return status;
}
