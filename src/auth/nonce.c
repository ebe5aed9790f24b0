/*
 * Stateless nonces (RFC 8489 §9.2, RFC 7616 §5.4 for the idea): a nonce is
 *
 *   "obMatJos2" features(4 base64) time(16 hex) mac(32 hex)
 *
 * where mac is HMAC-SHA256, truncated to 128 bits, under the master's key
 * over everything before it and the client's address, family and port.
 * Any worker can check any nonce, and handing one out costs no memory.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "turnpike/auth.h"
#include "auth_private.h"

/* RFC 8489 §9.2: the nonce cookie, then 24 bits of features in base64. */
#define NONCE_COOKIE       "obMatJos2"
#define NONCE_COOKIE_LEN   9
#define NONCE_FEATURES_LEN 4
#define NONCE_TIME_LEN     16
#define NONCE_MAC_SIZE     16
#define NONCE_MAC_LEN      (2 * NONCE_MAC_SIZE)
#define NONCE_PREFIX_LEN   (NONCE_COOKIE_LEN + NONCE_FEATURES_LEN)
#define NONCE_MAC_OFFSET   (NONCE_PREFIX_LEN + NONCE_TIME_LEN)
#define NONCE_LEN          (NONCE_MAC_OFFSET + NONCE_MAC_LEN)
/* Family tag, port and an IPv6 address. */
#define NONCE_CLIENT_MAX (1 + 2 + 16)

/* RFC 8489 §14.10: a NONCE is fewer than 128 characters. */
_Static_assert(NONCE_LEN < AUTH_NONCE_MAX && AUTH_NONCE_MAX <= 128,
               "nonce too long");

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex_digits[] = "0123456789abcdef";

int auth_nonce_key_generate(struct auth_nonce_key *key)
{
	size_t done = 0;
	ssize_t n;

	while (done < sizeof(key->bytes)) {
		n = getrandom(key->bytes + done, sizeof(key->bytes) - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			OPENSSL_cleanse(key, sizeof(*key));
			return errno;
		}
		done += (size_t)n;
	}
	return 0;
}

/* RFC 8489 §9.2: the 24-bit feature set as four base64 characters (RFC
 * 4648 §4; three bytes need no padding). */
static void features_encode(uint32_t features, char out[NONCE_FEATURES_LEN])
{
	int i;

	for (i = 0; i < NONCE_FEATURES_LEN; i++)
		out[i] = base64_alphabet[(features >> (18 - 6 * i)) & 0x3f];
}

static int base64_value(uint8_t c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(base64_alphabet, c);
	return p == NULL ? -1 : (int)(p - base64_alphabet);
}

int auth_nonce_features(const uint8_t *nonce, size_t nonce_len,
                        uint32_t *features)
{
	uint32_t value = 0;
	int i, digit;

	if (nonce_len < NONCE_PREFIX_LEN ||
	    memcmp(nonce, NONCE_COOKIE, NONCE_COOKIE_LEN) != 0)
		return ENOENT;
	for (i = 0; i < NONCE_FEATURES_LEN; i++) {
		digit = base64_value(nonce[NONCE_COOKIE_LEN + i]);
		if (digit < 0)
			return ENOENT;
		value = (value << 6) | (uint32_t)digit;
	}
	*features = value;
	return 0;
}

static void hex_encode(const uint8_t *bytes, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex_digits[bytes[i] >> 4];
		out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
	}
}

/* Lower-case only, so that each nonce has exactly one spelling. */
static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(const uint8_t *text, size_t len, uint8_t *out)
{
	size_t i;
	int high, low;

	for (i = 0; i < len / 2; i++) {
		high = hex_value(text[2 * i]);
		low = hex_value(text[2 * i + 1]);
		if (high < 0 || low < 0)
			return EINVAL;
		out[i] = (uint8_t)(high << 4 | low);
	}
	return 0;
}

/*
 * The client as MAC input: a family tag, the port and the address, all in
 * network order. An IPv4-mapped IPv6 address is taken as the IPv4 one, so
 * that a nonce stays valid whether the client reached a v4 or a dual-stack
 * socket. Other families (never a client) give the tag alone.
 */
static size_t client_bytes(const struct sockaddr *client,
                           uint8_t out[NONCE_CLIENT_MAX])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)client;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)client;

	if (client->sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &sin->sin_port, 2);
		memcpy(out + 3, &sin->sin_addr, 4);
		return 7;
	}
	if (client->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		out[0] = 4;
		memcpy(out + 1, &sin6->sin6_port, 2);
		memcpy(out + 3, &sin6->sin6_addr.s6_addr[12], 4);
		return 7;
	}
	if (client->sa_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &sin6->sin6_port, 2);
		memcpy(out + 3, &sin6->sin6_addr, 16);
		return 19;
	}
	out[0] = 0;
	return 1;
}

