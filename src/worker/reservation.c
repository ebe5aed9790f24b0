/*
 * EVEN-PORT reservations (RFC 8656 §7.2): the port after an even relay
 * port, held for a later Allocate that names its RESERVATION-TOKEN.
 *
 * That Allocate comes from another client port, so the kernel may steer
 * it to another worker. The token therefore carries what any worker needs
 * to redeem it: the port, a coarse time, and a MAC under the key all
 * workers share. The reserving worker holds the port with a socket that
 * receives nothing (net_relay_hold) until the reservation expires; the
 * redeeming worker joins the port (net_relay_redeem). A small fixed table:
 * a full table declines to reserve (no token in the response).
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "turnpike/net.h"
#include "worker_private.h"

/* The token's time is in units of 8 s, so 16 bits span six days. */
#define TOKEN_TIME_UNIT 8

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* token = port(16) time(16) MAC(32), the MAC over family, port, time. */
static uint64_t make_token(const struct worker *worker, int family,
                           uint16_t port, uint16_t time_units)
{
	uint8_t input[6], mac[STUN_SHA256_SIZE];
	const struct stun_span span = {input, sizeof(input)};
	uint64_t token;

	put16(input, (uint16_t)family);
	put16(input + 2, port);
	put16(input + 4, time_units);
	if (stun_hmac(STUN_DIGEST_SHA256, worker->nonce_key.bytes,
	              sizeof(worker->nonce_key.bytes), &span, 1, mac) != 0)
		return 0;
	token = (uint64_t)port << 48 | (uint64_t)time_units << 32 |
	        (uint64_t)mac[0] << 24 | (uint64_t)mac[1] << 16 |
	        (uint64_t)mac[2] << 8 | mac[3];
	OPENSSL_cleanse(mac, sizeof(mac));
	return token;
}

uint64_t worker_reservation_add(struct worker *worker, int fd, int family,
                                uint16_t port, uint64_t now)
{
	uint16_t units = (uint16_t)(worker_wall_now() / TOKEN_TIME_UNIT);
	size_t i;

	for (i = 0; i < WORKER_RESERVATIONS; i++) {
		struct worker_reservation *r = &worker->reservations[i];

		if (r->fd >= 0)
			continue;
		r->token = make_token(worker, family, port, units);
		if (r->token == 0 || net_relay_hold(fd) != 0)
			break;
		r->fd = fd;
		r->port = port;
		r->expires = now + WORKER_RESERVATION_LIFETIME;
		return r->token;
	}
	close(fd);
	return 0;
}

int worker_reservation_port(const struct worker *worker, uint64_t token,
                            int family, uint16_t *port)
{
	uint16_t units = (uint16_t)(token >> 32), now_units, age;
	uint64_t expected;

	*port = (uint16_t)(token >> 48);
	now_units = (uint16_t)(worker_wall_now() / TOKEN_TIME_UNIT);
	age = (uint16_t)(now_units - units);
	/* One unit of slack for the rounding of the coarse time. */
	if ((unsigned)age * TOKEN_TIME_UNIT >
	    WORKER_RESERVATION_LIFETIME + TOKEN_TIME_UNIT)
		return 508;
	expected = make_token(worker, family, *port, units);
	if (CRYPTO_memcmp(&expected, &token, sizeof(token)) != 0)
		return 508;
	return 0;
}

void worker_reservations_expire(struct worker *worker, uint64_t now)
{
	size_t i;

	for (i = 0; i < WORKER_RESERVATIONS; i++) {
		struct worker_reservation *r = &worker->reservations[i];

		if (r->fd >= 0 && r->expires <= now) {
			close(r->fd);
			r->fd = -1;
			r->token = 0;
		}
	}
}
