/*
 * The status snapshot: turnpikectl cannot read the counters in the
 * master's anonymous shared memory, so the master copies them into the
 * store once a second, one entry per worker slot in use (of every
 * generation), with its own facts.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "turnpike/ratelimit.h"
#include "master_private.h"

_Static_assert(STORE_RATE_LEVELS == RL_LEVELS, "one counter set per level");

/* Every metric fits the snapshot's counters, name and all. */
#define COUNTER_ONE(name, help) +1
enum { COUNTER_COUNT = 0 METRICS_FIELDS(COUNTER_ONE) };
#undef COUNTER_ONE
_Static_assert(COUNTER_COUNT <= STORE_COUNTERS_MAX, "room for every metric");
#define COUNTER_NAME_FITS(name, help)                                          \
	_Static_assert(sizeof(#name) <= STORE_COUNTER_NAME_MAX, #name);
METRICS_FIELDS(COUNTER_NAME_FITS)
#undef COUNTER_NAME_FITS

/* The figures of one worker's metrics that the status shows. */
static void copy_counts(const struct metrics_worker *m,
                        struct store_status_worker *out)
{
	out->allocations = m->allocations_live;
	out->client_packets = m->client_packets;
	out->client_bytes = m->client_bytes;
	out->peer_packets = m->peer_packets;
	out->peer_bytes = m->peer_bytes;
	out->drops = m->drop_no_permission + m->drop_no_channel +
	             m->drop_send_denied + m->stream_drops;
	for (int level = 0; level < STORE_RATE_LEVELS; level++) {
		out->rate[level].passed = m->rate[level].passed;
		out->rate[level].delayed = m->rate[level].delayed;
		out->rate[level].dropped = m->rate[level].dropped;
	}
	out->rate_queue_dropped = m->rate_queue_dropped;
}

static void copy_worker(const struct master *master, size_t slot,
                        struct store_status_worker *out)
{
	out->index = (uint32_t)slot;
	out->pid = master->workers[slot].pid;
	out->generation = master->workers[slot].generation;
	out->draining = master->workers[slot].draining;
	copy_counts(&master->shm.workers[slot], out);
}

/* The metrics of every slot in use and of the workers that have exited,
 * summed, by name (metrics.h). */
static void fill_counters(const struct master *master,
                          struct store_status *status)
{
	struct metrics_worker total = master->retired;
	size_t i;

	for (i = 0; i < MASTER_SLOTS; i++)
		if (master->workers[i].in_use)
			shm_metrics_add(&total, &master->shm.workers[i]);
	status->counter_count = 0;
#define COUNTER_PUT(field, help)                                               \
	snprintf(status->counters[status->counter_count].name,                 \
	         STORE_COUNTER_NAME_MAX, "%s", #field);                        \
	status->counters[status->counter_count++].value = total.field;
	METRICS_FIELDS(COUNTER_PUT)
#undef COUNTER_PUT
}

static void fill(const struct master *master, time_t now,
                 struct store_status *status)
{
	size_t i;

	status->master_pid = getpid();
	status->started = (uint64_t)master->started;
	status->time = (uint64_t)now;
	status->generation = master->generation;
	snprintf(status->config_path, sizeof(status->config_path), "%s",
	         master->options->config_path);
	status->reloads = master->reloads;
	status->last_reload_time = (uint64_t)master->last_reload;
	snprintf(status->last_reload_error, sizeof(status->last_reload_error),
	         "%s", master->last_reload_error);
	/* Every slot in use, of every generation. */
	for (i = 0; i < MASTER_SLOTS &&
	            status->worker_count < STORE_STATUS_WORKERS_MAX;
	     i++)
		if (master->workers[i].in_use)
			copy_worker(master, i,
			            &status->workers[status->worker_count++]);
	fill_counters(master, status);
	copy_counts(&master->retired, &status->exited);
}

void master_publish_status(struct master *master)
{
	struct store_status *status;
	time_t now = time(NULL);
	int err = ENOMEM;

	/* Tried again next second whatever happens: never a busy loop. */
	master->status_time = now;
	status = calloc(1, sizeof(*status));
	if (status != NULL) {
		fill(master, now, status);
		err = store_status_put(master->store, status);
		free(status);
	}
	/* Once per change, not once a second. */
	if (err != 0 && err != master->status_error)
		log_msg(LOG_WARNING, "status publish failed error=%s",
		        LOG_QUOTED(store_strerror(err)));
	else if (err == 0 && master->status_error != 0)
		log_info("status published again");
	master->status_error = err;
}
