/*
 * status_file: what `walship status` reads of a running daemon. Every
 * SV_REPORT_EVERY_S the supervisor writes, for each database, the state
 * of the children serving it into META/walship/status:
 *
 *   walship-status 1
 *   supervisor_pid=4242
 *   updated_unix=1764123456.789
 *   component=walreader
 *   state=UP
 *   restarts=0
 *   up_seconds=12.345
 *   generation=…          (the child's last status payload, as sent)
 *   component=uploader
 *   replica=s3
 *   …
 *
 * The file sits beside the uploaders' position files, where the status
 * command finds it from the config alone (the runtime directory's name is
 * random). It is replaced whole (tmp + rename) and never fsynced: it is a
 * report, not state, and is rewritten two seconds later.
 */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

struct outbuf {
	char *p;
	size_t len, used;
	bool full;
};

static void
put(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = true;
	else
		o->used += (size_t)n;
}

/* A config string on one line: a newline would start a new key. */
static void
put_line_value(struct outbuf *o, const char *key, const char *v)
{
	put(o, "%s=", key);
	for (; v != NULL && *v != '\0' && !o->full; v++)
		put(o, "%c", *v == '\n' || *v == '\r' ? ' ' : *v);
	put(o, "\n");
}

int
sv_status_file_render(char *out, size_t len, struct child *const *children,
    size_t n, uint32_t db_id, pid_t pid, int64_t wall_ns, int64_t mono_ns)
{
	struct outbuf o = { out, len, 0, len == 0 };

	put(&o, "walship-status 1\nsupervisor_pid=%ld\n"
	    "updated_unix=%" PRId64 ".%03" PRId64 "\n", (long)pid,
	    wall_ns / 1000000000, wall_ns % 1000000000 / 1000000);
	for (size_t i = 0; i < n; i++) {
		const struct child *c = children[i];
		if (c->db_id != db_id ||
		    (c->role != SV_WALREADER && c->role != SV_UPLOADER))
			continue;
		put(&o, "component=%s\n", sv_role_name(c->role));
		if (c->role == SV_UPLOADER)
			put_line_value(&o, "replica", c->replica_name);
		int64_t up = c->fsm.state == CHILD_UP && c->fsm.ready_at >= 0 ?
		    mono_ns - c->fsm.ready_at : 0;
		put(&o, "state=%s\nrestarts=%" PRIu64 "\nup_seconds=%" PRId64
		    ".%03" PRId64 "\n", child_fsm_state_name(c->fsm.state),
		    c->fsm.restarts, up / 1000000000, up % 1000000000 / 1000000);
		if (c->fsm.state == CHILD_FAILED)
			put(&o, "failed=%s\n", child_fsm_fail_name(c->fsm.fail));
		/* The payload as sent: key=value lines (ipc/ checked the
		 * message; the reader checks every line again). */
		if (c->status_len > 0 && !o.full) {
			if (c->status_len >= o.len - o.used) {
				o.full = true;
			} else {
				memcpy(o.p + o.used, c->status, c->status_len);
				o.used += c->status_len;
				o.p[o.used] = '\0';
				if (o.p[o.used - 1] != '\n')
					put(&o, "\n");
			}
		}
	}
	return o.full ? -1 : (int)o.used;
}

int
sv_status_file_write(const char *meta, const char *text)
{
	char dir[4200], path[4300], tmp[4300];
	struct stat st;
	int fd, e;

	if (snprintf(dir, sizeof(dir), "%s/walship", meta) >=
	    (int)sizeof(dir) ||
	    snprintf(path, sizeof(path), "%s/%s", meta, SV_STATUS_FILE) >=
	    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* The walreader makes the directory with its owner and mode; the
	 * supervisor never creates it. */
	if (stat(dir, &st) < 0)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		return -1;
	if (io_write_full(fd, text, strlen(text)) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}
