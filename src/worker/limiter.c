/*
 * The worker's rate limits: configuration, buckets per allocation, the
 * pacing wheel's one timer (DESIGN.md section 5).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "turnpike/log.h"
#include "limiter.h"
#include "relay.h"

/* The other direction's user bucket is the same user's under a second
 * hash: two slots of the shared table per user (ratelimit.h). */
#define LIMITER_TO_CLIENT_SALT 0x9E3779B97F4A7C15ULL

uint64_t limiter_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RL_NS_PER_SECOND + (uint64_t)ts.tv_nsec;
}

static void rate_from_conf(struct rl_rate *rate, const struct conf_rate *c)
{
	struct rl_rate_spec spec = {
	    .bytes_per_second = c->bytes_per_second,
	    .packets_per_second = c->packets_per_second,
	    .burst_ns = c->burst_ns,
	    .burst_bytes = c->burst_bytes,
	};

	/* conf_load() has checked the burst against the rate. */
	if (rl_rate_init(rate, &spec) != 0) {
		log_msg(LOG_ERR, "rate limit rejected; left unlimited");
		memset(rate, 0, sizeof(*rate));
	}
}

static void arm(struct worker *worker, uint64_t deadline)
{
	struct worker_limiter *limiter = worker->limiter;
	uint64_t now = limiter_now_ns(), wait;
	struct timeval tv;

	wait = deadline > now ? deadline - now : 0;
	tv.tv_sec = (time_t)(wait / RL_NS_PER_SECOND);
	tv.tv_usec = (suseconds_t)((wait % RL_NS_PER_SECOND) / 1000);
	if (event_add(limiter->timer, &tv) == 0)
		limiter->armed = deadline;
}

/* (Re)builds the wheel for the configuration, or leaves none when the
 * configuration does not pace. Only when the wheel is empty: a packet
 * never moves between wheels. */
static void rebuild_pacer(struct worker *worker, const struct conf *conf)
{
	struct worker_limiter *limiter = worker->limiter;
	int err;

	limiter->rebuild_pending = false;
	if (limiter->have_pacer &&
	    limiter->pacer.max_delay_ns == conf->max_delay_ns &&
	    limiter->pacer.slot_ns == conf->pace_slot_ns &&
	    limiter->pacer.pool.capacity == conf->pace_buffers)
		return;
	if (limiter->have_pacer)
		rl_pacer_free(&limiter->pacer);
	limiter->have_pacer = false;
	if (conf->rate_policy != CONF_RATE_PACE || conf->max_delay_ns == 0)
		return;
	/* A buffer holds the largest datagram a worker receives, with the
	 * peer's address or the TURN header in front. */
	err = rl_pacer_init(&limiter->pacer, conf->pace_slot_ns,
	                    conf->max_delay_ns, conf->pace_buffers,
	                    WORKER_BUFFER_SIZE);
	if (err != 0) {
		log_msg(LOG_ERR,
		        "cannot make the pacing wheel (%s): "
		        "over-rate packets are dropped",
		        strerror(err));
		return;
	}
	limiter->have_pacer = true;
}

/* The wheel's one timer: send what is due, then wait for the next. */
static void on_wheel(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;
	struct worker_limiter *limiter = worker->limiter;
	uint64_t deadline;

	limiter->armed = 0;
	if (!limiter->have_pacer)
		return;
	relay_paced(worker, limiter_now_ns());
	if (rl_pacer_next_deadline(&limiter->pacer, &deadline) == 0)
		arm(worker, deadline);
	else if (limiter->rebuild_pending)
		limiter_configure(worker, worker->conf);
}

void limiter_configure(struct worker *worker, const struct conf *conf)
{
	struct worker_limiter *limiter = worker->limiter;

	rate_from_conf(&limiter->rate[RL_LEVEL_ALLOCATION],
	               &conf->allocation_rate);
	rate_from_conf(&limiter->rate[RL_LEVEL_USER], &conf->user_rate);
	rate_from_conf(&limiter->rate[RL_LEVEL_SERVER], &conf->total_rate);
	limiter->active =
	    !rl_rate_unlimited(&limiter->rate[RL_LEVEL_ALLOCATION]) ||
	    !rl_rate_unlimited(&limiter->rate[RL_LEVEL_USER]) ||
	    !rl_rate_unlimited(&limiter->rate[RL_LEVEL_SERVER]);
	limiter->queue_bound = conf->allocation_queue;
	if (limiter->have_pacer && limiter->pacer.waiting > 0)
		limiter->rebuild_pending = true;
	else
		rebuild_pacer(worker, conf);
	/* Pacing needs a wheel; until the new one exists, a packet over the
	 * rate is dropped rather than queued on the old shape. */
	limiter->pace = conf->rate_policy == CONF_RATE_PACE &&
	                limiter->have_pacer && !limiter->rebuild_pending;
}

