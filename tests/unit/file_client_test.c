/* The file replica client of replica/file_client.c and replica/client.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "test.h"

static const char *G1 = "97b94e8e9eda898b";
static const char *G2 = "d016801747da08b0";
static char tmpdir[64], root[128], path[512], err[512];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* A fresh, empty replica root for each test. */
static struct replica_client *
fresh(void)
{
	static int n;
	snprintf(root, sizeof(root), "%s/r%d", tmpdir, n++);
	return file_client_new(root, "backup", err, sizeof(err));
}

struct mem {
	const char *p;
	size_t len, pos;
	int fail;
};

static ssize_t
mem_src(void *arg, void *buf, size_t len)
{
	struct mem *m = arg;
	size_t n = m->len - m->pos;

	if (m->fail && m->pos > 0) {
		errno = EIO;
		return -1;
	}
	if (n > len)
		n = len;
	if (n > 3)
		n = 3;	/* short reads */
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int
put(struct replica_client *c, struct replica_obj o, const char *data)
{
	struct mem m = { data, strlen(data), 0, 0 };
	return replica_put(c, &o, mem_src, &m, err, sizeof(err));
}

/* Reads a whole object into BUF (NUL-terminated). */
static ssize_t
get(struct replica_client *c, struct replica_obj o, char *buf, size_t len)
{
	struct replica_reader *r = replica_open(c, &o, err, sizeof(err));
	size_t got = 0;
	ssize_t n;

	if (r == NULL)
		return -1;
	while (got + 1 < len && (n = r->read(r, buf + got, 2)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	r->close(r);
	return (ssize_t)got;
}

static void
touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, "junk", 4) != 4)
			perror("write");
		close(fd);
	}
}

TEST(empty_replica)
{
	struct replica_client *c = fresh();
	struct replica_generation *g;
	struct replica_snapshot *s;
	struct replica_wal_segment *w;
	size_t n = 9;

	ASSERT(c != NULL);
	ASSERT_STR_EQ(c->type, "file");
	ASSERT_STR_EQ(c->name, "backup");
	ASSERT_INT_EQ(replica_list_generations(c, &g, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT(g == NULL);
	ASSERT_INT_EQ(replica_list_snapshots(c, G1, &s, &n, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(replica_list_wal(c, "../x", &w, &n, err, sizeof(err)),
	    -1);
	ASSERT_INT_EQ(errno, EINVAL);
	replica_client_free(c);
	ASSERT(file_client_new("", NULL, err, sizeof(err)) == NULL);
}

TEST(write_list_read)
{
	struct replica_client *c = fresh();
	struct replica_snapshot *s;
	struct replica_wal_segment *w;
	struct replica_generation *g;
	struct stat st;
	char buf[64];
	size_t n;

	/* Out of order on purpose. */
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 1, 0x1038), "w1b"), 0);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0, 0), "w0a-header"), 0);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 1, 0), "w1a"), 0);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0, 0x4080), "w0b"), 0);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0x10, 0x70c8), "w16"), 0);
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G1, 1), "snap-one"), 0);
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G1, 0), "snap0"), 0);
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G2, 0), ""), 0);

	ASSERT_INT_EQ(replica_list_generations(c, &g, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 2);
	ASSERT_STR_EQ(g[0].name, G1);
	ASSERT_STR_EQ(g[1].name, G2);
	free(g);

	ASSERT_INT_EQ(replica_list_snapshots(c, G1, &s, &n, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(n, 2);
	ASSERT_INT_EQ(s[0].index, 0);
	ASSERT_INT_EQ(s[0].size, 5);
	ASSERT_INT_EQ(s[1].index, 1);
	ASSERT_INT_EQ(s[1].size, 8);
	ASSERT(s[1].created > 1600000000LL * 1000000000LL);
	free(s);

	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 5);
	ASSERT(w[0].index == 0 && w[0].offset == 0 && w[0].size == 10);
	ASSERT(w[1].index == 0 && w[1].offset == 0x4080);
	ASSERT(w[2].index == 1 && w[2].offset == 0);
	ASSERT(w[3].index == 1 && w[3].offset == 0x1038);
	ASSERT(w[4].index == 0x10 && w[4].offset == 0x70c8);
	free(w);

	ASSERT_INT_EQ(get(c, replica_wal_obj(G1, 0, 0), buf, sizeof(buf)), 10);
	ASSERT_STR_EQ(buf, "w0a-header");
	ASSERT_INT_EQ(get(c, replica_snapshot_obj(G2, 0), buf, sizeof(buf)),
	    0);

	/* Litestream's file replica layout, exact paths and modes. */
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000010_000070c8.wal.lz4", root, G1);
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/generations/%s/snapshots", root, G1);
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0700);
	ASSERT_STR_EQ(replica_key(c, &(struct replica_obj){ .type =
	    REPLICA_OBJ_SNAPSHOT, .index = 2, .gen = "97b94e8e9eda898b" },
	    path, sizeof(path)) + strlen(root), "/generations/97b94e8e9eda898b/"
	    "snapshots/00000002.snapshot.lz4");
	replica_client_free(c);
}

