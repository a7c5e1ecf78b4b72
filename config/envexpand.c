/*
 * envexpand: Go's os.ExpandEnv, which Litestream runs over the whole config
 * text before the YAML parse.
 *
 *   $NAME, ${NAME}   the variable's value; unset means empty
 *   $$, $1, $@ ...   one-character shell specials: getenv of that character
 *                    (so normally empty: "a$$b" becomes "ab")
 *   ${X:-def}        not a default: the name is "X:-def", so empty
 *   ${}              eaten; "${" without "}" eats "${"
 *   $ then anything else (or at the end) stays a literal "$"
 *
 * Besides the text, the expander can report which output byte ranges came
 * from variables, so the loader can tell a secret written in the file from
 * one that only arrives through the environment.
 */
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "config.h"

struct outbuf {
	char *p;
	size_t len, cap;
	struct cfg_span *spans;
	size_t nspans, spancap;
	bool want_spans;
};

static void
out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *p = cfg_xcalloc(1, cap);
		if (o->p != NULL) {
			memcpy(p, o->p, o->len);
			explicit_bzero(o->p, o->cap);
			free(o->p);
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_var(struct outbuf *o, const char *name, size_t n)
{
	char *key = cfg_xstrndup(name, n);
	/* Go's environment is split at the first '=': such names never match. */
	const char *v = strchr(key, '=') ? NULL : getenv(key);
	size_t start = o->len;

	free(key);
	if (v == NULL || *v == '\0')
		return;
	out_add(o, v, strlen(v));
	if (!o->want_spans)
		return;
	if (o->nspans == o->spancap) {
		size_t cap = o->spancap ? o->spancap * 2 : 8;
		struct cfg_span *sp = cfg_xcalloc(cap, sizeof(*sp));
		if (o->spans != NULL)
			memcpy(sp, o->spans, o->nspans * sizeof(*sp));
		free(o->spans);
		o->spans = sp;
		o->spancap = cap;
	}
	o->spans[o->nspans++] = (struct cfg_span){ start, o->len };
}

static bool
is_special(char c)
{
	return strchr("*#$@!?-0123456789", c) != NULL && c != '\0';
}

static bool
is_alnum(char c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/*
 * Go's getShellName over S[0..n) (the text after '$'): sets the name and
 * returns how many bytes it used; *NAMELEN 0 with a nonzero return means
 * bad syntax (eat those bytes), 0 and 0 means "not a name" (keep the '$').
 */
static size_t
shell_name(const char *s, size_t n, const char **name, size_t *namelen)
{
	size_t i;

	*name = s;
	*namelen = 0;
	if (s[0] == '{') {
		if (n > 2 && is_special(s[1]) && s[2] == '}') {
			*name = s + 1;
			*namelen = 1;
			return 3;
		}
		for (i = 1; i < n; i++) {
			if (s[i] != '}')
				continue;
			if (i == 1)
				return 2;	/* "${}" */
			*name = s + 1;
			*namelen = i - 1;
			return i + 1;
		}
		return 1;			/* "${" without "}" */
	}
	if (is_special(s[0])) {
		*namelen = 1;
		return 1;
	}
	for (i = 0; i < n && is_alnum(s[i]); i++)
		;
	*namelen = i;
	return i;
}

char *
cfg_expand_env_spans(const char *text, size_t len, size_t *outlen,
    struct cfg_span **spans, size_t *nspans)
{
	struct outbuf o = { .want_spans = spans != NULL };
	size_t i = 0;

	out_add(&o, "", 0);
	for (size_t j = 0; j < len; j++) {
		if (text[j] != '$' || j + 1 >= len)
			continue;
		out_add(&o, text + i, j - i);
		const char *name;
		size_t namelen;
		size_t w = shell_name(text + j + 1, len - j - 1, &name,
		    &namelen);
		if (namelen == 0 && w == 0)
			out_add(&o, "$", 1);
		else if (namelen > 0)
			out_var(&o, name, namelen);
		j += w;
		i = j + 1;
	}
	out_add(&o, text + i, len - i);
	if (outlen != NULL)
		*outlen = o.len;
	if (spans != NULL) {
		*spans = o.spans;
		*nspans = o.nspans;
	}
	return o.p;
}

char *
cfg_expand_env(const char *text, size_t len, size_t *outlen)
{
	return cfg_expand_env_spans(text, len, outlen, NULL, NULL);
}
