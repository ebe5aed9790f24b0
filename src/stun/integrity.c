/*
 * MESSAGE-INTEGRITY (RFC 8489 §14.5), MESSAGE-INTEGRITY-SHA256 (§14.6), the
 * long-term key (§9.2.2) and USERHASH (§14.4), with OpenSSL's libcrypto.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "stun_private.h"

/*
 * HMAC over a message prefix: the header with its length field replaced by
 * body_len, then the bytes from the end of the header up to end. RFC 8489
 * §14.5 and §14.6 have the length count the message up to and including the
 * integrity attribute, whatever follows it; the received buffer stays
 * untouched, so the header is rewritten in a copy.
 */
static int message_hmac(enum stun_digest kind, const uint8_t *key,
                        size_t key_len, const uint8_t *buf, size_t end,
                        uint16_t body_len, uint8_t *out)
{
	uint8_t header[STUN_HEADER_SIZE];
	const struct stun_span parts[] = {
	    {header, sizeof(header)},
	    {buf + STUN_HEADER_SIZE, end - STUN_HEADER_SIZE},
	};

	memcpy(header, buf, STUN_HEADER_SIZE);
	stun_set16(header + 2, body_len);
	return stun_hmac(kind, key, key_len, parts, 2, out);
}

/* Checks the integrity attribute at index against an HMAC with digest;
 * the first attr->length bytes of the HMAC are compared (§14.6 allows the
 * SHA-256 one to be truncated). */
static int stun_check_hmac(const struct stun_msg *msg, int16_t index,
                           enum stun_digest kind, const uint8_t *key,
                           size_t key_len)
{
	uint8_t expected[STUN_SHA256_SIZE];
	const struct stun_attr *attr;
	size_t start, end, full;
	int rc;

	if (index < 0 || index >= msg->attr_count)
		return ENOENT;
	attr = &msg->attrs[index];
	full = stun_digest_size(kind);
	if (stun_attr_check(attr->type, stun_attr_value(msg, attr),
	                    attr->length) != 0 ||
	    attr->length > full)
		return EBADMSG;
	start = attr->offset - STUN_ATTR_HEADER_SIZE;
	end = attr->offset + attr->length; /* both sizes are multiples of 4 */
	rc = message_hmac(kind, key, key_len, msg->buf, start,
	                  (uint16_t)(end - STUN_HEADER_SIZE), expected);
	if (rc != 0)
		return rc;
	/* STYLE: digests are compared in constant time. */
	rc = CRYPTO_memcmp(expected, stun_attr_value(msg, attr),
	                   attr->length) == 0
	         ? 0
	         : EACCES;
	OPENSSL_cleanse(expected, sizeof(expected));
	return rc;
}

int stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *key,
                             size_t key_len)
{
	return stun_check_hmac(msg, msg->integrity_index, STUN_DIGEST_SHA1, key,
	                       key_len);
}

int stun_msg_check_integrity_sha256(const struct stun_msg *msg,
                                    const uint8_t *key, size_t key_len)
{
	return stun_check_hmac(msg, msg->integrity_sha256_index,
	                       STUN_DIGEST_SHA256, key, key_len);
}

/* Appends an integrity attribute of size bytes and fills it with the HMAC
 * of the message before it; reserving first puts the attribute in the
 * length field, as §14.5 wants. */
static void stun_put_hmac(struct stun_writer *w, uint16_t type,
                          enum stun_digest kind, const uint8_t *key,
                          size_t key_len)
{
	uint8_t *dst = stun_writer_reserve(w, type, stun_digest_size(kind));
	size_t start;

	if (dst == NULL)
		return;
	start = (size_t)(dst - w->buf) - STUN_ATTR_HEADER_SIZE;
	if (message_hmac(kind, key, key_len, w->buf, start,
	                 (uint16_t)(w->length - STUN_HEADER_SIZE), dst) != 0)
		stun_writer_fail(w); /* never send a zeroed MAC */
}

void stun_put_integrity(struct stun_writer *w, const uint8_t *key,
                        size_t key_len)
{
	stun_put_hmac(w, STUN_ATTR_MESSAGE_INTEGRITY, STUN_DIGEST_SHA1, key,
	              key_len);
}

void stun_put_integrity_sha256(struct stun_writer *w, const uint8_t *key,
                               size_t key_len)
{
	stun_put_hmac(w, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_DIGEST_SHA256,
	              key, key_len);
}

int stun_long_term_key(uint16_t algorithm, const char *username,
                       size_t username_len, const char *realm, size_t realm_len,
                       const char *password, size_t password_len,
                       uint8_t key[STUN_KEY_MAX], size_t *key_len)
{
	const struct stun_span parts[] = {
	    {username, username_len}, {":", 1}, {realm, realm_len}, {":", 1},
	    {password, password_len},
	};
	enum stun_digest kind;
	int rc;

	/* RFC 8489 §9.2.2, §18.5: MD5 (the RFC 5389 key) or SHA-256. */
	if (algorithm == STUN_PASSWORD_ALGORITHM_MD5)
		kind = STUN_DIGEST_MD5;
	else if (algorithm == STUN_PASSWORD_ALGORITHM_SHA256)
		kind = STUN_DIGEST_SHA256;
	else
		return EINVAL;
	rc = stun_digest(kind, parts, sizeof(parts) / sizeof(parts[0]), key);
	if (rc != 0)
		return rc;
	*key_len = stun_digest_size(kind);
	return 0;
}

int stun_long_term_keys(const char *username, const char *realm,
                        const char *password, uint8_t key_md5[STUN_MD5_SIZE],
                        uint8_t key_sha256[STUN_SHA256_SIZE])
{
	uint8_t key[STUN_KEY_MAX];
	size_t len;
	int rc;

	rc = stun_long_term_key(STUN_PASSWORD_ALGORITHM_MD5, username,
	                        strlen(username), realm, strlen(realm),
	                        password, strlen(password), key, &len);
	if (rc == 0)
		memcpy(key_md5, key, STUN_MD5_SIZE);
	if (rc == 0)
		rc =
		    stun_long_term_key(STUN_PASSWORD_ALGORITHM_SHA256, username,
		                       strlen(username), realm, strlen(realm),
		                       password, strlen(password), key, &len);
	if (rc == 0)
		memcpy(key_sha256, key, STUN_SHA256_SIZE);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int stun_userhash(const char *username, size_t username_len, const char *realm,
                  size_t realm_len, uint8_t out[STUN_SHA256_SIZE])
{
	const struct stun_span parts[] = {
	    {username, username_len},
	    {":", 1},
	    {realm, realm_len},
	};

	/* RFC 8489 §14.4: SHA-256 of the OpaqueString-processed username,
	 * a colon and the realm. */
	return stun_digest(STUN_DIGEST_SHA256, parts,
	                   sizeof(parts) / sizeof(parts[0]), out);
}
