/*
 * ratelimit across threads and processes: one bucket hammered without a
 * lock, and the table of user buckets in a MAP_SHARED region.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_ratelimit.h"

#define THREADS 4

/* --- One bucket, many threads --------------------------------------------- */

TestSuite(rl_lockfree);

struct hammer {
	struct rl_bucket *shared;
	const struct rl_rate *rate;
	pthread_barrier_t *barrier;
	uint64_t now;
	uint64_t passed;
	/* For the simulated window: the clock each step, shared. */
	_Atomic uint64_t *clock;
	uint64_t steps, from;
	/* For the refund test: a private level behind the shared one. */
	const struct rl_rate *local_rate;
	uint64_t refused_tries;
	uint64_t carry;
};

static void *hammer_fixed_now(void *arg)
{
	struct hammer *h = arg;
	struct rl_levels levels;

	rl_levels_init(&levels);
	rl_levels_set(&levels, RL_LEVEL_USER, h->shared, h->rate, NULL, true);
	pthread_barrier_wait(h->barrier);
	while (admit(&levels, h->now, 100, 0, NULL) == RL_SEND)
		h->passed++;
	h->carry = levels.level[RL_LEVEL_USER].carry[RL_PACKETS];
	return NULL;
}

static uint64_t run_threads(void *(*body)(void *), struct hammer *h, int count)
{
	pthread_t threads[THREADS];
	pthread_barrier_t barrier;
	uint64_t total = 0;
	int i;

	pthread_barrier_init(&barrier, NULL, (unsigned)count);
	for (i = 0; i < count; i++) {
		h[i].barrier = &barrier;
		cr_assert_eq(pthread_create(&threads[i], NULL, body, &h[i]), 0);
	}
	for (i = 0; i < count; i++) {
		pthread_join(threads[i], NULL);
		total += h[i].passed;
	}
	pthread_barrier_destroy(&barrier);
	return total;
}

Test(rl_lockfree, threads_on_one_bucket_pass_exactly_the_burst)
{
	/* 1,000,000 pps with a burst of 1 s at one instant: 1,000,001
	 * packets conform, however the threads interleave. */
	struct rl_rate rate = rate_of(0, 1000000, SEC(1));
	struct rl_bucket bucket;
	struct hammer h[THREADS];
	int i;

	rl_bucket_init(&bucket);
	memset(h, 0, sizeof(h));
	for (i = 0; i < THREADS; i++) {
		h[i].shared = &bucket;
		h[i].rate = &rate;
		h[i].now = T0;
	}
	cr_assert_eq(run_threads(hammer_fixed_now, h, THREADS), 1000001);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), T0 + SEC(1) + US(1));
}

Test(rl_lockfree, threads_with_fractional_costs_lose_under_1_ns_each)
{
	/* 300,000 pps: each thread carries its own fraction, so the TAT is
	 * short of the exact cost by under 1 ns per thread. */
	struct rl_rate rate = rate_of(0, 300000, SEC(1));
	struct rl_bucket bucket;
	struct hammer h[THREADS];
	unsigned __int128 exact;
	uint64_t total;
	int i;

	rl_bucket_init(&bucket);
	memset(h, 0, sizeof(h));
	for (i = 0; i < THREADS; i++) {
		h[i].shared = &bucket;
		h[i].rate = &rate;
		h[i].now = T0;
	}
	total = run_threads(hammer_fixed_now, h, THREADS);
	cr_assert_eq(total, 300001);
	exact = rate.cost[RL_PACKETS] * total;
	for (i = 0; i < THREADS; i++)
		exact -= h[i].carry;
	cr_assert_eq((exact & UINT64_MAX), 0);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), T0 + (uint64_t)(exact >> 64));
}

/* Every thread offers until refused at each step of a shared clock; thread
 * 0 moves the clock between steps. */
