/*
 * upl_scan: the replica's position as an S3 listing shows it (format doc
 * §3.3), without the network: the listing's entries and the newest
 * segment's bytes are fed in as they arrive, so nothing here depends on
 * how many objects or bytes there are.
 *
 *   snapshots/  how many, the highest index, the newest LastModified
 *   wal/        how many, the highest (index, offset)
 *   the newest segment, decompressed and counted: the position is its
 *   offset plus its length
 *
 * Names are parsed as Litestream parses them (replica/layout.h): anything
 * else under those prefixes (a .tmp, a marker, an upper-case name) is not
 * a replica object and is ignored.
 */
#define LZ4FRAME_WANT_LIBLZ4	/* liblz4's <lz4frame.h> as well */
#include "upl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "layout.h"

#define COUNT_SCRATCH (64 * 1024)

void
upl_scan_init(struct upl_scan *sc)
{
	memset(sc, 0, sizeof(*sc));
}

int
upl_scan_snapshot(struct upl_scan *sc, const char *name, int64_t size,
    int64_t created)
{
	uint32_t index;

	if (size < 0 || layout_parse_snapshot(name, &index) < 0)
		return 0;
	if (sc->nsnaps == 0 || index > sc->snap_index)
		sc->snap_index = index;
	if (created > sc->snap_created)
		sc->snap_created = created;
	sc->nsnaps++;
	return 1;
}

int
upl_scan_wal(struct upl_scan *sc, const char *name, int64_t size)
{
	uint32_t index, offset;

	if (size < 0 || layout_parse_wal(name, &index, &offset) < 0)
		return 0;
	if (sc->nsegs == 0 || upl_pos_cmp(index, offset, sc->seg_index,
	    sc->seg_offset) > 0) {
		sc->seg_index = index;
		sc->seg_offset = offset;
	}
	sc->nsegs++;
	return 1;
}

void
upl_scan_position(const struct upl_scan *sc, const char *gen,
    uint64_t seg_len, struct position *pos)
{
	memset(pos, 0, sizeof(*pos));
	if (sc->nsnaps == 0 && sc->nsegs == 0)
		return;
	snprintf(pos->gen, sizeof(pos->gen), "%s", gen);
	/* Segments without a snapshot: a start interrupted before its
	 * snapshot, continued after them (see upl_replica_position). */
	pos->snapshot = sc->nsnaps > 0;
	if (sc->nsegs == 0) {
		pos->index = sc->snap_index;
		return;
	}
	pos->index = sc->seg_index;
	pos->offset = (uint64_t)sc->seg_offset + seg_len;
}

/* ---- the newest segment's length --------------------------------------- */

int
upl_lz4count_init(struct upl_lz4count *lc)
{
	LZ4F_dctx *d = NULL;

	memset(lc, 0, sizeof(*lc));
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		d = NULL;
	lc->scratch = malloc(COUNT_SCRATCH);
	if (d == NULL || lc->scratch == NULL) {
		if (d != NULL)
			LZ4F_freeDecompressionContext(d);
		free(lc->scratch);
		lc->scratch = NULL;
		errno = ENOMEM;
		return -1;
	}
	lc->dctx = d;
	return 0;
}

int
upl_lz4count_feed(struct upl_lz4count *lc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (lc->err[0] != '\0') {
		errno = EBADMSG;
		return -1;
	}
	lc->in += len;
	while (len > 0) {
		size_t dst = COUNT_SCRATCH, src = len;
		size_t r = LZ4F_decompress(lc->dctx, lc->scratch, &dst, p, &src,
		    NULL);
		if (LZ4F_isError(r)) {
			snprintf(lc->err, sizeof(lc->err), "corrupt lz4 frame: "
			    "%s", LZ4F_getErrorName(r));
			errno = EBADMSG;
			return -1;
		}
		lc->out += dst;
		lc->want = r;
		p += src;
		len -= src;
		if (src == 0 && dst == 0) {
			/* No progress with input left: cannot happen with a
			 * sane decoder, but never spin. */
			snprintf(lc->err, sizeof(lc->err), "lz4 decoder "
			    "stalled");
			errno = EBADMSG;
			return -1;
		}
	}
	/* Output still held back inside the decoder (the input consumed,
	 * the scratch full): drain it with empty input. Only within a
	 * frame: after one, empty input just asks for the next header. */
	while (lc->want != 0) {
		size_t dst = COUNT_SCRATCH, src = 0;
		size_t r = LZ4F_decompress(lc->dctx, lc->scratch, &dst, p, &src,
		    NULL);
		if (LZ4F_isError(r)) {
			snprintf(lc->err, sizeof(lc->err), "corrupt lz4 frame: "
			    "%s", LZ4F_getErrorName(r));
			errno = EBADMSG;
			return -1;
		}
		if (dst == 0)
			break;
		lc->out += dst;
		lc->want = r;
	}
	return 0;
}

int
upl_lz4count_finish(struct upl_lz4count *lc, uint64_t *len)
{
	if (lc->err[0] == '\0' && lc->in == 0)
		snprintf(lc->err, sizeof(lc->err), "empty object");
	else if (lc->err[0] == '\0' && lc->want != 0)
		snprintf(lc->err, sizeof(lc->err), "truncated lz4 frame");
	if (lc->err[0] != '\0') {
		errno = EBADMSG;
		return -1;
	}
	*len = lc->out;
	return 0;
}

void
upl_lz4count_free(struct upl_lz4count *lc)
{
	if (lc->dctx != NULL)
		LZ4F_freeDecompressionContext(lc->dctx);
	free(lc->scratch);
	lc->dctx = NULL;
	lc->scratch = NULL;
}
