/*
 * sigv4: AWS Signature Version 4 (AWS4-HMAC-SHA256) request signing, for
 * the S3 client and for any other AWS-style service.
 *
 * The signer is a pure function of the request description below: it
 * opens nothing, keeps no global state and never logs. Its rules follow
 * the published SigV4 algorithm; what differs between S3 and the generic
 * services is chosen with SIGV4_* flags:
 *
 *   SIGV4_RULES_S3       the path is not normalized and each segment is
 *                        URI-encoded exactly once; x-amz-content-sha256 is
 *                        signed (added when absent); Authorization uses
 *                        "," between its parts, as the S3 reference does.
 *   SIGV4_RULES_GENERIC  "." / ".." / empty path segments are removed and
 *                        each segment of the request-line path is encoded
 *                        once more (double encoding); "," then " ".
 *
 * Inputs are the request as it goes on the wire:
 *
 *   path    the request-line path (origin form, starting with '/'; "" is
 *           "/"), normally built with sigv4_uri_encode(..., KEEP_SLASH)
 *           from a raw object key. Under S3 rules each segment's valid %XX
 *           escapes are decoded and the segment re-encoded once, which is
 *           what S3 does on its side, so an encoded path signs as itself
 *           and a stray raw byte (space, UTF-8, '$') is signed as the
 *           server will see it. Under SIGV4_DOUBLE_ENCODE each segment is
 *           encoded as given ('%' becomes "%25").
 *   query   the query string as sent, without '?' ("" or NULL: none).
 *           Parameters are split on '&' and the first '=', valid %XX
 *           escapes decoded ('+' stays a plus), then encoded and sorted by
 *           encoded name, then value. A name without '=' gets an empty
 *           value ("lifecycle" signs as "lifecycle=").
 *   headers every header to sign, exactly as it will be sent (Host is
 *           required). Names are lowercased; values are trimmed and runs
 *           of spaces and tabs collapse to one space; repeated names join
 *           with ',' in the given order. CR and LF are refused.
 *
 * Header signing (sigv4_sign) adds to the signed set, when the request
 * lacks them, x-amz-date (the request's amz_date), x-amz-security-token
 * (when session_token is set) and, with SIGV4_CONTENT_SHA256,
 * x-amz-content-sha256 (payload_hash). Those are reported in
 * result->added: the caller must send them along with Authorization.
 * A given x-amz-date, x-amz-security-token or x-amz-content-sha256 that
 * disagrees with the request fields is refused (EINVAL): the request
 * would fail at the server anyway.
 *
 * Query signing (sigv4_presign, presigned URLs) puts X-Amz-Algorithm,
 * -Credential, -Date, -Expires, -SignedHeaders and -Security-Token in the
 * canonical query, adds no header, and returns the whole query string to
 * send (canonical order, X-Amz-Signature last). For S3, payload_hash is
 * SIGV4_UNSIGNED_PAYLOAD.
 *
 * Secrets: the secret key is used only to derive the signing key; every
 * buffer that held key material is wiped with OPENSSL_cleanse. Results
 * hold no secret, but may hold the session token (the canonical request),
 * so sigv4_result_free wipes them too.
 *
 * Errors: functions return 0, or -1 with errno EINVAL (malformed input),
 * ENOMEM, or EIO (libcrypto failed).
 */
#ifndef WALSHIP_SIGV4_H
#define WALSHIP_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_HEX_LEN 64		/* a SHA-256 in lowercase hex */
#define SIGV4_KEY_LEN 32		/* a derived signing key */
#define SIGV4_AMZ_DATE_LEN 16		/* "YYYYMMDDTHHMMSSZ" */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_MAX_EXPIRES 604800	/* 7 days: the presign limit */

enum sigv4_flags {
	SIGV4_NORMALIZE_PATH = 1 << 0,	/* drop "." "..", collapse "//" */
	SIGV4_DOUBLE_ENCODE = 1 << 1,	/* encode the request-line path again */
	SIGV4_CONTENT_SHA256 = 1 << 2,	/* sign x-amz-content-sha256 */
	SIGV4_AUTHZ_COMPACT = 1 << 3,	/* "," not ", " in Authorization */
};

#define SIGV4_RULES_S3 (SIGV4_CONTENT_SHA256 | SIGV4_AUTHZ_COMPACT)
#define SIGV4_RULES_GENERIC (SIGV4_NORMALIZE_PATH | SIGV4_DOUBLE_ENCODE)

struct sigv4_header {
	const char *name;
	const char *value;
};

