/* LZ4 frame writer and reader of replica/lz4frame.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* This module's API and liblz4's, to make frames of every kind. */
#define LZ4FRAME_WANT_LIBLZ4
#include <lz4frame.h>

#include "test.h"

#define MIB (1024 * 1024)

#include "membuf.h"

static ssize_t
failing_source(void *arg, void *out, size_t len)
{
	(void)arg;
	(void)out;
	(void)len;
	errno = EIO;
	return -1;
}

/* Compressible but not trivial: runs of a slowly changing pattern. */
static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		if (i % 64 == 0)
			x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)((x >> 16) + (i % 7 == 0 ? i : 0));
	}
}

/* Compresses DATA through the writer in pieces of PIECE bytes. */
static int
compress(const uint8_t *data, size_t n, size_t piece, struct buf *out)
{
	struct lz4frame_writer *w;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->fail_after = -1;
	if ((w = lz4frame_writer_new(buf_sink, out)) == NULL)
		return -1;
	for (size_t off = 0; off < n && rc == 0; off += piece)
		rc = lz4frame_write(w, data + off, n - off < piece ? n - off :
		    piece);
	if (rc == 0)
		rc = lz4frame_writer_finish(w);
	uint64_t in, cout;
	lz4frame_writer_stats(w, &in, &cout);
	if (rc == 0 && (in != n || cout != out->len))
		rc = -1;
	lz4frame_writer_free(w);
	return rc;
}

/* Decompresses IN with reads of RLEN bytes into OUT (malloc'd). */
static ssize_t
decompress(struct buf *in, size_t rlen, uint8_t **out, char *err,
    size_t errlen)
{
	struct lz4frame_reader *r = lz4frame_reader_new(buf_source, in);
	struct buf o = { 0 };
	uint8_t *tmp = malloc(rlen);
	ssize_t n, total = 0;

	o.fail_after = -1;
	in->pos = 0;
	while ((n = lz4frame_read(r, tmp, rlen)) > 0) {
		buf_sink(&o, tmp, (size_t)n);
		total += n;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s", lz4frame_reader_error(r));
		total = -1;
		free(o.p);
		o.p = NULL;
	}
	free(tmp);
	lz4frame_reader_free(r);
	*out = o.p;
	return total;
}

/* Walks the blocks of a frame made by our writer; returns their count. */
static int
count_blocks(const struct buf *b, size_t *max_block)
{
	size_t off = 7;
	int n = 0;

	*max_block = 0;
	for (;;) {
		if (off + 4 > b->len)
			return -1;
		uint32_t sz = (uint32_t)b->p[off] | (uint32_t)b->p[off + 1] << 8 |
		    (uint32_t)b->p[off + 2] << 16 | (uint32_t)b->p[off + 3] << 24;
		off += 4;
		if (sz == 0)
			break;
		sz &= 0x7fffffff;
		if (sz > *max_block)
			*max_block = sz;
		off += sz;
		n++;
	}
	return off + 4 == b->len ? n : -1;	/* content checksum last */
}

TEST(header_bytes)
{
	static const uint8_t hdr[7] = { 0x04, 0x22, 0x4d, 0x18, 0x64, 0x70,
		0xb9 };
	/* Empty content: end mark, then XXH32("") = 0x02cc5d05. */
	static const uint8_t empty[15] = { 0x04, 0x22, 0x4d, 0x18, 0x64, 0x70,
		0xb9, 0, 0, 0, 0, 0x05, 0x5d, 0xcc, 0x02 };
	uint8_t one = 'x';
	struct buf b;

	ASSERT_INT_EQ(compress(NULL, 0, 1, &b), 0);
	ASSERT_INT_EQ(b.len, sizeof(empty));
	ASSERT_MEM_EQ(b.p, empty, sizeof(empty));
	free(b.p);

	ASSERT_INT_EQ(compress(&one, 1, 1, &b), 0);
	ASSERT(b.len > 7);
	ASSERT_MEM_EQ(b.p, hdr, 7);
	free(b.p);
}

