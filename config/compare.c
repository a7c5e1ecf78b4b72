/*
 * compare: whether two loaded configs give a database or a replica the same
 * settings, for the supervisor's reload (a child whose settings did not
 * change keeps running). Field by field over the effective values, so a
 * default written out or a url: spelled as keys compares equal; where a
 * value was in the file (marks) does not count.
 */
#include <string.h>

#include "config.h"

static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static bool
list_eq(const struct cfg_strlist *a, const struct cfg_strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!str_eq(a->v[i], b->v[i]))
			return false;
	}
	return true;
}

bool
cfg_replica_equal(const struct cfg_replica *a, const struct cfg_replica *b)
{
	unsigned char da[32], db[32];

	/* Secrets by digest: the supervisor has dropped its own. */
	cfg_replica_secrets_digest(a, da);
	cfg_replica_secrets_digest(b, db);
	/* url: is left out: what it says is in the fields it set. */
	return memcmp(da, db, sizeof(da)) == 0 &&
	    str_eq(a->name, b->name) && a->type == b->type &&
	    str_eq(a->path, b->path) &&
	    a->retention == b->retention &&
	    a->retention_check_interval == b->retention_check_interval &&
	    a->sync_interval == b->sync_interval &&
	    a->snapshot_interval == b->snapshot_interval &&
	    a->validation_interval == b->validation_interval &&
	    str_eq(a->access_key_id, b->access_key_id) &&
	    a->cred_source == b->cred_source &&
	    str_eq(a->region, b->region) && str_eq(a->bucket, b->bucket) &&
	    str_eq(a->endpoint, b->endpoint) &&
	    a->force_path_style == b->force_path_style &&
	    a->skip_verify == b->skip_verify && a->sse == b->sse &&
	    str_eq(a->sse_kms_key_id, b->sse_kms_key_id) &&
	    str_eq(a->account_name, b->account_name) &&
	    str_eq(a->host, b->host) && str_eq(a->user, b->user) &&
	    str_eq(a->key_path, b->key_path) &&
	    list_eq(&a->age_recipients, &b->age_recipients) &&
	    str_eq(a->age_identity_file, b->age_identity_file);
}

bool
cfg_db_settings_equal(const struct cfg_db *a, const struct cfg_db *b)
{
	return str_eq(a->path, b->path) && str_eq(a->meta_path, b->meta_path) &&
	    a->monitor_interval == b->monitor_interval &&
	    a->checkpoint_interval == b->checkpoint_interval &&
	    a->min_checkpoint_page_count == b->min_checkpoint_page_count &&
	    a->max_checkpoint_page_count == b->max_checkpoint_page_count &&
	    a->shadow_max_size == b->shadow_max_size &&
	    a->snapshot_wal_bytes == b->snapshot_wal_bytes;
}

bool
cfg_replica_names_equal(const struct cfg_db *a, const struct cfg_db *b)
{
	if (a->nreplicas != b->nreplicas)
		return false;
	for (size_t i = 0; i < a->nreplicas; i++) {
		if (!str_eq(a->replicas[i].name, b->replicas[i].name))
			return false;
	}
	return true;
}

const struct cfg_replica *
cfg_find_replica(const struct cfg_db *db, const char *name)
{
	for (size_t i = 0; i < db->nreplicas; i++) {
		if (str_eq(db->replicas[i].name, name))
			return &db->replicas[i];
	}
	return NULL;
}
