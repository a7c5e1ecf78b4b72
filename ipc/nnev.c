/*
 * nnev: nanomsg sockets in a libevent loop (see nnev.h for the contract).
 *
 * Closing from inside on_msg: the drain loop holds a depth count while it
 * runs callbacks; nnev_close deletes the events and closes the socket at
 * once, but the struct (and the events' memory) is freed only when the
 * outermost drain returns, so the loop never touches freed memory.
 */
#include "nnev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "log.h"
#include "msg.h"

#define IPC_SCHEME "ipc://"

/* Invalid messages logged per socket and second; the rest are counted. */
#define NNEV_DROP_LOGS_PER_SEC 5

struct nnev {
	char *name;
	char *addr;
	enum nnev_kind kind;
	int sock;
	struct event *rev; /* PULL: NN_RCVFD, persistent */
	struct event *wev; /* PUSH: NN_SNDFD, one-shot, armed while waiting */
	void (*on_msg)(struct nnev *, const struct msg *, void *);
	void *arg;
	void (*on_writable)(struct nnev *, void *);
	void *warg;
	struct nnev_stats stats;
	int depth;  /* drain loops running on this socket */
	int closed; /* nnev_close ran; free when depth drops to 0 */
	time_t drop_log_sec;
	int drop_logs;
};

static void
set_err(char *err, size_t errlen, const char *what, const char *addr)
{
	int saved = errno;

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s %s: %s", what, addr,
		    nn_strerror(saved));
	errno = saved;
}

static void
nnev_destroy(struct nnev *nv)
{
	if (nv->rev != NULL)
		event_free(nv->rev);
	if (nv->wev != NULL)
		event_free(nv->wev);
	free(nv->name);
	free(nv->addr);
	free(nv);
}

/* Rate limit for the "dropping invalid message" line. */
static int
drop_log_ok(struct nnev *nv)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != nv->drop_log_sec) {
		nv->drop_log_sec = now.tv_sec;
		nv->drop_logs = 0;
	}
	return nv->drop_logs++ < NNEV_DROP_LOGS_PER_SEC;
}

static void
nnev_deliver(struct nnev *nv, const void *buf, size_t len)
{
	struct msg m;
	char err[200];

	if (msg_decode(buf, len, &m, err, sizeof(err)) < 0) {
		nv->stats.dropped_invalid++;
		if (drop_log_ok(nv))
			log_warn("dropping invalid message",
			    KV_S("socket", nv->name), KV_S("addr", nv->addr),
			    KV_U("bytes", len),
			    KV_U("dropped", nv->stats.dropped_invalid),
			    KV_ERRS(err));
		return;
	}
	nv->stats.received++;
	nv->on_msg(nv, &m, nv->arg);
}

static void
nnev_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nnev *nv = arg;

	(void)fd;
	(void)what;
	nv->depth++;
	for (int i = 0; i < NNEV_BUDGET && !nv->closed; i++) {
		void *buf = NULL;
		int n = nn_recv(nv->sock, &buf, NN_MSG, NN_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EINTR)
				continue;
			/* ETERM, EBADF: the fd would stay readable and spin. */
			log_error("nanomsg receive failed, socket disabled",
			    KV_S("socket", nv->name), KV_S("addr", nv->addr),
			    KV_S("error", nn_strerror(errno)));
			event_del(nv->rev);
			break;
		}
		nnev_deliver(nv, buf, (size_t)n);
		nn_freemsg(buf);
	}
	if (--nv->depth == 0 && nv->closed)
		nnev_destroy(nv);
}

static void
nnev_writable(evutil_socket_t fd, short what, void *arg)
{
	struct nnev *nv = arg;
	void (*cb)(struct nnev *, void *) = nv->on_writable;

	(void)fd;
	(void)what;
	nv->on_writable = NULL;
	/* The event was one-shot; the callback may send, wait again or
	 * close NV, so NV is not touched after it. */
	if (cb != NULL)
		cb(nv, nv->warg);
}

