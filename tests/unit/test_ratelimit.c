/*
 * ratelimit: rates, GCRA, precision over simulated time, the limits of the
 * arithmetic, and the hierarchy with cascade compensation. Lock-free
 * sharing and the user table are in test_ratelimit_shared.c, the pacer in
 * test_ratelimit_pacer.c, linked into the same program.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "test_ratelimit.h"

/* --- Rates ------------------------------------------------------------ */

TestSuite(rl_rate);

Test(rl_rate, default_burst_is_20_ms)
{
	struct rl_rate rate = rate_of(250000, 1000, 0);

	cr_assert_eq(rate.burst_ns[RL_BYTES], MS(20));
	cr_assert_eq(rate.burst_ns[RL_PACKETS], MS(20));
}

Test(rl_rate, burst_above_one_second_is_refused)
{
	struct rl_rate_spec spec = {.bytes_per_second = 1000,
	                            .burst_ns = SEC(1) + 1};
	struct rl_rate rate;

	cr_assert_eq(rl_rate_init(&rate, &spec), EINVAL);
	spec.burst_ns = SEC(1);
	cr_assert_eq(rl_rate_init(&rate, &spec), 0);
}

Test(rl_rate, burst_in_bytes_needs_a_byte_rate_and_at_most_a_second)
{
	struct rl_rate_spec spec = {.packets_per_second = 10,
	                            .burst_bytes = 100};
	struct rl_rate rate;

	cr_assert_eq(rl_rate_init(&rate, &spec), EINVAL);
	spec.bytes_per_second = 99;
	cr_assert_eq(rl_rate_init(&rate, &spec), EINVAL);
	spec.bytes_per_second = 100;
	cr_assert_eq(rl_rate_init(&rate, &spec), 0);
}

Test(rl_rate, burst_in_bytes_bounds_only_the_byte_bucket_exactly)
{
	/* 25,000 bytes at 2 Mbit/s is 100 ms; the packet bucket keeps the
	 * time burst. */
	struct rl_rate_spec spec = {.bytes_per_second = 250000,
	                            .packets_per_second = 1000,
	                            .burst_ns = MS(5),
	                            .burst_bytes = 25000};
	struct rl_rate rate;

	cr_assert_eq(rl_rate_init(&rate, &spec), 0);
	cr_assert_eq(rate.burst_ns[RL_BYTES], MS(100));
	cr_assert_eq(rate.burst_ns[RL_PACKETS], MS(5));
}

Test(rl_rate, zero_rates_limit_nothing_and_the_level_is_skipped)
{
	struct rl_rate rate = rate_of(0, 0, 0);
	struct rl_bucket bucket;
	struct rl_levels levels;
	int i;

	cr_assert(rl_rate_unlimited(&rate));
	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(admit(&levels, T0, 65535, 0, NULL), RL_SEND);
	cr_assert_eq(tat_of(&bucket, RL_BYTES), 0);
}

/* --- GCRA ------------------------------------------------------------- */

TestSuite(rl_gcra);

Test(rl_gcra, idle_bucket_passes_burst_plus_one_packet_at_once)
{
	/* 1000 pps, 5 ms: the TAT may run 5 ms ahead, so packets at
	 * 0, 1, ..., 5 ms of TAT conform: six. */
	struct rl_rate rate = rate_of(0, 1000, MS(5));
	struct rl_bucket bucket;
	struct rl_levels levels;
	int i;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	for (i = 0; i < 6; i++)
		cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_SEND);
	cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_DROP);
	cr_assert_eq(admit(&levels, T0 + MS(1) - 1, 100, 0, NULL), RL_DROP);
	cr_assert_eq(admit(&levels, T0 + MS(1), 100, 0, NULL), RL_SEND);
}

Test(rl_gcra, idle_time_banks_no_more_than_the_burst)
{
	struct rl_rate rate = rate_of(0, 1000, MS(5));
	struct rl_bucket bucket;
	struct rl_levels levels;
	int i, passed = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_SEND);
	for (i = 0; i < 100; i++)
		passed += admit(&levels, T0 + SEC(10), 100, 0, NULL) == RL_SEND;
	cr_assert_eq(passed, 6);
}