static void
round_trip(size_t n, size_t piece, size_t rlen, int want_blocks)
{
	uint8_t *data = malloc(n ? n : 1), *back = NULL;
	char err[200];
	size_t maxb;
	struct buf b;

	fill(data, n, (uint32_t)n);
	ASSERT_INT_EQ(compress(data, n, piece, &b), 0);
	ASSERT(b.len >= 15);
	ASSERT_INT_EQ(b.p[4], 0x64);
	ASSERT_INT_EQ(b.p[5], 0x70);
	ASSERT_INT_EQ(count_blocks(&b, &maxb), want_blocks);
	ASSERT(maxb <= 4 * MIB);
	/* The sink never gets more than one block plus the frame end. */
	ASSERT(b.max_write <= 4 * MIB + 16);
	ASSERT_INT_EQ(decompress(&b, rlen, &back, err, sizeof(err)), n);
	if (n > 0)
		ASSERT_MEM_EQ(back, data, n);
	free(back);
	free(b.p);
	free(data);
}

TEST(round_trips)
{
	round_trip(0, 1, 100, 0);
	round_trip(1, 1, 1, 1);
	round_trip(4 * MIB - 1, 65536, 65536, 1);
	round_trip(4 * MIB, 4 * MIB, 4096, 1);
	round_trip(4 * MIB + 1, 1000003, 65536, 2);
	round_trip(9 * MIB, 9 * MIB, 5 * MIB, 3);
	round_trip(100000, 7, 13, 1);
}

/* Incompressible data goes out as stored blocks and still round-trips. */
/* One writer, frame after frame: each whole, even after a failed one. */
TEST(reset_reuses_the_writer)
{
	size_t n = 5 * MIB + 777;
	uint8_t *d = malloc(n), *got;
	struct buf a = { .fail_after = -1 }, b = { .fail_after = 1 },
	    c = { .fail_after = -1 };
	char err[160];
	uint64_t in, out;

	ASSERT(d != NULL);
	fill(d, n, 7);
	struct lz4frame_writer *w = lz4frame_writer_new(NULL, NULL);
	ASSERT(w != NULL);
	lz4frame_writer_reset(w, buf_sink, &a);
	ASSERT_INT_EQ(lz4frame_write(w, d, n), 0);
	ASSERT_INT_EQ(lz4frame_writer_finish(w), 0);
	/* The next frame's sink takes its header, then fails: mid-frame. */
	lz4frame_writer_reset(w, buf_sink, &b);
	ASSERT_INT_EQ(lz4frame_write(w, d, n), -1);
	ASSERT_INT_EQ(errno, ENOSPC);
	lz4frame_writer_reset(w, buf_sink, &c);
	ASSERT_INT_EQ(lz4frame_write(w, d + 100, n - 100), 0);
	ASSERT_INT_EQ(lz4frame_writer_finish(w), 0);
	lz4frame_writer_stats(w, &in, &out);
	ASSERT_INT_EQ(in, n - 100);
	ASSERT_INT_EQ(out, c.len);
	lz4frame_writer_free(w);

	ASSERT_INT_EQ(decompress(&a, 65536, &got, err, sizeof(err)), n);
	ASSERT_MEM_EQ(got, d, n);
	free(got);
	ASSERT_INT_EQ(decompress(&c, 65536, &got, err, sizeof(err)), n - 100);
	ASSERT_MEM_EQ(got, d + 100, n - 100);
	free(got);
	free(a.p);
	free(b.p);
	free(c.p);
	free(d);
}

TEST(incompressible)
{
	size_t n = 5 * MIB;
	uint8_t *data = malloc(n), *back = NULL;
	char err[200];
	struct buf b;
	int fd = open("/dev/urandom", O_RDONLY);

	ASSERT(fd >= 0);
	ASSERT_INT_EQ(read(fd, data, n), n);
	close(fd);
	ASSERT_INT_EQ(compress(data, n, 1 << 20, &b), 0);
	ASSERT_INT_EQ(decompress(&b, 65536, &back, err, sizeof(err)), n);
	ASSERT_MEM_EQ(back, data, n);
	free(back);
	free(b.p);
	free(data);
}

