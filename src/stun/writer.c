/*
 * Encoding a STUN message into a bounded buffer (RFC 8489 §5, §14). The
 * first put that does not fit marks the writer failed; every later put is a
 * no-op, and stun_writer_finish() reports it once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stun_private.h"

/* The length field is 16 bits (RFC 8489 §5). */
#define STUN_BODY_MAX 0xFFFFu

/* RFC 8489 §5: the class bits C0 and C1 sit at bits 4 and 8, between the
 * method's bits. */
static uint16_t stun_writer_type(uint16_t method, uint8_t class)
{
	return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) |
	                  ((method & 0x0F80) << 2) | ((class & 0x1) << 4) |
	                  ((class & 0x2) << 7));
}

void stun_writer_init(struct stun_writer *w, uint8_t *buf, size_t capacity,
                      uint16_t method, uint8_t class, const uint8_t *tid)
{
	w->buf = buf;
	w->capacity = capacity;
	w->length = 0;
	w->overflow = false;
	if (capacity < STUN_HEADER_SIZE) {
		w->overflow = true;
		return;
	}
	stun_set16(buf, stun_writer_type(method, class));
	stun_set16(buf + 2, 0);
	stun_set32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, tid, STUN_TID_SIZE);
	w->length = STUN_HEADER_SIZE;
}

void stun_writer_fail(struct stun_writer *w)
{
	w->overflow = true;
}

uint8_t *stun_writer_reserve(struct stun_writer *w, uint16_t type, size_t len)
{
	size_t padded = stun_pad4(len);
	size_t need = STUN_ATTR_HEADER_SIZE + padded;
	uint8_t *attr;

	if (w->overflow)
		return NULL;
	/* The room left in the buffer, and in the 16-bit length field. */
	if (len > STUN_BODY_MAX || need > w->capacity - w->length ||
	    w->length - STUN_HEADER_SIZE + need > STUN_BODY_MAX) {
		w->overflow = true;
		return NULL;
	}
	attr = w->buf + w->length;
	stun_set16(attr, type);
	stun_set16(attr + 2, (uint16_t)len);
	/* RFC 8489 §14: padding is sent as zeros. */
	memset(attr + STUN_ATTR_HEADER_SIZE + len, 0, padded - len);
	w->length += need;
	stun_set16(w->buf + 2, (uint16_t)(w->length - STUN_HEADER_SIZE));
	return attr + STUN_ATTR_HEADER_SIZE;
}

void stun_put_bytes(struct stun_writer *w, uint16_t type, const void *value,
                    size_t len)
{
	uint8_t *dst = stun_writer_reserve(w, type, len);

	if (dst != NULL && len > 0)
		memcpy(dst, value, len);
}

void stun_put_u32(struct stun_writer *w, uint16_t type, uint32_t value)
{
	uint8_t *dst = stun_writer_reserve(w, type, 4);

	if (dst != NULL)
		stun_set32(dst, value);
}

void stun_put_string(struct stun_writer *w, uint16_t type, const char *s)
{
	stun_put_bytes(w, type, s, strlen(s));
}

static void stun_put_any_address(struct stun_writer *w, uint16_t type,
                                 const struct sockaddr *addr,
                                 const uint8_t *tid)
{
	uint8_t value[STUN_ADDR_V6_SIZE];
	size_t len = stun_addr_encode(value, addr, tid);

	if (len == 0) {
		stun_writer_fail(w);
		return;
	}
	stun_put_bytes(w, type, value, len);
}

void stun_put_address(struct stun_writer *w, uint16_t type,
                      const struct sockaddr *addr)
{
	stun_put_any_address(w, type, addr, NULL);
}

void stun_put_xor_address(struct stun_writer *w, uint16_t type,
                          const struct sockaddr *addr)
{
	if (w->overflow)
		return;
	/* The transaction ID is the one already in the header. */
	stun_put_any_address(w, type, addr, w->buf + 8);
}

/* ERROR-CODE and ADDRESS-ERROR-CODE share one layout (RFC 8489 §14.8, RFC
 * 8656 §18.12); only the first byte differs, reserved or the family. */
static void stun_put_any_error(struct stun_writer *w, uint16_t type,
                               uint8_t first, uint16_t code, const char *reason)
{
	size_t len;
	uint8_t *dst;

	if (code < 300 || code > 699) {
		stun_writer_fail(w);
		return;
	}
	if (reason == NULL)
		reason = stun_error_reason(code);
	len = strlen(reason);
	if (len > STUN_REASON_MAX_BYTES)
		len = STUN_REASON_MAX_BYTES;
	dst = stun_writer_reserve(w, type, 4 + len);
	if (dst == NULL)
		return;
	dst[0] = first;
	dst[1] = 0;
	dst[2] = (uint8_t)(code / 100);
	dst[3] = (uint8_t)(code % 100);
	memcpy(dst + 4, reason, len);
}

