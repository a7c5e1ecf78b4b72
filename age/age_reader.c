/*
 * age_reader: decryption, pushed a piece at a time (a download as it
 * arrives) or pulled from a source (age_reader).
 *
 * Phases: the header is gathered (at most AGE_MAX_HEADER bytes) until the
 * line starting with "---" is complete, then checked and unwrapped
 * (age_header.c); the 16-byte nonce; then the STREAM chunks. Chunks are
 * taken as the age spec's decrypter takes them: a full-size chunk (65552
 * bytes) is tried as non-final, then as final, after which no byte may
 * follow; a shorter chunk at the end must be final, and may be empty only
 * as the first and only chunk. A chunk's plaintext goes to the sink only
 * after its tag verified, so a tampered object releases nothing past the
 * last good chunk, and a truncated one fails at its end.
 */
#include "age_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

enum phase { PH_HEADER = 0, PH_NONCE, PH_PAYLOAD, PH_DONE };

struct age_decryptor {
	const struct age_keys *keys;
	int (*sink)(void *arg, const void *buf, size_t len);
	void *arg;
	enum phase phase;
	char *hdr;		/* AGE_MAX_HEADER */
	size_t hlen, line;	/* bytes, start of the current line */
	uint8_t nonce[AGE_NONCE_LEN];
	size_t nlen;
	uint8_t key[32];
	struct age_aead *aead;
	uint8_t *ct;		/* AGE_CHUNK_CT */
	uint8_t *pt;		/* AGE_CHUNK */
	size_t fill;
	uint64_t counter;
	uint64_t in;		/* bytes fed */
	bool final_seen;
	enum age_status status;
	int sink_errno;
	char err[256];
};

__attribute__((format(printf, 3, 4))) static int
dec_fail(struct age_decryptor *d, enum age_status st, const char *fmt, ...)
{
	va_list ap;

	if (d->status == AGE_OK) {
		d->status = st;
		snprintf(d->err, sizeof(d->err), "age: ");
		va_start(ap, fmt);
		vsnprintf(d->err + 5, sizeof(d->err) - 5, fmt, ap);
		va_end(ap);
	}
	return -1;
}

struct age_decryptor *
age_decryptor_new(const struct age_keys *keys,
    int (*sink)(void *arg, const void *buf, size_t len), void *arg)
{
	struct age_decryptor *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->hdr = malloc(AGE_MAX_HEADER)) == NULL ||
	    (d->ct = malloc(AGE_CHUNK_CT)) == NULL ||
	    (d->pt = malloc(AGE_CHUNK)) == NULL ||
	    (d->aead = age_aead_new()) == NULL) {
		age_decryptor_free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->keys = keys;
	d->sink = sink;
	d->arg = arg;
	return d;
}

/* The first bytes tell an age file from anything else early. */
static int
check_start(struct age_decryptor *d)
{
	static const uint8_t lz4_magic[4] = { 0x04, 0x22, 0x4d, 0x18 };
	size_t ml = strlen(AGE_MAGIC);
	size_t n = d->hlen < ml ? d->hlen : ml;

	if (memcmp(d->hdr, AGE_MAGIC, n) == 0)
		return 0;
	if (d->hlen < 4 && memcmp(d->hdr, lz4_magic, d->hlen) == 0)
		return 0;	/* maybe LZ4: say so once it is sure */
	if (d->hlen >= 4 && memcmp(d->hdr, lz4_magic, 4) == 0)
		return dec_fail(d, AGE_FAIL_HEADER, "not encrypted (a plain "
		    "LZ4 frame), but this replica is configured with age");
	return dec_fail(d, AGE_FAIL_HEADER, "not an age-encrypted object");
}

/* Header bytes until the "---" line is complete. Returns bytes used. */
static long
feed_header(struct age_decryptor *d, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (d->hlen == AGE_MAX_HEADER)
			return dec_fail(d, AGE_FAIL_HEADER, "header longer "
			    "than %d bytes", AGE_MAX_HEADER);
		d->hdr[d->hlen++] = (char)p[i];
		if ((d->hlen <= strlen(AGE_MAGIC) || d->hlen == 4) &&
		    check_start(d) < 0)
			return -1;
		if (p[i] != '\n')
			continue;
		size_t l = d->line;
		d->line = d->hlen;
		if (d->hlen - l >= 4 && memcmp(d->hdr + l, "---", 3) == 0) {
			uint8_t fk[AGE_FILE_KEY_LEN];
			enum age_status st = age_header_open(d->hdr, d->hlen,
			    d->keys, fk, d->err, sizeof(d->err));
			if (st != AGE_OK) {
				d->status = st;
				return -1;
			}
			d->phase = PH_NONCE;
			memcpy(d->key, fk, AGE_FILE_KEY_LEN); /* until nonce */
			OPENSSL_cleanse(fk, sizeof(fk));
			return (long)(i + 1);
		}
	}
	return (long)i;
}

