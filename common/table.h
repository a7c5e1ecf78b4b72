/*
 * table: column output byte-for-byte like Go's text/tabwriter as Litestream
 * uses it (minwidth 0, tabwidth 8, padding 2, padchar ' '): every column but
 * the last is padded to its widest cell plus two spaces; the last column is
 * not padded, so lines carry no trailing spaces. Widths count UTF-8
 * characters, as tabwriter counts runes.
 */
#ifndef WALSHIP_TABLE_H
#define WALSHIP_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

struct table *table_new(size_t ncols);
/* Adds a row of exactly ncols cells; the strings are copied. -1 on ENOMEM. */
int table_add(struct table *t, const char *const *cells);
/* Adds a row from ncols string arguments. */
int table_addv(struct table *t, ...);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

#endif
