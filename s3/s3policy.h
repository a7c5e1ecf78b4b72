/*
 * s3policy: the S3 client's pure decisions: which failures are worth
 * another attempt, how long to wait before it, and how an upload is cut
 * into multipart parts. No I/O, no clock, no randomness of its own (the
 * caller passes a random number), so every bound can be unit-tested.
 *
 * Retries (issue 4; Litestream #585): HTTP 5xx, 429, 408, the S3 codes
 * SlowDown, InternalError, RequestTimeout, ServiceUnavailable, and
 * transport failures (connect refused or timed out, low-speed abort,
 * reset, empty reply, DNS failure) are retried; 501 NotImplemented
 * (callers fall back to another request), other 4xx, TLS
 * verification failures and the caller's own aborts are not. The wait
 * before retry N (1-based) is "full jitter": uniform in
 * [0, min(cap, base * 2^(N-1))]. A retry is allowed while attempts <
 * max_attempts and the elapsed time plus the wait stays within
 * max_total_ms.
 *
 * Parts: S3 allows 1 to 10000 parts of at least 5 MiB (the last may be
 * smaller). A body of at most the single-PUT threshold goes in one PUT;
 * above it, parts of part_size, grown (to whole MiB) when 10000 parts of
 * that size would not hold the body.
 */
#ifndef WALSHIP_S3POLICY_H
#define WALSHIP_S3POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define S3POLICY_MIB (1024ULL * 1024)
#define S3POLICY_MIN_PART (5 * S3POLICY_MIB)
#define S3POLICY_MAX_PARTS 10000
#define S3POLICY_MAX_OBJECT (5ULL * 1024 * 1024 * S3POLICY_MIB) /* 5 TiB */

struct s3policy_retry {
	unsigned max_attempts;		/* total, first included (e.g. 5) */
	uint64_t max_total_ms;		/* from the first attempt (60000) */
	uint64_t base_ms;		/* first retry's cap (200) */
	uint64_t cap_ms;		/* any retry's cap (10000) */
};

/* Transport outcomes the caller maps its library's codes to. */
enum s3policy_transport {
	S3POLICY_NET_OK = 0,		/* a response was received */
	S3POLICY_NET_RETRY,		/* connect/timeout/reset/DNS/empty */
	S3POLICY_NET_FATAL,		/* TLS verification, bad URL, ... */
	S3POLICY_NET_ABORTED,		/* the caller's callback stopped it */
};

/*
 * Whether a failed attempt may be retried: NET is the transport outcome,
 * HTTP_STATUS the response status (0 if none), S3CODE the error body's
 * Code ("" or NULL if none).
 */
bool s3policy_retryable(enum s3policy_transport net, long http_status,
    const char *s3code);

/*
 * The wait before retry number RETRY (1 = the second attempt), from a
 * uniformly random RND: full jitter over [0, min(cap, base << (RETRY-1))].
 */
uint64_t s3policy_backoff_ms(const struct s3policy_retry *p, unsigned retry,
    uint64_t rnd);

/*
 * After attempt number ATTEMPTS (1-based) failed retryably at ELAPSED_MS
 * since the first began: returns true and the wait in *DELAY_MS if one
 * more attempt fits the budget, false when the operation must fail.
 */
bool s3policy_next_retry(const struct s3policy_retry *p, unsigned attempts,
    uint64_t elapsed_ms, uint64_t rnd, uint64_t *delay_ms);

struct s3policy_parts {
	bool multipart;			/* false: one PUT of the whole body */
	uint64_t total;
	uint64_t part_size;		/* every part but the last */
	unsigned nparts;		/* 1 for a single PUT */
};

/*
 * Plans TOTAL bytes with THRESHOLD (single PUT at or below it) and
 * PART_SIZE (raised to S3POLICY_MIN_PART). Returns 0, or -1 (EFBIG) above
 * S3's 5 TiB object limit.
 */
int s3policy_plan_parts(uint64_t total, uint64_t threshold,
    uint64_t part_size, struct s3policy_parts *out);

/* Offset and length of part N (1-based) of a plan. */
uint64_t s3policy_part_offset(const struct s3policy_parts *p, unsigned n);
uint64_t s3policy_part_len(const struct s3policy_parts *p, unsigned n);

#endif
