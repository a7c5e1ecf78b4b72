/*
 * The retention rule (compactor/retain_plan.c): what goes, what stays, and
 * the order of deletion.
 */
#include <stdlib.h>
#include <string.h>

#include "retain_plan.h"
#include "test.h"

#define GA "aaaaaaaaaaaaaaaa"
#define GB "bbbbbbbbbbbbbbbb"
#define GC "cccccccccccccccc"

/* Generation NAME with snapshots at INDEX[i] created SCREATED[i], and per
 * index two segments (offsets 0 and 4152), all created at the snapshot
 * time of their index or, for indexes without a snapshot, at END. */
static struct restore_generation
gen(const char *name, const uint32_t *idx, const int64_t *created, size_t n,
    uint32_t max_index, int64_t end)
{
	struct restore_generation g = { 0 };

	strcpy(g.name, name);
	g.snapshots = calloc(n ? n : 1, sizeof(*g.snapshots));
	g.segments = calloc(2 * (max_index + 1), sizeof(*g.segments));
	g.nsnapshots = n;
	for (size_t i = 0; i < n; i++)
		g.snapshots[i] = (struct replica_snapshot){ idx[i], 100,
		    created[i] };
	for (uint32_t i = 0; i <= max_index; i++) {
		int64_t c = end;
		for (size_t k = 0; k < n; k++)
			if (idx[k] == i)
				c = created[k];
		g.segments[g.nsegments++] = (struct replica_wal_segment){ i, 0,
		    10, c };
		g.segments[g.nsegments++] = (struct replica_wal_segment){ i,
		    4152, 10, c };
	}
	g.start = n ? created[0] : end;
	g.end = end;
	return g;
}

TEST(keeps_the_snapshot_at_the_window_start)
{
	/* Snapshots at t=10 (idx 0), 20 (idx 2), 30 (idx 4); cutoff 25:
	 * a restore to 25 starts from idx 2, so idx 0 and its WAL go. */
	uint32_t idx[] = { 0, 2, 4 };
	int64_t cr[] = { 10, 20, 30 };
	struct restore_generation g = gen(GA, idx, cr, 3, 5, 40);
	struct retain_input in = { .cutoff = 25, .current = { GA } };
	struct retain_gen_plan p;

	retain_plan(&g, 1, &in, &p);
	ASSERT_INT_EQ(p.action, RETAIN_TRIM);
	ASSERT_INT_EQ(p.keep_from, 2);
	ASSERT_INT_EQ(p.nsnapshots, 1);
	ASSERT_INT_EQ(p.nsegments, 4);	/* indexes 0 and 1 */
	/* Everything older than the window except the newest: idx 2 too. */
	in.cutoff = 35;
	retain_plan(&g, 1, &in, &p);
	ASSERT_INT_EQ(p.keep_from, 4);
	/* An idle database: the newest snapshot is always kept. */
	in.cutoff = 1000;
	retain_plan(&g, 1, &in, &p);
	ASSERT_INT_EQ(p.keep_from, 4);
	ASSERT_INT_EQ(p.nsnapshots, 2);
	/* All younger than the window: only WAL below the lowest goes. */
	in.cutoff = 5;
	retain_plan(&g, 1, &in, &p);
	ASSERT_INT_EQ(p.action, RETAIN_KEEP);
	restore_generation_clear(&g);
}

TEST(uploader_position_caps)
{
	uint32_t idx[] = { 0, 2, 4 };
	int64_t cr[] = { 10, 20, 30 };
	struct restore_generation g = gen(GA, idx, cr, 3, 5, 40);
	struct retain_input in = { .cutoff = 35, .pos_gen = GA,
		.pos_index = 3 };
	struct retain_gen_plan p;

	retain_plan(&g, 1, &in, &p);
	ASSERT_INT_EQ(p.action, RETAIN_TRIM);
	ASSERT_INT_EQ(p.keep_from, 3);
	/* Another generation's position does not cap this one. */
	in.pos_gen = GB;
	retain_plan(&g, 1, &in, &p);
	ASSERT_INT_EQ(p.keep_from, 4);
	restore_generation_clear(&g);
}

