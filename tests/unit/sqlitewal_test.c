/* SQLite WAL header, checksum and frame verification of sqlitewal/. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlitewal.h"
#include "test.h"

static char tmpdir[64];
static char errbuf[256];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/walship-sqlitewal.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

static void
tmp_cleanup(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static int
spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t n = fwrite(buf, 1, len, f);
	return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static int
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "sql %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static long long
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A WAL database with page size PAGE and autocheckpoints off. */
static sqlite3 *
open_wal_db(const char *path, int page)
{
	sqlite3 *db;
	char sql[128];

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return NULL;
	snprintf(sql, sizeof(sql), "PRAGMA page_size=%d", page);
	if (exec(db, sql) < 0 || exec(db, "PRAGMA journal_mode=wal") < 0 ||
	    exec(db, "PRAGMA wal_autocheckpoint=0") < 0 ||
	    exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)") < 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* NTX transactions of ROWS rows of SIZE random bytes each. */
static int
write_rows(sqlite3 *db, int ntx, int rows, int size)
{
	char sql[256];
	for (int i = 0; i < ntx; i++) {
		snprintf(sql, sizeof(sql), "BEGIN; WITH RECURSIVE c(x) AS "
		    "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
		    "INSERT INTO t(v) SELECT randomblob(%d) FROM c; COMMIT",
		    rows, size);
		if (exec(db, sql) < 0)
			return -1;
	}
	return 0;
}

/* Independent, byte-at-a-time reference of SQLite's WAL checksum. */
static void
ref_cksum(int be, const uint8_t *p, size_t len, uint32_t *s1, uint32_t *s2)
{
	for (size_t i = 0; i < len; i += 8) {
		uint32_t a = 0, b = 0;
		for (int k = 0; k < 4; k++) {
			int sh = be ? 8 * (3 - k) : 8 * k;
			a |= (uint32_t)p[i + k] << sh;
			b |= (uint32_t)p[i + 4 + k] << sh;
		}
		*s1 += a + *s2;
		*s2 += b + *s1;
	}
}

TEST(known_header)
{
	/* The first 32 bytes of a Litestream WAL segment (format doc §1.3). */
	static const uint8_t hdr[32] = {
		0x37, 0x7f, 0x06, 0x82, 0x00, 0x2d, 0xe2, 0x18,
		0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x3f, 0x1c, 0x95, 0x9e, 0xda, 0x7d, 0x68, 0x46,
		0x73, 0x7c, 0x1f, 0x52, 0x71, 0xcc, 0x74, 0xd1,
	};
	struct sqlitewal_hdr h;
	uint8_t bad[32], again[32];

	ASSERT_INT_EQ(sqlitewal_hdr_parse(hdr, 32, &h, errbuf,
	    sizeof(errbuf)), 0);
	ASSERT_INT_EQ(h.page_size, 4096);
	ASSERT_INT_EQ(h.version, 3007000);
	ASSERT_INT_EQ(h.salt1, 0x3f1c959e);
	ASSERT_INT_EQ(h.salt2, 0xda7d6846);
	ASSERT(!h.big_endian);
	sqlitewal_hdr_encode(&h, again);
	ASSERT_MEM_EQ(again, hdr, 32);

	memcpy(bad, hdr, 32);
	bad[19] ^= 1;
	ASSERT_INT_EQ(sqlitewal_hdr_parse(bad, 32, &h, errbuf,
	    sizeof(errbuf)), -1);
	ASSERT(strstr(errbuf, "checksum mismatch") != NULL);
}

TEST(header_rejects)
{
	struct sqlitewal_hdr h = { .magic = SQLITEWAL_MAGIC_LE,
		.version = SQLITEWAL_VERSION, .page_size = 4096, .salt1 = 1,
		.salt2 = 2 };
	uint8_t b[32];
	static const uint32_t bad_pages[] = { 0, 256, 1000, 4095, 131072,
		0x80000000u };

	sqlitewal_hdr_encode(&h, b);
	ASSERT_INT_EQ(sqlitewal_hdr_parse(b, 31, &h, errbuf, sizeof(errbuf)),
	    -1);
	ASSERT(strstr(errbuf, "too short") != NULL);

	h.magic = 0x377f0684;
	sqlitewal_hdr_encode(&h, b);
	ASSERT_INT_EQ(sqlitewal_hdr_parse(b, 32, &h, errbuf, sizeof(errbuf)),
	    -1);
	ASSERT(strstr(errbuf, "magic") != NULL);

	h.magic = SQLITEWAL_MAGIC_LE;
	h.version = 3007001;
	sqlitewal_hdr_encode(&h, b);
	ASSERT_INT_EQ(sqlitewal_hdr_parse(b, 32, &h, errbuf, sizeof(errbuf)),
	    -1);
	ASSERT(strstr(errbuf, "version") != NULL);

	h.version = SQLITEWAL_VERSION;
	for (size_t i = 0; i < sizeof(bad_pages) / sizeof(bad_pages[0]); i++) {
		h.page_size = bad_pages[i];
		sqlitewal_hdr_encode(&h, b);
		ASSERT_INT_EQ(sqlitewal_hdr_parse(b, 32, &h, errbuf,
		    sizeof(errbuf)), -1);
		ASSERT(strstr(errbuf, "page size") != NULL);
	}
	for (uint32_t p = 512; p <= 65536; p *= 2) {
		h.page_size = p;
		sqlitewal_hdr_encode(&h, b);
		ASSERT_INT_EQ(sqlitewal_hdr_parse(b, 32, &h, errbuf,
		    sizeof(errbuf)), 0);
		ASSERT_INT_EQ(h.page_size, p);
	}
}

TEST(checksum_matches_reference)
{
	uint8_t data[4096 + 8];
	uint32_t ck[2] = { 7, 9 };

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 17);
	for (int be = 0; be <= 1; be++) {
		uint32_t r1 = 7, r2 = 9;
		ck[0] = 7;
		ck[1] = 9;
		ASSERT_INT_EQ(sqlitewal_checksum(be, data, sizeof(data), ck), 0);
		ref_cksum(be, data, sizeof(data), &r1, &r2);
		ASSERT_INT_EQ(ck[0], r1);
		ASSERT_INT_EQ(ck[1], r2);
	}
	ASSERT_INT_EQ(sqlitewal_checksum(0, data, 12, ck), -1);
	ASSERT_INT_EQ(errno, EINVAL);
}

