/*
 * table: Go tabwriter-compatible output (see table.h). Rows are kept until
 * table_print, because a column's width depends on every row.
 */
#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **cells; /* nrows * ncols */
};

struct table *
table_new(size_t ncols)
{
	struct table *t = calloc(1, sizeof(*t));
	if (t)
		t->ncols = ncols;
	return t;
}

int
table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = reallocarray(t->cells, cap * t->ncols, sizeof(*c));
		if (c == NULL)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "");
		if (row[i] == NULL) {
			while (i-- > 0)
				free(row[i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

int
table_addv(struct table *t, ...)
{
	const char *cells[16];
	va_list ap;

	if (t->ncols > 16)
		return -1;
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	return table_add(t, cells);
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t
width(const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

void
table_print(const struct table *t, FILE *out)
{
	size_t w[16] = { 0 };
	size_t ncols = t->ncols < 16 ? t->ncols : 16;

	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c + 1 < ncols; c++) {
			size_t cw = width(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			fputs(cell, out);
			if (c + 1 < ncols) {
				for (size_t k = width(cell); k < w[c] + 2; k++)
					fputc(' ', out);
			}
		}
		fputc('\n', out);
	}
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
