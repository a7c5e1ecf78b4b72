/*
 * Tests of the uploader's pure S3 helpers: the replica position from a
 * listing (upl_scan), the length of a downloaded segment (upl_lz4count),
 * whether a position file holds against the replica (upl_pos_file_usable)
 * and the bounded spool (upl_spool).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lz4frame.h"
#include "test.h"
#include "upl.h"

#define G1 "97b94e8e9eda898b"

static char tmpdir[256];

TEST(scan_snapshots_and_segments)
{
	struct upl_scan sc;
	struct position p;

	upl_scan_init(&sc);
	upl_scan_position(&sc, G1, 0, &p);
	ASSERT_STR_EQ(p.gen, "");
	ASSERT(!p.snapshot);

	/* What Litestream ignores is not counted. */
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "00000001.snapshot.lz4.tmp", 9,
	    5), 0);
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "0000000A.snapshot.lz4", 9, 5),
	    0);
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "marker", 9, 5), 0);
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "", 9, 5), 0);
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "00000001.snapshot.lz4", -1, 5),
	    0);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000000_00000000.wal", 9), 0);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "0_0.wal.lz4", 9), 0);
	ASSERT_INT_EQ(sc.nsnaps + sc.nsegs, 0);

	/* Snapshots only: (highest index, 0), the newest time. */
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "00000003.snapshot.lz4", 10,
	    300), 1);
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "00000001.snapshot.lz4", 10,
	    900), 1);
	ASSERT_INT_EQ(upl_scan_snapshot(&sc, "00000002.snapshot.lz4", 0,
	    100), 1);
	upl_scan_position(&sc, G1, 12345, &p);
	ASSERT_STR_EQ(p.gen, G1);
	ASSERT(p.snapshot);
	ASSERT_INT_EQ(p.index, 3);
	ASSERT_INT_EQ(p.offset, 0);
	ASSERT_INT_EQ(sc.snap_created, 900);

	/* Segments in any order: after the highest (index, offset). */
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000003_00001038.wal.lz4", 50), 1);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000004_00000000.wal.lz4", 50), 1);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000003_00002050.wal.lz4", 50), 1);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000004_00001038.wal.lz4", 50), 1);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000003_00000000.wal.lz4", 50), 1);
	ASSERT_INT_EQ(sc.nsegs, 5);
	upl_scan_position(&sc, G1, 4120, &p);
	ASSERT_INT_EQ(p.index, 4);
	ASSERT_INT_EQ(p.offset, 0x1038 + 4120);
	ASSERT(p.snapshot);

	/* Segments without a snapshot: an interrupted start, continued. */
	upl_scan_init(&sc);
	ASSERT_INT_EQ(upl_scan_wal(&sc, "00000007_00000000.wal.lz4", 50), 1);
	upl_scan_position(&sc, G1, 32 + 4120, &p);
	ASSERT_STR_EQ(p.gen, G1);
	ASSERT(!p.snapshot);
	ASSERT_INT_EQ(p.index, 7);
	ASSERT_INT_EQ(p.offset, 32 + 4120);
	ASSERT_INT_EQ(sc.snap_created, 0);
}

static struct position
mkpos(const char *gen, uint32_t index, uint64_t offset, bool snapshot)
{
	struct position p;

	memset(&p, 0, sizeof(p));
	snprintf(p.gen, sizeof(p.gen), "%s", gen);
	p.index = index;
	p.offset = offset;
	p.snapshot = snapshot;
	return p;
}

TEST(position_file_against_replica)
{
	struct position file = mkpos(G1, 2, 4152, true);
	struct position none = mkpos("", 0, 0, false);
	struct position with = mkpos(G1, 2, 0, true);
	struct position segs = mkpos(G1, 2, 9000, false);

	ASSERT(upl_pos_file_usable(&file, &with));
	ASSERT(!upl_pos_file_usable(&file, &none));	/* replica emptied */
	ASSERT(!upl_pos_file_usable(&file, &segs));	/* snapshot lost */
	file.snapshot = false;				/* start interrupted */
	ASSERT(upl_pos_file_usable(&file, &segs));
	ASSERT(upl_pos_file_usable(&file, &with));
	ASSERT(!upl_pos_file_usable(&file, &none));
}

