/*
 * libFuzzer target for stream framing (RFC 8656 §12.5): the input is a TCP
 * byte stream, delivered in reads whose sizes the first byte picks. Every
 * frame the reader cuts must fit in what arrived and in the bound, and must
 * decode as what its first bits say: ChannelData always (its length made
 * the frame), STUN or an error, never a read out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The worker's bound (WORKER_MAX_PAYLOAD). */
#define FRAME_MAX 4028

static size_t serve(const uint8_t *buf, size_t have)
{
	struct stun_channel_data cd;
	struct stun_msg msg;
	size_t frame_len, used = 0;
	int err;

	while ((err = stun_frame_next(buf + used, have - used, FRAME_MAX,
	                              &frame_len)) == 0) {
		if (frame_len < 4 || frame_len > FRAME_MAX ||
		    frame_len > have - used)
			abort();
		if ((buf[used] & 0xC0) == 0x40) {
			if (stun_channel_data_decode(buf + used, frame_len,
			                             &cd) != 0)
				abort();
		} else {
			(void)stun_msg_decode(&msg, buf + used, frame_len);
		}
		used += frame_len;
	}
	if (err != EAGAIN)
		return SIZE_MAX; /* the connection would close */
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[2 * FRAME_MAX + 256];
	size_t have = 0, step, used;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	while (size > 0) {
		size_t chunk = size < step ? size : step;

		if (have + chunk > sizeof(buf))
			return 0;
		memcpy(buf + have, data, chunk);
		have += chunk;
		data += chunk;
		size -= chunk;
		used = serve(buf, have);
		if (used == SIZE_MAX)
			return 0;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	return 0;
}
