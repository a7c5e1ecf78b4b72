/*
 * reload: SIGHUP. The config file is loaded again into a new struct; if it
 * has errors they are logged as config/ prints them (FILE:LINE:COL) and the
 * running config stays. Otherwise the supervisor applies the difference:
 *
 *   - a database or replica that is gone: its child is stopped the way
 *     SIGTERM stops it (the walreader copies what is left to the shadow log,
 *     the uploader uploads what it holds, within its bounds), then dropped;
 *   - a new database or replica: its child starts;
 *   - a child whose settings changed is stopped the same way and started
 *     again, under the new config;
 *   - every other child keeps running: same process, same endpoints.
 *
 * Children are known by database path and replica name. A walreader sends
 * frames to one pipeline per uploader and trims its shadow log below the
 * lowest acknowledgement of the replicas it knows, so it must learn of an
 * added or removed replica: it is restarted when its database's replica
 * names change. Its uploaders whose own settings did not change keep
 * running; they keep their endpoint numbers, which the new walreader binds
 * again (-replica-ids), and they reconnect by themselves.
 *
 * What a child depends on: a walreader on its database's own settings, the
 * names of its replicas and the service user; an uploader on its replica's
 * settings, its database's meta directory (shadow log and positions) and
 * the service user. A child that had FAILED is started again: a reload is
 * what the operator does after fixing a config error. Logging settings
 * apply to the supervisor at once and to each child when it next starts;
 * a change of exec: or addr: waits for a restart of the service.
 */
#define _GNU_SOURCE /* open_memstream */
#include "sv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "log_config.h"

enum verdict {
	KEEP = 0,
	RESTART,
	REMOVE,
};

struct tally {
	unsigned added, removed, restarted, kept;
};

static bool
str_differs(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/* Whether OC and NC have the same databases and replicas, settings and
 * all (what the compactor works from). */
static bool
same_replication(const struct cfg *oc, const struct cfg *nc)
{
	if (oc->ndbs != nc->ndbs || str_differs(oc->user, nc->user))
		return false;
	for (size_t d = 0; d < oc->ndbs; d++) {
		const struct cfg_db *od = &oc->dbs[d];
		const struct cfg_db *nd = cfg_find_db(nc, od->path);
		if (nd == NULL || !cfg_db_settings_equal(od, nd) ||
		    !cfg_replica_names_equal(od, nd))
			return false;
		for (size_t r = 0; r < od->nreplicas; r++)
			if (!cfg_replica_equal(&od->replicas[r],
			    cfg_find_replica(nd, od->replicas[r].name)))
				return false;
	}
	return true;
}

/* What the new config NC means for child C, running under OC. */
static enum verdict
judge(const struct child *c, const struct cfg *oc, const struct cfg *nc)
{
	if (c->role == SV_COMPACTOR)
		return same_replication(oc, nc) ? KEEP : RESTART;
	const struct cfg_db *od = cfg_find_db(oc, c->db_path);
	const struct cfg_db *nd = cfg_find_db(nc, c->db_path);
	bool user = str_differs(oc->user, nc->user);

	if (nd == NULL)
		return REMOVE;
	if (c->role == SV_WALREADER)
		return od == NULL || user || !cfg_db_settings_equal(od, nd) ||
		    !cfg_replica_names_equal(od, nd) ? RESTART : KEEP;
	const struct cfg_replica *nr = cfg_find_replica(nd, c->replica_name);
	if (nr == NULL)
		return REMOVE;
	const struct cfg_replica *or = od != NULL ?
	    cfg_find_replica(od, c->replica_name) : NULL;
	return or == NULL || user || str_differs(od->meta_path,
	    nd->meta_path) || !cfg_replica_equal(or, nr) ? RESTART : KEEP;
}

/* Logs each line the loader wrote, at LEVEL. */
static void
log_lines(enum log_level level, const char *msg, char *text)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l != NULL;
	    l = strtok_r(NULL, "\n", &save))
		log_emit(level, msg, LOG_KVS_(KV_S("detail", l)));
}

/* The new config, or NULL with its errors logged. */
static struct cfg *
load(struct sv *sv)
{
	char *text = NULL;
	size_t len = 0;
	int nerr = 0;
	struct cfg *nc;
	FILE *errs = open_memstream(&text, &len);

	if (errs == NULL) {
		log_error("out of memory; not reloading");
		return NULL;
	}
	nc = cfg_load(sv->config, sv->expand_env, errs, &nerr);
	fclose(errs);
	if (nc == NULL) {
		log_lines(LOG_LEVEL_ERROR, "config error", text);
		log_error("config has errors, not reloading; the running "
		    "config stays", KV_S("config", sv->config),
		    KV_I("errors", nerr));
	} else {
		log_lines(LOG_LEVEL_WARN, "config warning", text);
		/* As at start: the children read their own secrets. */
		cfg_drop_secrets(nc);
	}
	free(text);
	if (nc != NULL && nc->ndbs == 0) {
		log_error("no databases specified in configuration, not "
		    "reloading", KV_S("config", sv->config));
		cfg_free(nc);
		nc = NULL;
	}
	return nc;
}

