/*
 * nnev_test: nanomsg PUSH/PULL sockets in one libevent loop, on ipc://
 * endpoints in a private temporary directory, plus the endpoint names.
 *
 * Every loop runs under a deadline timer, and every wait is for an event
 * (a message, a writable notification), never a sleep.
 */
#include <errno.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
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

#include "endpoints.h"
#include "log.h"
#include "msg.h"
#include "nnev.h"
#include "test.h"

static char dir[64];

static void
cleanup_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
addr_of(char *addr, const char *name)
{
	snprintf(addr, ENDPOINTS_ADDR_MAX, "ipc://%s/%s", dir, name);
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int timed_out;

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	timed_out = 1;
	event_base_loopbreak(arg);
}

/* Runs BASE until something calls loopbreak, or MS pass (timed_out). */
static void
run(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *t = evtimer_new(base, on_deadline, base);

	timed_out = 0;
	evtimer_add(t, &tv);
	event_base_dispatch(base);
	event_free(t);
}

static struct nnev *
open_sock(struct event_base *base, const char *name, enum nnev_kind kind,
    enum nnev_how how, const char *addr,
    void (*on_msg)(struct nnev *, const struct msg *, void *), void *arg)
{
	struct nnev_conf c = { .name = name, .kind = kind, .how = how,
		.addr = addr, .on_msg = on_msg, .arg = arg };
	char err[256];
	struct nnev *nv = nnev_open(base, &c, err, sizeof(err));

	if (nv == NULL)
		printf("  nnev_open %s: %s\n", addr, err);
	return nv;
}

static void
dummy_recv(struct nnev *nv, const struct msg *m, void *arg)
{
	(void)nv;
	(void)m;
	(void)arg;
}

/* ------------------------------------------------------------------------
 * Endpoint names
 * ------------------------------------------------------------------------ */