Test(rl_gcra, packet_costlier_than_the_burst_passes_an_idle_bucket)
{
	/* 1500 bytes at 1 kbit/s cost 12 s, far above the 20 ms burst: it
	 * passes (and the next waits 12 s), rather than never. */
	struct rl_rate rate = rate_of(125, 0, 0);
	struct rl_bucket bucket;
	struct rl_levels levels;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	cr_assert_eq(admit(&levels, T0, 1500, 0, NULL), RL_SEND);
	cr_assert_eq(tat_of(&bucket, RL_BYTES), T0 + SEC(12));
	cr_assert_eq(admit(&levels, T0 + SEC(12) - MS(21), 1, 0, NULL),
	             RL_DROP);
	cr_assert_eq(admit(&levels, T0 + SEC(12) - MS(20), 1, 0, NULL),
	             RL_SEND);
}

Test(rl_gcra, both_limits_apply_small_packets_meet_the_packet_rate)
{
	/* 1 Mbit/s and 1000 pps: 50-byte packets hit 1000 pps first,
	 * 1000-byte packets 125,000 bytes/s (125 pps) first. */
	struct rl_rate rate = rate_of(125000, 1000, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t now;
	int small = 0, big = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	for (now = T0; now < T0 + SEC(1); now += US(100))
		small += admit(&levels, now, 50, 0, NULL) == RL_SEND;
	rl_bucket_init(&bucket);
	for (now = T0; now < T0 + SEC(1); now += US(100))
		big += admit(&levels, now, 1000, 0, NULL) == RL_SEND;
	cr_assert_eq(small, 1000);
	cr_assert_eq(big, 125);
}

Test(rl_gcra, mix_of_sizes_gets_the_full_byte_rate_under_both_limits)
{
	/* Two buckets, not one charged max(byte cost, packet cost): pairs
	 * of 1000 + 50 bytes get the byte rate in full (119 pairs/s), where
	 * one combined bucket would give 111 (8 ms + 1 ms a pair). */
	struct rl_rate rate = rate_of(125000, 1000, 0);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t now, bytes = 0;
	uint32_t size = 1000;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	for (now = T0; now < T0 + SEC(11); now += US(100)) {
		if (admit(&levels, now, size, 0, NULL) != RL_SEND)
			continue;
		if (now >= T0 + SEC(1))
			bytes += size;
		size = size == 1000 ? 50 : 1000;
	}
	cr_assert_leq(bytes, 1250000 + 1000);
	cr_assert_geq(bytes, 1250000 - 1000);
}

/* --- Precision over simulated time -------------------------------------- */

TestSuite(rl_precision);

struct delivered {
	uint64_t bytes, packets;
};

/*
 * A saturating load on one limiter (policy drop): at every step of the
 * fake clock from T0, packets (sizes in turn) are offered until one is
 * refused. Counts what passes in the `span` after a warm-up of 100 ms
 * (longer than any burst here).
 */
static struct delivered saturate(const struct rl_rate *rate,
                                 const uint32_t *sizes, size_t count,
                                 uint64_t step, uint64_t span)
{
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct delivered d = {0, 0};
	uint64_t now, from = T0 + MS(100);
	size_t i = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, rate, false);
	for (now = T0; now < from + span; now += step) {
		while (admit(&levels, now, sizes[i % count], 0, NULL) ==
		       RL_SEND) {
			if (now >= from) {
				d.bytes += sizes[i % count];
				d.packets++;
			}
			i++;
		}
	}
	return d;
}

static void assert_within(uint64_t got, uint64_t want, uint64_t slack)
{
	cr_assert(got + slack >= want && got <= want + slack,
	          "delivered %llu, configured %llu, allowed +-%llu",
	          (unsigned long long)got, (unsigned long long)want,
	          (unsigned long long)slack);
}