static void *hammer_stepped(void *arg)
{
	struct hammer *h = arg;
	struct rl_levels levels;
	uint64_t step, now;

	rl_levels_init(&levels);
	rl_levels_set(&levels, RL_LEVEL_SERVER, h->shared, h->rate, NULL, true);
	for (step = 0; step < h->steps; step++) {
		pthread_barrier_wait(h->barrier);
		now = atomic_load(h->clock);
		while (admit(&levels, now, 100, 0, NULL) == RL_SEND)
			h->passed += now >= h->from;
		if (pthread_barrier_wait(h->barrier) ==
		    PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_store(h->clock, now + US(10));
	}
	return NULL;
}

Test(rl_lockfree, threads_over_a_simulated_window_pass_the_rate)
{
	/* 3,000,000 pps, 100 ms counted after 20 ms: 300,000 +- 1. */
	struct rl_rate rate = rate_of(0, 3000000, MS(1));
	struct rl_bucket bucket;
	struct hammer h[THREADS];
	_Atomic uint64_t clock = T0;
	uint64_t total;
	int i;

	rl_bucket_init(&bucket);
	memset(h, 0, sizeof(h));
	for (i = 0; i < THREADS; i++) {
		h[i].shared = &bucket;
		h[i].rate = &rate;
		h[i].clock = &clock;
		h[i].steps = 12000;
		h[i].from = T0 + MS(20);
	}
	total = run_threads(hammer_stepped, h, THREADS);
	cr_assert(total >= 299999 && total <= 300001, "passed %llu",
	          (unsigned long long)total);
}

/* The shared level first, a private one behind it that refuses: every
 * refused try charges and refunds the shared bucket. */
static void *hammer_with_refunds(void *arg)
{
	struct hammer *h = arg;
	struct rl_bucket mine;
	struct rl_levels levels;
	uint64_t i;

	rl_levels_init(&levels);
	rl_bucket_init(&mine);
	rl_levels_set(&levels, RL_LEVEL_ALLOCATION, h->shared, h->rate, NULL,
	              true);
	rl_levels_set(&levels, RL_LEVEL_USER, &mine, h->local_rate, NULL,
	              false);
	pthread_barrier_wait(h->barrier);
	for (i = 0; i < h->refused_tries + 1000; i++)
		h->passed += admit(&levels, h->now, 100, 0, NULL) == RL_SEND;
	return NULL;
}

Test(rl_lockfree, refunds_under_contention_leave_the_exact_tat)
{
	/* Shared: 1,000,000 pps (1 us each), never the one to refuse.
	 * Private: 1000 pps with 100 ms of burst: 101 pass per thread. */
	struct rl_rate shared_rate = rate_of(0, 1000000, SEC(1));
	struct rl_rate local_rate = rate_of(0, 1000, MS(100));
	struct rl_bucket bucket;
	struct hammer h[THREADS];
	uint64_t total;
	int i;

	rl_bucket_init(&bucket);
	memset(h, 0, sizeof(h));
	for (i = 0; i < THREADS; i++) {
		h[i].shared = &bucket;
		h[i].rate = &shared_rate;
		h[i].local_rate = &local_rate;
		h[i].now = T0;
		h[i].refused_tries = 2000000;
	}
	total = run_threads(hammer_with_refunds, h, THREADS);
	cr_assert_eq(total, THREADS * 101);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), T0 + total * US(1));
}

/* --- Processes on a MAP_SHARED region --------------------------------------
 */

#define CHILDREN 4

struct proc_results {
	uint64_t passed[CHILDREN];
	uint64_t slot[CHILDREN];
};

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	return p;
}

static const uint8_t test_key[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                     8, 9, 10, 11, 12, 13, 14, 15};

/* A worker: its own view, one user's bucket, hammered at one instant. */
static void child_hammers(struct rl_user_table *table, unsigned worker,
                          const struct rl_rate *rate, int gate[2],
                          struct proc_results *out)
{
	struct rl_user_view view;
	struct rl_bucket *bucket;
	struct rl_levels levels;
	char byte;

