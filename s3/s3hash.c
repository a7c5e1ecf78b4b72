/*
 * s3hash: Content-MD5 and the payload SHA-256 of an S3 request body, with
 * libcrypto's EVP digests (see s3hash.h).
 */
#include "s3hash.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

static int
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out,
    unsigned *outlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, data, len) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, outlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
s3hash_body(const void *data, size_t len, struct s3hash *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md5[EVP_MAX_MD_SIZE], sha[EVP_MAX_MD_SIZE];
	unsigned md5len = 0, shalen = 0;

	if (data == NULL)
		data = "";
	if (digest(EVP_md5(), data, len, md5, &md5len) != 0 || md5len != 16 ||
	    digest(EVP_sha256(), data, len, sha, &shalen) != 0 ||
	    shalen != 32) {
		errno = EIO;
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)out->md5_b64, md5, 16);
	for (unsigned i = 0; i < 32; i++) {
		out->sha256_hex[2 * i] = hex[sha[i] >> 4];
		out->sha256_hex[2 * i + 1] = hex[sha[i] & 15];
	}
	out->sha256_hex[64] = '\0';
	return 0;
}
