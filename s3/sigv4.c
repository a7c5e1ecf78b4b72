/*
 * sigv4: AWS Signature Version 4 signing (see sigv4.h for the rules and
 * the meaning of every input).
 *
 * A signing builds, in order: the canonical headers (with the implied
 * x-amz-* ones added), the canonical query (with the X-Amz-* parameters
 * when presigning), the canonical URI, the canonical request, the string
 * to sign, the signature and the Authorization value or presigned query.
 * Strings grow in a small buffer type whose failure is sticky, so a chain
 * of appends is checked once at the end.
 *
 * Invariants: every buffer that held a secret or a derived key is wiped
 * with OPENSSL_cleanse before it is freed or goes out of scope; nothing
 * here logs; on failure the result holds nothing to free.
 */
#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SCOPE_TERMINATOR "aws4_request"

/* ---- growing strings ---------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2) {
				b->failed = 1;
				return;
			}
			cap *= 2;
		}
		/* Copy rather than realloc, so that no unwiped copy is left. */
		if ((p = malloc(cap)) == NULL) {
			b->failed = 1;
			return;
		}
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_free(struct sbuf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* The string (possibly "" when nothing was added), or NULL on failure. */
static char *
sb_take(struct sbuf *b)
{
	char *p;

	if (!b->failed && b->p == NULL)
		sb_add(b, "", 0);
	if (b->failed) {
		sb_free(b);
		errno = ENOMEM;
		return NULL;
	}
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

static void
free_wiped(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* ---- encoding ----------------------------------------------------- */

static const char hexdig[] = "0123456789ABCDEF";
static const char hexlow[] = "0123456789abcdef";

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
tohex(char *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = hexlow[src[i] >> 4];
		dst[2 * i + 1] = hexlow[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

size_t
sigv4_uri_encode(char *dst, size_t size, const char *src, size_t len,
    unsigned flags)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		char enc[3];
		size_t n = 1;

		enc[0] = (char)c;
		if (!is_unreserved(c) &&
		    !(c == '/' && (flags & SIGV4_ENC_KEEP_SLASH))) {
			enc[0] = '%';
			enc[1] = hexdig[c >> 4];
			enc[2] = hexdig[c & 15];
			n = 3;
		}
		for (size_t j = 0; j < n; j++, out++) {
			if (size > 0 && out < size - 1)
				dst[out] = enc[j];
		}
	}
	if (size > 0)
		dst[out < size ? out : size - 1] = '\0';
	return out;
}

/* Appends the encoding of N bytes at S ('/' encoded too). */
static void
sb_encode(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[3] = { '%', hexdig[c >> 4], hexdig[c & 15] };

		if (is_unreserved(c))
			sb_add(b, &s[i], 1);
		else
			sb_add(b, enc, 3);
	}
}

/*
 * Appends N bytes at S with each valid %XX decoded; a '%' not followed
 * by two hex digits stays a literal '%'.
 */
static void
sb_decode(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);

			sb_add(b, &c, 1);
			i += 2;
		} else {
			sb_add(b, &s[i], 1);
		}
	}
}

/* Appends the canonical form of one encoded path segment or query part. */
static void
sb_recode(struct sbuf *b, const char *s, size_t n)
{
	struct sbuf raw = { 0 };

	sb_decode(&raw, s, n);
	if (raw.failed)
		b->failed = 1;
	else if (raw.p != NULL)
		sb_encode(b, raw.p, raw.len);
	sb_free(&raw);
}

/* ---- canonical URI ------------------------------------------------ */

struct seg {
	const char *p;
	size_t n;
};

static void
sb_segment(struct sbuf *b, const char *s, size_t n, unsigned flags)
{
	if (flags & SIGV4_DOUBLE_ENCODE)
		sb_encode(b, s, n);
	else
		sb_recode(b, s, n);
}

/*
 * RFC 3986 dot-segment removal plus collapsing of empty segments: keeps
 * the segments that remain in SEGS and returns their count. *TRAILING
 * says whether the result ends with '/'.
 */
