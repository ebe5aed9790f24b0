/*
 * Internal helpers shared by the files of the auth module.
 */
#ifndef TURNPIKE_AUTH_PRIVATE_H
#define TURNPIKE_AUTH_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * RFC 8489 §18.1 security features. The RFC's erratum on bit order and its
 * own Appendix B.1 vector ("obMatJos2AAAC": username anonymity alone)
 * number the bits from the least significant end, and clients such as
 * libjuice read them so.
 */
#define AUTH_FEATURE_PASSWORD_ALGORITHMS 0x000001u
#define AUTH_FEATURE_USERNAME_ANONYMITY  0x000002u

/* nonce.c: the security features a nonce announces after its cookie.
 * Returns 0, or ENOENT when it does not start with "obMatJos2" and four
 * base64 characters. */
int auth_nonce_features(const uint8_t *nonce, size_t nonce_len,
                        uint32_t *features);

#endif
