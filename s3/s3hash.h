/*
 * s3hash: the two digests every S3 write carries: Content-MD5 (base64 of
 * the MD5, checked by the store) and x-amz-content-sha256 (hex SHA-256,
 * signed), computed in one pass over a body in memory.
 */
#ifndef WALSHIP_S3HASH_H
#define WALSHIP_S3HASH_H

#include <stddef.h>

#define S3HASH_MD5_B64_LEN 24		/* base64 of 16 bytes */
#define S3HASH_SHA256_HEX_LEN 64

struct s3hash {
	char md5_b64[S3HASH_MD5_B64_LEN + 1];
	char sha256_hex[S3HASH_SHA256_HEX_LEN + 1];
};

/* Both digests of LEN bytes at DATA. Returns 0, or -1 (EIO). */
int s3hash_body(const void *data, size_t len, struct s3hash *out);

#endif
