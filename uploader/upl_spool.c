/*
 * upl_spool: a compressed WAL segment between the LZ4 writer and its S3
 * PUT. Its size is known only once it is compressed, and a PUT (or a
 * multipart upload) needs the size first, so the object is spooled:
 * in memory while it is small (the steady state, one sync-interval of
 * changes), in an unnamed temporary file in the meta directory once it
 * passes the bound (a large transaction, a catch-up after an outage).
 * The file vanishes when it is closed, whatever happens to the process.
 */
#include "upl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

void
upl_spool_init(struct upl_spool *sp, const char *dir, size_t max)
{
	memset(sp, 0, sizeof(*sp));
	sp->dir = dir;
	sp->max = max;
	sp->fd = -1;
}

/* An unnamed file in sp->dir (made if missing). */
static int
open_tmp(const struct upl_spool *sp)
{
	char path[4200];
	int fd;

	if (mkdir(sp->dir, 0700) < 0 && errno != EEXIST)
		return -1;
#ifdef O_TMPFILE
	fd = open(sp->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	if (snprintf(path, sizeof(path), "%s/.spool-XXXXXX", sp->dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(path)) < 0)
		return -1;
	unlink(path);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* Moves what is in memory to a file. */
static int
spill(struct upl_spool *sp)
{
	int fd = open_tmp(sp);

	if (fd < 0)
		return -1;
	if (sp->size > 0 && io_write_full(fd, sp->mem, (size_t)sp->size) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	free(sp->mem);
	sp->mem = NULL;
	sp->cap = 0;
	sp->fd = fd;
	return 0;
}

int
upl_spool_write(struct upl_spool *sp, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (sp->fd < 0 && sp->size + len > sp->max && spill(sp) < 0)
		return -1;
	if (sp->fd >= 0) {
		if (io_write_full(sp->fd, data, len) < 0)
			return -1;
		sp->size += len;
		return 0;
	}
	size_t need = (size_t)sp->size + len;
	if (need > sp->cap) {
		size_t nc = sp->cap ? sp->cap : 64 * 1024;
		while (nc < need)
			nc *= 2;
		if (nc > sp->max)
			nc = sp->max;
		uint8_t *nm = realloc(sp->mem, nc);
		if (nm == NULL)
			return -1;
		sp->mem = nm;
		sp->cap = nc;
	}
	memcpy(sp->mem + sp->size, data, len);
	sp->size += len;
	return 0;
}

const uint8_t *
upl_spool_mem(const struct upl_spool *sp)
{
	static const uint8_t empty[1];

	if (sp->fd >= 0)
		return NULL;
	return sp->mem != NULL ? sp->mem : empty;
}

ssize_t
upl_spool_read(struct upl_spool *sp, void *buf, size_t len)
{
	uint64_t left = sp->size - sp->rd;
	size_t n = left < len ? (size_t)left : len;

	if (n == 0)
		return 0;
	if (sp->fd >= 0) {
		ssize_t got = io_pread_full(sp->fd, buf, n, (off_t)sp->rd);
		if (got < 0)
			return -1;
		if ((size_t)got != n) {
			errno = EIO;	/* the file shrank under us */
			return -1;
		}
	} else {
		memcpy(buf, sp->mem + sp->rd, n);
	}
	sp->rd += n;
	return (ssize_t)n;
}

void
upl_spool_reset(struct upl_spool *sp)
{
	free(sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	upl_spool_init(sp, sp->dir, sp->max);
}
