/*
 * msg_test: the codec of ipc/msg.h.
 *
 * Bad messages are built by raw_build(), which lays out the header from the
 * table in msg.h on its own (and seals a correct checksum), so every rule of
 * the decoder is reached past the checksum, and the wire layout is checked
 * independently of msg.c's writer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>

#include "msg.h"
#include "test.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static const uint8_t gen1[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
	0xef };

static void
le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

/* Seals the checksum of a raw message of LEN bytes (payload_len from the
 * header, capped to what is there). */
static void
raw_seal(uint8_t *b, size_t len)
{
	uint32_t crc = msg_crc32c(0, b, 60);
	if (len > MSG_HDR_LEN)
		crc = msg_crc32c(crc, b + MSG_HDR_LEN, len - MSG_HDR_LEN);
	le32(b + 60, crc);
}

/* A raw message: header fields from M, the given type number, version and
 * reserved word, M->payload_len copied from M, PLEN payload bytes from
 * M->payload. Returns a malloc'd buffer of 64 + PLEN bytes. */
static uint8_t *
raw_build(const struct msg *m, uint32_t type, uint32_t plen, size_t *len)
{
	uint8_t *b = calloc(1, MSG_HDR_LEN + (size_t)plen);
	if (b == NULL)
		abort();
	le32(b + 0, MSG_MAGIC);
	b[4] = MSG_VERSION;
	b[6] = (uint8_t)type;
	b[7] = (uint8_t)(type >> 8);
	le32(b + 8, m->db_id);
	le32(b + 12, m->flags);
	memcpy(b + 16, m->generation, 8);
	le32(b + 24, m->index);
	le32(b + 28, m->page_size);
	le64(b + 32, m->offset);
	le32(b + 40, m->frame_count);
	le32(b + 44, m->payload_len);
	le64(b + 48, m->value);
	if (plen > 0 && m->payload != NULL)
		memcpy(b + MSG_HDR_LEN, m->payload, plen);
	*len = MSG_HDR_LEN + (size_t)plen;
	raw_seal(b, *len);
	return b;
}

static uint8_t *
raw(const struct msg *m, size_t *len)
{
	return raw_build(m, (uint32_t)m->type, m->payload_len, len);
}

/* A FRAMES message of N frames of PS bytes at OFFSET, payload in BUF. */
static struct msg
frames_msg(uint8_t *buf, uint32_t ps, uint32_t n, uint64_t offset)
{
	struct msg m = { .type = MSG_FRAMES, .db_id = 3, .index = 7,
		.page_size = ps, .offset = offset, .frame_count = n };
	uint32_t len = (offset == 0 ? 32 : 0) + n * (24 + ps);

	memcpy(m.generation, gen1, 8);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	m.payload = buf;
	m.payload_len = len;
	return m;
}

static uint8_t framebuf[32 + 4 * (24 + 65536)];

/* One valid message of every type, for the loops below. */
static struct msg
valid_msg(int i)
{
	static const char status[] = "pos=0123456789abcdef/00000001:4152\n"
				     "lag_ms=12\nempty=\n";
	struct msg m = { .db_id = 1, .value = 42 };

	memcpy(m.generation, gen1, 8);
	switch (i) {
	case 0:
		return frames_msg(framebuf, 512, 2, 0);
	case 1:
		return frames_msg(framebuf, 1024, 1, 32 + 5 * (24 + 1024));
	case 2:
		m.type = MSG_SNAPSHOT;
		m.flags = MSG_F_ALL_REPLICAS;
		m.index = 2;
		m.offset = 4152;
		break;
	case 3:
		m.type = MSG_GENERATION;
		m.value = 1;
		break;
	case 4:
		m.type = MSG_ACK;
		m.flags = MSG_F_WANT_SNAPSHOT;
		m.index = 9;
		m.offset = 32;
		m.payload = (const uint8_t *)"s3";
		m.payload_len = 2;
		break;
	case 5:
		m.type = MSG_STATUS;
		m.flags = MSG_F_READY;
		m.payload = (const uint8_t *)status;
		m.payload_len = sizeof(status) - 1;
		break;
	case 7:
		/* A batch too big for a message: in the shadow log only. */
		m.type = MSG_FRAMES;
		m.flags = MSG_F_IN_SHADOW;
		m.index = 3;
		m.page_size = 4096;
		m.offset = 32 + 5 * (24 + 4096);
		m.frame_count = 2000;
		m.value = 2000u * (24 + 4096);
		break;
	default:
		m.type = MSG_SHUTDOWN;
		break;
	}
	return m;
}
#define NVALID 8

