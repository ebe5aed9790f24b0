/*
 * auth: the stateless nonces (RFC 8489 §9.2): the cookie and security
 * feature bits they start with, and the client, key and lifetime they are
 * bound to.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "turnpike/auth.h"
#include "../../src/auth/auth_private.h"
#include "test_auth.h"

/* ---- Nonces ------------------------------------------------------------ */

static int nonce_check_at(const char *text, uint64_t now)
{
	return auth_nonce_check(&nonce_key, ctx.client, (const uint8_t *)text,
	                        strlen(text), now, LIFETIME);
}

Test(auth_nonce, starts_with_cookie_and_both_feature_bits)
{
	/* RFC 8489 §9.2: "obMatJos2", then 24 bits in base64; password
	 * algorithms (bit 0) and username anonymity (bit 1), counted from
	 * the least significant end as the erratum and Appendix B.1 do. */
	cr_assert_eq(strncmp(nonce, "obMatJos2AAAD", 13), 0, "%s", nonce);
}

Test(auth_nonce, without_userhash_offers_password_algorithms_only)
{
	char plain[AUTH_NONCE_MAX];

	cr_assert_eq(auth_nonce_make(&nonce_key, ctx.client, NOW, false, plain),
	             0);
	cr_assert_eq(strncmp(plain, "obMatJos2AAAB", 13), 0, "%s", plain);
	cr_assert_eq(nonce_check_at(plain, NOW), 0);
}

Test(auth_nonce, is_printable_and_shorter_than_128_characters)
{
	size_t i, len = strlen(nonce);

	cr_assert_lt(len, AUTH_NONCE_MAX);
	cr_assert_lt(len, 128);
	for (i = 0; i < len; i++)
		cr_assert(nonce[i] > 0x20 && nonce[i] < 0x7f);
}

Test(auth_nonce, features_read_from_rfc8489_appendix_b1_nonce)
{
	/* The B.1 request uses USERHASH: its nonce says username anonymity,
	 * bit 1, which is 0x000002. */
	static const char b1[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";
	uint32_t features;

	cr_assert_eq(
	    auth_nonce_features((const uint8_t *)b1, strlen(b1), &features), 0);
	cr_assert_eq(features, AUTH_FEATURE_USERNAME_ANONYMITY);
	cr_assert_eq(
	    auth_nonce_features((const uint8_t *)"obMatJos", 8, &features),
	    ENOENT);
}

Test(auth_nonce, accepted_for_same_client_within_lifetime)
{
	cr_assert_eq(nonce_check_at(nonce, NOW), 0);
	cr_assert_eq(nonce_check_at(nonce, NOW + LIFETIME - 1), 0);
}

Test(auth_nonce, expires_after_lifetime)
{
	cr_assert_eq(nonce_check_at(nonce, NOW + LIFETIME), ESTALE);
	cr_assert_eq(nonce_check_at(nonce, NOW + 100 * LIFETIME), ESTALE);
}

Test(auth_nonce, from_the_future_is_stale_beyond_skew)
{
	cr_assert_eq(nonce_check_at(nonce, NOW - AUTH_NONCE_SKEW), 0);
	cr_assert_eq(nonce_check_at(nonce, NOW - AUTH_NONCE_SKEW - 1), ESTALE);
}

Test(auth_nonce, other_port_is_not_ours)
{
	struct sockaddr_in other;

	set_client(&other, "192.0.2.10", 40001);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&other,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             EINVAL);
}

Test(auth_nonce, other_address_is_not_ours)
{
	struct sockaddr_in other;

	set_client(&other, "192.0.2.11", 40000);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&other,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             EINVAL);
}

Test(auth_nonce, other_key_is_not_ours)
{
	struct auth_nonce_key other;

	memset(&other, 0xa5, sizeof(other));
	cr_assert_eq(auth_nonce_check(&other, ctx.client,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             EINVAL);
}

Test(auth_nonce, extended_timestamp_is_forged_not_stale)
{
	char forged[AUTH_NONCE_MAX];
	size_t time_at = 13 + 15; /* the last hex digit of the time */

	/* Moving the time forward must not make an old nonce young. */
	cr_assert_eq(auth_nonce_make(&nonce_key, ctx.client, NOW - LIFETIME,
	                             true, forged),
	             0);
	cr_assert_eq(nonce_check_at(forged, NOW), ESTALE);
	forged[time_at] = forged[time_at] == 'f' ? 'e' : 'f';
	cr_assert_eq(nonce_check_at(forged, NOW), EINVAL);
}

Test(auth_nonce, malformed_text_is_not_ours)
{
	char upper[AUTH_NONCE_MAX];
	size_t i;

	cr_assert_eq(nonce_check_at("", NOW), EINVAL);
	cr_assert_eq(nonce_check_at("obMatJos2AAAD", NOW), EINVAL);
	cr_assert_eq(nonce_check_at("not a nonce at all", NOW), EINVAL);
	/* Truncated by one, and with one extra character. */
	cr_assert_eq(auth_nonce_check(&nonce_key, ctx.client,
	                              (const uint8_t *)nonce, strlen(nonce) - 1,
	                              NOW, LIFETIME),
	             EINVAL);
	memcpy(upper, nonce, sizeof(upper));
	strcat(upper, "0");
	cr_assert_eq(nonce_check_at(upper, NOW), EINVAL);
	/* Hex has one spelling: lower case. */
	memcpy(upper, nonce, sizeof(upper));
	for (i = 13; upper[i] != '\0'; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	if (strcmp(upper, nonce) != 0)
		cr_assert_eq(nonce_check_at(upper, NOW), EINVAL);
}

Test(auth_nonce, ipv4_mapped_ipv6_client_is_the_ipv4_client)
{
	struct sockaddr_in6 mapped;

	memset(&mapped, 0, sizeof(mapped));
	mapped.sin6_family = AF_INET6;
	mapped.sin6_port = htons(40000);
	cr_assert_eq(
	    inet_pton(AF_INET6, "::ffff:192.0.2.10", &mapped.sin6_addr), 1);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&mapped,
	                              (const uint8_t *)nonce, strlen(nonce),
	                              NOW, LIFETIME),
	             0);
}

Test(auth_nonce, ipv6_client_bound_to_its_address)
{
	struct sockaddr_in6 a, b;
	char text[AUTH_NONCE_MAX];

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(5000);
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr), 1);
	b = a;
	b.sin6_addr.s6_addr[15] = 2;
	cr_assert_eq(
	    auth_nonce_make(&nonce_key, (struct sockaddr *)&a, NOW, true, text),
	    0);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&a,
	                              (const uint8_t *)text, strlen(text), NOW,
	                              LIFETIME),
	             0);
	cr_assert_eq(auth_nonce_check(&nonce_key, (struct sockaddr *)&b,
	                              (const uint8_t *)text, strlen(text), NOW,
	                              LIFETIME),
	             EINVAL);
}

Test(auth_nonce, generated_keys_differ)
{
	struct auth_nonce_key a, b;

	cr_assert_eq(auth_nonce_key_generate(&a), 0);
	cr_assert_eq(auth_nonce_key_generate(&b), 0);
	cr_assert_neq(memcmp(&a, &b, sizeof(a)), 0);
}
