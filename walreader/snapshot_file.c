/*
 * snapshot_file: writes the snapshot of the current shadow position into the
 * meta directory as an LZ4 frame with Litestream's parameters, so every
 * uploader ships the same bytes without compressing again:
 *   META/generations/<G>/snapshots/<I>_<OFFSET %016llx>.snapshot.lz4
 * Written as .tmp, fsynced, renamed, directory fsynced; older snapshot files
 * of the generation are removed once the new one is in place (an uploader
 * still reading one keeps its open descriptor).
 */
#define _GNU_SOURCE
#include "snapshot_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "lz4frame.h"
#include "shadow.h"
#include "snapshot.h"
#include "io.h"

static int
write_all(void *arg, const void *buf, size_t len)
{
	return io_write_full(*(int *)arg, buf, len);
}

static int
to_lz4(void *arg, const uint8_t *buf, size_t len)
{
	return lz4frame_write(arg, buf, len);
}

static void
remove_older(const char *dir, const char *keep)
{
	char path[4400];
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 14 || strcmp(e->d_name + n - 13, ".snapshot.lz4") != 0 ||
		    strcmp(e->d_name, keep) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

int
snapshot_file_write(const struct shadow *s, int db_fd,
    struct snapshot_info *info)
{
	char dir[4096], name[64], path[4200], tmp[4300];
	int fd = -1;
	struct lz4frame_writer *w = NULL;

	if (shadow_gen_dir(s->meta, s->gen, dir, sizeof(dir)) < 0)
		return -1;
	strncat(dir, "/snapshots", sizeof(dir) - strlen(dir) - 1);
	if (mkdir(dir, s->dir_mode) < 0 && errno != EEXIST)
		goto fail;
	snprintf(name, sizeof(name), "%08x_%016llx.snapshot.lz4", s->index,
	    (unsigned long long)s->size);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, s->file_mode);
	if (fd < 0 || (w = lz4frame_writer_new(write_all, &fd)) == NULL)
		goto fail;
	int64_t n = snapshot_stream(s, db_fd, to_lz4, w);
	if (n < 0 || lz4frame_writer_finish(w) < 0 || fsync(fd) < 0)
		goto fail;
	uint64_t in, out;
	lz4frame_writer_stats(w, &in, &out);
	lz4frame_writer_free(w);
	w = NULL;
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	close(dfd);
	remove_older(dir, name);
	info->index = s->index;
	info->offset = s->size;
	info->db_bytes = (uint64_t)n;
	info->lz4_bytes = out;
	return 0;
fail:
	log_error("cannot write snapshot", KV_S("path", tmp), KV_ERR());
	lz4frame_writer_free(w);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}
