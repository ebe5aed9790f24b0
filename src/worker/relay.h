/*
 * The packet path (DESIGN.md section 2, "hot path"): ChannelData and
 * datagrams between an allocation's client socket and its relay socket,
 * in batches, with no allocation, lock, log line or LMDB call per packet.
 */
#ifndef TURNPIKE_WORKER_RELAY_H
#define TURNPIKE_WORKER_RELAY_H

#include <sys/socket.h>

#include "batch.h"
#include "worker_private.h"

/* udp.c: one recvmmsg() of at most max (1 to WORKER_BATCH) datagrams
 * from socket into the worker's buffers; returns the count (0 when
 * nothing was read). Truncated datagrams get msg_len 0. For a wildcard
 * listener, worker->destinations[i] is where datagram i was sent to. */
int worker_receive_batch(struct worker *worker,
                         const struct worker_socket *socket,
                         struct mmsghdr messages[WORKER_BATCH], unsigned max);

/*
 * Datagrams from one allocation's client on their way to peers, over UDP
 * or cut from a TCP or TLS stream: ChannelData (RFC 8656 §12.4) and Send
 * indications' data (§10.2) leave in batches (sendmmsg(), UDP GSO, one
 * rate-limit charge per batch); their bytes must stay where they are
 * until the flush. The client socket's allocation is read at each call:
 * a request served in between may delete it or, on a stream, make
 * another.
 */
struct relay_client_batch {
	struct worker_socket *socket; /* the client's */
	struct relay_batch batch;
	uint64_t now;    /* seconds (lifetimes) */
	uint64_t now_ns; /* the rate limits' clock, read once needed */
};

void relay_client_batch_init(struct relay_client_batch *client,
                             struct worker_socket *socket);
/* One datagram from the client, whose socket has an allocation:
 * ChannelData and Send indications join the batch (a Send indication's
 * peer address kept in *peer until the flush); any other STUN message is
 * served after what the batch holds has left. Returns false when a
 * request deleted the allocation. */
bool relay_client_datagram(struct relay_client_batch *client,
                           const struct worker_datagram *dg,
                           struct sockaddr_storage *peer);
/* Sends what the batch holds, under the rate limits. */
void relay_client_flush(struct relay_client_batch *client);

/* Drains the client socket: ChannelData and Send indications to peers,
 * in batches; other STUN to the service.
 * Returns the number of datagrams read, or -1 when a request deleted the
 * allocation (the socket is gone: stop). */
int relay_from_client(struct worker_socket *socket);

/* Drains a relay socket: peer datagrams to the client as ChannelData or
 * Data indications (RFC 8656 §11.6, §12.6). Returns the number read;
 * WORKER_BATCH when a batch cut to a stream client's room was full (the
 * socket may hold more), 0 when that client's relay is paused. */
int relay_from_peer(struct worker_socket *socket);

/* One ChannelData message from the allocation's client that arrived
 * elsewhere (a stray). Returns false when it is not ChannelData. */
bool relay_channel_data(struct allocation *allocation, const uint8_t *data,
                        size_t length);

/* Where a datagram from a client goes: a peer, through a relay socket;
 * relay NULL when nowhere. */
struct relay_target {
	struct worker_socket *relay;
	const struct sockaddr *peer;
	const uint8_t *data;
	size_t length;
};

/* RFC 8656 §10.2: where a Send indication's data goes: its
 * XOR-PEER-ADDRESS (read into *peer), with a permission, through the
 * relay socket of the peer's family; the data is its DATA attribute.
 * relay NULL, counted in drop_send_denied, when any of that is missing
 * or an unknown comprehension-required attribute is present: the
 * indication is then dropped silently. */
struct relay_target relay_send_target(struct allocation *allocation,
                                      const struct stun_msg *msg, uint64_t now,
                                      struct sockaddr_storage *peer);

/* One datagram to a peer through the allocation's relay socket, under
 * the rate limits (a Send indication's data, a stray ChannelData). */
void relay_to_peer(struct allocation *allocation, struct worker_socket *relay,
                   const struct sockaddr *peer, const uint8_t *data,
                   size_t length);

/* The pacing wheel's timer: sends every queued packet due at now_ns, in
 * batches per socket. */
void relay_paced(struct worker *worker, uint64_t now_ns);

#endif
