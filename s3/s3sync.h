/*
 * s3sync: the S3 client for one-shot commands (restore, the list
 * commands, test tools): each call runs a private event_base until its
 * one operation is done, then returns its result. Not for daemons: a
 * call blocks its thread for as long as the operation takes (bounded by
 * the client's timeouts and retry budget).
 *
 * Functions return 0, or -1 with errno (err->errnum when the operation
 * ran) and, when ERR is not NULL, the error filled in.
 */
#ifndef WALSHIP_S3SYNC_H
#define WALSHIP_S3SYNC_H

#include "s3client.h"

struct s3sync;

struct s3sync *s3sync_new(const struct s3client_config *cfg, char *err,
    size_t errlen);
void s3sync_free(struct s3sync *s);
/* The client inside, for its stats. */
struct s3client *s3sync_client(struct s3sync *s);
/*
 * The private event_base inside, for a caller that starts an operation on
 * s3sync_client() itself and runs the loop step by step (a GET read as a
 * stream, a little at a time). Only while no s3sync_* call runs on S.
 */
struct event_base *s3sync_base(struct s3sync *s);

int s3sync_put(struct s3sync *s, const char *key, const void *data,
    size_t len, struct s3_error *err);
int s3sync_put_stream(struct s3sync *s, const char *key, uint64_t size,
    s3_read_fn *read, void *rarg, struct s3_error *err);
/* INFO (may be NULL) gets size (of what was sent), ETag, LastModified. */
int s3sync_get(struct s3sync *s, const char *key, uint64_t offset,
    int64_t length, s3_write_fn *write, void *warg,
    struct s3_object_info *info, struct s3_error *err);
int s3sync_head(struct s3sync *s, const char *key,
    struct s3_object_info *info, struct s3_error *err);
int s3sync_list(struct s3sync *s, const char *prefix, const char *delimiter,
    const char *start_after, s3_list_fn *page, void *parg,
    struct s3_error *err);
int s3sync_delete(struct s3sync *s, const char *const *keys, size_t n,
    struct s3_error *err);

#endif
