/*
 * Internals shared by the ratelimit files: one GCRA bucket's arithmetic.
 */
#ifndef TURNPIKE_RATELIMIT_PRIVATE_H
#define TURNPIKE_RATELIMIT_PRIVATE_H

#include "turnpike/ratelimit.h"

/* A charge on one TAT, worked out before it is made. */
struct rl_charge {
	uint64_t now;
	uint64_t cost_ns; /* whole nanoseconds to add to the TAT */
	/* Whole nanoseconds charged ahead of the packet being checked: 0
	 * for one packet; for a run (rl_admit_run()), all but its last, so
	 * that the last packet is the one tested. */
	uint64_t lead_ns;
	uint64_t burst_ns;  /* tolerance */
	uint64_t max_delay; /* 0 = conform now or refuse */
	bool shared;        /* compare-and-swap, not load and store */
};

/*
 * An exact amount (2^-64 ns: cost per unit times units, below 2^126) plus
 * the carry, split into whole nanoseconds (returned) and the new carry.
 */
static inline uint64_t rl_gcra_cost(unsigned __int128 amount, uint64_t carry,
                                    uint64_t *new_carry)
{
	unsigned __int128 total = amount + carry;

	*new_carry = (uint64_t)total;
	return (uint64_t)(total >> 64);
}

/* The whole nanoseconds alone, for a charge that is only looked at. */
static inline uint64_t rl_gcra_whole(unsigned __int128 amount, uint64_t carry)
{
	return (uint64_t)((amount + carry) >> 64);
}

/* The TAT a charge would test the packet at, and whether it conforms now
 * (start == now), with nothing charged: a look before a charge that
 * would only have to be given back. */
static inline bool rl_gcra_conforms_now(_Atomic uint64_t *tat,
                                        const struct rl_charge *charge)
{
	uint64_t old = atomic_load_explicit(tat, memory_order_relaxed);
	uint64_t base = old > charge->now ? old : charge->now;

	return base + charge->lead_ns - charge->now <= charge->burst_ns;
}

/*
 * Conforms and charges one TAT: *earliest is when the packet conforms
 * (now, or later by at most max_delay). Returns false, charging nothing,
 * when it would conform only after now + max_delay. Inline: the packet
 * path runs it up to six times. The test is made on the TAT as it stands
 * after lead_ns more: for a run, on its last packet; a TAT only grows,
 * so the packets before it conform too.
 */
static inline bool rl_gcra_take(_Atomic uint64_t *tat,
                                const struct rl_charge *charge,
                                uint64_t *earliest)
{
	uint64_t old = atomic_load_explicit(tat, memory_order_relaxed);
	uint64_t base, start;

	for (;;) {
		uint64_t ahead;

		base = old > charge->now ? old : charge->now;
		ahead = base + charge->lead_ns;
		start = ahead - charge->now <= charge->burst_ns
		            ? charge->now
		            : ahead - charge->burst_ns;
		if (start - charge->now > charge->max_delay)
			return false;
		if (!charge->shared) {
			atomic_store_explicit(tat, base + charge->cost_ns,
			                      memory_order_relaxed);
			break;
		}
		/* The TAT publishes nothing else: relaxed is enough for the
		 * read-modify-write to be atomic. */
		if (atomic_compare_exchange_weak_explicit(
		        tat, &old, base + charge->cost_ns, memory_order_relaxed,
		        memory_order_relaxed))
			break;
	}
	*earliest = start;
	return true;
}

/*
 * Takes an exact amount (2^-64 ns) back from a TAT and its carry: the
 * inverse of rl_gcra_cost() followed by a successful rl_gcra_take().
 */
static inline void rl_gcra_refund(_Atomic uint64_t *tat, bool shared,
                                  uint64_t *carry, unsigned __int128 amount)
{
	uint64_t low = (uint64_t)amount;
	uint64_t whole = (uint64_t)(amount >> 64);

	/* The carry is the part of past charges not yet in the TAT: take the
	 * fraction from it, borrowing a nanosecond from the TAT if short. */
	if (*carry < low)
		whole++;
	*carry -= low;
	if (shared)
		atomic_fetch_sub_explicit(tat, whole, memory_order_relaxed);
	else
		atomic_store_explicit(
		    tat,
		    atomic_load_explicit(tat, memory_order_relaxed) - whole,
		    memory_order_relaxed);
}

#endif
