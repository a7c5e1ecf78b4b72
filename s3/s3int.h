/*
 * s3int: the S3 client's internals, shared by its files and by nothing
 * else: the client struct (s3client.c), operations (s3op: one per public
 * call, s3ops.c, s3multipart.c, s3list.c) and requests (s3req: one HTTP
 * exchange with its retries, s3req.c).
 *
 * Ownership: the client keeps a list of live operations; an operation
 * owns its requests. s3op_finish() unlinks the operation, calls its DONE
 * and destroys it; s3client_free() destroys every operation without
 * calling DONE. A request reports to its operation through its own DONE
 * hook, once, after its last attempt; s3req_free() cancels one in flight.
 */
#ifndef WALSHIP_S3INT_H
#define WALSHIP_S3INT_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "s3addr.h"
#include "s3client.h"
#include "s3hash.h"
#include "s3policy.h"
#include "sigv4.h"

#define S3_ERRBODY_CAP (64u << 10)	/* error bodies kept, bytes */

struct event;
struct s3op;
struct s3req;

struct s3client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct s3addr addr;
	char prefix[S3ADDR_MAX_KEY + 1];
	char endpoint[S3ADDR_HOST_LEN + 96]; /* scheme://host[:port] */
	char *akid, *secret, *token;	/* wiped on free */
	char *sse, *sse_kms_key_id;
	struct sigv4_key_cache keys;
	struct s3client_config cfg;	/* limits (strings not kept) */
	struct s3policy_retry retry;
	struct s3client_stats stats;
	bool list_v1;			/* the store lacks ListObjectsV2 */
	bool delete_single;		/* the store lacks DeleteObjects */
	struct s3op *ops;		/* live operations */
	size_t nops;
	int depth;			/* curl callbacks on the stack */
	bool dying;			/* s3client_free ran inside them */
};

struct s3op {
	struct s3client *c;
	struct s3op *prev, *next;
	void (*destroy)(struct s3op *);	/* frees requests and itself */
	s3_done_fn *done;
	void *arg;
	struct s3_result res;
	struct s3_error err;
	struct event *later;		/* s3op_finish_later's timer */
	int later_status;
};

/* Validates a 2xx answer: 0 good; else fills ERR, returns 1 to retry. */
typedef int s3req_check_fn(struct s3req *r, struct s3_error *err);

struct s3req {
	struct s3client *c;
	struct s3op *op;
	const char *opname;		/* "PutObject" */
	enum s3_stat_kind kind;
	const char *method;
	char key[S3ADDR_MAX_KEY + 1];	/* full key, "" for the bucket */
	char *query;			/* canonical, or NULL */
	const void *body;		/* not owned */
	size_t body_len, body_off;
	struct s3hash hash;
	bool md5;			/* send Content-MD5 */
	bool sse;			/* send the SSE headers */
	/* Range: offset and length (< 0: to the end) when ranged. */
	bool ranged;
	uint64_t range_off;
	int64_t range_len;
	/* The answer. 2xx bodies go to SINK when set, else into RESP. */
	s3_write_fn *sink;
	void *sink_arg;
	char *resp;
	size_t resp_len, resp_cap;
	long status;
	char etag[80];
	int64_t content_length, last_modified;
	uint64_t delivered;		/* bytes given to SINK, all attempts */
	uint64_t resume_at;		/* DELIVERED when this attempt began */
	char if_match[80];		/* the ETag a resumed GET insists on */
	bool overflow, aborted, bad_range;
	/* Attempts. */
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	unsigned attempts;
	uint64_t start_ms;
	struct event *retry_ev;
	s3req_check_fn *check;
	void (*done)(struct s3req *r, const struct s3_error *err);
};

/* ---- s3client.c ------------------------------------------------------- */
void s3op_link(struct s3client *c, struct s3op *op, void (*destroy)(
    struct s3op *), s3_done_fn *done, void *arg);
/* Unlinks and destroys OP without calling DONE (it never started). */
void s3op_abandon(struct s3op *op);
/*
 * s3op_finish from the loop, soon: for an operation with nothing to send.
 * Returns 0, or -1 (ENOMEM; OP abandoned).
 */
int s3op_finish_later(struct s3op *op, int status);
/* Calls DONE with op->res (err = &op->err when STATUS != 0), destroys. */
void s3op_finish(struct s3op *op, int status);
/* The full key of REL under the prefix into OUT. */
int s3client_key(const struct s3client *c, const char *rel, char *out,
    size_t len);
/* KEY relative to the prefix, or NULL when it is not under it. */
const char *s3client_rel_key(const struct s3client *c, const char *key);
uint64_t s3client_now_ms(void);
/* Around work done from a libevent callback of the client's own. */
void s3client_enter(struct s3client *c);
void s3client_leave(struct s3client *c);
/* Fills ERR's op/bucket/key/endpoint. */
void s3client_err_where(const struct s3client *c, struct s3_error *err,
    const char *op, const char *key);

/* ---- s3ops.c ---------------------------------------------------------- */
/*
 * A one-request operation: PUT from a buffer (OWNED, if not NULL, is
 * freed with the operation, or at once when it cannot start), GET, HEAD. Used by s3multipart.c for a
 * streamed body at or below the threshold.
 */
int s3ops_put_buffer(struct s3client *c, const char *key, const void *data,
    size_t len, void *owned, s3_done_fn *done, void *arg);
/* Fills ERR for a failure found by the client itself (not the store). */
void s3ops_local_error(struct s3client *c, struct s3_error *err,
    const char *op, const char *key, int errnum, const char *code,
    const char *msg);

/* ---- s3err.c ---------------------------------------------------------- */
/* ERR from an HTTP answer: STATUS, and BODY when it is an <Error>. */
void s3err_from_http(struct s3_error *err, long status, const char *body,
    size_t len);
/* ERR from a transport failure; returns how s3policy sees it. */
enum s3policy_transport s3err_from_curl(struct s3_error *err, CURLcode cc,
    const char *detail);
/* Sets errnum and hint from code/status (after the above). */
void s3err_classify(struct s3_error *err);

/* ---- s3req.c ---------------------------------------------------------- */
/*
 * A request for OP; KEY is a full key ("" for the bucket), QUERY
 * canonical (copied; NULL for none). BODY (not owned, may be NULL) must
 * live until DONE. Returns NULL on ENOMEM.
 */
struct s3req *s3req_new(struct s3op *op, const char *opname,
    enum s3_stat_kind kind, const char *method, const char *key,
    const char *query, const void *body, size_t len);
/* Starts the first attempt; DONE runs later, from the loop. */
int s3req_start(struct s3req *r, void (*done)(struct s3req *,
    const struct s3_error *));
/* Cancels (if in flight) and frees; NULL is a no-op. */
void s3req_free(struct s3req *r);
/* Called by the client's curl glue when an attempt ends. */
void s3req_attempt_done(struct s3req *r, CURLcode cc);

#endif