/* The truncated HMAC-SHA256 over the nonce text before the MAC (cookie,
 * features, time) and the client. */
static int nonce_mac(const struct auth_nonce_key *key, const uint8_t *text,
                     const struct sockaddr *client, uint8_t mac[NONCE_MAC_SIZE])
{
	uint8_t input[NONCE_MAC_OFFSET + NONCE_CLIENT_MAX];
	uint8_t full[STUN_SHA256_SIZE];
	struct stun_span span = {input, NONCE_MAC_OFFSET};

	memcpy(input, text, NONCE_MAC_OFFSET);
	span.len += client_bytes(client, input + NONCE_MAC_OFFSET);
	if (stun_hmac(STUN_DIGEST_SHA256, key->bytes, sizeof(key->bytes), &span,
	              1, full) != 0)
		return ENOMEM;
	memcpy(mac, full, NONCE_MAC_SIZE);
	return 0;
}

int auth_nonce_make(const struct auth_nonce_key *key,
                    const struct sockaddr *client, uint64_t now,
                    bool offer_userhash, char out[AUTH_NONCE_MAX])
{
	uint8_t time_bytes[NONCE_TIME_LEN / 2];
	uint8_t mac[NONCE_MAC_SIZE];
	uint32_t features = AUTH_FEATURE_PASSWORD_ALGORITHMS;
	size_t i;
	int rc;

	if (offer_userhash)
		features |= AUTH_FEATURE_USERNAME_ANONYMITY;
	memcpy(out, NONCE_COOKIE, NONCE_COOKIE_LEN);
	features_encode(features, out + NONCE_COOKIE_LEN);
	for (i = 0; i < sizeof(time_bytes); i++)
		time_bytes[i] = (uint8_t)(now >> (56 - 8 * i));
	hex_encode(time_bytes, sizeof(time_bytes), out + NONCE_PREFIX_LEN);
	rc = nonce_mac(key, (const uint8_t *)out, client, mac);
	if (rc != 0)
		memset(mac, 0, sizeof(mac)); /* the check recomputes it */
	hex_encode(mac, sizeof(mac), out + NONCE_MAC_OFFSET);
	out[NONCE_LEN] = '\0';
	return rc;
}

/* Takes the time a nonce was made; EINVAL when the text is malformed. */
static int nonce_parse(const uint8_t *nonce, size_t nonce_len, uint64_t *made,
                       uint8_t mac[NONCE_MAC_SIZE])
{
	uint8_t time_bytes[NONCE_TIME_LEN / 2];
	uint32_t features;
	size_t i;

	if (nonce_len != NONCE_LEN ||
	    auth_nonce_features(nonce, nonce_len, &features) != 0 ||
	    hex_decode(nonce + NONCE_PREFIX_LEN, NONCE_TIME_LEN, time_bytes) !=
	        0 ||
	    hex_decode(nonce + NONCE_MAC_OFFSET, NONCE_MAC_LEN, mac) != 0)
		return EINVAL;
	*made = 0;
	for (i = 0; i < sizeof(time_bytes); i++)
		*made = *made << 8 | time_bytes[i];
	return 0;
}

int auth_nonce_check(const struct auth_nonce_key *key,
                     const struct sockaddr *client, const uint8_t *nonce,
                     size_t nonce_len, uint64_t now, uint32_t lifetime)
{
	uint8_t received[NONCE_MAC_SIZE], expected[NONCE_MAC_SIZE];
	uint64_t made;

	if (nonce_parse(nonce, nonce_len, &made, received) != 0)
		return EINVAL;
	/* The features are not compared with ours: the MAC covers them, so
	 * a nonce minted under another feature set stays good until it
	 * expires. A failed HMAC counts as a mismatch. */
	if (nonce_mac(key, nonce, client, expected) != 0 ||
	    CRYPTO_memcmp(received, expected, NONCE_MAC_SIZE) != 0)
		return EINVAL;
	/* Only now is the time trusted: a forged one is EINVAL, not
	 * ESTALE. */
	if (made > now && made - now > AUTH_NONCE_SKEW)
		return ESTALE;
	if (made <= now && now - made >= lifetime)
		return ESTALE;
	return 0;
}
