/*
 * lz4frame: streaming LZ4 frame compression and decompression for replica
 * objects (format doc §1.4).
 *
 * The writer produces exactly what Litestream v0.3.13 writes: one frame
 * with FLG 0x64 / BD 0x70 (version 1, independent blocks, no block
 * checksum, no content size, content checksum on, 4 MiB blocks), the
 * default fast level, then the end mark and the XXH32 of the content.
 * Compressed bytes go to a sink callback as they are produced.
 *
 * The reader accepts any valid LZ4 frame (linked blocks, content size,
 * 64 KiB..4 MiB blocks, with or without content or block checksums, and
 * concatenated or skippable frames) pulled from a source callback, and
 * fails on corrupt or truncated input with a message saying why.
 *
 * Both use fixed buffers (at most about 8 MiB each for 4 MiB blocks):
 * memory never depends on how much data flows through.
 */
#ifndef WALSHIP_LZ4FRAME_H
#define WALSHIP_LZ4FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lz4frame_writer;
struct lz4frame_reader;

/*
 * A writer sending its frame to SINK, which consumes LEN bytes of BUF and
 * returns 0, or -1 with errno set (SINK may be NULL until a reset gives
 * one). NULL with errno ENOMEM.
 */
struct lz4frame_writer *lz4frame_writer_new(
    int (*sink)(void *arg, const void *buf, size_t len), void *arg);

/*
 * Compresses LEN bytes. The frame header goes out with the first call.
 * Returns 0, or -1 with errno (the sink's, or EIO for a compressor error);
 * after a failure every later call fails too.
 */
int lz4frame_write(struct lz4frame_writer *w, const void *buf, size_t len);

/*
 * Starts a new frame into SINK, keeping liblz4's context and the buffers
 * (a 4 MiB block buffer among them) that a new writer would allocate and
 * fault in again.
 */
void lz4frame_writer_reset(struct lz4frame_writer *w,
    int (*sink)(void *arg, const void *buf, size_t len), void *arg);

/* Flushes the last block and writes the end mark and content checksum. */
int lz4frame_writer_finish(struct lz4frame_writer *w);

/* Uncompressed bytes written and compressed bytes sent so far. */
void lz4frame_writer_stats(const struct lz4frame_writer *w, uint64_t *in,
    uint64_t *out);

/* Why the last call failed ("" if none). */
const char *lz4frame_writer_error(const struct lz4frame_writer *w);

void lz4frame_writer_free(struct lz4frame_writer *w);

/*
 * A reader pulling compressed bytes from SRC, which reads up to LEN bytes
 * into BUF and returns how many, 0 at the end, or -1 with errno set.
 * NULL with errno ENOMEM.
 */
struct lz4frame_reader *lz4frame_reader_new(
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg);

/* Starts over with a new source, keeping the buffers. */
void lz4frame_reader_reset(struct lz4frame_reader *r,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg);

/*
 * Reads up to LEN (> 0) decompressed bytes. Returns the count, 0 once every
 * frame of the source was decoded and verified, or -1: errno EBADMSG for
 * corrupt, truncated or empty input, the source's errno for a read error.
 * lz4frame_reader_error() then says what went wrong.
 */
ssize_t lz4frame_read(struct lz4frame_reader *r, void *buf, size_t len);

/* Compressed bytes consumed and decompressed bytes returned so far. */
void lz4frame_reader_stats(const struct lz4frame_reader *r, uint64_t *in,
    uint64_t *out);

const char *lz4frame_reader_error(const struct lz4frame_reader *r);

void lz4frame_reader_free(struct lz4frame_reader *r);

#endif

/*
 * This file shares its name with liblz4's <lz4frame.h>, and replica/ is on
 * the include path, so <lz4frame.h> finds this file first. lz4frame.c
 * defines LZ4FRAME_WANT_LIBLZ4 and includes <lz4frame.h> through the
 * search path, which brings in liblz4's header right after this one.
 */
#ifdef LZ4FRAME_WANT_LIBLZ4
#include_next <lz4frame.h>
#endif
