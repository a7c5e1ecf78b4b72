/*
 * proctitle: setproctitle(3) for Linux by overwriting the argv area.
 *
 * The kernel reports /proc/PID/cmdline from the memory between the stack's
 * arg_start and arg_end. When the byte at arg_end - 1 is NUL it returns that
 * range as is, so writing "title\0\0\0..." over the whole area makes the
 * title argv[0] and every former argument empty. Only the argv strings that
 * are contiguous with argv[0] are used (they always are when the kernel set
 * them up); the environment after them is left alone, so getenv() and
 * /proc/PID/environ keep working.
 */
#include "proctitle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define PROCTITLE_MAX 1024	/* longer titles are cut */

static char *area;	/* start of the argv strings, now ours */
static size_t area_len;	/* bytes, the final NUL included */

void
proctitle_init(int argc, char **argv)
{
	char **copies, *start, *end;

	if (area != NULL || argc < 1 || argv == NULL || argv[0] == NULL)
		return;
	/* The contiguous run of strings that starts at argv[0]. */
	start = argv[0];
	end = start + strlen(start) + 1;
	for (int i = 1; i < argc && argv[i] == end; i++)
		end += strlen(argv[i]) + 1;

	copies = calloc((size_t)argc, sizeof(*copies));
	if (copies == NULL)
		return;
	for (int i = 0; i < argc; i++) {
		if ((copies[i] = strdup(argv[i])) == NULL) {
			while (i-- > 0)
				free(copies[i]);
			free(copies);
			return;
		}
	}
	/* argv now points at the copies, which live until exit. */
	for (int i = 0; i < argc; i++)
		argv[i] = copies[i];
	free(copies);
	area = start;
	area_len = (size_t)(end - start);
}

void
proctitle_set(const char *comm, const char *fmt, ...)
{
	char buf[PROCTITLE_MAX];
	va_list ap;
	size_t n;

	if (comm != NULL)
		(void)prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (area == NULL || area_len == 0)
		return;
	/* Format first: an argument may still point into the area. */
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (n > area_len - 1)
		n = area_len - 1; /* the last byte stays NUL (see above) */
	memset(area, 0, area_len);
	memcpy(area, buf, n);
}

unsigned long
proctitle_space(void)
{
	return area_len;
}