static int
msg_eq(const struct msg *a, const struct msg *b)
{
	return a->type == b->type && a->db_id == b->db_id &&
	    a->flags == b->flags &&
	    memcmp(a->generation, b->generation, 8) == 0 &&
	    a->index == b->index && a->page_size == b->page_size &&
	    a->offset == b->offset && a->frame_count == b->frame_count &&
	    a->value == b->value && a->payload_len == b->payload_len &&
	    (a->payload_len == 0 ||
		memcmp(a->payload, b->payload, a->payload_len) == 0);
}

/* Decoding RAW must fail with an error containing WANT. */
#define ASSERT_REJECT(buf, len, want) do { \
	struct msg m_; \
	char e_[200] = ""; \
	int rc_ = msg_decode((buf), (len), &m_, e_, sizeof(e_)); \
	if (rc_ != -1 || strstr(e_, (want)) == NULL) \
		TEST_FAIL_("decode: rc %d, err \"%s\", want \"%s\"", rc_, e_, \
		    (want)); \
} while (0)

/* ------------------------------------------------------------------------
 * CRC-32C and generation names
 * ------------------------------------------------------------------------ */

TEST(crc32c_vectors)
{
	uint8_t zeros[32] = { 0 }, ones[32];
	uint8_t buf[1000];

	memset(ones, 0xff, sizeof(ones));
	/* RFC 3720 B.4 and the usual check value. */
	ASSERT_INT_EQ(msg_crc32c(0, "123456789", 9), 0xe3069283u);
	ASSERT_INT_EQ(msg_crc32c_sw(0, "123456789", 9), 0xe3069283u);
	ASSERT_INT_EQ(msg_crc32c(0, zeros, 32), 0x8a9136aau);
	ASSERT_INT_EQ(msg_crc32c(0, ones, 32), 0x62a8ab43u);
	ASSERT_INT_EQ(msg_crc32c(0, NULL, 0), 0);
	/* Chaining, and the table and hardware paths at every alignment. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (size_t off = 0; off < 9; off++) {
		for (size_t n = 0; n + off <= sizeof(buf); n += 37) {
			uint32_t a = msg_crc32c_sw(0, buf + off, n);
			ASSERT_INT_EQ(msg_crc32c(0, buf + off, n), a);
			uint32_t c = msg_crc32c(0, buf + off, n / 3);
			c = msg_crc32c(c, buf + off + n / 3, n - n / 3);
			ASSERT_INT_EQ(c, a);
		}
	}
}

TEST(generation_hex)
{
	uint8_t g[8], keep[8];
	char hex[17];

	ASSERT_INT_EQ(msg_gen_from_hex("0123456789abcdef", g), 0);
	ASSERT_MEM_EQ(g, gen1, 8);
	msg_gen_to_hex(g, hex);
	ASSERT_STR_EQ(hex, "0123456789abcdef");
	memset(g, 0xff, 8);
	msg_gen_to_hex(g, hex);
	ASSERT_STR_EQ(hex, "ffffffffffffffff");

	static const char *bad[] = { "", "0123456789abcde",
		"0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeg",
		"g123456789abcdef", " 123456789abcdef", "0123456789abcde\n",
		"01234567-9abcdef" };
	memcpy(keep, g, 8);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (msg_gen_from_hex(bad[i], g) != -1 || errno != EINVAL)
			TEST_FAIL_("accepted \"%s\"", bad[i]);
		ASSERT_MEM_EQ(g, keep, 8);
	}
	ASSERT_INT_EQ(msg_gen_from_hex(NULL, g), -1);
}

TEST(type_names)
{
	ASSERT_STR_EQ(msg_type_name(MSG_FRAMES), "frames");
	ASSERT_STR_EQ(msg_type_name(MSG_SHUTDOWN), "shutdown");
	ASSERT(msg_type_name((enum msg_type)0) == NULL);
	ASSERT(msg_type_name((enum msg_type)7) == NULL);
}

/* ------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------ */

TEST(round_trip_every_type)
{
	for (int i = 0; i < NVALID; i++) {
		struct msg m = valid_msg(i), d;
		char err[200] = "";
		size_t len = 0;
		void *buf = msg_encode(&m, &len);

		if (buf == NULL)
			TEST_FAIL_("encode %d: %s", i, strerror(errno));
		ASSERT_INT_EQ(len, MSG_HDR_LEN + m.payload_len);
		if (msg_decode(buf, len, &d, err, sizeof(err)) != 0) {
			nn_freemsg(buf);
			TEST_FAIL_("decode %d: %s", i, err);
		}
		int eq = msg_eq(&m, &d);
		int inbuf = d.payload_len == 0 ? d.payload == NULL :
		    d.payload == (const uint8_t *)buf + MSG_HDR_LEN;
		/* The encoder's bytes are exactly the independent layout. */
		size_t rlen;
		uint8_t *r = raw(&m, &rlen);
		int same = rlen == len && memcmp(r, buf, len) == 0;
		free(r);
		nn_freemsg(buf);
		if (!eq || !inbuf || !same)
			TEST_FAIL_("type %d: eq %d inbuf %d same bytes %d", i,
			    eq, inbuf, same);
	}
}

TEST(wire_layout)
{
	struct msg m = valid_msg(4), d;
	size_t len;
	uint8_t *b = msg_encode(&m, &len);
	char err[200];

	ASSERT(b != NULL);
	/* "PHSW", version 3, type 4 (ack), db 1, flags 1. */
	static const uint8_t head[16] = { 'P', 'H', 'S', 'W', 3, 0, 4, 0, 1,
		0, 0, 0, 1, 0, 0, 0 };
	int ok = memcmp(b, head, 16) == 0 && memcmp(b + 16, gen1, 8) == 0 &&
	    b[24] == 9 && b[32] == 32 && b[44] == 2 && b[48] == 42 &&
	    b[56] == 0 && memcmp(b + 64, "s3", 2) == 0;
	ASSERT_INT_EQ(msg_decode(b, len, &d, err, sizeof(err)), 0);
	nn_freemsg(b);
	ASSERT(ok);
}

TEST(round_trip_edges)
{
	static const uint32_t sizes[] = { 512, 1024, 2048, 4096, 8192, 16384,
		32768, 65536 };
	char name[65], status[MSG_MAX_STATUS + 1];
	struct msg m, d;
	char err[200];
	size_t len;
	void *b;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (uint32_t n = 1; n <= 4; n++) {
			m = frames_msg(framebuf, sizes[i], n, 0);
			b = msg_encode(&m, &len);
			ASSERT(b != NULL);
			int rc = msg_decode(b, len, &d, err, sizeof(err));
			int eq = rc == 0 && msg_eq(&m, &d);
			nn_freemsg(b);
			if (rc != 0)
				TEST_FAIL_("ps %u n %u: %s", sizes[i], n, err);
			ASSERT(eq);
		}
	}
	/* The largest batch that fits the cap. */
	{
		uint32_t ps = 4096, n = (MSG_MAX_PAYLOAD - 32) / (24 + ps);
		uint8_t *big = calloc(1, MSG_MAX_PAYLOAD);
		ASSERT(big != NULL);
		m = (struct msg){ .type = MSG_FRAMES, .page_size = ps,
			.frame_count = n, .payload = big,
			.payload_len = 32 + n * (24 + ps) };
		b = msg_encode(&m, &len);
		int rc = b ? msg_decode(b, len, &d, err, sizeof(err)) : -2;
		nn_freemsg(b);
		free(big);
		ASSERT_INT_EQ(rc, 0);
	}
	/* A 64-byte replica name; printable punctuation is fine. */
	for (int i = 0; i < 64; i++)
		name[i] = (char)('!' + i % 14);
	name[64] = '\0';
	m = valid_msg(4);
	m.payload = (const uint8_t *)name;
	m.payload_len = 64;
	b = msg_encode(&m, &len);
	ASSERT(b != NULL);
	ASSERT_INT_EQ(msg_decode(b, len, &d, err, sizeof(err)), 0);
	nn_freemsg(b);
	/* A status of exactly 4096 bytes, '=' inside a value, and empty. */
	memset(status, 'x', MSG_MAX_STATUS);
	memcpy(status, "k=a=b ", 6);
	status[MSG_MAX_STATUS - 1] = '\n';
	m = valid_msg(5);
	m.payload = (const uint8_t *)status;
	m.payload_len = MSG_MAX_STATUS;
	b = msg_encode(&m, &len);
	ASSERT(b != NULL);
	ASSERT_INT_EQ(msg_decode(b, len, &d, err, sizeof(err)), 0);
	nn_freemsg(b);
	m.payload = NULL;
	m.payload_len = 0;
	m.flags = 0;
	b = msg_encode(&m, &len);
	ASSERT(b != NULL);
	ASSERT_INT_EQ(msg_decode(b, len, &d, err, sizeof(err)), 0);
	nn_freemsg(b);
	ASSERT(d.payload == NULL);
}

