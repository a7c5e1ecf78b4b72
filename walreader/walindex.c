/*
 * walindex: see walindex.h. SQLite writes the second header copy, then the
 * first; a reader that finds both equal and the checksum right has a
 * consistent header, else it tries again (a writer is mid-update).
 */
#include "walindex.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "sqlitewal.h"

#define HDR_SIZE 48
#define WALINDEX_VERSION 3007000u
#define TRIES 100
/* WalCkptInfo follows the two header copies; nBackfill is its first field. */
#define NBACKFILL_OFF (2 * HDR_SIZE)

static uint32_t
native32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool
host_big_endian(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 0;
}

static bool
header_ok(const uint8_t *h)
{
	uint32_t ck[2] = { 0, 0 };
	if (native32(h) != WALINDEX_VERSION || h[12] != 1)
		return false;
	/* Checksummed in the host's byte order ("native" in wal.c). */
	sqlitewal_checksum(host_big_endian(), h, 40, ck);
	return ck[0] == native32(h + 40) && ck[1] == native32(h + 44);
}

/* A consistent copy of the header into BUF (one HDR_SIZE copy). */
static int
read_header(int shm_fd, uint8_t buf[2 * HDR_SIZE])
{
	for (int i = 0; i < TRIES; i++) {
		if (io_pread_full(shm_fd, buf, 2 * HDR_SIZE, 0) !=
		    (ssize_t)(2 * HDR_SIZE))
			return -1;
		if (memcmp(buf, buf + HDR_SIZE, HDR_SIZE) == 0 &&
		    header_ok(buf))
			return 0;
		usleep(100);
	}
	return -1;
}

enum walindex_result
walindex_mx_frame(int shm_fd, const uint8_t salts[8], uint32_t *mx_frame)
{
	uint8_t buf[2 * HDR_SIZE];

	if (read_header(shm_fd, buf) < 0)
		return WALINDEX_ERROR;
	if (memcmp(buf + 32, salts, 8) != 0)
		return WALINDEX_OTHER_WAL;
	*mx_frame = native32(buf + 16);
	return WALINDEX_OK;
}

enum walindex_result
walindex_now(int shm_fd, struct walindex_state *st)
{
	uint8_t buf[2 * HDR_SIZE], nb[4];

	if (read_header(shm_fd, buf) < 0 ||
	    io_pread_full(shm_fd, nb, 4, NBACKFILL_OFF) != 4)
		return WALINDEX_ERROR;
	st->mx_frame = native32(buf + 16);
	st->backfilled = native32(nb);
	memcpy(st->salts, buf + 32, 8);
	return WALINDEX_OK;
}
