/*
 * retain_plan: the retention rule (see retain_plan.h for why it is safe).
 */
#include "retain_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The created time of G's newest object at or before T; false if none. */
static bool
newest_at_or_before(const struct restore_generation *g, int64_t t,
    int64_t *best)
{
	bool any = false;

	for (size_t i = 0; i < g->nsnapshots; i++) {
		int64_t c = g->snapshots[i].created;
		if (c <= t && (!any || c > *best)) {
			*best = c;
			any = true;
		}
	}
	for (size_t i = 0; i < g->nsegments; i++) {
		int64_t c = g->segments[i].created;
		if (c <= t && (!any || c > *best)) {
			*best = c;
			any = true;
		}
	}
	return any;
}

static bool
is_current(const struct retain_input *in, const char *name)
{
	for (size_t i = 0; i < 2; i++) {
		if (in->current[i] != NULL && strcmp(in->current[i], name) == 0)
			return true;
	}
	return in->pos_gen != NULL && strcmp(in->pos_gen, name) == 0;
}

/* The index below which G's objects are not needed (see the header). */
static uint32_t
keep_from(const struct restore_generation *g, const struct retain_input *in)
{
	uint32_t m = g->snapshots[0].index;	/* all younger: the lowest */

	for (size_t i = 0; i < g->nsnapshots; i++) {
		if (g->snapshots[i].created <= in->cutoff)
			m = g->snapshots[i].index; /* sorted: the highest */
	}
	if (in->pos_gen != NULL && strcmp(in->pos_gen, g->name) == 0 &&
	    in->pos_index < m)
		m = in->pos_index;
	return m;
}

static void
plan_trim(const struct restore_generation *g, const struct retain_input *in,
    struct retain_gen_plan *p)
{
	memset(p, 0, sizeof(*p));
	if (g->nsnapshots == 0)
		return;
	p->keep_from = keep_from(g, in);
	for (size_t i = 0; i < g->nsnapshots; i++)
		p->nsnapshots += g->snapshots[i].index < p->keep_from;
	for (size_t i = 0; i < g->nsegments; i++)
		p->nsegments += g->segments[i].index < p->keep_from;
	if (p->nsnapshots + p->nsegments > 0)
		p->action = RETAIN_TRIM;
}

void
retain_plan(const struct restore_generation *g, size_t n,
    const struct retain_input *in, struct retain_gen_plan *out)
{
	size_t last = n, at_cutoff = n;
	int64_t best = 0, t = 0;

	for (size_t i = 0; i < n; i++) {
		if (g[i].nsnapshots == 0 && g[i].nsegments == 0)
			continue;	/* empty: it ends nowhere */
		if (last == n || g[i].end > g[last].end)
			last = i;
		if (newest_at_or_before(&g[i], in->cutoff, &t) &&
		    (at_cutoff == n || t > best)) {
			at_cutoff = i;
			best = t;
		}
	}
	for (size_t i = 0; i < n; i++) {
		/* An empty generation is kept: it may be one an uploader is
		 * just starting (its first object not renamed into place). */
		bool empty = g[i].nsnapshots == 0 && g[i].nsegments == 0;
		bool keep = empty || is_current(in, g[i].name) || i == last ||
		    i == at_cutoff || g[i].end >= in->cutoff;
		if (keep) {
			plan_trim(&g[i], in, &out[i]);
		} else {
			memset(&out[i], 0, sizeof(out[i]));
			out[i].action = RETAIN_DROP;
			out[i].nsnapshots = g[i].nsnapshots;
			out[i].nsegments = g[i].nsegments;
		}
	}
}

int
retain_trim_objects(const struct restore_generation *g, uint32_t keep_from,
    struct replica_obj **out, size_t *n)
{
	size_t cnt = 0, k = 0;
	struct replica_obj *v;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < g->nsnapshots; i++)
		cnt += g->snapshots[i].index < keep_from;
	for (size_t i = 0; i < g->nsegments; i++)
		cnt += g->segments[i].index < keep_from;
	if (cnt == 0)
		return 0;
	if ((v = calloc(cnt, sizeof(*v))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < g->nsnapshots; i++) {
		if (g->snapshots[i].index < keep_from)
			v[k++] = replica_snapshot_obj(g->name,
			    g->snapshots[i].index);
	}
	/* Segments are sorted by (index, offset): each index's run is
	 * emitted backwards. */
	for (size_t i = 0; i < g->nsegments && g->segments[i].index <
	    keep_from;) {
		size_t j = i;
		while (j < g->nsegments && g->segments[j].index ==
		    g->segments[i].index)
			j++;
		for (size_t x = j; x > i; x--)
			v[k++] = replica_wal_obj(g->name,
			    g->segments[x - 1].index, g->segments[x - 1].offset);
		i = j;
	}
	*out = v;
	*n = k;
	return 0;
}
