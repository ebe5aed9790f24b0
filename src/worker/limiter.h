/*
 * The worker's rate limits (DESIGN.md section 5): the ratelimit module
 * wired to allocations, the shared user table and one timer for the
 * pacing wheel.
 *
 * Every allocation has, per direction, its own allocation-level bucket,
 * a reference to its user's bucket for that direction in the shared table
 * and the server's bucket for that direction. The levels point at the
 * worker's precomputed rates, so a reload that changes a rate changes it
 * for every live allocation at once. Each direction is limited on its
 * own at every level: a call relaying 1 Mbit/s each way uses 1 Mbit/s of
 * each direction's user-rate and total-rate.
 *
 * Bytes are those of the UDP payload the relay sends: the application
 * data towards a peer; the ChannelData or Data indication (with its TURN
 * header) towards a client.
 */
#ifndef TURNPIKE_WORKER_LIMITER_H
#define TURNPIKE_WORKER_LIMITER_H

#include "turnpike/ratelimit.h"
#include "worker_private.h"

enum limiter_direction {
	LIMITER_TO_PEER = 0,
	LIMITER_TO_CLIENT = 1,
	LIMITER_DIRECTIONS,
};

/* One direction of one allocation. */
struct limiter_flow {
	struct rl_levels levels;
	struct rl_flow queue;    /* its packets on the pacing wheel */
	struct rl_bucket bucket; /* the allocation level: ours alone */
	struct rl_bucket *user;  /* borrowed from the shared table; or NULL */
};

struct allocation_limits {
	struct limiter_flow flow[LIMITER_DIRECTIONS];
};

struct worker_limiter {
	struct rl_rate rate[RL_LEVELS]; /* the configured rates */
	/* Some rate is set: the packet path asks. */
	bool active;
	/* rate-policy pace with a max-delay: delay rather than drop. */
	bool pace;
	uint64_t queue_bound; /* bytes per allocation and direction */
	struct rl_user_view users;
	bool have_users;
	struct rl_pacer pacer;
	bool have_pacer;
	/* A reload changed the wheel's shape: rebuilt once it is empty. */
	bool rebuild_pending;
	struct event *timer;
	uint64_t armed; /* the timer's deadline (ns), 0 = not armed */
};

/* CLOCK_MONOTONIC in nanoseconds (the vDSO: no system call). */
uint64_t limiter_now_ns(void);

/* At worker start: the shared table (NULL: no user or server level) and
 * the configuration. Returns 0 or an errno value. */
int limiter_init(struct worker *worker, struct rl_user_table *table);
/* Applies a (re)loaded configuration: rates at once, a new wheel shape
 * once the current wheel is empty. */
void limiter_configure(struct worker *worker, const struct conf *conf);
void limiter_free(struct worker *worker);

/* A new allocation takes its buckets; a dying one gives them back and
 * drops what it has queued. */
void limiter_attach(struct worker *worker, struct allocation_limits *limits,
                    const char *quota_key);
void limiter_detach(struct worker *worker, struct allocation_limits *limits);

/* True when this flow's packets must be asked about: a rate is set, or
 * packets queued before a reload turned the limits off still wait. */
static inline bool limiter_applies(const struct worker_limiter *limiter,
                                   const struct limiter_flow *flow)
{
	return limiter->active || flow->queue.head != NULL;
}

/*
 * The one call per limited packet: RL_SEND (send it now), RL_PACE (copied
 * onto the wheel; relay_paced() sends it) or RL_DROP (counted). meta is
 * the direction; the payload length rides in its upper bits so that the
 * relayed-bytes counters stay exact for paced packets.
 */
enum rl_verdict limiter_admit(struct worker *worker, struct limiter_flow *flow,
                              uint64_t now_ns,
                              const struct rl_datagram *datagram);

/* Packs and unpacks rl_datagram.meta. */
static inline uint64_t limiter_meta(enum limiter_direction direction,
                                    size_t payload)
{
	return (uint64_t)direction | ((uint64_t)payload << 8);
}

static inline enum limiter_direction limiter_meta_direction(uint64_t meta)
{
	return (enum limiter_direction)(meta & 0xFF);
}

static inline size_t limiter_meta_payload(uint64_t meta)
{
	return (size_t)(meta >> 8);
}

#endif
