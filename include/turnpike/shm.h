/*
 * shm: the memory the master shares with its workers (DESIGN.md section
 * 4): one MAP_SHARED anonymous mapping made before fork, holding what
 * changes per packet. Each worker writes only its own cache-line aligned
 * counter block; readers sum them. After the blocks comes the table of
 * rate-limit buckets every worker shares (the server's and one per user
 * and direction, ratelimit.h), updated lock-free.
 */
#ifndef TURNPIKE_SHM_H
#define TURNPIKE_SHM_H

#include <stddef.h>

#include "turnpike/metrics.h"

struct shm {
	void *map;
	size_t size;
	size_t worker_count;
	struct metrics_worker *workers;   /* worker_count blocks */
	struct rl_user_table *rate_users; /* in the same mapping */
};

/* Maps zeroed shared memory for worker_count workers and a table of
 * rate_slots user buckets (rounded up to a power of two, at least 2),
 * keyed with fresh random bytes. Only the pages that get used take
 * memory. Returns 0 or an errno value. */
int shm_create(size_t worker_count, size_t rate_slots, struct shm *out);
/* Unmaps it; a zeroed struct is a no-op. */
void shm_destroy(struct shm *shm);
/* Adds one worker's counters into total (the master sums the workers in
 * use for its status snapshot). */
void shm_metrics_add(struct metrics_worker *total,
                     const struct metrics_worker *one);
/* Adds the counts of a worker that has exited into retired, and none of
 * its gauges: what it held is gone with it. Allocations it still held
 * (it crashed) count as deleted, so created - deleted stays live. */
void shm_metrics_retire(struct metrics_worker *retired,
                        const struct metrics_worker *one);

#endif
