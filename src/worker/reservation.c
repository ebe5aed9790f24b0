/*
 * EVEN-PORT reservations (RFC 8656 §7.2): the port after an even relay
 * port, held open for a later Allocate that names its RESERVATION-TOKEN.
 * A small fixed table: a full table simply declines to reserve.
 */
#include "config.h"

#include <unistd.h>

#include "worker_private.h"

static void release(struct worker_reservation *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->token = 0;
}

uint64_t worker_reservation_add(struct worker *worker, int fd, uint16_t port,
                                uint64_t now)
{
	size_t i;

	for (i = 0; i < WORKER_RESERVATIONS; i++) {
		struct worker_reservation *r = &worker->reservations[i];

		if (r->fd >= 0)
			continue;
		r->fd = fd;
		r->port = port;
		r->expires = now + WORKER_RESERVATION_LIFETIME;
		/* Token 0 marks a free slot, so never hand it out. */
		do
			r->token = worker_random(worker);
		while (r->token == 0);
		return r->token;
	}
	close(fd);
	return 0;
}

int worker_reservation_take(struct worker *worker, uint64_t token,
                            uint16_t *port, uint64_t now)
{
	size_t i;

	for (i = 0; token != 0 && i < WORKER_RESERVATIONS; i++) {
		struct worker_reservation *r = &worker->reservations[i];
		int fd = r->fd;

		if (r->token != token || fd < 0)
			continue;
		if (r->expires <= now) {
			release(r);
			return -1;
		}
		*port = r->port;
		r->fd = -1;
		r->token = 0;
		return fd;
	}
	return -1;
}

void worker_reservations_expire(struct worker *worker, uint64_t now)
{
	size_t i;

	for (i = 0; i < WORKER_RESERVATIONS; i++) {
		struct worker_reservation *r = &worker->reservations[i];

		if (r->fd >= 0 && r->expires <= now)
			release(r);
	}
}