static int
set_int_opt(int s, int opt, int val)
{
	return nn_setsockopt(s, NN_SOL_SOCKET, opt, &val, sizeof(val));
}

static int
get_fd(int s, int opt)
{
	int fd = -1;
	size_t sz = sizeof(fd);

	if (nn_getsockopt(s, NN_SOL_SOCKET, opt, &fd, &sz) < 0)
		return -1;
	return fd;
}

static int
conf_valid(const struct nnev_conf *c, char *err, size_t errlen)
{
	const char *why = NULL;

	if (c->addr == NULL)
		why = "no address";
	else if (c->kind != NNEV_PUSH && c->kind != NNEV_PULL)
		why = "kind is neither PUSH nor PULL";
	else if (c->how != NNEV_BIND && c->how != NNEV_CONNECT)
		why = "neither bind nor connect";
	else if (c->kind == NNEV_PULL && c->on_msg == NULL)
		why = "a PULL socket needs on_msg";
	else if (c->kind == NNEV_PUSH && c->on_msg != NULL)
		why = "a PUSH socket receives nothing: on_msg set";
	else if (c->sndbuf < 0 || c->rcvbuf < 0)
		why = "negative buffer size";
	if (why == NULL)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "nnev_open %s: %s",
		    c->addr ? c->addr : "(null)", why);
	errno = EINVAL;
	return -1;
}

/*
 * Before nn_bind on ipc://: nanomsg 1.1.x leaks its endpoint when the
 * listen fails (nanomsg issue #932), so the two failures a restarted role
 * can meet are found here first: a missing directory, and a live listener
 * on the path (probed the way nanomsg probes, by connecting). A stale
 * socket file refuses the connection and is left to nanomsg to replace.
 */
static int
ipc_bind_precheck(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	const char *path = addr + strlen(IPC_SCHEME);
	char *slash;
	int fd, rc, saved;

	if (strlen(path) >= sizeof(sun.sun_path))
		return 0; /* nanomsg refuses it before allocating anything */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	slash = strrchr(sun.sun_path, '/');
	if (slash != NULL && slash != sun.sun_path) {
		*slash = '\0';
		rc = stat(sun.sun_path, &st);
		if (rc < 0 || !S_ISDIR(st.st_mode)) {
			if (rc == 0)
				errno = ENOTDIR;
			set_err(err, errlen, "nn_bind", addr);
			return -1;
		}
		*slash = '/';
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* let nn_bind report it */
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	/* EAGAIN: a listener with a full backlog is still a listener. */
	if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS) {
		errno = EADDRINUSE;
		set_err(err, errlen, "nn_bind", addr);
		return -1;
	}
	return 0;
}

/* Socket options, then bind or connect. */
static int
nnev_setup(struct nnev *nv, const struct nnev_conf *c, char *err,
    size_t errlen)
{
	int sndbuf = c->sndbuf ? c->sndbuf : NNEV_DEFAULT_BUF;
	int rcvbuf = c->rcvbuf ? c->rcvbuf : NNEV_DEFAULT_BUF;

	if (set_int_opt(nv->sock, NN_RCVMAXSIZE,
	    (int)(MSG_HDR_LEN + MSG_MAX_PAYLOAD)) < 0) {
		set_err(err, errlen, "NN_RCVMAXSIZE", nv->addr);
		return -1;
	}
	if (set_int_opt(nv->sock, NN_SNDBUF, sndbuf) < 0) {
		set_err(err, errlen, "NN_SNDBUF", nv->addr);
		return -1;
	}
	if (set_int_opt(nv->sock, NN_RCVBUF, rcvbuf) < 0) {
		set_err(err, errlen, "NN_RCVBUF", nv->addr);
		return -1;
	}
	if (c->how == NNEV_BIND) {
		if (strncmp(nv->addr, IPC_SCHEME, strlen(IPC_SCHEME)) == 0 &&
		    ipc_bind_precheck(nv->addr, err, errlen) < 0)
			return -1;
		if (nn_bind(nv->sock, nv->addr) < 0) {
			set_err(err, errlen, "nn_bind", nv->addr);
			return -1;
		}
	} else if (nn_connect(nv->sock, nv->addr) < 0) {
		set_err(err, errlen, "nn_connect", nv->addr);
		return -1;
	}
	return 0;
}

