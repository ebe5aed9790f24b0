/*
 * Allocations in bulk: a pool of threads, each taking the next index until
 * all are done or one has failed. It sets up and tears down the flow
 * mode's allocations, and runs the allocation-rate mode's full cycles
 * (Allocate with authentication, CreatePermission, ChannelBind, Refresh 0).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bench.h"

/* Client source addresses: 127.1.0.0 up to 127.254.255.255. */
#define SOURCE_FIRST 0x010000u
#define SOURCE_SPAN  0xFE0000u

struct pool;

struct pool_thread {
	struct pool *pool;
	pthread_t thread;
	bool started;
	struct hist latency;
	unsigned done;
};

struct pool {
	const struct bench_options *options;
	const struct bench_access *access;
	const struct sockaddr *peer;
	struct bench_client *clients; /* setup and teardown: one per index */
	unsigned count;
	int (*job)(struct pool *pool, struct pool_thread *self, unsigned index);
	atomic_uint next;
	atomic_bool failed;
	atomic_uint failures;
	uint32_t source_base;
	pthread_mutex_t lock;
	int err; /* the first failure, under lock */
	char error[BENCH_ERROR_SIZE];
};

static void pool_fail(struct pool *pool, unsigned index, int err,
                      const char *what)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->err == 0) {
		pool->err = err;
		snprintf(pool->error, sizeof(pool->error),
		         "allocation %u: %.220s", index, what);
	}
	pthread_mutex_unlock(&pool->lock);
	atomic_store(&pool->failed, true);
}

static void *pool_main(void *arg)
{
	struct pool_thread *self = arg;
	struct pool *pool = self->pool;
	unsigned index;

	while (!atomic_load(&pool->failed)) {
		index = atomic_fetch_add(&pool->next, 1);
		if (index >= pool->count)
			break;
		if (pool->job(pool, self, index) == 0)
			self->done++;
	}
	return NULL;
}

/* Runs the job over every index with up to options->concurrency threads;
 * latencies of all threads are merged into latency when it is not NULL. */
static int pool_run(struct pool *pool, struct hist *latency, unsigned *done)
{
	unsigned i, threads = pool->options->concurrency;
	struct pool_thread *t;

	if (threads > pool->count)
		threads = pool->count;
	if (threads == 0)
		threads = 1;
	t = calloc(threads, sizeof(*t));
	if (t == NULL)
		return ENOMEM;
	for (i = 0; i < threads; i++) {
		t[i].pool = pool;
		t[i].started =
		    pthread_create(&t[i].thread, NULL, pool_main, &t[i]) == 0;
	}
	/* Without a single thread the work is still done, here. */
	if (!t[0].started)
		pool_main(&t[0]);
	*done = 0;
	for (i = 0; i < threads; i++) {
		if (t[i].started)
			pthread_join(t[i].thread, NULL);
		if (latency != NULL)
			hist_merge(latency, &t[i].latency);
		*done += t[i].done;
	}
	free(t);
	return pool->err;
}

static void pool_init(struct pool *pool, const struct bench_options *options,
                      const struct bench_access *access,
                      const struct sockaddr *peer)
{
	memset(pool, 0, sizeof(*pool));
	pool->options = options;
	pool->access = access;
	pool->peer = peer;
	if (getrandom(&pool->source_base, sizeof(pool->source_base), 0) !=
	    sizeof(pool->source_base))
		pool->source_base = (uint32_t)bench_now_ns();
	pthread_mutex_init(&pool->lock, NULL);
}

/*
 * Against a server on 127.0.0.0/8 every client gets a source address of
 * its own in 127.0.0.0/8, from a random start, so that no 5-tuple repeats
 * within or across runs: a server may keep a deleted allocation's 5-tuple
 * for a while (coturn answers a new Allocate on it with 437), and 10,000
 * clients on one address would take a third of the ephemeral ports. NULL
 * elsewhere: the kernel picks.
 */
static const struct sockaddr *
source_for(const struct pool *pool, unsigned index, struct sockaddr_in *out)
{
	const struct sockaddr_in *server =
	    (const struct sockaddr_in *)&pool->options->server;
	uint32_t host;

	if (server->sin_family != AF_INET ||
	    (ntohl(server->sin_addr.s_addr) >> 24) != 127)
		return NULL;
	host = (pool->source_base + index) % SOURCE_SPAN + SOURCE_FIRST;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = htonl(0x7F000000u | host);
	return (const struct sockaddr *)out;
}

