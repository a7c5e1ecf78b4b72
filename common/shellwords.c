/*
 * shellwords: see shellwords.h. One pass over the line with the quoting
 * state; each word is built in a buffer as long as the line (a word is
 * never longer).
 */
#include "shellwords.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
shellwords_free(char **words)
{
	if (words == NULL)
		return;
	for (size_t i = 0; words[i] != NULL; i++)
		free(words[i]);
	free(words);
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends a copy of BUF[0..LEN) to WORDS[*N]; -1 on allocation failure. */
static int
push(char **words, size_t *n, const char *buf, size_t len)
{
	if ((words[*n] = strndup(buf, len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

char **
shellwords_split(const char *line, char *err, size_t errlen)
{
	size_t cap = strlen(line) / 2 + 2, n = 0, len = 0;
	char **words = calloc(cap, sizeof(*words));
	char *buf = malloc(strlen(line) + 1);
	bool sq = false, dq = false, esc = false, got = false;
	const char *why = NULL;

	if (words == NULL || buf == NULL) {
		why = "out of memory";
		goto fail;
	}
	for (const char *p = line; *p != '\0'; p++) {
		char c = *p;
		if (esc) {
			buf[len++] = c;
			esc = false;
			got = true;
		} else if (c == '\\' && !sq) {
			esc = true;
		} else if (c == '\'' && !dq) {
			sq = !sq;
			got = true;
		} else if (c == '"' && !sq) {
			dq = !dq;
			got = true;
		} else if (blank(c) && !sq && !dq) {
			if (got && push(words, &n, buf, len) < 0) {
				why = "out of memory";
				goto fail;
			}
			len = 0;
			got = false;
		} else if (strchr(";&|<>", c) != NULL && !sq && !dq) {
			snprintf(err, errlen, "unquoted '%c' in command: "
			    "-exec runs no shell (quote it, or run "
			    "sh -c '...')", c);
			goto out;
		} else {
			buf[len++] = c;
			got = true;
		}
	}
	if (esc || sq || dq) {
		why = esc ? "trailing backslash in command" :
		    "unterminated quote in command";
		goto fail;
	}
	if (got && push(words, &n, buf, len) < 0) {
		why = "out of memory";
		goto fail;
	}
	if (n == 0) {
		why = "empty command";
		goto fail;
	}
	free(buf);
	return words;
fail:
	snprintf(err, errlen, "%s", why);
out:
	free(buf);
	shellwords_free(words);
	return NULL;
}
