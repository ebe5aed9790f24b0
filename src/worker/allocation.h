/*
 * An allocation as the worker holds it: the protocol state (turn module)
 * plus what it owns: its connected client socket, its relay socket(s),
 * their events and its node on the expiry wheel. allocation_free()
 * releases all of it.
 */
#ifndef TURNPIKE_WORKER_ALLOCATION_H
#define TURNPIKE_WORKER_ALLOCATION_H

#include "limiter.h"
#include "worker_private.h"

enum allocation_family {
	ALLOCATION_IPV4 = 0,
	ALLOCATION_IPV6 = 1,
};

/* Why an allocation ended, for its log line (session.c). */
enum allocation_end {
	ALLOCATION_EXPIRED,  /* its lifetime passed without a Refresh */
	ALLOCATION_RELEASED, /* a Refresh with LIFETIME 0 (RFC 8656 §7.3) */
	ALLOCATION_CLOSED,   /* its TCP or TLS connection closed (§3.1) */
	ALLOCATION_SHUTDOWN, /* the worker stopped, or drain-timeout passed */
	ALLOCATION_REVOKED,  /* turnpikectl revoke ended its user's */
};

/* What an allocation relayed in one direction: datagrams and their
 * application bytes (without TURN framing), as the worker counts them. */
struct allocation_usage {
	uint64_t packets;
	uint64_t bytes;
};

struct allocation {
	struct allocation *hash_next;
	struct turn_wheel_node expiry; /* first member after the chain */
	struct worker *worker;
	struct sockaddr_storage client; /* the client's address */
	struct worker_socket client_socket;
	struct worker_socket relay[2]; /* by allocation_family; fd -1 if none */
	struct sockaddr_storage relayed[2]; /* advertised relayed addresses */
	struct auth_identity owner;
	uint8_t allocate_tid[STUN_TID_SIZE]; /* for retransmitted Allocates */
	uint64_t reservation_token; /* EVEN-PORT R=1: handed to the client */
	bool has_reservation_token;
	bool recorded;         /* in the store: delete the record when freed */
	bool logged;           /* its created line was written: write its end */
	uint64_t created;      /* worker_now(), for lifetimes */
	uint64_t created_wall; /* worker_wall_now(), once: record, revoke */
	struct turn_state turn;
	struct allocation_limits limits;
	struct allocation_usage usage[LIMITER_DIRECTIONS];
};

/* What allocation_create() needs, all borrowed. */
struct allocation_params {
	struct worker_socket *listener;
	struct stream_conn *stream; /* a TCP or TLS client's, else NULL */
	/* The 5-tuple: the address the client sent to (for a wildcard
	 * listener, one of the host's) and the client's. */
	const struct sockaddr *local;
	const struct sockaddr *client;
	const struct turn_allocate_request *request;
	const struct auth_identity *owner;
	const uint8_t *tid;
	uint32_t lifetime;
	uint64_t now;
};

/*
 * Opens the relay socket(s) and the connected client socket, registers
 * their events and the allocation in the worker's table and wheel.
 * Returns 0 and *out, or the STUN error code: 508 when no relay port or
 * descriptor is left, 500 on other failures.
 */
int allocation_create(struct worker *worker,
                      const struct allocation_params *params,
                      struct allocation **out);

/* Logs the end (session.c), closes every socket, frees every event,
 * leaves table and wheel. */
void allocation_free(struct allocation *allocation, enum allocation_end why);

/* Datagrams that left towards a peer or the client: counted for the
 * worker (turnpikectl status) and for the allocation (its end's log
 * line). Once per batch on the packet path. */
static inline void allocation_count_relayed(struct allocation *allocation,
                                            enum limiter_direction direction,
                                            uint64_t packets, uint64_t bytes)
{
	struct metrics_worker *m = allocation->worker->metrics;

	if (direction == LIMITER_TO_PEER) {
		m->client_packets += packets;
		m->client_bytes += bytes;
	} else {
		m->peer_packets += packets;
		m->peer_bytes += bytes;
	}
	allocation->usage[direction].packets += packets;
	allocation->usage[direction].bytes += bytes;
}

/* session.c: the allocation's life in the log, at level info: one line
 * when it is made (rate limited, as lines clients cause are) and, when
 * that one was written, one when it ends with why, how long it lived and
 * what it relayed each way. allocation_log_flush(), at the worker's exit,
 * says how many allocations went unlogged since the last line. */
void allocation_log_created(struct allocation *allocation);
void allocation_log_ended(const struct allocation *allocation,
                          enum allocation_end why);
void allocation_log_flush(void);
/* A permission for a peer's IP that the allocation did not have (RFC
 * 8656 §9), at info, for an allocation whose created line was written:
 * whom a user relayed to, for abuse reports. */
void allocation_log_permission(const struct allocation *allocation,
                               const struct sockaddr *peer, const char *method);

/* revocations.c: once a second, ends the allocations of users revoked
 * since the last look (turnpikectl revoke). */
void worker_apply_revocations(struct worker *worker);

/* The allocation of a client 5-tuple (listener, the address the client
 * sent to, the client's), or NULL. */
struct allocation *allocation_find(struct worker *worker, size_t listener_index,
                                   const struct sockaddr *local,
                                   const struct sockaddr *client);

/* Relay socket of the family of addr, or NULL. */
struct worker_socket *allocation_relay_for(struct allocation *allocation,
                                           const struct sockaddr *addr);

/* Reschedules the allocation's wheel node from its state. Returns false
 * (after freeing it) when the allocation has expired. */
bool allocation_reschedule(struct allocation *allocation, uint64_t now);

/* The wheel fired: expire what is due. */
void allocation_expire(struct turn_wheel_node *node, uint64_t now);

/* record.c: the allocation's record in the store (DESIGN.md section 4),
 * written at allocation-rate events only. Return 0 or the STUN error code
 * (437 5-tuple held by any worker, 486 quota reached, 500). */
int allocation_record_add(struct allocation *allocation);
void allocation_record_update(struct allocation *allocation);
void allocation_record_delete(struct allocation *allocation);

int allocation_table_init(struct allocation_table *table);
/* Calls fn for every allocation; fn may free the allocation it is given
 * (its successor is read before the call), no other. */
void allocation_table_each(struct worker *worker,
                           void (*fn)(struct allocation *, void *), void *arg);
/* Frees every allocation left (worker shutdown). */
void allocation_table_free(struct worker *worker);

#endif
