/*
 * s3addr: keys, paths, hosts, URLs and query strings of S3 requests (see
 * s3addr.h). Encoding is sigv4_uri_encode's, so what is sent is what is
 * signed.
 */
#include "s3addr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

static int
fail(int e, char *err, size_t errlen, const char *msg, const char *arg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s%s", msg, arg ? " \"" : "",
		    arg ? arg : "", arg ? "\"" : "");
	errno = e;
	return -1;
}

/*
 * A bucket usable as a DNS name: 3-63 of [a-z0-9.-], labels starting and
 * ending with a letter or digit.
 */
static bool
bucket_dns_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && c != '-' && c != '.')
			return false;
		if (!alnum && (i == 0 || i == n - 1 || b[i - 1] == '.' ||
		    (c == '.' && b[i - 1] == '-')))
			return false;
		if (c == '-' && b[i + 1] == '.')
			return false;
	}
	return true;
}

/* "scheme://host[:port][/]" into A. */
static int
parse_endpoint(struct s3addr *a, const char *ep, char *err, size_t errlen)
{
	const char *h, *end, *hend, *colon;
	size_t hl;

	if (strncmp(ep, "https://", 8) == 0) {
		snprintf(a->scheme, sizeof(a->scheme), "https");
		h = ep + 8;
	} else if (strncmp(ep, "http://", 7) == 0) {
		snprintf(a->scheme, sizeof(a->scheme), "http");
		h = ep + 7;
	} else {
		return fail(EINVAL, err, errlen,
		    "endpoint needs http:// or https://:", ep);
	}
	end = h + strcspn(h, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0)
		return fail(EINVAL, err, errlen,
		    "endpoint must not have a path:", ep);
	if (h[0] == '[') {	/* [v6addr]:port */
		hend = memchr(h, ']', (size_t)(end - h));
		hend = hend != NULL ? hend + 1 : h;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		hend = hend != NULL ? hend : end;
	}
	colon = hend < end && *hend == ':' ? hend : NULL;
	if (hend != end && colon == NULL)
		return fail(EINVAL, err, errlen, "bad endpoint host:", ep);
	hl = (size_t)(hend - h);
	if (hl == 0 || hl >= sizeof(a->host))
		return fail(EINVAL, err, errlen, "bad endpoint host:", ep);
	memcpy(a->host, h, hl);
	a->host[hl] = '\0';
	a->port = 0;
	if (colon != NULL) {
		char *pe;
		long p = strtol(colon + 1, &pe, 10);

		if (pe != end || p <= 0 || p > 65535)
			return fail(EINVAL, err, errlen, "bad endpoint port:",
			    ep);
		a->port = (int)p;
	}
	return 0;
}

int
s3addr_init(struct s3addr *a, const char *endpoint, const char *region,
    const char *bucket, bool force_path_style, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (bucket == NULL || *bucket == '\0' ||
	    strlen(bucket) >= sizeof(a->bucket) || strchr(bucket, '/'))
		return fail(EINVAL, err, errlen, "bad bucket name:",
		    bucket ? bucket : "");
	snprintf(a->bucket, sizeof(a->bucket), "%s", bucket);
	if (region == NULL || *region == '\0')
		region = S3ADDR_DEFAULT_REGION;
	if (strlen(region) >= sizeof(a->region) ||
	    strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
	    strlen(region))
		return fail(EINVAL, err, errlen, "bad region:", region);
	snprintf(a->region, sizeof(a->region), "%s", region);
	if (endpoint != NULL && *endpoint != '\0') {
		if (parse_endpoint(a, endpoint, err, errlen) != 0)
			return -1;
	} else {
		snprintf(a->scheme, sizeof(a->scheme), "https");
		snprintf(a->host, sizeof(a->host), "s3.%s.amazonaws.com",
		    a->region);
	}
	a->path_style = force_path_style || !bucket_dns_ok(bucket);
	return 0;
}

