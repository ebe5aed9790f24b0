/*
 * GCRA, virtual scheduling, on one 64-bit TAT in nanoseconds.
 *
 * Precision. A rate of r units per second costs 1e9 / r ns per unit. The
 * cost is kept as ceil(1e9 * 2^64 / r), a 128-bit count of 2^-64 ns
 * (at most 1e9 * 2^64, below 2^94, for r >= 1), so the rounding of the
 * cost is below 2^-64 ns per unit. A packet of n units costs n times that
 * (below 2^126 for n < 2^32) plus the caller's carry; the whole nanoseconds go
 * to the TAT and the low 64 bits are the new carry. Summed over any number of
 * packets, the TAT advances by the exact cost less under 1 ns. An integer
 * cost in whole ns would lose up to 1 ns per packet: 3333 ns for 300,000
 * pps lets 300,030 through per second, and 0 ns per byte at 100 Gbit/s
 * lets everything through.
 *
 * Overflow. Whole costs stay below 2^62 ns, TATs below now + burst +
 * max_delay + one packet's cost: no 64-bit sum overflows while the clock
 * is below 2^62 ns.
 *
 * The per-packet arithmetic (cost, take, refund) is inline in
 * ratelimit_private.h; this file makes the rates.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ratelimit_private.h"

#define RL_COST_ONE_SECOND ((unsigned __int128)RL_NS_PER_SECOND << 64)

/* Rounded up: a rate never runs faster than configured, and a whole cost
 * (1500 bytes at 100 Gbit/s: 120 ns) stays whole. */
static unsigned __int128 rl_cost_per_unit(uint64_t per_second)
{
	if (per_second == 0)
		return 0;
	return (RL_COST_ONE_SECOND + per_second - 1) / per_second;
}

static int rl_byte_burst(struct rl_rate *rate, const struct rl_rate_spec *spec,
                         uint64_t burst_ns)
{
	if (spec->burst_bytes == 0) {
		rate->burst_ns[RL_BYTES] = burst_ns;
		return 0;
	}
	if (spec->bytes_per_second == 0 ||
	    spec->burst_bytes > spec->bytes_per_second)
		return EINVAL;
	/* At most one second: exact, and below 2^30 ns. */
	rate->burst_ns[RL_BYTES] =
	    (uint64_t)((spec->burst_bytes * rate->cost[RL_BYTES]) >> 64);
	return 0;
}

int rl_rate_init(struct rl_rate *rate, const struct rl_rate_spec *spec)
{
	uint64_t burst_ns = spec->burst_ns;

	memset(rate, 0, sizeof(*rate));
	if (burst_ns == 0)
		burst_ns = RL_DEFAULT_BURST_NS;
	if (burst_ns > RL_MAX_BURST_NS)
		return EINVAL;
	rate->cost[RL_BYTES] = rl_cost_per_unit(spec->bytes_per_second);
	rate->cost[RL_PACKETS] = rl_cost_per_unit(spec->packets_per_second);
	rate->burst_ns[RL_PACKETS] = burst_ns;
	if (rl_byte_burst(rate, spec, burst_ns) != 0) {
		memset(rate, 0, sizeof(*rate));
		return EINVAL;
	}
	return 0;
}

bool rl_rate_unlimited(const struct rl_rate *rate)
{
	return rate->cost[RL_BYTES] == 0 && rate->cost[RL_PACKETS] == 0;
}

void rl_bucket_init(struct rl_bucket *bucket)
{
	atomic_init(&bucket->tat[RL_BYTES], 0);
	atomic_init(&bucket->tat[RL_PACKETS], 0);
}