TEST(encode_in_place)
{
	struct msg m = frames_msg(framebuf, 4096, 3, 32 + 24 + 4096), d;
	uint8_t *payload;
	char err[200] = "";
	size_t len;
	void *b;

	m.payload = NULL; /* not read by begin */
	b = msg_encode_begin(&m, &len, &payload, err, sizeof(err));
	ASSERT(b != NULL);
	ASSERT_INT_EQ(len, MSG_HDR_LEN + 3 * (24 + 4096));
	memset(payload, 0xab, m.payload_len);
	ASSERT_INT_EQ(msg_encode_finish(b, err, sizeof(err)), 0);
	ASSERT_INT_EQ(msg_decode(b, len, &d, err, sizeof(err)), 0);
	ASSERT_INT_EQ(d.payload[100], 0xab);
	nn_freemsg(b);

	/* A status whose payload turns out bad: finish refuses it. */
	m = (struct msg){ .type = MSG_STATUS, .payload_len = 4 };
	b = msg_encode_begin(&m, &len, &payload, err, sizeof(err));
	ASSERT(b != NULL);
	memcpy(payload, "abc\n", 4);
	int rc = msg_encode_finish(b, err, sizeof(err));
	nn_freemsg(b);
	ASSERT_INT_EQ(rc, -1);
	ASSERT(strstr(err, "no '='") != NULL);
}

