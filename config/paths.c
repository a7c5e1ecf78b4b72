/*
 * paths: Litestream's path handling for database, meta and file-replica
 * paths: "~" and "~/x" expand to the home directory, anything relative is
 * joined to the current directory, and the result is cleaned lexically (Go's
 * filepath.Abs + Clean). Symlinks are never resolved: commands compare these
 * strings to find a database, exactly as Litestream does.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_int.h"
#include "config.h"

/*
 * Go's path.Clean: one pass over P writing the cleaned path into a buffer
 * no longer than P (plus room for "."). ".." pops back to the previous "/"
 * but never above the root of a rooted path.
 */
char *
cfg_path_clean(const char *p)
{
	size_t n = strlen(p), r = 0, w = 0, dotdot = 0;
	bool rooted = n > 0 && p[0] == '/';
	char *out = cfg_xcalloc(1, n + 2);

	if (n == 0) {
		out[0] = '.';
		return out;
	}
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' &&
		    (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				for (w--; w > dotdot && out[w] != '/'; w--)
					;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && *h != '\0')
		return h;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return pw->pw_dir;
	return NULL;
}

static char *
join_clean(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *j = cfg_xcalloc(1, n);

	snprintf(j, n, "%s/%s", a, b);
	char *c = cfg_path_clean(j);
	free(j);
	return c;
}

char *
cfg_abs_path(const char *path)
{
	if (strcmp(path, "~") == 0 || strncmp(path, "~/", 2) == 0) {
		const char *home = home_dir();
		if (home == NULL) {
			errno = ENOENT;
			return NULL;
		}
		return join_clean(home, path + 1);
	}
	if (path[0] == '/')
		return cfg_path_clean(path);

	char *cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return NULL;
	char *abs = join_clean(cwd, path);
	free(cwd);
	return abs;
}

char *
cfg_default_meta_path(const char *dbpath)
{
	const char *slash = strrchr(dbpath, '/');
	const char *base = slash ? slash + 1 : dbpath;
	size_t dirlen = slash ? (size_t)(slash - dbpath) : 0;
	size_t n = strlen(dbpath) + sizeof("/.-litestream") + 1;
	char *m = cfg_xcalloc(1, n);

	if (slash == dbpath)
		dirlen = 0;	/* "/x.db": the directory is "/" */
	snprintf(m, n, "%.*s/.%s-litestream", (int)dirlen, dbpath, base);
	return m;
}
