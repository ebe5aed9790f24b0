/*
 * Shared memory between the master and its workers.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "turnpike/shm.h"

int shm_create(size_t worker_count, struct shm *out)
{
	size_t size = worker_count * sizeof(struct metrics_worker);
	void *map;

	memset(out, 0, sizeof(*out));
	if (worker_count == 0)
		return EINVAL;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
	           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return errno;
	out->size = size;
	out->worker_count = worker_count;
	out->workers = map;
	return 0;
}

void shm_destroy(struct shm *shm)
{
	if (shm->workers != NULL)
		munmap(shm->workers, shm->size);
	memset(shm, 0, sizeof(*shm));
}

void shm_metrics_total(const struct shm *shm, struct metrics_worker *total)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < shm->worker_count; i++) {
#define METRICS_ADD(name, help) total->name += shm->workers[i].name;
		METRICS_FIELDS(METRICS_ADD)
#undef METRICS_ADD
	}
}
