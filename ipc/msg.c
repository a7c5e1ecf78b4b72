/*
 * msg: the codec of msg.h.
 *
 * The header is read and written byte by byte in little-endian order, so a
 * received buffer needs no alignment. Decoding checks, in this order: the
 * length of the header, magic, version, type, reserved, payload_len against
 * the bytes received and the cap, the checksum, and then the rules of the
 * type (flags, sizes, payload syntax). The same per-type rules run when
 * encoding, so a process cannot send what its peer would drop.
 *
 * CRC-32C (Castagnoli, reflected 0x82F63B78) uses the SSE4.2 instruction
 * when the CPU has it and a 256-entry table otherwise; both give the same
 * result (msg_test checks one against the other).
 */
#include "msg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <nanomsg/nn.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

/* Field offsets in the header (see msg.h). */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_TYPE 6
#define OFF_DB_ID 8
#define OFF_FLAGS 12
#define OFF_GENERATION 16
#define OFF_INDEX 24
#define OFF_PAGE_SIZE 28
#define OFF_OFFSET 32
#define OFF_FRAME_COUNT 40
#define OFF_PAYLOAD_LEN 44
#define OFF_VALUE 48
#define OFF_RESERVED 56
#define OFF_CHECKSUM 60

#define WAL_HDR_LEN 32
#define WAL_FRAME_HDR_LEN 24

/* ------------------------------------------------------------------------
 * CRC-32C
 * ------------------------------------------------------------------------ */

/* crc32c_table[i]: the CRC of the byte i, reflected polynomial 0x82F63B78. */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t
msg_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

uint32_t
msg_crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, buf, len);
#endif
	return msg_crc32c_sw(crc, buf, len);
}

/* ------------------------------------------------------------------------
 * Little-endian access
 * ------------------------------------------------------------------------ */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* ------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = EINVAL;
	return -1;
}

const char *
msg_type_name(enum msg_type type)
{
	switch (type) {
	case MSG_FRAMES:
		return "frames";
	case MSG_SNAPSHOT:
		return "snapshot";
	case MSG_GENERATION:
		return "generation";
	case MSG_ACK:
		return "ack";
	case MSG_STATUS:
		return "status";
	case MSG_SHUTDOWN:
		return "shutdown";
	}
	return NULL;
}

/* The flag bits each type may carry. */
static uint32_t
known_flags(enum msg_type type)
{
	switch (type) {
	case MSG_ACK:
		return MSG_F_WANT_SNAPSHOT;
	case MSG_STATUS:
		return MSG_F_READY;
	case MSG_SNAPSHOT:
		return MSG_F_ALL_REPLICAS;
	case MSG_FRAMES:
		return MSG_F_IN_SHADOW;
	default:
		return 0;
	}
}

static int
check_frames(const struct msg *m, char *err, size_t errlen)
{
	uint64_t frame_len, hdr_len, want, len;
	bool in_shadow = (m->flags & MSG_F_IN_SHADOW) != 0;

	if (m->page_size < 512 || m->page_size > 65536 ||
	    (m->page_size & (m->page_size - 1)) != 0)
		return fail(err, errlen, "frames: bad page_size %" PRIu32,
		    m->page_size);
	if (in_shadow && m->payload_len != 0)
		return fail(err, errlen, "frames: payload_len %" PRIu32
		    " with the in-shadow flag (want 0)", m->payload_len);
	/* The batch's length: the payload's, or value for one left in the
	 * shadow log. */
	len = in_shadow ? m->value : m->payload_len;
	if (len == 0)
		return fail(err, errlen, in_shadow ? "frames: empty batch" :
		    "frames: empty payload");
	if (m->frame_count == 0)
		return fail(err, errlen, "frames: frame_count 0");
	frame_len = WAL_FRAME_HDR_LEN + (uint64_t)m->page_size;
	if (m->offset != 0 && (m->offset < WAL_HDR_LEN ||
	    (m->offset - WAL_HDR_LEN) % frame_len != 0))
		return fail(err, errlen,
		    "frames: offset %" PRIu64 " is not on a frame boundary "
		    "for page_size %" PRIu32, m->offset, m->page_size);
	/* Cannot overflow: frame_count < 2^32, frame_len <= 65560. */
	hdr_len = m->offset == 0 ? WAL_HDR_LEN : 0;
	want = hdr_len + (uint64_t)m->frame_count * frame_len;
	if (want != len)
		return fail(err, errlen,
		    "frames: %s %" PRIu64 " != %" PRIu64 " for %" PRIu32
		    " frames of page_size %" PRIu32 " at offset %" PRIu64,
		    in_shadow ? "length" : "payload_len", len, want,
		    m->frame_count, m->page_size, m->offset);
	if (m->offset > UINT64_MAX - len)
		return fail(err, errlen, "frames: offset %" PRIu64
		    " + length overflows", m->offset);
	return 0;
}

