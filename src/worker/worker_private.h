/*
 * The worker's own types, shared by the files of src/worker/ only.
 */
#ifndef TURNPIKE_WORKER_PRIVATE_H
#define TURNPIKE_WORKER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/metrics.h"
#include "turnpike/net.h"
#include "turnpike/turn.h"
#include "turnpike/worker.h"

struct event;
struct event_base;
struct store;

/* Datagrams drained per recvmmsg() call. */
#define WORKER_BATCH 64
/* Room before a received payload, so that a ChannelData header or a Data
 * indication's header (20 + 24 + 4 bytes) can be written in front of it
 * without a copy. */
#define WORKER_HEADROOM 64
/* One receive buffer: headroom, the datagram, and room to pad it. */
#define WORKER_BUFFER_SIZE 4096
#define WORKER_MAX_PAYLOAD (WORKER_BUFFER_SIZE - WORKER_HEADROOM - 4)
/* EVEN-PORT reservations held at once, and for how long (RFC 8656 §7.2
 * leaves it to the server; 30 s as RFC 5766 suggests). */
#define WORKER_RESERVATIONS         64
#define WORKER_RESERVATION_LIFETIME 30

struct worker;
struct allocation;
struct worker_limiter;
struct reply_queue;

enum worker_socket_kind {
	WORKER_SOCKET_LISTENER,
	WORKER_SOCKET_CLIENT, /* an allocation's connected client socket */
	WORKER_SOCKET_RELAY,  /* an allocation's relay socket */
};

/* A socket the worker reads datagrams from. */
struct worker_socket {
	int fd;
	enum worker_socket_kind kind;
	struct event *event;
	struct worker *worker;
	struct allocation *allocation;  /* CLIENT and RELAY sockets */
	struct worker_socket *listener; /* CLIENT: the listener it clones */
	size_t listener_index;
	struct sockaddr_storage local; /* the address clients sent to */
	/* LISTENER bound to 0.0.0.0 or ::: each datagram says which of
	 * the host's addresses it was sent to (net_pktinfo_*), and replies
	 * leave from that address. */
	bool pktinfo;
	/* LISTENER: what it serves. A TCP or TLS client's socket has no
	 * descriptor of its own: replies go to its connection (stream.h). */
	enum conf_transport transport;
	struct stream_conn *stream;
};

/* One received datagram, borrowed from the worker's receive batch. */
struct worker_datagram {
	/* The socket a reply leaves through: the listener, or the
	 * allocation's connected client socket. */
	struct worker_socket *socket;
	const struct sockaddr *from;
	/* The address it was sent to: the socket's own, or for a wildcard
	 * listener the one IP_PKTINFO gave. */
	const struct sockaddr *local;
	uint8_t *data;
	size_t length;
};

/* A port kept for a later Allocate with RESERVATION-TOKEN. */
struct worker_reservation {
	uint64_t token;
	int fd;
	uint16_t port;
	uint64_t expires;
};

/* Allocations by client 5-tuple (client address and listener). */
struct allocation_table {
	struct allocation **buckets;
	size_t bucket_count; /* a power of two */
	size_t count;
	uint64_t hash_key;
};

struct worker {
	unsigned index;
	const struct conf *conf;
	struct event_base *base;
	struct event *sigterm_event, *sigint_event, *tick_event;
	int tick_fd; /* timerfd, once a second */
	struct event *sigquit_event, *sigusr1_event, *sighup_event;
	const char *config_path;
	/* The configuration this worker started with belongs to the master;
	 * one loaded by a reload is ours to free. */
	struct conf *reloaded;
	/* This process's own LMDB environment (DESIGN.md section 1). */
	struct store *store;
	uint64_t revocation_seq; /* the store's, when last applied */
	/* SIGQUIT: listeners closed, no new allocations; exit when the last
	 * allocation ends or at drain_deadline. */
	bool draining;
	uint64_t drain_deadline;
	struct worker_socket *listeners;
	size_t listener_count;
	struct metrics_worker *metrics;
	struct auth_nonce_key nonce_key;
	struct turn_peer_policy peer_policy;
	struct allocation_table allocations;
	struct stream_set *streams; /* TCP and TLS connections (stream.h) */
	struct turn_wheel *wheel;
	struct worker_limiter *limiter; /* limiter.h */
	struct reply_queue *replies;    /* reply.h */
	struct worker_reservation reservations[WORKER_RESERVATIONS];
	uint64_t random_state; /* xorshift64*, seeded from getrandom() */
	/* The receive batch: allocated once, reused for every recvmmsg(). */
	uint8_t (*buffers)[WORKER_BUFFER_SIZE];
	struct sockaddr_storage *sources;
	/* The peers of the batch's Send indications, until its flush. */
	struct sockaddr_storage *send_peers;
	/* For wildcard listeners: the destinations and the control
	 * messages they come in. */
	struct sockaddr_storage *destinations;
	uint8_t (*controls)[NET_PKTINFO_SPACE];
};

/* Seconds of CLOCK_MONOTONIC (lifetimes) and of the wall clock (nonces,
 * REST expiry). The coarse clocks are read from the vDSO: no syscall. */
static inline uint64_t worker_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

static inline uint64_t worker_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Not for secrets: relay port choice and hash spreading. */
static inline uint64_t worker_random(struct worker *worker)
{
	uint64_t x = worker->random_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	worker->random_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* udp.c: drains a readable socket and hands each datagram on. */
void worker_socket_readable(int fd, short what, void *arg);

/* dispatch.c: a datagram on a listener (or a stray one on a client
 * socket): STUN or ChannelData. */
void worker_dispatch(struct worker *worker, const struct worker_datagram *dg);

/* turn_service.c: a STUN message; allocation is the one the datagram's
 * 5-tuple belongs to, or NULL. Returns false when it deleted that
 * allocation (Refresh with LIFETIME 0): the caller must not touch it. */
bool worker_handle_stun(struct worker *worker, const struct worker_datagram *dg,
                        const struct stun_msg *msg,
                        struct allocation *allocation);

/* reply.c: a reply to the datagram's source, from the socket it arrived
 * on: queued behind the callbacks already active (reply.h), or written to
 * its TCP or TLS connection. */
void worker_reply(struct worker *worker, const struct worker_datagram *dg,
                  const uint8_t *data, size_t length);

/* reservation.c: EVEN-PORT reservations any worker can redeem. add()
 * takes over fd (the socket on port + 1) and returns the token, or 0 when
 * none could be made. port() checks a token and gives its port: 0, or 508
 * when it is not one of ours for that family or has expired. */
uint64_t worker_reservation_add(struct worker *worker, int fd, int family,
                                uint16_t port, uint64_t now);
int worker_reservation_port(const struct worker *worker, uint64_t token,
                            int family, uint16_t *port);
void worker_reservations_expire(struct worker *worker, uint64_t now);

#endif
