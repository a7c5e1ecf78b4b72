/*
 * s3ops: the S3 client's one-request operations (PutObject from memory,
 * GetObject, HeadObject) and DeleteObjects (see s3client.h).
 *
 * DeleteObjects sends at most S3CLIENT_DELETE_BATCH keys a request, with
 * Quiet=true, so the answer lists only failures; any per-key <Error>
 * fails the operation naming that key. A store that answers
 * NotImplemented (or HTTP 501) gets single DELETEs from then on (the
 * client remembers it); a missing key counts as deleted.
 */
#include "s3int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

void
s3ops_local_error(struct s3client *c, struct s3_error *err, const char *op,
    const char *key, int errnum, const char *code, const char *msg)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->message, sizeof(err->message), "%s", msg);
	s3client_err_where(c, err, op, key);
	s3err_classify(err);
	err->errnum = errnum;
}

/* ---- one request ------------------------------------------------------ */

struct simple_op {
	struct s3op op;
	struct s3req *req;
	void *owned;
};

static void
simple_destroy(struct s3op *op)
{
	struct simple_op *s = (struct simple_op *)op;

	s3req_free(s->req);
	free(s->owned);
	free(s);
}

static void
simple_done(struct s3req *r, const struct s3_error *err)
{
	struct s3op *op = r->op;

	if (err != NULL) {
		op->err = *err;
		s3op_finish(op, -1);
		return;
	}
	op->res.info.size = r->content_length;
	op->res.info.last_modified = r->last_modified;
	snprintf(op->res.info.etag, sizeof(op->res.info.etag), "%s", r->etag);
	op->res.bytes = r->sink != NULL ? r->delivered : r->body_len;
	s3op_finish(op, 0);
}