TEST(endpoint_names)
{
	char a[ENDPOINTS_ADDR_MAX], err[300], longdir[200];

	ASSERT_INT_EQ(endpoints_status("/run/walship", a, err, sizeof(err)),
	    0);
	ASSERT_STR_EQ(a, "ipc:///run/walship/status");
	ASSERT_INT_EQ(endpoints_acks("/run/walship/", 3, a, err, sizeof(err)),
	    0);
	ASSERT_STR_EQ(a, "ipc:///run/walship/db3-acks");
	ASSERT_INT_EQ(endpoints_frames("/run/walship", 12, 0, a, err,
	    sizeof(err)), 0);
	ASSERT_STR_EQ(a, "ipc:///run/walship/db12-r0-frames");
	ASSERT_STR_EQ(endpoints_path(a), "/run/walship/db12-r0-frames");
	ASSERT(endpoints_path("tcp://x:1") == NULL);
	ASSERT(endpoints_path(NULL) == NULL);

	/* Relative directories are refused. */
	errno = 0;
	ASSERT_INT_EQ(endpoints_status("run", a, err, sizeof(err)), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT(strstr(err, "not an absolute path") != NULL);
	ASSERT_INT_EQ(endpoints_status("", a, NULL, 0), -1);
	ASSERT_INT_EQ(endpoints_status(NULL, a, NULL, 0), -1);

	/* "/xxx...x/status": 1 + n + 7 bytes; 107 fits, 108 does not. */
	longdir[0] = '/';
	memset(longdir + 1, 'x', 99);
	longdir[100] = '\0';
	ASSERT_INT_EQ(endpoints_status(longdir, a, err, sizeof(err)), 0);
	ASSERT_INT_EQ(strlen(endpoints_path(a)), 107);
	longdir[100] = 'x';
	longdir[101] = '\0';
	errno = 0;
	ASSERT_INT_EQ(endpoints_status(longdir, a, err, sizeof(err)), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	ASSERT(strstr(err, "too long") != NULL);
	ASSERT(strstr(err, "108 bytes") != NULL);
	ASSERT(strstr(err, "at most 107") != NULL);

	/* nanomsg agrees: a 107-byte socket path binds. */
	{
		char sub[200], path[ENDPOINTS_ADDR_MAX];
		int n = snprintf(sub, sizeof(sub), "%s/", dir);
		memset(sub + n, 's', 107 - 7 - (size_t)n);
		sub[107 - 7] = '\0';
		ASSERT_INT_EQ(mkdir(sub, 0700), 0);
		int rc = endpoints_status(sub, a, err, sizeof(err));
		struct event_base *base = event_base_new();
		struct nnev *nv = NULL;
		if (rc == 0) {
			snprintf(path, sizeof(path), "%s", endpoints_path(a));
			nv = open_sock(base, "long", NNEV_PULL, NNEV_BIND, a,
			    dummy_recv, NULL);
			nnev_close(nv);
			unlink(path);
		}
		event_base_free(base);
		rmdir(sub);
		ASSERT_INT_EQ(rc, 0);
		ASSERT_INT_EQ(strlen(path), 107);
		ASSERT(nv != NULL);
	}

	/* A far too long one (beyond the formatter's buffer) too. */
	char huge[1000];
	huge[0] = '/';
	memset(huge + 1, 'y', sizeof(huge) - 2);
	huge[sizeof(huge) - 1] = '\0';
	ASSERT_INT_EQ(endpoints_frames(huge, 1, 1, a, err, sizeof(err)), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);

	/* check: the most digits decide. "/" + 88 + "/db9999-r99-frames"
	 * is 107 bytes, with db99999 108. */
	memset(longdir + 1, 'z', 88);
	longdir[89] = '\0';
	ASSERT_INT_EQ(endpoints_check(longdir, 10000, 100, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(endpoints_check(longdir, 100000, 100, err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "db99999-r99-frames") != NULL);
	ASSERT_INT_EQ(endpoints_check(longdir, 0, 0, err, sizeof(err)), 0);
}

/* ------------------------------------------------------------------------
 * Messages arrive decoded, in order
 * ------------------------------------------------------------------------ */

enum { ORDER_N = 300 };

struct order {
	struct event_base *base;
	struct nnev *push;
	uint32_t next_send;
	uint32_t next_recv;
	int bad;
	char why[200];
	uint8_t *big;
	int waits;
};

/* Message I: mostly small ones of every kind; a few large batches, one
 * of them the largest the cap allows (past nanomsg's default 1 MiB). */
static struct msg
order_msg(struct order *o, uint32_t i)
{
	static const char status[] = "k=v\n";
	struct msg m = { .db_id = 5, .index = i };

	switch (i % 5) {
	case 0:
		m.type = MSG_FRAMES;
		m.page_size = 4096;
		m.frame_count = i % 100 == 0 ? (MSG_MAX_PAYLOAD - 32) / 4120 :
		    (i % 25 == 0 ? 300 : 1);
		m.payload_len = 32 + m.frame_count * 4120;
		m.payload = o->big;
		break;
	case 1:
		m.type = MSG_ACK;
		m.payload = (const uint8_t *)"file";
		m.payload_len = 4;
		break;
	case 2:
		m.type = MSG_STATUS;
		m.payload = (const uint8_t *)status;
		m.payload_len = 4;
		break;
	case 3:
		m.type = MSG_SNAPSHOT;
		m.value = i;
		break;
	default:
		m.type = MSG_SHUTDOWN;
		break;
	}
	return m;
}

static void
order_send(struct nnev *nv, void *arg)
{
	struct order *o = arg;

	while (o->next_send < ORDER_N) {
		struct msg m = order_msg(o, o->next_send);
		if (nnev_send_msg(nv, &m) < 0) {
			if (errno != EAGAIN) {
				o->bad = 1;
				snprintf(o->why, sizeof(o->why), "send: %s",
				    strerror(errno));
				event_base_loopbreak(o->base);
				return;
			}
			o->waits++;
			nnev_wait_writable(nv, order_send, o);
			return;
		}
		o->next_send++;
	}
}

static void
order_recv(struct nnev *nv, const struct msg *m, void *arg)
{
	struct order *o = arg;
	struct msg want = order_msg(o, o->next_recv);

	(void)nv;
	if (!o->bad && (m->type != want.type || m->index != want.index ||
	    m->payload_len != want.payload_len || m->db_id != 5 ||
	    (m->payload_len &&
		memcmp(m->payload, want.payload, m->payload_len) != 0))) {
		o->bad = 1;
		snprintf(o->why, sizeof(o->why),
		    "message %u: got type %d index %u len %u", o->next_recv,
		    m->type, m->index, m->payload_len);
	}
	if (++o->next_recv == ORDER_N || o->bad)
		event_base_loopbreak(o->base);
}

TEST(push_pull_in_order)
{
	struct event_base *base = event_base_new();
	struct order o = { .base = base };
	char a[ENDPOINTS_ADDR_MAX];
	struct nnev *pull, *push;

	ASSERT(base != NULL);
	o.big = malloc(MSG_MAX_PAYLOAD);
	ASSERT(o.big != NULL);
	for (size_t i = 0; i < MSG_MAX_PAYLOAD; i++)
		o.big[i] = (uint8_t)(i * 13 + (i >> 12));
	ASSERT_INT_EQ(endpoints_frames(dir, 0, 1, a, NULL, 0), 0);
	pull = open_sock(base, "frames db0-r1", NNEV_PULL, NNEV_CONNECT, a,
	    order_recv, &o);
	push = open_sock(base, "frames db0-r1", NNEV_PUSH, NNEV_BIND, a, NULL,
	    NULL);
	ASSERT(pull != NULL && push != NULL);
	o.push = push;
	/* Start when the pipe is up; the writable callback does the rest. */
	ASSERT_INT_EQ(nnev_wait_writable(push, order_send, &o), 0);
	run(base, 20000);

	const struct nnev_stats *ps = nnev_stats(push), *rs = nnev_stats(pull);
	printf("  %u sent, %u received, %d waits for a full pipe\n",
	    o.next_send, o.next_recv, o.waits);
	int sent = (int)ps->sent, received = (int)rs->received;
	int dropped = (int)rs->dropped_invalid;
	nnev_close(push);
	nnev_close(pull);
	event_base_free(base);
	free(o.big);
	if (o.bad)
		TEST_FAIL_("%s", o.why);
	ASSERT(!timed_out);
	ASSERT_INT_EQ(o.next_recv, ORDER_N);
	ASSERT_INT_EQ(sent, ORDER_N);
	ASSERT_INT_EQ(received, ORDER_N);
	ASSERT_INT_EQ(dropped, 0);
}

/* ------------------------------------------------------------------------
 * No peer: EAGAIN at once, the caller keeps the buffer
 * ------------------------------------------------------------------------ */

TEST(send_without_peer_is_eagain)
{
	struct event_base *base = event_base_new();
	struct msg m = { .type = MSG_SHUTDOWN };
	char a[ENDPOINTS_ADDR_MAX], b[ENDPOINTS_ADDR_MAX];
	struct nnev *bound, *conn;
	size_t len;
	double t0;

	addr_of(a, "nobody-connects");
	addr_of(b, "nobody-binds");
	bound = open_sock(base, "lonely bind", NNEV_PUSH, NNEV_BIND, a, NULL,
	    NULL);
	conn = open_sock(base, "lonely connect", NNEV_PUSH, NNEV_CONNECT, b,
	    NULL, NULL);
	ASSERT(bound != NULL && conn != NULL);

	struct nnev *socks[2] = { bound, conn };
	for (int i = 0; i < 2; i++) {
		void *buf = msg_encode(&m, &len);
		ASSERT(buf != NULL);
		t0 = now_ms();
		errno = 0;
		int rc = nnev_send(socks[i], buf);
		int e = errno;
		double dt = now_ms() - t0;
		if (rc == 0) {
			TEST_FAIL_("%s: send succeeded without a peer",
			    nnev_name(socks[i]));
		}
		/* Still ours: freeing it is what valgrind checks. */
		nn_freemsg(buf);
		ASSERT_INT_EQ(e, EAGAIN);
		ASSERT(dt < 100);
		errno = 0;
		ASSERT_INT_EQ(nnev_send_msg(socks[i], &m), -1);
		ASSERT_INT_EQ(errno, EAGAIN);
		ASSERT_INT_EQ(nnev_stats(socks[i])->send_eagain, 2);
		ASSERT_INT_EQ(nnev_stats(socks[i])->sent, 0);
	}
	/* An invalid message is refused before nanomsg sees it. */
	m.payload_len = 1;
	m.payload = (const uint8_t *)"x";
	errno = 0;
	ASSERT_INT_EQ(nnev_send_msg(bound, &m), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	nnev_close(bound);
	nnev_close(conn);
	event_base_free(base);
}

/* ------------------------------------------------------------------------
 * Invalid messages are dropped, counted and logged
 * ------------------------------------------------------------------------ */

struct collect {
	struct event_base *base;
	int n;
	enum msg_type last;
	int stop_after;
	int close_self;
};

static void
collect_recv(struct nnev *nv, const struct msg *m, void *arg)
{
	struct collect *c = arg;

	c->n++;
	c->last = m->type;
	if (c->close_self)
		nnev_close(nv);
	if (c->n >= c->stop_after)
		event_base_loopbreak(c->base);
}

/* A raw PUSH socket that blocks (with a timeout) until its peer is up. */
static int
raw_push(const char *addr)
{
	int s = nn_socket(AF_SP, NN_PUSH), ms = 5000;

	if (s < 0)
		return -1;
	if (nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &ms, sizeof(ms)) < 0 ||
	    nn_connect(s, addr) < 0) {
		nn_close(s);
		return -1;
	}
	return s;
}

static int
raw_send_msg(int s, const struct msg *m, int flip)
{
	size_t len;
	uint8_t *buf = msg_encode(m, &len);

	if (buf == NULL)
		return -1;
	if (flip >= 0)
		buf[flip] ^= 0x20;
	if (nn_send(s, &buf, NN_MSG, 0) < 0) {
		nn_freemsg(buf);
		return -1;
	}
	return 0;
}

TEST(invalid_message_dropped_and_counted)
{
	struct event_base *base = event_base_new();
	struct collect c = { .base = base, .stop_after = 1 };
	struct msg ack = { .type = MSG_ACK, .payload_len = 2,
		.payload = (const uint8_t *)"s3" };
	struct msg bye = { .type = MSG_SHUTDOWN };
	char a[ENDPOINTS_ADDR_MAX], logbuf[4096];
	struct nnev *pull;
	FILE *logf = tmpfile();
	int s;

	ASSERT(logf != NULL);
	ASSERT_INT_EQ(endpoints_acks(dir, 0, a, NULL, 0), 0);
	pull = open_sock(base, "acks db0", NNEV_PULL, NNEV_BIND, a,
	    collect_recv, &c);
	ASSERT(pull != NULL);
	s = raw_push(a);
	ASSERT(s >= 0);
	/* garbage, a flipped payload byte, a header-only runt, then a good
	 * message whose arrival ends the loop */
	ASSERT(nn_send(s, "not a walship message", 21, 0) == 21);
	ASSERT_INT_EQ(raw_send_msg(s, &ack, MSG_HDR_LEN + 1), 0);
	ASSERT(nn_send(s, "", 0, 0) == 0);
	ASSERT_INT_EQ(raw_send_msg(s, &bye, -1), 0);

	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, logf);
	run(base, 10000);
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stderr);

	const struct nnev_stats *st = nnev_stats(pull);
	int received = (int)st->received, dropped = (int)st->dropped_invalid;
	nn_close(s);
	nnev_close(pull);
	event_base_free(base);
	size_t n = (size_t)pread(fileno(logf), logbuf, sizeof(logbuf) - 1, 0);
	fclose(logf);
	logbuf[n < sizeof(logbuf) ? n : 0] = '\0';

	ASSERT(!timed_out);
	ASSERT_INT_EQ(c.n, 1);
	ASSERT_INT_EQ(c.last, MSG_SHUTDOWN);
	ASSERT_INT_EQ(received, 1);
	ASSERT_INT_EQ(dropped, 3);
	/* One warning each, naming the socket and the reason. */
	ASSERT(strstr(logbuf, "level=WARN msg=\"dropping invalid message\"") !=
	    NULL);
	ASSERT(strstr(logbuf, "socket=\"acks db0\"") != NULL);
	ASSERT(strstr(logbuf, "truncated: 21 bytes") != NULL);
	ASSERT(strstr(logbuf, "checksum") != NULL);
	ASSERT(strstr(logbuf, "truncated: 0 bytes") != NULL);
	ASSERT(strstr(logbuf, "dropped=3") != NULL);
}

/* ------------------------------------------------------------------------
 * Closing from inside on_msg
 * ------------------------------------------------------------------------ */

TEST(close_inside_callback)
{
	struct event_base *base = event_base_new();
	struct collect c = { .base = base, .stop_after = 1, .close_self = 1 };
	struct msg m = { .type = MSG_SNAPSHOT };
	char a[ENDPOINTS_ADDR_MAX];
	struct nnev *pull;
	int s;

	addr_of(a, "closer");
	pull = open_sock(base, "closer", NNEV_PULL, NNEV_BIND, a, collect_recv,
	    &c);
	ASSERT(pull != NULL);
	s = raw_push(a);
	ASSERT(s >= 0);
	for (int i = 0; i < 20; i++)
		ASSERT_INT_EQ(raw_send_msg(s, &m, -1), 0);
	run(base, 10000);
	/* PULL is gone: a second pass of the loop must find nothing. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	nn_close(s);
	event_base_free(base);
	ASSERT(!timed_out);
	ASSERT_INT_EQ(c.n, 1);
}

/* ------------------------------------------------------------------------
 * Writable notification
 * ------------------------------------------------------------------------ */

struct wstate {
	struct event_base *base;
	int called;
	int sent;
};

static void
on_writable(struct nnev *nv, void *arg)
{
	struct wstate *w = arg;
	struct msg m = { .type = MSG_SHUTDOWN };

	w->called++;
	if (nnev_send_msg(nv, &m) == 0)
		w->sent++;
}

static void
recv_stop(struct nnev *nv, const struct msg *m, void *arg)
{
	(void)nv;
	(void)m;
	event_base_loopbreak(arg);
}

TEST(writable_when_peer_appears)
{
	struct event_base *base = event_base_new();
	struct wstate w = { .base = base };
	struct msg m = { .type = MSG_SHUTDOWN };
	char a[ENDPOINTS_ADDR_MAX];
	struct nnev *push, *pull;

	addr_of(a, "late-peer");
	push = open_sock(base, "early", NNEV_PUSH, NNEV_CONNECT, a, NULL, NULL);
	ASSERT(push != NULL);
	errno = 0;
	ASSERT_INT_EQ(nnev_send_msg(push, &m), -1);
	ASSERT_INT_EQ(errno, EAGAIN);
	ASSERT_INT_EQ(nnev_wait_writable(push, on_writable, &w), 0);
	/* Nothing happens while there is no peer. */
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ASSERT_INT_EQ(w.called, 0);

	/* The peer binds; nanomsg reconnects; the callback sends. */
	pull = open_sock(base, "late", NNEV_PULL, NNEV_BIND, a, recv_stop,
	    base);
	ASSERT(pull != NULL);
	run(base, 10000);
	ASSERT(!timed_out);
	ASSERT_INT_EQ(w.called, 1);
	ASSERT_INT_EQ(w.sent, 1);
	ASSERT_INT_EQ(nnev_stats(pull)->received, 1);

	/* Armed on a writable socket it fires on the next pass... */
	ASSERT_INT_EQ(nnev_wait_writable(push, on_writable, &w), 0);
	for (int i = 0; i < 3 && w.called == 1; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ASSERT_INT_EQ(w.called, 2);
	/* ...once: the event is one-shot. */
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ASSERT_INT_EQ(w.called, 2);
	/* Cancelled, it does not fire at all. */
	ASSERT_INT_EQ(nnev_wait_writable(push, on_writable, &w), 0);
	nnev_cancel_writable(push);
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ASSERT_INT_EQ(w.called, 2);
	/* A PULL cannot wait for writability. */
	ASSERT_INT_EQ(nnev_wait_writable(pull, on_writable, &w), -1);
	/* Closing with a wait armed is clean. */
	ASSERT_INT_EQ(nnev_wait_writable(push, on_writable, &w), 0);
	nnev_close(push);
	nnev_close(pull);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	ASSERT_INT_EQ(w.called, 2);
}

/* ------------------------------------------------------------------------
 * Open errors
 * ------------------------------------------------------------------------ */

TEST(open_errors)
{
	struct event_base *base = event_base_new();
	char a[ENDPOINTS_ADDR_MAX], err[256];
	struct nnev_conf c = { .name = "x", .kind = NNEV_PULL,
		.how = NNEV_BIND, .on_msg = dummy_recv };
	struct nnev *first;

	addr_of(a, "busy");
	c.addr = a;
	first = nnev_open(base, &c, err, sizeof(err));
	ASSERT(first != NULL);
	ASSERT_STR_EQ(nnev_addr(first), a);
	ASSERT_STR_EQ(nnev_name(first), "x");
	/* The same address twice, while the first is alive. */
	errno = 0;
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, EADDRINUSE);
	ASSERT(strstr(err, "nn_bind") != NULL);
	ASSERT(strstr(err, "busy") != NULL);
	nnev_close(first);

	/* A directory that does not exist. */
	snprintf(a, sizeof(a), "ipc://%s/missing/sock", dir);
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	ASSERT(strstr(err, "nn_bind") != NULL);

	/* A regular file where the directory should be. */
	snprintf(a, sizeof(a), "%s/plainfile", dir);
	FILE *f = fopen(a, "w");
	ASSERT(f != NULL);
	fclose(f);
	snprintf(a, sizeof(a), "ipc://%s/plainfile/sock", dir);
	errno = 0;
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, ENOTDIR);

	/* A stale socket file (its listener died) is taken over. */
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/stale", dir);
		ASSERT(fd >= 0);
		ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)),
		    0);
		ASSERT_INT_EQ(listen(fd, 1), 0);
		close(fd);
		addr_of(a, "stale");
		first = nnev_open(base, &c, err, sizeof(err));
		if (first == NULL)
			TEST_FAIL_("stale socket: %s", err);
		nnev_close(first);
	}

	/* Bad configurations. */
	c.on_msg = NULL;
	errno = 0;
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT(strstr(err, "needs on_msg") != NULL);
	c.kind = NNEV_PUSH;
	c.on_msg = dummy_recv;
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	c.on_msg = NULL;
	c.how = 0;
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	c.how = NNEV_CONNECT;
	c.addr = NULL;
	ASSERT(nnev_open(base, &c, NULL, 0) == NULL);
	c.addr = "bogus://x";
	ASSERT(nnev_open(base, &c, err, sizeof(err)) == NULL);
	ASSERT(strstr(err, "nn_connect") != NULL);
	/* No name: the address stands in. */
	addr_of(a, "unnamed");
	c.addr = a;
	c.name = NULL;
	first = nnev_open(base, &c, err, sizeof(err));
	ASSERT(first != NULL);
	ASSERT_STR_EQ(nnev_name(first), a);
	nnev_close(first);
	nnev_close(NULL);
	event_base_free(base);
}

