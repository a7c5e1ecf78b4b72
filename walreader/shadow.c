/*
 * shadow: the shadow log (see shadow.h for layout and continuity rules).
 *
 * Copying is two passes over the new part of the WAL: first verify frames
 * (salts, cumulative checksum) and find the end of the last commit frame,
 * then copy exactly that range through one fixed buffer and fsync. The WAL
 * bytes cannot change between the passes: the walreader's pin (or its
 * checkpoint's write lock) keeps them in place.
 */
#define _GNU_SOURCE
#include "shadow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sqlitewal.h"
#include "walindex.h"
#include "io.h"

#define WAL_HDR 32
#define COPY_BUF (1024 * 1024)

#define get32be sqlitewal_get32

/* Validates a WAL header against PAGE_SIZE; fills its checksum into CK. */
static int
hdr_valid(const uint8_t *hdr, uint32_t page_size, uint32_t ck[2])
{
	struct sqlitewal_hdr h;
	char err[96];
	if (sqlitewal_hdr_parse(hdr, WAL_HDR, &h, err, sizeof(err)) < 0 ||
	    h.page_size != page_size)
		return 0;
	ck[0] = h.cksum1;
	ck[1] = h.cksum2;
	return 1;
}

static void
hdr_parse(const uint8_t *hdr, struct sqlitewal_hdr *h)
{
	char err[96];
	(void)sqlitewal_hdr_parse(hdr, WAL_HDR, h, err, sizeof(err));
}

int
shadow_gen_dir(const char *meta, const char *gen, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/generations/%s", meta, gen);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
shadow_wal_path(const char *meta, const char *gen, uint32_t index, char *buf,
    size_t len)
{
	int n = snprintf(buf, len, "%s/generations/%s/wal/%08x.wal", meta, gen,
	    index);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Reads META/generation: a 16-lowercase-hex name, else none. */
static void
load_generation(struct shadow *s)
{
	char path[4096], buf[64];
	s->gen[0] = '\0';
	snprintf(path, sizeof(path), "%s/generation", s->meta);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = io_pread_full(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n < 16)
		return;
	buf[n] = '\0';
	char *p = buf;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	size_t len = strcspn(p, " \t\r\n");
	if (len != 16 || strspn(p, "0123456789abcdef") < 16)
		return;
	memcpy(s->gen, p, 16);
	s->gen[16] = '\0';
}

/* Highest index with a shadow file in the current generation, or -1. */
static long
latest_index(const struct shadow *s)
{
	char dir[4096];
	long best = -1;
	snprintf(dir, sizeof(dir), "%s/generations/%s/wal", s->meta, s->gen);
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		unsigned int idx;
		char tail[8];
		if (strlen(e->d_name) == 12 &&
		    sscanf(e->d_name, "%8x%7s", &idx, tail) == 2 &&
		    strcmp(tail, ".wal") == 0 &&
		    strspn(e->d_name, "0123456789abcdef") == 8 &&
		    (long)idx > best)
			best = (long)idx;
	}
	closedir(d);
	return best;
}

/*
 * Verifies a shadow file's frames from its header on, and truncates a torn
 * tail (frames after the last valid commit) left by a crash mid-append.
 * Fills hdr, ck and size. Returns -1 if the file is unusable.
 */
static int
load_shadow_file(struct shadow *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	s->size = 0;
	if (st.st_size == 0)
		return 0;
	if (st.st_size < WAL_HDR || io_pread_full(fd, s->hdr, WAL_HDR, 0) != WAL_HDR ||
	    !hdr_valid(s->hdr, s->page_size, s->ck))
		return -1;
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	hdr_parse(s->hdr, &h);
	sqlitewal_verifier_init(&v, &h);
	if (sqlitewal_verify_fd(&v, fd) < 0)
		return -1;
	uint64_t good = v.commit_end;
	s->ck[0] = v.commit_ck[0];
	s->ck[1] = v.commit_ck[1];
	if (good == WAL_HDR)
		return -1; /* a header without a committed frame: never written */
	if ((uint64_t)st.st_size != good) {
		log_warn("truncating torn shadow wal tail",
		    KV_U("size", (unsigned long long)st.st_size),
		    KV_U("valid", (unsigned long long)good));
		if (ftruncate(fd, (off_t)good) < 0 || fsync(fd) < 0)
			return -1;
	}
	s->size = good;
	return 0;
}

static int
open_index(struct shadow *s, uint32_t index, int flags)
{
	char path[4096];
	if (shadow_wal_path(s->meta, s->gen, index, path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDWR | O_CLOEXEC | flags, s->file_mode);
}

/* The lowest index still on disk and the bytes below the current one. */
static void
count_older(struct shadow *s)
{
	char dir[4096], path[4400];
	struct stat st;
	s->older_bytes = 0;
	s->trimmed_below = s->index;
	snprintf(dir, sizeof(dir), "%s/generations/%s/wal", s->meta, s->gen);
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		unsigned int idx;
		char tail[8];
		if (strlen(e->d_name) != 12 ||
		    sscanf(e->d_name, "%8x%7s", &idx, tail) != 2 ||
		    strcmp(tail, ".wal") != 0 || idx >= s->index)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0)
			s->older_bytes += (uint64_t)st.st_size;
		if (idx < s->trimmed_below)
			s->trimmed_below = idx;
	}
	closedir(d);
}

