/*
 * The age module (age/): the public age testkit vectors (every binary
 * X25519 case: outcome and the hash of the plaintext released), Bech32
 * keys, round trips at chunk boundaries, tampered and truncated objects,
 * the pull forms, key files, and an object Litestream v0.3.13 wrote.
 *
 * Vectors are read from tests/unit/age_vectors (the runner's cwd is the
 * repository root), or from $AGE_VECTORS.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "age.h"
#include "test.h"

static const char *
vectors(void)
{
	const char *d = getenv("AGE_VECTORS");
	return d != NULL && *d != '\0' ? d : "tests/unit/age_vectors";
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
	    fread(p, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
		p[n] = 0;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* A sink hashing what it is given (and counting it). */
struct hsink {
	EVP_MD_CTX *md;
	uint64_t n;
	uint8_t *keep;		/* optional copy */
	size_t cap;
};

static int
hsink(void *arg, const void *buf, size_t len)
{
	struct hsink *h = arg;

	EVP_DigestUpdate(h->md, buf, len);
	if (h->keep != NULL && h->n + len <= h->cap)
		memcpy(h->keep + h->n, buf, len);
	h->n += len;
	return 0;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void
hsink_hex(struct hsink *h, char out[65])
{
	uint8_t d[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->md, d, &n);
	hex(d, 32, out);
}

/* ---- the testkit ----------------------------------------------------- */

struct vector {
	char expect[32];
	char payload[65];
	struct age_keys keys;
	bool zlib;
	bool skip;
	uint8_t *body;
	size_t bodylen;
};

static const char *
status_name(enum age_status st)
{
	switch (st) {
	case AGE_OK: return "success";
	case AGE_FAIL_HEADER: return "header failure";
	case AGE_FAIL_NO_MATCH: return "no match";
	case AGE_FAIL_HMAC: return "HMAC failure";
	case AGE_FAIL_PAYLOAD: return "payload failure";
	case AGE_FAIL_SINK: return "sink failure";
	case AGE_FAIL_INTERNAL: return "internal failure";
	}
	return "?";
}

static int
parse_vector(uint8_t *data, size_t len, struct vector *v, char *why)
{
	char *p = (char *)data;
	uint8_t *end = memmem(data, len, "\n\n", 2);

	memset(v, 0, sizeof(*v));
	if (end == NULL) {
		strcpy(why, "no blank line");
		return -1;
	}
	*end = '\0';
	v->body = end + 2;
	v->bodylen = len - (size_t)(end + 2 - data);
	for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n")) {
		char *colon = strstr(line, ": ");
		if (colon == NULL) {
			strcpy(why, "bad header line");
			return -1;
		}
		*colon = '\0';
		const char *val = colon + 2;
		if (strcmp(line, "expect") == 0)
			snprintf(v->expect, sizeof(v->expect), "%s", val);
		else if (strcmp(line, "payload") == 0)
			snprintf(v->payload, sizeof(v->payload), "%s", val);
		else if (strcmp(line, "identity") == 0) {
			char e[200];
			if (age_keys_add_identity(&v->keys, val, e,
			    sizeof(e)) < 0) {
				snprintf(why, 256, "identity: %.200s", e);
				return -1;
			}
		} else if (strcmp(line, "compressed") == 0)
			v->zlib = strcmp(val, "zlib") == 0;
		else if (strcmp(line, "file key") != 0 &&
		    strcmp(line, "comment") != 0 &&
		    strcmp(line, "passphrase") != 0)
			v->skip = true;	/* unknown keys: skip, as upstream */
	}
	return 0;
}

/* Feeds the age file to D in uneven pieces, inflating it first if so. */
static int
feed(struct age_decryptor *d, const struct vector *v)
{
	static const size_t steps[] = { 1, 7, 4096, 65552, 100000 };
	size_t si = 0;

	if (!v->zlib) {
		for (size_t off = 0; off < v->bodylen;) {
			size_t n = steps[si++ % 5];
			if (n > v->bodylen - off)
				n = v->bodylen - off;
			if (age_decrypt_update(d, v->body + off, n) < 0)
				return -1;
			off += n;
		}
		return age_decrypt_finish(d);
	}
	z_stream z = { 0 };
	uint8_t out[50000];
	int rc = 0, zr;
	if (inflateInit(&z) != Z_OK)
		return -2;
	z.next_in = v->body;
	z.avail_in = (uInt)v->bodylen;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			rc = -2;
			break;
		}
		if (age_decrypt_update(d, out, sizeof(out) - z.avail_out) < 0) {
			rc = -1;
			break;
		}
	} while (zr != Z_STREAM_END);
	inflateEnd(&z);
	return rc == 0 ? age_decrypt_finish(d) : rc;
}