static int
check_ack(const struct msg *m, int with_payload, char *err, size_t errlen)
{
	const uint8_t *p = m->payload;

	if (m->payload_len == 0 || m->payload_len > MSG_MAX_REPLICA_NAME)
		return fail(err, errlen,
		    "ack: replica name of %" PRIu32 " bytes (want 1..%d)",
		    m->payload_len, MSG_MAX_REPLICA_NAME);
	if (!with_payload)
		return 0;
	for (uint32_t i = 0; i < m->payload_len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '/')
			return fail(err, errlen,
			    "ack: replica name byte %" PRIu32 " is 0x%02x",
			    i, p[i]);
	}
	/* The name may become a path component on the receiving side. */
	if ((m->payload_len == 1 && p[0] == '.') ||
	    (m->payload_len == 2 && p[0] == '.' && p[1] == '.'))
		return fail(err, errlen, "ack: replica name \"%.*s\"",
		    (int)m->payload_len, (const char *)p);
	return 0;
}

/* "key=value\n" lines: key non-empty, printable, no space and no '='; value
 * printable ASCII (may be empty). An empty payload is a bare heartbeat. */
static int
check_status(const struct msg *m, int with_payload, char *err, size_t errlen)
{
	const uint8_t *p = m->payload;
	uint32_t n = m->payload_len, line = 1, key = 0;
	int in_value = 0;

	if (n > MSG_MAX_STATUS)
		return fail(err, errlen, "status: payload of %" PRIu32
		    " bytes (max %d)", n, MSG_MAX_STATUS);
	if (!with_payload)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\n') {
			if (!in_value)
				return fail(err, errlen,
				    "status: line %" PRIu32 " has no '='", line);
			line++;
			key = 0;
			in_value = 0;
		} else if (c < 0x20 || c > 0x7e) {
			return fail(err, errlen,
			    "status: line %" PRIu32 ": byte 0x%02x", line, c);
		} else if (in_value) {
			continue;
		} else if (c == '=') {
			if (key == 0)
				return fail(err, errlen,
				    "status: line %" PRIu32 ": empty key", line);
			in_value = 1;
		} else if (c == ' ') {
			return fail(err, errlen,
			    "status: line %" PRIu32 ": space in key", line);
		} else {
			key++;
		}
	}
	if (n > 0 && p[n - 1] != '\n')
		return fail(err, errlen, "status: line %" PRIu32
		    " does not end with a newline", line);
	return 0;
}

/*
 * The per-type rules. WITH_PAYLOAD: M->payload holds M->payload_len bytes
 * whose syntax is checked too; otherwise only the header fields are.
 */
static int
check_type(const struct msg *m, int with_payload, char *err, size_t errlen)
{
	const char *name = msg_type_name(m->type);
	uint32_t extra;

	if (name == NULL)
		return fail(err, errlen, "unknown type %d", (int)m->type);
	extra = m->flags & ~known_flags(m->type);
	if (extra != 0)
		return fail(err, errlen, "%s: unknown flags 0x%" PRIx32, name,
		    extra);
	if (m->payload_len > MSG_MAX_PAYLOAD)
		return fail(err, errlen, "%s: payload_len %" PRIu32
		    " over the cap %u", name, m->payload_len, MSG_MAX_PAYLOAD);
	switch (m->type) {
	case MSG_FRAMES:
		return check_frames(m, err, errlen);
	case MSG_GENERATION:
		if (m->index != 0 || m->offset != 0)
			return fail(err, errlen, "generation: index %" PRIu32
			    " offset %" PRIu64 " (want 0 0)", m->index,
			    m->offset);
		__attribute__((fallthrough));
	case MSG_SNAPSHOT:
	case MSG_SHUTDOWN:
		if (m->payload_len != 0)
			return fail(err, errlen, "%s: payload_len %" PRIu32
			    " (want 0)", name, m->payload_len);
		return 0;
	case MSG_ACK:
		return check_ack(m, with_payload, err, errlen);
	case MSG_STATUS:
		return check_status(m, with_payload, err, errlen);
	}
	return fail(err, errlen, "unknown type %d", (int)m->type);
}

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

static void
put_header(uint8_t *h, const struct msg *m)
{
	put32(h + OFF_MAGIC, MSG_MAGIC);
	put16(h + OFF_VERSION, MSG_VERSION);
	put16(h + OFF_TYPE, (uint16_t)m->type);
	put32(h + OFF_DB_ID, m->db_id);
	put32(h + OFF_FLAGS, m->flags);
	memcpy(h + OFF_GENERATION, m->generation, 8);
	put32(h + OFF_INDEX, m->index);
	put32(h + OFF_PAGE_SIZE, m->page_size);
	put64(h + OFF_OFFSET, m->offset);
	put32(h + OFF_FRAME_COUNT, m->frame_count);
	put32(h + OFF_PAYLOAD_LEN, m->payload_len);
	put64(h + OFF_VALUE, m->value);
	put32(h + OFF_RESERVED, 0);
	put32(h + OFF_CHECKSUM, 0);
}

