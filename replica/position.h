/*
 * position: the meta directory's records of replication (see position.c):
 * the walreader's current generation and each uploader's durable position.
 */
#ifndef WALSHIP_POSITION_H
#define WALSHIP_POSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POSITION_GEN_SIZE 17	/* 16 hex characters and a NUL */

/* A replica's position: Litestream's (generation, index, offset). */
struct position {
	char gen[POSITION_GEN_SIZE];	/* "" = none */
	uint32_t index;
	uint64_t offset;
	bool snapshot;		/* the generation's snapshot is on the replica */
};

/*
 * The position file's text: "walship-position 1", then generation=,
 * index=, offset=, snapshot= lines and crc32= of everything before it.
 * Encode returns the length (< LEN), or -1 if BUF is too small.
 */
int position_encode(const struct position *p, char *buf, size_t len);
/* Strict: every line, in order, nothing else, the CRC right. 0 or -1. */
int position_decode(const char *buf, size_t len, struct position *p);

/*
 * META/walship/<NAME>.pos into BUF; bytes of NAME outside [A-Za-z0-9_-]
 * (and a leading '.') are written %XX, so any replica name is one file.
 */
int position_path(char *buf, size_t len, const char *meta, const char *name);

/* Reads PATH: 0, or -1 with errno ENOENT (none) or EINVAL (corrupt). */
int position_load(const char *path, struct position *p);
/* Overwrites PATH in place and fdatasyncs it; the first time (or over a
 * file of another size) writes PATH.tmp, fsyncs, renames and fsyncs the
 * directory (made if missing, with DIR_MODE). 0, or -1 with errno. */
int position_save(const char *path, const struct position *p,
    mode_t file_mode, mode_t dir_mode);

/* META/generation: 16 lowercase hex characters after optional white
 * space, else "" (none, unreadable or malformed). */
void position_read_generation(const char *meta, char gen[POSITION_GEN_SIZE]);

/*
 * The walreader's newest snapshot file of generation GEN,
 * META/generations/<GEN>/snapshots/<I 8 hex>_<OFFSET 16 hex>.snapshot.lz4
 * (the database at (I, OFFSET), LZ4): 1 with *INDEX and *OFFSET set, 0 if
 * there is none, -1 with errno.
 */
int position_newest_snapshot(const char *meta, const char *gen,
    uint32_t *index, uint64_t *offset);
/* That file's path into BUF: 0, or -1 (ENAMETOOLONG). */
int position_snapshot_path(char *buf, size_t len, const char *meta,
    const char *gen, uint32_t index, uint64_t offset);

/* N lowercase hex digits of S into V (names of local shadow files). */
bool position_parse_hex(const char *s, size_t n, uint64_t *v);

#endif
