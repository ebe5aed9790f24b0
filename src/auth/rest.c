/*
 * The TURN REST API shared-secret credentials
 * (draft-uberti-behave-turn-rest-00 §2.2): an application server that
 * knows the secret mints a username "expiry:user-id" and the password
 * base64(HMAC-SHA1(secret, username)); the TURN server recomputes the
 * password from the username. Compatible with coturn's
 * static-auth-secret (use-auth-secret) and STUNner's ephemeral mode.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "turnpike/auth.h"

#define REST_MAC_SIZE 20 /* SHA-1 */

_Static_assert(AUTH_REST_PASSWORD_SIZE == 4 * ((REST_MAC_SIZE + 2) / 3) + 1,
               "base64 of a SHA-1 HMAC and a NUL");

int auth_rest_password(const char *secret, const char *username, char *out,
                       size_t out_size)
{
	uint8_t mac[REST_MAC_SIZE];
	const struct stun_span span = {username, strlen(username)};
	int rc = 0;

	if (out_size < AUTH_REST_PASSWORD_SIZE)
		return ENOBUFS;
	if (stun_hmac(STUN_DIGEST_SHA1, secret, strlen(secret), &span, 1,
	              mac) != 0)
		rc = ENOMEM;
	else /* standard alphabet with padding, as coturn encodes it */
		EVP_EncodeBlock((unsigned char *)out, mac, REST_MAC_SIZE);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int auth_rest_parse(const char *username, uint64_t *expiry,
                    const char **user_id)
{
	const char *p = username;
	uint64_t value = 0;
	unsigned int digit;

	if (*p < '0' || *p > '9')
		return EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		digit = (unsigned int)(*p - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return EINVAL;
		value = value * 10 + digit;
	}
	/* coturn's default separator is ':'; a bare timestamp is allowed. */
	if (*p == ':')
		p++;
	else if (*p != '\0')
		return EINVAL;
	*expiry = value;
	*user_id = p;
	return 0;
}