/* A frame made by liblz4 with PREFS (every variant a reader must take). */
static void
reads_variant(const LZ4F_preferences_t *prefs, size_t n, int flg)
{
	uint8_t *data = malloc(n), *back = NULL;
	size_t cap = LZ4F_compressFrameBound(n, prefs);
	struct buf b = { 0 };
	char err[200];

	fill(data, n, 7);
	b.p = malloc(cap);
	b.len = LZ4F_compressFrame(b.p, cap, data, n, prefs);
	ASSERT(!LZ4F_isError(b.len));
	ASSERT_INT_EQ(b.p[4], flg);
	b.step = 777;	/* a source returning short reads */
	if (decompress(&b, 10000, &back, err, sizeof(err)) != (ssize_t)n)
		TEST_FAIL_("FLG 0x%02x: %s", flg, err);
	ASSERT_MEM_EQ(back, data, n);
	free(back);
	free(b.p);
	free(data);
}

TEST(reads_any_valid_frame)
{
	LZ4F_preferences_t p;

	memset(&p, 0, sizeof(p));
	p.frameInfo.blockSizeID = LZ4F_max64KB;
	p.frameInfo.blockMode = LZ4F_blockLinked;
	reads_variant(&p, 300000, 0x40);		/* linked, no checksums */
	p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	p.frameInfo.contentSize = 300000;
	reads_variant(&p, 300000, 0x4c);		/* content size */
	p.frameInfo.blockSizeID = LZ4F_max256KB;
	p.frameInfo.blockMode = LZ4F_blockIndependent;
	p.frameInfo.contentSize = 0;
	p.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	reads_variant(&p, 1 << 20, 0x74);		/* block checksums */
	p.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
	p.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
	p.frameInfo.blockSizeID = LZ4F_max1MB;
	reads_variant(&p, 3 << 20, 0x60);		/* no content checksum */
	p.compressionLevel = 9;
	p.frameInfo.blockSizeID = LZ4F_max4MB;
	p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	reads_variant(&p, 5 << 20, 0x64);		/* HC level 9 */
}

TEST(concatenated_and_skippable)
{
	static const uint8_t skip[12] = { 0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0,
		1, 2, 3, 4 };
	uint8_t a[1000], c[2000], *back = NULL;
	struct buf fa, fc, all = { 0 };
	char err[200];

	fill(a, sizeof(a), 1);
	fill(c, sizeof(c), 2);
	ASSERT_INT_EQ(compress(a, sizeof(a), 100, &fa), 0);
	ASSERT_INT_EQ(compress(c, sizeof(c), 100, &fc), 0);
	all.fail_after = -1;
	buf_sink(&all, fa.p, fa.len);
	buf_sink(&all, skip, sizeof(skip));
	buf_sink(&all, fc.p, fc.len);
	ASSERT_INT_EQ(decompress(&all, 512, &back, err, sizeof(err)), 3000);
	ASSERT_MEM_EQ(back, a, 1000);
	ASSERT_MEM_EQ(back + 1000, c, 2000);
	free(back);
	free(fa.p);
	free(fc.p);
	free(all.p);
}

TEST(truncated_rejected)
{
	uint8_t data[200000], *back = NULL;
	struct buf b;
	char err[200];

	fill(data, sizeof(data), 3);
	ASSERT_INT_EQ(compress(data, sizeof(data), sizeof(data), &b), 0);
	size_t full = b.len;
	/* Every cut in the header and end, and a spread through the body. */
	for (size_t cut = 0; cut < full; cut += (cut < 20 || cut > full - 20) ?
	    1 : 997) {
		b.len = cut;
		ssize_t n = decompress(&b, 4096, &back, err, sizeof(err));
		if (n != -1)
			TEST_FAIL_("cut at %zu of %zu accepted (%zd)", cut, full,
			    n);
		ASSERT_INT_EQ(errno, EBADMSG);
		ASSERT(strstr(err, "lz4: ") == err);
	}
	b.len = 0;
	ASSERT_INT_EQ(decompress(&b, 4096, &back, err, sizeof(err)), -1);
	ASSERT(strstr(err, "empty") != NULL);
	b.len = full - 1;
	ASSERT_INT_EQ(decompress(&b, 4096, &back, err, sizeof(err)), -1);
	ASSERT(strstr(err, "truncated") != NULL);
	b.len = full;
	ASSERT_INT_EQ(decompress(&b, 4096, &back, err, sizeof(err)),
	    sizeof(data));
	free(back);
	free(b.p);
}

