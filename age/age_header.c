/*
 * age_header: the age v1 header (X25519 recipients only).
 *
 *   age-encryption.org/v1
 *   -> X25519 <share: 43 base64 chars>
 *   <body: 43 base64 chars: the file key sealed to the recipient>
 *   --- <MAC: 43 base64 chars>
 *
 * A stanza is "-> " and arguments (1+ VCHAR each, single spaces), then
 * its body as base64 lines of exactly 64 columns ending with the first
 * shorter (maybe empty) line. Stanzas of other types are skipped after
 * their grammar is checked. An X25519 stanza with the wrong argument
 * count, share or body length is malformed (a header failure), never
 * "not for us"; only a tag mismatch on the body moves on to the next.
 * The MAC is HMAC-SHA-256 under HKDF(file key, "", "header") of the bytes
 * up to and including "---", checked after the file key is unwrapped.
 *
 * The header comes from untrusted storage: its length is capped by the
 * caller (AGE_MAX_HEADER), stanzas by AGE_MAX_STANZAS, and every piece is
 * measured before it is copied.
 */
#include "age_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define X25519_INFO "age-encryption.org/v1/X25519"
#define STANZA_HEAD "-> X25519 "
#define MAX_ARGS 16

struct stanza {
	const char *arg[MAX_ARGS];	/* into the header, not NUL-ended */
	size_t arglen[MAX_ARGS];
	size_t nargs;
	const char *body;		/* the base64 lines, with their LFs */
	size_t bodylen;
};

__attribute__((format(printf, 4, 5))) static enum age_status
fail(enum age_status st, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "age: ");

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return st;
}

static bool
vchar(char c)
{
	return c >= 0x21 && c <= 0x7e;
}

/* The stanza's body decoded into OUT (room for CAP bytes): the length,
 * or -1 if it is longer than CAP. The grammar was checked by parse(). */
static long
body_decode(const struct stanza *s, uint8_t *out, size_t cap)
{
	char b64[AGE_B64_LINE * 2];
	size_t n = 0;

	for (size_t i = 0; i < s->bodylen; i++) {
		if (s->body[i] == '\n')
			continue;
		if (n == sizeof(b64) || n / 4 * 3 + 3 > cap)
			return -1;
		b64[n++] = s->body[i];
	}
	return age_b64_decode(b64, n, out);
}

/* Splits the argument line [P, END) after "-> ". */
static enum age_status
parse_args(const char *p, const char *end, struct stanza *s, char *err,
    size_t errlen)
{
	s->nargs = 0;
	while (p <= end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *e = sp ? sp : end;
		if (e == p)
			return fail(AGE_FAIL_HEADER, err, errlen, "malformed "
			    "header: empty stanza argument");
		for (const char *q = p; q < e; q++)
			if (!vchar(*q))
				return fail(AGE_FAIL_HEADER, err, errlen,
				    "malformed header: bad character in a "
				    "stanza argument");
		if (s->nargs == MAX_ARGS)
			return fail(AGE_FAIL_HEADER, err, errlen, "malformed "
			    "header: more than %d stanza arguments",
			    MAX_ARGS);
		s->arg[s->nargs] = p;
		s->arglen[s->nargs++] = (size_t)(e - p);
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	return AGE_OK;
}

static bool
arg_is(const struct stanza *s, size_t i, const char *word)
{
	return s->arglen[i] == strlen(word) &&
	    memcmp(s->arg[i], word, s->arglen[i]) == 0;
}

/*
 * Parses HDR into stanzas and the MAC. *MAC_AT is the offset of the "---"
 * (the MAC covers HDR up to it plus 3). 0 or a failure.
 */
static enum age_status
parse(const char *hdr, size_t len, struct stanza *st, size_t *nst,
    uint8_t mac[32], size_t *mac_at, char *err, size_t errlen)
{
	const char *p = hdr, *end = hdr + len;
	size_t vl = strlen(AGE_VERSION_LINE);

	*nst = 0;
	if (memchr(hdr, '\r', len) != NULL)
		return fail(AGE_FAIL_HEADER, err, errlen, "malformed header: "
		    "carriage return in the header");
	if (len < vl + 1 || memcmp(p, AGE_VERSION_LINE "\n", vl + 1) != 0) {
		if (len >= strlen(AGE_MAGIC) &&
		    memcmp(p, AGE_MAGIC, strlen(AGE_MAGIC)) == 0)
			return fail(AGE_FAIL_HEADER, err, errlen,
			    "unsupported age format version");
		return fail(AGE_FAIL_HEADER, err, errlen, "not an age file");
	}
	p += vl + 1;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return fail(AGE_FAIL_HEADER, err, errlen, "malformed "
			    "header: no MAC line");
		if ((size_t)(nl - p) >= 3 && memcmp(p, "---", 3) == 0) {
			/* The MAC line: "--- " and 43 characters, last. */
			if (*nst == 0)
				return fail(AGE_FAIL_HEADER, err, errlen,
				    "malformed header: no recipient stanza");
			if (nl + 1 != end || nl - p != 4 + AGE_MAC_B64_LEN ||
			    p[3] != ' ' || age_b64_decode(p + 4,
			    AGE_MAC_B64_LEN, mac) != 32)
				return fail(AGE_FAIL_HEADER, err, errlen,
				    "malformed header: bad MAC line");
			*mac_at = (size_t)(p - hdr);
			return AGE_OK;
		}
		if ((size_t)(nl - p) < 3 || memcmp(p, "-> ", 3) != 0)
			return fail(AGE_FAIL_HEADER, err, errlen, "malformed "
			    "header: expected a stanza or the MAC line");
		if (*nst == AGE_MAX_STANZAS)
			return fail(AGE_FAIL_HEADER, err, errlen, "header "
			    "has more than %d stanzas", AGE_MAX_STANZAS);
		struct stanza *s = &st[(*nst)++];
		enum age_status rc = parse_args(p + 3, nl, s, err, errlen);
		if (rc != AGE_OK)
			return rc;
		/* Body lines: 64 columns each until a shorter one. */
		size_t nchars = 0;
		char last = 'A';
		p = nl + 1;
		s->body = p;
		for (;;) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				return fail(AGE_FAIL_HEADER, err, errlen,
				    "malformed header: stanza body not "
				    "ended");
			size_t ll = (size_t)(nl - p);
			if (ll > AGE_B64_LINE)
				return fail(AGE_FAIL_HEADER, err, errlen,
				    "malformed header: stanza body line "
				    "longer than 64 columns");
			for (size_t i = 0; i < ll; i++)
				if (!age_b64_char(p[i]))
					return fail(AGE_FAIL_HEADER, err,
					    errlen, "malformed header: "
					    "stanza body is not base64");
			nchars += ll;
			if (ll > 0)
				last = p[ll - 1];
			p = nl + 1;
			if (ll < AGE_B64_LINE)
				break;
		}
		s->bodylen = (size_t)(p - s->body);
		if (!age_b64_canonical_end(last, nchars))
			return fail(AGE_FAIL_HEADER, err, errlen, "malformed "
			    "header: stanza body is not canonical base64");
	}
}

