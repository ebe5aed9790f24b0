/*
 * Allocations: creation (sockets only after authentication, DESIGN.md
 * section 2), the table by 5-tuple, expiry, and the one function that
 * frees everything an allocation owns.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "allocation.h"
#include "reply.h"
#include "stream.h"

static size_t bucket_of(const struct allocation_table *table,
                        size_t listener_index, const struct sockaddr *client)
{
	uint64_t h = net_addr_hash(client, table->hash_key ^ listener_index);

	return (size_t)h & (table->bucket_count - 1);
}

int allocation_table_init(struct allocation_table *table)
{
	table->bucket_count = 1024;
	table->buckets = calloc(table->bucket_count, sizeof(*table->buckets));
	return table->buckets == NULL ? ENOMEM : 0;
}

/* Doubles the buckets when the load passes 1; done at allocation time,
 * never on the packet path. */
static void table_grow(struct worker *worker)
{
	struct allocation_table *table = &worker->allocations;
	struct allocation **old = table->buckets, **fresh;
	size_t old_count = table->bucket_count, i;

	fresh = calloc(old_count * 2, sizeof(*fresh));
	if (fresh == NULL)
		return; /* longer chains, still correct */
	table->buckets = fresh;
	table->bucket_count = old_count * 2;
	for (i = 0; i < old_count; i++) {
		struct allocation *a = old[i], *next;

		for (; a != NULL; a = next) {
			size_t b =
			    bucket_of(table, a->client_socket.listener_index,
			              (struct sockaddr *)&a->client);
			next = a->hash_next;
			a->hash_next = fresh[b];
			fresh[b] = a;
		}
	}
	free(old);
}

static void table_insert(struct worker *worker, struct allocation *a)
{
	struct allocation_table *table = &worker->allocations;
	size_t b;

	if (table->count >= table->bucket_count)
		table_grow(worker);
	b = bucket_of(table, a->client_socket.listener_index,
	              (struct sockaddr *)&a->client);
	a->hash_next = table->buckets[b];
	table->buckets[b] = a;
	table->count++;
}

static void table_remove(struct worker *worker, struct allocation *a)
{
	struct allocation_table *table = &worker->allocations;
	struct allocation **link;

	link = &table->buckets[bucket_of(table, a->client_socket.listener_index,
	                                 (struct sockaddr *)&a->client)];
	for (; *link != NULL; link = &(*link)->hash_next) {
		if (*link == a) {
			*link = a->hash_next;
			table->count--;
			return;
		}
	}
}

struct allocation *allocation_find(struct worker *worker, size_t listener_index,
                                   const struct sockaddr *local,
                                   const struct sockaddr *client)
{
	struct allocation_table *table = &worker->allocations;
	struct allocation *a;

	a = table->buckets[bucket_of(table, listener_index, client)];
	for (; a != NULL; a = a->hash_next) {
		if (a->client_socket.listener_index == listener_index &&
		    net_addr_equal((struct sockaddr *)&a->client, client) &&
		    net_addr_equal((struct sockaddr *)&a->client_socket.local,
		                   local))
			return a;
	}
	return NULL;
}

struct worker_socket *allocation_relay_for(struct allocation *allocation,
                                           const struct sockaddr *addr)
{
	struct worker_socket *relay =
	    &allocation->relay[addr->sa_family == AF_INET6 ? ALLOCATION_IPV6
	                                                   : ALLOCATION_IPV4];

	return relay->fd >= 0 ? relay : NULL;
}

static void close_socket(struct worker_socket *socket)
{
	if (socket->event != NULL)
		event_free(socket->event);
	socket->event = NULL;
	if (socket->fd >= 0) {
		/* The Refresh that ended the allocation is answered first. */
		reply_queue_flush(socket->worker);
		close(socket->fd);
	}
	socket->fd = -1;
}

void allocation_free(struct allocation *allocation, enum allocation_end why)
{
	struct worker *worker;

	if (allocation == NULL)
		return;
	worker = allocation->worker;
	allocation_log_ended(allocation, why);
	if (allocation->recorded)
		allocation_record_delete(allocation);
	table_remove(worker, allocation);
	limiter_detach(worker, &allocation->limits);
	turn_wheel_cancel(worker->wheel, &allocation->expiry);
	if (allocation->client_socket.stream != NULL)
		stream_detach(allocation->client_socket.stream);
	close_socket(&allocation->client_socket);
	close_socket(&allocation->relay[ALLOCATION_IPV4]);
	close_socket(&allocation->relay[ALLOCATION_IPV6]);
	worker->metrics->allocations_deleted++;
	worker->metrics->allocations_live--;
	free(allocation);
}

/*
 * An allocation's sockets are edge triggered (EPOLLET): the packet path
 * reads each until a batch comes back short, which means drained, so
 * epoll need not look at the socket again after every wakeup the way it
 * does for a level-triggered one (measured: 2 % less CPU per packet at
 * 20,000 pps). udp.c keeps the edge's rules.
 */