/* ------------------------------------------------------------------------
 * One message to several sockets: every connected peer gets it intact,
 * a socket without a peer is counted as not taking it.
 * ------------------------------------------------------------------------ */

struct fan {
	struct event_base *base;
	int got;
	int bad;
};

static void
fan_recv(struct nnev *nv, const struct msg *m, void *arg)
{
	struct fan *f = arg;
	(void)nv;
	if (m->type != MSG_FRAMES || m->payload_len != 32 + 4120 ||
	    m->payload[40] != 0x5a)
		f->bad = 1;
	if (++f->got == 2)
		event_base_loopbreak(f->base);
}

TEST(send_to_all)
{
	struct event_base *base = event_base_new();
	struct fan f = { .base = base };
	char a[3][ENDPOINTS_ADDR_MAX];
	struct nnev *push[3], *pull[2];
	static uint8_t payload[32 + 4120];
	struct msg m = { .type = MSG_FRAMES, .page_size = 4096,
		.frame_count = 1, .payload = payload,
		.payload_len = sizeof(payload) };

	memset(payload, 0x5a, sizeof(payload));
	for (int i = 0; i < 3; i++) {
		ASSERT_INT_EQ(endpoints_frames(dir, 7, (uint32_t)i, a[i], NULL,
		    0), 0);
		push[i] = open_sock(base, "fan", NNEV_PUSH, NNEV_BIND, a[i],
		    NULL, NULL);
		ASSERT(push[i] != NULL);
	}
	for (int i = 0; i < 2; i++) {
		pull[i] = open_sock(base, "fan", NNEV_PULL, NNEV_CONNECT, a[i],
		    fan_recv, &f);
		ASSERT(pull[i] != NULL);
	}
	/* Let the two connections come up. */
	run(base, 300);
	ASSERT_INT_EQ(nnev_send_msg_all(push, 3, &m), 1);
	run(base, 5000);
	for (int i = 0; i < 3; i++)
		nnev_close(push[i]);
	for (int i = 0; i < 2; i++)
		nnev_close(pull[i]);
	event_base_free(base);
	ASSERT(!timed_out);
	ASSERT_INT_EQ(f.got, 2);
	ASSERT(!f.bad);
}

int
main(void)
{
	int rc;

	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stderr);
	snprintf(dir, sizeof(dir), "/tmp/nnev_test.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(endpoint_names);
	RUN(push_pull_in_order);
	RUN(send_without_peer_is_eagain);
	RUN(invalid_message_dropped_and_counted);
	RUN(close_inside_callback);
	RUN(writable_when_peer_appears);
	RUN(open_errors);
	RUN(send_to_all);
	rc = TEST_DONE();
	cleanup_dir();
	return rc;
}