static size_t
normalize_segments(const char *path, struct seg *segs, int *trailing)
{
	size_t nseg = 0;
	const char *p = path + 1, *end;

	for (;;) {
		size_t n;
		int dot, dotdot;

		end = strchr(p, '/');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		dot = n == 1 && p[0] == '.';
		dotdot = n == 2 && p[0] == '.' && p[1] == '.';
		/* The last segment: "", "." and ".." leave a directory. */
		*trailing = n == 0 || dot || dotdot;
		if (dotdot) {
			if (nseg > 0)
				nseg--;
		} else if (n > 0 && !dot) {
			segs[nseg].p = p;
			segs[nseg++].n = n;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (nseg == 0)
		*trailing = 0;
	return nseg;
}

static int
canonical_uri(struct sbuf *b, const char *path, unsigned flags)
{
	struct seg *segs;
	size_t nseg = 1, kept;
	int trailing;

	if (path == NULL || *path == '\0')
		path = "/";
	if (*path != '/') {
		errno = EINVAL;
		return -1;
	}
	if (!(flags & SIGV4_NORMALIZE_PATH)) {
		for (const char *p = path; *p != '\0';) {
			size_t n = strcspn(p, "/");

			sb_segment(b, p, n, flags);
			p += n;
			if (*p == '/')
				sb_add(b, p++, 1);
		}
		return 0;
	}
	for (const char *p = path; *p != '\0'; p++)
		nseg += *p == '/';
	if ((segs = calloc(nseg, sizeof(*segs))) == NULL)
		return -1;
	kept = normalize_segments(path, segs, &trailing);
	for (size_t i = 0; i < kept; i++) {
		sb_str(b, "/");
		sb_segment(b, segs[i].p, segs[i].n, flags);
	}
	if (kept == 0 || trailing)
		sb_str(b, "/");
	free(segs);
	return 0;
}

/* ---- canonical query ---------------------------------------------- */

struct qparam {
	char *name;		/* encoded */
	char *value;		/* encoded */
};

struct qlist {
	struct qparam *v;
	size_t n, cap;
};

static void
qlist_free(struct qlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free_wiped(l->v[i].name);
		free_wiped(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * Adds one parameter. With DECODE the parts are as sent (escapes are
 * decoded first); without, they are raw values to encode.
 */
static int
qlist_add(struct qlist *l, const char *name, size_t nlen, const char *value,
    size_t vlen, int decode)
{
	struct sbuf nb = { 0 }, vb = { 0 };

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct qparam *v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (decode) {
		sb_recode(&nb, name, nlen);
		sb_recode(&vb, value, vlen);
	} else {
		sb_encode(&nb, name, nlen);
		sb_encode(&vb, value, vlen);
	}
	l->v[l->n].name = sb_take(&nb);
	l->v[l->n].value = sb_take(&vb);
	if (l->v[l->n].name == NULL || l->v[l->n].value == NULL) {
		free_wiped(l->v[l->n].name);
		free_wiped(l->v[l->n].value);
		return -1;
	}
	l->n++;
	return 0;
}

static int
qlist_add_raw(struct qlist *l, const char *name, const char *value)
{
	return qlist_add(l, name, strlen(name), value, strlen(value), 0);
}

/* Splits a query as sent on '&' and each part on its first '='. */
static int
qlist_parse(struct qlist *l, const char *query)
{
	const char *p = query;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);

		if (n > 0) {
			size_t nl = eq != NULL ? (size_t)(eq - p) : n;
			const char *v = eq != NULL ? eq + 1 : p + n;
			size_t vl = eq != NULL ? n - nl - 1 : 0;

			if (qlist_add(l, p, nl, v, vl, 1) == -1)
				return -1;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static void
qlist_emit(struct sbuf *b, struct qlist *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), qparam_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			sb_str(b, "&");
		sb_str(b, l->v[i].name);
		sb_str(b, "=");
		sb_str(b, l->v[i].value);
	}
}

/* ---- canonical headers -------------------------------------------- */

struct chdr {
	char *name;		/* lowercase */
	char *value;		/* trimmed, inner blanks collapsed */
	size_t order;		/* position in the request */
};

struct hlist {
	struct chdr *v;
	size_t n, cap;
};

static void
hlist_free(struct hlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free_wiped(l->v[i].name);
		free_wiped(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
valid_header_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || c == ':')
			return 0;
	}
	return 1;
}

/* Trims VALUE and collapses runs of spaces and tabs into one space. */
static char *
canonical_value(const char *value)
{
	struct sbuf b = { 0 };
	int blank = 0;

	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t') {
			blank = 1;
			continue;
		}
		if (blank && b.len > 0)
			sb_str(&b, " ");
		blank = 0;
		sb_add(&b, p, 1);
	}
	return sb_take(&b);
}

