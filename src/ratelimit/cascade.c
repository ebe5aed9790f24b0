/*
 * The hierarchy: allocation, user, server. A packet is charged level by
 * level; when one refuses, the levels charged before it get back exactly
 * what they were charged (cascade compensation). Without it a limiter at A
 * in front of a limiter at B spends A's allowance on packets B drops, and
 * A then refuses packets B would have taken: two allocations of 1000 pps
 * sharing a user bucket of 1000 pps deliver well under 1000 pps.
 */
#include "config.h"

#include <string.h>

#include "ratelimit_private.h"

void rl_levels_init(struct rl_levels *levels)
{
	memset(levels, 0, sizeof(*levels));
}

void rl_levels_set(struct rl_levels *levels, enum rl_level_index index,
                   struct rl_bucket *bucket, const struct rl_rate *rate,
                   struct rl_counters *counters, bool shared)
{
	struct rl_level *level = &levels->level[index];

	memset(level, 0, sizeof(*level));
	if (bucket == NULL || rate == NULL)
		return;
	level->bucket = bucket;
	level->rate = rate;
	level->counters = counters;
	level->shared = shared;
}

static bool rl_level_active(const struct rl_level *level)
{
	return level->bucket != NULL && level->rate != NULL &&
	       (level->rate->cost[RL_BYTES] | level->rate->cost[RL_PACKETS]) !=
	           0;
}

static void rl_level_refund(struct rl_level *level,
                            const unsigned __int128 amount[RL_KINDS])
{
	int kind;

	/* By the amounts, not the rate: a rate swapped since stays right. */
	for (kind = 0; kind < RL_KINDS; kind++)
		if (amount[kind] != 0)
			rl_gcra_refund(&level->bucket->tat[kind], level->shared,
			               &level->carry[kind], amount[kind]);
}

/* One level's check: what it needs and what it reports back. */
struct rl_level_take {
	const struct rl_request *request;
	uint64_t departure;        /* raised to this level's earliest time */
	bool delayed;              /* this level alone would hold it back */
	unsigned __int128 *amount; /* the ticket's row for the level */
};

/* Charges one kind of one level; false when it refuses. */
static bool rl_level_take_kind(struct rl_level *level, int kind,
                               struct rl_level_take *take)
{
	const struct rl_request *request = take->request;
	unsigned __int128 amount = level->rate->cost[kind];
	struct rl_charge charge = {
	    .now = request->now,
	    .burst_ns = level->rate->burst_ns[kind],
	    .max_delay = request->max_delay,
	    .shared = level->shared,
	};
	uint64_t carry, earliest;

	if (kind == RL_BYTES)
		amount *= request->bytes;
	charge.cost_ns = rl_gcra_cost(amount, level->carry[kind], &carry);
	if (!rl_gcra_take(&level->bucket->tat[kind], &charge, &earliest))
		return false;
	level->carry[kind] = carry;
	take->amount[kind] = amount;
	if (earliest > request->now)
		take->delayed = true;
	if (earliest > take->departure)
		take->departure = earliest;
	return true;
}

/* Charges both kinds of a level, or neither. */
static bool rl_level_take(struct rl_level *level, struct rl_level_take *take)
{
	take->delayed = false;
	take->amount[RL_BYTES] = 0;
	take->amount[RL_PACKETS] = 0;
	if (level->rate->cost[RL_BYTES] != 0 &&
	    !rl_level_take_kind(level, RL_BYTES, take))
		return false;
	if (level->rate->cost[RL_PACKETS] != 0 &&
	    !rl_level_take_kind(level, RL_PACKETS, take)) {
		rl_level_refund(level, take->amount);
		return false;
	}
	return true;
}

/* Refunds the charges of a ticket, in reverse order, counters aside. */
static void rl_refund_charges(struct rl_levels *levels,
                              const struct rl_ticket *ticket)
{
	int i;

	for (i = RL_LEVELS - 1; i >= 0; i--)
		if (ticket->charged & (1u << i))
			rl_level_refund(&levels->level[i], ticket->amount[i]);
}

/* Adds n (negative: takes it back) to passed, and delayed, at each level
 * the ticket charged. */
static void rl_count_passed(struct rl_levels *levels,
                            const struct rl_ticket *ticket, int64_t n)
{
	struct rl_counters *counters;
	int i;

	for (i = 0; i < RL_LEVELS; i++) {
		counters = levels->level[i].counters;
		if (counters == NULL || !(ticket->charged & (1u << i)))
			continue;
		counters->passed += (uint64_t)n;
		if (ticket->delayed & (1u << i))
			counters->delayed += (uint64_t)n;
	}
}

static enum rl_verdict rl_refuse(struct rl_levels *levels,
                                 struct rl_ticket *ticket, int index)
{
	rl_refund_charges(levels, ticket);
	ticket->charged = 0;
	ticket->delayed = 0;
	ticket->refused = (enum rl_level_index)index;
	if (index < RL_LEVELS && levels->level[index].counters != NULL)
		levels->level[index].counters->dropped++;
	return RL_DROP;
}

enum rl_verdict rl_admit_uncounted(struct rl_levels *levels,
                                   const struct rl_request *request,
                                   struct rl_ticket *ticket)
{
	struct rl_level_take take;
	int i;

