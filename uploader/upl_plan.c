/*
 * upl_plan: which objects take the replica from its durable position to
 * the end of the shadow log, in the order they must be written. Pure: it
 * reads only its arguments, so tests can drive every case and a repeat
 * after a crash names the same objects.
 *
 * Segments. One object per index touched, holding shadow bytes [from, end)
 * of that index: from is the position's offset in its index and 0 in every
 * later one (the offset-0 object starts with the WAL header, as the shadow
 * file does). Every end is a commit boundary (upl_view scans for it), a
 * segment never spans two indexes, and the next index is entered only once
 * it has a frame, which proves the previous one complete.
 *
 * Generations. When the shadow log's generation is not the position's, the
 * replica starts that generation at the newest snapshot file (I, OFFSET):
 *   1. segments of index I from offset 0 up to OFFSET;
 *   2. the snapshot object generations/<G>/snapshots/<I>.snapshot.lz4;
 *   3. the rest of I and every later index.
 * Indexes below I are never written: an index whose first segment is not at
 * offset 0 fails Litestream's restore even when the snapshot is above it.
 *
 * Why the segments come before the snapshot. A point-in-time restore takes
 * the newest snapshot created at or before T, then replays index I from
 * offset 0 with every segment created at or before T. The image already
 * holds index I up to OFFSET, so that replay must reach at least OFFSET:
 * replaying a shorter prefix of I would write older versions of some pages
 * over the image and leave the rest new, a database that never existed.
 * Writing the segments up to OFFSET first means any restore that can see
 * the snapshot also sees them (file mtimes and S3 LastModified then grow in
 * (index, offset) order, which Litestream's restore also relies on). A
 * crash between the two leaves segments without a snapshot, which no
 * restore uses and the next run completes.
 *
 * The same order serves snapshot-interval uploads within a generation: the
 * snapshot goes after the segment that reaches its offset, or first when
 * the replica is already past it.
 */
#include "upl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct planner {
	struct upl_plan *p;
	size_t cap;
	struct position at;	/* the position reached by the steps so far */
};

static int
emit(struct planner *pl, enum upl_step_kind kind, uint32_t index,
    uint64_t from, uint64_t to)
{
	struct upl_plan *p = pl->p;

	if (p->nsteps == pl->cap) {
		size_t nc = pl->cap ? pl->cap * 2 : 8;
		struct upl_step *ns = realloc(p->steps, nc * sizeof(*ns));
		if (ns == NULL)
			return -1;
		p->steps = ns;
		pl->cap = nc;
	}
	if (kind == UPL_STEP_SEGMENT) {
		pl->at.index = index;
		pl->at.offset = to;
	} else {
		pl->at.snapshot = true;
	}
	struct upl_step *s = &p->steps[p->nsteps++];
	s->kind = kind;
	s->index = index;
	s->from = from;
	s->to = to;
	s->after = pl->at;
	return 0;
}

static int
fail_nomem(struct upl_plan *p)
{
	upl_plan_free(p);
	errno = ENOMEM;
	return -1;
}

static bool
pos_in_view(const struct upl_view *v, const struct position *pos)
{
	uint64_t e = upl_view_end(v, pos->index);
	return e != UPL_END_MISSING && pos->offset <= e;
}

/*
 * Where the steps start (*CI, *CO) and whether the generation's snapshot
 * is on the replica there. Returns false with P's status set when there is
 * nothing to do yet.
 */
static bool
plan_start(const struct upl_view *v, const struct position *pos,
    struct upl_plan *p, uint32_t *ci, uint64_t *co, bool *snap_done)
{
	bool same = strcmp(pos->gen, v->gen) == 0;

	*ci = pos->index;
	*co = pos->offset;
	*snap_done = pos->snapshot;
	if (same && !pos_in_view(v, pos)) {
		/* Only a later index can restart cleanly: rewriting an index
		 * the replica already holds could leave stale segments. */
		if (!v->snap || v->snap_index <= pos->index) {
			p->status = UPL_PLAN_STALLED;
			snprintf(p->why, sizeof(p->why), "position %s/%08" PRIx32
			    ":%" PRIu64 " is not in the shadow log", pos->gen,
			    pos->index, pos->offset);
			return false;
		}
		p->resync = true;
		snprintf(p->why, sizeof(p->why), "position %s/%08" PRIx32
		    ":%" PRIu64 " is not in the shadow log; restarting at "
		    "snapshot %08" PRIx32 ":%" PRIu64, pos->gen, pos->index,
		    pos->offset, v->snap_index, v->snap_offset);
	} else if (same) {
		if (*snap_done)
			return true;
		if (!v->snap) {
			p->status = UPL_PLAN_NEED_SNAPSHOT;
			return false;
		}
		return true; /* on the way to the snapshot: carry on */
	} else {
		if (!v->snap) {
			p->status = UPL_PLAN_NEED_SNAPSHOT;
			return false;
		}
		p->start = true;
	}
	*ci = v->snap_index;
	*co = 0;
	*snap_done = false;
	return true;
}

int
upl_plan_make(const struct upl_view *v, const struct position *pos,
    bool snapshot_wanted, struct upl_plan *p)
{
	struct planner pl = { .p = p };
	uint32_t ci;
	uint64_t co;
	bool snap_done;

	memset(p, 0, sizeof(*p));
	if (v->gen[0] == '\0') {
		p->status = UPL_PLAN_NO_GENERATION;
		return 0;
	}
	memcpy(p->gen, v->gen, UPL_GEN_SIZE);
	if (!plan_start(v, pos, p, &ci, &co, &snap_done))
		return 0;
	memcpy(pl.at.gen, v->gen, UPL_GEN_SIZE);
	pl.at.index = ci;
	pl.at.offset = co;
	pl.at.snapshot = snap_done;

	uint32_t si = v->snap_index;
	uint64_t so = v->snap_offset;
	bool snap_pending = v->snap && (!snap_done || snapshot_wanted);
	if (snap_pending && upl_pos_cmp(si, so, ci, co) <= 0) {
		if (emit(&pl, UPL_STEP_SNAPSHOT, si, 0, so) < 0)
			return fail_nomem(p);
		snap_pending = false;
	}
	const char *stop = NULL;
	uint32_t i = ci;
	for (;; i++) {
		uint64_t e = upl_view_end(v, i);
		uint64_t from = i == ci ? co : 0;
		if (e == UPL_END_MISSING) {
			if (v->n > 0 && i < v->lo + v->n - 1)
				stop = "shadow wal index missing";
			break;
		}
		if (i > ci && e == 0)
			break; /* no frame yet, so no later index has one */
		if (snap_pending && i == si && from <= so && so <= e) {
			if (so > from && emit(&pl, UPL_STEP_SEGMENT, i, from,
			    so) < 0)
				return fail_nomem(p);
			if (emit(&pl, UPL_STEP_SNAPSHOT, si, 0, so) < 0)
				return fail_nomem(p);
			snap_pending = false;
			from = so;
		}
		if (e > from) {
			if (from > UINT32_MAX) {
				stop = "wal offset past 4 GiB cannot be named";
				break;
			}
			if (emit(&pl, UPL_STEP_SEGMENT, i, from, e) < 0)
				return fail_nomem(p);
		}
		if (i == UINT32_MAX)
			break;
	}
	if (stop != NULL && p->nsteps == 0) {
		p->status = UPL_PLAN_STALLED;
		snprintf(p->why, sizeof(p->why), "%s: %s/%08" PRIx32, stop,
		    v->gen, i);
	}
	return 0;
}

void
upl_plan_free(struct upl_plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->nsteps = 0;
}