static int watch(struct worker *worker, struct worker_socket *socket)
{
	socket->worker = worker;
	socket->event =
	    event_new(worker->base, socket->fd, EV_READ | EV_PERSIST | EV_ET,
	              worker_socket_readable, socket);
	if (socket->event == NULL || event_add(socket->event, NULL) != 0)
		return ENOMEM;
	return 0;
}

/* The address the client is told: external-address if set (1:1 NAT),
 * else the relay address; the port is the relay socket's. */
static void advertised_address(const struct conf *conf, int family,
                               uint16_t port, struct sockaddr_storage *out)
{
	const struct sockaddr_storage *source;

	if (family == AF_INET6)
		source = conf->has_external_v6 ? &conf->external_v6
		                               : &conf->relay_v6;
	else
		source = conf->has_external_v4 ? &conf->external_v4
		                               : &conf->relay_v4;
	memcpy(out, source, sizeof(*out));
	net_addr_set_port((struct sockaddr *)out, port);
}

static int errno_to_stun(int err)
{
	/* RFC 8656 §7.2: no port or descriptor left is 508 Insufficient
	 * Capacity; anything else is our fault. */
	if (err == EADDRINUSE || err == EMFILE || err == ENFILE ||
	    err == ENOBUFS || err == ENOMEM)
		return 508;
	return 500;
}

static int open_relay(struct worker *worker, struct allocation *a,
                      const struct allocation_params *params, int family)
{
	const struct conf *conf = worker->conf;
	const struct turn_allocate_request *request = params->request;
	struct worker_socket *relay =
	    &a->relay[family == AF_INET6 ? ALLOCATION_IPV6 : ALLOCATION_IPV4];
	struct net_udp_options options = {
	    .rcvbuf = conf->allocation_rcvbuf,
	    .sndbuf = conf->allocation_sndbuf,
	    .v6only = true,
	};
	struct net_relay_request bind_request = {
	    .addr =
	        (const struct sockaddr *)(family == AF_INET6 ? &conf->relay_v6
	                                                     : &conf->relay_v4),
	    .port_min = conf->relay_port_min,
	    .port_max = conf->relay_port_max,
	    .even_port = request->even_port,
	    .reserve_next = request->reserve_next,
	    .options = &options,
	};
	uint16_t port = 0;
	int next_fd = -1, err = 0;

	if (request->has_reservation_token) {
		/* RFC 8656 §7.2: the port reserved by an earlier Allocate, on
		 * whichever worker made it; a bad or expired token is 508. */
		if (worker_reservation_port(worker, request->reservation_token,
		                            family, &port) != 0)
			return 508;
		err = net_relay_redeem(bind_request.addr, port, &options,
		                       &relay->fd);
		if (err != 0)
			return 508;
	} else {
		err = net_relay_bind(&bind_request,
		                     (uint32_t)worker_random(worker),
		                     &relay->fd, &port, &next_fd);
		if (err != 0)
			return errno_to_stun(err);
	}
	if (next_fd >= 0) {
		a->reservation_token = worker_reservation_add(
		    worker, next_fd, family, (uint16_t)(port + 1), params->now);
		a->has_reservation_token = a->reservation_token != 0;
	}
	if (request->dont_fragment)
		(void)net_set_dont_fragment(relay->fd, family, true);
	relay->kind = WORKER_SOCKET_RELAY;
	relay->allocation = a;
	memcpy(&relay->local, bind_request.addr, sizeof(relay->local));
	net_addr_set_port((struct sockaddr *)&relay->local, port);
	advertised_address(conf, family, port,
	                   &a->relayed[family == AF_INET6 ? ALLOCATION_IPV6
	                                                  : ALLOCATION_IPV4]);
	return watch(worker, relay) == 0 ? 0 : 500;
}

/* DESIGN.md section 2: bound to the listener's address with SO_REUSEPORT
 * and connected to the client, so that the kernel hands this client's
 * datagrams to this socket, in this worker. For a wildcard listener,
 * bound to the host address the client sent to: replies then leave from
 * it, and the socket stays out of the listeners' reuseport group. */
static int open_client_socket(struct worker *worker, struct allocation *a,
                              const struct allocation_params *params)
{
	struct worker_socket *listener = params->listener;
	const struct conf *conf = worker->conf;
	struct net_udp_options options = {
	    .rcvbuf = conf->allocation_rcvbuf,
	    .sndbuf = conf->allocation_sndbuf,
	    .reuseport = true,
	    .v6only = true,
	};
	struct worker_socket *socket = &a->client_socket;
	int err;

	err = net_udp_connected(params->local, (struct sockaddr *)&a->client,
	                        &options, &socket->fd);
	if (err != 0)
		return errno_to_stun(err);
	socket->kind = WORKER_SOCKET_CLIENT;
	socket->allocation = a;
	socket->listener = listener;
	socket->listener_index = listener->listener_index;
	memcpy(&socket->local, params->local, net_addr_len(params->local));
	return watch(worker, socket) == 0 ? 0 : 500;
}

