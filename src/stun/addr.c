/*
 * Address attributes (RFC 8489 §14.1, §14.2): MAPPED-ADDRESS and
 * ALTERNATE-SERVER in the clear; XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS and
 * XOR-RELAYED-ADDRESS xored with the magic cookie and transaction ID.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "stun_private.h"

/* RFC 8489 §14.2: the port is xored with the cookie's top 16 bits, an IPv4
 * address with the cookie, an IPv6 address with the cookie then the
 * transaction ID. mask receives those 16 bytes; NULL tid: all zero. */
static void stun_addr_mask(const uint8_t *tid, uint8_t mask[16])
{
	if (tid == NULL) {
		memset(mask, 0, 16);
		return;
	}
	stun_set32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, tid, STUN_TID_SIZE);
}

static void stun_xor(uint8_t *dst, const uint8_t *src, const uint8_t *mask,
                     size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[i] ^ mask[i];
}

int stun_addr_check(const uint8_t *value, size_t len)
{
	/* RFC 8489 §14.1: family 0x01 with 4 address bytes, or 0x02 with
	 * 16. Size and family are checked together: a family that disagrees
	 * with the size would have us read past the value. */
	if (len == STUN_ADDR_V4_SIZE && value[1] == STUN_ADDR_FAMILY_V4)
		return 0;
	if (len == STUN_ADDR_V6_SIZE && value[1] == STUN_ADDR_FAMILY_V6)
		return 0;
	return EBADMSG;
}

int stun_addr_decode(const uint8_t *value, size_t len, const uint8_t *tid,
                     struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	uint8_t mask[16];
	uint16_t port;

	if (stun_addr_check(value, len) != 0)
		return EBADMSG;
	stun_addr_mask(tid, mask);
	port = stun_get16(value + 2) ^ stun_get16(mask);
	memset(out, 0, sizeof(*out));
	if (len == STUN_ADDR_V4_SIZE) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		stun_xor((uint8_t *)&sin->sin_addr, value + 4, mask, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		stun_xor(sin6->sin6_addr.s6_addr, value + 4, mask, 16);
	}
	return 0;
}

size_t stun_addr_encode(uint8_t out[STUN_ADDR_V6_SIZE],
                        const struct sockaddr *addr, const uint8_t *tid)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
	uint8_t mask[16];

	stun_addr_mask(tid, mask);
	out[0] = 0; /* RFC 8489 §14.1: reserved, zero */
	if (addr->sa_family == AF_INET) {
		out[1] = STUN_ADDR_FAMILY_V4;
		stun_set16(out + 2, ntohs(sin->sin_port) ^ stun_get16(mask));
		stun_xor(out + 4, (const uint8_t *)&sin->sin_addr, mask, 4);
		return STUN_ADDR_V4_SIZE;
	}
	if (addr->sa_family == AF_INET6) {
		out[1] = STUN_ADDR_FAMILY_V6;
		stun_set16(out + 2, ntohs(sin6->sin6_port) ^ stun_get16(mask));
		stun_xor(out + 4, sin6->sin6_addr.s6_addr, mask, 16);
		return STUN_ADDR_V6_SIZE;
	}
	return 0;
}

int stun_attr_read_xor_address(const struct stun_msg *msg,
                               const struct stun_attr *attr,
                               struct sockaddr_storage *out)
{
	return stun_addr_decode(stun_attr_value(msg, attr), attr->length,
	                        msg->transaction_id, out);
}

int stun_attr_read_address(const struct stun_msg *msg,
                           const struct stun_attr *attr,
                           struct sockaddr_storage *out)
{
	return stun_addr_decode(stun_attr_value(msg, attr), attr->length, NULL,
	                        out);
}
