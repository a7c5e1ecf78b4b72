/*
 * upl_store: the uploader's objects on the replica, through the replica
 * client (replica/client.h), which writes each one atomically (file: tmp,
 * fsync, rename, fsync of the directory).
 *
 * A segment is shadow bytes [from, to) of one index, compressed on the fly
 * into one LZ4 frame (replica/lz4frame.h: Litestream's FLG 0x64 / BD 0x70)
 * with fixed buffers, so memory does not depend on the segment's size.
 * Object names come from the step alone (index, from), so a step repeated
 * after a crash replaces the object it may already have written.
 */
#include "upl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "lz4frame.h"
#include "io.h"

static int
to_writer(void *arg, const void *buf, size_t len)
{
	struct replica_writer *w = arg;
	return w->write(w, buf, len);
}

/* Opens the shadow file of INDEX and makes sure what it holds is durable. */
static int
open_shadow(const char *meta, const char *gen, uint32_t index, char *err,
    size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/generations/%s/wal/%08" PRIx32 ".wal",
	    meta, gen, index);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fdatasync(fd) < 0) {
		int e = errno;
		snprintf(err, errlen, "shadow wal %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
upl_feed_segment(struct lz4frame_writer *lz, const struct upl_buf *buf,
    const char *meta, const char *gen, uint32_t index, uint64_t from,
    uint64_t to, int *fd, uint8_t *chunk, size_t chunklen,
    enum upl_fault *fault, char *err, size_t errlen)
{
	for (uint64_t off = from; off < to;) {
		size_t avail, n;
		uint64_t next;
		const uint8_t *p = upl_buf_find(buf, gen, index, off, &avail,
		    &next);
		if (p == NULL) {
			uint64_t stop = next < to ? next : to;
			n = stop - off < chunklen ? (size_t)(stop - off) :
			    chunklen;
			if (*fd < 0 && (*fd = open_shadow(meta, gen, index,
			    err, errlen)) < 0)
				goto local;
			ssize_t got = io_pread_full(*fd, chunk, n, (off_t)off);
			if (got != (ssize_t)n) {
				int e = got < 0 ? errno : EIO;
				snprintf(err, errlen, "shadow wal %s/%08" PRIx32
				    " at %" PRIu64 ": %s", gen, index, off,
				    got < 0 ? strerror(e) : "shorter than "
				    "planned");
				errno = e;
				goto local;
			}
			p = chunk;
		} else {
			n = avail < to - off ? avail : (size_t)(to - off);
		}
		if (lz4frame_write(lz, p, n) < 0)
			return -1;
		off += n;
	}
	return 0;
local:
	*fault = UPL_FAULT_LOCAL;
	return -1;
}

int
upl_put_segment(struct replica_client *c, const char *meta,
    const char *gen, const struct upl_buf *buf, const struct upl_step *s,
    uint8_t *chunk, size_t chunklen, struct lz4frame_writer *lz,
    uint64_t *bytes, enum upl_fault *fault, char *err, size_t errlen)
{
	struct replica_obj o;
	struct replica_writer *w;
	enum upl_fault f = UPL_FAULT_NONE;
	uint64_t in;
	int fd = -1, e;

	err[0] = '\0';
	if (s->kind != UPL_STEP_SEGMENT || s->from > UINT32_MAX ||
	    s->to <= s->from) {
		snprintf(err, errlen, "bad segment step %" PRIu64 "..%" PRIu64,
		    s->from, s->to);
		*fault = UPL_FAULT_LOCAL;
		errno = EINVAL;
		return -1;
	}
	o = replica_wal_obj(gen, s->index, (uint32_t)s->from);
	if ((w = replica_create(c, &o, err, errlen)) == NULL) {
		*fault = UPL_FAULT_REPLICA;
		return -1;
	}
	lz4frame_writer_reset(lz, to_writer, w);
	if (upl_feed_segment(lz, buf, meta, gen, s->index, s->from, s->to,
	    &fd, chunk, chunklen, &f, err, errlen) < 0 ||
	    lz4frame_writer_finish(lz) < 0) {
		e = errno;
		if (f == UPL_FAULT_NONE) {
			/* The sink (the replica) or the compressor failed. */
			f = UPL_FAULT_REPLICA;
			snprintf(err, errlen, "%s", w->err[0] ? w->err :
			    lz4frame_writer_error(lz));
		}
		w->abort(w);
		if (fd >= 0)
			close(fd);
		*fault = f;
		errno = e;
		return -1;
	}
	lz4frame_writer_stats(lz, &in, bytes);
	if (fd >= 0)
		close(fd);
	if (w->commit(w, err, errlen) < 0) {
		*fault = UPL_FAULT_REPLICA;
		return -1;
	}
	*fault = UPL_FAULT_NONE;
	return 0;
}

static ssize_t
from_fd(void *arg, void *buf, size_t len)
{
	int fd = *(int *)arg;
	ssize_t n;
	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n;
}

int
upl_put_snapshot(struct replica_client *c, const char *meta,
    const char *gen, const struct upl_step *s, uint64_t *bytes,
    enum upl_fault *fault, char *err, size_t errlen)
{
	char path[4200];
	struct stat st;
	struct replica_obj o = replica_snapshot_obj(gen, s->index);

	snprintf(path, sizeof(path), "%s/generations/%s/snapshots/%08" PRIx32
	    "_%016" PRIx64 ".snapshot.lz4", meta, gen, s->index, s->to);
	/* Once open, the walreader may replace the file: we keep ours. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "snapshot file %s: %s", path,
		    strerror(e));
		if (fd >= 0)
			close(fd);
		*fault = UPL_FAULT_LOCAL;
		errno = e;
		return -1;
	}
	err[0] = '\0';
	if (replica_put(c, &o, from_fd, &fd, err, errlen) < 0) {
		int e = errno;
		/* replica_put names the source when reading it failed. */
		*fault = strstr(err, "reading source") ? UPL_FAULT_LOCAL :
		    UPL_FAULT_REPLICA;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	*bytes = (uint64_t)st.st_size;
	*fault = UPL_FAULT_NONE;
	return 0;
}

static ssize_t
from_reader(void *arg, void *buf, size_t len)
{
	struct replica_reader *r = arg;
	return r->read(r, buf, len);
}

/* The decompressed length of segment (GEN, INDEX, OFFSET). */
static int
segment_length(struct replica_client *c, const char *gen, uint32_t index,
    uint32_t offset, uint64_t *len, char *err, size_t errlen)
{
	struct replica_obj o = replica_wal_obj(gen, index, offset);
	struct replica_reader *r = replica_open(c, &o, err, errlen);
	struct lz4frame_reader *lz;
	char key[512];
	uint8_t *buf;
	ssize_t n;
	int rc = 0;

	if (r == NULL)
		return -1;
	buf = malloc(64 * 1024);
	lz = lz4frame_reader_new(from_reader, r);
	if (buf == NULL || lz == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
		goto out;
	}
	*len = 0;
	while ((n = lz4frame_read(lz, buf, 64 * 1024)) > 0)
		*len += (uint64_t)n;
	if (n < 0) {
		int e = errno;
		snprintf(err, errlen, "read %s: %s", replica_key(c, &o, key,
		    sizeof(key)), r->err[0] ? r->err :
		    lz4frame_reader_error(lz));
		errno = e;
		rc = -1;
	}
out:
	lz4frame_reader_free(lz);
	free(buf);
	r->close(r);
	return rc;
}

int
upl_replica_position(struct replica_client *c, const char *gen,
    struct position *pos, int64_t *snap_created, char *err, size_t errlen)
{
	struct replica_snapshot *snaps = NULL;
	struct replica_wal_segment *segs = NULL;
	size_t nsnaps = 0, nsegs = 0;
	int rc = -1;

	memset(pos, 0, sizeof(*pos));
	*snap_created = 0;
	if (replica_list_snapshots(c, gen, &snaps, &nsnaps, err, errlen) < 0 ||
	    replica_list_wal(c, gen, &segs, &nsegs, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < nsnaps; i++)
		if (snaps[i].created > *snap_created)
			*snap_created = snaps[i].created;
	rc = 0;
	if (nsnaps == 0 && nsegs == 0)
		goto out; /* the generation is not started on this replica */
	snprintf(pos->gen, sizeof(pos->gen), "%s", gen);
	/* Segments without a snapshot: a start interrupted before its
	 * snapshot. It continues after them; starting again at offset 0
	 * would leave overlapping segments. */
	pos->snapshot = nsnaps > 0;
	if (nsegs == 0) {
		pos->index = snaps[nsnaps - 1].index; /* sorted by index */
		goto out;
	}
	const struct replica_wal_segment *last = &segs[nsegs - 1];
	uint64_t len;
	if (segment_length(c, gen, last->index, last->offset, &len, err,
	    errlen) < 0) {
		memset(pos, 0, sizeof(*pos));
		rc = -1;
		goto out;
	}
	pos->index = last->index;
	pos->offset = (uint64_t)last->offset + len;
out:
	free(snaps);
	free(segs);
	return rc;
}
