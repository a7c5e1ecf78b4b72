/*
 * lz4frame: LZ4 frames through liblz4's frame API (see lz4frame.h).
 *
 * Writer: input is gathered into one block of LZ4FRAME_BLOCK bytes (4 MiB,
 * Litestream's block size), which goes to LZ4F_compressUpdate whole, with
 * autoFlush, so that it comes out as one block at once. liblz4 would gather
 * it itself, but into a buffer it allocates and zeroes again at every
 * frame's start (4 MiB of memset per segment in liblz4 1.9.4): ours stays
 * for the writer's life and only the part that input reached is ever
 * touched. Input that starts a block and fills it goes to liblz4 from the
 * caller's buffer, with no copy. The output buffer is sized with
 * LZ4F_compressBound for one block, so neither grows with input.
 *
 * Reader: compressed bytes are pulled into a fixed input buffer and handed
 * to LZ4F_decompress, which checks the header checksum, block sizes, block
 * checksums and the content checksum when present. A frame is complete
 * only when LZ4F_decompress says so (returns 0); a source that ends before
 * that is a truncated object. Bytes after a frame must form another valid
 * frame (LZ4 allows concatenation); anything else is corruption.
 */
/* Both this module's header and liblz4's (see the end of lz4frame.h). */
#define LZ4FRAME_WANT_LIBLZ4
#include <lz4frame.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LZ4FRAME_BLOCK (4 * 1024 * 1024)	/* LZ4F_max4MB */
#define LZ4FRAME_INBUF (64 * 1024)

struct lz4frame_writer {
	LZ4F_cctx *cctx;
	LZ4F_preferences_t prefs;
	int (*sink)(void *arg, const void *buf, size_t len);
	void *arg;
	uint8_t *out;
	size_t outcap;
	uint8_t *block;		/* LZ4FRAME_BLOCK bytes, BLEN of them used */
	size_t blen;
	bool started;
	bool finished;
	int failed;		/* errno of the first failure, 0 if none */
	uint64_t nin, nout;
	char err[128];
};

struct lz4frame_reader {
	LZ4F_dctx *dctx;
	ssize_t (*src)(void *arg, void *buf, size_t len);
	void *arg;
	uint8_t in[LZ4FRAME_INBUF];
	size_t in_pos, in_len;
	bool eof;		/* the source returned 0 */
	bool in_frame;		/* inside a frame: more input is needed */
	bool done;
	int failed;
	uint64_t nframes;
	uint64_t nin, nout;
	char err[160];
};

/* Litestream's parameters (format doc §1.4): FLG 0x64, BD 0x70. */
static void
litestream_prefs(LZ4F_preferences_t *p)
{
	memset(p, 0, sizeof(*p));
	p->frameInfo.blockSizeID = LZ4F_max4MB;
	p->frameInfo.blockMode = LZ4F_blockIndependent;
	p->frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	p->frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
	p->frameInfo.frameType = LZ4F_frame;
	p->frameInfo.contentSize = 0;
	p->compressionLevel = 0;
	/* Every update is a whole block (or the last one): see the top. */
	p->autoFlush = 1;
}