Test(rl_precision, one_kbit_per_second_within_one_packet_over_100_s)
{
	struct rl_rate rate = rate_of(125, 0, 0);
	uint32_t size = 100;
	struct delivered d = saturate(&rate, &size, 1, MS(1), SEC(100));

	assert_within(d.bytes, 125 * 100, size);
}

Test(rl_precision, two_mbit_per_second_passes_250000_bytes_per_second)
{
	struct rl_rate rate = rate_of(250000, 0, 0);
	const uint32_t sizes[] = {1200, 80, 1337, 512, 1};
	struct delivered d = saturate(&rate, sizes, 5, US(100), SEC(10));

	assert_within(d.bytes, 2500000, 1337);
}

Test(rl_precision, one_gbit_per_second_within_one_packet_over_2_s)
{
	/* 1337 bytes cost 10,696 ns: whole, but sizes below make
	 * fractions. */
	struct rl_rate rate = rate_of(125000000, 0, 0);
	const uint32_t sizes[] = {1337, 91, 1500};
	struct delivered d = saturate(&rate, sizes, 3, US(10), SEC(2));

	assert_within(d.bytes, 250000000, 1500);
}

Test(rl_precision, hundred_gbit_per_second_within_one_packet_over_1_s)
{
	/* 0.08 ns a byte: an integer cost per byte would be 0. 1337 bytes
	 * cost 106.96 ns, so the fraction matters at every packet. */
	struct rl_rate rate = rate_of(12500000000ULL, 0, 0);
	uint32_t size = 1337;
	struct delivered d = saturate(&rate, &size, 1, US(1), SEC(1));

	assert_within(d.bytes, 12500000000ULL, size);
}

Test(rl_precision, three_hundred_thousand_pps_passes_300000_per_second)
{
	struct rl_rate rate = rate_of(0, 300000, 0);
	uint32_t size = 100;
	struct delivered d = saturate(&rate, &size, 1, US(1), SEC(10));

	assert_within(d.packets, 3000000, 1);
}

/* Issue 6: 5 Mbit/s with packets of 100 to 1200 bytes, within 0.5%. */
Test(rl_precision,
     five_mbit_per_second_with_100_to_1200_bytes_within_half_percent)
{
	struct rl_rate rate = rate_of(625000, 0, 0);
	const uint32_t sizes[] = {100, 1200, 333, 917, 560, 1199, 101};
	struct delivered d = saturate(&rate, sizes, 7, US(10), SEC(10));

	assert_within(d.bytes, 6250000, 6250000 / 200);
}

Test(rl_precision, seven_pps_passes_seven_per_second)
{
	struct rl_rate rate = rate_of(0, 7, 0);
	uint32_t size = 100;
	struct delivered d = saturate(&rate, &size, 1, MS(1), SEC(100));

	assert_within(d.packets, 700, 1);
}

/*
 * The article's bug: a token bucket in integer tokens, refilled from a
 * microsecond clock, keeping the refill time only when a whole token was
 * added. Polled every 1 us at 300,000 pps it adds 1 token every 4 us
 * (0.3 x 4 = 1.2, floor 1) and throws 0.2 away each time: 250,000 pps.
 * The GCRA with a fractional carry, offered the same load, passes 300,000.
 */
Test(rl_precision, naive_integer_token_bucket_passes_250000_of_300000)
{
	struct rl_rate rate = rate_of(0, 300000, 0);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t us, tokens = 0, last = 0, naive = 0, ours = 0, add;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	for (us = 0; us < 11000000; us++) {
		add = (us - last) * 300000 / 1000000;
		if (add > 0) {
			tokens = tokens + add > 6000 ? 6000 : tokens + add;
			last = us;
		}
		if (tokens > 0) {
			tokens--;
			naive += us >= 1000000;
		}
		if (admit(&levels, T0 + US(us), 100, 0, NULL) == RL_SEND)
			ours += us >= 1000000;
	}
	assert_within(naive, 2500000, 1);
	assert_within(ours, 3000000, 1);
}

/*
 * A GCRA whose cost is whole nanoseconds: 1e9 / 300,000 = 3333 ns, so it
 * passes 300,030 a second, 300 too many over 10 s; at 100 Gbit/s a byte
 * costs 0 ns and nothing is limited.
 */
