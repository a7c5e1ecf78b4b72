/*
 * s3sync: one S3 operation at a time on a private event_base (see
 * s3sync.h).
 */
#include "s3sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

struct s3sync {
	struct event_base *base;
	struct s3client *c;
};

/* What the completion callback leaves for the waiting call. */
struct s3sync_wait {
	bool done;
	int status;
	struct s3_object_info info;
	struct s3_error err;
};

struct s3sync *
s3sync_new(const struct s3client_config *cfg, char *err, size_t errlen)
{
	struct s3sync *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((s->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create an event loop");
		free(s);
		return NULL;
	}
	if ((s->c = s3client_new(s->base, cfg, err, errlen)) == NULL) {
		int e = errno;

		event_base_free(s->base);
		free(s);
		errno = e;
		return NULL;
	}
	return s;
}

void
s3sync_free(struct s3sync *s)
{
	if (s == NULL)
		return;
	s3client_free(s->c);
	event_base_free(s->base);
	free(s);
}

struct s3client *
s3sync_client(struct s3sync *s)
{
	return s->c;
}

struct event_base *
s3sync_base(struct s3sync *s)
{
	return s->base;
}

static void
on_done(const struct s3_result *res, void *arg)
{
	struct s3sync_wait *w = arg;

	w->done = true;
	w->status = res->status;
	w->info = res->info;
	if (res->err != NULL)
		w->err = *res->err;
}

/* Runs the loop until W is done; RC is what starting it returned. */
static int
run(struct s3sync *s, struct s3sync_wait *w, int rc, struct s3_error *err,
    struct s3_object_info *info)
{
	if (rc != 0) {
		int e = errno;

		if (err != NULL) {
			memset(err, 0, sizeof(*err));
			err->errnum = e;
			err->hint = "";
			snprintf(err->code, sizeof(err->code), "InvalidRequest");
			snprintf(err->message, sizeof(err->message),
			    "cannot start: %s", strerror(e));
		}
		errno = e;
		return -1;
	}
	while (!w->done)
		if (event_base_loop(s->base, EVLOOP_ONCE) < 0)
			break;
	if (!w->done) {
		errno = EIO;
		return -1;
	}
	if (info != NULL)
		*info = w->info;
	if (w->status != 0) {
		if (err != NULL)
			*err = w->err;
		errno = w->err.errnum != 0 ? w->err.errnum : EIO;
		return -1;
	}
	return 0;
}

int
s3sync_put(struct s3sync *s, const char *key, const void *data, size_t len,
    struct s3_error *err)
{
	struct s3sync_wait w = { 0 };

	return run(s, &w, s3client_put(s->c, key, data, len, on_done, &w),
	    err, NULL);
}

int
s3sync_put_stream(struct s3sync *s, const char *key, uint64_t size,
    s3_read_fn *read, void *rarg, struct s3_error *err)
{
	struct s3sync_wait w = { 0 };

	return run(s, &w, s3client_put_stream(s->c, key, size, read, rarg,
	    on_done, &w), err, NULL);
}

int
s3sync_get(struct s3sync *s, const char *key, uint64_t offset,
    int64_t length, s3_write_fn *write, void *warg,
    struct s3_object_info *info, struct s3_error *err)
{
	struct s3sync_wait w = { 0 };

	return run(s, &w, s3client_get(s->c, key, offset, length, write, warg,
	    on_done, &w), err, info);
}

int
s3sync_head(struct s3sync *s, const char *key, struct s3_object_info *info,
    struct s3_error *err)
{
	struct s3sync_wait w = { 0 };

	return run(s, &w, s3client_head(s->c, key, on_done, &w), err, info);
}

int
s3sync_list(struct s3sync *s, const char *prefix, const char *delimiter,
    const char *start_after, s3_list_fn *page, void *parg,
    struct s3_error *err)
{
	struct s3sync_wait w = { 0 };

	return run(s, &w, s3client_list(s->c, prefix, delimiter, start_after,
	    page, parg, on_done, &w), err, NULL);
}

int
s3sync_delete(struct s3sync *s, const char *const *keys, size_t n,
    struct s3_error *err)
{
	struct s3sync_wait w = { 0 };

	return run(s, &w, s3client_delete(s->c, keys, n, on_done, &w), err,
	    NULL);
}
