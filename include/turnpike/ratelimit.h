/*
 * ratelimit: precise, lock-free rate limiting and pacing (DESIGN.md
 * section 5). Pure: no sockets, no event loop, no malloc after init. Times
 * are nanoseconds of CLOCK_MONOTONIC; the caller passes `now`.
 *
 * GCRA (virtual scheduling). A bucket is one 64-bit theoretical arrival
 * time (TAT) per kind of rate. A packet conforms when
 * max(tat, now) - now <= burst, and then tat = max(tat, now) + cost. The
 * cost of n units (bytes, or one packet) is n * 1e9 / rate nanoseconds,
 * computed as n times a 128-bit fixed-point cost in 2^-64 ns: the whole
 * nanoseconds go to the TAT and the fraction stays in a carry that the
 * caller owns (struct rl_level), so nothing is lost. The TAT stays in plain
 * nanoseconds and a bucket fits one 64-bit compare-and-swap; a reload that
 * changes a rate changes nothing else. Exact for rates from 1 byte/s to
 * UINT64_MAX bytes/s, packets below 4 GiB, bursts up to 1 s and clocks
 * below 2^62 ns (146 years); the rounding of the per-unit cost is below
 * 2^-64 ns per unit.
 *
 * Bytes and packets. A level may limit bytes per second, packets per
 * second, or both. Each kind has its own TAT in the bucket (two GCRA
 * buckets, not one combined): a packet must conform to both, and a mix of
 * big and small packets gets each limit in full. One combined TAT charged
 * max(byte cost, packet cost) would have under-delivered such a mix.
 *
 * Hierarchy and cascade compensation. rl_admit() checks the levels in order
 * (allocation, user, server; bytes before packets in each) and charges
 * each as it goes. When one refuses, every bucket charged before it gets
 * back exactly what it was charged, fraction included, so a limiter at A
 * feeding a limiter at B delivers min(A, B), not less.
 *
 * Pacing. With max_delay > 0 (policy `pace`) a packet that does not conform
 * now is given the time it will conform at every level and is charged at
 * once ("borrowing from the future"), so later packets queue behind it;
 * it is refused only when that time is more than max_delay away. A level
 * that was not holding the packet back is charged as of now, not as of the
 * departure: charging an idle shared level at the departure would hold
 * every other user of that level back too. Such a level may therefore see
 * its output run ahead of its rate by at most max_delay worth of traffic.
 * With max_delay == 0 (policy `drop`) a packet that does not conform now is
 * refused at once.
 *
 * Lock-free sharing. A bucket that several threads or processes use (the
 * user and server levels, in the master's MAP_SHARED mapping) is updated by
 * compare-and-swap on its TAT and refunded by atomic subtraction; no lock.
 */
#ifndef TURNPIKE_RATELIMIT_H
#define TURNPIKE_RATELIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_NS_PER_SECOND    1000000000ULL
#define RL_DEFAULT_BURST_NS 20000000ULL /* 20 ms, as conf.h */
#define RL_MAX_BURST_NS     RL_NS_PER_SECOND

enum rl_kind {
	RL_BYTES,
	RL_PACKETS,
	RL_KINDS,
};

/* The levels a packet goes through, in the order they are checked. */
enum rl_level_index {
	RL_LEVEL_ALLOCATION,
	RL_LEVEL_USER,
	RL_LEVEL_SERVER,
	RL_LEVELS,
};

/* A rate as configured; the fields of struct conf_rate. */
struct rl_rate_spec {
	uint64_t bytes_per_second;   /* 0 = no byte limit */
	uint64_t packets_per_second; /* 0 = no packet limit */
	/* Tolerance of the packet bucket, and of the byte bucket unless
	 * burst_bytes is set; 0 = RL_DEFAULT_BURST_NS. At most 1 s. */
	uint64_t burst_ns;
	/* 0, or the byte bucket's burst as a size: at most one second of
	 * bytes_per_second. */
	uint64_t burst_bytes;
};

/* A rate, precomputed. Immutable once made; shared read-only by every
 * level that uses it. */
struct rl_rate {
	/* Cost of one byte / one packet in 2^-64 ns; 0 = not limited. */
	unsigned __int128 cost[RL_KINDS];
	/* How far ahead of now each TAT may run and still conform. */
	uint64_t burst_ns[RL_KINDS];
};

/*
 * Precomputes a rate. Returns 0, or EINVAL when burst_ns exceeds 1 s, or
 * burst_bytes is set without a byte rate or exceeds one second of it. A
 * spec of all zeroes is a valid rate that limits nothing.
 */