Test(rl_precision, naive_whole_nanosecond_cost_overshoots_300000_pps)
{
	uint64_t cost = 1000000000ULL / 300000, tat = 0, now, naive = 0;
	struct rl_rate rate = rate_of(0, 300000, 0);
	uint32_t size = 100;
	struct delivered d = saturate(&rate, &size, 1, US(1), SEC(10));

	/* The same load and burst as saturate(): 100 ms, then 10 s. */
	for (now = 0; now < MS(100) + SEC(10); now += US(1)) {
		for (;;) {
			uint64_t base = tat > now ? tat : now;

			if (base - now > MS(20))
				break;
			tat = base + cost;
			naive += now >= MS(100);
		}
	}
	cr_assert_geq(naive, 3000000 + 299);
	assert_within(d.packets, 3000000, 1);
	cr_assert_eq(1000000000ULL / 12500000000ULL, 0);
}

/* --- The limits of the arithmetic --------------------------------------- */

TestSuite(rl_overflow);

Test(rl_overflow, one_byte_per_second_charges_a_4_gib_packet_exactly)
{
	struct rl_rate rate = rate_of(1, 0, 0);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t now = 1ULL << 61;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, true);
	cr_assert_eq(admit(&levels, now, UINT32_MAX, 0, NULL), RL_SEND);
	cr_assert_eq(tat_of(&bucket, RL_BYTES),
	             now + (uint64_t)UINT32_MAX * SEC(1));
	cr_assert_eq(levels.level[0].carry[RL_BYTES], 0);
}

Test(rl_overflow, fastest_rate_costs_a_fraction_of_a_ns_and_keeps_it)
{
	/* UINT64_MAX bytes/s: 65535 bytes cost 3.55e-9 ns... times 1e6
	 * packets, 3.55 ns: the fractions add up in the carry. */
	struct rl_rate rate = rate_of(UINT64_MAX, 0, 0);
	struct rl_bucket bucket;
	struct rl_levels levels;
	int i;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	for (i = 0; i < 1000000; i++)
		cr_assert_eq(admit(&levels, T0, 65535, 0, NULL), RL_SEND);
	cr_assert_eq(tat_of(&bucket, RL_BYTES), T0 + 3);
	cr_assert_neq(levels.level[0].carry[RL_BYTES], 0);
}

Test(rl_overflow, hundred_gbit_with_one_second_burst_near_2_pow_62_ns)
{
	/* 1500 bytes cost 120 ns: TATs at 0, 120, ..., 1e9 ns ahead
	 * conform, 8,333,334 packets, with the clock near its limit. */
	struct rl_rate rate = rate_of(12500000000ULL, 0, SEC(1));
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t now = (1ULL << 62) - SEC(10), passed = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, true);
	while (admit(&levels, now, 1500, 0, NULL) == RL_SEND)
		passed++;
	cr_assert_eq(passed, 8333334);
	cr_assert_eq(tat_of(&bucket, RL_BYTES), now + 8333334ULL * 120);
}

Test(rl_overflow, one_kbit_with_one_second_burst)
{
	struct rl_rate rate = rate_of(125, 0, SEC(1));
	struct rl_bucket bucket;
	struct rl_levels levels;
	int passed = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	while (admit(&levels, T0, 1, 0, NULL) == RL_SEND)
		passed++;
	cr_assert_eq(passed, 126); /* 8 ms a byte: 0..1000 ms */
}

/* --- Hierarchy and cascade compensation ------------------------------- */

TestSuite(rl_cascade);

/* Offers `load` pps to levels for 11 s; counts what passes after 1 s. */
static uint64_t offer(struct rl_levels *levels, uint64_t load, uint64_t phase)
{
	uint64_t now, passed = 0, gap = SEC(1) / load;

	for (now = T0 + phase; now < T0 + SEC(11); now += gap)
		if (admit(levels, now, 100, 0, NULL) == RL_SEND)
			passed += now >= T0 + SEC(1);
	return passed;
}

