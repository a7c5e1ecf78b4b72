/*
 * What the supervisor reports (supervisor/metrics_text.c,
 * supervisor/status_file.c): the Prometheus text built from children's
 * status payloads, with untrusted values left out and label values
 * escaped, and the status file `walship status` reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "sv.h"
#include "test.h"

static char tmpdir[256];

static void
set_status(struct child *c, const char *payload)
{
	c->status_len = strlen(payload);
	memcpy(c->status, payload, c->status_len);
}

/* Two children: a walreader and an S3 uploader, both UP. */
static void
two_children(struct child c[2], const char *db)
{
	memset(c, 0, 2 * sizeof(*c));
	for (int i = 0; i < 2; i++) {
		child_fsm_init(&c[i].fsm, 7);
		c[i].fsm.state = CHILD_UP;
		c[i].db_path = (char *)(uintptr_t)db;
	}
	c[0].role = SV_WALREADER;
	c[1].role = SV_UPLOADER;
	c[1].replica_name = (char *)(uintptr_t)"s3";
		c[1].fsm.restarts = 3;
	set_status(&c[0], "pid=10\nrole=walreader\ngeneration=0123456789abcdef\n"
	    "index=2\noffset=4152\nwal_bytes=8304\ncheckpoints_truncate=5\n"
	    "checkpoints_restart=7\ncheckpoints_passive=2\n"
	    "checkpoint_seconds_truncate=0.250\n"
	    "checkpoint_seconds_restart=0.125\nsyncs=oops\n");
	set_status(&c[1], "pid=11\nrole=uploader\nindex=2\noffset=12x\n"
	    "lag_seconds=1.500\nuploads=9\nupload_errors=1\ns3_put=7\n"
	    "s3_get=1\ns3_list=2\ns3_delete=0\ns3_head=1\ns3_bytes_up=900\n");
}