/* msg_encode refuses what msg_decode would drop. */
TEST(encode_rejects_invalid)
{
	struct msg bad[12];
	int n = 0;

	bad[n] = valid_msg(0), bad[n++].page_size = 1000;
	bad[n] = valid_msg(0), bad[n++].frame_count = 3;
	bad[n] = valid_msg(1), bad[n++].offset = 33;
	bad[n] = valid_msg(2), bad[n++].flags = MSG_F_READY;
	bad[n] = valid_msg(3), bad[n++].index = 1;
	bad[n] = valid_msg(4), bad[n].payload = (const uint8_t *)"a/b",
		bad[n++].payload_len = 3;
	bad[n] = valid_msg(4), bad[n++].payload_len = 0;
	bad[n] = valid_msg(5), bad[n].payload = (const uint8_t *)"x\n",
		bad[n++].payload_len = 2;
	bad[n] = valid_msg(6), bad[n++].type = (enum msg_type)9;
	bad[n] = valid_msg(6), bad[n++].payload_len = 1; /* payload NULL */
	bad[n] = valid_msg(5), bad[n++].payload_len = MSG_MAX_STATUS + 1;
	bad[n] = valid_msg(0), bad[n++].payload_len = MSG_MAX_PAYLOAD + 1;
	for (int i = 0; i < n; i++) {
		size_t len;
		errno = 0;
		void *b = msg_encode(&bad[i], &len);
		if (b != NULL) {
			nn_freemsg(b);
			TEST_FAIL_("case %d encoded", i);
		}
		ASSERT_INT_EQ(errno, EINVAL);
	}
}

