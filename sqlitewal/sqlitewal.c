/*
 * sqlitewal: parsing and checksum verification of SQLite WAL files (see
 * sqlitewal.h for the format).
 *
 * The checks mirror SQLite's own recovery (walIndexRecover/walDecodeFrame):
 * a header is used only if its magic, version, page size and checksum are
 * right; a frame only if its salts match the header, its page number is
 * not 0 and its checksum continues the chain. The verifier never reads
 * more than one frame at a time, so memory does not depend on WAL size.
 */
#include "sqlitewal.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint32_t
sqlitewal_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
sqlitewal_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | (uint32_t)p[0];
}

bool
sqlitewal_valid_page_size(uint32_t page_size)
{
	return page_size >= SQLITEWAL_MIN_PAGE_SIZE &&
	    page_size <= SQLITEWAL_MAX_PAGE_SIZE &&
	    (page_size & (page_size - 1)) == 0;
}

size_t
sqlitewal_frame_size(uint32_t page_size)
{
	return SQLITEWAL_FRAME_HDR_SIZE + (size_t)page_size;
}

int
sqlitewal_checksum(bool big_endian, const uint8_t *data, size_t len,
    uint32_t ck[2])
{
	uint32_t s1 = ck[0], s2 = ck[1];

	if (len % 8 != 0) {
		errno = EINVAL;
		return -1;
	}
	if (big_endian) {
		for (size_t i = 0; i < len; i += 8) {
			s1 += sqlitewal_get32(data + i) + s2;
			s2 += sqlitewal_get32(data + i + 4) + s1;
		}
	} else {
		for (size_t i = 0; i < len; i += 8) {
			s1 += get32le(data + i) + s2;
			s2 += get32le(data + i + 4) + s1;
		}
	}
	ck[0] = s1;
	ck[1] = s2;
	return 0;
}

int
sqlitewal_hdr_parse(const uint8_t *buf, size_t len, struct sqlitewal_hdr *h,
    char *err, size_t errlen)
{
	uint32_t ck[2] = { 0, 0 };

	errno = EINVAL;
	if (len < SQLITEWAL_HDR_SIZE) {
		snprintf(err, errlen, "wal header too short: %zu bytes", len);
		return -1;
	}
	h->magic = sqlitewal_get32(buf);
	h->version = sqlitewal_get32(buf + 4);
	h->page_size = sqlitewal_get32(buf + 8);
	h->ckpt_seq = sqlitewal_get32(buf + 12);
	h->salt1 = sqlitewal_get32(buf + 16);
	h->salt2 = sqlitewal_get32(buf + 20);
	h->cksum1 = sqlitewal_get32(buf + 24);
	h->cksum2 = sqlitewal_get32(buf + 28);
	h->big_endian = (h->magic & 1) != 0;
	if ((h->magic & ~1u) != SQLITEWAL_MAGIC_LE) {
		snprintf(err, errlen, "bad wal magic: 0x%08x", h->magic);
		return -1;
	}
	if (h->version != SQLITEWAL_VERSION) {
		snprintf(err, errlen, "unsupported wal version: %u", h->version);
		return -1;
	}
	if (!sqlitewal_valid_page_size(h->page_size)) {
		snprintf(err, errlen, "bad wal page size: %u", h->page_size);
		return -1;
	}
	(void)sqlitewal_checksum(h->big_endian, buf, 24, ck);
	if (ck[0] != h->cksum1 || ck[1] != h->cksum2) {
		snprintf(err, errlen, "wal header checksum mismatch: "
		    "got %08x%08x, want %08x%08x", h->cksum1, h->cksum2,
		    ck[0], ck[1]);
		return -1;
	}
	errno = 0;
	return 0;
}

void
sqlitewal_hdr_encode(struct sqlitewal_hdr *h, uint8_t out[SQLITEWAL_HDR_SIZE])
{
	uint32_t ck[2] = { 0, 0 };

	h->big_endian = (h->magic & 1) != 0;
	sqlitewal_put32(out, h->magic);
	sqlitewal_put32(out + 4, h->version);
	sqlitewal_put32(out + 8, h->page_size);
	sqlitewal_put32(out + 12, h->ckpt_seq);
	sqlitewal_put32(out + 16, h->salt1);
	sqlitewal_put32(out + 20, h->salt2);
	(void)sqlitewal_checksum(h->big_endian, out, 24, ck);
	h->cksum1 = ck[0];
	h->cksum2 = ck[1];
	sqlitewal_put32(out + 24, ck[0]);
	sqlitewal_put32(out + 28, ck[1]);
}

void
sqlitewal_frame_hdr_parse(const uint8_t *buf, struct sqlitewal_frame_hdr *f)
{
	f->pgno = sqlitewal_get32(buf);
	f->commit = sqlitewal_get32(buf + 4);
	f->salt1 = sqlitewal_get32(buf + 8);
	f->salt2 = sqlitewal_get32(buf + 12);
	f->cksum1 = sqlitewal_get32(buf + 16);
	f->cksum2 = sqlitewal_get32(buf + 20);
}