void stun_put_error(struct stun_writer *w, uint16_t code, const char *reason)
{
	stun_put_any_error(w, STUN_ATTR_ERROR_CODE, 0, code, reason);
}

void stun_put_address_error(struct stun_writer *w, uint8_t family,
                            uint16_t code, const char *reason)
{
	stun_put_any_error(w, STUN_ATTR_ADDRESS_ERROR_CODE, family, code,
	                   reason);
}

void stun_put_channel(struct stun_writer *w, uint16_t channel)
{
	/* RFC 8656 §18.1: the number, then 16 bits of RFFU. */
	stun_put_u32(w, STUN_ATTR_CHANNEL_NUMBER, (uint32_t)channel << 16);
}

void stun_put_transport(struct stun_writer *w, uint8_t protocol)
{
	/* RFC 8656 §18.8: the protocol, then 24 bits of RFFU. */
	stun_put_u32(w, STUN_ATTR_REQUESTED_TRANSPORT,
	             (uint32_t)protocol << 24);
}

void stun_put_family(struct stun_writer *w, uint16_t type, uint8_t family)
{
	/* RFC 8656 §18.6, §18.11: the family, then 24 bits reserved. */
	stun_put_u32(w, type, (uint32_t)family << 24);
}

void stun_put_even_port(struct stun_writer *w, bool reserve)
{
	/* RFC 8656 §18.7: one byte, the R bit on top. */
	uint8_t value = reserve ? 0x80 : 0x00;

	stun_put_bytes(w, STUN_ATTR_EVEN_PORT, &value, 1);
}

void stun_put_unknown(struct stun_writer *w, const uint16_t *types,
                      size_t count)
{
	uint8_t *dst;
	size_t i;

	if (count > STUN_BODY_MAX / 2) {
		stun_writer_fail(w);
		return;
	}
	dst = stun_writer_reserve(w, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * count);
	if (dst == NULL)
		return;
	for (i = 0; i < count; i++)
		stun_set16(dst + 2 * i, types[i]);
}

void stun_put_password_algorithm(struct stun_writer *w, uint16_t algorithm)
{
	/* RFC 8489 §14.12: the number, then a parameters length of 0: MD5
	 * and SHA-256 take no parameters (§18.5). */
	stun_put_u32(w, STUN_ATTR_PASSWORD_ALGORITHM,
	             (uint32_t)algorithm << 16);
}

void stun_put_password_algorithms(struct stun_writer *w,
                                  const uint16_t *algorithms, size_t count)
{
	uint8_t *dst;
	size_t i;

	if (count > STUN_BODY_MAX / 4) {
		stun_writer_fail(w);
		return;
	}
	dst = stun_writer_reserve(w, STUN_ATTR_PASSWORD_ALGORITHMS, 4 * count);
	if (dst == NULL)
		return;
	for (i = 0; i < count; i++)
		stun_set32(dst + 4 * i, (uint32_t)algorithms[i] << 16);
}

void stun_put_icmp(struct stun_writer *w, uint8_t icmp_type, uint8_t icmp_code,
                   uint32_t error_data)
{
	uint8_t *dst = stun_writer_reserve(w, STUN_ATTR_ICMP, 8);

	if (dst == NULL)
		return;
	/* RFC 8656 §18.13: 2 reserved bytes, type, code, error data. */
	dst[0] = 0;
	dst[1] = 0;
	dst[2] = icmp_type;
	dst[3] = icmp_code;
	stun_set32(dst + 4, error_data);
}

void stun_put_fingerprint(struct stun_writer *w)
{
	uint8_t *dst = stun_writer_reserve(w, STUN_ATTR_FINGERPRINT, 4);
	size_t start;

	if (dst == NULL)
		return;
	/* RFC 8489 §14.7: over everything before the attribute, with the
	 * length field already counting it (reserve updated it). */
	start = (size_t)(dst - w->buf) - STUN_ATTR_HEADER_SIZE;
	stun_set32(dst, stun_fingerprint(w->buf, start));
}

int stun_writer_finish(const struct stun_writer *w, size_t *len)
{
	if (w->overflow)
		return ENOBUFS;
	*len = w->length;
	return 0;
}
