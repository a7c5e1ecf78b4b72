/*
 * s3_keys: the S3 replica client's keys and the conversion of listing
 * entries into replica objects (see s3_replica.h). Pure functions.
 */
#include "s3_replica.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"

/* snprintf that fails with ENAMETOOLONG (and leaves "") when cut short. */
static int
fit(char *buf, size_t len, int n)
{
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
s3r_object_key(const struct replica_obj *o, char *buf, size_t len)
{
	switch (o->type) {
	case REPLICA_OBJ_SNAPSHOT:
		return layout_snapshot_path(buf, len, "", o->gen, o->index);
	case REPLICA_OBJ_WAL:
		return layout_wal_path(buf, len, "", o->gen, o->index,
		    o->offset);
	}
	errno = EINVAL;
	return -1;
}

int
s3r_generations_prefix(char *buf, size_t len)
{
	char d[32];

	if (layout_generations_dir(d, sizeof(d), "") < 0)
		return -1;
	return fit(buf, len, snprintf(buf, len, "%s/", d));
}

/* DIR(root "", GEN) followed by '/'. */
static int
dir_prefix(int (*dir)(char *, size_t, const char *, const char *),
    const char *gen, char *buf, size_t len)
{
	if (len < 2)
		return fit(buf, len, -1);
	if (dir(buf, len - 1, "", gen) < 0) {
		buf[0] = '\0';
		return -1;
	}
	strcat(buf, "/");
	return 0;
}

int
s3r_generation_prefix(const char *gen, char *buf, size_t len)
{
	return dir_prefix(layout_generation_dir, gen, buf, len);
}

int
s3r_snapshots_prefix(const char *gen, char *buf, size_t len)
{
	return dir_prefix(layout_snapshots_dir, gen, buf, len);
}

int
s3r_wal_prefix(const char *gen, char *buf, size_t len)
{
	return dir_prefix(layout_wal_dir, gen, buf, len);
}

int
s3r_display_key(const char *bucket, const char *prefix, const char *rel,
    char *buf, size_t len)
{
	char p[S3R_KEY_MAX];

	if (layout_clean_prefix(prefix != NULL ? prefix : "", p,
	    sizeof(p)) < 0)
		return fit(buf, len, -1);
	while (*rel == '/')
		rel++;
	return fit(buf, len, snprintf(buf, len, "s3://%s/%s%s%s", bucket, p,
	    *p != '\0' && *rel != '\0' ? "/" : "", rel));
}

/* The name of E below LP, or NULL when E is not directly below it. */
static const char *
name_below(const char *lp, const struct s3_list_entry *e)
{
	size_t n = strlen(lp);

	if (e->key == NULL || strncmp(e->key, lp, n) != 0)
		return NULL;
	return e->key + n;
}

int
s3r_entry_generation(const char *lp, const struct s3_list_entry *e,
    struct replica_generation *out)
{
	const char *name = name_below(lp, e);

	if (name == NULL || !e->is_prefix || strlen(name) !=
	    LAYOUT_GEN_LEN + 1 || name[LAYOUT_GEN_LEN] != '/')
		return 0;
	memcpy(out->name, name, LAYOUT_GEN_LEN);
	out->name[LAYOUT_GEN_LEN] = '\0';
	return layout_is_generation(out->name) ? 1 : 0;
}

int
s3r_entry_snapshot(const char *lp, const struct s3_list_entry *e,
    struct replica_snapshot *out)
{
	const char *name = name_below(lp, e);
	uint32_t index;

	if (name == NULL || e->is_prefix || e->size < 0 ||
	    layout_parse_snapshot(name, &index) < 0)
		return 0;
	out->index = index;
	out->size = e->size;
	out->created = e->last_modified;
	return 1;
}

int
s3r_entry_wal(const char *lp, const struct s3_list_entry *e,
    struct replica_wal_segment *out)
{
	const char *name = name_below(lp, e);
	uint32_t index, offset;

	if (name == NULL || e->is_prefix || e->size < 0 ||
	    layout_parse_wal(name, &index, &offset) < 0)
		return 0;
	out->index = index;
	out->offset = offset;
	out->size = e->size;
	out->created = e->last_modified;
	return 1;
}
