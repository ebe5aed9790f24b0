/*
 * Stream framing (RFC 8656 §12.5, RFC 8489 §6.2.2): cutting STUN messages
 * and padded ChannelData out of a TCP or TLS byte stream, whatever the
 * sizes of the reads that deliver it.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "turnpike/stun.h"

#define OK(expr)          cr_assert_eq((expr), 0, "%s", #expr)
#define FAILS(expr, want) cr_assert_eq((expr), (want), "%s", #expr)

/* The largest frame the worker takes (WORKER_MAX_PAYLOAD). */
#define MAX 4028

static const uint8_t tid[STUN_TID_SIZE] = {1, 2, 3, 4,  5,  6,
                                           7, 8, 9, 10, 11, 12};

/* A stream reader as the worker runs one: bytes arrive in chunks; every
 * whole frame is taken off the front. Returns the number of frames, their
 * sizes in sizes[], or -err on a framing error. */
struct reader {
	uint8_t buf[3 * MAX];
	size_t have;
	size_t sizes[16];
	size_t frames;
};

static int feed(struct reader *r, const uint8_t *data, size_t len)
{
	size_t frame_len;
	int err;

	memcpy(r->buf + r->have, data, len);
	r->have += len;
	while ((err = stun_frame_next(r->buf, r->have, MAX, &frame_len)) == 0) {
		r->sizes[r->frames++] = frame_len;
		memmove(r->buf, r->buf + frame_len, r->have - frame_len);
		r->have -= frame_len;
	}
	return err == EAGAIN ? 0 : -err;
}

static size_t binding_request(uint8_t *buf, size_t size)
{
	struct stun_writer w;
	size_t len = 0;

	stun_writer_init(&w, buf, size, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
	                 tid);
	stun_put_string(&w, STUN_ATTR_SOFTWARE, "frame test");
	stun_put_fingerprint(&w);
	cr_assert_eq(stun_writer_finish(&w, &len), 0);
	return len;
}

static size_t channel_data(uint8_t *buf, uint16_t channel, size_t length)
{
	size_t padded = (4 + length + 3) & ~(size_t)3;

	memset(buf, 0, padded);
	stun_channel_data_header(buf, channel, (uint16_t)length);
	memset(buf + 4, 'x', length);
	return padded;
}

Test(stream_frame, a_message_one_byte_at_a_time)
{
	uint8_t msg[128];
	size_t len = binding_request(msg, sizeof(msg)), i, frame_len = 99;
	struct reader r = {0};
	struct stun_msg decoded;

	/* Before a whole header nothing is known. */
	FAILS(stun_frame_next(msg, 3, MAX, &frame_len), EAGAIN);
	cr_assert_eq(frame_len, 0);
	/* With the header the size is known, the frame not yet whole. */
	FAILS(stun_frame_next(msg, 4, MAX, &frame_len), EAGAIN);
	cr_assert_eq(frame_len, len);
	for (i = 0; i < len; i++) {
		OK(feed(&r, msg + i, 1));
		cr_assert_eq(r.frames, i + 1 == len ? 1u : 0u);
	}
	cr_assert_eq(r.sizes[0], len);
	cr_assert_eq(r.have, 0);
	OK(stun_msg_decode(&decoded, msg, r.sizes[0]));
}

Test(stream_frame, channel_data_is_padded_to_four_bytes)
{
	uint8_t stream[256];
	size_t n = 0, sizes[] = {0, 1, 2, 3, 4, 5}, i;
	struct reader r = {0};
	struct stun_channel_data cd;

	for (i = 0; i < 6; i++)
		n += channel_data(stream + n, (uint16_t)(0x4000 + i), sizes[i]);
	/* RFC 8656 §12.5: 4 + length rounded up to 4. */
	OK(feed(&r, stream, n));
	cr_assert_eq(r.frames, 6);
	cr_assert_eq(r.have, 0);
	for (i = 0, n = 0; i < 6; i++) {
		cr_assert_eq(r.sizes[i], (4 + sizes[i] + 3) & ~(size_t)3);
		/* The padded frame decodes with its unpadded length. */
		OK(stun_channel_data_decode(stream + n, r.sizes[i], &cd));
		cr_assert_eq(cd.length, sizes[i]);
		cr_assert_eq(cd.channel, 0x4000 + i);
		n += r.sizes[i];
	}
}

Test(stream_frame, channel_data_and_stun_interleaved_in_odd_reads)
{
	uint8_t stream[512], *p = stream;
	size_t n, chunk, i, expect[4];
	struct reader r = {0};

	expect[0] = channel_data(p, 0x4001, 5);
	p += expect[0];
	expect[1] = binding_request(p, 128);
	p += expect[1];
	expect[2] = channel_data(p, 0x4FFF, 7);
	p += expect[2];
	expect[3] = binding_request(p, 128);
	p += expect[3];
	n = (size_t)(p - stream);
	/* Reads of 7 bytes cut headers and padding in every place. */
	for (i = 0; i < n; i += chunk) {
		chunk = n - i < 7 ? n - i : 7;
		OK(feed(&r, stream + i, chunk));
	}
	cr_assert_eq(r.frames, 4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(r.sizes[i], expect[i]);
}

Test(stream_frame, oversize_lengths_are_refused_from_the_header)
{
	const uint8_t stun_64k[] = {0x00, 0x03, 0xFF, 0xFC,
	                            0x21, 0x12, 0xA4, 0x42};
	const uint8_t cd_64k[] = {0x40, 0x00, 0xFF, 0xFF};
	uint8_t at_max[4], over_max[4];
	size_t frame_len;

	/* Four bytes suffice: the rest is never waited for. */
	FAILS(stun_frame_next(stun_64k, 4, MAX, &frame_len), EMSGSIZE);
	FAILS(stun_frame_next(cd_64k, 4, MAX, &frame_len), EMSGSIZE);
	/* A ChannelData frame of exactly max bytes is fine, one more not. */
	stun_channel_data_header(at_max, 0x4000, MAX - 4);
	FAILS(stun_frame_next(at_max, 4, MAX, &frame_len), EAGAIN);
	cr_assert_eq(frame_len, MAX);
	stun_channel_data_header(over_max, 0x4000, MAX - 3);
	FAILS(stun_frame_next(over_max, 4, MAX, &frame_len), EMSGSIZE);
}

Test(stream_frame, bytes_that_are_neither_close_the_stream)
{
	const uint8_t top10[] = {0x80, 0, 0, 4}, top11[] = {0xC0, 0, 0, 4};
	const uint8_t odd_stun[] = {0x00, 0x01, 0x00, 0x06};
	uint8_t empty_channel[4];
	size_t frame_len;
	struct reader r = {0};

	FAILS(stun_frame_next(top10, 4, MAX, &frame_len), EBADMSG);
	FAILS(stun_frame_next(top11, 4, MAX, &frame_len), EBADMSG);
	/* RFC 8489 §5: a STUN length is a multiple of 4. */
	FAILS(stun_frame_next(odd_stun, 4, MAX, &frame_len), EBADMSG);
	cr_assert_eq(feed(&r, top10, 4), -EBADMSG);
	/* An empty ChannelData message is a frame of its own header. */
	stun_channel_data_header(empty_channel, 0x4000, 0);
	OK(stun_frame_next(empty_channel, 4, MAX, &frame_len));
	cr_assert_eq(frame_len, 4);
}