int limiter_init(struct worker *worker, struct rl_user_table *table)
{
	struct worker_limiter *limiter = calloc(1, sizeof(*limiter));

	if (limiter == NULL)
		return ENOMEM;
	worker->limiter = limiter;
	if (table != NULL && worker->index < RL_USER_MAX_WORKERS) {
		if (rl_user_view_init(&limiter->users, table, worker->index) !=
		    0)
			return ENOMEM;
		limiter->have_users = true;
	} else if (table != NULL) {
		log_msg(LOG_WARNING,
		        "worker %u: past the %d workers the shared rate table "
		        "serves; user-rate and total-rate do not apply here",
		        worker->index, RL_USER_MAX_WORKERS);
	}
	limiter->timer = event_new(worker->base, -1, 0, on_wheel, worker);
	if (limiter->timer == NULL)
		return ENOMEM;
	limiter_configure(worker, worker->conf);
	return 0;
}

void limiter_free(struct worker *worker)
{
	struct worker_limiter *limiter = worker->limiter;

	if (limiter == NULL)
		return;
	if (limiter->timer != NULL)
		event_free(limiter->timer);
	if (limiter->have_pacer)
		rl_pacer_free(&limiter->pacer);
	rl_user_view_free(&limiter->users);
	free(limiter);
	worker->limiter = NULL;
}

void limiter_attach(struct worker *worker, struct allocation_limits *limits,
                    const char *quota_key)
{
	struct worker_limiter *limiter = worker->limiter;
	struct rl_user_table *table =
	    limiter->have_users ? limiter->users.table : NULL;
	uint64_t hash = 0;
	int d;

	if (table != NULL)
		hash = rl_user_hash(table, quota_key, strlen(quota_key));
	for (d = 0; d < LIMITER_DIRECTIONS; d++) {
		struct limiter_flow *flow = &limits->flow[d];
		struct rl_counters *counters = worker->metrics->rate;

		rl_levels_init(&flow->levels);
		rl_bucket_init(&flow->bucket);
		rl_flow_init(&flow->queue, limiter->queue_bound);
		rl_levels_set(&flow->levels, RL_LEVEL_ALLOCATION, &flow->bucket,
		              &limiter->rate[RL_LEVEL_ALLOCATION],
		              &counters[RL_LEVEL_ALLOCATION], false);
		flow->user = NULL;
		if (table == NULL)
			continue;
		/* A full table leaves the user level out (ratelimit.h). */
		(void)rl_user_acquire_hash(
		    &limiter->users,
		    d == LIMITER_TO_PEER ? hash : hash ^ LIMITER_TO_CLIENT_SALT,
		    &flow->user);
		rl_levels_set(&flow->levels, RL_LEVEL_USER, flow->user,
		              &limiter->rate[RL_LEVEL_USER],
		              &counters[RL_LEVEL_USER], true);
		rl_levels_set(&flow->levels, RL_LEVEL_SERVER,
		              rl_user_table_server(table, (unsigned)d),
		              &limiter->rate[RL_LEVEL_SERVER],
		              &counters[RL_LEVEL_SERVER], true);
	}
}

void limiter_detach(struct worker *worker, struct allocation_limits *limits)
{
	struct worker_limiter *limiter = worker->limiter;
	int d;

	for (d = 0; d < LIMITER_DIRECTIONS; d++) {
		struct limiter_flow *flow = &limits->flow[d];

		if (limiter->have_pacer)
			rl_flow_cancel(&limiter->pacer, &flow->queue);
		if (limiter->have_users)
			rl_user_release(&limiter->users, flow->user);
		flow->user = NULL;
	}
}

enum rl_verdict limiter_admit(struct worker *worker, struct limiter_flow *flow,
                              uint64_t now_ns,
                              const struct rl_datagram *datagram)
{
	struct worker_limiter *limiter = worker->limiter;
	enum rl_verdict verdict;

	if (limiter->have_pacer &&
	    (limiter->pace || flow->queue.head != NULL)) {
		struct rl_pacer_stats *stats = &limiter->pacer.stats;
		uint64_t refused = stats->dropped_pool + stats->dropped_flow +
		                   stats->dropped_size;

		verdict = rl_pacer_submit(&limiter->pacer, &flow->queue,
		                          &flow->levels, now_ns, datagram);
		if (verdict == RL_PACE) {
			uint64_t departure = flow->queue.tail->departure;
			uint64_t slot =
			    departure - departure % limiter->pacer.slot_ns;

			worker->metrics->rate_queued++;
			if (limiter->armed == 0 || slot < limiter->armed)
				arm(worker, slot);
		} else if (verdict == RL_DROP) {
			worker->metrics->rate_queue_dropped +=
			    stats->dropped_pool + stats->dropped_flow +
			    stats->dropped_size - refused;
		}
		return verdict;
	}
	{
		struct rl_request request = {
		    .now = now_ns,
		    .bytes = datagram->length,
		};
		struct rl_ticket ticket;

		return rl_admit(&flow->levels, &request, &ticket);
	}
}