static int
hlist_add(struct hlist *l, const char *name, const char *value)
{
	struct chdr *h;

	if (!valid_header_name(name) || value == NULL ||
	    strpbrk(value, "\r\n") != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct chdr *v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	h = &l->v[l->n];
	h->order = l->n;
	if ((h->name = strdup(name)) == NULL)
		return -1;
	if ((h->value = canonical_value(value)) == NULL) {
		free(h->name);
		return -1;
	}
	for (char *p = h->name; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	l->n++;
	return 0;
}

static int
chdr_cmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts by name (stable) and joins repeated names with ','. */
static int
hlist_merge(struct hlist *l)
{
	size_t out = 0;

	qsort(l->v, l->n, sizeof(*l->v), chdr_cmp);
	for (size_t i = 0; i < l->n; i++) {
		struct chdr *last = out > 0 ? &l->v[out - 1] : NULL;
		struct sbuf b = { 0 };
		char *joined;

		if (last == NULL || strcmp(last->name, l->v[i].name) != 0) {
			l->v[out++] = l->v[i];
			continue;
		}
		sb_str(&b, last->value);
		sb_str(&b, ",");
		sb_str(&b, l->v[i].value);
		if ((joined = sb_take(&b)) == NULL) {
			for (size_t j = i; j < l->n; j++) {
				free_wiped(l->v[j].name);
				free_wiped(l->v[j].value);
			}
			l->n = out;
			return -1;
		}
		free_wiped(last->value);
		last->value = joined;
		free_wiped(l->v[i].name);
		free_wiped(l->v[i].value);
	}
	l->n = out;
	return 0;
}

static const char *
hlist_get(const struct hlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	}
	return NULL;
}

/* ---- hashing and keys --------------------------------------------- */

int
sigv4_sha256_hex(const void *data, size_t len, char hex[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (data == NULL && len > 0) {
		errno = EINVAL;
		return -1;
	}
	if (EVP_Digest(len > 0 ? data : "", len, md, &n, EVP_sha256(),
	    NULL) != 1 || n != 32) {
		errno = EIO;
		return -1;
	}
	tohex(hex, md, 32);
	return 0;
}

static int
hmac_sha256(const unsigned char *key, size_t klen, const void *data,
    size_t dlen, unsigned char out[32])
{
	unsigned int n = 0;

	if (klen > INT_MAX || HMAC(EVP_sha256(), key, (int)klen, data, dlen,
	    out, &n) == NULL || n != 32) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* A scope part or key id: printable ASCII without ' ', '/' or ','. */
static int
valid_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s <= ' ' || *s >= 0x7f || *s == '/' || *s == ',')
			return 0;
	}
	return 1;
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

static int
valid_scope(const char *date8, const char *region, const char *service)
{
	return date8 != NULL && strlen(date8) == 8 && all_digits(date8, 8) &&
	    valid_token(region) && valid_token(service);
}

int
sigv4_derive_key(const char *secret_key, const char *date8,
    const char *region, const char *service,
    unsigned char key[SIGV4_KEY_LEN])
{
	unsigned char k1[32], k2[32], *seed;
	size_t slen;
	int rc = -1;

	if (secret_key == NULL || !valid_scope(date8, region, service) ||
	    (slen = strlen(secret_key)) > INT_MAX - 4) {
		errno = EINVAL;
		return -1;
	}
	if ((seed = malloc(slen + 4)) == NULL)
		return -1;
	memcpy(seed, "AWS4", 4);
	memcpy(seed + 4, secret_key, slen);
	if (hmac_sha256(seed, slen + 4, date8, 8, k1) == 0 &&
	    hmac_sha256(k1, 32, region, strlen(region), k2) == 0 &&
	    hmac_sha256(k2, 32, service, strlen(service), k1) == 0 &&
	    hmac_sha256(k1, 32, SCOPE_TERMINATOR, strlen(SCOPE_TERMINATOR),
	    key) == 0)
		rc = 0;
	OPENSSL_cleanse(seed, slen + 4);
	free(seed);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return rc;
}

void
sigv4_key_cache_init(struct sigv4_key_cache *cache)
{
	memset(cache, 0, sizeof(*cache));
}

void
sigv4_key_cache_clear(struct sigv4_key_cache *cache)
{
	if (cache != NULL)
		OPENSSL_cleanse(cache, sizeof(*cache));
}

static int
cache_matches(const struct sigv4_key_cache *c, const unsigned char fp[32],
    const char *date8, const char *region, const char *service)
{
	return c->valid && strcmp(c->date, date8) == 0 &&
	    strcmp(c->region, region) == 0 &&
	    strcmp(c->service, service) == 0 &&
	    CRYPTO_memcmp(c->secret_sha256, fp, 32) == 0;
}

int
sigv4_key_cache_get(struct sigv4_key_cache *cache, const char *secret_key,
    const char *date8, const char *region, const char *service,
    unsigned char key[SIGV4_KEY_LEN])
{
	unsigned char fp[32];
	unsigned int n = 0;

	if (secret_key == NULL || !valid_scope(date8, region, service)) {
		errno = EINVAL;
		return -1;
	}
	if (cache == NULL || strlen(region) >= sizeof(cache->region) ||
	    strlen(service) >= sizeof(cache->service))
		return sigv4_derive_key(secret_key, date8, region, service,
		    key);
	if (EVP_Digest(secret_key, strlen(secret_key), fp, &n, EVP_sha256(),
	    NULL) != 1 || n != 32) {
		errno = EIO;
		return -1;
	}
	if (cache_matches(cache, fp, date8, region, service)) {
		memcpy(key, cache->key, SIGV4_KEY_LEN);
		cache->hits++;
		OPENSSL_cleanse(fp, sizeof(fp));
		return 0;
	}
	cache->valid = 0;
	if (sigv4_derive_key(secret_key, date8, region, service, key) == -1) {
		OPENSSL_cleanse(fp, sizeof(fp));
		return -1;
	}
	memcpy(cache->key, key, SIGV4_KEY_LEN);
	memcpy(cache->secret_sha256, fp, sizeof(fp));
	memcpy(cache->date, date8, 9);
	memcpy(cache->region, region, strlen(region) + 1);
	memcpy(cache->service, service, strlen(service) + 1);
	cache->valid = 1;
	cache->misses++;
	OPENSSL_cleanse(fp, sizeof(fp));
	return 0;
}

int
sigv4_format_amz_date(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900) {
		errno = EOVERFLOW;
		return -1;
	}
	if (strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) !=
	    SIGV4_AMZ_DATE_LEN) {
		errno = EOVERFLOW;
		return -1;
	}
	return 0;
}

