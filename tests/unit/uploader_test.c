/*
 * uploader_test: the uploader's pure parts (position file, plan, frame
 * buffer) and its work on disk (reading a shadow log built here, writing
 * segments and snapshots to a file replica and finding the position on it
 * again), all in a temporary directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "lz4frame.h"
#include "s3client.h"
#include "sqlitewal.h"
#include "test.h"
#include "upl.h"

#define PAGE 4096
#define FRAME (24 + PAGE)
#define G1 "0123456789abcdef"
#define G2 "fedcba9876543210"

static char tmpdir[256];

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void
fresh_dir(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
	nftw(out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(out, 0700);
}

static void
mkdirs(const char *path)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0700);
			*p = '/';
		}
	}
	mkdir(buf, 0700);
}

static int
write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	*len = n < 0 ? 0 : (size_t)n;
	return buf;
}

/*
 * A shadow WAL image: header with SALT1, then NFRAMES frames where the
 * frames numbered in COMMITS (1-based, 0-terminated) are commit frames.
 * Page bytes are a pattern of the frame number so segments differ.
 */
static uint8_t *
make_wal(uint32_t salt1, uint32_t nframes, const uint32_t *commits,
    size_t *len)
{
	struct sqlitewal_hdr h = { .magic = SQLITEWAL_MAGIC_LE,
		.version = SQLITEWAL_VERSION, .page_size = PAGE,
		.salt1 = salt1, .salt2 = 0x5a5a0000u + salt1 };
	*len = 32 + (size_t)nframes * FRAME;
	uint8_t *w = calloc(1, *len);
	sqlitewal_hdr_encode(&h, w);
	for (uint32_t f = 1; f <= nframes; f++) {
		uint8_t *fr = w + 32 + (size_t)(f - 1) * FRAME;
		bool commit = false;
		for (const uint32_t *c = commits; *c; c++)
			commit |= *c == f;
		sqlitewal_put32(fr, f);
		sqlitewal_put32(fr + 4, commit ? 10 + f : 0);
		sqlitewal_put32(fr + 8, h.salt1);
		sqlitewal_put32(fr + 12, h.salt2);
		memset(fr + 24, (int)(f * 7 + salt1), PAGE);
	}
	return w;
}

static void
put_shadow(const char *meta, const char *gen, uint32_t index,
    const uint8_t *buf, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/generations/%s/wal", meta, gen);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/generations/%s/wal/%08x.wal", meta,
	    gen, index);
	write_file(path, buf, len);
}

static void
put_generation(const char *meta, const char *gen)
{
	char path[1024], line[32];
	snprintf(path, sizeof(path), "%s/generation", meta);
	snprintf(line, sizeof(line), "%s\n", gen);
	write_file(path, line, strlen(line));
}

static int
lz4_sink(void *arg, const void *buf, size_t len)
{
	int fd = *(int *)arg;
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

/* A snapshot file as the walreader writes it: CONTENT, LZ4-framed. */
static void
put_snapshot(const char *meta, const char *gen, uint32_t index,
    uint64_t offset, const char *content)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/generations/%s/snapshots", meta, gen);
	mkdirs(path);
	snprintf(path, sizeof(path),
	    "%s/generations/%s/snapshots/%08x_%016" PRIx64 ".snapshot.lz4",
	    meta, gen, index, offset);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct lz4frame_writer *w = lz4frame_writer_new(lz4_sink, &fd);
	lz4frame_write(w, content, strlen(content));
	lz4frame_writer_finish(w);
	lz4frame_writer_free(w);
	close(fd);
}

static ssize_t
fd_src(void *arg, void *buf, size_t len)
{
	return read(*(int *)arg, buf, len);
}

/* Decompresses the LZ4 file PATH into a malloc'd buffer. */
static uint8_t *
unlz4_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct lz4frame_reader *r = lz4frame_reader_new(fd_src, &fd);
	size_t cap = 1 << 16, n = 0;
	uint8_t *out = malloc(cap);
	ssize_t got;
	while ((got = lz4frame_read(r, out + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n == cap)
			out = realloc(out, cap *= 2);
	}
	if (got < 0)
		printf("  unlz4 %s: %s\n", path, lz4frame_reader_error(r));
	lz4frame_reader_free(r);
	close(fd);
	if (got < 0) {
		free(out);
		return NULL;
	}
	*len = n;
	return out;
}

/* Whether the LZ4 object at PATH holds exactly LEN bytes of WANT. */
static bool
holds(const char *path, const void *want, size_t len)
{
	size_t got_len;
	uint8_t *got = unlz4_file(path, &got_len);
	bool same = got != NULL && got_len == len &&
	    memcmp(got, want, len) == 0;

	free(got);
	return same;
}

static struct upl_view
view_of(const char *gen, uint32_t lo, uint32_t n, uint64_t *ends,
    bool snap, uint32_t si, uint64_t so)
{
	struct upl_view v;
	memset(&v, 0, sizeof(v));
	snprintf(v.gen, sizeof(v.gen), "%s", gen);
	v.lo = lo;
	v.n = n;
	v.end = ends;
	v.snap = snap;
	v.snap_index = si;
	v.snap_offset = so;
	return v;
}

static struct position
pos_of(const char *gen, uint32_t index, uint64_t offset, bool snap)
{
	struct position p;
	memset(&p, 0, sizeof(p));
	snprintf(p.gen, sizeof(p.gen), "%s", gen);
	p.index = index;
	p.offset = offset;
	p.snapshot = snap;
	return p;
}

#define ASSERT_STEP(st, k, i, f, t) do { \
	ASSERT_INT_EQ((st).kind, (k)); \
	ASSERT_INT_EQ((st).index, (i)); \
	if ((k) == UPL_STEP_SEGMENT) ASSERT_INT_EQ((st).from, (f)); \
	ASSERT_INT_EQ((st).to, (t)); \
} while (0)

/* ------------------------------------------------------------------ */
/* position file                                                        */
/* ------------------------------------------------------------------ */

TEST(pos_round_trip)
{
	char buf[512], dir[512], path[1024];
	struct position p = pos_of(G1, 3, 4152, true), q;

	int n = position_encode(&p, buf, sizeof(buf));
	ASSERT(n > 0);
	ASSERT(strstr(buf, "generation=" G1 "\nindex=3\noffset=4152\n"
	    "snapshot=1\ncrc32=") != NULL);
	memset(&q, 0xff, sizeof(q));
	ASSERT_INT_EQ(position_decode(buf, (size_t)n, &q), 0);
	ASSERT_STR_EQ(q.gen, G1);
	ASSERT_INT_EQ(q.index, 3);
	ASSERT_INT_EQ(q.offset, 4152);
	ASSERT(q.snapshot);

	p = pos_of(G2, UINT32_MAX, UINT64_MAX, false);
	n = position_encode(&p, buf, sizeof(buf));
	ASSERT_INT_EQ(position_decode(buf, (size_t)n, &q), 0);
	ASSERT_INT_EQ(q.index, UINT32_MAX);
	ASSERT(q.offset == UINT64_MAX);
	ASSERT(!q.snapshot);

	/* On disk: META/walship/<name>.pos, directory made on demand. */
	fresh_dir("pos", dir, sizeof(dir));
	ASSERT_INT_EQ(position_path(path, sizeof(path), dir, "s3"), 0);
	ASSERT(strstr(path, "/pos/walship/s3.pos") != NULL);
	errno = 0;
	ASSERT_INT_EQ(position_load(path, &q), -1);
	ASSERT_INT_EQ(errno, ENOENT);
	p = pos_of(G1, 7, 8272, true);
	ASSERT_INT_EQ(position_save(path, &p, 0600, 0700), 0);
	memset(&q, 0, sizeof(q));
	ASSERT_INT_EQ(position_load(path, &q), 0);
	ASSERT_STR_EQ(q.gen, G1);
	ASSERT_INT_EQ(q.index, 7);
	ASSERT_INT_EQ(q.offset, 8272);
	ASSERT(q.snapshot);
	/* Made whole once, as a fixed-size record... */
	struct stat st1, st2;
	ASSERT_INT_EQ(stat(path, &st1), 0);
	ASSERT_INT_EQ((int)st1.st_size, 128);
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT(access(tmp, F_OK) < 0); /* renamed away */
	/* ...then updated in place: the same file, the same size. */
	p.offset = 12392;
	ASSERT_INT_EQ(position_save(path, &p, 0600, 0700), 0);
	ASSERT_INT_EQ(position_load(path, &q), 0);
	ASSERT_INT_EQ(q.offset, 12392);
	ASSERT_INT_EQ(stat(path, &st2), 0);
	ASSERT(st2.st_ino == st1.st_ino);
	ASSERT_INT_EQ((int)st2.st_size, 128);
	ASSERT(access(tmp, F_OK) < 0);

	/* An unpadded file (an older release's) still reads, and the next
	 * save replaces it whole with a record. */
	int n2 = position_encode(&p, buf, sizeof(buf));
	write_file(path, buf, (size_t)n2);
	ASSERT_INT_EQ(position_load(path, &q), 0);
	ASSERT_INT_EQ(q.offset, 12392);
	p.offset = 16512;
	ASSERT_INT_EQ(position_save(path, &p, 0600, 0700), 0);
	ASSERT_INT_EQ(stat(path, &st2), 0);
	ASSERT_INT_EQ((int)st2.st_size, 128);
	ASSERT_INT_EQ(position_load(path, &q), 0);
	ASSERT_INT_EQ(q.offset, 16512);
	p.offset = 12392;
	ASSERT_INT_EQ(position_save(path, &p, 0600, 0700), 0);

	/* Only a valid generation is ever written. */
	p = pos_of("nothex", 1, 1, true);
	ASSERT_INT_EQ(position_encode(&p, buf, sizeof(buf)), -1);
	ASSERT_INT_EQ(position_save(path, &p, 0600, 0700), -1);
	ASSERT_INT_EQ(position_load(path, &q), 0); /* the old one stays */
	ASSERT_INT_EQ(q.offset, 12392);
}