TEST(testkit)
{
	char dir[512], path[1024], why[256];
	struct dirent *de;
	int total = 0, by_kind[8] = { 0 };

	snprintf(dir, sizeof(dir), "%s/testkit", vectors());
	DIR *dp = opendir(dir);
	ASSERT(dp != NULL);
	while ((de = readdir(dp)) != NULL) {
		size_t len;
		struct vector v;
		struct hsink h = { 0 };
		char got[65];
		if (de->d_name[0] == '.')
			continue;
		h.md = EVP_MD_CTX_new();
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		uint8_t *data = slurp(path, &len);
		if (data == NULL || parse_vector(data, len, &v, why) < 0) {
			EVP_MD_CTX_free(h.md);
			free(data);
			closedir(dp);
			TEST_FAIL_("%s: %s", de->d_name, data ? why : "read");
		}
		ASSERT(!v.skip);
		EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
		struct age_decryptor *d = age_decryptor_new(&v.keys, hsink, &h);
		int rc = feed(d, &v);
		enum age_status st = age_decryptor_status(d);
		char err[256];
		snprintf(err, sizeof(err), "%s", age_decryptor_error(d));
		age_decryptor_free(d);
		hsink_hex(&h, got);
		EVP_MD_CTX_free(h.md);
		age_keys_clear(&v.keys);
		const char *kind = status_name(st);
		/* An scrypt stanza beside X25519: we reject the header (the
		 * spec's rule); "no match" is an allowed alias. */
		bool ok = strcmp(kind, v.expect) == 0 && (rc == 0) ==
		    (st == AGE_OK);
		if (v.payload[0] && strcmp(got, v.payload) != 0)
			ok = false;
		if (!v.payload[0] && h.n != 0)
			ok = false;	/* nothing may be released */
		if (st != AGE_OK && strncmp(err, "age: ", 5) != 0)
			ok = false;
		if (!ok) {
			free(data);
			closedir(dp);
			TEST_FAIL_("%s: expect %s, got %s (%s), released %llu "
			    "bytes %s", de->d_name, v.expect, kind, err,
			    (unsigned long long)h.n, got);
		}
		by_kind[st]++;
		total++;
		free(data);
	}
	closedir(dp);
	ASSERT_INT_EQ(total, 68);
	ASSERT_INT_EQ(by_kind[AGE_OK], 14);
	ASSERT_INT_EQ(by_kind[AGE_FAIL_HEADER], 32);
	ASSERT_INT_EQ(by_kind[AGE_FAIL_HMAC], 1);
	ASSERT_INT_EQ(by_kind[AGE_FAIL_NO_MATCH], 3);
	ASSERT_INT_EQ(by_kind[AGE_FAIL_PAYLOAD], 18);
}

/* ---- keys --------------------------------------------------------------- */

TEST(bech32_spec_example)
{
	const char *id = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPY"
	    "YSJZGFPYYSJZGFPQ4EGAEX";
	struct age_keys k = { 0 };
	char err[200], rcpt[AGE_RECIPIENT_STRLEN + 1],
	    back[AGE_IDENTITY_STRLEN + 1];
	uint8_t pub[AGE_KEY_LEN];

	ASSERT_INT_EQ(age_keys_add_identity(&k, id, err, sizeof(err)), 0);
	ASSERT_INT_EQ(age_format_recipient(k.ids[0].pub, rcpt, sizeof(rcpt)),
	    0);
	ASSERT_STR_EQ(rcpt, "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869x"
	    "eexvn73equnujwj");
	ASSERT_INT_EQ(age_format_identity(k.ids[0].secret, back, sizeof(back)),
	    0);
	ASSERT_STR_EQ(back, id);
	ASSERT_INT_EQ(age_parse_recipient(rcpt, pub, err, sizeof(err)), 0);
	ASSERT_MEM_EQ(pub, k.ids[0].pub, AGE_KEY_LEN);
	age_keys_clear(&k);
}