/* ---- lz4count ---------------------------------------------------------- */

struct sinkbuf {
	uint8_t *p;
	size_t len, cap;
};

static int
to_mem(void *arg, const void *buf, size_t len)
{
	struct sinkbuf *s = arg;

	if (s->len + len > s->cap) {
		size_t nc = (s->len + len) * 2;
		uint8_t *np = realloc(s->p, nc);
		if (np == NULL)
			return -1;
		s->p = np;
		s->cap = nc;
	}
	memcpy(s->p + s->len, buf, len);
	s->len += len;
	return 0;
}

/* Appends one Litestream-style frame of N pseudo-random-ish bytes. */
static int
frame(struct sinkbuf *out, size_t n, unsigned seed)
{
	struct lz4frame_writer *w = lz4frame_writer_new(to_mem, out);
	uint8_t buf[4096];
	uint32_t x = seed * 2654435761u + 1;

	if (w == NULL)
		return -1;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
		for (size_t i = 0; i < k; i++) {
			x = x * 1103515245u + 12345u;
			/* half compressible: runs and noise */
			buf[i] = (i & 64) ? (uint8_t)(x >> 24) : (uint8_t)i;
		}
		if (lz4frame_write(w, buf, k) < 0) {
			lz4frame_writer_free(w);
			return -1;
		}
		done += k;
	}
	int rc = lz4frame_writer_finish(w);
	lz4frame_writer_free(w);
	return rc;
}

/* The length counted when DATA is fed in pieces of STEP bytes. */
static int
count(const uint8_t *data, size_t len, size_t step, uint64_t *out,
    char *err, size_t errlen)
{
	struct upl_lz4count lc;
	int rc = 0;

	if (upl_lz4count_init(&lc) < 0)
		return -1;
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = upl_lz4count_feed(&lc, data + off, len - off < step ?
		    len - off : step);
	if (rc == 0)
		rc = upl_lz4count_finish(&lc, out);
	snprintf(err, errlen, "%s", lc.err);
	upl_lz4count_free(&lc);
	return rc;
}

TEST(lz4count_lengths)
{
	static const size_t sizes[] = { 0, 1, 4152, 65536, 65537,
		4u << 20, (4u << 20) + 4120, 9u << 20 };
	static const size_t steps[] = { 1, 7, 4096, 100000, SIZE_MAX };
	char err[128];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct sinkbuf out = { 0 };
		uint64_t got;

		ASSERT_INT_EQ(frame(&out, sizes[i], (unsigned)i), 0);
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			/* A byte at a time through 9 MiB is slow: skip. */
			if (steps[k] < 4096 && sizes[i] > 70000)
				continue;
			got = 12345;
			ASSERT_INT_EQ(count(out.p, out.len, steps[k], &got, err,
			    sizeof(err)), 0);
			ASSERT_INT_EQ(got, sizes[i]);
		}
		free(out.p);
	}
}

TEST(lz4count_concatenated_and_broken)
{
	struct sinkbuf out = { 0 };
	char err[128];
	uint64_t got;

	ASSERT_INT_EQ(frame(&out, 100000, 1), 0);
	size_t one = out.len;
	ASSERT_INT_EQ(frame(&out, 5000, 2), 0);
	ASSERT_INT_EQ(count(out.p, out.len, 3000, &got, err, sizeof(err)), 0);
	ASSERT_INT_EQ(got, 105000);

	/* Empty, truncated anywhere, corrupt: an error, never a length. */
	ASSERT_INT_EQ(count(out.p, 0, 1, &got, err, sizeof(err)), -1);
	ASSERT(strstr(err, "empty") != NULL);
	for (size_t cut = 1; cut < one; cut += one / 13 + 1) {
		ASSERT_INT_EQ(count(out.p, cut, 4096, &got, err, sizeof(err)),
		    -1);
		ASSERT(err[0] != '\0');
	}
	ASSERT_INT_EQ(count(out.p, one - 1, 4096, &got, err, sizeof(err)), -1);
	ASSERT(strstr(err, "truncated") != NULL);
	out.p[one / 2] ^= 0x5a;	/* the content checksum catches it */
	ASSERT_INT_EQ(count(out.p, one, 4096, &got, err, sizeof(err)), -1);
	ASSERT(strstr(err, "corrupt") != NULL);
	out.p[0] ^= 0xff;	/* not a frame at all */
	ASSERT_INT_EQ(count(out.p, out.len, 4096, &got, err, sizeof(err)),
	    -1);
	free(out.p);

	/* A feed after an error keeps failing. */
	struct upl_lz4count lc;
	ASSERT_INT_EQ(upl_lz4count_init(&lc), 0);
	ASSERT_INT_EQ(upl_lz4count_feed(&lc, "garbage!", 8), -1);
	ASSERT_INT_EQ(errno, EBADMSG);
	ASSERT_INT_EQ(upl_lz4count_feed(&lc, "", 0), -1);
	ASSERT_INT_EQ(upl_lz4count_finish(&lc, &got), -1);
	upl_lz4count_free(&lc);
}

