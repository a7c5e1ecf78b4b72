/*
 * replctl: a test-only command line over the S3 replica client
 * (replica/s3_replica.h) through the generic interface of client.h, so
 * integration scenarios can drive every operation against a real store.
 *
 *   replctl [options] put GEN snapshot IDX FILE
 *   replctl [options] put GEN wal IDX OFF FILE
 *   replctl [options] get GEN snapshot IDX FILE
 *   replctl [options] get GEN wal IDX OFF FILE
 *   replctl [options] ls [GEN]      generations, or a generation's objects:
 *                                   "snapshot IDX SIZE CREATED_NS",
 *                                   "wal IDX OFF SIZE CREATED_NS" (sorted)
 *   replctl [options] rm GEN snapshot IDX | rm GEN wal IDX OFF
 *   replctl [options] rmgen GEN
 *   replctl [options] getall GEN THREADS DIR
 *                                   every WAL segment of GEN, downloaded by
 *                                   THREADS threads sharing one client, into
 *                                   DIR/IDX_OFF (hex, as the key names them)
 *
 * Options: -e ENDPOINT -b BUCKET -p PREFIX -r REGION -P (path style).
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. At the
 * end stderr gets "stats: lanes=N GET=n PUT=n LIST=n DELETE=n retries=n
 * maxrss_kb=N". Errors: "replctl: <the client's message>", exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "s3_replica.h"

#define CHUNK (32u << 10)

static char err[2048];

static int
usage(void)
{
	fprintf(stderr, "usage: replctl [-e endpoint] [-b bucket] [-p prefix] "
	    "[-r region] [-P] put|get|ls|rm|rmgen|getall ...\n");
	return 2;
}

static uint32_t
hex(const char *s)
{
	return (uint32_t)strtoul(s, NULL, 16);
}

/* GEN snapshot IDX ... | GEN wal IDX OFF ...: the object; *USED args. */
static int
parse_obj(int argc, char **argv, struct replica_obj *o, int *used)
{
	if (argc >= 3 && strcmp(argv[1], "snapshot") == 0) {
		*o = replica_snapshot_obj(argv[0], hex(argv[2]));
		*used = 3;
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "wal") == 0) {
		*o = replica_wal_obj(argv[0], hex(argv[2]), hex(argv[3]));
		*used = 4;
		return 0;
	}
	return -1;
}

static ssize_t
read_fd(void *arg, void *buf, size_t len)
{
	return read(*(int *)arg, buf, len);
}

static int
cmd_put(struct replica_client *c, int argc, char **argv)
{
	struct replica_obj o;
	int used, fd, rc;

	if (parse_obj(argc, argv, &o, &used) < 0 || argc != used + 1)
		return usage();
	if ((fd = open(argv[used], O_RDONLY)) < 0) {
		perror(argv[used]);
		return 1;
	}
	rc = replica_put(c, &o, read_fd, &fd, err, sizeof(err));
	close(fd);
	return rc == 0 ? 0 : -1;
}

