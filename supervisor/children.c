/*
 * children: the supervisor's table of children.
 *
 * Each struct child is allocated on its own, so that the pointers its
 * restart timer and the status endpoint hold stay valid while a reload adds
 * and removes others; the table is an array of those pointers. A child owns
 * copies of its database path and replica name: a child being stopped by a
 * reload outlives the config it came from.
 *
 * Endpoint numbers (db_id, replica_id) are given once, the lowest number
 * free at that time, and never change while the child exists: a database
 * keeps its endpoints across a reload that removes another, and the
 * walreader learns which endpoint serves which of its replicas from
 * -replica-ids.
 */
#include "sv.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "endpoints.h"
#include "log.h"

static void
on_restart_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	sv_child_event(c->sv, c, CHILD_EV_TIMER, 0);
}

static void
child_free(struct child *c)
{
	if (c == NULL)
		return;
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->db_path);
	free(c->replica_name);
	free(c->replica_ids);
	free(c);
}

struct child *
sv_child_add(struct sv *sv, enum sv_role role, const char *db_path,
    const char *replica_name, uint32_t db_id, uint32_t replica_id)
{
	struct child **tab, *c;

	tab = realloc(sv->children, (sv->nchildren + 1) * sizeof(*tab));
	if (tab == NULL)
		return NULL;
	sv->children = tab;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->role = role;
	c->db_id = db_id;
	c->replica_id = replica_id;
	c->sv = sv;
	c->db_path = strdup(db_path != NULL ? db_path : "");
	if (replica_name != NULL)
		c->replica_name = strdup(replica_name);
	if (sv->base != NULL)
		c->timer = evtimer_new(sv->base, on_restart_timer, c);
	if (c->db_path == NULL || (replica_name != NULL &&
	    c->replica_name == NULL) || (sv->base != NULL && c->timer == NULL)) {
		child_free(c);
		return NULL;
	}
	sv->seed = sv->seed * 1664525u + 1013904223u;
	child_fsm_init(&c->fsm, sv->seed);
	sv_child_argv(c, sv->config, sv->expand_env, sv->rundir);
	sv->children[sv->nchildren++] = c;
	return c;
}

void
sv_child_remove(struct sv *sv, struct child *c)
{
	for (size_t i = 0; i < sv->nchildren; i++) {
		if (sv->children[i] != c)
			continue;
		memmove(&sv->children[i], &sv->children[i + 1],
		    (sv->nchildren - i - 1) * sizeof(*sv->children));
		sv->nchildren--;
		break;
	}
	child_free(c);
}

static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

struct child *
sv_child_find(struct sv *sv, enum sv_role role, const char *db_path,
    const char *replica_name)
{
	for (size_t i = 0; i < sv->nchildren; i++) {
		struct child *c = sv->children[i];
		if (c->role == role && !c->removing &&
		    strcmp(c->db_path, db_path) == 0 &&
		    same(c->replica_name, role == SV_UPLOADER ? replica_name :
		    NULL))
			return c;
	}
	return NULL;
}

/* Whether endpoint number ID is taken: by a database (DB_PATH NULL) or by
 * a replica of DB_PATH. */
static bool
id_used(struct sv *sv, const char *db_path, uint32_t id)
{
	for (size_t i = 0; i < sv->nchildren; i++) {
		const struct child *c = sv->children[i];
		if (db_path == NULL && c->role != SV_COMPACTOR &&
		    c->db_id == id)
			return true;
		if (db_path != NULL && c->role == SV_UPLOADER &&
		    strcmp(c->db_path, db_path) == 0 && c->replica_id == id)
			return true;
	}
	return false;
}

uint32_t
sv_child_free_id(struct sv *sv, const char *db_path)
{
	uint32_t id = 0;

	while (id_used(sv, db_path, id))
		id++;
	return id;
}

int
sv_child_link(struct sv *sv, struct child *w, const struct cfg_db *db)
{
	size_t cap = db->nreplicas * 11 + 1, off = 0;
	char *ids = NULL;

	if (db->nreplicas > 0 && (ids = malloc(cap)) == NULL)
		return -1;
	for (size_t r = 0; r < db->nreplicas; r++) {
		struct child *u = sv_child_find(sv, SV_UPLOADER, w->db_path,
		    db->replicas[r].name);
		if (u == NULL) {
			free(ids);
			return -1;
		}
		off += (size_t)snprintf(ids + off, cap - off, "%s%u",
		    r > 0 ? "," : "", (unsigned)u->replica_id);
	}
	free(w->replica_ids);
	w->replica_ids = ids;
	sv_child_argv(w, sv->config, sv->expand_env, sv->rundir);
	return 0;
}

int
sv_children_add_db(struct sv *sv, const struct cfg_db *db)
{
	struct child *w;
	uint32_t id = sv_child_free_id(sv, NULL);

	if ((w = sv_child_add(sv, SV_WALREADER, db->path, NULL, id, 0)) ==
	    NULL)
		goto oom;
	for (size_t r = 0; r < db->nreplicas; r++) {
		if (sv_child_add(sv, SV_UPLOADER, db->path,
		    db->replicas[r].name, id,
		    sv_child_free_id(sv, db->path)) == NULL)
			goto oom;
	}
	if (sv_child_link(sv, w, db) < 0)
		goto oom;
	return 0;
oom:
	log_error("out of memory");
	return -1;
}

int
sv_children_check_endpoints(struct sv *sv)
{
	uint32_t maxd = 0, maxr = 0;
	char err[256];

	for (size_t i = 0; i < sv->nchildren; i++) {
		const struct child *c = sv->children[i];
		if (c->role != SV_COMPACTOR && c->db_id + 1 > maxd)
			maxd = c->db_id + 1;
		if (c->role == SV_UPLOADER && c->replica_id + 1 > maxr)
			maxr = c->replica_id + 1;
	}
	if (endpoints_check(sv->rundir, maxd, maxr, err, sizeof(err)) < 0) {
		log_error("runtime directory unusable for ipc sockets",
		    KV_S("path", sv->rundir), KV_ERRS(err));
		return -1;
	}
	return 0;
}
