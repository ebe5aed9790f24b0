/*
 * Internal helpers shared by the files of the stun module: network byte
 * order access, padding, the per-attribute size rules, address coding and
 * the writer's attribute reservation.
 */
#ifndef TURNPIKE_STUN_PRIVATE_H
#define TURNPIKE_STUN_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "turnpike/stun.h"

/* An XOR-*-ADDRESS or *-ADDRESS value: 4 bytes then an IPv4 (8 in all) or
 * IPv6 (20 in all) address (RFC 8489 §14.1, §14.2). */
#define STUN_ADDR_V4_SIZE   8
#define STUN_ADDR_V6_SIZE   20
#define STUN_ADDR_FAMILY_V4 0x01
#define STUN_ADDR_FAMILY_V6 0x02

static inline uint16_t stun_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t stun_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void stun_set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void stun_set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 8489 §14: attribute values are padded to a multiple of 4 bytes. */
static inline size_t stun_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* attr.c: checks the size (and for addresses the family) of a known
 * attribute's value. Returns 0, EBADMSG when impossible, ENOENT when this
 * codec does not know the type. */
int stun_attr_check(uint16_t type, const uint8_t *value, size_t len);

/* addr.c: checks an address value's size against its family byte.
 * Returns 0 or EBADMSG. */
int stun_addr_check(const uint8_t *value, size_t len);
/* addr.c: decodes an address value; tid is the transaction ID for the XOR
 * forms (RFC 8489 §14.2), NULL for the plain ones. Returns 0 or EBADMSG. */
int stun_addr_decode(const uint8_t *value, size_t len, const uint8_t *tid,
                     struct sockaddr_storage *out);
/* addr.c: encodes addr into out; tid as above. Returns the value size (8 or
 * 20), or 0 for a family other than AF_INET and AF_INET6. */
size_t stun_addr_encode(uint8_t out[STUN_ADDR_V6_SIZE],
                        const struct sockaddr *addr, const uint8_t *tid);

/* writer.c: appends an attribute header for a value of len bytes, zeroes
 * its padding, updates the header length field, and returns where the value
 * goes; NULL (and the writer failed) when it does not fit. */
uint8_t *stun_writer_reserve(struct stun_writer *w, uint16_t type, size_t len);
/* writer.c: marks the writer failed (ENOBUFS at stun_writer_finish()). */
void stun_writer_fail(struct stun_writer *w);

/* crc32.c: CRC-32 of ISO/HDLC (ITU-T V.42), as FINGERPRINT uses it. */
uint32_t stun_crc32(const uint8_t *buf, size_t len);

#endif
