/*
 * status: the state of a running `walship replicate`, per database and
 * replica, read from the status file the supervisor rewrites every two
 * seconds in each database's meta directory (supervisor/status_file.c).
 *
 * Exit status: 0 when every database of the config is served by a live
 * supervisor, every component is up and no replica lags more than
 * -max-lag; 1 otherwise, with one line per problem on stderr, so a cron
 * job or a monitoring check is one line; 2 for a usage or config error.
 *
 * The file is read as untrusted: bounded in size, one key=value per line,
 * a block per component; anything else makes that database "unreadable".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "flags.h"
#include "table.h"

#define STATUS_MAX (64 * 1024)
#define STALE_S 10.0	/* five missed rewrites: the daemon is gone */
#define MAX_BLOCKS 64

struct block {
	const char *component;	/* "walreader", "uploader" */
	const char *replica;	/* uploader only */
	const char *state, *generation, *index, *offset, *lag, *last_upload,
	    *last_error, *failed;
};

struct status {
	char buf[STATUS_MAX + 1];
	long pid;
	double updated;
	struct block blocks[MAX_BLOCKS];
	size_t nblocks;
};

static bool
number(const char *s, double *v)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return *end == '\0' && errno == 0 && isfinite(*v);
}

/* Reads and checks META/walship/status into ST; NULL, or why not. */
static const char *
status_read(const char *meta, struct status *st)
{
	char path[4200];
	ssize_t got = 0, n;
	int fd;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/walship/status", meta);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? "no status file: walship replicate is "
		    "not running for this database (or has not started it yet)"
		    : "cannot open the status file";
	while (got < STATUS_MAX &&
	    (n = read(fd, st->buf + got, (size_t)(STATUS_MAX - got))) > 0)
		got += n;
	close(fd);
	if (got >= STATUS_MAX)
		return "status file too large";
	st->buf[got] = '\0';
	if (strlen(st->buf) != (size_t)got)
		return "status file holds a NUL byte";

	char *save = NULL, *line = strtok_r(st->buf, "\n", &save);
	if (line == NULL || strcmp(line, "walship-status 1") != 0)
		return "not a walship status file";
	struct block *b = NULL;
	double v;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *eq = strchr(line, '=');
		if (eq == NULL)
			return "malformed status line";
		*eq = '\0';
		const char *k = line, *val = eq + 1;
		if (strcmp(k, "supervisor_pid") == 0) {
			if (!number(val, &v) || v < 1 || v > 1e9)
				return "bad supervisor_pid";
			st->pid = (long)v;
		} else if (strcmp(k, "updated_unix") == 0) {
			if (!number(val, &st->updated))
				return "bad updated_unix";
		} else if (strcmp(k, "component") == 0) {
			if (st->nblocks == MAX_BLOCKS)
				return "too many components";
			b = &st->blocks[st->nblocks++];
			b->component = val;
		} else if (b == NULL) {
			return "status line outside a component";
		} else if (strcmp(k, "replica") == 0) {
			b->replica = val;
		} else if (strcmp(k, "state") == 0) {
			b->state = val;
		} else if (strcmp(k, "generation") == 0) {
			b->generation = val;
		} else if (strcmp(k, "index") == 0) {
			b->index = val;
		} else if (strcmp(k, "offset") == 0) {
			b->offset = val;
		} else if (strcmp(k, "lag_seconds") == 0) {
			b->lag = val;
		} else if (strcmp(k, "last_upload_unix") == 0) {
			b->last_upload = val;
		} else if (strcmp(k, "last_error") == 0) {
			b->last_error = val;
		} else if (strcmp(k, "failed") == 0) {
			b->failed = val;
		}
	}
	if (st->pid == 0 || st->updated == 0)
		return "status file without its header";
	return NULL;
}

static const struct block *
find_block(const struct status *st, const char *component,
    const char *replica)
{
	for (size_t i = 0; i < st->nblocks; i++) {
		const struct block *b = &st->blocks[i];
		if (strcmp(b->component, component) == 0 && (replica == NULL ||
		    (b->replica != NULL && strcmp(b->replica, replica) == 0)))
			return b;
	}
	return NULL;
}

