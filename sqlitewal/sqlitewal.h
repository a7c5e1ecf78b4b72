/*
 * sqlitewal: SQLite's WAL file format, shared by the WAL reader and restore.
 *
 * A WAL file is a 32-byte header followed by frames; a frame is a 24-byte
 * frame header plus one page. Every field is a big-endian 32-bit integer.
 *
 *   header:  magic, version (3007000), page size, checkpoint sequence,
 *            salt-1, salt-2, checksum-1, checksum-2
 *   frame:   page number, commit size (database size in pages after a
 *            commit frame, 0 otherwise), salt-1, salt-2, checksum-1,
 *            checksum-2, then page_size bytes of page data
 *
 * The checksum is SQLite's Fibonacci-weighted pair of 32-bit sums over
 * 32-bit words. The magic says the byte order of those words: 0x377f0682
 * little-endian, 0x377f0683 big-endian. The header's checksum covers its
 * first 24 bytes; each frame's covers its first 8 header bytes and then its
 * page, continuing from the previous frame's checksum (the first frame
 * continues from the header's). A frame is valid when its salts equal the
 * header's, its page number is not 0 and its checksum matches; SQLite
 * stops at the first frame that is not valid and keeps only the frames up
 * to the last valid commit frame.
 *
 * Nothing here trusts its input: every length is checked, and a header or
 * frame that fails a check is reported, never used.
 */
#ifndef WALSHIP_SQLITEWAL_H
#define WALSHIP_SQLITEWAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQLITEWAL_HDR_SIZE 32
#define SQLITEWAL_FRAME_HDR_SIZE 24
#define SQLITEWAL_MAGIC_LE 0x377f0682u
#define SQLITEWAL_MAGIC_BE 0x377f0683u
#define SQLITEWAL_VERSION 3007000u
#define SQLITEWAL_MIN_PAGE_SIZE 512u
#define SQLITEWAL_MAX_PAGE_SIZE 65536u
/* The largest frame: header plus the largest page. */
#define SQLITEWAL_MAX_FRAME_SIZE \
	(SQLITEWAL_FRAME_HDR_SIZE + SQLITEWAL_MAX_PAGE_SIZE)

struct sqlitewal_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t page_size;
	uint32_t ckpt_seq;
	uint32_t salt1;
	uint32_t salt2;
	uint32_t cksum1;
	uint32_t cksum2;
	bool big_endian;	/* checksum word order, from the magic */
};

struct sqlitewal_frame_hdr {
	uint32_t pgno;
	uint32_t commit;	/* database size in pages if a commit frame */
	uint32_t salt1;
	uint32_t salt2;
	uint32_t cksum1;
	uint32_t cksum2;
};

/* Big-endian 32-bit load and store. */
uint32_t sqlitewal_get32(const uint8_t *p);
void sqlitewal_put32(uint8_t *p, uint32_t v);

/* True for a power of two from 512 to 65536. */
bool sqlitewal_valid_page_size(uint32_t page_size);

/* Bytes of one frame with this page size. */
size_t sqlitewal_frame_size(uint32_t page_size);

/*
 * SQLite's WAL checksum of LEN bytes (a multiple of 8), continuing from
 * ck[0], ck[1] and leaving the result there. Words are read big-endian if
 * BIG_ENDIAN, else little-endian. Returns -1 (EINVAL) if LEN is not a
 * multiple of 8.
 */
int sqlitewal_checksum(bool big_endian, const uint8_t *data, size_t len,
    uint32_t ck[2]);

/*
 * Parses and validates the 32-byte header at BUF (LEN bytes available):
 * magic, version, page size and header checksum. Returns 0, or -1 with ERR
 * saying what is wrong (errno EINVAL).
 */
int sqlitewal_hdr_parse(const uint8_t *buf, size_t len,
    struct sqlitewal_hdr *h, char *err, size_t errlen);

/*
 * Encodes H into OUT with the checksum of its first 24 bytes; the checksum
 * is also stored in H. The byte order follows H->magic.
 */
void sqlitewal_hdr_encode(struct sqlitewal_hdr *h, uint8_t out[SQLITEWAL_HDR_SIZE]);

/* Decodes the 24-byte frame header at BUF (no validation). */
void sqlitewal_frame_hdr_parse(const uint8_t *buf,
    struct sqlitewal_frame_hdr *f);

/*
 * The verifier walks frames in order and tracks the checksum chain. Offsets
 * are byte offsets in the WAL file: start is where walking began, valid_end
 * the end of the last valid frame, commit_end the end of the last valid
 * commit frame (== start when there was none). After the first bad frame
 * the verifier is broken: it accepts nothing more and `why` says what
 * failed at offset bad_off.
 */
struct sqlitewal_verifier {
	uint32_t page_size;
	bool big_endian;
	uint32_t salt1;
	uint32_t salt2;
	uint32_t ck[2];		/* checksum after the last valid frame */
	uint64_t start;
	uint64_t valid_end;
	uint64_t nframes;	/* valid frames walked */
	uint64_t commit_end;
	uint32_t commit_ck[2];	/* checksum at commit_end */
	uint32_t commit_size;	/* db pages at the last commit, 0 = none */
	bool broken;
	uint64_t bad_off;
	char why[96];
};

/* Starts right after header H (offset 32), from the header's checksum. */
void sqlitewal_verifier_init(struct sqlitewal_verifier *v,
    const struct sqlitewal_hdr *h);

/*
 * Starts at WAL offset OFF (frame-aligned) of a WAL with header H, from the
 * checksum CK1/CK2 of the frame that ends at OFF.
 */
void sqlitewal_verifier_resume(struct sqlitewal_verifier *v,
    const struct sqlitewal_hdr *h, uint64_t off, uint32_t ck1, uint32_t ck2);

/*
 * Checks the next frame (sqlitewal_frame_size(page_size) bytes at FRAME).
 * Returns 0 if it is valid, -1 if not (or the verifier is already broken).
 */
int sqlitewal_verify_frame(struct sqlitewal_verifier *v, const uint8_t *frame);

/*
 * Walks the whole frames in BUF; a trailing partial frame is not counted.
 * Returns the number of bytes of valid frames walked by this call.
 */
size_t sqlitewal_verify_buf(struct sqlitewal_verifier *v, const uint8_t *buf,
    size_t len);

/*
 * Walks the frames of file FD from offset v->valid_end to the end of the
 * file or the first bad frame. Returns 0, or -1 on a read error (errno).
 */
int sqlitewal_verify_fd(struct sqlitewal_verifier *v, int fd);
/* The same, but no frame that would end past byte LIMIT is read. */
int sqlitewal_verify_fd_upto(struct sqlitewal_verifier *v, int fd,
    uint64_t limit);

/*
 * Verifies the WAL file at PATH: header, then every frame. On success H and
 * V describe it (V->commit_end is how much of the file SQLite would use).
 * Returns -1 with ERR filled if the file cannot be read or its header is
 * not valid; bad frames are not an error (see V->broken).
 */
int sqlitewal_verify_file(const char *path, struct sqlitewal_hdr *h,
    struct sqlitewal_verifier *v, char *err, size_t errlen);

#endif
