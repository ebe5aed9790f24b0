/*
 * worker: one process's event loop over its own listener clones and the
 * allocations it creates (DESIGN.md section 1).
 */
#ifndef TURNPIKE_WORKER_H
#define TURNPIKE_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/metrics.h"

/* A listener socket the master bound for this worker. */
struct worker_listener_fd {
	int fd;
	const struct conf_listen *listen; /* borrowed from conf */
};

struct worker_params {
	/* The worker's slot: unique among the live workers of every
	 * generation; its counter block, its records in the store. */
	unsigned index;
	uint64_t generation;     /* of the configuration it starts with */
	const struct conf *conf; /* borrowed; valid for the worker's life */
	const struct worker_listener_fd *listeners; /* borrowed */
	size_t listener_count;
	struct metrics_worker *metrics; /* this worker's block, borrowed */
	/* The rate-limit buckets all workers share (in shared memory). */
	struct rl_user_table *rate_users;
	/* The master's nonce key: any worker verifies any nonce. */
	const struct auth_nonce_key *nonce_key;
	/* The file SIGHUP re-reads (DESIGN.md section 7). */
	const char *config_path;
};

/*
 * Runs the worker until SIGTERM or SIGINT, or the end of a drain: SIGQUIT
 * (a graceful stop, or its generation retired by a reload) closes the
 * listeners, and the worker exits when its last allocation ends or after
 * conf->drain_timeout.
 * SIGHUP re-reads params->config_path: a valid file replaces the
 * configuration for every later request and packet (users, secrets,
 * quotas, peer policy, lifetimes, log level) without touching a live
 * allocation; a file with an error is logged and changes nothing. Takes over
 * the listener descriptors. Returns 0 on a clean stop, or an errno value when
 * the loop could not be set up.
 */
int worker_run(const struct worker_params *params);

#endif
