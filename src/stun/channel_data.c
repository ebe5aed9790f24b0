/*
 * ChannelData messages (RFC 8656 §12.4) and stream framing (RFC 8656 §12.5,
 * RFC 8489 §6.2.2).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "stun_private.h"

/* RFC 8656 §12: the first two bits tell the two apart: 00 is STUN, 01 is
 * ChannelData (channels 0x4000-0x7FFF, of which 0x5000 up are reserved). */
#define STUN_FIRST_BITS(b) ((b)&0xC0)
#define STUN_BITS_STUN     0x00
#define STUN_BITS_CHANNEL  0x40

int stun_channel_data_decode(const uint8_t *buf, size_t len,
                             struct stun_channel_data *out)
{
	uint16_t channel, length;

	if (len < 1 || STUN_FIRST_BITS(buf[0]) != STUN_BITS_CHANNEL)
		return ENOMSG;
	if (len < STUN_CHANNEL_DATA_HEADER_SIZE)
		return EBADMSG;
	channel = stun_get16(buf);
	length = stun_get16(buf + 2);
	/* RFC 8656 §12.4: a datagram too short for the length is dropped.
	 * Over UDP the padding is optional (§12.5), so 0 to 3 bytes may
	 * follow the data; more than that is not a ChannelData message. */
	if (length > len - STUN_CHANNEL_DATA_HEADER_SIZE)
		return EBADMSG;
	if (len > stun_pad4(STUN_CHANNEL_DATA_HEADER_SIZE + (size_t)length))
		return EBADMSG;
	out->channel = channel;
	out->length = length;
	out->data = buf + STUN_CHANNEL_DATA_HEADER_SIZE;
	return 0;
}

void stun_channel_data_header(uint8_t header[4], uint16_t channel,
                              uint16_t length)
{
	stun_set16(header, channel);
	stun_set16(header + 2, length);
}

int stun_frame_next(const uint8_t *buf, size_t available, size_t max,
                    size_t *frame_len)
{
	size_t len = 0;
	int err;

	*frame_len = 0;
	err = stun_frame_length(buf, available < 4 ? available : 4, &len);
	if (err != 0)
		return err;
	/* A length we would never serve is refused before its bytes are
	 * waited for: a client cannot make us hold 64 KiB it never sends. */
	if (len > max)
		return EMSGSIZE;
	*frame_len = len;
	return available >= len ? 0 : EAGAIN;
}

int stun_frame_length(const uint8_t *buf, size_t len, size_t *frame_len)
{
	uint16_t length;

	/* Both headers say the size in bytes 2-3. */
	if (len < 4)
		return EAGAIN;
	length = stun_get16(buf + 2);
	switch (STUN_FIRST_BITS(buf[0])) {
	case STUN_BITS_STUN:
		/* RFC 8489 §5: always a multiple of 4; anything else means
		 * the stream is not STUN, or lost its framing. */
		if (length % 4 != 0)
			return EBADMSG;
		*frame_len = STUN_HEADER_SIZE + (size_t)length;
		return 0;
	case STUN_BITS_CHANNEL:
		/* RFC 8656 §12.5: over a stream the frame is padded to 4. */
		*frame_len =
		    stun_pad4(STUN_CHANNEL_DATA_HEADER_SIZE + (size_t)length);
		return 0;
	default:
		return EBADMSG;
	}
}