/* The libevent side: NN_RCVFD read events, or the NN_SNDFD one-shot. */
static int
nnev_register(struct nnev *nv, struct event_base *base, char *err,
    size_t errlen)
{
	int opt = nv->kind == NNEV_PULL ? NN_RCVFD : NN_SNDFD;
	int fd = get_fd(nv->sock, opt);

	if (fd < 0) {
		set_err(err, errlen, nv->kind == NNEV_PULL ? "NN_RCVFD" :
		    "NN_SNDFD", nv->addr);
		return -1;
	}
	if (nv->kind == NNEV_PULL) {
		nv->rev = event_new(base, fd, EV_READ | EV_PERSIST,
		    nnev_readable, nv);
		if (nv->rev == NULL || event_add(nv->rev, NULL) < 0)
			goto fail;
	} else {
		nv->wev = event_new(base, fd, EV_READ, nnev_writable, nv);
		if (nv->wev == NULL)
			goto fail;
	}
	return 0;
fail:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "libevent: cannot add the event of %s",
		    nv->addr);
	errno = ENOMEM;
	return -1;
}

struct nnev *
nnev_open(struct event_base *base, const struct nnev_conf *c, char *err,
    size_t errlen)
{
	struct nnev *nv;
	int saved;

	if (conf_valid(c, err, errlen) < 0)
		return NULL;
	if ((nv = calloc(1, sizeof(*nv))) == NULL ||
	    (nv->addr = strdup(c->addr)) == NULL ||
	    (nv->name = strdup(c->name ? c->name : c->addr)) == NULL) {
		if (nv != NULL)
			nnev_destroy(nv);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "nnev_open %s: out of memory",
			    c->addr);
		errno = ENOMEM;
		return NULL;
	}
	nv->kind = c->kind;
	nv->on_msg = c->on_msg;
	nv->arg = c->arg;
	nv->sock = nn_socket(AF_SP, c->kind == NNEV_PULL ? NN_PULL : NN_PUSH);
	if (nv->sock < 0) {
		set_err(err, errlen, "nn_socket for", nv->addr);
		saved = errno;
		nnev_destroy(nv);
		errno = saved;
		return NULL;
	}
	if (nnev_setup(nv, c, err, errlen) < 0 ||
	    nnev_register(nv, base, err, errlen) < 0) {
		saved = errno;
		nv->closed = 1;
		if (nv->rev != NULL)
			event_del(nv->rev);
		while (nn_close(nv->sock) < 0 && errno == EINTR)
			;
		nnev_destroy(nv);
		errno = saved;
		return NULL;
	}
	log_debug("nanomsg socket open", KV_S("socket", nv->name),
	    KV_S("addr", nv->addr),
	    KV_S("kind", c->kind == NNEV_PULL ? "pull" : "push"),
	    KV_S("how", c->how == NNEV_BIND ? "bind" : "connect"));
	return nv;
}

void
nnev_close(struct nnev *nv)
{
	if (nv == NULL || nv->closed)
		return;
	nv->closed = 1;
	nv->on_writable = NULL;
	/* Events first: their fds belong to the socket nn_close destroys. */
	if (nv->rev != NULL)
		event_del(nv->rev);
	if (nv->wev != NULL)
		event_del(nv->wev);
	/* EINTR: "not fully closed yet, call again" (nn_close(3)). */
	while (nn_close(nv->sock) < 0 && errno == EINTR)
		;
	nv->sock = -1;
	if (nv->depth == 0)
		nnev_destroy(nv);
}

