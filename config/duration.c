/*
 * duration: Go's time.ParseDuration and time.Duration.String(), so that
 * config values mean and print what they do in Litestream.
 *
 * Syntax: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with units ns, us, µs (U+00B5 or
 * U+03BC), ms, s, m, h; "0" alone is zero. There is no "d". Litestream's
 * YAML reads a bare integer as nanoseconds (yaml.v2 stores the int into the
 * time.Duration), so a plain [-+]?[0-9]+ is accepted here as nanoseconds.
 * Values are int64 nanoseconds; overflow is an error, as in Go.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cfg_int.h"
#include "config.h"

#define DUR_MAX_U ((uint64_t)1 << 63) /* |INT64_MIN| */

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },	/* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 },	/* U+03BC Greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
};

static int
dur_fail(char *err, size_t errlen, const char *what, const char *orig)
{
	char q[128];

	cfg_quote(q, sizeof(q), orig);
	snprintf(err, errlen, "%s %s", what, q);
	return -1;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A bare integer: nanoseconds. Returns 1 if S is one, -1 on overflow. */
static int
parse_bare_int(const char *s, int64_t *ns)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p == '\0')
		return 0;
	for (const char *q = p; *q; q++)
		if (!is_digit(*q))
			return 0;
	for (; *p; p++) {
		if (v > DUR_MAX_U / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > DUR_MAX_U)
			return -1;
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return -1;
	*ns = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 1;
}

/* [0-9]* then (\.[0-9]*)?, as Go's leadingInt and leadingFraction. */
static int
parse_number(const char **sp, uint64_t *v, uint64_t *f, double *scale)
{
	const char *s = *sp, *start = s;
	bool pre, post = false, overflow = false;

	*v = 0;
	*f = 0;
	*scale = 1;
	for (; is_digit(*s); s++) {
		if (*v > DUR_MAX_U / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*s - '0');
		if (*v > DUR_MAX_U)
			return -1;
	}
	pre = s != start;
	if (*s == '.') {
		const char *fs = ++s;
		for (; is_digit(*s); s++) {
			if (overflow)
				continue;
			if (*f > (DUR_MAX_U - 1) / 10) {
				overflow = true;
				continue;
			}
			uint64_t y = *f * 10 + (uint64_t)(*s - '0');
			if (y > DUR_MAX_U) {
				overflow = true;
				continue;
			}
			*f = y;
			*scale *= 10;
		}
		post = s != fs;
	}
	*sp = s;
	return pre || post ? 0 : -1;
}

static uint64_t
unit_ns(const char *u, size_t n)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n &&
		    memcmp(units[i].name, u, n) == 0)
			return units[i].ns;
	return 0;
}

/* One "<number><unit>" term; adds it to *D. */
static int
parse_term(const char **sp, uint64_t *d, const char *orig, char *err,
    size_t errlen)
{
	uint64_t v, f, unit;
	double scale;
	const char *s = *sp, *u;

	if (!(*s == '.' || is_digit(*s)) || parse_number(&s, &v, &f, &scale) < 0)
		return dur_fail(err, errlen, "invalid duration", orig);
	for (u = s; *s && *s != '.' && !is_digit(*s); s++)
		;
	if (s == u)
		return dur_fail(err, errlen, "missing unit in duration", orig);
	if ((unit = unit_ns(u, (size_t)(s - u))) == 0) {
		char name[64], q[80];
		snprintf(name, sizeof(name), "%.*s", (int)(s - u), u);
		cfg_quote(q, sizeof(q), name);
		char what[128];
		snprintf(what, sizeof(what), "unknown unit %s in duration", q);
		return dur_fail(err, errlen, what, orig);
	}
	if (v > DUR_MAX_U / unit)
		return dur_fail(err, errlen, "invalid duration", orig);
	v *= unit;
	if (f > 0) {
		v += (uint64_t)((double)f * ((double)unit / scale));
		if (v > DUR_MAX_U)
			return dur_fail(err, errlen, "invalid duration", orig);
	}
	*d += v;
	if (*d > DUR_MAX_U)
		return dur_fail(err, errlen, "invalid duration", orig);
	*sp = s;
	return 0;
}

int
cfg_parse_duration(const char *orig, int64_t *ns, char *err, size_t errlen)
{
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;

	switch (parse_bare_int(orig, ns)) {
	case 1:
		return 0;
	case -1:
		return dur_fail(err, errlen, "invalid duration", orig);
	}
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return dur_fail(err, errlen, "invalid duration", orig);
	while (*s)
		if (parse_term(&s, &d, orig, err, errlen) < 0)
			return -1;
	if (!neg && d > (uint64_t)INT64_MAX)
		return dur_fail(err, errlen, "invalid duration", orig);
	*ns = neg ? (int64_t)(0 - d) : (int64_t)d;
	return 0;
}

/* Writes the fraction v/10^prec backwards before *W, dropping zeros. */
static uint64_t
fmt_frac(char *buf, int *w, uint64_t v, int prec)
{
	bool print = false;

	for (int i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(v % 10);
		print = print || digit != 0;
		if (print)
			buf[--*w] = (char)('0' + digit);
		v /= 10;
	}
	if (print)
		buf[--*w] = '.';
	return v;
}

static void
fmt_int(char *buf, int *w, uint64_t v)
{
	if (v == 0) {
		buf[--*w] = '0';
		return;
	}
	for (; v > 0; v /= 10)
		buf[--*w] = (char)('0' + v % 10);
}

void
cfg_format_duration(int64_t ns, char *out, size_t len)
{
	char buf[40];
	int w = (int)sizeof(buf) - 1;
	uint64_t u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;

	buf[w] = '\0';
	if (u < 1000000000ULL) {
		int prec = 0;
		buf[--w] = 's';
		if (u == 0) {
			buf[--w] = '0';
			snprintf(out, len, "%s", buf + w);
			return;
		} else if (u < 1000) {
			buf[--w] = 'n';
		} else if (u < 1000000) {
			prec = 3;
			buf[--w] = '\xb5';	/* U+00B5 in UTF-8: C2 B5 */
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		u = fmt_frac(buf, &w, u, prec);
		fmt_int(buf, &w, u);
	} else {
		buf[--w] = 's';
		u = fmt_frac(buf, &w, u, 9);
		fmt_int(buf, &w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			fmt_int(buf, &w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				fmt_int(buf, &w, u);
			}
		}
	}
	if (ns < 0)
		buf[--w] = '-';
	snprintf(out, len, "%s", buf + w);
}
