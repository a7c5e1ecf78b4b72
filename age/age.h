/*
 * age: the age v1 file format (age-encryption.org/v1) for X25519
 * recipients, as Litestream v0.3.13's age: replicas use it (format doc
 * §1.5): every replica object is age(lz4(data)) under its usual name.
 *
 * Built on OpenSSL: X25519 to wrap a fresh 16-byte file key to each
 * recipient, HKDF-SHA-256 for the derived keys, HMAC-SHA-256 over the
 * header, and the STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks,
 * nonce = 11-byte big-endian chunk counter || last-chunk flag.
 *
 * Both directions stream with fixed buffers (a chunk and the header,
 * which is capped at AGE_MAX_HEADER bytes), so memory never depends on
 * the object's size, and they compose with the LZ4 frame writer and
 * reader (replica/lz4frame.h): the writer takes bytes through a sink, the
 * decryptor hands them on through one, and the pull forms read from a
 * source.
 *
 * Decryption releases a chunk's plaintext only after its tag verified,
 * and nothing before the header's MAC verified. The object's bytes are
 * untrusted: every length in the header is bounded, the base64 is strict,
 * and each failure says what was wrong (enum age_status).
 *
 * Keys are 32-byte secrets kept in struct age_keys, wiped when cleared;
 * no function here logs or prints one.
 */
#ifndef WALSHIP_AGE_H
#define WALSHIP_AGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGE_KEY_LEN 32
#define AGE_RECIPIENT_STRLEN 62		/* age1 + 58 */
#define AGE_IDENTITY_STRLEN 74		/* AGE-SECRET-KEY-1 + 58 */
#define AGE_MAX_HEADER (64 * 1024)	/* bytes of header we accept */
#define AGE_MAX_STANZAS 64
#define AGE_MAGIC "age-encryption.org/"

/* How decryption ended; the kinds of the age test vectors. */
enum age_status {
	AGE_OK = 0,
	AGE_FAIL_HEADER,	/* malformed header or stanza, short nonce */
	AGE_FAIL_NO_MATCH,	/* no identity unwraps the file key */
	AGE_FAIL_HMAC,		/* header MAC mismatch */
	AGE_FAIL_PAYLOAD,	/* a chunk failed, truncated, trailing data */
	AGE_FAIL_SINK,		/* the sink or source failed (its errno) */
	AGE_FAIL_INTERNAL,	/* OpenSSL or memory */
};

struct age_identity {
	uint8_t secret[AGE_KEY_LEN];
	uint8_t pub[AGE_KEY_LEN];	/* X25519(secret, 9) */
};

struct age_keys {
	struct age_identity *ids;
	size_t nids;
	uint8_t (*rcpts)[AGE_KEY_LEN];
	size_t nrcpts;
};

/* ---- keys (age_keys.c) --------------------------------------------- */

/* Parses "AGE-SECRET-KEY-1..." / "age1..." into 32 bytes. 0 or -1
 * with ERR (which never quotes the key). */
int age_parse_identity(const char *s, uint8_t out[AGE_KEY_LEN], char *err,
    size_t errlen);
int age_parse_recipient(const char *s, uint8_t out[AGE_KEY_LEN], char *err,
    size_t errlen);
/* The recipient string of a public key; OUT holds AGE_RECIPIENT_STRLEN+1. */
int age_format_recipient(const uint8_t pub[AGE_KEY_LEN], char *out,
    size_t outlen);
/* The identity string of a secret (AGE_IDENTITY_STRLEN+1 bytes). */
int age_format_identity(const uint8_t secret[AGE_KEY_LEN], char *out,
    size_t outlen);

/* Adds one key (string form) to K. 0, or -1 with ERR. */
int age_keys_add_identity(struct age_keys *k, const char *s, char *err,
    size_t errlen);
int age_keys_add_recipient(struct age_keys *k, const char *s, char *err,
    size_t errlen);
