/*
 * membuf: a growing byte buffer for unit tests, used as the sink of a
 * writer (bytes appended) and as the source of a reader (bytes handed out
 * from pos), with a failure to inject and a read size to limit.
 */
#ifndef WALSHIP_TEST_MEMBUF_H
#define WALSHIP_TEST_MEMBUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A growing byte buffer, used as sink and as source. */
struct buf {
	uint8_t *p;
	size_t len, cap, pos;
	size_t step;		/* source: bytes per read, 0 = all */
	size_t max_write;	/* sink: largest single write seen */
	int fail_after;		/* sink: fail after this many calls, -1 never */
};

static int
buf_sink(void *arg, const void *data, size_t len)
{
	struct buf *b = arg;

	if (b->fail_after == 0) {
		errno = ENOSPC;
		return -1;
	}
	if (b->fail_after > 0)
		b->fail_after--;
	if (len > b->max_write)
		b->max_write = len;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		uint8_t *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static ssize_t
buf_source(void *arg, void *out, size_t len)
{
	struct buf *b = arg;
	size_t n = b->len - b->pos;

	if (n > len)
		n = len;
	if (b->step && n > b->step)
		n = b->step;
	memcpy(out, b->p + b->pos, n);
	b->pos += n;
	return (ssize_t)n;
}

#endif
