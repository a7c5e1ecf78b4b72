/*
 * lz4pipe: a decompressing thread ahead of its caller (see lz4pipe.h).
 *
 * A ring of LZ4PIPE_SLOTS buffers, each as large as Litestream's blocks
 * (4 MiB): given that much room, liblz4 decompresses a whole block
 * straight into the buffer instead of through its own and copying. The
 * thread fills free slots in order; the caller takes filled ones in the
 * same order and hands each back on its next call. One mutex guards the
 * ring; the thread alone touches the reader until it has finished.
 */
#include "lz4pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lz4frame.h"

#define LZ4PIPE_SLOTS 3
#define LZ4PIPE_BUF (4 * 1024 * 1024)

struct lz4pipe {
	struct lz4frame_reader *lz;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void *buf[LZ4PIPE_SLOTS];
	size_t len[LZ4PIPE_SLOTS];
	unsigned head;		/* next slot the thread fills */
	unsigned tail;		/* next slot the caller takes */
	unsigned filled;	/* slots between tail and head */
	bool holding;		/* the caller holds the slot before tail */
	bool ended;		/* the thread is done: end or failure */
	int failure;		/* errno of the failure, 0 at the end */
	bool stop;
};

static void *
pipe_main(void *arg)
{
	struct lz4pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->filled + p->holding == LZ4PIPE_SLOTS)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		unsigned slot = p->head;
		pthread_mutex_unlock(&p->mu);
		ssize_t n = lz4frame_read(p->lz, p->buf[slot], LZ4PIPE_BUF);
		int e = errno;
		pthread_mutex_lock(&p->mu);
		if (n <= 0) {
			p->failure = n < 0 ? (e ? e : EIO) : 0;
			break;
		}
		p->len[slot] = (size_t)n;
		p->head = (slot + 1) % LZ4PIPE_SLOTS;
		p->filled++;
		pthread_cond_broadcast(&p->cv);
	}
	p->ended = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct lz4pipe *
lz4pipe_start(struct lz4frame_reader *lz)
{
	struct lz4pipe *p = calloc(1, sizeof(*p));
	int e;

	if (p == NULL)
		return NULL;
	p->lz = lz;
	for (int i = 0; i < LZ4PIPE_SLOTS; i++)
		if ((p->buf[i] = malloc(LZ4PIPE_BUF)) == NULL)
			goto fail;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((e = pthread_create(&p->tid, NULL, pipe_main, p)) != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		errno = e;
		goto fail;
	}
	return p;
fail:
	e = errno;
	for (int i = 0; i < LZ4PIPE_SLOTS; i++)
		free(p->buf[i]);
	free(p);
	errno = e;
	return NULL;
}

ssize_t
lz4pipe_next(struct lz4pipe *p, const void **data)
{
	ssize_t n;

	pthread_mutex_lock(&p->mu);
	if (p->holding) {
		p->holding = false;
		pthread_cond_broadcast(&p->cv);
	}
	while (p->filled == 0 && !p->ended)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->filled > 0) {
		*data = p->buf[p->tail];
		n = (ssize_t)p->len[p->tail];
		p->tail = (p->tail + 1) % LZ4PIPE_SLOTS;
		p->filled--;
		p->holding = true;
	} else if (p->failure != 0) {
		errno = p->failure;
		n = -1;
	} else
		n = 0;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
lz4pipe_stop(struct lz4pipe *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->tid, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	for (int i = 0; i < LZ4PIPE_SLOTS; i++)
		free(p->buf[i]);
	free(p);
}
