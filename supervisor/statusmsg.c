/*
 * statusmsg: reading the MSG_STATUS a child sends the supervisor.
 *
 * A status payload is "key=value\n" lines (ipc/msg.h). The supervisor uses
 * these keys to know which child sent it:
 *   pid=N          the sender's getpid(): exact, and a late message from an
 *                  instance already reaped matches no child at all
 *   role=R         "walreader", "uploader" or "compactor", with the
 *                  header's db_id (not for the compactor),
 *   replica-id=N   and for an uploader its replica's index in the database
 * pid= wins when present; role= is the fallback.
 */
#include "sv.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"

int
sv_status_value(const uint8_t *payload, size_t len, const char *key,
    char *val, size_t vlen)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		const uint8_t *line = payload + i;
		const uint8_t *nl = memchr(line, '\n', len - i);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - i;

		i += llen + 1;
		if (llen <= klen || memcmp(line, key, klen) != 0 ||
		    line[klen] != '=')
			continue;
		size_t n = llen - klen - 1;
		if (n >= vlen)
			return -1;
		memcpy(val, line + klen + 1, n);
		val[n] = '\0';
		return 0;
	}
	return -1;
}

/* A decimal number that fills VAL, or -1. */
static long long
number(const char *val)
{
	char *end;
	long long v;

	if (val[0] < '0' || val[0] > '9')
		return -1;
	v = strtoll(val, &end, 10);
	return *end == '\0' ? v : -1;
}

struct child *
sv_status_sender(struct child *const *children, size_t n, const struct msg *m)
{
	const uint8_t *p = m->payload;
	size_t len = m->payload_len;
	char val[32];
	long long v, rid = 0;
	enum sv_role role;

	if (sv_status_value(p, len, "pid", val, sizeof(val)) == 0) {
		if ((v = number(val)) <= 0)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			if (children[i]->pid == (pid_t)v)
				return children[i];
		}
		return NULL;
	}
	if (sv_status_value(p, len, "role", val, sizeof(val)) < 0)
		return NULL;
	if (strcmp(val, sv_role_name(SV_WALREADER)) == 0)
		role = SV_WALREADER;
	else if (strcmp(val, sv_role_name(SV_UPLOADER)) == 0)
		role = SV_UPLOADER;
	else if (strcmp(val, sv_role_name(SV_COMPACTOR)) == 0)
		role = SV_COMPACTOR;
	else
		return NULL;
	if (role == SV_UPLOADER &&
	    (sv_status_value(p, len, "replica-id", val, sizeof(val)) < 0 ||
	    (rid = number(val)) < 0))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct child *c = children[i];
		if (c->role == role && (role == SV_COMPACTOR ||
		    (c->db_id == m->db_id &&
		    (role == SV_WALREADER || c->replica_id == rid))))
			return c;
	}
	return NULL;
}
