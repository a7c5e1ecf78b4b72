/*
 * client: the synchronous interface every replica type implements (file,
 * s3), and the generic helpers built on it.
 *
 * A client is a struct replica_client whose ops table does the storage
 * work; a concrete client embeds it as its first member. Objects are named
 * by struct replica_obj (generation, index, offset), never by free-form
 * keys, so a client only ever touches the layout of layout.h.
 *
 * Listings come from untrusted storage: the replica_list_* helpers call
 * the client, drop every entry whose name does not parse or whose size is
 * impossible, remove duplicates, and sort by (index, offset) (generations
 * by name). Callers use those helpers, never ops->... directly.
 *
 * Writes are atomic: an object appears whole under its final name or not
 * at all (file: <final>.tmp, fsync, rename, fsync of the directory; s3:
 * one PutObject or a completed multipart upload).
 *
 * Every client must allow concurrent calls from several threads, each on
 * its own reader or writer (restore downloads in parallel). Readers and
 * writers are closed before their client is freed.
 *
 * Errors: functions return 0 (or a pointer) on success and -1 (or NULL)
 * with errno set and a message in ERR naming the object. ENOENT means the
 * object or directory does not exist.
 */
#ifndef WALSHIP_REPLICA_CLIENT_H
#define WALSHIP_REPLICA_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

struct cfg_replica;

enum replica_obj_type {
	REPLICA_OBJ_SNAPSHOT = 0,
	REPLICA_OBJ_WAL,
};

/* One object of the layout; offset is used for WAL segments only. */
struct replica_obj {
	enum replica_obj_type type;
	char gen[LAYOUT_GEN_LEN + 1];
	uint32_t index;
	uint32_t offset;
};

struct replica_generation {
	char name[LAYOUT_GEN_LEN + 1];
};

struct replica_snapshot {
	uint32_t index;
	int64_t size;		/* compressed bytes */
	int64_t created;	/* ns since the epoch (mtime, LastModified) */
};

struct replica_wal_segment {
	uint32_t index;
	uint32_t offset;	/* in the uncompressed WAL of that index */
	int64_t size;		/* compressed bytes */
	int64_t created;	/* ns since the epoch */
};

/*
 * A stream of an object's bytes (still compressed). read returns bytes
 * read, 0 at the end, or -1 with errno and a message in err. close frees.
 */
struct replica_reader {
	ssize_t (*read)(struct replica_reader *r, void *buf, size_t len);
	void (*close)(struct replica_reader *r);
	char err[1024];
};

/*
 * An object being written. write returns 0, or -1 with errno and a message
 * in err. commit makes the object visible under its final name and abort
 * discards it; both free the writer, whatever the result.
 */
struct replica_writer {
	int (*write)(struct replica_writer *w, const void *buf, size_t len);
	int (*commit)(struct replica_writer *w, char *err, size_t errlen);
	void (*abort)(struct replica_writer *w);
	char err[1024];
};

struct replica_client;

struct replica_client_ops {
	/* Raw listings: any order, the helpers below check and sort. */
	int (*generations)(struct replica_client *c,
	    struct replica_generation **out, size_t *n, char *err,
	    size_t errlen);
	int (*snapshots)(struct replica_client *c, const char *gen,
	    struct replica_snapshot **out, size_t *n, char *err, size_t errlen);
	int (*wal_segments)(struct replica_client *c, const char *gen,
	    struct replica_wal_segment **out, size_t *n, char *err,
	    size_t errlen);
	/* The object's full path or key, for messages. */
	int (*key)(struct replica_client *c, const struct replica_obj *o,
	    char *buf, size_t len);
	struct replica_reader *(*open)(struct replica_client *c,
	    const struct replica_obj *o, char *err, size_t errlen);
	struct replica_writer *(*create)(struct replica_client *c,
	    const struct replica_obj *o, char *err, size_t errlen);
	/* Deleting what does not exist succeeds. */
	int (*remove)(struct replica_client *c, const struct replica_obj *o,
	    char *err, size_t errlen);
	int (*remove_generation)(struct replica_client *c, const char *gen,
	    char *err, size_t errlen);
	/* Deletes N objects in the order given as far as the store keeps an
	 * order (s3: DeleteObjects batches of at most 1000 keys, single
	 * DELETEs where the store lacks it). Missing ones count as deleted;
	 * the first failure stops it. */
	int (*remove_many)(struct replica_client *c,
	    const struct replica_obj *objs, size_t n, char *err, size_t errlen);
	void (*free)(struct replica_client *c);
};

struct replica_client {
	const struct replica_client_ops *ops;
	const char *type;	/* "file", "s3", ... */
	char *name;		/* the replica's name, for logs */
};

/*
 * The client for a configured replica (file, s3: s3_replica.h; gcs, abs and
 * sftp fail with ENOTSUP), with its age encryption when it has an age:
 * block (age_client.h; R must then outlive the client). Returns NULL with
 * ERR filled. In client_open.c.
 */
struct replica_client *replica_client_open(const struct cfg_replica *r,
    char *err, size_t errlen);
void replica_client_free(struct replica_client *c);

/* Object descriptors. */
struct replica_obj replica_snapshot_obj(const char *gen, uint32_t index);
struct replica_obj replica_wal_obj(const char *gen, uint32_t index,
    uint32_t offset);

/* The object's path or key; "?" if it cannot be formed. */
const char *replica_key(struct replica_client *c, const struct replica_obj *o,
    char *buf, size_t len);

/* Checked, sorted listings. *OUT is malloc'd (NULL when *N is 0). */
int replica_list_generations(struct replica_client *c,
    struct replica_generation **out, size_t *n, char *err, size_t errlen);
int replica_list_snapshots(struct replica_client *c, const char *gen,
    struct replica_snapshot **out, size_t *n, char *err, size_t errlen);
int replica_list_wal(struct replica_client *c, const char *gen,
    struct replica_wal_segment **out, size_t *n, char *err, size_t errlen);

struct replica_reader *replica_open(struct replica_client *c,
    const struct replica_obj *o, char *err, size_t errlen);
struct replica_writer *replica_create(struct replica_client *c,
    const struct replica_obj *o, char *err, size_t errlen);

/*
 * Writes a whole object from SRC (returns bytes read, 0 at the end, -1
 * with errno), atomically. Returns 0, or -1 with ERR filled.
 */
int replica_put(struct replica_client *c, const struct replica_obj *o,
    ssize_t (*src)(void *arg, void *buf, size_t len), void *arg, char *err,
    size_t errlen);

int replica_remove(struct replica_client *c, const struct replica_obj *o,
    char *err, size_t errlen);
int replica_remove_generation(struct replica_client *c, const char *gen,
    char *err, size_t errlen);
/* Batched delete (ops->remove_many); every object is checked first. */
int replica_remove_many(struct replica_client *c,
    const struct replica_obj *objs, size_t n, char *err, size_t errlen);

/*
 * The file replica client rooted at directory ROOT (the replica's path).
 * NAME is the replica name for logs (NULL: "file"). Objects are created
 * with mode 0600 and directories 0700 unless file_client_set_owner says
 * otherwise. NULL with ERR filled.
 */
struct replica_client *file_client_new(const char *root, const char *name,
    char *err, size_t errlen);

/*
 * Modes and owner for what the client creates, as Litestream copies them
 * from the database file and its directory (format doc §1.6). UID or GID
 * (uid_t)-1 / (gid_t)-1 leave ownership alone. A failed chown is ignored.
 */
void file_client_set_owner(struct replica_client *c, mode_t file_mode,
    mode_t dir_mode, uid_t uid, gid_t gid);

#endif
