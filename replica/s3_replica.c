/*
 * s3_replica: the replica client for S3 (see s3_replica.h for the keys,
 * the lanes that make it safe for threads, and the bounded reader and
 * writer).
 */
#define _GNU_SOURCE
#include "s3_replica.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "layout.h"
#include "log.h"
#include "s3sync.h"

#define S3R_READ_MIN (64u << 10)	/* first reader buffer */
#define S3R_DELETE_BATCH S3CLIENT_DELETE_BATCH

/* One private event_base with its S3 client, used by one thread at a time. */
struct lane {
	struct s3sync *s;
	struct lane *next;
};

struct s3_replica {
	struct replica_client base;	/* first: the generic part */
	struct s3client_config cfg;	/* its strings are the copies below */
	char *bucket, *prefix, *region, *endpoint;
	char *akid, *secret, *token, *kms;	/* wiped on free */
	pthread_mutex_t mu;		/* idle, lanes, freed */
	struct lane *idle;
	unsigned lanes;			/* made so far */
	struct s3client_stats freed;	/* requests of lanes already freed */
};

static const struct replica_client_ops s3_ops;

/* libcurl's global init and cleanup run inside s3client_new/free. */
static pthread_mutex_t lane_mu = PTHREAD_MUTEX_INITIALIZER;

static struct s3_replica *
sr_of(struct replica_client *c)
{
	return (struct s3_replica *)c;
}

/* ---- lanes ------------------------------------------------------------ */

static void
stats_add(struct s3client_stats *to, const struct s3client_stats *from)
{
	for (int i = 0; i < S3_STAT_KINDS; i++)
		to->requests[i] += from->requests[i];
	to->retries += from->retries;
	to->errors += from->errors;
	to->bytes_up += from->bytes_up;
	to->bytes_down += from->bytes_down;
}

static struct lane *
lane_get(struct s3_replica *c, char *err, size_t errlen)
{
	struct lane *l;
	int e;

	pthread_mutex_lock(&c->mu);
	if ((l = c->idle) != NULL)
		c->idle = l->next;
	pthread_mutex_unlock(&c->mu);
	if (l != NULL)
		return l;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	errno = 0;
	pthread_mutex_lock(&lane_mu);
	l->s = s3sync_new(&c->cfg, err, errlen);
	e = errno;
	pthread_mutex_unlock(&lane_mu);
	if (l->s == NULL) {
		free(l);
		errno = e != 0 ? e : EIO;
		return NULL;
	}
	pthread_mutex_lock(&c->mu);
	c->lanes++;
	pthread_mutex_unlock(&c->mu);
	return l;
}

static void
lane_free(struct s3_replica *c, struct lane *l)
{
	pthread_mutex_lock(&c->mu);
	stats_add(&c->freed, s3client_stats(s3sync_client(l->s)));
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_lock(&lane_mu);
	s3sync_free(l->s);
	pthread_mutex_unlock(&lane_mu);
	free(l);
}

/* Back to the pool; a lane with an operation still in flight is freed. */
static void
lane_put(struct s3_replica *c, struct lane *l)
{
	if (l == NULL)
		return;
	if (s3client_pending(s3sync_client(l->s)) > 0) {
		lane_free(c, l);
		return;
	}
	pthread_mutex_lock(&c->mu);
	l->next = c->idle;
	c->idle = l;
	pthread_mutex_unlock(&c->mu);
}

/* ---- errors ----------------------------------------------------------- */

