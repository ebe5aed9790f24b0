/*
 * Digests and HMACs (RFC 2104) for the integrity attributes, the
 * long-term key, USERHASH, nonces and REST passwords.
 *
 * Why not OpenSSL's HMAC() or EVP_MAC: in OpenSSL 3 each of those looks
 * the algorithm up by name on every call (EVP_MAC_fetch, then the digest
 * inside HMAC_Init_ex), which takes the provider store's lock and
 * allocates several objects; for the 100-byte messages STUN signs that
 * cost three times the hashing (1,130 ns against 330 ns per HMAC-SHA1
 * here). The digests are fetched once per process instead, and HMAC is
 * the two nested digests of RFC 2104 §2 over them.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "stun_private.h"

/* The block size B of RFC 2104 §2 for all three digests. */
#define HMAC_BLOCK 64

static const char *const digest_names[] = {
    [STUN_DIGEST_MD5] = "MD5",
    [STUN_DIGEST_SHA1] = "SHA1",
    [STUN_DIGEST_SHA256] = "SHA256",
};
static const size_t digest_sizes[] = {
    [STUN_DIGEST_MD5] = STUN_MD5_SIZE,
    [STUN_DIGEST_SHA1] = STUN_SHA1_SIZE,
    [STUN_DIGEST_SHA256] = STUN_SHA256_SIZE,
};
#define DIGEST_COUNT (sizeof(digest_names) / sizeof(digest_names[0]))

/* Fetched once and kept for the life of the process (a fork() inherits
 * them); the load generator calls in from several threads. */
static EVP_MD *digests[DIGEST_COUNT];
static pthread_once_t digests_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	size_t i;

	for (i = 0; i < DIGEST_COUNT; i++)
		digests[i] = EVP_MD_fetch(NULL, digest_names[i], NULL);
}

/* kind must be valid. */
static const EVP_MD *digest_md(enum stun_digest kind)
{
	pthread_once(&digests_once, fetch_digests);
	return digests[kind];
}

size_t stun_digest_size(enum stun_digest kind)
{
	return (size_t)kind < DIGEST_COUNT ? digest_sizes[kind] : 0;
}

/* One digest over a prefix block (NULL for none) and the spans. */
static bool digest_into(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *block,
                        const struct stun_span *parts, size_t count,
                        uint8_t *out)
{
	bool ok =
	    EVP_DigestInit_ex2(ctx, md, NULL) == 1 &&
	    (block == NULL || EVP_DigestUpdate(ctx, block, HMAC_BLOCK) == 1);
	size_t i;

	for (i = 0; ok && i < count; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
	return ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
}

int stun_digest(enum stun_digest kind, const struct stun_span *parts,
                size_t count, uint8_t *out)
{
	if ((size_t)kind >= DIGEST_COUNT)
		return EINVAL;
	const EVP_MD *md = digest_md(kind);
	EVP_MD_CTX *ctx = md != NULL ? EVP_MD_CTX_new() : NULL;
	bool ok = ctx != NULL && digest_into(ctx, md, NULL, parts, count, out);

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : ENOMEM;
}

/* RFC 2104 §2: K0 is the key padded with zeros to B bytes, or the
 * digest of a key longer than B, padded likewise. */
static bool hmac_key_block(EVP_MD_CTX *ctx, const EVP_MD *md, const void *key,
                           size_t key_len, uint8_t k0[HMAC_BLOCK])
{
	const struct stun_span whole = {key, key_len};

	memset(k0, 0, HMAC_BLOCK);
	if (key_len > HMAC_BLOCK)
		return digest_into(ctx, md, NULL, &whole, 1, k0);
	if (key_len > 0)
		memcpy(k0, key, key_len);
	return true;
}

static void xor_block(const uint8_t k0[HMAC_BLOCK], uint8_t byte,
                      uint8_t out[HMAC_BLOCK])
{
	size_t i;

	for (i = 0; i < HMAC_BLOCK; i++)
		out[i] = k0[i] ^ byte;
}

/* RFC 2104 §2: H(K0 ^ opad, H(K0 ^ ipad, text)). */
int stun_hmac(enum stun_digest kind, const void *key, size_t key_len,
              const struct stun_span *parts, size_t count, uint8_t *out)
{
	uint8_t k0[HMAC_BLOCK], pad[HMAC_BLOCK], inner[EVP_MAX_MD_SIZE];
	const struct stun_span inner_span = {inner, stun_digest_size(kind)};
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	bool ok;

	if ((size_t)kind >= DIGEST_COUNT)
		return EINVAL;
	md = digest_md(kind);
	ctx = md != NULL ? EVP_MD_CTX_new() : NULL;
	ok = ctx != NULL && hmac_key_block(ctx, md, key, key_len, k0);
	if (ok) {
		xor_block(k0, 0x36, pad); /* ipad */
		ok = digest_into(ctx, md, pad, parts, count, inner);
	}
	if (ok) {
		xor_block(k0, 0x5c, pad); /* opad */
		ok = digest_into(ctx, md, pad, &inner_span, 1, out);
	}
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : ENOMEM;
}