/* A real WAL written by the sqlite3 library, copied while it is open. */
static void
check_real_wal(int page)
{
	char db_path[128], wal_path[140];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	uint8_t *wal;
	size_t len;
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/real%d.db", tmpdir, page);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_wal_db(db_path, page);
	ASSERT(db != NULL);
	ASSERT_INT_EQ(write_rows(db, 5, 3, 700), 0);
	wal = slurp(wal_path, &len);
	sqlite3_close(db);
	ASSERT(wal != NULL);
	size_t fsz = sqlitewal_frame_size((uint32_t)page);
	ASSERT(len > 32 && (len - 32) % fsz == 0);

	ASSERT_INT_EQ(sqlitewal_hdr_parse(wal, len, &h, errbuf,
	    sizeof(errbuf)), 0);
	ASSERT_INT_EQ(h.page_size, page);
	sqlitewal_verifier_init(&v, &h);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&v, wal + 32, len - 32), len - 32);
	ASSERT(!v.broken);
	ASSERT_INT_EQ(v.valid_end, len);
	ASSERT_INT_EQ(v.commit_end, len);
	ASSERT_INT_EQ(v.nframes, (len - 32) / fsz);
	ASSERT(v.commit_size > 0);
	free(wal);
}

TEST(real_wal_4096)
{
	check_real_wal(4096);
}

TEST(real_wal_512)
{
	check_real_wal(512);
}

TEST(real_wal_65536)
{
	check_real_wal(65536);
}

/* Opens DB+WAL bytes as SQLite would and counts the rows it sees. */
static long long
sqlite_rows(const uint8_t *dbimg, size_t dblen, const uint8_t *wal,
    size_t wallen)
{
	char p[128], w[140];
	sqlite3 *db;
	long long n;

	snprintf(p, sizeof(p), "%s/probe.db", tmpdir);
	snprintf(w, sizeof(w), "%s-wal", p);
	unlink(w);
	snprintf(w, sizeof(w), "%s-shm", p);
	unlink(w);
	snprintf(w, sizeof(w), "%s-wal", p);
	if (spit(p, dbimg, dblen) < 0 || spit(w, wal, wallen) < 0)
		return -2;
	if (sqlite3_open(p, &db) != SQLITE_OK)
		return -2;
	n = query_int(db, "SELECT count(*) FROM t");
	sqlite3_close(db);
	return n;
}