/* An X25519 stanza's share and sealed file key, checked. */
static enum age_status
x25519_fields(const struct stanza *s, uint8_t share[32], uint8_t body[32],
    char *err, size_t errlen)
{
	uint8_t tmp[AGE_B64_LINE * 3];

	if (s->nargs != 2)
		return fail(AGE_FAIL_HEADER, err, errlen, "malformed X25519 "
		    "stanza: %zu arguments, want 1", s->nargs - 1);
	if (s->arglen[1] != 43 || age_b64_decode(s->arg[1], 43, tmp) != 32)
		return fail(AGE_FAIL_HEADER, err, errlen, "malformed X25519 "
		    "stanza: the share is not 32 canonical base64 bytes");
	memcpy(share, tmp, 32);
	if (body_decode(s, tmp, sizeof(tmp)) != 32)
		return fail(AGE_FAIL_HEADER, err, errlen, "malformed X25519 "
		    "stanza: the body is not 32 canonical base64 bytes");
	memcpy(body, tmp, 32);
	return AGE_OK;
}

/* 0 unwrapped, 1 not for this identity, -1 malformed (header failure). */
static int
unwrap(const struct age_identity *id, const uint8_t share[32],
    const uint8_t body[32], struct age_aead *aead, uint8_t *file_key)
{
	uint8_t shared[32], salt[64], key[32];
	static const uint8_t zero[12];
	int rc;

	if (age_x25519(id->secret, share, shared) < 0)
		return -1;
	memcpy(salt, share, 32);
	memcpy(salt + 32, id->pub, 32);
	if (age_hkdf(shared, 32, salt, 64, X25519_INFO, key) < 0)
		rc = -1;
	else
		rc = age_aead_open(aead, key, zero, body, 32, file_key) == 0 ?
		    0 : 1;
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

enum age_status
age_header_open(const char *hdr, size_t len, const struct age_keys *keys,
    uint8_t file_key[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	struct stanza st[AGE_MAX_STANZAS];
	uint8_t mac[32], want[32], hkey[32];
	uint8_t shares[AGE_MAX_STANZAS][32], bodies[AGE_MAX_STANZAS][32];
	bool is_x[AGE_MAX_STANZAS] = { 0 };
	size_t nst, mac_at = 0;
	enum age_status rc;
	bool found = false;
	struct age_aead *aead;

	if ((rc = parse(hdr, len, st, &nst, mac, &mac_at, err, errlen)) !=
	    AGE_OK)
		return rc;
	for (size_t i = 0; i < nst; i++) {
		if (arg_is(&st[i], 0, "scrypt") && nst > 1)
			return fail(AGE_FAIL_HEADER, err, errlen, "malformed "
			    "header: an scrypt stanza must be alone");
		if (!arg_is(&st[i], 0, "X25519"))
			continue;
		if ((rc = x25519_fields(&st[i], shares[i], bodies[i], err,
		    errlen)) != AGE_OK)
			return rc;
		is_x[i] = true;
	}
	if ((aead = age_aead_new()) == NULL)
		return fail(AGE_FAIL_INTERNAL, err, errlen, "out of memory");
	for (size_t i = 0; i < nst && !found; i++) {
		for (size_t j = 0; is_x[i] && j < keys->nids && !found; j++) {
			int u = unwrap(&keys->ids[j], shares[i], bodies[i],
			    aead, file_key);
			if (u < 0) {
				age_aead_free(aead);
				return fail(AGE_FAIL_HEADER, err, errlen,
				    "malformed X25519 stanza: its share is "
				    "a low-order point");
			}
			found = u == 0;
		}
	}
	age_aead_free(aead);
	if (!found)
		return fail(AGE_FAIL_NO_MATCH, err, errlen, keys->nids == 0 ?
		    "no identity to decrypt with" : "no identity matches "
		    "(the object was encrypted to other recipients: wrong "
		    "key?)");
	if (age_hkdf(file_key, AGE_FILE_KEY_LEN, NULL, 0, "header", hkey) < 0 ||
	    age_hmac(hkey, hdr, mac_at + 3, want) < 0) {
		OPENSSL_cleanse(hkey, sizeof(hkey));
		return fail(AGE_FAIL_INTERNAL, err, errlen, "HKDF or HMAC "
		    "failed");
	}
	OPENSSL_cleanse(hkey, sizeof(hkey));
	if (CRYPTO_memcmp(want, mac, 32) != 0) {
		OPENSSL_cleanse(file_key, AGE_FILE_KEY_LEN);
		return fail(AGE_FAIL_HMAC, err, errlen, "header MAC does not "
		    "verify (tampered or corrupt header)");
	}
	return AGE_OK;
}

size_t
age_header_len(size_t nrcpts)
{
	/* version LF, per stanza: "-> X25519 " share LF body LF, MAC line. */
	return strlen(AGE_VERSION_LINE) + 1 +
	    nrcpts * (strlen(STANZA_HEAD) + 43 + 1 + 43 + 1) +
	    4 + AGE_MAC_B64_LEN + 1;
}

int
age_header_seal(const struct age_keys *keys,
    const uint8_t file_key[AGE_FILE_KEY_LEN], char *out, char *err,
    size_t errlen)
{
	static const uint8_t zero[12];
	uint8_t eph[32], share[32], shared[32], salt[64], key[32], body[32];
	uint8_t mac[32];
	struct age_aead *aead = age_aead_new();
	size_t o = 0;
	int rc = -1;

	if (aead == NULL) {
		snprintf(err, errlen, "age: out of memory");
		return -1;
	}
	o += (size_t)sprintf(out, "%s\n", AGE_VERSION_LINE);
	for (size_t i = 0; i < keys->nrcpts; i++) {
		/* A fresh ephemeral key for every stanza of every file. */
		if (age_random(eph, sizeof(eph)) < 0 ||
		    age_x25519_base(eph, share) < 0) {
			snprintf(err, errlen, "age: cannot make an ephemeral "
			    "key");
			goto out;
		}
		if (age_x25519(eph, keys->rcpts[i], shared) < 0) {
			snprintf(err, errlen, "age: recipient %zu is not a "
			    "usable X25519 key", i + 1);
			goto out;
		}
		memcpy(salt, share, 32);
		memcpy(salt + 32, keys->rcpts[i], 32);
		if (age_hkdf(shared, 32, salt, 64, X25519_INFO, key) < 0 ||
		    age_aead_seal(aead, key, zero, file_key,
		    AGE_FILE_KEY_LEN, body) < 0) {
			snprintf(err, errlen, "age: cannot wrap the file key");
			goto out;
		}
		o += (size_t)sprintf(out + o, "%s", STANZA_HEAD);
		age_b64_encode(share, 32, out + o);
		o += 43;
		out[o++] = '\n';
		age_b64_encode(body, 32, out + o);
		o += 43;
		out[o++] = '\n';
	}
	memcpy(out + o, "---", 3);
	o += 3;
	if (age_hkdf(file_key, AGE_FILE_KEY_LEN, NULL, 0, "header", key) < 0 ||
	    age_hmac(key, out, o, mac) < 0) {
		snprintf(err, errlen, "age: cannot compute the header MAC");
		goto out;
	}
	out[o++] = ' ';
	age_b64_encode(mac, 32, out + o);
	o += AGE_MAC_B64_LEN;
	out[o++] = '\n';
	rc = 0;
out:
	OPENSSL_cleanse(eph, sizeof(eph));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(key, sizeof(key));
	age_aead_free(aead);
	return rc;
}

int
age_payload_key(const uint8_t file_key[AGE_FILE_KEY_LEN],
    const uint8_t nonce[AGE_NONCE_LEN], uint8_t key[32])
{
	return age_hkdf(file_key, AGE_FILE_KEY_LEN, nonce, AGE_NONCE_LEN,
	    "payload", key);
}

void
age_chunk_nonce(uint64_t counter, bool last, uint8_t nonce[12])
{
	memset(nonce, 0, 12);
	for (int i = 0; i < 8; i++)
		nonce[10 - i] = (uint8_t)(counter >> (8 * i));
	nonce[11] = last ? 1 : 0;
}
