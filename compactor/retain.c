/*
 * retain: one retention pass over one replica (the rule is in
 * retain_plan.h).
 *
 * Requests per pass: one listing of the generations and one of snapshots
 * and one of WAL segments per generation (each under its own prefix,
 * never the whole bucket); then, only where something goes, one more
 * listing of the generation's snapshots and DeleteObjects batches of up to
 * 1000 keys.
 *
 * Racing the uploader: the local records (META/generation and the
 * uploader's position file) are read after the listing, so a generation
 * that became current meanwhile is protected; before deleting below a
 * snapshot, the snapshots are listed again and the one kept must still be
 * there; before deleting a generation, the records are read and the
 * generation listed again, and it must still be old and not current.
 * Racing a restore: a restore that already chose a snapshot this pass
 * deletes fails naming the missing object (restore checks every segment
 * it applies); it never restores wrong data.
 */
#include "cmp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "restore.h"
#include "retain_plan.h"

/* The local records: the walreader's generation, the uploader's position. */
static void
read_records(struct cmp_replica *r, char gen[POSITION_GEN_SIZE],
    struct position *pos, bool *have_pos)
{
	position_read_generation(r->db->meta_path, gen);
	*have_pos = position_load(r->pos_path, pos) == 0;
	if (!*have_pos)
		memset(pos, 0, sizeof(*pos));
}

static void
input_of(struct retain_input *in, int64_t cutoff, const char *gen,
    const struct position *pos, bool have_pos)
{
	memset(in, 0, sizeof(*in));
	in->cutoff = cutoff;
	in->current[0] = gen;
	in->pos_gen = have_pos ? pos->gen : NULL;
	in->pos_index = pos->index;
}

static int
drop_generation(struct cmp_replica *r, const struct restore_generation *old,
    int64_t cutoff, struct cmp_stats *st)
{
	struct restore_generation g = { 0 };
	char gen[POSITION_GEN_SIZE], err[1024];
	struct position pos;
	bool have_pos;

	read_records(r, gen, &pos, &have_pos);
	if (strcmp(gen, old->name) == 0 || (have_pos &&
	    strcmp(pos.gen, old->name) == 0)) {
		log_info("retention: generation became current, kept",
		    KV_S("replica", r->rep->name), KV_S("generation", old->name));
		return 0;
	}
	if (restore_list_generation(r->client, old->name, &g, err,
	    sizeof(err)) < 0) {
		log_warn("retention: cannot list generation",
		    KV_S("replica", r->rep->name), KV_S("generation", old->name),
		    KV_ERRS(err));
		return -1;
	}
	bool still_old = g.end < cutoff;
	restore_generation_clear(&g);
	if (!still_old) {
		log_info("retention: generation written to meanwhile, kept",
		    KV_S("replica", r->rep->name), KV_S("generation", old->name));
		return 0;
	}
	if (replica_remove_generation(r->client, old->name, err,
	    sizeof(err)) < 0) {
		log_warn("retention: cannot delete generation",
		    KV_S("replica", r->rep->name), KV_S("generation", old->name),
		    KV_ERRS(err));
		return -1;
	}
	st->generations_deleted++;
	st->objects_deleted += old->nsnapshots + old->nsegments;
	log_info("retention: generation deleted", KV_S("replica", r->rep->name),
	    KV_S("generation", old->name), KV_U("snapshots", old->nsnapshots),
	    KV_U("wal_segments", old->nsegments));
	return 0;
}

/* Whether G still holds a snapshot at INDEX, listed now. */
static int
snapshot_still_there(struct cmp_replica *r, const char *gen, uint32_t index,
    bool *there)
{
	struct replica_snapshot *s = NULL;
	size_t n = 0;
	char err[1024];

	*there = false;
	if (replica_list_snapshots(r->client, gen, &s, &n, err,
	    sizeof(err)) < 0) {
		log_warn("retention: cannot list snapshots",
		    KV_S("replica", r->rep->name), KV_S("generation", gen),
		    KV_ERRS(err));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		*there = *there || s[i].index == index;
	free(s);
	return 0;
}

static int
trim_generation(struct cmp_replica *r, const struct restore_generation *g,
    const struct retain_gen_plan *p, struct cmp_stats *st)
{
	struct replica_obj *objs = NULL;
	size_t n = 0;
	char err[1024];
	bool there;

	if (snapshot_still_there(r, g->name, p->keep_from, &there) < 0)
		return -1;
	if (!there) {
		log_warn("retention: the snapshot to keep is gone, nothing "
		    "deleted in its generation", KV_S("replica", r->rep->name),
		    KV_S("generation", g->name), KV_U("index", p->keep_from));
		return 0;
	}
	if (retain_trim_objects(g, p->keep_from, &objs, &n) < 0)
		fatalx("out of memory");
	log_info("retention: deleting", KV_S("replica", r->rep->name),
	    KV_S("generation", g->name), KV_U("below_index", p->keep_from),
	    KV_U("snapshots", p->nsnapshots),
	    KV_U("wal_segments", p->nsegments));
	int rc = replica_remove_many(r->client, objs, n, err, sizeof(err));
	free(objs);
	if (rc < 0) {
		log_warn("retention: delete failed",
		    KV_S("replica", r->rep->name), KV_S("generation", g->name),
		    KV_ERRS(err));
		return -1;
	}
	st->objects_deleted += n;
	return 0;
}

int
cmp_retain(struct cmp_replica *r, int64_t now, struct cmp_stats *st)
{
	struct restore_generation *g = NULL;
	struct retain_gen_plan *plans = NULL;
	char gen[POSITION_GEN_SIZE], err[1024];
	struct retain_input in;
	struct position pos;
	uint64_t before = st->objects_deleted;
	bool have_pos;
	size_t n = 0;
	int rc = 0;

	st->passes++;
	log_debug("retention: pass", KV_S("replica", r->rep->name));
	if (restore_list_generations(r->client, &g, &n, err,
	    sizeof(err)) < 0) {
		log_warn("retention: cannot list replica",
		    KV_S("replica", r->rep->name), KV_ERRS(err));
		st->pass_errors++;
		return -1;
	}
	read_records(r, gen, &pos, &have_pos);
	int64_t cutoff = now - r->rep->retention;
	input_of(&in, cutoff, gen, &pos, have_pos);
	if (n > 0 && (plans = calloc(n, sizeof(*plans))) == NULL)
		fatalx("out of memory");
	retain_plan(g, n, &in, plans);
	for (size_t i = 0; i < n; i++) {
		if (plans[i].action == RETAIN_DROP &&
		    drop_generation(r, &g[i], cutoff, st) < 0)
			rc = -1;
		if (plans[i].action == RETAIN_TRIM &&
		    trim_generation(r, &g[i], &plans[i], st) < 0)
			rc = -1;
	}
	free(plans);
	restore_generations_free(g, n);
	if (rc < 0)
		st->pass_errors++;
	if (st->objects_deleted > before)
		log_info("retention: pass done", KV_S("replica", r->rep->name),
		    KV_U("deleted", st->objects_deleted - before));
	return rc;
}
