/*
 * retain_plan: what retention deletes from one replica, a pure function of
 * its listings, the clock and what the local records protect.
 *
 * The rule is "never delete what a restore to any time T in the window
 * [now - retention, now] needs". A restore to T (replica/restore.h) takes
 * the generation whose newest object at or before T is newest, in it the
 * highest snapshot created at or before T, and the WAL from that
 * snapshot's index on. So, with CUTOFF = now - retention:
 *
 *  - a generation is kept if it is current (the uploader's position file
 *    or META/generation names it), if it is the one that ends last, if
 *    anything in it is at or after CUTOFF, or if it is the one a restore
 *    to CUTOFF picks (it holds the state at the window's start); every
 *    other generation is deleted whole;
 *  - in a kept generation, KEEP_FROM is the index of the highest snapshot
 *    created at or before CUTOFF (the one a restore to CUTOFF starts
 *    from), or of its lowest snapshot if all are younger; snapshots and
 *    WAL segments with an index below KEEP_FROM are deleted. The newest
 *    snapshot is therefore always kept. A generation with no snapshot
 *    (an uploader writing the segments that precede its first snapshot)
 *    loses nothing.
 *  - in the uploader's generation KEEP_FROM is at most the index of the
 *    position it has made durable, so nothing at or above what it works
 *    from is ever touched.
 *
 * Litestream v0.3.13 (format doc §3.6) differs in two ways that lose
 * restorable points: it keeps only snapshots created after CUTOFF (so
 * T between CUTOFF and the first of them has no snapshot), and it deletes
 * a generation as soon as none of its snapshots is younger than retention
 * even if its WAL reaches into the window.
 */
#ifndef WALSHIP_RETAIN_PLAN_H
#define WALSHIP_RETAIN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "restore.h"

struct retain_input {
	int64_t cutoff;			/* now - retention, ns */
	const char *current[2];		/* never deleted ("" or NULL: none) */
	const char *pos_gen;		/* the uploader's generation, or NULL */
	uint32_t pos_index;		/* and the index of its position */
};

enum retain_action {
	RETAIN_KEEP = 0,		/* nothing to delete */
	RETAIN_TRIM,			/* objects below keep_from go */
	RETAIN_DROP,			/* the whole generation goes */
};

struct retain_gen_plan {
	enum retain_action action;
	uint32_t keep_from;		/* RETAIN_TRIM */
	size_t nsnapshots;		/* to delete (TRIM) */
	size_t nsegments;
};

/* Plans every generation of G[N] into OUT[N]. */
void retain_plan(const struct restore_generation *g, size_t n,
    const struct retain_input *in, struct retain_gen_plan *out);

/*
 * The objects of G below KEEP_FROM, in deletion order: snapshots by
 * ascending index, then WAL indexes ascending, each from its highest
 * offset down, so that an interrupted pass leaves every index as a run of
 * segments from offset 0 (what Litestream's restore insists on). *OUT is
 * malloc'd (NULL when *N is 0). 0, or -1 (ENOMEM).
 */
int retain_trim_objects(const struct restore_generation *g, uint32_t keep_from,
    struct replica_obj **out, size_t *n);

#endif