TEST(corruption_detected)
{
	char db_path[128], wal_path[140];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	uint8_t *wal, *img;
	size_t len, imglen, fsz = sqlitewal_frame_size(4096);
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/corrupt.db", tmpdir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_wal_db(db_path, 4096);
	ASSERT(db != NULL);
	/* Everything so far into the database file, then 6 one-frame txns. */
	ASSERT_INT_EQ(exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	img = slurp(db_path, &imglen);
	ASSERT(img != NULL);
	ASSERT_INT_EQ(write_rows(db, 6, 1, 10), 0);
	wal = slurp(wal_path, &len);
	sqlite3_close(db);
	ASSERT(wal != NULL);
	ASSERT_INT_EQ(len, 32 + 6 * fsz);
	ASSERT_INT_EQ(sqlite_rows(img, imglen, wal, len), 6);

	/* A flipped byte in the page data of frame 3 (0-based). */
	ASSERT_INT_EQ(sqlitewal_hdr_parse(wal, len, &h, errbuf,
	    sizeof(errbuf)), 0);
	wal[32 + 3 * fsz + 24 + 100] ^= 0x40;
	sqlitewal_verifier_init(&v, &h);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&v, wal + 32, len - 32), 3 * fsz);
	ASSERT(v.broken);
	ASSERT_INT_EQ(v.bad_off, 32 + 3 * fsz);
	ASSERT_INT_EQ(v.commit_end, 32 + 3 * fsz);
	ASSERT(strstr(v.why, "checksum") != NULL);
	/* A broken verifier accepts nothing more, even a valid frame. */
	ASSERT_INT_EQ(sqlitewal_verify_frame(&v, wal + 32), -1);
	/* SQLite agrees: it stops at the same frame. */
	ASSERT_INT_EQ(sqlite_rows(img, imglen, wal, len), 3);
	wal[32 + 3 * fsz + 24 + 100] ^= 0x40;

	/* A changed salt in frame 5's header. */
	wal[32 + 5 * fsz + 9] ^= 1;
	sqlitewal_verifier_init(&v, &h);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&v, wal + 32, len - 32), 5 * fsz);
	ASSERT(strstr(v.why, "salt") != NULL);
	ASSERT_INT_EQ(sqlite_rows(img, imglen, wal, len), 5);
	wal[32 + 5 * fsz + 9] ^= 1;

	/* A changed checksum field in frame 0's header. */
	wal[32 + 16] ^= 1;
	sqlitewal_verifier_init(&v, &h);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&v, wal + 32, len - 32), 0);
	ASSERT_INT_EQ(v.commit_end, 32);
	ASSERT_INT_EQ(v.commit_size, 0);
	wal[32 + 16] ^= 1;

	/* A header byte: the header checksum catches it. */
	wal[13] ^= 1;
	ASSERT_INT_EQ(sqlitewal_hdr_parse(wal, len, &h, errbuf,
	    sizeof(errbuf)), -1);
	free(wal);
	free(img);
}

TEST(resume_and_partial_frames)
{
	char db_path[128], wal_path[140];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier a, b;
	uint8_t *wal;
	size_t len, fsz = sqlitewal_frame_size(4096);
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/resume.db", tmpdir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_wal_db(db_path, 4096);
	ASSERT(db != NULL);
	ASSERT_INT_EQ(write_rows(db, 8, 2, 1500), 0);
	wal = slurp(wal_path, &len);
	sqlite3_close(db);
	ASSERT(wal != NULL);
	ASSERT_INT_EQ(sqlitewal_hdr_parse(wal, len, &h, errbuf,
	    sizeof(errbuf)), 0);
	size_t nfr = (len - 32) / fsz, half = nfr / 2;

	/* Walk half, then resume from that point with its checksum. */
	sqlitewal_verifier_init(&a, &h);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&a, wal + 32, half * fsz + 100),
	    half * fsz);
	sqlitewal_verifier_resume(&b, &h, a.valid_end, a.ck[0], a.ck[1]);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&b, wal + a.valid_end,
	    len - a.valid_end), len - a.valid_end);
	ASSERT_INT_EQ(b.valid_end, len);
	ASSERT_INT_EQ(b.commit_end, len);
	ASSERT_INT_EQ(b.nframes, nfr - half);

	/* Resuming from a wrong checksum fails at once. */
	sqlitewal_verifier_resume(&b, &h, a.valid_end, a.ck[0] + 1, a.ck[1]);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&b, wal + a.valid_end,
	    len - a.valid_end), 0);
	ASSERT(b.broken);
	free(wal);
}