/* BODY followed by its crc32= line, so a test can change one field. */
static size_t
with_crc(char *buf, size_t cap, const char *body)
{
	uint32_t c = 0xffffffffu;
	for (const char *s = body; *s; s++) {
		c ^= (uint8_t)*s;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return (size_t)snprintf(buf, cap, "%scrc32=%08x\n", body, ~c);
}

TEST(pos_corrupt)
{
	char buf[512], dir[512], path[1024];
	struct position p = pos_of(G1, 3, 4152, true), q;
	int n = position_encode(&p, buf, sizeof(buf));

	/* A body that passes with a fresh CRC, then broken one way each. */
	size_t m = with_crc(buf, sizeof(buf), "walship-position 1\n"
	    "generation=" G1 "\nindex=3\noffset=4152\nsnapshot=1\n");
	ASSERT_INT_EQ(position_decode(buf, m, &q), 0);
	static const char *bad_bodies[] = {
		"walship-position 2\ngeneration=" G1 "\nindex=3\noffset=1\n"
		    "snapshot=1\n",
		"walship-position 1\ngeneration=0123456789ABCDEF\nindex=3\n"
		    "offset=1\nsnapshot=1\n",
		"walship-position 1\ngeneration=" G1 "0\nindex=3\noffset=1\n"
		    "snapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=03\noffset=1\n"
		    "snapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=4294967296\n"
		    "offset=1\nsnapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=-1\noffset=1\n"
		    "snapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=3\n"
		    "offset=18446744073709551616\nsnapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=3\noffset=1\n"
		    "snapshot=2\n",
		"walship-position 1\ngeneration=" G1 "\nindex=3\noffset=1\n"
		    "snapshot=5\n",
		"walship-position 1\ngeneration=" G1 "\noffset=1\nindex=3\n"
		    "snapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=3\noffset=\n"
		    "snapshot=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=3\noffset=1\n"
		    "snapshot=1\nextra=1\n",
		"walship-position 1\ngeneration=" G1 "\nindex=3 \noffset=1\n"
		    "snapshot=1\n",
	};
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(*bad_bodies); i++) {
		m = with_crc(buf, sizeof(buf), bad_bodies[i]);
		errno = 0;
		if (position_decode(buf, m, &q) != -1 || errno != EINVAL)
			TEST_FAIL_("accepted body %zu:\n%s", i, buf);
	}

	/* Truncations, a flipped byte, a wrong CRC, trailing bytes. */
	n = position_encode(&p, buf, sizeof(buf));
	if (n <= 0 || n > 500)
		TEST_FAIL_("encode: %d", n);
	for (int cut = 0; cut < n; cut++)
		ASSERT_INT_EQ(position_decode(buf, (size_t)cut, &q), -1);
	for (int i = 0; i < n; i++) {
		char b2[512];
		memcpy(b2, buf, (size_t)n);
		b2[i] ^= 0x01;
		ASSERT_INT_EQ(position_decode(b2, (size_t)n, &q), -1);
	}
	char b3[600];
	memcpy(b3, buf, (size_t)n);
	memcpy(b3 + n, "x\n", 2);
	ASSERT_INT_EQ(position_decode(b3, (size_t)n + 2, &q), -1);
	/* Newline padding is the record's; anything after it is not. */
	memcpy(b3 + n, "\n\n\n", 3);
	ASSERT_INT_EQ(position_decode(b3, (size_t)n + 3, &q), 0);
	memcpy(b3 + n, "\n\nx", 3);
	ASSERT_INT_EQ(position_decode(b3, (size_t)n + 3, &q), -1);

	/* A corrupt file on disk reads as EINVAL, an oversized one too. */
	fresh_dir("poscorrupt", dir, sizeof(dir));
	ASSERT_INT_EQ(position_path(path, sizeof(path), dir, "file"), 0);
	ASSERT_INT_EQ(position_save(path, &p, 0600, 0700), 0);
	size_t len;
	uint8_t *disk = read_file(path, &len);
	ASSERT(disk != NULL);
	disk[len / 2] ^= 0x20;
	write_file(path, disk, len);
	free(disk);
	errno = 0;
	ASSERT_INT_EQ(position_load(path, &q), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	char big[2048];
	memset(big, 'a', sizeof(big));
	write_file(path, big, sizeof(big));
	errno = 0;
	ASSERT_INT_EQ(position_load(path, &q), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	write_file(path, "", 0);
	ASSERT_INT_EQ(position_load(path, &q), -1);
}

TEST(pos_path_escapes)
{
	char path[256];
	ASSERT_INT_EQ(position_path(path, sizeof(path), "/m", "my-replica_1.x"),
	    0);
	ASSERT_STR_EQ(path, "/m/walship/my-replica_1.x.pos");
	ASSERT_INT_EQ(position_path(path, sizeof(path), "/m", "../a/b c"), 0);
	ASSERT_STR_EQ(path, "/m/walship/%2E.%2Fa%2Fb%20c.pos");
	ASSERT_INT_EQ(position_path(path, sizeof(path), "/m", ".hidden"), 0);
	ASSERT_STR_EQ(path, "/m/walship/%2Ehidden.pos");
	ASSERT_INT_EQ(position_path(path, 16, "/m", "a-long-name"), -1);
}

/* ------------------------------------------------------------------ */
/* plan                                                                 */
/* ------------------------------------------------------------------ */

/* The example of the design: the replica is at (G1, 3, 4152); the shadow
 * log moved to G2, whose newest snapshot holds (7, 8272). */
TEST(plan_new_generation_starts_at_snapshot)
{
	uint64_t ends[] = { 12392, 16512, 4152 }; /* indexes 7, 8, 9 */
	struct upl_view v = view_of(G2, 7, 3, ends, true, 7, 8272);
	struct position pos = pos_of(G1, 3, 4152, true);
	struct upl_plan p;

	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_OK);
	ASSERT(p.start);
	ASSERT(!p.resync);
	ASSERT_STR_EQ(p.gen, G2);
	ASSERT_INT_EQ(p.nsteps, 5);
	/* Segments of the snapshot's index up to its offset, then it. */
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 7, 0, 8272);
	ASSERT_STR_EQ(p.steps[0].after.gen, G2);
	ASSERT_INT_EQ(p.steps[0].after.index, 7);
	ASSERT_INT_EQ(p.steps[0].after.offset, 8272);
	ASSERT(!p.steps[0].after.snapshot);
	ASSERT_STEP(p.steps[1], UPL_STEP_SNAPSHOT, 7, 0, 8272);
	ASSERT(p.steps[1].after.snapshot);
	ASSERT_INT_EQ(p.steps[1].after.offset, 8272);
	/* Then the rest of index 7 and every later index. */
	ASSERT_STEP(p.steps[2], UPL_STEP_SEGMENT, 7, 8272, 12392);
	ASSERT_STEP(p.steps[3], UPL_STEP_SEGMENT, 8, 0, 16512);
	ASSERT_STEP(p.steps[4], UPL_STEP_SEGMENT, 9, 0, 4152);
	ASSERT(p.steps[4].after.snapshot);
	ASSERT_INT_EQ(p.steps[4].after.index, 9);
	ASSERT_INT_EQ(p.steps[4].after.offset, 4152);
	upl_plan_free(&p);

	/* Indexes below the snapshot are never written, even if the shadow
	 * still holds them (here 5 and 6, the first one partial). */
	uint64_t ends2[] = { 8272, 4152, 12392 }; /* 5, 6, 7 */
	v = view_of(G2, 5, 3, ends2, true, 7, 8272);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 3);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 7, 0, 8272);
	ASSERT_STEP(p.steps[1], UPL_STEP_SNAPSHOT, 7, 0, 8272);
	ASSERT_STEP(p.steps[2], UPL_STEP_SEGMENT, 7, 8272, 12392);
	upl_plan_free(&p);

	/* A snapshot at offset 0 (its index still empty) goes first. */
	uint64_t ends3[] = { 0 };
	v = view_of(G2, 4, 1, ends3, true, 4, 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 1);
	ASSERT_STEP(p.steps[0], UPL_STEP_SNAPSHOT, 4, 0, 0);
	ASSERT(p.steps[0].after.snapshot);
	ASSERT_INT_EQ(p.steps[0].after.index, 4);
	ASSERT_INT_EQ(p.steps[0].after.offset, 0);
	upl_plan_free(&p);

	/* No position at all (first start): the same. */
	struct position none;
	memset(&none, 0, sizeof(none));
	v = view_of(G2, 7, 3, ends, true, 7, 8272);
	ASSERT_INT_EQ(upl_plan_make(&v, &none, false, &p), 0);
	ASSERT(p.start);
	ASSERT_INT_EQ(p.nsteps, 5);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 7, 0, 8272);
	upl_plan_free(&p);
}

TEST(plan_same_generation)
{
	uint64_t ends[] = { 8272, 12392, 4152 }; /* indexes 3, 4, 5 */
	struct upl_view v = view_of(G1, 3, 3, ends, true, 3, 0);
	struct position pos = pos_of(G1, 3, 4152, true);
	struct upl_plan p;

	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_OK);
	ASSERT(!p.start);
	ASSERT_INT_EQ(p.nsteps, 3);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 3, 4152, 8272);
	ASSERT_STEP(p.steps[1], UPL_STEP_SEGMENT, 4, 0, 12392);
	ASSERT_STEP(p.steps[2], UPL_STEP_SEGMENT, 5, 0, 4152);
	for (size_t i = 0; i < p.nsteps; i++) {
		ASSERT(p.steps[i].after.snapshot);
		ASSERT_STR_EQ(p.steps[i].after.gen, G1);
	}
	upl_plan_free(&p);

	/* At the end of an index whose successor has a frame: move on. */
	pos = pos_of(G1, 3, 8272, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 2);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 4, 0, 12392);
	upl_plan_free(&p);

	/* Caught up: nothing to do. */
	pos = pos_of(G1, 5, 4152, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_OK);
	ASSERT_INT_EQ(p.nsteps, 0);
	ASSERT(!upl_view_ahead(&v, &pos));
	upl_plan_free(&p);

	/* An empty latest index (sealed previous one) is not entered. */
	uint64_t ends2[] = { 8272, 12392, 0 };
	v = view_of(G1, 3, 3, ends2, false, 0, 0);
	pos = pos_of(G1, 4, 12392, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 0);
	ASSERT(!upl_view_ahead(&v, &pos));
	upl_plan_free(&p);
	pos = pos_of(G1, 4, 4152, true);
	ASSERT(upl_view_ahead(&v, &pos));
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 1);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 4, 4152, 12392);
	upl_plan_free(&p);
}

/* A repeat after a crash (the object written, the position not yet
 * persisted) names the same object again: same index, same start. */