int rl_rate_init(struct rl_rate *rate, const struct rl_rate_spec *spec);
/* True when the rate limits neither bytes nor packets. */
bool rl_rate_unlimited(const struct rl_rate *rate);

/* A bucket: the state of one level for one allocation, one user or the
 * server. Zeroed (rl_bucket_init) it is idle: the first packet conforms. */
struct rl_bucket {
	_Atomic uint64_t tat[RL_KINDS];
};

void rl_bucket_init(struct rl_bucket *bucket);

/*
 * Counters of one level, written with plain stores by rl_admit() and
 * rl_refund() (and their uncounted halves below): give each writer
 * (worker) its own, e.g. in its cache-line block of shared memory, and
 * sum them to read.
 */
struct rl_counters {
	uint64_t passed;  /* charged here and not refunded */
	uint64_t delayed; /* of those, held back by this level */
	uint64_t dropped; /* refused by this level */
};

/*
 * One level of a packet's path. The caller owns the struct (one per
 * allocation and direction) and borrows the rest. A level without a
 * bucket, without a rate or with an unlimited rate is skipped.
 */
struct rl_level {
	struct rl_bucket *bucket;     /* borrowed; NULL = no such level */
	const struct rl_rate *rate;   /* borrowed; may be swapped on reload */
	struct rl_counters *counters; /* borrowed; NULL = not counted */
	/* The bucket is written by others too: use atomic read-modify-write.
	 * false only for a bucket this caller alone writes. */
	bool shared;
	/* The fraction of a nanosecond charged but not yet added to the TAT,
	 * per kind, in 2^-64 ns. Private to this caller: it is what makes a
	 * shared bucket exact without a wider atomic (the error of a bucket
	 * stays below 1 ns per level that charges it, for ever). */
	uint64_t carry[RL_KINDS];
};

struct rl_levels {
	struct rl_level level[RL_LEVELS];
};

/* Zeroes every level: nothing is limited. */
void rl_levels_init(struct rl_levels *levels);
/* Sets one level (carry reset). bucket or rate NULL removes the level. */
void rl_levels_set(struct rl_levels *levels, enum rl_level_index index,
                   struct rl_bucket *bucket, const struct rl_rate *rate,
                   struct rl_counters *counters, bool shared);

/* One packet's request. */
struct rl_request {
	uint64_t now;        /* ns, CLOCK_MONOTONIC */
	uint64_t not_before; /* 0, or the earliest departure (the flow's queue
	                      * tail: rl_flow_not_before()) */
	uint64_t max_delay;  /* ns; 0 = policy drop */
	uint32_t bytes;      /* the datagram's size as the byte rate counts */
};

enum rl_verdict {
	RL_SEND, /* conforms now: send it */
	RL_PACE, /* send at ticket->departure (> now); charged already */
	RL_DROP, /* refused; nothing is charged */
};

/* What rl_admit() charged, for rl_refund(). */
struct rl_ticket {
	uint64_t departure; /* RL_SEND: now; RL_PACE: when to send */
	/* RL_DROP: the level that refused, or RL_LEVELS when not_before
	 * already lies beyond max_delay. */
	enum rl_level_index refused;
	uint8_t charged; /* bit per level charged */
	uint8_t delayed; /* bit per level that held the packet back */
	unsigned __int128 amount[RL_LEVELS][RL_KINDS]; /* in 2^-64 ns */
};

/*
 * The one call per packet. Checks and charges every level; the departure
 * is the latest of now, request->not_before and the time each level
 * conforms. Returns RL_SEND (departure == now), RL_PACE (departure > now,
 * at most max_delay away) or RL_DROP (some level would hold it more than
 * max_delay; every earlier charge refunded). Counters: passed (and
 * delayed) at each level on RL_SEND and RL_PACE, dropped at the refusing
 * level on RL_DROP. No allocation, no lock, no system call; wait-free
 * except for compare-and-swap retries on shared buckets.
 *
 * Queueing is the caller's: a flow that has packets queued must queue
 * this one behind them even on RL_SEND (rl_pacer_submit() does).
 */
enum rl_verdict rl_admit(struct rl_levels *levels,
                         const struct rl_request *request,
                         struct rl_ticket *ticket);
/*
 * Gives back everything a ticket of RL_SEND or RL_PACE charged (the packet
 * was not sent after all: its queue was full) and takes it out of the
 * passed and delayed counters. Exact: TATs and carries end as if the
 * packet had never been admitted, even when other packets were admitted
 * in between, and whatever rates the levels have now (the ticket holds
 * the amounts). A TAT that was behind the clock when charged ends at the
 * clock, which conforms the same.
 */
