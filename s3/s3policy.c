/*
 * s3policy: retry classification, backoff and multipart planning for the
 * S3 client (see s3policy.h).
 */
#include "s3policy.h"

#include <errno.h>
#include <string.h>

/* S3 error codes that mean "try again", whatever the HTTP status. */
static const char *const retry_codes[] = {
	"SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable",
	"Throttling", "ThrottlingException",
	NULL,
};

bool
s3policy_retryable(enum s3policy_transport net, long http_status,
    const char *s3code)
{
	switch (net) {
	case S3POLICY_NET_RETRY:
		return true;
	case S3POLICY_NET_FATAL:
	case S3POLICY_NET_ABORTED:
		return false;
	case S3POLICY_NET_OK:
		break;
	}
	/* 501 NotImplemented is an answer, not a failure: callers fall back. */
	if (http_status == 501 || (s3code != NULL &&
	    strcmp(s3code, "NotImplemented") == 0))
		return false;
	if (http_status >= 500 || http_status == 429 || http_status == 408)
		return true;
	if (s3code != NULL && *s3code != '\0') {
		for (size_t i = 0; retry_codes[i] != NULL; i++)
			if (strcmp(s3code, retry_codes[i]) == 0)
				return true;
	}
	return false;
}

uint64_t
s3policy_backoff_ms(const struct s3policy_retry *p, unsigned retry,
    uint64_t rnd)
{
	uint64_t ceil = p->base_ms;

	for (unsigned i = 1; i < retry && ceil < p->cap_ms; i++)
		ceil *= 2;
	if (ceil > p->cap_ms)
		ceil = p->cap_ms;
	return rnd % (ceil + 1);
}

bool
s3policy_next_retry(const struct s3policy_retry *p, unsigned attempts,
    uint64_t elapsed_ms, uint64_t rnd, uint64_t *delay_ms)
{
	uint64_t d;

	if (attempts >= p->max_attempts || elapsed_ms >= p->max_total_ms)
		return false;
	d = s3policy_backoff_ms(p, attempts, rnd);
	if (d > p->max_total_ms - elapsed_ms)
		return false;
	*delay_ms = d;
	return true;
}

int
s3policy_plan_parts(uint64_t total, uint64_t threshold, uint64_t part_size,
    struct s3policy_parts *out)
{
	memset(out, 0, sizeof(*out));
	if (total > S3POLICY_MAX_OBJECT) {
		errno = EFBIG;
		return -1;
	}
	out->total = total;
	if (total <= threshold) {
		out->part_size = total;
		out->nparts = 1;
		return 0;
	}
	if (part_size < S3POLICY_MIN_PART)
		part_size = S3POLICY_MIN_PART;
	if ((total + part_size - 1) / part_size > S3POLICY_MAX_PARTS) {
		part_size = (total + S3POLICY_MAX_PARTS - 1) /
		    S3POLICY_MAX_PARTS;
		part_size = (part_size + S3POLICY_MIB - 1) / S3POLICY_MIB *
		    S3POLICY_MIB;
	}
	out->multipart = true;
	out->part_size = part_size;
	out->nparts = (unsigned)((total + part_size - 1) / part_size);
	return 0;
}

uint64_t
s3policy_part_offset(const struct s3policy_parts *p, unsigned n)
{
	return n == 0 ? 0 : (uint64_t)(n - 1) * p->part_size;
}

uint64_t
s3policy_part_len(const struct s3policy_parts *p, unsigned n)
{
	uint64_t off = s3policy_part_offset(p, n);

	if (n == 0 || n > p->nparts || off > p->total)
		return 0;
	return p->total - off < p->part_size ? p->total - off : p->part_size;
}
