/*
 * age_writer: encryption. The header (a fresh file key wrapped to each
 * recipient) and the 16-byte payload nonce go out with the first write
 * or at finish; then plaintext is gathered in one 64 KiB chunk buffer.
 * A full chunk is sealed as non-final only once more plaintext arrives,
 * so the last chunk (flag 1) is full-size when the length is an exact
 * multiple of 64 KiB, and is empty only when the whole plaintext is:
 * never an empty final chunk after data, which age 1.1.1 (inside
 * Litestream) rejects.
 *
 * age_encsrc turns the push writer into a pull source: each read pulls at
 * most one chunk of plaintext, so at most the header and one sealed chunk
 * wait in its buffer.
 */
#include "age_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct age_writer {
	const struct age_keys *keys;
	int (*sink)(void *arg, const void *buf, size_t len);
	void *arg;
	struct age_aead *aead;
	uint8_t file_key[AGE_FILE_KEY_LEN];
	uint8_t key[32];		/* payload key */
	uint8_t *plain;			/* AGE_CHUNK */
	uint8_t *sealed;		/* AGE_CHUNK_CT */
	size_t fill;
	uint64_t counter;
	bool started, finished;
	int failed;			/* errno of the first failure */
	char err[256];
};

uint64_t
age_encrypted_size(size_t nrcpts, uint64_t plain)
{
	uint64_t chunks = plain == 0 ? 1 : (plain + AGE_CHUNK - 1) / AGE_CHUNK;

	return age_header_len(nrcpts) + AGE_NONCE_LEN + plain +
	    chunks * AGE_TAG_LEN;
}

struct age_writer *
age_writer_new(const struct age_keys *keys,
    int (*sink)(void *arg, const void *buf, size_t len), void *arg,
    char *err, size_t errlen)
{
	struct age_writer *w;

	if (keys->nrcpts == 0) {
		snprintf(err, errlen, "age: no recipient to encrypt to");
		errno = EINVAL;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->plain = malloc(AGE_CHUNK)) == NULL ||
	    (w->sealed = malloc(AGE_CHUNK_CT)) == NULL ||
	    (w->aead = age_aead_new()) == NULL) {
		age_writer_free(w);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	w->keys = keys;
	w->sink = sink;
	w->arg = arg;
	return w;
}

static int
writer_fail(struct age_writer *w, int e, const char *msg)
{
	if (!w->failed) {
		w->failed = e ? e : EIO;
		if (msg != NULL)
			snprintf(w->err, sizeof(w->err), "%s", msg);
	}
	errno = w->failed;
	return -1;
}

/* The header and the payload nonce. */
static int
start(struct age_writer *w)
{
	size_t hl = age_header_len(w->keys->nrcpts);
	uint8_t nonce[AGE_NONCE_LEN];
	char *hdr = malloc(hl + 1);	/* sprintf's NUL */
	int rc = -1;

	if (hdr == NULL)
		return writer_fail(w, ENOMEM, "out of memory");
	if (age_random(w->file_key, AGE_FILE_KEY_LEN) < 0 ||
	    age_random(nonce, sizeof(nonce)) < 0 ||
	    age_payload_key(w->file_key, nonce, w->key) < 0) {
		writer_fail(w, EIO, "age: no random bytes or HKDF failed");
	} else if (age_header_seal(w->keys, w->file_key, hdr, w->err,
	    sizeof(w->err)) < 0) {
		writer_fail(w, EINVAL, NULL);
	} else if (w->sink(w->arg, hdr, hl) < 0 ||
	    w->sink(w->arg, nonce, sizeof(nonce)) < 0) {
		writer_fail(w, errno, NULL);
	} else {
		w->started = true;
		rc = 0;
	}
	OPENSSL_cleanse(w->file_key, sizeof(w->file_key));
	free(hdr);
	return rc;
}

static int
seal(struct age_writer *w, bool last)
{
	uint8_t nonce[12];

	age_chunk_nonce(w->counter, last, nonce);
	if (age_aead_seal(w->aead, w->key, nonce, w->plain, w->fill,
	    w->sealed) < 0)
		return writer_fail(w, EIO, "age: ChaCha20-Poly1305 failed");
	if (w->sink(w->arg, w->sealed, w->fill + AGE_TAG_LEN) < 0)
		return writer_fail(w, errno, NULL);
	w->counter++;
	w->fill = 0;
	return 0;
}

