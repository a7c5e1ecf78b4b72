/*
 * cfg_int: what the files of config/ share and nothing outside uses.
 *
 * A load keeps one struct cfg_ctx: the (expanded) text, the libyaml document,
 * where errors go and how many there were. Every message names a place in
 * the file ("FILE:LINE:COL: dbs[0].replicas[1].bucket: ...") with the
 * node's 1-based mark; "where" strings are the dotted path of the value.
 *
 * Each mapping level (global, logging, db, replica, age) is described by a
 * table of struct cfg_key; cfg_walk_map() checks keys against it (unknown
 * keys with a suggestion, duplicates, keys of later Litestream releases),
 * converts and stores scalar values at the key's offset in the level's
 * struct, and records the value node of every key it accepted in SEEN so
 * cross-key rules can point at the right line.
 */
#ifndef WALSHIP_CFG_INT_H
#define WALSHIP_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

#include "config.h"

#define CFG_WHERE_MAX 160
#define CFG_TEXT_MAX (16u * 1024 * 1024)

/* A byte range of the expanded text that came from a $VAR. */
struct cfg_span {
	size_t start, end;
};

/* A message waiting to be printed in file order. */
struct cfg_msg {
	size_t line, col;		/* 1-based; 0 for the whole file */
	size_t seq;
	char *text;
};

struct cfg_ctx {
	const char *name;		/* file name in messages */
	FILE *errs;			/* NULL: count only */
	int nerrors;
	struct cfg_msg *msgs;		/* printed by cfg_flush() */
	size_t nmsgs, msgcap;
	yaml_document_t *doc;
	const char *text;		/* the text libyaml parsed */
	size_t len;
	bool expanded;			/* env expansion ran */
	const struct cfg_span *spans;	/* sorted by start */
	size_t nspans;
	struct cfg *cfg;
};

/* --- age_check.c: the age: block's keys ----------------------------------- */

/* Checks a replica's age: block (the node AGE, its identities and
 * recipients lists; any may be NULL): every key must parse. */
void cfg_check_age(struct cfg_ctx *c, const char *where, yaml_node_t *age,
    yaml_node_t *identities, yaml_node_t *recipients);

/* --- diag.c: messages ---------------------------------------------------- */

