/*
 * s3multipart: PutObject of a streamed body of known size (see
 * s3client.h): one PUT up to the threshold, else a multipart upload.
 *
 *   CreateMultipartUpload (POST ?uploads)
 *   UploadPart (PUT ?partNumber=N&uploadId=U), at most
 *     max_parts_in_flight at once, each read from the caller into one of
 *     as many fixed part buffers, hashed (Content-MD5, payload SHA-256)
 *     and sent; a buffer is refilled with the next part when its part is
 *     done, so memory stays at nslots * part_size whatever the size
 *   CompleteMultipartUpload (POST ?uploadId=U) with every part's ETag; a
 *     200 answer holding an <Error> is a failure (retried when the code
 *     says so)
 *   on any failure: the parts in flight are cancelled and
 *     AbortMultipartUpload (DELETE ?uploadId=U) frees what the store
 *     kept; the operation fails with the first error.
 *
 * Reads happen on the loop, from the caller's callback, in part order.
 */
#include "s3int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3xml.h"

#define MPU_QUERY_LEN 2048

struct mpu_slot {
	unsigned char *buf;
	unsigned part;			/* 0: free */
	struct s3req *req;
};

struct mpu_op {
	struct s3op op;
	char key[S3ADDR_MAX_KEY + 1];	/* full */
	s3_read_fn *read;
	void *rarg;
	struct s3policy_parts plan;
	char *upload_id;
	char **etags;			/* [nparts] */
	unsigned next_part;		/* the next to read, 1-based */
	unsigned completed, inflight, nslots;
	struct mpu_slot slots[S3CLIENT_MAX_PARTS_IN_FLIGHT];
	struct s3req *ctl;		/* create, complete or abort */
	char *ctl_body;
	bool failed;
};

static void mpu_fill(struct mpu_op *m);
static void mpu_fail(struct mpu_op *m, const struct s3_error *err);

