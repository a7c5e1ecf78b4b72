/*
 * parse: the levels of the config (global, logging, dbs[], replicas[],
 * age) as key tables, and the checks that need a whole level: logging
 * values, addr's port, a db's path (absolute, unique), meta-path, and
 * replica names unique within a db.
 *
 * Each table lists the v0.3.13 keys (format doc §5.2), walship's own keys
 * (user, shadow-max-size, snapshot-wal-bytes, sse, sse-kms-key-id,
 * encryption, age.identity-file)
 * and, as CFG_KIND_LATER, the keys later Litestream releases added, which
 * are ignored with a warning so a config written for them still loads.
 * The global level is read first and dbs last, so replicas can inherit the
 * global credentials and dbs the global shadow-max-size and
 * snapshot-wal-bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "log.h"

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))
#define LATER(n) { n, CFG_KIND_LATER, 0, 0 }
#define LATER_SECRET(n) { n, CFG_KIND_LATER_SECRET, 0, 0 }

/* Replica settings of later releases; at the top level they are defaults. */
#define LATER_REPLICA_KEYS \
	LATER("auto-recover"), LATER("sign-payload"), \
	LATER("require-content-md5"), LATER("part-size"), \
	LATER("concurrency"), LATER("sse-customer-algorithm"), \
	LATER_SECRET("sse-customer-key"), LATER("sse-customer-key-path"), \
	LATER_SECRET("sas-token"), LATER("concurrent-writes"), \
	LATER("host-key"), LATER("webdav-url"), LATER("webdav-username"), \
	LATER_SECRET("webdav-password"), LATER_SECRET("jwt"), \
	LATER_SECRET("seed"), LATER("creds"), LATER_SECRET("nkey"), \
	LATER("username"), LATER_SECRET("token"), LATER("tls"), \
	LATER("root-cas"), LATER("client-cert"), LATER("client-key"), \
	LATER("max-reconnects"), LATER("reconnect-wait"), LATER("timeout")

enum { GK_DBS, GK_ADDR, GK_EXEC, GK_ACCESS_KEY_ID, GK_SECRET, GK_LOGGING,
	GK_USER, GK_SHADOW_MAX_SIZE, GK_SNAPSHOT_WAL_BYTES };

static const struct cfg_key global_keys[] = {
	[GK_DBS] = { "dbs", CFG_KIND_NODE, 0, 0 },
	[GK_ADDR] = { "addr", CFG_KIND_STR, offsetof(struct cfg, addr), 0 },
	[GK_EXEC] = { "exec", CFG_KIND_STR, offsetof(struct cfg, exec), 0 },
	[GK_ACCESS_KEY_ID] = { "access-key-id", CFG_KIND_STR,
	    offsetof(struct cfg, access_key_id), 0 },
	[GK_SECRET] = { "secret-access-key", CFG_KIND_SECRET,
	    offsetof(struct cfg, secret_access_key), 0 },
	[GK_LOGGING] = { "logging", CFG_KIND_NODE, 0, 0 },
	[GK_USER] = { "user", CFG_KIND_STR, offsetof(struct cfg, user), 0 },
	[GK_SHADOW_MAX_SIZE] = { "shadow-max-size", CFG_KIND_SIZE,
	    offsetof(struct cfg, shadow_max_size), CFG_POSITIVE },
	[GK_SNAPSHOT_WAL_BYTES] = { "snapshot-wal-bytes", CFG_KIND_SIZE,
	    offsetof(struct cfg, snapshot_wal_bytes), CFG_NONNEG },
	LATER("socket"), LATER("levels"), LATER("snapshot"),
	LATER("validation"), LATER("l0-retention"),
	LATER("l0-retention-check-interval"), LATER("verify-compaction"),
	LATER("heartbeat-url"), LATER("heartbeat-interval"), LATER("mcp-addr"),
	LATER("shutdown-sync-timeout"), LATER("shutdown-sync-interval"),
	LATER("sync-interval"), LATER("validation-interval"), LATER("region"),
	LATER("bucket"), LATER("endpoint"), LATER("force-path-style"),
	LATER("skip-verify"), LATER("sse-kms-key-id"), LATER("account-name"),
	LATER_SECRET("account-key"), LATER("host"), LATER_SECRET("password"),
	LATER("key-path"), LATER("age"),
	LATER_REPLICA_KEYS,
};

