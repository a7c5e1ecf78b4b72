/*
 * s3ctl: a test-only command line over the S3 client (s3/s3sync.h), so
 * integration scenarios can drive every operation against a real store.
 *
 *   s3ctl [options] put KEY FILE          put_stream (multipart > 5 MiB)
 *   s3ctl [options] putmem KEY FILE       put from a buffer
 *   s3ctl [options] get KEY FILE [OFF LEN]
 *   s3ctl [options] head KEY              size=N etag=E mtime_ns=T
 *   s3ctl [options] list [PREFIX [DELIM [START_AFTER]]]
 *                                         "obj KEY SIZE" / "pre PREFIX"
 *   s3ctl [options] delete KEY...         (or "-" : keys from stdin)
 *
 * Options: -e ENDPOINT -b BUCKET -p PREFIX -r REGION -P (path style)
 * -K (skip TLS verification) -m MAXKEYS (per list page) -a ATTEMPTS
 * -t RETRY_TOTAL_MS -c CONNECT_TIMEOUT_MS. Credentials come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN).
 * Request counts go to stderr as "stats: GET=n PUT=n LIST=n DELETE=n
 * HEAD=n retries=n". Errors: "s3ctl: <the client's message>", exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "s3sync.h"

static int
usage(void)
{
	fprintf(stderr, "usage: s3ctl [-e endpoint] [-b bucket] [-p prefix] "
	    "[-r region] [-P] [-K] [-m maxkeys] [-a attempts] [-t total_ms] "
	    "[-c connect_ms] put|putmem|get|head|list|delete ...\n");
	return 2;
}

static ssize_t
read_fd(void *buf, size_t len, void *arg)
{
	return read(*(int *)arg, buf, len);
}

static int
write_file(const void *data, size_t len, void *arg)
{
	return fwrite(data, 1, len, arg) == len ? 0 : -1;
}

static int
print_page(const struct s3_list_entry *e, size_t n, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < n; i++) {
		if (e[i].is_prefix)
			printf("pre %s\n", e[i].key);
		else
			printf("obj %s %lld\n", e[i].key,
			    (long long)e[i].size);
	}
	return 0;
}

static int
cmd_put(struct s3sync *s, int argc, char **argv, bool mem,
    struct s3_error *err)
{
	struct stat st;
	int fd, rc;

	if (argc != 2)
		return usage();
	if ((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	if (mem) {
		char *buf = malloc((size_t)st.st_size + 1);

		if (buf == NULL || read(fd, buf, (size_t)st.st_size) !=
		    st.st_size) {
			perror(argv[1]);
			free(buf);
			close(fd);
			return 1;
		}
		rc = s3sync_put(s, argv[0], buf, (size_t)st.st_size, err);
		free(buf);
	} else {
		rc = s3sync_put_stream(s, argv[0], (uint64_t)st.st_size,
		    read_fd, &fd, err);
	}
	close(fd);
	return rc == 0 ? 0 : -1;
}

static int
cmd_get(struct s3sync *s, int argc, char **argv, struct s3_error *err)
{
	struct s3_object_info info;
	uint64_t off = 0;
	int64_t len = -1;
	FILE *f;
	int rc;

	if (argc != 2 && argc != 4)
		return usage();
	if (argc == 4) {
		off = strtoull(argv[2], NULL, 10);
		len = strtoll(argv[3], NULL, 10);
	}
	if ((f = fopen(argv[1], "wb")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	rc = s3sync_get(s, argv[0], off, len, write_file, f, &info, err);
	if (fclose(f) != 0)
		rc = -1;
	return rc == 0 ? 0 : -1;
}

static int
cmd_head(struct s3sync *s, int argc, char **argv, struct s3_error *err)
{
	struct s3_object_info info;

	if (argc != 1)
		return usage();
	if (s3sync_head(s, argv[0], &info, err) != 0)
		return -1;
	printf("size=%lld etag=%s mtime_ns=%lld\n", (long long)info.size,
	    info.etag, (long long)info.last_modified);
	return 0;
}

static int
cmd_delete(struct s3sync *s, int argc, char **argv, struct s3_error *err)
{
	char **keys = argv, *line = NULL;
	size_t n = (size_t)argc, cap = 0, lcap = 0;
	ssize_t l;
	int rc;

	if (argc == 1 && strcmp(argv[0], "-") == 0) {
		keys = NULL;
		n = 0;
		while ((l = getline(&line, &lcap, stdin)) > 0) {
			if (line[l - 1] == '\n')
				line[l - 1] = '\0';
			if (n == cap && (keys = realloc(keys, (cap = cap * 2 +
			    64) * sizeof(*keys))) == NULL)
				return 1;
			keys[n++] = strdup(line);
		}
		free(line);
	}
	rc = s3sync_delete(s, (const char *const *)keys, n, err);
	if (keys != argv) {
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
	}
	return rc == 0 ? 0 : -1;
}

static int
run(struct s3sync *s, int argc, char **argv, struct s3_error *err)
{
	const char *cmd = argv[0];

	argc--, argv++;
	if (strcmp(cmd, "put") == 0 || strcmp(cmd, "putmem") == 0)
		return cmd_put(s, argc, argv, strcmp(cmd, "putmem") == 0, err);
	if (strcmp(cmd, "get") == 0)
		return cmd_get(s, argc, argv, err);
	if (strcmp(cmd, "head") == 0)
		return cmd_head(s, argc, argv, err);
	if (strcmp(cmd, "list") == 0)
		return s3sync_list(s, argc > 0 ? argv[0] : "", argc > 1 ?
		    argv[1] : NULL, argc > 2 ? argv[2] : NULL, print_page, NULL,
		    err) == 0 ? 0 : -1;
	if (strcmp(cmd, "delete") == 0)
		return cmd_delete(s, argc, argv, err);
	return usage();
}

static void
print_stats(struct s3sync *s)
{
	const struct s3client_stats *st = s3client_stats(s3sync_client(s));

	fprintf(stderr, "stats: GET=%llu PUT=%llu LIST=%llu DELETE=%llu "
	    "HEAD=%llu retries=%llu\n",
	    (unsigned long long)st->requests[S3_STAT_GET],
	    (unsigned long long)st->requests[S3_STAT_PUT],
	    (unsigned long long)st->requests[S3_STAT_LIST],
	    (unsigned long long)st->requests[S3_STAT_DELETE],
	    (unsigned long long)st->requests[S3_STAT_HEAD],
	    (unsigned long long)st->retries);
}

int
main(int argc, char **argv)
{
	struct s3client_config cfg = { 0 };
	struct s3_error err = { 0 };
	struct s3sync *s;
	char msg[2048];
	int opt, rc;

	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stderr);
	while ((opt = getopt(argc, argv, "e:b:p:r:PKm:a:t:c:")) != -1) {
		switch (opt) {
		case 'e': cfg.endpoint = optarg; break;
		case 'b': cfg.bucket = optarg; break;
		case 'p': cfg.prefix = optarg; break;
		case 'r': cfg.region = optarg; break;
		case 'P': cfg.force_path_style = true; break;
		case 'K': cfg.skip_verify = true; break;
		case 'm': cfg.list_max_keys = (unsigned)atoi(optarg); break;
		case 'a': cfg.max_attempts = (unsigned)atoi(optarg); break;
		case 't': cfg.retry_total_ms = strtoull(optarg, NULL, 10); break;
		case 'c': cfg.connect_timeout_ms = atol(optarg); break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	cfg.access_key_id = getenv("AWS_ACCESS_KEY_ID");
	cfg.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
	cfg.session_token = getenv("AWS_SESSION_TOKEN");
	if ((s = s3sync_new(&cfg, msg, sizeof(msg))) == NULL) {
		fprintf(stderr, "s3ctl: %s\n", msg);
		return 1;
	}
	rc = run(s, argc - optind, argv + optind, &err);
	if (rc < 0) {
		s3_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "s3ctl: %s\n", msg);
		rc = 1;
	}
	print_stats(s);
	s3sync_free(s);
	return rc;
}
