/*
 * msg: the messages walship's processes exchange over nanomsg, and their
 * codec. This header is the whole protocol; ipc/ is the only place that knows
 * nanomsg and these formats.
 *
 * Every message is a fixed 64-byte little-endian header followed by a
 * payload of payload_len bytes:
 *
 *   off size field
 *     0    4 magic        MSG_MAGIC
 *     4    2 version      MSG_VERSION (bumped whenever this file changes)
 *     6    2 type         enum msg_type
 *     8    4 db_id        which database (index in the supervisor's list)
 *    12    4 flags        type-specific, see below
 *    16    8 generation   the 16-hex-char generation name as 8 bytes
 *    24    4 index        WAL index
 *    28    4 page_size
 *    32    8 offset       byte offset in that index's WAL
 *    40    4 frame_count
 *    44    4 payload_len
 *    48    8 value        type-specific 64-bit value (see below)
 *    56    4 reserved     must be 0
 *    60    4 checksum     CRC-32C of bytes 0..59 and of the payload
 *
 * The decoder checks every field: magic, version, a known type, reserved 0,
 * payload_len equal to the bytes received and at most MSG_MAX_PAYLOAD, the
 * checksum, and the per-type rules below. A message that fails any check is
 * logged and dropped, never acted upon. Flag bits a type does not define
 * are an error. Fields a type does not mention are not interpreted.
 *
 * Types:
 *  MSG_FRAMES    walreader -> uploader. payload = bytes [offset, offset+len)
 *                of the shadow WAL of (generation, index): at offset 0 the
 *                32-byte WAL header followed by whole frames, elsewhere whole
 *                frames only (len - (offset==0 ? 32 : 0) is a multiple of
 *                24 + page_size, frame_count says how many); the last frame
 *                is a commit frame. The shadow log on disk is the truth: a
 *                lost or out-of-order message only means "read the shadow".
 *                Checked: page_size a power of two in 512..65536,
 *                frame_count >= 1, payload_len == (offset==0 ? 32 : 0) +
 *                frame_count * (24 + page_size), offset 0 or
 *                32 + k * (24 + page_size).
 *                flags MSG_F_IN_SHADOW: the batch was too big for one
 *                message and is in the shadow log only (durable, like every
 *                batch): no payload, value = its length, which obeys the
 *                rules above in payload_len's place. It tells the uploader
 *                to upload now rather than at its next sync-interval tick.
 *  MSG_SNAPSHOT  walreader -> uploader: a snapshot of (generation, index) is
 *                ready in the meta directory; offset = the shadow position it
 *                holds (the image equals the database at (index, offset)).
 *                value = the snapshot's creation time (ns since the epoch).
 *                No payload. flags MSG_F_ALL_REPLICAS: the walreader cut it
 *                on its own (snapshot-wal-bytes), every uploader uploads
 *                it; without it, only an uploader that asked does.
 *  MSG_GENERATION walreader -> uploader: a new generation started; index and
 *                offset are 0. flags: MSG_F_* reason is in value (enum).
 *                No payload, no flags.
 *  MSG_ACK       uploader -> walreader: the replica named in the payload
 *                (1..64 bytes, no NUL) is durable up to (generation, index,
 *                offset). flags MSG_F_WANT_SNAPSHOT: it asks for a snapshot.
 *                The name is printable ASCII without '/', and neither "."
 *                nor "..", as it may name a file on the receiving side.
 *  MSG_STATUS    child -> supervisor: heartbeat and figures. payload is
 *                "key=value\n" lines (printable ASCII, at most 4 KiB);
 *                flags MSG_F_READY on the first one after start-up.
 *                Each line ends with '\n'; its key is non-empty and holds
 *                no space and no '='; its value may be empty. An empty
 *                payload is a bare heartbeat.
 *  MSG_SHUTDOWN  any -> peer: finish what you hold and exit. No payload,
 *                no flags.
 */
#ifndef WALSHIP_MSG_H
#define WALSHIP_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_MAGIC 0x57534850u /* "PHSW" on the wire: walship */
#define MSG_VERSION 3
#define MSG_HDR_LEN 64
/* Batches are capped well below nanomsg's receive limit, which the sockets
 * set explicitly to MSG_HDR_LEN + MSG_MAX_PAYLOAD. */
#define MSG_MAX_PAYLOAD (4u * 1024 * 1024)
#define MSG_MAX_REPLICA_NAME 64
#define MSG_MAX_STATUS 4096

enum msg_type {
	MSG_FRAMES = 1,
	MSG_SNAPSHOT = 2,
	MSG_GENERATION = 3,
	MSG_ACK = 4,
	MSG_STATUS = 5,
	MSG_SHUTDOWN = 6,
};

#define MSG_F_WANT_SNAPSHOT 0x1u
#define MSG_F_READY 0x2u
#define MSG_F_ALL_REPLICAS 0x4u
#define MSG_F_IN_SHADOW 0x8u

struct msg {
	enum msg_type type;
	uint32_t db_id;
	uint32_t flags;
	uint8_t generation[8];
	uint32_t index;
	uint32_t page_size;
	uint64_t offset;
	uint32_t frame_count;
	uint64_t value;
	const uint8_t *payload; /* points into the received buffer */
	uint32_t payload_len;
};

/*
 * Encodes M (payload included) into a new buffer from nn_allocmsg, ready for
 * nn_send(..., NN_MSG, ...); *len gets its size. NULL on error (errno).
 */
void *msg_encode(const struct msg *m, size_t *len);
/*
 * The same in two steps, so a large payload is written in place (read from
 * the shadow log straight into the message) rather than copied:
 * msg_encode_begin checks M's header fields (M->payload is not read),
 * allocates with nn_allocmsg and writes the header; the caller fills
 * M->payload_len bytes at *PAYLOAD; msg_encode_finish checks the payload and
 * seals the checksum. Either fails with -1/NULL, errno EINVAL (ENOMEM) and
 * ERR filled; after a failed finish the caller still owns BUF and releases
 * it with nn_freemsg.
 */
void *msg_encode_begin(const struct msg *m, size_t *len, uint8_t **payload,
    char *err, size_t errlen);
int msg_encode_finish(void *buf, char *err, size_t errlen);
/*
 * Decodes BUF (LEN bytes, as received) into M, validating every field;
 * M->payload points into BUF. Returns 0, or -1 with ERR describing the first
 * problem found.
 */
int msg_decode(const void *buf, size_t len, struct msg *m, char *err,
    size_t errlen);

/* Generation names: 16 lowercase hex characters <-> 8 bytes. from_hex
 * returns -1 (EINVAL) for anything else, leaving GEN untouched. */
int msg_gen_from_hex(const char *hex, uint8_t gen[8]);
void msg_gen_to_hex(const uint8_t gen[8], char hex[17]);

/* "frames", "ack", ...; NULL for a value outside enum msg_type. */
const char *msg_type_name(enum msg_type type);

/* CRC-32C (Castagnoli), zlib-style chaining: crc = msg_crc32c(0, a, n);
 * crc = msg_crc32c(crc, b, m) gives the CRC of a then b. _sw is the
 * portable table version (msg_crc32c uses SSE4.2 where the CPU has it). */
uint32_t msg_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t msg_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
