/*
 * flags: Go flag package semantics (see flags.h). Values are not copied:
 * string flags point into argv, which lives as long as the process.
 */
#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct flag *
find(const struct flag *flags, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(flags[i].name) == len &&
		    strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	}
	return NULL;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *no[] = { "0", "f", "F", "false", "FALSE", "False" };
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
set_value(const struct flag *f, const char *val, FILE *errs)
{
	char *end;
	long v;

	switch (f->type) {
	case FLAG_BOOL:
		if (parse_bool(val, f->ptr) < 0)
			goto invalid;
		return 0;
	case FLAG_STRING:
		*(const char **)f->ptr = val;
		return 0;
	case FLAG_INT:
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0')
			goto invalid;
		*(long *)f->ptr = v;
		return 0;
	}
invalid:
	fprintf(errs, "invalid value \"%s\" for flag -%s: parse error\n", val,
	    f->name);
	return -1;
}

int
flags_parse(const struct flag *flags, size_t nflags, int argc, char **argv,
    FILE *errs)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break; /* first positional argument */
		a++;
		if (a[0] == '-') {
			a++;
			if (a[0] == '\0')
				return i + 1; /* "--" ends the flags */
		}
		if (a[0] == '-' || a[0] == '=') {
			fprintf(errs, "bad flag syntax: %s\n", argv[i]);
			return FLAGS_ERROR;
		}
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct flag *f = find(flags, nflags, a, len);
		if (f == NULL) {
			if ((len == 1 && a[0] == 'h') ||
			    (len == 4 && strncmp(a, "help", 4) == 0))
				return FLAGS_HELP;
			fprintf(errs, "flag provided but not defined: -%.*s\n",
			    (int)len, a);
			return FLAGS_ERROR;
		}
		if (eq) {
			if (set_value(f, eq + 1, errs) < 0)
				return FLAGS_ERROR;
		} else if (f->type == FLAG_BOOL) {
			*(bool *)f->ptr = true;
		} else {
			if (i + 1 >= argc) {
				fprintf(errs, "flag needs an argument: -%s\n",
				    f->name);
				return FLAGS_ERROR;
			}
			if (set_value(f, argv[++i], errs) < 0)
				return FLAGS_ERROR;
		}
	}
	return i;
}

void
flags_print(const struct flag *flags, size_t nflags, FILE *out)
{
	for (size_t i = 0; i < nflags; i++) {
		const struct flag *f = &flags[i];
		fprintf(out, "\t-%s%s%s\n\t    %s\n\n", f->name,
		    f->argname ? " " : "", f->argname ? f->argname : "",
		    f->usage);
	}
}
