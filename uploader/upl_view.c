/*
 * upl_view: reads what the walreader's shadow log holds (walreader/shadow.h
 * for the layout), without writing anything in the meta directory:
 *   META/generation                                  the current generation
 *   META/generations/<G>/wal/<I>.wal                 one shadow WAL per index
 *   META/generations/<G>/snapshots/<I>_<O>.snapshot.lz4
 *
 * Order matters, because the walreader writes while we read: snapshots are
 * listed before any end is scanned (a snapshot's position is never past the
 * ends we then find), and indexes are scanned from the highest down (when
 * index I+1 has frames, I was complete before we looked at it).
 */
#include "upl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sqlitewal.h"
#include "io.h"

#define VIEW_MAX_INDEXES (1u << 20)

/* Frames are read this many bytes at a time (at least one frame), not
 * one frame header per system call. */
#define SCAN_CHUNK (256 * 1024)

int
upl_scan_commit_end(int fd, uint64_t from, uint64_t *end)
{
	uint8_t hdr[SQLITEWAL_HDR_SIZE];
	struct sqlitewal_hdr h;
	struct stat st;
	char err[96];

	*end = 0;
	if (fstat(fd, &st) < 0)
		return -1;
	uint64_t size = (uint64_t)st.st_size;
	if (size < SQLITEWAL_HDR_SIZE)
		return 0;
	if (io_pread_full(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return -1;
	if (sqlitewal_hdr_parse(hdr, sizeof(hdr), &h, err, sizeof(err)) < 0) {
		errno = EBADMSG;
		return -1;
	}
	uint64_t fsz = sqlitewal_frame_size(h.page_size);
	/* FROM must be a frame boundary inside the file, else start over. */
	if (from < SQLITEWAL_HDR_SIZE || from > size ||
	    (from - SQLITEWAL_HDR_SIZE) % fsz != 0)
		from = 0;
	uint64_t off = from ? from : SQLITEWAL_HDR_SIZE;
	uint64_t last = from;
	size_t per = SCAN_CHUNK / fsz ? SCAN_CHUNK / fsz : 1;
	uint8_t *buf = NULL;
	if (off + fsz <= size && (buf = malloc(per * fsz)) == NULL)
		return -1;
	while (off + fsz <= size) {
		uint64_t room = (size - off) / fsz;
		size_t want = (room < per ? (size_t)room : per) * fsz;
		ssize_t got = io_pread_full(fd, buf, want, (off_t)off);
		if (got < 0) {
			free(buf);
			return -1;
		}
		size_t k, n = (size_t)got / fsz;
		for (k = 0; k < n; k++) {
			struct sqlitewal_frame_hdr f;
			sqlitewal_frame_hdr_parse(buf + k * fsz, &f);
			if (f.salt1 != h.salt1 || f.salt2 != h.salt2)
				break; /* not this WAL's: stop at the last commit */
			off += fsz;
			if (f.commit != 0)
				last = off;
		}
		if (k < n || (size_t)got < want)
			break;
	}
	free(buf);
	*end = last;
	return 0;
}

/* The newest snapshot file of V->gen (replica/position.h). */
static int
find_snapshot(struct upl_view *v, const char *meta)
{
	int r = position_newest_snapshot(meta, v->gen, &v->snap_index,
	    &v->snap_offset);
	if (r > 0)
		v->snap = true;
	return r < 0 ? -1 : 0;
}

/* Lists "<8 hex>.wal" in the generation's wal directory: lo, n, and which
 * indexes exist (a bitmap in V->end: 0 present, UPL_END_MISSING not). */
static int
list_indexes(struct upl_view *v, const char *meta)
{
	char dir[4200];
	uint32_t *idx = NULL;
	size_t nidx = 0, cap = 0;
	uint64_t lo = UINT64_MAX, hi = 0;

	snprintf(dir, sizeof(dir), "%s/generations/%s/wal", meta, v->gen);
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		uint64_t i;
		if (strlen(e->d_name) != 12 || strcmp(e->d_name + 8, ".wal") ||
		    !position_parse_hex(e->d_name, 8, &i))
			continue;
		if (nidx == cap) {
			size_t nc = cap ? cap * 2 : 16;
			uint32_t *ni = realloc(idx, nc * sizeof(*ni));
			if (ni == NULL)
				goto fail;
			idx = ni;
			cap = nc;
		}
		idx[nidx++] = (uint32_t)i;
		lo = i < lo ? i : lo;
		hi = i > hi ? i : hi;
	}
	closedir(d);
	d = NULL;
	if (nidx == 0)
		goto done;
	if (hi - lo + 1 > VIEW_MAX_INDEXES) {
		errno = EFBIG;
		goto fail;
	}
	v->lo = (uint32_t)lo;
	v->n = (uint32_t)(hi - lo + 1);
	if ((v->end = malloc(v->n * sizeof(*v->end))) == NULL)
		goto fail;
	for (uint32_t k = 0; k < v->n; k++)
		v->end[k] = UPL_END_MISSING;
	for (size_t k = 0; k < nidx; k++)
		v->end[idx[k] - v->lo] = 0;
done:
	free(idx);
	return 0;
fail:
	if (d != NULL)
		closedir(d);
	free(idx);
	return -1;
}

int
upl_view_load(struct upl_view *v, const char *meta,
    const struct upl_view *prev)
{
	char path[4200];

	memset(v, 0, sizeof(*v));
	position_read_generation(meta, v->gen);
	if (v->gen[0] == '\0')
		return 0;
	if (find_snapshot(v, meta) < 0 || list_indexes(v, meta) < 0) {
		log_warn("cannot read shadow log", KV_S("path", meta),
		    KV_S("generation", v->gen), KV_ERR());
		upl_view_free(v);
		return -1;
	}
	bool same = prev != NULL && strcmp(prev->gen, v->gen) == 0;
	for (uint32_t k = v->n; k-- > 0;) {
		uint32_t i = v->lo + k;
		if (v->end[k] == UPL_END_MISSING)
			continue;
		uint64_t hint = same ? upl_view_end(prev, i) : 0;
		if (hint == UPL_END_MISSING)
			hint = 0;
		snprintf(path, sizeof(path), "%s/generations/%s/wal/%08x.wal",
		    meta, v->gen, i);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT)
				log_warn("cannot open shadow wal",
				    KV_S("path", path), KV_ERR());
			v->end[k] = UPL_END_MISSING;
			continue;
		}
		if (upl_scan_commit_end(fd, hint, &v->end[k]) < 0) {
			/* Unreadable: nothing past it can be uploaded. */
			log_warn("cannot read shadow wal", KV_S("path", path),
			    KV_ERR());
			v->end[k] = 0;
		}
		close(fd);
	}
	return 0;
}

void
upl_view_free(struct upl_view *v)
{
	free(v->end);
	v->end = NULL;
	v->n = 0;
}

uint64_t
upl_view_end(const struct upl_view *v, uint32_t index)
{
	if (v->n == 0 || index < v->lo || index - v->lo >= v->n)
		return UPL_END_MISSING;
	return v->end[index - v->lo];
}

bool
upl_view_ahead(const struct upl_view *v, const struct position *pos)
{
	if (v->gen[0] == '\0')
		return false;
	if (strcmp(v->gen, pos->gen) != 0 || !pos->snapshot)
		return true;
	for (uint32_t k = 0; k < v->n; k++) {
		uint32_t i = v->lo + k;
		uint64_t e = v->end[k];
		if (i < pos->index || e == UPL_END_MISSING)
			continue;
		if (i == pos->index ? e > pos->offset : e > 0)
			return true;
	}
	return false;
}