/*
 * The file walk reads many frames at a time: across its chunk boundaries,
 * with a LIMIT inside a chunk, and with a bad frame in a later chunk, it
 * ends exactly where the frame-by-frame walk over memory ends.
 */
TEST(verify_fd_across_chunks)
{
	char db_path[128], wal_path[140];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier m, f;
	uint8_t *wal;
	size_t len, fsz = sqlitewal_frame_size(4096);
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/chunks.db", tmpdir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_wal_db(db_path, 4096);
	ASSERT(db != NULL);
	/* About 200 frames: more than three chunks of 256 KiB. */
	ASSERT_INT_EQ(write_rows(db, 40, 5, 3000), 0);
	wal = slurp(wal_path, &len);
	sqlite3_close(db);
	ASSERT(wal != NULL);
	size_t nfr = (len - 32) / fsz;
	ASSERT(nfr > 3 * (256 * 1024 / fsz));
	ASSERT_INT_EQ(sqlitewal_hdr_parse(wal, len, &h, errbuf,
	    sizeof(errbuf)), 0);
	/* The close removed the -wal: walk a copy of it. */
	snprintf(wal_path, sizeof(wal_path), "%s/chunks.wal", tmpdir);
	ASSERT_INT_EQ(spit(wal_path, wal, len), 0);
	int fd = open(wal_path, O_RDONLY);
	ASSERT(fd >= 0);

	sqlitewal_verifier_init(&m, &h);
	(void)sqlitewal_verify_buf(&m, wal + 32, len - 32);
	sqlitewal_verifier_init(&f, &h);
	ASSERT_INT_EQ(sqlitewal_verify_fd(&f, fd), 0);
	ASSERT_INT_EQ(f.valid_end, len);
	ASSERT_INT_EQ(f.commit_end, m.commit_end);
	ASSERT_INT_EQ(f.nframes, nfr);
	ASSERT_INT_EQ(f.ck[0], m.ck[0]);
	ASSERT_INT_EQ(f.ck[1], m.ck[1]);

	/* A limit in the middle of the second chunk, not on a frame end. */
	uint64_t limit = 32 + (uint64_t)(90 * fsz) + fsz / 2;
	sqlitewal_verifier_init(&f, &h);
	ASSERT_INT_EQ(sqlitewal_verify_fd_upto(&f, fd, limit), 0);
	ASSERT_INT_EQ(f.valid_end, 32 + 90 * fsz);
	ASSERT_INT_EQ(f.nframes, 90);

	/* A changed byte in frame 150's page: the walk stops before it. */
	uint8_t x;
	off_t bad = (off_t)(32 + 150 * fsz + 24 + 100);
	ASSERT_INT_EQ(pread(fd, &x, 1, bad), 1);
	close(fd);
	fd = open(wal_path, O_RDWR);
	ASSERT(fd >= 0);
	x ^= 0x40;
	ASSERT_INT_EQ(pwrite(fd, &x, 1, bad), 1);
	sqlitewal_verifier_init(&f, &h);
	ASSERT_INT_EQ(sqlitewal_verify_fd(&f, fd), 0);
	ASSERT(f.broken);
	ASSERT_INT_EQ(f.valid_end, 32 + 150 * fsz);
	ASSERT(f.commit_end <= f.valid_end);
	close(fd);
	free(wal);
}

TEST(uncommitted_tail)
{
	char db_path[128], wal_path[140];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	uint8_t *wal;
	size_t len;
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/spill.db", tmpdir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_wal_db(db_path, 4096);
	ASSERT(db != NULL);
	ASSERT_INT_EQ(write_rows(db, 1, 1, 10), 0);
	/* A big transaction spills uncommitted frames into the WAL. */
	ASSERT_INT_EQ(exec(db, "PRAGMA cache_size=10; BEGIN; "
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 200) INSERT INTO t(v) SELECT randomblob(3000) FROM c"),
	    0);
	ASSERT_INT_EQ(sqlitewal_verify_file(wal_path, &h, &v, errbuf,
	    sizeof(errbuf)), 0);
	wal = slurp(wal_path, &len);
	ASSERT_INT_EQ(exec(db, "COMMIT"), 0);
	sqlite3_close(db);
	ASSERT(wal != NULL);
	ASSERT(!v.broken);
	ASSERT_INT_EQ(v.valid_end, len);
	ASSERT(v.commit_end < v.valid_end);
	ASSERT(v.commit_end > 32);
	ASSERT_INT_EQ(v.commit_size, 2);
	free(wal);
}