/* ------------------------------------------------------------------------
 * Every rule of the decoder
 * ------------------------------------------------------------------------ */

/* Builds M raw (valid checksum), expects decode to fail with WANT. */
#define REJECT_MSG(m, want) do { \
	size_t l_; \
	uint8_t *r_ = raw(&(m), &l_); \
	struct msg d_; \
	char e_[200] = ""; \
	int rc_ = msg_decode(r_, l_, &d_, e_, sizeof(e_)); \
	free(r_); \
	if (rc_ != -1 || strstr(e_, (want)) == NULL) \
		TEST_FAIL_("%s: rc %d, err \"%s\", want \"%s\"", #m, rc_, e_, \
		    (want)); \
} while (0)

TEST(decode_header_rules)
{
	struct msg m = valid_msg(4);
	size_t len;
	uint8_t *b;

	/* The raw builder makes a valid message to start from. */
	b = raw(&m, &len);
	{
		struct msg d;
		char e[200];
		int rc = msg_decode(b, len, &d, e, sizeof(e));
		if (rc != 0) {
			free(b);
			TEST_FAIL_("baseline: %s", e);
		}
	}
	b[0] ^= 1, raw_seal(b, len);
	ASSERT_REJECT(b, len, "bad magic");
	b[0] ^= 1, b[4] = 2, raw_seal(b, len);
	ASSERT_REJECT(b, len, "version 2");
	b[4] = 4, raw_seal(b, len);
	ASSERT_REJECT(b, len, "version 4");
	b[4] = 3, b[5] = 1, raw_seal(b, len);
	ASSERT_REJECT(b, len, "version 259");
	b[5] = 0, b[56] = 1, raw_seal(b, len);
	ASSERT_REJECT(b, len, "reserved");
	b[56] = 0, b[59] = 0x80, raw_seal(b, len);
	ASSERT_REJECT(b, len, "reserved");
	b[59] = 0, raw_seal(b, len);
	b[60] ^= 0x10;
	ASSERT_REJECT(b, len, "checksum");
	b[60] ^= 0x10;
	b[64] ^= 0x10; /* payload byte, checksum left stale */
	ASSERT_REJECT(b, len, "checksum");
	b[64] ^= 0x10;
	/* payload_len disagreeing with the bytes received, both ways */
	le32(b + 44, 3), raw_seal(b, len);
	ASSERT_REJECT(b, len, "payload_len 3 but 2");
	le32(b + 44, 1), raw_seal(b, len);
	ASSERT_REJECT(b, len, "payload_len 1 but 2");
	free(b);

	for (uint32_t t = 0; t < 0x10000; t += (t < 16 ? 1 : 4093)) {
		if (t >= 1 && t <= 6)
			continue;
		struct msg s = valid_msg(6);
		b = raw_build(&s, t, 0, &len);
		char want[32];
		snprintf(want, sizeof(want), "unknown type %u", t);
		ASSERT_REJECT(b, len, want);
		free(b);
	}

	/* payload_len over the cap, even with every byte present */
	m = valid_msg(6);
	m.type = MSG_STATUS;
	m.payload_len = MSG_MAX_PAYLOAD + 1;
	m.payload = NULL;
	b = raw(&m, &len);
	ASSERT_REJECT(b, len, "over the cap");
	free(b);

	/* header shorter than 64 bytes */
	ASSERT_REJECT("", 0, "truncated");
	ASSERT_REJECT(NULL, 0, "truncated");
	uint8_t hdr[63] = { 0 };
	ASSERT_REJECT(hdr, sizeof(hdr), "truncated: 63 bytes");
}

