/*
 * bytesize: byte counts such as shadow-max-size ("1GiB", "512MB", "100M",
 * or a plain number of bytes).
 *
 * The units are go-humanize's, which later Litestream releases use for their
 * own sizes: K, M, G, T, P (with or without a trailing B) are powers of
 * 1000, Ki..Pi (with or without B) powers of 1024, case-insensitive. A
 * decimal fraction is allowed and rounded down to whole bytes. The result
 * must fit in int64_t.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "config.h"

static const struct {
	const char *name;
	uint64_t mult;
} size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1000ULL }, { "kb", 1000ULL },
	{ "ki", 1ULL << 10 }, { "kib", 1ULL << 10 },
	{ "m", 1000000ULL }, { "mb", 1000000ULL },
	{ "mi", 1ULL << 20 }, { "mib", 1ULL << 20 },
	{ "g", 1000000000ULL }, { "gb", 1000000000ULL },
	{ "gi", 1ULL << 30 }, { "gib", 1ULL << 30 },
	{ "t", 1000000000000ULL }, { "tb", 1000000000000ULL },
	{ "ti", 1ULL << 40 }, { "tib", 1ULL << 40 },
	{ "p", 1000000000000000ULL }, { "pb", 1000000000000000ULL },
	{ "pi", 1ULL << 50 }, { "pib", 1ULL << 50 },
};

static int
size_fail(char *err, size_t errlen, const char *s)
{
	char q[128];

	cfg_quote(q, sizeof(q), s);
	snprintf(err, errlen, "invalid size %s (want bytes, or a number with "
	    "a unit such as 512MiB or 1GB)", q);
	return -1;
}

static uint64_t
size_unit(const char *u)
{
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
		if (strcasecmp(u, size_units[i].name) == 0)
			return size_units[i].mult;
	return 0;
}

int
cfg_parse_size(const char *s, int64_t *bytes, char *err, size_t errlen)
{
	const char *p = s;
	unsigned __int128 whole = 0, frac = 0, scale = 1;
	bool digits = false;

	while (*p == ' ' || *p == '\t')
		p++;
	for (; isdigit((unsigned char)*p); p++, digits = true) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > INT64_MAX)
			return size_fail(err, errlen, s);
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits = true) {
			if (scale >= 1000000000000000000ULL)
				continue;	/* finer than a byte anyway */
			frac = frac * 10 + (unsigned)(*p - '0');
			scale *= 10;
		}
	}
	if (!digits)
		return size_fail(err, errlen, s);
	while (*p == ' ')
		p++;
	char unit[8];
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= sizeof(unit))
		return size_fail(err, errlen, s);
	memcpy(unit, p, n);
	unit[n] = '\0';
	uint64_t mult = size_unit(unit);
	if (mult == 0)
		return size_fail(err, errlen, s);
	unsigned __int128 v = whole * mult + frac * mult / scale;
	if (v > INT64_MAX)
		return size_fail(err, errlen, s);
	*bytes = (int64_t)v;
	return 0;
}

void
cfg_format_size(int64_t bytes, char *buf, size_t len)
{
	static const struct {
		const char *name;
		int64_t mult;
	} fmt[] = {
		{ "PiB", 1LL << 50 }, { "TiB", 1LL << 40 }, { "GiB", 1LL << 30 },
		{ "MiB", 1LL << 20 }, { "KiB", 1LL << 10 },
		{ "PB", 1000000000000000LL }, { "TB", 1000000000000LL },
		{ "GB", 1000000000LL }, { "MB", 1000000LL }, { "KB", 1000LL },
	};

	/* The unit that leaves the smallest number: 512MB, not 500000KiB. */
	size_t best = 0;
	int64_t q = bytes;
	for (size_t i = 0; bytes > 0 && i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		if (bytes % fmt[i].mult == 0 && bytes / fmt[i].mult < q) {
			q = bytes / fmt[i].mult;
			best = i + 1;
		}
	}
	if (best > 0)
		snprintf(buf, len, "%lld%s", (long long)q, fmt[best - 1].name);
	else
		snprintf(buf, len, "%lld", (long long)bytes);
}