int
shadow_open(struct shadow *s, const char *meta, const char *db_path,
    uint32_t page_size)
{
	struct stat st;
	char dir[4096];

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->wal_fd = -1;
	s->shm_fd = -1;
	s->page_size = page_size;
	s->file_mode = 0600;
	s->dir_mode = 0700;
	if (stat(db_path, &st) == 0)
		s->file_mode = st.st_mode & 0666;
	snprintf(dir, sizeof(dir), "%s", db_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) == 0)
		s->dir_mode = st.st_mode & 0777;
	if ((s->meta = strdup(meta)) == NULL ||
	    (s->db_path = strdup(db_path)) == NULL ||
	    asprintf(&s->wal_path, "%s-wal", db_path) < 0) {
		s->wal_path = NULL;
		shadow_close(s);
		return -1;
	}
	if (io_mkdir_p(meta, s->dir_mode) < 0) {
		log_error("cannot create meta directory", KV_S("path", meta),
		    KV_ERR());
		shadow_close(s);
		return -1;
	}
	load_generation(s);
	long idx = s->gen[0] ? latest_index(s) : -1;
	if (idx < 0) {
		s->gen[0] = '\0';
		return 0;
	}
	s->index = (uint32_t)idx;
	s->fd = open_index(s, s->index, 0);
	if (s->fd < 0 || load_shadow_file(s, s->fd) < 0)
		goto unusable;
	if (s->size == 0 && s->index > 0) {
		/* An empty latest index: sealed by our checkpoint. */
		struct shadow prev = *s;
		prev.fd = open_index(s, s->index - 1, 0);
		if (prev.fd < 0 || load_shadow_file(&prev, prev.fd) < 0 ||
		    prev.size == 0) {
			if (prev.fd >= 0)
				close(prev.fd);
			goto unusable;
		}
		close(prev.fd);
		s->sealed = true;
		s->sealed_salt1 = get32be(prev.hdr + 16);
	}
	count_older(s);
	return 0;
unusable:
	log_warn("shadow wal unusable, a new generation will start",
	    KV_S("generation", s->gen), KV_U("index", s->index));
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->gen[0] = '\0';
	return 0;
}

void
shadow_close(struct shadow *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->fd = s->wal_fd = -1;
	free(s->meta);
	free(s->wal_path);
	free(s->db_path);
	s->meta = s->wal_path = s->db_path = NULL;
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT ? -1 : 0;
}

/* Removes every generation directory but the current one. */
static void
remove_other_generations(struct shadow *s)
{
	char dir[4096], path[4400];
	snprintf(dir, sizeof(dir), "%s/generations", s->meta);
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, s->gen) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
			log_warn("cannot remove old shadow generation",
			    KV_S("path", path), KV_ERR());
	}
	closedir(d);
}

