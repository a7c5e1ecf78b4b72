/*
 * generations, snapshots, wal: what a replica holds, in the exact columns,
 * order and time format of Litestream's commands (format doc §6.2). Like
 * Litestream they exit 0 when a replica cannot be read: the error is logged
 * (on stderr, so the table on stdout stays clean) and the table has only its
 * header.
 */
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
#include "table.h"

enum list_kind { LIST_GENERATIONS, LIST_SNAPSHOTS, LIST_WAL };

struct list_opts {
	const char *config;
	bool no_expand;
	const char *replica;
	const char *generation;
};

static const char *const list_names[] = { "generations", "snapshots", "wal" };
static const char *const list_help[] = {
	"The generations command lists all generations for a database or "
	"replica.",
	"The snapshots command lists all snapshots available for a database "
	"or replica.",
	"The wal command lists all wal segments available for a database or "
	"replica.",
};

static long long
wall_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Litestream's lag rounding: 1 s above 10 s, 0.1 s above 1 s, 1 ms above
 * 1 ms, 1 us above 1 us (Go's Truncate, toward zero). */
static void
format_lag(long long d, char *buf, size_t len)
{
	long long a = d < 0 ? -d : d, unit = 1;
	if (a > 10000000000LL)
		unit = 1000000000LL;
	else if (a > 1000000000LL)
		unit = 100000000LL;
	else if (a > 1000000LL)
		unit = 1000000LL;
	else if (a > 1000LL)
		unit = 1000LL;
	cfg_format_duration((int64_t)(d - d % unit), buf, len);
}

/* The later of the database's and its -wal's modification times. */
static long long
db_mtime_ns(const char *path)
{
	struct stat st;
	char wal[4200];
	long long t = 0;
	if (stat(path, &st) == 0)
		t = (long long)st.st_mtim.tv_sec * 1000000000LL +
		    st.st_mtim.tv_nsec;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0) {
		long long w = (long long)st.st_mtim.tv_sec * 1000000000LL +
		    st.st_mtim.tv_nsec;
		if (w > t)
			t = w;
	}
	return t;
}

static void
list_generations(struct cli_target *t, struct replica_client *c,
    const char *rname, struct table *tab)
{
	struct replica_generation *gens = NULL;
	size_t ngens = 0;
	char err[1024];
	if (replica_list_generations(c, &gens, &ngens, err, sizeof(err)) < 0) {
		log_error("cannot list generations", KV_S("replica", rname),
		    KV_ERRS(err));
		return;
	}
	long long ref = t->url_mode ? wall_now_ns() : db_mtime_ns(t->db->path);
	for (size_t g = 0; g < ngens; g++) {
		struct replica_snapshot *snaps = NULL;
		struct replica_wal_segment *segs = NULL;
		size_t ns = 0, nw = 0;
		long long start = 0, end = 0;
		bool any = false;
		if (replica_list_snapshots(c, gens[g].name, &snaps, &ns, err,
		    sizeof(err)) == 0 && replica_list_wal(c, gens[g].name,
		    &segs, &nw, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < ns + nw; i++) {
				long long ts = i < ns ? snaps[i].created :
				    segs[i - ns].created;
				if (!any || ts < start)
					start = ts;
				if (!any || ts > end)
					end = ts;
				any = true;
			}
		} else {
			log_error("cannot list generation", KV_S("replica", rname),
			    KV_S("generation", gens[g].name), KV_ERRS(err));
		}
		free(snaps);
		free(segs);
		if (!any)
			continue;
		char lag[64], s[32], e[32];
		format_lag(ref - end, lag, sizeof(lag));
		cli_format_time(start, s, sizeof(s));
		cli_format_time(end, e, sizeof(e));
		table_addv(tab, rname, gens[g].name, lag, s, e);
	}
	free(gens);
}

/* Calls FN for each generation of replica C (only ONLY when not NULL). */
static void
each_generation(struct replica_client *c, const char *rname, const char *only,
    void (*fn)(struct replica_client *, const char *, const char *,
    struct table *), struct table *tab)
{
	struct replica_generation *gens = NULL;
	size_t ngens = 0;
	char err[256];
	if (replica_list_generations(c, &gens, &ngens, err, sizeof(err)) < 0) {
		log_error("cannot list generations", KV_S("replica", rname),
		    KV_ERRS(err));
		return;
	}
	for (size_t g = 0; g < ngens; g++) {
		if (only == NULL || strcmp(only, gens[g].name) == 0)
			fn(c, rname, gens[g].name, tab);
	}
	free(gens);
}

