/*
 * io: whole reads and writes, and the directory steps of a durable write,
 * shared by every role. Each call retries EINTR and loops over partial
 * transfers, so callers see all, EOF, or an error (errno set).
 */
#ifndef WALSHIP_IO_H
#define WALSHIP_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads up to LEN bytes at OFF; fewer only at end of file. -1 on error. */
ssize_t io_pread_full(int fd, void *buf, size_t len, off_t off);
/* Writes all LEN bytes at OFF. 0, or -1 on error. */
int io_pwrite_full(int fd, const void *buf, size_t len, off_t off);
/* Writes all LEN bytes at the file position. 0, or -1 on error. */
int io_write_full(int fd, const void *buf, size_t len);
/* fsync of a directory, so a rename or create in it is durable. */
int io_fsync_dir(const char *path);
/* mkdir -p with MODE for the directories it creates. */
int io_mkdir_p(const char *path, mode_t mode);

#endif