Test(rl_cascade, equal_stacked_limits_deliver_the_limit)
{
	struct rl_rate a = rate_of(0, 1000, 0);
	struct rl_rate b = rate_of(0, 1000, 0);
	struct rl_bucket alloc, user;
	struct rl_levels levels;

	one_level(&levels, RL_LEVEL_ALLOCATION, &alloc, &a, false);
	rl_bucket_init(&user);
	rl_levels_set(&levels, RL_LEVEL_USER, &user, &b, NULL, true);
	assert_within(offer(&levels, 5000, 0), 10000, 1);
}

/* Issue 6: limiters at 1.00 and 1.02 times a rate, in either order,
 * deliver the lower within 0.5%. */
Test(rl_cascade, limits_at_1_00_and_1_02_deliver_the_lower_within_half_percent)
{
	struct rl_rate low = rate_of(0, 10000, 0);
	struct rl_rate high = rate_of(0, 10200, 0);
	struct rl_bucket first, second;
	struct rl_levels levels;

	one_level(&levels, RL_LEVEL_ALLOCATION, &first, &high, false);
	rl_bucket_init(&second);
	rl_levels_set(&levels, RL_LEVEL_USER, &second, &low, NULL, true);
	assert_within(offer(&levels, 20000, 0), 100000, 500);
	one_level(&levels, RL_LEVEL_ALLOCATION, &first, &low, false);
	rl_bucket_init(&second);
	rl_levels_set(&levels, RL_LEVEL_USER, &second, &high, NULL, true);
	assert_within(offer(&levels, 20000, 0), 100000, 500);
}

Test(rl_cascade, limit_of_800_under_1000_delivers_800)
{
	struct rl_rate a = rate_of(0, 1000, 0);
	struct rl_rate b = rate_of(0, 800, 0);
	struct rl_bucket alloc, user;
	struct rl_levels levels;

	one_level(&levels, RL_LEVEL_ALLOCATION, &alloc, &a, false);
	rl_bucket_init(&user);
	rl_levels_set(&levels, RL_LEVEL_USER, &user, &b, NULL, true);
	assert_within(offer(&levels, 5000, 0), 8000, 1);
}

/*
 * Two allocations of 1000 pps share a user bucket of 1500 pps with a
 * burst of 150 us. With compensation the user level passes 1500 pps.
 * Without (each limiter on its own, an allocation charged for what the
 * user level drops), each allocation spends its allowance on packets the
 * user level refuses, settles to one packet a millisecond, and the two
 * arrive 100 us apart, inside one user-level interval: 1000 pps get
 * through.
 */
Test(rl_cascade, shared_user_level_gets_its_rate_only_with_compensation)
{
	struct rl_rate a = rate_of(0, 1000, 0);
	struct rl_rate b = rate_of(0, 1500, US(150));
	struct rl_bucket alloc[2], user;
	struct rl_levels with[2], alone[2], user_alone;
	uint64_t now, passed = 0, passed_alone = 0;
	int i;

	rl_bucket_init(&user);
	for (i = 0; i < 2; i++) {
		one_level(&with[i], RL_LEVEL_ALLOCATION, &alloc[i], &a, false);
		rl_levels_set(&with[i], RL_LEVEL_USER, &user, &b, NULL, true);
	}
	for (now = T0; now < T0 + SEC(11); now += US(100)) {
		i = (int)(now / US(100)) % 2; /* 5000 pps each, interleaved */
		if (admit(&with[i], now, 100, 0, NULL) == RL_SEND)
			passed += now >= T0 + SEC(1);
	}
	assert_within(passed, 15000, 1);

	one_level(&user_alone, RL_LEVEL_USER, &user, &b, true);
	for (i = 0; i < 2; i++)
		one_level(&alone[i], RL_LEVEL_ALLOCATION, &alloc[i], &a, false);
	for (now = T0; now < T0 + SEC(11); now += US(100)) {
		i = (int)(now / US(100)) % 2;
		if (admit(&alone[i], now, 100, 0, NULL) == RL_SEND &&
		    admit(&user_alone, now, 100, 0, NULL) == RL_SEND)
			passed_alone += now >= T0 + SEC(1);
	}
	cr_assert_lt(passed_alone, 11000, "without compensation: %llu",
	             (unsigned long long)passed_alone);
}

