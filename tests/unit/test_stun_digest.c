/*
 * stun_hmac() and stun_digest() (src/stun/digest.c), our RFC 2104 HMAC
 * over digests fetched once: the published vectors of RFC 2202 (HMAC-MD5
 * and HMAC-SHA1) and RFC 4231 (HMAC-SHA256), keys longer than a block,
 * input split across spans, and agreement with OpenSSL's own HMAC() on
 * every key length from 0 to 200 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "turnpike/stun.h"
#include "test_stun.h"

struct hmac_vector {
	enum stun_digest kind;
	uint8_t key_byte; /* the key is key_len times this byte ... */
	size_t key_len;
	const char *key_text; /* ... or this text */
	const char *data;
	const char *mac_hex;
};

static const struct hmac_vector vectors[] = {
    /* RFC 2202 §2, test cases 1, 2, 6 and 7 (HMAC-MD5). */
    {STUN_DIGEST_MD5, 0x0b, 16, NULL, "Hi There",
     "9294727a3638bb1c13f48ef8158bfc9d"},
    {STUN_DIGEST_MD5, 0, 0, "Jefe", "what do ya want for nothing?",
     "750c783e6ab0b503eaa86e310a5db738"},
    {STUN_DIGEST_MD5, 0xaa, 80, NULL,
     "Test Using Larger Than Block-Size Key - Hash Key First",
     "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
    /* RFC 2202 §3, test cases 1, 2, 6 and 7 (HMAC-SHA1). */
    {STUN_DIGEST_SHA1, 0x0b, 20, NULL, "Hi There",
     "b617318655057264e28bc0b6fb378c8ef146be00"},
    {STUN_DIGEST_SHA1, 0, 0, "Jefe", "what do ya want for nothing?",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {STUN_DIGEST_SHA1, 0xaa, 80, NULL,
     "Test Using Larger Than Block-Size Key - Hash Key First",
     "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
    {STUN_DIGEST_SHA1, 0xaa, 80, NULL,
     "Test Using Larger Than Block-Size Key and Larger Than One "
     "Block-Size Data",
     "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
    /* RFC 4231 §4.2, 4.3 and 4.7 (HMAC-SHA256). */
    {STUN_DIGEST_SHA256, 0x0b, 20, NULL, "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {STUN_DIGEST_SHA256, 0, 0, "Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {STUN_DIGEST_SHA256, 0xaa, 131, NULL,
     "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
};

static void hex_of(const uint8_t *bytes, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
}

Test(stun_digest, rfc2202_and_rfc4231_vectors)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct hmac_vector *v = &vectors[i];
		uint8_t key[200], mac[STUN_SHA256_SIZE];
		char hex[2 * STUN_SHA256_SIZE + 1];
		size_t key_len = v->key_len;
		const struct stun_span data = {v->data, strlen(v->data)};

		if (v->key_text != NULL) {
			key_len = strlen(v->key_text);
			memcpy(key, v->key_text, key_len);
		} else {
			memset(key, v->key_byte, key_len);
		}
		OK(stun_hmac(v->kind, key, key_len, &data, 1, mac));
		hex_of(mac, stun_digest_size(v->kind), hex);
		cr_assert_str_eq(hex, v->mac_hex, "vector %zu", i);
	}
}

/* The input may come in any number of pieces, empty ones included. */
Test(stun_digest, spans_are_concatenated)
{
	static const char text[] = "what do ya want for nothing?";
	const struct stun_span whole = {text, sizeof(text) - 1};
	const struct stun_span pieces[] = {
	    {text, 4},
	    {"", 0},
	    {text + 4, 10},
	    {text + 14, sizeof(text) - 15},
	};
	uint8_t a[STUN_SHA1_SIZE], b[STUN_SHA1_SIZE];

	OK(stun_hmac(STUN_DIGEST_SHA1, "Jefe", 4, &whole, 1, a));
	OK(stun_hmac(STUN_DIGEST_SHA1, "Jefe", 4, pieces, 4, b));
	cr_assert_arr_eq(a, b, sizeof(a));
	OK(stun_digest(STUN_DIGEST_SHA256, &whole, 1, a));
}

/* Every key length around the block size (64) and beyond, and the empty
 * key, against OpenSSL's HMAC(). */
Test(stun_digest, agrees_with_openssl_for_every_key_length)
{
	static const enum stun_digest kinds[] = {
	    STUN_DIGEST_MD5, STUN_DIGEST_SHA1, STUN_DIGEST_SHA256};
	const EVP_MD *mds[] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
	uint8_t key[200], data[300];
	size_t k, len;

	for (len = 0; len < sizeof(key); len++)
		key[len] = (uint8_t)(len * 7 + 1);
	for (len = 0; len < sizeof(data); len++)
		data[len] = (uint8_t)(len * 13 + 5);
	for (k = 0; k < 3; k++) {
		for (len = 0; len <= sizeof(key); len++) {
			const struct stun_span span = {data, 37 + len};
			uint8_t ours[STUN_SHA256_SIZE], theirs[EVP_MAX_MD_SIZE];
			unsigned int theirs_len = 0;
			static const uint8_t none[1];

			OK(stun_hmac(kinds[k], key, len, &span, 1, ours));
			cr_assert_not_null(HMAC(mds[k], len > 0 ? key : none,
			                        (int)len, data, 37 + len,
			                        theirs, &theirs_len));
			cr_assert_eq(theirs_len, stun_digest_size(kinds[k]));
			cr_assert_arr_eq(ours, theirs, theirs_len,
			                 "digest %zu, key of %zu bytes", k,
			                 len);
		}
	}
}

Test(stun_digest, unknown_kind_is_refused)
{
	const struct stun_span span = {"x", 1};
	uint8_t out[STUN_SHA256_SIZE];

	cr_assert_eq(stun_digest_size((enum stun_digest)7), 0);
	cr_assert_eq(stun_hmac((enum stun_digest)7, "k", 1, &span, 1, out),
	             EINVAL);
	cr_assert_eq(stun_digest((enum stun_digest)7, &span, 1, out), EINVAL);
}

/* RFC 8489 §9.2.2: MD5 and SHA-256 of "username:realm:password". */
Test(stun_digest, long_term_keys_of_a_user)
{
	uint8_t md5[STUN_MD5_SIZE], sha256[STUN_SHA256_SIZE];
	char hex[2 * STUN_SHA256_SIZE + 1];

	OK(stun_long_term_keys("alice", "example.org", "secret", md5, sha256));
	hex_of(md5, sizeof(md5), hex);
	cr_assert_str_eq(hex, "543e1aec5d3614f03141652d6ada51b2");
	hex_of(sha256, sizeof(sha256), hex);
	cr_assert_str_eq(hex, "d1659fff7a501be15962adc35514ca6a"
	                      "5868905695f2dd1093741f931e000a1f");
}
