/*
 * libFuzzer target for the stun codec: decodes the input as a STUN message,
 * runs every typed reader on every attribute, checks integrity with a fixed
 * key and the fingerprint, re-encodes what was decoded, and tries the input
 * as ChannelData and as the start of a stream. Any out-of-bounds read is
 * caught by AddressSanitizer; a broken invariant aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 5769's short-term password, so the seed vectors verify. */
static const uint8_t fuzz_key[] = "VOkJxbRl1RmTxUk/WvJxBt";

static void fuzz_readers(const struct stun_msg *msg,
                         const struct stun_attr *attr)
{
	struct sockaddr_storage addr;
	uint16_t u16, list[8];
	uint32_t u32;
	uint8_t u8, code8;
	bool flag;
	const char *reason;
	size_t reason_len, count;

	(void)stun_attr_read_xor_address(msg, attr, &addr);
	(void)stun_attr_read_address(msg, attr, &addr);
	(void)stun_attr_read_u32(msg, attr, &u32);
	(void)stun_attr_read_channel(msg, attr, &u16);
	(void)stun_attr_read_transport(msg, attr, &u8);
	(void)stun_attr_read_family(msg, attr, &u8);
	(void)stun_attr_read_even_port(msg, attr, &flag);
	(void)stun_attr_read_error(msg, attr, &u8, &u16, &reason, &reason_len);
	(void)stun_attr_read_password_algorithm(msg, attr, &u16);
	(void)stun_attr_read_password_algorithms(msg, attr, list, 8, &count);
	(void)stun_attr_read_unknown(msg, attr, list, 8, &count);
	(void)stun_attr_read_icmp(msg, attr, &u8, &code8, &u32);
}

/* Whatever decoded must encode again and decode the same way. */
static void fuzz_reencode(const struct stun_msg *msg)
{
	static uint8_t out[STUN_HEADER_SIZE + 0xFFFF];
	struct stun_writer w;
	struct stun_msg again;
	size_t len, puts = 0;
	uint16_t i;
	const struct stun_attr *attr;

	stun_writer_init(&w, out, sizeof(out), msg->method, msg->class,
	                 msg->transaction_id);
	for (i = 0; i < msg->attr_count; i++) {
		attr = &msg->attrs[i];
		/* These change how the attributes after them are read. */
		if (attr->type == STUN_ATTR_MESSAGE_INTEGRITY ||
		    attr->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
		    attr->type == STUN_ATTR_FINGERPRINT)
			continue;
		stun_put_bytes(&w, attr->type, stun_attr_value(msg, attr),
		               attr->length);
		puts++;
	}
	/* A FINGERPRINT too, when the message has room for one more. */
	if (puts < STUN_MAX_ATTRS && w.length + 8 <= sizeof(out))
		stun_put_fingerprint(&w);
	if (stun_writer_finish(&w, &len) != 0)
		abort();
	if (stun_msg_decode(&again, out, len) != 0)
		abort();
	if (again.method != msg->method || again.class != msg->class ||
	    again.unknown_count != msg->unknown_count)
		abort();
}

static void fuzz_stun(const uint8_t *data, size_t size)
{
	struct stun_msg msg;
	uint16_t i;

	if (stun_msg_decode(&msg, data, size) != 0)
		return;
	for (i = 0; i < msg.attr_count; i++) {
		fuzz_readers(&msg, &msg.attrs[i]);
		if (stun_msg_find(&msg, msg.attrs[i].type) == NULL)
			abort();
	}
	(void)stun_msg_check_integrity(&msg, fuzz_key, sizeof(fuzz_key) - 1);
	(void)stun_msg_check_integrity_sha256(&msg, fuzz_key,
	                                      sizeof(fuzz_key) - 1);
	(void)stun_fingerprint(data, size);
	(void)stun_method_name(msg.method);
	fuzz_reencode(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_channel_data cd;
	size_t frame;
	uint8_t *copy;

	/* A copy of exactly size bytes, so that ASan sees any read past
	 * the end of the datagram. */
	copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	fuzz_stun(copy, size);
	if (stun_channel_data_decode(copy, size, &cd) == 0 &&
	    cd.data + cd.length > copy + size)
		abort();
	if (stun_frame_length(copy, size, &frame) == 0 && frame < 4)
		abort();
	free(copy);
	return 0;
}
