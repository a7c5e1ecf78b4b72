/*
 * s3client: an asynchronous S3 client on libcurl's multi interface, driven
 * by the caller's libevent loop, so a process keeps serving its other
 * events (IPC, timers) while transfers run.
 *
 * Threading and the loop: one client belongs to one event_base and is
 * used from the thread that runs it. curl runs with CURLOPT_NOSIGNAL and
 * its asynchronous resolver, sockets are libevent events
 * (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION), so nothing blocks the loop but
 * the caller's own read/write callbacks.
 *
 * Operations: each s3client_* call starts one operation and returns 0, or
 * -1 with errno (EINVAL for a bad key or argument, ENOMEM) when it could
 * not start; once started, its DONE callback runs exactly once, later,
 * from the loop (never from inside the starting call). Keys are relative
 * to the client's prefix and normalized (no leading '/', no "//").
 *
 *   put         one PUT of a caller's buffer (kept valid until DONE)
 *   put_stream  a body of known size pulled through READ: a single PUT
 *               up to multipart_threshold, multipart above it (parts of
 *               part_size through at most max_parts_in_flight fixed
 *               buffers, aborted on failure, completed at the end)
 *   get         the object (or a byte range) streamed to WRITE; a retry
 *               after bytes were delivered resumes with a Range request
 *               pinned to the first response's ETag (If-Match)
 *   head        size, LastModified, ETag
 *   list        ListObjectsV2 pages (ListObjects v1 with markers when the
 *               store answers list-type=2 with NotImplemented or 400),
 *               each page handed to PAGE; keys relative to the prefix
 *   delete      DeleteObjects in batches of at most 1000 keys (single
 *               DELETEs when the store answers NotImplemented)
 *
 * Every request signs the real payload SHA-256 (never UNSIGNED-PAYLOAD or
 * aws-chunked) and sends Content-MD5 on PUT, UploadPart and DeleteObjects.
 * Failures are retried (s3policy.h: 5xx, 429, SlowDown, timeouts,
 * connection errors) with full-jitter backoff within max_attempts and
 * retry_total_ms; each retry is logged at warn with the operation and key.
 *
 * Errors a user can act on carry a hint: SignatureDoesNotMatch -> "wrong
 * secret access key", InvalidAccessKeyId -> "unknown access key id",
 * NoSuchBucket, AccessDenied, clock skew, wrong region, unreachable
 * endpoint, untrusted TLS certificate. Every error names the operation,
 * bucket, key and endpoint. Credentials are copied at creation, wiped on
 * free, and never logged or put in an error.
 *
 * Memory is bounded: no operation buffers a whole object (put_stream
 * holds at most max(threshold, max_parts_in_flight * part_size) bytes,
 * XML responses are capped by s3xml).
 */
#ifndef WALSHIP_S3CLIENT_H
#define WALSHIP_S3CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct cfg_replica;
struct s3client;

#define S3CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define S3CLIENT_DEFAULT_LOW_SPEED_LIMIT 1024	/* bytes/s ... */
#define S3CLIENT_DEFAULT_LOW_SPEED_TIME 30	/* ... for this many s */
#define S3CLIENT_DEFAULT_MAX_ATTEMPTS 5
#define S3CLIENT_DEFAULT_RETRY_TOTAL_MS 60000
#define S3CLIENT_DEFAULT_RETRY_BASE_MS 200
#define S3CLIENT_DEFAULT_RETRY_CAP_MS 10000
#define S3CLIENT_DEFAULT_THRESHOLD (5u << 20)
#define S3CLIENT_DEFAULT_PART_SIZE (5u << 20)
#define S3CLIENT_DEFAULT_PARTS_IN_FLIGHT 2
#define S3CLIENT_MAX_PARTS_IN_FLIGHT 16
#define S3CLIENT_DELETE_BATCH 1000

/* What a client is made from; strings are copied. 0 means the default. */
struct s3client_config {
	const char *bucket;		/* required */
	const char *prefix;		/* key prefix, cleaned; "" or NULL */
	const char *region;		/* "" : us-east-1 */
	const char *endpoint;		/* "" : AWS; else with scheme */
	bool force_path_style;
	bool skip_verify;		/* no TLS certificate checks */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* "" or NULL: none */
	const char *sse;		/* x-amz-server-side-encryption, or NULL */
	const char *sse_kms_key_id;	/* with sse "aws:kms", or NULL */

	long connect_timeout_ms;
	long low_speed_limit;		/* bytes/s */
	long low_speed_time;		/* s */
	unsigned max_attempts;
	uint64_t retry_total_ms;
	uint64_t retry_base_ms;
	uint64_t retry_cap_ms;
	uint64_t multipart_threshold;
	uint64_t part_size;
	unsigned max_parts_in_flight;
	unsigned list_max_keys;		/* max-keys per list page (0: server's) */
};

