/*
 * Attribute values: the size rules a decoder enforces for each known type,
 * and the typed readers. The readers check the size again themselves, so
 * that any reader is safe on any attribute, whatever its type.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun_private.h"

/* RFC 8489 §14.16: ALTERNATE-DOMAIN is a DNS name, at most 255 bytes. */
#define STUN_ALTERNATE_DOMAIN_MAX 255

static int stun_size_is(size_t len, size_t want)
{
	return len == want ? 0 : EBADMSG;
}

static int stun_size_at_most(size_t len, size_t max)
{
	return len <= max ? 0 : EBADMSG;
}

static int stun_check_error(size_t len)
{
	/* RFC 8489 §14.8 and RFC 8656 §18.12: 4 bytes of class and number,
	 * then a reason phrase of fewer than 128 characters. */
	if (len < 4 || len > 4 + STUN_REASON_MAX_BYTES)
		return EBADMSG;
	return 0;
}

static int stun_check_integrity_sha256(size_t len)
{
	/* RFC 8489 §14.6: truncated to no fewer than 16 bytes, in steps of
	 * 4, and never longer than the 32 of SHA-256. */
	if (len < 16 || len > STUN_SHA256_SIZE || len % 4 != 0)
		return EBADMSG;
	return 0;
}

/*
 * Walks a PASSWORD-ALGORITHM value (one entry) or a PASSWORD-ALGORITHMS
 * value (a list of them): each is an algorithm number, a parameters length
 * and the parameters padded to 4 (RFC 8489 §14.11, §14.12). Stores up to max
 * numbers in algorithms (which may be NULL when max is 0) and counts all.
 */
static int stun_walk_algorithms(const uint8_t *value, size_t len,
                                uint16_t *algorithms, size_t max, size_t *count)
{
	size_t pos = 0, params, n = 0;

	if (len < 4)
		return EBADMSG;
	while (pos < len) {
		if (len - pos < 4)
			return EBADMSG;
		params = stun_get16(value + pos + 2);
		if (params > len - pos - 4)
			return EBADMSG;
		if (n < max)
			algorithms[n] = stun_get16(value + pos);
		n++;
		/* The padding of the last entry is the attribute's own. */
		pos += 4 + stun_pad4(params);
		if (pos > len)
			pos = len;
	}
	*count = n;
	return 0;
}

int stun_attr_check(uint16_t type, const uint8_t *value, size_t len)
{
	size_t count;

	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_XOR_PEER_ADDRESS:
	case STUN_ATTR_XOR_RELAYED_ADDRESS:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case STUN_ATTR_ALTERNATE_SERVER:
		return stun_addr_check(value, len);
	case STUN_ATTR_USERNAME: /* RFC 8489 §14.3 */
		return stun_size_at_most(len, STUN_USERNAME_MAX);
	case STUN_ATTR_REALM: /* RFC 8489 §14.9 */
		return stun_size_at_most(len, STUN_REALM_MAX_BYTES);
	case STUN_ATTR_NONCE: /* RFC 8489 §14.10 */
		return stun_size_at_most(len, STUN_NONCE_MAX_BYTES);
	case STUN_ATTR_SOFTWARE: /* RFC 8489 §14.14 */
		return stun_size_at_most(len, STUN_SOFTWARE_MAX_BYTES);
	case STUN_ATTR_ALTERNATE_DOMAIN:
		return stun_size_at_most(len, STUN_ALTERNATE_DOMAIN_MAX);
	case STUN_ATTR_MESSAGE_INTEGRITY: /* RFC 8489 §14.5: HMAC-SHA1 */
		return stun_size_is(len, STUN_SHA1_SIZE);
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		return stun_check_integrity_sha256(len);
	case STUN_ATTR_USERHASH: /* RFC 8489 §14.4: SHA-256 */
		return stun_size_is(len, STUN_SHA256_SIZE);
	case STUN_ATTR_FINGERPRINT:               /* RFC 8489 §14.7 */
	case STUN_ATTR_CHANNEL_NUMBER:            /* RFC 8656 §18.1 */
	case STUN_ATTR_LIFETIME:                  /* RFC 8656 §18.2 */
	case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:  /* RFC 8656 §18.6 */
	case STUN_ATTR_REQUESTED_TRANSPORT:       /* RFC 8656 §18.8 */
	case STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY: /* RFC 8656 §18.11 */
	case STUN_ATTR_PRIORITY:                  /* RFC 8445 §16.1 */
		return stun_size_is(len, 4);
	case STUN_ATTR_EVEN_PORT: /* RFC 8656 §18.7: one byte */
		return stun_size_is(len, 1);
	case STUN_ATTR_DONT_FRAGMENT: /* RFC 8656 §18.9: no value */
	case STUN_ATTR_USE_CANDIDATE: /* RFC 8445 §16.1: no value */
		return stun_size_is(len, 0);
	case STUN_ATTR_RESERVATION_TOKEN: /* RFC 8656 §18.10 */
	case STUN_ATTR_ICMP:              /* RFC 8656 §18.13 */
		return stun_size_is(len, 8);
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_ADDRESS_ERROR_CODE:
		return stun_check_error(len);
	case STUN_ATTR_UNKNOWN_ATTRIBUTES: /* RFC 8489 §14.13: 16-bit types */
		return len % 2 == 0 ? 0 : EBADMSG;
	case STUN_ATTR_PASSWORD_ALGORITHM:
	case STUN_ATTR_PASSWORD_ALGORITHMS:
		return stun_walk_algorithms(value, len, NULL, 0, &count);
	case STUN_ATTR_DATA: /* RFC 8656 §18.4: any size */
		return 0;
	default:
		return ENOENT;
	}
}

