/*
 * nnev: a nanomsg PUSH or PULL socket driven from a libevent loop.
 *
 *   struct nnev_conf c = { .name = "acks", .kind = NNEV_PULL,
 *       .how = NNEV_BIND, .addr = addr, .on_msg = on_ack, .arg = w };
 *   struct nnev *nv = nnev_open(base, &c, err, sizeof(err));
 *
 * Receiving (PULL): NN_RCVFD is registered EV_READ|EV_PERSIST. Each time it
 * is readable, up to NNEV_BUDGET messages are taken with
 * nn_recv(NN_MSG, NN_DONTWAIT), so one busy socket cannot starve the loop
 * (the fd stays readable while messages remain). Each is checked with
 * msg_decode: a valid one goes to on_msg, in arrival order; an invalid one
 * is logged (socket, address, reason; at most a few lines a second) and
 * counted in dropped_invalid, never passed on. The buffer is released with
 * nn_freemsg when on_msg returns: M and M->payload are valid only during
 * the call, so on_msg copies what it keeps. on_msg may call nnev_close on
 * its own socket; no further message is delivered then.
 *
 * Sending (PUSH) never blocks: nnev_send returns -1 with errno EAGAIN when
 * the pipe is full or no peer is connected, and the caller falls back to
 * the shadow log (design.md) or waits with nnev_wait_writable. Ownership
 * follows nn_send(NN_MSG): on success the buffer is nanomsg's, on failure
 * the caller still owns it.
 *
 * nanomsg's NN_SNDFD signals by becoming readable while the socket can
 * send; it is armed only while a caller waits, as a one-shot event.
 * Neither descriptor is ever read or written, and the events are deleted
 * before nn_close.
 *
 * Sockets get NN_RCVMAXSIZE = MSG_HDR_LEN + MSG_MAX_PAYLOAD (nanomsg's
 * default of 1 MiB would cut the connection on a full batch), and
 * NN_SNDBUF/NN_RCVBUF, which on ipc:// become the kernel socket buffers
 * (capped by net.core.wmem_max/rmem_max): together with nanomsg's one
 * message in flight per pipe they bound what a slow peer can hold back.
 */
#ifndef WALSHIP_NNEV_H
#define WALSHIP_NNEV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct msg;
struct nnev;

/* Messages taken from a socket per readable callback. */
#define NNEV_BUDGET 64
/* NN_SNDBUF / NN_RCVBUF when the conf says 0. */
#define NNEV_DEFAULT_BUF (1024 * 1024)

enum nnev_kind {
	NNEV_PUSH = 1,
	NNEV_PULL,
};

enum nnev_how {
	NNEV_BIND = 1,
	NNEV_CONNECT,
};

struct nnev_stats {
	uint64_t sent;		  /* messages nanomsg accepted */
	uint64_t send_eagain;	  /* sends refused: pipe full or no peer */
	uint64_t received;	  /* valid messages handed to on_msg */
	uint64_t dropped_invalid; /* received, failed msg_decode, dropped */
};

struct nnev_conf {
	const char *name; /* for log lines, e.g. "frames db0-r1"; copied */
	enum nnev_kind kind;
	enum nnev_how how;
	const char *addr; /* "ipc://..." (endpoints.h); copied */
	/* PULL only (required there): one valid message, see above. */
	void (*on_msg)(struct nnev *nv, const struct msg *m, void *arg);
	void *arg;
	int sndbuf; /* bytes; 0: NNEV_DEFAULT_BUF */
	int rcvbuf; /* bytes; 0: NNEV_DEFAULT_BUF */
};

/*
 * Opens the socket, sets its options, binds or connects (a connect succeeds
 * before the peer exists; nanomsg retries in the background) and registers
 * it with BASE. NULL with errno and ERR (may be NULL) naming the step that
 * failed; nothing is logged, the caller decides how fatal that is.
 */
struct nnev *nnev_open(struct event_base *base, const struct nnev_conf *conf,
    char *err, size_t errlen);
/* Deletes the events and closes the socket. NULL is a no-op. Messages
 * nanomsg had accepted but not yet written are lost (NN_LINGER does
 * nothing), which is why uploaders acknowledge. */
void nnev_close(struct nnev *nv);

/*
 * Sends BUF, a buffer from nn_allocmsg (msg_encode), without blocking.
 * 0: the buffer is nanomsg's now. -1 with errno (EAGAIN: pipe full or no
 * peer; counted in send_eagain): the caller still owns BUF.
 */
int nnev_send(struct nnev *nv, void *buf);
/*
 * Encodes M and sends it without blocking; the buffer never outlives the
 * call. -1 with errno: EAGAIN as above, EINVAL if M fails the codec's rules
 * (logged: that is a bug of the sender).
 */
int nnev_send_msg(struct nnev *nv, const struct msg *m);

/*
 * PUSH only: calls CB(NV, ARG) once, from the loop, as soon as NV can
 * accept a message (at once if it already can). A second call replaces the
 * pending one. 0, or -1 with errno.
 */
int nnev_wait_writable(struct nnev *nv, void (*cb)(struct nnev *nv, void *arg),
    void *arg);
/* Drops a pending wait_writable; a no-op when none is armed. */
void nnev_cancel_writable(struct nnev *nv);

/*
 * Sends M on each of the N sockets without blocking, encoding it once.
 * Returns how many sockets did not take it (pipe full, no peer, no memory).
 */
int nnev_send_msg_all(struct nnev *const *nvs, size_t n, const struct msg *m);

const struct nnev_stats *nnev_stats(const struct nnev *nv);
const char *nnev_name(const struct nnev *nv);
const char *nnev_addr(const struct nnev *nv);

#endif