/* A simple operation with its request made; NULL with errno. */
static struct simple_op *
simple_new(struct s3client *c, const char *opname, enum s3_stat_kind kind,
    const char *method, const char *relkey, const void *body, size_t len,
    s3_done_fn *done, void *arg)
{
	struct simple_op *s;
	char key[S3ADDR_MAX_KEY + 1];

	if (relkey == NULL || s3client_key(c, relkey, key, sizeof(key)) != 0 ||
	    *key == '\0') {
		errno = EINVAL;
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s3op_link(c, &s->op, simple_destroy, done, arg);
	s->req = s3req_new(&s->op, opname, kind, method, key, NULL, body, len);
	if (s->req == NULL) {
		s3op_abandon(&s->op);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static int
simple_start(struct simple_op *s)
{
	if (s3req_start(s->req, simple_done) != 0) {
		int e = errno;

		s3op_abandon(&s->op);
		errno = e != 0 ? e : EIO;
		return -1;
	}
	return 0;
}

int
s3ops_put_buffer(struct s3client *c, const char *key, const void *data,
    size_t len, void *owned, s3_done_fn *done, void *arg)
{
	struct simple_op *s = simple_new(c, "PutObject", S3_STAT_PUT, "PUT",
	    key, data, len, done, arg);

	if (s == NULL) {
		int e = errno;

		free(owned);
		errno = e;
		return -1;
	}
	s->owned = owned;
	s->req->md5 = true;
	s->req->sse = true;
	return simple_start(s);
}

int
s3client_put(struct s3client *c, const char *key, const void *data,
    size_t len, s3_done_fn *done, void *arg)
{
	return s3ops_put_buffer(c, key, data, len, NULL, done, arg);
}

int
s3client_get(struct s3client *c, const char *key, uint64_t offset,
    int64_t length, s3_write_fn *write, void *warg, s3_done_fn *done,
    void *arg)
{
	struct simple_op *s;

	if (write == NULL || length == 0) {
		errno = EINVAL;
		return -1;
	}
	s = simple_new(c, "GetObject", S3_STAT_GET, "GET", key, NULL, 0, done,
	    arg);
	if (s == NULL)
		return -1;
	s->req->sink = write;
	s->req->sink_arg = warg;
	if (offset > 0 || length > 0) {
		s->req->ranged = true;
		s->req->range_off = offset;
		s->req->range_len = length;
	}
	return simple_start(s);
}

int
s3client_head(struct s3client *c, const char *key, s3_done_fn *done,
    void *arg)
{
	struct simple_op *s = simple_new(c, "HeadObject", S3_STAT_HEAD, "HEAD",
	    key, NULL, 0, done, arg);

	return s != NULL ? simple_start(s) : -1;
}

/* ---- DeleteObjects ---------------------------------------------------- */

struct del_op {
	struct s3op op;
	char **keys;			/* full keys */
	size_t n, next, batch;
	struct s3req *req;
	char *body;
};

static void del_step(struct del_op *d);

static void
del_destroy(struct s3op *op)
{
	struct del_op *d = (struct del_op *)op;

	s3req_free(d->req);
	for (size_t i = 0; i < d->n; i++)
		free(d->keys[i]);
	free(d->keys);
	free(d->body);
	free(d);
}

static void
del_fail(struct del_op *d, const struct s3_error *err)
{
	d->op.err = *err;
	s3op_finish(&d->op, -1);
}

/* A DeleteObjects answer: 0 when every key went, else fails D. */
static int
del_check_result(struct del_op *d, struct s3req *r)
{
	struct s3xml_delete res;
	struct s3_error err;
	char perr[200];

	if (s3xml_parse_delete(r->resp, r->resp_len, &res, perr,
	    sizeof(perr)) != 0) {
		s3ops_local_error(d->op.c, &err, r->opname, "", EPROTO,
		    "MalformedResponse", perr);
		del_fail(d, &err);
		return -1;
	}
	if (res.nerrors > 0) {
		s3ops_local_error(d->op.c, &err, r->opname, res.errors[0].key,
		    EIO, res.errors[0].code, res.errors[0].message);
		s3err_classify(&err);
		del_fail(d, &err);
		s3xml_delete_free(&res);
		return -1;
	}
	s3xml_delete_free(&res);
	return 0;
}

static void
del_done(struct s3req *r, const struct s3_error *err)
{
	struct del_op *d = (struct del_op *)r->op;
	struct s3client *c = d->op.c;
	bool batch = strcmp(r->method, "POST") == 0;

	if (err != NULL && batch && (err->http_status == 501 ||
	    strcmp(err->code, "NotImplemented") == 0)) {
		c->delete_single = true;	/* retry this batch key by key */
	} else if (err != NULL && !(!batch && err->errnum == ENOENT)) {
		del_fail(d, err);
		return;
	} else if (err == NULL && batch && del_check_result(d, r) != 0) {
		return;
	} else {
		d->next += d->batch;
		d->op.res.count += d->batch;
	}
	s3req_free(d->req);
	d->req = NULL;
	free(d->body);
	d->body = NULL;
	del_step(d);
}

/* Sends the next batch (or key). Returns 0, or -1 with nothing sent. */
static int
del_send(struct del_op *d)
{
	struct s3client *c = d->op.c;
	size_t len = 0;

	if (c->delete_single) {
		d->batch = 1;
		d->req = s3req_new(&d->op, "DeleteObject", S3_STAT_DELETE,
		    "DELETE", d->keys[d->next], NULL, NULL, 0);
	} else {
		d->batch = d->n - d->next < S3CLIENT_DELETE_BATCH ?
		    d->n - d->next : S3CLIENT_DELETE_BATCH;
		d->body = s3xml_build_delete((const char *const *)d->keys +
		    d->next, d->batch, true, &len);
		d->req = d->body == NULL ? NULL : s3req_new(&d->op,
		    "DeleteObjects", S3_STAT_DELETE, "POST", "", "delete=",
		    d->body, len);
		if (d->req != NULL)
			d->req->md5 = true;
	}
	if (d->req == NULL || s3req_start(d->req, del_done) != 0) {
		s3req_free(d->req);
		d->req = NULL;
		free(d->body);
		d->body = NULL;
		return -1;
	}
	return 0;
}

/* The next batch, or the end. */
static void
del_step(struct del_op *d)
{
	struct s3_error err;

	if (d->next >= d->n) {
		s3op_finish(&d->op, 0);
	} else if (del_send(d) != 0) {
		s3ops_local_error(d->op.c, &err, "DeleteObjects",
		    d->keys[d->next], ENOMEM, "RequestFailed",
		    "cannot start a request");
		del_fail(d, &err);
	}
}

int
s3client_delete(struct s3client *c, const char *const *keys, size_t n,
    s3_done_fn *done, void *arg)
{
	struct del_op *d = calloc(1, sizeof(*d));
	char key[S3ADDR_MAX_KEY + 1];

	if (d == NULL || (d->keys = calloc(n ? n : 1, sizeof(char *))) == NULL) {
		free(d);
		errno = ENOMEM;
		return -1;
	}
	s3op_link(c, &d->op, del_destroy, done, arg);
	for (; d->n < n; d->n++) {
		if (keys[d->n] == NULL || s3client_key(c, keys[d->n], key,
		    sizeof(key)) != 0 || *key == '\0' ||
		    (d->keys[d->n] = strdup(key)) == NULL) {
			int e = keys[d->n] != NULL && errno == ENOMEM ?
			    ENOMEM : EINVAL;

			s3op_abandon(&d->op);
			errno = e;
			return -1;
		}
	}
	if (n == 0)
		return s3op_finish_later(&d->op, 0);
	if (del_send(d) != 0) {
		s3op_abandon(&d->op);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