/* Allocate, CreatePermission and, unless Send indications are wanted,
 * ChannelBind: with a channel bound the server would answer the peer with
 * ChannelData (RFC 8656 §12.3), not Data indications. */
static int prepare(struct bench_client *c, const struct sockaddr *peer,
                   bool channel)
{
	int err;

	err = client_allocate(c, peer->sa_family);
	if (err == 0)
		err = client_permission(c, peer);
	if (err == 0 && channel)
		err = client_channel_bind(c, BENCH_CHANNEL, peer);
	return err;
}

static int setup_job(struct pool *pool, struct pool_thread *self,
                     unsigned index)
{
	const struct bench_options *options = pool->options;
	struct bench_client *c = &pool->clients[index];
	struct sockaddr_in source;
	int err;

	err = client_open(c, (const struct sockaddr *)&options->server,
	                  source_for(pool, index, &source), pool->access,
	                  options->timeout);
	if (err == 0)
		err = prepare(c, pool->peer, !options->send_indications);
	if (err != 0)
		pool_fail(pool, index, err, c->error);
	return err;
}

int alloc_setup(const struct bench_options *options,
                const struct bench_access *access, const struct sockaddr *peer,
                struct bench_client *clients, char *error, size_t error_size)
{
	struct pool pool;
	unsigned done;
	int err;

	pool_init(&pool, options, access, peer);
	pool.clients = clients;
	pool.count = options->allocations;
	pool.job = setup_job;
	err = pool_run(&pool, NULL, &done);
	if (err != 0)
		snprintf(error, error_size, "%s", pool.error);
	pthread_mutex_destroy(&pool.lock);
	return err;
}

static int teardown_job(struct pool *pool, struct pool_thread *self,
                        unsigned index)
{
	struct bench_client *c = &pool->clients[index];
	int err = 0;

	if (c->fd < 0)
		return 0;
	/* Only what was allocated is deleted; an allocation whose setup
	 * failed half-way still is. */
	if (c->relayed.ss_family != 0) {
		c->timeout = c->timeout > 1.0 ? 1.0 : c->timeout;
		err = client_refresh(c, 0);
		if (err != 0)
			atomic_fetch_add(&pool->failures, 1);
	}
	client_close(c);
	return err;
}

unsigned alloc_teardown(const struct bench_options *options,
                        struct bench_client *clients)
{
	struct pool pool;
	unsigned done;

	pool_init(&pool, options, NULL, NULL);
	pool.clients = clients;
	pool.count = options->allocations;
	pool.job = teardown_job;
	(void)pool_run(&pool, NULL, &done);
	pthread_mutex_destroy(&pool.lock);
	return atomic_load(&pool.failures);
}

/* One full cycle on a fresh socket (a fresh 5-tuple, so a fresh nonce). */
static int cycle_job(struct pool *pool, struct pool_thread *self,
                     unsigned index)
{
	const struct bench_options *options = pool->options;
	uint64_t start = bench_now_ns();
	struct sockaddr_in source;
	struct bench_client c;
	int err;

	err = client_open(&c, (const struct sockaddr *)&options->server,
	                  source_for(pool, index, &source), pool->access,
	                  options->timeout);
	if (err == 0)
		err = prepare(&c, pool->peer, true);
	if (err == 0) {
		err = client_refresh(&c, 0);
		/* A retransmitted Refresh 0 may find the allocation already
		 * gone (RFC 8656 §7.3: 437): deleted either way. */
		if (err == EPROTO && c.stun_error == 437)
			err = 0;
	}
	if (err == 0)
		hist_add(&self->latency, bench_now_ns() - start);
	else
		pool_fail(pool, index, err, c.error);
	client_close(&c);
	return err;
}

int alloc_cycles(const struct bench_options *options,
                 const struct bench_access *access, const struct sockaddr *peer,
                 struct alloc_result *result, char *error, size_t error_size)
{
	struct pool pool;
	uint64_t start;
	int err;

	pool_init(&pool, options, access, peer);
	pool.count = options->count;
	pool.job = cycle_job;
	memset(result, 0, sizeof(*result));
	start = bench_now_ns();
	err = pool_run(&pool, &result->latency, &result->done);
	result->seconds = (double)(bench_now_ns() - start) / 1e9;
	if (err != 0)
		snprintf(error, error_size, "%s", pool.error);
	pthread_mutex_destroy(&pool.lock);
	return err;
}