TEST(decode_frames_rules)
{
	struct msg m;
	uint64_t fl;

	static const uint32_t bad_ps[] = { 0, 1, 256, 511, 513, 1000, 3072,
		65535, 131072, 0x80000000u };
	for (size_t i = 0; i < sizeof(bad_ps) / sizeof(bad_ps[0]); i++) {
		m = frames_msg(framebuf, 512, 1, 0);
		m.page_size = bad_ps[i];
		REJECT_MSG(m, "bad page_size");
	}
	m = frames_msg(framebuf, 512, 1, 0);
	m.payload_len = 0, m.frame_count = 0;
	REJECT_MSG(m, "empty payload");
	m = frames_msg(framebuf, 512, 1, 0);
	m.payload_len = 32, m.frame_count = 0;
	REJECT_MSG(m, "frame_count 0");
	m = frames_msg(framebuf, 512, 2, 0);
	m.frame_count = 1;
	REJECT_MSG(m, "payload_len 1104 != 568");
	m = frames_msg(framebuf, 512, 2, 0);
	m.frame_count = 3;
	REJECT_MSG(m, "payload_len 1104 != 1640");
	/* the WAL header belongs at offset 0 only */
	m = frames_msg(framebuf, 512, 1, 0);
	m.offset = 32;
	REJECT_MSG(m, "payload_len 568 != 536");
	m = frames_msg(framebuf, 512, 1, 32);
	m.offset = 0;
	REJECT_MSG(m, "payload_len 536 != 568");
	/* offsets off the frame grid */
	static const uint64_t bad_off[] = { 1, 16, 31, 33, 32 + 535,
		32 + 537, 32 + 536 * 1000 + 512 };
	for (size_t i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
		m = frames_msg(framebuf, 512, 1, 32);
		m.offset = bad_off[i];
		REJECT_MSG(m, "not on a frame boundary");
	}
	/* on the grid but the end would pass 2^64 */
	fl = 24 + 4096;
	m = frames_msg(framebuf, 4096, 1, 32);
	m.offset = 32 + ((UINT64_MAX - 32) / fl) * fl;
	REJECT_MSG(m, "overflows");
	/* A batch left in the shadow log: value is its length, by the same
	 * rules, and there is no payload. */
	m = valid_msg(7);
	m.payload = framebuf, m.payload_len = 32;
	REJECT_MSG(m, "payload_len 32 with the in-shadow flag");
	m = valid_msg(7);
	m.value = 0;
	REJECT_MSG(m, "frames: empty batch");
	m = valid_msg(7);
	m.value -= 4120;
	REJECT_MSG(m, "frames: length 8235880 != 8240000");
	m = valid_msg(7);
	m.offset = 0;
	REJECT_MSG(m, "frames: length 8240000 != 8240032");
	m = valid_msg(7);
	m.frame_count = 1, m.value = 4120;
	m.offset = 32 + ((UINT64_MAX - 32) / 4120) * 4120;
	REJECT_MSG(m, "overflows");
	m = frames_msg(framebuf, 512, 1, 0);
	m.flags = MSG_F_WANT_SNAPSHOT;
	REJECT_MSG(m, "frames: unknown flags 0x1");
	m.flags = 0x80000000u;
	REJECT_MSG(m, "unknown flags 0x80000000");
}

TEST(decode_simple_type_rules)
{
	struct msg m;
	uint8_t one = 0;

	m = valid_msg(2);
	m.payload = &one, m.payload_len = 1;
	REJECT_MSG(m, "snapshot: payload_len 1 (want 0)");
	m = valid_msg(2);
	m.flags = MSG_F_READY;
	REJECT_MSG(m, "snapshot: unknown flags 0x2");

	m = valid_msg(3);
	m.index = 1;
	REJECT_MSG(m, "generation: index 1 offset 0 (want 0 0)");
	m = valid_msg(3);
	m.offset = 32;
	REJECT_MSG(m, "generation: index 0 offset 32");
	m = valid_msg(3);
	m.payload = &one, m.payload_len = 1;
	REJECT_MSG(m, "generation: payload_len 1");
	m = valid_msg(3);
	m.flags = 4;
	REJECT_MSG(m, "generation: unknown flags 0x4");

	m = valid_msg(6);
	m.payload = &one, m.payload_len = 1;
	REJECT_MSG(m, "shutdown: payload_len 1");
	m = valid_msg(6);
	m.flags = MSG_F_WANT_SNAPSHOT;
	REJECT_MSG(m, "shutdown: unknown flags 0x1");
}

