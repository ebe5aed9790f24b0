/*
 * rl_admit_run(): a receive batch charged in one step must leave every
 * bucket, carry and counter exactly where the same packets charged one by
 * one would, and must refuse, charging nothing, exactly when one of them
 * would not have conformed at once.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "test_ratelimit.h"

TestSuite(rl_run);

/* Three levels over buckets of our own: allocation (private), user and
 * server (shared), each with its own counters. */
struct stack {
	struct rl_rate rate[RL_LEVELS];
	struct rl_bucket bucket[RL_LEVELS];
	struct rl_counters counters[RL_LEVELS];
	struct rl_levels levels;
};

static void stack_init(struct stack *s, const struct rl_rate rate[RL_LEVELS])
{
	int i;

	memset(s, 0, sizeof(*s));
	rl_levels_init(&s->levels);
	for (i = 0; i < RL_LEVELS; i++) {
		s->rate[i] = rate[i];
		rl_bucket_init(&s->bucket[i]);
		rl_levels_set(&s->levels, (enum rl_level_index)i, &s->bucket[i],
		              &s->rate[i], &s->counters[i],
		              i != RL_LEVEL_ALLOCATION);
	}
}

/* A copy that owns its buckets: the levels' pointers re-aimed. */
static void stack_copy(struct stack *to, const struct stack *from)
{
	int i, kind;

	memcpy(to, from, sizeof(*to));
	for (i = 0; i < RL_LEVELS; i++) {
		for (kind = 0; kind < RL_KINDS; kind++)
			atomic_store(&to->bucket[i].tat[kind],
			             atomic_load(&from->bucket[i].tat[kind]));
		to->levels.level[i].bucket = &to->bucket[i];
		to->levels.level[i].rate = &to->rate[i];
		to->levels.level[i].counters = &to->counters[i];
	}
}

static void assert_same(struct stack *a, struct stack *b, const char *what)
{
	int i, kind;

	for (i = 0; i < RL_LEVELS; i++) {
		for (kind = 0; kind < RL_KINDS; kind++) {
			cr_assert_eq(tat_of(&a->bucket[i], kind),
			             tat_of(&b->bucket[i], kind),
			             "%s: level %d kind %d TAT", what, i, kind);
			cr_assert_eq(a->levels.level[i].carry[kind],
			             b->levels.level[i].carry[kind],
			             "%s: level %d kind %d carry", what, i,
			             kind);
		}
		cr_assert_eq(a->counters[i].passed, b->counters[i].passed,
		             "%s: level %d passed", what, i);
		cr_assert_eq(a->counters[i].dropped, b->counters[i].dropped,
		             "%s: level %d dropped", what, i);
	}
}

/*
 * A refused run charged nothing: carries and counters as before; a TAT as
 * before, or, on a level charged and given back, raised to the clock if it
 * was behind it (rl_refund() documents it: it conforms the same).
 */
static void assert_refunded(struct stack *after, struct stack *before,
                            uint64_t now)
{
	int i, kind;

	for (i = 0; i < RL_LEVELS; i++) {
		for (kind = 0; kind < RL_KINDS; kind++) {
			uint64_t was = tat_of(&before->bucket[i], kind);
			uint64_t is = tat_of(&after->bucket[i], kind);

			cr_assert(is == was || (was < now && is == now),
			          "level %d kind %d TAT %llu, was %llu", i,
			          kind, (unsigned long long)is,
			          (unsigned long long)was);
			cr_assert_eq(after->levels.level[i].carry[kind],
			             before->levels.level[i].carry[kind]);
		}
		cr_assert_eq(after->counters[i].passed,
		             before->counters[i].passed);
		cr_assert_eq(after->counters[i].dropped,
		             before->counters[i].dropped);
	}
}

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: the same sequence on every run. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

static uint64_t between(uint64_t *state, uint64_t low, uint64_t high)
{
	return low + next_random(state) % (high - low + 1);
}

/* A value spread evenly over the decades from 10^low to 10^high. */
static uint64_t decades(uint64_t *state, int low, int high)
{
	uint64_t value = between(state, 1, 9);
	int i, exponent = (int)between(state, (uint64_t)low, (uint64_t)high);

	for (i = 0; i < exponent; i++)
		value *= 10;
	return value;
}