/* snprintf for messages, where a long key may be cut short. */
__attribute__((format(printf, 3, 4))) static void
msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* The display form of relative key REL ("?" if it cannot be formed). */
static const char *
display(const struct s3_replica *c, const char *rel, char *buf, size_t len)
{
	if (s3r_display_key(c->bucket, c->prefix, rel, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

/*
 * The S3 client's line for E into ERR, errno from it; returns -1. A
 * request on the bucket (a listing) names no key: REL, the relative key or
 * listing prefix it was about, is filled in.
 */
static int
fail_s3(const struct s3_replica *c, char *err, size_t errlen,
    const struct s3_error *e, const char *op, const char *rel)
{
	int errnum = e->errnum != 0 ? e->errnum : EIO;
	char shown[S3R_KEY_MAX];
	struct s3_error named;
	size_t skip = strlen("s3://") + strlen(c->bucket) + 1;

	display(c, rel, shown, sizeof(shown));
	if (e->op[0] == '\0') {
		msg(err, errlen, "%s %s: %s", op, shown, e->message[0] ?
		    e->message : strerror(errnum));
	} else if (e->key[0] == '\0' && strlen(shown) > skip) {
		named = *e;
		snprintf(named.key, sizeof(named.key), "%s", shown + skip);
		s3_error_format(&named, err, errlen);
	} else {
		s3_error_format(e, err, errlen);
	}
	errno = errnum;
	return -1;
}

static int
fail_msg(char *err, size_t errlen, int errnum, const char *op,
    const char *key, const char *what)
{
	msg(err, errlen, "%s %s: %s", op, key, what);
	errno = errnum;
	return -1;
}

static int
sr_key(struct replica_client *rc, const struct replica_obj *o, char *buf,
    size_t len)
{
	char rel[S3R_KEY_MAX];

	if (s3r_object_key(o, rel, sizeof(rel)) < 0)
		return -1;
	return s3r_display_key(sr_of(rc)->bucket, sr_of(rc)->prefix, rel, buf,
	    len);
}

/* ---- listings --------------------------------------------------------- */

enum list_kind { LK_GENERATIONS, LK_SNAPSHOTS, LK_WAL };

struct list_ctx {
	enum list_kind kind;
	const char *lp;
	void *v;
	size_t n, cap, size;
	bool oom;
};

static void *
list_push(struct list_ctx *x)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 32;
		void *p = reallocarray(x->v, cap, x->size);

		if (p == NULL)
			return NULL;
		x->v = p;
		x->cap = cap;
	}
	return (char *)x->v + x->size * x->n++;
}

static int
list_page(const struct s3_list_entry *e, size_t n, void *arg)
{
	struct list_ctx *x = arg;
	union {
		struct replica_generation g;
		struct replica_snapshot s;
		struct replica_wal_segment w;
	} item;
	void *slot;
	int ok;

	for (size_t i = 0; i < n; i++) {
		switch (x->kind) {
		case LK_GENERATIONS:
			ok = s3r_entry_generation(x->lp, &e[i], &item.g);
			break;
		case LK_SNAPSHOTS:
			ok = s3r_entry_snapshot(x->lp, &e[i], &item.s);
			break;
		default:
			ok = s3r_entry_wal(x->lp, &e[i], &item.w);
			break;
		}
		if (!ok)
			continue;
		if ((slot = list_push(x)) == NULL) {
			x->oom = true;
			return -1;
		}
		memcpy(slot, &item, x->size);
	}
	return 0;
}

/* One delimited listing of LP, converted as KIND. */
static int
list_kind(struct s3_replica *c, enum list_kind kind, const char *lp,
    size_t size, void **out, size_t *n, char *err, size_t errlen)
{
	struct list_ctx x = { .kind = kind, .lp = lp, .size = size };
	struct s3_error e = { 0 };
	char key[S3R_KEY_MAX];
	struct lane *l;
	int rc;

	*out = NULL;
	*n = 0;
	if ((l = lane_get(c, err, errlen)) == NULL)
		return -1;
	rc = s3sync_list(l->s, lp, "/", NULL, list_page, &x, &e);
	lane_put(c, l);
	if (rc != 0) {
		free(x.v);
		if (x.oom)
			return fail_msg(err, errlen, ENOMEM, "list",
			    display(c, lp, key, sizeof(key)), "out of memory");
		return fail_s3(c, err, errlen, &e, "list", lp);
	}
	*out = x.v;
	*n = x.n;
	return 0;
}

static int
sr_generations(struct replica_client *rc, struct replica_generation **out,
    size_t *n, char *err, size_t errlen)
{
	char lp[S3R_KEY_MAX];

	if (s3r_generations_prefix(lp, sizeof(lp)) < 0)
		return fail_msg(err, errlen, errno, "list", "generations",
		    "key too long");
	return list_kind(sr_of(rc), LK_GENERATIONS, lp, sizeof(**out),
	    (void **)out, n, err, errlen);
}

static int
sr_snapshots(struct replica_client *rc, const char *gen,
    struct replica_snapshot **out, size_t *n, char *err, size_t errlen)
{
	char lp[S3R_KEY_MAX];

	if (s3r_snapshots_prefix(gen, lp, sizeof(lp)) < 0)
		return fail_msg(err, errlen, errno, "list", "snapshots",
		    "invalid generation");
	return list_kind(sr_of(rc), LK_SNAPSHOTS, lp, sizeof(**out),
	    (void **)out, n, err, errlen);
}

static int
sr_wal_segments(struct replica_client *rc, const char *gen,
    struct replica_wal_segment **out, size_t *n, char *err, size_t errlen)
{
	char lp[S3R_KEY_MAX];

	if (s3r_wal_prefix(gen, lp, sizeof(lp)) < 0)
		return fail_msg(err, errlen, errno, "list", "wal",
		    "invalid generation");
	return list_kind(sr_of(rc), LK_WAL, lp, sizeof(**out), (void **)out,
	    n, err, errlen);
}

/* ---- reading ---------------------------------------------------------- */

struct sr_reader {
	struct replica_reader base;
	struct s3_replica *c;
	struct lane *l;
	unsigned char *buf;
	size_t cap, pos, len;
	bool done, failed, too_big, stalled;
	struct s3_error e;
	char rel[S3R_KEY_MAX];
	char key[S3R_KEY_MAX];		/* display form */
};

/* Bytes from the GET: kept until read hands them out. */
static int
rd_sink(const void *data, size_t n, void *arg)
{
	struct sr_reader *r = arg;

	if (r->pos == r->len)
		r->pos = r->len = 0;
	if (n > r->cap - r->len && r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (n > r->cap - r->len) {
		size_t want = r->len + n, nc = r->cap ? r->cap : S3R_READ_MIN;
		unsigned char *p;

		while (nc < want)
			nc *= 2;
		if (nc > S3R_READ_CAP || (p = realloc(r->buf, nc)) == NULL) {
			r->too_big = true;
			return -1;
		}
		r->buf = p;
		r->cap = nc;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

static void
rd_done(const struct s3_result *res, void *arg)
{
	struct sr_reader *r = arg;

	r->done = true;
	if (res->status != 0) {
		r->failed = true;
		if (res->err != NULL)
			r->e = *res->err;
	}
}

/* Runs the lane's loop until there are bytes to hand out or the end. */
static void
rd_wait(struct sr_reader *r)
{
	struct event_base *base = s3sync_base(r->l->s);

	while (r->pos == r->len && !r->done) {
		if (event_base_loop(base, EVLOOP_ONCE) != 0 && !r->done) {
			/* Nothing left to wait for: never spin. */
			r->done = r->failed = r->stalled = true;
		}
	}
}

/* Why the GET failed, into BUF; errno set. */
static void
rd_error(struct sr_reader *r, char *buf, size_t len)
{
	if (r->too_big)
		fail_msg(buf, len, ENOMEM, "GetObject", r->key,
		    "more data at once than the read buffer holds");
	else if (r->stalled)
		fail_msg(buf, len, EIO, "GetObject", r->key,
		    "the event loop stopped before the answer");
	else
		fail_s3(r->c, buf, len, &r->e, "GetObject", r->rel);
}

static ssize_t
rd_read(struct replica_reader *rr, void *buf, size_t len)
{
	struct sr_reader *r = (struct sr_reader *)rr;
	size_t k;

	rd_wait(r);
	if (r->pos < r->len) {
		k = r->len - r->pos < len ? r->len - r->pos : len;
		memcpy(buf, r->buf + r->pos, k);
		r->pos += k;
		return (ssize_t)k;
	}
	if (r->failed) {
		rd_error(r, r->base.err, sizeof(r->base.err));
		return -1;
	}
	return 0;
}

/* Closing before the end frees the lane, which cancels the GET. */
static void
rd_close(struct replica_reader *rr)
{
	struct sr_reader *r = (struct sr_reader *)rr;

	lane_put(r->c, r->l);
	free(r->buf);
	free(r);
}

static struct replica_reader *
sr_open(struct replica_client *rc, const struct replica_obj *o, char *err,
    size_t errlen)
{
	struct s3_replica *c = sr_of(rc);
	char rel[S3R_KEY_MAX];
	struct sr_reader *r;
	int e;

	if (s3r_object_key(o, rel, sizeof(rel)) < 0) {
		fail_msg(err, errlen, EINVAL, "GetObject", "?",
		    "invalid object");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fail_msg(err, errlen, ENOMEM, "GetObject", rel,
		    "out of memory");
		return NULL;
	}
	r->c = c;
	snprintf(r->rel, sizeof(r->rel), "%s", rel);
	display(c, rel, r->key, sizeof(r->key));
	if ((r->l = lane_get(c, err, errlen)) == NULL) {
		free(r);
		return NULL;
	}
	if (s3client_get(s3sync_client(r->l->s), rel, 0, -1, rd_sink, r,
	    rd_done, r) != 0) {
		char why[128];

		e = errno;
		snprintf(why, sizeof(why), "cannot start: %s", strerror(e));
		fail_msg(err, errlen, e, "GetObject", r->key, why);
		rd_close(&r->base);
		errno = e;
		return NULL;
	}
	rd_wait(r);
	if (r->failed && r->pos == r->len) {
		rd_error(r, err, errlen);
		e = errno;
		rd_close(&r->base);
		errno = e;
		return NULL;
	}
	r->base.read = rd_read;
	r->base.close = rd_close;
	return &r->base;
}

/* ---- writing ---------------------------------------------------------- */

struct sr_writer {
	struct replica_writer base;
	struct s3_replica *c;
	char rel[S3R_KEY_MAX];
	char key[S3R_KEY_MAX];		/* display form */
	unsigned char *mem;
	size_t memlen, memcap;
	int fd;				/* spool file once past the memory */
	uint64_t size, rdoff;
};

/* An unlinked temporary file in $TMPDIR (else /tmp). */
static int
spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | O_EXCL, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/walship-s3.XXXXXX",
	    dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
wr_write(struct replica_writer *ww, const void *buf, size_t len)
{
	struct sr_writer *w = (struct sr_writer *)ww;
	char why[128];
	int e;

	if (w->fd < 0 && len <= S3R_SPOOL_MEM - w->memlen) {
		if (w->memlen + len > w->memcap) {
			size_t nc = w->memcap ? w->memcap : 64u << 10;
			unsigned char *p;

			while (nc < w->memlen + len)
				nc *= 2;
			if (nc > S3R_SPOOL_MEM)
				nc = S3R_SPOOL_MEM;
			if ((p = realloc(w->mem, nc)) == NULL)
				return fail_msg(w->base.err,
				    sizeof(w->base.err), ENOMEM, "write",
				    w->key, "out of memory");
			w->mem = p;
			w->memcap = nc;
		}
		memcpy(w->mem + w->memlen, buf, len);
		w->memlen += len;
		w->size += len;
		return 0;
	}
	if (w->fd < 0) {
		if ((w->fd = spool_open()) < 0 ||
		    write_all(w->fd, w->mem, w->memlen) < 0)
			goto fail;
		free(w->mem);
		w->mem = NULL;
		w->memlen = w->memcap = 0;
	}
	if (write_all(w->fd, buf, len) < 0)
		goto fail;
	w->size += len;
	return 0;
fail:
	e = errno;
	snprintf(why, sizeof(why), "temporary file: %s", strerror(e));
	return fail_msg(w->base.err, sizeof(w->base.err), e, "write", w->key,
	    why);
}

static ssize_t
spool_read(void *buf, size_t len, void *arg)
{
	struct sr_writer *w = arg;
	ssize_t n;

	do {
		n = pread(w->fd, buf, len, (off_t)w->rdoff);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		w->rdoff += (uint64_t)n;
	return n;
}

static void
wr_free(struct sr_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->mem);
	free(w);
}

static void
wr_abort(struct replica_writer *ww)
{
	wr_free((struct sr_writer *)ww);
}

static int
wr_commit(struct replica_writer *ww, char *err, size_t errlen)
{
	struct sr_writer *w = (struct sr_writer *)ww;
	struct s3_error e = { 0 };
	struct lane *l;
	int rc;

	if ((l = lane_get(w->c, err, errlen)) == NULL) {
		int en = errno;

		wr_free(w);
		errno = en;
		return -1;
	}
	if (w->fd < 0)
		rc = s3sync_put(l->s, w->rel, w->mem != NULL ?
		    (const void *)w->mem : "", w->memlen, &e);
	else
		rc = s3sync_put_stream(l->s, w->rel, w->size, spool_read, w,
		    &e);
	lane_put(w->c, l);
	if (rc != 0)
		fail_s3(w->c, err, errlen, &e, "PutObject", w->rel);
	rc = rc != 0 ? errno : 0;
	wr_free(w);
	errno = rc;
	return rc != 0 ? -1 : 0;
}

static struct replica_writer *
sr_create(struct replica_client *rc, const struct replica_obj *o, char *err,
    size_t errlen)
{
	struct s3_replica *c = sr_of(rc);
	struct sr_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		fail_msg(err, errlen, ENOMEM, "create", "?", "out of memory");
		return NULL;
	}
	w->c = c;
	w->fd = -1;
	if (s3r_object_key(o, w->rel, sizeof(w->rel)) < 0) {
		fail_msg(err, errlen, EINVAL, "create", "?", "invalid object");
		free(w);
		return NULL;
	}
	display(c, w->rel, w->key, sizeof(w->key));
	w->base.write = wr_write;
	w->base.commit = wr_commit;
	w->base.abort = wr_abort;
	return &w->base;
}

/* ---- deleting --------------------------------------------------------- */

static int
sr_remove(struct replica_client *rc, const struct replica_obj *o, char *err,
    size_t errlen)
{
	struct s3_replica *c = sr_of(rc);
	char rel[S3R_KEY_MAX];
	const char *keys[1] = { rel };
	struct s3_error e = { 0 };
	struct lane *l;
	int rc2;

	if (s3r_object_key(o, rel, sizeof(rel)) < 0)
		return fail_msg(err, errlen, EINVAL, "delete", "?",
		    "invalid object");
	if ((l = lane_get(c, err, errlen)) == NULL)
		return -1;
	rc2 = s3sync_delete(l->s, keys, 1, &e);
	lane_put(c, l);
	if (rc2 != 0)
		return fail_s3(c, err, errlen, &e, "DeleteObjects", rel);
	return 0;
}

/* The keys in order, a DeleteObjects batch of at most 1000 at a time
 * (single DELETEs where the store lacks it), so memory stays bounded. */
static int
sr_remove_many(struct replica_client *rc, const struct replica_obj *objs,
    size_t n, char *err, size_t errlen)
{
	struct s3_replica *c = sr_of(rc);
	char (*rel)[S3R_KEY_MAX] = calloc(S3R_DELETE_BATCH, sizeof(*rel));
	const char **keys = calloc(S3R_DELETE_BATCH, sizeof(*keys));
	struct s3_error e;
	struct lane *l = NULL;
	int rc2 = -1;

	if (rel == NULL || keys == NULL) {
		fail_msg(err, errlen, ENOMEM, "delete", "?", "out of memory");
		goto out;
	}
	if ((l = lane_get(c, err, errlen)) == NULL)
		goto out;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < S3R_DELETE_BATCH ? n - done :
		    S3R_DELETE_BATCH;
		for (size_t i = 0; i < k; i++) {
			if (s3r_object_key(&objs[done + i], rel[i],
			    sizeof(rel[i])) < 0) {
				fail_msg(err, errlen, EINVAL, "delete", "?",
				    "invalid object");
				goto out;
			}
			keys[i] = rel[i];
		}
		memset(&e, 0, sizeof(e));
		if (s3sync_delete(l->s, keys, k, &e) != 0) {
			fail_s3(c, err, errlen, &e, "DeleteObjects", rel[0]);
			goto out;
		}
		done += k;
	}
	rc2 = 0;
out:
	lane_put(c, l);
	free(keys);
	free(rel);
	return rc2;
}

/* One batch of a generation's keys, collected from a listing. */
struct del_ctx {
	char *keys[S3R_DELETE_BATCH];
	size_t n;
	bool full, oom;
};

static int
del_page(const struct s3_list_entry *e, size_t n, void *arg)
{
	struct del_ctx *x = arg;

	for (size_t i = 0; i < n; i++) {
		if (e[i].is_prefix)
			continue;
		if (x->n == S3R_DELETE_BATCH) {
			x->full = true;		/* the rest in the next round */
			return -1;
		}
		if ((x->keys[x->n] = strdup(e[i].key)) == NULL) {
			x->oom = true;
			return -1;
		}
		x->n++;
	}
	return 0;
}

static void
del_clear(struct del_ctx *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->keys[i]);
	x->n = 0;
	x->full = x->oom = false;
}

/*
 * Rounds of: list the generation (no delimiter) after the last key deleted,
 * collecting up to a batch, then delete that batch; until a listing ends
 * by itself. The start-after key moves forward every round, so a listing
 * that lags behind the deletes cannot make this loop.
 */
static int
sr_remove_generation(struct replica_client *rc, const char *gen, char *err,
    size_t errlen)
{
	struct s3_replica *c = sr_of(rc);
	char gp[S3R_KEY_MAX], after[S3R_KEY_MAX] = "", key[S3R_KEY_MAX];
	struct del_ctx *x;
	struct s3_error e;
	struct lane *l;
	size_t total = 0;
	int rc2 = 0;

	if (s3r_generation_prefix(gen, gp, sizeof(gp)) < 0)
		return fail_msg(err, errlen, EINVAL, "delete generation", "?",
		    "invalid generation");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return fail_msg(err, errlen, ENOMEM, "delete generation",
		    display(c, gp, key, sizeof(key)), "out of memory");
	if ((l = lane_get(c, err, errlen)) == NULL) {
		free(x);
		return -1;
	}
	for (;;) {
		memset(&e, 0, sizeof(e));
		rc2 = s3sync_list(l->s, gp, NULL, *after ? after : NULL,
		    del_page, x, &e);
		if (x->oom) {
			rc2 = fail_msg(err, errlen, ENOMEM, "delete generation",
			    display(c, gp, key, sizeof(key)), "out of memory");
			break;
		}
		if (rc2 != 0 && !x->full) {
			rc2 = fail_s3(c, err, errlen, &e, "list", gp);
			break;
		}
		if (x->n > 0) {
			memset(&e, 0, sizeof(e));
			rc2 = s3sync_delete(l->s, (const char *const *)x->keys,
			    x->n, &e);
			if (rc2 != 0) {
				rc2 = fail_s3(c, err, errlen, &e,
				    "DeleteObjects", gp);
				break;
			}
			total += x->n;
			snprintf(after, sizeof(after), "%s", x->keys[x->n - 1]);
		}
		rc2 = 0;
		if (!x->full)
			break;
		del_clear(x);
	}
	del_clear(x);
	free(x);
	lane_put(c, l);
	if (rc2 == 0)
		log_debug("deleted generation", KV_S("replica", c->base.name),
		    KV_S("generation", gen), KV_U("objects", total));
	return rc2;
}

/* ---- life cycle ------------------------------------------------------- */

int
s3_replica_stats(struct replica_client *rc, struct s3_replica_stats *st)
{
	struct s3_replica *c = sr_of(rc);

	if (rc == NULL || rc->ops != &s3_ops) {
		errno = EINVAL;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&c->mu);
	st->lanes = c->lanes;
	st->req = c->freed;
	for (struct lane *l = c->idle; l != NULL; l = l->next)
		stats_add(&st->req, s3client_stats(s3sync_client(l->s)));
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
sr_destroy(struct s3_replica *c)
{
	struct lane *l;

	while ((l = c->idle) != NULL) {
		c->idle = l->next;
		lane_free(c, l);
	}
	free(c->bucket);
	free(c->prefix);
	free(c->region);
	free(c->endpoint);
	free_secret(c->akid);
	free_secret(c->secret);
	free_secret(c->token);
	free(c->kms);
	free(c->base.name);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void
sr_free(struct replica_client *rc)
{
	struct s3_replica *c = sr_of(rc);
	struct s3_replica_stats st;

	s3_replica_stats(rc, &st);
	log_debug("s3 replica requests", KV_S("replica", rc->name),
	    KV_U("lanes", st.lanes),
	    KV_U("get", st.req.requests[S3_STAT_GET]),
	    KV_U("put", st.req.requests[S3_STAT_PUT]),
	    KV_U("list", st.req.requests[S3_STAT_LIST]),
	    KV_U("delete", st.req.requests[S3_STAT_DELETE]),
	    KV_U("retries", st.req.retries));
	sr_destroy(c);
}

static const struct replica_client_ops s3_ops = {
	.generations = sr_generations,
	.snapshots = sr_snapshots,
	.wal_segments = sr_wal_segments,
	.key = sr_key,
	.open = sr_open,
	.create = sr_create,
	.remove = sr_remove,
	.remove_generation = sr_remove_generation,
	.remove_many = sr_remove_many,
	.free = sr_free,
};

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct replica_client *
s3_replica_new(const struct cfg_replica *r, char *err, size_t errlen)
{
	struct s3_replica *c;
	char p[S3R_KEY_MAX];
	struct lane *l;
	int e;

	if (r->bucket == NULL || *r->bucket == '\0') {
		snprintf(err, errlen, "s3 replica %s: bucket required",
		    r->name != NULL && *r->name ? r->name : "s3");
		errno = EINVAL;
		return NULL;
	}
	if (layout_clean_prefix(r->path != NULL ? r->path : "", p,
	    sizeof(p)) < 0) {
		snprintf(err, errlen, "s3 replica %s: path too long",
		    r->name != NULL && *r->name ? r->name : "s3");
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	s3client_config_from_replica(&c->cfg, r);
	c->bucket = dup_or_empty(r->bucket);
	c->prefix = strdup(p);
	c->region = dup_or_empty(r->region);
	c->endpoint = dup_or_empty(r->endpoint);
	c->akid = dup_or_empty(r->access_key_id);
	c->secret = dup_or_empty(r->secret_access_key);
	c->token = dup_or_empty(r->session_token);
	c->kms = dup_or_empty(r->sse_kms_key_id);
	c->base.name = strdup(r->name != NULL && *r->name ? r->name : "s3");
	if (!c->bucket || !c->prefix || !c->region || !c->endpoint ||
	    !c->akid || !c->secret || !c->token || !c->kms || !c->base.name) {
		sr_destroy(c);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	c->cfg.bucket = c->bucket;
	c->cfg.prefix = c->prefix;
	c->cfg.region = c->region;
	c->cfg.endpoint = c->endpoint;
	c->cfg.access_key_id = c->akid;
	c->cfg.secret_access_key = c->secret;
	c->cfg.session_token = c->token;
	c->cfg.sse_kms_key_id = c->kms;
	c->base.ops = &s3_ops;
	c->base.type = "s3";
	/* The first lane checks the configuration; it stays in the pool. */
	if ((l = lane_get(c, err, errlen)) == NULL) {
		e = errno;
		sr_destroy(c);
		errno = e;
		return NULL;
	}
	lane_put(c, l);
	return &c->base;
}