static int open_sockets(struct worker *worker, struct allocation *a,
                        const struct allocation_params *params)
{
	int code = 0;

	if (params->request->want_ipv4)
		code = open_relay(worker, a, params, AF_INET);
	if (code == 0 && params->request->want_ipv6)
		code = open_relay(worker, a, params, AF_INET6);
	/* RFC 8656 §3.1: a TCP or TLS client's 5-tuple is its connection. */
	if (code == 0 && params->stream != NULL)
		stream_client_socket(params->stream, &a->client_socket);
	else if (code == 0)
		code = open_client_socket(worker, a, params);
	return code;
}

static struct allocation *allocation_new(struct worker *worker,
                                         const struct allocation_params *params)
{
	struct allocation *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->worker = worker;
	a->client_socket.fd = -1;
	a->relay[0].fd = a->relay[1].fd = -1;
	a->client_socket.listener_index = params->listener->listener_index;
	memcpy(&a->client, params->client, net_addr_len(params->client));
	memcpy(&a->owner, params->owner, sizeof(a->owner));
	memcpy(a->allocate_tid, params->tid, STUN_TID_SIZE);
	a->created = params->now;
	/* Read once: rebuilt from both clocks cut to seconds it would move
	 * by one between readings, and a revocation in the second of an
	 * allocation could judge it made before or after. */
	a->created_wall = worker_wall_now();
	turn_state_init(&a->turn, params->now, params->lifetime);
	if (worker->conf->rfc5766_channels)
		a->turn.channel_max = STUN_CHANNEL_LEGACY_MAX;
	return a;
}

/* Refusals an operator acts on: a user at its quota (486, RFC 8656
 * §7.2), at notice; no port, descriptor or store left (508, 500), at
 * warning. A 5-tuple in use (437) is the protocol at work. Each kind has
 * its own bucket, so users at their quota cannot hide a lack of ports. */
static void log_refused(const struct allocation_params *params, int code)
{
	static struct log_limit quota_limit = LOG_LIMIT_INIT(20, 100);
	static struct log_limit capacity_limit = LOG_LIMIT_INIT(10, 1000);
	struct log_limit *limit = &capacity_limit;
	int level = LOG_WARNING;
	const char *reason;
	char client[NET_ADDRSTRLEN];

	if (code == 486) {
		limit = &quota_limit;
		level = LOG_NOTICE;
		reason = "quota";
	} else if (code == 508) {
		reason = "\"no port or descriptor left\"";
	} else if (code == 500) {
		reason = "\"socket or store error\"";
	} else {
		return;
	}
	if (!log_limit_take(limit, level))
		return;
	log_limit_write(
	    limit, level,
	    "allocation refused user=%s client=%s code=%d reason=%s",
	    LOG_QUOTED(params->owner->username),
	    net_addr_format(params->client, client, sizeof(client)), code,
	    reason);
}

int allocation_create(struct worker *worker,
                      const struct allocation_params *params,
                      struct allocation **out)
{
	struct allocation *a = allocation_new(worker, params);
	int code;

	if (a == NULL)
		return 508;
	code = open_sockets(worker, a, params);
	if (code != 0)
		worker->metrics->allocate_socket_errors++;
	/* The 5-tuple (any worker's) and the quotas are checked in the same
	 * LMDB transaction that records the allocation. */
	if (code == 0)
		code = allocation_record_add(a);
	if (code != 0) {
		log_refused(params, code);
		close_socket(&a->client_socket);
		close_socket(&a->relay[0]);
		close_socket(&a->relay[1]);
		free(a);
		return code;
	}
	a->recorded = true;
	limiter_attach(worker, &a->limits, a->owner.quota_key);
	if (params->stream != NULL)
		stream_attach(params->stream, a);
	table_insert(worker, a);
	turn_wheel_schedule(worker->wheel, &a->expiry, a->turn.expires);
	worker->metrics->allocations_created++;
	worker->metrics->allocations_live++;
	allocation_log_created(a);
	*out = a;
	return 0;
}

bool allocation_reschedule(struct allocation *allocation, uint64_t now)
{
	uint64_t next = turn_state_expire(&allocation->turn, now);

	if (next == 0) {
		allocation_free(allocation, ALLOCATION_EXPIRED);
		return false;
	}
	turn_wheel_schedule(allocation->worker->wheel, &allocation->expiry,
	                    next);
	return true;
}

void allocation_expire(struct turn_wheel_node *node, uint64_t now)
{
	struct allocation *a =
	    (struct allocation *)((char *)node -
	                          offsetof(struct allocation, expiry));

	(void)allocation_reschedule(a, now);
}

void allocation_table_each(struct worker *worker,
                           void (*fn)(struct allocation *, void *), void *arg)
{
	struct allocation_table *table = &worker->allocations;
	struct allocation *a, *next;
	size_t i;

	for (i = 0; table->buckets != NULL && i < table->bucket_count; i++) {
		for (a = table->buckets[i]; a != NULL; a = next) {
			next = a->hash_next;
			fn(a, arg);
		}
	}
}

void allocation_table_free(struct worker *worker)
{
	struct allocation_table *table = &worker->allocations;
	size_t i;

	for (i = 0; table->buckets != NULL && i < table->bucket_count; i++) {
		while (table->buckets[i] != NULL)
			allocation_free(table->buckets[i], ALLOCATION_SHUTDOWN);
	}
	free(table->buckets);
	table->buckets = NULL;
}