TEST(bad_keys)
{
	uint8_t out[AGE_KEY_LEN];
	char err[200];
	const char *good = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn"
	    "73equnujwj";
	char s[100];

	/* One character changed: checksum. */
	snprintf(s, sizeof(s), "%s", good);
	s[10] = s[10] == 'q' ? 'p' : 'q';
	ASSERT_INT_EQ(age_parse_recipient(s, out, err, sizeof(err)), -1);
	ASSERT(strstr(err, "checksum") != NULL);
	/* Mixed case. */
	snprintf(s, sizeof(s), "%s", good);
	s[5] = (char)(s[5] - 32);
	ASSERT_INT_EQ(age_parse_recipient(s, out, err, sizeof(err)), -1);
	/* Upper case as a whole is the same key. */
	for (size_t i = 0; s[i]; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 32);
	ASSERT_INT_EQ(age_parse_recipient(s, out, err, sizeof(err)), -1);
	/* Truncated; an identity where a recipient belongs. */
	snprintf(s, sizeof(s), "%.*s", 40, good);
	ASSERT_INT_EQ(age_parse_recipient(s, out, err, sizeof(err)), -1);
	ASSERT_INT_EQ(age_parse_recipient("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFP"
	    "YYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", out, err, sizeof(err)),
	    -1);
	/* The message never quotes the key. */
	ASSERT_INT_EQ(age_parse_identity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFP"
	    "YYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEQ", out, err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "GFPYY") == NULL);
}

/* ---- round trips ------------------------------------------------------- */

static void
fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

struct buf {
	uint8_t *p;
	size_t len, cap, pos;
};

static int
buf_sink(void *arg, const void *data, size_t len)
{
	struct buf *b = arg;

	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		uint8_t *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static ssize_t
buf_source(void *arg, void *out, size_t len)
{
	struct buf *b = arg;
	size_t n = b->len - b->pos;

	if (n > len)
		n = len;
	if (n > 1000)
		n -= 7;		/* uneven reads */
	memcpy(out, b->p + b->pos, n);
	b->pos += n;
	return (ssize_t)n;
}

static struct age_keys
test_keys(int n)
{
	struct age_keys k = { 0 };
	char err[200], id[AGE_IDENTITY_STRLEN + 1];
	uint8_t secret[AGE_KEY_LEN];

	for (int i = 0; i < n; i++) {
		fill_pattern(secret, sizeof(secret), (uint32_t)(i + 1) * 77);
		age_format_identity(secret, id, sizeof(id));
		age_keys_add_identity(&k, id, err, sizeof(err));
	}
	age_keys_recipients_from_identities(&k);
	return k;
}

static int
encrypt_buf(const struct age_keys *k, const uint8_t *p, size_t n,
    struct buf *out)
{
	char err[200];
	struct age_writer *w = age_writer_new(k, buf_sink, out, err,
	    sizeof(err));
	int rc = -1;

	if (w == NULL)
		return -1;
	/* In odd pieces, to cross chunk boundaries inside a write. */
	size_t off = 0, step = 1;
	while (off < n) {
		size_t m = step < n - off ? step : n - off;
		if (age_write(w, p + off, m) < 0)
			goto out;
		off += m;
		step = step * 3 + 1;
	}
	rc = age_writer_finish(w);
out:
	age_writer_free(w);
	return rc;
}

/* Decrypts IN with K through the pull reader: status, output in OUT. */
static enum age_status
decrypt_buf(const struct age_keys *k, struct buf *in, struct buf *out,
    char *err, size_t errlen)
{
	struct age_reader *r = age_reader_new(k, buf_source, in);
	uint8_t tmp[10000];
	ssize_t n;

	in->pos = 0;
	while ((n = age_read(r, tmp, sizeof(tmp))) > 0)
		buf_sink(out, tmp, (size_t)n);
	enum age_status st = n == 0 ? AGE_OK : age_reader_status(r);
	snprintf(err, errlen, "%s", n == 0 ? "" : age_reader_error(r));
	age_reader_free(r);
	return st;
}

TEST(round_trip_sizes)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 131072,
		3 * 65536 + 5, 1000000 };
	struct age_keys k = test_keys(2);
	struct age_keys second = { 0 };
	uint8_t *plain = malloc(1000000);
	char err[256];

	ASSERT(plain != NULL);
	fill_pattern(plain, 1000000, 42);
	/* Decrypting with the second identity alone works too. */
	second.ids = &k.ids[1];
	second.nids = 1;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct buf ct = { 0 }, pt = { 0 };
		ASSERT_INT_EQ(encrypt_buf(&k, plain, sizes[i], &ct), 0);
		ASSERT_INT_EQ(ct.len, age_encrypted_size(2, sizes[i]));
		ASSERT(memcmp(ct.p, "age-encryption.org/v1\n-> X25519 ", 32) ==
		    0);
		enum age_status st = decrypt_buf(&second, &ct, &pt, err,
		    sizeof(err));
		if (st != AGE_OK)
			TEST_FAIL_("size %zu: %s", sizes[i], err);
		ASSERT_INT_EQ(pt.len, sizes[i]);
		if (sizes[i] > 0)
			ASSERT_MEM_EQ(pt.p, plain, sizes[i]);
		free(ct.p);
		free(pt.p);
	}
	free(plain);
	age_keys_clear(&k);
}

