/*
 * -m limiter: the rate limiter's cost per packet, in process, the way a
 * worker pays it (limiter.c): every level set (allocation, user in a
 * MAP_SHARED table, server), bytes and packets limited at rates that never
 * bind, the clock read once per batch of 64. With -T N, N threads act as
 * N workers of one user and contend on the shared buckets with
 * compare-and-swap. No network. Measured three ways: packet by packet
 * with byte rates, then with byte and packet rates, then with byte and
 * packet rates in runs of LIMITER_RUN packets of one flow
 * (rl_admit_run(), as a worker charges a receive batch).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "turnpike/ratelimit.h"
#include "bench.h"

#define LIMITER_BATCH 64
#define LIMITER_FLOWS 64 /* allocations per thread, round robin */
#define LIMITER_RUN   32 /* a worker's receive batch */

struct limiter_thread {
	pthread_t thread;
	struct rl_user_table *table;
	const struct rl_rate *rate;
	unsigned index;
	uint32_t bytes;
	bool runs; /* rl_admit_run() on LIMITER_RUN packets at a time */
	double duration;
	uint64_t packets, refused;
	uint64_t cpu_ns;
	int err;
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *limiter_run(void *arg)
{
	struct limiter_thread *t = arg;
	struct rl_levels levels[LIMITER_FLOWS];
	struct rl_bucket own[LIMITER_FLOWS];
	struct rl_user_view view;
	struct rl_bucket *user;
	struct rl_ticket ticket;
	uint64_t start, end, cpu0, now;
	unsigned i, flow = 0;

	if ((t->err = rl_user_view_init(&view, t->table, t->index)) != 0)
		return NULL;
	for (i = 0; i < LIMITER_FLOWS; i++) {
		if ((t->err = rl_user_acquire(&view, "bench", 5, &user)) != 0)
			return NULL;
		rl_bucket_init(&own[i]);
		rl_levels_init(&levels[i]);
		rl_levels_set(&levels[i], RL_LEVEL_ALLOCATION, &own[i], t->rate,
		              NULL, false);
		rl_levels_set(&levels[i], RL_LEVEL_USER, user, t->rate, NULL,
		              true);
		rl_levels_set(&levels[i], RL_LEVEL_SERVER,
		              rl_user_table_server(t->table, 0), t->rate, NULL,
		              true);
	}
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	start = clock_ns(CLOCK_MONOTONIC);
	end = start + (uint64_t)(t->duration * 1e9);
	do {
		struct rl_request request = {.bytes = t->bytes};

		struct rl_run run = {.bytes = (uint64_t)t->bytes * LIMITER_RUN,
		                     .last_bytes = t->bytes,
		                     .packets = LIMITER_RUN};

		now = clock_ns(CLOCK_MONOTONIC); /* once per batch */
		request.now = now;
		run.now = now;
		if (t->runs) {
			for (i = 0; i < LIMITER_BATCH; i += LIMITER_RUN) {
				if (!rl_admit_run(&levels[flow], &run))
					t->refused += LIMITER_RUN;
				flow = (flow + 1) % LIMITER_FLOWS;
			}
		} else {
			for (i = 0; i < LIMITER_BATCH; i++) {
				if (rl_admit(&levels[flow], &request,
				             &ticket) != RL_SEND)
					t->refused++;
				flow = (flow + 1) % LIMITER_FLOWS;
			}
		}
		t->packets += LIMITER_BATCH;
	} while (now < end);
	t->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	rl_user_view_free(&view);
	return NULL;
}

/* One measurement: o->senders threads on one shared table. Returns the
 * CPU ns per packet, or a negative value on error. */
static double measure(const struct bench_options *o, const struct rl_rate *rate,
                      bool runs, uint64_t *packets_out, uint64_t *refused_out)
{
	struct limiter_thread threads[BENCH_SENDERS_MAX];
	struct rl_user_table *table;
	uint8_t key[16] = {0};
	uint64_t packets = 0, refused = 0, cpu = 0;
	size_t size = rl_user_table_size(1024);
	void *region;
	unsigned i;
	int err = 0;

	region = mmap(NULL, size, PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return -1;
	if (rl_user_table_init(region, size, key, &table) != 0) {
		munmap(region, size);
		return -1;
	}
	for (i = 0; i < o->senders; i++) {
		threads[i] = (struct limiter_thread){
		    .table = table,
		    .rate = rate,
		    .index = i,
		    .bytes = o->payload,
		    .runs = runs,
		    .duration = o->duration / 3,
		};
		if (pthread_create(&threads[i].thread, NULL, limiter_run,
		                   &threads[i]) != 0) {
			fprintf(stderr,
			        "turnpike-bench: cannot start a thread\n");
			exit(1);
		}
	}
	for (i = 0; i < o->senders; i++) {
		pthread_join(threads[i].thread, NULL);
		if (threads[i].err != 0)
			err = threads[i].err;
		packets += threads[i].packets;
		refused += threads[i].refused;
		cpu += threads[i].cpu_ns;
	}
	munmap(region, size);
	if (err != 0) {
		fprintf(stderr, "turnpike-bench: limiter setup: %s\n",
		        strerror(err));
		return -1;
	}
	*packets_out = packets;
	*refused_out = refused;
	return packets ? (double)cpu / (double)packets : 0.0;
}

int run_limiter(const struct bench_options *o)
{
	/* 8 Pbit/s and 10^13 packets a second: never binding, even when
	 * runs make a charge cost a nanosecond, so every packet takes the
	 * full path through every bucket. The arithmetic does not depend on
	 * the rate. */
	struct rl_rate_spec both = {
	    .bytes_per_second = 1000000000000000ull,
	    .packets_per_second = 10000000000000ull,
	    .burst_ns = 20000000ull,
	};
	struct rl_rate_spec bytes = both;
	struct rl_rate rate_both, rate_bytes;
	uint64_t packets[3], refused[3];
	double ns[3];

	bytes.packets_per_second = 0;
	if (rl_rate_init(&rate_both, &both) != 0 ||
	    rl_rate_init(&rate_bytes, &bytes) != 0)
		return EINVAL;
	ns[0] = measure(o, &rate_bytes, false, &packets[0], &refused[0]);
	ns[1] = measure(o, &rate_both, false, &packets[1], &refused[1]);
	ns[2] = measure(o, &rate_both, true, &packets[2], &refused[2]);
	if (ns[0] < 0 || ns[1] < 0 || ns[2] < 0)
		return EIO;
	printf("limiter, %u thread(s), 3 levels (allocation, shared user, "
	       "shared server):\n"
	       "  byte rates:             %6.1f ns per packet (CPU)\n"
	       "  byte and packet rates:  %6.1f ns per packet (CPU)\n"
	       "  the same, runs of %u:   %6.1f ns per packet (CPU)\n",
	       o->senders, ns[0], ns[1], LIMITER_RUN, ns[2]);
	printf("RESULT mode=limiter threads=%u levels=3 size=%u packets=%llu "
	       "refused=%llu ns_per_packet_bytes=%.1f ns_per_packet_both=%.1f "
	       "run=%u ns_per_packet_runs=%.1f\n",
	       o->senders, o->payload,
	       (unsigned long long)(packets[0] + packets[1] + packets[2]),
	       (unsigned long long)(refused[0] + refused[1] + refused[2]),
	       ns[0], ns[1], LIMITER_RUN, ns[2]);
	return refused[0] + refused[1] + refused[2] == 0 ? 0 : EPROTO;
}
