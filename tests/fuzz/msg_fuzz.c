/*
 * msg_fuzz: libFuzzer target for msg_decode (ipc/msg.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iipc \
 *       tests/fuzz/msg_fuzz.c ipc/msg.c -lnanomsg -o build/msg_fuzz
 *   mkdir -p build/msg_corpus && build/msg_fuzz build/msg_corpus
 *
 * Properties: decoding never reads outside the input, and whatever decodes
 * re-encodes to the very same bytes (the decoder accepts only messages the
 * encoder could have produced). The custom mutator reseals the checksum
 * of half the mutants, so the fuzzer gets past it to the per-type rules;
 * the corpus starts with one valid message of every type.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>

#include "msg.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
    unsigned int seed);

static void
reseal(uint8_t *b, size_t len)
{
	uint32_t crc = msg_crc32c(0, b, 60);

	crc = msg_crc32c(crc, b + MSG_HDR_LEN, len - MSG_HDR_LEN);
	for (int i = 0; i < 4; i++)
		b[60 + i] = (uint8_t)(crc >> (8 * i));
}

/* Valid message number I of the seed set, encoded into DATA. */
static size_t
seed_msg(unsigned int i, uint8_t *data, size_t max_size)
{
	static uint8_t frames[32 + 2 * (24 + 512)];
	struct msg m = { .db_id = 1, .index = 2, .value = 3 };
	size_t len;
	void *buf;

	switch (i % 6) {
	case 0:
		m.type = MSG_FRAMES;
		m.page_size = 512;
		m.frame_count = 2;
		m.payload = frames;
		m.payload_len = sizeof(frames);
		break;
	case 1:
		m.type = MSG_SNAPSHOT;
		break;
	case 2:
		m.type = MSG_GENERATION;
		m.index = 0;
		break;
	case 3:
		m.type = MSG_ACK;
		m.payload = (const uint8_t *)"s3";
		m.payload_len = 2;
		break;
	case 4:
		m.type = MSG_STATUS;
		m.payload = (const uint8_t *)"a=1\nb=\n";
		m.payload_len = 7;
		break;
	default:
		m.type = MSG_SHUTDOWN;
		break;
	}
	buf = msg_encode(&m, &len);
	if (buf == NULL || len > max_size) {
		nn_freemsg(buf);
		return 0;
	}
	memcpy(data, buf, len);
	nn_freemsg(buf);
	return len;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
    unsigned int seed)
{
	if (size < MSG_HDR_LEN && (seed & 7) == 0) {
		size_t n = seed_msg(seed >> 3, data, max_size);
		if (n > 0)
			return n;
	}
	size = LLVMFuzzerMutate(data, size, max_size);
	if ((seed & 1) && size >= MSG_HDR_LEN)
		reseal(data, size);
	return size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m;
	char err[200];
	size_t len;
	void *buf;

	if (msg_decode(data, size, &m, err, sizeof(err)) != 0)
		return 0;
	buf = msg_encode(&m, &len);
	if (buf == NULL || len != size || memcmp(buf, data, size) != 0)
		abort();
	nn_freemsg(buf);
	return 0;
}