TEST(same_input_new_ciphertext)
{
	struct age_keys k = test_keys(1);
	struct buf a = { 0 }, b = { 0 };

	ASSERT_INT_EQ(encrypt_buf(&k, (const uint8_t *)"same", 4, &a), 0);
	ASSERT_INT_EQ(encrypt_buf(&k, (const uint8_t *)"same", 4, &b), 0);
	ASSERT_INT_EQ(a.len, b.len);
	/* A fresh ephemeral share, file key and nonce every time. */
	ASSERT(memcmp(a.p, b.p, a.len) != 0);
	free(a.p);
	free(b.p);
	age_keys_clear(&k);
}

TEST(wrong_key_and_plain_input)
{
	struct age_keys k = test_keys(1), other = test_keys(3);
	struct age_keys other_only = { .ids = &other.ids[2], .nids = 1 };
	struct age_keys none = { 0 };
	struct buf ct = { 0 }, pt = { 0 }, lz = { 0 };
	char err[256];
	static const uint8_t lz4[] = { 0x04, 0x22, 0x4d, 0x18, 0x64, 0x70 };

	ASSERT_INT_EQ(encrypt_buf(&k, (const uint8_t *)"secret", 6, &ct), 0);
	ASSERT_INT_EQ(decrypt_buf(&other_only, &ct, &pt, err, sizeof(err)),
	    AGE_FAIL_NO_MATCH);
	ASSERT(strstr(err, "no identity matches") != NULL);
	ASSERT_INT_EQ(decrypt_buf(&none, &ct, &pt, err, sizeof(err)),
	    AGE_FAIL_NO_MATCH);
	ASSERT_INT_EQ(pt.len, 0);
	buf_sink(&lz, lz4, sizeof(lz4));
	ASSERT_INT_EQ(decrypt_buf(&k, &lz, &pt, err, sizeof(err)),
	    AGE_FAIL_HEADER);
	ASSERT(strstr(err, "not encrypted") != NULL);
	free(ct.p);
	free(lz.p);
	age_keys_clear(&k);
	age_keys_clear(&other);
}