static void
fmt_time(char *out, size_t len, const char *unix_s)
{
	double v;
	time_t t;
	struct tm tm;

	if (!number(unix_s, &v) || v <= 0) {
		snprintf(out, len, "-");
		return;
	}
	t = (time_t)v;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
usage(const struct flag *flags, size_t n)
{
	printf("The status command reports the state of the running walship "
	    "replicate\nfor each database and replica of the config, and exits "
	    "non-zero when\na component is down or a replica lags more than "
	    "-max-lag.\n\nUsage:\n\n\twalship status [arguments] [DB_PATH]\n\n"
	    "Arguments:\n\n");
	flags_print(flags, n, stdout);
}

int
cmd_status(int argc, char **argv)
{
	const char *config = NULL, *max_lag_s = "1m";
	bool no_expand = false;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &config, "PATH",
		    "Specifies the configuration file.\n\t    Defaults to "
		    "/etc/walship.yml, else /etc/litestream.yml" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL,
		    "Disables environment variable expansion in configuration "
		    "file." },
		{ "max-lag", FLAG_STRING, &max_lag_s, "DURATION",
		    "A replica further behind than this is unhealthy "
		    "(default 1m)." },
	};
	size_t nflags = sizeof(flags) / sizeof(flags[0]);
	char err[256];
	int64_t max_lag_ns;
	int status, bad = 0;

	int i = flags_parse(flags, nflags, argc, argv, stderr);
	if (i == FLAGS_HELP) {
		usage(flags, nflags);
		return 0;
	}
	if (i < 0) {
		usage(flags, nflags);
		return EXIT_USAGE;
	}
	if (argc - i > 1)
		return cli_fail("status", EXIT_USAGE, "too many arguments");
	if (cfg_parse_duration(max_lag_s, &max_lag_ns, err, sizeof(err)) < 0)
		return cli_fail("status", EXIT_USAGE, "-max-lag: %s", err);
	const char *only = i < argc ? argv[i] : NULL;

	struct cfg *cfg = cli_load_config(config, !no_expand, &status);
	if (cfg == NULL)
		return status;
	struct status *st = malloc(sizeof(*st));
	struct table *t = table_new(8);
	if (st == NULL || t == NULL || table_addv(t, "database", "replica",
	    "state", "generation", "position", "lag", "last upload",
	    "error") < 0) {
		free(st);
		table_free(t);
		cfg_free(cfg);
		return cli_fail("status", 1, "out of memory");
	}
	double now = (double)time(NULL), max_lag = (double)max_lag_ns / 1e9;
	size_t matched = 0;
	for (size_t d = 0; d < cfg->ndbs; d++) {
		const struct cfg_db *db = &cfg->dbs[d];
		if (only != NULL && strcmp(only, db->path) != 0)
			continue;
		matched++;
		const char *why = status_read(db->meta_path, st);
		if (why == NULL && kill((pid_t)st->pid, 0) < 0 && errno == ESRCH)
			why = "walship replicate is not running (its supervisor "
			    "is gone)";
		if (why == NULL && now - st->updated > STALE_S)
			why = "status not updated for over 10 s: walship "
			    "replicate is stuck or gone";
		if (why != NULL) {
			fprintf(stderr, "unhealthy: %s: %s\n", db->path, why);
			(void)table_addv(t, db->path, "-", "down", "-", "-", "-",
			    "-", why);
			bad++;
			continue;
		}
		for (size_t r = 0; r <= db->nreplicas; r++) {
			const char *name = r == 0 ? NULL : db->replicas[r - 1].name;
			const struct block *b = find_block(st, r == 0 ?
			    "walreader" : "uploader", name);
			char pos[96], lag[32], when[32];
			double lag_s = 0;
			const char *problem = NULL;

			if (b == NULL) {
				problem = "not started by the running daemon "
				    "(config changed since?)";
			} else if (b->state == NULL ||
			    strcmp(b->state, "up") != 0) {
				problem = b->failed != NULL ? b->failed : "down";
			} else if (r > 0 && number(b->lag, &lag_s) &&
			    lag_s > max_lag) {
				problem = "lagging";
			}
			double idx, off;
			if (b != NULL && b->generation != NULL &&
			    strcmp(b->generation, "none") != 0 &&
			    number(b->index, &idx) && number(b->offset, &off) &&
			    idx >= 0 && idx <= UINT32_MAX && off >= 0 &&
			    off <= UINT32_MAX)
				snprintf(pos, sizeof(pos), "%s/%08x:%08x",
				    b->generation, (unsigned)idx, (unsigned)off);
			else
				snprintf(pos, sizeof(pos), "-");
			snprintf(lag, sizeof(lag), r == 0 ? "-" : "%.1fs", lag_s);
			fmt_time(when, sizeof(when), b ? b->last_upload : NULL);
			const char *error = problem != NULL ? problem :
			    b->last_error != NULL && b->last_error[0] ?
			    b->last_error : "";
			(void)table_addv(t, db->path, name ? name : "-",
			    b && b->state ? b->state : "down",
			    b && b->generation ? b->generation : "-",
			    pos, lag, r == 0 ? "-" : when, error);
			if (problem != NULL) {
				fprintf(stderr, "unhealthy: %s %s%s: %s",
				    db->path, name ? "replica " : "walreader",
				    name ? name : "", problem);
				if (strcmp(problem, "lagging") == 0)
					fprintf(stderr, " %.1fs behind (max %.1fs)",
					    lag_s, max_lag);
				fputc('\n', stderr);
				bad++;
			}
		}
	}
	table_print(t, stdout);
	table_free(t);
	free(st);
	cfg_free(cfg);
	if (only != NULL && matched == 0)
		return cli_fail("status", 1, "database not found in config: %s",
		    only);
	return bad ? 1 : 0;
}