/* Opens the chunk in d->ct (FILL bytes) with flag LAST: 0 or -1. */
static int
open_chunk(struct age_decryptor *d, bool last)
{
	uint8_t nonce[12];

	age_chunk_nonce(d->counter, last, nonce);
	return age_aead_open(d->aead, d->key, nonce, d->ct, d->fill, d->pt);
}

static int
release(struct age_decryptor *d, size_t n)
{
	d->counter++;
	d->fill = 0;
	if (n > 0 && d->sink(d->arg, d->pt, n) < 0) {
		d->sink_errno = errno;
		return dec_fail(d, AGE_FAIL_SINK, "%s", strerror(errno));
	}
	return 0;
}

static int
full_chunk(struct age_decryptor *d)
{
	if (open_chunk(d, false) == 0)
		return release(d, AGE_CHUNK);
	if (open_chunk(d, true) == 0) {
		d->final_seen = true;
		return release(d, AGE_CHUNK);
	}
	return dec_fail(d, AGE_FAIL_PAYLOAD, "chunk %llu failed "
	    "authentication (tampered or corrupt object)",
	    (unsigned long long)d->counter);
}

int
age_decrypt_update(struct age_decryptor *d, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (d->status != AGE_OK)
		return -1;
	while (len > 0) {
		size_t n;
		switch (d->phase) {
		case PH_HEADER: {
			long used = feed_header(d, p, len);
			if (used < 0)
				return -1;
			n = (size_t)used;
			break;
		}
		case PH_NONCE:
			n = AGE_NONCE_LEN - d->nlen < len ?
			    AGE_NONCE_LEN - d->nlen : len;
			memcpy(d->nonce + d->nlen, p, n);
			d->nlen += n;
			if (d->nlen == AGE_NONCE_LEN) {
				uint8_t fk[AGE_FILE_KEY_LEN];
				memcpy(fk, d->key, sizeof(fk));
				int rc = age_payload_key(fk, d->nonce, d->key);
				OPENSSL_cleanse(fk, sizeof(fk));
				if (rc < 0)
					return dec_fail(d, AGE_FAIL_INTERNAL,
					    "HKDF failed");
				d->phase = PH_PAYLOAD;
			}
			break;
		case PH_PAYLOAD:
			if (d->final_seen)
				return dec_fail(d, AGE_FAIL_PAYLOAD, "data "
				    "after the final chunk");
			n = AGE_CHUNK_CT - d->fill < len ?
			    AGE_CHUNK_CT - d->fill : len;
			memcpy(d->ct + d->fill, p, n);
			d->fill += n;
			if (d->fill == AGE_CHUNK_CT && full_chunk(d) < 0)
				return -1;
			break;
		default:
			return dec_fail(d, AGE_FAIL_PAYLOAD, "data after the "
			    "end");
		}
		p += n;
		len -= n;
		d->in += n;
	}
	return 0;
}

int
age_decrypt_finish(struct age_decryptor *d)
{
	if (d->status != AGE_OK)
		return -1;
	switch (d->phase) {
	case PH_HEADER:
		return dec_fail(d, AGE_FAIL_HEADER, d->hlen == 0 ?
		    "empty object, no age header" : "truncated header (%zu "
		    "bytes, no MAC line)", d->hlen);
	case PH_NONCE:
		return dec_fail(d, AGE_FAIL_HEADER, "truncated: the payload "
		    "nonce is %zu of 16 bytes", d->nlen);
	case PH_DONE:
		return 0;
	case PH_PAYLOAD:
		break;
	}
	if (d->final_seen) {
		d->phase = PH_DONE;
		return 0;
	}
	if (d->fill == 0)
		return dec_fail(d, AGE_FAIL_PAYLOAD, "truncated: the object "
		    "ends before its final chunk (after %llu chunks)",
		    (unsigned long long)d->counter);
	if (d->fill < AGE_TAG_LEN)
		return dec_fail(d, AGE_FAIL_PAYLOAD, "truncated: chunk %llu "
		    "is shorter than its tag", (unsigned long long)d->counter);
	if (open_chunk(d, true) < 0)
		return dec_fail(d, AGE_FAIL_PAYLOAD, "chunk %llu failed "
		    "authentication as the final chunk (tampered, corrupt or "
		    "truncated object)", (unsigned long long)d->counter);
	size_t n = d->fill - AGE_TAG_LEN;
	if (n == 0 && d->counter != 0)
		return dec_fail(d, AGE_FAIL_PAYLOAD, "empty final chunk after "
		    "data");
	if (release(d, n) < 0)
		return -1;
	d->phase = PH_DONE;
	return 0;
}