struct lz4frame_writer *
lz4frame_writer_new(int (*sink)(void *arg, const void *buf, size_t len),
    void *arg)
{
	struct lz4frame_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	litestream_prefs(&w->prefs);
	w->sink = sink;
	w->arg = arg;
	w->outcap = LZ4F_compressBound(LZ4FRAME_BLOCK, &w->prefs);
	if (w->outcap < LZ4F_HEADER_SIZE_MAX)
		w->outcap = LZ4F_HEADER_SIZE_MAX;
	if (LZ4F_isError(LZ4F_createCompressionContext(&w->cctx,
	    LZ4F_VERSION)) || (w->out = malloc(w->outcap)) == NULL ||
	    (w->block = malloc(LZ4FRAME_BLOCK)) == NULL) {
		lz4frame_writer_free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

static int
writer_fail(struct lz4frame_writer *w, int e, const char *what,
    const char *detail)
{
	snprintf(w->err, sizeof(w->err), "lz4: %s: %s", what, detail);
	w->failed = e;
	errno = e;
	return -1;
}

/* Sends N bytes of the output buffer to the sink. */
static int
writer_emit(struct lz4frame_writer *w, size_t n)
{
	if (n == 0)
		return 0;
	if (w->sink(w->arg, w->out, n) < 0) {
		int e = errno ? errno : EIO;
		return writer_fail(w, e, "write", strerror(e));
	}
	w->nout += n;
	return 0;
}

static int
writer_begin(struct lz4frame_writer *w)
{
	size_t n;

	if (w->started)
		return 0;
	w->started = true;
	n = LZ4F_compressBegin(w->cctx, w->out, w->outcap, &w->prefs);
	if (LZ4F_isError(n))
		return writer_fail(w, EIO, "compress", LZ4F_getErrorName(n));
	return writer_emit(w, n);
}

/* One block of LEN bytes (at most LZ4FRAME_BLOCK) to the sink. */
static int
compress_block(struct lz4frame_writer *w, const uint8_t *src, size_t len)
{
	size_t n = LZ4F_compressUpdate(w->cctx, w->out, w->outcap, src, len,
	    NULL);
	if (LZ4F_isError(n))
		return writer_fail(w, EIO, "compress", LZ4F_getErrorName(n));
	if (src == w->block)
		w->blen = 0;
	return writer_emit(w, n);
}

int
lz4frame_write(struct lz4frame_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (w->failed || w->finished) {
		errno = w->failed ? w->failed : EINVAL;
		return -1;
	}
	if (writer_begin(w) < 0)
		return -1;
	w->nin += len;
	while (len > 0) {
		if (w->blen == 0 && len >= LZ4FRAME_BLOCK) {
			if (compress_block(w, p, LZ4FRAME_BLOCK) < 0)
				return -1;
			p += LZ4FRAME_BLOCK;
			len -= LZ4FRAME_BLOCK;
			continue;
		}
		size_t take = LZ4FRAME_BLOCK - w->blen;
		if (take > len)
			take = len;
		memcpy(w->block + w->blen, p, take);
		w->blen += take;
		p += take;
		len -= take;
		if (w->blen == LZ4FRAME_BLOCK && compress_block(w, w->block,
		    w->blen) < 0)
			return -1;
	}
	return 0;
}

int
lz4frame_writer_finish(struct lz4frame_writer *w)
{
	size_t n;

	if (w->failed || w->finished) {
		errno = w->failed ? w->failed : EINVAL;
		return -1;
	}
	if (writer_begin(w) < 0)
		return -1;
	if (w->blen > 0 && compress_block(w, w->block, w->blen) < 0)
		return -1;
	n = LZ4F_compressEnd(w->cctx, w->out, w->outcap, NULL);
	if (LZ4F_isError(n))
		return writer_fail(w, EIO, "compress", LZ4F_getErrorName(n));
	if (writer_emit(w, n) < 0)
		return -1;
	w->finished = true;
	return 0;
}

void
lz4frame_writer_reset(struct lz4frame_writer *w,
    int (*sink)(void *arg, const void *buf, size_t len), void *arg)
{
	w->sink = sink;
	w->arg = arg;
	w->started = false;
	w->finished = false;
	w->failed = 0;
	w->blen = 0;
	w->nin = w->nout = 0;
	w->err[0] = '\0';
}

void
lz4frame_writer_stats(const struct lz4frame_writer *w, uint64_t *in,
    uint64_t *out)
{
	if (in)
		*in = w->nin;
	if (out)
		*out = w->nout;
}

const char *
lz4frame_writer_error(const struct lz4frame_writer *w)
{
	return w->err;
}

void
lz4frame_writer_free(struct lz4frame_writer *w)
{
	if (w == NULL)
		return;
	if (w->cctx)
		LZ4F_freeCompressionContext(w->cctx);
	free(w->out);
	free(w->block);
	free(w);
}

struct lz4frame_reader *
lz4frame_reader_new(ssize_t (*src)(void *arg, void *buf, size_t len),
    void *arg)
{
	struct lz4frame_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&r->dctx,
	    LZ4F_VERSION))) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	lz4frame_reader_reset(r, src, arg);
	return r;
}