	ticket->departure = request->now;
	ticket->charged = 0;
	ticket->delayed = 0;
	ticket->refused = RL_LEVELS;
	take.request = request;
	take.departure = request->not_before > request->now
	                     ? request->not_before
	                     : request->now;
	if (take.departure - request->now > request->max_delay)
		return rl_refuse(levels, ticket, RL_LEVELS);
	for (i = 0; i < RL_LEVELS; i++) {
		if (!rl_level_active(&levels->level[i]))
			continue;
		take.amount = ticket->amount[i];
		if (!rl_level_take(&levels->level[i], &take))
			return rl_refuse(levels, ticket, i);
		ticket->charged |= 1u << i;
		if (take.delayed)
			ticket->delayed |= 1u << i;
	}
	ticket->departure = take.departure;
	return take.departure > request->now ? RL_PACE : RL_SEND;
}

void rl_count_admitted(struct rl_levels *levels, const struct rl_ticket *ticket)
{
	rl_count_passed(levels, ticket, 1);
}

enum rl_verdict rl_admit(struct rl_levels *levels,
                         const struct rl_request *request,
                         struct rl_ticket *ticket)
{
	enum rl_verdict verdict = rl_admit_uncounted(levels, request, ticket);

	if (verdict != RL_DROP)
		rl_count_admitted(levels, ticket);
	return verdict;
}

void rl_refund_uncounted(struct rl_levels *levels,
                         const struct rl_ticket *ticket)
{
	rl_refund_charges(levels, ticket);
}

void rl_refund(struct rl_levels *levels, const struct rl_ticket *ticket)
{
	rl_refund_charges(levels, ticket);
	rl_count_passed(levels, ticket, -1);
}

/*
 * A run charged as one: one kind of one level. The amount of the packets
 * before the last goes ahead of the test (lead_ns) and the whole run's
 * amount into the TAT. Summed in 2^-64 ns the carries telescope, so the
 * TAT and the carry end exactly where the run's packets charged one by
 * one would leave them, and the test is the one the last of them would
 * have met. max_delay 0: the run conforms now or not at all.
 */
static void rl_run_charge(const struct rl_level *level, int kind,
                          const struct rl_run *run, struct rl_charge *charge,
                          unsigned __int128 *amount, uint64_t *carry)
{
	unsigned __int128 unit = level->rate->cost[kind];
	uint64_t units = kind == RL_BYTES ? run->bytes : run->packets;
	uint64_t last = kind == RL_BYTES ? run->last_bytes : 1;

	*charge = (struct rl_charge){
	    .now = run->now,
	    .burst_ns = level->rate->burst_ns[kind],
	    .max_delay = 0,
	    .shared = level->shared,
	};
	charge->lead_ns =
	    rl_gcra_whole(unit * (units - last), level->carry[kind]);
	*amount = unit * units;
	charge->cost_ns = rl_gcra_cost(*amount, level->carry[kind], carry);
}

/* Would every active level take the run now? Reads only: a run that
 * binds somewhere touches no shared bucket, so other workers never see
 * a whole run's charge that is about to be given back. */
static bool rl_run_would_pass(const struct rl_levels *levels,
                              const struct rl_run *run)
{
	struct rl_charge charge;
	unsigned __int128 amount;
	uint64_t carry;
	int i, kind;

	for (i = 0; i < RL_LEVELS; i++) {
		const struct rl_level *level = &levels->level[i];

		if (!rl_level_active(level))
			continue;
		for (kind = 0; kind < RL_KINDS; kind++) {
			if (level->rate->cost[kind] == 0)
				continue;
			rl_run_charge(level, kind, run, &charge, &amount,
			              &carry);
			if (!rl_gcra_conforms_now(&level->bucket->tat[kind],
			                          &charge))
				return false;
		}
	}
	return true;
}

/* Both kinds of a level for a run, or neither. */
static bool rl_run_take(struct rl_level *level, const struct rl_run *run,
                        unsigned __int128 amount[RL_KINDS])
{
	struct rl_charge charge;
	uint64_t carry, earliest;
	int kind;

	amount[RL_BYTES] = 0;
	amount[RL_PACKETS] = 0;
	for (kind = 0; kind < RL_KINDS; kind++) {
		unsigned __int128 taken;

		if (level->rate->cost[kind] == 0)
			continue;
		rl_run_charge(level, kind, run, &charge, &taken, &carry);
		if (!rl_gcra_take(&level->bucket->tat[kind], &charge,
		                  &earliest)) {
			rl_level_refund(level, amount);
			return false;
		}
		level->carry[kind] = carry;
		amount[kind] = taken;
	}
	return true;
}

bool rl_admit_run(struct rl_levels *levels, const struct rl_run *run)
{
	struct rl_ticket ticket;
	int i;

	if (run->packets == 0)
		return true;
	if (run->last_bytes > run->bytes || run->bytes > UINT32_MAX ||
	    !rl_run_would_pass(levels, run))
		return false;
	ticket.charged = 0;
	ticket.delayed = 0;
	for (i = 0; i < RL_LEVELS; i++) {
		if (!rl_level_active(&levels->level[i]))
			continue;
		/* Another worker charged between the look and now. */
		if (!rl_run_take(&levels->level[i], run, ticket.amount[i])) {
			rl_refund_charges(levels, &ticket);
			return false;
		}
		ticket.charged |= 1u << i;
	}
	rl_count_passed(levels, &ticket, (int64_t)run->packets);
	return true;
}