/* What to sign. The signer copies what it keeps; nothing is retained. */
struct sigv4_request {
	const char *method;		/* "GET", "PUT", ... as sent */
	const char *path;		/* request-line path (see above) */
	const char *query;		/* as sent, no '?'; NULL for none */
	const struct sigv4_header *headers;
	size_t nheaders;
	const char *payload_hash;	/* 64 hex digits or UNSIGNED-PAYLOAD */
	const char *amz_date;		/* "YYYYMMDDTHHMMSSZ" (UTC) */
	const char *region;		/* "us-east-1" */
	const char *service;		/* "s3" */
	const char *access_key_id;
	const char *secret_key;
	const char *session_token;	/* NULL without temporary credentials */
	unsigned flags;			/* SIGV4_RULES_S3, ... */
};

/*
 * The outcome of one signing. Strings are owned by the result and
 * released (and wiped) by sigv4_result_free. added[] names are constants
 * and values point into the request's strings, so they live as long as
 * those.
 */
struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;		/* "host;x-amz-date" */
	char *authorization;		/* header signing: the header value */
	char *query;			/* presigning: the query to send */
	char signature[SIGV4_HEX_LEN + 1];
	struct sigv4_header added[3];	/* headers the caller must also send */
	size_t nadded;
};

/*
 * A cache of one derived signing key, so that a long-running client
 * derives it once per (secret, day, region, service) instead of once per
 * request. Not thread-safe: one per signing thread. The secret is not
 * stored, only its SHA-256, to notice rotated credentials. Use
 * sigv4_key_cache_init before the first use and sigv4_key_cache_clear
 * when done (it wipes the key). Region and service longer than the fields
 * below are signed without caching.
 */
struct sigv4_key_cache {
	int valid;
	char date[9];			/* "YYYYMMDD" */
	char region[64];
	char service[32];
	unsigned char secret_sha256[32];
	unsigned char key[SIGV4_KEY_LEN];
	unsigned long hits, misses;
};

/*
 * Signs REQ for the Authorization header. CACHE may be NULL (the key is
 * derived and wiped). On success fills RESULT, which the caller releases
 * with sigv4_result_free; on failure RESULT holds nothing to release.
 */
int sigv4_sign(const struct sigv4_request *req, struct sigv4_key_cache *cache,
    struct sigv4_result *result);

/*
 * Signs REQ as a presigned URL valid for EXPIRES seconds (1 to
 * SIGV4_MAX_EXPIRES). result->query is the query string to send, and
 * result->authorization is NULL.
 */
int sigv4_presign(const struct sigv4_request *req, long expires,
    struct sigv4_key_cache *cache, struct sigv4_result *result);

/* Releases and wipes RESULT's strings; RESULT may be NULL or empty. */
void sigv4_result_free(struct sigv4_result *result);

/*
 * Derives the signing key HMAC(HMAC(HMAC(HMAC("AWS4" secret, date8),
 * region), service), "aws4_request") into KEY.
 */
int sigv4_derive_key(const char *secret_key, const char *date8,
    const char *region, const char *service,
    unsigned char key[SIGV4_KEY_LEN]);

void sigv4_key_cache_init(struct sigv4_key_cache *cache);
void sigv4_key_cache_clear(struct sigv4_key_cache *cache);

/*
 * The signing key for (SECRET, DATE8, REGION, SERVICE) into KEY, from the
 * cache or derived and stored in it.
 */
int sigv4_key_cache_get(struct sigv4_key_cache *cache, const char *secret_key,
    const char *date8, const char *region, const char *service,
    unsigned char key[SIGV4_KEY_LEN]);

/* Lowercase hex SHA-256 of LEN bytes at DATA (the payload hash). */
int sigv4_sha256_hex(const void *data, size_t len,
    char hex[SIGV4_HEX_LEN + 1]);

/*
 * T as "YYYYMMDDTHHMMSSZ" (UTC). Returns 0, or -1 (EOVERFLOW) for a year
 * outside 0..9999.
 */
int sigv4_format_amz_date(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1]);

enum sigv4_encode_flags {
	SIGV4_ENC_KEEP_SLASH = 1 << 0,	/* leave '/' as is (S3 object keys) */
};

/*
 * URI-encodes LEN bytes at SRC the SigV4 way: A-Z a-z 0-9 - . _ ~ stay,
 * every other byte becomes %XX (uppercase hex), '/' too unless
 * SIGV4_ENC_KEEP_SLASH. Writes at most SIZE bytes including the NUL
 * (truncating, like snprintf) and returns the full encoded length, so a
 * result >= SIZE means DST was too small.
 */
size_t sigv4_uri_encode(char *dst, size_t size, const char *src, size_t len,
    unsigned flags);

#endif