TEST(plan_crash_repeat)
{
	uint64_t ends[] = { 8272, 12392 }; /* 3, 4 */
	struct upl_view v = view_of(G1, 3, 2, ends, true, 3, 0);
	struct position pos = pos_of(G1, 3, 4152, true);
	struct upl_plan a, b;

	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &a), 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &b), 0);
	ASSERT_INT_EQ(a.nsteps, b.nsteps);
	ASSERT_MEM_EQ(a.steps, b.steps, a.nsteps * sizeof(*a.steps));
	upl_plan_free(&b);

	/* The shadow grew meanwhile: the first object keeps its name (3,
	 * 4152) and holds more; still contiguous with what follows. */
	uint64_t grown[] = { 8272, 16512, 4152 };
	struct upl_view v2 = view_of(G1, 3, 3, grown, true, 3, 0);
	ASSERT_INT_EQ(upl_plan_make(&v2, &pos, false, &b), 0);
	ASSERT_STEP(b.steps[0], UPL_STEP_SEGMENT, a.steps[0].index,
	    a.steps[0].from, 8272);
	ASSERT_STEP(b.steps[1], UPL_STEP_SEGMENT, 4, 0, 16512);
	ASSERT_STEP(b.steps[2], UPL_STEP_SEGMENT, 5, 0, 4152);
	for (size_t i = 1; i < b.nsteps; i++) {
		const struct upl_step *s = &b.steps[i], *r = &b.steps[i - 1];
		ASSERT(s->from == (s->index == r->index ? r->to : 0));
	}
	upl_plan_free(&a);
	upl_plan_free(&b);

	/* A crash between the segments and the snapshot of a generation
	 * start: the position says "started, no snapshot yet"; the next run
	 * continues up to the snapshot and writes it. */
	uint64_t ends3[] = { 12392, 4152 }; /* 7, 8 */
	v = view_of(G2, 7, 2, ends3, true, 7, 8272);
	pos = pos_of(G2, 7, 4152, false);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &a), 0);
	ASSERT(!a.start);
	ASSERT_INT_EQ(a.nsteps, 4);
	ASSERT_STEP(a.steps[0], UPL_STEP_SEGMENT, 7, 4152, 8272);
	ASSERT(!a.steps[0].after.snapshot);
	ASSERT_STEP(a.steps[1], UPL_STEP_SNAPSHOT, 7, 0, 8272);
	ASSERT_STEP(a.steps[2], UPL_STEP_SEGMENT, 7, 8272, 12392);
	ASSERT_STEP(a.steps[3], UPL_STEP_SEGMENT, 8, 0, 4152);
	upl_plan_free(&a);
	pos = pos_of(G2, 7, 8272, false);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &a), 0);
	ASSERT_STEP(a.steps[0], UPL_STEP_SNAPSHOT, 7, 0, 8272);
	upl_plan_free(&a);
}

TEST(plan_interval_snapshot)
{
	uint64_t ends[] = { 8272, 12392, 8272 }; /* 3, 4, 5 */
	struct upl_view v = view_of(G1, 3, 3, ends, true, 4, 8272);
	struct position pos = pos_of(G1, 3, 4152, true);
	struct upl_plan p;

	/* Not wanted: a snapshot file alone is not uploaded again. */
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 3);
	for (size_t i = 0; i < p.nsteps; i++)
		ASSERT_INT_EQ(p.steps[i].kind, UPL_STEP_SEGMENT);
	upl_plan_free(&p);

	/* Wanted, ahead of the position: after the segment reaching it. */
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, true, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 5);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 3, 4152, 8272);
	ASSERT_STEP(p.steps[1], UPL_STEP_SEGMENT, 4, 0, 8272);
	ASSERT_STEP(p.steps[2], UPL_STEP_SNAPSHOT, 4, 0, 8272);
	ASSERT_STEP(p.steps[3], UPL_STEP_SEGMENT, 4, 8272, 12392);
	ASSERT_STEP(p.steps[4], UPL_STEP_SEGMENT, 5, 0, 8272);
	upl_plan_free(&p);

	/* Wanted, behind the position: first. */
	pos = pos_of(G1, 5, 4152, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, true, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 2);
	ASSERT_STEP(p.steps[0], UPL_STEP_SNAPSHOT, 4, 0, 8272);
	ASSERT_INT_EQ(p.steps[0].after.index, 5);
	ASSERT_INT_EQ(p.steps[0].after.offset, 4152);
	ASSERT_STEP(p.steps[1], UPL_STEP_SEGMENT, 5, 4152, 8272);
	upl_plan_free(&p);

	/* Exactly at the position, nothing new: the snapshot alone. */
	pos = pos_of(G1, 5, 8272, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, true, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 1);
	ASSERT_STEP(p.steps[0], UPL_STEP_SNAPSHOT, 4, 0, 8272);
	upl_plan_free(&p);
}

TEST(plan_waits_and_stalls)
{
	struct upl_plan p;
	struct position pos = pos_of(G1, 3, 4152, true);
	uint64_t ends[] = { 8272, 12392 }; /* 3, 4 */

	/* No generation yet. */
	struct upl_view v = view_of("", 0, 0, NULL, false, 0, 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_NO_GENERATION);
	ASSERT_INT_EQ(p.nsteps, 0);
	ASSERT(!upl_view_ahead(&v, &pos));

	/* A new generation without a snapshot file: wait for one. */
	v = view_of(G2, 3, 2, ends, false, 0, 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_NEED_SNAPSHOT);
	ASSERT_INT_EQ(p.nsteps, 0);
	ASSERT(upl_view_ahead(&v, &pos));

	/* Position trimmed away, no later snapshot: stalled. */
	uint64_t ends2[] = { 8272, 12392 }; /* 5, 6 */
	v = view_of(G1, 5, 2, ends2, true, 3, 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_STALLED);
	ASSERT(strstr(p.why, "not in the shadow log") != NULL);

	/* The shadow holds less than the replica: stalled, never rewritten
	 * (a snapshot at the same index would overwrite segments). */
	uint64_t ends3[] = { 4152 };
	v = view_of(G1, 3, 1, ends3, true, 3, 4152);
	pos = pos_of(G1, 3, 8272, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_STALLED);

	/* Position trimmed away, a later snapshot: restart there. */
	pos = pos_of(G1, 3, 4152, true);
	v = view_of(G1, 5, 2, ends2, true, 6, 4152);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_OK);
	ASSERT(p.resync);
	ASSERT_INT_EQ(p.nsteps, 3);
	ASSERT_STEP(p.steps[0], UPL_STEP_SEGMENT, 6, 0, 4152);
	ASSERT(!p.steps[0].after.snapshot);
	ASSERT_STEP(p.steps[1], UPL_STEP_SNAPSHOT, 6, 0, 4152);
	ASSERT_STEP(p.steps[2], UPL_STEP_SEGMENT, 6, 4152, 12392);
	upl_plan_free(&p);

	/* A missing index in the middle: up to it, then stalled there. */
	uint64_t holes[] = { 8272, UPL_END_MISSING, 4152 }; /* 3, 4, 5 */
	v = view_of(G1, 3, 3, holes, true, 3, 0);
	pos = pos_of(G1, 3, 4152, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_OK);
	ASSERT_INT_EQ(p.nsteps, 1);
	upl_plan_free(&p);
	pos = pos_of(G1, 3, 8272, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_STALLED);
	ASSERT(strstr(p.why, "missing") != NULL);

	/* Offsets past 4 GiB cannot be named in v0.3. */
	uint64_t huge[] = { (uint64_t)UINT32_MAX + 4121 };
	v = view_of(G1, 3, 1, huge, true, 3, 0);
	pos = pos_of(G1, 3, (uint64_t)UINT32_MAX + 1, true);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.status, UPL_PLAN_STALLED);
}

/* ------------------------------------------------------------------ */
/* frame buffer                                                         */
/* ------------------------------------------------------------------ */

TEST(buf_contiguous_runs)
{
	struct upl_buf b;
	uint8_t d[100];
	size_t avail;
	uint64_t next;

	memset(d, 'x', sizeof(d));
	upl_buf_init(&b, 250);
	ASSERT_INT_EQ(upl_buf_add(&b, G1, 3, 32, d, 50), 1);
	ASSERT_INT_EQ(upl_buf_add(&b, G1, 3, 82, d, 50), 1);
	ASSERT_INT_EQ(upl_buf_add(&b, G1, 4, 0, d, 100), 1);
	ASSERT_INT_EQ(b.bytes, 200);
	ASSERT(upl_buf_find(&b, G1, 3, 40, &avail, &next) != NULL);
	ASSERT_INT_EQ(avail, 42);
	ASSERT(upl_buf_find(&b, G1, 3, 0, &avail, &next) == NULL);
	ASSERT_INT_EQ(next, 32);
	ASSERT(upl_buf_find(&b, G1, 4, 99, &avail, &next) != NULL);
	ASSERT_INT_EQ(avail, 1);
	ASSERT(upl_buf_find(&b, G2, 4, 0, &avail, &next) == NULL);
	ASSERT(next == UINT64_MAX);

	/* Overflow empties it; the batch that did not fit starts anew. */
	ASSERT_INT_EQ(upl_buf_add(&b, G1, 4, 100, d, 100), 1);
	ASSERT_INT_EQ(b.bytes, 100);
	ASSERT_INT_EQ(b.dropped, 1);
	ASSERT(upl_buf_find(&b, G1, 3, 40, &avail, &next) == NULL);

	/* A gap starts over too. */
	ASSERT_INT_EQ(upl_buf_add(&b, G1, 4, 300, d, 10), 1);
	ASSERT_INT_EQ(b.bytes, 10);
	ASSERT_INT_EQ(b.dropped, 2);
	/* Another generation too. */
	ASSERT_INT_EQ(upl_buf_add(&b, G2, 0, 0, d, 10), 1);
	ASSERT_INT_EQ(b.dropped, 3);
	ASSERT_STR_EQ(b.gen, G2);
	/* Too big for the buffer at all: not kept. */
	ASSERT_INT_EQ(upl_buf_add(&b, G2, 0, 10, d, 0), 0);
	upl_buf_clear(&b);

	/* Trim drops what the replica holds. */
	upl_buf_init(&b, 1000);
	upl_buf_add(&b, G1, 3, 32, d, 50);
	upl_buf_add(&b, G1, 3, 82, d, 50);
	upl_buf_add(&b, G1, 4, 0, d, 50);
	upl_buf_trim(&b, G1, 3, 82);
	ASSERT_INT_EQ(b.bytes, 100);
	upl_buf_trim(&b, G1, 3, 100); /* inside a chunk: kept */
	ASSERT_INT_EQ(b.bytes, 100);
	upl_buf_trim(&b, G1, 4, 50);
	ASSERT_INT_EQ(b.bytes, 0);
	ASSERT(b.head == NULL && b.tail == NULL);
	upl_buf_add(&b, G1, 4, 50, d, 50);
	upl_buf_trim(&b, G2, 0, 0); /* another generation: all of it */
	ASSERT_INT_EQ(b.bytes, 0);
	upl_buf_clear(&b);
}

/* ------------------------------------------------------------------ */
/* the shadow log on disk                                               */
/* ------------------------------------------------------------------ */

