/*
 * Building and sending STUN responses: success and error responses are
 * finished in one place, with MESSAGE-INTEGRITY(-SHA256) when the request
 * was authenticated and within the request's size when it was not.
 */
#ifndef TURNPIKE_WORKER_RESPONSE_H
#define TURNPIKE_WORKER_RESPONSE_H

#include "worker_private.h"

/* Room for any response we build (ERROR-CODE, REALM, NONCE, two
 * XOR-RELAYED-ADDRESS...), well under the minimum IPv4 MTU path. */
#define RESPONSE_CAPACITY 1024

struct response {
	struct stun_writer w;
	uint8_t buf[RESPONSE_CAPACITY];
};

/* Starts a response of the given class to request. */
void response_start(struct response *r, const struct stun_msg *request,
                    uint8_t class);

/*
 * Finishes and sends it. With identity (the request was authenticated):
 * SOFTWARE, MESSAGE-INTEGRITY or -SHA256 as the request used, FINGERPRINT.
 * Without: SOFTWARE and FINGERPRINT only while the response stays within
 * the request's size (no amplification towards a forged source).
 */
void response_send(struct worker *worker, const struct worker_datagram *dg,
                   struct response *r, const struct auth_identity *identity);

/*
 * The one place error responses are built (RFC 8489 §6.3.4, RFC 8656
 * §6.2): ERROR-CODE with its reason; 401 and 438 add REALM, a fresh NONCE
 * and PASSWORD-ALGORITHMS (RFC 8489 §9.2.4); 420 adds UNKNOWN-ATTRIBUTES.
 * identity is NULL unless the request was authenticated.
 */
void response_error(struct worker *worker, const struct worker_datagram *dg,
                    const struct stun_msg *request, uint16_t code,
                    const struct auth_identity *identity);

#endif
