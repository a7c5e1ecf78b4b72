/*
 * node: reading libyaml document nodes the way yaml.v2 fills Litestream's
 * structs, with walship's stricter checks on top.
 *
 * yaml.v2 semantics kept: a null value (empty, "~", "null") leaves the
 * default; any scalar can fill a string; booleans are YAML 1.1 plain words
 * (true/false/yes/no/on/off/y/n); a plain integer fills a duration as
 * nanoseconds; merge keys ("<<: *anchor") fill keys the mapping lacks.
 * Added: unknown and duplicate keys are errors, keys of later Litestream
 * releases are warnings, every error names its line and column, and a bad
 * value never stops the walk, so one run reports everything. Keys starting
 * with "x-" are extension fields (as in Compose files), ignored silently,
 * so anchors can be defined outside the schema.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"

#define MERGE_DEPTH_MAX 8

struct pair {
	yaml_node_t *key, *val;
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

yaml_node_t *
cfg_node(struct cfg_ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

bool
cfg_node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *
cfg_node_what(const yaml_node_t *n)
{
	if (cfg_node_is_null(n))
		return "an empty value";
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "a string";
	}
}

const char *
cfg_scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE || cfg_node_is_null(n))
		return NULL;
	return (const char *)n->data.scalar.value;
}

static bool
want_type(struct cfg_ctx *c, yaml_node_t *n, const char *where,
    yaml_node_type_t type, const char *what)
{
	if (n->type == type && !cfg_node_is_null(n))
		return true;
	cfg_error(c, n, where, "expected %s, got %s", what, cfg_node_what(n));
	return false;
}

bool
cfg_want_map(struct cfg_ctx *c, yaml_node_t *n, const char *where)
{
	return want_type(c, n, where, YAML_MAPPING_NODE, "a mapping");
}

bool
cfg_want_seq(struct cfg_ctx *c, yaml_node_t *n, const char *where)
{
	return want_type(c, n, where, YAML_SEQUENCE_NODE, "a list");
}

/* libyaml's marks count characters; the spans count bytes. */
static size_t
char_to_byte(struct cfg_ctx *c, size_t idx)
{
	const unsigned char *t = (const unsigned char *)c->text;
	size_t b = 0;

	if (c->len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
		b = 3;
	for (; idx > 0 && b < c->len; idx--) {
		unsigned char ch = t[b];
		b += ch < 0x80 ? 1 : ch < 0xe0 ? 2 : ch < 0xf0 ? 3 : 4;
	}
	return b < c->len ? b : c->len;
}

static bool
in_span(struct cfg_ctx *c, size_t off, size_t *k)
{
	while (*k < c->nspans && c->spans[*k].end <= off)
		(*k)++;
	return *k < c->nspans && c->spans[*k].start <= off;
}

bool
cfg_node_literal(struct cfg_ctx *c, const yaml_node_t *n)
{
	const char *v = cfg_scalar(n);
	size_t k = 0;

	if (v == NULL || *v == '\0')
		return false;
	if (!c->expanded || c->nspans == 0)
		return true;
	size_t s = char_to_byte(c, n->start_mark.index);
	size_t e = char_to_byte(c, n->end_mark.index);
	yaml_scalar_style_t st = n->data.scalar.style;
	if (st == YAML_LITERAL_SCALAR_STYLE || st == YAML_FOLDED_SCALAR_STYLE)
		while (s < e && c->text[s] != '\n')
			s++;	/* the "|" or ">" header line */
	for (size_t b = s; b < e; b++) {
		if (strchr(" \t\r\n\"'", c->text[b]) != NULL)
			continue;
		if (!in_span(c, b, &k))
			return true;
	}
	return false;
}

bool
cfg_node_literal_sub(struct cfg_ctx *c, const yaml_node_t *n, size_t off,
    size_t len)
{
	const char *v = cfg_scalar(n);
	size_t k = 0;

	if (v == NULL || len == 0)
		return false;
	if (!c->expanded || c->nspans == 0)
		return true;
	yaml_scalar_style_t st = n->data.scalar.style;
	size_t q = st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	    st == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? 1 : 0;
	size_t s = char_to_byte(c, n->start_mark.index);
	size_t e = char_to_byte(c, n->end_mark.index), vl = strlen(v);
	/* Only when the value is its source text, byte for byte. */
	if ((st != YAML_PLAIN_SCALAR_STYLE && q == 0) || e - s != vl + 2 * q ||
	    memcmp(c->text + s + q, v, vl) != 0 || off + len > vl)
		return cfg_node_literal(c, n);
	for (size_t b = s + q + off; b < s + q + off + len; b++)
		if (!in_span(c, b, &k))
			return true;
	return false;
}

bool
cfg_map_has(struct cfg_ctx *c, const yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return false;
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
	    q < map->data.mapping.pairs.top; q++) {
		const char *k = cfg_scalar(cfg_node(c, q->key));
		if (k != NULL && strcmp(k, key) == 0 &&
		    !cfg_node_is_null(cfg_node(c, q->value)))
			return true;
	}
	return false;
}

static void
pairs_add(struct pairs *p, yaml_node_t *key, yaml_node_t *val)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pair *v = cfg_xcalloc(cap, sizeof(*v));
		if (p->v != NULL)
			memcpy(v, p->v, p->n * sizeof(*v));
		free(p->v);
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct pair){ key, val };
}

static bool
pairs_has(const struct pairs *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *k = cfg_scalar(p->v[i].key);
		if (k != NULL && strcmp(k, key) == 0)
			return true;
	}
	return false;
}

