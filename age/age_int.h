/*
 * age_int: what the files of age/ share. Not for other modules: they use
 * age.h.
 *
 *   bech32.c       BIP 173 Bech32 as age uses it (no length limit)
 *   b64.c          strict unpadded base64 of the header
 *   age_crypto.c   the OpenSSL primitives: X25519, HKDF-SHA-256,
 *                  ChaCha20-Poly1305, HMAC-SHA-256, random bytes
 *   age_keys.c     identities and recipients: strings, key files
 *   age_header.c   the header: parse, format, wrap and unwrap the file
 *                  key, the header MAC
 *   age_writer.c   encryption: header, then STREAM chunks (push), and a
 *                  pull adapter for callers that read ciphertext
 *   age_reader.c   decryption: header, then STREAM chunks (push), and a
 *                  pull reader
 */
#ifndef WALSHIP_AGE_INT_H
#define WALSHIP_AGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "age.h"

#define AGE_FILE_KEY_LEN 16
#define AGE_NONCE_LEN 16
#define AGE_TAG_LEN 16
#define AGE_CHUNK 65536
#define AGE_CHUNK_CT (AGE_CHUNK + AGE_TAG_LEN)
#define AGE_VERSION_LINE "age-encryption.org/v1"
#define AGE_MAC_B64_LEN 43	/* 32 bytes, unpadded */
#define AGE_B64_LINE 64		/* columns of a stanza body line */

/* ---- encodings ----------------------------------------------------- */

/* Unpadded standard base64 of LEN bytes; OUT needs b64_len(LEN) + 1. */
size_t age_b64_len(size_t len);
void age_b64_encode(const uint8_t *in, size_t len, char *out);
/*
 * Strict decode of LEN characters: the standard alphabet only, no '=',
 * canonical (unused low bits zero). OUT holds at least LEN * 3 / 4 bytes.
 * Returns the decoded length, or -1.
 */
long age_b64_decode(const char *in, size_t len, uint8_t *out);
/* Whether C is in the alphabet. */
bool age_b64_char(char c);
/* Whether N characters of the alphabet ending with LAST are a canonical
 * encoding (a length that is not 1 mod 4, no stray low bits). */
bool age_b64_canonical_end(char last, size_t n);

/*
 * Bech32 (age's variant: no length limit, checksum over the lowercased
 * string, mixed case rejected). Decode checks that the HRP equals HRP
 * (compared lowercased) and returns the 8-bit data length (or -1);
 * encode writes HRP1DATA+checksum in lower case, upper if UPPER.
 */
int age_bech32_decode(const char *s, const char *hrp, uint8_t *out,
    size_t outcap);
int age_bech32_encode(const char *hrp, const uint8_t *data, size_t len,
    bool upper, char *out, size_t outcap);

/* ---- primitives (0, or -1) ---------------------------------------- */

/* X25519(SCALAR, POINT). -1 also for an all-zero result (low order). */
int age_x25519(const uint8_t scalar[32], const uint8_t point[32],
    uint8_t out[32]);
int age_x25519_base(const uint8_t scalar[32], uint8_t out[32]);
int age_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[32]);
int age_hmac(const uint8_t key[32], const void *data, size_t len,
    uint8_t out[32]);
int age_random(uint8_t *buf, size_t len);

struct age_aead;	/* one reusable EVP_CIPHER_CTX */
struct age_aead *age_aead_new(void);
void age_aead_free(struct age_aead *a);
/* Seals LEN bytes of IN into OUT (LEN + 16 bytes, tag appended). */
int age_aead_seal(struct age_aead *a, const uint8_t key[32],
    const uint8_t nonce[12], const uint8_t *in, size_t len, uint8_t *out);
/* Opens LEN (>= 16) bytes of IN into OUT (LEN - 16 bytes); -1 if the
 * tag does not verify (OUT then holds garbage: release nothing). */
int age_aead_open(struct age_aead *a, const uint8_t key[32],
    const uint8_t nonce[12], const uint8_t *in, size_t len, uint8_t *out);

/* ---- header -------------------------------------------------------- */

/*
 * Checks and unwraps the header in HDR (LEN bytes, from the version line
 * through the LF of the MAC line): grammar, X25519 stanzas, the file key
 * with KEYS' identities, the MAC. Returns AGE_OK with FILE_KEY set, or
 * the failure kind with ERR filled.
 */
enum age_status age_header_open(const char *hdr, size_t len,
    const struct age_keys *keys, uint8_t file_key[AGE_FILE_KEY_LEN],
    char *err, size_t errlen);

/* The length of a header for NRCPTS X25519 recipients. */
size_t age_header_len(size_t nrcpts);
/*
 * Writes the header wrapping FILE_KEY to every recipient of KEYS into OUT
 * (age_header_len bytes). 0, or -1 with ERR.
 */
int age_header_seal(const struct age_keys *keys,
    const uint8_t file_key[AGE_FILE_KEY_LEN], char *out, char *err,
    size_t errlen);

/* The payload key from the file key and the nonce that follows the
 * header. */
int age_payload_key(const uint8_t file_key[AGE_FILE_KEY_LEN],
    const uint8_t nonce[AGE_NONCE_LEN], uint8_t key[32]);
/* The 12-byte STREAM nonce of chunk COUNTER. */
void age_chunk_nonce(uint64_t counter, bool last, uint8_t nonce[12]);

#endif
