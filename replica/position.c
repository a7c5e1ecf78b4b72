/*
 * position: what the meta directory records about replication, read by
 * the uploaders (who write it) and the compactor (who must not delete what
 * they still need).
 *
 * META/generation is the walreader's current generation (Litestream's
 * file: 16 lowercase hex characters and a newline).
 *
 * META/walship/<replica>.pos is the position an uploader has made durable
 * on its replica, so a restart resumes where the last upload ended instead
 * of listing and downloading from the replica:
 *
 *   walship-position 1
 *   generation=97b94e8e9eda898b
 *   index=3
 *   offset=4152
 *   snapshot=1
 *   crc32=1c291ca3
 *
 * The text is padded with newlines to POS_RECORD bytes, so that after the
 * file is first made (tmp, fsync, rename, fsync the directory) each update
 * overwrites it in place: one pwrite within the first sector and an
 * fdatasync, instead of a new inode, a rename and two metadata syncs for
 * every WAL segment. A reader racing the pwrite, or a write torn by a
 * crash, fails the CRC; the reader tries again, and a file still rejected
 * (torn, a hand edit, a bad disk) reads as "no position", which makes the
 * uploader read its position from the replica itself.
 */
#include "position.h"

#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POS_MAGIC "walship-position 1\n"
#define POS_MAX 512
/* The file's size: the longest text (118 bytes) and newline padding. */
#define POS_RECORD 128
/* Reads of a file that fails its CRC before it counts as corrupt. */
#define POS_LOAD_TRIES 3

