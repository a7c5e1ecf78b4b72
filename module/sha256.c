/*
 * sha256: SHA-256 with OpenSSL, for the config's secrets digest (in the
 * module: see module.h).
 */
#include <openssl/evp.h>

#include "log.h"
#include "module.h"

void
digest_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		fatalx("cannot compute a digest");
}