static struct rl_rate random_rate(uint64_t *state)
{
	/* Byte rates from 10 kB/s to 90 GB/s, packet rates from 100 to 90
	 * million a second or none, bursts from 1 us to 90 ms: from rates
	 * that bind on every run to rates that never do. */
	uint64_t bytes = decades(state, 4, 10);
	uint64_t packets = between(state, 0, 3) == 0 ? 0 : decades(state, 2, 7);
	uint64_t burst = decades(state, 3, 7);

	return rate_of(bytes, packets, burst > MS(1000) ? MS(1000) : burst);
}

/*
 * The property, over 20,000 random cases: levels with random rates and a
 * random history, then a run of 1-32 packets of 0-1500 bytes at one
 * instant, once through rl_admit_run() and once packet by packet.
 */
Test(rl_run, equals_packet_by_packet_admission_or_charges_nothing)
{
	uint64_t state = 0x9E3779B97F4A7C15ULL, now, sent = 0, refused = 0;
	int trial;

	for (trial = 0; trial < 20000; trial++) {
		struct rl_rate rate[RL_LEVELS];
		struct stack before, whole, single;
		uint32_t size[32];
		struct rl_run run = {0};
		bool passed, all_sent = true;
		unsigned i, history;

		for (i = 0; i < RL_LEVELS; i++)
			rate[i] = random_rate(&state);
		stack_init(&before, rate);
		now = T0 + between(&state, 0, SEC(1));
		history = (unsigned)between(&state, 0, 40);
		for (i = 0; i < history; i++) {
			now += between(&state, 0, US(200));
			(void)admit(&before.levels, now,
			            (uint32_t)between(&state, 0, 1500), 0,
			            NULL);
		}
		now += between(&state, 0, US(200));
		run.now = now;
		run.packets = (uint32_t)between(&state, 1, 32);
		for (i = 0; i < run.packets; i++) {
			size[i] = (uint32_t)between(&state, 0, 1500);
			run.bytes += size[i];
		}
		run.last_bytes = size[run.packets - 1];

		stack_copy(&whole, &before);
		stack_copy(&single, &before);
		passed = rl_admit_run(&whole.levels, &run);
		for (i = 0; i < run.packets; i++)
			if (admit(&single.levels, now, size[i], 0, NULL) !=
			    RL_SEND)
				all_sent = false;
		if (passed) {
			cr_assert(all_sent,
			          "case %d: the run passed, a packet "
			          "of it would not have",
			          trial);
			assert_same(&whole, &single, "passed run");
			sent++;
		} else {
			cr_assert_not(all_sent,
			              "case %d: the run was refused, "
			              "its packets would all have "
			              "passed",
			              trial);
			assert_refunded(&whole, &before, now);
			refused++;
		}
	}
	/* Both outcomes, often: the property was tested, not skipped. */
	cr_assert_gt(sent, 1000, "%llu runs passed", (unsigned long long)sent);
	cr_assert_gt(refused, 1000, "%llu runs refused",
	             (unsigned long long)refused);
}

/* 1 MB/s, 1 ms of burst: an idle bucket takes 1000 bytes ahead of a
 * packet. A run of 11 packets of 100 bytes has 1000 before its last and
 * passes; one of 12 does not, as its 12th packet alone would not. */
Test(rl_run, passes_exactly_when_its_last_packet_conforms)
{
	struct rl_rate rate = rate_of(1000000, 0, MS(1));
	struct rl_bucket bucket, single_bucket;
	struct rl_levels levels, single;
	struct rl_run eleven = {
	    .now = T0, .bytes = 1100, .last_bytes = 100, .packets = 11};
	struct rl_run twelve = {
	    .now = T0, .bytes = 1200, .last_bytes = 100, .packets = 12};
	int i;

	one_level(&levels, RL_LEVEL_USER, &bucket, &rate, true);
	cr_assert_not(rl_admit_run(&levels, &twelve));
	cr_assert_eq(tat_of(&bucket, RL_BYTES), 0, "a refusal charges");
	cr_assert(rl_admit_run(&levels, &eleven));
	cr_assert_eq(tat_of(&bucket, RL_BYTES), T0 + MS(1) + US(100));

	one_level(&single, RL_LEVEL_USER, &single_bucket, &rate, true);
	for (i = 0; i < 11; i++)
		cr_assert_eq(admit(&single, T0, 100, 0, NULL), RL_SEND);
	cr_assert_eq(admit(&single, T0, 100, 0, NULL), RL_DROP);
}