/* Streams object O into PATH through a small buffer. */
static int
download(struct replica_client *c, const struct replica_obj *o,
    const char *path, char *e, size_t elen)
{
	struct replica_reader *r;
	char *buf;
	ssize_t n;
	int fd, rc = 0;

	if ((r = replica_open(c, o, e, elen)) == NULL)
		return -1;
	if ((buf = malloc(CHUNK)) == NULL ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		snprintf(e, elen, "%s: %s", path, strerror(errno));
		free(buf);
		r->close(r);
		return -1;
	}
	while ((n = r->read(r, buf, CHUNK)) > 0) {
		if (write(fd, buf, (size_t)n) != n) {
			snprintf(e, elen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
	}
	if (n < 0) {
		snprintf(e, elen, "%s", r->err);
		rc = -1;
	}
	close(fd);
	free(buf);
	r->close(r);
	return rc;
}

static int
cmd_get(struct replica_client *c, int argc, char **argv)
{
	struct replica_obj o;
	int used;

	if (parse_obj(argc, argv, &o, &used) < 0 || argc != used + 1)
		return usage();
	return download(c, &o, argv[used], err, sizeof(err)) == 0 ? 0 : -1;
}

static int
cmd_ls(struct replica_client *c, int argc, char **argv)
{
	struct replica_generation *g = NULL;
	struct replica_snapshot *s = NULL;
	struct replica_wal_segment *w = NULL;
	size_t n = 0, m = 0;

	if (argc == 0) {
		if (replica_list_generations(c, &g, &n, err, sizeof(err)) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			printf("%s\n", g[i].name);
		free(g);
		return 0;
	}
	if (replica_list_snapshots(c, argv[0], &s, &n, err, sizeof(err)) < 0 ||
	    replica_list_wal(c, argv[0], &w, &m, err, sizeof(err)) < 0) {
		free(s);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		printf("snapshot %08x %lld %lld\n", s[i].index,
		    (long long)s[i].size, (long long)s[i].created);
	for (size_t i = 0; i < m; i++)
		printf("wal %08x %08x %lld %lld\n", w[i].index, w[i].offset,
		    (long long)w[i].size, (long long)w[i].created);
	free(s);
	free(w);
	return 0;
}

static int
cmd_rm(struct replica_client *c, int argc, char **argv)
{
	struct replica_obj o;
	int used;

	if (parse_obj(argc, argv, &o, &used) < 0 || argc != used)
		return usage();
	return replica_remove(c, &o, err, sizeof(err)) == 0 ? 0 : -1;
}

/* getall: threads taking segments from a shared cursor. */
struct getall {
	struct replica_client *c;
	const char *gen, *dir;
	struct replica_wal_segment *w;
	size_t n, next;
	pthread_mutex_t mu;
	bool failed;
	char err[2048];
};

static void *
getall_main(void *arg)
{
	struct getall *g = arg;
	char path[4096], e[2048];

	for (;;) {
		size_t i;

		pthread_mutex_lock(&g->mu);
		i = g->failed ? g->n : g->next++;
		pthread_mutex_unlock(&g->mu);
		if (i >= g->n)
			return NULL;
		struct replica_obj o = replica_wal_obj(g->gen, g->w[i].index,
		    g->w[i].offset);
		snprintf(path, sizeof(path), "%s/%08x_%08x", g->dir,
		    g->w[i].index, g->w[i].offset);
		if (download(g->c, &o, path, e, sizeof(e)) < 0) {
			pthread_mutex_lock(&g->mu);
			if (!g->failed)
				snprintf(g->err, sizeof(g->err), "%s", e);
			g->failed = true;
			pthread_mutex_unlock(&g->mu);
		}
	}
}

static int
cmd_getall(struct replica_client *c, int argc, char **argv)
{
	struct getall g = { .c = c };
	pthread_t tid[64];
	int nt;

	if (argc != 3 || (nt = atoi(argv[1])) < 1 || nt > 64)
		return usage();
	g.gen = argv[0];
	g.dir = argv[2];
	pthread_mutex_init(&g.mu, NULL);
	if (replica_list_wal(c, g.gen, &g.w, &g.n, err, sizeof(err)) < 0)
		return -1;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tid[i], NULL, getall_main, &g) != 0)
			nt = i;
	for (int i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	free(g.w);
	pthread_mutex_destroy(&g.mu);
	if (g.failed) {
		snprintf(err, sizeof(err), "%s", g.err);
		return -1;
	}
	printf("downloaded %zu segments with %d threads\n", g.n, nt);
	return 0;
}

static int
run(struct replica_client *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	argc--, argv++;
	if (strcmp(cmd, "put") == 0)
		return cmd_put(c, argc, argv);
	if (strcmp(cmd, "get") == 0)
		return cmd_get(c, argc, argv);
	if (strcmp(cmd, "ls") == 0)
		return cmd_ls(c, argc, argv);
	if (strcmp(cmd, "rm") == 0)
		return cmd_rm(c, argc, argv);
	if (strcmp(cmd, "rmgen") == 0 && argc == 1)
		return replica_remove_generation(c, argv[0], err,
		    sizeof(err)) == 0 ? 0 : -1;
	if (strcmp(cmd, "getall") == 0)
		return cmd_getall(c, argc, argv);
	return usage();
}

int
main(int argc, char **argv)
{
	struct cfg_replica r = { 0 };
	struct replica_client *c;
	struct s3_replica_stats st;
	struct rusage ru;
	char name[] = "s3";
	int opt, rc;

	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stderr);
	r.type = CFG_REPLICA_S3;
	r.name = name;
	while ((opt = getopt(argc, argv, "e:b:p:r:P")) != -1) {
		switch (opt) {
		case 'e': r.endpoint = optarg; break;
		case 'b': r.bucket = optarg; break;
		case 'p': r.path = optarg; break;
		case 'r': r.region = optarg; break;
		case 'P': r.force_path_style = true; break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	r.access_key_id = getenv("AWS_ACCESS_KEY_ID");
	r.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
	if ((c = replica_client_open(&r, err, sizeof(err))) == NULL) {
		fprintf(stderr, "replctl: %s\n", err);
		return 1;
	}
	rc = run(c, argc - optind, argv + optind);
	if (rc < 0) {
		fprintf(stderr, "replctl: %s\n", err);
		rc = 1;
	}
	s3_replica_stats(c, &st);
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "stats: lanes=%u GET=%llu PUT=%llu LIST=%llu "
	    "DELETE=%llu retries=%llu maxrss_kb=%ld\n", st.lanes,
	    (unsigned long long)st.req.requests[S3_STAT_GET],
	    (unsigned long long)st.req.requests[S3_STAT_PUT],
	    (unsigned long long)st.req.requests[S3_STAT_LIST],
	    (unsigned long long)st.req.requests[S3_STAT_DELETE],
	    (unsigned long long)st.req.retries, ru.ru_maxrss);
	replica_client_free(c);
	return rc;
}
