/* snapshot_file: the snapshot of the shadow position, LZ4, in the meta dir. */
#ifndef WALSHIP_SNAPSHOT_FILE_H
#define WALSHIP_SNAPSHOT_FILE_H

#include <stdint.h>

struct shadow;

struct snapshot_info {
	uint32_t index;
	uint64_t offset;
	uint64_t db_bytes;
	uint64_t lz4_bytes;
};

/* Writes it; returns 0 with INFO filled in, or -1 (logged). */
int snapshot_file_write(const struct shadow *s, int db_fd,
    struct snapshot_info *info);

#endif