TEST(decode_ack_rules)
{
	char name[65];
	struct msg m;

	m = valid_msg(4);
	m.payload = NULL, m.payload_len = 0;
	REJECT_MSG(m, "ack: replica name of 0 bytes");
	memset(name, 'a', sizeof(name));
	m = valid_msg(4);
	m.payload = (const uint8_t *)name, m.payload_len = 65;
	REJECT_MSG(m, "ack: replica name of 65 bytes");
	static const char *bad[] = { "a/b", "/", "a\0b", "a\nb", "\x7f",
		"\x80", "\xff", "a b\t", ".", ".." };
	static const uint32_t blen[] = { 3, 1, 3, 3, 1, 1, 1, 4, 1, 2 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = valid_msg(4);
		m.payload = (const uint8_t *)bad[i], m.payload_len = blen[i];
		REJECT_MSG(m, "ack: replica name");
	}
	m = valid_msg(4);
	m.flags = MSG_F_READY;
	REJECT_MSG(m, "ack: unknown flags 0x2");
	/* "..." and ".x" are ordinary names */
	static const char *good[] = { "...", ".x", "s3 backup", "~" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct msg d;
		char e[200];
		size_t len;
		m = valid_msg(4);
		m.payload = (const uint8_t *)good[i];
		m.payload_len = (uint32_t)strlen(good[i]);
		uint8_t *b = raw(&m, &len);
		int rc = msg_decode(b, len, &d, e, sizeof(e));
		free(b);
		if (rc != 0)
			TEST_FAIL_("\"%s\": %s", good[i], e);
	}
}

TEST(decode_status_rules)
{
	static char big[MSG_MAX_STATUS + 2];
	static const struct {
		const char *p;
		const char *want;
	} bad[] = {
		{ "a=1", "does not end with a newline" },
		{ "a=1\nb=2", "line 2 does not end" },
		{ "\n", "line 1 has no '='" },
		{ "a=1\nnovalue\n", "line 2 has no '='" },
		{ "=1\n", "line 1: empty key" },
		{ "a b=1\n", "space in key" },
		{ "a=1\tb\n", "byte 0x09" },
		{ "a=\x7f\n", "byte 0x7f" },
		{ "a=\xc3\xa9\n", "byte 0xc3" },
		{ "a=1\r\n", "byte 0x0d" },
		{ "k\x01=1\n", "byte 0x01" },
	};
	struct msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = valid_msg(5);
		m.payload = (const uint8_t *)bad[i].p;
		m.payload_len = (uint32_t)strlen(bad[i].p);
		REJECT_MSG(m, bad[i].want);
	}
	m = valid_msg(5);
	m.payload = (const uint8_t *)"a=\0\n";
	m.payload_len = 4;
	REJECT_MSG(m, "byte 0x00");
	memset(big, 'x', sizeof(big));
	big[0] = 'k', big[1] = '=', big[MSG_MAX_STATUS] = '\n';
	m = valid_msg(5);
	m.payload = (const uint8_t *)big;
	m.payload_len = MSG_MAX_STATUS + 1;
	REJECT_MSG(m, "status: payload of 4097 bytes (max 4096)");
	m = valid_msg(5);
	m.flags = MSG_F_WANT_SNAPSHOT;
	REJECT_MSG(m, "status: unknown flags 0x1");
}

/* ------------------------------------------------------------------------
 * Corruption: single bytes, truncation, random mutation
 * ------------------------------------------------------------------------ */

TEST(every_single_byte_flip_rejected)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0x55, 0xff };
	long tried = 0;

	for (int i = 0; i < NVALID; i++) {
		struct msg m = valid_msg(i), d;
		size_t len;
		uint8_t *b = msg_encode(&m, &len);
		ASSERT(b != NULL);
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t k = 0; k < sizeof(masks); k++) {
				char e[200];
				b[pos] ^= masks[k];
				int rc = msg_decode(b, len, &d, e, sizeof(e));
				b[pos] ^= masks[k];
				tried++;
				if (rc != -1) {
					nn_freemsg(b);
					TEST_FAIL_("type %d: byte %zu ^ 0x%02x "
					    "accepted", i, pos, masks[k]);
				}
			}
		}
		nn_freemsg(b);
	}
	ASSERT(tried > 4000);
}