/*
 * The burst's edge with a carry: at 3 MB/s a byte costs 333.33 ns, three
 * bytes 1000 ns and 2^-63 ns (the cost is rounded up), so with a carry of
 * 2^64 - 1 the first packet of 3 bytes moves the TAT by 1001 ns, not 1000.
 * A run of two such packets conforms when TAT + 1001 ns is within the
 * 10 us burst, and not 1 ns later: as the packets one by one do.
 */
static bool edge_case(uint64_t tat, bool whole)
{
	struct rl_rate rate = rate_of(3000000, 0, US(10));
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct rl_run run = {
	    .now = T0, .bytes = 6, .last_bytes = 3, .packets = 2};

	one_level(&levels, RL_LEVEL_USER, &bucket, &rate, true);
	atomic_store(&bucket.tat[RL_BYTES], tat);
	levels.level[RL_LEVEL_USER].carry[RL_BYTES] = UINT64_MAX;
	if (whole)
		return rl_admit_run(&levels, &run);
	return admit(&levels, T0, 3, 0, NULL) == RL_SEND &&
	       admit(&levels, T0, 3, 0, NULL) == RL_SEND;
}

Test(rl_run, burst_edge_counts_the_carry)
{
	uint64_t edge = T0 + US(10) - 1001;

	cr_assert(edge_case(edge, false), "one by one at the edge");
	cr_assert_not(edge_case(edge + 1, false), "one by one past it");
	cr_assert(edge_case(edge, true), "a run at the edge");
	cr_assert_not(edge_case(edge + 1, true), "a run 1 ns past it");
}

/* The server level refuses the run: the allocation and user levels,
 * charged first, get back every fraction, and no counter moves. */
Test(rl_run, refusal_at_a_later_level_refunds_and_counts_nothing)
{
	struct rl_rate rate[RL_LEVELS] = {
	    rate_of(300007, 299993, MS(20)),
	    rate_of(3000017, 0, MS(20)),
	    rate_of(1000, 0, US(10)),
	};
	struct rl_run run = {
	    .now = T0 + 12345, .bytes = 4011, .last_bytes = 1337, .packets = 3};
	struct stack s, before;

	stack_init(&s, rate);
	/* A history with fractions in every carry. */
	cr_assert_eq(admit(&s.levels, T0, 7, 0, NULL), RL_SEND);
	stack_copy(&before, &s);
	cr_assert_neq(before.levels.level[RL_LEVEL_ALLOCATION].carry[RL_BYTES],
	              0);
	cr_assert_not(rl_admit_run(&s.levels, &run));
	assert_refunded(&s, &before, run.now);
}

Test(rl_run, run_of_one_is_one_admission_and_empty_run_charges_nothing)
{
	struct rl_rate rate[RL_LEVELS] = {
	    rate_of(300007, 299993, MS(20)),
	    rate_of(3000017, 1000, MS(5)),
	    rate_of(1000000007, 0, MS(1)),
	};
	struct rl_run one = {
	    .now = T0, .bytes = 1337, .last_bytes = 1337, .packets = 1};
	struct rl_run none = {.now = T0};
	struct rl_run impossible = {
	    .now = T0, .bytes = 10, .last_bytes = 11, .packets = 2};
	struct stack a, b, before;

	stack_init(&a, rate);
	stack_copy(&b, &a);
	cr_assert(rl_admit_run(&a.levels, &one));
	cr_assert_eq(admit(&b.levels, T0, 1337, 0, NULL), RL_SEND);
	assert_same(&a, &b, "run of one");
	stack_copy(&before, &a);
	cr_assert(rl_admit_run(&a.levels, &none));
	cr_assert_not(rl_admit_run(&a.levels, &impossible));
	assert_same(&a, &before, "empty and impossible runs");
}

/* Threads charging runs on one shared bucket at one instant, each behind
 * a private allocation-level bucket: the shared TAT must end at the sum of
 * every thread's whole charges, and each private one at its own, however
 * the threads interleave. */
