/*
 * client: the generic side of the replica client interface (see client.h):
 * listings that are checked and sorted here so that no caller depends on
 * the order or honesty of a store. Construction from the config is in
 * client_open.c, which brings in every replica type.
 */
#include "client.h"

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
replica_client_free(struct replica_client *c)
{
	if (c != NULL)
		c->ops->free(c);
}

struct replica_obj
replica_snapshot_obj(const char *gen, uint32_t index)
{
	struct replica_obj o = { .type = REPLICA_OBJ_SNAPSHOT, .index = index };

	snprintf(o.gen, sizeof(o.gen), "%s", gen);
	return o;
}

struct replica_obj
replica_wal_obj(const char *gen, uint32_t index, uint32_t offset)
{
	struct replica_obj o = { .type = REPLICA_OBJ_WAL, .index = index,
		.offset = offset };

	snprintf(o.gen, sizeof(o.gen), "%s", gen);
	return o;
}

const char *
replica_key(struct replica_client *c, const struct replica_obj *o, char *buf,
    size_t len)
{
	if (c->ops->key(c, o, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

static int
cmp_gen(const void *a, const void *b)
{
	return strcmp(((const struct replica_generation *)a)->name,
	    ((const struct replica_generation *)b)->name);
}

static int
cmp_snapshot(const void *a, const void *b)
{
	const struct replica_snapshot *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return (x->created > y->created) - (x->created < y->created);
}

static int
cmp_wal(const void *a, const void *b)
{
	const struct replica_wal_segment *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return (x->created > y->created) - (x->created < y->created);
}

int
replica_list_generations(struct replica_client *c,
    struct replica_generation **out, size_t *n, char *err, size_t errlen)
{
	struct replica_generation *v = NULL;
	size_t cnt = 0, w = 0;

	*out = NULL;
	*n = 0;
	if (c->ops->generations(c, &v, &cnt, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < cnt; i++) {
		v[i].name[LAYOUT_GEN_LEN] = '\0';
		if (layout_is_generation(v[i].name))
			v[w++] = v[i];
	}
	if (w > 1)
		qsort(v, w, sizeof(*v), cmp_gen);
	cnt = w;
	for (size_t i = w = 0; i < cnt; i++) {
		if (w == 0 || strcmp(v[w - 1].name, v[i].name) != 0)
			v[w++] = v[i];
	}
	if (w == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = w;
	return 0;
}

/*
 * The part of checking a listing that snapshots and WAL segments share: drop
 * entries with an impossible (negative) size, sort by CMP (key, then created
 * time), and keep one entry per key (SAME), the newest. Returns the count.
 */
static size_t
tidy_listing(void *base, size_t cnt, size_t elsz, size_t size_off,
    int (*cmp)(const void *, const void *),
    bool (*same)(const void *, const void *))
{
	char *v = base;
	size_t w = 0;

	for (size_t i = 0; i < cnt; i++) {
		int64_t size;
		memcpy(&size, v + i * elsz + size_off, sizeof(size));
		if (size >= 0)
			memmove(v + w++ * elsz, v + i * elsz, elsz);
	}
	if (w > 1)
		qsort(v, w, elsz, cmp);
	cnt = w;
	for (size_t i = w = 0; i < cnt; i++) {
		if (w > 0 && same(v + (w - 1) * elsz, v + i * elsz))
			w--;
		memmove(v + w++ * elsz, v + i * elsz, elsz);
	}
	return w;
}

static bool
same_snapshot(const void *a, const void *b)
{
	return ((const struct replica_snapshot *)a)->index ==
	    ((const struct replica_snapshot *)b)->index;
}

static bool
same_wal(const void *a, const void *b)
{
	const struct replica_wal_segment *x = a, *y = b;
	return x->index == y->index && x->offset == y->offset;
}

static int
check_gen(const char *gen, char *err, size_t errlen)
{
	if (layout_is_generation(gen))
		return 0;
	snprintf(err, errlen, "invalid generation name");
	errno = EINVAL;
	return -1;
}

int
replica_list_snapshots(struct replica_client *c, const char *gen,
    struct replica_snapshot **out, size_t *n, char *err, size_t errlen)
{
	struct replica_snapshot *v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (check_gen(gen, err, errlen) < 0 ||
	    c->ops->snapshots(c, gen, &v, &cnt, err, errlen) < 0)
		return -1;
	cnt = tidy_listing(v, cnt, sizeof(*v),
	    offsetof(struct replica_snapshot, size), cmp_snapshot,
	    same_snapshot);
	if (cnt == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int
replica_list_wal(struct replica_client *c, const char *gen,
    struct replica_wal_segment **out, size_t *n, char *err, size_t errlen)
{
	struct replica_wal_segment *v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (check_gen(gen, err, errlen) < 0 ||
	    c->ops->wal_segments(c, gen, &v, &cnt, err, errlen) < 0)
		return -1;
	cnt = tidy_listing(v, cnt, sizeof(*v),
	    offsetof(struct replica_wal_segment, size), cmp_wal, same_wal);
	if (cnt == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static bool
obj_valid(const struct replica_obj *o, char *err, size_t errlen)
{
	if (!layout_is_generation(o->gen) ||
	    (o->type != REPLICA_OBJ_SNAPSHOT && o->type != REPLICA_OBJ_WAL)) {
		snprintf(err, errlen, "invalid replica object");
		errno = EINVAL;
		return false;
	}
	return true;
}

struct replica_reader *
replica_open(struct replica_client *c, const struct replica_obj *o,
    char *err, size_t errlen)
{
	if (!obj_valid(o, err, errlen))
		return NULL;
	return c->ops->open(c, o, err, errlen);
}

struct replica_writer *
replica_create(struct replica_client *c, const struct replica_obj *o,
    char *err, size_t errlen)
{
	if (!obj_valid(o, err, errlen))
		return NULL;
	return c->ops->create(c, o, err, errlen);
}

int
replica_put(struct replica_client *c, const struct replica_obj *o,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg, char *err,
    size_t errlen)
{
	struct replica_writer *w;
	char key[512];
	uint8_t *buf;
	ssize_t n;
	int e;

	if ((buf = malloc(64 * 1024)) == NULL ||
	    (w = replica_create(c, o, err, errlen)) == NULL) {
		e = errno;
		if (buf == NULL)
			snprintf(err, errlen, "out of memory");
		free(buf);
		errno = e;
		return -1;
	}
	while ((n = src(arg, buf, 64 * 1024)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || w->write(w, buf, (size_t)n) < 0) {
			e = errno;
			if (n < 0)
				snprintf(err, errlen, "write %s: reading "
				    "source: %s", replica_key(c, o, key,
				    sizeof(key)), strerror(e));
			else
				snprintf(err, errlen, "%s", w->err);
			w->abort(w);
			free(buf);
			errno = e;
			return -1;
		}
	}
	free(buf);
	return w->commit(w, err, errlen);
}

int
replica_remove(struct replica_client *c, const struct replica_obj *o,
    char *err, size_t errlen)
{
	if (!obj_valid(o, err, errlen))
		return -1;
	return c->ops->remove(c, o, err, errlen);
}

int
replica_remove_generation(struct replica_client *c, const char *gen,
    char *err, size_t errlen)
{
	if (!layout_is_generation(gen)) {
		snprintf(err, errlen, "invalid generation name");
		errno = EINVAL;
		return -1;
	}
	return c->ops->remove_generation(c, gen, err, errlen);
}

int
replica_remove_many(struct replica_client *c, const struct replica_obj *objs,
    size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!obj_valid(&objs[i], err, errlen))
			return -1;
	}
	return n == 0 ? 0 : c->ops->remove_many(c, objs, n, err, errlen);
}
