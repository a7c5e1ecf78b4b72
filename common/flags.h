/*
 * flags: command-line flags with Go's flag package syntax, as Litestream's
 * commands take them: -flag value, -flag=value, --flag, bool flags as -flag or
 * -flag=false, "--" ends the flags, and parsing stops at the first argument
 * that is not a flag.
 */
#ifndef WALSHIP_FLAGS_H
#define WALSHIP_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum flag_type {
	FLAG_BOOL,   /* ptr: bool * */
	FLAG_STRING, /* ptr: const char ** (points into argv) */
	FLAG_INT,    /* ptr: long *, decimal */
};

struct flag {
	const char *name;
	enum flag_type type;
	void *ptr;
	const char *argname; /* shown in help: -o PATH */
	const char *usage;
};

#define FLAGS_HELP (-2)
#define FLAGS_ERROR (-1)

/*
 * Parses ARGV[0..ARGC) (the arguments after the command name). Returns the
 * index of the first positional argument, FLAGS_HELP for -h/-help, or
 * FLAGS_ERROR after printing "flag provided but not defined: -x" (or the like)
 * to ERRS.
 */
int flags_parse(const struct flag *flags, size_t nflags, int argc,
    char **argv, FILE *errs);

/* The flag list of a command's help text, Go style. */
void flags_print(const struct flag *flags, size_t nflags, FILE *out);

#endif