void
sqlitewal_verifier_resume(struct sqlitewal_verifier *v,
    const struct sqlitewal_hdr *h, uint64_t off, uint32_t ck1, uint32_t ck2)
{
	memset(v, 0, sizeof(*v));
	v->page_size = h->page_size;
	v->big_endian = h->big_endian;
	v->salt1 = h->salt1;
	v->salt2 = h->salt2;
	v->ck[0] = v->commit_ck[0] = ck1;
	v->ck[1] = v->commit_ck[1] = ck2;
	v->start = v->valid_end = v->commit_end = off;
}

void
sqlitewal_verifier_init(struct sqlitewal_verifier *v,
    const struct sqlitewal_hdr *h)
{
	sqlitewal_verifier_resume(v, h, SQLITEWAL_HDR_SIZE, h->cksum1,
	    h->cksum2);
}

static int
verify_fail(struct sqlitewal_verifier *v, const char *why)
{
	v->broken = true;
	v->bad_off = v->valid_end;
	snprintf(v->why, sizeof(v->why), "%s", why);
	return -1;
}

int
sqlitewal_verify_frame(struct sqlitewal_verifier *v, const uint8_t *frame)
{
	struct sqlitewal_frame_hdr f;
	uint32_t ck[2];

	if (v->broken)
		return -1;
	sqlitewal_frame_hdr_parse(frame, &f);
	if (f.salt1 != v->salt1 || f.salt2 != v->salt2)
		return verify_fail(v, "frame salt does not match the wal header");
	if (f.pgno == 0)
		return verify_fail(v, "frame page number is 0");
	ck[0] = v->ck[0];
	ck[1] = v->ck[1];
	(void)sqlitewal_checksum(v->big_endian, frame, 8, ck);
	(void)sqlitewal_checksum(v->big_endian,
	    frame + SQLITEWAL_FRAME_HDR_SIZE, v->page_size, ck);
	if (ck[0] != f.cksum1 || ck[1] != f.cksum2)
		return verify_fail(v, "frame checksum mismatch");
	v->ck[0] = ck[0];
	v->ck[1] = ck[1];
	v->valid_end += sqlitewal_frame_size(v->page_size);
	v->nframes++;
	if (f.commit != 0) {
		v->commit_end = v->valid_end;
		v->commit_ck[0] = ck[0];
		v->commit_ck[1] = ck[1];
		v->commit_size = f.commit;
	}
	return 0;
}

size_t
sqlitewal_verify_buf(struct sqlitewal_verifier *v, const uint8_t *buf,
    size_t len)
{
	size_t fsz = sqlitewal_frame_size(v->page_size), done = 0;

	while (len - done >= fsz) {
		if (sqlitewal_verify_frame(v, buf + done) < 0)
			break;
		done += fsz;
	}
	return done;
}

int
sqlitewal_verify_fd(struct sqlitewal_verifier *v, int fd)
{
	return sqlitewal_verify_fd_upto(v, fd, UINT64_MAX);
}

/* Frames are read this many bytes at a time (at least one frame): one
 * system call per frame was most of a steady replication's cost. */
#define VERIFY_CHUNK (256 * 1024)

int
sqlitewal_verify_fd_upto(struct sqlitewal_verifier *v, int fd, uint64_t limit)
{
	size_t fsz = sqlitewal_frame_size(v->page_size);
	size_t per = VERIFY_CHUNK / fsz ? VERIFY_CHUNK / fsz : 1;
	uint8_t *buf;

	if (v->broken)
		return 0;
	if ((buf = malloc(per * fsz)) == NULL)
		return -1;
	while (v->valid_end + fsz <= limit) {
		uint64_t room = (limit - v->valid_end) / fsz;
		size_t want = (room < per ? (size_t)room : per) * fsz;
		ssize_t got = io_pread_full(fd, buf, want, (off_t)v->valid_end);
		if (got < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		size_t done = sqlitewal_verify_buf(v, buf, (size_t)got);
		if (done < want)
			break; /* a bad frame, or the end of the file */
	}
	free(buf);
	return 0;
}

int
sqlitewal_verify_file(const char *path, struct sqlitewal_hdr *h,
    struct sqlitewal_verifier *v, char *err, size_t errlen)
{
	uint8_t buf[SQLITEWAL_HDR_SIZE];
	size_t got = 0;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	while (got < sizeof(buf)) {
		ssize_t n = pread(fd, buf + got, sizeof(buf) - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			snprintf(err, errlen, "read %s: %s", path, strerror(e));
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (sqlitewal_hdr_parse(buf, got, h, err, errlen) < 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	sqlitewal_verifier_init(v, h);
	if (sqlitewal_verify_fd(v, fd) < 0) {
		e = errno;
		snprintf(err, errlen, "read %s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}
