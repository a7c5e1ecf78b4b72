/*
 * lz4pipe: one LZ4 object decompressed on a thread of its own, a few
 * blocks ahead of the caller.
 *
 * Restoring a snapshot is two jobs of about equal cost: decompressing
 * (with the frame's content checksum) and writing the result into the
 * page cache. Run one after the other they take their sum; run side by
 * side on two cores they take about the longer of the two.
 *
 * The caller keeps ownership of the reader: after a failure it asks the
 * reader (and the reader's source) why, once lz4pipe_stop() has returned.
 */
#ifndef WALSHIP_LZ4PIPE_H
#define WALSHIP_LZ4PIPE_H

#include <sys/types.h>

struct lz4frame_reader;
struct lz4pipe;

/* Starts decompressing from LZ; NULL with errno set if it cannot. */
struct lz4pipe *lz4pipe_start(struct lz4frame_reader *lz);

/*
 * The next chunk of decompressed bytes: its length (> 0) with *DATA set,
 * 0 at the end of the object, -1 if the reader failed (errno set). The
 * chunk stays valid until the next call; calling again hands it back.
 */
ssize_t lz4pipe_next(struct lz4pipe *p, const void **data);

/* Stops the thread, waits for it and frees everything; NULL is fine. */
void lz4pipe_stop(struct lz4pipe *p);

#endif
