/*
 * s3req: one S3 request and its retries (see s3int.h).
 *
 * Each attempt is a fresh curl easy handle added to the client's multi
 * handle (connections are kept by the multi handle, so retries and later
 * requests reuse them). Every attempt is signed anew (x-amz-date moves
 * on); the payload hash and Content-MD5 are computed once, when the
 * request is made, from a body that stays in memory until DONE.
 *
 * Answers: a 2xx body goes to the request's sink (GetObject) or into a
 * buffer capped at S3XML_MAX_DOC (XML results); any other status keeps at
 * most S3_ERRBODY_CAP bytes, parsed as an <Error>. A ranged or resumed
 * GET that gets 200 instead of 206 is stopped before a wrong byte reaches
 * the sink.
 */
#define _GNU_SOURCE
#include "s3int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "s3xml.h"

#define S3REQ_URL_LEN (S3ADDR_MAX_KEY * 3 + 4096)
#define S3REQ_MAX_SIGNED 8

struct s3req *
s3req_new(struct s3op *op, const char *opname, enum s3_stat_kind kind,
    const char *method, const char *key, const char *query,
    const void *body, size_t len)
{
	struct s3req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->c = op->c;
	r->op = op;
	r->opname = opname;
	r->kind = kind;
	r->method = method;
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->body = body;
	r->body_len = len;
	r->content_length = -1;
	if ((query != NULL && *query != '\0' &&
	    (r->query = strdup(query)) == NULL) ||
	    s3hash_body(body, len, &r->hash) != 0) {
		free(r->query);
		free(r);
		return NULL;
	}
	return r;
}

static void
drop_easy(struct s3req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->c->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
}

void
s3req_free(struct s3req *r)
{
	if (r == NULL)
		return;
	drop_easy(r);
	if (r->retry_ev != NULL)
		event_free(r->retry_ev);
	free(r->query);
	free(r->resp);
	free(r);
}

/* ---- curl callbacks --------------------------------------------------- */

static void
header_value(const char *line, size_t n, char *out, size_t outlen)
{
	const char *v = memchr(line, ':', n);
	size_t l;

	if (v == NULL) {
		out[0] = '\0';
		return;
	}
	for (v++; v < line + n && (*v == ' ' || *v == '\t'); v++)
		;
	l = (size_t)(line + n - v);
	while (l > 0 && (v[l - 1] == '\r' || v[l - 1] == '\n' ||
	    v[l - 1] == ' '))
		l--;
	if (l >= outlen)
		l = outlen - 1;
	memcpy(out, v, l);
	out[l] = '\0';
}

static size_t
header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct s3req *r = arg;
	size_t n = size * nitems;
	char v[128];

	if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = memchr(line, ' ', n);

		r->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		r->etag[0] = '\0';
		r->content_length = -1;
		r->last_modified = 0;
	} else if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
		header_value(line, n, r->etag, sizeof(r->etag));
	} else if (n > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
		header_value(line, n, v, sizeof(v));
		r->content_length = strtoll(v, NULL, 10);
	} else if (n > 14 && strncasecmp(line, "Last-Modified:", 14) == 0) {
		time_t t;

		header_value(line, n, v, sizeof(v));
		t = curl_getdate(v, NULL);
		r->last_modified = t > 0 ? (int64_t)t * 1000000000LL : 0;
	}
	return n;
}

/* Appends to the response buffer, up to CAP. Returns 0, or -1. */
static int
resp_add(struct s3req *r, const char *p, size_t n, size_t cap)
{
	if (n > cap - r->resp_len)
		return -1;
	if (r->resp_len + n + 1 > r->resp_cap) {
		size_t nc = r->resp_cap ? r->resp_cap : 4096;
		char *np;

		while (nc < r->resp_len + n + 1)
			nc *= 2;
		if ((np = realloc(r->resp, nc)) == NULL)
			return -1;
		r->resp = np;
		r->resp_cap = nc;
	}
	memcpy(r->resp + r->resp_len, p, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return 0;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3req *r = arg;
	size_t n = size * nmemb;
	bool ok = r->status >= 200 && r->status < 300;

	r->c->stats.bytes_down += n;
	if (ok && r->sink != NULL) {
		if (r->ranged && r->status != 206) {
			r->bad_range = true;
			return 0;
		}
		if (r->sink(p, n, r->sink_arg) != 0) {
			r->aborted = true;
			return 0;
		}
		r->delivered += n;
		return n;
	}
	if (resp_add(r, p, n, ok ? S3XML_MAX_DOC : S3_ERRBODY_CAP) != 0) {
		if (ok) {
			r->overflow = true;
			return 0;
		}
		/* An error body past the cap: keep what we have. */
	}
	return n;
}

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct s3req *r = arg;
	size_t n = size * nitems, left = r->body_len - r->body_off;

	if (n > left)
		n = left;
	if (n > 0)
		memcpy(buf, (const char *)r->body + r->body_off, n);
	r->body_off += n;
	return n;
}

