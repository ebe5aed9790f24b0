/*
 * metrics: per-worker counters. Each worker writes only its own block
 * (one cache line aligned, later in shared memory) and readers sum them,
 * so the packet path needs no atomic read-modify-write.
 */
#ifndef TURNPIKE_METRICS_H
#define TURNPIKE_METRICS_H

#include <stdint.h>

#include "turnpike/ratelimit.h"

#define METRICS_FIELDS(X)                                                      \
	X(rx_datagrams, "datagrams received on any socket")                    \
	X(rx_bytes, "bytes received on any socket")                            \
	X(rx_malformed, "malformed STUN or ChannelData dropped")               \
	X(rx_unknown, "datagrams that were neither STUN nor ChannelData")      \
	X(rx_unexpected, "well-formed messages with nothing to answer")        \
	X(rx_stray, "datagrams on a client socket from another sender")        \
	X(binding_requests, "Binding requests answered")                       \
	X(binding_indications, "Binding indications received")                 \
	X(amplification_trimmed, "responses trimmed to the request's size")    \
	X(auth_challenges, "401 and 438 answers to unauthenticated requests")  \
	X(auth_failures, "requests with wrong credentials")                    \
	X(error_responses, "error responses of any code")                      \
	X(allocations_created, "allocations created")                          \
	X(allocations_deleted, "allocations deleted or expired")               \
	X(allocations_live, "allocations live now")                            \
	X(allocate_socket_errors, "allocations refused for lack of sockets")   \
	X(peer_denied, "requests refused by the peer policy")                  \
	X(client_packets, "packets relayed from clients to peers")             \
	X(client_bytes, "payload bytes relayed from clients to peers")         \
	X(peer_packets, "packets relayed from peers to clients")               \
	X(peer_bytes, "payload bytes relayed from peers to clients")           \
	X(drop_no_permission, "peer packets without a permission")             \
	X(drop_no_channel, "ChannelData on a channel that is not bound")       \
	X(drop_send_denied, "Send indications refused")                        \
	X(tx_errors, "datagrams the kernel refused to send")                   \
	X(tx_gso_sends, "runs of datagrams sent as one UDP GSO message")       \
	X(tx_gso_refused, "batches resent without GSO after the kernel "       \
	                  "refused segmentation")                              \
	X(rate_queued, "packets held back by a rate limit (rate-policy pace)") \
	X(rate_queue_dropped, "paced packets dropped: queue or pool full")     \
	X(streams_accepted, "TCP and TLS connections accepted")                \
	X(streams_live, "TCP and TLS connections open now")                    \
	X(streams_refused, "connections refused: pending bounds, descriptors") \
	X(streams_evicted, "connections without an allocation closed to make " \
	                   "room for new ones (stream-max-pending)")           \
	X(streams_timed_out, "connections closed for a stalled handshake, "    \
	                     "no Allocate in time or a client not reading")    \
	X(streams_bad_framing, "connections closed for bytes that are "        \
	                       "neither STUN nor ChannelData, or too long")    \
	X(stream_drops, "messages dropped: a stream client's queue was full")  \
	X(stream_pauses, "relays paused for a slow stream client")             \
	X(tls_handshake_failures, "TLS handshakes that failed")

/* The fields above that are levels, not counts: what is live now. */
#define METRICS_GAUGES(X) X(allocations_live) X(streams_live)

struct metrics_worker {
#define METRICS_DECLARE(name, help) uint64_t name;
	METRICS_FIELDS(METRICS_DECLARE)
#undef METRICS_DECLARE
	/* Rate limits (DESIGN.md section 5), by level: packets passed,
	 * delayed and dropped, both directions together. */
	struct rl_counters rate[RL_LEVELS];
} __attribute__((aligned(64)));

#endif