TEST(corrupt_rejected)
{
	uint8_t data[300000], *back = NULL;
	struct buf b;
	char err[200];

	fill(data, sizeof(data), 4);
	ASSERT_INT_EQ(compress(data, sizeof(data), 4096, &b), 0);
	/* A flipped bit anywhere is caught (header, block or checksum). */
	for (size_t off = 0; off < b.len; off += (off < 16 ? 1 : 333)) {
		b.p[off] ^= 0x10;
		ssize_t n = decompress(&b, 65536, &back, err, sizeof(err));
		b.p[off] ^= 0x10;
		if (n != -1) {
			free(back);
			back = NULL;
			TEST_FAIL_("flip at %zu of %zu accepted", off, b.len);
		}
	}
	b.p[b.len - 2] ^= 1;	/* content checksum */
	ASSERT_INT_EQ(decompress(&b, 65536, &back, err, sizeof(err)), -1);
	ASSERT(strstr(err, "orrupt") != NULL);
	b.p[b.len - 2] ^= 1;

	/* Trailing garbage after a valid frame. */
	b.fail_after = -1;
	buf_sink(&b, "garbage!", 8);
	ASSERT_INT_EQ(decompress(&b, 65536, &back, err, sizeof(err)), -1);
	ASSERT_INT_EQ(errno, EBADMSG);
	free(b.p);
}

TEST(errors_propagate)
{
	struct lz4frame_writer *w;
	struct lz4frame_reader *r;
	struct buf b = { 0 };
	uint8_t data[1 << 16], out[100];

	fill(data, sizeof(data), 5);
	/* The sink's errno comes back, and the writer stays failed. */
	b.fail_after = 0;
	w = lz4frame_writer_new(buf_sink, &b);
	ASSERT(w != NULL);
	ASSERT_INT_EQ(lz4frame_write(w, data, sizeof(data)), -1);
	ASSERT_INT_EQ(errno, ENOSPC);
	ASSERT(strstr(lz4frame_writer_error(w), "No space") != NULL);
	b.fail_after = -1;
	ASSERT_INT_EQ(lz4frame_writer_finish(w), -1);
	lz4frame_writer_free(w);
	free(b.p);

	r = lz4frame_reader_new(failing_source, NULL);
	ASSERT(r != NULL);
	ASSERT_INT_EQ(lz4frame_read(r, out, sizeof(out)), -1);
	ASSERT_INT_EQ(errno, EIO);
	ASSERT(strstr(lz4frame_reader_error(r), "read") != NULL);
	ASSERT_INT_EQ(lz4frame_read(r, out, sizeof(out)), -1);

	/* A reset reader works again with a new source. */
	ASSERT_INT_EQ(compress(data, 100, 100, &b), 0);
	lz4frame_reader_reset(r, buf_source, &b);
	ASSERT_INT_EQ(lz4frame_read(r, out, sizeof(out)), 100);
	ASSERT_MEM_EQ(out, data, 100);
	ASSERT_INT_EQ(lz4frame_read(r, out, sizeof(out)), 0);
	ASSERT_INT_EQ(lz4frame_read(r, out, 0), -1);
	lz4frame_reader_free(r);
	free(b.p);
	lz4frame_writer_free(NULL);
	lz4frame_reader_free(NULL);
}

/* 48 MiB through a file: heap use stays flat (writer and reader). */
struct fdio {
	int fd;
	size_t peak;
	size_t base;
};