void cfg_error(struct cfg_ctx *c, const yaml_node_t *n, const char *where,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cfg_warn(struct cfg_ctx *c, const yaml_node_t *n, const char *where,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A message at LINE:COL (1-based; 0 for none) with its "FILE:..." prefix
 * added; KIND is "" or "warning: ". */
void cfg_msg_add(struct cfg_ctx *c, size_t line, size_t col, const char *kind,
    const char *text);
/* Prints the messages sorted by position (stable) and frees them. */
void cfg_flush(struct cfg_ctx *c);
/* The closest of NAMES[0..n) to KEY, or NULL if none is close enough. */
const char *cfg_suggest(const char *key, const char *const *names, size_t n);
/* Go's strconv.Quote, enough of it: "..." with \" \\ \n \t \xNN escapes. */
void cfg_quote(char *buf, size_t len, const char *s);
/* WHERE + "." + KEY (or KEY alone at the top) into BUF. */
void cfg_where_key(char *buf, size_t len, const char *where, const char *key);

/* --- mem: allocation that cannot fail (config.c) ------------------------- */

void *cfg_xcalloc(size_t n, size_t size);
char *cfg_xstrdup(const char *s);
char *cfg_xstrndup(const char *s, size_t n);
/* Replaces *DST with a copy of V (NULL clears); the old value is wiped. */
void cfg_str_set(char **dst, const char *v);
/* explicit_bzero then free; NULL is fine. */
void cfg_free_secret(char *s);
void cfg_strlist_free(struct cfg_strlist *l, bool secret);

/* --- node.c: yaml nodes and the key walk --------------------------------- */

enum cfg_kind {
	CFG_KIND_STR,		/* char * */
	CFG_KIND_SECRET,	/* char *, never printed */
	CFG_KIND_BOOL,		/* bool */
	CFG_KIND_DUR,		/* int64_t, ns */
	CFG_KIND_INT,		/* long */
	CFG_KIND_SIZE,		/* int64_t, bytes */
	CFG_KIND_STRLIST,	/* struct cfg_strlist */
	CFG_KIND_SECRETLIST,	/* struct cfg_strlist of secrets */
	CFG_KIND_NODE,		/* the level's code reads SEEN[i] itself */
	CFG_KIND_LATER,		/* a later Litestream release's key: warn */
	CFG_KIND_LATER_SECRET,	/* the same, and its value is a secret */
};

#define CFG_NONNEG 0x1		/* the number must be >= 0 */
#define CFG_POSITIVE 0x2	/* the number must be > 0 */

struct cfg_key {
	const char *name;
	enum cfg_kind kind;
	size_t off;		/* of the field in the level's struct */
	unsigned flags;
};

bool cfg_node_is_null(const yaml_node_t *n);
/* "a string", "a list", "a mapping", "an empty value" for messages. */
const char *cfg_node_what(const yaml_node_t *n);
yaml_node_t *cfg_node(struct cfg_ctx *c, int id);
/* The scalar's text if N is a non-null scalar, else NULL. */
const char *cfg_scalar(const yaml_node_t *n);
/* True if N's value is written in the file, not only made by $VAR. */
bool cfg_node_literal(struct cfg_ctx *c, const yaml_node_t *n);
/* The same for the LEN bytes at OFF of N's value (when they can be found). */
bool cfg_node_literal_sub(struct cfg_ctx *c, const yaml_node_t *n, size_t off,
    size_t len);

/* MAP has KEY itself (not through a merge) with a non-null value. */
bool cfg_map_has(struct cfg_ctx *c, const yaml_node_t *map, const char *key);
void cfg_walk_map(struct cfg_ctx *c, yaml_node_t *map, const char *where,
    const struct cfg_key *keys, size_t nkeys, void *target,
    yaml_node_t **seen);
/* Checks that N is a mapping ("expected a mapping, got a list"). */
bool cfg_want_map(struct cfg_ctx *c, yaml_node_t *n, const char *where);
bool cfg_want_seq(struct cfg_ctx *c, yaml_node_t *n, const char *where);

/* --- value.c: one scalar or list into its field -------------------------- */

/* Converts VAL (not null) for KEY into TARGET; false after an error. */
bool cfg_set_value(struct cfg_ctx *c, const struct cfg_key *key,
    yaml_node_t *val, const char *where, void *target);

/* --- parse.c: the levels ------------------------------------------------- */

enum cfg_replica_key {
	RK_TYPE, RK_NAME, RK_PATH, RK_URL, RK_RETENTION, RK_RETENTION_CHECK,
	RK_SYNC, RK_SNAPSHOT, RK_VALIDATION, RK_ACCESS_KEY_ID, RK_SECRET,
	RK_REGION, RK_BUCKET, RK_ENDPOINT, RK_FORCE_PATH_STYLE, RK_SKIP_VERIFY,
	RK_ACCOUNT_NAME, RK_ACCOUNT_KEY, RK_HOST, RK_USER, RK_PASSWORD,
	RK_KEY_PATH, RK_AGE, RK_SSE, RK_SSE_KMS_KEY_ID, RK_ENCRYPTION,
	RK_NKEYS
};

void cfg_parse_root(struct cfg_ctx *c, yaml_node_t *root);

/* --- resolve.c: a replica's effective settings --------------------------- */

/* Everything after the key walk: type, url, paths, credentials, sse. */
void cfg_resolve_replica(struct cfg_ctx *c, const char *where,
    struct cfg_replica *r, yaml_node_t *self, yaml_node_t *const *seen);
/* Defaults of a replica before its keys are read. */
void cfg_replica_defaults(struct cfg_replica *r);
/*
 * The type's own rules once keys and URL are in: default name, absolute
 * file/key/identity paths, endpoint scheme, default region, credentials
 * (GLOBAL's keys, NULL for none, then the environment), "" for unset
 * strings. Returns the first missing required setting as a message
 * ("bucket required for s3 replica"), or NULL.
 */
const char *cfg_replica_finish(struct cfg_replica *r, const struct cfg *global);
/* Fills credentials from the environment when neither key is set. */
void cfg_replica_env_creds(struct cfg_replica *r);

/* --- url_parse.c, replica_url.c ------------------------------------------ */

struct cfg_url {
	char *scheme;		/* lower case; "" when none */
	char *user;		/* decoded; NULL when none */
	char *password;		/* decoded, a secret; NULL when none */
	char *host;		/* host[:port] as written */
	char *path;		/* decoded */
	char *opaque;		/* "scheme:opaque" without "//" or "/" */
	bool has_query;		/* ?... (ignored, later releases) */
	size_t pw_off, pw_len;	/* the raw password's bytes in the URL */
};

int cfg_url_parse(const char *s, struct cfg_url *u, char *err, size_t errlen);
void cfg_url_clear(struct cfg_url *u);
/* A copy of URL with any password replaced by <redacted>. */
char *cfg_url_redact(const char *url);
/*
 * Applies U to R as Litestream does for R's type: fills bucket, path,
 * region, endpoint (s3 host table), account (abs), host/user/password (sftp)
 * where R has none. *FPS gets the URL's path-style (s3).
 */
void cfg_url_apply(struct cfg_replica *r, const struct cfg_url *u, bool *fps);
/* Adds https:// (http:// for localhost) to an endpoint without a scheme. */
void cfg_endpoint_normalize(char **endpoint);
/* Litestream's isURL: ^\w+:// */
bool cfg_looks_like_url(const char *s);

/* --- envexpand.c ---------------------------------------------------------- */

/* cfg_expand_env, and the output ranges each $VAR produced (malloc'd). */
char *cfg_expand_env_spans(const char *text, size_t len, size_t *outlen,
    struct cfg_span **spans, size_t *nspans);

/* --- paths.c -------------------------------------------------------------- */

/* Go's path.Clean; malloc'd. */
char *cfg_path_clean(const char *p);
/* <dir>/.<base>-litestream for an absolute db path; malloc'd. */
char *cfg_default_meta_path(const char *dbpath);

#endif