TEST(verify_file_partial_frame)
{
	char db_path[128], wal_path[140];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	size_t fsz = sqlitewal_frame_size(4096);
	struct stat st;
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/partial.db", tmpdir);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_wal_db(db_path, 4096);
	ASSERT(db != NULL);
	ASSERT_INT_EQ(write_rows(db, 3, 1, 10), 0);
	sqlite3_close_v2(db);
	/* Closing deletes the WAL: make one again and keep it open. */
	db = NULL;
	ASSERT_INT_EQ(sqlite3_open(db_path, &db), SQLITE_OK);
	ASSERT_INT_EQ(exec(db, "PRAGMA wal_autocheckpoint=0"), 0);
	ASSERT_INT_EQ(write_rows(db, 3, 1, 10), 0);
	ASSERT_INT_EQ(stat(wal_path, &st), 0);
	ASSERT_INT_EQ(truncate(wal_path, st.st_size - 5), 0);
	ASSERT_INT_EQ(sqlitewal_verify_file(wal_path, &h, &v, errbuf,
	    sizeof(errbuf)), 0);
	ASSERT_INT_EQ(v.valid_end, 32 + 2 * fsz);
	ASSERT_INT_EQ(v.commit_end, 32 + 2 * fsz);
	ASSERT(!v.broken);
	sqlite3_close(db);

	ASSERT_INT_EQ(sqlitewal_verify_file("/nonexistent/x-wal", &h, &v,
	    errbuf, sizeof(errbuf)), -1);
	ASSERT_INT_EQ(errno, ENOENT);
}

/* Builds a big-endian-checksum WAL by hand with the reference checksum. */
TEST(big_endian_wal)
{
	uint8_t buf[32 + 3 * (24 + 512)];
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	uint32_t s1 = 0, s2 = 0;

	memset(buf, 0, sizeof(buf));
	sqlitewal_put32(buf, SQLITEWAL_MAGIC_BE);
	sqlitewal_put32(buf + 4, SQLITEWAL_VERSION);
	sqlitewal_put32(buf + 8, 512);
	sqlitewal_put32(buf + 16, 0xdeadbeef);
	sqlitewal_put32(buf + 20, 0x01020304);
	ref_cksum(1, buf, 24, &s1, &s2);
	sqlitewal_put32(buf + 24, s1);
	sqlitewal_put32(buf + 28, s2);
	for (int i = 0; i < 3; i++) {
		uint8_t *f = buf + 32 + i * (24 + 512);
		sqlitewal_put32(f, (uint32_t)i + 1);
		sqlitewal_put32(f + 4, i == 2 ? 3 : 0);
		memcpy(f + 8, buf + 16, 8);
		for (int k = 0; k < 512; k++)
			f[24 + k] = (uint8_t)(k ^ i);
		ref_cksum(1, f, 8, &s1, &s2);
		ref_cksum(1, f + 24, 512, &s1, &s2);
		sqlitewal_put32(f + 16, s1);
		sqlitewal_put32(f + 20, s2);
	}
	ASSERT_INT_EQ(sqlitewal_hdr_parse(buf, sizeof(buf), &h, errbuf,
	    sizeof(errbuf)), 0);
	ASSERT(h.big_endian);
	sqlitewal_verifier_init(&v, &h);
	ASSERT_INT_EQ(sqlitewal_verify_buf(&v, buf + 32, sizeof(buf) - 32),
	    sizeof(buf) - 32);
	ASSERT_INT_EQ(v.commit_end, sizeof(buf));
	ASSERT_INT_EQ(v.commit_size, 3);

	/* The same bytes read little-endian do not verify. */
	sqlitewal_put32(buf, SQLITEWAL_MAGIC_LE);
	ASSERT_INT_EQ(sqlitewal_hdr_parse(buf, sizeof(buf), &h, errbuf,
	    sizeof(errbuf)), -1);
}

int
main(void)
{
	tmp_setup();
	RUN(known_header);
	RUN(header_rejects);
	RUN(checksum_matches_reference);
	RUN(real_wal_4096);
	RUN(real_wal_512);
	RUN(real_wal_65536);
	RUN(corruption_detected);
	RUN(resume_and_partial_frames);
	RUN(verify_fd_across_chunks);
	RUN(uncommitted_tail);
	RUN(verify_file_partial_frame);
	RUN(big_endian_wal);
	tmp_cleanup();
	return TEST_DONE();
}