void rl_refund(struct rl_levels *levels, const struct rl_ticket *ticket);
/*
 * rl_admit() in two steps, for a caller that may still give the charge
 * back (rl_pacer_submit(): the flow's queue may be full). The counters
 * are shared with a reader that sums them at any moment; counted first
 * and refunded after, passed and delayed would step back, and a reader
 * such as Prometheus takes a counter that goes back for a reset. So
 * rl_admit_uncounted() charges and counts only a refusal; then either
 * rl_count_admitted() once the packet is sure to go, or
 * rl_refund_uncounted(), which gives the charges back and counts nothing.
 */
enum rl_verdict rl_admit_uncounted(struct rl_levels *levels,
                                   const struct rl_request *request,
                                   struct rl_ticket *ticket);
void rl_count_admitted(struct rl_levels *levels,
                       const struct rl_ticket *ticket);
void rl_refund_uncounted(struct rl_levels *levels,
                         const struct rl_ticket *ticket);

/*
 * A run: packets of one flow that arrived together (one receive batch) and
 * are asked about at the same instant, with no packet of the flow queued.
 */
struct rl_run {
	uint64_t now;        /* ns, CLOCK_MONOTONIC */
	uint64_t bytes;      /* the packets' sizes summed; below 4 GiB */
	uint32_t last_bytes; /* the last packet's size */
	uint32_t packets;
};

/*
 * A run in one step, for the common case where nothing binds: true when
 * every packet of the run conforms now at every level; then the buckets,
 * carries and counters are exactly as `packets` calls of rl_admit() in a
 * row at `now` would have left them (RL_SEND each). Otherwise false with
 * nothing charged and nothing counted: ask packet by packet (rl_admit(),
 * rl_pacer_submit()), which paces, drops and counts as usual. The levels
 * are read before any is charged, so a run that binds somewhere writes no
 * shared bucket; only a race with another writer between the read and the
 * charge makes a charge that is given back. A shared bucket takes one
 * compare-and-swap per run instead of one per packet, and its cache line
 * bounces between workers once per run. packets 0 is true, charging
 * nothing; sizes that cannot be (a last packet bigger than the sum) false.
 */
bool rl_admit_run(struct rl_levels *levels, const struct rl_run *run);

/* --- Shared user table ------------------------------------------------ */

/*
 * The buckets shared by all workers: the server's and one per user (quota
 * key), in a region of the master's MAP_SHARED mapping made before fork.
 * Slots are found by open addressing (linear probing within a window of
 * RL_USER_PROBES slots) on a keyed 64-bit hash (SipHash-2-4) of the quota
 * key; the slot stores the hash, and is claimed by compare-and-swap. A slot
 * is held while any worker holds a reference (a bit per worker in the
 * slot, a count per slot in the worker), and once no worker holds it may
 * be taken over by another user; a user who comes back before that finds
 * his slot again, TAT and all.
 *
 * Table full (no free slot in the window): rl_user_acquire() returns
 * ENOSPC and counts it in `full`; the caller then leaves the user level out
 * (bucket NULL): such a user is limited by the allocation and server levels
 * only. A spill bucket shared by every unplaced user was rejected: it would
 * throttle unrelated users together at one user's rate, turning a table
 * that is too small into an outage for whoever comes last. Failing open
 * keeps each user within allocation rate times user-quota and the server
 * within its total; size the table at twice the allocations the server
 * takes (each held slot has at least one live allocation) and it does not
 * fill.
 *
 * Two workers that make a user's first allocation at the same instant
 * while a third frees a slot in the user's window may end up holding two
 * slots for him; the later acquirers all find the first one and the other
 * empties with its allocations. Two 64-bit hashes that collide share a
 * bucket.
 */
#define RL_USER_PROBES 256
/* Server-wide buckets: one per direction of traffic, as the caller
 * numbers them. */
#define RL_SERVER_BUCKETS   2
#define RL_USER_MAX_WORKERS 256

struct rl_user_slot {
	_Atomic uint64_t key; /* see user_table.c */
	_Atomic uint64_t workers[RL_USER_MAX_WORKERS / 64];
	struct rl_bucket bucket;
} __attribute__((aligned(64)));

struct rl_user_table {
	uint64_t magic;
	uint64_t slot_count; /* a power of two */
	uint64_t hash_key[2];
	_Atomic uint64_t full;     /* acquisitions refused: no free slot */
	_Atomic uint64_t reclaims; /* slots taken over from a gone user */
	struct rl_bucket server[RL_SERVER_BUCKETS] __attribute__((aligned(64)));
	struct rl_user_slot slots[];
};

