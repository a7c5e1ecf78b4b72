/*
 * report: how the supervisor shows what it knows. `addr:` gets a
 * Prometheus endpoint (GET /metrics, libevent's HTTP server on the
 * supervisor's loop); every database gets a status file for `walship
 * status` (status_file.c), rewritten every SV_REPORT_EVERY_S.
 *
 * An empty host in addr: means 127.0.0.1, not every interface as in
 * Litestream: metrics name database paths and positions, and exposing
 * them to the network should be a decision (":9090" -> 127.0.0.1:9090;
 * "0.0.0.0:9090" to listen everywhere).
 */
#include "sv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "clock.h"
#include "config.h"
#include "log.h"

struct sv_report {
	struct sv *sv;
	struct evhttp *http;
	struct event *tick;
	char *text;		/* a status file being rendered */
	size_t text_len;
};

#define STATUS_TEXT_MAX (64 * 1024)

static void
on_metrics(struct evhttp_request *req, void *arg)
{
	struct sv_report *r = arg;
	struct evbuffer *out;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	sv_metrics_render(out, r->sv->children, r->sv->nchildren, r->sv->cfg);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "Not Found");
}

static void
write_status_files(struct sv_report *r)
{
	struct sv *sv = r->sv;
	int64_t wall = clock_wall_ns(), mono = clock_mono_ns();

	for (size_t d = 0; sv->cfg != NULL && d < sv->cfg->ndbs; d++) {
		const struct cfg_db *db = &sv->cfg->dbs[d];
		const struct child *c = NULL;
		for (size_t i = 0; i < sv->nchildren && c == NULL; i++)
			if (sv->children[i]->role == SV_WALREADER &&
			    strcmp(sv->children[i]->db_path, db->path) == 0)
				c = sv->children[i];
		if (c == NULL)
			continue;
		if (sv_status_file_render(r->text, r->text_len, sv->children,
		    sv->nchildren, c->db_id, getpid(), wall, mono) < 0) {
			log_warn("status too large for its file",
			    KV_S("db", c->db_path));
			continue;
		}
		/* No directory yet: the walreader has not started it. */
		if (sv_status_file_write(db->meta_path, r->text) < 0 &&
		    errno != ENOENT)
			log_warn("cannot write status file", KV_S("db",
			    c->db_path), KV_ERR());
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	write_status_files(arg);
}

/* "HOST:PORT", ":PORT", "[V6]:PORT" into HOST (empty -> 127.0.0.1). */
static int
split_addr(const char *addr, char *host, size_t hlen, unsigned *port)
{
	const char *colon = strrchr(addr, ':');
	char *end;
	size_t l;

	if (colon == NULL)
		return -1;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	l = (size_t)(colon - addr);
	if (l >= 2 && addr[0] == '[' && addr[l - 1] == ']') {
		addr++;
		l -= 2;
	}
	if (l == 0) {
		snprintf(host, hlen, "127.0.0.1");
		return 0;
	}
	if (l >= hlen)
		return -1;
	memcpy(host, addr, l);
	host[l] = '\0';
	return 0;
}

struct sv_report *
sv_report_open(struct sv *sv, const char *addr)
{
	struct sv_report *r = calloc(1, sizeof(*r));
	struct timeval every = { .tv_sec = SV_REPORT_EVERY_S };
	char host[256];
	unsigned port;

	if (r == NULL || (r->text = malloc(STATUS_TEXT_MAX)) == NULL) {
		log_error("out of memory");
		free(r);
		return NULL;
	}
	r->sv = sv;
	r->text_len = STATUS_TEXT_MAX;
	if ((r->tick = event_new(sv_base(sv), -1, EV_PERSIST, on_tick, r)) ==
	    NULL || event_add(r->tick, &every) < 0) {
		log_error("cannot set up the status timer");
		sv_report_close(r);
		return NULL;
	}
	if (addr == NULL || addr[0] == '\0')
		return r;
	if (split_addr(addr, host, sizeof(host), &port) < 0) {
		log_error("invalid metrics address, want HOST:PORT or :PORT",
		    KV_S("addr", addr));
		sv_report_close(r);
		return NULL;
	}
	if ((r->http = evhttp_new(sv_base(sv))) == NULL) {
		log_error("cannot create the metrics server");
		sv_report_close(r);
		return NULL;
	}
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(r->http, 10);
	evhttp_set_gencb(r->http, on_other, r);
	if (evhttp_set_cb(r->http, "/metrics", on_metrics, r) != 0 ||
	    evhttp_bind_socket(r->http, host, (uint16_t)port) != 0) {
		log_error("cannot listen for metrics", KV_S("addr", addr),
		    KV_S("host", host), KV_U("port", port), KV_ERR());
		sv_report_close(r);
		return NULL;
	}
	log_info("serving metrics", KV_S("addr", addr), KV_S("host", host),
	    KV_U("port", port), KV_S("path", "/metrics"));
	return r;
}

void
sv_report_close(struct sv_report *r)
{
	if (r == NULL)
		return;
	if (r->tick != NULL)
		event_free(r->tick);
	if (r->http != NULL)
		evhttp_free(r->http);
	free(r->text);
	free(r);
}