int
s3addr_host(const struct s3addr *a, char *buf, size_t len)
{
	char port[16] = "";
	int n;

	if (a->port != 0)
		snprintf(port, sizeof(port), ":%d", a->port);
	if (a->path_style)
		n = snprintf(buf, len, "%s%s", a->host, port);
	else
		n = snprintf(buf, len, "%s.%s%s", a->bucket, a->host, port);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
s3addr_path(const struct s3addr *a, const char *key, char *buf, size_t len)
{
	size_t w = 0, need;

	if (len < 2) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[w++] = '/';
	if (a->path_style) {
		need = sigv4_uri_encode(buf + w, len - w, a->bucket,
		    strlen(a->bucket), 0);
		if (need + 1 >= len - w) {
			errno = ENAMETOOLONG;
			return -1;
		}
		w += need;
		buf[w++] = '/';
	}
	need = sigv4_uri_encode(buf + w, len - w, key, strlen(key),
	    SIGV4_ENC_KEEP_SLASH);
	if (need >= len - w) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
s3addr_url(const struct s3addr *a, const char *key, const char *query,
    char *buf, size_t len)
{
	char host[S3ADDR_HOST_LEN + 80];
	size_t n;
	int m;

	if (s3addr_host(a, host, sizeof(host)) != 0)
		return -1;
	m = snprintf(buf, len, "%s://%s", a->scheme, host);
	if (m < 0 || (size_t)m >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = (size_t)m;
	if (s3addr_path(a, key, buf + n, len - n) != 0)
		return -1;
	n += strlen(buf + n);
	if (query != NULL && *query != '\0') {
		m = snprintf(buf + n, len - n, "?%s", query);
		if (m < 0 || (size_t)m >= len - n) {
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	return 0;
}

int
s3addr_key(const char *prefix, const char *key, char *out, size_t len)
{
	size_t w = 0;
	const char *parts[2] = { prefix ? prefix : "", key ? key : "" };

	for (int p = 0; p < 2; p++) {
		for (const char *s = parts[p]; *s != '\0'; s++) {
			if (*s == '/' && (w == 0 || out[w - 1] == '/'))
				continue;
			if (w + 2 > len) {
				errno = ENAMETOOLONG;
				return -1;
			}
			out[w++] = *s;
		}
		/* Between prefix and key. */
		if (p == 0 && w > 0 && out[w - 1] != '/' && *parts[1] != '\0') {
			if (w + 2 > len) {
				errno = ENAMETOOLONG;
				return -1;
			}
			out[w++] = '/';
		}
	}
	if (w > 0 && out[w - 1] == '/' && (*parts[1] == '\0' ||
	    parts[1][strlen(parts[1]) - 1] != '/'))
		w--;	/* only a key's own trailing '/' is kept */
	out[w] = '\0';
	if (w > S3ADDR_MAX_KEY || (w == 0 && *parts[1] != '\0' &&
	    strspn(parts[1], "/") != strlen(parts[1]))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
param_cmp(const void *pa, const void *pb)
{
	const char *const *a = pa, *const *b = pb;

	return strcmp(*a, *b);
}

int
s3addr_query(const struct s3addr_param *params, size_t n, char *buf,
    size_t len)
{
	char **enc;
	size_t w = 0;
	int rc = -1;

	if (len == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[0] = '\0';
	if (n == 0)
		return 0;
	if ((enc = calloc(n, sizeof(*enc))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *v = params[i].value ? params[i].value : "";
		size_t nl = sigv4_uri_encode(NULL, 0, params[i].name,
		    strlen(params[i].name), 0);
		size_t vl = sigv4_uri_encode(NULL, 0, v, strlen(v), 0);

		/* name '\x01' value sorts by name, then value. */
		if ((enc[i] = malloc(nl + vl + 2)) == NULL)
			goto out;
		sigv4_uri_encode(enc[i], nl + 1, params[i].name,
		    strlen(params[i].name), 0);
		enc[i][nl] = '\x01';
		sigv4_uri_encode(enc[i] + nl + 1, vl + 1, v, strlen(v), 0);
	}
	qsort(enc, n, sizeof(*enc), param_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(enc[i]);

		if (w + l + 2 > len) {
			errno = ENAMETOOLONG;
			goto out;
		}
		if (i > 0)
			buf[w++] = '&';
		memcpy(buf + w, enc[i], l);
		*strchr(buf + w, '\x01') = '=';
		w += l;
		buf[w] = '\0';
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(enc[i]);
	free(enc);
	return rc;
}
