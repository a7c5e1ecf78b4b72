/*
 * sdnotify: systemd's notification protocol, spoken by the supervisor
 * (Type=notify). A message is one datagram of "KEY=VALUE\n" lines sent to
 * the AF_UNIX socket named by $NOTIFY_SOCKET: a path, or an abstract name
 * when it starts with '@' (the '@' becomes a NUL byte). Without
 * NOTIFY_SOCKET (not under systemd, or Type=simple) every send is a no-op.
 *
 * The supervisor sends READY=1 once every walreader holds its database
 * (supervisor.c check_ready), RELOADING=1/READY=1 around a reload,
 * STOPPING=1 when it starts to stop, and WATCHDOG=1 every half of
 * $WATCHDOG_USEC (when set and meant for this process, $WATCHDOG_PID) from
 * a timer of its libevent loop: the pings stop when the loop stops
 * running, and systemd then restarts the service.
 */
#include "sv.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct sv_notify {
	int fd;			/* -1: NOTIFY_SOCKET unset */
	struct sockaddr_un sa;
	socklen_t salen;
	struct event *watchdog;
	struct timeval every;
};

int
sv_notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	if (name == NULL || (name[0] != '/' && name[0] != '@'))
		return -1;
	n = strlen(name);
	if (n < 2 || n > sizeof(sa->sun_path) - (name[0] == '/'))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract: no NUL at the end */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/'));
	return 0;
}

long long
sv_notify_watchdog_usec(const char *usec, const char *pid, pid_t self)
{
	char *end;
	long long v;

	if (usec == NULL || *usec < '0' || *usec > '9')
		return 0;
	if (pid != NULL && *pid != '\0') {
		long long p = strtoll(pid, &end, 10);
		if (*end != '\0' || p != (long long)self)
			return 0; /* meant for another process */
	}
	v = strtoll(usec, &end, 10);
	return *end == '\0' && v > 0 ? v : 0;
}

void
sv_notify_send(struct sv_notify *n, const char *msg)
{
	if (n == NULL || n->fd < 0)
		return;
	if (sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (const struct sockaddr *)&n->sa, n->salen) < 0)
		log_warn("cannot notify systemd", KV_S("message", msg),
		    KV_ERR());
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct sv_notify *n = arg;

	(void)fd;
	(void)what;
	sv_notify_send(n, "WATCHDOG=1");
}

struct sv_notify *
sv_notify_open(struct event_base *base)
{
	struct sv_notify *n = calloc(1, sizeof(*n));
	const char *name = getenv("NOTIFY_SOCKET");
	long long usec;

	if (n == NULL) {
		log_error("out of memory");
		return NULL;
	}
	n->fd = -1;
	if (name == NULL || *name == '\0')
		return n;
	if (sv_notify_addr(name, &n->sa, &n->salen) < 0) {
		log_warn("NOTIFY_SOCKET unusable, not notifying systemd",
		    KV_S("NOTIFY_SOCKET", name));
		return n;
	}
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_error("cannot create the systemd notification socket",
		    KV_ERR());
		free(n);
		return NULL;
	}
	usec = sv_notify_watchdog_usec(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), getpid());
	if (usec == 0)
		return n;
	usec /= 2;
	n->every.tv_sec = (time_t)(usec / 1000000);
	n->every.tv_usec = (suseconds_t)(usec % 1000000);
	n->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, n);
	if (n->watchdog == NULL || event_add(n->watchdog, &n->every) < 0) {
		log_error("cannot start the watchdog timer");
		sv_notify_close(n);
		return NULL;
	}
	log_info("systemd watchdog enabled",
	    KV_I("ping_every_ms", usec / 1000));
	sv_notify_send(n, "WATCHDOG=1");
	return n;
}

void
sv_notify_close(struct sv_notify *n)
{
	if (n == NULL)
		return;
	if (n->watchdog != NULL)
		event_free(n->watchdog);
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}