static void
snapshot_rows(struct replica_client *c, const char *rname, const char *gen,
    struct table *tab)
{
	struct replica_snapshot *snaps = NULL;
	size_t n = 0;
	char err[256];
	if (replica_list_snapshots(c, gen, &snaps, &n, err, sizeof(err)) < 0) {
		log_error("cannot list snapshots", KV_S("replica", rname),
		    KV_S("generation", gen), KV_ERRS(err));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char idx[16], size[32], created[32];
		snprintf(idx, sizeof(idx), "%u", snaps[i].index);
		snprintf(size, sizeof(size), "%lld", (long long)snaps[i].size);
		cli_format_time(snaps[i].created, created, sizeof(created));
		table_addv(tab, rname, gen, idx, size, created);
	}
	free(snaps);
}

static void
wal_rows(struct replica_client *c, const char *rname, const char *gen,
    struct table *tab)
{
	struct replica_wal_segment *segs = NULL;
	size_t n = 0;
	char err[256];
	if (replica_list_wal(c, gen, &segs, &n, err, sizeof(err)) < 0) {
		log_error("cannot list wal", KV_S("replica", rname),
		    KV_S("generation", gen), KV_ERRS(err));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char idx[16], off[16], size[32], created[32];
		snprintf(idx, sizeof(idx), "%u", segs[i].index);
		snprintf(off, sizeof(off), "%u", segs[i].offset);
		snprintf(size, sizeof(size), "%lld", (long long)segs[i].size);
		cli_format_time(segs[i].created, created, sizeof(created));
		table_addv(tab, rname, gen, idx, off, size, created);
	}
	free(segs);
}

static struct table *
new_table(enum list_kind kind)
{
	struct table *t;
	switch (kind) {
	case LIST_GENERATIONS:
		t = table_new(5);
		if (t)
			table_addv(t, "name", "generation", "lag", "start",
			    "end");
		return t;
	case LIST_SNAPSHOTS:
		t = table_new(5);
		if (t)
			table_addv(t, "replica", "generation", "index", "size",
			    "created");
		return t;
	case LIST_WAL:
		t = table_new(6);
		if (t)
			table_addv(t, "replica", "generation", "index",
			    "offset", "size", "created");
		return t;
	}
	return NULL;
}

static int
run_list(enum list_kind kind, int argc, char **argv)
{
	struct list_opts o = { 0 };
	struct flag flags[] = {
		{ "config", FLAG_STRING, &o.config, "PATH",
		    "Specifies the configuration file.\n\t    Defaults to "
		    "/etc/walship.yml, else /etc/litestream.yml" },
		{ "no-expand-env", FLAG_BOOL, &o.no_expand, NULL,
		    "Disables environment variable expansion in configuration "
		    "file." },
		{ "replica", FLAG_STRING, &o.replica, "NAME",
		    "Optional, filters by replica." },
		{ "generation", FLAG_STRING, &o.generation, "NAME",
		    "Optional, filters by generation." },
	};
	size_t nflags = kind == LIST_WAL ? 4 : 3;
	const char *cmd = list_names[kind];
	struct cli_target t;
	int status = 0;

	int i = flags_parse(flags, nflags, argc, argv, stderr);
	if (i == FLAGS_HELP || i < 0) {
		printf("%s\n\nUsage:\n\n\twalship %s [arguments] DB_PATH\n\n"
		    "\twalship %s [arguments] REPLICA_URL\n\nArguments:\n\n",
		    list_help[kind], cmd, cmd);
		flags_print(flags, nflags, stdout);
		return i == FLAGS_HELP ? 0 : EXIT_USAGE;
	}
	if (i >= argc)
		return cli_fail(cmd, EXIT_USAGE, "database path required");
	if (i + 1 < argc)
		return cli_fail(cmd, EXIT_USAGE, "too many arguments");
	if (cli_target_open(&t, cmd, argv[i], o.config, !o.no_expand,
	    o.replica, &status) < 0)
		return status;
	log_init(log_get_level(), LOG_FORMAT_TEXT, stderr);
	struct table *tab = new_table(kind);
	if (tab == NULL) {
		cli_target_close(&t);
		return cli_fail(cmd, 1, "out of memory");
	}
	for (size_t r = 0; r < t.nreplicas; r++) {
		struct replica_client *c = cli_target_client(&t, r);
		if (c == NULL)
			continue;
		const char *rname = t.replicas[r]->name;
		if (kind == LIST_GENERATIONS)
			list_generations(&t, c, rname, tab);
		else if (kind == LIST_SNAPSHOTS)
			each_generation(c, rname, NULL, snapshot_rows, tab);
		else
			each_generation(c, rname, o.generation, wal_rows, tab);
		replica_client_free(c);
	}
	table_print(tab, stdout);
	table_free(tab);
	cli_target_close(&t);
	return 0;
}

int
cmd_generations(int argc, char **argv)
{
	return run_list(LIST_GENERATIONS, argc, argv);
}

int
cmd_snapshots(int argc, char **argv)
{
	return run_list(LIST_SNAPSHOTS, argc, argv);
}

int
cmd_wal(int argc, char **argv)
{
	return run_list(LIST_WAL, argc, argv);
}