/* ---- the request -------------------------------------------------- */

static int
valid_amz_date(const char *s)
{
	return s != NULL && strlen(s) == SIGV4_AMZ_DATE_LEN &&
	    all_digits(s, 8) && s[8] == 'T' && all_digits(s + 9, 6) &&
	    s[15] == 'Z';
}

static int
valid_payload_hash(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z') && *s != '-')
			return 0;
	}
	return 1;
}

static int
valid_request(const struct sigv4_request *r)
{
	if (r == NULL || !valid_token(r->method) ||
	    !valid_amz_date(r->amz_date) || !valid_token(r->region) ||
	    !valid_token(r->service) || !valid_token(r->access_key_id) ||
	    r->secret_key == NULL || !valid_payload_hash(r->payload_hash) ||
	    (r->nheaders > 0 && r->headers == NULL))
		return 0;
	if ((r->path != NULL && strpbrk(r->path, "\r\n") != NULL) ||
	    (r->query != NULL && strpbrk(r->query, "\r\n") != NULL))
		return 0;
	if (r->session_token != NULL && (*r->session_token == '\0' ||
	    strpbrk(r->session_token, "\r\n") != NULL))
		return 0;
	return 1;
}

/* Adds NAME: VALUE to the signed set and to the headers the caller sends. */
static int
add_implied(struct hlist *h, struct sigv4_result *res, const char *name,
    const char *value)
{
	if (hlist_get(h, name) != NULL)
		return 0;
	if (hlist_add(h, name, value) == -1)
		return -1;
	res->added[res->nadded].name = name;
	res->added[res->nadded++].value = value;
	return 0;
}

/* Header NAME is absent, or WANT is NULL, or its value equals WANT. */
static int
agrees(const struct hlist *h, const char *name, const char *want)
{
	const char *v = hlist_get(h, name);

	return v == NULL || want == NULL || strcmp(v, want) == 0;
}

/*
 * The canonical headers of R: the given ones, plus (header signing) the
 * implied x-amz-* headers, sorted and merged.
 */
