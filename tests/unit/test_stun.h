/*
 * Vectors and helpers shared by the stun codec's test files (test_stun.c,
 * test_stun_roundtrip.c, test_stun_malformed.c: one program with
 * test_stun_frame.c), defined in test_stun.c but for build_all(), which is
 * in test_stun_roundtrip.c.
 */
#ifndef TEST_STUN_H
#define TEST_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "turnpike/stun.h"

#define OK(expr)          cr_assert_eq((expr), 0, "%s", #expr)
#define FAILS(expr, want) cr_assert_eq((expr), (want), "%s", #expr)

/* RFC 5769 §2.1 to §2.4 and RFC 8489 Appendix B.1 (erratum 6268), in
 * hex; test_stun.c says more of each. */
extern const char rfc5769_request[];
extern const char rfc5769_v4[];
extern const char rfc5769_v6[];
extern const char rfc5769_long_term[];
extern const char rfc8489_b1[];
/* The vectors' transaction ID. */
extern const uint8_t tid[STUN_TID_SIZE];

/* Writes the bytes of hex into out; returns how many. */
size_t unhex(const char *hex, uint8_t *out, size_t cap);
/* msg holds an attribute of type whose value is exactly value. */
bool attr_is(const struct stun_msg *msg, uint16_t type, const void *value,
             size_t len);
/* ip (IPv4 or IPv6 text) and port as a socket address. */
struct sockaddr_storage make_addr(const char *ip, uint16_t port);
void assert_same_addr(const struct sockaddr_storage *a,
                      const struct sockaddr_storage *b);
/* Starts a Binding request with the RFC 5769 transaction ID. */
void start_request(struct stun_writer *w, uint8_t *buf, size_t cap);
/* Finishes the message and decodes it back. */
int finish_decode(struct stun_writer *w, struct stun_msg *msg);
/* One message carrying every attribute type the header names; returns its
 * length. */
size_t build_all(uint8_t *buf, size_t cap);

#endif
