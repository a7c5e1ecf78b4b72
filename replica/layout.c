/*
 * layout: builders and strict parsers of Litestream v0.3 replica object
 * names (see layout.h). Parsers accept exactly the documented patterns,
 * since anything a listing returns is untrusted.
 */
#include "layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static bool
is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Parses exactly 8 lowercase hex digits at S. */
static bool
parse_hex8(const char *s, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 8; i++) {
		char c = s[i];
		if (!is_lower_hex(c))
			return false;
		x = x << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	*v = x;
	return true;
}

bool
layout_is_generation(const char *name)
{
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; i < LAYOUT_GEN_LEN; i++) {
		if (!is_lower_hex(name[i]))
			return false;
	}
	return name[i] == '\0';
}

int
layout_parse_snapshot(const char *name, uint32_t *index)
{
	if (name == NULL || strlen(name) != LAYOUT_SNAPSHOT_NAME_LEN ||
	    strcmp(name + 8, ".snapshot.lz4") != 0 ||
	    !parse_hex8(name, index)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
layout_parse_wal(const char *name, uint32_t *index, uint32_t *offset)
{
	if (name == NULL || strlen(name) != LAYOUT_WAL_NAME_LEN ||
	    name[8] != '_' || strcmp(name + 17, ".wal.lz4") != 0 ||
	    !parse_hex8(name, index) || !parse_hex8(name + 9, offset)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

__attribute__((format(printf, 3, 4))) static int
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
layout_snapshot_name(char *buf, size_t len, uint32_t index)
{
	return fmt(buf, len, "%08x.snapshot.lz4", index);
}

int
layout_wal_name(char *buf, size_t len, uint32_t index, uint32_t offset)
{
	return fmt(buf, len, "%08x_%08x.wal.lz4", index, offset);
}

/* ROOT joined with "/": "" for no root, nothing added after a '/'. */
static const char *
root_sep(const char *root)
{
	size_t n = strlen(root);
	return (n == 0 || root[n - 1] == '/') ? "" : "/";
}

int
layout_generations_dir(char *buf, size_t len, const char *root)
{
	return fmt(buf, len, "%s%sgenerations", root, root_sep(root));
}

static int
gen_path(char *buf, size_t len, const char *root, const char *gen,
    const char *rest)
{
	if (!layout_is_generation(gen)) {
		errno = EINVAL;
		return -1;
	}
	return fmt(buf, len, "%s%sgenerations/%s%s", root, root_sep(root), gen,
	    rest);
}

int
layout_generation_dir(char *buf, size_t len, const char *root,
    const char *gen)
{
	return gen_path(buf, len, root, gen, "");
}

int
layout_snapshots_dir(char *buf, size_t len, const char *root,
    const char *gen)
{
	return gen_path(buf, len, root, gen, "/snapshots");
}

int
layout_wal_dir(char *buf, size_t len, const char *root, const char *gen)
{
	return gen_path(buf, len, root, gen, "/wal");
}

int
layout_snapshot_path(char *buf, size_t len, const char *root,
    const char *gen, uint32_t index)
{
	char rest[16 + LAYOUT_SNAPSHOT_NAME_LEN];

	snprintf(rest, sizeof(rest), "/snapshots/%08x.snapshot.lz4", index);
	return gen_path(buf, len, root, gen, rest);
}

int
layout_wal_path(char *buf, size_t len, const char *root, const char *gen,
    uint32_t index, uint32_t offset)
{
	char rest[16 + LAYOUT_WAL_NAME_LEN];

	snprintf(rest, sizeof(rest), "/wal/%08x_%08x.wal.lz4", index, offset);
	return gen_path(buf, len, root, gen, rest);
}

int
layout_new_generation(char out[LAYOUT_GEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[LAYOUT_GEN_LEN / 2];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[LAYOUT_GEN_LEN] = '\0';
	return 0;
}

int
layout_clean_prefix(const char *in, char *out, size_t len)
{
	size_t n = strlen(in), w = 0;
	char *tmp = malloc(n + 1);

	if (tmp == NULL)
		return -1;
	/* Path.Clean of "/" + IN: segments pushed on a stack in TMP. */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && in[j] != '/')
			j++;
		size_t seg = j - i;
		if (seg == 0 || (seg == 1 && in[i] == '.')) {
			/* empty or ".": nothing */
		} else if (seg == 2 && in[i] == '.' && in[i + 1] == '.') {
			while (w > 0 && tmp[w - 1] != '/')
				w--;
			if (w > 0)
				w--;	/* the separator before it */
		} else {
			if (w > 0)
				tmp[w++] = '/';
			memcpy(tmp + w, in + i, seg);
			w += seg;
		}
		i = j + 1;
	}
	if (w + 1 > len) {
		free(tmp);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, tmp, w);
	out[w] = '\0';
	free(tmp);
	return 0;
}