	close(gate[1]);
	if (rl_user_view_init(&view, table, worker) != 0 ||
	    rl_user_acquire(&view, "alice", 5, &bucket) != 0)
		_exit(1);
	rl_levels_init(&levels);
	rl_levels_set(&levels, RL_LEVEL_USER, bucket, rate, NULL, true);
	if (read(gate[0], &byte, 1) < 0)
		_exit(1);
	while (admit(&levels, T0, 100, 0, NULL) == RL_SEND)
		out->passed[worker]++;
	out->slot[worker] = (uint64_t)((char *)bucket - (char *)table);
	_exit(0);
}

Test(rl_lockfree, forked_workers_on_a_map_shared_table_pass_the_burst)
{
	size_t size = rl_user_table_size(64);
	void *region = map_shared(size);
	struct proc_results *out = map_shared(sizeof(*out));
	struct rl_rate rate = rate_of(0, 1000000, SEC(1));
	struct rl_user_table *table;
	int gate[2], status, i;
	uint64_t total = 0;
	pid_t pids[CHILDREN];

	cr_assert_eq(rl_user_table_init(region, size, test_key, &table), 0);
	cr_assert_eq(pipe(gate), 0);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0)
			child_hammers(table, (unsigned)i, &rate, gate, out);
	}
	close(gate[0]);
	close(gate[1]); /* all go */
	for (i = 0; i < CHILDREN; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		total += out->passed[i];
		cr_assert_eq(out->slot[i], out->slot[0]);
	}
	cr_assert_eq(total, 1000001);
	munmap(out, sizeof(*out));
	munmap(region, size);
}

/* --- The user table ----------------------------------------------------------
 */

static void *table_region;
static size_t table_size;
static struct rl_user_table *table;
static struct rl_user_view views[2];

/* A table of `slots` slots and two workers' views. */
static void make_table(size_t slots)
{
	table_size = rl_user_table_size(slots);
	table_region = map_shared(table_size);
	cr_assert_eq(
	    rl_user_table_init(table_region, table_size, test_key, &table), 0);
	cr_assert_eq(table->slot_count, slots);
	cr_assert_eq(rl_user_view_init(&views[0], table, 0), 0);
	cr_assert_eq(rl_user_view_init(&views[1], table, 1), 0);
}

static void table_setup(void)
{
	make_table(1024);
}

static void table_teardown(void)
{
	rl_user_view_free(&views[0]);
	rl_user_view_free(&views[1]);
	munmap(table_region, table_size);
}

TestSuite(rl_user_table, .init = table_setup, .fini = table_teardown);

Test(rl_user_table, hash_is_siphash_2_4)
{
	/* The reference vectors: key 00..0f, messages 00, 00 01, ... */
	uint8_t message[15];
	int i;

	for (i = 0; i < 15; i++)
		message[i] = (uint8_t)i;
	cr_assert_eq(rl_user_hash(table, message, 0), 0x726fdb47dd0e0e31ULL);
	cr_assert_eq(rl_user_hash(table, message, 8), 0x93f5f5799a932462ULL);
	cr_assert_eq(rl_user_hash(table, message, 15), 0xa129ca6149be45e5ULL);
}

Test(rl_user_table, same_user_gets_the_same_bucket_in_every_worker)
{
	struct rl_bucket *a, *b, *c;

	cr_assert_eq(rl_user_acquire(&views[0], "alice", 5, &a), 0);
	cr_assert_eq(rl_user_acquire(&views[1], "alice", 5, &b), 0);
	cr_assert_eq(rl_user_acquire(&views[0], "bob", 3, &c), 0);
	cr_assert_eq(a, b);
	cr_assert_neq(a, c);
	cr_assert_neq(a, rl_user_table_server(table, 0));
}

