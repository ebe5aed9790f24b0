/*
 * Helpers shared by the ratelimit tests (test_ratelimit*.c, one program).
 * Clocks are fake: plain nanosecond values.
 */
#ifndef TEST_RATELIMIT_H
#define TEST_RATELIMIT_H

#include <criterion/criterion.h>
#include <stdint.h>

#include "turnpike/ratelimit.h"

#define US(n)  ((uint64_t)(n)*1000ULL)
#define MS(n)  ((uint64_t)(n)*1000000ULL)
#define SEC(n) ((uint64_t)(n)*1000000000ULL)
/* Clocks start a day after boot, as CLOCK_MONOTONIC does. */
#define T0 SEC(86400)
/* A burst of 1 ns: conform only at the TAT (0 would mean the default). */
#define NO_BURST 1

static inline struct rl_rate rate_of(uint64_t bytes_per_second,
                                     uint64_t packets_per_second,
                                     uint64_t burst_ns)
{
	struct rl_rate_spec spec = {
	    .bytes_per_second = bytes_per_second,
	    .packets_per_second = packets_per_second,
	    .burst_ns = burst_ns,
	};
	struct rl_rate rate;

	cr_assert_eq(rl_rate_init(&rate, &spec), 0);
	return rate;
}

/* One packet through rl_admit(); the departure if asked for. */
static inline enum rl_verdict admit(struct rl_levels *levels, uint64_t now,
                                    uint32_t bytes, uint64_t max_delay,
                                    uint64_t *departure)
{
	struct rl_request request = {
	    .now = now, .max_delay = max_delay, .bytes = bytes};
	struct rl_ticket ticket;
	enum rl_verdict verdict = rl_admit(levels, &request, &ticket);

	if (departure != NULL)
		*departure = ticket.departure;
	return verdict;
}

/* Levels with one level set. */
static inline void one_level(struct rl_levels *levels,
                             enum rl_level_index index,
                             struct rl_bucket *bucket,
                             const struct rl_rate *rate, bool shared)
{
	rl_levels_init(levels);
	rl_bucket_init(bucket);
	rl_levels_set(levels, index, bucket, rate, NULL, shared);
}

static inline uint64_t tat_of(struct rl_bucket *bucket, enum rl_kind kind)
{
	return atomic_load(&bucket->tat[kind]);
}

#endif