/* Request kinds, for the counters. */
enum s3_stat_kind {
	S3_STAT_GET = 0,
	S3_STAT_PUT,			/* PutObject, multipart requests */
	S3_STAT_LIST,
	S3_STAT_DELETE,			/* DeleteObjects, DeleteObject */
	S3_STAT_HEAD,
	S3_STAT_KINDS,
};

struct s3client_stats {
	uint64_t requests[S3_STAT_KINDS];	/* attempts sent */
	uint64_t retries;
	uint64_t errors;		/* operations that failed */
	uint64_t bytes_up;		/* request bodies sent */
	uint64_t bytes_down;		/* response bodies received */
};

/*
 * A failed operation. Never holds a secret. errnum: ENOENT (no such key),
 * ENXIO (no such bucket), EACCES (credentials, permissions), ETIMEDOUT,
 * ECONNREFUSED (endpoint unreachable), ECANCELED (a callback stopped it),
 * EPROTO (a malformed answer), else EIO.
 */
struct s3_error {
	int errnum;
	int http_status;		/* 0: no HTTP response */
	char code[64];			/* S3 Code, or the transport failure */
	char message[512];		/* the store's Message, or curl's */
	const char *hint;		/* what to do; "" when none */
	char op[32];			/* "PutObject", "UploadPart", ... */
	char key[1025];			/* full key, "" for bucket requests */
	char bucket[64];
	char endpoint[360];		/* scheme://host[:port] */
	char request_id[128];
	unsigned attempts;
};

/*
 * One line for a log or a CLI: "PutObject s3://BUCKET/KEY at ENDPOINT:
 * HINT: CODE (HTTP 403): MESSAGE [after N attempts]". Returns the length
 * it wanted, like snprintf.
 */
int s3_error_format(const struct s3_error *err, char *buf, size_t len);

struct s3_object_info {
	int64_t size;			/* -1 if unknown */
	int64_t last_modified;		/* ns since the epoch, 0 if unknown */
	char etag[80];
};

struct s3_result {
	int status;			/* 0, or -1 (err says why) */
	const struct s3_error *err;	/* NULL on success */
	struct s3_object_info info;	/* head, get; put: etag */
	uint64_t bytes;			/* get: delivered; put: uploaded */
	size_t count;			/* list: entries; delete: keys */
};

/* RES and what it points to live until the callback returns. */
typedef void s3_done_fn(const struct s3_result *res, void *arg);
/* Received bytes; return 0, or -1 to abort the operation (ECANCELED). */
typedef int s3_write_fn(const void *data, size_t len, void *arg);
/* Fill up to LEN bytes; return the count, 0 at the end, -1 on error. */
typedef ssize_t s3_read_fn(void *buf, size_t len, void *arg);

struct s3_list_entry {
	const char *key;		/* relative to the client's prefix */
	int64_t size;			/* -1 for a common prefix */
	int64_t last_modified;		/* ns; 0 for a common prefix */
	bool is_prefix;			/* a CommonPrefixes entry */
};

/* One page of a listing, in the store's order; return -1 to stop. */
typedef int s3_list_fn(const struct s3_list_entry *entries, size_t n,
    void *arg);

/*
 * Creates a client on BASE. Returns NULL with ERR filled in (a bad
 * endpoint, bucket or region; missing credentials) and errno set.
 */
struct s3client *s3client_new(struct event_base *base,
    const struct s3client_config *cfg, char *err, size_t errlen);

/*
 * Fills CFG from a loaded replica config (pointers into R, which must
 * outlive the s3client_new call); limits stay at their defaults.
 */
void s3client_config_from_replica(struct s3client_config *cfg,
    const struct cfg_replica *r);

/*
 * Cancels every operation in flight without calling its DONE, wipes the
 * credentials and frees the client. May be called from a DONE callback.
 */
void s3client_free(struct s3client *c);

int s3client_put(struct s3client *c, const char *key, const void *data,
    size_t len, s3_done_fn *done, void *arg);
int s3client_put_stream(struct s3client *c, const char *key, uint64_t size,
    s3_read_fn *read, void *rarg, s3_done_fn *done, void *arg);
/* LENGTH < 0: from OFFSET to the end. */
int s3client_get(struct s3client *c, const char *key, uint64_t offset,
    int64_t length, s3_write_fn *write, void *warg, s3_done_fn *done,
    void *arg);
int s3client_head(struct s3client *c, const char *key, s3_done_fn *done,
    void *arg);
/* DELIMITER and START_AFTER (a relative key) may be NULL. */
int s3client_list(struct s3client *c, const char *prefix,
    const char *delimiter, const char *start_after, s3_list_fn *page,
    void *parg, s3_done_fn *done, void *arg);
/* KEYS are copied. */
int s3client_delete(struct s3client *c, const char *const *keys, size_t n,
    s3_done_fn *done, void *arg);

const struct s3client_stats *s3client_stats(const struct s3client *c);
/* Operations started and not yet done. */
size_t s3client_pending(const struct s3client *c);

#endif
