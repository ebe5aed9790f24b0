/*
 * The two modes. Flow: set up the allocations, then measure a window that
 * opens just before the sender starts and closes when the relay has
 * drained, reading the server's CPU time at both ends. Alloc: full
 * allocation cycles, with the server's CPU time around them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "turnpike/net.h"
#include "bench.h"

#define POLL_NS      50000000ull
#define DRAIN_MAX_NS 1000000000ull
/* A port for the alloc mode's permissions and channels: nothing is sent
 * there. */
#define ALLOC_PEER_PORT 9

static double self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
	                      .tv_nsec = (long)(ns % 1000000000ull)};

	nanosleep(&ts, NULL);
}

/* CPU counters at the start of a measured window. */
struct window {
	struct procstat_sample server;
	double generator;
	struct procstat_machine machine;
	bool machine_ok;
};

static void window_open(const struct procstat *ps, struct report *r,
                        struct window *w)
{
	procstat_cpu(ps, &w->server);
	r->gone = w->server.gone;
	w->generator = self_cpu();
	w->machine_ok = procstat_machine(&w->machine) == 0;
}

static void window_close(const struct procstat *ps, const struct window *w,
                         struct report *r)
{
	struct procstat_machine now;
	struct procstat_sample server;

	procstat_cpu(ps, &server);
	r->gone = server.gone;
	r->server_cpu = server.cpu_s - w->server.cpu_s;
	r->have_runs = server.have_runs && server.runs >= w->server.runs;
	r->server_runs = r->have_runs ? server.runs - w->server.runs : 0;
	r->generator_cpu = self_cpu() - w->generator;
	r->machine_busy = r->machine_steal = -1;
	if (w->machine_ok && procstat_machine(&now) == 0) {
		r->machine_busy = now.busy - w->machine.busy;
		r->machine_steal = now.steal - w->machine.steal;
	}
}

static void print_failure(const struct bench_options *o, const char *error)
{
	char name[NET_ADDRSTRLEN];

	fprintf(stderr, "turnpike-bench: server %s: %s\n",
	        net_addr_format((const struct sockaddr *)&o->server, name,
	                        sizeof(name)),
	        error);
}

/* After the sender stops, what is queued in the server still arrives:
 * wait until the counts stand still (two polls), at most DRAIN_MAX_NS. */
static void drain(struct peer *peer, struct traffic *t)
{
	uint64_t deadline = bench_now_ns() + DRAIN_MAX_NS, last = UINT64_MAX;
	unsigned still = 0;

	while (bench_now_ns() < deadline && still < 2) {
		uint64_t seen = peer_arrivals(peer) + traffic_echoed(t);

		still = seen == last ? still + 1 : 0;
		last = seen;
		sleep_ns(POLL_NS);
	}
}

static int measure(const struct bench_options *o, struct peer *peer,
                   struct traffic *t, const struct procstat *ps,
                   struct report *r)
{
	struct window w;
	uint64_t base, end;
	int err;

	window_open(ps, r, &w);
	base = peer_arrivals(peer);
	err = traffic_start(t);
	if (err != 0)
		return err;
	/* Read the 32-bit drop counter often while the sender runs. */
	end = t->start_ns + (uint64_t)(o->duration * 1e9);
	while (bench_now_ns() < end) {
		(void)peer_arrivals(peer);
		sleep_ns(POLL_NS);
	}
	traffic_wait_sender(t);
	r->peer_by_end = peer_arrivals(peer) - base;
	r->echoed_by_end = traffic_echoed(t);
	drain(peer, t);
	window_close(ps, &w, r);
	r->peer = peer_arrivals(peer) - base;
	traffic_stop(t);
	r->seconds = (double)(t->end_ns - t->start_ns) / 1e9;
	r->sent = t->sent;
	r->send_errors = t->send_errors;
	r->send_lag_max_ns = t->lag_max_ns;
	r->send_error = t->send_error;
	r->echoed = traffic_echoed(t);
	r->malformed = t->malformed;
	r->latency = &t->rtt;
	return 0;
}

static int flow_window(const struct bench_options *o, const struct procstat *ps,
                       struct peer *peer, struct traffic *t, struct report *r)
{
	int err;

	err = peer_start(peer);
	if (err != 0) {
		fprintf(stderr, "turnpike-bench: peer thread: %s\n",
		        strerror(err));
		return err;
	}
	t->peer = peer->addr;
	r->filter_counted = peer->filtered;
	err = measure(o, peer, t, ps, r);
	if (err != 0)
		fprintf(stderr, "turnpike-bench: traffic threads: %s\n",
		        strerror(err));
	return err;
}

int run_flow(const struct bench_options *o, const struct bench_access *access,
             const struct procstat *ps, struct report *r)
{
	struct bench_client *clients;
	char error[BENCH_ERROR_SIZE];
	struct traffic *t;
	struct peer peer;
	unsigned i, failed;
	int err;

	err = peer_open(&peer, (const struct sockaddr *)&o->peer, o->echo,
	                error, sizeof(error));
	if (err != 0) {
		fprintf(stderr, "turnpike-bench: %s\n", error);
		return err;
	}
	clients = calloc(o->allocations, sizeof(*clients));
	t = calloc(1, sizeof(*t));
	if (clients == NULL || t == NULL) {
		fprintf(stderr, "turnpike-bench: out of memory\n");
		peer_close(&peer);
		free(clients);
		free(t);
		return ENOMEM;
	}
	t->options = o;
	t->clients = clients;
	for (i = 0; i < o->allocations; i++)
		clients[i].fd = -1;
	procstat_memory(ps, &r->rss_before, &r->fds_before);
	err = alloc_setup(o, access, (struct sockaddr *)&peer.addr, clients,
	                  error, sizeof(error));
	if (err != 0)
		print_failure(o, error);
	else {
		procstat_memory(ps, &r->rss_after, &r->fds_after);
		err = flow_window(o, ps, &peer, t, r);
	}
	peer_close(&peer);
	failed = alloc_teardown(o, clients);
	if (failed > 0 && !o->quiet)
		fprintf(stderr,
		        "turnpike-bench: %u allocations could not be deleted; "
		        "the server lets them expire\n",
		        failed);
	if (err == 0)
		report_flow(o, r);
	free(clients);
	free(t);
	return err;
}

int run_alloc(const struct bench_options *o, const struct bench_access *access,
              const struct procstat *ps, struct report *r)
{
	struct alloc_result result;
	char error[BENCH_ERROR_SIZE], text[BENCH_ERROR_SIZE + 32];
	struct sockaddr_storage peer = o->peer;
	struct window w;
	int err;

	net_addr_set_port((struct sockaddr *)&peer, ALLOC_PEER_PORT);
	window_open(ps, r, &w);
	err = alloc_cycles(o, access, (struct sockaddr *)&peer, &result, error,
	                   sizeof(error));
	window_close(ps, &w, r);
	if (err != 0) {
		snprintf(text, sizeof(text), "%s (after %u full cycles)", error,
		         result.done);
		print_failure(o, text);
		return err;
	}
	r->alloc = &result;
	r->seconds = result.seconds;
	report_alloc(o, r);
	return 0;
}