Test(rl_cascade, refusal_at_a_later_level_refunds_earlier_levels_exactly)
{
	/* The allocation's charge has a fraction (1337 bytes at 2 Mbit/s is
	 * 5.348 ms); the server level refuses the second packet. */
	struct rl_rate a = rate_of(300000, 300000, MS(20));
	struct rl_rate s = rate_of(0, 1, NO_BURST);
	struct rl_bucket alloc, server;
	struct rl_levels levels;
	struct rl_counters counters[RL_LEVELS] = {{0}};
	struct rl_request request = {.now = T0, .bytes = 1337};
	struct rl_ticket ticket;
	uint64_t tat[RL_KINDS], carry[RL_KINDS];
	int kind;

	rl_levels_init(&levels);
	rl_bucket_init(&alloc);
	rl_bucket_init(&server);
	rl_levels_set(&levels, RL_LEVEL_ALLOCATION, &alloc, &a,
	              &counters[RL_LEVEL_ALLOCATION], false);
	rl_levels_set(&levels, RL_LEVEL_SERVER, &server, &s,
	              &counters[RL_LEVEL_SERVER], true);
	cr_assert_eq(rl_admit(&levels, &request, &ticket), RL_SEND);
	for (kind = 0; kind < RL_KINDS; kind++) {
		tat[kind] = tat_of(&alloc, kind);
		carry[kind] = levels.level[RL_LEVEL_ALLOCATION].carry[kind];
		cr_assert_neq(carry[kind], 0);
	}

	cr_assert_eq(rl_admit(&levels, &request, &ticket), RL_DROP);
	cr_assert_eq(ticket.refused, RL_LEVEL_SERVER);
	for (kind = 0; kind < RL_KINDS; kind++) {
		cr_assert_eq(tat_of(&alloc, kind), tat[kind]);
		cr_assert_eq(levels.level[RL_LEVEL_ALLOCATION].carry[kind],
		             carry[kind]);
	}
	cr_assert_eq(counters[RL_LEVEL_ALLOCATION].passed, 1);
	cr_assert_eq(counters[RL_LEVEL_SERVER].passed, 1);
	cr_assert_eq(counters[RL_LEVEL_SERVER].dropped, 1);
	cr_assert_eq(counters[RL_LEVEL_ALLOCATION].dropped, 0);
}

Test(rl_cascade, packet_rate_refusal_refunds_the_same_levels_byte_charge)
{
	/* The byte bucket conforms and is charged, the packet bucket of the
	 * same level refuses: the byte charge comes back. */
	struct rl_rate a = rate_of(300000, 1, MS(20));
	struct rl_bucket alloc;
	struct rl_levels levels;
	uint64_t tat, carry;

	one_level(&levels, RL_LEVEL_ALLOCATION, &alloc, &a, false);
	cr_assert_eq(admit(&levels, T0, 1337, 0, NULL), RL_SEND);
	tat = tat_of(&alloc, RL_BYTES);
	carry = levels.level[0].carry[RL_BYTES];
	cr_assert_gt(tat, T0 + MS(1));
	cr_assert_neq(carry, 0);
	cr_assert_eq(admit(&levels, T0 + MS(1), 1337, 0, NULL), RL_DROP);
	cr_assert_eq(tat_of(&alloc, RL_BYTES), tat);
	cr_assert_eq(levels.level[0].carry[RL_BYTES], carry);
}