TEST(truncated_and_extended_rejected)
{
	for (int i = 0; i < NVALID; i++) {
		struct msg m = valid_msg(i), d;
		size_t len;
		uint8_t *b = msg_encode(&m, &len);
		ASSERT(b != NULL);
		uint8_t *copy = malloc(len + 1);
		ASSERT(copy != NULL);
		memcpy(copy, b, len);
		nn_freemsg(b);
		for (size_t n = 0; n < len; n++) {
			/* A fresh allocation of exactly N bytes, so any read
			 * past the end is caught by ASan/valgrind. */
			uint8_t *t = malloc(n ? n : 1);
			char e[200];
			memcpy(t, copy, n);
			int rc = msg_decode(t, n, &d, e, sizeof(e));
			free(t);
			if (rc != -1) {
				free(copy);
				TEST_FAIL_("type %d: %zu of %zu bytes accepted",
				    i, n, len);
			}
		}
		copy[len] = 0;
		char e[200];
		int rc = msg_decode(copy, len + 1, &d, e, sizeof(e));
		free(copy);
		ASSERT_INT_EQ(rc, -1);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/*
 * Random mutations of valid messages, half of them with the checksum
 * resealed so the per-type rules are reached. Nothing may crash or read
 * out of bounds; whatever decodes must re-encode to the very same bytes
 * (the decoder accepts only what the encoder could have produced).
 */
TEST(random_mutation_fuzz)
{
	enum { ITERS = 5000, CAP = 4096 };
	long accepted = 0, rejected = 0;

	for (int it = 0; it < ITERS; it++) {
		struct msg m = valid_msg((int)(rng() % NVALID)), d;
		size_t len, n;
		uint8_t *enc = msg_encode(&m, &len);
		uint8_t *b = malloc(CAP);
		ASSERT(enc != NULL && b != NULL);
		n = len < CAP ? len : CAP;
		memcpy(b, enc, n);
		nn_freemsg(enc);
		for (uint32_t k = 1 + rng() % 6; k > 0; k--) {
			uint32_t op = rng() % 6, pos = n ? rng() % n : 0;
			if (op == 0 && n > 0)
				b[pos] = (uint8_t)rng();
			else if (op == 1 && n > 0)
				b[pos] ^= (uint8_t)(1u << (rng() % 8));
			else if (op == 2)
				n = rng() % (n + 1);
			else if (op == 3 && n < CAP)
				b[n++] = (uint8_t)rng();
			else if (op == 4 && n >= MSG_HDR_LEN)
				/* a plausible payload_len */
				le32(b + 44, (uint32_t)(n - MSG_HDR_LEN));
			else if (op == 5 && n >= MSG_HDR_LEN)
				/* a small header field, e.g. page_size */
				le32(b + 4 * (rng() % 15), rng() % 70000);
		}
		if ((rng() & 1) && n >= MSG_HDR_LEN)
			raw_seal(b, n);
		/* exact-size copy so ASan sees any overread */
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, b, n);
		free(b);
		char e[200];
		if (msg_decode(t, n, &d, e, sizeof(e)) == 0) {
			size_t len2;
			uint8_t *re = msg_encode(&d, &len2);
			int same = re != NULL && len2 == n &&
			    memcmp(re, t, n) == 0;
			nn_freemsg(re);
			if (!same) {
				free(t);
				TEST_FAIL_("iteration %d: accepted message "
				    "does not re-encode identically", it);
			}
			accepted++;
		} else {
			rejected++;
		}
		free(t);
	}
	printf("  fuzz: %ld accepted, %ld rejected\n", accepted, rejected);
	ASSERT(rejected > ITERS / 2);
}

int
main(void)
{
	RUN(crc32c_vectors);
	RUN(generation_hex);
	RUN(type_names);
	RUN(round_trip_every_type);
	RUN(wire_layout);
	RUN(round_trip_edges);
	RUN(encode_in_place);
	RUN(encode_rejects_invalid);
	RUN(decode_header_rules);
	RUN(decode_frames_rules);
	RUN(decode_simple_type_rules);
	RUN(decode_ack_rules);
	RUN(decode_status_rules);
	RUN(every_single_byte_flip_rejected);
	RUN(truncated_and_extended_rejected);
	RUN(random_mutation_fuzz);
	return TEST_DONE();
}