/* Adds the children NC has and the table lacks; counts them in T. */
static int
add_new(struct sv *sv, const struct cfg *nc, struct tally *t)
{
	for (size_t d = 0; d < nc->ndbs; d++) {
		const struct cfg_db *db = &nc->dbs[d];
		struct child *w = sv_child_find(sv, SV_WALREADER, db->path,
		    NULL);
		if (w == NULL) {
			if (sv_children_add_db(sv, db) < 0)
				return -1;
			t->added += 1 + (unsigned)db->nreplicas;
			continue;
		}
		for (size_t r = 0; r < db->nreplicas; r++) {
			const char *name = db->replicas[r].name;
			if (sv_child_find(sv, SV_UPLOADER, db->path, name))
				continue;
			if (sv_child_add(sv, SV_UPLOADER, db->path, name,
			    w->db_id, sv_child_free_id(sv, db->path)) == NULL)
				return -1;
			t->added++;
		}
		if (sv_child_link(sv, w, db) < 0)
			return -1;
	}
	return 0;
}

/* Undoes add_new(): the children past the first N never ran. */
static void
drop_added(struct sv *sv, size_t n)
{
	while (sv->nchildren > n)
		sv_child_remove(sv, sv->children[sv->nchildren - 1]);
}

/* Stops C for good (REMOVE) or to start it again (RESTART). */
static void
apply(struct sv *sv, struct child *c, enum verdict v)
{
	if (v == REMOVE) {
		c->removing = true;
		c->restart = false;
	} else {
		c->restart = true;
	}
	/* A running child gets SIGTERM and is dealt with when reaped
	 * (supervisor.c child_exited); one without a process is dealt with
	 * now: a pending restart timer is cancelled first. */
	bool running = c->pid > 0;
	sv_child_event(sv, c, CHILD_EV_STOP, 0);
	if (running)
		return;
	if (v == REMOVE) {
		sv_child_remove(sv, c);
		return;
	}
	c->restart = false;
	sv_child_event(sv, c, CHILD_EV_START, 0);
}

void
sv_reload(struct sv *sv)
{
	struct tally t = { 0 };
	struct cfg *nc;
	size_t nold = sv->nchildren;
	enum verdict *verdicts;

	log_info("reloading config", KV_S("config", sv->config));
	if ((nc = load(sv)) == NULL)
		return;
	if ((verdicts = calloc(nold ? nold : 1, sizeof(*verdicts))) == NULL) {
		log_error("out of memory; not reloading");
		cfg_free(nc);
		return;
	}
	/* Judge every child before the table changes; children a previous
	 * reload is removing are left to finish. */
	for (size_t i = 0; i < nold; i++)
		verdicts[i] = sv->children[i]->removing ? KEEP :
		    judge(sv->children[i], sv->cfg, nc);
	if (add_new(sv, nc, &t) < 0 || sv_children_check_endpoints(sv) < 0) {
		log_error("not reloading; the running config stays");
		drop_added(sv, nold);
		/* Links back to the old config's replicas. */
		for (size_t d = 0; d < sv->cfg->ndbs; d++) {
			struct child *w = sv_child_find(sv, SV_WALREADER,
			    sv->cfg->dbs[d].path, NULL);
			if (w != NULL)
				(void)sv_child_link(sv, w, &sv->cfg->dbs[d]);
		}
		free(verdicts);
		cfg_free(nc);
		return;
	}
	if (str_differs(nc->exec, sv->cfg->exec))
		log_warn("exec: changed; it takes effect when walship "
		    "restarts");
	cfg_free(sv->cfg);
	sv->cfg = nc;
	log_config_apply(nc);

	/* New children first (they sit after the old ones), then the
	 * verdicts, from the end: removing a child shifts those after it. */
	for (size_t i = nold; i < sv->nchildren; i++)
		sv_child_event(sv, sv->children[i], CHILD_EV_START, 0);
	for (size_t i = nold; i-- > 0;) {
		struct child *c = sv->children[i];
		enum verdict v = verdicts[i];
		if (c->removing)
			continue;
		if (v == KEEP && c->fsm.state == CHILD_FAILED)
			v = RESTART; /* retried after a fix */
		if (v == REMOVE)
			t.removed++;
		else if (v == RESTART)
			t.restarted++;
		else
			t.kept++;
		if (v != KEEP)
			apply(sv, c, v);
	}
	free(verdicts);
	log_info("config reloaded", KV_U("added", t.added),
	    KV_U("removed", t.removed), KV_U("restarted", t.restarted),
	    KV_U("unchanged", t.kept));
}