Test(rl_user_table, keys_with_the_same_home_probe_to_separate_slots)
{
	struct rl_bucket *a, *b, *again;
	uint64_t h = 0x1234500000000007ULL;

	cr_assert_eq(rl_user_acquire_hash(&views[0], h, &a), 0);
	cr_assert_eq(rl_user_acquire_hash(&views[0], h + 1024, &b), 0);
	cr_assert_neq(a, b);
	cr_assert_eq(rl_user_acquire_hash(&views[1], h + 1024, &again), 0);
	cr_assert_eq(again, b);
}

Test(rl_user_table, returning_user_keeps_his_tat)
{
	struct rl_bucket *a, *again;

	cr_assert_eq(rl_user_acquire(&views[0], "alice", 5, &a), 0);
	atomic_store(&a->tat[RL_BYTES], T0 + MS(7));
	rl_user_release(&views[0], a);
	cr_assert_eq(rl_user_acquire(&views[1], "alice", 5, &again), 0);
	cr_assert_eq(again, a);
	cr_assert_eq(tat_of(again, RL_BYTES), T0 + MS(7));
}

Test(rl_user_table, full_table_refuses_counts_and_leaves_the_level_out)
{
	struct rl_bucket *b[5];
	struct rl_levels levels;
	struct rl_rate rate = rate_of(0, 1, NO_BURST);
	int i;

	table_teardown();
	make_table(4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(
		    rl_user_acquire_hash(&views[0], (uint64_t)i, &b[i]), 0);
	cr_assert_eq(rl_user_acquire_hash(&views[0], 4, &b[4]), ENOSPC);
	cr_assert_null(b[4]);
	cr_assert_eq(atomic_load(&table->full), 1);
	/* The caller sets the level with no bucket: not limited there. */
	rl_levels_init(&levels);
	rl_levels_set(&levels, RL_LEVEL_USER, b[4], &rate, NULL, true);
	for (i = 0; i < 10; i++)
		cr_assert_eq(admit(&levels, T0, 100, 0, NULL), RL_SEND);
}

Test(rl_user_table, released_slot_goes_to_a_new_user_with_a_fresh_tat)
{
	struct rl_bucket *b[5];
	int i;

	table_teardown();
	make_table(4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(
		    rl_user_acquire_hash(&views[0], (uint64_t)i, &b[i]), 0);
	atomic_store(&b[2]->tat[RL_PACKETS], T0 + SEC(1));
	rl_user_release(&views[0], b[2]);
	cr_assert_eq(rl_user_acquire_hash(&views[1], 4, &b[4]), 0);
	cr_assert_eq(b[4], b[2]);
	cr_assert_eq(tat_of(b[4], RL_PACKETS), 0);
	cr_assert_eq(atomic_load(&table->reclaims), 1);
	/* And the old user, back, finds no room. */
	cr_assert_eq(rl_user_acquire_hash(&views[0], 2, &b[2]), ENOSPC);
}

Test(rl_user_table, slot_held_by_another_worker_is_not_taken_over)
{
	struct rl_bucket *b[4], *other, *extra;
	int i;

	table_teardown();
	make_table(4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(
		    rl_user_acquire_hash(&views[0], (uint64_t)i, &b[i]), 0);
	/* Worker 1 also holds user 3, twice; worker 0 lets go of it. */
	cr_assert_eq(rl_user_acquire_hash(&views[1], 3, &other), 0);
	cr_assert_eq(rl_user_acquire_hash(&views[1], 3, &other), 0);
	rl_user_release(&views[0], b[3]);
	cr_assert_eq(rl_user_acquire_hash(&views[0], 9, &extra), ENOSPC);
	rl_user_release(&views[1], other);
	cr_assert_eq(rl_user_acquire_hash(&views[0], 9, &extra), ENOSPC);
	rl_user_release(&views[1], other);
	cr_assert_eq(rl_user_acquire_hash(&views[0], 9, &extra), 0);
	cr_assert_eq(extra, b[3]);
}

Test(rl_user_table, dead_workers_references_are_forgotten)
{
	struct rl_bucket *b[4], *extra;
	int i;

	table_teardown();
	make_table(4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(
		    rl_user_acquire_hash(&views[0], (uint64_t)i, &b[i]), 0);
	cr_assert_eq(rl_user_acquire_hash(&views[1], 9, &extra), ENOSPC);
	rl_user_table_forget_worker(table, 0);
	cr_assert_eq(rl_user_acquire_hash(&views[1], 9, &extra), 0);
}

/* Worker 7 died between claiming a slot and filling it in: its claim
 * marker (2 + worker, as user_table.c writes it) stays in slot 1. Others
 * wait for it a bounded while, then pass it by; the master's cleanup
 * frees it. */
Test(rl_user_table, claim_left_by_a_dead_worker_is_passed_by_then_freed)
{
	struct rl_bucket *b[4];
	int i;

	table_teardown();
	make_table(4);
	atomic_store(&table->slots[1].key, 2 + 7);
	for (i = 0; i < 3; i++)
		cr_assert_eq(
		    rl_user_acquire_hash(&views[0], (uint64_t)i, &b[i]), 0);
	for (i = 0; i < 3; i++)
		cr_assert_neq(b[i], &table->slots[1].bucket);
	cr_assert_eq(rl_user_acquire_hash(&views[0], 3, &b[3]), ENOSPC);
	rl_user_table_forget_worker(table, 7);
	cr_assert_eq(rl_user_acquire_hash(&views[0], 3, &b[3]), 0);
	cr_assert_eq(b[3], &table->slots[1].bucket);
}

Test(rl_user_table, region_must_be_aligned_and_hold_two_slots)
{
	struct rl_user_table *t;
	struct rl_user_view view;

	cr_assert_eq(rl_user_table_init((char *)table_region + 8,
	                                table_size - 8, test_key, &t),
	             EINVAL);
	cr_assert_eq(rl_user_table_init(table_region, rl_user_table_size(2) - 1,
	                                test_key, &t),
	             EINVAL);
	cr_assert_eq(rl_user_view_init(&view, table, RL_USER_MAX_WORKERS),
	             EINVAL);
	rl_user_release(&views[0], NULL); /* a no-op */
}

#define RACES 1000

struct racer {
	struct rl_user_view view;
	pthread_barrier_t *barrier;
	struct rl_bucket *got[RACES];
};

/* Each round every worker adds the same new user at once, then all let
 * go, so later rounds take over the slots of earlier ones. */
static void *race_new_users(void *arg)
{
	struct racer *r = arg;
	int k;

	for (k = 0; k < RACES; k++) {
		pthread_barrier_wait(r->barrier);
		if (rl_user_acquire_hash(&r->view, 0xabc0000ULL + (uint64_t)k,
		                         &r->got[k]) != 0)
			r->got[k] = NULL;
		pthread_barrier_wait(r->barrier);
		rl_user_release(&r->view, r->got[k]);
	}
	return NULL;
}

Test(rl_user_table, workers_adding_one_new_user_at_once_share_one_slot)
{
	struct racer *r = calloc(THREADS, sizeof(*r));
	pthread_t threads[THREADS];
	pthread_barrier_t barrier;
	int i, k;

	table_teardown();
	make_table(16);
	pthread_barrier_init(&barrier, NULL, THREADS);
	for (i = 0; i < THREADS; i++) {
		cr_assert_eq(rl_user_view_init(&r[i].view, table, 10 + i), 0);
		r[i].barrier = &barrier;
		pthread_create(&threads[i], NULL, race_new_users, &r[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	for (k = 0; k < RACES; k++)
		for (i = 0; i < THREADS; i++) {
			cr_assert_not_null(r[i].got[k]);
			cr_assert_eq(r[i].got[k], r[0].got[k], "user %d", k);
		}
	cr_assert_eq(atomic_load(&table->full), 0);
	for (i = 0; i < THREADS; i++)
		rl_user_view_free(&r[i].view);
	pthread_barrier_destroy(&barrier);
	free(r);
}
