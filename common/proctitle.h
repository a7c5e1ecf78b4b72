/*
 * proctitle: the process title of a re-executed role, as ps(1) and
 * /proc/PID/cmdline show it ("walship: uploader /data/app.db -> s3"), and
 * its comm name (/proc/PID/comm, top, the journal's identifier).
 *
 * Linux has no setproctitle(3): the title is written over the argv strings
 * the kernel placed at the top of the stack. proctitle_init() first moves
 * every argv[i] to a heap copy, so the arguments stay readable through
 * argv after the area is overwritten, and remembers the contiguous area
 * argv[0..argc-1] occupied. The title is truncated to that area; the
 * environment strings that follow it are never touched. A role re-executed
 * by the supervisor has a long argv (-config, -run, -db ...), so its title
 * always fits.
 *
 * Usage, first thing in main() of a process that wants a title:
 *   proctitle_init(argc, argv);
 *   ... parse argv as usual ...
 *   proctitle_set("uploader", "walship: uploader %s -> %s", db, replica);
 */
#ifndef WALSHIP_PROCTITLE_H
#define WALSHIP_PROCTITLE_H

/*
 * Takes over the argv area. ARGV's pointers are replaced by heap copies that
 * live until exit. Call at most once; on allocation failure the title is
 * simply never changed (argv is left as it was).
 */
void proctitle_init(int argc, char **argv);

/*
 * Sets the title to the formatted string (truncated to the argv area, the
 * rest zero-filled) and, when COMM is not NULL, the comm name with
 * prctl(PR_SET_NAME) (the kernel keeps its first 15 bytes).
 */
void proctitle_set(const char *comm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The title area's size in bytes (0 before proctitle_init or on failure). */
unsigned long proctitle_space(void);

#endif
