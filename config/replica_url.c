/*
 * replica_url: what a replica's url: means (format doc §5.4), for the config
 * and for the commands that take a REPLICA_URL.
 *
 *   file:///abs/path             file replica in /abs/path
 *   s3://HOST[:PORT]/PREFIX      bucket, region, endpoint, path style from
 *                                HOST by the provider table below
 *   gcs://BUCKET/PREFIX
 *   abs://ACCOUNT@CONTAINER/PREFIX
 *   sftp://USER[:PASSWORD]@HOST[:PORT]/PATH
 *
 * URL parts only fill what the config left empty (explicit keys win). The
 * key prefix of s3, gcs and abs is path.Clean(path) without its leading
 * "/"; sftp keeps the path as written. S3 provider hosts, with Litestream's
 * regular expressions read with literal dots:
 *
 *   [B.]localhost                   B, us-east-1, http://localhost[:P]
 *   [B.]s3.R.backblazeb2.com        B, R, https://s3.R.backblazeb2.com[:P]
 *   [B.]s3.filebase.com             B, "", https://s3.filebase.com[:P]
 *   [B.]R.digitaloceanspaces.com    B, R, https://R.digitaloceanspaces.com[:P]
 *   [B.]s3.R.scw.cloud              B, R, https://s3.R.scw.cloud[:P]
 *   [B.]R.linodeobjects.com         B, R, https://R.linodeobjects.com[:P]
 *   anything else                   the host, "", AWS, virtual-hosted
 *
 * Every provider match uses path-style addressing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "config.h"

struct s3host {
	char *bucket, *region, *endpoint;
	bool path_style;
};

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The part of H[0..n) before ".SUFFIX" (or "" if H is SUFFIX itself). */
static bool
strip_bucket(const char *h, size_t n, const char *suffix, size_t *blen)
{
	size_t k = strlen(suffix);

	if (n == k && memcmp(h, suffix, k) == 0) {
		*blen = 0;
		return true;
	}
	if (n > k + 1 && h[n - k - 1] == '.' && ends_with(h, n, suffix)) {
		*blen = n - k - 1;
		return true;
	}
	return false;
}

/*
 * "[B.]PRE.R.TAIL" (PRE may be "" for "[B.]R.TAIL"): sets the bucket and
 * region lengths. R is one label.
 */
static bool
match_region(const char *h, size_t n, const char *pre, const char *tail,
    size_t *blen, const char **r, size_t *rlen)
{
	if (!ends_with(h, n, tail))
		return false;
	size_t m = n - strlen(tail);	/* h[0..m) = "[B.]PRE.R" */
	size_t rs = m;
	while (rs > 0 && h[rs - 1] != '.')
		rs--;
	if (rs == m)
		return false;
	*r = h + rs;
	*rlen = m - rs;
	if (*pre == '\0') {
		*blen = rs > 0 ? rs - 1 : 0;
		return true;
	}
	return rs > 0 && strip_bucket(h, rs - 1, pre, blen);
}

/* Bucket B, region R; the endpoint is PRE + (R if EPR) + SUF. */
static void
provider(struct s3host *p, const char *b, size_t blen, const char *r,
    size_t rlen, const char *pre, bool epr, const char *suf)
{
	char ep[512];

	p->bucket = cfg_xstrndup(b, blen);
	p->region = cfg_xstrndup(r, rlen);
	snprintf(ep, sizeof(ep), "%s%.*s%s", pre, epr ? (int)rlen : 0, r, suf);
	p->endpoint = cfg_xstrdup(ep);
	p->path_style = true;
}

/* Litestream's s3.ParseHost over H (no port). */
static void
parse_s3_host(const char *h, struct s3host *p)
{
	size_t n = strlen(h), bl, rl;
	const char *r;

	if (strip_bucket(h, n, "localhost", &bl))
		provider(p, h, bl, "us-east-1", 9, "localhost", false, "");
	else if (match_region(h, n, "s3", ".backblazeb2.com", &bl, &r, &rl))
		provider(p, h, bl, r, rl, "s3.", true, ".backblazeb2.com");
	else if (strip_bucket(h, n, "s3.filebase.com", &bl))
		provider(p, h, bl, "", 0, "s3.filebase.com", false, "");
	else if (match_region(h, n, "", ".digitaloceanspaces.com", &bl, &r,
	    &rl))
		provider(p, h, bl, r, rl, "", true, ".digitaloceanspaces.com");
	else if (match_region(h, n, "s3", ".scw.cloud", &bl, &r, &rl))
		provider(p, h, bl, r, rl, "s3.", true, ".scw.cloud");
	else if (match_region(h, n, "", ".linodeobjects.com", &bl, &r, &rl))
		provider(p, h, bl, r, rl, "", true, ".linodeobjects.com");
	else {
		p->bucket = cfg_xstrdup(h);
		p->region = cfg_xstrdup("");
		p->endpoint = cfg_xstrdup("");
		p->path_style = false;
	}
}