static size_t
heap_now(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void
note_peak(struct fdio *f)
{
	size_t h = heap_now();
	if (h > f->base && h - f->base > f->peak)
		f->peak = h - f->base;
}

static int
fd_sink(void *arg, const void *buf, size_t len)
{
	struct fdio *f = arg;
	note_peak(f);
	return write(f->fd, buf, len) == (ssize_t)len ? 0 : -1;
}

static ssize_t
fd_source(void *arg, void *buf, size_t len)
{
	struct fdio *f = arg;
	note_peak(f);
	return read(f->fd, buf, len);
}

TEST(streaming_memory_is_flat)
{
	char path[] = "/tmp/walship-lz4frame.XXXXXX";
	static uint8_t chunk[1 << 20], back[1 << 16];
	struct fdio f = { 0 };
	size_t total = 48 * MIB, got = 0;
	ssize_t n;

	f.fd = mkstemp(path);
	ASSERT(f.fd >= 0);
	unlink(path);
	f.base = heap_now();
	struct lz4frame_writer *w = lz4frame_writer_new(fd_sink, &f);
	for (size_t i = 0; i < total / sizeof(chunk); i++) {
		fill(chunk, sizeof(chunk), (uint32_t)i);
		ASSERT_INT_EQ(lz4frame_write(w, chunk, sizeof(chunk)), 0);
	}
	ASSERT_INT_EQ(lz4frame_writer_finish(w), 0);
	lz4frame_writer_free(w);
	ASSERT(lseek(f.fd, 0, SEEK_SET) == 0);
	struct lz4frame_reader *r = lz4frame_reader_new(fd_source, &f);
	int same = 1;
	while ((n = lz4frame_read(r, back, sizeof(back))) > 0) {
		size_t i = got / sizeof(chunk), o = got % sizeof(chunk);
		if (o == 0)
			fill(chunk, sizeof(chunk), (uint32_t)i);
		if (memcmp(back, chunk + o, (size_t)n) != 0)
			same = 0;
		got += (size_t)n;
	}
	ASSERT_INT_EQ(n, 0);
	lz4frame_reader_free(r);
	close(f.fd);
	ASSERT(same);
	ASSERT_INT_EQ(got, total);
	/* About 4 MiB of blocks each side, never the 48 MiB of content. */
	if (f.peak > 20 * MIB)
		TEST_FAIL_("heap grew by %zu bytes", f.peak);
}

/* The reference lz4 CLI decodes our frames (skipped if it is missing). */
TEST(lz4_cli_decodes)
{
	char dir[] = "/tmp/walship-lz4cli.XXXXXX", cmd[512], p[128];
	size_t n = 6 * MIB, len;
	uint8_t *data = malloc(n);
	struct buf b;
	FILE *f;

	if (system("command -v lz4 >/dev/null 2>&1") != 0) {
		printf("  (lz4 CLI not installed; skipped)\n");
		free(data);
		return;
	}
	ASSERT(mkdtemp(dir) != NULL);
	fill(data, n, 9);
	ASSERT_INT_EQ(compress(data, n, 12345, &b), 0);
	snprintf(p, sizeof(p), "%s/x.lz4", dir);
	f = fopen(p, "wb");
	ASSERT(f != NULL);
	ASSERT_INT_EQ(fwrite(b.p, 1, b.len, f), b.len);
	fclose(f);
	free(b.p);
	snprintf(cmd, sizeof(cmd), "lz4 -q -d -c %s/x.lz4 > %s/x && "
	    "lz4 -q -t %s/x.lz4", dir, dir, dir);
	ASSERT_INT_EQ(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/x", dir);
	f = fopen(p, "rb");
	ASSERT(f != NULL);
	uint8_t *back = malloc(n + 1);
	len = fread(back, 1, n + 1, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_INT_EQ(system(cmd), 0);
	ASSERT_INT_EQ(len, n);
	ASSERT_MEM_EQ(back, data, n);
	free(back);
	free(data);
}

int
main(void)
{
	RUN(header_bytes);
	RUN(round_trips);
	RUN(incompressible);
	RUN(reset_reuses_the_writer);
	RUN(reads_any_valid_frame);
	RUN(concatenated_and_skippable);
	RUN(truncated_rejected);
	RUN(corrupt_rejected);
	RUN(errors_propagate);
	RUN(streaming_memory_is_flat);
	RUN(lz4_cli_decodes);
	return TEST_DONE();
}