struct runner {
	struct rl_bucket *shared;
	const struct rl_rate *rate;
	pthread_barrier_t *barrier;
	uint64_t admitted;   /* runs that passed */
	uint64_t charged_ns; /* whole ns those added to each TAT */
	uint64_t wrong;      /* carries or private TAT off: asserted after */
};

#define RUNS_PER_THREAD 20000

static void *charge_runs(void *arg)
{
	struct runner *r = arg;
	struct rl_rate own_rate = rate_of(1000000000000ULL, 0, MS(1000));
	struct rl_bucket own;
	struct rl_levels levels;
	struct rl_run run = {
	    .now = T0, .bytes = 32 * 101, .last_bytes = 101, .packets = 32};
	unsigned __int128 exact = 0, own_exact = 0;
	uint64_t own_tat;
	int i;

	one_level(&levels, RL_LEVEL_ALLOCATION, &own, &own_rate, false);
	rl_levels_set(&levels, RL_LEVEL_SERVER, r->shared, r->rate, NULL, true);
	pthread_barrier_wait(r->barrier);
	for (i = 0; i < RUNS_PER_THREAD; i++) {
		if (!rl_admit_run(&levels, &run))
			continue;
		r->admitted++;
		exact += r->rate->cost[RL_BYTES] * run.bytes;
		own_exact += own_rate.cost[RL_BYTES] * run.bytes;
	}
	r->charged_ns = (uint64_t)(exact >> 64);
	own_tat = atomic_load(&own.tat[RL_BYTES]);
	/* A private TAT never charged is still 0. */
	if (levels.level[RL_LEVEL_SERVER].carry[RL_BYTES] != (uint64_t)exact ||
	    levels.level[RL_LEVEL_ALLOCATION].carry[RL_BYTES] !=
	        (uint64_t)own_exact ||
	    (own_tat != T0 + (uint64_t)(own_exact >> 64) &&
	     !(r->admitted == 0 && own_tat == 0)))
		r->wrong++;
	return NULL;
}

/* Runs four threads against a server bucket of rate; returns the whole
 * ns they charged it and the runs that passed. */
static uint64_t contend(const struct rl_rate *rate, uint64_t *admitted)
{
	struct rl_bucket shared;
	struct runner runners[4];
	pthread_t threads[4];
	pthread_barrier_t barrier;
	uint64_t total = 0;
	int i;

	rl_bucket_init(&shared);
	atomic_store(&shared.tat[RL_BYTES], T0);
	pthread_barrier_init(&barrier, NULL, 4);
	for (i = 0; i < 4; i++) {
		runners[i] = (struct runner){
		    .shared = &shared, .rate = rate, .barrier = &barrier};
		cr_assert_eq(
		    pthread_create(&threads[i], NULL, charge_runs, &runners[i]),
		    0);
	}
	*admitted = 0;
	for (i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(runners[i].wrong, 0, "thread %d", i);
		total += runners[i].charged_ns;
		*admitted += runners[i].admitted;
	}
	pthread_barrier_destroy(&barrier);
	cr_assert_eq(tat_of(&shared, RL_BYTES), T0 + total);
	return total;
}

Test(rl_run, shared_bucket_loses_no_run_between_threads)
{
	/* 12.5 GB/s: 0.08 ns a byte; 80,000 runs of 3,232 bytes are
	 * 20.7 ms, inside the 100 ms burst: every run passes. */
	struct rl_rate rate = rate_of(12500000000ULL, 0, MS(100));
	uint64_t admitted;

	(void)contend(&rate, &admitted);
	cr_assert_eq(admitted, 4 * RUNS_PER_THREAD);
}

Test(rl_run, shared_bucket_under_contention_admits_its_burst_and_no_more)
{
	/* 1 GB/s, 1 ms of burst: a run costs 3,232 ns and its last packet
	 * starts 3,131 ns in, so runs n = 0..308 (3,232 n + 3,131 <= 10^6)
	 * pass, as their packets one by one would. The threads race for
	 * them; a race lost between the look and the charge is given back
	 * exactly (the private TATs and carries above). */
	struct rl_rate rate = rate_of(1000000000ULL, 0, MS(1));
	uint64_t admitted, total = contend(&rate, &admitted);

	cr_assert_eq(admitted, 309, "%llu runs", (unsigned long long)admitted);
	cr_assert_eq(total, 309 * 3232);
}