static int
seek_cb(void *arg, curl_off_t off, int origin)
{
	struct s3req *r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->body_len)
		return CURL_SEEKFUNC_FAIL;
	r->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* ---- one attempt ------------------------------------------------------ */

static int
add_header(struct s3req *r, const char *name, const char *value)
{
	struct curl_slist *l;
	char *line;

	/* A NULL value: NAME is a raw line ("Expect:" removes curl's). */
	if (asprintf(&line, "%s%s%s", name, value ? ": " : "",
	    value ? value : "") < 0)
		return -1;
	l = curl_slist_append(r->hdrs, line);
	free(line);
	if (l == NULL)
		return -1;
	r->hdrs = l;
	return 0;
}

/* The headers to sign, besides what the signer adds. */
static size_t
signed_headers(struct s3req *r, const char *host, char range[64],
    struct sigv4_header *h)
{
	struct s3client *c = r->c;
	size_t n = 0;

	h[n++] = (struct sigv4_header){ "Host", host };
	if (r->md5)
		h[n++] = (struct sigv4_header){ "Content-MD5",
		    r->hash.md5_b64 };
	if (r->ranged || r->resume_at > 0) {
		uint64_t from = r->range_off + r->resume_at;

		if (r->range_len >= 0)
			snprintf(range, 64, "bytes=%llu-%llu",
			    (unsigned long long)from, (unsigned long long)
			    (r->range_off + (uint64_t)r->range_len - 1));
		else
			snprintf(range, 64, "bytes=%llu-",
			    (unsigned long long)from);
		h[n++] = (struct sigv4_header){ "Range", range };
	}
	if (r->sse && *c->sse != '\0') {
		h[n++] = (struct sigv4_header){
		    "x-amz-server-side-encryption", c->sse };
		if (*c->sse_kms_key_id != '\0')
			h[n++] = (struct sigv4_header){
			    "x-amz-server-side-encryption-aws-kms-key-id",
			    c->sse_kms_key_id };
	}
	return n;
}

/* Signs the attempt and builds its header list. */
static int
sign(struct s3req *r, const char *path)
{
	struct s3client *c = r->c;
	char host[S3ADDR_HOST_LEN + 80], range[64], date[SIGV4_AMZ_DATE_LEN + 1];
	struct sigv4_header h[S3REQ_MAX_SIGNED];
	struct sigv4_request req = { 0 };
	struct sigv4_result res;
	size_t n;
	int rc = -1;

	if (s3addr_host(&c->addr, host, sizeof(host)) != 0 ||
	    sigv4_format_amz_date(time(NULL), date) != 0)
		return -1;
	n = signed_headers(r, host, range, h);
	req.method = r->method;
	req.path = path;
	req.query = r->query;
	req.headers = h;
	req.nheaders = n;
	req.payload_hash = r->hash.sha256_hex;
	req.amz_date = date;
	req.region = c->addr.region;
	req.service = "s3";
	req.access_key_id = c->akid;
	req.secret_key = c->secret;
	req.session_token = *c->token != '\0' ? c->token : NULL;
	req.flags = SIGV4_RULES_S3;
	if (sigv4_sign(&req, &c->keys, &res) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (add_header(r, h[i].name, h[i].value) != 0)
			goto out;
	for (size_t i = 0; i < res.nadded; i++)
		if (add_header(r, res.added[i].name, res.added[i].value) != 0)
			goto out;
	if (add_header(r, "Authorization", res.authorization) != 0 ||
	    add_header(r, "Expect:", NULL) != 0 ||
	    (r->resume_at > 0 && r->if_match[0] != '\0' &&
	    add_header(r, "If-Match", r->if_match) != 0))
		goto out;
	rc = 0;
out:
	sigv4_result_free(&res);
	return rc;
}

static void
set_method(struct s3req *r, CURL *e)
{
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0 ||
	    strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
		if (strcmp(r->method, "POST") == 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

static void
set_options(struct s3req *r, CURL *e, const char *url)
{
	const struct s3client_config *l = &r->c->cfg;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, l->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, l->low_speed_limit);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, l->low_speed_time);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "walship");
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	if (l->skip_verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	set_method(r, e);
}

/* Starts one attempt. Returns 0, or -1 (nothing left in flight). */
static int
attempt(struct s3req *r)
{
	char path[S3REQ_URL_LEN], url[S3REQ_URL_LEN];
	struct s3client *c = r->c;

	r->attempts++;
	r->status = 0;
	r->resp_len = 0;
	r->body_off = 0;
	r->errbuf[0] = '\0';
	r->overflow = r->aborted = r->bad_range = false;
	r->resume_at = r->delivered;
	if (r->resume_at > 0)
		r->ranged = true;
	if (s3addr_path(&c->addr, r->key, path, sizeof(path)) != 0 ||
	    s3addr_url(&c->addr, r->key, r->query, url, sizeof(url)) != 0 ||
	    sign(r, path) != 0 || (r->easy = curl_easy_init()) == NULL) {
		drop_easy(r);
		return -1;
	}
	set_options(r, r->easy, url);
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		drop_easy(r);
		return -1;
	}
	c->stats.requests[r->kind]++;
	return 0;
}

