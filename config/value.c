/*
 * value: converts one YAML value into the field a struct cfg_key names, with
 * the type and range checks of that kind. A value of the wrong type or out
 * of range is reported at its own line and column and leaves the field as
 * it was. Messages may quote a value, except for secrets, whose values are
 * never echoed (a secret can only be wrong by being a list or a mapping).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"

static bool
set_str(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, char **field)
{
	if (val->type != YAML_SCALAR_NODE) {
		cfg_error(c, val, where, "expected a string, got %s",
		    cfg_node_what(val));
		return false;
	}
	cfg_str_set(field, cfg_scalar(val));
	if (key->kind == CFG_KIND_SECRET && cfg_node_literal(c, val))
		c->cfg->has_secrets = true;
	return true;
}

static bool
set_bool(struct cfg_ctx *c, yaml_node_t *val, const char *where, bool *field)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES",
		"true", "True", "TRUE", "on", "On", "ON" };
	static const char *const no[] = { "n", "N", "no", "No", "NO",
		"false", "False", "FALSE", "off", "Off", "OFF" };
	const char *v = cfg_scalar(val);
	char q[80];

	if (v != NULL && val->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (strcmp(v, yes[i]) == 0) {
				*field = true;
				return true;
			}
			if (strcmp(v, no[i]) == 0) {
				*field = false;
				return true;
			}
		}
	}
	if (v == NULL) {
		cfg_error(c, val, where, "expected true or false, got %s",
		    cfg_node_what(val));
	} else {
		cfg_quote(q, sizeof(q), v);
		cfg_error(c, val, where, "expected true or false, got %s%s", q,
		    val->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? "" :
		    " (quoted, so a string)");
	}
	return false;
}

static bool
check_sign(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, int64_t v, const char *shown)
{
	if ((key->flags & CFG_POSITIVE) && v <= 0) {
		cfg_error(c, val, where, "must be greater than 0, got %s", shown);
		return false;
	}
	if ((key->flags & CFG_NONNEG) && v < 0) {
		cfg_error(c, val, where, "must not be negative, got %s", shown);
		return false;
	}
	return true;
}

static bool
set_int(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, long *field)
{
	const char *v = cfg_scalar(val);
	char *end, q[80];
	long n;

	if (v == NULL) {
		cfg_error(c, val, where, "expected an integer, got %s",
		    cfg_node_what(val));
		return false;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (val->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || end == v ||
	    *end != '\0' || errno != 0 || strchr(" \t\n", *v) != NULL) {
		cfg_quote(q, sizeof(q), v);
		cfg_error(c, val, where, "expected an integer, got %s", q);
		return false;
	}
	if (!check_sign(c, key, val, where, n, v))
		return false;
	*field = n;
	return true;
}

static bool
set_dur(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, int64_t *field)
{
	const char *v = cfg_scalar(val);
	char err[256], shown[40];
	int64_t ns;

	if (v == NULL) {
		cfg_error(c, val, where, "expected a duration such as 10s or "
		    "1h30m, got %s", cfg_node_what(val));
		return false;
	}
	if (cfg_parse_duration(v, &ns, err, sizeof(err)) < 0) {
		cfg_error(c, val, where, "%s", err);
		return false;
	}
	cfg_format_duration(ns, shown, sizeof(shown));
	if (!check_sign(c, key, val, where, ns, shown))
		return false;
	*field = ns;
	return true;
}

static bool
set_size(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, int64_t *field)
{
	const char *v = cfg_scalar(val);
	char err[256];
	int64_t n;

	if (v == NULL) {
		cfg_error(c, val, where, "expected a size such as 1GiB, got %s",
		    cfg_node_what(val));
		return false;
	}
	if (cfg_parse_size(v, &n, err, sizeof(err)) < 0) {
		cfg_error(c, val, where, "%s", err);
		return false;
	}
	if (!check_sign(c, key, val, where, n, v))
		return false;
	*field = n;
	return true;
}

static bool
set_list(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, struct cfg_strlist *field)
{
	bool secret = key->kind == CFG_KIND_SECRETLIST, ok = true;
	struct cfg_strlist l = { 0 };
	char iw[CFG_WHERE_MAX];

	if (!cfg_want_seq(c, val, where))
		return false;
	size_t n = (size_t)(val->data.sequence.items.top -
	    val->data.sequence.items.start);
	l.v = cfg_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = cfg_node(c, val->data.sequence.items.start[i]);
		if (cfg_node_is_null(it))
			continue;
		if (it->type != YAML_SCALAR_NODE) {
			snprintf(iw, sizeof(iw), "%s[%zu]", where, i);
			cfg_error(c, it, iw, "expected a string, got %s",
			    cfg_node_what(it));
			ok = false;
			continue;
		}
		l.v[l.n++] = cfg_xstrdup(cfg_scalar(it));
		if (secret && cfg_node_literal(c, it))
			c->cfg->has_secrets = true;
	}
	cfg_strlist_free(field, secret);
	*field = l;
	return ok;
}

bool
cfg_set_value(struct cfg_ctx *c, const struct cfg_key *key, yaml_node_t *val,
    const char *where, void *target)
{
	void *field = (char *)target + key->off;

	switch (key->kind) {
	case CFG_KIND_STR:
	case CFG_KIND_SECRET:
		return set_str(c, key, val, where, field);
	case CFG_KIND_BOOL:
		return set_bool(c, val, where, field);
	case CFG_KIND_DUR:
		return set_dur(c, key, val, where, field);
	case CFG_KIND_INT:
		return set_int(c, key, val, where, field);
	case CFG_KIND_SIZE:
		return set_size(c, key, val, where, field);
	case CFG_KIND_STRLIST:
	case CFG_KIND_SECRETLIST:
		return set_list(c, key, val, where, field);
	case CFG_KIND_NODE:
		return true;
	default:
		return false;
	}
}
