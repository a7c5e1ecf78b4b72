/*
 * s3client: the client object, its operations list and the glue between
 * libcurl's multi interface and libevent (see s3client.h).
 *
 * The glue follows curl's hiperfifo example: curl tells us which sockets
 * to watch (sock_cb) and when to call it back (timer_cb); libevent events
 * call curl_multi_socket_action, after which finished transfers are
 * collected (check_done) and handed to their requests.
 *
 * Re-entrancy: completion callbacks run from inside these libevent
 * callbacks and may start operations or free the client. Every entry from
 * the loop holds c->depth; s3client_free inside one cancels the
 * operations at once but leaves the struct to the outermost entry.
 */
#include "s3int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "config.h"
#include "layout.h"
#include "log.h"

struct sockinfo {
	struct event *ev;
};

uint64_t
s3client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- curl <-> libevent ------------------------------------------------ */

static void client_destroy(struct s3client *c);

static void
leave(struct s3client *c)
{
	if (--c->depth == 0 && c->dying)
		client_destroy(c);
}

static void
check_done(struct s3client *c)
{
	CURLMsg *msg;
	int left;

	while (!c->dying && (msg = curl_multi_info_read(c->multi, &left))) {
		struct s3req *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		if (r != NULL)
			s3req_attempt_done(r, msg->data.result);
	}
}