/* Bytes of region a table of slot_count slots needs (slot_count rounded up
 * to a power of two). */
size_t rl_user_table_size(size_t slot_count);
/*
 * Makes a table in a zeroed region (the master, before fork): as many
 * slots as fit, rounded down to a power of two. hash_key is 16 random
 * bytes. Returns 0, or EINVAL when the region is misaligned (64 bytes) or
 * holds fewer than 2 slots.
 */
int rl_user_table_init(void *region, size_t size, const uint8_t hash_key[16],
                       struct rl_user_table **table);
/* A server-wide bucket (index < RL_SERVER_BUCKETS), in the same region. */
struct rl_bucket *rl_user_table_server(struct rl_user_table *table,
                                       unsigned index);
/*
 * After a worker died: drops every reference it held, so its users' slots
 * can be reused. Only the master, and only once the worker is gone.
 */
void rl_user_table_forget_worker(struct rl_user_table *table, unsigned worker);

/* One worker's handle on the table: its index and its reference counts. */
struct rl_user_view {
	struct rl_user_table *table; /* borrowed */
	unsigned worker;             /* < RL_USER_MAX_WORKERS */
	uint32_t *refs;              /* owned: one count per slot */
};

/* Returns 0, EINVAL (worker index too big) or ENOMEM (the counts). */
int rl_user_view_init(struct rl_user_view *view, struct rl_user_table *table,
                      unsigned worker);
/* Frees the counts; a zeroed view is a no-op. Does not release slots. */
void rl_user_view_free(struct rl_user_view *view);
/* The keyed hash of a quota key. */
uint64_t rl_user_hash(const struct rl_user_table *table, const void *key,
                      size_t length);
/*
 * Takes a reference on the user's bucket (one per allocation), making a
 * slot for him if needed. Returns 0 with *bucket set, or ENOSPC with
 * *bucket NULL when the table is full (see above). Allocation-time cost:
 * O(RL_USER_PROBES); never on the packet path.
 */
int rl_user_acquire(struct rl_user_view *view, const void *key, size_t length,
                    struct rl_bucket **bucket);
/* The same, given rl_user_hash()'s value. */
int rl_user_acquire_hash(struct rl_user_view *view, uint64_t hash,
                         struct rl_bucket **bucket);
/* Gives back one reference taken by this view; NULL is a no-op. */
void rl_user_release(struct rl_user_view *view, struct rl_bucket *bucket);

/* --- Packet pool -------------------------------------------------------- */

/* A queued datagram, in a pool buffer. */
struct rl_packet {
	struct rl_packet *next;      /* in its wheel slot, or the free list */
	struct rl_packet *flow_next; /* in its flow's queue */
	struct rl_flow *flow;        /* NULL once its flow was cancelled */
	uint64_t departure;          /* ns */
	uint64_t meta;               /* the caller's, e.g. where to send */
	uint32_t length;
	unsigned char data[]; /* packet_size bytes */
};

/* A fixed number of fixed-size buffers, allocated once. */
struct rl_pool {
	unsigned char *memory; /* owned */
	size_t stride;         /* bytes per buffer, header included */
	size_t packet_size;    /* data bytes per buffer */
	size_t capacity;       /* buffers */
	size_t used;
	size_t fresh; /* buffers [fresh, capacity) were never handed out */
	struct rl_packet *free_list;
};

/* Allocates `packets` buffers of packet_size data bytes. Returns 0,
 * EINVAL (zero or overflowing sizes) or ENOMEM. */
int rl_pool_init(struct rl_pool *pool, size_t packets, size_t packet_size);
/* A zeroed pool is a no-op. */
void rl_pool_free(struct rl_pool *pool);
/* O(1); NULL when all buffers are in use. Never allocates. */
struct rl_packet *rl_pool_take(struct rl_pool *pool);
void rl_pool_give(struct rl_pool *pool, struct rl_packet *packet);

/* --- Pacer: a Carousel timing wheel ------------------------------------- */

/*
 * A flow: the queue of one allocation in one direction. Packets leave in
 * the order they came. The caller embeds it in the allocation and must
 * rl_flow_cancel() it before freeing the allocation.
 */
struct rl_flow {
	struct rl_packet *head, *tail;
	uint64_t queued_bytes;
	uint64_t bound_bytes; /* 0 = bounded by the pool only */
	uint32_t queued_packets;
};