/* The fields of header H; M->payload points just past it. */
static void
get_header(const uint8_t *h, struct msg *m)
{
	m->type = (enum msg_type)get16(h + OFF_TYPE);
	m->db_id = get32(h + OFF_DB_ID);
	m->flags = get32(h + OFF_FLAGS);
	memcpy(m->generation, h + OFF_GENERATION, 8);
	m->index = get32(h + OFF_INDEX);
	m->page_size = get32(h + OFF_PAGE_SIZE);
	m->offset = get64(h + OFF_OFFSET);
	m->frame_count = get32(h + OFF_FRAME_COUNT);
	m->payload_len = get32(h + OFF_PAYLOAD_LEN);
	m->value = get64(h + OFF_VALUE);
	m->payload = m->payload_len > 0 ? h + MSG_HDR_LEN : NULL;
}

void *
msg_encode_begin(const struct msg *m, size_t *len, uint8_t **payload,
    char *err, size_t errlen)
{
	uint8_t *buf;
	size_t n;

	if (check_type(m, 0, err, errlen) < 0)
		return NULL;
	n = MSG_HDR_LEN + (size_t)m->payload_len;
	buf = nn_allocmsg(n, 0);
	if (buf == NULL) {
		fail(err, errlen, "nn_allocmsg of %zu bytes failed", n);
		errno = ENOMEM;
		return NULL;
	}
	put_header(buf, m);
	*len = n;
	*payload = buf + MSG_HDR_LEN;
	return buf;
}

int
msg_encode_finish(void *buf, char *err, size_t errlen)
{
	uint8_t *h = buf;
	struct msg m;
	uint32_t crc;

	get_header(h, &m);
	if (check_type(&m, 1, err, errlen) < 0)
		return -1;
	crc = msg_crc32c(0, h, OFF_CHECKSUM);
	crc = msg_crc32c(crc, h + MSG_HDR_LEN, m.payload_len);
	put32(h + OFF_CHECKSUM, crc);
	return 0;
}

void *
msg_encode(const struct msg *m, size_t *len)
{
	uint8_t *payload;
	char err[160];
	void *buf;

	if (m->payload_len > 0 && m->payload == NULL)
		return errno = EINVAL, NULL;
	buf = msg_encode_begin(m, len, &payload, err, sizeof(err));
	if (buf == NULL)
		return NULL;
	if (m->payload_len > 0)
		memcpy(payload, m->payload, m->payload_len);
	if (msg_encode_finish(buf, err, sizeof(err)) < 0) {
		nn_freemsg(buf);
		errno = EINVAL;
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------ */

int
msg_decode(const void *buf, size_t len, struct msg *m, char *err,
    size_t errlen)
{
	const uint8_t *h = buf;
	uint32_t v, crc, want;
	uint16_t t;

	memset(m, 0, sizeof(*m));
	if (buf == NULL || len < MSG_HDR_LEN)
		return fail(err, errlen, "truncated: %zu bytes, header is %d",
		    len, MSG_HDR_LEN);
	if ((v = get32(h + OFF_MAGIC)) != MSG_MAGIC)
		return fail(err, errlen, "bad magic 0x%08" PRIx32, v);
	if ((t = get16(h + OFF_VERSION)) != MSG_VERSION)
		return fail(err, errlen, "version %u, want %d", t, MSG_VERSION);
	t = get16(h + OFF_TYPE);
	if (msg_type_name((enum msg_type)t) == NULL)
		return fail(err, errlen, "unknown type %u", t);
	if ((v = get32(h + OFF_RESERVED)) != 0)
		return fail(err, errlen, "reserved field 0x%08" PRIx32 " not 0",
		    v);
	v = get32(h + OFF_PAYLOAD_LEN);
	if (v > MSG_MAX_PAYLOAD)
		return fail(err, errlen, "payload_len %" PRIu32
		    " over the cap %u", v, MSG_MAX_PAYLOAD);
	if (len - MSG_HDR_LEN != v)
		return fail(err, errlen, "payload_len %" PRIu32
		    " but %zu payload bytes received", v, len - MSG_HDR_LEN);
	crc = msg_crc32c(0, h, OFF_CHECKSUM);
	crc = msg_crc32c(crc, h + MSG_HDR_LEN, v);
	if ((want = get32(h + OFF_CHECKSUM)) != crc)
		return fail(err, errlen, "checksum 0x%08" PRIx32
		    " != computed 0x%08" PRIx32, want, crc);

	get_header(h, m);
	if (check_type(m, 1, err, errlen) < 0) {
		memset(m, 0, sizeof(*m));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Generation names
 * ------------------------------------------------------------------------ */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
msg_gen_from_hex(const char *hex, uint8_t gen[8])
{
	uint8_t out[8];

	if (hex == NULL)
		return errno = EINVAL, -1;
	for (int i = 0; i < 8; i++) {
		int hi = hexval(hex[2 * i]), lo;
		if (hi < 0)
			return errno = EINVAL, -1;
		lo = hexval(hex[2 * i + 1]);
		if (lo < 0)
			return errno = EINVAL, -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[16] != '\0')
		return errno = EINVAL, -1;
	memcpy(gen, out, 8);
	return 0;
}

void
msg_gen_to_hex(const uint8_t gen[8], char hex[17])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 8; i++) {
		hex[2 * i] = digits[gen[i] >> 4];
		hex[2 * i + 1] = digits[gen[i] & 0xf];
	}
	hex[16] = '\0';
}
