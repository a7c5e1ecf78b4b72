/*
 * resolve: a replica's effective settings once its keys are read, following
 * Litestream v0.3.13's NewReplicaFromConfig and walship's stricter checks.
 *
 * Order: the type (url scheme, else type:, else file; a url scheme and a
 * type: that disagree is an error here, where Litestream lets the scheme
 * win), the name (default: the type), conflicts between url and the keys it
 * replaces, the URL's parts for what the keys left empty, then the type's
 * own rules (cfg_replica_finish): required settings, absolute paths,
 * endpoint scheme, region, credentials. Force-path-style is true when an
 * endpoint: key is set, unless the key says otherwise, and the URL's
 * provider match can only turn it on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "config.h"

static bool
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

void
cfg_replica_defaults(struct cfg_replica *r)
{
	r->retention = CFG_DEFAULT_RETENTION;
	r->retention_check_interval = CFG_DEFAULT_RETENTION_CHECK_INTERVAL;
	r->sync_interval = CFG_DEFAULT_SYNC_INTERVAL;
	r->snapshot_interval = 0;
	r->validation_interval = 0;
}

/* $A, else (only when A is unset) $B; "" counts as unset for the SDK. */
static const char *
env_key(const char *aws, const char *litestream, const char *alias)
{
	const char *v = getenv(aws);

	if (v == NULL)
		v = getenv(litestream);
	if (empty(v))
		v = getenv(alias);
	return empty(v) ? NULL : v;
}