TEST(generations)
{
	/* A ended at 15, B at 30, C (current, by META/generation) runs from
	 * 40 on. Cutoff 35: B holds the state at the window's start, A goes.
	 * Cutoff 45: C has data at or before it, B goes too. */
	uint32_t i0[] = { 0 };
	int64_t ca[] = { 5 }, cb[] = { 20 }, cc[] = { 40 };
	struct restore_generation g[3] = {
		gen(GA, i0, ca, 1, 1, 15),
		gen(GB, i0, cb, 1, 1, 30),
		gen(GC, i0, cc, 1, 1, 50),
	};
	struct retain_input in = { .cutoff = 35, .current = { GC } };
	struct retain_gen_plan p[3];

	retain_plan(g, 3, &in, p);
	ASSERT_INT_EQ(p[0].action, RETAIN_DROP);
	ASSERT_INT_EQ(p[0].nsnapshots, 1);
	ASSERT_INT_EQ(p[0].nsegments, 4);
	ASSERT_INT_EQ(p[1].action, RETAIN_KEEP);
	ASSERT_INT_EQ(p[2].action, RETAIN_KEEP);
	in.cutoff = 45;
	retain_plan(g, 3, &in, p);
	ASSERT_INT_EQ(p[0].action, RETAIN_DROP);
	ASSERT_INT_EQ(p[1].action, RETAIN_DROP);
	ASSERT_INT_EQ(p[2].action, RETAIN_KEEP);
	/* A WAL reaching into the window keeps its generation (Litestream
	 * would drop B for having no snapshot younger than the window). */
	in.cutoff = 25;
	retain_plan(g, 3, &in, p);
	ASSERT_INT_EQ(p[1].action, RETAIN_KEEP);
	/* The current generation is never dropped, even when it is old;
	 * nor the one that ends last. */
	in.cutoff = 1000;
	in.current[0] = GA;
	retain_plan(g, 3, &in, p);
	ASSERT_INT_EQ(p[0].action, RETAIN_KEEP);
	ASSERT_INT_EQ(p[1].action, RETAIN_DROP);
	ASSERT_INT_EQ(p[2].action, RETAIN_KEEP);
	/* The uploader's generation is protected like the walreader's. */
	in.current[0] = NULL;
	in.pos_gen = GB;
	in.pos_index = 0;
	retain_plan(g, 3, &in, p);
	ASSERT_INT_EQ(p[0].action, RETAIN_DROP);
	ASSERT_INT_EQ(p[1].action, RETAIN_KEEP);
	for (int i = 0; i < 3; i++)
		restore_generation_clear(&g[i]);
}

TEST(no_snapshot_and_empty)
{
	/* WAL without a snapshot yet (an uploader starting a generation),
	 * and an empty generation: nothing is deleted. */
	struct restore_generation g[2] = {
		gen(GA, NULL, NULL, 0, 2, 5),
		gen(GB, NULL, NULL, 0, 0, 0),
	};
	struct retain_input in = { .cutoff = 1000, .current = { GA } };
	struct retain_gen_plan p[2];

	free(g[1].segments);
	g[1].segments = NULL;
	g[1].nsegments = 0;
	retain_plan(g, 2, &in, p);
	ASSERT_INT_EQ(p[0].action, RETAIN_KEEP);
	ASSERT_INT_EQ(p[1].action, RETAIN_KEEP);
	for (int i = 0; i < 2; i++)
		restore_generation_clear(&g[i]);
}

TEST(deletion_order)
{
	uint32_t idx[] = { 0, 1, 3 };
	int64_t cr[] = { 1, 2, 3 };
	struct restore_generation g = gen(GA, idx, cr, 3, 3, 4);
	struct replica_obj *o;
	size_t n;

	ASSERT_INT_EQ(retain_trim_objects(&g, 3, &o, &n), 0);
	ASSERT_INT_EQ(n, 8);
	/* Snapshots first, then each index from its highest offset down. */
	ASSERT_INT_EQ(o[0].type, REPLICA_OBJ_SNAPSHOT);
	ASSERT_INT_EQ(o[0].index, 0);
	ASSERT_INT_EQ(o[1].type, REPLICA_OBJ_SNAPSHOT);
	ASSERT_INT_EQ(o[1].index, 1);
	uint32_t want[][2] = { { 0, 4152 }, { 0, 0 }, { 1, 4152 }, { 1, 0 },
		{ 2, 4152 }, { 2, 0 } };
	for (size_t i = 0; i < 6; i++) {
		ASSERT_INT_EQ(o[2 + i].type, REPLICA_OBJ_WAL);
		ASSERT_INT_EQ(o[2 + i].index, want[i][0]);
		ASSERT_INT_EQ(o[2 + i].offset, want[i][1]);
		ASSERT_STR_EQ(o[2 + i].gen, GA);
	}
	free(o);
	ASSERT_INT_EQ(retain_trim_objects(&g, 0, &o, &n), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT(o == NULL);
	restore_generation_clear(&g);
}

int
main(void)
{
	RUN(keeps_the_snapshot_at_the_window_start);
	RUN(uploader_position_caps);
	RUN(generations);
	RUN(no_snapshot_and_empty);
	RUN(deletion_order);
	return TEST_DONE();
}
