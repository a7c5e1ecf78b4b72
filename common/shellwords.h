/*
 * shellwords: a command line split into words the way a shell would split
 * it, without running one (replicate -exec). The rules are those of
 * github.com/mattn/go-shellwords, which Litestream uses: words are
 * separated by blanks (space, tab, CR, LF); '...' keeps everything literal;
 * "..." keeps blanks and single quotes; a backslash outside single quotes
 * makes the next character literal. No variables, globs or substitutions.
 *
 * Stricter than go-shellwords, which silently drops everything from the
 * first unquoted ; & | < or > on: those are an error here (there is no
 * shell to run a pipeline or a redirection). An empty quoted word ('' or
 * "") is an empty argument, as in a shell.
 */
#ifndef WALSHIP_SHELLWORDS_H
#define WALSHIP_SHELLWORDS_H

#include <stddef.h>

/*
 * The words of LINE as a NULL-terminated array of malloc'd strings (free
 * with shellwords_free()), or NULL with ERR filled in: unterminated quote,
 * trailing backslash, a shell operator, no words, or out of memory.
 */
char **shellwords_split(const char *line, char *err, size_t errlen);
void shellwords_free(char **words);

#endif