/* ---- spool ------------------------------------------------------------- */

static size_t
read_all(struct upl_spool *sp, uint8_t *buf, size_t cap, size_t step)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = upl_spool_read(sp, buf + got,
	    cap - got < step ? cap - got : step)) > 0)
		got += (size_t)n;
	return got;
}

static int
open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

TEST(spool_memory_then_file)
{
	char dir[300];
	uint8_t data[1000], back[1200];
	struct upl_spool sp;
	int fds = open_fds();

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	snprintf(dir, sizeof(dir), "%s/walship", tmpdir);
	upl_spool_init(&sp, dir, 300);

	/* Small: in memory, no file, no directory made. */
	ASSERT_INT_EQ(upl_spool_write(&sp, data, 100), 0);
	ASSERT_INT_EQ(upl_spool_write(&sp, data + 100, 200), 0);
	ASSERT_INT_EQ(upl_spool_write(&sp, data, 0), 0);
	ASSERT(upl_spool_mem(&sp) != NULL);
	ASSERT_INT_EQ(sp.size, 300);
	ASSERT(sp.cap <= 300);
	ASSERT(access(dir, F_OK) != 0);
	ASSERT_MEM_EQ(upl_spool_mem(&sp), data, 300);
	ASSERT_INT_EQ(read_all(&sp, back, sizeof(back), 64), 300);
	ASSERT_MEM_EQ(back, data, 300);
	ASSERT_INT_EQ(upl_spool_read(&sp, back, 10), 0);
	upl_spool_reset(&sp);
	ASSERT_INT_EQ(sp.size, 0);
	ASSERT(upl_spool_mem(&sp) != NULL);	/* empty, in memory */

	/* Past the bound: everything moves to an unnamed file in DIR
	 * (made), memory is freed, the bytes read back the same. */
	ASSERT_INT_EQ(upl_spool_write(&sp, data, 250), 0);
	ASSERT_INT_EQ(upl_spool_write(&sp, data + 250, 750), 0);
	ASSERT(upl_spool_mem(&sp) == NULL);
	ASSERT(sp.mem == NULL);
	ASSERT(sp.fd >= 0);
	ASSERT_INT_EQ(sp.size, 1000);
	ASSERT(access(dir, F_OK) == 0);
	ASSERT_INT_EQ(read_all(&sp, back, sizeof(back), 333), 1000);
	ASSERT_MEM_EQ(back, data, 1000);
	ASSERT_INT_EQ(upl_spool_read(&sp, back, 10), 0);
	/* No name left behind in DIR. */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
	ASSERT_INT_EQ(system(cmd), 0);
	upl_spool_reset(&sp);
	ASSERT_INT_EQ(open_fds(), fds);

	/* A directory that cannot be made: the write fails, cleanly. */
	upl_spool_init(&sp, "/proc/nonexistent/walship", 10);
	ASSERT_INT_EQ(upl_spool_write(&sp, data, 5), 0);
	ASSERT_INT_EQ(upl_spool_write(&sp, data, 50), -1);
	ASSERT(upl_spool_mem(&sp) != NULL);
	upl_spool_reset(&sp);
	ASSERT_INT_EQ(open_fds(), fds);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "%s/upl_scan_test.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(scan_snapshots_and_segments);
	RUN(position_file_against_replica);
	RUN(lz4count_lengths);
	RUN(lz4count_concatenated_and_broken);
	RUN(spool_memory_then_file);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return TEST_DONE();
}