/* Reads exactly LEN bytes. Returns 0, or -1 (error or early end). */
static int
read_full(s3_read_fn *read, void *arg, unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(buf, len, arg);

		if (n <= 0 || (size_t)n > len)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
mpu_destroy(struct s3op *op)
{
	struct mpu_op *m = (struct mpu_op *)op;

	for (unsigned i = 0; i < m->nslots; i++) {
		s3req_free(m->slots[i].req);
		free(m->slots[i].buf);
	}
	if (m->etags != NULL)
		for (unsigned i = 0; i < m->plan.nparts; i++)
			free(m->etags[i]);
	free(m->etags);
	s3req_free(m->ctl);
	free(m->ctl_body);
	free(m->upload_id);
	free(m);
}

static void
mpu_local_fail(struct mpu_op *m, const char *op, int errnum,
    const char *code, const char *msg)
{
	struct s3_error err;

	s3ops_local_error(m->op.c, &err, op, m->key, errnum, code, msg);
	mpu_fail(m, &err);
}

/* "uploadId=U" plus "partNumber=N" when PART > 0. */
static int
mpu_query(struct mpu_op *m, unsigned part, char *q, size_t len)
{
	struct s3addr_param p[2];
	char num[16];
	size_t n = 0;

	p[n++] = (struct s3addr_param){ "uploadId", m->upload_id };
	if (part > 0) {
		snprintf(num, sizeof(num), "%u", part);
		p[n++] = (struct s3addr_param){ "partNumber", num };
	}
	return s3addr_query(p, n, q, len);
}

/* Starts a control request (create or abort) as m->ctl. */
static int
mpu_ctl(struct mpu_op *m, const char *opname, enum s3_stat_kind kind,
    const char *method, const char *query, size_t len,
    void (*done)(struct s3req *, const struct s3_error *))
{
	s3req_free(m->ctl);
	m->ctl = s3req_new(&m->op, opname, kind, method, m->key, query,
	    m->ctl_body, len);
	if (m->ctl == NULL)
		return -1;
	if (strcmp(opname, "CreateMultipartUpload") == 0)
		m->ctl->sse = true;
	if (s3req_start(m->ctl, done) != 0) {
		s3req_free(m->ctl);
		m->ctl = NULL;
		return -1;
	}
	return 0;
}

/* ---- abort ------------------------------------------------------------ */

static void
abort_done(struct s3req *r, const struct s3_error *err)
{
	struct mpu_op *m = (struct mpu_op *)r->op;
	char msg[1400];

	if (err != NULL) {
		s3_error_format(err, msg, sizeof(msg));
		log_warn("cannot abort multipart upload",
		    KV_S("bucket", m->op.c->addr.bucket), KV_S("key", m->key),
		    KV_ERRS(msg));
	}
	s3op_finish(&m->op, -1);
}

/* Fails the upload with ERR (the first error wins) and aborts it. */
static void
mpu_fail(struct mpu_op *m, const struct s3_error *err)
{
	char q[MPU_QUERY_LEN];

	if (m->failed)
		return;
	m->failed = true;
	m->op.err = *err;
	for (unsigned i = 0; i < m->nslots; i++) {
		s3req_free(m->slots[i].req);
		m->slots[i].req = NULL;
		m->slots[i].part = 0;
	}
	m->inflight = 0;
	free(m->ctl_body);
	m->ctl_body = NULL;
	if (m->upload_id == NULL || mpu_query(m, 0, q, sizeof(q)) != 0 ||
	    mpu_ctl(m, "AbortMultipartUpload", S3_STAT_DELETE, "DELETE", q, 0,
	    abort_done) != 0)
		s3op_finish(&m->op, -1);
}

/* ---- complete --------------------------------------------------------- */

static int
complete_check(struct s3req *r, struct s3_error *err)
{
	struct s3xml_error x;
	char perr[200];
	int rc = s3xml_parse_complete(r->resp, r->resp_len, &x, perr,
	    sizeof(perr));

	if (rc == 0)
		return 0;
	err->http_status = (int)r->status;
	if (rc < 0) {
		snprintf(err->code, sizeof(err->code), "MalformedResponse");
		snprintf(err->message, sizeof(err->message), "%s", perr);
		return -1;
	}
	snprintf(err->code, sizeof(err->code), "%s", x.code);
	snprintf(err->message, sizeof(err->message), "%s", x.message);
	snprintf(err->request_id, sizeof(err->request_id), "%s", x.request_id);
	return s3policy_retryable(S3POLICY_NET_OK, 200, x.code) ? 1 : -1;
}

static void
complete_done(struct s3req *r, const struct s3_error *err)
{
	struct mpu_op *m = (struct mpu_op *)r->op;

	if (err != NULL) {
		mpu_fail(m, err);
		return;
	}
	m->op.res.bytes = m->plan.total;
	m->op.res.info.size = (int64_t)m->plan.total;
	s3op_finish(&m->op, 0);
}

static void
mpu_complete(struct mpu_op *m)
{
	char q[MPU_QUERY_LEN];
	size_t len = 0;

	m->ctl_body = s3xml_build_complete((const char *const *)m->etags,
	    m->plan.nparts, &len);
	if (m->ctl_body == NULL || mpu_query(m, 0, q, sizeof(q)) != 0) {
		mpu_local_fail(m, "CompleteMultipartUpload", ENOMEM,
		    "RequestFailed", "out of memory");
		return;
	}
	s3req_free(m->ctl);
	m->ctl = s3req_new(&m->op, "CompleteMultipartUpload", S3_STAT_PUT,
	    "POST", m->key, q, m->ctl_body, len);
	if (m->ctl != NULL)
		m->ctl->check = complete_check;
	if (m->ctl == NULL || s3req_start(m->ctl, complete_done) != 0)
		mpu_local_fail(m, "CompleteMultipartUpload", ENOMEM,
		    "RequestFailed", "cannot start a request");
}

/* ---- parts ------------------------------------------------------------ */

static void
part_done(struct s3req *r, const struct s3_error *err)
{
	struct mpu_op *m = (struct mpu_op *)r->op;
	struct mpu_slot *s = NULL;

	for (unsigned i = 0; i < m->nslots; i++)
		if (m->slots[i].req == r)
			s = &m->slots[i];
	if (err != NULL) {
		mpu_fail(m, err);
		return;
	}
	if (r->etag[0] == '\0' ||
	    (m->etags[s->part - 1] = strdup(r->etag)) == NULL) {
		mpu_local_fail(m, "UploadPart", EPROTO, "MalformedResponse",
		    "UploadPart answered without an ETag");
		return;
	}
	s3req_free(s->req);
	s->req = NULL;
	s->part = 0;
	m->inflight--;
	m->completed++;
	mpu_fill(m);
}

/* Reads part N into slot S and sends it. Returns 0, or -1 after failing. */
static int
part_send(struct mpu_op *m, struct mpu_slot *s, unsigned n)
{
	uint64_t len = s3policy_part_len(&m->plan, n);
	char q[MPU_QUERY_LEN];

	if (read_full(m->read, m->rarg, s->buf, (size_t)len) != 0) {
		mpu_local_fail(m, "UploadPart", EIO, "ReadFailed", "reading "
		    "the body to upload failed or it ended early");
		return -1;
	}
	if (mpu_query(m, n, q, sizeof(q)) != 0 ||
	    (s->req = s3req_new(&m->op, "UploadPart", S3_STAT_PUT, "PUT",
	    m->key, q, s->buf, (size_t)len)) == NULL) {
		mpu_local_fail(m, "UploadPart", ENOMEM, "RequestFailed",
		    "out of memory");
		return -1;
	}
	s->req->md5 = true;
	if (s3req_start(s->req, part_done) != 0) {
		s3req_free(s->req);
		s->req = NULL;
		mpu_local_fail(m, "UploadPart", ENOMEM, "RequestFailed",
		    "cannot start a request");
		return -1;
	}
	s->part = n;
	m->inflight++;
	return 0;
}

/* Keeps every free slot busy; completes after the last part. */
static void
mpu_fill(struct mpu_op *m)
{
	for (unsigned i = 0; i < m->nslots && !m->failed; i++) {
		if (m->slots[i].part != 0 || m->next_part > m->plan.nparts)
			continue;
		if (part_send(m, &m->slots[i], m->next_part++) != 0)
			return;
	}
	if (!m->failed && m->completed == m->plan.nparts)
		mpu_complete(m);
}

static void
create_done(struct s3req *r, const struct s3_error *err)
{
	struct mpu_op *m = (struct mpu_op *)r->op;
	char perr[200];

	if (err != NULL) {
		m->op.err = *err;
		s3op_finish(&m->op, -1);
		return;
	}
	if (s3xml_parse_initiate(r->resp, r->resp_len, &m->upload_id, perr,
	    sizeof(perr)) != 0) {
		mpu_local_fail(m, "CreateMultipartUpload", EPROTO,
		    "MalformedResponse", perr);
		return;
	}
	s3req_free(m->ctl);
	m->ctl = NULL;
	mpu_fill(m);
}

/* ---- entry ------------------------------------------------------------ */

static int
mpu_start(struct s3client *c, const char *key, s3_read_fn *read, void *rarg,
    const struct s3policy_parts *plan, s3_done_fn *done, void *arg)
{
	struct mpu_op *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	s3op_link(c, &m->op, mpu_destroy, done, arg);
	snprintf(m->key, sizeof(m->key), "%s", key);
	m->read = read;
	m->rarg = rarg;
	m->plan = *plan;
	m->next_part = 1;
	m->nslots = c->cfg.max_parts_in_flight < plan->nparts ?
	    c->cfg.max_parts_in_flight : plan->nparts;
	m->etags = calloc(plan->nparts, sizeof(char *));
	for (unsigned i = 0; m->etags != NULL && i < m->nslots; i++)
		if ((m->slots[i].buf = malloc(plan->part_size)) == NULL)
			break;
	if (m->etags == NULL || m->slots[m->nslots - 1].buf == NULL ||
	    mpu_ctl(m, "CreateMultipartUpload", S3_STAT_PUT, "POST",
	    "uploads=", 0, create_done) != 0) {
		s3op_abandon(&m->op);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
s3client_put_stream(struct s3client *c, const char *key, uint64_t size,
    s3_read_fn *read, void *rarg, s3_done_fn *done, void *arg)
{
	struct s3policy_parts plan;
	char full[S3ADDR_MAX_KEY + 1];
	unsigned char *buf;

	if (read == NULL || key == NULL ||
	    s3client_key(c, key, full, sizeof(full)) != 0 || *full == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (s3policy_plan_parts(size, c->cfg.multipart_threshold,
	    c->cfg.part_size, &plan) != 0)
		return -1;
	if (plan.multipart)
		return mpu_start(c, full, read, rarg, &plan, done, arg);
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return -1;
	if (read_full(read, rarg, buf, size) != 0) {
		free(buf);
		errno = EIO;
		return -1;
	}
	return s3ops_put_buffer(c, key, buf, size, buf, done, arg);
}