int
s3req_start(struct s3req *r, void (*done)(struct s3req *,
    const struct s3_error *))
{
	r->done = done;
	r->start_ms = s3client_now_ms();
	return attempt(r);
}

/* ---- the end of an attempt -------------------------------------------- */

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct s3req *r = arg;
	struct s3client *c = r->c;
	struct s3_error err = { 0 };

	(void)fd, (void)what;
	s3client_enter(c);
	if (attempt(r) != 0) {
		snprintf(err.code, sizeof(err.code), "RequestFailed");
		snprintf(err.message, sizeof(err.message),
		    "cannot start a request: %s", strerror(errno));
		err.attempts = r->attempts;
		s3client_err_where(c, &err, r->opname, r->key);
		s3err_classify(&err);
		r->done(r, &err);
	}
	s3client_leave(c);
}

/* Whether this failed attempt gets another; schedules it if so. */
static bool
schedule_retry(struct s3req *r, const struct s3_error *err, bool retryable)
{
	struct s3client *c = r->c;
	uint64_t delay, elapsed = s3client_now_ms() - r->start_ms;
	struct timeval tv;
	char msg[1400];

	if (!retryable || !s3policy_next_retry(&c->retry, r->attempts, elapsed,
	    ((uint64_t)arc4random() << 32) | arc4random(), &delay))
		return false;
	if (r->retry_ev == NULL &&
	    (r->retry_ev = evtimer_new(c->base, on_retry, r)) == NULL)
		return false;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	if (evtimer_add(r->retry_ev, &tv) != 0)
		return false;
	c->stats.retries++;
	s3_error_format(err, msg, sizeof(msg));
	log_warn("retrying S3 request", KV_S("op", r->opname),
	    KV_S("bucket", c->addr.bucket), KV_S("key", r->key),
	    KV_U("attempt", r->attempts + 1), KV_U("delay_ms", delay),
	    KV_ERRS(msg));
	return true;
}

/* The outcome of a finished attempt into ERR; returns the transport. */
static enum s3policy_transport
outcome(struct s3req *r, CURLcode cc, struct s3_error *err, int *check)
{
	*check = 0;
	if (r->bad_range) {
		s3err_from_curl(err, CURLE_OK, "the store ignored the Range "
		    "header (HTTP 200 instead of 206)");
		snprintf(err->code, sizeof(err->code), "RangeIgnored");
		return S3POLICY_NET_FATAL;
	}
	if (r->overflow) {
		s3err_from_curl(err, CURLE_OK, "response larger than the cap");
		snprintf(err->code, sizeof(err->code), "ResponseTooLarge");
		return S3POLICY_NET_FATAL;
	}
	if (cc != CURLE_OK) {
		enum s3policy_transport t = s3err_from_curl(err, cc, r->errbuf);

		return r->aborted ? S3POLICY_NET_ABORTED : t;
	}
	if (r->status < 200 || r->status >= 300) {
		s3err_from_http(err, r->status, r->resp, r->resp_len);
		return S3POLICY_NET_OK;
	}
	if (r->check != NULL)
		*check = r->check(r, err);
	return S3POLICY_NET_OK;
}

void
s3req_attempt_done(struct s3req *r, CURLcode cc)
{
	struct s3client *c = r->c;
	struct s3_error err = { 0 };
	enum s3policy_transport t;
	curl_off_t up = 0;
	int check;

	curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	c->stats.bytes_up += (uint64_t)up;
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->if_match[0] == '\0' && r->sink != NULL && r->etag[0] != '\0')
		snprintf(r->if_match, sizeof(r->if_match), "%s", r->etag);
	drop_easy(r);
	t = outcome(r, cc, &err, &check);
	if (cc == CURLE_OK && t == S3POLICY_NET_OK && check == 0 &&
	    r->status >= 200 && r->status < 300) {
		r->done(r, NULL);
		return;
	}
	err.attempts = r->attempts;
	s3client_err_where(c, &err, r->opname, r->key);
	s3err_classify(&err);
	if (schedule_retry(r, &err, check == 1 ||
	    s3policy_retryable(t, err.http_status, err.code)))
		return;
	r->done(r, &err);
}
