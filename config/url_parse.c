/*
 * url_parse: the part of Go's net/url that Litestream's replica URLs rely
 * on. The scheme is case-insensitive and lower-cased, "//" starts the
 * authority, the userinfo ends at the last '@' ("user:pass@"), a port must
 * be digits, the path and userinfo are percent-decoded, and a "?query" or
 * "#fragment" is split off (v0.3.13 ignores both). "scheme:opaque" (no
 * "//", no "/") has neither host nor path, as in Go.
 *
 * Errors never quote the URL: it may hold a password.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "config.h"

static int
url_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "invalid url: %s", what);
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes S[0..n) into a new string; NULL on a bad escape, which is
 * quoted in ERR unless S is a SECRET.
 */
static char *
unescape(const char *s, size_t n, bool secret, char *err, size_t errlen)
{
	char *out = cfg_xcalloc(1, n + 1), *w = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*w++ = s[i];
			continue;
		}
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
			size_t m = n - i < 3 ? n - i : 3;
			if (secret)
				snprintf(err, errlen, "invalid url: invalid "
				    "escape in the password");
			else
				snprintf(err, errlen, "invalid url: invalid "
				    "escape \"%.*s\"", (int)m, s + i);
			cfg_free_secret(out);
			return NULL;
		}
		*w++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	return out;
}

/* Go's getScheme: SCHEME ":" REST, or no scheme at all. */
static int
split_scheme(const char *s, struct cfg_url *u, const char **rest, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (isalpha((unsigned char)c))
			continue;
		if (isdigit((unsigned char)c) || c == '+' || c == '-' ||
		    c == '.') {
			if (i == 0)
				break;
			continue;
		}
		if (c == ':') {
			if (i == 0)
				return url_fail(err, errlen, "missing scheme");
			u->scheme = cfg_xstrndup(s, i);
			for (char *p = u->scheme; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			*rest = s + i + 1;
			return 0;
		}
		break;
	}
	u->scheme = cfg_xstrdup("");
	*rest = s;
	return 0;
}

/* USER[:PASSWORD]@ of the authority A[0..n); sets *HOSTSTART. */
static int
parse_userinfo(const char *a, size_t n, struct cfg_url *u, size_t *hoststart,
    char *err, size_t errlen)
{
	size_t at = n;

	for (size_t i = 0; i < n; i++)
		if (a[i] == '@')
			at = i;
	*hoststart = 0;
	if (at == n)
		return 0;
	*hoststart = at + 1;
	const char *colon = memchr(a, ':', at);
	size_t ulen = colon ? (size_t)(colon - a) : at;
	if ((u->user = unescape(a, ulen, false, err, errlen)) == NULL)
		return -1;
	if (colon != NULL) {
		u->pw_off = (size_t)(colon - a) + 1;
		u->pw_len = at - u->pw_off;
		u->password = unescape(colon + 1, u->pw_len, true, err,
		    errlen);
		if (u->password == NULL)
			return -1;
	}
	return 0;
}

/* Go's parseHost check: a port, if any, is digits. */
static int
check_port(const char *h, char *err, size_t errlen)
{
	const char *p = h;

	if (*h == '[') {
		if ((p = strchr(h, ']')) == NULL)
			return url_fail(err, errlen, "missing ']' in host");
		p++;
		if (*p != '\0' && *p != ':')
			return url_fail(err, errlen, "bad host after ']'");
	} else {
		p = strrchr(h, ':');
	}
	if (p == NULL || *p != ':')
		return 0;
	for (const char *q = p + 1; *q; q++)
		if (!isdigit((unsigned char)*q))
			return url_fail(err, errlen, "invalid port after host");
	return 0;
}

int
cfg_url_parse(const char *s, struct cfg_url *u, char *err, size_t errlen)
{
	const char *rest, *q;

	memset(u, 0, sizeof(*u));
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return url_fail(err, errlen, "control character");
	if (split_scheme(s, u, &rest, err, errlen) < 0)
		goto fail;
	size_t n = strcspn(rest, "#");
	if ((q = memchr(rest, '?', n)) != NULL) {
		u->has_query = true;
		n = (size_t)(q - rest);
	}
	u->host = cfg_xstrdup("");
	if (n >= 2 && rest[0] == '/' && rest[1] == '/') {
		size_t alen = strcspn(rest + 2, "/?#");
		if (alen > n - 2)
			alen = n - 2;
		size_t hs;
		if (parse_userinfo(rest + 2, alen, u, &hs, err, errlen) < 0)
			goto fail;
		u->pw_off += (size_t)(rest + 2 - s);
		free(u->host);
		u->host = cfg_xstrndup(rest + 2 + hs, alen - hs);
		if (check_port(u->host, err, errlen) < 0)
			goto fail;
		rest += 2 + alen;
		n -= 2 + alen;
	} else if (*u->scheme != '\0' && n > 0 && rest[0] != '/') {
		u->opaque = cfg_xstrndup(rest, n);
		n = 0;	/* "s3:bucket": no host, no path */
	}
	if ((u->path = unescape(rest, n, false, err, errlen)) == NULL)
		goto fail;
	return 0;
fail:
	cfg_url_clear(u);
	return -1;
}

void
cfg_url_clear(struct cfg_url *u)
{
	free(u->scheme);
	free(u->user);
	cfg_free_secret(u->password);
	free(u->host);
	free(u->path);
	free(u->opaque);
	memset(u, 0, sizeof(*u));
}

char *
cfg_url_redact(const char *url)
{
	struct cfg_url u;
	char err[64];
	const char *red = "<redacted>";

	if (cfg_url_parse(url, &u, err, sizeof(err)) < 0 ||
	    u.password == NULL) {
		if (u.scheme != NULL)
			cfg_url_clear(&u);
		return cfg_xstrdup(url);
	}
	size_t n = strlen(url) - u.pw_len + strlen(red) + 1;
	char *out = cfg_xcalloc(1, n);
	snprintf(out, n, "%.*s%s%s", (int)u.pw_off, url, red,
	    url + u.pw_off + u.pw_len);
	cfg_url_clear(&u);
	return out;
}

bool
cfg_looks_like_url(const char *s)
{
	size_t i = 0;

	while (isalnum((unsigned char)s[i]) || s[i] == '_')
		i++;
	return i > 0 && strncmp(s + i, "://", 3) == 0;
}
