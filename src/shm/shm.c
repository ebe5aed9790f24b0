/*
 * Shared memory between the master and its workers.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "turnpike/shm.h"

int shm_create(size_t worker_count, size_t rate_slots, struct shm *out)
{
	size_t blocks = worker_count * sizeof(struct metrics_worker);
	size_t table_size, size;
	uint8_t hash_key[16];
	void *map;
	int err;

	memset(out, 0, sizeof(*out));
	if (worker_count == 0 || rate_slots > SIZE_MAX / 256)
		return EINVAL;
	if (rate_slots < 2)
		rate_slots = 2;
	/* Blocks are 64-byte multiples, so the table starts aligned. */
	table_size = rl_user_table_size(rate_slots);
	size = blocks + table_size;
	if (getrandom(hash_key, sizeof(hash_key), 0) != sizeof(hash_key))
		return EIO;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
	           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return errno;
	err = rl_user_table_init((char *)map + blocks, table_size, hash_key,
	                         &out->rate_users);
	if (err != 0) {
		munmap(map, size);
		return err;
	}
	out->map = map;
	out->size = size;
	out->worker_count = worker_count;
	out->workers = map;
	return 0;
}

void shm_destroy(struct shm *shm)
{
	if (shm->map != NULL)
		munmap(shm->map, shm->size);
	memset(shm, 0, sizeof(*shm));
}

void shm_metrics_add(struct metrics_worker *total,
                     const struct metrics_worker *one)
{
#define METRICS_ADD(name, help) total->name += one->name;
	METRICS_FIELDS(METRICS_ADD)
#undef METRICS_ADD
	for (int l = 0; l < RL_LEVELS; l++) {
		total->rate[l].passed += one->rate[l].passed;
		total->rate[l].delayed += one->rate[l].delayed;
		total->rate[l].dropped += one->rate[l].dropped;
	}
}

void shm_metrics_retire(struct metrics_worker *retired,
                        const struct metrics_worker *one)
{
	shm_metrics_add(retired, one);
	/* A worker that crashed took its allocations with it. */
	retired->allocations_deleted += one->allocations_live;
#define METRICS_CLEAR(name) retired->name = 0;
	METRICS_GAUGES(METRICS_CLEAR)
#undef METRICS_CLEAR
}