int stun_attr_read_u32(const struct stun_msg *msg, const struct stun_attr *attr,
                       uint32_t *out)
{
	if (attr->length != 4)
		return EBADMSG;
	*out = stun_get32(stun_attr_value(msg, attr));
	return 0;
}

int stun_attr_read_channel(const struct stun_msg *msg,
                           const struct stun_attr *attr, uint16_t *out)
{
	/* RFC 8656 §18.1: the number, then 16 bits of RFFU. The range
	 * check is the caller's: ChannelBind answers 400 to a bad number. */
	if (attr->length != 4)
		return EBADMSG;
	*out = stun_get16(stun_attr_value(msg, attr));
	return 0;
}

int stun_attr_read_transport(const struct stun_msg *msg,
                             const struct stun_attr *attr, uint8_t *out)
{
	/* RFC 8656 §18.8: the protocol number, then 24 bits of RFFU. */
	if (attr->length != 4)
		return EBADMSG;
	*out = stun_attr_value(msg, attr)[0];
	return 0;
}

int stun_attr_read_family(const struct stun_msg *msg,
                          const struct stun_attr *attr, uint8_t *out)
{
	/* RFC 8656 §18.6, §18.11: the family, then 24 bits reserved. */
	if (attr->length != 4)
		return EBADMSG;
	*out = stun_attr_value(msg, attr)[0];
	return 0;
}

int stun_attr_read_even_port(const struct stun_msg *msg,
                             const struct stun_attr *attr, bool *reserve)
{
	/* RFC 8656 §18.7: the R bit is the top bit; the other 7 are RFFU. */
	if (attr->length != 1)
		return EBADMSG;
	*reserve = (stun_attr_value(msg, attr)[0] & 0x80) != 0;
	return 0;
}

int stun_attr_read_error(const struct stun_msg *msg,
                         const struct stun_attr *attr, uint8_t *family,
                         uint16_t *code, const char **reason,
                         size_t *reason_len)
{
	const uint8_t *value = stun_attr_value(msg, attr);
	uint8_t class, number;

	if (stun_check_error(attr->length) != 0)
		return EBADMSG;
	/* RFC 8489 §14.8: the class (3 bits, 3 to 6) is the hundreds, the
	 * number (0 to 99) the rest. */
	class = value[2] & 0x07;
	number = value[3];
	if (class < 3 || class > 6 || number > 99)
		return EBADMSG;
	if (family != NULL)
		*family = value[0];
	*code = (uint16_t)(class * 100 + number);
	*reason = (const char *)value + 4;
	*reason_len = attr->length - 4u;
	return 0;
}

int stun_attr_read_password_algorithm(const struct stun_msg *msg,
                                      const struct stun_attr *attr,
                                      uint16_t *algorithm)
{
	size_t count;
	uint16_t first;
	int rc;

	rc = stun_walk_algorithms(stun_attr_value(msg, attr), attr->length,
	                          &first, 1, &count);
	/* RFC 8489 §14.12: exactly one algorithm. */
	if (rc != 0 || count != 1)
		return EBADMSG;
	*algorithm = first;
	return 0;
}

int stun_attr_read_password_algorithms(const struct stun_msg *msg,
                                       const struct stun_attr *attr,
                                       uint16_t *algorithms, size_t max,
                                       size_t *count)
{
	return stun_walk_algorithms(stun_attr_value(msg, attr), attr->length,
	                            algorithms, max, count);
}

int stun_attr_read_unknown(const struct stun_msg *msg,
                           const struct stun_attr *attr, uint16_t *types,
                           size_t max, size_t *count)
{
	const uint8_t *value = stun_attr_value(msg, attr);
	size_t i, n;

	if (attr->length % 2 != 0)
		return EBADMSG;
	n = attr->length / 2u;
	for (i = 0; i < n && i < max; i++)
		types[i] = stun_get16(value + 2 * i);
	*count = n;
	return 0;
}

int stun_attr_read_icmp(const struct stun_msg *msg,
                        const struct stun_attr *attr, uint8_t *icmp_type,
                        uint8_t *icmp_code, uint32_t *error_data)
{
	const uint8_t *value = stun_attr_value(msg, attr);

	if (attr->length != 8)
		return EBADMSG;
	*icmp_type = value[2];
	*icmp_code = value[3];
	*error_data = stun_get32(value + 4);
	return 0;
}