TEST(view_reads_shadow)
{
	char meta[512];
	size_t l3, l4, l5;
	struct upl_view v, v2;

	fresh_dir("view", meta, sizeof(meta));
	ASSERT_INT_EQ(upl_view_load(&v, meta, NULL), 0);
	ASSERT_STR_EQ(v.gen, "");
	upl_view_free(&v);

	/* Index 3: 3 frames, commits at 1 and 3. Index 4: 2 frames, commit
	 * at 1 only (frame 2 is a half-written transaction). Index 5: a
	 * commit frame cut short (an append caught mid-write). */
	static const uint32_t c3[] = { 1, 3, 0 }, c4[] = { 1, 0 },
	    c5[] = { 1, 0 };
	uint8_t *w3 = make_wal(100, 3, c3, &l3);
	uint8_t *w4 = make_wal(101, 2, c4, &l4);
	uint8_t *w5 = make_wal(102, 1, c5, &l5);
	put_generation(meta, G1);
	put_shadow(meta, G1, 3, w3, l3);
	put_shadow(meta, G1, 4, w4, l4);
	put_shadow(meta, G1, 5, w5, l5 - 100);
	put_snapshot(meta, G1, 3, 4152, "old");
	put_snapshot(meta, G1, 4, 4152, "new");
	put_snapshot(meta, G1, 3, 12392, "older index, larger offset");
	char junk[600];
	snprintf(junk, sizeof(junk), "%s/generations/%s/snapshots/"
	    "00000009_0000000000001038.snapshot.lz4.tmp", meta, G1);
	write_file(junk, "x", 1);
	snprintf(junk, sizeof(junk), "%s/generations/%s/wal/0000000a.wal.tmp",
	    meta, G1);
	write_file(junk, "x", 1);

	ASSERT_INT_EQ(upl_view_load(&v, meta, NULL), 0);
	ASSERT_STR_EQ(v.gen, G1);
	ASSERT_INT_EQ(v.lo, 3);
	ASSERT_INT_EQ(v.n, 3);
	ASSERT_INT_EQ(upl_view_end(&v, 3), 32 + 3 * FRAME);
	ASSERT_INT_EQ(upl_view_end(&v, 4), 32 + FRAME);
	ASSERT_INT_EQ(upl_view_end(&v, 5), 0);
	ASSERT(upl_view_end(&v, 6) == UPL_END_MISSING);
	ASSERT(upl_view_end(&v, 2) == UPL_END_MISSING);
	ASSERT(v.snap);
	ASSERT_INT_EQ(v.snap_index, 4);
	ASSERT_INT_EQ(v.snap_offset, 4152);

	/* The append completes: the scan resumes at the previous ends. */
	put_shadow(meta, G1, 4, w4, l4);
	sqlitewal_put32(w4 + 32 + FRAME + 4, 99); /* frame 2 now commits */
	put_shadow(meta, G1, 4, w4, l4);
	put_shadow(meta, G1, 5, w5, l5);
	ASSERT_INT_EQ(upl_view_load(&v2, meta, &v), 0);
	ASSERT_INT_EQ(upl_view_end(&v2, 4), 32 + 2 * FRAME);
	ASSERT_INT_EQ(upl_view_end(&v2, 5), 32 + FRAME);
	upl_view_free(&v);

	/* A frame with another WAL's salt ends the scan. */
	uint8_t *w6 = make_wal(103, 3, c3, &l3);
	sqlitewal_put32(w6 + 32 + 2 * FRAME + 8, 7);
	put_shadow(meta, G1, 6, w6, l3);
	ASSERT_INT_EQ(upl_view_load(&v, meta, &v2), 0);
	ASSERT_INT_EQ(upl_view_end(&v, 6), 32 + FRAME);
	upl_view_free(&v);
	upl_view_free(&v2);

	/* Long enough for several read chunks: commits every 10th frame,
	 * another WAL's salt from frame 156 on. From the start and from a
	 * hint in the middle, the end is the last commit before it. */
	uint32_t c7[21];
	for (uint32_t k = 0; k < 20; k++)
		c7[k] = 10 * (k + 1);
	c7[20] = 0;
	uint8_t *w7 = make_wal(104, 200, c7, &l3);
	sqlitewal_put32(w7 + 32 + 155 * FRAME + 8, 7);
	put_shadow(meta, G1, 7, w7, l3);
	ASSERT_INT_EQ(upl_view_load(&v, meta, NULL), 0);
	ASSERT_INT_EQ(upl_view_end(&v, 7), 32 + 150 * FRAME);
	v.end[7 - v.lo] = 32 + 70 * FRAME;
	ASSERT_INT_EQ(upl_view_load(&v2, meta, &v), 0);
	ASSERT_INT_EQ(upl_view_end(&v2, 7), 32 + 150 * FRAME);
	upl_view_free(&v);
	upl_view_free(&v2);
	free(w7);

	/* A generation file that is not a name: no generation. */
	put_generation(meta, "0123");
	ASSERT_INT_EQ(upl_view_load(&v, meta, NULL), 0);
	ASSERT_STR_EQ(v.gen, "");
	upl_view_free(&v);
	free(w3);
	free(w4);
	free(w5);
	free(w6);
}

/* ------------------------------------------------------------------ */
/* writing to a file replica                                            */
/* ------------------------------------------------------------------ */

static int
run_plan(struct replica_client *c, const char *meta, struct upl_buf *buf,
    struct upl_plan *p, struct position *pos)
{
	uint8_t *chunk = malloc(8192); /* small: exercises the chunking */
	struct lz4frame_writer *lz = lz4frame_writer_new(NULL, NULL);
	char err[512];
	for (size_t i = 0; i < p->nsteps; i++) {
		uint64_t bytes = 0;
		enum upl_fault f;
		int rc = p->steps[i].kind == UPL_STEP_SEGMENT ?
		    upl_put_segment(c, meta, p->gen, buf, &p->steps[i], chunk,
			8192, lz, &bytes, &f, err, sizeof(err)) :
		    upl_put_snapshot(c, meta, p->gen, &p->steps[i], &bytes,
			&f, err, sizeof(err));
		if (rc < 0) {
			printf("  step %zu: %s\n", i, err);
			free(chunk);
			lz4frame_writer_free(lz);
			return -1;
		}
		*pos = p->steps[i].after;
	}
	free(chunk);
	lz4frame_writer_free(lz);
	return 0;
}