/* Go's net.SplitHostPort, falling back to the whole string as the host. */
static void
split_host_port(const char *hp, char **host, const char **port)
{
	const char *c = strrchr(hp, ':');

	*port = "";
	if (hp[0] == '[') {
		const char *e = strchr(hp, ']');
		if (e != NULL && e[1] == ':' && c == e + 1) {
			*host = cfg_xstrndup(hp + 1, (size_t)(e - hp - 1));
			*port = c + 1;
			return;
		}
	} else if (c != NULL && memchr(hp, ':', (size_t)(c - hp)) == NULL) {
		*host = cfg_xstrndup(hp, (size_t)(c - hp));
		*port = c + 1;
		return;
	}
	*host = cfg_xstrdup(hp);
}

static void
s3_from_host(const char *hostport, struct s3host *p)
{
	char *host, ep[600];
	const char *port;

	split_host_port(hostport, &host, &port);
	parse_s3_host(host, p);
	free(host);
	if (*p->endpoint == '\0')
		return;
	snprintf(ep, sizeof(ep), "%s://%s%s%s",
	    strcmp(p->endpoint, "localhost") == 0 ? "http" : "https",
	    p->endpoint, *port ? ":" : "", port);
	cfg_str_set(&p->endpoint, ep);
}

static bool
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static void
fill(char **dst, const char *v)
{
	if (empty(*dst) && v != NULL)
		cfg_str_set(dst, v);
}

/* path.Clean(p) without its leading "/", "" for the root. */
static char *
key_prefix(const char *p)
{
	char *c = cfg_path_clean(p);
	char *k = cfg_xstrdup(c[0] == '/' ? c + 1 : c);

	free(c);
	if (strcmp(k, ".") == 0)
		k[0] = '\0';
	return k;
}

static void
apply_file(struct cfg_replica *r, const struct cfg_url *u)
{
	size_t n = strlen(u->host) + strlen(u->path) + 3;
	char *p = cfg_xcalloc(1, n);

	if (u->opaque != NULL)
		cfg_str_set(&p, u->opaque);	/* Go prints it back */
	else if (*u->host != '\0')
		snprintf(p, n, "//%s%s", u->host, u->path);
	else
		snprintf(p, n, "%s", u->path);
	char *c = cfg_path_clean(p);
	fill(&r->path, c);
	free(c);
	free(p);
}

void
cfg_url_apply(struct cfg_replica *r, const struct cfg_url *u, bool *fps)
{
	char *prefix = key_prefix(u->path);
	struct s3host h = { 0 };

	*fps = false;
	switch (r->type) {
	case CFG_REPLICA_FILE:
		apply_file(r, u);
		break;
	case CFG_REPLICA_S3:
		s3_from_host(u->host, &h);
		fill(&r->path, prefix);
		fill(&r->bucket, h.bucket);
		fill(&r->region, h.region);
		fill(&r->endpoint, h.endpoint);
		*fps = h.path_style;
		break;
	case CFG_REPLICA_ABS:
		fill(&r->account_name, u->user);
		/* FALLTHROUGH */
	case CFG_REPLICA_GCS:
		fill(&r->bucket, u->host);
		fill(&r->path, prefix);
		break;
	case CFG_REPLICA_SFTP:
		fill(&r->host, u->host);
		fill(&r->user, u->user);
		fill(&r->password, u->password);
		fill(&r->path, u->path);
		break;
	}
	free(h.bucket);
	free(h.region);
	free(h.endpoint);
	free(prefix);
}

void
cfg_endpoint_normalize(char **endpoint)
{
	const char *e = *endpoint;
	char *host, buf[1024];
	const char *port;

	if (empty(e) || strstr(e, "://") != NULL)
		return;
	size_t hl = strcspn(e, "/?#");
	char *hp = cfg_xstrndup(e, hl);
	split_host_port(hp, &host, &port);
	bool local = strcmp(host, "localhost") == 0 ||
	    ends_with(host, strlen(host), ".localhost");
	snprintf(buf, sizeof(buf), "%s://%s", local ? "http" : "https", e);
	free(hp);
	free(host);
	cfg_str_set(endpoint, buf);
}

int
cfg_replica_from_url(const char *url, struct cfg_replica *r, char *err,
    size_t errlen)
{
	struct cfg_url u;
	const char *missing;
	bool fps;

	memset(r, 0, sizeof(*r));
	cfg_replica_defaults(r);
	if (cfg_url_parse(url, &u, err, errlen) < 0)
		return -1;
	if (*u.scheme == '\0') {
		snprintf(err, errlen, "replica url scheme required");
		goto fail;
	}
	if (cfg_replica_type_parse(u.scheme, &r->type) < 0) {
		char q[80];
		cfg_quote(q, sizeof(q), u.scheme);
		snprintf(err, errlen, "unknown replica type: %s", q);
		goto fail;
	}
	r->url = cfg_xstrdup(url);
	cfg_url_apply(r, &u, &fps);
	r->force_path_style = fps;
	if ((missing = cfg_replica_finish(r, NULL)) != NULL) {
		snprintf(err, errlen, "%s", missing);
		goto fail;
	}
	cfg_url_clear(&u);
	return 0;
fail:
	cfg_url_clear(&u);
	cfg_replica_clear(r);
	return -1;
}