static int
build_headers(const struct sigv4_request *r, int presign, struct hlist *h,
    struct sigv4_result *res)
{
	const char *sha = (r->flags & SIGV4_CONTENT_SHA256) ?
	    r->payload_hash : NULL;

	for (size_t i = 0; i < r->nheaders; i++) {
		if (hlist_add(h, r->headers[i].name, r->headers[i].value) == -1)
			return -1;
	}
	if (hlist_merge(h) == -1)
		return -1;
	if (!presign) {
		if (add_implied(h, res, "x-amz-date", r->amz_date) == -1 ||
		    (r->session_token != NULL && add_implied(h, res,
		    "x-amz-security-token", r->session_token) == -1) ||
		    (sha != NULL && add_implied(h, res,
		    "x-amz-content-sha256", sha) == -1) ||
		    hlist_merge(h) == -1)
			return -1;
		if (!agrees(h, "x-amz-date", r->amz_date) ||
		    !agrees(h, "x-amz-security-token", r->session_token) ||
		    !agrees(h, "x-amz-content-sha256", r->payload_hash)) {
			errno = EINVAL;
			return -1;
		}
	}
	if (hlist_get(h, "host") == NULL) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void
sb_scope(struct sbuf *b, const struct sigv4_request *r)
{
	sb_add(b, r->amz_date, 8);
	sb_str(b, "/");
	sb_str(b, r->region);
	sb_str(b, "/");
	sb_str(b, r->service);
	sb_str(b, "/" SCOPE_TERMINATOR);
}

/* The X-Amz-* parameters of a presigned URL, except the signature. */
static int
presign_params(const struct sigv4_request *r, long expires,
    const char *signed_headers, struct qlist *q)
{
	struct sbuf cred = { 0 };
	char exp[24];
	char *c;
	int rc;

	sb_str(&cred, r->access_key_id);
	sb_str(&cred, "/");
	sb_scope(&cred, r);
	if ((c = sb_take(&cred)) == NULL)
		return -1;
	(void)snprintf(exp, sizeof(exp), "%ld", expires);
	rc = qlist_add_raw(q, "X-Amz-Algorithm", SIGV4_ALGORITHM) == -1 ||
	    qlist_add_raw(q, "X-Amz-Credential", c) == -1 ||
	    qlist_add_raw(q, "X-Amz-Date", r->amz_date) == -1 ||
	    qlist_add_raw(q, "X-Amz-Expires", exp) == -1 ||
	    qlist_add_raw(q, "X-Amz-SignedHeaders", signed_headers) == -1 ||
	    (r->session_token != NULL && qlist_add_raw(q,
	    "X-Amz-Security-Token", r->session_token) == -1) ? -1 : 0;
	free(c);
	return rc;
}

static char *
signed_header_list(const struct hlist *h)
{
	struct sbuf b = { 0 };

	for (size_t i = 0; i < h->n; i++) {
		if (i > 0)
			sb_str(&b, ";");
		sb_str(&b, h->v[i].name);
	}
	return sb_take(&b);
}

static char *
canonical_request(const struct sigv4_request *r, const char *cquery,
    const struct hlist *h, const char *signed_headers)
{
	struct sbuf b = { 0 };

	sb_str(&b, r->method);
	sb_str(&b, "\n");
	if (canonical_uri(&b, r->path, r->flags) == -1) {
		sb_free(&b);
		return NULL;
	}
	sb_str(&b, "\n");
	sb_str(&b, cquery);
	sb_str(&b, "\n");
	for (size_t i = 0; i < h->n; i++) {
		sb_str(&b, h->v[i].name);
		sb_str(&b, ":");
		sb_str(&b, h->v[i].value);
		sb_str(&b, "\n");
	}
	sb_str(&b, "\n");
	sb_str(&b, signed_headers);
	sb_str(&b, "\n");
	sb_str(&b, r->payload_hash);
	return sb_take(&b);
}

static char *
string_to_sign(const struct sigv4_request *r, const char *creq)
{
	struct sbuf b = { 0 };
	char hex[SIGV4_HEX_LEN + 1];

	if (sigv4_sha256_hex(creq, strlen(creq), hex) == -1)
		return NULL;
	sb_str(&b, SIGV4_ALGORITHM "\n");
	sb_str(&b, r->amz_date);
	sb_str(&b, "\n");
	sb_scope(&b, r);
	sb_str(&b, "\n");
	sb_str(&b, hex);
	return sb_take(&b);
}

static int
compute_signature(const struct sigv4_request *r,
    struct sigv4_key_cache *cache, struct sigv4_result *res)
{
	unsigned char key[SIGV4_KEY_LEN], mac[32];
	char date8[9];
	int rc = -1;