Test(rl_cascade, refund_is_exact_even_after_later_admissions)
{
	/* Admit p1, admit p2, refund p1: the same TAT and carry as p2
	 * alone, though p2 was charged on top of p1's fraction. */
	struct rl_rate r = rate_of(12500000000ULL, 0, SEC(1));
	struct rl_bucket b1, b2;
	struct rl_levels l1, l2;
	struct rl_request p1 = {.now = T0, .bytes = 1337};
	struct rl_request p2 = {.now = T0 + 5, .bytes = 1001};
	struct rl_ticket t1, t2;

	one_level(&l1, RL_LEVEL_USER, &b1, &r, true);
	one_level(&l2, RL_LEVEL_USER, &b2, &r, true);
	atomic_store(&b1.tat[RL_BYTES], T0 + 1000);
	atomic_store(&b2.tat[RL_BYTES], T0 + 1000);
	cr_assert_eq(rl_admit(&l1, &p1, &t1), RL_SEND);
	cr_assert_eq(rl_admit(&l1, &p2, &t2), RL_SEND);
	rl_refund(&l1, &t1);
	cr_assert_eq(rl_admit(&l2, &p2, &t2), RL_SEND);
	cr_assert_eq(tat_of(&b1, RL_BYTES), tat_of(&b2, RL_BYTES));
	cr_assert_eq(l1.level[RL_LEVEL_USER].carry[RL_BYTES],
	             l2.level[RL_LEVEL_USER].carry[RL_BYTES]);
}

/* The two steps of rl_admit() for a caller that may refund: nothing is
 * counted as passed until rl_count_admitted(), and a refund of an
 * uncounted ticket restores the bucket and leaves the counters alone, so
 * a reader summing them never sees one step back. */
Test(rl_cascade, uncounted_admission_counts_only_when_told)
{
	struct rl_rate r = rate_of(0, 1000, SEC(1));
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct rl_counters counters = {0};
	struct rl_request p = {.now = T0, .bytes = 100};
	struct rl_ticket t;
	uint64_t tat;

	rl_levels_init(&levels);
	rl_bucket_init(&bucket);
	rl_levels_set(&levels, RL_LEVEL_USER, &bucket, &r, &counters, true);
	cr_assert_eq(rl_admit_uncounted(&levels, &p, &t), RL_SEND);
	cr_assert_eq(counters.passed, 0);
	rl_count_admitted(&levels, &t);
	cr_assert_eq(counters.passed, 1);
	tat = tat_of(&bucket, RL_PACKETS);
	cr_assert_eq(rl_admit_uncounted(&levels, &p, &t), RL_SEND);
	cr_assert_neq(tat_of(&bucket, RL_PACKETS), tat);
	rl_refund_uncounted(&levels, &t);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), tat);
	cr_assert_eq(counters.passed, 1);
	cr_assert_eq(counters.delayed, 0);
}

Test(rl_cascade, removed_level_is_not_checked)
{
	struct rl_rate tight = rate_of(0, 1, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;

	one_level(&levels, RL_LEVEL_USER, &bucket, &tight, true);
	cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_SEND);
	cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_DROP);
	rl_levels_set(&levels, RL_LEVEL_USER, NULL, &tight, NULL, true);
	cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_SEND);
}

/* --- Policies and counters -------------------------------------------- */

TestSuite(rl_policy);

Test(rl_policy, drop_policy_drops_at_once_and_never_paces)
{
	struct rl_rate r = rate_of(0, 1000, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t now, tat;
	int sent = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &r, false);
	for (now = T0; now < T0 + SEC(1); now += US(50)) {
		tat = tat_of(&bucket, RL_PACKETS);
		switch (admit(&levels, now, 100, 0, NULL)) {
		case RL_SEND:
			sent++;
			break;
		case RL_DROP:
			cr_assert_eq(tat_of(&bucket, RL_PACKETS), tat);
			break;
		case RL_PACE:
			cr_assert_fail("paced under policy drop");
		}
	}
	cr_assert_eq(sent, 1000);
}

Test(rl_policy, pace_policy_borrows_from_the_future)
{
	/* 1000 pps: the second packet at the same instant leaves 1 ms
	 * later, the third 2 ms later; the TAT runs ahead accordingly. */
	struct rl_rate r = rate_of(0, 1000, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t departure;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &r, false);
	cr_assert_eq(admit(&levels, T0, 100, MS(50), &departure), RL_SEND);
	cr_assert_eq(departure, T0);
	cr_assert_eq(admit(&levels, T0, 100, MS(50), &departure), RL_PACE);
	cr_assert_eq(departure, T0 + MS(1) - NO_BURST);
	cr_assert_eq(admit(&levels, T0, 100, MS(50), &departure), RL_PACE);
	cr_assert_eq(departure, T0 + MS(2) - NO_BURST);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), T0 + MS(3));
}