enum age_status
age_decryptor_status(const struct age_decryptor *d)
{
	return d->status;
}

const char *
age_decryptor_error(const struct age_decryptor *d)
{
	return d->err;
}

void
age_decryptor_free(struct age_decryptor *d)
{
	if (d == NULL)
		return;
	free(d->hdr);
	free(d->ct);
	if (d->pt != NULL)
		OPENSSL_cleanse(d->pt, AGE_CHUNK);
	free(d->pt);
	age_aead_free(d->aead);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

/* ---- pull form ---------------------------------------------------------- */

struct age_reader {
	struct age_decryptor *d;
	ssize_t (*src)(void *arg, void *buf, size_t len);
	void *arg;
	uint8_t *in;		/* AGE_CHUNK_CT */
	uint8_t *out;		/* AGE_CHUNK: one chunk per feed */
	size_t outpos, outlen;
	bool done;
	int failed;
	char err[256];
};

static int
reader_sink(void *arg, const void *buf, size_t len)
{
	struct age_reader *r = arg;

	if (r->outlen + len > AGE_CHUNK) {
		errno = EOVERFLOW;	/* cannot happen: one chunk a feed */
		return -1;
	}
	memcpy(r->out + r->outlen, buf, len);
	r->outlen += len;
	return 0;
}

struct age_reader *
age_reader_new(const struct age_keys *keys,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg)
{
	struct age_reader *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->in = malloc(AGE_CHUNK_CT)) == NULL ||
	    (r->out = malloc(AGE_CHUNK)) == NULL ||
	    (r->d = age_decryptor_new(keys, reader_sink, r)) == NULL) {
		age_reader_free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->src = src;
	r->arg = arg;
	return r;
}

static ssize_t
reader_fail(struct age_reader *r, int e, const char *msg)
{
	r->failed = e;
	snprintf(r->err, sizeof(r->err), "%s", msg);
	errno = e;
	return -1;
}

ssize_t
age_read(struct age_reader *r, void *buf, size_t len)
{
	if (r->failed) {
		errno = r->failed;
		return -1;
	}
	while (r->outpos == r->outlen) {
		ssize_t n;
		if (r->done)
			return 0;
		r->outpos = r->outlen = 0;
		do {
			n = r->src(r->arg, r->in, AGE_CHUNK_CT);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			int e = errno ? errno : EIO;
			char msg[200];
			snprintf(msg, sizeof(msg), "read: %s", strerror(e));
			return reader_fail(r, e, msg);
		}
		if ((size_t)n > AGE_CHUNK_CT)
			return reader_fail(r, EIO, "source overran buffer");
		if ((n == 0 ? age_decrypt_finish(r->d) :
		    age_decrypt_update(r->d, r->in, (size_t)n)) < 0)
			return reader_fail(r, age_decryptor_status(r->d) ==
			    AGE_FAIL_SINK ? EIO : EBADMSG,
			    age_decryptor_error(r->d));
		r->done = n == 0;
	}
	size_t n = r->outlen - r->outpos < len ? r->outlen - r->outpos : len;
	memcpy(buf, r->out + r->outpos, n);
	r->outpos += n;
	return (ssize_t)n;
}

enum age_status
age_reader_status(const struct age_reader *r)
{
	return r->d ? age_decryptor_status(r->d) : AGE_FAIL_INTERNAL;
}

const char *
age_reader_error(const struct age_reader *r)
{
	return r->err;
}

void
age_reader_free(struct age_reader *r)
{
	if (r == NULL)
		return;
	age_decryptor_free(r->d);
	free(r->in);
	if (r->out != NULL)
		OPENSSL_cleanse(r->out, AGE_CHUNK);
	free(r->out);
	free(r);
}