	memcpy(date8, r->amz_date, 8);
	date8[8] = '\0';
	if (sigv4_key_cache_get(cache, r->secret_key, date8, r->region,
	    r->service, key) == 0 &&
	    hmac_sha256(key, sizeof(key), res->string_to_sign,
	    strlen(res->string_to_sign), mac) == 0) {
		tohex(res->signature, mac, sizeof(mac));
		rc = 0;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

static char *
authorization(const struct sigv4_request *r, const struct sigv4_result *res)
{
	const char *sep = (r->flags & SIGV4_AUTHZ_COMPACT) ? "," : ", ";
	struct sbuf b = { 0 };

	sb_str(&b, SIGV4_ALGORITHM " Credential=");
	sb_str(&b, r->access_key_id);
	sb_str(&b, "/");
	sb_scope(&b, r);
	sb_str(&b, sep);
	sb_str(&b, "SignedHeaders=");
	sb_str(&b, res->signed_headers);
	sb_str(&b, sep);
	sb_str(&b, "Signature=");
	sb_str(&b, res->signature);
	return sb_take(&b);
}

static char *
presigned_query(const char *cquery, const struct sigv4_result *res)
{
	struct sbuf b = { 0 };

	sb_str(&b, cquery);
	sb_str(&b, "&X-Amz-Signature=");
	sb_str(&b, res->signature);
	return sb_take(&b);
}

/* The canonical query string of R (with the X-Amz-* ones if presigning). */
static char *
canonical_query(const struct sigv4_request *r, long expires,
    const char *signed_headers)
{
	struct qlist q = { 0 };
	struct sbuf b = { 0 };

	if (qlist_parse(&q, r->query) == -1 || (expires > 0 &&
	    presign_params(r, expires, signed_headers, &q) == -1)) {
		qlist_free(&q);
		return NULL;
	}
	qlist_emit(&b, &q);
	qlist_free(&q);
	return sb_take(&b);
}

/* Header signing when EXPIRES is 0, presigning otherwise. */
static int
sign_request(const struct sigv4_request *r, long expires,
    struct sigv4_key_cache *cache, struct sigv4_result *res)
{
	struct hlist h = { 0 };
	char *cquery = NULL;
	int rc = -1, saved;

	memset(res, 0, sizeof(*res));
	if (!valid_request(r)) {
		errno = EINVAL;
		return -1;
	}
	if (build_headers(r, expires > 0, &h, res) == 0 &&
	    (res->signed_headers = signed_header_list(&h)) != NULL &&
	    (cquery = canonical_query(r, expires, res->signed_headers)) &&
	    (res->canonical_request = canonical_request(r, cquery, &h,
	    res->signed_headers)) != NULL &&
	    (res->string_to_sign = string_to_sign(r,
	    res->canonical_request)) != NULL &&
	    compute_signature(r, cache, res) == 0) {
		if (expires > 0)
			res->query = presigned_query(cquery, res);
		else
			res->authorization = authorization(r, res);
		if (res->query != NULL || res->authorization != NULL)
			rc = 0;
	}
	saved = errno;
	hlist_free(&h);
	free_wiped(cquery);
	if (rc == -1) {
		sigv4_result_free(res);
		errno = saved;
	}
	return rc;
}

int
sigv4_sign(const struct sigv4_request *req, struct sigv4_key_cache *cache,
    struct sigv4_result *result)
{
	return sign_request(req, 0, cache, result);
}

int
sigv4_presign(const struct sigv4_request *req, long expires,
    struct sigv4_key_cache *cache, struct sigv4_result *result)
{
	if (expires < 1 || expires > SIGV4_MAX_EXPIRES) {
		memset(result, 0, sizeof(*result));
		errno = EINVAL;
		return -1;
	}
	return sign_request(req, expires, cache, result);
}

void
sigv4_result_free(struct sigv4_result *result)
{
	if (result == NULL)
		return;
	free_wiped(result->canonical_request);
	free_wiped(result->string_to_sign);
	free_wiped(result->signed_headers);
	free_wiped(result->authorization);
	free_wiped(result->query);
	memset(result, 0, sizeof(*result));
}
