/* The decompressing thread of replica/lz4pipe.c, over real LZ4 frames. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz4frame.h"
#include "lz4pipe.h"
#include "membuf.h"
#include "test.h"

#define MIB (1024 * 1024)

/* Several 4 MiB blocks of compressible, position-dependent bytes. */
static uint8_t *
make_data(size_t n)
{
	uint8_t *d = malloc(n);

	for (size_t i = 0; d != NULL && i < n; i++)
		d[i] = (uint8_t)((i / 64) * 31 + (i % 7 == 0 ? i >> 13 : 0));
	return d;
}

static int
compress_into(struct buf *z, const uint8_t *d, size_t n)
{
	struct lz4frame_writer *w = lz4frame_writer_new(buf_sink, z);
	int rc = w == NULL || lz4frame_write(w, d, n) < 0 ||
	    lz4frame_writer_finish(w) < 0 ? -1 : 0;

	lz4frame_writer_free(w);
	return rc;
}

/* Reads the whole pipe into OUT; returns the last lz4pipe_next result. */
static ssize_t
drain(struct lz4pipe *p, uint8_t *out, size_t cap, size_t *got,
    size_t *largest)
{
	const void *data;
	ssize_t n;

	*got = 0;
	*largest = 0;
	while ((n = lz4pipe_next(p, &data)) > 0) {
		if (*got + (size_t)n > cap)
			return -100;
		memcpy(out + *got, data, (size_t)n);
		*got += (size_t)n;
		if ((size_t)n > *largest)
			*largest = (size_t)n;
	}
	return n;
}

TEST(delivers_every_byte_in_order)
{
	size_t n = 13 * MIB + 12345, got, largest;
	uint8_t *d = make_data(n), *out = malloc(n);
	struct buf z = { .fail_after = -1 };
	struct lz4frame_reader *lz;
	struct lz4pipe *p;
	const void *data;

	ASSERT(d != NULL && out != NULL);
	ASSERT_INT_EQ(compress_into(&z, d, n), 0);
	z.step = 7000;
	lz = lz4frame_reader_new(buf_source, &z);
	ASSERT((p = lz4pipe_start(lz)) != NULL);
	ASSERT_INT_EQ(drain(p, out, n, &got, &largest), 0);
	ASSERT_INT_EQ(got, n);
	ASSERT_MEM_EQ(out, d, n);
	/* Whole 4 MiB blocks come out as one chunk each. */
	ASSERT_INT_EQ(largest, 4 * MIB);
	/* The end stays the end. */
	ASSERT_INT_EQ(lz4pipe_next(p, &data), 0);
	lz4pipe_stop(p);
	lz4frame_reader_free(lz);
	free(z.p);
	free(out);
	free(d);
}

TEST(truncated_object_fails_after_what_it_had)
{
	size_t n = 9 * MIB, got, largest;
	uint8_t *d = make_data(n), *out = malloc(n);
	struct buf z = { .fail_after = -1 };
	struct lz4frame_reader *lz;
	struct lz4pipe *p;

	ASSERT(d != NULL && out != NULL);
	ASSERT_INT_EQ(compress_into(&z, d, n), 0);
	z.len -= 10;		/* into the last block */
	lz = lz4frame_reader_new(buf_source, &z);
	ASSERT((p = lz4pipe_start(lz)) != NULL);
	ASSERT_INT_EQ(drain(p, out, n, &got, &largest), -1);
	ASSERT_INT_EQ(errno, EBADMSG);
	ASSERT_INT_EQ(got, 8 * MIB);
	ASSERT_MEM_EQ(out, d, got);
	lz4pipe_stop(p);
	ASSERT(strstr(lz4frame_reader_error(lz), "truncated") != NULL);
	lz4frame_reader_free(lz);
	free(z.p);
	free(out);
	free(d);
}

TEST(bad_content_checksum_fails)
{
	size_t n = 5 * MIB, got, largest;
	uint8_t *d = make_data(n), *out = malloc(n);
	struct buf z = { .fail_after = -1 };
	struct lz4frame_reader *lz;
	struct lz4pipe *p;

	ASSERT(d != NULL && out != NULL);
	ASSERT_INT_EQ(compress_into(&z, d, n), 0);
	z.p[z.len - 1] ^= 0x5a;	/* the frame's content checksum */
	lz = lz4frame_reader_new(buf_source, &z);
	ASSERT((p = lz4pipe_start(lz)) != NULL);
	ASSERT_INT_EQ(drain(p, out, n, &got, &largest), -1);
	lz4pipe_stop(p);
	ASSERT(strstr(lz4frame_reader_error(lz), "corrupt") != NULL);
	lz4frame_reader_free(lz);
	free(z.p);
	free(out);
	free(d);
}

/* A caller that gives up early must not wait for the whole object. */
TEST(stops_with_the_ring_full)
{
	size_t n = 40 * MIB;
	uint8_t *d = make_data(n);
	struct buf z = { .fail_after = -1 };
	struct lz4frame_reader *lz;
	struct lz4pipe *p;
	const void *data;

	ASSERT(d != NULL);
	ASSERT_INT_EQ(compress_into(&z, d, n), 0);
	lz = lz4frame_reader_new(buf_source, &z);
	ASSERT((p = lz4pipe_start(lz)) != NULL);
	ASSERT_INT_EQ(lz4pipe_next(p, &data), 4 * MIB);
	ASSERT_MEM_EQ(data, d, 4 * MIB);
	lz4pipe_stop(p);
	/* At most the ring and the chunk in hand were decompressed. */
	ASSERT(z.pos < z.len / 2);
	ASSERT((p = lz4pipe_start(lz)) != NULL);
	lz4pipe_stop(p);	/* before taking anything */
	lz4pipe_stop(NULL);
	lz4frame_reader_free(lz);
	free(z.p);
	free(d);
}

int
main(void)
{
	RUN(delivers_every_byte_in_order);
	RUN(truncated_object_fails_after_what_it_had);
	RUN(bad_content_checksum_fails);
	RUN(stops_with_the_ring_full);
	return TEST_DONE();
}