TEST(tamper_every_region)
{
	struct age_keys k = test_keys(1);
	uint8_t *plain = malloc(200000);
	struct buf ct = { 0 };
	size_t hl;
	char err[256];

	fill_pattern(plain, 200000, 9);
	ASSERT_INT_EQ(encrypt_buf(&k, plain, 200000, &ct), 0);
	hl = (size_t)((uint8_t *)memmem(ct.p, ct.len, "\n---", 4) - ct.p) + 49;
	struct {
		size_t at;
		enum age_status want;
		uint64_t released;	/* at most */
	} cases[] = {
		{ 5, AGE_FAIL_HEADER, 0 },		/* version line */
		{ 40, AGE_FAIL_NO_MATCH, 0 },		/* share */
		{ 80, AGE_FAIL_NO_MATCH, 0 },		/* sealed file key */
		{ hl - 10, AGE_FAIL_HMAC, 0 },		/* the MAC */
		{ hl + 3, AGE_FAIL_PAYLOAD, 0 },	/* payload nonce */
		{ hl + 16 + 100, AGE_FAIL_PAYLOAD, 0 },	/* chunk 0 */
		{ hl + 16 + 65552 + 5, AGE_FAIL_PAYLOAD, 65536 },
		{ ct.len - 1, AGE_FAIL_PAYLOAD, 196608 }, /* the last tag */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf pt = { 0 };
		uint8_t was = ct.p[cases[i].at];
		/* In the base64 of the header, another base64 character. */
		if (cases[i].at > 22 && cases[i].at < hl)
			ct.p[cases[i].at] = was == 'A' ? 'B' : 'A';
		else
			ct.p[cases[i].at] ^= 0x01;
		enum age_status st = decrypt_buf(&k, &ct, &pt, err,
		    sizeof(err));
		ct.p[cases[i].at] = was;
		if (st != cases[i].want || pt.len > cases[i].released)
			TEST_FAIL_("byte %zu: got %s (%s), released %zu",
			    cases[i].at, status_name(st), err, pt.len);
		free(pt.p);
	}
	/* Truncated anywhere: fails, never releases the whole plaintext. */
	size_t full = ct.len;
	for (size_t cut = 0; cut < full; cut += cut < 400 ? 1 : 997) {
		struct buf pt = { 0 };
		ct.len = cut;
		enum age_status st = decrypt_buf(&k, &ct, &pt, err,
		    sizeof(err));
		if (st == AGE_OK || pt.len >= 200000)
			TEST_FAIL_("cut at %zu: %s, released %zu", cut,
			    status_name(st), pt.len);
		free(pt.p);
	}
	/* Trailing bytes after the final chunk. */
	ct.len = full;
	buf_sink(&ct, "x", 1);
	struct buf pt = { 0 };
	ASSERT_INT_EQ(decrypt_buf(&k, &ct, &pt, err, sizeof(err)),
	    AGE_FAIL_PAYLOAD);
	free(pt.p);
	free(ct.p);
	free(plain);
	age_keys_clear(&k);
}

TEST(header_is_bounded)
{
	struct age_keys k = test_keys(1);
	struct buf in = { 0 }, pt = { 0 };
	char err[256];

	/* Stanza after stanza, never a MAC line: stops at the cap. */
	buf_sink(&in, "age-encryption.org/v1\n", 22);
	while (in.len < AGE_MAX_HEADER + 100)
		buf_sink(&in, "-> grease\n\n", 11);
	ASSERT_INT_EQ(decrypt_buf(&k, &in, &pt, err, sizeof(err)),
	    AGE_FAIL_HEADER);
	ASSERT(strstr(err, "header longer than") != NULL);
	free(in.p);
	age_keys_clear(&k);
}

TEST(encsrc_matches_size)
{
	struct age_keys k = test_keys(1);
	uint8_t *plain = malloc(300000);
	struct buf src = { 0 }, ct = { 0 }, pt = { 0 };
	char err[256];
	uint8_t tmp[3000];
	ssize_t n;

	fill_pattern(plain, 300000, 5);
	buf_sink(&src, plain, 300000);
	struct age_encsrc *e = age_encsrc_new(&k, buf_source, &src, err,
	    sizeof(err));
	ASSERT(e != NULL);
	while ((n = age_encsrc_read(e, tmp, sizeof(tmp))) > 0)
		buf_sink(&ct, tmp, (size_t)n);
	ASSERT_INT_EQ(n, 0);
	age_encsrc_free(e);
	ASSERT_INT_EQ(ct.len, age_encrypted_size(1, 300000));
	ASSERT_INT_EQ(decrypt_buf(&k, &ct, &pt, err, sizeof(err)), AGE_OK);
	ASSERT_INT_EQ(pt.len, 300000);
	ASSERT_MEM_EQ(pt.p, plain, 300000);
	free(src.p);
	free(ct.p);
	free(pt.p);
	free(plain);
	age_keys_clear(&k);
}

/* ---- key files ------------------------------------------------------------ */

