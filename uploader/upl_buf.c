/*
 * upl_buf: the frame batches the walreader pushed, kept in memory so the
 * next segment can be written without reading the shadow log back. Only a
 * contiguous run is kept (each batch follows the previous one in its index,
 * or starts the next index at 0), at most CAP bytes. Anything else, a gap,
 * an overflow, a restart, simply empties it: the shadow log on disk holds
 * the same bytes and is read instead.
 */
#include "upl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct upl_chunk {
	struct upl_chunk *next;
	uint32_t index;
	uint64_t off;
	size_t len;
	uint8_t data[];
};

void
upl_buf_init(struct upl_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void
upl_buf_clear(struct upl_buf *b)
{
	struct upl_chunk *c = b->head, *next;
	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	b->head = b->tail = NULL;
	b->bytes = 0;
	b->gen[0] = '\0';
}

static void
give_up(struct upl_buf *b)
{
	if (b->head != NULL)
		b->dropped++;
	upl_buf_clear(b);
}

int
upl_buf_add(struct upl_buf *b, const char *gen, uint32_t index,
    uint64_t off, const void *data, size_t len)
{
	struct upl_chunk *t = b->tail;

	if (len == 0 || len > b->cap)
		return 0;
	if (t != NULL) {
		bool follows = strcmp(b->gen, gen) == 0 &&
		    ((index == t->index && off == t->off + t->len) ||
		    (index == t->index + 1 && off == 0));
		if (!follows || b->bytes + len > b->cap)
			give_up(b);
	}
	struct upl_chunk *c = malloc(sizeof(*c) + len);
	if (c == NULL) {
		give_up(b);
		errno = ENOMEM;
		return -1;
	}
	c->next = NULL;
	c->index = index;
	c->off = off;
	c->len = len;
	memcpy(c->data, data, len);
	if (b->tail != NULL)
		b->tail->next = c;
	else
		b->head = c;
	b->tail = c;
	b->bytes += len;
	memcpy(b->gen, gen, UPL_GEN_SIZE - 1);
	b->gen[UPL_GEN_SIZE - 1] = '\0';
	return 1;
}

void
upl_buf_trim(struct upl_buf *b, const char *gen, uint32_t index,
    uint64_t off)
{
	if (b->head == NULL)
		return;
	if (strcmp(b->gen, gen) != 0) {
		upl_buf_clear(b);
		return;
	}
	while (b->head != NULL) {
		struct upl_chunk *c = b->head;
		if (upl_pos_cmp(c->index, c->off + c->len, index, off) > 0)
			break;
		b->head = c->next;
		b->bytes -= c->len;
		free(c);
	}
	if (b->head == NULL) {
		b->tail = NULL;
		b->gen[0] = '\0';
	}
}

const uint8_t *
upl_buf_find(const struct upl_buf *b, const char *gen, uint32_t index,
    uint64_t off, size_t *avail, uint64_t *next)
{
	*avail = 0;
	*next = UINT64_MAX;
	if (b->head == NULL || strcmp(b->gen, gen) != 0)
		return NULL;
	for (const struct upl_chunk *c = b->head; c != NULL; c = c->next) {
		if (c->index != index)
			continue;
		if (off >= c->off && off < c->off + c->len) {
			*avail = (size_t)(c->off + c->len - off);
			return c->data + (off - c->off);
		}
		if (c->off > off && c->off < *next)
			*next = c->off;
	}
	return NULL;
}
