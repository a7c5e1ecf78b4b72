/*
 * snapshot: a consistent image of the database at the shadow log's current
 * position, streamed through fixed buffers.
 *
 * The image is the database file with every page that has a frame in the
 * current shadow index replaced by its last version there, cut to the size
 * of the last commit. It is consistent while the walreader holds its pin
 * and the shadow reaches the pin's mark (each sync pass copies right after
 * moving the pin): a checkpoint by another connection can only write pages
 * that have frames up to that mark, and those are all taken from the
 * shadow; every
 * earlier index was fully checkpointed by the walreader's own sealed
 * checkpoint. The image therefore equals the database at (index, size), and
 * replaying index I from offset 0 on top of it (as restore does) is
 * idempotent.
 *
 * Files: META/generations/<G>/snapshots/<I>_<OFFSET 16 hex>.snapshot.lz4,
 * written as .tmp, fsynced and renamed; the offset in the name is the shadow
 * position the image holds.
 */
#ifndef WALSHIP_SNAPSHOT_H
#define WALSHIP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct shadow;

/* Receives the image in order; returns -1 to abort. */
typedef int (*snapshot_sink)(void *arg, const uint8_t *buf, size_t len);

/*
 * Streams the image of the database (read through DB_FD, which the caller
 * keeps open: see dbconn.h) at S's current position to SINK. Returns the
 * image size in bytes, or -1 (errno; logged).
 */
int64_t snapshot_stream(const struct shadow *s, int db_fd, snapshot_sink sink,
    void *arg);

#endif