TEST(key_file)
{
	char dir[] = "/tmp/age_test.XXXXXX", path[600], err[400];
	const char *id = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPY"
	    "YSJZGFPYYSJZGFPQ4EGAEX";
	struct age_keys k = { 0 };
	FILE *f;

	ASSERT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/key.txt", dir);
	f = fopen(path, "w");
	fprintf(f, "# created: 2026-01-01\n# public key: age1...\n\n%s\r\n",
	    id);
	fclose(f);
	chmod(path, 0644);
	ASSERT_INT_EQ(age_keys_load_file(&k, path, err, sizeof(err)), -1);
	ASSERT(strstr(err, "chmod 600") != NULL);
	chmod(path, 0600);
	ASSERT_INT_EQ(age_keys_load_file(&k, path, err, sizeof(err)), 0);
	ASSERT_INT_EQ(k.nids, 1);
	age_keys_clear(&k);
	/* A bad line is named by number, never quoted. */
	f = fopen(path, "w");
	fprintf(f, "# comment\nAGE-SECRET-KEY-1NOTAKEYATALLXX\n");
	fclose(f);
	ASSERT_INT_EQ(age_keys_load_file(&k, path, err, sizeof(err)), -1);
	ASSERT(strstr(err, "line 2") != NULL);
	ASSERT(strstr(err, "NOTAKEY") == NULL);
	/* Comments only: no identity. */
	f = fopen(path, "w");
	fprintf(f, "# nothing\n");
	fclose(f);
	ASSERT_INT_EQ(age_keys_load_file(&k, path, err, sizeof(err)), -1);
	ASSERT(strstr(err, "no identity") != NULL);
	unlink(path);
	ASSERT_INT_EQ(age_keys_load_file(&k, path, err, sizeof(err)), -1);
	rmdir(dir);
	age_keys_clear(&k);
}

/* ---- an object Litestream v0.3.13 wrote ------------------------------------ */

TEST(litestream_sample)
{
	static const struct {
		const char *obj, *lz4_sha;
		size_t lz4_len;
	} objs[] = {
		{ "tiny/generations/809a89194156d514/snapshots/00000000."
		  "snapshot.lz4", "cf7b14068387f5f163c52835658b964e9d84c63ad0"
		  "799ce68cbb76f7d1d65f32", 392 },
		{ "multichunk/generations/c7add66cedc3ee4b/snapshots/00000000."
		  "snapshot.lz4", "6fb55cbc3dc3ebcfc9481242e11ffafd71b195b012"
		  "a03e4434a7f788fcd45f5c", 161281 },
		{ "multichunk/generations/c7add66cedc3ee4b/wal/00000000_00004080"
		  ".wal.lz4", "751510748379b42a4e4dde78cb7f4bc6600527e6fc2c4892"
		  "5f89dba51844c679", 637 },
	};
	char path[1024], err[400], got[65];
	struct age_keys k = { 0 };
	size_t len;

	/* The sample's key file is world-readable in git: a private copy. */
	char tmp[] = "/tmp/age_test.XXXXXX";
	ASSERT(mkdtemp(tmp) != NULL);
	snprintf(path, sizeof(path), "%s/litestream-sample/key.txt", vectors());
	uint8_t *key = slurp(path, &len);
	ASSERT(key != NULL);
	snprintf(path, sizeof(path), "%s/key.txt", tmp);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT(fd >= 0);
	ASSERT_INT_EQ(write(fd, key, len), (ssize_t)len);
	close(fd);
	free(key);
	ASSERT_INT_EQ(age_keys_load_file(&k, path, err, sizeof(err)), 0);
	unlink(path);
	rmdir(tmp);
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		struct buf ct = { 0 }, pt = { 0 };
		snprintf(path, sizeof(path), "%s/litestream-sample/%s",
		    vectors(), objs[i].obj);
		ct.p = slurp(path, &ct.len);
		ASSERT(ct.p != NULL);
		ASSERT_INT_EQ(decrypt_buf(&k, &ct, &pt, err, sizeof(err)),
		    AGE_OK);
		ASSERT_INT_EQ(pt.len, objs[i].lz4_len);
		uint8_t d[32];
		unsigned int dn;
		EVP_Digest(pt.p, pt.len, d, &dn, EVP_sha256(), NULL);
		hex(d, 32, got);
		ASSERT_STR_EQ(got, objs[i].lz4_sha);
		free(ct.p);
		free(pt.p);
	}
	age_keys_clear(&k);
}

int
main(void)
{
	RUN(testkit);
	RUN(bech32_spec_example);
	RUN(bad_keys);
	RUN(round_trip_sizes);
	RUN(same_input_new_ciphertext);
	RUN(wrong_key_and_plain_input);
	RUN(tamper_every_region);
	RUN(header_is_bounded);
	RUN(encsrc_matches_size);
	RUN(key_file);
	RUN(litestream_sample);
	return TEST_DONE();
}