void
lz4frame_reader_reset(struct lz4frame_reader *r,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg)
{
	LZ4F_resetDecompressionContext(r->dctx);
	r->src = src;
	r->arg = arg;
	r->in_pos = r->in_len = 0;
	r->eof = r->in_frame = r->done = false;
	r->failed = 0;
	r->nframes = r->nin = r->nout = 0;
	r->err[0] = '\0';
}

__attribute__((format(printf, 3, 4))) static ssize_t
reader_fail(struct lz4frame_reader *r, int e, const char *fmt, ...)
{
	char msg[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "lz4: %s (at compressed byte %llu)",
	    msg, (unsigned long long)r->nin);
	r->failed = e;
	errno = e;
	return -1;
}

/* Refills the input buffer once it is used up. */
static int
reader_fill(struct lz4frame_reader *r)
{
	ssize_t n;

	if (r->in_pos < r->in_len || r->eof)
		return 0;
	do {
		n = r->src(r->arg, r->in, sizeof(r->in));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno ? errno : EIO;
		return (int)reader_fail(r, e, "read: %s", strerror(e));
	}
	if ((size_t)n > sizeof(r->in))
		return (int)reader_fail(r, EIO, "%s", "source overran buffer");
	r->in_pos = 0;
	r->in_len = (size_t)n;
	r->eof = n == 0;
	return 0;
}

ssize_t
lz4frame_read(struct lz4frame_reader *r, void *buf, size_t len)
{
	if (r->failed) {
		errno = r->failed;
		return -1;
	}
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	while (!r->done) {
		if (reader_fill(r) < 0)
			return -1;
		size_t avail = r->in_len - r->in_pos;
		if (avail == 0 && r->eof && !r->in_frame) {
			if (r->nframes == 0)
				return reader_fail(r, EBADMSG, "%s",
				    "empty input, no frame");
			r->done = true;
			break;
		}
		size_t dsz = len, ssz = avail;
		size_t ret = LZ4F_decompress(r->dctx, buf, &dsz,
		    r->in + r->in_pos, &ssz, NULL);
		if (LZ4F_isError(ret) && r->nin == 0 && avail >= 19 &&
		    memcmp(r->in + r->in_pos, "age-encryption.org/", 19) == 0)
			return reader_fail(r, EBADMSG, "%s", "the object is "
			    "age-encrypted and this replica has no age "
			    "identity configured (age.identities or "
			    "age.identity-file)");
		if (LZ4F_isError(ret))
			return reader_fail(r, EBADMSG, "corrupt frame: %s",
			    LZ4F_getErrorName(ret));
		r->in_pos += ssz;
		r->nin += ssz;
		r->in_frame = ret != 0;
		if (ret == 0)
			r->nframes++;
		if (dsz > 0) {
			r->nout += dsz;
			return (ssize_t)dsz;
		}
		if (ssz == 0 && ret != 0 && r->eof &&
		    r->in_pos == r->in_len)
			return reader_fail(r, EBADMSG, "%s",
			    "truncated frame");
		if (ssz == 0 && avail > 0 && ret != 0)
			return reader_fail(r, EBADMSG, "%s",
			    "decoder made no progress");
	}
	return 0;
}

void
lz4frame_reader_stats(const struct lz4frame_reader *r, uint64_t *in,
    uint64_t *out)
{
	if (in)
		*in = r->nin;
	if (out)
		*out = r->nout;
}

const char *
lz4frame_reader_error(const struct lz4frame_reader *r)
{
	return r->err;
}

void
lz4frame_reader_free(struct lz4frame_reader *r)
{
	if (r == NULL)
		return;
	LZ4F_freeDecompressionContext(r->dctx);
	free(r);
}
