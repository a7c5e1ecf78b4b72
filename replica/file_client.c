/*
 * file_client: the replica client for a local directory (type "file"),
 * laid out exactly as Litestream's file replica (format doc §1.1, §1.6).
 *
 * Writes go to "<final>.tmp" in the object's directory, are fsynced and
 * renamed into place, then the directory is fsynced: a crash leaves either
 * the old state or the whole new object, plus at worst a stray .tmp file,
 * which listings ignore (its name does not parse). Missing directories are
 * created with the client's directory mode; files get its file mode.
 *
 * The directory is untrusted: listings only report entries whose names
 * parse and that are what they should be (generations are directories,
 * objects regular files; symlinks count as neither), opens refuse
 * symlinks and anything not a regular file, and the recursive delete of a
 * generation never follows a symlink. The client keeps no mutable state,
 * so any number of threads may use it at once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

#define FC_PATH_MAX 4096
#define FC_RM_DEPTH 8

struct file_client {
	struct replica_client base;	/* first: the generic part */
	char *root;
	mode_t file_mode;
	mode_t dir_mode;
	uid_t uid;
	gid_t gid;
};

struct file_reader {
	struct replica_reader base;
	int fd;
};

struct file_writer {
	struct replica_writer base;
	int fd;
	const struct file_client *fc;
	char path[FC_PATH_MAX];
	char tmp[FC_PATH_MAX + 8];
};

/* snprintf for messages, where a long path may be cut short. */
__attribute__((format(printf, 3, 4))) static void
msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static struct file_client *
fc_of(struct replica_client *c)
{
	return (struct file_client *)c;
}

static int
fc_key(struct replica_client *c, const struct replica_obj *o, char *buf,
    size_t len)
{
	const char *root = fc_of(c)->root;

	if (o->type == REPLICA_OBJ_SNAPSHOT)
		return layout_snapshot_path(buf, len, root, o->gen, o->index);
	return layout_wal_path(buf, len, root, o->gen, o->index, o->offset);
}