/* CRC-32 (IEEE, reflected), bitwise: the file is a few dozen bytes. */
static uint32_t
crc32_ieee(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= (uint8_t)p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static bool
gen_valid(const char *g)
{
	size_t n = strspn(g, "0123456789abcdef");
	return n == 16 && g[16] == '\0';
}

int
position_encode(const struct position *p, char *buf, size_t len)
{
	if (!gen_valid(p->gen)) {
		errno = EINVAL;
		return -1;
	}
	int n = snprintf(buf, len, POS_MAGIC "generation=%s\nindex=%" PRIu32
	    "\noffset=%" PRIu64 "\nsnapshot=%d\n", p->gen, p->index, p->offset,
	    p->snapshot ? 1 : 0);
	if (n < 0 || (size_t)n >= len)
		goto toolong;
	int m = snprintf(buf + n, len - (size_t)n, "crc32=%08" PRIx32 "\n",
	    crc32_ieee(buf, (size_t)n));
	if (m < 0 || (size_t)m >= len - (size_t)n)
		goto toolong;
	return n + m;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/*
 * Takes "KEY=<digits>\n" at *S (decimal, or 8 lowercase hex digits when
 * HEX), advancing *S. Leading zeros and signs are refused so that one
 * position has one spelling.
 */
static int
take_num(const char **s, const char *end, const char *key, bool hex,
    uint64_t max, uint64_t *v)
{
	size_t klen = strlen(key);
	const char *p = *s;
	uint64_t x = 0;
	int digits = 0;

	if ((size_t)(end - p) < klen + 1 || memcmp(p, key, klen) != 0 ||
	    p[klen] != '=')
		return -1;
	p += klen + 1;
	for (; p < end && *p != '\n'; p++, digits++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			return -1;
		uint64_t base = hex ? 16 : 10;
		if (d > max || x > (max - d) / base)
			return -1;
		x = x * base + d;
	}
	if (p == end || digits == 0 || (hex && digits != 8) ||
	    (!hex && digits > 1 && (*s)[klen + 1] == '0'))
		return -1;
	*v = x;
	*s = p + 1;
	return 0;
}

int
position_decode(const char *buf, size_t len, struct position *p)
{
	const char *s = buf, *end = buf + len;
	size_t ml = strlen(POS_MAGIC);
	uint64_t idx, off, snap, crc;
	struct position q;

	memset(&q, 0, sizeof(q));
	if (len < ml || memcmp(s, POS_MAGIC, ml) != 0)
		goto bad;
	s += ml;
	if ((size_t)(end - s) < 11 + 16 + 1 || memcmp(s, "generation=", 11) != 0)
		goto bad;
	memcpy(q.gen, s + 11, 16);
	q.gen[16] = '\0';
	if (!gen_valid(q.gen) || s[27] != '\n')
		goto bad;
	s += 28;
	if (take_num(&s, end, "index", false, UINT32_MAX, &idx) < 0 ||
	    take_num(&s, end, "offset", false, UINT64_MAX, &off) < 0 ||
	    take_num(&s, end, "snapshot", false, 1, &snap) < 0)
		goto bad;
	size_t body = (size_t)(s - buf);
	if (take_num(&s, end, "crc32", true, UINT32_MAX, &crc) < 0 ||
	    crc != crc32_ieee(buf, body))
		goto bad;
	while (s < end && *s == '\n')
		s++; /* the padding of a file updated in place */
	if (s != end)
		goto bad;
	q.index = (uint32_t)idx;
	q.offset = off;
	q.snapshot = snap != 0;
	*p = q;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
position_path(char *buf, size_t len, const char *meta, const char *name)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n;
	int r = snprintf(buf, len, "%s/walship/", meta);

	if (r < 0 || (size_t)r >= len)
		goto toolong;
	n = (size_t)r;
	for (const char *c = name; *c; c++) {
		unsigned char u = (unsigned char)*c;
		bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
		    (u >= '0' && u <= '9') || u == '_' || u == '-' ||
		    (u == '.' && c != name);
		if (n + (plain ? 1 : 3) >= len)
			goto toolong;
		if (plain) {
			buf[n++] = (char)u;
		} else {
			buf[n++] = '%';
			buf[n++] = hexd[u >> 4];
			buf[n++] = hexd[u & 15];
		}
	}
	if (n + 5 >= len)
		goto toolong;
	memcpy(buf + n, ".pos", 5);
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/* One read of PATH: 0, or -1 with errno (EINVAL: not a valid record). */
static int
load_once(const char *path, struct position *p)
{
	char buf[POS_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t got = io_pread_full(fd, buf, sizeof(buf), 0);
	int e = errno;
	close(fd);
	if (got < 0) {
		errno = e;
		return -1;
	}
	if (got > POS_MAX) {
		errno = EINVAL;
		return -1;
	}
	return position_decode(buf, (size_t)got, p);
}

int
position_load(const char *path, struct position *p)
{
	int rc = -1;

	/* A failed CRC may be an update in place racing this read. */
	for (int i = 0; i < POS_LOAD_TRIES; i++)
		if ((rc = load_once(path, p)) == 0 || errno != EINVAL)
			break;
	return rc;
}

/* Overwrites PATH in place when it is a record of the current size: 1 done,
 * 0 not such a file (an older release's, or none: make it whole), -1 with
 * errno. */
static int
save_in_place(const char *path, const char *rec)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0; /* missing (or a link): the whole-file path decides */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != POS_RECORD) {
		close(fd);
		return 0;
	}
	if (io_pwrite_full(fd, rec, POS_RECORD, 0) < 0 || fdatasync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd) < 0 && errno != EINTR ? -1 : 1;
}

int
position_save(const char *path, const struct position *p, mode_t file_mode,
    mode_t dir_mode)
{
	char rec[POS_MAX], tmp[4200], dir[4096];
	int len = position_encode(p, rec, sizeof(rec));

	if (len < 0)
		return -1;
	if (len > POS_RECORD) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(rec + len, '\n', (size_t)(POS_RECORD - len));
	int r = save_in_place(path, rec);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	if (mkdir(dir, dir_mode) < 0 && errno != EEXIST)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, file_mode);
	if (fd < 0)
		return -1;
	if (io_write_full(fd, rec, POS_RECORD) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return io_fsync_dir(dir);
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

void
position_read_generation(const char *meta, char gen[POSITION_GEN_SIZE])
{
	char path[4200], buf[64];

	gen[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/generation", meta) >=
	    (int)sizeof(path))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = io_pread_full(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n < 16)
		return;
	buf[n] = '\0';
	char *p = buf + strspn(buf, " \t\r\n");
	size_t len = strcspn(p, " \t\r\n");
	if (len != 16 || strspn(p, "0123456789abcdef") != 16)
		return;
	memcpy(gen, p, 16);
	gen[16] = '\0';
}

bool
position_parse_hex(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			x = x << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = x << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*v = x;
	return true;
}

int
position_newest_snapshot(const char *meta, const char *gen, uint32_t *index,
    uint64_t *offset)
{
	char dir[4200];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/generations/%s/snapshots", meta,
	    gen) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		uint64_t idx, off;
		const char *nm = e->d_name;
		if (strlen(nm) != 38 || nm[8] != '_' ||
		    strcmp(nm + 25, ".snapshot.lz4") != 0 ||
		    !position_parse_hex(nm, 8, &idx) ||
		    !position_parse_hex(nm + 9, 16, &off))
			continue;
		if (!found || idx > *index || (idx == *index &&
		    off > *offset)) {
			found = true;
			*index = (uint32_t)idx;
			*offset = off;
		}
	}
	closedir(d);
	return found ? 1 : 0;
}

int
position_snapshot_path(char *buf, size_t len, const char *meta,
    const char *gen, uint32_t index, uint64_t offset)
{
	int n = snprintf(buf, len, "%s/generations/%s/snapshots/%08" PRIx32
	    "_%016" PRIx64 ".snapshot.lz4", meta, gen, index, offset);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