enum { LK_LEVEL, LK_TYPE, LK_STDERR };

static const struct cfg_key logging_keys[] = {
	[LK_LEVEL] = { "level", CFG_KIND_STR, offsetof(struct cfg, log_level),
	    0 },
	[LK_TYPE] = { "type", CFG_KIND_STR, offsetof(struct cfg, log_type), 0 },
	[LK_STDERR] = { "stderr", CFG_KIND_BOOL,
	    offsetof(struct cfg, log_stderr), 0 },
};

enum { DK_PATH, DK_META_PATH, DK_REPLICAS };

static const struct cfg_key db_keys[] = {
	[DK_PATH] = { "path", CFG_KIND_STR, offsetof(struct cfg_db, path), 0 },
	[DK_META_PATH] = { "meta-path", CFG_KIND_STR,
	    offsetof(struct cfg_db, meta_path), 0 },
	[DK_REPLICAS] = { "replicas", CFG_KIND_NODE, 0, 0 },
	{ "monitor-interval", CFG_KIND_DUR,
	    offsetof(struct cfg_db, monitor_interval), CFG_NONNEG },
	{ "checkpoint-interval", CFG_KIND_DUR,
	    offsetof(struct cfg_db, checkpoint_interval), CFG_NONNEG },
	{ "min-checkpoint-page-count", CFG_KIND_INT,
	    offsetof(struct cfg_db, min_checkpoint_page_count), CFG_POSITIVE },
	{ "max-checkpoint-page-count", CFG_KIND_INT,
	    offsetof(struct cfg_db, max_checkpoint_page_count), CFG_NONNEG },
	{ "shadow-max-size", CFG_KIND_SIZE,
	    offsetof(struct cfg_db, shadow_max_size), CFG_POSITIVE },
	{ "snapshot-wal-bytes", CFG_KIND_SIZE,
	    offsetof(struct cfg_db, snapshot_wal_bytes), CFG_NONNEG },
	LATER("dir"), LATER("pattern"), LATER("recursive"), LATER("watch"),
	LATER("busy-timeout"), LATER("truncate-page-n"),
	LATER("restore-if-db-not-exists"), LATER("replica"),
};

#define RKEY(e, n, k, f, fl) [e] = { n, k, offsetof(struct cfg_replica, f), fl }

static const struct cfg_key replica_keys[] = {
	[RK_TYPE] = { "type", CFG_KIND_NODE, 0, 0 },
	RKEY(RK_NAME, "name", CFG_KIND_STR, name, 0),
	RKEY(RK_PATH, "path", CFG_KIND_STR, path, 0),
	RKEY(RK_URL, "url", CFG_KIND_STR, url, 0),
	RKEY(RK_RETENTION, "retention", CFG_KIND_DUR, retention, 0),
	RKEY(RK_RETENTION_CHECK, "retention-check-interval", CFG_KIND_DUR,
	    retention_check_interval, CFG_NONNEG),
	RKEY(RK_SYNC, "sync-interval", CFG_KIND_DUR, sync_interval,
	    CFG_NONNEG),
	RKEY(RK_SNAPSHOT, "snapshot-interval", CFG_KIND_DUR,
	    snapshot_interval, CFG_NONNEG),
	RKEY(RK_VALIDATION, "validation-interval", CFG_KIND_DUR,
	    validation_interval, CFG_NONNEG),
	RKEY(RK_ACCESS_KEY_ID, "access-key-id", CFG_KIND_STR, access_key_id, 0),
	RKEY(RK_SECRET, "secret-access-key", CFG_KIND_SECRET,
	    secret_access_key, 0),
	RKEY(RK_REGION, "region", CFG_KIND_STR, region, 0),
	RKEY(RK_BUCKET, "bucket", CFG_KIND_STR, bucket, 0),
	RKEY(RK_ENDPOINT, "endpoint", CFG_KIND_STR, endpoint, 0),
	RKEY(RK_FORCE_PATH_STYLE, "force-path-style", CFG_KIND_BOOL,
	    force_path_style, 0),
	RKEY(RK_SKIP_VERIFY, "skip-verify", CFG_KIND_BOOL, skip_verify, 0),
	RKEY(RK_ACCOUNT_NAME, "account-name", CFG_KIND_STR, account_name, 0),
	RKEY(RK_ACCOUNT_KEY, "account-key", CFG_KIND_SECRET, account_key, 0),
	RKEY(RK_HOST, "host", CFG_KIND_STR, host, 0),
	RKEY(RK_USER, "user", CFG_KIND_STR, user, 0),
	RKEY(RK_PASSWORD, "password", CFG_KIND_SECRET, password, 0),
	RKEY(RK_KEY_PATH, "key-path", CFG_KIND_STR, key_path, 0),
	[RK_AGE] = { "age", CFG_KIND_NODE, 0, 0 },
	[RK_SSE] = { "sse", CFG_KIND_NODE, 0, 0 },
	RKEY(RK_SSE_KMS_KEY_ID, "sse-kms-key-id", CFG_KIND_STR, sse_kms_key_id,
	    0),
	[RK_ENCRYPTION] = { "encryption", CFG_KIND_NODE, 0, 0 },
	LATER_REPLICA_KEYS,
};