static int
write_generation_file(struct shadow *s)
{
	char path[4096], tmp[4200], line[18];
	snprintf(path, sizeof(path), "%s/generation", s->meta);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(line, sizeof(line), "%s\n", s->gen);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    s->file_mode);
	if (fd < 0)
		return -1;
	if (io_pwrite_full(fd, line, 17, 0) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0)
		return -1;
	return io_fsync_dir(s->meta);
}

int
shadow_new_generation(struct shadow *s)
{
	uint8_t rnd[8];
	char dir[4096];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (int i = 0; i < 8; i++)
		snprintf(s->gen + 2 * i, 3, "%02x", rnd[i]);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->index = 0;
	s->size = 0;
	s->sealed = false;
	s->startup_checked = true; /* a new generation vouches for itself */
	s->older_bytes = 0;
	s->trimmed_below = 0;
	s->mark[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/generations/%s/wal", s->meta, s->gen);
	if (io_mkdir_p(dir, s->dir_mode) < 0)
		goto fail;
	if ((s->fd = open_index(s, 0, O_CREAT | O_EXCL)) < 0 ||
	    io_fsync_dir(dir) < 0 || write_generation_file(s) < 0)
		goto fail;
	remove_other_generations(s);
	return 0;
fail:
	log_error("cannot start shadow generation", KV_S("generation", s->gen),
	    KV_ERR());
	s->gen[0] = '\0';
	return -1;
}

int
shadow_seal(struct shadow *s)
{
	char dir[4096];
	if (s->fd < 0 || s->size == 0)
		return 0; /* nothing in this index yet: nothing to seal */
	if (fsync(s->fd) < 0)
		return -1;
	int fd = open_index(s, s->index + 1, O_CREAT | O_TRUNC);
	snprintf(dir, sizeof(dir), "%s/generations/%s/wal", s->meta, s->gen);
	if (fd < 0 || io_fsync_dir(dir) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(s->fd);
	s->fd = fd;
	s->older_bytes += s->size;
	s->sealed_salt1 = get32be(s->hdr + 16);
	s->sealed = true;
	s->pinned_since_seal = false;
	s->index++;
	s->size = 0;
	return 0;
}

int
shadow_unseal(struct shadow *s)
{
	char path[4096];
	shadow_wal_path(s->meta, s->gen, s->index, path, sizeof(path));
	int fd = open_index(s, s->index - 1, 0);
	if (!s->sealed)
		return 0;
	if (fd < 0)
		return -1;
	close(s->fd);
	s->fd = fd;
	s->index--;
	s->sealed = false;
	if (load_shadow_file(s, fd) < 0 || unlink(path) < 0)
		return -1;
	s->older_bytes -= s->size < s->older_bytes ? s->size : s->older_bytes;
	return 0;
}

/* Writes FRAMES, the WAL's bytes [BASE, TO), to the same offsets of the
 * shadow; HEADER (the WAL's) first when they start the index. */
static int
put_frames(struct shadow *s, const uint8_t *header, const uint8_t *frames,
    uint64_t base, uint64_t to)
{
	if (header != NULL && io_pwrite_full(s->fd, header, WAL_HDR, 0) < 0)
		return -1;
	return io_pwrite_full(s->fd, frames, (size_t)(to - base), (off_t)base);
}

/*
 * Copies the WAL's committed frames from FROM on (continuing from checksum
 * CK, no frame past LIMIT) into the shadow and fsyncs it, reading each byte
 * once: frames are verified in the buffer they were read into and written
 * up to the last commit seen; the frames after it move to the front of the
 * buffer and wait for their commit. Only a transaction larger than the
 * buffer is written before its commit, and cut off again if none follows.
 * WITH_HEADER: the index is empty, the WAL header goes first. When all of
 * it fitted in the buffer, CB gets it as one batch.
 *
 * Returns the end of the last commit frame (FROM when none) with its
 * checksum in CK, or -1.
 */
static int64_t
copy_committed(struct shadow *s, int wal, uint64_t from, uint64_t limit,
    bool with_header, uint32_t ck[2], shadow_append_cb cb, void *arg)
{
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	size_t fsz = sqlitewal_frame_size(s->page_size);
	size_t hdr = with_header ? WAL_HDR : 0;
	size_t cap = (COPY_BUF / fsz ? COPY_BUF / fsz : 1) * fsz;
	uint8_t *buf = malloc(hdr + cap), *frames;
	const uint8_t *header = with_header ? buf : NULL;
	uint64_t base = from;	/* WAL offset of frames[0]; the shadow has
				 * been written up to it */
	size_t len = 0;		/* verified bytes at frames[0] */
	bool whole = true;	/* buf holds all that was read */
	uint64_t end = from;

	if (buf == NULL)
		return -1;
	frames = buf + hdr;
	hdr_parse(s->hdr, &h);
	sqlitewal_verifier_resume(&v, &h, from, ck[0], ck[1]);
	if (with_header)
		memcpy(buf, s->hdr, WAL_HDR);
	while (base + len + fsz <= limit) {
		if (len + fsz > cap) {
			/* Full: write what is committed, keep the rest; a
			 * buffer without a commit is written whole. */
			uint64_t to = v.commit_end > base ? v.commit_end :
			    base + len;
			if (put_frames(s, base == from ? header : NULL, frames,
			    base, to) < 0)
				goto fail;
			len -= (size_t)(to - base);
			memmove(frames, frames + (to - base), len);
			base = to;
			whole = false;
			continue;
		}
		uint64_t off = base + len;
		uint64_t room = (limit - off) / fsz;
		size_t fit = (cap - len) / fsz;
		size_t want = (room < fit ? (size_t)room : fit) * fsz;
		ssize_t got = io_pread_full(wal, frames + len, want, (off_t)off);
		if (got < 0)
			goto fail;
		size_t done = sqlitewal_verify_buf(&v, frames + len,
		    (size_t)got);
		len += done;
		if (done < want)
			break; /* a bad frame, or the end of the file */
	}
	end = v.commit_end;
	if (end > base) {
		if (put_frames(s, base == from ? header : NULL, frames, base,
		    end) < 0)
			goto fail;
	} else if (end < base) {
		/* A big transaction's frames went out without their commit:
		 * the shadow ends at the last commit, as before. */
		uint64_t keep = end > from ? end : (with_header ? 0 : from);
		if (ftruncate(s->fd, (off_t)keep) < 0)
			goto fail;
	}
	if (end == from && base == from) {
		free(buf);
		return (int64_t)from; /* nothing new was committed */
	}
	if (fsync(s->fd) < 0)
		goto fail; /* after an fsync error the data is gone: caller dies */
	if (end > from && cb) {
		uint64_t start = with_header ? 0 : from;
		uint32_t n = (uint32_t)((end - from) / fsz);
		cb(arg, s->index, start, whole ? buf : NULL, end - start, n);
	}
	ck[0] = v.commit_ck[0];
	ck[1] = v.commit_ck[1];
	free(buf);
	return (int64_t)end;
fail:
	free(buf);
	return -1;
}

static enum shadow_status
need_gen(char reason[SHADOW_REASON_LEN], const char *why)
{
	snprintf(reason, SHADOW_REASON_LEN, "%s", why);
	return SHADOW_NEED_GENERATION;
}

/* The database file as db.mark records it: generation, identity, size,
 * modification time. "" when the file cannot be read. */
static void
mark_now(const struct shadow *s, char *buf, size_t len)
{
	struct stat st;
	if (stat(s->db_path, &st) < 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s %llu %llu %lld %lld.%09ld\n", s->gen,
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
}

static int
mark_path(const struct shadow *s, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/walship/db.mark", s->meta);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Records the database file's state (only when it changed). */
void
shadow_record_mark(struct shadow *s)
{
	char now[sizeof(s->mark)], path[4200], tmp[4300], dir[4200];
	if (s->size != 0 || s->gen[0] == '\0')
		return; /* only an empty index is vouched for by the mark */
	mark_now(s, now, sizeof(now));
	if (now[0] == '\0' || strcmp(now, s->mark) == 0 ||
	    mark_path(s, path, sizeof(path)) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/walship", s->meta);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = -1;
	if (io_mkdir_p(dir, s->dir_mode) < 0 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    s->file_mode)) < 0 || io_write_full(fd, now, strlen(now)) < 0 ||
	    fsync(fd) < 0 || rename(tmp, path) < 0 || io_fsync_dir(dir) < 0) {
		/* Only costs a new generation at the next start-up. */
		log_warn("cannot record database state", KV_S("path", path),
		    KV_ERR());
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	memcpy(s->mark, now, sizeof(now));
}

/* At start-up: does the database file still match the recorded mark? */
static bool
mark_matches(struct shadow *s)
{
	char now[sizeof(s->mark)], path[4200];
	if (mark_path(s, path, sizeof(path)) < 0)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = io_pread_full(fd, s->mark, sizeof(s->mark) - 1, 0);
	close(fd);
	s->mark[n > 0 ? n : 0] = '\0';
	mark_now(s, now, sizeof(now));
	return now[0] != '\0' && strcmp(now, s->mark) == 0;
}

/*
 * The end of what SQLite has published of the WAL with header WH, so that
 * frames a dead writer left unpublished are never copied (walindex.h).
 * Without a wal-index descriptor (tools, tests) there is no limit.
 */
static uint64_t
published_end(const struct shadow *s, const uint8_t *wh, uint64_t from)
{
	uint32_t mx;
	if (s->shm_fd < 0)
		return UINT64_MAX;
	switch (walindex_mx_frame(s->shm_fd, wh + 16, &mx)) {
	case WALINDEX_OK:
		return WAL_HDR + (uint64_t)mx * sqlitewal_frame_size(s->page_size);
	case WALINDEX_OTHER_WAL:
		/* The index has moved on to the next WAL, whose first frame
		 * is not written yet: nothing more of this one to take. */
		return from;
	case WALINDEX_ERROR:
		break;
	}
	log_warn("wal-index unreadable, copying nothing this time",
	    KV_S("path", s->db_path));
	return from;
}

/*
 * Decides what the WAL's header means for the current index. Returns
 * SHADOW_OK with *adopt set when the header starts the current (empty) index.
 */
static enum shadow_status
check_header(struct shadow *s, const uint8_t *wh, bool *adopt, bool *idle,
    char reason[SHADOW_REASON_LEN])
{
	uint32_t ck[2];

	*adopt = false;
	*idle = false;
	if (!hdr_valid(wh, s->page_size, ck))
		return need_gen(reason, "wal header invalid or page size changed");
	if (s->size > 0) {
		if (memcmp(wh, s->hdr, WAL_HDR) != 0)
			return need_gen(reason,
			    "wal restarted or replaced by another process");
		return SHADOW_OK;
	}
	if (s->sealed) {
		uint8_t prev[WAL_HDR];
		char path[4096];
		struct stat st;
		shadow_wal_path(s->meta, s->gen, s->index - 1, path,
		    sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? io_pread_full(fd, prev, WAL_HDR, 0) : -1;
		if (n == WAL_HDR && fstat(fd, &st) < 0)
			n = -1;
		if (fd >= 0)
			close(fd);
		if (n == WAL_HDR && memcmp(prev, wh, WAL_HDR) == 0) {
			/* After a RESTART checkpoint the WAL keeps its header
			 * until the next writer starts it over: nothing new
			 * is in it, and the index stays sealed. Frames past
			 * the sealed index mean it was not restarted after
			 * all. */
			if (published_end(s, wh, WAL_HDR) <=
			    (uint64_t)st.st_size) {
				*idle = true;
				return SHADOW_OK;
			}
			return shadow_unseal(s) < 0 ? SHADOW_ERROR : SHADOW_OK;
		}
		if (!s->pinned_since_seal && s->startup_checked &&
		    get32be(wh + 16) != s->sealed_salt1 + 1)
			return need_gen(reason,
			    "wal restarted while walship was not watching");
	} else if (s->index > 0 && s->startup_checked) {
		return need_gen(reason, "wal restarted by another process");
	}
	memcpy(s->hdr, wh, WAL_HDR);
	s->ck[0] = ck[0];
	s->ck[1] = ck[1];
	*adopt = true;
	return SHADOW_OK;
}

/* The -wal, opened once and again only when the file was replaced. */
static int
wal_open(struct shadow *s)
{
	struct stat now, held;
	if (stat(s->wal_path, &now) < 0) {
		if (s->wal_fd >= 0)
			close(s->wal_fd);
		s->wal_fd = -1;
		return -1;
	}
	if (s->wal_fd >= 0 && fstat(s->wal_fd, &held) == 0 &&
	    held.st_ino == now.st_ino && held.st_dev == now.st_dev)
		return s->wal_fd;
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
	return s->wal_fd;
}

enum shadow_status
shadow_copy(struct shadow *s, shadow_append_cb cb, void *arg,
    char reason[SHADOW_REASON_LEN])
{
	uint8_t wh[WAL_HDR];
	struct stat st;
	bool adopt, idle;

	if (s->gen[0] == '\0' || s->fd < 0)
		return need_gen(reason, "no generation exists");
	if (s->size == 0) {
		if (!s->startup_checked && !mark_matches(s))
			return need_gen(reason, "database changed while walship "
			    "was not watching");
		s->startup_checked = true;
		shadow_record_mark(s);
	}
	s->startup_checked = true;
	int wal = wal_open(s);
	if (wal < 0 && errno != ENOENT)
		return SHADOW_ERROR;
	ssize_t n = wal >= 0 ? io_pread_full(wal, wh, WAL_HDR, 0) : 0;
	if (n < WAL_HDR) {
		/* No WAL or an empty one: fine unless our index has frames,
		 * which then were checkpointed away behind our back. */
		if (n < 0)
			return SHADOW_ERROR;
		return s->size > 0 ? need_gen(reason,
		    "wal truncated by another process") : SHADOW_OK;
	}
	enum shadow_status rc = check_header(s, wh, &adopt, &idle, reason);
	if (rc != SHADOW_OK || idle)
		goto out;
	if (fstat(wal, &st) < 0) {
		rc = SHADOW_ERROR;
		goto out;
	}
	if (!adopt && (uint64_t)st.st_size < s->size) {
		rc = need_gen(reason, "wal truncated by another process");
		goto out;
	}
	uint64_t from = adopt ? WAL_HDR : s->size;
	uint64_t limit = published_end(s, wh, from);
	uint32_t ck[2] = { s->ck[0], s->ck[1] };
	int64_t end = copy_committed(s, wal, from, limit, adopt, ck, cb, arg);
	if (end < 0) {
		rc = SHADOW_ERROR;
	} else if ((uint64_t)end > from) {
		s->size = (uint64_t)end;
		s->ck[0] = ck[0];
		s->ck[1] = ck[1];
		s->sealed = false;
	}
out:
	if (rc == SHADOW_ERROR)
		log_error("cannot copy wal to shadow", KV_S("path", s->wal_path),
		    KV_ERR());
	return rc;
}

void
shadow_trim(struct shadow *s, uint32_t below)
{
	char path[4096];
	struct stat st;
	if (below > s->index)
		below = s->index;
	for (uint32_t i = s->trimmed_below; i < below; i++) {
		if (shadow_wal_path(s->meta, s->gen, i, path, sizeof(path)) < 0)
			return;
		if (stat(path, &st) == 0 && unlink(path) == 0) {
			uint64_t n = (uint64_t)st.st_size;
			s->older_bytes -= n < s->older_bytes ? n : s->older_bytes;
		}
	}
	if (below > s->trimmed_below)
		s->trimmed_below = below;
}

uint64_t
shadow_bytes_from(const struct shadow *s, uint32_t from)
{
	char dir[4096], path[4400];
	struct stat st;
	uint64_t total = 0;
	snprintf(dir, sizeof(dir), "%s/generations/%s/wal", s->meta, s->gen);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		unsigned int idx;
		char tail[8];
		if (strlen(e->d_name) != 12 ||
		    sscanf(e->d_name, "%8x%7s", &idx, tail) != 2 ||
		    strcmp(tail, ".wal") != 0 || idx < from)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

uint64_t
shadow_bytes(const struct shadow *s)
{
	return s->older_bytes + s->size;
}