static bool
is_merge_key(const yaml_node_t *k)
{
	return k->type == YAML_SCALAR_NODE &&
	    k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    strcmp((const char *)k->data.scalar.value, "<<") == 0;
}

static void merge_into(struct cfg_ctx *c, struct pairs *p, yaml_node_t *src,
    const char *where, int depth);

/* Adds SRC's keys that P lacks (explicit keys and earlier merges win). */
static void
merge_map(struct cfg_ctx *c, struct pairs *p, yaml_node_t *m,
    const char *where, int depth)
{
	for (yaml_node_pair_t *q = m->data.mapping.pairs.start;
	    q < m->data.mapping.pairs.top; q++) {
		yaml_node_t *k = cfg_node(c, q->key), *v = cfg_node(c, q->value);
		const char *ks = cfg_scalar(k);
		if (is_merge_key(k))
			merge_into(c, p, v, where, depth + 1);
		else if (ks != NULL && !pairs_has(p, ks))
			pairs_add(p, k, v);
	}
}

static void
merge_into(struct cfg_ctx *c, struct pairs *p, yaml_node_t *src,
    const char *where, int depth)
{
	if (depth > MERGE_DEPTH_MAX) {
		cfg_error(c, src, where, "merge keys nested too deeply");
		return;
	}
	if (src->type == YAML_MAPPING_NODE) {
		merge_map(c, p, src, where, depth);
		return;
	}
	if (src->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = src->data.sequence.items.start;
		    it < src->data.sequence.items.top; it++) {
			yaml_node_t *m = cfg_node(c, *it);
			if (m->type == YAML_MAPPING_NODE)
				merge_map(c, p, m, where, depth);
			else
				cfg_error(c, m, where, "a merge (<<) list must "
				    "hold mappings, got %s", cfg_node_what(m));
		}
		return;
	}
	cfg_error(c, src, where, "a merge (<<) needs a mapping or a list of "
	    "mappings, got %s", cfg_node_what(src));
}

/*
 * The mapping's effective pairs: its own keys in order (a repeated key is
 * an error and dropped), then keys from "<<" merges that it does not set.
 */
static void
collect_pairs(struct cfg_ctx *c, yaml_node_t *map, const char *where,
    struct pairs *p)
{
	struct pairs merges = { 0 };

	for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
	    q < map->data.mapping.pairs.top; q++) {
		yaml_node_t *k = cfg_node(c, q->key), *v = cfg_node(c, q->value);
		const char *ks = cfg_scalar(k);
		if (is_merge_key(k)) {
			pairs_add(&merges, k, v);
			continue;
		}
		if (ks == NULL) {
			cfg_error(c, k, where, "a key must be a string, got %s",
			    cfg_node_what(k));
			continue;
		}
		for (size_t i = 0; i < p->n; i++) {
			if (strcmp(cfg_scalar(p->v[i].key), ks) != 0)
				continue;
			cfg_error(c, k, where, "duplicate key \"%s\" (first at "
			    "line %zu)", ks, p->v[i].key->start_mark.line + 1);
			ks = NULL;
			break;
		}
		if (ks != NULL)
			pairs_add(p, k, v);
	}
	for (size_t i = 0; i < merges.n; i++)
		merge_into(c, p, merges.v[i].val, where, 0);
	free(merges.v);
}

static const struct cfg_key *
find_key(const struct cfg_key *keys, size_t nkeys, const char *name)
{
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].name != NULL && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void
unknown_key(struct cfg_ctx *c, yaml_node_t *k, const char *where,
    const struct cfg_key *keys, size_t nkeys)
{
	const char *names[64];
	size_t n = 0;
	const char *ks = cfg_scalar(k);

	for (size_t i = 0; i < nkeys && n < 64; i++)
		if (keys[i].name != NULL && keys[i].kind != CFG_KIND_LATER &&
		    keys[i].kind != CFG_KIND_LATER_SECRET)
			names[n++] = keys[i].name;
	const char *s = cfg_suggest(ks, names, n);
	if (s != NULL)
		cfg_error(c, k, where, "unknown key \"%s\" (did you mean "
		    "\"%s\"?)", ks, s);
	else
		cfg_error(c, k, where, "unknown key \"%s\"", ks);
}

void
cfg_walk_map(struct cfg_ctx *c, yaml_node_t *map, const char *where,
    const struct cfg_key *keys, size_t nkeys, void *target,
    yaml_node_t **seen)
{
	struct pairs p = { 0 };
	char kw[CFG_WHERE_MAX];

	collect_pairs(c, map, where, &p);
	for (size_t i = 0; i < p.n; i++) {
		const char *ks = cfg_scalar(p.v[i].key);
		const struct cfg_key *key = find_key(keys, nkeys, ks);
		yaml_node_t *val = p.v[i].val;
		if (key == NULL && strncmp(ks, "x-", 2) == 0)
			continue;	/* an extension field, e.g. for anchors */
		if (key == NULL) {
			unknown_key(c, p.v[i].key, where, keys, nkeys);
			continue;
		}
		if (key->kind == CFG_KIND_LATER ||
		    key->kind == CFG_KIND_LATER_SECRET) {
			if (key->kind == CFG_KIND_LATER_SECRET &&
			    cfg_node_literal(c, val))
				c->cfg->has_secrets = true;
			cfg_warn(c, p.v[i].key, where, "ignored: \"%s\" (added "
			    "after Litestream v0.3.13)", ks);
			continue;
		}
		if (cfg_node_is_null(val))
			continue;	/* yaml.v2: null keeps the default */
		cfg_where_key(kw, sizeof(kw), where, ks);
		if (cfg_set_value(c, key, val, kw, target))
			seen[key - keys] = val;
	}
	free(p.v);
}