static const struct cfg_key age_keys[] = {
	{ "identities", CFG_KIND_SECRETLIST,
	    offsetof(struct cfg_replica, age_identities), 0 },
	{ "recipients", CFG_KIND_STRLIST,
	    offsetof(struct cfg_replica, age_recipients), 0 },
	{ "identity-file", CFG_KIND_STR,
	    offsetof(struct cfg_replica, age_identity_file), 0 },
};

static void
parse_replica(struct cfg_ctx *c, struct cfg_db *db, size_t i, yaml_node_t *n)
{
	struct cfg_replica *r = &db->replicas[i];
	yaml_node_t *seen[NKEYS(replica_keys)] = { 0 };
	yaml_node_t *age_seen[NKEYS(age_keys)] = { 0 };
	char where[CFG_WHERE_MAX], kw[CFG_WHERE_MAX];

	snprintf(where, sizeof(where), "dbs[%zu].replicas[%zu]",
	    (size_t)(db - c->cfg->dbs), i);
	cfg_replica_defaults(r);
	r->mark = (struct cfg_mark){ (int)n->start_mark.line + 1,
		(int)n->start_mark.column + 1 };
	if (!cfg_want_map(c, n, where))
		return;
	cfg_walk_map(c, n, where, replica_keys, NKEYS(replica_keys), r, seen);
	cfg_where_key(kw, sizeof(kw), where, "age");
	if (seen[RK_AGE] != NULL && cfg_want_map(c, seen[RK_AGE], kw))
		cfg_walk_map(c, seen[RK_AGE], kw, age_keys, NKEYS(age_keys), r,
		    age_seen);
	cfg_resolve_replica(c, where, r, n, seen);
	cfg_check_age(c, kw, seen[RK_AGE], age_seen[0], age_seen[1]);
	for (size_t j = 0; j < i; j++) {
		const struct cfg_replica *o = &db->replicas[j];
		if (o->name == NULL || r->name == NULL || *r->name == '\0' ||
		    strcmp(o->name, r->name) != 0)
			continue;
		char q[80];
		cfg_quote(q, sizeof(q), r->name);
		cfg_error(c, seen[RK_NAME] ? seen[RK_NAME] : n, where,
		    "duplicate replica name %s (also replicas[%zu], line %d)",
		    q, j, o->mark.line);
		break;
	}
}

static void
parse_replicas(struct cfg_ctx *c, struct cfg_db *db, yaml_node_t *list,
    const char *where)
{
	char kw[CFG_WHERE_MAX];

	cfg_where_key(kw, sizeof(kw), where, "replicas");
	if (!cfg_want_seq(c, list, kw))
		return;
	size_t n = (size_t)(list->data.sequence.items.top -
	    list->data.sequence.items.start);
	db->replicas = cfg_xcalloc(n ? n : 1, sizeof(*db->replicas));
	for (size_t i = 0; i < n; i++) {
		db->nreplicas = i + 1;
		parse_replica(c, db, i,
		    cfg_node(c, list->data.sequence.items.start[i]));
	}
}

