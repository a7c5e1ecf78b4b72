/*
 * age_crypto: the primitives age needs, from OpenSSL 3 (libcrypto).
 *
 * X25519 goes through EVP_PKEY with raw keys. OpenSSL refuses to derive
 * an all-zero shared secret (a low-order point), returning 0; that and an
 * explicit zero check both count as failure, which the header code turns
 * into a header failure as the age spec asks.
 */
#include "age_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

int
age_x25519(const uint8_t scalar[32], const uint8_t point[32],
    uint8_t out[32])
{
	EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
	    scalar, 32);
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
	    point, 32);
	EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
	size_t n = 32;
	int rc = -1;

	if (ctx != NULL && peer != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32) {
		uint8_t z = 0;
		for (int i = 0; i < 32; i++)
			z |= out[i];
		rc = z != 0 ? 0 : -1;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(priv);
	return rc;
}

int
age_x25519_base(const uint8_t scalar[32], uint8_t out[32])
{
	EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
	    scalar, 32);
	size_t n = 32;
	int rc = -1;

	if (priv != NULL && EVP_PKEY_get_raw_public_key(priv, out, &n) == 1 &&
	    n == 32)
		rc = 0;
	EVP_PKEY_free(priv);
	return rc;
}

int
age_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[32])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t n = 32;
	int rc = -1;

	/* No salt and an empty salt are the same key (RFC 5869). */
	if (ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
	    (saltlen == 0 || EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt,
	    (int)saltlen) == 1) &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikmlen) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info,
	    (int)strlen(info)) == 1 &&
	    EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
age_hmac(const uint8_t key[32], const void *data, size_t len,
    uint8_t out[32])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, 32, data, len, out, &n) == NULL || n != 32)
		return -1;
	return 0;
}

int
age_random(uint8_t *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

struct age_aead {
	EVP_CIPHER_CTX *ctx;
};

struct age_aead *
age_aead_new(void)
{
	struct age_aead *a = calloc(1, sizeof(*a));

	if (a != NULL && (a->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(a);
		a = NULL;
	}
	return a;
}

void
age_aead_free(struct age_aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);
	free(a);
}

int
age_aead_seal(struct age_aead *a, const uint8_t key[32],
    const uint8_t nonce[12], const uint8_t *in, size_t len, uint8_t *out)
{
	int n = 0, fin = 0;

	if (len > INT32_MAX ||
	    EVP_EncryptInit_ex(a->ctx, EVP_chacha20_poly1305(), NULL, key,
	    nonce) != 1 ||
	    (len > 0 && EVP_EncryptUpdate(a->ctx, out, &n, in, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(a->ctx, out + n, &fin) != 1 ||
	    (size_t)(n + fin) != len ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, AGE_TAG_LEN,
	    out + len) != 1)
		return -1;
	return 0;
}

int
age_aead_open(struct age_aead *a, const uint8_t key[32],
    const uint8_t nonce[12], const uint8_t *in, size_t len, uint8_t *out)
{
	size_t ct = len - AGE_TAG_LEN;
	int n = 0, fin = 0;
	uint8_t tag[AGE_TAG_LEN];

	if (len < AGE_TAG_LEN || len > INT32_MAX)
		return -1;
	memcpy(tag, in + ct, AGE_TAG_LEN);
	if (EVP_DecryptInit_ex(a->ctx, EVP_chacha20_poly1305(), NULL, key,
	    nonce) != 1 ||
	    (ct > 0 && EVP_DecryptUpdate(a->ctx, out, &n, in, (int)ct) != 1) ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, AGE_TAG_LEN,
	    tag) != 1 ||
	    EVP_DecryptFinal_ex(a->ctx, out + n, &fin) != 1 ||
	    (size_t)(n + fin) != ct)
		return -1;
	return 0;
}
