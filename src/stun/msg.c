/*
 * Decoding a STUN message in place (RFC 8489 §5, §6.3, §14): the header
 * checks, then one walk over the attributes that bounds-checks every read,
 * checks each known attribute's size, applies the MESSAGE-INTEGRITY
 * ordering rules and verifies FINGERPRINT.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun_private.h"

/* Where the walk is relative to the integrity attributes, which decides
 * which of the attributes that follow count (RFC 8489 §14.5, §14.6). */
enum stun_walk_state {
	STUN_WALK_OPEN,              /* before any integrity attribute */
	STUN_WALK_AFTER_INTEGRITY,   /* after MESSAGE-INTEGRITY */
	STUN_WALK_AFTER_INTEGRITY256 /* after MESSAGE-INTEGRITY-SHA256 */
};

struct stun_walk {
	struct stun_msg *msg;
	enum stun_walk_state state;
};

/* RFC 8489 §5: the method's 12 bits are interleaved with the class's 2. */
static void stun_msg_split_type(uint16_t type, uint16_t *method, uint8_t *class)
{
	*method = (uint16_t)((type & 0x000F) | ((type >> 1) & 0x0070) |
	                     ((type >> 2) & 0x0F80));
	*class = (uint8_t)(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}

static int stun_msg_check_header(const uint8_t *buf, size_t len)
{
	size_t body;

	/* RFC 8489 §6.3: not STUN unless the top two bits are zero and the
	 * magic cookie is there; the caller then tries ChannelData. */
	if (len < STUN_HEADER_SIZE)
		return ENOMSG;
	if ((buf[0] & 0xC0) != 0)
		return ENOMSG;
	if (stun_get32(buf + 4) != STUN_MAGIC_COOKIE)
		return ENOMSG;
	/* RFC 8489 §5: the length counts everything after the header and is
	 * a multiple of 4, since every attribute is padded. */
	body = stun_get16(buf + 2);
	if (body % 4 != 0 || body != len - STUN_HEADER_SIZE)
		return EBADMSG;
	return 0;
}

/* Which attributes a decoder acts on, given where the walk is (RFC 8489
 * §9, §14.5, §14.6): after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT count; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
 * The rest are skipped unread: neither checked nor listed as unknown. */
static bool stun_walk_counts(const struct stun_walk *walk, uint16_t type)
{
	if (type == STUN_ATTR_FINGERPRINT)
		return true;
	switch (walk->state) {
	case STUN_WALK_OPEN:
		return true;
	case STUN_WALK_AFTER_INTEGRITY:
		return type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
	default:
		return false;
	}
}

static void stun_msg_note_unknown(struct stun_msg *msg, uint16_t type)
{
	uint8_t i;

	/* RFC 8489 §6.3.1: the 420 lists each unknown type once; past
	 * STUN_MAX_UNKNOWN the first ones are enough to say why. */
	for (i = 0; i < msg->unknown_count; i++)
		if (msg->unknown[i] == type)
			return;
	if (msg->unknown_count < STUN_MAX_UNKNOWN)
		msg->unknown[msg->unknown_count++] = type;
}

/* RFC 8489 §14.7: FINGERPRINT is last, and covers what comes before it;
 * the length field already counts it, since nothing follows. */
static int stun_msg_check_fingerprint(const struct stun_msg *msg,
                                      size_t attr_start, size_t value_end)
{
	const uint8_t *value = msg->buf + attr_start + STUN_ATTR_HEADER_SIZE;

	if (value_end != msg->length)
		return EBADMSG;
	if (stun_get32(value) != stun_fingerprint(msg->buf, attr_start))
		return EBADMSG;
	return 0;
}

/* Records one attribute that counts and updates the walk's state. */
static int stun_walk_add(struct stun_walk *walk, uint16_t type, size_t offset,
                         uint16_t length)
{
	struct stun_msg *msg = walk->msg;
	int16_t index = (int16_t)msg->attr_count;
	int rc;

	if (msg->attr_count >= STUN_MAX_ATTRS)
		return EBADMSG;
	rc = stun_attr_check(type, msg->buf + offset, length);
	if (rc == ENOENT && stun_attr_is_required(type))
		stun_msg_note_unknown(msg, type);
	else if (rc != 0 && rc != ENOENT)
		return rc;
	msg->attrs[index].type = type;
	msg->attrs[index].length = length;
	msg->attrs[index].offset = (uint32_t)offset;
	msg->attr_count++;
	if (type == STUN_ATTR_MESSAGE_INTEGRITY) {
		msg->integrity_index = index;
		walk->state = STUN_WALK_AFTER_INTEGRITY;
	} else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
		msg->integrity_sha256_index = index;
		walk->state = STUN_WALK_AFTER_INTEGRITY256;
	} else if (type == STUN_ATTR_FINGERPRINT) {
		msg->fingerprint_index = index;
	}
	return 0;
}

static int stun_msg_walk(struct stun_msg *msg)
{
	struct stun_walk walk = {.msg = msg, .state = STUN_WALK_OPEN};
	size_t pos = STUN_HEADER_SIZE;
	uint16_t type, length;
	size_t padded;
	int rc;

	while (pos < msg->length) {
		if (msg->length - pos < STUN_ATTR_HEADER_SIZE)
			return EBADMSG;
		type = stun_get16(msg->buf + pos);
		length = stun_get16(msg->buf + pos + 2);
		/* RFC 8489 §14: the padding is part of the message, and its
		 * bytes are ignored whatever they hold (RFC 5769 uses 0x20). */
		padded = stun_pad4(length);
		if (padded > msg->length - pos - STUN_ATTR_HEADER_SIZE)
			return EBADMSG;
		if (stun_walk_counts(&walk, type)) {
			rc = stun_walk_add(&walk, type,
			                   pos + STUN_ATTR_HEADER_SIZE, length);
			if (rc != 0)
				return rc;
		}
		if (type == STUN_ATTR_FINGERPRINT) {
			rc = stun_msg_check_fingerprint(
			    msg, pos, pos + STUN_ATTR_HEADER_SIZE + padded);
			if (rc != 0)
				return rc;
		}
		pos += STUN_ATTR_HEADER_SIZE + padded;
	}
	return 0;
}

int stun_msg_decode(struct stun_msg *msg, const uint8_t *buf, size_t len)
{
	int rc;

	memset(msg, 0, offsetof(struct stun_msg, attrs));
	msg->integrity_index = -1;
	msg->integrity_sha256_index = -1;
	msg->fingerprint_index = -1;
	msg->unknown_count = 0;
	rc = stun_msg_check_header(buf, len);
	if (rc != 0)
		return rc;
	msg->buf = buf;
	msg->length = len;
	stun_msg_split_type(stun_get16(buf), &msg->method, &msg->class);
	msg->transaction_id = buf + 8;
	return stun_msg_walk(msg);
}

const struct stun_attr *stun_msg_find(const struct stun_msg *msg, uint16_t type)
{
	uint16_t i;

	for (i = 0; i < msg->attr_count; i++)
		if (msg->attrs[i].type == type)
			return &msg->attrs[i];
	return NULL;
}