/* The db's path made absolute, and not the path of an earlier db. */
static void
db_path(struct cfg_ctx *c, size_t i, yaml_node_t *n, const char *where,
    yaml_node_t *pn)
{
	struct cfg_db *db = &c->cfg->dbs[i];
	char kw[CFG_WHERE_MAX], q[512];
	char *abs;

	cfg_where_key(kw, sizeof(kw), where, "path");
	if (db->path == NULL && cfg_map_has(c, n, "path"))
		return;		/* there, but not a string: reported */
	if (db->path == NULL || *db->path == '\0') {
		cfg_error(c, pn ? pn : n, pn ? kw : where, "missing path");
		return;
	}
	if ((abs = cfg_abs_path(db->path)) == NULL) {
		cfg_error(c, pn, kw, "cannot make the path absolute: %s",
		    strerror(errno));
		return;
	}
	free(db->path);
	db->path = abs;
	for (size_t j = 0; j < i; j++) {
		const struct cfg_db *o = &c->cfg->dbs[j];
		if (o->path == NULL || strcmp(o->path, db->path) != 0)
			continue;
		cfg_quote(q, sizeof(q), db->path);
		cfg_error(c, pn, kw, "duplicate database path %s (also dbs[%zu], "
		    "line %d)", q, j, o->mark.line);
		break;
	}
}

static void
db_meta_path(struct cfg_ctx *c, struct cfg_db *db, const char *where,
    yaml_node_t *mn)
{
	char kw[CFG_WHERE_MAX];
	char *abs;

	if (db->meta_path != NULL && *db->meta_path != '\0') {
		if ((abs = cfg_abs_path(db->meta_path)) == NULL) {
			cfg_where_key(kw, sizeof(kw), where, "meta-path");
			cfg_error(c, mn, kw, "cannot make the path absolute: %s",
			    strerror(errno));
			return;
		}
		free(db->meta_path);
		db->meta_path = abs;
	} else if (db->path != NULL && db->path[0] == '/') {
		free(db->meta_path);
		db->meta_path = cfg_default_meta_path(db->path);
	}
}

static void
parse_db(struct cfg_ctx *c, size_t i, yaml_node_t *n)
{
	struct cfg_db *db = &c->cfg->dbs[i];
	yaml_node_t *seen[NKEYS(db_keys)] = { 0 };
	char where[CFG_WHERE_MAX];

	snprintf(where, sizeof(where), "dbs[%zu]", i);
	db->mark = (struct cfg_mark){ (int)n->start_mark.line + 1,
		(int)n->start_mark.column + 1 };
	db->monitor_interval = CFG_DEFAULT_MONITOR_INTERVAL;
	db->checkpoint_interval = CFG_DEFAULT_CHECKPOINT_INTERVAL;
	db->min_checkpoint_page_count = CFG_DEFAULT_MIN_CHECKPOINT_PAGES;
	db->max_checkpoint_page_count = CFG_DEFAULT_MAX_CHECKPOINT_PAGES;
	db->shadow_max_size = c->cfg->shadow_max_size;
	db->snapshot_wal_bytes = c->cfg->snapshot_wal_bytes;
	if (cfg_want_map(c, n, where)) {
		cfg_walk_map(c, n, where, db_keys, NKEYS(db_keys), db, seen);
		db_path(c, i, n, where, seen[DK_PATH]);
		db_meta_path(c, db, where, seen[DK_META_PATH]);
		if (seen[DK_REPLICAS] != NULL)
			parse_replicas(c, db, seen[DK_REPLICAS], where);
	}
	if (db->path == NULL)
		db->path = cfg_xstrdup("");
	if (db->meta_path == NULL)
		db->meta_path = cfg_xstrdup("");
}