TEST(store_writes_replica)
{
	char meta[512], root[512], path[1024], err[256];
	size_t l0, l1;
	static const uint32_t c0[] = { 1, 2, 4, 0 }, c1[] = { 2, 0 };
	uint8_t *w0 = make_wal(500, 4, c0, &l0);
	uint8_t *w1 = make_wal(501, 2, c1, &l1);
	struct upl_view v;
	struct upl_plan p;
	struct position pos, found;
	struct upl_buf buf;
	int64_t created;

	fresh_dir("smeta", meta, sizeof(meta));
	fresh_dir("sreplica", root, sizeof(root));
	put_generation(meta, G1);
	put_shadow(meta, G1, 0, w0, 32 + 2 * FRAME);
	put_snapshot(meta, G1, 0, 32 + FRAME, "database image");
	struct replica_client *c = file_client_new(root, "file", err,
	    sizeof(err));
	ASSERT(c != NULL);
	upl_buf_init(&buf, UPL_BUF_CAP);

	/* No position on the replica yet. */
	ASSERT_INT_EQ(upl_replica_position(c, G1, &found, &created, err,
	    sizeof(err)), 0);
	ASSERT_STR_EQ(found.gen, "");

	memset(&pos, 0, sizeof(pos));
	ASSERT_INT_EQ(upl_view_load(&v, meta, NULL), 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 3);

	/* Interrupted after the first segment, the position file lost: the
	 * replica says "started, no snapshot", after that segment, and the
	 * plan goes on from there (starting over at 0 would overlap). */
	p.nsteps = 1;
	ASSERT_INT_EQ(run_plan(c, meta, &buf, &p, &pos), 0);
	upl_plan_free(&p);
	ASSERT_INT_EQ(upl_replica_position(c, G1, &found, &created, err,
	    sizeof(err)), 0);
	ASSERT_STR_EQ(found.gen, G1);
	ASSERT_INT_EQ(found.index, 0);
	ASSERT_INT_EQ(found.offset, 32 + FRAME);
	ASSERT(!found.snapshot);
	ASSERT_INT_EQ(created, 0);
	ASSERT_INT_EQ(upl_plan_make(&v, &found, false, &p), 0);
	ASSERT(!p.start);
	ASSERT_INT_EQ(p.nsteps, 2);
	ASSERT_STEP(p.steps[0], UPL_STEP_SNAPSHOT, 0, 0, 32 + FRAME);
	ASSERT_STEP(p.steps[1], UPL_STEP_SEGMENT, 0, 32 + FRAME,
	    32 + 2 * FRAME);
	ASSERT_INT_EQ(run_plan(c, meta, &buf, &p, &pos), 0);
	upl_plan_free(&p);
	ASSERT_INT_EQ(pos.offset, 32 + 2 * FRAME);
	ASSERT(pos.snapshot);

	/* The snapshot object is the local file, byte for byte. */
	snprintf(path, sizeof(path), "%s/generations/%s/snapshots/"
	    "00000000.snapshot.lz4", root, G1);
	ASSERT(holds(path, "database image", strlen("database image")));
	/* The segments, and their mtimes in (index, offset) order. */
	struct stat s1, s2;
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000000_00000000.wal.lz4", root, G1);
	ASSERT(holds(path, w0, 32 + FRAME));
	ASSERT_INT_EQ(stat(path, &s1), 0);
	snprintf(path, sizeof(path), "%s/generations/%s/snapshots/"
	    "00000000.snapshot.lz4", root, G1);
	ASSERT_INT_EQ(stat(path, &s2), 0);
	ASSERT(s1.st_mtim.tv_sec < s2.st_mtim.tv_sec ||
	    (s1.st_mtim.tv_sec == s2.st_mtim.tv_sec &&
	    s1.st_mtim.tv_nsec <= s2.st_mtim.tv_nsec));
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000000_00001038.wal.lz4", root, G1);
	ASSERT(holds(path, w0 + 32 + FRAME, FRAME));

	/* Litestream's start-up rule finds the same position. */
	ASSERT_INT_EQ(upl_replica_position(c, G1, &found, &created, err,
	    sizeof(err)), 0);
	ASSERT_STR_EQ(found.gen, G1);
	ASSERT_INT_EQ(found.index, 0);
	ASSERT_INT_EQ(found.offset, 32 + 2 * FRAME);
	ASSERT(found.snapshot);
	ASSERT(created > 0);

	/* More frames, part of them in the buffer (the fast path), then a
	 * new index. The objects hold the shadow's bytes either way. */
	upl_view_free(&v);
	put_shadow(meta, G1, 0, w0, l0);
	put_shadow(meta, G1, 1, w1, l1);
	ASSERT_INT_EQ(upl_buf_add(&buf, G1, 0, 32 + 3 * FRAME,
	    w0 + 32 + 3 * FRAME, FRAME), 1);
	ASSERT_INT_EQ(upl_buf_add(&buf, G1, 1, 0, w1, l1), 1);
	/* Poison the shadow copy of the buffered part: the buffer must be
	 * what is read for it (and the rest from disk). */
	ASSERT_INT_EQ(upl_view_load(&v, meta, NULL), 0);
	uint8_t *poison = malloc(l1);
	memcpy(poison, w1, l1);
	memset(poison + 32 + 24, 0xee, 100);
	put_shadow(meta, G1, 1, poison, l1);
	ASSERT_INT_EQ(upl_plan_make(&v, &pos, false, &p), 0);
	ASSERT_INT_EQ(p.nsteps, 2);
	ASSERT_INT_EQ(run_plan(c, meta, &buf, &p, &pos), 0);
	upl_plan_free(&p);
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000000_00002050.wal.lz4", root, G1);
	ASSERT(holds(path, w0 + 32 + 2 * FRAME, 2 * FRAME));
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000001_00000000.wal.lz4", root, G1);
	ASSERT(holds(path, w1, l1));
	free(poison);
	upl_buf_clear(&buf);

	ASSERT_INT_EQ(upl_replica_position(c, G1, &found, &created, err,
	    sizeof(err)), 0);
	ASSERT_INT_EQ(found.index, 1);
	ASSERT_INT_EQ(found.offset, l1);
	ASSERT_INT_EQ(pos.index, 1);
	ASSERT_INT_EQ(pos.offset, l1);

	/* A shadow file shorter than planned is a local fault. */
	struct upl_step bad = { .kind = UPL_STEP_SEGMENT, .index = 1,
		.from = l1, .to = l1 + FRAME };
	uint8_t chunk[4096];
	uint64_t bytes;
	enum upl_fault f;
	struct lz4frame_writer *lz = lz4frame_writer_new(NULL, NULL);
	ASSERT_INT_EQ(upl_put_segment(c, meta, G1, &buf, &bad, chunk,
	    sizeof(chunk), lz, &bytes, &f, err, sizeof(err)), -1);
	ASSERT_INT_EQ(f, UPL_FAULT_LOCAL);
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000001_00002050.wal.lz4", root, G1);
	ASSERT(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000001_00002050.wal.lz4.tmp", root, G1);
	ASSERT(access(path, F_OK) < 0);
	/* The writer of the upload that failed serves the next one whole. */
	put_shadow(meta, G1, 1, w1, l1);
	struct upl_step again = { .kind = UPL_STEP_SEGMENT, .index = 1,
		.from = 0, .to = l1 };
	ASSERT_INT_EQ(upl_put_segment(c, meta, G1, &buf, &again, chunk,
	    sizeof(chunk), lz, &bytes, &f, err, sizeof(err)), 0);
	lz4frame_writer_free(lz);
	snprintf(path, sizeof(path), "%s/generations/%s/wal/"
	    "00000001_00000000.wal.lz4", root, G1);
	ASSERT(holds(path, w1, l1));
	/* A vanished snapshot file too. */
	struct upl_step gone = { .kind = UPL_STEP_SNAPSHOT, .index = 5,
		.to = 4152 };
	ASSERT_INT_EQ(upl_put_snapshot(c, meta, G1, &gone, &bytes, &f, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(f, UPL_FAULT_LOCAL);

	upl_view_free(&v);
	replica_client_free(c);
	free(w0);
	free(w1);
}

TEST(store_replica_errors)
{
	char meta[512], root[512], err[256];
	size_t l0;
	static const uint32_t c0[] = { 1, 0 };
	uint8_t *w0 = make_wal(600, 1, c0, &l0);
	struct upl_buf buf;
	uint8_t chunk[4096];
	uint64_t bytes;
	enum upl_fault f;

	if (geteuid() == 0) {
		free(w0);
		return; /* root writes through permissions */
	}
	fresh_dir("emeta", meta, sizeof(meta));
	fresh_dir("ereplica", root, sizeof(root));
	put_generation(meta, G1);
	put_shadow(meta, G1, 0, w0, l0);
	chmod(root, 0500);
	struct replica_client *c = file_client_new(root, "file", err,
	    sizeof(err));
	upl_buf_init(&buf, UPL_BUF_CAP);
	struct upl_step s = { .kind = UPL_STEP_SEGMENT, .index = 0,
		.from = 0, .to = l0 };
	struct lz4frame_writer *lz = lz4frame_writer_new(NULL, NULL);
	ASSERT_INT_EQ(upl_put_segment(c, meta, G1, &buf, &s, chunk,
	    sizeof(chunk), lz, &bytes, &f, err, sizeof(err)), -1);
	ASSERT_INT_EQ(f, UPL_FAULT_REPLICA);
	ASSERT(strstr(err, root) != NULL);
	chmod(root, 0700);
	ASSERT_INT_EQ(upl_put_segment(c, meta, G1, &buf, &s, chunk,
	    sizeof(chunk), lz, &bytes, &f, err, sizeof(err)), 0);
	ASSERT(bytes > 0);
	lz4frame_writer_free(lz);
	replica_client_free(c);
	free(w0);
}

/* ------------------------------------------------------------------ */
/* the engine: upl_sync/upl_work on a real event loop, sockets unpeered */
/* ------------------------------------------------------------------ */

struct harness {
	struct upl u;
	struct cfg_db db;
	struct cfg_replica rep;
	char meta[512], root[512], run[512];
};

static void
h_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upl_sync(arg);
}

static void
h_work(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upl_work(arg);
}

static void
h_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct upl *u = arg;
	(void)fd;
	(void)what;
	event_base_loopexit(u->base, NULL);
}

/* A harness on META and ROOT (kept if they exist: a restart). */
static int
h_init(struct harness *h, const char *meta, const char *root)
{
	char err[256];
	struct upl *u = &h->u;

	memset(h, 0, sizeof(*h));
	snprintf(h->meta, sizeof(h->meta), "%s", meta);
	snprintf(h->root, sizeof(h->root), "%s", root);
	snprintf(h->run, sizeof(h->run), "%s/run", tmpdir);
	mkdir(h->run, 0700);
	h->db.path = h->meta; /* only its meta path is used here */
	h->db.meta_path = h->meta;
	h->rep.name = (char *)(uintptr_t)"file";
	h->rep.type = CFG_REPLICA_FILE;
	h->rep.path = h->root;
	h->rep.sync_interval = NS_PER_SEC;
	u->db = &h->db;
	u->rep = &h->rep;
	u->run = h->run;
	u->file_mode = 0600;
	u->dir_mode = 0700;
	u->client = file_client_new(root, "file", err, sizeof(err));
	position_path(u->pos_path, sizeof(u->pos_path), meta, "file");
	upl_buf_init(&u->buf, UPL_BUF_CAP);
	u->chunk = malloc(UPL_CHUNK);
	u->lz = lz4frame_writer_new(NULL, NULL);
	u->base = event_base_new();
	u->kick = event_new(u->base, -1, 0, h_kick, u);
	u->work = event_new(u->base, -1, 0, h_work, u);
	u->deadline = evtimer_new(u->base, h_deadline, u);
	if (u->client == NULL || u->base == NULL || upl_ipc_open(u) < 0)
		return -1;
	return 0;
}

static void
h_free(struct harness *h)
{
	struct upl *u = &h->u;
	upl_ipc_close(u);
	event_free(u->kick);
	event_free(u->work);
	event_free(u->deadline);
	upl_plan_free(&u->plan);
	upl_view_free(&u->view);
	upl_buf_clear(&u->buf);
	free(u->chunk);
	lz4frame_writer_free(u->lz);
	replica_client_free(u->client);
	event_base_free(u->base);
}

/* One sync and every step it starts, a sync-interval after the last. */
static void
h_sync(struct harness *h)
{
	h->u.next_plan_ns = 0;
	upl_sync(&h->u);
	while (h->u.running)
		event_base_loop(h->u.base, EVLOOP_ONCE);
}

static bool
replica_has(const struct harness *h, const char *gen, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/generations/%s/%s", h->root, gen,
	    name);
	return access(path, F_OK) == 0;
}