Test(rl_policy, departure_is_the_latest_level_and_not_before)
{
	struct rl_rate a = rate_of(0, 1000, NO_BURST);
	struct rl_rate u = rate_of(0, 100, NO_BURST);
	struct rl_bucket alloc, user;
	struct rl_levels levels;
	struct rl_request request = {
	    .now = T0, .max_delay = MS(50), .bytes = 10};
	struct rl_ticket ticket;

	one_level(&levels, RL_LEVEL_ALLOCATION, &alloc, &a, false);
	rl_bucket_init(&user);
	rl_levels_set(&levels, RL_LEVEL_USER, &user, &u, NULL, true);
	cr_assert_eq(rl_admit(&levels, &request, &ticket), RL_SEND);
	cr_assert_eq(rl_admit(&levels, &request, &ticket), RL_PACE);
	cr_assert_eq(ticket.departure, T0 + MS(10) - NO_BURST);
	cr_assert_eq(ticket.delayed,
	             (1u << RL_LEVEL_ALLOCATION) | (1u << RL_LEVEL_USER));
	request.not_before = T0 + MS(30);
	cr_assert_eq(rl_admit(&levels, &request, &ticket), RL_PACE);
	cr_assert_eq(ticket.departure, T0 + MS(30));
	request.not_before = T0 + MS(51);
	cr_assert_eq(rl_admit(&levels, &request, &ticket), RL_DROP);
	cr_assert_eq(ticket.refused, RL_LEVELS);
}

Test(rl_policy, delay_beyond_max_delay_drops_and_refunds)
{
	/* 100 pps with 50 ms allowed: packets at 0, 10, ..., 50 ms go,
	 * the seventh would wait 60 ms. */
	struct rl_rate r = rate_of(0, 100, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	uint64_t departure, tat;
	int i;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &r, false);
	for (i = 0; i < 6; i++)
		cr_assert_neq(admit(&levels, T0, 1, MS(50), &departure),
		              RL_DROP);
	cr_assert_eq(departure, T0 + MS(50) - NO_BURST);
	tat = tat_of(&bucket, RL_PACKETS);
	cr_assert_eq(admit(&levels, T0, 1, MS(50), NULL), RL_DROP);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), tat);
}

Test(rl_policy, counters_count_passed_delayed_and_dropped_per_level)
{
	struct rl_rate a = rate_of(0, 1000, NO_BURST);
	struct rl_rate u = rate_of(0, 1000000, 0);
	struct rl_bucket alloc, user;
	struct rl_levels levels;
	struct rl_counters c[RL_LEVELS] = {{0}};
	int i;

	rl_levels_init(&levels);
	rl_bucket_init(&alloc);
	rl_bucket_init(&user);
	rl_levels_set(&levels, RL_LEVEL_ALLOCATION, &alloc, &a,
	              &c[RL_LEVEL_ALLOCATION], false);
	rl_levels_set(&levels, RL_LEVEL_USER, &user, &u, &c[RL_LEVEL_USER],
	              true);
	for (i = 0; i < 10; i++)
		admit(&levels, T0, 100, MS(5) - NO_BURST, NULL);
	/* One sent, five paced (1..5 ms), four dropped by the allocation. */
	cr_assert_eq(c[RL_LEVEL_ALLOCATION].passed, 6);
	cr_assert_eq(c[RL_LEVEL_ALLOCATION].delayed, 5);
	cr_assert_eq(c[RL_LEVEL_ALLOCATION].dropped, 4);
	cr_assert_eq(c[RL_LEVEL_USER].passed, 6);
	cr_assert_eq(c[RL_LEVEL_USER].delayed, 0);
	cr_assert_eq(c[RL_LEVEL_USER].dropped, 0);
}