static char *
render(struct child *c, size_t n)
{
	struct child *pc[2] = { &c[0], &c[1] };
	struct evbuffer *b = evbuffer_new();
	sv_metrics_render(b, pc, n, NULL);
	size_t len = evbuffer_get_length(b);
	char *s = malloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

TEST(metrics_from_payloads)
{
	struct child c[2];
	two_children(c, "/data/app.db");
	char *m = render(c, 2);

	/* One family, one header, a sample per mode. */
	ASSERT(strstr(m, "# TYPE litestream_checkpoint_count counter\n"
	    "litestream_checkpoint_count{db=\"/data/app.db\",mode=\"TRUNCATE\"}"
	    " 5\n"
	    "litestream_checkpoint_count{db=\"/data/app.db\",mode=\"RESTART\"}"
	    " 7\n"
	    "litestream_checkpoint_count{db=\"/data/app.db\",mode=\"PASSIVE\"}"
	    " 2\n") != NULL);
	ASSERT(strstr(m, "litestream_checkpoint_seconds{db=\"/data/app.db\","
	    "mode=\"TRUNCATE\"} 0.25\n"
	    "litestream_checkpoint_seconds{db=\"/data/app.db\","
	    "mode=\"RESTART\"} 0.125\n") != NULL);
	const char *first = strstr(m, "# TYPE litestream_checkpoint_count ");
	ASSERT(first != NULL &&
	    strstr(first + 1, "# TYPE litestream_checkpoint_count ") == NULL);
	ASSERT(strstr(m, "litestream_replica_wal_index{db=\"/data/app.db\","
	    "name=\"s3\"} 2\n") != NULL);
	ASSERT(strstr(m, "walship_replica_lag_seconds{db=\"/data/app.db\","
	    "name=\"s3\"} 1.5\n") != NULL);
	/* Values that do not parse whole are left out, family and all. */
	ASSERT(strstr(m, "litestream_replica_wal_offset") == NULL);
	ASSERT(strstr(m, "litestream_sync_count") == NULL);
	/* S3 requests per replica, and Litestream's sums without db. */
	ASSERT(strstr(m, "walship_s3_requests_total{db=\"/data/app.db\","
	    "name=\"s3\",operation=\"HEAD\"} 1\n") != NULL);
	ASSERT(strstr(m, "litestream_replica_operation_total{operation=\"PUT\","
	    "replica_type=\"s3\"} 7\n") != NULL);
	ASSERT(strstr(m, "litestream_replica_operation_bytes{operation=\"PUT\","
	    "replica_type=\"s3\"} 900\n") != NULL);
	ASSERT(strstr(m, "walship_component_restarts_total{db=\"/data/app.db\","
	    "name=\"s3\",component=\"uploader\"} 3\n") != NULL);
	ASSERT(strstr(m, "walship_component_up{db=\"/data/app.db\","
	    "component=\"walreader\"} 1\n") != NULL);
	free(m);

	/* A child that exited reports nothing of its own, and is down. */
	c[1].status_len = 0;
	c[1].fsm.state = CHILD_FAILED;
	m = render(c, 2);
	ASSERT(strstr(m, "walship_s3_requests_total") == NULL);
	ASSERT(strstr(m, "walship_component_failed{db=\"/data/app.db\","
	    "name=\"s3\",component=\"uploader\"} 1\n") != NULL);
	free(m);
}

TEST(metrics_escape_labels)
{
	struct child c[2];
	two_children(c, "/data/a\"b\\c\nd.db");
	char *m = render(c, 2);
	ASSERT(strstr(m, "{db=\"/data/a\\\"b\\\\c\\nd.db\"") != NULL);
	ASSERT(strstr(m, "d.db\",mode") != NULL);
	free(m);
}

TEST(status_file_render)
{
	struct child c[2];
	struct child *pc[2] = { &c[0], &c[1] };
	char out[4096];
	two_children(c, "/data/app.db");
	c[1].replica_name = (char *)(uintptr_t)"evil\nstate=up";
	c[0].fsm.ready_at = 1000000000LL;
	int n = sv_status_file_render(out, sizeof(out), pc, 2, 0, 42,
	    1700000000123000000LL, 3500000000LL);
	ASSERT(n > 0);
	ASSERT_INT_EQ(strlen(out), n);
	ASSERT(strncmp(out, "walship-status 1\nsupervisor_pid=42\n"
	    "updated_unix=1700000000.123\ncomponent=walreader\nstate=up\n"
	    "restarts=0\nup_seconds=2.500\npid=10\n", 112) == 0);
	ASSERT(strstr(out, "component=uploader\nreplica=evil state=up\n"
	    "state=up\nrestarts=3\n") != NULL);
	ASSERT(strstr(out, "s3_bytes_up=900\n") != NULL);
	/* Another database's file holds none of these children. */
	n = sv_status_file_render(out, sizeof(out), pc, 2, 1, 42, 0, 0);
	ASSERT(n > 0 && strstr(out, "component=") == NULL);
	/* Too small: an error, never a cut file. */
	ASSERT_INT_EQ(sv_status_file_render(out, 100, pc, 2, 0, 42, 0, 0), -1);
}

TEST(status_file_write)
{
	char meta[512], path[600], buf[64];
	snprintf(meta, sizeof(meta), "%s/meta", tmpdir);
	mkdir(meta, 0700);
	errno = 0;
	ASSERT_INT_EQ(sv_status_file_write(meta, "x\n"), -1);
	ASSERT_INT_EQ(errno, ENOENT);
	snprintf(path, sizeof(path), "%s/walship", meta);
	mkdir(path, 0700);
	ASSERT_INT_EQ(sv_status_file_write(meta, "walship-status 1\n"), 0);
	ASSERT_INT_EQ(sv_status_file_write(meta, "second\n"), 0);
	snprintf(path, sizeof(path), "%s/%s", meta, SV_STATUS_FILE);
	FILE *f = fopen(path, "r");
	ASSERT(f != NULL);
	size_t got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	ASSERT_STR_EQ(buf, "second\n");
	unlink(path);
	snprintf(path, sizeof(path), "%s/walship", meta);
	rmdir(path);
	rmdir(meta);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/report_test.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(metrics_from_payloads);
	RUN(metrics_escape_labels);
	RUN(status_file_render);
	RUN(status_file_write);
	rmdir(tmpdir);
	return TEST_DONE();
}