TEST(engine_uploads_persists_and_backs_off)
{
	char meta[512], root[512], wal[1024];
	struct harness h;
	struct position disk;
	size_t l0;
	static const uint32_t c0[] = { 1, 2, 3, 4, 0 };
	uint8_t *w0 = make_wal(700, 4, c0, &l0);

	fresh_dir("emeta1", meta, sizeof(meta));
	fresh_dir("erep1", root, sizeof(root));
	put_generation(meta, G1);
	put_shadow(meta, G1, 0, w0, 32 + 2 * FRAME);
	put_snapshot(meta, G1, 0, 32 + FRAME, "image");
	ASSERT_INT_EQ(h_init(&h, meta, root), 0);

	/* First start: no position file, nothing on the replica. */
	h_sync(&h);
	ASSERT(h.u.pos_known);
	ASSERT_STR_EQ(h.u.pos.gen, G1);
	ASSERT_INT_EQ(h.u.pos.offset, 32 + 2 * FRAME);
	ASSERT(h.u.pos.snapshot);
	ASSERT_INT_EQ(h.u.uploads, 3);
	ASSERT_INT_EQ(h.u.upload_errors, 0);
	ASSERT_INT_EQ(h.u.behind_ns, 0);
	ASSERT(replica_has(&h, G1, "wal/00000000_00000000.wal.lz4"));
	ASSERT(replica_has(&h, G1, "snapshots/00000000.snapshot.lz4"));
	ASSERT(replica_has(&h, G1, "wal/00000000_00001038.wal.lz4"));
	ASSERT_INT_EQ(position_load(h.u.pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, 32 + 2 * FRAME);

	/* Nothing new: no upload. */
	h_sync(&h);
	ASSERT_INT_EQ(h.u.uploads, 3);

	/* The replica refuses (its wal/ is a file now): counted, backed
	 * off, the position stays where the replica is. */
	put_shadow(meta, G1, 0, w0, 32 + 3 * FRAME);
	snprintf(wal, sizeof(wal), "%s/generations/%s/wal", root, G1);
	char moved[1100];
	snprintf(moved, sizeof(moved), "%s.away", wal);
	ASSERT_INT_EQ(rename(wal, moved), 0);
	write_file(wal, "x", 1);
	h_sync(&h);
	ASSERT_INT_EQ(h.u.upload_errors, 1);
	ASSERT(h.u.retry_ns > upl_now_ns());
	ASSERT_INT_EQ(h.u.pos.offset, 32 + 2 * FRAME);
	ASSERT_INT_EQ(position_load(h.u.pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, 32 + 2 * FRAME);
	ASSERT(h.u.behind_ns != 0);
	/* Within the backoff nothing is tried. */
	h_sync(&h);
	ASSERT_INT_EQ(h.u.upload_errors, 1);
	/* Failing again doubles the wait. */
	h.u.retry_ns = 0;
	h_sync(&h);
	ASSERT_INT_EQ(h.u.upload_errors, 2);
	ASSERT(h.u.retry_ns - upl_now_ns() > NS_PER_SEC);

	/* The replica is back: the same object name is written, then on. */
	unlink(wal);
	ASSERT_INT_EQ(rename(moved, wal), 0);
	put_shadow(meta, G1, 0, w0, l0);
	h.u.retry_ns = 0;
	h_sync(&h);
	ASSERT_INT_EQ(h.u.fails, 0);
	ASSERT_INT_EQ(h.u.pos.offset, l0);
	ASSERT(replica_has(&h, G1, "wal/00000000_00002050.wal.lz4"));
	ASSERT_INT_EQ(position_load(h.u.pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, l0);
	ASSERT_INT_EQ(h.u.behind_ns, 0);
	h_free(&h);

	/* A restart without the position file finds it on the replica and
	 * writes nothing again. A corrupt file is the same. */
	unlink(h.u.pos_path);
	ASSERT_INT_EQ(h_init(&h, meta, root), 0);
	h_sync(&h);
	ASSERT_STR_EQ(h.u.pos.gen, G1);
	ASSERT_INT_EQ(h.u.pos.offset, l0);
	ASSERT(h.u.pos.snapshot);
	ASSERT_INT_EQ(h.u.uploads, 0);
	h_free(&h);
	write_file(h.u.pos_path, "garbage", 7);
	ASSERT_INT_EQ(h_init(&h, meta, root), 0);
	h_sync(&h);
	ASSERT_INT_EQ(h.u.pos.offset, l0);
	ASSERT_INT_EQ(h.u.uploads, 0);
	h_free(&h);

	/* A position file whose generation the replica lost (the replica
	 * was wiped): the generation is started again from its snapshot. */
	struct position p = pos_of(G1, 0, l0, true);
	position_save(h.u.pos_path, &p, 0600, 0700);
	char gdir[1100];
	snprintf(gdir, sizeof(gdir), "%s/generations", root);
	nftw(gdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ASSERT_INT_EQ(h_init(&h, meta, root), 0);
	h_sync(&h);
	ASSERT(replica_has(&h, G1, "snapshots/00000000.snapshot.lz4"));
	ASSERT(replica_has(&h, G1, "wal/00000000_00000000.wal.lz4"));
	ASSERT_INT_EQ(h.u.pos.offset, l0);
	h_free(&h);
	free(w0);
}

/*
 * One upload pass per sync-interval (less a slack of 100 ms): frames that
 * arrive sooner wait for the interval's end (the kick is armed for it),
 * then go in one pass.
 */
TEST(engine_one_pass_per_sync_interval)
{
	char meta[512], root[512];
	struct harness h;
	size_t l0;
	static const uint32_t c0[] = { 1, 2, 3, 4, 0 };
	uint8_t *w0 = make_wal(710, 4, c0, &l0);

	fresh_dir("emeta9", meta, sizeof(meta));
	fresh_dir("erep9", root, sizeof(root));
	put_generation(meta, G1);
	put_shadow(meta, G1, 0, w0, 32 + FRAME);
	put_snapshot(meta, G1, 0, 32 + FRAME, "image");
	ASSERT_INT_EQ(h_init(&h, meta, root), 0);
	h.rep.sync_interval = NS_PER_SEC / 2;
	h_sync(&h);
	uint64_t first = h.u.uploads;
	ASSERT(first > 0);
	int64_t t0 = upl_now_ns();

	put_shadow(meta, G1, 0, w0, 32 + 2 * FRAME);
	upl_sync(&h.u);
	ASSERT(!h.u.running);
	ASSERT_INT_EQ(h.u.uploads, first);
	ASSERT(event_pending(h.u.kick, EV_TIMEOUT, NULL));
	put_shadow(meta, G1, 0, w0, 32 + 3 * FRAME);
	upl_sync(&h.u);
	ASSERT_INT_EQ(h.u.uploads, first);

	struct timeval limit = { .tv_sec = 3 };
	event_add(h.u.deadline, &limit);
	while (h.u.uploads == first || h.u.running)
		if (event_base_loop(h.u.base, EVLOOP_ONCE) != 0 ||
		    upl_now_ns() - t0 > 3 * NS_PER_SEC)
			break;
	int64_t waited = upl_now_ns() - t0;
	ASSERT_INT_EQ(h.u.uploads, first + 1);
	ASSERT_INT_EQ(h.u.pos.offset, 32 + 3 * FRAME);
	/* The interval less its slack (100 ms), less timer granularity. */
	ASSERT(waited >= NS_PER_SEC / 2 - 150 * 1000000);
	ASSERT(waited < 2 * NS_PER_SEC);
	event_del(h.u.deadline);
	h_free(&h);
	free(w0);
}

TEST(engine_generation_and_stop)
{
	char meta[512], root[512];
	struct harness h;
	size_t l0;
	static const uint32_t c0[] = { 1, 2, 0 };
	uint8_t *w0 = make_wal(800, 2, c0, &l0);

	fresh_dir("emeta2", meta, sizeof(meta));
	fresh_dir("erep2", root, sizeof(root));
	put_generation(meta, G1);
	put_shadow(meta, G1, 0, w0, l0);
	put_snapshot(meta, G1, 0, 0, "image 1");
	ASSERT_INT_EQ(h_init(&h, meta, root), 0);
	h_sync(&h);
	ASSERT_INT_EQ(h.u.uploads, 2);

	/* A new generation, its snapshot not cut yet: wait for it (and
	 * ask, which goes nowhere here: no walreader). */
	put_generation(meta, G2);
	put_shadow(meta, G2, 0, w0, l0);
	h_sync(&h);
	ASSERT_INT_EQ(h.u.last_status, UPL_PLAN_NEED_SNAPSHOT);
	ASSERT_INT_EQ(h.u.uploads, 2);
	ASSERT_STR_EQ(h.u.pos.gen, G1);
	ASSERT(h.u.behind_ns != 0);
	put_snapshot(meta, G2, 0, 32 + FRAME, "image 2");
	h_sync(&h);
	ASSERT_INT_EQ(h.u.uploads, 5);
	ASSERT_STR_EQ(h.u.pos.gen, G2);
	ASSERT_INT_EQ(h.u.pos.offset, l0);
	ASSERT(h.u.pos.snapshot);
	ASSERT(replica_has(&h, G2, "wal/00000000_00000000.wal.lz4"));
	ASSERT(replica_has(&h, G2, "snapshots/00000000.snapshot.lz4"));
	ASSERT(replica_has(&h, G2, "wal/00000000_00001038.wal.lz4"));

	/* Stop: what is new goes up, then the loop ends. */
	static const uint32_t c1[] = { 1, 0 };
	size_t l1;
	uint8_t *w1 = make_wal(801, 1, c1, &l1);
	put_shadow(meta, G2, 1, w1, l1);
	upl_stop(&h.u);
	event_base_dispatch(h.u.base);
	ASSERT(h.u.stopping);
	ASSERT_INT_EQ(h.u.pos.index, 1);
	ASSERT_INT_EQ(h.u.pos.offset, l1);
	ASSERT(replica_has(&h, G2, "wal/00000001_00000000.wal.lz4"));
	h_free(&h);
	free(w0);
	free(w1);
}


/* ------------------------------------------------------------------ */
/* the engine on an S3 replica: a small S3 on evhttp, same event loop  */
/* ------------------------------------------------------------------ */

struct fake_obj {
	struct fake_obj *next;
	char key[400];
	uint8_t *data;
	size_t len;
};

/*
 * Enough of S3 for the uploader, path-style on bucket "bkt": PutObject,
 * GetObject, ListObjectsV2 (one page, delimiter '/'). FAIL answers every
 * request with 403 AccessDenied; HOLD keeps PUTs unanswered until
 * fake_release (a stuck endpoint).
 */
struct fake_s3 {
	struct evhttp *http;
	int port;
	struct fake_obj *objs;
	bool fail, hold;
	struct evhttp_request *held;
	bool hide_list;		/* listings show nothing (a lagging store) */
	unsigned puts, gets, heads, lists, others;
};

static struct fake_obj *
fake_find(struct fake_s3 *f, const char *key)
{
	for (struct fake_obj *o = f->objs; o != NULL; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static size_t
fake_count(const struct fake_s3 *f)
{
	size_t n = 0;
	for (const struct fake_obj *o = f->objs; o != NULL; o = o->next)
		n++;
	return n;
}

static void
fake_reply(struct evhttp_request *req, int code, const char *reason,
    const void *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	if (len > 0)
		evbuffer_add(out, body, len);
	evhttp_add_header(evhttp_request_get_output_headers(req), "ETag",
	    "\"0123456789abcdef0123456789abcdef\"");
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
fake_store(struct fake_s3 *f, struct evhttp_request *req, const char *key)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct fake_obj *o = fake_find(f, key);

	if (o == NULL) {
		o = calloc(1, sizeof(*o));
		snprintf(o->key, sizeof(o->key), "%s", key);
		o->next = f->objs;
		f->objs = o;
	}
	free(o->data);
	o->data = malloc(len + 1);
	o->len = len;
	evbuffer_remove(in, o->data, len);
	fake_reply(req, 200, "OK", NULL, 0);
}

static void
fake_list(struct fake_s3 *f, struct evhttp_request *req, const char *query)
{
	struct evkeyvalq q;
	struct evbuffer *out = evbuffer_new();
	const char *prefix;

	evhttp_parse_query_str(query, &q); /* initializes Q */
	prefix = evhttp_find_header(&q, "prefix");
	if (prefix == NULL)
		prefix = "";
	evbuffer_add_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/"
	    "\"><Name>bkt</Name><Prefix>%s</Prefix><MaxKeys>1000</MaxKeys>"
	    "<IsTruncated>false</IsTruncated>", prefix);
	for (struct fake_obj *o = f->objs; o != NULL; o = o->next) {
		size_t pl = strlen(prefix);
		if (strncmp(o->key, prefix, pl) != 0 ||
		    strchr(o->key + pl, '/') != NULL)
			continue;
		evbuffer_add_printf(out, "<Contents><Key>%s</Key><LastModified>"
		    "2026-01-02T03:04:05.000Z</LastModified><ETag>\"x\"</ETag>"
		    "<Size>%zu</Size><StorageClass>STANDARD</StorageClass>"
		    "</Contents>", o->key, o->len);
	}
	evbuffer_add_printf(out, "</ListBucketResult>");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	evhttp_clear_headers(&q);
}

static void
fake_cb(struct evhttp_request *req, void *arg)
{
	static const char denied[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
	    "<RequestId>1</RequestId></Error>";
	static const char nokey[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Error><Code>NoSuchKey</Code><Message>no such key</Message>"
	    "<RequestId>2</RequestId></Error>";
	struct fake_s3 *f = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (f->fail) {
		f->others++;
		fake_reply(req, 403, "Forbidden", denied, sizeof(denied) - 1);
		return;
	}
	if (cmd == EVHTTP_REQ_PUT && strncmp(path, "/bkt/", 5) == 0 &&
	    query == NULL) {
		f->puts++;
		if (f->hold && f->held == NULL) {
			f->held = req;
			return;
		}
		fake_store(f, req, path + 5);
	} else if (cmd == EVHTTP_REQ_GET && (strcmp(path, "/bkt") == 0 ||
	    strcmp(path, "/bkt/") == 0) && query != NULL &&
	    strstr(query, "list-type=2") != NULL) {
		f->lists++;
		fake_list(f, req, f->hide_list ? "prefix=hidden/" : query);
	} else if (cmd == EVHTTP_REQ_HEAD && strncmp(path, "/bkt/", 5) == 0) {
		struct fake_obj *o = fake_find(f, path + 5);
		f->heads++;
		fake_reply(req, o ? 200 : 404, o ? "OK" : "Not Found", NULL, 0);
	} else if (cmd == EVHTTP_REQ_GET && strncmp(path, "/bkt/", 5) == 0) {
		struct fake_obj *o = fake_find(f, path + 5);
		f->gets++;
		if (o == NULL)
			fake_reply(req, 404, "Not Found", nokey,
			    sizeof(nokey) - 1);
		else
			fake_reply(req, 200, "OK", o->data, o->len);
	} else {
		f->others++;
		fake_reply(req, 501, "Not Implemented", NULL, 0);
	}
}

static int
fake_start(struct fake_s3 *f, struct event_base *base)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	if ((f->http = evhttp_new(base)) == NULL)
		return -1;
	evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(f->http, fake_cb, f);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(
	    f->http, "127.0.0.1", 0);
	if (bs == NULL || getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &sl) < 0)
		return -1;
	f->port = ntohs(sin.sin_port);
	return 0;
}

/* Answers the held PUT (storing its object). */
static void
fake_release(struct fake_s3 *f)
{
	struct evhttp_request *req = f->held;
	f->held = NULL;
	f->hold = false;
	if (req != NULL)
		fake_store(f, req, evhttp_uri_get_path(
		    evhttp_request_get_evhttp_uri(req)) + 5);
}

static void
fake_stop(struct fake_s3 *f)
{
	if (f->http != NULL)
		evhttp_free(f->http);
	while (f->objs != NULL) {
		struct fake_obj *o = f->objs;
		f->objs = o->next;
		free(o->data);
		free(o);
	}
}

struct s3harness {
	struct harness h;
	struct fake_s3 fake;
	char endpoint[64];
};

/* A harness on META replicating to the fake S3 under prefix "app". */
static int
s3h_init(struct s3harness *sh, const char *meta)
{
	char err[512];
	struct harness *h = &sh->h;
	struct upl *u = &h->u;

	memset(sh, 0, sizeof(*sh));
	snprintf(h->meta, sizeof(h->meta), "%s", meta);
	snprintf(h->run, sizeof(h->run), "%s/run", tmpdir);
	mkdir(h->run, 0700);
	h->db.path = h->meta;
	h->db.meta_path = h->meta;
	h->rep.name = (char *)(uintptr_t)"s3";
	h->rep.type = CFG_REPLICA_S3;
	h->rep.path = (char *)(uintptr_t)"app";
	h->rep.bucket = (char *)(uintptr_t)"bkt";
	h->rep.region = (char *)(uintptr_t)"us-east-1";
	h->rep.force_path_style = true;
	h->rep.access_key_id = (char *)(uintptr_t)"AKIDEXAMPLE";
	h->rep.secret_access_key = (char *)(uintptr_t)"not-a-real-secret";
	h->rep.sync_interval = NS_PER_SEC;
	u->db = &h->db;
	u->rep = &h->rep;
	u->run = h->run;
	u->file_mode = 0600;
	u->dir_mode = 0700;
	position_path(u->pos_path, sizeof(u->pos_path), meta, "s3");
	upl_buf_init(&u->buf, UPL_BUF_CAP);
	u->chunk = malloc(UPL_CHUNK);
	u->lz = lz4frame_writer_new(NULL, NULL);
	u->base = event_base_new();
	u->kick = event_new(u->base, -1, 0, h_kick, u);
	u->work = event_new(u->base, -1, 0, h_work, u);
	u->deadline = evtimer_new(u->base, h_deadline, u);
	if (u->base == NULL || fake_start(&sh->fake, u->base) < 0)
		return -1;
	snprintf(sh->endpoint, sizeof(sh->endpoint), "http://127.0.0.1:%d",
	    sh->fake.port);
	h->rep.endpoint = sh->endpoint;
	if (upl_s3_open(u, err, sizeof(err)) < 0) {
		printf("  upl_s3_open: %s\n", err);
		return -1;
	}
	return upl_ipc_open(u);
}

static void
s3h_free(struct s3harness *sh)
{
	struct upl *u = &sh->h.u;

	upl_s3_close(u);
	fake_stop(&sh->fake);
	upl_ipc_close(u);
	event_free(u->kick);
	event_free(u->work);
	event_free(u->deadline);
	upl_plan_free(&u->plan);
	upl_view_free(&u->view);
	upl_buf_clear(&u->buf);
	free(u->chunk);
	lz4frame_writer_free(u->lz);
	event_base_free(u->base);
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs the loop until nothing is in flight or pending (at most 10 s). */
static void
s3h_settle(struct s3harness *sh)
{
	struct upl *u = &sh->h.u;
	bool late = false;
	struct timeval ten = { .tv_sec = 10 }, zero = { 0, 0 };
	struct event *guard = evtimer_new(u->base, on_guard, &late);

	evtimer_add(guard, &ten);
	for (int quiet = 0; quiet < 3 && !late;) {
		if (u->running || u->finding || event_pending(u->kick,
		    EV_TIMEOUT, NULL) || event_pending(u->work, EV_TIMEOUT,
		    NULL)) {
			quiet = 0;
			event_base_loop(u->base, EVLOOP_ONCE);
		} else {
			quiet++;
			event_base_loopexit(u->base, &zero);
			event_base_dispatch(u->base);
		}
	}
	event_free(guard);
}

static void
s3h_sync(struct s3harness *sh)
{
	upl_sync(&sh->h.u);
	s3h_settle(sh);
}

/* Loop passes for about MS milliseconds (for a held request). */
static unsigned
s3h_spin(struct s3harness *sh, int ms)
{
	struct upl *u = &sh->h.u;
	unsigned passes = 0;
	int64_t end = upl_now_ns() + (int64_t)ms * 1000000;
	struct timeval tick = { .tv_usec = 10000 };
	bool fired = false;
	struct event *t = event_new(u->base, -1, EV_PERSIST, on_guard, &fired);

	event_add(t, &tick);
	while (upl_now_ns() < end) {
		event_base_loop(u->base, EVLOOP_ONCE);
		if (fired)
			passes++;
		fired = false;
	}
	event_free(t);
	return passes;
}

static struct fake_obj *
s3_obj(struct s3harness *sh, const char *gen, const char *name)
{
	char key[400];
	snprintf(key, sizeof(key), "app/generations/%s/%s", gen, name);
	return fake_find(&sh->fake, key);
}

/* The same objects byte for byte as the file replica writes them. */
static bool
same_as_file(struct s3harness *sh, const char *root, const char *gen,
    const char *name)
{
	char path[1200];
	size_t len;
	const struct fake_obj *o = s3_obj(sh, gen, name);

	snprintf(path, sizeof(path), "%s/generations/%s/%s", root, gen, name);
	uint8_t *f = read_file(path, &len);
	bool same = f != NULL && o != NULL && o->len == len &&
	    memcmp(o->data, f, len) == 0;
	if (!same)
		printf("  %s: s3 %zu bytes, file %zu bytes\n", name,
		    o ? o->len : 0, f ? len : 0);
	free(f);
	return same;
}

TEST(engine_s3_uploads_asynchronously)
{
	char meta[512], root[512];
	struct s3harness sh;
	struct harness fh;
	struct position disk;
	size_t l0;
	static const uint32_t c0[] = { 1, 2, 3, 4, 0 };
	uint8_t *w0 = make_wal(900, 4, c0, &l0);

	fresh_dir("s3meta1", meta, sizeof(meta));
	fresh_dir("s3file1", root, sizeof(root));
	put_generation(meta, G1);
	put_shadow(meta, G1, 0, w0, 32 + 2 * FRAME);
	put_snapshot(meta, G1, 0, 32 + FRAME, "image");
	ASSERT_INT_EQ(s3h_init(&sh, meta), 0);
	struct upl *u = &sh.h.u;

	/* First start: the replica is listed (snapshots/, wal/: empty),
	 * then three objects go up, one PUT each, nothing else. */
	upl_sync(u);
	ASSERT(u->finding);
	ASSERT(!u->pos_known);
	s3h_settle(&sh);
	ASSERT(u->pos_known);
	ASSERT_INT_EQ(sh.fake.lists, 2);
	ASSERT_INT_EQ(sh.fake.gets, 0);
	ASSERT_INT_EQ(sh.fake.puts, 3);
	ASSERT_INT_EQ(sh.fake.others, 0);
	ASSERT_INT_EQ(u->uploads, 3);
	ASSERT_STR_EQ(u->pos.gen, G1);
	ASSERT_INT_EQ(u->pos.offset, 32 + 2 * FRAME);
	ASSERT(u->pos.snapshot);
	ASSERT_INT_EQ(position_load(u->pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, 32 + 2 * FRAME);
	ASSERT_INT_EQ(fake_count(&sh.fake), 3);
	const struct s3client_stats *st = upl_s3_stats(u);
	ASSERT_INT_EQ(st->requests[S3_STAT_PUT], 3);
	ASSERT_INT_EQ(st->requests[S3_STAT_LIST], 2);
	ASSERT_INT_EQ(st->errors, 0);

	/* The same bytes as the file replica writes for the same steps. */
	ASSERT_INT_EQ(h_init(&fh, meta, root), 0);
	unlink(fh.u.pos_path);
	snprintf(fh.u.pos_path, sizeof(fh.u.pos_path), "%s/file.pos", root);
	h_sync(&fh);
	ASSERT_INT_EQ(fh.u.uploads, 3);
	h_free(&fh);
	ASSERT(same_as_file(&sh, root, G1, "wal/00000000_00000000.wal.lz4"));
	ASSERT(same_as_file(&sh, root, G1, "snapshots/00000000.snapshot.lz4"));
	ASSERT(same_as_file(&sh, root, G1, "wal/00000000_00001038.wal.lz4"));

	/* Nothing new: no request at all. */
	s3h_sync(&sh);
	s3h_sync(&sh);
	ASSERT_INT_EQ(sh.fake.puts + sh.fake.lists + sh.fake.gets, 5);

	/* A stuck PUT: the loop keeps running, the position stays until
	 * the answer comes, then moves, is persisted, and nothing lists. */
	put_shadow(meta, G1, 0, w0, l0);
	sh.fake.hold = true;
	upl_sync(u);
	unsigned passes = s3h_spin(&sh, 300);
	ASSERT(passes >= 10);
	ASSERT(sh.fake.held != NULL);
	ASSERT(u->running);
	ASSERT(u->inflight);
	ASSERT_INT_EQ(u->pos.offset, 32 + 2 * FRAME);
	ASSERT_INT_EQ(position_load(u->pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, 32 + 2 * FRAME);
	upl_sync(u); /* a tick while running: nothing more starts */
	ASSERT_INT_EQ(sh.fake.puts, 4);
	fake_release(&sh.fake);
	s3h_settle(&sh);
	ASSERT(!u->running);
	ASSERT_INT_EQ(u->pos.offset, l0);
	ASSERT_INT_EQ(position_load(u->pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, l0);
	ASSERT(s3_obj(&sh, G1, "wal/00000000_00002050.wal.lz4") != NULL);
	ASSERT_INT_EQ(sh.fake.lists, 2);

	/* The store refuses: logged, counted, backed off, never an exit;
	 * the position stays; the same object name once it accepts. */
	static const uint32_t c1[] = { 1, 0 };
	size_t l1;
	uint8_t *w1 = make_wal(901, 1, c1, &l1);
	put_shadow(meta, G1, 1, w1, l1);
	sh.fake.fail = true;
	s3h_sync(&sh);
	ASSERT_INT_EQ(u->upload_errors, 1);
	ASSERT(u->retry_ns > upl_now_ns());
	ASSERT_INT_EQ(u->pos.index, 0);
	ASSERT_INT_EQ(u->pos.offset, l0);
	ASSERT_INT_EQ(upl_s3_stats(u)->errors, 1);
	unsigned before = sh.fake.others;
	s3h_sync(&sh); /* within the backoff: no request */
	ASSERT_INT_EQ(sh.fake.others, before);
	sh.fake.fail = false;
	u->retry_ns = 0;
	s3h_sync(&sh);
	ASSERT_INT_EQ(u->fails, 0);
	ASSERT_INT_EQ(u->pos.index, 1);
	ASSERT_INT_EQ(u->pos.offset, l1);
	ASSERT(s3_obj(&sh, G1, "wal/00000001_00000000.wal.lz4") != NULL);
	s3h_free(&sh);

	/* A restart without the position file: LIST, LIST, GET of the
	 * newest segment, the same position, nothing written again. The
	 * fake's objects are gone with it, so rebuild them first. */
	ASSERT_INT_EQ(s3h_init(&sh, meta), 0);
	u = &sh.h.u;
	unlink(u->pos_path);
	s3h_sync(&sh); /* writes the replica again from scratch */
	ASSERT_INT_EQ(u->pos.index, 1);
	ASSERT_INT_EQ(u->pos.offset, l1);
	unsigned puts = sh.fake.puts;
	unlink(u->pos_path);
	u->pos_known = false;
	memset(&u->pos, 0, sizeof(u->pos));
	s3h_sync(&sh);
	ASSERT(u->pos_known);
	ASSERT_STR_EQ(u->pos.gen, G1);
	ASSERT_INT_EQ(u->pos.index, 1);
	ASSERT_INT_EQ(u->pos.offset, l1);
	ASSERT(u->pos.snapshot);
	ASSERT_INT_EQ(sh.fake.puts, puts);
	ASSERT_INT_EQ(sh.fake.gets, 1);

	/* With the position file: two LISTs confirm it, no GET. */
	ASSERT_INT_EQ(position_save(u->pos_path, &u->pos, 0600, 0700), 0);
	unsigned gets = sh.fake.gets, lists = sh.fake.lists;
	u->pos_known = false;
	s3h_sync(&sh);
	ASSERT_INT_EQ(u->pos.offset, l1);
	ASSERT_INT_EQ(sh.fake.lists, lists + 2);
	ASSERT_INT_EQ(sh.fake.gets, gets);
	ASSERT_INT_EQ(sh.fake.puts, puts);

	/* A listing that lags (shows nothing of the generation): a HEAD of
	 * the generation's snapshot confirms the file; nothing is written
	 * again. Then the snapshot really gone: the replica is believed. */
	sh.fake.hide_list = true;
	u->pos_known = false;
	s3h_sync(&sh);
	ASSERT(u->pos_known);
	ASSERT_STR_EQ(u->pos.gen, G1);
	ASSERT_INT_EQ(u->pos.offset, l1);
	ASSERT_INT_EQ(sh.fake.heads, 1);
	ASSERT_INT_EQ(sh.fake.puts, puts);
	struct fake_obj *snap = s3_obj(&sh, G1, "snapshots/00000000.snapshot.lz4");
	ASSERT(snap != NULL);
	snap->key[0] = '#';	/* no longer found under its name */
	u->pos_known = false;
	s3h_sync(&sh);
	ASSERT_INT_EQ(sh.fake.heads, 2);
	ASSERT(sh.fake.puts > puts);	/* the generation written again */
	sh.fake.hide_list = false;
	puts = sh.fake.puts;

	/* A corrupt newest segment: an error and a backoff, never a
	 * wrong position. */
	struct fake_obj *o = s3_obj(&sh, G1, "wal/00000001_00000000.wal.lz4");
	ASSERT(o != NULL);
	o->len -= 3;
	unlink(u->pos_path);
	u->pos_known = false;
	s3h_sync(&sh);
	ASSERT(!u->pos_known);
	ASSERT(u->retry_ns > upl_now_ns());
	s3h_free(&sh);
	free(w0);
	free(w1);
}

/* Incompressible pages: a segment larger than the in-memory spool. */
TEST(engine_s3_large_segment)
{
	char meta[512], root[512];
	struct s3harness sh;
	struct harness fh;
	size_t l0;
	uint32_t n = 1200, commits[] = { 600, 1200, 0 };
	uint8_t *w0 = make_wal(902, n, commits, &l0);
	uint32_t x = 12345;

	for (uint32_t f = 0; f < n; f++)
		for (size_t i = 0; i < PAGE; i++) {
			x = x * 1103515245u + 12345u;
			w0[32 + (size_t)f * FRAME + 24 + i] = (uint8_t)(x >> 23);
		}
	fresh_dir("s3meta2", meta, sizeof(meta));
	fresh_dir("s3file2", root, sizeof(root));
	put_generation(meta, G2);
	put_shadow(meta, G2, 0, w0, l0);
	put_snapshot(meta, G2, 0, 0, "image");
	ASSERT_INT_EQ(s3h_init(&sh, meta), 0);
	s3h_sync(&sh);
	ASSERT_INT_EQ(sh.h.u.uploads, 2);
	ASSERT_INT_EQ(sh.h.u.pos.offset, l0);
	const struct fake_obj *o = s3_obj(&sh, G2,
	    "wal/00000000_00000000.wal.lz4");
	ASSERT(o != NULL);
	ASSERT(o->len > UPL_S3_SPOOL_MEM);
	ASSERT_INT_EQ(h_init(&fh, meta, root), 0);
	snprintf(fh.u.pos_path, sizeof(fh.u.pos_path), "%s/file.pos", root);
	h_sync(&fh);
	h_free(&fh);
	ASSERT(same_as_file(&sh, root, G2, "wal/00000000_00000000.wal.lz4"));

	/* Stopping uploads what is new, then the loop ends by itself. */
	static const uint32_t c1[] = { 1, 0 };
	size_t l1;
	uint8_t *w1 = make_wal(903, 1, c1, &l1);
	put_shadow(meta, G2, 1, w1, l1);
	upl_stop(&sh.h.u);
	event_base_dispatch(sh.h.u.base);
	ASSERT_INT_EQ(sh.h.u.pos.index, 1);
	ASSERT_INT_EQ(sh.h.u.pos.offset, l1);
	s3h_free(&sh);

	/* Stopping with the endpoint stuck: bounded by the deadline (made
	 * short here), the position stays, the PUT is cancelled. */
	static const uint32_t c2[] = { 1, 2, 0 };
	size_t l2;
	uint8_t *w2 = make_wal(903, 2, c2, &l2);
	struct position disk;
	ASSERT_INT_EQ(s3h_init(&sh, meta), 0);
	s3h_sync(&sh); /* the position (the file, confirmed); nothing new */
	ASSERT_INT_EQ(sh.h.u.pos.offset, l1);
	sh.fake.hold = true;
	put_shadow(meta, G2, 1, w2, l2);
	int64_t t0 = upl_now_ns();
	upl_stop(&sh.h.u);
	struct timeval short_tv = { .tv_usec = 300000 };
	event_add(sh.h.u.deadline, &short_tv);
	event_base_dispatch(sh.h.u.base);
	ASSERT(upl_now_ns() - t0 < 3 * NS_PER_SEC);
	ASSERT(sh.fake.held != NULL);
	ASSERT_INT_EQ(sh.h.u.pos.offset, l1);
	ASSERT_INT_EQ(position_load(sh.h.u.pos_path, &disk), 0);
	ASSERT_INT_EQ(disk.offset, l1);
	s3h_free(&sh);
	free(w0);
	free(w1);
	free(w2);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/uploader_test.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_init(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, stderr);
	RUN(pos_round_trip);
	RUN(pos_corrupt);
	RUN(pos_path_escapes);
	RUN(plan_new_generation_starts_at_snapshot);
	RUN(plan_same_generation);
	RUN(plan_crash_repeat);
	RUN(plan_interval_snapshot);
	RUN(plan_waits_and_stalls);
	RUN(buf_contiguous_runs);
	RUN(view_reads_shadow);
	RUN(store_writes_replica);
	RUN(store_replica_errors);
	RUN(engine_uploads_persists_and_backs_off);
	RUN(engine_one_pass_per_sync_interval);
	RUN(engine_generation_and_stop);
	RUN(engine_s3_uploads_asynchronously);
	RUN(engine_s3_large_segment);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_DONE();
}
