/*
 * validate: does the replica restore to what the database was?
 *
 * The compactor may not open the live database, and the database moves
 * on while a restore runs, so the comparison is made at a fixed position:
 * the walreader's newest local snapshot, META/generations/<G>/snapshots/
 * <I>_<OFFSET>.snapshot.lz4, is the database's image at (G, I, OFFSET)
 * (walreader/snapshot.h says why it is consistent). Once the uploader's
 * position file shows the replica at or past that position, the replica is
 * restored to exactly (G, I, OFFSET) (restore_opts index and offset: the
 * highest replica snapshot at or below I, then its WAL up to OFFSET) into a
 * private temporary directory, and the two images are compared page by
 * page. Any difference, or a restore that fails (a missing or corrupt
 * object), is a validation error: logged with the position and the first
 * differing page, and counted.
 *
 * This checks the replica's objects end to end (snapshot, segments, their
 * decompression and checksum chain) at no cost to the database: no
 * checkpoint and no lock, unlike Litestream's (format doc §3.7), which
 * forces a RESTART checkpoint every time.
 */
#include "cmp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "lz4frame.h"
#include "restore.h"

#define CMP_PAGE_MAX 65536

/* ERR for a failure; vsnprintf, as the paths may be long. */
static void __attribute__((format(printf, 3, 4)))
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static ssize_t
fd_src(void *arg, void *buf, size_t len)
{
	return read(*(int *)arg, buf, len);
}

/* Reads exactly LEN bytes of the image (fewer only at its end). */
static ssize_t
read_image(struct lz4frame_reader *z, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = lz4frame_read(z, buf + got, len - got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

struct cmp_result {
	uint64_t pages;			/* compared */
	uint64_t differ;		/* pages that differ */
	uint64_t first;			/* the first one (1-based), 0: none */
	uint64_t want_bytes, got_bytes;
};

/*
 * Compares the LZ4 image on SNAP_FD with the file RESTORED, page by page
 * (the page size from the restored header). 0 with RES filled, or -1 with
 * ERR.
 */
static int
compare(int snap_fd, const char *restored, struct cmp_result *res, char *err,
    size_t errlen)
{
	struct lz4frame_reader *z = lz4frame_reader_new(fd_src, &snap_fd);
	uint8_t *a = malloc(CMP_PAGE_MAX), *b = malloc(CMP_PAGE_MAX);
	int fd = open(restored, O_RDONLY | O_CLOEXEC), rc = -1;
	size_t psz = 0;

	memset(res, 0, sizeof(*res));
	if (z == NULL || a == NULL || b == NULL || fd < 0) {
		errf(err, errlen, "%s: %s", fd < 0 ? restored : "compare",
		    strerror(errno));
		goto out;
	}
	if (io_pread_full(fd, b, 100, 0) != 100) {
		errf(err, errlen, "%s: no database header", restored);
		goto out;
	}
	psz = (size_t)b[16] << 8 | b[17];
	if (psz == 1)
		psz = 65536;
	if (psz < 512 || psz > CMP_PAGE_MAX || (psz & (psz - 1)) != 0) {
		errf(err, errlen, "%s: bad page size", restored);
		goto out;
	}
	for (off_t off = 0;; off += (off_t)psz) {
		ssize_t na = read_image(z, a, psz);
		ssize_t nb = io_pread_full(fd, b, psz, off);
		if (na < 0 || nb < 0) {
			errf(err, errlen, "%s", na < 0 ?
			    lz4frame_reader_error(z) : strerror(errno));
			goto out;
		}
		res->want_bytes += (uint64_t)na;
		res->got_bytes += (uint64_t)nb;
		if (na == 0 && nb == 0)
			break;
		res->pages++;
		if (na != nb || memcmp(a, b, (size_t)na) != 0) {
			res->differ++;
			if (res->first == 0)
				res->first = res->pages;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	lz4frame_reader_free(z);
	free(a);
	free(b);
	return rc;
}

/* Restores R at (GEN, INDEX, OFFSET) to DIR/replica.db and compares. */
static int
restore_and_compare(struct cmp_replica *r, const char *gen, uint32_t index,
    uint64_t offset, int snap_fd, struct cmp_result *res, char *err,
    size_t errlen)
{
	char dir[4096], out[4200];
	struct restore_opts o;
	int rc;

	/* Beside the shadow log: the sandbox's area for it, the same file
	 * system as the database (room for a copy), private to the user. */
	snprintf(dir, sizeof(dir), "%s/walship/validate.XXXXXX",
	    r->db->meta_path);
	if (mkdtemp(dir) == NULL) {
		errf(err, errlen, "temporary directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	snprintf(out, sizeof(out), "%s/replica.db", dir);
	restore_opts_init(&o);
	o.clients = &r->client;
	o.nclients = 1;
	o.output = out;
	o.generation = gen;
	o.index = index;
	o.offset = (int64_t)offset;
	o.parallelism = 2;
	rc = restore_run(&o, err, errlen);
	if (rc == RESTORE_NO_BACKUPS)
		rc = -1;
	if (rc == 0)
		rc = compare(snap_fd, out, res, err, errlen);
	(void)unlink(out);
	(void)rmdir(dir);
	return rc;
}

int
cmp_validate(struct cmp_replica *r, struct cmp_stats *st, bool *retry)
{
	const char *meta = r->db->meta_path;
	char gen[POSITION_GEN_SIZE], path[4400], err[1024];
	struct cmp_result res;
	struct position pos;
	uint32_t index;
	uint64_t offset;
	int fd;

	*retry = true;
	position_read_generation(meta, gen);
	if (gen[0] == '\0' ||
	    position_newest_snapshot(meta, gen, &index, &offset) <= 0 ||
	    position_load(r->pos_path, &pos) < 0 ||
	    strcmp(pos.gen, gen) != 0 || !pos.snapshot ||
	    pos.index < index || (pos.index == index && pos.offset < offset)) {
		log_debug("validation: replica not yet at the database's "
		    "snapshot", KV_S("replica", r->rep->name));
		return 0;
	}
	/* Open now: the walreader may replace the file while we restore. */
	if (position_snapshot_path(path, sizeof(path), meta, gen, index,
	    offset) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	*retry = false;
	st->validations++;
	int rc = restore_and_compare(r, gen, index, offset, fd, &res, err,
	    sizeof(err));
	close(fd);
	if (rc < 0) {
		st->validation_errors++;
		log_error("validation failed: replica does not restore",
		    KV_S("replica", r->rep->name), KV_S("generation", gen),
		    KV_U("index", index), KV_U("offset", offset), KV_ERRS(err),
		    KV_U("validation_errors", st->validation_errors));
		return -1;
	}
	if (res.differ > 0) {
		st->validation_errors++;
		log_error("validation failed: replica differs from the database",
		    KV_S("replica", r->rep->name), KV_S("generation", gen),
		    KV_U("index", index), KV_U("offset", offset),
		    KV_U("pages_differ", res.differ),
		    KV_U("first_page", res.first),
		    KV_U("database_bytes", res.want_bytes),
		    KV_U("replica_bytes", res.got_bytes),
		    KV_U("validation_errors", st->validation_errors));
		return -1;
	}
	log_info("validation ok", KV_S("replica", r->rep->name),
	    KV_S("generation", gen), KV_U("index", index),
	    KV_U("offset", offset), KV_U("pages", res.pages));
	return 0;
}