/* Adds the public key of every identity as a recipient. */
int age_keys_recipients_from_identities(struct age_keys *k);
/*
 * Adds the identities of key file PATH, in the age CLI's format (what
 * age-keygen writes): one AGE-SECRET-KEY-1 per line, lines starting with
 * '#' and empty lines ignored, at most 64 KiB. The file must be a regular
 * file that neither group nor others may access (like ssh's private
 * keys). 0, or -1 with ERR naming the file and the line.
 */
int age_keys_load_file(struct age_keys *k, const char *path, char *err,
    size_t errlen);
/*
 * The same file, each identity line (checked by nothing but FN) handed to
 * FN, which returns 0 or -1 with WHY; the file's bytes are wiped after.
 */
typedef int age_key_line_fn(const char *line, void *arg, char *why,
    size_t whylen);
int age_keys_file_each(const char *path, age_key_line_fn *fn, void *arg,
    char *err, size_t errlen);
/* Wipes and frees. */
void age_keys_clear(struct age_keys *k);

/* ---- encryption (age_writer.c) ------------------------------------- */

struct age_writer;

/*
 * A writer encrypting to every recipient of KEYS (at least one; KEYS must
 * outlive the writer), sending the age file to SINK (0, or -1 with
 * errno). NULL with ERR filled.
 */
struct age_writer *age_writer_new(const struct age_keys *keys,
    int (*sink)(void *arg, const void *buf, size_t len), void *arg,
    char *err, size_t errlen);
/* Encrypts LEN bytes. 0, or -1 with errno; later calls fail too. */
int age_write(struct age_writer *w, const void *buf, size_t len);
/* Seals the last chunk. 0, or -1 with errno. */
int age_writer_finish(struct age_writer *w);
const char *age_writer_error(const struct age_writer *w);
void age_writer_free(struct age_writer *w);

/* The size of the age file for PLAIN bytes and NRCPTS recipients. */
uint64_t age_encrypted_size(size_t nrcpts, uint64_t plain);

/*
 * Pull form: ciphertext read from a plaintext SRC (bytes read, 0 at the
 * end, -1 with errno), for callers that pull a body (an S3 upload).
 * Reads return -1 with errno on failure, the reason in age_encsrc_error.
 */
struct age_encsrc;
struct age_encsrc *age_encsrc_new(const struct age_keys *keys,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg, char *err,
    size_t errlen);
ssize_t age_encsrc_read(struct age_encsrc *e, void *buf, size_t len);
const char *age_encsrc_error(const struct age_encsrc *e);
void age_encsrc_free(struct age_encsrc *e);

/* ---- decryption (age_reader.c) ------------------------------------- */

struct age_decryptor;

/*
 * A decryptor with the identities of KEYS (may be none: then every file
 * fails, as "no match" once the header parsed), handing verified
 * plaintext to SINK (0, or -1 with errno). NULL (ENOMEM).
 */
struct age_decryptor *age_decryptor_new(const struct age_keys *keys,
    int (*sink)(void *arg, const void *buf, size_t len), void *arg);
/* Feeds LEN bytes of the age file. 0, or -1 (see age_decryptor_status). */
int age_decrypt_update(struct age_decryptor *d, const void *buf, size_t len);
/* The file ended: 0 if it was complete and valid, else -1. */
int age_decrypt_finish(struct age_decryptor *d);
enum age_status age_decryptor_status(const struct age_decryptor *d);
/* "age: ..." saying what failed; "" if nothing did. */
const char *age_decryptor_error(const struct age_decryptor *d);
void age_decryptor_free(struct age_decryptor *d);

/*
 * Pull form: plaintext read from an age file pulled from SRC. Returns the
 * count, 0 at the verified end, -1 with errno (EBADMSG for a bad file, the
 * source's errno) and age_reader_error/age_reader_status set.
 */
struct age_reader;
struct age_reader *age_reader_new(const struct age_keys *keys,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg);
ssize_t age_read(struct age_reader *r, void *buf, size_t len);
enum age_status age_reader_status(const struct age_reader *r);
const char *age_reader_error(const struct age_reader *r);
void age_reader_free(struct age_reader *r);

#endif