void rl_flow_init(struct rl_flow *flow, uint64_t bound_bytes);
/* The departure of the last queued packet, or 0 when none is queued. */
uint64_t rl_flow_not_before(const struct rl_flow *flow);

struct rl_pacer_stats {
	uint64_t queued;       /* packets put on the wheel */
	uint64_t released;     /* handed out by rl_pacer_due() */
	uint64_t dropped_pool; /* refused: the pool was empty */
	uint64_t dropped_flow; /* refused: the flow's bound */
	uint64_t dropped_size; /* refused: bigger than a pool buffer */
	uint64_t cancelled;    /* dropped by rl_flow_cancel() */
	uint64_t early;        /* placed early: the wheel lagged the clock */
};

struct rl_pacer_slot {
	struct rl_packet *head, *tail;
};

/*
 * A ring of slots of slot_ns each, spanning max_delay: a packet waits in
 * the slot holding its departure and leaves when the wheel reaches that
 * slot (up to one slot early, never late), in the order it was queued.
 * One timer serves the whole wheel: arm it at rl_pacer_next_deadline().
 */
struct rl_pacer {
	uint64_t slot_ns;
	uint64_t max_delay_ns;
	size_t slot_count;
	struct rl_pacer_slot *slots; /* owned */
	uint64_t *occupied;          /* owned: a bit per non-empty slot */
	uint64_t current;            /* absolute number of the open slot */
	size_t waiting;              /* packets on the wheel */
	struct rl_pool pool;
	struct rl_pacer_stats stats;
};

/*
 * Makes a wheel and its pool (the only allocations). Returns 0, EINVAL
 * (slot_ns 0, max_delay_ns 0 or a wheel of more than 2^24 slots) or
 * ENOMEM.
 */
int rl_pacer_init(struct rl_pacer *pacer, uint64_t slot_ns,
                  uint64_t max_delay_ns, size_t pool_packets,
                  size_t packet_size);
/* Frees the wheel and every buffer; a zeroed pacer is a no-op. */
void rl_pacer_free(struct rl_pacer *pacer);

/* A datagram to queue: prefix then data, copied into one pool buffer.
 * The prefix (e.g. where to send it) is stored but not charged: the rate
 * counts `length` bytes. */
struct rl_datagram {
	const void *prefix; /* NULL when prefix_length is 0 */
	uint32_t prefix_length;
	const void *data;
	uint32_t length;
	uint64_t meta;
};

/*
 * Queues a datagram to leave at `departure` (at most max_delay after now;
 * later is placed at the end of the wheel), behind the flow's queued
 * packets. Returns 0; ENOBUFS when the pool is empty or the flow's bound
 * would be exceeded; EMSGSIZE when it is bigger than a buffer (each
 * counted). On error nothing is queued and the caller refunds the charge.
 * O(1).
 */
int rl_pacer_enqueue(struct rl_pacer *pacer, struct rl_flow *flow, uint64_t now,
                     uint64_t departure, const struct rl_datagram *datagram);
/*
 * Admission and queueing in one (policy pace): rl_admit() with the flow's
 * not_before and the pacer's max_delay; a packet that conforms now but
 * finds its flow queued is queued behind it. Returns RL_SEND (send it
 * now, nothing queued), RL_PACE (queued; its charge stands) or RL_DROP
 * (refused by a level, or the queue was full: charge refunded).
 */
enum rl_verdict rl_pacer_submit(struct rl_pacer *pacer, struct rl_flow *flow,
                                struct rl_levels *levels, uint64_t now,
                                const struct rl_datagram *datagram);
/*
 * The next packet due at `now`, unlinked from its flow, or NULL. The
 * caller sends it and gives it back with rl_pacer_release(); it may hold
 * several (to batch the sends). Packets of one flow come in order.
 */
struct rl_packet *rl_pacer_due(struct rl_pacer *pacer, uint64_t now);
void rl_pacer_release(struct rl_pacer *pacer, struct rl_packet *packet);
/*
 * When the wheel's one timer should fire: the start of the first slot
 * holding a packet (at or before now: fire at once). Returns 0 with
 * *deadline set, or ENOENT when nothing waits.
 */
int rl_pacer_next_deadline(const struct rl_pacer *pacer, uint64_t *deadline);
/*
 * Drops the flow's queue (its allocation is going away). The packets stay
 * on the wheel, marked, until their slot comes, then go back to the pool.
 * Their charges at the user and server levels are not refunded: they were
 * borrowed against at most max_delay of the future.
 */
void rl_flow_cancel(struct rl_pacer *pacer, struct rl_flow *flow);

#endif