static void
parse_dbs(struct cfg_ctx *c, yaml_node_t *list)
{
	if (!cfg_want_seq(c, list, "dbs"))
		return;
	size_t n = (size_t)(list->data.sequence.items.top -
	    list->data.sequence.items.start);
	c->cfg->dbs = cfg_xcalloc(n ? n : 1, sizeof(*c->cfg->dbs));
	for (size_t i = 0; i < n; i++) {
		c->cfg->ndbs = i + 1;
		parse_db(c, i, cfg_node(c, list->data.sequence.items.start[i]));
	}
}

/* Go's net.SplitHostPort succeeding with a port: what Litestream needs. */
static bool
has_port(const char *a)
{
	const char *colon = strrchr(a, ':');

	if (a[0] == '[') {
		const char *e = strchr(a, ']');
		return e != NULL && e[1] == ':' && e[2] != '\0' &&
		    colon == e + 1;
	}
	return colon != NULL && colon[1] != '\0' &&
	    memchr(a, ':', (size_t)(colon - a)) == NULL &&
	    strpbrk(a, "[]") == NULL;
}

static void
check_logging(struct cfg_ctx *c, yaml_node_t *const *seen)
{
	struct cfg *cfg = c->cfg;
	enum log_level level;
	char q[80];

	if (cfg->log_level != NULL && *cfg->log_level != '\0' &&
	    log_parse_level(cfg->log_level, &level) < 0) {
		cfg_quote(q, sizeof(q), cfg->log_level);
		cfg_error(c, seen[LK_LEVEL], "logging.level", "unknown level %s "
		    "(want debug, info, warn or error)", q);
	}
	if (cfg->log_type != NULL && *cfg->log_type != '\0' &&
	    strcmp(cfg->log_type, "text") != 0 &&
	    strcmp(cfg->log_type, "json") != 0) {
		cfg_quote(q, sizeof(q), cfg->log_type);
		cfg_error(c, seen[LK_TYPE], "logging.type", "unknown type %s "
		    "(want text or json)", q);
	}
}

static void
global_defaults(struct cfg *cfg)
{
	char **s[] = { &cfg->addr, &cfg->exec, &cfg->access_key_id,
		&cfg->secret_access_key };

	for (size_t i = 0; i < NKEYS(s); i++)
		if (*s[i] == NULL)
			*s[i] = cfg_xstrdup("");
	if (cfg->log_level == NULL || *cfg->log_level == '\0')
		cfg_str_set(&cfg->log_level, "info");
	if (cfg->log_type == NULL || *cfg->log_type == '\0')
		cfg_str_set(&cfg->log_type, "text");
}

static void
parse_global(struct cfg_ctx *c, yaml_node_t *root, yaml_node_t **seen)
{
	yaml_node_t *lseen[NKEYS(logging_keys)] = { 0 };
	struct cfg *cfg = c->cfg;
	char q[300];

	cfg_walk_map(c, root, "", global_keys, NKEYS(global_keys), cfg, seen);
	if (seen[GK_LOGGING] != NULL &&
	    cfg_want_map(c, seen[GK_LOGGING], "logging")) {
		cfg_walk_map(c, seen[GK_LOGGING], "logging", logging_keys,
		    NKEYS(logging_keys), cfg, lseen);
		check_logging(c, lseen);
	}
	if (*cfg->user == '\0')
		cfg_error(c, seen[GK_USER], "user", "must not be empty");
	if (cfg->addr != NULL && *cfg->addr != '\0' && !has_port(cfg->addr)) {
		cfg_quote(q, sizeof(q), cfg->addr);
		cfg_error(c, seen[GK_ADDR], "addr", "must specify port for bind "
		    "address: %s", q);
	}
	global_defaults(cfg);
}

void
cfg_parse_root(struct cfg_ctx *c, yaml_node_t *root)
{
	yaml_node_t *seen[NKEYS(global_keys)] = { 0 };

	if (root == NULL || cfg_node_is_null(root)) {
		global_defaults(c->cfg);
		return;
	}
	if (!cfg_want_map(c, root, "")) {
		global_defaults(c->cfg);
		return;
	}
	parse_global(c, root, seen);
	if (seen[GK_DBS] != NULL)
		parse_dbs(c, seen[GK_DBS]);
}
