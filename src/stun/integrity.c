/*
 * MESSAGE-INTEGRITY (RFC 8489 §14.5), MESSAGE-INTEGRITY-SHA256 (§14.6), the
 * long-term key (§9.2.2) and USERHASH (§14.4), with OpenSSL's libcrypto.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "stun_private.h"

/* One piece of a digest's input. */
struct stun_span {
	const void *data;
	size_t len;
};

/*
 * HMAC over a message prefix: the header with its length field replaced by
 * body_len, then the bytes from the end of the header up to end. RFC 8489
 * §14.5 and §14.6 have the length count the message up to and including the
 * integrity attribute, whatever follows it; the received buffer stays
 * untouched, so the header is rewritten in a copy.
 */
static int stun_hmac(const char *digest, const uint8_t *key, size_t key_len,
                     const uint8_t *buf, size_t end, uint16_t body_len,
                     uint8_t *out, size_t out_size)
{
	static const uint8_t empty_key[1];
	uint8_t header[STUN_HEADER_SIZE];
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	int rc = ENOMEM;

	memcpy(header, buf, STUN_HEADER_SIZE);
	stun_set16(header + 2, body_len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac != NULL)
		ctx = EVP_MAC_CTX_new(mac);
	/* A NULL key would mean "keep the previous one" to EVP_MAC_init. */
	if (ctx != NULL &&
	    EVP_MAC_init(ctx, key_len > 0 ? key : empty_key, key_len, params) ==
	        1 &&
	    EVP_MAC_update(ctx, header, sizeof(header)) == 1 &&
	    EVP_MAC_update(ctx, buf + STUN_HEADER_SIZE,
	                   end - STUN_HEADER_SIZE) == 1 &&
	    EVP_MAC_final(ctx, out, &out_len, out_size) == 1 &&
	    out_len == out_size)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/* Checks the integrity attribute at index against an HMAC with digest;
 * the first attr->length bytes of the HMAC are compared (§14.6 allows the
 * SHA-256 one to be truncated). */
static int stun_check_hmac(const struct stun_msg *msg, int16_t index,
                           const char *digest, const uint8_t *key,
                           size_t key_len)
{
	uint8_t expected[EVP_MAX_MD_SIZE];
	const struct stun_attr *attr;
	size_t start, end, full;
	int rc;

	if (index < 0 || index >= msg->attr_count)
		return ENOENT;
	attr = &msg->attrs[index];
	full = strcmp(digest, "SHA1") == 0 ? STUN_SHA1_SIZE : STUN_SHA256_SIZE;
	if (stun_attr_check(attr->type, stun_attr_value(msg, attr),
	                    attr->length) != 0 ||
	    attr->length > full)
		return EBADMSG;
	start = attr->offset - STUN_ATTR_HEADER_SIZE;
	end = attr->offset + attr->length; /* both sizes are multiples of 4 */
	rc = stun_hmac(digest, key, key_len, msg->buf, start,
	               (uint16_t)(end - STUN_HEADER_SIZE), expected, full);
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
	return stun_check_hmac(msg, msg->integrity_index, "SHA1", key, key_len);
}

int stun_msg_check_integrity_sha256(const struct stun_msg *msg,
                                    const uint8_t *key, size_t key_len)
{
	return stun_check_hmac(msg, msg->integrity_sha256_index, "SHA256", key,
	                       key_len);
}

/* Appends an integrity attribute of size bytes and fills it with the HMAC
 * of the message before it; reserving first puts the attribute in the
 * length field, as §14.5 wants. */
static void stun_put_hmac(struct stun_writer *w, uint16_t type,
                          const char *digest, size_t size, const uint8_t *key,
                          size_t key_len)
{
	uint8_t *dst = stun_writer_reserve(w, type, size);
	size_t start;

	if (dst == NULL)
		return;
	start = (size_t)(dst - w->buf) - STUN_ATTR_HEADER_SIZE;
	if (stun_hmac(digest, key, key_len, w->buf, start,
	              (uint16_t)(w->length - STUN_HEADER_SIZE), dst, size) != 0)
		stun_writer_fail(w); /* never send a zeroed MAC */
}

void stun_put_integrity(struct stun_writer *w, const uint8_t *key,
                        size_t key_len)
{
	stun_put_hmac(w, STUN_ATTR_MESSAGE_INTEGRITY, "SHA1", STUN_SHA1_SIZE,
	              key, key_len);
}

void stun_put_integrity_sha256(struct stun_writer *w, const uint8_t *key,
                               size_t key_len)
{
	stun_put_hmac(w, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "SHA256",
	              STUN_SHA256_SIZE, key, key_len);
}

static int stun_digest(const EVP_MD *md, const struct stun_span *parts,
                       size_t count, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;
	size_t i;

	for (i = 0; ok && i < count; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : ENOMEM;
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
	const EVP_MD *md;
	size_t size;
	int rc;

	/* RFC 8489 §9.2.2, §18.5: MD5 (the RFC 5389 key) or SHA-256. */
	if (algorithm == STUN_PASSWORD_ALGORITHM_MD5) {
		md = EVP_md5();
		size = STUN_MD5_SIZE;
	} else if (algorithm == STUN_PASSWORD_ALGORITHM_SHA256) {
		md = EVP_sha256();
		size = STUN_SHA256_SIZE;
	} else {
		return EINVAL;
	}
	rc = stun_digest(md, parts, sizeof(parts) / sizeof(parts[0]), key);
	if (rc != 0)
		return rc;
	*key_len = size;
	return 0;
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
	return stun_digest(EVP_sha256(), parts,
	                   sizeof(parts) / sizeof(parts[0]), out);
}