int
nnev_send(struct nnev *nv, void *buf)
{
	void *p = buf;

	if (nv->closed) {
		errno = EBADF;
		return -1;
	}
	if (nn_send(nv->sock, &p, NN_MSG, NN_DONTWAIT) < 0) {
		if (errno == EAGAIN)
			nv->stats.send_eagain++;
		return -1;
	}
	nv->stats.sent++;
	return 0;
}

int
nnev_send_msg(struct nnev *nv, const struct msg *m)
{
	uint8_t *payload;
	char err[200];
	size_t len;
	void *buf;
	int saved;

	if (m->payload_len > 0 && m->payload == NULL) {
		snprintf(err, sizeof(err), "payload_len %u without a payload",
		    (unsigned)m->payload_len);
		buf = NULL;
	} else if ((buf = msg_encode_begin(m, &len, &payload, err,
	    sizeof(err))) != NULL) {
		if (m->payload_len > 0)
			memcpy(payload, m->payload, m->payload_len);
		if (msg_encode_finish(buf, err, sizeof(err)) < 0) {
			nn_freemsg(buf);
			buf = NULL;
		}
	}
	if (buf == NULL) {
		saved = errno == ENOMEM ? ENOMEM : EINVAL;
		log_error("cannot encode message", KV_S("socket", nv->name),
		    KV_S("addr", nv->addr), KV_ERRS(err));
		errno = saved;
		return -1;
	}
	if (nnev_send(nv, buf) < 0) {
		saved = errno;
		nn_freemsg(buf);
		errno = saved;
		return -1;
	}
	return 0;
}

int
nnev_wait_writable(struct nnev *nv, void (*cb)(struct nnev *, void *),
    void *arg)
{
	if (nv->closed || nv->wev == NULL || cb == NULL) {
		errno = nv->closed ? EBADF : EINVAL;
		return -1;
	}
	nv->on_writable = cb;
	nv->warg = arg;
	if (event_add(nv->wev, NULL) < 0) {
		nv->on_writable = NULL;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
nnev_cancel_writable(struct nnev *nv)
{
	if (nv == NULL || nv->wev == NULL)
		return;
	nv->on_writable = NULL;
	event_del(nv->wev);
}

const struct nnev_stats *
nnev_stats(const struct nnev *nv)
{
	return &nv->stats;
}

const char *
nnev_name(const struct nnev *nv)
{
	return nv->name;
}

const char *
nnev_addr(const struct nnev *nv)
{
	return nv->addr;
}

int
nnev_send_msg_all(struct nnev *const *nvs, size_t n, const struct msg *m)
{
	int failed = 0;
	size_t len;
	uint8_t *payload;
	char err[200];

	if (n == 0)
		return 0;
	if (n == 1)
		return nnev_send_msg(nvs[0], m) < 0 ? 1 : 0;
	/* Encode (and checksum) once; each socket gets its own copy, since a
	 * sent buffer belongs to nanomsg. */
	void *buf = msg_encode_begin(m, &len, &payload, err, sizeof(err));
	if (buf != NULL && m->payload_len > 0)
		memcpy(payload, m->payload, m->payload_len);
	if (buf == NULL || msg_encode_finish(buf, err, sizeof(err)) < 0) {
		if (buf)
			nn_freemsg(buf);
		log_error("cannot encode message", KV_S("socket", nvs[0]->name),
		    KV_ERRS(err));
		return (int)n;
	}
	for (size_t i = 0; i < n; i++) {
		void *copy = i + 1 < n ? nn_allocmsg(len, 0) : buf;
		if (copy == NULL) {
			failed++;
			continue;
		}
		if (copy != buf)
			memcpy(copy, buf, len);
		if (nnev_send(nvs[i], copy) < 0) {
			nn_freemsg(copy);
			failed++;
		}
	}
	return failed;
}
