/*
 * s3addr: where an S3 request goes: object keys under a prefix, the
 * request-line path, the Host header and the URL for path-style and
 * virtual-hosted addressing, and canonical query strings. Pure functions:
 * nothing here opens, allocates for long or logs.
 *
 * Addressing (format doc §7.2):
 *   path style       SCHEME://HOST[:PORT]/BUCKET/KEY
 *   virtual-hosted   SCHEME://BUCKET.HOST[:PORT]/KEY
 * HOST is the endpoint's host, or s3.REGION.amazonaws.com without an
 * endpoint (always https then). A bucket that is not a valid DNS label
 * sequence (uppercase, '_', "..", too long) falls back to path style, as
 * the AWS SDKs do. The region is never looked up: without one it is
 * us-east-1 (§5.5; no GetBucketLocation, Litestream #574).
 *
 * Keys (§3.4): the client's prefix is cleaned once (layout_clean_prefix);
 * a key under it has no leading '/' and no "//" anywhere, so a listing
 * prefix always matches the keys that PUTs wrote.
 *
 * Errors: functions return 0, or -1 with errno EINVAL (bad input) or
 * ENAMETOOLONG (a buffer too small) and, where ERR is given, a message.
 */
#ifndef WALSHIP_S3ADDR_H
#define WALSHIP_S3ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define S3ADDR_DEFAULT_REGION "us-east-1"
#define S3ADDR_HOST_LEN 256
#define S3ADDR_MAX_KEY 1024		/* S3's limit, bytes */

struct s3addr {
	char scheme[8];			/* "http" or "https" */
	char host[S3ADDR_HOST_LEN];	/* the endpoint's host, no port */
	int port;			/* 0: the scheme's default */
	char bucket[64];
	char region[64];
	bool path_style;		/* effective */
};

/*
 * Fills A from an endpoint URL ("" for AWS; "http://127.0.0.1:9000",
 * "https://s3.eu-central-1.hetzner.com"; a path in it is refused), a
 * region ("" = us-east-1), a bucket (required) and force-path-style.
 */
int s3addr_init(struct s3addr *a, const char *endpoint, const char *region,
    const char *bucket, bool force_path_style, char *err, size_t errlen);

/* The Host header: "bucket.host[:port]" or "host[:port]". */
int s3addr_host(const struct s3addr *a, char *buf, size_t len);

/*
 * The request-line path for KEY (already normalized; "" for the bucket):
 * "/bucket/enc(key)" or "/enc(key)", each byte but A-Za-z0-9-._~/
 * percent-encoded.
 */
int s3addr_path(const struct s3addr *a, const char *key, char *buf,
    size_t len);

/* The whole URL: scheme://host/path[?query]. QUERY may be NULL or "". */
int s3addr_url(const struct s3addr *a, const char *key, const char *query,
    char *buf, size_t len);

/*
 * PREFIX/KEY into OUT: no leading '/', runs of '/' collapsed to one; a
 * trailing '/' of KEY is kept (listing prefixes need it). PREFIX is
 * expected clean (layout_clean_prefix) and may be "". Fails with EINVAL
 * when the result is empty and KEY was not, or longer than S3ADDR_MAX_KEY.
 */
int s3addr_key(const char *prefix, const char *key, char *out, size_t len);

/* One query parameter; a NULL or "" value is sent as "name=". */
struct s3addr_param {
	const char *name;
	const char *value;
};

/*
 * The query string for N parameters, names and values URI-encoded the
 * SigV4 way and sorted by encoded name then value, so it is canonical
 * and signs as sent. "" for N = 0.
 */
int s3addr_query(const struct s3addr_param *params, size_t n, char *buf,
    size_t len);

#endif