/* Lists the directory DIR, calling ADD for every entry. */
static int
list_dir(const char *dir, int (*add)(void *arg, int dfd, const char *name),
    void *arg, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int e;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* nothing there yet */
		e = errno;
		msg(err, errlen, "cannot list %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (add(arg, dirfd(d), de->d_name) < 0) {
			e = errno;
			msg(err, errlen, "cannot list %s: %s", dir,
			    strerror(e));
			closedir(d);
			errno = e;
			return -1;
		}
	}
	e = errno;
	closedir(d);
	if (e != 0) {
		msg(err, errlen, "cannot list %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* A growable array of N items of SIZE bytes. */
struct vec {
	void *v;
	size_t n, cap, size;
};

static void *
vec_push(struct vec *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void *p = reallocarray(a->v, cap, a->size);
		if (p == NULL)
			return NULL;
		a->v = p;
		a->cap = cap;
	}
	return (char *)a->v + a->size * a->n++;
}

static int
add_generation(void *arg, int dfd, const char *name)
{
	struct replica_generation *g;
	struct stat st;

	if (!layout_is_generation(name))
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	if ((g = vec_push(arg)) == NULL)
		return -1;
	memcpy(g->name, name, sizeof(g->name));
	return 0;
}

static int
fc_generations(struct replica_client *c, struct replica_generation **out,
    size_t *n, char *err, size_t errlen)
{
	struct vec a = { .size = sizeof(struct replica_generation) };
	char dir[FC_PATH_MAX];

	if (layout_generations_dir(dir, sizeof(dir), fc_of(c)->root) < 0) {
		msg(err, errlen, "replica path too long");
		return -1;
	}
	if (list_dir(dir, add_generation, &a, err, errlen) < 0) {
		free(a.v);
		return -1;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static int64_t
mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A regular file's stat; 1 if it is one, 0 to skip, -1 on error. */
static int
stat_file(int dfd, const char *name, struct stat *st)
{
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	return S_ISREG(st->st_mode) && st->st_size >= 0;
}

static int
add_snapshot(void *arg, int dfd, const char *name)
{
	struct replica_snapshot *s;
	struct stat st;
	uint32_t index;
	int rc;

	if (layout_parse_snapshot(name, &index) < 0)
		return 0;
	if ((rc = stat_file(dfd, name, &st)) <= 0)
		return rc;
	if ((s = vec_push(arg)) == NULL)
		return -1;
	s->index = index;
	s->size = st.st_size;
	s->created = mtime_ns(&st);
	return 0;
}

static int
add_wal(void *arg, int dfd, const char *name)
{
	struct replica_wal_segment *s;
	struct stat st;
	uint32_t index, offset;
	int rc;

	if (layout_parse_wal(name, &index, &offset) < 0)
		return 0;
	if ((rc = stat_file(dfd, name, &st)) <= 0)
		return rc;
	if ((s = vec_push(arg)) == NULL)
		return -1;
	s->index = index;
	s->offset = offset;
	s->size = st.st_size;
	s->created = mtime_ns(&st);
	return 0;
}

static int
fc_snapshots(struct replica_client *c, const char *gen,
    struct replica_snapshot **out, size_t *n, char *err, size_t errlen)
{
	struct vec a = { .size = sizeof(struct replica_snapshot) };
	char dir[FC_PATH_MAX];

	if (layout_snapshots_dir(dir, sizeof(dir), fc_of(c)->root, gen) < 0) {
		msg(err, errlen, "invalid generation or path too long");
		return -1;
	}
	if (list_dir(dir, add_snapshot, &a, err, errlen) < 0) {
		free(a.v);
		return -1;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static int
fc_wal_segments(struct replica_client *c, const char *gen,
    struct replica_wal_segment **out, size_t *n, char *err, size_t errlen)
{
	struct vec a = { .size = sizeof(struct replica_wal_segment) };
	char dir[FC_PATH_MAX];

	if (layout_wal_dir(dir, sizeof(dir), fc_of(c)->root, gen) < 0) {
		msg(err, errlen, "invalid generation or path too long");
		return -1;
	}
	if (list_dir(dir, add_wal, &a, err, errlen) < 0) {
		free(a.v);
		return -1;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static ssize_t
fr_read(struct replica_reader *r, void *buf, size_t len)
{
	struct file_reader *fr = (struct file_reader *)r;
	ssize_t n;

	do {
		n = read(fr->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		msg(r->err, sizeof(r->err), "read: %s", strerror(e));
		errno = e;
	}
	return n;
}

static void
fr_close(struct replica_reader *r)
{
	struct file_reader *fr = (struct file_reader *)r;

	close(fr->fd);
	free(fr);
}

static struct replica_reader *
fc_open(struct replica_client *c, const struct replica_obj *o, char *err,
    size_t errlen)
{
	struct file_reader *fr;
	char path[FC_PATH_MAX];
	struct stat st;
	int fd, e;

	if (fc_key(c, o, path, sizeof(path)) < 0) {
		msg(err, errlen, "object path too long");
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		e = errno;
		msg(err, errlen, "open %s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		e = EINVAL;
		if (fstat(fd, &st) < 0)
			e = errno;
		msg(err, errlen, "open %s: %s", path, e == EINVAL ?
		    "not a regular file" : strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	if ((fr = calloc(1, sizeof(*fr))) == NULL) {
		msg(err, errlen, "out of memory");
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	fr->base.read = fr_read;
	fr->base.close = fr_close;
	fr->fd = fd;
	return &fr->base;
}

/* fsync of the directory holding PATH. */
static int
sync_parent(const char *path)
{
	char dir[FC_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* mkdir -p of DIR; directories it creates get the client's mode/owner. */
static int
mkdir_p(const struct file_client *fc, const char *dir)
{
	char p[FC_PATH_MAX];
	size_t len = strlen(dir);
	struct stat st;

	if (len == 0 || len >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, fc->dir_mode) == 0) {
			/* umask may have narrowed it; owner as the database's */
			(void)chmod(p, fc->dir_mode);
			if (fc->uid != (uid_t)-1 || fc->gid != (gid_t)-1)
				(void)!lchown(p, fc->uid, fc->gid);
		} else if (errno != EEXIST ||
		    stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			return -1;
		}
		p[i] = c;
	}
	return 0;
}

static int
fw_fail(struct file_writer *fw, const char *what)
{
	int e = errno;

	msg(fw->base.err, sizeof(fw->base.err), "%s %s: %s", what,
	    fw->path, strerror(e));
	errno = e;
	return -1;
}

static int
fw_write(struct replica_writer *w, const void *buf, size_t len)
{
	struct file_writer *fw = (struct file_writer *)w;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fw->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fw_fail(fw, "write");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
fw_abort(struct replica_writer *w)
{
	struct file_writer *fw = (struct file_writer *)w;

	close(fw->fd);
	unlink(fw->tmp);
	free(fw);
}

static int
fw_commit(struct replica_writer *w, char *err, size_t errlen)
{
	struct file_writer *fw = (struct file_writer *)w;
	const char *what = NULL;
	int e;

	if (fsync(fw->fd) < 0)
		what = "fsync";
	if (close(fw->fd) < 0 && what == NULL && errno != EINTR)
		what = "close";
	fw->fd = -1;
	if (what == NULL && rename(fw->tmp, fw->path) < 0)
		what = "rename";
	if (what != NULL) {
		e = errno;
		msg(err, errlen, "%s %s: %s", what, fw->path,
		    strerror(e));
		unlink(fw->tmp);
		free(fw);
		errno = e;
		return -1;
	}
	if (sync_parent(fw->path) < 0) {
		e = errno;
		msg(err, errlen, "fsync directory of %s: %s", fw->path,
		    strerror(e));
		free(fw);
		errno = e;
		return -1;
	}
	free(fw);
	return 0;
}

static struct replica_writer *
fc_create(struct replica_client *c, const struct replica_obj *o, char *err,
    size_t errlen)
{
	const struct file_client *fc = fc_of(c);
	struct file_writer *fw;
	char *slash;
	int e;

	if ((fw = calloc(1, sizeof(*fw))) == NULL) {
		msg(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	fw->fc = fc;
	fw->fd = -1;
	if (fc_key(c, o, fw->path, sizeof(fw->path)) < 0) {
		msg(err, errlen, "object path too long");
		free(fw);
		return NULL;
	}
	snprintf(fw->tmp, sizeof(fw->tmp), "%s.tmp", fw->path);
	/* The directory is there but for an object's first in its folder:
	 * walk the path only then, not for every segment. */
	fw->fd = open(fw->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, fc->file_mode);
	if (fw->fd < 0 && errno == ENOENT) {
		slash = strrchr(fw->path, '/');
		*slash = '\0';
		e = mkdir_p(fc, fw->path);
		*slash = '/';
		if (e == 0)
			fw->fd = open(fw->tmp, O_WRONLY | O_CREAT | O_TRUNC |
			    O_CLOEXEC | O_NOFOLLOW, fc->file_mode);
	}
	if (fw->fd < 0) {
		e = errno;
		msg(err, errlen, "create %s: %s", fw->path, strerror(e));
		free(fw);
		errno = e;
		return NULL;
	}
	(void)fchmod(fw->fd, fc->file_mode);
	if (fc->uid != (uid_t)-1 || fc->gid != (gid_t)-1)
		(void)!fchown(fw->fd, fc->uid, fc->gid);
	fw->base.write = fw_write;
	fw->base.commit = fw_commit;
	fw->base.abort = fw_abort;
	return &fw->base;
}

static int
fc_remove(struct replica_client *c, const struct replica_obj *o, char *err,
    size_t errlen)
{
	char path[FC_PATH_MAX];
	int e;

	if (fc_key(c, o, path, sizeof(path)) < 0) {
		msg(err, errlen, "object path too long");
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		e = errno;
		msg(err, errlen, "delete %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* One unlink each, in order: a crash leaves a prefix of the work done. */
static int
fc_remove_many(struct replica_client *c, const struct replica_obj *objs,
    size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (fc_remove(c, &objs[i], err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Removes everything in directory DFD (closed here), never following links. */
static int
rm_tree_at(int dfd, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0, e = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), n, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			e = e ? e : errno;
			continue;
		}
		if (depth >= FC_RM_DEPTH) {
			e = e ? e : ELOOP;
			continue;
		}
		/* A directory: empty it (rm_tree_at closes SUB), remove it. */
		int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || rm_tree_at(sub, depth + 1) < 0 ||
		    unlinkat(dirfd(d), n, AT_REMOVEDIR) < 0)
			e = e ? e : errno;
	}
	closedir(d);
	if (e != 0) {
		errno = e;
		rc = -1;
	}
	return rc;
}

static int
fc_remove_generation(struct replica_client *c, const char *gen, char *err,
    size_t errlen)
{
	char dir[FC_PATH_MAX];
	int dfd, e;

	if (layout_generation_dir(dir, sizeof(dir), fc_of(c)->root, gen) < 0) {
		msg(err, errlen, "invalid generation or path too long");
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT)
		return 0;
	if (dfd < 0 || rm_tree_at(dfd, 0) < 0 || rmdir(dir) < 0) {
		e = errno;
		msg(err, errlen, "delete generation %s: %s", dir,
		    strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

static void
fc_free(struct replica_client *c)
{
	struct file_client *fc = fc_of(c);

	free(fc->root);
	free(fc->base.name);
	free(fc);
}

static const struct replica_client_ops file_ops = {
	.generations = fc_generations,
	.snapshots = fc_snapshots,
	.wal_segments = fc_wal_segments,
	.key = fc_key,
	.open = fc_open,
	.create = fc_create,
	.remove = fc_remove,
	.remove_generation = fc_remove_generation,
	.remove_many = fc_remove_many,
	.free = fc_free,
};

struct replica_client *
file_client_new(const char *root, const char *name, char *err, size_t errlen)
{
	struct file_client *fc;

	if (root == NULL || root[0] == '\0' || strlen(root) > PATH_MAX / 2) {
		msg(err, errlen, "invalid file replica path");
		errno = EINVAL;
		return NULL;
	}
	if ((fc = calloc(1, sizeof(*fc))) == NULL ||
	    (fc->root = strdup(root)) == NULL ||
	    (fc->base.name = strdup(name ? name : "file")) == NULL) {
		if (fc)
			free(fc->root);
		free(fc);
		msg(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	fc->base.ops = &file_ops;
	fc->base.type = "file";
	fc->file_mode = 0600;
	fc->dir_mode = 0700;
	fc->uid = (uid_t)-1;
	fc->gid = (gid_t)-1;
	return &fc->base;
}

void
file_client_set_owner(struct replica_client *c, mode_t file_mode,
    mode_t dir_mode, uid_t uid, gid_t gid)
{
	struct file_client *fc;

	if (c == NULL || c->ops != &file_ops)
		return;
	fc = fc_of(c);
	fc->file_mode = file_mode & 07777;
	fc->dir_mode = dir_mode & 07777;
	fc->uid = uid;
	fc->gid = gid;
}
