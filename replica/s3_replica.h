/*
 * s3_replica: the replica client for S3 (type "s3"), on the S3 client of
 * s3/ (s3sync.h for one-shot operations, s3client.h for streamed GETs).
 *
 * Keys are those of layout.h under the replica's key prefix, which the S3
 * client cleans (no leading '/', no "//", format doc §3.4):
 *
 *   PREFIX/generations/<G>/snapshots/<I>.snapshot.lz4
 *   PREFIX/generations/<G>/wal/<I>_<O>.wal.lz4
 *
 * Listings (format doc §7.1): generations are the CommonPrefixes of a
 * delimited listing of PREFIX/generations/; snapshots and WAL segments the
 * objects of delimited listings of .../snapshots/ and .../wal/, with Size as
 * their size and LastModified as their created time. Every page is
 * converted and dropped as it arrives; the replica_list_* helpers check and
 * sort the result (stores do not all list in key order, Litestream #535).
 *
 * Threads: any number of threads may use one client at once. Each
 * operation borrows a "lane" (an s3sync: a private event_base with its own
 * S3 client and connection cache) from the client's pool, and gives it back
 * when done; a reader keeps its lane until it is closed. A thread that
 * finds no idle lane makes a new one, so the pool grows to the peak number
 * of concurrent users (restore: its -parallelism plus one) and connections
 * are reused from one object to the next. Lanes are made and freed under
 * one process-wide lock, as libcurl's global init is not thread-safe
 * everywhere.
 *
 * Reading: open starts one GetObject and runs the lane's loop until the
 * first bytes (or the answer, so a missing key fails in open with ENOENT);
 * each read hands out what has arrived, running the loop again only once
 * that is used up. The buffer holds at most what one turn of the loop
 * delivers (libcurl's receive buffers, well under S3R_READ_CAP), never
 * the object (S3R_READ_CAP is a hard limit: past it the read fails).
 * Retries, resumed with a Range pinned to the ETag, are the S3 client's. A
 * reader closed before its end frees its lane, which cancels the GET.
 *
 * Writing: bytes are kept in memory up to S3R_SPOOL_MEM, then in an
 * unlinked temporary file ($TMPDIR, else /tmp); commit uploads them with
 * one PutObject (multipart above the S3 client's threshold, with its
 * bounded part buffers). An S3 object appears whole or not at all.
 *
 * remove deletes one key (a missing key counts as deleted);
 * remove_generation lists PREFIX/generations/<G>/ without a delimiter and
 * deletes what it finds in DeleteObjects batches of at most 1000 keys, a
 * page at a time, so memory does not grow with the generation.
 *
 * Errors carry the S3 client's line (s3_error_format: operation, bucket,
 * key, endpoint, a hint, the store's code and message), never a secret.
 */
#ifndef WALSHIP_S3_REPLICA_H
#define WALSHIP_S3_REPLICA_H

#include <stddef.h>

#include "client.h"
#include "s3client.h"

#define S3R_SPOOL_MEM (1u << 20)	/* writer bytes kept in memory */
#define S3R_READ_CAP (16u << 20)	/* reader buffer, a hard limit */
#define S3R_KEY_MAX 1100

struct cfg_replica;

/*
 * The S3 client of a configured replica (bucket, path as the key prefix,
 * region, endpoint, force-path-style, skip-verify, credentials, sse).
 * Checks the configuration by making the first lane: no request is sent.
 * NULL with ERR filled (no bucket, bad endpoint, no credentials).
 */
struct replica_client *s3_replica_new(const struct cfg_replica *r,
    char *err, size_t errlen);

/*
 * Lanes made so far (the peak number of concurrent users, plus any remade
 * after a reader closed before its end), and the requests of the lanes that
 * are idle or freed.
 */
struct s3_replica_stats {
	unsigned lanes;
	struct s3client_stats req;
};
int s3_replica_stats(struct replica_client *c, struct s3_replica_stats *st);

/* ---- pure helpers (s3_keys.c) ------------------------------------------ */

/* Keys relative to the replica's prefix. 0, or -1 (EINVAL, ENAMETOOLONG). */
int s3r_object_key(const struct replica_obj *o, char *buf, size_t len);
int s3r_generations_prefix(char *buf, size_t len);	/* "generations/" */
int s3r_generation_prefix(const char *gen, char *buf, size_t len);
int s3r_snapshots_prefix(const char *gen, char *buf, size_t len);
int s3r_wal_prefix(const char *gen, char *buf, size_t len);

/*
 * "s3://BUCKET/PREFIX/REL" for messages; PREFIX is cleaned here, REL is a
 * relative key as above. 0, or -1 (ENAMETOOLONG).
 */
int s3r_display_key(const char *bucket, const char *prefix, const char *rel,
    char *buf, size_t len);

/*
 * Listing entries (keys relative to the replica's prefix) under the listing
 * prefix LP. Each returns 1 and fills OUT when E is what it should be (a
 * CommonPrefix LP<G>/ for generations; an object LP<name> with a size for
 * the others), else 0: anything else is not a replica object.
 */
int s3r_entry_generation(const char *lp, const struct s3_list_entry *e,
    struct replica_generation *out);
int s3r_entry_snapshot(const char *lp, const struct s3_list_entry *e,
    struct replica_snapshot *out);
int s3r_entry_wal(const char *lp, const struct s3_list_entry *e,
    struct replica_wal_segment *out);

#endif
