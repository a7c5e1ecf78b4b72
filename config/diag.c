/*
 * diag: how config problems are reported.
 *
 * Errors and warnings go out one line each, "FILE:LINE:COL: WHERE: text",
 * with LINE:COL the 1-based start of the offending node (libyaml's marks are
 * 0-based). They are kept until the load ends and then printed in file
 * order, since the walk reads some keys after the ones that follow them.
 * Errors are counted; the loader fails if there was any. Nothing
 * here ever prints a value the caller did not put in the text, so callers
 * keep secrets out simply by not quoting them.
 *
 * Unknown keys get a "did you mean" from the keys valid at that level: the
 * closest by optimal-string-alignment distance (a swap of two neighbouring
 * letters counts 1), if it is close enough for the key's length.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"

void
cfg_msg_add(struct cfg_ctx *c, size_t line, size_t col, const char *kind,
    const char *text)
{
	char pos[64];
	size_t n;

	if (c->errs == NULL)
		return;
	if (c->nmsgs == c->msgcap) {
		size_t cap = c->msgcap ? c->msgcap * 2 : 16;
		struct cfg_msg *m = cfg_xcalloc(cap, sizeof(*m));
		if (c->msgs != NULL)
			memcpy(m, c->msgs, c->nmsgs * sizeof(*m));
		free(c->msgs);
		c->msgs = m;
		c->msgcap = cap;
	}
	if (line > 0)
		snprintf(pos, sizeof(pos), ":%zu:%zu", line, col);
	else
		pos[0] = '\0';
	n = strlen(c->name) + strlen(pos) + strlen(kind) + strlen(text) + 4;
	char *t = cfg_xcalloc(1, n);
	snprintf(t, n, "%s%s: %s%s", c->name, pos, kind, text);
	c->msgs[c->nmsgs] = (struct cfg_msg){ line, col, c->nmsgs, t };
	c->nmsgs++;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct cfg_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
cfg_flush(struct cfg_ctx *c)
{
	if (c->nmsgs > 0)
		qsort(c->msgs, c->nmsgs, sizeof(*c->msgs), msg_cmp);
	for (size_t i = 0; i < c->nmsgs; i++) {
		fprintf(c->errs, "%s\n", c->msgs[i].text);
		free(c->msgs[i].text);
	}
	free(c->msgs);
	c->msgs = NULL;
	c->nmsgs = c->msgcap = 0;
}

static void
report(struct cfg_ctx *c, const yaml_node_t *n, const char *where,
    const char *kind, const char *fmt, va_list ap)
{
	char msg[1024], text[1200];

	if (c->errs == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (where != NULL && *where != '\0')
		snprintf(text, sizeof(text), "%s: %s", where, msg);
	else
		snprintf(text, sizeof(text), "%s", msg);
	if (n != NULL)
		cfg_msg_add(c, n->start_mark.line + 1, n->start_mark.column + 1,
		    kind, text);
	else
		cfg_msg_add(c, 0, 0, kind, text);
}

void
cfg_error(struct cfg_ctx *c, const yaml_node_t *n, const char *where,
    const char *fmt, ...)
{
	va_list ap;

	c->nerrors++;
	va_start(ap, fmt);
	report(c, n, where, "", fmt, ap);
	va_end(ap);
}

void
cfg_warn(struct cfg_ctx *c, const yaml_node_t *n, const char *where,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, n, where, "warning: ", fmt, ap);
	va_end(ap);
}

/* Optimal string alignment distance, for short keys (<= 63 bytes). */
static size_t
osa_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[64][64];

	if (la > 63 || lb > 63)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *
cfg_suggest(const char *key, const char *const *names, size_t n)
{
	size_t best = (size_t)-1, limit = 1 + strlen(key) / 4;
	const char *pick = NULL;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = osa_distance(key, names[i]);
		if (d < best) {
			best = d;
			pick = names[i];
		}
	}
	return best <= limit ? pick : NULL;
}

void
cfg_quote(char *buf, size_t len, const char *s)
{
	size_t w = 0;

	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	buf[w++] = '"';
	for (; *s && w + 6 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[w++] = '\\';
			buf[w++] = (char)ch;
		} else if (ch == '\n') {
			buf[w++] = '\\';
			buf[w++] = 'n';
		} else if (ch == '\t') {
			buf[w++] = '\\';
			buf[w++] = 't';
		} else if (ch < 0x20 || ch == 0x7f) {
			w += (size_t)snprintf(buf + w, len - w, "\\x%02x", ch);
		} else {
			buf[w++] = (char)ch;
		}
	}
	if (*s != '\0' && w + 4 < len) {
		memcpy(buf + w, "...", 3);
		w += 3;
	}
	buf[w++] = '"';
	buf[w] = '\0';
}

void
cfg_where_key(char *buf, size_t len, const char *where, const char *key)
{
	if (where == NULL || *where == '\0')
		snprintf(buf, len, "%s", key);
	else
		snprintf(buf, len, "%s.%s", where, key);
}