static void
socket_action(struct s3client *c, curl_socket_t fd, int flags)
{
	int running = 0;

	c->depth++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	check_done(c);
	leave(c);
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	socket_action(arg, (curl_socket_t)fd, flags);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct s3client *c = userp;
	struct sockinfo *si = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (si != NULL) {
			event_free(si->ev);
			free(si);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (si == NULL) {
		if ((si = calloc(1, sizeof(*si))) == NULL)
			return -1;
		si->ev = event_new(c->base, s, kind, on_socket, c);
		if (si->ev == NULL) {
			free(si);
			return -1;
		}
		curl_multi_assign(c->multi, s, si);
	} else {
		event_del(si->ev);
		event_assign(si->ev, c->base, s, kind, on_socket, c);
	}
	return event_add(si->ev, NULL) == 0 ? 0 : -1;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct s3client *c = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(c->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

/* ---- operations ------------------------------------------------------- */

void
s3op_link(struct s3client *c, struct s3op *op, void (*destroy)(
    struct s3op *), s3_done_fn *done, void *arg)
{
	op->c = c;
	op->destroy = destroy;
	op->done = done;
	op->arg = arg;
	op->res.info.size = -1;
	op->prev = NULL;
	op->next = c->ops;
	if (c->ops != NULL)
		c->ops->prev = op;
	c->ops = op;
	c->nops++;
}

static void
op_unlink(struct s3op *op)
{
	struct s3client *c = op->c;

	if (op->later != NULL) {
		event_free(op->later);
		op->later = NULL;
	}
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		c->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	c->nops--;
}

void
s3op_abandon(struct s3op *op)
{
	op_unlink(op);
	op->destroy(op);
}

void
s3op_finish(struct s3op *op, int status)
{
	struct s3client *c = op->c;

	op_unlink(op);
	op->res.status = status;
	op->res.err = status == 0 ? NULL : &op->err;
	if (status != 0)
		c->stats.errors++;
	c->depth++;
	op->done(&op->res, op->arg);
	op->destroy(op);
	leave(c);
}

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
	struct s3op *op = arg;
	struct s3client *c = op->c;

	(void)fd, (void)what;
	c->depth++;
	s3op_finish(op, op->later_status);
	leave(c);
}

int
s3op_finish_later(struct s3op *op, int status)
{
	static const struct timeval zero = { 0, 0 };

	op->later_status = status;
	op->later = evtimer_new(op->c->base, on_later, op);
	if (op->later == NULL || evtimer_add(op->later, &zero) != 0) {
		s3op_abandon(op);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
s3client_key(const struct s3client *c, const char *rel, char *out,
    size_t len)
{
	return s3addr_key(c->prefix, rel, out, len);
}

const char *
s3client_rel_key(const struct s3client *c, const char *key)
{
	size_t n = strlen(c->prefix);

	if (n == 0)
		return key;
	if (strncmp(key, c->prefix, n) != 0 || key[n] != '/')
		return NULL;
	return key + n + 1;
}

void
s3client_err_where(const struct s3client *c, struct s3_error *err,
    const char *op, const char *key)
{
	snprintf(err->op, sizeof(err->op), "%s", op);
	snprintf(err->key, sizeof(err->key), "%s", key ? key : "");
	snprintf(err->bucket, sizeof(err->bucket), "%s", c->addr.bucket);
	snprintf(err->endpoint, sizeof(err->endpoint), "%s", c->endpoint);
	if (err->hint == NULL)
		err->hint = "";
}

/* ---- life cycle ------------------------------------------------------- */

static char *
dup_secret(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void
set_limits(struct s3client *c, const struct s3client_config *cfg)
{
	struct s3client_config *l = &c->cfg;

	*l = *cfg;
	l->bucket = l->prefix = l->region = l->endpoint = NULL;
	l->access_key_id = l->secret_access_key = l->session_token = NULL;
	l->sse = l->sse_kms_key_id = NULL;
#define DEF(f, v) if (l->f == 0) l->f = (v)
	DEF(connect_timeout_ms, S3CLIENT_DEFAULT_CONNECT_TIMEOUT_MS);
	DEF(low_speed_limit, S3CLIENT_DEFAULT_LOW_SPEED_LIMIT);
	DEF(low_speed_time, S3CLIENT_DEFAULT_LOW_SPEED_TIME);
	DEF(max_attempts, S3CLIENT_DEFAULT_MAX_ATTEMPTS);
	DEF(retry_total_ms, S3CLIENT_DEFAULT_RETRY_TOTAL_MS);
	DEF(retry_base_ms, S3CLIENT_DEFAULT_RETRY_BASE_MS);
	DEF(retry_cap_ms, S3CLIENT_DEFAULT_RETRY_CAP_MS);
	DEF(multipart_threshold, S3CLIENT_DEFAULT_THRESHOLD);
	DEF(part_size, S3CLIENT_DEFAULT_PART_SIZE);
	DEF(max_parts_in_flight, S3CLIENT_DEFAULT_PARTS_IN_FLIGHT);
#undef DEF
	if (l->part_size < S3POLICY_MIN_PART)
		l->part_size = S3POLICY_MIN_PART;
	if (l->max_parts_in_flight > S3CLIENT_MAX_PARTS_IN_FLIGHT)
		l->max_parts_in_flight = S3CLIENT_MAX_PARTS_IN_FLIGHT;
	c->retry.max_attempts = l->max_attempts;
	c->retry.max_total_ms = l->retry_total_ms;
	c->retry.base_ms = l->retry_base_ms;
	c->retry.cap_ms = l->retry_cap_ms;
}

static int
setup_multi(struct s3client *c)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	if ((c->multi = curl_multi_init()) == NULL) {
		curl_global_cleanup();
		return -1;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	c->timer = evtimer_new(c->base, on_timer, c);
	return c->timer != NULL ? 0 : -1;
}

static int
init_strings(struct s3client *c, const struct s3client_config *cfg,
    char *err, size_t errlen)
{
	char host[S3ADDR_HOST_LEN + 80];

	if (s3addr_init(&c->addr, cfg->endpoint, cfg->region, cfg->bucket,
	    cfg->force_path_style, err, errlen) != 0)
		return -1;
	if (layout_clean_prefix(cfg->prefix ? cfg->prefix : "", c->prefix,
	    sizeof(c->prefix)) != 0) {
		snprintf(err, errlen, "key prefix too long");
		return -1;
	}
	if (s3addr_host(&c->addr, host, sizeof(host)) != 0) {
		snprintf(err, errlen, "endpoint host too long");
		return -1;
	}
	snprintf(c->endpoint, sizeof(c->endpoint), "%s://%s", c->addr.scheme,
	    host);
	if (cfg->access_key_id == NULL || *cfg->access_key_id == '\0' ||
	    cfg->secret_access_key == NULL || *cfg->secret_access_key == '\0') {
		snprintf(err, errlen, "no S3 credentials for bucket %s: set "
		    "access-key-id and secret-access-key (or AWS_ACCESS_KEY_ID "
		    "and AWS_SECRET_ACCESS_KEY)", c->addr.bucket);
		errno = EINVAL;
		return -1;
	}
	c->akid = dup_secret(cfg->access_key_id);
	c->secret = dup_secret(cfg->secret_access_key);
	c->token = dup_secret(cfg->session_token);
	c->sse = dup_secret(cfg->sse);
	c->sse_kms_key_id = dup_secret(cfg->sse_kms_key_id);
	if (!c->akid || !c->secret || !c->token || !c->sse ||
	    !c->sse_kms_key_id) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

struct s3client *
s3client_new(struct event_base *base, const struct s3client_config *cfg,
    char *err, size_t errlen)
{
	struct s3client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = base;
	sigv4_key_cache_init(&c->keys);
	set_limits(c, cfg);
	if (init_strings(c, cfg, err, errlen) != 0) {
		int e = errno;

		client_destroy(c);
		errno = e;
		return NULL;
	}
	if (setup_multi(c) != 0) {
		snprintf(err, errlen, "cannot set up libcurl");
		client_destroy(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void
s3client_config_from_replica(struct s3client_config *cfg,
    const struct cfg_replica *r)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->bucket = r->bucket;
	cfg->prefix = r->path;
	cfg->region = r->region;
	cfg->endpoint = r->endpoint;
	cfg->force_path_style = r->force_path_style;
	cfg->skip_verify = r->skip_verify;
	cfg->access_key_id = r->access_key_id;
	cfg->secret_access_key = r->secret_access_key;
	cfg->session_token = r->session_token;
	if (r->sse == CFG_SSE_AES256)
		cfg->sse = "AES256";
	else if (r->sse == CFG_SSE_KMS)
		cfg->sse = "aws:kms";
	cfg->sse_kms_key_id = r->sse_kms_key_id;
}

static void
cancel_all(struct s3client *c)
{
	while (c->ops != NULL) {
		struct s3op *op = c->ops;

		op_unlink(op);
		op->destroy(op);
	}
}

static void
client_destroy(struct s3client *c)
{
	cancel_all(c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->multi != NULL) {
		curl_multi_cleanup(c->multi);
		curl_global_cleanup();
	}
	free_secret(c->akid);
	free_secret(c->secret);
	free_secret(c->token);
	free_secret(c->sse);
	free_secret(c->sse_kms_key_id);
	sigv4_key_cache_clear(&c->keys);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void
s3client_free(struct s3client *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		/* Inside a callback: cancel now, free on the way out. */
		cancel_all(c);
		c->dying = true;
		return;
	}
	client_destroy(c);
}

const struct s3client_stats *
s3client_stats(const struct s3client *c)
{
	return &c->stats;
}

size_t
s3client_pending(const struct s3client *c)
{
	return c->nops;
}

void
s3client_enter(struct s3client *c)
{
	c->depth++;
}

void
s3client_leave(struct s3client *c)
{
	leave(c);
}