TEST(modes_and_mtime)
{
	struct replica_client *c = fresh();
	struct replica_snapshot *s;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1700000000, 123456789 } };
	struct stat st;
	size_t n;

	file_client_set_owner(c, 0644, 0755, (uid_t)-1, (gid_t)-1);
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G1, 3), "abc"), 0);
	snprintf(path, sizeof(path), "%s/generations/%s/snapshots/"
	    "00000003.snapshot.lz4", root, G1);
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0644);
	ASSERT_INT_EQ(utimensat(AT_FDCWD, path, ts, 0), 0);
	snprintf(path, sizeof(path), "%s/generations/%s", root, G1);
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 07777, 0755);

	ASSERT_INT_EQ(replica_list_snapshots(c, G1, &s, &n, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(n, 1);
	ASSERT_INT_EQ(s[0].created, 1700000000123456789LL);
	free(s);

	/* Overwriting keeps one object, with the new size. */
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G1, 3), "abcdef"), 0);
	ASSERT_INT_EQ(replica_list_snapshots(c, G1, &s, &n, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(n, 1);
	ASSERT_INT_EQ(s[0].size, 6);
	ASSERT(s[0].created > 1700000000123456789LL);
	free(s);
	replica_client_free(c);
}

TEST(junk_is_ignored)
{
	struct replica_client *c = fresh();
	struct replica_generation *g;
	struct replica_snapshot *s;
	struct replica_wal_segment *w;
	char d[300];
	size_t n;

	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G1, 0), "s"), 0);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0, 0), "w"), 0);
	snprintf(d, sizeof(d), "%s/generations/%s", root, G1);
	/* Names that do not parse, and valid names of the wrong kind. */
	static const char *junk[] = {
		"snapshots/00000000.snapshot.lz4.tmp",
		"snapshots/0000000A.snapshot.lz4", "snapshots/1.snapshot.lz4",
		"snapshots/00000000_00000000.wal.lz4", "wal/00000000.wal",
		"wal/00000000_00000000.wal.lz4.tmp",
		"wal/00000001_0000103G.wal.lz4", "marker",
		"wal/00000000.snapshot.lz4",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d, junk[i]);
		touch(path);
	}
	snprintf(path, sizeof(path), "%s/snapshots/00000005.snapshot.lz4", d);
	ASSERT_INT_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/wal/00000000_00001038.wal.lz4", d);
	ASSERT_INT_EQ(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/generations/%s", root, G2);
	touch(path);	/* a file named like a generation */
	snprintf(path, sizeof(path), "%s/generations/%s0", root, G2);
	ASSERT_INT_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/generations/D016801747DA08B0", root);
	ASSERT_INT_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/generations/0000000000000001", root);
	ASSERT_INT_EQ(symlink(d, path), 0);

	ASSERT_INT_EQ(replica_list_generations(c, &g, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 1);
	ASSERT_STR_EQ(g[0].name, G1);
	free(g);
	ASSERT_INT_EQ(replica_list_snapshots(c, G1, &s, &n, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(n, 1);
	ASSERT_INT_EQ(s[0].index, 0);
	free(s);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 1);
	free(w);

	/* Opening the symlink or the directory is refused. */
	struct replica_obj lnk = replica_wal_obj(G1, 0, 0x1038);
	ASSERT(replica_open(c, &lnk, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, ELOOP);
	struct replica_obj dir = replica_snapshot_obj(G1, 5);
	ASSERT(replica_open(c, &dir, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT(strstr(err, "00000005.snapshot.lz4") != NULL);
	replica_client_free(c);
}

TEST(atomic_writes)
{
	struct replica_client *c = fresh();
	struct replica_obj o = replica_wal_obj(G1, 2, 0x1038);
	struct replica_wal_segment *w;
	struct replica_writer *wr;
	char buf[32], tmp[600];
	size_t n;

	wr = replica_create(c, &o, err, sizeof(err));
	ASSERT(wr != NULL);
	ASSERT_INT_EQ(wr->write(wr, "hello ", 6), 0);
	replica_key(c, &o, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT(access(path, F_OK) < 0);
	ASSERT_INT_EQ(access(tmp, F_OK), 0);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_INT_EQ(wr->write(wr, "world", 5), 0);
	ASSERT_INT_EQ(wr->commit(wr, err, sizeof(err)), 0);
	ASSERT(access(tmp, F_OK) < 0);
	ASSERT_INT_EQ(get(c, o, buf, sizeof(buf)), 11);
	ASSERT_STR_EQ(buf, "hello world");

	/* Abort leaves the old object and no temporary file. */
	wr = replica_create(c, &o, err, sizeof(err));
	ASSERT(wr != NULL);
	ASSERT_INT_EQ(wr->write(wr, "X", 1), 0);
	wr->abort(wr);
	ASSERT(access(tmp, F_OK) < 0);
	ASSERT_INT_EQ(get(c, o, buf, sizeof(buf)), 11);

	/* A source that fails: nothing new appears. */
	struct mem m = { "abcdefgh", 8, 0, 1 };
	struct replica_obj o2 = replica_wal_obj(G1, 3, 0);
	ASSERT_INT_EQ(replica_put(c, &o2, mem_src, &m, err, sizeof(err)), -1);
	ASSERT_INT_EQ(errno, EIO);
	ASSERT(strstr(err, "00000003_00000000.wal.lz4") != NULL);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 1);
	free(w);
	replica_key(c, &o2, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT(access(tmp, F_OK) < 0);

	/* Missing objects: ENOENT naming the path. */
	struct replica_obj none = replica_snapshot_obj(G2, 9);
	ASSERT(replica_open(c, &none, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, ENOENT);
	ASSERT(strstr(err, "00000009.snapshot.lz4") != NULL);
	struct replica_obj bad = replica_snapshot_obj("../../../etc", 0);
	ASSERT(replica_create(c, &bad, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, EINVAL);
	replica_client_free(c);
}

TEST(deletes)
{
	struct replica_client *c = fresh();
	struct replica_generation *g;
	struct replica_wal_segment *w;
	char outside[300], d[300];
	size_t n;

	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0, 0), "a"), 0);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0, 8), "b"), 0);
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G1, 0), "s"), 0);
	ASSERT_INT_EQ(put(c, replica_snapshot_obj(G2, 0), "s"), 0);
	struct replica_obj o = replica_wal_obj(G1, 0, 0);
	ASSERT_INT_EQ(replica_remove(c, &o, err, sizeof(err)), 0);
	ASSERT_INT_EQ(replica_remove(c, &o, err, sizeof(err)), 0);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 1);
	ASSERT_INT_EQ(w[0].offset, 8);
	free(w);

	/* Batched: missing objects count as deleted, a bad one fails first. */
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 1, 0), "c"), 0);
	struct replica_obj many[3] = { replica_wal_obj(G1, 1, 0),
		replica_wal_obj(G1, 0, 0), replica_snapshot_obj(G2, 5) };
	ASSERT_INT_EQ(replica_remove_many(c, many, 3, err, sizeof(err)), 0);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 1);
	free(w);
	many[1] = replica_wal_obj("nope", 0, 0);
	ASSERT_INT_EQ(replica_remove_many(c, many, 3, err, sizeof(err)), -1);
	ASSERT_INT_EQ(replica_remove_many(c, many, 0, err, sizeof(err)), 0);

	/* Extra files, nested directories and a symlink out of the replica. */
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	touch(outside);
	snprintf(d, sizeof(d), "%s/generations/%s", root, G1);
	snprintf(path, sizeof(path), "%s/marker", d);
	touch(path);
	snprintf(path, sizeof(path), "%s/x", d);
	ASSERT_INT_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/x/y", d);
	ASSERT_INT_EQ(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/x/y/link", d);
	ASSERT_INT_EQ(symlink(tmpdir, path), 0);
	snprintf(path, sizeof(path), "%s/wal/link", d);
	ASSERT_INT_EQ(symlink(outside, path), 0);

	ASSERT_INT_EQ(replica_remove_generation(c, G1, err, sizeof(err)), 0);
	ASSERT(access(d, F_OK) < 0);
	ASSERT_INT_EQ(access(outside, F_OK), 0);
	ASSERT_INT_EQ(replica_remove_generation(c, G1, err, sizeof(err)), 0);
	ASSERT_INT_EQ(replica_list_generations(c, &g, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 1);
	ASSERT_STR_EQ(g[0].name, G2);
	free(g);
	ASSERT_INT_EQ(replica_remove_generation(c, "x", err, sizeof(err)), -1);
	replica_client_free(c);
}

TEST(from_config)
{
	struct cfg_replica r = { 0 };
	struct replica_client *c;
	char p[] = "/tmp/walship-none", nm[] = "file";

	r.type = CFG_REPLICA_FILE;
	r.path = p;
	r.name = nm;
	c = replica_client_open(&r, err, sizeof(err));
	ASSERT(c != NULL);
	ASSERT_STR_EQ(c->name, "file");
	replica_client_free(c);
	r.type = CFG_REPLICA_GCS;
	ASSERT(replica_client_open(&r, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, ENOTSUP);
	ASSERT(strstr(err, "gcs") != NULL);
	r.type = CFG_REPLICA_FILE;
	r.path = NULL;
	ASSERT(replica_client_open(&r, err, sizeof(err)) == NULL);
}

/* An age-encrypted replica: objects are written encrypted, read back in
 * clear, and deleted in batches through the wrapper (the compactor's
 * path) like any other. */
TEST(age_wrapped)
{
	char dir[300], nm[] = "enc", buf[64];
	char key[] = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
	char *keys[] = { key };
	struct cfg_replica r = { 0 };
	struct replica_wal_segment *w;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/age", tmpdir);
	r.type = CFG_REPLICA_FILE;
	r.path = dir;
	r.name = nm;
	r.age_recipients.v = keys;
	r.age_recipients.n = 1;
	struct replica_client *c = replica_client_open(&r, err, sizeof(err));
	ASSERT(c != NULL);
	ASSERT_INT_EQ(put(c, replica_wal_obj(G1, 0, 0), "secret"), 0);
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000000_00000000.wal.lz4", dir, G1);
	FILE *f = fopen(path, "r");
	ASSERT(f != NULL);
	size_t got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	ASSERT(strncmp(buf, "age-encryption.org/v1", 21) == 0);
	struct replica_obj many[1] = { replica_wal_obj(G1, 0, 0) };
	ASSERT_INT_EQ(replica_remove_many(c, many, 1, err, sizeof(err)), 0);
	ASSERT_INT_EQ(replica_list_wal(c, G1, &w, &n, err, sizeof(err)), 0);
	ASSERT_INT_EQ(n, 0);
	free(w);
	replica_client_free(c);
}

/* An s3 replica is made without a request; a bad one says why. */
TEST(s3_from_config)
{
	struct cfg_replica r = { 0 };
	struct replica_client *c;
	struct replica_obj o = replica_wal_obj(G1, 1, 0x20);
	char bkt[] = "bkt", pfx[] = "/db//x/", ep[] = "http://127.0.0.1:9",
	    id[] = "AKID", secret[] = "s3cr3t-value", nm[] = "s3", key[256];

	r.type = CFG_REPLICA_S3;
	r.name = nm;
	r.path = pfx;
	r.endpoint = ep;
	r.force_path_style = true;
	ASSERT(replica_client_open(&r, err, sizeof(err)) == NULL);
	ASSERT(strstr(err, "bucket") != NULL);
	r.bucket = bkt;
	ASSERT(replica_client_open(&r, err, sizeof(err)) == NULL);
	ASSERT(strstr(err, "credentials") != NULL);
	r.access_key_id = id;
	r.secret_access_key = secret;
	c = replica_client_open(&r, err, sizeof(err));
	ASSERT(c != NULL);
	ASSERT_STR_EQ(c->type, "s3");
	ASSERT_STR_EQ(c->name, "s3");
	ASSERT_STR_EQ(replica_key(c, &o, key, sizeof(key)),
	    "s3://bkt/db/x/generations/97b94e8e9eda898b/wal/"
	    "00000001_00000020.wal.lz4");
	replica_client_free(c);
	r.endpoint = pfx;	/* not a URL */
	ASSERT(replica_client_open(&r, err, sizeof(err)) == NULL);
	ASSERT(strstr(err, secret) == NULL);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/walship-fc.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(empty_replica);
	RUN(write_list_read);
	RUN(modes_and_mtime);
	RUN(junk_is_ignored);
	RUN(atomic_writes);
	RUN(deletes);
	RUN(from_config);
	RUN(age_wrapped);
	RUN(s3_from_config);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_DONE();
}
