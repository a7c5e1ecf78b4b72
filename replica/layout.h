/*
 * layout: the names and paths of Litestream v0.3's replica objects
 * (format doc §1.1), shared by every replica client.
 *
 *   R/generations/<G>/                              a generation
 *   R/generations/<G>/snapshots/<I>.snapshot.lz4    a snapshot
 *   R/generations/<G>/wal/<I>_<O>.wal.lz4           a WAL segment
 *
 * <G> is 16 lowercase hex characters, <I> the WAL index and <O> the byte
 * offset in the uncompressed WAL of that index, both "%08x". R is a
 * directory for file replicas and a key prefix for S3 (no leading or
 * trailing '/'; "" puts keys at generations/...).
 *
 * The parsers are strict: a name is recognised only if it matches one of
 * the three patterns exactly; anything else (.tmp files, uppercase, extra
 * characters) is not a replica object and callers treat it as absent.
 *
 * Builders return 0, or -1 with errno ENAMETOOLONG when BUF is too small
 * and EINVAL when a generation name is not valid (so a bad name can never
 * reach a path).
 */
#ifndef WALSHIP_LAYOUT_H
#define WALSHIP_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAYOUT_GEN_LEN 16
#define LAYOUT_SNAPSHOT_NAME_LEN 21	/* "00000000.snapshot.lz4" */
#define LAYOUT_WAL_NAME_LEN 25		/* "00000000_00000000.wal.lz4" */

/* True if NAME is exactly 16 characters of [0-9a-f]. */
bool layout_is_generation(const char *name);

/* Parses "%08x.snapshot.lz4" exactly. Returns 0, or -1 (EINVAL). */
int layout_parse_snapshot(const char *name, uint32_t *index);

/* Parses "%08x_%08x.wal.lz4" exactly. Returns 0, or -1 (EINVAL). */
int layout_parse_wal(const char *name, uint32_t *index, uint32_t *offset);

/* Object names without a directory. */
int layout_snapshot_name(char *buf, size_t len, uint32_t index);
int layout_wal_name(char *buf, size_t len, uint32_t index, uint32_t offset);

/* Paths under ROOT (a directory or key prefix; "" for none). */
int layout_generations_dir(char *buf, size_t len, const char *root);
int layout_generation_dir(char *buf, size_t len, const char *root,
    const char *gen);
int layout_snapshots_dir(char *buf, size_t len, const char *root,
    const char *gen);
int layout_wal_dir(char *buf, size_t len, const char *root, const char *gen);
int layout_snapshot_path(char *buf, size_t len, const char *root,
    const char *gen, uint32_t index);
int layout_wal_path(char *buf, size_t len, const char *root, const char *gen,
    uint32_t index, uint32_t offset);

/*
 * A new generation name: 8 bytes from getrandom(2) as 16 lowercase hex
 * characters and a NUL. Returns 0, or -1 with errno.
 */
int layout_new_generation(char out[LAYOUT_GEN_LEN + 1]);

/*
 * Normalises an S3 key prefix the way Go's path.Clean/path.Join treat it:
 * '//' collapsed, "." and ".." resolved (never above the root), no leading
 * or trailing '/'; an empty or root-only prefix becomes "". OUT may be IN.
 * Returns 0, or -1 (ENAMETOOLONG) if OUT is too small.
 */
int layout_clean_prefix(const char *in, char *out, size_t len);

#endif