int
age_write(struct age_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (w->failed || w->finished)
		return writer_fail(w, w->failed ? w->failed : EINVAL,
		    "age: write after finish");
	if (!w->started && start(w) < 0)
		return -1;
	while (len > 0) {
		if (w->fill == AGE_CHUNK && seal(w, false) < 0)
			return -1;
		size_t n = AGE_CHUNK - w->fill < len ? AGE_CHUNK - w->fill :
		    len;
		memcpy(w->plain + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
age_writer_finish(struct age_writer *w)
{
	if (w->failed || w->finished)
		return writer_fail(w, w->failed ? w->failed : EINVAL,
		    "age: finished twice");
	if (!w->started && start(w) < 0)
		return -1;
	if (seal(w, true) < 0)
		return -1;
	w->finished = true;
	return 0;
}

const char *
age_writer_error(const struct age_writer *w)
{
	return w->err;
}

void
age_writer_free(struct age_writer *w)
{
	if (w == NULL)
		return;
	if (w->plain != NULL)
		OPENSSL_cleanse(w->plain, AGE_CHUNK);
	free(w->plain);
	free(w->sealed);
	age_aead_free(w->aead);
	OPENSSL_cleanse(w, sizeof(*w));
	free(w);
}

/* ---- pull form ---------------------------------------------------------- */

struct age_encsrc {
	struct age_writer *w;
	ssize_t (*src)(void *arg, void *buf, size_t len);
	void *arg;
	uint8_t *in;		/* AGE_CHUNK of plaintext */
	uint8_t *out;		/* header + nonce + one sealed chunk */
	size_t outcap, outpos, outlen;
	bool eof;
	char err[256];
};

static int
encsrc_sink(void *arg, const void *buf, size_t len)
{
	struct age_encsrc *e = arg;

	if (e->outlen + len > e->outcap) {
		errno = EOVERFLOW;	/* cannot happen: one chunk a read */
		return -1;
	}
	memcpy(e->out + e->outlen, buf, len);
	e->outlen += len;
	return 0;
}

struct age_encsrc *
age_encsrc_new(const struct age_keys *keys,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg, char *err,
    size_t errlen)
{
	struct age_encsrc *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->src = src;
	e->arg = arg;
	e->outcap = age_header_len(keys->nrcpts) + AGE_NONCE_LEN +
	    AGE_CHUNK_CT;
	if ((e->w = age_writer_new(keys, encsrc_sink, e, err, errlen)) ==
	    NULL || (e->in = malloc(AGE_CHUNK)) == NULL ||
	    (e->out = malloc(e->outcap)) == NULL) {
		if (e->w != NULL)
			snprintf(err, errlen, "out of memory");
		age_encsrc_free(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

ssize_t
age_encsrc_read(struct age_encsrc *e, void *buf, size_t len)
{
	while (e->outpos == e->outlen) {
		ssize_t n;
		if (e->eof)
			return 0;
		e->outpos = e->outlen = 0;
		do {
			n = e->src(e->arg, e->in, AGE_CHUNK);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			int er = errno;
			snprintf(e->err, sizeof(e->err), "reading the "
			    "plaintext: %s", strerror(er));
			errno = er;
			return -1;
		}
		if ((size_t)n > AGE_CHUNK) {
			snprintf(e->err, sizeof(e->err), "source overran");
			errno = EIO;
			return -1;
		}
		if ((n == 0 ? age_writer_finish(e->w) :
		    age_write(e->w, e->in, (size_t)n)) < 0) {
			int er = errno;
			snprintf(e->err, sizeof(e->err), "%s",
			    age_writer_error(e->w));
			errno = er;
			return -1;
		}
		e->eof = n == 0;
	}
	size_t n = e->outlen - e->outpos < len ? e->outlen - e->outpos : len;
	memcpy(buf, e->out + e->outpos, n);
	e->outpos += n;
	return (ssize_t)n;
}

const char *
age_encsrc_error(const struct age_encsrc *e)
{
	return e->err;
}

void
age_encsrc_free(struct age_encsrc *e)
{
	if (e == NULL)
		return;
	age_writer_free(e->w);
	if (e->in != NULL)
		OPENSSL_cleanse(e->in, AGE_CHUNK);
	free(e->in);
	free(e->out);
	free(e);
}