void
cfg_replica_env_creds(struct cfg_replica *r)
{
	if (!empty(r->access_key_id) || !empty(r->secret_access_key)) {
		r->cred_source = CFG_CRED_CONFIG;
		return;
	}
	const char *id = env_key("AWS_ACCESS_KEY_ID",
	    "LITESTREAM_ACCESS_KEY_ID", "AWS_ACCESS_KEY");
	const char *secret = env_key("AWS_SECRET_ACCESS_KEY",
	    "LITESTREAM_SECRET_ACCESS_KEY", "AWS_SECRET_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	r->cred_source = CFG_CRED_NONE;
	if (id == NULL || secret == NULL)
		return;
	cfg_str_set(&r->access_key_id, id);
	cfg_str_set(&r->secret_access_key, secret);
	if (!empty(token))
		cfg_str_set(&r->session_token, token);
	r->cred_source = CFG_CRED_ENV;
}

/* Makes *P absolute (errno on failure); NULL and "" stay. */
static bool
make_abs(char **p)
{
	char *a;

	if (empty(*p))
		return true;
	if ((a = cfg_abs_path(*p)) == NULL)
		return false;
	free(*p);
	*p = a;
	return true;
}

static void
no_nulls(struct cfg_replica *r)
{
	char **s[] = { &r->name, &r->url, &r->path, &r->access_key_id,
		&r->secret_access_key, &r->session_token, &r->region,
		&r->bucket, &r->endpoint, &r->sse_kms_key_id,
		&r->account_name, &r->account_key, &r->host, &r->user,
		&r->password, &r->key_path, &r->age_identity_file };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (*s[i] == NULL)
			*s[i] = cfg_xstrdup("");
}

static const char *
finish_s3(struct cfg_replica *r, const struct cfg *global)
{
	if (global != NULL) {
		if (empty(r->access_key_id))
			cfg_str_set(&r->access_key_id, global->access_key_id);
		if (empty(r->secret_access_key))
			cfg_str_set(&r->secret_access_key,
			    global->secret_access_key);
	}
	cfg_replica_env_creds(r);
	cfg_endpoint_normalize(&r->endpoint);
	if (empty(r->region) && !empty(r->endpoint))
		cfg_str_set(&r->region, "us-east-1");
	return empty(r->bucket) ? "bucket required for s3 replica" : NULL;
}

const char *
cfg_replica_finish(struct cfg_replica *r, const struct cfg *global)
{
	const char *missing = NULL;

	if (empty(r->name))
		cfg_str_set(&r->name, cfg_replica_type_name(r->type));
	switch (r->type) {
	case CFG_REPLICA_FILE:
		if (empty(r->path))
			missing = "file replica path required";
		else if (!make_abs(&r->path))
			missing = "cannot make the replica path absolute";
		break;
	case CFG_REPLICA_S3:
		missing = finish_s3(r, global);
		break;
	case CFG_REPLICA_GCS:
	case CFG_REPLICA_ABS:
		if (empty(r->bucket))
			missing = r->type == CFG_REPLICA_GCS ?
			    "bucket required for gcs replica" :
			    "bucket required for abs replica";
		break;
	case CFG_REPLICA_SFTP:
		if (empty(r->host))
			missing = "host required for sftp replica";
		else if (empty(r->user))
			missing = "user required for sftp replica";
		if (!make_abs(&r->key_path) && missing == NULL)
			missing = "cannot make key-path absolute";
		break;
	}
	if (!make_abs(&r->age_identity_file) && missing == NULL)
		missing = "cannot make age.identity-file absolute";
	no_nulls(r);
	return missing;
}

/* --- from the config file ------------------------------------------------ */

struct rctx {
	struct cfg_ctx *c;
	const char *where;
	struct cfg_replica *r;
	yaml_node_t *const *seen;
	struct cfg_url u;
	bool have_url;
	char kw[CFG_WHERE_MAX];
};

/* "WHERE.NAME" for messages about one key. */
static const char *
at(struct rctx *x, const char *name)
{
	cfg_where_key(x->kw, sizeof(x->kw), x->where, name);
	return x->kw;
}

/* The string value of a CFG_KIND_NODE key, or NULL (unset or an error). */
static const char *
node_str(struct rctx *x, int key, const char *name)
{
	yaml_node_t *n = x->seen[key];

	if (n == NULL)
		return NULL;
	if (n->type != YAML_SCALAR_NODE) {
		cfg_error(x->c, n, at(x, name), "expected a string, got %s",
		    cfg_node_what(n));
		return NULL;
	}
	return cfg_scalar(n);
}

static bool
url_type(struct rctx *x, enum cfg_replica_type *t)
{
	char err[256], q[80];

	if (cfg_url_parse(x->r->url, &x->u, err, sizeof(err)) < 0) {
		cfg_error(x->c, x->seen[RK_URL], at(x, "url"), "%s", err);
		return false;
	}
	x->have_url = true;
	if (*x->u.scheme == '\0') {
		cfg_error(x->c, x->seen[RK_URL], at(x, "url"),
		    "replica url scheme required");
		return false;
	}
	if (cfg_replica_type_parse(x->u.scheme, t) < 0) {
		cfg_quote(q, sizeof(q), x->u.scheme);
		cfg_error(x->c, x->seen[RK_URL], at(x, "url"), "unknown replica "
		    "type %s (want file, s3, gcs, abs or sftp)", q);
		return false;
	}
	if (x->u.has_query)
		cfg_warn(x->c, x->seen[RK_URL], at(x, "url"), "ignored: URL "
		    "query parameters (added after Litestream v0.3.13)");
	return true;
}

/* The URL's scheme, else type:, else file. */
static bool
resolve_type(struct rctx *x)
{
	enum cfg_replica_type ut = CFG_REPLICA_FILE, tt;
	const char *ts = node_str(x, RK_TYPE, "type");
	char q[80], q2[80];

	if (!empty(x->r->url) && !url_type(x, &ut))
		return false;
	if (x->seen[RK_TYPE] != NULL && ts == NULL)
		return false;	/* not a string: reported */
	if (!empty(ts)) {
		cfg_quote(q, sizeof(q), ts);
		if (cfg_replica_type_parse(ts, &tt) < 0) {
			cfg_error(x->c, x->seen[RK_TYPE], at(x, "type"),
			    "unknown replica type %s (want file, s3, gcs, abs "
			    "or sftp)", q);
			return false;
		}
		if (x->have_url && tt != ut) {
			cfg_quote(q2, sizeof(q2), x->u.scheme);
			cfg_error(x->c, x->seen[RK_TYPE], at(x, "type"),
			    "type %s contradicts the url's scheme %s", q, q2);
		}
		if (!x->have_url)
			ut = tt;
	}
	x->r->type = ut;
	return true;
}

static void
check_conflicts(struct rctx *x)
{
	struct cfg_replica *r = x->r;
	const char *tn = cfg_replica_type_name(r->type);

	if (!empty(r->path) && cfg_looks_like_url(r->path))
		cfg_error(x->c, x->seen[RK_PATH], at(x, "path"), "replica path "
		    "cannot be a url, please use the 'url' field instead");
	if (!x->have_url)
		return;
	if (!empty(r->path))
		cfg_error(x->c, x->seen[RK_PATH], at(x, "path"), "cannot "
		    "specify url & path for %s replica", tn);
	if (!empty(r->bucket) && (r->type == CFG_REPLICA_S3 ||
	    r->type == CFG_REPLICA_GCS || r->type == CFG_REPLICA_ABS))
		cfg_error(x->c, x->seen[RK_BUCKET], at(x, "bucket"), "cannot "
		    "specify url & bucket for %s replica", tn);
	if (!empty(r->host) && r->type == CFG_REPLICA_SFTP)
		cfg_error(x->c, x->seen[RK_HOST], at(x, "host"), "cannot "
		    "specify url & host for sftp replica");
}

static void
apply_url(struct rctx *x)
{
	struct cfg_replica *r = x->r;
	bool fps = x->seen[RK_FORCE_PATH_STYLE] != NULL ?
	    r->force_path_style : !empty(r->endpoint);
	bool ufps;

	if (x->have_url) {
		cfg_url_apply(r, &x->u, &ufps);
		if (!fps)
			fps = ufps;
		if (!empty(x->u.password) && cfg_node_literal_sub(x->c,
		    x->seen[RK_URL], x->u.pw_off, x->u.pw_len))
			x->c->cfg->has_secrets = true;
	}
	if (r->type == CFG_REPLICA_S3)
		r->force_path_style = fps;
}

static void
resolve_sse(struct rctx *x)
{
	static const int keys[] = { RK_SSE, RK_SSE_KMS_KEY_ID, RK_ENCRYPTION };
	static const char *const names[] = { "sse", "sse-kms-key-id",
		"encryption" };
	struct cfg_replica *r = x->r;
	char q[80];

	if (r->type != CFG_REPLICA_S3) {
		for (size_t i = 0; i < 3; i++)
			if (x->seen[keys[i]] != NULL)
				cfg_warn(x->c, x->seen[keys[i]], at(x, names[i]),
				    "ignored: this is S3 server-side "
				    "encryption and only s3 replicas use it; "
				    "for client-side encryption use age:");
		return;
	}
	const char *s = node_str(x, RK_SSE, "sse");
	const char *e = node_str(x, RK_ENCRYPTION, "encryption");
	if (s != NULL && strcmp(s, "AES256") == 0) {
		r->sse = CFG_SSE_AES256;
	} else if (s != NULL && strcmp(s, "aws:kms") == 0) {
		r->sse = CFG_SSE_KMS;
	} else if (s != NULL) {
		cfg_quote(q, sizeof(q), s);
		cfg_error(x->c, x->seen[RK_SSE], at(x, "sse"), "unknown value "
		    "%s (want AES256 or aws:kms)", q);
	}
	if (e != NULL && (strcmp(e, "aes256") == 0 || strcmp(e, "AES256") == 0)) {
		if (r->sse == CFG_SSE_KMS)
			cfg_error(x->c, x->seen[RK_ENCRYPTION],
			    at(x, "encryption"), "aes256 contradicts sse: "
			    "aws:kms");
		else {
			r->sse = CFG_SSE_AES256;
			/* Guides tell operators to write this; Litestream
			 * v0.3.13 ignores it. Say what it does here, and
			 * what it does not. */
			cfg_warn(x->c, x->seen[RK_ENCRYPTION],
			    at(x, "encryption"), "read as sse: AES256: this "
			    "is S3 server-side encryption (the store encrypts "
			    "at rest and can still read the objects); for "
			    "client-side encryption use age:");
		}
	} else if (e != NULL) {
		cfg_quote(q, sizeof(q), e);
		cfg_error(x->c, x->seen[RK_ENCRYPTION], at(x, "encryption"),
		    "unknown value %s (want aes256)", q);
	}
	if (!empty(r->sse_kms_key_id)) {
		if (r->sse == CFG_SSE_AES256)
			cfg_error(x->c, x->seen[RK_SSE_KMS_KEY_ID],
			    at(x, "sse-kms-key-id"), "needs sse: aws:kms, "
			    "not AES256");
		else
			r->sse = CFG_SSE_KMS;
	}
}

void
cfg_resolve_replica(struct cfg_ctx *c, const char *where,
    struct cfg_replica *r, yaml_node_t *self, yaml_node_t *const *seen)
{
	struct rctx x = { .c = c, .where = where, .r = r, .seen = seen };
	const char *missing;

	if (resolve_type(&x)) {
		check_conflicts(&x);
		apply_url(&x);
		if ((missing = cfg_replica_finish(r, c->cfg)) != NULL)
			cfg_error(c, self, where, "%s", missing);
		resolve_sse(&x);
	}
	no_nulls(r);
	cfg_url_clear(&x.u);
}
